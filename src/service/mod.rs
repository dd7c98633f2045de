//! The verification use case, below the routes: what a decision is, when a pull may go
//! ahead, how a reference becomes the registry request, which credentials are offered to
//! which host, and ([`decider`]) the decision for one request with its verdict cache, single
//! flight, slots and audit record. The daemon's gRPC service, the CRI proxy and the one-shot
//! CLI all call it directly.
//!
//! Nothing here speaks a wire format: each adapter converts its own requests and answers
//! (`daemon::service` to and from `notaryd.v1`, `cri` from CRI's PullImage).

pub mod audit;
pub mod cache;
pub mod decider;
pub mod metrics;
pub mod snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::reference::Reference;
use crate::registry::credentials::{
    Credential, CredentialChain, CredentialSource, StaticCredentials,
};
use crate::registry::discovery::{
    Platform, PlatformSignatures, RegistryRequest, RegistryVerification, Target,
};
use crate::report::{OutputFormat, ReportView};
use crate::verify::descriptor::{Descriptor, Digest};
use crate::verify::time::Timestamp;

/// What was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A signature satisfied the policy.
    Accepted,
    /// The policy skips verification for this image.
    Skipped,
    /// The policy rejects it.
    Rejected,
    /// Exempt by configuration.
    Exempt,
    /// No verdict.
    Error,
    /// Asked from the cache only, and nothing cached.
    NotCached,
}

impl Outcome {
    /// The name used in metrics, audit lines and `Status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Skipped => "skipped",
            Self::Rejected => "rejected",
            Self::Exempt => "exempt",
            Self::Error => "error",
            Self::NotCached => "not_cached",
        }
    }

    /// Every outcome, in the order of `Status` counters.
    pub(crate) const ALL: [Outcome; 6] = [
        Self::Accepted,
        Self::Skipped,
        Self::Rejected,
        Self::Exempt,
        Self::Error,
        Self::NotCached,
    ];
}

/// What kind of fault left a request without a verdict, for adapters that answer with a
/// status code (the CRI proxy answers as containerd would for the same condition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The image, tag or repository does not exist at the registry.
    NotFound,
    /// The registry refused the credentials, or wanted some and was given none.
    Unauthorized,
    /// The registry could not be reached or did not answer in time (or answered 429/5xx).
    Unavailable,
    /// Anything else: an answer that breaks the protocol, content that does not match its
    /// digest, a cap exceeded, the configuration.
    Other,
}

impl Fault {
    /// The kind of `e`.
    pub fn of(e: &crate::registry::error::RegistryError) -> Self {
        use crate::registry::error::RegistryError as E;
        match e {
            E::ManifestNotFound { .. } | E::RepositoryNotFound { .. } => Self::NotFound,
            E::Unauthorized { .. } | E::Token { .. } => Self::Unauthorized,
            e if e.is_unavailable() => Self::Unavailable,
            _ => Self::Other,
        }
    }
}

/// Why a decision holds no verdict, for a caller that owns it.
#[derive(Debug)]
pub(crate) enum NoVerdict {
    /// The registry work failed.
    Registry(crate::registry::error::RegistryError),
    /// Anything else (overload, an internal error), with the decision's reason.
    Other(String),
}

/// A decision, as cached and shared between concurrent callers. Its fields are private: an
/// allowing decision is made only here, from the core's verdicts or an exemption.
#[derive(Debug)]
pub struct Decision {
    outcome: Outcome,
    reason: String,
    /// Why there is no verdict, when a registry fault is the reason.
    fault: Option<Fault>,
    /// That fault itself, for the one-shot command's exit code and message.
    registry_error: Option<Box<crate::registry::error::RegistryError>>,
    /// No verdict because the daemon or this client is at its concurrency limit: answered
    /// with RESOURCE_EXHAUSTED.
    overload: bool,
    /// The core's verdicts, when a verification ran.
    verification: Option<RegistryVerification>,
    /// The descriptor decided about.
    target: Option<Descriptor>,
    /// Generation it was reached under.
    generation: u64,
}

impl Decision {
    /// No verdict, because the registry work failed with `e`.
    pub(crate) fn registry_error(
        e: crate::registry::error::RegistryError,
        generation: u64,
    ) -> Self {
        Self {
            fault: Some(Fault::of(&e)),
            ..Self::error(e.to_string(), None, generation).with_registry_error(e)
        }
    }

    fn with_registry_error(mut self, e: crate::registry::error::RegistryError) -> Self {
        self.registry_error = Some(Box::new(e));
        self
    }

