//! Test helpers shared by the integration tests, the benchmarks and the example generator:
//! a PKI made at test time (`pki`), a CRL builder (`crl`), test-only signers for JWS and COSE
//! envelopes, a test RFC 3161 timestamp authority (`tsa`), a test OCSP response writer
//! (`ocsp`) and a real `openssl ocsp` responder (`openssl_ocsp`), an OCI layout writer, a real
//! registry with push helpers (`registry`), an in-memory distribution server with the
//! referrers API and fault injection (`fixture_registry`), a fixture HTTP file server for CRL
//! distribution points (`fixture_http`), the hyper server under those fixtures and the token
//! server (`http_server`), the real daemon (`daemon`), and a real containerd 1.6 or
//! 2.1 with CRI (`containerd`), the shared vectors' folder (`vectors`), and coverage lines kept
//! for scripts/test.sh (`report`).
#![allow(dead_code)]

pub mod containerd;
pub mod cose;
pub mod crl;
pub mod daemon;
pub mod fixture_fault_proxy;
pub mod fixture_http;
pub mod fixture_registry;
pub mod http_server;
pub mod jws;
pub mod layout;
pub mod ocsp;
pub mod openssl_ocsp;
pub mod pki;
pub mod registry;
pub mod report;
pub mod tsa;
pub mod vectors;
