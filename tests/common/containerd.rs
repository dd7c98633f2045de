//! A real containerd for end-to-end tests of the CRI proxy and the bindir image verifier: the
//! daemon started as root on a unix socket in a temporary directory (root, state, temp, config,
//! log and hosts directory all there), waited for until its gRPC API answers, asked over CRI
//! (`runtime.v1.ImageService`, served on the same socket) and over containerd's own API
//! (images, content, snapshots, introspection), driven with the `ctr` of the same build, and
//! stopped by PID when dropped (SIGTERM, SIGKILL after a grace; leftover mounts under its
//! directory are detached; the directory is removed).
//!
//! ```ignore
//! let reg = TestRegistry::anonymous();
//! let image = push_unpackable_image(&reg, "hello", "v1", &[("hello.txt", b"hi")]);
//! let ctrd = TestContainerd::start(ContainerdOptions::new(Containerd21).plain_http(reg.host()));
//! runtime().block_on(async {
//!     let id = ctrd.pull(&image.by_tag(), None).await.unwrap();   // CRI PullImage
//!     assert!(ctrd.content_has(&image.layer.digest).await);         // content API, k8s.io
//! });
//! ```
//!
//! # The two versions
//!
//! - **1.6** ([`ContainerdVersion::Containerd16`]): containerd 1.6.20 from Debian 12's
//!   `containerd` package, `/usr/bin/containerd` and `/usr/bin/ctr` (`apt-get install
//!   containerd`; `scripts/test.sh` installs it). Config `version = 2`; CRI is the single plugin
//!   `io.containerd.grpc.v1.cri` (snapshotter under `.containerd`, hosts directory under
//!   `.registry.config_path`). CRI pulls with the client-side pull code inside the daemon;
//!   there is no transfer service and no image verifier plugin, so asking for a verifier
//!   directory on 1.6 is refused. `ctr images pull` is a client-side pull too.
//! - **2.1** ([`ContainerdVersion::Containerd21`]): containerd **2.1.9**, Debian package
//!   `2.1.9+ds1-5` from Debian forky (testing) / sid (unstable), pinned with its SHA-256 in
//!   `scripts/fetch-containerd.sh`, which downloads it under a private apt state and unpacks it
//!   in `target/containerd-2.1.9/` (`$NOTARYD_TEST_CONTAINERD21_BIN` overrides the binary).
//!   It needs only libc (>= 2.34), so it runs on Debian 12. Config `version = 3`; CRI is split
//!   into `io.containerd.cri.v1.images` (snapshotter, `registry.config_path`, pull mode),
//!   `io.containerd.cri.v1.runtime` (CNI) and `io.containerd.grpc.v1.cri` (the gRPC server).
//!   `containerd --version` says `2.1.9+unknown` (Debian builds without the git revision).
//!
//! # What 2.1 needs so that image verifiers see every pull
//!
//! - `io.containerd.image-verifier.v1.bindir`: `bin_dir` (the default is the host's
//!   `/opt/containerd/image-verifier/bin`, so the harness always points it into its own
//!   directory, an empty one unless [`ContainerdOptions::verifier_bin_dir`] is given), and
//!   `per_verifier_timeout`. The directory is listed on every pull: a verifier written after
//!   the start is used; an empty directory allows every pull.
//! - CRI must pull through the transfer service: `use_local_image_pull = false` (the default)
//!   and none of the settings the transfer service cannot honour. Each of these makes the CRI
//!   images plugin log, once at start and at warning level only, "Found '<GoFieldName>' in CRI
//!   config which is incompatible with transfer service (<why>). Falling back to local image
//!   pull mode." and then every CRI pull skips every verifier without a word:
//!   `disable_snapshot_annotations = false` ("moved to snapshotter plugin when using transfer
//!   service"), `discard_unpacked_layers = true` and `image_pull_with_sync_fs = true` ("not
//!   supported with transfer service"); `use_local_image_pull = true` logs nothing at all.
//!   `tests/it/containerd_harness.rs` pins each down (the deny-listed image pulls through CRI
//!   while `ctr` on the same daemon is denied). The harness writes the four transfer-compatible
//!   values explicitly and reports the mode it ended up in ([`TestContainerd::cri_pull_mode`]).
//! - The verifier runs right after the reference is resolved (a `HEAD` of the manifest) and
//!   before anything is fetched: a denied image leaves not even its manifest in the content
//!   store. containerd runs it as `<bin> -name <ref as given, e.g. host/repo:tag> -digest
//!   <manifest digest> -stdin-media-type application/vnd.oci.descriptor.v1+json` with the
//!   descriptor JSON (`mediaType`, `digest`, `size`) on stdin. A denial fails CRI PullImage with
//!   gRPC code `Unknown` and a message holding "image verifier bindir blocked pull of <ref> with
//!   digest <digest>" and the verifier's stdout; `ctr` prints the same on stderr.
//! - The transfer service reads hosts directories itself: `io.containerd.transfer.v1.local`
//!   `config_path` is set to the same directory as CRI's, and `ctr images pull --hosts-dir`
//!   hands its directory to the daemon. It unpacks only for the (platform, snapshotter) pairs
//!   of its `unpack_config`, whose default names overlayfs: the harness writes the snapshotter
//!   in use there.
//! - `ctr images pull` goes through the transfer service by default on 2.x (verifiers run);
//!   `ctr images pull --local` is a client-side pull that no verifier sees.
//! - 2.x reads its configuration strictly but only warns ("Ignoring unknown key in TOML") about
//!   a key it does not know, in a plugin table as at the top level, and runs with the default.
//!   A key written after the wrong table header is such a key: the harness refuses to go on
//!   when containerd logged that warning.
//!
//! # Both versions
//!
//! - Snapshotter: overlayfs, or native when the overlayfs plugin does not load here
//!   ([`Snapshotter::Auto`]). containerd's overlayfs plugin checks at start that it can mount
//!   an overlay in its root and reports a failure through the introspection API (`init_err`);
//!   the harness asks, and restarts on a clean directory with `native`. On 2.x a snapshotter
//!   that failed to load also fails the transfer service and with it CRI and the sandbox
//!   controllers, so the restart also lists the overlayfs plugin in `disabled_plugins`. On this
//!   machine overlayfs works, on tmpfs as on ext4; the fallback is tested by pointing the
//!   plugin's `root_path` at a regular file.
//! - Paths the defaults would take from the host are all moved into the temporary directory:
//!   root, state, temp, the gRPC and ttrpc sockets, the `opt` plugin directory, the CNI
//!   configuration and binary directories (an empty CNI configuration only logs an error), the
//!   verifier directory. NRI (enabled by default on 2.x, socket `/var/run/nri/nri.sock`) and the
//!   storage drivers that cannot work here (btrfs, zfs, devmapper, aufs, blockfile, erofs) are
//!   disabled. The debug socket is not opened. The 2.1 daemon still creates an empty
//!   `/run/containerd` at start (1.6 does not).
//! - The CRI stream server listens on 127.0.0.1 with a port of its choice; the TCP CRI service is
//!   off. Plain-HTTP registries are reached through a hosts directory
//!   (`<dir>/<host>/hosts.toml` with `server = "http://<host>"`).
//! - Start-up until the Version API answers takes 30-50 ms here (both versions, two cores); the
//!   harness then checks that CRI answers ImageFsInfo. A CRI pull of a one-layer image from the
//!   local registry takes about 20 ms; the verifier shell script adds about 4 ms.
//! - CRI records an image under three names in namespace `k8s.io`: `host/repo:tag`,
//!   `host/repo@<manifest digest>` and the image id (the config digest), which is also what
//!   PullImage answers. Content is shared between namespaces on disk, but the content API of a
//!   namespace only shows what was pulled in it (`ctr` pulls here go to another namespace).
//! - Images containerd must unpack need real tar layers and a config with `rootfs.diff_ids`:
//!   [`push_unpackable_image`] pushes those with the registry harness's push helpers
//!   ([`TestRegistry::image`]'s layer is arbitrary bytes, which containerd can fetch but not
//!   unpack).
#![allow(
    dead_code,
    // A test helper: failing loudly with containerd's log is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    // Start-up and calls are bounded in wall time.
    clippy::disallowed_methods
)]

