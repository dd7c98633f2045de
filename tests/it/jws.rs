//! JWS envelope integrity: a valid envelope for every algorithm, then one test per rejection
//! rule (NOTARY-VERIFY §3.4 and the §5.1 chain rules), each named after the attack.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use notaryd::verify::chain::ChainError;
use notaryd::verify::envelope::{EnvelopeError, VerifiedEnvelope, verify_envelope};
use notaryd::verify::limits::Limits;
use rcgen::KeyUsagePurpose;
use serde_json::json;

use crate::common::jws::{Jws, payload_for};
use crate::common::pki::*;

const JWS: &str = "application/jose+json";

fn payload() -> Vec<u8> {
    payload_for(
        "application/vnd.oci.image.manifest.v1+json",
        &format!("sha256:{}", "1".repeat(64)),
        517,
        &[],
    )
}

fn verify(bytes: &[u8]) -> Result<VerifiedEnvelope, EnvelopeError> {
    verify_envelope(JWS, bytes, &Limits::default())
}

fn valid(kind: KeyKind) -> Jws {
    Jws::new(&Chain::new(kind), payload())
}

fn err(jws: &Jws) -> EnvelopeError {
    verify(&jws.sign()).expect_err("envelope must be rejected")
}

fn chain_err(jws: &Jws) -> ChainError {
    match err(jws) {
        EnvelopeError::Chain(c) => c,
        other => panic!("expected a chain error, got {other:?}"),
    }
}

#[test]
fn valid_envelopes_verify_for_every_notary_algorithm() {
    for kind in [
        KeyKind::Rsa2048,
        KeyKind::Rsa3072,
        KeyKind::Rsa4096,
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::P521,
    ] {
        let v = verify(&valid(kind).sign()).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(v.signer_info.signature_algorithm.jws_name(), kind.jws_alg());
        assert_eq!(v.payload, payload());
        assert_eq!(v.signer_info.certificate_chain.len(), 3);
    }
}

#[test]
fn signing_authority_envelope_verifies() {
    let mut jws = valid(KeyKind::P256);
    jws.signing_authority("2025-01-01T00:00:00Z");
    let v = verify(&jws.sign()).unwrap();
    assert!(v.signer_info.authentic_signing_time.is_some());
    assert!(v.signer_info.signing_time.is_none());
}

#[test]
fn alg_none_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("alg", json!("none"));
    assert!(matches!(err(&jws), EnvelopeError::UnsupportedAlgorithm(a) if a == "none"));
}

#[test]
fn hmac_alg_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("alg", json!("HS256"));
    assert!(matches!(err(&jws), EnvelopeError::UnsupportedAlgorithm(_)));
}

#[test]
fn alg_substitution_ps256_on_rsa3072_key_is_rejected() {
    let mut jws = valid(KeyKind::Rsa3072);
    jws.set("alg", json!("PS256"));
    assert!(matches!(err(&jws), EnvelopeError::AlgorithmMismatch { .. }));
}

#[test]
fn alg_es384_on_p256_key_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("alg", json!("ES384"));
    assert!(matches!(err(&jws), EnvelopeError::AlgorithmMismatch { .. }));
}

#[test]
fn rsa_key_claiming_ecdsa_is_rejected() {
    let mut jws = valid(KeyKind::Rsa2048);
    jws.set("alg", json!("ES256"));
    assert!(matches!(err(&jws), EnvelopeError::AlgorithmMismatch { .. }));
}

#[test]
fn tampered_payload_breaks_signature() {
    let jws = valid(KeyKind::P256);
    let (protected, _) = jws.signing_input();
    let other = URL_SAFE_NO_PAD.encode(payload_for(
        "application/vnd.oci.image.manifest.v1+json",
        &format!("sha256:{}", "2".repeat(64)),
        517,
        &[],
    ));
    let bytes = jws.assemble(&protected, &other, &jws.signature());
    assert!(matches!(
        verify(&bytes).unwrap_err(),
        EnvelopeError::SignatureInvalid { .. }
    ));
}

