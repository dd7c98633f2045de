//! Loading a trust policy and trust stores from disk in notation's layout, so an operator can
//! point notaryd at the configuration they already use with `notation`:
//!
//! ```text
//! DIR/trustpolicy.oci.json   (preferred) or DIR/trustpolicy.json
//! DIR/truststore/x509/{ca,signingAuthority,tsa}/<name>/<certificate files>
//! ```
//!
//! Symlinks are refused for the policy file, store directories and certificate files, and a
//! subdirectory inside a named store is an error, as in notation-go.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::verify::policy::{MAX_TRUST_POLICY_BYTES, PolicyError, TrustPolicyDocument};
use crate::verify::trust_store::{
    MAX_TRUST_STORE_FILE_BYTES, TrustStore, TrustStoreError, TrustStoreType, is_valid_store_name,
};

/// The policy file names notation looks for, in order.
pub(crate) const POLICY_FILE_NAMES: [&str; 2] = ["trustpolicy.oci.json", "trustpolicy.json"];

/// Most files read from one named store. notation has no cap; a store normally holds one to a
/// few files (one per trusted root). 1,000 is far above that; the directory is listed and
/// counted before any file is read, so a store pointed at the wrong directory fails fast.
pub const MAX_FILES_PER_STORE: usize = 1000;

/// Why the configuration cannot be loaded. The operator is at fault; nothing verifies.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// No trust policy file in the configuration directory.
    #[error(
        "no trust policy found: neither {dir}/trustpolicy.oci.json nor {dir}/trustpolicy.json exists"
    )]
    NoPolicy {
        /// The directory.
        dir: String,
    },
    /// A path that must be a regular file or directory is a symlink (or neither).
    #[error("{path}: {what} must be a regular {kind}, not a symlink or other file type")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is for.
        what: &'static str,
        /// `file` or `directory`.
        kind: &'static str,
    },
    /// The policy file is too large.
    #[error("{path}: larger than {max} bytes")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Limit.
        max: usize,
    },
    /// The policy document is invalid.
    #[error("{path}: {source}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PolicyError,
    },
    /// A store named by the policy does not exist.
    #[error("trust store {store} named by the trust policy does not exist: {path} is missing")]
    MissingStore {
        /// `type:name`.
        store: String,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A store directory holds something other than regular files.
    #[error(
        "trust store {store}: {path}: directories or symlinks are not supported in trust stores"
    )]
    StoreEntry {
        /// `type:name`.
        store: String,
        /// The offending entry.
        path: PathBuf,
    },
    /// A store directory holds more than [`MAX_FILES_PER_STORE`] entries.
    #[error("trust store {store}: {path} holds more than {max} files")]
    TooManyFiles {
        /// `type:name`.
        store: String,
        /// The store directory.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// A store does not load.
    #[error("{path}: {source}")]
    Store {
        /// The store directory.
        path: PathBuf,
        /// Why.
        source: TrustStoreError,
    },
}

/// Finds the trust policy file in a notation configuration directory.
pub(crate) fn find_policy_file(dir: &Path) -> Result<PathBuf, ConfigError> {
    for name in POLICY_FILE_NAMES {
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ConfigError::Io { path, source }),
        }
    }
    Err(ConfigError::NoPolicy {
        dir: dir.display().to_string(),
    })
}

/// Reads and validates a trust policy document.
pub fn load_policy(path: &Path) -> Result<TrustPolicyDocument, ConfigError> {
    require_regular(path, "a trust policy", false)?;
    let bytes = read_capped(path, MAX_TRUST_POLICY_BYTES)?;
    TrustPolicyDocument::from_json(&bytes).map_err(|source| ConfigError::Policy {
        path: path.to_owned(),
        source,
    })
}

/// Loads every store the policy names from `truststore_dir` (the directory holding `x509/`).
/// Stores the policy does not name are not read, as in notation.
pub fn load_trust_store(
    truststore_dir: &Path,
    policy: &TrustPolicyDocument,
) -> Result<TrustStore, ConfigError> {
    let mut store = TrustStore::new();
    let mut wanted: Vec<(TrustStoreType, String)> = Vec::new();
    for statement in policy.trust_policies() {
        for r in statement.trust_stores() {
            let t = TrustStoreType::parse(r.store_type().as_str()).unwrap_or(TrustStoreType::Ca);
            let key = (t, r.name().to_owned());
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
    }
    for (store_type, name) in wanted {
        load_one_store(truststore_dir, &mut store, store_type, &name)?;
    }
    Ok(store)
}

/// Loads every named store of every type under `truststore_dir` (not only those a policy
/// names): the CAs a revocation bundle's CRLs and OCSP responses may be signed by. A missing
/// type directory is simply empty.
pub(crate) fn load_all_trust_stores(truststore_dir: &Path) -> Result<TrustStore, ConfigError> {
    let mut store = TrustStore::new();
    for store_type in TrustStoreType::ALL {
        let dir = truststore_dir.join("x509").join(store_type.as_str());
        let listing = match fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ConfigError::Io { path: dir, source }),
        };
        let mut names = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|source| ConfigError::Io {
                path: dir.clone(),
                source,
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            load_one_store(truststore_dir, &mut store, store_type, &name)?;
        }
    }
    Ok(store)
}

fn load_one_store(
    truststore_dir: &Path,
    store: &mut TrustStore,
    store_type: TrustStoreType,
    name: &str,
) -> Result<(), ConfigError> {
    let label = format!("{store_type}:{name}");
    if !is_valid_store_name(name) {
        return Err(ConfigError::Store {
            path: truststore_dir.to_owned(),
            source: TrustStoreError::InvalidName {
                store_type,
                name: name.to_owned(),
            },
        });
    }
    let dir = truststore_dir
        .join("x509")
        .join(store_type.as_str())
        .join(name);
    match fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::MissingStore {
                store: label,
                path: dir,
            });
        }
        Err(source) => return Err(ConfigError::Io { path: dir, source }),
        Ok(_) => require_regular(&dir, "a trust store", true)?,
    }
    let mut entries: Vec<PathBuf> = Vec::new();
    let listing = fs::read_dir(&dir).map_err(|source| ConfigError::Io {
        path: dir.clone(),
        source,
    })?;
    for entry in listing {
        let entry = entry.map_err(|source| ConfigError::Io {
            path: dir.clone(),
            source,
        })?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.file_type().is_file() {
            return Err(ConfigError::StoreEntry { store: label, path });
        }
        entries.push(path);
        if entries.len() > MAX_FILES_PER_STORE {
            return Err(ConfigError::TooManyFiles {
                store: label,
                path: dir,
                max: MAX_FILES_PER_STORE,
            });
        }
    }
    entries.sort();
    let mut files = Vec::with_capacity(entries.len());
    for path in entries {
        let bytes = read_capped(&path, MAX_TRUST_STORE_FILE_BYTES)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, bytes));
    }
    store
        .add_store(store_type, name, &files)
        .map_err(|source| ConfigError::Store { path: dir, source })?;
    Ok(())
}

fn require_regular(path: &Path, what: &'static str, dir: bool) -> Result<(), ConfigError> {
    let meta = fs::symlink_metadata(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    let ok = if dir {
        meta.file_type().is_dir()
    } else {
        meta.file_type().is_file()
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::NotRegular {
            path: path.to_owned(),
            what,
            kind: if dir { "directory" } else { "file" },
        })
    }
}

fn read_capped(path: &Path, max: usize) -> Result<Vec<u8>, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(bytes)
}
