//! The seat for revocation checking (NOTARY-VERIFY §7). The core never fetches anything: it
//! asks a [`RevocationSource`] that the caller passes in, and applies notation's rules about
//! which certificates are checked and how per-certificate answers combine.

pub mod crl;
pub mod ocsp;
pub mod set;

use std::fmt;

use super::time::Timestamp;
use super::x509::Certificate;

/// The revocation status of one certificate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum CertRevocationStatus {
    /// Covered by revocation data and not revoked.
    Good,
    /// The certificate names no OCSP responder and no CRL, so nothing can revoke it.
    NonRevokable,
    /// Revoked.
    Revoked {
        /// CRL reason code, when given.
        reason: Option<u8>,
        /// When it was revoked, when known.
        revocation_time: Option<Timestamp>,
        /// When the key is known or suspected to have been compromised, when given.
        invalidity_date: Option<Timestamp>,
    },
    /// No usable revocation data: none installed, expired, or unverifiable.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// What a revocation source is asked.
#[derive(Clone, Copy, Debug)]
pub struct RevocationQuery<'a> {
    /// The certificate.
    pub certificate: &'a Certificate,
    /// Its issuer: the next certificate in the chain.
    pub issuer: &'a Certificate,
    /// The authentic signing time (`notary.x509.signingAuthority` only): a revocation whose
    /// invalidity date is after it does not count (§7).
    pub authentic_signing_time: Option<Timestamp>,
    /// The verification time.
    pub now: Timestamp,
}

/// Where revocation answers come from. Implementations do no network I/O during verification.
pub trait RevocationSource: Send + Sync {
    /// The status of `query.certificate`. Called only for certificates that name an OCSP
    /// responder or a CRL distribution point.
    fn status(&self, query: &RevocationQuery<'_>) -> CertRevocationStatus;
}

/// The source used when no revocation data is installed: every certificate that names a CRL
/// or OCSP location is unknown, which fails closed under `strict` (as notation does offline).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRevocationData;

impl RevocationSource for NoRevocationData {
    fn status(&self, query: &RevocationQuery<'_>) -> CertRevocationStatus {
        CertRevocationStatus::Unknown {
            reason: format!(
                "no revocation data is installed for {:?}",
                query.certificate.subject()
            ),
        }
    }
}

/// The combined result for a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainRevocation {
    /// Nothing revoked and nothing unknown.
    Ok,
    /// At least one certificate is revoked.
    Revoked {
        /// Subject of the first revoked certificate.
        subject: String,
        /// Its status.
        status: CertRevocationStatus,
    },
    /// Nothing revoked, but at least one certificate is unknown.
    Unknown {
        /// Subject of the first unknown certificate.
        subject: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ChainRevocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("not revoked"),
            Self::Revoked { subject, .. } => write!(f, "certificate {subject:?} is revoked"),
            Self::Unknown { subject, reason } => {
                write!(
                    f,
                    "revocation status of certificate {subject:?} is unknown: {reason}"
                )
            }
        }
    }
}

/// Checks every certificate of `chain` except the root against its issuer (§7). A
/// certificate without OCSP or CRL locations is non-revokable and passes.
pub fn check_chain(
    chain: &[Certificate],
    source: &dyn RevocationSource,
    authentic_signing_time: Option<Timestamp>,
    now: Timestamp,
) -> (ChainRevocation, Vec<CertRevocationStatus>) {
    let mut statuses = Vec::new();
    let mut revoked = None;
    let mut unknown = None;
    for pair in chain.windows(2) {
        let (cert, issuer) = (&pair[0], &pair[1]);
        let ext = cert.extensions();
        let status = if ext.ocsp_urls.is_empty() && ext.crl_urls.is_empty() {
            CertRevocationStatus::NonRevokable
        } else {
            source.status(&RevocationQuery {
                certificate: cert,
                issuer,
                authentic_signing_time,
                now,
            })
        };
        match &status {
            CertRevocationStatus::Revoked { .. } if revoked.is_none() => {
                revoked = Some(ChainRevocation::Revoked {
                    subject: cert.subject().to_owned(),
                    status: status.clone(),
                });
            }
            CertRevocationStatus::Unknown { reason } if unknown.is_none() => {
                unknown = Some(ChainRevocation::Unknown {
                    subject: cert.subject().to_owned(),
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
        statuses.push(status);
    }
    (revoked.or(unknown).unwrap_or(ChainRevocation::Ok), statuses)
}
