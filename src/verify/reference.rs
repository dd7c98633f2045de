//! Image references (`REGISTRY/REPOSITORY[:TAG][@DIGEST]`), parsed and normalised the way
//! containerd's CRI plugin does before it pulls.
//!
//! The grammar is distribution's (`github.com/distribution/reference`, `reference.go` and
//! `regexp.go`); the normalisation is its `ParseNormalizedNamed` followed by `TagNameOnly`
//! (`normalize.go`):
//!
//! - a reference whose first `/`-separated component has no `.` or `:`, is not `localhost` and
//!   is all lowercase has no registry, and gets `docker.io`;
//! - `index.docker.io` is the same registry as `docker.io`;
//! - a one-component repository on `docker.io` gets the `library/` namespace;
//! - a reference with neither tag nor digest gets the tag `latest`;
//! - a reference with both a tag and a digest keeps both; the digest decides what is pulled.
//!
//! Pure: no I/O. The trust policy's `registryScopes` are matched against [`Reference::scope`].
//!
//! Deliberate differences from distribution (each refuses input it would accept, never the
//! reverse):
//!
//! - A first component that contains `.` or `:` (so it *is* the registry) but is not a valid
//!   host is an error. distribution then reparses the whole string as a registry-less path, so
//!   `a_b.c/foo` becomes a reference with *no* registry, which CRI cannot pull either.
//! - The whole input is capped at [`MAX_REFERENCE_LEN`] bytes (distribution caps only the
//!   repository path).
//! - Digests must use an algorithm containerd can verify (`sha256`, `sha384`, `sha512`) with
//!   lowercase hex of the right length; this is also what go-digest's `Parse` requires, so it is
//!   a difference only in the error, not in what is accepted.

use std::fmt;

use crate::descriptor::Digest;
pub use crate::names::is_valid_registry;
use crate::names::path_component;

/// Docker Hub's registry name in normalised references.
pub const DOCKER_HUB: &str = "docker.io";

/// The legacy name of Docker Hub, normalised to [`DOCKER_HUB`].
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";

/// The host that actually serves Docker Hub's registry API. containerd contacts it for
/// `docker.io` (`ConfigureHosts` in `core/remotes/docker/config/hosts.go`).
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The namespace of Docker Hub's official images.
const OFFICIAL_NAMESPACE: &str = "library/";

/// The tag given to a reference with neither tag nor digest (distribution `defaultTag`).
pub const DEFAULT_TAG: &str = "latest";

/// Longest repository path (the part after the registry), in bytes. distribution's
/// `RepositoryNameTotalLengthMax` is 255 and it applies to the path, after `library/` is added.
/// The OCI distribution spec notes that many clients cap `registry/name` at 255 together;
/// containerd does not, so neither do we.
pub const MAX_REPOSITORY_LEN: usize = 255;

/// Longest tag, in characters. The tag grammar `[\w][\w.-]{0,127}` (distribution `regexp.go`,
/// OCI distribution spec) allows 128.
pub const MAX_TAG_LEN: usize = 128;

/// Longest reference accepted, in bytes, checked before anything else. A valid reference is at
/// most about 780 bytes: a 253-byte DNS name and a port, a 255-byte path, a 128-byte tag and a
/// sha512 digest (135 bytes) with their separators. distribution has no overall cap.
pub const MAX_REFERENCE_LEN: usize = 1024;

/// Longest part of a rejected reference quoted in an error.
const MAX_QUOTED: usize = 256;

/// A normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {kind}")]
pub struct ReferenceError {
    /// The rejected text (at most 256 characters of it).
    pub input: String,
    /// What is wrong with it.
    pub kind: ReferenceErrorKind,
}

