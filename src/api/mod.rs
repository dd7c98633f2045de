//! Generated gRPC code: notaryd's own API (`proto/notaryd/v1/verifier.proto`) and the CRI
//! ImageService subset the proxy reads (`proto/cri/image_service.proto`), built by `build.rs`;
//! the unix-socket channel and daemon client; and the `:authority` check every connection
//! accepted on a unix socket goes through ([`unix_authority`]).

pub mod unix_authority;

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

/// A gRPC channel over the unix socket at `socket` (the daemon's, the CRI proxy's or
/// containerd's). The URI's authority is `localhost`; the connector dials the socket.
pub async fn unix_channel(
    socket: &std::path::Path,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let path = socket.to_owned();
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
}

/// A client of the daemon's Verifier service on `socket`. The error says which socket could
/// not be reached and why, for a person to read.
pub async fn daemon_client(
    socket: &std::path::Path,
) -> Result<v1::verifier_client::VerifierClient<tonic::transport::Channel>, String> {
    let channel = unix_channel(socket).await.map_err(|e| {
        format!(
            "cannot reach the daemon at {}: {e}{}",
            socket.display(),
            std::error::Error::source(&e)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        )
    })?;
    Ok(v1::verifier_client::VerifierClient::new(channel))
}
