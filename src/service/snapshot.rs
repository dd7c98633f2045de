//! One immutable view of everything a verification needs: trust policies (the default one and
//! the namespace-specific ones), their trust stores, the revocation set, registry
//! credentials and limits. A reload builds a whole new snapshot and swaps it in only when
//! every part of it loaded; requests hold an `Arc` of the snapshot they started with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundle;
use crate::config::Config;
use crate::notation_config;
use crate::registry::credentials::DockerConfig;
use crate::registry::discovery::Platform;
use crate::verify::limits::Limits;
use crate::verify::policy::TrustPolicyDocument;
use crate::verify::revocation::set::{RevocationOptions, RevocationSet};
use crate::verify::revocation::{NoRevocationData, RevocationSource};
use crate::verify::time::Timestamp;
use crate::verify::trust_store::TrustStore;
use crate::verify::x509::Certificate;

/// Why a snapshot could not be built. The old one keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The configuration file is refused.
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// A trust policy or trust store is refused.
    #[error("{what}: {source}")]
    Notation {
        /// Which policy ("default trust policy", "namespace kube-system").
        what: String,
        /// Why.
        source: Box<notation_config::ConfigError>,
    },
    /// A policy names a store that does not exist.
    #[error("{what}: {source}")]
    MissingStore {
        /// Which policy.
        what: String,
        /// Which store.
        source: crate::verify::verifier::MissingTrustStore,
    },
    /// The revocation bundle is refused.
    #[error("revocation bundle: {0}")]
    Revocation(String),
    /// docker's config.json is refused.
    #[error("registry credentials: {0}")]
    Credentials(String),
}

/// A trust policy and the stores it names.
pub struct PolicySet {
    /// Where it came from.
    pub path: PathBuf,
    /// The document.
    pub policy: TrustPolicyDocument,
    /// Its stores.
    pub trust_store: TrustStore,
    /// SHA-256 of the file, hex.
    pub digest: String,
}

/// What each loaded part is, for `Status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    /// SHA-256 of the default trust policy file.
    pub trust_policy: String,
    /// SHA-256 over the certificates of every trust store the loaded policies name.
    pub trust_stores: String,
    /// SHA-256 of the revocation bundle file, or "none".
    pub revocation_set: String,
    /// Namespace → SHA-256 of its policy file.
    pub namespace_policies: BTreeMap<String, String>,
}

/// Everything a verification reads.
pub struct Snapshot {
    /// Bumped by every successful reload.
    pub generation: u64,
    /// When it was loaded.
    pub loaded_at: Timestamp,
    /// The configuration it was built from.
    pub config: Config,
    /// The default trust policy.
    pub default_policy: PolicySet,
    /// Namespace-specific policies.
    pub namespace_policies: BTreeMap<String, PolicySet>,
    /// The revocation source (installed set, or none).
    pub revocation: Box<dyn RevocationSource>,
    /// The revocation bundle's creation time, when one is loaded.
    pub revocation_created_at: Option<Timestamp>,
    /// Registry credentials from docker's config.json.
    pub docker_config: Arc<DockerConfig>,
    /// Limits for every verification.
    pub limits: Limits,
    /// What is loaded.
    pub versions: Versions,
    /// Registries without a hosts.toml are spoken to over plain HTTP (the one-shot command's
    /// `--plain-http`; the daemon reads hosts.toml alone and never sets it).
    pub plain_http: bool,
    /// The platform whose manifest an index is verified for: this node's, or the one-shot
    /// command's `--platform`.
    pub platform: Platform,
    /// Metadata every signature must carry (the one-shot command's `--user-metadata`; the
    /// daemon requires none). Part of the snapshot, not the request, so that cached verdicts
    /// are always for the same requirement.
    pub user_metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::verify::descriptor::hex(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref(),
    )
}

fn load_policy_set(path: &Path, store_dir: &Path, what: &str) -> Result<PolicySet, SnapshotError> {
    let notation = |source| SnapshotError::Notation {
        what: what.to_owned(),
        source: Box::new(source),
    };
    let policy = notation_config::load_policy(path).map_err(notation)?;
    let bytes = std::fs::read(path).map_err(|source| {
        notation(notation_config::ConfigError::Io {
            path: path.to_owned(),
            source,
        })
    })?;
    let trust_store = notation_config::load_trust_store(store_dir, &policy).map_err(notation)?;
    // Checked here, at load, so that a reload naming a missing store is refused as a whole.
    crate::verify::verifier::Verifier::new(
        &policy,
        &trust_store,
        &NoRevocationData,
        Limits::default(),
    )
    .map_err(|source| SnapshotError::MissingStore {
        what: what.to_owned(),
        source,
    })?;
    Ok(PolicySet {
        path: path.to_owned(),
        policy,
        trust_store,
        digest: sha256_hex(&bytes),
    })
}

fn trust_store_digest<'a>(sets: impl Iterator<Item = &'a PolicySet>) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for set in sets {
        for (store_type, name, named) in set.trust_store.iter() {
            ctx.update(store_type.as_str().as_bytes());
            ctx.update(b"\0");
            ctx.update(name.as_bytes());
            ctx.update(b"\0");
            for cert in named.certificates() {
                ctx.update(&(cert.der().len() as u64).to_be_bytes());
                ctx.update(cert.der());
            }
        }
    }
    crate::verify::descriptor::hex(ctx.finish().as_ref())
}

