//! Certificate revocation lists (RFC 5280 §5), checked and indexed for NOTARY-VERIFY §7.
//!
//! [`Crl::parse_and_verify`] takes the DER of one CRL and the certificate that must have issued
//! it. It reads the CRL's outer structure, checks that the CRL names that issuer (byte for
//! byte), that the issuer may sign CRLs, and the signature over the **received**
//! `tbsCertList` bytes; only then does it read the CRL extensions and the entries. The entries
//! are read straight from the DER (no per-entry allocation) into a compact index:
//!
//! - every serial number is copied into one byte arena, in CRL order;
//! - every entry becomes a 16-byte record (revocation time as Unix seconds, the serial's
//!   offset and length in the arena, reason code, flags);
//! - the records are sorted by serial (length, then bytes, then arena offset, which keeps
//!   CRL order among duplicates), so a lookup is a binary search;
//! - the rare invalidity dates sit in a side table keyed by arena offset.
//!
//! The arena and the records are allocated once at their exact size (a first pass counts the
//! entries and serial bytes), so a 20 MB CRL of 500,000 entries costs about 17 MB of index
//! and nothing else once its DER is dropped (`benches/revocation.rs` measures it).
//!
//! Where this differs from notation (Go's `x509.ParseRevocationList` and
//! `RevocationList.CheckSignatureFrom`, then notation-core-go's `revocation/internal/crl`):
//! - the CRL's issuer name must equal the issuer certificate's subject byte for byte (Go
//!   checks only the signature);
//! - strict DER: trailing bytes after the CRL or inside `tbsCertList`, non-`Z` times and
//!   repeated CRL extensions are refused (Go ignores or accepts them);
//! - a critical reasonCode extension is understood (notation's entry check knows only
//!   invalidityDate, so it gives unknown for such an entry);
//! - an indirect CRL is refused when it is parsed, not when a serial is looked up, and an
//!   entry's certificateIssuer extension refuses the whole CRL;
//! - a repeated extension within an entry marks that entry (Go keeps the last value);
//! - serials over [`MAX_CRL_SERIAL_BYTES`] octets refuse the CRL (Go has no cap);
//! - the issuing distribution point is read and [`Crl::covers`] applies it (notation ignores
//!   it and checks every CRL a certificate names).
//!
//! What this module does not decide: freshness (`nextUpdate` against the verification time),
//! base/delta pairing, rollback and the hold/removeFromCRL rule across a base and its delta.
//! Those belong to the revocation set, which gets every fact it needs from [`Crl`] and
//! [`Crl::lookup_all`].

use std::cmp::Ordering;
use std::fmt;

use der::Decode;
use spki::AlgorithmIdentifierOwned;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use crate::crypto::{AlgorithmError, KeyError, X509Scheme};
use crate::der_time::{self, DerTimeError, Fraction};
use crate::dn::render_go_style;
use crate::limits::{
    MAX_CRL_BYTES, MAX_CRL_ENTRY_EXTENSIONS, MAX_CRL_EXTENSION_BYTES, MAX_CRL_EXTENSIONS,
    MAX_CRL_NUMBER_BYTES, MAX_CRL_SERIAL_BYTES, MAX_CRL_URIS,
};
use crate::oid;
use crate::time::Timestamp;
use crate::x509::Certificate;

/// Why bytes are not a CRL that `issuer` signed, or not one notaryd can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// Larger than [`MAX_CRL_BYTES`]; refused before parsing.
    #[error("CRL is {len} bytes, more than the limit of {MAX_CRL_BYTES}")]
    TooLarge {
        /// Size in bytes.
        len: usize,
    },
    /// The DER structure around the entries is broken (or there are trailing bytes).
    #[error("CRL does not parse: {field}: {reason}")]
    Malformed {
        /// The ASN.1 field where reading failed.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a version 2 CRL. Go's `x509.ParseRevocationList`, and so notation, accepts only
    /// v2 (RFC 5280 §5.1.2.1 requires v2 whenever extensions are present).
    #[error("CRL version is {found}, only v2 CRLs are accepted")]
    UnsupportedVersion {
        /// The version found ("absent (v1)" or the INTEGER's value).
        found: String,
    },
    /// The outer `signatureAlgorithm` differs from the `signature` field inside
    /// `tbsCertList` (RFC 5280 §5.1.1.2; Go refuses it too). The outer copy is not signed.
    #[error("CRL: inner and outer signature algorithm identifiers differ")]
    SignatureAlgorithmMismatch,
    /// The signature algorithm is refused (SHA-1) or unknown.
    #[error("CRL signature algorithm: {0}")]
    SignatureAlgorithm(AlgorithmError),
    /// The CRL's issuer name is not, byte for byte, the subject of the certificate it was
    /// checked against.
    #[error("CRL issuer {crl_issuer:?} is not the certificate {issuer:?}")]
    IssuerMismatch {
        /// The issuer the CRL names, rendered as Go prints names.
        crl_issuer: String,
        /// The subject of the certificate given as the issuer.
        issuer: String,
    },
    /// The issuer certificate may not sign CRLs: it is not a CA (basicConstraints missing on
    /// a v3 certificate, or cA false), or its keyUsage lacks cRLSign. Go's
    /// `RevocationList.CheckSignatureFrom` (used by notation) applies the same two rules.
    #[error("certificate {issuer:?} may not sign CRLs: {reason}")]
    IssuerNotCrlSigner {
        /// Subject of the issuer certificate.
        issuer: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The issuer's public key cannot be used.
    #[error("CRL issuer {issuer:?} key: {error}")]
    IssuerKey {
        /// Subject of the issuer certificate.
        issuer: String,
        /// Why the key is unusable.
        error: KeyError,
    },
    /// The signature over `tbsCertList` does not verify with the issuer's key.
    #[error("CRL signature does not verify with the key of {issuer:?}")]
    BadSignature {
        /// Subject of the issuer certificate.
        issuer: String,
    },
    /// A CRL extension is present twice (RFC 5280 §4.2 / §5.2 allow each once).
    #[error("CRL repeats extension {oid}")]
    DuplicateExtension {
        /// The repeated extension's OID.
        oid: String,
    },
    /// A critical CRL extension that notaryd does not understand (RFC 5280 §5.2: the CRL
    /// must then not be used; notation refuses it too).
    #[error("CRL has an unsupported critical extension {oid}")]
    UnknownCriticalExtension {
        /// The extension's OID.
        oid: String,
    },
    /// A recognised CRL extension does not decode.
    #[error("CRL has a malformed {extension} extension: {reason}")]
    MalformedExtension {
        /// Which extension.
        extension: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The issuing distribution point marks the CRL indirect. notation does not support
    /// indirect CRLs (NOTARY-VERIFY §7), and neither does notaryd.
    #[error("CRL is an indirect CRL, which is not supported")]
    IndirectCrl,
    /// An entry does not parse.
    #[error("CRL entry #{index} does not parse: {field}: {reason}")]
    MalformedEntry {
        /// Position of the entry in `revokedCertificates`, from 0.
        index: usize,
        /// The field where reading failed.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry's serial number is longer than [`MAX_CRL_SERIAL_BYTES`].
    #[error(
        "CRL entry #{index} has a {len}-octet serial number, more than the limit of {MAX_CRL_SERIAL_BYTES}"
    )]
    SerialTooLong {
        /// Position of the entry, from 0.
        index: usize,
        /// Length of the serial's contents octets.
        len: usize,
    },
    /// An entry carries a certificateIssuer extension, which only indirect CRLs may carry.
    #[error("CRL entry #{index} names a certificate issuer (indirect CRL), which is not supported")]
    IndirectEntry {
        /// Position of the entry, from 0.
        index: usize,
    },
    /// An entry carries more than [`MAX_CRL_ENTRY_EXTENSIONS`] extensions.
    #[error("CRL entry #{index} has more than {MAX_CRL_ENTRY_EXTENSIONS} extensions")]
    TooManyEntryExtensions {
        /// Position of the entry, from 0.
        index: usize,
    },
}

/// CRLReason (RFC 5280 §5.3.1), the value of an entry's reasonCode extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CrlReason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): revoked until a later entry says removeFromCRL.
    CertificateHold,
    /// removeFromCRL (8): a hold is lifted (delta CRLs).
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
    /// A code RFC 5280 does not define (7, or above 10). Go keeps such codes and notation
    /// treats them like any reason other than hold/removeFromCRL: revoked.
    Unrecognized(u8),
}

