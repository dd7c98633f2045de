#![no_main]

// The unverified OCSP reader `notaryd bundle inspect` and `bundle create` use (no issuer).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = notaryd::verify::revocation::ocsp::UnverifiedOcsp::parse(data) {
        for s in &r.responses {
            let _ = s.serial_hex();
        }
    }
});
