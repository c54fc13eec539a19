//! The metrics of a host list: every `[[monitoring]]` Prometheus asked once for the node
//! exporters it scrapes (while the SSH probes run), each host given its exporter's values, or
//! the values its probe read over SSH when no Prometheus has it.

use super::Paaf;
use super::monitoring::service_of;
use crate::config::{HostConfig, MonitoringConfig, MonitoringKind};
use crate::error::{Error, Result};
use crate::host_metrics::{HostMetrics, MetricsSource, Sample, node_exporter};
use crate::inventory::Probe;
use crate::monitor::prometheus::{self, Prometheus};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a host list waits for a Prometheus before it keeps the SSH values.
const PROMETHEUS_WAIT: Duration = Duration::from_secs(5);

/// What one Prometheus said: the samples by instance, or why it could not be read.
pub(super) struct NodeExporters {
    source: String,
    samples: Result<BTreeMap<String, Sample>>,
}

impl Paaf {
    /// Every Prometheus source's node exporter samples, read concurrently (none configured:
    /// nothing asked).
    pub(super) async fn node_exporters(&self) -> Vec<NodeExporters> {
        let sources: Vec<MonitoringConfig> = self
            .config()
            .monitoring
            .iter()
            .filter(|m| m.kind == MonitoringKind::Prometheus)
            .cloned()
            .collect();
        let reads = sources.iter().map(|source| async move {
            NodeExporters {
                source: source.name.clone(),
                samples: self.node_exporter_samples(source).await,
            }
        });
        futures::future::join_all(reads).await
    }

    async fn node_exporter_samples(
        &self,
        source: &MonitoringConfig,
    ) -> Result<BTreeMap<String, Sample>> {
        let service = service_of(source, self.secrets.as_ref())?;
        let api = Prometheus::new(&service, prometheus::API_V1);
        let wait = PROMETHEUS_WAIT.min(source.timeout);
        let result = tokio::time::timeout(wait, api.query(&node_exporter::query(), None))
            .await
            .map_err(|_| {
                Error::other(format!(
                    "prometheus `{}` did not answer within {}s",
                    source.name,
                    wait.as_secs()
                ))
            })??;
        Ok(node_exporter::samples(&result))
    }
}

/// `host`'s metrics: from the first Prometheus that has its node exporter, else from its SSH
/// probe; `None` when neither read it.
pub(super) fn metrics_of(
    host: &HostConfig,
    exporters: &[NodeExporters],
    probe: Option<&Probe>,
) -> Option<HostMetrics> {
    for e in exporters {
        let Ok(samples) = &e.samples else { continue };
        if let Some(instance) = node_exporter::instance_of(host, samples.keys()) {
            let sample = samples[instance].clone();
            let problems = missing(&sample);
            let source = MetricsSource::NodeExporter {
                source: e.source.clone(),
                instance: instance.clone(),
            };
            return Some(HostMetrics::new(source, sample, &host.thresholds, problems));
        }
    }
    let mut metrics = probe.map(|p| p.metrics(host));
    // A host configured with an instance expects it to be found: say why it was not.
    if let (Some(instance), Some(m)) = (&host.instance, metrics.as_mut()) {
        let why: Vec<String> = exporters
            .iter()
            .map(|e| match &e.samples {
                Ok(_) => format!("prometheus `{}` has no instance `{instance}`", e.source),
                Err(err) => format!("prometheus `{}`: {err}", e.source),
            })
            .collect();
        m.problems.push(match why.is_empty() {
            true => format!(
                "instance `{instance}` is set but no [[monitoring]] Prometheus is configured; read over SSH"
            ),
            false => format!("{}; read over SSH", why.join("; ")),
        });
    }
    metrics
}

/// What a node exporter sample lacks, in words.
fn missing(sample: &Sample) -> Vec<String> {
    [
        ("cpu", sample.cpu_percent.is_none()),
        ("load", sample.load1.is_none()),
        ("memory", sample.memory_percent.is_none()),
        ("disk", sample.disk.is_none()),
    ]
    .iter()
    .filter(|(_, absent)| *absent)
    .map(|(what, _)| format!("{what}: no series from the node exporter"))
    .collect()
}
