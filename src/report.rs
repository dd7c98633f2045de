//! Rendering of verdicts for people and programs (text and JSON): what `notaryd verify`
//! prints, and the report the daemon returns when a caller asks for one. It sits below every
//! caller (the CLI, the gRPC service) so that both print the same bytes for the same verdict.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::verify::descriptor::Descriptor;
use crate::verify::verifier::{CheckStatus, Rejected, SignatureReport, Verified};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// One JSON document.
    Json,
}

/// The JSON report of one verdict.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonVerdict<'a> {
    verdict: &'static str,
    scope: &'a str,
    artifact: &'a Descriptor,
    trust_policy: Option<&'a str>,
    level: Option<&'static str>,
    fully_trusted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a crate::verify::verifier::RejectReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    signatures: &'a [SignatureReport],
}

/// The JSON report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    reference: &'a str,
    #[serde(flatten)]
    verdict: JsonVerdict<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<JsonVerdict<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_requests: Option<usize>,
}

fn json_verdict(result: &Result<Verified, Rejected>) -> JsonVerdict<'_> {
    match result {
        Ok(v) => JsonVerdict {
            verdict: if v.is_skipped() {
                "skipped"
            } else {
                "accepted"
            },
            scope: v.scope(),
            artifact: v.target(),
            trust_policy: Some(v.policy_name()),
            level: Some(v.level().as_str()),
            fully_trusted: v.is_fully_trusted(),
            reason: None,
            message: None,
            signatures: v.reports(),
        },
        Err(r) => JsonVerdict {
            verdict: "rejected",
            scope: &r.scope,
            artifact: &r.target,
            trust_policy: r.policy_name.as_deref(),
            level: None,
            fully_trusted: false,
            reason: Some(&r.reason),
            message: Some(r.to_string()),
            signatures: &r.reports,
        },
    }
}

/// A verdict to print, borrowed from wherever it is kept (the one-shot command's outcome,
/// or the daemon's verdict cache).
pub(crate) struct ReportView<'a> {
    /// The reference as given.
    pub reference: &'a str,
    /// The verdict for the resolved artifact.
    pub result: &'a Result<Verified, Rejected>,
    /// The platform manifest's verdict, when asked for.
    pub platform: Option<&'a Result<Verified, Rejected>>,
    /// The host that served the artifact.
    pub resolved_by: Option<&'a str>,
    /// HTTP requests made.
    pub http_requests: Option<usize>,
}

/// Renders a borrowed verdict in the requested format: exactly what `notaryd verify` prints.
pub(crate) fn render_view(view: &ReportView<'_>, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let report = JsonReport {
                reference: view.reference,
                verdict: json_verdict(view.result),
                platform: view.platform.map(json_verdict),
                resolved_by: view.resolved_by,
                http_requests: view.http_requests,
            };
            let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Text => {
            let mut s = render_text(view.reference, view.result);
            if let Some(p) = view.platform {
                s.push_str(&render_text(
                    &format!("{} (this node's platform manifest)", view.reference),
                    p,
                ));
            }
            match (view.resolved_by, view.http_requests) {
                (Some(host), Some(n)) => {
                    let _ = writeln!(s, "  served by {host}; {n} HTTP requests");
                }
                (Some(host), None) => {
                    let _ = writeln!(s, "  served by {host}");
                }
                _ => {}
            }
            s
        }
    }
}

fn render_text(reference: &str, result: &Result<Verified, Rejected>) -> String {
    let mut s = String::new();
    let (reports, accepted_index) = match result {
        Ok(v) => {
            let t = v.target();
            if v.is_skipped() {
                let _ = writeln!(
                    s,
                    "SKIPPED {} ({} {}): trust policy {:?} has level skip, no signature was verified",
                    reference,
                    t.digest,
                    t.media_type,
                    v.policy_name()
                );
                return s;
            }
            let trust = if v.is_fully_trusted() {
                ""
            } else {
                " (with logged failures: not fully trusted)"
            };
            let _ = writeln!(
                s,
                "ACCEPTED {} {} ({}, {} bytes){trust}",
                reference, t.digest, t.media_type, t.size
            );
            let _ = writeln!(
                s,
                "  trust policy {:?} (level {}) for scope {}",
                v.policy_name(),
                v.level().as_str(),
                v.scope()
            );
            let idx = v.reports().iter().position(|r| r.accepted);
            (v.reports(), idx)
        }
        Err(r) => {
            let _ = writeln!(s, "REJECTED {}: {r}", reference);
            if let Some(p) = &r.policy_name {
                let _ = writeln!(s, "  trust policy {p:?} for scope {}", r.scope);
            }
            (r.reports.as_slice(), None)
        }
    };
    let n = reports.len();
    for (i, r) in reports.iter().enumerate() {
        let digest = r
            .signature_digest
            .as_ref()
            .map_or_else(|| "(unknown digest)".to_owned(), |d| d.to_string());
        let verdict = if Some(i) == accepted_index {
            "accepted"
        } else {
            "rejected"
        };
        let _ = writeln!(s, "  signature {}/{n} {digest}: {verdict}", i + 1);
        let _ = writeln!(
            s,
            "    envelope {}{}{}",
            r.envelope_type.map_or(
                r.envelope_media_type.as_deref().unwrap_or("(unknown)"),
                |t| t.media_type()
            ),
            r.signing_scheme
                .map(|x| format!(", scheme {x}"))
                .unwrap_or_default(),
            r.signature_algorithm
                .map(|x| format!(", {x}"))
                .unwrap_or_default(),
        );
        if let Some(signer) = &r.signer {
            let _ = writeln!(s, "    signer {signer}");
        }
        if let Some(t) = r.signing_time {
            let _ = writeln!(s, "    signing time {t}");
        }
        if let Some(t) = r.timestamp {
            let _ = writeln!(s, "    timestamp {t}");
        }
        if let Some(t) = r.expiry {
            let _ = writeln!(s, "    expiry {t}");
        }
        for c in &r.checks {
            let status = match c.status {
                CheckStatus::Passed => "passed",
                CheckStatus::Failed => "FAILED",
                CheckStatus::Logged => "failed (logged)",
                CheckStatus::Skipped => "skipped",
            };
            let _ = writeln!(
                s,
                "    {:<20} {status}{}",
                c.check.as_str(),
                c.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            );
        }
    }
    s
}