use std::ffi::OsStr;
use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::introspection_client::IntrospectionClient;
use containerd_client::services::v1::snapshots::StatSnapshotRequest;
use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::version_client::VersionClient;
use containerd_client::services::v1::{InfoRequest, ListImagesRequest, PluginsRequest};
use notaryd::api::cri;
use notaryd::api::cri::image_service_client::ImageServiceClient;
use serde_json::json;
use tonic::transport::Channel;

use super::layout::{
    Desc, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_LAYER, MEDIA_TYPE_MANIFEST, image_manifest,
};
use super::registry::TestRegistry;

/// Overrides where the containerd 1.6 binary is (default: Debian 12's `/usr/bin/containerd`).
pub const CONTAINERD16_BIN_ENV: &str = "NOTARYD_TEST_CONTAINERD16_BIN";
/// Overrides where the containerd 2.1 binary is (default: what `scripts/fetch-containerd.sh`
/// unpacked).
pub const CONTAINERD21_BIN_ENV: &str = "NOTARYD_TEST_CONTAINERD21_BIN";
/// Where `scripts/fetch-containerd.sh` unpacks (default: `<crate>/target`).
pub const CONTAINERD_CACHE_ENV: &str = "NOTARYD_CONTAINERD_CACHE";
/// The containerd 2.1 release `scripts/fetch-containerd.sh` pins.
pub const CONTAINERD21_PINNED: &str = "2.1.9";
/// Its Debian package version (the script's `VERSION`).
pub const CONTAINERD21_DEBIAN_VERSION: &str = "2.1.9+ds1-5";
/// The containerd namespace of CRI's images.
pub const K8S_NAMESPACE: &str = "k8s.io";
/// The descriptor media type containerd names in `-stdin-media-type` for bindir verifiers.
pub const VERIFIER_STDIN_MEDIA_TYPE: &str = "application/vnd.oci.descriptor.v1+json";

const START_DEADLINE: Duration = Duration::from_secs(20);
const STOP_GRACE: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const OVERLAYFS_PLUGIN: &str = "io.containerd.snapshotter.v1.overlayfs";
/// What the CRI images plugin of 2.x logs when a setting puts it in local-pull mode.
const LOCAL_PULL_FALLBACK: &str = "Falling back to local image pull mode";

// ---------------------------------------------------------------------------------------------
// Versions and binaries
// ---------------------------------------------------------------------------------------------

/// The containerd builds the harness runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerdVersion {
    /// 1.6.20, Debian 12's package.
    Containerd16,
    /// 2.1.9, the pinned Debian forky/sid package unpacked by `scripts/fetch-containerd.sh`.
    Containerd21,
}

pub use ContainerdVersion::{Containerd16, Containerd21};

