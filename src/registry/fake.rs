//! A test double for [`RegistryApi`]: an in-memory registry, so that the discovery logic is
//! tested without sockets, servers or clocks. Hosts hold repositories of manifests (by tag
//! and by digest), blobs and referrers; each host has the referrers API or not, and pages its
//! listings. A request can be made to fail (a 5xx, a body cut short, a 404, "no referrers
//! API"), and every request is logged.
//!
//! It keeps [`RegistryClient`](super::client::RegistryClient)'s promises, so that discovery
//! sees what it would see from a real registry: sizes are capped, digests are checked against
//! the bytes (a manifest stored under a digest it does not hash to is a lying registry, and is
//! refused with [`RegistryError::DigestMismatch`] as the client refuses it), a blob over its
//! cap is refused without a request, and a 404 on a repository's first referrers page is
//! remembered as "no referrers API".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use serde_json::json;

use super::client::{Endpoint, FetchedBlob, FetchedManifest, ReferrersPage};
use super::discovery::RegistryApi;
use super::error::RegistryError;
use crate::oci::{self, Manifest};
use crate::verify::descriptor::{Descriptor, Digest};

/// One request the fake was asked to answer (blobs refused for their size are never asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// A manifest by tag or digest.
    Manifest {
        /// host[:port].
        host: String,
        /// The repository.
        repository: String,
        /// The tag or digest.
        reference: String,
    },
    /// A blob.
    Blob {
        /// host[:port].
        host: String,
        /// The repository.
        repository: String,
        /// Its digest.
        digest: Digest,
    },
    /// A referrers page (0 for the first).
    Referrers {
        /// host[:port].
        host: String,
        /// The repository.
        repository: String,
        /// The subject.
        subject: Digest,
        /// The page number, from 0.
        page: usize,
    },
}

/// How a request fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The registry answers with this HTTP status (a 5xx: unavailable).
    Status(u16),
    /// The connection drops in the middle of the body.
    CutBody,
    /// A 404 for the manifest or blob.
    NotFound,
    /// The referrers endpoint answers as a registry without the API does.
    NoReferrersApi,
}

#[derive(Default)]
struct Repository {
    /// Tag → the digest the registry announces for it.
    tags: HashMap<String, Digest>,
    /// Digest (as text) → the bytes stored under it.
    manifests: HashMap<String, Vec<u8>>,
    blobs: HashMap<String, Vec<u8>>,
    /// Subject digest (as text) → its referrers, in listing order.
    referrers: HashMap<String, Vec<Descriptor>>,
}

struct Host {
    referrers_api: bool,
    page_size: usize,
    repositories: HashMap<String, Repository>,
}

#[derive(Default)]
struct State {
    hosts: HashMap<String, Host>,
    /// Faults per request, used up in order (`None`: for ever).
    faults: Vec<(Call, Fault, Option<usize>)>,
    calls: Vec<Call>,
    without_referrers_api: HashSet<(String, String)>,
}

/// The in-memory registry. Hosts are named as [`Endpoint::host`] names them.
#[derive(Default)]
pub(crate) struct FakeRegistry {
    state: Mutex<State>,
}

