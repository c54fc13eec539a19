//! Grafana's time syntax, resolved to epoch milliseconds against a given `now`.
//!
//! Accepted forms (Grafana's date math, https://grafana.com/docs/grafana/latest/dashboards/use-dashboards/#time-units-and-relative-ranges):
//! - `now`; `now-6h`, `now+15m`, chained `now-1d-2h` (a missing number means 1: `now-d`);
//! - rounding `now/d`, `now-1d/d`, `now/d+8h`: to the start of the unit for a range's `from`, to
//!   its last millisecond for its `to` (so `from=now-1d/d&to=now-1d/d` is all of yesterday);
//! - units `s m h d w M y` (`M` months and `y` years are calendar arithmetic; `/w` rounds to
//!   Monday, the ISO week, where Grafana follows the browser's locale);
//! - epoch milliseconds (`1700000000000`), RFC 3339 (`2024-05-01T12:00:00Z`, `…+02:00`) and the
//!   time picker's `2024-05-01 12:00:00`.
//!
//! Rounding and the picker format use a fixed UTC offset: UTC unless [`parse_time_in`] is given the
//! device's offset. Hand-written: date-math crates on crates.io implement Elasticsearch's
//! `now-1d/d||…` variant or pull in a time-zone database; this is ~100 lines over chrono.

use chrono::{
    DateTime, Datelike, FixedOffset, Months, NaiveDateTime, TimeDelta, TimeZone, Timelike,
};

/// Which end of a range a time is: rounding (`/d`) goes to the start of the unit for `From` and to
/// its last millisecond for `To`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    From,
    To,
}

/// A resolved time range, in epoch milliseconds, `from_ms <= to_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeRange {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub from_ms: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub to_ms: i64,
}

const ACCEPTED: &str = "use `now`, `now-6h` or `now+15m` (units s m h d w M y, chainable), \
`now/d` or `now-1d/d` (rounded to the unit), epoch milliseconds (`1700000000000`), RFC 3339 \
(`2024-05-01T12:00:00Z`) or `2024-05-01 12:00:00`";

/// A time that could not be read; the message names the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    #[error("`{input}` is not a time paaf understands ({problem}); {}", ACCEPTED)]
    Invalid {
        input: String,
        problem: &'static str,
    },
    #[error("`{input}` is outside the dates paaf can handle; {}", ACCEPTED)]
    OutOfRange { input: String },
    #[error("the time range ends (`{to}`) before it starts (`{from}`)")]
    Reversed { from: String, to: String },
}

impl From<TimeParseError> for crate::Error {
    fn from(e: TimeParseError) -> Self {
        crate::Error::InvalidInput {
            message: e.to_string(),
        }
    }
}

/// Resolve `input` to epoch milliseconds, rounding in UTC.
pub fn parse_time(input: &str, now_ms: i64, boundary: Boundary) -> Result<i64, TimeParseError> {
    parse_time_in(input, now_ms, boundary, utc())
}

/// Resolve `input` to epoch milliseconds; `/d` and the picker format use `utc_offset`.
pub fn parse_time_in(
    input: &str,
    now_ms: i64,
    boundary: Boundary,
    utc_offset: FixedOffset,
) -> Result<i64, TimeParseError> {
    let s = input.trim();
    let invalid = |problem| TimeParseError::Invalid {
        input: shorten(input),
        problem,
    };
    let out_of_range = || TimeParseError::OutOfRange {
        input: shorten(input),
    };
    if s.is_empty() {
        return Err(invalid("it is empty"));
    }
    if let Some(ops) = s.strip_prefix("now") {
        let now = DateTime::from_timestamp_millis(now_ms)
            .ok_or_else(out_of_range)?
            .with_timezone(&utc_offset);
        return date_math(now, ops, boundary)
            .map_err(|e| match e {
                MathError::Syntax(problem) => invalid(problem),
                MathError::Range => out_of_range(),
            })
            .map(|t| t.timestamp_millis());
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().map_err(|_| out_of_range());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return utc_offset
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.timestamp_millis())
            .ok_or_else(out_of_range);
    }
    Err(invalid("neither `now…`, a number nor a date"))
}

/// Resolve a `from`/`to` pair, rounding in UTC; refuses a range that ends before it starts.
pub fn parse_range(from: &str, to: &str, now_ms: i64) -> Result<TimeRange, TimeParseError> {
    parse_range_in(from, to, now_ms, utc())
}

/// Resolve a `from`/`to` pair; `/d` and the picker format use `utc_offset`.
pub fn parse_range_in(
    from: &str,
    to: &str,
    now_ms: i64,
    utc_offset: FixedOffset,
) -> Result<TimeRange, TimeParseError> {
    let from_ms = parse_time_in(from, now_ms, Boundary::From, utc_offset)?;
    let to_ms = parse_time_in(to, now_ms, Boundary::To, utc_offset)?;
    if from_ms > to_ms {
        return Err(TimeParseError::Reversed {
            from: shorten(from),
            to: shorten(to),
        });
    }
    Ok(TimeRange { from_ms, to_ms })
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("0 is a valid offset")
}

