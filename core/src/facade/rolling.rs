//! Fix: a rolling reboot of a group of cloud servers — N at a time, each followed to running
//! and health-checked before the next batch, stopping at the first failure so that one bad
//! reboot never takes the whole group down.

use super::{Confirmation, Paaf};
use crate::cloud::health::HealthCheck;
use crate::cloud::{PollSettings, PowerAction, PowerOutcome, Server, ServerFilter, ServerStatus};
use crate::error::{Error, ErrorInfo, Result};
use crate::events::CancellationToken;
use crate::journal::{ActionKind, ActionState, NewAction};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How carefully to reboot the servers of a [`Paaf::rolling_selection`].
#[derive(Debug, Clone)]
pub struct RollingPlan {
    /// Servers rebooted at once (at least 1).
    pub batch: usize,
    /// A hard reboot (reset) instead of a clean one.
    pub hard: bool,
    /// Checked on each server of a batch after it is running again; none = running is enough.
    pub health: Option<HealthCheck>,
    /// How long a server may take to pass its health check.
    pub health_timeout: Duration,
    /// Between two tries of a failing health check.
    pub health_interval: Duration,
    pub poll: PollSettings,
}

/// What a rolling reboot is doing, for progress output.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RollingEvent {
    /// A batch of servers is being rebooted.
    Batch {
        number: usize,
        of: usize,
        servers: Vec<String>,
    },
    /// A server's state as the provider reported it.
    State { server: String, raw_state: String },
    /// A health check failed and will be tried again.
    Unhealthy { server: String, reason: String },
    /// The server is running and healthy.
    Healthy { server: String },
}

/// How a rolling reboot ended.
#[derive(Debug, Clone, Serialize)]
pub struct RollingReport {
    /// The servers rebooted and healthy, in order.
    pub done: Vec<PowerOutcome>,
    /// The server that failed (reboot or health check), which stopped the roll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<RollingFailure>,
    /// The servers never touched because the roll stopped.
    pub not_started: Vec<Server>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollingFailure {
    pub server: Server,
    pub error: ErrorInfo,
}

impl RollingReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_none()
    }
}

fn label(s: &Server) -> String {
    s.name.clone().unwrap_or_else(|| s.id.clone())
}

/// Only running servers can be rolled: a stopped one would never come back "running".
fn all_running(servers: &[Server]) -> Result<()> {
    let not_running: Vec<String> = servers
        .iter()
        .filter(|s| s.status != ServerStatus::Running)
        .map(|s| format!("{} ({})", label(s), s.raw_state))
        .collect();
    if not_running.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "not every selected server is running: {}. Narrow the selection (e.g. --status running) or start them first",
        not_running.join(", ")
    )))
}

impl Paaf {
    /// The servers `filter` selects, checked for a rolling reboot: at least one, all running.
    pub async fn rolling_selection(&self, filter: &ServerFilter) -> Result<Vec<Server>> {
        if filter.is_empty() {
            return Err(Error::invalid(
                "a rolling reboot needs a selection: give a tag (--tag role=web), a query or servers",
            ));
        }
        let inventory = self.servers(filter.account.as_deref()).await?;
        let selected: Vec<Server> = inventory
            .servers
            .into_iter()
            .filter(|s| filter.matches(s))
            .collect();
        if selected.is_empty() {
            return Err(Error::NotFound {
                what: "server",
                name: "matching the selection".into(),
                hint: Some(if inventory.errors.is_empty() {
                    "see `paaf server list` with the same filters".into()
                } else {
                    format!(
                        "{} account(s) or region(s) could not be listed: see `paaf server list`",
                        inventory.errors.len()
                    )
                }),
            });
        }
        all_running(&selected)?;
        Ok(selected)
    }

