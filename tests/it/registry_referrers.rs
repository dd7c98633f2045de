//! `verify_in_registry` end to end against the in-test distribution server with the referrers
//! API (`tests/common/fixture_registry.rs`): what distribution 2.8 cannot show — referrers
//! pages and filtering, the fallback rules, oversized and tampered content, the signature
//! limit, deadlines, retries and a registry that is down. Every test also checks the request
//! log: the client makes no request that the decision does not need.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use notaryd::registry::client::{ClientOptions, Endpoint, RegistryClient};
use notaryd::registry::credentials::NoCredentials;
use notaryd::registry::discovery::{
    Platform, PlatformSignatures, RegistryRequest, RegistryVerification, Target, verify_in_registry,
};
use notaryd::registry::error::RegistryError;
use notaryd::verify::descriptor::Digest;
use notaryd::verify::limits::Limits;
use notaryd::verify::policy::TrustPolicyDocument;
use notaryd::verify::revocation::NoRevocationData;
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::{TrustStore, TrustStoreType};
use notaryd::verify::verifier::{
    Check, CheckStatus, RejectReason, Rejected, SignatureReport, Verified, Verifier,
};
use serde_json::json;

use crate::common::cose::CoseSign1;
use crate::common::fixture_registry::{
    BodyLength, FixtureDistributionServer, LoggedRequest, ReferrersFiltering,
};
use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{Desc, MEDIA_TYPE_MANIFEST, SignatureForm, referrers_tag, sha256};
use crate::common::pki::{CertSpec, Chain, KeyKind, TestCert, TestKey};

const REPO: &str = "team/app";
const SCOPE: &str = "registry.example/team/app";
const JWS: &str = "application/jose+json";
const COSE: &str = "application/cose";
const MIB: u64 = 1024 * 1024;
/// Far over the 4 MiB manifest cap and over what loopback socket buffers absorb, so that a
/// body the client refuses early is visibly not sent whole.
const HUGE: u64 = 64 * MIB;

/// 2026-11-28T00:00:00Z, inside the test PKI's validity.
fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap()
}

/// A signature as stored: its manifest and its envelope blob's digest.
#[derive(Clone, Debug)]
struct Sig {
    manifest: Desc,
    envelope: String,
}

/// One test's world: the server, a trusted chain, the policy and store that trust it, and the
/// client settings.
struct Setup {
    server: FixtureDistributionServer,
    chain: Chain,
    untrusted: Chain,
    policy: TrustPolicyDocument,
    store: TrustStore,
    limits: Limits,
    options: ClientOptions,
    total_timeout: Duration,
    platform_signatures: PlatformSignatures,
}

