//! OCSP responses (RFC 6960) as the offline revocation set uses them: NOTARY-VERIFY §7 "OCSP
//! details". Pure: no I/O, no clock. The responses were fetched on a connected machine
//! (`notaryd bundle create`, which sends [`request_der`]) and are judged here.
//!
//! [`OcspResponse::parse_and_verify`] follows what notation does with a response body, which is
//! golang.org/x/crypto/ocsp `ParseResponseForCert(body, cert, issuer)`:
//!
//! - the body is capped at [`MAX_RESPONSE_BYTES`] (notation-core-go `ocspMaxResponseSize`),
//!   checked before parsing;
//! - `responseStatus` must be `successful` and `responseType` `id-pkix-ocsp-basic`;
//! - the signature is checked over the received `tbsResponseData` bytes, with the key of the
//!   issuer (the CA answers itself) or of a certificate carried in `certs` that is issued by the
//!   issuer: Go tries each carried certificate and keeps the first whose key verifies the
//!   response, then checks the issuer's signature on it;
//! - the responder certificate's validity period is **not** checked, and the `ResponderID`
//!   (byName or byKey) is only parsed, never matched against the signer: Go does neither. The
//!   responder certificate is exposed ([`OcspResponse::responder`]) for a caller that wants to;
//! - a critical single extension refuses the response; response extensions are ignored;
//! - CertID hash algorithms SHA-1, SHA-256, SHA-384 and SHA-512 are recognised;
//! - `nextUpdate` may be absent (notation then treats the response as expired: the caller's
//!   freshness rule, see [`SingleStatus::next_update`]).
//!
//! Deliberate differences from Go, all stricter:
//!
//! - a delegated responder certificate must carry the `id-kp-OCSPSigning` extended key usage
//!   (RFC 6960 §4.2.2.2, NOTARY-VERIFY §7); Go does not check it. `anyExtendedKeyUsage` does
//!   not count;
//! - the responder certificate must name the issuer as its issuer (byte comparison of the
//!   names, as in chain validation) besides carrying its signature; Go checks the signature
//!   only;
//! - SHA-1 signatures (on the response or on the responder certificate) are refused, as
//!   everywhere in the core; Go's low-level `CheckSignature` accepts them;
//! - a response may be signed by the issuer even when it carries certificates (Go then insists
//!   on one of the carried certificates, and in current x/crypto panics on a nil error when
//!   none verifies);
//! - [`OcspResponse::status_for`] matches the whole CertID (serial, issuerNameHash and
//!   issuerKeyHash under the CertID's own hash), where Go matches the serial number only;
//! - a critical extension on *any* single response refuses the whole response (Go looks only
//!   at the one it selected); a single response with an unknown CertID hash algorithm never
//!   matches instead of failing the response;
//! - DER is required throughout: trailing data or extra elements inside a SEQUENCE are
//!   refused (Go's `encoding/asn1` ignores extra trailing elements of a SEQUENCE), and
//!   times must be GeneralizedTime in UTC (`Z`); fractional seconds are accepted, as in Go;
//! - at most [`MAX_RESPONDER_CERTIFICATES`] certificates may be carried.

use std::fmt;

