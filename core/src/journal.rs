//! The journal: every action, who ran it, from where, on what, and how it ended (SQLite, WAL).
//!
//! An action is written as `pending` before anything is sent, so a crash can never make it
//! vanish. Each process holds an exclusive lock on a file named after it while it lives; the
//! OS drops that lock when the process dies, however it dies, so the next process to open the
//! journal can tell a running action from an orphaned one and marks the latter `unknown`.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ActionState {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// The process running it stopped before it finished: check the target.
    Unknown,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Running => "running",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> ActionState {
        match s {
            "pending" => ActionState::Pending,
            "running" => ActionState::Running,
            "succeeded" => ActionState::Succeeded,
            "failed" => ActionState::Failed,
            _ => ActionState::Unknown,
        }
    }
}

/// Who acts, and through what.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub operator: String,
    /// `cli`, `desktop`, `mobile`, ...
    pub frontend: String,
    /// The machine or phone the action came from.
    pub device: String,
}

/// One row of the journal.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ActionRecord {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub detail: String,
    pub operator: String,
    pub frontend: String,
    pub device: String,
    pub state: ActionState,
    pub result: Option<String>,
    pub error_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<u64>,
}

const NOT_STARTED: &str = "not started: the paaf process stopped before anything was sent";
const UNKNOWN_OUTCOME: &str = "outcome unknown: the paaf process running it stopped (crash, kill or power loss) before it finished; check the target";

pub struct Journal {
    path: PathBuf,
    db: Mutex<Connection>,
    owner: String,
    // Held for the life of the process; see the module doc.
    _owner_lock: File,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

fn owners_dir(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".owners");
    path.with_file_name(name)
}

