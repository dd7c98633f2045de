#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = notaryd::verify::time::Timestamp::parse_rfc3339(text);
});
