//! Verification against a real registry — Debian's `docker-registry` (distribution 2.8, no
//! referrers API, so signatures are found through the referrers tag schema) — started per test
//! by `tests/common/registry.rs`. Images and signatures are pushed by the tests themselves.

use std::sync::Arc;
use std::time::Duration;

use notaryd::registry::client::{ClientOptions, Endpoint, RegistryClient};
use notaryd::registry::credentials::{
    Credential, CredentialSource, NoCredentials, StaticCredentials,
};
use notaryd::registry::discovery::{
    Platform, PlatformSignatures, RegistryRequest, RegistryVerification, Target, verify_in_registry,
};
use notaryd::registry::error::RegistryError;
use notaryd::verify::limits::Limits;
use notaryd::verify::policy::TrustPolicyDocument;
use notaryd::verify::revocation::NoRevocationData;
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::{TrustStore, TrustStoreType};
use notaryd::verify::verifier::{RejectReason, Verifier};
use serde_json::json;

use crate::common::cose::CoseSign1;
use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{Desc, SignatureForm};
use crate::common::pki::{Chain, KeyKind};
use crate::common::registry::{RegistryOptions, TestRegistry, TokenServerOptions};

const REPO: &str = "team/app";

struct Setup {
    chain: Chain,
    policy: TrustPolicyDocument,
    store: TrustStore,
}

fn setup(registry_host: &str) -> Setup {
    let chain = Chain::new(KeyKind::P256);
    let doc = json!({"version": "1.0", "trustPolicies": [{
        "name": "e2e",
        "registryScopes": [format!("{registry_host}/{REPO}")],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:acme"],
        "trustedIdentities": ["*"],
    }]});
    let policy = TrustPolicyDocument::from_json(doc.to_string().as_bytes()).unwrap();
    let mut store = TrustStore::new();
    store
        .add_store(
            TrustStoreType::Ca,
            "acme",
            &[("root.der".into(), chain.root.der.clone())],
        )
        .unwrap();
    Setup {
        chain,
        policy,
        store,
    }
}

fn jws_for(chain: &Chain, subject: &Desc) -> Vec<u8> {
    Jws::new(
        chain,
        payload_for(&subject.media_type, &subject.digest, subject.size, &[]),
    )
    .sign()
}

fn cose_for(chain: &Chain, subject: &Desc) -> Vec<u8> {
    let mut c = CoseSign1::new(chain);
    c.payload = Some(payload_for(
        &subject.media_type,
        &subject.digest,
        subject.size,
        &[],
    ));
    c.build()
}

fn request(scope_host: &str, target: Target) -> RegistryRequest {
    RegistryRequest {
        repository: REPO.into(),
        target,
        scope: format!("{scope_host}/{REPO}"),
        user_metadata: Default::default(),
        time: Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap(),
        platform_signatures: PlatformSignatures::Index,
        platform: Platform::parse("linux/amd64").unwrap(),
        total_timeout: Duration::from_secs(20),
    }
}

fn client(credential: Option<Credential>) -> RegistryClient {
    let source: Arc<dyn CredentialSource> = match credential {
        Some(c) => Arc::new(StaticCredentials::new(c)),
        None => Arc::new(NoCredentials),
    };
    RegistryClient::new(ClientOptions::default(), source)
}

async fn run(
    s: &Setup,
    client: &RegistryClient,
    endpoints: &[Endpoint],
    req: &RegistryRequest,
) -> Result<RegistryVerification, RegistryError> {
    let verifier =
        Verifier::new(&s.policy, &s.store, &NoRevocationData, Limits::default()).unwrap();
    verify_in_registry(client, &verifier, endpoints, req).await
}

fn tag(t: &str) -> Target {
    Target::Tag(t.into())
}

#[tokio::test]
async fn signed_image_is_accepted_by_tag_and_by_digest() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.signed_image(REPO, "v1", b"layer", &s.chain);
    let c = client(None);
    let ep = [Endpoint::upstream(&reg.host(), true)];
    let v = run(&s, &c, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    assert!(v.accepted(), "{v:?}");
    assert_eq!(v.resolved.digest.as_str(), image.digest);
    assert_eq!(v.resolved.media_type, image.media_type);
    assert_eq!(v.resolved.size, image.size);
    // Manifest by tag, referrers API (404 here), tag schema, signature manifest, envelope.
    assert_eq!(c.requests_made(), 5, "no request that is not needed");

    let by_digest =
        Target::Digest(notaryd::verify::descriptor::Digest::parse(&image.digest).unwrap());
    let v = run(&s, &client(None), &ep, &request(&reg.host(), by_digest))
        .await
        .unwrap();
    assert!(v.accepted());
}

