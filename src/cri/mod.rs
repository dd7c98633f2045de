//! The CRI ImageService proxy: kubelet's `imageServiceEndpoint` points here, and every call
//! goes on to containerd's CRI socket — `PullImage` only after the image is verified.
//!
//! A pull of `REPO:TAG` is verified (with the pod's namespace for a namespace policy, and the
//! pull credentials kubelet sends), then forwarded as `REPO@DIGEST` of exactly what was
//! verified, so a tag moved meanwhile changes nothing; once containerd has pulled it, the tag
//! is made to point at that digest in containerd's image store (images API, namespace
//! `k8s.io`), as containerd's own pull by tag would have, so that `ImageStatus` and
//! `ListImages` by tag find it and kubelet does not pull again. A refused pull is a gRPC
//! error naming the image and the failing check: kubelet shows it as the pod's
//! `ErrImagePull` event. In audit mode the pull goes on unchanged and "would deny" is logged.
//!
//! Every other call (and any other service on the socket) is forwarded as bytes — HTTP/2
//! streams, headers, messages and trailers as they are — so no field of any CRI version is
//! lost.

pub mod wire;

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{UnixListener, UnixStream};
use tonic::Code;

use crate::reference::Reference;
use crate::registry::credentials::Credential;
use crate::service::decider::{Decider, DecisionRequest, check_namespace, check_reference};
use crate::service::{Fault, Outcome};
use crate::verify::descriptor::Descriptor;

/// The services forwarded: kubelet's image service, in both CRI versions containerd 1.6 and
/// 1.7 serve. Nothing else is: the socket behind is containerd's own, whose other services
/// (containerd's API, the CRI runtime service) would give a caller root's power over the node.
pub(crate) const IMAGE_SERVICES: [&str; 2] = [
    "/runtime.v1.ImageService/",
    "/runtime.v1alpha2.ImageService/",
];
/// The method verified before it is forwarded (in each of [`IMAGE_SERVICES`]; the messages
/// of both versions are the same on the wire).
pub(crate) const PULL_IMAGE_METHOD: &str = "PullImage";
/// How much of a call that is not forwarded is read before it is refused, and for how long.
const UNFORWARDED_REQUEST_BYTES: usize = 64 * 1024;
const UNFORWARDED_REQUEST_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// The label containerd's CRI puts on the images it manages.
pub(crate) const CRI_MANAGED_LABEL: &str = "io.cri-containerd.image";

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// What a refused pull does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CriMode {
    /// Refused pulls fail.
    Enforce,
    /// Refused pulls go on; "would deny" is logged.
    Audit,
}

/// The proxy's settings.
#[derive(Clone, Debug)]
pub struct CriProxyConfig {
    /// containerd's socket (CRI and the images API).
    pub containerd_socket: PathBuf,
    /// containerd namespace of CRI's images.
    pub namespace: String,
    /// Enforce or audit.
    pub mode: CriMode,
}

/// An HTTP/2 connection to containerd, made on first use and again after it breaks.
struct Upstream {
    path: PathBuf,
    sender: tokio::sync::Mutex<Option<hyper::client::conn::http2::SendRequest<ProxyBody>>>,
}

impl Upstream {
    async fn sender(&self) -> std::io::Result<hyper::client::conn::http2::SendRequest<ProxyBody>> {
        let mut guard = self.sender.lock().await;
        if let Some(s) = guard.as_ref()
            && !s.is_closed()
        {
            return Ok(s.clone());
        }
        let stream = UnixStream::connect(&self.path).await?;
        let (sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "containerd connection ended");
            }
        });
        *guard = Some(sender.clone());
        Ok(sender)
    }
}

/// The proxy.
pub struct CriProxy {
    /// The use case asked for every pull: the daemon's own, shared with its gRPC service.
    decider: Arc<Decider>,
    upstream: Upstream,
    /// A channel to containerd's images API, made on first use (tonic reconnects it).
    images: tokio::sync::OnceCell<tonic::transport::Channel>,
    config: CriProxyConfig,
}

