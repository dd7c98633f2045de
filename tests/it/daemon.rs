//! `notaryd serve` end to end: the real daemon binary on a temporary socket, asked over gRPC,
//! in front of a real `docker-registry`.
// Waiting on a real process is bounded in wall time.
#![allow(clippy::disallowed_methods)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use notaryd::api::v1;
use rustix::process::Signal;

use crate::common::daemon::{
    DaemonOptions, TestDaemon, registry_requests, request, runtime, status, write_notation_config,
    write_policy,
};

use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{Desc, SignatureForm};
use crate::common::pki::{Chain, KeyKind};
use crate::common::registry::{RegistryOptions, TestRegistry, TokenServerOptions};

const REPO: &str = "team/app";

fn sha256_of(path: &std::path::Path) -> String {
    crate::common::layout::sha256(&std::fs::read(path).unwrap())
        .trim_start_matches("sha256:")
        .to_owned()
}

/// A hierarchy unrelated to [`Chain::new`]'s (whose root is the same certificate for every
/// leaf kind).
fn other_chain() -> Chain {
    use crate::common::pki::{CertSpec, TestCert, TestKey};
    let root = TestCert::self_signed(
        CertSpec::ca("daemon test other root", Some(1)),
        TestKey::cached(KeyKind::P256, 90),
    );
    let intermediate = root.issue(
        CertSpec::ca("daemon test other intermediate", Some(0)),
        TestKey::cached(KeyKind::P256, 91),
    );
    let leaf = intermediate.issue(
        CertSpec::code_signing("daemon test other signer"),
        TestKey::cached(KeyKind::P256, 92),
    );
    Chain {
        root,
        intermediate,
        leaf,
    }
}

/// Marks the registry as plain HTTP in the daemon's hosts directory.
fn plain_http_hosts(daemon: &TestDaemon, reg: &TestRegistry) {
    let dir = daemon.dir.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!("server = \"http://{}\"\n", reg.host()),
    )
    .unwrap();
}

/// A registry with one signed image and a daemon trusting its signer for the repository.
struct Setup {
    reg: TestRegistry,
    chain: Chain,
    image: Desc,
    scope: String,
    daemon: TestDaemon,
}

fn setup(extra_toml: &str) -> Setup {
    setup_with(extra_toml, DaemonOptions::default())
}

fn setup_with(extra_toml: &str, mut options: DaemonOptions) -> Setup {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.signed_image(REPO, "v1", b"layer one", &chain);
    let scope = format!("{}/{REPO}", reg.host());
    options.extra_toml.push_str(extra_toml);
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        options,
    );
    plain_http_hosts(&daemon, &reg);
    Setup {
        reg,
        chain,
        image,
        scope,
        daemon,
    }
}

impl Setup {
    fn by_digest(&self) -> String {
        format!("{}@{}", self.scope, self.image.digest)
    }

    /// Requests notaryd sent for the signature envelope blob: one per fetch sequence.
    fn envelope_fetches(&self) -> usize {
        registry_requests(&self.reg.log(), "GET", &format!("/v2/{REPO}/blobs/"))
    }
}

async fn verify(
    client: &mut v1::verifier_client::VerifierClient<tonic::transport::Channel>,
    req: v1::VerifyRequest,
) -> v1::VerifyResponse {
    client.verify(req).await.unwrap().into_inner()
}

/// Waits until `cond` holds on Status, or panics after `within`.
async fn wait_status(
    d: &TestDaemon,
    within: Duration,
    what: &str,
    cond: impl Fn(&v1::StatusResponse) -> bool,
) -> v1::StatusResponse {
    let deadline = Instant::now() + within;
    let mut c = d.client().await;
    loop {
        let s = status(&mut c).await;
        if cond(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached, last status {s:?}\n--- log ---\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn cache_hit_and_miss() {
    let s = setup("");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        let first = verify(&mut c, request(&s.by_digest())).await;
        assert!(first.allowed, "{first:?}\n{}", s.daemon.log());
        assert_eq!(first.outcome, v1::Outcome::Accepted as i32);
        assert!(!first.cached);
        assert_eq!(first.verified.as_ref().unwrap().digest, s.image.digest);
        assert_eq!(first.trust_policy, "daemon");
        assert!(first.fully_trusted);
        assert_eq!(first.signatures.len(), 1);
        assert!(first.signatures[0].accepted);
        assert_eq!(s.envelope_fetches(), 1);
        let second = verify(&mut c, request(&s.by_digest())).await;
        assert!(second.allowed && second.cached, "{second:?}");
        assert_eq!(second.verified, first.verified);
        assert_eq!(second.signatures, first.signatures);
        // The hit did not touch the registry.
        assert_eq!(s.envelope_fetches(), 1);
        // One INFO line for the decision, allowed as it is; the same decision again is
        // counted into the next line, not written again (the audit log has both).
        let allowed_lines = s
            .daemon
            .log()
            .lines()
            .filter(|l| l.contains("allowed reference=") && l.contains(&s.by_digest()))
            .count();
        assert_eq!(allowed_lines, 1, "{}", s.daemon.log());
        assert_eq!(s.daemon.audit().len(), 2);
        let st = status(&mut c).await;
        assert_eq!(
            (st.cache_hits, st.cache_misses, st.cache_entries),
            (1, 1, 1)
        );
        assert_eq!(st.verifications["accepted"], 2);

        // A tag is resolved every time (tags move) but the verdict for the digest is reused.
        let by_tag = verify(&mut c, request(&format!("{}:v1", s.scope))).await;
        assert!(by_tag.allowed, "{by_tag:?}");
        assert_eq!(by_tag.verified.unwrap().digest, s.image.digest);
        assert_eq!(s.envelope_fetches(), 1);
        assert_eq!(
            registry_requests(&s.reg.log(), "GET", &format!("/v2/{REPO}/manifests/v1")),
            1
        );
        // A descriptor given with a tag reference makes the answer a cache hit.
        let mut with_descriptor = request(&format!("{}:v1", s.scope));
        with_descriptor.descriptor = Some(v1::Descriptor {
            media_type: s.image.media_type.clone(),
            digest: s.image.digest.clone(),
            size: s.image.size as i64,
        });
        let hit = verify(&mut c, with_descriptor).await;
        assert!(hit.allowed && hit.cached, "{hit:?}");
    });
}

#[test]
fn one_hundred_concurrent_requests_for_a_new_digest_fetch_once() {
    let s = setup("");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = s.daemon.client().await;
        let reference = Arc::new(s.by_digest());
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let mut c = client.clone();
            let reference = Arc::clone(&reference);
            tasks.push(tokio::spawn(async move {
                verify(&mut c, request(&reference)).await
            }));
        }
        let mut cached = 0;
        for t in tasks {
            let r = t.await.unwrap();
            assert!(r.allowed, "{r:?}");
            cached += usize::from(r.cached);
        }
        let log = s.reg.log();
        assert_eq!(s.envelope_fetches(), 1, "{log}");
        assert_eq!(
            registry_requests(
                &log,
                "GET",
                &format!("/v2/{REPO}/manifests/{}", s.image.digest)
            ),
            1,
            "the manifest was fetched more than once"
        );
        let mut c = client.clone();
        let st = status(&mut c).await;
        assert_eq!(st.cache_hits + st.cache_misses, 100);
        assert_eq!(st.cache_hits, cached as u64);
    });
}

