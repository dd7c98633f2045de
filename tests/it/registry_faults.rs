//! Faults that no real component here produces, from a fixture server (`fixture_*` servers
//! are for what docker-registry cannot do): redirects to storage that is down or refuses the
//! URL, and answers that are not HTTP. Each error must name the place that failed and the
//! kind of fault (issue 15), not the registry the request started at.

use std::sync::Arc;
use std::time::Duration;

use notaryd::registry::client::{ClientOptions, Endpoint, RegistryClient};
use notaryd::registry::credentials::NoCredentials;
use notaryd::registry::error::RegistryError;
use notaryd::verify::descriptor::Digest;

use crate::common::fixture_fault_proxy::{Fault, FixtureFaultProxy};
use crate::common::http_server::{HttpServer, response};

const REPO: &str = "team/app";

fn client() -> RegistryClient {
    RegistryClient::new(
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            attempts: 1,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            max_redirects: 10,
        },
        Arc::new(NoCredentials),
    )
}

/// A port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A fixture registry answering every blob request with a redirect to `location`.
fn fixture_redirecting_registry(location: String) -> HttpServer {
    HttpServer::start("fixture-redirect", move |_req, _conn| {
        let location = location.clone();
        async move { Some(response(307, &[("Location", location)], "")) }
    })
}

async fn fetch(server: &HttpServer) -> RegistryError {
    let blob = b"envelope";
    let digest = Digest::sha256_of(blob);
    let ep = Endpoint::upstream(&server.addr().to_string(), true);
    client()
        .fetch_blob(&ep, REPO, &digest, blob.len() as u64, 1024)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_redirect_to_storage_that_is_down_names_the_storage_host() {
    let dead = format!("127.0.0.1:{}", dead_port());
    let registry =
        fixture_redirecting_registry(format!("http://{dead}/storage/blob?X-Amz-Signature=secret"));
    let e = fetch(&registry).await;
    match &e {
        RegistryError::Network { host, .. } => assert_eq!(host, &dead, "{e}"),
        other => panic!("not a network error of the storage host: {other:?}"),
    }
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[tokio::test]
async fn storage_refusing_a_redirected_request_is_its_status_not_the_registry_refusing_access() {
    let storage = HttpServer::start("fixture-storage", |_req, _conn| async {
        Some(response(401, &[], "signature expired"))
    });
    let registry = fixture_redirecting_registry(format!(
        "http://{}/storage/blob?X-Amz-Signature=secret",
        storage.addr()
    ));
    let e = fetch(&registry).await;
    match &e {
        RegistryError::Status { status, url, .. } => {
            assert_eq!(*status, 401, "{e}");
            assert!(
                url.contains(&format!(
                    "redirected to http://{}/storage/blob",
                    storage.addr()
                )),
                "{e}"
            );
        }
        other => panic!("not the storage's HTTP status: {other:?}"),
    }
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[tokio::test]
async fn an_answer_whose_head_is_too_large_is_a_protocol_fault_not_unreachable() {
    let registry = HttpServer::start("fixture-huge-head", |_req, _conn| async {
        Some(response(
            200,
            &[("X-Padding", "x".repeat(1 << 20))],
            "envelope",
        ))
    });
    let e = fetch(&registry).await;
    assert!(
        matches!(&e, RegistryError::Protocol { .. }),
        "not a protocol fault: {e:?}"
    );
    assert!(e.to_string().contains(&registry.addr().to_string()), "{e}");
}

/// A body of unknown length (chunked) read within a body budget: it takes a first share, grows
/// to its cap once it outgrows it, keeps exactly its length once read (the read buffer's share
/// and what it did not fill go back at once), and gives that back when the bytes are dropped.
#[tokio::test]
async fn a_chunked_body_is_read_within_the_budget_and_gives_its_share_back_when_dropped() {
    use notaryd::registry::budget::BodyBudget;
    let n: usize = 300 * 1024;
    // What the proxy's chunked answer is: `{` and spaces.
    let mut body = vec![b' '; n];
    body[0] = b'{';
    let digest = Digest::sha256_of(&body);
    // Every request is answered by the fault; nothing is forwarded.
    let proxy = FixtureFaultProxy::start("127.0.0.1:9");
    proxy.fail("/blobs/", Fault::Chunked(n as u64));
    let budget = Arc::new(BodyBudget::new(8 * 1024 * 1024));
    let c = client().with_body_budget(Arc::clone(&budget));
    let ep = Endpoint::upstream(&proxy.host(), true);
    let blob = c
        .fetch_blob(&ep, REPO, &digest, n as u64, n as u64)
        .await
        .unwrap();
    assert!(blob.bytes == body, "the bytes read are not the body");
    assert_eq!(blob.hold.bytes(), n as u64);
    assert_eq!(budget.available(), budget.total() - n as u64);
    let copy = blob.clone();
    drop(blob);
    assert_eq!(
        budget.available(),
        budget.total() - n as u64,
        "a clone holds it"
    );
    drop(copy);
    assert_eq!(budget.available(), budget.total());
    assert!(budget.bytes_taken() >= n as u64);
}
