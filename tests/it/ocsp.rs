//! OCSP responses (`verify::revocation::ocsp`): one test per rule, against responses the test
//! responder (`tests/common/ocsp.rs`) writes, plus the certificates of notation's e2e OCSP
//! scenario from `../shared/vectors` (INDEX.md §D) when they are there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use notaryd::verify::crypto::AlgorithmError;
use notaryd::verify::revocation::ocsp::{
    self, CertIdHash, MAX_RESPONDER_CERTIFICATES, MAX_RESPONSE_BYTES, OcspCertStatus, OcspError,
    OcspResponse, Responder as Signer, ResponderId, ResponseStatus, SingleStatus,
};
use notaryd::verify::x509::{Certificate, SignatureCheckError};
use proptest::prelude::*;

use crate::common::ocsp::{
    self as responder, CertParts, IdHash, Responder, ResponderIdSpec, Single, Status,
    default_next_update, default_this_update, parse_request, responder_spec, sha1,
};
use crate::common::pki::{CertSpec, KeyKind, TestKey, long_validity};
use crate::common::tsa::ts;

/// One responder PKI per test process: RSA key generation is slow.
fn pki() -> &'static Responder {
    static PKI: OnceLock<Responder> = OnceLock::new();
    PKI.get_or_init(Responder::new)
}

fn cert(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}

fn issuer() -> Certificate {
    cert(&pki().issuer.der)
}

fn leaf() -> Certificate {
    cert(&pki().leaf.der)
}

fn verify(der: &[u8]) -> Result<OcspResponse, OcspError> {
    OcspResponse::parse_and_verify(der, &issuer())
}

fn good_status() -> SingleStatus {
    SingleStatus {
        status: OcspCertStatus::Good,
        this_update: default_this_update(),
        next_update: Some(default_next_update()),
        invalidity_date: None,
    }
}

// ------------------------------------------------------------------------------- statuses

#[test]
fn good() {
    let r = pki();
    let der = r.spec(vec![r.single(&r.leaf, Status::Good)]).der();
    let resp = verify(&der).unwrap();
    assert_eq!(resp.status_for(&leaf()), Some(good_status()));
    assert_eq!(resp.produced_at(), default_this_update());
    assert!(matches!(resp.responder(), Signer::Issuer));
    assert_eq!(resp.issuer().der(), r.issuer.der.as_slice());
    let listed: Vec<_> = resp.responses().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].serial, CertParts::of(&r.leaf.der).serial);
    assert_eq!(listed[0].hash, CertIdHash::Sha1);
    assert!(listed[0].for_issuer);
    assert_eq!(listed[0].serial_hex().len(), 2 * listed[0].serial.len());
}

#[test]
fn revoked_with_reason_and_time() {
    let r = pki();
    let time = ts("2026-10-15T12:30:00Z");
    let der = r
        .spec(vec![r.single(
            &r.leaf,
            Status::Revoked {
                time,
                reason: Some(1),
            },
        )])
        .der();
    let status = verify(&der).unwrap().status_for(&leaf()).unwrap();
    assert_eq!(
        status.status,
        OcspCertStatus::Revoked {
            time,
            reason: Some(1)
        }
    );
    assert_eq!(status.this_update, default_this_update());
}

#[test]
fn revoked_without_reason_keeps_the_reason_absent() {
    let r = pki();
    let time = ts("2026-10-15T12:30:00Z");
    let der = r
        .spec(vec![
            r.single(&r.leaf, Status::Revoked { time, reason: None }),
        ])
        .der();
    let status = verify(&der).unwrap().status_for(&leaf()).unwrap();
    assert_eq!(
        status.status,
        OcspCertStatus::Revoked { time, reason: None }
    );
}

#[test]
fn revoked_with_a_reason_above_127_decodes() {
    // CRLReason is an ENUMERATED: 200 needs a leading zero octet.
    let r = pki();
    let time = ts("2026-10-15T12:30:00Z");
    let der = r
        .spec(vec![r.single(
            &r.leaf,
            Status::Revoked {
                time,
                reason: Some(200),
            },
        )])
        .der();
    let status = verify(&der).unwrap().status_for(&leaf()).unwrap();
    assert_eq!(
        status.status,
        OcspCertStatus::Revoked {
            time,
            reason: Some(200)
        }
    );
}

#[test]
fn unknown() {
    let r = pki();
    let der = r.spec(vec![r.single(&r.leaf, Status::Unknown)]).der();
    let status = verify(&der).unwrap().status_for(&leaf()).unwrap();
    assert_eq!(status.status, OcspCertStatus::Unknown);
}