#[test]
fn reload_with_a_broken_policy_keeps_serving_the_old_one() {
    // Only SIGHUP reloads here.
    let s = setup("[reload]\nwatch = false\n");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        assert!(verify(&mut c, request(&s.by_digest())).await.allowed);
        let before = status(&mut c).await;
        std::fs::write(
            s.daemon.notation.join("trustpolicy.json"),
            b"{\"version\": \"1.0\", \"trustPolicies\": [",
        )
        .unwrap();
        s.daemon.signal(Signal::HUP);
        let st = wait_status(
            &s.daemon,
            Duration::from_secs(10),
            "a failed reload",
            |st| st.reloads_failed >= 1,
        )
        .await;
        assert_eq!(
            st.generation, before.generation,
            "the broken policy was installed"
        );
        assert!(
            st.last_reload_error.contains("trustpolicy.json"),
            "{}",
            st.last_reload_error
        );
        let r = verify(&mut c, request(&s.by_digest())).await;
        assert!(r.allowed && r.cached, "{r:?}");
        // A new digest is still verified under the old policy.
        let other = s.reg.signed_image(REPO, "v2", b"layer two", &s.chain);
        let r = verify(&mut c, request(&format!("{}@{}", s.scope, other.digest))).await;
        assert!(r.allowed && !r.cached, "{r:?}");
        assert!(
            s.daemon.log().contains("reload (SIGHUP) failed"),
            "{}",
            s.daemon.log()
        );
    });
}

#[test]
fn reload_with_a_new_policy_changes_the_verdicts() {
    // Polling every second: the change is picked up without a signal.
    let s = setup("[reload]\npoll_interval_seconds = 1\n");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        let r = verify(&mut c, request(&s.by_digest())).await;
        assert!(r.allowed);
        let g1 = r.generation;
        // Trust another root only: the image's signer is no longer trusted.
        let other = other_chain();
        let store = s.daemon.notation.join("truststore/x509/ca/other");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("root.pem"), other.root.pem()).unwrap();
        let policy = s.daemon.notation.join("trustpolicy.json");
        write_policy(&policy, "other", &[&s.scope], "strict", &["ca:other"]);
        // The watcher may see the new store and the new policy in one poll or in two: wait
        // for the snapshot holding the new policy.
        let new_policy = sha256_of(&policy);
        let st = wait_status(&s.daemon, Duration::from_secs(10), "a reload", |st| {
            st.loaded
                .as_ref()
                .is_some_and(|l| l.trust_policy == new_policy)
        })
        .await;
        assert!(st.generation > g1);
        assert!(st.reloads_succeeded >= 1);
        assert!(st.last_reload_error.is_empty());
        let r = verify(&mut c, request(&s.by_digest())).await;
        assert!(!r.allowed && !r.cached, "{r:?}");
        assert_eq!(r.outcome, v1::Outcome::Rejected as i32);
        assert_eq!(r.trust_policy, "other");
        assert!(r.generation > g1);
        // SIGHUP reloads too, and the level change is honoured.
        write_policy(&policy, "audit", &[&s.scope], "audit", &["ca:other"]);
        s.daemon.signal(Signal::HUP);
        let audit_policy = sha256_of(&policy);
        wait_status(
            &s.daemon,
            Duration::from_secs(10),
            "a second reload",
            |st| {
                st.loaded
                    .as_ref()
                    .is_some_and(|l| l.trust_policy == audit_policy)
            },
        )
        .await;
        let r = verify(&mut c, request(&s.by_digest())).await;
        assert!(r.allowed && !r.fully_trusted, "{r:?}");
    });
}

/// Puts a mirror in front of the test registry (hosts.toml) that accepts connections and never
/// answers. Each accepted connection is announced on the receiver, so that a test acts once a
/// verification is inside the daemon, held by the mirror, rather than after a guessed delay.
fn behind_a_silent_mirror(s: &Setup) -> std::sync::mpsc::Receiver<()> {
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole = blackhole.local_addr().unwrap();
    let (connected_tx, connected) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in blackhole.incoming() {
            held.push(c);
            let _ = connected_tx.send(());
        }
    });
    let dir = s.daemon.dir.path().join("certs.d").join(s.reg.host());
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{reg}\"\n\n[host.\"http://{hole}\"]\ncapabilities = [\"pull\", \"resolve\"]\n",
            reg = s.reg.host()
        ),
    )
    .unwrap();
    connected
}

