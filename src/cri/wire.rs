//! The bytes of a CRI `PullImageRequest`, read and rewritten without losing anything.
//!
//! The proxy must forward every field kubelet sends, including fields of CRI versions newer
//! than the messages notaryd knows. So the request is never decoded and re-encoded whole:
//! [`rewrite_image`] walks the protobuf wire format, replaces only `image.image` (the
//! reference, by the verified `repo@digest`) and copies every other byte as received. The
//! parts notaryd reads (the image, the credentials, the pod's namespace) are decoded from
//! those same bytes with the generated messages.

use prost::Message;

use crate::api::cri;

/// Largest PullImageRequest accepted (kubelet's are a few KiB).
pub const MAX_PULL_REQUEST_BYTES: usize = 1024 * 1024;

/// Why a request's bytes are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not a gRPC message frame.
    #[error("not a gRPC message: {0}")]
    Frame(&'static str),
    /// A compressed message (kubelet does not compress; notaryd does not decompress).
    #[error("compressed gRPC messages are not supported")]
    Compressed,
    /// Larger than [`MAX_PULL_REQUEST_BYTES`].
    #[error("request of {0} bytes, more than the limit of {MAX_PULL_REQUEST_BYTES}")]
    TooLarge(usize),
    /// Not a protobuf message of the expected shape.
    #[error("malformed PullImageRequest: {0}")]
    Malformed(String),
}

/// The one message of a unary gRPC request body: a 5-byte prefix (compressed flag, big-endian
/// length) and the message.
pub fn unframe(body: &[u8]) -> Result<&[u8], WireError> {
    let [flag, a, b, c, d, rest @ ..] = body else {
        return Err(WireError::Frame("shorter than the 5-byte prefix"));
    };
    if *flag == 1 {
        return Err(WireError::Compressed);
    }
    if *flag != 0 {
        return Err(WireError::Frame("unknown compressed flag"));
    }
    let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
    if len > MAX_PULL_REQUEST_BYTES {
        return Err(WireError::TooLarge(len));
    }
    if rest.len() != len {
        return Err(WireError::Frame(
            "the length prefix does not match the body (one message expected)",
        ));
    }
    Ok(rest)
}

/// Frames one message.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// One field as it appears on the wire.
struct Field<'a> {
    number: u64,
    /// The whole field: tag and value, as received.
    raw: &'a [u8],
    /// For a length-delimited field, its contents.
    contents: Option<&'a [u8]>,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf
            .get(*pos)
            .ok_or_else(|| WireError::Malformed("truncated varint".into()))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::Malformed("varint longer than 10 bytes".into()))
}

/// Splits a message into its top-level fields.
fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = varint(buf, &mut pos)?;
        let number = key >> 3;
        if number == 0 {
            return Err(WireError::Malformed("field number 0".into()));
        }
        let contents = match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
                None
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|p| *p <= buf.len())
                    .ok_or_else(|| WireError::Malformed("truncated fixed64".into()))?;
                None
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?)
                    .map_err(|_| WireError::Malformed("length overflow".into()))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| {
                        WireError::Malformed("truncated length-delimited field".into())
                    })?;
                let c = &buf[pos..end];
                pos = end;
                Some(c)
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|p| *p <= buf.len())
                    .ok_or_else(|| WireError::Malformed("truncated fixed32".into()))?;
                None
            }
            t => return Err(WireError::Malformed(format!("unsupported wire type {t}"))),
        };
        out.push(Field {
            number,
            raw: &buf[start..pos],
            contents,
        });
    }
    Ok(out)
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn push_len_field(out: &mut Vec<u8>, number: u64, contents: &[u8]) {
    push_varint(out, (number << 3) | 2);
    push_varint(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

/// What the proxy reads from a PullImageRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestView {
    /// `image.image`: the reference kubelet asks for.
    pub image: String,
    /// `auth`, when given.
    pub auth: Option<cri::AuthConfig>,
    /// `sandbox_config.metadata.namespace`, when given.
    pub namespace: Option<String>,
}

/// Reads a PullImageRequest message (unframed).
pub fn read_pull_request(message: &[u8]) -> Result<PullRequestView, WireError> {
    // The generated message skips unknown fields, which is what reading wants.
    let decoded =
        cri::PullImageRequest::decode(message).map_err(|e| WireError::Malformed(e.to_string()))?;
    let image = decoded
        .image
        .as_ref()
        .map(|i| i.image.clone())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| WireError::Malformed("image.image is empty".into()))?;
    Ok(PullRequestView {
        image,
        auth: decoded.auth,
        namespace: decoded
            .sandbox_config
            .and_then(|s| s.metadata)
            .map(|m| m.namespace)
            .filter(|n| !n.is_empty()),
    })
}

