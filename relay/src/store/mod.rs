//! The relay's state: paired devices (their token's hash only), signed intents, one delivery
//! row per intent and device, the pushes to the devices' endpoints and the claims. SQLite by
//! default ([`sqlite`]); PostgreSQL ([`postgres`]) for several relay instances on one
//! database, which share the pushes due and tell each other of new intents. An intent is
//! written with its delivery rows in one transaction before anything is pushed, so a restart
//! loses none that was not delivered.

mod postgres;
mod sqlite;

pub use postgres::Change;

use crate::config::RelayConfig;
use paaf_core::intent::relay_client::{
    Claim, ClaimResult, DeviceScope, IntentNotice, PushEndpoint,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A device, as its token identifies it.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub name: String,
}

/// An intent about to be stored.
#[derive(Clone)]
pub struct NewIntent {
    pub notice: IntentNotice,
    /// Same alert, playbook and step: not issued again while one is live.
    pub dedup_key: String,
    /// The alert it answers: withdrawn when it resolves.
    pub alert_key: String,
}

/// What a push is for: a new intent, or withdrawing one already pushed (its alert resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    Notify,
    Withdraw,
}

/// A push due now: to which device's endpoint, about which intent.
#[derive(Debug, Clone)]
pub struct DuePush {
    pub seq: i64,
    pub device_id: String,
    pub endpoint: PushEndpoint,
    pub notice: IntentNotice,
    pub kind: PushKind,
    /// Tries already made.
    pub attempts: i64,
}

/// A device's push endpoint as the relay sees it: how its deliveries go.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EndpointState {
    pub device_id: String,
    pub device: String,
    pub kind: String,
    /// Failures in a row (reset by a success).
    pub failures: i64,
    pub last_error: Option<String>,
    /// When it was dropped as dead; nothing more is pushed to it.
    pub dropped_at: Option<String>,
}

/// How a claim went.
pub enum ClaimAnswer {
    Answered(Claim),
    NoSuchIntent,
}

/// Whether someone claimed an intent, as a device asks before it claims.
pub enum ClaimStatus {
    Claimed(Claim),
    Unclaimed,
    NoSuchIntent,
}

/// SQL: device `d` (a column) is in scope for an intent of playbook `p` on target `t`, whose
/// flag name (a flag target's part before `@`, else the target again) is `f` (parameters).
/// No scope row of a kind: that kind is not restricted.
pub(crate) fn in_scope(d: &str, p: &str, t: &str, f: &str) -> String {
    let rows = |kind: &str| {
        format!("SELECT 1 FROM device_scopes s WHERE s.device_id = {d} AND s.kind = '{kind}'")
    };
    format!(
        "(NOT EXISTS ({pb}) OR EXISTS ({pb} AND s.name = {p})) AND (NOT EXISTS ({tg}) OR EXISTS ({tg} AND s.name IN ({t}, {f})))",
        pb = rows("playbook"),
        tg = rows("target"),
    )
}

/// The scope's rows: (kind, name).
pub(crate) fn scope_rows(scope: &DeviceScope) -> Vec<(&'static str, String)> {
    let playbooks = scope.playbooks.iter().map(|p| ("playbook", p.clone()));
    playbooks
        .chain(scope.targets.iter().map(|t| ("target", t.clone())))
        .collect()
}

/// A scope from its rows.
pub(crate) fn scope_of(rows: Vec<(String, String)>) -> DeviceScope {
    let mut scope = DeviceScope::default();
    for (kind, name) in rows {
        match kind.as_str() {
            "playbook" => scope.playbooks.push(name),
            _ => scope.targets.push(name),
        }
    }
    scope
}

/// An intent notice's flag name: a flag target's part before `@`, else the target.
pub(crate) fn flag_name(notice: &IntentNotice) -> &str {
    notice
        .target
        .split_once('@')
        .map_or(notice.target.as_str(), |(flag, _)| flag)
}

/// A claim row as stored: who claimed (device id and name), when, and the result it reported.
pub(crate) struct ClaimRow {
    pub device_id: String,
    pub device: String,
    pub claimed_at: String,
    pub state: Option<String>,
    pub summary: Option<String>,
}

impl ClaimRow {
    /// The claim as `claimer` sees it: it acts if the claim is its own and has no result yet.
    fn seen_by(self, claimer: &Device) -> Claim {
        let result = match (self.state, self.summary) {
            (Some(state), Some(summary)) => Some(ClaimResult { state, summary }),
            _ => None,
        };
        Claim {
            first: self.device_id == claimer.id && result.is_none(),
            device: self.device,
            claimed_at: self.claimed_at,
            result,
        }
    }