#[test]
fn sigterm_drains_in_flight_requests() {
    // A mirror that accepts connections and never answers holds the verification for the
    // request timeout (2 s); SIGTERM arrives meanwhile.
    let mut s = setup_with(
        "",
        DaemonOptions {
            registry: "request_timeout_seconds = 2\nconnect_timeout_seconds = 2".into(),
            ..DaemonOptions::default()
        },
    );
    let connected = behind_a_silent_mirror(&s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        let reference = s.by_digest();
        let inflight = tokio::spawn(async move { c.verify(request(&reference)).await });
        tokio::task::spawn_blocking(move || connected.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the verification reached the mirror");
        s.daemon.signal(Signal::TERM);
        let r = inflight
            .await
            .unwrap()
            .expect("the in-flight request was answered")
            .into_inner();
        assert!(r.allowed, "{r:?}\n{}", s.daemon.log());
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "the mirror was not waited for"
        );
    });
    assert_eq!(
        s.daemon.wait_exit(Duration::from_secs(15)),
        Some(0),
        "{}",
        s.daemon.log()
    );
    let log = s.daemon.log();
    assert!(log.contains("SIGTERM: draining"), "{log}");
    assert!(!s.daemon.socket.exists(), "the socket file was left behind");
}

#[test]
fn a_request_cut_at_the_end_of_the_grace_period_is_audited_and_the_exit_is_prompt() {
    // A mirror that accepts connections and never answers holds the verification past the
    // grace period (1 s, the request timeout 30 s); SIGTERM arrives meanwhile.
    let mut s = setup_with(
        "",
        DaemonOptions {
            server: "shutdown_grace_seconds = 1".into(),
            registry: "request_timeout_seconds = 30\nconnect_timeout_seconds = 2".into(),
            ..DaemonOptions::default()
        },
    );
    let connected = behind_a_silent_mirror(&s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reference = s.by_digest();
    let signalled = rt.block_on(async {
        let mut c = s.daemon.client().await;
        let asked = reference.clone();
        let inflight = tokio::spawn(async move { c.verify(request(&asked)).await });
        tokio::task::spawn_blocking(move || connected.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the verification reached the mirror");
        s.daemon.signal(Signal::TERM);
        let signalled = Instant::now();
        // Cut, not answered: the connection ends without a response.
        assert!(inflight.await.unwrap().is_err());
        signalled
    });
    assert_eq!(
        s.daemon.wait_exit(Duration::from_secs(15)),
        Some(0),
        "{}",
        s.daemon.log()
    );
    // Reported, not asserted on (machines here are shared): the grace period plus the exit.
    eprintln!("SIGTERM to exit: {:?} (grace 1 s)", signalled.elapsed());
    let log = s.daemon.log();
    assert!(log.contains("with requests still open"), "{log}");
    let audit = s.daemon.audit();
    let cut: Vec<_> = audit
        .iter()
        .filter(|r| r["reference"] == reference.as_str())
        .collect();
    assert_eq!(cut.len(), 1, "{audit:?}");
    assert_eq!(cut[0]["outcome"], "error");
    assert_eq!(cut[0]["allowed"], false);
    assert!(
        cut[0]["reason"].as_str().unwrap().starts_with("no answer"),
        "{:?}",
        cut[0]
    );
}

#[test]
fn socket_mode_and_group_are_as_configured() {
    let gid = std::fs::metadata("/proc/self").unwrap().gid();
    let s = setup_with(
        "",
        DaemonOptions {
            server: format!("socket_mode = \"0640\"\nsocket_group = \"{gid}\""),
            ..DaemonOptions::default()
        },
    );
    let meta = std::fs::metadata(&s.daemon.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.gid(), gid);
    // A second daemon on the same socket is refused while the first serves.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .args(["serve", "--config"])
        .arg(&s.daemon.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another process is serving on it"), "{err}");
    // A group that does not exist stops the start with a message naming it.
    let cfg = std::fs::read_to_string(&s.daemon.config)
        .unwrap()
        .replace(
            &format!("socket_group = \"{gid}\""),
            "socket_group = \"no-such-group-notaryd\"",
        )
        .replace(
            &s.daemon.socket.display().to_string(),
            &s.daemon.dir.path().join("other.sock").display().to_string(),
        );
    let other = s.daemon.dir.path().join("other.toml");
    std::fs::write(&other, cfg).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .args(["serve", "--config"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-group-notaryd"), "{err}");
}

#[test]
fn bad_requests_are_invalid_argument_naming_the_field() {
    let s = setup("");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        let digest = s.image.digest.clone();
        let cases: Vec<(v1::VerifyRequest, &str)> = vec![
            (request(""), "reference"),
            (request("UPPER/Case::bad"), "reference"),
            (request(&"a".repeat(5000)), "reference"),
            (
                v1::VerifyRequest {
                    descriptor: Some(v1::Descriptor {
                        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                        digest: "sha256:nothex".into(),
                        size: 1,
                    }),
                    ..request(&s.by_digest())
                },
                "descriptor.digest",
            ),
            (
                v1::VerifyRequest {
                    descriptor: Some(v1::Descriptor {
                        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                        digest: format!("sha256:{}", "0".repeat(64)),
                        size: 1,
                    }),
                    ..request(&s.by_digest())
                },
                "descriptor.digest",
            ),
            (
                v1::VerifyRequest {
                    descriptor: Some(v1::Descriptor {
                        media_type: "bad type\n".into(),
                        digest: digest.clone(),
                        size: 1,
                    }),
                    ..request(&s.by_digest())
                },
                "descriptor.media_type",
            ),
            (
                v1::VerifyRequest {
                    descriptor: Some(v1::Descriptor {
                        media_type: String::new(),
                        digest: digest.clone(),
                        size: -1,
                    }),
                    ..request(&s.by_digest())
                },
                "descriptor.size",
            ),
            (
                v1::VerifyRequest {
                    namespace: "Kube_System".into(),
                    ..request(&s.by_digest())
                },
                "namespace",
            ),
        ];
        for (req, field) in cases {
            let e = c.verify(req).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{field}: {e:?}");
            assert!(e.message().starts_with(field), "{field}: {}", e.message());
        }
        // An oversized request is refused before it is decoded, and the daemon goes on.
        let huge = v1::VerifyRequest {
            auth: Some(v1::RegistryAuth {
                username: "u".into(),
                password: "p".repeat(100_000),
                identity_token: String::new(),
            }),
            ..request(&s.by_digest())
        };
        let e = c.verify(huge).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
        assert!(verify(&mut c, request(&s.by_digest())).await.allowed);
    });
}

#[test]
fn unreachable_registry_is_a_denial_that_says_so() {
    let s = setup("[verification]\ntimeout_seconds = 5\n");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        // Port 1 on loopback: connection refused.
        let r = verify(
            &mut c,
            request(&format!("127.0.0.1:1/team/app@{}", s.image.digest)),
        )
        .await;
        assert!(!r.allowed);
        assert_eq!(r.outcome, v1::Outcome::Error as i32);
        assert!(r.reason.contains("127.0.0.1:1"), "{}", r.reason);
        assert!(r.verified.is_none());
        // Errors are not cached: the next ask tries again.
        let r2 = verify(
            &mut c,
            request(&format!("127.0.0.1:1/team/app@{}", s.image.digest)),
        )
        .await;
        assert!(!r2.cached);
        // An unsigned image is a rejection, not an error.
        let unsigned = s.reg.image(REPO, "unsigned", b"no signature");
        let r = verify(&mut c, request(&format!("{}@{}", s.scope, unsigned.digest))).await;
        assert!(!r.allowed);
        assert_eq!(r.outcome, v1::Outcome::Rejected as i32, "{r:?}");
        assert!(r.reason.contains("signature"), "{}", r.reason);
    });
}

#[test]
fn exempt_digest_is_allowed_unverified_and_audited() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let unsigned = reg.image(REPO, "pause", b"bootstrap");
    let scope = format!("{}/{REPO}", reg.host());
    let d = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions {
            extra_toml: format!(
                "[verification]\nexempt = [\"{scope}@{}\"]\n",
                unsigned.digest
            ),
            ..DaemonOptions::default()
        },
    );
    plain_http_hosts(&d, &reg);
    let rt = runtime();
    rt.block_on(async {
        let mut c = d.client().await;
        let r = verify(&mut c, request(&format!("{scope}@{}", unsigned.digest))).await;
        assert!(r.allowed, "{r:?}");
        assert_eq!(r.outcome, v1::Outcome::Exempt as i32);
        assert!(r.reason.contains("exempt"), "{}", r.reason);
        // By tag: resolved, then found exempt.
        let r = verify(&mut c, request(&format!("{scope}:pause"))).await;
        assert_eq!(r.outcome, v1::Outcome::Exempt as i32, "{r:?}");
        // The same digest under another repository is not exempt.
        let r = verify(
            &mut c,
            request(&format!("{}/other/repo@{}", reg.host(), unsigned.digest)),
        )
        .await;
        assert!(!r.allowed);
    });
    let audit = d.audit();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert_eq!(audit[0]["outcome"], "exempt");
    assert_eq!(audit[0]["allowed"], true);
    assert_eq!(audit[0]["digest"], unsigned.digest.as_str());
    assert!(d.log().contains("exempt from verification"), "{}", d.log());
}

