//! A test-only OCSP responder: a PKI made at test time (root → issuing CA → leaves, plus
//! delegated responder certificates of every shape) and a DER response writer with one knob
//! per rule, and an OCSP request reader.
//!
//! Typical use:
//!
//! ```ignore
//! let r = ocsp::Responder::new();
//! let der = r.spec(vec![r.single(&r.leaf, Status::Good)]).der();
//! let issuer = Certificate::from_der(&r.issuer.der).unwrap();
//! let resp = OcspResponse::parse_and_verify(&der, &issuer).unwrap();
//! ```
//!
//! Start from [`Responder::spec`] (signed by the issuing CA, byName, one certificate's
//! single response) and change fields of [`ResponseSpec`] / [`Single`]. Everything is written
//! with a small TLV writer; certificates are read with `x509-cert` (not with the verifier's
//! code) to take the serial number, subject and key bits the CertID needs. Nothing here is
//! shared with the verifier's decoder.
#![allow(dead_code)]

use aws_lc_rs::digest;
use der::Decode;
use notaryd::verify::time::Timestamp;
use rcgen::KeyUsagePurpose;

use crate::common::pki::{
    CertSpec, EkuSpec, KeyKind, KeyUsageSpec, TestCert, TestKey, oid_der as oid_arcs_der,
};
use crate::common::tsa::{generalized_time, tlv, ts};

// ---------------------------------------------------------------- object identifiers (arcs)

pub const OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
pub const OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
pub const INVALIDITY_DATE: &[u64] = &[2, 5, 29, 24];
pub const KP_OCSP_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 9];
pub const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
pub const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
pub const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
pub const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
pub const MD5: &[u64] = &[1, 2, 840, 113549, 2, 5];
pub const SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
pub const SHA1_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 5];
pub const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
pub const ECDSA_WITH_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
pub const ECDSA_WITH_SHA512: &[u64] = &[1, 2, 840, 10045, 4, 3, 4];

/// The default times: produced and thisUpdate 2026-11-01, nextUpdate 2026-11-08.
pub fn default_this_update() -> Timestamp {
    ts("2026-11-01T00:00:00Z")
}

pub fn default_next_update() -> Timestamp {
    ts("2026-11-08T00:00:00Z")
}

// ---------------------------------------------------------------- small DER helpers

fn oid(arcs: &[u64]) -> Vec<u8> {
    oid_arcs_der(arcs)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

fn gen_time(t: Timestamp) -> Vec<u8> {
    tlv(0x18, generalized_time(t).as_bytes())
}

fn enumerated(v: u8) -> Vec<u8> {
    if v >= 0x80 {
        tlv(0x0a, &[0, v])
    } else {
        tlv(0x0a, &[v])
    }
}

/// SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// The parts of a certificate a CertID needs, read with `x509-cert`.
#[derive(Clone, Debug)]
pub struct CertParts {
    /// The serial number's DER INTEGER contents.
    pub serial: Vec<u8>,
    /// The subject Name DER.
    pub subject: Vec<u8>,
    /// The subjectPublicKey BIT STRING contents (after the unused-bits octet).
    pub key_bits: Vec<u8>,
}

impl CertParts {
    pub fn of(der: &[u8]) -> Self {
        let cert = x509_cert::Certificate::from_der(der).expect("test certificate parses");
        let tbs = cert.tbs_certificate();
        let serial_tlv = der::Encode::to_der(tbs.serial_number()).expect("serial");
        // Skip tag and (short) length.
        let serial = serial_tlv[2..].to_vec();
        let subject = der::Encode::to_der(tbs.subject()).expect("subject");
        let key_bits = tbs
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        Self {
            serial,
            subject,
            key_bits,
        }
    }
}

// ---------------------------------------------------------------- the response knobs

/// A CertID hash algorithm, by OID arcs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    /// MD5: recognised by nobody, so the single response never matches.
    Md5,
}

impl IdHash {
    fn arcs(self) -> &'static [u64] {
        match self {
            Self::Sha1 => SHA1,
            Self::Sha256 => SHA256,
            Self::Sha384 => SHA384,
            Self::Sha512 => SHA512,
            Self::Md5 => MD5,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha1 | Self::Md5 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// A certStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked { time: Timestamp, reason: Option<u8> },
    Unknown,
}

/// One single response.
#[derive(Clone, Debug)]
pub struct Single {
    pub hash: IdHash,
    /// The hashed issuer name and key (already hashed with `hash`).
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    /// DER INTEGER contents.
    pub serial: Vec<u8>,
    pub status: Status,
    pub this_update: Timestamp,
    pub next_update: Option<Timestamp>,
    /// Raw singleExtensions: (OID arcs, critical, extnValue contents).
    pub extensions: Vec<(Vec<u64>, bool, Vec<u8>)>,
}

impl Single {
    /// A single response for the certificate `cert` issued by `issuer` (both DER).
    pub fn new(cert: &[u8], issuer: &[u8], hash: IdHash, status: Status) -> Self {
        let c = CertParts::of(cert);
        let i = CertParts::of(issuer);
        Self {
            hash,
            issuer_name_hash: hash.hash(&i.subject),
            issuer_key_hash: hash.hash(&i.key_bits),
            serial: c.serial,
            status,
            this_update: default_this_update(),
            next_update: Some(default_next_update()),
            extensions: Vec::new(),
        }
    }

