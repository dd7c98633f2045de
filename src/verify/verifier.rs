//! The verification workflow (NOTARY-VERIFY §0 and §8): select the trust policy, run the
//! per-signature checks in notation's order with the level's enforce/log table, and decide
//! across signatures. It is a state machine that the caller feeds one signature at a time, so
//! the same core serves synchronous and asynchronous adapters and nothing is fetched that the
//! decision does not need (`skip` fetches nothing; the first accepted signature ends the loop).

// A verdict (`Result<Verified, Rejected>`) is produced once per verification and handed to the
// caller, never propagated through `?` chains; moving ~200 bytes is nothing next to a
// signature check, and boxing would only add an allocation on the rejection path.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::crypto::SignatureAlgorithm;
use super::descriptor::{Descriptor, Digest};
use super::dn::render_go_style;
use super::envelope::{EnvelopeType, SignerInfo, SigningScheme, VerifiedEnvelope, verify_envelope};
use super::limits::Limits;
use super::payload::TargetArtifact;
use super::policy::{
    PolicyError, TrustPolicy, TrustPolicyDocument, ValidationAction, ValidationType,
    VerificationLevel, VerifyTimestamp,
};
use super::revocation::{ChainRevocation, RevocationSource, check_chain};
use super::time::Timestamp;
use super::timestamp::verify_timestamp;
use super::trust_store::{TrustStore, TrustStoreType};
use super::x509::Certificate;

/// A check in the per-signature pipeline, named as in the Notary spec (plus the two checks
/// that are always enforced).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Check {
    /// Envelope, signature, headers and chain structure.
    Integrity,
    /// A chain certificate is in a trust store of the scheme's type.
    Authenticity,
    /// The leaf subject matches a trusted identity (part of authenticity).
    TrustedIdentity,
    /// `io.cncf.notary.expiry` has not passed.
    Expiry,
    /// Timestamp / authentic signing time / certificate validity.
    AuthenticTimestamp,
    /// Revocation status of the signing chain.
    Revocation,
    /// The payload names the artifact being verified.
    TargetArtifact,
    /// The payload carries the required user metadata.
    UserMetadata,
}

impl Check {
    /// The validation type whose action governs this check; `None` for the checks that are
    /// always enforced.
    fn validation_type(self) -> Option<ValidationType> {
        match self {
            Self::Integrity => Some(ValidationType::Integrity),
            Self::Authenticity | Self::TrustedIdentity => Some(ValidationType::Authenticity),
            Self::Expiry => Some(ValidationType::Expiry),
            Self::AuthenticTimestamp => Some(ValidationType::AuthenticTimestamp),
            Self::Revocation => Some(ValidationType::Revocation),
            Self::TargetArtifact | Self::UserMetadata => None,
        }
    }

    /// The camelCase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integrity => "integrity",
            Self::Authenticity => "authenticity",
            Self::TrustedIdentity => "trustedIdentity",
            Self::Expiry => "expiry",
            Self::AuthenticTimestamp => "authenticTimestamp",
            Self::Revocation => "revocation",
            Self::TargetArtifact => "targetArtifact",
            Self::UserMetadata => "userMetadata",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckStatus {
    /// The check passed.
    Passed,
    /// The check failed and the failure was enforced: this signature is rejected.
    Failed,
    /// The check failed and the level only logs it.
    Logged,
    /// The check was not performed (level or override `skip`, or an earlier enforced failure).
    Skipped,
}

/// One line of a signature report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// What happened.
    pub status: CheckStatus,
    /// Why it failed or was skipped, or what passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Everything known about one signature after it was tried.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureReport {
    /// Digest of the signature manifest, when the caller knows it.
    pub signature_digest: Option<Digest>,
    /// Envelope media type as found in the signature manifest (absent when the signature
    /// manifest itself could not be read).
    pub envelope_media_type: Option<String>,
    /// Envelope format, once recognised.
    pub envelope_type: Option<EnvelopeType>,
    /// Signing scheme, once integrity passed.
    pub signing_scheme: Option<SigningScheme>,
    /// Signature algorithm, once integrity passed.
    pub signature_algorithm: Option<SignatureAlgorithm>,
    /// Leaf certificate subject (Go's rendering, as notation shows it).
    pub signer: Option<String>,
    /// `signingTime` (never trusted) or `authenticSigningTime`.
    pub signing_time: Option<Timestamp>,
    /// Expiry, if the signature has one.
    pub expiry: Option<Timestamp>,
    /// genTime of a verified RFC 3161 timestamp.
    pub timestamp: Option<Timestamp>,
    /// The earliest notAfter of the signing chain: after it, the same signature may get
    /// another verdict (a cached verdict must not outlive it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates_valid_until: Option<Timestamp>,
    /// Every check in order.
    pub checks: Vec<CheckResult>,
    /// Whether this signature satisfied the policy.
    pub accepted: bool,
}