/// The revocation bundle a configuration uses: the configured file, else the installed one
/// when there is one.
pub fn revocation_bundle_path(config: &Config) -> Option<PathBuf> {
    config.revocation_bundle.clone().or_else(|| {
        let installed = bundle::installed_path(&config.revocation_state_dir);
        installed.is_file().then_some(installed)
    })
}

impl Snapshot {
    /// Builds a snapshot from `config` (reading every file it names), as generation
    /// `generation` at time `now`.
    pub fn load(config: Config, generation: u64, now: Timestamp) -> Result<Self, SnapshotError> {
        let policy_path =
            match &config.trust_policy {
                Some(p) => p.clone(),
                None => notation_config::find_policy_file(&config.notation_config).map_err(
                    |source| SnapshotError::Notation {
                        what: "default trust policy".into(),
                        source: Box::new(source),
                    },
                )?,
            };
        let default_policy =
            load_policy_set(&policy_path, &config.trust_store, "default trust policy")?;
        let mut namespace_policies = BTreeMap::new();
        for (ns, path) in &config.namespace_policies {
            let set = load_policy_set(
                path,
                &config.trust_store,
                &format!("trust policy of namespace {ns}"),
            )?;
            namespace_policies.insert(ns.clone(), set);
        }

        let (revocation, revocation_created_at, revocation_digest): (
            Box<dyn RevocationSource>,
            _,
            _,
        ) = match revocation_bundle_path(&config) {
            None => (Box::new(NoRevocationData), None, "none".to_owned()),
            Some(path) => {
                let keys = config
                    .bundle_keys
                    .iter()
                    .map(|p| {
                        let pem = std::fs::read(p).map_err(|e| {
                            SnapshotError::Revocation(format!("bundle key {}: {e}", p.display()))
                        })?;
                        bundle::format::BundleKey::from_pem(&pem).map_err(|e| {
                            SnapshotError::Revocation(format!("bundle key {}: {e}", p.display()))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let all = notation_config::load_all_trust_stores(&config.trust_store).map_err(
                    |source| SnapshotError::Notation {
                        what: "trust stores (revocation anchors)".into(),
                        source: Box::new(source),
                    },
                )?;
                let anchors: Vec<&Certificate> =
                    all.iter().flat_map(|(_, _, s)| s.certificates()).collect();
                let bytes = bundle::read_bundle_file(&path)
                    .map_err(|e| SnapshotError::Revocation(e.to_string()))?;
                let opened = bundle::open_bundle(&path, &bytes, &keys)
                    .map_err(|e| SnapshotError::Revocation(e.to_string()))?;
                let created_at = Timestamp::parse_rfc3339(&opened.header.created_at);
                let set = RevocationSet::build(
                    &bundle::items_of(&opened),
                    &anchors,
                    None,
                    RevocationOptions {
                        grace_seconds: config.revocation_grace_seconds,
                    },
                    None,
                    false,
                )
                .map_err(|e| SnapshotError::Revocation(format!("{}: {e}", path.display())))?;
                (Box::new(set), created_at, sha256_hex(&bytes))
            }
        };

        let docker_config = match &config.docker_config {
            Some(p) => DockerConfig::load(p),
            None => DockerConfig::load_default(),
        }
        .map_err(|e| SnapshotError::Credentials(e.to_string()))?;

        let limits = Limits {
            max_signature_attempts: config.max_signatures as usize,
            ..Limits::default()
        };
        let versions = Versions {
            trust_policy: default_policy.digest.clone(),
            trust_stores: trust_store_digest(
                std::iter::once(&default_policy).chain(namespace_policies.values()),
            ),
            revocation_set: revocation_digest,
            namespace_policies: namespace_policies
                .iter()
                .map(|(ns, s)| (ns.clone(), s.digest.clone()))
                .collect(),
        };
        Ok(Self {
            generation,
            loaded_at: now,
            config,
            default_policy,
            namespace_policies,
            revocation,
            revocation_created_at,
            docker_config: Arc::new(docker_config),
            limits,
            versions,
            plain_http: false,
            platform: Platform::host(),
            user_metadata: BTreeMap::new(),
        })
    }

    /// The policy for a namespace: its own when one is configured, else the default. The
    /// second value names the namespace when its own policy applies (it is then part of the
    /// cache key).
    pub fn policy_for(&self, namespace: Option<&str>) -> (&PolicySet, Option<&str>) {
        match namespace.and_then(|ns| self.namespace_policies.get_key_value(ns)) {
            Some((ns, set)) => (set, Some(ns.as_str())),
            None => (&self.default_policy, None),
        }
    }

    /// Every file whose change should trigger a reload.
    pub fn watched_files(&self, config_file: Option<&Path>) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        files.extend(config_file.map(Path::to_owned));
        files.push(self.default_policy.path.clone());
        files.extend(self.namespace_policies.values().map(|s| s.path.clone()));
        // A policy file that does not exist yet in the notation directory (trustpolicy.json
        // next to trustpolicy.oci.json) would change which one is found.
        if self.config.trust_policy.is_none() {
            for name in notation_config::POLICY_FILE_NAMES {
                files.push(self.config.notation_config.join(name));
            }
        }
        files.push(self.config.trust_store.clone());
        files.push(bundle::installed_path(&self.config.revocation_state_dir));
        files.extend(self.config.revocation_bundle.clone());
        files.extend(self.config.bundle_keys.iter().cloned());
        files.push(self.docker_config.path().to_owned());
        files.sort();
        files.dedup();
        files
    }
}