#[test]
fn next_update_absent_is_reported_as_none() {
    let r = pki();
    let mut single = r.single(&r.leaf, Status::Good);
    single.next_update = None;
    let status = verify(&r.spec(vec![single]).der())
        .unwrap()
        .status_for(&leaf())
        .unwrap();
    assert_eq!(status.next_update, None);
}

#[test]
fn fractional_seconds_in_times_are_accepted() {
    let r = pki();
    let mut single = r.single(&r.leaf, Status::Good);
    single.this_update = ts("2026-11-01T00:00:00.25Z");
    single.next_update = Some(ts("2026-11-08T00:00:00.123456789Z"));
    let mut spec = r.spec(vec![single]);
    spec.produced_at = ts("2026-11-01T00:00:01.5Z");
    let resp = verify(&spec.der()).unwrap();
    assert_eq!(resp.produced_at(), ts("2026-11-01T00:00:01.5Z"));
    let status = resp.status_for(&leaf()).unwrap();
    assert_eq!(status.this_update, ts("2026-11-01T00:00:00.25Z"));
    assert_eq!(
        status.next_update,
        Some(ts("2026-11-08T00:00:00.123456789Z"))
    );
}

#[test]
fn several_single_responses_are_each_matched() {
    let r = pki();
    let time = ts("2026-10-01T00:00:00Z");
    let der = r
        .spec(vec![
            r.single(
                &r.other_leaf,
                Status::Revoked {
                    time,
                    reason: Some(4),
                },
            ),
            r.single(&r.leaf, Status::Good),
        ])
        .der();
    let resp = verify(&der).unwrap();
    assert_eq!(resp.status_for(&leaf()), Some(good_status()));
    assert_eq!(
        resp.status_for(&cert(&r.other_leaf.der)).unwrap().status,
        OcspCertStatus::Revoked {
            time,
            reason: Some(4)
        }
    );
    let serials: Vec<_> = resp.responses().map(|s| s.serial.clone()).collect();
    assert_eq!(
        serials,
        vec![
            CertParts::of(&r.other_leaf.der).serial,
            CertParts::of(&r.leaf.der).serial
        ]
    );
}

#[test]
fn the_first_matching_single_response_decides() {
    let r = pki();
    let der = r
        .spec(vec![
            r.single(&r.leaf, Status::Unknown),
            r.single(&r.leaf, Status::Good),
        ])
        .der();
    assert_eq!(
        verify(&der).unwrap().status_for(&leaf()).unwrap().status,
        OcspCertStatus::Unknown
    );
}

// ------------------------------------------------------------------------------- matching

#[test]
fn response_for_another_certificate_gives_none() {
    let r = pki();
    let der = r.spec(vec![r.single(&r.other_leaf, Status::Good)]).der();
    assert_eq!(verify(&der).unwrap().status_for(&leaf()), None);
}

#[test]
fn same_serial_under_another_issuers_hashes_gives_none() {
    // The serial is the leaf's, but the CertID hashes name the root.
    let r = pki();
    let single = Single::new(
        &r.leaf.der,
        &r.root.der,
        IdHash::Sha1,
        Status::Revoked {
            time: ts("2026-10-01T00:00:00Z"),
            reason: None,
        },
    );
    let resp = verify(&r.spec(vec![single]).der()).unwrap();
    assert_eq!(resp.status_for(&leaf()), None);
    assert!(!resp.responses().next().unwrap().for_issuer);
}

#[test]
fn wrong_issuer_key_hash_gives_none() {
    let r = pki();
    let mut single = r.single(&r.leaf, Status::Good);
    single.issuer_key_hash[0] ^= 1;
    assert_eq!(
        verify(&r.spec(vec![single]).der())
            .unwrap()
            .status_for(&leaf()),
        None
    );
}

#[test]
fn certificate_of_another_issuer_gives_none() {
    // A certificate issued by the stranger, whose serial the response lists under the issuing
    // CA's hashes: the certificate does not name the response's issuer.
    let r = pki();
    let foreign = r.stranger.issue(
        CertSpec::code_signing("notaryd ocsp foreign leaf"),
        TestKey::cached(KeyKind::P256, 26),
    );
    let mut single = r.single(&r.leaf, Status::Good);
    single.serial = CertParts::of(&foreign.der).serial;
    let resp = verify(&r.spec(vec![single]).der()).unwrap();
    assert_eq!(resp.status_for(&cert(&foreign.der)), None);
}

