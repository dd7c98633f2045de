//! RFC 3161 verification against tokens made at test time by `common/tsa.rs`: one test per
//! rejection rule of NOTARY-VERIFY §5.4 steps 1–7, named after the attack, plus property tests
//! that random and bit-flipped tokens never panic and never verify.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used, missing_docs)]

use crate::common::tsa;

use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use notaryd::verify::chain::ChainError;
use notaryd::verify::crypto::HashAlgorithm;
use notaryd::verify::limits::{MAX_TIMESTAMP_SIGNERS, MAX_TIMESTAMP_TOKEN_BYTES};
use notaryd::verify::time::Timestamp;
use notaryd::verify::timestamp::{
    TimestampError, VerifiedTimestamp, verify_timestamp, verify_timestamp_digest,
};
use notaryd::verify::x509::Certificate;
use proptest::prelude::*;
use rcgen::ExtendedKeyUsagePurpose;
use tsa::{
    CertChoice, EssCert, IssuerSerialMode, LeafEku, LeafKey, MessageDigest, PkiOptions, Sid,
    SignerOptions, SigningCert, TokenOptions, Tsa, ts,
};

/// The message every token stamps: stands for an envelope's primitive signature bytes.
const MESSAGE: &[u8] = b"primitive signature bytes of a test envelope";

/// genTime of the tokens, with a fractional second.
fn gen_time() -> Timestamp {
    ts("2025-06-01T12:00:00.25Z")
}

/// The default TSA, made once (key generation is the slow part).
fn default_tsa() -> &'static Tsa {
    static TSA: OnceLock<Tsa> = OnceLock::new();
    TSA.get_or_init(Tsa::new)
}

fn root_of(tsa: &Tsa) -> Certificate {
    Certificate::from_der(tsa.root_der()).unwrap()
}

fn options(tsa: &Tsa) -> TokenOptions {
    tsa.options(MESSAGE, gen_time(), HashAlgorithm::Sha256)
}

/// Verifies `token` against the TSA's own root.
fn check(tsa: &Tsa, token: &[u8]) -> Result<VerifiedTimestamp, TimestampError> {
    verify_timestamp(token, MESSAGE, &[&root_of(tsa)], 10)
}

/// Builds a token from the default options changed by `change`, and verifies it.
fn check_with(change: impl FnOnce(&mut TokenOptions)) -> Result<VerifiedTimestamp, TimestampError> {
    let tsa = default_tsa();
    let mut o = options(tsa);
    change(&mut o);
    check(tsa, &tsa.token(&o))
}

fn check_signer(
    change: impl FnOnce(&mut SignerOptions),
) -> Result<VerifiedTimestamp, TimestampError> {
    check_with(|o| change(&mut o.signers[0]))
}

fn check_pki(pki: PkiOptions) -> Result<VerifiedTimestamp, TimestampError> {
    let tsa = Tsa::with(&pki);
    check(&tsa, &tsa.token(&options(&tsa)))
}

macro_rules! assert_rejected {
    ($result:expr, $pattern:pat if $guard:expr) => {
        let result = $result;
        match &result {
            Err($pattern) if $guard => {}
            Err(other) => panic!("wrong rejection: {other:?} ({other})"),
            Ok(v) => panic!("accepted, genTime {}", v.gen_time()),
        }
    };
    ($result:expr, $pattern:pat) => {
        match $result {
            Err(e @ $pattern) => {
                // Every error renders a message that names the check.
                assert!(!e.to_string().is_empty());
            }
            Err(other) => panic!("wrong rejection: {other:?} ({other})"),
            Ok(v) => panic!("accepted, genTime {}", v.gen_time()),
        }
    };
}

// ------------------------------------------------------------------ acceptance

