//! Signature envelopes (NOTARY-VERIFY §3–§4): parse, check every integrity rule, verify the
//! signature over the exact received bytes, and hand back the signer information and the raw
//! payload. Everything that fails here is an *integrity* failure, enforced at every level.

mod cbor;
pub mod cose;
pub mod jws;

use std::fmt;

use super::chain::{ChainError, ChainNote, ChainPurpose, validate_chain};
use super::crypto::{KeySpec, SignatureAlgorithm};
use super::limits::Limits;
use super::time::Timestamp;
use super::x509::{Certificate, CertificateError};

/// Media type of a JWS envelope.
pub const MEDIA_TYPE_JWS: &str = "application/jose+json";
/// Media type of a COSE_Sign1 envelope.
pub const MEDIA_TYPE_COSE: &str = "application/cose";
/// The only payload content type.
pub const PAYLOAD_CONTENT_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

/// An envelope of `format` ("JWS", "COSE") that does not decode.
pub(crate) fn malformed(format: &'static str, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Malformed {
        format,
        reason: reason.into(),
    }
}

/// A header that breaks a rule; both parsers and the header checks name it the same way.
pub(crate) fn invalid_header(header: &str, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError::InvalidHeader {
        header: header.to_owned(),
        reason: reason.into(),
    }
}

/// Refuses an over-long certificate list before its entries are decoded (both parsers call it;
/// `verify_parsed` checks again after decoding).
pub(crate) fn check_chain_len(len: usize, limits: &Limits) -> Result<(), EnvelopeError> {
    if len > limits.max_chain_len {
        return Err(EnvelopeError::ChainTooLong {
            len,
            max: limits.max_chain_len,
        });
    }
    Ok(())
}

/// Header names of the Notary signed attributes (the same strings label COSE headers).
pub mod header {
    /// Signing scheme (critical).
    pub const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
    /// Unauthenticated signing time (`notary.x509`).
    pub const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
    /// Authentic signing time (`notary.x509.signingAuthority`, critical).
    pub const AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
    /// Expiry (critical when present).
    pub const EXPIRY: &str = "io.cncf.notary.expiry";
    /// Names a verification plugin; notaryd has no plugins and refuses such signatures.
    pub const VERIFICATION_PLUGIN: &str = "io.cncf.notary.verificationPlugin";
    /// Minimum plugin version.
    pub const VERIFICATION_PLUGIN_MIN_VERSION: &str = "io.cncf.notary.verificationPluginMinVersion";
    /// RFC 3161 countersignature in the unprotected header.
    pub const TIMESTAMP_SIGNATURE: &str = "io.cncf.notary.timestampSignature";
    /// Informational signing agent in the unprotected header.
    pub const SIGNING_AGENT: &str = "io.cncf.notary.signingAgent";
}

/// The envelope format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum EnvelopeType {
    /// JWS JSON serialization, `application/jose+json`.
    #[serde(rename = "application/jose+json")]
    Jws,
    /// COSE_Sign1, `application/cose`.
    #[serde(rename = "application/cose")]
    Cose,
}

impl EnvelopeType {
    /// Selects the parser from the signature layer's media type.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            MEDIA_TYPE_JWS => Some(Self::Jws),
            MEDIA_TYPE_COSE => Some(Self::Cose),
            _ => None,
        }
    }

    /// The media type string.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jws => MEDIA_TYPE_JWS,
            Self::Cose => MEDIA_TYPE_COSE,
        }
    }
}

impl fmt::Display for EnvelopeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

/// The signing scheme (`io.cncf.notary.signingScheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SigningScheme {
    /// `notary.x509`: CA-issued signing certificate, optional RFC 3161 timestamp.
    #[serde(rename = "notary.x509")]
    X509,
    /// `notary.x509.signingAuthority`: a signing authority vouches for the signing time.
    #[serde(rename = "notary.x509.signingAuthority")]
    X509SigningAuthority,
}

impl SigningScheme {
    /// Parses the header value; only the two Notary schemes exist.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "notary.x509" => Some(Self::X509),
            "notary.x509.signingAuthority" => Some(Self::X509SigningAuthority),
            _ => None,
        }
    }

    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X509 => "notary.x509",
            Self::X509SigningAuthority => "notary.x509.signingAuthority",
        }
    }
}