impl SignatureReport {
    fn new(digest: Option<Digest>, media_type: Option<&str>) -> Self {
        Self {
            signature_digest: digest,
            envelope_media_type: media_type.map(|m| m.chars().take(200).collect()),
            envelope_type: None,
            signing_scheme: None,
            signature_algorithm: None,
            signer: None,
            signing_time: None,
            expiry: None,
            timestamp: None,
            certificates_valid_until: None,
            checks: Vec::new(),
            accepted: false,
        }
    }

    /// The enforced failure that rejected this signature, if any.
    pub fn failure(&self) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.status == CheckStatus::Failed)
    }

    /// Failures that the level only logged.
    pub fn logged(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Logged)
    }
}

/// What the caller asks to verify.
#[derive(Clone, Debug)]
pub struct VerificationRequest {
    /// `registry/repository`, normalised as containerd does, matched against registry scopes.
    pub scope: String,
    /// The descriptor the reference resolved to; the signatures must name exactly this.
    pub target: Descriptor,
    /// Key/value pairs that the signed payload's annotations must carry.
    pub user_metadata: BTreeMap<String, String>,
    /// The verification time ("now").
    pub time: Timestamp,
}

/// One signature offered to a session.
#[derive(Clone, Copy, Debug)]
pub struct SignatureInput<'a> {
    /// Digest of the signature manifest, for the report.
    pub signature_digest: Option<&'a Digest>,
    /// Media type of the envelope layer; selects the parser.
    pub media_type: &'a str,
    /// The envelope bytes.
    pub envelope: &'a [u8],
}

/// Proof that an artifact satisfied the trust policy. Only this module constructs one, and an
/// adapter may allow a pull only while it holds one.
#[derive(Debug)]
pub struct Verified {
    scope: String,
    target: Descriptor,
    policy_name: String,
    level: VerificationLevel,
    accepted: Option<usize>,
    reports: Vec<SignatureReport>,
    time: Timestamp,
}

impl Verified {
    /// The descriptor that was verified; pull exactly this digest.
    pub fn target(&self) -> &Descriptor {
        &self.target
    }

    /// The scope the policy was selected for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Name of the trust policy statement that applied.
    pub fn policy_name(&self) -> &str {
        &self.policy_name
    }

    /// The level of that statement.
    pub fn level(&self) -> VerificationLevel {
        self.level
    }

    /// True when the level was `skip` and nothing was verified.
    pub fn is_skipped(&self) -> bool {
        self.level == VerificationLevel::Skip
    }

    /// The accepted signature's report (`None` when skipped).
    pub fn accepted_signature(&self) -> Option<&SignatureReport> {
        self.accepted.map(|i| &self.reports[i])
    }

    /// Every signature tried, in order.
    pub fn reports(&self) -> &[SignatureReport] {
        &self.reports
    }

    /// Whether the accepted signature passed every check, with nothing only logged. `audit`
    /// accepts untrusted signatures; a caller must not present those as trusted.
    pub fn is_fully_trusted(&self) -> bool {
        !self.is_skipped()
            && self
                .accepted_signature()
                .is_some_and(|r| r.logged().next().is_none())
    }