    /// Reboots `servers` (a [`Paaf::rolling_selection`], listed once: the caller shows it in
    /// its confirmation), `plan.batch` at a time; each batch is followed to running and
    /// health-checked before the next starts, and the first failure stops the roll (the rest
    /// are left as they are and listed). Every reboot is journaled, and the roll itself is one
    /// journal entry too.
    pub async fn rolling_reboot(
        &self,
        plan: &RollingPlan,
        servers: Vec<Server>,
        confirm: &Confirmation,
        cancel: CancellationToken,
        mut observe: impl FnMut(RollingEvent),
    ) -> Result<RollingReport> {
        if servers.is_empty() {
            return Err(Error::invalid("a rolling reboot needs at least one server"));
        }
        all_running(&servers)?;
        if let Some(check) = &plan.health {
            check.validate()?;
        }
        let batch = plan.batch.max(1);
        let names: Vec<String> = servers.iter().map(label).collect();
        let action = if plan.hard {
            PowerAction::HardReboot
        } else {
            PowerAction::Reboot
        };
        confirm.require(&format!(
            "rolling {} of {} servers, {batch} at a time: {}",
            action.as_str(),
            servers.len(),
            names.join(", ")
        ))?;
        let detail = format!(
            "{} of {} servers, {batch} at a time{}",
            action.as_str(),
            servers.len(),
            match &plan.health {
                Some(HealthCheck::Url(u)) => format!(", health {u}"),
                Some(HealthCheck::Command(c)) => format!(", health `{c}`"),
                None => String::new(),
            }
        );
        let started = Instant::now();
        let batches: Vec<&[Server]> = servers.chunks(batch).collect();
        let (batches, cancel, observe) = (&batches, &cancel, &mut observe);
        let report = self
            .journaled(
                NewAction::new(ActionKind::RollingReboot, &names.join(","), &detail),
                |journal| async move {
                    journal.now()?;
                    let mut done = Vec::new();
                    for (n, group) in batches.iter().enumerate() {
                        observe(RollingEvent::Batch {
                            number: n + 1,
                            of: batches.len(),
                            servers: group.iter().map(label).collect(),
                        });
                        let (results, events) =
                            self.reboot_batch(group, action, plan, cancel).await;
                        for e in events {
                            observe(e);
                        }
                        for (server, result) in group.iter().zip(results) {
                            match result {
                                Ok(outcome) => {
                                    observe(RollingEvent::Healthy {
                                        server: label(server),
                                    });
                                    done.push(outcome);
                                }
                                Err(e) => {
                                    let rest = batches[n + 1..]
                                        .iter()
                                        .flat_map(|b| b.iter().cloned())
                                        .collect();
                                    return Ok(RollingReport {
                                        done,
                                        failed: Some(RollingFailure {
                                            server: server.clone(),
                                            error: ErrorInfo::from(&e),
                                        }),
                                        not_started: rest,
                                        elapsed_ms: started.elapsed().as_millis() as u64,
                                    });
                                }
                            }
                        }
                    }
                    Ok(RollingReport {
                        done,
                        failed: None,
                        not_started: Vec::new(),
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    })
                },
                |r: &RollingReport| match &r.failed {
                    None => (
                        ActionState::Succeeded,
                        format!(
                            "{} servers rebooted and healthy in {:.1}s",
                            r.done.len(),
                            r.elapsed_ms as f64 / 1000.0
                        ),
                    ),
                    Some(f) => (
                        ActionState::Failed,
                        format!(
                            "stopped at {} ({}: {}); {} done, {} not started",
                            label(&f.server),
                            f.error.code.as_str(),
                            f.error.message,
                            r.done.len(),
                            r.not_started.len()
                        ),
                    ),
                },
            )
            .await?;
        Ok(report)
    }

    /// Reboots one batch concurrently and health-checks each server; the events seen, in
    /// order per server.
    async fn reboot_batch(
        &self,
        group: &[Server],
        action: PowerAction,
        plan: &RollingPlan,
        cancel: &CancellationToken,
    ) -> (Vec<Result<PowerOutcome>>, Vec<RollingEvent>) {
        let runs = group.iter().map(|server| async move {
            let mut events = Vec::new();
            let outcome = self
                .power_found(server, action, plan.poll, cancel.clone(), |p| {
                    events.push(RollingEvent::State {
                        server: label(server),
                        raw_state: p.server.raw_state.clone(),
                    })
                })
                .await;
            let result = match outcome {
                Ok(outcome) => self
                    .healthy(&outcome.server, plan, cancel, &mut events)
                    .await
                    .map(|()| outcome),
                Err(e) => Err(e),
            };
            (result, events)
        });
        let mut results = Vec::new();
        let mut all_events = Vec::new();
        for (result, events) in futures::future::join_all(runs).await {
            results.push(result);
            all_events.extend(events);
        }
        (results, all_events)
    }

    /// Tries `plan.health` on `server` until it passes or `plan.health_timeout` is spent.
    async fn healthy(
        &self,
        server: &Server,
        plan: &RollingPlan,
        cancel: &CancellationToken,
        events: &mut Vec<RollingEvent>,
    ) -> Result<()> {
        let Some(check) = &plan.health else {
            return Ok(());
        };
        let started = Instant::now();
        loop {
            let reason = match check
                .check(server, plan.health_interval.max(Duration::from_secs(5)))
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if started.elapsed() + plan.health_interval > plan.health_timeout {
                return Err(Error::other(format!(
                    "{} did not pass its health check within {}s: {reason}",
                    label(server),
                    plan.health_timeout.as_secs()
                )));
            }
            events.push(RollingEvent::Unhealthy {
                server: label(server),
                reason,
            });
            tokio::select! {
                _ = tokio::time::sleep(plan.health_interval) => {}
                _ = cancel.cancelled() => {
                    return Err(Error::Cancelled {
                        what: format!("health check of {} (it was rebooted)", label(server)),
                    });
                }
            }
        }
    }
}
