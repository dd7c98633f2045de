#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = notaryd::verify::payload::TargetArtifact::from_payload(data);
});