    /// The verification time used.
    pub fn time(&self) -> Timestamp {
        self.time
    }
}

/// Why an artifact was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RejectReason {
    /// No statement's registry scopes cover the artifact.
    NoApplicableTrustPolicy,
    /// The artifact's name is not `registry/repository`, so no statement can be chosen.
    InvalidScope {
        /// What is wrong with it.
        problem: String,
    },
    /// The artifact has no signature at all.
    NoSignature,
    /// Every signature was tried and each failed an enforced check.
    AllSignaturesFailed,
    /// The configured number of signatures was tried without success.
    SignatureLimitExceeded {
        /// The limit.
        limit: usize,
    },
}

/// A rejection with every per-signature report kept.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    /// Why.
    pub reason: RejectReason,
    /// The scope.
    pub scope: String,
    /// The artifact.
    pub target: Descriptor,
    /// The trust policy statement that applied, if one did.
    pub policy_name: Option<String>,
    /// Every signature tried, in order.
    pub reports: Vec<SignatureReport>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let artifact = format!("{}@{}", self.scope, self.target.digest);
        match &self.reason {
            RejectReason::NoApplicableTrustPolicy => {
                return write!(
                    f,
                    "{artifact}: no applicable trust policy for scope {:?}",
                    self.scope
                );
            }
            RejectReason::InvalidScope { problem } => {
                return write!(
                    f,
                    "{artifact}: {:?} is not registry/repository: {problem}",
                    self.scope
                );
            }
            RejectReason::NoSignature => {
                return write!(
                    f,
                    "{artifact}: no signature is associated with the artifact"
                );
            }
            RejectReason::SignatureLimitExceeded { limit } => write!(
                f,
                "{artifact}: the limit of {limit} signatures per artifact was reached without success"
            )?,
            RejectReason::AllSignaturesFailed => {
                write!(f, "{artifact}: signature verification failed")?
            }
        }
        for (i, r) in self.reports.iter().enumerate() {
            let which = r
                .signature_digest
                .as_ref()
                .map_or_else(|| format!("#{}", i + 1), |d| d.to_string());
            if let Some(c) = r.failure() {
                write!(
                    f,
                    "; signature {which}: {} failed: {}",
                    c.check,
                    c.detail.as_deref().unwrap_or("")
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// A configuration that cannot verify anything: a policy names a store that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "trust policy statement {statement:?} refers to trust store {store:?}, which is not in the trust store directory"
)]
pub struct MissingTrustStore {
    /// The statement.
    pub statement: String,
    /// `type:name`.
    pub store: String,
}

/// The verifier: a trust policy document, the trust stores it refers to, a revocation source
/// and limits. Cheap to construct; holds references only.
pub struct Verifier<'a> {
    policy: &'a TrustPolicyDocument,
    trust_store: &'a TrustStore,
    revocation: &'a dyn RevocationSource,
    limits: Limits,
}

/// How a verification starts.
pub enum Start<'v> {
    /// The level is `skip`: accepted without any signature.
    Skipped(Verified),
    /// Signatures are needed: feed them to the session.
    Verify(Session<'v>),
}

