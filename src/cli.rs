//! Command-line definitions and the one-shot `verify` command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::layout::{LayoutError, LayoutReference, OciLayout};
use crate::notation_config::{self, ConfigError};
use crate::verify::descriptor::Descriptor;
use crate::verify::limits::Limits;
use crate::verify::policy::VerificationLevel;
use crate::verify::revocation::NoRevocationData;
use crate::verify::time::Timestamp;
use crate::verify::verifier::{
    CheckStatus, MissingTrustStore, Progress, Rejected, SignatureInput, SignatureReport, Start,
    VerificationRequest, Verified, Verifier,
};

/// Where notaryd's configuration lives unless told otherwise.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/notaryd";

/// Exit code: the policy accepted the artifact.
pub const EXIT_ACCEPTED: u8 = 0;
/// Exit code: the policy rejected the artifact.
pub const EXIT_REJECTED: u8 = 1;
/// Exit code: bad usage or configuration (nothing was verified).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the artifact or its signatures could not be read.
pub const EXIT_UNREADABLE: u8 = 3;

/// notaryd: enforce Notary Project signatures on container images.
#[derive(Debug, Parser)]
#[command(name = "notaryd", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify an artifact's signatures against a trust policy, once, and print a report.
    ///
    /// Exit status: 0 accepted, 1 rejected, 2 bad usage or configuration, 3 the artifact or
    /// its signatures could not be read.
    Verify(VerifyArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// One JSON document.
    Json,
}

/// Arguments of `notaryd verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An OCI image layout and the image in it: DIR:TAG or DIR@DIGEST.
    #[arg(long, value_name = "DIR:TAG|DIR@DIGEST")]
    pub oci_layout: String,

    /// The registry/repository the trust policy's registryScopes are matched against.
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub scope: String,

    /// A notation configuration directory holding trustpolicy(.oci).json and truststore/.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub notation_config: PathBuf,

    /// The trust policy file (default: the one in --notation-config).
    #[arg(long, value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,

    /// The trust store directory holding x509/ (default: --notation-config/truststore).
    #[arg(long, value_name = "DIR")]
    pub trust_store: Option<PathBuf>,

    /// A key=value the signed payload's annotations must carry (repeatable).
    #[arg(long = "user-metadata", short = 'm', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub user_metadata: Vec<(String, String)>,

    /// The most signatures to try for the artifact (notation's default).
    // The upper bound is the most manifests a layout walk reads (`layout::MAX_NODES_WALKED`):
    // no layout can offer more signatures than that, so a larger value could only mislead.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_signatures: u32,

    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// Why `verify` could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum VerifyCommandError {
    /// Configuration (policy, trust store) is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy names a store that is not loaded.
    #[error(transparent)]
    MissingStore(#[from] MissingTrustStore),
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// The artifact or its signatures could not be read.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

impl VerifyCommandError {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::MissingStore(_) | Self::Usage(_) => EXIT_USAGE,
            Self::Layout(LayoutError::BadReference(_)) => EXIT_USAGE,
            Self::Layout(_) => EXIT_UNREADABLE,
        }
    }
}

/// The verdict and everything needed to print it.
pub struct VerifyOutcome {
    /// The reference as given.
    pub reference: String,
    /// Accepted or rejected.
    pub result: Result<Verified, Rejected>,
    /// Configuration choices worth a warning (printed on stderr by the command).
    pub warnings: Vec<String>,
}

impl VerifyOutcome {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        if self.result.is_ok() {
            EXIT_ACCEPTED
        } else {
            EXIT_REJECTED
        }
    }
}

/// Runs `notaryd verify` against an OCI layout at verification time `now`.
pub fn verify(args: &VerifyArgs, now: Timestamp) -> Result<VerifyOutcome, VerifyCommandError> {
    let policy_path = match &args.trust_policy {
        Some(p) => p.clone(),
        None => notation_config::find_policy_file(&args.notation_config)?,
    };
    let policy = notation_config::load_policy(&policy_path)?;
    let warnings: Vec<String> = policy
        .trust_policies()
        .iter()
        .filter(|p| p.is_global() && p.signature_verification().level() == VerificationLevel::Skip)
        .map(|p| {
            format!(
                "trust policy statement {:?} skips verification for every registry scope (\"*\"); \
                 the Notary spec forbids skip on the global scope, notation accepts it",
                p.name()
            )
        })
        .collect();
    let store_dir = args
        .trust_store
        .clone()
        .unwrap_or_else(|| args.notation_config.join("truststore"));
    let trust_store = notation_config::load_trust_store(&store_dir, &policy)?;
    let limits = Limits {
        max_signature_attempts: args.max_signatures as usize,
        ..Limits::default()
    };
    let revocation = NoRevocationData;
    let verifier = Verifier::new(&policy, &trust_store, &revocation, limits.clone())?;

    let reference = LayoutReference::parse(&args.oci_layout)?;
    let layout = OciLayout::open(reference.dir(), &limits)?;
    let target = layout.resolve(&reference)?;
    let scope = args.scope.clone();
    if let Err(problem) = crate::verify::policy::check_scope(&scope) {
        return Err(VerifyCommandError::Usage(format!(
            "--scope {scope:?} is not REGISTRY/REPOSITORY (no tag or digest): {problem}"
        )));
    }
    let request = VerificationRequest {
        scope,
        target: target.clone(),
        user_metadata: args
            .user_metadata
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>(),
        time: now,
    };
    let result = match verifier.begin(request) {
        Err(rejected) => Err(rejected),
        Ok(Start::Skipped(v)) => Ok(v),
        Ok(Start::Verify(mut session)) => {
            for sig in layout.signatures(&target)? {
                let progress = match sig {
                    Ok(sig) => match layout.read_blob(&sig.envelope, limits.max_envelope_bytes) {
                        Ok(bytes) => session.offer(SignatureInput {
                            signature_digest: Some(&sig.digest),
                            media_type: &sig.envelope.media_type,
                            envelope: &bytes,
                        }),
                        Err(e) => session.offer_unavailable(
                            Some(sig.digest.clone()),
                            Some(&sig.envelope.media_type),
                            e.to_string(),
                        ),
                    },
                    Err((digest, reason)) => session.offer_unavailable(Some(digest), None, reason),
                };
                if progress != Progress::Continue {
                    break;
                }
            }
            session.finish()
        }
    };
    Ok(VerifyOutcome {
        reference: args.oci_layout.clone(),
        result,
        warnings,
    })
}

/// The JSON report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    reference: &'a str,
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

/// Renders the report in the requested format.
pub fn render(outcome: &VerifyOutcome, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let report = match &outcome.result {
                Ok(v) => JsonReport {
                    reference: &outcome.reference,
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
                Err(r) => JsonReport {
                    reference: &outcome.reference,
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
            };
            let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Text => render_text(outcome),
    }
}

fn render_text(outcome: &VerifyOutcome) -> String {
    let mut s = String::new();
    let (reports, accepted_index) = match &outcome.result {
        Ok(v) => {
            let t = v.target();
            if v.is_skipped() {
                let _ = writeln!(
                    s,
                    "SKIPPED {} ({} {}): trust policy {:?} has level skip, no signature was verified",
                    outcome.reference,
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
                outcome.reference, t.digest, t.media_type, t.size
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
            let _ = writeln!(s, "REJECTED {}: {r}", outcome.reference);
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
