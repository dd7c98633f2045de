//! The registry test harness (`tests/common/registry.rs`) against the real registry, Debian's
//! `docker-registry` (distribution 2.8.2): start and stop, pushes read back, the referrers tag
//! schema, basic auth, and the bearer-token flow through the fixture token server. These tests
//! also pin down what distribution 2.8 answers where the registry client must cope with it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::common::layout::{
    LayoutWriter, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, NOTARY_SIGNATURE, SignatureForm,
    referrers_tag, sha256,
};
use crate::common::registry::{
    Access, FixtureTokenServer, INSTALL_HINT, ISSUER, MANIFEST_ACCEPT, RegistryOptions, Reply,
    SERVICE, TestRegistry, TokenServerOptions, find_registry_binary,
};

const OCI_MANIFEST_ACCEPT: (&str, &str) = ("Accept", MEDIA_TYPE_MANIFEST);

/// The parameters of a `WWW-Authenticate` challenge: (scheme, [(name, value)]), quotes removed
/// (values such as `repository:x:pull,push` contain commas).
fn challenge(r: &Reply) -> (String, Vec<(String, String)>) {
    let h = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate on {} {}", r.status, r.text()));
    let (scheme, rest) = h.split_once(' ').unwrap();
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').unwrap();
        let after = after.strip_prefix('"').unwrap();
        let end = after.find('"').unwrap();
        params.push((name.trim().to_string(), after[..end].to_string()));
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    (scheme.to_string(), params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))
}

fn error_code(r: &Reply) -> String {
    r.json()["errors"][0]["code"].as_str().unwrap().to_string()
}

fn jwt_part(token: &str, n: usize) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(n).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn proc_cmdline(pid: u32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
}

#[test]
fn starts_answers_and_is_gone_after_drop() {
    let reg = TestRegistry::anonymous();
    let (pid, addr, dir) = (reg.pid(), reg.addr(), reg.dir().to_owned());
    assert!(addr.ip().is_loopback());
    let cmdline = proc_cmdline(pid).expect("the registry process runs");
    assert!(
        cmdline.contains("docker-registry serve") && cmdline.contains(dir.to_str().unwrap()),
        "{cmdline}"
    );
    let r = reg.fetch("GET", "/v2/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert!(reg.log().contains("listening on"), "{}", reg.log());

    drop(reg);
    // Reaped: either no such process any more, or (PID reuse) not ours.
    assert!(
        proc_cmdline(pid).is_none_or(|c| !c.contains(dir.to_str().unwrap())),
        "registry {pid} still running"
    );
    assert!(std::net::TcpStream::connect(addr).is_err());
    assert!(!dir.exists(), "temporary directory left behind");
}

#[test]
fn stop_leaves_an_address_that_refuses_connections() {
    let mut reg = TestRegistry::anonymous();
    assert!(reg.is_running());
    reg.stop();
    assert!(!reg.is_running());
    assert!(std::net::TcpStream::connect(reg.addr()).is_err());
    reg.stop(); // idempotent
}

#[test]
fn parallel_registries_get_their_own_ports_and_storage() {
    let regs: Vec<TestRegistry> = (0..3).map(|_| TestRegistry::anonymous()).collect();
    let mut ports: Vec<u16> = regs.iter().map(|r| r.addr().port()).collect();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    let d = regs[0].image("only-here", "v1", b"x");
    assert_eq!(regs[0].manifest("HEAD", "only-here", "v1").status, 200);
    assert_eq!(regs[1].manifest("HEAD", "only-here", &d.digest).status, 404);
}

#[test]
fn image_reads_back_by_tag_and_digest() {
    let reg = TestRegistry::anonymous();
    let image = reg.image("notaryd/hello", "v1", b"hello layer");

    // The same bytes as the layout writer's image: the same digest in a layout and a registry.
    let tmp = tempfile::tempdir().unwrap();
    let in_layout = LayoutWriter::new(tmp.path()).image("v1", b"hello layer");
    assert_eq!(in_layout.digest, image.digest);

    for reference in ["v1", image.digest.as_str()] {
        let get = reg.fetch(
            "GET",
            &format!("/v2/notaryd/hello/manifests/{reference}"),
            &[OCI_MANIFEST_ACCEPT],
        );
        assert_eq!(get.status, 200, "{}", get.text());
        assert_eq!(sha256(&get.body), image.digest);
        assert_eq!(get.body.len() as u64, image.size);
        assert_eq!(get.header("docker-content-digest"), Some(&*image.digest));
        assert_eq!(get.header("content-type"), Some(MEDIA_TYPE_MANIFEST));
        assert_eq!(get.header("etag"), Some(&*format!("\"{}\"", image.digest)));

        let head = reg.fetch(
            "HEAD",
            &format!("/v2/notaryd/hello/manifests/{reference}"),
            &[OCI_MANIFEST_ACCEPT],
        );
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(head.header("docker-content-digest"), Some(&*image.digest));
        assert_eq!(
            head.header("content-length"),
            Some(&*image.size.to_string())
        );
    }

    let manifest = reg.manifest("GET", "notaryd/hello", "v1").json();
    for blob in [&manifest["config"], &manifest["layers"][0]] {
        let digest = blob["digest"].as_str().unwrap();
        let r = reg.fetch("GET", &format!("/v2/notaryd/hello/blobs/{digest}"), &[]);
        assert_eq!(r.status, 200);
        assert_eq!(sha256(&r.body), digest);
        assert_eq!(r.header("docker-content-digest"), Some(digest));
        let head = reg.fetch("HEAD", &format!("/v2/notaryd/hello/blobs/{digest}"), &[]);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("docker-content-digest"), Some(digest));
    }
    assert_eq!(reg.tags("notaryd/hello"), ["v1"]);
}

