//! notaryd: node-side enforcement of Notary Project signatures on container images.
//!
//! The crate is layered. [`verify`] is the pure verification core: it does no I/O, reads no
//! clock and holds no global state; everything else depends on it and never the reverse.
//! [`oci`] parses manifests and [`reference`](mod@reference) image references (both pure); [`layout`] and
//! [`notation_config`] read from disk; [`registry`] holds what reaching a registry needs
//! (containerd's hosts directory, docker's credentials); [`cli`] and [`clock`] sit at the
//! edge.

pub mod api;
pub mod bundle;
pub mod cli;
pub mod clock;
pub mod config;
pub mod containerd;
pub mod cri;
pub mod daemon;
pub mod doctor;
pub mod layout;
pub mod notation_config;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod report;
pub mod verify;
