//! A test-only RFC 3161 Time-Stamping Authority: a PKI made at test time (root → intermediate
//! → TSA leaf with a critical `timeStamping` EKU) and a token writer with one knob per attack.
//!
//! Typical use (e.g. to put a timestamp into a test envelope):
//!
//! ```ignore
//! let tsa = tsa::Tsa::new();
//! let token = tsa.timestamp(&signature_bytes, gen_time, HashAlgorithm::Sha256);
//! let root = Certificate::from_der(tsa.root_der()).unwrap();
//! ```
//!
//! For rejection tests, start from [`Tsa::options`] and change fields of [`TokenOptions`] /
//! [`SignerOptions`], then call [`Tsa::token`]. PKI-level knobs are in [`PkiOptions`], used
//! with [`Tsa::with`].
//!
//! The TSTInfo, ESS and AlgorithmIdentifier structures are encoded with `der` derive types;
//! the CMS layers are written with a tiny TLV writer so that order, tags and BER framing can
//! be controlled. Nothing here is shared with the verifier's decoder.
#![allow(dead_code)]

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use der::asn1::{Any, ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode, Sequence, Tag};
use notaryd::verify::crypto::HashAlgorithm;
use notaryd::verify::time::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;

// ---------------------------------------------------------------- object identifiers

pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
pub const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// The ETSI baseline time-stamp policy, which implies 1 s accuracy in notation.
pub const BASELINE_POLICY: Oid = Oid::new_unwrap("0.4.0.2023.1.1");
/// A private signed attribute used by the tampering knob.
pub const TAMPER_ATTRIBUTE: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.7");
/// An arbitrary TSA policy.
pub const TEST_POLICY: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.1");

const EKU_TIME_STAMPING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 8];
const OID_EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

pub fn hash_oid(h: HashAlgorithm) -> Oid {
    match h {
        HashAlgorithm::Sha256 => SHA256,
        HashAlgorithm::Sha384 => SHA384,
        HashAlgorithm::Sha512 => SHA512,
    }
}

pub fn sha1(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// `t` as an `OffsetDateTime`, for rcgen.
pub fn odt(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.unix_nanos()).expect("time in range")
}

/// A Timestamp from RFC 3339 text.
pub fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("RFC 3339 time")
}

/// `t` as RFC 3161 writes genTime: `YYYYMMDDhhmmss[.fff]Z`, fraction without trailing zeros.
pub fn generalized_time(t: Timestamp) -> String {
    let d = odt(t);
    let mut s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    let nanos = d.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

// ---------------------------------------------------------------- TLV writer

/// A DER element with definite length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed BER element with indefinite length.
pub fn tlv_indefinite(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag, 0x80];
    out.extend_from_slice(content);
    out.extend_from_slice(&[0, 0]);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn oid_tlv(oid: &Oid) -> Vec<u8> {
    oid.to_der().expect("encode OID")
}

fn int_tlv(v: i64) -> Vec<u8> {
    v.to_der().expect("encode INTEGER")
}

/// An AlgorithmIdentifier with absent parameters (RFC 5754 for SHA-2, RFC 5758 for ECDSA).
fn alg(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn alg_null(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

// ---------------------------------------------------------------- der derive types

#[derive(Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<i64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<i64>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<i64>,
}

#[derive(Sequence)]
struct TstInfo {
    version: i64,
    policy: Oid,
    message_imprint: MessageImprint,
    serial_number: u64,
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(optional = "true")]
    nonce: Option<u64>,
}

#[derive(Sequence)]
struct IssuerSerial {
    /// GeneralNames, written by hand so the CHOICE tag can be chosen.
    issuer: Any,
    serial_number: Any,
}

#[derive(Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

#[derive(Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
}

// ---------------------------------------------------------------- keys

/// The TSA leaf key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKey {
    /// ECDSA P-256; signs ecdsa-with-SHA256.
    P256,
    /// RSA 2048; signs sha256WithRSAEncryption (PKCS#1 v1.5, allowed for TSAs).
    Rsa2048,
}

enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl Signer {
    fn generate(kind: LeafKey) -> (Self, KeyPair) {
        match kind {
            LeafKey::P256 => {
                let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("P-256 keygen");
                let kp = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("P-256 key");
                let rc = KeyPair::try_from(pkcs8.as_ref()).expect("rcgen key");
                (Self::Ec(kp), rc)
            }
            LeafKey::Rsa2048 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA keygen");
                let pkcs8 = kp.as_der().expect("RSA PKCS#8");
                let rc = KeyPair::from_pkcs8_der_and_sign_algo(
                    &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
                    &rcgen::PKCS_RSA_SHA256,
                )
                .expect("rcgen RSA key");
                (Self::Rsa(kp), rc)
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Ec(kp) => kp.sign(&rng, message).expect("sign").as_ref().to_vec(),
            Self::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("sign");
                sig
            }
        }
    }

    /// The CMS signatureAlgorithm this key signs with.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            Self::Ec(_) => alg(ECDSA_WITH_SHA256),
            Self::Rsa(_) => alg_null(SHA256_WITH_RSA),
        }
    }
}

// ---------------------------------------------------------------- the PKI

/// The TSA leaf's extendedKeyUsage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafEku {
    /// Exactly timeStamping, critical (RFC 3161 §2.3). The default.
    CriticalTimeStamping,
    /// Exactly timeStamping, not critical.
    NonCriticalTimeStamping,
    /// timeStamping and codeSigning, critical.
    CriticalTimeStampingAndCodeSigning,
    /// No EKU extension.
    Absent,
}

/// How the test PKI is made.
#[derive(Clone, Debug)]
pub struct PkiOptions {
    pub leaf_key: LeafKey,
    pub leaf_eku: LeafEku,
    /// notBefore, notAfter of the TSA leaf.
    pub leaf_validity: (Timestamp, Timestamp),
    /// Adds a critical extension Go's verifier does not know (1.3.6.1.4.1.99999.42).
    pub leaf_unknown_critical_extension: bool,
    /// The leaf is self-signed (no intermediate, no separate root): a pinned TSA certificate.
    pub self_signed_leaf: bool,
    /// Whether an intermediate CA sits between root and leaf.
    pub intermediate: bool,
    /// The intermediate's EKU purposes; empty means no EKU extension.
    pub intermediate_eku: Vec<ExtendedKeyUsagePurpose>,
    pub intermediate_validity: (Timestamp, Timestamp),
    pub root_validity: (Timestamp, Timestamp),
    /// CRL distribution points of the TSA leaf (so the TSA chain is revocable).
    pub leaf_crl_urls: Vec<String>,
    /// CRL distribution points of the intermediate.
    pub intermediate_crl_urls: Vec<String>,
}

impl Default for PkiOptions {
    fn default() -> Self {
        let life = (ts("2020-01-01T00:00:00Z"), ts("2040-01-01T00:00:00Z"));
        Self {
            leaf_key: LeafKey::P256,
            leaf_eku: LeafEku::CriticalTimeStamping,
            leaf_validity: life,
            leaf_unknown_critical_extension: false,
            self_signed_leaf: false,
            intermediate: true,
            intermediate_eku: Vec::new(),
            intermediate_validity: life,
            root_validity: life,
            leaf_crl_urls: Vec::new(),
            intermediate_crl_urls: Vec::new(),
        }
    }
}

fn name(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "notaryd tests");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, validity: (Timestamp, Timestamp)) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = odt(validity.0);
    p.not_after = odt(validity.1);
    p
}

fn eku_extension(purposes: &[&[u64]], critical: bool) -> CustomExtension {
    let mut seq = Vec::new();
    for p in purposes {
        let oid = Oid::new_unwrap(&p.iter().map(u64::to_string).collect::<Vec<_>>().join("."));
        seq.extend_from_slice(&oid_tlv(&oid));
    }
    let mut ext = CustomExtension::from_oid_content(&OID_EXT_KEY_USAGE, tlv(0x30, &seq));
    ext.set_criticality(critical);
    ext
}

/// A test TSA: its PKI and its signing key.
pub struct Tsa {
    root_der: Vec<u8>,
    intermediate_der: Option<Vec<u8>>,
    leaf_der: Vec<u8>,
    signer: Signer,
    /// The root's and the intermediate's keys (P-256), for CRLs about the TSA chain.
    root_key: Option<crate::common::pki::TestKey>,
    intermediate_key: Option<crate::common::pki::TestKey>,
}

