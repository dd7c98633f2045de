//! The verification core: Notary Project signature verification with no I/O, no async and no
//! clock reads. Time is always a parameter.

pub mod chain;
pub mod crypto;
pub mod descriptor;
pub mod limits;
pub mod oid;
pub mod time;
pub mod timestamp;
pub mod x509;
