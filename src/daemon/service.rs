//! The `notaryd.v1.Verifier` service: request checks, exemptions, the verdict cache, single
//! flight, fresh verifications against the registry, and the answer with its audit line and
//! metrics. What a decision is, and how a reference becomes a registry request, is the use
//! case's ([`crate::service`]); the proto conversions are here.
//!
//! A pull is allowed only when the decision holds the core's proof (an accepted
//! [`RegistryVerification`]) or the image is explicitly exempt by digest. Everything else —
//! rejection, unreachable registry, deadline, overload, internal error — is a denial that says
//! why.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Request, Response, Status};

use super::audit::{AuditLog, AuditRecord};
use super::cache::{CacheKey, SingleFlight, VerdictCache};
use super::metrics::{KindLabels, Metrics};
use super::snapshot::Snapshot;
use crate::api::v1;
use crate::reference::Reference;
use crate::registry::client::{ClientOptions, RegistryClient};
use crate::registry::credentials::{Credential, CredentialSource, NoCredentials};
use crate::registry::discovery::{Platform, resolve_target, verify_resolved};
use crate::registry::endpoints::endpoints_for;
use crate::registry::error::RegistryError;
use crate::report::OutputFormat;
use crate::service::{Decision, Outcome, RequestOptions, exempt_decision, is_exempt};
use crate::verify::descriptor::Digest;
use crate::verify::time::Timestamp;
use crate::verify::verifier::{CheckStatus, Verifier};

/// Longest reference accepted.
pub const MAX_REFERENCE_LEN: usize = 4096;
/// Longest media type accepted in a descriptor.
pub const MAX_MEDIA_TYPE_LEN: usize = 255;
/// How long a fresh verification waits for a free slot before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The outcome as `notaryd.v1` names it.
fn proto_outcome(outcome: Outcome) -> v1::Outcome {
    match outcome {
        Outcome::Accepted => v1::Outcome::Accepted,
        Outcome::Skipped => v1::Outcome::Skipped,
        Outcome::Rejected => v1::Outcome::Rejected,
        Outcome::Exempt => v1::Outcome::Exempt,
        Outcome::Error => v1::Outcome::Error,
        Outcome::NotCached => v1::Outcome::Unspecified,
    }
}

/// The report `format` asks for, none for `ReportFormat::None`.
fn report(decision: &Decision, reference: &str, format: v1::ReportFormat) -> String {
    match format {
        v1::ReportFormat::None => String::new(),
        v1::ReportFormat::Text => decision.report(reference, OutputFormat::Text),
        v1::ReportFormat::Json => decision.report(reference, OutputFormat::Json),
    }
}

