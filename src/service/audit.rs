//! The audit log: one JSON object per decision, one line each, flushed as it is written, to a
//! file (appended) or to standard output.

use std::fs::{File, OpenOptions};
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::config::AuditTarget;

/// One decision.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    /// RFC 3339 time of the decision.
    pub time: String,
    /// The reference as requested.
    pub reference: &'a str,
    /// The digest decided about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<&'a str>,
    /// The Kubernetes namespace, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    /// The trust policy statement that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'a str>,
    /// accepted, skipped, rejected, exempt or error.
    pub outcome: &'a str,
    /// Whether the pull is allowed.
    pub allowed: bool,
    /// The accepted signature's signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<&'a str>,
    /// Why.
    pub reason: &'a str,
    /// Answered from the cache.
    pub cached: bool,
    /// Time spent, in milliseconds.
    pub duration_ms: f64,
    /// Configuration generation.
    pub generation: u64,
}

enum Sink {
    Off,
    Stdout,
    File(LineWriter<File>),
}

/// Where records go.
pub struct AuditLog {
    sink: Mutex<Sink>,
    path: Option<std::path::PathBuf>,
}

impl AuditLog {
    /// Opens the configured target (a file is created with mode 0640 and appended to).
    pub fn open(target: &AuditTarget) -> std::io::Result<Self> {
        let sink = match target {
            AuditTarget::Off => Sink::Off,
            AuditTarget::Stdout => Sink::Stdout,
            AuditTarget::File(path) => Sink::File(LineWriter::new(open_append(path)?)),
        };
        Ok(Self {
            sink: Mutex::new(sink),
            path: match target {
                AuditTarget::File(p) => Some(p.clone()),
                _ => None,
            },
        })
    }

    /// Opens the file again by its path, so that a log rotated away (renamed by logrotate,
    /// then `systemctl reload notaryd`) is followed by a new file. On failure the old file
    /// stays in use and the error is returned.
    pub fn reopen(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = open_append(path)?;
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if let Sink::File(old) = &mut *sink {
            // Whatever the old writer still buffers belongs to the old file.
            let _ = old.flush();
        }
        *sink = Sink::File(LineWriter::new(file));
        Ok(())
    }

    /// Whether records are written anywhere.
    pub fn enabled(&self) -> bool {
        !matches!(
            *self.sink.lock().unwrap_or_else(|e| e.into_inner()),
            Sink::Off
        )
    }

    /// Writes one record as one line. A write error is reported to the caller (who logs it);
    /// the decision itself stands.
    pub fn write(&self, record: &AuditRecord<'_>) -> std::io::Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*sink, Sink::Off) {
            return Ok(());
        }
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match &mut *sink {
            Sink::Off => Ok(()),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&line)?;
                out.flush()
            }
            Sink::File(f) => {
                f.write_all(&line)?;
                f.flush()
            }
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}
