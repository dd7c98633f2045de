//! RFC 3161 timestamp countersignatures: NOTARY-VERIFY §5.4, "Triggered" steps 1–7.
//!
//! [`verify_timestamp`] takes the token from an envelope's unsigned attributes, the envelope's
//! primitive signature bytes and the certificates of the policy's `tsa:` trust stores, and
//! returns a [`VerifiedTimestamp`] (genTime, accuracy, the TSA chain) or the first broken
//! rule. Step 8 (the signing chain against the timestamp range) and step 9 (TSA-chain
//! revocation) belong to the caller, which uses [`VerifiedTimestamp::earliest`],
//! [`VerifiedTimestamp::latest`] and [`VerifiedTimestamp::tsa_chain`].
//!
//! The behaviour follows notation-go, which verifies with tspclient-go: parse (BER accepted),
//! `TSTInfo.Validate(signature)`, then `SignedToken.Verify` with the tsa roots and
//! `CurrentTime = genTime`, then `ValidateTimestampingCertChain`. Deliberate differences, all
//! stricter unless noted:
//!
//! - the token is capped at [`MAX_TIMESTAMP_TOKEN_BYTES`] and its certificates at
//!   `max_chain_len`;
//! - indefinite lengths and constructed OCTET STRINGs are accepted (tspclient-go's converter
//!   refuses both; more lenient);
//! - `genTime` must be in UTC (`Z`), as RFC 3161 requires; Go also takes `±hhmm`;
//! - the accuracy fields may not be negative and millis/micros may not exceed 999;
//! - `contentType`, `messageDigest`, `signingTime` and the signing-certificate attributes
//!   must appear once with one value (RFC 5652 §11, RFC 5035); Go reads the first;
//! - the signerInfo's `sid` must identify the same certificate as the ESSCertIDv2
//!   `issuerSerial` when both are present (Go ignores the sid then; OpenSSL and RFC 5652 use
//!   it), and the signer's digest algorithm must be listed in `SignedData.digestAlgorithms`.
//!   With these two, every field the checks read is either signed or cross-checked against
//!   a signed field (a flipped byte anywhere in a token without unused certificates, CRLs or
//!   unsigned attributes makes it fail; the property tests try every bit);
//! - the signer's digest and signature algorithms must agree ([`X509Scheme::from_cms`]); Go
//!   lets `sha256WithRSAEncryption` pair with any digest. `id-ecPublicKey` as the signature
//!   algorithm is accepted (Go refuses it; more lenient). RSASSA-PSS needs explicit
//!   parameters with salt = hash length;
//! - the §5.1 timestamping rules run for each signerInfo, so a signerInfo whose chain breaks
//!   them lets the next one be tried (notation checks only the chain of the first signer that
//!   passes tspclient-go; more lenient, in a way that still requires one fully valid signer);
//! - the chain search differences are listed in the `path` module.

pub(crate) mod asn1;
mod ber;
mod path;

use std::time::Duration;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use super::chain::{ChainError, ChainNote, ChainPurpose, validate_chain};
use super::crypto::{AlgorithmError, HashAlgorithm, X509Scheme};
use super::der_time::{self, DerTimeError, Fraction};
use super::limits::{MAX_SIGNED_ATTRIBUTES, MAX_TIMESTAMP_SIGNERS, MAX_TIMESTAMP_TOKEN_BYTES};
use super::oid;
use super::time::Timestamp;
use super::x509::{Certificate, CertificateError};

use asn1::{Members, Tlv, oid_name, tag};
use path::{CertRef, PathError};

/// A verified RFC 3161 countersignature. Only [`verify_timestamp`] and
/// [`verify_timestamp_digest`] construct one.
#[derive(Debug, Clone)]
pub struct VerifiedTimestamp {
    gen_time: Timestamp,
    accuracy: Duration,
    hash: HashAlgorithm,
    policy: ObjectIdentifier,
    tsa_chain: Vec<Certificate>,
    chain_notes: Vec<ChainNote>,
    signer: usize,
}

impl VerifiedTimestamp {
    /// `TSTInfo.genTime`, with its fractional seconds.
    pub fn gen_time(&self) -> Timestamp {
        self.gen_time
    }

    /// The accuracy: `TSTInfo.accuracy` when non-zero, else 1 s under the RFC 3628 baseline
    /// policy `0.4.0.2023.1.1`, else zero (NOTARY-VERIFY §5.4 step 4).
    pub fn accuracy(&self) -> Duration {
        self.accuracy
    }

    fn accuracy_nanos(&self) -> i128 {
        i128::try_from(self.accuracy.as_nanos()).unwrap_or(i128::MAX)
    }

    /// `genTime − accuracy`: the earliest instant the token may have been made.
    pub fn earliest(&self) -> Timestamp {
        self.gen_time.saturating_add_nanos(-self.accuracy_nanos())
    }

    /// `genTime + accuracy`: the latest instant the token may have been made. The signature
    /// existed no later than this.
    pub fn latest(&self) -> Timestamp {
        self.gen_time.saturating_add_nanos(self.accuracy_nanos())
    }

    /// The TSA chain that was built and checked, leaf (the TSA certificate) first, trusted
    /// root last. The caller checks its revocation (§5.4 step 9).
    pub fn tsa_chain(&self) -> &[Certificate] {
        &self.tsa_chain
    }

    /// The hash of the message imprint.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// `TSTInfo.policy`.
    pub fn policy(&self) -> &ObjectIdentifier {
        &self.policy
    }

    /// Remarks from the §5.1 chain rules that did not fail the chain (worth logging).
    pub fn chain_notes(&self) -> &[ChainNote] {
        &self.chain_notes
    }

    /// Which signerInfo (0-based) verified.
    pub fn signer_index(&self) -> usize {
        self.signer
    }
}

