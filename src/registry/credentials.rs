//! Where registry credentials come from: docker's `config.json` (inline `auths`, or a
//! credential helper named by `credHelpers` / `credsStore`), or credentials given on the
//! command line. Lookups are futures: a credential helper is a child process that may take
//! seconds, and is waited for on the async runtime (a Tokio runtime with its process and time
//! drivers must be running).
//!
//! The rules are docker's (`docker/cli` `cli/config/config.go`, `configfile/file.go`,
//! `credentials/file_store.go`, `credentials/native_store.go`, and
//! `docker/docker-credential-helpers` `client/client.go`):
//!
//! - The file is `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; a missing
//!   file means no credentials.
//! - Docker Hub (`docker.io`, and its aliases `index.docker.io` and `registry-1.docker.io`) is
//!   looked up under the key `https://index.docker.io/v1/`; any other registry under its
//!   `host[:port]`.
//! - `credHelpers[key]` names the helper for that key, else `credsStore` names one for all
//!   keys; an empty name means "no helper". A helper is run as `docker-credential-<name> get`
//!   with the key on stdin, and answers `{"ServerURL","Username","Secret"}`; the username
//!   `<token>` means the secret is an identity token. A helper that exits non-zero printing
//!   `credentials not found in native keychain` on stdout means no credentials. When a helper
//!   applies, `auths` is not consulted for that key.
//! - Otherwise `auths[key]` is used, or else the first key that names the same host once its
//!   scheme and path are stripped (`https://ghcr.io/v1/` matches `ghcr.io`). An entry's `auth`
//!   is base64 of `user:password` and overrides `username`/`password`; `identitytoken` wins
//!   over both (as in containerd's CRI `ParseAuth`).
//!
//! Deliberate differences from docker:
//!
//! - A helper that fails, hangs past its deadline, writes too much or is missing is an
//!   **error**. docker's pull ignores credential errors and goes on anonymously, which would
//!   turn a broken helper into a confusing "unauthorized" or "no signature".
//! - A helper runs with a deadline ([`DEFAULT_HELPER_TIMEOUT`]) and its output is capped
//!   ([`MAX_HELPER_OUTPUT_BYTES`]); docker waits for ever and reads everything.
//! - Helper names may hold only `[A-Za-z0-9._-]`: a name with `/` would run a program outside
//!   `PATH`.
//! - Keys in the file are matched exactly (`auths`, `credsStore`, `credHelpers`, `auth`,
//!   `username`, `password`, `identitytoken`, as docker writes them); Go's decoder would also
//!   accept other capitalisations. Trailing data after the JSON object is an error (Go's
//!   decoder ignores it). A bad `auth` value is an error naming its key, as in docker.
//! - Not supported: the `DOCKER_AUTH_CONFIG` variable, picking a platform helper when the
//!   file has no credentials (`DetectDefaultStore`), and `registrytoken` (a ready-made bearer
//!   token; ignored, as containerd's CRI ignores it).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use base64::Engine;
use serde_json::{Map, Value};

use crate::reference::{DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY};

/// The key Docker Hub's credentials are stored under (docker's `registry.IndexServer`).
pub(crate) const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// Largest `config.json` read, in bytes. docker reads it without a limit; real files are a
/// few KiB. 1 MiB is the most a Kubernetes Secret (an image pull secret's
/// `.dockerconfigjson`) can hold.
pub const MAX_DOCKER_CONFIG_BYTES: usize = 1024 * 1024;

/// Most bytes read from a credential helper's stdout, and separately from its stderr. docker
/// has no limit. An answer is a small JSON object whose secret is a password or token (cloud
/// registry tokens are 1–10 KiB); 1 MiB is far above that and bounds memory. A helper that
/// writes more is stopped.
pub const MAX_HELPER_OUTPUT_BYTES: usize = 1024 * 1024;

/// How long a credential helper may run. docker waits for ever. Helpers that fetch a token
/// over the network (ECR, GCR, ACR) answer in well under a few seconds; 10 s leaves room for a
/// slow token endpoint while keeping a hung helper from holding a pull.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest registry host looked up, in bytes. A `host[:port]` is at most about 260 bytes
/// (a 253-byte DNS name and a port); the key is written to a helper's stdin in one piece,
/// which cannot block below the smallest pipe buffer (4 KiB).
const MAX_REGISTRY_HOST_LEN: usize = 1024;

/// Longest part of a helper's output quoted in an error.
const MAX_QUOTED: usize = 300;

/// The username a helper answers with when the secret is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// What a helper prints on stdout when it has no credentials for the key
/// (docker-credential-helpers `credentials/error.go`).
const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";

/// Registry credentials. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A username and password (or a personal access token used as a password).
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// An identity (refresh) token, exchanged for an access token at the registry's token
    /// endpoint with `grant_type=refresh_token`.
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => {
                f.debug_tuple("IdentityToken").field(&"<redacted>").finish()
            }
        }
    }
}

