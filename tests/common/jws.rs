//! A test-only JWS signer for Notary envelopes. Start from [`Jws::new`] (a valid
//! `notary.x509` envelope for a chain and a target), change any field to build an attack,
//! then [`Jws::sign`]. `protected` is a JSON object kept in insertion order by building the
//! text by hand, so duplicate keys and odd values are possible through `raw_protected`.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use super::pki::{Chain, TestKey};

/// The payload of a Notary signature for a descriptor.
pub fn payload_for(
    media_type: &str,
    digest: &str,
    size: u64,
    annotations: &[(&str, &str)],
) -> Vec<u8> {
    let mut target = json!({"mediaType": media_type, "digest": digest, "size": size});
    if !annotations.is_empty() {
        let map: Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        target["annotations"] = Value::Object(map);
    }
    serde_json::to_vec(&json!({"targetArtifact": target})).unwrap()
}

/// Everything that goes into a JWS envelope.
#[derive(Clone)]
pub struct Jws {
    /// Protected header members in order.
    pub protected: Vec<(String, Value)>,
    /// Replaces the serialized protected header when set (for duplicate keys etc.).
    pub raw_protected: Option<String>,
    /// Payload bytes (before base64url).
    pub payload: Vec<u8>,
    /// DER certificates for x5c.
    pub x5c: Vec<Vec<u8>>,
    /// Extra unprotected header members.
    pub unprotected: Vec<(String, Value)>,
    /// RFC 3161 token for io.cncf.notary.timestampSignature.
    pub timestamp: Option<Vec<u8>>,
    /// The signing key.
    pub key: TestKey,
    /// Replaces the signature bytes when set.
    pub signature_override: Option<Vec<u8>>,
}

impl Jws {
    /// A valid notary.x509 envelope signed by `chain.leaf`, signing time 2025-01-01T00:00:00Z.
    pub fn new(chain: &Chain, payload: Vec<u8>) -> Self {
        Self {
            protected: vec![
                ("alg".into(), json!(chain.leaf.key.kind.jws_alg())),
                ("crit".into(), json!(["io.cncf.notary.signingScheme"])),
                (
                    "cty".into(),
                    json!("application/vnd.cncf.notary.payload.v1+json"),
                ),
                ("io.cncf.notary.signingScheme".into(), json!("notary.x509")),
                (
                    "io.cncf.notary.signingTime".into(),
                    json!("2025-01-01T00:00:00Z"),
                ),
            ],
            raw_protected: None,
            payload,
            x5c: chain.x5c(),
            unprotected: Vec::new(),
            timestamp: None,
            key: chain.leaf.key.clone(),
            signature_override: None,
        }
    }

    /// Sets (or adds) a protected member.
    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        match self.protected.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.protected.push((key.into(), value)),
        }
        self
    }

    /// Removes a protected member.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.protected.retain(|(k, _)| k != key);
        self
    }

    /// Switches to notary.x509.signingAuthority with an authentic signing time.
    pub fn signing_authority(&mut self, time: &str) -> &mut Self {
        self.remove("io.cncf.notary.signingTime");
        self.set(
            "io.cncf.notary.signingScheme",
            json!("notary.x509.signingAuthority"),
        );
        self.set("io.cncf.notary.authenticSigningTime", json!(time));
        self.set(
            "crit",
            json!([
                "io.cncf.notary.signingScheme",
                "io.cncf.notary.authenticSigningTime"
            ]),
        );
        self
    }

    /// Adds an expiry and lists it as critical.
    pub fn expiry(&mut self, time: &str) -> &mut Self {
        self.set("io.cncf.notary.expiry", json!(time));
        let mut crit: Vec<Value> = self
            .protected
            .iter()
            .find(|(k, _)| k == "crit")
            .and_then(|(_, v)| v.as_array().cloned())
            .unwrap_or_default();
        crit.push(json!("io.cncf.notary.expiry"));
        self.set("crit", Value::Array(crit));
        self
    }

    /// The protected header text.
    pub fn protected_json(&self) -> String {
        if let Some(raw) = &self.raw_protected {
            return raw.clone();
        }
        let members: Vec<String> = self
            .protected
            .iter()
            .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    /// The base64url protected header and payload, as signed.
    pub fn signing_input(&self) -> (String, String) {
        (
            URL_SAFE_NO_PAD.encode(self.protected_json()),
            URL_SAFE_NO_PAD.encode(&self.payload),
        )
    }

    /// The primitive signature this envelope will carry.
    pub fn signature(&self) -> Vec<u8> {
        if let Some(sig) = &self.signature_override {
            return sig.clone();
        }
        let (p, b) = self.signing_input();
        self.key.sign_notary(format!("{p}.{b}").as_bytes())
    }

    /// The envelope bytes.
    pub fn sign(&self) -> Vec<u8> {
        let (protected, payload) = self.signing_input();
        let signature = self.signature();
        self.assemble(&protected, &payload, &signature)
    }

    /// Builds the envelope JSON from its parts.
    pub fn assemble(&self, protected: &str, payload: &str, signature: &[u8]) -> Vec<u8> {
        let mut header = Map::new();
        if !self.x5c.is_empty() {
            header.insert(
                "x5c".into(),
                Value::Array(self.x5c.iter().map(|c| json!(STANDARD.encode(c))).collect()),
            );
        }
        if let Some(ts) = &self.timestamp {
            header.insert(
                "io.cncf.notary.timestampSignature".into(),
                json!(STANDARD.encode(ts)),
            );
        }
        for (k, v) in &self.unprotected {
            header.insert(k.clone(), v.clone());
        }
        let doc = json!({
            "payload": payload,
            "protected": protected,
            "header": header,
            "signature": URL_SAFE_NO_PAD.encode(signature),
        });
        serde_json::to_vec(&doc).unwrap()
    }
}