/// The per-signature reports of `decision`, as `notaryd.v1` carries them.
fn signature_reports(decision: &Decision) -> Vec<v1::SignatureReport> {
    let Some(verdict) = decision.first_verdict() else {
        return Vec::new();
    };
    let reports = match verdict {
        Ok(v) => v.reports(),
        Err(r) => r.reports.as_slice(),
    };
    reports
        .iter()
        .map(|r| v1::SignatureReport {
            signature_digest: r
                .signature_digest
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            envelope_media_type: r
                .envelope_type
                .map(|t| t.media_type().to_owned())
                .or_else(|| r.envelope_media_type.clone())
                .unwrap_or_default(),
            signing_scheme: r.signing_scheme.map(|s| s.to_string()).unwrap_or_default(),
            signer: r.signer.clone().unwrap_or_default(),
            accepted: r.accepted,
            checks: r
                .checks
                .iter()
                .map(|c| v1::CheckResult {
                    check: c.check.as_str().to_owned(),
                    status: match c.status {
                        CheckStatus::Passed => "passed",
                        CheckStatus::Failed => "failed",
                        CheckStatus::Logged => "logged",
                        CheckStatus::Skipped => "skipped",
                    }
                    .to_owned(),
                    detail: c.detail.clone().unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}

/// Counters for `Status`.
#[derive(Default)]
pub struct Counters {
    by_outcome: [AtomicU64; 6],
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    /// Successful reloads.
    pub reloads_succeeded: AtomicU64,
    /// Failed reloads.
    pub reloads_failed: AtomicU64,
    /// The last reload's error ("" after a success).
    pub last_reload_error: Mutex<String>,
}

/// Who else is asking for the same thing: requests with the same key share one run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FlightKey {
    generation: u64,
    namespace: Option<String>,
    scope: String,
    target: String,
    /// A hash of the request's credentials: callers with different credentials do not share
    /// a run (one caller's access must not decide another's answer).
    credentials: u64,
}

/// Everything the service shares.
pub struct DaemonState {
    snapshot: RwLock<Arc<Snapshot>>,
    cache: VerdictCache<Decision>,
    flights: SingleFlight<FlightKey, (Arc<Decision>, bool)>,
    client: RegistryClient,
    fresh_slots: Arc<Semaphore>,
    max_fresh: usize,
    /// Each client's share of the fresh slots, by (uid, pid); entries go when unused.
    client_slots: Mutex<HashMap<ClientKey, Arc<Semaphore>>>,
    per_client: usize,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    audit: AuditLog,
    /// Counters.
    pub counters: Counters,
    serving: AtomicBool,
    /// HTTP requests sent to registries (all verifications).
    registry_requests: AtomicU64,
}

impl DaemonState {
    /// Shared state around a first snapshot.
    pub fn new(snapshot: Snapshot, metrics: Arc<Metrics>, audit: AuditLog) -> Self {
        let config = &snapshot.config;
        let client = RegistryClient::new(
            ClientOptions {
                connect_timeout: config.connect_timeout,
                request_timeout: config.request_timeout,
                ..ClientOptions::default()
            },
            Arc::new(NoCredentials),
        );
        metrics.generation.set(snapshot.generation as i64);
        Self {
            cache: VerdictCache::new(config.cache_max_entries, config.cache_ttl),
            flights: SingleFlight::default(),
            client,
            fresh_slots: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            max_fresh: config.max_concurrent_requests,
            client_slots: Mutex::new(HashMap::new()),
            per_client: config.max_concurrent_requests_per_client,
            metrics,
            audit,
            counters: Counters::default(),
            serving: AtomicBool::new(true),
            registry_requests: AtomicU64::new(0),
            snapshot: RwLock::new(Arc::new(snapshot)),
        }
    }

    /// Opens the audit log file again (after log rotation).
    pub fn reopen_audit_log(&self) -> std::io::Result<()> {
        self.audit.reopen()
    }

    /// The snapshot serving now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Swaps in a new snapshot; verdicts of older generations are dropped.
    pub fn install(&self, snapshot: Snapshot) {
        let generation = snapshot.generation;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
        self.cache.retain_generation(generation);
        self.metrics.generation.set(generation as i64);
    }

    /// The semaphore of one client's share of fresh verifications. Entries of clients with
    /// nothing running are dropped here, so the map holds only active clients.
    fn client_semaphore(&self, key: ClientKey) -> Arc<Semaphore> {
        let mut map = self.client_slots.lock().unwrap_or_else(|e| e.into_inner());
        let per_client = self.per_client;
        map.retain(|k, s| {
            *k == key || Arc::strong_count(s) > 1 || s.available_permits() < per_client
        });
        Arc::clone(
            map.entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(per_client))),
        )
    }

    /// HTTP requests sent to registries so far.
    pub fn registry_requests(&self) -> u64 {
        self.registry_requests.load(Ordering::Relaxed)
    }

    /// Marks the daemon as shutting down (Health answers NOT_SERVING).
    pub fn stop_serving(&self) {
        self.serving.store(false, Ordering::SeqCst);
    }

    /// Verdicts cached now.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Refreshes gauges computed at scrape time.
    pub fn refresh_gauges(&self) {
        let snapshot = self.snapshot();
        let age = snapshot.revocation_created_at.map_or(-1.0, |created| {
            let now = crate::clock::now();
            (now.unix_nanos() - created.unix_nanos()) as f64 / 1e9
        });
        self.metrics.revocation_age.set(age);
    }
}

/// The gRPC service.
#[derive(Clone)]
pub struct VerifierService {
    state: Arc<DaemonState>,
}

impl VerifierService {
    /// A service over `state`.
    pub fn new(state: Arc<DaemonState>) -> Self {
        Self { state }
    }
}

/// Who is asking: the peer's uid and pid (from the unix socket's credentials).
type ClientKey = (u32, i32);

/// A checked request.
#[derive(Clone)]
struct Checked {
    client: Option<ClientKey>,
    reference: Reference,
    reference_text: String,
    descriptor_digest: Option<Digest>,
    namespace: Option<String>,
    credential: Option<Credential>,
    report_format: v1::ReportFormat,
    cache_only: bool,
}

fn check_request(req: v1::VerifyRequest) -> Result<Checked, Status> {
    if req.reference.is_empty() {
        return Err(Status::invalid_argument("reference: required"));
    }
    if req.reference.len() > MAX_REFERENCE_LEN {
        return Err(Status::invalid_argument(format!(
            "reference: {} bytes, more than {MAX_REFERENCE_LEN}",
            req.reference.len()
        )));
    }
    let reference = Reference::parse(&req.reference)
        .map_err(|e| Status::invalid_argument(format!("reference: {e}")))?;
    let descriptor_digest = match &req.descriptor {
        None => None,
        Some(d) => {
            let digest = Digest::parse(&d.digest)
                .map_err(|e| Status::invalid_argument(format!("descriptor.digest: {e}")))?;
            if d.size < 0 {
                return Err(Status::invalid_argument(format!(
                    "descriptor.size: {} is negative",
                    d.size
                )));
            }
            if d.media_type.len() > MAX_MEDIA_TYPE_LEN
                || d.media_type
                    .bytes()
                    .any(|b| b.is_ascii_control() || b == b' ')
            {
                return Err(Status::invalid_argument(
                    "descriptor.media_type: not a media type",
                ));
            }
            if let Some(r) = reference.digest()
                && *r != digest
            {
                return Err(Status::invalid_argument(format!(
                    "descriptor.digest: {digest} differs from the reference's digest {r}"
                )));
            }
            Some(digest)
        }
    };
    let namespace = if req.namespace.is_empty() {
        None
    } else {
        crate::config::check_namespace(&req.namespace)
            .map_err(|e| Status::invalid_argument(format!("namespace: {e}")))?;
        Some(req.namespace)
    };
    let credential = match req.auth {
        None => None,
        // containerd's order: a username first, then an identity token.
        Some(a) if !a.username.is_empty() => Some(Credential::Basic {
            username: a.username,
            password: a.password,
        }),
        Some(a) if !a.identity_token.is_empty() => {
            Some(Credential::IdentityToken(a.identity_token))
        }
        Some(a) if !a.password.is_empty() => Some(Credential::Basic {
            username: a.username,
            password: a.password,
        }),
        Some(_) => None,
    };
    let report_format =
        v1::ReportFormat::try_from(req.report_format).unwrap_or(v1::ReportFormat::None);
    Ok(Checked {
        client: None,
        reference_text: reference.to_string(),
        reference,
        descriptor_digest,
        namespace,
        credential,
        report_format,
        cache_only: req.cache_only,
    })
}

fn credential_hash(c: &Option<Credential>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match c {
        None => 0u8.hash(&mut h),
        Some(Credential::Basic { username, password }) => {
            1u8.hash(&mut h);
            username.hash(&mut h);
            password.hash(&mut h);
        }
        Some(Credential::IdentityToken(t)) => {
            2u8.hash(&mut h);
            t.hash(&mut h);
        }
    }
    h.finish()
}

impl VerifierService {
    async fn decide(&self, checked: &Checked) -> (Arc<Decision>, bool) {
        let state = &self.state;
        let snapshot = state.snapshot();
        let reference = &checked.reference;
        let scope = reference.scope();
        let (_, ns_key) = snapshot.policy_for(checked.namespace.as_deref());
        let ns_key = ns_key.map(str::to_owned);
        let known_digest = reference
            .digest()
            .cloned()
            .or_else(|| checked.descriptor_digest.clone());

        if let Some(d) = &known_digest {
            if is_exempt(&snapshot.config.exempt, reference, d) {
                return (
                    Arc::new(exempt_decision(&scope, d, snapshot.generation)),
                    false,
                );
            }
            let key = CacheKey {
                generation: snapshot.generation,
                namespace: ns_key.clone(),
                scope: scope.clone(),
                digest: d.to_string(),
            };
            if let Some(hit) = state.cache.get(&key, crate::clock::monotonic()) {
                return (hit, true);
            }
        }
        if checked.cache_only {
            return (Arc::new(Decision::not_cached(snapshot.generation)), false);
        }
        let flight = FlightKey {
            generation: snapshot.generation,
            namespace: ns_key.clone(),
            scope,
            target: known_digest.as_ref().map_or_else(
                || format!("tag:{}", reference.tag().unwrap_or("latest")),
                ToString::to_string,
            ),
            credentials: credential_hash(&checked.credential),
        };
        let generation = snapshot.generation;
        let work = self
            .clone()
            .fresh(checked.clone(), snapshot, ns_key, known_digest);
        match state.flights.run(flight, work).await {
            (Some((decision, cached)), _) => (decision, cached),
            (None, _) => (
                Arc::new(Decision::error(
                    "internal error: the verification task failed".into(),
                    None,
                    generation,
                )),
                false,
            ),
        }
    }

    /// Takes a slot for one fresh verification: one of the client's share, then one of the
    /// daemon's, each waited for at most [`QUEUE_WAIT`].
    async fn slots(
        &self,
        client: Option<ClientKey>,
        generation: u64,
    ) -> Result<(Option<OwnedSemaphorePermit>, OwnedSemaphorePermit), Arc<Decision>> {
        let state = &self.state;
        let overloaded = |reason: String| Arc::new(Decision::overloaded(reason, generation));
        let client_permit = match client {
            None => None,
            Some(key) => {
                let sem = state.client_semaphore(key);
                match tokio::time::timeout(QUEUE_WAIT, sem.acquire_owned()).await {
                    Ok(Ok(p)) => Some(p),
                    _ => {
                        return Err(overloaded(format!(
                            "this client (uid {}, pid {}) already has {} verifications running; none finished within {QUEUE_WAIT:?}",
                            key.0, key.1, state.per_client
                        )));
                    }
                }
            }
        };
        match tokio::time::timeout(QUEUE_WAIT, Arc::clone(&state.fresh_slots).acquire_owned()).await
        {
            Ok(Ok(p)) => Ok((client_permit, p)),
            _ => Err(overloaded(format!(
                "{} verifications are already running; none finished within {QUEUE_WAIT:?}",
                state.max_fresh
            ))),
        }
    }

    /// One verification against the registry, run in its own task by the single flight.
    /// Returns the decision and whether it came from the cache (a tag whose digest, once
    /// resolved, was already decided).
    async fn fresh(
        self,
        checked: Checked,
        snapshot: Arc<Snapshot>,
        ns_key: Option<String>,
        known_digest: Option<Digest>,
    ) -> (Arc<Decision>, bool) {
        let state = &self.state;
        let config = &snapshot.config;
        let reference = &checked.reference;
        let scope = reference.scope();
        let generation = snapshot.generation;
        let _permits = match self.slots(checked.client, generation).await {
            Ok(p) => p,
            Err(overloaded) => return (overloaded, false),
        };

        // hosts.toml, its certificate files: file reads, off the async threads.
        let lookup = {
            let (hosts_dir, registry) = (config.hosts_dir.clone(), reference.registry().to_owned());
            tokio::task::spawn_blocking(move || endpoints_for(&hosts_dir, &registry, false)).await
        };
        let endpoints = match lookup {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                self.count_registry_error(&e);
                return (
                    Arc::new(Decision::error(e.to_string(), None, generation)),
                    false,
                );
            }
            Err(e) => {
                return (
                    Arc::new(Decision::error(
                        format!("internal error: reading the hosts directory: {e}"),
                        None,
                        generation,
                    )),
                    false,
                );
            }
        };
        // Credential helpers are programs that may take seconds: ask them once, before the
        // requests, for every host this verification may contact.
        let credentials = {
            let mut hosts: Vec<String> = endpoints.iter().map(|e| e.host.clone()).collect();
            hosts.push(reference.registry().to_owned());
            hosts.push(reference.api_host().to_owned());
            hosts.sort();
            hosts.dedup();
            let chain = crate::service::credential_chain(
                checked.credential.clone(),
                reference,
                Box::new(SharedDockerConfig(Arc::clone(&snapshot.docker_config))),
            );
            let mut answers = HashMap::with_capacity(hosts.len());
            for h in hosts {
                let answer = chain.credential(&h).await.map_err(|e| e.to_string());
                answers.insert(h, answer);
            }
            PreResolved(answers)
        };
        let client = state.client.with_credentials(Arc::new(credentials));
        let request = crate::service::registry_request(
            reference,
            RequestOptions {
                known_digest: known_digest.clone(),
                user_metadata: BTreeMap::new(),
                time: crate::clock::now(),
                platform_signatures: config.platform_signatures,
                platform: Platform::host(),
                total_timeout: config.verify_timeout,
            },
        );
        let (policy_set, _) = snapshot.policy_for(ns_key.as_deref());
        let verifier = match Verifier::new(
            &policy_set.policy,
            &policy_set.trust_store,
            snapshot.revocation.as_ref(),
            snapshot.limits.clone(),
        ) {
            Ok(v) => v,
            Err(e) => {
                return (
                    Arc::new(Decision::error(e.to_string(), None, generation)),
                    false,
                );
            }
        };
        /// What the registry work found.
        enum Found {
            Decided(Box<Decision>, CacheKey),
            Cached(Arc<Decision>),
        }
        let work = async {
            let resolved = resolve_target(
                &client,
                &endpoints,
                &request,
                snapshot.limits.max_manifest_bytes,
            )
            .await?;
            let descriptor = resolved.descriptor();
            let key = CacheKey {
                generation,
                namespace: ns_key.clone(),
                scope: scope.clone(),
                digest: descriptor.digest.to_string(),
            };
            if known_digest.is_none() {
                // A tag: now that it is resolved, the digest may be exempt or already decided.
                if is_exempt(&config.exempt, reference, &descriptor.digest) {
                    return Ok(Found::Decided(
                        Box::new(exempt_decision(&scope, &descriptor.digest, generation)),
                        key,
                    ));
                }
                if let Some(hit) = state.cache.get(&key, crate::clock::monotonic()) {
                    return Ok(Found::Cached(hit));
                }
            }
            let v = verify_resolved(&client, &verifier, &endpoints, &request, &resolved).await?;
            Ok::<_, RegistryError>(Found::Decided(
                Box::new(Decision::from_verification(v, generation)),
                key,
            ))
        };
        let result = match tokio::time::timeout(config.verify_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(RegistryError::Timeout {
                what: format!("verification of {scope}"),
                after: config.verify_timeout,
            }),
        };
        state
            .registry_requests
            .fetch_add(client.requests_made() as u64, Ordering::Relaxed);
        match result {
            Ok(Found::Decided(decision, key)) => {
                let decision: Arc<Decision> = Arc::from(decision);
                if matches!(
                    decision.outcome(),
                    Outcome::Accepted | Outcome::Skipped | Outcome::Rejected
                ) {
                    let ttl = decision.cache_ttl(config, crate::clock::now());
                    state.cache.insert_for(
                        key,
                        Arc::clone(&decision),
                        crate::clock::monotonic(),
                        ttl,
                    );
                }
                (decision, false)
            }
            Ok(Found::Cached(hit)) => (hit, true),
            Err(e) => {
                self.count_registry_error(&e);
                (
                    Arc::new(Decision::error(e.to_string(), None, generation)),
                    false,
                )
            }
        }
    }

    fn count_registry_error(&self, e: &RegistryError) {
        self.state
            .metrics
            .registry_errors
            .get_or_create(&KindLabels {
                kind: e.kind().to_owned(),
            })
            .inc();
    }

    fn respond(
        &self,
        checked: &Checked,
        decision: &Decision,
        cached: bool,
        started: Instant,
    ) -> v1::VerifyResponse {
        let state = &self.state;
        let elapsed = started.elapsed().as_secs_f64();
        let outcome = decision.outcome();
        state.counters.by_outcome[Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0)]
            .fetch_add(1, Ordering::Relaxed);
        if cached {
            state.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            state.counters.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        state.metrics.observe(outcome.as_str(), cached, elapsed);
        let allowed = decision.allowed();
        if state.audit.enabled() {
            let digest = decision.target().map(|t| t.digest.to_string());
            let record = AuditRecord {
                time: crate::clock::now().to_string(),
                reference: &checked.reference_text,
                digest: digest.as_deref(),
                namespace: checked.namespace.as_deref(),
                policy: decision.policy_name(),
                outcome: outcome.as_str(),
                allowed,
                signer: decision.signer(),
                reason: decision.reason(),
                cached,
                duration_ms: elapsed * 1000.0,
                generation: decision.generation(),
            };
            if let Err(e) = state.audit.write(&record) {
                tracing::error!(error = %e, "audit log write failed");
            }
        }
        if !allowed {
            tracing::info!(
                reference = %checked.reference_text,
                outcome = outcome.as_str(),
                reason = %decision.reason(),
                "denied"
            );
        }
        v1::VerifyResponse {
            allowed,
            outcome: proto_outcome(outcome) as i32,
            reason: decision.reason().to_owned(),
            verified: decision
                .target()
                .filter(|_| allowed)
                .map(|t| v1::Descriptor {
                    media_type: t.media_type.clone(),
                    digest: t.digest.to_string(),
                    size: i64::try_from(t.size).unwrap_or(i64::MAX),
                }),
            trust_policy: decision.policy_name().unwrap_or_default().to_owned(),
            fully_trusted: decision.fully_trusted(),
            cached,
            signatures: signature_reports(decision),
            generation: decision.generation(),
            report: report(decision, &checked.reference_text, checked.report_format),
        }
    }
}