/// Why credentials could not be found. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// An error found when the credentials were looked up ahead of the requests (the daemon
    /// asks helpers once per verification, before its requests).
    #[error("{0}")]
    Earlier(String),
    /// The docker config file could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The docker config path is not a regular file (a FIFO would block for ever).
    #[error("{}: not a regular file", .path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
    },
    /// The docker config file is larger than [`MAX_DOCKER_CONFIG_BYTES`].
    #[error("{}: larger than the limit of {max} bytes", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// The docker config file is not the JSON docker writes.
    #[error("{}: invalid docker config: {reason}", .path.display())]
    InvalidConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column (values are never quoted).
        reason: String,
    },
    /// An `auths` entry's `auth` is not base64 of `user:password`.
    #[error("{}: auths.{key:?}.auth: {reason}", .path.display())]
    InvalidAuth {
        /// The file.
        path: PathBuf,
        /// The `auths` key.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A `credsStore` or `credHelpers` value cannot name a helper program.
    #[error("credential helper name {name:?} is not valid: only [A-Za-z0-9._-] is allowed")]
    InvalidHelperName {
        /// The name (at most 300 characters of it).
        name: String,
    },
    /// The registry host asked for is empty, too long, or has characters no host has.
    #[error("registry host {host:?} is not valid for a credential lookup")]
    InvalidRegistryHost {
        /// The host (at most 300 characters of it).
        host: String,
    },
    /// The helper program is not on the search path.
    #[error("credential helper {program} was not found on the search path")]
    HelperNotFound {
        /// `docker-credential-<name>`.
        program: String,
    },
    /// The helper could not be started, or talking to it failed.
    #[error("credential helper {program}: {source}")]
    HelperIo {
        /// `docker-credential-<name>`.
        program: String,
        /// The error.
        source: io::Error,
    },
    /// The helper did not finish in time; it was killed.
    #[error("credential helper {program} did not finish within {timeout:?}; it was stopped")]
    HelperTimeout {
        /// `docker-credential-<name>`.
        program: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The helper wrote more than the cap; it was killed.
    #[error("credential helper {program} wrote more than {max} bytes to {stream}; it was stopped")]
    HelperOutputTooLarge {
        /// `docker-credential-<name>`.
        program: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The cap.
        max: usize,
    },
    /// The helper exited unsuccessfully with something other than "not found".
    #[error("credential helper {program} failed ({status}): {output:?}; stderr: {stderr:?}")]
    HelperFailed {
        /// `docker-credential-<name>`.
        program: String,
        /// The exit status.
        status: String,
        /// Its stdout, where helpers print their error (trimmed, at most 300 characters).
        output: String,
        /// Its stderr (trimmed, at most 300 characters).
        stderr: String,
    },
    /// The helper succeeded but its answer is not `{"ServerURL","Username","Secret"}`.
    #[error("credential helper {program} gave an invalid answer ({reason}); stderr: {stderr:?}")]
    HelperInvalidOutput {
        /// `docker-credential-<name>`.
        program: String,
        /// What is wrong (the answer itself is never quoted: it may hold the secret).
        reason: String,
        /// Its stderr (trimmed, at most 300 characters).
        stderr: String,
    },
}

/// A credential lookup in progress. Boxed so that [`CredentialSource`] stays usable as
/// `dyn CredentialSource`; `Send` because the daemon's verifications are spawned tasks.
pub(crate) type CredentialFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Credential>, CredentialError>> + Send + 'a>>;

/// Something that knows credentials for registry hosts.
pub trait CredentialSource: Send + Sync {
    /// The credentials for `registry_host` (`host[:port]`, e.g. a reference's registry or a
    /// mirror's host), or `None` to go anonymous. Dropping the future abandons the lookup
    /// (a credential helper it started is killed).
    fn credential<'a>(&'a self, registry_host: &'a str) -> CredentialFuture<'a>;
}

/// Anonymous access everywhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCredentials;

impl CredentialSource for NoCredentials {
    fn credential<'a>(&'a self, _registry_host: &'a str) -> CredentialFuture<'a> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// Credentials given directly (`--username` with `--password-stdin`, or the auth kubelet
/// sends with a CRI pull).
#[derive(Clone, Debug)]
pub struct StaticCredentials {
    credential: Credential,
    registries: Option<Vec<String>>,
}

impl StaticCredentials {
    /// Credentials offered to every host asked about, mirrors included (what `ctr --user`
    /// does). Prefer [`StaticCredentials::for_registries`] when the credentials belong to one
    /// registry.
    pub fn new(credential: Credential) -> Self {
        Self {
            credential,
            registries: None,
        }
    }

    /// Credentials offered only to the given hosts. Host names compare without regard to
    /// ASCII case, and Docker Hub's names (`docker.io`, `index.docker.io`,
    /// `registry-1.docker.io`) are one host.
    pub fn for_registries<I, S>(credential: Credential, registries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            credential,
            registries: Some(registries.into_iter().map(Into::into).collect()),
        }
    }
}

impl CredentialSource for StaticCredentials {
    fn credential<'a>(&'a self, registry_host: &'a str) -> CredentialFuture<'a> {
        let applies = match &self.registries {
            None => true,
            Some(hosts) => hosts.iter().any(|h| same_host(h, registry_host)),
        };
        Box::pin(std::future::ready(Ok(
            applies.then(|| self.credential.clone())
        )))
    }
}

fn same_host(a: &str, b: &str) -> bool {
    fn canonical(h: &str) -> String {
        let h = h.to_ascii_lowercase();
        if is_docker_hub(&h) {
            DOCKER_HUB.to_owned()
        } else {
            h
        }
    }
    canonical(a) == canonical(b)
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        DOCKER_HUB | DOCKER_HUB_LEGACY | DOCKER_HUB_API_HOST | DOCKER_HUB_AUTH_KEY
    )
}

/// Sources asked in order; the first that has credentials answers. An error stops the chain:
/// a broken source is reported, never skipped in favour of anonymous access.
pub(crate) struct CredentialChain {
    sources: Vec<Box<dyn CredentialSource>>,
}