/// A failed check of §5.4 steps 1–7. Variants that concern one signerInfo carry its 0-based
/// position as `signer`; when every signerInfo fails, the first one's error is reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    // ---- step 1: presence and size ----
    /// The token is missing or empty ("no timestamp countersignature was found").
    #[error("no timestamp countersignature was found: the token is empty")]
    EmptyToken,
    /// The token is larger than [`MAX_TIMESTAMP_TOKEN_BYTES`].
    #[error("timestamp token is {len} bytes, more than the limit of {max}")]
    TokenTooLarge {
        /// Its size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The policy's `tsa:` stores hold no certificate (§5.4 step 5).
    #[error("no trusted TSA certificate found in the tsa trust stores")]
    NoTrustedTsaCertificates,

    // ---- step 2: CMS SignedData ----
    /// The token is not valid BER.
    #[error("timestamp token is not valid BER: {reason} at offset {offset}")]
    Ber {
        /// Offset in the token.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A CMS structure does not have the expected shape.
    #[error("timestamp token is malformed: {structure}: {reason}")]
    Malformed {
        /// Which structure.
        structure: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// ContentInfo.contentType is not signedData.
    #[error("timestamp token content type is {found}, expected signedData (1.2.840.113549.1.7.2)")]
    NotSignedData {
        /// The content type found.
        found: String,
    },
    /// SignedData.version is not 3.
    #[error("timestamp token SignedData version is {found}, expected 3")]
    SignedDataVersion {
        /// The version found.
        found: i64,
    },
    /// eContentType is not id-ct-TSTInfo.
    #[error("unexpected content type: {found}, expected id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4)")]
    UnexpectedContentType {
        /// The eContentType found.
        found: String,
    },
    /// The TSTInfo is not encapsulated (detached content).
    #[error("timestamp token has no encapsulated TSTInfo (eContent is absent)")]
    MissingContent,
    /// An embedded certificate is another CertificateChoices alternative.
    #[error(
        "timestamp token certificate {index} is not an X.509 certificate (CertificateChoices tag 0x{tag:02x})"
    )]
    NonX509Certificate {
        /// Its position in the token.
        index: usize,
        /// Its identifier octet.
        tag: u8,
    },
    /// An embedded certificate does not parse.
    #[error("timestamp token certificate {index} does not parse: {source}")]
    BadCertificate {
        /// Its position in the token.
        index: usize,
        /// Why.
        source: CertificateError,
    },
    /// More embedded certificates than `max_chain_len`.
    #[error("timestamp token carries more than {max} certificates")]
    TooManyCertificates {
        /// The cap.
        max: usize,
    },
    /// No signerInfo at all ("signerInfo not found").
    #[error("timestamp token has no signerInfo")]
    NoSigner,
    /// More signerInfos than [`MAX_TIMESTAMP_SIGNERS`].
    #[error("timestamp token has more than {max} signerInfos")]
    TooManySigners {
        /// The cap.
        max: usize,
    },
    /// A signerInfo does not have the SignerInfo shape.
    #[error("signerInfo {signer} is malformed: {reason}")]
    MalformedSignerInfo {
        /// Which signerInfo.
        signer: usize,
        /// What is wrong.
        reason: String,
    },

    // ---- step 3: TSTInfo ----
    /// The TSTInfo does not decode ("cannot unmarshal TSTInfo").
    #[error("cannot unmarshal TSTInfo from timestamp token: {0}")]
    MalformedTstInfo(String),
    /// TSTInfo.version is not 1.
    #[error("timestamp token info version must be 1, but got {found}")]
    TstInfoVersion {
        /// The version found.
        found: i64,
    },
    /// The message imprint uses a hash other than SHA-256/384/512 (SHA-1 included).
    #[error(
        "TSTInfo messageImprint hash algorithm {found} is not accepted (only SHA-256, SHA-384, SHA-512)"
    )]
    UnsupportedImprintHash {
        /// The algorithm found.
        found: String,
    },
    /// [`verify_timestamp_digest`] was given a digest of another hash than the token uses.
    #[error("TSTInfo messageImprint uses {found:?}, but a {expected:?} digest was supplied")]
    ImprintHashMismatch {
        /// The caller's hash.
        expected: HashAlgorithm,
        /// The token's hash.
        found: HashAlgorithm,
    },
    /// The message imprint is not the hash of the signature ("mismatched message").
    #[error(
        "TSTInfo messageImprint does not match the signature: {hash:?} of the signature is {expected}, the token has {found}"
    )]
    ImprintMismatch {
        /// The imprint hash.
        hash: HashAlgorithm,
        /// Hex of the hash of the signature bytes.
        expected: String,
        /// Hex of hashedMessage.
        found: String,
    },
    /// genTime is not a GeneralizedTime of the RFC 3161 form.
    #[error("TSTInfo genTime {value:?} is invalid: {reason}")]
    BadGenTime {
        /// The text (lossy).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The accuracy is negative or has millis/micros above 999.
    #[error("TSTInfo accuracy is invalid: {0}")]
    BadAccuracy(&'static str),

    // ---- step 6: each signerInfo ----
    /// signerInfo.version is not 1 (only issuerAndSerialNumber is supported).
    #[error("signerInfo {signer}: version is {found}, only version 1 is supported")]
    SignerVersion {
        /// Which signerInfo.
        signer: usize,
        /// The version found.
        found: i64,
    },
    /// No signed attributes.
    #[error("signerInfo {signer}: missing signed attributes")]
    MissingSignedAttributes {
        /// Which signerInfo.
        signer: usize,
    },
    /// The signed attributes do not decode, or there are too many.
    #[error("signerInfo {signer}: invalid signed attributes: {reason}")]
    MalformedSignedAttributes {
        /// Which signerInfo.
        signer: usize,
        /// What is wrong.
        reason: String,
    },
    /// A signed attribute the checks read appears more than once, or without exactly one value.
    #[error("signerInfo {signer}: signed attribute {attribute} must appear once with one value")]
    AttributeNotSingle {
        /// Which signerInfo.
        signer: usize,
        /// The attribute.
        attribute: &'static str,
    },
    /// A required signed attribute is absent.
    #[error("signerInfo {signer}: signed attribute {attribute} not found")]
    AttributeMissing {
        /// Which signerInfo.
        signer: usize,
        /// The attribute.
        attribute: &'static str,
    },
    /// A signed attribute's value does not decode.
    #[error("signerInfo {signer}: signed attribute {attribute} is malformed: {reason}")]
    MalformedAttribute {
        /// Which signerInfo.
        signer: usize,
        /// The attribute.
        attribute: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No signing-certificate-v2 attribute; `v1_present` tells whether only the ESS v1
    /// attribute is there (which notation refuses).
    #[error("signerInfo {signer}: SigningCertificateV2 attribute not found{}", if *.v1_present { " (only the v1 signingCertificate is present, which is not accepted)" } else { "" })]
    SigningCertificateV2Missing {
        /// Which signerInfo.
        signer: usize,
        /// Whether the v1 attribute is present.
        v1_present: bool,
    },
    /// signing-certificate-v2 lists no certificate.
    #[error("signerInfo {signer}: signingCertificateV2 does not contain any certificate")]
    SigningCertificateV2Empty {
        /// Which signerInfo.
        signer: usize,
    },
    /// The first ESSCertIDv2's issuerSerial does not start with a directoryName.
    #[error(
        "signerInfo {signer}: issuer name is missing in IssuerSerial (the first GeneralName must be a directoryName)"
    )]
    IssuerSerialWithoutDirectoryName {
        /// Which signerInfo.
        signer: usize,
    },
    /// The certificate hash algorithm is not SHA-256/384/512.
    #[error(
        "signerInfo {signer}: unsupported certificate hash algorithm {found} in SigningCertificateV2"
    )]
    UnsupportedCertHash {
        /// Which signerInfo.
        signer: usize,
        /// The algorithm found.
        found: String,
    },
    /// No token certificate matches the signer reference.
    #[error(
        "signerInfo {signer}: signing certificate not found in the timestamp token (looked up by {by})"
    )]
    SigningCertificateNotFound {
        /// Which signerInfo.
        signer: usize,
        /// `"ESSCertIDv2 issuerSerial"` or `"signerInfo sid"`.
        by: &'static str,
    },
    /// The sid names another certificate than ESSCertIDv2's issuerSerial.
    #[error(
        "signerInfo {signer}: sid does not identify the signing certificate {subject:?} named by SigningCertificateV2"
    )]
    SignerIdentifierMismatch {
        /// Which signerInfo.
        signer: usize,
        /// The certificate ESSCertIDv2 selects.
        subject: String,
    },
    /// The signing certificate's hash differs from certHash.
    #[error(
        "signerInfo {signer}: {hash:?} of the signing certificate {subject:?} does not match CertHash in SigningCertificateV2"
    )]
    CertHashMismatch {
        /// Which signerInfo.
        signer: usize,
        /// The certificate.
        subject: String,
        /// The hash used.
        hash: HashAlgorithm,
    },
    /// The signer's digest algorithm is not SHA-256/384/512.
    #[error("signerInfo {signer}: unsupported digest algorithm {found}")]
    UnsupportedDigestAlgorithm {
        /// Which signerInfo.
        signer: usize,
        /// The algorithm found.
        found: String,
    },
    /// The signer's digest algorithm is not in SignedData.digestAlgorithms.
    #[error(
        "signerInfo {signer}: digest algorithm {found} is not listed in SignedData.digestAlgorithms"
    )]
    DigestAlgorithmNotListed {
        /// Which signerInfo.
        signer: usize,
        /// The algorithm.
        found: String,
    },
    /// The contentType attribute is not the eContentType.
    #[error(
        "signerInfo {signer}: mismatch content type: found {found} in signed attributes, expected id-ct-TSTInfo"
    )]
    ContentTypeMismatch {
        /// Which signerInfo.
        signer: usize,
        /// The value found.
        found: String,
    },
    /// The messageDigest attribute is not the hash of the TSTInfo.
    #[error("signerInfo {signer}: messageDigest does not match the {hash:?} of the TSTInfo")]
    MessageDigestMismatch {
        /// Which signerInfo.
        signer: usize,
        /// The digest algorithm.
        hash: HashAlgorithm,
    },
    /// The signature algorithm is refused or unknown.
    #[error("signerInfo {signer}: {source}")]
    SignatureAlgorithm {
        /// Which signerInfo.
        signer: usize,
        /// Why.
        source: AlgorithmError,
    },
    /// The signing certificate's key is not usable.
    #[error("signerInfo {signer}: the key of {subject:?} is not usable: {reason}")]
    SignerKey {
        /// Which signerInfo.
        signer: usize,
        /// The certificate.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The signature over the signed attributes does not verify.
    #[error(
        "signerInfo {signer}: the signature over the signed attributes does not verify with the key of {subject:?}"
    )]
    BadSignature {
        /// Which signerInfo.
        signer: usize,
        /// The signing certificate.
        subject: String,
    },
    /// A TSA-chain certificate is outside its validity period at genTime.
    #[error(
        "signerInfo {signer}: TSA certificate {subject:?} is not valid at genTime {gen_time} (valid {not_before} to {not_after})"
    )]
    CertificateNotValidAtGenTime {
        /// Which signerInfo.
        signer: usize,
        /// The certificate.
        subject: String,
        /// Its notBefore.
        not_before: Timestamp,
        /// Its notAfter.
        not_after: Timestamp,
        /// genTime.
        gen_time: Timestamp,
    },
    /// A TSA-chain certificate has a critical extension Go's verifier refuses.
    #[error(
        "signerInfo {signer}: TSA certificate {subject:?} has unhandled critical extension {oid}"
    )]
    UnhandledCriticalExtension {
        /// Which signerInfo.
        signer: usize,
        /// The certificate.
        subject: String,
        /// The extension.
        oid: String,
    },
    /// A CA in every chain restricts EKU to purposes without timeStamping.
    #[error(
        "signerInfo {signer}: certificate {subject:?} has an extended key usage without timeStamping, so it cannot vouch for a TSA"
    )]
    EkuNotPermitted {
        /// Which signerInfo.
        signer: usize,
        /// The certificate.
        subject: String,
    },
    /// The signingTime attribute is outside a chain certificate's validity.
    #[error(
        "signerInfo {signer}: signing time {signing_time} is outside the validity period of {subject:?}"
    )]
    SigningTimeOutsideValidity {
        /// Which signerInfo.
        signer: usize,
        /// The attribute value.
        signing_time: Timestamp,
        /// The certificate.
        subject: String,
    },
    /// No chain from the TSA certificate reaches a tsa-store root ("certificate signed by
    /// unknown authority").
    #[error("signerInfo {signer}: TSA certificate {subject:?} does not chain to a trusted TSA root{}", .hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UntrustedTsa {
        /// Which signerInfo.
        signer: usize,
        /// The TSA certificate.
        subject: String,
        /// The most useful reason a candidate was refused.
        hint: Option<String>,
    },
    /// The built chain breaks a §5.1 timestamping rule (step 7), e.g. the TSA leaf's EKU is
    /// not exactly timeStamping or not critical.
    #[error("signerInfo {signer}: TSA certificate chain: {source}")]
    TsaChain {
        /// Which signerInfo.
        signer: usize,
        /// The broken rule.
        source: ChainError,
    },
}

