//! Revocation bundles: the container format ([`format`](mod@format)), and on top of it importing a bundle
//! into the state directory, loading the installed set, and describing a bundle. Creating one
//! on a connected machine is in `create` (run by `cli::bundle_create`).

pub(crate) mod create;
pub mod format;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::verify::revocation::crl::Crl;
use crate::verify::revocation::ocsp::{OcspCertStatus, UnverifiedOcsp};
use crate::verify::revocation::set::{
    RevocationItem, RevocationOptions, RevocationSet, RevocationSetError,
};
use crate::verify::time::Timestamp;
use crate::verify::x509::Certificate;
use format::{Bundle, BundleError, BundleKey, ItemKind};

/// Where the installed bundle lives unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/notaryd/revocation";
/// The installed bundle's file name in the state directory.
pub(crate) const INSTALLED_NAME: &str = "installed.bundle";

/// Why an import, load or inspection failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleCommandError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The container is refused.
    #[error("{path}: {source}")]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// Why.
        source: BundleError,
    },
    /// Its contents are refused.
    #[error("{path}: {source}")]
    Set {
        /// The bundle file.
        path: PathBuf,
        /// Why.
        source: RevocationSetError,
    },
    /// The installed set cannot be read, so a rollback cannot be ruled out.
    #[error(
        "the installed revocation set {installed} cannot be read ({reason}); use --allow-rollback to replace it anyway"
    )]
    PreviousUnreadable {
        /// The installed bundle.
        installed: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// The bundle holds no CRL and no OCSP response: installing it would make every revocable
    /// certificate unknown.
    #[error(
        "{path}: holds no CRL and no OCSP response; installing it would leave every revocable certificate unknown"
    )]
    Empty {
        /// The bundle file.
        path: PathBuf,
    },
    /// Bundle-signing keys are configured and the bundle is not signed.
    #[error(
        "{path}: unsigned, and bundle-signing keys are configured (no embedded signature and no {path}.sig)"
    )]
    Unsigned {
        /// The bundle file.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BundleCommandError + '_ {
    move |source| BundleCommandError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a whole bundle file, refusing one over the format's cap without reading it all.
pub(crate) fn read_bundle_file(path: &Path) -> Result<Vec<u8>, BundleCommandError> {
    let file = fs::File::open(path).map_err(io(path))?;
    let too_large = |len: u64| BundleCommandError::Bundle {
        path: path.to_owned(),
        source: BundleError::TooLarge {
            what: "the bundle".into(),
            len,
            max: format::MAX_BUNDLE_BYTES,
        },
    };
    // A regular file says its size up front; anything else is read up to the cap.
    let declared = file.metadata().map_err(io(path))?.len();
    if declared > format::MAX_BUNDLE_BYTES {
        return Err(too_large(declared));
    }
    let mut bytes = Vec::new();
    file.take(format::MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > format::MAX_BUNDLE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Parses `bytes` (read from `path`) and checks its signature against `keys` when any are
/// configured: the embedded block, else `<path>.sig`.
pub fn open_bundle<'a>(
    path: &Path,
    bytes: &'a [u8],
    keys: &[BundleKey],
) -> Result<Bundle<'a>, BundleCommandError> {
    let bad = |source| BundleCommandError::Bundle {
        path: path.to_owned(),
        source,
    };
    let bundle = format::parse(bytes).map_err(bad)?;
    if !keys.is_empty() {
        match &bundle.signature {
            Some(sig) => format::verify_signature(bundle.signed_bytes, sig, keys).map_err(bad)?,
            None => {
                let detached = PathBuf::from(format!("{}.sig", path.display()));
                let sig_bytes = match fs::read(&detached) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(BundleCommandError::Unsigned {
                            path: path.to_owned(),
                        });
                    }
                    Err(e) => return Err(io(&detached)(e)),
                };
                let sig = format::parse_signature(&sig_bytes).map_err(bad)?;
                format::verify_signature(bytes, &sig, keys).map_err(bad)?;
            }
        }
    }
    Ok(bundle)
}

