//! Where the shared conformance vectors are (`../shared/vectors` next to the crate), for every
//! test that reads them. The vectors are not ours and are never copied into the repo, so a test
//! that needs them skips loudly when they are not checked out — except under CI (the `CI`
//! environment variable set and non-empty), where a missing folder is a failure: a CI run must
//! not pass having checked nothing.

// A test helper: failing loudly is its error handling.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

/// `../shared/vectors` relative to the crate.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors")
}

/// Whether this is a CI run: `CI` set and non-empty.
pub fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The vectors folder, or `None` after a loud SKIPPED line naming `what` did not run; panics
/// naming the path instead when `CI` is set.
/// The SKIPPED line also goes to the `conformance` report (`common::report`).
pub fn vectors_dir(what: &str) -> Option<PathBuf> {
    let dir = default_dir();
    let found = vectors_at(&dir, ci(), what);
    if found.is_none() {
        crate::common::report::append("conformance", &skipped(&dir, what));
    }
    found
}

fn skipped(dir: &Path, what: &str) -> String {
    format!(
        "!!!!!!!! SKIPPED: {what}: the shared vectors at {} are missing, nothing was checked !!!!!!!!",
        dir.display()
    )
}

/// [`vectors_dir`] for the folder `dir`, with CI semantics given by `ci`. The folder counts as
/// present when it holds `INDEX.md`.
pub fn vectors_at(dir: &Path, ci: bool, what: &str) -> Option<PathBuf> {
    if dir.join("INDEX.md").is_file() {
        return Some(dir.to_path_buf());
    }
    if ci {
        panic!(
            "CI is set but the shared vectors are missing: {} (no INDEX.md there), \
             so {what} cannot run; check out the shared vectors next to the crate",
            dir.display()
        );
    }
    eprintln!("\n{}\n", skipped(dir, what));
    None
}

/// `relative` inside the vectors folder, when the folder and that file are there. A file
/// missing from a folder that is present is a loud skip, and under CI a failure: a partial
/// checkout must not pass for a full one.
pub fn vector_path(relative: &str, what: &str) -> Option<PathBuf> {
    let dir = vectors_dir(what)?;
    let found = file_at(&dir, relative, ci(), what);
    if found.is_none() {
        crate::common::report::append("conformance", &missing_file(&dir.join(relative), what));
    }
    found
}

fn missing_file(path: &Path, what: &str) -> String {
    format!(
        "!!!!!!!! SKIPPED: {what}: {} is missing from the shared vectors !!!!!!!!",
        path.display()
    )
}

/// [`vector_path`] for the folder `dir`, with CI semantics given by `ci`.
pub fn file_at(dir: &Path, relative: &str, ci: bool, what: &str) -> Option<PathBuf> {
    let path = dir.join(relative);
    if path.exists() {
        return Some(path);
    }
    if ci {
        panic!(
            "CI is set but {} is missing from the shared vectors, so {what} cannot run",
            path.display()
        );
    }
    eprintln!("\n{}\n", missing_file(&path, what));
    None
}