impl Journal {
    /// Opens (creating if needed) the journal, then marks orphaned actions `unknown`.
    pub fn open(path: &Path) -> Result<Journal> {
        let err = |reason: String| Error::Journal {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create its directory: {e}")))?;
        }
        let db = Connection::open(path).map_err(|e| err(e.to_string()))?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| err(e.to_string()))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| err(e.to_string()))?;
        db.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| err(e.to_string()))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS actions (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                target TEXT NOT NULL,
                detail TEXT NOT NULL,
                operator TEXT NOT NULL,
                frontend TEXT NOT NULL,
                device TEXT NOT NULL,
                state TEXT NOT NULL,
                result TEXT,
                error_code TEXT,
                created_at TEXT NOT NULL,
                finished_at TEXT,
                duration_ms INTEGER,
                owner TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS actions_target ON actions(target, id);
            CREATE INDEX IF NOT EXISTS actions_open ON actions(state) WHERE state IN ('pending', 'running');",
        )
        .map_err(|e| err(format!("cannot set up the schema: {e}")))?;

        let dir = owners_dir(path);
        std::fs::create_dir_all(&dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        let owner = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        // Locked under a temporary name, then renamed: a sweeping process never sees an
        // unlocked `.lock` file of a live owner.
        let staging = dir.join(format!("{owner}.new"));
        let lock_path = dir.join(format!("{owner}.lock"));
        let lock = File::create(&staging)
            .map_err(|e| err(format!("cannot create {}: {e}", staging.display())))?;
        lock.lock()
            .map_err(|e| err(format!("cannot lock {}: {e}", staging.display())))?;
        std::fs::rename(&staging, &lock_path)
            .map_err(|e| err(format!("cannot create {}: {e}", lock_path.display())))?;
        let journal = Journal {
            path: path.to_path_buf(),
            db: Mutex::new(db),
            owner,
            _owner_lock: lock,
        };
        journal.recover_orphans()?;
        Ok(journal)
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Journal {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn lock_path(&self, owner: &str) -> PathBuf {
        owners_dir(&self.path).join(format!("{owner}.lock"))
    }

    /// True when the process that owns `owner` still holds its lock.
    fn owner_alive(&self, owner: &str) -> bool {
        match File::open(self.lock_path(owner)) {
            Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    fn recover_orphans(&self) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        let owners: Vec<String> = db
            .prepare("SELECT DISTINCT owner FROM actions WHERE state IN ('pending', 'running')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        for owner in owners.into_iter().filter(|o| *o != self.owner) {
            if self.owner_alive(&owner) {
                continue;
            }
            // Running: something may have reached the target, so the outcome is unknown.
            // Pending: nothing was sent yet, so the action did not happen.
            let unknown = db
                .execute(
                    "UPDATE actions SET state = 'unknown', result = ?1 WHERE owner = ?2 AND state = 'running'",
                    params![UNKNOWN_OUTCOME, owner],
                )
                .map_err(|e| self.err(e))?;
            let not_started = db
                .execute(
                    "UPDATE actions SET state = 'failed', result = ?1, error_code = 'cancelled' WHERE owner = ?2 AND state = 'pending'",
                    params![NOT_STARTED, owner],
                )
                .map_err(|e| self.err(e))?;
            tracing::warn!(
                owner,
                unknown,
                not_started,
                "recovered the actions of a dead paaf process"
            );
        }
        drop(db);
        // Sweep the lock files of dead owners (their rows, if any, were handled above).
        if let Ok(entries) = std::fs::read_dir(owners_dir(&self.path)) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(owner) = name.strip_suffix(".lock")
                    && owner != self.owner
                    && !self.owner_alive(owner)
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Records a new action as `pending`; returns its id.
    pub fn begin(&self, actor: &Actor, kind: &str, target: &str, detail: &str) -> Result<i64> {
        let db = self.db.lock().expect("journal poisoned");
        db.execute(
            "INSERT INTO actions (kind, target, detail, operator, frontend, device, state, created_at, owner)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8)",
            params![
                kind,
                target,
                detail,
                actor.operator,
                actor.frontend,
                actor.device,
                Utc::now().to_rfc3339(),
                self.owner
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(db.last_insert_rowid())
    }

    /// Moves a pending action to `running` (right before the first byte goes to the target).
    pub fn mark_running(&self, id: i64) -> Result<()> {
        self.db
            .lock()
            .expect("journal poisoned")
            .execute(
                "UPDATE actions SET state = 'running' WHERE id = ?1",
                params![id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Ends an action as succeeded or failed, with a one-line result.
    pub fn finish(
        &self,
        id: i64,
        state: ActionState,
        result: &str,
        error_code: Option<&str>,
    ) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        let created: String = db
            .query_row(
                "SELECT created_at FROM actions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let now = Utc::now();
        let duration = DateTime::parse_from_rfc3339(&created)
            .map(|c| (now - c.with_timezone(&Utc)).num_milliseconds().max(0))
            .unwrap_or(0);
        db.execute(
            "UPDATE actions SET state = ?1, result = ?2, error_code = ?3, finished_at = ?4, duration_ms = ?5 WHERE id = ?6",
            params![state.as_str(), result, error_code, now.to_rfc3339(), duration, id],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest actions first, optionally only those on `target`.
    pub fn list(&self, target: Option<&str>, limit: usize) -> Result<Vec<ActionRecord>> {
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(
                "SELECT id, kind, target, detail, operator, frontend, device, state, result, error_code,
                        created_at, finished_at, duration_ms
                 FROM actions WHERE (?1 IS NULL OR target = ?1) ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![target, limit as i64], row_to_record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The action `id`, if the journal has it.
    pub fn get(&self, id: i64) -> Result<Option<ActionRecord>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT id, kind, target, detail, operator, frontend, device, state, result, error_code,
                    created_at, finished_at, duration_ms
             FROM actions WHERE id = ?1",
            params![id],
            row_to_record,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// The newest action on `target`, if any.
    pub fn last_for(&self, target: &str) -> Result<Option<ActionRecord>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT id, kind, target, detail, operator, frontend, device, state, result, error_code,
                    created_at, finished_at, duration_ms
             FROM actions WHERE target = ?1 ORDER BY id DESC LIMIT 1",
            params![target],
            row_to_record,
        )
        .optional()
        .map_err(|e| self.err(e))
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Clean exit: nothing of ours can be orphaned, so the lock file can go.
        let _ = std::fs::remove_file(self.lock_path(&self.owner));
    }
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionRecord> {
    Ok(ActionRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        target: r.get(2)?,
        detail: r.get(3)?,
        operator: r.get(4)?,
        frontend: r.get(5)?,
        device: r.get(6)?,
        state: ActionState::parse(&r.get::<_, String>(7)?),
        result: r.get(8)?,
        error_code: r.get(9)?,
        created_at: parse_time(Some(r.get(10)?)).unwrap_or_default(),
        finished_at: parse_time(r.get(11)?),
        duration_ms: r.get::<_, Option<i64>>(12)?.map(|d| d.max(0) as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            operator: "alice".into(),
            frontend: "cli".into(),
            device: "laptop".into(),
        }
    }

    #[test]
    fn actions_move_through_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let id = j
            .begin(&actor(), "reboot", "web-1", "verified reboot")
            .unwrap();
        assert_eq!(
            j.last_for("web-1").unwrap().unwrap().state,
            ActionState::Pending
        );
        j.mark_running(id).unwrap();
        assert_eq!(
            j.last_for("web-1").unwrap().unwrap().state,
            ActionState::Running
        );
        j.finish(id, ActionState::Succeeded, "rebooted in 3.2s", None)
            .unwrap();
        let rec = j.last_for("web-1").unwrap().unwrap();
        assert_eq!(rec.state, ActionState::Succeeded);
        assert_eq!(rec.operator, "alice");
        assert!(rec.finished_at.is_some() && rec.duration_ms.is_some());
        assert_eq!(j.list(None, 10).unwrap().len(), 1);
        assert!(j.list(Some("web-2"), 10).unwrap().is_empty());
    }

    #[test]
    fn a_live_owner_keeps_its_running_actions_and_a_dead_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let first = Journal::open(&path).unwrap();
        let id = first.begin(&actor(), "reboot", "web-1", "").unwrap();
        first.mark_running(id).unwrap();
        first.begin(&actor(), "exec", "web-2", "uptime").unwrap();
        // A second process while the first is alive: its action stays running.
        let second = Journal::open(&path).unwrap();
        assert_eq!(
            second.last_for("web-1").unwrap().unwrap().state,
            ActionState::Running
        );
        drop(first); // releases the owner lock, as the OS does when a process dies
        drop(second);
        let third = Journal::open(&path).unwrap();
        let rec = third.last_for("web-1").unwrap().unwrap();
        assert_eq!(rec.state, ActionState::Unknown);
        assert!(rec.result.unwrap().contains("outcome unknown"));
        let never = third.last_for("web-2").unwrap().unwrap();
        assert_eq!(never.state, ActionState::Failed);
        assert!(never.result.unwrap().contains("not started"));
        let locks = std::fs::read_dir(owners_dir(&path)).unwrap().count();
        assert_eq!(locks, 1, "only the live owner's lock file is left");
    }
}
