//! Verification of an artifact in a registry: resolve the reference, find its signatures
//! (referrers API, else the referrers tag schema; at the mirror that served the artifact,
//! else upstream), and feed them one at a time to the verification core, fetching only what
//! the decision still needs.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::client::{Endpoint, FetchedManifest, RegistryClient};
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
pub async fn verify_in_registry(
    client: &RegistryClient,
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
pub async fn resolve_target(
    client: &RegistryClient,
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

async fn verify_inner(
    client: &RegistryClient,
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
pub async fn verify_resolved(
    client: &RegistryClient,
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
async fn resolve(
    client: &RegistryClient,
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
        if !capable {
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
    {
        order.push(up);
    }
    order
}

async fn verify_descriptor(
    client: &RegistryClient,
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
    let mut session = match verifier.begin(vreq) {
        Err(rejected) => return Ok(Err(rejected)),
        Ok(Start::Skipped(v)) => return Ok(Ok(v)),
        Ok(Start::Verify(s)) => s,
    };
    let mut seen = HashSet::new();
    for (n, &i) in order.iter().enumerate() {
        let ep = &endpoints[i];
        let offered = offer_signatures(
            client,
            ep,
            &request.repository,
            target,
            &mut session,
            verifier,
            &mut seen,
        )
        .await;
        match offered {
            // Signatures found here (whatever their verdicts): done looking.
            Ok(true) => break,
            // None here: look at the next host (upstream after a mirror).
            Ok(false) => continue,
            // The mirror failed; upstream may still answer. A failure at the last host is
            // reported as what it is, never as "no signature".
            Err(_) if n + 1 < order.len() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(session.finish())
}

/// Lists signatures of `target` at `ep` and offers each to the session until it decides.
/// Returns whether any signature was found there.
async fn offer_signatures(
    client: &RegistryClient,
    ep: &Endpoint,
    repository: &str,
    target: &Descriptor,
    session: &mut Session<'_>,
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
                offer_one(client, ep, repository, target, &entry, session, limits).await?;
            if progress != Progress::Continue {
                return Ok(true);
            }
        }
    }
    Ok(found)
}

/// Every signature entry of `subject` at `ep`, each digest once: what
/// `notaryd bundle create` reads the signing chains from.
pub async fn signature_entries(
    client: &RegistryClient,
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
    async fn next_page(
        &mut self,
        client: &RegistryClient,
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
/// client; a missing tag or a document that is not an index means no referrers.
async fn tag_schema_entries(
    client: &RegistryClient,
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
        // Our own checks on the tag's content (it is a hint, maintained by clients): a bad
        // one is "no referrers", not a reason to stop.
        Err(RegistryError::Protocol { .. } | RegistryError::DigestMismatch { .. }) => {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// Fetches one signature manifest and its envelope and offers it. Problems with the content
/// (missing, too large, wrong digest, wrong shape) count as that signature failing; network
/// failures end the verification with an error.
async fn offer_one(
    client: &RegistryClient,
    ep: &Endpoint,
    repository: &str,
    target: &Descriptor,
    entry: &Descriptor,
    session: &mut Session<'_>,
    limits: &crate::verify::limits::Limits,
) -> Result<Progress, RegistryError> {
    let unavailable = |session: &mut Session<'_>, media_type: Option<&str>, e: String| {
        session.offer_unavailable(Some(entry.digest.clone()), media_type, e)
    };
    if entry.size > limits.max_manifest_bytes {
        return Ok(unavailable(
            session,
            None,
            format!(
                "signature manifest is {} bytes, over the limit of {}",
                entry.size, limits.max_manifest_bytes
            ),
        ));
    }
    // Read no more than the listing says (it was checked against the cap above), and require
    // exactly that size, as oras-go does.
    let manifest = match client
        .fetch_manifest(ep, repository, entry.digest.as_str(), entry.size)
        .await
    {
        Ok(m) if m.bytes.len() as u64 != entry.size => {
            return Ok(unavailable(
                session,
                None,
                format!(
                    "signature manifest is {} bytes, its referrers entry says {}",
                    m.bytes.len(),
                    entry.size
                ),
            ));
        }
        Ok(m) => m,
        Err(e) if e.is_unavailable() => return Err(e),
        Err(e) => return Ok(unavailable(session, None, e.to_string())),
    };
    let parsed = match Manifest::parse(&manifest.bytes) {
        Ok(m) => m,
        Err(e) => return Ok(unavailable(session, None, e.to_string())),
    };
    let signature = match classify_signature_manifest(&manifest.digest, &parsed, target) {
        Ok(s) => s,
        Err(SignatureManifestError::NotASignature) => {
            return Ok(unavailable(
                session,
                None,
                "listed as a signature but is not a Notary signature manifest".into(),
            ));
        }
        Err(e) => return Ok(unavailable(session, None, e.to_string())),
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
        Err(e) => {
            return Ok(unavailable(
                session,
                Some(&signature.envelope.media_type),
                e.to_string(),
            ));
        }
    };
    Ok(session.offer(SignatureInput {
        signature_digest: Some(&signature.digest),
        media_type: &signature.envelope.media_type,
        envelope: &envelope,
    }))
}
