//! The last server list, kept on disk beside the journal so that a front-end shows it (with
//! its age) at once on start while the clouds are asked again.
//!
//! A cache that cannot be read (missing, from an older paaf, damaged) is no cache: it is never
//! an error, since the fresh list replaces it moments later. Writes go to a temporary file
//! renamed into place, so a reader never sees half a file.

use super::{Inventory, Server};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A server list as it was at `fetched_at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CachedInventory {
    /// When the clouds answered, in ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fetched_at_ms: i64,
    pub servers: Vec<Server>,
}

impl CachedInventory {
    /// How old the list is, in ms (0 if the clock went back).
    pub fn age_ms(&self, now_ms: i64) -> u64 {
        now_ms.saturating_sub(self.fetched_at_ms).max(0) as u64
    }
}

/// The cache file for a journal at `journal`: `servers-cache.json` beside it.
pub fn path_beside(journal: &Path) -> PathBuf {
    journal.with_file_name("servers-cache.json")
}

/// The cached list, if there is a readable one.
pub fn load(path: &Path) -> Option<CachedInventory> {
    // Read whole, then parsed: serde_json parses a slice several times faster than a reader.
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(cached) => Some(cached),
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring an unreadable server cache: {e}");
            None
        }
    }
}

/// Replaces the cache with `inventory`'s servers, fetched at `now_ms`.
pub fn store(path: &Path, inventory: &Inventory, now_ms: i64) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let io = |e: std::io::Error| {
        Error::other(format!(
            "could not write the server cache {}: {e}",
            path.display()
        ))
    };
    {
        let mut out = BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        serde_json::to_writer(
            &mut out,
            &CachedInventoryRef {
                fetched_at_ms: now_ms,
                servers: &inventory.servers,
            },
        )
        .map_err(|e| Error::other(format!("could not encode the server cache: {e}")))?;
        out.flush().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// [`CachedInventory`] borrowing the servers, to write them without a copy.
#[derive(Serialize)]
struct CachedInventoryRef<'a> {
    fetched_at_ms: i64,
    servers: &'a [Server],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{ServerStatus, test_server};
    use std::collections::BTreeMap;

    fn inventory() -> Inventory {
        Inventory {
            servers: vec![Server {
                public_ips: vec!["203.0.113.7".into()],
                private_ips: vec!["10.0.0.7".into()],
                tags: BTreeMap::from([("role".into(), "web".into())]),
                launched_at_ms: Some(1_700_000_000_000),
                ..test_server(ServerStatus::Running)
            }],
            errors: vec![],
        }
    }

    #[test]
    fn a_stored_list_comes_back_with_its_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("journal.sqlite"));
        assert_eq!(load(&path), None);
        store(&path, &inventory(), 1_000).unwrap();
        let cached = load(&path).unwrap();
        assert_eq!(cached.servers, inventory().servers);
        assert_eq!(cached.age_ms(61_000), 60_000);
        assert_eq!(cached.age_ms(0), 0, "a clock that went back is age 0");
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn a_damaged_cache_is_no_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("servers-cache.json");
        std::fs::write(&path, b"{\"fetched_at_ms\": 1, \"servers\": [{\"provi").unwrap();
        assert_eq!(load(&path), None);
    }
}
