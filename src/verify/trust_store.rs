//! Trust stores in notation's model: named sets of certificates of three types
//! (`x509/{ca,signingAuthority,tsa}/<name>/`). The core builds them from bytes; reading the
//! directories (and refusing symlinks and subdirectories) is the job of an adapter.

use std::collections::BTreeMap;
use std::fmt;

use der::{Reader, SliceReader};
use rustls_pki_types::pem::{PemObject, SectionKind};

use super::x509::{Certificate, CertificateError};

/// Largest trust-store file accepted, in bytes. Trust stores hold a handful of certificates
/// (a CA bundle of ~150 roots is ~200 KiB); 4 MiB bounds a mistaken file without refusing any
/// real bundle.
pub const MAX_TRUST_STORE_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Most certificates in one file. A full public-root bundle has ~150.
pub const MAX_CERTIFICATES_PER_FILE: usize = 1000;

/// The three trust store types of the Notary spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum TrustStoreType {
    /// `ca`: roots for `notary.x509` signatures.
    #[serde(rename = "ca")]
    Ca,
    /// `signingAuthority`: roots for `notary.x509.signingAuthority` signatures.
    #[serde(rename = "signingAuthority")]
    SigningAuthority,
    /// `tsa`: roots for RFC 3161 timestamp authorities.
    #[serde(rename = "tsa")]
    Tsa,
}

impl TrustStoreType {
    /// Every type, in the order of notation's directory listing.
    pub const ALL: [TrustStoreType; 3] = [Self::Ca, Self::SigningAuthority, Self::Tsa];

    /// The name used in policies and directory names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ca => "ca",
            Self::SigningAuthority => "signingAuthority",
            Self::Tsa => "tsa",
        }
    }

    /// Parses a type name (case-sensitive, as notation).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ca" => Some(Self::Ca),
            "signingAuthority" => Some(Self::SigningAuthority),
            "tsa" => Some(Self::Tsa),
            _ => None,
        }
    }
}

