//! Memory under hostile registry bodies: `cargo bench --bench memory` (issue 15, item 4).
//!
//! Starts Debian's `docker-registry` on 127.0.0.1 with one unsigned image, the fixture fault
//! proxy (`tests/common/fixture_fault_proxy.rs`) in front of it, and the release
//! `notaryd serve` whose hosts.toml sends every request for the registry to the proxy. With
//! `max_concurrent_requests_per_client = 256`, so that this one client stands for the many
//! (kubelet, containerd) that reach the daemon-wide limit of 256 fresh verifications. Then:
//! - (a) one Verify whose referrers API answers a 10,001-entry index (over the 10,000
//!   descriptor cap, about 2.3 MB with its Content-Length);
//! - (b) 256 concurrent Verify calls, each of a tag of its own (no single flight joins them),
//!   whose manifest is a 100 MB chunked body (no Content-Length, over the 4 MiB cap).
//!
//! For each it prints the outcomes (all must be errors, none allowed), the wall time, and the
//! daemon's resident memory idle before → peak (VmHWM, reset through `clear_refs` before the
//! phase) → idle 3 s after. A phase whose calls are not all errors fails the run (exit 1).
//! Nothing else is asserted: the figures are for docs/robustness.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    missing_docs,
    dead_code
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::daemon::{DaemonOptions, TestDaemon, mib, request, vm, write_notation_config};
use common::fixture_fault_proxy::{Fault, FixtureFaultProxy};
use common::pki::{Chain, KeyKind};
use common::registry::{RegistryOptions, TestRegistry};

const REPO: &str = "hostile/app";
const INDEX_ENTRIES: usize = 10_001;
const CONCURRENT: usize = 256;
const CONNECTIONS: usize = 8;
const CHUNKED_BYTES: u64 = 100 * 1000 * 1000;
const SETTLE: Duration = Duration::from_secs(3);

/// The kind of an error reason, for the summary: its text with the URL and numbers left out.
fn kind(reason: &str) -> String {
    if reason.contains("max_body_bytes_in_flight") {
        "body budget had no room (names registry.max_body_bytes_in_flight)".into()
    } else if reason.contains("body larger than") {
        "body larger than its cap".into()
    } else if reason.contains("timed out") {
        "timed out".into()
    } else if reason.contains("verifications are already running") {
        "overloaded".into()
    } else {
        // The end of the message: what went wrong, after the URL.
        let chars: Vec<char> = reason.chars().collect();
        chars[chars.len().saturating_sub(100)..].iter().collect()
    }
}

struct Phase {
    idle: u64,
    peak: u64,
    after: u64,
    wall: Duration,
    kinds: BTreeMap<String, usize>,
    bad: usize,
}

fn report(name: &str, p: &Phase) {
    println!(
        "{name}: {:.2} s; resident memory idle {} → peak {} → after {} s idle {}",
        p.wall.as_secs_f64(),
        mib(p.idle),
        mib(p.peak),
        SETTLE.as_secs(),
        mib(p.after)
    );
    for (k, n) in &p.kinds {
        println!("    {n:>4} × {k}");
    }
    if p.bad > 0 {
        println!("    {} calls were not errors", p.bad);
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory benchmark: run with `cargo bench --bench memory`");
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    reg.image(REPO, "v1", b"an unsigned image");
    let scope = format!("{}/{REPO}", reg.host());
    let proxy = FixtureFaultProxy::start(&reg.host());
    proxy.fail("/referrers/", Fault::Index(INDEX_ENTRIES));
    proxy.fail(
        &format!("/v2/{REPO}/manifests/t"),
        Fault::Chunked(CHUNKED_BYTES),
    );
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions {
            server: format!("max_concurrent_requests_per_client = {CONCURRENT}"),
            ..DaemonOptions::default()
        },
    );
    let hosts = daemon.dir.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&hosts).unwrap();
    std::fs::write(
        hosts.join("hosts.toml"),
        format!("server = \"http://{}\"\n", proxy.host()),
    )
    .unwrap();
    let pid = daemon.pid();
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "notaryd serve (release), pid {pid}; {} CPUs; idle resident memory {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mib(vm(pid, "VmRSS:"))
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (a, b) = rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            clients.push(daemon.client().await);
        }
        // Runs `references` at once and measures the phase.
        let phase = |references: Vec<String>| {
            let clients = clients.clone();
            async move {
                let idle = vm(pid, "VmRSS:");
                std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
                let started = Instant::now();
                let mut tasks = Vec::new();
                for (i, reference) in references.into_iter().enumerate() {
                    let mut c = clients[i % clients.len()].clone();
                    tasks.push(tokio::spawn(async move {
                        match c.verify(request(&reference)).await {
                            Ok(r) => {
                                let r = r.into_inner();
                                let error = r.outcome == notaryd::api::v1::Outcome::Error as i32;
                                (error && !r.allowed && !r.cached, kind(&r.reason))
                            }
                            Err(s) => (false, format!("gRPC {:?}: {}", s.code(), s.message())),
                        }
                    }));
                }
                let mut kinds = BTreeMap::new();
                let mut bad = 0;
                for t in tasks {
                    let (ok, k) = t.await.unwrap();
                    bad += usize::from(!ok);
                    *kinds.entry(k).or_insert(0) += 1;
                }
                let wall = started.elapsed();
                let peak = vm(pid, "VmHWM:");
                tokio::time::sleep(SETTLE).await;
                Phase {
                    idle,
                    peak,
                    after: vm(pid, "VmRSS:"),
                    wall,
                    kinds,
                    bad,
                }
            }
        };
        let a = phase(vec![format!("{scope}:v1")]).await;
        let b = phase((0..CONCURRENT).map(|i| format!("{scope}:t{i}")).collect()).await;
        (a, b)
    });
    report(
        &format!("(a) one referrers index of {INDEX_ENTRIES} entries"),
        &a,
    );
    report(
        &format!(
            "(b) {CONCURRENT} concurrent manifests of {} MB, chunked",
            CHUNKED_BYTES / 1_000_000
        ),
        &b,
    );
    if a.bad + b.bad > 0 {
        eprintln!("FAILED: a hostile body gave something other than an error");
        std::process::exit(1);
    }
}
