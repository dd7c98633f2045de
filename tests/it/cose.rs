//! COSE_Sign1 envelopes (NOTARY-VERIFY §4): valid envelopes for every key kind, one test per
//! rejection rule of §4.4 and of §3.4 translated to COSE, the upstream vectors, and properties.

use std::sync::OnceLock;

use notaryd::verify::chain::ChainError;
use notaryd::verify::crypto::{Curve, KeySpec, SignatureAlgorithm};
use notaryd::verify::envelope::{
    EnvelopeError, EnvelopeType, SigningScheme, VerifiedEnvelope, header, verify_envelope,
};
use notaryd::verify::limits::Limits;
use notaryd::verify::time::Timestamp;
use notaryd::verify::x509::CertificateError;
use proptest::prelude::*;

use crate::common::cose::*;
use crate::common::pki::*;

const ALG: &str = "alg (1)";
const CRIT: &str = "crit (2)";
const CTY: &str = "content type (3)";
const X5CHAIN: &str = "x5chain (33)";

fn verify(bytes: &[u8]) -> Result<VerifiedEnvelope, EnvelopeError> {
    verify_envelope("application/cose", bytes, &Limits::default())
}

fn reject(b: &CoseSign1) -> EnvelopeError {
    match verify(&b.build()) {
        Ok(v) => panic!("envelope verified but must be rejected: {v:?}"),
        Err(e) => e,
    }
}

fn p256() -> CoseSign1 {
    envelope(KeyKind::P256).1
}

