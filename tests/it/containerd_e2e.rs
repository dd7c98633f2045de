//! notaryd in containerd's pull path, end to end with real processes: Debian's containerd
//! 1.6.20 behind the CRI proxy, containerd 2.1.9 with `notaryd-containerd-verifier` in its
//! bindir, the real `notaryd serve`, and the real registry. What must hold: a signed image
//! pulls and is found by its tag; unsigned, wrongly signed, revoked and untrusted-identity
//! images are refused before containerd fetches any of their blobs; the verified digest is
//! what containerd pulls even when the tag points elsewhere for it; a daemon that is down means
//! no pull; and `notaryd doctor` flags every bypass.

use std::path::Path;
use std::time::Duration;

use notaryd::api::cri;
use notaryd::api::cri::image_service_client::ImageServiceClient;
use rustix::process::Signal;
use serde_json::json;
use tonic::transport::Channel;

use crate::common::containerd::{
    ContainerdOptions, ContainerdVersion, PushedImage, TestContainerd, push_runnable_image,
    push_unpackable_image, tar_archive, tar_archive_with_modes, unix_channel,
    write_plain_http_hosts,
};
use crate::common::crl::{CrlSpec, EntrySpec};
use crate::common::daemon::{DaemonOptions, TestDaemon, runtime};
use crate::common::jws::{Jws, payload_for};
use crate::common::layout::SignatureForm;
use crate::common::pki::{CertSpec, Chain, KeyKind, TestCert, TestKey};
use crate::common::registry::{RegistryOptions, TestRegistry};

use ContainerdVersion::{Containerd16, Containerd21};

fn sign(reg: &TestRegistry, image: &PushedImage, chain: &Chain) {
    let m = &image.manifest;
    let jws = Jws::new(chain, payload_for(&m.media_type, &m.digest, m.size, &[])).sign();
    reg.sign(
        &image.repo,
        m,
        "application/jose+json",
        &jws,
        SignatureForm::Legacy,
    );
}

fn now() -> i64 {
    notaryd::clock::now().unix_seconds()
}

/// root (`ca:acme`) → intermediate → leaf, nothing revocable.
fn trusted_chain() -> Chain {
    Chain::new(KeyKind::P256)
}

/// A separate hierarchy (`ca:rev`) whose leaf names a CRL, with the CRLs that revoke it.
struct Revocable {
    chain: Chain,
}

impl Revocable {
    fn new() -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca("e2e revocable root", Some(1)),
            TestKey::cached(KeyKind::P256, 93),
        );
        let mut int_spec = CertSpec::ca("e2e revocable intermediate", Some(0));
        int_spec.crl_urls = vec!["http://crl.invalid/root.crl".into()];
        let intermediate = root.issue(int_spec, TestKey::cached(KeyKind::P256, 94));
        let mut leaf_spec = CertSpec::code_signing("e2e revoked signer");
        leaf_spec.crl_urls = vec!["http://crl.invalid/int.crl".into()];
        let leaf = intermediate.issue(leaf_spec, TestKey::cached(KeyKind::P256, 95));
        Self {
            chain: Chain {
                root,
                intermediate,
                leaf,
            },
        }
    }

    /// A bundle revoking the leaf.
    fn bundle(&self, path: &Path) {
        use notaryd::bundle::format::{self, ItemKind};
        let c = &self.chain;
        let crl = |issuer: &TestCert, entries: Vec<EntrySpec>| {
            let mut spec = CrlSpec::new(issuer);
            spec.this_update = now() - 60;
            spec.next_update = Some(now() + 86_400);
            spec.entries = entries;
            spec.sign(&issuer.key)
        };
        let serial = notaryd::verify::x509::Certificate::from_der(&c.leaf.der)
            .unwrap()
            .serial_number()
            .to_vec();
        let items = vec![
            (
                format::item(ItemKind::Certificate, None),
                c.intermediate.der.clone(),
            ),
            (
                format::item(ItemKind::Crl, None),
                crl(
                    &c.intermediate,
                    vec![
                        EntrySpec {
                            serial,
                            ..EntrySpec::new(0, now() - 3600)
                        }
                        .reason(1),
                    ],
                ),
            ),
            (format::item(ItemKind::Crl, None), crl(&c.root, vec![])),
        ];
        let bytes = format::write("2026-11-28T00:00:00Z", "e2e", &items, None).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The five images of the pull tests, in one registry.
struct Images {
    good: PushedImage,
    unsigned: PushedImage,
    wrong: PushedImage,
    revoked: PushedImage,
    identity: PushedImage,
}

fn images(reg: &TestRegistry, trusted: &Chain, revocable: &Revocable) -> Images {
    let root = TestCert::self_signed(
        CertSpec::ca("e2e untrusted root", Some(1)),
        TestKey::cached(KeyKind::P256, 96),
    );
    let intermediate = root.issue(
        CertSpec::ca("e2e untrusted intermediate", Some(0)),
        TestKey::cached(KeyKind::P256, 97),
    );
    let leaf = intermediate.issue(
        CertSpec::code_signing("e2e untrusted signer"),
        TestKey::cached(KeyKind::P256, 98),
    );
    let other = Chain {
        root,
        intermediate,
        leaf,
    };
    let push = |repo: &str, content: &[u8]| {
        push_unpackable_image(reg, repo, "v1", &[("hello.txt", content)])
    };
    let good = push("good", b"good");
    sign(reg, &good, trusted);
    let unsigned = push("unsigned", b"unsigned");
    let wrong = push("wrong", b"wrong");
    sign(reg, &wrong, &other);
    let revoked = push("revoked", b"revoked");
    sign(reg, &revoked, &revocable.chain);
    let identity = push("identity", b"identity");
    sign(reg, &identity, trusted);
    Images {
        good,
        unsigned,
        wrong,
        revoked,
        identity,
    }
}

/// A notation configuration for the registry `host`: `ca:acme` trusts the good signer,
/// `ca:rev` the revocable one; `identity` requires a signer nobody has.
fn notation_config(dir: &Path, host: &str, trusted: &Chain, revocable: &Revocable) {
    for (name, cert) in [("acme", &trusted.root), ("rev", &revocable.chain.root)] {
        let store = dir.join("truststore/x509/ca").join(name);
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("root.pem"), cert.pem()).unwrap();
    }
    let scope = |repo: &str| format!("{host}/{repo}");
    let policy = json!({"version": "1.0", "trustPolicies": [
        {"name": "e2e", "registryScopes": [scope("good"), scope("unsigned"), scope("wrong"), scope("revoked"), scope("app"), scope("pause"), scope("tampered"), scope("expired")],
         "signatureVerification": {"level": "strict"},
         "trustStores": ["ca:acme", "ca:rev"], "trustedIdentities": ["*"]},
        {"name": "e2e-identity", "registryScopes": [scope("identity")],
         "signatureVerification": {"level": "strict"},
         "trustStores": ["ca:acme"],
         "trustedIdentities": ["x509.subject: C=US, ST=WA, L=Seattle, O=notaryd tests, CN=somebody else"]},
    ]});
    std::fs::write(dir.join("trustpolicy.json"), policy.to_string()).unwrap();
}

