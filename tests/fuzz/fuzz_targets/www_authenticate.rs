#![no_main]

libfuzzer_sys::fuzz_target!(|header: &str| {
    let _ = notaryd::registry::auth::Challenge::parse(header);
});
