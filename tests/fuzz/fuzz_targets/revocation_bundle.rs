#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use notaryd::bundle::format;
    if let Ok(bundle) = format::parse(data) {
        let _ = notaryd::bundle::items_of(&bundle);
    }
    let _ = format::parse_signature(data);
});
