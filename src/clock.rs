//! The only place that reads the system clock. Everything below takes the time as a parameter.

use crate::verify::time::Timestamp;

/// The current time.
#[allow(clippy::disallowed_methods)]
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_duration(since_epoch)
}

/// A monotonic instant, for deadlines, cache ages and durations (never for verification time).
#[allow(clippy::disallowed_methods)]
pub(crate) fn monotonic() -> std::time::Instant {
    std::time::Instant::now()
}
