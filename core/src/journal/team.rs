//! The team timeline in the journal: the team key of each shared incident, and the outbox of
//! its finished action rows waiting to be posted to the relay (retried with backoff while the
//! relay cannot be reached, marked sent only once the relay acknowledged them).

use super::{ActionRecord, COLUMNS, Journal, row_to_record};
use crate::error::Result;
use chrono::Utc;
use rusqlite::{OptionalExtension, params};

/// Schema step 6 (see `MIGRATIONS`).
pub(super) const SCHEMA: &str = "
    ALTER TABLE incidents ADD COLUMN team_key TEXT;
    CREATE TABLE IF NOT EXISTS team_outbox (
        action_id INTEGER PRIMARY KEY,
        incident_key TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        queued_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX IF NOT EXISTS team_outbox_due ON team_outbox(next_at_ms) WHERE state = 'pending';";

/// The longest wait between two tries of a row.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// A queued row due for posting: the action and its incident's team key.
#[derive(Debug, Clone)]
pub struct QueuedRow {
    pub action: ActionRecord,
    pub incident_key: String,
}

impl Journal {
    /// Shares incident `id` under team key `key` (replacing an earlier key), and queues its
    /// finished rows.
    pub fn set_team_key(&self, id: i64, key: &str) -> Result<()> {
        {
            let db = self.db.lock().expect("journal poisoned");
            db.execute(
                "UPDATE incidents SET team_key = ?1 WHERE id = ?2",
                params![key, id],
            )
            .map_err(|e| self.err(e))?;
        }
        self.queue_team_rows()?;
        Ok(())
    }

    /// Incident `id`'s team key, when it is shared.
    pub fn team_key(&self, id: i64) -> Result<Option<String>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT team_key FROM incidents WHERE id = ?1",
            params![id],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()
        .map(Option::flatten)
        .map_err(|e| self.err(e))
    }

    /// Queues every finished action of a shared incident not queued yet (an action is posted
    /// once it ended: its row no longer changes); the number queued now.
    pub fn queue_team_rows(&self) -> Result<usize> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        db.execute(
            "INSERT OR IGNORE INTO team_outbox (action_id, incident_key, queued_at)
             SELECT a.id, i.team_key, ?1 FROM actions a JOIN incidents i ON i.id = a.incident_id
             WHERE i.team_key IS NOT NULL AND a.state NOT IN ('pending', 'running')",
            params![Utc::now().to_rfc3339()],
        )
        .map_err(|e| self.err(e))
    }

    /// The queued rows due at `now_ms` (all of them with `all`, whatever their backoff says:
    /// someone is asking now), oldest first, at most `limit`.
    pub fn due_team_rows(&self, now_ms: i64, all: bool, limit: usize) -> Result<Vec<QueuedRow>> {
        let db = self.db.lock().expect("journal poisoned");
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {columns}, o.incident_key FROM team_outbox o JOIN actions a ON a.id = o.action_id
                 WHERE o.state = 'pending' AND (?1 OR o.next_at_ms <= ?2) ORDER BY o.action_id LIMIT ?3"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![all, now_ms, limit as i64], |r| {
            Ok(QueuedRow {
                action: row_to_record(r)?,
                incident_key: r.get("incident_key")?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.err(e))
    }

    /// The relay acknowledged rows `ids`.
    pub fn team_rows_sent(&self, ids: &[i64]) -> Result<()> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db.transaction().map_err(|e| self.err(e))?;
        let now = Utc::now().to_rfc3339();
        for id in ids {
            tx.execute(
                "UPDATE team_outbox SET state = 'sent', sent_at = ?1, last_error = NULL WHERE action_id = ?2",
                params![now, id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Posting rows `ids` failed with `error` at `now_ms`: each is tried again after a wait
    /// that doubles with its attempts (1 s, 2 s, 4 s ... at most 5 minutes).
    pub fn team_rows_failed(&self, ids: &[i64], error: &str, now_ms: i64) -> Result<()> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db.transaction().map_err(|e| self.err(e))?;
        for id in ids {
            tx.execute(
                "UPDATE team_outbox SET attempts = attempts + 1, last_error = ?1,
                    next_at_ms = ?2 + MIN(?3, 1000 * (1 << MIN(attempts, 20)))
                 WHERE action_id = ?4",
                params![error, now_ms, MAX_BACKOFF_MS, id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Rows of incident `id` queued and not yet acknowledged by the relay.
    pub fn unsent_team_rows(&self, id: i64) -> Result<u64> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT COUNT(*) FROM team_outbox o JOIN actions a ON a.id = o.action_id
             WHERE o.state = 'pending' AND a.incident_id = ?1",
            params![id],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n.max(0) as u64)
        .map_err(|e| self.err(e))
    }

    /// The earliest time a queued row is due, if any waits.
    pub fn next_team_row_due(&self) -> Result<Option<i64>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT MIN(next_at_ms) FROM team_outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::actor;
    use super::*;
    use crate::incident::Severity;
    use crate::journal::{ActionKind, ActionState, NewAction, NewIncident};

    #[test]
    fn finished_rows_of_a_shared_incident_are_queued_once_and_retried_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        let incident = j
            .open_incident(
                &actor(),
                &NewIncident {
                    title: "t".into(),
                    severity: Severity::Sev2,
                    playbook: None,
                    alert: None,
                },
                true,
            )
            .unwrap();
        let done = j
            .begin(&actor(), &NewAction::new(ActionKind::FlagOff, "f@p", "d"))
            .unwrap();
        j.finish(done, ActionState::Succeeded, "ok", None).unwrap();
        let running = j
            .begin(&actor(), &NewAction::new(ActionKind::Reboot, "web-1", "d"))
            .unwrap();
        assert_eq!(
            j.queue_team_rows().unwrap(),
            0,
            "not shared: nothing queued"
        );
        j.set_team_key(incident.id, "00112233445566778899aabbccddeeff")
            .unwrap();
        assert_eq!(j.unsent_team_rows(incident.id).unwrap(), 1);
        assert_eq!(j.queue_team_rows().unwrap(), 0, "queued once");
        j.finish(running, ActionState::Succeeded, "ok", None)
            .unwrap();
        assert_eq!(j.queue_team_rows().unwrap(), 1, "queued once it ended");

        let due = j.due_team_rows(0, false, 10).unwrap();
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].action.id, done);
        j.team_rows_failed(&[done, running], "relay down", 1_000)
            .unwrap();
        assert!(j.due_team_rows(1_500, false, 10).unwrap().is_empty());
        assert_eq!(j.next_team_row_due().unwrap(), Some(2_000));
        assert_eq!(j.due_team_rows(1_500, true, 10).unwrap().len(), 2);
        j.team_rows_failed(&[done], "relay down", 2_000).unwrap();
        assert_eq!(
            j.due_team_rows(3_999, false, 10).unwrap().len(),
            1,
            "the second wait doubles"
        );
        j.team_rows_sent(&[done, running]).unwrap();
        assert_eq!(j.unsent_team_rows(incident.id).unwrap(), 0);
        assert!(j.due_team_rows(i64::MAX, true, 10).unwrap().is_empty());
    }
}