impl CrlReason {
    /// Maps a reasonCode value.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            other => Self::Unrecognized(other),
        }
    }

    /// The reasonCode value.
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::RemoveFromCrl => 8,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
            Self::Unrecognized(code) => code,
        }
    }
}

/// One entry of a CRL, as [`Crl::lookup`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// `revocationDate`.
    pub revocation_time: Timestamp,
    /// The reasonCode extension, when present.
    pub reason: Option<CrlReason>,
    /// The invalidityDate extension, when present and well formed.
    pub invalidity_date: Option<Timestamp>,
    /// The entry carries a critical extension notaryd does not understand. notation fails the
    /// check of this serial (unknown status) but still uses the rest of the CRL.
    pub unsupported_critical_extension: bool,
    /// An extension notation reads only when the serial is looked up is unusable: an
    /// invalidityDate that does not decode, or an extension repeated within the entry.
    /// notation gives unknown for this serial only; the set should do the same.
    pub malformed_extension: bool,
}

impl CrlEntry {
    /// Whether the entry cannot be judged (either flag set): the status is unknown.
    pub fn is_unusable(&self) -> bool {
        self.unsupported_critical_extension || self.malformed_extension
    }
}

/// ReasonFlags (RFC 5280 §4.2.1.13) of an issuing distribution point's `onlySomeReasons`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReasonFlags(u16);

impl ReasonFlags {
    /// Bit `n` of the BIT STRING (0 = unused, 1 = keyCompromise, …, 8 = aACompromise).
    pub fn bit(self, n: u8) -> bool {
        n < 16 && self.0 & (1 << n) != 0
    }

    /// Whether the CRL lists revocations for `reason`. certificateHold/removeFromCRL follow
    /// the certificateHold bit; unrecognised codes are never covered.
    pub fn contains(self, reason: CrlReason) -> bool {
        let bit = match reason {
            CrlReason::Unspecified | CrlReason::Unrecognized(_) => return false,
            CrlReason::KeyCompromise => 1,
            CrlReason::CaCompromise => 2,
            CrlReason::AffiliationChanged => 3,
            CrlReason::Superseded => 4,
            CrlReason::CessationOfOperation => 5,
            CrlReason::CertificateHold | CrlReason::RemoveFromCrl => 6,
            CrlReason::PrivilegeWithdrawn => 7,
            CrlReason::AaCompromise => 8,
        };
        self.bit(bit)
    }
}

/// The scope a CRL declares in its issuingDistributionPoint extension (RFC 5280 §5.2.5).
/// A CRL without that extension has the default scope: every certificate of its issuer, for
/// every reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrlScope {
    /// `distributionPoint` is present. The CRL then covers only certificates whose CRL
    /// distribution points name it.
    pub has_distribution_point: bool,
    /// The URIs of `distributionPoint` (`fullName` URIs; other name forms are not kept, and a
    /// distribution point given only in other forms matches no certificate).
    pub distribution_point_uris: Vec<String>,
    /// onlyContainsUserCerts: end-entity certificates only.
    pub only_user_certs: bool,
    /// onlyContainsCACerts: CA certificates only.
    pub only_ca_certs: bool,
    /// onlyContainsAttributeCerts: attribute certificates only, so no public-key certificate.
    pub only_attribute_certs: bool,
    /// onlySomeReasons: the CRL lists revocations for these reasons only, so it can show a
    /// certificate revoked but cannot show it good on its own.
    pub only_some_reasons: Option<ReasonFlags>,
}

/// A CRL whose signature has been verified against its issuer, indexed for lookups.
#[derive(Clone)]
pub struct Crl {
    issuer_der: Vec<u8>,
    number: Option<Vec<u8>>,
    delta_base: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    this_update: Timestamp,
    next_update: Option<Timestamp>,
    freshest_crl_urls: Vec<String>,
    scope: CrlScope,
    sha256: [u8; 32],
    index: Index,
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &name_for_message(&self.issuer_der))
            .field("number", &self.number.as_deref().map(hex))
            .field("delta_base", &self.delta_base.as_deref().map(hex))
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("entries", &self.index.records.len())
            .finish_non_exhaustive()
    }
}

