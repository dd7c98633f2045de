//! The shared-vectors helper (`common::vectors`): a missing folder is a loud skip outside CI and
//! a failure under CI. CI semantics are passed in, not read from the environment.

use std::path::Path;

use crate::common::vectors::{default_dir, file_at, vectors_at};

fn missing() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/no-such-vectors-folder")
}

#[test]
fn a_missing_vectors_folder_is_a_skip_outside_ci() {
    assert!(!missing().exists());
    assert_eq!(vectors_at(&missing(), false, "the helper test"), None);
}

#[test]
#[should_panic(expected = "no-such-vectors-folder")]
fn a_missing_vectors_folder_fails_under_ci() {
    assert!(!missing().exists());
    let _ = vectors_at(&missing(), true, "the helper test");
}

#[test]
fn a_present_vectors_folder_is_returned_under_ci_and_outside() {
    let dir = default_dir();
    if !dir.join("INDEX.md").is_file() {
        return;
    }
    assert_eq!(vectors_at(&dir, true, "the helper test"), Some(dir.clone()));
    assert_eq!(vectors_at(&dir, false, "the helper test"), Some(dir));
}

/// A folder made by the test, holding one file: a file inside an existing folder is judged on
/// its own.
fn folder_with_one_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("INDEX.md"), "test").unwrap();
    std::fs::write(dir.path().join("present.json"), "{}").unwrap();
    dir
}

#[test]
fn a_file_missing_from_a_present_folder_is_a_skip_outside_ci() {
    let dir = folder_with_one_file();
    assert_eq!(
        file_at(dir.path(), "present.json", false, "the helper test"),
        Some(dir.path().join("present.json"))
    );
    assert_eq!(
        file_at(dir.path(), "absent.json", false, "the helper test"),
        None
    );
}

#[test]
#[should_panic(expected = "absent.json is missing from the shared vectors")]
fn a_file_missing_from_a_present_folder_fails_under_ci() {
    let dir = folder_with_one_file();
    assert!(file_at(dir.path(), "present.json", true, "the helper test").is_some());
    let _ = file_at(dir.path(), "absent.json", true, "the helper test");
}
