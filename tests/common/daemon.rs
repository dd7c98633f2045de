//! The real `notaryd serve` for end-to-end tests: started from the built binary with a
//! configuration in a temporary directory (socket, policy, trust store, audit log there too),
//! waited for until Health answers SERVING, asked over gRPC on its unix socket, signalled,
//! and stopped by PID when dropped.
#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use notaryd::api::v1;
use notaryd::api::v1::verifier_client::VerifierClient;
use tonic::transport::Channel;

use super::pki::Chain;

const START_DEADLINE: Duration = Duration::from_secs(15);

/// A notation configuration directory trusting `chain`'s root as `ca:acme` for `scopes`.
pub fn write_notation_config(dir: &Path, chain: &Chain, scopes: &[&str], level: &str) {
    let store = dir.join("truststore/x509/ca/acme");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.pem"), chain.root.pem()).unwrap();
    write_policy(
        &dir.join("trustpolicy.json"),
        "daemon",
        scopes,
        level,
        &["ca:acme"],
    );
}

/// A trust policy document with one statement.
pub fn write_policy(path: &Path, name: &str, scopes: &[&str], level: &str, stores: &[&str]) {
    let policy = serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": name, "registryScopes": scopes,
        "signatureVerification": {"level": level},
        "trustStores": stores, "trustedIdentities": ["*"],
    }]});
    // Written to a temporary name and renamed, as an operator's tooling would, so the daemon
    // never reads half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, policy.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The `notaryd` binary: the one cargo built for these integration tests, or, for benches and
/// examples that share this harness, the one next to the running executable's directory.
pub fn notaryd_binary() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_notaryd") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<bench> or target/<profile>/examples/<example>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join("notaryd")
}

/// A running daemon.
pub struct TestDaemon {
    child: Option<Child>,
    /// Its temporary directory (config, socket, logs).
    pub dir: tempfile::TempDir,
    /// The verifier socket.
    pub socket: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// The notation configuration directory it uses.
    pub notation: PathBuf,
    /// The CRI proxy's socket (served when the options asked for it).
    pub cri_socket: PathBuf,
    /// Its standard error (tracing logs).
    pub stderr_path: PathBuf,
    /// The audit log.
    pub audit_path: PathBuf,
}

/// How to start one.
pub struct DaemonOptions {
    /// Extra lines in the generated `[server]` section.
    pub server: String,
    /// Extra lines in the generated `[registry]` section.
    pub registry: String,
    /// Extra TOML appended to the generated configuration (sections of their own).
    pub extra_toml: String,
    /// Environment variables for the process.
    pub env: Vec<(String, String)>,
    /// Run through `systemd-socket-activate` on the socket path (socket activation).
    pub socket_activated: bool,
    /// With `socket_activated`: the sockets passed, in this order (`{socket}` and `{cri}`
    /// stand for the daemon's two; other entries are paths in its directory). Default: the
    /// verifier socket only.
    pub activated_sockets: Vec<String>,
    /// Wait for Health SERVING.
    pub wait: bool,
    /// Serve the CRI proxy (at `<dir>/run/cri.sock`) in front of this containerd socket.
    pub cri_containerd_socket: Option<PathBuf>,
    /// Extra lines in the generated `[cri]` section.
    pub cri: String,
    /// Extra lines in the generated `[revocation]` section.
    pub revocation: String,
}

impl DaemonOptions {
    /// Use this revocation bundle.
    pub fn with_revocation_bundle(mut self, path: &Path) -> Self {
        self.revocation
            .push_str(&format!("bundle = \"{}\"\n", path.display()));
        self
    }
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            server: String::new(),
            registry: String::new(),
            extra_toml: String::new(),
            env: Vec::new(),
            socket_activated: false,
            activated_sockets: Vec::new(),
            wait: true,
            cri_containerd_socket: None,
            cri: String::new(),
            revocation: String::new(),
        }
    }
}

