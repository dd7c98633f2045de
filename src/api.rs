//! The gRPC API of the resident verifier (`proto/notaryd/v1/verifier.proto`), generated at
//! build time by `build.rs`.

/// `notaryd.v1`: the Verifier service and its messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod v1 {
    tonic::include_proto!("notaryd.v1");
}
