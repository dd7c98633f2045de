//! The integration test binary.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::result_large_err,
    missing_docs
)]

#[path = "common/mod.rs"]
mod common;

#[path = "it/architecture.rs"]
mod architecture;

#[path = "it/pki_smoke.rs"]
mod pki_smoke;

#[path = "it/jws.rs"]
mod jws;

#[path = "it/verifier.rs"]
mod verifier;

#[path = "it/conformance.rs"]
mod conformance;

#[path = "it/cose.rs"]
mod cose;

#[path = "it/crl.rs"]
mod crl;

#[path = "it/policy_vectors.rs"]
mod policy_vectors;

#[path = "it/timestamp_tokens.rs"]
mod timestamp_tokens;

#[path = "it/timestamp_vectors.rs"]
mod timestamp_vectors;

#[path = "it/bundle_format.rs"]
mod bundle_format;

#[path = "it/daemon.rs"]
mod daemon;

#[path = "it/grpc_clients.rs"]
mod grpc_clients;

#[path = "it/cli.rs"]
mod cli;

#[path = "it/revocation_set.rs"]
mod revocation_set;

#[path = "it/robustness.rs"]
mod robustness;

#[path = "it/registry_harness.rs"]
mod registry_harness;

#[path = "it/registry_e2e.rs"]
mod registry_e2e;

#[path = "it/registry_cli.rs"]
mod registry_cli;

#[path = "it/registry_referrers.rs"]
mod registry_referrers;

#[path = "it/registry_faults.rs"]
mod registry_faults;

#[path = "it/faults.rs"]
mod faults;

#[path = "it/ocsp.rs"]
mod ocsp;

#[path = "it/bundle_cli.rs"]
mod bundle_cli;

#[path = "it/containerd_e2e.rs"]
mod containerd_e2e;

#[path = "it/containerd_harness.rs"]
mod containerd_harness;

#[path = "it/vectors_helper.rs"]
mod vectors_helper;