#[test]
fn valid_token_verifies() {
    let tsa = default_tsa();
    let v = check(
        tsa,
        &tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256),
    )
    .unwrap();
    assert_eq!(v.gen_time(), gen_time());
    assert_eq!(v.accuracy(), Duration::from_secs(1));
    assert_eq!(v.earliest(), ts("2025-06-01T11:59:59.25Z"));
    assert_eq!(v.latest(), ts("2025-06-01T12:00:01.25Z"));
    assert_eq!(v.hash_algorithm(), HashAlgorithm::Sha256);
    assert_eq!(v.signer_index(), 0);
    let chain: Vec<&[u8]> = v.tsa_chain().iter().map(|c| c.der()).collect();
    assert_eq!(
        chain,
        [
            tsa.leaf_der(),
            tsa.intermediate_der().unwrap(),
            tsa.root_der()
        ]
    );
}

#[test]
fn sha384_and_sha512_imprints_are_accepted() {
    let tsa = default_tsa();
    for hash in [HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
        let v = check(tsa, &tsa.timestamp(MESSAGE, gen_time(), hash)).unwrap();
        assert_eq!(v.hash_algorithm(), hash);
    }
}

#[test]
fn digest_entry_point_checks_hash_and_digest() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha384);
    let root = root_of(tsa);
    let digest = HashAlgorithm::Sha384.digest(MESSAGE);
    verify_timestamp_digest(&token, HashAlgorithm::Sha384, &digest, &[&root], 10).unwrap();
    assert_rejected!(
        verify_timestamp_digest(&token, HashAlgorithm::Sha256, &digest, &[&root], 10),
        TimestampError::ImprintHashMismatch { .. }
    );
    assert_rejected!(
        verify_timestamp_digest(&token, HashAlgorithm::Sha384, &digest[1..], &[&root], 10),
        TimestampError::ImprintMismatch { .. }
    );
}

#[test]
fn ber_indefinite_length_token_is_accepted() {
    let tsa = default_tsa();
    let mut o = options(tsa);
    o.ber = true;
    let token = tsa.token(&o);
    assert!(token.windows(2).any(|w| w == [0x30, 0x80]), "BER framing");
    let v = check(tsa, &token).unwrap();
    assert_eq!(v.gen_time(), gen_time());
}

#[test]
fn pkcs1v15_rsa_tsa_signature_is_accepted() {
    let v = check_pki(PkiOptions {
        leaf_key: LeafKey::Rsa2048,
        ..PkiOptions::default()
    })
    .unwrap();
    assert_eq!(v.tsa_chain().len(), 3);
}

#[test]
fn token_without_issuer_serial_falls_back_to_sid() {
    check_signer(|s| s.issuer_serial = IssuerSerialMode::Absent).unwrap();
}

#[test]
fn sha384_cert_hash_is_accepted() {
    check_signer(|s| s.cert_hash = Some(tsa::SHA384)).unwrap();
}

#[test]
fn v1_attribute_next_to_v2_is_ignored() {
    check_signer(|s| s.signing_certificate = SigningCert::Both).unwrap();
}

#[test]
fn tsa_cert_expired_now_but_valid_at_gen_time_is_accepted() {
    // The whole PKI expired in 2021; the token was made in 2020. Validity is judged at genTime.
    let life = (ts("2019-01-01T00:00:00Z"), ts("2021-01-01T00:00:00Z"));
    let tsa = Tsa::with(&PkiOptions {
        leaf_validity: life,
        intermediate_validity: life,
        root_validity: life,
        ..PkiOptions::default()
    });
    let at = ts("2020-06-01T00:00:00Z");
    let token = tsa.timestamp(MESSAGE, at, HashAlgorithm::Sha256);
    assert_eq!(check(&tsa, &token).unwrap().gen_time(), at);
}

#[test]
fn token_carrying_the_trusted_root_verifies() {
    let v = check_with(|o| o.certs.push(CertChoice::Root)).unwrap();
    assert_eq!(v.tsa_chain().len(), 3);
}

#[test]
fn pinned_self_signed_tsa_certificate_verifies() {
    let tsa = Tsa::with(&PkiOptions {
        self_signed_leaf: true,
        intermediate: false,
        ..PkiOptions::default()
    });
    let v = check(&tsa, &tsa.token(&options(&tsa))).unwrap();
    assert_eq!(v.tsa_chain().len(), 1);
}

