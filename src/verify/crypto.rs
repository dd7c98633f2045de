//! Public keys and signature checks. Every primitive is aws-lc-rs; this module only maps the
//! Notary and X.509 algorithm names onto it and refuses everything else.

use std::fmt;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::oid;

/// A hash function the core accepts. SHA-1 is never one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Maps a digest-algorithm OID; `None` for SHA-1 and anything unknown.
    pub fn from_oid(o: &ObjectIdentifier) -> Option<Self> {
        match *o {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// The six Notary signature algorithms (NOTARY-VERIFY §3.3). Nothing else signs an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SignatureAlgorithm {
    /// RSASSA-PSS with SHA-256 (RSA 2048).
    PS256,
    /// RSASSA-PSS with SHA-384 (RSA 3072).
    PS384,
    /// RSASSA-PSS with SHA-512 (RSA 4096).
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
}

impl SignatureAlgorithm {
    /// The JWS `alg` name.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
        }
    }

    /// Parses a JWS `alg` name; only the six are known.
    pub fn from_jws_name(name: &str) -> Option<Self> {
        Some(match name {
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "ES512" => Self::ES512,
            _ => return None,
        })
    }

    /// The COSE algorithm identifier (RFC 9053 / IANA).
    pub fn cose_id(self) -> i64 {
        match self {
            Self::PS256 => -37,
            Self::PS384 => -38,
            Self::PS512 => -39,
            Self::ES256 => -7,
            Self::ES384 => -35,
            Self::ES512 => -36,
        }
    }

    /// Parses a COSE algorithm identifier; only the six are known.
    pub fn from_cose_id(id: i64) -> Option<Self> {
        Some(match id {
            -37 => Self::PS256,
            -38 => Self::PS384,
            -39 => Self::PS512,
            -7 => Self::ES256,
            -35 => Self::ES384,
            -36 => Self::ES512,
            _ => return None,
        })
    }

    /// The hash this algorithm uses; also the timestamp imprint hash a signer picks.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::PS256 | Self::ES256 => HashAlgorithm::Sha256,
            Self::PS384 | Self::ES384 => HashAlgorithm::Sha384,
            Self::PS512 | Self::ES512 => HashAlgorithm::Sha512,
        }
    }

    fn aws(self) -> &'static dyn VerificationAlgorithm {
        match self {
            // RSA_PSS_* verify with salt length = hash length, which is what notation signs
            // with and what NOTARY-VERIFY §3.3 asks us to require.
            Self::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Self::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Self::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            Self::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Self::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Self::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// A named elliptic curve the core supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
}

/// The type and size of a public key, as the Notary algorithm table needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum KeySpec {
    /// RSA with this modulus length in bits.
    Rsa(u32),
    /// ECDSA on this curve.
    Ec(Curve),
}

impl KeySpec {
    /// The one Notary algorithm this key may sign with (NOTARY-VERIFY §3.3). `None` for any
    /// other size, which an envelope may never use.
    pub fn notary_algorithm(self) -> Option<SignatureAlgorithm> {
        Some(match self {
            Self::Rsa(2048) => SignatureAlgorithm::PS256,
            Self::Rsa(3072) => SignatureAlgorithm::PS384,
            Self::Rsa(4096) => SignatureAlgorithm::PS512,
            Self::Ec(Curve::P256) => SignatureAlgorithm::ES256,
            Self::Ec(Curve::P384) => SignatureAlgorithm::ES384,
            Self::Ec(Curve::P521) => SignatureAlgorithm::ES512,
            Self::Rsa(_) => return None,
        })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(bits) => write!(f, "RSA-{bits}"),
            Self::Ec(Curve::P256) => f.write_str("EC P-256"),
            Self::Ec(Curve::P384) => f.write_str("EC P-384"),
            Self::Ec(Curve::P521) => f.write_str("EC P-521"),
        }
    }
}

/// Why a public key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key algorithm is neither rsaEncryption nor id-ecPublicKey.
    #[error("unsupported public key algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// An EC key on a curve other than P-256, P-384 or P-521.
    #[error("unsupported elliptic curve {0}")]
    UnsupportedCurve(String),
    /// The key bytes do not decode.
    #[error("malformed public key: {0}")]
    Malformed(&'static str),
}

/// A signature scheme used by X.509 certificates and CMS signers (not by envelopes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X509Scheme {
    /// RSASSA-PKCS1-v1_5 with the given hash.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with the given hash, MGF1 with the same hash, salt = hash length.
    RsaPss(HashAlgorithm),
    /// ECDSA with the given hash, DER-encoded signature.
    Ecdsa(HashAlgorithm),
}

