//! TEMPORARY compile stand-in until the reg-config branch merges (it replaces this file).
#![allow(missing_docs)]

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic { username: String, password: String },
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(pub String);

pub trait CredentialSource: Send + Sync {
    fn credential(&self, registry_host: &str) -> Result<Option<Credential>, CredentialError>;
}

pub struct StaticCredentials(pub Option<Credential>);

impl CredentialSource for StaticCredentials {
    fn credential(&self, _: &str) -> Result<Option<Credential>, CredentialError> {
        Ok(self.0.clone())
    }
}
