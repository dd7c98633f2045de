//! A test PKI made at test time: keys from aws-lc-rs, certificates from rcgen. Every profile
//! knob a rejection test needs is a field of [`CertSpec`].
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;

/// Key types the Notary algorithm table knows, plus a few it refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    P256,
    P384,
    P521,
}

impl KeyKind {
    /// The JWS `alg` this key signs with.
    pub fn jws_alg(self) -> &'static str {
        match self {
            Self::Rsa2048 => "PS256",
            Self::Rsa3072 => "PS384",
            Self::Rsa4096 => "PS512",
            Self::P256 => "ES256",
            Self::P384 => "ES384",
            Self::P521 => "ES512",
        }
    }

    /// The COSE `alg` this key signs with.
    pub fn cose_alg(self) -> i64 {
        match self {
            Self::Rsa2048 => -37,
            Self::Rsa3072 => -38,
            Self::Rsa4096 => -39,
            Self::P256 => -7,
            Self::P384 => -35,
            Self::P521 => -36,
        }
    }

    fn rcgen_alg(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
            Self::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::P521 => &rcgen::PKCS_ECDSA_P521_SHA512,
        }
    }
}

/// A private key with its PKCS#8 encoding.
#[derive(Clone)]
pub struct TestKey {
    pub kind: KeyKind,
    pub pkcs8: Vec<u8>,
}

impl TestKey {
    /// A fresh key. RSA generation is slow, so prefer [`TestKey::cached`].
    pub fn generate(kind: KeyKind) -> Self {
        let pkcs8 = match kind {
            KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => {
                let size = match kind {
                    KeyKind::Rsa2048 => KeySize::Rsa2048,
                    KeyKind::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let kp = RsaKeyPair::generate(size).expect("rsa keygen");
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
                    .expect("pkcs8")
                    .as_ref()
                    .to_vec()
            }
            KeyKind::P256 | KeyKind::P384 | KeyKind::P521 => {
                let alg = ecdsa_alg(kind);
                let kp = EcdsaKeyPair::generate(alg).expect("ec keygen");
                kp.to_pkcs8v1().expect("pkcs8").as_ref().to_vec()
            }
        };
        Self { kind, pkcs8 }
    }

    /// The `slot`-th key of this kind, generated once per test process.
    pub fn cached(kind: KeyKind, slot: usize) -> Self {
        type Cache = Mutex<Vec<((KeyKind, usize), TestKey)>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        if let Some((_, k)) = cache
            .lock()
            .unwrap()
            .iter()
            .find(|(id, _)| *id == (kind, slot))
        {
            return k.clone();
        }
        // Generated outside the lock (RSA is slow); if another thread stored this slot
        // meanwhile, theirs is used, so every caller of one slot gets the same key.
        let key = Self::generate(kind);
        let mut cache = cache.lock().unwrap();
        if let Some((_, k)) = cache.iter().find(|(id, _)| *id == (kind, slot)) {
            return k.clone();
        }
        cache.push(((kind, slot), key.clone()));
        key
    }

    /// Signs `message` the way a Notary signer does: RSASSA-PSS with salt = hash length, or
    /// ECDSA with a raw r||s signature.
    pub fn sign_notary(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self.kind {
            KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => {
                let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa key");
                let pad: &'static dyn signature::RsaEncoding = match self.kind {
                    KeyKind::Rsa2048 => &signature::RSA_PSS_SHA256,
                    KeyKind::Rsa3072 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(pad, &rng, message, &mut sig).expect("sign");
                sig
            }
            _ => {
                let kp =
                    EcdsaKeyPair::from_pkcs8(ecdsa_alg(self.kind), &self.pkcs8).expect("ec key");
                kp.sign(&rng, message).expect("sign").as_ref().to_vec()
            }
        }
    }

    /// Signs with RSA PKCS#1 v1.5 / SHA-256 (never valid for an envelope; used by attacks).
    pub fn sign_pkcs1_sha256(&self, message: &[u8]) -> Vec<u8> {
        let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa key");
        let mut sig = vec![0u8; kp.public_modulus_len()];
        kp.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut sig,
        )
        .expect("sign");
        sig
    }

