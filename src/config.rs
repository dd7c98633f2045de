//! The daemon's configuration file (`/etc/notaryd/config.toml`), read in two stages: the raw
//! document as written ([`RawConfig`], every key optional, unknown keys refused), then the
//! validated [`Config`] with every default applied and every value checked. `notaryd config
//! check` runs both stages and names the key at fault; `notaryd serve` runs them before it
//! opens any socket. Every key and its default is documented in
//! `packaging/etc/notaryd/config.toml`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::registry::discovery::PlatformSignatures;

/// Where notaryd's configuration lives unless told otherwise.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/notaryd";
/// containerd's default hosts directory (defined with the hosts.toml reader).
pub(crate) use crate::registry::hosts::DEFAULT_HOSTS_DIR;
/// Where the configuration file lives unless told otherwise.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/notaryd/config.toml";
/// The verifier socket unless configured.
pub const DEFAULT_SOCKET: &str = "/run/notaryd/notaryd.sock";
/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Why a configuration is refused. Every variant names the key (`section.key`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Larger than [`MAX_CONFIG_BYTES`].
    #[error("{path}: {len} bytes, more than the limit of {MAX_CONFIG_BYTES}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the key and the line).
        message: String,
    },
    /// A value is out of range or contradicts another.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The file (or "command line").
        path: PathBuf,
        /// `section.key`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

// ------------------------------------------------------------------------------------ raw

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`.
    #[serde(default)]
    pub server: RawServer,
    /// `[policy]`.
    #[serde(default)]
    pub policy: RawPolicy,
    /// `[revocation]`.
    #[serde(default)]
    pub revocation: RawRevocation,
    /// `[registry]`.
    #[serde(default)]
    pub registry: RawRegistry,
    /// `[verification]`.
    #[serde(default)]
    pub verification: RawVerification,
    /// `[cache]`.
    #[serde(default)]
    pub cache: RawCache,
    /// `[audit]`.
    #[serde(default)]
    pub audit: RawAudit,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: RawMetrics,
    /// `[reload]`.
    #[serde(default)]
    pub reload: RawReload,
    /// `[cri]`.
    #[serde(default)]
    pub cri: RawCri,
}

/// `[cri]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCri {
    /// Where the CRI ImageService proxy listens; absent: no proxy.
    pub socket: Option<PathBuf>,
    /// Its permission bits.
    pub socket_mode: Option<String>,
    /// Its group.
    pub socket_group: Option<String>,
    /// containerd's socket.
    pub containerd_socket: Option<PathBuf>,
    /// containerd namespace of CRI's images.
    pub namespace: Option<String>,
    /// enforce | audit.
    pub mode: Option<String>,
}

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Unix socket path.
    pub socket: Option<PathBuf>,
    /// Octal mode string, e.g. "0660".
    pub socket_mode: Option<String>,
    /// Group name or numeric gid owning the socket.
    pub socket_group: Option<String>,
    /// Requests served at once, over all connections.
    pub max_concurrent_requests: Option<usize>,
    /// Requests served at once on one connection.
    pub max_concurrent_requests_per_connection: Option<usize>,
    /// Fresh verifications one client (uid and pid) may run at once.
    pub max_concurrent_requests_per_client: Option<usize>,
    /// Largest request message.
    pub max_request_bytes: Option<usize>,
    /// Seconds given to in-flight requests after SIGTERM.
    pub shutdown_grace_seconds: Option<u64>,
}

/// `[policy]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// notation configuration directory (trustpolicy(.oci).json and truststore/).
    pub notation_config: Option<PathBuf>,
    /// The trust policy file, instead of the one in `notation_config`.
    pub trust_policy: Option<PathBuf>,
    /// The trust store directory, instead of `notation_config/truststore`.
    pub trust_store: Option<PathBuf>,
    /// Kubernetes namespace → trust policy file.
    #[serde(default)]
    pub namespaces: BTreeMap<String, PathBuf>,
}