#[test]
fn namespace_policy_applies_to_its_namespace_only() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.signed_image(REPO, "v1", b"ns layer", &chain);
    let scope = format!("{}/{REPO}", reg.host());
    let other = other_chain();
    let d = TestDaemon::start(
        |dir| {
            write_notation_config(dir, &chain, &[&scope], "strict");
            let store = dir.join("truststore/x509/ca/other");
            std::fs::create_dir_all(&store).unwrap();
            std::fs::write(store.join("root.pem"), other.root.pem()).unwrap();
            write_policy(
                &dir.join("locked.json"),
                "locked-down",
                &[&scope],
                "strict",
                &["ca:other"],
            );
        },
        DaemonOptions::default(),
    );
    // Point the namespace at the policy file and reload.
    let cfg = std::fs::read_to_string(&d.config).unwrap().replace(
        "[policy]\n",
        &format!(
            "[policy.namespaces]\nlocked = \"{}\"\n\n[policy]\n",
            d.notation.join("locked.json").display()
        ),
    );
    std::fs::write(&d.config, cfg).unwrap();
    plain_http_hosts(&d, &reg);
    let rt = runtime();
    rt.block_on(async {
        let mut c = d.client().await;
        d.signal(Signal::HUP);
        let st = wait_status(
            &d,
            Duration::from_secs(10),
            "namespace policy loaded",
            |st| {
                st.loaded
                    .as_ref()
                    .is_some_and(|l| l.namespace_policies.contains_key("locked"))
            },
        )
        .await;
        assert!(st.last_reload_error.is_empty(), "{}", st.last_reload_error);
        let reference = format!("{scope}@{}", image.digest);
        let default = verify(&mut c, request(&reference)).await;
        assert!(
            default.allowed && default.trust_policy == "daemon",
            "{default:?}"
        );
        let locked = verify(
            &mut c,
            v1::VerifyRequest {
                namespace: "locked".into(),
                ..request(&reference)
            },
        )
        .await;
        assert!(!locked.allowed && !locked.cached, "{locked:?}");
        assert_eq!(locked.trust_policy, "locked-down");
        // Another namespace without its own policy shares the default verdict (cached).
        let elsewhere = verify(
            &mut c,
            v1::VerifyRequest {
                namespace: "team-a".into(),
                ..request(&reference)
            },
        )
        .await;
        assert!(elsewhere.allowed && elsewhere.cached, "{elsewhere:?}");
    });
    let audit = d.audit();
    assert_eq!(audit[1]["namespace"], "locked");
    assert_eq!(audit[1]["policy"], "locked-down");
    assert_eq!(audit[1]["outcome"], "rejected");
}

#[test]
fn audit_log_has_one_json_line_per_decision() {
    let s = setup("");
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        verify(&mut c, request(&s.by_digest())).await;
        verify(&mut c, request(&s.by_digest())).await;
    });
    let audit = s.daemon.audit();
    assert_eq!(audit.len(), 2);
    for (i, line) in audit.iter().enumerate() {
        for field in [
            "time",
            "reference",
            "digest",
            "policy",
            "outcome",
            "signer",
            "reason",
            "durationMs",
        ] {
            assert!(line.get(field).is_some(), "line {i} lacks {field}: {line}");
        }
        assert_eq!(line["outcome"], "accepted");
        assert_eq!(line["cached"], i == 1);
        assert!(
            line["signer"]
                .as_str()
                .unwrap()
                .contains("notaryd test signer")
        );
    }
}