fn crl_points(urls: &[String]) -> Vec<rcgen::CrlDistributionPoint> {
    urls.iter()
        .map(|u| rcgen::CrlDistributionPoint {
            uris: vec![u.clone()],
        })
        .collect()
}

fn test_key(kp: &KeyPair) -> crate::common::pki::TestKey {
    crate::common::pki::TestKey {
        kind: crate::common::pki::KeyKind::P256,
        pkcs8: kp.serialize_der(),
    }
}

/// Which certificates the token carries, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertChoice {
    Leaf,
    Intermediate,
    Root,
}

impl Tsa {
    /// A TSA with the default PKI: ECDSA P-256 root → intermediate → leaf, all valid
    /// 2020–2040, leaf EKU exactly timeStamping and critical.
    pub fn new() -> Self {
        Self::with(&PkiOptions::default())
    }

    /// A TSA with a customised PKI.
    pub fn with(o: &PkiOptions) -> Self {
        let (signer, leaf_key) = Signer::generate(o.leaf_key);
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name = name("notaryd test TSA");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.not_before = odt(o.leaf_validity.0);
        leaf.not_after = odt(o.leaf_validity.1);
        leaf.crl_distribution_points = crl_points(&o.leaf_crl_urls);
        let code_signing: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 3];
        match o.leaf_eku {
            LeafEku::CriticalTimeStamping => leaf
                .custom_extensions
                .push(eku_extension(&[&EKU_TIME_STAMPING], true)),
            LeafEku::NonCriticalTimeStamping => leaf
                .custom_extensions
                .push(eku_extension(&[&EKU_TIME_STAMPING], false)),
            LeafEku::CriticalTimeStampingAndCodeSigning => leaf
                .custom_extensions
                .push(eku_extension(&[&EKU_TIME_STAMPING, code_signing], true)),
            LeafEku::Absent => {}
        }
        if o.leaf_unknown_critical_extension {
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 42], vec![0x05, 0x00]);
            ext.set_criticality(true);
            leaf.custom_extensions.push(ext);
        }

        if o.self_signed_leaf {
            let der = leaf
                .self_signed(&leaf_key)
                .expect("self-sign")
                .der()
                .to_vec();
            return Self {
                root_der: der.clone(),
                intermediate_der: None,
                leaf_der: der,
                signer,
                root_key: None,
                intermediate_key: None,
            };
        }

        let root_key = KeyPair::generate().expect("root key");
        let root_test_key = test_key(&root_key);
        let root_params = ca_params("notaryd test TSA root", o.root_validity);
        let root_der = root_params
            .self_signed(&root_key)
            .expect("root")
            .der()
            .to_vec();
        let root = Issuer::new(root_params, root_key);
        let mut intermediate_key = None;
        let (intermediate_der, leaf_der) = if o.intermediate {
            let key = KeyPair::generate().expect("intermediate key");
            intermediate_key = Some(test_key(&key));
            let mut params = ca_params("notaryd test TSA CA", o.intermediate_validity);
            params.crl_distribution_points = crl_points(&o.intermediate_crl_urls);
            params.extended_key_usages = o.intermediate_eku.clone();
            let der = params
                .signed_by(&key, &root)
                .expect("intermediate")
                .der()
                .to_vec();
            let issuer = Issuer::new(params, key);
            let leaf_der = leaf
                .signed_by(&leaf_key, &issuer)
                .expect("leaf")
                .der()
                .to_vec();
            (Some(der), leaf_der)
        } else {
            let leaf_der = leaf
                .signed_by(&leaf_key, &root)
                .expect("leaf")
                .der()
                .to_vec();
            (None, leaf_der)
        };
        Self {
            root_der,
            intermediate_der,
            leaf_der,
            signer,
            root_key: Some(root_test_key),
            intermediate_key,
        }
    }

    /// The intermediate as a [`crate::common::pki::TestCert`] (to sign CRLs about the leaf).
    pub fn intermediate_cert(&self) -> Option<crate::common::pki::TestCert> {
        Some(crate::common::pki::TestCert {
            der: self.intermediate_der.clone()?,
            key: self.intermediate_key.clone()?,
            spec: crate::common::pki::CertSpec::ca("notaryd test TSA CA", None),
        })
    }

    /// The root as a [`crate::common::pki::TestCert`] (to sign CRLs about the intermediate).
    pub fn root_cert(&self) -> Option<crate::common::pki::TestCert> {
        Some(crate::common::pki::TestCert {
            der: self.root_der.clone(),
            key: self.root_key.clone()?,
            spec: crate::common::pki::CertSpec::ca("notaryd test TSA root", None),
        })
    }

    /// The root certificate to put in a `tsa:` trust store.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The TSA (leaf) certificate.
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// The intermediate CA certificate, if the PKI has one.
    pub fn intermediate_der(&self) -> Option<&[u8]> {
        self.intermediate_der.as_deref()
    }

    /// A valid token over `message` (the envelope's primitive signature bytes) made at
    /// `gen_time`, with an imprint hashed by `hash`. It carries the leaf and intermediate,
    /// accuracy 1 s, a signing-certificate-v2 attribute with issuerSerial.
    pub fn timestamp(&self, message: &[u8], gen_time: Timestamp, hash: HashAlgorithm) -> Vec<u8> {
        self.token(&self.options(message, gen_time, hash))
    }

    /// The options [`Tsa::timestamp`] uses, to be changed by a test.
    pub fn options(
        &self,
        message: &[u8],
        gen_time: Timestamp,
        hash: HashAlgorithm,
    ) -> TokenOptions {
        let mut certs = vec![CertChoice::Leaf];
        if self.intermediate_der.is_some() {
            certs.push(CertChoice::Intermediate);
        }
        TokenOptions {
            message: message.to_vec(),
            imprint_hash: hash_oid(hash),
            imprint_digest: None,
            gen_time,
            gen_time_text: None,
            accuracy: Some((Some(1), None, None)),
            policy: TEST_POLICY,
            tst_version: 1,
            content_info_type: SIGNED_DATA,
            signed_data_version: 3,
            econtent_type: TST_INFO,
            detached: false,
            digest_algorithms: None,
            certs,
            raw_certificate_choices: Vec::new(),
            signers: vec![SignerOptions::default()],
            ber: false,
        }
    }

    fn cert_der(&self, c: CertChoice) -> &[u8] {
        match c {
            CertChoice::Leaf => &self.leaf_der,
            CertChoice::Intermediate => self.intermediate_der.as_deref().expect("no intermediate"),
            CertChoice::Root => &self.root_der,
        }
    }

    /// Encodes a TSTInfo per `o`.
    pub fn tst_info(&self, o: &TokenOptions) -> Vec<u8> {
        let hashed = match &o.imprint_digest {
            Some(d) => d.clone(),
            None => {
                let alg = match o.imprint_hash {
                    SHA256 => &digest::SHA256,
                    SHA384 => &digest::SHA384,
                    SHA512 => &digest::SHA512,
                    _ => &digest::SHA1_FOR_LEGACY_USE_ONLY,
                };
                digest::digest(alg, &o.message).as_ref().to_vec()
            }
        };
        let text = o
            .gen_time_text
            .clone()
            .unwrap_or_else(|| generalized_time(o.gen_time));
        TstInfo {
            version: o.tst_version,
            policy: o.policy,
            message_imprint: MessageImprint {
                hash_algorithm: alg(o.imprint_hash),
                hashed_message: OctetString::new(hashed).expect("imprint"),
            },
            serial_number: 0x1234_5678,
            gen_time: Any::new(Tag::GeneralizedTime, text.as_bytes()).expect("genTime"),
            accuracy: o.accuracy.map(|(seconds, millis, micros)| Accuracy {
                seconds,
                millis,
                micros,
            }),
            nonce: Some(42),
        }
        .to_der()
        .expect("encode TSTInfo")
    }

    /// `IssuerAndSerialNumber`-style issuer Name and serial INTEGER of a certificate.
    fn issuer_and_serial(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let cert = x509_cert::Certificate::from_der(der).expect("parse test certificate");
        let tbs = cert.tbs_certificate();
        (
            tbs.issuer().to_der().expect("issuer"),
            tbs.serial_number().to_der().expect("serial"),
        )
    }

    fn signer_info(&self, s: &SignerOptions, o: &TokenOptions, tst: &[u8]) -> Vec<u8> {
        let leaf = &self.leaf_der;
        let (issuer, serial) = Self::issuer_and_serial(leaf);
        let digest_alg = match s.digest {
            SHA256 => &digest::SHA256,
            SHA384 => &digest::SHA384,
            SHA512 => &digest::SHA512,
            _ => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        };

        // The signing-certificate attribute(s).
        let id_cert = match s.ess_cert {
            EssCert::Leaf => leaf.clone(),
            EssCert::Other => self.cert_der(CertChoice::Root).to_vec(),
        };
        let (id_issuer, id_serial) = Self::issuer_and_serial(&id_cert);
        let general_names = |tag: u8| tlv(0x30, &tlv(tag, &id_issuer));
        let issuer_serial = match s.issuer_serial {
            IssuerSerialMode::Absent => None,
            IssuerSerialMode::DirectoryName => Some(general_names(0xa4)),
            IssuerSerialMode::WrongChoiceTag => Some(general_names(0xa7)),
        }
        .map(|names| IssuerSerial {
            issuer: Any::from_der(&names).expect("GeneralNames"),
            serial_number: Any::from_der(&id_serial).expect("serial"),
        });
        let mut attrs: Vec<Vec<u8>> = Vec::new();
        let attr = |oid: Oid, value: &[u8]| tlv(0x30, &cat(&[&oid_tlv(&oid), &tlv(0x31, value)]));
        match s.signing_certificate {
            SigningCert::V2 | SigningCert::Both => {
                let (hash_algorithm, hash) = match s.cert_hash {
                    None => (
                        None,
                        digest::digest(&digest::SHA256, &id_cert).as_ref().to_vec(),
                    ),
                    Some(SHA1) => (Some(alg(SHA1)), sha1(&id_cert)),
                    Some(SHA384) => (
                        Some(alg(SHA384)),
                        digest::digest(&digest::SHA384, &id_cert).as_ref().to_vec(),
                    ),
                    Some(other) => (
                        Some(alg(other)),
                        digest::digest(&digest::SHA256, &id_cert).as_ref().to_vec(),
                    ),
                };
                let certs = if s.empty_signing_certificate {
                    Vec::new()
                } else {
                    vec![EssCertIdV2 {
                        hash_algorithm,
                        cert_hash: OctetString::new(hash).expect("certHash"),
                        issuer_serial,
                    }]
                };
                let v = SigningCertificateV2 { certs }.to_der().expect("scv2");
                attrs.push(attr(SIGNING_CERTIFICATE_V2, &v));
                if s.signing_certificate == SigningCert::Both {
                    let v1 = SigningCertificate {
                        certs: vec![EssCertId {
                            cert_hash: OctetString::new(sha1(&id_cert)).expect("certHash"),
                            issuer_serial: None,
                        }],
                    };
                    attrs.push(attr(SIGNING_CERTIFICATE, &v1.to_der().expect("scv1")));
                }
            }
            SigningCert::V1Only => {
                let v1 = SigningCertificate {
                    certs: vec![EssCertId {
                        cert_hash: OctetString::new(sha1(&id_cert)).expect("certHash"),
                        issuer_serial,
                    }],
                };
                attrs.push(attr(SIGNING_CERTIFICATE, &v1.to_der().expect("scv1")));
            }
            SigningCert::None => {}
        }
        if let Some(ct) = s.content_type {
            attrs.push(attr(CONTENT_TYPE, &oid_tlv(&ct)));
        }
        let tst_digest = digest::digest(digest_alg, tst).as_ref().to_vec();
        match s.message_digest {
            MessageDigest::Correct => attrs.push(attr(MESSAGE_DIGEST, &tlv(0x04, &tst_digest))),
            MessageDigest::Wrong => {
                let mut d = tst_digest.clone();
                d[0] ^= 1;
                attrs.push(attr(MESSAGE_DIGEST, &tlv(0x04, &d)));
            }
            MessageDigest::Absent => {}
        }
        if let Some(t) = s.signing_time {
            let text = generalized_time(t);
            attrs.push(attr(SIGNING_TIME, &tlv(0x18, text.as_bytes())));
        }
        if s.duplicate_content_type {
            attrs.push(attr(CONTENT_TYPE, &oid_tlv(&TST_INFO)));
        }
        if s.tamper_signed_attributes_after_signing {
            // An attribute no check reads, so that only the signature can notice the change.
            attrs.push(attr(TAMPER_ATTRIBUTE, &tlv(0x0c, b"original")));
        }
        // DER orders SET OF by encoding.
        attrs.sort();
        let attrs_content = attrs.concat();
        let to_sign = tlv(0x31, &attrs_content);
        let mut signature = match &s.sign_with {
            Some(other) => other.signer.sign(&to_sign),
            None => self.signer.sign(&to_sign),
        };
        if s.corrupt_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        let mut signed_attrs = tlv(0xa0, &attrs_content);
        if s.tamper_signed_attributes_after_signing {
            let at = signed_attrs
                .windows(8)
                .position(|w| w == b"original")
                .expect("tamper attribute");
            signed_attrs[at..at + 8].copy_from_slice(b"tampered");
        }

        let sid = match s.sid {
            Sid::Leaf => tlv(0x30, &cat(&[&issuer, &serial])),
            Sid::Other => {
                let (i, sn) = Self::issuer_and_serial(self.cert_der(CertChoice::Root));
                tlv(0x30, &cat(&[&i, &sn]))
            }
        };
        let signature_algorithm = s
            .signature_algorithm
            .clone()
            .unwrap_or_else(|| self.signer.signature_algorithm());
        let body = cat(&[
            &int_tlv(s.version),
            &sid,
            &alg(s.digest).to_der().expect("digestAlgorithm"),
            if s.omit_signed_attributes {
                &[]
            } else {
                &signed_attrs
            },
            &signature_algorithm.to_der().expect("signatureAlgorithm"),
            &tlv(0x04, &signature),
        ]);
        if o.ber {
            tlv_indefinite(0x30, &body)
        } else {
            tlv(0x30, &body)
        }
    }

    /// Encodes a whole token per `o`.
    pub fn token(&self, o: &TokenOptions) -> Vec<u8> {
        let tst = self.tst_info(o);
        let wrap = |tag: u8, content: &[u8]| {
            if o.ber {
                tlv_indefinite(tag, content)
            } else {
                tlv(tag, content)
            }
        };
        let econtent = if o.ber {
            // A constructed OCTET STRING in 16-byte chunks, as streaming encoders write it.
            let chunks: Vec<u8> = tst.chunks(16).flat_map(|c| tlv(0x04, c)).collect();
            tlv_indefinite(0x24, &chunks)
        } else {
            tlv(0x04, &tst)
        };
        let encap = wrap(
            0x30,
            &cat(&[
                &oid_tlv(&o.econtent_type),
                &if o.detached {
                    Vec::new()
                } else {
                    wrap(0xa0, &econtent)
                },
            ]),
        );
        let digest_algorithms: Vec<u8> = o
            .digest_algorithms
            .clone()
            .unwrap_or_else(|| {
                let mut v: Vec<Oid> = Vec::new();
                for s in &o.signers {
                    if !v.contains(&s.digest) {
                        v.push(s.digest);
                    }
                }
                v
            })
            .iter()
            .flat_map(|oid| alg(*oid).to_der().expect("alg"))
            .collect();
        let mut certs: Vec<u8> = o
            .certs
            .iter()
            .flat_map(|c| self.cert_der(*c).to_vec())
            .collect();
        for raw in &o.raw_certificate_choices {
            certs.extend_from_slice(raw);
        }
        let signer_infos: Vec<u8> = o
            .signers
            .iter()
            .flat_map(|s| self.signer_info(s, o, &tst))
            .collect();
        let version = if o.ber {
            // A non-minimal long-form length, also BER.
            vec![0x02, 0x81, 0x01, o.signed_data_version as u8]
        } else {
            int_tlv(o.signed_data_version)
        };
        let signed_data = wrap(
            0x30,
            &cat(&[
                &version,
                &tlv(0x31, &digest_algorithms),
                &encap,
                &if certs.is_empty() {
                    Vec::new()
                } else {
                    wrap(0xa0, &certs)
                },
                &wrap(0x31, &signer_infos),
            ]),
        );
        wrap(
            0x30,
            &cat(&[&oid_tlv(&o.content_info_type), &wrap(0xa0, &signed_data)]),
        )
    }
}

