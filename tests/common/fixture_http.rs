//! A fixture HTTP file server standing in for CA distribution points (CRL downloads). No real
//! CA distribution-point server exists on this machine, and `notaryd bundle create` only
//! fetches `http://` URLs with a plain GET, so a small server on 127.0.0.1 that serves a map
//! of paths to bytes is all a test needs — plus what a real one cannot be told to do: answer
//! 404, hold a connection without answering (for the timeout), and count requests.
//!
//! hyper on its own runtime thread (`http_server`), so a hanging path holds up no other, with
//! `Connection: close` on every answer. Dropping it stops the server and releases every held
//! connection.
#![allow(
    dead_code,
    // A test helper: a fixture server failing loudly is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Response;
use hyper::body::Incoming;

use super::http_server::{Body, HttpServer, response, target};

/// What a path does besides answering.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Never answer; keep the connection open until the server stops.
    Hang,
    /// Answer after this delay.
    Delay(Duration),
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    behaviour: HashMap<String, Behaviour>,
    /// (method, path) of every request read, in order.
    requests: Vec<(String, String)>,
}

/// The fixture server. See the module documentation.
pub struct FixtureHttpFiles {
    state: Arc<Mutex<State>>,
    server: HttpServer,
}

impl FixtureHttpFiles {
    /// Starts serving nothing (every path 404) on 127.0.0.1 at a free port.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let server = {
            let state = state.clone();
            HttpServer::start("fixture-http-files", move |req, _| {
                serve(state.clone(), req)
            })
        };
        Self { state, server }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT{path}` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// Serves `bytes` at `path` (200), replacing what was there.
    pub fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), bytes.into());
    }

    /// Stops serving `path` (404 from now on).
    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().files.remove(path);
    }

    /// Never answers requests for `path`: the connection is held open until the server is
    /// dropped.
    pub fn hang(&self, path: &str) {
        self.state
            .lock()
            .unwrap()
            .behaviour
            .insert(path.to_owned(), Behaviour::Hang);
    }

    /// Answers requests for `path` only after `delay`.
    pub fn delay(&self, path: &str, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .behaviour
            .insert(path.to_owned(), Behaviour::Delay(delay));
    }

    /// How many requests for `path` were read so far.
    pub fn requests_for(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(_, p)| p == path)
            .count()
    }

    /// Every request read so far: (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn serve(state: Arc<Mutex<State>>, req: hyper::Request<Incoming>) -> Option<Response<Body>> {
    let method = req.method().as_str().to_owned();
    let path = target(&req);
    let (behaviour, body) = {
        let mut s = state.lock().unwrap();
        s.requests.push((method.clone(), path.clone()));
        (s.behaviour.get(&path).copied(), s.files.get(&path).cloned())
    };
    match behaviour {
        // Cancelled, and the connection closed, when the server stops.
        Some(Behaviour::Hang) => std::future::pending().await,
        Some(Behaviour::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let close = ("Connection", "close".to_string());
    Some(match (method.as_str(), body) {
        ("GET", Some(body)) => response(
            200,
            &[("Content-Type", "application/pkix-crl".into()), close],
            body,
        ),
        ("GET", None) => response(404, &[close], Vec::new()),
        _ => response(405, &[close], Vec::new()),
    })
}
