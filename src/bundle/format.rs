//! The revocation bundle container (docs/revocation-bundle.md): the one place its bytes are
//! parsed and written. Pure: no I/O; the signature primitives are aws-lc-rs.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;

use crate::verify::crypto::{PublicKey, SignatureAlgorithm};
use crate::verify::descriptor::hex;
use crate::verify::json::from_slice_strict;

/// The file's first bytes.
pub const MAGIC: &[u8; 10] = b"notaryd-rb";
/// The format version this code reads and writes.
pub const VERSION: u16 = 1;
/// The signature block's first bytes.
pub const SIGNATURE_MAGIC: &[u8; 11] = b"notaryd-sig";

/// Largest bundle: several full CRLs of notation's 32 MiB cap, with room.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest header: thousands of item descriptions.
pub const MAX_HEADER_BYTES: u64 = 1024 * 1024;
/// Most items in one bundle: more CRLs and responses than any trust store names.
pub const MAX_ITEMS: usize = 4096;
/// Largest CRL: the parser's cap (notation's), so that nothing is collected or stored that
/// import would refuse.
pub const MAX_CRL_BYTES: u64 = crate::verify::limits::MAX_CRL_BYTES as u64;
/// Largest OCSP response: the parser's cap (notation's).
pub const MAX_OCSP_BYTES: u64 = crate::verify::revocation::ocsp::MAX_RESPONSE_BYTES as u64;
/// Largest certificate item (`MAX_CERTIFICATE_BYTES`).
pub const MAX_CERTIFICATE_ITEM_BYTES: u64 = crate::verify::limits::MAX_CERTIFICATE_BYTES as u64;
/// Largest signature block: a signature and a key id.
pub const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// What an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    /// A DER CRL (full or delta).
    Crl,
    /// A DER OCSP response.
    Ocsp,
    /// A DER CA certificate from a signature's chain.
    Certificate,
}

impl ItemKind {
    fn cap(self) -> u64 {
        match self {
            Self::Crl => MAX_CRL_BYTES,
            Self::Ocsp => MAX_OCSP_BYTES,
            Self::Certificate => MAX_CERTIFICATE_ITEM_BYTES,
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Crl => "crl",
            Self::Ocsp => "ocsp",
            Self::Certificate => "certificate",
        })
    }
}

/// One item's description in the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemHeader {
    /// What it is.
    pub kind: ItemKind,
    /// Its length in bytes.
    pub length: u64,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Where it came from (URL or file), informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A certificate's subject, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A CRL's or OCSP response's issuer, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// An OCSP response's certificate serial (lowercase hex), informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// The header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleHeader {
    /// Always 1.
    pub version: u16,
    /// When the bundle was made (RFC 3339).
    pub created_at: String,
    /// What made it.
    pub producer: String,
    /// The items, in file order.
    pub items: Vec<ItemHeader>,
}

/// A bundle signature (embedded block or detached file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSignature {
    /// `ES256` … `PS512`.
    pub algorithm: String,
    /// Lowercase hex SHA-256 of the signer's SubjectPublicKeyInfo DER.
    pub key_id: String,
    /// The signature, standard base64.
    pub signature: String,
}

/// A parsed bundle borrowing the file's bytes.
#[derive(Debug)]
pub struct Bundle<'a> {
    /// The header.
    pub header: BundleHeader,
    /// Each item with its bytes.
    pub items: Vec<(ItemHeader, &'a [u8])>,
    /// The bytes an embedded signature covers (everything before its block).
    pub signed_bytes: &'a [u8],
    /// The embedded signature, if any.
    pub signature: Option<BundleSignature>,
}

