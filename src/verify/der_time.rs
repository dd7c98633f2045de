//! The one reader of ASN.1 times in the core: DER UTCTime and GeneralizedTime contents
//! octets, and RFC 3161's GeneralizedTime with fractional seconds, each to a [`Timestamp`].
//!
//! CRLs, OCSP responses, RFC 3161 tokens and CMS signing times all come through here; each
//! caller keeps its own rules (which forms it takes) and turns a [`DerTimeError`] into the
//! error text it has always reported. Certificates are the exception only in where the
//! decoding happens: x509-cert decodes their validity with der's own `UtcTime` and
//! `GeneralizedTime`, and [`from_x509`] converts the result.
//!
//! der's types are not used for the contents octets themselves because they refuse every
//! year before 1970 (der's `DateTime` counts from the Unix epoch), while RFC 5280 UTCTime
//! covers 1950–2049 and CRLs and tokens are read from year 0000 on, and because they report
//! one error for every kind of fault where the callers' texts tell them apart. The calendar
//! (leap years, days per month, days since the epoch) is the `time` crate's.

use std::fmt;
use std::ops::Range;

use crate::time::Timestamp;

/// Whether a GeneralizedTime may carry fractional seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fraction {
    /// DER as RFC 5280 §4.1.2.5.2 profiles it: exactly `YYYYMMDDhhmmssZ` (CRLs).
    Refused,
    /// RFC 3161 `genTime`: `YYYYMMDDhhmmss[.f{1,9}]Z`, the fraction non-empty, without a
    /// trailing `0` (DER) and at most nine digits (Go's nanosecond precision, which notation
    /// reads it with). Also what OCSP and CRL invalidity dates take, as Go's
    /// `encoding/asn1` does.
    Allowed,
}

/// Why a time's contents octets were refused. The variants follow the order the checks run
/// in: length, then each field's digits, then the fraction, then the zone, then the ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerTimeError {
    /// A UTCTime that is not 13 octets (`YYMMDDhhmmssZ`).
    UtcTimeLength,
    /// A GeneralizedTime without fractions that is not 15 octets (`YYYYMMDDhhmmssZ`).
    GeneralizedTimeLength,
    /// The text ends inside the date or time of day (fractions allowed, so no fixed length).
    TooShort,
    /// A field holds something other than ASCII digits.
    NonDigit,
    /// A `.` with no digit after it.
    EmptyFraction,
    /// More than nine fractional digits.
    FractionTooLong,
    /// A fraction ending in `0`, which DER forbids.
    FractionTrailingZero,
    /// The time does not end in exactly one `Z` (other zones and trailing octets).
    NotUtc,
    /// The month is not 01–12.
    Month,
    /// The day does not exist in that month of that year.
    Day,
    /// The hour is above 23, the minute or the second above 59 (DER has no leap second).
    TimeOfDay,
}

impl DerTimeError {
    /// The reason as a static text (the wording RFC 3161 token errors have always carried).
    pub const fn reason(self) -> &'static str {
        match self {
            Self::UtcTimeLength => "UTCTime must be YYMMDDhhmmssZ",
            Self::GeneralizedTimeLength => "GeneralizedTime must be YYYYMMDDhhmmssZ",
            Self::TooShort => "too short",
            Self::NonDigit => "non-digit where a digit is required",
            Self::EmptyFraction => "empty fraction of a second",
            Self::FractionTooLong => "fraction of a second longer than nine digits",
            Self::FractionTrailingZero => "fraction of a second with a trailing zero",
            Self::NotUtc => "must end in Z (UTC)",
            Self::Month => "month out of range",
            Self::Day => "day out of range",
            Self::TimeOfDay => "time of day out of range",
        }
    }
}

impl fmt::Display for DerTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for DerTimeError {}