    /// The core's verdicts for a one-shot caller, which holds the only reference to the
    /// decision; or why there are none.
    pub(crate) fn into_verification(self) -> Result<RegistryVerification, NoVerdict> {
        match (self.verification, self.registry_error) {
            (Some(v), _) => Ok(v),
            (None, Some(e)) => Err(NoVerdict::Registry(*e)),
            (None, None) => Err(NoVerdict::Other(self.reason)),
        }
    }

    /// The kind of registry fault behind an `Error` outcome, when one is.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// No verdict, for `reason`.
    pub(crate) fn error(reason: String, target: Option<Descriptor>, generation: u64) -> Self {
        Self {
            outcome: Outcome::Error,
            reason,
            fault: None,
            registry_error: None,
            overload: false,
            verification: None,
            target,
            generation,
        }
    }

    /// Asked from the cache only, and nothing cached.
    pub(crate) fn not_cached(generation: u64) -> Self {
        Self {
            outcome: Outcome::NotCached,
            ..Self::error(
                "no verdict is cached for it (cache_only)".into(),
                None,
                generation,
            )
        }
    }

    /// No verdict because the daemon or one client is at its concurrency limit.
    pub(crate) fn overloaded(reason: String, generation: u64) -> Self {
        Self {
            overload: true,
            ..Self::error(reason, None, generation)
        }
    }

    /// What was decided.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Why, for a person to read.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether it is a refusal for overload (answered with RESOURCE_EXHAUSTED), not a verdict.
    pub fn overload(&self) -> bool {
        self.overload
    }

    /// The descriptor decided about.
    pub fn target(&self) -> Option<&Descriptor> {
        self.target.as_ref()
    }

    /// The snapshot generation it was reached under.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the pull may go ahead: only with the core's accepted verdict, or an exemption.
    pub fn allowed(&self) -> bool {
        match self.outcome {
            Outcome::Accepted | Outcome::Skipped => self
                .verification
                .as_ref()
                .is_some_and(RegistryVerification::accepted),
            Outcome::Exempt => true,
            Outcome::Rejected | Outcome::Error | Outcome::NotCached => false,
        }
    }