#[test]
fn a_cached_verdict_never_outlives_the_signature_nor_a_rejection_its_ttl() {
    let s = setup("[cache]\nttl_seconds = 300\nrejection_ttl_seconds = 1\n");
    // A second image in the repository, signed with an expiry five seconds from now.
    let image = s.reg.image(REPO, "expiring", b"expiring layer");
    let expires_at = (time::OffsetDateTime::now_utc() + time::Duration::seconds(5))
        .replace_nanosecond(0)
        .unwrap();
    let expiry = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut jws = Jws::new(
        &s.chain,
        payload_for(&image.media_type, &image.digest, image.size, &[]),
    );
    jws.expiry(&expiry);
    s.reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws.sign(),
        SignatureForm::Legacy,
    );
    let expiring = format!("{}@{}", s.scope, image.digest);
    // And one without a signature, for now.
    let later = s.reg.image(REPO, "later", b"signed later");
    let unsigned = format!("{}@{}", s.scope, later.digest);
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        let first = verify(&mut c, request(&expiring)).await;
        assert!(first.allowed, "{first:?}");
        assert!(verify(&mut c, request(&expiring)).await.cached);
        let r = verify(&mut c, request(&unsigned)).await;
        let rejected_at = Instant::now();
        assert!(!r.allowed && !r.cached, "{r:?}");
        // Kept for the rejection TTL (1 s) and not longer: which of the two a second ask sees
        // depends on when it was answered, and a loaded machine can take a second.
        let again = verify(&mut c, request(&unsigned)).await;
        let elapsed = rejected_at.elapsed();
        if elapsed < Duration::from_millis(900) {
            assert!(again.cached, "asked again {elapsed:?} after: {again:?}");
        } else if elapsed > Duration::from_millis(1100) {
            assert!(!again.cached, "asked again {elapsed:?} after: {again:?}");
        }

        // Until the signature's expiry the image stays allowed; the first answer past it is a
        // fresh verification that rejects it (the cached acceptance did not outlive it).
        let deadline = Instant::now() + Duration::from_secs(30);
        let after = loop {
            let asked = time::OffsetDateTime::now_utc();
            let r = verify(&mut c, request(&expiring)).await;
            if !r.allowed {
                break r;
            }
            assert!(
                asked < expires_at + time::Duration::seconds(1),
                "still allowed when asked a second past the signature's expiry: {r:?}"
            );
            assert!(Instant::now() < deadline, "never rejected: {r:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!after.cached, "{after:?}");
        assert!(
            time::OffsetDateTime::now_utc() >= expires_at,
            "rejected before the signature expired: {after:?}"
        );
        // The rejection was kept one second only: a signature pushed since is seen.
        let m = &later;
        let jws = Jws::new(&s.chain, payload_for(&m.media_type, &m.digest, m.size, &[])).sign();
        s.reg.sign(
            REPO,
            m,
            "application/jose+json",
            &jws,
            SignatureForm::Legacy,
        );
        let now_signed = verify(&mut c, request(&unsigned)).await;
        assert!(now_signed.allowed && !now_signed.cached, "{now_signed:?}");
    });
}

#[test]
fn reload_reopens_a_rotated_audit_log() {
    // Only SIGHUP reloads here.
    let s = setup("[reload]\nwatch = false\n");
    let rt = runtime();
    let rotated = s.daemon.audit_path.with_extension("jsonl.1");
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        verify(&mut c, request(&s.by_digest())).await;
        // What logrotate does: rename, then `systemctl reload` (SIGHUP).
        std::fs::rename(&s.daemon.audit_path, &rotated).unwrap();
        s.daemon.signal(rustix::process::Signal::HUP);
        wait_status(&s.daemon, Duration::from_secs(10), "reload", |st| {
            st.reloads_succeeded >= 1
        })
        .await;
        verify(&mut c, request(&s.by_digest())).await;
    });
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert_eq!(old.lines().count(), 1, "{old}");
    let new = s.daemon.audit();
    assert_eq!(new.len(), 1, "{new:?}");
    // The reload bumped the generation: a fresh decision, written to the new file.
    assert_eq!(new[0]["outcome"], "accepted");
    assert_eq!(new[0]["generation"], 2);

    // Rotated again while the new configuration is broken: the reload is refused, the file is
    // reopened all the same.
    let rotated2 = s.daemon.audit_path.with_extension("jsonl.2");
    std::fs::rename(&s.daemon.audit_path, &rotated2).unwrap();
    std::fs::write(
        s.daemon.notation.join("trustpolicy.json"),
        b"{\"version\": \"1.0\", \"trustPolicies\": [",
    )
    .unwrap();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        s.daemon.signal(rustix::process::Signal::HUP);
        wait_status(
            &s.daemon,
            Duration::from_secs(10),
            "a refused reload",
            |st| st.reloads_failed >= 1,
        )
        .await;
        verify(&mut c, request(&s.by_digest())).await;
    });
    let new = s.daemon.audit();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["generation"], 2, "still the old configuration");
}