impl Default for Tsa {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------- token knobs

/// Every knob of a token. [`Tsa::options`] gives the valid defaults.
#[derive(Clone)]
pub struct TokenOptions {
    /// The timestamped message (the envelope's primitive signature bytes).
    pub message: Vec<u8>,
    /// messageImprint.hashAlgorithm (SHA-1 is hashed with SHA-1, unknown OIDs too).
    pub imprint_hash: Oid,
    /// Overrides hashedMessage.
    pub imprint_digest: Option<Vec<u8>>,
    pub gen_time: Timestamp,
    /// Overrides the genTime text.
    pub gen_time_text: Option<String>,
    /// (seconds, millis, micros); `None` omits the accuracy field.
    pub accuracy: Option<(Option<i64>, Option<i64>, Option<i64>)>,
    pub policy: Oid,
    pub tst_version: i64,
    pub content_info_type: Oid,
    pub signed_data_version: i64,
    pub econtent_type: Oid,
    /// Leaves eContent out.
    pub detached: bool,
    /// SignedData.digestAlgorithms; `None` lists the signers' digest algorithms.
    pub digest_algorithms: Option<Vec<Oid>>,
    /// The certificates carried, in order.
    pub certs: Vec<CertChoice>,
    /// Extra raw CertificateChoices elements appended to the certificates.
    pub raw_certificate_choices: Vec<Vec<u8>>,
    pub signers: Vec<SignerOptions>,
    /// BER framing: indefinite lengths, a chunked constructed eContent, a non-minimal length.
    pub ber: bool,
}

/// Which signing-certificate attributes a signer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningCert {
    V2,
    V1Only,
    Both,
    None,
}