/// The items of an opened bundle, as the revocation set takes them.
pub fn items_of<'a>(bundle: &Bundle<'a>) -> Vec<RevocationItem<'a>> {
    bundle
        .items
        .iter()
        .map(|(h, bytes)| match h.kind {
            ItemKind::Crl => RevocationItem::Crl(bytes),
            ItemKind::Ocsp => RevocationItem::Ocsp(bytes),
            ItemKind::Certificate => RevocationItem::Certificate(bytes),
        })
        .collect()
}

/// Builds the revocation set of a bundle file (verifying every item against `anchors`).
/// `fresh_at` checks freshness as an import does; `None` loads what was installed as is.
pub fn load_set(
    path: &Path,
    anchors: &[&Certificate],
    keys: &[BundleKey],
    fresh_at: Option<Timestamp>,
    options: RevocationOptions,
) -> Result<RevocationSet, BundleCommandError> {
    let bytes = read_bundle_file(path)?;
    let bundle = open_bundle(path, &bytes, keys)?;
    RevocationSet::build(&items_of(&bundle), anchors, fresh_at, options, None, false).map_err(
        |source| BundleCommandError::Set {
            path: path.to_owned(),
            source,
        },
    )
}

/// The installed bundle's path in `state_dir`.
pub(crate) fn installed_path(state_dir: &Path) -> PathBuf {
    state_dir.join(INSTALLED_NAME)
}

/// What an import did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Where it was installed.
    pub installed: PathBuf,
    /// CRLs installed.
    pub crls: usize,
    /// OCSP answers installed.
    pub ocsp_answers: usize,
    /// Whether a previous set was replaced.
    pub replaced_previous: bool,
}

/// Imports `path` into `state_dir`: every check of docs/revocation-bundle.md, then an atomic
/// replace of the installed bundle (temporary file, fsync, rename, fsync of the directory).
pub fn import(
    path: &Path,
    state_dir: &Path,
    anchors: &[&Certificate],
    keys: &[BundleKey],
    now: Timestamp,
    options: RevocationOptions,
    allow_rollback: bool,
) -> Result<ImportReport, BundleCommandError> {
    let bytes = read_bundle_file(path)?;
    let bundle = open_bundle(path, &bytes, keys)?;
    if !bundle
        .items
        .iter()
        .any(|(h, _)| matches!(h.kind, ItemKind::Crl | ItemKind::Ocsp))
    {
        return Err(BundleCommandError::Empty {
            path: path.to_owned(),
        });
    }
    let installed = installed_path(state_dir);
    // The installed set is compared against as it is: its items' freshness does not matter
    // here, only their numbers and times.
    let previous = match fs::metadata(&installed) {
        Ok(_) => match load_set(&installed, anchors, &[], None, options) {
            Ok(set) => Some(set),
            // Without the installed set nothing can be compared against; only an operator
            // who accepts a possible rollback may replace it (e.g. after a trust-store change).
            Err(e) if !allow_rollback => {
                return Err(BundleCommandError::PreviousUnreadable {
                    installed,
                    reason: e.to_string(),
                });
            }
            Err(_) => None,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&installed)(e)),
    };
    let replaced_previous = fs::metadata(&installed).is_ok();
    let set = RevocationSet::build(
        &items_of(&bundle),
        anchors,
        Some(now),
        options,
        previous.as_ref(),
        allow_rollback,
    )
    .map_err(|source| BundleCommandError::Set {
        path: path.to_owned(),
        source,
    })?;
    fs::create_dir_all(state_dir).map_err(io(state_dir))?;
    let tmp = state_dir.join(format!(".{INSTALLED_NAME}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &installed)?;
        fs::File::open(state_dir)?.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io(&installed)(e));
    }
    Ok(ImportReport {
        installed,
        crls: set.crl_summaries().len(),
        ocsp_answers: set.ocsp_count(),
        replaced_previous,
    })
}

