//! The decision for one request, shared by every adapter: exemptions, the verdict cache,
//! single flight, the fresh-verification slots, the registry work and the audit record.
//! Nothing here speaks a wire format: the gRPC service (`daemon::service`) and the CRI proxy
//! (`cri`) turn their requests into a [`DecisionRequest`] and their answers out of a
//! [`Decision`].
//!
//! A pull is allowed only when the decision holds the core's proof (an accepted verification)
//! or the image is explicitly exempt by digest. Everything else — rejection, unreachable
//! registry, deadline, overload, internal error — is a denial that says why.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::audit::{AuditLog, AuditRecord};
use super::cache::{CacheKey, SingleFlight, VerdictCache};
use super::metrics::{KindLabels, Metrics};
use super::snapshot::Snapshot;
use super::{Decision, Outcome, RequestOptions, exempt_decision, is_exempt};
use crate::reference::Reference;
use crate::registry::auth::AuthCache;
use crate::registry::budget::BodyBudget;
use crate::registry::client::{ClientOptions, RegistryClient};
use crate::registry::credentials::{Credential, CredentialSource, Memoized, NoCredentials};
use crate::registry::discovery::{resolve_target, verify_resolved};
use crate::registry::endpoints::endpoints_for;
use crate::registry::error::RegistryError;
use crate::verify::descriptor::Digest;
use crate::verify::verifier::Verifier;

/// Longest reference accepted.
pub const MAX_REFERENCE_LEN: usize = 4096;
/// How long a fresh verification waits for a free slot before it is refused.
pub(crate) const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Who is asking: the peer's uid and pid (from the unix socket's credentials).
pub(crate) type ClientKey = (u32, i32);

/// One request for a decision, checked by the adapter that received it.
#[derive(Clone, Debug)]
pub struct DecisionRequest {
    /// The asking process, when the adapter knows it (its share of the fresh slots).
    pub client: Option<ClientKey>,
    /// The image reference.
    pub reference: Reference,
    /// The reference as text, for the audit line and reports.
    pub reference_text: String,
    /// The digest the caller already resolved (containerd's descriptor), if any.
    pub descriptor_digest: Option<Digest>,
    /// The Kubernetes namespace whose policy applies, if any.
    pub namespace: Option<String>,
    /// The caller's own credential for the reference's registry.
    pub credential: Option<Credential>,
    /// Answer from the cache only; never verify.
    pub cache_only: bool,
}

/// A request field the use case refuses; the text names the field.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    /// No reference.
    #[error("reference: required")]
    MissingReference,
    /// A reference over [`MAX_REFERENCE_LEN`].
    #[error("reference: {0} bytes, more than {MAX_REFERENCE_LEN}")]
    ReferenceTooLong(usize),
    /// A reference that does not parse.
    #[error("reference: {0}")]
    Reference(crate::reference::ReferenceError),
    /// A namespace that is not a Kubernetes namespace name.
    #[error("namespace: {0}")]
    Namespace(String),
}

/// The reference of a request, checked: present, not too long, parsed.
pub(crate) fn check_reference(text: &str) -> Result<Reference, RequestError> {
    if text.is_empty() {
        return Err(RequestError::MissingReference);
    }
    if text.len() > MAX_REFERENCE_LEN {
        return Err(RequestError::ReferenceTooLong(text.len()));
    }
    Reference::parse(text).map_err(RequestError::Reference)
}

/// The namespace of a request, checked ("" is none).
pub(crate) fn check_namespace(namespace: String) -> Result<Option<String>, RequestError> {
    if namespace.is_empty() {
        return Ok(None);
    }
    crate::config::check_namespace(&namespace)
        .map_err(|e| RequestError::Namespace(e.to_string()))?;
    Ok(Some(namespace))
}

/// A caller's registry credential from the fields containerd and the CRI carry, in
/// containerd's order: a username first, then an identity token, then a bare password.
pub(crate) fn credential_from(
    username: String,
    password: String,
    identity_token: String,
) -> Option<Credential> {
    if !username.is_empty() {
        Some(Credential::Basic { username, password })
    } else if !identity_token.is_empty() {
        Some(Credential::IdentityToken(identity_token))
    } else if !password.is_empty() {
        Some(Credential::Basic { username, password })
    } else {
        None
    }
}

/// Counters for the daemon's `Status` answer.
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

impl Counters {
    /// Answers so far per outcome, by the outcome's name.
    pub fn verifications(&self) -> Vec<(&'static str, u64)> {
        Outcome::ALL
            .iter()
            .enumerate()
            .map(|(i, o)| (o.as_str(), self.by_outcome[i].load(Ordering::Relaxed)))
            .collect()
    }

