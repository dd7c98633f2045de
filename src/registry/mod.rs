//! Reaching OCI registries the way containerd and notation do, and finding an artifact's
//! signatures there.
//!
//! - Before the first request: where to connect and how (containerd's hosts directory,
//!   [`hosts`]) and with which credentials (docker's `config.json`, credential helpers, or
//!   credentials given on the command line, [`credentials`]). Local configuration only.
//! - The HTTP side: authentication ([`auth`]), TLS, deadlines, retries and content checks
//!   ([`client`]), and signature discovery feeding the verification core ([`discovery`]).

pub mod auth;
pub mod budget;
pub mod client;
pub mod credentials;
pub mod discovery;
pub mod endpoints;
pub mod error;
#[cfg(test)]
pub(crate) mod fake;
pub mod hosts;