    /// Signs with ECDSA producing a DER signature (never valid for an envelope).
    pub fn sign_ecdsa_der(&self, message: &[u8]) -> Vec<u8> {
        let alg = match self.kind {
            KeyKind::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            KeyKind::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            _ => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        };
        let kp = EcdsaKeyPair::from_pkcs8(alg, &self.pkcs8).expect("ec key");
        kp.sign(&SystemRandom::new(), message)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    /// The key as rcgen wants it.
    pub fn rcgen(&self) -> KeyPair {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.clone());
        KeyPair::from_pkcs8_der_and_sign_algo(&der, self.kind.rcgen_alg()).expect("rcgen key")
    }

    /// PKCS#8 PEM, for writing key files.
    pub fn pkcs8_pem(&self) -> String {
        self.rcgen().serialize_pem()
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        match self.kind {
            KeyKind::P256 | KeyKind::P384 | KeyKind::P521 => {
                let kp =
                    EcdsaKeyPair::from_pkcs8(ecdsa_alg(self.kind), &self.pkcs8).expect("ec key");
                AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
                    .expect("spki")
                    .as_ref()
                    .to_vec()
            }
            _ => {
                let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa key");
                AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
                    .expect("spki")
                    .as_ref()
                    .to_vec()
            }
        }
    }
}

fn ecdsa_alg(kind: KeyKind) -> &'static signature::EcdsaSigningAlgorithm {
    match kind {
        KeyKind::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        KeyKind::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    }
}

/// How to encode keyUsage. rcgen always marks its own keyUsage critical, so the other shapes
/// are written as custom extensions.
#[derive(Clone, Debug)]
pub enum KeyUsageSpec {
    Absent,
    Critical(Vec<KeyUsagePurpose>),
    NonCritical(Vec<KeyUsagePurpose>),
}

/// How to encode extendedKeyUsage (as raw OIDs so that any purpose, known or not, fits).
#[derive(Clone, Debug)]
pub enum EkuSpec {
    Absent,
    /// (OIDs, critical)
    Present(Vec<Vec<u64>>, bool),
}

/// Every knob of a test certificate.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Subject attributes in order (type, value). C, ST, O make a DN that x509.subject can match.
    pub subject: Vec<(DnType, String)>,
    pub ca: Option<Option<u8>>,
    /// Write basicConstraints with cA=FALSE explicitly.
    pub explicit_not_ca: bool,
    pub key_usage: KeyUsageSpec,
    pub eku: EkuSpec,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub crl_urls: Vec<String>,
    /// OCSP responder URIs, written as an authorityInfoAccess extension (id-ad-ocsp).
    pub ocsp_urls: Vec<String>,
    /// Extra raw extensions: (oid, DER content, critical).
    pub extra: Vec<(Vec<u64>, Vec<u8>, bool)>,
}

pub const OID_KP_CODE_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 3];
pub const OID_KP_TIME_STAMPING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 8];
pub const OID_KP_SERVER_AUTH: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 1];
pub const OID_ANY_EKU: [u64; 5] = [2, 5, 29, 37, 0];

/// Default validity: 2020-01-01 to 2100-01-01, so tests pinned to a 2026 "now" see valid certs.
pub fn long_validity() -> (OffsetDateTime, OffsetDateTime) {
    (
        OffsetDateTime::from_unix_timestamp(1_577_836_800).unwrap(),
        OffsetDateTime::from_unix_timestamp(4_102_444_800).unwrap(),
    )
}