/// Reads a DER UTCTime's contents octets, `YYMMDDhhmmssZ`, with RFC 5280's window: `YY` of
/// 50–99 is 1950–1999, 00–49 is 2000–2049.
pub fn utc_time(text: &[u8]) -> Result<Timestamp, DerTimeError> {
    if text.len() != 13 {
        return Err(DerTimeError::UtcTimeLength);
    }
    let yy = digits(text, 0..2)?;
    let month = digits(text, 2..4)?;
    let day = digits(text, 4..6)?;
    let hour = digits(text, 6..8)?;
    let minute = digits(text, 8..10)?;
    let second = digits(text, 10..12)?;
    if text[12] != b'Z' {
        return Err(DerTimeError::NotUtc);
    }
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    instant(year, month, day, hour, minute, second, 0)
}

/// Reads a GeneralizedTime's contents octets, `YYYYMMDDhhmmssZ`, with fractional seconds
/// where `fraction` allows them. Years 0000–9999; the zone must be `Z`.
pub fn generalized_time(text: &[u8], fraction: Fraction) -> Result<Timestamp, DerTimeError> {
    // Without fractions the form has one length, refused before any field is read (so a
    // short text is a length fault, not a missing field).
    if fraction == Fraction::Refused && text.len() != 15 {
        return Err(DerTimeError::GeneralizedTimeLength);
    }
    let year = digits(text, 0..4)?;
    let month = digits(text, 4..6)?;
    let day = digits(text, 6..8)?;
    let hour = digits(text, 8..10)?;
    let minute = digits(text, 10..12)?;
    let second = digits(text, 12..14)?;
    let mut nanos = 0;
    let mut end = 14;
    if fraction == Fraction::Allowed && text.get(end) == Some(&b'.') {
        let start = end + 1;
        let n = text[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        end = start + n;
        if n == 0 {
            return Err(DerTimeError::EmptyFraction);
        }
        if n > 9 {
            return Err(DerTimeError::FractionTooLong);
        }
        if text[end - 1] == b'0' {
            return Err(DerTimeError::FractionTrailingZero);
        }
        // Scaled to nanoseconds: `.5` is 500 000 000. n is 1..=9, so this fits in u32.
        nanos = digits(text, start..end)? * 10u32.pow(9 - n as u32);
    }
    if text.get(end) != Some(&b'Z') || end + 1 != text.len() {
        return Err(DerTimeError::NotUtc);
    }
    instant(year, month, day, hour, minute, second, nanos)
}

/// A certificate's notBefore or notAfter, as x509-cert decoded it (with der's `UtcTime` or
/// `GeneralizedTime`, strict DER).
pub fn from_x509(time: &x509_cert::time::Time) -> Timestamp {
    Timestamp::from_unix_duration(time.to_unix_duration())
}

/// The value of the ASCII digits at `range` of `text` (at most nine, so it fits in u32).
fn digits(text: &[u8], range: Range<usize>) -> Result<u32, DerTimeError> {
    let part = text.get(range).ok_or(DerTimeError::TooShort)?;
    part.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(DerTimeError::NonDigit)
        }
    })
}