/// ESSCertIDv2.issuerSerial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerSerialMode {
    /// GeneralNames with a directoryName ([4]).
    DirectoryName,
    /// GeneralNames whose only member is tagged [7] (iPAddress) around the Name.
    WrongChoiceTag,
    Absent,
}

/// Which certificate ESSCertIDv2 names (hash and issuerSerial).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EssCert {
    Leaf,
    /// The root (carried or not).
    Other,
}

/// Which certificate the signerInfo's sid names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sid {
    Leaf,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageDigest {
    Correct,
    Wrong,
    Absent,
}

/// Knobs of one signerInfo.
#[derive(Clone)]
pub struct SignerOptions {
    pub version: i64,
    pub sid: Sid,
    /// digestAlgorithm, also the hash of messageDigest.
    pub digest: Oid,
    /// Overrides signatureAlgorithm.
    pub signature_algorithm: Option<AlgorithmIdentifierOwned>,
    pub signing_certificate: SigningCert,
    pub empty_signing_certificate: bool,
    /// ESSCertIDv2.hashAlgorithm; `None` omits it (default SHA-256).
    pub cert_hash: Option<Oid>,
    pub ess_cert: EssCert,
    pub issuer_serial: IssuerSerialMode,
    /// The contentType attribute value; `None` omits it.
    pub content_type: Option<Oid>,
    pub duplicate_content_type: bool,
    pub message_digest: MessageDigest,
    pub signing_time: Option<Timestamp>,
    pub omit_signed_attributes: bool,
    pub tamper_signed_attributes_after_signing: bool,
    pub corrupt_signature: bool,
    /// Sign with another TSA's key.
    pub sign_with: Option<std::rc::Rc<Tsa>>,
}

impl Default for SignerOptions {
    fn default() -> Self {
        Self {
            version: 1,
            sid: Sid::Leaf,
            digest: SHA256,
            signature_algorithm: None,
            signing_certificate: SigningCert::V2,
            empty_signing_certificate: false,
            cert_hash: None,
            ess_cert: EssCert::Leaf,
            issuer_serial: IssuerSerialMode::DirectoryName,
            content_type: Some(TST_INFO),
            duplicate_content_type: false,
            message_digest: MessageDigest::Correct,
            signing_time: None,
            omit_signed_attributes: false,
            tamper_signed_attributes_after_signing: false,
            corrupt_signature: false,
            sign_with: None,
        }
    }
}
