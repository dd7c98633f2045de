//! The installed revocation set: CRLs and OCSP responses whose signatures were checked once,
//! at import, against their issuing CAs, indexed by issuer key and serial number so that a
//! verification asks questions by index probe. It answers with notation's rules (§7): OCSP
//! first when the certificate names a responder, CRL otherwise or when OCSP is unknown; delta
//! CRLs; certificateHold / removeFromCRL; the signingAuthority invalidity-date exception; and
//! "unknown" for anything missing or stale.

use std::cmp::Ordering;
use std::collections::HashMap;

use der::Encode;

use super::crl::{Crl, CrlEntry, CrlError, CrlReason, cmp_crl_numbers};
use super::ocsp::{OcspCertStatus, OcspResponse, SingleStatus};
use super::{CertRevocationStatus, RevocationQuery, RevocationSource};
use crate::time::Timestamp;
use crate::x509::Certificate;

/// Most certificates admitted from one bundle (intermediates from signature chains).
pub const MAX_BUNDLE_CERTIFICATES: usize = 1024;

/// How stale data is treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationOptions {
    /// How long past its `nextUpdate` a CRL or OCSP response is still used. notation uses none;
    /// an air-gapped node may need a grace period between bundle deliveries. Default: none.
    pub grace_seconds: u32,
}

/// One item of a bundle, by kind.
#[derive(Clone, Copy, Debug)]
pub enum RevocationItem<'a> {
    /// A DER CRL.
    Crl(&'a [u8]),
    /// A DER OCSP response.
    Ocsp(&'a [u8]),
    /// A DER CA certificate from a signature chain.
    Certificate(&'a [u8]),
}

/// Why a set cannot be built (the bundle is refused as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationSetError {
    /// A certificate item is not a CA certificate chaining to a trust-store certificate.
    #[error("bundle item {index}: certificate {subject:?} {reason}")]
    Certificate {
        /// Item position.
        index: usize,
        /// Its subject (or "?" when it does not parse).
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// A CRL is unusable: no known issuer verifies it, or it is malformed.
    #[error("bundle item {index}: CRL from {issuer:?}: {reason}")]
    Crl {
        /// Item position.
        index: usize,
        /// Its issuer as written (or "?").
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// An OCSP response is unusable.
    #[error("bundle item {index}: OCSP response: {reason}")]
    Ocsp {
        /// Item position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Already stale when imported.
    #[error("bundle item {index}: {what} expired at {next_update} (grace {grace_seconds} s)")]
    Stale {
        /// Item position.
        index: usize,
        /// What it is.
        what: String,
        /// Its nextUpdate.
        next_update: String,
        /// The grace used.
        grace_seconds: u32,
    },
    /// Older than what is installed.
    #[error(
        "bundle item {index}: {what} is older than the installed one ({detail}); use --allow-rollback to install it anyway"
    )]
    Rollback {
        /// Item position.
        index: usize,
        /// What it is.
        what: String,
        /// Numbers or times compared.
        detail: String,
    },
}

/// An OCSP answer for one certificate.
#[derive(Clone, Debug)]
struct OcspAnswer {
    status: SingleStatus,
    produced_at: Timestamp,
}

/// The installed revocation data, indexed.
pub struct RevocationSet {
    crls: Vec<Crl>,
    /// (issuer subject DER, issuer key hash) → indices into `crls`.
    crls_by_issuer: HashMap<(Vec<u8>, [u8; 32]), Vec<usize>>,
    /// (issuer key hash, serial) → answer.
    ocsp: HashMap<([u8; 32], Vec<u8>), OcspAnswer>,
    options: RevocationOptions,
}

impl std::fmt::Debug for RevocationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RevocationSet({} CRLs, {} OCSP answers)",
            self.crls.len(),
            self.ocsp.len()
        )
    }
}