#[test]
fn re_encoded_protected_header_breaks_signature() {
    // Same header members, different bytes: a verifier that re-serialises would accept this.
    let jws = valid(KeyKind::P256);
    let (_, payload) = jws.signing_input();
    let reencoded = URL_SAFE_NO_PAD.encode(jws.protected_json().replace(',', ", "));
    let bytes = jws.assemble(&reencoded, &payload, &jws.signature());
    assert!(matches!(
        verify(&bytes).unwrap_err(),
        EnvelopeError::SignatureInvalid { .. }
    ));
}

#[test]
fn padded_base64url_is_rejected() {
    let jws = valid(KeyKind::P256);
    let (protected, payload) = jws.signing_input();
    let padded = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4 + 4));
    let bytes = jws.assemble(&protected, &padded, &jws.signature());
    assert!(matches!(
        verify(&bytes).unwrap_err(),
        EnvelopeError::Malformed { .. }
    ));
}

#[test]
fn non_canonical_base64url_signature_is_rejected() {
    // Flip the unused low bits of the last character: the same bytes under a lax decoder.
    let jws = valid(KeyKind::P256);
    let mut doc: serde_json::Value = serde_json::from_slice(&jws.sign()).unwrap();
    let sig = doc["signature"].as_str().unwrap().to_owned();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *sig.as_bytes().last().unwrap();
    let pos = alphabet.iter().position(|&c| c == last).unwrap();
    let twin = alphabet[pos ^ 1] as char; // differs only in the lowest (unused) bit for 64-byte sigs
    let mut forged = sig[..sig.len() - 1].to_owned();
    forged.push(twin);
    doc["signature"] = json!(forged);
    assert!(verify(&serde_json::to_vec(&doc).unwrap()).is_err());
}

#[test]
fn der_encoded_ecdsa_signature_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    let (p, b) = jws.signing_input();
    jws.signature_override = Some(jws.key.sign_ecdsa_der(format!("{p}.{b}").as_bytes()));
    assert!(matches!(err(&jws), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn pkcs1_v15_rsa_signature_is_rejected() {
    let mut jws = valid(KeyKind::Rsa2048);
    let (p, b) = jws.signing_input();
    jws.signature_override = Some(jws.key.sign_pkcs1_sha256(format!("{p}.{b}").as_bytes()));
    assert!(matches!(err(&jws), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn signature_by_another_key_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.key = TestKey::cached(KeyKind::P256, 7);
    assert!(matches!(err(&jws), EnvelopeError::SignatureInvalid { .. }));
}

#[test]
fn empty_signature_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.signature_override = Some(Vec::new());
    assert!(matches!(err(&jws), EnvelopeError::Malformed { .. }));
}

#[test]
fn missing_crit_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.remove("crit");
    assert_eq!(err(&jws), EnvelopeError::MissingHeader("crit"));
}

#[test]
fn empty_crit_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("crit", json!([]));
    assert!(matches!(err(&jws), EnvelopeError::InvalidHeader { header, .. } if header == "crit"));
}

#[test]
fn crit_without_signing_scheme_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("crit", json!(["io.cncf.notary.expiry"]));
    jws.set("io.cncf.notary.expiry", json!("2099-01-01T00:00:00Z"));
    assert_eq!(
        err(&jws),
        EnvelopeError::CriticalHeaderNotListed("io.cncf.notary.signingScheme")
    );
}

#[test]
fn expiry_not_marked_critical_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("io.cncf.notary.expiry", json!("2099-01-01T00:00:00Z"));
    assert_eq!(
        err(&jws),
        EnvelopeError::CriticalHeaderNotListed("io.cncf.notary.expiry")
    );
}