/// Why a bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Larger than a cap.
    #[error("{what} is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// What.
        what: String,
        /// Size.
        len: u64,
        /// Cap.
        max: u64,
    },
    /// Not this format, or cut short.
    #[error("not a notaryd revocation bundle: {0}")]
    Format(String),
    /// The header does not parse or contradicts the bytes.
    #[error("bundle header: {0}")]
    Header(String),
    /// An item's bytes do not match its description.
    #[error("bundle item {index} ({kind}): {reason}")]
    Item {
        /// Position in the header.
        index: usize,
        /// Its kind.
        kind: ItemKind,
        /// What is wrong.
        reason: String,
    },
    /// Signature missing, malformed, by an unknown key, or not verifying.
    #[error("bundle signature: {0}")]
    Signature(String),
    /// A signing or verification key is unusable.
    #[error("bundle key: {0}")]
    Key(String),
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be_u32(b: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses a bundle, checking layout, caps, lengths and hashes (not the signature: see
/// [`verify_signature`], which needs the configured keys).
pub fn parse(bytes: &[u8]) -> Result<Bundle<'_>, BundleError> {
    let len = bytes.len() as u64;
    if len > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            what: "the bundle".into(),
            len,
            max: MAX_BUNDLE_BYTES,
        });
    }
    let fixed = MAGIC.len() + 2 + 4;
    if bytes.len() < fixed || &bytes[..MAGIC.len()] != MAGIC {
        return Err(BundleError::Format("wrong magic".into()));
    }
    let version = be_u16(&bytes[MAGIC.len()..]);
    if version != VERSION {
        return Err(BundleError::Format(format!(
            "version {version}; this notaryd reads version {VERSION}"
        )));
    }
    let header_len = be_u32(&bytes[MAGIC.len() + 2..]);
    if header_len > MAX_HEADER_BYTES {
        return Err(BundleError::TooLarge {
            what: "the header".into(),
            len: header_len,
            max: MAX_HEADER_BYTES,
        });
    }
    let header_end = fixed as u64 + header_len;
    if header_end > len {
        return Err(BundleError::Format("cut short inside the header".into()));
    }
    let header: BundleHeader = from_slice_strict(&bytes[fixed..header_end as usize])
        .map_err(|e| BundleError::Header(e.to_string()))?;
    if header.version != VERSION {
        return Err(BundleError::Header(format!(
            "version {} does not match the file's {VERSION}",
            header.version
        )));
    }
    if header.items.len() > MAX_ITEMS {
        return Err(BundleError::Header(format!(
            "{} items, more than the limit of {MAX_ITEMS}",
            header.items.len()
        )));
    }
    let mut pos = header_end;
    let mut items = Vec::with_capacity(header.items.len());
    for (index, item) in header.items.iter().enumerate() {
        let bad = |reason: String| BundleError::Item {
            index,
            kind: item.kind,
            reason,
        };
        if item.length > item.kind.cap() {
            return Err(bad(format!(
                "{} bytes, more than the limit of {}",
                item.length,
                item.kind.cap()
            )));
        }
        let end = pos
            .checked_add(item.length)
            .filter(|e| *e <= len)
            .ok_or_else(|| bad("cut short".into()))?;
        let data = &bytes[pos as usize..end as usize];
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        if hex(digest.as_ref()) != item.sha256 {
            return Err(bad("bytes do not match the header's sha256".into()));
        }
        items.push((item.clone(), data));
        pos = end;
    }
    let signed_bytes = &bytes[..pos as usize];
    let rest = &bytes[pos as usize..];
    let signature = if rest.is_empty() {
        None
    } else {
        let head = SIGNATURE_MAGIC.len() + 4;
        if rest.len() < head || &rest[..SIGNATURE_MAGIC.len()] != SIGNATURE_MAGIC {
            return Err(BundleError::Format(
                "unexpected bytes after the items (neither nothing nor a signature block)".into(),
            ));
        }
        let sig_len = be_u32(&rest[SIGNATURE_MAGIC.len()..]);
        if sig_len > MAX_SIGNATURE_BYTES {
            return Err(BundleError::TooLarge {
                what: "the signature block".into(),
                len: sig_len,
                max: MAX_SIGNATURE_BYTES,
            });
        }
        if rest.len() as u64 != head as u64 + sig_len {
            return Err(BundleError::Format(
                "the signature block's length does not match the file".into(),
            ));
        }
        Some(parse_signature(&rest[head..])?)
    };
    Ok(Bundle {
        header,
        items,
        signed_bytes,
        signature,
    })
}

/// Parses a signature JSON document (the embedded block's body, or a detached `.sig` file).
pub fn parse_signature(bytes: &[u8]) -> Result<BundleSignature, BundleError> {
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
        return Err(BundleError::TooLarge {
            what: "the signature".into(),
            len: bytes.len() as u64,
            max: MAX_SIGNATURE_BYTES,
        });
    }
    from_slice_strict(bytes).map_err(|e| BundleError::Signature(e.to_string()))
}

/// A public key allowed to sign bundles.
#[derive(Clone, Debug)]
pub struct BundleKey {
    key: PublicKey,
    key_id: String,
}