    /// Answers that came from the verdict cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// Answers that did not come from the verdict cache.
    pub fn cache_misses(&self) -> u64 {
        self.cache_misses.load(Ordering::Relaxed)
    }
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

/// The use case every adapter calls: one per daemon, shared by the gRPC service, the CRI
/// proxy and whatever adapter comes next. It holds the snapshot serving now, the verdict
/// cache, the single flight, the fresh-verification slots, the audit log and the counters.
pub struct Decider {
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
    /// Repeated identical decisions are logged once per interval (the audit log has them all).
    decisions: DecisionLog,
    /// Token caches, one per (snapshot generation, caller's credential), each keyed by
    /// registry host inside: a token fetched for one verification serves the next made with
    /// the same credentials at the same host until it expires; it is never sent to another
    /// host, used with other credentials, nor kept past a reload.
    tokens: Mutex<HashMap<TokenCacheKey, Arc<AuthCache>>>,
    /// Every registry body of every verification is read within it.
    budget: Arc<BodyBudget>,
    /// Fresh verifications holding their slots now.
    fresh_running: AtomicUsize,
    /// Fresh verifications that took their slots since start.
    fresh_started: AtomicU64,
}

/// What the fresh verifications have done, for whoever gives memory back after a burst
/// (`daemon::memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activity {
    /// Fresh verifications running now.
    pub running: usize,
    /// Fresh verifications started since the daemon started.
    pub started: u64,
    /// Bytes of registry bodies read since the daemon started (taken from the body budget).
    pub body_bytes: u64,
}

/// Counts one fresh verification as running while it lives.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type TokenCacheKey = (u64, Option<Credential>);

/// Token caches kept at most (callers' credentials vary): the map starts over when full. With
/// each cache's own caps this bounds what tokens hold at about 64 MiB.
const MAX_TOKEN_CACHES: usize = 64;

impl Decider {
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
        let budget = Arc::new(BodyBudget::new(config.max_body_bytes_in_flight));
        let client = client.with_body_budget(Arc::clone(&budget));
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
            decisions: DecisionLog::default(),
            tokens: Mutex::new(HashMap::new()),
            budget,
            fresh_running: AtomicUsize::new(0),
            fresh_started: AtomicU64::new(0),
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

    /// What fresh verifications are doing and have done.
    pub fn activity(&self) -> Activity {
        Activity {
            running: self.fresh_running.load(Ordering::SeqCst),
            started: self.fresh_started.load(Ordering::SeqCst),
            body_bytes: self.budget.bytes_taken(),
        }
    }

    /// The budget of registry bodies in memory every verification reads within.
    pub fn body_budget(&self) -> &BodyBudget {
        &self.budget
    }

    /// HTTP requests sent to registries so far.
    pub fn registry_requests(&self) -> u64 {
        self.registry_requests.load(Ordering::Relaxed)
    }

    /// Marks the daemon as shutting down (Health answers NOT_SERVING).
    pub fn stop_serving(&self) {
        self.serving.store(false, Ordering::SeqCst);
    }

    /// Whether the daemon still serves (false once it is shutting down).
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::SeqCst)
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

