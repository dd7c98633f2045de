//! A test-only CRL builder: DER with every knob a CRL rule needs (entries with reasons,
//! invalidity dates and extra extensions, CRL number, delta indicator, this/next update,
//! issuing distribution point, freshest CRL, arbitrary extra extensions), signed by any key
//! with RSA PKCS#1 SHA-256 or ECDSA, so a CRL signed by the wrong key is as easy to make as
//! a good one. It writes into flat buffers, so the benchmark can build a 500,000-entry CRL
//! with it in well under a second.
//!
//! Also a minimal certificate builder ([`build_certificate`]) for certificates whose exact
//! bytes matter: a given serial number, or a subject copied from someone else's CRL.
#![allow(dead_code)]

use time::OffsetDateTime;

use super::pki::{KeyKind, TestCert, TestKey, oid_der};

/// DER length octets.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends one TLV.
pub fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// One TLV (any length, unlike `pki::tlv`).
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    push_tlv(&mut out, tag, content);
    out
}

/// Contents octets of a non-negative INTEGER.
pub fn uint(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut v = bytes[skip..].to_vec();
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    v
}

/// A DER time as RFC 5280 wants it: UTCTime through 2049, GeneralizedTime from 2050.
pub fn time_der(unix: i64) -> Vec<u8> {
    let t = OffsetDateTime::from_unix_timestamp(unix).expect("time in range");
    let (tag, text) = if (1950..2050).contains(&t.year()) {
        (0x17, format!("{:02}", t.year() % 100))
    } else {
        (0x18, format!("{:04}", t.year()))
    };
    let text = format!(
        "{text}{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(tag, text.as_bytes())
}

/// GeneralizedTime, always (invalidityDate).
pub fn generalized_time_der(unix: i64) -> Vec<u8> {
    let t = OffsetDateTime::from_unix_timestamp(unix).expect("time in range");
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(0x18, text.as_bytes())
}

/// An extension: OID arcs, criticality, extnValue contents.
#[derive(Clone, Debug)]
pub struct Ext {
    pub oid: Vec<u64>,
    pub critical: bool,
    pub value: Vec<u8>,
}

impl Ext {
    pub fn new(oid: &[u64], critical: bool, value: Vec<u8>) -> Self {
        Self {
            oid: oid.to_vec(),
            critical,
            value,
        }
    }

    pub fn der(&self) -> Vec<u8> {
        let mut body = oid_der(&self.oid);
        if self.critical {
            body.extend([0x01, 0x01, 0xff]);
        }
        push_tlv(&mut body, 0x04, &self.value);
        tlv(0x30, &body)
    }
}

fn extensions_der(exts: &[Ext]) -> Vec<u8> {
    let body: Vec<u8> = exts.iter().flat_map(Ext::der).collect();
    tlv(0x30, &body)
}

pub const OID_CRL_NUMBER: [u64; 4] = [2, 5, 29, 20];
pub const OID_DELTA_CRL_INDICATOR: [u64; 4] = [2, 5, 29, 27];
pub const OID_IDP: [u64; 4] = [2, 5, 29, 28];
pub const OID_FRESHEST_CRL: [u64; 4] = [2, 5, 29, 46];
pub const OID_AKI: [u64; 4] = [2, 5, 29, 35];
pub const OID_REASON_CODE: [u64; 4] = [2, 5, 29, 21];
pub const OID_INVALIDITY_DATE: [u64; 4] = [2, 5, 29, 24];
pub const OID_CERTIFICATE_ISSUER: [u64; 4] = [2, 5, 29, 29];
pub const OID_CDP: [u64; 4] = [2, 5, 29, 31];
pub const OID_BASIC_CONSTRAINTS: [u64; 4] = [2, 5, 29, 19];
pub const OID_KEY_USAGE: [u64; 4] = [2, 5, 29, 15];
/// An extension no one knows.
pub const OID_UNKNOWN: [u64; 9] = [1, 3, 6, 1, 4, 1, 99999, 1, 1];

/// GeneralNames of URIs (`[6]` IA5String each), as the contents of a `[0]` fullName.
fn uri_names(uris: &[String]) -> Vec<u8> {
    uris.iter().flat_map(|u| tlv(0x86, u.as_bytes())).collect()
}

/// CRLDistributionPoints (or FreshestCRL) value: one DistributionPoint per URI.
pub fn distribution_points_der(uris: &[String]) -> Vec<u8> {
    let body: Vec<u8> = uris
        .iter()
        .flat_map(|u| {
            let full_name = tlv(0xa0, &uri_names(std::slice::from_ref(u)));
            tlv(0x30, &tlv(0xa0, &full_name))
        })
        .collect();
    tlv(0x30, &body)
}

/// The issuingDistributionPoint knobs.
#[derive(Clone, Debug, Default)]
pub struct IdpSpec {
    pub uris: Vec<String>,
    pub only_user_certs: bool,
    pub only_ca_certs: bool,
    /// onlySomeReasons as BIT STRING contents (unused-bits octet first).
    pub only_some_reasons: Option<Vec<u8>>,
    pub indirect: bool,
    pub only_attribute_certs: bool,
}

impl IdpSpec {
    pub fn der(&self) -> Vec<u8> {
        let mut body = Vec::new();
        if !self.uris.is_empty() {
            let full_name = tlv(0xa0, &uri_names(&self.uris));
            push_tlv(&mut body, 0xa0, &full_name);
        }
        if self.only_user_certs {
            body.extend([0x81, 0x01, 0xff]);
        }
        if self.only_ca_certs {
            body.extend([0x82, 0x01, 0xff]);
        }
        if let Some(bits) = &self.only_some_reasons {
            push_tlv(&mut body, 0x83, bits);
        }
        if self.indirect {
            body.extend([0x84, 0x01, 0xff]);
        }
        if self.only_attribute_certs {
            body.extend([0x85, 0x01, 0xff]);
        }
        tlv(0x30, &body)
    }
}

/// One revoked certificate.
#[derive(Clone, Debug)]
pub struct EntrySpec {
    /// Contents octets of the serial INTEGER, as written (no normalisation).
    pub serial: Vec<u8>,
    pub revoked_at: i64,
    pub reason: Option<u8>,
    pub invalidity_date: Option<i64>,
    /// Written after the reason and the invalidity date.
    pub extra: Vec<Ext>,
}

impl EntrySpec {
    pub fn new(serial: u64, revoked_at: i64) -> Self {
        Self {
            serial: uint(serial),
            revoked_at,
            reason: None,
            invalidity_date: None,
            extra: Vec::new(),
        }
    }

    /// An entry for a serial given as its DER INTEGER contents (as
    /// `Certificate::serial_number` returns them), for certificates with random serials.
    pub fn for_serial_bytes(serial: &[u8], revoked_at: i64) -> Self {
        Self {
            serial: serial.to_vec(),
            ..Self::new(0, revoked_at)
        }
    }

    pub fn reason(mut self, code: u8) -> Self {
        self.reason = Some(code);
        self
    }

    pub fn invalidity(mut self, at: i64) -> Self {
        self.invalidity_date = Some(at);
        self
    }

    pub fn ext(mut self, ext: Ext) -> Self {
        self.extra.push(ext);
        self
    }

    /// Appends the entry's DER to `out`.
    pub fn push_der(&self, out: &mut Vec<u8>) {
        let mut body = tlv(0x02, &self.serial);
        body.extend(time_der(self.revoked_at));
        let mut exts = Vec::new();
        if let Some(code) = self.reason {
            exts.push(Ext::new(
                &OID_REASON_CODE,
                false,
                tlv(0x0a, &uint(code.into())),
            ));
        }
        if let Some(at) = self.invalidity_date {
            exts.push(Ext::new(
                &OID_INVALIDITY_DATE,
                false,
                generalized_time_der(at),
            ));
        }
        exts.extend(self.extra.iter().cloned());
        if !exts.is_empty() {
            body.extend(extensions_der(&exts));
        }
        push_tlv(out, 0x30, &body);
    }
}

/// 2026-01-01T00:00:00Z, the tests' "now"-ish thisUpdate.
pub const THIS_UPDATE: i64 = 1_767_225_600;
pub const DAY: i64 = 86_400;

/// Every knob of a test CRL.
#[derive(Clone, Debug)]
pub struct CrlSpec {
    /// The issuer Name DER (defaults to the issuing certificate's subject).
    pub issuer_name: Vec<u8>,
    /// Contents of the version INTEGER; `None` omits it (a v1 CRL).
    pub version: Option<Vec<u8>>,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub number: Option<u64>,
    pub delta_base: Option<u64>,
    pub authority_key_id: Option<Vec<u8>>,
    pub idp: Option<IdpSpec>,
    pub freshest: Vec<String>,
    /// Extra CRL extensions, after the ones above.
    pub extra: Vec<Ext>,
    pub entries: Vec<EntrySpec>,
    /// Pre-encoded contents of `revokedCertificates`; replaces `entries` when set.
    pub raw_entries: Option<Vec<u8>>,
    /// Write an empty `revokedCertificates` SEQUENCE when there are no entries.
    pub empty_revoked_sequence: bool,
    /// Replace the outer signatureAlgorithm (the inner one stays that of the key).
    pub outer_algorithm: Option<Vec<u8>>,
}

/// The Name DER of a certificate's subject.
pub fn subject_der(cert: &TestCert) -> Vec<u8> {
    notaryd::verify::x509::Certificate::from_der(&cert.der)
        .expect("test certificate parses")
        .subject_der()
        .to_vec()
}

/// AlgorithmIdentifier DER for the signature scheme a key signs CRLs with here: RSA
/// PKCS#1 v1.5 with SHA-256, ECDSA with the curve's hash.
pub fn algorithm_der(kind: KeyKind) -> Vec<u8> {
    match kind {
        KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => {
            let mut body = oid_der(&[1, 2, 840, 113549, 1, 1, 11]);
            body.extend([0x05, 0x00]);
            tlv(0x30, &body)
        }
        KeyKind::P256 => tlv(0x30, &oid_der(&[1, 2, 840, 10045, 4, 3, 2])),
        KeyKind::P384 => tlv(0x30, &oid_der(&[1, 2, 840, 10045, 4, 3, 3])),
        KeyKind::P521 => tlv(0x30, &oid_der(&[1, 2, 840, 10045, 4, 3, 4])),
    }
}

/// Signs `tbs` with `key` the way [`algorithm_der`] names.
pub fn signature(tbs: &[u8], key: &TestKey) -> Vec<u8> {
    match key.kind {
        KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => key.sign_pkcs1_sha256(tbs),
        _ => key.sign_ecdsa_der(tbs),
    }
}

/// `SEQUENCE { tbs, algorithm, BIT STRING signature }`.
pub fn wrap_signed(tbs: &[u8], algorithm: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(signature);
    let mut body = Vec::with_capacity(tbs.len() + algorithm.len() + bits.len() + 8);
    body.extend_from_slice(tbs);
    body.extend_from_slice(algorithm);
    push_tlv(&mut body, 0x03, &bits);
    tlv(0x30, &body)
}

impl CrlSpec {
    /// A v2 CRL by `issuer`: CRL number 1, thisUpdate [`THIS_UPDATE`], nextUpdate a week
    /// later, no entries.
    pub fn new(issuer: &TestCert) -> Self {
        Self {
            issuer_name: subject_der(issuer),
            version: Some(vec![1]),
            this_update: THIS_UPDATE,
            next_update: Some(THIS_UPDATE + 7 * DAY),
            number: Some(1),
            delta_base: None,
            authority_key_id: None,
            idp: None,
            freshest: Vec::new(),
            extra: Vec::new(),
            entries: Vec::new(),
            raw_entries: None,
            empty_revoked_sequence: false,
            outer_algorithm: None,
        }
    }

    pub fn entry(mut self, e: EntrySpec) -> Self {
        self.entries.push(e);
        self
    }

    /// The tbsCertList with `algorithm` as its signature field.
    pub fn tbs(&self, algorithm: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some(v) = &self.version {
            push_tlv(&mut body, 0x02, v);
        }
        body.extend_from_slice(algorithm);
        body.extend_from_slice(&self.issuer_name);
        body.extend(time_der(self.this_update));
        if let Some(next) = self.next_update {
            body.extend(time_der(next));
        }
        let entries = match &self.raw_entries {
            Some(raw) => Some(raw.clone()),
            None if !self.entries.is_empty() || self.empty_revoked_sequence => {
                let mut list = Vec::new();
                for e in &self.entries {
                    e.push_der(&mut list);
                }
                Some(list)
            }
            None => None,
        };
        if let Some(list) = entries {
            push_tlv(&mut body, 0x30, &list);
        }
        let mut exts = Vec::new();
        if let Some(id) = &self.authority_key_id {
            exts.push(Ext::new(&OID_AKI, false, tlv(0x30, &tlv(0x80, id))));
        }
        if let Some(n) = self.number {
            exts.push(Ext::new(&OID_CRL_NUMBER, false, tlv(0x02, &uint(n))));
        }
        if let Some(base) = self.delta_base {
            exts.push(Ext::new(
                &OID_DELTA_CRL_INDICATOR,
                true,
                tlv(0x02, &uint(base)),
            ));
        }
        if let Some(idp) = &self.idp {
            exts.push(Ext::new(&OID_IDP, true, idp.der()));
        }
        if !self.freshest.is_empty() {
            exts.push(Ext::new(
                &OID_FRESHEST_CRL,
                false,
                distribution_points_der(&self.freshest),
            ));
        }
        exts.extend(self.extra.iter().cloned());
        if !exts.is_empty() {
            push_tlv(&mut body, 0xa0, &extensions_der(&exts));
        }
        tlv(0x30, &body)
    }

    /// The DER CRL signed by `key`.
    pub fn sign(&self, key: &TestKey) -> Vec<u8> {
        let algorithm = algorithm_der(key.kind);
        let tbs = self.tbs(&algorithm);
        let sig = signature(&tbs, key);
        wrap_signed(
            &tbs,
            self.outer_algorithm.as_deref().unwrap_or(&algorithm),
            &sig,
        )
    }
}

/// A certificate built byte by byte: v3, validity 2020–2100, the given serial (INTEGER
/// contents as written), names (Name DER), extensions, signed by `signer` with the scheme
/// [`algorithm_der`] names for it.
pub fn build_certificate(
    serial: &[u8],
    issuer_name: &[u8],
    subject_name: &[u8],
    subject_key: &TestKey,
    extensions: &[Ext],
    signer: &TestKey,
) -> Vec<u8> {
    let algorithm = algorithm_der(signer.kind);
    let mut body = tlv(0xa0, &[0x02, 0x01, 0x02]);
    push_tlv(&mut body, 0x02, serial);
    body.extend_from_slice(&algorithm);
    body.extend_from_slice(issuer_name);
    let mut validity = time_der(1_577_836_800);
    validity.extend(time_der(4_102_444_800));
    push_tlv(&mut body, 0x30, &validity);
    body.extend_from_slice(subject_name);
    body.extend(subject_key.spki_der());
    if !extensions.is_empty() {
        push_tlv(&mut body, 0xa3, &extensions_der(extensions));
    }
    let tbs = tlv(0x30, &body);
    let sig = signature(&tbs, signer);
    wrap_signed(&tbs, &algorithm, &sig)
}

/// basicConstraints cA=TRUE (critical), for [`build_certificate`].
pub fn ca_extensions() -> Vec<Ext> {
    vec![
        Ext::new(&OID_BASIC_CONSTRAINTS, true, tlv(0x30, &[0x01, 0x01, 0xff])),
        // keyCertSign | cRLSign
        Ext::new(&OID_KEY_USAGE, true, vec![0x03, 0x02, 0x01, 0x06]),
    ]
}

/// A cRLDistributionPoints extension naming `uris`.
pub fn cdp_extension(uris: &[&str]) -> Ext {
    let uris: Vec<String> = uris.iter().map(|u| u.to_string()).collect();
    Ext::new(&OID_CDP, false, distribution_points_der(&uris))
}