fn plain_http_for_daemon(d: &TestDaemon, host: &str) {
    write_plain_http_hosts(&d.dir.path().join("certs.d"), host);
}

/// A daemon for `reg` (plain HTTP), with the revocation bundle, optionally serving the CRI
/// proxy in front of `containerd`.
fn daemon(
    reg: &TestRegistry,
    trusted: &Chain,
    revocable: &Revocable,
    containerd: Option<&Path>,
) -> TestDaemon {
    let bundle_dir = tempfile::tempdir().unwrap().keep();
    let bundle = bundle_dir.join("revocation.bundle");
    revocable.bundle(&bundle);
    let host = reg.host();
    let d = TestDaemon::start(
        |dir| notation_config(dir, &host, trusted, revocable),
        DaemonOptions {
            cri_containerd_socket: containerd.map(Path::to_owned),
            extra_toml: String::new(),
            registry: String::new(),
            server: String::new(),
            ..DaemonOptions::default()
        }
        .with_revocation_bundle(&bundle),
    );
    plain_http_for_daemon(&d, &host);
    d
}

async fn proxy_client(d: &TestDaemon) -> ImageServiceClient<Channel> {
    ImageServiceClient::new(unix_channel(&d.cri_socket).await.unwrap())
}

fn spec(image: &str) -> cri::ImageSpec {
    cri::ImageSpec {
        image: image.into(),
        ..Default::default()
    }
}

async fn pull(
    client: &mut ImageServiceClient<Channel>,
    image: &str,
    namespace: &str,
) -> Result<String, tonic::Status> {
    client
        .pull_image(cri::PullImageRequest {
            image: Some(spec(image)),
            auth: None,
            sandbox_config: Some(cri::PodSandboxConfig {
                metadata: Some(cri::PodSandboxMetadata {
                    name: "e2e".into(),
                    uid: "e2e-uid".into(),
                    namespace: namespace.into(),
                    attempt: 0,
                }),
                ..Default::default()
            }),
        })
        .await
        .map(|r| r.into_inner().image_ref)
}

fn reference(image: &PushedImage) -> String {
    format!("{}/{}:{}", image.host, image.repo, image.tag)
}

/// Refused pulls leave no blob of the image in containerd's content store.
async fn assert_nothing_fetched(ctrd: &TestContainerd, image: &PushedImage) {
    for digest in [&image.config.digest, &image.layer.digest] {
        assert!(
            !ctrd.content_has(digest).await,
            "{} blob {digest} was fetched",
            image.repo
        );
    }
}

fn proxy_pulls_on(version: ContainerdVersion) {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let ctrd = TestContainerd::start(ContainerdOptions::new(version).plain_http(reg.host()));
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let rt = runtime();
    rt.block_on(async {
        let mut kubelet = proxy_client(&d).await;
        // kubelet calls ImageFsInfo at start: it is forwarded.
        let fs = kubelet
            .image_fs_info(cri::ImageFsInfoRequest {})
            .await
            .unwrap_or_else(|e| panic!("ImageFsInfo through the proxy: {e}\n{}", d.log()));
        assert!(!fs.into_inner().image_filesystems.is_empty());

        // A signed image pulls, and is found by its tag afterwards, through the proxy and
        // straight at containerd.
        let tagged = reference(&imgs.good);
        let image_ref = pull(&mut kubelet, &tagged, "team-a")
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{e}\n--- notaryd ---\n{}\n--- containerd ---\n{}",
                    d.log(),
                    ctrd.log_tail(30)
                )
            });
        assert_eq!(
            image_ref, imgs.good.config.digest,
            "containerd answers the image id"
        );
        let status = kubelet
            .image_status(cri::ImageStatusRequest {
                image: Some(spec(&tagged)),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .image
            .unwrap_or_else(|| panic!("ImageStatus by tag found nothing ({version:?})"));
        assert!(status.repo_tags.contains(&tagged), "{status:?}");
        assert!(
            status.repo_digests.contains(&format!(
                "{}/{}@{}",
                imgs.good.host, imgs.good.repo, imgs.good.manifest.digest
            )),
            "{status:?}"
        );
        assert!(ctrd.image_status(&tagged).await.is_some());
        assert!(
            ctrd.list_images()
                .await
                .iter()
                .any(|i| i.repo_tags.contains(&tagged))
        );
        assert!(ctrd.content_has(&imgs.good.layer.digest).await);

        // The refused ones: a gRPC error naming the image and the failing check, and not a
        // byte of them in containerd's store.
        for (image, check) in [
            (&imgs.unsigned, "signature"),
            (&imgs.wrong, "authenticity"),
            (&imgs.revoked, "revoked"),
            (&imgs.identity, "trustedIdentity"),
        ] {
            let r = reference(image);
            let e = pull(&mut kubelet, &r, "team-a").await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::PermissionDenied, "{r}: {e:?}");
            assert!(e.message().contains(&r), "{r}: {}", e.message());
            assert!(
                e.message().to_lowercase().contains(&check.to_lowercase()),
                "{r}: expected {check}: {}",
                e.message()
            );
            assert_nothing_fetched(&ctrd, image).await;
            assert!(ctrd.image_status(&r).await.is_none());
        }

        // CRI v1alpha2 (containerd 1.6 and 1.7 serve it too): verified the same way.
        let r = reference(&imgs.unsigned);
        let e = call_at::<_, cri::PullImageResponse>(
            &d.cri_socket,
            "/runtime.v1alpha2.ImageService/PullImage",
            cri::PullImageRequest {
                image: Some(spec(&r)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "v1alpha2: {e:?}");
        assert!(e.message().contains(&r), "{}", e.message());
        assert_nothing_fetched(&ctrd, &imgs.unsigned).await;

        // Nothing but the image service is forwarded: containerd's own API and the CRI
        // runtime service share containerd's socket, and would make the proxy's socket as
        // powerful as root.
        for path in [
            "/containerd.services.version.v1.Version/Version",
            "/runtime.v1.RuntimeService/Version",
            "/runtime.v1alpha2.RuntimeService/Version",
        ] {
            let e = call_at::<(), ()>(&d.cri_socket, path, ())
                .await
                .unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unimplemented, "{path}: {e:?}");
            assert!(e.message().contains(path), "{path}: {}", e.message());
        }
    });
    let audit = d.audit();
    assert!(
        audit
            .iter()
            .any(|l| l["outcome"] == "accepted" && l["namespace"] == "team-a"),
        "{audit:?}"
    );
    assert_eq!(
        audit.iter().filter(|l| l["outcome"] == "rejected").count(),
        5,
        "{audit:?}"
    );
}

