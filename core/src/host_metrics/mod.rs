//! Per host CPU %, load, memory %, disk % of the fullest mount and uptime, each with its level
//! against the host's thresholds. Read from the host's Prometheus node exporter when a
//! `[[monitoring]]` Prometheus scrapes it ([`node_exporter`]), else over the status probe's own
//! SSH round trip from /proc and `df` ([`proc`]).

pub mod node_exporter;
pub mod proc;

use crate::config::HostThresholds;
use crate::thresholds::{Level, level_of};
use serde::Serialize;

/// The values read from one host, before any threshold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub cpu_percent: Option<f64>,
    pub load1: Option<f64>,
    pub memory_percent: Option<f64>,
    /// The fullest mount and how full it is (%).
    pub disk: Option<(String, f64)>,
    pub uptime_secs: Option<u64>,
}

/// Where a host's metrics came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MetricsSource {
    /// Read over SSH from /proc and `df`, with the status probe.
    Ssh,
    /// Queried from a `[[monitoring]]` Prometheus (`source`) that scrapes the host's node
    /// exporter as `instance`.
    NodeExporter { source: String, instance: String },
}

/// One value and its level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Reading {
    pub value: Option<f64>,
    pub level: Level,
}

/// A host's metrics as a list shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostMetrics {
    pub source: MetricsSource,
    /// Busy CPU time, % of all CPUs.
    pub cpu_percent: Reading,
    /// Load average over 1 minute.
    pub load1: Reading,
    /// Memory in use (not available), %.
    pub memory_percent: Reading,
    /// Used space of the fullest mount, %.
    pub disk_percent: Reading,
    /// The mount `disk_percent` is of.
    pub disk_mount: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub uptime_secs: Option<u64>,
    /// Why a value is unknown, one line each.
    pub problems: Vec<String>,
}

impl HostMetrics {
    /// `sample` read from `source`, each value levelled against `thresholds`.
    pub fn new(
        source: MetricsSource,
        sample: Sample,
        thresholds: &HostThresholds,
        problems: Vec<String>,
    ) -> HostMetrics {
        let reading = |value: Option<f64>, t| Reading {
            value,
            level: level_of(value, t),
        };
        let (disk_mount, disk) = sample.disk.unzip();
        HostMetrics {
            source,
            cpu_percent: reading(sample.cpu_percent, thresholds.cpu.as_ref()),
            load1: reading(sample.load1, thresholds.load.as_ref()),
            memory_percent: reading(sample.memory_percent, thresholds.memory.as_ref()),
            disk_percent: reading(disk, thresholds.disk.as_ref()),
            disk_mount,
            uptime_secs: sample.uptime_secs,
            problems,
        }
    }

    /// The most worrying level of its values.
    pub fn worst(&self) -> Level {
        [
            self.cpu_percent,
            self.load1,
            self.memory_percent,
            self.disk_percent,
        ]
        .iter()
        .map(|r| r.level)
        .max()
        .unwrap_or(Level::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_get_their_level_and_the_worst_one_is_the_host_s() {
        let sample = Sample {
            cpu_percent: Some(12.0),
            load1: Some(0.5),
            memory_percent: None,
            disk: Some(("/".into(), 97.0)),
            uptime_secs: Some(60),
        };
        let m = HostMetrics::new(
            MetricsSource::Ssh,
            sample,
            &HostThresholds::default(),
            vec![],
        );
        assert_eq!(m.cpu_percent.level, Level::Ok);
        assert_eq!(m.load1.level, Level::Ok, "no load limit by default");
        assert_eq!(m.memory_percent.level, Level::Unknown);
        assert_eq!(m.disk_percent.level, Level::Danger);
        assert_eq!(m.disk_mount.as_deref(), Some("/"));
        assert_eq!(m.worst(), Level::Danger);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["disk_percent"]["level"], "danger");
        assert_eq!(json["source"]["kind"], "ssh");
    }
}
