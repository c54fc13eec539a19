//! Connection reuse, and the bridge from async callers to blocking libssh2 calls.

use super::session::{Connection, HostKeyPolicy, Target};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Keeps one idle authenticated connection per host so a run of commands pays one handshake.
#[derive(Default, Clone)]
pub struct SshPool {
    idle: Arc<Mutex<HashMap<String, Connection>>>,
}

fn key(t: &Target) -> String {
    format!("{}@{}:{}#{}", t.user, t.address, t.port, t.name)
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::other(format!("SSH worker failed: {e}")))?
}

impl SshPool {
    /// Runs `f` on a connection to `target`: the idle one if there is one, else a new one
    /// (host key checked strictly). An idle connection that died meanwhile (the host rebooted,
    /// a NAT forgot it) fails before anything is sent; then `f` runs once more on a new one.
    /// The connection goes back to the pool if it survived.
    pub async fn with_connection<R, F>(&self, target: Target, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut Connection) -> Result<R> + Send + 'static,
    {
        let idle = self.idle.clone();
        blocking(move || {
            let k = key(&target);
            let reused = idle.lock().expect("pool poisoned").remove(&k);
            let (mut conn, was_idle) = match reused {
                Some(c) if c.is_alive() => (c, true),
                _ => (Connection::open(&target, &HostKeyPolicy::Strict)?, false),
            };
            let mut result = f(&mut conn);
            if was_idle && result.is_err() && conn.failed_before_sending() {
                tracing::debug!(host = %target.name, "idle connection was dead; reconnecting");
                conn = Connection::open(&target, &HostKeyPolicy::Strict)?;
                result = f(&mut conn);
            }
            if conn.is_alive() {
                idle.lock().expect("pool poisoned").insert(k, conn);
            }
            result
        })
        .await
    }

    /// Runs `f` on a new connection that is not pooled (for steps that must see a fresh
    /// login, like every probe of a rebooting host).
    pub async fn with_fresh_connection<R, F>(
        &self,
        target: Target,
        policy: HostKeyPolicy,
        f: F,
    ) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        blocking(move || {
            let mut conn = Connection::open(&target, &policy)?;
            f(&mut conn)
        })
        .await
    }

    /// Runs blocking SSH work that manages its own connections.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<R> + Send + 'static,
    ) -> Result<R> {
        blocking(f).await
    }

    /// Forgets the idle connection of a host (after a reboot, or a key change).
    pub fn forget(&self, target: &Target) {
        self.idle
            .lock()
            .expect("pool poisoned")
            .remove(&key(target));
    }
}
