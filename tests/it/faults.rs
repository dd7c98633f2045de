//! The fault suite (issue 15): a fault at each stage of a verification — the tag's manifest,
//! the referrers API, the referrers tag, the signature manifest, the envelope — from a fixture
//! proxy in front of the real docker-registry, behind each hosts.toml layout, through the
//! one-shot CLI and the daemon. A fault at the last host is an error naming it (exit 3, or
//! the daemon's `error` outcome, never cached), never "no signature" or a rejection; a fault
//! at a mirror with a healthy upstream behind it still verifies. Every run ends within its
//! deadline plus a stated margin.
// The tests measure wall time (a bound, not a speed goal).
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use notaryd::api::v1;

use crate::common::containerd::write_plain_http_hosts;
use crate::common::daemon::{DaemonOptions, TestDaemon, write_notation_config};
use crate::common::fixture_fault_proxy::{Fault, FixtureFaultProxy};
use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{SignatureForm, sha256};
use crate::common::pki::{Chain, KeyKind};
use crate::common::registry::{RegistryOptions, TestRegistry, TokenFault, TokenServerOptions};

const REPO: &str = "team/app";
/// `--request-timeout` of the runs: what a hanging answer costs.
const REQUEST_TIMEOUT: u64 = 1;
/// `--timeout`: the whole verification's deadline.
const TIMEOUT: u64 = 20;
/// What a run may take beyond its deadline: process start, retries' back-off, a loaded
/// machine. A bound that catches a run that hangs, not a speed goal.
const MARGIN: Duration = Duration::from_secs(15);

/// How hosts.toml sends the registry's requests to the proxy.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// `server = "http://PROXY"`.
    ServerOnly,
    /// `server = "http://PROXY"` and `[host."http://PROXY"]`: the same place twice.
    ServerAndSameHost,
    /// `[host."http://PROXY"]` as a mirror, `server` the real registry.
    MirrorThenUpstream,
}

struct Suite {
    reg: TestRegistry,
    chain: Chain,
    config: tempfile::TempDir,
    /// The stages, as a pattern of the request path each one makes.
    stages: Vec<(&'static str, String)>,
}

fn suite() -> Suite {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.image(REPO, "v1", b"layer");
    let envelope = Jws::new(
        &chain,
        payload_for(&image.media_type, &image.digest, image.size, &[]),
    )
    .sign();
    let signature = reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &envelope,
        SignatureForm::Legacy,
    );
    let config = tempfile::tempdir().unwrap();
    let store = config.path().join("truststore/x509/ca/acme");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.pem"), chain.root.pem()).unwrap();
    let policy = serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": "faults", "registryScopes": [format!("{}/{REPO}", reg.host())],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:acme"], "trustedIdentities": ["*"],
    }]});
    std::fs::write(config.path().join("trustpolicy.json"), policy.to_string()).unwrap();
    let stages = vec![
        ("tag manifest", format!("/v2/{REPO}/manifests/v1")),
        ("referrers API", format!("/v2/{REPO}/referrers/")),
        (
            "referrers tag",
            format!("/v2/{REPO}/manifests/{}", image.digest.replace(':', "-")),
        ),
        (
            "signature manifest",
            format!("/v2/{REPO}/manifests/{}", signature.digest),
        ),
        (
            "envelope",
            format!("/v2/{REPO}/blobs/{}", sha256(&envelope)),
        ),
    ];
    Suite {
        reg,
        chain,
        config,
        stages,
    }
}

impl Suite {
    /// A hosts directory sending the registry's requests to `proxy` as `layout` says.
    fn hosts(&self, layout: Layout, proxy: &FixtureFaultProxy) -> tempfile::TempDir {
        let (proxy, reg) = (proxy.host(), self.reg.host());
        let body = match layout {
            Layout::ServerOnly => format!("server = \"http://{proxy}\"\n"),
            Layout::ServerAndSameHost => format!(
                "server = \"http://{proxy}\"\n\n[host.\"http://{proxy}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
            ),
            Layout::MirrorThenUpstream => format!(
                "server = \"http://{reg}\"\n\n[host.\"http://{proxy}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
            ),
        };
        let hosts = tempfile::tempdir().unwrap();
        let dir = hosts.path().join(&reg);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hosts.toml"), body).unwrap();
        hosts
    }

