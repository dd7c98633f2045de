//! Robustness of every untrusted entry point.
//!
//! 1. Any bytes given as an envelope, certificate, trust-store file, policy, DN, payload,
//!    manifest, time or layout reference give an error, never a panic; structured generators
//!    (JSON with the right keys, mutated valid documents, re-signed headers) get past the
//!    first parse so the deeper checks see odd input too.
//! 2. A valid JWS envelope with any single byte flipped never verifies through the whole
//!    `Verifier`: every position, several xor masks each.
//! 3. Broken OCI layouts and trust stores make `cli::verify` fail or reject, never panic and
//!    never accept anything but the signed artifact.
//! 4. One test per cap: the input just over it is refused before it is parsed (and the input
//!    at the cap is not refused for its size).
//!
//! The proptest case counts are small so that the whole module stays at a few seconds in a
//! debug build; `tests/fuzz/` runs the same entry points for as long as one likes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use notaryd::cli::{self, OutputFormat, VerifyArgs, VerifyCommandError, VerifyOutcome};
use notaryd::layout::{LayoutError, LayoutReference};
use notaryd::notation_config::{self, ConfigError, MAX_FILES_PER_STORE};
use notaryd::oci::{self, MAX_DESCRIPTORS, Manifest, ManifestError};
use notaryd::verify::descriptor::{Descriptor, Digest};
use notaryd::verify::dn::{DistinguishedName, render_go_style};
use notaryd::verify::envelope::{EnvelopeError, MEDIA_TYPE_COSE, MEDIA_TYPE_JWS, verify_envelope};
use notaryd::verify::json::JsonError;
use notaryd::verify::limits::{Limits, MAX_CERTIFICATE_BYTES, MAX_CRIT_ENTRIES, MAX_JSON_VALUES};
use notaryd::verify::payload::TargetArtifact;
use notaryd::verify::policy::{MAX_TRUST_POLICY_BYTES, PolicyError, TrustPolicyDocument};
use notaryd::verify::revocation::NoRevocationData;
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::{
    MAX_CERTIFICATES_PER_FILE, MAX_TRUST_STORE_FILE_BYTES, TrustStore, TrustStoreError,
    TrustStoreType, parse_certificate_file,
};
use notaryd::verify::verifier::{
    Progress, RejectReason, Rejected, SignatureInput, Start, VerificationRequest, Verified,
    Verifier,
};
use notaryd::verify::x509::{Certificate, CertificateError};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{Desc, LayoutWriter, SignatureForm, sha256};
use crate::common::pki::*;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const SCOPE: &str = "registry.example/team/app";
/// The leaf subject of `Chain::new`, as an `x509.subject` identity.
const LEAF_IDENTITY: &str =
    "x509.subject:C=US,ST=WA,L=Seattle,O=notaryd tests,CN=notaryd test signer";

// ---------------------------------------------------------------------------------------------
// Fixture: one standard chain (RSA-3072 root and intermediate, P-256 leaf) and its envelope.
// ---------------------------------------------------------------------------------------------

struct Fixture {
    chain: Chain,
    target: Descriptor,
    /// A valid `notary.x509` JWS for `target`: no signing agent, no timestamp.
    envelope: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let chain = Chain::new(KeyKind::P256);
        let target = Descriptor {
            media_type: MANIFEST.into(),
            digest: Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap(),
            size: 517,
            artifact_type: None,
            platform: None,
            annotations: Default::default(),
        };
        let envelope = Jws::new(&chain, target_payload(&target)).sign();
        Fixture {
            chain,
            target,
            envelope,
        }
    })
}

fn target_payload(t: &Descriptor) -> Vec<u8> {
    payload_for(&t.media_type, t.digest.as_str(), t.size, &[])
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap()
}

/// A strict policy for `SCOPE` trusting `ca:root` and the given identity.
fn policy_json(identity: &str) -> String {
    json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "robustness",
            "registryScopes": [SCOPE],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:root"],
            "trustedIdentities": [identity],
        }],
    })
    .to_string()
}

fn root_store() -> TrustStore {
    let mut store = TrustStore::new();
    store
        .add_store(
            TrustStoreType::Ca,
            "root",
            &[("root.der".to_owned(), fixture().chain.root.der.clone())],
        )
        .unwrap();
    store
}

fn request() -> VerificationRequest {
    VerificationRequest {
        scope: SCOPE.into(),
        target: fixture().target.clone(),
        user_metadata: BTreeMap::new(),
        time: now(),
    }
}

fn verify_one(verifier: &Verifier<'_>, envelope: &[u8]) -> Result<Verified, Rejected> {
    verifier.verify_all(
        request(),
        [SignatureInput {
            signature_digest: None,
            media_type: MEDIA_TYPE_JWS,
            envelope,
        }],
    )
}

// ---------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Text made of JSON tokens, so that the lexer gets further than with random bytes.
fn json_tokens() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\"a\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "0",
        "-1",
        "1e400",
        "-0.0",
        "18446744073709551616",
        "true",
        "null",
        " ",
        "\"payload\"",
        "\"protected\"",
        "\"header\"",
        "\"signature\"",
        "\"x5c\"",
        "\"mediaType\"",
        "\"digest\"",
        "\"size\"",
        "\"layers\"",
        "\"manifests\"",
        "\"version\"",
        "\"1.0\"",
        "\"trustPolicies\"",
        "\"targetArtifact\"",
        "\u{7f}",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..48)
        .prop_map(|tokens| tokens.concat().into_bytes())
}

fn json_leaf(strings: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        3 => prop::sample::select(strings).prop_map(|s| Value::String(s.to_owned())),
        1 => "\\PC{0,16}".prop_map(Value::String),
    ]
    .boxed()
}

fn json_key(keys: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-zA-Z.#]{0,12}",
    ]
    .boxed()
}

/// JSON values whose object keys come mostly from `keys` and strings mostly from `strings`.
fn json_value(
    keys: &'static [&'static str],
    strings: &'static [&'static str],
) -> BoxedStrategy<Value> {
    json_leaf(strings)
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((json_key(keys), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// An object at the top, as every document here is.
fn json_object(
    keys: &'static [&'static str],
    strings: &'static [&'static str],
) -> BoxedStrategy<Value> {
    prop::collection::vec((json_key(keys), json_value(keys, strings)), 0..7)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed()
}

/// Every JSON pointer in `v`, root first.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(child, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// One structural edit of a valid document.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Value),
    Remove,
    WrapInArray,
    Stringify,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => json_value(ALL_KEYS, ALL_STRINGS).prop_map(Edit::Replace),
        2 => Just(Edit::Remove),
        1 => Just(Edit::WrapInArray),
        1 => Just(Edit::Stringify),
    ]
}