impl ContainerdVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 2] = [Containerd16, Containerd21];

    /// `1.6` or `2.1`.
    pub fn label(self) -> &'static str {
        match self {
            Containerd16 => "1.6",
            Containerd21 => "2.1",
        }
    }

    /// Whether this build runs image verifiers (`io.containerd.image-verifier.v1.bindir`).
    pub fn has_image_verifiers(self) -> bool {
        self == Containerd21
    }

    /// The message of every failure to find or run this build.
    pub fn install_hint(self) -> String {
        match self {
            Containerd16 => format!(
                "install Debian 12's containerd (apt-get install containerd) or run \
                 scripts/test.sh, or set {CONTAINERD16_BIN_ENV} to a containerd 1.6 binary"
            ),
            Containerd21 => format!(
                "run scripts/fetch-containerd.sh (scripts/test.sh does) to unpack the pinned \
                 containerd {CONTAINERD21_DEBIAN_VERSION}, or set {CONTAINERD21_BIN_ENV} to a \
                 containerd 2.1 binary"
            ),
        }
    }

    fn bin_env(self) -> &'static str {
        match self {
            Containerd16 => CONTAINERD16_BIN_ENV,
            Containerd21 => CONTAINERD21_BIN_ENV,
        }
    }

    /// Where the binary is when no variable overrides it.
    pub fn default_binary(self) -> PathBuf {
        match self {
            Containerd16 => PathBuf::from("/usr/bin/containerd"),
            Containerd21 => std::env::var_os(CONTAINERD_CACHE_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
                .join(format!(
                    "containerd-{CONTAINERD21_PINNED}/usr/bin/containerd"
                )),
        }
    }

    /// The binary: its variable, else [`Self::default_binary`], checked to be this version.
    /// Panics with [`Self::install_hint`]: these tests never skip.
    pub fn binary(self) -> (PathBuf, String) {
        find_containerd_binary(
            self,
            std::env::var_os(self.bin_env()).as_deref(),
            &self.default_binary(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// [`ContainerdVersion::binary`] with its inputs as parameters: the binary and the first line
/// of its `--version`.
pub fn find_containerd_binary(
    version: ContainerdVersion,
    overridden: Option<&OsStr>,
    default: &Path,
) -> Result<(PathBuf, String), String> {
    let hint = version.install_hint();
    let bin = match overridden {
        Some(b) => {
            let b = PathBuf::from(b);
            if !b.is_file() {
                return Err(format!(
                    "{}={} is not a file: {hint}",
                    version.bin_env(),
                    b.display()
                ));
            }
            b
        }
        None if default.is_file() => default.to_owned(),
        None => {
            return Err(format!(
                "containerd {} not found at {}: {hint}",
                version.label(),
                default.display()
            ));
        }
    };
    let line = version_line(&bin).map_err(|e| format!("{e}: {hint}"))?;
    let got = release_of(&line);
    if !got.starts_with(&format!("{}.", version.label())) {
        return Err(format!(
            "{} is containerd {got}, not {}.x ({line}): {hint}",
            bin.display(),
            version.label()
        ));
    }
    Ok((bin, line))
}

/// The first line `<bin> --version` prints.
fn version_line(bin: &Path) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --version: {}: {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// `1.6.20~ds1` from `containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3`
/// (the third word, without upstream's `v`).
pub fn release_of(version_line: &str) -> String {
    version_line
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .trim_start_matches('v')
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// Which snapshotter CRI and `ctr` use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshotter {
    /// overlayfs, or native when containerd's overlayfs plugin did not load (its test mount
    /// failed): the harness restarts containerd on a clean directory and says why.
    Auto,
    /// overlayfs; panics when it did not load.
    Overlayfs,
    /// native (plain copies).
    Native,
}

/// How CRI pulls images (2.x): through the transfer service (image verifiers run) or with
/// the client-side code (they do not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CriPullMode {
    /// containerd 1.6: client-side pull, no transfer service and no verifiers at all.
    ClientSide,
    /// 2.x, transfer service: every pull goes through the image verifiers.
    TransferService,
    /// 2.x put back in local-pull mode, with what containerd logged or the setting that did it.
    Local(String),
}

/// How to start one.
#[derive(Clone, Debug)]
pub struct ContainerdOptions {
    /// Which build.
    pub version: ContainerdVersion,
    /// containerd's hosts directory (CRI `registry.config_path`, and on 2.1 the transfer
    /// service's). `None`: one in the harness's directory, holding what
    /// [`Self::plain_http_registries`] asks for.
    pub hosts_dir: Option<PathBuf>,
    /// Registries (`host:port`) to reach over plain HTTP: a `hosts.toml` is written for each
    /// in the hosts directory before the start.
    pub plain_http_registries: Vec<String>,
    /// 2.1 only: the bindir image verifier directory. `None`: an empty directory of the
    /// harness's (never the host's default).
    pub verifier_bin_dir: Option<PathBuf>,
    /// 2.1 only: `per_verifier_timeout`.
    pub per_verifier_timeout: Duration,
    /// The snapshotter.
    pub snapshotter: Snapshotter,
    /// TOML merged over the generated configuration, key by key (tables merge, values
    /// replace), so a test can change one setting of a table the harness writes.
    pub extra_toml: String,
    /// containerd's `--log-level` (`debug`: verifier runs and registry requests are logged).
    pub log_level: String,
}

impl ContainerdOptions {
    /// Defaults for `version`: no registries, no verifiers, overlayfs with the native
    /// fallback, debug log.
    pub fn new(version: ContainerdVersion) -> Self {
        Self {
            version,
            hosts_dir: None,
            plain_http_registries: Vec::new(),
            verifier_bin_dir: None,
            per_verifier_timeout: Duration::from_secs(10),
            snapshotter: Snapshotter::Auto,
            extra_toml: String::new(),
            log_level: "debug".into(),
        }
    }

    /// Also reach `host` (`127.0.0.1:PORT`) over plain HTTP.
    pub fn plain_http(mut self, host: impl Into<String>) -> Self {
        self.plain_http_registries.push(host.into());
        self
    }

    /// Run the bindir verifiers in `dir` (2.1).
    pub fn verifier_bin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.verifier_bin_dir = Some(dir.into());
        self
    }

    /// Merge `toml` over the generated configuration.
    pub fn extra_toml(mut self, toml: impl Into<String>) -> Self {
        self.extra_toml = toml.into();
        self
    }

    /// Use this snapshotter.
    pub fn snapshotter(mut self, snapshotter: Snapshotter) -> Self {
        self.snapshotter = snapshotter;
        self
    }
}

/// Writes `<hosts_dir>/<host>/hosts.toml` sending every request for `host` over plain HTTP.
pub fn write_plain_http_hosts(hosts_dir: &Path, host: &str) {
    let dir = hosts_dir.join(host);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{host}\"\n\n[host.\"http://{host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// A TOML string literal.
fn q(s: impl AsRef<OsStr>) -> String {
    toml::Value::String(s.as_ref().to_string_lossy().into_owned()).to_string()
}

struct Layout {
    root: PathBuf,
    state: PathBuf,
    temp: PathBuf,
    socket: PathBuf,
    opt: PathBuf,
    cni_bin: PathBuf,
    cni_conf: PathBuf,
}

impl Layout {
    fn new(dir: &Path) -> Self {
        Self {
            root: dir.join("root"),
            state: dir.join("state"),
            temp: dir.join("tmp"),
            socket: dir.join("containerd.sock"),
            opt: dir.join("opt"),
            cni_bin: dir.join("cni/bin"),
            cni_conf: dir.join("cni/net.d"),
        }
    }

    /// Creates the directories, empty (a restart starts clean).
    fn reset(&self) {
        for d in [&self.root, &self.state, &self.temp, &self.opt] {
            if d.exists() {
                std::fs::remove_dir_all(d).unwrap();
            }
        }
        for d in [
            &self.root,
            &self.state,
            &self.temp,
            &self.opt,
            &self.cni_bin,
            &self.cni_conf,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
    }
}

/// The configuration for `version`, before `extra_toml` is merged.
fn base_config(
    version: ContainerdVersion,
    l: &Layout,
    snapshotter: &str,
    hosts_dir: &Path,
    verifier_dir: Option<&Path>,
    per_verifier_timeout: Duration,
) -> String {
    // Top-level keys (TOML puts every key after a table header into that table).
    let top = format!(
        "root = {root}\nstate = {state}\ntemp = {temp}\n",
        root = q(&l.root),
        state = q(&l.state),
        temp = q(&l.temp),
    );
    let sockets = format!(
        "[grpc]\n  address = {sock}\n[ttrpc]\n  address = {ttrpc}\n",
        sock = q(&l.socket),
        ttrpc = q(l.socket.with_extension("sock.ttrpc")),
    );
    match version {
        Containerd16 => format!(
            "version = 2\n{top}\
             disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", \
             \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\"]\n\
             {sockets}\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n\
             \x20 disable_tcp_service = true\n\
             \x20 stream_server_address = \"127.0.0.1\"\n\
             \x20 stream_server_port = \"0\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n\
             \x20 snapshotter = {snap}\n\
             [plugins.\"io.containerd.grpc.v1.cri\".cni]\n\
             \x20 bin_dir = {cni_bin}\n\
             \x20 conf_dir = {cni_conf}\n\
             [plugins.\"io.containerd.grpc.v1.cri\".registry]\n\
             \x20 config_path = {hosts}\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n\
             \x20 path = {opt}\n",
            snap = q(snapshotter),
            cni_bin = q(&l.cni_bin),
            cni_conf = q(&l.cni_conf),
            hosts = q(hosts_dir),
            opt = q(&l.opt),
        ),
        Containerd21 => format!(
            "version = 3\n{top}\
             disabled_plugins = [\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \
             \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.blockfile\", \
             \"io.containerd.snapshotter.v1.erofs\", \"io.containerd.differ.v1.erofs\", \
             \"io.containerd.nri.v1.nri\"]\n\
             {sockets}\
             [plugins.'io.containerd.cri.v1.images']\n\
             \x20 snapshotter = {snap}\n\
             \x20 # CRI pulls through the transfer service (and so the image verifiers) only with\n\
             \x20 # these four values; any other puts it back in local-pull mode.\n\
             \x20 use_local_image_pull = false\n\
             \x20 disable_snapshot_annotations = true\n\
             \x20 discard_unpacked_layers = false\n\
             \x20 image_pull_with_sync_fs = false\n\
             [plugins.'io.containerd.cri.v1.images'.registry]\n\
             \x20 config_path = {hosts}\n\
             [plugins.'io.containerd.cri.v1.runtime'.cni]\n\
             \x20 bin_dirs = [{cni_bin}]\n\
             \x20 conf_dir = {cni_conf}\n\
             [plugins.'io.containerd.grpc.v1.cri']\n\
             \x20 disable_tcp_service = true\n\
             \x20 stream_server_address = \"127.0.0.1\"\n\
             \x20 stream_server_port = \"0\"\n\
             [plugins.'io.containerd.image-verifier.v1.bindir']\n\
             \x20 bin_dir = {verifiers}\n\
             \x20 max_verifiers = 10\n\
             \x20 per_verifier_timeout = {timeout}\n\
             [plugins.'io.containerd.transfer.v1.local']\n\
             \x20 config_path = {hosts}\n\
             \x20 # The transfer service unpacks only for the (platform, snapshotter) pairs listed\n\
             \x20 # here; its default names overlayfs, and fails to load without it.\n\
             [[plugins.'io.containerd.transfer.v1.local'.unpack_config]]\n\
             \x20 platform = {platform}\n\
             \x20 snapshotter = {snap}\n\
             [plugins.'io.containerd.internal.v1.opt']\n\
             \x20 path = {opt}\n",
            snap = q(snapshotter),
            hosts = q(hosts_dir),
            cni_bin = q(&l.cni_bin),
            cni_conf = q(&l.cni_conf),
            verifiers = q(verifier_dir.expect("2.1 always has a verifier directory")),
            timeout = q(format!("{}ms", per_verifier_timeout.as_millis())),
            platform = q(format!("linux/{}", oci_architecture())),
            opt = q(&l.opt),
        ),
    }
}

/// Merges `extra` into `base`: tables merge key by key, anything else replaces.
fn merge_toml(base: &mut toml::Table, extra: toml::Table) {
    for (k, v) in extra {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(e)) => merge_toml(b, e),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// A value of the merged configuration at a dotted path of table keys.
fn config_value<'a>(config: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (last, tables) = path.split_last()?;
    let mut t = config;
    for k in tables {
        t = t.get(*k)?.as_table()?;
    }
    t.get(*last)
}

// ---------------------------------------------------------------------------------------------
// The running daemon
// ---------------------------------------------------------------------------------------------

/// A running containerd in a temporary directory. Dropping it stops the process by PID
/// (SIGTERM, then SIGKILL after a grace), detaches any mount left under the directory and
/// removes it.
pub struct TestContainerd {
    child: Option<Child>,
    version: ContainerdVersion,
    version_line: String,
    bin: PathBuf,
    layout: Layout,
    config_path: PathBuf,
    config: toml::Table,
    log_path: PathBuf,
    hosts_dir: PathBuf,
    verifier_bin_dir: Option<PathBuf>,
    snapshotter: &'static str,
    fallback: Option<String>,
    ready_in: Duration,
    // Last: removed after the process is gone.
    dir: tempfile::TempDir,
}

/// The harness's temporary directory: on /dev/shm (tmpfs) when there is one, as the registry
/// harness does, so that containerd's writes and syncs cost no disk I/O and the socket path
/// stays short; else in the system temporary directory.
fn temp_dir() -> tempfile::TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix("notaryd-containerd-");
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = builder.tempdir_in(shm)
    {
        return dir;
    }
    builder.tempdir().expect("temporary directory")
}

/// Runs `fut` to completion on a thread of its own with a current-thread runtime, so that the
/// blocking parts of the harness also work inside `#[tokio::test]` or `block_on`.
fn block_on_thread<T: Send>(fut: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(fut)
        })
        .join()
        .expect("the harness thread panicked")
    })
}

