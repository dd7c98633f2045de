//! The HTTP side of the OCI distribution API that verification needs: manifests and blobs by
//! digest with the digest checked while the body streams in, the referrers API, and the
//! plumbing around them — per-host TLS, authentication, retries and deadlines. Every body is
//! capped; every request is counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;

use super::auth::{AuthCache, Challenge, HostAuth, TokenResponse, basic_header, pull_scope};
use super::budget::{BodyBudget, BodyHold, FIRST_SHARE, Share};
use super::credentials::{Credential, CredentialSource};
use super::error::RegistryError;
use crate::oci;
use crate::verify::descriptor::{Digest, DigestHasher};

/// Media types accepted when fetching a manifest by tag or digest: oras-go's default list,
/// which includes the pre-1.1 OCI artifact manifest that notation-go still accepts for
/// signatures (registries that honour `Accept` serve it only when it is named).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.artifact.manifest.v1+json";

/// Largest token-service answer read. Real answers are a few KiB (a JWT and some fields).
const MAX_TOKEN_RESPONSE_BYTES: u64 = 64 * 1024;

/// Largest error body read from a failed request (for its message). Registries answer with a
/// small JSON error document.
const MAX_ERROR_BODY_BYTES: u64 = 16 * 1024;

/// Most HTTP clients (one per host and TLS settings) kept for reuse.
pub const MAX_POOLED_CLIENTS: usize = 64;

/// What a host may be used for (containerd's `capabilities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Fetch content by digest.
    pub pull: bool,
    /// Resolve tags to digests.
    pub resolve: bool,
}

/// TLS settings of one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// Extra CA certificates (PEM), trusted in addition to the system roots.
    pub ca_pem: Vec<Vec<u8>>,
    /// A client certificate and key (PEM, concatenated).
    pub client_identity_pem: Option<Vec<u8>>,
    /// Do not verify the server certificate (hosts.toml `skip_verify`).
    pub skip_verify: bool,
}

/// One place a repository can be reached: a mirror or the upstream registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host[:port]`, as contacted.
    pub host: String,
    /// API path prefix, `/v2` unless overridden.
    pub path_prefix: String,
    /// What this host may be used for.
    pub capabilities: Capabilities,
    /// TLS settings (ignored for http).
    pub tls: TlsOptions,
    /// Extra headers sent to this host.
    pub headers: Vec<(String, String)>,
    /// True for the registry itself, false for mirrors.
    pub is_upstream: bool,
    /// hosts.toml's `dial_timeout` for this host, instead of the client's connect timeout.
    pub dial_timeout: Option<Duration>,
}

impl Endpoint {
    /// The default upstream endpoint for a registry host (https, `/v2`).
    pub fn upstream(host: &str, plain_http: bool) -> Self {
        Self {
            scheme: if plain_http { "http" } else { "https" },
            host: host.to_owned(),
            path_prefix: "/v2".to_owned(),
            capabilities: Capabilities {
                pull: true,
                resolve: true,
            },
            tls: TlsOptions::default(),
            headers: Vec::new(),
            is_upstream: true,
            dial_timeout: None,
        }
    }

    /// The URL of `suffix` (`manifests/…`, `blobs/…`) in `repository` at this endpoint.
    pub(crate) fn url(&self, repository: &str, suffix: &str) -> String {
        format!(
            "{}://{}{}/{repository}/{suffix}",
            self.scheme, self.host, self.path_prefix
        )
    }

    /// What an HTTP client is shared under: the scheme, the host and every TLS setting, so
    /// that a client built for one host's hosts.toml settings (a CA, a client certificate,
    /// `skip_verify`) is never used for a request that asked for others (a token realm that
    /// inherits a registry's settings, or the same host after hosts.toml changed).
    fn key(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.tls.hash(&mut h);
        self.dial_timeout.hash(&mut h);
        format!("{}://{}#{:016x}", self.scheme, self.host, h.finish())
    }
}

/// Timeouts and retry behaviour.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// TCP + TLS connect deadline per connection.
    pub connect_timeout: Duration,
    /// Deadline for one request, from sending to the last body byte.
    pub request_timeout: Duration,
    /// Attempts for a request answered with 429 or 5xx (1 = no retry).
    pub attempts: u32,
    /// First backoff; doubled per retry.
    pub backoff: Duration,
    /// Longest wait between attempts, including a registry's `Retry-After`.
    pub max_backoff: Duration,
    /// Most redirects followed for one request (blob downloads redirect to storage).
    pub max_redirects: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            // containerd's default dialer uses a 30 s connect timeout; a node verifier should
            // fail faster than kubelet's image pull deadline, so 5 s / 30 s here.
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            // Go's net/http default (and so containerd's and notation's) is 10 redirects.
            max_redirects: 10,
        }
    }
}

/// A manifest (or index) fetched and checked.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    /// The bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// Their digest (computed, and equal to any digest announced or asked for).
    pub digest: Digest,
    /// The media type: the response's Content-Type, checked against the document's own
    /// `mediaType` when it declares one.
    pub media_type: String,
    /// The share of the client's body budget the bytes hold (none without a budget); given
    /// back when the last clone is dropped.
    pub hold: BodyHold,
}