impl Setup {
    fn new() -> Self {
        let chain = Chain::new(KeyKind::P256);
        let policy = TrustPolicyDocument::from_json(
            json!({
                "version": "1.0",
                "trustPolicies": [{
                    "name": "app",
                    "registryScopes": [SCOPE],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": ["ca:acme"],
                    "trustedIdentities": ["*"],
                }],
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let mut store = TrustStore::new();
        store
            .add_store(
                TrustStoreType::Ca,
                "acme",
                &[("root.der".to_owned(), chain.root.der.clone())],
            )
            .unwrap();
        Self {
            server: FixtureDistributionServer::start(),
            chain,
            untrusted: untrusted_chain(),
            policy,
            store,
            limits: Limits::default(),
            options: ClientOptions {
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(5),
                attempts: 3,
                backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(100),
                max_redirects: 10,
            },
            total_timeout: Duration::from_secs(20),
            platform_signatures: PlatformSignatures::Index,
        }
    }

    fn image(&self) -> Desc {
        self.server.image(REPO, "v1", b"app layer")
    }

    fn jws(&self, chain: &Chain, subject: &Desc, n: usize) -> Vec<u8> {
        let mut jws = Jws::new(
            chain,
            payload_for(&subject.media_type, &subject.digest, subject.size, &[]),
        );
        // Distinct bytes (and digests) for every signature of a test.
        jws.set(
            "io.cncf.notary.signingTime",
            json!(format!("2025-01-01T00:{:02}:{:02}Z", n / 60, n % 60)),
        );
        jws.sign()
    }

    fn cose(&self, subject: &Desc) -> Vec<u8> {
        let mut cose = CoseSign1::new(&self.chain);
        cose.payload = Some(payload_for(
            &subject.media_type,
            &subject.digest,
            subject.size,
            &[],
        ));
        cose.build()
    }

    fn push(&self, subject: &Desc, media_type: &str, envelope: &[u8], form: SignatureForm) -> Sig {
        let manifest = self.server.sign(REPO, subject, media_type, envelope, form);
        Sig {
            manifest,
            envelope: sha256(envelope),
        }
    }

    /// A JWS signature the policy accepts.
    fn good(&self, subject: &Desc) -> Sig {
        self.push(
            subject,
            JWS,
            &self.jws(&self.chain, subject, 0),
            SignatureForm::ArtifactType,
        )
    }

    /// The `n`-th signature by a signer no trust store holds.
    fn bad(&self, subject: &Desc, n: usize) -> Sig {
        self.push(
            subject,
            JWS,
            &self.jws(&self.untrusted, subject, n + 1),
            SignatureForm::ArtifactType,
        )
    }

    fn client(&self) -> RegistryClient {
        RegistryClient::new(self.options.clone(), Arc::new(NoCredentials))
    }

    async fn verify(&self) -> Result<RegistryVerification, RegistryError> {
        self.verify_target(Target::Tag("v1".into())).await
    }

    async fn verify_target(&self, target: Target) -> Result<RegistryVerification, RegistryError> {
        self.verify_with(&self.client(), target).await
    }

    async fn verify_with(
        &self,
        client: &RegistryClient,
        target: Target,
    ) -> Result<RegistryVerification, RegistryError> {
        let request = RegistryRequest {
            repository: REPO.into(),
            target,
            scope: SCOPE.into(),
            user_metadata: BTreeMap::new(),
            time: now(),
            platform_signatures: self.platform_signatures,
            platform: Platform::parse("linux/amd64").unwrap(),
            total_timeout: self.total_timeout,
        };
        let endpoints = [Endpoint::upstream(&self.server.host(), true)];
        self.verify_request(client, &endpoints, request).await
    }

    /// A verification of `v1` through `endpoints` (as hosts.toml made them).
    async fn verify_at(
        &self,
        endpoints: &[Endpoint],
    ) -> Result<RegistryVerification, RegistryError> {
        let request = RegistryRequest {
            repository: REPO.into(),
            target: Target::Tag("v1".into()),
            scope: SCOPE.into(),
            user_metadata: BTreeMap::new(),
            time: now(),
            platform_signatures: self.platform_signatures,
            platform: Platform::parse("linux/amd64").unwrap(),
            total_timeout: self.total_timeout,
        };
        self.verify_request(&self.client(), endpoints, request)
            .await
    }

    async fn verify_request(
        &self,
        client: &RegistryClient,
        endpoints: &[Endpoint],
        request: RegistryRequest,
    ) -> Result<RegistryVerification, RegistryError> {
        let verifier = Verifier::new(
            &self.policy,
            &self.store,
            &NoRevocationData,
            self.limits.clone(),
        )
        .unwrap();
        verify_in_registry(client, &verifier, endpoints, &request).await
    }

    fn lines(&self) -> Vec<String> {
        self.server.request_lines()
    }

    /// The log once every answer is finished (statuses and byte counts final). Waits without
    /// blocking the runtime: the client's connections close on it.
    async fn settled_log(&self) -> Vec<LoggedRequest> {
        for _ in 0..1000 {
            if self.server.is_idle() {
                return self.server.requests();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server is still answering: {:?}", self.lines());
    }
}

fn untrusted_chain() -> Chain {
    let root = TestCert::self_signed(
        CertSpec::ca("untrusted root", Some(1)),
        TestKey::cached(KeyKind::P256, 41),
    );
    let intermediate = root.issue(
        CertSpec::ca("untrusted intermediate", Some(0)),
        TestKey::cached(KeyKind::P256, 42),
    );
    let leaf = intermediate.issue(
        CertSpec::code_signing("untrusted signer"),
        TestKey::cached(KeyKind::P256, 43),
    );
    Chain {
        root,
        intermediate,
        leaf,
    }
}

// ---- request lines ----

fn manifest_path(reference: &str) -> String {
    format!("/v2/{REPO}/manifests/{reference}")
}

fn blob_path(digest: &str) -> String {
    format!("/v2/{REPO}/blobs/{digest}")
}

/// Every referrers path of the repository (a fault pattern).
fn all_referrers() -> String {
    format!("/v2/{REPO}/referrers/*")
}

fn get_manifest(reference: &str) -> String {
    format!("GET {}", manifest_path(reference))
}

fn get_blob(digest: &str) -> String {
    format!("GET {}", blob_path(digest))
}

fn get_referrers(subject: &Desc) -> String {
    format!(
        "GET /v2/{REPO}/referrers/{}?artifactType=application%2Fvnd.cncf.notary.signature",
        subject.digest
    )
}

fn get_referrers_page(subject: &Desc, page: usize) -> String {
    format!("{}&page={page}", get_referrers(subject))
}

/// The two requests that fetch one signature.
fn fetch_sig(sig: &Sig) -> [String; 2] {
    [get_manifest(&sig.manifest.digest), get_blob(&sig.envelope)]
}

// ---- verdicts ----

fn accepted(v: &RegistryVerification) -> &Verified {
    assert!(v.accepted(), "not accepted: {v:?}");
    v.artifact.as_ref().unwrap().as_ref().unwrap()
}

fn rejected(v: &RegistryVerification) -> &Rejected {
    match v.artifact.as_ref().unwrap() {
        Err(r) => r,
        Ok(ok) => panic!("accepted: {ok:?}"),
    }
}

fn digest_of(sig: &Sig) -> Option<Digest> {
    Some(Digest::parse(&sig.manifest.digest).unwrap())
}

/// The report of a signature that could not be retrieved, and its reason.
fn unavailable_detail(report: &SignatureReport) -> String {
    let failure = report.failure().expect("a failed check");
    assert_eq!(failure.check, Check::Integrity);
    assert_eq!(failure.status, CheckStatus::Failed);
    let detail = failure.detail.clone().unwrap_or_default();
    assert!(
        detail.starts_with("signature could not be retrieved"),
        "{detail}"
    );
    detail
}

fn assert_accepted_by(v: &RegistryVerification, sig: &Sig) {
    let verified = accepted(v);
    assert!(verified.is_fully_trusted());
    assert_eq!(
        verified.accepted_signature().unwrap().signature_digest,
        digest_of(sig)
    );
}

// ---------------------------------------------------------------------------------------------
// Signed and unsigned
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn signed_jws_and_cose_in_both_signature_manifest_forms_are_accepted() {
    for media_type in [JWS, COSE] {
        for form in [SignatureForm::ArtifactType, SignatureForm::Legacy] {
            let s = Setup::new();
            let image = s.image();
            let envelope = if media_type == JWS {
                s.jws(&s.chain, &image, 0)
            } else {
                s.cose(&image)
            };
            let sig = s.push(&image, media_type, &envelope, form);

            let client = s.client();
            let v = s
                .verify_with(&client, Target::Tag("v1".into()))
                .await
                .unwrap();
            assert_accepted_by(&v, &sig);
            assert_eq!(client.requests_made(), 4);
            let report = accepted(&v).accepted_signature().unwrap();
            assert_eq!(report.envelope_media_type.as_deref(), Some(media_type));
            assert_eq!(v.resolved.digest.as_str(), image.digest);
            assert_eq!(v.resolved.size, image.size);
            assert_eq!(v.resolved.media_type, MEDIA_TYPE_MANIFEST);
            // Resolve, list, one manifest, one blob: nothing else.
            let mut want = vec![get_manifest("v1"), get_referrers(&image)];
            want.extend(fetch_sig(&sig));
            assert_eq!(s.lines(), want, "{media_type} {form:?}");
            let referrers = &s.server.requests()[1];
            assert_eq!(
                referrers.header("accept"),
                Some("application/vnd.oci.image.index.v1+json")
            );

            // By digest: the same, resolved by digest.
            s.server.clear_log();
            let v = s
                .verify_target(Target::Digest(Digest::parse(&image.digest).unwrap()))
                .await
                .unwrap();
            assert_accepted_by(&v, &sig);
            assert_eq!(s.lines()[0], get_manifest(&image.digest));
            assert_eq!(s.lines().len(), 4);
        }
    }
}

/// The pre-1.1 OCI artifact manifest (`blobs`, no config), which notation-go still accepts for
/// signatures and registries of that era stored.
#[tokio::test]
async fn a_signature_in_the_oci_artifact_manifest_form_is_accepted() {
    const ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
    let s = Setup::new();
    let image = s.image();
    let envelope = s.jws(&s.chain, &image, 0);
    let env = s.server.push_blob(REPO, JWS, &envelope);
    let manifest = serde_json::to_vec(&json!({
        "mediaType": ARTIFACT_MANIFEST,
        "artifactType": "application/vnd.cncf.notary.signature",
        "blobs": [env.json()],
        "subject": image.json(),
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
    }))
    .unwrap();
    let sig = Sig {
        manifest: s
            .server
            .push_manifest(REPO, &sha256(&manifest), ARTIFACT_MANIFEST, &manifest),
        envelope: env.digest,
    };

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &sig);
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&sig));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn unsigned_image_is_no_signature() {
    let s = Setup::new();
    let image = s.image();
    // A referrer that is not a signature does not make it signed.
    s.server.attach(
        REPO,
        &image,
        "application/vnd.example.sbom+json",
        "application/json",
        b"{}",
    );
    let v = s.verify().await.unwrap();
    let r = rejected(&v);
    assert_eq!(r.reason, RejectReason::NoSignature);
    assert!(r.reports.is_empty());
    assert_eq!(s.lines(), [get_manifest("v1"), get_referrers(&image)]);
}

// ---------------------------------------------------------------------------------------------
// Pagination and filtering
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn referrers_pagination_reaches_the_good_signature_on_page_3() {
    let s = Setup::new();
    s.server.set_page_size(Some(2));
    let image = s.image();
    let bad: Vec<Sig> = (0..4).map(|n| s.bad(&image, n)).collect();
    let good = s.good(&image);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let reports = accepted(&v).reports();
    assert_eq!(reports.len(), 5);
    for (report, sig) in reports.iter().zip(&bad) {
        assert_eq!(report.signature_digest, digest_of(sig));
        assert_eq!(report.failure().unwrap().check, Check::Authenticity);
    }
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&bad[0]));
    want.extend(fetch_sig(&bad[1]));
    want.push(get_referrers_page(&image, 2));
    want.extend(fetch_sig(&bad[2]));
    want.extend(fetch_sig(&bad[3]));
    want.push(get_referrers_page(&image, 3));
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn an_early_accepted_signature_stops_paging() {
    let s = Setup::new();
    s.server.set_page_size(Some(2));
    let image = s.image();
    let bad0 = s.bad(&image, 0);
    let good = s.good(&image);
    for n in 1..6 {
        s.bad(&image, n);
    }

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    assert_eq!(accepted(&v).reports().len(), 2);
    // Page 1 only: pages 2 and 3 are never asked for.
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&bad0));
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

/// Two referrers of other artifact types (`n` makes them distinct), pushed around the
/// signatures.
fn other_referrers(s: &Setup, image: &Desc, n: usize) -> Vec<Desc> {
    vec![
        s.server.attach(
            REPO,
            image,
            "application/vnd.example.sbom+json",
            "application/json",
            format!("{{\"sbom\":{n}}}").as_bytes(),
        ),
        s.server.attach(
            REPO,
            image,
            "application/vnd.in-toto+json",
            "application/json",
            format!("{{\"attestation\":{n}}}").as_bytes(),
        ),
    ]
}

#[tokio::test]
async fn without_oci_filters_applied_the_client_filters_and_never_fetches_other_artifacts() {
    let s = Setup::new();
    s.server.set_filtering(ReferrersFiltering::Unfiltered);
    let image = s.image();
    let others = other_referrers(&s, &image, 0);
    let good = s.good(&image);
    let more = other_referrers(&s, &image, 1);
    assert_eq!(s.server.referrers(REPO, &image.digest).len(), 5);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    assert_eq!(accepted(&v).reports().len(), 1);
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
    for other in others.iter().chain(&more) {
        assert!(!s.lines().iter().any(|l| l.contains(&other.digest)));
    }
}

#[tokio::test]
async fn a_registry_that_claims_to_filter_but_does_not_is_still_filtered() {
    let s = Setup::new();
    s.server
        .set_filtering(ReferrersFiltering::LiesAboutFiltering);
    let image = s.image();
    let others = other_referrers(&s, &image, 0);
    let bad = s.bad(&image, 0);
    let good = s.good(&image);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    // The other artifacts were never offered as signatures (they would count as failures).
    assert_eq!(accepted(&v).reports().len(), 2);
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&bad));
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
    for other in &others {
        assert!(!s.lines().iter().any(|l| l.contains(&other.digest)));
    }
}

