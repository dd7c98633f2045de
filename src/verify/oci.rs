//! OCI manifests and indexes as notaryd reads them: the one place where manifest, index and
//! signature-manifest bytes are parsed. Pure (no I/O); the OCI-layout reader and the registry
//! client both feed bytes in here after checking size and digest.

use serde::Deserialize;

pub use crate::descriptor::Platform;
use crate::descriptor::{Descriptor, Digest};
use crate::json::from_slice_strict;

/// OCI image manifest media type.
pub const MEDIA_TYPE_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const MEDIA_TYPE_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The pre-1.1 OCI artifact manifest, still accepted for signatures by notation-go.
pub const MEDIA_TYPE_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
/// Docker schema 2 manifest.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const MEDIA_TYPE_DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The Notary signature artifact type (and legacy config media type).
pub const ARTIFACT_TYPE_NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
/// The empty config media type used with `artifactType`.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Annotation carrying a tag in an OCI layout's index.json.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation with the SHA-256 thumbprints of the signing chain (a hint, never trusted).
pub const ANNOTATION_THUMBPRINTS: &str = "io.cncf.notary.x509chain.thumbprint#S256";

/// Why manifest bytes are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape, or a duplicate key.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Too many entries.
    #[error("{what} lists {count} entries, more than the limit of {max}")]
    TooManyEntries {
        /// What was being parsed.
        what: &'static str,
        /// Entries found.
        count: usize,
        /// Limit.
        max: usize,
    },
}

/// Most descriptors read from one index or manifest. Real images list a few dozen platforms or
/// layers; 10,000 bounds memory while accepting any real artifact.
pub const MAX_DESCRIPTORS: usize = 10_000;

/// The fields of a manifest or index that discovery needs. Both shapes parse into this: an
/// index has `manifests`, an image manifest `config` and `layers`, an artifact manifest
/// `blobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// `mediaType`, when the document declares it.
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    /// `artifactType`.
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    /// Image manifest config.
    #[serde(default)]
    pub config: Option<Descriptor>,
    /// Image manifest layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Artifact manifest blobs.
    #[serde(default)]
    pub blobs: Vec<Descriptor>,
    /// Index entries.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The subject (for referrers).
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

impl Manifest {
    /// Parses manifest or index bytes (the caller has checked size and digest).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: Manifest = from_slice_strict(bytes).map_err(|e| ManifestError::Malformed {
            what: "manifest",
            reason: e.to_string(),
        })?;
        let count = m.layers.len() + m.blobs.len() + m.manifests.len();
        if count > MAX_DESCRIPTORS {
            return Err(ManifestError::TooManyEntries {
                what: "manifest",
                count,
                max: MAX_DESCRIPTORS,
            });
        }
        Ok(m)
    }

    /// Whether this document is an index (by declared media type, or by shape when undeclared).
    pub fn is_index(&self) -> bool {
        match self.media_type.as_deref() {
            Some(MEDIA_TYPE_IMAGE_INDEX | MEDIA_TYPE_DOCKER_MANIFEST_LIST) => true,
            Some(_) => false,
            None => !self.manifests.is_empty() && self.config.is_none(),
        }
    }

    /// The media type to describe these bytes with: the declared one, else inferred by shape
    /// (OCI allows manifests without `mediaType`).
    pub fn effective_media_type(&self) -> &str {
        match self.media_type.as_deref() {
            Some(t) => t,
            None if self.is_index() => MEDIA_TYPE_IMAGE_INDEX,
            None => MEDIA_TYPE_IMAGE_MANIFEST,
        }
    }
}

/// A signature manifest that passed the Notary shape rules, with the one envelope blob to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureManifest {
    /// Digest of the signature manifest.
    pub digest: Digest,
    /// The envelope blob descriptor; its media type selects the envelope parser.
    pub envelope: Descriptor,
}

/// Why a manifest that points at the target is not a usable Notary signature manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureManifestError {
    /// Not a Notary signature (another artifact type); skipped silently.
    #[error("not a Notary signature manifest")]
    NotASignature,
    /// A Notary signature whose shape is wrong.
    #[error("signature manifest {digest}: {reason}")]
    Invalid {
        /// The manifest.
        digest: Digest,
        /// The broken rule.
        reason: String,
    },
}

