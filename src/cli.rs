//! Command-line definitions and the one-shot `verify` command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use std::sync::Arc;
use std::time::Duration;

use crate::bundle::format::{BundleKey, ItemKind};
use crate::layout::{LayoutError, LayoutReference, OciLayout};
use crate::notation_config::{self, ConfigError};
use crate::reference::Reference;
use crate::registry::client::{ClientOptions, RegistryClient};
use crate::registry::credentials::{Credential, DockerConfig};
use crate::registry::discovery::{Platform, PlatformSignatures};
use crate::registry::endpoints::endpoints_for;
use crate::registry::error::RegistryError;
use crate::service::NoVerdict;
use crate::service::audit::AuditLog;
use crate::service::decider::{Decider, DecisionRequest};
use crate::service::snapshot::{PolicySet, Snapshot};
use crate::verify::limits::Limits;
use crate::verify::policy::VerificationLevel;
use crate::verify::revocation::set::RevocationOptions;
use crate::verify::revocation::{NoRevocationData, RevocationSource};
use crate::verify::time::Timestamp;
use crate::verify::verifier::{
    MissingTrustStore, Progress, Rejected, SignatureInput, Start, VerificationRequest, Verified,
    Verifier,
};
use crate::verify::x509::Certificate;

pub use crate::report::OutputFormat;
pub(crate) use crate::report::{ReportView, render_view};

pub(crate) use crate::config::{DEFAULT_CONFIG_DIR, DEFAULT_HOSTS_DIR};

/// Exit code: the policy accepted the artifact.
pub(crate) const EXIT_ACCEPTED: u8 = 0;
/// Exit code: the policy rejected the artifact.
pub(crate) const EXIT_REJECTED: u8 = 1;
/// Exit code: bad usage or configuration (nothing was verified).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the artifact or its signatures could not be read.
pub(crate) const EXIT_UNREADABLE: u8 = 3;

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
    /// Build, inspect and install offline revocation bundles (CRLs and OCSP responses).
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Run the resident verifier: a gRPC service on a unix socket that every pull-path
    /// adapter asks, with a verdict cache, hot reload, metrics and an audit log.
    Serve(ServeArgs),
    /// Work with the daemon's configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Report every way signature enforcement is silently off on this node, and the images
    /// in containerd's store without a verdict. Exit status: 0 enforcement is live, 1 it is
    /// not, 2 bad usage.
    Doctor(DoctorArgs),
}

/// Arguments of `notaryd doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// notaryd's configuration file, for its sockets (default: /etc/notaryd/config.toml when
    /// it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// containerd's configuration file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/containerd/config.toml"
    )]
    pub containerd_config: PathBuf,
    /// containerd's socket (its version and image store).
    #[arg(long, value_name = "PATH", default_value = crate::config::DEFAULT_CONTAINERD_SOCKET)]
    pub containerd_socket: PathBuf,
    /// containerd namespace of CRI's images.
    #[arg(long, value_name = "NS", default_value = "k8s.io")]
    pub namespace: String,
    /// kubelet's configuration file (KubeletConfiguration).
    #[arg(long, value_name = "FILE")]
    pub kubelet_config: Option<PathBuf>,
    /// kubelet's --image-service-endpoint, when it is set by flag.
    #[arg(long, value_name = "ENDPOINT", conflicts_with = "kubelet_config")]
    pub image_service_endpoint: Option<String>,
    /// Verify the images that have no verdict now (otherwise only the cache is asked).
    #[arg(long)]
    pub verify: bool,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `notaryd doctor`: the report and whether enforcement is live.
pub async fn doctor(args: &DoctorArgs) -> Result<crate::doctor::DoctorReport, VerifyCommandError> {
    let config =
        crate::config::Config::load(args.config.as_deref(), &crate::config::Overrides::default())
            .map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
    let input = crate::doctor::DoctorInput {
        containerd_config: args.containerd_config.clone(),
        kubelet_config: args.kubelet_config.clone(),
        image_service_endpoint: args.image_service_endpoint.clone(),
        socket: config.socket.clone(),
        cri_socket: config.cri.as_ref().map(|c| c.socket.clone()),
        cri_audit: config.cri.as_ref().is_some_and(|c| c.audit),
        containerd_socket: Some(args.containerd_socket.clone()),
        namespace: args.namespace.clone(),
        verify: args.verify,
    };
    Ok(crate::doctor::run(&input).await)
}

