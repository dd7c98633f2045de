//! A real OCSP responder for tests: `openssl ocsp` in server mode (`-index`, `-port`), run as a
//! child process, answering from an index file written from the test PKI. It speaks HTTP POST
//! `application/ocsp-request`, signs with SHA-256 (`-rmd sha256`: notaryd refuses SHA-1
//! signed responses) and the issuing CA's own key (so no delegated-responder certificate is
//! needed), and gives thisUpdate = now and nextUpdate = now + 1 day (`-ndays 1`), which is
//! what the real-clock CLI tests need.
//!
//! `openssl` must be installed (scripts/prereqs.sh installs it for scripts/test.sh): these
//! tests fail, never skip, without it. The process is started with `-port 0` or a given port
//! and its `ACCEPT [::]:PORT PID=…` line tells the port actually bound, so no free port is
//! guessed; dropping the responder kills it by its PID (the `Child` handle) and waits for it.
#![allow(
    dead_code,
    // A test helper: failing loudly with openssl's own words is its error handling.
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use time::OffsetDateTime;

use super::pki::TestCert;

/// The message of every failure to find or run `openssl`.
pub const OPENSSL_HINT: &str =
    "install openssl (apt-get install openssl) or run scripts/test.sh, which installs it";

/// How long the responder may take to say it listens.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A certificate's status in the index.
#[derive(Clone, Debug)]
pub enum IndexStatus {
    /// `V`: good.
    Valid,
    /// `R`: revoked at this unix time with this reason (an openssl reason name such as
    /// `keyCompromise`).
    Revoked { at: i64, reason: &'static str },
}

/// One line of the index.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    /// The serial number's DER INTEGER contents (as `Certificate::serial_number` gives them).
    pub serial: Vec<u8>,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// The subject in openssl's `/C=…/CN=…` form (informational for the responder).
    pub subject: String,
    pub status: IndexStatus,
}

impl IndexEntry {
    /// An entry for `cert` (serial, notAfter and subject read from the certificate).
    pub fn for_cert(cert: &TestCert, status: IndexStatus) -> Self {
        let parsed = notaryd::verify::x509::Certificate::from_der(&cert.der)
            .expect("test certificate parses");
        let subject = cert
            .spec
            .subject
            .iter()
            .map(|(t, v)| format!("/{}={v}", dn_short_name(t)))
            .collect();
        Self {
            serial: parsed.serial_number().to_vec(),
            not_after: cert.spec.not_after.unix_timestamp(),
            subject,
            status,
        }
    }

    /// The index line: status, expiry, revocation, serial (upper-case hex as openssl's
    /// `BN_bn2hex` writes it), file name (`unknown`), subject.
    pub fn line(&self) -> String {
        let significant: &[u8] = {
            let skip = self.serial.iter().take_while(|b| **b == 0).count();
            if skip == self.serial.len() {
                &[0]
            } else {
                &self.serial[skip..]
            }
        };
        let serial: String = significant.iter().map(|b| format!("{b:02X}")).collect();
        let (flag, revocation) = match &self.status {
            IndexStatus::Valid => ("V", String::new()),
            IndexStatus::Revoked { at, reason } => ("R", format!("{},{reason}", utc_time(*at))),
        };
        format!(
            "{flag}\t{}\t{revocation}\t{serial}\tunknown\t{}\n",
            index_time(self.not_after),
            self.subject
        )
    }
}

fn dn_short_name(t: &rcgen::DnType) -> String {
    match t {
        rcgen::DnType::CountryName => "C".into(),
        rcgen::DnType::StateOrProvinceName => "ST".into(),
        rcgen::DnType::LocalityName => "L".into(),
        rcgen::DnType::OrganizationName => "O".into(),
        rcgen::DnType::OrganizationalUnitName => "OU".into(),
        rcgen::DnType::CommonName => "CN".into(),
        other => format!("{other:?}"),
    }
}

/// `YYMMDDHHMMSSZ` (UTCTime text, what openssl writes for revocation times).
fn utc_time(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).expect("time in range");
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An expiry as `openssl ca` writes it: UTCTime through 2049, GeneralizedTime from 2050.
fn index_time(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).expect("time in range");
    if t.year() < 2050 {
        utc_time(unix)
    } else {
        format!("{:04}{}", t.year(), &utc_time(unix)[2..])
    }
}

/// A running `openssl ocsp` responder for the certificates `issuer` issued.
pub struct OpensslOcspResponder {
    child: Child,
    port: u16,
    stderr_path: PathBuf,
    // Last: removed after the process is gone.
    dir: tempfile::TempDir,
}

impl OpensslOcspResponder {
    /// Starts a responder for `issuer` answering from `entries` (anything else: unknown) on
    /// `port` (`None`: a free one), accepting at most `max_requests` requests.
    pub fn start(
        issuer: &TestCert,
        entries: &[IndexEntry],
        port: Option<u16>,
        max_requests: u32,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.txt");
        std::fs::write(
            &index,
            entries.iter().map(IndexEntry::line).collect::<String>(),
        )
        .unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, issuer.pem()).unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, issuer.key.pkcs8_pem()).unwrap();
        let stderr_path = dir.path().join("stderr.txt");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new("openssl")
            .arg("ocsp")
            .arg("-index")
            .arg(&index)
            .arg("-CA")
            .arg(&ca)
            .arg("-rsigner")
            .arg(&ca)
            .arg("-rkey")
            .arg(&key)
            .args(["-rmd", "sha256", "-ndays", "1"])
            .args(["-port", &port.unwrap_or(0).to_string()])
            .args(["-nrequest", &max_requests.to_string()])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run openssl: {e}: {OPENSSL_HINT}"));
        // openssl prints `ACCEPT [::]:PORT PID=N` once it listens; the rest of stdout is
        // drained so that the responder never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let first = match rx.recv_timeout(START_DEADLINE) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "openssl ocsp did not start listening: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        };
        let bound = first
            .strip_prefix("ACCEPT ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from openssl ocsp: {first:?}"));
        if let Some(p) = port {
            assert_eq!(bound, p, "openssl ocsp bound another port");
        }
        Self {
            child,
            port: bound,
            stderr_path,
            dir,
        }
    }

    /// The port it listens on (every interface, so 127.0.0.1 too).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/`, the URL a certificate's AIA names.
    pub fn url(&self) -> String {
        url_for_port(self.port)
    }

    /// What the responder wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Stops the responder now (idempotent).
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The URL of a responder on `port` of 127.0.0.1.
pub fn url_for_port(port: u16) -> String {
    format!("http://127.0.0.1:{port}/")
}

impl Drop for OpensslOcspResponder {
    fn drop(&mut self) {
        self.stop();
    }
}