#[test]
fn intermediate_with_timestamping_or_any_eku_is_accepted() {
    for eku in [
        vec![
            ExtendedKeyUsagePurpose::TimeStamping,
            ExtendedKeyUsagePurpose::CodeSigning,
        ],
        vec![ExtendedKeyUsagePurpose::Any],
    ] {
        check_pki(PkiOptions {
            intermediate_eku: eku,
            ..PkiOptions::default()
        })
        .unwrap();
    }
}

#[test]
fn signing_time_inside_validity_is_accepted() {
    check_signer(|s| s.signing_time = Some(gen_time())).unwrap();
}

#[test]
fn invalid_signer_before_valid_signer_is_tolerated() {
    let v = check_with(|o| {
        let bad = SignerOptions {
            corrupt_signature: true,
            ..SignerOptions::default()
        };
        o.signers.insert(0, bad);
    })
    .unwrap();
    assert_eq!(v.signer_index(), 1);
}

// ------------------------------------------------------------------ accuracy (step 4)

#[test]
fn accuracy_fields_are_summed() {
    let v = check_with(|o| o.accuracy = Some((Some(2), Some(500), Some(7)))).unwrap();
    assert_eq!(v.accuracy(), Duration::new(2, 500_007_000));
    assert_eq!(
        v.latest().unix_nanos() - v.gen_time().unix_nanos(),
        2_500_007_000
    );
}

#[test]
fn missing_accuracy_under_baseline_policy_is_one_second() {
    let v = check_with(|o| {
        o.accuracy = None;
        o.policy = tsa::BASELINE_POLICY;
    })
    .unwrap();
    assert_eq!(v.accuracy(), Duration::from_secs(1));
    let v = check_with(|o| {
        o.accuracy = Some((None, None, None));
        o.policy = tsa::BASELINE_POLICY;
    })
    .unwrap();
    assert_eq!(v.accuracy(), Duration::from_secs(1));
}

#[test]
fn missing_accuracy_under_other_policy_is_zero() {
    let v = check_with(|o| o.accuracy = None).unwrap();
    assert_eq!(v.accuracy(), Duration::ZERO);
    assert_eq!(v.earliest(), v.latest());
}

#[test]
fn negative_accuracy_is_rejected() {
    assert_rejected!(
        check_with(|o| o.accuracy = Some((Some(-1), None, None))),
        TimestampError::BadAccuracy(_)
    );
}

#[test]
fn accuracy_millis_above_999_is_rejected() {
    assert_rejected!(
        check_with(|o| o.accuracy = Some((None, Some(1000), None))),
        TimestampError::BadAccuracy(_)
    );
}

// ------------------------------------------------------------------ step 1

#[test]
fn empty_token_is_rejected() {
    assert_rejected!(check(default_tsa(), &[]), TimestampError::EmptyToken);
}

#[test]
fn oversized_token_is_rejected_before_parsing() {
    let token = vec![0x30; MAX_TIMESTAMP_TOKEN_BYTES + 1];
    assert_rejected!(
        check(default_tsa(), &token),
        TimestampError::TokenTooLarge { .. }
    );
}

#[test]
fn empty_tsa_trust_store_is_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    assert_rejected!(
        verify_timestamp(&token, MESSAGE, &[], 10),
        TimestampError::NoTrustedTsaCertificates
    );
}

// ------------------------------------------------------------------ step 2

#[test]
fn content_info_that_is_not_signed_data_is_rejected() {
    assert_rejected!(
        check_with(|o| o.content_info_type = tsa::DATA),
        TimestampError::NotSignedData { .. }
    );
}

#[test]
fn signed_data_version_1_is_rejected() {
    assert_rejected!(
        check_with(|o| o.signed_data_version = 1),
        TimestampError::SignedDataVersion { found: 1 }
    );
}

#[test]
fn econtent_that_is_not_tst_info_is_rejected() {
    assert_rejected!(
        check_with(|o| {
            o.econtent_type = tsa::DATA;
            o.signers[0].content_type = Some(tsa::DATA);
        }),
        TimestampError::UnexpectedContentType { .. }
    );
}

#[test]
fn detached_tst_info_is_rejected() {
    assert_rejected!(
        check_with(|o| o.detached = true),
        TimestampError::MissingContent
    );
}

