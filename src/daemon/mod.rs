//! `notaryd serve`: the resident verifier.
//!
//! Start-up order: the configuration is loaded and validated and the first snapshot built
//! (policies, trust stores, revocation set) before any socket is opened, so a daemon that
//! answers always has a policy. Then the verifier socket (inherited from systemd through
//! `LISTEN_FDS`, or bound with the configured mode and group), the optional metrics listener,
//! and `READY=1`. SIGHUP or a change to a watched file reloads: a new snapshot is built and
//! swapped in only if every part of it loads (`RELOADING=1` … `READY=1`); otherwise the old
//! one keeps serving and the error is logged, counted and shown by `Status`. SIGTERM or
//! SIGINT stops accepting, gives in-flight requests the configured grace, and exits.

pub mod memory;
pub(crate) mod metrics;
pub(crate) mod service;

// The snapshot, under the path it had when it lived here (`main` reads the bundle path).
pub use crate::service::snapshot;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::UnixListenerStream;

use crate::api::v1::verifier_server::VerifierServer;
use crate::config::{Config, ConfigError, Overrides};
use crate::service::audit::AuditLog;
use crate::service::decider::Decider;
use crate::service::metrics::{Metrics, ResultLabels};
use service::VerifierService;
use snapshot::{Snapshot, SnapshotError};

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A policy, trust store or revocation bundle is refused.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A socket, file or listener could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The sockets systemd passed do not fit the configuration.
    #[error("sockets from systemd: {0}")]
    Sockets(String),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Server(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

/// Loads the configuration and the first snapshot, as `serve` and `config check` do.
pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Snapshot, DaemonError> {
    let config = Config::load(config_file, overrides)?;
    Ok(Snapshot::load(config, 1, crate::clock::now())?)
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config_file: Option<PathBuf>, overrides: Overrides) -> Result<(), DaemonError> {
    // Settled once: a reload reads the same file (and fails if it is gone, rather than
    // falling back to the built-in defaults), and it is watched like the others.
    let config_file = config_file.or_else(|| {
        let default = Path::new(crate::config::DEFAULT_CONFIG_FILE);
        default.is_file().then(|| default.to_owned())
    });
    let snapshot = load(config_file.as_deref(), &overrides)?;
    let config = snapshot.config.clone();
    let audit = AuditLog::open(&config.audit).map_err(io("audit log"))?;
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(Decider::new(snapshot, Arc::clone(&metrics), audit));

    let mut passed = sockets_from_systemd()?;
    // A socket nobody serves would take connections and never answer them. Checked before
    // anything is bound, so that a refused start leaves no socket file behind.
    let stray: Vec<String> = passed
        .iter()
        .filter(|(p, _)| {
            !std::iter::once(&config.socket)
                .chain(config.cri.as_ref().map(|c| &c.socket))
                .any(|configured| same_socket_path(p, configured))
        })
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !stray.is_empty() {
        return Err(DaemonError::Sockets(format!(
            "systemd passed socket(s) {} (LISTEN_FDS) that match no configured socket \
             ([server] socket, [cri] socket): configure them or remove them from the socket units",
            stray.join(", ")
        )));
    }
    let (listener, inherited) = open_listener(
        &mut passed,
        "verifier",
        &config.socket,
        config.socket_mode,
        config.socket_group.as_deref(),
    )?;
    let cri = match &config.cri {
        None => None,
        Some(c) => Some((
            c,
            open_listener(
                &mut passed,
                "CRI proxy",
                &c.socket,
                c.socket_mode,
                c.socket_group.as_deref(),
            )?,
        )),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    if let Some(addr) = config.metrics_listen {
        let l = metrics::bind(addr)
            .await
            .map_err(io(format!("metrics listener {addr}")))?;
        let s = Arc::clone(&state);
        tokio::spawn(metrics::serve(
            l,
            Arc::clone(&metrics),
            Arc::new(move || s.refresh_gauges()),
            stop_rx.clone(),
        ));
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
    }

    let mut cri_socket_to_remove = None;
    if let Some((c, (cri_listener, cri_inherited))) = cri {
        let proxy = Arc::new(crate::cri::CriProxy::new(
            Arc::clone(&state),
            crate::cri::CriProxyConfig {
                containerd_socket: c.containerd_socket.clone(),
                namespace: c.namespace.clone(),
                mode: if c.audit {
                    crate::cri::CriMode::Audit
                } else {
                    crate::cri::CriMode::Enforce
                },
            },
        ));
        tokio::spawn(crate::cri::serve(cri_listener, proxy, stop_rx.clone()));
        tracing::info!(
            socket = %c.socket.display(),
            containerd = %c.containerd_socket.display(),
            mode = if c.audit { "audit" } else { "enforce" },
            "CRI ImageService proxy serving"
        );
        if !cri_inherited {
            cri_socket_to_remove = Some(c.socket.clone());
        }
    }

    // Reloads: SIGHUP and, when enabled, polling of the watched files.
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel::<&'static str>(4);
    {
        let tx = reload_tx.clone();
        let mut hup = signal(SignalKind::hangup()).map_err(io("SIGHUP handler"))?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let _ = tx.send("SIGHUP").await;
            }
        });
    }
    if config.watch {
        let s = Arc::clone(&state);
        let tx = reload_tx.clone();
        let file = config_file.clone();
        let interval = config.poll_interval;
        tokio::spawn(async move {
            let mut last = fingerprint(&s.snapshot().watched_files(file.as_deref()));
            loop {
                tokio::time::sleep(interval).await;
                let files = s.snapshot().watched_files(file.as_deref());
                let now = tokio::task::spawn_blocking(move || fingerprint(&files))
                    .await
                    .unwrap_or_default();
                if now != last {
                    last = now;
                    let _ = tx.send("a watched file changed").await;
                }
            }
        });
    }
    {
        let s = Arc::clone(&state);
        let file = config_file.clone();
        let overrides = overrides.clone();
        tokio::spawn(async move {
            while let Some(why) = reload_rx.recv().await {
                reload(&s, file.clone(), overrides.clone(), why).await;
            }
        });
    }

    // Memory freed by a burst goes back to the system once the burst is over.
    tokio::spawn(memory::trim_after_bursts(Arc::clone(&state)));

    let service = VerifierServer::new(VerifierService::new(Arc::clone(&state)))
        .max_decoding_message_size(config.max_request_bytes);
    let per_connection = config.max_concurrent_requests_per_connection;
    let server = tonic::transport::Server::builder()
        // HTTP/2 itself refuses more streams than this per connection, and the service runs
        // at most this many at once per connection: one connection cannot hog the daemon.
        .max_concurrent_streams(Some(u32::try_from(per_connection).unwrap_or(u32::MAX)))
        .concurrency_limit_per_connection(per_connection)
        .add_service(service);

    let mut term = signal(SignalKind::terminate()).map_err(io("SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io("SIGINT handler"))?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_incoming_shutdown(
        // Stock gRPC clients name the socket as :authority, which h2 refuses.
        UnixListenerStream::new(listener).map(|r| r.map(crate::api::unix_authority::accept)),
        async {
            let _ = shutdown_rx.await;
        },
    ));
    notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(
        socket = %config.socket.display(),
        generation = state.snapshot().generation,
        "notaryd {} serving",
        env!("CARGO_PKG_VERSION")
    );

    let mut serving = serving;
    let signal_name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        r = &mut serving => {
            return match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(DaemonError::Server(e.to_string())),
                Err(e) => Err(DaemonError::Server(e.to_string())),
            };
        }
    };
    tracing::info!(grace = ?config.shutdown_grace, "{signal_name}: draining in-flight requests");
    notify(&[sd_notify::NotifyState::Stopping]);
    state.stop_serving();
    let _ = stop_tx.send(true);
    let _ = shutdown_tx.send(());
    match tokio::time::timeout(config.shutdown_grace, &mut serving).await {
        Ok(_) => tracing::info!("stopped"),
        Err(_) => {
            serving.abort();
            tracing::warn!("stopped after the grace period with requests still open");
        }
    }
    if !inherited {
        let _ = std::fs::remove_file(&config.socket);
    }
    if let Some(p) = cri_socket_to_remove {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

async fn reload(
    state: &Arc<Decider>,
    config_file: Option<PathBuf>,
    overrides: Overrides,
    why: &str,
) {
    let mut states = vec![sd_notify::NotifyState::Reloading];
    if let Ok(t) = sd_notify::NotifyState::monotonic_usec_now() {
        states.push(t);
    }
    notify(&states);
    // A reload is also how log rotation tells notaryd to let go of the old audit file; that
    // does not wait for the new configuration to be valid.
    if let Err(e) = state.reopen_audit_log() {
        tracing::error!(error = %e, "audit log: reopening failed; still writing to the old file");
    }
    let current = state.snapshot();
    let generation = current.generation + 1;
    let old_config = current.config.clone();
    drop(current);
    let built = tokio::task::spawn_blocking(move || {
        let config = Config::load(config_file.as_deref(), &overrides)?;
        Snapshot::load(config, generation, crate::clock::now()).map_err(DaemonError::from)
    })
    .await;
    let result = match built {
        Ok(r) => r,
        Err(e) => Err(DaemonError::Server(format!("reload task: {e}"))),
    };
    match result {
        Ok(snapshot) => {
            for (key, changed) in restart_only_changes(&old_config, &snapshot.config) {
                if changed {
                    tracing::warn!("{key} changed: it takes effect at the next restart");
                }
            }
            state.install(snapshot);
            state
                .counters
                .reloads_succeeded
                .fetch_add(1, Ordering::Relaxed);
            if let Ok(mut e) = state.counters.last_reload_error.lock() {
                e.clear();
            }
            state
                .metrics
                .reloads
                .get_or_create(&ResultLabels {
                    result: "success".into(),
                })
                .inc();
            tracing::info!(generation, "reloaded ({why})");
        }
        Err(e) => {
            state
                .counters
                .reloads_failed
                .fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = state.counters.last_reload_error.lock() {
                *last = e.to_string();
            }
            state
                .metrics
                .reloads
                .get_or_create(&ResultLabels {
                    result: "failure".into(),
                })
                .inc();
            tracing::error!(error = %e, "reload ({why}) failed; still serving generation {}", generation - 1);
        }
    }
    notify(&[sd_notify::NotifyState::Ready]);
}

fn restart_only_changes(old: &Config, new: &Config) -> [(&'static str, bool); 8] {
    [
        ("server.socket", old.socket != new.socket),
        (
            "server.socket_mode / socket_group",
            old.socket_mode != new.socket_mode || old.socket_group != new.socket_group,
        ),
        (
            "server concurrency and size limits",
            old.max_concurrent_requests != new.max_concurrent_requests
                || old.max_concurrent_requests_per_connection
                    != new.max_concurrent_requests_per_connection
                || old.max_request_bytes != new.max_request_bytes,
        ),
        (
            "cache",
            old.cache_max_entries != new.cache_max_entries || old.cache_ttl != new.cache_ttl,
        ),
        ("audit.path", old.audit != new.audit),
        ("metrics.listen", old.metrics_listen != new.metrics_listen),
        (
            "reload",
            old.watch != new.watch || old.poll_interval != new.poll_interval,
        ),
        (
            "registry timeouts and max_body_bytes_in_flight",
            old.connect_timeout != new.connect_timeout
                || old.request_timeout != new.request_timeout
                || old.max_body_bytes_in_flight != new.max_body_bytes_in_flight,
        ),
    ]
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// The unix sockets systemd passed (`LISTEN_FDS` for this process), each with its path.
/// They are matched to the configured sockets by path, not by position, so that a socket
/// unit listing them in another order, or one more than is configured, is not served wrongly.
fn sockets_from_systemd() -> Result<Vec<(PathBuf, std::os::unix::net::UnixListener)>, DaemonError> {
    let mut fds = listenfd::ListenFd::from_env();
    let mut passed = Vec::new();
    for index in 0..fds.len() {
        let what = format!("socket #{index} passed by systemd (LISTEN_FDS)");
        let listener = fds
            .take_unix_listener(index)
            .map_err(io(format!(
                "{what}: notaryd takes only ListenStream= unix sockets"
            )))?
            .ok_or_else(|| DaemonError::Sockets(format!("{what}: already taken")))?;
        let path = listener
            .local_addr()
            .map_err(io(what.clone()))?
            .as_pathname()
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                DaemonError::Sockets(format!("{what} has no path (abstract or unnamed)"))
            })?;
        passed.push((path, listener));
    }
    Ok(passed)
}

/// Whether two socket paths name the same place (their directories resolved, so that
/// `/var/run/...` and `/run/...` agree).
fn same_socket_path(a: &Path, b: &Path) -> bool {
    fn resolved(p: &Path) -> PathBuf {
        match (p.parent(), p.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| p.to_path_buf()),
            _ => p.to_path_buf(),
        }
    }
    a == b || resolved(a) == resolved(b)
}

