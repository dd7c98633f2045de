//! Generates the gRPC code of `proto/notaryd/v1/verifier.proto` (client and server) with
//! protoc from PATH or `$PROTOC` (Debian: `protobuf-compiler`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/notaryd/v1/verifier.proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/notaryd/v1/verifier.proto"], &["proto"])?;
    Ok(())
}