use der::asn1::{AnyRef, IntRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;

use crate::crypto::{AlgorithmError, KeyError, X509Scheme};
use crate::oid;
use crate::time::Timestamp;
use crate::x509::{Certificate, CertificateError, SignatureCheckError};

/// Largest OCSP response accepted, in bytes, checked before parsing. notation-core-go reads at
/// most 20 KiB of a responder's answer (`ocspMaxResponseSize`, citing IBM's `ocsp-max-response-
/// size`); a typical response is 1–4 KiB. This cap also bounds every count inside a response:
/// a SingleResponse takes at least about 40 bytes, so a response holds at most ~500 of them.
pub const MAX_RESPONSE_BYTES: usize = 20 * 1024;

/// Most certificates a response may carry in `BasicOCSPResponse.certs`. RFC 6960 expects one
/// (the delegated responder's); Go accepts several because some responders send their chain
/// (golang/go#21527, #59641) and tries each against the signature. 16 is generous and bounds
/// the signature checks to 17 per response.
pub const MAX_RESPONDER_CERTIFICATES: usize = 16;

/// id-pkix-ocsp-basic (RFC 6960 §4.2.1).
pub const ID_PKIX_OCSP_BASIC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-ce-invalidityDate (RFC 5280 §5.3.2), read from singleExtensions as notation does.
pub const ID_CE_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");

/// The RFC 6960 ASN.1 types, decoded and encoded with `der` derive. Each keeps borrowed slices
/// of the input; nothing here checks a signature.
pub mod asn1 {
    use der::asn1::{AnyRef, BitStringRef, IntRef, Null, ObjectIdentifier, OctetStringRef};
    use der::{
        Choice, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer,
    };
    use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};
    use x509_cert::name::Name;

    use crate::der_time::{self, Fraction};
    use crate::time::Timestamp;

    /// One DER element of any type, kept exactly as received (identifier, length, contents):
    /// the signed `tbsResponseData` and the carried certificates.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RawTlv<'a>(pub &'a [u8]);

    impl<'a> der::Decode<'a> for RawTlv<'a> {
        type Error = der::Error;

        fn decode<R: Reader<'a>>(reader: &mut R) -> der::Result<Self> {
            Ok(Self(reader.tlv_bytes()?))
        }
    }

    impl der::Encode for RawTlv<'_> {
        fn encoded_len(&self) -> der::Result<Length> {
            Length::try_from(self.0.len())
        }

        fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
            writer.write(self.0)
        }
    }

    /// An ENUMERATED whose value lies in 0..=255 (`OCSPResponseStatus`, `CRLReason`). Other
    /// values, and non-minimal encodings, do not decode.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SmallEnumerated(pub u8);

    impl FixedTag for SmallEnumerated {
        const TAG: Tag = Tag::Enumerated;
    }

    impl<'a> DecodeValue<'a> for SmallEnumerated {
        type Error = der::Error;

        fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
            match *reader.read_slice(header.length())? {
                [b] if b < 0x80 => Ok(Self(b)),
                [0x00, b] if b >= 0x80 => Ok(Self(b)),
                _ => Err(reader.error(Tag::Enumerated.value_error())),
            }
        }
    }

    impl EncodeValue for SmallEnumerated {
        fn value_len(&self) -> der::Result<Length> {
            Ok(Length::new(if self.0 >= 0x80 { 2 } else { 1 }))
        }

        fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
            if self.0 >= 0x80 {
                writer.write(&[0x00, self.0])
            } else {
                writer.write(&[self.0])
            }
        }
    }

    /// A GeneralizedTime that may carry fractional seconds (`YYYYMMDDhhmmss[.f]Z`), which
    /// some responders write and Go accepts; `der::asn1::GeneralizedTime` refuses them. The
    /// zone must be `Z` (DER). The received text is kept for re-encoding.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OcspTime<'a> {
        /// The instant.
        pub at: Timestamp,
        /// The text as received.
        pub text: &'a [u8],
    }

    impl FixedTag for OcspTime<'_> {
        const TAG: Tag = Tag::GeneralizedTime;
    }

    impl<'a> DecodeValue<'a> for OcspTime<'a> {
        type Error = der::Error;

        fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
            let text = reader.read_slice(header.length())?;
            match der_time::generalized_time(text, Fraction::Allowed) {
                Ok(at) => Ok(Self { at, text }),
                Err(_) => Err(reader.error(Tag::GeneralizedTime.value_error())),
            }
        }
    }

    impl EncodeValue for OcspTime<'_> {
        fn value_len(&self) -> der::Result<Length> {
            Length::try_from(self.text.len())
        }

        fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
            writer.write(self.text)
        }
    }

    /// `Extension` (RFC 5280 §4.1) with `critical` read as optional, so that an explicitly
    /// encoded FALSE (which Go accepts) decodes.
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct Extension<'a> {
        /// extnID.
        pub extn_id: ObjectIdentifier,
        /// critical BOOLEAN DEFAULT FALSE.
        #[asn1(optional = "true")]
        pub critical: Option<bool>,
        /// extnValue.
        pub extn_value: &'a OctetStringRef,
    }

    /// `OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus,
    /// responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct OcspResponse<'a> {
        /// responseStatus.
        pub response_status: SmallEnumerated,
        /// responseBytes.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub response_bytes: Option<ResponseBytes<'a>>,
    }

    /// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct ResponseBytes<'a> {
        /// responseType.
        pub response_type: ObjectIdentifier,
        /// response: for id-pkix-ocsp-basic, a DER BasicOCSPResponse.
        pub response: &'a OctetStringRef,
    }

    /// `BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData,
    /// signatureAlgorithm AlgorithmIdentifier, signature BIT STRING,
    /// certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }`
    ///
    /// `tbsResponseData` is kept raw: the signature covers exactly those bytes. Decode it with
    /// [`ResponseData`].
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct BasicOcspResponse<'a> {
        /// tbsResponseData, as received.
        pub tbs_response_data: RawTlv<'a>,
        /// signatureAlgorithm.
        pub signature_algorithm: AlgorithmIdentifierOwned,
        /// signature.
        pub signature: BitStringRef<'a>,
        /// certs, each as received.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub certs: Option<Vec<RawTlv<'a>>>,
    }

    /// `ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
    /// responderID ResponderID, producedAt GeneralizedTime,
    /// responses SEQUENCE OF SingleResponse,
    /// responseExtensions [1] EXPLICIT Extensions OPTIONAL }`
    ///
    /// `version` is read as optional so that an explicitly encoded v1 decodes (Go accepts it).
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct ResponseData<'a> {
        /// version.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub version: Option<i64>,
        /// responderID.
        pub responder_id: ResponderId<'a>,
        /// producedAt.
        pub produced_at: OcspTime<'a>,
        /// responses.
        pub responses: Vec<SingleResponse<'a>>,
        /// responseExtensions.
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub response_extensions: Option<Vec<Extension<'a>>>,
    }

    /// `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }` (EXPLICIT tags: the
    /// module is EXPLICIT TAGS and Name is a CHOICE).
    #[derive(Clone, Debug, PartialEq, Eq, Choice)]
    pub enum ResponderId<'a> {
        /// byName: the responder's subject Name.
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
        ByName(Name),
        /// byKey: SHA-1 of the responder's subjectPublicKey BIT STRING contents.
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
        ByKey(&'a OctetStringRef),
    }

    /// `SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus,
    /// thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL,
    /// singleExtensions [1] EXPLICIT Extensions OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct SingleResponse<'a> {
        /// certID.
        pub cert_id: CertId<'a>,
        /// certStatus.
        pub cert_status: CertStatus<'a>,
        /// thisUpdate.
        pub this_update: OcspTime<'a>,
        /// nextUpdate.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub next_update: Option<OcspTime<'a>>,
        /// singleExtensions.
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub single_extensions: Option<Vec<Extension<'a>>>,
    }

    /// `CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
    /// issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct CertId<'a> {
        /// hashAlgorithm.
        pub hash_algorithm: AlgorithmIdentifierRef<'a>,
        /// issuerNameHash: hash of the issuer's subject DER.
        pub issuer_name_hash: &'a OctetStringRef,
        /// issuerKeyHash: hash of the issuer's subjectPublicKey BIT STRING contents.
        pub issuer_key_hash: &'a OctetStringRef,
        /// serialNumber (DER INTEGER contents, minimal).
        pub serial_number: IntRef<'a>,
    }

    /// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
    /// unknown [2] IMPLICIT UnknownInfo }`
    #[derive(Clone, Debug, PartialEq, Eq, Choice)]
    pub enum CertStatus<'a> {
        /// good.
        #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
        Good(Null),
        /// revoked.
        #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
        Revoked(RevokedInfo<'a>),
        /// unknown.
        #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
        Unknown(Null),
    }

    /// `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
    /// revocationReason [0] EXPLICIT CRLReason OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct RevokedInfo<'a> {
        /// revocationTime.
        pub revocation_time: OcspTime<'a>,
        /// revocationReason.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub revocation_reason: Option<SmallEnumerated>,
    }

    /// `OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest,
    /// optionalSignature [0] EXPLICIT Signature OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct OcspRequest<'a> {
        /// tbsRequest.
        pub tbs_request: TbsRequest<'a>,
        /// optionalSignature (never written by notaryd).
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub optional_signature: Option<AnyRef<'a>>,
    }

    /// `TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
    /// requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
    /// requestExtensions [2] EXPLICIT Extensions OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct TbsRequest<'a> {
        /// version.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub version: Option<i64>,
        /// requestorName (a GeneralName).
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub requestor_name: Option<AnyRef<'a>>,
        /// requestList.
        pub request_list: Vec<Request<'a>>,
        /// requestExtensions (a nonce, for instance).
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
        pub request_extensions: Option<Vec<Extension<'a>>>,
    }

    /// `Request ::= SEQUENCE { reqCert CertID,
    /// singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }`
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct Request<'a> {
        /// reqCert.
        pub req_cert: CertId<'a>,
        /// singleRequestExtensions.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub single_request_extensions: Option<Vec<Extension<'a>>>,
    }
}

