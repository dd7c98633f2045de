//! Test helpers shared by the integration tests, the benchmarks and the example generator:
//! a PKI made at test time and test-only signers for JWS and COSE envelopes.
#![allow(dead_code)]

pub mod cose;
pub mod pki;
