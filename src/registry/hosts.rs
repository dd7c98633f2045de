//! containerd's registry hosts directory (`/etc/containerd/certs.d` by default): which hosts
//! to contact for a registry, in which order, and with which TLS settings.
//!
//! The layout and the rules are containerd's (`core/remotes/docker/config/hosts.go` and
//! `config_unix.go`, and the CRI plugin's `hostDirFromRoots`):
//!
//! - For registry `host[:port]`, the first of `<root>/<host>_<port>_`, `<root>/<host:port>`
//!   and `<root>/_default` that **exists** is the host directory; with several roots (CRI's
//!   `config_path` is a `:`-separated list) the first root that has one wins. When none exists
//!   the registry is reached directly: `https://<host>/v2` (`https://registry-1.docker.io/v2`
//!   for `docker.io`) with every capability.
//! - In the host directory, `hosts.toml` lists mirrors as `[host."<url>"]` tables, tried in
//!   file order, then the top-level `server`. Without `server` the last host is the registry
//!   itself, as above, with the top-level TLS settings and headers.
//! - A host directory without `hosts.toml` (or with an empty one) uses docker's legacy layout:
//!   every `*.crt` is a CA file and every `*.cert` a client certificate, with its key in the
//!   `*.key` of the same name when there is one.
//!
//! [`HostsFile::parse`] is pure; [`load_hosts_from`] reads the directory.
//! Files named in the configuration (CA and client certificates) are not read here: the
//! returned paths are for the HTTP client.
//!
//! Deliberate differences from containerd:
//!
//! - **A hosts.toml that cannot be used is an error** naming the file, the key and the line.
//!   containerd logs it and silently falls back to the legacy certificate files, so a typo
//!   drops every mirror and every TLS setting.
//! - **Mirrors must be declared with `[host."<url>"]` table headers.** containerd finds the
//!   order by scanning table headers, so a mirror written as an inline table
//!   (`host = { "https://m" = {...} }`) or with dotted keys (`host."https://m".ca = ...`) is
//!   ignored by containerd; notaryd refuses the file so the operator notices.
//! - A mirror named by several headers (`[host."a"]`, `[host."b"]`, `[host."a".header]`) is
//!   listed once, at its first header; containerd lists it again.
//! - A `localhost` registry without configuration is `https://localhost[:port]` with normal
//!   certificate verification. containerd uses plain HTTP there for ports other than 443 (with
//!   an HTTPS attempt first and certificate checks off); notaryd uses plain HTTP only for hosts
//!   configured with `http://` or when the caller asks for it ([`load_hosts_from`]).
//! - URLs with user information, a query, a fragment or percent-escapes are refused (containerd
//!   drops the first three silently and decodes the last); a path of `/` counts as no path
//!   (containerd makes it `//v2`); a scheme other than `http` or `https` is refused.
//! - Header names must be HTTP tokens and values may not hold control characters; containerd
//!   leaves that to Go's HTTP client at request time.
//!
//! - The file is read as TOML 1.1 (the `toml` crate); containerd's go-toml reads TOML 1.0, so
//!   1.1-only syntax (newlines inside inline tables, `\e` and `\xHH` escapes) works here and
//!   makes containerd fall back to the legacy files.
//!
//! Unknown keys are ignored, as containerd ignores them (newer containerd versions add keys,
//! and the file is shared with containerd); [`HostsFile::ignored_keys`] lists them so the
//! caller can warn.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::reference::{self, is_valid_registry};

/// containerd's default hosts directory (the `config_path` documented for the CRI plugin).
pub const DEFAULT_HOSTS_DIR: &str = "/etc/containerd/certs.d";

/// The file read in a host directory.
pub(crate) const HOSTS_FILE: &str = "hosts.toml";

/// The host directory used for registries without one of their own.
pub const DEFAULT_DIR: &str = "_default";

/// Largest `hosts.toml` read, in bytes. containerd reads it without a limit; real files are a
/// few hundred bytes. 1 MiB is also the most a Kubernetes ConfigMap can hold, the usual way
/// such files reach a node.
pub const MAX_HOSTS_FILE_BYTES: usize = 1024 * 1024;

/// Most `[host]` entries (mirrors) in one file. containerd has no limit; real files list one
/// to three. Every request may fall through every mirror, so the list is bounded; 64 is an
/// arbitrary generous bound, not a number from containerd.
pub const MAX_HOST_ENTRIES: usize = 64;

/// Most directory entries looked at in a legacy host directory (`*.crt`, `*.cert`, `*.key`).
/// containerd has no limit; such directories hold a few files. The same bound as the trust
/// store's `MAX_FILES_PER_STORE`.
pub const MAX_CERT_DIR_ENTRIES: usize = 1000;

/// Longest part of a configured value quoted in an error.
const MAX_QUOTED: usize = 100;

/// How a host is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP: only for hosts configured with `http://`, or when the caller asks for it.
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What a host may be used for (containerd `HostCapabilities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// Fetch content by digest (blobs, manifests by digest).
    pub pull: bool,
    /// Resolve a tag to a digest.
    pub resolve: bool,
    /// Push content.
    pub push: bool,
}

impl Capabilities {
    /// Pull, resolve and push: the default for every host, configured or not.
    pub const ALL: Self = Self {
        pull: true,
        resolve: true,
        push: true,
    };
    const NONE: Self = Self {
        pull: false,
        resolve: false,
        push: false,
    };
}

/// A TLS client certificate and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPair {
    /// The PEM certificate file.
    pub cert: PathBuf,
    /// The PEM private key file; `None` when the key is in `cert` too.
    pub key: Option<PathBuf>,
}

/// One host to contact for a registry, with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryHost {
    /// `http` or `https`, as configured.
    pub scheme: Scheme,
    /// `host[:port]`, as configured (IPv6 addresses in brackets).
    pub host: String,
    /// The API root: `/v2`, or `<path>/v2` for a URL with a path, or the URL's path as is with
    /// `override_path = true` (possibly empty).
    pub path: String,
    /// What the host may be used for.
    pub capabilities: Capabilities,
    /// CA certificate files (PEM) trusted for this host, in addition to the system roots.
    pub ca_files: Vec<PathBuf>,
    /// Client certificates offered to this host.
    pub client_pairs: Vec<ClientPair>,
    /// `skip_verify`: `Some(true)` turns certificate verification off. `None` when not set.
    pub skip_verify: Option<bool>,
    /// Extra request headers (`header`), by name as written.
    pub headers: BTreeMap<String, Vec<String>>,
    /// `dial_timeout`: the most a TCP connect to this host may take.
    pub dial_timeout: Option<Duration>,
}

impl RegistryHost {
    /// The host to use for `registry` when nothing is configured: `https://<host>/v2`, with
    /// `registry-1.docker.io` for `docker.io`, and every capability. `scheme` applies to every
    /// registry but `docker.io`, which is always HTTPS (containerd's `DefaultScheme`).
    pub fn default_for(registry: &str, scheme: Scheme) -> Self {
        let scheme = if registry == reference::DOCKER_HUB {
            Scheme::Https
        } else {
            scheme
        };
        Self::new(
            Endpoint {
                scheme,
                host: reference::api_host(registry).to_owned(),
                path: "/v2".to_owned(),
            },
            HostSettings::default(),
        )
    }

    /// Whether the certificate check is off for this host.
    pub fn insecure_skip_verify(&self) -> bool {
        self.skip_verify == Some(true)
    }

    /// Whether containerd would try HTTPS first for this host: it is configured `http://`,
    /// on a port other than 80, with TLS settings (`ca`, `client` or `skip_verify`). containerd
    /// then uses HTTPS and falls back to plain HTTP only when the TLS handshake fails.
    pub fn https_first(&self) -> bool {
        self.scheme == Scheme::Http
            && (!self.ca_files.is_empty()
                || !self.client_pairs.is_empty()
                || self.skip_verify.is_some())
            && port_of(&self.host) != Some("80")
    }

    /// The base URL of the API: `scheme://host` + `path`.
    pub fn base_url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.host, self.path)
    }

    fn new(endpoint: Endpoint, settings: HostSettings) -> Self {
        Self {
            scheme: endpoint.scheme,
            host: endpoint.host,
            path: endpoint.path,
            capabilities: settings.capabilities,
            ca_files: settings.ca_files,
            client_pairs: settings.client_pairs,
            skip_verify: settings.skip_verify,
            headers: settings.headers,
            dial_timeout: settings.dial_timeout,
        }
    }
}

