//! Giving memory back to the system after a burst (issue 15).
//!
//! glibc's allocator keeps what a burst freed in its arenas (one per thread that allocated,
//! up to 8 per core) instead of returning it: after 256 concurrent verifications of hostile
//! 100 MB manifests the daemon stayed at 61–67 MiB resident, and one over-cap referrers index
//! left it 20 MiB above idle. Once a second this task looks at the fresh verifications; when a
//! burst is over — none running, none started since the previous look — and it was worth it
//! since the last trim (at least [`TRIM_AFTER_BYTES`] of registry bodies read or
//! [`TRIM_AFTER_VERIFICATIONS`] verifications run), it asks glibc to return the free memory of
//! every arena (`malloc_trim(0)`), off the async threads.
//!
//! And before the daemon starts its threads, [`tune_allocator`] fixes glibc's mmap threshold
//! at 128 KiB: glibc otherwise raises it to the size of every large block freed (up to
//! 32 MiB), so that after the first 4 MiB body buffer is freed the next ones are carved out
//! of the arenas, where what is freed stays resident and fragments (256 hostile bodies at once
//! peaked some 40 MiB higher so). With it fixed, every body buffer and read buffer of 128 KiB
//! or more has pages of its own, given back the moment it is freed.
//!
//! Elsewhere than glibc both do nothing. This is the daemon's only `unsafe` code.

use std::sync::Arc;
use std::time::Duration;

use crate::service::decider::{Activity, Decider};

/// How often the verifications are looked at.
pub const TRIM_TICK: Duration = Duration::from_secs(1);

/// Registry bodies read since the last trim that make a trim worth it once idle.
pub const TRIM_AFTER_BYTES: u64 = 1024 * 1024;

/// Fresh verifications since the last trim that make a trim worth it once idle.
pub const TRIM_AFTER_VERIFICATIONS: u64 = 64;

/// Whether to trim now: idle at this look and the previous one, and enough done since the
/// last trim.
pub fn worth_trimming(now: Activity, previous: Activity, last_trim: Activity) -> bool {
    now.running == 0
        && now.started == previous.started
        && (now.body_bytes.saturating_sub(last_trim.body_bytes) >= TRIM_AFTER_BYTES
            || now.started.saturating_sub(last_trim.started) >= TRIM_AFTER_VERIFICATIONS)
}

/// Runs for as long as the daemon: trims after every burst (see the module documentation).
pub async fn trim_after_bursts(decider: Arc<Decider>) {
    let mut previous = decider.activity();
    let mut last_trim = previous;
    loop {
        tokio::time::sleep(TRIM_TICK).await;
        let now = decider.activity();
        if worth_trimming(now, previous, last_trim) {
            last_trim = now;
            let released = tokio::task::spawn_blocking(give_back_free_memory)
                .await
                .unwrap_or(false);
            tracing::debug!(released, "returned free memory to the system after a burst");
        }
        previous = now;
    }
}

/// Blocks of at least this many bytes get pages of their own (glibc's default, made fixed).
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`] (see the module documentation). Call it
/// before any other thread is started.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune_allocator() {
    // SAFETY: `mallopt` takes two integers and changes only the allocator's own parameters;
    // `M_MMAP_THRESHOLD` with a value below `HEAP_MAX/2` is always accepted. It is called from
    // `main` while the process has one thread (glibc documents mallopt as unsafe to race with
    // other allocator calls being made), before the runtime starts any.
    let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    if accepted != 1 {
        tracing::debug!("glibc did not accept the mmap threshold");
    }
}

/// Fixes the allocator's mmap threshold: nothing to do but on glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// Returns the allocator's free memory to the system; true when some was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn give_back_free_memory() -> bool {
    // SAFETY: `malloc_trim` is glibc's documented, thread-safe entry point (it takes each
    // arena's lock in turn); it takes a plain integer (the padding to leave at the top of the
    // main heap, 0 here), touches no memory of ours, and only returns free pages to the
    // kernel. Nothing in this process depends on those pages staying mapped.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Returns the allocator's free memory to the system: nothing to do but on glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_free_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(running: usize, started: u64, body_bytes: u64) -> Activity {
        Activity {
            running,
            started,
            body_bytes,
        }
    }

    #[test]
    fn trims_once_a_burst_is_over_and_only_when_it_was_worth_it() {
        let zero = at(0, 0, 0);
        // Still running, or started since the last look: not yet.
        assert!(!worth_trimming(at(1, 100, 0), at(1, 100, 0), zero));
        assert!(!worth_trimming(at(0, 100, 0), at(0, 90, 0), zero));
        // Idle for a whole tick after 100 verifications, or after 1 MiB of bodies.
        assert!(worth_trimming(at(0, 100, 0), at(0, 100, 0), zero));
        assert!(worth_trimming(
            at(0, 1, TRIM_AFTER_BYTES),
            at(0, 1, TRIM_AFTER_BYTES),
            zero
        ));
        // Too little since the last trim.
        let trimmed = at(0, 100, 0);
        assert!(!worth_trimming(at(0, 101, 10), at(0, 101, 10), trimmed));
    }

    #[test]
    fn giving_back_free_memory_is_harmless() {
        let v: Vec<Vec<u8>> = (0..64).map(|_| vec![1u8; 64 * 1024]).collect();
        drop(v);
        let _ = give_back_free_memory();
        let again = vec![2u8; 1024 * 1024];
        assert!(again.iter().all(|b| *b == 2));
    }
}