/// A unary gRPC call to any method path on a unix socket.
async fn call_at<Req, Resp>(
    socket: &Path,
    path: &'static str,
    request: Req,
) -> Result<Resp, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let channel = unix_channel(socket)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(request),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[test]
fn proxy_verifies_pulls_on_containerd_1_6() {
    proxy_pulls_on(Containerd16);
}

#[test]
fn proxy_verifies_pulls_on_containerd_2_1() {
    proxy_pulls_on(Containerd21);
}

/// cri-tools' `crictl` from `../shared/tools`, or `None` with a loud skip (a failure when `CI`
/// is set: CI has it).
fn crictl() -> Option<std::path::PathBuf> {
    shared_tool("crictl", "the crictl tests did not run")
}

/// `../shared/tools/NAME` (cri-tools built from source, ../shared/tools/README.md) when it is
/// there; missing, the tests that need it say so loudly, and fail when CI is set.
fn shared_tool(name: &str, skipped: &str) -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tools")
        .join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing and CI is set",
        path.display()
    );
    eprintln!("SKIPPED: {} not found: {skipped}", path.display());
    None
}

/// `crictl` as kubelet's operators run it, with its image endpoint on the proxy and its runtime
/// endpoint on containerd. Exit status, stdout, stderr.
fn run_crictl(
    crictl: &Path,
    proxy: &Path,
    containerd: &Path,
    args: &[&str],
) -> (bool, String, String) {
    let out = std::process::Command::new(crictl)
        .arg("--image-endpoint")
        .arg(format!("unix://{}", proxy.display()))
        .arg("--runtime-endpoint")
        .arg(format!("unix://{}", containerd.display()))
        .args(["--timeout", "60s"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 16: every crictl image command through the proxy, as an operator uses them.
fn crictl_image_commands_through_the_proxy(version: ContainerdVersion) {
    let Some(crictl) = crictl() else { return };
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let ctrd = TestContainerd::start(ContainerdOptions::new(version).plain_http(reg.host()));
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let run = |args: &[&str]| run_crictl(&crictl, &d.cri_socket, ctrd.socket(), args);
    let tagged = reference(&imgs.good);
    let pinned = format!(
        "{}/{}@{}",
        imgs.good.host, imgs.good.repo, imgs.good.manifest.digest
    );

    let (ok, out, err) = run(&["pull", &tagged]);
    assert!(ok, "{version:?} pull {tagged}: {out}{err}\n{}", d.log());
    assert!(out.contains(&imgs.good.config.digest), "{out}");
    let (ok, out, err) = run(&["images", "--digests"]);
    assert!(ok, "{err}");
    let digest_prefix = imgs.good.manifest.digest.trim_start_matches("sha256:");
    assert!(
        out.lines().any(
            |l| l.contains(&format!("{}/{}", imgs.good.host, imgs.good.repo))
                && l.contains(&imgs.good.tag)
                && l.contains(&digest_prefix[..13])
        ),
        "{out}"
    );
    let (ok, out, err) = run(&["inspecti", &tagged]);
    assert!(ok, "{err}");
    let inspected: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        inspected["status"]["repoTags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == tagged.as_str()),
        "{out}"
    );
    let (ok, out, err) = run(&["imagefsinfo"]);
    assert!(ok && !out.is_empty(), "{err}");
    let (ok, _, err) = run(&["rmi", &tagged]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["images", "-q"]);
    assert!(ok && !out.contains(&imgs.good.config.digest), "{out}");
    // Again, now that the verdict is cached, and by digest.
    let (ok, out, err) = run(&["pull", &tagged]);
    assert!(ok, "pull again: {out}{err}");
    let (ok, out, err) = run(&["pull", &pinned]);
    assert!(ok, "pull {pinned}: {out}{err}");

    // Refused: the unsigned and the untrusted image, with the trust policy's reason, and
    // nothing of them stored.
    for (image, what) in [(&imgs.unsigned, "unsigned"), (&imgs.wrong, "untrusted")] {
        let r = reference(image);
        let (ok, out, err) = run(&["pull", &r]);
        assert!(!ok, "{what} {r} was pulled: {out}");
        assert!(
            err.contains("PermissionDenied") && err.contains("denied by trust policy"),
            "{what}: {err}"
        );
        assert!(err.contains(&r), "{what}: {err}");
        let rt = runtime();
        rt.block_on(assert_nothing_fetched(&ctrd, image));
    }
    // Refused: a signature whose bytes were changed after signing (integrity) and one past
    // its expiry (strict level), each naming the failing check, nothing stored.
    let tampered = push_unpackable_image(&reg, "tampered", "v1", &[("t.txt", b"tampered")]);
    {
        let m = &tampered.manifest;
        let jws = Jws::new(&trusted, payload_for(&m.media_type, &m.digest, m.size, &[]));
        let (protected, payload) = jws.signing_input();
        let mut signature = jws.signature();
        signature[10] ^= 0x01;
        let envelope = jws.assemble(&protected, &payload, &signature);
        reg.sign(
            &tampered.repo,
            m,
            "application/jose+json",
            &envelope,
            SignatureForm::Legacy,
        );
    }
    let expired = push_unpackable_image(&reg, "expired", "v1", &[("e.txt", b"expired")]);
    {
        let m = &expired.manifest;
        let mut jws = Jws::new(&trusted, payload_for(&m.media_type, &m.digest, m.size, &[]));
        jws.expiry("2024-12-31T23:59:59Z");
        reg.sign(
            &expired.repo,
            m,
            "application/jose+json",
            &jws.sign(),
            SignatureForm::Legacy,
        );
    }
    for (image, what, check) in [
        (&tampered, "tampered", "integrity"),
        (&expired, "expired", "expiry"),
    ] {
        let r = reference(image);
        let (ok, out, err) = run(&["pull", &r]);
        assert!(!ok, "{what} {r} was pulled: {out}");
        assert!(
            err.contains("PermissionDenied") && err.contains("denied by trust policy"),
            "{what}: {err}"
        );
        assert!(err.contains(&r) && err.contains(check), "{what}: {err}");
        let rt = runtime();
        rt.block_on(assert_nothing_fetched(&ctrd, image));
    }
    // A tag the registry does not have: NotFound, as containerd says it.
    let missing = format!("{}/{}:no-such-tag", imgs.good.host, imgs.good.repo);
    let (ok, _, err) = run(&["pull", &missing]);
    assert!(!ok && err.contains("NotFound"), "{err}");

    // The tag moved in the registry (a new signed image): pulled again, the tag names the new
    // image in containerd, and the old one keeps its digest.
    let moved = push_unpackable_image(
        &reg,
        &imgs.good.repo,
        &imgs.good.tag,
        &[("a.txt", b"a newer build")],
    );
    sign(&reg, &moved, &trusted);
    assert_ne!(moved.manifest.digest, imgs.good.manifest.digest);
    let (ok, out, err) = run(&["pull", &tagged]);
    assert!(ok, "pull after the tag moved: {out}{err}\n{}", d.log());
    assert!(out.contains(&moved.config.digest), "{out}");
    let (ok, out, err) = run(&["inspecti", &tagged]);
    assert!(ok, "{err}");
    let inspected: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        inspected["status"]["id"],
        moved.config.digest.as_str(),
        "{out}"
    );
}

/// Issue 16: crictl's `--creds` and `--auth` reach both notaryd (its verification) and
/// containerd (the pull) through the proxy, against a registry that wants a password; without
/// them, or with wrong ones, the pull is UNAUTHENTICATED naming the image.
#[test]
fn crictl_pull_secrets_through_the_proxy() {
    let Some(crictl) = crictl() else { return };
    let reg = TestRegistry::start(RegistryOptions::basic("alice", "s3cr3t"));
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let ctrd = TestContainerd::start(ContainerdOptions::new(Containerd16).plain_http(reg.host()));
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let run = |args: &[&str]| run_crictl(&crictl, &d.cri_socket, ctrd.socket(), args);
    let tagged = reference(&imgs.good);
    let (ok, out, err) = run(&["pull", "--creds", "alice:s3cr3t", &tagged]);
    assert!(ok, "--creds: {out}{err}\n{}", d.log());
    let (ok, _, err) = run(&["rmi", &tagged]);
    assert!(ok, "{err}");
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cr3t");
    let (ok, out, err) = run(&["pull", "--auth", &auth, &tagged]);
    assert!(ok, "--auth: {out}{err}\n{}", d.log());
    for creds in [None, Some("alice:wrong")] {
        let mut args = vec!["pull"];
        if let Some(c) = creds {
            args.extend(["--creds", c]);
        }
        // Not the cached verdict: by digest of another image of the repository, never seen.
        let r = reference(&imgs.unsigned);
        args.push(&r);
        let (ok, out, err) = run(&args);
        assert!(!ok, "{creds:?}: pulled: {out}");
        assert!(
            err.contains("Unauthenticated") && err.contains(&r),
            "{creds:?}: {err}"
        );
    }
}

#[test]
fn crictl_image_commands_through_the_proxy_on_containerd_1_6() {
    crictl_image_commands_through_the_proxy(Containerd16);
}

#[test]
fn crictl_image_commands_through_the_proxy_on_containerd_2_1() {
    crictl_image_commands_through_the_proxy(Containerd21);
}

/// Issue 16: when PullImage through the proxy returns, containerd's CRI answers ImageStatus
/// and ListImages for the tag as it does after a direct pull — every time. CRI learns of a
/// tag made through the images API from an event, after the fact; the proxy waits for it.
/// Each round pulls a tag CRI has not seen (the previous round removed it), as critest's
/// image specs do.
fn the_tag_is_visible_when_every_pull_returns(version: ContainerdVersion) {
    const ROUNDS: usize = 1000;
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let tags = ["t0", "t1", "t2"];
    let first = push_unpackable_image(&reg, "app", tags[0], &[("a.txt", b"visible")]);
    sign(&reg, &first, &trusted);
    for tag in &tags[1..] {
        let again = push_unpackable_image(&reg, "app", tag, &[("a.txt", b"visible")]);
        assert_eq!(again.manifest.digest, first.manifest.digest);
    }
    let ctrd = TestContainerd::start(ContainerdOptions::new(version).plain_http(reg.host()));
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let rt = runtime();
    rt.block_on(async {
        let mut kubelet = proxy_client(&d).await;
        let mut misses = Vec::new();
        for round in 0..ROUNDS {
            let tagged = format!("{}/app:{}", reg.host(), tags[round % tags.len()]);
            pull(&mut kubelet, &tagged, "default")
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}\n{}", d.log()));
            let status = kubelet
                .image_status(cri::ImageStatusRequest {
                    image: Some(spec(&tagged)),
                    verbose: false,
                })
                .await
                .unwrap()
                .into_inner()
                .image;
            if !status.is_some_and(|i| i.repo_tags.contains(&tagged)) {
                misses.push(format!("round {round}: ImageStatus {tagged}"));
            }
            let listed = kubelet
                .list_images(cri::ListImagesRequest { filter: None })
                .await
                .unwrap()
                .into_inner()
                .images;
            if !listed.iter().any(|i| i.repo_tags.contains(&tagged)) {
                misses.push(format!("round {round}: ListImages {tagged}"));
            }
            kubelet
                .remove_image(cri::RemoveImageRequest {
                    image: Some(spec(&tagged)),
                })
                .await
                .unwrap();
        }
        assert!(
            misses.is_empty(),
            "{version:?}: {} misses in {ROUNDS} rounds: {:?}",
            misses.len(),
            &misses[..misses.len().min(10)]
        );
    });
}

#[test]
fn the_tag_is_visible_when_every_pull_returns_on_containerd_1_6() {
    the_tag_is_visible_when_every_pull_returns(Containerd16);
}

#[test]
fn the_tag_is_visible_when_every_pull_returns_on_containerd_2_1() {
    the_tag_is_visible_when_every_pull_returns(Containerd21);
}

/// notaryd resolves the tag at the registry; containerd would resolve it at a mirror where it
/// names another image. Through the proxy, containerd gets the verified digest all the same.
#[test]
fn containerd_pulls_the_verified_digest_even_when_its_tag_points_elsewhere() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let mirror = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let verified = push_unpackable_image(&reg, "app", "v1", &[("a.txt", b"verified")]);
    sign(&reg, &verified, &trusted);
    // The mirror has the verified image's bytes, but its tag names another (unsigned) image.
    let copy = push_unpackable_image(&mirror, "app", "keep", &[("a.txt", b"verified")]);
    assert_eq!(copy.manifest.digest, verified.manifest.digest);
    let other = push_unpackable_image(&mirror, "app", "v1", &[("a.txt", b"something else")]);
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join(reg.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{r}\"\n\n[host.\"http://{m}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            r = reg.host(),
            m = mirror.host()
        ),
    )
    .unwrap();
    let mut options = ContainerdOptions::new(Containerd16);
    options.hosts_dir = Some(hosts.path().to_owned());
    let ctrd = TestContainerd::start(options);
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let tagged = reference(&verified);
    let rt = runtime();
    rt.block_on(async {
        let mut kubelet = proxy_client(&d).await;
        pull(&mut kubelet, &tagged, "default")
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        let status = ctrd.image_status(&tagged).await.unwrap();
        assert_eq!(status.id, verified.config.digest, "{status:?}");
        assert!(!ctrd.content_has(&other.config.digest).await);
        // The control: asked directly, containerd resolves the tag at the mirror.
        ctrd.pull(&format!("{}/app:v1", reg.host()), None)
            .await
            .unwrap();
        let direct = ctrd.image_status(&tagged).await.unwrap();
        assert_eq!(
            direct.id, other.config.digest,
            "the mirror's tag was not what containerd saw"
        );

        // Pulled through the proxy again, the existing record is pointed back at the verified
        // digest, and the labels notaryd does not set (kubelet's pin) stay.
        ctrd.set_image_label(&tagged, "io.cri-containerd.pinned", "pinned")
            .await;
        pull(&mut kubelet, &tagged, "default")
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        let status = ctrd.image_status(&tagged).await.unwrap();
        assert_eq!(status.id, verified.config.digest, "{status:?}");
        let labels = ctrd.image_labels(&tagged).await.unwrap();
        assert_eq!(
            labels.get("io.cri-containerd.pinned").map(String::as_str),
            Some("pinned"),
            "{labels:?}"
        );
        assert_eq!(
            labels.get("io.cri-containerd.image").map(String::as_str),
            Some("managed"),
            "{labels:?}"
        );
    });
}

