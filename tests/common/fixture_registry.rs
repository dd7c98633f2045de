//! An in-memory OCI distribution server for the registry tests that the real registry cannot
//! serve.
//!
//! It exists because no real component available here implements the referrers API: the
//! registry the harness runs (`tests/common/registry.rs`, Debian's `docker-registry`,
//! distribution 2.8) answers `GET /v2/<name>/referrers/<digest>` with a plain-text 404, and it
//! refuses manifests over 4 MiB, so oversized content cannot be stored in it either. This
//! server follows the OCI distribution specification (v1.1) for exactly what the registry
//! client uses, and nothing more:
//!
//! - `GET`/`HEAD /v2/<name>/manifests/<tag|digest>`: `Content-Type` (the stored media type),
//!   `Docker-Content-Digest`, `Content-Length`, `Etag`. Like distribution, a manifest is served
//!   only when `Accept` names its media type (else 404 `MANIFEST_UNKNOWN`);
//! - `GET`/`HEAD /v2/<name>/blobs/<digest>` (404 `BLOB_UNKNOWN` when absent);
//! - the referrers API, `GET /v2/<name>/referrers/<digest>[?artifactType=…]`: `200` with an OCI
//!   image index (`Content-Type: application/vnd.oci.image.index.v1+json`) listing every
//!   manifest whose `subject` is `<digest>`, in push order, each entry carrying the manifest's
//!   `artifactType` (else its config media type) and annotations; `Link: <…>; rel="next"`
//!   pagination when a page size is set; `OCI-Filters-Applied: artifactType` when it filtered
//!   ([`ReferrersFiltering`] chooses honest filtering, none, or a header without filtering);
//! - a repository nothing was pushed to answers 404 `NAME_UNKNOWN` on every path.
//!
//! Content is put in through Rust calls, not HTTP pushes, built by the same builders as the
//! real-registry harness (`tests/common/layout.rs`): [`FixtureDistributionServer::image`] makes
//! the same bytes (and digests) as `TestRegistry::image`; [`FixtureDistributionServer::sign`]
//! stores a signature manifest by digest as `notation sign` does against a registry WITH the
//! referrers API — no referrers tag-schema index is written (use
//! [`FixtureDistributionServer::put_referrers_index`] for that explicitly).
//!
//! Fault injection (each a method): delays before the answer or between the head and the body,
//! wrong bytes under a digest, a wrong `Docker-Content-Digest`, an oversized body, a lying or
//! missing `Content-Length`, 404 `NAME_UNKNOWN`, 429/5xx a number of times then normal answers,
//! another Content-Type for referrers, `Link` headers pointing to another origin, and stopping
//! the server. Every request is logged (method, target, headers, status, bytes of body sent) for
//! asserting how many requests a client made and in which order.
//!
//! HTTP/1.1 with keep-alive through hyper (`http_server`), on 127.0.0.1 (a free port). hyper
//! frames every body by what it sends, so the faked framings ([`BodyLength`]) are written by
//! hand on the socket taken from it (`write_by_hand`). A test fixture: it trusts its client.
#![allow(
    dead_code,
    // A test helper: failing loudly is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    // The request log is timed in wall time.
    clippy::disallowed_methods
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::http_server::{self, Connection, HttpServer, headers, target};
use super::layout::{
    Desc, MEDIA_TYPE_EMPTY, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER,
    MEDIA_TYPE_MANIFEST, SignatureForm, image_config, image_manifest, referrers_index,
    referrers_tag, sha256, signature_config, signature_manifest,
};
use super::registry::PushedIndex;

/// Chunk size of body writes (the unit in which "bytes sent" is counted).
const WRITE_CHUNK: usize = 64 * 1024;

/// What the referrers API does with `?artifactType=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferrersFiltering {
    /// Filters and says so (`OCI-Filters-Applied: artifactType`). The default.
    Filtered,
    /// Does not filter and sends no header (filtering is optional for registries).
    Unfiltered,
    /// Sends `OCI-Filters-Applied: artifactType` but does not filter.
    LiesAboutFiltering,
}

