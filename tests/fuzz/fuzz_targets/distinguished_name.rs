#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = notaryd::verify::dn::DistinguishedName::parse_rfc4514(text);
});