/// Command-line values that override the configuration file.
#[derive(Debug, Clone, Args)]
pub struct ServeOverrides {
    /// The configuration file (default: /etc/notaryd/config.toml when it exists, else the
    /// built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The verifier socket (server.socket).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The notation configuration directory: trust policy and trust store
    /// (policy.notation_config).
    #[arg(long, value_name = "DIR")]
    pub notation_config: Option<PathBuf>,
    /// A revocation bundle to use instead of the installed one (revocation.bundle).
    #[arg(long, value_name = "FILE")]
    pub revocation_bundle: Option<PathBuf>,
    /// containerd's hosts directory, which also marks plain-HTTP registries
    /// (registry.hosts_dir).
    #[arg(long, value_name = "DIR")]
    pub hosts_dir: Option<PathBuf>,
    /// Serve the CRI ImageService proxy on this socket (cri.socket): point kubelet's
    /// imageServiceEndpoint here.
    #[arg(long, value_name = "PATH")]
    pub cri_socket: Option<PathBuf>,
    /// containerd's socket, where the CRI proxy forwards (cri.containerd_socket).
    #[arg(long, value_name = "PATH")]
    pub containerd_socket: Option<PathBuf>,
}

impl ServeOverrides {
    /// As the configuration module takes them.
    pub fn overrides(&self) -> crate::config::Overrides {
        crate::config::Overrides {
            socket: self.socket.clone(),
            notation_config: self.notation_config.clone(),
            revocation_bundle: self.revocation_bundle.clone(),
            hosts_dir: self.hosts_dir.clone(),
            cri_socket: self.cri_socket.clone(),
            containerd_socket: self.containerd_socket.clone(),
        }
    }
}

/// Arguments of `notaryd serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration and overrides.
    #[command(flatten)]
    pub overrides: ServeOverrides,
}

/// `notaryd config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration file and everything it names (trust policies, trust
    /// stores, revocation bundle); exit 0 when `serve` would start with it, 2 otherwise.
    Check(ServeOverrides),
}

/// `notaryd bundle …`.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// On a connected machine: collect CRLs and OCSP responses into a bundle.
    Create(BundleCreateArgs),
    /// Describe a bundle (its items, without judging trust).
    Inspect(BundleInspectArgs),
    /// Check a bundle and install it as the node's revocation set, atomically.
    Import(BundleImportArgs),
}

/// Arguments of `notaryd bundle create`.
#[derive(Debug, Args)]
pub struct BundleCreateArgs {
    /// A notation configuration directory; every certificate of its trust stores is covered.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub notation_config: PathBuf,

    /// The trust store directory holding x509/ (default: --notation-config/truststore).
    #[arg(long, value_name = "DIR")]
    pub trust_store: Option<PathBuf>,

    /// Cover the signing and TSA chains of this image's signatures (repeatable).
    #[arg(long, value_name = "REF")]
    pub image: Vec<String>,

    /// A CRL to include: an http:// URL to fetch, or a DER file (repeatable).
    #[arg(long, value_name = "URL|FILE")]
    pub crl: Vec<String>,

    /// Fetch an OCSP response for this certificate (PEM or DER file; repeatable).
    #[arg(long, value_name = "CERT")]
    pub ocsp_for: Vec<PathBuf>,

    /// An OCSP response (DER file) to include (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ocsp: Vec<PathBuf>,

    /// A CA certificate (PEM or DER) to include: the issuer of a --crl or --ocsp file that is
    /// not in the trust stores, such as an intermediate (repeatable).
    #[arg(long, value_name = "CERT")]
    pub certificate: Vec<PathBuf>,

    /// Sign the bundle with this PKCS#8 PEM private key (EC P-256/384/521 or RSA).
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,