impl<'a> Verifier<'a> {
    /// Builds a verifier, checking that every store a statement names exists, so that a
    /// misconfiguration is reported at load time rather than as failed verifications.
    pub fn new(
        policy: &'a TrustPolicyDocument,
        trust_store: &'a TrustStore,
        revocation: &'a dyn RevocationSource,
        limits: Limits,
    ) -> Result<Self, MissingTrustStore> {
        for statement in policy.trust_policies() {
            for store in statement.trust_stores() {
                if trust_store.get(store.store_type(), store.name()).is_none() {
                    return Err(MissingTrustStore {
                        statement: statement.name().to_owned(),
                        store: format!("{}:{}", store.store_type(), store.name()),
                    });
                }
            }
        }
        Ok(Self {
            policy,
            trust_store,
            revocation,
            limits,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Selects the trust policy for the request. `skip` is accepted at once; otherwise a
    /// session waits for signatures.
    pub fn begin(&self, request: VerificationRequest) -> Result<Start<'_>, Rejected> {
        let policy = match self.policy.policy_for(&request.scope) {
            Ok(p) => p,
            Err(e) => {
                return Err(Rejected {
                    reason: match e {
                        PolicyError::InvalidArtifactScope { problem, .. } => {
                            RejectReason::InvalidScope {
                                problem: problem.to_string(),
                            }
                        }
                        _ => RejectReason::NoApplicableTrustPolicy,
                    },
                    scope: request.scope,
                    target: request.target,
                    policy_name: None,
                    reports: Vec::new(),
                });
            }
        };
        let level = policy.signature_verification().level();
        if level == VerificationLevel::Skip {
            return Ok(Start::Skipped(Verified {
                scope: request.scope,
                target: request.target,
                policy_name: policy.name().to_owned(),
                level,
                accepted: None,
                reports: Vec::new(),
                time: request.time,
            }));
        }
        Ok(Start::Verify(Session {
            verifier: self,
            policy,
            request,
            reports: Vec::new(),
            accepted: None,
        }))
    }

    /// Convenience for callers that hold every signature up front: runs a whole session.
    pub fn verify_all<'s>(
        &self,
        request: VerificationRequest,
        signatures: impl IntoIterator<Item = SignatureInput<'s>>,
    ) -> Result<Verified, Rejected> {
        match self.begin(request)? {
            Start::Skipped(v) => Ok(v),
            Start::Verify(mut session) => {
                for sig in signatures {
                    if session.offer(sig) != Progress::Continue {
                        break;
                    }
                }
                session.finish()
            }
        }
    }

    fn certificates_of(
        &self,
        policy: &TrustPolicy,
        wanted: TrustStoreType,
    ) -> Vec<&'a Certificate> {
        policy
            .trust_stores()
            .iter()
            .filter(|s| s.store_type() == wanted)
            .filter_map(|s| self.trust_store.get(wanted, s.name()))
            .flat_map(|s| s.certificates())
            .collect()
    }
}

/// Whether the session wants more signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A signature was accepted: call `finish`.
    Accepted,
    /// Offer the next signature, if any.
    Continue,
    /// The signature limit was reached without success: call `finish`.
    LimitReached,
}

/// A verification in progress for one artifact.
pub struct Session<'v> {
    verifier: &'v Verifier<'v>,
    policy: &'v TrustPolicy,
    request: VerificationRequest,
    reports: Vec<SignatureReport>,
    accepted: Option<usize>,
}

