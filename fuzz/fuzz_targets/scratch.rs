//! Files the targets read paaf's inputs from: one directory per fuzzing process, in memory
//! (`/dev/shm`) when there is one.

use std::path::PathBuf;

/// The file `name` in this process's directory (created on first use).
pub fn file(name: &str) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("paaf-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join(name)
}
