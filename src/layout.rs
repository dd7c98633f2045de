//! Reading an OCI image layout directory the way `notation verify --oci-layout` finds an
//! image and its signatures: tags from `index.json`, signatures as manifests reachable from
//! `index.json` whose subject is the image (this covers the referrers tag-schema index that
//! notation writes, and signature manifests listed directly).

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::oci::{
    self, ANNOTATION_REF_NAME, Manifest, SignatureManifest, SignatureManifestError,
    classify_signature_manifest,
};
use crate::verify::descriptor::{Descriptor, Digest};
use crate::verify::limits::Limits;

/// Most manifests and indexes read while looking for signatures in one layout. Each read is
/// capped by `Limits::max_manifest_bytes`. notation has no cap. A layout holds an image, its
/// platform manifests and its referrers, a few dozen nodes; 10,000, the most descriptors one
/// index may list (`oci::MAX_DESCRIPTORS`), keeps every real layout walkable while bounding
/// the reads of a hostile one to 10,000 × 4 MiB.
pub const MAX_NODES_WALKED: usize = 10_000;

/// Why a layout cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The reference is not `DIR:TAG` or `DIR@DIGEST`.
    #[error("invalid OCI layout reference {0:?}: expected DIR:TAG or DIR@DIGEST")]
    BadReference(String),
    /// A file could not be read.
    #[error("OCI layout {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The directory is not an OCI layout.
    #[error("{0} is not an OCI image layout (no oci-layout file)")]
    NotALayout(PathBuf),
    /// The tag is not in index.json.
    #[error("tag {tag:?} is not in {index}")]
    TagNotFound {
        /// The tag.
        tag: String,
        /// index.json path.
        index: PathBuf,
    },
    /// A blob is larger than allowed or than its descriptor says.
    #[error("blob {digest}: {reason}")]
    BadBlob {
        /// The blob.
        digest: Digest,
        /// What is wrong.
        reason: String,
    },
    /// A manifest or index does not parse.
    #[error("{what}: {source}")]
    Manifest {
        /// Which document.
        what: String,
        /// Why.
        source: oci::ManifestError,
    },
    /// Too many manifests to walk.
    #[error("more than {MAX_NODES_WALKED} manifests reachable from index.json")]
    TooManyManifests,
}

/// A signature found in the layout, or the digest of a would-be signature manifest and why it
/// cannot be used (reported as that signature failing).
pub(crate) type SignatureCandidate = Result<SignatureManifest, (Digest, String)>;

/// A parsed `DIR:TAG` or `DIR@DIGEST` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutReference {
    /// By tag.
    Tag(PathBuf, String),
    /// By digest.
    Digest(PathBuf, Digest),
}

impl LayoutReference {
    /// Parses a reference. The split is at the last `@` (digest) or the last `:` (tag), so
    /// directories may contain either character.
    pub fn parse(text: &str) -> Result<Self, LayoutError> {
        let bad = || LayoutError::BadReference(text.to_owned());
        if let Some((dir, digest)) = text.rsplit_once('@') {
            let digest = Digest::parse(digest).map_err(|_| bad())?;
            if dir.is_empty() {
                return Err(bad());
            }
            return Ok(Self::Digest(dir.into(), digest));
        }
        let (dir, tag) = text.rsplit_once(':').ok_or_else(bad)?;
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
            });
        if dir.is_empty() || !tag_ok {
            return Err(bad());
        }
        Ok(Self::Tag(dir.into(), tag.to_owned()))
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        match self {
            Self::Tag(d, _) | Self::Digest(d, _) => d,
        }
    }
}

/// An opened OCI layout.
pub struct OciLayout {
    root: PathBuf,
    index: Manifest,
    limits: Limits,
}