    /// The decision the core's verdicts make.
    pub(crate) fn from_verification(v: RegistryVerification, generation: u64) -> Self {
        let accepted = v.accepted();
        let skipped = [&v.artifact, &v.platform]
            .into_iter()
            .flatten()
            .all(|r| r.as_ref().is_ok_and(|x| x.is_skipped()));
        let reason = match [&v.artifact, &v.platform]
            .into_iter()
            .flatten()
            .find_map(|r| r.as_ref().err())
        {
            Some(rejected) => rejected.to_string(),
            None if skipped => "the trust policy's level is skip".to_owned(),
            None => [&v.artifact, &v.platform]
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_ref().ok())
                .map(|x| {
                    format!(
                        "signed by {}",
                        x.accepted_signature()
                            .and_then(|s| s.signer.as_deref())
                            .unwrap_or("(unknown signer)")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        Self {
            fault: None,
            registry_error: None,
            outcome: if !accepted {
                Outcome::Rejected
            } else if skipped {
                Outcome::Skipped
            } else {
                Outcome::Accepted
            },
            reason,
            overload: false,
            target: Some(v.resolved.clone()),
            verification: Some(v),
            generation,
        }
    }

    /// How long this verdict may be cached: the configured TTL (a shorter one for
    /// rejections, so that a signature pushed after its image is seen soon), and never past
    /// the accepted signature's expiry or its chain's earliest notAfter.
    pub(crate) fn cache_ttl(&self, config: &crate::config::Config, now: Timestamp) -> Duration {
        let mut ttl = if self.outcome == Outcome::Rejected {
            config.cache_ttl.min(config.cache_rejection_ttl)
        } else {
            config.cache_ttl
        };
        if let Some(v) = &self.verification {
            for verdict in [&v.artifact, &v.platform].into_iter().flatten() {
                if let Ok(ok) = verdict
                    && let Some(sig) = ok.accepted_signature()
                {
                    for until in [sig.expiry, sig.certificates_valid_until]
                        .into_iter()
                        .flatten()
                    {
                        let left = (until.unix_nanos() - now.unix_nanos()).max(0);
                        ttl = ttl.min(Duration::from_nanos(
                            u64::try_from(left).unwrap_or(u64::MAX),
                        ));
                    }
                }
            }
        }
        ttl
    }

    /// The artifact's verdict, else the platform manifest's.
    pub(crate) fn first_verdict(
        &self,
    ) -> Option<&Result<crate::verify::verifier::Verified, crate::verify::verifier::Rejected>> {
        let v = self.verification.as_ref()?;
        v.artifact.as_ref().or(v.platform.as_ref())
    }

    /// The trust policy statement that decided.
    pub(crate) fn policy_name(&self) -> Option<&str> {
        match self.first_verdict()? {
            Ok(v) => Some(v.policy_name()),
            Err(r) => r.policy_name.as_deref(),
        }
    }

    /// Who signed the accepted signature.
    pub(crate) fn signer(&self) -> Option<&str> {
        match self.first_verdict()? {
            Ok(v) => v.accepted_signature()?.signer.as_deref(),
            Err(_) => None,
        }
    }

    /// Allowed, and every check of every verdict enforced and passed.
    pub(crate) fn fully_trusted(&self) -> bool {
        self.allowed()
            && self.outcome == Outcome::Accepted
            && self.verification.as_ref().is_some_and(|v| {
                [&v.artifact, &v.platform]
                    .into_iter()
                    .flatten()
                    .all(|r| r.as_ref().is_ok_and(|x| x.is_fully_trusted()))
            })
    }

    /// The report of this decision about `reference`, as `notaryd verify` prints it.
    pub(crate) fn report(&self, reference: &str, format: OutputFormat) -> String {
        match (&self.verification, self.outcome) {
            (Some(v), _) => {
                let (result, platform) = match (&v.artifact, &v.platform) {
                    (Some(a), p) => (a, p.as_ref()),
                    (None, Some(p)) => (p, None),
                    (None, None) => return String::new(),
                };
                crate::report::render_view(
                    &ReportView {
                        reference,
                        result,
                        platform,
                        resolved_by: Some(&v.resolved_by),
                        http_requests: None,
                    },
                    format,
                )
            }
            (None, outcome) => match format {
                OutputFormat::Text => format!(
                    "{} {reference}: {}\n",
                    match outcome {
                        Outcome::Exempt => "EXEMPT",
                        _ => "ERROR",
                    },
                    self.reason
                ),
                OutputFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&serde_json::json!({
                        "reference": reference,
                        "verdict": outcome.as_str(),
                        "message": self.reason,
                    }))
                    .unwrap_or_default();
                    s.push('\n');
                    s
                }
            },
        }
    }
}

/// The decision for a digest exempt by configuration.
pub(crate) fn exempt_decision(scope: &str, digest: &Digest, generation: u64) -> Decision {
    tracing::warn!(%scope, %digest, "exempt from verification by configuration");
    Decision {
        outcome: Outcome::Exempt,
        fault: None,
        registry_error: None,
        overload: false,
        reason: format!(
            "{digest} is exempt from verification by configuration (verification.exempt)"
        ),
        verification: None,
        target: Some(Descriptor {
            media_type: String::new(),
            digest: digest.clone(),
            size: 0,
            artifact_type: None,
            annotations: Default::default(),
            platform: None,
        }),
        generation,
    }
}

/// Whether `digest` of `reference` is on the exemption list.
pub(crate) fn is_exempt(
    exempt: &[crate::config::Exemption],
    reference: &Reference,
    digest: &Digest,
) -> bool {
    exempt.iter().any(|e| e.covers(reference, digest))
}

/// What to ask the registry for `reference`: its own digest, else `known` (the digest the
/// caller already resolved), else its tag, `latest` when it names none.
pub(crate) fn registry_target(reference: &Reference, known: Option<&Digest>) -> Target {
    match (reference.digest().or(known), reference.tag()) {
        (Some(d), _) => Target::Digest(d.clone()),
        (None, Some(t)) => Target::Tag(t.to_owned()),
        (None, None) => Target::Tag("latest".to_owned()),
    }
}

/// What every route varies in a registry verification; the rest follows from the reference.
pub(crate) struct RequestOptions {
    /// The digest the caller already resolved, if any.
    pub known_digest: Option<Digest>,
    /// `-m key=value` the signature must carry.
    pub user_metadata: BTreeMap<String, String>,
    /// The verification time.
    pub time: Timestamp,
    /// Whether the platform manifest's signatures are verified too.
    pub platform_signatures: PlatformSignatures,
    /// The platform an index resolves to.
    pub platform: Platform,
    /// The whole verification's deadline.
    pub total_timeout: Duration,
}

/// The registry request that verifies `reference`.
pub(crate) fn registry_request(reference: &Reference, options: RequestOptions) -> RegistryRequest {
    RegistryRequest {
        repository: reference.repository().to_owned(),
        target: registry_target(reference, options.known_digest.as_ref()),
        scope: reference.scope(),
        user_metadata: options.user_metadata,
        time: options.time,
        platform_signatures: options.platform_signatures,
        platform: options.platform,
        total_timeout: options.total_timeout,
    }
}

/// The credentials offered while verifying `reference`: the caller's own (`given`) to the
/// reference's registry only — never to a mirror, which is another party — then `fallback`
/// (docker's configuration) for every host.
pub(crate) fn credential_chain(
    given: Option<Credential>,
    reference: &Reference,
    fallback: Box<dyn CredentialSource>,
) -> CredentialChain {
    let mut sources: Vec<Box<dyn CredentialSource>> = Vec::new();
    if let Some(c) = given {
        sources.push(Box::new(StaticCredentials::for_registries(
            c,
            [
                reference.registry().to_owned(),
                reference.api_host().to_owned(),
            ],
        )));
    }
    sources.push(fallback);
    CredentialChain::new(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_faults_map_to_the_kinds_adapters_answer_with() {
        use crate::registry::error::RegistryError as E;
        let cases = [
            (
                E::ManifestNotFound {
                    reference: "r:t".into(),
                    host: "h".into(),
                },
                Fault::NotFound,
            ),
            (
                E::RepositoryNotFound {
                    repository: "r".into(),
                    host: "h".into(),
                },
                Fault::NotFound,
            ),
            (
                E::Unauthorized {
                    host: "h".into(),
                    repository: "r".into(),
                    detail: "d".into(),
                },
                Fault::Unauthorized,
            ),
            (
                E::Token {
                    realm: "t".into(),
                    detail: "d".into(),
                },
                Fault::Unauthorized,
            ),
            (
                E::Network {
                    host: "h".into(),
                    detail: "d".into(),
                },
                Fault::Unavailable,
            ),
            (
                E::Timeout {
                    what: "w".into(),
                    after: Duration::from_secs(1),
                },
                Fault::Unavailable,
            ),
            (
                E::Status {
                    method: "GET",
                    url: "u".into(),
                    status: 503,
                    message: None,
                },
                Fault::Unavailable,
            ),
            (
                E::Status {
                    method: "GET",
                    url: "u".into(),
                    status: 400,
                    message: None,
                },
                Fault::Other,
            ),
            (
                E::Protocol {
                    url: "u".into(),
                    detail: "d".into(),
                },
                Fault::Other,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(Fault::of(&e), kind, "{e}");
            let d = Decision::registry_error(e, 7);
            assert_eq!(d.fault(), Some(kind));
            assert!(!d.allowed());
            assert_eq!(d.outcome(), Outcome::Error);
        }
    }

    fn reference(text: &str) -> Reference {
        Reference::parse(text).expect("test reference")
    }

    fn digest(hex_char: char) -> Digest {
        Digest::parse(&format!("sha256:{}", hex_char.to_string().repeat(64))).expect("digest")
    }

    #[test]
    fn target_is_the_digest_then_the_tag_then_latest() {
        let d = digest('a');
        let by_digest = reference(&format!("r.example/app:v1@{d}"));
        assert!(matches!(registry_target(&by_digest, None), Target::Digest(x) if x == d));
        let tagged = reference("r.example/app:v1");
        assert!(matches!(registry_target(&tagged, None), Target::Tag(t) if t == "v1"));
        let bare = reference("r.example/app");
        assert!(matches!(registry_target(&bare, None), Target::Tag(t) if t == "latest"));
        // A digest the caller resolved wins over the tag, the reference's own over both.
        let known = digest('b');
        assert!(matches!(registry_target(&tagged, Some(&known)), Target::Digest(x) if x == known));
        assert!(matches!(registry_target(&by_digest, Some(&known)), Target::Digest(x) if x == d));
    }

    /// A fallback source that answers every host, to see who is asked first.
    struct Everyone;

    impl CredentialSource for Everyone {
        fn credential<'a>(
            &'a self,
            _host: &'a str,
        ) -> crate::registry::credentials::CredentialFuture<'a> {
            Box::pin(std::future::ready(Ok(Some(Credential::IdentityToken(
                "from-docker-config".into(),
            )))))
        }
    }

    #[tokio::test]
    async fn given_credentials_go_to_the_reference_registry_only() {
        let given = Credential::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        let chain = credential_chain(
            Some(given),
            &reference("docker.io/library/app:1"),
            Box::new(Everyone),
        );
        for host in ["docker.io", "registry-1.docker.io"] {
            assert!(
                matches!(
                    chain.credential(host).await,
                    Ok(Some(Credential::Basic { .. }))
                ),
                "{host} gets the caller's credential"
            );
        }
        assert!(
            matches!(chain.credential("mirror.example").await, Ok(Some(Credential::IdentityToken(t))) if t == "from-docker-config"),
            "a mirror never gets the caller's credential"
        );
        let none = credential_chain(
            None,
            &reference("docker.io/library/app:1"),
            Box::new(Everyone),
        );
        assert!(matches!(
            none.credential("docker.io").await,
            Ok(Some(Credential::IdentityToken(_)))
        ));
    }
}