impl Crl {
    /// Parses `der` (at most [`MAX_CRL_BYTES`], checked first), checks that it names
    /// `issuer` and that its signature verifies with `issuer`'s key over the received
    /// `tbsCertList` bytes, and only then reads its extensions and indexes its entries.
    ///
    /// Refused: anything but DER (trailing bytes included), v1 CRLs, differing inner and
    /// outer signature algorithms, an issuer that may not sign CRLs, unknown critical CRL
    /// extensions, indirect CRLs (issuingDistributionPoint `indirectCRL`, or an entry with
    /// certificateIssuer), repeated CRL extensions, malformed reasonCode, CRL number or
    /// delta indicator, and serials over [`MAX_CRL_SERIAL_BYTES`].
    ///
    /// Accepted and reported: a missing `nextUpdate` ([`Crl::next_update`] is `None`); entries
    /// with an unknown critical extension or a malformed invalidityDate (flagged on the
    /// [`CrlEntry`], as notation fails only the serial it looks up).
    pub fn parse_and_verify(der: &[u8], issuer: &Certificate) -> Result<Crl, CrlError> {
        if der.len() > MAX_CRL_BYTES {
            return Err(CrlError::TooLarge { len: der.len() });
        }
        let shell = Shell::parse(der)?;
        if shell.issuer != issuer.subject_der() {
            return Err(CrlError::IssuerMismatch {
                crl_issuer: name_for_message(shell.issuer),
                issuer: issuer.subject(),
            });
        }
        check_crl_signer(issuer)?;
        check_signature(&shell, issuer)?;
        Self::index(der, &shell)
    }

    /// Parses `der` with every structural rule and cap of [`Crl::parse_and_verify`] but
    /// without checking who signed it: for inspecting a bundle and for finding delta-CRL
    /// locations while collecting one. Nothing read this way may be trusted.
    pub fn parse_unverified(der: &[u8]) -> Result<Crl, CrlError> {
        if der.len() > MAX_CRL_BYTES {
            return Err(CrlError::TooLarge { len: der.len() });
        }
        let shell = Shell::parse(der)?;
        Self::index(der, &shell)
    }

    fn index(der: &[u8], shell: &Shell<'_>) -> Result<Crl, CrlError> {
        let extensions = match shell.extensions {
            Some(exts) => Extensions::parse(exts)?,
            None => Extensions::default(),
        };
        let index = match shell.revoked {
            Some(list) => Index::build(list)?,
            None => Index::default(),
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        Ok(Crl {
            issuer_der: shell.issuer.to_vec(),
            number: extensions.number,
            delta_base: extensions.delta_base,
            authority_key_id: extensions.authority_key_id,
            this_update: Timestamp::from_unix_seconds(shell.this_update),
            next_update: shell.next_update.map(Timestamp::from_unix_seconds),
            freshest_crl_urls: extensions.freshest_crl_urls,
            scope: extensions.scope,
            sha256,
            index,
        })
    }

    /// The issuer name as the CRL encodes it (equal to its issuer's subject bytes).
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The issuer as Go prints names, for messages and reports.
    pub fn issuer(&self) -> String {
        name_for_message(&self.issuer_der)
    }

    /// The cRLNumber extension: a minimal big-endian unsigned integer (zero is `[0]`).
    /// Compare two with [`cmp_crl_numbers`].
    pub fn number(&self) -> Option<&[u8]> {
        self.number.as_deref()
    }

    /// For a delta CRL, the deltaCRLIndicator's base CRL number (same form as
    /// [`Crl::number`]); `None` for a complete CRL.
    pub fn delta_base(&self) -> Option<&[u8]> {
        self.delta_base.as_deref()
    }

    /// Whether this is a delta CRL.
    pub fn is_delta(&self) -> bool {
        self.delta_base.is_some()
    }

    /// The keyIdentifier of the authorityKeyIdentifier extension, when present: tells apart
    /// the CRLs of two CA keys with the same name.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// `thisUpdate`.
    pub fn this_update(&self) -> Timestamp {
        self.this_update
    }

    /// `nextUpdate`; `None` when the CRL has none, which notation treats as expired.
    pub fn next_update(&self) -> Option<Timestamp> {
        self.next_update
    }

    /// Number of entries, duplicates included.
    pub fn entry_count(&self) -> usize {
        self.index.records.len()
    }

    /// URIs of the freshestCRL extension (where delta CRLs are published), in order; empty
    /// when the CRL has none. Non-URI names are not kept.
    pub fn freshest_crl_urls(&self) -> &[String] {
        &self.freshest_crl_urls
    }

    /// The scope from the issuingDistributionPoint extension.
    pub fn scope(&self) -> &CrlScope {
        &self.scope
    }

    /// SHA-256 of the DER, for bundle bookkeeping.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// Heap bytes held by the index and the parsed fields (not counting `self`).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self
            .freshest_crl_urls
            .iter()
            .chain(&self.scope.distribution_point_uris)
            .map(|s| s.capacity() + size_of::<String>())
            .sum();
        self.issuer_der.capacity()
            + self.number.as_ref().map_or(0, Vec::capacity)
            + self.delta_base.as_ref().map_or(0, Vec::capacity)
            + self.authority_key_id.as_ref().map_or(0, Vec::capacity)
            + strings
            + self.index.heap_bytes()
    }

    /// Whether this CRL's scope covers `cert`: `cert` names this CRL's issuer, and the
    /// issuing distribution point (if any) does not exclude it — its distribution point, when
    /// present, must share a URI with `cert`'s CRL distribution points (exact string match);
    /// onlyContainsUserCerts excludes CA certificates, onlyContainsCACerts excludes the others
    /// (a CA is a certificate with basicConstraints cA=TRUE), and onlyContainsAttributeCerts
    /// excludes every public-key certificate.
    ///
    /// `onlySomeReasons` does not narrow the answer: such a CRL covers the certificate for the
    /// reasons in [`CrlScope::only_some_reasons`] only, which the caller must weigh before
    /// calling a certificate good.
    pub fn covers(&self, cert: &Certificate) -> bool {
        if cert.issuer_der() != self.issuer_der.as_slice() {
            return false;
        }
        let scope = &self.scope;
        if scope.only_attribute_certs {
            return false;
        }
        let ext = cert.extensions();
        let is_ca = cert.is_ca();
        if (scope.only_user_certs && is_ca) || (scope.only_ca_certs && !is_ca) {
            return false;
        }
        if scope.has_distribution_point {
            return scope
                .distribution_point_uris
                .iter()
                .any(|uri| ext.crl_urls.iter().any(|u| u == uri));
        }
        true
    }