#[test]
fn non_x509_certificate_choice_is_rejected() {
    // CertificateChoices v2AttrCert [2] IMPLICIT.
    assert_rejected!(
        check_with(|o| o
            .raw_certificate_choices
            .push(vec![0xa2, 0x03, 0x02, 0x01, 0x00])),
        TimestampError::NonX509Certificate { tag: 0xa2, .. }
    );
}

#[test]
fn garbage_certificate_is_rejected() {
    assert_rejected!(
        check_with(|o| o
            .raw_certificate_choices
            .push(vec![0x30, 0x03, 0x02, 0x01, 0x00])),
        TimestampError::BadCertificate { .. }
    );
}

#[test]
fn more_certificates_than_the_chain_limit_are_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    assert_rejected!(
        verify_timestamp(&token, MESSAGE, &[&root_of(tsa)], 1),
        TimestampError::TooManyCertificates { max: 1 }
    );
}

#[test]
fn token_without_signer_is_rejected() {
    assert_rejected!(check_with(|o| o.signers.clear()), TimestampError::NoSigner);
}

#[test]
fn too_many_signers_are_rejected() {
    assert_rejected!(
        check_with(|o| o.signers = vec![SignerOptions::default(); MAX_TIMESTAMP_SIGNERS + 1]),
        TimestampError::TooManySigners { .. }
    );
}

#[test]
fn truncated_token_is_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    assert_rejected!(
        check(tsa, &token[..token.len() - 1]),
        TimestampError::Ber { .. }
    );
    let mut longer = token.clone();
    longer.push(0);
    assert_rejected!(check(tsa, &longer), TimestampError::Ber { .. });
}

// ------------------------------------------------------------------ step 3

#[test]
fn token_for_other_message_is_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(b"another signature", gen_time(), HashAlgorithm::Sha256);
    assert_rejected!(check(tsa, &token), TimestampError::ImprintMismatch { .. });
}

#[test]
fn sha1_imprint_is_rejected() {
    assert_rejected!(
        check_with(|o| o.imprint_hash = tsa::SHA1),
        TimestampError::UnsupportedImprintHash { .. }
    );
}

#[test]
fn tst_info_version_2_is_rejected() {
    assert_rejected!(
        check_with(|o| o.tst_version = 2),
        TimestampError::TstInfoVersion { found: 2 }
    );
}

#[test]
fn gen_time_with_local_offset_is_rejected() {
    assert_rejected!(
        check_with(|o| o.gen_time_text = Some("20250601140000+0200".into())),
        TimestampError::BadGenTime { .. }
    );
}

#[test]
fn gen_time_with_trailing_zero_fraction_is_rejected() {
    assert_rejected!(
        check_with(|o| o.gen_time_text = Some("20250601120000.250Z".into())),
        TimestampError::BadGenTime { .. }
    );
}

#[test]
fn gen_time_with_nanoseconds_is_exact() {
    let at = ts("2025-06-01T12:00:00.123456789Z");
    let v = check_with(|o| o.gen_time = at).unwrap();
    assert_eq!(v.gen_time(), at);
}

// ------------------------------------------------------------------ step 6: the signerInfo

#[test]
fn signer_version_3_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.version = 3),
        TimestampError::SignerVersion { found: 3, .. }
    );
}

#[test]
fn signing_certificate_v1_only_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.signing_certificate = SigningCert::V1Only),
        TimestampError::SigningCertificateV2Missing {
            v1_present: true,
            ..
        }
    );
}

#[test]
fn missing_signing_certificate_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.signing_certificate = SigningCert::None),
        TimestampError::SigningCertificateV2Missing {
            v1_present: false,
            ..
        }
    );
}

#[test]
fn empty_signing_certificate_v2_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.empty_signing_certificate = true),
        TimestampError::SigningCertificateV2Empty { .. }
    );
}

#[test]
fn sha1_cert_hash_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.cert_hash = Some(tsa::SHA1)),
        TimestampError::UnsupportedCertHash { .. }
    );
}

