#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = notaryd::verify::envelope::verify_envelope(
        "application/jose+json",
        data,
        &Default::default(),
    );
});