#[test]
fn authentic_signing_time_not_marked_critical_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.signing_authority("2025-01-01T00:00:00Z");
    jws.set("crit", json!(["io.cncf.notary.signingScheme"]));
    assert_eq!(
        err(&jws),
        EnvelopeError::CriticalHeaderNotListed("io.cncf.notary.authenticSigningTime")
    );
}

#[test]
fn crit_listing_an_absent_header_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "crit",
        json!(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]),
    );
    assert!(
        matches!(err(&jws), EnvelopeError::CriticalHeaderNotPresent(n) if n == "io.cncf.notary.expiry")
    );
}

#[test]
fn crit_listing_a_registered_header_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("crit", json!(["io.cncf.notary.signingScheme", "alg"]));
    assert!(matches!(err(&jws), EnvelopeError::CriticalHeaderNotAllowed(n) if n == "alg"));
}

#[test]
fn crit_listing_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "crit",
        json!(["io.cncf.notary.signingScheme", "io.cncf.notary.signingTime"]),
    );
    assert!(matches!(
        err(&jws),
        EnvelopeError::CriticalHeaderNotAllowed(n) if n == "io.cncf.notary.signingTime"
    ));
}

#[test]
fn critical_plugin_min_version_without_a_plugin_is_accepted() {
    // It only qualifies a plugin name; alone it changes nothing (notation accepts it too).
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "io.cncf.notary.verificationPluginMinVersion",
        json!("1.0.0"),
    );
    jws.set(
        "crit",
        json!([
            "io.cncf.notary.signingScheme",
            "io.cncf.notary.verificationPluginMinVersion"
        ]),
    );
    verify(&jws.sign()).unwrap();
}

#[test]
fn unknown_critical_attribute_is_rejected() {
    // The spec says MUST fail; notation hands it to a plugin instead (documented divergence).
    let mut jws = valid(KeyKind::P256);
    jws.set("io.example.mustUnderstand", json!("x"));
    jws.set(
        "crit",
        json!(["io.cncf.notary.signingScheme", "io.example.mustUnderstand"]),
    );
    assert!(
        matches!(err(&jws), EnvelopeError::UnknownCriticalAttribute(n) if n == "io.example.mustUnderstand")
    );
}

#[test]
fn non_critical_extended_attribute_is_ignored() {
    let mut jws = valid(KeyKind::P256);
    jws.set("io.example.informational", json!({"any": ["json"]}));
    verify(&jws.sign()).unwrap();
}

#[test]
fn verification_plugin_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "io.cncf.notary.verificationPlugin",
        json!("com.example.plugin"),
    );
    jws.set(
        "crit",
        json!([
            "io.cncf.notary.signingScheme",
            "io.cncf.notary.verificationPlugin"
        ]),
    );
    assert!(
        matches!(err(&jws), EnvelopeError::VerificationPluginRequired(p) if p == "com.example.plugin")
    );
}

#[test]
fn unknown_signing_scheme_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("io.cncf.notary.signingScheme", json!("notary.x509.v2"));
    assert!(matches!(
        err(&jws),
        EnvelopeError::UnsupportedSigningScheme(_)
    ));
}

#[test]
fn missing_signing_scheme_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.remove("io.cncf.notary.signingScheme");
    assert_eq!(
        err(&jws),
        EnvelopeError::MissingHeader("io.cncf.notary.signingScheme")
    );
}

#[test]
fn x509_without_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.remove("io.cncf.notary.signingTime");
    assert!(matches!(err(&jws), EnvelopeError::SchemeTimeMissing { .. }));
}

#[test]
fn x509_with_authentic_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "io.cncf.notary.authenticSigningTime",
        json!("2025-01-01T00:00:00Z"),
    );
    jws.set(
        "crit",
        json!([
            "io.cncf.notary.signingScheme",
            "io.cncf.notary.authenticSigningTime"
        ]),
    );
    assert!(matches!(
        err(&jws),
        EnvelopeError::SchemeTimeForbidden {
            header: "io.cncf.notary.authenticSigningTime",
            ..
        }
    ));
}

