//! Verification benchmarks: `cargo bench --bench verify`.
//!
//! For a JWS RSA-3072 (PS384) signature and a COSE P-256 (ES256) signature, each with a
//! three-certificate chain whose CA keys are of the same kind, it measures:
//! - `full`: `Verifier::verify_all` — envelope parsing, certificate parsing, the §5.1 chain
//!   rules, trust store and identity matching, every policy check and the payload match;
//! - `bare`: only the signature checks that verification performs — the envelope signature
//!   plus three certificate signatures (leaf by intermediate, intermediate by root, root by
//!   itself) — straight through aws-lc-rs, keys parsed per call as the verifier does.
//!
//! It prints the median of each and their ratio (the target is ≤ 1.5). A custom harness keeps
//! the numbers in one place and needs no benchmarking framework.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use common::cose::{CoseSign1, Sig};
use common::jws::{Jws, payload_for};
use common::pki::{Chain, KeyKind};
use notaryd::verify::descriptor::{Descriptor, Digest};
use notaryd::verify::limits::Limits;
use notaryd::verify::policy::TrustPolicyDocument;
use notaryd::verify::revocation::NoRevocationData;
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::{TrustStore, TrustStoreType};
use notaryd::verify::verifier::{SignatureInput, VerificationRequest, Verifier};

/// Runs `f` in batches for about `budget`, returning the median time per call.
fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    for _ in 0..20 {
        f();
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 30 {
        let t = Instant::now();
        for _ in 0..10 {
            f();
        }
        samples.push(t.elapsed() / 10);
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn chain_of(kind: KeyKind) -> Chain {
    Chain::fresh(kind, "bench")
}

/// (to-be-signed bytes, signature, issuer key bits) of each certificate check in the chain.
fn certificate_checks(chain: &Chain) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    use der::{Decode, Encode};
    let parse = |der: &[u8]| x509_cert::Certificate::from_der(der).unwrap();
    [
        (&chain.leaf, &chain.intermediate),
        (&chain.intermediate, &chain.root),
        (&chain.root, &chain.root),
    ]
    .iter()
    .map(|(cert, issuer)| {
        let c = parse(&cert.der);
        let i = parse(&issuer.der);
        (
            c.tbs_certificate().to_der().unwrap(),
            c.signature().raw_bytes().to_vec(),
            i.tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes()
                .to_vec(),
        )
    })
    .collect()
}

struct Case {
    name: &'static str,
    media_type: &'static str,
    envelope: Vec<u8>,
    chain: Chain,
    /// Envelope signing input and signature, for the bare check.
    envelope_check: (Vec<u8>, Vec<u8>),
    envelope_alg: &'static dyn VerificationAlgorithm,
    cert_alg: &'static dyn VerificationAlgorithm,
}

fn target() -> Descriptor {
    Descriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap(),
        size: 517,
        artifact_type: None,
        platform: None,
        annotations: Default::default(),
    }
}

fn main() {
    // `cargo test --all-targets` runs this harness-less binary without `--bench`; only measure
    // under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("verify benchmark: run with `cargo bench --bench verify`");
        return;
    }
    let t = target();
    let payload = payload_for(&t.media_type, t.digest.as_str(), t.size, &[]);

    let rsa = chain_of(KeyKind::Rsa3072);
    let jws = Jws::new(&rsa, payload.clone());
    let (p, b) = jws.signing_input();
    let jws_case = Case {
        name: "JWS PS384 (RSA-3072 chain)",
        media_type: "application/jose+json",
        envelope: jws.sign(),
        envelope_check: (format!("{p}.{b}").into_bytes(), jws.signature()),
        chain: rsa,
        envelope_alg: &sig::RSA_PSS_2048_8192_SHA384,
        cert_alg: &sig::RSA_PKCS1_2048_8192_SHA256,
    };

    let ec = chain_of(KeyKind::P256);
    let mut cose = CoseSign1::new(&ec);
    cose.payload = Some(payload.clone());
    // ECDSA signatures are randomised: sign once and keep that signature for both measures.
    let cose_signature = ec.leaf.key.sign_notary(&cose.to_be_signed());
    cose.signature = Sig::Raw(cose_signature.clone());
    let cose_case = Case {
        name: "COSE ES256 (P-256 chain)",
        media_type: "application/cose",
        envelope: cose.build(),
        envelope_check: (cose.to_be_signed(), cose_signature),
        chain: ec,
        envelope_alg: &sig::ECDSA_P256_SHA256_FIXED,
        cert_alg: &sig::ECDSA_P256_SHA256_ASN1,
    };

    let now = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let policy = TrustPolicyDocument::from_json(
        br#"{"version":"1.0","trustPolicies":[{"name":"bench","registryScopes":["registry.example/app"],
        "signatureVerification":{"level":"strict"},"trustStores":["ca:bench"],
        "trustedIdentities":["x509.subject: C=US, ST=WA, O=notaryd tests"]}]}"#,
    )
    .unwrap();

    println!("notaryd verification benchmark (median per verification)");
    for case in [jws_case, cose_case] {
        let mut store = TrustStore::new();
        store
            .add_store(
                TrustStoreType::Ca,
                "bench",
                &[("root.der".into(), case.chain.root.der.clone())],
            )
            .unwrap();
        let verifier =
            Verifier::new(&policy, &store, &NoRevocationData, Limits::default()).unwrap();
        let request = VerificationRequest {
            scope: "registry.example/app".into(),
            target: t.clone(),
            user_metadata: Default::default(),
            time: now,
        };
        let input = SignatureInput {
            signature_digest: None,
            media_type: case.media_type,
            envelope: &case.envelope,
        };
        // Must verify, or the timing is meaningless.
        verifier
            .verify_all(request.clone(), [input])
            .expect("benchmark envelope verifies");

        let full = median(Duration::from_secs(3), || {
            black_box(
                verifier
                    .verify_all(black_box(request.clone()), [input])
                    .is_ok(),
            );
        });

        let env_key = case.chain.leaf.key.spki_der();
        let env_key_raw = spki_raw(&env_key);
        let certs = certificate_checks(&case.chain);
        let bare = median(Duration::from_secs(3), || {
            let (m, s) = &case.envelope_check;
            UnparsedPublicKey::new(case.envelope_alg, &env_key_raw)
                .verify(m, s)
                .unwrap();
            for (m, s, k) in &certs {
                UnparsedPublicKey::new(case.cert_alg, k)
                    .verify(m, s)
                    .unwrap();
            }
        });
        println!(
            "  {:<28} full {:>8.1} µs   bare signature checks (4) {:>8.1} µs   ratio {:.2}",
            case.name,
            full.as_secs_f64() * 1e6,
            bare.as_secs_f64() * 1e6,
            full.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

/// The subjectPublicKey bits of an SPKI (what aws-lc-rs takes for both key types).
fn spki_raw(spki: &[u8]) -> Vec<u8> {
    use der::Decode;
    let s = spki::SubjectPublicKeyInfoOwned::from_der(spki).unwrap();
    s.subject_public_key.raw_bytes().to_vec()
}