#[test]
fn sha256_certid_matched() {
    let r = pki();
    for hash in [IdHash::Sha256, IdHash::Sha384, IdHash::Sha512] {
        let single = Single::new(&r.leaf.der, &r.issuer.der, hash, Status::Good);
        let resp = verify(&r.spec(vec![single]).der()).unwrap();
        assert_eq!(resp.status_for(&leaf()), Some(good_status()), "{hash:?}");
        let expected = match hash {
            IdHash::Sha256 => CertIdHash::Sha256,
            IdHash::Sha384 => CertIdHash::Sha384,
            _ => CertIdHash::Sha512,
        };
        assert_eq!(resp.responses().next().unwrap().hash, expected);
    }
}

#[test]
fn certid_with_an_unknown_hash_algorithm_never_matches() {
    let r = pki();
    let single = Single::new(&r.leaf.der, &r.issuer.der, IdHash::Md5, Status::Good);
    let resp = verify(&r.spec(vec![single]).der()).unwrap();
    assert_eq!(resp.status_for(&leaf()), None);
    assert_eq!(
        resp.responses().next().unwrap().hash,
        CertIdHash::Other("1.2.840.113549.2.5".into())
    );
}

// ------------------------------------------------------------------------------- signers

#[test]
fn delegated_responder_accepted() {
    let r = pki();
    let der = r
        .spec_by(&r.delegated, vec![r.single(&r.leaf, Status::Good)])
        .der();
    let resp = verify(&der).unwrap();
    match resp.responder() {
        Signer::Delegated(c) => assert_eq!(c.der(), r.delegated.der.as_slice()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        resp.responder_id(),
        &ResponderId::ByKey(sha1(&CertParts::of(&r.delegated.der).key_bits))
    );
    assert_eq!(resp.status_for(&leaf()), Some(good_status()));
}

#[test]
fn delegated_responder_found_among_several_carried_certificates() {
    // Go tries every carried certificate (golang/go#59641); the responder need not be first.
    let r = pki();
    let mut spec = r.spec_by(&r.delegated, vec![r.single(&r.leaf, Status::Good)]);
    spec.certs = vec![
        r.root.der.clone(),
        r.issuer.der.clone(),
        r.delegated.der.clone(),
    ];
    assert!(matches!(
        verify(&spec.der()).unwrap().responder(),
        Signer::Delegated(_)
    ));
}

#[test]
fn delegated_responder_without_ocsp_signing_eku_refused() {
    let r = pki();
    let der = r
        .spec_by(&r.delegated_no_eku, vec![r.single(&r.leaf, Status::Good)])
        .der();
    assert_eq!(
        verify(&der).unwrap_err(),
        OcspError::ResponderWithoutOcspSigning {
            responder: cert(&r.delegated_no_eku.der).subject()
        }
    );
}

#[test]
fn delegated_responder_with_only_any_extended_key_usage_refused() {
    let r = pki();
    let mut spec = responder_spec("notaryd ocsp responder with anyEKU", false);
    spec.eku =
        crate::common::pki::EkuSpec::Present(vec![crate::common::pki::OID_ANY_EKU.to_vec()], false);
    let any = r.issuer.issue(spec, TestKey::cached(KeyKind::P256, 27));
    let der = r.spec_by(&any, vec![r.single(&r.leaf, Status::Good)]).der();
    assert!(matches!(
        verify(&der),
        Err(OcspError::ResponderWithoutOcspSigning { .. })
    ));
}

#[test]
fn responder_not_issued_by_the_issuer_refused() {
    // Issued by the root, which is the issuing CA's issuer, not the issuing CA.
    let r = pki();
    let der = r
        .spec_by(&r.foreign_responder, vec![r.single(&r.leaf, Status::Good)])
        .der();
    assert_eq!(
        verify(&der).unwrap_err(),
        OcspError::ResponderNotIssuedByIssuer {
            responder: cert(&r.foreign_responder.der).subject(),
            issuer: issuer().subject(),
            reason: SignatureCheckError::NameMismatch,
        }
    );
}

#[test]
fn responder_naming_the_issuer_but_signed_by_another_key_refused() {
    // Same issuer name as the issuing CA (the stranger is given that CA's profile), other key.
    let r = pki();
    let impostor_ca = crate::common::pki::TestCert {
        der: Vec::new(),
        key: r.stranger.key.clone(),
        spec: r.issuer.spec.clone(),
    };
    let forged = impostor_ca.issue(
        responder_spec("notaryd ocsp forged responder", true),
        TestKey::cached(KeyKind::P256, 28),
    );
    let der = r
        .spec_by(&forged, vec![r.single(&r.leaf, Status::Good)])
        .der();
    assert!(matches!(
        verify(&der),
        Err(OcspError::ResponderNotIssuedByIssuer {
            reason: SignatureCheckError::BadSignature,
            ..
        })
    ));
}

#[test]
fn expired_delegated_responder_is_accepted_as_go_does() {
    // Go's ParseResponseForCert does not look at the responder certificate's validity.
    let r = pki();
    let mut spec = responder_spec("notaryd ocsp expired responder", true);
    let (not_before, _) = long_validity();
    spec.not_before = not_before;
    spec.not_after = not_before + time::Duration::days(30);
    let expired = r.issuer.issue(spec, TestKey::cached(KeyKind::P256, 29));
    let der = r
        .spec_by(&expired, vec![r.single(&r.leaf, Status::Good)])
        .der();
    assert!(matches!(
        verify(&der).unwrap().responder(),
        Signer::Delegated(_)
    ));
}

#[test]
fn issuer_signature_accepted_when_other_certificates_are_carried() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.certs = vec![r.stranger.der.clone(), r.issuer.der.clone()];
    assert!(matches!(
        verify(&spec.der()).unwrap().responder(),
        Signer::Issuer
    ));
}