    /// The entry for `serial`, found by binary search. `serial` is the contents octets of the
    /// serial's DER INTEGER — two's complement big-endian, with the 0x00 sign octet a positive
    /// serial needs when its top bit is set — exactly what [`Certificate::serial_number`]
    /// returns; a redundant leading 0x00 (or 0xff) octet is ignored.
    ///
    /// When the CRL lists the serial more than once, this is the entry with the latest
    /// revocationDate (the first in CRL order among equals). The hold/removeFromCRL rule
    /// needs every entry: see [`Crl::lookup_all`].
    pub fn lookup(&self, serial: &[u8]) -> Option<CrlEntry> {
        let mut best: Option<CrlEntry> = None;
        for entry in self.lookup_all(serial) {
            if best.is_none_or(|b| b.revocation_time < entry.revocation_time) {
                best = Some(entry);
            }
        }
        best
    }

    /// Every entry for `serial` (same form as for [`Crl::lookup`]), in CRL order. Usually
    /// none or one.
    pub fn lookup_all<'a>(&'a self, serial: &'a [u8]) -> impl Iterator<Item = CrlEntry> + 'a {
        let key = canonical_integer(serial);
        let records = &self.index.records;
        let start = records.partition_point(|r| self.index.cmp_key(r, key) == Ordering::Less);
        records[start..]
            .iter()
            .take_while(move |r| self.index.cmp_key(r, key) == Ordering::Equal)
            .map(|r| self.index.entry(r))
    }
}

/// Compares two CRL numbers as [`Crl::number`] and [`Crl::delta_base`] return them.
pub fn cmp_crl_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

/// Strips redundant sign octets so that a serial given with one more leading 0x00 (or 0xff)
/// than DER allows still finds its entry.
fn canonical_integer(mut v: &[u8]) -> &[u8] {
    while let [first, second, ..] = v {
        let redundant =
            (*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        v = &v[1..];
    }
    v
}

// ---------------------------------------------------------------------------------------------
// DER reading

/// Identifier octets used here.
mod tag {
    pub(super) const BOOLEAN: u8 = 0x01;
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const OID: u8 = 0x06;
    pub(super) const ENUMERATED: u8 = 0x0a;
    pub(super) const UTC_TIME: u8 = 0x17;
    pub(super) const GENERALIZED_TIME: u8 = 0x18;
    pub(super) const SEQUENCE: u8 = 0x30;
    /// `[0]` constructed.
    pub(super) const CTX0: u8 = 0xa0;
}

/// One DER element.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    raw: &'a [u8],
}

/// A strict DER reader over the members of a constructed value: single-octet identifiers,
/// definite minimal lengths of at most four octets.
#[derive(Clone, Copy)]
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    #[inline]
    fn next(&mut self) -> Result<Tlv<'a>, &'static str> {
        let input = self.rest;
        let (&tag, after) = input.split_first().ok_or("truncated: element expected")?;
        if tag & 0x1f == 0x1f {
            return Err("high-tag-number identifier");
        }
        let (&first, mut after) = after.split_first().ok_or("truncated length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err("indefinite length (BER, not DER)");
            }
            if n > 4 {
                return Err("length field too long");
            }
            let bytes = after.get(..n).ok_or("truncated length")?;
            after = &after[n..];
            if bytes[0] == 0 {
                return Err("length not minimally encoded");
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err("length not minimally encoded");
            }
            len
        };
        let value = after.get(..len).ok_or("length runs past the end")?;
        let header = input.len() - after.len();
        let raw = &input[..header + len];
        self.rest = &after[len..];
        Ok(Tlv { tag, value, raw })
    }

    fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, &'static str> {
        let tlv = self.next()?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err("unexpected element type")
        }
    }

    fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, &'static str> {
        if self.peek_tag() == Some(tag) {
            self.next().map(Some)
        } else {
            Ok(None)
        }
    }

    fn finish(&self) -> Result<(), &'static str> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("unexpected trailing data")
        }
    }
}

/// Reads a value that must be exactly one element of type `tag`.
fn single(bytes: &[u8], tag: u8) -> Result<Tlv<'_>, &'static str> {
    let mut r = Reader::new(bytes);
    let tlv = r.expect(tag)?;
    r.finish()?;
    Ok(tlv)
}

/// Checks an INTEGER's contents octets for DER (non-empty, minimal).
fn check_integer(v: &[u8]) -> Result<(), &'static str> {
    match v {
        [] => Err("empty INTEGER"),
        [0x00, b, ..] if *b < 0x80 => Err("INTEGER not minimally encoded"),
        [0xff, b, ..] if *b >= 0x80 => Err("INTEGER not minimally encoded"),
        _ => Ok(()),
    }
}

/// Reads a non-negative INTEGER (CRL number) into minimal unsigned big-endian bytes.
fn unsigned_integer(value: &[u8]) -> Result<Vec<u8>, &'static str> {
    let tlv = single(value, tag::INTEGER)?;
    check_integer(tlv.value)?;
    if tlv.value.len() > MAX_CRL_NUMBER_BYTES {
        return Err("longer than the limit");
    }
    if tlv.value[0] & 0x80 != 0 {
        return Err("negative");
    }
    let v = match tlv.value {
        [0, rest @ ..] if !rest.is_empty() => rest,
        v => v,
    };
    Ok(v.to_vec())
}

/// Reads a DER BOOLEAN's contents octets.
fn boolean(v: &[u8]) -> Result<bool, &'static str> {
    match v {
        [0x00] => Ok(false),
        [0xff] => Ok(true),
        _ => Err("BOOLEAN is not 0x00 or 0xff"),
    }
}

/// Reads a CRL time (RFC 5280 §5.1.2.4): UTCTime `YYMMDDhhmmssZ` (years 1950–2049) or
/// GeneralizedTime `YYYYMMDDhhmmssZ`, without fractions (as Go's cryptobyte reads them), to
/// Unix seconds. Only `Z` is accepted (DER). [`der_time`] decodes; the reasons are the ones
/// CRL errors have always carried.
fn parse_time(tag: u8, v: &[u8]) -> Result<i64, &'static str> {
    let at = match tag {
        tag::UTC_TIME => der_time::utc_time(v),
        tag::GENERALIZED_TIME => der_time::generalized_time(v, Fraction::Refused),
        _ => return Err("not a UTCTime or GeneralizedTime"),
    };
    at.map(Timestamp::unix_seconds).map_err(|e| match e {
        DerTimeError::UtcTimeLength => "UTCTime is not YYMMDDhhmmssZ",
        DerTimeError::GeneralizedTimeLength => "GeneralizedTime is not YYYYMMDDhhmmssZ",
        DerTimeError::NonDigit | DerTimeError::TooShort => "non-digit in a time",
        // Without fractions a `.` is only a wrong zone octet, so the fraction faults do not
        // arise here; they are grouped with the zone for completeness.
        DerTimeError::NotUtc
        | DerTimeError::EmptyFraction
        | DerTimeError::FractionTooLong
        | DerTimeError::FractionTrailingZero => "time does not end in Z",
        DerTimeError::Month => "month out of range",
        DerTimeError::Day | DerTimeError::TimeOfDay => "time field out of range",
    })
}

