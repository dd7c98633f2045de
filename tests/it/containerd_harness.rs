//! The containerd test harness (`tests/common/containerd.rs`) against real containerd 1.6.20
//! (Debian 12) and 2.1.9 (the pinned Debian package `scripts/fetch-containerd.sh` unpacks),
//! with the real registry: CRI pulls by tag and by digest, ImageStatus, ListImages,
//! RemoveImage, ImageFsInfo, the content, images and snapshots APIs, the overlayfs-to-native
//! fallback, and on 2.1 the bindir image verifier on CRI and transfer-service pulls, denials,
//! and the settings that silently take CRI pulls away from it. These pin down what the CRI
//! proxy and bindir verifier tests of issue 6 rely on.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::containerd::{
    CONTAINERD21_BIN_ENV, CONTAINERD21_DEBIAN_VERSION, CONTAINERD21_PINNED, ContainerdOptions,
    ContainerdVersion, CriPullMode, K8S_NAMESPACE, PushedImage, Snapshotter, TestContainerd,
    VERIFIER_STDIN_MEDIA_TYPE, find_containerd_binary, mounts_under, push_unpackable_image,
    release_of,
};
use crate::common::daemon::runtime;
use crate::common::registry::TestRegistry;

use ContainerdVersion::{Containerd16, Containerd21};

// ---------------------------------------------------------------------------------------------
// A recording bindir verifier
// ---------------------------------------------------------------------------------------------

/// One run of the recording verifier.
#[derive(Debug)]
struct VerifierCall {
    /// Its arguments, as containerd passed them.
    argv: Vec<String>,
    /// Its standard input, parsed.
    stdin: Value,
}

impl VerifierCall {
    fn flag(&self, name: &str) -> Option<&str> {
        let i = self.argv.iter().position(|a| a == name)?;
        self.argv.get(i + 1).map(String::as_str)
    }

    fn digest(&self) -> Option<&str> {
        self.flag("-digest")
    }
}

/// A shell script in a bindir verifier directory that appends its argv and stdin to a log and
/// exits 1 (printing why on stdout, which containerd puts in the pull error) for a digest on
/// its deny list, 0 otherwise.
struct RecordingVerifier {
    log: PathBuf,
    deny: PathBuf,
}

impl RecordingVerifier {
    const DENIED: &'static str = "is on the harness deny list";

    /// Writes the script into `bin_dir` (its log and deny list beside it, in `state_dir`).
    fn install(bin_dir: &Path, state_dir: &Path) -> Self {
        let log = state_dir.join("verifier-calls.log");
        let deny = state_dir.join("verifier-deny.txt");
        std::fs::write(&deny, "").unwrap();
        let script = format!(
            "#!/bin/sh\n\
             # notaryd containerd harness: records each call, denies the digests listed in the deny file.\n\
             log='{log}'\n\
             deny='{deny}'\n\
             record=call\n\
             for a in \"$@\"; do record=\"$record\t$a\"; done\n\
             digest=\n\
             while [ $# -gt 0 ]; do\n\
             \x20 case \"$1\" in -digest) digest=$2; shift 2 ;; *) shift ;; esac\n\
             done\n\
             stdin=$(tr -d '\\n')\n\
             printf '%s\\nstdin\\t%s\\n' \"$record\" \"$stdin\" >>\"$log\"\n\
             if grep -qxF \"$digest\" \"$deny\"; then\n\
             \x20 echo \"harness verifier: $digest {denied}\"\n\
             \x20 exit 1\n\
             fi\n\
             echo \"harness verifier: $digest allowed\"\n",
            log = log.display(),
            deny = deny.display(),
            denied = Self::DENIED,
        );
        let path = bin_dir.join("harness-verifier");
        let tmp = bin_dir.join(".harness-verifier.tmp");
        std::fs::write(&tmp, script).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        Self { log, deny }
    }

    fn deny(&self, digest: &str) {
        let mut list = std::fs::read_to_string(&self.deny).unwrap();
        list.push_str(digest);
        list.push('\n');
        std::fs::write(&self.deny, list).unwrap();
    }

