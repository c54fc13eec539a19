//! Action intents in the journal: the nonces this device has acted on (an intent runs once per
//! device, whatever its expiry says) and the relay it is paired with (its pinned key).

use super::Journal;
use crate::error::Result;
use chrono::Utc;
use rusqlite::{OptionalExtension, params};

/// Schema step 5 (see `MIGRATIONS`).
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS intent_nonces (
        nonce TEXT PRIMARY KEY,
        intent_id TEXT NOT NULL,
        used_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS relay_pairing (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        url TEXT NOT NULL,
        device_id TEXT NOT NULL,
        relay_key TEXT NOT NULL,
        paired_at TEXT NOT NULL
    );";

/// The relay this device is paired with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RelayPairing {
    pub url: String,
    /// The relay's id of this device.
    pub device_id: String,
    /// The relay's public key, pinned (`ed25519:...`).
    pub relay_key: String,
    pub paired_at: String,
}

impl Journal {
    /// Records that intent `intent_id` with `nonce` is acted on now; false (nothing written)
    /// when the nonce was used before.
    pub fn use_nonce(&self, nonce: &str, intent_id: &str) -> Result<bool> {
        let db = self.db.lock().expect("journal poisoned");
        let added = db
            .execute(
                "INSERT OR IGNORE INTO intent_nonces (nonce, intent_id, used_at) VALUES (?1, ?2, ?3)",
                params![nonce, intent_id, Utc::now().to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(added == 1)
    }

    /// When `nonce` was acted on, if it was.
    pub fn nonce_used_at(&self, nonce: &str) -> Result<Option<String>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT used_at FROM intent_nonces WHERE nonce = ?1",
            params![nonce],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Pins `pairing` (replacing an earlier one: a device has one relay).
    pub fn set_relay_pairing(&self, pairing: &RelayPairing) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        db.execute(
            "INSERT OR REPLACE INTO relay_pairing (id, url, device_id, relay_key, paired_at) VALUES (1, ?1, ?2, ?3, ?4)",
            params![pairing.url, pairing.device_id, pairing.relay_key, pairing.paired_at],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The relay this device is paired with.
    pub fn relay_pairing(&self) -> Result<Option<RelayPairing>> {
        let db = self.db.lock().expect("journal poisoned");
        db.query_row(
            "SELECT url, device_id, relay_key, paired_at FROM relay_pairing WHERE id = 1",
            [],
            |r| {
                Ok(RelayPairing {
                    url: r.get(0)?,
                    device_id: r.get(1)?,
                    relay_key: r.get(2)?,
                    paired_at: r.get(3)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Forgets the pairing (the relay key is no longer trusted).
    pub fn clear_relay_pairing(&self) -> Result<()> {
        let db = self.db.lock().expect("journal poisoned");
        db.execute("DELETE FROM relay_pairing", [])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
