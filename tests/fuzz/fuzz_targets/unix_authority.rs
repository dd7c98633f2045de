#![no_main]
//! The `:authority` check on unix-socket connections: any bytes after the HTTP/2 preface, as a
//! client may send them. It must end (Ok or an error), never panic, never hang.

use tokio::io::AsyncReadExt;

/// One runtime for the whole run: building one per input costs more than the input.
static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    });
    rt.block_on(async {
        let mut input = notaryd::api::unix_authority::PREFACE.to_vec();
        input.extend_from_slice(data);
        let (mut server, ours) = tokio::io::duplex(64 * 1024);
        let forward = notaryd::api::unix_authority::forward_client(&input[..], ours);
        let mut out = Vec::new();
        let read = server.read_to_end(&mut out);
        let (_, _) = tokio::join!(forward, read);
    });
});
