//! Generated gRPC code: notaryd's own API (`proto/notaryd/v1/verifier.proto`) and the CRI
//! ImageService subset the proxy reads (`proto/cri/image_service.proto`), built by `build.rs`.

/// `notaryd.v1`: the Verifier service and its messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod v1 {
    tonic::include_proto!("notaryd.v1");
}

/// `runtime.v1`: the CRI ImageService messages notaryd reads, and a client.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod cri {
    tonic::include_proto!("runtime.v1");
}