#[test]
fn signing_authority_with_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.signing_authority("2025-01-01T00:00:00Z");
    jws.set("io.cncf.notary.signingTime", json!("2025-01-01T00:00:00Z"));
    assert!(matches!(
        err(&jws),
        EnvelopeError::SchemeTimeForbidden {
            header: "io.cncf.notary.signingTime",
            ..
        }
    ));
}

#[test]
fn signing_authority_without_authentic_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.signing_authority("2025-01-01T00:00:00Z");
    jws.remove("io.cncf.notary.authenticSigningTime");
    jws.set("crit", json!(["io.cncf.notary.signingScheme"]));
    assert!(matches!(
        err(&jws),
        EnvelopeError::CriticalHeaderNotListed(_) | EnvelopeError::SchemeTimeMissing { .. }
    ));
}

#[test]
fn expiry_before_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.expiry("2024-12-31T23:59:59Z");
    assert!(matches!(
        err(&jws),
        EnvelopeError::ExpiryNotAfterSigningTime { .. }
    ));
}

#[test]
fn expiry_equal_to_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.expiry("2025-01-01T00:00:00Z");
    assert!(matches!(
        err(&jws),
        EnvelopeError::ExpiryNotAfterSigningTime { .. }
    ));
}

#[test]
fn non_rfc3339_signing_time_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("io.cncf.notary.signingTime", json!("1 Jan 2025"));
    assert!(matches!(err(&jws), EnvelopeError::InvalidHeader { .. }));
}

#[test]
fn signing_time_with_offset_is_accepted() {
    let mut jws = valid(KeyKind::P256);
    jws.set(
        "io.cncf.notary.signingTime",
        json!("2025-01-01T08:00:00+08:00"),
    );
    verify(&jws.sign()).unwrap();
}

#[test]
fn wrong_content_type_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.set("cty", json!("application/json"));
    assert!(matches!(err(&jws), EnvelopeError::ContentType(_)));
}

#[test]
fn empty_payload_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.payload = Vec::new();
    assert_eq!(err(&jws), EnvelopeError::EmptyPayload);
}

#[test]
fn missing_x5c_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.x5c.clear();
    assert_eq!(err(&jws), EnvelopeError::MissingCertificateChain);
}

#[test]
fn x5c_in_base64url_is_rejected() {
    let jws = valid(KeyKind::P256);
    let mut doc: serde_json::Value = serde_json::from_slice(&jws.sign()).unwrap();
    doc["header"]["x5c"] = json!(
        jws.x5c
            .iter()
            .map(|c| URL_SAFE_NO_PAD.encode(c))
            .collect::<Vec<_>>()
    );
    assert!(verify(&serde_json::to_vec(&doc).unwrap()).is_err());
}

#[test]
fn garbage_certificate_is_rejected() {
    let mut jws = valid(KeyKind::P256);
    jws.x5c[1] = b"not a certificate".to_vec();
    assert!(matches!(
        err(&jws),
        EnvelopeError::Certificate { index: 1, .. }
    ));
}

#[test]
fn too_many_certificates_are_rejected_before_parsing() {
    let mut jws = valid(KeyKind::P256);
    jws.x5c = vec![b"x".to_vec(); 11];
    assert!(matches!(
        err(&jws),
        EnvelopeError::ChainTooLong { len: 11, .. }
    ));
}

#[test]
fn duplicate_alg_in_protected_header_is_rejected() {
    // Two readers of these bytes could disagree on the algorithm; refuse the ambiguity.
    let mut jws = valid(KeyKind::P256);
    let text = jws.protected_json();
    jws.raw_protected = Some(text.replacen("{", "{\"alg\":\"ES256\",", 1));
    assert!(matches!(err(&jws), EnvelopeError::Malformed { .. }));
}