#[test]
fn cert_hash_of_another_certificate_is_rejected() {
    // ESSCertIDv2 names the root (hash and issuerSerial) while the root is not carried.
    assert_rejected!(
        check_signer(|s| s.ess_cert = EssCert::Other),
        TimestampError::SigningCertificateNotFound { .. }
    );
    // The root is carried: it is found, but the sid names the leaf.
    assert_rejected!(
        check_with(|o| {
            o.certs.push(CertChoice::Root);
            o.signers[0].ess_cert = EssCert::Other;
        }),
        TimestampError::SignerIdentifierMismatch { .. }
    );
    // Hash of the root, but looked up by sid = the leaf.
    assert_rejected!(
        check_signer(|s| {
            s.ess_cert = EssCert::Other;
            s.issuer_serial = IssuerSerialMode::Absent;
        }),
        TimestampError::CertHashMismatch { .. }
    );
}

#[test]
fn issuer_serial_without_directory_name_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.issuer_serial = IssuerSerialMode::WrongChoiceTag),
        TimestampError::IssuerSerialWithoutDirectoryName { .. }
    );
}

#[test]
fn sid_naming_another_certificate_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.sid = Sid::Other),
        TimestampError::SignerIdentifierMismatch { .. }
    );
    assert_rejected!(
        check_signer(|s| {
            s.sid = Sid::Other;
            s.issuer_serial = IssuerSerialMode::Absent;
        }),
        TimestampError::SigningCertificateNotFound { .. }
    );
}

#[test]
fn token_without_the_tsa_certificate_is_rejected() {
    assert_rejected!(
        check_with(|o| o.certs.retain(|c| *c != CertChoice::Leaf)),
        TimestampError::SigningCertificateNotFound { .. }
    );
}

#[test]
fn missing_signed_attributes_are_rejected() {
    assert_rejected!(
        check_signer(|s| s.omit_signed_attributes = true),
        TimestampError::MissingSignedAttributes { .. }
    );
}

#[test]
fn missing_content_type_attribute_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.content_type = None),
        TimestampError::AttributeMissing {
            attribute: "contentType",
            ..
        }
    );
}

#[test]
fn content_type_attribute_for_other_content_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.content_type = Some(tsa::DATA)),
        TimestampError::ContentTypeMismatch { .. }
    );
}

#[test]
fn duplicate_content_type_attribute_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.duplicate_content_type = true),
        TimestampError::AttributeNotSingle {
            attribute: "contentType",
            ..
        }
    );
}

#[test]
fn missing_message_digest_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.message_digest = MessageDigest::Absent),
        TimestampError::AttributeMissing {
            attribute: "messageDigest",
            ..
        }
    );
}

#[test]
fn tampered_tst_info_is_rejected() {
    // messageDigest no longer matches the TSTInfo the token carries.
    assert_rejected!(
        check_signer(|s| s.message_digest = MessageDigest::Wrong),
        TimestampError::MessageDigestMismatch { .. }
    );
}

#[test]
fn sha1_signer_digest_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.digest = tsa::SHA1),
        TimestampError::UnsupportedDigestAlgorithm { .. }
    );
}

#[test]
fn digest_algorithm_missing_from_signed_data_is_rejected() {
    assert_rejected!(
        check_with(|o| o.digest_algorithms = Some(vec![tsa::SHA512])),
        TimestampError::DigestAlgorithmNotListed { .. }
    );
}

#[test]
fn mismatched_digest_and_signature_algorithms_are_rejected() {
    assert_rejected!(
        check_signer(|s| {
            s.signature_algorithm = Some(spki::AlgorithmIdentifierOwned {
                oid: tsa::ECDSA_WITH_SHA384,
                parameters: None,
            })
        }),
        TimestampError::SignatureAlgorithm { .. }
    );
}

#[test]
fn tampered_signed_attributes_are_rejected() {
    assert_rejected!(
        check_signer(|s| s.tamper_signed_attributes_after_signing = true),
        TimestampError::BadSignature { .. }
    );
}

#[test]
fn corrupted_signature_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.corrupt_signature = true),
        TimestampError::BadSignature { .. }
    );
}

