//! What containerd's bindir image verifier plugin hands `notaryd-containerd-verifier` on
//! standard input: the resolved manifest's OCI descriptor as JSON. Parsed here, in the
//! library, so that the tests and the fuzz target reach the same code as the binary.

/// Largest descriptor read from standard input.
pub const MAX_STDIN_BYTES: u64 = 64 * 1024;

/// The only standard input media type understood.
pub const DESCRIPTOR_MEDIA_TYPE: &str = "application/vnd.oci.descriptor.v1+json";

/// The descriptor containerd passes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StdinDescriptor {
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's digest, as given (the binary compares it with `-digest`).
    pub digest: String,
    /// The manifest's size.
    pub size: i64,
}

/// Reads standard input's bytes (at most [`MAX_STDIN_BYTES`] + 1 of them, as read) given
/// `-stdin-media-type` and `-digest`: `None` for an empty (all-whitespace) input, the
/// descriptor when its digest is `digest`, otherwise the reason for the denial line.
pub fn parse_stdin_descriptor(
    input: &[u8],
    media_type: Option<&str>,
    digest: &str,
) -> Result<Option<StdinDescriptor>, String> {
    if input.len() as u64 > MAX_STDIN_BYTES {
        return Err("the descriptor on standard input is larger than 64 KiB".to_owned());
    }
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(m) = media_type.filter(|m| *m != DESCRIPTOR_MEDIA_TYPE) {
        return Err(format!("unexpected standard input media type {m:?}"));
    }
    match serde_json::from_slice::<StdinDescriptor>(input) {
        Ok(d) if d.digest == digest => Ok(Some(d)),
        Ok(d) => Err(format!(
            "the descriptor's digest {} differs from -digest {digest}",
            d.digest
        )),
        Err(e) => Err(format!("the descriptor on standard input: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn json(digest: &str) -> Vec<u8> {
        format!(r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":3}}"#).into_bytes()
    }

    #[test]
    fn reads_the_descriptor_and_checks_its_digest() {
        let d = parse_stdin_descriptor(&json(D), Some(DESCRIPTOR_MEDIA_TYPE), D)
            .expect("accepted")
            .expect("a descriptor");
        assert_eq!((d.digest.as_str(), d.size), (D, 3));
        assert!(parse_stdin_descriptor(&json(D), None, D).is_ok());
        let other = D.replace('0', "1");
        let e = parse_stdin_descriptor(&json(&other), None, D).expect_err("digest differs");
        assert!(e.starts_with("the descriptor's digest sha256:111"), "{e}");
    }

    #[test]
    fn blank_input_is_no_descriptor_whatever_the_media_type() {
        assert_eq!(
            parse_stdin_descriptor(b" \n\t", Some("text/plain"), D),
            Ok(None)
        );
        assert_eq!(parse_stdin_descriptor(b"", None, D), Ok(None));
    }

    #[test]
    fn refuses_other_media_types_bad_json_and_large_input() {
        let e = parse_stdin_descriptor(&json(D), Some("text/plain"), D).expect_err("media type");
        assert_eq!(e, "unexpected standard input media type \"text/plain\"");
        let e = parse_stdin_descriptor(b"{", None, D).expect_err("json");
        assert!(e.starts_with("the descriptor on standard input: "), "{e}");
        let big = vec![b' '; MAX_STDIN_BYTES as usize + 1];
        let e = parse_stdin_descriptor(&big, None, D).expect_err("size");
        assert_eq!(e, "the descriptor on standard input is larger than 64 KiB");
        let at_cap = vec![b' '; MAX_STDIN_BYTES as usize];
        assert_eq!(parse_stdin_descriptor(&at_cap, None, D), Ok(None));
    }
}
