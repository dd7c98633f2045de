//! `notaryd-containerd-verifier`: an image verifier for containerd 2.1+'s bindir plugin
//! (`io.containerd.image-verifier.v1.bindir`). containerd runs every executable in its
//! `bin_dir` before it fetches anything but the resolved manifest, as
//!
//! ```text
//! notaryd-containerd-verifier -name REF -digest sha256:… -stdin-media-type application/vnd.oci.descriptor.v1+json
//! ```
//!
//! with the descriptor as JSON on standard input. This asks the running `notaryd serve` over
//! its socket and exits 0 to allow, 1 to deny, with one short line on standard output that
//! containerd reports (it keeps 32 KiB; this writes at most 1 KiB). It fails closed: a daemon
//! that does not answer within the deadline, well under containerd's
//! `per_verifier_timeout` (10 s by default), is a denial.
//!
//! Environment: `NOTARYD_SOCKET` (default `/run/notaryd/notaryd.sock`),
//! `NOTARYD_VERIFIER_TIMEOUT_MS` (default 5000).

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use notaryd::api::v1;
use notaryd::bindir::{MAX_STDIN_BYTES, parse_stdin_descriptor};

/// Longest line written.
const MAX_LINE: usize = 1000;
/// Default deadline for the daemon's answer.
const DEFAULT_TIMEOUT_MS: u64 = 5000;

fn say(line: &str) {
    let mut line = line.replace(['\n', '\r'], " ");
    if line.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    println!("{line}");
}

fn deny(line: &str) -> ExitCode {
    say(&format!("notaryd: denied: {line}"));
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let mut name = None;
    let mut digest = None;
    let mut media_type = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.trim_start_matches('-') {
            "name" => name = args.next(),
            "digest" => digest = args.next(),
            "stdin-media-type" => media_type = args.next(),
            // Flags of future containerd versions are ignored rather than fatal.
            _ => {}
        }
    }
    let (Some(name), Some(digest)) = (name, digest) else {
        return deny("containerd did not pass -name and -digest");
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut input)
    {
        return deny(&format!("reading the descriptor: {e}"));
    }
    let descriptor = match parse_stdin_descriptor(&input, media_type.as_deref(), &digest) {
        Ok(d) => d,
        Err(reason) => return deny(&reason),
    };
    let socket = std::env::var_os("NOTARYD_SOCKET")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| notaryd::config::DEFAULT_SOCKET.into());
    let timeout = std::env::var("NOTARYD_VERIFIER_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(
            Duration::from_millis(DEFAULT_TIMEOUT_MS),
            Duration::from_millis,
        );

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return deny(&format!("runtime: {e}")),
    };
    let answer = runtime.block_on(async {
        tokio::time::timeout(timeout, async {
            let mut client = notaryd::cli::daemon_client(&socket)
                .await
                .map_err(|e| e.to_string())?;
            let mut request = tonic::Request::new(v1::VerifyRequest {
                reference: name.clone(),
                descriptor: Some(match &descriptor {
                    Some(d) => v1::Descriptor {
                        media_type: d.media_type.clone(),
                        digest: d.digest.clone(),
                        size: d.size,
                    },
                    None => v1::Descriptor {
                        media_type: String::new(),
                        digest: digest.clone(),
                        size: 0,
                    },
                }),
                auth: None,
                namespace: String::new(),
                report_format: v1::ReportFormat::None as i32,
                cache_only: false,
            });
            request.set_timeout(timeout);
            client
                .verify(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| s.message().to_owned())
        })
        .await
    });
    match answer {
        Ok(Ok(r)) if r.allowed => {
            say(&format!("notaryd: allowed {name}@{digest}: {}", r.reason));
            ExitCode::SUCCESS
        }
        Ok(Ok(r)) => deny(&format!("{name}@{digest}: {}", r.reason)),
        Ok(Err(e)) => deny(&format!(
            "{name}@{digest}: no verdict from notaryd at {}: {e}",
            socket.display()
        )),
        Err(_) => deny(&format!(
            "{name}@{digest}: notaryd at {} did not answer within {timeout:?}",
            socket.display()
        )),
    }
}