// ---------------------------------------------------------------------------------------------
// When the referrers API is missing, broken or hostile
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn name_unknown_on_referrers_is_repository_not_found_not_no_signature() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server.name_unknown(&all_referrers());

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::RepositoryNotFound { repository, .. } if repository == REPO),
        "{e:?}"
    );
    // No fallback to the tag schema.
    assert_eq!(s.lines(), [get_manifest("v1"), get_referrers(&image)]);
}

#[tokio::test]
async fn a_plain_404_on_referrers_falls_back_to_the_tag_schema() {
    let s = Setup::new();
    let image = s.image();
    let good = s.good(&image);
    s.server.put_referrers_index(
        REPO,
        &image.digest,
        &s.server.referrers(REPO, &image.digest),
    );
    s.server.fail_times(&all_referrers(), 404, 1, None);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let mut want = vec![
        get_manifest("v1"),
        get_referrers(&image),
        get_manifest(&referrers_tag(&image.digest)),
    ];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn referrers_answered_with_another_content_type_fall_back_to_the_tag_schema() {
    let s = Setup::new();
    let image = s.image();
    let good = s.good(&image);
    // The tag-schema index lists a non-signature too: always filtered on the client.
    other_referrers(&s, &image, 0);
    s.server.put_referrers_index(
        REPO,
        &image.digest,
        &s.server.referrers(REPO, &image.digest),
    );
    s.server.referrers_content_type("application/json");

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    assert_eq!(accepted(&v).reports().len(), 1);
    let mut want = vec![
        get_manifest("v1"),
        get_referrers(&image),
        get_manifest(&referrers_tag(&image.digest)),
    ];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn referrers_with_another_content_type_and_no_tag_schema_index_is_no_signature() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server.referrers_content_type("text/html");

    let v = s.verify().await.unwrap();
    assert_eq!(rejected(&v).reason, RejectReason::NoSignature);
    assert_eq!(
        s.lines(),
        [
            get_manifest("v1"),
            get_referrers(&image),
            get_manifest(&referrers_tag(&image.digest)),
        ]
    );
}

#[tokio::test]
async fn a_link_to_another_origin_is_an_error() {
    let s = Setup::new();
    let elsewhere = FixtureDistributionServer::start();
    s.server.set_page_size(Some(1));
    s.server.link_to_origin(&elsewhere.url());
    let image = s.image();
    s.bad(&image, 0);
    s.good(&image);

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Protocol { detail, .. } if detail.contains("another origin")),
        "{e:?}"
    );
    assert!(elsewhere.requests().is_empty());
    assert!(
        !s.lines()
            .iter()
            .any(|l| l.contains(&get_referrers_page(&image, 2)))
    );
}