/// Where a host is: the `server` value or a `[host."<url>"]` key, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`; `https` when the URL has no scheme.
    pub scheme: Scheme,
    /// `host[:port]`.
    pub host: String,
    /// The API root (see [`RegistryHost::path`]).
    pub path: String,
}

/// The settings of one entry, apart from where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSettings {
    /// `capabilities`; every capability when absent or empty.
    pub capabilities: Capabilities,
    /// `ca`, resolved against the host directory.
    pub ca_files: Vec<PathBuf>,
    /// `client`, resolved against the host directory.
    pub client_pairs: Vec<ClientPair>,
    /// `skip_verify`.
    pub skip_verify: Option<bool>,
    /// `header`.
    pub headers: BTreeMap<String, Vec<String>>,
    /// `dial_timeout`.
    pub dial_timeout: Option<Duration>,
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            capabilities: Capabilities::ALL,
            ca_files: Vec::new(),
            client_pairs: Vec::new(),
            skip_verify: None,
            headers: BTreeMap::new(),
            dial_timeout: None,
        }
    }
}

/// A parsed `hosts.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostsFile {
    /// The `[host."<url>"]` entries, in file order.
    pub mirrors: Vec<RegistryHost>,
    /// The top-level `server`, when there is one.
    pub server: Option<Endpoint>,
    /// The top-level settings: the server's, or those of the registry itself when there is no
    /// `server`.
    pub server_settings: HostSettings,
    /// Keys that were ignored because neither containerd nor notaryd knows them, as dotted
    /// paths (`host."https://m".retries`).
    pub ignored_keys: Vec<String>,
}

/// Why the hosts configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostsError {
    /// A file or directory could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A path that must be a directory (a host directory) or a regular file (`hosts.toml`) is
    /// something else. Only regular files are read: a FIFO would block for ever.
    #[error("{}: not a {expected}", .path.display())]
    NotA {
        /// The path.
        path: PathBuf,
        /// `directory` or `regular file`.
        expected: &'static str,
    },
    /// `hosts.toml` is larger than [`MAX_HOSTS_FILE_BYTES`].
    #[error("{}: larger than the limit of {max} bytes", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// `hosts.toml` is not UTF-8, which TOML requires.
    #[error("{}: not UTF-8 text", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// `hosts.toml` is not TOML (or nests deeper than the TOML parser's recursion limit).
    #[error("{}: invalid TOML {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where (`at line L, column C: `, when the parser knows) and what is wrong.
        message: String,
    },
    /// A key has a value of the wrong type or an invalid value.
    #[error("{}: line {line}: {key}: {reason}", .path.display())]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// The key as a dotted path (`host."https://m".ca`).
        key: String,
        /// 1-based line of the value.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// More `[host]` entries than [`MAX_HOST_ENTRIES`].
    #[error("{}: {count} [host] entries, more than the limit of {max}", .path.display())]
    TooManyHosts {
        /// The file.
        path: PathBuf,
        /// How many there are.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A legacy host directory has more entries than [`MAX_CERT_DIR_ENTRIES`].
    #[error("{}: more than {max} directory entries", .dir.display())]
    TooManyFiles {
        /// The directory.
        dir: PathBuf,
        /// The limit.
        max: usize,
    },
    /// The registry name cannot name a host directory.
    #[error("registry {registry:?} is not a valid host[:port]")]
    InvalidRegistry {
        /// The name given (at most 100 characters of it).
        registry: String,
    },
}

/// The keys of an entry that notaryd understands (containerd's `hostFileConfig`).
const SETTINGS_KEYS: [&str; 7] = [
    "capabilities",
    "ca",
    "client",
    "skip_verify",
    "header",
    "override_path",
    "dial_timeout",
];