    fn calls(&self) -> Vec<VerifierCall> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut calls = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let argv: Vec<String> = line
                .strip_prefix("call")
                .unwrap_or_else(|| panic!("bad verifier log line {line:?} in\n{text}"))
                .split('\t')
                .skip(1)
                .map(str::to_string)
                .collect();
            let stdin = lines
                .next()
                .and_then(|l| l.strip_prefix("stdin\t"))
                .unwrap_or_else(|| panic!("verifier log without stdin line:\n{text}"));
            let stdin = serde_json::from_str(stdin)
                .unwrap_or_else(|e| panic!("verifier stdin {stdin:?} is not JSON: {e}"));
            calls.push(VerifierCall { argv, stdin });
        }
        calls
    }

    fn calls_for(&self, digest: &str) -> Vec<VerifierCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.digest() == Some(digest))
            .collect()
    }
}

/// Checks the one call the verifier got for `image`, pulled as `name`: containerd's argument
/// contract and the descriptor on stdin.
fn assert_verifier_call(v: &RecordingVerifier, image: &PushedImage, name: &str, what: &str) {
    let calls = v.calls_for(&image.manifest.digest);
    assert_eq!(
        calls.len(),
        1,
        "{what}: want one verifier call for {}, got {calls:?}",
        image.manifest.digest
    );
    let call = &calls[0];
    assert_eq!(
        call.argv,
        [
            "-name",
            name,
            "-digest",
            &image.manifest.digest,
            "-stdin-media-type",
            VERIFIER_STDIN_MEDIA_TYPE
        ],
        "{what}: verifier argv"
    );
    assert_eq!(
        call.stdin["mediaType"], image.manifest.media_type,
        "{what}: {}",
        call.stdin
    );
    assert_eq!(call.stdin["digest"], image.manifest.digest, "{what}");
    assert_eq!(call.stdin["size"], image.manifest.size, "{what}");
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn proc_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The files named `name` under `dir`, recursively (symlinks not followed).
fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            found.extend(find_files(&e.path(), name));
        } else if t.is_file() && e.file_name() == name {
            found.push(e.path());
        }
    }
    found
}

/// Stops `ctrd` and checks that nothing is left: no process, no mount, no directory.
fn assert_gone_after_drop(ctrd: TestContainerd) {
    let (pid, dir) = (ctrd.pid(), ctrd.dir().to_owned());
    assert!(proc_exists(pid));
    drop(ctrd);
    assert!(!proc_exists(pid), "containerd {pid} still runs after drop");
    assert!(mounts_under(&dir).is_empty(), "{:?}", mounts_under(&dir));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn binaries_are_found_checked_and_pinned() {
    // 2.1: an override that is not a file, a missing default and a binary of the wrong
    // version all fail with the install hint.
    let missing = Path::new("/nonexistent/containerd");
    let e = find_containerd_binary(Containerd21, Some(missing.as_os_str()), missing).unwrap_err();
    assert!(
        e.contains(CONTAINERD21_BIN_ENV) && e.contains("scripts/fetch-containerd.sh"),
        "{e}"
    );
    let e = find_containerd_binary(Containerd21, None, missing).unwrap_err();
    assert!(
        e.contains("not found") && e.contains("scripts/fetch-containerd.sh"),
        "{e}"
    );
    let (bin16, line16) = Containerd16.binary();
    let e = find_containerd_binary(Containerd21, Some(bin16.as_os_str()), missing).unwrap_err();
    assert!(e.contains("not 2.1.x"), "{e}");
    let e = find_containerd_binary(Containerd16, None, missing).unwrap_err();
    assert!(e.contains("apt-get install containerd"), "{e}");

    assert!(release_of(&line16).starts_with("1.6."), "{line16}");
    let (bin21, line21) = Containerd21.binary();
    assert!(release_of(&line21).starts_with("2.1."), "{line21}");
    if std::env::var_os(CONTAINERD21_BIN_ENV).is_none() {
        // The default is what the script unpacked: the pinned release.
        assert!(
            release_of(&line21).starts_with(&format!("{CONTAINERD21_PINNED}+")),
            "{line21} ({})",
            bin21.display()
        );
    }
    // ctr comes from the same build.
    for (bin, line) in [(&bin16, &line16), (&bin21, &line21)] {
        let ctr = bin.with_file_name("ctr");
        let out = std::process::Command::new(&ctr)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", ctr.display()));
        let ctr_line = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            release_of(&ctr_line),
            release_of(line),
            "{ctr_line} vs {line}"
        );
    }

    // The harness and the fetch script name the same package.
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-containerd.sh"),
    )
    .unwrap();
    assert!(
        script
            .lines()
            .any(|l| l == format!("VERSION={CONTAINERD21_DEBIAN_VERSION}")),
        "scripts/fetch-containerd.sh does not pin {CONTAINERD21_DEBIAN_VERSION}"
    );
    assert!(CONTAINERD21_DEBIAN_VERSION.starts_with(&format!("{CONTAINERD21_PINNED}+")));
}