#[test]
fn audit_mode_pulls_what_enforce_refuses_and_no_verdict_is_unavailable() {
    let mut reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let ctrd = TestContainerd::start(ContainerdOptions::new(Containerd16).plain_http(reg.host()));
    let bundle_dir = tempfile::tempdir().unwrap();
    let bundle = bundle_dir.path().join("revocation.bundle");
    revocable.bundle(&bundle);
    let host = reg.host();
    let audit = TestDaemon::start(
        |dir| notation_config(dir, &host, &trusted, &revocable),
        DaemonOptions {
            cri_containerd_socket: Some(ctrd.socket().to_owned()),
            cri: "mode = \"audit\"\n".into(),
            ..DaemonOptions::default()
        }
        .with_revocation_bundle(&bundle),
    );
    plain_http_for_daemon(&audit, &host);
    let enforce = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let rt = runtime();
    rt.block_on(async {
        // Audit: the unsigned image is pulled, the refusal is logged and audited.
        let r = reference(&imgs.unsigned);
        let mut kubelet = proxy_client(&audit).await;
        pull(&mut kubelet, &r, "default")
            .await
            .unwrap_or_else(|e| panic!("audit mode refused {r}: {e}\n{}", audit.log()));
        assert!(ctrd.content_has(&imgs.unsigned.layer.digest).await);
        assert!(audit.log().contains("would deny"), "{}", audit.log());
        assert!(
            audit.audit().iter().any(|l| l["outcome"] == "rejected"),
            "{:?}",
            audit.audit()
        );

        // Enforce, a tag the registry does not have: NOT_FOUND naming the image, as containerd
        // answers it, and not a trust-policy denial.
        let mut kubelet = proxy_client(&enforce).await;
        let missing = format!("{}/{}:no-such-tag", imgs.good.host, imgs.good.repo);
        let e = pull(&mut kubelet, &missing, "default").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
        assert!(e.message().contains(&missing), "{}", e.message());
        assert!(!e.message().contains("trust policy"), "{}", e.message());

        // Enforce, with the registry gone: no verdict can be reached, the pull is refused as
        // UNAVAILABLE naming the image, and containerd is not asked.
        reg.stop();
        let r = reference(&imgs.good);
        let mut kubelet = proxy_client(&enforce).await;
        let e = pull(&mut kubelet, &r, "default").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
        assert!(e.message().contains(&r), "{}", e.message());
        assert_nothing_fetched(&ctrd, &imgs.good).await;
    });
}