pub use notaryd::api::unix_channel;

/// A request carrying containerd's namespace header.
fn namespaced<T>(message: T, namespace: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("containerd-namespace", namespace.parse().unwrap());
    r
}

/// What a `ctr` run printed.
#[derive(Debug)]
pub struct CtrOutput {
    /// The command line, for messages.
    pub command: String,
    /// Its exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CtrOutput {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl std::fmt::Display for CtrOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

impl TestContainerd {
    /// Starts containerd and waits until its API and CRI answer. Prints the version in use.
    /// Panics with containerd's log when it does not start within 20 s, and with an install
    /// hint when the binary is missing.
    pub fn start(options: ContainerdOptions) -> Self {
        let version = options.version;
        let (bin, version_line) = version.binary();
        assert!(
            options.verifier_bin_dir.is_none() || version.has_image_verifiers(),
            "containerd {} has no image verifiers: verifier_bin_dir is for 2.1",
            version.label()
        );
        let dir = temp_dir();
        let layout = Layout::new(dir.path());
        let hosts_dir = options
            .hosts_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("certs.d"));
        std::fs::create_dir_all(&hosts_dir).unwrap();
        for host in &options.plain_http_registries {
            write_plain_http_hosts(&hosts_dir, host);
        }
        let verifier_bin_dir = version.has_image_verifiers().then(|| {
            options
                .verifier_bin_dir
                .clone()
                .unwrap_or_else(|| dir.path().join("verifiers"))
        });
        if let Some(d) = &verifier_bin_dir {
            std::fs::create_dir_all(d).unwrap();
        }
        let mut ctrd = Self {
            child: None,
            version,
            version_line,
            bin,
            config_path: dir.path().join("config.toml"),
            config: toml::Table::new(),
            log_path: dir.path().join("containerd.log"),
            layout,
            hosts_dir,
            verifier_bin_dir,
            snapshotter: "overlayfs",
            fallback: None,
            ready_in: Duration::ZERO,
            dir,
        };
        let first = match options.snapshotter {
            Snapshotter::Auto | Snapshotter::Overlayfs => "overlayfs",
            Snapshotter::Native => "native",
        };
        ctrd.launch(&options, first, false);
        if first == "overlayfs"
            && let Some(why) = ctrd.plugin_init_error("io.containerd.snapshotter.v1", "overlayfs")
        {
            if options.snapshotter == Snapshotter::Overlayfs {
                let log = ctrd.log();
                ctrd.stop();
                panic!(
                    "containerd's overlayfs snapshotter did not load: {why}\n--- containerd log ---\n{log}"
                );
            }
            ctrd.stop();
            let first_log = ctrd.log_path.with_extension("overlayfs.log");
            std::fs::rename(&ctrd.log_path, &first_log).unwrap();
            ctrd.fallback = Some(format!(
                "overlayfs did not load ({why}); first log kept at {}",
                first_log.display()
            ));
            ctrd.launch(&options, "native", true);
        }
        ctrd.check_cri();
        // The build and snapshotter also go to the `containerd` report that scripts/test.sh
        // prints after the run.
        crate::common::report::append(
            "containerd",
            &format!(
                "containerd harness: {}, snapshotter {}",
                ctrd.version_line, ctrd.snapshotter
            ),
        );
        println!(
            "containerd harness: {} ({}), snapshotter {}{}, CRI pull mode {:?}, ready in {} ms, log {}",
            ctrd.version_line,
            ctrd.bin.display(),
            ctrd.snapshotter,
            ctrd.fallback
                .as_deref()
                .map(|f| format!(" (fallback: {f})"))
                .unwrap_or_default(),
            ctrd.cri_pull_mode(),
            ctrd.ready_in.as_millis(),
            ctrd.log_path.display(),
        );
        ctrd
    }

