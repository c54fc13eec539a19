//! Incidents in the journal: the incidents themselves, their own timeline (phase changes,
//! notes, run summaries) and their outbox of notifications and annotations, which any paaf
//! process sharing the journal delivers and retries.

use super::{ActionRecord, Actor, COLUMNS, Journal, parse_time, row_to_record};
use crate::error::{Error, Result};
use crate::incident::{
    Delivery, DeliveryKind, DeliveryState, Incident, IncidentAlert, IncidentEvent,
    IncidentEventKind, IncidentPhase, Severity,
};
use chrono::Utc;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// Schema step 3 (see `MIGRATIONS`).
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS incidents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        phase TEXT NOT NULL,
        playbook TEXT,
        alert TEXT,
        opened_at TEXT NOT NULL,
        resolved_at TEXT,
        operator TEXT NOT NULL,
        frontend TEXT NOT NULL,
        device TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incidents_open ON incidents(id) WHERE resolved_at IS NULL;
    CREATE TABLE IF NOT EXISTS incident_events (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        phase TEXT,
        text TEXT NOT NULL,
        operator TEXT NOT NULL,
        frontend TEXT NOT NULL,
        device TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incident_events_of ON incident_events(incident_id, id);
    CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        next_at_ms INTEGER NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX IF NOT EXISTS deliveries_of ON deliveries(incident_id, id);
    CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_at_ms) WHERE state = 'pending';
    ALTER TABLE actions ADD COLUMN incident_id INTEGER;
    ALTER TABLE actions ADD COLUMN step TEXT;
    CREATE INDEX IF NOT EXISTS actions_incident ON actions(incident_id, id) WHERE incident_id IS NOT NULL;";

const INCIDENT_COLUMNS: &str = "id, title, severity, phase, playbook, alert, opened_at, resolved_at, operator, frontend, device";
const EVENT_COLUMNS: &str = "id, incident_id, at, kind, phase, text, operator, frontend, device";
const DELIVERY_COLUMNS: &str =
    "id, incident_id, kind, channel, event, state, attempts, last_error, created_at, sent_at";

/// An incident about to be opened.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub severity: Severity,
    pub playbook: Option<String>,
    pub alert: Option<IncidentAlert>,
}

/// A delivery whose time has come, claimed by this process for one attempt.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub incident_id: i64,
    pub kind: DeliveryKind,
    pub channel: String,
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

fn row_to_incident(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    let alert: Option<String> = r.get(5)?;
    Ok(Incident {
        id: r.get(0)?,
        title: r.get(1)?,
        severity: r
            .get::<_, String>(2)?
            .parse()
            .unwrap_or(crate::incident::Severity::Sev3),
        phase: IncidentPhase::parse(&r.get::<_, String>(3)?),
        playbook: r.get(4)?,
        alert: alert.and_then(|a| serde_json::from_str(&a).ok()),
        opened_at: parse_time(Some(r.get(6)?)).unwrap_or_default(),
        resolved_at: parse_time(r.get(7)?),
        operator: r.get(8)?,
        frontend: r.get(9)?,
        device: r.get(10)?,
    })
}

fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentEvent> {
    Ok(IncidentEvent {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        at: parse_time(Some(r.get(2)?)).unwrap_or_default(),
        kind: IncidentEventKind::parse(&r.get::<_, String>(3)?),
        phase: r
            .get::<_, Option<String>>(4)?
            .map(|p| IncidentPhase::parse(&p)),
        text: r.get(5)?,
        operator: r.get(6)?,
        frontend: r.get(7)?,
        device: r.get(8)?,
    })
}

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        kind: kind_of(&r.get::<_, String>(2)?),
        channel: r.get(3)?,
        event: r.get(4)?,
        state: match r.get::<_, String>(5)?.as_str() {
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        },
        attempts: r.get::<_, i64>(6)?.max(0) as u32,
        last_error: r.get(7)?,
        created_at: parse_time(Some(r.get(8)?)).unwrap_or_default(),
        sent_at: parse_time(r.get(9)?),
    })
}

fn kind_of(name: &str) -> DeliveryKind {
    match name {
        "annotation" => DeliveryKind::Annotation,
        _ => DeliveryKind::Notify,
    }
}

fn kind_name(kind: DeliveryKind) -> &'static str {
    match kind {
        DeliveryKind::Notify => "notify",
        DeliveryKind::Annotation => "annotation",
    }
}

