//! Verification of an artifact in a registry: resolve the reference, find its signatures
//! (referrers API, else the referrers tag schema; at the mirror that served the artifact,
//! else upstream), and feed them one at a time to the verification core, fetching only what
//! the decision still needs.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use super::client::{Endpoint, FetchedBlob, FetchedManifest, ReferrersPage, RegistryClient};
use super::error::RegistryError;
use crate::oci::{self, Manifest, SignatureManifestError, classify_signature_manifest};
use crate::verify::descriptor::{Descriptor, Digest};
use crate::verify::time::Timestamp;
use crate::verify::verifier::{
    Progress, Rejected, Session, SignatureInput, Start, VerificationRequest, Verified, Verifier,
};

/// Most pages read from one referrers listing. Each page is capped by the manifest limit;
/// registries serve hundreds of entries per page, so 64 pages cover far more signatures than
/// the attempt limit lets us try.
pub const MAX_REFERRERS_PAGES: usize = 64;

/// The registry requests discovery makes, as [`RegistryClient`] answers them: content comes
/// back checked (sizes capped, digests matched), and failures are typed [`RegistryError`]s.
/// A trait so that the discovery logic can be tested against an in-memory registry. The
/// futures are `Send`: the daemon runs verifications as spawned tasks.
pub trait RegistryApi: Sync {
    /// A manifest or index by tag or digest, at most `max` bytes, its digest checked against
    /// the one asked for (see [`RegistryClient::fetch_manifest`]).
    fn fetch_manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        reference: &str,
        max: u64,
    ) -> impl Future<Output = Result<FetchedManifest, RegistryError>> + Send;

    /// A blob of `size` bytes (refused without a request when over `max`), checked against
    /// `digest` (see [`RegistryClient::fetch_blob`]).
    fn fetch_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> impl Future<Output = Result<FetchedBlob, RegistryError>> + Send;

    /// One page of the referrers API; `Ok(None)` when the registry does not support it (see
    /// [`RegistryClient::referrers_page`]).
    fn referrers_page(
        &self,
        ep: &Endpoint,
        repository: &str,
        subject: &Digest,
        artifact_type: &str,
        page_url: Option<&str>,
        max: u64,
    ) -> impl Future<Output = Result<Option<ReferrersPage>, RegistryError>> + Send;

    /// Whether `ep` said recently that `repository` has no referrers API (see
    /// [`RegistryClient::known_without_referrers_api`]).
    fn known_without_referrers_api(&self, ep: &Endpoint, repository: &str) -> bool;
}

impl RegistryApi for RegistryClient {
    fn fetch_manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        reference: &str,
        max: u64,
    ) -> impl Future<Output = Result<FetchedManifest, RegistryError>> + Send {
        RegistryClient::fetch_manifest(self, ep, repository, reference, max)
    }

    fn fetch_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> impl Future<Output = Result<FetchedBlob, RegistryError>> + Send {
        RegistryClient::fetch_blob(self, ep, repository, digest, size, max)
    }

    fn referrers_page(
        &self,
        ep: &Endpoint,
        repository: &str,
        subject: &Digest,
        artifact_type: &str,
        page_url: Option<&str>,
        max: u64,
    ) -> impl Future<Output = Result<Option<ReferrersPage>, RegistryError>> + Send {
        RegistryClient::referrers_page(self, ep, repository, subject, artifact_type, page_url, max)
    }

    fn known_without_referrers_api(&self, ep: &Endpoint, repository: &str) -> bool {
        RegistryClient::known_without_referrers_api(self, ep, repository)
    }
}

/// What to resolve in a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A tag.
    Tag(String),
    /// A digest (wins over a tag when a reference has both).
    Digest(Digest),
}

impl Target {
    fn as_str(&self) -> &str {
        match self {
            Self::Tag(t) => t,
            Self::Digest(d) => d.as_str(),
        }
    }
}

/// For a multi-platform image (an index), which manifests must carry a valid signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "camelCase")]
pub enum PlatformSignatures {
    /// The digest the reference resolves to (the index): what notation verifies and what
    /// containerd's image verifiers are given. The platform manifests are bound to it by
    /// digest. The default.
    #[default]
    Index,
    /// The manifest for this node's platform, instead of the index (for publishers that sign
    /// per platform).
    Platform,
    /// Both the index and this node's platform manifest.
    Both,
}

/// An OCI platform (os/architecture[/variant]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Platform {
    /// `os`, e.g. `linux`.
    pub os: String,
    /// `architecture` in Go's spelling, e.g. `amd64`.
    pub architecture: String,
    /// `variant`, e.g. `v8`.
    pub variant: Option<String>,
}

impl Platform {
    /// This machine's platform in Go/OCI spelling.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: (architecture == "arm64").then(|| "v8".to_owned()),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let architecture = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let variant = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            os,
            architecture,
            variant,
        })
    }

    fn matches(&self, p: &oci::Platform) -> bool {
        p.os == self.os
            && p.architecture == self.architecture
            && match (&self.variant, &p.variant) {
                (Some(want), Some(have)) => want == have,
                // arm64 images often omit the default variant v8.
                (Some(want), None) => self.architecture == "arm64" && want == "v8",
                (None, _) => true,
            }
    }
}

/// Everything the caller needs about one registry verification.
#[derive(Debug)]
pub struct RegistryVerification {
    /// The verdict for the resolved artifact (absent in `Platform` mode for an index).
    pub artifact: Option<Result<Verified, Rejected>>,
    /// The verdict for this node's platform manifest, when the mode asked for it and the
    /// artifact is an index.
    pub platform: Option<Result<Verified, Rejected>>,
    /// The descriptor the reference resolved to.
    pub resolved: Descriptor,
    /// The host that served it.
    pub resolved_by: String,
}

impl RegistryVerification {
    /// Accepted only when every verdict that was asked for accepts.
    pub fn accepted(&self) -> bool {
        self.artifact.as_ref().is_none_or(Result::is_ok)
            && self.platform.as_ref().is_none_or(Result::is_ok)
            && (self.artifact.is_some() || self.platform.is_some())
    }
}

/// What to verify and how.
#[derive(Clone, Debug)]
pub struct RegistryRequest {
    /// The repository name within the registry.
    pub repository: String,
    /// Tag or digest.
    pub target: Target,
    /// `registry/repository` of the UPSTREAM name, matched against registry scopes (never a
    /// mirror's name).
    pub scope: String,
    /// Required payload annotations.
    pub user_metadata: BTreeMap<String, String>,
    /// Verification time.
    pub time: Timestamp,
    /// Multi-platform rule.
    pub platform_signatures: PlatformSignatures,
    /// This node's platform.
    pub platform: Platform,
    /// Deadline for the whole verification.
    pub total_timeout: Duration,
}

/// Verifies `request` against the registry reachable through `endpoints` (mirrors first, then
/// upstream, as hosts.toml orders them).
pub async fn verify_in_registry<C: RegistryApi>(
    client: &C,
    verifier: &Verifier<'_>,
    endpoints: &[Endpoint],
    request: &RegistryRequest,
) -> Result<RegistryVerification, RegistryError> {
    let work = verify_inner(client, verifier, endpoints, request);
    match tokio::time::timeout(request.total_timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(RegistryError::Timeout {
            what: format!("verification of {}", request.scope),
            after: request.total_timeout,
        }),
    }
}

