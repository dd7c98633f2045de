#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = notaryd::verify::policy::TrustPolicyDocument::from_json(data);
});
