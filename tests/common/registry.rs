//! A real OCI registry for end-to-end tests: Debian's `docker-registry` (distribution 2.8.2)
//! started on 127.0.0.1 with a temporary config and storage, optionally behind htpasswd basic
//! auth or bearer tokens from a [`FixtureTokenServer`], stopped by PID when dropped; plus push
//! helpers that store images, multi-arch indexes and Notary signatures the way `notation`
//! does against a registry without the referrers API (the referrers tag schema).
//!
//! ```ignore
//! let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions::default()));
//! let image = reg.image("hello", "v1", b"layer");
//! let sig = reg.sign("hello", &image, "application/jose+json", &jws, SignatureForm::ArtifactType);
//! // notaryd verify 127.0.0.1:PORT/hello:v1 ... ; reg.token_server().unwrap().request_count()
//! ```
//!
//! Each registry binds `127.0.0.1:0` itself and the harness reads the port it got from its log
//! ("listening on 127.0.0.1:PORT"), so parallel tests never race for a port: there is no
//! probe-then-bind window to retry.
//!
//! What distribution 2.8.2 does, as the smoke tests in `tests/it/registry_harness.rs` pin down:
//! - no referrers API: `GET /v2/<name>/referrers/<digest>` is a plain-text `404 page not found`
//!   from its router (no `errors` JSON, no distribution error code);
//! - an OCI manifest or index is served (HEAD and GET) only when `Accept` names its media type;
//!   otherwise 404 `MANIFEST_UNKNOWN` (for an index: "OCI index found, but accept header does
//!   not support OCI indexes");
//! - HEAD and GET of manifests and blobs carry `Docker-Content-Digest`, `Content-Length` and an
//!   `Etag` of the digest; a missing tag or a manifest in an unknown repository is 404
//!   `MANIFEST_UNKNOWN` (never `NAME_UNKNOWN`, which only `tags/list` answers);
//! - `subject` and `artifactType` are stored and served byte for byte but not interpreted (a
//!   subject naming a digest that does not exist is accepted); an index whose children are not
//!   in the repository is refused with 400 `MANIFEST_BLOB_UNKNOWN`;
//! - manifests are capped at 4 MiB on PUT (400 `MANIFEST_INVALID`) and on read (500), and
//!   parsed when served (a stored non-manifest is a 500); a body whose `mediaType` contradicts
//!   the Content-Type is refused;
//! - deleting a manifest by digest also removes every tag pointing at it;
//! - stored bytes are not re-hashed when served, so [`TestRegistry::overwrite_blob`] makes it
//!   serve wrong bytes under the original digest;
//! - bearer tokens: `iss`, `aud` (a string), `exp` and `nbf` (60 s leeway) and the `x5c` chain
//!   to `rootcertbundle` are checked, `sub`, `iat`, `jti` are not; challenges look like
//!   `Bearer realm="…",service="…",scope="repository:<name>:pull"` plus
//!   `error="invalid_token"` or `error="insufficient_scope"` when a token was sent, and list
//!   the actions of a scope in random order (`pull,push` or `push,pull`).
#![allow(
    dead_code,
    // A test helper: failing loudly with the registry's log is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    // Real servers check real time: the token server must read the clock, and start-up waits
    // are bounded in wall time.
    clippy::disallowed_methods
)]

use std::fs::File;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};

use super::http_server::{Body, HttpServer, response, target};
use super::jws::{Jws, payload_for};
use super::layout::{
    Desc, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER, MEDIA_TYPE_MANIFEST,
    NOTARY_SIGNATURE, SignatureForm, image_config, image_manifest, referrers_index, referrers_tag,
    sha256, signature_config, signature_manifest,
};
use super::pki::Chain;
use super::pki::{CertSpec, KeyKind, TestCert, TestKey};

/// The `service` the registry names in its bearer challenges and the token audience.
pub const SERVICE: &str = "notaryd-test-registry";
/// The token issuer (`iss`) the registry trusts.
pub const ISSUER: &str = "notaryd-fixture-token-server";
/// Overrides where the `docker-registry` binary is looked up.
pub const REGISTRY_BIN_ENV: &str = "NOTARYD_TEST_REGISTRY_BIN";
/// Every manifest media type a reader of this registry accepts.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

const START_DEADLINE: Duration = Duration::from_secs(10);
const STOP_GRACE: Duration = Duration::from_secs(5);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("random");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn basic_authorization(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

// ---------------------------------------------------------------------------------------------
// Token server
// ---------------------------------------------------------------------------------------------

/// Access to one resource, as a token's `access` claim and a `scope` carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// `repository` (or `registry` for the catalog).
    pub kind: String,
    /// The repository name.
    pub name: String,
    /// `pull`, `push`, `delete` or `*`.
    pub actions: Vec<String>,
}

