//! The relay's state in SQLite (WAL, synchronous FULL): paired devices (their token's hash
//! only), signed intents, one delivery row per intent and device, and the claims. An intent is
//! written with its delivery rows in one transaction before anything is pushed, so a restart
//! loses none that was not delivered.

use paaf_core::intent::relay_client::{Claim, ClaimResult, IntentNotice};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;

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
    CREATE TABLE IF NOT EXISTS claims (
        intent_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        device TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        state TEXT,
        summary TEXT
    );";

/// A device, as its token identifies it.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub name: String,
}

/// An intent about to be stored.
pub struct NewIntent {
    pub notice: IntentNotice,
    /// Same alert, playbook and step: not issued again while one is live.
    pub dedup_key: String,
    /// The alert it answers: withdrawn when it resolves.
    pub alert_key: String,
}

/// How a claim went.
pub enum ClaimAnswer {
    Answered(Claim),
    NoSuchIntent,
}

pub struct Store {
    db: Mutex<Connection>,
}

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// What is stored of a device token: its SHA-256, never the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(SCHEMA)?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("store poisoned")
    }

    pub fn add_device(&self, id: &str, name: &str, token: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO devices (id, name, token_hash, paired_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, token_hash(token), now()],
        )?;
        Ok(())
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
    pub fn add_intent(&self, new: &NewIntent, now_ms: i64) -> Result<Option<i64>> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let live: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM intents WHERE dedup_key = ?1 AND expires_at_ms > ?2 AND withdrawn = 0)",
            params![new.dedup_key, now_ms],
            |r| r.get(0),
        )?;
        if live {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO intents (id, dedup_key, alert_key, notice, expires_at_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.notice.id,
                new.dedup_key,
                new.alert_key,
                serde_json::to_string(&new.notice).expect("a notice serializes"),
                new.notice.expires_at_ms,
                now()
            ],
        )?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO deliveries (seq, device_id, state) SELECT ?1, id, 'pending' FROM devices WHERE revoked_at IS NULL",
            params![seq],
        )?;
        tx.commit()?;
        Ok(Some(seq))
    }

    /// Withdraws the live intents of the alert `alert_key` (it resolved); how many.
    pub fn withdraw(&self, alert_key: &str) -> Result<usize> {
        self.db().execute(
            "UPDATE intents SET withdrawn = 1 WHERE alert_key = ?1 AND withdrawn = 0",
            params![alert_key],
        )
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

    /// Records that intent `seq` went out on `device_id`'s stream.
    pub fn mark_sent(&self, device_id: &str, seq: i64) -> Result<()> {
        self.db().execute(
            "UPDATE deliveries SET state = 'sent', sent_at = ?1 WHERE seq = ?2 AND device_id = ?3",
            params![now(), seq, device_id],
        )?;
        Ok(())
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
        let (device_id, name, claimed_at, state, summary): (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        ) = tx.query_row(
            "SELECT device_id, device, claimed_at, state, summary FROM claims WHERE intent_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        tx.commit()?;
        let result = match (state, summary) {
            (Some(state), Some(summary)) => Some(ClaimResult { state, summary }),
            _ => None,
        };
        Ok(ClaimAnswer::Answered(Claim {
            first: device_id == device.id && result.is_none(),
            device: name,
            claimed_at,
            result,
        }))
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
