//! A test-only COSE_Sign1 signer for Notary envelopes, with a knob for every attack.
//!
//! API in brief:
//! - [`Cbor`] is a CBOR value whose encoding ([`Cbor::encode`]) is exactly what you write:
//!   shortest heads for ordinary items, plus `UintWide` (non-minimal heads), `Indef*`
//!   (indefinite-length forms) and `Raw` (bytes inserted verbatim).
//! - [`CoseSign1::new(&chain)`](CoseSign1::new) gives a valid `notary.x509` envelope signed by
//!   the chain's leaf: protected `{1: alg, 2: ["io.cncf.notary.signingScheme"], 3: payload cty,
//!   signingScheme: "notary.x509", signingTime: 1(1700000000)}`, unprotected `{33: [leaf,
//!   intermediate, root]}`, the payload of [`notary_payload`], tag 18. `crit` is derived from the
//!   headers present unless [`Crit::Explicit`] or [`Crit::Absent`] is chosen.
//! - Every field is public: set `None` to omit a header, `Some(Cbor)` to give it any value.
//!   `protected_raw` / `unprotected_raw` replace an encoded bucket with exact bytes;
//!   `signed_protected_raw`, `signed_payload`, `external_aad`, `sig_context` and `sign_with`
//!   make the signature cover something other than what is sent; `signature` picks raw,
//!   DER-ECDSA, PKCS#1, empty or tampered signatures; `tag_bytes`, `outer_indefinite` and
//!   `trailing` break the outer structure.
//! - [`CoseSign1::build`] returns the envelope bytes; [`sig_structure`] is the COSE
//!   `Sig_structure` as the signer computes it.
#![allow(dead_code)]

use super::pki::{Chain, KeyKind, TestKey};

/// The Notary payload content type.
pub const PAYLOAD_CTY: &str = "application/vnd.cncf.notary.payload.v1+json";
/// The default signing time (2023-11-14T22:13:20Z).
pub const SIGNING_TIME: i64 = 1_700_000_000;

pub const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
pub const SIGNING_TIME_LABEL: &str = "io.cncf.notary.signingTime";
pub const AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
pub const EXPIRY: &str = "io.cncf.notary.expiry";
pub const VERIFICATION_PLUGIN: &str = "io.cncf.notary.verificationPlugin";
pub const TIMESTAMP_SIGNATURE: &str = "io.cncf.notary.timestampSignature";
pub const SIGNING_AGENT: &str = "io.cncf.notary.signingAgent";

/// A CBOR item with exact control over its encoding.
#[derive(Clone, Debug)]
pub enum Cbor {
    /// An integer, shortest head.
    Int(i64),
    /// An unsigned integer whose argument takes `width` bytes (0 = in the initial byte, else 1,
    /// 2, 4 or 8), for non-minimal encodings.
    UintWide(u64, u8),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
    /// A double-precision float.
    Float(f64),
    Bool(bool),
    Null,
    Undefined,
    IndefArray(Vec<Cbor>),
    IndefMap(Vec<(Cbor, Cbor)>),
    /// An indefinite-length byte string made of these chunks.
    IndefBytes(Vec<Vec<u8>>),
    /// An indefinite-length text string made of these chunks.
    IndefText(Vec<String>),
    /// Bytes inserted verbatim.
    Raw(Vec<u8>),
}

impl Cbor {
    pub fn text(s: &str) -> Self {
        Self::Text(s.to_owned())
    }

    pub fn bytes(b: &[u8]) -> Self {
        Self::Bytes(b.to_vec())
    }

    /// `1(secs)`: an epoch date/time.
    pub fn time(secs: i64) -> Self {
        Self::Tag(1, Box::new(Self::Int(secs)))
    }

