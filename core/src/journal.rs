//! The journal: every action, who ran it, from where, on what, and how it ended (SQLite, WAL).
//!
//! An action is written as `pending` before anything is sent, so a crash can never make it
//! vanish (actions running side by side, the parts of a fan-out or a protect's parallel steps,
//! are written `running` together instead, in one transaction, before any is sent: see
//! [`Journal::begin_with_parts`] and the `group` module). Each process holds an exclusive
//! lock on a file named after it while it lives; the OS drops that lock when the process dies,
//! however it dies, so any other process can tell a running action from an orphaned one and
//! marks the latter `unknown` (when it opens the journal, and again each time it reads it: a
//! desktop app open for days sees a dead CLI's action as unknown without restarting).
//!
//! Files: the database, its `-wal`/`-shm` companions and the owners' lock files are created
//! readable by their owner only (0600, directories 0700): the journal names hosts, commands
//! and who ran them.

use crate::error::{Error, ErrorCode, Result};
use crate::private_files;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod group;
mod incidents;
mod intents;
mod team;

pub(crate) use group::{CommitGroup, as_member, member};

pub use incidents::{DueDelivery, NewIncident};
pub use intents::RelayPairing;
pub use team::QueuedRow;

/// What an action did. Stored in the journal as its kebab-case name (`flag-off`); adding a
/// kind is adding a variant. A name this version does not know (written by a newer paaf)
/// reads as `Other`, its name kept at the head of the row's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ActionKind {
    /// A host added to the config.
    HostAdd,
    /// A host removed from the config.
    HostRemove,
    /// A host key recorded in known_hosts after the user confirmed it.
    TrustHostKey,
    /// A host's keys removed from known_hosts.
    ForgetHostKey,
    /// A verified reboot of a host over SSH.
    Reboot,
    /// A command run on a host.
    Exec,
    /// A runbook run on a host.
    Runbook,
    /// A flag turned on in one environment.
    FlagOn,
    /// A flag turned off in one environment.
    FlagOff,
    /// Alerts silenced.
    Silence,
    /// A silence ended.
    ExpireSilence,
    /// A Grafana annotation written.
    Annotate,
    /// A cloud server rebooted through its provider's API.
    ServerReboot,
    /// A cloud server hard-rebooted (power cycled) through its provider's API.
    ServerHardReboot,
    /// A cloud server stopped.
    ServerStop,
    /// A cloud server started.
    ServerStart,
    /// A group of cloud servers rebooted a batch at a time.
    RollingReboot,
    /// A kind this version of paaf does not know (written by a newer one).
    #[serde(other)]
    Other,
}

impl ActionKind {
    /// The name stored in the journal and shown to people (`flag-off`).
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => unreachable!("a unit variant serializes to its name"),
        }
    }

    /// The kind stored as `name`; `Other` for a name this version does not know.
    pub fn from_name(name: &str) -> ActionKind {
        serde_json::from_value(serde_json::Value::String(name.to_string()))
            .unwrap_or(ActionKind::Other)
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

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
    /// Whether it took effect is not known: the process running it stopped before it finished,
    /// it was cancelled after it was sent, or the target's answer left it open. Check the
    /// target.
    Unknown,
    /// It ran and reported success, but paaf saw no proof that it took effect (a cloud reboot
    /// that could not be verified).
    Unverified,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Running => "running",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::Unknown => "unknown",
            ActionState::Unverified => "unverified",
        }
    }

    /// How an action that failed with `error` ends: `unknown` when it may have taken effect
    /// anyway (the target's answer left it open, or it was cancelled after it was `sent`:
    /// a reboot command may be rebooting the host), else `failed`.
    pub fn after_error(error: &Error, sent: bool) -> ActionState {
        match error.code() {
            ErrorCode::OutcomeUnknown => ActionState::Unknown,
            ErrorCode::Cancelled if sent => ActionState::Unknown,
            _ => ActionState::Failed,
        }
    }

    fn parse(s: &str) -> ActionState {
        match s {
            "pending" => ActionState::Pending,
            "running" => ActionState::Running,
            "succeeded" => ActionState::Succeeded,
            "failed" => ActionState::Failed,
            "unverified" => ActionState::Unverified,
            _ => ActionState::Unknown,
        }
    }
}