#[test]
fn metrics_endpoint_counts_outcomes_and_cache() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = setup(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let rt = runtime();
    rt.block_on(async {
        let mut c = s.daemon.client().await;
        verify(&mut c, request(&s.by_digest())).await;
        verify(&mut c, request(&s.by_digest())).await;
    });
    let text = http_get(port, "/metrics");
    for expected in [
        "notaryd_verifications_total{outcome=\"accepted\"} 2",
        "notaryd_cache_hits_total 1",
        "notaryd_cache_misses_total 1",
        "notaryd_verify_duration_seconds_count{source=\"cache\"} 1",
        "notaryd_verify_duration_seconds_count{source=\"fresh\"} 1",
        "notaryd_config_generation 1",
        "notaryd_revocation_set_age_seconds -1",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(http_get(port, "/other").starts_with("HTTP/1.1 404"));
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn verify_daemon_prints_the_same_report_as_verify() {
    let s = setup("");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
            .args(args)
            .env("DOCKER_CONFIG", "/nonexistent-notaryd-test")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let reference = s.by_digest();
    let notation = s.daemon.notation.to_str().unwrap().to_owned();
    let socket = s.daemon.socket.to_str().unwrap().to_owned();
    let (code, direct, err) = run(&[
        "verify",
        &reference,
        "--plain-http",
        "--notation-config",
        &notation,
    ]);
    assert_eq!(code, Some(0), "{direct}{err}");
    let (code, via_daemon, err) = run(&["verify", "--daemon", "--socket", &socket, &reference]);
    assert_eq!(code, Some(0), "{via_daemon}{err}");
    // The one-shot command also says how many HTTP requests it made; the daemon does not.
    let strip = |r: &str| {
        r.lines()
            .map(|l| l.split("; ").next().unwrap_or(l).to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&via_daemon), strip(&direct));
    let (code, json, _) = run(&[
        "verify", "--daemon", "--socket", &socket, &reference, "-o", "json",
    ]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"], "accepted");
    // A rejection exits 1; a daemon that is not there exits 3.
    let unsigned = s.reg.image(REPO, "u", b"unsigned");
    let (code, out, _) = run(&[
        "verify",
        "--daemon",
        "--socket",
        &socket,
        &format!("{}@{}", s.scope, unsigned.digest),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("REJECTED"), "{out}");
    let (code, _, err) = run(&[
        "verify",
        "--daemon",
        "--socket",
        "/nonexistent/notaryd.sock",
        &reference,
    ]);
    assert_eq!(code, Some(3));
    assert!(err.contains("/nonexistent/notaryd.sock"), "{err}");
}

#[test]
fn config_check_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::new(KeyKind::P256);
    write_notation_config(dir.path(), &chain, &["registry.example/app"], "strict");
    let cfg = dir.path().join("config.toml");
    let check = |text: &str| {
        std::fs::write(&cfg, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
            .args(["config", "check", "--config"])
            .arg(&cfg)
            .env("DOCKER_CONFIG", "/nonexistent-notaryd-test")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let base = format!(
        "[policy]\nnotation_config = \"{}\"\n[revocation]\nstate_dir = \"{}\"\n",
        dir.path().display(),
        dir.path().join("rev").display()
    );
    let (code, out) = check(&base);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("configuration OK"), "{out}");
    for (extra, key) in [
        ("[server]\nsocket_mode = \"0777\"\n", "server.socket_mode"),
        ("[cache]\nttl_seconds = -1\n", "ttl_seconds"),
        (
            "[verification]\nfail_mode = \"open\"\n",
            "verification.fail_mode",
        ),
        ("[metrics]\nlisten = \"nowhere\"\n", "metrics.listen"),
        ("[unknown]\nx = 1\n", "unknown"),
    ] {
        let (code, out) = check(&format!("{base}{extra}"));
        assert_eq!(code, Some(2), "{extra}: {out}");
        assert!(out.contains(key), "{extra}: {out}");
    }
    // A policy naming a store that does not exist is caught too.
    write_policy(
        &dir.path().join("trustpolicy.json"),
        "p",
        &["registry.example/app"],
        "strict",
        &["ca:absent"],
    );
    let (code, out) = check(&base);
    assert_eq!(code, Some(2));
    assert!(out.contains("ca:absent"), "{out}");
}

#[test]
fn systemd_notifications_and_socket_activation() {
    // NOTIFY_SOCKET: READY=1 at start, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 at
    // SIGTERM.
    let notify_dir = tempfile::tempdir().unwrap();
    let notify_path = notify_dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let s = setup_with(
        "",
        DaemonOptions {
            env: vec![("NOTIFY_SOCKET".into(), notify_path.display().to_string())],
            ..DaemonOptions::default()
        },
    );
    let mut buf = [0u8; 4096];
    let mut recv = || {
        let n = notify.recv(&mut buf).expect("an sd_notify message");
        String::from_utf8_lossy(&buf[..n]).trim_end().to_owned()
    };
    assert_eq!(recv(), "READY=1");
    s.daemon.signal(Signal::HUP);
    let reloading = recv();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(recv(), "READY=1");
    s.daemon.signal(Signal::TERM);
    assert_eq!(recv(), "STOPPING=1");

    // Socket activation: systemd-socket-activate binds the socket and passes it.
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.signed_image(REPO, "v1", b"activated", &chain);
    let scope = format!("{}/{REPO}", reg.host());
    let d = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions {
            socket_activated: true,
            ..DaemonOptions::default()
        },
    );
    plain_http_hosts(&d, &reg);
    let rt = runtime();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !d.socket.exists() {
            assert!(Instant::now() < deadline, "{}", d.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The first connection starts the daemon.
        let mut c = d.client().await;
        let r = verify(&mut c, request(&format!("{scope}@{}", image.digest))).await;
        assert!(r.allowed, "{r:?}\n{}", d.log());
    });
    assert!(d.log().contains("socket passed by systemd"), "{}", d.log());
}

#[test]
fn a_repository_without_referrers_api_is_not_asked_again_but_others_are() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let first = reg.signed_image(REPO, "v1", b"one", &chain);
    let second = reg.signed_image(REPO, "v2", b"two", &chain);
    let elsewhere = reg.signed_image("team/other", "v1", b"three", &chain);
    let scope = format!("{}/{REPO}", reg.host());
    let other_scope = format!("{}/team/other", reg.host());
    let d = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope, &other_scope], "strict"),
        DaemonOptions::default(),
    );
    plain_http_hosts(&d, &reg);
    let referrers =
        |repo: &str| registry_requests(&reg.log(), "GET", &format!("/v2/{repo}/referrers/"));
    let rt = runtime();
    rt.block_on(async {
        let mut c = d.client().await;
        for (reference, repo, asked) in [
            (format!("{scope}@{}", first.digest), REPO, 1),
            // Same repository: distribution 2.8 said 404, so the tag schema is used directly.
            (format!("{scope}@{}", second.digest), REPO, 1),
            // Another repository of the same registry is asked for itself.
            (
                format!("{other_scope}@{}", elsewhere.digest),
                "team/other",
                1,
            ),
        ] {
            let r = verify(&mut c, request(&reference)).await;
            assert!(r.allowed, "{reference}: {r:?}");
            assert_eq!(referrers(repo), asked, "{reference}\n{}", reg.log());
        }
    });
}