    /// The answer to `claimer`, who just claimed.
    pub(crate) fn answer_to(self, claimer: &Device) -> ClaimAnswer {
        ClaimAnswer::Answered(self.seen_by(claimer))
    }
}

impl ClaimStatus {
    /// The status of a claim row (`None`: nobody claimed) as `asker` sees it.
    pub(crate) fn of(row: Option<ClaimRow>, asker: &Device) -> ClaimStatus {
        row.map_or(ClaimStatus::Unclaimed, |row| {
            ClaimStatus::Claimed(row.seen_by(asker))
        })
    }
}

/// What one webhook changed: intents withdrawn, and the sequence numbers of those added.
#[derive(Debug, Default)]
pub struct Stored {
    pub withdrawn: usize,
    pub added: Vec<i64>,
}

/// Why the store failed; said in the log, never to a client. No variant carries the
/// database's password: neither SQLite's nor PostgreSQL's errors quote the connection string.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {}", with_causes(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("the store's task stopped: {0}")]
    Stopped(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// `e` and its causes: tokio-postgres says only "db error" and keeps the server's message
/// ("password authentication failed for user ...") in its source.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = c.source();
    }
    text
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// What is stored of a device token: its SHA-256, never the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The store the config names.
pub enum Store {
    Sqlite(Arc<sqlite::Sqlite>),
    Postgres(Box<postgres::Postgres>),
}

/// Runs `f` on the SQLite store in tokio's blocking pool: SQLite's waits (a lock another
/// process holds, an fsync) never take away the async workers that answer the other requests.
async fn blocking<T, F>(store: &Arc<sqlite::Sqlite>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&sqlite::Sqlite) -> rusqlite::Result<T> + Send + 'static,
{
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(answer) => Ok(answer?),
        Err(e) => Err(StoreError::Stopped(e.to_string())),
    }
}

/// An argument moved to the blocking pool, lent to the SQLite store's method as it takes it.
trait Lent<'a, T> {
    fn lent(&'a self) -> T;
}
impl<'a> Lent<'a, &'a str> for String {
    fn lent(&'a self) -> &'a str {
        self
    }
}
impl<'a, T> Lent<'a, &'a [T]> for Vec<T> {
    fn lent(&'a self) -> &'a [T] {
        self
    }
}
impl<'a, T> Lent<'a, Option<&'a T>> for Option<T> {
    fn lent(&'a self) -> Option<&'a T> {
        self.as_ref()
    }
}
impl<'a, T: Copy> Lent<'a, T> for T {
    fn lent(&'a self) -> T {
        *self
    }
}
impl<'a> Lent<'a, &'a DuePush> for DuePush {
    fn lent(&'a self) -> &'a DuePush {
        self
    }
}
impl<'a> Lent<'a, &'a Device> for Device {
    fn lent(&'a self) -> &'a Device {
        self
    }
}
impl<'a> Lent<'a, &'a DeviceScope> for DeviceScope {
    fn lent(&'a self) -> &'a DeviceScope {
        self
    }
}
impl<'a> Lent<'a, &'a ClaimResult> for ClaimResult {
    fn lent(&'a self) -> &'a ClaimResult {
        self
    }
}

/// `Store::NAME(&self, args) -> T`: the SQLite store's method in the blocking pool (the
/// arguments given `=> owned` forms move there), or the PostgreSQL store's.
macro_rules! both {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty $(=> $owned:expr)?),*) -> $out:ty) => {
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$out> {
            match self {
                Store::Sqlite(s) => {
                    $($(let $arg = $owned;)?)*
                    blocking(s, move |s| s.$name($($arg.lent()),*)).await
                }
                Store::Postgres(p) => p.$name($($arg),*).await,
            }
        }
    };
}

impl Store {
    /// Opens the store `config` names: PostgreSQL when `[storage] postgres` is set (its schema
    /// created or brought up to date), else the SQLite file `database`.
    pub async fn open(config: &RelayConfig) -> std::result::Result<Store, String> {
        match (&config.storage, &config.database) {
            (Some(storage), None) => Ok(Store::Postgres(Box::new(
                postgres::Postgres::open(storage).await?,
            ))),
            (None, Some(path)) => sqlite::Sqlite::open(path)
                .map(|s| Store::Sqlite(Arc::new(s)))
                .map_err(|e| format!("database {}: {e}", path.display())),
            (Some(_), Some(_)) => Err(
                "the relay config names both `database` (SQLite) and `[storage] postgres`: keep one"
                    .into(),
            ),
            (None, None) => Err(
                "the relay config names no storage: set `database` (a SQLite file) or `[storage] postgres`"
                    .into(),
            ),
        }
    }

