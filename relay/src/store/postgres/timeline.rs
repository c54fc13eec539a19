//! The team timeline's tables in PostgreSQL (see `store::timeline`): rows posted through any
//! instance land in the same tables, so every instance serves the same merged timeline.

use super::Postgres;
use crate::store::timeline::{KeyRegistered, StoredRow};
use crate::store::{Result, now};

/// Schema step 2 (see `MIGRATIONS`).
pub(super) const MIGRATION: &str = "
    CREATE TABLE device_keys (
        device_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        registered_at TEXT NOT NULL
    );
    CREATE TABLE timeline_rows (
        device_id TEXT NOT NULL,
        row_id BIGINT NOT NULL,
        incident_key TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        row TEXT NOT NULL,
        sig TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, row_id)
    );
    CREATE INDEX timeline_of ON timeline_rows(incident_key, at_ms, device_id, row_id);";

impl Postgres {
    pub async fn set_device_key(&self, device_id: &str, key: &str) -> Result<KeyRegistered> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO device_keys (device_id, public_key, registered_at) VALUES ($1, $2, $3)
                 ON CONFLICT (device_id) DO NOTHING",
                &[&device_id, &key, &now()],
            )
            .await?;
        let stored: String = client
            .query_one(
                "SELECT public_key FROM device_keys WHERE device_id = $1",
                &[&device_id],
            )
            .await?
            .get(0);
        Ok(match stored == key {
            true => KeyRegistered::Registered,
            false => KeyRegistered::HasAnother,
        })
    }

    pub async fn device_key(&self, device_id: &str) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT public_key FROM device_keys WHERE device_id = $1",
                &[&device_id],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn add_timeline_rows(&self, rows: &[StoredRow]) -> Result<u64> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let received = now();
        let mut new = 0;
        for r in rows {
            new += tx
                .execute(
                    "INSERT INTO timeline_rows (device_id, row_id, incident_key, at_ms, row, sig, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (device_id, row_id) DO NOTHING",
                    &[
                        &r.device_id,
                        &r.row_id,
                        &r.incident_key,
                        &r.at_ms,
                        &r.json,
                        &r.sig,
                        &received,
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    pub async fn timeline(&self, incident_key: &str) -> Result<Vec<String>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT row FROM timeline_rows WHERE incident_key = $1 ORDER BY at_ms, device_id, row_id",
                &[&incident_key],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