/// `[revocation]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// A bundle file to use instead of the installed one.
    pub bundle: Option<PathBuf>,
    /// Where `notaryd bundle import` installs bundles.
    pub state_dir: Option<PathBuf>,
    /// PEM public keys allowed to sign bundles.
    #[serde(default)]
    pub bundle_keys: Vec<PathBuf>,
    /// Seconds past nextUpdate that data is still used.
    pub grace_seconds: Option<u32>,
}

/// `[registry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    /// containerd's hosts directory.
    pub hosts_dir: Option<PathBuf>,
    /// docker's config.json for credentials.
    pub docker_config: Option<PathBuf>,
    /// Per-connection connect deadline.
    pub connect_timeout_seconds: Option<u64>,
    /// Per-request deadline.
    pub request_timeout_seconds: Option<u64>,
    /// Bytes of registry bodies held in memory at once, daemon-wide.
    pub max_body_bytes_in_flight: Option<u64>,
}

/// `[verification]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerification {
    /// Deadline for one verification.
    pub timeout_seconds: Option<u64>,
    /// Signatures tried per artifact.
    pub max_signatures: Option<u32>,
    /// index | platform | both.
    pub platform_signatures: Option<String>,
    /// What a verification that reaches no verdict answers: only "deny".
    pub fail_mode: Option<String>,
    /// References or digests allowed without verification.
    #[serde(default)]
    pub exempt: Vec<String>,
}

/// `[cache]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Most verdicts kept.
    pub max_entries: Option<usize>,
    /// Seconds a verdict is kept.
    pub ttl_seconds: Option<u64>,
    /// Seconds a rejection is kept.
    pub rejection_ttl_seconds: Option<u64>,
}

/// `[audit]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// A file, "-" for stdout, absent for none.
    pub path: Option<String>,
}

/// `[metrics]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// host:port of the Prometheus text endpoint; absent for none.
    pub listen: Option<String>,
}

/// `[reload]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReload {
    /// Poll the configured files for changes.
    pub watch: Option<bool>,
    /// How often.
    pub poll_interval_seconds: Option<u64>,
}

impl RawConfig {
    /// Reads `path` (capped) and parses it. Unknown keys are refused.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
                len: text.len() as u64,
            });
        }
        Self::parse(&text, path)
    }

    /// Parses TOML text (`path` is only for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }
}

// ------------------------------------------------------------------------------ validated

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The verifier socket.
    pub socket: PathBuf,
    /// Its permission bits.
    pub socket_mode: u32,
    /// Its group (name or gid), when set.
    pub socket_group: Option<String>,
    /// Requests served at once, over all connections.
    pub max_concurrent_requests: usize,
    /// Requests served at once on one connection.
    pub max_concurrent_requests_per_connection: usize,
    /// Fresh verifications one client may run at once.
    pub max_concurrent_requests_per_client: usize,
    /// Largest request message, in bytes.
    pub max_request_bytes: usize,
    /// Time in-flight requests get after SIGTERM.
    pub shutdown_grace: Duration,
    /// The notation configuration directory.
    pub notation_config: PathBuf,
    /// An explicit trust policy file.
    pub trust_policy: Option<PathBuf>,
    /// The trust store directory.
    pub trust_store: PathBuf,
    /// Namespace → trust policy file.
    pub namespace_policies: BTreeMap<String, PathBuf>,
    /// An explicit revocation bundle.
    pub revocation_bundle: Option<PathBuf>,
    /// The revocation state directory.
    pub revocation_state_dir: PathBuf,
    /// Bundle-signing keys.
    pub bundle_keys: Vec<PathBuf>,
    /// Revocation grace.
    pub revocation_grace_seconds: u32,
    /// containerd's hosts directory.
    pub hosts_dir: PathBuf,
    /// docker's config.json (default: `$DOCKER_CONFIG` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Connect deadline.
    pub connect_timeout: Duration,
    /// Request deadline.
    pub request_timeout: Duration,
    /// Bytes of registry bodies held in memory at once, daemon-wide (the body budget,
    /// `registry::budget`).
    pub max_body_bytes_in_flight: u64,
    /// Deadline for one verification.
    pub verify_timeout: Duration,
    /// Signatures tried per artifact.
    pub max_signatures: u32,
    /// Multi-platform rule.
    pub platform_signatures: PlatformSignatures,
    /// References and digests allowed without verification.
    pub exempt: Vec<Exemption>,
    /// Most cached verdicts.
    pub cache_max_entries: usize,
    /// How long a verdict is cached.
    pub cache_ttl: Duration,
    /// How long a rejection is cached.
    pub cache_rejection_ttl: Duration,
    /// The audit log.
    pub audit: AuditTarget,
    /// The metrics listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether files are polled for changes.
    pub watch: bool,
    /// How often.
    pub poll_interval: Duration,
    /// The CRI proxy, when configured.
    pub cri: Option<CriConfig>,
}