/// Start, CRI pulls by tag and by digest, what CRI and containerd's APIs show before and after,
/// and a clean stop.
fn cri_smoke(version: ContainerdVersion) {
    let label = version.label();
    let reg = TestRegistry::anonymous();
    let by_tag = push_unpackable_image(
        &reg,
        "harness/smoke",
        "v1",
        &[(
            "by-tag.txt",
            format!("pulled by tag from containerd {label}").as_bytes(),
        )],
    );
    let by_digest = push_unpackable_image(
        &reg,
        "harness/smoke",
        "v2",
        &[(
            "by-digest.txt",
            format!("pulled by digest from containerd {label}").as_bytes(),
        )],
    );
    let ctrd = TestContainerd::start(ContainerdOptions::new(version).plain_http(reg.host()));
    assert!(
        ctrd.release().starts_with(&format!("{label}.")),
        "{}",
        ctrd.version_line()
    );
    let want_mode = match version {
        Containerd16 => CriPullMode::ClientSide,
        Containerd21 => CriPullMode::TransferService,
    };
    assert_eq!(ctrd.cri_pull_mode(), want_mode, "{}", ctrd.log_tail(40));
    assert!(ctrd.cri_socket().starts_with(ctrd.dir()));

    runtime().block_on(async {
        // Before any pull: nothing.
        for d in [
            &by_tag.layer,
            &by_tag.config,
            &by_tag.manifest,
            &by_digest.layer,
        ] {
            assert!(
                !ctrd.content_has(&d.digest).await,
                "{} before the pull",
                d.digest
            );
        }
        assert!(ctrd.image_status(&by_tag.by_tag()).await.is_none());
        assert_eq!(ctrd.containerd_images().await, Vec::<String>::new());
        assert!(ctrd.list_images().await.is_empty());

        // ImageFsInfo (kubelet asks at start) names the snapshotter's directory.
        let fs = ctrd.image_fs_info().await;
        let mountpoint = &fs.image_filesystems[0].fs_id.as_ref().unwrap().mountpoint;
        assert!(
            Path::new(mountpoint).starts_with(ctrd.root())
                && mountpoint.ends_with(&format!(
                    "io.containerd.snapshotter.v1.{}",
                    ctrd.snapshotter()
                )),
            "{fs:?}"
        );

        // By tag, with a pod sandbox config as kubelet sends it.
        let id = ctrd
            .pull(&by_tag.by_tag(), Some("default"))
            .await
            .unwrap_or_else(|e| panic!("CRI pull {}: {e}\n{}", by_tag.by_tag(), ctrd.log_tail(60)));
        assert_eq!(id, by_tag.image_id());
        let status = ctrd
            .image_status(&by_tag.by_tag())
            .await
            .expect("ImageStatus by tag after the pull");
        assert_eq!(status.id, by_tag.image_id());
        assert_eq!(status.repo_tags, [by_tag.by_tag()]);
        assert_eq!(status.repo_digests, [by_tag.by_digest()]);
        assert!(status.size > 0, "{status:?}");
        for d in [&by_tag.layer, &by_tag.config, &by_tag.manifest] {
            assert!(
                ctrd.content_has(&d.digest).await,
                "{} after the pull",
                d.digest
            );
        }
        assert!(!ctrd.content_has(&by_digest.layer.digest).await);
        // CRI names an image by tag, by digest and by id.
        let mut want = vec![
            by_tag.by_tag(),
            by_tag.by_digest(),
            by_tag.image_id().to_string(),
        ];
        want.sort();
        assert_eq!(ctrd.containerd_images().await, want);
        // Unpacked: the layer's snapshot (chain id = diff id = the uncompressed layer's
        // digest) and the file in it.
        assert!(
            ctrd.snapshot_exists_in(K8S_NAMESPACE, &by_tag.layer.digest)
                .await
        );
        let files = find_files(ctrd.root(), "by-tag.txt");
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(
            std::fs::read_to_string(&files[0]).unwrap(),
            format!("pulled by tag from containerd {label}")
        );

        // By digest: same id contract; the image has no tag.
        let id = ctrd
            .pull(&by_digest.by_digest(), None)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "CRI pull {}: {e}\n{}",
                    by_digest.by_digest(),
                    ctrd.log_tail(60)
                )
            });
        assert_eq!(id, by_digest.image_id());
        assert!(ctrd.content_has(&by_digest.layer.digest).await);
        let status = ctrd
            .image_status(&by_digest.by_digest())
            .await
            .expect("ImageStatus by digest");
        assert_eq!(status.id, by_digest.image_id());
        assert!(status.repo_tags.is_empty(), "{status:?}");
        assert_eq!(status.repo_digests, [by_digest.by_digest()]);
        assert!(ctrd.image_status(&by_digest.by_tag()).await.is_none());
        let mut ids: Vec<String> = ctrd.list_images().await.into_iter().map(|i| i.id).collect();
        ids.sort();
        let mut want = vec![
            by_tag.image_id().to_string(),
            by_digest.image_id().to_string(),
        ];
        want.sort();
        assert_eq!(ids, want);

        ctrd.remove_image(&by_tag.by_tag()).await;
        assert!(ctrd.image_status(&by_tag.by_tag()).await.is_none());
    });

    // This build's ctr pulls too (through the hosts directory), into a namespace of its own.
    let out = ctrd.ctr_pull(&by_tag.by_tag(), "harness", &[]);
    assert!(out.success(), "{out}\n{}", ctrd.log_tail(40));
    runtime().block_on(async {
        assert_eq!(
            ctrd.containerd_images_in("harness").await,
            [by_tag.by_tag()]
        );
        assert!(ctrd.content_has_in("harness", &by_tag.layer.digest).await);
    });
    assert_gone_after_drop(ctrd);
}