#[test]
fn duplicate_top_level_member_is_rejected() {
    let jws = valid(KeyKind::P256);
    let text = String::from_utf8(jws.sign()).unwrap();
    let dup = text.replacen("{", "{\"signature\":\"AAAA\",", 1);
    assert!(matches!(
        verify(dup.as_bytes()).unwrap_err(),
        EnvelopeError::Malformed { .. }
    ));
}

#[test]
fn general_serialization_is_rejected() {
    let jws = valid(KeyKind::P256);
    let mut doc: serde_json::Value = serde_json::from_slice(&jws.sign()).unwrap();
    doc["signatures"] = json!([{"protected": doc["protected"], "signature": doc["signature"]}]);
    assert!(matches!(
        verify(&serde_json::to_vec(&doc).unwrap()).unwrap_err(),
        EnvelopeError::Malformed { .. }
    ));
}

#[test]
fn compact_serialization_is_rejected() {
    let jws = valid(KeyKind::P256);
    let (p, b) = jws.signing_input();
    let compact = format!("{p}.{b}.{}", URL_SAFE_NO_PAD.encode(jws.signature()));
    assert!(matches!(
        verify(compact.as_bytes()).unwrap_err(),
        EnvelopeError::Malformed { .. }
    ));
}

#[test]
fn oversized_envelope_is_rejected_before_parsing() {
    let limits = Limits {
        max_envelope_bytes: 100,
        ..Limits::default()
    };
    let bytes = valid(KeyKind::P256).sign();
    assert!(matches!(
        verify_envelope(JWS, &bytes, &limits).unwrap_err(),
        EnvelopeError::TooLarge { .. }
    ));
}

#[test]
fn unsupported_media_type_is_rejected() {
    let bytes = valid(KeyKind::P256).sign();
    assert!(matches!(
        verify_envelope("application/json", &bytes, &Limits::default()).unwrap_err(),
        EnvelopeError::UnsupportedMediaType(_)
    ));
}

#[test]
fn signing_agent_is_ignored_in_either_spelling() {
    let mut jws = valid(KeyKind::P256);
    jws.unprotected
        .push(("io.cncf.notary.signingAgent".into(), json!(42)));
    jws.unprotected
        .push(("io.cncf.notary.SigningAgent".into(), json!("notation/1.0")));
    verify(&jws.sign()).unwrap();
}

// ---- certificate chain rules (§5.1), enforced inside integrity ----

fn jws_with_chain(x5c: Vec<Vec<u8>>, key: TestKey) -> Jws {
    let mut jws = Jws::new(&Chain::new(key.kind), payload());
    jws.x5c = x5c;
    jws.key = key;
    jws
}

fn ca_chain() -> (TestCert, TestCert) {
    let root = TestCert::self_signed(
        CertSpec::ca("r", Some(1)),
        TestKey::cached(KeyKind::P256, 11),
    );
    let int = root.issue(
        CertSpec::ca("i", Some(0)),
        TestKey::cached(KeyKind::P256, 12),
    );
    (root, int)
}

fn leaf_under(int: &TestCert, spec: CertSpec) -> TestCert {
    int.issue(spec, TestKey::cached(KeyKind::P256, 13))
}

#[test]
fn chain_without_root_is_rejected() {
    let (_, int) = ca_chain();
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(vec![leaf.der.clone(), int.der.clone()], leaf.key.clone());
    assert!(matches!(
        chain_err(&jws),
        ChainError::RootNotSelfSigned { index: 1, .. }
    ));
}

#[test]
fn single_certificate_that_is_not_self_signed_is_rejected() {
    let (_, int) = ca_chain();
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(vec![leaf.der.clone()], leaf.key.clone());
    assert!(matches!(
        chain_err(&jws),
        ChainError::RootNotSelfSigned { index: 0, .. }
    ));
}

#[test]
fn self_signed_leaf_alone_is_accepted() {
    let leaf = TestCert::self_signed(
        CertSpec::code_signing("pinned"),
        TestKey::cached(KeyKind::P256, 14),
    );
    let jws = jws_with_chain(vec![leaf.der.clone()], leaf.key.clone());
    verify(&jws.sign()).unwrap();
}

