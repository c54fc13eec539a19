//! The relay's state in SQLite (WAL, synchronous FULL): paired devices (their token's hash
//! only), signed intents, one delivery row per intent and device, and the claims. An intent is
//! written with its delivery rows in one transaction before anything is pushed, so a restart
//! loses none that was not delivered.
//!
//! Webhooks are written by one writer thread with group commit: the webhooks waiting when it
//! starts a transaction all go into that one (each in its own savepoint, so one that fails
//! fails alone), and each is answered once the transaction is durable. Under a burst one
//! fsync serves many webhooks instead of one each.

use super::{
    ClaimAnswer, ClaimRow, ClaimStatus, Device, DuePush, EndpointState, NewIntent, PushKind,
    Stored, flag_name, in_scope, now, scope_of, scope_rows, token_hash,
};
use paaf_core::intent::relay_client::{ClaimResult, DeviceScope, IntentNotice, PushEndpoint};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::Path;

mod timeline;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The most webhooks one group commit takes.
const GROUP_MAX: usize = 512;

/// A webhook waiting for the writer: what to store, and where to say how it went.
struct Pending {
    resolved: Vec<String>,
    intents: Vec<NewIntent>,
    now_ms: i64,
    answer: oneshot::Sender<Result<Stored>>,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        paired_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE IF NOT EXISTS intents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        dedup_key TEXT NOT NULL,
        alert_key TEXT NOT NULL,
        notice TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        withdrawn INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS intents_dedup ON intents(dedup_key, expires_at_ms);
    CREATE INDEX IF NOT EXISTS intents_alert ON intents(alert_key);
    CREATE TABLE IF NOT EXISTS deliveries (
        seq INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        sent_at TEXT,
        PRIMARY KEY (seq, device_id)
    );
    CREATE TABLE IF NOT EXISTS push_endpoints (
        device_id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        dropped_at TEXT
    );
    CREATE TABLE IF NOT EXISTS pushes (
        seq INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at_ms INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (seq, device_id)
    );
    CREATE INDEX IF NOT EXISTS pushes_due ON pushes(state, next_at_ms);
    CREATE TABLE IF NOT EXISTS claims (
        intent_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        device TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        state TEXT,
        summary TEXT
    );
    CREATE TABLE IF NOT EXISTS device_scopes (
        device_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (device_id, kind, name)
    );";

/// The SQLite store: one connection, its calls made from tokio's blocking pool.
pub struct Sqlite {
    db: Arc<Mutex<Connection>>,
    /// The writer thread's queue of webhooks.
    writer: mpsc::UnboundedSender<Pending>,
}

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

impl Sqlite {
    pub fn open(path: &Path) -> std::result::Result<Sqlite, String> {
        Self::open_db(path)
            .map_err(|e| e.to_string())
            .and_then(Sqlite::with_writer)
    }

    fn open_db(path: &Path) -> Result<Connection> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(SCHEMA)?;
        db.execute_batch(timeline::SCHEMA)?;
        Ok(db)
    }

