//! The offline revocation bundle commands end to end, through the real `notaryd` binary:
//! `bundle create` against a real registry (`docker-registry`), CRL distribution points on a
//! fixture HTTP server and a real OCSP responder (`openssl ocsp`); `bundle inspect`;
//! `bundle import` into a state directory; and `verify` reading the installed set or
//! `--revocation-bundle`, in the registry and the OCI-layout forms.
//!
//! The CLI reads the real clock, so every CRL and OCSP time here is relative to
//! `notaryd::clock::now()`. Keys: `TestKey::cached(KeyKind::P256, 80..=87)`, used nowhere else.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use notaryd::bundle::format::{self, ItemKind, SigningKey};
use notaryd::verify::time::Timestamp;
use notaryd::verify::x509::Certificate;
use serde_json::{Value, json};

use crate::common::crl::{CrlSpec, EntrySpec};
use crate::common::fixture_http::FixtureHttpFiles;
use crate::common::jws::{Jws, payload_for};
use crate::common::layout::{Desc, LayoutWriter, SignatureForm};
use crate::common::ocsp::{
    CertParts, IdHash, OCSP_BASIC, ResponderIdSpec, ResponseSpec, Single, Status,
};
use crate::common::openssl_ocsp::{IndexEntry, IndexStatus, OpensslOcspResponder, url_for_port};
use crate::common::pki::{CertSpec, Chain, KeyKind, TestCert, TestKey};
use crate::common::registry::{RegistryOptions, TestRegistry};

const REPO: &str = "bundle/app";
const DAY: i64 = 86_400;
/// The scope of the layout-form tests.
const LAYOUT_SCOPE: &str = "registry.example/bundle/app";
/// CRL reason keyCompromise.
const KEY_COMPROMISE: u8 = 1;

// ---------------------------------------------------------------- running the binary

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    /// Both streams, for assertion messages.
    fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.out, self.err
        )
    }
}

fn notaryd(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_notaryd"))
        .args(args)
        .stdin(Stdio::null())
        // The machine's docker credentials must not leak in.
        .env("DOCKER_CONFIG", "/nonexistent-notaryd-test")
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().expect("notaryd exited, not killed"),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.err.contains("panicked"),
        "notaryd panicked: {}",
        run.all()
    );
    run
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Now, as the CLI reads it, in unix seconds.
fn now() -> i64 {
    notaryd::clock::now().unix_seconds()
}

fn rfc3339(unix: i64) -> String {
    Timestamp::from_unix_seconds(unix).to_string()
}