fn apply_edits(doc: &Value, edits: &[(Index, Edit)]) -> Value {
    let mut doc = doc.clone();
    for (pick, e) in edits {
        let mut all = Vec::new();
        pointers(&doc, "", &mut all);
        let p = all[pick.index(all.len())].clone();
        match e {
            Edit::Replace(v) => {
                if let Some(slot) = doc.pointer_mut(&p) {
                    *slot = v.clone();
                }
            }
            Edit::WrapInArray => {
                if let Some(slot) = doc.pointer_mut(&p) {
                    *slot = Value::Array(vec![slot.take()]);
                }
            }
            Edit::Stringify => {
                if let Some(slot) = doc.pointer_mut(&p) {
                    *slot = Value::String(slot.to_string());
                }
            }
            Edit::Remove => {
                let Some(cut) = p.rfind('/') else { continue };
                let last = p[cut + 1..].replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(&p[..cut]) {
                    Some(Value::Object(m)) => {
                        m.remove(&last);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = last.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    doc
}

/// Byte-level edits of a valid encoding: flip, delete, insert, truncate, repeat a range.
fn mutate_bytes(base: &[u8], ops: &[(Index, u8, u8)]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, value, op) in ops {
        if out.is_empty() {
            out.push(*value);
            continue;
        }
        let i = at.index(out.len());
        match op % 5 {
            0 => out[i] ^= value.max(&1),
            1 => {
                out.remove(i);
            }
            2 => out.insert(i, *value),
            3 => out.truncate(i),
            _ => {
                let end = (i + usize::from(*value)).min(out.len());
                let range = out[i..end].to_vec();
                out.splice(i..i, range);
            }
        }
    }
    out
}

fn byte_ops() -> impl Strategy<Value = Vec<(Index, u8, u8)>> {
    prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..4)
}

const POLICY_KEYS: &[&str] = &[
    "version",
    "trustPolicies",
    "name",
    "registryScopes",
    "signatureVerification",
    "level",
    "override",
    "verifyTimestamp",
    "trustStores",
    "trustedIdentities",
    "integrity",
    "authenticity",
    "authenticTimestamp",
    "expiry",
    "revocation",
];
const POLICY_STRINGS: &[&str] = &[
    "1.0",
    "strict",
    "permissive",
    "audit",
    "skip",
    "enforce",
    "log",
    "always",
    "afterCertExpiry",
    "*",
    "ca:root",
    "tsa:ts",
    "signingAuthority:sa",
    "ca:..",
    "ca:",
    ":",
    "x509.subject:C=US,ST=WA,O=o",
    "x509.subject:C=US,ST=WA,O=o,CN=c",
    "x509.subject:C=US+ST=WA,O=o",
    "x509.subject:",
    "other:thing",
    "registry.example/team/app",
    "registry.example:5000/a/b",
    "Registry.Example/UPPER",
    "registry.example/*",
    "a/b/c",
];
const MANIFEST_KEYS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "artifactType",
    "config",
    "layers",
    "blobs",
    "manifests",
    "subject",
    "annotations",
    "digest",
    "size",
    "urls",
    "platform",
];
const MANIFEST_STRINGS: &[&str] = &[
    MANIFEST,
    INDEX,
    "application/vnd.oci.artifact.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.cncf.notary.signature",
    "application/vnd.oci.empty.v1+json",
    "application/jose+json",
    "application/cose",
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "sha256:ABAB",
    "sha512:00",
    "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
    "sha256:../../etc/passwd",
    "org.opencontainers.image.ref.name",
];
const PAYLOAD_KEYS: &[&str] = &[
    "targetArtifact",
    "mediaType",
    "digest",
    "size",
    "annotations",
    "artifactType",
];
const HEADER_NAMES: &[&str] = &[
    "alg",
    "cty",
    "crit",
    "b64",
    "kid",
    "x5c",
    "io.cncf.notary.signingScheme",
    "io.cncf.notary.signingTime",
    "io.cncf.notary.authenticSigningTime",
    "io.cncf.notary.expiry",
    "io.cncf.notary.verificationPlugin",
    "io.cncf.notary.verificationPluginMinVersion",
    "io.cncf.notary.extra",
    "io.cncf.notary.timestampSignature",
    "io.cncf.notary.signingAgent",
];
const HEADER_STRINGS: &[&str] = &[
    "ES256",
    "ES384",
    "PS256",
    "none",
    "HS256",
    "application/vnd.cncf.notary.payload.v1+json",
    "application/json",
    "notary.x509",
    "notary.x509.signingAuthority",
    "notary.x509.other",
    "2025-01-01T00:00:00Z",
    "2024-06-01T00:00:00+08:00",
    "2099-01-01T00:00:00Z",
    "1999-01-01T00:00:00Z",
    "2025-01-01 00:00:00Z",
    "2025-01-01T00:00:00z",
    "9999-12-31T23:59:60Z",
    "io.cncf.notary.signingScheme",
    "io.cncf.notary.expiry",
    "io.cncf.notary.authenticSigningTime",
    "io.cncf.notary.signingTime",
    "io.cncf.notary.extra",
    "alg",
    "",
];
const ALL_KEYS: &[&str] = &[
    "version",
    "trustPolicies",
    "name",
    "level",
    "mediaType",
    "digest",
    "size",
    "layers",
    "manifests",
    "subject",
    "annotations",
    "targetArtifact",
];
const ALL_STRINGS: &[&str] = &[
    "strict",
    "skip",
    "*",
    "ca:root",
    MANIFEST,
    INDEX,
    "application/vnd.cncf.notary.signature",
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "",
];

fn valid_policy() -> Value {
    json!({
        "version": "1.0",
        "trustPolicies": [
            {
                "name": "prod",
                "registryScopes": [SCOPE, "registry.example:5000/other"],
                "signatureVerification": {
                    "level": "strict",
                    "override": {"revocation": "skip", "expiry": "log"},
                    "verifyTimestamp": "afterCertExpiry",
                },
                "trustStores": ["ca:root", "tsa:ts"],
                "trustedIdentities": [LEAF_IDENTITY, "x509.subject:C=US,ST=WA,O=other"],
            },
            {
                "name": "global",
                "registryScopes": ["*"],
                "signatureVerification": {"level": "skip"},
            },
        ],
    })
}

fn valid_signature_manifest() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.cncf.notary.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
        "layers": [{"mediaType": MEDIA_TYPE_JWS, "digest": sha256(b"envelope"), "size": 8}],
        "subject": {"mediaType": MANIFEST, "digest": fixture().target.digest.as_str(), "size": 517},
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
    })
}

fn valid_index() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {"mediaType": MANIFEST, "digest": sha256(b"a"), "size": 1,
             "annotations": {"org.opencontainers.image.ref.name": "v1"},
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": MANIFEST, "digest": sha256(b"b"), "size": 1,
             "artifactType": "application/vnd.cncf.notary.signature"},
        ],
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Arbitrary input never panics.
// ---------------------------------------------------------------------------------------------

/// Exercises everything a parsed manifest offers.
fn poke_manifest(bytes: &[u8]) {
    let Ok(m) = Manifest::parse(bytes) else {
        return;
    };
    let _ = m.is_index();
    let _ = m.effective_media_type();
    let t = &fixture().target;
    let _ = oci::classify_signature_manifest(&t.digest, &m, t);
    for d in m.manifests.iter().chain(&m.layers).chain(&m.blobs) {
        let _ = oci::is_signature_entry(d);
        let _ = oci::referrers_tag(&d.digest);
        let _ = d.digest.matches(bytes);
    }
}