/// A listening socket at `path`: the one systemd passed for that path, else a new one with
/// `mode` and `group`. The second value says whether it was inherited (then it is not ours
/// to remove).
fn open_listener(
    passed: &mut Vec<(PathBuf, std::os::unix::net::UnixListener)>,
    what: &str,
    path: &Path,
    mode: u32,
    group: Option<&str>,
) -> Result<(UnixListener, bool), DaemonError> {
    if let Some(i) = passed.iter().position(|(p, _)| same_socket_path(p, path)) {
        let (_, std_listener) = passed.remove(i);
        std_listener
            .set_nonblocking(true)
            .map_err(io(format!("{what} socket from systemd")))?;
        tracing::info!(socket = %path.display(), "{what}: serving on the socket passed by systemd");
        return Ok((
            UnixListener::from_std(std_listener)
                .map_err(io(format!("{what} socket from systemd")))?,
            true,
        ));
    }
    Ok((bind_socket(path, mode, group)?, false))
}

/// Binds `path` with `mode` and `group` without a moment at other permissions: the socket is
/// bound in a private directory (mode 0700) next to it, given its group and mode there, and
/// renamed into place. A stale socket (nobody listening: connection refused) is replaced;
/// a live one or any other file is not.
pub(crate) fn bind_socket(
    path: &Path,
    mode: u32,
    group: Option<&str>,
) -> Result<UnixListener, DaemonError> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
    let shown = path.display().to_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(io(format!("creating {}", dir.display())))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io(format!("removing stale socket {shown}")))?;
                }
                Ok(_) => {
                    return Err(DaemonError::Io {
                        what: format!("socket {shown}"),
                        source: std::io::Error::new(
                            std::io::ErrorKind::AddrInUse,
                            "another process is serving on it",
                        ),
                    });
                }
                Err(e) => {
                    return Err(DaemonError::Io {
                        what: format!("socket {shown} (is another notaryd serving on it?)"),
                        source: e,
                    });
                }
            }
        }
        Ok(_) => {
            return Err(DaemonError::Io {
                what: format!("socket {shown}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file that is not a socket is in the way",
                ),
            });
        }
        Err(_) => {}
    }
    let private = dir.join(format!(".notaryd-bind.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(io(format!("creating {}", private.display())))?;
    let staged = private.join("sock");
    let result = (|| {
        let listener = UnixListener::bind(&staged).map_err(io(format!("binding {shown}")))?;
        if let Some(group) = group {
            let gid = resolve_group(group).map_err(io(format!("socket group {group:?}")))?;
            std::os::unix::fs::chown(&staged, None, Some(gid))
                .map_err(io(format!("chgrp {shown}")))?;
        }
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
            .map_err(io(format!("chmod {shown}")))?;
        std::fs::rename(&staged, path).map_err(io(format!("moving the socket to {shown}")))?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// A group name (from /etc/group) or numeric gid.
pub fn resolve_group(group: &str) -> std::io::Result<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let text = std::fs::read_to_string("/etc/group")?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _pw = f.next()?;
            let gid = f.next()?.parse::<u32>().ok()?;
            Some((name, gid))
        })
        .find(|(name, _)| *name == group)
        .map(|(_, gid)| gid)
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such group in /etc/group")
        })
}

/// One watched path and what identifies its state: (size, inode, modification time), or
/// `None` when it does not exist.
pub(crate) type FileState = (PathBuf, Option<(u64, u64, Option<SystemTime>)>);

/// What identifies the state of the watched files: for each, its metadata (following
/// symlinks, so that Kubernetes' ConfigMap symlink swaps are seen), and for a directory,
/// that of every entry below it (bounded).
pub(crate) fn fingerprint(paths: &[PathBuf]) -> Vec<FileState> {
    const MAX_ENTRIES: usize = 10_000;
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = paths.iter().map(|p| (p.clone(), 0)).collect();
    while let Some((path, depth)) = stack.pop() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let meta = std::fs::metadata(&path).ok();
        if let Some(m) = &meta
            && m.is_dir()
            && depth < 6
            && let Ok(listing) = std::fs::read_dir(&path)
        {
            let mut children: Vec<PathBuf> =
                listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            stack.extend(children.into_iter().map(|c| (c, depth + 1)));
        }
        let id = meta.map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.len(), m.ino(), m.modified().ok())
        });
        out.push((path, id));
    }
    out.sort();
    out
}