    /// The store over `db`, with its writer thread.
    fn with_writer(db: Connection) -> std::result::Result<Sqlite, String> {
        let db = Arc::new(Mutex::new(db));
        let (writer, queue) = mpsc::unbounded_channel();
        let shared = db.clone();
        std::thread::Builder::new()
            .name("paaf-relay-writer".into())
            .spawn(move || write_webhooks(&shared, queue))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Sqlite { db, writer })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("store poisoned")
    }

    /// Pairs device `id`, with the endpoint its notifications are pushed to, if it gave one.
    pub fn add_device(
        &self,
        id: &str,
        name: &str,
        token: &str,
        push: Option<&PushEndpoint>,
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO devices (id, name, token_hash, paired_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, token_hash(token), now()],
        )?;
        if let Some(push) = push {
            tx.execute(
                "INSERT INTO push_endpoints (device_id, endpoint) VALUES (?1, ?2)",
                params![
                    id,
                    serde_json::to_string(push).expect("an endpoint serializes")
                ],
            )?;
        }
        tx.commit()
    }

    /// The paired (not revoked) device holding `token`.
    pub fn device(&self, token: &str) -> Result<Option<Device>> {
        self.db()
            .query_row(
                "SELECT id, name FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL",
                params![token_hash(token)],
                |r| {
                    Ok(Device {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()
    }

    /// Revokes the device: its token no longer works, nothing more is delivered to it.
    pub fn revoke(&self, device_id: &str) -> Result<()> {
        let db = self.db();
        db.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2",
            params![now(), device_id],
        )?;
        db.execute(
            "DELETE FROM deliveries WHERE device_id = ?1 AND state = 'pending'",
            params![device_id],
        )?;
        db.execute(
            "DELETE FROM pushes WHERE device_id = ?1",
            params![device_id],
        )?;
        db.execute(
            "DELETE FROM push_endpoints WHERE device_id = ?1",
            params![device_id],
        )?;
        Ok(())
    }

    pub fn paired_devices(&self) -> Result<i64> {
        self.db().query_row(
            "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL",
            [],
            |r| r.get(0),
        )
    }

    /// Stores `new` with a delivery row per paired device; `None` when a live intent for the
    /// same alert and step exists (a repeated notification of a firing alert).
    /// Stores what one webhook asks for: withdraws the intents of the alerts `resolved`, adds
    /// `intents`; answered once it is durable (group commit, by the writer thread).
    pub async fn record_webhook(
        &self,
        resolved: Vec<String>,
        intents: Vec<NewIntent>,
        now_ms: i64,
    ) -> super::Result<Stored> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            resolved,
            intents,
            now_ms,
            answer,
        };
        let stopped = || super::StoreError::Stopped("the SQLite writer thread ended".into());
        self.writer.send(pending).map_err(|_| stopped())?;
        Ok(answered.await.map_err(|_| stopped())??)
    }

    /// The pushes due at `now_ms` to endpoints still alive, oldest first, at most `limit`.
    pub fn due_pushes(&self, now_ms: i64, limit: i64) -> Result<Vec<DuePush>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT p.seq, p.device_id, e.endpoint, i.notice, p.state, p.attempts
             FROM pushes p JOIN push_endpoints e ON e.device_id = p.device_id
             JOIN intents i ON i.seq = p.seq
             WHERE p.state IN ('notify', 'withdraw') AND p.next_at_ms <= ?1
               AND e.dropped_at IS NULL
             ORDER BY p.next_at_ms, p.seq LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now_ms, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, device_id, endpoint, notice, state, attempts)| {
                Some(DuePush {
                    seq,
                    device_id,
                    endpoint: serde_json::from_str(&endpoint).ok()?,
                    notice: serde_json::from_str(&notice).ok()?,
                    kind: match state.as_str() {
                        "withdraw" => PushKind::Withdraw,
                        _ => PushKind::Notify,
                    },
                    attempts,
                })
            })
            .collect())
    }

    /// The earliest time a push is due (to sleep until then), if any is waiting.
    pub fn next_push_at(&self) -> Result<Option<i64>> {
        self.db().query_row(
            "SELECT MIN(p.next_at_ms) FROM pushes p JOIN push_endpoints e ON e.device_id = p.device_id
             WHERE p.state IN ('notify', 'withdraw') AND e.dropped_at IS NULL",
            [],
            |r| r.get(0),
        )
    }

    /// `push` went through: done, and its endpoint's failures are forgiven.
    pub fn push_done(&self, push: &DuePush) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let state = match push.kind {
            PushKind::Notify => "sent",
            PushKind::Withdraw => "withdrawn",
        };
        tx.execute(
            "UPDATE pushes SET state = ?1, attempts = attempts + 1 WHERE seq = ?2 AND device_id = ?3",
            params![state, push.seq, push.device_id],
        )?;
        tx.execute(
            "UPDATE push_endpoints SET failures = 0, last_error = NULL WHERE device_id = ?1",
            params![push.device_id],
        )?;
        tx.commit()
    }

    /// `push` failed with `error`: tried again at `retry_at_ms`, unless its endpoint is gone
    /// (`dead`) or failed `max_failures` times in a row, when it is dropped. True: dropped.
    pub fn push_failed(
        &self,
        push: &DuePush,
        error: &str,
        dead: bool,
        retry_at_ms: i64,
        max_failures: i64,
    ) -> Result<bool> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE pushes SET attempts = attempts + 1, next_at_ms = ?1 WHERE seq = ?2 AND device_id = ?3",
            params![retry_at_ms, push.seq, push.device_id],
        )?;
        let failures: i64 = tx.query_row(
            "UPDATE push_endpoints SET failures = failures + 1, last_error = ?1 WHERE device_id = ?2 RETURNING failures",
            params![error, push.device_id],
            |r| r.get(0),
        )?;
        let dropped = dead || failures >= max_failures;
        if dropped {
            tx.execute(
                "UPDATE push_endpoints SET dropped_at = ?1 WHERE device_id = ?2",
                params![now(), push.device_id],
            )?;
            tx.execute(
                "DELETE FROM pushes WHERE device_id = ?1 AND state IN ('notify', 'withdraw')",
                params![push.device_id],
            )?;
        }
        tx.commit()?;
        Ok(dropped)
    }

    /// The service refused `push` itself with `error` (too large): it is given up, not tried
    /// again, and the error shown on its endpoint, which is kept and not counted as failing.
    pub fn push_rejected(&self, push: &DuePush, error: &str) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE pushes SET state = 'rejected', attempts = attempts + 1 WHERE seq = ?1 AND device_id = ?2",
            params![push.seq, push.device_id],
        )?;
        tx.execute(
            "UPDATE push_endpoints SET last_error = ?1 WHERE device_id = ?2",
            params![error, push.device_id],
        )?;
        tx.commit()
    }

    /// The push endpoints of the paired devices and how their deliveries go.
    pub fn endpoints(&self) -> Result<Vec<EndpointState>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT e.device_id, d.name, e.endpoint, e.failures, e.last_error, e.dropped_at
             FROM push_endpoints e JOIN devices d ON d.id = e.device_id
             WHERE d.revoked_at IS NULL ORDER BY d.paired_at",
        )?;
        stmt.query_map([], |r| {
            let endpoint: String = r.get(2)?;
            Ok(EndpointState {
                device_id: r.get(0)?,
                device: r.get(1)?,
                kind: serde_json::from_str::<PushEndpoint>(&endpoint)
                    .map(|e| e.kind().to_string())
                    .unwrap_or_else(|_| "unknown".into()),
                failures: r.get(3)?,
                last_error: r.get(4)?,
                dropped_at: r.get(5)?,
            })
        })?
        .collect()
    }

    /// The live intents to send to `device_id`: the undelivered ones, and those after
    /// sequence `after` (a stream resumed with `Last-Event-ID`).
    pub fn due(
        &self,
        device_id: &str,
        after: i64,
        now_ms: i64,
    ) -> Result<Vec<(i64, IntentNotice)>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT i.seq, i.notice FROM intents i JOIN deliveries d ON d.seq = i.seq
             WHERE d.device_id = ?1 AND (d.state = 'pending' OR i.seq > ?2)
               AND i.withdrawn = 0 AND i.expires_at_ms > ?3
               AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.intent_id = i.id)
             ORDER BY i.seq",
        )?;
        let rows = stmt
            .query_map(params![device_id, after, now_ms], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, text)| serde_json::from_str(&text).ok().map(|n| (seq, n)))
            .collect())
    }

    /// Records that intents `seqs` went out on `device_id`'s stream.
    pub fn mark_sent(&self, device_id: &str, seqs: &[i64]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE deliveries SET state = 'sent', sent_at = ?1 WHERE seq = ?2 AND device_id = ?3",
            )?;
            let at = now();
            for seq in seqs {
                update.execute(params![at, seq, device_id])?;
            }
        }
        tx.commit()
    }

    /// Intents not yet on any stream of their devices.
    pub fn undelivered(&self) -> Result<i64> {
        self.db().query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
    }

    /// Claims intent `id` for `device`: the first claimer (or the same device again, before it
    /// reported) acts; any other learns who did and how it went.
    pub fn claim(&self, id: &str, device: &Device) -> Result<ClaimAnswer> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM intents WHERE id = ?1)",
            params![id],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(ClaimAnswer::NoSuchIntent);
        }
        tx.execute(
            "INSERT OR IGNORE INTO claims (intent_id, device_id, device, claimed_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, device.id, device.name, now()],
        )?;
        let claim = claim_row(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        tx.commit()?;
        Ok(claim.answer_to(device))
    }

    /// Records how the claimed intent `id` ended; false when `device` is not its claimer.
    pub fn record_result(&self, id: &str, device: &Device, result: &ClaimResult) -> Result<bool> {
        let changed = self.db().execute(
            "UPDATE claims SET state = ?1, summary = ?2 WHERE intent_id = ?3 AND device_id = ?4",
            params![result.state, result.summary, id, device.id],
        )?;
        Ok(changed == 1)
    }
}