impl CredentialChain {
    /// A chain of `sources`, asked in order (usually [`StaticCredentials`] first, then
    /// [`DockerConfig`]).
    pub fn new(sources: Vec<Box<dyn CredentialSource>>) -> Self {
        Self { sources }
    }
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// A source asked at most once per host: credential helpers are programs, and a registry
/// that wants Basic credentials is sent them with every request.
pub(crate) struct Memoized<S> {
    source: S,
    answers:
        std::sync::Mutex<std::collections::HashMap<String, Result<Option<Credential>, String>>>,
}

impl<S: CredentialSource> Memoized<S> {
    /// `source`, remembered per host.
    pub fn new(source: S) -> Self {
        Self {
            source,
            answers: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl<S> fmt::Debug for Memoized<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memoized").finish_non_exhaustive()
    }
}

impl<S: CredentialSource> CredentialSource for Memoized<S> {
    fn credential<'a>(&'a self, registry_host: &'a str) -> CredentialFuture<'a> {
        Box::pin(async move {
            if let Some(known) = self
                .answers
                .lock()
                .ok()
                .and_then(|m| m.get(registry_host).cloned())
            {
                return known.map_err(CredentialError::Earlier);
            }
            // The lock is not held while the source runs: concurrent first lookups of one
            // host may each ask it, and the last answer is kept.
            let answer = self.source.credential(registry_host).await;
            if let Ok(mut m) = self.answers.lock() {
                m.insert(
                    registry_host.to_owned(),
                    answer
                        .as_ref()
                        .map(Clone::clone)
                        .map_err(ToString::to_string),
                );
            }
            answer
        })
    }
}

impl CredentialSource for CredentialChain {
    fn credential<'a>(&'a self, registry_host: &'a str) -> CredentialFuture<'a> {
        Box::pin(async move {
            for source in &self.sources {
                if let Some(c) = source.credential(registry_host).await? {
                    return Ok(Some(c));
                }
            }
            Ok(None)
        })
    }
}

/// A loaded docker `config.json`, with how its credential helpers are run.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    path: PathBuf,
    /// Decoded `auths` entries; `None` for an entry with no credentials in it.
    auths: BTreeMap<String, Option<Credential>>,
    creds_store: String,
    cred_helpers: BTreeMap<String, String>,
    helper_path: Option<OsString>,
    helper_timeout: Duration,
    max_helper_output: usize,
}

/// One `auths` entry's fields that matter (docker `types.AuthConfig`).
#[derive(Default)]
struct RawAuth {
    auth: String,
    username: String,
    password: String,
    identitytoken: String,
}

impl Default for DockerConfig {
    /// No credentials at all (what a missing `config.json` means).
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            auths: BTreeMap::new(),
            creds_store: String::new(),
            cred_helpers: BTreeMap::new(),
            helper_path: None,
            helper_timeout: DEFAULT_HELPER_TIMEOUT,
            max_helper_output: MAX_HELPER_OUTPUT_BYTES,
        }
    }
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json` (docker
    /// `config.Dir`); `None` when neither variable is set.
    pub fn default_path() -> Option<PathBuf> {
        default_path_from(std::env::var_os("DOCKER_CONFIG"), std::env::var_os("HOME"))
    }

    /// Loads the file at [`DockerConfig::default_path`], or an empty configuration when
    /// there is no such path or file.
    pub fn load_default() -> Result<Self, CredentialError> {
        match Self::default_path() {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }

    /// Loads a `config.json`. A missing file is an empty configuration, as in docker.
    pub fn load(path: &Path) -> Result<Self, CredentialError> {
        let io_err = |source| CredentialError::Io {
            path: path.to_owned(),
            source,
        };
        match fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(CredentialError::NotRegular {
                    path: path.to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_owned(),
                    ..Self::default()
                });
            }
            Err(e) => return Err(io_err(e)),
        }
        let file = fs::File::open(path).map_err(io_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCKER_CONFIG_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        Self::parse(&bytes, path)
    }

    /// Parses the bytes of a `config.json`; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, CredentialError> {
        if bytes.len() > MAX_DOCKER_CONFIG_BYTES {
            return Err(CredentialError::TooLarge {
                path: path.to_owned(),
                max: MAX_DOCKER_CONFIG_BYTES,
            });
        }
        let mut config = Self {
            path: path.to_owned(),
            ..Self::default()
        };
        // docker treats an empty file as an empty configuration.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(config);
        }
        let root: Value =
            serde_json::from_slice(bytes).map_err(|e| CredentialError::InvalidConfig {
                path: path.to_owned(),
                reason: json_reason(&e),
            })?;
        let invalid = |reason: String| CredentialError::InvalidConfig {
            path: path.to_owned(),
            reason,
        };
        let Value::Object(root) = root else {
            return Err(invalid("the top level is not a JSON object".to_owned()));
        };
        match root.get("auths") {
            None | Some(Value::Null) => {}
            Some(Value::Object(auths)) => {
                for (key, entry) in auths {
                    let raw = match entry {
                        Value::Null => RawAuth::default(),
                        Value::Object(fields) => {
                            let field = |name| {
                                string_field(fields, name).map_err(|f| {
                                    invalid(format!("auths.{:?}.{f}: not a string", quote(key)))
                                })
                            };
                            RawAuth {
                                auth: field("auth")?,
                                username: field("username")?,
                                password: field("password")?,
                                identitytoken: field("identitytoken")?,
                            }
                        }
                        _ => return Err(invalid(format!("auths.{:?}: not an object", quote(key)))),
                    };
                    let credential =
                        decode_entry(raw).map_err(|reason| CredentialError::InvalidAuth {
                            path: path.to_owned(),
                            key: quote(key),
                            reason,
                        })?;
                    config.auths.insert(key.clone(), credential);
                }
            }
            Some(_) => return Err(invalid("auths: not an object".to_owned())),
        }
        config.creds_store =
            string_field(&root, "credsStore").map_err(|f| invalid(format!("{f}: not a string")))?;
        match root.get("credHelpers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(helpers)) => {
                for (key, helper) in helpers {
                    let helper = match helper {
                        Value::String(h) => h.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(invalid(format!(
                                "credHelpers.{:?}: not a string",
                                quote(key)
                            )));
                        }
                    };
                    config.cred_helpers.insert(key.clone(), helper);
                }
            }
            Some(_) => return Err(invalid("credHelpers: not an object".to_owned())),
        }
        Ok(config)
    }

    /// Runs helpers with this `PATH` (which is also where they are looked up) instead of the
    /// process's own. The process environment is never changed.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        self.helper_path = Some(path.into());
        self
    }

    /// Sets the deadline for one helper run (default [`DEFAULT_HELPER_TIMEOUT`]).
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Self {
        self.helper_timeout = timeout;
        self
    }

    /// Sets the cap on a helper's stdout and stderr (default [`MAX_HELPER_OUTPUT_BYTES`]).
    pub fn with_max_helper_output(mut self, bytes: usize) -> Self {
        self.max_helper_output = bytes;
        self
    }

    /// The file this configuration came from (empty for [`DockerConfig::default`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials for `registry_host`, found as docker finds them (see the module
    /// documentation). Runs a credential helper when one applies.
    pub async fn get(&self, registry_host: &str) -> Result<Option<Credential>, CredentialError> {
        if registry_host.is_empty()
            || registry_host.len() > MAX_REGISTRY_HOST_LEN
            || registry_host
                .bytes()
                .any(|b| b.is_ascii_control() || b == b' ')
        {
            return Err(CredentialError::InvalidRegistryHost {
                host: quote(registry_host),
            });
        }
        let key = auth_key(registry_host);
        let helper = self.cred_helpers.get(key).unwrap_or(&self.creds_store);
        if !helper.is_empty() {
            return self.run_helper(helper, key).await;
        }
        if let Some(entry) = self.auths.get(key) {
            return Ok(entry.clone());
        }
        Ok(self
            .auths
            .iter()
            .find(|(k, _)| convert_to_hostname(k) == key)
            .and_then(|(_, c)| c.clone()))
    }

    async fn run_helper(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        if name.is_empty()
            || name == "."
            || name == ".."
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(CredentialError::InvalidHelperName { name: quote(name) });
        }
        let program = format!("docker-credential-{name}");
        let mut cmd = Command::new(&program);
        cmd.arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = &self.helper_path {
            // On Unix a PATH set on the Command is also the one the program is looked up in.
            cmd.env("PATH", path);
        }
        let run = run_with_deadline(
            &mut cmd,
            key.as_bytes(),
            self.helper_timeout,
            self.max_helper_output,
        )
        .await;
        let out = match run {
            Ok(out) => out,
            Err(RunError::Spawn(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CredentialError::HelperNotFound { program });
            }
            Err(RunError::Spawn(source) | RunError::Io(source)) => {
                return Err(CredentialError::HelperIo { program, source });
            }
            Err(RunError::Timeout) => {
                return Err(CredentialError::HelperTimeout {
                    program,
                    timeout: self.helper_timeout,
                });
            }
            Err(RunError::TooLarge(stream)) => {
                return Err(CredentialError::HelperOutputTooLarge {
                    program,
                    stream,
                    max: self.max_helper_output,
                });
            }
        };
        let stderr = quote(String::from_utf8_lossy(&out.stderr).trim());
        if !out.status.success() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stdout = stdout.trim();
            if stdout == NOT_FOUND_MESSAGE {
                return Ok(None);
            }
            return Err(CredentialError::HelperFailed {
                program,
                status: out.status.to_string(),
                output: quote(stdout),
                stderr,
            });
        }
        let bad_answer = |reason: String| CredentialError::HelperInvalidOutput {
            program: program.clone(),
            reason,
            stderr: stderr.clone(),
        };
        let answer: Value =
            serde_json::from_slice(&out.stdout).map_err(|e| bad_answer(json_reason(&e)))?;
        let Value::Object(fields) = answer else {
            return Err(bad_answer("not a JSON object".to_owned()));
        };
        let username = string_field(&fields, "Username")
            .map_err(|f| bad_answer(format!("{f} is not a string")))?;
        let secret = string_field(&fields, "Secret")
            .map_err(|f| bad_answer(format!("{f} is not a string")))?;
        Ok(if username == TOKEN_USERNAME {
            Some(Credential::IdentityToken(secret))
        } else if username.is_empty() && secret.is_empty() {
            None
        } else {
            Some(Credential::Basic {
                username,
                password: secret,
            })
        })
    }
}

impl CredentialSource for DockerConfig {
    fn credential<'a>(&'a self, registry_host: &'a str) -> CredentialFuture<'a> {
        Box::pin(self.get(registry_host))
    }
}

/// `$DOCKER_CONFIG/config.json` when `docker_config` is set and not empty, else
/// `$HOME/.docker/config.json`.
pub(crate) fn default_path_from(
    docker_config: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    match docker_config.filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => home
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".docker").join("config.json")),
    }
}

/// The key a registry host's credentials are stored under.
fn auth_key(registry_host: &str) -> &str {
    if is_docker_hub(registry_host) {
        DOCKER_HUB_AUTH_KEY
    } else {
        registry_host
    }
}

/// docker's `ConvertToHostname`: `https://host:port/path` → `host:port`; `host/path` → `host`.
fn convert_to_hostname(key: &str) -> &str {
    let rest = match key.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if !host.is_empty() {
                // "host:" has an empty port, which Go's url.Port() drops.
                return host.strip_suffix(':').unwrap_or(host);
            }
            key
        }
        None => key,
    };
    rest.split('/').next().unwrap_or(rest)
}