/// The CRI ImageService proxy's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriConfig {
    /// Where it listens.
    pub socket: PathBuf,
    /// Its permission bits.
    pub socket_mode: u32,
    /// Its group.
    pub socket_group: Option<String>,
    /// containerd's socket (CRI and images API).
    pub containerd_socket: PathBuf,
    /// containerd namespace of CRI's images.
    pub namespace: String,
    /// Audit instead of enforce.
    pub audit: bool,
}

/// containerd's socket unless configured.
pub const DEFAULT_CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";

/// Where audit lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    /// Nowhere.
    Off,
    /// Standard output.
    Stdout,
    /// Appended to a file.
    File(PathBuf),
}

/// Values given on the command line, which win over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--notation-config`.
    pub notation_config: Option<PathBuf>,
    /// `--revocation-bundle`.
    pub revocation_bundle: Option<PathBuf>,
    /// `--hosts-dir`.
    pub hosts_dir: Option<PathBuf>,
    /// `--cri-socket`.
    pub cri_socket: Option<PathBuf>,
    /// `--containerd-socket`.
    pub containerd_socket: Option<PathBuf>,
}

impl Config {
    /// Reads and validates `path`; with `path` absent (and no file at the default location)
    /// the defaults and `overrides` alone make the configuration.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let (raw, shown) = match path {
            Some(p) => (RawConfig::read(p)?, p.to_owned()),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                let p = Path::new(DEFAULT_CONFIG_FILE);
                (RawConfig::read(p)?, p.to_owned())
            }
            None => (RawConfig::default(), PathBuf::from("(defaults)")),
        };
        Self::validate(raw, overrides, &shown)
    }

    /// Every default, with no file and no override.
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::validate(
            RawConfig::default(),
            &Overrides::default(),
            Path::new("(defaults)"),
        )
    }

    /// The second stage: defaults, ranges and consistency.
    pub fn validate(
        raw: RawConfig,
        overrides: &Overrides,
        path: &Path,
    ) -> Result<Self, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            message,
        };
        let seconds = |key: &str, v: Option<u64>, default: u64, min: u64, max: u64| {
            let v = v.unwrap_or(default);
            if (min..=max).contains(&v) {
                Ok(Duration::from_secs(v))
            } else {
                Err(invalid(key, format!("{v} is outside {min}..={max}")))
            }
        };
        let count = |key: &str, v: Option<usize>, default: usize, min: usize, max: usize| {
            let v = v.unwrap_or(default);
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(invalid(key, format!("{v} is outside {min}..={max}")))
            }
        };
        let absolute = |key: &str, p: PathBuf| {
            if p.is_absolute() {
                Ok(p)
            } else {
                Err(invalid(
                    key,
                    format!(
                        "{} is not an absolute path (the daemon's working directory is /)",
                        p.display()
                    ),
                ))
            }
        };

        let s = raw.server;
        let socket = absolute(
            "server.socket",
            overrides
                .socket
                .clone()
                .or(s.socket)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
        )?;
        let socket_mode = parse_socket_mode("server", s.socket_mode.as_deref())
            .map_err(|(k, m)| invalid(&k, m))?;
        check_group("server", s.socket_group.as_deref()).map_err(|(k, m)| invalid(&k, m))?;
        let max_concurrent_requests = count(
            "server.max_concurrent_requests",
            s.max_concurrent_requests,
            256,
            1,
            65_536,
        )?;
        let max_concurrent_requests_per_connection = count(
            "server.max_concurrent_requests_per_connection",
            s.max_concurrent_requests_per_connection,
            64,
            1,
            65_536,
        )?;
        let max_concurrent_requests_per_client = count(
            "server.max_concurrent_requests_per_client",
            s.max_concurrent_requests_per_client,
            64,
            1,
            65_536,
        )?;
        if max_concurrent_requests_per_client > max_concurrent_requests {
            return Err(invalid(
                "server.max_concurrent_requests_per_client",
                format!(
                    "{max_concurrent_requests_per_client} is more than server.max_concurrent_requests ({max_concurrent_requests})"
                ),
            ));
        }
        let max_request_bytes = count(
            "server.max_request_bytes",
            s.max_request_bytes,
            64 * 1024,
            1024,
            4 * 1024 * 1024,
        )?;
        let shutdown_grace = seconds(
            "server.shutdown_grace_seconds",
            s.shutdown_grace_seconds,
            10,
            0,
            600,
        )?;

        let p = raw.policy;
        let notation_config = absolute(
            "policy.notation_config",
            overrides
                .notation_config
                .clone()
                .or(p.notation_config)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR)),
        )?;
        let trust_policy = p
            .trust_policy
            .map(|t| absolute("policy.trust_policy", t))
            .transpose()?;
        let trust_store = match p.trust_store {
            Some(t) => absolute("policy.trust_store", t)?,
            None => notation_config.join("truststore"),
        };
        let mut namespace_policies = BTreeMap::new();
        for (ns, file) in p.namespaces {
            if let Err(problem) = check_namespace(&ns) {
                return Err(invalid(&format!("policy.namespaces.{ns}"), problem));
            }
            let file = absolute(&format!("policy.namespaces.{ns}"), file)?;
            namespace_policies.insert(ns, file);
        }

        let r = raw.revocation;
        let revocation_bundle = overrides
            .revocation_bundle
            .clone()
            .or(r.bundle)
            .map(|b| absolute("revocation.bundle", b))
            .transpose()?;
        let revocation_state_dir = absolute(
            "revocation.state_dir",
            r.state_dir
                .unwrap_or_else(|| PathBuf::from(crate::bundle::DEFAULT_STATE_DIR)),
        )?;
        let bundle_keys = r
            .bundle_keys
            .into_iter()
            .map(|k| absolute("revocation.bundle_keys", k))
            .collect::<Result<Vec<_>, _>>()?;
        let revocation_grace_seconds = r.grace_seconds.unwrap_or(0);
        if revocation_grace_seconds > 30 * 86_400 {
            return Err(invalid(
                "revocation.grace_seconds",
                format!("{revocation_grace_seconds} is more than 30 days"),
            ));
        }

        let g = raw.registry;
        let hosts_dir = absolute(
            "registry.hosts_dir",
            overrides
                .hosts_dir
                .clone()
                .or(g.hosts_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_HOSTS_DIR)),
        )?;
        let docker_config = g
            .docker_config
            .map(|d| absolute("registry.docker_config", d))
            .transpose()?;
        let connect_timeout = seconds(
            "registry.connect_timeout_seconds",
            g.connect_timeout_seconds,
            5,
            1,
            300,
        )?;
        let request_timeout = seconds(
            "registry.request_timeout_seconds",
            g.request_timeout_seconds,
            30,
            1,
            3600,
        )?;

        // At least the largest single body (an envelope at its cap) with its read buffer, so
        // that every body the caps allow can be read; at most what one share can count.
        let smallest_budget = crate::registry::budget::min_body_budget();
        let max_body_bytes_in_flight = g
            .max_body_bytes_in_flight
            .unwrap_or(crate::registry::budget::DEFAULT_BODY_BUDGET_BYTES);
        if !(smallest_budget..=crate::registry::budget::MAX_BODY_BUDGET_BYTES)
            .contains(&max_body_bytes_in_flight)
        {
            return Err(invalid(
                crate::registry::budget::BUDGET_KEY,
                format!(
                    "{max_body_bytes_in_flight} is outside {smallest_budget}..={} (at least the \
                     largest envelope a signature may have, so that every one can be read)",
                    crate::registry::budget::MAX_BODY_BUDGET_BYTES
                ),
            ));
        }

        let v = raw.verification;
        let verify_timeout = seconds(
            "verification.timeout_seconds",
            v.timeout_seconds,
            60,
            1,
            3600,
        )?;
        let max_signatures = u32::try_from(count(
            "verification.max_signatures",
            v.max_signatures.map(|n| n as usize),
            100,
            1,
            10_000,
        )?)
        .unwrap_or(100);
        let platform_signatures = match v.platform_signatures.as_deref().unwrap_or("index") {
            "index" => PlatformSignatures::Index,
            "platform" => PlatformSignatures::Platform,
            "both" => PlatformSignatures::Both,
            other => {
                return Err(invalid(
                    "verification.platform_signatures",
                    format!("{other:?} is not one of \"index\", \"platform\", \"both\""),
                ));
            }
        };
        match v.fail_mode.as_deref().unwrap_or("deny") {
            "deny" => {}
            other => {
                return Err(invalid(
                    "verification.fail_mode",
                    format!(
                        "{other:?}: the only mode is \"deny\" — an image without a verdict is never allowed; \
                         list bootstrap images in verification.exempt instead"
                    ),
                ));
            }
        }
        let exempt = v
            .exempt
            .iter()
            .map(|e| {
                Exemption::parse(e)
                    .map_err(|problem| invalid("verification.exempt", format!("{e:?}: {problem}")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let c = raw.cache;
        let cache_max_entries = count("cache.max_entries", c.max_entries, 4096, 0, 1_000_000)?;
        let cache_ttl = seconds("cache.ttl_seconds", c.ttl_seconds, 300, 0, 86_400)?;
        let cache_rejection_ttl = seconds(
            "cache.rejection_ttl_seconds",
            c.rejection_ttl_seconds,
            30,
            0,
            86_400,
        )?;

        let audit = match raw.audit.path.as_deref() {
            None | Some("") => AuditTarget::Off,
            Some("-") => AuditTarget::Stdout,
            Some(p) => AuditTarget::File(absolute("audit.path", PathBuf::from(p))?),
        };
        let metrics_listen = raw
            .metrics
            .listen
            .map(|l| {
                l.parse::<SocketAddr>().map_err(|e| {
                    invalid(
                        "metrics.listen",
                        format!("{l:?} is not HOST:PORT with an IP address: {e}"),
                    )
                })
            })
            .transpose()?;
        let watch = raw.reload.watch.unwrap_or(true);
        let poll_interval = seconds(
            "reload.poll_interval_seconds",
            raw.reload.poll_interval_seconds,
            2,
            1,
            3600,
        )?;

        let c = raw.cri;
        let cri = match overrides.cri_socket.clone().or(c.socket) {
            None => None,
            Some(cri_socket) => {
                let cri_socket = absolute("cri.socket", cri_socket)?;
                if cri_socket == socket {
                    return Err(invalid("cri.socket", "is the same as server.socket".into()));
                }
                let cri_mode = parse_socket_mode("cri", c.socket_mode.as_deref())
                    .map_err(|(k, m)| invalid(&k, m))?;
                check_group("cri", c.socket_group.as_deref()).map_err(|(k, m)| invalid(&k, m))?;
                let containerd_socket = absolute(
                    "cri.containerd_socket",
                    overrides
                        .containerd_socket
                        .clone()
                        .or(c.containerd_socket)
                        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTAINERD_SOCKET)),
                )?;
                if containerd_socket == cri_socket {
                    return Err(invalid(
                        "cri.containerd_socket",
                        "is the proxy's own socket (it must be containerd's)".into(),
                    ));
                }
                let namespace = c.namespace.unwrap_or_else(|| "k8s.io".to_owned());
                if namespace.is_empty()
                    || namespace.len() > 76
                    || !namespace
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
                {
                    return Err(invalid(
                        "cri.namespace",
                        format!("{namespace:?} is not a containerd namespace"),
                    ));
                }
                let audit = match c.mode.as_deref().unwrap_or("enforce") {
                    "enforce" => false,
                    "audit" => true,
                    other => {
                        return Err(invalid(
                            "cri.mode",
                            format!("{other:?} is not \"enforce\" or \"audit\""),
                        ));
                    }
                };
                Some(CriConfig {
                    socket: cri_socket,
                    socket_mode: cri_mode,
                    socket_group: c.socket_group,
                    containerd_socket,
                    namespace,
                    audit,
                })
            }
        };

        Ok(Self {
            cri,
            socket,
            socket_mode,
            socket_group: s.socket_group,
            max_concurrent_requests,
            max_concurrent_requests_per_connection,
            max_concurrent_requests_per_client,
            max_request_bytes,
            shutdown_grace,
            notation_config,
            trust_policy,
            trust_store,
            namespace_policies,
            revocation_bundle,
            revocation_state_dir,
            bundle_keys,
            revocation_grace_seconds,
            hosts_dir,
            docker_config,
            connect_timeout,
            request_timeout,
            max_body_bytes_in_flight,
            verify_timeout,
            max_signatures,
            platform_signatures,
            exempt,
            cache_max_entries,
            cache_ttl,
            cache_rejection_ttl,
            audit,
            metrics_listen,
            watch,
            poll_interval,
        })
    }
}

