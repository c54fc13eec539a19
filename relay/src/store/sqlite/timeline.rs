//! The team timeline's tables in SQLite (see `store::timeline`).

use super::{Result, Sqlite};
use crate::store::now;
use crate::store::timeline::{KeyRegistered, StoredRow};
use rusqlite::{OptionalExtension, params};

pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS device_keys (
        device_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        registered_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS timeline_rows (
        device_id TEXT NOT NULL,
        row_id INTEGER NOT NULL,
        incident_key TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        row TEXT NOT NULL,
        sig TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, row_id)
    );
    CREATE INDEX IF NOT EXISTS timeline_of ON timeline_rows(incident_key, at_ms, device_id, row_id);";

impl Sqlite {
    pub fn set_device_key(&self, device_id: &str, key: &str) -> Result<KeyRegistered> {
        let db = self.db();
        db.execute(
            "INSERT OR IGNORE INTO device_keys (device_id, public_key, registered_at) VALUES (?1, ?2, ?3)",
            params![device_id, key, now()],
        )?;
        let stored: String = db.query_row(
            "SELECT public_key FROM device_keys WHERE device_id = ?1",
            params![device_id],
            |r| r.get(0),
        )?;
        Ok(match stored == key {
            true => KeyRegistered::Registered,
            false => KeyRegistered::HasAnother,
        })
    }

    pub fn device_key(&self, device_id: &str) -> Result<Option<String>> {
        self.db()
            .query_row(
                "SELECT public_key FROM device_keys WHERE device_id = ?1",
                params![device_id],
                |r| r.get(0),
            )
            .optional()
    }

    pub fn add_timeline_rows(&self, rows: &[StoredRow]) -> Result<u64> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let mut new = 0;
        let received = now();
        for r in rows {
            new += tx.execute(
                "INSERT OR IGNORE INTO timeline_rows (device_id, row_id, incident_key, at_ms, row, sig, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.device_id, r.row_id, r.incident_key, r.at_ms, r.json, r.sig, received],
            )? as u64;
        }
        tx.commit()?;
        Ok(new)
    }

    pub fn timeline(&self, incident_key: &str) -> Result<Vec<String>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT row FROM timeline_rows WHERE incident_key = ?1 ORDER BY at_ms, device_id, row_id",
        )?;
        stmt.query_map(params![incident_key], |r| r.get(0))?
            .collect()
    }
}