// ---------------------------------------------------------------------------------------------
// Oversized and tampered content
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn oversized_image_manifest_is_refused_before_its_body_is_read() {
    for framing in [None, Some(BodyLength::Omitted)] {
        let s = Setup::new();
        let image = s.image();
        s.good(&image);
        s.server.oversize(&image.digest, HUGE);
        if let Some(f) = framing {
            s.server.body_length(&image.digest, f);
        }

        let e = s.verify().await.unwrap_err();
        assert!(
            matches!(&e, RegistryError::TooLarge { limit, .. } if *limit == 4 * MIB),
            "{framing:?}: {e:?}"
        );
        let log = s.settled_log().await;
        assert_eq!(log.len(), 1, "{framing:?}");
        assert_eq!(log[0].body_len, HUGE);
        assert!(
            log[0].body_sent < HUGE / 2,
            "{framing:?}: {} of {HUGE} bytes sent",
            log[0].body_sent
        );
    }
}

#[tokio::test]
async fn oversized_signature_manifest_fails_that_signature_only() {
    for framing in [None, Some(BodyLength::Omitted)] {
        let s = Setup::new();
        let image = s.image();
        let big = s.good(&image);
        let good = s.push(&image, COSE, &s.cose(&image), SignatureForm::Legacy);
        s.server.oversize(&big.manifest.digest, HUGE);
        if let Some(f) = framing {
            s.server.body_length(&big.manifest.digest, f);
        }

        let v = s.verify().await.unwrap();
        assert_accepted_by(&v, &good);
        let first = &accepted(&v).reports()[0];
        assert_eq!(first.signature_digest, digest_of(&big));
        let detail = unavailable_detail(first);
        // Read no further than the size the referrers listing gave for it.
        assert!(
            detail.contains(&format!("larger than {} bytes", big.manifest.size)),
            "{detail}"
        );
        // Its envelope is never fetched.
        let mut want = vec![
            get_manifest("v1"),
            get_referrers(&image),
            get_manifest(&big.manifest.digest),
        ];
        want.extend(fetch_sig(&good));
        assert_eq!(s.lines(), want, "{framing:?}");
        let log = s.settled_log().await;
        assert!(
            log[2].body_sent < HUGE / 2,
            "{framing:?}: {}",
            log[2].body_sent
        );
    }
}