    /// `notaryd verify REGISTRY/team/app:v1` through `hosts`: exit code, output, wall time.
    fn verify(&self, hosts: &Path) -> (i32, String, Duration) {
        verify_cli(
            &format!("{}/{REPO}:v1", self.reg.host()),
            hosts,
            self.config.path(),
        )
    }
}

/// `notaryd verify REFERENCE` with this suite's deadlines, `hosts` and the notation
/// configuration `config`: exit code, stdout and stderr, wall time.
fn verify_cli(reference: &str, hosts: &Path, config: &Path) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .args([
            "verify",
            reference,
            "--hosts-dir",
            hosts.to_str().unwrap(),
            "--notation-config",
            config.to_str().unwrap(),
            "--request-timeout",
            &REQUEST_TIMEOUT.to_string(),
            "--timeout",
            &TIMEOUT.to_string(),
        ])
        .env("DOCKER_CONFIG", "/nonexistent-notaryd-test")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text, started.elapsed())
}

/// Every fault at every stage behind `layout`, each case with a proxy of its own.
fn every_fault_at_every_stage(layout: Layout) {
    let s = suite();
    // The healthy path first, through a proxy with no fault.
    let healthy = FixtureFaultProxy::start(&s.reg.host());
    let hosts = s.hosts(layout, &healthy);
    let (code, out, _) = s.verify(hosts.path());
    assert_eq!(code, 0, "{layout:?}, no fault: {out}");
    let mut failures = Vec::new();
    for (stage, pattern) in &s.stages {
        for fault in [Fault::Status(500), Fault::CutBody, Fault::Hang] {
            let proxy = FixtureFaultProxy::start(&s.reg.host());
            proxy.fail(pattern, fault);
            let hosts = s.hosts(layout, &proxy);
            let (code, out, took) = s.verify(hosts.path());
            let case = format!("{layout:?}, {fault:?} at the {stage}");
            let hit = proxy
                .requests()
                .iter()
                .any(|r| r.contains(pattern.as_str()));
            if took > Duration::from_secs(TIMEOUT) + MARGIN {
                failures.push(format!("{case}: took {took:?}"));
            }
            match layout {
                // The mirror failed; upstream answers whole: verified.
                Layout::MirrorThenUpstream => {
                    if code != 0 {
                        failures.push(format!("{case}: exit {code}, not 0: {out}"));
                    }
                }
                // The only place failed: an error naming it and the fault, never exit 1.
                Layout::ServerOnly | Layout::ServerAndSameHost => {
                    let named = out.contains(&proxy.host());
                    let kind = match fault {
                        Fault::Status(_) => out.contains("HTTP 500"),
                        Fault::CutBody => out.contains("unreachable") || out.contains("body"),
                        Fault::Hang => out.contains("timed out"),
                        // Not among the faults tried here.
                        Fault::Chunked(_) | Fault::Stall(_) | Fault::Index(_) => false,
                    };
                    if code != 3 || !named || !kind {
                        failures.push(format!(
                            "{case}: exit {code} (want 3), names the proxy: {named}, names the \
                             fault: {kind}: {out}"
                        ));
                    }
                }
            }
            if !hit {
                failures.push(format!(
                    "{case}: the stage was never asked for (a stale pattern?)"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn faults_behind_a_server_only_hosts_toml_are_errors_naming_the_host() {
    every_fault_at_every_stage(Layout::ServerOnly);
}

#[test]
fn faults_behind_a_registry_named_as_server_and_host_are_errors_naming_the_host() {
    every_fault_at_every_stage(Layout::ServerAndSameHost);
}

#[test]
fn faults_at_a_mirror_with_a_healthy_upstream_still_verify() {
    every_fault_at_every_stage(Layout::MirrorThenUpstream);
}

/// The daemon's route: a fault at the only place is an `error` outcome that is not allowed and
/// never cached — the next ask verifies afresh, and once the fault is gone it is allowed.
#[test]
fn the_daemon_answers_a_fault_with_an_error_it_does_not_cache() {
    let s = suite();
    let scope = format!("{}/{REPO}", s.reg.host());
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &s.chain, &[&scope], "strict"),
        DaemonOptions {
            registry: format!("request_timeout_seconds = {REQUEST_TIMEOUT}"),
            ..DaemonOptions::default()
        },
    );
    let route = |proxy: &FixtureFaultProxy| {
        let dir = daemon.dir.path().join("certs.d").join(s.reg.host());
        std::fs::create_dir_all(&dir).unwrap();
        let body = format!(
            "server = \"http://{p}\"\n\n[host.\"http://{p}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            p = proxy.host()
        );
        std::fs::write(dir.join("hosts.toml"), body).unwrap();
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = daemon.client().await;
        let ask = || v1::VerifyRequest {
            reference: format!("{scope}:v1"),
            ..Default::default()
        };
        for (stage, pattern) in &s.stages {
            for fault in [Fault::Status(503), Fault::CutBody, Fault::Hang] {
                let case = format!("{fault:?} at the {stage}");
                let proxy = FixtureFaultProxy::start(&s.reg.host());
                proxy.fail(pattern, fault);
                route(&proxy);
                for _ in 0..2 {
                    let r = c.verify(ask()).await.unwrap().into_inner();
                    assert!(!r.allowed, "{case}: {r:?}");
                    assert_eq!(r.outcome, v1::Outcome::Error as i32, "{case}: {r:?}");
                    assert!(!r.cached, "{case}: an error was cached: {r:?}");
                    assert!(r.reason.contains(&proxy.host()), "{case}: {}", r.reason);
                }
            }
        }
        // The same image through a healthy route: allowed, and not from a cache (no fault
        // above left a verdict behind).
        let healthy = FixtureFaultProxy::start(&s.reg.host());
        route(&healthy);
        let r = c.verify(ask()).await.unwrap().into_inner();
        assert!(r.allowed && !r.cached, "healthy at last: {r:?}");
    });
    // Every answer is in the audit log, once: 15 cases asked twice, and the last.
    let audit = daemon.audit();
    assert_eq!(audit.len(), 31, "{audit:?}");
    assert_eq!(
        audit.iter().filter(|r| r["outcome"] == "error").count(),
        30,
        "{audit:?}"
    );
}

/// The token-service stage: a registry behind bearer-token auth whose token server fails
/// (500) or never answers. The one-shot CLI exits 3 naming the token service and the fault,
/// within its deadline; the daemon answers `error`, not cached, and allows once the token
/// service answers again.
#[test]
fn a_failing_token_service_is_an_error_naming_it() {
    let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions::default()));
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let tokens = reg.token_server().unwrap();
    let realm_host = tokens.addr().to_string();
    let scope = format!("{}/{REPO}", reg.host());
    let config = tempfile::tempdir().unwrap();
    write_notation_config(config.path(), &chain, &[&scope], "strict");
    let hosts = tempfile::tempdir().unwrap();
    write_plain_http_hosts(hosts.path(), &reg.host());
    let cli = |what: &str| {
        let (code, out, took) = verify_cli(&format!("{scope}:v1"), hosts.path(), config.path());
        assert!(
            took <= Duration::from_secs(TIMEOUT) + MARGIN,
            "{what}: took {took:?}"
        );
        (code, out)
    };
    let (code, out) = cli("healthy");
    assert_eq!(code, 0, "{out}");
    for (fault, kind) in [
        (TokenFault::Status(500), "500"),
        (TokenFault::Hang, "timed out"),
    ] {
        tokens.fail(Some(fault));
        let (code, out) = cli(&format!("{fault:?}"));
        assert_eq!(code, 3, "{fault:?}: {out}");
        assert!(
            out.contains(&realm_host) && out.contains(kind),
            "{fault:?}: names neither the token service nor the fault: {out}"
        );
    }

    // The daemon: the same faults are errors, never cached.
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions {
            registry: format!("request_timeout_seconds = {REQUEST_TIMEOUT}"),
            ..DaemonOptions::default()
        },
    );
    write_plain_http_hosts(&daemon.dir.path().join("certs.d"), &reg.host());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = daemon.client().await;
        let ask = || v1::VerifyRequest {
            reference: format!("{scope}:v1"),
            ..Default::default()
        };
        for fault in [TokenFault::Status(500), TokenFault::Hang] {
            tokens.fail(Some(fault));
            for _ in 0..2 {
                let r = c.verify(ask()).await.unwrap().into_inner();
                assert!(!r.allowed && !r.cached, "{fault:?}: {r:?}");
                assert_eq!(r.outcome, v1::Outcome::Error as i32, "{fault:?}: {r:?}");
                assert!(r.reason.contains(&realm_host), "{fault:?}: {}", r.reason);
            }
        }
        tokens.fail(None);
        let r = c.verify(ask()).await.unwrap().into_inner();
        assert!(r.allowed && !r.cached, "token service back: {r:?}");
    });
}