#[test]
fn wrong_signature_refused() {
    let r = pki();
    // A flipped signature bit.
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.corrupt_signature = true;
    assert_eq!(
        verify(&spec.der()).unwrap_err(),
        OcspError::BadSignature {
            issuer: issuer().subject(),
            carried: 0
        }
    );
    // Signed with a key that is neither the issuer's nor a carried certificate's.
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.signer = r.stranger.key.clone();
    assert!(matches!(
        verify(&spec.der()),
        Err(OcspError::BadSignature { .. })
    ));
    // Signed by the delegated responder whose certificate is not carried.
    let mut spec = r.spec_by(&r.delegated, vec![r.single(&r.leaf, Status::Good)]);
    spec.certs.clear();
    assert!(matches!(
        verify(&spec.der()),
        Err(OcspError::BadSignature { .. })
    ));
    // Verified against the wrong issuer.
    let der = r.spec(vec![r.single(&r.leaf, Status::Good)]).der();
    assert!(matches!(
        OcspResponse::parse_and_verify(&der, &cert(&r.root.der)),
        Err(OcspError::BadSignature { .. })
    ));
}

#[test]
fn sha1_signature_algorithm_refused() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.signature_oid = Some(responder::SHA1_WITH_RSA.to_vec());
    assert_eq!(
        verify(&spec.der()).unwrap_err(),
        OcspError::SignatureAlgorithm(AlgorithmError::Sha1)
    );
}

// ------------------------------------------------------------------------------- responder ids

#[test]
fn responder_id_by_name_and_by_key_are_both_accepted_and_not_matched() {
    let r = pki();
    // byName naming someone else entirely, signed by the issuer: Go does not match it.
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.responder_id = ResponderIdSpec::ByName(CertParts::of(&r.stranger.der).subject);
    let resp = verify(&spec.der()).unwrap();
    match resp.responder_id() {
        ResponderId::ByName(name) => {
            assert!(notaryd::verify::dn::render_go_style(name).contains("stranger"))
        }
        other => panic!("{other:?}"),
    }
    // byKey with a hash of nothing in particular.
    spec.responder_id = ResponderIdSpec::ByKey(vec![7; 20]);
    assert_eq!(
        verify(&spec.der()).unwrap().responder_id(),
        &ResponderId::ByKey(vec![7; 20])
    );
}

#[test]
fn responder_id_by_name_that_is_not_a_name_refused() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.responder_id = ResponderIdSpec::ByName(vec![0x04, 0x01, 0x00]);
    assert!(matches!(
        verify(&spec.der()),
        Err(OcspError::Malformed {
            structure: "ResponseData",
            ..
        })
    ));
}

// ------------------------------------------------------------------------------- extensions

#[test]
fn invalidity_date_single_extension_is_read() {
    let r = pki();
    let revoked = Status::Revoked {
        time: ts("2026-10-20T00:00:00Z"),
        reason: Some(1),
    };
    let single = r
        .single(&r.leaf, revoked)
        .with_invalidity_date(ts("2026-10-01T08:00:00.5Z"));
    let status = verify(&r.spec(vec![single]).der())
        .unwrap()
        .status_for(&leaf())
        .unwrap();
    assert_eq!(status.invalidity_date, Some(ts("2026-10-01T08:00:00.5Z")));
}