impl Journal {
    /// Opens an incident (phase `opened`, recorded as its first event). With `alone`, refused
    /// while another incident of this journal is open: one at a time unless asked otherwise.
    pub fn open_incident(&self, actor: &Actor, new: &NewIncident, alone: bool) -> Result<Incident> {
        let alert = new
            .alert
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.err(e))?;
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        if alone {
            let open: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, title FROM incidents WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some((id, title)) = open {
                return Err(Error::Conflict {
                    what: format!("incident #{id} ({title}) is open"),
                    how: format!(
                        "work in it (`paaf incident show {id}`), resolve it first (`paaf incident resolve {id}`), or open another beside it with --alongside"
                    ),
                });
            }
        }
        let now = Utc::now().to_rfc3339();
        tx.execute(
            "INSERT INTO incidents (title, severity, phase, playbook, alert, opened_at, operator, frontend, device)
             VALUES (?1, ?2, 'opened', ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                new.title,
                new.severity.as_str(),
                new.playbook,
                alert,
                now,
                actor.operator,
                actor.frontend,
                actor.device
            ],
        )
        .map_err(|e| self.err(e))?;
        let id = tx.last_insert_rowid();
        insert_event(
            &tx,
            id,
            actor,
            IncidentEventKind::Phase,
            Some(IncidentPhase::Opened),
            &new.title,
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        drop(db);
        self.incident(id)?
            .ok_or_else(|| self.err("the incident vanished right after it was opened"))
    }

    /// The incident `id`, if the journal has it.
    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"),
            params![id],
            row_to_incident,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// The incident new actions attach to now: the chosen one while open, else the newest
    /// open one.
    pub fn current_incident(&self) -> Result<Option<Incident>> {
        let chosen = *self.chosen_incident.lock().expect("journal poisoned");
        let db = self.db.lock().expect("journal poisoned");
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL AND (?1 IS NULL OR id = ?1) ORDER BY id DESC LIMIT 1"
        );
        db.query_row(&sql, params![chosen], row_to_incident)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Incidents, newest first: only the open ones with `open_only`.
    pub fn incidents(&self, open_only: bool, limit: usize) -> Result<Vec<Incident>> {
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE (?1 = 0 OR resolved_at IS NULL) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![open_only, limit as i64], row_to_incident)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// Moves incident `id` to `phase` (resolving it with `Resolved`), recorded as an event
    /// with `text`. A resolved incident stays resolved.
    pub fn set_phase(
        &self,
        id: i64,
        actor: &Actor,
        phase: IncidentPhase,
        text: &str,
    ) -> Result<Incident> {
        {
            let mut db = self.db.lock().expect("journal poisoned");
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            let resolved: Option<Option<String>> = tx
                .query_row(
                    "SELECT resolved_at FROM incidents WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            match resolved {
                None => return Err(no_incident(id)),
                Some(Some(_)) => {
                    return Err(Error::Conflict {
                        what: format!("incident #{id} is resolved"),
                        how: "open a new incident (`paaf incident open`)".into(),
                    });
                }
                Some(None) => {}
            }
            let resolved_at = (phase == IncidentPhase::Resolved).then(|| Utc::now().to_rfc3339());
            tx.execute(
                "UPDATE incidents SET phase = ?1, resolved_at = ?2 WHERE id = ?3",
                params![phase.as_str(), resolved_at, id],
            )
            .map_err(|e| self.err(e))?;
            insert_event(&tx, id, actor, IncidentEventKind::Phase, Some(phase), text)
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
        }
        self.incident(id)?.ok_or_else(|| no_incident(id))
    }

