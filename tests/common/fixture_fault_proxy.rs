//! A fixture for what no real component here does: a proxy in front of the real
//! docker-registry that answers chosen requests with a fault (an HTTP status, a body cut short
//! of its Content-Length, an answer that never comes) and forwards every other request to the
//! registry unchanged. The fault suite (`tests/it/faults.rs`) puts it at each stage of a
//! verification and behind each hosts.toml layout. The memory bench (`benches/memory.rs`)
//! uses it for hostile bodies: an endless chunked answer and an index over the descriptor cap.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use hyper::body::Bytes;
use tokio::io::AsyncWriteExt;

use super::http_server::{HttpServer, response};

/// How a matching request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answered with this status and a registry error body.
    Status(u16),
    /// A 200 whose body stops short of its Content-Length, then the connection closes.
    CutBody,
    /// No answer at all: the request waits until the client gives up.
    Hang,
    /// A 200 of this many bytes (JSON whitespace after a `{`) sent with chunked transfer
    /// encoding (no Content-Length), made as it is sent: a client learns its size only by
    /// reading it.
    Chunked(u64),
    /// A 200 announcing a body of this many bytes (Content-Length) that never comes: the
    /// client waits for it until its request deadline.
    Stall(u64),
    /// A 200 carrying a well-formed OCI image index of this many signature entries, with its
    /// Content-Length.
    Index(usize),
}

/// The body of [`Fault::Chunked`]: `remaining` bytes in frames of one shared buffer.
struct ChunkedBody {
    remaining: u64,
    started: bool,
    frame: Bytes,
}

impl hyper::body::Body for ChunkedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.remaining.min(self.frame.len() as u64) as usize;
        self.remaining -= n as u64;
        let data = if self.started {
            self.frame.slice(..n)
        } else {
            self.started = true;
            let mut first = self.frame.slice(..n).to_vec();
            first[0] = b'{';
            Bytes::from(first)
        };
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))))
    }

    // The default size hint (nothing known) makes hyper send it chunked.
}

/// An OCI image index of `n` signature entries (distinct digests, none of them pushed).
pub fn index_of(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{i:064x}","size":728,"artifactType":"application/vnd.cncf.notary.signature","annotations":{{"io.cncf.notary.x509chain.thumbprint#S256":"[\"{i:064x}\"]"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        entries.join(",")
    )
}

type Rules = Arc<Mutex<Vec<(String, Fault)>>>;

/// The proxy. See the module documentation.
pub struct FixtureFaultProxy {
    server: HttpServer,
    rules: Rules,
    log: Arc<Mutex<Vec<String>>>,
}

/// The type a registry gives an answer at `target`, so that the client reads the body (a
/// referrers answer of another type is "no referrers API").
fn index_or_manifest_type(target: &str) -> &'static str {
    if target.contains("/referrers/") || target.contains("/manifests/sha256-") {
        "application/vnd.oci.image.index.v1+json"
    } else if target.contains("/manifests/") {
        "application/vnd.oci.image.manifest.v1+json"
    } else {
        "application/octet-stream"
    }
}

impl FixtureFaultProxy {
    /// A proxy forwarding to `upstream` (`host:port` of a plain-HTTP registry).
    pub fn start(upstream: &str) -> Self {
        let rules: Rules = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let upstream = upstream.to_owned();
        let (r, l) = (Arc::clone(&rules), Arc::clone(&log));
        let server = HttpServer::start("fixture-fault-proxy", move |req, conn| {
            let (rules, log, http, upstream) = (
                Arc::clone(&r),
                Arc::clone(&l),
                http.clone(),
                upstream.clone(),
            );
            async move {
                let target = super::http_server::target(&req);
                let line = format!("{} {target}", req.method());
                log.lock().unwrap().push(line);
                let fault = rules
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(p, _)| target.contains(p.as_str()))
                    .map(|(_, f)| *f);
                match fault {
                    Some(Fault::Status(status)) => {
                        return Some(response(
                            status,
                            &[("Content-Type", "application/json".into())],
                            r#"{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}"#,
                        ));
                    }
                    Some(Fault::Hang) => {
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    Some(Fault::CutBody) => {
                        let content_type = index_or_manifest_type(&target);
                        let mut s = conn.take();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
                             Content-Length: 1000\r\n\r\n{{\"only\": \"a part"
                        );
                        let _ = s.write_all(head.as_bytes()).await;
                        let _ = s.shutdown().await;
                        return None;
                    }
                    Some(Fault::Chunked(len)) => {
                        return Some(super::http_server::streaming(
                            200,
                            &[("Content-Type", index_or_manifest_type(&target).into())],
                            ChunkedBody {
                                remaining: len,
                                started: false,
                                frame: Bytes::from(vec![b' '; 64 * 1024]),
                            },
                        ));
                    }
                    Some(Fault::Stall(len)) => {
                        let mut s = conn.take();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\r\n",
                            index_or_manifest_type(&target)
                        );
                        let _ = s.write_all(head.as_bytes()).await;
                        // The socket stays open, silent, until the client gives up.
                        let _open = s;
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    Some(Fault::Index(n)) => {
                        return Some(response(
                            200,
                            &[(
                                "Content-Type",
                                "application/vnd.oci.image.index.v1+json".into(),
                            )],
                            index_of(n),
                        ));
                    }
                    None => {}
                }
                let mut forwarded =
                    http.request(req.method().clone(), format!("http://{upstream}{target}"));
                for (name, value) in req.headers() {
                    if name != hyper::header::HOST {
                        forwarded = forwarded.header(name, value);
                    }
                }
                let answer = forwarded
                    .send()
                    .await
                    .expect("the registry behind the proxy");
                let status = answer.status().as_u16();
                let headers: Vec<(String, String)> = answer
                    .headers()
                    .iter()
                    .filter(|(n, _)| {
                        !matches!(
                            n.as_str(),
                            "content-length" | "transfer-encoding" | "connection"
                        )
                    })
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let body: Bytes = answer.bytes().await.expect("the registry's body");
                let headers: Vec<(&str, String)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.clone()))
                    .collect();
                Some(response(status, &headers, body))
            }
        });
        Self { server, rules, log }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.server.addr().to_string()
    }

    /// Requests whose `path?query` contains `pattern` fail with `fault`, from now on.
    pub fn fail(&self, pattern: &str, fault: Fault) {
        self.rules.lock().unwrap().push((pattern.to_owned(), fault));
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}