    /// Where to write the bundle.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// How registries are reached (for --image).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `notaryd bundle inspect`.
#[derive(Debug, Args)]
pub struct BundleInspectArgs {
    /// The bundle.
    pub file: PathBuf,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Arguments of `notaryd bundle import`.
#[derive(Debug, Args)]
pub struct BundleImportArgs {
    /// The bundle.
    pub file: PathBuf,
    /// A notation configuration directory; its trust stores vouch for the bundle's issuers.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub notation_config: PathBuf,
    /// The trust store directory holding x509/ (default: --notation-config/truststore).
    #[arg(long, value_name = "DIR")]
    pub trust_store: Option<PathBuf>,
    /// The state directory to install into.
    #[arg(long, value_name = "DIR", default_value = crate::bundle::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// A public key allowed to sign bundles (repeatable); with any, the bundle must be signed.
    #[arg(long, value_name = "PEM")]
    pub bundle_key: Vec<PathBuf>,
    /// Install even when a CRL or OCSP response is older than the installed one.
    #[arg(long)]
    pub allow_rollback: bool,
    /// How long past its nextUpdate an item may still be imported, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub revocation_grace: u32,
}

fn truststore_dir(config: &Path, explicit: &Option<PathBuf>) -> PathBuf {
    explicit
        .clone()
        .unwrap_or_else(|| config.join("truststore"))
}

/// `notaryd bundle inspect`.
pub fn bundle_inspect(args: &BundleInspectArgs) -> Result<String, VerifyCommandError> {
    let inspection =
        crate::bundle::inspect(&args.file).map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
    Ok(match args.output {
        OutputFormat::Json => serde_json::to_string_pretty(&inspection).unwrap_or_default() + "\n",
        OutputFormat::Text => {
            use crate::bundle::ItemDescription as D;
            let mut s = format!(
                "bundle {} made {} by {}{}\n",
                args.file.display(),
                inspection.created_at,
                inspection.producer,
                inspection
                    .signed_by
                    .as_deref()
                    .map(|k| format!(", signed by key {k}"))
                    .unwrap_or_else(|| ", unsigned".into())
            );
            for item in &inspection.items {
                let _ = match item {
                    D::Crl {
                        issuer,
                        number,
                        delta_base,
                        this_update,
                        next_update,
                        entries,
                        source,
                    } => writeln!(
                        s,
                        "  {} CRL {issuer} number {} thisUpdate {this_update} nextUpdate {} {entries} entries{}",
                        if delta_base.is_some() {
                            "delta"
                        } else {
                            "full"
                        },
                        number.as_deref().unwrap_or("-"),
                        next_update.map_or_else(|| "-".into(), |t| t.to_string()),
                        source
                            .as_deref()
                            .map(|x| format!(" from {x}"))
                            .unwrap_or_default()
                    ),
                    D::Ocsp {
                        produced_at,
                        responses,
                        source,
                    } => {
                        let _ = writeln!(
                            s,
                            "  OCSP response produced {produced_at}{}",
                            source
                                .as_deref()
                                .map(|x| format!(" from {x}"))
                                .unwrap_or_default()
                        );
                        for r in responses {
                            let _ = writeln!(
                                s,
                                "    serial {}: {} (thisUpdate {}, nextUpdate {})",
                                r.serial,
                                r.status,
                                r.this_update,
                                r.next_update.map_or_else(|| "-".into(), |t| t.to_string())
                            );
                        }
                        Ok(())
                    }
                    D::Certificate { subject, issuer } => {
                        writeln!(s, "  certificate {subject} issued by {issuer}")
                    }
                    D::Unreadable { declared, error } => {
                        writeln!(s, "  {declared}: UNREADABLE: {error}")
                    }
                };
            }
            s
        }
    })
}

/// `notaryd bundle import` at time `now`.
pub fn bundle_import(
    args: &BundleImportArgs,
    now: Timestamp,
) -> Result<crate::bundle::ImportReport, VerifyCommandError> {
    let all = notation_config::load_all_trust_stores(&truststore_dir(
        &args.notation_config,
        &args.trust_store,
    ))?;
    let anchors: Vec<&Certificate> = all.iter().flat_map(|(_, _, s)| s.certificates()).collect();
    let keys = load_bundle_keys(&args.bundle_key)?;
    crate::bundle::import(
        &args.file,
        &args.state_dir,
        &anchors,
        &keys,
        now,
        RevocationOptions {
            grace_seconds: args.revocation_grace,
        },
        args.allow_rollback,
    )
    .map_err(|e| VerifyCommandError::Usage(e.to_string()))
}

/// `notaryd bundle create` at time `now`; `password` is what --password-stdin read.
pub async fn bundle_create(
    args: &BundleCreateArgs,
    password: Option<String>,
    now: Timestamp,
) -> Result<crate::bundle::create::CreateReport, VerifyCommandError> {
    use crate::bundle::create::{CreateRequest, collect, signature_chains};
    let all = notation_config::load_all_trust_stores(&truststore_dir(
        &args.notation_config,
        &args.trust_store,
    ))?;
    let anchors: Vec<Certificate> = all
        .iter()
        .flat_map(|(_, _, s)| s.certificates())
        .filter_map(|c| Certificate::from_der(c.der()).ok())
        .collect();
    let mut chains = Vec::new();
    let mut unreadable = Vec::new();
    let limits = Limits::default();
    for image in &args.image {
        let reference =
            Reference::parse(image).map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
        let endpoints = endpoints_for(
            &args.registry.hosts_dir,
            reference.registry(),
            args.registry.plain_http,
        )?;
        let client = registry_client(&args.registry, &reference, password.clone())?;
        let target = reference
            .digest()
            .map(|d| d.to_string())
            .or_else(|| reference.tag().map(str::to_owned))
            .unwrap_or_else(|| "latest".into());
        let mut last = None;
        let mut got = false;
        for ep in endpoints.iter().filter(|e| e.capabilities.pull) {
            match signature_chains(&client, ep, reference.repository(), &target, &limits).await {
                Ok((c, problems)) => {
                    chains.extend(c);
                    unreadable.extend(problems);
                    got = true;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if !got {
            return Err(last.map_or_else(
                || VerifyCommandError::Usage(format!("{image}: no host to fetch it from")),
                VerifyCommandError::Registry,
            ));
        }
    }
    let read_cert = |p: &PathBuf| -> Result<Certificate, VerifyCommandError> {
        let bytes = std::fs::read(p)
            .map_err(|e| VerifyCommandError::Usage(format!("{}: {e}", p.display())))?;
        crate::verify::trust_store::parse_certificate_file(&bytes)
            .ok()
            .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
            .ok_or_else(|| VerifyCommandError::Usage(format!("{}: not a certificate", p.display())))
    };
    let ocsp_for = args
        .ocsp_for
        .iter()
        .map(read_cert)
        .collect::<Result<Vec<_>, _>>()?;
    let request = CreateRequest {
        anchors,
        chains,
        crls: args.crl.clone(),
        ocsp_for,
        ocsp_files: args.ocsp.clone(),
        certificates: args
            .certificate
            .iter()
            .map(read_cert)
            .collect::<Result<Vec<_>, _>>()?,
        unreadable,
    };
    let (items, report) = collect(&request).await;
    if !items
        .iter()
        .any(|(h, _)| matches!(h.kind, ItemKind::Crl | ItemKind::Ocsp))
    {
        return Err(VerifyCommandError::Collect(format!(
            "no CRL or OCSP response could be collected, so no bundle was written (importing an empty one would \
             leave every revocable certificate unknown): {}",
            if report.missing.is_empty() {
                "nothing names a CRL distribution point or OCSP responder".to_owned()
            } else {
                report.missing.join("; ")
            }
        )));
    }
    let signer = match &args.sign_key {
        Some(p) => {
            let pem = std::fs::read(p)
                .map_err(|e| VerifyCommandError::Usage(format!("{}: {e}", p.display())))?;
            Some(
                crate::bundle::format::SigningKey::from_pkcs8_pem(&pem)
                    .map_err(|e| VerifyCommandError::Usage(format!("{}: {e}", p.display())))?,
            )
        }
        None => None,
    };
    let producer = format!("notaryd {} bundle create", env!("CARGO_PKG_VERSION"));
    let bytes = crate::bundle::format::write(&now.to_string(), &producer, &items, signer.as_ref())
        .map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
    // A temporary name of our own next to the output (never `<output minus extension>.tmp`,
    // which may be someone else's file), renamed over the output once written.
    let name = args
        .output
        .file_name()
        .map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    let tmp = args
        .output
        .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &bytes)
        .and_then(|()| std::fs::rename(&tmp, &args.output))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            VerifyCommandError::Usage(format!("{}: {e}", args.output.display()))
        })?;
    Ok(report)
}

/// Arguments of `notaryd verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image to verify in its registry: REGISTRY/REPO[:TAG][@DIGEST] (normalised as
    /// containerd does: docker.io/library/... and the tag latest are implied).
    #[arg(value_name = "REFERENCE", required_unless_present = "oci_layout", conflicts_with_all = ["oci_layout", "scope"])]
    pub reference: Option<String>,

