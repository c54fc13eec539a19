//! The server cache file: read (a damaged one is no cache, never an error); what is read is
//! written back and read again unchanged.
#![no_main]

use paaf_core::cloud::Inventory;
use paaf_core::cloud::cache::{load, store};

#[path = "scratch.rs"]
mod scratch;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = scratch::file("servers-cache.json");
    std::fs::write(&path, data).unwrap();
    let Some(cached) = load(&path) else {
        return;
    };
    let inventory = Inventory {
        servers: cached.servers.clone(),
        errors: Vec::new(),
    };
    store(&path, &inventory, cached.fetched_at_ms).unwrap();
    assert_eq!(load(&path), Some(cached));
});