/// Decodes one `auths` entry the way docker's `LoadFromReader` and containerd's CRI
/// `ParseAuth` do.
fn decode_entry(entry: RawAuth) -> Result<Option<Credential>, &'static str> {
    let RawAuth {
        auth,
        mut username,
        mut password,
        identitytoken,
    } = entry;
    if !auth.is_empty() {
        // Go's StdEncoding: padded, newlines ignored, non-zero trailing bits tolerated.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
        );
        let cleaned: String = auth.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let decoded = engine.decode(cleaned).map_err(|_| "not valid base64")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "not UTF-8 once decoded")?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or("not user:password once decoded")?;
        if user.is_empty() {
            return Err("the username is empty");
        }
        username = user.to_owned();
        password = pass.trim_matches('\0').to_owned();
    }
    if !identitytoken.is_empty() {
        return Ok(Some(Credential::IdentityToken(identitytoken)));
    }
    if username.is_empty() && password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential::Basic { username, password }))
}

/// The string member `name` of a JSON object: `""` when absent or null (as Go decodes it),
/// `Err(name)` when it is not a string.
fn string_field<'n>(object: &Map<String, Value>, name: &'n str) -> Result<String, &'n str> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(name),
    }
}

/// A JSON error's category and position, without the quoted input serde would add (it may be
/// a secret).
fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "not JSON",
        Category::Data => "unexpected type or value",
        Category::Eof => "unexpected end",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn quote(s: &str) -> String {
    s.chars().take(MAX_QUOTED).collect()
}

/// What a finished helper left.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum RunError {
    Spawn(io::Error),
    Io(io::Error),
    Timeout,
    TooLarge(&'static str),
}