/// A target resolved at one of the endpoints: its manifest, checked against its digest.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Index into the endpoints of the host that served it.
    pub served_by: usize,
    /// The manifest or index.
    pub manifest: FetchedManifest,
}

impl Resolved {
    /// Its descriptor.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.manifest.media_type.clone(),
            digest: self.manifest.digest.clone(),
            size: self.manifest.bytes.len() as u64,
            artifact_type: None,
            annotations: Default::default(),
            platform: None,
        }
    }
}

/// Resolves `request.target` at the first endpoint that can (see [`verify_in_registry`]).
/// The caller bounds the time.
pub async fn resolve_target<C: RegistryApi>(
    client: &C,
    endpoints: &[Endpoint],
    request: &RegistryRequest,
    max_manifest_bytes: u64,
) -> Result<Resolved, RegistryError> {
    let (served_by, manifest) = resolve(client, endpoints, request, max_manifest_bytes).await?;
    Ok(Resolved {
        served_by,
        manifest,
    })
}

async fn verify_inner<C: RegistryApi>(
    client: &C,
    verifier: &Verifier<'_>,
    endpoints: &[Endpoint],
    request: &RegistryRequest,
) -> Result<RegistryVerification, RegistryError> {
    let resolved = resolve_target(
        client,
        endpoints,
        request,
        verifier.limits().max_manifest_bytes,
    )
    .await?;
    verify_resolved(client, verifier, endpoints, request, &resolved).await
}

/// Verifies an artifact already resolved with [`resolve_target`]: its signatures, and for an
/// index the platform manifest when `request.platform_signatures` asks. The caller bounds the
/// time.
pub async fn verify_resolved<C: RegistryApi>(
    client: &C,
    verifier: &Verifier<'_>,
    endpoints: &[Endpoint],
    request: &RegistryRequest,
    resolved_target: &Resolved,
) -> Result<RegistryVerification, RegistryError> {
    let limits = verifier.limits();
    let served_by = resolved_target.served_by;
    let fetched = &resolved_target.manifest;
    let resolved = Descriptor {
        media_type: fetched.media_type.clone(),
        digest: fetched.digest.clone(),
        size: fetched.bytes.len() as u64,
        artifact_type: None,
        annotations: Default::default(),
        platform: None,
    };
    let order = signature_hosts(endpoints, served_by);
    let is_index = matches!(
        resolved.media_type.as_str(),
        oci::MEDIA_TYPE_IMAGE_INDEX | oci::MEDIA_TYPE_DOCKER_MANIFEST_LIST
    );
    let want_artifact = !is_index || request.platform_signatures != PlatformSignatures::Platform;
    let want_platform = is_index && request.platform_signatures != PlatformSignatures::Index;

    let artifact = if want_artifact {
        Some(verify_descriptor(client, verifier, endpoints, &order, request, &resolved).await?)
    } else {
        None
    };
    let platform = if want_platform {
        let index = Manifest::parse(&fetched.bytes).map_err(|e| RegistryError::Protocol {
            url: format!("{}@{}", request.repository, resolved.digest),
            detail: e.to_string(),
        })?;
        let Some(entry) = index.manifests.iter().find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| request.platform.matches(p))
        }) else {
            return Err(RegistryError::Protocol {
                url: format!("{}@{}", request.repository, resolved.digest),
                detail: format!(
                    "the index lists no manifest for platform {}/{}{}",
                    request.platform.os,
                    request.platform.architecture,
                    request
                        .platform
                        .variant
                        .as_deref()
                        .map(|v| format!("/{v}"))
                        .unwrap_or_default()
                ),
            });
        };
        // Fetched by digest so that the descriptor used for verification is checked content.
        let ep = &endpoints[served_by];
        let manifest = client
            .fetch_manifest(
                ep,
                &request.repository,
                entry.digest.as_str(),
                limits.max_manifest_bytes,
            )
            .await?;
        let platform_desc = Descriptor {
            media_type: entry.media_type.clone(),
            digest: manifest.digest,
            size: manifest.bytes.len() as u64,
            artifact_type: None,
            annotations: Default::default(),
            platform: None,
        };
        if platform_desc.size != entry.size {
            return Err(RegistryError::Protocol {
                url: format!("{}@{}", request.repository, entry.digest),
                detail: format!(
                    "manifest is {} bytes, the index says {}",
                    platform_desc.size, entry.size
                ),
            });
        }
        Some(verify_descriptor(client, verifier, endpoints, &order, request, &platform_desc).await?)
    } else {
        None
    };
    Ok(RegistryVerification {
        artifact,
        platform,
        resolved,
        resolved_by: endpoints[served_by].host.clone(),
    })
}

/// Resolves the target at the first endpoint that can: each resolve-capable host in order; a
/// host that is down or does not have it passes to the next; the last error is reported.
async fn resolve<C: RegistryApi>(
    client: &C,
    endpoints: &[Endpoint],
    request: &RegistryRequest,
    max: u64,
) -> Result<(usize, FetchedManifest), RegistryError> {
    let mut last_error = None;
    for (i, ep) in endpoints.iter().enumerate() {
        let capable = match request.target {
            Target::Tag(_) => ep.capabilities.resolve,
            Target::Digest(_) => ep.capabilities.pull || ep.capabilities.resolve,
        };
        // A place that already failed (named twice in hosts.toml) is not asked again.
        let asked_before = endpoints[..i].iter().any(|e| {
            same_place(e, ep)
                && match request.target {
                    Target::Tag(_) => e.capabilities.resolve,
                    Target::Digest(_) => e.capabilities.pull || e.capabilities.resolve,
                }
        });
        if !capable || asked_before {
            continue;
        }
        match client
            .fetch_manifest(ep, &request.repository, request.target.as_str(), max)
            .await
        {
            Ok(m) => return Ok((i, m)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        RegistryError::Config(format!(
            "no host is configured to resolve {}",
            request.scope
        ))
    }))
}

/// Where to look for signatures: the host that served the artifact, then the upstream
/// registry (when the serving host was a mirror).
fn signature_hosts(endpoints: &[Endpoint], served_by: usize) -> Vec<usize> {
    let mut order = vec![served_by];
    if !endpoints[served_by].is_upstream
        && let Some(up) = endpoints
            .iter()
            .position(|e| e.is_upstream && e.capabilities.pull)
        // hosts.toml may name the registry both as `server` and as a `[host]`: asking the
        // same place twice would only repeat its answer and double its retries.
        && !same_place(&endpoints[up], &endpoints[served_by])
    {
        order.push(up);
    }
    order
}

/// Whether two endpoints are one API root (scheme, host and path), whatever their settings.
fn same_place(a: &Endpoint, b: &Endpoint) -> bool {
    a.scheme == b.scheme && a.host == b.host && a.path_prefix == b.path_prefix
}