#[tokio::test]
async fn a_signature_manifest_listed_over_the_limit_is_never_fetched() {
    let s = Setup::new();
    let image = s.image();
    // A real signature manifest of 5 MiB (a huge extra field: annotations would be copied into
    // the referrers listing), listed with its true size.
    let envelope = s.jws(&s.chain, &image, 7);
    let env = s.server.push_blob(REPO, JWS, &envelope);
    let config = s
        .server
        .push_blob(REPO, "application/vnd.oci.empty.v1+json", b"{}");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "artifactType": "application/vnd.cncf.notary.signature",
        "config": config.json(),
        "layers": [env.json()],
        "subject": image.json(),
        "padding": "x".repeat(5 * MIB as usize),
    }))
    .unwrap();
    let big = s
        .server
        .push_manifest(REPO, &sha256(&manifest), MEDIA_TYPE_MANIFEST, &manifest);
    assert!(big.size > 4 * MIB);
    let good = s.good(&image);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let first = &accepted(&v).reports()[0];
    assert_eq!(
        first.signature_digest,
        Some(Digest::parse(&big.digest).unwrap())
    );
    let detail = unavailable_detail(first);
    assert!(detail.contains("over the limit"), "{detail}");
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn a_referrers_page_over_the_manifest_cap_is_an_error() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    // Anyone who can push a referrer can make the listing huge (annotations are copied in).
    let env = s.server.push_blob(REPO, "application/json", b"{}");
    let config = s
        .server
        .push_blob(REPO, "application/vnd.oci.empty.v1+json", b"{}");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "artifactType": "application/vnd.cncf.notary.signature",
        "config": config.json(),
        "layers": [env.json()],
        "subject": image.json(),
        "annotations": {"padding": "x".repeat(5 * MIB as usize)},
    }))
    .unwrap();
    s.server
        .push_manifest(REPO, &sha256(&manifest), MEDIA_TYPE_MANIFEST, &manifest);

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::TooLarge { url, limit } if url.contains("/referrers/") && *limit == 4 * MIB),
        "{e:?}"
    );
    assert_eq!(s.lines(), [get_manifest("v1"), get_referrers(&image)]);
}

