//! A fixture HTTP file server standing in for CA distribution points (CRL downloads). No real
//! CA distribution-point server exists on this machine, and `notaryd bundle create` only
//! fetches `http://` URLs with a plain GET, so a small server on 127.0.0.1 that serves a map
//! of paths to bytes is all a test needs — plus what a real one cannot be told to do: answer
//! 404, hold a connection without answering (for the timeout), and count requests.
//!
//! Std threads and a `TcpListener` on 127.0.0.1:0, one thread per connection (a hanging path
//! must not hold up the others), `Connection: close` on every answer. Dropping it stops the
//! accept loop and releases every held connection.
#![allow(
    dead_code,
    // A test helper: a fixture server failing loudly is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest request head read (a GET line and a few headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a held ("hanging") connection is kept at most, even if the server is not dropped.
const MAX_HOLD: Duration = Duration::from_secs(120);

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
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FixtureHttpFiles {
    /// Starts serving nothing (every path 404) on 127.0.0.1 at a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (state, stop) = (state.clone(), stop.clone());
                    std::thread::spawn(move || serve(conn, &state, &stop));
                }
            })
        };
        Self {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
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

impl Drop for FixtureHttpFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads the request head; `None` when the peer sent nothing usable.
fn read_head(conn: &mut TcpStream) -> Option<(String, String)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_HEAD_BYTES {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    // Absolute-form targets (from a proxy-minded client) carry the origin too.
    let path = match target.find("://") {
        Some(i) => target[i + 3..]
            .find('/')
            .map_or("/".to_owned(), |j| target[i + 3 + j..].to_owned()),
        None => target.to_owned(),
    };
    Some((method, path))
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((method, path)) = read_head(&mut conn) else {
        return;
    };
    let (behaviour, body) = {
        let mut s = state.lock().unwrap();
        s.requests.push((method.clone(), path.clone()));
        (s.behaviour.get(&path).copied(), s.files.get(&path).cloned())
    };
    match behaviour {
        Some(Behaviour::Hang) => {
            let mut held = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) && held < MAX_HOLD {
                std::thread::sleep(Duration::from_millis(20));
                held += Duration::from_millis(20);
            }
            return;
        }
        Some(Behaviour::Delay(d)) => std::thread::sleep(d),
        None => {}
    }
    let response = match (method.as_str(), body) {
        ("GET", Some(body)) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
        ("GET", None) => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
        _ => b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
    };
    let _ = conn.write_all(&response);
    let _ = conn.flush();
}