#[tokio::test]
async fn cose_signature_in_the_artifact_type_form_is_accepted() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    reg.sign(
        REPO,
        &image,
        "application/cose",
        &cose_for(&s.chain, &image),
        SignatureForm::ArtifactType,
    );
    let v = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap();
    assert!(v.accepted(), "{v:?}");
}

#[tokio::test]
async fn unsigned_image_is_rejected_as_having_no_signature() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    reg.image(REPO, "v1", b"layer");
    let v = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap();
    let rejected = v.artifact.unwrap().unwrap_err();
    assert_eq!(rejected.reason, RejectReason::NoSignature);
}

#[tokio::test]
async fn tampered_envelope_served_by_the_registry_is_an_error_not_a_rejection() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    let envelope = jws_for(&s.chain, &image);
    reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &envelope,
        SignatureForm::Legacy,
    );
    // The registry now serves other bytes under the envelope's digest.
    let digest = crate::common::layout::sha256(&envelope);
    let mut forged = envelope.clone();
    let mid = forged.len() / 2;
    forged[mid] ^= 1;
    reg.overwrite_blob(&digest, &forged);
    // Bytes that do not match their digest are the registry's fault (issue 15): an error
    // naming the URL, never a rejection (which a daemon would cache).
    let e = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, RegistryError::DigestMismatch { url, .. } if url.contains(&digest)),
        "{e}"
    );
    assert!(e.to_string().contains("does not match"), "{e}");
}

#[tokio::test]
async fn signature_for_another_image_does_not_count() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    let other = reg.image(REPO, "v2", b"other layer");
    // A signature whose payload names v2, attached to v1.
    reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &other),
        SignatureForm::Legacy,
    );
    let v = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap();
    let rejected = v.artifact.unwrap().unwrap_err();
    assert_eq!(
        rejected.reports[0].failure().unwrap().check,
        notaryd::verify::verifier::Check::TargetArtifact
    );
}

#[tokio::test]
async fn the_verdict_is_bound_to_the_digest_the_tag_resolved_to() {
    // A tag that moves after verification does not move the verdict: it names the digest
    // that was verified, which is what the pull must use; verifying the tag again judges the
    // new content.
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.signed_image(REPO, "v1", b"layer", &s.chain);
    let ep = [Endpoint::upstream(&reg.host(), true)];
    let first = run(&s, &client(None), &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    let verified = first.artifact.unwrap().unwrap();
    assert_eq!(verified.target().digest.as_str(), image.digest);
    let moved = reg.image(REPO, "v1", b"unsigned replacement");
    assert_ne!(moved.digest, image.digest);
    let second = run(&s, &client(None), &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    assert_eq!(second.resolved.digest.as_str(), moved.digest);
    assert_eq!(
        second.artifact.unwrap().unwrap_err().reason,
        RejectReason::NoSignature
    );
}

#[tokio::test]
async fn wrong_bytes_for_the_image_manifest_are_refused() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    let other = reg.image(REPO, "v2", b"another");
    // Serve v2's manifest bytes under v1's digest: the tag still resolves to v1's digest.
    let bytes = reg.manifest("GET", REPO, &other.digest).body;
    reg.overwrite_blob(&image.digest, &bytes);
    let err = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn registry_down_is_a_network_error_never_no_signature() {
    let mut reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let host = reg.host();
    reg.stop();
    let err = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&host, true)],
        &request(&host, tag("v1")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::Network { .. }), "{err}");
    assert!(err.is_unavailable());
}