impl BundleKey {
    /// From a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `CERTIFICATE`.
    pub fn from_pem(pem: &[u8]) -> Result<Self, BundleError> {
        use rustls_pki_types::pem::{PemObject, SectionKind};
        let (kind, der) = <(SectionKind, Vec<u8>) as PemObject>::from_pem_slice(pem)
            .map_err(|e| BundleError::Key(format!("not PEM: {e}")))?;
        let spki_der = match kind {
            SectionKind::PublicKey => der,
            SectionKind::Certificate => {
                let cert = x509_cert::Certificate::from_der(&der)
                    .map_err(|e| BundleError::Key(format!("certificate: {e}")))?;
                der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                    .map_err(|e| BundleError::Key(e.to_string()))?
            }
            other => {
                return Err(BundleError::Key(format!(
                    "expected a PUBLIC KEY or CERTIFICATE, found {other:?}"
                )));
            }
        };
        Self::from_spki_der(&spki_der)
    }

    /// From SubjectPublicKeyInfo DER.
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, BundleError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(|e| BundleError::Key(format!("SubjectPublicKeyInfo: {e}")))?;
        let key = PublicKey::from_spki(&spki).map_err(|e| BundleError::Key(e.to_string()))?;
        if key.spec().notary_algorithm().is_none() {
            return Err(BundleError::Key(format!(
                "{} keys cannot sign bundles (RSA 2048/3072/4096, EC P-256/384/521)",
                key.spec()
            )));
        }
        Ok(Self {
            key,
            key_id: key_id(spki_der),
        })
    }

    /// The key id (SHA-256 of the SPKI DER, hex).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

fn key_id(spki_der: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der).as_ref())
}

/// Checks `signature` over `signed` with one of `keys` (chosen by key id).
pub fn verify_signature(
    signed: &[u8],
    signature: &BundleSignature,
    keys: &[BundleKey],
) -> Result<(), BundleError> {
    let key = keys
        .iter()
        .find(|k| k.key_id == signature.key_id)
        .ok_or_else(|| {
            BundleError::Signature(format!(
                "signed by key {}, which is not a configured bundle-signing key",
                signature.key_id.chars().take(64).collect::<String>()
            ))
        })?;
    let algorithm = SignatureAlgorithm::from_jws_name(&signature.algorithm).ok_or_else(|| {
        BundleError::Signature(format!("unknown algorithm {:?}", signature.algorithm))
    })?;
    let bytes = STANDARD
        .decode(&signature.signature)
        .map_err(|e| BundleError::Signature(format!("signature is not base64: {e}")))?;
    if key.key.verify_notary(algorithm, signed, &bytes) {
        Ok(())
    } else {
        Err(BundleError::Signature(format!(
            "{} signature does not verify with key {}",
            signature.algorithm, key.key_id
        )))
    }
}

/// A private key that signs bundles (PKCS#8 PEM: EC P-256/384/521 or RSA 2048/3072/4096).
pub struct SigningKey {
    inner: SigningInner,
    spki_der: Vec<u8>,
}