/// A socket mode as configured under `[section]`: octal, not world-writable.
fn parse_socket_mode(section: &str, mode: Option<&str>) -> Result<u32, (String, String)> {
    let key = format!("{section}.socket_mode");
    // The CRI proxy can pull and remove any image, as containerd's own socket can: root only
    // unless the operator says otherwise. The verifier only answers questions.
    let default = if section == "cri" { "0600" } else { "0660" };
    let m = mode.unwrap_or(default);
    if m.is_empty() || m.len() > 4 || !m.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err((key, format!("{m:?} is not an octal mode such as \"0660\"")));
    }
    let mode = u32::from_str_radix(m, 8).map_err(|e| (key.clone(), e.to_string()))?;
    if mode & 0o002 != 0 {
        return Err((
            key,
            "a world-writable socket lets every local user use it; grant access with a group"
                .into(),
        ));
    }
    Ok(mode)
}

fn check_group(section: &str, group: Option<&str>) -> Result<(), (String, String)> {
    match group {
        Some(g) if g.is_empty() || g.contains(['/', ':', '\n']) => Err((
            format!("{section}.socket_group"),
            format!("{g:?} is not a group name or gid"),
        )),
        _ => Ok(()),
    }
}

/// A Kubernetes namespace name: an RFC 1123 label (lowercase alphanumerics and '-', at most
/// 63 characters, starting and ending alphanumeric).
pub(crate) fn check_namespace(ns: &str) -> Result<(), String> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{ns:?} is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)"
        ))
    }
}

