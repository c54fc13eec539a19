//! The team timeline's part of the store (both backends): each paired device's Ed25519 public
//! key (registered once, right after pairing), and the rows of the shared incidents the
//! devices post, kept once per device and row id.

use super::{Lent, Result, Store, blocking};

/// A verified row as stored: its place, and its JSON and signature as the device sent them.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub device_id: String,
    pub row_id: i64,
    pub incident_key: String,
    /// When the action started (epoch ms): the timeline's order.
    pub at_ms: i64,
    pub json: String,
    pub sig: String,
}

/// What registering a device key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRegistered {
    /// Registered now, or the same key again.
    Registered,
    /// The device already has another key: refused.
    HasAnother,
}

impl Store {
    both!(
        /// Registers `key` as device `device_id`'s key, unless it has another.
        set_device_key(device_id: &str => device_id.to_string(), key: &str => key.to_string()) -> KeyRegistered
    );
    both!(
        /// Device `device_id`'s registered key (`ed25519:...`).
        device_key(device_id: &str => device_id.to_string()) -> Option<String>
    );
    both!(
        /// Stores `rows`, each once per device and row id (a row posted again changes
        /// nothing); the number that were new.
        add_timeline_rows(rows: &[StoredRow] => rows.to_vec()) -> u64
    );
    both!(
        /// The JSON of the rows of team incident `incident_key`, by start time, then device,
        /// then row id.
        timeline(incident_key: &str => incident_key.to_string()) -> Vec<String>
    );
}