#[test]
fn pulls_fail_closed_when_the_daemon_is_down() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let ctrd = TestContainerd::start(ContainerdOptions::new(Containerd16).plain_http(reg.host()));
    let mut d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    d.signal(Signal::TERM);
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let rt = runtime();
    rt.block_on(async {
        // kubelet cannot reach its image service: no pull happens.
        assert!(unix_channel(&d.cri_socket).await.is_err());
        assert_nothing_fetched(&ctrd, &imgs.good).await;
    });
}

/// A wrapper named as doctor expects, pointing the verifier at the test daemon's socket.
fn install_verifier(bin_dir: &Path, socket: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let path = bin_dir.join("notaryd-containerd-verifier");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nNOTARYD_SOCKET='{}' exec '{}' \"$@\"\n",
            socket.display(),
            env!("CARGO_BIN_EXE_notaryd-containerd-verifier")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn bindir_verifier_allows_and_denies_cri_and_transfer_pulls_on_containerd_2_1() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let d = daemon(&reg, &trusted, &revocable, None);
    let bin_dir = tempfile::tempdir().unwrap();
    install_verifier(bin_dir.path(), &d.socket);
    let ctrd = TestContainerd::start(
        ContainerdOptions::new(Containerd21)
            .plain_http(reg.host())
            .verifier_bin_dir(bin_dir.path()),
    );
    let rt = runtime();
    rt.block_on(async {
        // CRI, straight at containerd: the verifier is what asks notaryd.
        ctrd.pull(&reference(&imgs.good), Some("default"))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", d.log(), ctrd.log_tail(30)));
        let e = ctrd
            .pull(&reference(&imgs.unsigned), Some("default"))
            .await
            .unwrap_err();
        assert!(e.message().contains("notaryd: denied"), "{e:?}");
        assert_nothing_fetched(&ctrd, &imgs.unsigned).await;
        let e = ctrd
            .pull(&reference(&imgs.revoked), Some("default"))
            .await
            .unwrap_err();
        assert!(e.message().contains("revoked"), "{e:?}");
        assert_nothing_fetched(&ctrd, &imgs.revoked).await;
    });
    // The transfer service (ctr pull).
    let ok = ctrd.ctr_pull(&reference(&imgs.good), "k8s.io", &[]);
    assert!(ok.success(), "{ok:?}");
    let denied = ctrd.ctr_pull(&reference(&imgs.wrong), "k8s.io", &[]);
    assert!(!denied.success(), "{denied:?}");
    assert!(
        format!("{}{}", denied.stdout, denied.stderr).contains("notaryd: denied"),
        "{denied:?}"
    );
    rt.block_on(assert_nothing_fetched(&ctrd, &imgs.wrong));

    // With the daemon down, the verifier denies.
    let mut d = d;
    d.signal(Signal::TERM);
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let other = push_unpackable_image(
        &reg,
        "good",
        "v2",
        &[("b.txt", b"after the daemon stopped")],
    );
    sign(&reg, &other, &trusted);
    rt.block_on(async {
        let e = ctrd
            .pull(&reference(&other), Some("default"))
            .await
            .unwrap_err();
        assert!(
            e.message().contains("notaryd: denied") && e.message().contains("no verdict"),
            "{e:?}"
        );
        assert_nothing_fetched(&ctrd, &other).await;
    });
}