/// Credentials looked up ahead of a verification, per host (helpers are programs; they run
/// once per verification, not once per request). A host not looked up has none.
struct PreResolved(HashMap<String, Result<Option<Credential>, String>>);

impl CredentialSource for PreResolved {
    fn credential<'a>(
        &'a self,
        registry_host: &'a str,
    ) -> crate::registry::credentials::CredentialFuture<'a> {
        let answer = match self.0.get(registry_host) {
            None => Ok(None),
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(e)) => Err(crate::registry::credentials::CredentialError::Earlier(
                e.clone(),
            )),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// docker's config.json of the snapshot, as a credential source.
struct SharedDockerConfig(Arc<crate::registry::credentials::DockerConfig>);

impl CredentialSource for SharedDockerConfig {
    fn credential<'a>(
        &'a self,
        registry_host: &'a str,
    ) -> crate::registry::credentials::CredentialFuture<'a> {
        self.0.credential(registry_host)
    }
}

#[tonic::async_trait]
impl v1::verifier_server::Verifier for VerifierService {
    async fn verify(
        &self,
        request: Request<v1::VerifyRequest>,
    ) -> Result<Response<v1::VerifyResponse>, Status> {
        let started = crate::clock::monotonic();
        let client = request
            .extensions()
            .get::<tonic::transport::server::UdsConnectInfo>()
            .and_then(|i| i.peer_cred)
            .and_then(|c| c.pid().map(|pid| (c.uid(), pid)));
        let mut checked = check_request(request.into_inner())?;
        checked.client = client;
        let (decision, cached) = self.decide(&checked).await;
        let response = self.respond(&checked, &decision, cached, started);
        if decision.overload() {
            return Err(Status::resource_exhausted(decision.reason().to_owned()));
        }
        Ok(Response::new(response))
    }

