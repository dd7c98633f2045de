//! Coverage lines a test prints and also appends to `target/test-reports/<name>.txt`, so that
//! `scripts/test.sh` can show what the tests covered after the run (their output is captured
//! when they pass) without running them a second time.

// A test helper: failing loudly is its error handling.
#![allow(clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// `target/test-reports` of the crate.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-reports")
}

/// Appends `line` to the report `name` (`target/test-reports/<name>.txt`), creating the folder
/// and the file as needed. A report that cannot be written fails the test.
pub fn append(name: &str, line: &str) {
    let dir = dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{name}.txt"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // One write per line, so that lines of tests running in parallel do not interleave.
    file.write_all(format!("{line}\n").as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Prints `line` to stdout and appends it to the report `name`.
pub fn print_line(name: &str, line: &str) {
    println!("{line}");
    append(name, line);
}

/// Prints `line` to stderr (shown even when the test passes and output is captured) and
/// appends it to the report `name`.
pub fn eprint_line(name: &str, line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
    append(name, line);
}