fn doctor(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .arg("doctor")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn doctor_flags_each_bypass() {
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let imgs = images(&reg, &trusted, &revocable);
    let bin_dir = tempfile::tempdir().unwrap();
    let ctrd16 = TestContainerd::start(ContainerdOptions::new(Containerd16).plain_http(reg.host()));
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd16.socket()));
    install_verifier(bin_dir.path(), &d.socket);
    let ctrd21 = TestContainerd::start(
        ContainerdOptions::new(Containerd21)
            .plain_http(reg.host())
            .verifier_bin_dir(bin_dir.path()),
    );
    let config = d.config.to_str().unwrap().to_owned();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let endpoint = format!("unix://{}", d.cri_socket.display());
    // doctor against the 2.1 containerd with its configuration read from `path`.
    let doctor21 = |path: &Path| {
        doctor(&[
            "--config",
            &config,
            "--containerd-config",
            &s(path),
            "--containerd-socket",
            &s(ctrd21.socket()),
        ])
    };

    // 2.1 with the verifier installed: live through the bindir route alone.
    let (code, out) = doctor21(ctrd21.config_path());
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ENFORCEMENT LIVE"), "{out}");
    assert!(
        out.contains("notaryd-containerd-verifier is installed"),
        "{out}"
    );

    // Each local-pull setting, and an empty bin_dir, turns it off; doctor names the key.
    let base = std::fs::read_to_string(ctrd21.config_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (setting, key) in [
        ("use_local_image_pull = true", "use_local_image_pull"),
        (
            "disable_snapshot_annotations = false",
            "disable_snapshot_annotations",
        ),
        ("discard_unpacked_layers = true", "discard_unpacked_layers"),
        ("max_concurrent_downloads = 5", "max_concurrent_downloads"),
        ("image_pull_with_sync_fs = true", "image_pull_with_sync_fs"),
    ] {
        let variant = set_cri_images_key(&base, setting);
        let path = dir.path().join("variant.toml");
        std::fs::write(&path, variant).unwrap();
        let (code, out) = doctor21(&path);
        assert_eq!(code, 1, "{setting}: {out}");
        assert!(
            out.contains("BYPASS") && out.contains(key),
            "{setting}: {out}"
        );
    }
    let mirrors = format!(
        "{base}\n[plugins.'io.containerd.cri.v1.images'.registry.mirrors.'docker.io']\n  endpoint = ['https://mirror.invalid']\n"
    );
    let path = dir.path().join("mirrors.toml");
    std::fs::write(&path, mirrors).unwrap();
    let (code, out) = doctor21(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("registry.mirrors"), "{out}");
    let empty = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty-bindir.toml");
    std::fs::write(&path, base.replace(&s(bin_dir.path()), &s(empty.path()))).unwrap();
    let (code, out) = doctor21(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("holds no executable"), "{out}");

    // 1.6: no verifiers at all; live only when kubelet uses the proxy.
    let c16 = [
        "--config".to_owned(),
        config.clone(),
        "--containerd-config".to_owned(),
        s(ctrd16.config_path()),
        "--containerd-socket".to_owned(),
        s(ctrd16.socket()),
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = c16.iter().map(String::as_str).collect();
        a.extend(extra);
        doctor(&a)
    };
    let (code, out) = with(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("runs no image verifiers"), "{out}");
    assert!(
        out.contains("whether kubelet pulls through the CRI proxy is unknown"),
        "{out}"
    );
    let (code, out) = with(&[
        "--image-service-endpoint",
        "unix:///run/containerd/containerd.sock",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not notaryd's CRI proxy"), "{out}");
    let (code, out) = with(&["--image-service-endpoint", &endpoint]);
    assert_eq!(code, 0, "{out}");
    let kubelet = dir.path().join("kubelet.yaml");
    std::fs::write(
        &kubelet,
        format!("kind: KubeletConfiguration\nimageServiceEndpoint: \"{endpoint}\"\n"),
    )
    .unwrap();
    let (code, out) = with(&["--kubelet-config", &s(&kubelet)]);
    assert_eq!(code, 0, "{out}");
    // The proxy in audit mode lets refused pulls through: not live.
    let audit_config = dir.path().join("audit.toml");
    std::fs::write(
        &audit_config,
        std::fs::read_to_string(&config).unwrap().replacen(
            "[cri]\n",
            "[cri]\nmode = \"audit\"\n",
            1,
        ),
    )
    .unwrap();
    let (code, out) = doctor(&[
        "--config",
        &s(&audit_config),
        "--containerd-config",
        &s(ctrd16.config_path()),
        "--containerd-socket",
        &s(ctrd16.socket()),
        "--image-service-endpoint",
        &endpoint,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cri.mode is \"audit\""), "{out}");

    // The inventory: an image pulled past notaryd (ctr --local on 1.6, straight at
    // containerd) has no verdict; after --verify it is rejected (it is unsigned).
    let local = ctrd16.ctr_pull(&reference(&imgs.unsigned), "k8s.io", &[]);
    assert!(local.success(), "{local:?}");
    let (_, out) = with(&["--image-service-endpoint", &endpoint]);
    assert!(
        out.contains(&format!("no verdict {}", reference(&imgs.unsigned))),
        "{out}"
    );
    let (_, out) = with(&["--image-service-endpoint", &endpoint, "--verify"]);
    assert!(
        out.contains(&format!("rejected   {}", reference(&imgs.unsigned))),
        "{out}"
    );

    // The daemon down: nothing is live.
    let mut d = d;
    d.signal(Signal::TERM);
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let (code, out) = with(&["--image-service-endpoint", &endpoint]);
    assert_eq!(code, 1, "{out}");
}

/// `text` with `line` added to its `[plugins.'io.containerd.cri.v1.images']` table.
fn set_cri_images_key(text: &str, line: &str) -> String {
    let mut doc: toml::Table = toml::from_str(text).unwrap();
    let (key, value) = line.split_once(" = ").unwrap();
    let value: toml::Value =
        toml::from_str::<toml::Table>(&format!("v = {value}")).unwrap()["v"].clone();
    doc.get_mut("plugins")
        .and_then(|p| p.as_table_mut())
        .unwrap()
        .entry("io.containerd.cri.v1.images")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap()
        .insert(key.to_owned(), value);
    toml::to_string(&doc).unwrap()
}

/// One static program for both images of the container test: `pause` waits for SIGTERM as
/// the pause image does; anything else prints its argument and exits. Built with the C
/// compiler every build here has (aws-lc-sys needs one), since there is no registry to pull a
/// pause image from.
const PROGRAM: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "pause") == 0) {
        signal(SIGTERM, stop);
        signal(SIGINT, stop);
        for (;;) pause();
    }
    printf("%s\n", argc > 1 ? argv[1] : "");
    return 0;
}
"#;

