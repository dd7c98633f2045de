//! Registry authentication as distribution clients do it: anonymous first, then whatever the
//! registry's `WWW-Authenticate` challenge asks for — Basic with the configured credential, or
//! a Bearer token fetched from the token service for exactly the repository scope needed, kept
//! until it expires.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::credentials::Credential;

/// Most parameters read from one challenge header, and longest header read. Real challenges
/// have three parameters and stay under 300 bytes.
const MAX_CHALLENGE_PARAMS: usize = 16;
const MAX_CHALLENGE_BYTES: usize = 4096;

/// Lifetime assumed for a token that does not say (`expires_in` absent): the distribution
/// token spec's default of 60 seconds.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// Tokens are refreshed this long before they expire, so a request never carries a token
/// that expires in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// Bytes of tokens one cache keeps (one token per host, realm, service and scope, i.e. per
/// repository; a token is at most the token response cap): a long-lived cache drops the
/// stale ones when a new one would pass this, and starts over if that is not enough.
pub(crate) const MAX_CACHED_TOKEN_BYTES: usize = 1024 * 1024;
/// Hosts whose challenge one cache remembers; it starts over when full.
pub(crate) const MAX_CACHED_HOSTS: usize = 1024;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        /// Token endpoint URL.
        realm: String,
        /// `service` parameter, passed back to the token endpoint.
        service: Option<String>,
        /// `scope` the registry asked for, if it said.
        scope: Option<String>,
    },
}

/// Why a challenge cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// No scheme we support (Basic or Bearer).
    #[error("unsupported WWW-Authenticate challenge {0:?}")]
    Unsupported(String),
    /// A Bearer challenge without a realm.
    #[error("Bearer challenge without a realm")]
    NoRealm,
    /// Too long or too many parameters.
    #[error("WWW-Authenticate header is too large")]
    TooLarge,
}

impl Challenge {
    /// Parses one `WWW-Authenticate` header value (RFC 7235 auth-params, quoted or token).
    pub fn parse(header: &str) -> Result<Self, ChallengeError> {
        if header.len() > MAX_CHALLENGE_BYTES {
            return Err(ChallengeError::TooLarge);
        }
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let params = parse_params(rest)?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Ok(Self::Basic),
            "bearer" => {
                let get = |k: &str| {
                    params
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                Ok(Self::Bearer {
                    realm: get("realm")
                        .filter(|r| !r.is_empty())
                        .ok_or(ChallengeError::NoRealm)?,
                    service: get("service"),
                    scope: get("scope"),
                })
            }
            _ => Err(ChallengeError::Unsupported(
                scheme.chars().take(50).collect(),
            )),
        }
    }
}

fn parse_params(mut s: &str) -> Result<Vec<(String, String)>, ChallengeError> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if s.is_empty() {
            return Ok(out);
        }
        if out.len() == MAX_CHALLENGE_PARAMS {
            return Err(ChallengeError::TooLarge);
        }
        let Some((key, rest)) = s.split_once('=') else {
            return Ok(out);
        };
        let key = key.trim().to_owned();
        let rest = rest.trim_start();
        let (value, rest) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            (rest[..end].trim().to_owned(), &rest[end..])
        };
        out.push((key, value));
        s = rest;
    }
}

/// The repository scope a request needs: `repository:<name>:pull`.
pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// (realm, service, scope): what a token was issued for.
/// (registry host, realm, service, scope): a token is sent only to the host it was fetched
/// for, with that host's credentials, even when two hosts name the same token service.
type TokenKey = (String, String, Option<String>, String);

/// A bearer token and when to stop using it.
#[derive(Clone)]
struct CachedToken {
    token: String,
    refresh_at: Instant,
}

/// What a registry host wants, learned from its first challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostAuth {
    /// No challenge seen yet (or none needed).
    Unknown,
    /// Basic: send the credential on every request.
    Basic,
    /// Bearer: get a token per scope from this realm and service.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// Service name.
        service: Option<String>,
    },
}

/// Authentication state: challenges learned per host and tokens per (realm, service, scope).
/// Shared by every request of one client, and by the daemon's verifications made with the
/// same credentials under the same snapshot.
#[derive(Default)]
pub(crate) struct AuthCache {
    hosts: Mutex<HashMap<String, HostAuth>>,
    tokens: Mutex<HashMap<TokenKey, CachedToken>>,
}

impl fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthCache(..)")
    }
}

impl AuthCache {
    /// What `host` is known to want.
    pub fn host(&self, host: &str) -> HostAuth {
        self.hosts
            .lock()
            .map(|h| h.get(host).cloned().unwrap_or(HostAuth::Unknown))
            .unwrap_or(HostAuth::Unknown)
    }