impl HostsFile {
    /// Parses the text of `<host_dir>/hosts.toml`. Relative `ca` and `client` paths are
    /// resolved against `host_dir`; errors name `<host_dir>/hosts.toml`.
    pub fn parse(text: &str, host_dir: &Path) -> Result<Self, HostsError> {
        let file = host_dir.join(HOSTS_FILE);
        if text.len() > MAX_HOSTS_FILE_BYTES {
            return Err(HostsError::TooLarge {
                path: file,
                max: MAX_HOSTS_FILE_BYTES,
            });
        }
        let doc = DeTable::parse(text).map_err(|e| {
            // The message only: toml's Display would quote the offending line, which may hold
            // a header value such as a token.
            let message = match e.span() {
                Some(span) => {
                    let (line, column) = line_and_column(text, span.start);
                    format!("at line {line}, column {column}: {}", e.message())
                }
                None => format!(": {}", e.message()),
            };
            HostsError::Syntax {
                path: file.clone(),
                message,
            }
        })?;
        let mut cx = Cx {
            file,
            text,
            host_dir,
            ignored: Vec::new(),
        };
        let root = doc.get_ref();

        let mut server = None;
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "server" => {
                    let url = cx.string(value, "server")?;
                    let override_path = match root.get("override_path") {
                        Some(v) => cx.bool(v, "override_path")?,
                        None => false,
                    };
                    server = Some(
                        parse_endpoint(url, override_path)
                            .map_err(|reason| cx.invalid(value, "server".to_owned(), reason))?,
                    );
                }
                "host" => {}
                k if SETTINGS_KEYS.contains(&k) => {}
                other => cx.ignored.push(toml_key(other)),
            }
        }
        let server_settings = cx.settings(root, "")?;

        let mut mirrors = Vec::new();
        if let Some(hosts) = root.get("host") {
            let DeValue::Table(table) = hosts.get_ref() else {
                return Err(cx.invalid(
                    hosts,
                    "host".to_owned(),
                    format!("expected a table, found {}", hosts.get_ref().type_str()),
                ));
            };
            let declared = header_hosts(text);
            if table.len() > MAX_HOST_ENTRIES {
                return Err(HostsError::TooManyHosts {
                    path: cx.file,
                    count: table.len(),
                    max: MAX_HOST_ENTRIES,
                });
            }
            for (key, value) in table.iter() {
                let name: &str = key.get_ref();
                if !matches!(value.get_ref(), DeValue::Table(_)) {
                    return Err(cx.invalid(
                        value,
                        host_key(name, ""),
                        format!("expected a table, found {}", value.get_ref().type_str()),
                    ));
                }
                if !declared.iter().any(|d| d == name) {
                    return Err(cx.invalid(
                        value,
                        host_key(name, ""),
                        "a mirror must be declared with a [host.\"<url>\"] table header; \
                         containerd ignores mirrors written as inline tables or dotted keys"
                            .to_owned(),
                    ));
                }
            }
            for name in &declared {
                let Some(value) = table.get(name.as_str()) else {
                    continue;
                };
                let DeValue::Table(entry) = value.get_ref() else {
                    return Err(cx.invalid(
                        value,
                        host_key(name, ""),
                        format!("expected a table, found {}", value.get_ref().type_str()),
                    ));
                };
                let prefix = host_key(name, "");
                for (key, _) in entry.iter() {
                    let k: &str = key.get_ref();
                    if !SETTINGS_KEYS.contains(&k) {
                        cx.ignored.push(format!("{prefix}.{}", toml_key(k)));
                    }
                }
                let override_path = match entry.get("override_path") {
                    Some(v) => cx.bool(v, &format!("{prefix}.override_path"))?,
                    None => false,
                };
                let endpoint = parse_endpoint(name, override_path)
                    .map_err(|reason| cx.invalid(value, prefix.clone(), reason))?;
                let settings = cx.settings(entry, &prefix)?;
                mirrors.push(RegistryHost::new(endpoint, settings));
            }
        }

        Ok(Self {
            mirrors,
            server,
            server_settings,
            ignored_keys: cx.ignored,
        })
    }

    /// The hosts to try for `registry`, in order: the mirrors, then the server. Without a
    /// `server`, the last host is the registry itself (see [`RegistryHost::default_for`]) with
    /// the top-level settings, but always with every capability and the `/v2` path, as in
    /// containerd.
    pub fn hosts(&self, registry: &str, default_scheme: Scheme) -> Vec<RegistryHost> {
        let mut hosts = self.mirrors.clone();
        hosts.push(match &self.server {
            Some(endpoint) => RegistryHost::new(endpoint.clone(), self.server_settings.clone()),
            None => {
                let mut host = RegistryHost::default_for(registry, default_scheme);
                let settings = self.server_settings.clone();
                host.ca_files = settings.ca_files;
                host.client_pairs = settings.client_pairs;
                host.skip_verify = settings.skip_verify;
                host.headers = settings.headers;
                host.dial_timeout = settings.dial_timeout;
                host
            }
        });
        hosts
    }
}

/// Parse context: where errors point and what was ignored.
struct Cx<'a> {
    file: PathBuf,
    text: &'a str,
    host_dir: &'a Path,
    ignored: Vec<String>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Cx<'_> {
    fn invalid(&self, value: &Value<'_>, key: String, reason: String) -> HostsError {
        HostsError::InvalidValue {
            path: self.file.clone(),
            key,
            line: line_and_column(self.text, value.span().start).0,
            reason,
        }
    }

    fn wrong_type(&self, value: &Value<'_>, key: &str, expected: &str) -> HostsError {
        self.invalid(
            value,
            key.to_owned(),
            format!("expected {expected}, found {}", value.get_ref().type_str()),
        )
    }

    fn string<'v>(&self, value: &'v Value<'_>, key: &str) -> Result<&'v str, HostsError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s),
            _ => Err(self.wrong_type(value, key, "a string")),
        }
    }

    fn bool(&self, value: &Value<'_>, key: &str) -> Result<bool, HostsError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.wrong_type(value, key, "a boolean")),
        }
    }

    fn path(&self, value: &Value<'_>, key: &str) -> Result<PathBuf, HostsError> {
        let s = self.string(value, key)?;
        if s.is_empty() || s.contains('\0') {
            return Err(self.invalid(value, key.to_owned(), "expected a file path".to_owned()));
        }
        // Path::join keeps an absolute path as is, like containerd's makeAbsPath.
        Ok(self.host_dir.join(s))
    }

    /// The settings keys of one entry (`prefix` is `""` for the top level).
    fn settings(&self, table: &DeTable<'_>, prefix: &str) -> Result<HostSettings, HostsError> {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        let mut s = HostSettings::default();

        if let Some(v) = table.get("capabilities") {
            let k = key("capabilities");
            let DeValue::Array(items) = v.get_ref() else {
                return Err(self.wrong_type(v, &k, "an array of strings"));
            };
            if !items.is_empty() {
                s.capabilities = Capabilities::NONE;
            }
            for item in items.iter() {
                match self.string(item, &k)?.to_ascii_lowercase().as_str() {
                    "pull" => s.capabilities.pull = true,
                    "resolve" => s.capabilities.resolve = true,
                    "push" => s.capabilities.push = true,
                    other => {
                        return Err(self.invalid(
                            item,
                            k,
                            format!(
                                "unknown capability {:?} (want pull, resolve or push)",
                                quote(other)
                            ),
                        ));
                    }
                }
            }
        }

        if let Some(v) = table.get("ca") {
            let k = key("ca");
            s.ca_files = match v.get_ref() {
                DeValue::String(_) => vec![self.path(v, &k)?],
                DeValue::Array(items) => items
                    .iter()
                    .map(|i| self.path(i, &k))
                    .collect::<Result<_, _>>()?,
                _ => return Err(self.wrong_type(v, &k, "a path or an array of paths")),
            };
        }

        if let Some(v) = table.get("client") {
            let k = key("client");
            let expected = "a path, or an array of paths and [cert, key] pairs";
            match v.get_ref() {
                DeValue::String(_) => s.client_pairs.push(ClientPair {
                    cert: self.path(v, &k)?,
                    key: None,
                }),
                DeValue::Array(items) => {
                    for item in items.iter() {
                        match item.get_ref() {
                            DeValue::String(_) => s.client_pairs.push(ClientPair {
                                cert: self.path(item, &k)?,
                                key: None,
                            }),
                            DeValue::Array(pair) if pair.len() == 2 => {
                                s.client_pairs.push(ClientPair {
                                    cert: self.path(&pair[0], &k)?,
                                    key: Some(self.path(&pair[1], &k)?),
                                });
                            }
                            DeValue::Array(_) => {
                                return Err(self.invalid(
                                    item,
                                    k,
                                    "a [cert, key] pair must have exactly two paths".to_owned(),
                                ));
                            }
                            _ => return Err(self.wrong_type(item, &k, expected)),
                        }
                    }
                }
                _ => return Err(self.wrong_type(v, &k, expected)),
            }
        }

        if let Some(v) = table.get("skip_verify") {
            s.skip_verify = Some(self.bool(v, &key("skip_verify"))?);
        }

        if let Some(v) = table.get("header") {
            let k = key("header");
            let DeValue::Table(headers) = v.get_ref() else {
                return Err(self.wrong_type(v, &k, "a table"));
            };
            for (name, value) in headers.iter() {
                let name: &str = name.get_ref();
                let hk = format!("{k}.{}", toml_key(name));
                if !is_header_name(name) {
                    return Err(self.invalid(value, hk, "not a valid HTTP header name".to_owned()));
                }
                let values: Vec<String> = match value.get_ref() {
                    DeValue::String(_) => vec![self.header_value(value, &hk)?],
                    DeValue::Array(items) => items
                        .iter()
                        .map(|i| self.header_value(i, &hk))
                        .collect::<Result<_, _>>()?,
                    _ => return Err(self.wrong_type(value, &hk, "a string or array of strings")),
                };
                s.headers.insert(name.to_owned(), values);
            }
        }

        if let Some(v) = table.get("dial_timeout") {
            let k = key("dial_timeout");
            let text = self.string(v, &k)?;
            s.dial_timeout = Some(parse_go_duration(text).map_err(|reason| {
                self.invalid(
                    v,
                    k,
                    format!("{:?} is not a duration like \"5s\": {reason}", quote(text)),
                )
            })?);
        }

        Ok(s)
    }

    fn header_value(&self, value: &Value<'_>, key: &str) -> Result<String, HostsError> {
        let s = self.string(value, key)?;
        // Values may hold secrets (Authorization), so they are never quoted in errors.
        if s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(self.invalid(
                value,
                key.to_owned(),
                "header values may not contain control characters".to_owned(),
            ));
        }
        Ok(s.to_owned())
    }
}