/// What the set holds, for reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrlSummary {
    /// Issuer (Go-style rendering).
    pub issuer: String,
    /// CRL number, hex.
    pub number: Option<String>,
    /// Base number for a delta CRL, hex.
    pub delta_base: Option<String>,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Option<Timestamp>,
    /// Revoked entries.
    pub entries: usize,
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo: how the set names a CA key.
pub fn key_hash(cert: &Certificate) -> [u8; 32] {
    let spki = cert
        .inner()
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap_or_default();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn hex_opt(n: Option<&[u8]>) -> Option<String> {
    n.map(crate::descriptor::hex)
}

impl RevocationSet {
    /// An empty set: every revocable certificate is unknown.
    pub fn empty(options: RevocationOptions) -> Self {
        Self {
            crls: Vec::new(),
            crls_by_issuer: HashMap::new(),
            ocsp: HashMap::new(),
            options,
        }
    }

    /// Builds a set from bundle items. `anchors` are the trust-store certificates; certificate
    /// items are admitted when they chain to them. Every CRL and OCSP response must verify
    /// with an admitted CA (or its delegated responder), and — when `fresh_at` is given — be
    /// fresh then (nextUpdate plus the grace). With `previous`, anything older than what it
    /// holds is refused unless `allow_rollback`.
    pub fn build(
        items: &[RevocationItem<'_>],
        anchors: &[&Certificate],
        fresh_at: Option<Timestamp>,
        options: RevocationOptions,
        previous: Option<&RevocationSet>,
        allow_rollback: bool,
    ) -> Result<Self, RevocationSetError> {
        let grace = i128::from(options.grace_seconds) * 1_000_000_000;
        let stale = |next: Option<Timestamp>| {
            fresh_at.is_some_and(|now| next.is_none_or(|n| now > n.saturating_add_nanos(grace)))
        };

        // 1. CA certificates from chains, admitted when they chain to an anchor.
        let mut pending: Vec<(usize, Certificate)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            if let RevocationItem::Certificate(der) = item {
                if pending.len() == MAX_BUNDLE_CERTIFICATES {
                    return Err(RevocationSetError::Certificate {
                        index,
                        subject: "?".into(),
                        reason: format!(
                            "more than {MAX_BUNDLE_CERTIFICATES} certificates in one bundle"
                        ),
                    });
                }
                let cert =
                    Certificate::from_der(der).map_err(|e| RevocationSetError::Certificate {
                        index,
                        subject: "?".into(),
                        reason: e.to_string(),
                    })?;
                pending.push((index, cert));
            }
        }
        let mut admitted: Vec<Certificate> = Vec::new();
        loop {
            let before = pending.len();
            let mut still = Vec::new();
            for (index, cert) in pending {
                let issuer_ok = anchors
                    .iter()
                    .copied()
                    .chain(admitted.iter())
                    .any(|i| cert.is_issued_by(i).is_ok());
                if issuer_ok {
                    let is_ca = cert.is_ca();
                    if !is_ca {
                        return Err(RevocationSetError::Certificate {
                            index,
                            subject: cert.subject(),
                            reason: "is not a CA certificate".into(),
                        });
                    }
                    admitted.push(cert);
                } else {
                    still.push((index, cert));
                }
            }
            pending = still;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        if let Some((index, cert)) = pending.first() {
            return Err(RevocationSetError::Certificate {
                index: *index,
                subject: cert.subject(),
                reason: "does not chain to a certificate of the trust stores".into(),
            });
        }
        let issuers: Vec<&Certificate> = anchors.iter().copied().chain(admitted.iter()).collect();

        // 2. CRLs, each verified by an issuer with its name.
        let mut set = Self::empty(options);
        for (index, item) in items.iter().enumerate() {
            let RevocationItem::Crl(der) = item else {
                continue;
            };
            // The issuer names the CRL (compared before anything else is parsed or checked);
            // the error worth reporting is that of a certificate with that name, not the
            // name mismatch of whichever certificate happened to be tried last.
            let mut named = None;
            let mut failure = None;
            let mut verified = None;
            for issuer in &issuers {
                match Crl::parse_and_verify(der, issuer) {
                    Ok(crl) => {
                        verified = Some((crl, key_hash(issuer)));
                        break;
                    }
                    Err(CrlError::IssuerMismatch { crl_issuer, .. }) => named = Some(crl_issuer),
                    Err(e) => {
                        failure.get_or_insert_with(|| (issuer.subject(), e.to_string()));
                    }
                }
            }
            let Some((crl, issuer_key)) = verified else {
                let (issuer, reason) = match (failure, named) {
                    (Some((subject, e)), _) => (subject, e),
                    (None, Some(name)) => (
                        name,
                        "no trust-store or bundle certificate has this issuer name".into(),
                    ),
                    (None, None) => (
                        "?".into(),
                        "no trust-store or bundle certificate can verify it".into(),
                    ),
                };
                return Err(RevocationSetError::Crl {
                    index,
                    issuer,
                    reason,
                });
            };
            if stale(crl.next_update()) {
                return Err(RevocationSetError::Stale {
                    index,
                    what: "CRL".into(),
                    next_update: crl
                        .next_update()
                        .map_or_else(|| "(no nextUpdate)".into(), |t| t.to_string()),
                    grace_seconds: options.grace_seconds,
                });
            }
            if let Some(prev) = previous
                && !allow_rollback
                && let Some(old) =
                    prev.newest_crl(crl.issuer_der(), &issuer_key, crl.delta_base().is_some())
                && (cmp_opt_numbers(crl.number(), old.number()) == Ordering::Less
                    || crl.this_update() < old.this_update())
            {
                return Err(RevocationSetError::Rollback {
                    index,
                    what: format!(
                        "{} CRL",
                        if crl.delta_base().is_some() {
                            "delta"
                        } else {
                            "base"
                        }
                    ),
                    detail: format!(
                        "number {:?} thisUpdate {} vs installed number {:?} thisUpdate {}",
                        hex_opt(crl.number()),
                        crl.this_update(),
                        hex_opt(old.number()),
                        old.this_update()
                    ),
                });
            }
            let key = (crl.issuer_der().to_vec(), issuer_key);
            set.crls_by_issuer
                .entry(key)
                .or_default()
                .push(set.crls.len());
            set.crls.push(crl);
        }

        // 3. OCSP responses, each verified by an issuer (or its delegated responder).
        for (index, item) in items.iter().enumerate() {
            let RevocationItem::Ocsp(der) = item else {
                continue;
            };
            let mut last_error = None;
            let mut verified = None;
            for issuer in &issuers {
                match OcspResponse::parse_and_verify(der, issuer) {
                    Ok(r) => {
                        verified = Some((r, key_hash(issuer)));
                        break;
                    }
                    Err(e) => last_error = Some(e.to_string()),
                }
            }
            let Some((response, issuer_key)) = verified else {
                return Err(RevocationSetError::Ocsp {
                    index,
                    reason: last_error.unwrap_or_else(|| {
                        "no trust-store or bundle certificate can verify it".into()
                    }),
                });
            };
            let mut seen: Vec<&[u8]> = Vec::new();
            // A single response about another issuer's certificate is never matched, and within
            // one response the first answer for a certificate counts (as in notation).
            for single in response.responses().filter(|s| s.for_issuer) {
                if seen.contains(&single.serial.as_slice()) {
                    continue;
                }
                seen.push(&single.serial);
                if stale(single.status.next_update) {
                    return Err(RevocationSetError::Stale {
                        index,
                        what: format!(
                            "OCSP response for serial {}",
                            crate::descriptor::hex(&single.serial)
                        ),
                        next_update: single
                            .status
                            .next_update
                            .map_or_else(|| "(no nextUpdate)".into(), |t| t.to_string()),
                        grace_seconds: options.grace_seconds,
                    });
                }
                let key = (issuer_key, single.serial.clone());
                if let Some(prev) = previous
                    && !allow_rollback
                    && let Some(old) = prev.ocsp.get(&key)
                    && response.produced_at() < old.produced_at
                {
                    return Err(RevocationSetError::Rollback {
                        index,
                        what: format!(
                            "OCSP response for serial {}",
                            crate::descriptor::hex(&single.serial)
                        ),
                        detail: format!(
                            "producedAt {} vs installed {}",
                            response.produced_at(),
                            old.produced_at
                        ),
                    });
                }
                let answer = OcspAnswer {
                    status: single.status.clone(),
                    produced_at: response.produced_at(),
                };
                // Within one bundle, the newest answer for a certificate wins.
                match set.ocsp.get(&key) {
                    Some(existing) if existing.produced_at >= answer.produced_at => {}
                    _ => {
                        set.ocsp.insert(key, answer);
                    }
                }
            }
        }
        Ok(set)
    }

    /// Every CRL held, for reports.
    pub fn crl_summaries(&self) -> Vec<CrlSummary> {
        self.crls
            .iter()
            .map(|c| CrlSummary {
                issuer: render_name(c.issuer_der()),
                number: hex_opt(c.number()),
                delta_base: hex_opt(c.delta_base()),
                this_update: c.this_update(),
                next_update: c.next_update(),
                entries: c.entry_count(),
            })
            .collect()
    }

    /// Number of OCSP answers held.
    pub fn ocsp_count(&self) -> usize {
        self.ocsp.len()
    }

    fn newest_crl(&self, issuer_der: &[u8], key: &[u8; 32], delta: bool) -> Option<&Crl> {
        self.crls_by_issuer
            .get(&(issuer_der.to_vec(), *key))?
            .iter()
            .map(|&i| &self.crls[i])
            .filter(|c| c.is_delta() == delta)
            .max_by(|a, b| newer(a, b))
    }

    fn fresh(&self, next: Option<Timestamp>, now: Timestamp) -> bool {
        let grace = i128::from(self.options.grace_seconds) * 1_000_000_000;
        next.is_some_and(|n| now <= n.saturating_add_nanos(grace))
    }

    fn ocsp_status(&self, q: &RevocationQuery<'_>, issuer_key: &[u8; 32]) -> CertRevocationStatus {
        // notation asks only http:// responders; with none, OCSP cannot answer.
        if !q
            .certificate
            .extensions()
            .ocsp_urls
            .iter()
            .any(|u| u.starts_with("http://"))
        {
            return CertRevocationStatus::Unknown {
                reason: "its OCSP responders are not http:// (notation cannot use them either)"
                    .into(),
            };
        }
        let key = (*issuer_key, q.certificate.serial_number().to_vec());
        let Some(answer) = self.ocsp.get(&key) else {
            return CertRevocationStatus::Unknown {
                reason: "no OCSP response for it in the revocation set".into(),
            };
        };
        if !self.fresh(answer.status.next_update, q.now) {
            return CertRevocationStatus::Unknown {
                reason: format!(
                    "the OCSP response expired at {}",
                    answer
                        .status
                        .next_update
                        .map_or_else(|| "(no nextUpdate)".into(), |t| t.to_string())
                ),
            };
        }
        match &answer.status.status {
            OcspCertStatus::Good => CertRevocationStatus::Good,
            OcspCertStatus::Unknown => CertRevocationStatus::Unknown {
                reason: "the OCSP responder says unknown".into(),
            },
            OcspCertStatus::Revoked { time, reason } => {
                // signingAuthority: a compromise dated after the authentic signing time does not
                // touch this signature (§7).
                if let (Some(ast), Some(invalid)) =
                    (q.authentic_signing_time, answer.status.invalidity_date)
                    && ast < invalid
                {
                    return CertRevocationStatus::Good;
                }
                CertRevocationStatus::Revoked {
                    reason: *reason,
                    revocation_time: Some(*time),
                    invalidity_date: answer.status.invalidity_date,
                }
            }
        }
    }

    fn crl_status(&self, q: &RevocationQuery<'_>, issuer_key: &[u8; 32]) -> CertRevocationStatus {
        let cert = q.certificate;
        let unknown = |reason: String| CertRevocationStatus::Unknown { reason };
        // notation fetches every distribution point and fails on any it cannot use; it can
        // only use http:// ones.
        if let Some(url) = cert
            .extensions()
            .crl_urls
            .iter()
            .find(|u| !u.starts_with("http://"))
        {
            return unknown(format!(
                "CRL distribution point {url:?} is not http:// (notation cannot use it either)"
            ));
        }
        let Some(indices) = self
            .crls_by_issuer
            .get(&(cert.issuer_der().to_vec(), *issuer_key))
        else {
            return unknown(format!(
                "no CRL from its issuer {:?} in the revocation set",
                q.issuer.subject()
            ));
        };
        let covering = || {
            indices
                .iter()
                .map(|&i| &self.crls[i])
                .filter(move |c| c.covers(cert))
        };
        let Some(base) = covering()
            .filter(|c| !c.is_delta())
            .max_by(|a, b| newer(a, b))
        else {
            return unknown(format!(
                "no CRL in the revocation set covers it (issuer {:?})",
                q.issuer.subject()
            ));
        };
        if !self.fresh(base.next_update(), q.now) {
            return unknown(format!(
                "the CRL of {:?} expired at {}",
                q.issuer.subject(),
                show_next_update(base.next_update())
            ));
        }
        if cert.extensions().has_freshest_crl && base.freshest_crl_urls().is_empty() {
            return unknown("the certificate names a delta CRL but its base CRL does not (unsupported, as in notation)".into());
        }
        let delta = if base.freshest_crl_urls().is_empty() {
            None
        } else {
            let Some(base_number) = base.number() else {
                return unknown(
                    "the base CRL names a delta CRL but has no CRL number to match it with".into(),
                );
            };
            let found = covering()
                .filter(|d| {
                    d.delta_base()
                        .is_some_and(|b| cmp_crl_numbers(b, base_number) != Ordering::Greater)
                        && d.number()
                            .is_some_and(|n| cmp_crl_numbers(n, base_number) == Ordering::Greater)
                })
                .max_by(|a, b| newer(a, b));
            match found {
                Some(d) if self.fresh(d.next_update(), q.now) => Some(d),
                Some(d) => {
                    return unknown(format!(
                        "the delta CRL of {:?} expired at {}",
                        q.issuer.subject(),
                        show_next_update(d.next_update())
                    ));
                }
                None => {
                    return unknown(
                        "the base CRL names a delta CRL that is not in the revocation set".into(),
                    );
                }
            }
        };
        let serial = cert.serial_number();
        let entries: Vec<CrlEntry> = [Some(base), delta]
            .into_iter()
            .flatten()
            .flat_map(|c| c.lookup_all(serial))
            .collect();
        let status = judge_entries(&entries, q.authentic_signing_time);
        // A CRL partitioned by reason (onlySomeReasons) can show a revocation but not its
        // absence; notation ignores the partition, notaryd does not claim more than it knows.
        if status == CertRevocationStatus::Good
            && [Some(base), delta]
                .into_iter()
                .flatten()
                .any(|c| c.scope().only_some_reasons.is_some())
        {
            return unknown("its CRL covers only some revocation reasons".into());
        }
        status
    }
}

/// Orders CRLs of one issuer: higher CRL number, then later thisUpdate.
fn newer(a: &Crl, b: &Crl) -> Ordering {
    cmp_opt_numbers(a.number(), b.number()).then(a.this_update().cmp(&b.this_update()))
}

fn cmp_opt_numbers(a: Option<&[u8]>, b: Option<&[u8]>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => cmp_crl_numbers(a, b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

fn show_next_update(next: Option<Timestamp>) -> String {
    next.map_or_else(|| "(no nextUpdate)".into(), |t| t.to_string())
}

/// notation's entry rules across base and delta (§7), with every entry for the serial
/// considered: an entry whose invalidity date is after the authentic signing time is set
/// aside, but (unlike notation, which stops reading the CRL there) the other entries still
/// count.
fn judge_entries(
    entries: &[CrlEntry],
    authentic_signing_time: Option<Timestamp>,
) -> CertRevocationStatus {
    let mut latest_hold_or_remove: Option<&CrlEntry> = None;
    for e in entries {
        if e.is_unusable() {
            return CertRevocationStatus::Unknown {
                reason: "its CRL entry has an unsupported critical or malformed extension".into(),
            };
        }
        if let (Some(ast), Some(invalid)) = (authentic_signing_time, e.invalidity_date)
            && ast < invalid
        {
            continue;
        }
        match e.reason {
            Some(CrlReason::CertificateHold | CrlReason::RemoveFromCrl) => {
                if latest_hold_or_remove.is_none_or(|l| e.revocation_time > l.revocation_time) {
                    latest_hold_or_remove = Some(e);
                }
            }
            _ => {
                return CertRevocationStatus::Revoked {
                    reason: e.reason.map(CrlReason::code),
                    revocation_time: Some(e.revocation_time),
                    invalidity_date: e.invalidity_date,
                };
            }
        }
    }
    match latest_hold_or_remove {
        Some(e) if e.reason == Some(CrlReason::CertificateHold) => CertRevocationStatus::Revoked {
            reason: Some(CrlReason::CertificateHold.code()),
            revocation_time: Some(e.revocation_time),
            invalidity_date: e.invalidity_date,
        },
        _ => CertRevocationStatus::Good,
    }
}

fn render_name(der: &[u8]) -> String {
    use der::Decode;
    x509_cert::name::Name::from_der(der)
        .map(|n| crate::dn::render_go_style(&n))
        .unwrap_or_else(|_| "?".into())
}

impl RevocationSource for RevocationSet {
    fn status(&self, q: &RevocationQuery<'_>) -> CertRevocationStatus {
        let issuer_key = key_hash(q.issuer);
        let ext = q.certificate.extensions();
        if !ext.ocsp_urls.is_empty() {
            let ocsp = self.ocsp_status(q, &issuer_key);
            match ocsp {
                CertRevocationStatus::Unknown { .. } if !ext.crl_urls.is_empty() => {
                    // notation falls back to the CRL when OCSP cannot answer.
                }
                other => return other,
            }
        }
        self.crl_status(q, &issuer_key)
    }
}