    /// Ask the running daemon (`notaryd serve`) instead of verifying here: its
    /// configuration, cache and revocation set apply, and the same report is printed.
    /// Options that change how a verification is done are refused with it: the daemon's
    /// configuration decides them.
    #[arg(long, conflicts_with_all = [
        "oci_layout", "scope", "notation_config", "trust_policy", "trust_store", "user_metadata",
        "max_signatures", "platform_signatures", "platform", "revocation_bundle", "state_dir",
        "bundle_key", "revocation_grace", "hosts_dir", "plain_http", "username",
        "password_stdin", "docker_config", "request_timeout", "connect_timeout",
    ])]
    pub daemon: bool,

    /// With --daemon: the daemon's socket.
    #[arg(long, value_name = "PATH", default_value = crate::config::DEFAULT_SOCKET, requires = "daemon")]
    pub socket: PathBuf,

    /// With --daemon: the Kubernetes namespace to verify for (a namespace-specific policy
    /// applies when the daemon has one).
    #[arg(long, value_name = "NAMESPACE", requires = "daemon")]
    pub namespace: Option<String>,

    /// Verify an image in an OCI image layout instead: DIR:TAG or DIR@DIGEST (needs --scope).
    #[arg(long, value_name = "DIR:TAG|DIR@DIGEST", requires = "scope")]
    pub oci_layout: Option<String>,

    /// With --oci-layout: the registry/repository the trust policy's registryScopes are
    /// matched against. (For a registry reference the scope is the reference's own name.)
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub scope: Option<String>,

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

    /// How registries are reached.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Where revocation data comes from.
    #[command(flatten)]
    pub revocation: RevocationArgs,

    /// For a multi-platform image: verify the index the reference resolves to, this node's
    /// platform manifest instead, or both.
    #[arg(long, value_enum, default_value_t = PlatformSignatures::Index)]
    pub platform_signatures: PlatformSignatures,

    /// The platform for --platform-signatures platform|both (default: this machine's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", value_parser = parse_platform)]
    pub platform: Option<Platform>,

    /// Deadline for the whole verification, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// How registries are reached (shared by `verify` and `bundle create`).
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// containerd's hosts directory: mirrors, TLS and plain-HTTP settings per registry.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_HOSTS_DIR)]
    pub hosts_dir: PathBuf,

    /// Contact the registry over plain HTTP when the hosts directory configures nothing for it.
    #[arg(long)]
    pub plain_http: bool,

    /// Registry user name; the password is read from standard input (--password-stdin).
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the registry password (or identity token) for --username from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// docker's config.json for credentials (default: $DOCKER_CONFIG/config.json, else
    /// ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,

    /// Deadline for one HTTP request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,

    /// Deadline for one TCP/TLS connect, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout: u64,
}