#[tokio::test]
async fn wrong_image_bytes_are_a_digest_mismatch() {
    for by_digest in [false, true] {
        let s = Setup::new();
        let image = s.image();
        s.good(&image);
        // Another image's manifest: well-formed, but not what was asked for.
        let other = s.server.image("team/other", "v1", b"another layer");
        let (_, other_bytes) = s
            .server
            .stored_manifest("team/other", &other.digest)
            .unwrap();
        s.server.serve_wrong_bytes(&image.digest, &other_bytes);

        let target = if by_digest {
            Target::Digest(Digest::parse(&image.digest).unwrap())
        } else {
            Target::Tag("v1".into())
        };
        let e = s.verify_target(target).await.unwrap_err();
        assert!(
            matches!(&e, RegistryError::DigestMismatch { expected, computed, .. }
                if expected.as_str() == image.digest && computed.as_str() == sha256(&other_bytes)),
            "{e:?}"
        );
        // Nothing is looked up for content that failed its digest.
        assert_eq!(s.lines().len(), 1);
    }
}

#[tokio::test]
async fn a_wrong_docker_content_digest_for_the_image_is_a_digest_mismatch() {
    for by_digest in [false, true] {
        let s = Setup::new();
        let image = s.image();
        s.good(&image);
        let lie = sha256(b"something else");
        s.server.wrong_digest_header(&image.digest, &lie);

        let target = if by_digest {
            Target::Digest(Digest::parse(&image.digest).unwrap())
        } else {
            Target::Tag("v1".into())
        };
        let e = s.verify_target(target).await.unwrap_err();
        assert!(
            matches!(&e, RegistryError::DigestMismatch { .. }),
            "{by_digest}: {e:?}"
        );
        assert_eq!(s.lines().len(), 1);
    }
}

#[tokio::test]
async fn a_content_length_shorter_than_the_body_is_a_digest_mismatch() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server
        .body_length(&image.digest, BodyLength::Declared(image.size - 10));

    let e = s.verify().await.unwrap_err();
    assert!(matches!(&e, RegistryError::DigestMismatch { .. }), "{e:?}");
    assert_eq!(s.lines().len(), 1);
}

#[tokio::test]
async fn a_body_cut_short_of_its_content_length_is_a_network_error() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server
        .body_length(&image.digest, BodyLength::Declared(image.size + 100));

    // A transfer that breaks off is the network's failure: the verification ends with it.
    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Network { host, .. } if *host == s.server.host()),
        "{e:?}"
    );
    assert_eq!(s.lines().len(), 1);
}

#[tokio::test]
async fn an_envelope_announced_larger_than_its_descriptor_is_an_error_unread() {
    let s = Setup::new();
    let image = s.image();
    let sig = s.good(&image);
    s.server
        .body_length(&sig.envelope, BodyLength::Declared(HUGE));

    let e = s.verify().await.unwrap_err();
    assert!(matches!(&e, RegistryError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("body larger than"), "{e}");
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&sig));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn wrong_signature_manifest_bytes_fail_that_signature() {
    let s = Setup::new();
    let image = s.image();
    let tampered = s.good(&image);
    let good = s.push(&image, COSE, &s.cose(&image), SignatureForm::ArtifactType);
    // The registry serves another valid signature manifest of the image under the first one's
    // digest (one whose envelope it holds too).
    let substitute = s.bad(&image, 3);
    let (_, substitute_bytes) = s
        .server
        .stored_manifest(REPO, &substitute.manifest.digest)
        .unwrap();
    s.server
        .serve_wrong_bytes(&tampered.manifest.digest, &substitute_bytes);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let first = &accepted(&v).reports()[0];
    assert_eq!(first.signature_digest, digest_of(&tampered));
    let detail = unavailable_detail(first);
    assert!(detail.contains("does not match"), "{detail}");
    // The substitute is listed after the good signature, which decides first: never fetched.
    let mut want = vec![
        get_manifest("v1"),
        get_referrers(&image),
        get_manifest(&tampered.manifest.digest),
    ];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn wrong_envelope_bytes_are_an_error_unless_another_signature_is_accepted() {
    let s = Setup::new();
    let image = s.image();
    let tampered = s.good(&image);
    let envelope = s.jws(&s.chain, &image, 0);
    let mut flipped = envelope.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x01;
    s.server.serve_wrong_bytes(&tampered.envelope, &flipped);

    // Alone: an error naming the envelope's URL (issue 15: bytes that do not match their
    // digest are the registry's fault, never a rejection a daemon would cache).
    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::DigestMismatch { url, .. } if url.contains(&tampered.envelope)),
        "{e:?}"
    );

    // With a second, intact signature: accepted by that one, the first one's failure in
    // its report.
    let good = s.push(&image, COSE, &s.cose(&image), SignatureForm::Legacy);
    s.server.clear_log();
    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let first = &accepted(&v).reports()[0];
    assert!(unavailable_detail(first).contains("does not match"));
    assert_eq!(first.envelope_media_type.as_deref(), Some(JWS));
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&tampered));
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
}