#[track_caller]
fn assert_malformed(err: EnvelopeError, needle: &str) {
    match err {
        EnvelopeError::Malformed {
            format: "COSE",
            reason,
        } => assert!(
            reason.contains(needle),
            "reason {reason:?} does not mention {needle:?}"
        ),
        other => panic!("expected Malformed COSE ({needle}), got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid_header(err: EnvelopeError, name: &str, needle: &str) {
    match err {
        EnvelopeError::InvalidHeader { header, reason } => {
            assert_eq!(header, name, "{reason}");
            assert!(
                reason.contains(needle),
                "reason {reason:?} does not mention {needle:?}"
            );
        }
        other => panic!("expected InvalidHeader {name} ({needle}), got {other:?}"),
    }
}

fn text(s: &str) -> Cbor {
    Cbor::text(s)
}

// ---------------------------------------------------------------------------------------------
// Valid envelopes
// ---------------------------------------------------------------------------------------------

fn valid_for(kind: KeyKind, alg: SignatureAlgorithm) {
    let (chain, b) = envelope(kind);
    let v = verify(&b.build()).unwrap();
    assert_eq!(v.envelope_type, EnvelopeType::Cose);
    let si = &v.signer_info;
    assert_eq!(si.signature_algorithm, alg);
    assert_eq!(si.signing_scheme, SigningScheme::X509);
    assert_eq!(
        si.signing_time,
        Some(Timestamp::from_unix_seconds(SIGNING_TIME))
    );
    assert_eq!(si.authentic_signing_time, None);
    assert_eq!(si.expiry, None);
    assert_eq!(si.timestamp_token, None);
    assert_eq!(si.signing_agent, None);
    assert_eq!(si.certificate_chain.len(), 3);
    assert_eq!(si.leaf().der(), chain.leaf.der.as_slice());
    assert_eq!(v.payload, notary_payload());
}

#[test]
fn valid_ps256_envelope_verifies() {
    valid_for(KeyKind::Rsa2048, SignatureAlgorithm::PS256);
}

#[test]
fn valid_ps384_envelope_verifies() {
    valid_for(KeyKind::Rsa3072, SignatureAlgorithm::PS384);
}

#[test]
fn valid_ps512_envelope_verifies() {
    valid_for(KeyKind::Rsa4096, SignatureAlgorithm::PS512);
}

#[test]
fn valid_es256_envelope_verifies() {
    valid_for(KeyKind::P256, SignatureAlgorithm::ES256);
}

#[test]
fn valid_es384_envelope_verifies() {
    valid_for(KeyKind::P384, SignatureAlgorithm::ES384);
}

#[test]
fn valid_es512_envelope_verifies() {
    valid_for(KeyKind::P521, SignatureAlgorithm::ES512);
}

#[test]
fn signing_authority_envelope_verifies() {
    let b = p256().signing_authority();
    let v = verify(&b.build()).unwrap();
    assert_eq!(
        v.signer_info.signing_scheme,
        SigningScheme::X509SigningAuthority
    );
    assert_eq!(v.signer_info.signing_time, None);
    assert_eq!(
        v.signer_info.authentic_signing_time,
        Some(Timestamp::from_unix_seconds(SIGNING_TIME))
    );
}

#[test]
fn expiry_timestamp_and_signing_agent_are_reported() {
    let mut b = p256();
    b.expiry = Some(Cbor::time(SIGNING_TIME + 3600));
    b.timestamp = Some(Cbor::bytes(b"a timestamp token"));
    b.signing_agent = Some(text("notation-go/1.3.0"));
    let v = verify(&b.build()).unwrap();
    assert_eq!(
        v.signer_info.expiry,
        Some(Timestamp::from_unix_seconds(SIGNING_TIME + 3600))
    );
    assert_eq!(
        v.signer_info.timestamp_token.as_deref(),
        Some(&b"a timestamp token"[..])
    );
    assert_eq!(
        v.signer_info.signing_agent.as_deref(),
        Some("notation-go/1.3.0")
    );
}

#[test]
fn float_and_non_minimal_tag_1_times_are_accepted() {
    // fxamacker/cbor (under go-cose) decodes tag 1 around a float or a non-minimal integer.
    let mut b = p256();
    b.signing_time = Some(Cbor::tag(1, Cbor::Float(1_700_000_000.25)));
    b.expiry = Some(Cbor::tag(1, Cbor::UintWide(1_700_003_600, 8)));
    let v = verify(&b.build()).unwrap();
    assert_eq!(
        v.signer_info.signing_time,
        Some(Timestamp::from_unix_nanos(1_700_000_000_250_000_000))
    );
    assert_eq!(
        v.signer_info.expiry,
        Some(Timestamp::from_unix_seconds(1_700_003_600))
    );
}

#[test]
fn non_canonical_protected_bytes_verify_as_received() {
    // The signer wrote the protected map unsorted and with non-minimal integers and signed
    // exactly those bytes: a verifier that re-encodes the map would fail this envelope.
    let mut b = p256();
    let mut entries = b.protected_entries();
    entries.reverse();
    let mut map = vec![0xb8, entries.len() as u8]; // map head with a one-byte count
    for (k, v) in &entries {
        match k {
            Cbor::Int(i) if *i >= 0 => map.extend(Cbor::UintWide(*i as u64, 2).encode()),
            other => map.extend(other.encode()),
        }
        map.extend(v.encode());
    }
    b.protected_raw = Some(map);
    verify(&b.build()).unwrap();
}

#[test]
fn non_minimal_heads_in_the_body_are_accepted() {
    // fxamacker/cbor accepts non-preferred heads; go-cose signs the protected bytes with a
    // shortest bstr head (deterministicBinaryString), whatever head they arrived with.
    let (chain, mut b) = envelope(KeyKind::P256);
    let protected = b.protected_bytes();
    let mut item = Vec::new();
    wide_head(&mut item, 2, protected.len() as u64, 8);
    item.extend(&protected);
    b.protected_item = Some(Cbor::Raw(item));
    let mut unprotected = Vec::new();
    wide_head(&mut unprotected, 5, 1, 4);
    unprotected.extend(Cbor::UintWide(33, 2).encode());
    wide_head(&mut unprotected, 4, 3, 1);
    for der in chain.x5c() {
        wide_head(&mut unprotected, 2, der.len() as u64, 4);
        unprotected.extend(der);
    }
    b.unprotected_raw = Some(unprotected);
    let payload = notary_payload();
    let mut payload_item = Vec::new();
    wide_head(&mut payload_item, 2, payload.len() as u64, 2);
    payload_item.extend(&payload);
    b.payload_item = Some(Cbor::Raw(payload_item));
    let v = verify(&b.build()).unwrap();
    assert_eq!(v.payload, payload);
    assert_eq!(v.signer_info.certificate_chain.len(), 3);
}

#[test]
fn non_critical_extended_attributes_and_unknown_unprotected_labels_are_ignored() {
    let mut b = p256();
    b.extra_protected = vec![
        (text("io.wabbit-networks.buildId"), text("123")),
        (
            Cbor::Int(-70000),
            Cbor::Array(vec![Cbor::Int(1), Cbor::Null]),
        ),
        (
            text("nested"),
            Cbor::Map(vec![(text("a"), Cbor::Float(1.5))]),
        ),
    ];
    b.extra_unprotected = vec![
        (text("io.cncf.notary.SigningAgent"), text("old spelling")),
        (Cbor::Int(4), Cbor::bytes(b"kid")),
    ];
    verify(&b.build()).unwrap();
}

#[test]
fn signing_agent_of_any_type_never_fails() {
    for agent in [
        Cbor::Int(7),
        Cbor::bytes(b"agent"),
        Cbor::Map(vec![]),
        Cbor::Null,
    ] {
        let mut b = p256();
        b.signing_agent = Some(agent);
        let v = verify(&b.build()).unwrap();
        assert_eq!(v.signer_info.signing_agent, None);
    }
}

#[test]
fn builder_output_is_valid_cose_per_coset() {
    // An independent COSE implementation reads the builder's envelope and computes the same
    // Sig_structure, over which the leaf key's signature verifies.
    use coset::{CborSerializable, TaggedCborSerializable};
    let (chain, b) = envelope(KeyKind::P256);
    let bytes = b.build();
    let msg = coset::CoseSign1::from_tagged_slice(&bytes).unwrap();
    assert_eq!(
        msg.protected.original_data.as_deref(),
        Some(&b.protected_bytes()[..])
    );
    assert_eq!(msg.tbs_data(b""), b.to_be_signed());
    assert!(coset::CoseSign1::from_slice(&bytes).is_err());
    let spki = chain.leaf.key.spki_der();
    let key = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        spki_point(&spki),
    )
    .unwrap();
    key.verify_sig(&msg.tbs_data(b""), &msg.signature).unwrap();
}

/// The uncompressed point at the end of a P-256 SubjectPublicKeyInfo.
fn spki_point(spki: &[u8]) -> &[u8] {
    &spki[spki.len() - 65..]
}

// ---------------------------------------------------------------------------------------------
// §4.1 form: tag 18, four items, CBOR decoding rules
// ---------------------------------------------------------------------------------------------

#[test]
fn untagged_sign1_is_rejected() {
    let mut b = p256();
    b.tag_bytes = vec![];
    assert_malformed(reject(&b), "untagged COSE_Sign1");
}

#[test]
fn cose_sign_tag_98_is_rejected() {
    let mut b = p256();
    b.tag_bytes = vec![0xd8, 98];
    assert_malformed(reject(&b), "tag 18");
}

#[test]
fn non_minimal_tag_18_is_rejected() {
    // go-cose checks the exact 0xD2 0x84 prefix.
    let mut b = p256();
    b.tag_bytes = vec![0xd8, 18];
    assert_malformed(reject(&b), "tag 18");
}

#[test]
fn double_tagged_sign1_is_rejected() {
    let mut b = p256();
    b.tag_bytes = vec![0xd2, 0xd2];
    assert_malformed(reject(&b), "tag 18 must enclose");
}

#[test]
fn sign1_with_five_items_is_rejected() {
    let mut b = p256();
    b.extra_items = vec![Cbor::Null];
    assert_malformed(reject(&b), "four items");
}

#[test]
fn indefinite_length_outer_array_is_rejected() {
    let mut b = p256();
    b.outer_indefinite = true;
    assert_malformed(reject(&b), "definite-length array");
}

#[test]
fn indefinite_length_unprotected_map_is_rejected() {
    let mut b = p256();
    let certs = match b.x5chain.clone() {
        Some(c) => c,
        None => unreachable!(),
    };
    b.unprotected_raw = Some(Cbor::IndefMap(vec![(Cbor::Int(33), certs)]).encode());
    assert_malformed(reject(&b), "indefinite-length CBOR map");
}

#[test]
fn indefinite_length_x5chain_array_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::IndefArray(
        chain.x5c().into_iter().map(Cbor::Bytes).collect(),
    ));
    assert_malformed(reject(&b), "indefinite-length CBOR array");
}

#[test]
fn indefinite_length_protected_map_is_rejected() {
    // Signed over exactly these bytes: the decoding rule, not the signature, refuses it.
    let mut b = p256();
    b.protected_raw = Some(Cbor::IndefMap(b.protected_entries()).encode());
    assert_malformed(reject(&b), "protected header: indefinite-length CBOR map");
}

#[test]
fn indefinite_length_payload_is_rejected() {
    let mut b = p256();
    let payload = notary_payload();
    b.payload_item = Some(Cbor::IndefBytes(vec![
        payload[..10].to_vec(),
        payload[10..].to_vec(),
    ]));
    assert_malformed(reject(&b), "indefinite-length CBOR byte string");
}

#[test]
fn indefinite_length_text_in_protected_header_is_rejected() {
    let mut b = p256();
    b.content_type = Some(Cbor::IndefText(vec![
        "application/vnd.cncf.notary.".into(),
        "payload.v1+json".into(),
    ]));
    assert_malformed(reject(&b), "indefinite-length CBOR text string");
}

