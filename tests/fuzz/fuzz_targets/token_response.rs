#![no_main]

// A token service's answer, read as the registry client reads it.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<notaryd::registry::auth::TokenResponse>(data) {
        if let Some((token, _)) = r.into_token() {
            assert!(!token.is_empty());
        }
    }
});