impl Access {
    /// Access to repository `name` for `actions`.
    pub fn repository(name: &str, actions: &[&str]) -> Self {
        Self {
            kind: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Parses a scope `type:name:action[,action]` (a resource class, `repository(plugin)`, is
    /// dropped as distribution does).
    pub fn parse_scope(scope: &str) -> Option<Self> {
        let (rest, actions) = scope.rsplit_once(':')?;
        let (kind, name) = rest.split_once(':')?;
        let kind = kind.split('(').next().unwrap_or(kind);
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Self {
            kind: kind.into(),
            name: name.into(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// The scope string, `repository:name:pull,push`.
    pub fn scope(&self) -> String {
        format!("{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }

    fn json(&self) -> Value {
        json!({"type": self.kind, "name": self.name, "actions": self.actions})
    }
}

/// What the fixture token server does.
#[derive(Clone, Debug)]
pub struct TokenServerOptions {
    /// The Basic credentials the token endpoint requires. `None`: requests need no credentials
    /// and every token is issued (to the user named in any Authorization header, else to "").
    pub credentials: Option<(String, String)>,
    /// With `credentials` set: a request without an Authorization header gets a pull-only
    /// token (as Docker Hub does for public repositories) instead of a 401.
    pub anonymous_pull: bool,
    /// Token lifetime in seconds: `expires_in` of the answer and `exp - iat` of the JWT. Note
    /// that distribution accepts a token until 60 s after `exp` (its clock-skew leeway), so a
    /// short lifetime shows that a client refreshes, not that the registry refuses.
    pub expires_in: u64,
    /// The actions the server ever grants; requested actions outside this list are dropped.
    pub grantable_actions: Vec<String>,
}

impl Default for TokenServerOptions {
    fn default() -> Self {
        Self {
            credentials: None,
            anonymous_pull: false,
            expires_in: 300,
            grantable_actions: vec!["pull".into(), "push".into(), "delete".into()],
        }
    }
}

impl TokenServerOptions {
    /// A server that requires these Basic credentials.
    pub fn with_credentials(username: &str, password: &str) -> Self {
        Self {
            credentials: Some((username.into(), password.into())),
            ..Self::default()
        }
    }
}

/// One HTTP request the token server answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The HTTP method.
    pub method: String,
    /// The request target (path and query, as sent).
    pub target: String,
    /// The `service` query parameter.
    pub service: Option<String>,
    /// Every requested scope (repeated `scope` parameters, or space-separated ones).
    pub scopes: Vec<String>,
    /// The username of a Basic Authorization header.
    pub username: Option<String>,
    /// The status the server answered.
    pub status: u16,
}

/// The signing side of the token server: an ES256 key whose certificate chains to the root the
/// registry's `auth.token.rootcertbundle` holds.
pub struct TokenIssuer {
    signer: TestCert,
    root_pem: String,
}

impl TokenIssuer {
    fn new() -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca("notaryd fixture token CA", Some(0)),
            TestKey::generate(KeyKind::P256),
        );
        let signer = root.issue(
            CertSpec::code_signing("notaryd fixture token signer"),
            TestKey::generate(KeyKind::P256),
        );
        Self {
            signer,
            root_pem: root.pem(),
        }
    }

    /// A signed token (compact JWS, ES256, `x5c` = the signer certificate) with the claims
    /// distribution checks. `issued_at` is also `nbf`.
    pub fn mint(
        &self,
        subject: &str,
        access: &[Access],
        issued_at: i64,
        expires_at: i64,
    ) -> String {
        self.sign_claims(&json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": expires_at,
            "nbf": issued_at,
            "iat": issued_at,
            "jti": random_hex(16),
            "access": access.iter().map(Access::json).collect::<Vec<_>>(),
        }))
    }

    /// A signed token (compact JWS, ES256, `x5c` = the signer certificate) carrying exactly
    /// `claims`: for tokens with a claim missing or wrong.
    pub fn sign_claims(&self, claims: &Value) -> String {
        let header = json!({
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [STANDARD.encode(&self.signer.der)],
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        // ES256 as JWS wants it: the raw r||s signature.
        let signature = self.signer.key.sign_notary(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A token valid from now for `lifetime` seconds.
    pub fn mint_now(&self, subject: &str, access: &[Access], lifetime: i64) -> String {
        let now = unix_now();
        self.mint(subject, access, now, now + lifetime)
    }

    /// The PEM root certificate the registry trusts for tokens.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }
}

struct TokenState {
    options: TokenServerOptions,
    issuer: Arc<TokenIssuer>,
    count: AtomicUsize,
    log: Mutex<Vec<TokenRequest>>,
    /// A fault every token request meets, when set (the fault suite's token-service stage).
    fault: Mutex<Option<TokenFault>>,
}

/// How the token server fails on request ([`FixtureTokenServer::fail`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFault {
    /// Answers with this status.
    Status(u16),
    /// Never answers.
    Hang,
}

/// A distribution token server (the "token authentication" specification of the distribution
/// project): `GET /token?service=...&scope=repository:<name>:pull[,push]`, optional Basic
/// credentials, answering `{"token", "access_token", "expires_in", "issued_at"}` with an ES256
/// JWT that distribution 2.8's token access controller accepts.
///
/// It exists because no real component here offers a distribution token service (Debian ships
/// the registry but no token server), and the bearer-token challenge flow must be tested
/// against the real registry. It is a test fixture: plain HTTP/1.1 on 127.0.0.1 (hyper, on the
/// runtime thread of `http_server`), `Connection: close`. `POST /token` (the OAuth2 password
/// grant) is answered 405, like registries that only implement the GET flow.
pub struct FixtureTokenServer {
    state: Arc<TokenState>,
    server: HttpServer,
}

impl FixtureTokenServer {
    /// Starts a token server on 127.0.0.1 (a free port) with a fresh signing key.
    pub fn start(options: TokenServerOptions) -> Self {
        Self::start_with(options, Arc::new(TokenIssuer::new()))
    }

    fn start_with(options: TokenServerOptions, issuer: Arc<TokenIssuer>) -> Self {
        let state = Arc::new(TokenState {
            options,
            issuer,
            count: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            fault: Mutex::new(None),
        });
        let server = {
            let state = state.clone();
            HttpServer::start("fixture-token-server", move |req, _| {
                let state = state.clone();
                async move {
                    let fault = *state.fault.lock().unwrap();
                    match fault {
                        Some(TokenFault::Status(status)) => {
                            state.count.fetch_add(1, Ordering::SeqCst);
                            Some(response(status, &[], "injected fault"))
                        }
                        Some(TokenFault::Hang) => {
                            state.count.fetch_add(1, Ordering::SeqCst);
                            std::future::pending::<()>().await;
                            None
                        }
                        None => Some(serve_token_request(&state, &req)),
                    }
                }
            })
        };
        Self { state, server }
    }

    /// The token endpoint, `http://127.0.0.1:PORT/token` (the registry's `realm`).
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.addr())
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// HTTP requests answered so far (whatever their outcome).
    pub fn request_count(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    /// The requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// The issuer, to mint tokens directly (not counted as requests): expired ones, ones for
    /// other scopes.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.state.issuer
    }

    /// The options it runs with.
    pub fn options(&self) -> &TokenServerOptions {
        &self.state.options
    }

    /// Every request from now on meets `fault` (`None`: answered again).
    pub fn fail(&self, fault: Option<TokenFault>) {
        *self.state.fault.lock().unwrap() = fault;
    }
}

fn serve_token_request(state: &TokenState, req: &Request<Incoming>) -> Response<Body> {
    state.count.fetch_add(1, Ordering::SeqCst);
    let target = target(req);
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let service = pairs
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let basic = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let method = req.method().as_str();
    let (status, mut headers, body) = answer_token_request(
        state,
        method,
        &target,
        service.as_deref(),
        &scopes,
        basic.as_ref(),
    );
    state.log.lock().unwrap().push(TokenRequest {
        method: method.to_string(),
        target,
        service,
        scopes,
        username: basic.map(|(u, _)| u),
        status,
    });
    headers.insert(0, ("Connection", "close".to_string()));
    response(status, &headers, body)
}

fn json_error(status: u16, message: &str) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if status == 401 {
        headers.push((
            "WWW-Authenticate",
            "Basic realm=\"notaryd fixture token server\"".to_string(),
        ));
    }
    let body =
        serde_json::to_vec(&json!({"errors": [{"code": "DENIED", "message": message}]})).unwrap();
    (status, headers, body)
}

fn answer_token_request(
    state: &TokenState,
    method: &str,
    target: &str,
    service: Option<&str>,
    scopes: &[String],
    basic: Option<&(String, String)>,
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let path = target.split('?').next().unwrap_or("");
    if path != "/token" {
        return json_error(404, "not found");
    }
    if method == "POST" {
        let mut answer = json_error(405, "only the GET token flow is implemented");
        answer.1.push(("Allow", "GET".into()));
        return answer;
    }
    if method != "GET" {
        return json_error(405, "method not allowed");
    }
    if service != Some(SERVICE) {
        return json_error(400, "unknown service");
    }
    let opts = &state.options;
    let mut pull_only = false;
    let subject = match (&opts.credentials, basic) {
        (Some((user, pass)), Some((u, p))) => {
            if u != user || p != pass {
                return json_error(401, "invalid username or password");
            }
            u.clone()
        }
        (Some(_), None) if opts.anonymous_pull => {
            pull_only = true;
            String::new()
        }
        (Some(_), None) => return json_error(401, "authentication required"),
        (None, Some((u, _))) => u.clone(),
        (None, None) => String::new(),
    };
    // Grant only what was asked, within what the server ever grants.
    let mut access = Vec::new();
    for scope in scopes {
        let Some(asked) = Access::parse_scope(scope) else {
            return json_error(400, "malformed scope");
        };
        if asked.kind != "repository" {
            continue;
        }
        let actions: Vec<String> = asked
            .actions
            .iter()
            .filter(|a| opts.grantable_actions.contains(a))
            .filter(|a| !pull_only || a.as_str() == "pull")
            .cloned()
            .collect();
        if !actions.is_empty() {
            access.push(Access { actions, ..asked });
        }
    }
    let now = unix_now();
    let lifetime = opts.expires_in as i64;
    let token = state.issuer.mint(&subject, &access, now, now + lifetime);
    let issued_at = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = serde_json::to_vec(&json!({
        "token": token,
        "access_token": token,
        "expires_in": lifetime,
        "issued_at": issued_at,
    }))
    .unwrap();
    (200, vec![("Content-Type", "application/json".into())], body)
}

// ---------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------

/// How the registry authenticates clients.
#[derive(Clone, Debug, Default)]
pub enum RegistryAuth {
    /// Anonymous pull and push.
    #[default]
    None,
    /// htpasswd basic auth with one user (bcrypt, as distribution requires).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// Bearer tokens from a [`FixtureTokenServer`] the harness starts.
    Token(TokenServerOptions),
}

/// HTTPS for the registry: a test CA and a server certificate for 127.0.0.1, and optionally
/// a client CA whose certificates the registry requires (mutual TLS).
#[derive(Clone, Debug, Default)]
pub struct RegistryTls {
    /// Require a client certificate signed by the harness's client CA.
    pub require_client_cert: bool,
}

/// The PEM files of a TLS registry, written to its temporary directory.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA that signed the server certificate.
    pub ca: PathBuf,
    /// A client certificate the registry accepts (signed by its client CA).
    pub client_cert: PathBuf,
    /// Its key (PKCS#8).
    pub client_key: PathBuf,
}

/// How to start a [`TestRegistry`].
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Client authentication.
    pub auth: RegistryAuth,
    /// Serve HTTPS instead of HTTP.
    pub tls: Option<RegistryTls>,
}

impl RegistryOptions {
    /// No authentication.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// htpasswd basic auth for one user.
    pub fn basic(username: &str, password: &str) -> Self {
        Self {
            auth: RegistryAuth::Basic {
                username: username.into(),
                password: password.into(),
            },
            ..Self::default()
        }
    }

    /// Bearer-token auth through a fixture token server.
    pub fn token(options: TokenServerOptions) -> Self {
        Self {
            auth: RegistryAuth::Token(options),
            ..Self::default()
        }
    }

    /// The same registry over HTTPS.
    pub fn with_tls(mut self, require_client_cert: bool) -> Self {
        self.tls = Some(RegistryTls {
            require_client_cert,
        });
        self
    }
}

/// Writes a CA, a server certificate for 127.0.0.1 and a client CA with one client
/// certificate into `dir`; returns the registry's YAML `tls:` block and the file set.
fn write_tls(dir: &Path, require_client_cert: bool) -> (String, TlsFiles) {
    use rcgen::{
        CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "notaryd test registry CA");
    ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let ca_issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(Vec::<String>::new()).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    server.subject_alt_names = vec![SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]))];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &ca_issuer).unwrap();

    let client_ca_key = KeyPair::generate().unwrap();
    let mut client_ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_ca
        .distinguished_name
        .push(DnType::CommonName, "notaryd test client CA");
    client_ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let client_ca_cert = client_ca.self_signed(&client_ca_key).unwrap();
    let client_issuer = Issuer::new(client_ca, client_ca_key);
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "notaryd test client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &client_issuer).unwrap();

    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca_path = write("ca.pem", &ca_cert.pem());
    let server_cert_path = write("server.pem", &server_cert.pem());
    let server_key_path = write("server.key", &server_key.serialize_pem());
    let client_ca_path = write("client-ca.pem", &client_ca_cert.pem());
    let files = TlsFiles {
        ca: ca_path,
        client_cert: write("client.pem", &client_cert.pem()),
        client_key: write("client.key", &client_key.serialize_pem()),
    };
    let mut yaml = format!(
        "  tls:\n    certificate: '{}'\n    key: '{}'\n",
        server_cert_path.display(),
        server_key_path.display()
    );
    if require_client_cert {
        yaml.push_str(&format!(
            "    clientcas:\n      - '{}'\n",
            client_ca_path.display()
        ));
    }
    (yaml, files)
}

