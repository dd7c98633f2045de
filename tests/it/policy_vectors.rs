//! notation's own e2e trust policies run through our loader, with a verdict for every file, and
//! identity matching against real certificates from the shared vectors.
//!
//! The vectors live outside the crate (`../shared/vectors`). When they are not checked out the
//! tests say so loudly and pass, so that the crate still builds and tests on its own — except
//! under CI (`CI` set), where they fail (`common::vectors`).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use der::Decode;
use notaryd::verify::dn::{DnError, render_go_style};
use notaryd::verify::policy::{
    IdentityError, PolicyError, TrustPolicyDocument, ValidationAction, ValidationType,
    VerifyTimestamp,
};
use rustls_pki_types::{CertificateDer, pem::PemObject};
use x509_cert::{Certificate, name::Name};

/// What we expect of one policy file.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Loads successfully.
    Valid,
    /// Is refused; our error message must contain this text.
    Invalid(&'static str),
    /// A blob policy (`trustpolicy.blob.json` schema), not an OCI one: out of scope for the
    /// verdict table. We only check that the OCI loader refuses it, as notation's would.
    Blob,
}

use Expect::{Blob, Invalid, Valid};

/// One row per file in `notation/test/e2e/testdata/config/trustpolicies`. Verdicts come from
/// the file names, notation's e2e suite (`test/e2e/suite/trustpolicy/*.go`) and notation-go's
/// `verifier/trustpolicy` validation code. None of these files hits one of our deliberate
/// differences from notation (unknown fields, duplicate keys, `null`, `.`/`..` store names,
/// empty DN values, raw `"<>` in DNs), so every verdict equals notation's.
const EXPECTATIONS: &[(&str, Expect)] = &[
    ("any_registry_scope_trust_policy.json", Valid),
    ("audit_trustpolicy.json", Valid),
    // No registryScopes and a `globalPolicy` field: the blob schema.
    ("blob_trust_policy.json", Blob),
    (
        "empty_registry_scope_trustpolicy.json",
        Invalid("registryScopes: must not be empty"),
    ),
    (
        "empty_trusted_identity_trustpolicy.json",
        Invalid("trustedIdentities[0]: must not be empty"),
    ),
    ("generate_test_trustpolicy.json", Valid),
    ("invalid_format_trustpolicy.json", Invalid("not valid JSON")),
    // Well-formed scope; "invalid" refers to the artifact it is used with in notation's e2e
    // test, which then finds no applicable policy (checked below).
    ("invalid_registry_scope_trustpolicy.json", Valid),
    // `ca:invalid_store` is a well-formed name; the store simply does not exist at verify time.
    ("invalid_trust_store_trustpolicy.json", Valid),
    // `C=USB` parses; it just never matches the e2e leaf (checked below).
    ("invalid_trusted_identity_trustpolicy.json", Valid),
    (
        "malformed_registry_scope_trustpolicy.json",
        Invalid("expected <registry>/<repository>"),
    ),
    (
        "malformed_trust_store_trustpolicy.json",
        Invalid("invalid trust store name \"\""),
    ),
    (
        "malformed_trusted_identity_trustpolicy.json",
        Invalid("has no \"<prefix>:\" separator"),
    ),
    (
        "missing_country_trusted_identity_trustpolicy.json",
        Invalid("mandatory attribute C"),
    ),
    (
        "missing_organization_trusted_identity_trustpolicy.json",
        Invalid("mandatory attribute O"),
    ),
    (
        "missing_state_trusted_identity_trustpolicy.json",
        Invalid("mandatory attribute ST"),
    ),
    (
        "multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json",
        Invalid("registry scope \"*\" is also used by statement \"e2e\""),
    ),
    (
        "multi_statements_with_the_same_name_trustpolicy.json",
        Invalid("both use the name \"e2e\""),
    ),
    (
        "multi_statements_with_the_same_registry_scope_trustpolicy.json",
        Invalid("registry scope \"localhost:5000/test-repo8\" is also used by statement \"e2e\""),
    ),
    (
        "multi_statements_with_wildcard_registry_scope_trustpolicy.json",
        Valid,
    ),
    ("multiple_registry_scope_trustpolicy.json", Valid),
    ("multiple_trust_store_trustpolicy.json", Valid),
    ("multiple_trusted_identity_trustpolicy.json", Valid),
    // The same scope twice in one statement: notation counts it as used by two statements.
    (
        "overlapped_registry_scope_trustpolicy.json",
        Invalid(
            "registryScopes[1]: registry scope \"localhost:5000/test-repo6\" is listed more than once",
        ),
    ),
    // notation does not check repeated trust stores (its e2e test for this is skipped).
    ("overlapped_trust_store_trustpolicy.json", Valid),
    (
        "overlapped_trusted_identity_trustpolicy.json",
        Invalid("overlaps with"),
    ),
    ("override_audit_trustpolicy.json", Valid),
    (
        "override_integrity_for_permissive_trustpolicy.json",
        Invalid("signatureVerification.override.integrity: integrity cannot be overridden"),
    ),
    ("override_permissive_trustpolicy.json", Valid),
    ("override_strict_trustpolicy.json", Valid),
    ("permissive_trustpolicy.json", Valid),
    ("quickstart_trustpolicy.json", Valid),
    ("registry_scope_trustpolicy.json", Valid),
    // skip with scope `*`: the spec forbids it, notation accepts it, and so do we (the caller
    // warns, see `TrustPolicy::is_global`).
    ("skip_trustpolicy.json", Valid),
    ("timestamp_after_cert_expiry_trustpolicy.json", Valid),
    ("timestamp_trustpolicy.json", Valid),
    ("trustpolicy.json", Valid),
    (
        "unset_trust_store_trustpolicy.json",
        Invalid("trustStores: level strict needs both"),
    ),
    (
        "unset_trusted_identity_trustpolicy.json",
        Invalid("trustedIdentities: level strict needs both"),
    ),
    ("valid_trusted_identity_trustpolicy.json", Valid),
    (
        "wildcard_plus_other_registry_scope_trustpolicy.json",
        Invalid("wildcard scope"),
    ),
    (
        "wildcard_plus_other_trusted_identity_trustpolicy.json",
        Invalid("wildcard identity"),
    ),
    (
        "wildcard_trust_store_trustpolicy.json",
        Invalid("trust store \"*\" is not of the form"),
    ),
];