/// `OCSPResponseStatus` (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    /// successful (0).
    Successful,
    /// malformedRequest (1).
    MalformedRequest,
    /// internalError (2).
    InternalError,
    /// tryLater (3).
    TryLater,
    /// sigRequired (5).
    SigRequired,
    /// unauthorized (6).
    Unauthorized,
    /// Any other value (4 is unused by RFC 6960).
    Other(u8),
}

impl ResponseStatus {
    /// Maps the ENUMERATED value.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Successful,
            1 => Self::MalformedRequest,
            2 => Self::InternalError,
            3 => Self::TryLater,
            5 => Self::SigRequired,
            6 => Self::Unauthorized,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Successful => f.write_str("successful (0)"),
            Self::MalformedRequest => f.write_str("malformedRequest (1)"),
            Self::InternalError => f.write_str("internalError (2)"),
            Self::TryLater => f.write_str("tryLater (3)"),
            Self::SigRequired => f.write_str("sigRequired (5)"),
            Self::Unauthorized => f.write_str("unauthorized (6)"),
            Self::Other(n) => write!(f, "unassigned status ({n})"),
        }
    }
}

/// Why an OCSP response is refused. Every variant names the response as "OCSP response" and,
/// where a signer is involved, the issuer it was checked against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspError {
    /// The response is larger than [`MAX_RESPONSE_BYTES`]; nothing was parsed.
    #[error("OCSP response is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A structure does not decode as DER of the RFC 6960 shape.
    #[error("OCSP response is malformed: {structure}: {reason}")]
    Malformed {
        /// The ASN.1 structure that failed (`OCSPResponse`, `BasicOCSPResponse`, …).
        structure: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `responseStatus` is not `successful` (the responder answered with an error).
    #[error("OCSP response status is {status}, not successful")]
    NotSuccessful {
        /// The status received.
        status: ResponseStatus,
    },
    /// `responseType` is not id-pkix-ocsp-basic (RFC 6960 defines no other).
    #[error("OCSP response type {oid} is not id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1)")]
    UnsupportedResponseType {
        /// The type received.
        oid: String,
    },
    /// `BasicOCSPResponse.certs` holds more than [`MAX_RESPONDER_CERTIFICATES`] certificates;
    /// none was parsed.
    #[error("OCSP response carries {count} certificates, more than the limit of {max}")]
    TooManyCertificates {
        /// How many.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// A certificate carried in the response does not parse (Go refuses the response too).
    #[error("certificate {index} carried in the OCSP response does not parse: {error}")]
    CarriedCertificate {
        /// 0-based position in `certs`.
        index: usize,
        /// Why.
        error: CertificateError,
    },
    /// A single response carries a critical extension (Go: "unsupported critical extension").
    #[error(
        "OCSP response: the single response for serial {serial} has the critical extension {oid}, which is not supported"
    )]
    CriticalSingleExtension {
        /// Serial number of that single response, in hex.
        serial: String,
        /// The extension.
        oid: String,
    },
    /// The response's signature algorithm is refused (SHA-1) or unknown.
    #[error("OCSP response signature algorithm is refused: {0}")]
    SignatureAlgorithm(AlgorithmError),
    /// The issuer's public key cannot be used, so nothing it signed can be checked.
    #[error("OCSP response cannot be checked: issuer {issuer:?} has an unusable key: {error}")]
    IssuerKey {
        /// The issuer's subject.
        issuer: String,
        /// Why.
        error: KeyError,
    },
    /// Neither the issuer's key nor the key of any carried certificate verifies the signature.
    #[error(
        "OCSP response signature does not verify with the key of issuer {issuer:?} nor with any of the {carried} certificates it carries"
    )]
    BadSignature {
        /// The issuer's subject.
        issuer: String,
        /// How many certificates the response carries.
        carried: usize,
    },
    /// The response is signed by a carried certificate that the issuer did not issue (name or
    /// signature).
    #[error(
        "OCSP response is signed by responder {responder:?}, which is not issued by {issuer:?}: {reason}"
    )]
    ResponderNotIssuedByIssuer {
        /// The responder certificate's subject.
        responder: String,
        /// The issuer's subject.
        issuer: String,
        /// The failed check.
        reason: SignatureCheckError,
    },
    /// The response is signed by a delegated responder certificate without the
    /// id-kp-OCSPSigning extended key usage (RFC 6960 §4.2.2.2).
    #[error(
        "OCSP response is signed by responder {responder:?}, whose certificate does not carry the id-kp-OCSPSigning extended key usage"
    )]
    ResponderWithoutOcspSigning {
        /// The responder certificate's subject.
        responder: String,
    },
    /// An OCSP request could not be encoded (a certificate field out of range).
    #[error("OCSP request for serial {serial} cannot be encoded: {reason}")]
    RequestEncoding {
        /// The certificate's serial number, in hex.
        serial: String,
        /// Why.
        reason: String,
    },
}