/// An HTTP answer, read whole.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: not JSON: {}", self.text()))
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An OCI index pushed with its platform images.
#[derive(Clone, Debug)]
pub struct PushedIndex {
    /// The index.
    pub index: Desc,
    /// Each platform image, in the order asked: ((os, architecture), manifest descriptor).
    pub images: Vec<((String, String), Desc)>,
}

/// A running `docker-registry` (distribution 2.8) on 127.0.0.1, its temporary config and
/// storage, and the token server in front of it when it uses bearer tokens. Dropping it stops
/// the process by PID (SIGTERM, then SIGKILL after a grace) and removes its files.
pub struct TestRegistry {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    log_path: PathBuf,
    storage: PathBuf,
    token_server: Option<FixtureTokenServer>,
    tls_files: Option<TlsFiles>,
    basic: Option<(String, String)>,
    http: Http,
    worker: Worker,
    // Last: removed after the process is gone.
    dir: tempfile::TempDir,
}

/// The message of every failure to find or run the registry binary.
pub const INSTALL_HINT: &str =
    "install docker-registry (apt-get install docker-registry) or run scripts/test.sh";

/// Where `docker-registry` is: `$NOTARYD_TEST_REGISTRY_BIN`, else on PATH, else /usr/bin.
/// Panics with [`INSTALL_HINT`] when it is nowhere: these tests must never skip silently.
pub fn registry_binary() -> PathBuf {
    find_registry_binary(
        std::env::var_os(REGISTRY_BIN_ENV).as_deref(),
        &std::env::var_os("PATH").unwrap_or_default(),
        Path::new("/usr/bin"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// [`registry_binary`] with its inputs as parameters.
pub fn find_registry_binary(
    overridden: Option<&std::ffi::OsStr>,
    path: &std::ffi::OsStr,
    fallback_dir: &Path,
) -> Result<PathBuf, String> {
    if let Some(bin) = overridden {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "{REGISTRY_BIN_ENV}={} is not a file: {INSTALL_HINT}",
                bin.display()
            ))
        };
    }
    std::env::split_paths(path)
        .chain([fallback_dir.to_owned()])
        .map(|d| d.join("docker-registry"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "docker-registry not found on PATH or in {}: {INSTALL_HINT}",
                fallback_dir.display()
            )
        })
}

