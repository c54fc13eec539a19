//! Fleets: one command or runbook on every host a selector chooses (names or globs, tags,
//! groups), as `paaf exec --tag role=web` does: a confirmation with the host count and a
//! sample of names, the results grouped by output live to a listener as hosts finish, and a
//! handle that cancels the hosts not started yet. The core runs and journals it (one parent
//! action, a row per host); the records here carry its counts as `u32` (uniffi has no `usize`).

use crate::operation::Operation;
use crate::{Paaf, PaafError, RUNTIME};
use paaf_core::config::{HostSelector, host_sample};
use paaf_core::{
    Confirmation, DEFAULT_PARALLEL, ErrorCode, FanOutJob, FanOutOptions, HostRun, LiveGroups,
    OutputGroup, fan_out_question,
};
use std::sync::Arc;
use std::time::Duration;

/// Which hosts: any of `names` (exact or a glob, `web-*`; empty: every host) that has every
/// tag of `tags` (`KEY=VALUE`) and is in every group of `groups`.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct FleetSelector {
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub groups: Vec<String>,
}

impl FleetSelector {
    fn parse(&self) -> paaf_core::Result<HostSelector> {
        HostSelector::parse(&self.names, &self.tags, &self.groups)
    }
}

/// What a selector can choose by: the configured hosts' tags and groups, each once, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct FleetChoices {
    /// `KEY=VALUE`, as `FleetSelector.tags` takes them.
    pub tags: Vec<String>,
    pub groups: Vec<String>,
}

/// The confirmation a fan-out waits for.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FanOutAsk {
    /// The selector as one would type it (`'web-*' --tag role=web`): the journal's target.
    pub selector: String,
    /// Every chosen host, in config order.
    pub hosts: Vec<String>,
    pub host_count: u32,
    /// The count and the first names: "50 hosts: web-1, web-2, web-3, web-4, web-5 and 45 more".
    pub sample: String,
    /// "running `uptime` on 50 hosts: web-1, …": what the dialog asks.
    pub question: String,
    /// A dangerous runbook (`__name`): the name to type, confirmed by `Confirmation.Typed`.
    pub typed_name: Option<String>,
}

/// Counts of a fan-out, so far or at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct FanOutTally {
    pub total: u32,
    /// Finished, whatever the result.
    pub done: u32,
    /// Finished and not ok (a failed command, or the host could not run it).
    pub failed: u32,
    pub not_started: u32,
}

impl From<paaf_core::FanOutTally> for FanOutTally {
    fn from(t: paaf_core::FanOutTally) -> Self {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        FanOutTally {
            total: count(t.total),
            done: count(t.done),
            failed: count(t.failed),
            not_started: count(t.not_started),
        }
    }
}

/// The hosts finished so far, grouped as the end report groups them.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FanOutProgress {
    pub tally: FanOutTally,
    /// Largest group first; hosts in the order they finished.
    pub groups: Vec<OutputGroup>,
}

/// Everything a fan-out did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FanOutReport {
    /// The parent journal action (each host's row is under it).
    pub action_id: i64,
    pub job: FanOutJob,
    /// The selector as one would type it.
    pub selector: String,
    pub tally: FanOutTally,
    /// Largest group first.
    pub groups: Vec<OutputGroup>,
    /// Every host, in config order.
    pub hosts: Vec<HostRun>,
    pub elapsed_ms: u64,
    pub cancelled: bool,
    /// "50 hosts: 47 ok, 2 exit 1, 1 unreachable in 1.2s", as the journal has it.
    pub summary: String,
    /// Why it did not succeed everywhere (`cancelled`, `remote-command`, the first host's
    /// error); null when every host succeeded.
    pub failure: Option<ErrorCode>,
}

impl From<paaf_core::FanOutReport> for FanOutReport {
    fn from(r: paaf_core::FanOutReport) -> Self {
        let (summary, failure) = (r.summary(), r.failure());
        FanOutReport {
            action_id: r.action_id,
            job: r.job,
            selector: r.selector,
            tally: r.tally.into(),
            groups: r.groups,
            hosts: r.hosts,
            elapsed_ms: r.elapsed_ms,
            cancelled: r.cancelled,
            summary,
            failure,
        }
    }
}