#[test]
fn trailing_bytes_after_envelope_are_rejected() {
    let mut b = p256();
    b.trailing = vec![0x00];
    assert_malformed(reject(&b), "trailing bytes");
}

#[test]
fn trailing_bytes_inside_protected_bstr_are_rejected() {
    let mut b = p256();
    let mut raw = b.protected_bytes();
    raw.push(0xa0);
    b.protected_raw = Some(raw);
    assert_malformed(reject(&b), "protected header: 1 trailing bytes");
}

#[test]
fn truncated_envelope_is_rejected() {
    let bytes = p256().build();
    assert_malformed(
        verify(&bytes[..bytes.len() - 1]).unwrap_err(),
        "unexpected end",
    );
}

#[test]
fn tag_in_unprotected_header_is_rejected() {
    // Tag 24 (embedded CBOR) around a certificate: go-cose decodes the body with tags forbidden.
    let (chain, mut b) = envelope(KeyKind::P256);
    let mut certs: Vec<Cbor> = chain.x5c().into_iter().map(Cbor::Bytes).collect();
    certs[0] = Cbor::tag(24, certs[0].clone());
    b.x5chain = Some(Cbor::Array(certs));
    assert_malformed(reject(&b), "unexpected CBOR tag 24");
}

#[test]
fn tagged_signature_is_rejected() {
    let mut b = p256();
    let sig = b.signature_item();
    b.signature = Sig::Item(Cbor::tag(2, sig));
    assert_malformed(reject(&b), "unexpected CBOR tag 2");
}

#[test]
fn tagged_protected_map_is_rejected() {
    let mut b = p256();
    let mut raw = vec![0xd9, 0xd9, 0xf7]; // self-described CBOR, tag 55799
    raw.extend(b.protected_bytes());
    b.protected_raw = Some(raw);
    assert_malformed(reject(&b), "unexpected CBOR tag 55799");
}

#[test]
fn tag_on_extended_attribute_is_rejected() {
    // go-cose would accept it; notaryd allows tag 1 only on the three time headers.
    let mut b = p256();
    b.extra_protected = vec![(text("io.example.when"), Cbor::time(SIGNING_TIME))];
    assert_invalid_header(reject(&b), "io.example.when", "unexpected CBOR tag 1");
}

#[test]
fn nested_tag_in_protected_header_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(text("io.example.list"), Cbor::Array(vec![Cbor::time(1)]))];
    assert_malformed(reject(&b), "unexpected CBOR tag 1");
}

#[test]
fn duplicate_protected_label_is_rejected() {
    // Two alg entries: a reader keeping the first and one keeping the last would disagree.
    let mut b = p256();
    b.extra_protected = vec![(Cbor::Int(1), Cbor::Int(-37))];
    assert_malformed(reject(&b), "duplicate map key 1");
}

#[test]
fn duplicate_protected_label_in_non_minimal_encoding_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(Cbor::UintWide(3, 1), text("application/json"))];
    assert_malformed(reject(&b), "duplicate map key 3");
}

#[test]
fn duplicate_text_label_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(text(SIGNING_SCHEME), text("notary.x509.signingAuthority"))];
    assert_malformed(
        reject(&b),
        "duplicate map key \"io.cncf.notary.signingScheme\"",
    );
}

#[test]
fn duplicate_unprotected_label_is_rejected() {
    // A second x5chain could steer a lenient reader to another chain.
    let (other, mut b) = envelope(KeyKind::P384);
    b.extra_unprotected = vec![(
        Cbor::Int(33),
        Cbor::Array(other.x5c().into_iter().map(Cbor::Bytes).collect()),
    )];
    assert_malformed(reject(&b), "duplicate map key 33");
}

#[test]
fn duplicate_key_in_nested_map_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(
        text("io.example.nested"),
        Cbor::Map(vec![(text("k"), Cbor::Int(1)), (text("k"), Cbor::Int(2))]),
    )];
    assert_malformed(reject(&b), "duplicate map key \"k\"");
}

#[test]
fn header_label_that_is_not_int_or_tstr_is_rejected() {
    for label in [
        Cbor::bytes(b"label"),
        Cbor::Float(1.0),
        Cbor::Bool(true),
        Cbor::Null,
    ] {
        let mut b = p256();
        b.extra_protected = vec![(label.clone(), Cbor::Int(0))];
        assert_malformed(reject(&b), "labels must be int or tstr");
        let mut b = p256();
        b.extra_unprotected = vec![(label, Cbor::Int(0))];
        assert_malformed(reject(&b), "labels must be int or tstr");
    }
}

#[test]
fn header_label_beyond_int64_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(Cbor::UintWide(u64::MAX, 8), Cbor::Int(0))];
    assert_malformed(reject(&b), "does not fit a signed 64-bit integer");
}

#[test]
fn invalid_utf8_text_is_rejected() {
    let mut b = p256();
    b.extra_unprotected = vec![(Cbor::Raw(vec![0x62, 0xc3, 0x28]), Cbor::Int(0))];
    assert_malformed(reject(&b), "not valid UTF-8");
}

#[test]
fn deeply_nested_attribute_is_rejected() {
    let mut value = Cbor::Int(0);
    for _ in 0..40 {
        value = Cbor::Array(vec![value]);
    }
    let mut b = p256();
    b.extra_protected = vec![(text("io.example.deep"), value)];
    assert_malformed(reject(&b), "nesting deeper than 32");
}

#[test]
fn protected_header_as_bare_map_is_rejected() {
    let mut b = p256();
    // Without the tag-1 time, which the tag rule would refuse first.
    b.signing_time = None;
    b.protected_item = Some(Cbor::Map(b.protected_entries()));
    assert_malformed(reject(&b), "protected header must be a bstr");
}

#[test]
fn nil_protected_header_is_rejected() {
    let mut b = p256();
    b.protected_item = Some(Cbor::Null);
    assert_malformed(reject(&b), "protected header is nil");
}

#[test]
fn protected_header_that_is_not_a_map_is_rejected() {
    let mut b = p256();
    b.protected_raw = Some(Cbor::Array(vec![Cbor::Int(1), Cbor::Int(-7)]).encode());
    assert_malformed(reject(&b), "protected header must encode a map");
}

#[test]
fn empty_protected_header_is_rejected() {
    let mut b = p256();
    b.protected_raw = Some(Vec::new());
    assert_eq!(reject(&b), EnvelopeError::MissingHeader(ALG));
}

#[test]
fn unprotected_header_that_is_not_a_map_is_rejected() {
    let mut b = p256();
    b.unprotected_raw = Some(Cbor::bytes(b"").encode());
    assert_malformed(reject(&b), "unprotected header must be a map");
}

#[test]
fn nil_payload_is_rejected() {
    let mut b = p256();
    b.payload = None;
    assert_malformed(reject(&b), "payload is nil");
}