#[test]
fn signature_by_another_key_is_rejected() {
    let other = Rc::new(Tsa::new());
    assert_rejected!(
        check_signer(|s| s.sign_with = Some(other)),
        TimestampError::BadSignature { .. }
    );
}

#[test]
fn every_signer_invalid_reports_the_first_signer() {
    let result = check_with(|o| {
        o.signers[0].corrupt_signature = true;
        o.signers.push(SignerOptions {
            version: 3,
            ..SignerOptions::default()
        });
    });
    assert_rejected!(result, TimestampError::BadSignature { signer: 0, .. });
}

#[test]
fn signing_time_outside_validity_is_rejected() {
    assert_rejected!(
        check_signer(|s| s.signing_time = Some(ts("2045-01-01T00:00:00Z"))),
        TimestampError::SigningTimeOutsideValidity { .. }
    );
}

// ------------------------------------------------------------------ step 6: the TSA chain

#[test]
fn untrusted_tsa_root_is_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    let stranger = Tsa::new();
    assert_rejected!(
        verify_timestamp(&token, MESSAGE, &[&root_of(&stranger)], 10),
        TimestampError::UntrustedTsa { .. }
    );
}

#[test]
fn token_carrying_an_untrusted_root_is_rejected() {
    // The token brings its own (self-signed) root; only another root is trusted.
    let tsa = default_tsa();
    let mut o = options(tsa);
    o.certs.push(CertChoice::Root);
    let stranger = Tsa::new();
    assert_rejected!(
        verify_timestamp(&tsa.token(&o), MESSAGE, &[&root_of(&stranger)], 10),
        TimestampError::UntrustedTsa { .. }
    );
}

#[test]
fn token_without_intermediate_is_rejected() {
    assert_rejected!(
        check_with(|o| o.certs.retain(|c| *c != CertChoice::Intermediate)),
        TimestampError::UntrustedTsa { .. }
    );
}

#[test]
fn chain_longer_than_the_limit_is_rejected() {
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    assert_rejected!(
        verify_timestamp(&token, MESSAGE, &[&root_of(tsa)], 2),
        TimestampError::UntrustedTsa { .. }
    );
}

#[test]
fn tsa_cert_expired_at_gen_time_is_rejected() {
    let result = check_pki(PkiOptions {
        leaf_validity: (ts("2020-01-01T00:00:00Z"), ts("2025-06-01T12:00:00Z")),
        ..PkiOptions::default()
    });
    assert_rejected!(
        result,
        TimestampError::CertificateNotValidAtGenTime { subject, .. } if subject.contains("CN=notaryd test TSA,")
    );
}

#[test]
fn tsa_cert_not_yet_valid_at_gen_time_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            leaf_validity: (ts("2025-06-01T12:00:01Z"), ts("2030-01-01T00:00:00Z")),
            ..PkiOptions::default()
        }),
        TimestampError::CertificateNotValidAtGenTime { .. }
    );
}

#[test]
fn intermediate_expired_at_gen_time_is_rejected() {
    let result = check_pki(PkiOptions {
        intermediate_validity: (ts("2020-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")),
        ..PkiOptions::default()
    });
    assert_rejected!(
        result,
        TimestampError::CertificateNotValidAtGenTime { subject, .. } if subject.contains("TSA CA")
    );
}

#[test]
fn root_expired_at_gen_time_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            root_validity: (ts("2020-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")),
            ..PkiOptions::default()
        }),
        TimestampError::CertificateNotValidAtGenTime { .. }
    );
}

#[test]
fn tsa_leaf_without_critical_timestamping_eku_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            leaf_eku: LeafEku::NonCriticalTimeStamping,
            ..PkiOptions::default()
        }),
        TimestampError::TsaChain {
            source: ChainError::TsaEku { .. },
            ..
        }
    );
}

#[test]
fn tsa_leaf_with_extra_eku_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            leaf_eku: LeafEku::CriticalTimeStampingAndCodeSigning,
            ..PkiOptions::default()
        }),
        TimestampError::TsaChain {
            source: ChainError::TsaEku { .. },
            ..
        }
    );
}

#[test]
fn tsa_leaf_without_eku_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            leaf_eku: LeafEku::Absent,
            ..PkiOptions::default()
        }),
        TimestampError::TsaChain {
            source: ChainError::TsaEku { .. },
            ..
        }
    );
}

