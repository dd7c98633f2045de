//! CRI PullImage through notaryd's proxy against straight to containerd:
//! `cargo bench --bench cri`.
//!
//! Debian's containerd 1.6 and docker-registry on 127.0.0.1, the release `notaryd serve` with
//! its CRI proxy in front of containerd, and small signed images (JWS PS384 over an RSA-3072
//! chain; one 10 KiB layer). Every pull is of an image containerd does not have yet, by tag,
//! as kubelet sends it; runs alternate between the proxy and containerd so that drift in the
//! machine's load touches both alike. Two series:
//! - fresh: the proxy verifies a digest it has never seen (registry round trips included);
//! - cached: the digest was verified beforehand (the proxy still resolves the tag, since tags
//!   move, then answers from its cache);
//! - cached, by digest: as kubelet sends a pod spec that pins `repo@sha256:…` (no tag to
//!   resolve, nothing to tag afterwards).
//!
//! With `NOTARYD_LOG=notaryd=debug NOTARYD_BENCH_LOG=FILE` the daemon's log is kept in FILE:
//! per proxied pull the time spent verifying and in containerd, per registry request its
//! time to headers.
//!
//! Prints the medians of both routes and their ratio. Targets (issue 6): ≤ 1.15 fresh,
//! ≤ 1.05 cached. Nothing is asserted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::panic,
    missing_docs,
    dead_code
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::containerd::{
    ContainerdOptions, ContainerdVersion, PushedImage, TestContainerd, push_unpackable_image,
    unix_channel,
};
use common::daemon::{DaemonOptions, TestDaemon, request, write_notation_config};
use common::jws::{Jws, payload_for};
use common::layout::SignatureForm;
use common::pki::{Chain, KeyKind};
use common::registry::{RegistryOptions, TestRegistry};
use notaryd::api::cri;
use notaryd::api::cri::image_service_client::ImageServiceClient;

const ROUNDS: usize = 40;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn pull(client: &mut ImageServiceClient<tonic::transport::Channel>, image: &str) -> Duration {
    let t = Instant::now();
    client
        .pull_image(cri::PullImageRequest {
            image: Some(cri::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            auth: None,
            sandbox_config: None,
        })
        .await
        .unwrap_or_else(|e| panic!("pull {image}: {e}"));
    t.elapsed()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("CRI benchmark: run with `cargo bench --bench cri`");
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::fresh(KeyKind::Rsa3072, "bench");
    let layer = vec![b'x'; 10 * 1024];
    let push = |repo: &str, i: usize| -> PushedImage {
        let content = [layer.as_slice(), format!("{repo} {i}").as_bytes()].concat();
        let image = push_unpackable_image(
            &reg,
            repo,
            &format!("t{i}"),
            &[("data", content.as_slice())],
        );
        let m = &image.manifest;
        let jws = Jws::new(&chain, payload_for(&m.media_type, &m.digest, m.size, &[])).sign();
        reg.sign(
            repo,
            m,
            "application/jose+json",
            &jws,
            SignatureForm::Legacy,
        );
        image
    };
    print!("pushing {} signed images… ", 6 * ROUNDS);
    let fresh_proxy: Vec<_> = (0..ROUNDS).map(|i| push("fresh-proxy", i)).collect();
    let fresh_direct: Vec<_> = (0..ROUNDS).map(|i| push("fresh-direct", i)).collect();
    let cached_proxy: Vec<_> = (0..ROUNDS).map(|i| push("cached-proxy", i)).collect();
    let cached_direct: Vec<_> = (0..ROUNDS).map(|i| push("cached-direct", i)).collect();
    let pinned_proxy: Vec<_> = (0..ROUNDS).map(|i| push("pinned-proxy", i)).collect();
    let pinned_direct: Vec<_> = (0..ROUNDS).map(|i| push("pinned-direct", i)).collect();
    println!("done");

    let ctrd = TestContainerd::start(
        ContainerdOptions::new(ContainerdVersion::Containerd16).plain_http(reg.host()),
    );
    let scope_prefix = reg.host();
    let scopes: Vec<String> = ["fresh-proxy", "cached-proxy", "pinned-proxy"]
        .iter()
        .map(|r| format!("{scope_prefix}/{r}"))
        .collect();
    let d = TestDaemon::start(
        |dir| {
            write_notation_config(
                dir,
                &chain,
                &scopes.iter().map(String::as_str).collect::<Vec<_>>(),
                "strict",
            )
        },
        DaemonOptions {
            cri_containerd_socket: Some(ctrd.socket().to_owned()),
            env: std::env::var("NOTARYD_LOG")
                .map(|v| vec![("NOTARYD_LOG".to_owned(), v)])
                .unwrap_or_default(),
            ..DaemonOptions::default()
        },
    );
    common::containerd::write_plain_http_hosts(&d.dir.path().join("certs.d"), &reg.host());
    println!("{}", ctrd.version_line());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut proxy = ImageServiceClient::new(unix_channel(&d.cri_socket).await.unwrap());
        let mut direct = ImageServiceClient::new(unix_channel(ctrd.socket()).await.unwrap());
        // Warm both connections and containerd.
        let warm = push("warm", 0);
        pull(&mut direct, &warm.by_tag()).await;

        let (mut p, mut q) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            p.push(pull(&mut proxy, &fresh_proxy[i].by_tag()).await);
            q.push(pull(&mut direct, &fresh_direct[i].by_tag()).await);
        }
        let (fp, fd) = (median(p), median(q));

        let mut verifier = d.client().await;
        for image in cached_proxy.iter().chain(&pinned_proxy) {
            let r = verifier
                .verify(request(&image.by_digest()))
                .await
                .unwrap()
                .into_inner();
            assert!(r.allowed, "{r:?}");
        }
        let (mut p, mut q) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            p.push(pull(&mut proxy, &cached_proxy[i].by_tag()).await);
            q.push(pull(&mut direct, &cached_direct[i].by_tag()).await);
        }
        let (cp, cd) = (median(p), median(q));
        let (mut p, mut q) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            p.push(pull(&mut proxy, &pinned_proxy[i].by_digest()).await);
            q.push(pull(&mut direct, &pinned_direct[i].by_digest()).await);
        }
        let (pp, pd) = (median(p), median(q));
        println!("\nCRI PullImage of a new small image by tag ({ROUNDS} alternating runs each):");
        println!(
            "  fresh verification:  proxy {} vs containerd {}: ratio {:.3} (target ≤ 1.15)",
            ms(fp),
            ms(fd),
            fp.as_secs_f64() / fd.as_secs_f64()
        );
        println!(
            "  cached verdict:      proxy {} vs containerd {}: ratio {:.3} (target ≤ 1.05)",
            ms(cp),
            ms(cd),
            cp.as_secs_f64() / cd.as_secs_f64()
        );
        println!(
            "  cached, by digest:   proxy {} vs containerd {}: ratio {:.3}",
            ms(pp),
            ms(pd),
            pp.as_secs_f64() / pd.as_secs_f64()
        );
    });
    // With NOTARYD_LOG=notaryd=debug the daemon logs where each proxied pull's time went.
    if let Some(keep) = std::env::var_os("NOTARYD_BENCH_LOG") {
        std::fs::copy(&d.stderr_path, &keep).unwrap();
        println!("daemon log copied to {}", keep.to_string_lossy());
    }
}