impl fmt::Display for SigningScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a format parser extracts before any cross-format rule is applied: the headers of an
/// envelope that has been decoded but NOT verified. Nothing in it may be trusted; it exists for
/// inspection (reports, tooling, tests) and as the input of [`verify_envelope`]'s checks.
#[derive(Debug, Clone)]
pub struct ParsedEnvelope {
    /// Format.
    pub envelope_type: EnvelopeType,
    /// The algorithm named in the protected header.
    pub algorithm: SignatureAlgorithm,
    /// The content type from the protected header.
    pub content_type: String,
    /// The `crit` list, as names (COSE integer labels rendered in decimal).
    pub critical: Vec<String>,
    /// Names of every protected header present (COSE integer labels in decimal).
    pub protected_names: Vec<String>,
    /// `io.cncf.notary.signingScheme`, as written.
    pub signing_scheme: Option<String>,
    /// `io.cncf.notary.signingTime`.
    pub signing_time: Option<Timestamp>,
    /// `io.cncf.notary.authenticSigningTime`.
    pub authentic_signing_time: Option<Timestamp>,
    /// `io.cncf.notary.expiry`.
    pub expiry: Option<Timestamp>,
    /// `io.cncf.notary.verificationPlugin`, if present.
    pub verification_plugin: Option<String>,
    /// DER certificates, leaf first.
    pub certificate_chain: Vec<Vec<u8>>,
    /// The RFC 3161 token from the unprotected header.
    pub timestamp_token: Option<Vec<u8>>,
    /// The informational signing agent.
    pub signing_agent: Option<String>,
    /// The exact bytes the signature covers.
    pub signed_bytes: Vec<u8>,
    /// The primitive signature.
    pub signature: Vec<u8>,
    /// The payload bytes (decoded from base64url for JWS).
    pub payload: Vec<u8>,
}

/// A signature envelope whose integrity has been verified.
#[derive(Debug)]
pub struct VerifiedEnvelope {
    /// Format.
    pub envelope_type: EnvelopeType,
    /// Everything about the signer.
    pub signer_info: SignerInfo,
    /// The raw payload, parsed only now that its signature verified.
    pub payload: Vec<u8>,
    /// Remarks from chain validation that did not fail it.
    pub notes: Vec<ChainNote>,
}

/// The signer information of a verified envelope.
#[derive(Debug)]
pub struct SignerInfo {
    /// The signing scheme.
    pub signing_scheme: SigningScheme,
    /// The signature algorithm (bound to the leaf key).
    pub signature_algorithm: SignatureAlgorithm,
    /// `io.cncf.notary.signingTime` (`notary.x509` only). Never trusted.
    pub signing_time: Option<Timestamp>,
    /// `io.cncf.notary.authenticSigningTime` (`notary.x509.signingAuthority` only).
    pub authentic_signing_time: Option<Timestamp>,
    /// `io.cncf.notary.expiry`.
    pub expiry: Option<Timestamp>,
    /// The certificate chain, leaf first, already validated against §5.1.
    pub certificate_chain: Vec<Certificate>,
    /// The primitive signature bytes (the message of a timestamp countersignature).
    pub signature: Vec<u8>,
    /// The RFC 3161 token, if any.
    pub timestamp_token: Option<Vec<u8>>,
    /// The informational signing agent, if any.
    pub signing_agent: Option<String>,
}

impl SignerInfo {
    /// The signing certificate.
    pub fn leaf(&self) -> &Certificate {
        // validate_chain refuses an empty chain, so a SignerInfo always has a leaf.
        &self.certificate_chain[0]
    }

    /// The time the scheme asserts: signingTime or authenticSigningTime.
    pub fn scheme_time(&self) -> Option<Timestamp> {
        self.signing_time.or(self.authentic_signing_time)
    }
}

