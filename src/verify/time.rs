//! Points in time as the core sees them. The core never reads a clock: the verification time
//! is always handed in by the caller as a [`Timestamp`].

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant with nanosecond precision, counted from the Unix epoch (UTC).
///
/// Nanoseconds matter: RFC 3161 `genTime` and its accuracy carry sub-second parts, and the
/// timestamp window checks of NOTARY-VERIFY §5.4 compare them against certificate validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    nanos: i128,
}

const NANOS_PER_SEC: i128 = 1_000_000_000;

impl Timestamp {
    /// The instant `secs` seconds after the Unix epoch.
    pub const fn from_unix_seconds(secs: i64) -> Self {
        Self {
            nanos: secs as i128 * NANOS_PER_SEC,
        }
    }

    /// The instant `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: i128) -> Self {
        Self { nanos }
    }

    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    pub const fn unix_seconds(self) -> i64 {
        self.nanos.div_euclid(NANOS_PER_SEC) as i64
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> i128 {
        self.nanos
    }

    /// Parses an RFC 3339 date-time. Offsets other than `Z` are accepted because notation
    /// writes local offsets such as `+08:00` (seen in the e2e vectors).
    /// The date and time must be separated by `T` and the zone written `Z` or `±hh:mm`, as
    /// Go's `time.RFC3339` layout (used by notation) requires; RFC 3339's space and lowercase
    /// variants are refused.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        if text.as_bytes().get(10) != Some(&b'T') || text.contains(['t', 'z']) {
            return None;
        }
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        Some(Self {
            nanos: parsed.unix_timestamp_nanos(),
        })
    }

    /// Adds (or, when negative, subtracts) a number of nanoseconds, saturating at the ends.
    pub const fn saturating_add_nanos(self, nanos: i128) -> Self {
        Self {
            nanos: self.nanos.saturating_add(nanos),
        }
    }

    /// Converts a `std::time::Duration` since the epoch, as x509-cert and der report times.
    pub fn from_unix_duration(d: std::time::Duration) -> Self {
        Self {
            nanos: d.as_nanos().min(i128::MAX as u128) as i128,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp_nanos(self.nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}ns", self.nanos),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        let a = Timestamp::parse_rfc3339("2023-06-27T13:21:21+08:00").unwrap();
        let b = Timestamp::parse_rfc3339("2023-06-27T05:21:21Z").unwrap();
        assert_eq!(a, b);
        let c = Timestamp::parse_rfc3339("2023-06-27T05:21:21.5Z").unwrap();
        assert_eq!(c.unix_nanos() - b.unix_nanos(), 500_000_000);
        assert_eq!(b.to_string(), "2023-06-27T05:21:21Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2023-06-27",
            "2023-06-27 05:21:21Z",
            "tomorrow",
            "2023-13-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_none(), "{bad}");
        }
    }
}
