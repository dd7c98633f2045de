//! Generates the gRPC code of notaryd's own API (`proto/notaryd/v1/verifier.proto`, client and
//! server) and of the CRI ImageService subset it reads (`proto/cri/image_service.proto`,
//! messages and a client), with protoc from PATH or `$PROTOC` (Debian: `protobuf-compiler`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/notaryd/v1/verifier.proto");
    println!("cargo:rerun-if-changed=proto/cri/image_service.proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/notaryd/v1/verifier.proto"], &["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_protos(&["proto/cri/image_service.proto"], &["proto"])?;
    Ok(())
}