/// One extension: (OID contents octets, critical, extnValue contents).
fn extension<'a>(tlv: &Tlv<'a>) -> Result<(&'a [u8], bool, &'a [u8]), &'static str> {
    if tlv.tag != tag::SEQUENCE {
        return Err("extension is not a SEQUENCE");
    }
    let mut r = Reader::new(tlv.value);
    let id = r.expect(tag::OID)?;
    // DER omits a FALSE critical flag; Go (and so notation) also accepts it written out.
    let critical = match r.optional(tag::BOOLEAN)? {
        Some(b) => boolean(b.value)?,
        None => false,
    };
    let value = r.expect(tag::OCTET_STRING)?;
    r.finish()?;
    if id.value.is_empty() {
        return Err("empty OBJECT IDENTIFIER");
    }
    Ok((id.value, critical, value.value))
}

fn oid_name(raw: &[u8]) -> String {
    match der::asn1::ObjectIdentifier::from_bytes(raw) {
        Ok(o) => o.to_string(),
        Err(_) => format!("(malformed OID {})", hex(raw)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn name_for_message(der: &[u8]) -> String {
    match x509_cert::name::Name::from_der(der) {
        Ok(name) => render_go_style(&name),
        Err(_) => format!("(undecodable name {})", hex(der)),
    }
}

// ---------------------------------------------------------------------------------------------
// The structure around the entries

/// The parts of a CertificateList read before the signature is checked.
struct Shell<'a> {
    tbs: &'a [u8],
    algorithm: &'a [u8],
    signature: &'a [u8],
    issuer: &'a [u8],
    this_update: i64,
    next_update: Option<i64>,
    /// Contents of `revokedCertificates`.
    revoked: Option<&'a [u8]>,
    /// Contents of the `Extensions` SEQUENCE inside `[0]`.
    extensions: Option<&'a [u8]>,
}

impl<'a> Shell<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, CrlError> {
        let malformed = |field| move |reason| CrlError::Malformed { field, reason };
        let mut top = Reader::new(der);
        let list = top
            .expect(tag::SEQUENCE)
            .map_err(malformed("CertificateList"))?;
        top.finish().map_err(malformed("after CertificateList"))?;
        let mut outer = Reader::new(list.value);
        let tbs = outer
            .expect(tag::SEQUENCE)
            .map_err(malformed("tbsCertList"))?;
        let algorithm = outer
            .expect(tag::SEQUENCE)
            .map_err(malformed("signatureAlgorithm"))?;
        let signature = outer
            .expect(tag::BIT_STRING)
            .map_err(malformed("signatureValue"))?;
        outer
            .finish()
            .map_err(malformed("CertificateList after signatureValue"))?;

        let mut t = Reader::new(tbs.value);
        match t.optional(tag::INTEGER).map_err(malformed("version"))? {
            Some(v) if v.value == [0x01] => {}
            Some(v) => {
                return Err(CrlError::UnsupportedVersion {
                    found: format!("INTEGER 0x{}", hex(v.value)),
                });
            }
            None => {
                return Err(CrlError::UnsupportedVersion {
                    found: "absent (v1)".into(),
                });
            }
        }
        let inner_algorithm = t.expect(tag::SEQUENCE).map_err(malformed("signature"))?;
        if inner_algorithm.raw != algorithm.raw {
            return Err(CrlError::SignatureAlgorithmMismatch);
        }
        let issuer = t.expect(tag::SEQUENCE).map_err(malformed("issuer"))?;
        let this = t.next().map_err(malformed("thisUpdate"))?;
        let this_update = parse_time(this.tag, this.value).map_err(malformed("thisUpdate"))?;
        let next_update = match t.peek_tag() {
            Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => {
                let next = t.next().map_err(malformed("nextUpdate"))?;
                Some(parse_time(next.tag, next.value).map_err(malformed("nextUpdate"))?)
            }
            _ => None,
        };
        let revoked = t
            .optional(tag::SEQUENCE)
            .map_err(malformed("revokedCertificates"))?
            .map(|r| r.value);
        let extensions = match t.optional(tag::CTX0).map_err(malformed("crlExtensions"))? {
            Some(wrapper) => Some(
                single(wrapper.value, tag::SEQUENCE)
                    .map_err(malformed("crlExtensions"))?
                    .value,
            ),
            None => None,
        };
        t.finish().map_err(malformed("tbsCertList"))?;
        Ok(Self {
            tbs: tbs.raw,
            algorithm: algorithm.raw,
            signature: signature.value,
            issuer: issuer.raw,
            this_update,
            next_update,
            revoked,
            extensions,
        })
    }
}

/// Go's `RevocationList.CheckSignatureFrom` rules for the issuer: a v3 certificate must
/// carry basicConstraints with cA=TRUE (v1/v2 certificates without it pass), and a keyUsage
/// with any bit set must include cRLSign.
fn check_crl_signer(issuer: &Certificate) -> Result<(), CrlError> {
    let refuse = |reason| CrlError::IssuerNotCrlSigner {
        issuer: issuer.subject(),
        reason,
    };
    let ext = issuer.extensions();
    match &ext.basic_constraints {
        Some((bc, _)) if !bc.ca => return Err(refuse("basicConstraints cA is false")),
        None if issuer.inner().tbs_certificate().version() == Version::V3 => {
            return Err(refuse("v3 certificate without basicConstraints"));
        }
        _ => {}
    }
    if let Some((ku, _)) = &ext.key_usage
        && !ku.0.is_empty()
        && !ku.crl_sign()
    {
        return Err(refuse("keyUsage lacks cRLSign"));
    }
    Ok(())
}