impl TestDaemon {
    /// Starts `notaryd serve` with a notation configuration made by `notation` (called with
    /// the directory to fill) and `options`.
    pub fn start(notation: impl FnOnce(&Path), options: DaemonOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let notation_dir = dir.path().join("notation");
        std::fs::create_dir_all(&notation_dir).unwrap();
        notation(&notation_dir);
        let socket = dir.path().join("run/notaryd.sock");
        let audit_path = dir.path().join("audit.jsonl");
        let config = dir.path().join("config.toml");
        let cri_socket = dir.path().join("run/cri.sock");
        let cri_section = match &options.cri_containerd_socket {
            Some(containerd) => format!(
                "[cri]\nsocket = \"{}\"\ncontainerd_socket = \"{}\"\n{}\n",
                cri_socket.display(),
                containerd.display(),
                options.cri
            ),
            None => String::new(),
        };
        let text = format!(
            "[server]\nsocket = \"{socket}\"\n{server}\n\n[policy]\nnotation_config = \"{notation}\"\n\n\
             [revocation]\nstate_dir = \"{state}\"\n{revocation}\n\n[registry]\nhosts_dir = \"{hosts}\"\n\
             docker_config = \"{docker}\"\n{registry}\n\n[audit]\npath = \"{audit}\"\n\n{cri_section}\n{extra}\n",
            server = options.server,
            revocation = options.revocation,
            registry = options.registry,
            socket = socket.display(),
            notation = notation_dir.display(),
            state = dir.path().join("revocation").display(),
            hosts = dir.path().join("certs.d").display(),
            docker = dir.path().join("docker-config.json").display(),
            audit = audit_path.display(),
            extra = options.extra_toml,
        );
        std::fs::write(&config, text).unwrap();
        std::fs::create_dir_all(dir.path().join("certs.d")).unwrap();
        let stderr_path = dir.path().join("stderr.log");
        let mut d = Self {
            child: None,
            cri_socket,
            socket,
            config,
            notation: notation_dir,
            stderr_path,
            audit_path,
            dir,
        };
        d.spawn(&options);
        d
    }

    fn spawn(&mut self, options: &DaemonOptions) {
        let stderr = std::fs::File::create(&self.stderr_path).unwrap();
        let bin = notaryd_binary();
        let mut cmd = if options.socket_activated {
            std::fs::create_dir_all(self.socket.parent().unwrap()).unwrap();
            let mut c = Command::new("systemd-socket-activate");
            if options.activated_sockets.is_empty() {
                c.arg("-l").arg(&self.socket);
            }
            for name in &options.activated_sockets {
                let path = match name.as_str() {
                    "{socket}" => self.socket.clone(),
                    "{cri}" => self.cri_socket.clone(),
                    other => self.dir.path().join(other),
                };
                c.arg("-l").arg(path);
            }
            c.arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(["serve", "--config"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .env("NOTARYD_LOG", "info");
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start notaryd serve"));
        if options.wait && !options.socket_activated {
            self.wait_serving();
        }
    }

    /// Stops the daemon with SIGTERM (its grace period drains what is in flight), keeps its
    /// log as `stderr.log.N`, and starts it again on the same configuration, socket and audit
    /// log; waits for SERVING.
    pub fn restart(&mut self, options: &DaemonOptions) {
        self.signal(rustix::process::Signal::TERM);
        let code = self.wait_exit(Duration::from_secs(30));
        assert_eq!(
            code,
            Some(0),
            "the daemon did not stop cleanly\n{}",
            self.log()
        );
        let mut n = 1;
        while self.stderr_path.with_extension(format!("log.{n}")).exists() {
            n += 1;
        }
        std::fs::rename(
            &self.stderr_path,
            self.stderr_path.with_extension(format!("log.{n}")),
        )
        .unwrap();
        self.spawn(options);
    }

    /// Waits until the socket answers Health with SERVING; panics with the daemon's log.
    pub fn wait_serving(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        let rt = runtime();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "notaryd serve exited with {status}\n--- log ---\n{}",
                    self.log()
                );
            }
            if self.socket.exists() {
                let ok = rt.block_on(async {
                    let Ok(mut c) = notaryd::cli::daemon_client(&self.socket).await else {
                        return false;
                    };
                    c.health(v1::HealthRequest {}).await.is_ok_and(|r| {
                        r.into_inner().status == v1::health_response::ServingStatus::Serving as i32
                    })
                });
                if ok {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "notaryd serve did not become ready\n--- log ---\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A gRPC client.
    pub async fn client(&self) -> VerifierClient<Channel> {
        notaryd::cli::daemon_client(&self.socket)
            .await
            .unwrap_or_else(|e| panic!("{e}\n--- log ---\n{}", self.log()))
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The audit log's lines, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
            .collect()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends a signal.
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Waits for the process to exit (at most `within`) and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A small runtime for blocking helpers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A Verify request for `reference`.
pub fn request(reference: &str) -> v1::VerifyRequest {
    v1::VerifyRequest {
        reference: reference.to_owned(),
        descriptor: None,
        auth: None,
        namespace: String::new(),
        report_format: v1::ReportFormat::None as i32,
        cache_only: false,
    }
}

/// Calls Status.
pub async fn status(client: &mut VerifierClient<Channel>) -> v1::StatusResponse {
    client
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Counts the requests notaryd sent, in a `docker-registry` access log, whose method and
/// path start match.
pub fn registry_requests(log: &str, method: &str, path_prefix: &str) -> usize {
    let needle = format!("\"{method} {path_prefix}");
    log.lines()
        .filter(|l| {
            l.contains(&needle)
                && l.ends_with(concat!("\"notaryd/", env!("CARGO_PKG_VERSION"), "\""))
        })
        .count()
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`), for the benches' memory figures.
pub fn vm(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Open file descriptors of `pid`.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