impl CertSpec {
    fn base(cn: &str) -> Self {
        let (not_before, not_after) = long_validity();
        Self {
            subject: vec![
                (DnType::CountryName, "US".into()),
                (DnType::StateOrProvinceName, "WA".into()),
                (DnType::LocalityName, "Seattle".into()),
                (DnType::OrganizationName, "notaryd tests".into()),
                (DnType::CommonName, cn.into()),
            ],
            ca: None,
            explicit_not_ca: false,
            key_usage: KeyUsageSpec::Absent,
            eku: EkuSpec::Absent,
            not_before,
            not_after,
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// A root or intermediate CA profile.
    pub fn ca(cn: &str, path_len: Option<u8>) -> Self {
        Self {
            ca: Some(path_len),
            key_usage: KeyUsageSpec::Critical(vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
            ]),
            ..Self::base(cn)
        }
    }

    /// A code-signing leaf profile (KU digitalSignature critical, EKU codeSigning).
    pub fn code_signing(cn: &str) -> Self {
        Self {
            explicit_not_ca: true,
            key_usage: KeyUsageSpec::Critical(vec![KeyUsagePurpose::DigitalSignature]),
            eku: EkuSpec::Present(vec![OID_KP_CODE_SIGNING.to_vec()], false),
            ..Self::base(cn)
        }
    }

    /// A TSA leaf profile (KU digitalSignature, critical EKU exactly timeStamping).
    pub fn timestamping(cn: &str) -> Self {
        Self {
            explicit_not_ca: true,
            key_usage: KeyUsageSpec::Critical(vec![KeyUsagePurpose::DigitalSignature]),
            eku: EkuSpec::Present(vec![OID_KP_TIME_STAMPING.to_vec()], true),
            ..Self::base(cn)
        }
    }

    fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        for (t, v) in &self.subject {
            p.distinguished_name.push(t.clone(), v.as_str());
        }
        p.is_ca = match self.ca {
            Some(Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
            Some(None) => IsCa::Ca(BasicConstraints::Unconstrained),
            None if self.explicit_not_ca => IsCa::ExplicitNoCa,
            None => IsCa::NoCa,
        };
        p.not_before = self.not_before;
        p.not_after = self.not_after;
        match &self.key_usage {
            KeyUsageSpec::Absent => {}
            KeyUsageSpec::Critical(ku) => p.key_usages = ku.clone(),
            KeyUsageSpec::NonCritical(ku) => {
                let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 15], key_usage_der(ku));
                ext.set_criticality(false);
                p.custom_extensions.push(ext);
            }
        }
        if let EkuSpec::Present(oids, critical) = &self.eku {
            let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], eku_der(oids));
            ext.set_criticality(*critical);
            p.custom_extensions.push(ext);
        }
        for url in &self.crl_urls {
            p.crl_distribution_points.push(rcgen::CrlDistributionPoint {
                uris: vec![url.clone()],
            });
        }
        if !self.ocsp_urls.is_empty() {
            let access: Vec<u8> = self
                .ocsp_urls
                .iter()
                .flat_map(|url| {
                    let location = tlv(0x86, url.as_bytes());
                    tlv(
                        0x30,
                        &[oid_der(&[1, 3, 6, 1, 5, 5, 7, 48, 1]), location].concat(),
                    )
                })
                .collect();
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                tlv(0x30, &access),
            ));
        }
        for (oid, content, critical) in &self.extra {
            let mut ext = CustomExtension::from_oid_content(oid, content.clone());
            ext.set_criticality(*critical);
            p.custom_extensions.push(ext);
        }
        p
    }
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 128 {
        out.push(len as u8);
    } else if len < 256 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
}

/// DER TLV.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// DER OBJECT IDENTIFIER from arcs.
pub fn oid_der(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut stack = vec![(arc & 0x7f) as u8];
        let mut a = arc >> 7;
        while a > 0 {
            stack.push(((a & 0x7f) as u8) | 0x80);
            a >>= 7;
        }
        stack.reverse();
        body.extend(stack);
    }
    tlv(0x06, &body)
}

fn eku_der(oids: &[Vec<u64>]) -> Vec<u8> {
    let body: Vec<u8> = oids.iter().flat_map(|o| oid_der(o)).collect();
    tlv(0x30, &body)
}