/// One item of a bundle as `bundle inspect` shows it.
// `rename_all` on an enum renames only the variants (the `kind` tag); the fields of each
// variant need `rename_all_fields` to be camelCase like the rest of the report.
#[derive(Debug, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum ItemDescription {
    /// A CRL.
    Crl {
        /// Issuer.
        issuer: String,
        /// CRL number (hex).
        number: Option<String>,
        /// Base number of a delta CRL (hex).
        delta_base: Option<String>,
        /// thisUpdate.
        this_update: Timestamp,
        /// nextUpdate.
        next_update: Option<Timestamp>,
        /// Revoked entries.
        entries: usize,
        /// Where it came from.
        source: Option<String>,
    },
    /// An OCSP response.
    Ocsp {
        /// producedAt.
        produced_at: Timestamp,
        /// Per certificate: serial (hex) and status.
        responses: Vec<OcspLine>,
        /// Where it came from.
        source: Option<String>,
    },
    /// A CA certificate.
    Certificate {
        /// Subject.
        subject: String,
        /// Issuer.
        issuer: String,
    },
    /// An item that does not parse (inspection shows it rather than stopping).
    Unreadable {
        /// Its declared kind.
        declared: String,
        /// Why.
        error: String,
    },
}

/// One OCSP answer in an inspection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OcspLine {
    /// Serial number, hex.
    pub serial: String,
    /// good / revoked / unknown.
    pub status: String,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Option<Timestamp>,
}

/// A bundle as `bundle inspect` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// Creation time.
    pub created_at: String,
    /// Producer.
    pub producer: String,
    /// Whether it carries an embedded signature, and by which key id.
    pub signed_by: Option<String>,
    /// The items.
    pub items: Vec<ItemDescription>,
}

/// Describes a bundle without judging trust (signatures of items are not checked here:
/// `import` does that).
pub fn inspect(path: &Path) -> Result<Inspection, BundleCommandError> {
    let bytes = read_bundle_file(path)?;
    let bundle = format::parse(&bytes).map_err(|source| BundleCommandError::Bundle {
        path: path.to_owned(),
        source,
    })?;
    let items = bundle
        .items
        .iter()
        .map(|(h, data)| describe(h, data))
        .collect();
    Ok(Inspection {
        created_at: bundle.header.created_at.clone(),
        producer: bundle.header.producer.clone(),
        signed_by: bundle.signature.as_ref().map(|s| s.key_id.clone()),
        items,
    })
}

fn describe(h: &format::ItemHeader, data: &[u8]) -> ItemDescription {
    let unreadable = |e: String| ItemDescription::Unreadable {
        declared: h.kind.to_string(),
        error: e,
    };
    match h.kind {
        ItemKind::Crl => match Crl::parse_unverified(data) {
            Ok(c) => ItemDescription::Crl {
                issuer: render_name(c.issuer_der()),
                number: c.number().map(crate::verify::descriptor::hex),
                delta_base: c.delta_base().map(crate::verify::descriptor::hex),
                this_update: c.this_update(),
                next_update: c.next_update(),
                entries: c.entry_count(),
                source: h.source.clone(),
            },
            Err(e) => unreadable(e.to_string()),
        },
        ItemKind::Ocsp => match UnverifiedOcsp::parse(data) {
            Ok(r) => ItemDescription::Ocsp {
                produced_at: r.produced_at,
                responses: r
                    .responses
                    .iter()
                    .map(|s| OcspLine {
                        serial: crate::verify::descriptor::hex(&s.serial),
                        status: match s.status.status {
                            OcspCertStatus::Good => "good".into(),
                            OcspCertStatus::Revoked { .. } => "revoked".into(),
                            OcspCertStatus::Unknown => "unknown".into(),
                        },
                        this_update: s.status.this_update,
                        next_update: s.status.next_update,
                    })
                    .collect(),
                source: h.source.clone(),
            },
            Err(e) => unreadable(e.to_string()),
        },
        ItemKind::Certificate => match Certificate::from_der(data) {
            Ok(c) => ItemDescription::Certificate {
                subject: c.subject(),
                issuer: c.issuer(),
            },
            Err(e) => unreadable(e.to_string()),
        },
    }
}

fn render_name(der: &[u8]) -> String {
    use der::Decode;
    x509_cert::name::Name::from_der(der)
        .map(|n| crate::verify::dn::render_go_style(&n))
        .unwrap_or_else(|_| "?".into())
}