#[test]
fn repeated_invalidity_date_the_last_one_wins_as_in_notation() {
    let r = pki();
    let single = r
        .single(&r.leaf, Status::Good)
        .with_invalidity_date(ts("2026-01-01T00:00:00Z"))
        .with_invalidity_date(ts("2026-02-01T00:00:00Z"));
    let status = verify(&r.spec(vec![single]).der())
        .unwrap()
        .status_for(&leaf())
        .unwrap();
    assert_eq!(status.invalidity_date, Some(ts("2026-02-01T00:00:00Z")));
}

#[test]
fn unparsable_invalidity_date_is_ignored_as_in_notation() {
    let r = pki();
    let mut single = r.single(&r.leaf, Status::Good);
    // A UTCTime: notation reads it with asn1 "generalized", which refuses it.
    single.extensions.push((
        responder::INVALIDITY_DATE.to_vec(),
        false,
        crate::common::tsa::tlv(0x17, b"261001000000Z"),
    ));
    let status = verify(&r.spec(vec![single]).der())
        .unwrap()
        .status_for(&leaf())
        .unwrap();
    assert_eq!(status.invalidity_date, None);
}

#[test]
fn critical_single_extension_refused() {
    let r = pki();
    let mut single = r.single(&r.leaf, Status::Good);
    single
        .extensions
        .push((vec![1, 3, 6, 1, 4, 1, 99999, 1], true, vec![0x05, 0x00]));
    assert_eq!(
        verify(&r.spec(vec![single]).der()).unwrap_err(),
        OcspError::CriticalSingleExtension {
            serial: CertParts::of(&r.leaf.der)
                .serial
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            oid: "1.3.6.1.4.1.99999.1".into()
        }
    );
}

#[test]
fn response_extensions_are_ignored_even_when_critical_as_in_go() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.response_extensions = vec![
        responder::nonce_extension(&[1, 2, 3, 4]),
        (vec![1, 3, 6, 1, 4, 1, 99999, 2], true, vec![0x05, 0x00]),
    ];
    assert_eq!(
        verify(&spec.der()).unwrap().status_for(&leaf()),
        Some(good_status())
    );
}

// ------------------------------------------------------------------------------- envelope

#[test]
fn non_successful_response_status_refused() {
    let r = pki();
    for (code, status) in [
        (1, ResponseStatus::MalformedRequest),
        (2, ResponseStatus::InternalError),
        (3, ResponseStatus::TryLater),
        (4, ResponseStatus::Other(4)),
        (5, ResponseStatus::SigRequired),
        (6, ResponseStatus::Unauthorized),
    ] {
        let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
        spec.response_status = code;
        assert_eq!(
            verify(&spec.der()).unwrap_err(),
            OcspError::NotSuccessful { status },
            "{code}"
        );
        // Even with a signed body attached.
        spec.bytes_with_error = true;
        assert_eq!(
            verify(&spec.der()).unwrap_err(),
            OcspError::NotSuccessful { status }
        );
    }
    // Go's pre-serialised error answers.
    assert_eq!(
        verify(&[0x30, 0x03, 0x0a, 0x01, 0x06]).unwrap_err(),
        OcspError::NotSuccessful {
            status: ResponseStatus::Unauthorized
        }
    );
}

#[test]
fn successful_status_without_response_bytes_refused() {
    assert!(matches!(
        verify(&[0x30, 0x03, 0x0a, 0x01, 0x00]),
        Err(OcspError::Malformed {
            structure: "OCSPResponse",
            ..
        })
    ));
}

#[test]
fn response_type_other_than_basic_refused() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.response_type = vec![1, 3, 6, 1, 5, 5, 7, 48, 1, 99];
    assert_eq!(
        verify(&spec.der()).unwrap_err(),
        OcspError::UnsupportedResponseType {
            oid: "1.3.6.1.5.5.7.48.1.99".into()
        }
    );
}

#[test]
fn response_without_single_responses_refused() {
    let r = pki();
    assert!(matches!(
        verify(&r.spec(Vec::new()).der()),
        Err(OcspError::Malformed {
            structure: "ResponseData",
            ..
        })
    ));
}

#[test]
fn trailing_bytes_refused() {
    let r = pki();
    let mut der = r.spec(vec![r.single(&r.leaf, Status::Good)]).der();
    der.push(0);
    assert!(matches!(
        verify(&der),
        Err(OcspError::Malformed {
            structure: "OCSPResponse",
            ..
        })
    ));
}