#[test]
fn intermediate_eku_without_timestamping_is_rejected() {
    // Go's nested EKU rule: a CA that lists purposes must list timeStamping (or any).
    assert_rejected!(
        check_pki(PkiOptions {
            intermediate_eku: vec![ExtendedKeyUsagePurpose::CodeSigning],
            ..PkiOptions::default()
        }),
        TimestampError::EkuNotPermitted { subject, .. } if subject.contains("TSA CA")
    );
}

#[test]
fn unknown_critical_extension_in_tsa_leaf_is_rejected() {
    assert_rejected!(
        check_pki(PkiOptions {
            leaf_unknown_critical_extension: true,
            ..PkiOptions::default()
        }),
        TimestampError::UnhandledCriticalExtension { .. }
    );
}

#[test]
fn trust_anchor_that_is_not_a_root_fails_the_chain_rules() {
    // The caller should only pass self-signed roots; if an intermediate slips in, the §5.1
    // rule "the chain ends in a self-signed root" still refuses it.
    let tsa = default_tsa();
    let token = tsa.timestamp(MESSAGE, gen_time(), HashAlgorithm::Sha256);
    let intermediate = Certificate::from_der(tsa.intermediate_der().unwrap()).unwrap();
    assert_rejected!(
        verify_timestamp(&token, MESSAGE, &[&intermediate], 10),
        TimestampError::TsaChain {
            source: ChainError::RootNotSelfSigned { .. },
            ..
        }
    );
}

// ------------------------------------------------------------------ property tests

fn valid_tokens() -> &'static (Vec<u8>, Vec<u8>) {
    static TOKENS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let tsa = default_tsa();
        let der = tsa.token(&options(tsa));
        let mut o = options(tsa);
        o.ber = true;
        (der, tsa.token(&o))
    })
}

fn default_root() -> &'static Certificate {
    static ROOT: OnceLock<Certificate> = OnceLock::new();
    ROOT.get_or_init(|| root_of(default_tsa()))
}

#[test]
fn every_single_bit_flip_of_a_valid_token_is_rejected() {
    let (der, ber) = valid_tokens();
    let root = default_root();
    for token in [der, ber] {
        assert!(verify_timestamp(token, MESSAGE, &[root], 10).is_ok());
        for i in 0..token.len() {
            for bit in 0..8 {
                let mut t = token.clone();
                t[i] ^= 1 << bit;
                assert!(
                    verify_timestamp(&t, MESSAGE, &[root], 10).is_err(),
                    "flip of bit {bit} at offset {i} verified"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_or_verify(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert!(verify_timestamp(&bytes, MESSAGE, &[default_root()], 10).is_err());
    }

    #[test]
    fn random_bytes_behind_a_cms_prefix_never_panic_or_verify(
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
        cut in 0usize..200,
    ) {
        let (der, _) = valid_tokens();
        let mut t = der[..cut.min(der.len())].to_vec();
        t.extend_from_slice(&tail);
        prop_assert!(verify_timestamp(&t, MESSAGE, &[default_root()], 10).is_err());
    }

    #[test]
    fn byte_changes_of_a_valid_token_never_verify(
        ber in any::<bool>(),
        index in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (der, ber_token) = valid_tokens();
        let mut t = if ber { ber_token.clone() } else { der.clone() };
        let i = index.index(t.len());
        t[i] ^= xor;
        prop_assert!(verify_timestamp(&t, MESSAGE, &[default_root()], 10).is_err());
    }

    #[test]
    fn truncated_or_extended_tokens_never_verify(cut in 1usize..64, extra in any::<u8>()) {
        let (der, ber_token) = valid_tokens();
        for t in [der, ber_token] {
            let short = &t[..t.len().saturating_sub(cut)];
            prop_assert!(verify_timestamp(short, MESSAGE, &[default_root()], 10).is_err());
            let mut long = t.clone();
            long.push(extra);
            prop_assert!(verify_timestamp(&long, MESSAGE, &[default_root()], 10).is_err());
        }
    }
}