#[test]
fn containerd16_cri_pulls_status_and_content() {
    cri_smoke(Containerd16);
}

#[test]
fn containerd21_cri_pulls_status_and_content() {
    cri_smoke(Containerd21);
}

#[test]
fn containerd21_bindir_verifier_sees_cri_and_transfer_pulls_and_denies() {
    let reg = TestRegistry::anonymous();
    let push = |tag: &str| {
        push_unpackable_image(
            &reg,
            "harness/verify",
            tag,
            &[("f.txt", format!("verifier test image {tag}").as_bytes())],
        )
    };
    let (cri_ok, cri_denied, ctr_ok, ctr_denied) = (
        push("cri-ok"),
        push("cri-denied"),
        push("ctr-ok"),
        push("ctr-denied"),
    );
    let bin_dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let ctrd = TestContainerd::start(
        ContainerdOptions::new(Containerd21)
            .plain_http(reg.host())
            .verifier_bin_dir(bin_dir.path()),
    );
    assert_eq!(ctrd.cri_pull_mode(), CriPullMode::TransferService);
    assert_eq!(ctrd.verifier_bin_dir(), Some(bin_dir.path()));
    // Installed after the start: containerd lists the directory on every pull.
    let verifier = RecordingVerifier::install(bin_dir.path(), state.path());
    verifier.deny(&cri_denied.manifest.digest);
    verifier.deny(&ctr_denied.manifest.digest);
    let ns = "harness";

    runtime().block_on(async {
        // CRI pull, allowed: one call with containerd's argument contract.
        ctrd.pull(&cri_ok.by_tag(), Some("default"))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", ctrd.log_tail(60)));
        assert_verifier_call(&verifier, &cri_ok, &cri_ok.by_tag(), "CRI pull");
        assert!(ctrd.content_has(&cri_ok.layer.digest).await);

        // CRI pull, denied: the verifier's stdout is in the error (gRPC code Unknown); the
        // verifier ran right after the tag was resolved (HEAD), so not even the manifest
        // reached the content store, and no image record exists.
        let e = ctrd
            .pull(&cri_denied.by_tag(), Some("default"))
            .await
            .expect_err("a denied digest must fail the CRI pull");
        assert_eq!(e.code(), tonic::Code::Unknown, "{e:?}");
        assert!(
            e.message().contains(RecordingVerifier::DENIED)
                && e.message().contains(&cri_denied.manifest.digest),
            "{e:?}\n{}",
            ctrd.log_tail(40)
        );
        assert_verifier_call(
            &verifier,
            &cri_denied,
            &cri_denied.by_tag(),
            "denied CRI pull",
        );
        for d in [&cri_denied.layer, &cri_denied.config, &cri_denied.manifest] {
            assert!(
                !ctrd.content_has(&d.digest).await,
                "{} of a denied image",
                d.digest
            );
        }
        assert!(ctrd.image_status(&cri_denied.by_tag()).await.is_none());
        assert!(
            !ctrd
                .containerd_images()
                .await
                .iter()
                .any(|n| n.contains("cri-denied") || n.contains(&cri_denied.manifest.digest))
        );
        assert!(ctrd.log().contains("image verifier bindir blocked pull"));
    });

    // Transfer-service pull (ctr's default on 2.x), allowed and denied.
    let out = ctrd.ctr_pull(&ctr_ok.by_tag(), ns, &[]);
    assert!(out.success(), "{out}\n{}", ctrd.log_tail(40));
    assert_verifier_call(&verifier, &ctr_ok, &ctr_ok.by_tag(), "ctr (transfer) pull");
    let out = ctrd.ctr_pull(&ctr_denied.by_tag(), ns, &[]);
    assert!(
        !out.success(),
        "a denied digest must fail the transfer pull: {out}"
    );
    assert!(
        out.stderr.contains(RecordingVerifier::DENIED),
        "{out}\n{}",
        ctrd.log_tail(40)
    );
    assert_verifier_call(
        &verifier,
        &ctr_denied,
        &ctr_denied.by_tag(),
        "denied ctr pull",
    );
    runtime().block_on(async {
        assert!(ctrd.content_has_in(ns, &ctr_ok.layer.digest).await);
        for d in [&ctr_denied.layer, &ctr_denied.config, &ctr_denied.manifest] {
            assert!(
                !ctrd.content_has_in(ns, &d.digest).await,
                "{} of a denied image",
                d.digest
            );
        }
        assert_eq!(ctrd.containerd_images_in(ns).await, [ctr_ok.by_tag()]);
    });

    // A client-side pull (`ctr images pull --local`) never reaches the verifier.
    let calls = verifier.calls().len();
    let out = ctrd.ctr_pull(&ctr_denied.by_tag(), ns, &["--local"]);
    assert!(out.success(), "{out}\n{}", ctrd.log_tail(40));
    assert_eq!(verifier.calls().len(), calls, "{:?}", verifier.calls());
    runtime().block_on(async {
        assert!(ctrd.content_has_in(ns, &ctr_denied.layer.digest).await);
    });
    assert_gone_after_drop(ctrd);
}