#[test]
fn self_signed_ca_alone_is_rejected_by_leaf_rules() {
    let (root, _) = ca_chain();
    let jws = jws_with_chain(vec![root.der.clone()], root.key.clone());
    assert!(matches!(
        chain_err(&jws),
        ChainError::LeafIsCa { .. } | ChainError::LeafWithoutDigitalSignature { .. }
    ));
}

#[test]
fn misordered_chain_is_rejected() {
    let (root, int) = ca_chain();
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![leaf.der.clone(), root.der.clone(), int.der.clone()],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::NotIssuedByNext { index: 0, .. }
    ));
}

#[test]
fn duplicate_root_at_the_end_is_rejected() {
    let (root, int) = ca_chain();
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![
            leaf.der.clone(),
            int.der.clone(),
            root.der.clone(),
            root.der.clone(),
        ],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::SelfSignedBeforeRoot { index: 2, .. }
    ));
}

#[test]
fn self_signed_leaf_in_front_of_an_unrelated_chain_is_rejected() {
    let (root, int) = ca_chain();
    let leaf = TestCert::self_signed(
        CertSpec::code_signing("l"),
        TestKey::cached(KeyKind::P256, 14),
    );
    let jws = jws_with_chain(
        vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::SelfSignedBeforeRoot { index: 0, .. }
    ));
}

#[test]
fn intermediate_without_ca_flag_is_rejected() {
    let root = TestCert::self_signed(CertSpec::ca("r", None), TestKey::cached(KeyKind::P256, 11));
    let mut spec = CertSpec::ca("i", None);
    spec.ca = None;
    let int = root.issue(spec, TestKey::cached(KeyKind::P256, 12));
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::CaWithoutBasicConstraints { index: 1, .. }
    ));
}

#[test]
fn path_length_exceeded_is_rejected() {
    let root = TestCert::self_signed(
        CertSpec::ca("r", Some(0)),
        TestKey::cached(KeyKind::P256, 11),
    );
    let int1 = root.issue(CertSpec::ca("i1", None), TestKey::cached(KeyKind::P256, 12));
    let int2 = int1.issue(CertSpec::ca("i2", None), TestKey::cached(KeyKind::P256, 15));
    let leaf = leaf_under(&int2, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![
            leaf.der.clone(),
            int2.der.clone(),
            int1.der.clone(),
            root.der.clone(),
        ],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::PathLenExceeded {
            index: 3,
            path_len: 0,
            needed: 2,
            ..
        }
    ));
}

#[test]
fn intermediate_without_key_cert_sign_is_rejected() {
    let root = TestCert::self_signed(CertSpec::ca("r", None), TestKey::cached(KeyKind::P256, 11));
    let mut spec = CertSpec::ca("i", None);
    spec.key_usage = KeyUsageSpec::Critical(vec![KeyUsagePurpose::CrlSign]);
    let int = root.issue(spec, TestKey::cached(KeyKind::P256, 12));
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::CaWithoutKeyCertSign { index: 1, .. }
    ));
}

#[test]
fn ca_key_usage_not_critical_is_rejected() {
    let root = TestCert::self_signed(CertSpec::ca("r", None), TestKey::cached(KeyKind::P256, 11));
    let mut spec = CertSpec::ca("i", None);
    spec.key_usage = KeyUsageSpec::NonCritical(vec![KeyUsagePurpose::KeyCertSign]);
    let int = root.issue(spec, TestKey::cached(KeyKind::P256, 12));
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let jws = jws_with_chain(
        vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    );
    assert!(matches!(
        chain_err(&jws),
        ChainError::KeyUsageNotCritical { index: 1, .. }
    ));
}

fn leaf_case(spec: CertSpec) -> ChainError {
    let (root, int) = ca_chain();
    let leaf = leaf_under(&int, spec);
    chain_err(&jws_with_chain(
        vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    ))
}