fn check_signature(shell: &Shell<'_>, issuer: &Certificate) -> Result<(), CrlError> {
    let algorithm =
        AlgorithmIdentifierOwned::from_der(shell.algorithm).map_err(|_| CrlError::Malformed {
            field: "signatureAlgorithm",
            reason: "not an AlgorithmIdentifier",
        })?;
    let scheme =
        X509Scheme::from_algorithm_identifier(&algorithm).map_err(CrlError::SignatureAlgorithm)?;
    let key = issuer.public_key().map_err(|e| CrlError::IssuerKey {
        issuer: issuer.subject(),
        error: e.clone(),
    })?;
    let signature = match shell.signature {
        [0, sig @ ..] => sig,
        _ => {
            return Err(CrlError::Malformed {
                field: "signatureValue",
                reason: "BIT STRING with unused bits",
            });
        }
    };
    if key.verify_x509(scheme, shell.tbs, signature) {
        Ok(())
    } else {
        Err(CrlError::BadSignature {
            issuer: issuer.subject(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// CRL extensions

#[derive(Default)]
struct Extensions {
    number: Option<Vec<u8>>,
    delta_base: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    freshest_crl_urls: Vec<String>,
    scope: CrlScope,
}

impl Extensions {
    fn parse(contents: &[u8]) -> Result<Self, CrlError> {
        let malformed = |reason| CrlError::Malformed {
            field: "crlExtensions",
            reason,
        };
        let mut out = Self::default();
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut uris = 0usize;
        let mut r = Reader::new(contents);
        while !r.is_empty() {
            if seen.len() == MAX_CRL_EXTENSIONS {
                return Err(malformed("more extensions than the limit"));
            }
            let tlv = r.next().map_err(malformed)?;
            let (id, critical, value) = extension(&tlv).map_err(malformed)?;
            if seen.contains(&id) {
                return Err(CrlError::DuplicateExtension { oid: oid_name(id) });
            }
            seen.push(id);
            let bad = |extension| move |reason| CrlError::MalformedExtension { extension, reason };
            // The extensions decoded into allocating structures are size-capped first.
            let capped = |extension| {
                if value.len() > MAX_CRL_EXTENSION_BYTES {
                    Err(CrlError::MalformedExtension {
                        extension,
                        reason: "value larger than the limit",
                    })
                } else {
                    Ok(value)
                }
            };
            if id == oid::CRL_NUMBER.as_bytes() {
                out.number = Some(unsigned_integer(value).map_err(bad("cRLNumber"))?);
            } else if id == oid::DELTA_CRL_INDICATOR.as_bytes() {
                out.delta_base = Some(unsigned_integer(value).map_err(bad("deltaCRLIndicator"))?);
            } else if id == oid::AUTHORITY_KEY_IDENTIFIER.as_bytes() {
                let name = "authorityKeyIdentifier";
                out.authority_key_id = authority_key_id(capped(name)?).map_err(bad(name))?;
            } else if id == oid::ISSUING_DISTRIBUTION_POINT.as_bytes() {
                out.scope = issuing_distribution_point(capped("issuingDistributionPoint")?)?;
                uris += out.scope.distribution_point_uris.len();
            } else if id == oid::FRESHEST_CRL.as_bytes() {
                let name = "freshestCRL";
                out.freshest_crl_urls = freshest_crl(capped(name)?).map_err(bad(name))?;
                uris += out.freshest_crl_urls.len();
            } else if critical {
                return Err(CrlError::UnknownCriticalExtension { oid: oid_name(id) });
            }
            if uris > MAX_CRL_URIS {
                return Err(CrlError::MalformedExtension {
                    extension: "issuingDistributionPoint/freshestCRL",
                    reason: "more URIs than the limit",
                });
            }
        }
        Ok(out)
    }
}

/// `AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL,
/// authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] INTEGER
/// OPTIONAL }`; only the key identifier is kept.
fn authority_key_id(value: &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
    let seq = single(value, tag::SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let key_id = r.optional(0x80)?.map(|k| k.value.to_vec());
    r.optional(0xa1)?;
    if let Some(serial) = r.optional(0x82)? {
        check_integer(serial.value)?;
    }
    r.finish()?;
    Ok(key_id)
}

/// IssuingDistributionPoint (RFC 5280 §5.2.5); the module uses IMPLICIT tags, so the
/// distributionPoint CHOICE sits inside an explicit `[0]`.
fn issuing_distribution_point(value: &[u8]) -> Result<CrlScope, CrlError> {
    let bad = |reason| CrlError::MalformedExtension {
        extension: "issuingDistributionPoint",
        reason,
    };
    let seq = single(value, tag::SEQUENCE).map_err(bad)?;
    let mut r = Reader::new(seq.value);
    let mut scope = CrlScope::default();
    if let Some(dp) = r.optional(0xa0).map_err(bad)? {
        scope.has_distribution_point = true;
        let name = DistributionPointName::from_der(dp.value)
            .map_err(|_| bad("distributionPoint does not decode"))?;
        if let DistributionPointName::FullName(names) = name {
            scope.distribution_point_uris = uris(&names);
        }
    }
    let flag = |r: &mut Reader<'_>, tag: u8| -> Result<bool, CrlError> {
        match r.optional(tag).map_err(bad)? {
            Some(b) => boolean(b.value).map_err(bad),
            None => Ok(false),
        }
    };
    scope.only_user_certs = flag(&mut r, 0x81)?;
    scope.only_ca_certs = flag(&mut r, 0x82)?;
    if let Some(bits) = r.optional(0x83).map_err(bad)? {
        scope.only_some_reasons = Some(reason_flags(bits.value).map_err(bad)?);
    }
    if flag(&mut r, 0x84)? {
        return Err(CrlError::IndirectCrl);
    }
    scope.only_attribute_certs = flag(&mut r, 0x85)?;
    r.finish().map_err(bad)?;
    let only = [
        scope.only_user_certs,
        scope.only_ca_certs,
        scope.only_attribute_certs,
    ];
    if only.iter().filter(|b| **b).count() > 1 {
        return Err(bad("more than one of onlyContainsUser/CA/AttributeCerts"));
    }
    Ok(scope)
}

/// A ReasonFlags BIT STRING's contents octets.
fn reason_flags(v: &[u8]) -> Result<ReasonFlags, &'static str> {
    let (&unused, bytes) = v.split_first().ok_or("empty BIT STRING")?;
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err("malformed BIT STRING");
    }
    let mut flags = 0u16;
    for (i, byte) in bytes.iter().take(2).enumerate() {
        for j in 0..8 {
            if byte & (0x80 >> j) != 0 {
                flags |= 1 << (i * 8 + j);
            }
        }
    }
    Ok(ReasonFlags(flags))
}

fn freshest_crl(value: &[u8]) -> Result<Vec<String>, &'static str> {
    let dps = CrlDistributionPoints::from_der(value).map_err(|_| "does not decode")?;
    Ok(dps
        .0
        .iter()
        .flat_map(|dp| match &dp.distribution_point {
            Some(DistributionPointName::FullName(names)) => uris(names),
            _ => Vec::new(),
        })
        .collect())
}

fn uris(names: &[GeneralName]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The entry index

/// One entry in 16 bytes.
#[derive(Clone, Copy)]
struct Record {
    /// revocationDate, Unix seconds (CRL times have no fractions).
    revoked_at: i64,
    /// Offset of the serial in the arena; also the entry's CRL order.
    serial_offset: u32,
    serial_len: u8,
    reason: u8,
    flags: u8,
}

const HAS_REASON: u8 = 1;
const HAS_INVALIDITY_DATE: u8 = 2;
const UNSUPPORTED_CRITICAL: u8 = 4;
const MALFORMED_EXTENSION: u8 = 8;

#[derive(Clone, Default)]
struct Index {
    /// Sorted by (serial length, serial bytes, arena offset).
    records: Box<[Record]>,
    /// Every serial's contents octets, in CRL order.
    serials: Box<[u8]>,
    /// (arena offset, invalidityDate) of the entries that have one, by offset.
    invalidity_dates: Box<[(u32, Timestamp)]>,
}

impl Index {
    fn serial(&self, r: &Record) -> &[u8] {
        let start = r.serial_offset as usize;
        self.serials
            .get(start..start + usize::from(r.serial_len))
            .unwrap_or_default()
    }

    fn cmp_key(&self, r: &Record, key: &[u8]) -> Ordering {
        usize::from(r.serial_len)
            .cmp(&key.len())
            .then_with(|| self.serial(r).cmp(key))
    }

    fn entry(&self, r: &Record) -> CrlEntry {
        let invalidity_date = if r.flags & HAS_INVALIDITY_DATE != 0 {
            self.invalidity_dates
                .binary_search_by_key(&r.serial_offset, |(offset, _)| *offset)
                .ok()
                .map(|i| self.invalidity_dates[i].1)
        } else {
            None
        };
        CrlEntry {
            revocation_time: Timestamp::from_unix_seconds(r.revoked_at),
            reason: (r.flags & HAS_REASON != 0).then(|| CrlReason::from_code(r.reason)),
            invalidity_date,
            unsupported_critical_extension: r.flags & UNSUPPORTED_CRITICAL != 0,
            malformed_extension: r.flags & MALFORMED_EXTENSION != 0,
        }
    }

    fn heap_bytes(&self) -> usize {
        size_of_val(&*self.records) + self.serials.len() + size_of_val(&*self.invalidity_dates)
    }

    /// Indexes the contents of `revokedCertificates`: a counting pass sizes the arena and the
    /// records exactly, the second pass fills them, then the records are sorted in place.
    fn build(list: &[u8]) -> Result<Self, CrlError> {
        let (count, serial_bytes) = count_entries(list)?;
        let mut records = Vec::with_capacity(count);
        let mut serials = Vec::with_capacity(serial_bytes);
        let mut invalidity_dates = Vec::new();
        let mut r = Reader::new(list);
        let mut index = 0usize;
        while !r.is_empty() {
            let malformed = |field| {
                move |reason| CrlError::MalformedEntry {
                    index,
                    field,
                    reason,
                }
            };
            let entry = r.expect(tag::SEQUENCE).map_err(malformed("entry"))?;
            let mut e = Reader::new(entry.value);
            let serial = e
                .expect(tag::INTEGER)
                .map_err(malformed("userCertificate"))?;
            check_integer(serial.value).map_err(malformed("userCertificate"))?;
            let time = e.next().map_err(malformed("revocationDate"))?;
            let revoked_at =
                parse_time(time.tag, time.value).map_err(malformed("revocationDate"))?;
            let mut record = Record {
                revoked_at,
                // `count_entries` bounded the arena to the CRL size, under 4 GiB.
                serial_offset: u32::try_from(serials.len()).map_err(|_| CrlError::Malformed {
                    field: "revokedCertificates",
                    reason: "serial arena beyond 4 GiB",
                })?,
                serial_len: u8::try_from(serial.value.len()).map_err(|_| {
                    CrlError::SerialTooLong {
                        index,
                        len: serial.value.len(),
                    }
                })?,
                reason: 0,
                flags: 0,
            };
            if let Some(exts) = e
                .optional(tag::SEQUENCE)
                .map_err(malformed("crlEntryExtensions"))?
            {
                let invalidity = entry_extensions(exts.value, index, &mut record)?;
                if let Some(date) = invalidity {
                    invalidity_dates.push((record.serial_offset, date));
                }
            }
            e.finish().map_err(malformed("entry"))?;
            serials.extend_from_slice(serial.value);
            records.push(record);
            index += 1;
        }
        let mut index = Self {
            records: Box::default(),
            serials: serials.into_boxed_slice(),
            invalidity_dates: invalidity_dates.into_boxed_slice(),
        };
        records.sort_unstable_by(|a, b| {
            a.serial_len
                .cmp(&b.serial_len)
                .then_with(|| index.serial(a).cmp(index.serial(b)))
                .then_with(|| a.serial_offset.cmp(&b.serial_offset))
        });
        index.records = records.into_boxed_slice();
        Ok(index)
    }
}

/// The first pass: how many entries, and how many serial octets, with the serial length
/// cap applied.
fn count_entries(list: &[u8]) -> Result<(usize, usize), CrlError> {
    let mut r = Reader::new(list);
    let (mut count, mut bytes) = (0usize, 0usize);
    while !r.is_empty() {
        let malformed = |field| {
            move |reason| CrlError::MalformedEntry {
                index: count,
                field,
                reason,
            }
        };
        let entry = r.expect(tag::SEQUENCE).map_err(malformed("entry"))?;
        let serial = Reader::new(entry.value)
            .expect(tag::INTEGER)
            .map_err(malformed("userCertificate"))?;
        if serial.value.len() > MAX_CRL_SERIAL_BYTES {
            return Err(CrlError::SerialTooLong {
                index: count,
                len: serial.value.len(),
            });
        }
        count += 1;
        bytes += serial.value.len();
    }
    Ok((count, bytes))
}

/// Reads an entry's extensions into `record`'s flags; returns the invalidityDate.
///
/// reasonCode must decode (Go's parser fails the whole CRL otherwise); certificateIssuer
/// refuses the CRL (indirect). The others are judged the way notation judges them, only for
/// the serial it looks up: so a malformed invalidityDate, a repeated extension or an unknown
/// critical extension marks this entry and leaves the rest of the CRL usable.
fn entry_extensions(
    contents: &[u8],
    index: usize,
    record: &mut Record,
) -> Result<Option<Timestamp>, CrlError> {
    let malformed = |field| {
        move |reason| CrlError::MalformedEntry {
            index,
            field,
            reason,
        }
    };
    let mut seen: [&[u8]; MAX_CRL_ENTRY_EXTENSIONS] = [&[]; MAX_CRL_ENTRY_EXTENSIONS];
    let mut n = 0;
    let mut invalidity = None;
    let mut r = Reader::new(contents);
    while !r.is_empty() {
        if n == MAX_CRL_ENTRY_EXTENSIONS {
            return Err(CrlError::TooManyEntryExtensions { index });
        }
        let tlv = r.next().map_err(malformed("crlEntryExtensions"))?;
        let (id, critical, value) = extension(&tlv).map_err(malformed("crlEntryExtensions"))?;
        if seen[..n].contains(&id) {
            record.flags |= MALFORMED_EXTENSION;
        }
        seen[n] = id;
        n += 1;
        if id == oid::CRL_REASON.as_bytes() {
            let code = single(value, tag::ENUMERATED).map_err(malformed("reasonCode"))?;
            check_integer(code.value).map_err(malformed("reasonCode"))?;
            record.reason = match code.value {
                [c] if *c < 0x80 => *c,
                [0, c] => *c,
                _ => return Err(malformed("reasonCode")("value out of range")),
            };
            record.flags |= HAS_REASON;
        } else if id == oid::INVALIDITY_DATE.as_bytes() {
            // Go reads it with encoding/asn1, which allows fractional seconds.
            match single(value, tag::GENERALIZED_TIME)
                .ok()
                .and_then(|t| der_time::generalized_time(t.value, Fraction::Allowed).ok())
            {
                Some(date) => {
                    invalidity = Some(date);
                    record.flags |= HAS_INVALIDITY_DATE;
                }
                None => record.flags |= MALFORMED_EXTENSION,
            }
        } else if id == oid::CERTIFICATE_ISSUER.as_bytes() {
            return Err(CrlError::IndirectEntry { index });
        } else if critical {
            record.flags |= UNSUPPORTED_CRITICAL;
        }
    }
    Ok(invalidity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = parse_time(tag::UTC_TIME, b"241111053052Z").unwrap();
        assert_eq!(
            Timestamp::from_unix_seconds(t),
            Timestamp::parse_rfc3339("2024-11-11T05:30:52Z").unwrap()
        );
        let t = parse_time(tag::UTC_TIME, b"500101000000Z").unwrap();
        assert_eq!(
            Timestamp::from_unix_seconds(t),
            Timestamp::parse_rfc3339("1950-01-01T00:00:00Z").unwrap()
        );
        let t = parse_time(tag::GENERALIZED_TIME, b"21241018053052Z").unwrap();
        assert_eq!(
            Timestamp::from_unix_seconds(t),
            Timestamp::parse_rfc3339("2124-10-18T05:30:52Z").unwrap()
        );
        let t = parse_time(tag::GENERALIZED_TIME, b"20240229235959Z").unwrap();
        assert_eq!(
            Timestamp::from_unix_seconds(t),
            Timestamp::parse_rfc3339("2024-02-29T23:59:59Z").unwrap()
        );
        for bad in [
            &b"20230229000000Z"[..],
            b"20241301000000Z",
            b"20241200000000Z",
            b"20241231240000Z",
            b"20241231236000Z",
            b"20241231235960Z",
            b"20241231235959+",
            b"2024123123595Z",
            b"20241231235959.5Z",
            b"2024-231235959Z",
        ] {
            assert!(parse_time(tag::GENERALIZED_TIME, bad).is_err(), "{bad:?}");
        }
        assert!(parse_time(tag::UTC_TIME, b"2412310000Z").is_err());
        assert!(parse_time(tag::INTEGER, b"241231000000Z").is_err());
    }

    #[test]
    fn reader_is_strict_der() {
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).next().is_err());
        assert!(
            Reader::new(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0])
                .next()
                .is_err()
        );
        assert!(Reader::new(&[0x30, 0x82, 0x00, 0x80]).next().is_err());
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).next().is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).next().is_err());
        assert!(Reader::new(&[0x30, 0x02, 0x00]).next().is_err());
        let mut r = Reader::new(&[0x02, 0x01, 0x05, 0x04, 0x00]);
        assert_eq!(r.next().unwrap().value, &[5]);
        assert_eq!(r.next().unwrap().raw, &[4, 0]);
        assert!(r.is_empty());
    }

    #[test]
    fn integers_and_numbers() {
        assert_eq!(canonical_integer(&[0, 0, 5]), &[5]);
        assert_eq!(canonical_integer(&[0, 0x80]), &[0, 0x80]);
        assert_eq!(canonical_integer(&[0xff, 0xff, 0x80]), &[0x80]);
        assert_eq!(canonical_integer(&[0xff, 0x7f]), &[0xff, 0x7f]);
        assert_eq!(unsigned_integer(&[2, 2, 0, 0x80]).unwrap(), vec![0x80]);
        assert_eq!(unsigned_integer(&[2, 1, 0]).unwrap(), vec![0]);
        assert!(unsigned_integer(&[2, 1, 0x80]).is_err());
        assert!(unsigned_integer(&[2, 2, 0, 1]).is_err());
        assert_eq!(cmp_crl_numbers(&[1, 0], &[0xff]), Ordering::Greater);
        assert_eq!(cmp_crl_numbers(&[0, 5], &[5]), Ordering::Equal);
        assert_eq!(cmp_crl_numbers(&[4], &[5]), Ordering::Less);
    }

    #[test]
    fn reason_flag_bits() {
        // keyCompromise (bit 1) and aACompromise (bit 8): 0x40, 0x80 with 7 unused bits.
        let f = reason_flags(&[7, 0x40, 0x80]).unwrap();
        assert!(f.contains(CrlReason::KeyCompromise));
        assert!(f.contains(CrlReason::AaCompromise));
        assert!(!f.contains(CrlReason::CaCompromise));
        assert!(reason_flags(&[]).is_err());
        assert!(reason_flags(&[1]).is_err());
    }

    #[test]
    fn reasons_round_trip() {
        for code in 0..=20u8 {
            assert_eq!(CrlReason::from_code(code).code(), code);
        }
    }
}