// ---------------------------------------------------------------------------------------------
// The signature limit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn more_referrers_than_the_signature_limit_is_signature_limit_exceeded() {
    let mut s = Setup::new();
    s.limits.max_signature_attempts = 3;
    s.server.set_page_size(Some(2));
    let image = s.image();
    let bad: Vec<Sig> = (0..5).map(|n| s.bad(&image, n)).collect();
    // A good signature after the limit is never reached.
    s.good(&image);

    let v = s.verify().await.unwrap();
    let r = rejected(&v);
    assert_eq!(r.reason, RejectReason::SignatureLimitExceeded { limit: 3 });
    assert_eq!(r.reports.len(), 3);
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&bad[0]));
    want.extend(fetch_sig(&bad[1]));
    want.push(get_referrers_page(&image, 2));
    want.extend(fetch_sig(&bad[2]));
    assert_eq!(s.lines(), want);
}

// ---------------------------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_registry_hits_the_per_request_timeout() {
    let mut s = Setup::new();
    s.options.request_timeout = Duration::from_millis(300);
    let image = s.image();
    s.good(&image);
    s.server
        .delay(&all_referrers(), Duration::from_millis(1500));

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Timeout { what, after }
            if what.contains("/referrers/") && *after == Duration::from_millis(300)),
        "{e:?}"
    );
    assert!(e.is_unavailable());
    assert_eq!(s.lines(), [get_manifest("v1"), get_referrers(&image)]);
}

#[tokio::test]
async fn a_registry_stalling_mid_body_hits_the_per_request_timeout() {
    let mut s = Setup::new();
    s.options.request_timeout = Duration::from_millis(300);
    let image = s.image();
    let sig = s.good(&image);
    s.server
        .stall_body(&blob_path(&sig.envelope), Duration::from_millis(1500));

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Timeout { after, .. } if *after == Duration::from_millis(300)),
        "{e:?}"
    );
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&sig));
    assert_eq!(s.lines(), want);
}

#[tokio::test]
async fn a_slow_registry_hits_the_total_deadline() {
    let mut s = Setup::new();
    s.options.request_timeout = Duration::from_secs(2);
    s.total_timeout = Duration::from_millis(400);
    let image = s.image();
    s.good(&image);
    // Each request is well within the per-request timeout; together they are not.
    s.server.delay("*", Duration::from_millis(150));

    let started = tokio::time::Instant::now();
    let e = s.verify().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&e, RegistryError::Timeout { what, after }
            if what.contains(SCOPE) && *after == Duration::from_millis(400)),
        "{e:?}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(s.lines().len() < 4, "{:?}", s.lines());
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rate_limited_with_retry_after_then_success_is_accepted() {
    let mut s = Setup::new();
    // A backoff longer than the total deadline: only Retry-After can make this pass in time.
    s.options.backoff = Duration::from_secs(30);
    s.options.max_backoff = Duration::from_secs(30);
    s.total_timeout = Duration::from_secs(10);
    let image = s.image();
    let good = s.good(&image);
    s.server.fail_times(&all_referrers(), 429, 1, Some("1"));

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let log = s.settled_log().await;
    let mut want = vec![
        get_manifest("v1"),
        get_referrers(&image),
        get_referrers(&image),
    ];
    want.extend(fetch_sig(&good));
    assert_eq!(s.lines(), want);
    assert_eq!(log[1].status, Some(429));
    assert_eq!(log[2].status, Some(200));
    let waited = log[2].at - log[1].at;
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test]
async fn server_errors_then_success_are_retried_and_accepted() {
    let s = Setup::new();
    let image = s.image();
    let good = s.good(&image);
    s.server
        .fail_times(&blob_path(&good.envelope), 500, 2, None);
    s.server.fail_times(&manifest_path("v1"), 503, 1, None);

    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &good);
    let log = s.settled_log().await;
    let blob = get_blob(&good.envelope);
    assert_eq!(
        s.lines(),
        [
            get_manifest("v1"),
            get_manifest("v1"),
            get_referrers(&image),
            get_manifest(&good.manifest.digest),
            blob.clone(),
            blob.clone(),
            blob,
        ]
    );
    let statuses: Vec<Option<u16>> = log.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [503, 200, 200, 200, 500, 500, 200].map(Some).to_vec()
    );
}