/// The hash algorithm of a CertID. SHA-1 is allowed here and only here: it names a certificate,
/// it signs nothing (RFC 6960 §4.1.1; notation requests SHA-1 CertIDs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CertIdHash {
    /// SHA-1 (what notation and most responders use).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// Any other algorithm, by OID: such a CertID never matches.
    Other(String),
}

impl CertIdHash {
    fn from_oid(o: &ObjectIdentifier) -> Self {
        match *o {
            oid::SHA1 => Self::Sha1,
            oid::SHA256 => Self::Sha256,
            oid::SHA384 => Self::Sha384,
            oid::SHA512 => Self::Sha512,
            other => Self::Other(other.to_string()),
        }
    }

    fn algorithm(&self) -> Option<&'static aws_lc_rs::digest::Algorithm> {
        use aws_lc_rs::digest;
        Some(match self {
            // CertID hashing only: never a signature.
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
            Self::Other(_) => return None,
        })
    }
}

impl fmt::Display for CertIdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sha1 => f.write_str("SHA-1"),
            Self::Sha256 => f.write_str("SHA-256"),
            Self::Sha384 => f.write_str("SHA-384"),
            Self::Sha512 => f.write_str("SHA-512"),
            Self::Other(o) => f.write_str(o),
        }
    }
}

