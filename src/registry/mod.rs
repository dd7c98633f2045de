//! What reaching a registry needs before the first request: where to connect and how
//! (containerd's hosts directory, [`hosts`]) and with which credentials (docker's
//! `config.json`, credential helpers, or credentials given on the command line,
//! [`credentials`]).
//!
//! Both modules read local configuration only and make no network requests; the HTTP client
//! that uses them lives beside them.

pub mod credentials;
pub mod hosts;