/// The registry's temporary directory: on /dev/shm (tmpfs) when there is one, so that storage
/// writes and the final removal cost no disk I/O; else in the system temporary directory.
fn temp_dir() -> tempfile::TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix("notaryd-registry-");
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = builder.tempdir_in(shm)
    {
        return dir;
    }
    builder.tempdir().expect("temporary directory")
}

impl TestRegistry {
    /// Starts a registry and waits until `GET /v2/` answers. Panics (with the registry's log)
    /// when it does not start within 10 s, and when the binary is missing.
    pub fn start(options: RegistryOptions) -> Self {
        let bin = registry_binary();
        let dir = temp_dir();
        let storage = dir.path().join("storage");
        let mut token_server = None;
        let mut basic = None;
        let mut client_auth = ClientAuth::Anonymous;
        let auth_yaml = match options.auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Basic { username, password } => {
                let hash = bcrypt::hash(&password, 4).expect("bcrypt");
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{username}:{hash}\n")).unwrap();
                client_auth = ClientAuth::Basic(basic_authorization(&username, &password));
                basic = Some((username, password));
                format!(
                    "auth:\n  htpasswd:\n    realm: {SERVICE}\n    path: '{}'\n",
                    htpasswd.display()
                )
            }
            RegistryAuth::Token(token_options) => {
                let issuer = Arc::new(TokenIssuer::new());
                let bundle = dir.path().join("token-root.pem");
                std::fs::write(&bundle, issuer.root_pem()).unwrap();
                let server = FixtureTokenServer::start_with(token_options, issuer.clone());
                client_auth = ClientAuth::Token(issuer);
                let yaml = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: '{}'\n",
                    server.realm(),
                    bundle.display()
                );
                token_server = Some(server);
                yaml
            }
        };
        let (tls_yaml, tls_files) = match &options.tls {
            Some(t) => {
                let (yaml, files) = write_tls(dir.path(), t.require_client_cert);
                (yaml, Some(files))
            }
            None => (String::new(), None),
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: info\n  formatter: text\n\
                 storage:\n  filesystem:\n    rootdirectory: '{}'\n  delete:\n    enabled: true\n  \
                 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:0\n  secret: '{}'\n  headers:\n    X-Content-Type-Options: [nosniff]\n\
                 {tls_yaml}\
                 {auth_yaml}",
                storage.display(),
                random_hex(16),
            ),
        )
        .unwrap();
        let log_path = dir.path().join("registry.log");
        let log = File::create(&log_path).unwrap();
        let mut command = Command::new(&bin);
        // distribution reads REGISTRY_* variables as config overrides: the config file rules.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REGISTRY_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}: {INSTALL_HINT}", bin.display()));
        let pid = child.id();
        let addr = match wait_until_ready(&mut child, &log_path, tls_files.is_some()) {
            Ok(addr) => addr,
            Err(why) => {
                stop_child(&mut child);
                panic!(
                    "docker-registry did not start: {why}\n--- registry log ---\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
        };
        Self {
            child: Some(child),
            pid,
            addr,
            log_path,
            storage,
            token_server,
            basic,
            http: match &tls_files {
                Some(files) => Http::new_tls(format!("https://{addr}"), client_auth, files),
                None => Http::new(format!("http://{addr}"), client_auth),
            },
            tls_files,
            worker: Worker::new(),
            dir,
        }
    }

    /// A registry without authentication.
    pub fn anonymous() -> Self {
        Self::start(RegistryOptions::anonymous())
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA and client certificate files of a TLS registry.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls_files.as_ref()
    }

    /// `127.0.0.1:PORT`, the registry host of image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The registry's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The temporary directory holding the config, log, storage and auth files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The token server, when the registry uses bearer tokens.
    pub fn token_server(&self) -> Option<&FixtureTokenServer> {
        self.token_server.as_ref()
    }

    /// The Basic credentials, when the registry uses htpasswd.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Stops the registry now (idempotent): for "registry down" tests. Its address then
    /// refuses connections; its storage stays until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }

    /// Whether the process is still running (not stopped, not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Where the filesystem driver keeps the bytes of blob `digest`.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Replaces the stored bytes of blob (or manifest) `digest`: the registry then serves
    /// `bytes` under `digest` (it does not re-hash on read) — a registry serving wrong content.
    pub fn overwrite_blob(&self, digest: &str, bytes: &[u8]) {
        let path = self.blob_path(digest);
        assert!(
            path.is_file(),
            "{digest} is not stored ({})",
            path.display()
        );
        std::fs::write(path, bytes).unwrap();
    }

    fn run<T: Send + 'static>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, String>> + Send + 'static,
    ) -> T {
        match self.worker.run(fut) {
            Ok(v) => v,
            Err(e) => panic!(
                "{what}: {e}\n--- registry log (tail) ---\n{}",
                log_tail(&self.log(), 40)
            ),
        }
    }

    // ---- raw requests ----

    /// A request to `path` (`/v2/...`) authenticated as the harness: Basic credentials, or a
    /// token minted for the repository in the path with pull, push and delete (not counted by
    /// the token server).
    pub fn fetch(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let http = self.http.clone();
        let (method, url, headers) = (method.to_string(), self.http.absolute(path), owned(headers));
        let repo = repository_of(path);
        self.run("request", async move {
            let auth = http.authorization(repo.as_deref());
            http.send(&method, &url, &headers, None, auth).await
        })
    }

    /// [`Self::fetch`] with a request body, the status not checked: for pushes the registry
    /// should refuse.
    pub fn fetch_with_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let http = self.http.clone();
        let (method, url, headers, body) = (
            method.to_string(),
            self.http.absolute(path),
            owned(headers),
            body.to_vec(),
        );
        let repo = repository_of(path);
        self.run("request", async move {
            let auth = http.authorization(repo.as_deref());
            http.send(&method, &url, &headers, Some(body), auth).await
        })
    }

    /// A request to `path` on the registry with no credentials, or to any absolute URL (the
    /// token server's realm) with exactly `headers`.
    pub fn fetch_anonymous(
        &self,
        method: &str,
        path_or_url: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let http = self.http.clone();
        let (method, url, headers) = (
            method.to_string(),
            self.http.absolute(path_or_url),
            owned(headers),
        );
        self.run("request", async move {
            http.send(&method, &url, &headers, None, None).await
        })
    }

    /// GET (or HEAD) a manifest accepting every manifest media type, authenticated.
    pub fn manifest(&self, method: &str, repo: &str, reference: &str) -> Reply {
        self.fetch(
            method,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Accept", MANIFEST_ACCEPT)],
        )
    }

    /// The tags of `repo` (empty when the repository does not exist).
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let r = self.fetch("GET", &format!("/v2/{repo}/tags/list"), &[]);
        if r.status == 404 {
            return Vec::new();
        }
        assert_eq!(r.status, 200, "tags/list: {}", r.text());
        r.json()["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    // ---- push helpers ----

    /// Uploads a blob (POST then PUT with the digest) and returns its descriptor.
    pub fn push_blob(&self, repo: &str, media_type: &str, bytes: &[u8]) -> Desc {
        let http = self.http.clone();
        let (repo, media_type, bytes) = (repo.to_string(), media_type.to_string(), bytes.to_vec());
        self.run("push blob", async move {
            http.push_blob(&repo, &media_type, bytes).await
        })
    }

    /// PUTs a manifest under `reference` (a tag or its digest) and returns its digest (checked
    /// against the registry's Docker-Content-Digest).
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let http = self.http.clone();
        let (repo, reference, media_type, bytes) = (
            repo.to_string(),
            reference.to_string(),
            media_type.to_string(),
            bytes.to_vec(),
        );
        self.run("push manifest", async move {
            http.push_manifest(&repo, &reference, &media_type, bytes)
                .await
        })
    }

    /// Deletes a manifest by digest (distribution also drops every tag pointing at it).
    pub fn delete_manifest(&self, repo: &str, digest: &str) {
        let r = self.fetch("DELETE", &format!("/v2/{repo}/manifests/{digest}"), &[]);
        assert_eq!(r.status, 202, "delete {digest}: {}", r.text());
    }

    /// A small image (config + one layer with `content`) tagged `tag`; returns the manifest
    /// descriptor. Same bytes as [`super::layout::LayoutWriter::image`], so the same digests.
    pub fn image(&self, repo: &str, tag: &str, content: &[u8]) -> Desc {
        let http = self.http.clone();
        let (repo, tag, content) = (repo.to_string(), tag.to_string(), content.to_vec());
        self.run("push image", async move {
            http.push_image(&repo, Some(&tag), "linux", "amd64", content)
                .await
        })
    }

    /// A multi-arch image: one image per `(os, architecture)` (pushed by digest, layer
    /// `content` + the platform so each differs) and an OCI index over them tagged `tag`.
    pub fn image_index(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[(&str, &str)],
        content: &[u8],
    ) -> PushedIndex {
        let http = self.http.clone();
        let (repo, tag, content) = (repo.to_string(), tag.to_string(), content.to_vec());
        let platforms: Vec<(String, String)> = platforms
            .iter()
            .map(|(o, a)| (o.to_string(), a.to_string()))
            .collect();
        self.run("push index", async move {
            let mut images = Vec::new();
            let mut entries = Vec::new();
            for (os, arch) in platforms {
                let mut layer = content.clone();
                layer.extend_from_slice(format!("\n{os}/{arch}").as_bytes());
                let desc = http.push_image(&repo, None, &os, &arch, layer).await?;
                let mut entry = desc.json();
                entry["platform"] = json!({"architecture": arch, "os": os});
                entries.push(entry);
                images.push(((os, arch), desc));
            }
            let bytes = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_TYPE_INDEX,
                "manifests": entries,
            }))
            .unwrap();
            let size = bytes.len() as u64;
            let digest = http
                .push_manifest(&repo, &tag, MEDIA_TYPE_INDEX, bytes)
                .await?;
            Ok(PushedIndex {
                index: Desc {
                    media_type: MEDIA_TYPE_INDEX.into(),
                    digest,
                    size,
                },
                images,
            })
        })
    }

    /// Pushes a one-layer image as `repo:tag` and signs it as `notation sign` does by default
    /// (a JWS envelope from `chain`'s leaf, the legacy signature-manifest form).
    pub fn signed_image(&self, repo: &str, tag: &str, content: &[u8], chain: &Chain) -> Desc {
        let image = self.image(repo, tag, content);
        let jws = Jws::new(
            chain,
            payload_for(&image.media_type, &image.digest, image.size, &[]),
        )
        .sign();
        self.sign(
            repo,
            &image,
            "application/jose+json",
            &jws,
            SignatureForm::Legacy,
        );
        image
    }

    /// Attaches a Notary signature to `subject` as `notation sign` does against a registry
    /// without the referrers API: the envelope blob (`application/jose+json` or
    /// `application/cose`), the config blob of `form`, the signature manifest pushed by digest,
    /// then the referrers tag-schema index `sha256-<hex>` fetched, extended with the
    /// signature's descriptor (its `artifactType` and annotations), pushed, and the previous
    /// index deleted. Returns the signature manifest descriptor.
    pub fn sign(
        &self,
        repo: &str,
        subject: &Desc,
        envelope_media_type: &str,
        envelope: &[u8],
        form: SignatureForm,
    ) -> Desc {
        let http = self.http.clone();
        let (repo, subject, envelope_media_type, envelope) = (
            repo.to_string(),
            subject.clone(),
            envelope_media_type.to_string(),
            envelope.to_vec(),
        );
        self.run("push signature", async move {
            let env = http
                .push_blob(&repo, &envelope_media_type, envelope)
                .await?;
            let (config_media_type, config_bytes) = signature_config(form);
            let config = http
                .push_blob(&repo, config_media_type, config_bytes.to_vec())
                .await?;
            let manifest = signature_manifest(&subject, &config, &env, form);
            let parsed: Value = serde_json::from_slice(&manifest).unwrap();
            let desc = Desc {
                media_type: MEDIA_TYPE_MANIFEST.into(),
                digest: sha256(&manifest),
                size: manifest.len() as u64,
            };
            http.push_manifest(&repo, &desc.digest.clone(), MEDIA_TYPE_MANIFEST, manifest)
                .await?;
            // The index entry as oras-go (notation's registry library) writes it: artifactType
            // from the manifest, else its config media type; the manifest's annotations.
            let mut entry = desc.json();
            entry["artifactType"] = parsed
                .get("artifactType")
                .cloned()
                .unwrap_or_else(|| parsed["config"]["mediaType"].clone());
            if let Some(a) = parsed.get("annotations") {
                entry["annotations"] = a.clone();
            }
            debug_assert_eq!(entry["artifactType"], NOTARY_SIGNATURE);
            http.add_referrer(&repo, &subject.digest, entry).await?;
            Ok(desc)
        })
    }

    /// The referrers tag-schema index of `subject_digest` in `repo`, if any.
    pub fn referrers_index(&self, repo: &str, subject_digest: &str) -> Option<Value> {
        let r = self.manifest("GET", repo, &referrers_tag(subject_digest));
        match r.status {
            200 => Some(r.json()),
            404 => None,
            s => panic!("GET referrers index: {s} {}", r.text()),
        }
    }

    /// Replaces the referrers tag-schema index of `subject_digest` with one listing exactly
    /// `manifests` (which must exist in `repo`): for crafted cases (many referrers, foreign
    /// artifact types). Returns the index descriptor.
    pub fn put_referrers_index(
        &self,
        repo: &str,
        subject_digest: &str,
        manifests: &[Value],
    ) -> Desc {
        let bytes = referrers_index(manifests);
        let size = bytes.len() as u64;
        let digest = self.push_manifest(
            repo,
            &referrers_tag(subject_digest),
            MEDIA_TYPE_INDEX,
            &bytes,
        );
        Desc {
            media_type: MEDIA_TYPE_INDEX.into(),
            digest,
            size,
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// The repository of a `/v2/<name>/(manifests|blobs|tags|referrers)/...` path.
fn repository_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    ["/manifests/", "/blobs/", "/tags/", "/referrers/"]
        .iter()
        .filter_map(|m| rest.rfind(m))
        .min()
        .map(|end| rest[..end].to_string())
}

/// Waits until the registry logs the address it listens on and answers `GET /v2/` there.
fn wait_until_ready(child: &mut Child, log_path: &Path, tls: bool) -> Result<SocketAddr, String> {
    let deadline = Instant::now() + START_DEADLINE;
    let mut addr = None;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("it exited with {status}"));
        }
        if addr.is_none() {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            addr = log
                .split("listening on ")
                .nth(1)
                .and_then(|rest| rest.split(['"', ' ', ',', '\n']).next())
                .and_then(|a| a.parse::<SocketAddr>().ok());
        }
        // A TLS listener answers the plain probe with 400 ("HTTP request to an HTTPS server").
        if let Some(addr) = addr
            && (matches!(probe_v2(addr), Some(200 | 401)) || (tls && probe_v2(addr) == Some(400)))
        {
            return Ok(addr);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no answer to GET /v2/ within {START_DEADLINE:?} (address from the log: {addr:?})"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The status of `GET /v2/` at `addr`, over a plain std socket.
fn probe_v2(addr: SocketAddr) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// SIGTERM by PID, up to [`STOP_GRACE`] to exit, then SIGKILL; always reaps the child.
fn stop_child(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // The child is not reaped yet, so its PID cannot have been reused.
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------
// HTTP through reqwest, on a worker thread that owns a tokio runtime
// ---------------------------------------------------------------------------------------------

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime) + Send>;

/// Runs futures on its own thread and current-thread runtime, so that the helpers are plain
/// blocking calls that also work inside `#[tokio::test]` (where `block_on` would panic), and
/// the runtime is dropped on its own thread.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("test-registry-http".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                for job in rx {
                    job(&rt);
                }
            })
            .expect("spawn the http worker");
        Self {
            jobs: Some(tx),
            thread: Some(thread),
        }
    }

    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |rt| {
            let _ = tx.send(rt.block_on(fut));
        });
        self.jobs
            .as_ref()
            .unwrap()
            .send(job)
            .map_err(|_| "the http worker is gone".to_string())?;
        rx.recv()
            .map_err(|_| "the http worker panicked".to_string())?
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
enum ClientAuth {
    Anonymous,
    /// The whole header value.
    Basic(String),
    Token(Arc<TokenIssuer>),
}

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
    auth: ClientAuth,
}