/// A certificate's status as one single response gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OcspCertStatus {
    /// good.
    Good,
    /// revoked.
    Revoked {
        /// revocationTime.
        time: Timestamp,
        /// revocationReason (a CRLReason code), when given. Go reports an absent reason as 0
        /// (unspecified); it is kept apart here.
        reason: Option<u8>,
    },
    /// unknown: the responder does not know the certificate.
    Unknown,
}

/// What a single response says about one certificate, with the times the caller needs for its
/// freshness rule (NOTARY-VERIFY §7: expired when `now > nextUpdate`; no nextUpdate counts as
/// expired) and for the signingAuthority invalidity-date exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleStatus {
    /// certStatus.
    pub status: OcspCertStatus,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate; `None` when absent, which notation treats as expired.
    pub next_update: Option<Timestamp>,
    /// The invalidityDate single extension (2.5.29.24), read as notation reads it: the last
    /// one when repeated, a DER GeneralizedTime (UTC, fractions allowed); a value that does
    /// not parse is ignored (`None`), as notation ignores it.
    pub invalidity_date: Option<Timestamp>,
}

/// One single response of a verified OCSP response, for listing (`bundle inspect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleResponseInfo {
    /// The CertID serial number (DER INTEGER contents).
    pub serial: Vec<u8>,
    /// The CertID hash algorithm.
    pub hash: CertIdHash,
    /// Whether the CertID's issuerNameHash and issuerKeyHash are those of the issuer the
    /// response was verified for. A single response about another issuer's certificate is
    /// listed but never matched.
    pub for_issuer: bool,
    /// Status and times.
    pub status: SingleStatus,
}

impl SingleResponseInfo {
    /// The serial number in lowercase hex, as inspection prints it.
    pub fn serial_hex(&self) -> String {
        hex(&self.serial)
    }
}

/// `ResponderID` as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderId {
    /// byName: the responder's name.
    ByName(x509_cert::name::Name),
    /// byKey: the key hash (SHA-1 of the responder's subjectPublicKey, per RFC 6960).
    ByKey(Vec<u8>),
}

/// Who signed a verified response.
#[derive(Clone, Debug)]
pub enum Responder {
    /// The issuer itself (the CA answers for its own certificates).
    Issuer,
    /// A delegated responder: issued by the issuer, with id-kp-OCSPSigning.
    Delegated(Box<Certificate>),
}

/// An OCSP response whose signature has been verified, for one issuer.
#[derive(Clone, Debug)]
pub struct OcspResponse {
    issuer: Certificate,
    produced_at: Timestamp,
    responder: Responder,
    responder_id: ResponderId,
    responses: Vec<SingleResponseInfo>,
}

