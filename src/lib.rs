//! notaryd: node-side enforcement of Notary Project signatures on container images.
//!
//! The crate is layered. [`verify`] is the pure verification core: it does no I/O, reads no
//! clock and holds no global state; everything else depends on it and never the reverse.

pub mod verify;