    /// Sets the playbook of incident `id`, which had none.
    pub fn set_incident_playbook(&self, id: i64, playbook: &str) -> Result<()> {
        self.db
            .lock()
            .expect("journal poisoned")
            .execute(
                "UPDATE incidents SET playbook = ?1 WHERE id = ?2 AND playbook IS NULL",
                params![playbook, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Adds a note or a run's summary to incident `id`'s timeline.
    pub fn add_incident_event(
        &self,
        id: i64,
        actor: &Actor,
        kind: IncidentEventKind,
        text: &str,
    ) -> Result<IncidentEvent> {
        let db = self.db.lock().expect("journal poisoned");
        insert_event(&db, id, actor, kind, None, text).map_err(|e| self.err(e))?;
        let event_id = db.last_insert_rowid();
        db.query_row(
            &format!("SELECT {EVENT_COLUMNS} FROM incident_events WHERE id = ?1"),
            params![event_id],
            row_to_event,
        )
        .map_err(|e| self.err(e))
    }

    /// Incident `id`'s own timeline, oldest first.
    pub fn incident_events(&self, id: i64) -> Result<Vec<IncidentEvent>> {
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM incident_events WHERE incident_id = ?1 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![id], row_to_event)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// Every action attached to incident `id`, oldest first.
    pub fn incident_actions(&self, id: i64) -> Result<Vec<ActionRecord>> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {COLUMNS} FROM actions WHERE incident_id = ?1 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![id], row_to_record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// The newest action incident `id` took for step `key`, if any.
    pub fn step_action(&self, id: i64, key: &str) -> Result<Option<ActionRecord>> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            &format!(
                "SELECT {COLUMNS} FROM actions WHERE incident_id = ?1 AND step = ?2 ORDER BY id DESC LIMIT 1"
            ),
            params![id, key],
            row_to_record,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Queues a message about incident `id` for `channel`, due now.
    pub fn enqueue_delivery(
        &self,
        id: i64,
        kind: DeliveryKind,
        channel: &str,
        event: &str,
        payload: &serde_json::Value,
    ) -> Result<i64> {
        let db = self.db.lock().expect("journal poisoned");
        let now = Utc::now();
        db.execute(
            "INSERT INTO deliveries (incident_id, kind, channel, event, payload, state, created_at, next_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
            params![
                id,
                kind_name(kind),
                channel,
                event,
                payload.to_string(),
                now.to_rfc3339(),
                now.timestamp_millis()
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(db.last_insert_rowid())
    }

    /// Claims at most `limit` deliveries due by `now_ms` for one attempt each: their next
    /// attempt moves `lease_ms` ahead, so another process does not send them at the same time,
    /// and one that dies mid-attempt leaves them to be retried after the lease.
    pub fn claim_due_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let due: Vec<(i64, i64, String, String, String, i64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, incident_id, kind, channel, payload, attempts FROM deliveries
                     WHERE state = 'pending' AND next_at_ms <= ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![now_ms, limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?
        };
        let mut out = Vec::new();
        for (id, incident_id, kind, channel, payload, attempts) in due {
            tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_at_ms = ?1 WHERE id = ?2",
                params![now_ms + lease_ms, id],
            )
            .map_err(|e| self.err(e))?;
            out.push(DueDelivery {
                id,
                incident_id,
                kind: kind_of(&kind),
                channel,
                payload: serde_json::from_str(&payload).unwrap_or_default(),
                attempts: (attempts + 1).max(0) as u32,
            });
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Records that delivery `id` arrived.
    pub fn delivery_sent(&self, id: i64) -> Result<()> {
        self.db
            .lock()
            .expect("journal poisoned")
            .execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?1, last_error = NULL WHERE id = ?2",
                params![Utc::now().to_rfc3339(), id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records that an attempt of delivery `id` failed with `error`: it is retried at
    /// `retry_at_ms`, or given up when `None`.
    pub fn delivery_failed(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        match retry_at_ms {
            Some(at) => db.execute(
                "UPDATE deliveries SET last_error = ?1, next_at_ms = ?2 WHERE id = ?3",
                params![error, at, id],
            ),
            None => db.execute(
                "UPDATE deliveries SET last_error = ?1, state = 'failed' WHERE id = ?2",
                params![error, id],
            ),
        }
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Incident `id`'s deliveries, oldest first.
    pub fn deliveries(&self, id: i64) -> Result<Vec<Delivery>> {
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE incident_id = ?1 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![id], row_to_delivery)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// Deliveries, newest first: of incident `incident_id`, or of every incident;
    /// `failed_only`: only those given up.
    pub fn deliveries_where(
        &self,
        incident_id: Option<i64>,
        failed_only: bool,
    ) -> Result<Vec<Delivery>> {
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE (?1 IS NULL OR incident_id = ?1) AND (?2 = 0 OR state = 'failed')
                 ORDER BY id DESC"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![incident_id, failed_only], row_to_delivery)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// Delivery `id`, if there is one.
    pub fn delivery(&self, id: i64) -> Result<Option<Delivery>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"),
            params![id],
            row_to_delivery,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Puts deliveries `ids` back in the queue, due at `now_ms`, with a fresh count of
    /// attempts (a sent one is left alone).
    pub fn requeue_deliveries(&self, ids: &[i64], now_ms: i64) -> Result<()> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        for id in ids {
            tx.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at_ms = ?1
                 WHERE id = ?2 AND state != 'sent'",
                params![now_ms, id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// When the next pending delivery is due (epoch ms), if any is pending.
    pub fn next_delivery_due(&self) -> Result<Option<i64>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT MIN(next_at_ms) FROM deliveries WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }
}

fn no_incident(id: i64) -> Error {
    Error::NotFound {
        what: "incident",
        name: id.to_string(),
        hint: Some("see the ids with `paaf incident list`".into()),
    }
}

fn insert_event(
    db: &rusqlite::Connection,
    incident_id: i64,
    actor: &Actor,
    kind: IncidentEventKind,
    phase: Option<IncidentPhase>,
    text: &str,
) -> rusqlite::Result<usize> {
    db.execute(
        "INSERT INTO incident_events (incident_id, at, kind, phase, text, operator, frontend, device)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            incident_id,
            Utc::now().to_rfc3339(),
            kind.as_str(),
            phase.map(IncidentPhase::as_str),
            text,
            actor.operator,
            actor.frontend,
            actor.device
        ],
    )
}
