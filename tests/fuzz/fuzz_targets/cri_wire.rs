#![no_main]

use notaryd::api::cri;
use notaryd::cri::wire;
use prost::Message;

// The proxy's reading of a PullImage body: unframe, read, rewrite. When the rewrite succeeds
// the new message must decode to the old one with only `image.image` changed (every other
// field, known or not, kept), and must be no shorter than the old one minus its references.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wire::unframe(data);
    // First byte: length of the replacement reference; the rest is the message.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 80).min(rest.len());
    let (image, message) = rest.split_at(n);
    let Ok(image) = std::str::from_utf8(image) else {
        return;
    };
    let read = wire::read_pull_request(message);
    let Ok(out) = wire::rewrite_image(message, image) else {
        return;
    };
    // The rewrite is a valid message whose only image is the new one.
    if let (Ok(mut before), Ok(after)) = (
        cri::PullImageRequest::decode(message),
        cri::PullImageRequest::decode(out.as_slice()),
    ) {
        if let Some(spec) = before.image.as_mut() {
            spec.image = image.to_owned();
        }
        assert_eq!(before, after, "rewrite changed more than image.image");
        if !image.is_empty() {
            let again = wire::read_pull_request(&out).expect("rewritten request reads");
            assert_eq!(again.image, image);
            if let Ok(r) = read {
                assert_eq!(r.namespace, again.namespace);
                assert_eq!(r.auth, again.auth);
            }
        }
    }
    // Unknown fields survive too: rewriting back gives bytes that read the same again.
    let twice = wire::rewrite_image(&out, image).expect("a rewritten request rewrites");
    assert_eq!(twice, out, "rewrite is not idempotent");
    let framed = wire::frame(&out);
    assert_eq!(wire::unframe(&framed).expect("own frame"), out.as_slice());
});
