//! The incident outbox's courier: sends the notifications and Grafana annotations queued in
//! the journal, beside the incident and never in its way. An attempt that fails is retried
//! with backoff (by this process while it lives, else by the next paaf that touches an
//! incident); any process sharing the journal may deliver, and a claim keeps two from sending
//! the same message at once.

use super::Paaf;
use crate::config::{Config, MonitoringKind};
use crate::error::{Error, Result};
use crate::incident::notify::{self, Notice};
use crate::incident::{Delivery, DeliveryKind, DeliveryState};
use crate::journal::{DueDelivery, Journal};
use crate::monitor::grafana::{Grafana, NewAnnotation};
use crate::secrets::SecretStore;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// After this many failed attempts a delivery is given up (the last is ~20 min after the
/// first).
const MAX_ATTEMPTS: u32 = 8;
/// How long a claimed delivery is left to its claimant before another process may retry it.
const LEASE_MS: i64 = 60_000;
/// Deliveries sent at once.
const BATCH: usize = 16;

/// The wait before retry `n` (1-based): 5 s, 10 s, 20 s, ... at most 10 min.
pub(crate) fn backoff(attempts: u32) -> Duration {
    let secs = 5u64.saturating_mul(1 << attempts.saturating_sub(1).min(10));
    Duration::from_secs(secs.min(600))
}

/// What one round of deliveries did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeliveryRound {
    pub sent: u32,
    /// Failed this time; retried later unless given up.
    pub failed: u32,
    /// The failures, one line each: `notify ops-slack: … (retry in 5s)`.
    pub errors: Vec<String>,
}

/// Which deliveries [`Paaf::resend`] sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendWhich {
    /// The delivery with this id.
    One(i64),
    /// Every delivery paaf gave up on.
    AllFailed,
}

/// What [`Paaf::resend`] did: the deliveries sent again as they stand after the attempt
/// (sent, or pending with the error and a retry), and the round that sent them.
#[derive(Debug, Clone, Serialize)]
pub struct Resent {
    pub deliveries: Vec<Delivery>,
    pub round: DeliveryRound,
}

/// Delivers the outbox; cheap to clone, one per facade.
#[derive(Clone)]
pub(crate) struct Courier {
    journal: Arc<Journal>,
    secrets: Arc<dyn SecretStore>,
    /// A background loop of this process is delivering (and waiting for retries).
    looping: Arc<AtomicBool>,
    /// Held through a round, so a caller waiting for the deliveries due now also waits for
    /// the ones a background round has claimed.
    in_round: Arc<tokio::sync::Mutex<()>>,
    /// What background rounds did since a caller last asked ([`Paaf::deliver_now`]).
    unreported: Arc<std::sync::Mutex<DeliveryRound>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Courier {
    pub(crate) fn new(journal: Arc<Journal>, secrets: Arc<dyn SecretStore>) -> Courier {
        Courier {
            journal,
            secrets,
            looping: Arc::default(),
            in_round: Arc::default(),
            unreported: Arc::default(),
            wake: Arc::default(),
        }
    }

    /// Sends what is due now, once each.
    pub(crate) async fn round(&self, config: &Config) -> DeliveryRound {
        let _round = self.in_round.lock().await;
        let mut out = DeliveryRound::default();
        let now = chrono::Utc::now().timestamp_millis();
        let due = match self.journal.claim_due_deliveries(now, LEASE_MS, BATCH) {
            Ok(due) => due,
            Err(e) => {
                out.errors.push(format!("cannot read the outbox: {e}"));
                return out;
            }
        };
        let attempts = due.iter().map(|d| async move {
            let result = self.attempt(config, d).await;
            (d, result)
        });
        for (d, result) in futures::future::join_all(attempts).await {
            let recorded = match result {
                Ok(()) => {
                    out.sent += 1;
                    self.journal.delivery_sent(d.id)
                }
                Err(e) => {
                    out.failed += 1;
                    let retry = (d.attempts < MAX_ATTEMPTS).then(|| backoff(d.attempts));
                    let what = match d.kind {
                        DeliveryKind::Notify => "notify",
                        DeliveryKind::Annotation => "annotation in",
                    };
                    out.errors.push(format!(
                        "{what} {}: {e} ({})",
                        d.channel,
                        match retry {
                            Some(r) => format!("retry in {}s", r.as_secs()),
                            None => format!("given up after {} attempts", d.attempts),
                        }
                    ));
                    self.journal.delivery_failed(
                        d.id,
                        &e.to_string(),
                        retry.map(|r| now + r.as_millis() as i64),
                    )
                }
            };
            if let Err(e) = recorded {
                tracing::warn!("cannot record delivery {}: {e}", d.id);
            }
        }
        out
    }

    async fn attempt(&self, config: &Config, d: &DueDelivery) -> Result<()> {
        match d.kind {
            DeliveryKind::Notify => {
                let target = config.notify_target(&d.channel)?;
                let notice: Notice = serde_json::from_value(d.payload.clone())
                    .map_err(|e| Error::other(format!("the queued notice is unreadable: {e}")))?;
                notify::send(target, &notice, d.id, self.secrets.as_ref()).await
            }
            DeliveryKind::Annotation => {
                let source =
                    config.monitoring_source(Some(&d.channel), Some(MonitoringKind::Grafana))?;
                let annotation: NewAnnotation =
                    serde_json::from_value(d.payload.clone()).map_err(|e| {
                        Error::other(format!("the queued annotation is unreadable: {e}"))
                    })?;
                let service = super::monitoring::service_of(source, self.secrets.as_ref())?;
                Grafana::new(service)
                    .annotate(&annotation)
                    .await
                    .map(|_| ())
            }
        }
    }

    /// Delivers in the background until nothing is pending, sleeping until each retry is
    /// due; one loop per process, woken by new messages. Nothing happens outside a tokio
    /// runtime (the next round delivers them).
    pub(crate) fn start(&self, config: Arc<Config>) {
        self.wake.notify_one();
        if tokio::runtime::Handle::try_current().is_err()
            || self.looping.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let courier = self.clone();
        tokio::spawn(async move {
            loop {
                let round = courier.round(&config).await;
                courier
                    .unreported
                    .lock()
                    .expect("unreported poisoned")
                    .add(round);
                let next = courier.journal.next_delivery_due().ok().flatten();
                let Some(next) = next else {
                    courier.looping.store(false, Ordering::SeqCst);
                    // A message queued between the read and the flag: deliver it too.
                    match courier.journal.next_delivery_due() {
                        Ok(Some(_)) if !courier.looping.swap(true, Ordering::SeqCst) => continue,
                        _ => return,
                    }
                };
                let wait = (next - chrono::Utc::now().timestamp_millis()).max(0) as u64;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                    _ = courier.wake.notified() => {}
                }
            }
        });
    }
}

