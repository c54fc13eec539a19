//! Host metrics from a Prometheus that scrapes node exporters
//! (<https://github.com/prometheus/node_exporter>): one instant query answers every instance
//! at once, each series tagged by a `paaf` label naming its metric, and a host is matched to an
//! instance by its `instance` setting or by its address (the instance's host part).

use super::Sample;
use crate::config::HostConfig;
use crate::monitor::prometheus::QueryResult;
use std::collections::BTreeMap;

/// Filesystems that are memory or read-only images, not disks that fill up.
const NOT_DISKS: &str = "tmpfs|devtmpfs|squashfs|ramfs|nsfs|autofs|fuse.lxcfs";

/// The one PromQL query for every host: CPU busy % over 5 minutes (several scrapes even at a
/// one-minute interval), load1, memory in use %, the fullest filesystem % as df counts it, with
/// its mountpoint (topk keeps its labels), uptime.
pub fn query() -> String {
    let fs = format!("fstype!~\"{NOT_DISKS}\"");
    let tag = |expr: &str, metric: &str| {
        format!("label_replace({expr}, \"paaf\", \"{metric}\", \"\", \"\")")
    };
    [
        tag(
            "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
            "cpu",
        ),
        tag("node_load1", "load"),
        tag(
            "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
            "memory",
        ),
        // df's capacity: used / (used + available to users), blocks reserved for root aside.
        tag(
            &format!(
                "topk by (instance) (1, 100 * (node_filesystem_size_bytes{{{fs}}} - node_filesystem_free_bytes{{{fs}}}) / ((node_filesystem_size_bytes{{{fs}}} - node_filesystem_free_bytes{{{fs}}} + node_filesystem_avail_bytes{{{fs}}}) > 0))"
            ),
            "disk",
        ),
        tag("node_time_seconds - node_boot_time_seconds", "uptime"),
    ]
    .join(" or ")
}

/// The samples of an answer to [`query`], by `instance` label. A series without a finite
/// value, or without an instance, is left out.
pub fn samples(result: &QueryResult) -> BTreeMap<String, Sample> {
    let mut by_instance: BTreeMap<String, Sample> = BTreeMap::new();
    for series in &result.series {
        let (Some(instance), Some(metric)) =
            (series.labels.get("instance"), series.labels.get("paaf"))
        else {
            continue;
        };
        let Some(value) = series
            .values
            .last()
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
        else {
            continue;
        };
        let sample = by_instance.entry(instance.clone()).or_default();
        match metric.as_str() {
            "cpu" => sample.cpu_percent = Some(value.clamp(0.0, 100.0)),
            "load" => sample.load1 = Some(value),
            "memory" => sample.memory_percent = Some(value),
            "disk" => {
                let mount = series.labels.get("mountpoint").cloned().unwrap_or_default();
                sample.disk = Some((mount, value));
            }
            "uptime" if value >= 0.0 => sample.uptime_secs = Some(value as u64),
            _ => {}
        }
    }
    by_instance
}

/// The instance of `instances` that is `host`'s: its `instance` setting exactly; without one,
/// the first whose host part (`10.0.0.5` of `10.0.0.5:9100`, `::1` of `[::1]:9100`) is its
/// address.
pub fn instance_of<'a>(
    host: &HostConfig,
    mut instances: impl Iterator<Item = &'a String>,
) -> Option<&'a String> {
    match &host.instance {
        Some(wanted) => instances.find(|i| *i == wanted),
        None => instances.find(|i| host_part(i).eq_ignore_ascii_case(&host.address)),
    }
}

/// `instance` without its port.
fn host_part(instance: &str) -> &str {
    if let Some(rest) = instance.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match instance.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => instance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::frames::Series;
    use crate::monitor::prometheus::ResultType;

    fn series(labels: &[(&str, &str)], value: Option<f64>) -> Series {
        Series {
            ref_id: "A".into(),
            name: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unit: None,
            times_ms: vec![0],
            values: vec![value],
        }
    }

    #[test]
    fn every_instance_gets_its_values_and_odd_series_are_left_out() {
        let result = QueryResult {
            result_type: ResultType::Vector,
            series: vec![
                series(
                    &[("instance", "10.0.0.5:9100"), ("paaf", "cpu")],
                    Some(12.5),
                ),
                series(
                    &[
                        ("instance", "10.0.0.5:9100"),
                        ("paaf", "disk"),
                        ("mountpoint", "/var"),
                    ],
                    Some(93.0),
                ),
                series(
                    &[("instance", "10.0.0.5:9100"), ("paaf", "uptime")],
                    Some(61.9),
                ),
                series(
                    &[("instance", "10.0.0.6:9100"), ("paaf", "load")],
                    Some(f64::NAN),
                ),
                series(&[("instance", "10.0.0.6:9100"), ("paaf", "memory")], None),
                series(&[("paaf", "cpu")], Some(1.0)),
                series(&[("instance", "x"), ("paaf", "other")], Some(1.0)),
            ],
            text: None,
            step_ms: None,
            warnings: vec![],
        };
        let s = samples(&result);
        let web = &s["10.0.0.5:9100"];
        assert_eq!(web.cpu_percent, Some(12.5));
        assert_eq!(web.disk, Some(("/var".to_string(), 93.0)));
        assert_eq!(web.uptime_secs, Some(61));
        assert!(!s.contains_key("10.0.0.6:9100"));
        assert_eq!(s["x"], Sample::default());
    }

    #[test]
    fn a_host_is_its_instance_setting_or_its_address() {
        let config = crate::config::Config::parse(
            std::path::Path::new("/c.toml"),
            "[[hosts]]\nname = \"a\"\naddress = \"10.0.0.5\"\nuser = \"u\"\nauth = { type = \"agent\" }\n\
             [[hosts]]\nname = \"b\"\naddress = \"10.0.0.6\"\nuser = \"u\"\nauth = { type = \"agent\" }\ninstance = \"b.internal:9100\"\n\
             [[hosts]]\nname = \"c\"\naddress = \"::1\"\nuser = \"u\"\nauth = { type = \"agent\" }\n",
        )
        .unwrap();
        let instances: Vec<String> = [
            "10.0.0.50:9100",
            "10.0.0.5:9100",
            "10.0.0.6:9100",
            "[::1]:9100",
            "b.internal:9100",
        ]
        .map(String::from)
        .to_vec();
        let of = |i: usize| instance_of(&config.hosts[i], instances.iter()).map(String::as_str);
        assert_eq!(of(0), Some("10.0.0.5:9100"));
        assert_eq!(
            of(1),
            Some("b.internal:9100"),
            "the setting wins over the address"
        );
        assert_eq!(of(2), Some("[::1]:9100"));
        assert_eq!(host_part("web-1"), "web-1");
        assert_eq!(host_part("fe80::1"), "fe80::1");
    }

    #[test]
    fn the_query_tags_each_metric() {
        let q = query();
        for metric in ["cpu", "load", "memory", "disk", "uptime"] {
            assert!(q.contains(&format!("\"paaf\", \"{metric}\"")), "{q}");
        }
    }
}