/// The `Content-Length` of an answer whose framing is faked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// No `Content-Length`: the body ends when the server closes the connection.
    Omitted,
    /// This value, whatever the body's real length (the connection is closed after the body).
    Declared(u64),
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// `GET`, `HEAD` …
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    /// The request headers in order.
    pub headers: Vec<(String, String)>,
    /// When it arrived, from the server's start.
    pub at: Duration,
    /// The status answered (`None` while the answer is still being prepared).
    pub status: Option<u16>,
    /// The body length the answer meant to send (0 for HEAD).
    pub body_len: u64,
    /// Body bytes handed to hyper (written to the socket, for a faked framing) before it
    /// finished or the client went away.
    pub body_sent: u64,
    /// Whether the whole answer was handed to hyper (written, for a faked framing).
    pub complete: bool,
}

impl LoggedRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// A header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD target`, e.g. `GET /v2/app/manifests/v1`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
}

/// Answers with a status for a number of requests, then lets requests through.
#[derive(Clone, Debug)]
struct StatusFault {
    pattern: String,
    status: u16,
    remaining: usize,
    retry_after: Option<String>,
}

#[derive(Default)]
struct Faults {
    delays: Vec<(String, Duration)>,
    body_stalls: Vec<(String, Duration)>,
    wrong_bytes: HashMap<String, Vec<u8>>,
    wrong_digest_header: HashMap<String, String>,
    oversize: HashMap<String, u64>,
    body_length: HashMap<String, BodyLength>,
    name_unknown: Vec<String>,
    statuses: Vec<StatusFault>,
    referrers_content_type: Option<String>,
    link_origin: Option<String>,
}

#[derive(Default)]
struct Repository {
    blobs: HashMap<String, Vec<u8>>,
    /// digest → (media type, bytes).
    manifests: HashMap<String, (String, Vec<u8>)>,
    /// Manifest digests in push order (the referrers listing order).
    order: Vec<String>,
    tags: HashMap<String, String>,
}

struct Store {
    repositories: HashMap<String, Repository>,
    filtering: ReferrersFiltering,
    page_size: Option<usize>,
    faults: Faults,
}

struct State {
    store: Mutex<Store>,
    log: Mutex<Vec<LoggedRequest>>,
    started: Instant,
    in_flight: AtomicUsize,
}

/// The in-memory distribution server. See the module documentation.
pub struct FixtureDistributionServer {
    state: Arc<State>,
    server: HttpServer,
}