/// Where revocation data comes from during verification.
#[derive(Debug, Clone, Args)]
pub struct RevocationArgs {
    /// Use this revocation bundle instead of the installed one (checked and indexed now).
    #[arg(long, value_name = "FILE")]
    pub revocation_bundle: Option<PathBuf>,

    /// The state directory holding the installed revocation bundle.
    #[arg(long, value_name = "DIR", default_value = crate::bundle::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,

    /// A public key (PEM PUBLIC KEY or CERTIFICATE) allowed to sign revocation bundles
    /// (repeatable). With one or more, unsigned or otherwise signed bundles are refused.
    #[arg(long, value_name = "PEM")]
    pub bundle_key: Vec<PathBuf>,

    /// How long past its nextUpdate a CRL or OCSP response still counts, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub revocation_grace: u32,
}

impl VerifyArgs {
    /// Arguments for verifying `oci_layout` under `scope`, everything else at its default.
    pub fn for_layout(oci_layout: &str, scope: &str, notation_config: PathBuf) -> Self {
        Self::parse_from(["verify", "--oci-layout", oci_layout, "--scope", scope])
            .with_notation_config(notation_config)
    }

    /// Arguments for verifying the registry `reference`, everything else at its default.
    pub fn for_reference(reference: &str, notation_config: PathBuf) -> Self {
        Self::parse_from(["verify", reference]).with_notation_config(notation_config)
    }

    fn with_notation_config(mut self, dir: PathBuf) -> Self {
        self.notation_config = dir;
        self
    }

    fn parse_from<const N: usize>(args: [&str; N]) -> Self {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: VerifyArgs,
        }
        let mut full = vec!["notaryd"];
        full.extend(args.iter().skip(1));
        Wrapper::parse_from(full).args
    }
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::parse(s).ok_or_else(|| format!("{s:?} is not OS/ARCH[/VARIANT]"))
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
    /// The registry could not be reached or did not answer usefully.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The daemon could not be asked, or reached no verdict.
    #[error("{0}")]
    Daemon(String),
    /// `bundle create` could collect nothing.
    #[error("{0}")]
    Collect(String),
    /// The verification ended without a verdict for a reason other than the registry (a
    /// deadline, an internal error).
    #[error("{0}")]
    NoVerdict(String),
}