#[test]
fn containerd21_settings_that_put_cri_in_local_pull_mode_skip_the_verifier() {
    let reg = TestRegistry::anonymous();
    let image = push_unpackable_image(&reg, "harness/local", "v1", &[("f.txt", b"local pull")]);
    for (setting, value) in [
        ("use_local_image_pull", "true"),
        ("disable_snapshot_annotations", "false"),
        ("discard_unpacked_layers", "true"),
        ("image_pull_with_sync_fs", "true"),
    ] {
        let bin_dir = tempfile::tempdir().unwrap();
        let verifier = RecordingVerifier::install(bin_dir.path(), bin_dir.path());
        verifier.deny(&image.manifest.digest);
        let ctrd = TestContainerd::start(
            ContainerdOptions::new(Containerd21)
                .plain_http(reg.host())
                .verifier_bin_dir(bin_dir.path())
                .extra_toml(format!(
                    "[plugins.'io.containerd.cri.v1.images']\n{setting} = {value}\n"
                )),
        );
        match ctrd.cri_pull_mode() {
            CriPullMode::Local(why) => {
                // containerd names the setting in its log (in Go's field spelling).
                let go_name: String = setting
                    .split('_')
                    .map(|w| w[..1].to_uppercase() + &w[1..])
                    .collect();
                assert!(
                    why.contains(setting) || why.contains(&go_name),
                    "{setting}: {why}"
                );
            }
            other => panic!(
                "{setting} = {value} should put CRI in local-pull mode, got {other:?}\n{}",
                ctrd.log_tail(40)
            ),
        }
        // The deny-listed image pulls: the verifier is skipped without a word at pull time.
        runtime().block_on(async {
            let id = ctrd
                .pull(&image.by_tag(), None)
                .await
                .unwrap_or_else(|e| panic!("{setting}: {e}\n{}", ctrd.log_tail(40)));
            assert_eq!(id, image.image_id());
        });
        assert!(
            verifier.calls().is_empty(),
            "{setting}: {:?}",
            verifier.calls()
        );
        // Control: the same daemon's transfer service still runs the verifier, which denies.
        let out = ctrd.ctr_pull(&image.by_tag(), "control", &[]);
        assert!(
            !out.success() && out.stderr.contains(RecordingVerifier::DENIED),
            "{setting}: {out}"
        );
        assert_eq!(
            verifier.calls_for(&image.manifest.digest).len(),
            1,
            "{setting}"
        );
    }
}