impl Decider {
    /// Decides on one request: an exemption, a cached verdict, or a fresh verification
    /// (shared with identical requests in flight, within the slots). Returns the decision and
    /// whether it came from the cache. The caller answers with it through the [`Pending`]
    /// that [`Decider::begin`] gave it.
    pub async fn decide(self: &Arc<Self>, checked: &DecisionRequest) -> (Arc<Decision>, bool) {
        let state = &**self;
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
        let work = Arc::clone(self).fresh(checked.clone(), snapshot, ns_key, known_digest);
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

    /// Decides on one request for a process that asks once and exits (`notaryd verify
    /// REF`): the exemption check and the fresh verification of [`Decider::decide`], run in
    /// the caller's task (a one-shot process has no cache to read and no flight to share),
    /// after which the decider, its cache included, is dropped, so the decision is the
    /// caller's alone on any runtime. Also returns the HTTP requests the decision took.
    pub(crate) async fn decide_once(self, request: &DecisionRequest) -> (Decision, u64) {
        let decider = Arc::new(self);
        let snapshot = decider.snapshot();
        let (_, ns_key) = snapshot.policy_for(request.namespace.as_deref());
        let ns_key = ns_key.map(str::to_owned);
        let known_digest = request
            .reference
            .digest()
            .cloned()
            .or_else(|| request.descriptor_digest.clone());
        let generation = snapshot.generation;
        if let Some(d) = &known_digest
            && is_exempt(&snapshot.config.exempt, &request.reference, d)
        {
            return (
                exempt_decision(&request.reference.scope(), d, generation),
                0,
            );
        }
        // Nothing is cached yet and no one shares the flight: the verification runs in this
        // task, not in one the single flight would spawn, so that nothing but the cache holds
        // the decision when it returns, whatever the runtime.
        let (decision, _) = Arc::clone(&decider)
            .fresh(request.clone(), snapshot, ns_key, known_digest)
            .await;
        let requests = decider.registry_requests();
        drop(decider);
        let decision = Arc::try_unwrap(decision).unwrap_or_else(|shared| {
            Decision::error(
                format!(
                    "internal error: the decision is still shared: {}",
                    shared.reason()
                ),
                None,
                generation,
            )
        });
        (decision, requests)
    }

    /// Takes a slot for one fresh verification: one of the client's share, then one of the
    /// daemon's, each waited for at most [`QUEUE_WAIT`].
    async fn slots(
        &self,
        client: Option<ClientKey>,
        generation: u64,
    ) -> Result<(Option<OwnedSemaphorePermit>, OwnedSemaphorePermit), Arc<Decision>> {
        let state = self;
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
        self: Arc<Self>,
        checked: DecisionRequest,
        snapshot: Arc<Snapshot>,
        ns_key: Option<String>,
        known_digest: Option<Digest>,
    ) -> (Arc<Decision>, bool) {
        let state = &*self;
        let config = &snapshot.config;
        let reference = &checked.reference;
        let scope = reference.scope();
        let generation = snapshot.generation;
        let _permits = match self.slots(checked.client, generation).await {
            Ok(p) => p,
            Err(overloaded) => return (overloaded, false),
        };
        self.fresh_running.fetch_add(1, Ordering::SeqCst);
        self.fresh_started.fetch_add(1, Ordering::SeqCst);
        let _running = Running(&self.fresh_running);

        // hosts.toml, its certificate files: file reads, off the async threads.
        let lookup = {
            let (hosts_dir, registry) = (config.hosts_dir.clone(), reference.registry().to_owned());
            let plain_http = snapshot.plain_http;
            tokio::task::spawn_blocking(move || endpoints_for(&hosts_dir, &registry, plain_http))
                .await
        };
        let endpoints = match lookup {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                self.count_registry_error(&e);
                return (Arc::new(Decision::registry_error(e, generation)), false);
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
        // Asked lazily, at most once per host, inside the deadline below: a helper runs only
        // for a host this verification contacts.
        let credentials = Memoized::new(crate::service::credential_chain(
            checked.credential.clone(),
            reference,
            Box::new(SharedDockerConfig(Arc::clone(&snapshot.docker_config))),
        ));
        let client = state.client.with_credentials_and_tokens(
            Arc::new(credentials),
            self.tokens_for(generation, &checked.credential),
        );
        let request = crate::service::registry_request(
            reference,
            RequestOptions {
                known_digest: known_digest.clone(),
                user_metadata: snapshot.user_metadata.clone(),
                time: crate::clock::now(),
                platform_signatures: config.platform_signatures,
                platform: snapshot.platform.clone(),
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
                (Arc::new(Decision::registry_error(e, generation)), false)
            }
        }
    }

    /// The token cache for verifications under `generation` with the caller's `credential`.
    fn tokens_for(&self, generation: u64, credential: &Option<Credential>) -> Arc<AuthCache> {
        let Ok(mut caches) = self.tokens.lock() else {
            return Arc::default();
        };
        // Caches of older snapshots are never asked again.
        caches.retain(|(g, _), _| *g == generation);
        if caches.len() >= MAX_TOKEN_CACHES {
            caches.clear();
        }
        Arc::clone(caches.entry((generation, credential.clone())).or_default())
    }

    fn count_registry_error(&self, e: &RegistryError) {
        self.metrics
            .registry_errors
            .get_or_create(&KindLabels {
                kind: e.kind().to_owned(),
            })
            .inc();
    }

    /// Starts one request's record: the audit line is written when the adapter answers
    /// ([`Pending::answered`]), or, when the request ends without an answer (the client went
    /// away, the daemon stopped at the end of its grace period), when the guard is dropped —
    /// so every request that reached the use case is logged exactly once.
    pub fn begin(self: &Arc<Self>, request: &DecisionRequest, started: Instant) -> Pending {
        Pending {
            decider: Arc::clone(self),
            reference: request.reference_text.clone(),
            namespace: request.namespace.clone(),
            started,
            answered: false,
        }
    }

    /// Counts and records one answer: the status counters, the metrics, the audit line, and a
    /// log line for a denial. Called through [`Pending::answered`], once per request.
    fn record(
        &self,
        checked: &DecisionRequest,
        decision: &Decision,
        cached: bool,
        started: Instant,
    ) {
        let state = self;
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
        // One line per decision, allowed ones included; a decision repeated unchanged (a
        // kubelet retrying a refused pull, a cached verdict asked again) once a minute.
        if let Some(suppressed) = state.decisions.should_log(
            &checked.reference_text,
            decision.reason(),
            crate::clock::monotonic(),
        ) {
            tracing::info!(
                reference = %checked.reference_text,
                outcome = outcome.as_str(),
                reason = %decision.reason(),
                cached,
                identical_since_last = suppressed,
                "{}",
                if allowed { "allowed" } else { "denied" }
            );
        }
    }
}

/// How often one decision (the same reference and reason) is logged at most. A node whose
/// kubelet retries a refused pull asks again and again; the log says so once a minute with the
/// count, and the audit log keeps every answer.
pub(crate) const DECISION_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Most distinct decisions remembered for [`DECISION_LOG_INTERVAL`]; past it, older ones are
/// forgotten (and logged again when they recur).
const MAX_DECISIONS_REMEMBERED: usize = 4096;

/// Which decisions were logged when, and how many identical ones were not since.
#[derive(Default)]
struct DecisionLog {
    /// Hash of (reference, reason) → when it was last logged, and how often since.
    seen: Mutex<HashMap<u64, (Instant, u64)>>,
}

impl DecisionLog {
    /// Whether to log this decision now: `Some(n)` with the identical decisions not logged since
    /// the last time, `None` to stay quiet.
    fn should_log(&self, reference: &str, reason: &str, now: Instant) -> Option<u64> {
        // A hash, not copies of the strings: this runs on every answer, cached ones included.
        // A collision only merges two decisions' log lines; the audit log has both.
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (reference, reason).hash(&mut h);
            h.finish()
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((logged, suppressed)) = seen.get_mut(&key) {
            if now.saturating_duration_since(*logged) < DECISION_LOG_INTERVAL {
                *suppressed += 1;
                return None;
            }
            let n = *suppressed;
            *logged = now;
            *suppressed = 0;
            return Some(n);
        }
        if seen.len() >= MAX_DECISIONS_REMEMBERED {
            seen.retain(|_, (logged, _)| {
                now.saturating_duration_since(*logged) < DECISION_LOG_INTERVAL
            });
            if seen.len() >= MAX_DECISIONS_REMEMBERED {
                seen.clear();
            }
        }
        seen.insert(key, (now, 0));
        Some(0)
    }
}

/// One request between [`Decider::begin`] and its answer. See [`Decider::begin`].
pub struct Pending {
    decider: Arc<Decider>,
    reference: String,
    namespace: Option<String>,
    started: Instant,
    answered: bool,
}

impl Pending {
    /// Records the answer given for `request`.
    pub fn answered(mut self, request: &DecisionRequest, decision: &Decision, cached: bool) {
        self.answered = true;
        self.decider.record(request, decision, cached, self.started);
    }
}

/// Why a request that reached the use case ended without an answer.
pub(crate) const UNANSWERED: &str = "no answer: the request ended first (the client went away, or the daemon stopped at the \
     end of its shutdown grace period)";

impl Drop for Pending {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let d = &self.decider;
        let elapsed = self.started.elapsed().as_secs_f64();
        d.metrics.observe(Outcome::Error.as_str(), false, elapsed);
        if d.audit.enabled() {
            let record = AuditRecord {
                time: crate::clock::now().to_string(),
                reference: &self.reference,
                digest: None,
                namespace: self.namespace.as_deref(),
                policy: None,
                outcome: Outcome::Error.as_str(),
                allowed: false,
                signer: None,
                reason: UNANSWERED,
                cached: false,
                duration_ms: elapsed * 1000.0,
                generation: d.snapshot().generation,
            };
            if let Err(e) = d.audit.write(&record) {
                tracing::error!(error = %e, "audit log write failed");
            }
        }
        tracing::warn!(reference = %self.reference, "{UNANSWERED}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_decisions_are_logged_once_per_interval_with_the_count() {
        let log = DecisionLog::default();
        let t0 = crate::clock::monotonic();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(log.should_log("a", "no signature", at(0)), Some(0));
        for i in 1..=5 {
            assert_eq!(log.should_log("a", "no signature", at(i)), None);
        }
        // Another reason or reference is its own denial.
        assert_eq!(log.should_log("a", "expired", at(6)), Some(0));
        assert_eq!(log.should_log("b", "no signature", at(7)), Some(0));
        // A minute after the last line: logged again, with what was left out.
        let later = DECISION_LOG_INTERVAL.as_millis() as u64;
        assert_eq!(log.should_log("a", "no signature", at(later)), Some(5));
        assert_eq!(log.should_log("a", "no signature", at(later + 1)), None);
    }

    #[test]
    fn the_decision_log_stays_bounded() {
        let log = DecisionLog::default();
        let now = crate::clock::monotonic();
        for i in 0..(MAX_DECISIONS_REMEMBERED * 3) {
            assert_eq!(log.should_log(&format!("r{i}"), "x", now), Some(0));
        }
        assert!(log.seen.lock().unwrap().len() <= MAX_DECISIONS_REMEMBERED);
    }
}
