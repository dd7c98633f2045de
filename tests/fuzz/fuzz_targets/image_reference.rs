#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(r) = notaryd::reference::Reference::parse(text) {
        // The canonical form must parse back to the same reference.
        let again = notaryd::reference::Reference::parse(&r.to_string());
        assert_eq!(again.as_ref(), Ok(&r));
    }
});