impl Resent {
    /// True when every delivery sent again arrived.
    pub fn all_sent(&self) -> bool {
        self.deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Sent)
    }
}

impl DeliveryRound {
    fn add(&mut self, other: DeliveryRound) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.errors.extend(other.errors);
    }
}

impl Paaf {
    /// True while this process's courier is delivering (it queued a notification or an
    /// annotation, or retries one): a process about to exit gives those one attempt with
    /// [`Paaf::deliver_now`] first, else the exit cuts the courier's round short and leaves
    /// its claim on them for a minute.
    pub fn delivering(&self) -> bool {
        self.courier.looping.load(Ordering::SeqCst)
    }

    /// Sends the incident messages (notifications, annotations) due now, once each (after
    /// the background round under way, if any), and says how it went, background rounds since
    /// the last call included; what fails is retried later. For a front-end about to exit
    /// (the CLI) or showing delivery problems.
    pub async fn deliver_now(&self) -> DeliveryRound {
        let mut round = self.courier.round(&self.config()).await;
        let earlier =
            std::mem::take(&mut *self.courier.unreported.lock().expect("unreported poisoned"));
        round.add(earlier);
        round
    }

    /// The incident messages (notifications, annotations), newest first: of incident
    /// `incident_id` or of every incident; `failed_only`: only those paaf gave up on.
    pub fn deliveries(&self, incident_id: Option<i64>, failed_only: bool) -> Result<Vec<Delivery>> {
        self.journal.deliveries_where(incident_id, failed_only)
    }

    /// Sends again what paaf gave up on (after its attempts) or is still retrying: `which`
    /// names one delivery, or every given-up one. They go back in the queue with a fresh count
    /// of attempts and are sent now; what fails is retried with backoff as at first. A sent
    /// delivery is not sent twice.
    pub async fn resend(&self, which: ResendWhich) -> Result<Resent> {
        let ids: Vec<i64> = match which {
            ResendWhich::One(id) => {
                let d = self.journal.delivery(id)?.ok_or_else(|| Error::NotFound {
                    what: "delivery",
                    name: id.to_string(),
                    hint: Some("see the ids with `paaf incident deliveries`".into()),
                })?;
                if d.state == DeliveryState::Sent {
                    return Err(Error::invalid(format!(
                        "delivery {id} ({} to {}) was sent{}: nothing to resend",
                        d.event,
                        d.channel,
                        d.sent_at
                            .map(|t| format!(" at {}", t.to_rfc3339()))
                            .unwrap_or_default()
                    )));
                }
                vec![id]
            }
            ResendWhich::AllFailed => self
                .journal
                .deliveries_where(None, true)?
                .iter()
                .map(|d| d.id)
                .collect(),
        };
        self.journal
            .requeue_deliveries(&ids, chrono::Utc::now().timestamp_millis())?;
        let round = self.deliver_now().await;
        let mut deliveries = Vec::new();
        for id in ids {
            deliveries.extend(self.journal.delivery(id)?);
        }
        self.deliver_soon();
        Ok(Resent { deliveries, round })
    }

    /// Delivers queued incident messages in the background, retrying with backoff (and the
    /// team timeline's rows, when this device is paired).
    pub(crate) fn deliver_soon(&self) {
        self.courier.start(self.config());
        self.sync_team_soon();
    }

    /// Queues `notice` for each of `targets`.
    pub(crate) fn queue_notice(&self, incident_id: i64, targets: &[String], notice: &Notice) {
        let Ok(payload) = serde_json::to_value(notice) else {
            return;
        };
        for target in targets {
            if let Err(e) = self.journal.enqueue_delivery(
                incident_id,
                DeliveryKind::Notify,
                target,
                notice.event.as_str(),
                &payload,
            ) {
                tracing::warn!("cannot queue the notice for {target}: {e}");
            }
        }
    }

    /// Queues `annotation` in each Grafana source of `sources`, with `event` naming it.
    pub(crate) fn queue_annotation(
        &self,
        incident_id: i64,
        sources: &[(String, Option<String>)],
        event: &str,
        annotation: &NewAnnotation,
    ) {
        for (source, dashboard) in sources {
            let mut one = annotation.clone();
            one.dashboard_uid = dashboard.clone();
            let Ok(payload) = serde_json::to_value(&one) else {
                continue;
            };
            if let Err(e) = self.journal.enqueue_delivery(
                incident_id,
                DeliveryKind::Annotation,
                source,
                event,
                &payload,
            ) {
                tracing::warn!("cannot queue the annotation for {source}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_ten_minutes() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
    }
}