/// What an action keeps beyond its kind, target and one-line detail, to be undone or followed
/// up (the journal's `data` column, as JSON). One variant per kind of action that needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ActionData {
    /// A flag switched in one environment, and its state before (what undo puts back).
    FlagChange {
        backend: String,
        project: String,
        flag: String,
        environment: String,
        was_enabled: bool,
    },
    /// A silence created in a monitoring source, and its id (what expiring it needs).
    Silence { source: String, silence_id: String },
    /// A verified reboot, and how long the host was down (from the dropped connection to the
    /// new boot id).
    Reboot {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        down_ms: u64,
    },
    /// A power action on a cloud server: where it is, to act on it again (a stop undone).
    ServerPower {
        account: String,
        region: String,
        server_id: String,
    },
}

impl ActionData {
    /// The data of a row written before the `data` column existed (the first release), read
    /// back from its detail text: a flag change's `backend=B project=P flag=F env=E was=on`.
    /// Backend names never hold spaces (the config refuses them); the other names are split
    /// at their key markers, so spaces in them survive.
    fn from_first_release(kind: ActionKind, detail: &str) -> Option<ActionData> {
        if !matches!(kind, ActionKind::FlagOn | ActionKind::FlagOff) {
            return None;
        }
        let rest = detail.strip_prefix("backend=")?;
        let (backend, rest) = rest.split_once(" project=")?;
        let (rest, was) = rest.rsplit_once(" was=")?;
        let (rest, environment) = rest.rsplit_once(" env=")?;
        let (project, flag) = rest.rsplit_once(" flag=")?;
        Some(ActionData::FlagChange {
            backend: backend.to_string(),
            project: project.to_string(),
            flag: flag.to_string(),
            environment: environment.to_string(),
            was_enabled: match was {
                "on" => true,
                "off" => false,
                _ => return None,
            },
        })
    }
}

/// An action about to start, as the journal records it.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub kind: ActionKind,
    pub target: &'a str,
    /// One readable line: the command, the flag and environment, ...
    pub detail: &'a str,
    pub data: Option<ActionData>,
}

impl<'a> NewAction<'a> {
    /// An action with no data beyond its detail line.
    pub fn new(kind: ActionKind, target: &'a str, detail: &'a str) -> NewAction<'a> {
        NewAction {
            kind,
            target,
            detail,
            data: None,
        }
    }

    /// The same action, keeping `data` for undo or follow-up.
    pub fn with_data(self, data: ActionData) -> NewAction<'a> {
        NewAction {
            data: Some(data),
            ..self
        }
    }
}

/// How one part of a fan-out, or one action of a journal group, ended (see
/// [`Journal::finish_with_parts`]).
#[derive(Debug, Clone)]
pub struct PartEnd {
    pub id: i64,
    pub state: ActionState,
    pub result: String,
    pub error_code: Option<&'static str>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
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
    pub kind: ActionKind,
    pub target: String,
    pub detail: String,
    /// What undo or a follow-up needs (a flag change's names and state before).
    pub data: Option<ActionData>,
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
    /// The incident that was open when it started (or that it ran for).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub incident_id: Option<i64>,
    /// The protect or stand-down step it ran for (`protect/checkout/0/...`).
    pub step: Option<String>,
}

const NOT_STARTED: &str = "not started: the paaf process stopped before anything was sent";
const UNKNOWN_OUTCOME: &str = "outcome unknown: the paaf process running it stopped (crash, kill or power loss) before it finished; check the target";

/// The schema, one step per version (`PRAGMA user_version` counts the steps applied). A
/// journal is brought up to date when opened; a step only adds, so a process of the previous
/// release sharing the file keeps working.
const MIGRATIONS: &[&str] = &[
    // 1: the first release's table (user_version 0 then: its files start here too).
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
    // 2: typed data beside the detail line (JSON of `ActionData`).
    "ALTER TABLE actions ADD COLUMN data TEXT;",
    // 3: the action a row is part of (one host's run of a fan-out under the fan-out's row).
    "ALTER TABLE actions ADD COLUMN parent INTEGER;
    CREATE INDEX IF NOT EXISTS actions_parent ON actions(parent) WHERE parent IS NOT NULL;",
    // 4: incidents, their own timeline and their outgoing messages; actions attached to them.
    incidents::SCHEMA,
    // 5: the nonces of the action intents acted on, and the paired relay's pinned key.
    intents::SCHEMA,
    // 6: the team key of a shared incident, and the outbox of its rows for the relay.
    team::SCHEMA,
];