/// The same PullImageRequest with `image.image` replaced by `image`; every other byte,
/// unknown fields included, as received. (A repeated `image` field is merged by protobuf
/// readers; each one's `image.image` is replaced, so no reader can see the old reference.)
pub fn rewrite_image(message: &[u8], image: &str) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(message.len() + image.len());
    let mut seen = false;
    for f in fields(message)? {
        match (f.number, f.contents) {
            (1, Some(spec)) => {
                seen = true;
                let mut new_spec = Vec::with_capacity(spec.len() + image.len());
                push_len_field(&mut new_spec, 1, image.as_bytes());
                for inner in fields(spec)? {
                    if inner.number != 1 {
                        new_spec.extend_from_slice(inner.raw);
                    }
                }
                push_len_field(&mut out, 1, &new_spec);
            }
            (1, None) => {
                return Err(WireError::Malformed("image is not a message".into()));
            }
            _ => out.extend_from_slice(f.raw),
        }
    }
    if !seen {
        return Err(WireError::Malformed("no image".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> cri::PullImageRequest {
        cri::PullImageRequest {
            image: Some(cri::ImageSpec {
                image: "registry.example/app:v1".into(),
                annotations: [("a".to_owned(), "b".to_owned())].into(),
                user_specified_image: "app:v1".into(),
                runtime_handler: "runc".into(),
            }),
            auth: Some(cri::AuthConfig {
                username: "u".into(),
                password: "p".into(),
                ..Default::default()
            }),
            sandbox_config: Some(cri::PodSandboxConfig {
                metadata: Some(cri::PodSandboxMetadata {
                    name: "pod".into(),
                    uid: "1".into(),
                    namespace: "team-a".into(),
                    attempt: 2,
                }),
                hostname: "h".into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn rewrite_keeps_every_other_byte() {
        let mut bytes = request().encode_to_vec();
        // A field of a future CRI version, at the top level and inside ImageSpec.
        bytes.extend_from_slice(&[0xa2, 0x06, 0x03, b'n', b'e', b'w']); // field 100, "new"
        let view = read_pull_request(&bytes).unwrap();
        assert_eq!(view.image, "registry.example/app:v1");
        assert_eq!(view.namespace.as_deref(), Some("team-a"));
        assert_eq!(view.auth.unwrap().username, "u");
        let rewritten = rewrite_image(&bytes, "registry.example/app@sha256:00").unwrap();
        let decoded = cri::PullImageRequest::decode(rewritten.as_slice()).unwrap();
        let mut expected = request();
        expected.image.as_mut().unwrap().image = "registry.example/app@sha256:00".into();
        assert_eq!(decoded, expected);
        assert!(rewritten.ends_with(&[0xa2, 0x06, 0x03, b'n', b'e', b'w']));
        // The sandbox config and auth are byte-identical.
        let original_tail =
            &bytes[bytes.len() - 6 - request().sandbox_config.unwrap().encoded_len() - 2..];
        assert!(rewritten.ends_with(original_tail));
    }

    #[test]
    fn frames_and_refusals() {
        let m = request().encode_to_vec();
        assert_eq!(unframe(&frame(&m)).unwrap(), m.as_slice());
        let mut compressed = frame(&m);
        compressed[0] = 1;
        assert_eq!(unframe(&compressed), Err(WireError::Compressed));
        assert!(unframe(&[0, 0, 0]).is_err());
        assert!(unframe(&frame(&m)[..8]).is_err());
        assert!(rewrite_image(&[0x0a, 0x05, 0x01], "x").is_err());
        assert!(rewrite_image(&[], "x").is_err());
        assert!(read_pull_request(&[]).is_err());
        // Garbage never panics.
        for seed in 0..2000u32 {
            let junk: Vec<u8> = (0..(seed % 64))
                .map(|i| (seed.wrapping_mul(2654435761).wrapping_add(i * 97) >> 7) as u8)
                .collect();
            let _ = rewrite_image(&junk, "x");
            let _ = read_pull_request(&junk);
            let _ = unframe(&junk);
        }
    }
}
