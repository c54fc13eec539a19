//! Kubeconfig files: the cluster and user of the current context read (tokens, certificates
//! and keys decoded). Building the HTTPS client from them, OpenSSL's parsing, is left out: it
//! held the target to 15 inputs a second.
#![no_main]

use paaf_core::cloud::kubernetes::ClusterAccess;

#[path = "scratch.rs"]
mod scratch;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = scratch::file("config");
    std::fs::write(&path, data).unwrap();
    let _ = ClusterAccess::from_kubeconfig(&[path], None, None);
});