/// A blob fetched and checked against its descriptor.
#[derive(Clone, Debug)]
pub struct FetchedBlob {
    /// The bytes, exactly `size` of them, matching the digest.
    pub bytes: Vec<u8>,
    /// Their share of the client's body budget, as in [`FetchedManifest::hold`].
    pub hold: BodyHold,
}

/// Idle connections kept per registry host for reuse.
pub const MAX_IDLE_CONNECTIONS_PER_HOST: usize = 8;

/// How long an idle registry connection is kept for reuse.
pub(crate) const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The client. Cheap to share: connection pools and the token cache live inside.
pub struct RegistryClient {
    options: ClientOptions,
    credentials: Arc<dyn CredentialSource>,
    /// Shared with the clients made by [`RegistryClient::with_credentials`]: connections are
    /// pooled per host whoever asks.
    http: Arc<Mutex<HashMap<String, reqwest::Client>>>,
    /// Repositories (per endpoint) seen answering that they have no referrers API, and when:
    /// for [`NO_REFERRERS_API_MEMORY`] the API is not asked again there (shared like `http`).
    /// Per repository, not per host: some registries (Harbor, Artifactory) answer differently
    /// per project or repository.
    no_referrers_api: Arc<Mutex<HashMap<String, std::time::Instant>>>,
    auth: Arc<AuthCache>,
    requests: AtomicUsize,
    /// The budget every body read takes its bytes from (the use case's; none unless given).
    budget: Option<Arc<BodyBudget>>,
}

/// Repositories remembered without a referrers API, at most (the memory is emptied when full).
const MAX_REFERRERS_MEMO: usize = 4096;

fn referrers_memo_key(ep: &Endpoint, repository: &str) -> String {
    format!("{} {repository}", ep.key())
}

/// How long a repository whose registry answered "no referrers API" (a 404 on the first page)
/// is not asked again (the referrers tag schema is used directly). A registry upgraded to the API meanwhile is asked again after
/// this; signatures pushed through the API only are found then.
pub(crate) const NO_REFERRERS_API_MEMORY: Duration = Duration::from_secs(300);

impl RegistryClient {
    /// A client using `credentials` for every host.
    pub fn new(options: ClientOptions, credentials: Arc<dyn CredentialSource>) -> Self {
        Self {
            options,
            credentials,
            http: Arc::new(Mutex::new(HashMap::new())),
            no_referrers_api: Arc::new(Mutex::new(HashMap::new())),
            auth: Arc::default(),
            requests: AtomicUsize::new(0),
            budget: None,
        }
    }

    /// This client reading every body within `budget` (see [`super::budget`]), shared with
    /// the clients made from it by [`RegistryClient::with_credentials`].
    pub fn with_body_budget(mut self, budget: Arc<BodyBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The body budget, when there is one.
    pub fn body_budget(&self) -> Option<&Arc<BodyBudget>> {
        self.budget.as_ref()
    }

    /// A client that shares this one's connection pools but asks `credentials` instead, with
    /// its own token cache (a token obtained with one caller's credentials is never used for
    /// another's request).
    pub fn with_credentials(&self, credentials: Arc<dyn CredentialSource>) -> Self {
        self.with_credentials_and_tokens(credentials, Arc::default())
    }

    /// [`RegistryClient::with_credentials`], with the token cache given: the caller shares one
    /// between clients whose credentials are the same.
    pub(crate) fn with_credentials_and_tokens(
        &self,
        credentials: Arc<dyn CredentialSource>,
        auth: Arc<AuthCache>,
    ) -> Self {
        Self {
            options: self.options.clone(),
            credentials,
            http: Arc::clone(&self.http),
            no_referrers_api: Arc::clone(&self.no_referrers_api),
            auth,
            requests: AtomicUsize::new(0),
            budget: self.budget.clone(),
        }
    }

    /// HTTP requests sent so far (token requests included).
    pub fn requests_made(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    fn http_for(&self, ep: &Endpoint) -> Result<reqwest::Client, RegistryError> {
        let key = ep.key();
        if let Some(c) = self.http.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(ep.dial_timeout.unwrap_or(self.options.connect_timeout))
            .timeout(self.options.request_timeout)
            // After a burst, a few warm connections per host stay, not one per request that
            // ran at once (a daemon at 256 concurrent verifications kept ~70 sockets open).
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS_PER_HOST)
            .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
            .user_agent(concat!("notaryd/", env!("CARGO_PKG_VERSION")));
        // Redirects are followed by `send`, hop by hop, so that an error names the hop that
        // failed (blob storage), and no credential goes to another host.
        builder = builder.redirect(reqwest::redirect::Policy::none());
        if ep.scheme == "http" {
            // A plain-HTTP host needs no TLS: skip loading the system roots (4–6 ms, most of a
            // one-shot verification against a local registry). A redirect to HTTPS (blob
            // storage such as S3 behind a plain-HTTP registry) gets a client that has them.
            builder = builder.tls_certs_only(Vec::<reqwest::Certificate>::new());
        }
        if ep.scheme == "https" {
            let mut roots = Vec::new();
            for pem in &ep.tls.ca_pem {
                roots.extend(reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    RegistryError::Config(format!("CA certificates for {}: {e}", ep.host))
                })?);
            }
            if !roots.is_empty() {
                builder = builder.tls_certs_merge(roots);
            }
            if let Some(identity) = &ep.tls.client_identity_pem {
                builder = builder.identity(reqwest::Identity::from_pem(identity).map_err(|e| {
                    RegistryError::Config(format!("client certificate for {}: {e}", ep.host))
                })?);
            }
            if ep.tls.skip_verify {
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
        }
        let client = builder
            .build()
            .map_err(|e| RegistryError::Config(format!("HTTP client for {}: {e}", ep.host)))?;
        if let Ok(mut m) = self.http.lock() {
            // Hosts named by requests are not bounded (a daemon is asked about any registry),
            // so neither would the pool be: start over when it is full. Connections of the
            // dropped clients close when their last request ends.
            if m.len() >= MAX_POOLED_CLIENTS {
                m.clear();
            }
            m.insert(key, client.clone());
        }
        Ok(client)
    }

