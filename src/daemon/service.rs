//! The `notaryd.v1.Verifier` service: the gRPC adapter of the use case. It checks the proto
//! request and turns it into a [`DecisionRequest`], asks the [`Decider`], and turns the
//! [`Decision`] into `notaryd.v1`'s answer. What a decision is, the cache, single flight and
//! the registry work are the use case's ([`crate::service`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tonic::{Request, Response, Status};

use crate::api::v1;
use crate::report::OutputFormat;
use crate::service::decider::{
    Decider, DecisionRequest, Pending, check_namespace, check_reference, credential_from,
};
use crate::service::{Decision, Outcome};
use crate::verify::descriptor::Digest;
use crate::verify::time::Timestamp;
use crate::verify::verifier::CheckStatus;

/// Longest media type accepted in a descriptor.
pub const MAX_MEDIA_TYPE_LEN: usize = 255;

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

/// The gRPC service.
#[derive(Clone)]
pub(crate) struct VerifierService {
    decider: Arc<Decider>,
}

impl VerifierService {
    /// A service over the daemon's use case.
    pub fn new(decider: Arc<Decider>) -> Self {
        Self { decider }
    }
}

/// A checked request: what the use case decides on, and the report the caller wants.
struct Checked {
    request: DecisionRequest,
    report_format: v1::ReportFormat,
}

fn invalid(e: crate::service::decider::RequestError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn check_request(req: v1::VerifyRequest) -> Result<Checked, Status> {
    let reference = check_reference(&req.reference).map_err(invalid)?;
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
    let namespace = check_namespace(req.namespace).map_err(invalid)?;
    let credential = req
        .auth
        .and_then(|a| credential_from(a.username, a.password, a.identity_token));
    let report_format =
        v1::ReportFormat::try_from(req.report_format).unwrap_or(v1::ReportFormat::None);
    Ok(Checked {
        request: DecisionRequest {
            client: None,
            reference_text: reference.to_string(),
            reference,
            descriptor_digest,
            namespace,
            credential,
            cache_only: req.cache_only,
        },
        report_format,
    })
}

impl VerifierService {
    /// Records the answer with the use case and converts it to `notaryd.v1`.
    fn respond(
        &self,
        checked: &Checked,
        decision: &Decision,
        cached: bool,
        pending: Pending,
    ) -> v1::VerifyResponse {
        pending.answered(&checked.request, decision, cached);
        let allowed = decision.allowed();
        let outcome = decision.outcome();
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
            report: report(
                decision,
                &checked.request.reference_text,
                checked.report_format,
            ),
        }
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
        checked.request.client = client;
        let pending = self.decider.begin(&checked.request, started);
        let (decision, cached) = self.decider.decide(&checked.request).await;
        let response = self.respond(&checked, &decision, cached, pending);
        if decision.overload() {
            return Err(Status::resource_exhausted(decision.reason().to_owned()));
        }
        Ok(Response::new(response))
    }

    async fn health(
        &self,
        _request: Request<v1::HealthRequest>,
    ) -> Result<Response<v1::HealthResponse>, Status> {
        let status = if self.decider.is_serving() {
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
        let state = &self.decider;
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
            verifications: c
                .verifications()
                .into_iter()
                .map(|(o, n)| (o.to_owned(), n))
                .collect(),
            cache_hits: c.cache_hits(),
            cache_misses: c.cache_misses(),
            cache_entries: state.cache_len() as u64,
            revocation_set_created_at: snapshot
                .revocation_created_at
                .map(|t: Timestamp| t.to_string())
                .unwrap_or_default(),
            registry_requests: state.registry_requests(),
        }))
    }
}