/// What is wrong with a rejected reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceErrorKind {
    /// The input is empty.
    #[error("it is empty")]
    Empty,
    /// The input is longer than [`MAX_REFERENCE_LEN`].
    #[error("it is {len} bytes long, more than the limit of {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input is a bare 64-character hex identifier, which distribution refuses as a name
    /// because it reads as an image ID.
    #[error("a 64-character hex string is an image ID, not a repository name")]
    Identifier,
    /// The registry part is not a host name, IPv4 address or bracketed IPv6 address with an
    /// optional port.
    #[error("registry {registry:?} is not a valid host[:port]")]
    InvalidRegistry {
        /// The registry part.
        registry: String,
    },
    /// The repository has uppercase letters; repository names must be lowercase.
    #[error("repository {repository:?} must be lowercase")]
    UppercaseRepository {
        /// The repository part.
        repository: String,
    },
    /// The repository is empty or one of its `/`-separated components is not
    /// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
    #[error("repository {repository:?} is not valid: {reason}")]
    InvalidRepository {
        /// The repository part.
        repository: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The repository path is longer than [`MAX_REPOSITORY_LEN`].
    #[error("repository is {len} characters long, more than the limit of {max}")]
    RepositoryTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The tag does not match `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("tag {tag:?} is not valid (want [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")]
    InvalidTag {
        /// The tag part.
        tag: String,
    },
    /// The digest is malformed or uses an algorithm containerd cannot verify.
    #[error("digest {digest:?} is not valid: {reason}")]
    InvalidDigest {
        /// The digest part.
        digest: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl Reference {
    /// Parses and normalises an image reference.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let err = |kind| ReferenceError {
            input: quote(input),
            kind,
        };
        if input.is_empty() {
            return Err(err(ReferenceErrorKind::Empty));
        }
        if input.len() > MAX_REFERENCE_LEN {
            return Err(err(ReferenceErrorKind::TooLong {
                len: input.len(),
                max: MAX_REFERENCE_LEN,
            }));
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err(ReferenceErrorKind::Identifier));
        }

        let (registry, remainder) = split_registry(input);
        if !is_valid_registry(registry) {
            return Err(err(ReferenceErrorKind::InvalidRegistry {
                registry: quote(registry),
            }));
        }

        // Neither a path nor a tag can hold '@', and a path cannot hold ':', so the first '@'
        // starts the digest and the first ':' before it starts the tag.
        let (name_and_tag, digest) = match remainder.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (remainder, None),
        };
        let (path, tag) = match name_and_tag.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (name_and_tag, None),
        };

        let mut repository = String::with_capacity(path.len() + OFFICIAL_NAMESPACE.len());
        if registry == DOCKER_HUB && !path.contains('/') {
            repository.push_str(OFFICIAL_NAMESPACE);
        }
        repository.push_str(path);
        check_repository(&repository).map_err(err)?;

        let tag = match tag {
            Some(t) if is_valid_tag(t) => Some(t.to_owned()),
            Some(t) => return Err(err(ReferenceErrorKind::InvalidTag { tag: quote(t) })),
            None => None,
        };
        let digest = digest.map(parse_digest).transpose().map_err(err)?;
        let tag = match (&tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            _ => tag,
        };

        Ok(Self {
            registry: registry.to_owned(),
            repository,
            tag,
            digest,
        })
    }

    /// The normalised registry, with its port if it has one: `docker.io`, `ghcr.io`,
    /// `localhost:5000`, `[::1]:5000`. Case is kept as written, as distribution does.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry, e.g. `library/ubuntu`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag: the one given, `latest` when neither a tag nor a digest was given, or `None`
    /// when only a digest was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, when the reference names one. It decides what is resolved, even when a
    /// tag is also present.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`: what trust-policy `registryScopes` are matched against.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host contacted when no hosts configuration says otherwise: `registry-1.docker.io`
    /// for `docker.io`, otherwise the registry itself.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }
}

/// The host that serves a registry's API when no hosts configuration says otherwise:
/// `registry-1.docker.io` for `docker.io`, otherwise `registry` itself.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

impl fmt::Display for Reference {
    /// The canonical normalised form: `registry/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Splits the registry off `input`, as distribution's `splitDockerDomain` does; the remainder
/// is `path[:tag][@digest]`.
fn split_registry(input: &str) -> (&str, &str) {
    let Some((first, rest)) = input.split_once('/') else {
        // A single component ("ubuntu", "ubuntu:22.04", even "localhost:5000", which reads
        // as the image "localhost" with tag "5000") is always a Docker Hub name.
        return (DOCKER_HUB, input);
    };
    if first == "localhost"
        || first.contains(['.', ':'])
        || first.bytes().any(|b| b.is_ascii_uppercase())
    {
        if first == DOCKER_HUB_LEGACY {
            (DOCKER_HUB, rest)
        } else {
            (first, rest)
        }
    } else {
        (DOCKER_HUB, input)
    }
}

fn check_repository(repository: &str) -> Result<(), ReferenceErrorKind> {
    let invalid = |reason| ReferenceErrorKind::InvalidRepository {
        repository: quote(repository),
        reason,
    };
    if repository.is_empty() {
        return Err(invalid("it is empty"));
    }
    let lowered = repository.to_ascii_lowercase();
    if lowered != repository && lowered.split('/').all(|c| path_component(c).is_ok()) {
        return Err(ReferenceErrorKind::UppercaseRepository {
            repository: quote(repository),
        });
    }
    for component in repository.split('/') {
        path_component(component).map_err(invalid)?;
    }
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(ReferenceErrorKind::RepositoryTooLong {
            len: repository.len(),
            max: MAX_REPOSITORY_LEN,
        });
    }
    Ok(())
}

