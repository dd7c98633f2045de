#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = notaryd::verify::trust_store::parse_certificate_file(data);
});