    /// Writes the configuration for `snapshotter` (with the overlayfs plugin disabled when
    /// `without_overlayfs`), starts the process on a clean root and waits for the Version API.
    fn launch(
        &mut self,
        options: &ContainerdOptions,
        snapshotter: &'static str,
        without_overlayfs: bool,
    ) {
        self.layout.reset();
        let _ = std::fs::remove_file(&self.layout.socket);
        let base = base_config(
            self.version,
            &self.layout,
            snapshotter,
            &self.hosts_dir,
            self.verifier_bin_dir.as_deref(),
            options.per_verifier_timeout,
        );
        let mut config: toml::Table = base
            .parse()
            .unwrap_or_else(|e| panic!("the generated config does not parse: {e}\n{base}"));
        if !options.extra_toml.is_empty() {
            let extra: toml::Table = options
                .extra_toml
                .parse()
                .unwrap_or_else(|e| panic!("extra_toml: {e}\n{}", options.extra_toml));
            merge_toml(&mut config, extra);
        }
        if without_overlayfs {
            // On 2.x a snapshotter that failed to load fails the transfer service, and with it
            // CRI: the plugin must not be loaded at all.
            match config
                .entry("disabled_plugins")
                .or_insert_with(|| toml::Value::Array(Vec::new()))
            {
                toml::Value::Array(list) => list.push(OVERLAYFS_PLUGIN.into()),
                other => panic!("disabled_plugins is not an array: {other}"),
            }
        }
        std::fs::write(&self.config_path, toml::to_string(&config).unwrap()).unwrap();
        self.config = config;
        self.snapshotter = snapshotter;

        let log = File::create(&self.log_path).unwrap();
        let mut command = Command::new(&self.bin);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CONTAINERD_") {
                command.env_remove(name);
            }
        }
        let started = Instant::now();
        let child = command
            .arg("--config")
            .arg(&self.config_path)
            .arg("--log-level")
            .arg(&options.log_level)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}: {}",
                    self.bin.display(),
                    self.version.install_hint()
                )
            });
        self.child = Some(child);
        if let Err(why) = self.wait_until_ready() {
            let log = self.log();
            self.stop();
            panic!(
                "containerd {} did not start: {why}\n--- config ---\n{}\n--- containerd log ---\n{log}",
                self.version_line,
                std::fs::read_to_string(&self.config_path).unwrap_or_default()
            );
        }
        self.ready_in = started.elapsed();
        // 2.x reads its configuration strictly but only warns: a misplaced key (a typo, or a
        // key after the wrong table header) would silently leave a default in force.
        if let Some(line) = self
            .log()
            .lines()
            .find(|l| l.contains("Ignoring unknown key"))
        {
            let config = std::fs::read_to_string(&self.config_path).unwrap_or_default();
            self.stop();
            panic!(
                "containerd ignored part of its configuration: {line}\n--- config ---\n{config}"
            );
        }
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_DEADLINE;
        let socket = self.layout.socket.clone();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Err(format!("it exited with {status}"));
            }
            if socket.exists() {
                let answered = block_on_thread(async {
                    let Ok(channel) = unix_channel(&socket).await else {
                        return false;
                    };
                    VersionClient::new(channel).version(()).await.is_ok()
                });
                if answered {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on {} within {START_DEADLINE:?}",
                    socket.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The init error of plugin `kind`/`id` (introspection API), or `None` when it loaded.
    fn plugin_init_error(&self, kind: &str, id: &str) -> Option<String> {
        let socket = self.layout.socket.clone();
        let filter = format!("type=={kind},id=={id}");
        let plugins = block_on_thread(async move {
            let channel = unix_channel(&socket).await.map_err(|e| e.to_string())?;
            IntrospectionClient::new(channel)
                .plugins(PluginsRequest {
                    filters: vec![filter],
                })
                .await
                .map(|r| r.into_inner().plugins)
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| panic!("introspection: {e}\n{}", self.log_tail(40)));
        match plugins.first() {
            None => Some(format!("no plugin {kind}/{id}")),
            Some(p) => p.init_err.as_ref().map(|s| s.message.clone()),
        }
    }

    /// Panics unless CRI answers ImageFsInfo (the CRI plugin loaded).
    fn check_cri(&self) {
        let socket = self.layout.socket.clone();
        let answer = block_on_thread(async move {
            let channel = unix_channel(&socket).await.map_err(|e| e.to_string())?;
            ImageServiceClient::new(channel)
                .image_fs_info(cri::ImageFsInfoRequest {})
                .await
                .map_err(|e| e.to_string())
        });
        if let Err(e) = answer {
            panic!(
                "containerd {} started but CRI does not answer ImageFsInfo: {e}\n--- containerd log ---\n{}",
                self.version_line,
                self.log()
            );
        }
    }

    // ---- facts ----

    /// Which build this is.
    pub fn version(&self) -> ContainerdVersion {
        self.version
    }

    /// The first line of `containerd --version`.
    pub fn version_line(&self) -> &str {
        &self.version_line
    }

    /// The release, e.g. `1.6.20~ds1` or `2.1.9+unknown`.
    pub fn release(&self) -> String {
        release_of(&self.version_line)
    }

    /// The containerd binary.
    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// The `ctr` binary of the same build (beside containerd).
    pub fn ctr_binary(&self) -> PathBuf {
        self.bin.with_file_name("ctr")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("containerd was stopped").id()
    }

    /// containerd's gRPC socket. CRI is served on it too: this is the `--container-runtime-
    /// endpoint` kubelet would use.
    pub fn socket(&self) -> &Path {
        &self.layout.socket
    }

    /// The CRI socket (containerd's socket).
    pub fn cri_socket(&self) -> &Path {
        &self.layout.socket
    }

    /// containerd's root (content store, snapshots, metadata).
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// The temporary directory holding everything.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The configuration as written (after `extra_toml`).
    pub fn config(&self) -> &toml::Table {
        &self.config
    }

    /// The hosts directory CRI (and on 2.1 the transfer service) reads.
    pub fn hosts_dir(&self) -> &Path {
        &self.hosts_dir
    }

    /// The bindir verifier directory (2.1).
    pub fn verifier_bin_dir(&self) -> Option<&Path> {
        self.verifier_bin_dir.as_deref()
    }

    /// `overlayfs` or `native`.
    pub fn snapshotter(&self) -> &'static str {
        self.snapshotter
    }

    /// Why the harness fell back to native, when it did.
    pub fn snapshotter_fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// How long the (last) start took until the Version API answered.
    pub fn ready_in(&self) -> Duration {
        self.ready_in
    }

    /// How CRI pulls: on 2.x, local-pull mode when `use_local_image_pull` is true in the
    /// configuration or containerd logged its fallback at start.
    pub fn cri_pull_mode(&self) -> CriPullMode {
        if self.version == Containerd16 {
            return CriPullMode::ClientSide;
        }
        let explicit = config_value(
            &self.config,
            &[
                "plugins",
                "io.containerd.cri.v1.images",
                "use_local_image_pull",
            ],
        )
        .and_then(toml::Value::as_bool)
        .unwrap_or(false);
        if explicit {
            return CriPullMode::Local("use_local_image_pull = true".into());
        }
        match self.log().lines().find(|l| l.contains(LOCAL_PULL_FALLBACK)) {
            Some(line) => CriPullMode::Local(line.to_string()),
            None => CriPullMode::TransferService,
        }
    }

    /// Where containerd logs (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `lines` lines of the log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        format!(
            "--- containerd {} log ({}, last {lines} lines) ---\n{}",
            self.release(),
            self.log_path.display(),
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }

    // ---- CRI ----

    /// A CRI ImageService client on the containerd socket.
    pub async fn cri(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(
            unix_channel(&self.layout.socket)
                .await
                .unwrap_or_else(|e| panic!("CRI socket: {e}\n{}", self.log_tail(40))),
        )
    }

    async fn bounded<T>(&self, what: &str, fut: impl Future<Output = T>) -> T {
        tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: no answer within {CALL_TIMEOUT:?}\n{}",
                    self.log_tail(60)
                )
            })
    }

    /// CRI PullImage, as kubelet sends it (with a pod sandbox config naming `pod_namespace`
    /// when given): the image reference containerd answers (the image id, the config digest),
    /// or the error status.
    pub async fn pull(
        &self,
        image: &str,
        pod_namespace: Option<&str>,
    ) -> Result<String, tonic::Status> {
        let request = cri::PullImageRequest {
            image: Some(image_spec(image)),
            auth: None,
            sandbox_config: pod_namespace.map(|ns| cri::PodSandboxConfig {
                metadata: Some(cri::PodSandboxMetadata {
                    name: "harness-pod".into(),
                    uid: "harness-pod-uid".into(),
                    namespace: ns.into(),
                    attempt: 0,
                }),
                ..Default::default()
            }),
        };
        let mut client = self.cri().await;
        self.bounded(
            &format!("CRI PullImage {image}"),
            client.pull_image(request),
        )
        .await
        .map(|r| r.into_inner().image_ref)
    }

    /// CRI ImageStatus: the image, or `None` when CRI does not know `image`.
    pub async fn image_status(&self, image: &str) -> Option<cri::Image> {
        let mut client = self.cri().await;
        self.bounded(
            &format!("CRI ImageStatus {image}"),
            client.image_status(cri::ImageStatusRequest {
                image: Some(image_spec(image)),
                verbose: false,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("CRI ImageStatus {image}: {e}\n{}", self.log_tail(40)))
        .into_inner()
        .image
    }

    /// CRI ListImages.
    pub async fn list_images(&self) -> Vec<cri::Image> {
        let mut client = self.cri().await;
        self.bounded(
            "CRI ListImages",
            client.list_images(cri::ListImagesRequest { filter: None }),
        )
        .await
        .unwrap_or_else(|e| panic!("CRI ListImages: {e}\n{}", self.log_tail(40)))
        .into_inner()
        .images
    }

    /// CRI RemoveImage.
    pub async fn remove_image(&self, image: &str) {
        let mut client = self.cri().await;
        self.bounded(
            &format!("CRI RemoveImage {image}"),
            client.remove_image(cri::RemoveImageRequest {
                image: Some(image_spec(image)),
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("CRI RemoveImage {image}: {e}\n{}", self.log_tail(40)));
    }

    /// CRI ImageFsInfo.
    pub async fn image_fs_info(&self) -> cri::ImageFsInfoResponse {
        let mut client = self.cri().await;
        self.bounded(
            "CRI ImageFsInfo",
            client.image_fs_info(cri::ImageFsInfoRequest {}),
        )
        .await
        .unwrap_or_else(|e| panic!("CRI ImageFsInfo: {e}\n{}", self.log_tail(40)))
        .into_inner()
    }

    // ---- containerd's own API ----

    async fn channel(&self) -> Channel {
        unix_channel(&self.layout.socket)
            .await
            .unwrap_or_else(|e| panic!("containerd socket: {e}\n{}", self.log_tail(40)))
    }

    /// The image names (images API) in CRI's namespace `k8s.io`.
    pub async fn containerd_images(&self) -> Vec<String> {
        self.containerd_images_in(K8S_NAMESPACE).await
    }

    /// The image names (images API) in `namespace`.
    pub async fn containerd_images_in(&self, namespace: &str) -> Vec<String> {
        let mut client = ImagesClient::new(self.channel().await);
        let mut names: Vec<String> = self
            .bounded(
                "images list",
                client.list(namespaced(ListImagesRequest { filters: vec![] }, namespace)),
            )
            .await
            .unwrap_or_else(|e| panic!("images list: {e}\n{}", self.log_tail(40)))
            .into_inner()
            .images
            .into_iter()
            .map(|i| i.name)
            .collect();
        names.sort();
        names
    }

    /// The labels of image record `name` in `k8s.io` (None when there is no such record).
    pub async fn image_labels(
        &self,
        name: &str,
    ) -> Option<std::collections::HashMap<String, String>> {
        let mut client = ImagesClient::new(self.channel().await);
        let r = self
            .bounded(
                "images get",
                client.get(namespaced(
                    containerd_client::services::v1::GetImageRequest { name: name.into() },
                    K8S_NAMESPACE,
                )),
            )
            .await;
        match r {
            Ok(r) => r.into_inner().image.map(|i| i.labels),
            Err(s) if s.code() == tonic::Code::NotFound => None,
            Err(s) => panic!("images get {name}: {s}\n{}", self.log_tail(40)),
        }
    }

    /// Sets one label on image record `name` in `k8s.io`.
    pub async fn set_image_label(&self, name: &str, key: &str, value: &str) {
        let mut client = ImagesClient::new(self.channel().await);
        let image = containerd_client::services::v1::Image {
            name: name.into(),
            labels: [(key.to_owned(), value.to_owned())].into(),
            ..Default::default()
        };
        self.bounded(
            "images update",
            client.update(namespaced(
                containerd_client::services::v1::UpdateImageRequest {
                    image: Some(image),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![format!("labels.{key}")],
                    }),
                    source_date_epoch: None,
                },
                K8S_NAMESPACE,
            )),
        )
        .await
        .unwrap_or_else(|e| panic!("images update {name}: {e}\n{}", self.log_tail(40)));
    }

    /// Whether the content store holds blob `digest` in CRI's namespace `k8s.io`.
    pub async fn content_has(&self, digest: &str) -> bool {
        self.content_has_in(K8S_NAMESPACE, digest).await
    }

    /// Whether the content store holds blob `digest` in `namespace` (content is shared between
    /// namespaces on disk, but each namespace sees only what was committed in it).
    pub async fn content_has_in(&self, namespace: &str, digest: &str) -> bool {
        let mut client = ContentClient::new(self.channel().await);
        let r = self
            .bounded(
                "content info",
                client.info(namespaced(
                    InfoRequest {
                        digest: digest.into(),
                    },
                    namespace,
                )),
            )
            .await;
        match r {
            Ok(_) => true,
            Err(s) if s.code() == tonic::Code::NotFound => false,
            Err(s) => panic!("content info {digest}: {s}\n{}", self.log_tail(40)),
        }
    }

    /// Whether the snapshotter in use has snapshot `key` (a committed layer's key is its chain
    /// id) in `namespace`.
    pub async fn snapshot_exists_in(&self, namespace: &str, key: &str) -> bool {
        let mut client = SnapshotsClient::new(self.channel().await);
        let r = self
            .bounded(
                "snapshot stat",
                client.stat(namespaced(
                    StatSnapshotRequest {
                        snapshotter: self.snapshotter.into(),
                        key: key.into(),
                    },
                    namespace,
                )),
            )
            .await;
        match r {
            Ok(_) => true,
            Err(s) if s.code() == tonic::Code::NotFound => false,
            Err(s) => panic!("snapshot stat {key}: {s}\n{}", self.log_tail(40)),
        }
    }

    // ---- ctr ----

    /// Runs this build's `ctr` against this daemon: `ctr --address <socket> --namespace
    /// <namespace> <args>`, bounded in time (killed after 60 s).
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> CtrOutput {
        let ctr = self.ctr_binary();
        assert!(
            ctr.is_file(),
            "{} is missing: {}",
            ctr.display(),
            self.version.install_hint()
        );
        let mut command = Command::new(&ctr);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CONTAINERD_") {
                command.env_remove(name);
            }
        }
        let stdout = tempfile::tempfile().unwrap();
        let stderr = tempfile::tempfile().unwrap();
        command
            .arg("--address")
            .arg(&self.layout.socket)
            .arg("--namespace")
            .arg(namespace)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap());
        let line = format!("{} -n {namespace} {}", ctr.display(), args.join(" "));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {line}: {e}"));
        // Output goes to files, not pipes: polling for the exit cannot block the writer.
        let deadline = Instant::now() + CALL_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{line}: no exit within {CALL_TIMEOUT:?}\n{}",
                    self.log_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read_all = |mut f: File| {
            let mut s = String::new();
            f.seek(SeekFrom::Start(0)).unwrap();
            f.read_to_string(&mut s).unwrap();
            s
        };
        CtrOutput {
            command: line,
            status,
            stdout: read_all(stdout),
            stderr: read_all(stderr),
        }
    }

    /// `ctr images pull --hosts-dir <hosts dir> --snapshotter <in use> <extra> <reference>` in
    /// `namespace`. On 2.x this goes through the transfer service (the image verifiers run)
    /// unless `extra` has `--local`; on 1.6 it is a client-side pull.
    pub fn ctr_pull(&self, reference: &str, namespace: &str, extra: &[&str]) -> CtrOutput {
        let hosts = self.hosts_dir.to_string_lossy().into_owned();
        let mut args = vec![
            "images",
            "pull",
            "--hosts-dir",
            hosts.as_str(),
            "--snapshotter",
            self.snapshotter,
        ];
        args.extend_from_slice(extra);
        args.push(reference);
        self.ctr(namespace, &args)
    }

    // ---- stopping ----

    /// Stops containerd now (idempotent): SIGTERM by PID, up to 5 s, then SIGKILL; detaches
    /// mounts left under its directory. Its files stay until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        unmount_under(self.dir.path());
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for TestContainerd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn image_spec(image: &str) -> cri::ImageSpec {
    cri::ImageSpec {
        image: image.into(),
        ..Default::default()
    }
}