    /// Records what `host` asked for.
    pub fn learn(&self, host: &str, auth: HostAuth) {
        if let Ok(mut h) = self.hosts.lock() {
            if h.len() >= MAX_CACHED_HOSTS && !h.contains_key(host) {
                h.clear();
            }
            h.insert(host.to_owned(), auth);
        }
    }

    /// A cached, still-fresh token for the scope.
    pub fn token(
        &self,
        host: &str,
        realm: &str,
        service: &Option<String>,
        scope: &str,
        now: Instant,
    ) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        let t = tokens.get(&(
            host.to_owned(),
            realm.to_owned(),
            service.clone(),
            scope.to_owned(),
        ))?;
        (now < t.refresh_at).then(|| t.token.clone())
    }

    /// Stores a token, `issued` as (token, lifetime from `now`).
    pub fn store_token(
        &self,
        host: &str,
        realm: &str,
        service: &Option<String>,
        scope: &str,
        issued: (String, Duration),
        now: Instant,
    ) {
        let (token, lifetime) = issued;
        let refresh_at = now + lifetime.saturating_sub(EXPIRY_MARGIN);
        if let Ok(mut tokens) = self.tokens.lock() {
            let held = |tokens: &HashMap<TokenKey, CachedToken>| -> usize {
                tokens.values().map(|t| t.token.len()).sum()
            };
            if held(&tokens) + token.len() > MAX_CACHED_TOKEN_BYTES {
                tokens.retain(|_, t| now < t.refresh_at);
                if held(&tokens) + token.len() > MAX_CACHED_TOKEN_BYTES {
                    tokens.clear();
                }
            }
            tokens.insert(
                (
                    host.to_owned(),
                    realm.to_owned(),
                    service.clone(),
                    scope.to_owned(),
                ),
                CachedToken { token, refresh_at },
            );
        }
    }

    /// Forgets a token the registry refused.
    pub fn forget_token(&self, host: &str, realm: &str, service: &Option<String>, scope: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&(
                host.to_owned(),
                realm.to_owned(),
                service.clone(),
                scope.to_owned(),
            ));
        }
    }
}

/// The token endpoint's answer (distribution token spec; `access_token` is the OAuth2 name).
#[derive(serde::Deserialize)]
pub struct TokenResponse {
    /// Bearer token.
    #[serde(default)]
    pub token: Option<String>,
    /// OAuth2 spelling.
    #[serde(default)]
    pub access_token: Option<String>,
    /// Seconds until expiry.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token, whichever field carries it.
    pub fn into_token(self) -> Option<(String, Duration)> {
        let lifetime = self
            .expires_in
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        self.token
            .or(self.access_token)
            .filter(|t| !t.is_empty())
            .map(|t| (t, lifetime))
    }
}

/// The `Authorization` value for a Basic credential.
pub(crate) fn basic_header(credential: &Credential) -> Option<String> {
    use base64::Engine;
    match credential {
        Credential::Basic { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        Credential::IdentityToken(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_distribution_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull".into()),
            }
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic
        );
        assert_eq!(
            Challenge::parse("bearer realm=https://x/token, service=x").unwrap(),
            Challenge::Bearer {
                realm: "https://x/token".into(),
                service: Some("x".into()),
                scope: None
            }
        );
        assert!(Challenge::parse("Bearer service=x").is_err());
        assert!(Challenge::parse("Negotiate abc").is_err());
        assert!(Challenge::parse(&"x".repeat(10_000)).is_err());
        let quoted = Challenge::parse(
            r#"Bearer realm="https://x/t?a=1,b=2",scope="repository:a:pull,push""#,
        )
        .unwrap();
        assert!(
            matches!(quoted, Challenge::Bearer { realm, scope: Some(s), .. } if realm == "https://x/t?a=1,b=2" && s == "repository:a:pull,push")
        );
    }

    #[test]
    fn tokens_expire_with_a_margin() {
        let cache = AuthCache::default();
        let now = Instant::now();
        cache.store_token(
            "h",
            "r",
            &None,
            "s",
            ("t".into(), Duration::from_secs(60)),
            now,
        );
        assert_eq!(cache.token("h", "r", &None, "s", now).as_deref(), Some("t"));
        assert_eq!(
            cache.token("h", "r", &None, "s", now + Duration::from_secs(56)),
            None
        );
        assert_eq!(cache.token("h", "r", &None, "other", now), None);
        // Another host naming the same token service does not get it.
        assert_eq!(cache.token("mirror", "r", &None, "s", now), None);
    }
}