/// Issue 15: hosts.toml naming the registry both as `server` and as `[host."…"]` (a common
/// layout) made a failed envelope fetch "no signature", after twice the retries.
#[tokio::test]
async fn a_registry_named_as_server_and_host_fails_with_the_error_and_one_round_of_retries() {
    let s = Setup::new();
    let image = s.image();
    let good = s.good(&image);
    s.server
        .fail_times(&blob_path(&good.envelope), 500, 100, None);
    let hosts = tempfile::tempdir().unwrap();
    let host = s.server.host();
    let dir = hosts.path().join(&host);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{host}\"\n\n[host.\"http://{host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ),
    )
    .unwrap();
    let endpoints =
        notaryd::registry::endpoints::endpoints_for(hosts.path(), &host, false).unwrap();
    assert_eq!(endpoints.len(), 2, "{endpoints:?}");
    let e = s.verify_at(&endpoints).await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Status { status: 500, .. }),
        "{e:?}"
    );
    let blob = get_blob(&good.envelope);
    assert_eq!(
        s.lines(),
        [
            get_manifest("v1"),
            get_referrers(&image),
            get_manifest(&good.manifest.digest),
            blob.clone(),
            blob.clone(),
            blob,
        ]
    );
}

#[tokio::test]
async fn server_errors_beyond_the_attempts_are_an_error_never_no_signature() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server.fail_times(&all_referrers(), 500, 10, None);

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Status { status: 500, .. }),
        "{e:?}"
    );
    assert!(e.is_unavailable());
    // Three attempts, no fallback to the tag schema.
    assert_eq!(
        s.lines(),
        [
            get_manifest("v1"),
            get_referrers(&image),
            get_referrers(&image),
            get_referrers(&image),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Registry down
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_registry_that_is_down_is_a_network_error() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server.stop();

    let e = s.verify().await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Network { host, .. } if *host == s.server.host()),
        "{e:?}"
    );
    assert!(e.is_unavailable());
    assert!(s.lines().is_empty());
}

#[tokio::test]
async fn a_registry_going_down_during_discovery_is_a_network_error_never_no_signature() {
    let s = Setup::new();
    let image = s.image();
    s.good(&image);
    s.server.delay(&all_referrers(), Duration::from_millis(500));

    let client = s.client();
    let (result, ()) = tokio::join!(s.verify_with(&client, Target::Tag("v1".into())), async {
        // Down while the referrers answer is being prepared.
        while s.server.request_lines().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.server.stop();
    });
    let e = result.unwrap_err();
    assert!(matches!(&e, RegistryError::Network { .. }), "{e:?}");
    assert_eq!(s.lines(), [get_manifest("v1"), get_referrers(&image)]);
}

#[tokio::test]
async fn a_registry_going_down_mid_body_is_a_network_error_never_no_signature() {
    let s = Setup::new();
    let image = s.image();
    let sig = s.good(&image);
    s.server
        .stall_body(&blob_path(&sig.envelope), Duration::from_millis(2000));

    let client = s.client();
    let (result, ()) = tokio::join!(s.verify_with(&client, Target::Tag("v1".into())), async {
        while s.server.request_lines().len() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.server.stop();
    });
    let e = result.unwrap_err();
    assert!(
        matches!(&e, RegistryError::Network { host, .. } if *host == s.server.host()),
        "{e:?}"
    );
    let mut want = vec![get_manifest("v1"), get_referrers(&image)];
    want.extend(fetch_sig(&sig));
    assert_eq!(s.lines(), want);
}

// ---------------------------------------------------------------------------------------------
// Multi-platform images
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_multi_arch_index_is_verified_by_the_index_signature_and_optionally_the_platform() {
    let mut s = Setup::new();
    let pushed = s.server.image_index(
        REPO,
        "v1",
        &[("linux", "amd64"), ("linux", "arm64")],
        b"multi",
    );
    let index_sig = s.good(&pushed.index);
    let amd64 = &pushed.images[0].1;

    // The default: the index's signature, and no request about the platform manifests.
    let v = s.verify().await.unwrap();
    assert_accepted_by(&v, &index_sig);
    assert!(v.platform.is_none());
    assert_eq!(v.resolved.digest.as_str(), pushed.index.digest);
    let mut want = vec![get_manifest("v1"), get_referrers(&pushed.index)];
    want.extend(fetch_sig(&index_sig));
    assert_eq!(s.lines(), want);

    // Both: the amd64 manifest must carry its own signature.
    s.platform_signatures = PlatformSignatures::Both;
    let v = s.verify().await.unwrap();
    assert!(!v.accepted());
    assert!(v.artifact.as_ref().unwrap().is_ok());
    let platform = v.platform.as_ref().unwrap().as_ref().unwrap_err();
    assert_eq!(platform.reason, RejectReason::NoSignature);
    assert_eq!(platform.target.digest.as_str(), amd64.digest);

    let amd64_sig = s.good(amd64);
    s.server.clear_log();
    let v = s.verify().await.unwrap();
    assert!(v.accepted());
    let verified = v.platform.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(
        verified.accepted_signature().unwrap().signature_digest,
        digest_of(&amd64_sig)
    );
    let mut want = vec![get_manifest("v1"), get_referrers(&pushed.index)];
    want.extend(fetch_sig(&index_sig));
    want.push(get_manifest(&amd64.digest));
    want.push(get_referrers(amd64));
    want.extend(fetch_sig(&amd64_sig));
    assert_eq!(s.lines(), want);
}
