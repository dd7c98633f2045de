//! `GET /metrics`: the use case's Prometheus metrics ([`crate::service::metrics`]) as
//! OpenMetrics text, when `[metrics] listen` is set.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use crate::service::metrics::Metrics;

/// Serves `GET /metrics` on `listener` until `shutdown` resolves. `before_scrape` refreshes
/// gauges computed at scrape time.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    before_scrape: Arc<dyn Fn() + Send + Sync>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let before = Arc::clone(&before_scrape);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let metrics = Arc::clone(&metrics);
                let before = Arc::clone(&before);
                async move { Ok::<_, Infallible>(respond(&req, &metrics, &*before)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(std::time::Duration::from_secs(5))
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // A scrape is one request; a connection kept open longer than this is dropped.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn).await;
        });
    }
}

fn respond(req: &Request<Incoming>, metrics: &Metrics, before: &dyn Fn()) -> Response<Full<Bytes>> {
    let mut response = if req.method() == hyper::Method::GET && req.uri().path() == "/metrics" {
        before();
        let mut r = Response::new(Full::new(Bytes::from(metrics.encode())));
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        );
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(
            b"not found: try GET /metrics\n",
        )));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    };
    response.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Binds the metrics listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
