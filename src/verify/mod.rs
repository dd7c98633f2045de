//! The verification core: Notary Project signature verification with no I/O, no async and no
//! clock reads. Time is always a parameter.

pub mod chain;
pub mod crypto;
pub mod descriptor;
pub mod dn;
pub mod envelope;
pub mod json;
pub mod limits;
pub mod names;
pub mod oid;
pub mod payload;
pub mod policy;
pub mod revocation;
pub mod time;
pub mod timestamp;
pub mod trust_store;
pub mod verifier;
pub mod x509;