#[test]
fn leaf_without_key_usage_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.key_usage = KeyUsageSpec::Absent;
    assert!(matches!(
        leaf_case(spec),
        ChainError::KeyUsageMissing { index: 0, .. }
    ));
}

#[test]
fn leaf_key_usage_not_critical_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.key_usage = KeyUsageSpec::NonCritical(vec![KeyUsagePurpose::DigitalSignature]);
    assert!(matches!(
        leaf_case(spec),
        ChainError::KeyUsageNotCritical { index: 0, .. }
    ));
}

#[test]
fn leaf_without_digital_signature_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.key_usage = KeyUsageSpec::Critical(vec![KeyUsagePurpose::ContentCommitment]);
    assert!(matches!(
        leaf_case(spec),
        ChainError::LeafWithoutDigitalSignature { .. }
    ));
}

#[test]
fn leaf_with_key_encipherment_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.key_usage = KeyUsageSpec::Critical(vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ]);
    assert!(
        matches!(leaf_case(spec), ChainError::LeafForbiddenKeyUsage { usages, .. } if usages == "keyEncipherment")
    );
}

#[test]
fn leaf_with_key_cert_sign_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.key_usage = KeyUsageSpec::Critical(vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ]);
    assert!(matches!(
        leaf_case(spec),
        ChainError::LeafForbiddenKeyUsage { .. }
    ));
}

#[test]
fn leaf_marked_as_ca_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.ca = Some(None);
    spec.explicit_not_ca = false;
    assert!(matches!(leaf_case(spec), ChainError::LeafIsCa { .. }));
}

#[test]
fn leaf_with_server_auth_eku_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.eku = EkuSpec::Present(
        vec![OID_KP_CODE_SIGNING.to_vec(), OID_KP_SERVER_AUTH.to_vec()],
        false,
    );
    assert!(matches!(
        leaf_case(spec),
        ChainError::LeafForbiddenEku {
            eku: "serverAuth",
            ..
        }
    ));
}

#[test]
fn leaf_with_timestamping_eku_is_rejected() {
    let mut spec = CertSpec::code_signing("l");
    spec.eku = EkuSpec::Present(vec![OID_KP_TIME_STAMPING.to_vec()], false);
    assert!(matches!(
        leaf_case(spec),
        ChainError::LeafForbiddenEku {
            eku: "timeStamping",
            ..
        }
    ));
}

#[test]
fn leaf_with_any_extended_key_usage_is_rejected() {
    // Spec rule; notation does not check it (documented divergence).
    let mut spec = CertSpec::code_signing("l");
    spec.eku = EkuSpec::Present(vec![OID_ANY_EKU.to_vec()], false);
    assert!(matches!(
        leaf_case(spec),
        ChainError::LeafForbiddenEku {
            eku: "anyExtendedKeyUsage",
            ..
        }
    ));
}

#[test]
fn leaf_without_eku_is_accepted() {
    let (root, int) = ca_chain();
    let mut spec = CertSpec::code_signing("l");
    spec.eku = EkuSpec::Absent;
    let leaf = leaf_under(&int, spec);
    verify(
        &jws_with_chain(
            vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
            leaf.key.clone(),
        )
        .sign(),
    )
    .unwrap();
}

#[test]
fn unknown_critical_extension_does_not_fail_the_chain() {
    // Only basicConstraints, keyUsage and EKU are judged (NOTARY-VERIFY §5.1, "fail open").
    let (root, int) = ca_chain();
    let mut spec = CertSpec::code_signing("l");
    spec.extra
        .push((vec![1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00], true));
    let leaf = leaf_under(&int, spec);
    verify(
        &jws_with_chain(
            vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
            leaf.key.clone(),
        )
        .sign(),
    )
    .unwrap();
}