/// Why an X.509/CMS signature algorithm is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    /// SHA-1 based signatures are refused (Go's CheckSignatureFrom refuses them too).
    #[error("SHA-1 signatures are not accepted")]
    Sha1,
    /// An algorithm identifier the core does not know.
    #[error("unsupported signature algorithm {0}")]
    Unsupported(String),
    /// RSASSA-PSS parameters other than hash = MGF1 hash and salt = hash length.
    #[error("unsupported RSASSA-PSS parameters")]
    PssParameters,
}

/// RSASSA-PSS-params (RFC 4055 §3.1).
#[derive(der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

impl X509Scheme {
    /// Maps a certificate's (or CMS signer's) signature algorithm identifier.
    pub fn from_algorithm_identifier(
        alg: &AlgorithmIdentifierOwned,
    ) -> Result<Self, AlgorithmError> {
        use HashAlgorithm::*;
        Ok(match alg.oid {
            oid::SHA256_WITH_RSA => Self::RsaPkcs1(Sha256),
            oid::SHA384_WITH_RSA => Self::RsaPkcs1(Sha384),
            oid::SHA512_WITH_RSA => Self::RsaPkcs1(Sha512),
            oid::ECDSA_WITH_SHA256 => Self::Ecdsa(Sha256),
            oid::ECDSA_WITH_SHA384 => Self::Ecdsa(Sha384),
            oid::ECDSA_WITH_SHA512 => Self::Ecdsa(Sha512),
            oid::SHA1_WITH_RSA | oid::ECDSA_WITH_SHA1 => return Err(AlgorithmError::Sha1),
            oid::RSASSA_PSS => Self::RsaPss(pss_hash(alg)?),
            other => return Err(AlgorithmError::Unsupported(other.to_string())),
        })
    }

    /// Maps a CMS signer's pair of digest and signature algorithm. CMS allows the bare key
    /// algorithm (rsaEncryption, id-ecPublicKey) with the hash given separately.
    pub fn from_cms(
        digest: &AlgorithmIdentifierOwned,
        signature: &AlgorithmIdentifierOwned,
    ) -> Result<Self, AlgorithmError> {
        let hash = || {
            if digest.oid == oid::SHA1 {
                return Err(AlgorithmError::Sha1);
            }
            HashAlgorithm::from_oid(&digest.oid)
                .ok_or_else(|| AlgorithmError::Unsupported(digest.oid.to_string()))
        };
        match signature.oid {
            oid::RSA_ENCRYPTION => Ok(Self::RsaPkcs1(hash()?)),
            oid::EC_PUBLIC_KEY => Ok(Self::Ecdsa(hash()?)),
            _ => {
                let scheme = Self::from_algorithm_identifier(signature)?;
                // The signature algorithm's own hash must be the digest algorithm's.
                if scheme.hash() != hash()? {
                    return Err(AlgorithmError::Unsupported(format!(
                        "{} with digest {}",
                        signature.oid, digest.oid
                    )));
                }
                Ok(scheme)
            }
        }
    }

    /// The hash function of this scheme.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaPkcs1(h) | Self::RsaPss(h) | Self::Ecdsa(h) => h,
        }
    }
}

fn pss_hash(alg: &AlgorithmIdentifierOwned) -> Result<HashAlgorithm, AlgorithmError> {
    let params = alg
        .parameters
        .as_ref()
        .ok_or(AlgorithmError::PssParameters)?;
    let der = params.to_der().map_err(|_| AlgorithmError::PssParameters)?;
    let p = PssParams::from_der(&der).map_err(|_| AlgorithmError::PssParameters)?;
    // The defaults are SHA-1 everywhere, which we refuse; so every field must be explicit.
    let hash_id = p.hash.ok_or(AlgorithmError::Sha1)?;
    let hash = HashAlgorithm::from_oid(&hash_id.oid).ok_or(AlgorithmError::PssParameters)?;
    let mgf = p.mask_gen.ok_or(AlgorithmError::PssParameters)?;
    if mgf.oid != oid::MGF1 {
        return Err(AlgorithmError::PssParameters);
    }
    let mgf_hash = mgf
        .parameters
        .as_ref()
        .and_then(|a| a.decode_as::<AlgorithmIdentifierOwned>().ok())
        .ok_or(AlgorithmError::PssParameters)?;
    if HashAlgorithm::from_oid(&mgf_hash.oid) != Some(hash)
        || p.salt_len != Some(hash.output_len() as u32)
        || p.trailer.unwrap_or(1) != 1
    {
        return Err(AlgorithmError::PssParameters);
    }
    Ok(hash)
}

/// A public key taken from a certificate, pre-parsed for repeated use.
#[derive(Clone)]
pub struct PublicKey {
    spec: KeySpec,
    /// RSA: PKCS#1 RSAPublicKey bytes; EC: the uncompressed point. This is the form aws-lc-rs
    /// takes for `UnparsedPublicKey`.
    raw: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.spec)
    }
}