impl VerifyCommandError {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::MissingStore(_) | Self::Usage(_) => EXIT_USAGE,
            Self::Layout(LayoutError::BadReference(_)) => EXIT_USAGE,
            Self::Layout(_) => EXIT_UNREADABLE,
            Self::Registry(RegistryError::Config(_)) => EXIT_USAGE,
            Self::Registry(_) => EXIT_UNREADABLE,
            Self::Daemon(_) | Self::Collect(_) | Self::NoVerdict(_) => EXIT_UNREADABLE,
        }
    }
}

/// The verdict and everything needed to print it.
pub struct VerifyOutcome {
    /// The reference as given.
    pub reference: String,
    /// Accepted or rejected.
    pub result: Result<Verified, Rejected>,
    /// For a multi-platform image verified with `--platform-signatures both`: the verdict for
    /// this node's platform manifest (`result` is the index's).
    pub platform: Option<Result<Verified, Rejected>>,
    /// Configuration choices worth a warning (printed on stderr by the command).
    pub warnings: Vec<String>,
    /// For registry references: the host that served the artifact.
    pub resolved_by: Option<String>,
    /// For registry references: HTTP requests made.
    pub http_requests: Option<usize>,
}

impl VerifyOutcome {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        if self.result.is_ok() && self.platform.as_ref().is_none_or(Result::is_ok) {
            EXIT_ACCEPTED
        } else {
            EXIT_REJECTED
        }
    }
}

/// The trust policy, trust stores and warnings, loaded once for a command.
struct Loaded {
    policy_path: PathBuf,
    store_dir: PathBuf,
    policy: crate::verify::policy::TrustPolicyDocument,
    trust_store: crate::verify::trust_store::TrustStore,
    limits: Limits,
    warnings: Vec<String>,
}

fn load(args: &VerifyArgs) -> Result<Loaded, VerifyCommandError> {
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
    Ok(Loaded {
        policy_path,
        store_dir,
        policy,
        trust_store,
        limits,
        warnings,
    })
}

/// Runs `notaryd verify --oci-layout` at verification time `now`.
pub fn verify(args: &VerifyArgs, now: Timestamp) -> Result<VerifyOutcome, VerifyCommandError> {
    let Some(layout_ref) = &args.oci_layout else {
        return Err(VerifyCommandError::Usage(
            "give a REFERENCE or --oci-layout".into(),
        ));
    };
    let Some(scope) = args.scope.clone() else {
        return Err(VerifyCommandError::Usage(
            "--oci-layout needs --scope REGISTRY/REPOSITORY".into(),
        ));
    };
    let loaded = load(args)?;
    let limits = &loaded.limits;
    let revocation = revocation_source(&args.revocation, &loaded.store_dir)?;
    let verifier = Verifier::new(
        &loaded.policy,
        &loaded.trust_store,
        revocation.as_ref(),
        limits.clone(),
    )?;

    let reference = LayoutReference::parse(layout_ref)?;
    let layout = OciLayout::open(reference.dir(), limits)?;
    let target = layout.resolve(&reference)?;
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
        reference: layout_ref.clone(),
        result,
        platform: None,
        warnings: loaded.warnings,
        resolved_by: None,
        http_requests: None,
    })
}

/// A registry client for `reference`: `--username`/`--password-stdin` offered to the
/// reference's registry only (never a mirror), then docker's configuration.
pub(crate) fn registry_client(
    args: &RegistryArgs,
    reference: &Reference,
    password: Option<String>,
) -> Result<RegistryClient, VerifyCommandError> {
    let chain = crate::service::credential_chain(
        given_credential(args, password),
        reference,
        Box::new(docker_config(args)?),
    );
    Ok(RegistryClient::new(
        client_options(args),
        Arc::new(crate::registry::credentials::Memoized::new(chain)),
    ))
}

/// `--username` with the password `--password-stdin` read.
fn given_credential(args: &RegistryArgs, password: Option<String>) -> Option<Credential> {
    match (&args.username, password) {
        (Some(user), Some(secret)) => Some(Credential::Basic {
            username: user.clone(),
            password: secret,
        }),
        _ => None,
    }
}

/// docker's configuration: `--docker-config`, else where docker looks.
fn docker_config(args: &RegistryArgs) -> Result<DockerConfig, VerifyCommandError> {
    match &args.docker_config {
        Some(path) => DockerConfig::load(path),
        None => DockerConfig::load_default(),
    }
    .map_err(|e| VerifyCommandError::Usage(format!("docker config: {e}")))
}