fn static_program(dir: &Path) -> Vec<u8> {
    let source = dir.join("program.c");
    std::fs::write(&source, PROGRAM).unwrap();
    let binary = dir.join("program");
    let out = std::process::Command::new("cc")
        .args(["-static", "-Os", "-s", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("cc (build-essential) runs");
    assert!(
        out.status.success(),
        "cc -static: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&binary).unwrap()
}

/// Issue 16: a container runs from an image verified through the proxy: both the pause image
/// and the application image are pulled with crictl through notaryd, then `runp` (a
/// hostNetwork pod), `create`, `start` and `logs` go straight to containerd, which finds both
/// images in its store.
// Waiting on a real container is bounded in wall time.
#[allow(clippy::disallowed_methods)]
fn crictl_runs_a_container_from_a_verified_image(version: ContainerdVersion) {
    let Some(crictl) = crictl() else { return };
    let work = tempfile::tempdir().unwrap();
    let program = static_program(work.path());
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    let revocable = Revocable::new();
    let pause = push_runnable_image(
        &reg,
        "pause",
        "3.10",
        &tar_archive_with_modes(&[("pause", &program, 0o755)]),
        &["/pause", "pause"],
    );
    sign(&reg, &pause, &trusted);
    const MESSAGE: &str = "hello from a verified image";
    let app = push_runnable_image(
        &reg,
        "app",
        "v1",
        &tar_archive_with_modes(&[("app", &program, 0o755)]),
        &["/app", MESSAGE],
    );
    sign(&reg, &app, &trusted);
    let pause_ref = reference(&pause);
    // As ../shared/tools/README.md says: runc here cannot lower oom_score_adj, and the pause
    // image is the one the harness built.
    let extra = match version {
        Containerd16 => format!(
            "[plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"{pause_ref}\"\nrestrict_oom_score_adj = true\n"
        ),
        Containerd21 => format!(
            "[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = \"{pause_ref}\"\n\
             [plugins.'io.containerd.cri.v1.runtime']\nrestrict_oom_score_adj = true\n"
        ),
    };
    let ctrd = TestContainerd::start(
        ContainerdOptions::new(version)
            .plain_http(reg.host())
            .extra_toml(extra),
    );
    let d = daemon(&reg, &trusted, &revocable, Some(ctrd.socket()));
    let run = |args: &[&str]| run_crictl(&crictl, &d.cri_socket, ctrd.socket(), args);
    let app_ref = reference(&app);
    for image in [&pause_ref, &app_ref] {
        let (ok, out, err) = run(&["pull", image]);
        assert!(ok, "{version:?} pull {image}: {out}{err}\n{}", d.log());
    }

    let pod = work.path().join("pod.json");
    std::fs::write(
        &pod,
        json!({
            "metadata": {"name": "notaryd-e2e", "namespace": "default", "uid": "notaryd-e2e-uid", "attempt": 0},
            "log_directory": work.path().join("logs"),
            // hostNetwork, and no hostname (runc: no hostname without a UTS namespace).
            "linux": {"security_context": {"namespace_options": {"network": 2}}},
        })
        .to_string(),
    )
    .unwrap();
    let container = work.path().join("container.json");
    std::fs::write(
        &container,
        json!({
            "metadata": {"name": "hello"},
            "image": {"image": app_ref},
            "log_path": "hello.log",
        })
        .to_string(),
    )
    .unwrap();
    let (pod, container) = (pod.display().to_string(), container.display().to_string());
    let (ok, out, err) = run(&["runp", &pod]);
    assert!(
        ok,
        "{version:?} runp: {out}{err}\n--- containerd ---\n{}",
        ctrd.log()
    );
    let pod_id = out.trim().to_owned();
    let (ok, out, err) = run(&["create", &pod_id, &container, &pod]);
    assert!(
        ok,
        "{version:?} create: {out}{err}\n--- containerd ---\n{}",
        ctrd.log()
    );
    let container_id = out.trim().to_owned();
    let (ok, out, err) = run(&["start", &container_id]);
    assert!(
        ok,
        "{version:?} start: {out}{err}\n--- containerd ---\n{}",
        ctrd.log()
    );
    // The program prints and exits; its log is complete once the container has exited.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let (ok, out, err) = run(&["logs", &container_id]);
        if ok && out.contains(MESSAGE) {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{version:?} logs: {out}{err}\n--- containerd ---\n{}",
            ctrd.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(logs.trim(), MESSAGE);
    let (ok, out, err) = run(&["inspect", &container_id]);
    assert!(ok, "{err}");
    let inspected: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(inspected["status"]["exitCode"], 0, "{out}");
    assert_eq!(
        inspected["status"]["imageRef"],
        format!("{}/{}@{}", app.host, app.repo, app.manifest.digest),
        "{out}"
    );
    // Both pulls were decided by notaryd (one audit line each, allowed).
    let audit = d.audit();
    for image in [&pause_ref, &app_ref] {
        assert!(
            audit
                .iter()
                .any(|l| l["reference"] == image.as_str() && l["allowed"] == true),
            "{image} not in the audit log: {audit:?}"
        );
    }
    for args in [["stopp", pod_id.as_str()], ["rmp", pod_id.as_str()]] {
        let (ok, out, err) = run(&args);
        assert!(ok, "{args:?}: {out}{err}");
    }
}

#[test]
fn crictl_runs_a_container_from_a_verified_image_on_containerd_1_6() {
    crictl_runs_a_container_from_a_verified_image(Containerd16);
}

#[test]
fn crictl_runs_a_container_from_a_verified_image_on_containerd_2_1() {
    crictl_runs_a_container_from_a_verified_image(Containerd21);
}

/// `../shared/tools/critest`, cri-tools' CRI validation suite, when it is there.
fn critest() -> Option<std::path::PathBuf> {
    shared_tool("critest", "the critest runs did not happen")
}

/// The repository critest's "Image Manager" specs pull from (through a hosts.toml mirror).
const CRITEST_REGISTRY: &str = "gcr.io";
const CRITEST_PREFIX: &str = "k8s-staging-cri-tools";

/// The images critest's "Image Manager" specs pull, as (repository, tags, image user): signed
/// copies made here, since nothing can be pulled from gcr.io. Two specs want images no copy can
/// be (a fixed public digest, registry.k8s.io/pause:3.9); they fail straight to containerd too.
const CRITEST_IMAGES: [(&str, &[&str], Option<&str>); 11] = [
    ("test-image-latest", &["latest"], None),
    ("test-image-tag", &["test", "all"], None),
    ("test-image-1", &["latest"], None),
    ("test-image-2", &["latest"], None),
    ("test-image-3", &["latest"], None),
    ("test-image-tags", &["1", "2", "3"], None),
    ("test-image-user-uid", &["latest"], Some("1002")),
    ("test-image-user-username", &["latest"], Some("www-data")),
    ("test-image-user-uid-group", &["latest"], Some("1003:users")),
    (
        "test-image-user-username-group",
        &["latest"],
        Some("www-data:users"),
    ),
    (
        "test-image-predefined-group",
        &["latest"],
        Some("1000:50000"),
    ),
];

/// Pushes and signs every image of [`CRITEST_IMAGES`] under `k8s-staging-cri-tools/` in `reg`.
fn push_critest_images(reg: &TestRegistry, chain: &Chain) {
    for (name, tags, user) in CRITEST_IMAGES {
        let repo = format!("{CRITEST_PREFIX}/{name}");
        let tar = tar_archive(&[("hello.txt", name.as_bytes())]);
        let layer = reg.push_blob(&repo, crate::common::layout::MEDIA_TYPE_LAYER, &tar);
        let mut config = json!({
            "architecture": crate::common::containerd::oci_architecture(),
            "os": "linux",
            "config": {"Cmd": ["/bin/true"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        });
        if let Some(user) = user {
            config["config"]["User"] = json!(user);
        }
        let config = reg.push_blob(
            &repo,
            crate::common::layout::MEDIA_TYPE_IMAGE_CONFIG,
            &serde_json::to_vec(&config).unwrap(),
        );
        let manifest = crate::common::layout::image_manifest(&config, &layer);
        for tag in tags {
            let digest = reg.push_manifest(
                &repo,
                tag,
                crate::common::layout::MEDIA_TYPE_MANIFEST,
                &manifest,
            );
            let image = PushedImage {
                host: reg.host(),
                repo: repo.clone(),
                tag: (*tag).into(),
                manifest: crate::common::layout::Desc {
                    media_type: crate::common::layout::MEDIA_TYPE_MANIFEST.into(),
                    digest,
                    size: manifest.len() as u64,
                },
                config: config.clone(),
                layer: layer.clone(),
            };
            if *tag == tags[0] {
                sign(reg, &image, chain);
            }
        }
    }
}

/// gcr.io served by `mirror` (plain HTTP), as containerd and notaryd read hosts.toml.
fn write_critest_mirror(hosts_dir: &Path, mirror: &str) {
    let dir = hosts_dir.join(CRITEST_REGISTRY);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"https://{CRITEST_REGISTRY}\"\n\n[host.\"http://{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ),
    )
    .unwrap();
}

/// One critest "Image Manager" run: spec name → passed.
fn critest_run(
    critest: &Path,
    runtime_endpoint: &Path,
    image_endpoint: &Path,
    report: &Path,
) -> std::collections::BTreeMap<String, bool> {
    let out = std::process::Command::new(critest)
        .arg(format!(
            "--runtime-endpoint=unix://{}",
            runtime_endpoint.display()
        ))
        .arg(format!(
            "--image-endpoint=unix://{}",
            image_endpoint.display()
        ))
        .arg("--ginkgo.focus=Image Manager")
        .arg("--ginkgo.no-color")
        .arg(format!("--ginkgo.json-report={}", report.display()))
        .output()
        .expect("critest runs");
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "critest wrote no report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let suites: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut specs = std::collections::BTreeMap::new();
    for suite in suites.as_array().unwrap() {
        for spec in suite["SpecReports"].as_array().into_iter().flatten() {
            if spec["LeafNodeType"] != "It" || spec["State"] == "skipped" {
                continue;
            }
            let mut name: Vec<String> = spec["ContainerHierarchyTexts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            name.push(spec["LeafNodeText"].as_str().unwrap_or("").to_owned());
            specs.insert(name.join(" "), spec["State"] == "passed");
        }
    }
    assert!(!specs.is_empty(), "no spec ran:\n{text}");
    specs
}

/// Issue 16: critest's "Image Manager" with the image endpoint on the proxy passes every spec
/// that passes straight to containerd, `NOTARYD_CRITEST_RUNS` runs in a row (default 20).
fn critest_image_manager_through_the_proxy(version: ContainerdVersion) {
    let Some(critest) = critest() else { return };
    let runs: usize = std::env::var("NOTARYD_CRITEST_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let trusted = trusted_chain();
    push_critest_images(&reg, &trusted);
    let ctrd_hosts = tempfile::tempdir().unwrap();
    write_critest_mirror(ctrd_hosts.path(), &reg.host());
    let mut options = ContainerdOptions::new(version).plain_http(reg.host());
    options.hosts_dir = Some(ctrd_hosts.path().to_owned());
    let ctrd = TestContainerd::start(options);
    let d = TestDaemon::start(
        |dir| {
            let store = dir.join("truststore/x509/ca/acme");
            std::fs::create_dir_all(&store).unwrap();
            std::fs::write(store.join("root.pem"), trusted.root.pem()).unwrap();
            let scopes: Vec<String> = CRITEST_IMAGES
                .iter()
                .map(|(name, _, _)| format!("{CRITEST_REGISTRY}/{CRITEST_PREFIX}/{name}"))
                .collect();
            let policy = json!({"version": "1.0", "trustPolicies": [
                {"name": "critest", "registryScopes": scopes,
                 "signatureVerification": {"level": "strict"},
                 "trustStores": ["ca:acme"], "trustedIdentities": ["*"]},
            ]});
            std::fs::write(dir.join("trustpolicy.json"), policy.to_string()).unwrap();
        },
        DaemonOptions {
            cri_containerd_socket: Some(ctrd.socket().to_owned()),
            ..DaemonOptions::default()
        },
    );
    write_critest_mirror(&d.dir.path().join("certs.d"), &reg.host());
    let work = tempfile::tempdir().unwrap();

    let straight = critest_run(
        &critest,
        ctrd.socket(),
        ctrd.socket(),
        &work.path().join("straight.json"),
    );
    let passing: Vec<&String> = straight
        .iter()
        .filter(|(_, ok)| **ok)
        .map(|(n, _)| n)
        .collect();
    assert!(
        passing.len() >= 8,
        "{version:?}: only {} specs pass straight to containerd: {straight:#?}",
        passing.len()
    );
    for run in 1..=runs {
        let proxied = critest_run(
            &critest,
            ctrd.socket(),
            &d.cri_socket,
            &work.path().join(format!("proxied-{run}.json")),
        );
        let lost: Vec<&&String> = passing
            .iter()
            .filter(|n| !proxied.get(**n).copied().unwrap_or(false))
            .collect();
        assert!(
            lost.is_empty(),
            "{version:?} run {run}/{runs}: pass straight to containerd, fail through the proxy: {lost:#?}\n--- notaryd ---\n{}",
            d.log()
        );
    }
    // The proxied runs were decided by notaryd, not passed around it.
    let allowed = d
        .audit()
        .iter()
        .filter(|l| {
            l["allowed"] == true
                && l["reference"].as_str().is_some_and(|r| {
                    r.starts_with(&format!("{CRITEST_REGISTRY}/{CRITEST_PREFIX}/"))
                })
        })
        .count();
    assert!(
        allowed >= runs * 5,
        "{allowed} allowed critest pulls in the audit log for {runs} runs"
    );
    let failing: Vec<&String> = straight
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(n, _)| n)
        .collect();
    eprintln!(
        "critest Image Manager on {version:?}: {} of {} specs pass straight to containerd, all of them through the proxy in {runs} runs in a row ({allowed} pulls allowed by notaryd); failing both ways: {failing:?}",
        passing.len(),
        straight.len()
    );
}

#[test]
fn critest_image_manager_through_the_proxy_on_containerd_1_6() {
    critest_image_manager_through_the_proxy(Containerd16);
}

#[test]
fn critest_image_manager_through_the_proxy_on_containerd_2_1() {
    critest_image_manager_through_the_proxy(Containerd21);
}