#[tokio::test]
async fn basic_auth_with_the_right_credentials_is_accepted_and_wrong_ones_refused() {
    let reg = TestRegistry::start(RegistryOptions::basic("alice", "s3cret"));
    let s = setup(&reg.host());
    reg.signed_image(REPO, "v1", b"layer", &s.chain);
    let ep = [Endpoint::upstream(&reg.host(), true)];
    let right = client(Some(Credential::Basic {
        username: "alice".into(),
        password: "s3cret".into(),
    }));
    assert!(
        run(&s, &right, &ep, &request(&reg.host(), tag("v1")))
            .await
            .unwrap()
            .accepted()
    );
    let wrong = client(Some(Credential::Basic {
        username: "alice".into(),
        password: "nope".into(),
    }));
    let err = run(&s, &wrong, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let none = client(None);
    let err = run(&s, &none, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
}

#[tokio::test]
async fn bearer_token_is_fetched_once_per_scope_and_reused() {
    let reg = TestRegistry::start(RegistryOptions::token(
        TokenServerOptions::with_credentials("bob", "pw"),
    ));
    let s = setup(&reg.host());
    reg.signed_image(REPO, "v1", b"layer", &s.chain);
    let c = client(Some(Credential::Basic {
        username: "bob".into(),
        password: "pw".into(),
    }));
    let ep = [Endpoint::upstream(&reg.host(), true)];
    let v = run(&s, &c, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    assert!(v.accepted(), "{v:?}");
    assert_eq!(
        reg.token_server().unwrap().request_count(),
        1,
        "one token for the whole verification"
    );
    // The first request learns the challenge (401), then every request carries the token.
    assert_eq!(c.requests_made(), 1 + 1 + 5);
    // A second verification with the same client reuses the cached token.
    run(&s, &c, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    assert_eq!(reg.token_server().unwrap().request_count(), 1);
}

#[tokio::test]
async fn expired_token_is_refreshed() {
    let mut options = TokenServerOptions::with_credentials("bob", "pw");
    options.expires_in = 1;
    let reg = TestRegistry::start(RegistryOptions::token(options));
    let s = setup(&reg.host());
    reg.signed_image(REPO, "v1", b"layer", &s.chain);
    let c = client(Some(Credential::Basic {
        username: "bob".into(),
        password: "pw".into(),
    }));
    let ep = [Endpoint::upstream(&reg.host(), true)];
    run(&s, &c, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    let before = reg.token_server().unwrap().request_count();
    // A 1 s token is never reused (it is refreshed 5 s before expiry).
    run(&s, &c, &ep, &request(&reg.host(), tag("v1")))
        .await
        .unwrap();
    assert!(reg.token_server().unwrap().request_count() > before);
}

#[tokio::test]
async fn token_service_refusing_credentials_is_unauthorized() {
    let reg = TestRegistry::start(RegistryOptions::token(
        TokenServerOptions::with_credentials("bob", "pw"),
    ));
    let s = setup(&reg.host());
    reg.image(REPO, "v1", b"layer");
    let c = client(Some(Credential::Basic {
        username: "bob".into(),
        password: "wrong".into(),
    }));
    let err = run(
        &s,
        &c,
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    // The message names the repository, not the token scope.
    assert!(
        matches!(&err, RegistryError::Unauthorized { repository, .. } if repository == REPO),
        "{err}"
    );
}

#[tokio::test]
async fn mirror_without_signatures_falls_back_to_upstream_for_them() {
    let upstream = TestRegistry::start(RegistryOptions::anonymous());
    let mirror = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&upstream.host());
    let image = upstream.image(REPO, "v1", b"layer");
    let mirrored = mirror.image(REPO, "v1", b"layer");
    assert_eq!(image.digest, mirrored.digest);
    upstream.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &image),
        SignatureForm::Legacy,
    );
    let mut mirror_ep = Endpoint::upstream(&mirror.host(), true);
    mirror_ep.is_upstream = false;
    let endpoints = [mirror_ep, Endpoint::upstream(&upstream.host(), true)];
    // The trust policy scope is the upstream name, whichever host serves.
    let v = run(
        &s,
        &client(None),
        &endpoints,
        &request(&upstream.host(), tag("v1")),
    )
    .await
    .unwrap();
    assert!(v.accepted(), "{v:?}");
    assert_eq!(v.resolved_by, mirror.host());
}

#[tokio::test]
async fn mirror_that_is_down_passes_to_upstream() {
    let upstream = TestRegistry::start(RegistryOptions::anonymous());
    let mut mirror = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&upstream.host());
    let image = upstream.image(REPO, "v1", b"layer");
    upstream.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &image),
        SignatureForm::Legacy,
    );
    let mut mirror_ep = Endpoint::upstream(&mirror.host(), true);
    mirror_ep.is_upstream = false;
    mirror.stop();
    let endpoints = [mirror_ep, Endpoint::upstream(&upstream.host(), true)];
    let v = run(
        &s,
        &client(None),
        &endpoints,
        &request(&upstream.host(), tag("v1")),
    )
    .await
    .unwrap();
    assert!(v.accepted());
    assert_eq!(v.resolved_by, upstream.host());
}