#[test]
fn sockets_from_systemd_are_matched_by_path() {
    // The CRI proxy socket listed first: each socket still serves what its path says.
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let scope = format!("{}/{REPO}", reg.host());
    let start = |sockets: &[&str]| {
        TestDaemon::start(
            |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
            DaemonOptions {
                socket_activated: true,
                activated_sockets: sockets.iter().map(|s| s.to_string()).collect(),
                // No containerd behind it: only where each socket is served matters here.
                cri_containerd_socket: Some("/nonexistent/containerd.sock".into()),
                ..DaemonOptions::default()
            },
        )
    };
    let mut d = start(&["{cri}", "{socket}"]);
    d.wait_serving();
    let log = d.log();
    assert!(
        log.contains("verifier: serving on the socket passed by systemd")
            && log.contains(&format!("socket={}", d.socket.display()))
            && log.contains(&format!("socket={}", d.cri_socket.display())),
        "{log}"
    );

    // A socket that matches no configured one is refused, by name, at start.
    let mut d = start(&["{socket}", "{cri}", "run/stray.sock"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    // The first connection starts the daemon. systemd-socket-activate binds the path before
    // it listens on it: until then a connection is refused, so retry until it is taken.
    let _first = loop {
        match std::os::unix::net::UnixStream::connect(&d.socket) {
            Ok(c) => break c,
            Err(e) => assert!(Instant::now() < deadline, "{e}: {}", d.log()),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(2), "{}", d.log());
    let log = d.log();
    assert!(
        log.contains("stray.sock") && log.contains("match no configured socket"),
        "{log}"
    );
}

#[test]
fn one_clients_flood_does_not_starve_another_client() {
    // Registry A is reached through a mirror that accepts connections and never answers, so
    // each verification against it holds its slot for the request timeout (10 s).
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole = blackhole.local_addr().unwrap();
    // Each accepted connection is announced, so that the other client asks once the flood
    // holds its whole share (4) at the mirror, rather than after a guessed delay.
    let (connected_tx, connected) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in blackhole.incoming() {
            held.push(c);
            let _ = connected_tx.send(());
        }
    });
    let reg_a = TestRegistry::start(RegistryOptions::anonymous());
    let reg_b = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let flood: Vec<Desc> = (0..12)
        .map(|i| {
            reg_a.signed_image(
                REPO,
                &format!("f{i}"),
                format!("flood {i}").as_bytes(),
                &chain,
            )
        })
        .collect();
    let victim = reg_b.signed_image(REPO, "v1", b"victim", &chain);
    let scope_a = format!("{}/{REPO}", reg_a.host());
    let scope_b = format!("{}/{REPO}", reg_b.host());
    let d = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope_a, &scope_b], "strict"),
        DaemonOptions {
            server: "max_concurrent_requests = 8\nmax_concurrent_requests_per_client = 4".into(),
            registry: "request_timeout_seconds = 10\nconnect_timeout_seconds = 10".into(),
            ..DaemonOptions::default()
        },
    );
    plain_http_hosts(&d, &reg_b);
    let dir = d.dir.path().join("certs.d").join(reg_a.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{reg}\"\n\n[host.\"http://{hole}\"]\ncapabilities = [\"pull\", \"resolve\"]\n",
            reg = reg_a.host()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The flood: this test process, 12 verifications at once over 3 connections.
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(d.client().await);
        }
        let mut tasks = Vec::new();
        for (i, image) in flood.iter().enumerate() {
            let mut c = clients[i % 3].clone();
            let reference = format!("{scope_a}@{}", image.digest);
            tasks.push(tokio::spawn(
                async move { c.verify(request(&reference)).await },
            ));
        }
        tokio::task::spawn_blocking(move || {
            for held in 1..=4 {
                if connected.recv_timeout(Duration::from_secs(30)).is_err() {
                    panic!(
                        "only {} of the flood's 4 verifications reached the mirror",
                        held - 1
                    );
                }
            }
        })
        .await
        .unwrap();
        // Another client (its own process) is served meanwhile.
        let socket = d.socket.clone();
        let reference = format!("{scope_b}@{}", victim.digest);
        let victim_run = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
                .args(["verify", "--daemon", "--socket"])
                .arg(&socket)
                .arg(&reference)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(
            victim_run.status.code(),
            Some(0),
            "{}{}\n--- daemon ---\n{}",
            String::from_utf8_lossy(&victim_run.stdout),
            String::from_utf8_lossy(&victim_run.stderr),
            d.log()
        );
        // The flood past its share is refused with RESOURCE_EXHAUSTED once it waited.
        let mut exhausted = 0;
        for t in tasks {
            // A request still waiting on the mirror, or answered after it, is not what is
            // checked here.
            if let Ok(Ok(Err(status))) = tokio::time::timeout(Duration::from_secs(7), t).await {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                assert!(
                    status
                        .message()
                        .contains("already has 4 verifications running"),
                    "{status:?}"
                );
                exhausted += 1;
            }
        }
        assert!(exhausted >= 1, "no request of the flood was refused");
    });
}