enum SigningInner {
    Ec(EcdsaKeyPair, SignatureAlgorithm),
    Rsa(RsaKeyPair, SignatureAlgorithm),
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self, BundleError> {
        use aws_lc_rs::encoding::AsDer;
        use rustls_pki_types::PrivatePkcs8KeyDer;
        use rustls_pki_types::pem::PemObject;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| BundleError::Key(format!("expected a PKCS#8 PEM private key: {e}")))?;
        let der = der.secret_pkcs8_der();
        for (alg, notary) in [
            (
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                SignatureAlgorithm::ES256,
            ),
            (
                &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                SignatureAlgorithm::ES384,
            ),
            (
                &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
                SignatureAlgorithm::ES512,
            ),
        ] {
            if let Ok(kp) = EcdsaKeyPair::from_pkcs8(alg, der) {
                let spki_der =
                    AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
                        .map_err(|_| BundleError::Key("cannot encode the public key".into()))?
                        .as_ref()
                        .to_vec();
                return Ok(Self {
                    inner: SigningInner::Ec(kp, notary),
                    spki_der,
                });
            }
        }
        let kp = RsaKeyPair::from_pkcs8(der)
            .map_err(|_| BundleError::Key("not an EC P-256/384/521 or RSA PKCS#8 key".into()))?;
        let notary = match kp.public_modulus_len() * 8 {
            2048 => SignatureAlgorithm::PS256,
            3072 => SignatureAlgorithm::PS384,
            4096 => SignatureAlgorithm::PS512,
            bits => {
                return Err(BundleError::Key(format!(
                    "RSA-{bits} keys cannot sign bundles"
                )));
            }
        };
        let spki_der = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
            .map_err(|_| BundleError::Key("cannot encode the public key".into()))?
            .as_ref()
            .to_vec();
        Ok(Self {
            inner: SigningInner::Rsa(kp, notary),
            spki_der,
        })
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Signs `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> Result<BundleSignature, BundleError> {
        let rng = SystemRandom::new();
        let (algorithm, signature) = match &self.inner {
            SigningInner::Ec(kp, alg) => (
                *alg,
                kp.sign(&rng, bytes)
                    .map_err(|_| BundleError::Key("signing failed".into()))?
                    .as_ref()
                    .to_vec(),
            ),
            SigningInner::Rsa(kp, alg) => {
                let pad: &'static dyn sig::RsaEncoding = match alg {
                    SignatureAlgorithm::PS256 => &sig::RSA_PSS_SHA256,
                    SignatureAlgorithm::PS384 => &sig::RSA_PSS_SHA384,
                    _ => &sig::RSA_PSS_SHA512,
                };
                let mut out = vec![0u8; kp.public_modulus_len()];
                kp.sign(pad, &rng, bytes, &mut out)
                    .map_err(|_| BundleError::Key("signing failed".into()))?;
                (*alg, out)
            }
        };
        Ok(BundleSignature {
            algorithm: algorithm.jws_name().to_owned(),
            key_id: key_id(&self.spki_der),
            signature: STANDARD.encode(signature),
        })
    }
}

/// Writes a bundle: the header built from `created_at`, `producer` and `items` (kind, bytes,
/// informational fields), the items, and an embedded signature when `signer` is given.
pub fn write(
    created_at: &str,
    producer: &str,
    items: &[(ItemHeader, Vec<u8>)],
    signer: Option<&SigningKey>,
) -> Result<Vec<u8>, BundleError> {
    let header = BundleHeader {
        version: VERSION,
        created_at: created_at.to_owned(),
        producer: producer.to_owned(),
        items: items
            .iter()
            .map(|(h, bytes)| ItemHeader {
                length: bytes.len() as u64,
                sha256: hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref()),
                ..h.clone()
            })
            .collect(),
    };
    let header_json =
        serde_json::to_vec(&header).map_err(|e| BundleError::Header(e.to_string()))?;
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(
        &(u32::try_from(header_json.len()).map_err(|_| BundleError::Header("too large".into()))?)
            .to_be_bytes(),
    );
    out.extend_from_slice(&header_json);
    for (_, bytes) in items {
        out.extend_from_slice(bytes);
    }
    if let Some(key) = signer {
        let signature = key.sign(&out)?;
        let body =
            serde_json::to_vec(&signature).map_err(|e| BundleError::Signature(e.to_string()))?;
        out.extend_from_slice(SIGNATURE_MAGIC);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
    }
    let parsed_len = out.len() as u64;
    if parsed_len > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            what: "the bundle".into(),
            len: parsed_len,
            max: MAX_BUNDLE_BYTES,
        });
    }
    Ok(out)
}

/// An item description with only its kind and source set.
pub fn item(kind: ItemKind, source: Option<String>) -> ItemHeader {
    ItemHeader {
        kind,
        length: 0,
        sha256: String::new(),
        source,
        subject: None,
        issuer: None,
        serial: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let items = vec![
            (
                item(ItemKind::Crl, Some("http://x/a.crl".into())),
                b"crl bytes".to_vec(),
            ),
            (item(ItemKind::Ocsp, None), b"ocsp".to_vec()),
        ];
        let bytes = write("2026-11-28T00:00:00Z", "test", &items, None).unwrap();
        let b = parse(&bytes).unwrap();
        assert_eq!(b.items.len(), 2);
        assert_eq!(b.items[0].1, b"crl bytes");
        assert!(b.signature.is_none());
        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            parse(&tampered),
            Err(BundleError::Item { index: 1, .. })
        ));
        let truncated = &bytes[..bytes.len() - 2];
        assert!(parse(truncated).is_err());
        let mut extra = bytes.clone();
        extra.extend_from_slice(b"junk");
        assert!(parse(&extra).is_err());
        assert!(parse(b"not a bundle").is_err());
    }
}