impl OciLayout {
    /// Opens `dir`: requires the `oci-layout` marker and reads `index.json` (size-capped).
    pub fn open(dir: &Path, limits: &Limits) -> Result<Self, LayoutError> {
        if !dir.join("oci-layout").is_file() {
            return Err(LayoutError::NotALayout(dir.to_owned()));
        }
        let index_path = dir.join("index.json");
        let bytes = read_capped(&index_path, limits.max_manifest_bytes)?;
        let index = Manifest::parse(&bytes).map_err(|source| LayoutError::Manifest {
            what: index_path.display().to_string(),
            source,
        })?;
        Ok(Self {
            root: dir.to_owned(),
            index,
            limits: limits.clone(),
        })
    }

    /// Resolves a tag or digest to the artifact's descriptor. For a digest the media type and
    /// size come from the content itself (it must exist in the layout).
    pub fn resolve(&self, reference: &LayoutReference) -> Result<Descriptor, LayoutError> {
        match reference {
            LayoutReference::Tag(_, tag) => {
                // The last entry with the tag wins, as in oras-go's OCI store (which notation
                // reads layouts with): an index.json that tags two manifests alike is resolved
                // the same way by both tools.
                let found = self
                    .index
                    .manifests
                    .iter()
                    .rev()
                    .find(|d| d.annotations.get(ANNOTATION_REF_NAME) == Some(tag))
                    .ok_or_else(|| LayoutError::TagNotFound {
                        tag: tag.clone(),
                        index: self.root.join("index.json"),
                    })?;
                // Read it once so that a tag pointing at missing or corrupt content fails here.
                self.read_blob(found, self.limits.max_manifest_bytes)?;
                Ok(Descriptor {
                    annotations: Default::default(),
                    ..found.clone()
                })
            }
            LayoutReference::Digest(_, digest) => {
                // As oras-go's OCI store does, a digest listed in index.json is described by
                // that entry (media type and size); the content must still match it.
                if let Some(listed) = self
                    .index
                    .manifests
                    .iter()
                    .rev()
                    .find(|d| &d.digest == digest)
                {
                    self.read_blob(listed, self.limits.max_manifest_bytes)?;
                    return Ok(Descriptor {
                        annotations: Default::default(),
                        ..listed.clone()
                    });
                }
                // A digest that index.json does not list (a platform manifest of an index, say)
                // is described by its content. oras-go would call it application/octet-stream,
                // which no signature payload names, so notation cannot verify such a digest;
                // notaryd verifies it (docs/compatibility.md).
                let path = self.blob_path(digest);
                let bytes = read_capped(&path, self.limits.max_manifest_bytes)?;
                if !digest.matches(&bytes) {
                    return Err(LayoutError::BadBlob {
                        digest: digest.clone(),
                        reason: "content does not match its digest".into(),
                    });
                }
                let manifest = Manifest::parse(&bytes).map_err(|source| LayoutError::Manifest {
                    what: digest.to_string(),
                    source,
                })?;
                Ok(Descriptor {
                    media_type: manifest.effective_media_type().to_owned(),
                    digest: digest.clone(),
                    size: bytes.len() as u64,
                    artifact_type: None,
                    platform: None,
                    annotations: Default::default(),
                })
            }
        }
    }