impl Http {
    fn new_tls(base: String, auth: ClientAuth, files: &TlsFiles) -> Self {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&files.ca).unwrap()).unwrap();
        let mut identity = std::fs::read(&files.client_cert).unwrap();
        identity.extend(std::fs::read(&files.client_key).unwrap());
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([ca])
            .identity(reqwest::Identity::from_pem(&identity).unwrap())
            .build()
            .expect("https client");
        Self { client, base, auth }
    }

    fn new(base: String, auth: ClientAuth) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self { client, base, auth }
    }

    fn absolute(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn authorization(&self, repo: Option<&str>) -> Option<String> {
        match &self.auth {
            ClientAuth::Anonymous => None,
            ClientAuth::Basic(header) => Some(header.clone()),
            ClientAuth::Token(issuer) => {
                let access: Vec<Access> = repo
                    .map(|r| vec![Access::repository(r, &["pull", "push", "delete"])])
                    .unwrap_or_default();
                Some(format!(
                    "Bearer {}",
                    issuer.mint_now("harness", &access, 300)
                ))
            }
        }
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        authorization: Option<String>,
    ) -> Result<Reply, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self.client.request(method.clone(), url);
        for (n, v) in headers {
            req = req.header(n, v);
        }
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e:?}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("{method} {url}: body: {e}"))?
            .to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn call(
        &self,
        method: &str,
        repo: &str,
        path_or_url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let url = self.absolute(path_or_url);
        self.send(
            method,
            &url,
            &owned(headers),
            body,
            self.authorization(Some(repo)),
        )
        .await
    }

    async fn push_blob(
        &self,
        repo: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Desc, String> {
        let digest = sha256(&bytes);
        let size = bytes.len() as u64;
        let r = self
            .call(
                "POST",
                repo,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                None,
            )
            .await?;
        expect_status(&r, 202, "start blob upload")?;
        let location = r
            .header("location")
            .ok_or("blob upload without Location")?
            .to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}digest={digest}", self.absolute(&location));
        let r = self
            .call(
                "PUT",
                repo,
                &url,
                &[("Content-Type", "application/octet-stream")],
                Some(bytes),
            )
            .await?;
        expect_status(&r, 201, "finish blob upload")?;
        expect_digest(&r, &digest)?;
        Ok(Desc {
            media_type: media_type.into(),
            digest,
            size,
        })
    }

    async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, String> {
        let digest = sha256(&bytes);
        let r = self
            .call(
                "PUT",
                repo,
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("Content-Type", media_type)],
                Some(bytes),
            )
            .await?;
        expect_status(&r, 201, &format!("put manifest {repo}:{reference}"))?;
        expect_digest(&r, &digest)?;
        Ok(digest)
    }

    async fn push_image(
        &self,
        repo: &str,
        tag: Option<&str>,
        os: &str,
        architecture: &str,
        content: Vec<u8>,
    ) -> Result<Desc, String> {
        let config = self
            .push_blob(
                repo,
                MEDIA_TYPE_IMAGE_CONFIG,
                image_config(os, architecture),
            )
            .await?;
        let layer = self.push_blob(repo, MEDIA_TYPE_LAYER, content).await?;
        let manifest = image_manifest(&config, &layer);
        let desc = Desc {
            media_type: MEDIA_TYPE_MANIFEST.into(),
            digest: sha256(&manifest),
            size: manifest.len() as u64,
        };
        let reference = tag.map_or_else(|| desc.digest.clone(), str::to_string);
        self.push_manifest(repo, &reference, MEDIA_TYPE_MANIFEST, manifest)
            .await?;
        Ok(desc)
    }

    /// Adds `entry` to the referrers tag-schema index of `subject_digest` the way oras-go
    /// does: read the index (404: none yet), skip when the digest is listed, push the new
    /// index under the tag, delete the old one (its "referrers GC").
    async fn add_referrer(
        &self,
        repo: &str,
        subject_digest: &str,
        entry: Value,
    ) -> Result<(), String> {
        let tag = referrers_tag(subject_digest);
        let r = self
            .call(
                "GET",
                repo,
                &format!("/v2/{repo}/manifests/{tag}"),
                &[("Accept", MEDIA_TYPE_INDEX)],
                None,
            )
            .await?;
        let (old, mut manifests) = match r.status {
            404 => (None, Vec::new()),
            200 => {
                let index: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
                let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
                (Some(sha256(&r.body)), manifests)
            }
            s => {
                return Err(format!(
                    "GET {tag}: {s} {}",
                    String::from_utf8_lossy(&r.body)
                ));
            }
        };
        if manifests.iter().any(|m| m["digest"] == entry["digest"]) {
            return Ok(());
        }
        manifests.push(entry);
        let digest = self
            .push_manifest(repo, &tag, MEDIA_TYPE_INDEX, referrers_index(&manifests))
            .await?;
        if let Some(old) = old
            && old != digest
        {
            let r = self
                .call(
                    "DELETE",
                    repo,
                    &format!("/v2/{repo}/manifests/{old}"),
                    &[],
                    None,
                )
                .await?;
            expect_status(&r, 202, "delete the previous referrers index")?;
        }
        Ok(())
    }
}

fn expect_status(r: &Reply, want: u16, what: &str) -> Result<(), String> {
    if r.status == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: HTTP {} (want {want}): {}",
            r.status,
            r.text()
        ))
    }
}

fn expect_digest(r: &Reply, digest: &str) -> Result<(), String> {
    match r.header("docker-content-digest") {
        Some(d) if d == digest => Ok(()),
        other => Err(format!(
            "Docker-Content-Digest {other:?}, computed {digest}"
        )),
    }
}