/// Implemented by the app: receives the grouped results each time a host finishes, in order,
/// on a paaf thread (post to the UI thread from there).
#[uniffi::export(with_foreign)]
pub trait FanOutListener: Send + Sync {
    /// May throw: paaf drops the exception and the fan-out goes on.
    fn on_progress(&self, progress: FanOutProgress) -> Result<(), PaafError>;
}

/// A fan-out under way. `result()` waits for every host; `cancel()` — or dropping the handle —
/// starts no more hosts: those running finish (within their timeout) and are reported, the
/// others are `not started` and the report says `cancelled`.
#[derive(uniffi::Object)]
pub struct FanOutOperation(Operation<FanOutReport>);

#[uniffi::export]
impl FanOutOperation {
    /// Waits for the fan-out to end and returns its report.
    pub async fn result(&self) -> Result<FanOutReport, PaafError> {
        self.0.result("fan-out").await
    }

    /// Starts no more hosts (see the type's documentation).
    pub fn cancel(&self) {
        self.0.cancel.cancel();
    }

    /// True once the fan-out has ended, however it ended.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

/// Fleets: the hosts a selector chooses, and a command or runbook run on all of them.
#[uniffi::export]
impl Paaf {
    /// The tags and groups of the configured hosts, for a selector picker (no network).
    pub fn fleet_choices(&self) -> FleetChoices {
        let selectable = self.core.selectable();
        FleetChoices {
            tags: selectable
                .tags
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            groups: selectable.groups,
        }
    }

    /// The confirmation of running `job` on the hosts `selector` chooses (no network); an
    /// error, listing the tags, groups and hosts there are, when it chooses none.
    pub fn fan_out_ask(
        &self,
        selector: FleetSelector,
        job: FanOutJob,
    ) -> Result<FanOutAsk, PaafError> {
        let selector = selector.parse()?;
        let hosts: Vec<String> = self
            .core
            .select_hosts(&selector)?
            .into_iter()
            .map(|h| h.name)
            .collect();
        let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let typed_name = match &job {
            FanOutJob::Runbook(r) if paaf_core::runbooks::is_dangerous(r) => Some(r.clone()),
            _ => None,
        };
        Ok(FanOutAsk {
            selector: selector.describe(),
            host_count: u32::try_from(hosts.len()).unwrap_or(u32::MAX),
            sample: host_sample(&names),
            question: fan_out_question(&job, &names),
            typed_name,
            hosts,
        })
    }

    /// Runs `job` on every host `selector` chooses after its confirmation, `parallel` at once
    /// (null: 64), each within `timeout_secs` (null: the host's `command_timeout_secs`); the
    /// grouped results go to `listener` as hosts finish. Journaled: one action, a row per host.
    pub fn fan_out(
        &self,
        selector: FleetSelector,
        job: FanOutJob,
        parallel: Option<u32>,
        timeout_secs: Option<u32>,
        confirmation: Confirmation,
        listener: Arc<dyn FanOutListener>,
    ) -> Arc<FanOutOperation> {
        let core = self.core.clone();
        let options = FanOutOptions {
            parallel: parallel.map_or(DEFAULT_PARALLEL, |n| n as usize),
            timeout: timeout_secs.map(|s| Duration::from_secs(u64::from(s))),
        };
        let sink = Arc::new(LiveGroups::new(move |p: paaf_core::FanOutProgress| {
            crate::screens::heard(listener.on_progress(FanOutProgress {
                tally: p.tally.into(),
                groups: p.groups,
            }))
        }));
        Arc::new(FanOutOperation(Operation::start(
            &RUNTIME,
            |token| async move {
                let selector = selector.parse()?;
                let report = core
                    .fan_out(&selector, job, options, &confirmation, sink, token)
                    .await?;
                Ok(report.into())
            },
        )))
    }
}