#[test]
fn too_many_carried_certificates_refused() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.certs = vec![r.delegated.der.clone(); MAX_RESPONDER_CERTIFICATES + 1];
    assert_eq!(
        verify(&spec.der()).unwrap_err(),
        OcspError::TooManyCertificates {
            count: MAX_RESPONDER_CERTIFICATES + 1,
            max: MAX_RESPONDER_CERTIFICATES
        }
    );
    // At the cap (issuer-signed) it is fine.
    spec.certs.truncate(MAX_RESPONDER_CERTIFICATES);
    assert!(verify(&spec.der()).is_ok());
}

#[test]
fn carried_certificate_that_does_not_parse_refused() {
    let r = pki();
    let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    spec.certs = vec![r.delegated.der.clone(), vec![0x30, 0x03, 0x02, 0x01, 0x01]];
    assert!(matches!(
        verify(&spec.der()),
        Err(OcspError::CarriedCertificate { index: 1, .. })
    ));
}

#[test]
fn oversize_refused_before_parsing() {
    // Not DER at all: refused on its size alone.
    let junk = vec![0xff; MAX_RESPONSE_BYTES + 1];
    assert_eq!(
        verify(&junk).unwrap_err(),
        OcspError::TooLarge {
            len: MAX_RESPONSE_BYTES + 1,
            max: MAX_RESPONSE_BYTES
        }
    );
    // A valid response padded (with a response extension) to exactly the cap is accepted, and
    // one byte more is refused.
    let r = pki();
    let padded = |pad: usize| {
        let mut spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
        spec.response_extensions = vec![responder::nonce_extension(&vec![0; pad])];
        spec.der()
    };
    let base = padded(0).len();
    let mut pad = MAX_RESPONSE_BYTES - base;
    while padded(pad).len() > MAX_RESPONSE_BYTES {
        pad -= 1;
    }
    let at_cap = padded(pad);
    assert_eq!(at_cap.len(), MAX_RESPONSE_BYTES, "padding lands on the cap");
    assert!(verify(&at_cap).is_ok());
    let over = padded(pad + 1);
    assert_eq!(over.len(), MAX_RESPONSE_BYTES + 1);
    assert!(matches!(verify(&over), Err(OcspError::TooLarge { .. })));
}

// ------------------------------------------------------------------------------- requests

#[test]
fn request_der_round_trips_through_the_test_responder() {
    let r = pki();
    let der = ocsp::request_der(&leaf(), &issuer()).unwrap();
    let parsed = parse_request(&der).expect("the responder reads the request");
    let issuer_parts = CertParts::of(&r.issuer.der);
    assert_eq!(parsed.requests, 1);
    assert!(!parsed.has_extras, "no nonce, version, name or signature");
    assert_eq!(parsed.hash_oid, vec![0x2b, 0x0e, 0x03, 0x02, 0x1a], "SHA-1");
    assert_eq!(
        parsed.hash_params,
        Some(vec![0x05, 0x00]),
        "NULL parameters"
    );
    assert_eq!(parsed.issuer_name_hash, sha1(&issuer_parts.subject));
    assert_eq!(parsed.issuer_key_hash, sha1(&issuer_parts.key_bits));
    assert_eq!(parsed.serial, CertParts::of(&r.leaf.der).serial);
    // The responder answers the request as asked, and the answer matches the certificate.
    let answer = r.spec(vec![parsed.answer(Status::Good)]).der();
    assert_eq!(
        verify(&answer).unwrap().status_for(&leaf()),
        Some(good_status())
    );
}

#[test]
fn request_der_and_matching_for_a_serial_with_the_high_bit_set() {
    // rcgen clears the high bit of the serials it makes, so this leaf is written directly. Its
    // DER INTEGER has a leading zero octet, which both sides must keep.
    let r = pki();
    let mut issuer_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    for (t, v) in &r.issuer.spec.subject {
        issuer_params.distinguished_name.push(t.clone(), v.as_str());
    }
    let signer = rcgen::Issuer::new(issuer_params, r.issuer.key.rcgen());
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "notaryd ocsp high serial");
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x80, 0x01, 0x02]));
    let high = params
        .signed_by(&TestKey::cached(KeyKind::P256, 30).rcgen(), &signer)
        .unwrap();
    let high = cert(high.der());
    high.is_issued_by(&issuer()).unwrap();
    assert_eq!(high.serial_number(), &[0x00, 0x80, 0x01, 0x02]);
    let parsed = parse_request(&ocsp::request_der(&high, &issuer()).unwrap()).unwrap();
    assert_eq!(parsed.serial, vec![0x00, 0x80, 0x01, 0x02]);
    let answer = r.spec(vec![parsed.answer(Status::Good)]).der();
    assert_eq!(
        verify(&answer).unwrap().status_for(&high),
        Some(good_status())
    );
    // The leaf (serial without the high bit) is not covered by that answer.
    assert_eq!(verify(&answer).unwrap().status_for(&leaf()), None);
}