/// The daemon's budget of registry bodies in memory (`registry.max_body_bytes_in_flight`, here
/// its smallest value, 32 MiB and a read buffer): eight verifications whose manifests announce
/// an eighth of it each (with their read buffers) and never send it hold all of it; a ninth, of a signed image, finds no room for its manifest
/// within the budget's wait and is an `error` naming the budget — not a rejection, not
/// cached, within the wait plus the margin. Once the eight have given up (their request
/// deadline), the same image verifies, afresh.
#[test]
fn the_body_budget_refuses_with_an_error_naming_it_that_is_never_cached() {
    use notaryd::registry::budget::{READ_BUFFER_SHARE, min_body_budget};
    const HOLDERS: u64 = 8;
    let budget = min_body_budget();
    // Each holder's manifest and its read buffer: together, all of the budget.
    let held = budget / HOLDERS - READ_BUFFER_SHARE;
    assert_eq!((held + READ_BUFFER_SHARE) * HOLDERS, budget);
    let s = suite();
    let scope = format!("{}/{REPO}", s.reg.host());
    let proxy = FixtureFaultProxy::start(&s.reg.host());
    proxy.fail(&format!("/v2/{REPO}/manifests/hold"), Fault::Stall(held));
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &s.chain, &[&scope], "strict"),
        DaemonOptions {
            registry: format!("request_timeout_seconds = 12\nmax_body_bytes_in_flight = {budget}"),
            ..DaemonOptions::default()
        },
    );
    let dir = daemon.dir.path().join("certs.d").join(s.reg.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!("server = \"http://{}\"\n", proxy.host()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = daemon.client().await;
        let ask = |reference: String| {
            let mut c = c.clone();
            async move {
                let started = Instant::now();
                let r = c
                    .verify(v1::VerifyRequest {
                        reference,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                (r, started.elapsed())
            }
        };
        let holders: Vec<_> = (0..HOLDERS)
            .map(|i| tokio::spawn(ask(format!("{scope}:hold{i}"))))
            .collect();
        // Every holder has its answer's headers (and so its share) before the ninth asks.
        let deadline = Instant::now() + Duration::from_secs(10);
        while proxy
            .requests()
            .iter()
            .filter(|r| r.contains("/manifests/hold"))
            .count()
            < HOLDERS as usize
        {
            assert!(Instant::now() < deadline, "{:?}", proxy.requests());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;

        let (r, took) = ask(format!("{scope}:v1")).await;
        assert_eq!(r.outcome, v1::Outcome::Error as i32, "{r:?}");
        assert!(!r.allowed && !r.cached, "{r:?}");
        assert!(
            r.reason.contains("registry.max_body_bytes_in_flight")
                && r.reason.contains(&budget.to_string())
                && r.reason.contains("/manifests/v1"),
            "the reason names neither the budget nor the request: {}",
            r.reason
        );
        assert!(
            took <= notaryd::registry::budget::BUDGET_WAIT + MARGIN,
            "took {took:?}"
        );

        for h in holders {
            let (r, _) = h.await.unwrap();
            assert_eq!(r.outcome, v1::Outcome::Error as i32, "a holder: {r:?}");
            assert!(!r.allowed && !r.cached, "a holder: {r:?}");
        }
        // Room again: the same image verifies, and not from a cache.
        let (r, _) = ask(format!("{scope}:v1")).await;
        assert!(r.allowed && !r.cached, "with room in the budget: {r:?}");
    });
    let audit = daemon.audit();
    assert_eq!(audit.len(), HOLDERS as usize + 2, "{audit:?}");
}