/// An image allowed without verification (`verification.exempt`), parsed once at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exemption {
    /// This digest, in any repository.
    Digest(crate::verify::descriptor::Digest),
    /// This digest in this repository (a reference pinned by digest).
    Pinned(crate::reference::Reference),
}

impl Exemption {
    /// Reads a digest (`sha256:…`) or a reference pinned by digest. A tag alone is refused:
    /// a tag can be moved to any image.
    pub fn parse(e: &str) -> Result<Self, String> {
        if let Ok(d) = crate::verify::descriptor::Digest::parse(e) {
            return Ok(Self::Digest(d));
        }
        match crate::reference::Reference::parse(e) {
            Ok(r) if r.digest().is_some() => Ok(Self::Pinned(r)),
            Ok(_) => Err(
                "a reference without a digest: a tag can be moved to any image, pin it with @sha256:…"
                    .into(),
            ),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Whether `digest` of `reference` is this exemption.
    pub fn covers(
        &self,
        reference: &crate::reference::Reference,
        digest: &crate::verify::descriptor::Digest,
    ) -> bool {
        match self {
            Self::Digest(d) => d == digest,
            Self::Pinned(r) => {
                r.digest() == Some(digest)
                    && r.registry() == reference.registry()
                    && r.repository() == reference.repository()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(text: &str) -> Result<Config, ConfigError> {
        let raw = RawConfig::parse(text, Path::new("t.toml"))?;
        Config::validate(raw, &Overrides::default(), Path::new("t.toml"))
    }

    #[test]
    fn defaults() {
        let c = validate("").unwrap();
        assert_eq!(c.socket, PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(c.socket_mode, 0o660);
        assert_eq!(c.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.audit, AuditTarget::Off);
        assert!(c.watch);
        assert_eq!(c.max_body_bytes_in_flight, 64 * 1024 * 1024);
    }

    #[test]
    fn messages_name_the_key() {
        for (text, key) in [
            ("[server]\nsocket_mode = \"0666\"", "server.socket_mode"),
            ("[server]\nsocket_mode = \"rw\"", "server.socket_mode"),
            ("[server]\nsocket = \"relative.sock\"", "server.socket"),
            ("[cache]\nttl_seconds = 100000", "cache.ttl_seconds"),
            (
                "[verification]\nfail_mode = \"allow\"",
                "verification.fail_mode",
            ),
            (
                "[verification]\nexempt = [\"docker.io/library/pause:3.9\"]",
                "verification.exempt",
            ),
            (
                "[policy.namespaces]\n\"Kube_System\" = \"/x.json\"",
                "policy.namespaces.Kube_System",
            ),
            ("[metrics]\nlisten = \"localhost:9\"", "metrics.listen"),
            (
                "[registry]\nmax_body_bytes_in_flight = 1048576",
                "registry.max_body_bytes_in_flight",
            ),
            (
                "[registry]\nmax_body_bytes_in_flight = 4294967296",
                "registry.max_body_bytes_in_flight",
            ),
            (
                "[verification]\nplatform_signatures = \"all\"",
                "verification.platform_signatures",
            ),
        ] {
            let e = validate(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        let e = validate("[server]\nsockett = \"/x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sockett"), "{e}");
        let e = validate("[cache]\nmax_entries = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_entries"), "{e}");
    }

    /// The shipped, documented file states exactly the defaults.
    #[test]
    fn shipped_config_is_the_defaults() {
        let shipped = validate(include_str!("../packaging/etc/notaryd/config.toml")).unwrap();
        assert_eq!(shipped, validate("").unwrap());
    }

    #[test]
    fn overrides_win() {
        let raw = RawConfig::parse("[server]\nsocket = \"/a.sock\"", Path::new("t")).unwrap();
        let c = Config::validate(
            raw,
            &Overrides {
                socket: Some("/b.sock".into()),
                ..Overrides::default()
            },
            Path::new("t"),
        )
        .unwrap();
        assert_eq!(c.socket, PathBuf::from("/b.sock"));
    }
}