impl Session<'_> {
    /// The trust policy statement that applies.
    pub fn policy(&self) -> &TrustPolicy {
        self.policy
    }

    /// The request.
    pub fn request(&self) -> &VerificationRequest {
        &self.request
    }

    /// Whether the session still wants signatures, and if not, why.
    pub fn progress(&self) -> Progress {
        if self.accepted.is_some() {
            Progress::Accepted
        } else if self.reports.len() >= self.verifier.limits.max_signature_attempts {
            Progress::LimitReached
        } else {
            Progress::Continue
        }
    }

    /// Verifies one signature and says whether more are wanted. Offers after the decision are
    /// ignored.
    pub fn offer(&mut self, input: SignatureInput<'_>) -> Progress {
        if self.progress() != Progress::Continue {
            return self.progress();
        }
        let report = self.verify_one(input);
        if report.accepted {
            self.accepted = Some(self.reports.len());
        }
        self.reports.push(report);
        self.progress()
    }

    /// Records a signature that could not be retrieved (its manifest or blob failed to fetch
    /// or exceeded a limit). It counts as a failed attempt; the loop goes on, where notation
    /// would abort the whole verification.
    pub fn offer_unavailable(
        &mut self,
        signature_digest: Option<Digest>,
        media_type: Option<&str>,
        reason: String,
    ) -> Progress {
        if self.progress() != Progress::Continue {
            return self.progress();
        }
        let mut report = SignatureReport::new(signature_digest, media_type);
        report.checks.push(CheckResult {
            check: Check::Integrity,
            status: CheckStatus::Failed,
            detail: Some(format!("signature could not be retrieved: {reason}")),
        });
        self.reports.push(report);
        self.progress()
    }

    /// Ends the session with the decision.
    pub fn finish(self) -> Result<Verified, Rejected> {
        let limit = self.verifier.limits.max_signature_attempts;
        match self.accepted {
            Some(i) => Ok(Verified {
                scope: self.request.scope,
                target: self.request.target,
                policy_name: self.policy.name().to_owned(),
                level: self.policy.signature_verification().level(),
                accepted: Some(i),
                reports: self.reports,
                time: self.request.time,
            }),
            None => Err(Rejected {
                reason: if self.reports.is_empty() {
                    RejectReason::NoSignature
                } else if self.reports.len() >= limit {
                    RejectReason::SignatureLimitExceeded { limit }
                } else {
                    RejectReason::AllSignaturesFailed
                },
                scope: self.request.scope,
                target: self.request.target,
                policy_name: Some(self.policy.name().to_owned()),
                reports: self.reports,
            }),
        }
    }

    /// The per-signature pipeline, in notation-go's order (§8).
    fn verify_one(&self, input: SignatureInput<'_>) -> SignatureReport {
        let mut run = Run {
            policy: self.policy,
            report: SignatureReport::new(input.signature_digest.cloned(), Some(input.media_type)),
            stopped: false,
        };
        let now = self.request.time;

        // 1. Integrity (always enforced).
        let envelope =
            match verify_envelope(input.media_type, input.envelope, &self.verifier.limits) {
                Ok(e) => e,
                Err(e) => {
                    run.fail(Check::Integrity, e.to_string());
                    return run.finish();
                }
            };
        run.describe(&envelope);
        let notes: Vec<String> = envelope.notes.iter().map(|n| n.0.clone()).collect();
        run.pass(
            Check::Integrity,
            (!notes.is_empty()).then(|| notes.join("; ")),
        );
        let signer = &envelope.signer_info;

        // 2. Authenticity: the chain against the trust stores of the scheme's type.
        let wanted = match signer.signing_scheme {
            SigningScheme::X509 => TrustStoreType::Ca,
            SigningScheme::X509SigningAuthority => TrustStoreType::SigningAuthority,
        };
        let anchors = self.verifier.certificates_of(self.policy, wanted);
        if anchors.is_empty() {
            run.outcome(
                Check::Authenticity,
                Err(format!(
                    "no trusted certificates are found: the policy names no {wanted} trust store"
                )),
            );
        } else {
            let matched = signer
                .certificate_chain
                .iter()
                .find(|c| anchors.iter().any(|a| a.der() == c.der()));
            run.outcome(
                Check::Authenticity,
                match matched {
                    Some(c) => Ok(Some(format!("trusted via {:?} in a {wanted} store", c.subject()))),
                    None => Err(format!(
                        "the signature's certificate chain does not contain any trusted certificate from the policy's {wanted} stores"
                    )),
                },
            );
        }
        if run.stopped {
            return run.finish();
        }
        // Trusted identity, part of authenticity.
        let identity = self
            .policy
            .trusted_identities()
            .check(signer.leaf().subject_name())
            .map(|()| None)
            .map_err(|e| e.to_string());
        run.outcome(Check::TrustedIdentity, identity);
        if run.stopped {
            return run.finish();
        }

        // 3. Expiry. (Only revocation can be overridden to `skip`; a `skip` level never gets
        // here.)
        let result = match signer.expiry {
            Some(expiry) if now >= expiry => {
                Err(format!("digital signature has expired on {expiry}"))
            }
            Some(expiry) => Ok(Some(format!("expires {expiry}"))),
            None => Ok(Some("no expiry".to_owned())),
        };
        run.outcome(Check::Expiry, result);
        if run.stopped {
            return run.finish();
        }

        // 4. Authentic timestamp (including the TSA chain's revocation, §5.4 step 9).
        let (result, timestamp) = self.authentic_timestamp(signer, now);
        run.report.timestamp = timestamp;
        run.outcome(Check::AuthenticTimestamp, result);
        if run.stopped {
            return run.finish();
        }

        // 5. Revocation of the signing chain.
        if run.action(Check::Revocation) != ValidationAction::Skip {
            let ast = match signer.signing_scheme {
                SigningScheme::X509SigningAuthority => signer.authentic_signing_time,
                SigningScheme::X509 => None,
            };
            let (status, _) = check_chain(
                &signer.certificate_chain,
                self.verifier.revocation,
                ast,
                now,
            );
            let result = match status {
                ChainRevocation::Ok => Ok(None),
                other => Err(other.to_string()),
            };
            run.outcome(Check::Revocation, result);
            if run.stopped {
                return run.finish();
            }
        } else {
            run.skip(Check::Revocation, "skipped by the trust policy");
        }

        // 6. The payload must name the resolved artifact (always enforced).
        let target = match TargetArtifact::from_payload(&envelope.payload) {
            Ok(t) => t,
            Err(e) => {
                run.fail(Check::TargetArtifact, e.to_string());
                return run.finish();
            }
        };
        if !target.matches(&self.request.target) {
            run.fail(
                Check::TargetArtifact,
                format!(
                    "content descriptor mismatch: the signature is for {} {} ({} bytes), the artifact is {} {} ({} bytes)",
                    target.media_type,
                    target.digest,
                    target.size,
                    self.request.target.media_type,
                    self.request.target.digest,
                    self.request.target.size
                ),
            );
            return run.finish();
        }
        run.pass(Check::TargetArtifact, None);

        // 7. User metadata (always enforced).
        if !self.request.user_metadata.is_empty() {
            let missing: Vec<String> = self
                .request
                .user_metadata
                .iter()
                .filter(|(k, v)| target.annotations.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !missing.is_empty() {
                run.fail(
                    Check::UserMetadata,
                    format!(
                        "user metadata verification failed: the signed payload lacks {}",
                        missing.join(", ")
                    ),
                );
                return run.finish();
            }
            run.pass(Check::UserMetadata, None);
        }
        run.report.accepted = true;
        run.finish()
    }

    /// §5.4 (`notary.x509`) and §5.5 (signingAuthority).
    fn authentic_timestamp(
        &self,
        signer: &SignerInfo,
        now: Timestamp,
    ) -> (Result<Option<String>, String>, Option<Timestamp>) {
        let chain = &signer.certificate_chain;
        match signer.signing_scheme {
            SigningScheme::X509SigningAuthority => {
                let Some(ast) = signer.authentic_signing_time else {
                    // Integrity already requires it; keep the check total anyway.
                    return (Err("authentic signing time is missing".to_owned()), None);
                };
                for c in chain {
                    if !c.is_valid_at(ast) {
                        return (
                            Err(format!(
                                "authentic signing time {ast} is outside the validity of certificate {:?} ({} to {})",
                                c.subject(),
                                c.not_before(),
                                c.not_after()
                            )),
                            None,
                        );
                    }
                }
                (Ok(Some(format!("authentic signing time {ast}"))), None)
            }
            SigningScheme::X509 => {
                // Verifier::new checked that every named store exists, and stores are never
                // empty, so "the policy names a tsa store" is "there are tsa roots".
                let tsa_roots = self
                    .verifier
                    .certificates_of(self.policy, TrustStoreType::Tsa);
                let has_tsa = !tsa_roots.is_empty();
                let any_expired = chain.iter().any(|c| c.not_after() < now);
                let triggered = has_tsa
                    && match self.policy.signature_verification().verify_timestamp() {
                        VerifyTimestamp::Always => true,
                        VerifyTimestamp::AfterCertExpiry => any_expired,
                    };
                if !triggered {
                    for c in chain {
                        if now < c.not_before() {
                            return (
                                Err(format!(
                                    "certificate {:?} is not valid until {}",
                                    c.subject(),
                                    c.not_before()
                                )),
                                None,
                            );
                        }
                        if now > c.not_after() {
                            return (
                                Err(format!(
                                    "verification time is after certificate {:?} validity period, it expired at {}",
                                    c.subject(),
                                    c.not_after()
                                )),
                                None,
                            );
                        }
                    }
                    return (
                        Ok(Some(
                            "certificates are valid at verification time".to_owned(),
                        )),
                        None,
                    );
                }
                let Some(token) = signer.timestamp_token.as_deref().filter(|t| !t.is_empty())
                else {
                    return (
                        Err("no timestamp countersignature was found".to_owned()),
                        None,
                    );
                };
                let ts = match verify_timestamp(
                    token,
                    &signer.signature,
                    &tsa_roots,
                    self.verifier.limits.max_chain_len,
                ) {
                    Ok(ts) => ts,
                    Err(e) => return (Err(format!("timestamp countersignature: {e}")), None),
                };
                for c in chain {
                    if ts.earliest() < c.not_before() {
                        return (
                            Err(format!(
                                "timestamp {} can be before certificate {:?} validity period, it will be valid from {}",
                                ts.gen_time(),
                                c.subject(),
                                c.not_before()
                            )),
                            None,
                        );
                    }
                    if ts.latest() > c.not_after() {
                        return (
                            Err(format!(
                                "timestamp {} can be after certificate {:?} validity period, it expired at {}",
                                ts.gen_time(),
                                c.subject(),
                                c.not_after()
                            )),
                            None,
                        );
                    }
                }
                // The TSA chain's revocation belongs to this check, with its action, even when
                // the policy skips revocation of the signing chain.
                let (status, _) = check_chain(ts.tsa_chain(), self.verifier.revocation, None, now);
                if status != ChainRevocation::Ok {
                    return (Err(format!("timestamp authority chain: {status}")), None);
                }
                let detail = format!("timestamped at {}", ts.gen_time());
                (Ok(Some(detail)), Some(ts.gen_time()))
            }
        }
    }
}