    pub fn tag(tag: u64, inner: Cbor) -> Self {
        Self::Tag(tag, Box::new(inner))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(i) if *i >= 0 => head(out, 0, *i as u64),
            Self::Int(i) => head(out, 1, (-1 - *i) as u64),
            Self::UintWide(v, width) => wide_head(out, 0, *v, *width),
            Self::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend(b);
            }
            Self::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend(s.as_bytes());
            }
            Self::Array(items) => {
                head(out, 4, items.len() as u64);
                items.iter().for_each(|i| i.write(out));
            }
            Self::Map(pairs) => {
                head(out, 5, pairs.len() as u64);
                for (k, v) in pairs {
                    k.write(out);
                    v.write(out);
                }
            }
            Self::Tag(tag, inner) => {
                head(out, 6, *tag);
                inner.write(out);
            }
            Self::Float(f) => {
                out.push(0xfb);
                out.extend(f.to_be_bytes());
            }
            Self::Bool(false) => out.push(0xf4),
            Self::Bool(true) => out.push(0xf5),
            Self::Null => out.push(0xf6),
            Self::Undefined => out.push(0xf7),
            Self::IndefArray(items) => {
                out.push(0x9f);
                items.iter().for_each(|i| i.write(out));
                out.push(0xff);
            }
            Self::IndefMap(pairs) => {
                out.push(0xbf);
                for (k, v) in pairs {
                    k.write(out);
                    v.write(out);
                }
                out.push(0xff);
            }
            Self::IndefBytes(chunks) => {
                out.push(0x5f);
                for c in chunks {
                    head(out, 2, c.len() as u64);
                    out.extend(c);
                }
                out.push(0xff);
            }
            Self::IndefText(chunks) => {
                out.push(0x7f);
                for c in chunks {
                    head(out, 3, c.len() as u64);
                    out.extend(c.as_bytes());
                }
                out.push(0xff);
            }
            Self::Raw(bytes) => out.extend(bytes),
        }
    }
}

/// The shortest head for `major` and `value`.
pub fn head(out: &mut Vec<u8>, major: u8, value: u64) {
    let width = match value {
        0..=23 => 0,
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    };
    wide_head(out, major, value, width);
}

/// A head whose argument takes exactly `width` bytes.
pub fn wide_head(out: &mut Vec<u8>, major: u8, value: u64, width: u8) {
    let mt = major << 5;
    match width {
        0 => out.push(mt | value as u8),
        1 => out.extend([mt | 24, value as u8]),
        2 => {
            out.push(mt | 25);
            out.extend((value as u16).to_be_bytes());
        }
        4 => {
            out.push(mt | 26);
            out.extend((value as u32).to_be_bytes());
        }
        _ => {
            out.push(mt | 27);
            out.extend(value.to_be_bytes());
        }
    }
}

/// `[context, bstr(protected), bstr(external_aad), bstr(payload)]` with shortest heads.
pub fn sig_structure(
    context: &str,
    protected: &[u8],
    external_aad: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    Cbor::Array(vec![
        Cbor::text(context),
        Cbor::bytes(protected),
        Cbor::bytes(external_aad),
        Cbor::bytes(payload),
    ])
    .encode()
}

/// A valid Notary payload for an OCI image manifest.
pub fn notary_payload() -> Vec<u8> {
    br#"{"targetArtifact":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0","size":481}}"#.to_vec()
}

/// How `crit` (label 2) is written.
#[derive(Clone, Debug)]
pub enum Crit {
    /// What a Notary signer writes: signingScheme, plus authenticSigningTime and expiry when
    /// those headers are set.
    Auto,
    /// Label 2 omitted.
    Absent,
    /// Any value.
    Explicit(Cbor),
}

/// How the signature bytes are made.
#[derive(Clone, Debug)]
pub enum Sig {
    /// RSASSA-PSS (salt = hash length) or raw r||s ECDSA, as a Notary signer does.
    Notary,
    /// ECDSA with a DER-encoded signature.
    EcdsaDer,
    /// RSA PKCS#1 v1.5 with SHA-256.
    Pkcs1Sha256,
    /// A valid signature with its last byte flipped.
    Tampered,
    /// This byte string.
    Raw(Vec<u8>),
    /// This CBOR item instead of a bstr.
    Item(Cbor),
}

