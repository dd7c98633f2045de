#![no_main]

use notaryd::oci::{self, Manifest};
use notaryd::verify::descriptor::{Descriptor, Digest};

fn target() -> Descriptor {
    serde_json::from_str(
        r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":7}"#,
    )
    .expect("fixed target")
}

// A referrers-API answer or a tag-schema index, then the filter and the classification that
// discovery applies: each entry's filter, and the document itself classified as a signature
// manifest of a fixed target (a fuzzer-made manifest reaches the classifier that way).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(data) else { return };
    let _ = m.is_index();
    let _ = m.effective_media_type();
    let n = m
        .manifests
        .iter()
        .filter(|e| oci::is_signature_entry(e))
        .count();
    assert!(n <= m.manifests.len());
    for e in &m.manifests {
        let _ = oci::referrers_tag(&e.digest);
    }
    let digest =
        Digest::parse("sha256:1111111111111111111111111111111111111111111111111111111111111111")
            .expect("fixed digest");
    let _ = oci::classify_signature_manifest(&digest, &m, &target());
});