/// The instant of a UTC calendar date and time of day, checked by the `time` crate. The
/// fields come from at most four digits each, so the narrowing casts cannot lose anything.
fn instant(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
) -> Result<Timestamp, DerTimeError> {
    let month = time::Month::try_from(month as u8).map_err(|_| DerTimeError::Month)?;
    let date = time::Date::from_calendar_date(year as i32, month, day as u8)
        .map_err(|_| DerTimeError::Day)?;
    let clock = time::Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
        .map_err(|_| DerTimeError::TimeOfDay)?;
    let at = time::PrimitiveDateTime::new(date, clock).assume_utc();
    Ok(Timestamp::from_unix_nanos(at.unix_timestamp_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use der::asn1::{GeneralizedTime, UtcTime};
    use der::{Decode, Encode};
    use proptest::prelude::*;
    use time::OffsetDateTime;

    use DerTimeError::*;
    use Fraction::{Allowed, Refused};

    fn at(rfc3339: &str) -> Timestamp {
        Timestamp::parse_rfc3339(rfc3339).unwrap()
    }

    fn gt(text: &str, fraction: Fraction) -> Result<Timestamp, DerTimeError> {
        generalized_time(text.as_bytes(), fraction)
    }

    fn utc(text: &str) -> Result<Timestamp, DerTimeError> {
        utc_time(text.as_bytes())
    }

    // The cases timestamp::asn1 held for the parsers it had before this module, unchanged
    // but for the names, which now say which form is asked for.
    fn parse_generalized_time(text: &[u8]) -> Result<Timestamp, DerTimeError> {
        generalized_time(text, Allowed)
    }

    fn parse_utc_time(text: &[u8]) -> Result<Timestamp, DerTimeError> {
        utc_time(text)
    }

    fn secs(s: &str) -> i128 {
        Timestamp::parse_rfc3339(s).unwrap().unix_nanos()
    }

    #[test]
    fn generalized_time_with_and_without_fraction() {
        let t = parse_generalized_time(b"20210917140910Z").unwrap();
        assert_eq!(t.unix_nanos(), secs("2021-09-17T14:09:10Z"));
        let t = parse_generalized_time(b"20240621071205.884Z").unwrap();
        assert_eq!(t.unix_nanos(), secs("2024-06-21T07:12:05Z") + 884_000_000);
        let t = parse_generalized_time(b"20240621071205.000000001Z").unwrap();
        assert_eq!(t.unix_nanos(), secs("2024-06-21T07:12:05Z") + 1);
    }

    #[test]
    fn generalized_time_rejects_non_der_forms() {
        for bad in [
            &b"20210917140910"[..],
            b"20210917140910.Z",
            b"20210917140910.50Z",
            b"20210917140910.1234567891Z",
            b"20210917140910,5Z",
            b"20210917140910+0100",
            b"202109171409Z",
            b"20210230140910Z",
            b"20211317140910Z",
            b"20210917240910Z",
            b"20210917140960Z",
            b"2021091714091OZ",
            b"20210917140910ZZ",
            b"",
        ] {
            assert!(
                parse_generalized_time(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn utc_time_windows() {
        let t = parse_utc_time(b"210917140910Z").unwrap();
        assert_eq!(t.unix_nanos(), secs("2021-09-17T14:09:10Z"));
        let t = parse_utc_time(b"500101000000Z").unwrap();
        assert_eq!(t.unix_nanos(), secs("1950-01-01T00:00:00Z"));
        assert!(parse_utc_time(b"2109171409Z").is_err());
        assert!(parse_utc_time(b"-1091714091Z").is_err());
    }

    #[test]
    fn leap_years() {
        // Divisible by 4, by 100 (not leap) and by 400 (leap again).
        assert_eq!(
            gt("20240229235959Z", Refused),
            Ok(at("2024-02-29T23:59:59Z"))
        );
        assert_eq!(
            gt("20000229000000Z", Refused),
            Ok(at("2000-02-29T00:00:00Z"))
        );
        assert_eq!(gt("19000229000000Z", Refused), Err(Day));
        assert_eq!(gt("21000229000000Z", Allowed), Err(Day));
        assert_eq!(gt("20230229000000Z", Refused), Err(Day));
        assert_eq!(utc("240229000000Z"), Ok(at("2024-02-29T00:00:00Z")));
        assert_eq!(utc("230229000000Z"), Err(Day));
        // 1900 through UTCTime's window is not a leap year either; 1952 is.
        assert_eq!(utc("520229120000Z"), Ok(at("1952-02-29T12:00:00Z")));
        // Year 0000 is a leap year in the proleptic Gregorian calendar.
        assert_eq!(
            gt("00000229000000Z", Refused),
            Ok(at("0000-02-29T00:00:00Z"))
        );
    }

    #[test]
    fn utc_time_window() {
        assert_eq!(utc("500101000000Z"), Ok(at("1950-01-01T00:00:00Z")));
        assert_eq!(utc("991231235959Z"), Ok(at("1999-12-31T23:59:59Z")));
        assert_eq!(utc("000101000000Z"), Ok(at("2000-01-01T00:00:00Z")));
        assert_eq!(utc("491231235959Z"), Ok(at("2049-12-31T23:59:59Z")));
        // 2050 and later need GeneralizedTime; 50 reads as 1950, never 2050.
        assert_ne!(utc("500101000000Z"), Ok(at("2050-01-01T00:00:00Z")));
        assert_eq!(
            gt("20500101000000Z", Refused),
            Ok(at("2050-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn generalized_time_outside_the_utc_time_window() {
        assert_eq!(
            gt("19491231235959Z", Refused),
            Ok(at("1949-12-31T23:59:59Z"))
        );
        assert_eq!(
            gt("18000101000000Z", Allowed),
            Ok(at("1800-01-01T00:00:00Z"))
        );
        assert_eq!(
            gt("20500101000000Z", Allowed),
            Ok(at("2050-01-01T00:00:00Z"))
        );
        assert_eq!(
            gt("99991231235959Z", Refused),
            Ok(at("9999-12-31T23:59:59Z"))
        );
        assert_eq!(
            gt("00000101000000Z", Refused).map(Timestamp::unix_seconds),
            Ok(-62_167_219_200)
        );
    }

    #[test]
    fn fractions_only_where_allowed() {
        let base = at("2024-06-21T07:12:05Z").unix_nanos();
        let nanos = |t: &str| gt(t, Allowed).map(|t| t.unix_nanos() - base);
        assert_eq!(nanos("20240621071205Z"), Ok(0));
        assert_eq!(nanos("20240621071205.5Z"), Ok(500_000_000));
        assert_eq!(nanos("20240621071205.884Z"), Ok(884_000_000));
        assert_eq!(nanos("20240621071205.000000001Z"), Ok(1));
        assert_eq!(nanos("20240621071205.999999999Z"), Ok(999_999_999));
        assert_eq!(nanos("20240621071205.50Z"), Err(FractionTrailingZero));
        assert_eq!(nanos("20240621071205.0Z"), Err(FractionTrailingZero));
        assert_eq!(nanos("20240621071205.1234567891Z"), Err(FractionTooLong));
        assert_eq!(nanos("20240621071205.0000000001Z"), Err(FractionTooLong));
        assert_eq!(nanos("20240621071205.Z"), Err(EmptyFraction));
        assert_eq!(nanos("20240621071205,5Z"), Err(NotUtc));
        assert_eq!(nanos("20240621071205.5"), Err(NotUtc));
        // Strict DER has no fraction at all: the length is wrong before anything else.
        assert_eq!(gt("20240621071205.5Z", Refused), Err(GeneralizedTimeLength));
        // Fifteen octets with a `.` where the zone goes: not UTC.
        assert_eq!(gt("20240621071205.", Refused), Err(NotUtc));
        // UTCTime has no room for one.
        assert_eq!(utc("2406210712.5Z"), Err(NonDigit));
    }

    #[test]
    fn zones_other_than_z_are_refused() {
        for fraction in [Refused, Allowed] {
            assert_eq!(gt("20240621071205+", fraction), Err(NotUtc));
            assert_eq!(gt("20240621071205z", fraction), Err(NotUtc));
        }
        assert_eq!(gt("20240621071205+0100", Allowed), Err(NotUtc));
        assert_eq!(
            gt("20240621071205-0800", Refused),
            Err(GeneralizedTimeLength)
        );
        assert_eq!(gt("20240621071205", Allowed), Err(NotUtc));
        assert_eq!(gt("20240621071205ZZ", Allowed), Err(NotUtc));
        assert_eq!(gt("20240621071205.5ZZ", Allowed), Err(NotUtc));
        assert_eq!(utc("2406210712050"), Err(NotUtc));
        assert_eq!(utc("240621071205+"), Err(NotUtc));
        assert_eq!(utc("240621071205+0100"), Err(UtcTimeLength));
    }

    #[test]
    fn wrong_lengths() {
        for bad in [
            "",
            "2406210712Z",
            "24062107120Z",
            "2406210712055Z",
            "20240621071205Z",
        ] {
            assert_eq!(utc(bad), Err(UtcTimeLength), "{bad:?}");
        }
        for bad in [
            "",
            "202406210712Z",
            "2024062107125Z",
            "202406210712055Z",
            "240621071205Z",
        ] {
            assert_eq!(gt(bad, Refused), Err(GeneralizedTimeLength), "{bad:?}");
        }
        // With fractions allowed a short text ends inside a field.
        for bad in ["", "2024", "202406210712", "2024062107120"] {
            assert_eq!(gt(bad, Allowed), Err(TooShort), "{bad:?}");
        }
        assert_eq!(gt("202406210712Z", Allowed), Err(TooShort));
    }

    #[test]
    fn non_digits() {
        for bad in [
            "2024-621071205Z",
            "20240621O71205Z",
            "+0240621071205Z",
            " 0240621071205Z",
        ] {
            assert_eq!(gt(bad, Refused), Err(NonDigit), "{bad:?}");
            assert_eq!(gt(bad, Allowed), Err(NonDigit), "{bad:?}");
        }
        for bad in [
            "-10621071205Z",
            "+40621071205Z",
            "24062107120OZ",
            "2406210712 5Z",
        ] {
            assert_eq!(utc(bad), Err(NonDigit), "{bad:?}");
        }
        // Digits are checked before the zone.
        assert_eq!(gt("2024062107120aX", Refused), Err(NonDigit));
    }

    #[test]
    fn out_of_range_fields() {
        for (text, err) in [
            ("20241301000000Z", Month),
            ("20240001000000Z", Month),
            ("20240431000000Z", Day),
            ("20240100000000Z", Day),
            ("20240132000000Z", Day),
            ("20240621240000Z", TimeOfDay),
            ("20240621236000Z", TimeOfDay),
            ("20240621235960Z", TimeOfDay),
            ("20241231235960Z", TimeOfDay),
        ] {
            assert_eq!(gt(text, Refused), Err(err), "{text}");
            assert_eq!(gt(text, Allowed), Err(err), "{text}");
            // The same fields in UTCTime, the century dropped.
            assert_eq!(utc(&text[2..]), Err(err), "{text}");
        }
        assert_eq!(
            gt("20240430235959Z", Refused),
            Ok(at("2024-04-30T23:59:59Z"))
        );
        // The month is checked before the day.
        assert_eq!(gt("20241332000000Z", Refused), Err(Month));
    }

    #[test]
    fn certificate_times_convert() {
        let t =
            x509_cert::time::Time::UtcTime(UtcTime::from_der(b"\x17\x0d491231235959Z").unwrap());
        assert_eq!(from_x509(&t), at("2049-12-31T23:59:59Z"));
        let t = x509_cert::time::Time::GeneralTime(
            GeneralizedTime::from_der(b"\x18\x0f20500101000000Z").unwrap(),
        );
        assert_eq!(from_x509(&t), at("2050-01-01T00:00:00Z"));
    }

    /// Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, GeneralizedTime's span.
    const FIRST: i64 = -62_167_219_200;
    const LAST: i64 = 253_402_300_799;
    /// UTCTime's span, 1950-01-01T00:00:00Z to 2049-12-31T23:59:59Z.
    const UTC_FIRST: i64 = -631_152_000;
    const UTC_LAST: i64 = 2_524_607_999;

    /// The GeneralizedTime text of an instant (fields from the `time` crate's calendar),
    /// with a fraction of `nanos` written as DER wants it (trailing zeros dropped).
    fn encode_generalized(secs: i64, nanos: u32) -> String {
        let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let mut text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        if nanos != 0 {
            text.push_str(format!(".{nanos:09}").trim_end_matches('0'));
        }
        text.push('Z');
        text
    }

    proptest! {
        #[test]
        fn generalized_time_round_trips(secs in FIRST..=LAST, nanos in 0u32..1_000_000_000) {
            let text = encode_generalized(secs, nanos);
            let want = Timestamp::from_unix_nanos(
                i128::from(secs) * 1_000_000_000 + i128::from(nanos),
            );
            prop_assert_eq!(gt(&text, Allowed), Ok(want), "{}", text);
            let whole = encode_generalized(secs, 0);
            prop_assert_eq!(
                gt(&whole, Refused),
                Ok(Timestamp::from_unix_seconds(secs)),
                "{}",
                whole
            );
            if nanos != 0 {
                prop_assert_eq!(gt(&text, Refused), Err(GeneralizedTimeLength));
            }
        }

        #[test]
        fn utc_time_round_trips(secs in UTC_FIRST..=UTC_LAST) {
            let text = encode_generalized(secs, 0);
            prop_assert_eq!(utc(&text[2..]), Ok(Timestamp::from_unix_seconds(secs)), "{}", text);
        }

        /// From 1970 on der's own types apply: what they encode reads back to the same
        /// instant, and our text agrees with theirs.
        #[test]
        fn agrees_with_der_from_1970(secs in 0..=LAST) {
            let d = std::time::Duration::from_secs(secs as u64);
            let g = GeneralizedTime::from_unix_duration(d).unwrap().to_der().unwrap();
            let text = encode_generalized(secs, 0);
            prop_assert_eq!(&g[2..], text.as_bytes());
            prop_assert_eq!(
                generalized_time(&g[2..], Refused),
                Ok(Timestamp::from_unix_seconds(secs))
            );
            if secs <= UTC_LAST {
                let u = UtcTime::from_unix_duration(d).unwrap().to_der().unwrap();
                prop_assert_eq!(utc_time(&u[2..]), Ok(Timestamp::from_unix_seconds(secs)));
            }
        }

        /// Any octets: no panic, and where der decodes a time we read the same instant.
        #[test]
        fn arbitrary_octets(text in proptest::collection::vec(
            prop_oneof![Just(b'Z'), Just(b'.'), Just(b'0'), Just(b'9'), any::<u8>(), 0x30u8..0x3a],
            0..24,
        )) {
            let u = utc_time(&text);
            let g = generalized_time(&text, Refused);
            let f = generalized_time(&text, Allowed);
            // Strict forms are a subset of the fraction form.
            if let Ok(t) = g {
                prop_assert_eq!(f, Ok(t));
            }
            // Under 24 octets, so the length is one short-form octet.
            let tlv = |tag: u8| [&[tag, text.len() as u8][..], &text].concat();
            if let Ok(d) = UtcTime::from_der(&tlv(0x17)) {
                prop_assert_eq!(u, Ok(Timestamp::from_unix_duration(d.to_unix_duration())));
            }
            if let Ok(d) = GeneralizedTime::from_der(&tlv(0x18)) {
                prop_assert_eq!(g, Ok(Timestamp::from_unix_duration(d.to_unix_duration())));
            }
        }

        /// Digits in the DER shapes: der and we agree wherever der's range (1970 on) reaches.
        #[test]
        fn digit_texts_agree_with_der(
            utc_text in "[0-9]{2}[01][0-9][0-3][0-9][0-2][0-9][0-6][0-9][0-6][0-9]Z",
            gt_text in "[0-9]{4}[01][0-9][0-3][0-9][0-2][0-9][0-6][0-9][0-6][0-9]Z",
        ) {
            let ours = utc(&utc_text);
            let theirs = UtcTime::from_der(&[&[0x17, 13][..], utc_text.as_bytes()].concat());
            match (ours, theirs) {
                (Ok(t), Ok(d)) => {
                    prop_assert_eq!(t, Timestamp::from_unix_duration(d.to_unix_duration()));
                }
                (Ok(t), Err(_)) => prop_assert!(t.unix_seconds() < 0, "{}", utc_text),
                (Err(e), Ok(_)) => prop_assert!(false, "{}: {}", utc_text, e),
                (Err(_), Err(_)) => {}
            }
            let ours = gt(&gt_text, Refused);
            let theirs =
                GeneralizedTime::from_der(&[&[0x18, 15][..], gt_text.as_bytes()].concat());
            match (ours, theirs) {
                (Ok(t), Ok(d)) => {
                    prop_assert_eq!(t, Timestamp::from_unix_duration(d.to_unix_duration()));
                }
                (Ok(t), Err(_)) => prop_assert!(t.unix_seconds() < 0, "{}", gt_text),
                (Err(e), Ok(_)) => prop_assert!(false, "{}: {}", gt_text, e),
                (Err(_), Err(_)) => {}
            }
            prop_assert_eq!(gt(&gt_text, Allowed), gt(&gt_text, Refused));
        }
    }
}