/// Issue 15: a restart while 32 clients keep asking. Clients that find the daemon gone
/// (socket missing, connection refused, stream refused at shutdown) retry, as containerd's
/// verifier and kubelet do. No answer is a wrong verdict, and the audit log holds exactly one
/// line per answer, over both daemon processes: nothing answered is missing from it, and
/// nothing is in it twice.
#[test]
fn a_restart_under_load_gives_no_wrong_verdict_and_loses_or_doubles_no_audit_line() {
    const SIGNED: usize = 12;
    const UNSIGNED: usize = 4;
    const CALLS: usize = 480;
    const CLIENTS: usize = 32;
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let mut references: Vec<(String, bool)> = Vec::new();
    for i in 0..SIGNED {
        reg.signed_image(
            REPO,
            &format!("s{i}"),
            format!("signed {i}").as_bytes(),
            &chain,
        );
        references.push((format!("{}/{REPO}:s{i}", reg.host()), true));
    }
    for i in 0..UNSIGNED {
        reg.image(REPO, &format!("u{i}"), format!("unsigned {i}").as_bytes());
        references.push((format!("{}/{REPO}:u{i}", reg.host()), false));
    }
    let scope = format!("{}/{REPO}", reg.host());
    let options = DaemonOptions::default();
    let mut daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions::default(),
    );
    plain_http_hosts(&daemon, &reg);
    let socket = daemon.socket.clone();
    let references = Arc::new(references);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let retries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (socket, references, next, answered, retries) = (
            socket.clone(),
            Arc::clone(&references),
            Arc::clone(&next),
            Arc::clone(&answered),
            Arc::clone(&retries),
        );
        tasks.push(rt.spawn(async move {
            let mut answers: Vec<(String, bool, String)> = Vec::new();
            let mut client = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= CALLS {
                    return answers;
                }
                let (reference, _) = &references[n % references.len()];
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    assert!(Instant::now() < deadline, "{reference}: no answer in 60 s");
                    if client.is_none() {
                        client = notaryd::cli::daemon_client(&socket).await.ok();
                    }
                    let Some(c) = client.as_mut() else {
                        retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    match c.verify(request(reference)).await {
                        Ok(r) => {
                            let r = r.into_inner();
                            answers.push((
                                reference.clone(),
                                r.allowed,
                                r.outcome().as_str_name().to_owned(),
                            ));
                            answered.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        // The daemon went away under this call (or refused the stream while
                        // stopping): ask the next one.
                        Err(_) => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            client = None;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
        }));
    }
    // Restart once a third of the calls are answered.
    let wait_until = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::Relaxed) < CALLS / 3 {
        assert!(
            Instant::now() < wait_until,
            "the load did not start\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let before_restart = answered.load(Ordering::Relaxed);
    daemon.restart(&options);
    // Everything the old process answered is in the log by now; the rest is the new one's.
    let audited_by_the_old_process = daemon.audit().len();
    let answers: Vec<(String, bool, String)> = rt.block_on(async {
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    assert_eq!(answers.len(), CALLS);
    assert!(
        audited_by_the_old_process < CALLS,
        "every call was answered before the restart: the test restarted nothing"
    );
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "no client ever found the daemon gone"
    );
    let signed: std::collections::HashMap<&str, bool> =
        references.iter().map(|(r, s)| (r.as_str(), *s)).collect();
    for (reference, allowed, outcome) in &answers {
        let expected = signed[reference.as_str()];
        assert_eq!(
            *allowed, expected,
            "{reference}: allowed {allowed} ({outcome}), signed {expected}"
        );
    }
    // One audit line per answer: the same references, the same number of times.
    let mut asked: std::collections::BTreeMap<String, usize> = Default::default();
    for (reference, _, _) in &answers {
        *asked.entry(reference.clone()).or_default() += 1;
    }
    let mut audited: std::collections::BTreeMap<String, usize> = Default::default();
    for line in daemon.audit() {
        *audited
            .entry(line["reference"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        audited,
        asked,
        "audit lines differ from answers ({} retries)",
        retries.load(Ordering::Relaxed)
    );
    eprintln!(
        "restart under load: {CALLS} calls by {CLIENTS} clients, restart after {before_restart} answers, {} retries, audit lines {}",
        retries.load(Ordering::Relaxed),
        audited.values().sum::<usize>()
    );
}

/// Issue 19's first step: a bearer token fetched for one fresh verification serves the next
/// ones made with the same credentials (here none: an anonymous pull token), until a reload;
/// a caller's own credentials get a token of their own.
#[test]
fn a_token_serves_every_verification_with_the_same_credentials_until_a_reload() {
    let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions::default()));
    let chain = Chain::new(KeyKind::P256);
    let scope = format!("{}/{REPO}", reg.host());
    let images: Vec<String> = (0..3)
        .map(|i| {
            let d = reg.signed_image(
                REPO,
                &format!("v{i}"),
                format!("layer {i}").as_bytes(),
                &chain,
            );
            format!("{scope}@{}", d.digest)
        })
        .collect();
    let d = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions {
            extra_toml: "[reload]\nwatch = false\n".into(),
            ..DaemonOptions::default()
        },
    );
    plain_http_hosts(&d, &reg);
    let tokens = || reg.token_server().unwrap().request_count();
    let rt = runtime();
    rt.block_on(async {
        let mut c = d.client().await;
        for image in &images[..2] {
            let r = verify(&mut c, request(image)).await;
            assert!(r.allowed && !r.cached, "{r:?}");
        }
        assert_eq!(tokens(), 1, "two fresh verifications, one token");
        // The caller's own credential: not the anonymous token.
        let mut with_auth = request(&images[2]);
        with_auth.auth = Some(v1::RegistryAuth {
            username: "alice".into(),
            password: "secret".into(),
            identity_token: String::new(),
        });
        let r = verify(&mut c, with_auth).await;
        assert!(r.allowed, "{r:?}");
        assert_eq!(tokens(), 2, "a token of its own for other credentials");
        // A reload starts over: its docker configuration or helpers may answer otherwise.
        d.signal(rustix::process::Signal::HUP);
        wait_status(&d, Duration::from_secs(10), "reload", |st| {
            st.reloads_succeeded >= 1
        })
        .await;
        let r = verify(&mut c, request(&images[0])).await;
        assert!(r.allowed && !r.cached, "{r:?}");
        assert_eq!(tokens(), 3, "a new token after the reload");
    });
}