/// Exercises everything a parsed certificate offers.
fn poke_certificate(der: &[u8]) {
    let Ok(c) = Certificate::from_der(der) else {
        return;
    };
    let _ = (c.subject(), c.issuer(), c.serial_number(), c.sha256());
    let _ = (c.not_before().to_string(), c.not_after().to_string());
    let _ = c.public_key().map(|k| k.spec());
    let _ = c.is_self_signed();
    let _ = render_go_style(c.subject_name());
    let _ = DistinguishedName::from_certificate_name(c.subject_name());
    let issuer = Certificate::from_der(&fixture().chain.intermediate.der).unwrap();
    let _ = c.is_issued_by(&issuer);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn envelope_of_arbitrary_bytes_is_an_error(b in bytes(512)) {
        for media_type in [MEDIA_TYPE_JWS, MEDIA_TYPE_COSE, "application/octet-stream"] {
            prop_assert!(verify_envelope(media_type, &b, &Limits::default()).is_err());
        }
    }

    #[test]
    fn envelope_of_json_tokens_is_an_error(b in json_tokens()) {
        prop_assert!(verify_envelope(MEDIA_TYPE_JWS, &b, &Limits::default()).is_err());
    }

    #[test]
    fn certificate_of_arbitrary_bytes_is_an_error(b in bytes(512)) {
        prop_assert!(Certificate::from_der(&b).is_err());
        prop_assert!(parse_certificate_file(&b).map_or(true, |c| c.is_empty()));
    }

    #[test]
    fn policy_of_arbitrary_bytes_is_an_error(b in bytes(512)) {
        prop_assert!(TrustPolicyDocument::from_json(&b).is_err());
    }

    #[test]
    fn policy_of_json_tokens_never_panics(b in json_tokens()) {
        let _ = TrustPolicyDocument::from_json(&b);
    }

    #[test]
    fn payload_and_manifest_of_arbitrary_bytes_never_panic(b in bytes(512)) {
        prop_assert!(TargetArtifact::from_payload(&b).is_err());
        poke_manifest(&b);
    }

    #[test]
    fn payload_and_manifest_of_json_tokens_never_panic(b in json_tokens()) {
        let _ = TargetArtifact::from_payload(&b);
        poke_manifest(&b);
    }

    #[test]
    fn text_parsers_never_panic(text in "\\PC{0,64}", dnish in "[A-Za-z0-9=,+;\\\\#\"<> .\u{e9}]{0,64}") {
        for t in [&text, &dnish] {
            let _ = DistinguishedName::parse_rfc4514(t);
            let _ = Timestamp::parse_rfc3339(t);
            let _ = LayoutReference::parse(t);
            let _ = Digest::parse(t);
        }
    }

    #[test]
    fn times_near_the_grammar_never_panic(
        t in "[0-9+-]{1,6}-[0-9]{1,3}-[0-9]{1,3}[Tt ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,20})?(Z|z|[+-][0-9]{1,3}:[0-9]{1,3})?"
    ) {
        if let Some(ts) = Timestamp::parse_rfc3339(&t) {
            let _ = ts.to_string();
        }
    }

    #[test]
    fn layout_references_near_the_grammar_never_panic(
        dir in "[a-z/:@.]{0,8}",
        sep in prop::sample::select(vec![":", "@", "@sha256:", "@sha512:"]),
        rest in "[a-fA-F0-9:.\\-_]{0,130}",
    ) {
        let _ = LayoutReference::parse(&format!("{dir}{sep}{rest}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn policy_shaped_json_never_panics(doc in json_object(POLICY_KEYS, POLICY_STRINGS)) {
        let _ = TrustPolicyDocument::from_json(doc.to_string().as_bytes());
    }

    #[test]
    fn policy_statement_shaped_json_never_panics(
        statements in prop::collection::vec(json_object(POLICY_KEYS, POLICY_STRINGS), 1..4)
    ) {
        let doc = json!({"version": "1.0", "trustPolicies": statements});
        if let Ok(p) = TrustPolicyDocument::from_json(doc.to_string().as_bytes()) {
            let _ = p.policy_for(SCOPE);
        }
    }

    #[test]
    fn mutated_valid_policy_never_panics(edits in prop::collection::vec((any::<Index>(), edit()), 1..3)) {
        let doc = apply_edits(&valid_policy(), &edits);
        if let Ok(p) = TrustPolicyDocument::from_json(doc.to_string().as_bytes()) {
            let _ = p.policy_for(SCOPE);
        }
    }

    #[test]
    fn mutated_policy_text_never_panics(ops in byte_ops()) {
        let text = serde_json::to_vec_pretty(&valid_policy()).unwrap();
        let _ = TrustPolicyDocument::from_json(&mutate_bytes(&text, &ops));
    }

    #[test]
    fn manifest_shaped_json_never_panics(doc in json_object(MANIFEST_KEYS, MANIFEST_STRINGS)) {
        poke_manifest(doc.to_string().as_bytes());
    }

    #[test]
    fn mutated_valid_manifests_never_panic(
        edits in prop::collection::vec((any::<Index>(), edit()), 1..3),
        ops in byte_ops(),
    ) {
        for base in [valid_signature_manifest(), valid_index()] {
            let doc = apply_edits(&base, &edits);
            poke_manifest(doc.to_string().as_bytes());
            poke_manifest(&mutate_bytes(base.to_string().as_bytes(), &ops));
        }
    }

    #[test]
    fn payload_shaped_json_never_panics(doc in json_object(PAYLOAD_KEYS, MANIFEST_STRINGS)) {
        let bytes = doc.to_string().into_bytes();
        if let Ok(t) = TargetArtifact::from_payload(&bytes) {
            let _ = t.matches(&fixture().target);
        }
        let wrapped = json!({"targetArtifact": doc}).to_string().into_bytes();
        if let Ok(t) = TargetArtifact::from_payload(&wrapped) {
            let _ = t.matches(&fixture().target);
        }
    }

    #[test]
    fn envelope_shaped_json_never_panics(
        doc in json_object(&["payload", "protected", "header", "signature", "signatures", "x5c"], HEADER_STRINGS)
    ) {
        prop_assert!(verify_envelope(MEDIA_TYPE_JWS, doc.to_string().as_bytes(), &Limits::default()).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn mutated_valid_certificates_never_panic(which in 0usize..3, ops in byte_ops()) {
        let c = &fixture().chain;
        let base = [&c.leaf.der, &c.intermediate.der, &c.root.der][which];
        let der = mutate_bytes(base, &ops);
        poke_certificate(&der);
        let _ = parse_certificate_file(&der);
    }

    #[test]
    fn mutated_certificate_files_never_panic(ops in byte_ops(), pem in any::<bool>()) {
        let c = &fixture().chain;
        let file = if pem {
            format!("{}{}", c.intermediate.pem(), c.root.pem()).into_bytes()
        } else {
            [c.intermediate.der.clone(), c.root.der.clone()].concat()
        };
        if let Ok(certs) = parse_certificate_file(&mutate_bytes(&file, &ops)) {
            for cert in certs {
                poke_certificate(cert.der());
            }
        }
    }

    #[test]
    fn trust_stores_of_any_files_never_panic(
        store_type in prop::sample::select(TrustStoreType::ALL.to_vec()),
        name in prop_oneof!["[a-zA-Z0-9_.-]{1,8}", "\\PC{0,8}"],
        files in prop::collection::vec(
            prop_oneof![
                bytes(256),
                byte_ops().prop_map(|ops| mutate_bytes(&fixture().chain.root.der, &ops)),
                byte_ops().prop_map(|ops| mutate_bytes(fixture().chain.leaf.pem().as_bytes(), &ops)),
                Just(fixture().chain.root.der.clone()),
                Just(fixture().chain.leaf.der.clone()),
                Just(fixture().chain.intermediate.pem().into_bytes()),
            ],
            0..3,
        ),
    ) {
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("{i}.crt"), b))
            .collect();
        let mut store = TrustStore::new();
        if store.add_store(store_type, &name, &files).is_ok() {
            let added = store.get(store_type, &name).unwrap();
            prop_assert!(!added.certificates().is_empty());
            if store_type == TrustStoreType::Tsa {
                prop_assert!(added.certificates().iter().all(Certificate::is_self_signed));
            }
        }
    }
}

/// A protected header built from the valid one by setting or removing members, with values
/// drawn from the Notary vocabulary, then signed with the real leaf key: the signature always
/// verifies, so every header rule is exercised.
fn header_edit() -> impl Strategy<Value = (&'static str, Option<Value>)> {
    let value = prop_oneof![
        3 => prop::sample::select(HEADER_STRINGS).prop_map(|s| Value::String(s.to_owned())),
        2 => prop::collection::vec(prop::sample::select(HEADER_NAMES), 0..4)
            .prop_map(|names| json!(names)),
        1 => json_value(HEADER_NAMES, HEADER_STRINGS),
    ];
    (
        prop::sample::select(HEADER_NAMES),
        prop::option::weighted(0.8, value),
    )
}

fn x5c_variant() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let c = &fixture().chain;
    let (leaf, int, root) = (
        c.leaf.der.clone(),
        c.intermediate.der.clone(),
        c.root.der.clone(),
    );
    prop_oneof![
        Just(vec![leaf.clone(), int.clone(), root.clone()]),
        Just(vec![leaf.clone(), root.clone()]),
        Just(vec![leaf.clone()]),
        Just(vec![int.clone(), leaf.clone(), root.clone()]),
        Just(vec![leaf.clone(), int.clone(), root.clone(), root.clone()]),
        (0usize..3, byte_ops()).prop_map(move |(i, ops)| {
            let mut chain = vec![leaf.clone(), int.clone(), root.clone()];
            chain[i] = mutate_bytes(&chain[i], &ops);
            chain
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn re_signed_headers_never_panic_and_verify_only_when_valid(
        edits in prop::collection::vec(header_edit(), 0..4),
    ) {
        let fx = fixture();
        let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
        for (name, value) in &edits {
            match value {
                Some(v) => { jws.set(name, v.clone()); }
                None => { jws.remove(name); }
            }
        }
        if let Ok(v) = verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()) {
            // Whatever was accepted still obeys the scheme and crit rules.
            let crit = jws.protected.iter().find(|(k, _)| k == "crit").map(|(_, v)| v.clone());
            let crit = crit.unwrap_or_default();
            prop_assert!(crit.as_array().is_some_and(|c| c.contains(&json!("io.cncf.notary.signingScheme"))));
            if let (Some(e), Some(s)) = (v.signer_info.expiry, v.signer_info.scheme_time()) {
                prop_assert!(e > s);
            }
            prop_assert!(!jws.protected.iter().any(|(k, _)| k == "io.cncf.notary.verificationPlugin"));
        }
    }

    #[test]
    fn raw_protected_headers_never_panic(text in json_tokens()) {
        let fx = fixture();
        let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
        jws.raw_protected = Some(String::from_utf8_lossy(&text).into_owned());
        prop_assert!(verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()).is_err());
    }

    #[test]
    fn odd_unprotected_headers_never_panic(
        x5c in x5c_variant(),
        extra in prop::collection::vec((json_key(HEADER_NAMES), json_value(HEADER_NAMES, HEADER_STRINGS)), 0..3),
        timestamp in prop::option::of(bytes(64)),
    ) {
        let fx = fixture();
        let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
        jws.x5c = x5c;
        jws.unprotected = extra;
        jws.timestamp = timestamp;
        let envelope = jws.sign();
        if let Ok(v) = verify_envelope(MEDIA_TYPE_JWS, &envelope, &Limits::default()) {
            // Only the exact, well-formed chain gets through integrity.
            let ders: Vec<&[u8]> = v.signer_info.certificate_chain.iter().map(Certificate::der).collect();
            let c = &fx.chain;
            prop_assert_eq!(ders, vec![&c.leaf.der[..], &c.intermediate.der[..], &c.root.der[..]]);
        }
        let policy = TrustPolicyDocument::from_json(policy_json("*").as_bytes()).unwrap();
        let store = root_store();
        let verifier = Verifier::new(&policy, &store, &NoRevocationData, Limits::default()).unwrap();
        let _ = verify_one(&verifier, &envelope);
    }

    #[test]
    fn signed_odd_payloads_never_panic_and_never_match_another_target(
        doc in prop_oneof![
            json_object(PAYLOAD_KEYS, MANIFEST_STRINGS),
            json_object(PAYLOAD_KEYS, MANIFEST_STRINGS).prop_map(|t| json!({"targetArtifact": t})),
        ],
    ) {
        let fx = fixture();
        let jws = Jws::new(&fx.chain, doc.to_string().into_bytes());
        let policy = TrustPolicyDocument::from_json(policy_json("*").as_bytes()).unwrap();
        let store = root_store();
        let verifier = Verifier::new(&policy, &store, &NoRevocationData, Limits::default()).unwrap();
        prop_assert!(verify_one(&verifier, &jws.sign()).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// 2. A valid envelope with any single byte flipped never verifies.
// ---------------------------------------------------------------------------------------------

/// Flips every byte of `envelope` with each of `masks(position)` and returns, per outcome, how
/// many flips ended there. Panics on the first flip that still verifies.
fn flip_every_byte(
    envelope: &[u8],
    identity: &str,
    masks: fn(usize) -> [u8; 3],
) -> BTreeMap<String, usize> {
    let policy = TrustPolicyDocument::from_json(policy_json(identity).as_bytes()).unwrap();
    let store = root_store();
    let verifier = Verifier::new(&policy, &store, &NoRevocationData, Limits::default()).unwrap();
    verify_one(&verifier, envelope).expect("the unflipped envelope verifies");

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let positions: Vec<usize> = (0..envelope.len()).collect();
    let chunks: Vec<&[usize]> = positions.chunks(envelope.len().div_ceil(threads)).collect();
    let tallies = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let verifier = &verifier;
                s.spawn(move || {
                    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
                    let mut flipped = envelope.to_vec();
                    for &i in chunk {
                        for mask in masks(i) {
                            flipped[i] ^= mask;
                            let outcome = match verify_one(verifier, &flipped) {
                                Ok(_) => panic!(
                                    "flipping byte {i} ({:?}) with {mask:#04x} still verifies; context {:?}",
                                    char::from(envelope[i]),
                                    String::from_utf8_lossy(
                                        &envelope[i.saturating_sub(24)..(i + 24).min(envelope.len())]
                                    )
                                ),
                                Err(r) => match r.reports.first().and_then(|r| r.failure()) {
                                    Some(c) => c.check.to_string(),
                                    None => format!("{:?}", r.reason),
                                },
                            };
                            *tally.entry(outcome).or_default() += 1;
                            flipped[i] ^= mask;
                        }
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut total = BTreeMap::new();
    for t in tallies {
        for (k, v) in t {
            *total.entry(k).or_default() += v;
        }
    }
    total
}

/// Three masks per position: the low bit (turns a base64 character into its neighbour), one
/// other low bit that rotates with the position (so every bit 1–6 is used across the
/// envelope), and the high bit (never ASCII, so never valid JSON or base64).
fn three_masks(i: usize) -> [u8; 3] {
    [0x01, 0x02 << (i % 6), 0x80]
}

#[test]
fn every_single_byte_flip_of_a_valid_envelope_is_rejected() {
    let fx = fixture();
    let tally = flip_every_byte(&fx.envelope, LEAF_IDENTITY, three_masks);
    let flips: usize = tally.values().sum();
    assert_eq!(flips, fx.envelope.len() * 3);
    eprintln!(
        "{} bytes, {flips} flips, all rejected: {tally:?}",
        fx.envelope.len()
    );
}

/// The same property, sampled, for the other envelope shapes: an RSA-PSS leaf, a
/// signing-authority envelope, and one with an expiry; each flip goes through the `Verifier`
/// with a policy that trusts all three.
#[test]
fn random_byte_flips_of_other_envelopes_are_rejected() {
    let fx = fixture();
    let rsa = Chain::new(KeyKind::Rsa2048);
    let mut sa = Jws::new(&fx.chain, target_payload(&fx.target));
    sa.signing_authority("2025-01-01T00:00:00Z");
    let mut expiring = Jws::new(&fx.chain, target_payload(&fx.target));
    expiring.expiry("2099-01-01T00:00:00Z");
    let envelopes = [
        Jws::new(&rsa, target_payload(&fx.target)).sign(),
        sa.sign(),
        expiring.sign(),
    ];
    let policy = TrustPolicyDocument::from_json(
        json!({"version": "1.0", "trustPolicies": [{
            "name": "all", "registryScopes": [SCOPE],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:root", "signingAuthority:root"],
            "trustedIdentities": [LEAF_IDENTITY],
        }]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let mut store = TrustStore::new();
    let roots = [
        ("a.der".to_owned(), fx.chain.root.der.clone()),
        ("b.der".to_owned(), rsa.root.der.clone()),
    ];
    store.add_store(TrustStoreType::Ca, "root", &roots).unwrap();
    store
        .add_store(TrustStoreType::SigningAuthority, "root", &roots[..1])
        .unwrap();
    let verifier = Verifier::new(&policy, &store, &NoRevocationData, Limits::default()).unwrap();
    for e in &envelopes {
        verify_one(&verifier, e).expect("the unflipped envelope verifies");
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(96));
    runner
        .run(&(0usize..3, any::<Index>(), 1u8..), |(shape, at, mask)| {
            let mut env = envelopes[shape].clone();
            let i = at.index(env.len());
            env[i] ^= mask;
            prop_assert!(
                verify_one(&verifier, &env).is_err(),
                "shape {} byte {} mask {:#04x} verifies",
                shape,
                i,
                mask
            );
            Ok(())
        })
        .unwrap();
}

/// The bug the flip test found: the outer `signatureAlgorithm` of a certificate is not covered
/// by its signature, and its RSA `NULL` parameters could be changed (05 00 → 04 00) without
/// breaking the chain, so a flipped envelope still verified. RFC 5280 §4.1.1.2 and Go's parser
/// require it to equal the TBSCertificate's `signature` field byte for byte.
#[test]
fn outer_signature_algorithm_that_differs_from_the_signed_one_is_rejected() {
    let fx = fixture();
    let tampered = |der: &[u8]| -> Vec<u8> {
        // Outer SEQUENCE header, then the TBSCertificate, then the outer AlgorithmIdentifier.
        let outer_header = 2 + usize::from(der[1] & 0x7f) * usize::from(der[1] > 0x80);
        let tbs_len_bytes = usize::from(der[outer_header + 1] & 0x7f);
        let tbs_len = der[outer_header + 2..outer_header + 2 + tbs_len_bytes]
            .iter()
            .fold(0usize, |acc, b| acc * 256 + usize::from(*b));
        let alg = outer_header + 2 + tbs_len_bytes + tbs_len;
        let alg_len = usize::from(der[alg + 1]);
        let alg_end = alg + 2 + alg_len;
        // sha256WithRSAEncryption with NULL parameters.
        assert_eq!(
            &der[alg..alg_end],
            &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
                0x00
            ]
        );
        let mut out = der.to_vec();
        out[alg_end - 2] = 0x04;
        out
    };
    for der in [
        &fx.chain.leaf.der,
        &fx.chain.intermediate.der,
        &fx.chain.root.der,
    ] {
        let bad = tampered(der);
        assert!(Certificate::from_der(der).is_ok());
        assert!(matches!(
            Certificate::from_der(&bad),
            Err(CertificateError::SignatureAlgorithmMismatch { .. })
        ));
    }
    // In an envelope: the intermediate's outer algorithm changed.
    let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
    jws.x5c[1] = tampered(&fx.chain.intermediate.der);
    assert!(matches!(
        verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()),
        Err(EnvelopeError::Certificate {
            index: 1,
            error: CertificateError::SignatureAlgorithmMismatch { .. }
        })
    ));
    // In a trust store.
    let mut store = TrustStore::new();
    assert!(matches!(
        store.add_store(
            TrustStoreType::Ca,
            "root",
            &[("root.der".into(), tampered(&fx.chain.root.der))]
        ),
        Err(TrustStoreError::BadFile { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// 3. OCI layouts and trust stores on disk, through `cli::verify`.
// ---------------------------------------------------------------------------------------------

struct LayoutFixture {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    layout: PathBuf,
    image: Desc,
    signature_manifest: Desc,
    envelope: Desc,
    referrers: Desc,
}

impl LayoutFixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config");
        let store = config.join("truststore/x509/ca/root");
        fs::create_dir_all(&store).unwrap();
        fs::write(store.join("root.pem"), fixture().chain.root.pem()).unwrap();
        fs::write(config.join("trustpolicy.json"), policy_json(LEAF_IDENTITY)).unwrap();

        let layout = tmp.path().join("layout");
        let mut w = LayoutWriter::new(&layout);
        let image = w.image("v1", b"layer content");
        let envelope_bytes = Jws::new(
            &fixture().chain,
            payload_for(&image.media_type, &image.digest, image.size, &[]),
        )
        .sign();
        let signature_manifest = w.sign(
            &image,
            MEDIA_TYPE_JWS,
            &envelope_bytes,
            SignatureForm::Legacy,
        );
        w.finish(Some(&image));
        let envelope = Desc {
            media_type: MEDIA_TYPE_JWS.into(),
            digest: sha256(&envelope_bytes),
            size: envelope_bytes.len() as u64,
        };
        let index: Value =
            serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
        let entry = &index["manifests"][1];
        let referrers = Desc {
            media_type: INDEX.into(),
            digest: entry["digest"].as_str().unwrap().into(),
            size: entry["size"].as_u64().unwrap(),
        };
        Self {
            _tmp: tmp,
            config,
            layout,
            image,
            signature_manifest,
            envelope,
            referrers,
        }
    }

    fn args(&self) -> VerifyArgs {
        VerifyArgs::for_layout(
            &format!("{}:v1", self.layout.display()),
            SCOPE,
            self.config.clone(),
        )
    }

    fn blob(&self, d: &Desc) -> PathBuf {
        self.layout
            .join("blobs/sha256")
            .join(d.digest.trim_start_matches("sha256:"))
    }

    fn store_dir(&self) -> PathBuf {
        self.config.join("truststore/x509/ca/root")
    }

    fn run(&self) -> Verdict {
        self.run_with(&self.args())
    }

    fn run_with(&self, args: &VerifyArgs) -> Verdict {
        let outcome = cli::verify(args, now());
        if let Ok(o) = &outcome {
            // Both renderers must cope with whatever happened.
            let _ = cli::render(o, OutputFormat::Text);
            let _ = cli::render(o, OutputFormat::Json);
        }
        Verdict::of(outcome, &self.image)
    }
}

#[derive(Debug)]
enum Verdict {
    Accepted,
    Rejected(RejectReason),
    Error(String),
}

impl Verdict {
    /// Classifies an outcome, failing the test if anything but `signed` was accepted.
    fn of(outcome: Result<VerifyOutcome, VerifyCommandError>, signed: &Desc) -> Self {
        match outcome {
            Ok(VerifyOutcome { result: Ok(v), .. }) => {
                let t = v.target();
                assert_eq!(
                    (t.media_type.as_str(), t.digest.as_str(), t.size),
                    (
                        signed.media_type.as_str(),
                        signed.digest.as_str(),
                        signed.size
                    ),
                    "accepted something other than the signed artifact"
                );
                assert!(!v.is_skipped());
                Verdict::Accepted
            }
            Ok(VerifyOutcome { result: Err(r), .. }) => Verdict::Rejected(r.reason),
            Err(e) => {
                let _ = e.exit_code();
                Verdict::Error(e.to_string())
            }
        }
    }

    fn assert_not_accepted(&self, what: &str) {
        assert!(!matches!(self, Verdict::Accepted), "{what}: accepted");
    }
}

#[test]
fn the_layout_fixture_verifies() {
    let fx = LayoutFixture::new();
    assert!(matches!(fx.run(), Verdict::Accepted));
    let mut by_digest = fx.args();
    by_digest.oci_layout = Some(format!("{}@{}", fx.layout.display(), fx.image.digest));
    assert!(matches!(fx.run_with(&by_digest), Verdict::Accepted));
}

/// Counts verdicts for the report printed with `--nocapture`.
#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    rejected: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, v: &Verdict) {
        match v {
            Verdict::Accepted => self.accepted += 1,
            Verdict::Rejected(_) => self.rejected += 1,
            Verdict::Error(_) => self.errors += 1,
        }
    }
}

#[test]
fn any_index_json_never_panics_and_never_accepts_another_artifact() {
    let fx = LayoutFixture::new();
    let path = fx.layout.join("index.json");
    let original = fs::read(&path).unwrap();
    let original_value: Value = serde_json::from_slice(&original).unwrap();
    let strategy = (
        bytes(256),
        json_object(MANIFEST_KEYS, MANIFEST_STRINGS),
        byte_ops(),
        prop::collection::vec((any::<Index>(), edit()), 1..3),
        0u8..4,
    );
    let tally = RefCell::new(Tally::default());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&strategy, |(raw, shaped, ops, edits, kind)| {
            let text = match kind {
                0 => raw,
                1 => shaped.to_string().into_bytes(),
                2 => mutate_bytes(&original, &ops),
                _ => apply_edits(&original_value, &edits)
                    .to_string()
                    .into_bytes(),
            };
            fs::write(&path, &text).unwrap();
            tally.borrow_mut().add(&fx.run());
            fs::write(&path, &original).unwrap();
            Ok(())
        })
        .unwrap();
    eprintln!("index.json mutations: {:?}", tally.borrow());
}

impl LayoutFixture {
    /// Stores `bytes` as a blob.
    fn put(&self, media_type: &str, bytes: &[u8]) -> Desc {
        let d = Desc {
            media_type: media_type.into(),
            digest: sha256(bytes),
            size: bytes.len() as u64,
        };
        fs::write(self.blob(&d), bytes).unwrap();
        d
    }

    fn image_entry(&self) -> Value {
        let mut e = self.image.json();
        e["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
        e
    }

    fn signature_manifest_value(&self) -> Value {
        serde_json::from_slice(&fs::read(self.blob(&self.signature_manifest)).unwrap()).unwrap()
    }

    /// Makes `manifests` (signature manifests, in order) the image's referrers: stores each,
    /// lists them in a new referrers index and points index.json at it. `entry` may edit
    /// each referrers-index entry (its descriptor).
    fn install(&self, manifests: &[Value], entry: impl Fn(&mut Value)) {
        let entries: Vec<Value> = manifests
            .iter()
            .map(|m| {
                let d = self.put(MANIFEST, m.to_string().as_bytes());
                let mut e = d.json();
                e["artifactType"] = json!("application/vnd.cncf.notary.signature");
                entry(&mut e);
                e
            })
            .collect();
        let referrers = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
        let r = self.put(INDEX, referrers.to_string().as_bytes());
        let mut r_entry = r.json();
        r_entry["annotations"] =
            json!({"org.opencontainers.image.ref.name": self.image.digest.replace(':', "-")});
        let index = json!({"schemaVersion": 2, "mediaType": INDEX,
                           "manifests": [self.image_entry(), r_entry]});
        fs::write(self.layout.join("index.json"), index.to_string()).unwrap();
    }

    /// A signature manifest for `envelope` bytes in the artifactType form.
    fn signature_for(&self, envelope: &[u8]) -> Value {
        let env = self.put(MEDIA_TYPE_JWS, envelope);
        let mut m = self.signature_manifest_value();
        m["layers"] = json!([env.json()]);
        m
    }
}

#[test]
fn mutated_signature_manifests_never_accept_another_artifact() {
    let fx = LayoutFixture::new();
    let original = fx.signature_manifest_value();
    let tally = RefCell::new(Tally::default());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    runner
        .run(
            &prop::collection::vec((any::<Index>(), edit()), 1..3),
            |edits| {
                fx.install(&[apply_edits(&original, &edits)], |_| {});
                tally.borrow_mut().add(&fx.run());
                Ok(())
            },
        )
        .unwrap();
    eprintln!("signature manifest edits: {:?}", tally.borrow());
}

/// An edit of one referrers-index entry.
type EntryEdit = fn(&mut Value);

#[test]
fn broken_signature_manifests_and_entries_are_rejected() {
    let fx = LayoutFixture::new();
    let good = fx.signature_manifest_value();
    let layer = good["layers"][0].clone();
    let set = |path: &str, v: Value| {
        let mut m = good.clone();
        *m.pointer_mut(path).unwrap() = v;
        m
    };
    let other = fx.put("application/octet-stream", b"not an envelope");
    let cases: Vec<(&str, Value)> = vec![
        (
            "envelope size 2^40",
            set("/layers/0/size", json!(1u64 << 40)),
        ),
        (
            "envelope size u64::MAX",
            set("/layers/0/size", json!(u64::MAX)),
        ),
        (
            "envelope size one more",
            set("/layers/0/size", json!(fx.envelope.size + 1)),
        ),
        (
            "envelope size one less",
            set("/layers/0/size", json!(fx.envelope.size - 1)),
        ),
        ("envelope size zero", set("/layers/0/size", json!(0))),
        (
            "envelope digest of another blob",
            set("/layers/0/digest", json!(other.digest)),
        ),
        (
            "envelope missing",
            set("/layers/0/digest", json!(sha256(b"absent"))),
        ),
        (
            "envelope media type COSE",
            set("/layers/0/mediaType", json!(MEDIA_TYPE_COSE)),
        ),
        (
            "envelope media type unknown",
            set("/layers/0/mediaType", json!("application/json")),
        ),
        (
            "two envelopes",
            set("/layers", json!([layer.clone(), layer.clone()])),
        ),
        ("no envelope", set("/layers", json!([]))),
        (
            "subject elsewhere",
            set("/subject/digest", json!(sha256(b"elsewhere"))),
        ),
        (
            "subject size",
            set("/subject/size", json!(fx.image.size + 1)),
        ),
        (
            "subject media type",
            set("/subject/mediaType", json!(INDEX)),
        ),
        (
            "config media type",
            set("/config/mediaType", json!("application/json")),
        ),
        ("other artifact type", {
            let mut m = set(
                "/config/mediaType",
                json!("application/vnd.oci.empty.v1+json"),
            );
            m["artifactType"] = json!("application/spdx+json");
            m
        }),
    ];
    for (what, manifest) in &cases {
        fx.install(std::slice::from_ref(manifest), |_| {});
        fx.run().assert_not_accepted(what);
    }
    // The referrers-index entry itself: sizes and digests that do not fit.
    let entry_cases: [(&str, EntryEdit); 5] = [
        ("entry size 2^62", |e: &mut Value| {
            e["size"] = json!(1u64 << 62)
        }),
        ("entry size one more", |e: &mut Value| {
            e["size"] = json!(e["size"].as_u64().unwrap() + 1)
        }),
        ("entry digest absent", |e: &mut Value| {
            e["digest"] = json!(sha256(b"x"))
        }),
        ("entry digest sha512", |e: &mut Value| {
            e["digest"] = json!(format!("sha512:{}", "0".repeat(128)))
        }),
        ("entry media type", |e: &mut Value| {
            e["mediaType"] = json!("text/plain")
        }),
    ];
    for (what, edit) in &entry_cases {
        fx.install(std::slice::from_ref(&good), edit);
        fx.run().assert_not_accepted(what);
    }
    // Sanity: the untouched manifest installed the same way verifies.
    fx.install(std::slice::from_ref(&good), |_| {});
    assert!(matches!(fx.run(), Verdict::Accepted));
}

#[test]
fn truncated_and_mismatched_blobs_are_never_accepted() {
    let fx = LayoutFixture::new();
    // Blobs on the verification path; config and layer blobs are never read, because the
    // signature binds the manifest digest and content addressing binds the rest.
    let on_path = [
        ("image manifest", fx.image.clone()),
        ("referrers index", fx.referrers.clone()),
        ("signature manifest", fx.signature_manifest.clone()),
        ("envelope", fx.envelope.clone()),
    ];
    let mut tally = Tally::default();
    for (what, d) in &on_path {
        let path = fx.blob(d);
        let original = fs::read(&path).unwrap();
        let n = original.len();
        let mut variants: Vec<(String, Vec<u8>)> = vec![
            ("empty".into(), Vec::new()),
            ("half".into(), original[..n / 2].to_vec()),
            ("one byte short".into(), original[..n - 1].to_vec()),
            ("one byte more".into(), [&original[..], b" "].concat()),
            ("doubled".into(), original.repeat(2)),
        ];
        for i in [0, n / 3, n / 2, n - 1] {
            let mut b = original.clone();
            b[i] ^= 0x01;
            variants.push((format!("byte {i} flipped (digest mismatch)"), b));
        }
        for (how, bytes) in variants {
            fs::write(&path, &bytes).unwrap();
            let v = fx.run();
            v.assert_not_accepted(&format!("{what}: {how}"));
            tally.add(&v);
        }
        fs::remove_file(&path).unwrap();
        fx.run().assert_not_accepted(&format!("{what}: missing"));
        fs::create_dir(&path).unwrap();
        fx.run()
            .assert_not_accepted(&format!("{what}: a directory"));
        fs::remove_dir(&path).unwrap();
        #[cfg(unix)]
        {
            let elsewhere = fx.layout.join("elsewhere");
            fs::write(&elsewhere, [&original[..], b"\n"].concat()).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
            fx.run()
                .assert_not_accepted(&format!("{what}: symlink to other content"));
            fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            fx.run()
                .assert_not_accepted(&format!("{what}: symlink to /dev/zero"));
            fs::remove_file(&path).unwrap();
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()
            );
            // Opening a FIFO blocks until a writer comes; the reader must refuse it first.
            fx.run().assert_not_accepted(&format!("{what}: a FIFO"));
            fs::remove_file(&path).unwrap();
        }
        fs::write(&path, &original).unwrap();
        assert!(matches!(fx.run(), Verdict::Accepted), "{what} restored");
    }
    // The layer and config blobs are not on the path: breaking them changes nothing.
    let manifest: Value = serde_json::from_slice(&fs::read(fx.blob(&fx.image)).unwrap()).unwrap();
    let layer = fx.layout.join("blobs").join(
        manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .replace(':', "/"),
    );
    fs::write(&layer, b"truncated").unwrap();
    assert!(matches!(fx.run(), Verdict::Accepted));
    eprintln!("blob variants on the verification path: {tally:?}");
}

#[test]
fn huge_or_odd_declared_sizes_in_index_json_are_refused() {
    let fx = LayoutFixture::new();
    let r_entry = {
        let index: Value =
            serde_json::from_slice(&fs::read(fx.layout.join("index.json")).unwrap()).unwrap();
        index["manifests"][1].clone()
    };
    for size in [
        json!(u64::MAX),
        json!(1u64 << 40),
        json!(fx.image.size + 1),
        json!(-1),
        json!(1e3),
        json!("517"),
        json!(null),
        serde_json::from_str::<Value>("18446744073709551616").unwrap(),
    ] {
        let mut image = fx.image_entry();
        image["size"] = size.clone();
        let index = json!({"schemaVersion": 2, "manifests": [image, r_entry.clone()]});
        fs::write(fx.layout.join("index.json"), index.to_string()).unwrap();
        assert!(matches!(fx.run(), Verdict::Error(_)), "image size {size}");
    }
}

#[cfg(unix)]
#[test]
fn trust_store_and_policy_that_are_not_plain_files_are_refused() {
    use std::os::unix::fs::symlink;
    let check = |what: &str, f: &dyn Fn(&LayoutFixture)| {
        let fx = LayoutFixture::new();
        f(&fx);
        match fx.run() {
            Verdict::Error(e) => eprintln!("{what}: {e}"),
            other => panic!("{what}: {other:?}"),
        }
    };
    check("symlinked certificate file", &|fx| {
        let pem = fx.store_dir().join("root.pem");
        let real = fx.config.join("real.pem");
        fs::rename(&pem, &real).unwrap();
        symlink(&real, &pem).unwrap();
    });
    check("symlinked store directory", &|fx| {
        let dir = fx.store_dir();
        let real = fx.config.join("real-store");
        fs::rename(&dir, &real).unwrap();
        symlink(&real, &dir).unwrap();
    });
    check("subdirectory in a store", &|fx| {
        fs::create_dir(fx.store_dir().join("nested")).unwrap();
    });
    check("certificate in a subdirectory only", &|fx| {
        let nested = fx.store_dir().join("nested");
        fs::create_dir(&nested).unwrap();
        fs::rename(fx.store_dir().join("root.pem"), nested.join("root.pem")).unwrap();
    });
    check("FIFO in a store", &|fx| {
        let fifo = fx.store_dir().join("pipe.pem");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
    });
    check("symlinked policy", &|fx| {
        let p = fx.config.join("trustpolicy.json");
        let real = fx.config.join("real.json");
        fs::rename(&p, &real).unwrap();
        symlink(&real, &p).unwrap();
    });
    check("policy is a directory", &|fx| {
        let p = fx.config.join("trustpolicy.json");
        fs::remove_file(&p).unwrap();
        fs::create_dir(&p).unwrap();
    });
    check("empty store", &|fx| {
        fs::remove_file(fx.store_dir().join("root.pem")).unwrap();
    });
    check("missing store", &|fx| {
        fs::remove_dir_all(fx.store_dir()).unwrap();
    });
    check("a key, not a certificate", &|fx| {
        fs::write(
            fx.store_dir().join("root.pem"),
            fixture().chain.root.key.pkcs8_pem(),
        )
        .unwrap();
    });
    check("a leaf in a ca store", &|fx| {
        fs::write(fx.store_dir().join("root.pem"), fixture().chain.leaf.pem()).unwrap();
    });
    check("garbage policy", &|fx| {
        fs::write(fx.config.join("trustpolicy.json"), b"{\"version\":").unwrap();
    });
}

#[test]
fn a_store_of_the_wrong_certificate_rejects() {
    let fx = LayoutFixture::new();
    let other = TestCert::self_signed(
        CertSpec::ca("unrelated root", None),
        TestKey::cached(KeyKind::P256, 61),
    );
    fs::write(fx.store_dir().join("root.pem"), other.pem()).unwrap();
    assert!(matches!(
        fx.run(),
        Verdict::Rejected(RejectReason::AllSignaturesFailed)
    ));
}

// ---------------------------------------------------------------------------------------------
// 4. Caps: the input just over each is refused before it is parsed.
// ---------------------------------------------------------------------------------------------

#[test]
fn cap_envelope_bytes() {
    let env = &fixture().envelope;
    let len = env.len() as u64;
    let at = Limits {
        max_envelope_bytes: len,
        ..Limits::default()
    };
    let under = Limits {
        max_envelope_bytes: len - 1,
        ..Limits::default()
    };
    assert!(verify_envelope(MEDIA_TYPE_JWS, env, &at).is_ok());
    assert_eq!(
        verify_envelope(MEDIA_TYPE_JWS, env, &under).unwrap_err(),
        EnvelopeError::TooLarge { len, max: len - 1 }
    );
    // At the default: bytes that are not JSON at all are refused for their size, so they were
    // never handed to the parser (which would have said "malformed").
    let max = Limits::default().max_envelope_bytes;
    let big = vec![b'x'; usize::try_from(max).unwrap() + 1];
    assert_eq!(
        verify_envelope(MEDIA_TYPE_JWS, &big, &Limits::default()).unwrap_err(),
        EnvelopeError::TooLarge { len: max + 1, max }
    );
    assert!(matches!(
        verify_envelope(MEDIA_TYPE_JWS, &big[1..], &Limits::default()).unwrap_err(),
        EnvelopeError::Malformed { .. }
    ));
    // In a layout, a declared size over the cap is refused before the blob is even opened.
    let fx = LayoutFixture::new();
    let mut m = fx.signature_manifest_value();
    m["layers"][0]["size"] = json!(max + 1);
    m["layers"][0]["digest"] = json!(sha256(b"no such blob"));
    fx.install(&[m], |_| {});
    let outcome = cli::verify(&fx.args(), now()).unwrap();
    let r = outcome.result.unwrap_err();
    let detail = r.reports[0].failure().unwrap().detail.clone().unwrap();
    assert!(detail.contains("exceeds the limit"), "{detail}");
}

#[test]
fn cap_x5c_count() {
    let fx = fixture();
    let limit = Limits::default().max_chain_len;
    let with_x5c = |n: usize| {
        let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
        // Not base64: decoding any entry would fail, so a count error proves none was decoded.
        jws.unprotected = vec![("x5c".into(), json!(vec!["!"; n]))];
        verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()).unwrap_err()
    };
    assert_eq!(
        with_x5c(limit + 1),
        EnvelopeError::ChainTooLong {
            len: limit + 1,
            max: limit
        }
    );
    assert!(
        matches!(with_x5c(limit), EnvelopeError::InvalidHeader { header, .. } if header == "x5c")
    );
}

#[test]
fn cap_manifest_bytes() {
    let fx = LayoutFixture::new();
    let max = usize::try_from(Limits::default().max_manifest_bytes).unwrap();
    let index_path = fx.layout.join("index.json");
    let mut index = fs::read(&index_path).unwrap();
    // Exactly at the cap (padded with JSON whitespace): read and parsed.
    index.resize(max, b' ');
    fs::write(&index_path, &index).unwrap();
    assert!(matches!(fx.run(), Verdict::Accepted));
    // One byte over: refused without parsing (the padding is still valid JSON).
    index.push(b' ');
    fs::write(&index_path, &index).unwrap();
    match fx.run() {
        Verdict::Error(e) => assert!(e.contains("larger than the limit"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A manifest blob declared larger than the cap is refused before it is opened.
    let fx = LayoutFixture::new();
    fs::remove_file(fx.blob(&fx.image)).unwrap();
    let mut image = fx.image_entry();
    image["size"] = json!(max + 1);
    let index = json!({"schemaVersion": 2, "manifests": [image]});
    fs::write(fx.layout.join("index.json"), index.to_string()).unwrap();
    match fx.run() {
        Verdict::Error(e) => assert!(e.contains("exceeds the limit"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cap_signatures_tried() {
    let fx = fixture();
    let policy = TrustPolicyDocument::from_json(policy_json(LEAF_IDENTITY).as_bytes()).unwrap();
    let store = root_store();
    let limits = Limits {
        max_signature_attempts: 2,
        ..Limits::default()
    };
    let verifier = Verifier::new(&policy, &store, &NoRevocationData, limits).unwrap();
    let bad = SignatureInput {
        signature_digest: None,
        media_type: MEDIA_TYPE_JWS,
        envelope: b"{}",
    };
    let good = SignatureInput {
        envelope: &fx.envelope,
        ..bad
    };
    let Start::Verify(mut session) = verifier.begin(request()).unwrap() else {
        panic!("not a verifying level")
    };
    assert_eq!(session.offer(bad), Progress::Continue);
    assert_eq!(session.offer(bad), Progress::LimitReached);
    // The third signature is not looked at, even though it is valid.
    assert_eq!(session.offer(good), Progress::LimitReached);
    let r = session.finish().unwrap_err();
    assert_eq!(r.reason, RejectReason::SignatureLimitExceeded { limit: 2 });
    assert_eq!(r.reports.len(), 2);
    // Through the command line, with real signature manifests in a layout.
    let lf = LayoutFixture::new();
    let manifests = vec![
        lf.signature_for(b"{}"),
        lf.signature_for(b"[]"),
        lf.signature_for(&fs::read(lf.blob(&lf.envelope)).unwrap()),
    ];
    lf.install(&manifests, |_| {});
    let mut args = lf.args();
    args.max_signatures = 2;
    assert!(matches!(
        lf.run_with(&args),
        Verdict::Rejected(RejectReason::SignatureLimitExceeded { limit: 2 })
    ));
    args.max_signatures = 3;
    assert!(matches!(lf.run_with(&args), Verdict::Accepted));
    // The command line itself caps --max-signatures.
    use clap::Parser;
    let parse = |n: &str| {
        cli::Cli::try_parse_from([
            "notaryd",
            "verify",
            "--oci-layout",
            "d:t",
            "--scope",
            "r/a",
            "--max-signatures",
            n,
        ])
    };
    assert!(parse("10000").is_ok());
    assert!(parse("10001").is_err());
    assert!(parse("0").is_err());
}

#[test]
fn cap_trust_policy_bytes() {
    let mut doc = policy_json(LEAF_IDENTITY).into_bytes();
    doc.resize(MAX_TRUST_POLICY_BYTES, b' ');
    assert!(TrustPolicyDocument::from_json(&doc).is_ok());
    doc.push(b' ');
    assert!(matches!(
        TrustPolicyDocument::from_json(&doc),
        Err(PolicyError::TooLarge { size, limit }) if size == limit + 1
    ));
    // From disk: the file is read only up to the cap.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("trustpolicy.json");
    fs::write(&path, &doc).unwrap();
    assert!(matches!(
        notation_config::load_policy(&path),
        Err(ConfigError::TooLarge { max, .. }) if max == MAX_TRUST_POLICY_BYTES
    ));
}

#[test]
fn cap_trust_store_file_bytes() {
    let pem = fixture().chain.root.pem().into_bytes();
    let mut file = pem.clone();
    // PEM ignores text outside its sections, so padding keeps the file valid.
    file.resize(MAX_TRUST_STORE_FILE_BYTES, b'\n');
    let mut store = TrustStore::new();
    store
        .add_store(
            TrustStoreType::Ca,
            "at",
            &[("root.pem".into(), file.clone())],
        )
        .unwrap();
    file.push(b'\n');
    assert!(matches!(
        store.add_store(TrustStoreType::Ca, "over", &[("root.pem".into(), file.clone())]),
        Err(TrustStoreError::FileTooLarge { len, .. }) if len == MAX_TRUST_STORE_FILE_BYTES + 1
    ));
    // From disk.
    let fx = LayoutFixture::new();
    fs::write(fx.store_dir().join("root.pem"), &file).unwrap();
    match fx.run() {
        Verdict::Error(e) => assert!(
            e.contains(&format!("larger than {MAX_TRUST_STORE_FILE_BYTES}")),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A self-signed certificate of exactly `len` DER bytes, padded with an unknown non-critical
/// extension.
fn certificate_of_len(len: usize) -> Vec<u8> {
    let key = TestKey::cached(KeyKind::Rsa3072, 1);
    let mut pad = len.saturating_sub(1200);
    for _ in 0..8 {
        let mut spec = CertSpec::ca("padded", None);
        spec.extra = vec![(vec![1, 3, 6, 1, 4, 1, 55555, 1], vec![0u8; pad], false)];
        let der = TestCert::self_signed(spec, key.clone()).der;
        if der.len() == len {
            return der;
        }
        pad = (pad + len).checked_sub(der.len()).unwrap();
    }
    panic!("could not make a certificate of {len} bytes");
}

#[test]
fn cap_certificate_bytes() {
    let at = certificate_of_len(MAX_CERTIFICATE_BYTES);
    assert!(Certificate::from_der(&at).is_ok());
    let over = certificate_of_len(MAX_CERTIFICATE_BYTES + 1);
    assert_eq!(
        Certificate::from_der(&over).unwrap_err(),
        CertificateError::TooLarge {
            len: MAX_CERTIFICATE_BYTES + 1
        }
    );
    // Zeros would be "malformed" if they were parsed.
    assert!(matches!(
        Certificate::from_der(&vec![0; MAX_CERTIFICATE_BYTES + 1]),
        Err(CertificateError::TooLarge { .. })
    ));
    // The same cap applies inside an envelope and a trust-store file.
    let fx = fixture();
    let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
    jws.x5c[2] = over.clone();
    assert!(matches!(
        verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()),
        Err(EnvelopeError::Certificate {
            index: 2,
            error: CertificateError::TooLarge { .. }
        })
    ));
    assert!(
        parse_certificate_file(&over)
            .unwrap_err()
            .contains("more than the limit")
    );
}

/// A certificate fills its 64 KiB with thousands of extensions. They are parsed before any
/// signature is checked, so the repeated-extension check must not be quadratic (it was:
/// 18 ms per such certificate in release, 95% of it in that check; now 1 ms).
#[test]
fn certificate_with_thousands_of_extensions_is_parsed_and_repeats_are_found() {
    let key = TestKey::cached(KeyKind::P256, 62);
    let mut spec = CertSpec::ca("many extensions", None);
    spec.extra = (0..3_500u64)
        .map(|i| (vec![1, 3, 6, 1, 4, 1, 55555, i], Vec::new(), false))
        .collect();
    let der = TestCert::self_signed(spec.clone(), key.clone()).der;
    assert!(der.len() <= MAX_CERTIFICATE_BYTES);
    assert!(Certificate::from_der(&der).is_ok());
    spec.extra
        .push((vec![1, 3, 6, 1, 4, 1, 55555, 0], Vec::new(), false));
    let repeated = TestCert::self_signed(spec, key).der;
    assert!(matches!(
        Certificate::from_der(&repeated),
        Err(CertificateError::DuplicateExtension { oid, .. }) if oid == "1.3.6.1.4.1.55555.0"
    ));
}

#[test]
fn cap_crit_entries() {
    let fx = fixture();
    let with_crit = |n: usize| {
        let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
        jws.set("crit", json!(vec!["io.cncf.notary.signingScheme"; n]));
        verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default())
    };
    assert!(with_crit(MAX_CRIT_ENTRIES).is_ok());
    assert!(matches!(
        with_crit(MAX_CRIT_ENTRIES + 1),
        Err(EnvelopeError::InvalidHeader { header, .. }) if header == "crit"
    ));
}

#[test]
fn cap_descriptors_in_a_manifest() {
    let layer = json!({"mediaType": "application/octet-stream", "digest": sha256(b"x"), "size": 1});
    let manifest = |layers: usize, blobs: usize| {
        json!({"schemaVersion": 2, "mediaType": MANIFEST,
               "layers": vec![layer.clone(); layers], "blobs": vec![layer.clone(); blobs]})
        .to_string()
    };
    assert!(Manifest::parse(manifest(MAX_DESCRIPTORS, 0).as_bytes()).is_ok());
    for (layers, blobs) in [(MAX_DESCRIPTORS + 1, 0), (MAX_DESCRIPTORS, 1)] {
        assert_eq!(
            Manifest::parse(manifest(layers, blobs).as_bytes()).unwrap_err(),
            ManifestError::TooManyEntries {
                what: "manifest",
                count: MAX_DESCRIPTORS + 1,
                max: MAX_DESCRIPTORS
            }
        );
    }
}

#[test]
fn cap_json_values() {
    // A small document with more values than the budget, in each JSON entry point.
    let zeros = format!("[{}0]", "0,".repeat(MAX_JSON_VALUES));
    let fx = fixture();
    let mut jws = Jws::new(&fx.chain, target_payload(&fx.target));
    jws.unprotected = vec![("padding".into(), serde_json::from_str(&zeros).unwrap())];
    match verify_envelope(MEDIA_TYPE_JWS, &jws.sign(), &Limits::default()) {
        Err(EnvelopeError::Malformed { reason, .. }) => {
            assert_eq!(
                reason,
                JsonError::TooManyValues {
                    max: MAX_JSON_VALUES
                }
                .to_string()
            )
        }
        other => panic!("{other:?}"),
    }
    let manifest = format!(r#"{{"annotations":{{}},"x":{zeros}}}"#);
    assert!(matches!(
        Manifest::parse(manifest.as_bytes()),
        Err(ManifestError::Malformed { reason, .. }) if reason.contains("JSON values")
    ));
    let payload = format!(r#"{{"targetArtifact":{zeros}}}"#);
    assert!(
        TargetArtifact::from_payload(payload.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("JSON values")
    );
}

#[test]
fn cap_manifests_walked_in_a_layout() {
    use notaryd::layout::{MAX_NODES_WALKED, OciLayout};
    let tmp = tempfile::tempdir().unwrap();
    let w = LayoutWriter::new(tmp.path());
    // index.json lists two indexes (one file can list at most MAX_DESCRIPTORS), each listing
    // distinct manifests that do not exist: every one counts as walked, none can be read.
    let walk = |per_index: usize| {
        let sub = |tag: u8| {
            let entries: Vec<Value> = (0..per_index)
                .map(|i| {
                    let d = sha256(&[&[tag][..], &i.to_le_bytes()].concat());
                    json!({"mediaType": MANIFEST, "digest": d, "size": 1})
                })
                .collect();
            let doc = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
            w.blob(INDEX, doc.to_string().as_bytes()).json()
        };
        let index = json!({"schemaVersion": 2, "manifests": [sub(0), sub(1)]});
        fs::write(tmp.path().join("index.json"), index.to_string()).unwrap();
        OciLayout::open(tmp.path(), &Limits::default())
            .unwrap()
            .signatures(&fixture().target)
    };
    // 2 indexes + 2 x 4,999 manifests = exactly the cap.
    assert!(walk((MAX_NODES_WALKED - 2) / 2).unwrap().is_empty());
    assert!(matches!(
        walk((MAX_NODES_WALKED - 2) / 2 + 1),
        Err(LayoutError::TooManyManifests)
    ));
}

#[test]
fn cap_files_per_store() {
    let fx = LayoutFixture::new();
    let dir = fx.store_dir();
    // At the cap the files are read: the error is about an empty file's content, not the count.
    for i in 1..MAX_FILES_PER_STORE {
        fs::write(dir.join(format!("empty{i:04}.pem")), b"").unwrap();
    }
    match fx.run() {
        Verdict::Error(e) => assert!(e.contains("holds no PEM or DER certificate"), "{e}"),
        other => panic!("{other:?}"),
    }
    // One more and the directory is refused while it is listed, before any file is read.
    fs::write(dir.join("one-too-many.pem"), b"").unwrap();
    match fx.run() {
        Verdict::Error(e) => assert!(
            e.contains(&format!("holds more than {MAX_FILES_PER_STORE} files")),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cap_certificates_per_file() {
    let pem = fixture().chain.leaf.pem();
    let at = pem.repeat(MAX_CERTIFICATES_PER_FILE);
    assert_eq!(
        parse_certificate_file(at.as_bytes()).unwrap().len(),
        MAX_CERTIFICATES_PER_FILE
    );
    let over = pem.repeat(MAX_CERTIFICATES_PER_FILE + 1);
    assert_eq!(
        parse_certificate_file(over.as_bytes()).unwrap_err(),
        format!("more than {MAX_CERTIFICATES_PER_FILE} certificates")
    );
    let der = fixture()
        .chain
        .leaf
        .der
        .repeat(MAX_CERTIFICATES_PER_FILE + 1);
    assert!(parse_certificate_file(&der).is_err());
}

#[test]
fn cap_dn_attributes_in_a_policy() {
    use notaryd::verify::dn::MAX_DN_ATTRIBUTES;
    let identity = |n: usize| {
        let extra: String = (3..n).map(|i| format!(",X{i}=v")).collect();
        policy_json(&format!("x509.subject:C=US,ST=WA,O=o{extra}"))
    };
    assert!(TrustPolicyDocument::from_json(identity(MAX_DN_ATTRIBUTES).as_bytes()).is_ok());
    let e = TrustPolicyDocument::from_json(identity(MAX_DN_ATTRIBUTES + 1).as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("more than {MAX_DN_ATTRIBUTES} attributes")),
        "{e}"
    );
}

#[test]
fn error_messages_do_not_echo_megabytes_of_input() {
    // A PEM-looking file whose one "line" is 4 MiB.
    let mut pem = b"-----BEGIN ".repeat(MAX_TRUST_STORE_FILE_BYTES / 11);
    pem.truncate(MAX_TRUST_STORE_FILE_BYTES);
    let e = parse_certificate_file(&pem).unwrap_err();
    assert!(e.len() < 1024, "{} bytes of error", e.len());
    // A manifest whose size is a megabyte-long string, and a duplicate megabyte-long key.
    let long = "9".repeat(1 << 20);
    let e = Manifest::parse(
        format!(r#"{{"config":{{"mediaType":"a","digest":"b","size":"{long}"}}}}"#).as_bytes(),
    )
    .unwrap_err();
    assert!(
        e.to_string().len() < 1024,
        "{} bytes of error",
        e.to_string().len()
    );
    let e = verify_envelope(
        MEDIA_TYPE_JWS,
        format!(r#"{{"{long}":1,"{long}":1}}"#).as_bytes(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().len() < 1024,
        "{} bytes of error",
        e.to_string().len()
    );
}