fn client_options(args: &RegistryArgs) -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(args.connect_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        ..ClientOptions::default()
    }
}

/// The revocation source for a verification: `--revocation-bundle FILE` (checked against the
/// configured bundle keys), else the installed bundle in the state directory, else none (every
/// certificate that names a CRL or OCSP responder is then "unknown").
fn revocation_source(
    args: &RevocationArgs,
    truststore_dir: &Path,
) -> Result<Box<dyn RevocationSource>, VerifyCommandError> {
    let options = RevocationOptions {
        grace_seconds: args.revocation_grace,
    };
    let installed = crate::bundle::installed_path(&args.state_dir);
    let path = match &args.revocation_bundle {
        Some(p) => p.clone(),
        None if installed.is_file() => installed,
        None => return Ok(Box::new(NoRevocationData)),
    };
    // The installed bundle was checked at import; with keys configured it is checked again,
    // so a file swapped under the state directory is noticed.
    let keys = load_bundle_keys(&args.bundle_key)?;
    let all = notation_config::load_all_trust_stores(truststore_dir)?;
    let anchors: Vec<&Certificate> = all.iter().flat_map(|(_, _, s)| s.certificates()).collect();
    let set = crate::bundle::load_set(&path, &anchors, &keys, None, options)
        .map_err(|e| VerifyCommandError::Usage(format!("revocation bundle: {e}")))?;
    Ok(Box::new(set))
}

/// Reads the bundle-signing public keys.
pub(crate) fn load_bundle_keys(paths: &[PathBuf]) -> Result<Vec<BundleKey>, VerifyCommandError> {
    paths
        .iter()
        .map(|p| {
            let pem = std::fs::read(p).map_err(|e| {
                VerifyCommandError::Usage(format!("bundle key {}: {e}", p.display()))
            })?;
            BundleKey::from_pem(&pem)
                .map_err(|e| VerifyCommandError::Usage(format!("bundle key {}: {e}", p.display())))
        })
        .collect()
}

/// Runs `notaryd verify REFERENCE` against the reference's registry, through the same use
/// case the daemon serves (`service::decider::Decider`), with a snapshot made of the command's flags.
/// `password` is what `--password-stdin` read.
pub async fn verify_registry(
    args: &VerifyArgs,
    password: Option<String>,
) -> Result<VerifyOutcome, VerifyCommandError> {
    let Some(text) = &args.reference else {
        return Err(VerifyCommandError::Usage(
            "give a REFERENCE or --oci-layout".into(),
        ));
    };
    let reference = Reference::parse(text).map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
    let loaded = load(args)?;
    let revocation = revocation_source(&args.revocation, &loaded.store_dir)?;
    // Checked here, so that a policy naming a store that is not there is a usage error.
    Verifier::new(
        &loaded.policy,
        &loaded.trust_store,
        revocation.as_ref(),
        loaded.limits.clone(),
    )?;
    let docker = docker_config(&args.registry)?;
    let config =
        crate::config::Config::defaults().map_err(|e| VerifyCommandError::Usage(e.to_string()))?;
    let snapshot = one_shot_snapshot(
        args,
        config,
        loaded.policy_path,
        (loaded.policy, loaded.trust_store),
        revocation,
        docker,
        loaded.limits,
    );
    let decider = Decider::new(
        snapshot,
        Arc::new(crate::service::metrics::Metrics::new()),
        AuditLog::open(&crate::config::AuditTarget::Off)
            .map_err(|e| VerifyCommandError::Usage(format!("audit log: {e}")))?,
    );
    let request = DecisionRequest {
        client: None,
        reference_text: text.clone(),
        reference,
        descriptor_digest: None,
        namespace: None,
        credential: given_credential(&args.registry, password),
        cache_only: false,
    };
    let (decision, requests) = decider.decide_once(&request).await;
    let verification = match decision.into_verification() {
        Ok(v) => v,
        Err(NoVerdict::Registry(e)) => return Err(VerifyCommandError::Registry(e)),
        Err(NoVerdict::Other(reason)) => return Err(VerifyCommandError::NoVerdict(reason)),
    };
    let (result, platform) = match (verification.artifact, verification.platform) {
        (Some(a), p) => (a, p),
        (None, Some(p)) => (p, None),
        (None, None) => {
            return Err(VerifyCommandError::Usage("nothing was verified".into()));
        }
    };
    Ok(VerifyOutcome {
        reference: request.reference.to_string(),
        result,
        platform,
        warnings: loaded.warnings,
        resolved_by: Some(verification.resolved_by),
        http_requests: Some(requests as usize),
    })
}

