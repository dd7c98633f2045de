#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(file) = notaryd::registry::hosts::HostsFile::parse(text, std::path::Path::new("/d")) {
        let _ = file.hosts(
            "registry.example:5000",
            notaryd::registry::hosts::Scheme::Https,
        );
    }
});
