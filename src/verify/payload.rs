//! The Notary payload (NOTARY-VERIFY §2): `{"targetArtifact": <descriptor>}`. Parsed only after
//! the envelope's signature has verified.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::descriptor::Descriptor;
use super::json::from_slice_strict;

/// The descriptor a signature is about, as the signer wrote it. The digest is kept as text:
/// the match rule compares strings, and an unparsable digest simply never matches.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct TargetArtifact {
    /// Media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Digest, as written.
    pub digest: String,
    /// Size in bytes.
    pub size: i64,
    /// Signer-supplied annotations (user metadata).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Optional artifact type.
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
}

#[derive(Deserialize)]
struct PayloadDoc {
    #[serde(rename = "targetArtifact")]
    target_artifact: TargetArtifact,
}

/// Why the payload is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload is not a Notary payload: {0}")]
pub struct PayloadError(pub String);

impl TargetArtifact {
    /// Parses the payload bytes (duplicate keys refused).
    pub fn from_payload(bytes: &[u8]) -> Result<Self, PayloadError> {
        from_slice_strict::<PayloadDoc>(bytes)
            .map(|d| d.target_artifact)
            .map_err(|e| PayloadError(e.to_string()))
    }

    /// The Notary match rule: equal media type, digest and size (notation `content.Equal`).
    pub fn matches(&self, resolved: &Descriptor) -> bool {
        self.media_type == resolved.media_type
            && self.digest == resolved.digest.as_str()
            && u64::try_from(self.size).is_ok_and(|s| s == resolved.size)
    }
}