/// SIGTERM by PID, up to [`STOP_GRACE`] to exit, then SIGKILL; always reaps the child.
fn stop_child(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // The child is not reaped yet, so its PID cannot have been reused.
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The mount points under `dir` (from /proc/self/mountinfo), deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mount_path(p)))
        .filter(|p| p.starts_with(dir) && p != dir)
        .collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(v) = p
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Detaches every mount under `dir` (a snapshot mount containerd left behind when killed).
fn unmount_under(dir: &Path) {
    for m in mounts_under(dir) {
        let _ = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH);
    }
}

// ---------------------------------------------------------------------------------------------
// Images containerd can unpack
// ---------------------------------------------------------------------------------------------

/// An image pushed by [`push_unpackable_image`].
#[derive(Clone, Debug)]
pub struct PushedImage {
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// The repository.
    pub repo: String,
    /// The tag.
    pub tag: String,
    /// The manifest (what a tag resolves to, what verifiers are asked about).
    pub manifest: Desc,
    /// The config blob (its digest is CRI's image id).
    pub config: Desc,
    /// The one layer, an uncompressed tar (its digest is also its diff id and chain id).
    pub layer: Desc,
}

impl PushedImage {
    /// `host/repo:tag`.
    pub fn by_tag(&self) -> String {
        format!("{}/{}:{}", self.host, self.repo, self.tag)
    }

