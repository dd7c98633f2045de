//! One-shot `notaryd verify REGISTRY/REPO:TAG` against a local registry:
//! `cargo bench --bench registry`.
//!
//! Starts Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, pushes a small image
//! signed with a JWS RSA-3072 (PS384) signature over a three-certificate RSA-3072 chain, writes
//! a notation configuration trusting the root, then runs the release `notaryd` binary again
//! and again as an operator would. It prints the median wall time per run (process start to
//! exit, everything included) and the number of HTTP requests one verification makes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs,
    dead_code
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::pki::{Chain, KeyKind};
use common::registry::{RegistryOptions, TestRegistry};

const REPO: &str = "bench/app";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("registry benchmark: run with `cargo bench --bench registry`");
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::fresh(KeyKind::Rsa3072, "bench");
    reg.signed_image(REPO, "v1", b"benchmark layer", &chain);

    let cfg = tempfile::tempdir().unwrap();
    let store = cfg.path().join("truststore/x509/ca/bench");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.pem"), chain.root.pem()).unwrap();
    let policy = serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": "bench", "registryScopes": [format!("{}/{REPO}", reg.host())],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:bench"], "trustedIdentities": ["*"],
    }]});
    std::fs::write(cfg.path().join("trustpolicy.json"), policy.to_string()).unwrap();
    let hosts = tempfile::tempdir().unwrap();

    let reference = format!("{}/{REPO}:v1", reg.host());
    let bin = env!("CARGO_BIN_EXE_notaryd");
    let run = |json: bool| {
        let mut cmd = Command::new(bin);
        cmd.args(["verify", &reference, "--plain-http"])
            .arg("--notation-config")
            .arg(cfg.path())
            .arg("--hosts-dir")
            .arg(hosts.path())
            .env("DOCKER_CONFIG", hosts.path());
        if json {
            cmd.args(["-o", "json"]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let report: serde_json::Value = serde_json::from_slice(&run(true)).unwrap();
    let requests = report["httpRequests"].as_u64().unwrap();

    for _ in 0..10 {
        run(false);
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 200 && (start.elapsed() < Duration::from_secs(10) || samples.len() < 30) {
        let t = Instant::now();
        run(false);
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let p90 = samples[samples.len() * 9 / 10];
    println!("notaryd verify against a local registry (JWS PS384, RSA-3072 chain)");
    println!(
        "  {} runs: median {:.2} ms, p90 {:.2} ms; {requests} HTTP requests per verification",
        samples.len(),
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3
    );
}