/// Device scopes and claim status.
impl Sqlite {
    /// Sets the intents device `device_id` receives (replacing any scope it had).
    pub fn set_scope(&self, device_id: &str, scope: &DeviceScope) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "DELETE FROM device_scopes WHERE device_id = ?1",
            params![device_id],
        )?;
        for (kind, name) in scope_rows(scope) {
            tx.execute(
                "INSERT OR IGNORE INTO device_scopes (device_id, kind, name) VALUES (?1, ?2, ?3)",
                params![device_id, kind, name],
            )?;
        }
        tx.commit()
    }

    /// The intents device `device_id` receives.
    pub fn scope(&self, device_id: &str) -> Result<DeviceScope> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT kind, name FROM device_scopes WHERE device_id = ?1 ORDER BY kind, rowid",
        )?;
        let rows = stmt
            .query_map(params![device_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>>>()?;
        Ok(scope_of(rows))
    }

    /// Who claimed intent `id`, as `device` asks before claiming: nothing is claimed.
    pub fn claim_status(&self, id: &str, device: &Device) -> Result<ClaimStatus> {
        let db = self.db();
        let exists: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM intents WHERE id = ?1)",
            params![id],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(ClaimStatus::NoSuchIntent);
        }
        Ok(ClaimStatus::of(claim_row(&db, id)?, device))
    }
}