fn malformed(structure: &'static str) -> impl Fn(der::Error) -> OcspError {
    move |e| OcspError::Malformed {
        structure,
        reason: e.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The issuer's subjectPublicKey BIT STRING contents (without the unused-bits octet), which
/// issuerKeyHash covers.
fn issuer_key_bits(issuer: &Certificate) -> &[u8] {
    issuer
        .inner()
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

/// Whether `responder` may sign OCSP responses about `issuer`'s certificates as a delegated
/// responder (RFC 6960 §4.2.2.2): `issuer` issued it (its issuer name equals the issuer's
/// subject and its signature verifies with the issuer's key, SHA-1 refused) and it carries
/// the id-kp-OCSPSigning extended key usage (`anyExtendedKeyUsage` does not count). Its
/// validity period is not checked, as Go does not check it; the `id-pkix-ocsp-nocheck`
/// extension is not looked at (notation has not implemented that rule, NOTARY-VERIFY §7).
pub fn check_delegated_responder(
    responder: &Certificate,
    issuer: &Certificate,
) -> Result<(), OcspError> {
    responder
        .is_issued_by(issuer)
        .map_err(|reason| OcspError::ResponderNotIssuedByIssuer {
            responder: responder.subject(),
            issuer: issuer.subject(),
            reason,
        })?;
    let has_ocsp_signing = responder
        .extensions()
        .extended_key_usage
        .as_ref()
        .is_some_and(|(ekus, _)| ekus.contains(&oid::KP_OCSP_SIGNING));
    if has_ocsp_signing {
        Ok(())
    } else {
        Err(OcspError::ResponderWithoutOcspSigning {
            responder: responder.subject(),
        })
    }
}

impl OcspResponse {
    /// Parses `der` (at most [`MAX_RESPONSE_BYTES`]), requires responseStatus `successful` and
    /// responseType id-pkix-ocsp-basic, and verifies the signature over the received
    /// `tbsResponseData` with `issuer`'s key, or with a certificate carried in the response
    /// that `issuer` issued (name and signature) and that has the id-kp-OCSPSigning EKU.
    /// Structure is checked before any signature. See the module docs for the Go rules and the
    /// differences.
    pub fn parse_and_verify(der: &[u8], issuer: &Certificate) -> Result<Self, OcspError> {
        let (basic, data) = parse_basic(der)?;
        let tbs = basic.tbs_response_data.0;
        let responder_id = match data.responder_id {
            asn1::ResponderId::ByName(name) => ResponderId::ByName(name),
            asn1::ResponderId::ByKey(hash) => ResponderId::ByKey(hash.as_bytes().to_vec()),
        };
        let raw_certs = basic.certs.unwrap_or_default();
        if raw_certs.len() > MAX_RESPONDER_CERTIFICATES {
            return Err(OcspError::TooManyCertificates {
                count: raw_certs.len(),
                max: MAX_RESPONDER_CERTIFICATES,
            });
        }
        let certs = raw_certs
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                Certificate::from_der(raw.0)
                    .map_err(|error| OcspError::CarriedCertificate { index, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut hashes = IssuerHashes::new(issuer);
        let responses = data
            .responses
            .iter()
            .map(|single| single_info(single, Some(&mut hashes)))
            .collect::<Result<Vec<_>, _>>()?;
        let scheme = X509Scheme::from_algorithm_identifier(&basic.signature_algorithm)
            .map_err(OcspError::SignatureAlgorithm)?;
        let signature = basic.signature.as_bytes().ok_or(OcspError::Malformed {
            structure: "BasicOCSPResponse",
            reason: "the signature BIT STRING has unused bits".into(),
        })?;
        let responder = find_signer(issuer, scheme, tbs, signature, certs)?;
        Ok(Self {
            issuer: issuer.clone(),
            produced_at: data.produced_at.at,
            responder,
            responder_id,
            responses,
        })
    }

    /// producedAt.
    pub fn produced_at(&self) -> Timestamp {
        self.produced_at
    }

    /// The issuer the response was verified for.
    pub fn issuer(&self) -> &Certificate {
        &self.issuer
    }

    /// Who signed the response. The validity period of a delegated responder's certificate
    /// has not been checked (Go does not check it either).
    pub fn responder(&self) -> &Responder {
        &self.responder
    }

    /// The ResponderID as received; it was not matched against the signer (as in Go).
    pub fn responder_id(&self) -> &ResponderId {
        &self.responder_id
    }

    /// The status of `cert`, which must be issued by [`OcspResponse::issuer`]: the first single
    /// response whose CertID matches it (serial number, and issuerNameHash and issuerKeyHash
    /// under the CertID's own hash algorithm). `None` when the response does not cover `cert`,
    /// including when `cert` names another issuer.
    pub fn status_for(&self, cert: &Certificate) -> Option<SingleStatus> {
        if cert.issuer_der() != self.issuer.subject_der() {
            return None;
        }
        self.responses
            .iter()
            .find(|r| r.for_issuer && r.serial == cert.serial_number())
            .map(|r| r.status.clone())
    }

    /// Every single response, in order.
    pub fn responses(&self) -> impl Iterator<Item = &SingleResponseInfo> {
        self.responses.iter()
    }
}

/// The envelope checks shared by verification and inspection: size cap, status `successful`,
/// type id-pkix-ocsp-basic, at least one SingleResponse.
fn parse_basic(
    der: &[u8],
) -> Result<(asn1::BasicOcspResponse<'_>, asn1::ResponseData<'_>), OcspError> {
    if der.len() > MAX_RESPONSE_BYTES {
        return Err(OcspError::TooLarge {
            len: der.len(),
            max: MAX_RESPONSE_BYTES,
        });
    }
    let outer = asn1::OcspResponse::from_der(der).map_err(malformed("OCSPResponse"))?;
    let status = ResponseStatus::from_code(outer.response_status.0);
    if status != ResponseStatus::Successful {
        return Err(OcspError::NotSuccessful { status });
    }
    let bytes = outer.response_bytes.ok_or(OcspError::Malformed {
        structure: "OCSPResponse",
        reason: "a successful response without responseBytes".into(),
    })?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspError::UnsupportedResponseType {
            oid: bytes.response_type.to_string(),
        });
    }
    let basic = asn1::BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(malformed("BasicOCSPResponse"))?;
    let data = asn1::ResponseData::from_der(basic.tbs_response_data.0)
        .map_err(malformed("ResponseData"))?;
    if data.responses.is_empty() {
        return Err(OcspError::Malformed {
            structure: "ResponseData",
            reason: "no SingleResponse".into(),
        });
    }
    Ok((basic, data))
}

/// What an OCSP response says, read without checking who signed it: for inspection only.
#[derive(Clone, Debug)]
pub struct UnverifiedOcsp {
    /// producedAt.
    pub produced_at: Timestamp,
    /// Every single response; `for_issuer` is always false (no issuer was given).
    pub responses: Vec<SingleResponseInfo>,
}

impl UnverifiedOcsp {
    /// Parses `der` with the same structural rules as [`OcspResponse::parse_and_verify`] but
    /// without verifying its signature. Nothing read this way may be trusted.
    pub fn parse(der: &[u8]) -> Result<Self, OcspError> {
        let (_, data) = parse_basic(der)?;
        let responses = data
            .responses
            .iter()
            .map(|single| single_info(single, None))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            produced_at: data.produced_at.at,
            responses,
        })
    }
}

/// The issuer's name and key hashed under each CertID algorithm, computed on first use.
struct IssuerHashes<'c> {
    issuer: &'c Certificate,
    done: Vec<(CertIdHash, Vec<u8>, Vec<u8>)>,
}