/// Most SignedData.digestAlgorithms entries: one per signerInfo is all a token needs; twice
/// [`MAX_TIMESTAMP_SIGNERS`] tolerates repeats and bounds the list.
const MAX_DIGEST_ALGORITHMS: usize = 2 * MAX_TIMESTAMP_SIGNERS;

/// What the message imprint must match.
#[derive(Clone, Copy)]
enum Imprint<'a> {
    /// The primitive signature bytes; hashed with the token's imprint algorithm.
    Message(&'a [u8]),
    /// A digest already computed with a given hash.
    Digest(HashAlgorithm, &'a [u8]),
}

/// Verifies an RFC 3161 timestamp token against the envelope's primitive signature bytes
/// (NOTARY-VERIFY §5.4 "Triggered" steps 1–7).
///
/// `tsa_roots` are the certificates of every `tsa:` trust store of the policy; the caller has
/// already checked that each is a self-signed root. `max_chain_len` caps both the number of
/// certificates in the token and the length of the TSA chain (`Limits::max_chain_len`).
///
/// The TSA chain is judged at genTime, not now. Any one signerInfo passing every check is
/// enough.
pub fn verify_timestamp(
    token: &[u8],
    signature: &[u8],
    tsa_roots: &[&Certificate],
    max_chain_len: usize,
) -> Result<VerifiedTimestamp, TimestampError> {
    verify(token, Imprint::Message(signature), tsa_roots, max_chain_len)
}

/// Like [`verify_timestamp`], for a caller that holds only the digest of the message: the
/// token's imprint must use `hash` and carry `digest`.
pub fn verify_timestamp_digest(
    token: &[u8],
    hash: HashAlgorithm,
    digest: &[u8],
    tsa_roots: &[&Certificate],
    max_chain_len: usize,
) -> Result<VerifiedTimestamp, TimestampError> {
    verify(
        token,
        Imprint::Digest(hash, digest),
        tsa_roots,
        max_chain_len,
    )
}

/// The certificates a token carries, unverified: what `notaryd bundle create` needs to find
/// the TSA chain's CRLs and responders. Nothing here is trusted.
pub fn token_certificates(
    token: &[u8],
    max_chain_len: usize,
) -> Result<Vec<Certificate>, TimestampError> {
    let der = token_der(token)?;
    Ok(parse_signed_data(&der, max_chain_len)?.certificates)
}

/// The token in DER (tokens may arrive in BER), after the size check.
fn token_der(token: &[u8]) -> Result<Vec<u8>, TimestampError> {
    if token.len() > MAX_TIMESTAMP_TOKEN_BYTES {
        return Err(TimestampError::TokenTooLarge {
            len: token.len(),
            max: MAX_TIMESTAMP_TOKEN_BYTES,
        });
    }
    ber::to_der(token).map_err(|e| TimestampError::Ber {
        offset: e.offset,
        reason: e.reason,
    })
}

/// The parts of a SignerInfo (RFC 5652 §5.3).
struct SignerInfo<'a> {
    version: i64,
    sid: Tlv<'a>,
    digest_algorithm: AlgorithmIdentifierOwned,
    signed_attrs: Option<Tlv<'a>>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: &'a [u8],
}