fn parse_time(v: &Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap_or_else(|| panic!("not RFC 3339: {v}"))
        .unix_seconds()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- PKI, CRLs, OCSP

fn parsed(cert: &TestCert) -> Certificate {
    Certificate::from_der(&cert.der).unwrap()
}

fn serial(cert: &TestCert) -> Vec<u8> {
    parsed(cert).serial_number().to_vec()
}

fn subject(cert: &TestCert) -> String {
    parsed(cert).subject()
}

fn root_ca(cdp: &[String]) -> TestCert {
    let mut spec = CertSpec::ca("notaryd bundle test root", Some(1));
    spec.crl_urls = cdp.to_vec();
    TestCert::self_signed(spec, TestKey::cached(KeyKind::P256, 80))
}

fn intermediate_ca(root: &TestCert, cdp: &[String]) -> TestCert {
    let mut spec = CertSpec::ca("notaryd bundle test intermediate", Some(0));
    spec.crl_urls = cdp.to_vec();
    root.issue(spec, TestKey::cached(KeyKind::P256, 81))
}

fn leaf_cert(intermediate: &TestCert, cdp: &[String], ocsp: &[String]) -> TestCert {
    let mut spec = CertSpec::code_signing("notaryd bundle test signer");
    spec.crl_urls = cdp.to_vec();
    spec.ocsp_urls = ocsp.to_vec();
    intermediate.issue(spec, TestKey::cached(KeyKind::P256, 82))
}

/// A chain for the tests that never fetch anything: the root names no CRL, the intermediate
/// and the leaf name CRLs, the leaf an OCSP responder, all at a host that does not exist
/// (`verify` only reads the names; these tests build their bundles themselves).
fn offline_chain() -> Chain {
    let root = root_ca(&[]);
    let intermediate = intermediate_ca(&root, &["http://ca.invalid/root.crl".into()]);
    let leaf = leaf_cert(
        &intermediate,
        &["http://ca.invalid/intermediate.crl".into()],
        &["http://ocsp.invalid/".into()],
    );
    Chain {
        root,
        intermediate,
        leaf,
    }
}

/// A CRL by `issuer` numbered `number`, valid from `this_update` to `next_update`, listing
/// `revoked` (keyCompromise, a minute before `this_update`).
fn crl(
    issuer: &TestCert,
    number: u64,
    this_update: i64,
    next_update: i64,
    revoked: &[&TestCert],
) -> Vec<u8> {
    let mut spec = CrlSpec::new(issuer);
    spec.number = Some(number);
    spec.this_update = this_update;
    spec.next_update = Some(next_update);
    for cert in revoked {
        spec = spec.entry(
            EntrySpec::for_serial_bytes(&serial(cert), this_update - 60).reason(KEY_COMPROMISE),
        );
    }
    spec.sign(&issuer.key)
}

/// An OCSP response about `cert` signed by its issuer, produced at `produced`, good until
/// `next_update`.
fn ocsp_response(
    issuer: &TestCert,
    cert: &TestCert,
    status: Status,
    produced: i64,
    next_update: i64,
) -> Vec<u8> {
    let mut single = Single::new(&cert.der, &issuer.der, IdHash::Sha1, status);
    single.this_update = Timestamp::from_unix_seconds(produced);
    single.next_update = Some(Timestamp::from_unix_seconds(next_update));
    ResponseSpec {
        response_status: 0,
        bytes_with_error: false,
        response_type: OCSP_BASIC.to_vec(),
        responder_id: ResponderIdSpec::ByName(CertParts::of(&issuer.der).subject),
        produced_at: Timestamp::from_unix_seconds(produced),
        responses: vec![single],
        response_extensions: Vec::new(),
        certs: Vec::new(),
        signer: issuer.key.clone(),
        signature_oid: None,
        corrupt_signature: false,
    }
    .der()
}

/// What a complete bundle for `chain` holds: the intermediate, both CRLs (nothing revoked
/// unless asked) and a good OCSP answer for the leaf, all fresh for a day.
struct Contents {
    revoked_by_root: Vec<Vec<u8>>,
    crl_number: u64,
    this_update: i64,
    next_update: i64,
    ocsp: bool,
}

impl Contents {
    fn fresh() -> Self {
        let now = now();
        Self {
            revoked_by_root: Vec::new(),
            crl_number: 1,
            this_update: now - 60,
            next_update: now + DAY,
            ocsp: true,
        }
    }
}

fn items_for(chain: &Chain, c: &Contents) -> Vec<(ItemKind, Vec<u8>)> {
    let mut root_crl = CrlSpec::new(&chain.root);
    root_crl.this_update = c.this_update;
    root_crl.next_update = Some(c.next_update);
    for serial in &c.revoked_by_root {
        root_crl = root_crl
            .entry(EntrySpec::for_serial_bytes(serial, c.this_update - 60).reason(KEY_COMPROMISE));
    }
    let mut items = vec![
        (ItemKind::Certificate, chain.intermediate.der.clone()),
        (ItemKind::Crl, root_crl.sign(&chain.root.key)),
        (
            ItemKind::Crl,
            crl(
                &chain.intermediate,
                c.crl_number,
                c.this_update,
                c.next_update,
                &[],
            ),
        ),
    ];
    if c.ocsp {
        items.push((
            ItemKind::Ocsp,
            ocsp_response(
                &chain.intermediate,
                &chain.leaf,
                Status::Good,
                c.this_update,
                c.next_update,
            ),
        ));
    }
    items
}

/// Writes a bundle the way `bundle create` does (the library writer), signed when asked.
fn write_bundle(
    path: &Path,
    items: &[(ItemKind, Vec<u8>)],
    signer: Option<&SigningKey>,
) -> Vec<u8> {
    let items: Vec<_> = items
        .iter()
        .map(|(kind, bytes)| (format::item(*kind, Some("test".into())), bytes.clone()))
        .collect();
    let bytes = format::write(&rfc3339(now()), "bundle_cli test", &items, signer).unwrap();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The bundle-signing key of `slot` as files: (PKCS#8 private key, PUBLIC KEY).
fn signing_key_files(dir: &Path, slot: usize) -> (PathBuf, PathBuf) {
    let key = TestKey::cached(KeyKind::P256, slot);
    let private = dir.join(format!("bundle-key-{slot}.pem"));
    let public = dir.join(format!("bundle-key-{slot}.pub.pem"));
    std::fs::write(&private, key.pkcs8_pem()).unwrap();
    std::fs::write(&public, pem("PUBLIC KEY", &key.spki_der())).unwrap();
    (private, public)
}

// ---------------------------------------------------------------- configuration, artifacts

/// A notation configuration trusting `root` (store `ca:acme`) for `scope` with
/// `signature_verification` as the policy's `signatureVerification`.
fn notation_config(dir: &Path, root: &TestCert, scope: &str, signature_verification: Value) {
    let store = dir.join("truststore/x509/ca/acme");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("root.pem"), root.pem()).unwrap();
    let policy = json!({"version": "1.0", "trustPolicies": [{
        "name": "bundle", "registryScopes": [scope],
        "signatureVerification": signature_verification,
        "trustStores": ["ca:acme"], "trustedIdentities": ["*"],
    }]});
    std::fs::write(dir.join("trustpolicy.json"), policy.to_string()).unwrap();
}

fn strict() -> Value {
    json!({"level": "strict"})
}

fn envelope(chain: &Chain, image: &Desc) -> Vec<u8> {
    Jws::new(
        chain,
        payload_for(&image.media_type, &image.digest, image.size, &[]),
    )
    .sign()
}

/// An OCI layout at `dir` with an image tagged v1 signed by `chain`; returns `DIR:v1`.
fn signed_layout(dir: &Path, chain: &Chain) -> String {
    let mut layout = LayoutWriter::new(dir);
    let image = layout.image("v1", b"bundle layout layer");
    layout.sign(
        &image,
        "application/jose+json",
        &envelope(chain, &image),
        SignatureForm::Legacy,
    );
    layout.finish(Some(&image));
    format!("{}:v1", dir.display())
}

/// Everything an offline (layout-form) test needs: a chain, a notation configuration for
/// [`LAYOUT_SCOPE`], a signed layout and an empty state directory.
struct Offline {
    chain: Chain,
    cfg: tempfile::TempDir,
    layout: String,
    work: tempfile::TempDir,
    // Kept for its lifetime: the layout lives in it.
    _layout_dir: tempfile::TempDir,
}

impl Offline {
    fn new(signature_verification: Value) -> Self {
        let chain = offline_chain();
        let cfg = tempfile::tempdir().unwrap();
        notation_config(
            cfg.path(),
            &chain.root,
            LAYOUT_SCOPE,
            signature_verification,
        );
        let layout_dir = tempfile::tempdir().unwrap();
        let layout = signed_layout(layout_dir.path(), &chain);
        Self {
            chain,
            cfg,
            layout,
            work: tempfile::tempdir().unwrap(),
            _layout_dir: layout_dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// `notaryd verify --oci-layout … --state-dir <state>` plus `extra`.
    fn verify(&self, extra: &[&str]) -> Run {
        let state = self.state_dir();
        let mut args = vec![
            "verify",
            "--oci-layout",
            &self.layout,
            "--scope",
            LAYOUT_SCOPE,
            "--notation-config",
            s(self.cfg.path()),
            "--state-dir",
            s(&state),
        ];
        args.extend(extra);
        notaryd(&args)
    }

    /// `notaryd bundle import FILE --state-dir <state>` plus `extra`.
    fn import(&self, file: &Path, extra: &[&str]) -> Run {
        let state = self.state_dir();
        let mut args = vec![
            "bundle",
            "import",
            s(file),
            "--notation-config",
            s(self.cfg.path()),
            "--state-dir",
            s(&state),
        ];
        args.extend(extra);
        notaryd(&args)
    }

    fn installed(&self) -> PathBuf {
        self.state_dir().join("installed.bundle")
    }
}

/// The revocation check's line of a text report.
fn revocation_line(report: &str) -> &str {
    report
        .lines()
        .find(|l| l.trim_start().starts_with("revocation "))
        .unwrap_or_else(|| panic!("no revocation check in\n{report}"))
}

// ---------------------------------------------------------------- the connected machine

/// A registry holding an image signed by a chain whose root (in the trust store) and
/// intermediate name the root's CRL, whose leaf names the intermediate's CRL and an OCSP
/// responder; the CRLs on a fixture HTTP server, the responder a real `openssl ocsp`.
struct Online {
    reg: TestRegistry,
    files: FixtureHttpFiles,
    ocsp: OpensslOcspResponder,
    chain: Chain,
    cfg: tempfile::TempDir,
    work: tempfile::TempDir,
    reference: String,
    image: Desc,
    /// The "now" the served CRLs were made at (thisUpdate a minute before, nextUpdate a day
    /// after).
    published_at: i64,
}

impl Online {
    fn start() -> Self {
        let files = FixtureHttpFiles::start();
        let root = root_ca(&[files.url("/root.crl")]);
        let intermediate = intermediate_ca(&root, &[files.url("/root.crl")]);
        // The leaf's AIA must name the responder's port before the index can name the leaf's
        // serial: a first run of openssl picks a free port, a second serves the index on it.
        let port = OpensslOcspResponder::start(&intermediate, &[], None, 1).port();
        let leaf = leaf_cert(
            &intermediate,
            &[files.url("/intermediate.crl")],
            &[url_for_port(port)],
        );
        let ocsp = OpensslOcspResponder::start(
            &intermediate,
            &[IndexEntry::for_cert(&leaf, IndexStatus::Valid)],
            Some(port),
            64,
        );
        let chain = Chain {
            root,
            intermediate,
            leaf,
        };
        let now = now();
        files.put("/root.crl", crl(&chain.root, 1, now - 60, now + DAY, &[]));
        files.put(
            "/intermediate.crl",
            crl(&chain.intermediate, 1, now - 60, now + DAY, &[]),
        );
        let reg = TestRegistry::start(RegistryOptions::anonymous());
        let image = reg.image(REPO, "v1", b"bundle registry layer");
        reg.sign(
            REPO,
            &image,
            "application/jose+json",
            &envelope(&chain, &image),
            SignatureForm::Legacy,
        );
        let cfg = tempfile::tempdir().unwrap();
        notation_config(
            cfg.path(),
            &chain.root,
            &format!("{}/{REPO}", reg.host()),
            strict(),
        );
        let reference = format!("{}/{REPO}:v1", reg.host());
        Self {
            reg,
            files,
            ocsp,
            chain,
            cfg,
            work: tempfile::tempdir().unwrap(),
            reference,
            image,
            published_at: now,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn scope(&self) -> String {
        format!("{}/{REPO}", self.reg.host())
    }

    /// Replaces the responder by one answering `status` for the leaf, on the same port.
    fn ocsp_says(&mut self, status: IndexStatus) {
        let port = self.ocsp.port();
        self.ocsp.stop();
        self.ocsp = OpensslOcspResponder::start(
            &self.chain.intermediate,
            &[IndexEntry::for_cert(&self.chain.leaf, status)],
            Some(port),
            64,
        );
    }

    /// `notaryd bundle create --notation-config … -o FILE` plus `extra`.
    fn create(&self, out: &Path, extra: &[&str]) -> Run {
        let mut args = vec![
            "bundle",
            "create",
            "--notation-config",
            s(self.cfg.path()),
            "-o",
            s(out),
        ];
        args.extend(extra);
        notaryd(&args)
    }

    /// `bundle create` covering the image.
    fn create_for_image(&self, out: &Path) -> Run {
        self.create(out, &["--image", &self.reference, "--plain-http"])
    }

    fn import(&self, file: &Path, state: &Path) -> Run {
        notaryd(&[
            "bundle",
            "import",
            s(file),
            "--notation-config",
            s(self.cfg.path()),
            "--state-dir",
            s(state),
        ])
    }

    fn verify(&self, state: &Path) -> Run {
        notaryd(&[
            "verify",
            &self.reference,
            "--plain-http",
            "--notation-config",
            s(self.cfg.path()),
            "--state-dir",
            s(state),
        ])
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn create_collects_trust_store_and_chain_crls_the_intermediate_and_an_openssl_ocsp_answer() {
    let online = Online::start();
    let c = &online.chain;
    let now = online.published_at;
    // The intermediate's CRL names a delta CRL (freshestCRL): create must follow it.
    let mut base = CrlSpec::new(&c.intermediate);
    base.number = Some(7);
    base.this_update = now - 60;
    base.next_update = Some(now + DAY);
    base.freshest = vec![online.files.url("/intermediate-delta.crl")];
    let base = base.sign(&c.intermediate.key);
    let mut delta = CrlSpec::new(&c.intermediate);
    delta.number = Some(8);
    delta.delta_base = Some(7);
    delta.this_update = now - 30;
    delta.next_update = Some(now + DAY / 2);
    let delta = delta.sign(&c.intermediate.key);
    online.files.put("/intermediate.crl", base);
    online.files.put("/intermediate-delta.crl", delta);
    let root_url = online.files.url("/root.crl");
    let int_url = online.files.url("/intermediate.crl");
    let delta_url = online.files.url("/intermediate-delta.crl");

    // Without --image only the trust store is covered: the root's distribution point.
    let trust_only = online.path("trust-only.bundle");
    let r = online.create(&trust_only, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.out.contains(&format!("collected CRL {root_url}\n")),
        "{}",
        r.all()
    );
    assert!(!r.out.contains(&int_url), "{}", r.all());
    assert!(!r.err.contains("not collected"), "{}", r.all());
    assert_eq!(online.files.requests_for("/intermediate.crl"), 0);
    let v = inspect_json(&trust_only);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v:#}");
    assert_eq!(items[0]["kind"], "crl");
    assert_eq!(items[0]["issuer"], subject(&c.root).as_str());

    // With --image: the chain's distribution points, the delta they name, the intermediate
    // certificate and the leaf's OCSP answer from openssl.
    let root_fetches = online.files.requests_for("/root.crl");
    let full = online.path("full.bundle");
    // An operator's file that merely shares the output's stem is not create's to touch.
    let neighbour = online.path("full.tmp");
    std::fs::write(&neighbour, b"an operator's notes").unwrap();
    let r = online.create_for_image(&full);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read(&neighbour).unwrap(), b"an operator's notes");
    assert_eq!(
        std::fs::read_dir(online.work.path()).unwrap().count(),
        3,
        "create left temporary files next to its output"
    );
    assert!(!r.err.contains("not collected"), "{}", r.all());
    for line in [
        format!("collected certificate {}", subject(&c.intermediate)),
        format!("collected CRL {root_url}"),
        format!("collected CRL {int_url}"),
        format!("collected CRL {delta_url}"),
        format!(
            "collected OCSP {} for {}",
            online.ocsp.url(),
            subject(&c.leaf)
        ),
        format!("wrote {}", full.display()),
    ] {
        assert!(r.out.lines().any(|l| l == line), "{line:?} in\n{}", r.all());
    }
    // The root and the intermediate name the same URL: fetched once.
    assert_eq!(online.files.requests_for("/root.crl"), root_fetches + 1);
    assert!(
        online
            .files
            .requests()
            .iter()
            .all(|(method, _)| method == "GET")
    );

    // inspect -o json: every item with what an operator checks.
    let v = inspect_json(&full);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{v:#}");
    assert!(v["signedBy"].is_null(), "{v:#}");
    let cert = find_item(items, "certificate", |_| true);
    assert_eq!(cert["subject"], subject(&c.intermediate).as_str());
    assert_eq!(cert["issuer"], subject(&c.root).as_str());
    let root_crl = find_item(items, "crl", |i| i["source"] == root_url.as_str());
    assert_eq!(root_crl["issuer"], subject(&c.root).as_str());
    assert_eq!(root_crl["number"], "01");
    assert_eq!(parse_time(&root_crl["thisUpdate"]), now - 60);
    assert_eq!(parse_time(&root_crl["nextUpdate"]), now + DAY);
    assert_eq!(root_crl["entries"], 0);
    let int_crl = find_item(items, "crl", |i| i["source"] == int_url.as_str());
    assert_eq!(int_crl["issuer"], subject(&c.intermediate).as_str());
    assert_eq!(int_crl["number"], "07");
    assert!(int_crl["deltaBase"].is_null(), "{int_crl:#}");
    let delta_crl = find_item(items, "crl", |i| i["source"] == delta_url.as_str());
    assert_eq!(delta_crl["number"], "08");
    assert_eq!(delta_crl["deltaBase"], "07");
    assert_eq!(parse_time(&delta_crl["nextUpdate"]), now + DAY / 2);
    let ocsp = find_item(items, "ocsp", |_| true);
    assert_eq!(ocsp["source"], online.ocsp.url().as_str());
    let answers = ocsp["responses"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{ocsp:#}");
    assert_eq!(answers[0]["serial"], hex(&serial(&c.leaf)).as_str());
    assert_eq!(answers[0]["status"], "good");
    // openssl -ndays 1, answering now (it reads the clock once for each time, so a second
    // may pass between them).
    let this_update = parse_time(&answers[0]["thisUpdate"]);
    let next_update = parse_time(&answers[0]["nextUpdate"]);
    assert!((this_update - now).abs() < 300, "{ocsp:#}");
    assert!(
        (DAY..=DAY + 1).contains(&(next_update - this_update)),
        "{ocsp:#}"
    );

    // inspect (text): the same facts, one line per CRL and per OCSP answer.
    let r = notaryd(&["bundle", "inspect", s(&full)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains(", unsigned\n"), "{}", r.out);
    for line in [
        format!(
            "  certificate {} issued by {}",
            subject(&c.intermediate),
            subject(&c.root)
        ),
        format!(
            "  full CRL {} number 01 thisUpdate {} nextUpdate {} 0 entries from {root_url}",
            subject(&c.root),
            rfc3339(now - 60),
            rfc3339(now + DAY)
        ),
        format!(
            "  full CRL {} number 07 thisUpdate {} nextUpdate {} 0 entries from {int_url}",
            subject(&c.intermediate),
            rfc3339(now - 60),
            rfc3339(now + DAY)
        ),
        format!(
            "  delta CRL {} number 08 thisUpdate {} nextUpdate {} 0 entries from {delta_url}",
            subject(&c.intermediate),
            rfc3339(now - 30),
            rfc3339(now + DAY / 2)
        ),
        format!(
            "    serial {}: good (thisUpdate {}, nextUpdate {})",
            hex(&serial(&c.leaf)),
            rfc3339(this_update),
            rfc3339(next_update)
        ),
    ] {
        assert!(r.out.lines().any(|l| l == line), "{line:?} in\n{}", r.out);
    }

    // And the collected set is complete: imported, it lets the strict policy accept.
    let state = online.path("state");
    let r = online.import(&full, &state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("(3 CRLs, 1 OCSP answers)"), "{}", r.out);
    let r = online.verify(&state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(revocation_line(&r.out).ends_with("passed"), "{}", r.all());
}

fn inspect_json(path: &Path) -> Value {
    let r = notaryd(&["bundle", "inspect", s(path), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    serde_json::from_str(&r.out).unwrap_or_else(|e| panic!("{e}: {}", r.out))
}

fn find_item<'a>(items: &'a [Value], kind: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = items
        .iter()
        .filter(|i| i["kind"] == kind && pred(i))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} item expected in {items:#?}");
    found[0]
}

#[test]
fn imported_bundle_lets_verify_accept_until_a_newer_bundle_revokes_the_leaf() {
    let mut online = Online::start();
    let state = online.path("state");
    let good = online.path("good.bundle");
    let r = online.create_for_image(&good);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = online.import(&good, &state);
    assert_eq!(r.code, 0, "{}", r.all());
    let installed = state.join("installed.bundle");
    assert_eq!(
        r.out.trim_end(),
        format!("installed {} (2 CRLs, 1 OCSP answers)", installed.display())
    );
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&good).unwrap()
    );

    let r = online.verify(&state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.starts_with("ACCEPTED"), "{}", r.all());
    assert!(r.out.contains(&online.image.digest), "{}", r.all());
    assert!(revocation_line(&r.out).ends_with("passed"), "{}", r.out);

    // The CA revokes the leaf: its CRL lists it and its responder says revoked.
    let now = now();
    online.files.put(
        "/intermediate.crl",
        crl(
            &online.chain.intermediate,
            2,
            now - 30,
            now + DAY,
            &[&online.chain.leaf],
        ),
    );
    online.ocsp_says(IndexStatus::Revoked {
        at: now - 120,
        reason: "keyCompromise",
    });
    let revoked = online.path("revoked.bundle");
    let r = online.create_for_image(&revoked);
    assert_eq!(r.code, 0, "{}", r.all());
    let v = inspect_json(&revoked);
    let ocsp = find_item(v["items"].as_array().unwrap(), "ocsp", |_| true);
    assert_eq!(ocsp["responses"][0]["status"], "revoked", "{ocsp:#}");
    let r = online.import(&revoked, &state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("replacing the previous set"), "{}", r.out);

    let r = online.verify(&state);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.out.starts_with("REJECTED"), "{}", r.all());
    let line = revocation_line(&r.out);
    assert!(line.contains("FAILED"), "{}", r.out);
    assert!(
        line.contains(&format!(
            "certificate {:?} is revoked",
            subject(&online.chain.leaf)
        )),
        "{}",
        r.out
    );

    // The layout form, with --revocation-bundle FILE and nothing imported.
    let layout_dir = online.path("layout");
    let layout = signed_layout(&layout_dir, &online.chain);
    let empty_state = online.path("empty-state");
    let scope = online.scope();
    let layout_verify = |bundle: Option<&Path>, state: &Path| {
        let mut args = vec![
            "verify",
            "--oci-layout",
            &layout,
            "--scope",
            &scope,
            "--notation-config",
            s(online.cfg.path()),
            "--state-dir",
            s(state),
        ];
        if let Some(b) = bundle {
            args.extend(["--revocation-bundle", s(b)]);
        }
        notaryd(&args)
    };
    let r = layout_verify(Some(&good), &empty_state);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = layout_verify(Some(&revoked), &empty_state);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(revocation_line(&r.out).contains("is revoked"), "{}", r.out);
    assert!(
        !empty_state.exists(),
        "verify --revocation-bundle installed something"
    );
    // The file wins over the installed (revoking) set, and without it the installed set counts.
    let r = layout_verify(Some(&good), &state);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = layout_verify(None, &state);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(revocation_line(&r.out).contains("is revoked"), "{}", r.out);
}

#[test]
fn intermediate_revoked_on_the_roots_crl_is_rejected() {
    let t = Offline::new(strict());
    let clean = t.path("clean.bundle");
    write_bundle(&clean, &items_for(&t.chain, &Contents::fresh()), None);
    let revoking = t.path("revoking.bundle");
    let contents = Contents {
        revoked_by_root: vec![serial(&t.chain.intermediate)],
        ..Contents::fresh()
    };
    write_bundle(&revoking, &items_for(&t.chain, &contents), None);

    let r = t.verify(&["--revocation-bundle", s(&clean)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = t.verify(&["--revocation-bundle", s(&revoking)]);
    assert_eq!(r.code, 1, "{}", r.all());
    let line = revocation_line(&r.out);
    assert!(
        line.contains(&format!(
            "certificate {:?} is revoked",
            subject(&t.chain.intermediate)
        )),
        "{}",
        r.out
    );

    // The same through import.
    let r = t.import(&revoking, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = t.verify(&[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(revocation_line(&r.out).contains("is revoked"), "{}", r.out);
}

#[test]
fn without_revocation_data_strict_rejects_as_unknown_and_log_or_permissive_accepts() {
    let t = Offline::new(strict());
    assert!(!t.installed().exists());
    let r = t.verify(&[]);
    assert_eq!(r.code, 1, "{}", r.all());
    let line = revocation_line(&r.out);
    assert!(line.contains("FAILED"), "{}", r.out);
    assert!(line.contains("is unknown"), "{}", r.out);
    assert!(
        line.contains("no revocation data is installed"),
        "{}",
        r.out
    );

    for (name, signature_verification) in [
        (
            "override",
            json!({"level": "strict", "override": {"revocation": "log"}}),
        ),
        ("permissive", json!({"level": "permissive"})),
    ] {
        let policy = t.path(&format!("{name}.json"));
        std::fs::write(
            &policy,
            json!({"version": "1.0", "trustPolicies": [{
                "name": name, "registryScopes": [LAYOUT_SCOPE],
                "signatureVerification": signature_verification,
                "trustStores": ["ca:acme"], "trustedIdentities": ["*"],
            }]})
            .to_string(),
        )
        .unwrap();
        let r = t.verify(&["--trust-policy", s(&policy)]);
        assert_eq!(r.code, 0, "{name}: {}", r.all());
        assert!(
            r.out.starts_with("ACCEPTED") && r.out.contains("not fully trusted"),
            "{name}: {}",
            r.out
        );
        let line = revocation_line(&r.out);
        assert!(line.contains("failed (logged)"), "{name}: {}", r.out);
        assert!(line.contains("is unknown"), "{name}: {}", r.out);
    }
}

#[test]
fn stale_crls_count_within_the_revocation_grace_and_are_unknown_past_it() {
    let t = Offline::new(strict());
    let now = now();
    // Expired an hour ago; no OCSP answer, so the leaf falls back to its CRL.
    let contents = Contents {
        this_update: now - 3 * DAY,
        next_update: now - 3600,
        ocsp: false,
        ..Contents::fresh()
    };
    let stale = t.path("stale.bundle");
    write_bundle(&stale, &items_for(&t.chain, &contents), None);

    let r = t.verify(&[
        "--revocation-bundle",
        s(&stale),
        "--revocation-grace",
        "7200",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(revocation_line(&r.out).ends_with("passed"), "{}", r.out);
    for grace in ["1800", "0"] {
        let r = t.verify(&[
            "--revocation-bundle",
            s(&stale),
            "--revocation-grace",
            grace,
        ]);
        assert_eq!(r.code, 1, "grace {grace}: {}", r.all());
        let line = revocation_line(&r.out);
        assert!(line.contains("is unknown"), "grace {grace}: {}", r.out);
        assert!(
            line.contains(&format!("expired at {}", rfc3339(now - 3600))),
            "grace {grace}: {}",
            r.out
        );
    }

    // Import refuses what is already stale, unless within the grace it is given.
    let r = t.import(&stale, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains(s(&stale)), "{}", r.all());
    assert!(
        r.err
            .contains(&format!("expired at {} (grace 0 s)", rfc3339(now - 3600))),
        "{}",
        r.all()
    );
    assert!(!t.installed().exists());
    let r = t.import(&stale, &["--revocation-grace", "1800"]);
    assert_eq!(r.code, 2, "{}", r.all());
    let r = t.import(&stale, &["--revocation-grace", "7200"]);
    assert_eq!(r.code, 0, "{}", r.all());
    // Installed, the same grace rules apply at verification.
    let r = t.verify(&["--revocation-grace", "7200"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = t.verify(&[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(revocation_line(&r.out).contains("is unknown"), "{}", r.out);
}

#[test]
fn rollback_to_a_lower_crl_number_is_refused_unless_allowed_and_leaves_the_installed_file() {
    let t = Offline::new(strict());
    let now = now();
    // Bundles that differ only in the intermediate's CRL (item 2).
    let common = items_for(&t.chain, &Contents::fresh());
    let with_intermediate_crl = |name: &str, number: u64, this_update: i64| {
        let mut items = common.clone();
        items[2] = (
            ItemKind::Crl,
            crl(&t.chain.intermediate, number, this_update, now + DAY, &[]),
        );
        let path = t.path(name);
        let bytes = write_bundle(&path, &items, None);
        (path, bytes)
    };
    let (five, five_bytes) = with_intermediate_crl("five.bundle", 5, now - 3600);
    // Number 4 is issued *later* than number 5: only the number makes it a rollback.
    let (four, four_bytes) = with_intermediate_crl("four.bundle", 4, now - 1800);
    let (six, six_bytes) = with_intermediate_crl("six.bundle", 6, now - 60);

    let r = t.import(&five, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read(t.installed()).unwrap(), five_bytes);

    let r = t.import(&four, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("--allow-rollback"), "{}", r.all());
    assert!(r.err.contains(s(&four)), "{}", r.all());
    assert!(
        r.err.contains("older than the installed one") && r.err.contains("\"04\""),
        "{}",
        r.all()
    );
    assert_eq!(std::fs::read(t.installed()).unwrap(), five_bytes);
    assert_eq!(
        std::fs::read_dir(t.state_dir()).unwrap().count(),
        1,
        "a refused import left files in the state directory"
    );
    // Still verifies with the installed set.
    assert_eq!(t.verify(&[]).code, 0);

    let r = t.import(&four, &["--allow-rollback"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read(t.installed()).unwrap(), four_bytes);
    // A newer number (and a later thisUpdate) needs no flag.
    let r = t.import(&six, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read(t.installed()).unwrap(), six_bytes);

    // An installed set that cannot be read cannot rule out a rollback.
    std::fs::write(t.installed(), b"not a bundle").unwrap();
    let r = t.import(&four, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains("cannot be read") && r.err.contains("--allow-rollback"),
        "{}",
        r.all()
    );
    assert_eq!(std::fs::read(t.installed()).unwrap(), b"not a bundle");
    // verify fails closed on it too, as a configuration error naming the file.
    let r = t.verify(&[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains(s(&t.installed())), "{}", r.all());
    let r = t.import(&four, &["--allow-rollback"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read(t.installed()).unwrap(), four_bytes);
}

#[test]
fn bundle_signatures_are_checked_against_the_configured_bundle_keys() {
    let t = Offline::new(strict());
    let (right_private, right_public) = signing_key_files(t.work.path(), 83);
    let (_, wrong_public) = signing_key_files(t.work.path(), 84);
    let right_key_id = hex(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &TestKey::cached(KeyKind::P256, 83).spki_der(),
    )
    .as_ref());
    let now = now();
    let root_crl = t.path("root.crl");
    std::fs::write(&root_crl, crl(&t.chain.root, 3, now - 60, now + DAY, &[])).unwrap();

    // create --sign-key embeds a signature by that key.
    let signed = t.path("signed.bundle");
    let r = notaryd(&[
        "bundle",
        "create",
        "--notation-config",
        s(t.cfg.path()),
        "--crl",
        s(&root_crl),
        "--sign-key",
        s(&right_private),
        "-o",
        s(&signed),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let v = inspect_json(&signed);
    assert_eq!(v["signedBy"], right_key_id.as_str(), "{v:#}");
    let unsigned = t.path("unsigned.bundle");
    let r = notaryd(&[
        "bundle",
        "create",
        "--notation-config",
        s(t.cfg.path()),
        "--crl",
        s(&root_crl),
        "-o",
        s(&unsigned),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(inspect_json(&unsigned)["signedBy"].is_null());

    let key = |p: &Path| ["--bundle-key".to_owned(), s(p).to_owned()];
    let import = |file: &Path, keys: &[[String; 2]]| {
        let flat: Vec<String> = keys.iter().flatten().cloned().collect();
        let flat: Vec<&str> = flat.iter().map(String::as_str).collect();
        t.import(file, &flat)
    };
    let r = import(&signed, &[key(&right_public)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = import(&signed, &[key(&wrong_public), key(&right_public)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = import(&signed, &[key(&wrong_public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains(s(&signed)) && r.err.contains("not a configured bundle-signing key"),
        "{}",
        r.all()
    );
    let r = import(&unsigned, &[key(&right_public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains(s(&unsigned)) && r.err.contains("unsigned"),
        "{}",
        r.all()
    );
    // Without keys configured, signatures are not required.
    let r = import(&unsigned, &[]);
    assert_eq!(r.code, 0, "{}", r.all());

    // The signature covers the header: change one character of the producer.
    let mut tampered = std::fs::read(&signed).unwrap();
    let at = tampered
        .windows(b"bundle create".len())
        .position(|w| w == b"bundle create")
        .unwrap();
    tampered[at] = b'B';
    let tampered_path = t.path("tampered.bundle");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let r = import(&tampered_path, &[key(&right_public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("does not verify"), "{}", r.all());

    // A detached FILE.sig over the whole (unsigned) file.
    let signer =
        SigningKey::from_pkcs8_pem(std::fs::read(&right_private).unwrap().as_slice()).unwrap();
    let detached = t.path("detached.bundle");
    std::fs::copy(&unsigned, &detached).unwrap();
    let sig_path = t.path("detached.bundle.sig");
    let sig = signer.sign(&std::fs::read(&detached).unwrap()).unwrap();
    std::fs::write(&sig_path, serde_json::to_vec(&sig).unwrap()).unwrap();
    let r = import(&detached, &[key(&right_public)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = import(&detached, &[key(&wrong_public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    let other = signer.sign(b"some other bundle").unwrap();
    std::fs::write(&sig_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let r = import(&detached, &[key(&right_public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("does not verify"), "{}", r.all());

    // verify --revocation-bundle checks the same way.
    let complete = t.path("complete.bundle");
    write_bundle(
        &complete,
        &items_for(&t.chain, &Contents::fresh()),
        Some(&signer),
    );
    let r = t.verify(&[
        "--revocation-bundle",
        s(&complete),
        "--bundle-key",
        s(&right_public),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = t.verify(&[
        "--revocation-bundle",
        s(&complete),
        "--bundle-key",
        s(&wrong_public),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains("revocation bundle") && r.err.contains(s(&complete)),
        "{}",
        r.all()
    );
    let r = t.verify(&[
        "--revocation-bundle",
        s(&unsigned),
        "--bundle-key",
        s(&right_public),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("unsigned"), "{}", r.all());
}

#[test]
fn truncated_or_oversized_bundles_are_refused_with_exit_2_naming_the_file() {
    let t = Offline::new(strict());
    let (private, public) = signing_key_files(t.work.path(), 85);
    let signer = SigningKey::from_pkcs8_pem(std::fs::read(&private).unwrap().as_slice()).unwrap();
    let whole_path = t.path("whole.bundle");
    let whole = write_bundle(
        &whole_path,
        &items_for(&t.chain, &Contents::fresh()),
        Some(&signer),
    );
    let header_len = u32::from_be_bytes(whole[12..16].try_into().unwrap()) as usize;
    let items_start = 16 + header_len;
    let signed_len = format::parse(&whole).unwrap().signed_bytes.len();
    assert!(signed_len < whole.len());
    // The whole bundle is fine.
    assert_eq!(t.import(&whole_path, &["--bundle-key", s(&public)]).code, 0);

    let refused = |path: &Path, why: &str| {
        for r in [
            t.import(path, &[]),
            t.verify(&["--revocation-bundle", s(path)]),
            notaryd(&["bundle", "inspect", s(path)]),
        ] {
            assert_eq!(r.code, 2, "{why}: {}", r.all());
            assert!(r.err.contains(s(path)), "{why}: {}", r.all());
            assert!(r.out.is_empty(), "{why}: {}", r.all());
        }
    };
    for cut in [
        0,
        5,
        12,
        15,
        16 + header_len / 2,
        items_start + 1,
        items_start + 200,
        signed_len - 1,
        signed_len + 5,
        whole.len() - 1,
    ] {
        let path = t.path(&format!("cut-{cut}.bundle"));
        std::fs::write(&path, &whole[..cut]).unwrap();
        refused(&path, &format!("cut at {cut} of {}", whole.len()));
    }
    // Larger than the cap: refused from its size alone (a sparse file, nothing is read).
    let huge = t.path("huge.bundle");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(format::MAX_BUNDLE_BYTES + 1).unwrap();
    drop(f);
    refused(&huge, "oversized");
    let r = t.import(&huge, &[]);
    assert!(
        r.err.contains(&format!(
            "more than the limit of {}",
            format::MAX_BUNDLE_BYTES
        )),
        "{}",
        r.all()
    );
    // Nothing refused replaced the installed bundle.
    assert_eq!(std::fs::read(t.installed()).unwrap(), whole);

    // Cut exactly before the signature block, what is left is a well-formed unsigned bundle:
    // only a configured bundle key tells.
    let unsigned = t.path("cut-signature.bundle");
    std::fs::write(&unsigned, &whole[..signed_len]).unwrap();
    let r = t.import(&unsigned, &["--bundle-key", s(&public)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("unsigned"), "{}", r.all());
    assert_eq!(t.import(&unsigned, &[]).code, 0);
}

#[test]
fn create_reports_unreachable_missing_and_hanging_distribution_points_on_stderr() {
    let files = FixtureHttpFiles::start();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ok = files.url("/ok.crl");
    let missing = files.url("/missing.crl");
    let hanging = files.url("/hang.crl");
    let refused = format!("http://127.0.0.1:{closed}/refused.crl");
    let https = "https://127.0.0.1:1/tls.crl".to_owned();
    let root = root_ca(&[
        ok.clone(),
        missing.clone(),
        hanging.clone(),
        refused.clone(),
    ]);
    let now = now();
    files.put("/ok.crl", crl(&root, 1, now - 60, now + DAY, &[]));
    files.hang("/hang.crl");
    let cfg = tempfile::tempdir().unwrap();
    notation_config(cfg.path(), &root, LAYOUT_SCOPE, strict());
    let work = tempfile::tempdir().unwrap();
    // OCSP asked for a certificate whose responder is down, and for one whose issuer is
    // unknown.
    let ocsp_down = format!("http://127.0.0.1:{closed}/ocsp");
    let intermediate = intermediate_ca(&root, &[]);
    let mut spec = CertSpec::code_signing("notaryd bundle test orphan");
    spec.ocsp_urls = vec![ocsp_down.clone()];
    let down_leaf = root.issue(spec.clone(), TestKey::cached(KeyKind::P256, 86));
    let orphan = intermediate.issue(spec, TestKey::cached(KeyKind::P256, 86));
    let down_pem = work.path().join("down.pem");
    std::fs::write(&down_pem, down_leaf.pem()).unwrap();
    let orphan_pem = work.path().join("orphan.pem");
    std::fs::write(&orphan_pem, orphan.pem()).unwrap();

    let out = work.path().join("partial.bundle");
    let r = notaryd(&[
        "bundle",
        "create",
        "--notation-config",
        s(cfg.path()),
        "--crl",
        &https,
        "--ocsp-for",
        s(&down_pem),
        "--ocsp-for",
        s(&orphan_pem),
        "-o",
        s(&out),
    ]);
    let elapsed = notaryd::clock::now().unix_seconds() - now;
    // What could be had is written; what could not is listed on stderr, and the exit status
    // (1) says the bundle is incomplete, so an unattended job notices.
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("the bundle is incomplete"), "{}", r.all());
    assert!(
        r.out.lines().any(|l| l == format!("collected CRL {ok}")),
        "{}",
        r.all()
    );
    assert!(
        r.out.contains(&format!("wrote {}", out.display())),
        "{}",
        r.all()
    );
    let warning = |prefix: String| {
        let hit = r
            .err
            .lines()
            .find(|l| l.starts_with(&format!("notaryd: warning: not collected: {prefix}")));
        hit.unwrap_or_else(|| panic!("{prefix:?} not reported:\n{}", r.all()))
            .to_owned()
    };
    assert!(warning(format!("CRL {missing}: ")).ends_with("HTTP 404"));
    assert!(warning(format!("CRL {hanging}: ")).ends_with("timed out after 5s"));
    assert!(
        warning(format!("CRL {refused}: "))
            .to_lowercase()
            .contains("connection refused"),
        "{}",
        r.all()
    );
    assert!(warning(format!("CRL {https}: ")).contains("only http://"));
    assert!(
        warning(format!(
            "OCSP {ocsp_down} for {}: ",
            Certificate::from_der(&down_leaf.der).unwrap().subject()
        ))
        .to_lowercase()
        .contains("connection refused"),
        "{}",
        r.all()
    );
    assert!(
        warning(format!(
            "OCSP for {}: ",
            Certificate::from_der(&orphan.der).unwrap().subject()
        ))
        .ends_with("its issuer is not among the known certificates")
    );
    assert_eq!(
        r.err
            .lines()
            .filter(|l| l.contains("not collected"))
            .count(),
        6,
        "{}",
        r.all()
    );
    assert_eq!(files.requests_for("/hang.crl"), 1);
    // One 5 s CRL deadline, not more.
    assert!(elapsed < 15, "took {elapsed} s");
    // What was had is in the bundle.
    let v = inspect_json(&out);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v:#}");
    assert_eq!(items[0]["source"], ok.as_str());
}

#[test]
fn operator_supplied_crl_and_ocsp_files_are_included_and_used() {
    let mut online = Online::start();
    // The network has nothing: every distribution point 404s and the responder is down.
    online.files.remove("/root.crl");
    online.files.remove("/intermediate.crl");
    online.ocsp.stop();
    let c = &online.chain;
    let now = now();
    let root_crl = online.path("root.crl");
    std::fs::write(&root_crl, crl(&c.root, 2, now - 60, now + DAY, &[])).unwrap();
    let int_crl = online.path("intermediate.crl");
    std::fs::write(&int_crl, crl(&c.intermediate, 2, now - 60, now + DAY, &[])).unwrap();
    let leaf_ocsp = online.path("leaf.ocsp");
    std::fs::write(
        &leaf_ocsp,
        ocsp_response(&c.intermediate, &c.leaf, Status::Good, now - 60, now + DAY),
    )
    .unwrap();

    let out = online.path("files.bundle");
    let r = online.create(
        &out,
        &[
            "--image",
            &online.reference,
            "--plain-http",
            "--crl",
            s(&root_crl),
            "--crl",
            s(&int_crl),
            "--ocsp",
            s(&leaf_ocsp),
        ],
    );
    // The network's 404s and the down responder make it incomplete (exit 1), but written.
    assert_eq!(r.code, 1, "{}", r.all());
    for line in [
        format!("collected CRL file {}", root_crl.display()),
        format!("collected CRL file {}", int_crl.display()),
        format!("collected OCSP file {}", leaf_ocsp.display()),
    ] {
        assert!(r.out.lines().any(|l| l == line), "{line:?} in\n{}", r.all());
    }
    assert!(r.err.contains("HTTP 404"), "{}", r.all());
    assert!(r.err.contains(&online.ocsp.url()), "{}", r.all());

    let v = inspect_json(&out);
    let items = v["items"].as_array().unwrap();
    let from_file = |i: &Value| i["source"] == s(&root_crl);
    assert_eq!(find_item(items, "crl", from_file)["number"], "02");
    let int = find_item(items, "crl", |i| i["source"] == s(&int_crl));
    assert_eq!(int["issuer"], subject(&c.intermediate).as_str());
    let ocsp = find_item(items, "ocsp", |i| i["source"] == s(&leaf_ocsp));
    assert_eq!(
        ocsp["responses"][0]["serial"],
        hex(&serial(&c.leaf)).as_str()
    );

    let state = online.path("state");
    let r = online.import(&out, &state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("(2 CRLs, 1 OCSP answers)"), "{}", r.out);
    let r = online.verify(&state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(revocation_line(&r.out).ends_with("passed"), "{}", r.out);

    // Without --image: the intermediate that issued a --crl file is given with --certificate.
    // What import would refuse is left out and reported, so that the rest stays usable: a CA
    // that does not chain to the trust stores, a file that is not a CRL, one that is not an
    // OCSP response.
    let intermediate_pem = online.path("intermediate.pem");
    std::fs::write(&intermediate_pem, c.intermediate.pem()).unwrap();
    let stranger = TestCert::self_signed(
        CertSpec::ca("notaryd bundle test stranger", Some(0)),
        TestKey::cached(KeyKind::P256, 83),
    );
    let stranger_pem = online.path("stranger.pem");
    std::fs::write(&stranger_pem, stranger.pem()).unwrap();
    let not_crl = online.path("not.crl");
    std::fs::write(&not_crl, b"<html>not found</html>").unwrap();
    let not_ocsp = online.path("not.ocsp");
    std::fs::write(&not_ocsp, b"tryLater").unwrap();
    let out2 = online.path("files-only.bundle");
    let r = online.create(
        &out2,
        &[
            "--crl",
            s(&root_crl),
            "--crl",
            s(&int_crl),
            "--crl",
            s(&not_crl),
            "--ocsp",
            s(&leaf_ocsp),
            "--ocsp",
            s(&not_ocsp),
            "--certificate",
            s(&intermediate_pem),
            "--certificate",
            s(&stranger_pem),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.out
            .lines()
            .any(|l| l == format!("collected certificate {}", subject(&c.intermediate))),
        "{}",
        r.all()
    );
    for (what, name) in [
        ("CRL file", s(&not_crl).to_owned()),
        ("OCSP file", s(&not_ocsp).to_owned()),
        ("certificate", subject(&stranger)),
    ] {
        assert!(
            r.err.contains(&format!("{what} {name}")),
            "{what} {name} reported missing:\n{}",
            r.all()
        );
    }
    assert!(
        r.err
            .contains("does not chain to a trust store certificate"),
        "{}",
        r.all()
    );
    let state2 = online.path("state2");
    let r = online.import(&out2, &state2);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(online.verify(&state2).code, 0);

    // Nothing at all to collect: no bundle is written (exit 3), and an empty bundle made by
    // hand is refused at import.
    let out3 = online.path("nothing.bundle");
    let r = online.create(&out3, &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.err.contains("no CRL or OCSP response could be collected"),
        "{}",
        r.all()
    );
    assert!(!out3.exists());
    let empty = online.path("empty.bundle");
    let only_cert = vec![(
        notaryd::bundle::format::item(ItemKind::Certificate, None),
        c.intermediate.der.clone(),
    )];
    std::fs::write(
        &empty,
        notaryd::bundle::format::write("2026-11-28T00:00:00Z", "test", &only_cert, None).unwrap(),
    )
    .unwrap();
    let r = online.import(&empty, &state2);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains("holds no CRL and no OCSP response"),
        "{}",
        r.all()
    );
    assert_eq!(online.verify(&state2).code, 0, "the installed set was kept");
}

#[test]
fn create_reports_unreadable_and_untrusted_signatures_and_the_bundle_still_imports() {
    let online = Online::start();
    // Beside the good signature: one whose envelope is not JWS, one by a signer of another PKI.
    online.reg.sign(
        REPO,
        &online.image,
        "application/jose+json",
        b"{not an envelope",
        SignatureForm::Legacy,
    );
    let stranger = Chain::new(KeyKind::P256);
    let m = &online.image;
    let jws = Jws::new(
        &stranger,
        payload_for(&m.media_type, &m.digest, m.size, &[]),
    )
    .sign();
    online.reg.sign(
        REPO,
        &online.image,
        "application/jose+json",
        &jws,
        SignatureForm::Legacy,
    );
    let out = online.path("mixed.bundle");
    let r = online.create_for_image(&out);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.err.lines().any(|l| l.contains("signature sha256:")),
        "the unreadable signature is reported:\n{}",
        r.all()
    );
    assert!(
        r.err
            .contains("does not chain to a trust store certificate"),
        "{}",
        r.all()
    );
    let state = online.path("state");
    let r = online.import(&out, &state);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(online.verify(&state).code, 0);
}

#[test]
fn create_covers_the_certificates_of_a_signatures_timestamp_token() {
    use crate::common::tsa::Tsa;
    use notaryd::verify::crypto::HashAlgorithm;

    let files = FixtureHttpFiles::start();
    // A signing chain naming no revocation locations at all: whatever is collected comes
    // from the timestamp token's certificates.
    let root = root_ca(&[]);
    let intermediate = intermediate_ca(&root, &[]);
    let leaf = leaf_cert(&intermediate, &[], &[]);
    let chain = Chain {
        root,
        intermediate,
        leaf,
    };
    let mut spec = CertSpec::ca("notaryd bundle test timestamping CA", Some(0));
    spec.crl_urls = vec![files.url("/tsa-ca.crl")];
    let tsa_side_ca = chain.root.issue(spec, TestKey::cached(KeyKind::P256, 87));
    let now = now();
    files.put(
        "/tsa-ca.crl",
        crl(&tsa_side_ca, 1, now - 60, now + DAY, &[]),
    );

    let reg = TestRegistry::start(RegistryOptions::anonymous());
    let image = reg.image(REPO, "v1", b"bundle timestamped layer");
    let mut jws = Jws::new(
        &chain,
        payload_for(&image.media_type, &image.digest, image.size, &[]),
    );
    let signature = jws.signature();
    jws.signature_override = Some(signature.clone());
    let tsa = Tsa::new();
    let mut token = tsa.options(
        &signature,
        Timestamp::from_unix_seconds(now),
        HashAlgorithm::Sha256,
    );
    // The token carries the TSA's leaf and intermediate, and one more CA certificate.
    token.raw_certificate_choices = vec![tsa_side_ca.der.clone()];
    jws.timestamp = Some(tsa.token(&token));
    reg.sign(
        REPO,
        &image,
        "application/jose+json",
        &jws.sign(),
        SignatureForm::Legacy,
    );
    let cfg = tempfile::tempdir().unwrap();
    notation_config(
        cfg.path(),
        &chain.root,
        &format!("{}/{REPO}", reg.host()),
        strict(),
    );
    let tsa_store = cfg.path().join("truststore/x509/tsa/ts");
    std::fs::create_dir_all(&tsa_store).unwrap();
    std::fs::write(
        tsa_store.join("tsa-root.pem"),
        pem("CERTIFICATE", tsa.root_der()),
    )
    .unwrap();

    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("tsa.bundle");
    let reference = format!("{}/{REPO}:v1", reg.host());
    let r = notaryd(&[
        "bundle",
        "create",
        "--notation-config",
        s(cfg.path()),
        "--image",
        &reference,
        "--plain-http",
        "-o",
        s(&out),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.err.contains("not collected"), "{}", r.all());
    let tsa_intermediate = Certificate::from_der(tsa.intermediate_der().unwrap()).unwrap();
    for line in [
        format!("collected certificate {}", tsa_intermediate.subject()),
        format!("collected certificate {}", subject(&tsa_side_ca)),
        format!("collected CRL {}", files.url("/tsa-ca.crl")),
        // The signing chain's own intermediate.
        format!("collected certificate {}", subject(&chain.intermediate)),
    ] {
        assert!(r.out.lines().any(|l| l == line), "{line:?} in\n{}", r.all());
    }
    assert_eq!(files.requests_for("/tsa-ca.crl"), 1);
    // Every certificate item chains to a trust store (the TSA's to the tsa store): importable.
    let r = notaryd(&[
        "bundle",
        "import",
        s(&out),
        "--notation-config",
        s(cfg.path()),
        "--state-dir",
        s(&work.path().join("state")),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("(1 CRLs, 0 OCSP answers)"), "{}", r.out);
}