/// distribution 2.8 serves an OCI manifest or index only to a client whose Accept names its
/// media type; otherwise 404 MANIFEST_UNKNOWN, on HEAD as on GET.
#[test]
fn oci_manifests_are_served_only_when_accepted() {
    let reg = TestRegistry::anonymous();
    let multi = reg.image_index("multi", "v1", &[("linux", "amd64")], b"m");
    let path = "/v2/multi/manifests/v1";
    for method in ["GET", "HEAD"] {
        assert_eq!(reg.fetch(method, path, &[]).status, 404);
        assert_eq!(reg.fetch(method, path, &[OCI_MANIFEST_ACCEPT]).status, 404);
        let r = reg.fetch(method, path, &[("Accept", MEDIA_TYPE_INDEX)]);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("docker-content-digest"),
            Some(&*multi.index.digest)
        );
    }
    let r = reg.fetch("GET", path, &[OCI_MANIFEST_ACCEPT]);
    assert_eq!(error_code(&r), "MANIFEST_UNKNOWN");
    assert!(
        r.text()
            .contains("accept header does not support OCI indexes")
    );

    let image = &multi.images[0].1;
    let r = reg.fetch("GET", &format!("/v2/multi/manifests/{}", image.digest), &[]);
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "MANIFEST_UNKNOWN");
}

#[test]
fn multi_arch_index_over_two_platform_images() {
    let reg = TestRegistry::anonymous();
    let pushed = reg.image_index(
        "multi",
        "latest",
        &[("linux", "amd64"), ("linux", "arm64")],
        b"multi",
    );
    let r = reg.manifest("GET", "multi", "latest");
    assert_eq!(r.status, 200);
    assert_eq!(sha256(&r.body), pushed.index.digest);
    assert_eq!(r.header("content-type"), Some(MEDIA_TYPE_INDEX));
    let index = r.json();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_ne!(pushed.images[0].1.digest, pushed.images[1].1.digest);
    for (entry, ((os, arch), desc)) in entries.iter().zip(&pushed.images) {
        assert_eq!(entry["digest"], desc.digest.as_str());
        assert_eq!(entry["platform"], json!({"os": os, "architecture": arch}));
        let child = reg.manifest("GET", "multi", &desc.digest);
        assert_eq!(child.status, 200);
        let config = &child.json()["config"]["digest"];
        let config = reg.fetch(
            "GET",
            &format!("/v2/multi/blobs/{}", config.as_str().unwrap()),
            &[],
        );
        assert_eq!(config.json()["architecture"], arch.as_str());
    }
    // Platform images are pushed by digest only.
    assert_eq!(reg.tags("multi"), ["latest"]);
}

