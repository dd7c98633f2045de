//! The `notaryd verify` command as an operator runs it: the real binary, the shipped example,
//! exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCOPE: &str = "registry.example/notaryd/hello";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello")
}

fn notaryd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify(extra: &[&str]) -> (i32, String, String) {
    let layout = format!("{}:v1", example().join("layout").display());
    let config = example().join("notation");
    let mut args = vec!["verify", "--oci-layout", &layout, "--scope", SCOPE];
    let config = config.to_string_lossy().into_owned();
    if !extra.contains(&"--notation-config") {
        args.extend(["--notation-config", &config]);
    }
    args.extend(extra);
    notaryd(&args)
}

#[test]
fn shipped_example_verifies() {
    let (code, out, err) = verify(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ACCEPTED"), "{out}");
    for check in [
        "integrity",
        "authenticity",
        "trustedIdentity",
        "expiry",
        "authenticTimestamp",
        "revocation",
        "targetArtifact",
    ] {
        assert!(out.contains(check), "{check} missing from\n{out}");
    }
}

#[test]
fn json_report_is_one_document_with_every_check() {
    let (code, out, _) = verify(&["--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "accepted");
    assert_eq!(v["fullyTrusted"], true);
    assert_eq!(v["trustPolicy"], "example");
    let sig = &v["signatures"][0];
    assert_eq!(sig["accepted"], true);
    assert!(
        sig["signatureDigest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(sig["checks"].as_array().unwrap().len() >= 7);
}

#[test]
fn user_metadata_is_required_when_asked_for() {
    assert_eq!(verify(&["--user-metadata", "org.example.build=42"]).0, 0);
    let (code, out, _) = verify(&["-m", "org.example.build=43"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("userMetadata"), "{out}");
}

#[test]
fn untrusted_root_is_rejected_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("truststore/x509/ca/example");
    std::fs::create_dir_all(&store).unwrap();
    let other = crate::common::pki::TestCert::self_signed(
        crate::common::pki::CertSpec::ca("someone else", None),
        crate::common::pki::TestKey::cached(crate::common::pki::KeyKind::P256, 40),
    );
    std::fs::write(store.join("other.pem"), other.pem()).unwrap();
    std::fs::copy(
        example().join("notation/trustpolicy.json"),
        tmp.path().join("trustpolicy.json"),
    )
    .unwrap();
    let (code, out, _) = verify(&["--notation-config", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("REJECTED"), "{out}");
    assert!(out.contains("authenticity"), "{out}");
}

#[test]
fn scope_without_a_policy_is_rejected() {
    let layout = format!("{}:v1", example().join("layout").display());
    let config = example().join("notation");
    let (code, out, _) = notaryd(&[
        "verify",
        "--oci-layout",
        &layout,
        "--scope",
        "registry.example/other",
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("no applicable trust policy"), "{out}");
}

#[test]
fn invalid_policy_is_a_configuration_error_naming_the_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("trustpolicy.json"),
        r#"{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"strict","override":{"integrity":"log"}},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}"#,
    )
    .unwrap();
    let (code, _, err) = verify(&["--notation-config", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("trustpolicy.json"), "{err}");
    assert!(err.contains("\"p\"") && err.contains("integrity"), "{err}");
}

#[test]
fn missing_trust_store_is_a_configuration_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        example().join("notation/trustpolicy.json"),
        tmp.path().join("trustpolicy.json"),
    )
    .unwrap();
    let (code, _, err) = verify(&["--notation-config", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ca:example"), "{err}");
}

#[test]
fn missing_configuration_directory_is_a_configuration_error() {
    let (code, _, err) = verify(&["--notation-config", "/nonexistent/notaryd"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/notaryd"), "{err}");
}

#[test]
fn unreadable_layout_exits_3() {
    let config = example().join("notation");
    let (code, _, err) = notaryd(&[
        "verify",
        "--oci-layout",
        "/nonexistent/layout:v1",
        "--scope",
        SCOPE,
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    let layout = format!("{}:v2", example().join("layout").display());
    let (code, _, err) = notaryd(&[
        "verify",
        "--oci-layout",
        &layout,
        "--scope",
        SCOPE,
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("v2"), "{err}");
}

#[test]
fn bad_usage_exits_2() {
    let config = example().join("notation");
    let (code, _, _) = notaryd(&[
        "verify",
        "--oci-layout",
        "no-tag-here",
        "--scope",
        SCOPE,
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(notaryd(&["verify", "--no-such-flag"]).0, 2);
    assert_eq!(
        notaryd(&[
            "verify",
            "--oci-layout",
            "x:v1",
            "--scope",
            SCOPE,
            "--max-signatures",
            "0"
        ])
        .0,
        2
    );
}

#[test]
fn tampered_signature_blob_is_rejected_not_accepted() {
    // Copy the example and corrupt both envelope blobs in place: their digests no longer
    // match, so each signature counts as failed and the image is rejected.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&example().join("layout"), &tmp.path().join("layout"));
    let blobs = tmp.path().join("layout/blobs/sha256");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let is_jws = bytes.windows(11).any(|w| w == b"\"protected\"");
        if is_jws || bytes.first() == Some(&0xd2) {
            let mut bad = bytes.clone();
            let mid = bad.len() / 2;
            bad[mid] ^= 1;
            std::fs::write(&path, bad).unwrap();
        }
    }
    let layout = format!("{}:v1", tmp.path().join("layout").display());
    let config = example().join("notation");
    let (code, out, _) = notaryd(&[
        "verify",
        "--oci-layout",
        &layout,
        "--scope",
        SCOPE,
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("could not be retrieved"), "{out}");
}

#[test]
fn global_skip_policy_warns() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("trustpolicy.json"),
        r#"{"version":"1.0","trustPolicies":[{"name":"anything","registryScopes":["*"],"signatureVerification":{"level":"skip"}}]}"#,
    )
    .unwrap();
    let (code, out, err) = verify(&["--notation-config", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("SKIPPED"), "{out}");
    assert!(err.contains("warning") && err.contains("anything"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn scope_with_a_tag_is_bad_usage() {
    let layout = format!("{}:v1", example().join("layout").display());
    let config = example().join("notation");
    let (code, _, err) = notaryd(&[
        "verify",
        "--oci-layout",
        &layout,
        "--scope",
        "registry.example/notaryd/hello:v1",
        "--notation-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("REGISTRY/REPOSITORY"), "{err}");
}

#[test]
fn a_tag_listed_twice_resolves_to_the_last_entry_as_oras_does() {
    use crate::common::layout::LayoutWriter;
    let tmp = tempfile::tempdir().unwrap();
    let mut w = LayoutWriter::new(tmp.path());
    let _first = w.image("v1", b"first");
    let second = w.image("v1", b"second");
    w.finish(None);
    let limits = notaryd::verify::limits::Limits::default();
    let layout = notaryd::layout::OciLayout::open(tmp.path(), &limits).unwrap();
    let r =
        notaryd::layout::LayoutReference::parse(&format!("{}:v1", tmp.path().display())).unwrap();
    assert_eq!(layout.resolve(&r).unwrap().digest.as_str(), second.digest);
}