/// The input as quoted in an error: user text, but bounded.
fn shorten(input: &str) -> String {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

enum MathError {
    Syntax(&'static str),
    Range,
}

type Time = DateTime<FixedOffset>;

/// Apply `-6h`, `+1d`, `/d`… to `t`, left to right.
fn date_math(mut t: Time, ops: &str, boundary: Boundary) -> Result<Time, MathError> {
    let b = ops.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' => {
                let unit = *b
                    .get(i + 1)
                    .ok_or(MathError::Syntax("`/` needs a unit after it"))?;
                t = round(t, unit, boundary)?;
                i += 2;
            }
            sign @ (b'+' | b'-') => {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: i64 = if i == start {
                    1
                } else {
                    ops[start..i].parse().map_err(|_| MathError::Range)?
                };
                let n = if sign == b'-' { -n } else { n };
                let unit = *b
                    .get(i)
                    .ok_or(MathError::Syntax("a number needs a unit after it"))?;
                t = add(t, n, unit)?;
                i += 1;
            }
            _ => return Err(MathError::Syntax("expected `+`, `-` or `/` after `now`")),
        }
    }
    Ok(t)
}

fn add(t: Time, n: i64, unit: u8) -> Result<Time, MathError> {
    let seconds = |per: i64| {
        let delta = n
            .checked_mul(per)
            .and_then(TimeDelta::try_seconds)
            .ok_or(MathError::Range)?;
        t.checked_add_signed(delta).ok_or(MathError::Range)
    };
    let months = |m: i64| {
        let count = Months::new(u32::try_from(m.unsigned_abs()).map_err(|_| MathError::Range)?);
        if m >= 0 {
            t.checked_add_months(count)
        } else {
            t.checked_sub_months(count)
        }
        .ok_or(MathError::Range)
    };
    match unit {
        b's' => seconds(1),
        b'm' => seconds(60),
        b'h' => seconds(3600),
        b'd' => seconds(86_400),
        b'w' => seconds(7 * 86_400),
        b'M' => months(n),
        b'y' => months(n.checked_mul(12).ok_or(MathError::Range)?),
        _ => Err(MathError::Syntax("unknown unit (use s m h d w M y)")),
    }
}