#[test]
fn text_payload_is_rejected() {
    let mut b = p256();
    b.payload_item = Some(Cbor::Text(String::from_utf8(notary_payload()).unwrap()));
    assert_malformed(reject(&b), "payload must be a bstr");
}

#[test]
fn empty_payload_is_rejected() {
    let mut b = p256();
    b.payload = Some(Vec::new());
    assert_eq!(reject(&b), EnvelopeError::EmptyPayload);
}

#[test]
fn empty_signature_is_rejected() {
    let mut b = p256();
    b.signature = Sig::Raw(Vec::new());
    assert_malformed(reject(&b), "signature is empty");
}

#[test]
fn nil_signature_is_rejected() {
    let mut b = p256();
    b.signature = Sig::Item(Cbor::Null);
    assert_malformed(reject(&b), "signature must be a bstr");
}

// ---------------------------------------------------------------------------------------------
// alg (§3.4 rule 3) and the signature (rule 4)
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_alg_is_rejected() {
    let mut b = p256();
    b.alg = None;
    assert_eq!(reject(&b), EnvelopeError::MissingHeader(ALG));
}

#[test]
fn alg_only_in_unprotected_header_is_rejected() {
    let mut b = p256();
    b.alg = None;
    b.extra_unprotected = vec![(Cbor::Int(1), Cbor::Int(-7))];
    assert_eq!(reject(&b), EnvelopeError::MissingHeader(ALG));
}

#[test]
fn unknown_alg_is_rejected() {
    for (alg, shown) in [(-8, "-8"), (-257, "-257"), (5, "5"), (0, "0")] {
        let mut b = p256();
        b.alg = Some(Cbor::Int(alg));
        assert_eq!(
            reject(&b),
            EnvelopeError::UnsupportedAlgorithm(shown.into())
        );
    }
}

#[test]
fn text_alg_is_rejected() {
    let mut b = p256();
    b.alg = Some(text("ES256"));
    assert_eq!(
        reject(&b),
        EnvelopeError::UnsupportedAlgorithm("ES256".into())
    );
}

#[test]
fn alg_of_wrong_type_is_rejected() {
    let mut b = p256();
    b.alg = Some(Cbor::bytes(&[0x26]));
    assert_invalid_header(reject(&b), ALG, "must be an int");
}

#[test]
fn alg_substitution_to_ps256_with_p256_key_is_rejected() {
    let mut b = p256();
    b.alg = Some(Cbor::Int(-37));
    b.sign_with = Some(TestKey::cached(KeyKind::Rsa2048, 0));
    assert_eq!(
        reject(&b),
        EnvelopeError::AlgorithmMismatch {
            header: SignatureAlgorithm::PS256,
            key: KeySpec::Ec(Curve::P256),
            expected: SignatureAlgorithm::ES256,
        }
    );
}

#[test]
fn alg_substitution_to_es384_with_p256_key_is_rejected() {
    let mut b = p256();
    b.alg = Some(Cbor::Int(-35));
    assert_eq!(
        reject(&b),
        EnvelopeError::AlgorithmMismatch {
            header: SignatureAlgorithm::ES384,
            key: KeySpec::Ec(Curve::P256),
            expected: SignatureAlgorithm::ES256,
        }
    );
}

#[test]
fn alg_substitution_to_ps512_with_rsa_2048_key_is_rejected() {
    let (_, mut b) = envelope(KeyKind::Rsa2048);
    b.alg = Some(Cbor::Int(-39));
    assert_eq!(
        reject(&b),
        EnvelopeError::AlgorithmMismatch {
            header: SignatureAlgorithm::PS512,
            key: KeySpec::Rsa(2048),
            expected: SignatureAlgorithm::PS256,
        }
    );
}

#[test]
fn der_encoded_ecdsa_signature_is_rejected() {
    let mut b = p256();
    b.signature = Sig::EcdsaDer;
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn pkcs1_rsa_signature_is_rejected() {
    let (_, mut b) = envelope(KeyKind::Rsa2048);
    b.signature = Sig::Pkcs1Sha256;
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn tampered_signature_is_rejected() {
    let mut b = p256();
    b.signature = Sig::Tampered;
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn signature_by_another_key_is_rejected() {
    let mut b = p256();
    b.sign_with = Some(TestKey::cached(KeyKind::P256, 7));
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn swapped_payload_is_rejected() {
    let mut b = p256();
    b.signed_payload = Some(notary_payload());
    b.payload = Some(notary_payload().to_ascii_uppercase());
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn re_encoded_protected_header_breaks_signature() {
    // The signer signed the shortest encoding, the envelope carries the same map re-encoded
    // (alg label written as 0x18 0x01): a verifier that re-encodes the parsed map would accept.
    let mut b = p256();
    let signed = b.protected_bytes();
    let mut entries = b.protected_entries();
    entries[0].0 = Cbor::UintWide(1, 1);
    b.protected_raw = Some(Cbor::Map(entries).encode());
    b.signed_protected_raw = Some(signed);
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn reordered_protected_header_breaks_signature() {
    let mut b = p256();
    let signed = b.protected_bytes();
    let mut entries = b.protected_entries();
    entries.reverse();
    b.protected_raw = Some(Cbor::Map(entries).encode());
    b.signed_protected_raw = Some(signed);
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn signature_with_external_aad_is_rejected() {
    let mut b = p256();
    b.external_aad = b"aad".to_vec();
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn signature_over_wrong_context_is_rejected() {
    // "Signature" is the COSE_Sign (multi-signer) context.
    let mut b = p256();
    b.sig_context = "Signature".into();
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

// ---------------------------------------------------------------------------------------------
// crit (rules 5 and 11), the plugin refusal
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_crit_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Absent;
    assert_eq!(reject(&b), EnvelopeError::MissingHeader(CRIT));
}

#[test]
fn empty_crit_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![]));
    assert_invalid_header(reject(&b), CRIT, "empty");
}

#[test]
fn crit_that_is_not_an_array_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(text(SIGNING_SCHEME));
    assert_invalid_header(reject(&b), CRIT, "must be an array");
}

#[test]
fn crit_entry_that_is_not_a_label_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![
        text(SIGNING_SCHEME),
        Cbor::bytes(b"io.cncf.notary.expiry"),
    ]));
    assert_invalid_header(reject(&b), CRIT, "labels must be int or tstr");
}

#[test]
fn too_many_crit_entries_are_rejected() {
    let mut b = p256();
    let mut names = vec![text(SIGNING_SCHEME)];
    names.extend((0..64).map(|_| text(SIGNING_SCHEME)));
    b.crit = Crit::Explicit(Cbor::Array(names));
    assert_invalid_header(reject(&b), CRIT, "more than 64");
}

#[test]
fn crit_in_unprotected_header_is_rejected() {
    let mut b = p256();
    b.extra_unprotected = vec![(Cbor::Int(2), Cbor::Array(vec![text(SIGNING_TIME_LABEL)]))];
    assert_invalid_header(reject(&b), CRIT, "unprotected header");
}

#[test]
fn crit_without_signing_scheme_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_TIME_LABEL)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotListed(header::SIGNING_SCHEME)
    );
}