/// Accumulates the checks of one signature and applies the level's actions.
struct Run<'p> {
    policy: &'p TrustPolicy,
    report: SignatureReport,
    stopped: bool,
}

impl Run<'_> {
    fn action(&self, check: Check) -> ValidationAction {
        match check.validation_type() {
            Some(v) => self.policy.action(v),
            None => ValidationAction::Enforce,
        }
    }

    fn describe(&mut self, e: &VerifiedEnvelope) {
        let s = &e.signer_info;
        self.report.envelope_type = Some(e.envelope_type);
        self.report.signing_scheme = Some(s.signing_scheme);
        self.report.signature_algorithm = Some(s.signature_algorithm);
        self.report.signer = Some(render_go_style(s.leaf().subject_name()));
        self.report.signing_time = s.scheme_time();
        self.report.expiry = s.expiry;
        self.report.certificates_valid_until =
            s.certificate_chain.iter().map(Certificate::not_after).min();
    }

    fn pass(&mut self, check: Check, detail: Option<String>) {
        self.report.checks.push(CheckResult {
            check,
            status: CheckStatus::Passed,
            detail,
        });
    }

    fn fail(&mut self, check: Check, detail: String) {
        self.report.checks.push(CheckResult {
            check,
            status: CheckStatus::Failed,
            detail: Some(detail),
        });
        self.stopped = true;
    }

    fn skip(&mut self, check: Check, why: &str) {
        self.report.checks.push(CheckResult {
            check,
            status: CheckStatus::Skipped,
            detail: Some(why.to_owned()),
        });
    }

    /// Records a result under the level's action for `check`.
    fn outcome(&mut self, check: Check, result: Result<Option<String>, String>) {
        match result {
            Ok(detail) => self.pass(check, detail),
            Err(reason) => match self.action(check) {
                ValidationAction::Enforce => self.fail(check, reason),
                ValidationAction::Log => self.report.checks.push(CheckResult {
                    check,
                    status: CheckStatus::Logged,
                    detail: Some(reason),
                }),
                ValidationAction::Skip => self.skip(check, "skipped by the trust policy"),
            },
        }
    }

    fn finish(self) -> SignatureReport {
        self.report
    }
}