impl FakeRegistry {
    /// An empty registry with no hosts.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    fn with_repository<T>(
        &self,
        host: &str,
        repository: &str,
        f: impl FnOnce(&mut Repository) -> T,
    ) -> T {
        self.with_state(|s| {
            let host = s.hosts.entry(host.to_owned()).or_insert(Host {
                referrers_api: true,
                page_size: 100,
                repositories: HashMap::new(),
            });
            f(host.repositories.entry(repository.to_owned()).or_default())
        })
    }

    /// Adds a host (or changes one): with or without the referrers API, and how many
    /// referrers one page lists.
    pub fn host(&self, host: &str, referrers_api: bool, page_size: usize) {
        self.with_state(|s| {
            let h = s.hosts.entry(host.to_owned()).or_insert(Host {
                referrers_api,
                page_size,
                repositories: HashMap::new(),
            });
            h.referrers_api = referrers_api;
            h.page_size = page_size.max(1);
        });
    }

    /// Stores a manifest under its digest, and returns its descriptor.
    pub fn put_manifest(&self, host: &str, repository: &str, bytes: &[u8]) -> Descriptor {
        let digest = Digest::sha256_of(bytes);
        self.put_manifest_as(host, repository, &digest, bytes);
        descriptor_of(bytes, &digest)
    }

    /// Stores `bytes` under `digest`, whether or not they hash to it (a lying registry).
    pub fn put_manifest_as(&self, host: &str, repository: &str, digest: &Digest, bytes: &[u8]) {
        self.with_repository(host, repository, |r| {
            r.manifests
                .insert(digest.as_str().to_owned(), bytes.to_vec());
        });
    }

    /// Points `tag` at `digest` (the digest the registry announces for the tag).
    pub fn tag(&self, host: &str, repository: &str, tag: &str, digest: &Digest) {
        self.with_repository(host, repository, |r| {
            r.tags.insert(tag.to_owned(), digest.clone());
        });
    }

    /// Stores a blob under its digest, and returns the digest.
    pub fn put_blob(&self, host: &str, repository: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        self.put_blob_as(host, repository, &digest, bytes);
        digest
    }

    /// Stores `bytes` under `digest`, whether or not they hash to it.
    pub fn put_blob_as(&self, host: &str, repository: &str, digest: &Digest, bytes: &[u8]) {
        self.with_repository(host, repository, |r| {
            r.blobs.insert(digest.as_str().to_owned(), bytes.to_vec());
        });
    }

    /// Lists `entry` as a referrer of `subject` in the referrers API (after those listed
    /// before).
    pub fn add_referrer(&self, host: &str, repository: &str, subject: &Digest, entry: Descriptor) {
        self.with_repository(host, repository, |r| {
            r.referrers
                .entry(subject.as_str().to_owned())
                .or_default()
                .push(entry);
        });
    }

    /// Pushes a signature of `subject` with `envelope` as its JWS envelope (the blob and the
    /// signature manifest) without listing it. Returns its referrers entry and the envelope's
    /// descriptor.
    pub fn push_signature(
        &self,
        host: &str,
        repository: &str,
        subject: &Descriptor,
        envelope: &[u8],
    ) -> (Descriptor, Descriptor) {
        let envelope = Descriptor {
            media_type: JWS.to_owned(),
            digest: self.put_blob(host, repository, envelope),
            size: envelope.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        };
        let manifest = signature_manifest(subject, &envelope);
        let entry = signature_entry(&self.put_manifest(host, repository, &manifest));
        (entry, envelope)
    }

    /// [`FakeRegistry::push_signature`], listed in the referrers API. Returns the entry.
    pub fn add_signature(
        &self,
        host: &str,
        repository: &str,
        subject: &Descriptor,
        envelope: &[u8],
    ) -> Descriptor {
        let (entry, _) = self.push_signature(host, repository, subject, envelope);
        self.add_referrer(host, repository, &subject.digest, entry.clone());
        entry
    }

    /// The envelope descriptor of the signature manifest `entry` names (not a request).
    pub fn envelope(&self, host: &str, repository: &str, entry: &Descriptor) -> Descriptor {
        let bytes = self.with_state(|s| {
            s.hosts
                .get(host)
                .and_then(|h| h.repositories.get(repository))
                .and_then(|r| r.manifests.get(entry.digest.as_str()).cloned())
                .unwrap_or_default()
        });
        Manifest::parse(&bytes)
            .ok()
            .and_then(|m| m.layers.into_iter().next())
            .unwrap_or_else(|| panic!("{} is not a stored signature manifest", entry.digest))
    }

    /// Publishes `entries` in the referrers tag schema for `subject` (an index tagged
    /// `<alg>-<hex>`).
    pub fn put_tag_schema(
        &self,
        host: &str,
        repository: &str,
        subject: &Digest,
        entries: &[Descriptor],
    ) {
        let index = index_of(entries);
        let d = self.put_manifest(host, repository, &index);
        self.tag(host, repository, &oci::referrers_tag(subject), &d.digest);
    }

    /// Makes `call` fail with `fault`, the next `times` times (`None`: every time).
    pub fn fail(&self, call: Call, fault: Fault, times: Option<usize>) {
        self.with_state(|s| s.faults.push((call, fault, times)));
    }

    /// Marks `repository` at `host` as known to lack the referrers API.
    pub fn remember_without_referrers_api(&self, host: &str, repository: &str) {
        self.with_state(|s| {
            s.without_referrers_api
                .insert((host.to_owned(), repository.to_owned()));
        });
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.with_state(|s| s.calls.clone())
    }

    /// Logs `call` and returns the fault it must fail with, if any.
    fn request(&self, call: Call) -> Option<Fault> {
        self.with_state(|s| {
            s.calls.push(call.clone());
            let i = s
                .faults
                .iter()
                .position(|(c, _, times)| *c == call && times.is_none_or(|left| left > 0))?;
            let (_, fault, times) = &mut s.faults[i];
            if let Some(left) = times {
                *left -= 1;
            }
            Some(fault.clone())
        })
    }

    fn fault_error(
        fault: &Fault,
        ep: &Endpoint,
        url: &str,
        not_found: RegistryError,
    ) -> RegistryError {
        match fault {
            Fault::Status(status) => RegistryError::Status {
                method: "GET",
                url: url.to_owned(),
                status: *status,
                message: None,
            },
            Fault::CutBody => RegistryError::Network {
                host: ep.host.clone(),
                detail: format!("reading {url}: connection closed before message completed"),
            },
            Fault::NotFound | Fault::NoReferrersApi => not_found,
        }
    }

    fn manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        reference: &str,
        max: u64,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = url(ep, repository, &format!("manifests/{reference}"));
        let not_found = RegistryError::ManifestNotFound {
            reference: format!("{repository}:{reference}"),
            host: ep.host.clone(),
        };
        let call = Call::Manifest {
            host: ep.host.clone(),
            repository: repository.to_owned(),
            reference: reference.to_owned(),
        };
        if let Some(fault) = self.request(call) {
            return Err(Self::fault_error(&fault, ep, &url, not_found));
        }
        let asked = Digest::parse(reference).ok();
        let found = self.with_state(|s| {
            let r = s.hosts.get(&ep.host)?.repositories.get(repository)?;
            let key = match &asked {
                Some(d) => d.clone(),
                None => r.tags.get(reference)?.clone(),
            };
            Some((key.clone(), r.manifests.get(key.as_str())?.clone()))
        });
        let Some((digest, bytes)) = found else {
            return Err(not_found);
        };
        if bytes.len() as u64 > max {
            return Err(RegistryError::TooLarge { url, limit: max });
        }
        if !digest.matches(&bytes) {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: digest,
                computed: Digest::sha256_of(&bytes),
                source_of_expected: if asked.is_some() {
                    "the digest asked for"
                } else {
                    "Docker-Content-Digest"
                },
            });
        }
        let manifest = Manifest::parse(&bytes).map_err(|e| RegistryError::Protocol {
            url,
            detail: e.to_string(),
        })?;
        let media_type = manifest.effective_media_type().to_owned();
        Ok(FetchedManifest {
            bytes,
            digest,
            media_type,
            hold: Default::default(),
        })
    }

    fn blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = url(ep, repository, &format!("blobs/{digest}"));
        if size > max {
            return Err(RegistryError::TooLarge { url, limit: max });
        }
        let not_found = RegistryError::ManifestNotFound {
            reference: format!("{repository}@{digest} (blob)"),
            host: ep.host.clone(),
        };
        let call = Call::Blob {
            host: ep.host.clone(),
            repository: repository.to_owned(),
            digest: digest.clone(),
        };
        if let Some(fault) = self.request(call) {
            return Err(Self::fault_error(&fault, ep, &url, not_found));
        }
        let found = self.with_state(|s| {
            s.hosts
                .get(&ep.host)?
                .repositories
                .get(repository)?
                .blobs
                .get(digest.as_str())
                .cloned()
        });
        let Some(bytes) = found else {
            return Err(not_found);
        };
        // The client reads at most the descriptor's size.
        if bytes.len() as u64 > size {
            return Err(RegistryError::TooLarge { url, limit: size });
        }
        if bytes.len() as u64 != size {
            return Err(RegistryError::Protocol {
                url,
                detail: format!("blob is {} bytes, its descriptor says {size}", bytes.len()),
            });
        }
        if !digest.matches(&bytes) {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: digest.clone(),
                computed: Digest::sha256_of(&bytes),
                source_of_expected: "the descriptor",
            });
        }
        Ok(bytes)
    }

    fn referrers(
        &self,
        ep: &Endpoint,
        repository: &str,
        subject: &Digest,
        page_url: Option<&str>,
        max: u64,
    ) -> Result<Option<ReferrersPage>, RegistryError> {
        let base = url(ep, repository, &format!("referrers/{subject}"));
        let page = match page_url {
            None => 0,
            Some(u) => u
                .rsplit_once("&page=")
                .and_then(|(_, n)| n.parse().ok())
                .ok_or_else(|| RegistryError::Protocol {
                    url: u.to_owned(),
                    detail: "not a continuation link of this registry".into(),
                })?,
        };
        let call = Call::Referrers {
            host: ep.host.clone(),
            repository: repository.to_owned(),
            subject: subject.clone(),
            page,
        };
        let fault = self.request(call);
        let (api, page_size, all) = self.with_state(|s| match s.hosts.get(&ep.host) {
            Some(h) => (
                h.referrers_api,
                h.page_size,
                h.repositories
                    .get(repository)
                    .and_then(|r| r.referrers.get(subject.as_str()).cloned())
                    .unwrap_or_default(),
            ),
            None => (true, 100, Vec::new()),
        });
        match fault {
            Some(Fault::NoReferrersApi) => return Ok(None),
            Some(f) => {
                let not_found = RegistryError::RepositoryNotFound {
                    repository: repository.to_owned(),
                    host: ep.host.clone(),
                };
                return Err(Self::fault_error(&f, ep, &base, not_found));
            }
            None => {}
        }
        if !api {
            if page_url.is_none() {
                self.remember_without_referrers_api(&ep.host, repository);
            }
            return Ok(None);
        }
        let entries: Vec<Descriptor> = all
            .iter()
            .skip(page.saturating_mul(page_size))
            .take(page_size)
            .cloned()
            .collect();
        if index_of(&entries).len() as u64 > max {
            return Err(RegistryError::TooLarge {
                url: base,
                limit: max,
            });
        }
        let more = all.len() > (page + 1).saturating_mul(page_size);
        Ok(Some(ReferrersPage {
            entries,
            next: more.then(|| format!("{base}?artifactType=x&page={}", page + 1)),
        }))
    }
}