/// A COSE_Sign1 Notary envelope under construction. See the module documentation.
#[derive(Clone)]
pub struct CoseSign1 {
    /// The signing key (the chain's leaf key by default).
    pub key: TestKey,
    /// Sign with this key instead of `key`.
    pub sign_with: Option<TestKey>,
    pub alg: Option<Cbor>,
    pub crit: Crit,
    pub content_type: Option<Cbor>,
    pub signing_scheme: Option<Cbor>,
    pub signing_time: Option<Cbor>,
    pub authentic_signing_time: Option<Cbor>,
    pub expiry: Option<Cbor>,
    /// Label 33 in the protected header.
    pub x5chain_in_protected: Option<Cbor>,
    /// Appended to the protected map after the headers above.
    pub extra_protected: Vec<(Cbor, Cbor)>,
    /// The protected bstr's content, replacing the map built from the fields above.
    pub protected_raw: Option<Vec<u8>>,
    /// The protected item itself (instead of a bstr around the protected bytes).
    pub protected_item: Option<Cbor>,
    /// Sign over these protected bytes instead of the ones sent.
    pub signed_protected_raw: Option<Vec<u8>>,
    /// Label 33 in the unprotected header (default: the chain as an array of bstr).
    pub x5chain: Option<Cbor>,
    pub timestamp: Option<Cbor>,
    pub signing_agent: Option<Cbor>,
    /// Appended to the unprotected map.
    pub extra_unprotected: Vec<(Cbor, Cbor)>,
    /// The unprotected item's exact bytes, replacing the map built from the fields above.
    pub unprotected_raw: Option<Vec<u8>>,
    /// `None` sends nil.
    pub payload: Option<Vec<u8>>,
    /// The payload item itself (instead of a bstr or nil).
    pub payload_item: Option<Cbor>,
    /// Sign over this payload instead of the one sent.
    pub signed_payload: Option<Vec<u8>>,
    pub external_aad: Vec<u8>,
    pub sig_context: String,
    pub signature: Sig,
    /// The bytes before the body: `[0xd2]` is tag 18; empty sends an untagged COSE_Sign1.
    pub tag_bytes: Vec<u8>,
    /// Write the four-item body as an indefinite-length array.
    pub outer_indefinite: bool,
    /// Extra items in the body after the four.
    pub extra_items: Vec<Cbor>,
    /// Bytes after the envelope.
    pub trailing: Vec<u8>,
}

impl CoseSign1 {
    /// A valid `notary.x509` envelope signed by `chain`'s leaf.
    pub fn new(chain: &Chain) -> Self {
        Self::with_certs(chain.leaf.key.clone(), chain.x5c())
    }

    /// A valid envelope signed by `key` carrying `certs` (leaf first) in x5chain.
    pub fn with_certs(key: TestKey, certs: Vec<Vec<u8>>) -> Self {
        Self {
            alg: Some(Cbor::Int(key.kind.cose_alg())),
            key,
            sign_with: None,
            crit: Crit::Auto,
            content_type: Some(Cbor::text(PAYLOAD_CTY)),
            signing_scheme: Some(Cbor::text("notary.x509")),
            signing_time: Some(Cbor::time(SIGNING_TIME)),
            authentic_signing_time: None,
            expiry: None,
            x5chain_in_protected: None,
            extra_protected: Vec::new(),
            protected_raw: None,
            protected_item: None,
            signed_protected_raw: None,
            x5chain: Some(Cbor::Array(certs.into_iter().map(Cbor::Bytes).collect())),
            timestamp: None,
            signing_agent: None,
            extra_unprotected: Vec::new(),
            unprotected_raw: None,
            payload: Some(notary_payload()),
            payload_item: None,
            signed_payload: None,
            external_aad: Vec::new(),
            sig_context: "Signature1".into(),
            signature: Sig::Notary,
            tag_bytes: vec![0xd2],
            outer_indefinite: false,
            extra_items: Vec::new(),
            trailing: Vec::new(),
        }
    }

    /// Switches to `notary.x509.signingAuthority`: authenticSigningTime instead of
    /// signingTime.
    pub fn signing_authority(mut self) -> Self {
        self.signing_scheme = Some(Cbor::text("notary.x509.signingAuthority"));
        self.authentic_signing_time = self.signing_time.take();
        self
    }