#[test]
fn expiry_not_marked_critical_is_rejected() {
    let mut b = p256();
    b.expiry = Some(Cbor::time(SIGNING_TIME + 60));
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotListed(header::EXPIRY)
    );
}

#[test]
fn authentic_signing_time_not_marked_critical_is_rejected() {
    let mut b = p256().signing_authority();
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotListed(header::AUTHENTIC_SIGNING_TIME)
    );
}

#[test]
fn critical_label_that_is_absent_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME), text(EXPIRY)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotPresent(EXPIRY.into())
    );
}

#[test]
fn critical_label_of_other_type_than_present_label_is_rejected() {
    // crit lists the integer 99; the protected header has the text label "99".
    let mut b = p256();
    b.extra_protected = vec![(text("99"), Cbor::Int(0))];
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME), Cbor::Int(99)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotPresent("99".into())
    );
}

#[test]
fn registered_label_marked_critical_is_rejected() {
    // The Notary COSE profile forbids listing labels 0-8 (here alg) in crit.
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME), Cbor::Int(1)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotAllowed("1".into())
    );
}

#[test]
fn signing_time_marked_critical_is_rejected() {
    let mut b = p256();
    b.crit = Crit::Explicit(Cbor::Array(vec![
        text(SIGNING_SCHEME),
        text(SIGNING_TIME_LABEL),
    ]));
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotAllowed(SIGNING_TIME_LABEL.into())
    );
}

#[test]
fn unknown_critical_label_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(text("signedCritKey1"), text("signedCritValue1"))];
    b.crit = Crit::Explicit(Cbor::Array(vec![
        text(SIGNING_SCHEME),
        text("signedCritKey1"),
    ]));
    assert_eq!(
        reject(&b),
        EnvelopeError::UnknownCriticalAttribute("signedCritKey1".into())
    );
}

#[test]
fn unknown_critical_integer_label_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(Cbor::Int(-65537), Cbor::Int(1))];
    b.crit = Crit::Explicit(Cbor::Array(vec![text(SIGNING_SCHEME), Cbor::Int(-65537)]));
    assert_eq!(
        reject(&b),
        EnvelopeError::UnknownCriticalAttribute("-65537".into())
    );
}

#[test]
fn verification_plugin_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(text(VERIFICATION_PLUGIN), text("io.example.plugin"))];
    b.crit = Crit::Explicit(Cbor::Array(vec![
        text(SIGNING_SCHEME),
        text(VERIFICATION_PLUGIN),
    ]));
    assert_eq!(
        reject(&b),
        EnvelopeError::VerificationPluginRequired("io.example.plugin".into())
    );
}

#[test]
fn verification_plugin_not_marked_critical_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(text(VERIFICATION_PLUGIN), Cbor::Int(1))];
    assert_eq!(
        reject(&b),
        EnvelopeError::VerificationPluginRequired("<int>".into())
    );
}

// ---------------------------------------------------------------------------------------------
// Scheme and times (rules 6 and 7; §4.4 "a time value that is not tag 1")
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_signing_scheme_is_rejected() {
    let mut b = p256();
    b.signing_scheme = None;
    b.crit = Crit::Explicit(Cbor::Array(vec![text(EXPIRY)]));
    b.expiry = Some(Cbor::time(SIGNING_TIME + 60));
    assert_eq!(
        reject(&b),
        EnvelopeError::MissingHeader(header::SIGNING_SCHEME)
    );
}

#[test]
fn signing_scheme_marked_critical_but_absent_is_rejected() {
    let mut b = p256();
    b.signing_scheme = None;
    assert_eq!(
        reject(&b),
        EnvelopeError::CriticalHeaderNotPresent(SIGNING_SCHEME.into())
    );
}

#[test]
fn unsupported_signing_scheme_is_rejected() {
    let mut b = p256();
    b.signing_scheme = Some(text("notary.default.x509"));
    assert_eq!(
        reject(&b),
        EnvelopeError::UnsupportedSigningScheme("notary.default.x509".into())
    );
}

#[test]
fn signing_scheme_that_is_not_text_is_rejected() {
    let mut b = p256();
    b.signing_scheme = Some(Cbor::bytes(b"notary.x509"));
    assert_invalid_header(reject(&b), header::SIGNING_SCHEME, "must be a tstr");
}

#[test]
fn missing_signing_time_is_rejected() {
    let mut b = p256();
    b.signing_time = None;
    assert_eq!(
        reject(&b),
        EnvelopeError::SchemeTimeMissing {
            scheme: SigningScheme::X509,
            header: header::SIGNING_TIME,
        }
    );
}

#[test]
fn authentic_signing_time_with_x509_scheme_is_rejected() {
    let mut b = p256();
    b.authentic_signing_time = Some(Cbor::time(SIGNING_TIME));
    assert_eq!(
        reject(&b),
        EnvelopeError::SchemeTimeForbidden {
            scheme: SigningScheme::X509,
            header: header::AUTHENTIC_SIGNING_TIME,
        }
    );
}

#[test]
fn signing_authority_with_signing_time_is_rejected() {
    let mut b = p256().signing_authority();
    b.signing_time = Some(Cbor::time(SIGNING_TIME));
    assert_eq!(
        reject(&b),
        EnvelopeError::SchemeTimeForbidden {
            scheme: SigningScheme::X509SigningAuthority,
            header: header::SIGNING_TIME,
        }
    );
}

#[test]
fn expiry_before_signing_time_is_rejected() {
    let mut b = p256();
    b.expiry = Some(Cbor::time(SIGNING_TIME - 1));
    assert_eq!(
        reject(&b),
        EnvelopeError::ExpiryNotAfterSigningTime {
            expiry: Timestamp::from_unix_seconds(SIGNING_TIME - 1),
            signing_time: Timestamp::from_unix_seconds(SIGNING_TIME),
        }
    );
}

#[test]
fn expiry_equal_to_signing_time_is_rejected() {
    let mut b = p256().signing_authority();
    b.expiry = Some(Cbor::time(SIGNING_TIME));
    assert_eq!(
        reject(&b),
        EnvelopeError::ExpiryNotAfterSigningTime {
            expiry: Timestamp::from_unix_seconds(SIGNING_TIME),
            signing_time: Timestamp::from_unix_seconds(SIGNING_TIME),
        }
    );
}