impl<'c> IssuerHashes<'c> {
    fn new(issuer: &'c Certificate) -> Self {
        Self {
            issuer,
            done: Vec::new(),
        }
    }

    /// Whether `name_hash` and `key_hash` are the issuer's under `hash`.
    fn matches(&mut self, hash: &CertIdHash, name_hash: &[u8], key_hash: &[u8]) -> bool {
        let Some(alg) = hash.algorithm() else {
            return false;
        };
        if !self.done.iter().any(|(h, _, _)| h == hash) {
            let name = aws_lc_rs::digest::digest(alg, self.issuer.subject_der());
            let key = aws_lc_rs::digest::digest(alg, issuer_key_bits(self.issuer));
            self.done
                .push((hash.clone(), name.as_ref().to_vec(), key.as_ref().to_vec()));
        }
        self.done
            .iter()
            .any(|(h, n, k)| h == hash && n == name_hash && k == key_hash)
    }
}

fn single_info(
    single: &asn1::SingleResponse<'_>,
    hashes: Option<&mut IssuerHashes<'_>>,
) -> Result<SingleResponseInfo, OcspError> {
    let serial = single.cert_id.serial_number.as_bytes().to_vec();
    let extensions = single.single_extensions.as_deref().unwrap_or_default();
    if let Some(ext) = extensions.iter().find(|e| e.critical == Some(true)) {
        return Err(OcspError::CriticalSingleExtension {
            serial: hex(&serial),
            oid: ext.extn_id.to_string(),
        });
    }
    // notation puts the extensions in a map by OID (the last one wins) and ignores an
    // invalidityDate that does not parse as a GeneralizedTime.
    let invalidity_date = extensions
        .iter()
        .rev()
        .find(|e| e.extn_id == ID_CE_INVALIDITY_DATE)
        .and_then(|e| asn1::OcspTime::from_der(e.extn_value.as_bytes()).ok())
        .map(|t| t.at);
    let status = match &single.cert_status {
        asn1::CertStatus::Good(_) => OcspCertStatus::Good,
        asn1::CertStatus::Revoked(info) => OcspCertStatus::Revoked {
            time: info.revocation_time.at,
            reason: info.revocation_reason.map(|r| r.0),
        },
        asn1::CertStatus::Unknown(_) => OcspCertStatus::Unknown,
    };
    let hash = CertIdHash::from_oid(&single.cert_id.hash_algorithm.oid);
    let for_issuer = hashes.is_some_and(|h| {
        h.matches(
            &hash,
            single.cert_id.issuer_name_hash.as_bytes(),
            single.cert_id.issuer_key_hash.as_bytes(),
        )
    });
    Ok(SingleResponseInfo {
        serial,
        hash,
        for_issuer,
        status: SingleStatus {
            status,
            this_update: single.this_update.at,
            next_update: single.next_update.map(|t| t.at),
            invalidity_date,
        },
    })
}