impl FixtureDistributionServer {
    /// Starts an empty server on 127.0.0.1 (a free port): the referrers API filters honestly and
    /// does not paginate.
    pub fn start() -> Self {
        let state = Arc::new(State {
            store: Mutex::new(Store {
                repositories: HashMap::new(),
                filtering: ReferrersFiltering::Filtered,
                page_size: None,
                faults: Faults::default(),
            }),
            log: Mutex::new(Vec::new()),
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
        });
        let server = {
            let state = state.clone();
            HttpServer::start("fixture-registry", move |req, conn| {
                serve(state.clone(), req, conn)
            })
        };
        Self { state, server }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `127.0.0.1:PORT`: the registry host as references and endpoints name it.
    pub fn host(&self) -> String {
        self.server.addr().to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Stops the server (idempotent): the listener is closed and every open connection shut
    /// down, so the address refuses connections — a registry that is down. Callable while a
    /// client is talking to it (answers in progress are cut off).
    pub fn stop(&self) {
        self.server.stop();
    }

    // ---- behaviour ----

    /// How the referrers API treats `artifactType`.
    pub fn set_filtering(&self, filtering: ReferrersFiltering) {
        self.state.store.lock().unwrap().filtering = filtering;
    }

    /// Entries per referrers page (`None`: one page). Further pages are linked with
    /// `Link: </v2/<name>/referrers/<digest>?artifactType=…&page=N>; rel="next"`.
    pub fn set_page_size(&self, page_size: Option<usize>) {
        assert_ne!(page_size, Some(0), "a page holds at least one entry");
        self.state.store.lock().unwrap().page_size = page_size;
    }

    // ---- content ----

    /// Stores a blob; returns its descriptor.
    pub fn push_blob(&self, repo: &str, media_type: &str, bytes: &[u8]) -> Desc {
        let digest = sha256(bytes);
        self.with_repo(repo, |r| {
            r.blobs.insert(digest.clone(), bytes.to_vec());
        });
        Desc {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// Stores a manifest (any bytes) under its digest and, when `reference` is a tag, tags it.
    /// A manifest with a `subject` is listed by the referrers API of that subject.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Desc {
        let digest = sha256(bytes);
        if reference.contains(':') {
            assert_eq!(reference, digest, "pushed by digest under another digest");
        }
        self.with_repo(repo, |r| {
            if !r.manifests.contains_key(&digest) {
                r.order.push(digest.clone());
            }
            r.manifests
                .insert(digest.clone(), (media_type.to_string(), bytes.to_vec()));
            if !reference.contains(':') {
                r.tags.insert(reference.to_string(), digest.clone());
            }
        });
        Desc {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// A small image (config + one layer with `content`) tagged `tag`: the same bytes, and so
    /// the same digest, as `TestRegistry::image` and `LayoutWriter::image`.
    pub fn image(&self, repo: &str, tag: &str, content: &[u8]) -> Desc {
        self.platform_image(repo, Some(tag), "linux", "amd64", content)
    }

    fn platform_image(
        &self,
        repo: &str,
        tag: Option<&str>,
        os: &str,
        architecture: &str,
        content: &[u8],
    ) -> Desc {
        let config = self.push_blob(
            repo,
            MEDIA_TYPE_IMAGE_CONFIG,
            &image_config(os, architecture),
        );
        let layer = self.push_blob(repo, MEDIA_TYPE_LAYER, content);
        let manifest = image_manifest(&config, &layer);
        let digest = sha256(&manifest);
        self.push_manifest(repo, tag.unwrap_or(&digest), MEDIA_TYPE_MANIFEST, &manifest)
    }

    /// A multi-arch image as `TestRegistry::image_index` makes it (same bytes).
    pub fn image_index(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[(&str, &str)],
        content: &[u8],
    ) -> PushedIndex {
        let mut images = Vec::new();
        let mut entries = Vec::new();
        for (os, arch) in platforms {
            let mut layer = content.to_vec();
            layer.extend_from_slice(format!("\n{os}/{arch}").as_bytes());
            let desc = self.platform_image(repo, None, os, arch, &layer);
            let mut entry = desc.json();
            entry["platform"] = json!({"architecture": arch, "os": os});
            entries.push(entry);
            images.push(((os.to_string(), arch.to_string()), desc));
        }
        let bytes = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_INDEX,
            "manifests": entries,
        }))
        .unwrap();
        let index = self.push_manifest(repo, tag, MEDIA_TYPE_INDEX, &bytes);
        PushedIndex { index, images }
    }

    /// Attaches a Notary signature to `subject` as `notation sign` does against a registry with
    /// the referrers API: the envelope blob, the config blob of `form`, and the signature
    /// manifest pushed by digest — and no referrers tag-schema index. Returns the signature
    /// manifest descriptor.
    pub fn sign(
        &self,
        repo: &str,
        subject: &Desc,
        envelope_media_type: &str,
        envelope: &[u8],
        form: SignatureForm,
    ) -> Desc {
        let env = self.push_blob(repo, envelope_media_type, envelope);
        let (config_media_type, config_bytes) = signature_config(form);
        let config = self.push_blob(repo, config_media_type, config_bytes);
        let manifest = signature_manifest(subject, &config, &env, form);
        let digest = sha256(&manifest);
        self.push_manifest(repo, &digest, MEDIA_TYPE_MANIFEST, &manifest)
    }

    /// Attaches a referrer of another artifact type (an SBOM, an attestation …) to `subject`:
    /// an artifactType manifest with the empty config and one blob. Returns its descriptor.
    pub fn attach(
        &self,
        repo: &str,
        subject: &Desc,
        artifact_type: &str,
        blob_media_type: &str,
        blob: &[u8],
    ) -> Desc {
        let layer = self.push_blob(repo, blob_media_type, blob);
        let config = self.push_blob(repo, MEDIA_TYPE_EMPTY, b"{}");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_MANIFEST,
            "artifactType": artifact_type,
            "config": config.json(),
            "layers": [layer.json()],
            "subject": subject.json(),
        }))
        .unwrap();
        let digest = sha256(&manifest);
        self.push_manifest(repo, &digest, MEDIA_TYPE_MANIFEST, &manifest)
    }

    /// The referrers of `subject_digest` in `repo` as the API lists them (unfiltered, unpaged):
    /// index entries with `artifactType` and annotations.
    pub fn referrers(&self, repo: &str, subject_digest: &str) -> Vec<Value> {
        let store = self.state.store.lock().unwrap();
        store
            .repositories
            .get(repo)
            .map(|r| referrer_entries(r, subject_digest))
            .unwrap_or_default()
    }

    /// The stored media type and bytes of a manifest (by tag or digest), as served without
    /// faults.
    pub fn stored_manifest(&self, repo: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        let store = self.state.store.lock().unwrap();
        let r = store.repositories.get(repo)?;
        let digest = r.tags.get(reference).map_or(reference, String::as_str);
        r.manifests.get(digest).cloned()
    }

    /// Writes the referrers tag-schema index `sha256-<hex>` of `subject_digest` listing exactly
    /// `manifests` (for the fallback path). Returns the index descriptor.
    pub fn put_referrers_index(
        &self,
        repo: &str,
        subject_digest: &str,
        manifests: &[Value],
    ) -> Desc {
        let bytes = referrers_index(manifests);
        self.push_manifest(
            repo,
            &referrers_tag(subject_digest),
            MEDIA_TYPE_INDEX,
            &bytes,
        )
    }

    fn with_repo(&self, repo: &str, f: impl FnOnce(&mut Repository)) {
        let mut store = self.state.store.lock().unwrap();
        f(store.repositories.entry(repo.to_string()).or_default());
    }

    // ---- faults ----
    //
    // A `pattern` matches a request path (without the query): `*` matches every path, a
    // pattern ending in `*` is a prefix, anything else must be equal. A `digest` applies to the
    // manifest or blob with that digest, however it is asked for (by tag or by digest).

    /// Waits `delay` before answering requests whose path matches (a slow registry).
    pub fn delay(&self, pattern: &str, delay: Duration) {
        self.faults(|f| f.delays.push((pattern.into(), delay)));
    }

    /// For manifests and blobs on matching paths: sends the head of the answer at once, then
    /// waits `delay` before the body (a registry that stalls mid-transfer).
    pub fn stall_body(&self, pattern: &str, delay: Duration) {
        self.faults(|f| f.body_stalls.push((pattern.into(), delay)));
    }

    /// Serves `bytes` in place of the content of `digest` (headers still announce `digest`, as a
    /// registry whose storage was tampered with does).
    pub fn serve_wrong_bytes(&self, digest: &str, bytes: &[u8]) {
        self.faults(|f| {
            f.wrong_bytes.insert(digest.into(), bytes.to_vec());
        });
    }

    /// Announces `header` as `Docker-Content-Digest` for `digest` (the bytes stay right).
    pub fn wrong_digest_header(&self, digest: &str, header: &str) {
        self.faults(|f| {
            f.wrong_digest_header.insert(digest.into(), header.into());
        });
    }

    /// Serves a body of `size` bytes (generated as it is written) in place of the content of
    /// `digest`; `Content-Length` says `size` unless [`Self::body_length`] overrides it.
    pub fn oversize(&self, digest: &str, size: u64) {
        self.faults(|f| {
            f.oversize.insert(digest.into(), size);
        });
    }

    /// Fakes the framing of answers carrying `digest`: no `Content-Length`, or a wrong one.
    pub fn body_length(&self, digest: &str, length: BodyLength) {
        self.faults(|f| {
            f.body_length.insert(digest.into(), length);
        });
    }

    /// Answers 404 `NAME_UNKNOWN` for matching paths.
    pub fn name_unknown(&self, pattern: &str) {
        self.faults(|f| f.name_unknown.push(pattern.into()));
    }

    /// Answers `status` (429, 500, 503 …) with a distribution error document for the next
    /// `times` matching requests, with `Retry-After: <retry_after>` when given; then answers
    /// normally.
    pub fn fail_times(&self, pattern: &str, status: u16, times: usize, retry_after: Option<&str>) {
        self.faults(|f| {
            f.statuses.push(StatusFault {
                pattern: pattern.into(),
                status,
                remaining: times,
                retry_after: retry_after.map(str::to_string),
            })
        });
    }

    /// Answers the referrers API with this Content-Type (the body stays an index).
    pub fn referrers_content_type(&self, content_type: &str) {
        self.faults(|f| f.referrers_content_type = Some(content_type.into()));
    }

    /// Makes referrers `Link` headers absolute URLs on `origin` (`http://host:port`) instead of
    /// paths on this server.
    pub fn link_to_origin(&self, origin: &str) {
        self.faults(|f| f.link_origin = Some(origin.into()));
    }

    fn faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.state.store.lock().unwrap().faults);
    }

    // ---- the request log ----

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// `METHOD target` of every request so far, in arrival order.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests().iter().map(LoggedRequest::line).collect()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        self.state.log.lock().unwrap().clear();
    }

    /// Whether no answer is being prepared or written right now (for async tests, which must
    /// not block their runtime in [`Self::wait_idle`] while the client closes connections).
    pub fn is_idle(&self) -> bool {
        self.state.in_flight.load(Ordering::SeqCst) == 0
    }

    /// Waits (up to `timeout`) until no answer is being prepared or written, so that the log's
    /// statuses and byte counts are final. Returns whether it got there.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.is_idle() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for FixtureDistributionServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn matches(pattern: &str, path: &str) -> bool {
    pattern == "*"
        || pattern
            .strip_suffix('*')
            .map_or(pattern == path, |prefix| path.starts_with(prefix))
}