async fn verify_descriptor<C: RegistryApi>(
    client: &C,
    verifier: &Verifier<'_>,
    endpoints: &[Endpoint],
    order: &[usize],
    request: &RegistryRequest,
    target: &Descriptor,
) -> Result<Result<Verified, Rejected>, RegistryError> {
    let vreq = VerificationRequest {
        scope: request.scope.clone(),
        target: target.clone(),
        user_metadata: request.user_metadata.clone(),
        time: request.time,
    };
    let session = match verifier.begin(vreq) {
        Err(rejected) => return Ok(Err(rejected)),
        Ok(Start::Skipped(v)) => return Ok(Ok(v)),
        Ok(Start::Verify(s)) => s,
    };
    let mut attempts = Attempts::new(session);
    let mut seen = HashSet::new();
    // A host that failed, kept until a later host gives a whole answer: a registry error
    // must never end as "no signature".
    let mut failed = None;
    for (n, &i) in order.iter().enumerate() {
        let ep = &endpoints[i];
        let offered = offer_signatures(
            client,
            ep,
            &request.repository,
            target,
            &mut attempts,
            verifier,
            &mut seen,
        )
        .await;
        // A signature this host could not serve whole may be served by the next one.
        for (digest, _) in &attempts.faults {
            seen.remove(digest);
        }
        match offered {
            // Decided, or every signature listed here was read whole: done looking.
            Ok(true)
                if !attempts.has_faults() || attempts.session.progress() != Progress::Continue =>
            {
                failed = None;
                break;
            }
            // Signatures here, some of them not served whole: upstream may have them.
            Ok(true) => failed = None,
            // None here: look at the next host (upstream after a mirror).
            Ok(false) => continue,
            // The mirror failed; upstream may still answer, for the signature that failed
            // too (it was not marked seen).
            Err(e) if n + 1 < order.len() => failed = Some(e),
            Err(e) => return Err(e),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => attempts.finish(),
    }
}

/// Lists signatures of `target` at `ep` and offers each until the session decides. Returns
/// whether any signature was found there.
async fn offer_signatures<C: RegistryApi>(
    client: &C,
    ep: &Endpoint,
    repository: &str,
    target: &Descriptor,
    attempts: &mut Attempts<'_>,
    verifier: &Verifier<'_>,
    seen: &mut HashSet<Digest>,
) -> Result<bool, RegistryError> {
    let limits = verifier.limits();
    let mut found = false;
    let mut listing = SignatureListing::new(ep, repository, &target.digest);
    // Page by page: the first signature that passes decides, and later pages are not fetched.
    while let Some(entries) = listing.next_page(client, limits.max_manifest_bytes).await? {
        // A digest listed twice (across pages, or again upstream after a mirror) is tried
        // once.
        for entry in entries {
            if !seen.insert(entry.digest.clone()) {
                continue;
            }
            found = true;
            let progress =
                match offer_one(client, ep, repository, target, &entry, attempts, limits).await {
                    Ok(p) => p,
                    Err(e) => {
                        // Not tried, only failed to arrive: the next host may serve it.
                        seen.remove(&entry.digest);
                        return Err(e);
                    }
                };
            if progress != Progress::Continue {
                return Ok(true);
            }
        }
    }
    Ok(found)
}

/// Every signature entry of `subject` at `ep`, each digest once: what
/// `notaryd bundle create` reads the signing chains from.
pub(crate) async fn signature_entries<C: RegistryApi>(
    client: &C,
    ep: &Endpoint,
    repository: &str,
    subject: &Digest,
    max_manifest_bytes: u64,
) -> Result<Vec<Descriptor>, RegistryError> {
    let mut listing = SignatureListing::new(ep, repository, subject);
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    while let Some(entries) = listing.next_page(client, max_manifest_bytes).await? {
        all.extend(
            entries
                .into_iter()
                .filter(|e| seen.insert(e.digest.clone())),
        );
    }
    Ok(all)
}

/// The signatures of one subject at one host, page by page: the referrers API (`Link`
/// pagination, at most [`MAX_REFERRERS_PAGES`]), or, when the API is unsupported, the
/// referrers tag schema as the whole listing. Always filtered on the client: a registry that
/// claims to filter and does not costs nothing here.
struct SignatureListing<'a> {
    ep: &'a Endpoint,
    repository: &'a str,
    subject: &'a Digest,
    pages: usize,
    next: Option<String>,
    done: bool,
}

impl<'a> SignatureListing<'a> {
    fn new(ep: &'a Endpoint, repository: &'a str, subject: &'a Digest) -> Self {
        Self {
            ep,
            repository,
            subject,
            pages: 0,
            next: None,
            done: false,
        }
    }

    /// The next page's signature entries; `None` when the listing is over.
    async fn next_page<C: RegistryApi>(
        &mut self,
        client: &C,
        max: u64,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        if self.done {
            return Ok(None);
        }
        if self.pages >= MAX_REFERRERS_PAGES {
            return Err(RegistryError::Protocol {
                url: format!(
                    "{}/{} referrers of {}",
                    self.ep.host, self.repository, self.subject
                ),
                detail: format!(
                    "more than {MAX_REFERRERS_PAGES} pages of referrers; stopped looking"
                ),
            });
        }
        self.pages += 1;
        let (ep, repository) = (self.ep, self.repository);
        // A repository whose registry just said it has no referrers API is not asked again
        // (one request fewer per verification for a resident verifier).
        let page = if self.pages == 1 && client.known_without_referrers_api(ep, repository) {
            None
        } else {
            client
                .referrers_page(
                    ep,
                    repository,
                    self.subject,
                    oci::ARTIFACT_TYPE_NOTARY_SIGNATURE,
                    self.next.as_deref(),
                    max,
                )
                .await?
        };
        let entries = match page {
            Some(page) => {
                self.next = page.next;
                page.entries
            }
            // The API is unsupported here: the tag schema is the whole listing.
            None if self.pages == 1 => {
                self.next = None;
                tag_schema_entries(client, ep, repository, self.subject, max).await?
            }
            // A registry that answered page 1 and then denies having the API is broken; going
            // to the tag schema now would mix two listings.
            None => {
                return Err(RegistryError::Protocol {
                    url: self.next.take().unwrap_or_default(),
                    detail: "the referrers API stopped answering in the middle of a listing".into(),
                });
            }
        };
        self.done = self.next.is_none();
        Ok(Some(
            entries
                .into_iter()
                .filter(oci::is_signature_entry)
                .collect(),
        ))
    }
}

