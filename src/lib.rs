//! notaryd: node-side enforcement of Notary Project signatures on container images.
//!
//! The crate is layered; docs/architecture.md draws the layers and which module may use
//! which, and `tests/it/architecture.rs` fails on an import cycle between these modules.
//! [`verify`], [`oci`] and [`reference`](mod@reference) are the pure core, the workspace
//! crate `notaryd-verify` (its own Cargo.toml in src/verify/) re-exported here under the
//! paths it had when it was part of this crate: no I/O, no async, no clock read, no global
//! state; its Cargo.toml has no async, network or gRPC crate to use, and everything else
//! depends on it, never the reverse.
//! [`clock`] is the only clock read. [`registry`] reaches registries (hosts.toml, credentials,
//! token auth, signature discovery); [`layout`], [`notation_config`] and [`bundle`] read from
//! disk; `report` renders verdicts; [`api`] and `containerd` hold the gRPC code and
//! containerd helpers; [`config`] is the daemon's configuration; `service` is the use case
//! every adapter calls (the decision, its cache, single flight and audit record); [`daemon`]
//! serves it over gRPC and starts the CRI proxy [`cri`], which calls it too; [`doctor`] and
//! [`cli`] are the command line's. `report`, `containerd` and `service` are crate-private:
//! the binaries, tests, benches and fuzz targets reach them only through the adapters; an
//! item is `pub` only when one of those uses it or it is a documented limit.

pub mod api;
pub mod bindir;
pub mod bundle;
pub mod cli;
pub mod clock;
pub mod config;
pub(crate) mod containerd;
pub mod cri;
pub mod daemon;
pub mod doctor;
pub mod layout;
pub mod notation_config;
pub mod registry;
pub(crate) mod report;
pub(crate) mod service;

pub use notaryd_verify as verify;
pub use notaryd_verify::{oci, reference};
