#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = notaryd::verify::x509::Certificate::from_der(data);
});
