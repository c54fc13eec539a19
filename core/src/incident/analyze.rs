//! The Analyze step of an incident: what its playbook says to look at — its dashboards opened
//! on the incident's window, and its PromQL queries' values now against their thresholds.

use super::postmortem::DashboardLink;
use crate::error::ErrorInfo;
use serde::Serialize;

/// What to look at for an incident, read now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentLook {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    /// The playbook's dashboards (and listed panels) from the start of impact to now.
    pub dashboards: Vec<DashboardLink>,
    pub queries: Vec<QueryCheck>,
}

/// One playbook query, evaluated now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueryCheck {
    /// The `[[monitoring]]` Prometheus it ran on.
    pub source: String,
    pub expr: String,
    /// Trouble above this value.
    pub above: Option<f64>,
    /// Trouble below this value.
    pub below: Option<f64>,
    /// One per series of the answer.
    pub values: Vec<QueryValue>,
    /// A value is past a threshold, or the query answered nothing (no data is no all-clear).
    pub trouble: bool,
    /// Why it could not be evaluated.
    pub error: Option<ErrorInfo>,
}

/// One series' value now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueryValue {
    /// The series' labels, Prometheus style (`up{job="api"}`).
    pub series: String,
    /// `None`: no number (null).
    pub value: Option<f64>,
    /// Past a threshold.
    pub trouble: bool,
}

/// Whether `value` is past `above` or `below`; NaN is past either.
pub fn past(value: f64, above: Option<f64>, below: Option<f64>) -> bool {
    (value.is_nan() && (above.is_some() || below.is_some()))
        || above.is_some_and(|a| value > a)
        || below.is_some_and(|b| value < b)
}

impl QueryCheck {
    /// The check of `values` (series name, value) against the thresholds.
    pub fn of(
        source: &str,
        expr: &str,
        above: Option<f64>,
        below: Option<f64>,
        values: Vec<(String, Option<f64>)>,
    ) -> QueryCheck {
        let values: Vec<QueryValue> = values
            .into_iter()
            .map(|(series, value)| QueryValue {
                trouble: value.is_some_and(|v| past(v, above, below)),
                series,
                value,
            })
            .collect();
        QueryCheck {
            source: source.to_string(),
            expr: expr.to_string(),
            above,
            below,
            trouble: values.is_empty() || values.iter().any(|v| v.trouble),
            values,
            error: None,
        }
    }

    /// A query that could not be run.
    pub fn failed(
        source: &str,
        expr: &str,
        above: Option<f64>,
        below: Option<f64>,
        error: ErrorInfo,
    ) -> QueryCheck {
        QueryCheck {
            source: source.to_string(),
            expr: expr.to_string(),
            above,
            below,
            values: Vec::new(),
            trouble: true,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_past_a_threshold_is_trouble_and_no_data_is_no_all_clear() {
        assert!(past(6.0, Some(5.0), None));
        assert!(!past(5.0, Some(5.0), None), "the threshold itself is fine");
        assert!(past(0.0, None, Some(1.0)));
        assert!(!past(1.0, None, Some(1.0)));
        assert!(past(f64::NAN, Some(5.0), None));
        assert!(!past(1e9, None, None), "no threshold, no trouble");
        let check = QueryCheck::of(
            "prom",
            "up",
            None,
            Some(1.0),
            vec![
                ("up{job=\"a\"}".into(), Some(1.0)),
                ("up{job=\"b\"}".into(), Some(0.0)),
            ],
        );
        assert!(check.trouble);
        assert_eq!(
            check.values.iter().map(|v| v.trouble).collect::<Vec<_>>(),
            [false, true]
        );
        assert!(QueryCheck::of("prom", "up", None, Some(1.0), Vec::new()).trouble);
    }
}