/// The names of `[host."<name>"...]` table headers, in file order, each once. This is how
/// containerd orders mirrors (`getSortedHosts`): TOML tables are unordered, so the order comes
/// from a scan of the headers, not from the parsed table. The text must already have parsed.
fn header_hosts(text: &str) -> Vec<String> {
    use toml_parser::decoder::Encoding;
    use toml_parser::parser::EventReceiver;
    use toml_parser::{ErrorSink, Raw, Source, Span};

    struct Headers<'s> {
        text: &'s str,
        in_header: bool,
        parts: Vec<String>,
        hosts: Vec<String>,
    }
    impl<'s> EventReceiver for Headers<'s> {
        fn std_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
            self.in_header = true;
            self.parts.clear();
        }
        fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
            self.in_header = false;
            if self.parts.len() >= 2
                && self.parts[0] == "host"
                && !self.hosts.contains(&self.parts[1])
            {
                self.hosts.push(self.parts[1].clone());
            }
        }
        fn simple_key(&mut self, span: Span, kind: Option<Encoding>, error: &mut dyn ErrorSink) {
            if !self.in_header || self.parts.len() >= 2 {
                return;
            }
            let Some(raw) = self.text.get(span.start()..span.end()) else {
                return;
            };
            let mut key = String::new();
            Raw::new_unchecked(raw, kind, span).decode_key(&mut key, error);
            self.parts.push(key);
        }
    }

    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut headers = Headers {
        text,
        in_header: false,
        parts: Vec::new(),
        hosts: Vec::new(),
    };
    toml_parser::parser::parse_document(&tokens, &mut headers, &mut ());
    headers.hosts
}

/// Parses a `server` value or `[host]` key the way containerd's `parseHostConfig` does: no
/// scheme means `https://`; the path is cleaned and gets `/v2` unless it ends with `/v2` or
/// `override_path` is set.
fn parse_endpoint(url: &str, override_path: bool) -> Result<Endpoint, String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        (Scheme::Https, &url[8..])
    } else if lower.starts_with("http://") {
        (Scheme::Http, &url[7..])
    } else if url.contains("://") {
        return Err("only http:// and https:// URLs are supported".to_owned());
    } else {
        (Scheme::Https, url)
    };
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not supported".to_owned());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("user information in the URL is not supported; \
                    put credentials in docker's config.json"
            .to_owned());
    }
    if !is_valid_registry(authority)
        || port_of(authority).is_some_and(|p| p.parse::<u16>().is_err())
    {
        return Err(format!("{:?} is not a valid host[:port]", quote(authority)));
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b))
    {
        return Err("the path may hold only unreserved characters and '/' \
                    (no spaces or percent-escapes)"
            .to_owned());
    }
    let mut path = clean_path(path);
    if !override_path && !path.ends_with("/v2") {
        path.push_str("/v2");
    }
    Ok(Endpoint {
        scheme,
        host: authority.to_owned(),
        path,
    })
}

/// Go's `path.Clean` for an absolute path, except that the root is the empty string.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// The port of `host[:port]`, if it has one.
fn port_of(host: &str) -> Option<&str> {
    let after_addr = match host.rfind(']') {
        Some(i) => &host[i + 1..],
        None => host,
    };
    after_addr.rsplit_once(':').map(|(_, p)| p)
}

/// Parses a Go `time.ParseDuration` string (`300ms`, `1m30s`, `1.5h`, `0`). Negative durations
/// are refused.
fn parse_go_duration(text: &str) -> Result<Duration, &'static str> {
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.starts_with('-') {
        return Err("it is negative");
    }
    let mut rest = s;
    let mut total: u128 = 0;
    const MAX_NANOS: u128 = u64::MAX as u128;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or("a number is missing its unit")?;
        let (number, after) = rest.split_at(digits_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            _ => return Err("unknown unit (want ns, us, ms, s, m or h)"),
        };
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err("malformed number");
        }
        let mut value: u128 = 0;
        for d in whole.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(d - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or("too large")?;
        }
        let mut nanos = value.checked_mul(unit_nanos).ok_or("too large")?;
        let mut scale = unit_nanos;
        for d in frac.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            nanos += u128::from(d - b'0') * scale;
        }
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or("too large")?;
        rest = next;
    }
    let total = u64::try_from(total).map_err(|_| "too large")?;
    Ok(Duration::from_nanos(total))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_and_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A key as it would be written in TOML: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        key.to_owned()
    } else {
        format!("{:?}", quote(&redact_userinfo(key)))
    }
}

fn host_key(name: &str, sub: &str) -> String {
    let base = format!("host.{}", toml_key(name));
    if sub.is_empty() {
        base
    } else {
        format!("{base}.{sub}")
    }
}

/// `scheme://user:pass@host/...` with the user information replaced, for error messages.
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let redacted = format!("<redacted>{}", &rest[at..]);
            match scheme {
                Some(s) => format!("{s}://{redacted}"),
                None => redacted,
            }
        }
        None => url.to_owned(),
    }
}