    /// The other instances' news (PostgreSQL: their new intents and withdrawals); None for
    /// SQLite, where this instance is the only one.
    pub fn follow(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(p) => Some(p.follow()),
        }
    }

    both!(
        /// Pairs device `id`, with the endpoint its notifications are pushed to, if it gave one.
        add_device(id: &str => id.to_string(), name: &str => name.to_string(), token: &str => token.to_string(), push: Option<&PushEndpoint> => push.cloned()) -> ()
    );
    both!(
        /// The paired (not revoked) device holding `token`.
        device(token: &str => token.to_string()) -> Option<Device>
    );
    both!(
        /// Revokes the device: its token no longer works, nothing more is delivered to it.
        revoke(device_id: &str => device_id.to_string()) -> ()
    );
    both!(
        /// Devices paired and not revoked.
        paired_devices() -> i64
    );
    /// Stores what one webhook asks for: withdraws the live intents of the alerts `resolved`
    /// (a notification already pushed gets a withdrawal push), adds `intents` with a delivery
    /// row per paired device (none when a live intent for the same alert and step exists: a
    /// repeated notification of a firing alert). Answered once durable.
    pub async fn record_webhook(
        &self,
        resolved: &[String],
        intents: &[NewIntent],
        now_ms: i64,
    ) -> Result<Stored> {
        match self {
            Store::Sqlite(s) => {
                s.record_webhook(resolved.to_vec(), intents.to_vec(), now_ms)
                    .await
            }
            Store::Postgres(p) => p.record_webhook(resolved, intents, now_ms).await,
        }
    }
    both!(
        /// The pushes due at `now_ms` to endpoints still alive, oldest first, at most `limit`;
        /// with PostgreSQL, taken by this instance (no other sends them) for a lease.
        due_pushes(now_ms: i64, limit: i64) -> Vec<DuePush>
    );
    both!(
        /// The earliest time a push is due (to sleep until then), if any is waiting.
        next_push_at() -> Option<i64>
    );
    both!(
        /// `push` went through: done, and its endpoint's failures are forgiven.
        push_done(push: &DuePush => push.clone()) -> ()
    );
    both!(
        /// `push` failed with `error`: tried again at `retry_at_ms`, unless its endpoint is
        /// gone (`dead`) or failed `max_failures` times in a row, when it is dropped. True:
        /// dropped.
        push_failed(push: &DuePush => push.clone(), error: &str => error.to_string(), dead: bool, retry_at_ms: i64, max_failures: i64) -> bool
    );
    both!(
        /// The service refused `push` itself with `error` (too large): given up, not tried
        /// again, the error shown on its endpoint, which is kept and not counted as failing.
        push_rejected(push: &DuePush => push.clone(), error: &str => error.to_string()) -> ()
    );
    both!(
        /// The push endpoints of the paired devices and how their deliveries go.
        endpoints() -> Vec<EndpointState>
    );
    both!(
        /// The live intents to send to `device_id`: the undelivered ones, and those after
        /// sequence `after` (a stream resumed with `Last-Event-ID`).
        due(device_id: &str => device_id.to_string(), after: i64, now_ms: i64) -> Vec<(i64, IntentNotice)>
    );
    both!(
        /// Records that intents `seqs` went out on `device_id`'s stream.
        mark_sent(device_id: &str => device_id.to_string(), seqs: &[i64] => seqs.to_vec()) -> ()
    );
    both!(
        /// Deliveries not yet on any stream of their devices.
        undelivered() -> i64
    );
    both!(
        /// Claims intent `id` for `device`: the first claimer (or the same device again,
        /// before it reported) acts; any other learns who did and how it went.
        claim(id: &str => id.to_string(), device: &Device => device.clone()) -> ClaimAnswer
    );
    both!(
        /// Records how the claimed intent `id` ended; false when `device` is not its claimer.
        record_result(id: &str => id.to_string(), device: &Device => device.clone(), result: &ClaimResult => result.clone()) -> bool
    );

    // Device scopes and claim status (pairing scopes; "who acted" before Run).
    both!(
        /// Sets the intents device `device_id` receives (replacing any scope it had); an
        /// empty scope: all of them.
        set_scope(device_id: &str => device_id.to_string(), scope: &DeviceScope => scope.clone()) -> ()
    );
    both!(
        /// The intents device `device_id` receives.
        scope(device_id: &str => device_id.to_string()) -> DeviceScope
    );
    both!(
        /// Who claimed intent `id`, as `device` asks before claiming: nothing is claimed.
        claim_status(id: &str => id.to_string(), device: &Device => device.clone()) -> ClaimStatus
    );
}

// After `both!`: the team timeline's methods use it.
pub mod timeline;
