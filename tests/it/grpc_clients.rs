//! Stock gRPC clients on notaryd's unix sockets: Python's grpcio (gRPC core), whatever version
//! each Python here has, with the `:authority` it sends by default (gRPC core since 1.57: the
//! percent-encoded socket path) and with the two forms other stacks send (grpc-java, grpc-swift:
//! the bare path; older gRPC core and grpc-go: `localhost`). h2 refuses a request whose
//! `:authority` is a socket path; `api::unix_authority` is why these calls succeed. crictl
//! (grpc-go) on the CRI socket is in `containerd_e2e`.
// Waiting on real processes is bounded in wall time.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

use notaryd::api::v1;
use prost::Message as _;

use crate::common::containerd::write_plain_http_hosts;
use crate::common::daemon::{DaemonOptions, TestDaemon, write_notation_config};
use crate::common::pki::{Chain, KeyKind};
use crate::common::registry::{RegistryOptions, TestRegistry};

/// Calls one unary method three times on one channel with raw protobuf bytes over a unix
/// socket and prints the last answer as hex, or `ERROR <code> <details>`.
const CLIENT: &str = r#"
import binascii, sys, grpc
socket, method, request, authority = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), sys.argv[4]
options = [("grpc.default_authority", authority)] if authority else []
with grpc.insecure_channel("unix:" + socket, options=options) as channel:
    call = channel.unary_unary(method)
    try:
        # Three calls on one connection: the later header blocks refer to the client's
        # dynamic table, and reach the server re-encoded.
        answers = [call(request, timeout=30) for _ in range(3)]
        print(binascii.hexlify(answers[-1]).decode())
    except grpc.RpcError as e:
        print("ERROR", e.code(), e.details())
"#;

/// Every Python here with grpcio, and its version. Under CI there must be one
/// (scripts/test.sh installs Debian's python3-grpcio).
fn pythons() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for python in ["python3", "/usr/bin/python3"] {
        let Ok(out) = Command::new(python)
            .args([
                "-c",
                "import grpc, sys; print(grpc.__version__, sys.executable)",
            ])
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let Some((version, exe)) = text.split_once(' ') else {
            continue;
        };
        if out.status.success() && !found.iter().any(|(e, _)| e == exe) {
            found.push((exe.to_owned(), version.to_owned()));
        }
    }
    if found.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no python3 with grpcio and CI is set (scripts/test.sh installs python3-grpcio)"
        );
        eprintln!("SKIPPED: no python3 with grpcio here: the stock gRPC client tests did not run");
    }
    found
}

fn call(python: &str, socket: &Path, method: &str, request: &[u8], authority: &str) -> Vec<u8> {
    let out = Command::new(python)
        .args([
            "-c",
            CLIENT,
            &socket.display().to_string(),
            method,
            &hex(request),
            authority,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !stdout.starts_with("ERROR"),
        "{python} {method} with :authority {authority:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..stdout.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&stdout[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn python_grpcio_verifies_over_the_unix_socket_whatever_authority_it_sends() {
    let pythons = pythons();
    if pythons.is_empty() {
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.signed_image("team/app", "v1", b"layer", &chain);
    let scope = format!("{}/team/app", reg.host());
    let daemon = TestDaemon::start(
        |dir| write_notation_config(dir, &chain, &[&scope], "strict"),
        DaemonOptions::default(),
    );
    write_plain_http_hosts(&daemon.dir.path().join("certs.d"), &reg.host());
    let socket = &daemon.socket;
    let encoded_path: String = socket
        .display()
        .to_string()
        .bytes()
        .map(|b| match b {
            b'/' => "%2F".to_owned(),
            _ => char::from(b).to_string(),
        })
        .collect();
    let authorities = [
        "".to_owned(),
        encoded_path,
        socket.display().to_string(),
        "localhost".to_owned(),
    ];
    let reference = format!("{scope}@{}", image.digest);
    let mut calls = 0;
    for (python, version) in &pythons {
        for authority in &authorities {
            eprintln!("grpcio {version} ({python}), :authority {authority:?}");
            let status = v1::StatusResponse::decode(
                &call(
                    python,
                    socket,
                    "/notaryd.v1.Verifier/Status",
                    &[],
                    authority,
                )[..],
            )
            .unwrap();
            assert!(status.generation >= 1, "{status:?}");
            let request = v1::VerifyRequest {
                reference: reference.clone(),
                ..Default::default()
            };
            let answer = v1::VerifyResponse::decode(
                &call(
                    python,
                    socket,
                    "/notaryd.v1.Verifier/Verify",
                    &request.encode_to_vec(),
                    authority,
                )[..],
            )
            .unwrap();
            assert!(answer.allowed, "{answer:?}");
            calls += 2;
        }
    }
    // Each Verify (three per client run) reached the service and was answered once.
    assert_eq!(
        daemon.audit().len(),
        calls / 2 * 3,
        "audit lines:\n{}",
        daemon.log()
    );
}