/// The parts of a SignedData (RFC 5652 §5.1) the checks use.
struct SignedData<'a> {
    digest_algorithms: Vec<ObjectIdentifier>,
    content_type: ObjectIdentifier,
    content: Option<&'a [u8]>,
    certificates: Vec<Certificate>,
    signers: Vec<SignerInfo<'a>>,
}

/// The checked TSTInfo fields.
struct TstFacts {
    gen_time: Timestamp,
    accuracy: Duration,
    hash: HashAlgorithm,
    policy: ObjectIdentifier,
}

fn verify(
    token: &[u8],
    imprint: Imprint<'_>,
    tsa_roots: &[&Certificate],
    max_chain_len: usize,
) -> Result<VerifiedTimestamp, TimestampError> {
    // Step 1.
    if token.is_empty() {
        return Err(TimestampError::EmptyToken);
    }
    // Step 2.
    let der = token_der(token)?;
    let signed = parse_signed_data(&der, max_chain_len)?;
    if signed.content_type != oid::CT_TST_INFO {
        return Err(TimestampError::UnexpectedContentType {
            found: oid_name(&signed.content_type),
        });
    }
    let tst_der = signed.content.ok_or(TimestampError::MissingContent)?;
    // Steps 3–4.
    let facts = check_tst_info(tst_der, imprint)?;
    // Step 5.
    if tsa_roots.is_empty() {
        return Err(TimestampError::NoTrustedTsaCertificates);
    }
    // Step 6–7.
    if signed.signers.is_empty() {
        return Err(TimestampError::NoSigner);
    }
    let mut first_error = None;
    for (index, signer) in signed.signers.iter().enumerate() {
        match verify_signer(
            &signed,
            index,
            signer,
            tst_der,
            &facts,
            tsa_roots,
            max_chain_len,
        ) {
            Ok((tsa_chain, chain_notes)) => {
                return Ok(VerifiedTimestamp {
                    gen_time: facts.gen_time,
                    accuracy: facts.accuracy,
                    hash: facts.hash,
                    policy: facts.policy,
                    tsa_chain,
                    chain_notes,
                    signer: index,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(TimestampError::NoSigner))
}

fn malformed(structure: &'static str) -> impl Fn(&'static str) -> TimestampError {
    move |reason| TimestampError::Malformed {
        structure,
        reason: reason.to_owned(),
    }
}

/// Walks ContentInfo → SignedData (RFC 5652 §3, §5.1).
fn parse_signed_data(der: &[u8], max_certs: usize) -> Result<SignedData<'_>, TimestampError> {
    let (content_info, rest) = asn1::split_tlv(der).map_err(malformed("ContentInfo"))?;
    if content_info.tag != tag::SEQUENCE || !rest.is_empty() {
        return Err(malformed("ContentInfo")("not a single SEQUENCE"));
    }
    let mut ci = Members::new(content_info.value);
    let content_type = ci
        .expect(tag::OID)
        .map_err(malformed("ContentInfo.contentType"))?;
    let content_type =
        asn1::oid(content_type.value).map_err(malformed("ContentInfo.contentType"))?;
    if content_type != oid::SIGNED_DATA {
        return Err(TimestampError::NotSignedData {
            found: oid_name(&content_type),
        });
    }
    let explicit = ci
        .expect(tag::CTX0)
        .map_err(malformed("ContentInfo.content"))?;
    ci.finish().map_err(malformed("ContentInfo"))?;
    let mut wrapper = Members::new(explicit.value);
    let signed_data = wrapper
        .expect(tag::SEQUENCE)
        .map_err(malformed("SignedData"))?;
    wrapper.finish().map_err(malformed("ContentInfo.content"))?;

    let mut sd = Members::new(signed_data.value);
    let version = sd
        .expect(tag::INTEGER)
        .map_err(malformed("SignedData.version"))?;
    let version = asn1::small_int(version.value).map_err(malformed("SignedData.version"))?;
    if version != 3 {
        return Err(TimestampError::SignedDataVersion { found: version });
    }

    let algs = sd
        .expect(tag::SET)
        .map_err(malformed("SignedData.digestAlgorithms"))?;
    let mut digest_algorithms = Vec::new();
    let mut members = Members::new(algs.value);
    while let Some(alg) = members
        .next_any()
        .map_err(malformed("SignedData.digestAlgorithms"))?
    {
        if digest_algorithms.len() >= MAX_DIGEST_ALGORITHMS {
            return Err(malformed("SignedData.digestAlgorithms")("too many entries"));
        }
        let alg =
            AlgorithmIdentifierOwned::from_der(alg.raw).map_err(|e| TimestampError::Malformed {
                structure: "SignedData.digestAlgorithms",
                reason: e.to_string(),
            })?;
        digest_algorithms.push(alg.oid);
    }

    let encap = sd
        .expect(tag::SEQUENCE)
        .map_err(malformed("SignedData.encapContentInfo"))?;
    let mut ec = Members::new(encap.value);
    let e_content_type = ec.expect(tag::OID).map_err(malformed("eContentType"))?;
    let e_content_type = asn1::oid(e_content_type.value).map_err(malformed("eContentType"))?;
    let content = match ec.optional(tag::CTX0).map_err(malformed("eContent"))? {
        Some(explicit) => {
            let mut inner = Members::new(explicit.value);
            let octets = inner
                .expect(tag::OCTET_STRING)
                .map_err(malformed("eContent"))?;
            inner.finish().map_err(malformed("eContent"))?;
            Some(octets.value)
        }
        None => None,
    };
    ec.finish()
        .map_err(malformed("SignedData.encapContentInfo"))?;

    let mut certificates = Vec::new();
    if let Some(set) = sd
        .optional(tag::CTX0)
        .map_err(malformed("SignedData.certificates"))?
    {
        let mut members = Members::new(set.value);
        while let Some(choice) = members
            .next_any()
            .map_err(malformed("SignedData.certificates"))?
        {
            let index = certificates.len();
            if index >= max_certs {
                return Err(TimestampError::TooManyCertificates { max: max_certs });
            }
            if choice.tag != tag::SEQUENCE {
                return Err(TimestampError::NonX509Certificate {
                    index,
                    tag: choice.tag,
                });
            }
            let cert = Certificate::from_der(choice.raw)
                .map_err(|source| TimestampError::BadCertificate { index, source })?;
            certificates.push(cert);
        }
    }
    // CRLs are not used: revocation of the TSA chain is the caller's step 9.
    sd.optional(tag::CTX1)
        .map_err(malformed("SignedData.crls"))?;

    let infos = sd
        .expect(tag::SET)
        .map_err(malformed("SignedData.signerInfos"))?;
    sd.finish().map_err(malformed("SignedData"))?;
    let mut signers = Vec::new();
    let mut members = Members::new(infos.value);
    while let Some(info) = members
        .next_any()
        .map_err(malformed("SignedData.signerInfos"))?
    {
        if signers.len() >= MAX_TIMESTAMP_SIGNERS {
            return Err(TimestampError::TooManySigners {
                max: MAX_TIMESTAMP_SIGNERS,
            });
        }
        let signer = signers.len();
        let info = parse_signer_info(info)
            .map_err(|reason| TimestampError::MalformedSignerInfo { signer, reason })?;
        signers.push(info);
    }
    Ok(SignedData {
        digest_algorithms,
        content_type: e_content_type,
        content,
        certificates,
        signers,
    })
}

/// Walks one SignerInfo (RFC 5652 §5.3).
fn parse_signer_info(info: Tlv<'_>) -> Result<SignerInfo<'_>, String> {
    if info.tag != tag::SEQUENCE {
        return Err("not a SEQUENCE".into());
    }
    let mut m = Members::new(info.value);
    let version = m
        .expect(tag::INTEGER)
        .map_err(|e| format!("version: {e}"))?;
    let version = asn1::small_int(version.value).map_err(|e| format!("version: {e}"))?;
    let sid = m
        .next_any()
        .map_err(|e| format!("sid: {e}"))?
        .ok_or("sid: missing element")?;
    let alg = |m: &mut Members<'_>, what: &str| -> Result<AlgorithmIdentifierOwned, String> {
        let tlv = m
            .expect(tag::SEQUENCE)
            .map_err(|e| format!("{what}: {e}"))?;
        AlgorithmIdentifierOwned::from_der(tlv.raw).map_err(|e| format!("{what}: {e}"))
    };
    let digest_algorithm = alg(&mut m, "digestAlgorithm")?;
    let signed_attrs = m
        .optional(tag::CTX0)
        .map_err(|e| format!("signedAttrs: {e}"))?;
    let signature_algorithm = alg(&mut m, "signatureAlgorithm")?;
    let signature = m
        .expect(tag::OCTET_STRING)
        .map_err(|e| format!("signature: {e}"))?
        .value;
    m.optional(tag::CTX1)
        .map_err(|e| format!("unsignedAttrs: {e}"))?;
    m.finish().map_err(str::to_owned)?;
    Ok(SignerInfo {
        version,
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature,
    })
}

/// Steps 3 and 4: decode the TSTInfo, check version and imprint, read genTime and accuracy.
fn check_tst_info(tst_der: &[u8], imprint: Imprint<'_>) -> Result<TstFacts, TimestampError> {
    let info: asn1::TstInfo<'_> =
        asn1::decode(tst_der).map_err(TimestampError::MalformedTstInfo)?;
    let raw_time = info.gen_time;
    if raw_time.tag() != Tag::GeneralizedTime {
        return Err(TimestampError::MalformedTstInfo(format!(
            "genTime has tag {}, expected GeneralizedTime",
            raw_time.tag()
        )));
    }
    let gen_time =
        der_time::generalized_time(raw_time.value(), Fraction::Allowed).map_err(|e| {
            TimestampError::BadGenTime {
                value: String::from_utf8_lossy(raw_time.value()).into_owned(),
                reason: e.reason(),
            }
        })?;
    if info.version != 1 {
        return Err(TimestampError::TstInfoVersion {
            found: info.version,
        });
    }
    let alg = &info.message_imprint.hash_algorithm.oid;
    let hash =
        HashAlgorithm::from_oid(alg).ok_or_else(|| TimestampError::UnsupportedImprintHash {
            found: oid_name(alg),
        })?;
    let expected = match imprint {
        Imprint::Message(message) => hash.digest(message),
        Imprint::Digest(expected_hash, digest) => {
            if expected_hash != hash {
                return Err(TimestampError::ImprintHashMismatch {
                    expected: expected_hash,
                    found: hash,
                });
            }
            digest.to_vec()
        }
    };
    let found = info.message_imprint.hashed_message.as_bytes();
    if found != expected.as_slice() {
        return Err(TimestampError::ImprintMismatch {
            hash,
            expected: hex(&expected),
            found: hex(found),
        });
    }
    let accuracy = accuracy(info.accuracy.as_ref(), &info.policy)?;
    Ok(TstFacts {
        gen_time,
        accuracy,
        hash,
        policy: info.policy,
    })
}

/// The accuracy rule of §5.4 step 4.
fn accuracy(
    acc: Option<&asn1::Accuracy>,
    policy: &ObjectIdentifier,
) -> Result<Duration, TimestampError> {
    let (seconds, millis, micros) = acc
        .map(|a| {
            (
                a.seconds.unwrap_or(0),
                a.millis.unwrap_or(0),
                a.micros.unwrap_or(0),
            )
        })
        .unwrap_or((0, 0, 0));
    let seconds =
        u64::try_from(seconds).map_err(|_| TimestampError::BadAccuracy("seconds is negative"))?;
    let sub = |v: i64, what| {
        u32::try_from(v)
            .ok()
            .filter(|v| *v <= 999)
            .ok_or(TimestampError::BadAccuracy(what))
    };
    let millis = sub(millis, "millis is outside 0..=999")?;
    let micros = sub(micros, "micros is outside 0..=999")?;
    let accuracy = Duration::new(seconds, millis * 1_000_000 + micros * 1_000);
    if accuracy.is_zero() && *policy == oid::TSP_BASELINE_POLICY {
        // RFC 3628 §7.3.2 baseline: accuracy of one second or better.
        return Ok(Duration::from_secs(1));
    }
    Ok(accuracy)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One signed attribute: its type, its first value and how many values it has.
struct Attribute<'a> {
    kind: ObjectIdentifier,
    first: Option<Tlv<'a>>,
    count: usize,
}

fn parse_attributes(set: &[u8]) -> Result<Vec<Attribute<'_>>, String> {
    let mut out = Vec::new();
    let mut members = Members::new(set);
    while let Some(attr) = members.next_any()? {
        let index = out.len();
        if index >= MAX_SIGNED_ATTRIBUTES {
            return Err(format!("more than {MAX_SIGNED_ATTRIBUTES} attributes"));
        }
        let bad = |what: &str| format!("attribute {index}: {what}");
        if attr.tag != tag::SEQUENCE {
            return Err(bad("not a SEQUENCE"));
        }
        let mut m = Members::new(attr.value);
        let kind = m
            .expect(tag::OID)
            .and_then(|t| asn1::oid(t.value))
            .map_err(|e| bad(&format!("attrType: {e}")))?;
        let bad = |what: &str| format!("attribute {index} ({}): {what}", oid_name(&kind));
        let set = m
            .expect(tag::SET)
            .map_err(|e| bad(&format!("attrValues is not a SET: {e}")))?;
        m.finish().map_err(&bad)?;
        let (mut first, mut count) = (None, 0usize);
        let mut vm = Members::new(set.value);
        while let Some(v) = vm.next_any().map_err(&bad)? {
            first.get_or_insert(v);
            count += 1;
        }
        out.push(Attribute { kind, first, count });
    }
    Ok(out)
}

/// The one value of attribute `kind`, if the attribute is present; errors if it repeats or
/// does not have exactly one value.
fn single<'a>(
    attrs: &[Attribute<'a>],
    kind: ObjectIdentifier,
    name: &'static str,
    signer: usize,
) -> Result<Option<Tlv<'a>>, TimestampError> {
    let mut found = attrs.iter().filter(|a| a.kind == kind);
    let Some(first) = found.next() else {
        return Ok(None);
    };
    match first.first {
        Some(value) if first.count == 1 && found.next().is_none() => Ok(Some(value)),
        _ => Err(TimestampError::AttributeNotSingle {
            signer,
            attribute: name,
        }),
    }
}

/// An issuer name and serial number that point at a certificate.
struct CertId {
    /// The issuer Name, DER re-encoded the way [`Certificate::issuer_der`] is.
    issuer: Vec<u8>,
    serial: SerialNumber,
}

impl CertId {
    fn new(name_tlv: &[u8], serial_tlv: &[u8]) -> Option<Self> {
        let issuer = Name::from_der(name_tlv).ok()?.to_der().ok()?;
        let serial = SerialNumber::from_der(serial_tlv).ok()?;
        Some(Self { issuer, serial })
    }

    /// `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }`
    fn from_sid(sid: Tlv<'_>) -> Option<Self> {
        if sid.tag != tag::SEQUENCE {
            return None;
        }
        let mut m = Members::new(sid.value);
        let name = m.expect(tag::SEQUENCE).ok()?;
        let serial = m.expect(tag::INTEGER).ok()?;
        m.finish().ok()?;
        Self::new(name.raw, serial.raw)
    }

    fn matches(&self, cert: &Certificate) -> bool {
        cert.issuer_der() == self.issuer.as_slice()
            && cert.inner().tbs_certificate().serial_number() == &self.serial
    }
}

/// Step 6 for one signerInfo, then step 7 on the chain it builds.
fn verify_signer(
    signed: &SignedData<'_>,
    signer: usize,
    info: &SignerInfo<'_>,
    tst_der: &[u8],
    facts: &TstFacts,
    tsa_roots: &[&Certificate],
    max_chain_len: usize,
) -> Result<(Vec<Certificate>, Vec<ChainNote>), TimestampError> {
    if info.version != 1 {
        return Err(TimestampError::SignerVersion {
            signer,
            found: info.version,
        });
    }
    // An empty [0] is no attributes at all (SignedAttributes is SET SIZE (1..MAX)).
    let attrs_tlv = info
        .signed_attrs
        .filter(|a| !a.value.is_empty())
        .ok_or(TimestampError::MissingSignedAttributes { signer })?;
    let attrs = parse_attributes(attrs_tlv.value)
        .map_err(|reason| TimestampError::MalformedSignedAttributes { signer, reason })?;

    // The signing certificate, from signing-certificate-v2 (RFC 5816).
    let Some(scv2) = single(
        &attrs,
        oid::AA_SIGNING_CERTIFICATE_V2,
        "signingCertificateV2",
        signer,
    )?
    else {
        return Err(TimestampError::SigningCertificateV2Missing {
            signer,
            v1_present: single(
                &attrs,
                oid::AA_SIGNING_CERTIFICATE,
                "signingCertificate",
                signer,
            )?
            .is_some(),
        });
    };
    let malformed_attr = |attribute: &'static str| {
        move |reason: String| TimestampError::MalformedAttribute {
            signer,
            attribute,
            reason,
        }
    };
    let ess = asn1::first_ess_cert_id_v2(scv2.raw)
        .map_err(malformed_attr("signingCertificateV2"))?
        .ok_or(TimestampError::SigningCertificateV2Empty { signer })?;
    let cert_hash = match &ess.hash_algorithm {
        None => HashAlgorithm::Sha256,
        Some(alg) => HashAlgorithm::from_oid(&alg.oid).ok_or_else(|| {
            TimestampError::UnsupportedCertHash {
                signer,
                found: oid_name(&alg.oid),
            }
        })?,
    };
    let sid = CertId::from_sid(info.sid);
    let (reference, by) = match &ess.issuer_serial {
        Some(is) => (issuer_serial_id(is, signer)?, "ESSCertIDv2 issuerSerial"),
        None => (sid, "signerInfo sid"),
    };
    let found = reference.and_then(|r| signed.certificates.iter().position(|c| r.matches(c)));
    let Some(leaf_index) = found else {
        return Err(TimestampError::SigningCertificateNotFound { signer, by });
    };
    let leaf = &signed.certificates[leaf_index];
    if ess.issuer_serial.is_some() && !CertId::from_sid(info.sid).is_some_and(|s| s.matches(leaf)) {
        return Err(TimestampError::SignerIdentifierMismatch {
            signer,
            subject: leaf.subject(),
        });
    }
    if cert_hash.digest(leaf.der()) != ess.cert_hash.as_bytes() {
        return Err(TimestampError::CertHashMismatch {
            signer,
            subject: leaf.subject(),
            hash: cert_hash,
        });
    }

    // The digest of the TSTInfo and the other signed attributes (RFC 5652 §5.4, §11).
    let digest_oid = &info.digest_algorithm.oid;
    let digest = HashAlgorithm::from_oid(digest_oid).ok_or_else(|| {
        TimestampError::UnsupportedDigestAlgorithm {
            signer,
            found: oid_name(digest_oid),
        }
    })?;
    if !signed.digest_algorithms.contains(digest_oid) {
        return Err(TimestampError::DigestAlgorithmNotListed {
            signer,
            found: oid_name(digest_oid),
        });
    }
    let content_type = single(&attrs, oid::AA_CONTENT_TYPE, "contentType", signer)?.ok_or(
        TimestampError::AttributeMissing {
            signer,
            attribute: "contentType",
        },
    )?;
    let content_type = (content_type.tag == tag::OID)
        .then(|| asn1::oid(content_type.value).ok())
        .flatten()
        .ok_or_else(|| malformed_attr("contentType")("not an OBJECT IDENTIFIER".into()))?;
    if content_type != signed.content_type {
        return Err(TimestampError::ContentTypeMismatch {
            signer,
            found: oid_name(&content_type),
        });
    }
    let message_digest = single(&attrs, oid::AA_MESSAGE_DIGEST, "messageDigest", signer)?.ok_or(
        TimestampError::AttributeMissing {
            signer,
            attribute: "messageDigest",
        },
    )?;
    if message_digest.tag != tag::OCTET_STRING {
        return Err(malformed_attr("messageDigest")(
            "not an OCTET STRING".into(),
        ));
    }
    if message_digest.value != digest.digest(tst_der).as_slice() {
        return Err(TimestampError::MessageDigestMismatch {
            signer,
            hash: digest,
        });
    }
    let signing_time = match single(&attrs, oid::AA_SIGNING_TIME, "signingTime", signer)? {
        None => None,
        Some(t) => Some(
            match t.tag {
                tag::UTC_TIME => der_time::utc_time(t.value).map_err(|e| match e {
                    // UTCTime used to be read as GeneralizedTime behind a century, where a
                    // `.` in the zone's place started an (empty) fraction; the text stays.
                    DerTimeError::NotUtc if t.value.last() == Some(&b'.') => {
                        DerTimeError::EmptyFraction.reason()
                    }
                    e => e.reason(),
                }),
                tag::GENERALIZED_TIME => {
                    der_time::generalized_time(t.value, Fraction::Allowed).map_err(|e| e.reason())
                }
                _ => Err("neither UTCTime nor GeneralizedTime"),
            }
            .map_err(|e| malformed_attr("signingTime")(e.to_owned()))?,
        ),
    };

    // The signature over the DER SET OF signed attributes: the received [0] IMPLICIT bytes
    // with the identifier octet swapped for SET (RFC 5652 §5.4).
    let scheme = X509Scheme::from_cms(&info.digest_algorithm, &info.signature_algorithm)
        .map_err(|source| TimestampError::SignatureAlgorithm { signer, source })?;
    let key = leaf.public_key().map_err(|e| TimestampError::SignerKey {
        signer,
        subject: leaf.subject(),
        reason: e.to_string(),
    })?;
    let mut signed_attrs = attrs_tlv.raw.to_vec();
    signed_attrs[0] = tag::SET;
    if !key.verify_x509(scheme, &signed_attrs, info.signature) {
        return Err(TimestampError::BadSignature {
            signer,
            subject: leaf.subject(),
        });
    }

    // The chain to a tsa root, at genTime.
    let refs = path::build(
        &signed.certificates,
        leaf_index,
        tsa_roots,
        facts.gen_time,
        signing_time,
        max_chain_len,
    )
    .map_err(|e| path_error(e, signer, leaf, facts.gen_time, signing_time))?;
    let chain: Vec<Certificate> = refs
        .iter()
        .map(|r| match *r {
            CertRef::Token(i) => signed.certificates[i].clone(),
            CertRef::Root(i) => tsa_roots[i].clone(),
        })
        .collect();
    // Step 7.
    let notes = validate_chain(&chain, ChainPurpose::Timestamping, max_chain_len)
        .map_err(|source| TimestampError::TsaChain { signer, source })?;
    Ok((chain, notes))
}