const COLUMNS: &str = "id, kind, target, detail, data, operator, frontend, device, state, result, error_code, created_at, finished_at, duration_ms, incident_id, step";

tokio::task_local! {
    /// The incident step the actions of the current task run for (see [`as_step`]).
    static STEP: StepTag;
}

/// An incident's protect or stand-down step, which the actions it takes are attached to.
#[derive(Debug, Clone)]
pub(crate) struct StepTag {
    pub incident_id: i64,
    pub key: String,
}

/// Runs `work` with every action it journals attached to `tag`'s incident and step. The step
/// runner knows the step and the action functions do the journaling; this carries one to the
/// other without threading a step through every action's signature (parallel steps each run
/// in their own scope).
pub(crate) async fn as_step<F: std::future::Future>(tag: StepTag, work: F) -> F::Output {
    STEP.scope(tag, work).await
}

/// The step the current task's actions run for, if any.
fn current_step() -> Option<StepTag> {
    STEP.try_with(StepTag::clone).ok()
}

pub struct Journal {
    path: PathBuf,
    db: Mutex<Connection>,
    owner: String,
    /// The incident new actions attach to, chosen by the front-end (`--incident ID`); the
    /// newest open one when `None`.
    chosen_incident: Mutex<Option<i64>>,
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

/// Brings the schema up to date, once, even with several processes opening the file at once.
fn migrate(db: &mut Connection, path: &Path) -> Result<()> {
    let err = |e: rusqlite::Error| Error::Journal {
        path: path.to_path_buf(),
        reason: format!("cannot set up the schema: {e}"),
    };
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let version: usize = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > MIGRATIONS.len() {
        return Err(Error::Journal {
            path: path.to_path_buf(),
            reason: format!(
                "it was written by a newer paaf (schema {version}; this paaf knows up to {}): update paaf on this device, or point `journal` in the config at another file",
                MIGRATIONS.len()
            ),
        });
    }
    for step in &MIGRATIONS[version..] {
        tx.execute_batch(step).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(err)?;
    tx.commit().map_err(err)
}

impl Journal {
    /// Opens (creating if needed) the journal, then marks orphaned actions `unknown`.
    pub fn open(path: &Path) -> Result<Journal> {
        let err = |reason: String| Error::Journal {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            private_files::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create its directory: {e}")))?;
        }
        // Created here so that it, and the -wal and -shm files SQLite gives its mode, are 0600.
        private_files::touch(path).map_err(|e| err(format!("cannot create it: {e}")))?;
        let mut db = Connection::open(path).map_err(|e| err(e.to_string()))?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| err(e.to_string()))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| err(e.to_string()))?;
        db.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| err(e.to_string()))?;
        migrate(&mut db, path)?;

        let dir = owners_dir(path);
        private_files::create_dir_all(&dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        let owner = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        // Locked under a temporary name, then renamed: a sweeping process never sees an
        // unlocked `.lock` file of a live owner.
        let staging = dir.join(format!("{owner}.new"));
        let lock_path = dir.join(format!("{owner}.lock"));
        let lock = private_files::options()
            .write(true)
            .create_new(true)
            .open(&staging)
            .map_err(|e| err(format!("cannot create {}: {e}", staging.display())))?;
        lock.lock()
            .map_err(|e| err(format!("cannot lock {}: {e}", staging.display())))?;
        std::fs::rename(&staging, &lock_path)
            .map_err(|e| err(format!("cannot create {}: {e}", lock_path.display())))?;
        let journal = Journal {
            path: path.to_path_buf(),
            db: Mutex::new(db),
            owner,
            chosen_incident: Mutex::new(None),
            _owner_lock: lock,
        };
        journal.recover_orphans()?;
        journal.sweep_lock_files();
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
        Ok(())
    }

    /// Recovers orphans before a read, so a reader open for long sees a dead process's
    /// actions as they are; a journal it cannot write to is still read.
    fn recover_before_reading(&self) {
        if let Err(e) = self.recover_orphans() {
            tracing::warn!("cannot mark the actions of dead paaf processes: {e}");
        }
    }