/// Classifies a manifest found as a referrer of `target` (NOTARY-VERIFY §1.1): both the
/// `artifactType` + empty-config form and the legacy config-media-type form; the subject must
/// be the target (digest, size and media type); exactly one envelope blob.
pub fn classify_signature_manifest(
    digest: &Digest,
    manifest: &Manifest,
    target: &Descriptor,
) -> Result<SignatureManifest, SignatureManifestError> {
    let invalid = |reason: String| SignatureManifestError::Invalid {
        digest: digest.clone(),
        reason,
    };
    let media_type = manifest
        .media_type
        .as_deref()
        .unwrap_or(MEDIA_TYPE_IMAGE_MANIFEST);
    let config_type = manifest.config.as_ref().map(|c| c.media_type.as_str());
    let is_signature = match media_type {
        MEDIA_TYPE_IMAGE_MANIFEST => match manifest.artifact_type.as_deref() {
            Some(ARTIFACT_TYPE_NOTARY_SIGNATURE) => {
                if config_type != Some(MEDIA_TYPE_EMPTY) {
                    return Err(invalid(format!(
                        "artifactType is {ARTIFACT_TYPE_NOTARY_SIGNATURE} but the config media type is {:?}, not {MEDIA_TYPE_EMPTY}",
                        config_type.unwrap_or("")
                    )));
                }
                true
            }
            Some(_) => false,
            None => config_type == Some(ARTIFACT_TYPE_NOTARY_SIGNATURE),
        },
        MEDIA_TYPE_ARTIFACT_MANIFEST => {
            manifest.artifact_type.as_deref() == Some(ARTIFACT_TYPE_NOTARY_SIGNATURE)
        }
        _ => false,
    };
    if !is_signature {
        return Err(SignatureManifestError::NotASignature);
    }
    match &manifest.subject {
        Some(s) if s.same_content(target) => {}
        Some(s) => {
            return Err(invalid(format!(
                "subject {} {} ({} bytes) is not the artifact {} {} ({} bytes)",
                s.media_type, s.digest, s.size, target.media_type, target.digest, target.size
            )));
        }
        None => return Err(invalid("has no subject".to_owned())),
    }
    let blobs = if media_type == MEDIA_TYPE_ARTIFACT_MANIFEST {
        &manifest.blobs
    } else {
        &manifest.layers
    };
    match blobs.as_slice() {
        [one] => Ok(SignatureManifest {
            digest: digest.clone(),
            envelope: one.clone(),
        }),
        other => Err(invalid(format!(
            "must list exactly one envelope blob, lists {}",
            other.len()
        ))),
    }
}

/// Whether an index entry (a referrers-API or tag-schema entry) may be a Notary signature:
/// the filter both discovery paths apply on the client.
pub fn is_signature_entry(entry: &Descriptor) -> bool {
    entry.artifact_type.as_deref() == Some(ARTIFACT_TYPE_NOTARY_SIGNATURE)
}

/// The referrers tag-schema tag for a digest: `<alg>-<encoded>` with the algorithm cut to 32
/// characters, the encoded part to 64, and any character a tag may not hold replaced by `-`.
pub fn referrers_tag(digest: &Digest) -> String {
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .take(max)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!(
        "{}-{}",
        clean(digest.algorithm(), 32),
        clean(digest.encoded(), 64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Descriptor {
        Descriptor {
            media_type: MEDIA_TYPE_IMAGE_MANIFEST.into(),
            digest: Digest::sha256_of(b"image"),
            size: 5,
            artifact_type: None,
            platform: None,
            annotations: Default::default(),
        }
    }

    fn sig_manifest(
        artifact_type: Option<&str>,
        config: &str,
        layers: usize,
        subject: &Descriptor,
    ) -> Manifest {
        let layer = serde_json::json!({"mediaType": "application/jose+json", "digest": Digest::sha256_of(b"env").to_string(), "size": 3});
        let mut doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
            "config": {"mediaType": config, "digest": Digest::sha256_of(b"{}").to_string(), "size": 2},
            "layers": vec![layer; layers],
            "subject": subject,
        });
        if let Some(t) = artifact_type {
            doc["artifactType"] = t.into();
        }
        Manifest::parse(doc.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn both_signature_manifest_forms_are_recognised() {
        let d = Digest::sha256_of(b"sig");
        let t = target();
        let current = sig_manifest(
            Some(ARTIFACT_TYPE_NOTARY_SIGNATURE),
            MEDIA_TYPE_EMPTY,
            1,
            &t,
        );
        let legacy = sig_manifest(None, ARTIFACT_TYPE_NOTARY_SIGNATURE, 1, &t);
        assert!(classify_signature_manifest(&d, &current, &t).is_ok());
        assert!(classify_signature_manifest(&d, &legacy, &t).is_ok());
    }

    #[test]
    fn signature_manifest_rules() {
        let d = Digest::sha256_of(b"sig");
        let t = target();
        let other = sig_manifest(Some("application/spdx+json"), MEDIA_TYPE_EMPTY, 1, &t);
        assert_eq!(
            classify_signature_manifest(&d, &other, &t),
            Err(SignatureManifestError::NotASignature)
        );
        let bad_config = sig_manifest(
            Some(ARTIFACT_TYPE_NOTARY_SIGNATURE),
            "application/json",
            1,
            &t,
        );
        assert!(matches!(
            classify_signature_manifest(&d, &bad_config, &t),
            Err(SignatureManifestError::Invalid { .. })
        ));
        let two = sig_manifest(None, ARTIFACT_TYPE_NOTARY_SIGNATURE, 2, &t);
        assert!(matches!(
            classify_signature_manifest(&d, &two, &t),
            Err(SignatureManifestError::Invalid { .. })
        ));
        let mut elsewhere = t.clone();
        elsewhere.size += 1;
        let wrong_subject = sig_manifest(None, ARTIFACT_TYPE_NOTARY_SIGNATURE, 1, &elsewhere);
        assert!(matches!(
            classify_signature_manifest(&d, &wrong_subject, &t),
            Err(SignatureManifestError::Invalid { .. })
        ));
    }

    #[test]
    fn referrers_tag_schema() {
        let d = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        assert_eq!(referrers_tag(&d), format!("sha256-{}", "ab".repeat(32)));
    }
}