impl RegistryApi for FakeRegistry {
    fn fetch_manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        reference: &str,
        max: u64,
    ) -> impl Future<Output = Result<FetchedManifest, RegistryError>> + Send {
        std::future::ready(self.manifest(ep, repository, reference, max))
    }

    fn fetch_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> impl Future<Output = Result<FetchedBlob, RegistryError>> + Send {
        std::future::ready(
            self.blob(ep, repository, digest, size, max)
                .map(|bytes| FetchedBlob {
                    bytes,
                    hold: Default::default(),
                }),
        )
    }

    fn referrers_page(
        &self,
        ep: &Endpoint,
        repository: &str,
        subject: &Digest,
        _artifact_type: &str,
        page_url: Option<&str>,
        max: u64,
    ) -> impl Future<Output = Result<Option<ReferrersPage>, RegistryError>> + Send {
        std::future::ready(self.referrers(ep, repository, subject, page_url, max))
    }

    fn known_without_referrers_api(&self, ep: &Endpoint, repository: &str) -> bool {
        self.with_state(|s| {
            s.without_referrers_api
                .contains(&(ep.host.clone(), repository.to_owned()))
        })
    }
}

fn url(ep: &Endpoint, repository: &str, suffix: &str) -> String {
    format!(
        "{}://{}{}/{repository}/{suffix}",
        ep.scheme, ep.host, ep.path_prefix
    )
}