    async fn credential(&self, host: &str) -> Result<Option<Credential>, RegistryError> {
        self.credentials
            .credential(host)
            .await
            .map_err(|e| RegistryError::Config(format!("credentials for {host}: {e}")))
    }

    /// Sends a GET (or HEAD) for `url` on `ep` with authentication, retries for 429/5xx and
    /// one re-authentication on 401. Returns the final response, whatever its status.
    async fn send(
        &self,
        ep: &Endpoint,
        repository: &str,
        method: Method,
        url: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, RegistryError> {
        let http = self.http_for(ep)?;
        let scope = pull_scope(repository);
        let mut reauthenticated = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut headers = HeaderMap::new();
            for (k, v) in &ep.headers {
                if let (Ok(k), Ok(v)) = (
                    reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    headers.insert(k, v);
                }
            }
            if let Some(a) = accept {
                headers.insert(
                    ACCEPT,
                    HeaderValue::from_str(a).unwrap_or(HeaderValue::from_static("*/*")),
                );
            }
            if let Some(value) = self.authorization(ep, repository, &scope).await?
                && let Ok(v) = HeaderValue::from_str(&value)
            {
                headers.insert(AUTHORIZATION, v);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = crate::clock::monotonic();
            let headers_sent = headers.clone();
            let response = http
                .request(method.clone(), url)
                .headers(headers)
                .send()
                .await
                .map_err(|e| transport_error(ep, url, &e, &self.options))?;
            let response = self
                .follow_redirects(ep, &method, response, &headers_sent, url)
                .await?;
            let status = response.status();
            tracing::debug!(
                %method,
                url,
                status = status.as_u16(),
                headers_ms = sent.elapsed().as_secs_f64() * 1e3,
                "registry request"
            );
            // A 401 or 403 from where a redirect led (blob storage refusing its presigned
            // URL) is that server's answer, not the registry asking for credentials.
            if (status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN)
                && !on_endpoint(response.url(), ep)
            {
                return Err(status_error(
                    match method {
                        Method::HEAD => "HEAD",
                        _ => "GET",
                    },
                    url,
                    response,
                )
                .await);
            }
            if status == StatusCode::UNAUTHORIZED && !reauthenticated {
                reauthenticated = true;
                self.learn_challenge(ep, repository, &scope, &response)?;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                if let HostAuth::Bearer { realm, service } = self.auth.host(&ep.host) {
                    self.auth.forget_token(&ep.host, &realm, &service, &scope);
                }
                let message = error_message(response).await;
                return Err(RegistryError::Unauthorized {
                    host: ep.host.clone(),
                    repository: repository.to_owned(),
                    detail: message.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < self.options.attempts {
                let wait = retry_after(response.headers())
                    .unwrap_or(self.options.backoff * 2u32.saturating_pow(attempt - 1))
                    .min(self.options.max_backoff);
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(response);
        }
    }

    /// Follows redirects from `response`, at most `max_redirects` hops. A hop on the
    /// endpoint's own host gets the request's headers again; a hop elsewhere (blob storage,
    /// whose presigned URL carries its own authorisation) gets none of them and a client with
    /// the system roots. Errors name the hop that failed, without its query.
    async fn follow_redirects(
        &self,
        ep: &Endpoint,
        method: &Method,
        mut response: reqwest::Response,
        headers: &HeaderMap,
        asked: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut hops = 0;
        while response.status().is_redirection() {
            let Some(location) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
            else {
                return Ok(response);
            };
            hops += 1;
            if hops > self.options.max_redirects {
                return Err(RegistryError::Protocol {
                    url: answered_by(asked, response.url()),
                    detail: format!("more than {} redirects", self.options.max_redirects),
                });
            }
            if !matches!(location.scheme(), "http" | "https") {
                return Err(RegistryError::Protocol {
                    url: answered_by(asked, response.url()),
                    detail: format!("redirect to a {}: URL", location.scheme()),
                });
            }
            let same_host = on_endpoint(&location, ep) && location.scheme() == ep.scheme;
            let target = if same_host {
                ep.clone()
            } else {
                Endpoint {
                    scheme: if location.scheme() == "https" {
                        "https"
                    } else {
                        "http"
                    },
                    host: host_of(&location),
                    tls: TlsOptions::default(),
                    headers: Vec::new(),
                    is_upstream: false,
                    ..ep.clone()
                }
            };
            let http = self.http_for(&target)?;
            let mut request = http.request(method.clone(), location.as_str());
            if same_host {
                request = request.headers(headers.clone());
            } else if let Some(accept) = headers.get(ACCEPT) {
                request = request.header(ACCEPT, accept.clone());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let shown = answered_by(asked, &location);
            response = request
                .send()
                .await
                .map_err(|e| transport_error(&target, &shown, &e, &self.options))?;
        }
        Ok(response)
    }

    /// The `Authorization` header value for a request, from what the host is known to want.
    async fn authorization(
        &self,
        ep: &Endpoint,
        repository: &str,
        scope: &str,
    ) -> Result<Option<String>, RegistryError> {
        match self.auth.host(&ep.host) {
            HostAuth::Unknown => Ok(None),
            HostAuth::Basic => match self.credential(&ep.host).await? {
                Some(c) => Ok(basic_header(&c)),
                None => Err(RegistryError::Unauthorized {
                    host: ep.host.clone(),
                    repository: repository.to_owned(),
                    detail: "the registry asks for Basic credentials and none are configured"
                        .into(),
                }),
            },
            HostAuth::Bearer { realm, service } => {
                let now = Instant::now();
                if let Some(t) = self.auth.token(&ep.host, &realm, &service, scope, now) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let (token, lifetime) = self.fetch_token(ep, &realm, &service, scope).await?;
                self.auth.store_token(
                    &ep.host,
                    &realm,
                    &service,
                    scope,
                    (token.clone(), lifetime),
                    Instant::now(),
                );
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    fn learn_challenge(
        &self,
        ep: &Endpoint,
        repository: &str,
        scope: &str,
        response: &reqwest::Response,
    ) -> Result<(), RegistryError> {
        let header = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Unauthorized {
                host: ep.host.clone(),
                repository: repository.to_owned(),
                detail: "HTTP 401 without a WWW-Authenticate challenge".into(),
            })?;
        let challenge = Challenge::parse(header).map_err(|e| RegistryError::Unauthorized {
            host: ep.host.clone(),
            repository: repository.to_owned(),
            detail: e.to_string(),
        })?;
        match challenge {
            Challenge::Basic => self.auth.learn(&ep.host, HostAuth::Basic),
            Challenge::Bearer { realm, service, .. } => {
                // A 401 with a token we held means the token went stale: drop it.
                self.auth.forget_token(&ep.host, &realm, &service, scope);
                self.auth
                    .learn(&ep.host, HostAuth::Bearer { realm, service })
            }
        }
        Ok(())
    }

    async fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: &Option<String>,
        scope: &str,
    ) -> Result<(String, Duration), RegistryError> {
        let token_error = |detail: String| RegistryError::Token {
            realm: realm.to_owned(),
            detail,
        };
        let url =
            reqwest::Url::parse(realm).map_err(|e| token_error(format!("bad realm URL: {e}")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(token_error("realm is not an http(s) URL".into()));
        }
        // The realm is named by the registry; credentials go there only over TLS unless the
        // registry itself is plain HTTP (a local or test registry configured so).
        let credential = self.credential(&ep.host).await?;
        if credential.is_some() && url.scheme() == "http" && ep.scheme == "https" {
            return Err(token_error(
                "refusing to send credentials to a plain-HTTP token realm of an HTTPS registry"
                    .into(),
            ));
        }
        let token_ep = Endpoint {
            scheme: if url.scheme() == "https" {
                "https"
            } else {
                "http"
            },
            host: url.host_str().unwrap_or_default().to_owned()
                + &url.port().map(|p| format!(":{p}")).unwrap_or_default(),
            ..ep.clone()
        };
        let http = self.http_for(&token_ep)?;
        let mut get_url = url.clone();
        {
            let mut q = get_url.query_pairs_mut();
            q.append_pair("scope", scope);
            if let Some(s) = service {
                q.append_pair("service", s);
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let request = match &credential {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "notaryd"),
                    ("scope", scope),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let body = form
                    .iter()
                    .map(|(k, v)| format!("{k}={}", url_encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                http.post(url.clone())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
            Some(c @ Credential::Basic { .. }) => {
                let mut r = http.get(get_url);
                if let Some(h) = basic_header(c) {
                    r = r.header(AUTHORIZATION, h);
                }
                r
            }
            None => http.get(get_url),
        };
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&token_ep, realm, &e, &self.options))?;
        let status = response.status();
        if !status.is_success() {
            let message = error_message(response).await;
            return Err(
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    RegistryError::Unauthorized {
                        host: ep.host.clone(),
                        // `repository:<name>:pull` → the name, as the other refusals say it.
                        repository: scope
                            .strip_prefix("repository:")
                            .and_then(|s| s.rsplit_once(':'))
                            .map_or(scope, |(name, _)| name)
                            .to_owned(),
                        detail: format!(
                            "token service refused {}: {}",
                            if credential.is_some() {
                                "the credentials"
                            } else {
                                "anonymous access"
                            },
                            message.unwrap_or_else(|| format!("HTTP {}", status.as_u16()))
                        ),
                    }
                } else {
                    token_error(format!(
                        "HTTP {}{}",
                        status.as_u16(),
                        message.map(|m| format!(": {m}")).unwrap_or_default()
                    ))
                },
            );
        }
        let (body, _hold) = read_limited(
            response,
            MAX_TOKEN_RESPONSE_BYTES,
            realm,
            |e| transport_error(&token_ep, realm, e, &self.options),
            self.budget.as_deref(),
        )
        .await?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| token_error(format!("answer is not a token document: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| token_error("answer carries no token".into()))
    }

    /// Fetches a manifest or index by tag or digest. The digest of the bytes is computed; it
    /// must equal the digest asked for (when `reference` is one) and the registry's
    /// `Docker-Content-Digest` (when sent).
    pub async fn fetch_manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        reference: &str,
        max: u64,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = ep.url(repository, &format!("manifests/{reference}"));
        let response = self
            .send(ep, repository, Method::GET, &url, Some(MANIFEST_ACCEPT))
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            let codes = error_codes(response).await;
            if codes.iter().any(|c| c == "NAME_UNKNOWN") {
                return Err(RegistryError::RepositoryNotFound {
                    repository: repository.to_owned(),
                    host: ep.host.clone(),
                });
            }
            return Err(RegistryError::ManifestNotFound {
                reference: format!("{repository}:{reference}"),
                host: ep.host.clone(),
            });
        }
        if !status.is_success() {
            return Err(status_error("GET", &url, response).await);
        }
        let announced = header_digest(response.headers(), &url)?;
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let asked = Digest::parse(reference).ok();
        let (bytes, hold) = read_limited(
            response,
            max,
            &url,
            |e| transport_error(ep, &url, e, &self.options),
            self.budget.as_deref(),
        )
        .await?;
        let digest = match asked.as_ref().or(announced.as_ref()) {
            Some(d) => d.clone(),
            None => Digest::sha256_of(&bytes),
        };
        if let Some(asked) = &asked
            && !asked.matches(&bytes)
        {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: asked.clone(),
                computed: Digest::sha256_of(&bytes),
                source_of_expected: "the digest asked for",
            });
        }
        if let Some(announced) = &announced
            && !announced.matches(&bytes)
        {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: announced.clone(),
                computed: Digest::sha256_of(&bytes),
                source_of_expected: "Docker-Content-Digest",
            });
        }
        if let (Some(asked), Some(announced)) = (&asked, &announced)
            && asked.algorithm() == announced.algorithm()
            && asked != announced
        {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: asked.clone(),
                computed: announced.clone(),
                source_of_expected: "the digest asked for (Docker-Content-Digest differs)",
            });
        }
        let manifest = oci::Manifest::parse(&bytes).map_err(|e| RegistryError::Protocol {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        let media_type = match (content_type, manifest.media_type.as_deref()) {
            (Some(ct), Some(declared)) if ct != declared && is_manifest_type(&ct) => {
                return Err(RegistryError::Protocol {
                    url,
                    detail: format!(
                        "Content-Type {ct} contradicts the document's mediaType {declared}"
                    ),
                });
            }
            (_, Some(declared)) => declared.to_owned(),
            (Some(ct), None) if is_manifest_type(&ct) => ct,
            _ => manifest.effective_media_type().to_owned(),
        };
        Ok(FetchedManifest {
            bytes,
            digest,
            media_type,
            hold,
        })
    }

    /// Fetches a blob by descriptor, refusing it when it is larger than `max` or its
    /// descriptor, and checking its digest while it streams.
    pub async fn fetch_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> Result<FetchedBlob, RegistryError> {
        let url = ep.url(repository, &format!("blobs/{digest}"));
        if size > max {
            return Err(RegistryError::TooLarge { url, limit: max });
        }
        let response = self.send(ep, repository, Method::GET, &url, None).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::ManifestNotFound {
                reference: format!("{repository}@{digest} (blob)"),
                host: ep.host.clone(),
            });
        }
        if !status.is_success() {
            return Err(status_error("GET", &url, response).await);
        }
        let mut hasher = digest.hasher().ok_or_else(|| RegistryError::Protocol {
            url: url.clone(),
            detail: format!("unsupported digest algorithm {}", digest.algorithm()),
        })?;
        // Hashed while it streams in, so the check costs no second pass over an envelope of up
        // to the envelope cap.
        let (bytes, hold) = read_hashed(
            response,
            size,
            &url,
            |e| transport_error(ep, &url, e, &self.options),
            Some(&mut hasher),
            self.budget.as_deref(),
        )
        .await?;
        if bytes.len() as u64 != size {
            return Err(RegistryError::Protocol {
                url,
                detail: format!("blob is {} bytes, its descriptor says {size}", bytes.len()),
            });
        }
        let computed = hasher.finish();
        if &computed != digest {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: digest.clone(),
                computed,
                source_of_expected: "the descriptor",
            });
        }
        Ok(FetchedBlob { bytes, hold })
    }