/// The signature entries of the referrers tag schema (`<alg>-<hex>`): always filtered on the
/// client. A missing tag, or a well-formed manifest that is not an index, means no referrers
/// (as in oras-go); a document that does not parse, is over a cap, or does not match its
/// digest is an error (the registry's fault, never "no signature").
async fn tag_schema_entries<C: RegistryApi>(
    client: &C,
    ep: &Endpoint,
    repository: &str,
    subject: &Digest,
    max: u64,
) -> Result<Vec<Descriptor>, RegistryError> {
    let tag = oci::referrers_tag(subject);
    match client.fetch_manifest(ep, repository, &tag, max).await {
        Ok(m) => match Manifest::parse(&m.bytes) {
            Ok(index) if index.is_index() => Ok(index
                .manifests
                .into_iter()
                .filter(oci::is_signature_entry)
                .collect()),
            _ => Ok(Vec::new()),
        },
        Err(RegistryError::ManifestNotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The signatures offered for one target, and the faults met fetching them. A signature that
/// could not be fetched whole is recorded only through [`Attempts::fault`], which keeps the
/// error: when no signature is accepted, [`Attempts::finish`] ends with that error, never with
/// a rejection or "no signature" (a rejection is a check failing on bytes read whole and
/// matching their digests). A later host that serves the same signature whole clears its fault.
struct Attempts<'v> {
    session: Session<'v>,
    /// Faults by signature manifest digest, in the order met.
    faults: Vec<(Digest, RegistryError)>,
}

impl<'v> Attempts<'v> {
    fn new(session: Session<'v>) -> Self {
        Self {
            session,
            faults: Vec::new(),
        }
    }

    /// Offers a signature whose manifest and envelope were read whole.
    fn offer(&mut self, input: SignatureInput<'_>) -> Progress {
        if let Some(d) = input.signature_digest {
            self.faults.retain(|(f, _)| f != d);
        }
        self.session.offer(input)
    }

    /// Records a signature that could not be fetched whole, with the error that says why. It
    /// counts as an attempt (the attempt limit bounds what a listing can make us fetch).
    fn fault(
        &mut self,
        entry: &Descriptor,
        media_type: Option<&str>,
        e: RegistryError,
    ) -> Progress {
        let progress =
            self.session
                .offer_unavailable(Some(entry.digest.clone()), media_type, e.to_string());
        self.faults.push((entry.digest.clone(), e));
        progress
    }

    /// Records a signature read whole whose content is not a usable signature (a check on its
    /// bytes, so a rejection when nothing else is accepted).
    fn refuse(&mut self, entry: &Descriptor, reason: String) -> Progress {
        self.faults.retain(|(f, _)| *f != entry.digest);
        self.session
            .offer_unavailable(Some(entry.digest.clone()), None, reason)
    }

    /// Whether a signature is still waiting to be read whole.
    fn has_faults(&self) -> bool {
        !self.faults.is_empty()
    }

    /// The decision: accepted, rejected on what was read, or the first fault.
    fn finish(self) -> Result<Result<Verified, Rejected>, RegistryError> {
        match self.session.finish() {
            Ok(v) => Ok(Ok(v)),
            Err(rejected) => match self.faults.into_iter().next() {
                Some((_, e)) => Err(e),
                None => Ok(Err(rejected)),
            },
        }
    }
}

/// Fetches one signature manifest and its envelope and offers them. A fetch that fails (a
/// missing or oversized manifest or blob, wrong bytes) is a fault of that signature
/// ([`Attempts::fault`]); the next one is still tried. A registry that is unavailable ends the
/// look at this host with the error.
async fn offer_one<C: RegistryApi>(
    client: &C,
    ep: &Endpoint,
    repository: &str,
    target: &Descriptor,
    entry: &Descriptor,
    attempts: &mut Attempts<'_>,
    limits: &crate::verify::limits::Limits,
) -> Result<Progress, RegistryError> {
    let manifest_url = || ep.url(repository, &format!("manifests/{}", entry.digest));
    if entry.size > limits.max_manifest_bytes {
        let e = RegistryError::Protocol {
            url: manifest_url(),
            detail: format!(
                "signature manifest is {} bytes, over the limit of {}",
                entry.size, limits.max_manifest_bytes
            ),
        };
        return Ok(attempts.fault(entry, None, e));
    }
    // Read no more than the listing says (it was checked against the cap above), and require
    // exactly that size, as oras-go does.
    let manifest = match client
        .fetch_manifest(ep, repository, entry.digest.as_str(), entry.size)
        .await
    {
        Ok(m) if m.bytes.len() as u64 != entry.size => {
            let e = RegistryError::Protocol {
                url: manifest_url(),
                detail: format!(
                    "signature manifest is {} bytes, its referrers entry says {}",
                    m.bytes.len(),
                    entry.size
                ),
            };
            return Ok(attempts.fault(entry, None, e));
        }
        Ok(m) => m,
        Err(e) if e.is_unavailable() => return Err(e),
        Err(e) => return Ok(attempts.fault(entry, None, e)),
    };
    let parsed = match Manifest::parse(&manifest.bytes) {
        Ok(m) => m,
        Err(e) => return Ok(attempts.refuse(entry, e.to_string())),
    };
    let signature = match classify_signature_manifest(&manifest.digest, &parsed, target) {
        Ok(s) => s,
        Err(SignatureManifestError::NotASignature) => {
            return Ok(attempts.refuse(
                entry,
                "listed as a signature but is not a Notary signature manifest".into(),
            ));
        }
        Err(e) => return Ok(attempts.refuse(entry, e.to_string())),
    };
    let envelope = match client
        .fetch_blob(
            ep,
            repository,
            &signature.envelope.digest,
            signature.envelope.size,
            limits.max_envelope_bytes,
        )
        .await
    {
        Ok(b) => b,
        Err(e) if e.is_unavailable() => return Err(e),
        Err(e) => return Ok(attempts.fault(entry, Some(&signature.envelope.media_type), e)),
    };
    Ok(attempts.offer(SignatureInput {
        signature_digest: Some(&signature.digest),
        media_type: &signature.envelope.media_type,
        envelope: &envelope.bytes,
    }))
}

#[cfg(test)]
mod tests {
    //! The discovery logic against [`FakeRegistry`]: no sockets, no clock (the verification
    //! time is a fixed parameter).

    use super::*;
    use crate::registry::fake::{self, Call, FakeRegistry, Fault};
    use crate::verify::limits::Limits;
    use crate::verify::policy::TrustPolicyDocument;
    use crate::verify::revocation::NoRevocationData;
    use crate::verify::trust_store::{TrustStore, TrustStoreType};
    use crate::verify::verifier::RejectReason;

    const UP: &str = "registry.example";
    const MIRROR: &str = "mirror.example";
    const REPO: &str = "team/app";
    /// The verification time: a parameter, never the clock.
    const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

    /// A trust policy for `registry.example/team/app` at `level`, with a store holding one
    /// self-signed CA (the envelopes the tests offer are not signed by it: every signature
    /// offered fails, which the reports show).
    struct Trust {
        policy: TrustPolicyDocument,
        store: TrustStore,
    }

    impl Trust {
        fn new(level: &str) -> Self {
            let mut statement = serde_json::json!({
                "name": "app",
                "registryScopes": [format!("{UP}/{REPO}")],
                "signatureVerification": {"level": level},
            });
            // notation refuses trust settings on a `skip` statement.
            if level != "skip" {
                statement["trustStores"] = serde_json::json!(["ca:test"]);
                statement["trustedIdentities"] = serde_json::json!(["*"]);
            }
            let policy = TrustPolicyDocument::from_json(
                serde_json::json!({"version": "1.0", "trustPolicies": [statement]})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key = rcgen::KeyPair::generate().unwrap();
            let ca = params.self_signed(&key).unwrap();
            let mut store = TrustStore::new();
            store
                .add_store(
                    TrustStoreType::Ca,
                    "test",
                    &[("ca.der".to_owned(), ca.der().to_vec())],
                )
                .unwrap();
            Self { policy, store }
        }

        fn verifier(&self, limits: Limits) -> Verifier<'_> {
            Verifier::new(&self.policy, &self.store, &NoRevocationData, limits).unwrap()
        }
    }

    fn upstream() -> Endpoint {
        Endpoint::upstream(UP, false)
    }

    fn mirror() -> Endpoint {
        Endpoint {
            is_upstream: false,
            ..Endpoint::upstream(MIRROR, false)
        }
    }

    fn request(target: Target) -> RegistryRequest {
        RegistryRequest {
            repository: REPO.to_owned(),
            target,
            scope: format!("{UP}/{REPO}"),
            user_metadata: BTreeMap::new(),
            time: T0,
            platform_signatures: PlatformSignatures::Index,
            platform: Platform::parse("linux/amd64").unwrap(),
            total_timeout: Duration::from_secs(30),
        }
    }

    fn tag(t: &str) -> Target {
        Target::Tag(t.to_owned())
    }

    /// An image at `host`, tagged `v1`.
    fn image(reg: &FakeRegistry, host: &str) -> Descriptor {
        let d = reg.put_manifest(host, REPO, &fake::image_manifest("app"));
        reg.tag(host, REPO, "v1", &d.digest);
        d
    }

    async fn verify(
        reg: &FakeRegistry,
        verifier: &Verifier<'_>,
        endpoints: &[Endpoint],
        target: Target,
    ) -> Result<RegistryVerification, RegistryError> {
        verify_in_registry(reg, verifier, endpoints, &request(target)).await
    }

    /// The artifact's rejection (the envelopes are never trusted).
    fn rejected(v: &RegistryVerification) -> &Rejected {
        match &v.artifact {
            Some(Err(r)) => r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// The signature manifests the session was offered, in order.
    fn tried(r: &Rejected) -> Vec<Digest> {
        r.reports
            .iter()
            .map(|s| s.signature_digest.clone().unwrap())
            .collect()
    }

    /// Why each offered signature could not be retrieved (empty for one that was).
    fn retrieval_failures(r: &Rejected) -> Vec<String> {
        r.reports
            .iter()
            .map(|s| {
                s.checks
                    .iter()
                    .filter_map(|c| c.detail.as_deref())
                    .filter(|d| d.starts_with("signature could not be retrieved"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect()
    }

    fn manifest_call(host: &str, reference: &str) -> Call {
        Call::Manifest {
            host: host.to_owned(),
            repository: REPO.to_owned(),
            reference: reference.to_owned(),
        }
    }

    fn blob_call(host: &str, digest: &Digest) -> Call {
        Call::Blob {
            host: host.to_owned(),
            repository: REPO.to_owned(),
            digest: digest.clone(),
        }
    }

    fn referrers_call(host: &str, subject: &Digest, page: usize) -> Call {
        Call::Referrers {
            host: host.to_owned(),
            repository: REPO.to_owned(),
            subject: subject.clone(),
            page,
        }
    }

    #[tokio::test]
    async fn a_tag_resolves_to_its_manifest_and_digest() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        let resolved = resolve_target(&reg, &[upstream()], &request(tag("v1")), 1 << 20)
            .await
            .unwrap();
        assert_eq!(resolved.served_by, 0);
        assert_eq!(resolved.descriptor(), img);
        assert_eq!(resolved.manifest.media_type, oci::MEDIA_TYPE_IMAGE_MANIFEST);
        assert_eq!(reg.calls(), vec![manifest_call(UP, "v1")]);

        // By digest, the same manifest.
        let by_digest = resolve_target(
            &reg,
            &[upstream()],
            &request(Target::Digest(img.digest.clone())),
            1 << 20,
        )
        .await
        .unwrap();
        assert_eq!(by_digest.descriptor(), img);
    }

    #[tokio::test]
    async fn content_that_does_not_match_its_digest_is_refused() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        // The registry serves other bytes under the image's digest, and the tag announces it.
        reg.put_manifest_as(UP, REPO, &img.digest, &fake::image_manifest("tampered"));
        for target in [tag("v1"), Target::Digest(img.digest.clone())] {
            let e = resolve_target(&reg, &[upstream()], &request(target.clone()), 1 << 20)
                .await
                .unwrap_err();
            assert!(
                matches!(&e, RegistryError::DigestMismatch { expected, .. } if *expected == img.digest),
                "{target:?}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn the_manifest_cap_applies_to_the_target() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        let e = resolve_target(&reg, &[upstream()], &request(tag("v1")), img.size - 1)
            .await
            .unwrap_err();
        assert!(matches!(e, RegistryError::TooLarge { limit, .. } if limit == img.size - 1));
        resolve_target(&reg, &[upstream()], &request(tag("v1")), img.size)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn resolution_passes_a_failing_mirror_and_reports_the_last_error() {
        let reg = FakeRegistry::new();
        image(&reg, UP);
        reg.fail(manifest_call(MIRROR, "v1"), Fault::Status(503), None);
        let endpoints = [mirror(), upstream()];
        let resolved = resolve_target(&reg, &endpoints, &request(tag("v1")), 1 << 20)
            .await
            .unwrap();
        assert_eq!(resolved.served_by, 1, "upstream served it");

        // Both fail: the upstream's error (the last) is reported.
        reg.fail(manifest_call(UP, "v1"), Fault::CutBody, None);
        let e = resolve_target(&reg, &endpoints, &request(tag("v1")), 1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Network { host, .. } if host == UP),
            "{e}"
        );

        // A mirror that may not resolve tags is not asked for one.
        let no_resolve = Endpoint {
            capabilities: crate::registry::client::Capabilities {
                pull: true,
                resolve: false,
            },
            ..mirror()
        };
        let e = resolve_target(&reg, &[no_resolve], &request(tag("v1")), 1 << 20)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("no host is configured to resolve"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn signatures_are_found_through_the_referrers_api() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        let a = reg.add_signature(UP, REPO, &img, b"envelope-a");
        let b = reg.add_signature(UP, REPO, &img, b"envelope-b");
        let trust = Trust::new("strict");
        let v = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[upstream()],
            tag("v1"),
        )
        .await
        .unwrap();
        let r = rejected(&v);
        assert_eq!(r.reason, RejectReason::AllSignaturesFailed);
        assert_eq!(tried(r), vec![a.digest.clone(), b.digest.clone()]);
        assert_eq!(retrieval_failures(r), vec!["", ""], "both were fetched");
        assert_eq!(v.resolved, img);
        assert_eq!(v.resolved_by, UP);
        // No tag-schema lookup when the API answers.
        assert!(
            !reg.calls()
                .contains(&manifest_call(UP, &oci::referrers_tag(&img.digest))),
            "{:?}",
            reg.calls()
        );
    }

    #[tokio::test]
    async fn without_the_referrers_api_the_tag_schema_is_read_and_the_answer_remembered() {
        let reg = FakeRegistry::new();
        reg.host(UP, false, 100);
        let img = image(&reg, UP);
        // The signature is listed in the tag schema only.
        let a = reg.add_signature(UP, REPO, &img, b"envelope-a");
        reg.put_tag_schema(UP, REPO, &img.digest, std::slice::from_ref(&a));
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        let v = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap();
        assert_eq!(tried(rejected(&v)), vec![a.digest.clone()]);
        let schema_tag = oci::referrers_tag(&img.digest);
        let first = reg.calls();
        assert!(first.contains(&referrers_call(UP, &img.digest, 0)));
        assert!(first.contains(&manifest_call(UP, &schema_tag)));

        // The next verification goes to the tag schema without asking the API.
        let v = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap();
        assert_eq!(tried(rejected(&v)), vec![a.digest.clone()]);
        let second = &reg.calls()[first.len()..];
        assert!(
            !second.contains(&referrers_call(UP, &img.digest, 0)),
            "{second:?}"
        );
        assert!(second.contains(&manifest_call(UP, &schema_tag)));
    }

    #[tokio::test]
    async fn a_missing_tag_schema_is_no_signature_but_a_broken_or_unavailable_one_is_an_error() {
        let reg = FakeRegistry::new();
        reg.host(UP, false, 100);
        let img = image(&reg, UP);
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        // No tag: no signature.
        let v = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap();
        assert_eq!(rejected(&v).reason, RejectReason::NoSignature);

        // A tag whose content does not match the digest the registry announces is the
        // registry's fault (issue 15): an error, not "no referrers".
        let schema_tag = oci::referrers_tag(&img.digest);
        let stale = Digest::sha256_of(b"not this");
        reg.put_manifest_as(UP, REPO, &stale, &fake::index_of(&[]));
        reg.tag(UP, REPO, &schema_tag, &stale);
        let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");

        // Neither is a document that is not JSON, nor one nested past the parser's depth.
        for broken in [
            b"{not json".to_vec(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ] {
            let d = Digest::sha256_of(&broken);
            reg.put_manifest_as(UP, REPO, &d, &broken);
            reg.tag(UP, REPO, &schema_tag, &d);
            let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
                .await
                .unwrap_err();
            assert!(matches!(e, RegistryError::Protocol { .. }), "{e}");
        }

        // Nor an index over the descriptor cap: the same error the referrers API gives.
        let entry = fake::signature_entry(&fake::descriptor_of(b"x", &Digest::sha256_of(b"x")));
        let many = fake::index_of(&vec![entry; crate::oci::MAX_DESCRIPTORS + 1]);
        let d = Digest::sha256_of(&many);
        reg.put_manifest_as(UP, REPO, &d, &many);
        reg.tag(UP, REPO, &schema_tag, &d);
        let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Protocol { detail, .. }
                if detail.contains(&crate::oci::MAX_DESCRIPTORS.to_string())),
            "{e}"
        );

        // A well-formed manifest that is not an index: no referrers, as oras-go reads it.
        let other = fake::image_manifest("not an index");
        let d = Digest::sha256_of(&other);
        reg.put_manifest_as(UP, REPO, &d, &other);
        reg.tag(UP, REPO, &schema_tag, &d);
        let v = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap();
        assert_eq!(rejected(&v).reason, RejectReason::NoSignature);

        // A registry failing to answer for the tag is an error, never "no signature".
        reg.fail(manifest_call(UP, &schema_tag), Fault::Status(502), None);
        let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, RegistryError::Status { status: 502, .. }),
            "{e}"
        );
    }

    #[tokio::test]
    async fn referrers_pages_are_followed_and_a_digest_is_tried_once() {
        let reg = FakeRegistry::new();
        reg.host(UP, true, 2);
        let img = image(&reg, UP);
        let sigs: Vec<Descriptor> = (0..5)
            .map(|i| reg.add_signature(UP, REPO, &img, format!("envelope-{i}").as_bytes()))
            .collect();
        // The first signature is listed again on the last page.
        reg.add_referrer(UP, REPO, &img.digest, sigs[0].clone());
        let trust = Trust::new("strict");
        let v = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[upstream()],
            tag("v1"),
        )
        .await
        .unwrap();
        let want: Vec<Digest> = sigs.iter().map(|s| s.digest.clone()).collect();
        assert_eq!(tried(rejected(&v)), want);
        let pages: Vec<usize> = reg
            .calls()
            .iter()
            .filter_map(|c| match c {
                Call::Referrers { page, .. } => Some(*page),
                _ => None,
            })
            .collect();
        assert_eq!(pages, vec![0, 1, 2]);

        // signature_entries lists every page too, each digest once.
        let entries = signature_entries(&reg, &upstream(), REPO, &img.digest, 1 << 20)
            .await
            .unwrap();
        assert_eq!(entries, sigs);
    }

    #[tokio::test]
    async fn later_pages_are_not_fetched_once_the_session_has_decided() {
        let reg = FakeRegistry::new();
        reg.host(UP, true, 1);
        let img = image(&reg, UP);
        let a = reg.add_signature(UP, REPO, &img, b"envelope-a");
        reg.add_signature(UP, REPO, &img, b"envelope-b");
        let trust = Trust::new("strict");
        let limits = Limits {
            max_signature_attempts: 1,
            ..Limits::default()
        };
        let v = verify(&reg, &trust.verifier(limits), &[upstream()], tag("v1"))
            .await
            .unwrap();
        let r = rejected(&v);
        assert_eq!(r.reason, RejectReason::SignatureLimitExceeded { limit: 1 });
        assert_eq!(tried(r), vec![a.digest]);
        assert!(!reg.calls().contains(&referrers_call(UP, &img.digest, 1)));
    }

    #[tokio::test]
    async fn entries_that_are_not_signatures_are_filtered_and_listings_are_bounded() {
        let reg = FakeRegistry::new();
        reg.host(UP, true, 1);
        let img = image(&reg, UP);
        // An SBOM listed as a referrer is never fetched.
        let sbom = Descriptor {
            artifact_type: Some("application/spdx+json".into()),
            ..reg.put_manifest(UP, REPO, &fake::image_manifest("sbom"))
        };
        reg.add_referrer(UP, REPO, &img.digest, sbom.clone());
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        let v = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap();
        assert_eq!(rejected(&v).reason, RejectReason::NoSignature);
        assert!(
            !reg.calls()
                .contains(&manifest_call(UP, sbom.digest.as_str()))
        );

        // One page more than the bound: an error, not a silent cut.
        for _ in 0..MAX_REFERRERS_PAGES {
            reg.add_referrer(UP, REPO, &img.digest, sbom.clone());
        }
        let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("more than {MAX_REFERRERS_PAGES} pages")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_referrers_api_that_stops_answering_mid_listing_is_an_error() {
        let reg = FakeRegistry::new();
        reg.host(UP, true, 1);
        let img = image(&reg, UP);
        reg.add_signature(UP, REPO, &img, b"envelope-a");
        reg.add_signature(UP, REPO, &img, b"envelope-b");
        reg.fail(
            referrers_call(UP, &img.digest, 1),
            Fault::NoReferrersApi,
            None,
        );
        let trust = Trust::new("strict");
        let e = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[upstream()],
            tag("v1"),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("stopped answering"), "{e}");
    }

    #[tokio::test]
    async fn descriptor_caps_are_an_error_naming_the_cap_without_fetching() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        let small = reg.add_signature(UP, REPO, &img, b"envelope-a");
        let (big, big_envelope) = reg.push_signature(UP, REPO, &img, &[b'x'; 4096]);
        reg.add_referrer(UP, REPO, &img.digest, big.clone());
        let trust = Trust::new("strict");
        // Room for the image manifest, not for the signature manifests.
        let limits = Limits {
            max_manifest_bytes: small.size - 1,
            ..Limits::default()
        };
        assert!(img.size < limits.max_manifest_bytes);
        let e = verify(&reg, &trust.verifier(limits), &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Protocol { detail, .. } if detail.contains("over the limit")),
            "{e}"
        );
        assert!(e.to_string().contains(small.digest.as_str()), "{e}");
        let calls = reg.calls();
        assert!(!calls.contains(&manifest_call(UP, small.digest.as_str())));
        assert!(!calls.contains(&manifest_call(UP, big.digest.as_str())));

        // With room for the manifests, the envelope over its cap is refused unrequested, after
        // the other signature was read whole (and failed its checks).
        let limits = Limits {
            max_envelope_bytes: 4095,
            ..Limits::default()
        };
        let e = verify(&reg, &trust.verifier(limits), &[upstream()], tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::TooLarge { limit: 4095, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("larger than 4095 bytes"), "{e}");
        let calls = reg.calls();
        assert!(calls.contains(&blob_call(UP, &reg.envelope(UP, REPO, &small).digest)));
        assert!(calls.contains(&manifest_call(UP, big.digest.as_str())));
        assert!(!calls.contains(&blob_call(UP, &big_envelope.digest)));
    }

    #[tokio::test]
    async fn a_signature_whose_size_or_digest_is_wrong_is_an_error_after_the_others_are_tried() {
        let reg = FakeRegistry::new();
        let img = image(&reg, UP);
        // Listed one byte shorter than the manifest is.
        let (mut short, _) = reg.push_signature(UP, REPO, &img, b"envelope-a");
        short.size -= 1;
        reg.add_referrer(UP, REPO, &img.digest, short);
        // A signature manifest served with other bytes under its digest.
        let lying = reg.add_signature(UP, REPO, &img, b"envelope-b");
        let mut bytes = fake::signature_manifest(&img, &reg.envelope(UP, REPO, &lying));
        bytes[0] = b' ';
        reg.put_manifest_as(UP, REPO, &lying.digest, &bytes);
        // An envelope whose bytes do not match its digest.
        let tampered = reg.add_signature(UP, REPO, &img, b"envelope-c");
        let envelope = reg.envelope(UP, REPO, &tampered);
        reg.put_blob_as(UP, REPO, &envelope.digest, b"envelope-C");

        let trust = Trust::new("strict");
        let e = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[upstream()],
            tag("v1"),
        )
        .await
        .unwrap_err();
        // The first fault is the answer; every signature was still tried (a later one could
        // have been accepted).
        assert!(matches!(&e, RegistryError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("body larger than"), "{e}");
        let calls = reg.calls();
        assert!(
            calls.contains(&manifest_call(UP, lying.digest.as_str())),
            "{calls:?}"
        );
        assert!(
            calls.contains(&blob_call(UP, &envelope.digest)),
            "{calls:?}"
        );

        // Each fault alone is an error of its own kind, never a rejection.
        for (name, wrong) in [("manifest", &lying), ("envelope", &tampered)] {
            let reg = FakeRegistry::new();
            let img = image(&reg, UP);
            let sig = reg.add_signature(UP, REPO, &img, b"envelope-b");
            let env = reg.envelope(UP, REPO, &sig);
            match name {
                "manifest" => {
                    let mut bytes = fake::signature_manifest(&img, &env);
                    bytes[0] = b' ';
                    reg.put_manifest_as(UP, REPO, &sig.digest, &bytes);
                }
                _ => reg.put_blob_as(UP, REPO, &env.digest, b"envelope-B"),
            }
            let e = verify(
                &reg,
                &trust.verifier(Limits::default()),
                &[upstream()],
                tag("v1"),
            )
            .await
            .unwrap_err();
            assert!(
                matches!(&e, RegistryError::DigestMismatch { .. }),
                "{name} ({}): {e}",
                wrong.digest
            );
        }
    }

    #[tokio::test]
    async fn a_signature_manifest_or_envelope_the_registry_fails_to_serve_is_an_error() {
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        for (what, fault) in [
            ("manifest", Fault::Status(503)),
            ("manifest", Fault::CutBody),
            ("envelope", Fault::Status(500)),
            ("envelope", Fault::CutBody),
        ] {
            let reg = FakeRegistry::new();
            let img = image(&reg, UP);
            let sig = reg.add_signature(UP, REPO, &img, b"envelope-a");
            let call = match what {
                "manifest" => manifest_call(UP, sig.digest.as_str()),
                _ => blob_call(UP, &reg.envelope(UP, REPO, &sig).digest),
            };
            reg.fail(call, fault.clone(), None);
            let outcome = verify(&reg, &verifier, &[upstream()], tag("v1")).await;
            match outcome {
                Err(e) => assert!(e.is_unavailable(), "{what} {fault:?}: {e}"),
                Ok(v) => panic!("{what} {fault:?}: not an error: {:?}", v.artifact),
            }
        }
    }

    #[tokio::test]
    async fn a_signature_that_is_not_found_is_an_error_not_a_rejection_nor_no_signature() {
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        for what in ["manifest", "envelope"] {
            let reg = FakeRegistry::new();
            let img = image(&reg, UP);
            let sig = reg.add_signature(UP, REPO, &img, b"envelope-a");
            let call = match what {
                "manifest" => manifest_call(UP, sig.digest.as_str()),
                _ => blob_call(UP, &reg.envelope(UP, REPO, &sig).digest),
            };
            reg.fail(call, Fault::NotFound, None);
            let e = verify(&reg, &verifier, &[upstream()], tag("v1"))
                .await
                .unwrap_err();
            assert!(!e.is_unavailable(), "{what}: {e}");
            assert!(e.to_string().contains("not found"), "{what}: {e}");
            assert!(e.to_string().contains(UP), "{what}: {e}");
        }
        // Read whole from a second host, the same signature is judged on its bytes.
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        let sig = reg.add_signature(MIRROR, REPO, &img, b"envelope-a");
        assert_eq!(reg.add_signature(UP, REPO, &img, b"envelope-a"), sig);
        reg.fail(
            manifest_call(MIRROR, sig.digest.as_str()),
            Fault::NotFound,
            None,
        );
        let v = verify(&reg, &verifier, &[mirror(), upstream()], tag("v1"))
            .await
            .unwrap();
        let r = rejected(&v);
        assert_eq!(r.reason, RejectReason::AllSignaturesFailed);
        assert_eq!(tried(r), [sig.digest.clone(), sig.digest.clone()]);
    }

    #[tokio::test]
    async fn signatures_are_looked_for_upstream_when_the_mirror_has_none_or_fails() {
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        let endpoints = [mirror(), upstream()];
        for mirror_fault in [None, Some(Fault::Status(503))] {
            let reg = FakeRegistry::new();
            let img = image(&reg, MIRROR);
            assert_eq!(image(&reg, UP), img);
            let up_sig = reg.add_signature(UP, REPO, &img, b"envelope-up");
            if let Some(f) = &mirror_fault {
                reg.fail(referrers_call(MIRROR, &img.digest, 0), f.clone(), None);
            }
            let v = verify(&reg, &verifier, &endpoints, tag("v1"))
                .await
                .unwrap();
            assert_eq!(v.resolved_by, MIRROR, "{mirror_fault:?}");
            assert_eq!(tried(rejected(&v)), vec![up_sig.digest.clone()]);
            // Fetched where it was listed.
            assert!(
                reg.calls()
                    .contains(&manifest_call(UP, up_sig.digest.as_str()))
            );
        }

        // Signatures at the mirror: upstream is not asked.
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        let at_mirror = reg.add_signature(MIRROR, REPO, &img, b"envelope-m");
        reg.add_signature(UP, REPO, &img, b"envelope-up");
        let v = verify(&reg, &verifier, &endpoints, tag("v1"))
            .await
            .unwrap();
        assert_eq!(tried(rejected(&v)), vec![at_mirror.digest]);
        assert!(!reg.calls().contains(&referrers_call(UP, &img.digest, 0)));

        // Both fail: the error is reported, never "no signature".
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        reg.fail(
            referrers_call(MIRROR, &img.digest, 0),
            Fault::Status(503),
            None,
        );
        reg.fail(referrers_call(UP, &img.digest, 0), Fault::CutBody, None);
        let e = verify(&reg, &verifier, &endpoints, tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Network { host, .. } if host == UP),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_signature_that_failed_at_the_mirror_is_fetched_upstream() {
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        // The same signature at both; the mirror fails to serve its manifest.
        let sig = reg.add_signature(MIRROR, REPO, &img, b"envelope-a");
        assert_eq!(reg.add_signature(UP, REPO, &img, b"envelope-a"), sig);
        reg.fail(
            manifest_call(MIRROR, sig.digest.as_str()),
            Fault::Status(503),
            None,
        );
        let trust = Trust::new("strict");
        let v = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[mirror(), upstream()],
            tag("v1"),
        )
        .await
        .unwrap();
        // Tried upstream, and judged on what it served (the envelope is not trusted).
        assert!(
            reg.calls()
                .contains(&manifest_call(UP, sig.digest.as_str())),
            "{:?}",
            reg.calls()
        );
        let r = rejected(&v);
        assert_ne!(r.reason, RejectReason::NoSignature, "{r:?}");
        assert_eq!(tried(r), std::slice::from_ref(&sig.digest));
    }

    #[tokio::test]
    async fn a_signature_the_mirror_lists_but_cannot_serve_is_an_error_not_no_signature() {
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        // Upstream has no signature at all; the mirror lists one and fails to serve it.
        let sig = reg.add_signature(MIRROR, REPO, &img, b"envelope-a");
        reg.fail(
            manifest_call(MIRROR, sig.digest.as_str()),
            Fault::Status(503),
            None,
        );
        let trust = Trust::new("strict");
        let e = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[mirror(), upstream()],
            tag("v1"),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Status { status: 503, .. }),
            "{e}"
        );
        // And its envelope: the same.
        let reg = FakeRegistry::new();
        let img = image(&reg, MIRROR);
        image(&reg, UP);
        let sig = reg.add_signature(MIRROR, REPO, &img, b"envelope-b");
        let envelope = reg.envelope(MIRROR, REPO, &sig);
        reg.fail(blob_call(MIRROR, &envelope.digest), Fault::CutBody, None);
        let e = verify(
            &reg,
            &trust.verifier(Limits::default()),
            &[mirror(), upstream()],
            tag("v1"),
        )
        .await
        .unwrap_err();
        assert!(matches!(&e, RegistryError::Network { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_registry_named_as_both_host_and_server_is_asked_once() {
        let reg = FakeRegistry::new();
        reg.host(UP, false, 100);
        let img = image(&reg, UP);
        let sig = reg.add_signature(UP, REPO, &img, b"envelope-a");
        reg.put_tag_schema(UP, REPO, &img.digest, std::slice::from_ref(&sig));
        let schema_tag = oci::referrers_tag(&img.digest);
        // hosts.toml: `server = "https://UP"` and `[host."https://UP"]`.
        let as_host = Endpoint {
            is_upstream: false,
            ..upstream()
        };
        let endpoints = [as_host, upstream()];
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        reg.fail(
            manifest_call(UP, sig.digest.as_str()),
            Fault::Status(500),
            None,
        );
        let e = verify(&reg, &verifier, &endpoints, tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Status { status: 500, .. }),
            "{e}"
        );
        let calls = reg.calls();
        let count = |c: &Call| calls.iter().filter(|x| *x == c).count();
        assert_eq!(
            count(&manifest_call(UP, sig.digest.as_str())),
            1,
            "{calls:?}"
        );
        assert_eq!(count(&manifest_call(UP, &schema_tag)), 1, "{calls:?}");

        // Resolving the tag at a place that failed is not repeated either.
        let reg = FakeRegistry::new();
        image(&reg, UP);
        reg.fail(manifest_call(UP, "v1"), Fault::Status(503), None);
        let e = verify(&reg, &verifier, &endpoints, tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Status { status: 503, .. }),
            "{e}"
        );
        assert_eq!(
            reg.calls()
                .iter()
                .filter(|c| **c == manifest_call(UP, "v1"))
                .count(),
            1,
            "{:?}",
            reg.calls()
        );
    }

    #[tokio::test]
    async fn the_verification_time_is_the_request_parameter() {
        let reg = FakeRegistry::new();
        image(&reg, UP);
        let trust = Trust::new("skip");
        let mut req = request(tag("v1"));
        for time in [
            T0,
            Timestamp::from_unix_seconds(0),
            Timestamp::from_unix_seconds(4_102_444_800),
        ] {
            req.time = time;
            let v = verify_in_registry(
                &reg,
                &trust.verifier(Limits::default()),
                &[upstream()],
                &req,
            )
            .await
            .unwrap();
            match v.artifact {
                Some(Ok(verified)) => assert_eq!(verified.time(), time),
                other => panic!("{other:?}"),
            }
        }
        // `skip` needs no signature: nothing but the manifest was asked for.
        assert!(
            reg.calls()
                .iter()
                .all(|c| matches!(c, Call::Manifest { .. }))
        );
    }

    #[tokio::test]
    async fn an_index_s_platform_manifest_is_fetched_by_digest_and_checked_against_the_index() {
        let reg = FakeRegistry::new();
        let amd64 = reg.put_manifest(UP, REPO, &fake::image_manifest("amd64"));
        let entry = |size: u64| Descriptor {
            size,
            platform: Some(crate::verify::descriptor::Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            }),
            ..amd64.clone()
        };
        let index = reg.put_manifest(UP, REPO, &fake::index_of(&[entry(amd64.size)]));
        reg.tag(UP, REPO, "v1", &index.digest);
        let platform_sig = reg.add_signature(UP, REPO, &amd64, b"envelope-p");
        let trust = Trust::new("strict");
        let verifier = trust.verifier(Limits::default());
        let mut req = request(tag("v1"));
        req.platform_signatures = PlatformSignatures::Platform;
        let v = verify_in_registry(&reg, &verifier, &[upstream()], &req)
            .await
            .unwrap();
        assert!(v.artifact.is_none());
        match &v.platform {
            Some(Err(r)) => {
                assert_eq!(r.target.digest, amd64.digest);
                assert_eq!(tried(r), vec![platform_sig.digest.clone()]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            reg.calls()
                .contains(&manifest_call(UP, amd64.digest.as_str()))
        );

        // An index that misstates the manifest's size is refused.
        let lying = reg.put_manifest(UP, REPO, &fake::index_of(&[entry(amd64.size + 1)]));
        reg.tag(UP, REPO, "v2", &lying.digest);
        let e = verify_in_registry(
            &reg,
            &verifier,
            &[upstream()],
            &RegistryRequest {
                target: tag("v2"),
                ..req.clone()
            },
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("the index says"), "{e}");

        // No manifest for this platform: an error naming it.
        req.platform = Platform::parse("linux/s390x").unwrap();
        let e = verify_in_registry(&reg, &verifier, &[upstream()], &req)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("no manifest for platform linux/s390x"),
            "{e}"
        );
    }
}
