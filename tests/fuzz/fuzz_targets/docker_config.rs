#![no_main]

/// Lookups are futures (a helper is a child process); one small runtime serves every input.
static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Lookups that need no credential helper: the config names none it could run here
    // unless the input sets credsStore, and then the helper is not found on this PATH.
    if let Ok(config) = notaryd::registry::credentials::DockerConfig::parse(
        data,
        std::path::Path::new("/config.json"),
    ) {
        let config = config.with_helper_path("/nonexistent");
        for host in ["docker.io", "ghcr.io", "localhost:5000"] {
            let _ = RUNTIME.block_on(config.get(host));
        }
    }
});