    /// Every signature manifest of `target`, in discovery order. A manifest that is a Notary
    /// signature but breaks the shape rules is returned as an error entry, so the caller can
    /// report it as a failed signature and go on.
    pub fn signatures(&self, target: &Descriptor) -> Result<Vec<SignatureCandidate>, LayoutError> {
        let mut out = Vec::new();
        let mut seen: HashSet<Digest> = HashSet::new();
        let mut queue: VecDeque<Descriptor> = self.index.manifests.iter().cloned().collect();
        let mut walked = 0usize;
        while let Some(desc) = queue.pop_front() {
            if !is_manifest_type(&desc.media_type) || !seen.insert(desc.digest.clone()) {
                continue;
            }
            walked += 1;
            if walked > MAX_NODES_WALKED {
                return Err(LayoutError::TooManyManifests);
            }
            let bytes = match self.read_blob(&desc, self.limits.max_manifest_bytes) {
                Ok(b) => b,
                // A dangling entry elsewhere in the layout does not stop verification of this
                // artifact; a dangling signature is reported as that signature failing.
                Err(e) => {
                    if oci::is_signature_entry(&desc) {
                        out.push(Err((desc.digest.clone(), e.to_string())));
                    }
                    continue;
                }
            };
            let Ok(manifest) = Manifest::parse(&bytes) else {
                if oci::is_signature_entry(&desc) {
                    out.push(Err((
                        desc.digest.clone(),
                        "signature manifest does not parse".into(),
                    )));
                }
                continue;
            };
            if manifest.is_index() {
                queue.extend(manifest.manifests.iter().cloned());
                continue;
            }
            if manifest.subject.as_ref().map(|s| &s.digest) != Some(&target.digest) {
                continue;
            }
            match classify_signature_manifest(&desc.digest, &manifest, target) {
                Ok(sig) => out.push(Ok(sig)),
                Err(SignatureManifestError::NotASignature) => {}
                Err(e @ SignatureManifestError::Invalid { .. }) => {
                    out.push(Err((desc.digest.clone(), e.to_string())))
                }
            }
        }
        Ok(out)
    }

    /// Reads a blob, refusing it when it is larger than `max` or than its descriptor, or when
    /// its digest does not match.
    pub fn read_blob(&self, desc: &Descriptor, max: u64) -> Result<Vec<u8>, LayoutError> {
        if desc.size > max {
            return Err(LayoutError::BadBlob {
                digest: desc.digest.clone(),
                reason: format!("size {} exceeds the limit of {max} bytes", desc.size),
            });
        }
        let bytes = read_capped(&self.blob_path(&desc.digest), desc.size)?;
        if bytes.len() as u64 != desc.size {
            return Err(LayoutError::BadBlob {
                digest: desc.digest.clone(),
                reason: format!("{} bytes, descriptor says {}", bytes.len(), desc.size),
            });
        }
        if !desc.digest.matches(&bytes) {
            return Err(LayoutError::BadBlob {
                digest: desc.digest.clone(),
                reason: "content does not match its digest".into(),
            });
        }
        Ok(bytes)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        // The digest grammar admits no '/' and no "..", so this stays inside blobs/.
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }
}

fn is_manifest_type(media_type: &str) -> bool {
    matches!(
        media_type,
        oci::MEDIA_TYPE_IMAGE_MANIFEST
            | oci::MEDIA_TYPE_IMAGE_INDEX
            | oci::MEDIA_TYPE_ARTIFACT_MANIFEST
            | oci::MEDIA_TYPE_DOCKER_MANIFEST
            | oci::MEDIA_TYPE_DOCKER_MANIFEST_LIST
    )
}

/// Reads at most `max` bytes of `path`; a longer file is an error, never truncated. Only
/// regular files are read (a symlink to one is fine, the digest check judges the content):
/// opening a FIFO would block for ever and a device never ends.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, LayoutError> {
    let io = |source| LayoutError::Io {
        path: path.to_owned(),
        source,
    };
    if !fs::metadata(path).map_err(io)?.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(LayoutError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(format!("larger than the limit of {max} bytes")),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert!(
            matches!(LayoutReference::parse("dir:v1"), Ok(LayoutReference::Tag(_, t)) if t == "v1")
        );
        assert!(
            matches!(LayoutReference::parse(&format!("a:b/dir@{d}")), Ok(LayoutReference::Digest(p, _)) if p == Path::new("a:b/dir"))
        );
        assert!(LayoutReference::parse("dir").is_err());
        assert!(LayoutReference::parse("dir:").is_err());
        assert!(LayoutReference::parse(":v1").is_err());
        assert!(LayoutReference::parse("dir:-v1").is_err());
        assert!(LayoutReference::parse("dir@sha256:abc").is_err());
        assert!(LayoutReference::parse(&format!("dir:{}", "a".repeat(128))).is_ok());
        assert!(LayoutReference::parse(&format!("dir:{}", "a".repeat(129))).is_err());
    }
}