/// Round `t` down to the start of `unit`, or for `To` to the last millisecond of that unit.
fn round(t: Time, unit: u8, boundary: Boundary) -> Result<Time, MathError> {
    let date = t.date_naive();
    let (date, hms) = match unit {
        b's' => (date, (t.hour(), t.minute(), t.second())),
        b'm' => (date, (t.hour(), t.minute(), 0)),
        b'h' => (date, (t.hour(), 0, 0)),
        b'd' => (date, (0, 0, 0)),
        b'w' => (
            date - TimeDelta::days(date.weekday().num_days_from_monday().into()),
            (0, 0, 0),
        ),
        b'M' => (date.with_day(1).ok_or(MathError::Range)?, (0, 0, 0)),
        b'y' => (date.with_ordinal(1).ok_or(MathError::Range)?, (0, 0, 0)),
        _ => {
            return Err(MathError::Syntax(
                "unknown unit after `/` (use s m h d w M y)",
            ));
        }
    };
    let naive = date
        .and_hms_opt(hms.0, hms.1, hms.2)
        .ok_or(MathError::Range)?;
    let start = t
        .offset()
        .from_local_datetime(&naive)
        .single()
        .ok_or(MathError::Range)?;
    match boundary {
        Boundary::From => Ok(start),
        Boundary::To => add(start, 1, unit)?
            .checked_sub_signed(TimeDelta::milliseconds(1))
            .ok_or(MathError::Range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// Wednesday 2024-05-15 13:45:30.250 UTC.
    const NOW: i64 = 1_715_780_730_250;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn from(s: &str) -> i64 {
        parse_time(s, NOW, Boundary::From).unwrap()
    }

    fn to(s: &str) -> i64 {
        parse_time(s, NOW, Boundary::To).unwrap()
    }

    #[test]
    fn now_is_the_given_instant() {
        assert_eq!(NOW, ms("2024-05-15T13:45:30.250Z"));
        assert_eq!(from("now"), NOW);
        assert_eq!(to(" now "), NOW);
    }

    #[test]
    fn relative_offsets_in_every_unit() {
        assert_eq!(from("now-30s"), NOW - 30_000);
        assert_eq!(from("now-5m"), NOW - 300_000);
        assert_eq!(from("now-6h"), NOW - 6 * 3_600_000);
        assert_eq!(from("now-1d"), NOW - 86_400_000);
        assert_eq!(from("now-2w"), NOW - 14 * 86_400_000);
        assert_eq!(from("now-1M"), ms("2024-04-15T13:45:30.250Z"));
        assert_eq!(from("now-1y"), ms("2023-05-15T13:45:30.250Z"));
        assert_eq!(from("now+15m"), NOW + 900_000);
        assert_eq!(from("now-1d-2h"), NOW - 26 * 3_600_000);
        assert_eq!(from("now-h"), NOW - 3_600_000);
    }

    #[test]
    fn rounding_goes_to_the_start_for_from_and_the_end_for_to() {
        assert_eq!(from("now-1d/d"), ms("2024-05-14T00:00:00Z"));
        assert_eq!(to("now-1d/d"), ms("2024-05-14T23:59:59.999Z"));
        assert_eq!(from("now/d"), ms("2024-05-15T00:00:00Z"));
        assert_eq!(to("now/d"), ms("2024-05-15T23:59:59.999Z"));
        assert_eq!(from("now/h"), ms("2024-05-15T13:00:00Z"));
        assert_eq!(from("now/m"), ms("2024-05-15T13:45:00Z"));
        assert_eq!(to("now/s"), ms("2024-05-15T13:45:30.999Z"));
        assert_eq!(from("now/w"), ms("2024-05-13T00:00:00Z"));
        assert_eq!(to("now/w"), ms("2024-05-19T23:59:59.999Z"));
        assert_eq!(from("now/M"), ms("2024-05-01T00:00:00Z"));
        assert_eq!(to("now/M"), ms("2024-05-31T23:59:59.999Z"));
        assert_eq!(from("now-1y/y"), ms("2023-01-01T00:00:00Z"));
        assert_eq!(to("now/y"), ms("2024-12-31T23:59:59.999Z"));
        assert_eq!(from("now/d+8h"), ms("2024-05-15T08:00:00Z"));
    }

    #[test]
    fn rounding_follows_the_given_utc_offset() {
        let paris_summer = FixedOffset::east_opt(2 * 3600).unwrap();
        let t = parse_time_in("now/d", NOW, Boundary::From, paris_summer).unwrap();
        assert_eq!(t, ms("2024-05-15T00:00:00+02:00"));
        let t = parse_time_in("2024-05-15 08:00:00", NOW, Boundary::From, paris_summer).unwrap();
        assert_eq!(t, ms("2024-05-15T06:00:00Z"));
    }

    #[test]
    fn absolute_forms_epoch_ms_rfc3339_and_the_picker_format() {
        assert_eq!(from("1700000000000"), 1_700_000_000_000);
        assert_eq!(from("-1000"), -1000);
        assert_eq!(from("2024-05-01T12:00:00Z"), ms("2024-05-01T12:00:00Z"));
        assert_eq!(
            from("2024-05-01T12:00:00.5+02:00"),
            ms("2024-05-01T10:00:00.5Z")
        );
        assert_eq!(from("2024-05-01 12:00:00"), ms("2024-05-01T12:00:00Z"));
    }

    #[test]
    fn a_range_resolves_both_ends_and_refuses_a_reversed_one() {
        assert_eq!(
            parse_range("now-1d/d", "now-1d/d", NOW).unwrap(),
            TimeRange {
                from_ms: ms("2024-05-14T00:00:00Z"),
                to_ms: ms("2024-05-14T23:59:59.999Z"),
            }
        );
        assert!(matches!(
            parse_range("now", "now-1h", NOW),
            Err(TimeParseError::Reversed { .. })
        ));
    }

    #[test]
    fn bad_input_gives_an_error_naming_the_accepted_forms_without_panicking() {
        for bad in [
            "",
            "yesterday",
            "now-",
            "now-6",
            "now-6x",
            "now/",
            "now/q",
            "now*2",
            "nowish",
            "2024-13-01T00:00:00Z",
            "now-6h/",
            "now-1é",
        ] {
            let e = parse_time(bad, NOW, Boundary::From).unwrap_err();
            assert!(matches!(e, TimeParseError::Invalid { .. }), "{bad}: {e:?}");
            assert!(
                e.to_string().contains("now-1d/d") && e.to_string().contains("RFC 3339"),
                "{e}"
            );
        }
        for huge in [
            "99999999999999999999",
            "now-99999999999999999999h",
            "now-9999999999y",
            "now+9223372036854775807s",
        ] {
            let e = parse_time(huge, NOW, Boundary::From).unwrap_err();
            assert!(
                matches!(e, TimeParseError::OutOfRange { .. }),
                "{huge}: {e:?}"
            );
        }
        assert!(parse_time("now", i64::MAX, Boundary::From).is_err());
        let e: crate::Error = parse_time("soon", NOW, Boundary::To).unwrap_err().into();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn a_long_input_is_shortened_in_the_message() {
        let long = "x".repeat(10_000);
        let e = parse_time(&long, NOW, Boundary::From).unwrap_err();
        assert!(e.to_string().len() < 500, "{}", e.to_string().len());
    }
}
