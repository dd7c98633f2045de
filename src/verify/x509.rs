//! X.509 certificates as the core uses them: the exact received DER (authenticity is a byte
//! match), the raw to-be-signed bytes (signatures are checked over what was received, never a
//! re-encoding), and the handful of extensions the Notary rules judge.

use std::fmt;
use std::ops::Range;

use der::{Decode, Encode, Reader, SliceReader};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
};
use x509_cert::name::Name;

use super::crypto::{KeyError, PublicKey, X509Scheme};
use super::der_time;
use super::dn::render_go_style;
use super::limits::MAX_CERTIFICATE_BYTES;
use super::oid;
use super::time::Timestamp;

/// Why bytes are not a usable certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Larger than [`MAX_CERTIFICATE_BYTES`].
    #[error("certificate is {len} bytes, more than the limit of {MAX_CERTIFICATE_BYTES}")]
    TooLarge {
        /// Size in bytes.
        len: usize,
    },
    /// Not DER X.509, or trailing bytes after it.
    #[error("certificate does not parse as DER X.509: {0}")]
    Malformed(String),
    /// The same extension appears twice (RFC 5280 §4.2 forbids it; Go rejects such certificates).
    #[error("certificate with subject {subject:?} repeats extension {oid}")]
    DuplicateExtension {
        /// Subject of the certificate.
        subject: String,
        /// The repeated extension.
        oid: String,
    },
    /// The outer `signatureAlgorithm` differs from the `signature` field inside the
    /// TBSCertificate. RFC 5280 §4.1.1.2 requires them to be the same, and Go's parser (so
    /// notation) refuses a certificate where they differ. The outer field is not covered by
    /// the certificate's signature, so without this check its bytes (the RSA `NULL`
    /// parameters, say) could be changed without breaking the chain.
    #[error(
        "certificate with subject {subject:?}: inner and outer signature algorithm identifiers differ"
    )]
    SignatureAlgorithmMismatch {
        /// Subject of the certificate.
        subject: String,
    },
    /// A recognised extension does not decode.
    #[error("certificate with subject {subject:?} has a malformed {extension} extension")]
    MalformedExtension {
        /// Subject of the certificate.
        subject: String,
        /// Which extension.
        extension: &'static str,
    },
}

/// The extensions the Notary rules look at, with their criticality.
#[derive(Clone, Debug, Default)]
pub struct NotaryExtensions {
    /// basicConstraints and whether it is critical.
    pub basic_constraints: Option<(BasicConstraints, bool)>,
    /// keyUsage and whether it is critical.
    pub key_usage: Option<(KeyUsage, bool)>,
    /// extendedKeyUsage purposes and whether the extension is critical.
    pub extended_key_usage: Option<(Vec<der::asn1::ObjectIdentifier>, bool)>,
    /// `http`/`https`/other URIs from cRLDistributionPoints, in order.
    pub crl_urls: Vec<String>,
    /// Whether a freshestCRL (delta CRL) extension is present.
    pub has_freshest_crl: bool,
    /// OCSP responder URIs from authorityInfoAccess, in order.
    pub ocsp_urls: Vec<String>,
}

/// A parsed certificate that keeps its exact encoding.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
    cert: x509_cert::Certificate,
    not_before: Timestamp,
    not_after: Timestamp,
    extensions: NotaryExtensions,
    key: Result<PublicKey, KeyError>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({:?})", self.subject())
    }
}