    /// Counts the transactions this journal commits from now on (each one a write to disk).
    #[cfg(test)]
    pub(crate) fn count_commits(&self) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        self.db
            .lock()
            .expect("journal poisoned")
            .commit_hook(Some(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                false
            }));
        count
    }

    /// Removes the lock files of dead owners (their rows were recovered first).
    fn sweep_lock_files(&self) {
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
    }

    /// Attaches the actions begun from now on to incident `id` while it is open (`None`: to
    /// the newest open incident, the default).
    pub fn choose_incident(&self, id: Option<i64>) {
        *self.chosen_incident.lock().expect("journal poisoned") = id;
    }

    /// Records a new action as `pending`; returns its id. It is attached to the incident of
    /// the step it runs for, else to the chosen incident while open, else to the newest open
    /// one; the lookup is part of the insert, so an incident opened or resolved by another
    /// process at the same moment is seen consistently.
    pub fn begin(&self, actor: &Actor, action: &NewAction<'_>) -> Result<i64> {
        let db = self.db.lock().expect("journal poisoned");
        self.insert(
            &db,
            actor,
            action,
            ActionState::Pending,
            current_step().as_ref(),
        )
    }

    /// Inserts `action` in `state`, attached to its incident as [`Journal::begin`] says (`tag`:
    /// the step it runs for).
    fn insert(
        &self,
        db: &Connection,
        actor: &Actor,
        action: &NewAction<'_>,
        state: ActionState,
        tag: Option<&StepTag>,
    ) -> Result<i64> {
        let data = action
            .data
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.err(e))?;
        let chosen = *self.chosen_incident.lock().expect("journal poisoned");
        db.execute(
            "INSERT INTO actions (kind, target, detail, data, operator, frontend, device, state, created_at, owner, incident_id, step)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?13, ?8, ?9,
                     COALESCE(?10, CASE WHEN ?11 IS NOT NULL
                         THEN (SELECT id FROM incidents WHERE id = ?11 AND resolved_at IS NULL)
                         ELSE (SELECT MAX(id) FROM incidents WHERE resolved_at IS NULL) END),
                     ?12)",
            params![
                action.kind.name(),
                action.target,
                action.detail,
                data,
                actor.operator,
                actor.frontend,
                actor.device,
                Utc::now().to_rfc3339(),
                self.owner,
                tag.map(|t| t.incident_id),
                chosen,
                tag.map(|t| t.key.as_str()),
                state.as_str(),
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(db.last_insert_rowid())
    }

    /// Replaces action `id`'s data with what its end taught (a silence's id, a reboot's
    /// down time).
    pub fn set_data(&self, id: i64, data: &ActionData) -> Result<()> {
        let json = serde_json::to_string(data).map_err(|e| self.err(e))?;
        self.db
            .lock()
            .expect("journal poisoned")
            .execute(
                "UPDATE actions SET data = ?1 WHERE id = ?2",
                params![json, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
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

    /// Ends an action in `state`, with a one-line result.
    pub fn finish(
        &self,
        id: i64,
        state: ActionState,
        result: &str,
        error_code: Option<&str>,
    ) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        self.end(&db, id, state, result, error_code)
    }

    fn end(
        &self,
        db: &Connection,
        id: i64,
        state: ActionState,
        result: &str,
        error_code: Option<&str>,
    ) -> Result<()> {
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
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {COLUMNS} FROM actions WHERE (?1 IS NULL OR target = ?1) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![target, limit as i64], row_to_record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records an action over many hosts and its parts (one per host, in order), all `running`,
    /// in one transaction (one write to disk, not one per host): the caller sends to the hosts
    /// right after, so a crash from then on leaves every row `unknown` (check the host), never
    /// lost, and a failed write records nothing and nothing runs. Returns the parent's id and
    /// the parts' ids.
    pub fn begin_with_parts(
        &self,
        actor: &Actor,
        parent: &NewAction<'_>,
        parts: &[NewAction<'_>],
    ) -> Result<(i64, Vec<i64>)> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db.transaction().map_err(|e| self.err(e))?;
        let parent = self.insert(
            &tx,
            actor,
            parent,
            ActionState::Running,
            current_step().as_ref(),
        )?;
        let mut ids = Vec::with_capacity(parts.len());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO actions (kind, target, detail, data, operator, frontend, device, state, created_at, owner, parent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9, ?10)",
                )
                .map_err(|e| self.err(e))?;
            let now = Utc::now().to_rfc3339();
            for part in parts {
                let data = part
                    .data
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(|e| self.err(e))?;
                insert
                    .execute(params![
                        part.kind.name(),
                        part.target,
                        part.detail,
                        data,
                        actor.operator,
                        actor.frontend,
                        actor.device,
                        now,
                        self.owner,
                        parent
                    ])
                    .map_err(|e| self.err(e))?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok((parent, ids))
    }

    /// Ends the parts begun with [`Journal::begin_with_parts`], then their parent in `state`,
    /// in one transaction.
    pub fn finish_with_parts(
        &self,
        parent: i64,
        ends: &[PartEnd],
        state: ActionState,
        result: &str,
        error_code: Option<&str>,
    ) -> Result<()> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db.transaction().map_err(|e| self.err(e))?;
        self.end_all(&tx, ends)?;
        self.end(&tx, parent, state, result, error_code)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Ends the actions of `ends`, then records each of `begins` as `running` (attached to its
    /// step's incident as [`Journal::begin`] says), in one transaction: one write to disk for
    /// work running side by side. The caller sends nothing for a begin before this returns; a
    /// failed write records nothing, and nothing of `begins` may run. The begins' ids, in order.
    pub(crate) fn write_together(
        &self,
        ends: &[PartEnd],
        begins: &[(&Actor, NewAction<'_>, Option<StepTag>)],
    ) -> Result<Vec<i64>> {
        let mut db = self.db.lock().expect("journal poisoned");
        let tx = db.transaction().map_err(|e| self.err(e))?;
        self.end_all(&tx, ends)?;
        let ids = begins
            .iter()
            .map(|(actor, action, tag)| {
                self.insert(&tx, actor, action, ActionState::Running, tag.as_ref())
            })
            .collect::<Result<Vec<i64>>>()?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(ids)
    }

    fn end_all(&self, db: &Connection, ends: &[PartEnd]) -> Result<()> {
        let mut update = db
            .prepare_cached(
                "UPDATE actions SET state = ?1, result = ?2, error_code = ?3, finished_at = ?4, duration_ms = ?5 WHERE id = ?6",
            )
            .map_err(|e| self.err(e))?;
        for end in ends {
            update
                .execute(params![
                    end.state.as_str(),
                    end.result,
                    end.error_code,
                    end.finished_at.to_rfc3339(),
                    end.duration_ms as i64,
                    end.id
                ])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The parts of action `parent`, in the order they were begun.
    pub fn parts(&self, parent: i64) -> Result<Vec<ActionRecord>> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        let mut stmt = db
            .prepare(&format!(
                "SELECT {COLUMNS} FROM actions WHERE parent = ?1 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![parent], row_to_record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))
    }

    /// The action `id`, if the journal has it.
    pub fn get(&self, id: i64) -> Result<Option<ActionRecord>> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            &format!("SELECT {COLUMNS} FROM actions WHERE id = ?1"),
            params![id],
            row_to_record,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// The newest action on `target`, if any.
    pub fn last_for(&self, target: &str) -> Result<Option<ActionRecord>> {
        self.recover_before_reading();
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            &format!("SELECT {COLUMNS} FROM actions WHERE target = ?1 ORDER BY id DESC LIMIT 1"),
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
    let id: i64 = r.get(0)?;
    let kind_name: String = r.get(1)?;
    let kind = ActionKind::from_name(&kind_name);
    let mut detail: String = r.get(3)?;
    let data = match r.get::<_, Option<String>>(4)? {
        Some(json) => serde_json::from_str(&json)
            .inspect_err(|e| {
                tracing::warn!(
                    id,
                    "journal action's data is not readable by this paaf: {e}"
                )
            })
            .ok(),
        None => ActionData::from_first_release(kind, &detail),
    };
    if kind == ActionKind::Other {
        detail = format!("{kind_name}: {detail}");
    }
    Ok(ActionRecord {
        id,
        kind,
        target: r.get(2)?,
        detail,
        data,
        operator: r.get(5)?,
        frontend: r.get(6)?,
        device: r.get(7)?,
        state: ActionState::parse(&r.get::<_, String>(8)?),
        result: r.get(9)?,
        error_code: r.get(10)?,
        created_at: parse_time(Some(r.get(11)?)).unwrap_or_default(),
        finished_at: parse_time(r.get(12)?),
        duration_ms: r.get::<_, Option<i64>>(13)?.map(|d| d.max(0) as u64),
        incident_id: r.get(14)?,
        step: r.get(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn actor() -> Actor {
        Actor {
            operator: "alice".into(),
            frontend: "cli".into(),
            device: "laptop".into(),
        }
    }

    /// Begins a `kind` action on `target` by [`actor`] in `j`; its id.
    fn begin(j: &Journal, kind: ActionKind, target: &str, detail: &str) -> i64 {
        j.begin(&actor(), &NewAction::new(kind, target, detail))
            .unwrap()
    }

    #[test]
    fn actions_move_through_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let id = begin(&j, ActionKind::Reboot, "web-1", "verified reboot");
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
        assert_eq!(rec.kind, ActionKind::Reboot);
        assert_eq!(rec.operator, "alice");
        assert!(rec.finished_at.is_some() && rec.duration_ms.is_some());
        assert_eq!(j.list(None, 10).unwrap().len(), 1);
        assert!(j.list(Some("web-2"), 10).unwrap().is_empty());
    }

    #[test]
    fn the_parts_of_a_fan_out_sit_under_it_and_a_crash_leaves_them_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let j = Journal::open(&path).unwrap();
        let parts: Vec<NewAction> = ["web-1", "web-2", "web-3"]
            .iter()
            .map(|h| NewAction::new(ActionKind::Exec, h, "uptime"))
            .collect();
        let fan_out = NewAction::new(ActionKind::Exec, "'web-*'", "uptime");
        let (parent, ids) = j.begin_with_parts(&actor(), &fan_out, &parts).unwrap();
        assert_eq!(ids.len(), 3);
        let end = |id, state| PartEnd {
            id,
            state,
            result: "exit code 0 in 12 ms".into(),
            error_code: None,
            finished_at: Utc::now(),
            duration_ms: 12,
        };
        j.finish_with_parts(
            parent,
            &[
                end(ids[0], ActionState::Succeeded),
                end(ids[1], ActionState::Failed),
            ],
            ActionState::Failed,
            "3 hosts: 1 ok, 1 exit 1",
            Some("remote-command"),
        )
        .unwrap();
        let rows = j.parts(parent).unwrap();
        let seen: Vec<(&str, ActionState, Option<u64>)> = rows
            .iter()
            .map(|r| (r.target.as_str(), r.state, r.duration_ms))
            .collect();
        assert_eq!(
            seen,
            [
                ("web-1", ActionState::Succeeded, Some(12)),
                ("web-2", ActionState::Failed, Some(12)),
                ("web-3", ActionState::Running, None),
            ]
        );
        let ended = j.get(parent).unwrap().unwrap();
        assert_eq!(ended.state, ActionState::Failed);
        assert_eq!(ended.result.as_deref(), Some("3 hosts: 1 ok, 1 exit 1"));
        assert!(j.parts(ids[0]).unwrap().is_empty(), "a part has no parts");

        // The process dies mid fan-out: the parent and its parts were written as running
        // before any host was contacted, in one go.
        let (running, _) = j.begin_with_parts(&actor(), &fan_out, &parts).unwrap();
        drop(j);
        let after = Journal::open(&path).unwrap();
        let web3 = after.last_for("web-3").unwrap().unwrap();
        assert_eq!(
            web3.state,
            ActionState::Unknown,
            "it may have run: check it"
        );
        assert_eq!(after.parts(parent).unwrap().len(), 3);
        let crashed = after.parts(running).unwrap();
        assert_eq!(crashed.len(), 3);
        assert!(crashed.iter().all(|r| r.state == ActionState::Unknown));
        assert_eq!(
            after.get(running).unwrap().unwrap().state,
            ActionState::Unknown,
            "the fan-out itself may have acted"
        );
    }

    #[test]
    fn actions_written_together_are_running_before_anything_is_sent_and_a_crash_leaves_them_unknown()
     {
        let (_dir, path) = scratch();
        let j = Journal::open(&path).unwrap();
        let alice = actor();
        let tag = StepTag {
            incident_id: 1,
            key: "protect/p/0/flag a OFF".into(),
        };
        let begins = [
            (
                &alice,
                NewAction::new(ActionKind::FlagOff, "a@prod", ""),
                Some(tag),
            ),
            (
                &alice,
                NewAction::new(ActionKind::FlagOff, "b@prod", ""),
                None,
            ),
        ];
        let ids = j.write_together(&[], &begins).unwrap();
        assert_eq!(ids.len(), 2);
        let a = j.get(ids[0]).unwrap().unwrap();
        assert_eq!(a.state, ActionState::Running);
        assert_eq!(a.step.as_deref(), Some("protect/p/0/flag a OFF"));
        let end = PartEnd {
            id: ids[0],
            state: ActionState::Succeeded,
            result: "on -> off".into(),
            error_code: None,
            finished_at: Utc::now(),
            duration_ms: 40,
        };
        assert!(j.write_together(&[end], &[]).unwrap().is_empty());
        drop(j); // the process dies before b's end is written
        let after = Journal::open(&path).unwrap();
        let a = after.get(ids[0]).unwrap().unwrap();
        assert_eq!((a.state, a.duration_ms), (ActionState::Succeeded, Some(40)));
        let b = after.get(ids[1]).unwrap().unwrap();
        assert_eq!(
            b.state,
            ActionState::Unknown,
            "it may have been sent: check it"
        );
    }

    #[test]
    fn a_live_owner_keeps_its_running_actions_and_a_dead_one_does_not() {
        let (_dir, path) = scratch();
        let first = Journal::open(&path).unwrap();
        let id = begin(&first, ActionKind::Reboot, "web-1", "");
        first.mark_running(id).unwrap();
        begin(&first, ActionKind::Exec, "web-2", "uptime");
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

    #[test]
    fn kinds_are_stored_by_their_kebab_case_names() {
        for (kind, name) in [
            (ActionKind::HostAdd, "host-add"),
            (ActionKind::TrustHostKey, "trust-host-key"),
            (ActionKind::FlagOff, "flag-off"),
            (ActionKind::ExpireSilence, "expire-silence"),
            (ActionKind::ServerHardReboot, "server-hard-reboot"),
            (ActionKind::RollingReboot, "rolling-reboot"),
        ] {
            assert_eq!(kind.name(), name);
            assert_eq!(ActionKind::from_name(name), kind);
        }
        assert_eq!(ActionKind::from_name("incident-open"), ActionKind::Other);
    }

    #[test]
    fn a_kind_this_paaf_does_not_know_reads_as_other_and_keeps_its_name() {
        let (_dir, path) = scratch();
        let j = Journal::open(&path).unwrap();
        let id = begin(&j, ActionKind::Exec, "web-1", "uptime");
        let db = Connection::open(&path).unwrap();
        db.execute(
            "UPDATE actions SET kind = 'incident-open', data = '{\"type\":\"incident\",\"id\":7}' WHERE id = ?1",
            [id],
        )
        .unwrap();
        let rec = j.get(id).unwrap().unwrap();
        assert_eq!(rec.kind, ActionKind::Other);
        assert_eq!(rec.detail, "incident-open: uptime");
        assert_eq!(
            rec.data, None,
            "data of an unknown shape is left out, not an error"
        );
    }

    /// The fixture was written by the first release's code (main at 750596f) through
    /// `Journal::begin/mark_running/finish` and the flag facade's detail format; see
    /// core/tests/fixtures/README.md.
    /// A journal path in a new temporary directory (removed when the guard drops).
    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        (dir, path)
    }

    fn first_release_journal(dir: &Path) -> PathBuf {
        let path = dir.join("journal.sqlite");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/journal-v0.sqlite"
            ),
            &path,
        )
        .unwrap();
        path
    }

    #[test]
    fn a_journal_of_the_first_release_opens_and_its_rows_show_with_their_kinds_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = first_release_journal(dir.path());
        let j = Journal::open(&path).unwrap();
        let rows = j.list(None, 50).unwrap();
        let seen: Vec<(i64, ActionKind, &str, ActionState)> = rows
            .iter()
            .map(|r| (r.id, r.kind, r.target.as_str(), r.state))
            .collect();
        use ActionKind as K;
        use ActionState as S;
        assert_eq!(
            seen,
            [
                (7, K::Reboot, "web-4", S::Failed), // pending when its process died
                (6, K::ServerStop, "aws-prod/i-0abc", S::Unknown), // running then
                (5, K::Exec, "web-2", S::Failed),
                (4, K::FlagOn, "new checkout@prod \"eu\"", S::Succeeded),
                (3, K::FlagOff, "new-checkout@production", S::Succeeded),
                (2, K::Reboot, "web-1", S::Succeeded),
                (1, K::HostAdd, "web-1", S::Succeeded),
            ]
        );
        assert_eq!(rows[2].error_code.as_deref(), Some("unreachable"));
        assert_eq!(rows[5].operator, "alice");
        assert!(rows[5].result.as_deref().unwrap().starts_with("verified"));
        assert_eq!(
            rows[4].data,
            Some(ActionData::FlagChange {
                backend: "unleash".into(),
                project: "default".into(),
                flag: "new-checkout".into(),
                environment: "production".into(),
                was_enabled: true,
            })
        );
        assert_eq!(
            rows[3].data,
            Some(ActionData::FlagChange {
                backend: "saas".into(),
                project: "my \"team\" project".into(),
                flag: "new checkout".into(),
                environment: "prod \"eu\"".into(),
                was_enabled: false,
            }),
            "names with spaces and quotes are read back whole"
        );
        assert!(
            rows.iter()
                .filter(|r| r.id != 3 && r.id != 4)
                .all(|r| r.data.is_none())
        );

        // The migrated file takes new rows with data, and opens again without migrating twice.
        let data = ActionData::FlagChange {
            backend: "saas".into(),
            project: "p".into(),
            flag: "f".into(),
            environment: "e".into(),
            was_enabled: true,
        };
        let id = j
            .begin(
                &actor(),
                &NewAction::new(ActionKind::FlagOff, "f@e", "").with_data(data.clone()),
            )
            .unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.get(id).unwrap().unwrap().data, Some(data));
        let version: usize =
            j.db.lock()
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn a_first_release_process_still_writes_to_a_migrated_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = first_release_journal(dir.path());
        let j = Journal::open(&path).unwrap();
        // The first release's INSERT, as it runs in a process still on that release.
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO actions (kind, target, detail, operator, frontend, device, state, created_at, owner)
                 VALUES ('flag-off', 'x@prod', 'backend=saas project=p q flag=x env=prod was=on', 'bob', 'cli', 'pc', 'succeeded', ?1, 'old')",
                [Utc::now().to_rfc3339()],
            )
            .unwrap();
        let row = &j.list(None, 1).unwrap()[0];
        assert_eq!(row.kind, ActionKind::FlagOff);
        assert!(
            matches!(&row.data, Some(ActionData::FlagChange { project, was_enabled: true, .. }) if project == "p q"),
            "{row:?}"
        );
    }

    #[test]
    fn a_journal_of_a_newer_paaf_is_refused_with_what_to_do() {
        let (_dir, path) = scratch();
        drop(Journal::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Journal);
        assert!(err.to_string().contains("newer paaf"), "{err}");
        assert!(err.to_string().contains("update paaf"), "{err}");
    }

    #[test]
    fn a_reader_open_for_long_sees_a_dead_processs_running_action_as_unknown() {
        let (_dir, path) = scratch();
        let desktop = Journal::open(&path).unwrap();
        let cli = Journal::open(&path).unwrap();
        let id = begin(&cli, ActionKind::Reboot, "web-1", "");
        cli.mark_running(id).unwrap();
        let pending = begin(&cli, ActionKind::Exec, "web-2", "uptime");
        assert_eq!(
            desktop.list(None, 10).unwrap()[1].state,
            ActionState::Running
        );
        drop(cli); // the CLI process dies; the desktop app stays open
        let rows = desktop.list(None, 10).unwrap();
        assert_eq!((rows[1].id, rows[1].state), (id, ActionState::Unknown));
        assert_eq!((rows[0].id, rows[0].state), (pending, ActionState::Failed));
        assert_eq!(
            desktop.last_for("web-1").unwrap().unwrap().state,
            ActionState::Unknown
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_and_its_companions_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("paaf");
        let path = home.join("journal.sqlite");
        let j = Journal::open(&path).unwrap();
        begin(&j, ActionKind::Exec, "web-1", "uptime");
        let mode = private_files::mode;
        assert_eq!(mode(&home), 0o700, "the directory it created");
        for file in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"] {
            assert_eq!(mode(&home.join(file)), 0o600, "{file}");
        }
        let owners = owners_dir(&path);
        assert_eq!(mode(&owners), 0o700);
        let lock = std::fs::read_dir(&owners).unwrap().next().unwrap().unwrap();
        assert_eq!(mode(&lock.path()), 0o600);
    }
}