#[test]
fn non_critical_basic_constraints_on_a_ca_is_accepted_with_a_note() {
    let root = TestCert::self_signed(CertSpec::ca("r", None), TestKey::cached(KeyKind::P256, 11));
    let mut spec = CertSpec::ca("i", None);
    spec.ca = None;
    // basicConstraints cA=TRUE, not critical, as a raw extension.
    spec.extra.push((
        vec![2, 5, 29, 19],
        vec![0x30, 0x03, 0x01, 0x01, 0xff],
        false,
    ));
    let int = root.issue(spec, TestKey::cached(KeyKind::P256, 12));
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    let v = verify(
        &jws_with_chain(
            vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
            leaf.key.clone(),
        )
        .sign(),
    )
    .unwrap();
    assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
}

#[test]
fn child_outliving_its_issuer_is_accepted() {
    // Validity nesting is not a Notary rule.
    let (root, _) = ca_chain();
    let mut int_spec = CertSpec::ca("i", Some(0));
    int_spec.not_after = time::OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap();
    let int = root.issue(int_spec, TestKey::cached(KeyKind::P256, 12));
    let leaf = leaf_under(&int, CertSpec::code_signing("l"));
    verify(
        &jws_with_chain(
            vec![leaf.der.clone(), int.der.clone(), root.der.clone()],
            leaf.key.clone(),
        )
        .sign(),
    )
    .unwrap();
}

#[test]
fn sha1_certificate_signature_is_rejected() {
    // Rewrite both signatureAlgorithm fields (signed inner, unsigned outer) of the leaf to
    // sha1WithRSAEncryption: the signature no longer matches, but the algorithm is refused
    // before any key is used.
    let root = TestCert::self_signed(
        CertSpec::ca("r", Some(1)),
        TestKey::cached(KeyKind::Rsa2048, 3),
    );
    let int = root.issue(
        CertSpec::ca("i", Some(0)),
        TestKey::cached(KeyKind::Rsa2048, 4),
    );
    let leaf = int.issue(
        CertSpec::code_signing("l"),
        TestKey::cached(KeyKind::P256, 13),
    );
    let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    let mut der = leaf.der.clone();
    let positions: Vec<usize> = (0..der.len() - 9)
        .filter(|&i| der[i..i + 9] == sha256_rsa)
        .collect();
    assert_eq!(positions.len(), 2);
    for pos in positions {
        der[pos + 8] = 0x05;
    }
    let jws = jws_with_chain(
        vec![der, int.der.clone(), root.der.clone()],
        leaf.key.clone(),
    );
    match chain_err(&jws) {
        ChainError::NotIssuedByNext { reason, .. } => assert!(reason.contains("SHA-1"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ed25519_leaf_is_rejected() {
    let (root, int) = ca_chain();
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let issuer = rcgen::Issuer::new(
        {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(rcgen::DnType::CountryName, "US");
            p.distinguished_name
                .push(rcgen::DnType::StateOrProvinceName, "WA");
            p.distinguished_name
                .push(rcgen::DnType::LocalityName, "Seattle");
            p.distinguished_name
                .push(rcgen::DnType::OrganizationName, "notaryd tests");
            p.distinguished_name.push(rcgen::DnType::CommonName, "i");
            p
        },
        int.key.rcgen(),
    );
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, "ed");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = p.signed_by(&kp, &issuer).unwrap();
    let mut jws = jws_with_chain(
        vec![cert.der().to_vec(), int.der.clone(), root.der.clone()],
        TestKey::cached(KeyKind::P256, 13),
    );
    jws.set("alg", json!("ES256"));
    assert!(matches!(err(&jws), EnvelopeError::UnsupportedKey(_)));
}

#[test]
fn x5c_entries_use_standard_base64() {
    let jws = valid(KeyKind::P256);
    let doc: serde_json::Value = serde_json::from_slice(&jws.sign()).unwrap();
    let first = doc["header"]["x5c"][0].as_str().unwrap();
    assert_eq!(STANDARD.decode(first).unwrap(), jws.x5c[0]);
}