    /// Adds an invalidityDate single extension (non-critical).
    pub fn with_invalidity_date(mut self, t: Timestamp) -> Self {
        self.extensions
            .push((INVALIDITY_DATE.to_vec(), false, gen_time(t)));
        self
    }

    pub fn der(&self) -> Vec<u8> {
        let cert_id = seq(&[
            seq(&[oid(self.hash.arcs()), tlv(0x05, &[])]),
            octets(&self.issuer_name_hash),
            octets(&self.issuer_key_hash),
            tlv(0x02, &self.serial),
        ]);
        let status = match &self.status {
            Status::Good => tlv(0x80, &[]),
            Status::Unknown => tlv(0x82, &[]),
            Status::Revoked { time, reason } => {
                let mut body = gen_time(*time);
                if let Some(r) = reason {
                    body.extend(tlv(0xa0, &enumerated(*r)));
                }
                tlv(0xa1, &body)
            }
        };
        let mut parts = vec![cert_id, status, gen_time(self.this_update)];
        if let Some(next) = self.next_update {
            parts.push(tlv(0xa0, &gen_time(next)));
        }
        if !self.extensions.is_empty() {
            parts.push(tlv(0xa1, &extensions_der(&self.extensions)));
        }
        seq(&parts)
    }
}

fn extensions_der(exts: &[(Vec<u64>, bool, Vec<u8>)]) -> Vec<u8> {
    let items: Vec<Vec<u8>> = exts
        .iter()
        .map(|(arcs, critical, value)| {
            let mut parts = vec![oid(arcs)];
            if *critical {
                parts.push(tlv(0x01, &[0xff]));
            }
            parts.push(octets(value));
            seq(&parts)
        })
        .collect();
    seq(&items)
}

/// The ResponderID.
#[derive(Clone, Debug)]
pub enum ResponderIdSpec {
    /// byName with this Name DER.
    ByName(Vec<u8>),
    /// byKey with this key hash.
    ByKey(Vec<u8>),
}

/// Everything in one response.
#[derive(Clone)]
pub struct ResponseSpec {
    /// OCSPResponseStatus; only 0 carries responseBytes (unless `bytes_with_error`).
    pub response_status: u8,
    /// Write responseBytes even when the status is not successful.
    pub bytes_with_error: bool,
    pub response_type: Vec<u64>,
    pub responder_id: ResponderIdSpec,
    pub produced_at: Timestamp,
    pub responses: Vec<Single>,
    /// Raw responseExtensions: (OID arcs, critical, value).
    pub response_extensions: Vec<(Vec<u64>, bool, Vec<u8>)>,
    /// Certificates carried in `certs` (DER).
    pub certs: Vec<Vec<u8>>,
    /// The key that signs tbsResponseData.
    pub signer: TestKey,
    /// Write this signature algorithm OID instead of the signer's own (the signature is still
    /// made with the signer's own algorithm).
    pub signature_oid: Option<Vec<u64>>,
    /// Flip the last byte of the signature after signing.
    pub corrupt_signature: bool,
}

impl ResponseSpec {
    /// The tbsResponseData DER.
    pub fn tbs(&self) -> Vec<u8> {
        let rid = match &self.responder_id {
            ResponderIdSpec::ByName(name) => tlv(0xa1, name),
            ResponderIdSpec::ByKey(hash) => tlv(0xa2, &octets(hash)),
        };
        let singles: Vec<Vec<u8>> = self.responses.iter().map(Single::der).collect();
        let mut parts = vec![rid, gen_time(self.produced_at), seq(&singles)];
        if !self.response_extensions.is_empty() {
            parts.push(tlv(0xa1, &extensions_der(&self.response_extensions)));
        }
        seq(&parts)
    }

