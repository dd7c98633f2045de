//! Small helpers for talking to containerd's own API (not the CRI): shared by the CRI proxy
//! (which records tags through the images API) and `doctor` (which lists images).

/// A containerd API request in `namespace` (containerd reads it from the
/// `containerd-namespace` metadata key).
pub(crate) fn in_namespace<T>(namespace: &str, message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    if let Ok(v) = namespace.parse() {
        r.metadata_mut().insert("containerd-namespace", v);
    }
    r
}