/// RSAPublicKey (RFC 8017 A.1.1), to read the modulus length.
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo. Only RSA and EC P-256/384/521 keys are accepted.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, KeyError> {
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed("public key bit string has unused bits"))?
            .to_vec();
        let spec = match spki.algorithm.oid {
            oid::RSA_ENCRYPTION => {
                let key = RsaPublicKey::from_der(&raw)
                    .map_err(|_| KeyError::Malformed("RSAPublicKey does not decode"))?;
                let m = key.modulus.as_bytes();
                let bits = match m.first() {
                    Some(&top) => (m.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
                    None => return Err(KeyError::Malformed("empty RSA modulus")),
                };
                if key.public_exponent.as_bytes().is_empty() {
                    return Err(KeyError::Malformed("empty RSA exponent"));
                }
                KeySpec::Rsa(bits)
            }
            oid::EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or(KeyError::Malformed("EC key without a named curve"))?;
                KeySpec::Ec(match curve {
                    oid::SECP256R1 => Curve::P256,
                    oid::SECP384R1 => Curve::P384,
                    oid::SECP521R1 => Curve::P521,
                    other => return Err(KeyError::UnsupportedCurve(other.to_string())),
                })
            }
            other => return Err(KeyError::UnsupportedAlgorithm(other.to_string())),
        };
        Ok(Self { spec, raw })
    }

    /// The key's type and size.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// Checks an envelope signature made with one of the six Notary algorithms. The caller
    /// has already bound `alg` to this key; the check here is the primitive only.
    pub fn verify_notary(&self, alg: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        if self.spec.notary_algorithm() != Some(alg) {
            return false;
        }
        self.verify_with(alg.aws(), message, signature)
    }

    /// Checks a certificate or CMS signature.
    pub fn verify_x509(&self, scheme: X509Scheme, message: &[u8], signature: &[u8]) -> bool {
        use HashAlgorithm::*;
        let alg: &'static dyn VerificationAlgorithm = match (scheme, self.spec) {
            (X509Scheme::RsaPkcs1(Sha256), KeySpec::Rsa(_)) => &sig::RSA_PKCS1_2048_8192_SHA256,
            (X509Scheme::RsaPkcs1(Sha384), KeySpec::Rsa(_)) => &sig::RSA_PKCS1_2048_8192_SHA384,
            (X509Scheme::RsaPkcs1(Sha512), KeySpec::Rsa(_)) => &sig::RSA_PKCS1_2048_8192_SHA512,
            (X509Scheme::RsaPss(Sha256), KeySpec::Rsa(_)) => &sig::RSA_PSS_2048_8192_SHA256,
            (X509Scheme::RsaPss(Sha384), KeySpec::Rsa(_)) => &sig::RSA_PSS_2048_8192_SHA384,
            (X509Scheme::RsaPss(Sha512), KeySpec::Rsa(_)) => &sig::RSA_PSS_2048_8192_SHA512,
            (X509Scheme::Ecdsa(Sha256), KeySpec::Ec(Curve::P256)) => &sig::ECDSA_P256_SHA256_ASN1,
            (X509Scheme::Ecdsa(Sha384), KeySpec::Ec(Curve::P256)) => &sig::ECDSA_P256_SHA384_ASN1,
            (X509Scheme::Ecdsa(Sha512), KeySpec::Ec(Curve::P256)) => &sig::ECDSA_P256_SHA512_ASN1,
            (X509Scheme::Ecdsa(Sha256), KeySpec::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA256_ASN1,
            (X509Scheme::Ecdsa(Sha384), KeySpec::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA384_ASN1,
            (X509Scheme::Ecdsa(Sha512), KeySpec::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA512_ASN1,
            (X509Scheme::Ecdsa(Sha256), KeySpec::Ec(Curve::P521)) => &sig::ECDSA_P521_SHA256_ASN1,
            (X509Scheme::Ecdsa(Sha384), KeySpec::Ec(Curve::P521)) => &sig::ECDSA_P521_SHA384_ASN1,
            (X509Scheme::Ecdsa(Sha512), KeySpec::Ec(Curve::P521)) => &sig::ECDSA_P521_SHA512_ASN1,
            _ => return false,
        };
        self.verify_with(alg, message, signature)
    }

    fn verify_with(
        &self,
        alg: &'static dyn VerificationAlgorithm,
        msg: &[u8],
        signature: &[u8],
    ) -> bool {
        match ParsedPublicKey::new(alg, &self.raw) {
            Ok(key) => key.verify_sig(msg, signature).is_ok(),
            Err(_) => false,
        }
    }
}