fn vectors() -> PathBuf {
    crate::common::vectors::default_dir()
}

fn policies_dir() -> PathBuf {
    vectors().join("notation/test/e2e/testdata/config/trustpolicies")
}

/// Written straight to stderr so that it shows even when the test passes and output is captured.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The directory, or `None` after saying loudly why the test is skipped.
fn require_dir(dir: &Path) -> Option<&Path> {
    let found = crate::common::vectors::vector_path(
        "notation/test/e2e/testdata/config/trustpolicies",
        "the notation trust policy vectors",
    )?;
    assert_eq!(
        found, dir,
        "policies_dir() and require_dir name the same folder"
    );
    Some(dir)
}

fn load(file: &str) -> Result<TrustPolicyDocument, PolicyError> {
    TrustPolicyDocument::from_json(&std::fs::read(policies_dir().join(file)).unwrap())
}

#[test]
fn every_notation_e2e_policy_has_the_expected_verdict() {
    let Some(dir) = require_dir(&policies_dir()).map(Path::to_path_buf) else {
        return;
    };

    // The two blob-policy documents of the e2e data are out of scope for the OCI loader.
    let blob_dir = vectors().join("notation/test/e2e/testdata/blob/trustpolicies");
    if let Ok(entries) = std::fs::read_dir(&blob_dir) {
        for entry in entries {
            loud(&format!(
                "skipped (blob policy, not an OCI trust policy): {}",
                entry.unwrap().path().display()
            ));
        }
    }

    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();

    let mut failures = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    for file in &files {
        let Some((_, expect)) = EXPECTATIONS.iter().find(|(name, _)| name == file) else {
            failures.push(format!("{file}: no expectation in the table"));
            continue;
        };
        let result = load(file);
        match (expect, &result) {
            (Valid, Ok(_)) => ran += 1,
            (Invalid(text), Err(err)) if err.to_string().contains(text) => ran += 1,
            (Blob, Err(_)) => {
                skipped += 1;
                loud(&format!(
                    "skipped (blob policy, not an OCI trust policy): {file}"
                ));
            }
            (expect, result) => {
                failures.push(format!("{file}: expected {expect:?}, got {result:?}"));
            }
        }
    }
    for (name, _) in EXPECTATIONS {
        if !files.iter().any(|file| file == name) {
            failures.push(format!("{name}: in the table but not on disk"));
        }
    }

    crate::common::report::eprint_line(
        "conformance",
        &format!(
            "notation e2e trust policies: {ran} ran, {skipped} skipped, {} failed",
            failures.len()
        ),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn selected_vectors_mean_what_notation_e2e_expects() {
    if require_dir(&policies_dir()).is_none() {
        return;
    }
    use ValidationAction::{Enforce, Log, Skip};
    use ValidationType::{AuthenticTimestamp, Authenticity, Expiry, Integrity, Revocation};

    let skip = load("skip_trustpolicy.json").unwrap();
    let policy = skip.policy_for("localhost:5000/e2e").unwrap();
    assert!(policy.is_global());
    assert_eq!(policy.action(Integrity), Skip);

    let err = load("invalid_registry_scope_trustpolicy.json")
        .unwrap()
        .policy_for("localhost:5000/e2e")
        .unwrap_err();
    assert!(matches!(err, PolicyError::NoApplicableTrustPolicy { .. }));

    let doc = load("multi_statements_with_wildcard_registry_scope_trustpolicy.json").unwrap();
    assert_eq!(
        doc.policy_for("localhost:5000/test-repo9").unwrap().name(),
        "e2e"
    );
    assert_eq!(
        doc.policy_for("localhost:5000/other").unwrap().name(),
        "e2e2"
    );

    for (file, expected) in [
        (
            "override_strict_trustpolicy.json",
            [Enforce, Log, Log, Log, Log],
        ),
        (
            "override_permissive_trustpolicy.json",
            [Enforce, Log, Enforce, Enforce, Enforce],
        ),
        ("override_audit_trustpolicy.json", [Enforce; 5]),
        (
            "permissive_trustpolicy.json",
            [Enforce, Enforce, Log, Log, Log],
        ),
        ("audit_trustpolicy.json", [Enforce, Log, Log, Log, Log]),
    ] {
        let doc = load(file).unwrap();
        let policy = &doc.trust_policies()[0];
        let actions = [
            Integrity,
            Authenticity,
            AuthenticTimestamp,
            Expiry,
            Revocation,
        ]
        .map(|v| policy.action(v));
        assert_eq!(actions, expected, "{file}");
    }

    let doc = load("timestamp_after_cert_expiry_trustpolicy.json").unwrap();
    assert_eq!(
        doc.trust_policies()[0]
            .signature_verification()
            .verify_timestamp(),
        VerifyTimestamp::AfterCertExpiry
    );
}

fn subject_of(relative: &str) -> Option<Name> {
    let path =
        crate::common::vectors::vector_path(relative, "the notation e2e certificate subjects")?;
    let pem = std::fs::read(&path).unwrap();
    let der = CertificateDer::from_pem_slice(&pem).unwrap();
    let cert = Certificate::from_der(der.as_ref()).unwrap();
    Some(cert.tbs_certificate().subject().clone())
}

fn inline_policy(identities: &[&str]) -> TrustPolicyDocument {
    let json = serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "inline",
            "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:test"],
            "trustedIdentities": identities,
        }]
    });
    TrustPolicyDocument::from_json(json.to_string().as_bytes()).unwrap()
}