    /// The whole OCSPResponse DER.
    pub fn der(&self) -> Vec<u8> {
        let status = enumerated(self.response_status);
        if self.response_status != 0 && !self.bytes_with_error {
            return seq(&[status]);
        }
        let tbs = self.tbs();
        let (sig_arcs, mut signature) = sign(&self.signer, &tbs);
        if self.corrupt_signature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }
        let sig_arcs = self.signature_oid.clone().unwrap_or(sig_arcs);
        let alg = if sig_arcs == SHA256_WITH_RSA || sig_arcs == SHA1_WITH_RSA {
            seq(&[oid(&sig_arcs), tlv(0x05, &[])])
        } else {
            seq(&[oid(&sig_arcs)])
        };
        let mut bit_string = vec![0u8];
        bit_string.extend(signature);
        let mut basic = vec![tbs, alg, tlv(0x03, &bit_string)];
        if !self.certs.is_empty() {
            basic.push(tlv(0xa0, &tlv(0x30, &self.certs.concat())));
        }
        let basic = seq(&basic);
        let bytes = seq(&[oid(&self.response_type), octets(&basic)]);
        seq(&[status, tlv(0xa0, &bytes)])
    }
}

/// Signs `message` with `key`: RSA PKCS#1 v1.5 SHA-256, or ECDSA (DER) with the curve's hash.
/// Returns the signature algorithm's arcs and the signature.
pub fn sign(key: &TestKey, message: &[u8]) -> (Vec<u64>, Vec<u8>) {
    match key.kind {
        KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => {
            (SHA256_WITH_RSA.to_vec(), key.sign_pkcs1_sha256(message))
        }
        KeyKind::P256 => (ECDSA_WITH_SHA256.to_vec(), key.sign_ecdsa_der(message)),
        KeyKind::P384 => (ECDSA_WITH_SHA384.to_vec(), key.sign_ecdsa_der(message)),
        KeyKind::P521 => (ECDSA_WITH_SHA512.to_vec(), key.sign_ecdsa_der(message)),
    }
}

// ---------------------------------------------------------------- the PKI

/// A delegated responder profile: KU digitalSignature, EKU as given.
pub fn responder_spec(cn: &str, ocsp_signing: bool) -> CertSpec {
    let mut spec = CertSpec::code_signing(cn);
    spec.eku = if ocsp_signing {
        EkuSpec::Present(vec![KP_OCSP_SIGNING.to_vec()], false)
    } else {
        EkuSpec::Absent
    };
    spec.key_usage = KeyUsageSpec::Critical(vec![KeyUsagePurpose::DigitalSignature]);
    spec
}

/// The responder's PKI: root → issuing CA (`issuer`, RSA-3072) → `leaf` and `other_leaf`
/// (P-256), a delegated responder with id-kp-OCSPSigning (`delegated`, P-256), one without it
/// (`delegated_no_eku`), one with the EKU but issued by the root (`foreign_responder`) and an
/// unrelated CA (`stranger`, RSA-2048).
pub struct Responder {
    pub root: TestCert,
    pub issuer: TestCert,
    pub leaf: TestCert,
    pub other_leaf: TestCert,
    pub delegated: TestCert,
    pub delegated_no_eku: TestCert,
    pub foreign_responder: TestCert,
    pub stranger: TestCert,
}

impl Responder {
    pub fn new() -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca("notaryd ocsp root", Some(1)),
            TestKey::cached(KeyKind::Rsa3072, 1),
        );
        let issuer = root.issue(
            CertSpec::ca("notaryd ocsp issuing CA", Some(0)),
            TestKey::cached(KeyKind::Rsa3072, 2),
        );
        let mut leaf_spec = CertSpec::code_signing("notaryd ocsp leaf");
        leaf_spec.ocsp_urls = vec!["http://ocsp.example/".into()];
        let leaf = issuer.issue(leaf_spec, TestKey::cached(KeyKind::P256, 20));
        let other_leaf = issuer.issue(
            CertSpec::code_signing("notaryd ocsp other leaf"),
            TestKey::cached(KeyKind::P256, 21),
        );
        let delegated = issuer.issue(
            responder_spec("notaryd ocsp responder", true),
            TestKey::cached(KeyKind::P256, 22),
        );
        let delegated_no_eku = issuer.issue(
            responder_spec("notaryd ocsp responder without EKU", false),
            TestKey::cached(KeyKind::P256, 23),
        );
        let foreign_responder = root.issue(
            responder_spec("notaryd ocsp responder of the root", true),
            TestKey::cached(KeyKind::P256, 24),
        );
        let stranger = TestCert::self_signed(
            CertSpec::ca("notaryd ocsp stranger", None),
            TestKey::cached(KeyKind::Rsa2048, 25),
        );
        Self {
            root,
            issuer,
            leaf,
            other_leaf,
            delegated,
            delegated_no_eku,
            foreign_responder,
            stranger,
        }
    }

    /// A SHA-1 single response for `cert`, issued by the issuing CA.
    pub fn single(&self, cert: &TestCert, status: Status) -> Single {
        Single::new(&cert.der, &self.issuer.der, IdHash::Sha1, status)
    }

    /// A successful response with `responses`, signed by the issuing CA, byName.
    pub fn spec(&self, responses: Vec<Single>) -> ResponseSpec {
        ResponseSpec {
            response_status: 0,
            bytes_with_error: false,
            response_type: OCSP_BASIC.to_vec(),
            responder_id: ResponderIdSpec::ByName(CertParts::of(&self.issuer.der).subject),
            produced_at: default_this_update(),
            responses,
            response_extensions: Vec::new(),
            certs: Vec::new(),
            signer: self.issuer.key.clone(),
            signature_oid: None,
            corrupt_signature: false,
        }
    }

    /// `spec` signed by `responder` (carried in `certs`), byKey.
    pub fn spec_by(&self, responder: &TestCert, responses: Vec<Single>) -> ResponseSpec {
        let mut spec = self.spec(responses);
        spec.signer = responder.key.clone();
        spec.certs = vec![responder.der.clone()];
        spec.responder_id = ResponderIdSpec::ByKey(sha1(&CertParts::of(&responder.der).key_bits));
        spec
    }
}

