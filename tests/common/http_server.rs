//! The HTTP/1.1 server under the fixture servers (`fixture_http`, `fixture_registry` and the
//! token server in `registry`): hyper's http1 connection serving on 127.0.0.1 at a free port,
//! every request handed to the fixture's handler.
//!
//! It runs on a current-thread tokio runtime of its own, on a thread of its own, because most
//! tests using the fixtures are synchronous and some run their own runtimes (which a server
//! sharing theirs would stall whenever they block). Stopping it closes the listener and drops
//! the runtime, which cancels every connection and every answer in progress — so a hanging
//! answer is just a future that never completes.
//!
//! hyper frames every body it sends correctly; for a fault that needs otherwise on the wire, a
//! handler takes the socket away from hyper ([`Connection::take`]) and answers by hand.
#![allow(
    dead_code,
    // A test helper: a fixture server failing loudly is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A response body: whole bytes or a stream (a fixture's own `hyper::body::Body`).
pub type Body = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// A running server. See the module documentation.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl HttpServer {
    /// Binds 127.0.0.1:0 and serves every request with `handler` on a thread named `name`.
    /// The handler answers `None` when it answered by hand on the socket it took.
    pub fn start<H, F>(name: &str, handler: H) -> Self
    where
        H: Fn(Request<Incoming>, Connection) -> F + Send + Sync + 'static,
        F: Future<Output = Option<Response<Body>>> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = oneshot::channel();
        let handler = Arc::new(handler);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(accept(listener, handler, stopped));
                // Dropping the runtime here drops every connection task with its socket.
            })
            .expect("spawn the server thread");
        Self {
            addr,
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (idempotent): the port refuses connections and every open one is closed,
    /// answers in progress cut off. Returns once the server thread is gone.
    pub fn stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.lock().unwrap().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept<H, F>(
    listener: std::net::TcpListener,
    handler: Arc<H>,
    mut stopped: oneshot::Receiver<()>,
) where
    H: Fn(Request<Incoming>, Connection) -> F + Send + Sync + 'static,
    F: Future<Output = Option<Response<Body>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let conn = Connection(Arc::new(Mutex::new(Some(stream))));
        let handler = handler.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(Shared(conn.clone()));
            let service = hyper::service::service_fn(move |req| {
                let answer = handler(req, conn.clone());
                async move { answer.await.ok_or(AnsweredByHand) }
            });
            // Errors are the client's or a fault's doing: the connection just ends. Header
            // names go out as the fixtures spell them (`Docker-Content-Digest`), as a registry
            // writes them, rather than in hyper's lower case.
            let _ = hyper::server::conn::http1::Builder::new()
                .title_case_headers(true)
                .serve_connection(io, service)
                .await;
        });
    }
}

/// The socket of the connection a request came on.
#[derive(Clone)]
pub struct Connection(Arc<Mutex<Option<TcpStream>>>);

impl Connection {
    /// Takes the socket away from hyper, which reads and writes nothing more on it; the handler
    /// then answers `None` and the connection is closed when the socket is dropped.
    pub fn take(&self) -> TcpStream {
        self.0
            .lock()
            .unwrap()
            .take()
            .expect("the socket was taken twice")
    }
}

/// hyper's side of a [`Connection`]. Once the socket is taken, hyper has nothing to write (no
/// response yet) and must not end the connection, which would drop the handler mid-answer:
/// reads and writes wait until the handler's `None` ends it, and a flush (hyper flushes on
/// every turn) has nothing to do.
struct Shared(Connection);

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.0.0.lock().unwrap().as_mut() {
            Some(s) => Pin::new(s).poll_read(cx, buf),
            None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.0.lock().unwrap().as_mut() {
            Some(s) => Pin::new(s).poll_write(cx, buf),
            None => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.0.0.lock().unwrap().as_mut() {
            Some(s) => Pin::new(s).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.0.0.lock().unwrap().as_mut() {
            Some(s) => Pin::new(s).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// The service error that makes hyper drop a connection whose socket the handler took.
#[derive(Debug)]
struct AnsweredByHand;

impl std::fmt::Display for AnsweredByHand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answered by hand")
    }
}

impl std::error::Error for AnsweredByHand {}

/// A response with `Content-Length`, then `headers` in order, and `body` whole.
pub fn response(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Response<Body> {
    let body = body.into();
    let mut all = vec![("Content-Length", body.len().to_string())];
    all.extend(headers.iter().cloned());
    streaming(status, &all, http_body_util::Full::new(body))
}

/// A response with `headers` in order and `body` as it streams (hyper frames it by its size
/// hint unless `headers` name a `Content-Length`).
pub fn streaming<B>(status: u16, headers: &[(&str, String)], body: B) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes, Error = std::convert::Infallible> + Send + 'static,
{
    let mut r = Response::new(body.boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(status).expect("a status code");
    for (name, value) in headers {
        r.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    r
}

/// `path?query` of a request as sent (the origin of an absolute-form target left out).
pub fn target(req: &Request<Incoming>) -> String {
    req.uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string())
}

/// The request headers in order, names in lower case as hyper gives them.
pub fn headers(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
