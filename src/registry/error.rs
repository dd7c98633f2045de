//! Errors of the registry client, grouped by who is at fault: the network, the registry (an
//! answer that breaks the protocol or lies about content), or our configuration.

use std::time::Duration;

use crate::verify::descriptor::Digest;

/// Why the registry client could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or the connection failed.
    #[error("registry {host} unreachable: {detail}")]
    Network {
        /// host:port.
        host: String,
        /// What failed (connect, TLS, reset …).
        detail: String,
    },
    /// A request or the whole verification ran past its deadline.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was being done.
        what: String,
        /// The deadline.
        after: Duration,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: HTTP {status}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// HTTP method.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The status.
        status: u16,
        /// The registry's error message, if it gave one (truncated).
        message: Option<String>,
    },
    /// Credentials are missing or refused.
    #[error("registry {host} refused access to {repository}: {detail}")]
    Unauthorized {
        /// host:port.
        host: String,
        /// Repository.
        repository: String,
        /// Why.
        detail: String,
    },
    /// The token service failed.
    #[error("token service {realm}: {detail}")]
    Token {
        /// Token endpoint.
        realm: String,
        /// What went wrong.
        detail: String,
    },
    /// The manifest (or tag) does not exist.
    #[error("{reference} not found in {host}")]
    ManifestNotFound {
        /// What was asked for.
        reference: String,
        /// Where.
        host: String,
    },
    /// The repository does not exist (`NAME_UNKNOWN`).
    #[error("repository {repository} not found in {host}")]
    RepositoryNotFound {
        /// Repository.
        repository: String,
        /// Where.
        host: String,
    },
    /// Content does not hash to the digest it was fetched by, or that the registry announced.
    #[error("{url}: content digest {computed} does not match {expected} ({source_of_expected})")]
    DigestMismatch {
        /// The URL.
        url: String,
        /// Expected digest.
        expected: Digest,
        /// What the bytes hash to.
        computed: Digest,
        /// Where the expectation came from.
        source_of_expected: &'static str,
    },
    /// A body is larger than its cap (or than its descriptor says).
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// The daemon's budget of registry bodies in memory (`registry.max_body_bytes_in_flight`)
    /// had no room for this body within the wait, or is smaller than the body.
    #[error(
        "{url}: no room for {wanted} more bytes in the budget for registry bodies in memory \
         ({key} = {budget} bytes) {}",
        budget_detail(.waited),
        key = super::budget::BUDGET_KEY
    )]
    BodyBudget {
        /// The URL whose body was to be read.
        url: String,
        /// Bytes it asked for.
        wanted: u64,
        /// The whole budget.
        budget: u64,
        /// How long it waited.
        waited: Duration,
    },
    /// A manifest, index or header does not make sense.
    #[error("{url}: {detail}")]
    Protocol {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// Local configuration (hosts directory, credentials, TLS files) is unusable.
    #[error("registry configuration: {0}")]
    Config(String),
}

/// How a [`RegistryError::BodyBudget`] refusal came about.
fn budget_detail(waited: &Duration) -> String {
    if waited.is_zero() {
        "(the body is larger than the whole budget)".to_owned()
    } else {
        format!("within {waited:?}")
    }
}

impl RegistryError {
    /// A short name of the kind of failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Network { .. } => "network",
            Self::Timeout { .. } => "timeout",
            Self::Status { .. } => "status",
            Self::Unauthorized { .. } | Self::Token { .. } => "unauthorized",
            Self::ManifestNotFound { .. } | Self::RepositoryNotFound { .. } => "not_found",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::TooLarge { .. } => "too_large",
            Self::BodyBudget { .. } => "body_budget",
            Self::Protocol { .. } => "protocol",
            Self::Config(_) => "config",
        }
    }

    /// True for failures of the network or of the registry's availability (as opposed to
    /// answers about content), and for a body the daemon had no room for: these are never
    /// reported as "no signature", and end the verification.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Network { .. } | Self::Timeout { .. } | Self::BodyBudget { .. }
        ) || matches!(self, Self::Status { status, .. } if *status == 429 || *status >= 500)
    }
}