fn key_usage_der(ku: &[KeyUsagePurpose]) -> Vec<u8> {
    let bits = ku.iter().fold(0u16, |acc, k| {
        acc | match k {
            KeyUsagePurpose::DigitalSignature => 0x8000,
            KeyUsagePurpose::ContentCommitment => 0x4000,
            KeyUsagePurpose::KeyEncipherment => 0x2000,
            KeyUsagePurpose::DataEncipherment => 0x1000,
            KeyUsagePurpose::KeyAgreement => 0x0800,
            KeyUsagePurpose::KeyCertSign => 0x0400,
            KeyUsagePurpose::CrlSign => 0x0200,
            KeyUsagePurpose::EncipherOnly => 0x0100,
            KeyUsagePurpose::DecipherOnly => 0x0080,
        }
    });
    let used = 16 - bits.trailing_zeros().min(16) as usize;
    let bytes = if used <= 8 {
        vec![(bits >> 8) as u8]
    } else {
        bits.to_be_bytes().to_vec()
    };
    let unused = (bytes.len() * 8 - used) as u8;
    let mut body = vec![unused];
    body.extend(bytes);
    tlv(0x03, &body)
}

/// A certificate with its key and the parameters that made it (so it can issue others).
pub struct TestCert {
    pub der: Vec<u8>,
    pub key: TestKey,
    pub spec: CertSpec,
}

impl TestCert {
    /// A self-signed certificate.
    pub fn self_signed(spec: CertSpec, key: TestKey) -> Self {
        let kp = key.rcgen();
        let cert = spec.params().self_signed(&kp).expect("self-sign");
        Self {
            der: cert.der().to_vec(),
            key,
            spec,
        }
    }

    /// A certificate for `key` issued by `self`.
    pub fn issue(&self, spec: CertSpec, key: TestKey) -> TestCert {
        let issuer_key = self.key.rcgen();
        let issuer = Issuer::new(self.spec.params(), issuer_key);
        let subject_key = key.rcgen();
        let cert = spec
            .params()
            .signed_by(&subject_key, &issuer)
            .expect("issue");
        TestCert {
            der: cert.der().to_vec(),
            key,
            spec,
        }
    }

    /// PEM text of the certificate.
    pub fn pem(&self) -> String {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.der);
        let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap());
            s.push('\n');
        }
        s.push_str("-----END CERTIFICATE-----\n");
        s
    }
}

/// A root → intermediate → leaf code-signing chain.
pub struct Chain {
    pub root: TestCert,
    pub intermediate: TestCert,
    pub leaf: TestCert,
}

impl Chain {
    /// The standard three-certificate chain with a leaf key of `kind` (CA keys: P-256 for speed
    /// unless the leaf is RSA, then RSA-2048... both cached).
    pub fn new(kind: KeyKind) -> Self {
        Self::with_leaf(kind, CertSpec::code_signing("notaryd test signer"))
    }

    /// A chain with new keys of `kind` for all three certificates (benchmarks: every
    /// signature check costs what `kind` costs), named `<prefix> root|intermediate|signer`.
    pub fn fresh(kind: KeyKind, prefix: &str) -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca(&format!("{prefix} root"), Some(1)),
            TestKey::generate(kind),
        );
        let intermediate = root.issue(
            CertSpec::ca(&format!("{prefix} intermediate"), Some(0)),
            TestKey::generate(kind),
        );
        let leaf = intermediate.issue(
            CertSpec::code_signing(&format!("{prefix} signer")),
            TestKey::generate(kind),
        );
        Self {
            root,
            intermediate,
            leaf,
        }
    }

    /// The standard chain with a custom leaf profile.
    pub fn with_leaf(kind: KeyKind, leaf: CertSpec) -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca("notaryd test root", Some(1)),
            TestKey::cached(KeyKind::Rsa3072, 1),
        );
        let intermediate = root.issue(
            CertSpec::ca("notaryd test intermediate", Some(0)),
            TestKey::cached(KeyKind::Rsa3072, 2),
        );
        let leaf = intermediate.issue(leaf, TestKey::cached(kind, 0));
        Self {
            root,
            intermediate,
            leaf,
        }
    }

    /// DER certificates leaf first, as x5c carries them.
    pub fn x5c(&self) -> Vec<Vec<u8>> {
        vec![
            self.leaf.der.clone(),
            self.intermediate.der.clone(),
            self.root.der.clone(),
        ]
    }
}