    /// `host/repo@sha256:...`.
    pub fn by_digest(&self) -> String {
        format!("{}/{}@{}", self.host, self.repo, self.manifest.digest)
    }

    /// CRI's image id: the config digest.
    pub fn image_id(&self) -> &str {
        &self.config.digest
    }
}

/// The platform architecture name of this machine, as image configs spell it.
pub fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// A ustar archive of regular files (mode 0644, owner 0, mtime 0), ending with the two zero
/// blocks.
pub fn tar_archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let with_modes: Vec<(&str, &[u8], u32)> = files.iter().map(|(n, c)| (*n, *c, 0o644)).collect();
    tar_archive_with_modes(&with_modes)
}

/// [`tar_archive`] with each file's permission bits given (0o755 for a program).
pub fn tar_archive_with_modes(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    fn octal(field: &mut [u8], value: u64) {
        let digits = field.len() - 1;
        let s = format!("{value:0digits$o}");
        assert!(s.len() == digits, "{value} does not fit a tar field");
        field[..digits].copy_from_slice(s.as_bytes());
        field[digits] = 0;
    }
    let mut out = Vec::new();
    for (name, content, mode) in files {
        assert!(name.len() < 100, "tar name too long: {name}");
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], u64::from(*mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], content.len() as u64);
        octal(&mut h[136..148], 0);
        h[148..156].fill(b' ');
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Pushes an image containerd can pull and unpack: one uncompressed tar layer holding
/// `files`, a config for this machine's platform whose `rootfs.diff_ids` names that layer, and
/// an OCI manifest tagged `tag`. Returns what was pushed.
pub fn push_unpackable_image(
    reg: &TestRegistry,
    repo: &str,
    tag: &str,
    files: &[(&str, &[u8])],
) -> PushedImage {
    push_runnable_image(reg, repo, tag, &tar_archive(files), &["/bin/true"])
}

/// [`push_unpackable_image`] with the layer (an uncompressed tar) and the command given: an
/// image containerd can run when the tar holds `cmd[0]`.
pub fn push_runnable_image(
    reg: &TestRegistry,
    repo: &str,
    tag: &str,
    tar: &[u8],
    cmd: &[&str],
) -> PushedImage {
    let layer = reg.push_blob(repo, MEDIA_TYPE_LAYER, tar);
    let config_bytes = serde_json::to_vec(&json!({
        "architecture": oci_architecture(),
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [{"created_by": "notaryd containerd harness"}],
    }))
    .unwrap();
    let config = reg.push_blob(repo, MEDIA_TYPE_IMAGE_CONFIG, &config_bytes);
    let manifest_bytes = image_manifest(&config, &layer);
    let digest = reg.push_manifest(repo, tag, MEDIA_TYPE_MANIFEST, &manifest_bytes);
    PushedImage {
        host: reg.host(),
        repo: repo.into(),
        tag: tag.into(),
        manifest: Desc {
            media_type: MEDIA_TYPE_MANIFEST.into(),
            digest,
            size: manifest_bytes.len() as u64,
        },
        config,
        layer,
    }
}