/// Finds who signed `tbs`: the issuer, else the first carried certificate whose key verifies
/// the signature and which passes the delegated-responder rules. When a carried certificate
/// signed but fails a rule and no other qualifies, that rule's error is reported.
fn find_signer(
    issuer: &Certificate,
    scheme: X509Scheme,
    tbs: &[u8],
    signature: &[u8],
    certs: Vec<Certificate>,
) -> Result<Responder, OcspError> {
    let issuer_key = issuer.public_key().map_err(|e| OcspError::IssuerKey {
        issuer: issuer.subject(),
        error: e.clone(),
    })?;
    if issuer_key.verify_x509(scheme, tbs, signature) {
        return Ok(Responder::Issuer);
    }
    let carried = certs.len();
    let mut refusal = None;
    for cert in certs {
        let Ok(key) = cert.public_key() else {
            continue;
        };
        if !key.verify_x509(scheme, tbs, signature) {
            continue;
        }
        match check_delegated_responder(&cert, issuer) {
            Ok(()) => return Ok(Responder::Delegated(Box::new(cert))),
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    Err(refusal.unwrap_or(OcspError::BadSignature {
        issuer: issuer.subject(),
        carried,
    }))
}

/// A DER OCSPRequest for `cert` (issued by `issuer`): one Request whose CertID is hashed with
/// SHA-1 over the issuer's subject DER and subjectPublicKey BIT STRING contents, with NULL
/// hash parameters, no nonce and no signature. This is what notation sends
/// (`ocsp.CreateRequest` with `crypto.SHA1`, "for responder compatibility"); `notaryd bundle
/// create` sends it on the connected machine.
pub fn request_der(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, OcspError> {
    use aws_lc_rs::digest;
    let encoding = |e: der::Error| OcspError::RequestEncoding {
        serial: hex(cert.serial_number()),
        reason: e.to_string(),
    };
    let name_hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, issuer.subject_der());
    let key_hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, issuer_key_bits(issuer));
    let request = asn1::OcspRequest {
        tbs_request: asn1::TbsRequest {
            version: None,
            requestor_name: None,
            request_list: vec![asn1::Request {
                req_cert: asn1::CertId {
                    hash_algorithm: AlgorithmIdentifierRef {
                        oid: oid::SHA1,
                        parameters: Some(AnyRef::NULL),
                    },
                    issuer_name_hash: OctetStringRef::new(name_hash.as_ref()).map_err(encoding)?,
                    issuer_key_hash: OctetStringRef::new(key_hash.as_ref()).map_err(encoding)?,
                    serial_number: IntRef::new(cert.serial_number()).map_err(encoding)?,
                },
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    request.to_der().map_err(encoding)
}

#[cfg(test)]
mod tests {
    use super::asn1::{OcspTime, SmallEnumerated};
    use der::{Decode, Encode};

    #[test]
    fn small_enumerated_takes_0_to_255_in_minimal_form_only() {
        for (der, value) in [
            (&[0x0a, 0x01, 0x00][..], 0u8),
            (&[0x0a, 0x01, 0x7f], 127),
            (&[0x0a, 0x02, 0x00, 0x80], 128),
            (&[0x0a, 0x02, 0x00, 0xff], 255),
        ] {
            let e = SmallEnumerated::from_der(der).unwrap();
            assert_eq!(e.0, value);
            assert_eq!(e.to_der().unwrap(), der);
        }
        for bad in [
            &[0x0a, 0x00][..],
            &[0x0a, 0x01, 0x80],
            &[0x0a, 0x02, 0x00, 0x7f],
            &[0x0a, 0x02, 0x01, 0x00],
            &[0x0a, 0x03, 0x00, 0x00, 0x80],
            &[0x02, 0x01, 0x00],
        ] {
            assert!(SmallEnumerated::from_der(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn ocsp_time_keeps_its_text_and_requires_utc() {
        let der = [&[0x18, 18][..], b"20261101000000.25Z"].concat();
        let t = OcspTime::from_der(&der).unwrap();
        assert_eq!(t.text, b"20261101000000.25Z");
        assert_eq!(t.to_der().unwrap(), der);
        let local = [&[0x18, 19][..], b"20261101000000+0100"].concat();
        assert!(OcspTime::from_der(&local).is_err());
        let utc_time = [&[0x17, 13][..], b"261101000000Z"].concat();
        assert!(OcspTime::from_der(&utc_time).is_err());
    }
}