impl fmt::Display for TrustStoreType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` is a valid named-store name: `[a-zA-Z0-9_.-]+` as notation requires, minus
/// `.` and `..`, which would name the store-type directory or its parent.
pub fn is_valid_store_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Why a trust store cannot be built. The operator's configuration is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustStoreError {
    /// The store name is not `[a-zA-Z0-9_.-]+`.
    #[error("trust store {store_type}:{name}: invalid store name")]
    InvalidName {
        /// Type.
        store_type: TrustStoreType,
        /// Name.
        name: String,
    },
    /// A file is larger than [`MAX_TRUST_STORE_FILE_BYTES`].
    #[error(
        "trust store {store}: file {file:?} is {len} bytes, more than the limit of {MAX_TRUST_STORE_FILE_BYTES}"
    )]
    FileTooLarge {
        /// `type:name`.
        store: String,
        /// File name.
        file: String,
        /// Size.
        len: usize,
    },
    /// A file holds no certificate.
    #[error("trust store {store}: file {file:?} holds no PEM or DER certificate")]
    NoCertificateInFile {
        /// `type:name`.
        store: String,
        /// File name.
        file: String,
    },
    /// A file does not parse.
    #[error("trust store {store}: file {file:?}: {reason}")]
    BadFile {
        /// `type:name`.
        store: String,
        /// File name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate is not allowed in this store type.
    #[error("trust store {store}: file {file:?}: certificate {subject:?} {reason}")]
    CertificateNotAllowed {
        /// `type:name`.
        store: String,
        /// File name.
        file: String,
        /// Subject of the refused certificate.
        subject: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The store has no certificates at all.
    #[error("trust store {store} holds no certificates")]
    Empty {
        /// `type:name`.
        store: String,
    },
    /// The same store was added twice.
    #[error("trust store {store} was added twice")]
    Duplicate {
        /// `type:name`.
        store: String,
    },
}

/// One named store: every certificate from every file in its directory.
#[derive(Debug)]
pub struct NamedStore {
    certificates: Vec<Certificate>,
}

impl NamedStore {
    /// The certificates, in file order.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }
}

/// All named stores, keyed by type and name.
#[derive(Debug, Default)]
pub struct TrustStore {
    stores: BTreeMap<(TrustStoreType, String), NamedStore>,
}

impl TrustStore {
    /// An empty set of stores (a policy that refers to any store then fails closed).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the named store `store_type:name` from `files` (file name, contents). Each file is
    /// PEM (one or more CERTIFICATE blocks) or DER (one or more concatenated certificates),
    /// as notation reads them; each certificate must suit the store type (§6.1).
    pub fn add_store(
        &mut self,
        store_type: TrustStoreType,
        name: &str,
        files: &[(String, Vec<u8>)],
    ) -> Result<(), TrustStoreError> {
        if !is_valid_store_name(name) {
            return Err(TrustStoreError::InvalidName {
                store_type,
                name: name.chars().take(100).collect(),
            });
        }
        let store = format!("{store_type}:{name}");
        if self.stores.contains_key(&(store_type, name.to_owned())) {
            return Err(TrustStoreError::Duplicate { store });
        }
        let mut certificates = Vec::new();
        for (file, bytes) in files {
            if bytes.len() > MAX_TRUST_STORE_FILE_BYTES {
                return Err(TrustStoreError::FileTooLarge {
                    store,
                    file: file.clone(),
                    len: bytes.len(),
                });
            }
            let bad = |reason: String| TrustStoreError::BadFile {
                store: store.clone(),
                file: file.clone(),
                reason,
            };
            let certs = parse_certificate_file(bytes).map_err(bad)?;
            if certs.is_empty() {
                return Err(TrustStoreError::NoCertificateInFile {
                    store,
                    file: file.clone(),
                });
            }
            for cert in &certs {
                let refuse = |reason| TrustStoreError::CertificateNotAllowed {
                    store: store.clone(),
                    file: file.clone(),
                    subject: cert.subject().to_owned(),
                    reason,
                };
                match store_type {
                    TrustStoreType::Ca | TrustStoreType::SigningAuthority => {
                        let is_ca = cert.is_ca();
                        if !is_ca && !cert.is_self_signed() {
                            return Err(refuse("is neither a CA certificate nor self-signed"));
                        }
                    }
                    TrustStoreType::Tsa => {
                        // notation's isRootCertificate goes through Go's CheckSignatureFrom,
                        // which also requires a version-3 issuer to be a CA: a self-signed
                        // end-entity certificate is not a TSA root.
                        let v3 = cert.inner().tbs_certificate().version() == x509_cert::Version::V3;
                        let is_ca = cert.is_ca();
                        // …and, when it has keyUsage, that it includes keyCertSign.
                        let can_sign_certs = cert
                            .extensions()
                            .key_usage
                            .as_ref()
                            .is_none_or(|(ku, _)| ku.key_cert_sign());
                        if !cert.is_self_signed() || (v3 && !is_ca) || !can_sign_certs {
                            return Err(refuse(
                                "is not a self-signed root CA, which a tsa store requires",
                            ));
                        }
                    }
                }
            }
            certificates.extend(certs);
        }
        if certificates.is_empty() {
            return Err(TrustStoreError::Empty { store });
        }
        self.stores
            .insert((store_type, name.to_owned()), NamedStore { certificates });
        Ok(())
    }

    /// The store `store_type:name`, if it was added.
    pub fn get(&self, store_type: TrustStoreType, name: &str) -> Option<&NamedStore> {
        self.stores.get(&(store_type, name.to_owned()))
    }

    /// Every store, for listings.
    pub fn iter(&self) -> impl Iterator<Item = (TrustStoreType, &str, &NamedStore)> {
        self.stores.iter().map(|((t, n), s)| (*t, n.as_str(), s))
    }
}

/// Reads one trust-store file: PEM when it holds a PEM section, otherwise concatenated DER.
pub fn parse_certificate_file(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    let mut out = Vec::new();
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if is_pem {
        for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
            // The PEM error quotes the offending line, which may be the whole file.
            let (kind, der) = section.map_err(|e| {
                let text: String = e.to_string().chars().take(200).collect();
                format!("bad PEM: {text}")
            })?;
            if kind != SectionKind::Certificate {
                return Err(format!("holds a PEM {kind:?} section, not a certificate"));
            }
            if out.len() >= MAX_CERTIFICATES_PER_FILE {
                return Err(format!(
                    "more than {MAX_CERTIFICATES_PER_FILE} certificates"
                ));
            }
            out.push(Certificate::from_der(&der).map_err(|e: CertificateError| e.to_string())?);
        }
    } else {
        let mut rest = bytes;
        while !rest.is_empty() {
            let one = {
                let mut reader = SliceReader::new(rest).map_err(|e| e.to_string())?;
                reader.tlv_bytes().map_err(|e| format!("not DER: {e}"))?
            };
            if out.len() >= MAX_CERTIFICATES_PER_FILE {
                return Err(format!(
                    "more than {MAX_CERTIFICATES_PER_FILE} certificates"
                ));
            }
            out.push(Certificate::from_der(one).map_err(|e| e.to_string())?);
            rest = &rest[one.len()..];
        }
    }
    Ok(out)
}