    async fn health(
        &self,
        _request: Request<v1::HealthRequest>,
    ) -> Result<Response<v1::HealthResponse>, Status> {
        let status = if self.state.serving.load(Ordering::SeqCst) {
            v1::health_response::ServingStatus::Serving
        } else {
            v1::health_response::ServingStatus::NotServing
        };
        Ok(Response::new(v1::HealthResponse {
            status: status as i32,
        }))
    }

    async fn status(
        &self,
        _request: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let state = &self.state;
        let snapshot = state.snapshot();
        let c = &state.counters;
        Ok(Response::new(v1::StatusResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            generation: snapshot.generation,
            loaded: Some(v1::LoadedVersions {
                trust_policy: snapshot.versions.trust_policy.clone(),
                trust_stores: snapshot.versions.trust_stores.clone(),
                revocation_set: snapshot.versions.revocation_set.clone(),
                namespace_policies: snapshot
                    .versions
                    .namespace_policies
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }),
            loaded_at: snapshot.loaded_at.to_string(),
            last_reload_error: c
                .last_reload_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
            reloads_succeeded: c.reloads_succeeded.load(Ordering::Relaxed),
            reloads_failed: c.reloads_failed.load(Ordering::Relaxed),
            verifications: Outcome::ALL
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    (
                        o.as_str().to_owned(),
                        c.by_outcome[i].load(Ordering::Relaxed),
                    )
                })
                .collect(),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            cache_misses: c.cache_misses.load(Ordering::Relaxed),
            cache_entries: state.cache_len() as u64,
            revocation_set_created_at: snapshot
                .revocation_created_at
                .map(|t: Timestamp| t.to_string())
                .unwrap_or_default(),
            registry_requests: state.registry_requests(),
        }))
    }
}
