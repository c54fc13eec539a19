//! Levels of a measured value against its `[warning, danger]` limits: what a host's CPU, load,
//! memory and disk columns and a RebootX runnable's metrics are coloured by.

use serde::{Deserialize, Serialize};

/// How a value stands against its limits. Ordered from the least to the most worrying, so the
/// worst of several is their `max` (an unread value worries more than one read as fine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Level {
    /// Below the warning limit, or no limit is set for it.
    Ok,
    /// Not read (the host did not answer, its answer could not be parsed).
    Unknown,
    /// At or past the warning limit.
    Warning,
    /// At or past the danger limit.
    Danger,
}

impl Level {
    /// The word a list shows.
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Unknown => "unknown",
            Level::Warning => "warning",
            Level::Danger => "danger",
        }
    }
}

/// Where a value turns into a warning and into a danger. With `warning > danger` higher is
/// better (the RebootX on-prem spec's reversed form, e.g. free space `[20, 10]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Threshold {
    pub warning: f64,
    pub danger: f64,
}

impl Threshold {
    /// The level of `value` (`Unknown` when there is none, or it is not a number).
    pub fn level(&self, value: Option<f64>) -> Level {
        let Some(v) = value.filter(|v| !v.is_nan()) else {
            return Level::Unknown;
        };
        let past = |limit: f64| match self.warning <= self.danger {
            true => v >= limit,
            false => v <= limit,
        };
        if past(self.danger) {
            Level::Danger
        } else if past(self.warning) {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

/// The level of `value` against `threshold`, `Ok` when no limit is set and it was read.
pub fn level_of(value: Option<f64>, threshold: Option<&Threshold>) -> Level {
    match (value.filter(|v| !v.is_nan()), threshold) {
        (None, _) => Level::Unknown,
        (Some(_), None) => Level::Ok,
        (v, Some(t)) => t.level(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_limits_both_ways_and_a_missing_value_is_unknown() {
        let disk = Threshold {
            warning: 80.0,
            danger: 90.0,
        };
        assert_eq!(disk.level(Some(79.9)), Level::Ok);
        assert_eq!(disk.level(Some(80.0)), Level::Warning);
        assert_eq!(disk.level(Some(90.0)), Level::Danger);
        assert_eq!(disk.level(Some(100.0)), Level::Danger);
        assert_eq!(disk.level(None), Level::Unknown);
        assert_eq!(disk.level(Some(f64::NAN)), Level::Unknown);
        // Higher is better (the spec's reversed thresholds).
        let free = Threshold {
            warning: 20.0,
            danger: 10.0,
        };
        assert_eq!(free.level(Some(50.0)), Level::Ok);
        assert_eq!(free.level(Some(15.0)), Level::Warning);
        assert_eq!(free.level(Some(10.0)), Level::Danger);
        assert_eq!(level_of(Some(3.0), None), Level::Ok);
        assert_eq!(level_of(None, None), Level::Unknown);
        assert!(Level::Danger > Level::Warning && Level::Warning > Level::Unknown);
        assert!(Level::Unknown > Level::Ok);
    }
}