/// The referrers of `subject` in `repo`, in push order, as index entries.
fn referrer_entries(repo: &Repository, subject: &str) -> Vec<Value> {
    repo.order
        .iter()
        .filter_map(|digest| {
            let (media_type, bytes) = repo.manifests.get(digest)?;
            let doc: Value = serde_json::from_slice(bytes).ok()?;
            if doc["subject"]["digest"].as_str() != Some(subject) {
                return None;
            }
            let mut entry = json!({
                "mediaType": doc.get("mediaType").and_then(Value::as_str).unwrap_or(media_type),
                "digest": digest,
                "size": bytes.len(),
            });
            // distribution-spec: artifactType, else the config media type.
            if let Some(t) = doc
                .get("artifactType")
                .or_else(|| doc.get("config").and_then(|c| c.get("mediaType")))
            {
                entry["artifactType"] = t.clone();
            }
            if let Some(a) = doc.get("annotations") {
                entry["annotations"] = a.clone();
            }
            Some(entry)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    fn query(&self, key: &str) -> Option<String> {
        let (_, query) = self.target.split_once('?')?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

enum Body {
    Bytes(Bytes),
    /// `len` bytes made up while writing.
    Generated(u64),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Generated(n) => *n,
        }
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
    /// `None`: the real length; else faked framing (and the connection closes afterwards).
    framing: Option<BodyLength>,
    body_stall: Option<Duration>,
}

impl Answer {
    fn new(status: u16, headers: Vec<(&str, String)>, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            body: Body::Bytes(body.into()),
            framing: None,
            body_stall: None,
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::to_vec(&json!({
            "errors": [{"code": code, "message": message, "detail": null}]
        }))
        .unwrap();
        Self::new(
            status,
            vec![("Content-Type", "application/json; charset=utf-8".into())],
            body,
        )
    }
}

async fn serve(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
    conn: Connection,
) -> Option<Response<http_server::Body>> {
    let req = Request {
        method: req.method().as_str().to_string(),
        target: target(&req),
        headers: headers(&req),
    };
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let index = {
        let mut log = state.log.lock().unwrap();
        log.push(LoggedRequest {
            method: req.method.clone(),
            target: req.target.clone(),
            headers: req.headers.clone(),
            at: state.started.elapsed(),
            status: None,
            body_len: 0,
            body_sent: 0,
            complete: false,
        });
        log.len() - 1
    };
    let mut progress = Progress {
        state: state.clone(),
        index,
        sent: 0,
        complete: false,
    };
    let delay = {
        let store = state.store.lock().unwrap();
        store
            .faults
            .delays
            .iter()
            .filter(|(p, _)| matches(p, req.path()))
            .map(|(_, d)| *d)
            .max()
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let answer = answer(&state, &req);
    let head_only = req.method == "HEAD";
    let body_len = if head_only { 0 } else { answer.body.len() };
    if let Some(entry) = state.log.lock().unwrap().get_mut(index) {
        entry.status = Some(answer.status);
        entry.body_len = body_len;
    }
    let client_closes = req
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut head = Vec::new();
    match answer.framing {
        None => head.push(("Content-Length", answer.body.len().to_string())),
        Some(BodyLength::Declared(n)) => head.push(("Content-Length", n.to_string())),
        Some(BodyLength::Omitted) => {}
    }
    if client_closes || answer.framing.is_some() {
        head.push(("Connection", "close".to_string()));
    }
    head.push(("Docker-Distribution-Api-Version", "registry/2.0".into()));
    head.extend(answer.headers.iter().map(|(n, v)| (n.as_str(), v.clone())));
    let (chunks, stall) = if head_only {
        (Chunks::new(Body::Bytes(Bytes::new())), None)
    } else {
        (Chunks::new(answer.body), answer.body_stall)
    };
    if answer.framing.is_some() {
        write_by_hand(
            conn.take(),
            answer.status,
            &head,
            chunks,
            stall,
            &mut progress,
        )
        .await;
        return None;
    }
    progress.complete = chunks.left() == 0;
    let body = Sent {
        chunks,
        stall: stall.map(|d| Box::pin(tokio::time::sleep(d))),
        progress,
    };
    Some(http_server::streaming(answer.status, &head, body))
}

/// Keeps an answer's log entry and `in_flight` up to date until it is finished or abandoned
/// (the client went away, or the server stopped and dropped it).
struct Progress {
    state: Arc<State>,
    index: usize,
    sent: u64,
    complete: bool,
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(entry) = self.state.log.lock().unwrap().get_mut(self.index) {
            entry.body_sent = self.sent;
            entry.complete = self.complete;
        }
        self.state.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a generated body starts with: the opening of a manifest a parser accepts so far.
const GENERATED_PREFIX: &[u8] = br#"{"schemaVersion":2,"padding":""#;
/// What a generated body goes on with.
static FILLER: [u8; WRITE_CHUNK] = [b' '; WRITE_CHUNK];

/// A body cut into the pieces it is written in.
struct Chunks {
    body: Body,
    at: u64,
}

impl Chunks {
    fn new(body: Body) -> Self {
        Self { body, at: 0 }
    }

    fn left(&self) -> u64 {
        self.body.len() - self.at
    }

    fn next(&mut self) -> Option<Bytes> {
        let n = self.left().min(WRITE_CHUNK as u64) as usize;
        if n == 0 {
            return None;
        }
        let chunk = match &self.body {
            Body::Bytes(b) => b.slice(self.at as usize..self.at as usize + n),
            Body::Generated(_) if self.at == 0 => {
                Bytes::from_static(&GENERATED_PREFIX[..n.min(GENERATED_PREFIX.len())])
            }
            Body::Generated(_) => Bytes::from_static(&FILLER[..n]),
        };
        self.at += chunk.len() as u64;
        Some(chunk)
    }
}

/// An answer's body as hyper pulls it: after the stall, if any (hyper has flushed the head by
/// then), one chunk at a time, each counted as sent when hyper takes it.
struct Sent {
    chunks: Chunks,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    progress: Progress,
}

impl hyper::body::Body for Sent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if let Some(stall) = &mut this.stall {
            ready!(stall.as_mut().poll(cx));
            this.stall = None;
        }
        let chunk = this.chunks.next();
        if let Some(c) = &chunk {
            this.progress.sent += c.len() as u64;
        }
        this.progress.complete = this.chunks.left() == 0;
        Poll::Ready(chunk.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.left() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.left())
    }
}

/// Writes an answer whose framing is faked, and closes the connection: hyper would refuse to
/// send a body that does not match its `Content-Length`, and would chunk one without.
async fn write_by_hand(
    mut socket: TcpStream,
    status: u16,
    headers: &[(&str, String)],
    mut chunks: Chunks,
    stall: Option<Duration>,
    progress: &mut Progress,
) {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if socket.write_all(head.as_bytes()).await.is_err() || socket.flush().await.is_err() {
        return;
    }
    if let Some(d) = stall {
        tokio::time::sleep(d).await;
    }
    while let Some(chunk) = chunks.next() {
        if socket.write_all(&chunk).await.is_err() {
            return;
        }
        progress.sent += chunk.len() as u64;
    }
    progress.complete = socket.flush().await.is_ok();
    let _ = socket.shutdown().await;
}

/// The answer to one request, faults applied.
fn answer(state: &State, req: &Request) -> Answer {
    let mut store = state.store.lock().unwrap();
    let path = req.path().to_string();
    if let Some(fault) = store
        .faults
        .statuses
        .iter_mut()
        .find(|f| f.remaining > 0 && matches(&f.pattern, &path))
    {
        fault.remaining -= 1;
        let (status, retry_after) = (fault.status, fault.retry_after.clone());
        let code = if status == 429 {
            "TOOMANYREQUESTS"
        } else {
            "UNKNOWN"
        };
        let mut a = Answer::error(status, code, "injected failure");
        if let Some(r) = retry_after {
            a.headers.push(("Retry-After".into(), r));
        }
        return a;
    }
    if store.faults.name_unknown.iter().any(|p| matches(p, &path)) {
        return Answer::error(404, "NAME_UNKNOWN", "repository name not known to registry");
    }
    if req.method != "GET" && req.method != "HEAD" {
        return Answer::error(
            405,
            "UNSUPPORTED",
            "the fixture registry is read-only over HTTP",
        );
    }
    if path == "/v2/" || path == "/v2" {
        return Answer::new(
            200,
            vec![("Content-Type", "application/json".into())],
            b"{}".to_vec(),
        );
    }
    let Some((repo, kind, reference)) = route(&path) else {
        return Answer::error(404, "NOT_FOUND", "no route");
    };
    if !store.repositories.contains_key(&repo) {
        return Answer::error(404, "NAME_UNKNOWN", "repository name not known to registry");
    }
    match kind {
        "manifests" => manifest_answer(&store, &repo, &reference, req),
        "blobs" => blob_answer(&store, &repo, &reference),
        "referrers" if req.method == "GET" => referrers_answer(&mut store, &repo, &reference, req),
        _ => Answer::error(404, "NOT_FOUND", "no route"),
    }
}

/// (repository, `manifests`|`blobs`|`referrers`, reference) of a `/v2/…` path.
fn route(path: &str) -> Option<(String, &'static str, String)> {
    let rest = path.strip_prefix("/v2/")?;
    ["manifests", "blobs", "referrers"]
        .iter()
        .filter_map(|kind| {
            let marker = format!("/{kind}/");
            rest.rfind(&marker).map(|at| {
                (
                    rest[..at].to_string(),
                    *kind,
                    rest[at + marker.len()..].to_string(),
                )
            })
        })
        .min_by_key(|(repo, _, _)| repo.len())
        .filter(|(repo, _, reference)| !repo.is_empty() && !reference.is_empty())
}

/// Applies the content faults for `digest` to an answer carrying `bytes`.
fn content_answer(
    store: &Store,
    digest: &str,
    content_type: &str,
    bytes: &[u8],
    path: &str,
) -> Answer {
    let f = &store.faults;
    let announced = f
        .wrong_digest_header
        .get(digest)
        .cloned()
        .unwrap_or_else(|| digest.to_string());
    let mut a = Answer::new(
        200,
        vec![
            ("Content-Type", content_type.to_string()),
            ("Docker-Content-Digest", announced),
            ("Etag", format!("\"{digest}\"")),
        ],
        f.wrong_bytes
            .get(digest)
            .cloned()
            .unwrap_or_else(|| bytes.to_vec()),
    );
    if let Some(size) = f.oversize.get(digest) {
        a.body = Body::Generated(*size);
    }
    a.framing = f.body_length.get(digest).copied();
    a.body_stall = f
        .body_stalls
        .iter()
        .filter(|(p, _)| matches(p, path))
        .map(|(_, d)| *d)
        .max();
    a
}

fn accepted_types(req: &Request) -> Vec<String> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn manifest_answer(store: &Store, repo: &str, reference: &str, req: &Request) -> Answer {
    let r = &store.repositories[repo];
    let digest = if reference.contains(':') {
        reference.to_string()
    } else {
        match r.tags.get(reference) {
            Some(d) => d.clone(),
            None => return Answer::error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
        }
    };
    let Some((media_type, bytes)) = r.manifests.get(&digest) else {
        return Answer::error(404, "MANIFEST_UNKNOWN", "manifest unknown");
    };
    // distribution serves an OCI manifest or index only when the client accepts its type.
    if !accepted_types(req).iter().any(|t| t == media_type) {
        return Answer::error(
            404,
            "MANIFEST_UNKNOWN",
            &format!("{media_type} found, but the accept header does not support it"),
        );
    }
    content_answer(store, &digest, media_type, bytes, req.path())
}

fn blob_answer(store: &Store, repo: &str, digest: &str) -> Answer {
    let r = &store.repositories[repo];
    match r.blobs.get(digest) {
        Some(bytes) => content_answer(
            store,
            digest,
            "application/octet-stream",
            bytes,
            &format!("/v2/{repo}/blobs/{digest}"),
        ),
        None => Answer::error(404, "BLOB_UNKNOWN", "blob unknown to registry"),
    }
}

fn referrers_answer(store: &mut Store, repo: &str, subject: &str, req: &Request) -> Answer {
    if !subject.starts_with("sha256:") || subject.len() != 7 + 64 {
        return Answer::error(400, "DIGEST_INVALID", "provided digest did not match");
    }
    let artifact_type = req.query("artifactType").filter(|t| !t.is_empty());
    let mut entries = referrer_entries(&store.repositories[repo], subject);
    let mut headers = vec![(
        "Content-Type",
        store
            .faults
            .referrers_content_type
            .clone()
            .unwrap_or_else(|| MEDIA_TYPE_INDEX.to_string()),
    )];
    if let Some(t) = &artifact_type {
        match store.filtering {
            ReferrersFiltering::Filtered => {
                entries.retain(|e| e["artifactType"].as_str() == Some(t));
                headers.push(("OCI-Filters-Applied", "artifactType".into()));
            }
            ReferrersFiltering::LiesAboutFiltering => {
                headers.push(("OCI-Filters-Applied", "artifactType".into()));
            }
            ReferrersFiltering::Unfiltered => {}
        }
    }
    let page: usize = req
        .query("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    if let Some(size) = store.page_size {
        let pages = entries.len().div_ceil(size).max(1);
        let start = ((page - 1) * size).min(entries.len());
        let end = (start + size).min(entries.len());
        entries = entries[start..end].to_vec();
        if page < pages {
            let mut next = format!("/v2/{repo}/referrers/{subject}?");
            if let Some(t) = &artifact_type {
                next.push_str(&format!("artifactType={}&", percent_encode(t)));
            }
            next.push_str(&format!("page={}", page + 1));
            let origin = store.faults.link_origin.clone().unwrap_or_default();
            headers.push(("Link", format!("<{origin}{next}>; rel=\"next\"")));
        }
    }
    Answer::new(200, headers, referrers_index(&entries))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