// ------------------------------------------------------------------------------- test PKI knob

#[test]
fn cert_spec_ocsp_urls_become_the_aia_extension() {
    let r = pki();
    assert_eq!(
        leaf().extensions().ocsp_urls,
        vec!["http://ocsp.example/".to_string()]
    );
    assert!(cert(&r.other_leaf.der).extensions().ocsp_urls.is_empty());
}

// ------------------------------------------------------------------------------- vectors

fn vectors() -> Option<PathBuf> {
    crate::common::vectors::vectors_dir("the e2e OCSP certificate checks")
}

#[test]
fn e2e_ocsp_vector_certificates_parse_and_the_responder_is_a_delegated_responder_of_the_root() {
    let Some(v) = vectors() else { return };
    let dir = v.join("notation/test/e2e/testdata/config/ocsp");
    let load = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let mut certs = notaryd::verify::trust_store::parse_certificate_file(&bytes).unwrap();
        assert_eq!(certs.len(), 1, "{name}");
        certs.remove(0)
    };
    let (leaf, root, responder) = (load("leaf.crt"), load("root.crt"), load("ocsp.crt"));
    assert!(root.is_self_signed());
    leaf.is_issued_by(&root).unwrap();
    assert_eq!(leaf.extensions().ocsp_urls, vec!["http://localhost:10087"]);
    // ocsp.crt: issued by the root, critical EKU OCSPSigning.
    ocsp::check_delegated_responder(&responder, &root).unwrap();
    assert!(matches!(
        ocsp::check_delegated_responder(&leaf, &root),
        Err(OcspError::ResponderWithoutOcspSigning { .. })
    ));
    assert!(matches!(
        ocsp::check_delegated_responder(&responder, &leaf),
        Err(OcspError::ResponderNotIssuedByIssuer { .. })
    ));
    // The chain file is leaf then root.
    let chain = notaryd::verify::trust_store::parse_certificate_file(
        &std::fs::read(dir.join("certchain_with_ocsp.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].der(), leaf.der());
    assert_eq!(chain[1].der(), root.der());
    // The request notaryd would send for the leaf reads back with the root's SHA-1 hashes.
    let parsed = parse_request(&ocsp::request_der(&leaf, &root).unwrap()).unwrap();
    let root_parts = CertParts::of(root.der());
    assert_eq!(parsed.issuer_name_hash, sha1(&root_parts.subject));
    assert_eq!(parsed.issuer_key_hash, sha1(&root_parts.key_bits));
    assert_eq!(parsed.serial, CertParts::of(leaf.der()).serial);
    println!("conformance D (OCSP certificates): 1 case ran");
}

// ------------------------------------------------------------------------------- OpenSSL

/// A file of `tests/data/ocsp-openssl/` (made by its `generate.sh` with OpenSSL 3).
fn openssl(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ocsp-openssl")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn openssl_verify(name: &str) -> Result<OcspResponse, OcspError> {
    OcspResponse::parse_and_verify(&openssl(name), &cert(&openssl("ca.der")))
}

fn openssl_leaf_status(name: &str) -> SingleStatus {
    openssl_verify(name)
        .unwrap()
        .status_for(&cert(&openssl("leaf.der")))
        .unwrap()
}

const WEEK_NANOS: i128 = 7 * 24 * 3600 * 1_000_000_000;

#[test]
fn openssl_request_is_byte_identical_to_request_der() {
    // `openssl ocsp -issuer ca -cert leaf -no_nonce`: SHA-1 CertID, NULL parameters, and a
    // serial with the high bit set (0x8a0102030405).
    let ours = ocsp::request_der(&cert(&openssl("leaf.der")), &cert(&openssl("ca.der"))).unwrap();
    assert_eq!(ours, openssl("req.der"));
}

#[test]
fn openssl_good_from_a_delegated_responder() {
    for name in [
        "good_delegated.der",
        "good_sha256_certid.der",
        "good_nonce.der",
    ] {
        let resp = openssl_verify(name).unwrap();
        match resp.responder() {
            Signer::Delegated(c) => assert_eq!(c.der(), openssl("resp.der").as_slice()),
            other => panic!("{name}: {other:?}"),
        }
        assert!(
            matches!(resp.responder_id(), ResponderId::ByName(_)),
            "{name}"
        );
        let status = openssl_leaf_status(name);
        assert_eq!(status.status, OcspCertStatus::Good, "{name}");
        assert_eq!(
            status.next_update.unwrap().unix_nanos() - status.this_update.unix_nanos(),
            WEEK_NANOS,
            "{name}"
        );
    }
    assert_eq!(
        openssl_verify("good_sha256_certid.der")
            .unwrap()
            .responses()
            .next()
            .unwrap()
            .hash,
        CertIdHash::Sha256
    );
}

#[test]
fn openssl_revoked_by_the_ca_with_key_compromise_time_and_invalidity_date() {
    let resp = openssl_verify("revoked_by_ca_by_key.der").unwrap();
    assert!(matches!(resp.responder(), Signer::Issuer));
    let ca = CertParts::of(&openssl("ca.der"));
    assert_eq!(resp.responder_id(), &ResponderId::ByKey(sha1(&ca.key_bits)));
    let status = openssl_leaf_status("revoked_by_ca_by_key.der");
    assert_eq!(
        status.status,
        OcspCertStatus::Revoked {
            time: ts("2026-10-15T12:30:00Z"),
            reason: Some(1)
        }
    );
    assert_eq!(status.invalidity_date, Some(ts("2026-10-01T08:00:00Z")));
}

#[test]
fn openssl_unknown_without_next_update() {
    let status = openssl_leaf_status("unknown_no_next_update.der");
    assert_eq!(status.status, OcspCertStatus::Unknown);
    assert_eq!(status.next_update, None);
}

#[test]
fn openssl_delegated_response_without_its_certificate_refused() {
    assert!(matches!(
        openssl_verify("good_delegated_no_certs.der"),
        Err(OcspError::BadSignature { carried: 0, .. })
    ));
}

#[test]
fn openssl_sha1_signed_response_refused() {
    assert_eq!(
        openssl_verify("good_sha1_signature.der").unwrap_err(),
        OcspError::SignatureAlgorithm(AlgorithmError::Sha1)
    );
}

// ------------------------------------------------------------------------------- robustness

fn valid_response() -> &'static (Vec<u8>, Vec<u8>) {
    static V: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    V.get_or_init(|| {
        let r = pki();
        let spec = r.spec_by(
            &r.delegated,
            vec![
                r.single(&r.leaf, Status::Good)
                    .with_invalidity_date(ts("2026-01-01T00:00:00Z")),
                r.single(
                    &r.other_leaf,
                    Status::Revoked {
                        time: ts("2026-01-02T00:00:00Z"),
                        reason: Some(1),
                    },
                ),
            ],
        );
        (spec.der(), spec.tbs())
    })
}

fn poke(der: &[u8]) -> Result<(), OcspError> {
    let resp = verify(der)?;
    let _ = (resp.produced_at(), resp.responder(), resp.responder_id());
    let _ = resp.status_for(&leaf());
    for s in resp.responses() {
        let _ = (s.serial_hex(), s.hash.to_string(), &s.status);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = poke(&b);
        let mut framed = vec![0x30, 0x82, (b.len() >> 8) as u8, b.len() as u8];
        framed.extend(&b);
        let _ = poke(&framed);
    }

    #[test]
    fn mutated_responses_never_panic_and_a_flip_in_the_signed_part_is_refused(
        pos in any::<proptest::sample::Index>(),
        bit in 0u8..8,
        cut in any::<proptest::sample::Index>(),
    ) {
        let (der, tbs) = valid_response();
        prop_assert!(poke(der).is_ok());
        let i = pos.index(der.len());
        let mut flipped = der.clone();
        flipped[i] ^= 1 << bit;
        let tbs_start = der.windows(tbs.len()).position(|w| w == tbs.as_slice()).unwrap();
        let result = poke(&flipped);
        if (tbs_start..tbs_start + tbs.len()).contains(&i) {
            prop_assert!(result.is_err(), "flip at {i} in tbsResponseData accepted");
        }
        let _ = poke(&der[..cut.index(der.len())]);
    }
}

#[test]
fn generalized_time_without_utc_zone_refused() {
    // producedAt with its trailing `Z` turned into a digit: a local time, which DER forbids.
    let r = pki();
    let spec = r.spec(vec![r.single(&r.leaf, Status::Good)]);
    let der = spec.der();
    let produced = crate::common::tsa::generalized_time(spec.produced_at);
    let pos = der
        .windows(produced.len())
        .position(|w| w == produced.as_bytes())
        .unwrap();
    let mut local = der.clone();
    local[pos + produced.len() - 1] = b'0';
    assert!(matches!(
        verify(&local),
        Err(OcspError::Malformed {
            structure: "ResponseData",
            ..
        })
    ));
}