    /// The protected map entries built from the fields (without `protected_raw`).
    pub fn protected_entries(&self) -> Vec<(Cbor, Cbor)> {
        let mut m = Vec::new();
        if let Some(alg) = &self.alg {
            m.push((Cbor::Int(1), alg.clone()));
        }
        match &self.crit {
            Crit::Absent => {}
            Crit::Explicit(c) => m.push((Cbor::Int(2), c.clone())),
            Crit::Auto => {
                let mut names = vec![Cbor::text(SIGNING_SCHEME)];
                if self.authentic_signing_time.is_some() {
                    names.push(Cbor::text(AUTHENTIC_SIGNING_TIME));
                }
                if self.expiry.is_some() {
                    names.push(Cbor::text(EXPIRY));
                }
                m.push((Cbor::Int(2), Cbor::Array(names)));
            }
        }
        if let Some(cty) = &self.content_type {
            m.push((Cbor::Int(3), cty.clone()));
        }
        let named = [
            (SIGNING_SCHEME, &self.signing_scheme),
            (SIGNING_TIME_LABEL, &self.signing_time),
            (AUTHENTIC_SIGNING_TIME, &self.authentic_signing_time),
            (EXPIRY, &self.expiry),
        ];
        for (label, value) in named {
            if let Some(v) = value {
                m.push((Cbor::text(label), v.clone()));
            }
        }
        if let Some(x5) = &self.x5chain_in_protected {
            m.push((Cbor::Int(33), x5.clone()));
        }
        m.extend(self.extra_protected.iter().cloned());
        m
    }

    /// The protected bstr content that is sent.
    pub fn protected_bytes(&self) -> Vec<u8> {
        match &self.protected_raw {
            Some(raw) => raw.clone(),
            None => Cbor::Map(self.protected_entries()).encode(),
        }
    }

    /// The unprotected map's bytes.
    pub fn unprotected_bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.unprotected_raw {
            return raw.clone();
        }
        let mut m = Vec::new();
        if let Some(x5) = &self.x5chain {
            m.push((Cbor::Int(33), x5.clone()));
        }
        if let Some(t) = &self.timestamp {
            m.push((Cbor::text(TIMESTAMP_SIGNATURE), t.clone()));
        }
        if let Some(a) = &self.signing_agent {
            m.push((Cbor::text(SIGNING_AGENT), a.clone()));
        }
        m.extend(self.extra_unprotected.iter().cloned());
        Cbor::Map(m).encode()
    }

    /// The Sig_structure the signature covers.
    pub fn to_be_signed(&self) -> Vec<u8> {
        let protected = self
            .signed_protected_raw
            .clone()
            .unwrap_or_else(|| self.protected_bytes());
        let payload = self
            .signed_payload
            .clone()
            .or_else(|| self.payload.clone())
            .unwrap_or_default();
        sig_structure(&self.sig_context, &protected, &self.external_aad, &payload)
    }

    /// The signature item.
    pub fn signature_item(&self) -> Cbor {
        let key = self.sign_with.as_ref().unwrap_or(&self.key);
        let tbs = self.to_be_signed();
        match &self.signature {
            Sig::Notary => Cbor::Bytes(key.sign_notary(&tbs)),
            Sig::EcdsaDer => Cbor::Bytes(key.sign_ecdsa_der(&tbs)),
            Sig::Pkcs1Sha256 => Cbor::Bytes(key.sign_pkcs1_sha256(&tbs)),
            Sig::Tampered => {
                let mut s = key.sign_notary(&tbs);
                *s.last_mut().unwrap() ^= 0x01;
                Cbor::Bytes(s)
            }
            Sig::Raw(b) => Cbor::Bytes(b.clone()),
            Sig::Item(item) => item.clone(),
        }
    }

    /// The envelope bytes.
    pub fn build(&self) -> Vec<u8> {
        let protected = self
            .protected_item
            .clone()
            .unwrap_or_else(|| Cbor::Bytes(self.protected_bytes()));
        let payload = match (&self.payload_item, &self.payload) {
            (Some(item), _) => item.clone(),
            (None, Some(p)) => Cbor::Bytes(p.clone()),
            (None, None) => Cbor::Null,
        };
        let mut items = vec![
            protected,
            Cbor::Raw(self.unprotected_bytes()),
            payload,
            self.signature_item(),
        ];
        items.extend(self.extra_items.iter().cloned());
        let body = if self.outer_indefinite {
            Cbor::IndefArray(items)
        } else {
            Cbor::Array(items)
        };
        let mut out = self.tag_bytes.clone();
        out.extend(body.encode());
        out.extend(&self.trailing);
        out
    }
}

/// A three-certificate chain for `kind` and a valid envelope builder for it.
pub fn envelope(kind: KeyKind) -> (Chain, CoseSign1) {
    let chain = Chain::new(kind);
    let builder = CoseSign1::new(&chain);
    (chain, builder)
}