    /// Whether `ep` said recently that `repository` has no referrers API.
    pub fn known_without_referrers_api(&self, ep: &Endpoint, repository: &str) -> bool {
        let now = crate::clock::monotonic();
        self.no_referrers_api
            .lock()
            .ok()
            .and_then(|m| m.get(&referrers_memo_key(ep, repository)).copied())
            .is_some_and(|seen| now.saturating_duration_since(seen) < NO_REFERRERS_API_MEMORY)
    }

    fn remember_without_referrers_api(&self, ep: &Endpoint, repository: &str) {
        if let Ok(mut m) = self.no_referrers_api.lock() {
            if m.len() >= MAX_REFERRERS_MEMO {
                m.clear();
            }
            m.insert(
                referrers_memo_key(ep, repository),
                crate::clock::monotonic(),
            );
        }
    }

    /// One page of the referrers API for `subject`. `page_url` continues a listing from a
    /// `Link` header. `Ok(None)` means the registry does not support the API.
    pub async fn referrers_page(
        &self,
        ep: &Endpoint,
        repository: &str,
        subject: &Digest,
        artifact_type: &str,
        page_url: Option<&str>,
        max: u64,
    ) -> Result<Option<ReferrersPage>, RegistryError> {
        let url = match page_url {
            Some(u) => u.to_owned(),
            None => format!(
                "{}?artifactType={}",
                ep.url(repository, &format!("referrers/{subject}")),
                url_encode(artifact_type)
            ),
        };
        let response = self
            .send(
                ep,
                repository,
                Method::GET,
                &url,
                Some(oci::MEDIA_TYPE_IMAGE_INDEX),
            )
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            // A 404 naming the repository is an error; any other 404 means "no referrers API".
            if error_codes(response)
                .await
                .iter()
                .any(|c| c == "NAME_UNKNOWN")
            {
                return Err(RegistryError::RepositoryNotFound {
                    repository: repository.to_owned(),
                    host: ep.host.clone(),
                });
            }
            // Only the first page's answer says whether the API exists; a continuation link
            // that went stale says nothing about it.
            if page_url.is_none() {
                self.remember_without_referrers_api(ep, repository);
            }
            return Ok(None);
        }
        if !status.is_success() {
            return Err(status_error("GET", &url, response).await);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        if content_type.as_deref() != Some(oci::MEDIA_TYPE_IMAGE_INDEX) {
            // oras-go treats a 200 of another type as "unsupported" too. Not remembered: it
            // may be an intermediary's error page, not the registry's answer. Said in the log,
            // since it hides whatever the body was (docs/compatibility.md).
            tracing::warn!(
                %url,
                content_type = content_type.as_deref().unwrap_or("(none)"),
                "referrers API answered 200 with a type other than an OCI image index; \
                 treated as no referrers API, reading the referrers tag schema instead"
            );
            return Ok(None);
        }
        // `OCI-Filters-Applied` is not consulted: the caller filters every page on the client
        // whatever the registry claims, which costs nothing and trusts nothing.
        let next = next_link(response.headers(), &url, ep)?;
        // Held (as `_hold`) while the page is parsed, given back with the bytes.
        let (bytes, _hold) = read_limited(
            response,
            max,
            &url,
            |e| transport_error(ep, &url, e, &self.options),
            self.budget.as_deref(),
        )
        .await?;
        let index = oci::Manifest::parse(&bytes).map_err(|e| RegistryError::Protocol {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        Ok(Some(ReferrersPage {
            entries: index.manifests,
            next,
        }))
    }
}

/// One page of a referrers listing.
#[derive(Clone, Debug)]
pub struct ReferrersPage {
    /// The descriptors on this page (filtered or not: callers filter again).
    pub entries: Vec<crate::verify::descriptor::Descriptor>,
    /// The next page, from `Link: <…>; rel="next"`.
    pub next: Option<String>,
}

fn is_manifest_type(t: &str) -> bool {
    matches!(
        t,
        oci::MEDIA_TYPE_IMAGE_MANIFEST
            | oci::MEDIA_TYPE_IMAGE_INDEX
            | oci::MEDIA_TYPE_DOCKER_MANIFEST
            | oci::MEDIA_TYPE_DOCKER_MANIFEST_LIST
            | oci::MEDIA_TYPE_ARTIFACT_MANIFEST
    )
}

/// `Docker-Content-Digest`, when present and well-formed (a malformed one is a protocol error:
/// the registry announced something we cannot check).
fn header_digest(headers: &HeaderMap, url: &str) -> Result<Option<Digest>, RegistryError> {
    match headers.get("Docker-Content-Digest") {
        None => Ok(None),
        Some(v) => {
            let text = v.to_str().unwrap_or_default();
            Digest::parse(text)
                .map(Some)
                .map_err(|e| RegistryError::Protocol {
                    url: url.to_owned(),
                    detail: format!("Docker-Content-Digest: {e}"),
                })
        }
    }
}

/// The next-page URL of a `Link` header, resolved against the request URL. Only links to the
/// same scheme and host are followed: a registry may not steer the client elsewhere.
fn next_link(
    headers: &HeaderMap,
    url: &str,
    ep: &Endpoint,
) -> Result<Option<String>, RegistryError> {
    for value in headers
        .get_all("Link")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for link in value.split(',') {
            let mut parts = link.split(';');
            let Some(target) = parts.next().map(str::trim) else {
                continue;
            };
            let is_next = parts.any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            if !is_next {
                continue;
            }
            let base = reqwest::Url::parse(url).map_err(|e| RegistryError::Protocol {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
            let next = base.join(target).map_err(|e| RegistryError::Protocol {
                url: url.to_owned(),
                detail: format!("bad Link header {target:?}: {e}"),
            })?;
            // Scheme, host and port (the scheme's default when absent) must all be the
            // endpoint's.
            let same_origin = reqwest::Url::parse(&format!("{}://{}", ep.scheme, ep.host))
                .is_ok_and(|own| own.origin() == next.origin());
            if !same_origin {
                return Err(RegistryError::Protocol {
                    url: url.to_owned(),
                    detail: format!("Link header points to another origin: {next}"),
                });
            }
            return Ok(Some(next.to_string()));
        }
    }
    Ok(None)
}

/// Reads a body of at most `max` bytes; a longer one (by Content-Length or by what arrives) is
/// refused, never truncated. A failure while reading (a reset, the request deadline) is
/// reported through `read_error`, as the same failure before the answer would be. With a
/// `budget`, the body takes its bytes from it before they are read ([`super::budget`]): the
/// returned [`BodyHold`] holds what the bytes occupy until it is dropped.
async fn read_limited(
    response: reqwest::Response,
    max: u64,
    url: &str,
    read_error: impl Fn(&reqwest::Error) -> RegistryError,
    budget: Option<&BodyBudget>,
) -> Result<(Vec<u8>, BodyHold), RegistryError> {
    read_hashed(response, max, url, read_error, None, budget).await
}

/// [`read_limited`], feeding every chunk to `hasher` as it arrives.
async fn read_hashed(
    mut response: reqwest::Response,
    max: u64,
    url: &str,
    read_error: impl Fn(&reqwest::Error) -> RegistryError,
    mut hasher: Option<&mut DigestHasher>,
    budget: Option<&BodyBudget>,
) -> Result<(Vec<u8>, BodyHold), RegistryError> {
    let announced = response.content_length();
    if announced.is_some_and(|l| l > max) {
        return Err(RegistryError::TooLarge {
            url: url.to_owned(),
            limit: max,
        });
    }
    // Its announced length (hyper ends the body there), or a first share when it is unknown;
    // the buffer never grows past what is taken.
    let first = announced.unwrap_or(FIRST_SHARE).min(max);
    let most = announced.map_or(max, |l| l.min(max));
    let mut share = Share::take(budget, first, most, url).await?;
    let mut out: Vec<u8> = Vec::with_capacity(if announced.is_some() {
        first as usize
    } else {
        (first as usize).min(INITIAL_BUFFER)
    });
    loop {
        let chunk = response.chunk().await.map_err(|e| match read_error(&e) {
            RegistryError::Network { host, detail } => RegistryError::Network {
                host,
                detail: format!("reading {url}: {detail}"),
            },
            other => other,
        })?;
        let Some(chunk) = chunk else { break };
        let need = out.len() as u64 + chunk.len() as u64;
        if need > max {
            return Err(RegistryError::TooLarge {
                url: url.to_owned(),
                limit: max,
            });
        }
        if need > share.held() {
            // Outgrew its first share: the rest of its cap, in one step.
            share.grow_to(max, out.capacity() as u64, url).await?;
        }
        if need > out.capacity() as u64 {
            // Doubling while it is small; past the first share, at once to what the share
            // holds, so that growing never holds two large buffers (pages not yet written
            // cost nothing).
            let doubled = (out.capacity() as u64 * 2).max(need);
            let want = if doubled <= FIRST_SHARE {
                doubled
            } else {
                share.held()
            };
            out.reserve_exact(want as usize - out.len());
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&chunk);
        }
        out.extend_from_slice(&chunk);
    }
    if out.capacity() - out.len() > SHRINK_SLACK {
        out.shrink_to_fit();
    }
    let hold = share.keep(out.capacity() as u64);
    Ok((out, hold))
}

/// The first buffer of a body of unknown length.
const INITIAL_BUFFER: usize = 8 * 1024;

/// Spare capacity a body's buffer may keep once it is read; above it, the buffer is shrunk to
/// its length before its share is settled.
const SHRINK_SLACK: usize = 4 * 1024;

async fn error_body(response: reqwest::Response) -> Option<Vec<u8>> {
    let url = response.url().to_string();
    // Outside the body budget: at most 16 KiB per failed request, dropped at once.
    read_limited(
        response,
        MAX_ERROR_BODY_BYTES,
        &url,
        |e| RegistryError::Network {
            host: String::new(),
            detail: e.to_string(),
        },
        None,
    )
    .await
    .ok()
    .map(|(bytes, _)| bytes)
}

/// The `errors[].code` values of a distribution error document.
async fn error_codes(response: reqwest::Response) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
    }
    error_body(response)
        .await
        .and_then(|b| serde_json::from_slice::<Doc>(&b).ok())
        .map(|d| d.errors.into_iter().map(|e| e.code).collect())
        .unwrap_or_default()
}