/// Intent `id`'s claim row, if it was claimed.
fn claim_row(db: &Connection, id: &str) -> Result<Option<ClaimRow>> {
    db.query_row(
        "SELECT device_id, device, claimed_at, state, summary FROM claims WHERE intent_id = ?1",
        params![id],
        |r| {
            Ok(ClaimRow {
                device_id: r.get(0)?,
                device: r.get(1)?,
                claimed_at: r.get(2)?,
                state: r.get(3)?,
                summary: r.get(4)?,
            })
        },
    )
    .optional()
}

/// The writer thread: takes the webhooks waiting, writes them in one transaction, answers
/// each once it committed; until the store is dropped.
fn write_webhooks(db: &Mutex<Connection>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut conn = db.lock().expect("store poisoned");
        let answers = write_group(&mut conn, &group);
        drop(conn);
        for (pending, answer) in group.into_iter().zip(answers) {
            // A webhook whose client went away needs no answer.
            let _ = pending.answer.send(answer);
        }
    }
}

/// Writes `group` in one transaction, each webhook in its own savepoint; how each went.
fn write_group(db: &mut Connection, group: &[Pending]) -> Vec<Result<Stored>> {
    let tx = match db.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return group.iter().map(|_| Err(copy_error(&e))).collect(),
    };
    let mut answers: Vec<Result<Stored>> = group
        .iter()
        .map(|p| {
            tx.execute_batch("SAVEPOINT webhook")?;
            match store_webhook(&tx, p) {
                Ok(stored) => {
                    tx.execute_batch("RELEASE webhook")?;
                    Ok(stored)
                }
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO webhook; RELEASE webhook")?;
                    Err(e)
                }
            }
        })
        .collect();
    if let Err(e) = tx.commit() {
        answers = group.iter().map(|_| Err(copy_error(&e))).collect();
    }
    answers
}