fn quote(s: &str) -> String {
    s.chars().take(MAX_QUOTED).collect()
}

/// The hosts to contact for `registry`, from the hosts directory `hosts_dir`, with HTTPS for
/// registries without configuration. See [`load_hosts_from`].
#[cfg(test)]
fn load_hosts(hosts_dir: &Path, registry: &str) -> Result<Vec<RegistryHost>, HostsError> {
    load_hosts_from(&[hosts_dir], registry, Scheme::Https)
}

/// The hosts to contact for `registry` (a reference's registry, `host[:port]`), in order:
/// the mirrors of its hosts.toml, then its server.
///
/// `roots` are searched in order, as containerd's CRI plugin searches the directories of
/// `config_path`; the first root with a host directory for `registry` (including
/// `_default`) decides. With none, the result is the registry itself. `default_scheme` is the
/// scheme used when the registry itself is contacted without a configured `server`
/// (`Scheme::Http` for `--plain-http`); `docker.io` is always HTTPS.
pub fn load_hosts_from(
    roots: &[&Path],
    registry: &str,
    default_scheme: Scheme,
) -> Result<Vec<RegistryHost>, HostsError> {
    if !is_valid_registry(registry) {
        return Err(HostsError::InvalidRegistry {
            registry: quote(registry),
        });
    }
    let Some(dir) = find_host_dir(roots, registry)? else {
        return Ok(vec![RegistryHost::default_for(registry, default_scheme)]);
    };
    match read_hosts_file(&dir)? {
        Some(text) => Ok(HostsFile::parse(&text, &dir)?.hosts(registry, default_scheme)),
        None => {
            let mut host = RegistryHost::default_for(registry, default_scheme);
            let (ca_files, client_pairs) = load_cert_files(&dir)?;
            host.ca_files = ca_files;
            host.client_pairs = client_pairs;
            Ok(vec![host])
        }
    }
}

/// The candidate host directories for `registry` under `root`, in containerd's order
/// (`hostPaths` in `config_unix.go`).
fn host_paths(root: &Path, registry: &str) -> Vec<PathBuf> {
    let mut paths = Vec::with_capacity(3);
    if let Some(port) = port_of(registry) {
        // "host:port" is also looked up as "host_port_", a name that is valid on every
        // filesystem; containerd looks that one up first.
        let host = &registry[..registry.len() - port.len() - 1];
        paths.push(root.join(format!("{host}_{port}_")));
    }
    paths.push(root.join(registry));
    paths.push(root.join(DEFAULT_DIR));
    paths
}