#[tokio::test]
async fn more_signatures_than_the_limit_is_a_failure() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    // A chain no store trusts (Chain::new shares its CA keys, and so its CA certificates).
    use crate::common::pki::{CertSpec, TestCert, TestKey};
    let root = TestCert::self_signed(
        CertSpec::ca("stranger root", Some(1)),
        TestKey::cached(KeyKind::P256, 51),
    );
    let intermediate = root.issue(
        CertSpec::ca("stranger intermediate", Some(0)),
        TestKey::cached(KeyKind::P256, 52),
    );
    let leaf = intermediate.issue(
        CertSpec::code_signing("stranger"),
        TestKey::cached(KeyKind::P256, 53),
    );
    let stranger = Chain {
        root,
        intermediate,
        leaf,
    };
    for _ in 0..3 {
        reg.sign(
            REPO,
            &image,
            "application/jose+json",
            &jws_for(&stranger, &image),
            SignatureForm::Legacy,
        );
    }
    reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &image),
        SignatureForm::Legacy,
    );
    let limits = Limits {
        max_signature_attempts: 2,
        ..Limits::default()
    };
    let verifier = Verifier::new(&s.policy, &s.store, &NoRevocationData, limits).unwrap();
    let v = verify_in_registry(
        &client(None),
        &verifier,
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap();
    assert_eq!(
        v.artifact.unwrap().unwrap_err().reason,
        RejectReason::SignatureLimitExceeded { limit: 2 }
    );
}

#[tokio::test]
async fn multi_platform_image_verifies_the_index_by_default_and_the_platform_when_asked() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let pushed = reg.image_index(
        REPO,
        "multi",
        &[("linux", "amd64"), ("linux", "arm64")],
        b"layer",
    );
    reg.sign(
        REPO,
        &pushed.index,
        "application/jose+json",
        &jws_for(&s.chain, &pushed.index),
        SignatureForm::Legacy,
    );
    let ep = [Endpoint::upstream(&reg.host(), true)];

    let index_only = run(&s, &client(None), &ep, &request(&reg.host(), tag("multi")))
        .await
        .unwrap();
    assert!(index_only.accepted());
    assert!(index_only.platform.is_none());
    assert_eq!(index_only.resolved.digest.as_str(), pushed.index.digest);

    // Platform mode: the amd64 manifest is not signed, so it is rejected.
    let mut req = request(&reg.host(), tag("multi"));
    req.platform_signatures = PlatformSignatures::Both;
    let both = run(&s, &client(None), &ep, &req).await.unwrap();
    assert!(!both.accepted());
    assert_eq!(
        both.platform.unwrap().unwrap_err().reason,
        RejectReason::NoSignature
    );

    // Sign the amd64 manifest too: both verdicts accept.
    let amd64 = &pushed.images[0].1;
    reg.sign(
        REPO,
        amd64,
        "application/jose+json",
        &jws_for(&s.chain, amd64),
        SignatureForm::Legacy,
    );
    let both = run(&s, &client(None), &ep, &req).await.unwrap();
    assert!(both.accepted(), "{both:?}");
    req.platform_signatures = PlatformSignatures::Platform;
    let platform = run(&s, &client(None), &ep, &req).await.unwrap();
    assert!(platform.accepted() && platform.artifact.is_none());
}

#[tokio::test]
async fn a_signature_listed_twice_is_tried_once() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    let other = reg.image(REPO, "v2", b"other");
    // A signature that fails (it names v2), listed twice in the tag-schema index.
    let sig = reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &other),
        SignatureForm::Legacy,
    );
    let mut entry = sig.json();
    entry["artifactType"] = json!("application/vnd.cncf.notary.signature");
    reg.put_referrers_index(REPO, &image.digest, &[entry.clone(), entry]);
    let v = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap();
    let rejected = v.artifact.unwrap().unwrap_err();
    assert_eq!(rejected.reports.len(), 1);
}

#[tokio::test]
async fn a_signature_manifest_of_another_size_than_listed_is_an_error() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let s = setup(&reg.host());
    let image = reg.image(REPO, "v1", b"layer");
    let sig = reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws_for(&s.chain, &image),
        SignatureForm::Legacy,
    );
    let mut entry = sig.json();
    entry["artifactType"] = json!("application/vnd.cncf.notary.signature");
    entry["size"] = json!(sig.size + 10);
    reg.put_referrers_index(REPO, &image.digest, &[entry]);
    let e = run(
        &s,
        &client(None),
        &[Endpoint::upstream(&reg.host(), true)],
        &request(&reg.host(), tag("v1")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, RegistryError::Protocol { detail, .. } if detail.contains("referrers entry says")),
        "{e}"
    );
}