#[test]
fn containerd21_configuration_keys_it_ignores_fail_the_start() {
    // 2.x only warns about a key it does not know; the harness refuses to run with one.
    let refused =
        std::panic::catch_unwind(|| {
            TestContainerd::start(ContainerdOptions::new(Containerd21).extra_toml(
                "[plugins.'io.containerd.cri.v1.images']\nuse_local_image_pul = false\n",
            ))
        });
    let message = refused
        .err()
        .and_then(|p| p.downcast::<String>().ok())
        .expect("start must panic on a key containerd ignores");
    assert!(
        message.contains("ignored part of its configuration")
            && message.contains("use_local_image_pul"),
        "{message}"
    );
}

#[test]
fn overlayfs_that_cannot_load_falls_back_to_native() {
    let reg = TestRegistry::anonymous();
    let image = push_unpackable_image(&reg, "harness/native", "v1", &[("native.txt", b"native")]);
    // The overlayfs plugin fails its start when its root cannot be created, as it does when
    // its test mount fails: a regular file where its directory should be.
    let blocker_dir = tempfile::tempdir().unwrap();
    let blocker = blocker_dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let extra = format!(
        "[plugins.'io.containerd.snapshotter.v1.overlayfs']\nroot_path = '{}'\n",
        blocker.display()
    );
    for version in ContainerdVersion::ALL {
        let ctrd = TestContainerd::start(
            ContainerdOptions::new(version)
                .plain_http(reg.host())
                .extra_toml(extra.clone()),
        );
        assert_eq!(ctrd.snapshotter(), "native", "{}", ctrd.log_tail(40));
        let why = ctrd
            .snapshotter_fallback()
            .expect("the reason of the fallback");
        assert!(why.contains("overlayfs did not load"), "{why}");
        runtime().block_on(async {
            ctrd.pull(&image.by_tag(), None)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", ctrd.log_tail(40)));
            assert!(
                ctrd.snapshot_exists_in(K8S_NAMESPACE, &image.layer.digest)
                    .await
            );
            let fs = ctrd.image_fs_info().await;
            let mountpoint = &fs.image_filesystems[0].fs_id.as_ref().unwrap().mountpoint;
            assert!(
                mountpoint.ends_with("io.containerd.snapshotter.v1.native"),
                "{fs:?}"
            );
        });
        assert_eq!(find_files(ctrd.root(), "native.txt").len(), 1);
        assert_gone_after_drop(ctrd);
    }
    // Asked for overlayfs alone, the harness refuses to go on without it.
    let refused = std::panic::catch_unwind(|| {
        TestContainerd::start(
            ContainerdOptions::new(Containerd16)
                .snapshotter(Snapshotter::Overlayfs)
                .extra_toml(extra.clone()),
        )
    });
    let message = refused
        .err()
        .and_then(|p| p.downcast::<String>().ok())
        .expect("start must panic when overlayfs is required and does not load");
    assert!(
        message.contains("overlayfs snapshotter did not load"),
        "{message}"
    );
}