/// A short message from an error response: the first distribution error, or the text.
async fn error_message(response: reqwest::Response) -> Option<String> {
    let body = error_body(response).await?;
    let text = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => v["errors"][0]["message"]
            .as_str()
            .map(|m| format!("{} ({})", m, v["errors"][0]["code"].as_str().unwrap_or("")))
            .or_else(|| v["details"].as_str().map(str::to_owned))?,
        Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
    };
    (!text.is_empty()).then(|| text.chars().take(300).collect())
}

async fn status_error(
    method: &'static str,
    url: &str,
    response: reqwest::Response,
) -> RegistryError {
    let status = response.status().as_u16();
    RegistryError::Status {
        method,
        url: answered_by(url, response.url()),
        status,
        message: error_message(response).await,
    }
}

/// `host[:port]` of a URL.
fn host_of(u: &reqwest::Url) -> String {
    let host = u.host_str().unwrap_or_default();
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// A URL as errors show it: without its query and fragment (a presigned storage URL carries
/// its credentials there).
fn shown_url(u: &reqwest::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Whether two URLs are on one host and port (an explicit default port is the default).
fn same_authority(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether `u` is on the endpoint's own host (not where a redirect led).
fn on_endpoint(u: &reqwest::Url, ep: &Endpoint) -> bool {
    reqwest::Url::parse(&format!("{}://{}/", ep.scheme, ep.host))
        .is_ok_and(|e| same_authority(&e, u))
}

/// The URL that answered: `asked`, or the place a redirect led to when that is another host
/// (blob storage), so that an error names who failed.
fn answered_by(asked: &str, answered: &reqwest::Url) -> String {
    let same_host = reqwest::Url::parse(asked).is_ok_and(|a| same_authority(&a, answered));
    if same_host {
        asked.to_owned()
    } else {
        format!("{asked} (redirected to {})", shown_url(answered))
    }
}

fn transport_error(
    ep: &Endpoint,
    url: &str,
    e: &reqwest::Error,
    options: &ClientOptions,
) -> RegistryError {
    // After a redirect to another host (blob storage), that host is the one that failed.
    let redirected = e.url().filter(|u| !on_endpoint(u, ep));
    let host = redirected.map_or_else(|| ep.host.clone(), host_of);
    let url = redirected.map_or_else(|| url.to_owned(), |u| answered_by(url, u));
    if e.is_timeout() && e.is_connect() {
        return RegistryError::Timeout {
            what: format!("connecting to {host} for {url}"),
            after: ep.dial_timeout.unwrap_or(options.connect_timeout),
        };
    }
    if e.is_timeout() {
        return RegistryError::Timeout {
            what: format!("request to {url}"),
            after: options.request_timeout,
        };
    }
    // reqwest's Display hides the cause chain; the innermost cause names what actually failed
    // (connection refused, certificate unknown, the redirect policy's reason …).
    let mut detail = e.to_string();
    let mut malformed = false;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        // An answer that is not HTTP (a head over hyper's limit, a bad status line) came from
        // a registry that is reachable: a protocol fault, not "unreachable".
        malformed |= s
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse);
        source = s.source();
    }
    // reqwest's text names the URL whole; a presigned storage URL's query is a credential.
    if let Some(u) = e.url() {
        detail = detail.replace(u.as_str(), &shown_url(u));
    }
    if e.is_redirect() || malformed {
        return RegistryError::Protocol { url, detail };
    }
    RegistryError::Network { host, detail }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by registries in practice and is
/// treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("Retry-After")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Encodes a query or `application/x-www-form-urlencoded` value (`form_urlencoded`: a space
/// becomes `+`, which the token endpoint's form reader and distribution's `url.ParseQuery`
/// both decode as a space).
pub(crate) fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn link_headers_follow_only_the_same_origin() {
        let ep = Endpoint::upstream("reg.example:5000", false);
        let url = "https://reg.example:5000/v2/a/referrers/sha256:x";
        let h = headers(&[(
            "Link",
            "</v2/a/referrers/sha256:x?n=2&last=b>; rel=\"next\"",
        )]);
        assert_eq!(
            next_link(&h, url, &ep).unwrap().as_deref(),
            Some("https://reg.example:5000/v2/a/referrers/sha256:x?n=2&last=b")
        );
        let evil = headers(&[("Link", "<https://elsewhere.example/x>; rel=\"next\"")]);
        assert!(next_link(&evil, url, &ep).is_err());
        let prev = headers(&[("Link", "</v2/a?last=a>; rel=\"prev\"")]);
        assert_eq!(next_link(&prev, url, &ep).unwrap(), None);

        // Another port on the same host is another origin, also when the endpoint names none.
        let no_port = Endpoint::upstream("reg.example", false);
        let url = "https://reg.example/v2/a/referrers/sha256:x";
        let other_port = headers(&[("Link", "<https://reg.example:8443/x>; rel=\"next\"")]);
        assert!(next_link(&other_port, url, &no_port).is_err());
        let plain = headers(&[("Link", "<http://reg.example/x>; rel=\"next\"")]);
        assert!(next_link(&plain, url, &no_port).is_err());
        // The default port, spelled out or not, is the same origin.
        let default_port = headers(&[("Link", "<https://reg.example:443/x>; rel=\"next\"")]);
        assert!(next_link(&default_port, url, &no_port).unwrap().is_some());
        let explicit = Endpoint::upstream("reg.example:443", false);
        let bare = headers(&[("Link", "<https://REG.example/x>; rel=\"next\"")]);
        assert!(next_link(&bare, url, &explicit).unwrap().is_some());
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(
            retry_after(&headers(&[("Retry-After", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "Retry-After",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            None
        );
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            url_encode("application/vnd.cncf.notary.signature"),
            "application%2Fvnd.cncf.notary.signature"
        );
    }
}
