//! The integration test binary.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used, missing_docs)]

#[path = "common/mod.rs"]
mod common;

#[path = "it/pki_smoke.rs"]
mod pki_smoke;

#[path = "it/jws.rs"]
mod jws;

#[path = "it/verifier.rs"]
mod verifier;

#[path = "it/robustness.rs"]
mod robustness;
