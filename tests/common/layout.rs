//! Writes OCI image layouts the way `notation sign --oci-layout` stores them: the image
//! manifest tagged in index.json, signature manifests in the legacy or the artifactType form,
//! and a referrers tag-schema index listing them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Lowercase hex SHA-256 digest string `sha256:<hex>`.
pub fn sha256(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The two shapes of a signature manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureForm {
    /// config.mediaType = application/vnd.cncf.notary.signature, no artifactType.
    Legacy,
    /// artifactType = application/vnd.cncf.notary.signature with the empty config.
    ArtifactType,
}

/// A layout being written.
pub struct LayoutWriter {
    pub root: PathBuf,
    pub index: Vec<Value>,
    pub signatures: Vec<Value>,
}

/// A descriptor as JSON plus its parts.
#[derive(Clone, Debug)]
pub struct Desc {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Desc {
    pub fn json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// Media types the layout and registry helpers write.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The Notary signature artifact type (and the legacy signature config media type).
pub const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// The config blob of a small test image for `os`/`architecture`.
pub fn image_config(os: &str, architecture: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"architecture": architecture, "os": os})).unwrap()
}

/// An image manifest over one config and one layer.
pub fn image_manifest(config: &Desc, layer: &Desc) -> Vec<u8> {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "config": config.json(),
        "layers": [layer.json()],
    });
    serde_json::to_vec(&manifest).unwrap()
}

/// The config blob (media type, bytes) of a signature manifest in `form`.
pub fn signature_config(form: SignatureForm) -> (&'static str, &'static [u8]) {
    match form {
        SignatureForm::Legacy => (NOTARY_SIGNATURE, b"{}"),
        SignatureForm::ArtifactType => (MEDIA_TYPE_EMPTY, b"{}"),
    }
}

/// A Notary signature manifest in `form`: `config` from [`signature_config`], the envelope as
/// its only layer, `subject` as its subject.
pub fn signature_manifest(
    subject: &Desc,
    config: &Desc,
    envelope: &Desc,
    form: SignatureForm,
) -> Vec<u8> {
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "config": config.json(),
        "layers": [envelope.json()],
        "subject": subject.json(),
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
    });
    if form == SignatureForm::ArtifactType {
        manifest["artifactType"] = json!(NOTARY_SIGNATURE);
    }
    serde_json::to_vec(&manifest).unwrap()
}

/// A referrers tag-schema index (an OCI index) listing `manifests`.
pub fn referrers_index(manifests: &[Value]) -> Vec<u8> {
    let referrers = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": manifests,
    });
    serde_json::to_vec(&referrers).unwrap()
}

/// The tag under which the referrers tag schema indexes the referrers of `digest`:
/// `sha256:<hex>` becomes `sha256-<hex>`.
pub fn referrers_tag(digest: &str) -> String {
    digest.replace(':', "-")
}

impl LayoutWriter {
    /// A new empty layout at `root` (created).
    pub fn new(root: &Path) -> Self {
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Self {
            root: root.to_owned(),
            index: Vec::new(),
            signatures: Vec::new(),
        }
    }

    /// Stores a blob and returns its descriptor.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Desc {
        let digest = sha256(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.root.join("blobs/sha256").join(hex), bytes).unwrap();
        Desc {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// A small image (config + one layer) tagged `tag`; returns the manifest descriptor.
    pub fn image(&mut self, tag: &str, content: &[u8]) -> Desc {
        let config = self.blob(MEDIA_TYPE_IMAGE_CONFIG, &image_config("linux", "amd64"));
        let layer = self.blob(MEDIA_TYPE_LAYER, content);
        let desc = self.blob(MEDIA_TYPE_MANIFEST, &image_manifest(&config, &layer));
        let mut entry = desc.json();
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.index.push(entry);
        desc
    }

    /// Attaches a signature envelope to `subject`; returns the signature manifest descriptor.
    pub fn sign(
        &mut self,
        subject: &Desc,
        envelope_media_type: &str,
        envelope: &[u8],
        form: SignatureForm,
    ) -> Desc {
        let env = self.blob(envelope_media_type, envelope);
        let (config_media_type, config_bytes) = signature_config(form);
        let config = self.blob(config_media_type, config_bytes);
        let desc = self.blob(
            MEDIA_TYPE_MANIFEST,
            &signature_manifest(subject, &config, &env, form),
        );
        let mut entry = desc.json();
        entry["artifactType"] = json!(NOTARY_SIGNATURE);
        self.signatures.push(entry);
        desc
    }

    /// Writes the referrers tag-schema index for `subject` and index.json.
    pub fn finish(&mut self, subject: Option<&Desc>) {
        if let Some(subject) = subject
            && !self.signatures.is_empty()
        {
            let desc = self.blob(MEDIA_TYPE_INDEX, &referrers_index(&self.signatures));
            let mut entry = desc.json();
            entry["annotations"] =
                json!({"org.opencontainers.image.ref.name": referrers_tag(&subject.digest)});
            self.index.push(entry);
        }
        let index =
            json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_INDEX, "manifests": self.index});
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec_pretty(&index).unwrap(),
        )
        .unwrap();
    }
}