fn is_valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    match b.first() {
        Some(&first) => {
            word(first)
                && b.len() <= MAX_TAG_LEN
                && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
        }
        None => false,
    }
}

fn parse_digest(text: &str) -> Result<Digest, ReferenceErrorKind> {
    let invalid = |reason| ReferenceErrorKind::InvalidDigest {
        digest: quote(text),
        reason,
    };
    let digest = Digest::parse(text).map_err(|e| invalid(e.reason))?;
    let hex_len = match digest.algorithm() {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(invalid("the algorithm is not sha256, sha384 or sha512")),
    };
    let enc = digest.encoded();
    if enc.len() != hex_len || !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid(
            "the encoded part is not lowercase hex of the algorithm's length",
        ));
    }
    Ok(digest)
}

fn quote(s: &str) -> String {
    s.chars().take(MAX_QUOTED).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D256: &str = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    #[test]
    fn normalises_like_containerd() {
        let d = D256;
        let cases: &[(&str, &str)] = &[
            ("ubuntu", "docker.io/library/ubuntu:latest"),
            ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
            ("library/ubuntu", "docker.io/library/ubuntu:latest"),
            ("docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
            (
                "docker.io/library/ubuntu",
                "docker.io/library/ubuntu:latest",
            ),
            ("index.docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
            ("index.docker.io/foo/bar:v1", "docker.io/foo/bar:v1"),
            ("foo/bar", "docker.io/foo/bar:latest"),
            ("foo/bar/baz", "docker.io/foo/bar/baz:latest"),
            ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1"),
            ("ghcr.io/app", "ghcr.io/app:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
            ("[::1]:5000/app:t", "[::1]:5000/app:t"),
            ("[fe80::1]/app", "[fe80::1]/app:latest"),
            ("registry:5000/app", "registry:5000/app:latest"),
            ("Registry.Example/app", "Registry.Example/app:latest"),
            ("UPPER/app", "UPPER/app:latest"),
            // A single component is a Docker Hub name, even when it looks like host:port.
            ("localhost:5000", "docker.io/library/localhost:5000"),
            ("a-b__c---d/e_f.g", "docker.io/a-b__c---d/e_f.g:latest"),
            (
                "ubuntu:Latest_1.0-rc",
                "docker.io/library/ubuntu:Latest_1.0-rc",
            ),
            ("ubuntu:_x", "docker.io/library/ubuntu:_x"),
        ];
        for (input, want) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), *want, "{input}");
            // The canonical form is a fixed point.
            assert_eq!(Reference::parse(&r.to_string()).unwrap(), r, "{input}");
        }

        let r = Reference::parse(&format!("ubuntu@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/ubuntu@{d}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().as_str(), d);

        let r = Reference::parse(&format!("quay.io/a/b:v2@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("quay.io/a/b:v2@{d}"));
        assert_eq!(r.tag(), Some("v2"));
        assert_eq!(r.digest().unwrap().as_str(), d);
    }

    #[test]
    fn accessors() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/nginx");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.scope(), "docker.io/library/nginx");
        assert_eq!(r.api_host(), "registry-1.docker.io");

        let r: Reference = "localhost:5000/team/app:1".parse().unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.scope(), "localhost:5000/team/app");
        assert_eq!(r.api_host(), "localhost:5000");

        let sha512 = format!("sha512:{}", "ab".repeat(64));
        let sha384 = format!("sha384:{}", "cd".repeat(48));
        for d in [sha512, sha384] {
            let r = Reference::parse(&format!("r.example/x@{d}")).unwrap();
            assert_eq!(r.digest().unwrap().as_str(), d);
        }
    }

    #[test]
    fn rejects() {
        use ReferenceErrorKind as K;
        let long_path = "a".repeat(256);
        let path_255 = "a".repeat(255);
        let hub_248 = "a".repeat(248); // "library/" makes it 256
        let long_tag = "t".repeat(129);
        let tag_128 = "t".repeat(128);
        let id = "0123456789abcdef".repeat(4);
        let too_long = format!("r.example/{}", "a/".repeat(600));
        type Check = fn(&K) -> bool;
        let cases: Vec<(String, Check)> = vec![
            ("".into(), |k| matches!(k, K::Empty)),
            (too_long, |k| matches!(k, K::TooLong { .. })),
            (id.clone(), |k| matches!(k, K::Identifier)),
            ("Ubuntu".into(), |k| {
                matches!(k, K::UppercaseRepository { .. })
            }),
            ("ghcr.io/Org/app".into(), |k| {
                matches!(k, K::UppercaseRepository { .. })
            }),
            ("foo/Bar".into(), |k| {
                matches!(k, K::UppercaseRepository { .. })
            }),
            ("ghcr.io/".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io//app".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/app/".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/../app".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a/../b".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a..b".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a___b".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a.-b".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/-a".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a-".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/a b".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("ghcr.io/é".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            (":tag".into(), |k| matches!(k, K::InvalidRepository { .. })),
            ("@sha256:abc".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            (format!("r.example/{long_path}"), |k| {
                matches!(k, K::RepositoryTooLong { len: 256, .. })
            }),
            (hub_248, |k| {
                matches!(k, K::RepositoryTooLong { len: 256, .. })
            }),
            ("ubuntu:".into(), |k| matches!(k, K::InvalidTag { .. })),
            ("ubuntu:-x".into(), |k| matches!(k, K::InvalidTag { .. })),
            ("ubuntu:.x".into(), |k| matches!(k, K::InvalidTag { .. })),
            ("ubuntu:a:b".into(), |k| matches!(k, K::InvalidTag { .. })),
            ("ubuntu:a+b".into(), |k| matches!(k, K::InvalidTag { .. })),
            (format!("ubuntu:{long_tag}"), |k| {
                matches!(k, K::InvalidTag { .. })
            }),
            ("ubuntu@".into(), |k| matches!(k, K::InvalidDigest { .. })),
            ("ubuntu@sha256:abc".into(), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            (format!("ubuntu@sha256:{}", "A".repeat(64)), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            (format!("ubuntu@SHA256:{}", "a".repeat(64)), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            (format!("ubuntu@md5:{}", "a".repeat(32)), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            (format!("ubuntu@sha384:{}", "a".repeat(64)), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            (format!("ubuntu@{D256}@{D256}"), |k| {
                matches!(k, K::InvalidDigest { .. })
            }),
            ("a_b.c/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("-a.b/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("a..b/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("host:/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("host:50a/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("foo:bar/baz".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("[::1/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("[]/foo".into(), |k| {
                matches!(k, K::InvalidRepository { .. })
            }),
            ("[::1]x/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("[g::1]/foo".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
            ("https://ghcr.io/a".into(), |k| {
                matches!(k, K::InvalidRegistry { .. })
            }),
        ];
        for (input, want) in &cases {
            match Reference::parse(input) {
                Ok(r) => panic!("{input:?} was accepted as {r}"),
                Err(e) => {
                    assert!(want(&e.kind), "{input:?}: unexpected {e}");
                    assert!(e.input.len() <= MAX_QUOTED * 4);
                    assert!(e.to_string().contains("invalid image reference"), "{e}");
                }
            }
        }

        // The limits themselves are accepted.
        Reference::parse(&format!("r.example/{path_255}")).unwrap();
        Reference::parse(&format!("ubuntu:{tag_128}")).unwrap();
        // The identifier rule only applies to the whole input.
        Reference::parse(&format!("r.example/{id}")).unwrap();
    }

    #[test]
    fn errors_name_the_input_and_the_problem() {
        let e = Reference::parse("ghcr.io/Org/app:v1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid image reference \"ghcr.io/Org/app:v1\": repository \"Org/app\" must be lowercase"
        );
        let e = Reference::parse("ubuntu:-x").unwrap_err();
        assert!(e.to_string().contains("tag \"-x\""), "{e}");
        let big = "x".repeat(MAX_REFERENCE_LEN + 1);
        let e = Reference::parse(&big).unwrap_err();
        assert!(e.to_string().len() < 400, "{e}");
    }

    #[test]
    fn registry_grammar() {
        for ok in [
            "a",
            "a.b",
            "a-b.c",
            "1.2.3.4",
            "a:1",
            "A.B:65535",
            "[::1]",
            "[::1]:5000",
            "[FE80::1]:1",
        ] {
            assert!(is_valid_registry(ok), "{ok}");
        }
        for bad in [
            "", "a.", ".a", "a-", "-a", "a_b", "a:", "a:b", ":1", "[]", "[::1", "[x]", "a/b",
            "a:1:2",
        ] {
            assert!(!is_valid_registry(bad), "{bad}");
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A cheap deterministic sweep over short strings from the interesting alphabet.
        let alphabet = ['a', 'A', '0', '.', '_', '-', ':', '/', '@', '[', ']', 'é'];
        let mut buf = String::new();
        fn walk(buf: &mut String, alphabet: &[char], depth: usize) {
            let _ = Reference::parse(buf);
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                buf.push(c);
                walk(buf, alphabet, depth - 1);
                buf.pop();
            }
        }
        walk(&mut buf, &alphabet, 4);
    }
}