/// Reads ESSCertIDv2.issuerSerial: the first GeneralName must be a directoryName (as
/// tspclient-go reads it).
fn issuer_serial_id(
    is: &asn1::IssuerSerial<'_>,
    signer: usize,
) -> Result<Option<CertId>, TimestampError> {
    let missing = TimestampError::IssuerSerialWithoutDirectoryName { signer };
    if is.issuer.tag() != Tag::Sequence {
        return Err(missing);
    }
    let mut names = Members::new(is.issuer.value());
    let first = match names.next_any() {
        Ok(Some(first)) if first.tag == tag::CTX4 => first,
        _ => return Err(missing),
    };
    let serial = is
        .serial_number
        .to_der()
        .map_err(|e| TimestampError::MalformedAttribute {
            signer,
            attribute: "signingCertificateV2",
            reason: e.to_string(),
        })?;
    Ok(CertId::new(first.value, &serial))
}

fn path_error(
    e: PathError,
    signer: usize,
    leaf: &Certificate,
    gen_time: Timestamp,
    signing_time: Option<Timestamp>,
) -> TimestampError {
    match e {
        PathError::NotValidAt {
            subject,
            not_before,
            not_after,
        } => TimestampError::CertificateNotValidAtGenTime {
            signer,
            subject,
            not_before,
            not_after,
            gen_time,
        },
        PathError::UnhandledCriticalExtension { subject, oid } => {
            TimestampError::UnhandledCriticalExtension {
                signer,
                subject,
                oid,
            }
        }
        PathError::Eku { subject } => TimestampError::EkuNotPermitted { signer, subject },
        PathError::SigningTime { subject } => TimestampError::SigningTimeOutsideValidity {
            signer,
            // Only reported when the attribute is present.
            signing_time: signing_time.unwrap_or(gen_time),
            subject,
        },
        PathError::Untrusted { hint } => TimestampError::UntrustedTsa {
            signer,
            subject: leaf.subject(),
            hint,
        },
        PathError::Budget => TimestampError::UntrustedTsa {
            signer,
            subject: leaf.subject(),
            hint: Some("signature check attempts limit reached while building the chain".into()),
        },
    }
}
