//! `notaryd verify REGISTRY/REPO:TAG` as an operator runs it: the real binary against a real
//! registry, with credentials from --password-stdin or docker's config.json and mirrors from
//! a containerd hosts directory.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;

use crate::common::pki::{Chain, KeyKind};
use crate::common::registry::{RegistryOptions, TestRegistry};

const REPO: &str = "team/app";

/// A notation configuration trusting `chain` for `scope`.
fn notation_config(dir: &Path, chain: &Chain, scope: &str) {
    let store = dir.join("truststore/x509/ca/acme");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.pem"), chain.root.pem()).unwrap();
    let policy = serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": "cli", "registryScopes": [scope],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:acme"], "trustedIdentities": ["*"],
    }]});
    std::fs::write(dir.join("trustpolicy.json"), policy.to_string()).unwrap();
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn notaryd(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notaryd"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // An empty docker config unless a test gives one: the machine's own must not leak in.
        .env("DOCKER_CONFIG", "/nonexistent-notaryd-test");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn signed_image_in_a_plain_http_registry_is_accepted() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = reg.signed_image(REPO, "v1", b"layer", &chain);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let reference = format!("{}/{REPO}:v1", reg.host());
    let config = cfg.path().to_str().unwrap();
    let r = notaryd(
        &[
            "verify",
            &reference,
            "--plain-http",
            "--notation-config",
            config,
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.starts_with("ACCEPTED"), "{}", r.out);
    assert!(r.out.contains(&image.digest), "{}", r.out);
    assert!(
        r.out
            .contains(&format!("served by {}; 5 HTTP requests", reg.host())),
        "{}",
        r.out
    );

    let r = notaryd(
        &[
            "verify",
            &reference,
            "--plain-http",
            "--notation-config",
            config,
            "-o",
            "json",
        ],
        None,
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["verdict"], "accepted");
    assert_eq!(v["httpRequests"], 5);
    assert_eq!(v["artifact"]["digest"], image.digest.as_str());
}

#[test]
fn unsigned_image_exits_1_and_registry_down_exits_3() {
    let mut reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    reg.image(REPO, "v1", b"layer");
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let reference = format!("{}/{REPO}:v1", reg.host());
    let config = cfg.path().to_str().unwrap();
    let r = notaryd(
        &[
            "verify",
            &reference,
            "--plain-http",
            "--notation-config",
            config,
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.contains("no signature"), "{}", r.out);
    reg.stop();
    let r = notaryd(
        &[
            "verify",
            &reference,
            "--plain-http",
            "--notation-config",
            config,
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(r.err.contains("unreachable"), "{}", r.err);
}

#[test]
fn credentials_from_password_stdin_and_from_docker_config() {
    let reg = TestRegistry::start(RegistryOptions::basic("alice", "s3cret"));
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let reference = format!("{}/{REPO}:v1", reg.host());
    let config = cfg.path().to_str().unwrap();
    let base = [
        "verify",
        reference.as_str(),
        "--plain-http",
        "--notation-config",
        config,
    ];

    let anonymous = notaryd(&base, None, &[]);
    assert_eq!(anonymous.code, 3, "{}", anonymous.err);
    assert!(
        anonymous.err.contains("refused access"),
        "{}",
        anonymous.err
    );

    let mut with_user = base.to_vec();
    with_user.extend(["--username", "alice", "--password-stdin"]);
    let r = notaryd(&with_user, Some("s3cret\n"), &[]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    // A password longer than the cap is refused, never sent cut short.
    let long = "p".repeat(64 * 1024 + 1);
    let r = notaryd(&with_user, Some(&long), &[]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains("--password-stdin"), "{}", r.err);

    let docker = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    std::fs::write(
        docker.path().join("config.json"),
        serde_json::json!({"auths": {reg.host(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let r = notaryd(
        &base,
        None,
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
}

#[test]
fn mirror_from_the_hosts_directory_serves_the_image_and_upstream_the_signatures() {
    let upstream = TestRegistry::start(RegistryOptions::anonymous());
    let mirror = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    let image = upstream.signed_image(REPO, "v1", b"layer", &chain);
    assert_eq!(mirror.image(REPO, "v1", b"layer").digest, image.digest);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", upstream.host()));
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join(upstream.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{up}\"\n\n[host.\"http://{m}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            up = upstream.host(),
            m = mirror.host()
        ),
    )
    .unwrap();
    let reference = format!("{}/{REPO}:v1", upstream.host());
    let r = notaryd(
        &[
            "verify",
            &reference,
            "--hosts-dir",
            hosts.path().to_str().unwrap(),
            "--notation-config",
            cfg.path().to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains(&format!("served by {}", mirror.host())),
        "{}",
        r.out
    );
}

#[test]
fn bad_reference_is_bad_usage() {
    let r = notaryd(
        &[
            "verify",
            "Registry.Example/UPPER:v1",
            "--notation-config",
            "/nonexistent",
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("invalid image reference"), "{}", r.err);
    let r = notaryd(&["verify", "a/b:v1", "--oci-layout", "x:v1"], None, &[]);
    assert_eq!(r.code, 2);
    let r = notaryd(&["verify", "a/b:v1", "--scope", "a/b"], None, &[]);
    assert_eq!(r.code, 2);
}

/// A hosts directory for `reg` with `body` as its hosts.toml.
fn hosts_dir(reg: &TestRegistry, body: &str) -> tempfile::TempDir {
    hosts_dir_for(&reg.host(), body)
}

/// A hosts directory with `body` as the hosts.toml of `host`.
fn hosts_dir_for(host: &str, body: &str) -> tempfile::TempDir {
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join(host);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts.toml"), body).unwrap();
    hosts
}

fn verify_with_hosts(reg: &TestRegistry, cfg: &Path, hosts: &Path) -> Run {
    let reference = format!("{}/{REPO}:v1", reg.host());
    notaryd(
        &[
            "verify",
            &reference,
            "--hosts-dir",
            hosts.to_str().unwrap(),
            "--notation-config",
            cfg.to_str().unwrap(),
        ],
        None,
        &[],
    )
}

#[test]
fn https_registry_with_its_ca_from_hosts_toml_and_without_it() {
    let reg = TestRegistry::start(RegistryOptions::anonymous().with_tls(false));
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let files = reg.tls_files().unwrap().clone();

    let with_ca = hosts_dir(
        &reg,
        &format!(
            "server = \"https://{}\"\nca = \"{}\"\n",
            reg.host(),
            files.ca.display()
        ),
    );
    let r = verify_with_hosts(&reg, cfg.path(), with_ca.path());
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);

    // The system roots do not know the test CA: a TLS failure, reported as unreachable.
    let without = hosts_dir(&reg, &format!("server = \"https://{}\"\n", reg.host()));
    let r = verify_with_hosts(&reg, cfg.path(), without.path());
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(r.err.to_lowercase().contains("certificate"), "{}", r.err);

    let skip = hosts_dir(
        &reg,
        &format!("server = \"https://{}\"\nskip_verify = true\n", reg.host()),
    );
    let r = verify_with_hosts(&reg, cfg.path(), skip.path());
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
}

#[test]
fn https_registry_requiring_a_client_certificate() {
    let reg = TestRegistry::start(RegistryOptions::anonymous().with_tls(true));
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let files = reg.tls_files().unwrap().clone();

    let with_client = hosts_dir(
        &reg,
        &format!(
            "server = \"https://{}\"\nca = \"{}\"\nclient = [[\"{}\", \"{}\"]]\n",
            reg.host(),
            files.ca.display(),
            files.client_cert.display(),
            files.client_key.display()
        ),
    );
    let r = verify_with_hosts(&reg, cfg.path(), with_client.path());
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);

    let without_client = hosts_dir(
        &reg,
        &format!(
            "server = \"https://{}\"\nca = \"{}\"\n",
            reg.host(),
            files.ca.display()
        ),
    );
    let r = verify_with_hosts(&reg, cfg.path(), without_client.path());
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
}

#[test]
fn plain_http_is_not_used_for_a_registry_without_http_configuration() {
    // Without --plain-http and without an http:// host in hosts.toml, an HTTP-only registry
    // is spoken to over TLS, which fails: plain HTTP is never assumed.
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{}/{REPO}", reg.host()));
    let empty = tempfile::tempdir().unwrap();
    let r = verify_with_hosts(&reg, cfg.path(), empty.path());
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
}

/// A listener whose accept queue is full: the kernel drops every new SYN, so a connection to
/// it hangs as one to a firewalled host does. The returned streams keep the queue full.
fn unanswering_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..10_000 {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, held),
            Err(e) => panic!("filling the accept queue of {addr}: {e}"),
        }
    }
    panic!("the accept queue of {addr} never filled");
}

#[test]
fn dial_timeout_from_hosts_toml_bounds_the_connect() {
    let (listener, _held) = unanswering_listener();
    let host = listener.local_addr().unwrap().to_string();
    let chain = Chain::new(KeyKind::P256);
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{host}/{REPO}"));
    let hosts = hosts_dir_for(
        &host,
        &format!("server = \"http://{host}\"\ndial_timeout = \"700ms\"\n"),
    );
    let reference = format!("{host}/{REPO}:v1");
    // The command-wide connect timeout is far longer: only the host's dial_timeout can end
    // the attempt with the message below.
    let r = notaryd(
        &[
            "verify",
            &reference,
            "--hosts-dir",
            hosts.path().to_str().unwrap(),
            "--notation-config",
            cfg.path().to_str().unwrap(),
            "--connect-timeout",
            "120",
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(
        r.err.contains(&format!("connecting to {host}")) && r.err.contains("700ms"),
        "{}",
        r.err
    );
}

/// A plain-HTTP server that answers every request with a 307 to the same path at `target`
/// (an `https://` base URL), as a plain-HTTP registry whose blob storage is S3 does.
fn redirector(target: String) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let target = target.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}{path}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
            });
        }
    });
    addr
}

#[test]
fn a_plain_http_registry_redirecting_to_https_is_followed() {
    let reg = TestRegistry::start(RegistryOptions::anonymous().with_tls(false));
    let chain = Chain::new(KeyKind::P256);
    reg.signed_image(REPO, "v1", b"layer", &chain);
    let front = redirector(format!("https://{}", reg.host())).to_string();
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &chain, &format!("{front}/{REPO}"));
    let ca = reg.tls_files().unwrap().ca.clone();
    // The HTTPS side is trusted through the system roots, here the test CA.
    let r = notaryd(
        &[
            "verify",
            &format!("{front}/{REPO}:v1"),
            "--plain-http",
            "--notation-config",
            cfg.path().to_str().unwrap(),
        ],
        None,
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
}
