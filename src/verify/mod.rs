//! The verification core: Notary Project signature verification with no I/O, no async and no
//! clock reads. Time is always a parameter.

pub mod dn;
pub mod policy;