#[test]
fn identities_match_real_certificates_as_in_notation() {
    const LOCALKEYS: &str = "notation/test/e2e/testdata/config/localkeys";
    const VERIFIER: &str = "notation-go/verifier/testdata/verifier";
    let (Some(e2e), Some(new_e2e), Some(expired_e2e), Some(signing), Some(bad)) = (
        subject_of(&format!("{LOCALKEYS}/e2e.crt")),
        subject_of(&format!("{LOCALKEYS}/new_e2e.crt")),
        subject_of(&format!("{LOCALKEYS}/expired_e2e.crt")),
        subject_of(&format!("{VERIFIER}/signing-cert.pem")),
        subject_of(&format!("{VERIFIER}/bad-cert.pem")),
    ) else {
        return;
    };

    // Go's pkix.Name.String() order, whatever the DER order (expired_e2e is stored C-first
    // reversed relative to new_e2e).
    assert_eq!(
        render_go_style(&e2e),
        "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
    );
    assert_eq!(
        render_go_style(&new_e2e),
        "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"
    );
    assert_eq!(
        render_go_style(&expired_e2e),
        "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"
    );
    assert_eq!(
        render_go_style(&signing),
        "CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US"
    );
    assert_eq!(
        render_go_style(&bad),
        "CN=Bad=#CN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US"
    );

    let mut checked = 0;
    if require_dir(&policies_dir()).is_some() {
        let identities = |file: &str| {
            load(file).unwrap().trust_policies()[0]
                .trusted_identities()
                .clone()
        };
        let valid = identities("valid_trusted_identity_trustpolicy.json");
        assert_eq!(valid.check(&e2e), Ok(()));
        assert!(matches!(
            valid.check(&new_e2e),
            Err(IdentityError::NoMatch { .. })
        ));
        let invalid = identities("invalid_trusted_identity_trustpolicy.json");
        assert!(matches!(
            invalid.check(&e2e),
            Err(IdentityError::NoMatch { .. })
        ));
        let multiple = identities("multiple_trusted_identity_trustpolicy.json");
        for leaf in [&e2e, &new_e2e, &expired_e2e] {
            assert_eq!(multiple.check(leaf), Ok(()));
        }
        checked += 6;
    }

    let matching = inline_policy(&["x509.subject:C=US,ST=WA,O=SomeOrg"]);
    let identities = matching.trust_policies()[0].trusted_identities();
    assert_eq!(identities.check(&signing), Ok(()));
    // notation-go's bad-cert test: the `=#` in its CN makes the subject unparsable.
    assert!(matches!(
        identities.check(&bad),
        Err(IdentityError::UnparsableLeafSubject {
            source: DnError::HexValue,
            ..
        })
    ));
    let other = inline_policy(&["x509.subject:C=US,ST=WA,O=Other"]);
    let err = other.trust_policies()[0]
        .trusted_identities()
        .check(&signing)
        .unwrap_err();
    assert!(
        err.to_string().contains("(leaf has O=\"SomeOrg\")"),
        "{err}"
    );
    let wildcard = inline_policy(&["*"]);
    assert_eq!(
        wildcard.trust_policies()[0]
            .trusted_identities()
            .check(&bad),
        Ok(())
    );
    checked += 5;

    loud(&format!(
        "identity checks against shared-vector certificates: {checked} ran"
    ));
}