/// The same error again, for each webhook of a group that one failure failed.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::ToSqlConversionFailure(other.to_string().into()),
    }
}

/// One webhook's withdrawals and intents, in the writer's transaction `tx`.
fn store_webhook(tx: &Connection, pending: &Pending) -> Result<Stored> {
    let mut stored = Stored::default();
    for alert in &pending.resolved {
        stored.withdrawn += withdraw(tx, alert)?;
    }
    for new in &pending.intents {
        stored.added.extend(add_intent(tx, new, pending.now_ms)?);
    }
    Ok(stored)
}

/// Stores `new` with a delivery row per paired device; `None` when a live intent for the
/// same alert and step exists (a repeated notification of a firing alert).
fn add_intent(tx: &Connection, new: &NewIntent, now_ms: i64) -> Result<Option<i64>> {
    let live: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM intents WHERE dedup_key = ?1 AND expires_at_ms > ?2 AND withdrawn = 0)",
        params![new.dedup_key, now_ms],
        |r| r.get(0),
    )?;
    if live {
        return Ok(None);
    }
    tx.prepare_cached(
        "INSERT INTO intents (id, dedup_key, alert_key, notice, expires_at_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        new.notice.id,
        new.dedup_key,
        new.alert_key,
        serde_json::to_string(&new.notice).expect("a notice serializes"),
        new.notice.expires_at_ms,
        now()
    ])?;
    let seq = tx.last_insert_rowid();
    // Only to the devices whose scope covers it, on every channel.
    let scoped = params![
        seq,
        new.notice.playbook,
        new.notice.target,
        flag_name(&new.notice)
    ];
    tx.prepare_cached(&format!(
        "INSERT INTO deliveries (seq, device_id, state) SELECT ?1, id, 'pending' FROM devices
         WHERE revoked_at IS NULL AND {}",
        in_scope("devices.id", "?2", "?3", "?4")
    ))?
    .execute(scoped)?;
    tx.prepare_cached(&format!(
        "INSERT INTO pushes (seq, device_id, state) SELECT ?1, e.device_id, 'notify' FROM push_endpoints e
         JOIN devices d ON d.id = e.device_id WHERE d.revoked_at IS NULL AND e.dropped_at IS NULL AND {}",
        in_scope("d.id", "?2", "?3", "?4")
    ))?
    .execute(scoped)?;
    Ok(Some(seq))
}

/// Withdraws the live intents of the alert `alert_key` (it resolved); how many.
/// A notification already pushed gets a withdrawal push; one not pushed yet is not sent.
fn withdraw(tx: &Connection, alert_key: &str) -> Result<usize> {
    let live = "SELECT seq FROM intents WHERE alert_key = ?1 AND withdrawn = 0";
    tx.execute(
        &format!("DELETE FROM pushes WHERE state = 'notify' AND seq IN ({live})"),
        params![alert_key],
    )?;
    tx.execute(
        &format!(
            "UPDATE pushes SET state = 'withdraw', attempts = 0, next_at_ms = 0 WHERE state = 'sent' AND seq IN ({live})"
        ),
        params![alert_key],
    )?;
    tx.execute(
        "UPDATE intents SET withdrawn = 1 WHERE alert_key = ?1 AND withdrawn = 0",
        params![alert_key],
    )
}