/// The snapshot a one-shot verification decides under: the daemon's defaults, with what
/// the command's flags set (no namespace policies, no exemptions, no audit).
fn one_shot_snapshot(
    args: &VerifyArgs,
    mut config: crate::config::Config,
    policy_path: PathBuf,
    (policy, trust_store): (
        crate::verify::policy::TrustPolicyDocument,
        crate::verify::trust_store::TrustStore,
    ),
    revocation: Box<dyn RevocationSource>,
    docker: DockerConfig,
    limits: Limits,
) -> Snapshot {
    config.hosts_dir = args.registry.hosts_dir.clone();
    config.connect_timeout = Duration::from_secs(args.registry.connect_timeout);
    config.request_timeout = Duration::from_secs(args.registry.request_timeout);
    config.verify_timeout = Duration::from_secs(args.timeout);
    config.max_signatures = args.max_signatures;
    config.platform_signatures = args.platform_signatures;
    Snapshot {
        generation: 0,
        loaded_at: crate::clock::now(),
        config,
        default_policy: PolicySet {
            path: policy_path,
            policy,
            trust_store,
            // Reported by the daemon's Status only.
            digest: String::new(),
        },
        namespace_policies: BTreeMap::new(),
        revocation,
        revocation_created_at: None,
        docker_config: Arc::new(docker),
        limits,
        versions: Default::default(),
        plain_http: args.registry.plain_http,
        platform: args.platform.clone().unwrap_or_else(Platform::host),
        user_metadata: args.user_metadata.iter().cloned().collect(),
    }
}

/// Renders the report in the requested format.
pub fn render(outcome: &VerifyOutcome, format: OutputFormat) -> String {
    render_view(
        &ReportView {
            reference: &outcome.reference,
            result: &outcome.result,
            platform: outcome.platform.as_ref(),
            resolved_by: outcome.resolved_by.as_deref(),
            http_requests: outcome.http_requests,
        },
        format,
    )
}

/// `notaryd verify --daemon`: asks the daemon on `args.socket` and returns the report it
/// rendered and the exit code (0 accepted, skipped or exempt; 1 rejected).
pub async fn verify_daemon(args: &VerifyArgs) -> Result<(String, u8), VerifyCommandError> {
    use crate::api::v1;
    let Some(reference) = &args.reference else {
        return Err(VerifyCommandError::Usage(
            "--daemon needs a REFERENCE".into(),
        ));
    };
    let mut client = daemon_client(&args.socket).await?;
    let mut request = tonic::Request::new(v1::VerifyRequest {
        reference: reference.clone(),
        descriptor: None,
        auth: None,
        namespace: args.namespace.clone().unwrap_or_default(),
        report_format: match args.output {
            OutputFormat::Text => v1::ReportFormat::Text,
            OutputFormat::Json => v1::ReportFormat::Json,
        } as i32,
        cache_only: false,
    });
    // --timeout bounds the wait for the daemon too (a gRPC deadline).
    request.set_timeout(Duration::from_secs(args.timeout));
    let response = client
        .verify(request)
        .await
        .map_err(|s| match s.code() {
            tonic::Code::InvalidArgument => VerifyCommandError::Usage(s.message().to_owned()),
            _ => VerifyCommandError::Daemon(format!(
                "daemon at {}: {}",
                args.socket.display(),
                s.message()
            )),
        })?
        .into_inner();
    match v1::Outcome::try_from(response.outcome) {
        Ok(v1::Outcome::Error) | Err(_) | Ok(v1::Outcome::Unspecified) => Err(
            VerifyCommandError::Daemon(format!("no verdict for {reference}: {}", response.reason)),
        ),
        Ok(_) => Ok((
            response.report,
            if response.allowed {
                EXIT_ACCEPTED
            } else {
                EXIT_REJECTED
            },
        )),
    }
}

/// A gRPC client of the daemon on a unix socket ([`crate::api::daemon_client`], its error
/// as the command's).
pub async fn daemon_client(
    socket: &Path,
) -> Result<
    crate::api::v1::verifier_client::VerifierClient<tonic::transport::Channel>,
    VerifyCommandError,
> {
    crate::api::daemon_client(socket)
        .await
        .map_err(VerifyCommandError::Daemon)
}