/// Runs `cmd` with `input` on its stdin (then closed), and returns its exit status and output,
/// or an error when the whole run (output read to its end and exit) takes longer than
/// `timeout`, or the child writes more than `max` bytes to either stream. On every error the
/// child is killed and reaped before returning; when the future is dropped instead,
/// `kill_on_drop` kills it and Tokio reaps it in the background. A process the child left
/// behind holding its output open makes the run time out; it is not ours to kill.
async fn run_with_deadline(
    cmd: &mut Command,
    input: &[u8],
    timeout: Duration,
    max: usize,
) -> Result<Finished, RunError> {
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let run = match tokio::time::timeout(timeout, talk(&mut child, input, max)).await {
        Ok(run) => run,
        Err(_elapsed) => Err(RunError::Timeout),
    };
    if run.is_err() {
        // A kill that fails means the child has already exited; the wait reaps it either way.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    run
}

/// Writes `input` to the child, closes its stdin, reads both output streams to their end
/// (at most `max` bytes each) and waits for the exit.
async fn talk(child: &mut Child, input: &[u8], max: usize) -> Result<Finished, RunError> {
    if let Some(mut stdin) = child.stdin.take() {
        // The input is at most MAX_REGISTRY_HOST_LEN bytes, less than any pipe buffer, so
        // this write does not wait for the reader. A helper that exits without reading is
        // not an error here.
        match stdin.write_all(input).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(RunError::Io(e)),
        }
        // Dropping the pipe closes it: the helper reads the key to end of file.
        drop(stdin);
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (stdout, stderr) = tokio::try_join!(
        read_capped(stdout, max, "stdout"),
        read_capped(stderr, max, "stderr"),
    )?;
    let status = child.wait().await.map_err(RunError::Io)?;
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

/// Reads `pipe` to its end, or fails as soon as it has given more than `max` bytes.
async fn read_capped<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    max: usize,
    stream: &'static str,
) -> Result<Vec<u8>, RunError> {
    let mut bytes = Vec::new();
    let Some(pipe) = pipe else {
        return Ok(bytes);
    };
    // One byte past the cap tells "exactly at the cap" from "over it".
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(limit)
        .read_to_end(&mut bytes)
        .await
        .map_err(RunError::Io)?;
    if bytes.len() > max {
        return Err(RunError::TooLarge(stream));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the questions; answers Basic for `good`, an error for `broken`, none otherwise.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl CredentialSource for Counting {
        fn credential<'a>(&'a self, host: &'a str) -> CredentialFuture<'a> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::pin(std::future::ready(match host {
                "good" => Ok(Some(Credential::Basic {
                    username: "u".into(),
                    password: "p".into(),
                })),
                "broken" => Err(CredentialError::Earlier("helper failed".into())),
                _ => Ok(None),
            }))
        }
    }

    #[tokio::test]
    async fn memoized_asks_each_host_once_and_keeps_errors() {
        let m = Memoized::new(Counting(std::sync::atomic::AtomicUsize::new(0)));
        for _ in 0..3 {
            assert!(matches!(
                m.credential("good").await,
                Ok(Some(Credential::Basic { .. }))
            ));
            assert!(matches!(m.credential("anon").await, Ok(None)));
            let e = m.credential("broken").await.unwrap_err();
            assert!(e.to_string().contains("helper failed"), "{e}");
        }
        assert_eq!(m.source.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    const B64_ALICE: &str = "YWxpY2U6czNjcjN0"; // alice:s3cr3t

    fn config(json: &str) -> DockerConfig {
        DockerConfig::parse(json.as_bytes(), Path::new("/cfg/config.json"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn basic(u: &str, p: &str) -> Option<Credential> {
        Some(Credential::Basic {
            username: u.into(),
            password: p.into(),
        })
    }

    /// A directory holding `docker-credential-<name>` scripts, and the PATH to give helpers
    /// (the directory, then the system directories the scripts need).
    struct Helpers {
        dir: tempfile::TempDir,
    }

    impl Helpers {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        /// Writes the script from a child process, so this process never holds a writable
        /// descriptor on it: a helper another test forks meanwhile would inherit that
        /// descriptor until it execs, and running the script would fail with ETXTBSY.
        fn add(&self, name: &str, script: &str) {
            let path = self.dir.path().join(format!("docker-credential-{name}"));
            let mut writer = std::process::Command::new("/bin/sh")
                .args(["-c", r#"cat > "$1" && chmod 755 "$1""#, "sh"])
                .arg(&path)
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = writer.stdin.take().unwrap();
            std::io::Write::write_all(&mut stdin, format!("#!/bin/sh\n{script}\n").as_bytes())
                .unwrap();
            drop(stdin);
            assert!(
                writer.wait().unwrap().success(),
                "writing {}",
                path.display()
            );
        }

        /// Where a helper script may write its process id (`echo $$ > <pid_file>`).
        fn pid_file(&self, name: &str) -> PathBuf {
            self.dir.path().join(format!("{name}.pid"))
        }

        /// The process id the helper wrote to [`Helpers::pid_file`], once it is there.
        async fn pid_of(&self, name: &str) -> u32 {
            let file = self.pid_file(name);
            for _ in 0..1000 {
                if let Ok(text) = fs::read_to_string(&file)
                    && text.ends_with('\n')
                    && let Ok(pid) = text.trim().parse()
                {
                    return pid;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{name} wrote no pid to {}", file.display());
        }

        fn path(&self) -> OsString {
            std::env::join_paths([
                self.dir.path(),
                Path::new("/usr/local/bin"),
                Path::new("/usr/bin"),
                Path::new("/bin"),
            ])
            .unwrap()
        }

        fn config(&self, json: &str) -> DockerConfig {
            config(json).with_helper_path(self.path())
        }
    }

    #[tokio::test]
    async fn auths_variants() {
        let c = config(&format!(
            r#"{{
              "auths": {{
                "https://index.docker.io/v1/": {{ "auth": "{B64_ALICE}" }},
                "ghcr.io": {{ "username": "bob", "password": "pw" }},
                "both.example": {{ "auth": "{B64_ALICE}", "username": "ignored", "password": "x" }},
                "token.example": {{ "username": "u", "password": "p", "identitytoken": "tok" }},
                "empty.example": {{}},
                "email.example": {{ "email": "a@b", "auth": "" }},
                "null.example": null,
                "https://legacy.example:5000/v1/": {{ "auth": "{B64_ALICE}" }},
                "http://plain.example": {{ "username": "p", "password": "q" }},
                "pathonly.example/some/path": {{ "username": "r", "password": "s" }}
              }},
              "HttpHeaders": {{ "User-Agent": "x" }},
              "currentContext": "default"
            }}"#
        ));
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(c.get(hub).await.unwrap(), basic("alice", "s3cr3t"), "{hub}");
        }
        assert_eq!(c.get("ghcr.io").await.unwrap(), basic("bob", "pw"));
        assert_eq!(
            c.get("both.example").await.unwrap(),
            basic("alice", "s3cr3t")
        );
        assert_eq!(
            c.get("token.example").await.unwrap(),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(c.get("empty.example").await.unwrap(), None);
        assert_eq!(c.get("email.example").await.unwrap(), None);
        assert_eq!(c.get("null.example").await.unwrap(), None);
        assert_eq!(c.get("unknown.example").await.unwrap(), None);
        // Keys with a scheme and path match their host.
        assert_eq!(
            c.get("legacy.example:5000").await.unwrap(),
            basic("alice", "s3cr3t")
        );
        assert_eq!(
            c.get("legacy.example").await.unwrap(),
            None,
            "the port is part of the host"
        );
        assert_eq!(c.get("plain.example").await.unwrap(), basic("p", "q"));
        assert_eq!(c.get("pathonly.example").await.unwrap(), basic("r", "s"));
    }

    #[tokio::test]
    async fn docker_hub_is_only_found_under_its_index_key() {
        // docker looks Docker Hub up under https://index.docker.io/v1/ only.
        let c = config(r#"{"auths": {"docker.io": {"username": "u", "password": "p"}}}"#);
        assert_eq!(c.get("docker.io").await.unwrap(), None);
        // The file's own key is still found for a registry literally named so.
        let c = config(r#"{"auths": {"index.docker.io": {"username": "u", "password": "p"}}}"#);
        assert_eq!(c.get("docker.io").await.unwrap(), None);
    }

    #[tokio::test]
    async fn exact_key_wins_over_hostname_match() {
        let c = config(
            r#"{"auths": {
                "https://r.example/v1/": {"username": "url", "password": "1"},
                "r.example": {"username": "exact", "password": "2"}
            }}"#,
        );
        assert_eq!(c.get("r.example").await.unwrap(), basic("exact", "2"));
    }

    #[tokio::test]
    async fn auth_decoding() {
        // Trailing NULs in the password are trimmed; a password may hold ':'.
        let b64 = base64::engine::general_purpose::STANDARD.encode("u:p:w\0\0");
        let c = config(&format!(r#"{{"auths": {{"r": {{"auth": "{b64}"}}}}}}"#));
        assert_eq!(c.get("r").await.unwrap(), basic("u", "p:w"));
        // Newlines inside the base64 are ignored, as Go does.
        let c = config(r#"{"auths": {"r": {"auth": "YWxpY2U6\nczNjcjN0"}}}"#);
        assert_eq!(c.get("r").await.unwrap(), basic("alice", "s3cr3t"));

        let no_colon = base64::engine::general_purpose::STANDARD.encode("justuser");
        let no_user = base64::engine::general_purpose::STANDARD.encode(":pw");
        for (auth, reason) in [
            ("!!!", "not valid base64"),
            ("YWxpY2U", "not valid base64"),
            (no_colon.as_str(), "not user:password"),
            (no_user.as_str(), "the username is empty"),
            ("/w==", "not UTF-8"),
        ] {
            let json = format!(r#"{{"auths": {{"bad.example": {{"auth": "{auth}"}}}}}}"#);
            let e = DockerConfig::parse(json.as_bytes(), Path::new("/cfg/config.json"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("/cfg/config.json: auths.\"bad.example\".auth: "),
                "{e}"
            );
            assert!(e.contains(reason), "{auth}: {e}");
        }
    }

    #[tokio::test]
    async fn invalid_config_files() {
        for (json, want) in [
            ("{", "unexpected end"),
            ("[]", "the top level is not a JSON object"),
            (r#"{"auths": "secret-value"}"#, "auths: not an object"),
            (
                r#"{"auths": {"r": ["a", "b"]}}"#,
                "auths.\"r\": not an object",
            ),
            (
                r#"{"auths": {"r": {"password": 5}}}"#,
                "auths.\"r\".password: not a string",
            ),
            (r#"{"credsStore": 1}"#, "credsStore: not a string"),
            (
                r#"{"credHelpers": {"r": true}}"#,
                "credHelpers.\"r\": not a string",
            ),
            (r#"{"credHelpers": []}"#, "credHelpers: not an object"),
            ("{} trailing", "not JSON"),
        ] {
            let e = DockerConfig::parse(json.as_bytes(), Path::new("/c.json"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("/c.json: invalid docker config: "), "{e}");
            assert!(e.contains(want), "{json}: {e}");
            assert!(!e.contains("secret-value"), "{e}");
        }
        // Empty and whitespace-only files are empty configurations, as in docker.
        for empty in ["", " \n"] {
            assert_eq!(config(empty).get("r.example").await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn load_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        // A missing file is no credentials.
        let c = DockerConfig::load(&path).unwrap();
        assert_eq!(c.get("ghcr.io").await.unwrap(), None);
        assert_eq!(c.path(), path);

        fs::write(
            &path,
            r#"{"auths": {"ghcr.io": {"auth": "YWxpY2U6czNjcjN0"}}}"#,
        )
        .unwrap();
        let c = DockerConfig::load(&path).unwrap();
        assert_eq!(c.get("ghcr.io").await.unwrap(), basic("alice", "s3cr3t"));

        // At the cap is read; one byte over is refused before parsing.
        let at_cap = format!("{{}}{}", " ".repeat(MAX_DOCKER_CONFIG_BYTES - 2));
        fs::write(&path, &at_cap).unwrap();
        DockerConfig::load(&path).unwrap();
        fs::write(&path, format!("{at_cap} ")).unwrap();
        assert!(matches!(
            DockerConfig::load(&path),
            Err(CredentialError::TooLarge { .. })
        ));

        assert!(matches!(
            DockerConfig::load(dir.path()),
            Err(CredentialError::NotRegular { .. })
        ));
    }

    #[test]
    fn default_paths() {
        let p = |d: Option<&str>, h: Option<&str>| {
            default_path_from(d.map(OsString::from), h.map(OsString::from))
        };
        assert_eq!(
            p(Some("/etc/dk"), Some("/home/u")),
            Some(PathBuf::from("/etc/dk/config.json"))
        );
        assert_eq!(
            p(Some(""), Some("/home/u")),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(
            p(None, Some("/root")),
            Some(PathBuf::from("/root/.docker/config.json"))
        );
        assert_eq!(p(None, None), None);
        assert_eq!(p(None, Some("")), None);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let basic = Credential::Basic {
            username: "alice".into(),
            password: "hunter2".into(),
        };
        let token = Credential::IdentityToken("tok-hunter2".into());
        for c in [&basic, &token] {
            let d = format!("{c:?}");
            assert!(!d.contains("hunter2"), "{d}");
            assert!(d.contains("redacted"), "{d}");
        }
        assert!(format!("{basic:?}").contains("alice"));
        let cfg = config(r#"{"auths": {"r": {"username": "u", "password": "hunter2"}}}"#);
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let s = StaticCredentials::new(basic);
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn static_credentials_and_the_chain() {
        let cred = Credential::Basic {
            username: "cli".into(),
            password: "pw".into(),
        };
        let any = StaticCredentials::new(cred.clone());
        assert_eq!(
            any.credential("anything.example").await.unwrap(),
            Some(cred.clone())
        );

        let only = StaticCredentials::for_registries(cred.clone(), ["docker.io", "GHCR.io"]);
        assert_eq!(
            only.credential("registry-1.docker.io").await.unwrap(),
            Some(cred.clone())
        );
        assert_eq!(
            only.credential("ghcr.io").await.unwrap(),
            Some(cred.clone())
        );
        assert_eq!(only.credential("mirror.example").await.unwrap(), None);

        let file = config(
            r#"{"auths": {"mirror.example": {"username": "m", "password": "n"},
                                         "ghcr.io": {"username": "f", "password": "g"}}}"#,
        );
        let chain = CredentialChain::new(vec![Box::new(only), Box::new(file)]);
        // Static first, then the docker config.
        assert_eq!(chain.credential("ghcr.io").await.unwrap(), Some(cred));
        assert_eq!(
            chain.credential("mirror.example").await.unwrap(),
            basic("m", "n")
        );
        assert_eq!(chain.credential("other.example").await.unwrap(), None);

        // An error stops the chain rather than falling through to anonymous.
        let broken = config(r#"{"credsStore": "../evil"}"#);
        let chain = CredentialChain::new(vec![
            Box::new(broken),
            Box::new(StaticCredentials::new(Credential::IdentityToken(
                "t".into(),
            ))),
        ]);
        assert!(matches!(
            chain.credential("r.example").await,
            Err(CredentialError::InvalidHelperName { .. })
        ));
    }

    #[tokio::test]
    async fn invalid_registry_hosts() {
        let c = config("{}");
        for bad in ["", "a b", "a\nb", &"x".repeat(MAX_REGISTRY_HOST_LEN + 1)] {
            assert!(
                matches!(
                    c.get(bad).await,
                    Err(CredentialError::InvalidRegistryHost { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn helper_answers() {
        let h = Helpers::new();
        // The helper checks its argument and echoes the key it was given on stdin.
        h.add(
            "test",
            r#"[ "$1" = get ] || { echo "bad action $1"; exit 1; }
key=$(cat)
case "$key" in
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hubpw"}' "$key" ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh"}' ;;
  empty.example) echo '{"ServerURL":"empty.example","Username":"","Secret":""}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#,
        );
        let c = h.config(r#"{"credsStore": "test"}"#);
        assert_eq!(c.get("docker.io").await.unwrap(), basic("hubuser", "hubpw"));
        assert_eq!(
            c.get("token.example").await.unwrap(),
            Some(Credential::IdentityToken("refresh".into()))
        );
        assert_eq!(c.get("empty.example").await.unwrap(), None);
        assert_eq!(c.get("missing.example").await.unwrap(), None);
    }

    #[tokio::test]
    async fn helper_selection() {
        let h = Helpers::new();
        h.add(
            "store",
            r#"cat >/dev/null; echo '{"Username":"from-store","Secret":"s"}'"#,
        );
        h.add(
            "special",
            r#"cat >/dev/null; echo '{"Username":"from-special","Secret":"s"}'"#,
        );
        let c = h.config(
            r#"{
              "auths": {"inline.example": {"username": "from-file", "password": "f"},
                        "nohelper.example": {"username": "file-only", "password": "f"}},
              "credsStore": "store",
              "credHelpers": {"special.example": "special", "nohelper.example": ""}
            }"#,
        );
        assert_eq!(
            c.get("special.example").await.unwrap(),
            basic("from-special", "s")
        );
        // credsStore applies to every other key, and auths are not consulted then.
        assert_eq!(
            c.get("inline.example").await.unwrap(),
            basic("from-store", "s")
        );
        // An empty credHelpers entry means the file, even with a credsStore.
        assert_eq!(
            c.get("nohelper.example").await.unwrap(),
            basic("file-only", "f")
        );
    }

    #[tokio::test]
    async fn helper_failures_carry_stdout_and_stderr() {
        let h = Helpers::new();
        h.add(
            "broken",
            "cat >/dev/null; echo 'keychain locked'; echo 'details on stderr' >&2; exit 3",
        );
        h.add("garbage", "cat >/dev/null; echo 'the secret is hunter2'");
        h.add(
            "stderr-notfound",
            "cat >/dev/null; echo 'credentials not found in native keychain' >&2; exit 1",
        );
        let e = h
            .config(r#"{"credsStore": "broken"}"#)
            .get("r.example")
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, CredentialError::HelperFailed { .. }), "{text}");
        assert!(text.contains("docker-credential-broken"), "{text}");
        assert!(text.contains("keychain locked"), "{text}");
        assert!(text.contains("details on stderr"), "{text}");
        assert!(text.contains("exit status: 3"), "{text}");

        let e = h
            .config(r#"{"credsStore": "garbage"}"#)
            .get("r.example")
            .await
            .unwrap_err();
        assert!(
            matches!(e, CredentialError::HelperInvalidOutput { .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("hunter2"), "{e}");

        h.add("array", r#"cat >/dev/null; echo '["u", "hunter2"]'"#);
        h.add(
            "numeric",
            r#"cat >/dev/null; echo '{"Username": 5, "Secret": "hunter2"}'"#,
        );
        for (name, want) in [
            ("array", "not a JSON object"),
            ("numeric", "Username is not a string"),
        ] {
            let e = h
                .config(&format!(r#"{{"credsStore": "{name}"}}"#))
                .get("r.example")
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{name}: {e}");
            assert!(!e.contains("hunter2"), "{name}: {e}");
        }

        // docker reads "not found" from stdout only.
        let e = h
            .config(r#"{"credsStore": "stderr-notfound"}"#)
            .get("r.example")
            .await
            .unwrap_err();
        assert!(matches!(e, CredentialError::HelperFailed { .. }), "{e}");
    }

    #[tokio::test]
    async fn helper_not_found_and_bad_names() {
        let h = Helpers::new();
        let e = h
            .config(r#"{"credsStore": "nosuch"}"#)
            .get("r.example")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CredentialError::HelperNotFound { program } if program == "docker-credential-nosuch"),
            "{e}"
        );
        for name in ["../x", "/bin/sh", "a b", ".", ".."] {
            let json = serde_json::json!({ "credsStore": name }).to_string();
            assert!(
                matches!(
                    h.config(&json).get("r.example").await,
                    Err(CredentialError::InvalidHelperName { .. })
                ),
                "{name}"
            );
        }
    }

    #[tokio::test]
    #[allow(clippy::disallowed_methods)] // the test measures the deadline
    async fn hanging_helper_is_stopped_at_the_deadline() {
        let h = Helpers::new();
        // `sleep` runs as a grandchild that keeps stdout open after the shell is killed.
        h.add("hang", "sleep 5");
        h.add("hang-exec", "exec sleep 5");
        for name in ["hang", "hang-exec"] {
            let c = h
                .config(&format!(r#"{{"credsStore": "{name}"}}"#))
                .with_helper_timeout(Duration::from_millis(300));
            let start = std::time::Instant::now();
            let e = c.get("r.example").await.unwrap_err();
            let took = start.elapsed();
            assert!(
                matches!(e, CredentialError::HelperTimeout { .. }),
                "{name}: {e}"
            );
            assert!(took < Duration::from_secs(3), "{name}: took {took:?}");
            assert!(e.to_string().contains("300ms"), "{e}");
        }
    }

    #[tokio::test]
    async fn huge_output_is_capped() {
        let h = Helpers::new();
        h.add("flood", "exec yes");
        h.add("flood-stderr", "exec yes >&2");
        h.add(
            "just-under",
            r#"cat >/dev/null; printf '{"Username":"u","Secret":"%s"}' "$(head -c 900 /dev/zero | tr '\0' x)""#,
        );
        for (name, stream) in [("flood", "stdout"), ("flood-stderr", "stderr")] {
            let c = h
                .config(&format!(r#"{{"credsStore": "{name}"}}"#))
                .with_max_helper_output(64 * 1024);
            match c.get("r.example").await {
                Err(CredentialError::HelperOutputTooLarge { stream: s, max, .. }) => {
                    assert_eq!((s, max), (stream, 64 * 1024));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // An answer within the cap is read whole.
        let c = h
            .config(r#"{"credsStore": "just-under"}"#)
            .with_max_helper_output(1024);
        match c.get("r.example").await.unwrap() {
            Some(Credential::Basic { password, .. }) => assert_eq!(password.len(), 900),
            other => panic!("{other:?}"),
        }
        let c = h
            .config(r#"{"credsStore": "just-under"}"#)
            .with_max_helper_output(900);
        assert!(matches!(
            c.get("r.example").await,
            Err(CredentialError::HelperOutputTooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn helper_that_ignores_stdin_and_exits() {
        let h = Helpers::new();
        h.add("quick", r#"echo '{"Username":"q","Secret":"r"}'"#);
        let c = h.config(r#"{"credsStore": "quick"}"#);
        assert_eq!(c.get("r.example").await.unwrap(), basic("q", "r"));
    }

    /// Whether `pid` names a process, a zombie included (one nobody has reaped).
    fn exists(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[tokio::test]
    async fn helper_killed_at_the_deadline_is_reaped() {
        let h = Helpers::new();
        for (name, script) in [
            // The shell is the child; `sleep` is a grandchild holding stdout open.
            ("slow", "echo $$ > '{pid}'; sleep 5"),
            ("slow-exec", "echo $$ > '{pid}'; exec sleep 30"),
        ] {
            let pid_file = h.pid_file(name);
            h.add(
                name,
                &script.replace("{pid}", &pid_file.display().to_string()),
            );
            let c = h
                .config(&format!(r#"{{"credsStore": "{name}"}}"#))
                .with_helper_timeout(Duration::from_millis(500));
            let e = c.get("r.example").await.unwrap_err();
            assert!(
                matches!(e, CredentialError::HelperTimeout { .. }),
                "{name}: {e}"
            );
            let pid = h.pid_of(name).await;
            // Reaped before the error was returned: not even a zombie is left.
            assert!(!exists(pid), "{name}: helper {pid} is still there");
        }
    }

    #[tokio::test]
    async fn output_over_the_cap_is_an_error_and_the_helper_is_reaped() {
        let h = Helpers::new();
        for (name, stream, script) in [
            (
                "over",
                "stdout",
                "echo $$ > '{pid}'; head -c 1025 /dev/zero; sleep 30",
            ),
            (
                "over-stderr",
                "stderr",
                "echo $$ > '{pid}'; head -c 1025 /dev/zero >&2; exec sleep 30",
            ),
        ] {
            let pid_file = h.pid_file(name);
            h.add(
                name,
                &script.replace("{pid}", &pid_file.display().to_string()),
            );
            let c = h
                .config(&format!(r#"{{"credsStore": "{name}"}}"#))
                .with_max_helper_output(1024);
            match c.get("r.example").await {
                Err(CredentialError::HelperOutputTooLarge { stream: s, max, .. }) => {
                    assert_eq!((s, max), (stream, 1024), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
            let pid = h.pid_of(name).await;
            assert!(!exists(pid), "{name}: helper {pid} is still there");
        }
    }

    #[tokio::test]
    async fn dropping_the_lookup_kills_the_helper() {
        let h = Helpers::new();
        let pid_file = h.pid_file("wait");
        h.add(
            "wait",
            &format!("echo $$ > '{}'; exec sleep 30", pid_file.display()),
        );
        let c = h
            .config(r#"{"credsStore": "wait"}"#)
            .with_helper_timeout(Duration::from_secs(60));
        let mut lookup = Box::pin(c.get("r.example"));
        let pid = tokio::select! {
            r = &mut lookup => panic!("the lookup finished: {r:?}"),
            pid = h.pid_of("wait") => pid,
        };
        assert!(exists(pid));
        drop(lookup);
        // Killed on drop, then reaped by Tokio in the background.
        for _ in 0..1000 {
            if !exists(pid) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("helper {pid} is still there 10 s after its lookup was dropped");
    }

    #[test]
    fn hostname_conversion() {
        for (key, host) in [
            ("https://r.example/v1/", "r.example"),
            ("http://r.example:5000", "r.example:5000"),
            ("https://user@r.example/x", "r.example"),
            ("r.example/path", "r.example"),
            ("r.example", "r.example"),
            ("https://r.example:/x", "r.example"),
            ("https:///x", "https:"),
        ] {
            assert_eq!(convert_to_hostname(key), host, "{key}");
        }
    }
}