fn empty() -> ProxyBody {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn full(bytes: Vec<u8>) -> ProxyBody {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed()
}

/// gRPC's percent-encoding of `grpc-message`.
fn grpc_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A trailers-only gRPC error response.
fn grpc_error(code: Code, message: &str) -> Response<ProxyBody> {
    let mut r = Response::new(empty());
    let h = r.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/grpc"),
    );
    h.insert("grpc-status", hyper::header::HeaderValue::from(code as i32));
    if let Ok(v) = hyper::header::HeaderValue::from_str(&grpc_message(message)) {
        h.insert("grpc-message", v);
    }
    r
}

/// The gRPC status of a collected response: trailers, else headers (trailers-only).
fn status_of(headers: &hyper::HeaderMap, trailers: Option<&hyper::HeaderMap>) -> Option<i32> {
    trailers
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| headers.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
}

impl CriProxy {
    /// A proxy asking `decider` and forwarding to containerd.
    pub fn new(decider: Arc<Decider>, config: CriProxyConfig) -> Self {
        Self {
            decider,
            upstream: Upstream {
                path: config.containerd_socket.clone(),
                sender: tokio::sync::Mutex::new(None),
            },
            images: tokio::sync::OnceCell::new(),
            config,
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<ProxyBody> {
        let path = req.uri().path();
        let Some(method) = IMAGE_SERVICES
            .iter()
            .find_map(|service| path.strip_prefix(service))
        else {
            // Read the request before answering: a reply sent while the client is still sending
            // ends the stream with RST_STREAM, which some clients (curl) report as a framing
            // error instead of the answer. Bounded in size and time; its errors do not matter.
            let message = format!(
                "notaryd CRI proxy: {path} is not forwarded: this socket serves only the CRI \
                 ImageService"
            );
            let drain = Limited::new(req.into_body(), UNFORWARDED_REQUEST_BYTES).collect();
            let _ = tokio::time::timeout(UNFORWARDED_REQUEST_WAIT, drain).await;
            return grpc_error(Code::Unimplemented, &message);
        };
        if method == PULL_IMAGE_METHOD {
            self.pull(req).await
        } else {
            let (parts, body) = req.into_parts();
            self.forward(parts, body.boxed()).await
        }
    }

    /// Sends a request to containerd as is and returns its response as is.
    async fn forward(
        &self,
        parts: hyper::http::request::Parts,
        body: ProxyBody,
    ) -> Response<ProxyBody> {
        let mut upstream = Request::new(body);
        *upstream.method_mut() = parts.method;
        *upstream.headers_mut() = parts.headers;
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        match format!("http://localhost{path}").parse() {
            Ok(uri) => *upstream.uri_mut() = uri,
            Err(_) => return grpc_error(Code::Internal, "notaryd CRI proxy: bad request path"),
        }
        let unavailable = |e: &dyn std::fmt::Display| {
            grpc_error(
                Code::Unavailable,
                &format!(
                    "notaryd CRI proxy: containerd at {}: {e}",
                    self.config.containerd_socket.display()
                ),
            )
        };
        let mut sender = match self.upstream.sender().await {
            Ok(s) => s,
            Err(e) => return unavailable(&e),
        };
        if let Err(e) = sender.ready().await {
            return unavailable(&e);
        }
        match sender.send_request(upstream).await {
            Ok(r) => r.map(BodyExt::boxed),
            Err(e) => unavailable(&e),
        }
    }

    async fn pull(&self, req: Request<Incoming>) -> Response<ProxyBody> {
        let started = crate::clock::monotonic();
        let (mut parts, body) = req.into_parts();
        let collected = match Limited::new(body, wire::MAX_PULL_REQUEST_BYTES + 5)
            .collect()
            .await
        {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                return grpc_error(
                    Code::InvalidArgument,
                    &format!("notaryd: PullImage request: {e}"),
                );
            }
        };
        let message = match wire::unframe(&collected) {
            Ok(m) => m,
            Err(e) => {
                return grpc_error(
                    Code::InvalidArgument,
                    &format!("notaryd: PullImage request: {e}"),
                );
            }
        };
        let view = match wire::read_pull_request(message) {
            Ok(v) => v,
            Err(e) => {
                return grpc_error(
                    Code::InvalidArgument,
                    &format!("notaryd: PullImage request: {e}"),
                );
            }
        };
        let reference = match Reference::parse(&view.image) {
            Ok(r) => r,
            Err(e) => {
                return grpc_error(
                    Code::InvalidArgument,
                    &format!(
                        "notaryd: image {:?} is not a valid reference: {e}",
                        view.image
                    ),
                );
            }
        };
        // A pull secret that cannot be read is refused: pulling anonymously instead would end
        // in an "unauthorized" that hides the real mistake.
        let auth = match view.auth.as_ref().map(registry_auth).transpose() {
            Ok(a) => a.flatten(),
            Err(e) => {
                return grpc_error(
                    Code::InvalidArgument,
                    &format!("notaryd: image {:?}: pull secret: {e}", view.image),
                );
            }
        };
        let denied = |code: Code, reason: &str| {
            grpc_error(
                code,
                &format!("notaryd: image {:?} denied: {reason}", view.image),
            )
        };
        let audit = self.config.mode == CriMode::Audit;
        // The checks the daemon's gRPC service makes of the same fields, in the same order.
        let request = check_reference(&view.image).and_then(|_| {
            Ok(DecisionRequest {
                client: None,
                reference_text: reference.to_string(),
                reference: reference.clone(),
                descriptor_digest: None,
                namespace: check_namespace(view.namespace.clone().unwrap_or_default())?,
                credential: auth,
                cache_only: false,
            })
        });
        let verified = match request {
            Err(e) if audit => {
                tracing::warn!(image = %view.image, error = %e, "audit mode: no verdict; pulling as asked");
                None
            }
            Err(e) => return denied(Code::InvalidArgument, &e.to_string()),
            Ok(request) => {
                let pending = self.decider.begin(&request, started);
                let (decision, cached) = self.decider.decide(&request).await;
                pending.answered(&request, &decision, cached);
                match (decision.allowed(), decision.target()) {
                    (true, Some(d)) => Some(d.clone()),
                    // An overloaded daemon gave no verdict (the gRPC route says
                    // RESOURCE_EXHAUSTED).
                    _ if audit && decision.overload() => {
                        tracing::warn!(image = %view.image, error = %decision.reason(), "audit mode: no verdict; pulling as asked");
                        None
                    }
                    _ if audit => {
                        tracing::warn!(image = %view.image, reason = %decision.reason(), "audit mode: would deny this pull; pulling as asked");
                        None
                    }
                    // A refusal by the trust policy is PERMISSION_DENIED, naming the policy
                    // and the failing check; a pull with no verdict gets the code containerd
                    // gives the same condition (docs/containerd.md says what kubelet does).
                    _ if decision.outcome() == Outcome::Rejected => {
                        return grpc_error(
                            Code::PermissionDenied,
                            &format!(
                                "notaryd: image {:?} denied by trust policy {:?}: {}",
                                view.image,
                                decision.policy_name().unwrap_or("(none)"),
                                decision.reason()
                            ),
                        );
                    }
                    _ => {
                        let code = if decision.overload() {
                            Code::ResourceExhausted
                        } else {
                            match decision.fault() {
                                Some(Fault::NotFound) => Code::NotFound,
                                Some(Fault::Unauthorized) => Code::Unauthenticated,
                                _ => Code::Unavailable,
                            }
                        };
                        return grpc_error(
                            code,
                            &format!(
                                "notaryd: image {:?} could not be verified: {}",
                                view.image,
                                decision.reason()
                            ),
                        );
                    }
                }
            }
        };
        let verify_time = started.elapsed();

        // The request containerd gets: pinned to the verified digest.
        let (body, pinned) = match &verified {
            Some(d) => {
                let pinned = format!(
                    "{}/{}@{}",
                    reference.registry(),
                    reference.repository(),
                    d.digest
                );
                match wire::rewrite_image(message, &pinned) {
                    Ok(m) => (wire::frame(&m), Some(pinned)),
                    Err(e) => {
                        return grpc_error(
                            Code::InvalidArgument,
                            &format!("notaryd: PullImage request: {e}"),
                        );
                    }
                }
            }
            None => (collected.to_vec(), None),
        };
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        let forwarded = crate::clock::monotonic();
        let response = self.forward(parts, full(body)).await;
        let Some(pinned) = pinned else {
            return response;
        };
        // Read containerd's answer whole (it is small) to know whether the pull succeeded
        // before the tag is moved.
        let (resp_parts, resp_body) = response.into_parts();
        let collected = match resp_body.collect().await {
            Ok(c) => c,
            Err(e) => {
                return grpc_error(
                    Code::Unavailable,
                    &format!("notaryd CRI proxy: containerd's PullImage answer: {e}"),
                );
            }
        };
        let trailers = collected.trailers().cloned();
        let ok = status_of(&resp_parts.headers, trailers.as_ref()) == Some(0);
        let containerd_time = forwarded.elapsed();
        if ok
            && reference.digest().is_none()
            && let Some(tag) = reference.tag()
        {
            let tagged = format!("{}/{}:{tag}", reference.registry(), reference.repository());
            if let Err(e) = self.tag(&tagged, &pinned, verified.as_ref()).await {
                return grpc_error(
                    Code::Unavailable,
                    &format!(
                        "notaryd: {pinned} was pulled but {tagged} could not be pointed at it: {e}"
                    ),
                );
            }
        }
        // Where a pull's time went, for operators comparing with a direct pull.
        tracing::debug!(
            image = %view.image,
            verify_ms = verify_time.as_secs_f64() * 1e3,
            containerd_ms = containerd_time.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "PullImage through the proxy"
        );
        let mut body = collected.to_bytes().to_vec();
        let out_body: ProxyBody = match trailers {
            Some(t) => {
                let frame_body =
                    http_body_util::StreamBody::new(futures_stream(std::mem::take(&mut body), t));
                frame_body.boxed()
            }
            None => full(body),
        };
        Response::from_parts(resp_parts, out_body)
    }

    /// Points `tagged` at the image containerd recorded for `pinned` (its target and CRI's
    /// label), creating or updating the record.
    async fn tag(
        &self,
        tagged: &str,
        pinned: &str,
        verified: Option<&Descriptor>,
    ) -> Result<(), String> {
        use containerd_client::services::v1::images_client::ImagesClient;
        use containerd_client::services::v1::{
            CreateImageRequest, GetImageRequest, Image, UpdateImageRequest,
        };
        let channel = self
            .images
            .get_or_try_init(|| containerd_client::connect(&self.config.containerd_socket))
            .await
            .map_err(|e| {
                format!(
                    "containerd at {}: {e}",
                    self.config.containerd_socket.display()
                )
            })?
            .clone();
        let mut images = ImagesClient::new(channel.clone());
        let ns = self.config.namespace.as_str();
        // The verified descriptor is the target; containerd's own record of the pinned image
        // is read only when it is incomplete (an exemption has no media type or size).
        let (target, mut labels) = match verified {
            Some(d) if !d.media_type.is_empty() && d.size > 0 => (
                Some(containerd_client::types::Descriptor {
                    media_type: d.media_type.clone(),
                    digest: d.digest.to_string(),
                    size: i64::try_from(d.size).unwrap_or(i64::MAX),
                    annotations: Default::default(),
                }),
                std::collections::HashMap::new(),
            ),
            _ => {
                let source = images
                    .get(crate::containerd::in_namespace(
                        ns,
                        GetImageRequest {
                            name: pinned.to_owned(),
                        },
                    ))
                    .await
                    .map_err(|s| format!("image {pinned}: {}", s.message()))?
                    .into_inner()
                    .image
                    .ok_or_else(|| format!("image {pinned}: containerd has no record"))?;
                (source.target, source.labels)
            }
        };
        labels
            .entry(CRI_MANAGED_LABEL.to_owned())
            .or_insert_with(|| "managed".to_owned());
        let image = Image {
            name: tagged.to_owned(),
            labels,
            target,
            created_at: None,
            updated_at: None,
        };
        let created = images
            .create(crate::containerd::in_namespace(
                ns,
                CreateImageRequest {
                    image: Some(image.clone()),
                    source_date_epoch: None,
                },
            ))
            .await;
        let done = match created {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::AlreadyExists => {
                // The target, and only the labels set here: the record may carry others that
                // must stay (CRI's `io.cri-containerd.pinned` keeps kubelet from collecting
                // the image).
                let mut paths = vec!["target".to_owned()];
                paths.extend(image.labels.keys().map(|k| format!("labels.{k}")));
                images
                    .update(crate::containerd::in_namespace(
                        ns,
                        UpdateImageRequest {
                            image: Some(image),
                            update_mask: Some(prost_types::FieldMask { paths }),
                            source_date_epoch: None,
                        },
                    ))
                    .await
                    .map(|_| ())
                    .map_err(|s| format!("updating {tagged}: {}", s.message()))
            }
            Err(s) => Err(format!("creating {tagged}: {}", s.message())),
        };
        done?;
        self.wait_until_cri_sees(channel, tagged, pinned).await;
        Ok(())
    }

    /// Waits until containerd's CRI answers `ImageStatus` for `tagged` with the pinned image,
    /// as it would right after its own pull by tag. CRI's image cache learns of a tag made
    /// through the images API from an event, after the fact; kubelet asks `ImageStatus` by the
    /// pod's reference as soon as `PullImage` returns, and a miss there is another pull or a
    /// pod that waits. Bounded: past [`CRI_VISIBLE_WAIT`] the pull is answered anyway (it did
    /// succeed) and the wait is logged.
    async fn wait_until_cri_sees(
        &self,
        channel: tonic::transport::Channel,
        tagged: &str,
        pinned: &str,
    ) {
        use crate::api::cri::image_service_client::ImageServiceClient;
        use crate::api::cri::{ImageSpec, ImageStatusRequest};
        let mut cri = ImageServiceClient::new(channel);
        let digest = pinned.rsplit_once('@').map_or("", |(_, d)| d);
        let started = crate::clock::monotonic();
        let mut pause = Duration::from_millis(1);
        loop {
            let status = cri
                .image_status(ImageStatusRequest {
                    image: Some(ImageSpec {
                        image: tagged.to_owned(),
                        ..Default::default()
                    }),
                    verbose: false,
                })
                .await;
            let seen = status.as_ref().is_ok_and(|r| {
                r.get_ref().image.as_ref().is_some_and(|i| {
                    // The tag, on the image just pulled (not one it pointed at before).
                    i.repo_tags.iter().any(|t| t == tagged)
                        && (i.repo_digests.is_empty()
                            || i.repo_digests.iter().any(|d| d.ends_with(digest)))
                })
            });
            if seen {
                return;
            }
            if started.elapsed() >= CRI_VISIBLE_WAIT {
                tracing::warn!(
                    image = tagged,
                    waited_ms = started.elapsed().as_secs_f64() * 1e3,
                    "containerd's CRI does not show the tag yet; answering the pull anyway"
                );
                return;
            }
            // CRI's event lands within milliseconds: ask every millisecond for the first
            // 50 ms (a local call), then every 10 ms.
            if started.elapsed() >= Duration::from_millis(50) {
                pause = Duration::from_millis(10);
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// How long a pull waits for containerd's CRI to show the tag notaryd pointed, before it is
/// answered anyway (and the wait logged).
pub(crate) const CRI_VISIBLE_WAIT: Duration = Duration::from_secs(2);

/// A body of one data frame followed by trailers.
fn futures_stream(
    data: Vec<u8>,
    trailers: hyper::HeaderMap,
) -> impl tokio_stream::Stream<Item = Result<hyper::body::Frame<Bytes>, hyper::Error>> + Send + Sync
{
    let frames = vec![
        Ok(hyper::body::Frame::data(Bytes::from(data))),
        Ok(hyper::body::Frame::trailers(trailers)),
    ];
    tokio_stream::iter(frames)
}

/// The credentials of a CRI pull secret, in containerd's order (CRI ParseAuth): username,
/// then identity token, then `auth` (base64 `user:password`). Like containerd, notaryd does
/// not use `registry_token`. `Ok(None)`: no credentials (anonymous).
fn registry_auth(a: &crate::api::cri::AuthConfig) -> Result<Option<Credential>, String> {
    use base64::Engine;
    if !a.username.is_empty() {
        return Ok(Some(Credential::Basic {
            username: a.username.clone(),
            password: a.password.clone(),
        }));
    }
    if !a.identity_token.is_empty() {
        return Ok(Some(Credential::IdentityToken(a.identity_token.clone())));
    }
    if a.auth.is_empty() {
        return Ok(None);
    }
    let unreadable = || "`auth` is not base64 of user:password".to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&a.auth)
        .map_err(|_| unreadable())?;
    let text = String::from_utf8(decoded).map_err(|_| unreadable())?;
    let (user, pass) = text.split_once(':').ok_or_else(unreadable)?;
    // As the daemon's own requests are read: containerd's order, nothing for ":".
    Ok(crate::service::decider::credential_from(
        user.to_owned(),
        pass.to_owned(),
        String::new(),
    ))
}

/// Serves the proxy on `listener` until `shutdown` flips.
pub async fn serve(
    listener: UnixListener,
    proxy: Arc<CriProxy>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "CRI proxy accept failed");
                // Out of descriptors or similar: do not spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.handle(req).await) }
            });
            if let Err(e) = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(
                    TokioIo::new(crate::api::unix_authority::accept(stream)),
                    service,
                )
                .await
            {
                tracing::debug!(error = %e, "CRI proxy connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cri::AuthConfig;

    #[test]
    fn pull_secrets_are_read_in_containerds_order() {
        let both = AuthConfig {
            username: "u".into(),
            password: "p".into(),
            identity_token: "refresh".into(),
            ..Default::default()
        };
        let basic = |u: &str, p: &str| {
            Some(Credential::Basic {
                username: u.into(),
                password: p.into(),
            })
        };
        assert!(registry_auth(&both).unwrap() == basic("u", "p"));

        let token = AuthConfig {
            identity_token: "refresh".into(),
            auth: "dTpw".into(),
            ..Default::default()
        };
        assert!(
            registry_auth(&token).unwrap() == Some(Credential::IdentityToken("refresh".into()))
        );

        let encoded = AuthConfig {
            auth: "dXNlcjpzM2NyOnQ=".into(), // user:s3cr:t
            ..Default::default()
        };
        assert!(registry_auth(&encoded).unwrap() == basic("user", "s3cr:t"));

        // A bare registry token is not used (containerd does not use it either).
        let bare = AuthConfig {
            registry_token: "bearer".into(),
            ..Default::default()
        };
        assert_eq!(registry_auth(&bare), Ok(None));
        // An unreadable `auth` is an error, not an anonymous pull.
        for bad in ["not base64!", "bm8gY29sb24="] {
            let e = registry_auth(&AuthConfig {
                auth: bad.into(),
                ..Default::default()
            })
            .unwrap_err();
            assert!(e.contains("`auth`"), "{bad}: {e}");
        }
    }
}