fn find_host_dir(roots: &[&Path], registry: &str) -> Result<Option<PathBuf>, HostsError> {
    for root in roots {
        for candidate in host_paths(root, registry) {
            match fs::metadata(&candidate) {
                Ok(meta) if meta.is_dir() => return Ok(Some(candidate)),
                Ok(_) => {
                    return Err(HostsError::NotA {
                        path: candidate,
                        expected: "directory",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(HostsError::Io {
                        path: candidate,
                        source,
                    });
                }
            }
        }
    }
    Ok(None)
}

/// Reads `<dir>/hosts.toml`: `None` when it does not exist or is empty (containerd then uses
/// the legacy certificate files).
fn read_hosts_file(dir: &Path) -> Result<Option<String>, HostsError> {
    let path = dir.join(HOSTS_FILE);
    let io_err = |source| HostsError::Io {
        path: path.clone(),
        source,
    };
    match fs::metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(HostsError::NotA {
                path,
                expected: "regular file",
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    }
    let file = fs::File::open(&path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_HOSTS_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > MAX_HOSTS_FILE_BYTES {
        return Err(HostsError::TooLarge {
            path,
            max: MAX_HOSTS_FILE_BYTES,
        });
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| HostsError::NotUtf8 { path })
}

/// docker's legacy certificate layout in a host directory (containerd `loadCertFiles`):
/// `*.crt` are CA files; `*.cert` are client certificates, each with the `*.key` of the same
/// name when it exists (otherwise the key must be in the `.cert` file). Sorted by file name.
fn load_cert_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<ClientPair>), HostsError> {
    let io_err = |path: &Path, source| HostsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        if names.len() == MAX_CERT_DIR_ENTRIES {
            return Err(HostsError::TooManyFiles {
                dir: dir.to_owned(),
                max: MAX_CERT_DIR_ENTRIES,
            });
        }
        let entry = entry.map_err(|e| io_err(dir, e))?;
        if entry.file_type().map_err(|e| io_err(dir, e))?.is_dir() {
            continue;
        }
        names.push(entry.file_name());
    }
    names.sort();
    let mut ca_files = Vec::new();
    let mut client_pairs = Vec::new();
    for name in names {
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".crt") {
            ca_files.push(dir.join(name));
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = dir.join(format!("{stem}.key"));
            let key = match fs::metadata(&key) {
                Ok(_) => Some(key),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(io_err(&key, e)),
            };
            client_pairs.push(ClientPair {
                cert: dir.join(name),
                key,
            });
        }
    }
    Ok((ca_files, client_pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HostsFile {
        HostsFile::parse(text, Path::new("/etc/containerd/certs.d/r.example"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> HostsError {
        match HostsFile::parse(text, Path::new("/d")) {
            Ok(f) => panic!("accepted: {f:?}"),
            Err(e) => e,
        }
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn mirrors_in_file_order_then_server() {
        // Keys in an order that sorting would change: the file order must win.
        let f = parse(
            r#"
server = "https://r.example"

[host."https://zz-mirror.example"]
  capabilities = ["pull", "resolve"]

[host."http://aa-mirror.example:5000"]
  capabilities = ["pull"]

[host."https://mm-mirror.example/prefix"]

[host."https://zz-mirror.example".header]
  x-extra = "1"
"#,
        );
        let hosts = f.hosts("r.example", Scheme::Https);
        let urls: Vec<_> = hosts.iter().map(RegistryHost::base_url).collect();
        assert_eq!(
            urls,
            [
                "https://zz-mirror.example/v2",
                "http://aa-mirror.example:5000/v2",
                "https://mm-mirror.example/prefix/v2",
                "https://r.example/v2",
            ]
        );
        assert_eq!(
            hosts[0].capabilities,
            Capabilities {
                pull: true,
                resolve: true,
                push: false
            }
        );
        assert_eq!(hosts[0].headers["x-extra"], ["1"]);
        assert_eq!(
            hosts[1].capabilities,
            Capabilities {
                pull: true,
                resolve: false,
                push: false
            }
        );
        assert_eq!(hosts[2].capabilities, Capabilities::ALL);
        assert_eq!(hosts[3].capabilities, Capabilities::ALL);
        assert!(f.ignored_keys.is_empty());
    }

    #[test]
    fn many_mirrors_keep_their_order() {
        // 40 mirrors with names whose sorted order is the reverse of the file order.
        let mut text = String::new();
        for i in (0..40).rev() {
            text.push_str(&format!("[host.\"https://m{i:02}.example\"]\n"));
        }
        let hosts = parse(&text).hosts("r.example", Scheme::Https);
        for (n, host) in hosts.iter().take(40).enumerate() {
            assert_eq!(host.host, format!("m{:02}.example", 39 - n));
        }
        assert_eq!(hosts[40].host, "r.example");
    }

    #[test]
    fn server_absent_means_the_registry_itself_with_every_capability() {
        let f = parse(
            r#"
capabilities = ["pull"]
ca = "ca.pem"
skip_verify = false
header = { "X-Top" = ["a", "b"] }
[host."mirror.example"]
"#,
        );
        assert_eq!(f.server, None);
        let hosts = f.hosts("docker.io", Scheme::Http);
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].base_url(), "https://mirror.example/v2");
        let last = &hosts[1];
        // docker.io is always HTTPS, on registry-1.docker.io.
        assert_eq!(last.base_url(), "https://registry-1.docker.io/v2");
        assert_eq!(last.capabilities, Capabilities::ALL);
        assert_eq!(
            last.ca_files,
            [PathBuf::from("/etc/containerd/certs.d/r.example/ca.pem")]
        );
        assert_eq!(last.skip_verify, Some(false));
        assert_eq!(last.headers["X-Top"], ["a", "b"]);

        let hosts = f.hosts("localhost:5000", Scheme::Http);
        assert_eq!(hosts[1].base_url(), "http://localhost:5000/v2");
        let hosts = f.hosts("localhost:5000", Scheme::Https);
        assert_eq!(hosts[1].base_url(), "https://localhost:5000/v2");
    }

    #[test]
    fn server_settings_and_capabilities() {
        let f = parse(
            r#"
server = "registry.example:8443"
capabilities = ["Resolve", "PULL"]
skip_verify = true
dial_timeout = "1m30.5s"
"#,
        );
        let hosts = f.hosts("registry.example:8443", Scheme::Https);
        assert_eq!(hosts.len(), 1);
        let h = &hosts[0];
        assert_eq!(h.base_url(), "https://registry.example:8443/v2");
        assert_eq!(
            h.capabilities,
            Capabilities {
                pull: true,
                resolve: true,
                push: false
            }
        );
        assert!(h.insecure_skip_verify());
        assert_eq!(h.dial_timeout, Some(Duration::from_millis(90_500)));
        // An empty list means every capability, as in containerd.
        let f = parse("server = \"https://r.example\"\ncapabilities = []\n");
        assert_eq!(f.server_settings.capabilities, Capabilities::ALL);
    }

    #[test]
    fn http_and_https() {
        let f = parse(
            r#"
server = "http://plain.example:5000"
[host."https://tls.example"]
[host."tls-by-default.example"]
[host."HTTP://upper.example"]
[host."http://plain-ca.example:5000"]
  ca = "/abs/ca.pem"
[host."http://plain-ca.example:80"]
  ca = "/abs/ca.pem"
"#,
        );
        let h = f.hosts("plain.example:5000", Scheme::Https);
        let schemes: Vec<_> = h.iter().map(|h| h.scheme).collect();
        assert_eq!(
            schemes,
            [
                Scheme::Https,
                Scheme::Https,
                Scheme::Http,
                Scheme::Http,
                Scheme::Http,
                Scheme::Http
            ]
        );
        assert!(!h[2].https_first());
        assert!(h[3].https_first(), "http + TLS settings on port 5000");
        assert!(!h[4].https_first(), "port 80 is never tried with TLS");
        assert!(!h[5].https_first());
    }

    #[test]
    fn paths_and_override_path() {
        let f = parse(
            r#"
[host."https://a.example/v2"]
[host."https://b.example/prefix/"]
[host."https://c.example/x/./y/../z"]
[host."https://d.example/"]
[host."https://e.example/custom/api"]
  override_path = true
[host."https://f.example"]
  override_path = true
"#,
        );
        let paths: Vec<_> = f.mirrors.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/v2", "/prefix/v2", "/x/z/v2", "/v2", "/custom/api", ""]
        );
    }

    #[test]
    fn ca_and_client_paths() {
        let f = parse(
            r#"
[host."https://m.example"]
  ca = ["ca1.pem", "/etc/ssl/ca2.pem"]
  client = ["both.pem", ["sub/c.pem", "sub/c.key"], "/abs/d.pem"]
[host."https://n.example"]
  ca = "only.pem"
  client = "single.pem"
[host."https://o.example"]
  client = [["/x/c", "/x/k"]]
"#,
        );
        let d = Path::new("/etc/containerd/certs.d/r.example");
        let m = &f.mirrors[0];
        assert_eq!(
            m.ca_files,
            [d.join("ca1.pem"), PathBuf::from("/etc/ssl/ca2.pem")]
        );
        assert_eq!(
            m.client_pairs,
            [
                ClientPair {
                    cert: d.join("both.pem"),
                    key: None
                },
                ClientPair {
                    cert: d.join("sub/c.pem"),
                    key: Some(d.join("sub/c.key"))
                },
                ClientPair {
                    cert: PathBuf::from("/abs/d.pem"),
                    key: None
                },
            ]
        );
        assert_eq!(f.mirrors[1].ca_files, [d.join("only.pem")]);
        assert_eq!(f.mirrors[1].client_pairs[0].cert, d.join("single.pem"));
        assert_eq!(
            f.mirrors[2].client_pairs[0].key,
            Some(PathBuf::from("/x/k"))
        );
    }

    #[test]
    fn unknown_keys_are_ignored_and_listed() {
        let f = parse(
            r#"
server = "https://r.example"
future_option = 1
[host."https://m.example"]
  retries = 3
  [host."https://m.example".nested]
  x = 1
"#,
        );
        let mut got = f.ignored_keys.clone();
        got.sort();
        assert_eq!(
            got,
            [
                "future_option",
                "host.\"https://m.example\".nested",
                "host.\"https://m.example\".retries"
            ]
        );
    }

    #[test]
    fn bad_files_are_errors_naming_file_key_and_line() {
        let cases: &[(&str, &str, &str)] = &[
            ("server = \n", "invalid TOML at line 1", ""),
            (
                "[host.\"https://m\"]\nheader = { \"Authorization\" = \"Bearer hunter2\" \n",
                "invalid TOML at line 2",
                "hunter2",
            ),
            ("[host.\"a\"\n", "invalid TOML at line 1", ""),
            ("x = 1\nx = 2\n", "invalid TOML at line 2", ""),
            (
                "server = 5\n",
                "line 1: server: expected a string, found integer",
                "",
            ),
            (
                "server = \"https://r\"\nskip_verify = \"yes\"\n",
                "line 2: skip_verify: expected a boolean",
                "",
            ),
            (
                "[host.\"https://m\"]\ncapabilities = [\"pull\", \"fetch\"]\n",
                "line 2: host.\"https://m\".capabilities: unknown capability \"fetch\"",
                "",
            ),
            (
                "[host.\"https://m\"]\ncapabilities = \"pull\"\n",
                "host.\"https://m\".capabilities: expected an array of strings",
                "",
            ),
            (
                "[host.\"https://m\"]\nca = 1\n",
                "line 2: host.\"https://m\".ca: expected a path or an array of paths",
                "",
            ),
            (
                "[host.\"https://m\"]\nclient = [[\"a\", \"b\", \"c\"]]\n",
                "exactly two paths",
                "",
            ),
            (
                "[host.\"https://m\"]\nclient = [1]\n",
                "host.\"https://m\".client: expected a path, or an array",
                "",
            ),
            (
                "[host.\"https://m\"]\nca = \"\"\n",
                "expected a file path",
                "",
            ),
            (
                "[host.\"https://m\"]\nheader = { \"Bad Name\" = \"v\" }\n",
                "not a valid HTTP header name",
                "",
            ),
            (
                "[host.\"https://m\"]\nheader = { \"Authorization\" = \"secret\\nX: y\" }\n",
                "control characters",
                "secret",
            ),
            (
                "[host.\"https://m\"]\ndial_timeout = \"5 seconds\"\n",
                "dial_timeout: \"5 seconds\" is not a duration",
                "",
            ),
            ("[host.\"ftp://m\"]\n", "only http:// and https://", ""),
            (
                "[host.\"https://u:hunter2@m\"]\n",
                "user information",
                "hunter2",
            ),
            ("[host.\"https://m?x=1\"]\n", "query or fragment", ""),
            ("[host.\"https://m/a%2Fb\"]\n", "percent-escapes", ""),
            (
                "[host.\"https://bad_host\"]\n",
                "not a valid host[:port]",
                "",
            ),
            (
                "[host.\"https://m:99999\"]\n",
                "not a valid host[:port]",
                "",
            ),
            ("[host.\"\"]\n", "not a valid host[:port]", ""),
            ("host = 1\n", "line 1: host: expected a table", ""),
            (
                "[[host.\"https://m\"]]\n",
                "expected a table, found array",
                "",
            ),
            (
                "host = { \"https://m\" = { capabilities = [\"pull\"] } }\n",
                "must be declared with a [host.\"<url>\"] table header",
                "",
            ),
            (
                "[host]\n\"https://m\".capabilities = [\"pull\"]\n",
                "line 2: host.\"https://m\": a mirror must be declared",
                "",
            ),
        ];
        for (text, want, secret) in cases {
            let e = parse_err(text).to_string();
            assert!(e.starts_with("/d/hosts.toml: "), "{text:?}: {e}");
            assert!(e.contains(want), "{text:?}: want {want:?} in {e:?}");
            if !secret.is_empty() {
                assert!(!e.contains(secret), "{text:?}: error leaks a secret: {e}");
            }
        }
    }

    #[test]
    fn too_many_mirrors_and_oversized_text() {
        let mut text = String::new();
        for i in 0..=MAX_HOST_ENTRIES {
            text.push_str(&format!("[host.\"https://m{i}.example\"]\n"));
        }
        assert!(matches!(
            parse_err(&text),
            HostsError::TooManyHosts { count, .. } if count == MAX_HOST_ENTRIES + 1
        ));
        let big = format!("# {}\n", "x".repeat(MAX_HOSTS_FILE_BYTES));
        assert!(matches!(parse_err(&big), HostsError::TooLarge { .. }));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        for text in [
            format!("a = {}", "[".repeat(200_000)),
            format!("a = {}", "{ b = ".repeat(100_000)),
            format!("[{}a]\nx = 1\n", "a.".repeat(300_000)),
            format!("{}a = 1\n", "a.".repeat(300_000)),
        ] {
            let e = parse_err(&text).to_string();
            assert!(e.starts_with("/d/hosts.toml: invalid TOML"), "{e}");
            assert!(e.contains("recursion"), "{e}");
        }
    }

    #[test]
    fn repeated_headers_list_a_mirror_once() {
        let f = parse(
            r#"
[host."https://a.example"]
[host."https://b.example"]
[host."https://a.example".header]
  x = "1"
"#,
        );
        let names: Vec<_> = f.mirrors.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(names, ["a.example", "b.example"]);
        // A mirror declared only through a sub-table header counts, as in containerd.
        let f = parse("[host.\"https://c.example\".header]\nx = \"1\"\n");
        assert_eq!(f.mirrors.len(), 1);
        assert_eq!(f.mirrors[0].headers["x"], ["1"]);
    }

    #[test]
    fn go_durations() {
        let ok: &[(&str, u64)] = &[
            ("0", 0),
            ("5s", 5_000_000_000),
            ("300ms", 300_000_000),
            ("1.5h", 5_400_000_000_000),
            ("1m30s", 90_000_000_000),
            ("+2us", 2_000),
            ("2µs", 2_000),
            ("7ns", 7),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
        ];
        for (text, nanos) in ok {
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_nanos(*nanos)),
                "{text}"
            );
        }
        for bad in [
            "",
            "5",
            "s",
            "-1s",
            "1x",
            "1..5s",
            ".s",
            "99999999999999999999h",
            "1e3s",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_directory_lookup_order() {
        let root = Path::new("/r");
        assert_eq!(
            host_paths(root, "docker.io"),
            [PathBuf::from("/r/docker.io"), PathBuf::from("/r/_default")]
        );
        assert_eq!(
            host_paths(root, "localhost:5000"),
            [
                PathBuf::from("/r/localhost_5000_"),
                PathBuf::from("/r/localhost:5000"),
                PathBuf::from("/r/_default")
            ]
        );
        assert_eq!(
            host_paths(root, "[::1]:5000")[0],
            PathBuf::from("/r/[::1]_5000_")
        );
        assert_eq!(host_paths(root, "[::1]")[0], PathBuf::from("/r/[::1]"));
    }

    #[test]
    fn no_configuration_means_the_registry_itself() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = load_hosts(dir.path(), "docker.io").unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].base_url(), "https://registry-1.docker.io/v2");
        assert_eq!(hosts[0].capabilities, Capabilities::ALL);
        assert!(hosts[0].ca_files.is_empty());

        let hosts = load_hosts(dir.path(), "ghcr.io").unwrap();
        assert_eq!(hosts[0].base_url(), "https://ghcr.io/v2");

        let hosts = load_hosts_from(&[dir.path()], "localhost:5000", Scheme::Http).unwrap();
        assert_eq!(hosts[0].base_url(), "http://localhost:5000/v2");

        // A root that does not exist is the same as an empty one.
        let hosts = load_hosts(&dir.path().join("missing"), "ghcr.io").unwrap();
        assert_eq!(hosts[0].base_url(), "https://ghcr.io/v2");
    }

    #[test]
    fn host_dir_then_default_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("_default/hosts.toml"),
            "[host.\"https://default-mirror.example\"]\nca = \"ca.pem\"\n",
        );
        write(
            &root.join("ghcr.io/hosts.toml"),
            "server = \"https://ghcr.io\"\n[host.\"https://ghcr-mirror.example\"]\n",
        );

        let hosts = load_hosts(root, "ghcr.io").unwrap();
        let urls: Vec<_> = hosts.iter().map(RegistryHost::base_url).collect();
        assert_eq!(
            urls,
            ["https://ghcr-mirror.example/v2", "https://ghcr.io/v2"]
        );

        // Any other registry falls back to _default; its server is the registry itself and
        // relative paths resolve against _default.
        let hosts = load_hosts(root, "quay.io").unwrap();
        let urls: Vec<_> = hosts.iter().map(RegistryHost::base_url).collect();
        assert_eq!(
            urls,
            ["https://default-mirror.example/v2", "https://quay.io/v2"]
        );
        assert_eq!(hosts[0].ca_files, [root.join("_default/ca.pem")]);
    }

    #[test]
    fn port_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("r.example:5000/hosts.toml"),
            "server = \"https://colon.example\"\n",
        );
        let hosts = load_hosts(root, "r.example:5000").unwrap();
        assert_eq!(hosts[0].host, "colon.example");
        // The host_port_ form wins when both exist.
        write(
            &root.join("r.example_5000_/hosts.toml"),
            "server = \"https://underscore.example\"\n",
        );
        let hosts = load_hosts(root, "r.example:5000").unwrap();
        assert_eq!(hosts[0].host, "underscore.example");
    }

    #[test]
    fn first_root_with_a_directory_wins() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(
            &b.path().join("ghcr.io/hosts.toml"),
            "server = \"https://from-b.example\"\n",
        );
        let hosts = load_hosts_from(&[a.path(), b.path()], "ghcr.io", Scheme::Https).unwrap();
        assert_eq!(hosts[0].host, "from-b.example");
        // A _default in an earlier root is found before the registry's own directory in a
        // later root, as with containerd's hostDirFromRoots.
        write(
            &a.path().join("_default/hosts.toml"),
            "server = \"https://from-a-default.example\"\n",
        );
        let hosts = load_hosts_from(&[a.path(), b.path()], "ghcr.io", Scheme::Https).unwrap();
        assert_eq!(hosts[0].host, "from-a-default.example");
    }

    #[test]
    fn legacy_certificate_files() {
        let dir = tempfile::tempdir().unwrap();
        let host_dir = dir.path().join("r.example");
        for name in [
            "b.crt",
            "a.crt",
            "client.cert",
            "client.key",
            "lone.cert",
            "x.key",
            "notes",
        ] {
            write(&host_dir.join(name), "pem");
        }
        fs::create_dir_all(host_dir.join("sub.crt")).unwrap();
        let hosts = load_hosts(dir.path(), "r.example").unwrap();
        assert_eq!(hosts.len(), 1);
        let h = &hosts[0];
        assert_eq!(h.base_url(), "https://r.example/v2");
        assert_eq!(h.ca_files, [host_dir.join("a.crt"), host_dir.join("b.crt")]);
        assert_eq!(
            h.client_pairs,
            [
                ClientPair {
                    cert: host_dir.join("client.cert"),
                    key: Some(host_dir.join("client.key"))
                },
                ClientPair {
                    cert: host_dir.join("lone.cert"),
                    key: None
                },
            ]
        );
        // An empty hosts.toml is the same as none.
        write(&host_dir.join("hosts.toml"), "");
        assert_eq!(load_hosts(dir.path(), "r.example").unwrap(), hosts);
        // A host directory without hosts.toml stops the search: _default is not used.
        write(
            &dir.path().join("_default/hosts.toml"),
            "server = \"https://elsewhere.example\"\n",
        );
        assert_eq!(load_hosts(dir.path(), "r.example").unwrap(), hosts);
    }

    #[test]
    fn bad_or_oversized_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("r.example/hosts.toml"), "server = [\n");
        let e = load_hosts(root, "r.example").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: invalid TOML",
                root.join("r.example/hosts.toml").display()
            )),
            "{e}"
        );

        write(
            &root.join("big.example/hosts.toml"),
            &"#".repeat(MAX_HOSTS_FILE_BYTES + 1),
        );
        assert!(matches!(
            load_hosts(root, "big.example"),
            Err(HostsError::TooLarge { .. })
        ));
        // Exactly at the cap is read (and is a valid, all-comment file).
        write(
            &root.join("cap.example/hosts.toml"),
            &format!("#{}", "x".repeat(MAX_HOSTS_FILE_BYTES - 1)),
        );
        assert_eq!(load_hosts(root, "cap.example").unwrap().len(), 1);

        fs::create_dir_all(root.join("nonutf8.example")).unwrap();
        fs::write(root.join("nonutf8.example/hosts.toml"), b"# \xff\n").unwrap();
        assert!(matches!(
            load_hosts(root, "nonutf8.example"),
            Err(HostsError::NotUtf8 { .. })
        ));

        fs::create_dir_all(root.join("dir.example/hosts.toml")).unwrap();
        assert!(matches!(
            load_hosts(root, "dir.example"),
            Err(HostsError::NotA {
                expected: "regular file",
                ..
            })
        ));

        write(&root.join("file.example"), "not a directory");
        assert!(matches!(
            load_hosts(root, "file.example"),
            Err(HostsError::NotA {
                expected: "directory",
                ..
            })
        ));
    }

    #[test]
    fn registry_names_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["..", "../etc", "a/b", "", "_default/..", "a b"] {
            assert!(
                matches!(
                    load_hosts(dir.path(), bad),
                    Err(HostsError::InvalidRegistry { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn legacy_directory_entry_cap() {
        let dir = tempfile::tempdir().unwrap();
        let host_dir = dir.path().join("r.example");
        fs::create_dir_all(&host_dir).unwrap();
        for i in 0..=MAX_CERT_DIR_ENTRIES {
            fs::write(host_dir.join(format!("{i}.txt")), "").unwrap();
        }
        assert!(matches!(
            load_hosts(dir.path(), "r.example"),
            Err(HostsError::TooManyFiles { .. })
        ));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let pieces = [
            "[host.\"",
            "\"]\n",
            "https://",
            "m",
            ":",
            "/",
            "ca = ",
            "\"x\"",
            "[",
            "]",
            "\n",
            "client = ",
            "header = {",
            "}",
            "=",
            ",",
            "dial_timeout = \"",
            "1.5",
            "h",
            "server = ",
            "override_path = true\n",
            "'",
            "\\u00e9",
            "[[",
            "host",
        ];
        let mut text = String::new();
        fn walk(text: &mut String, pieces: &[&str], depth: usize) {
            let _ = HostsFile::parse(text, Path::new("/d"));
            if depth == 0 {
                return;
            }
            for p in pieces {
                let len = text.len();
                text.push_str(p);
                walk(text, pieces, depth - 1);
                text.truncate(len);
            }
        }
        walk(&mut text, &pieces, 3);
    }
}