#[test]
fn signing_time_without_tag_1_is_rejected() {
    let mut b = p256();
    b.signing_time = Some(Cbor::Int(SIGNING_TIME));
    assert_invalid_header(
        reject(&b),
        header::SIGNING_TIME,
        "only Tag 1 Datetime is supported, found an untagged int",
    );
}

#[test]
fn signing_time_with_tag_0_is_rejected() {
    let mut b = p256();
    b.signing_time = Some(Cbor::tag(0, text("2023-11-14T22:13:20Z")));
    assert_invalid_header(
        reject(&b),
        header::SIGNING_TIME,
        "only Tag 1 Datetime is supported, found tag 0",
    );
}

#[test]
fn signing_time_as_rfc3339_text_is_rejected() {
    let mut b = p256();
    b.signing_time = Some(text("2023-11-14T22:13:20Z"));
    assert_invalid_header(reject(&b), header::SIGNING_TIME, "found an untagged tstr");
}

#[test]
fn authentic_signing_time_without_tag_1_is_rejected() {
    let mut b = p256().signing_authority();
    b.authentic_signing_time = Some(Cbor::Int(SIGNING_TIME));
    assert_invalid_header(
        reject(&b),
        header::AUTHENTIC_SIGNING_TIME,
        "only Tag 1 Datetime",
    );
}

#[test]
fn expiry_without_tag_1_is_rejected() {
    let mut b = p256();
    b.expiry = Some(Cbor::Float((SIGNING_TIME + 60) as f64));
    assert_invalid_header(reject(&b), header::EXPIRY, "only Tag 1 Datetime");
}

#[test]
fn tag_1_around_text_is_rejected() {
    let mut b = p256();
    b.signing_time = Some(Cbor::tag(1, text("1700000000")));
    assert_invalid_header(
        reject(&b),
        header::SIGNING_TIME,
        "must enclose an integer or a float",
    );
}

#[test]
fn tag_1_around_nan_is_rejected() {
    for f in [f64::NAN, f64::INFINITY, -1e300] {
        let mut b = p256();
        b.signing_time = Some(Cbor::tag(1, Cbor::Float(f)));
        assert_invalid_header(reject(&b), header::SIGNING_TIME, "not a time");
    }
}

#[test]
fn tag_1_around_tag_1_is_rejected() {
    let mut b = p256();
    b.signing_time = Some(Cbor::tag(1, Cbor::time(SIGNING_TIME)));
    assert_malformed(reject(&b), "unexpected CBOR tag 1");
}

// ---------------------------------------------------------------------------------------------
// Content type (rule 8)
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_content_type_is_rejected() {
    let mut b = p256();
    b.content_type = None;
    assert_eq!(reject(&b), EnvelopeError::MissingHeader(CTY));
}

#[test]
fn integer_content_type_is_rejected() {
    // 50 is the CoAP content format of application/json.
    let mut b = p256();
    b.content_type = Some(Cbor::Int(50));
    assert_invalid_header(reject(&b), CTY, "integer content format 50");
}

#[test]
fn content_type_of_wrong_type_is_rejected() {
    let mut b = p256();
    b.content_type = Some(Cbor::bytes(PAYLOAD_CTY.as_bytes()));
    assert_invalid_header(reject(&b), CTY, "must be a tstr");
}

#[test]
fn wrong_content_type_is_rejected() {
    let mut b = p256();
    b.content_type = Some(text("application/json"));
    assert_eq!(
        reject(&b),
        EnvelopeError::ContentType("application/json".into())
    );
}

// ---------------------------------------------------------------------------------------------
// x5chain (rules 2 and 10; §4.4 "x5chain missing, not an array, ...")
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_x5chain_is_rejected() {
    let mut b = p256();
    b.x5chain = None;
    assert_eq!(reject(&b), EnvelopeError::MissingCertificateChain);
}

#[test]
fn empty_x5chain_is_rejected() {
    let mut b = p256();
    b.x5chain = Some(Cbor::Array(vec![]));
    assert_eq!(reject(&b), EnvelopeError::MissingCertificateChain);
}

#[test]
fn x5chain_single_bstr_is_rejected() {
    // RFC 9360 allows a lone bstr; notation reads only the array form.
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::Bytes(chain.leaf.der.clone()));
    assert_invalid_header(reject(&b), X5CHAIN, "single bstr");
}

#[test]
fn x5chain_of_wrong_type_is_rejected() {
    let mut b = p256();
    b.x5chain = Some(Cbor::Map(vec![]));
    assert_invalid_header(reject(&b), X5CHAIN, "must be an array of bstr");
}

#[test]
fn x5chain_entry_that_is_not_a_bstr_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::Array(vec![
        Cbor::Bytes(chain.leaf.der.clone()),
        Cbor::Text("intermediate".into()),
    ]));
    assert_invalid_header(reject(&b), X5CHAIN, "entry 1 must be a bstr");
}

#[test]
fn x5chain_in_protected_header_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain_in_protected = b.x5chain.clone();
    assert_invalid_header(reject(&b), X5CHAIN, "unprotected header only");
    // Also when it is only there.
    let mut b = CoseSign1::new(&chain);
    b.x5chain_in_protected = b.x5chain.take();
    assert_invalid_header(reject(&b), X5CHAIN, "unprotected header only");
}

#[test]
fn x5chain_entry_that_is_not_der_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    let mut certs: Vec<Cbor> = chain.x5c().into_iter().map(Cbor::Bytes).collect();
    certs[1] = Cbor::bytes(b"not a certificate");
    b.x5chain = Some(Cbor::Array(certs));
    assert!(matches!(
        reject(&b),
        EnvelopeError::Certificate { index: 1, .. }
    ));
}

#[test]
fn x5chain_longer_than_the_limit_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::Array(
        std::iter::repeat_n(Cbor::Bytes(chain.root.der.clone()), 11).collect(),
    ));
    assert_eq!(reject(&b), EnvelopeError::ChainTooLong { len: 11, max: 10 });
}

#[test]
fn x5chain_without_root_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::Array(vec![
        Cbor::Bytes(chain.leaf.der.clone()),
        Cbor::Bytes(chain.intermediate.der.clone()),
    ]));
    assert!(matches!(
        reject(&b),
        EnvelopeError::Chain(ChainError::RootNotSelfSigned { index: 1, .. })
    ));
}

#[test]
fn x5chain_out_of_order_is_rejected() {
    let (chain, mut b) = envelope(KeyKind::P256);
    b.x5chain = Some(Cbor::Array(vec![
        Cbor::Bytes(chain.leaf.der.clone()),
        Cbor::Bytes(chain.root.der.clone()),
        Cbor::Bytes(chain.intermediate.der.clone()),
    ]));
    assert!(matches!(reject(&b), EnvelopeError::Chain(_)));
}