/// The JWS envelope media type.
pub const JWS: &str = "application/jose+json";

/// The descriptor of manifest `bytes` stored under `digest` (its media type as the document
/// declares it).
pub(crate) fn descriptor_of(bytes: &[u8], digest: &Digest) -> Descriptor {
    let media_type = Manifest::parse(bytes)
        .map(|m| m.effective_media_type().to_owned())
        .unwrap_or_else(|_| oci::MEDIA_TYPE_IMAGE_MANIFEST.to_owned());
    Descriptor {
        media_type,
        digest: digest.clone(),
        size: bytes.len() as u64,
        artifact_type: None,
        annotations: BTreeMap::new(),
        platform: None,
    }
}

/// An image manifest; `salt` makes distinct ones.
pub fn image_manifest(salt: &str) -> Vec<u8> {
    let config = format!("{{\"salt\":\"{salt}\"}}");
    json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_IMAGE_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": Digest::sha256_of(config.as_bytes()).as_str(),
            "size": config.len(),
        },
        "layers": [],
    })
    .to_string()
    .into_bytes()
}

/// An index listing `entries`.
pub(crate) fn index_of(entries: &[Descriptor]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_IMAGE_INDEX,
        "manifests": entries,
    })
    .to_string()
    .into_bytes()
}

/// A Notary signature manifest (artifactType form) of `subject` with `envelope` as its blob.
pub fn signature_manifest(subject: &Descriptor, envelope: &Descriptor) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_IMAGE_MANIFEST,
        "artifactType": oci::ARTIFACT_TYPE_NOTARY_SIGNATURE,
        "config": {
            "mediaType": oci::MEDIA_TYPE_EMPTY,
            "digest": Digest::sha256_of(b"{}").as_str(),
            "size": 2,
        },
        "layers": [envelope],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest.as_str(),
            "size": subject.size,
        },
    })
    .to_string()
    .into_bytes()
}

/// The referrers entry of a signature manifest.
pub(crate) fn signature_entry(manifest: &Descriptor) -> Descriptor {
    Descriptor {
        artifact_type: Some(oci::ARTIFACT_TYPE_NOTARY_SIGNATURE.to_owned()),
        ..manifest.clone()
    }
}
