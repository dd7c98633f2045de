//! Reaching OCI registries the way containerd and notation do: hosts and mirrors from
//! containerd's hosts directory, credentials from docker's configuration, authentication,
//! TLS, deadlines and retries — and, on top, finding an artifact's signatures.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod discovery;
pub mod error;
