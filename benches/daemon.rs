//! The resident verifier over its unix socket: `cargo bench --bench daemon`.
//!
//! Starts Debian's `docker-registry` on 127.0.0.1, pushes signed images (JWS PS384 over an
//! RSA-3072 chain, as in the registry benchmark), starts the release `notaryd serve` with a
//! configuration trusting the root, and measures from a gRPC client in this process:
//! - cached Verify (a digest already decided): latency p50/p99 and throughput at
//!   concurrency 1, 16 and 128 (16 and 128 spread over 4 and 8 connections);
//! - fresh Verify against the local registry (a new digest each time), latency p50/p99 at
//!   concurrency 1;
//! - resident memory of the daemon: idle after start, after the cached runs, and the peak
//!   (VmHWM) while 128 fresh verifications run at once.
//!
//! The client shares the machine's two cores with the daemon and the registry, as kubelet
//! and containerd would. Results are printed; nothing is asserted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs,
    dead_code
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::daemon::{DaemonOptions, TestDaemon, mib, request, vm, write_notation_config};
use common::layout::Desc;
use common::pki::{Chain, KeyKind};
use common::registry::{RegistryOptions, TestRegistry};
use notaryd::api::v1::verifier_client::VerifierClient;
use tonic::transport::Channel;

const REPO: &str = "bench/app";
const CACHED_RUN: Duration = Duration::from_secs(3);
const FRESH_SEQUENTIAL: usize = 60;
const FRESH_CONCURRENT: usize = 128;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn sign(reg: &TestRegistry, chain: &Chain, tag: &str) -> Desc {
    reg.signed_image(REPO, tag, format!("layer of {tag}").as_bytes(), chain)
}

/// Runs `concurrency` workers over `clients` for `duration`, each asking for `reference`;
/// returns every latency.
async fn cached_run(
    clients: &[VerifierClient<Channel>],
    reference: &str,
    concurrency: usize,
    duration: Duration,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let reference = Arc::new(reference.to_owned());
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let mut c = clients[i % clients.len()].clone();
        let reference = Arc::clone(&reference);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = c.verify(request(&reference)).await.unwrap().into_inner();
                lat.push(t.elapsed());
                assert!(r.allowed && r.cached, "{r:?}");
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    (all, elapsed)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("daemon benchmark: run with `cargo bench --bench daemon`");
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::fresh(KeyKind::Rsa3072, "bench");
    let scope = format!("{}/{REPO}", reg.host());
    print!(
        "pushing {} signed images… ",
        1 + FRESH_SEQUENTIAL + FRESH_CONCURRENT
    );
    let warm = sign(&reg, &chain, "warm");
    let sequential: Vec<Desc> = (0..FRESH_SEQUENTIAL)
        .map(|i| sign(&reg, &chain, &format!("s{i}")))
        .collect();
    let concurrent: Vec<Desc> = (0..FRESH_CONCURRENT)
        .map(|i| sign(&reg, &chain, &format!("c{i}")))
        .collect();
    println!("done");

    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions::default(),
    );
    let hosts = daemon.dir.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&hosts).unwrap();
    std::fs::write(
        hosts.join("hosts.toml"),
        format!("server = \"http://{}\"\n", reg.host()),
    )
    .unwrap();
    let pid = daemon.pid();
    std::thread::sleep(Duration::from_millis(500));
    let idle = vm(pid, "VmRSS:");
    println!(
        "notaryd serve (release), pid {pid}; machine: {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "idle resident memory after start: {} (target ≤ 15 MiB)",
        mib(idle)
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(daemon.client().await);
        }
        let warm_ref = format!("{scope}@{}", warm.digest);
        let r = clients[0].clone().verify(request(&warm_ref)).await.unwrap().into_inner();
        assert!(r.allowed, "{r:?}");

        println!("\ncached Verify (digest already decided), {}s per run:", CACHED_RUN.as_secs());
        println!("  concurrency  connections   p50        p99        throughput");
        for (concurrency, conns) in [(1usize, 1usize), (16, 4), (128, 8)] {
            let (lat, elapsed) = cached_run(&clients[..conns], &warm_ref, concurrency, CACHED_RUN).await;
            println!(
                "  {concurrency:>11}  {conns:>11}   {:<10} {:<10} {:.0}/s",
                us(percentile(&lat, 0.5)),
                us(percentile(&lat, 0.99)),
                lat.len() as f64 / elapsed.as_secs_f64()
            );
        }
        println!("  targets: p50 ≤ 200 µs; ≥ 5,000/s at concurrency 16");
        let after_cached = vm(pid, "VmRSS:");
        println!("resident memory after the cached runs: {}", mib(after_cached));

        let mut fresh = Vec::new();
        for d in &sequential {
            let t = Instant::now();
            let r = clients[0]
                .clone()
                .verify(request(&format!("{scope}@{}", d.digest)))
                .await
                .unwrap()
                .into_inner();
            fresh.push(t.elapsed());
            assert!(r.allowed && !r.cached, "{r:?}");
        }
        fresh.sort();
        println!(
            "\nfresh Verify against the local registry (new digest each, concurrency 1, {} runs): p50 {}, p99 {}",
            fresh.len(),
            ms(percentile(&fresh, 0.5)),
            ms(percentile(&fresh, 0.99))
        );

        // Peak memory under 128 concurrent fresh verifications.
        let before = vm(pid, "VmRSS:");
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let t = Instant::now();
        let mut tasks = Vec::new();
        for (i, d) in concurrent.iter().enumerate() {
            let mut c = clients[i % clients.len()].clone();
            let reference = format!("{scope}@{}", d.digest);
            tasks.push(tokio::spawn(async move {
                c.verify(request(&reference)).await.unwrap().into_inner()
            }));
        }
        for task in tasks {
            let r = task.await.unwrap();
            assert!(r.allowed, "{r:?}");
        }
        let wall = t.elapsed();
        let peak = vm(pid, "VmHWM:");
        println!(
            "{FRESH_CONCURRENT} concurrent fresh verifications: all answered in {}; resident memory before {}, peak {} (target ≤ 64 MiB)",
            ms(wall),
            mib(before),
            mib(peak)
        );
    });
}
