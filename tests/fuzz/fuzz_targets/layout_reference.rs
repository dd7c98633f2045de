#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = notaryd::layout::LayoutReference::parse(text);
});