#[test]
fn signatures_in_both_forms_and_the_referrers_tag_index() {
    let reg = TestRegistry::anonymous();
    let repo = "notaryd/signed";
    let image = reg.image(repo, "v1", b"signed layer");
    let jws = br#"{"payload":"e30","protected":"e30","signature":"AA"}"#;
    let cose = b"\xd2\x84\x40\xa0\x40\x40";
    let s1 = reg.sign(
        repo,
        &image,
        "application/jose+json",
        jws,
        SignatureForm::ArtifactType,
    );
    let first_index = reg.manifest("HEAD", repo, &referrers_tag(&image.digest));
    let first_index = first_index
        .header("docker-content-digest")
        .unwrap()
        .to_string();
    let s2 = reg.sign(
        repo,
        &image,
        "application/cose",
        cose,
        SignatureForm::Legacy,
    );

    let index = reg.referrers_index(repo, &image.digest).expect("index");
    assert_eq!(index["mediaType"], MEDIA_TYPE_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (entry, sig) in entries.iter().zip([&s1, &s2]) {
        assert_eq!(entry["digest"], sig.digest.as_str());
        assert_eq!(entry["size"], sig.size);
        assert_eq!(entry["mediaType"], MEDIA_TYPE_MANIFEST);
        assert_eq!(entry["artifactType"], NOTARY_SIGNATURE);
        assert!(entry["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"].is_string());
    }

    // Stored byte for byte, subject and artifactType included.
    let m1 = reg.manifest("GET", repo, &s1.digest);
    assert_eq!(sha256(&m1.body), s1.digest);
    let m1 = m1.json();
    assert_eq!(m1["artifactType"], NOTARY_SIGNATURE);
    assert_eq!(
        m1["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m1["subject"]["digest"], image.digest.as_str());
    assert_eq!(m1["layers"][0]["mediaType"], "application/jose+json");
    let m2 = reg.manifest("GET", repo, &s2.digest).json();
    assert!(m2.get("artifactType").is_none());
    assert_eq!(m2["config"]["mediaType"], NOTARY_SIGNATURE);
    assert_eq!(m2["layers"][0]["mediaType"], "application/cose");
    let env = m2["layers"][0]["digest"].as_str().unwrap();
    let env = reg.fetch("GET", &format!("/v2/{repo}/blobs/{env}"), &[]);
    assert_eq!(env.body, cose);

    // The superseded index was deleted, as oras-go's referrers GC does; signing again with the
    // same manifest changes nothing.
    assert_eq!(reg.manifest("GET", repo, &first_index).status, 404);
    let mut tags = reg.tags(repo);
    tags.sort();
    assert_eq!(tags, [referrers_tag(&image.digest), "v1".to_string()]);
    let again = reg.sign(
        repo,
        &image,
        "application/cose",
        cose,
        SignatureForm::Legacy,
    );
    assert_eq!(again.digest, s2.digest);
    assert_eq!(
        reg.referrers_index(repo, &image.digest).unwrap()["manifests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A crafted index replaces it (for cases such as more referrers than a cap).
    reg.put_referrers_index(repo, &image.digest, &[entries[1].clone()]);
    assert_eq!(
        reg.referrers_index(repo, &image.digest).unwrap()["manifests"][0]["digest"],
        s2.digest.as_str()
    );
}

/// distribution 2.8 has no referrers API: `GET /v2/<name>/referrers/<digest>` falls through its
/// router to Go's default handler, a plain-text `404 page not found` (Content-Type text/plain,
/// no `errors` JSON, no distribution error code), whatever the Accept header and whether or not
/// the subject or the repository exists. A client must read that as "unsupported" and use the
/// referrers tag schema.
#[test]
fn referrers_api_is_a_plain_text_404() {
    let reg = TestRegistry::anonymous();
    let image = reg.image("r", "v1", b"r");
    reg.sign(
        "r",
        &image,
        "application/jose+json",
        b"{}",
        SignatureForm::ArtifactType,
    );
    for path in [
        format!("/v2/r/referrers/{}", image.digest),
        format!(
            "/v2/r/referrers/{}?artifactType={NOTARY_SIGNATURE}",
            image.digest
        ),
        format!("/v2/nope/referrers/{}", image.digest),
    ] {
        let r = reg.fetch("GET", &path, &[("Accept", MEDIA_TYPE_INDEX)]);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.text(), "404 page not found\n");
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    }
}

/// Missing tags and unknown repositories: GET/HEAD of a manifest answers 404 MANIFEST_UNKNOWN
/// in both cases; only `tags/list` answers NAME_UNKNOWN for an unknown repository.
#[test]
fn unknown_tag_and_repository_answers() {
    let reg = TestRegistry::anonymous();
    reg.image("known", "v1", b"k");
    for path in ["/v2/known/manifests/nope", "/v2/unknown/manifests/v1"] {
        let r = reg.fetch("GET", path, &[("Accept", MANIFEST_ACCEPT)]);
        assert_eq!(r.status, 404);
        assert_eq!(error_code(&r), "MANIFEST_UNKNOWN", "{path}");
    }
    let r = reg.fetch("GET", "/v2/unknown/tags/list", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "NAME_UNKNOWN");
    // An index naming a manifest the repository does not hold is refused.
    let bogus = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": [{"mediaType": MEDIA_TYPE_MANIFEST, "digest": sha256(b"absent"), "size": 6}],
    });
    let r = reg.fetch_with_body(
        "PUT",
        "/v2/known/manifests/bogus",
        &[("Content-Type", MEDIA_TYPE_INDEX)],
        &serde_json::to_vec(&bogus).unwrap(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "MANIFEST_BLOB_UNKNOWN");
}

/// The registry does not re-hash stored bytes when serving them, so overwriting a blob's data
/// makes it serve wrong content under the original digest (and Docker-Content-Digest): the
/// "registry serves the wrong bytes" case for a client, against the real registry.
#[test]
fn overwritten_blob_is_served_under_its_old_digest() {
    let reg = TestRegistry::anonymous();
    let image = reg.image("t", "v1", b"t");
    // Still a valid manifest (the registry parses what it serves: unparseable bytes are a 500),
    // with the layer size changed.
    let original = reg.manifest("GET", "t", "v1").text();
    let tampered = original
        .replacen(r#""size":1}"#, r#""size":2}"#, 1)
        .into_bytes();
    assert_ne!(tampered, original.as_bytes());
    reg.overwrite_blob(&image.digest, &tampered);
    let r = reg.manifest("GET", "t", "v1");
    assert_eq!(r.status, 200, "{} {}", r.text(), reg.log());
    assert_eq!(r.body, tampered);
    assert_eq!(r.header("docker-content-digest"), Some(&*image.digest));
    assert_ne!(sha256(&r.body), image.digest);
}

/// distribution 2.8.2 caps manifests at 4 MiB both ways: a larger PUT is refused (400
/// MANIFEST_INVALID, "http: request body too large"), and a larger stored manifest is not
/// served (500 UNKNOWN, "storage: read exceeds limit" in its log). Exactly 4 MiB passes. So a
/// real 2.8 registry cannot serve a manifest over notaryd's 4 MiB cap: an "oversized
/// manifest" case needs an in-test server. It also parses what it serves: a stored manifest
/// that is not a manifest is a 500, and a body whose mediaType contradicts Content-Type is
/// refused (400 MANIFEST_INVALID).
#[test]
fn manifests_are_capped_at_4_mib_and_parsed() {
    const CAP: usize = 4 << 20;
    let reg = TestRegistry::anonymous();
    let image = reg.image("big", "v1", b"x");
    let mut manifest = reg.manifest("GET", "big", "v1").json();
    let mut padded = |size: usize| {
        manifest["annotations"] = json!({"pad": ""});
        let base = serde_json::to_vec(&manifest).unwrap().len();
        manifest["annotations"]["pad"] = json!("a".repeat(size - base));
        let bytes = serde_json::to_vec(&manifest).unwrap();
        assert_eq!(bytes.len(), size);
        bytes
    };
    let put = |tag: &str, bytes: &[u8]| {
        reg.fetch_with_body(
            "PUT",
            &format!("/v2/big/manifests/{tag}"),
            &[("Content-Type", MEDIA_TYPE_MANIFEST)],
            bytes,
        )
    };
    let at_cap = padded(CAP);
    assert_eq!(put("at-cap", &at_cap).status, 201);
    assert_eq!(reg.manifest("GET", "big", "at-cap").body, at_cap);
    let over = padded(CAP + 1);
    let r = put("over", &over);
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "MANIFEST_INVALID");
    assert!(r.text().contains("request body too large"), "{}", r.text());

    reg.overwrite_blob(&image.digest, &over);
    assert_eq!(reg.manifest("GET", "big", "v1").status, 500);
    assert!(reg.log().contains("storage: read exceeds limit"));
    reg.overwrite_blob(&image.digest, b"not json");
    assert_eq!(reg.manifest("GET", "big", "v1").status, 500);

    let index = format!(r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_INDEX}","manifests":[]}}"#);
    let r = put("confused", index.as_bytes());
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "MANIFEST_INVALID");
}

#[test]
fn basic_auth_rejects_wrong_credentials_and_accepts_right_ones() {
    let reg = TestRegistry::start(RegistryOptions::basic("alice", "s3cret"));
    let v2 = format!("{}/v2/", reg.url());

    let r = reg.fetch_anonymous("GET", &v2, &[]);
    assert_eq!(r.status, 401);
    let (scheme, params) = challenge(&r);
    assert_eq!(scheme, "Basic");
    assert_eq!(param(&params, "realm"), Some(SERVICE));
    assert_eq!(error_code(&r), "UNAUTHORIZED");

    for wrong in [basic("alice", "wrong"), basic("mallory", "s3cret")] {
        let r = reg.fetch_anonymous("GET", &v2, &[("Authorization", &wrong)]);
        assert_eq!(r.status, 401);
    }
    let right = basic("alice", "s3cret");
    assert_eq!(
        reg.fetch_anonymous("GET", &v2, &[("Authorization", &right)])
            .status,
        200
    );

    // The push helpers authenticate; reads without credentials are refused.
    let image = reg.image("private", "v1", b"p");
    let path = format!("{}/v2/private/manifests/v1", reg.url());
    assert_eq!(
        reg.fetch_anonymous("GET", &path, &[OCI_MANIFEST_ACCEPT])
            .status,
        401
    );
    let r = reg.fetch_anonymous(
        "GET",
        &path,
        &[OCI_MANIFEST_ACCEPT, ("Authorization", &right)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(sha256(&r.body), image.digest);
    assert_eq!(reg.credentials(), Some(("alice", "s3cret")));
}

/// The whole bearer flow against the real registry: anonymous request → 401 with a Bearer
/// challenge → token from the fixture token server (credentials required) → accepted.
#[test]
fn token_flow_with_the_fixture_token_server() {
    let reg = TestRegistry::start(RegistryOptions::token(
        TokenServerOptions::with_credentials("bob", "hunter2"),
    ));
    let ts = reg.token_server().unwrap();
    let image = reg.image("team/app", "v1", b"app");
    assert_eq!(ts.request_count(), 0, "harness pushes mint tokens directly");

    // /v2/ challenges without a scope.
    let r = reg.fetch_anonymous("GET", &format!("{}/v2/", reg.url()), &[]);
    assert_eq!(r.status, 401);
    let (scheme, params) = challenge(&r);
    assert_eq!(scheme, "Bearer");
    assert_eq!(param(&params, "realm"), Some(&*ts.realm()));
    assert_eq!(param(&params, "service"), Some(SERVICE));
    assert_eq!(param(&params, "scope"), None);

    let manifest_url = format!("{}/v2/team/app/manifests/v1", reg.url());
    let r = reg.fetch_anonymous("GET", &manifest_url, &[OCI_MANIFEST_ACCEPT]);
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r), "UNAUTHORIZED");
    let (scheme, params) = challenge(&r);
    assert_eq!(scheme, "Bearer");
    assert_eq!(param(&params, "scope"), Some("repository:team/app:pull"));
    assert_eq!(param(&params, "error"), None);

    // Token request, as a client builds it from the challenge.
    let token_url = format!(
        "{}?service={}&scope={}",
        param(&params, "realm").unwrap(),
        param(&params, "service").unwrap(),
        param(&params, "scope").unwrap().replace(':', "%3A")
    );
    for wrong in [None, Some(basic("bob", "nope"))] {
        let headers: Vec<(&str, &str)> = wrong
            .iter()
            .map(|h| ("Authorization", h.as_str()))
            .collect();
        let r = reg.fetch_anonymous("GET", &token_url, &headers);
        assert_eq!(r.status, 401, "{}", r.text());
    }
    let r = reg.fetch_anonymous(
        "GET",
        &token_url,
        &[("Authorization", &basic("bob", "hunter2"))],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let token = answer["token"].as_str().unwrap();
    assert_eq!(answer["access_token"], token);
    assert_eq!(answer["expires_in"], 300);
    assert!(answer["issued_at"].as_str().unwrap().ends_with('Z'));

    let header = jwt_part(token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["x5c"].as_array().unwrap().len(), 1);
    let claims = jwt_part(token, 1);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], SERVICE);
    assert_eq!(claims["sub"], "bob");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(
        claims["access"],
        json!([{"type": "repository", "name": "team/app", "actions": ["pull"]}])
    );

    let bearer = format!("Bearer {token}");
    let r = reg.fetch_anonymous(
        "GET",
        &manifest_url,
        &[OCI_MANIFEST_ACCEPT, ("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sha256(&r.body), image.digest);
    // Cached tokens can be reused: the registry keeps no session.
    let r = reg.fetch_anonymous(
        "HEAD",
        &manifest_url,
        &[OCI_MANIFEST_ACCEPT, ("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200);

    assert_eq!(ts.request_count(), 3);
    let log = ts.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 401, 200]
    );
    assert_eq!(log[2].username.as_deref(), Some("bob"));
    assert_eq!(log[2].scopes, ["repository:team/app:pull"]);
    assert_eq!(log[2].service.as_deref(), Some(SERVICE));
}

/// What the registry refuses: tokens for another repository or without push, expired tokens,
/// tokens from an untrusted key; and what the token server grants.
#[test]
fn token_scopes_expiry_and_trust() {
    let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions {
        expires_in: 1,
        anonymous_pull: true,
        credentials: Some(("bob".into(), "hunter2".into())),
        ..TokenServerOptions::default()
    }));
    let ts = reg.token_server().unwrap();
    reg.image("app", "v1", b"a");
    let manifest_url = format!("{}/v2/app/manifests/v1", reg.url());
    let get = |token: &str| {
        reg.fetch_anonymous(
            "GET",
            &manifest_url,
            &[
                OCI_MANIFEST_ACCEPT,
                ("Authorization", &format!("Bearer {token}")),
            ],
        )
    };

    // Another repository's token: insufficient_scope, with the scope needed.
    let other = ts
        .issuer()
        .mint_now("bob", &[Access::repository("other", &["pull"])], 60);
    let r = get(&other);
    assert_eq!(r.status, 401);
    let (_, params) = challenge(&r);
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    assert_eq!(param(&params, "scope"), Some("repository:app:pull"));

    // Expired beyond distribution's 60 s leeway: invalid_token.
    let now = ts.issuer().mint_now("bob", &[], 0);
    let iat = jwt_part(&now, 1)["iat"].as_i64().unwrap();
    let expired = ts.issuer().mint(
        "bob",
        &[Access::repository("app", &["pull"])],
        iat - 600,
        iat - 120,
    );
    let r = get(&expired);
    assert_eq!(r.status, 401);
    assert_eq!(param(&challenge(&r).1, "error"), Some("invalid_token"));

    // Signed by a key the registry does not trust.
    let stranger = FixtureTokenServer::start(TokenServerOptions::default());
    let untrusted = stranger
        .issuer()
        .mint_now("bob", &[Access::repository("app", &["pull"])], 60);
    assert_eq!(get(&untrusted).status, 401);

    // Anonymous: a pull-only token, even when push is asked; short-lived as configured.
    let r = reg.fetch_anonymous(
        "GET",
        &format!(
            "{}?service={SERVICE}&scope=repository:app:pull,push",
            ts.realm()
        ),
        &[],
    );
    assert_eq!(r.status, 200);
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(r.json()["expires_in"], 1);
    let claims = jwt_part(&token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1
    );
    assert_eq!(claims["access"][0]["actions"], json!(["pull"]));
    assert_eq!(get(&token).status, 200);
    // A pull-only token cannot start an upload.
    let r = reg.fetch_anonymous(
        "POST",
        &format!("{}/v2/app/blobs/uploads/", reg.url()),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.status, 401);
    let (_, params) = challenge(&r);
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    // distribution lists the actions of the challenge scope in Go map order: "pull,push" or
    // "push,pull", differing from one request to the next.
    let mut actions = Access::parse_scope(param(&params, "scope").unwrap())
        .unwrap()
        .actions;
    actions.sort();
    assert_eq!(actions, ["pull", "push"]);

    // With credentials: pull and push, several scopes (repeated or space-separated).
    let r = reg.fetch_anonymous(
        "GET",
        &format!(
            "{}?service={SERVICE}&scope=repository%3Aapp%3Apull%2Cpush&scope=repository:a:pull+repository:b:push",
            ts.realm()
        ),
        &[("Authorization", &basic("bob", "hunter2"))],
    );
    assert_eq!(r.status, 200);
    let claims = jwt_part(r.json()["token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["access"],
        json!([
            {"type": "repository", "name": "app", "actions": ["pull", "push"]},
            {"type": "repository", "name": "a", "actions": ["pull"]},
            {"type": "repository", "name": "b", "actions": ["push"]},
        ])
    );
    assert_eq!(ts.request_count(), 2);
}

/// The claims distribution 2.8's token verifier insists on: `iss` equal to its configured
/// issuer, `aud` equal to its service, `exp` not passed and `nbf` reached (each with 60 s of
/// leeway), an `access` entry for the resource; and a signature by the key of an `x5c` chain
/// to its root bundle. It ignores `sub`, `iat` and `jti`.
#[test]
fn registry_insists_on_iss_aud_exp_nbf_and_access() {
    let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions::default()));
    reg.image("app", "v1", b"a");
    let issuer = reg.token_server().unwrap().issuer();
    let now = jwt_part(&issuer.mint_now("", &[], 0), 1)["iat"]
        .as_i64()
        .unwrap();
    let good = json!({
        "iss": ISSUER, "sub": "x", "aud": SERVICE, "exp": now + 60, "nbf": now, "iat": now,
        "jti": "1", "access": [{"type": "repository", "name": "app", "actions": ["pull"]}],
    });
    let status = |claims: &Value| {
        let token = issuer.sign_claims(claims);
        let r = reg.fetch_anonymous(
            "GET",
            &format!("{}/v2/app/manifests/v1", reg.url()),
            &[
                OCI_MANIFEST_ACCEPT,
                ("Authorization", &format!("Bearer {token}")),
            ],
        );
        (r.status, r.header("www-authenticate").map(str::to_string))
    };
    assert_eq!(status(&good).0, 200);
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        c
    };
    for (key, value) in [
        ("iss", json!("someone else")),
        ("iss", Value::Null),
        ("aud", json!("another-registry")),
        ("aud", Value::Null),
        ("exp", json!(now - 61)),
        ("exp", Value::Null),
        ("nbf", json!(now + 120)),
    ] {
        let (code, challenge) = status(&with(key, value.clone()));
        assert_eq!(code, 401, "{key}={value}");
        assert!(
            challenge.unwrap().contains(r#"error="invalid_token""#),
            "{key}={value}"
        );
    }
    // Inside the leeway, and without the claims it ignores.
    assert_eq!(status(&with("exp", json!(now - 30))).0, 200);
    for key in ["sub", "iat", "jti", "nbf"] {
        assert_eq!(status(&with(key, Value::Null)).0, 200, "without {key}");
    }
    let (code, challenge) = status(&with("access", json!([])));
    assert_eq!(code, 401);
    assert!(challenge.unwrap().contains(r#"error="insufficient_scope""#));
}

/// Without the binary the harness fails with the install hint; it never skips.
#[test]
fn missing_binary_fails_loudly_with_the_install_hint() {
    let empty = tempfile::tempdir().unwrap();
    let err = find_registry_binary(None, "/nonexistent/bin".as_ref(), empty.path()).unwrap_err();
    assert!(err.contains(INSTALL_HINT), "{err}");
    let err = find_registry_binary(
        Some("/nonexistent/docker-registry".as_ref()),
        "".as_ref(),
        empty.path(),
    )
    .unwrap_err();
    assert!(err.contains(INSTALL_HINT), "{err}");
    std::fs::write(empty.path().join("docker-registry"), b"").unwrap();
    assert_eq!(
        find_registry_binary(None, empty.path().as_os_str(), "/nonexistent".as_ref()).unwrap(),
        empty.path().join("docker-registry")
    );
    assert!(INSTALL_HINT.contains("apt-get install docker-registry"));
}

#[test]
fn token_server_refuses_what_it_does_not_implement() {
    let ts = FixtureTokenServer::start(TokenServerOptions {
        grantable_actions: vec!["pull".into()],
        ..TokenServerOptions::default()
    });
    let reg = TestRegistry::anonymous(); // only for its HTTP helper
    let get = |url: String, method: &str| reg.fetch_anonymous(method, &url, &[]);
    assert_eq!(
        get(format!("{}?service=other", ts.realm()), "GET").status,
        400
    );
    assert_eq!(
        get(format!("{}?service={SERVICE}", ts.realm()), "POST").status,
        405
    );
    assert_eq!(
        get(format!("http://{}/elsewhere", ts.addr()), "GET").status,
        404
    );
    let r = get(
        format!(
            "{}?service={SERVICE}&scope=repository:x:pull,push,delete",
            ts.realm()
        ),
        "GET",
    );
    assert_eq!(r.status, 200);
    let claims = jwt_part(r.json()["token"].as_str().unwrap(), 1);
    assert_eq!(claims["access"][0]["actions"], json!(["pull"]));
    assert_eq!(claims["sub"], "");
    assert_eq!(ts.request_count(), 4);
}

/// The helpers are blocking calls that also work from inside an async test.
#[tokio::test]
async fn helpers_work_inside_a_tokio_runtime() {
    let reg = TestRegistry::start(RegistryOptions::token(TokenServerOptions::default()));
    let image = reg.image("async", "v1", b"async");
    let sig = reg.sign(
        "async",
        &image,
        "application/jose+json",
        b"{}",
        SignatureForm::ArtifactType,
    );
    let index = reg.referrers_index("async", &image.digest).unwrap();
    assert_eq!(index["manifests"][0]["digest"], sig.digest.as_str());
    drop(reg);
}