impl Certificate {
    /// Parses one DER certificate. The size is checked before any parsing; trailing bytes are
    /// an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(CertificateError::TooLarge { len: der.len() });
        }
        let malformed = |e: der::Error| CertificateError::Malformed(e.to_string());
        let cert = x509_cert::Certificate::from_der(der).map_err(malformed)?;
        // Locate the TBSCertificate, and the issuer and subject names inside it, in the received
        // bytes: signatures are checked over exactly what arrived, and names are compared as
        // the issuer signed them, without re-encoding.
        let layout = locate(der).map_err(malformed)?;
        let tbs_cert = cert.tbs_certificate();
        // The outer signatureAlgorithm is not covered by the signature; unless it must equal
        // the signed copy inside the TBSCertificate, its parameters could be rewritten (NULL to
        // anything) without breaking any check. Go's x509 parser refuses such certificates
        // ("inner and outer signature algorithm identifiers don't match"); both were decoded
        // as DER, so value equality here is byte equality of what was received.
        if cert.signature_algorithm() != tbs_cert.signature() {
            return Err(CertificateError::SignatureAlgorithmMismatch {
                subject: render_go_style(tbs_cert.subject()),
            });
        }
        let validity = tbs_cert.validity();
        let not_before = der_time::from_x509(&validity.not_before);
        let not_after = der_time::from_x509(&validity.not_after);
        let extensions = read_extensions(&cert)?;
        let key = PublicKey::from_spki(tbs_cert.subject_public_key_info());
        Ok(Self {
            der: der.to_vec(),
            tbs: layout.tbs,
            issuer: layout.issuer,
            subject: layout.subject,
            cert,
            not_before,
            not_after,
            extensions,
            key,
        })
    }

    /// The exact DER bytes received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER bytes (the `x509chain.thumbprint#S256` value).
    pub fn sha256(&self) -> [u8; 32] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// The subject as Go (and so notation) prints it, for messages. Rendered on demand:
    /// only reports and errors need it.
    pub fn subject(&self) -> String {
        render_go_style(self.cert.tbs_certificate().subject())
    }

    /// The subject name.
    pub fn subject_name(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    /// The subject name, DER-encoded (as x509-cert re-encodes it).
    pub fn subject_der(&self) -> &[u8] {
        &self.der[self.subject.clone()]
    }

    /// The issuer name, DER-encoded (as x509-cert re-encodes it), the form
    /// [`Certificate::is_issued_by`] compares with the issuer's [`Certificate::subject_der`].
    pub fn issuer_der(&self) -> &[u8] {
        &self.der[self.issuer.clone()]
    }

    /// The issuer as Go prints it, for messages.
    pub fn issuer(&self) -> String {
        render_go_style(self.cert.tbs_certificate().issuer())
    }

    /// Serial number bytes (big-endian, as encoded).
    pub fn serial_number(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// Whether `t` lies inside `[notBefore, notAfter]` (both ends inclusive, as in Go).
    pub fn is_valid_at(&self, t: Timestamp) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// The judged extensions.
    pub fn extensions(&self) -> &NotaryExtensions {
        &self.extensions
    }

    /// The subject public key, or why it cannot be used.
    pub fn public_key(&self) -> Result<&PublicKey, &KeyError> {
        self.key.as_ref()
    }

    /// The parsed certificate, for callers that need fields this wrapper does not expose.
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    /// Whether `issuer` issued this certificate: the issuer name bytes equal the issuer's
    /// subject bytes and the signature verifies with the issuer's key (notation `isIssuedBy`).
    pub fn is_issued_by(&self, issuer: &Certificate) -> Result<(), SignatureCheckError> {
        // Names first: a mismatch settles the question without a public-key operation, which
        // matters because every non-root certificate is tested for being self-signed.
        if self.issuer_der() != issuer.subject_der() {
            return Err(SignatureCheckError::NameMismatch);
        }
        self.check_signature_from(issuer)
    }

    /// Whether basicConstraints says this is a CA certificate (`cA` TRUE). A certificate
    /// without the extension is not one (RFC 5280 §4.2.1.9).
    pub fn is_ca(&self) -> bool {
        self.extensions()
            .basic_constraints
            .as_ref()
            .is_some_and(|(bc, _)| bc.ca)
    }

    /// Whether this certificate is self-signed: self-issued and its signature verifies with its
    /// own key.
    pub fn is_self_signed(&self) -> bool {
        self.is_issued_by(self).is_ok()
    }

    /// Checks this certificate's signature with `issuer`'s key.
    pub fn check_signature_from(&self, issuer: &Certificate) -> Result<(), SignatureCheckError> {
        let scheme = X509Scheme::from_algorithm_identifier(self.cert.signature_algorithm())
            .map_err(|e| SignatureCheckError::Algorithm(e.to_string()))?;
        let key = issuer
            .public_key()
            .map_err(|e| SignatureCheckError::IssuerKey(e.to_string()))?;
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or(SignatureCheckError::BadSignature)?;
        if key.verify_x509(scheme, &self.der[self.tbs.clone()], sig) {
            Ok(())
        } else {
            Err(SignatureCheckError::BadSignature)
        }
    }
}

/// Why a certificate's signature does not check out against a would-be issuer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureCheckError {
    /// The signature algorithm is refused (SHA-1) or unknown.
    #[error("{0}")]
    Algorithm(String),
    /// The issuer's key is not usable.
    #[error("issuer key: {0}")]
    IssuerKey(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// Signature verifies but the issuer name is not the issuer's subject.
    #[error("issuer name does not match the issuer's subject")]
    NameMismatch,
}

/// Byte ranges of the parts of a certificate that are used as received.
struct Layout {
    tbs: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
}

/// Walks the outer structure (x509-cert has already decoded and checked it) to find where the
/// TBSCertificate and the two names lie in `der`.
fn locate(der: &[u8]) -> der::Result<Layout> {
    fn header_len(bytes: &[u8]) -> der::Result<usize> {
        let reader = SliceReader::new(bytes)?;
        let header = der::Header::peek(&reader)?;
        usize::try_from(header.encoded_len()?).map_err(|_| der::ErrorKind::Overflow.into())
    }
    fn tlv_len(bytes: &[u8]) -> der::Result<usize> {
        Ok(SliceReader::new(bytes)?.tlv_bytes()?.len())
    }
    let tbs_start = header_len(der)?;
    let tbs_len = tlv_len(&der[tbs_start..])?;
    let mut pos = tbs_start + header_len(&der[tbs_start..])?;
    // [0] version (optional), serialNumber, signature, issuer, validity, subject.
    if der.get(pos) == Some(&0xa0) {
        pos += tlv_len(&der[pos..])?;
    }
    pos += tlv_len(&der[pos..])?;
    pos += tlv_len(&der[pos..])?;
    let issuer = pos..pos + tlv_len(&der[pos..])?;
    pos = issuer.end;
    pos += tlv_len(&der[pos..])?;
    let subject = pos..pos + tlv_len(&der[pos..])?;
    Ok(Layout {
        tbs: tbs_start..tbs_start + tbs_len,
        issuer,
        subject,
    })
}

fn read_extensions(cert: &x509_cert::Certificate) -> Result<NotaryExtensions, CertificateError> {
    let subject = || render_go_style(cert.tbs_certificate().subject());
    let mut out = NotaryExtensions::default();
    let Some(exts) = cert.tbs_certificate().extensions() else {
        return Ok(out);
    };
    let malformed = |extension| CertificateError::MalformedExtension {
        subject: subject(),
        extension,
    };
    // A set rather than a scan of the earlier extensions: a 64 KiB certificate can hold
    // thousands of them, and it is parsed before any signature is checked.
    let mut seen = std::collections::HashSet::with_capacity(exts.len());
    for ext in exts.iter() {
        if !seen.insert(&ext.extn_id) {
            return Err(CertificateError::DuplicateExtension {
                subject: subject(),
                oid: ext.extn_id.to_string(),
            });
        }
        let value = ext.extn_value.as_bytes();
        match ext.extn_id {
            oid::BASIC_CONSTRAINTS => {
                let bc =
                    BasicConstraints::from_der(value).map_err(|_| malformed("basicConstraints"))?;
                out.basic_constraints = Some((bc, ext.critical));
            }
            oid::KEY_USAGE => {
                let ku = KeyUsage::from_der(value).map_err(|_| malformed("keyUsage"))?;
                out.key_usage = Some((ku, ext.critical));
            }
            oid::EXT_KEY_USAGE => {
                let eku =
                    ExtendedKeyUsage::from_der(value).map_err(|_| malformed("extendedKeyUsage"))?;
                out.extended_key_usage = Some((eku.0, ext.critical));
            }
            oid::CRL_DISTRIBUTION_POINTS => {
                let dps = CrlDistributionPoints::from_der(value)
                    .map_err(|_| malformed("cRLDistributionPoints"))?;
                out.crl_urls = dps.0.iter().flat_map(distribution_point_uris).collect();
            }
            oid::FRESHEST_CRL => out.has_freshest_crl = true,
            oid::AUTHORITY_INFO_ACCESS => {
                let aia = AuthorityInfoAccessSyntax::from_der(value)
                    .map_err(|_| malformed("authorityInfoAccess"))?;
                out.ocsp_urls = aia
                    .0
                    .iter()
                    .filter(|a| a.access_method == oid::AD_OCSP)
                    .filter_map(|a| match &a.access_location {
                        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
                        _ => None,
                    })
                    .collect();
            }
            // Other extensions, critical or not, do not fail the certificate: the Notary rules
            // judge only the ones above (NOTARY-VERIFY §5.1 "fail open").
            _ => {}
        }
    }
    Ok(out)
}

fn distribution_point_uris(dp: &DistributionPoint) -> Vec<String> {
    match &dp.distribution_point {
        Some(DistributionPointName::FullName(names)) => names
            .iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
