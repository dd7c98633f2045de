//! Regenerates the signed example under `examples/hello/`: a fresh long-lived test PKI
//! (root → intermediate → code-signing leaf, valid 2025–2125), a tiny OCI image in an OCI
//! image layout, one JWS and one COSE Notary signature on it (stored as notation stores them,
//! with the referrers tag-schema index), the trust store with the root certificate, and a
//! trust policy. Private keys live only in memory and are thrown away: the example can be
//! verified, never re-signed.
//!
//! Run from the repository root: `cargo run --example generate-example -- examples/hello`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use common::cose::{Cbor, CoseSign1};
use common::jws::{Jws, payload_for};
use common::layout::{LayoutWriter, SignatureForm};
use common::pki::{CertSpec, Chain, KeyKind, TestCert, TestKey};
use time::OffsetDateTime;

const SCOPE: &str = "registry.example/notaryd/hello";

fn main() {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("examples/hello"));
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("remove the old example");
    }
    let (not_before, not_after) = (
        OffsetDateTime::from_unix_timestamp(1_735_689_600).unwrap(), // 2025-01-01
        OffsetDateTime::from_unix_timestamp(4_891_363_200).unwrap(), // 2125-01-01
    );
    let lifetime = |mut spec: CertSpec| {
        spec.not_before = not_before;
        spec.not_after = not_after;
        spec
    };
    let mut root_spec = lifetime(CertSpec::ca("notaryd example root", Some(1)));
    let mut int_spec = lifetime(CertSpec::ca("notaryd example intermediate", Some(0)));
    let mut leaf_spec = lifetime(CertSpec::code_signing("notaryd example signer"));
    for spec in [&mut root_spec, &mut int_spec, &mut leaf_spec] {
        for (t, v) in spec.subject.iter_mut() {
            if *t == rcgen::DnType::OrganizationName {
                *v = "notaryd example".into();
            }
        }
    }
    let root = TestCert::self_signed(root_spec, TestKey::generate(KeyKind::Rsa3072));
    let intermediate = root.issue(int_spec, TestKey::generate(KeyKind::Rsa3072));
    let leaf = intermediate.issue(leaf_spec, TestKey::generate(KeyKind::Rsa3072));
    let chain = Chain {
        root,
        intermediate,
        leaf,
    };

    let layout_dir = out.join("layout");
    let mut layout = LayoutWriter::new(&layout_dir);
    let image = layout.image("v1", b"hello from notaryd\n");
    let payload = payload_for(
        &image.media_type,
        &image.digest,
        image.size,
        &[("org.example.build", "42")],
    );
    let mut jws = Jws::new(&chain, payload.clone());
    jws.set(
        "io.cncf.notary.signingTime",
        serde_json::json!("2025-06-01T12:00:00Z"),
    );
    layout.sign(
        &image,
        "application/jose+json",
        &jws.sign(),
        SignatureForm::Legacy,
    );
    let mut cose = CoseSign1::new(&chain);
    cose.payload = Some(payload);
    cose.signing_time = Some(Cbor::time(1_748_779_200)); // 2025-06-01T12:00:00Z
    layout.sign(
        &image,
        "application/cose",
        &cose.build(),
        SignatureForm::ArtifactType,
    );
    layout.finish(Some(&image));

    let store = out.join("notation/truststore/x509/ca/example");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.crt"), chain.root.pem()).unwrap();
    let policy = serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "example",
            "registryScopes": [SCOPE],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:example"],
            "trustedIdentities": ["x509.subject: C=US, ST=WA, O=notaryd example"]
        }]
    });
    std::fs::write(
        out.join("notation/trustpolicy.json"),
        serde_json::to_string_pretty(&policy).unwrap() + "\n",
    )
    .unwrap();
    println!(
        "wrote {}: image {} signed twice (JWS, COSE); verify with\n  notaryd verify --oci-layout {}:v1 --scope {SCOPE} --notation-config {}",
        out.display(),
        image.digest,
        layout_dir.display(),
        out.join("notation").display()
    );
}