#[test]
fn x5chain_leaf_not_matching_the_signing_key_is_rejected() {
    // The chain of another P-256 signer: same algorithm, other key.
    let (other, mut b) = envelope(KeyKind::P256);
    let other_leaf = other.intermediate.issue(
        CertSpec::code_signing("another signer"),
        TestKey::cached(KeyKind::P256, 3),
    );
    b.x5chain = Some(Cbor::Array(vec![
        Cbor::Bytes(other_leaf.der),
        Cbor::Bytes(other.intermediate.der.clone()),
        Cbor::Bytes(other.root.der.clone()),
    ]));
    assert!(matches!(reject(&b), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn x5chain_certificate_with_rewritten_outer_signature_algorithm_is_rejected() {
    // The outer signatureAlgorithm is outside the signed TBSCertificate: its NULL parameters
    // rewritten to an empty OCTET STRING break no signature, so it must equal the inner copy.
    let (chain, mut b) = envelope(KeyKind::P256);
    let sha256_rsa_null = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];
    let mut intermediate = chain.intermediate.der.clone();
    let at = intermediate
        .windows(sha256_rsa_null.len())
        .rposition(|w| w == sha256_rsa_null)
        .unwrap();
    intermediate[at + 11] = 0x04;
    b.x5chain = Some(Cbor::Array(vec![
        Cbor::Bytes(chain.leaf.der.clone()),
        Cbor::Bytes(intermediate),
        Cbor::Bytes(chain.root.der.clone()),
    ]));
    match reject(&b) {
        EnvelopeError::Certificate {
            index: 1,
            error: CertificateError::SignatureAlgorithmMismatch { .. },
        } => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn x5chain_with_server_auth_leaf_is_rejected() {
    let mut spec = CertSpec::code_signing("tls server");
    spec.eku = EkuSpec::Present(vec![OID_KP_SERVER_AUTH.to_vec()], false);
    let chain = Chain::with_leaf(KeyKind::P256, spec);
    let b = CoseSign1::new(&chain);
    assert!(matches!(reject(&b), EnvelopeError::Chain(_)));
}

// ---------------------------------------------------------------------------------------------
// Other unprotected headers and the generic COSE header rules go-cose applies
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_signature_that_is_not_a_bstr_is_rejected() {
    let mut b = p256();
    b.timestamp = Some(text("MIIG..."));
    assert_invalid_header(reject(&b), header::TIMESTAMP_SIGNATURE, "must be a bstr");
}

#[test]
fn kid_that_is_not_a_bstr_is_rejected() {
    let mut b = p256();
    b.extra_unprotected = vec![(Cbor::Int(4), text("key-1"))];
    assert_invalid_header(reject(&b), "4", "must be a bstr");
}

#[test]
fn iv_and_partial_iv_together_are_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(Cbor::Int(5), Cbor::bytes(b"iv"))];
    b.extra_unprotected = vec![(Cbor::Int(6), Cbor::bytes(b"piv"))];
    assert_invalid_header(reject(&b), "5", "must not both be present");
}

#[test]
fn countersignature_in_protected_header_is_rejected() {
    let mut b = p256();
    b.extra_protected = vec![(Cbor::Int(9), Cbor::bytes(b"sig"))];
    assert_invalid_header(reject(&b), "9", "not allowed in the protected header");
}

#[test]
fn malformed_countersignature_is_rejected() {
    let mut b = p256();
    b.extra_unprotected = vec![(Cbor::Int(11), Cbor::Array(vec![Cbor::Int(1)]))];
    assert_invalid_header(reject(&b), "11", "must be a COSE countersignature");
    // Its shape alone is checked; a well-shaped one is ignored.
    let mut b = p256();
    let cs = Cbor::Array(vec![
        Cbor::bytes(b""),
        Cbor::Map(vec![]),
        Cbor::bytes(b"sig"),
    ]);
    b.extra_unprotected = vec![(Cbor::Int(11), cs)];
    verify(&b.build()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Upstream vectors
// ---------------------------------------------------------------------------------------------

fn vector(rel: &str) -> Option<Vec<u8>> {
    let path = crate::common::vectors::vector_path(rel, "the COSE vector checks")?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

#[test]
fn notation_go_cose_signature_vector_verifies() {
    let Some(bytes) = vector("notation-go/internal/testdata/cose_signature.sig") else {
        return;
    };
    let v = verify(&bytes).unwrap();
    let si = &v.signer_info;
    assert_eq!(si.signature_algorithm, SignatureAlgorithm::PS256);
    assert_eq!(si.signing_scheme, SigningScheme::X509);
    assert_eq!(
        si.signing_time,
        Some(Timestamp::from_unix_seconds(0x640f_fbe2))
    );
    assert_eq!(si.expiry, None);
    assert_eq!(si.timestamp_token, None);
    assert_eq!(si.certificate_chain.len(), 1);
    let payload = String::from_utf8(v.payload).unwrap();
    assert!(
        payload.contains("sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0")
    );
    assert!(payload.contains("\"size\":481"));
    if let Some(pem) = vector("_derived/notation-go-example-alpine-selfsigned.pem") {
        let pem = String::from_utf8(pem).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
        assert_eq!(si.leaf().der(), der.as_slice());
    }
}

#[test]
fn timestamped_cose_vectors_pass_integrity() {
    for (name, token) in [
        ("coseWithTimestamp", Some("coseWithTimestamp")),
        ("coseExpiredWithTimestamp", Some("coseExpiredWithTimestamp")),
        ("timestampAfterNotAfter", None),
    ] {
        let Some(bytes) = vector(&format!(
            "notation-go/verifier/testdata/timestamp/sigEnv/{name}.sig"
        )) else {
            continue;
        };
        let v = verify(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.signer_info.signing_scheme, SigningScheme::X509, "{name}");
        let got = v.signer_info.timestamp_token.as_deref().expect(name);
        // The derived tokens were cut from these envelopes byte for byte.
        if let Some(token) = token
            && let Some(want) = vector(&format!("_derived/tst/{token}.tst.der"))
        {
            assert_eq!(got, want.as_slice(), "{name}");
        }
        assert!(v.payload.starts_with(b"{\"targetArtifact\""), "{name}");
    }
}

#[test]
fn notation_blob_cose_vector_passes_integrity() {
    // Integrity does not look at certificate validity; the signer expired in 2025.
    let Some(bytes) = vector("notation/test/e2e/testdata/signatures/blob.cose.sig") else {
        return;
    };
    let v = verify(&bytes).unwrap();
    assert!(v.signer_info.timestamp_token.is_some());
    assert!(
        String::from_utf8_lossy(&v.payload)
            .contains("sha256:c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4")
    );
}

fn conformance() -> Option<(Vec<u8>, Vec<u8>)> {
    let json = vector("notation-core-go/signature/cose/testdata/conformance.json")?;
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    Some((
        hex(doc["expectedOutput"]["cborHex"].as_str().unwrap()),
        hex(doc["protectedHeaders"]["cborHex"].as_str().unwrap()),
    ))
}

#[test]
fn conformance_vector_without_x5chain_is_rejected() {
    let Some((envelope, _)) = conformance() else {
        return;
    };
    assert_eq!(
        verify(&envelope).unwrap_err(),
        EnvelopeError::MissingCertificateChain
    );
}

#[test]
fn conformance_protected_header_is_read_as_described() {
    // Its exact protected bytes (PS384, crit [signingScheme, expiry, signedCritKey1], tag-1
    // times), signed by an RSA-3072 test leaf: alg and the raw-bytes signature pass, then the
    // unknown critical signedCritKey1 refuses it, as INDEX.md §C expects.
    let Some((_, protected)) = conformance() else {
        return;
    };
    let chain = Chain::new(KeyKind::Rsa3072);
    let mut b = CoseSign1::new(&chain);
    b.protected_raw = Some(protected);
    b.payload = Some(b"hello COSE".to_vec());
    assert_eq!(
        reject(&b),
        EnvelopeError::UnknownCriticalAttribute("signedCritKey1".into())
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A valid P-256 envelope, built once. It has no signingAgent and no timestampSignature:
/// those are unprotected and optional, so a flip inside them, or in their labels (which turns
/// them into ignored unknown labels), rightly still verifies.
fn reference_envelope() -> &'static [u8] {
    static ENVELOPE: OnceLock<Vec<u8>> = OnceLock::new();
    ENVELOPE.get_or_init(|| {
        let mut b = p256();
        b.expiry = Some(Cbor::time(SIGNING_TIME + 86_400));
        let bytes = b.build();
        verify(&bytes).expect("reference envelope verifies");
        bytes
    })
}

#[test]
fn every_single_byte_flip_never_verifies() {
    // Exhaustive over positions, for three masks; the proptest below tries random masks.
    let valid = reference_envelope();
    for mask in [0x01u8, 0x80, 0xff] {
        for i in 0..valid.len() {
            let mut bytes = valid.to_vec();
            bytes[i] ^= mask;
            assert!(
                verify(&bytes).is_err(),
                "flipping byte {i} with {mask:#04x} still verifies"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = verify(&bytes);
        let mut tagged = vec![0xd2, 0x84];
        tagged.extend(&bytes);
        let _ = verify(&tagged);
    }

    #[test]
    fn random_single_byte_flip_never_verifies(index in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let valid = reference_envelope();
        let mut bytes = valid.to_vec();
        let i = index.index(bytes.len());
        bytes[i] ^= mask;
        prop_assert!(verify(&bytes).is_err(), "byte {} ^ {:#04x} still verifies", i, mask);
    }

    #[test]
    fn random_splices_of_a_valid_envelope_never_panic(
        start in any::<prop::sample::Index>(),
        len in 0usize..64,
        insert in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let valid = reference_envelope();
        let s = start.index(valid.len());
        let e = (s + len).min(valid.len());
        let mut bytes = valid[..s].to_vec();
        bytes.extend(&insert);
        bytes.extend(&valid[e..]);
        let _ = verify(&bytes);
    }
}

mod conformance_vector {
    use notaryd::verify::crypto::SignatureAlgorithm;
    use notaryd::verify::envelope::{
        EnvelopeError, MEDIA_TYPE_COSE, PAYLOAD_CONTENT_TYPE, check_header_rules, header,
        parse_unverified, verify_envelope,
    };
    use notaryd::verify::limits::Limits;
    use notaryd::verify::time::Timestamp;

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// notation-core-go's COSE conformance vector (vectors INDEX.md §C): decoded as the file
    /// describes, and refused for the documented reasons.
    #[test]
    fn conformance_vector_headers_read_as_described() {
        let Some(path) = crate::common::vectors::vector_path(
            "notation-core-go/signature/cose/testdata/conformance.json",
            "the COSE conformance vector test",
        ) else {
            return;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let expected = hex_decode(doc["expectedOutput"]["cborHex"].as_str().unwrap());
        let protected_hex = hex_decode(doc["protectedHeaders"]["cborHex"].as_str().unwrap());
        let p = parse_unverified(MEDIA_TYPE_COSE, &expected, &Limits::default()).unwrap();

        assert_eq!(p.algorithm, SignatureAlgorithm::PS384);
        assert_eq!(p.content_type, PAYLOAD_CONTENT_TYPE);
        assert_eq!(
            p.critical,
            [header::SIGNING_SCHEME, header::EXPIRY, "signedCritKey1"]
        );
        let mut names = p.protected_names.clone();
        names.sort();
        assert_eq!(
            names,
            [
                "1",
                "2",
                "3",
                header::EXPIRY,
                header::SIGNING_SCHEME,
                header::SIGNING_TIME,
                "signedCritKey1",
                "signedKey1"
            ]
        );
        assert_eq!(p.signing_scheme.as_deref(), Some("notary.x509"));
        let signing_time = doc["signingTime"].as_i64().unwrap();
        let expiry = doc["expiry"].as_i64().unwrap();
        assert_eq!(
            p.signing_time,
            Some(Timestamp::from_unix_seconds(signing_time))
        );
        assert_eq!(p.expiry, Some(Timestamp::from_unix_seconds(expiry)));
        assert_eq!(p.authentic_signing_time, None);
        assert_eq!(p.verification_plugin, None);
        assert_eq!(p.timestamp_token, None);
        assert_eq!(
            p.signing_agent.as_deref(),
            Some("NotationConformanceTest/1.0.0")
        );
        assert_eq!(p.payload, hex_decode(doc["payload"].as_str().unwrap()));
        assert_eq!(p.payload, b"hello COSE");
        assert_eq!(p.signature.len(), 384);
        // The Sig_structure embeds the protected bytes exactly as received.
        let mut want = vec![0x84, 0x6a];
        want.extend(b"Signature1");
        want.extend([0x59, 0x01, 0x17]);
        want.extend(&protected_hex);
        want.extend([0x40, 0x4a]);
        want.extend(b"hello COSE");
        assert_eq!(p.signed_bytes, want);

        // Refused: no x5chain (the first check), and the unknown critical signedCritKey1.
        assert!(p.certificate_chain.is_empty());
        assert_eq!(
            verify_envelope(MEDIA_TYPE_COSE, &expected, &Limits::default()).unwrap_err(),
            EnvelopeError::MissingCertificateChain
        );
        assert_eq!(
            check_header_rules(&p).unwrap_err(),
            EnvelopeError::UnknownCriticalAttribute("signedCritKey1".into())
        );
        // Its payload, "hello COSE", is no Notary payload either.
        assert!(serde_json::from_slice::<serde_json::Value>(&p.payload).is_err());
    }
}
