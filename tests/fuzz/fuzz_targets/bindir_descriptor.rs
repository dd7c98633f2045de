#![no_main]

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

// The bindir verifier's standard input, with and without -stdin-media-type.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use notaryd::bindir::{DESCRIPTOR_MEDIA_TYPE, parse_stdin_descriptor};
    if let Ok(Some(d)) = parse_stdin_descriptor(data, Some(DESCRIPTOR_MEDIA_TYPE), DIGEST) {
        assert_eq!(d.digest, DIGEST);
    }
    let _ = parse_stdin_descriptor(data, None, DIGEST);
});