impl Default for Responder {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------- the request reader

/// One Request of an OCSPRequest, as a responder reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRequest {
    pub hash_oid: Vec<u8>,
    /// The hash algorithm parameters' DER (`05 00` for NULL), if present.
    pub hash_params: Option<Vec<u8>>,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    pub serial: Vec<u8>,
    /// Whether the request has a version, requestor name, extensions (a nonce) or signature.
    pub has_extras: bool,
    /// Number of Requests in requestList.
    pub requests: usize,
}

fn split(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let bytes = input.get(2..2 + n)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            2 + n,
        )
    };
    let content = input.get(start..start + len)?;
    Some((tag, content, &input[start + len..]))
}

/// Reads an OCSPRequest the way a responder would; `None` when it is not one.
pub fn parse_request(der: &[u8]) -> Option<ParsedRequest> {
    let (tag, ocsp_request, rest) = split(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag, tbs, after_tbs) = split(ocsp_request)?;
    if tag != 0x30 {
        return None;
    }
    let mut has_extras = !after_tbs.is_empty();
    let mut cursor = tbs;
    let mut list = None;
    while !cursor.is_empty() {
        let (tag, content, rest) = split(cursor)?;
        match tag {
            0x30 => list = Some(content),
            _ => has_extras = true,
        }
        cursor = rest;
    }
    let list = list?;
    let mut requests = 0;
    let mut first = None;
    let mut cursor = list;
    while !cursor.is_empty() {
        let (tag, request, rest) = split(cursor)?;
        if tag != 0x30 {
            return None;
        }
        requests += 1;
        first.get_or_insert(request);
        cursor = rest;
    }
    let (tag, cert_id, extra) = split(first?)?;
    if tag != 0x30 {
        return None;
    }
    has_extras |= !extra.is_empty();
    let (tag, alg, rest) = split(cert_id)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, hash_oid, params) = split(alg)?;
    if tag != 0x06 {
        return None;
    }
    let (tag, name_hash, rest) = split(rest)?;
    if tag != 0x04 {
        return None;
    }
    let (tag, key_hash, rest) = split(rest)?;
    if tag != 0x04 {
        return None;
    }
    let (tag, serial, rest) = split(rest)?;
    if tag != 0x02 || !rest.is_empty() {
        return None;
    }
    Some(ParsedRequest {
        hash_oid: hash_oid.to_vec(),
        hash_params: (!params.is_empty()).then(|| params.to_vec()),
        issuer_name_hash: name_hash.to_vec(),
        issuer_key_hash: key_hash.to_vec(),
        serial: serial.to_vec(),
        has_extras,
        requests,
    })
}

impl ParsedRequest {
    /// A single response answering this request (SHA-1 CertID as asked).
    pub fn answer(&self, status: Status) -> Single {
        assert_eq!(
            self.hash_oid,
            oid(SHA1)[2..].to_vec(),
            "the request asks for a SHA-1 CertID"
        );
        Single {
            hash: IdHash::Sha1,
            issuer_name_hash: self.issuer_name_hash.clone(),
            issuer_key_hash: self.issuer_key_hash.clone(),
            serial: self.serial.clone(),
            status,
            this_update: default_this_update(),
            next_update: Some(default_next_update()),
            extensions: Vec::new(),
        }
    }
}

/// A non-critical OCSP nonce extension, for responseExtensions.
pub fn nonce_extension(value: &[u8]) -> (Vec<u64>, bool, Vec<u8>) {
    (OCSP_NONCE.to_vec(), false, octets(value))
}
