//! OCI content descriptors and digests: what a signature's payload points at and what the
//! caller resolved.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A content digest `algorithm:encoded`, checked against the OCI image-spec grammar, with the
/// registered algorithms (`sha256`, `sha512`) also checked for length and lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {input:?}: {reason}")]
pub struct DigestError {
    /// The rejected text (truncated to 100 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Digest {
    /// Parses and checks a digest string.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let err = |reason| DigestError {
            input: text.chars().take(100).collect(),
            reason,
        };
        let (alg, enc) = text.split_once(':').ok_or_else(|| err("missing ':'"))?;
        // algorithm := component ([+._-] component)*, component := [a-z0-9]+
        let alg_ok = !alg.is_empty()
            && alg.split(['+', '.', '_', '-']).all(|c| {
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !alg_ok {
            return Err(err("bad algorithm"));
        }
        if enc.is_empty()
            || !enc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
        {
            return Err(err("bad encoded part"));
        }
        let hex_len = match alg {
            "sha256" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        if let Some(n) = hex_len
            && (enc.len() != n || !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(err(
                "encoded part is not lowercase hex of the algorithm's length",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The digest of `bytes` with SHA-256, the algorithm every registry supports.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
        Self(format!("sha256:{}", hex(d.as_ref())))
    }

    /// Whether `bytes` hash to this digest. Unknown algorithms never match.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let alg = match self.algorithm() {
            "sha256" => &aws_lc_rs::digest::SHA256,
            "sha512" => &aws_lc_rs::digest::SHA512,
            _ => return false,
        };
        hex(aws_lc_rs::digest::digest(alg, bytes).as_ref()) == self.encoded()
    }

    /// An incremental hasher of this digest's algorithm, so content can be checked while it
    /// streams in; `None` for algorithms other than sha256 and sha512.
    pub fn hasher(&self) -> Option<DigestHasher> {
        let (alg, name) = match self.algorithm() {
            "sha256" => (&aws_lc_rs::digest::SHA256, "sha256"),
            "sha512" => (&aws_lc_rs::digest::SHA512, "sha512"),
            _ => return None,
        };
        Some(DigestHasher {
            name,
            ctx: aws_lc_rs::digest::Context::new(alg),
        })
    }

    /// The algorithm part, e.g. `sha256`.
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(a, _)| a)
    }

    /// The encoded part, e.g. the hex string.
    pub fn encoded(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, e)| e)
    }

    /// The whole digest string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Hashes content incrementally into a [`Digest`].
pub struct DigestHasher {
    name: &'static str,
    ctx: aws_lc_rs::digest::Context,
}

impl DigestHasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.ctx.update(bytes);
    }

    /// The digest of everything added.
    pub fn finish(self) -> Digest {
        Digest(format!("{}:{}", self.name, hex(self.ctx.finish().as_ref())))
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// An OCI content descriptor: the artifact a signature is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The media type, compared as an exact string (never normalised).
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// The content digest.
    pub digest: Digest,
    /// The content size in bytes.
    pub size: u64,
    /// Optional artifact type.
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    /// Annotations; in a signature payload these are the signer's user metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The platform of a manifest listed in an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// An OCI platform as an index entry states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture in Go's spelling, e.g. `amd64`.
    pub architecture: String,
    /// CPU variant, e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Descriptor {
    /// The Notary match rule (notation-go `content.Equal`): equal media type, digest and size.
    /// Other fields are deliberately ignored.
    pub fn same_content(&self, other: &Descriptor) -> bool {
        self.media_type == other.media_type
            && self.digest == other.digest
            && self.size == other.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_grammar() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert!(Digest::parse(&ok).is_ok());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(63))).is_err());
        assert!(Digest::parse("sha256").is_err());
        assert!(Digest::parse(":abc").is_err());
        assert!(
            Digest::parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8")
                .is_ok()
        );
    }

    #[test]
    fn incremental_hashing_matches() {
        let d = Digest::sha256_of(b"hello world");
        let mut h = d.hasher().unwrap();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), d);
        assert!(Digest::parse("blake3:abc").unwrap().hasher().is_none());
    }

    #[test]
    fn sha256_round_trip() {
        let d = Digest::sha256_of(b"{}");
        assert_eq!(
            d.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(d.matches(b"{}"));
        assert!(!d.matches(b"{ }"));
    }
}
