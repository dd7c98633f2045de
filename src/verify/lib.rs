//! The verification core: Notary Project signature verification with no I/O, no async and no
//! clock reads. Time is always a parameter.
//!
//! A crate of its own (`notaryd-verify`, sources in `src/verify/`) so that what it cannot use
//! is a fact of its Cargo.toml: no async runtime, network, HTTP, gRPC or process crate is a
//! dependency, and `lints/verify/clippy.toml` forbids std's file system, network, environment
//! and clock calls. The `notaryd` crate re-exports it as `notaryd::verify` (with `notaryd::oci` and
//! `notaryd::reference`).
//!
//! Where to start: [`verifier::Verifier`] runs the Notary Project verification workflow on
//! bytes the caller fetched, under a [`policy::TrustPolicy`], the [`trust_store`] and a
//! [`revocation`] snapshot, at a given time; it returns [`verifier::Verified`] (constructible
//! only here, the only thing that lets a pull go ahead) or [`verifier::Rejected`]. [`oci`] and
//! [`reference`] parse manifests and image references; [`limits`] holds every size bound on
//! untrusted input. The primitives the workflow is made of ([`envelope`], [`chain`],
//! [`timestamp`], [`dn`], [`payload`], [`crypto`], [`x509`], [`json`], [`der_time`]) are
//! public for the conformance tests and fuzz targets that exercise each on its own; the OID
//! table and the registry-name grammar are private.

// The workspace denies `unsafe` (the daemon allows it for one glibc call); the core forbids it.
#![forbid(unsafe_code)]

pub mod chain;
pub mod crypto;
pub mod der_time;
pub mod descriptor;
pub mod dn;
pub mod envelope;
pub mod json;
pub mod limits;
mod names;
pub mod oci;
mod oid;
pub mod payload;
pub mod policy;
pub mod reference;
pub mod revocation;
pub mod time;
pub mod timestamp;
pub mod trust_store;
pub mod verifier;
pub mod x509;
