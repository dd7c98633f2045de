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
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            br#"{"architecture":"amd64","os":"linux"}"#,
        );
        let layer = self.blob("application/vnd.oci.image.layer.v1.tar", content);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config.json(),
            "layers": [layer.json()],
        });
        let desc = self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
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
        let (config, artifact_type) = match form {
            SignatureForm::Legacy => (
                self.blob("application/vnd.cncf.notary.signature", b"{}"),
                None,
            ),
            SignatureForm::ArtifactType => (
                self.blob("application/vnd.oci.empty.v1+json", b"{}"),
                Some("application/vnd.cncf.notary.signature"),
            ),
        };
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config.json(),
            "layers": [env.json()],
            "subject": subject.json(),
            "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
        });
        if let Some(t) = artifact_type {
            manifest["artifactType"] = json!(t);
        }
        let desc = self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
        let mut entry = desc.json();
        entry["artifactType"] = json!("application/vnd.cncf.notary.signature");
        self.signatures.push(entry);
        desc
    }

    /// Writes the referrers tag-schema index for `subject` and index.json.
    pub fn finish(&mut self, subject: Option<&Desc>) {
        if let Some(subject) = subject
            && !self.signatures.is_empty()
        {
            let referrers = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": self.signatures,
            });
            let desc = self.blob(
                "application/vnd.oci.image.index.v1+json",
                &serde_json::to_vec(&referrers).unwrap(),
            );
            let mut entry = desc.json();
            entry["annotations"] =
                json!({"org.opencontainers.image.ref.name": subject.digest.replace(':', "-")});
            self.index.push(entry);
        }
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.index});
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec_pretty(&index).unwrap(),
        )
        .unwrap();
    }
}