/// An integrity failure: the envelope is malformed, breaks a rule, or its signature does not
/// verify. Each variant names the check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The layer's media type is neither JWS nor COSE.
    #[error("unsupported signature envelope media type {0:?}")]
    UnsupportedMediaType(String),
    /// The envelope is larger than the limit.
    #[error("signature envelope is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size.
        len: u64,
        /// Limit.
        max: u64,
    },
    /// The envelope does not decode in its format.
    #[error("malformed {format} envelope: {reason}")]
    Malformed {
        /// `JWS` or `COSE`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A required header is missing.
    #[error("required header {0} is missing")]
    MissingHeader(&'static str),
    /// A header has the wrong type or an unparsable value.
    #[error("header {header} is invalid: {reason}")]
    InvalidHeader {
        /// The header.
        header: String,
        /// What is wrong.
        reason: String,
    },
    /// `alg` is not one of PS256/384/512, ES256/384/512.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// `alg` does not match the signing certificate's key.
    #[error(
        "signature algorithm {header} does not match the signing certificate's {key} key (expected {expected})"
    )]
    AlgorithmMismatch {
        /// The header's algorithm.
        header: SignatureAlgorithm,
        /// The leaf key.
        key: KeySpec,
        /// The algorithm the key requires.
        expected: SignatureAlgorithm,
    },
    /// The leaf key cannot sign Notary envelopes at all.
    #[error("signing certificate key is not usable: {0}")]
    UnsupportedKey(String),
    /// `crit` lacks a name it must list.
    #[error("crit does not list {0}")]
    CriticalHeaderNotListed(&'static str),
    /// `crit` lists a header that is not in the protected header.
    #[error("crit lists {0:?}, which is not in the protected header")]
    CriticalHeaderNotPresent(String),
    /// `crit` lists a header that may not be marked critical: one the format itself defines
    /// (`alg`, `cty`, COSE labels 0–8) or a Notary attribute that is never critical
    /// (`io.cncf.notary.signingTime`), as notation refuses it.
    #[error("crit lists {0:?}, which may not be marked critical")]
    CriticalHeaderNotAllowed(String),
    /// A present extended attribute is critical and notaryd cannot process it.
    #[error("unsupported critical attribute {0:?}")]
    UnknownCriticalAttribute(String),
    /// The signature names a verification plugin; notaryd runs no plugins (Notary spec:
    /// an implementation without plugin support must fail it).
    #[error("signature requires verification plugin {0:?}, and notaryd does not run plugins")]
    VerificationPluginRequired(String),
    /// The signing scheme is unknown.
    #[error("unsupported signing scheme {0:?}")]
    UnsupportedSigningScheme(String),
    /// The scheme's own time header is missing.
    #[error("signing scheme {scheme} requires header {header}")]
    SchemeTimeMissing {
        /// The scheme.
        scheme: SigningScheme,
        /// The header it needs.
        header: &'static str,
    },
    /// A time header that the scheme forbids is present.
    #[error("signing scheme {scheme} forbids header {header}")]
    SchemeTimeForbidden {
        /// The scheme.
        scheme: SigningScheme,
        /// The forbidden header.
        header: &'static str,
    },
    /// Expiry is not strictly after the signing time.
    #[error("expiry {expiry} is not after the signing time {signing_time}")]
    ExpiryNotAfterSigningTime {
        /// Expiry.
        expiry: Timestamp,
        /// Signing time.
        signing_time: Timestamp,
    },
    /// The payload content type is not the Notary payload type.
    #[error("payload content type {0:?} is not {PAYLOAD_CONTENT_TYPE}")]
    ContentType(String),
    /// The payload is empty.
    #[error("payload is empty")]
    EmptyPayload,
    /// No certificate chain.
    #[error("certificate chain is missing or empty")]
    MissingCertificateChain,
    /// Too many certificates.
    #[error("certificate chain has {len} certificates, more than the limit of {max}")]
    ChainTooLong {
        /// Length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A chain certificate does not parse.
    #[error("certificate {index} of the chain: {error}")]
    Certificate {
        /// Position, leaf = 0.
        index: usize,
        /// Why.
        error: CertificateError,
    },
    /// The chain breaks §5.1.
    #[error("certificate chain is invalid: {0}")]
    Chain(#[from] ChainError),
    /// The signature does not verify with the signing certificate's key.
    #[error("{algorithm} signature does not verify with the key of signing certificate {signer:?}")]
    SignatureInvalid {
        /// The algorithm named by the header (already bound to the key).
        algorithm: SignatureAlgorithm,
        /// The signing certificate's subject.
        signer: String,
    },
}

/// Decodes an envelope WITHOUT verifying it (format rules only): for inspection. Use
/// [`verify_envelope`] for anything that decides trust.
pub fn parse_unverified(
    media_type: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<ParsedEnvelope, EnvelopeError> {
    let envelope_type = EnvelopeType::from_media_type(media_type).ok_or_else(|| {
        EnvelopeError::UnsupportedMediaType(media_type.chars().take(200).collect())
    })?;
    let len = bytes.len() as u64;
    if len > limits.max_envelope_bytes {
        return Err(EnvelopeError::TooLarge {
            len,
            max: limits.max_envelope_bytes,
        });
    }
    match envelope_type {
        EnvelopeType::Jws => jws::parse(bytes, limits),
        EnvelopeType::Cose => cose::parse(bytes, limits),
    }
}

/// The crit, scheme and time rules of an unverified envelope, for inspection tools that want
/// to explain why an envelope would be refused.
pub fn check_header_rules(parsed: &ParsedEnvelope) -> Result<SigningScheme, EnvelopeError> {
    check_headers(parsed)
}

/// Parses `bytes` as the envelope type named by `media_type`, checks every integrity rule and
/// verifies the signature.
pub fn verify_envelope(
    media_type: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<VerifiedEnvelope, EnvelopeError> {
    verify_parsed(parse_unverified(media_type, bytes, limits)?, limits)
}

fn verify_parsed(p: ParsedEnvelope, limits: &Limits) -> Result<VerifiedEnvelope, EnvelopeError> {
    // Certificates first: the algorithm is bound to the leaf key before any crypto runs, so a
    // header cannot steer verification to a weaker algorithm.
    if p.certificate_chain.is_empty() {
        return Err(EnvelopeError::MissingCertificateChain);
    }
    if p.certificate_chain.len() > limits.max_chain_len {
        return Err(EnvelopeError::ChainTooLong {
            len: p.certificate_chain.len(),
            max: limits.max_chain_len,
        });
    }
    let chain = p
        .certificate_chain
        .iter()
        .enumerate()
        .map(|(index, der)| {
            Certificate::from_der(der).map_err(|error| EnvelopeError::Certificate { index, error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf_key = chain[0]
        .public_key()
        .map_err(|e| EnvelopeError::UnsupportedKey(e.to_string()))?;
    let expected = leaf_key
        .spec()
        .notary_algorithm()
        .ok_or_else(|| EnvelopeError::UnsupportedKey(leaf_key.spec().to_string()))?;
    if expected != p.algorithm {
        return Err(EnvelopeError::AlgorithmMismatch {
            header: p.algorithm,
            key: leaf_key.spec(),
            expected,
        });
    }
    if !leaf_key.verify_notary(p.algorithm, &p.signed_bytes, &p.signature) {
        return Err(EnvelopeError::SignatureInvalid {
            algorithm: p.algorithm,
            signer: chain[0].subject(),
        });
    }

    let scheme = check_headers(&p)?;
    if p.content_type != PAYLOAD_CONTENT_TYPE {
        return Err(EnvelopeError::ContentType(
            p.content_type.chars().take(200).collect(),
        ));
    }
    if p.payload.is_empty() {
        return Err(EnvelopeError::EmptyPayload);
    }
    let notes = validate_chain(&chain, ChainPurpose::CodeSigning, limits.max_chain_len)?;

    Ok(VerifiedEnvelope {
        envelope_type: p.envelope_type,
        signer_info: SignerInfo {
            signing_scheme: scheme,
            signature_algorithm: p.algorithm,
            signing_time: p.signing_time,
            authentic_signing_time: p.authentic_signing_time,
            expiry: p.expiry,
            certificate_chain: chain,
            signature: p.signature,
            timestamp_token: p.timestamp_token,
            signing_agent: p.signing_agent,
        },
        payload: p.payload,
        notes,
    })
}

/// The crit, scheme and time rules shared by both formats (NOTARY-VERIFY §3.2, §4.2).
fn check_headers(p: &ParsedEnvelope) -> Result<SigningScheme, EnvelopeError> {
    // A plugin-bound signature is refused outright, before crit is judged, so the operator sees
    // the actual reason.
    if let Some(plugin) = &p.verification_plugin {
        return Err(EnvelopeError::VerificationPluginRequired(
            plugin.chars().take(200).collect(),
        ));
    }
    let scheme_text = p
        .signing_scheme
        .as_deref()
        .ok_or(EnvelopeError::MissingHeader(header::SIGNING_SCHEME))?;
    let scheme = SigningScheme::parse(scheme_text).ok_or_else(|| {
        EnvelopeError::UnsupportedSigningScheme(scheme_text.chars().take(200).collect())
    })?;

    let listed = |name: &str| p.critical.iter().any(|c| c == name);
    if !listed(header::SIGNING_SCHEME) {
        return Err(EnvelopeError::CriticalHeaderNotListed(
            header::SIGNING_SCHEME,
        ));
    }
    if p.expiry.is_some() && !listed(header::EXPIRY) {
        return Err(EnvelopeError::CriticalHeaderNotListed(header::EXPIRY));
    }
    if scheme == SigningScheme::X509SigningAuthority && !listed(header::AUTHENTIC_SIGNING_TIME) {
        return Err(EnvelopeError::CriticalHeaderNotListed(
            header::AUTHENTIC_SIGNING_TIME,
        ));
    }
    for name in &p.critical {
        let may_be_critical = match name.as_str() {
            header::SIGNING_SCHEME => true,
            header::EXPIRY => p.expiry.is_some(),
            header::AUTHENTIC_SIGNING_TIME => p.authentic_signing_time.is_some(),
            // Meaningful only next to a plugin name (refused above); alone it changes nothing,
            // and notation accepts it as critical.
            header::VERIFICATION_PLUGIN_MIN_VERSION => p.protected_names.iter().any(|n| n == name),
            _ => false,
        };
        if may_be_critical {
            continue;
        }
        let present = p.protected_names.iter().any(|n| n == name);
        let registered = is_registered_header(p.envelope_type, name);
        if present && !registered && !is_notary_attribute(name) {
            // An extended attribute we cannot process. The spec says MUST fail; notation only
            // hands it to a plugin (documented divergence: we follow the spec).
            return Err(EnvelopeError::UnknownCriticalAttribute(
                name.chars().take(200).collect(),
            ));
        }
        let name = name.chars().take(200).collect();
        return Err(if present {
            EnvelopeError::CriticalHeaderNotAllowed(name)
        } else {
            EnvelopeError::CriticalHeaderNotPresent(name)
        });
    }

    match scheme {
        SigningScheme::X509 => {
            if p.authentic_signing_time.is_some() {
                return Err(EnvelopeError::SchemeTimeForbidden {
                    scheme,
                    header: header::AUTHENTIC_SIGNING_TIME,
                });
            }
            if p.signing_time.is_none() {
                return Err(EnvelopeError::SchemeTimeMissing {
                    scheme,
                    header: header::SIGNING_TIME,
                });
            }
        }
        SigningScheme::X509SigningAuthority => {
            if p.signing_time.is_some() {
                return Err(EnvelopeError::SchemeTimeForbidden {
                    scheme,
                    header: header::SIGNING_TIME,
                });
            }
            if p.authentic_signing_time.is_none() {
                return Err(EnvelopeError::SchemeTimeMissing {
                    scheme,
                    header: header::AUTHENTIC_SIGNING_TIME,
                });
            }
        }
    }
    if let (Some(expiry), Some(signing_time)) =
        (p.expiry, p.signing_time.or(p.authentic_signing_time))
        && expiry <= signing_time
    {
        return Err(EnvelopeError::ExpiryNotAfterSigningTime {
            expiry,
            signing_time,
        });
    }
    Ok(scheme)
}

fn is_notary_attribute(name: &str) -> bool {
    matches!(
        name,
        header::SIGNING_SCHEME
            | header::SIGNING_TIME
            | header::AUTHENTIC_SIGNING_TIME
            | header::EXPIRY
            | header::VERIFICATION_PLUGIN
            | header::VERIFICATION_PLUGIN_MIN_VERSION
    )
}

/// Header names the format itself defines. They may never be listed in `crit`: RFC 7515
/// §4.1.11 for JWS, and the Notary COSE profile for labels 0–8.
fn is_registered_header(t: EnvelopeType, name: &str) -> bool {
    match t {
        EnvelopeType::Jws => matches!(
            name,
            "alg"
                | "jku"
                | "jwk"
                | "kid"
                | "x5u"
                | "x5c"
                | "x5t"
                | "x5t#S256"
                | "typ"
                | "cty"
                | "crit"
                | "b64"
        ),
        EnvelopeType::Cose => name.parse::<i64>().is_ok_and(|l| (0..=8).contains(&l)),
    }
}
