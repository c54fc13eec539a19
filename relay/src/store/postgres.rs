//! The relay's state in PostgreSQL, for several relay instances behind one load balancer on
//! one existing database: the SQLite store's tables and answers, plus what sharing takes.
//! - The pushes due are taken with `SELECT ... FOR UPDATE SKIP LOCKED` and leased to the
//!   instance that took them (`next_at_ms` moved past the lease): no other instance sends them
//!   meanwhile; if that instance dies mid-push, another takes them once the lease ends.
//! - An intent written, or withdrawn, is announced with `NOTIFY paaf_relay` in its transaction;
//!   every instance `LISTEN`s, so a device's stream on instance B gets the intent of a webhook
//!   that instance A received, and B's pusher wakes up.
//! - Two webhooks for the same alert on two instances: an advisory lock per alert step keeps
//!   them from both creating an intent; claims are one row per intent (`ON CONFLICT DO
//!   NOTHING`), so two devices claiming through two instances still act once.
//!
//! The tables live in the schema `paaf_relay` (made at start, with the connection's
//! `search_path` set to it), versioned in `paaf_relay.schema_version` and migrated at start
//! under an advisory lock, so instances starting together migrate once.

use super::{
    ClaimAnswer, ClaimRow, ClaimStatus, Device, DuePush, EndpointState, NewIntent, PushKind,
    Result, Stored, flag_name, in_scope, now, scope_of, scope_rows, token_hash, with_causes,
};
use crate::config::{StorageConfig, secret_from_env};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::StreamExt;
use paaf_core::intent::relay_client::{ClaimResult, DeviceScope, IntentNotice, PushEndpoint};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

mod timeline;

/// The schema the relay's tables are in.
const SCHEMA: &str = "paaf_relay";
/// The channel instances tell each other of new intents on.
const CHANNEL: &str = "paaf_relay";
/// The advisory lock held while migrating (any number: "paaf" in ASCII).
const MIGRATION_LOCK: i64 = 0x7061_6166;

/// Each step brings the schema from its index to the next version.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        paired_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE intents (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        dedup_key TEXT NOT NULL,
        alert_key TEXT NOT NULL,
        notice TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TEXT NOT NULL
    );
    CREATE INDEX intents_dedup ON intents(dedup_key, expires_at_ms);
    CREATE INDEX intents_alert ON intents(alert_key);
    CREATE TABLE deliveries (
        seq BIGINT NOT NULL,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        sent_at TEXT,
        PRIMARY KEY (seq, device_id)
    );
    CREATE INDEX deliveries_device ON deliveries(device_id, state);
    CREATE TABLE push_endpoints (
        device_id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        failures BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        dropped_at TEXT
    );
    CREATE TABLE pushes (
        seq BIGINT NOT NULL,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_at_ms BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (seq, device_id)
    );
    CREATE INDEX pushes_due ON pushes(state, next_at_ms);
    CREATE TABLE claims (
        intent_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        device TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        state TEXT,
        summary TEXT
    );",
    timeline::MIGRATION,
    "
    CREATE TABLE device_scopes (
        device_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (device_id, kind, name)
    );",
];

/// What another instance (or this one) did, as its `NOTIFY` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Intents up to this sequence number were written.
    Intent(i64),
    /// Intents were withdrawn: withdrawal pushes are due.
    Withdrawn,
    /// The listening connection was lost and made again: news may have been missed.
    Reconnected,
}

/// The PostgreSQL store: a pool of connections, and the connection settings for the listener.
pub struct Postgres {
    pool: Pool,
    config: tokio_postgres::Config,
    lease_ms: i64,
}

/// The database named by `config`, for messages: never its password.
fn shown(config: &tokio_postgres::Config) -> String {
    format!(
        "PostgreSQL database {} as {}",
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default user)")
    )
}

impl Postgres {
    /// Connects as `storage` says and creates or migrates the schema.
    pub async fn open(storage: &StorageConfig) -> std::result::Result<Postgres, String> {
        // tokio-postgres' parse errors name the part that is wrong, never quote the string.
        let mut config: tokio_postgres::Config = storage.postgres.0.parse().map_err(|e| {
            format!(
                "[storage] postgres is not a PostgreSQL connection string: {}",
                with_causes(&e)
            )
        })?;
        if let Some(env) = &storage.password_env {
            config.password(secret_from_env(env)?);
        }
        if config.get_application_name().is_none() {
            config.application_name("paaf-relay");
        }
        let options = format!("-c search_path={SCHEMA}");
        let options = match config.get_options() {
            Some(given) => format!("{given} {options}"),
            None => options,
        };
        config.options(options);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(storage.pool_size.max(2))
            .build()
            .map_err(|e| format!("{}: cannot make a connection pool: {e}", shown(&config)))?;
        let store = Postgres {
            pool,
            config,
            lease_ms: storage.push_lease_secs.max(1) as i64 * 1000,
        };
        store
            .migrate()
            .await
            .map_err(|e| format!("{}: {e}", shown(&store.config)))?;
        Ok(store)
    }

    async fn migrate(&self) -> std::result::Result<(), String> {
        let at = |e: tokio_postgres::Error| with_causes(&e);
        let mut client = self.pool.get().await.map_err(|e| with_causes(&e))?;
        let tx = client.transaction().await.map_err(at)?;
        // Instances starting together: one migrates, the others wait and find it done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(at)?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
             CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
        ))
        .await
        .map_err(|e| {
            format!(
                "cannot create the schema {SCHEMA} (the user needs CREATE on the database): {e}"
            )
        })?;
        let version: i32 = tx
            .query_opt("SELECT MAX(version) FROM schema_version", &[])
            .await
            .map_err(at)?
            .and_then(|r| r.get::<_, Option<i32>>(0))
            .unwrap_or(0);
        let newest = MIGRATIONS.len() as i32;
        if version > newest {
            return Err(format!(
                "its schema is at version {version}, newer than this relay's ({newest}): run the newer relay"
            ));
        }
        for (done, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(step).await.map_err(|e| {
                format!(
                    "migrating the schema to version {}: {}",
                    done + 1,
                    with_causes(&e)
                )
            })?;
        }
        tx.execute("DELETE FROM schema_version", &[])
            .await
            .map_err(at)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&newest],
        )
        .await
        .map_err(at)?;
        tx.commit().await.map_err(at)
    }

    /// The other instances' news, from a connection that `LISTEN`s (made again when lost).
    pub fn follow(&self) -> mpsc::Receiver<Change> {
        let (tx, rx) = mpsc::channel(256);
        let config = self.config.clone();
        tokio::spawn(async move {
            let mut first = true;
            while !tx.is_closed() {
                if let Err(e) = listen(&config, &tx, first).await {
                    tracing::warn!(
                        "not listening to the other relay instances ({}): {}; trying again",
                        shown(&config),
                        with_causes(&e)
                    );
                }
                first = false;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
        rx
    }

    pub async fn add_device(
        &self,
        id: &str,
        name: &str,
        token: &str,
        push: Option<&PushEndpoint>,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO devices (id, name, token_hash, paired_at) VALUES ($1, $2, $3, $4)",
            &[&id, &name, &token_hash(token), &now()],
        )
        .await?;
        if let Some(push) = push {
            let endpoint = serde_json::to_string(push).expect("an endpoint serializes");
            tx.execute(
                "INSERT INTO push_endpoints (device_id, endpoint) VALUES ($1, $2)",
                &[&id, &endpoint],
            )
            .await?;
        }
        Ok(tx.commit().await?)
    }

    pub async fn device(&self, token: &str) -> Result<Option<Device>> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, name FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .await?;
        let row = client.query_opt(&statement, &[&token_hash(token)]).await?;
        Ok(row.map(|r| Device {
            id: r.get(0),
            name: r.get(1),
        }))
    }

    pub async fn revoke(&self, device_id: &str) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE devices SET revoked_at = $1 WHERE id = $2",
            &[&now(), &device_id],
        )
        .await?;
        for table in [
            "deliveries WHERE device_id = $1 AND state = 'pending'",
            "pushes WHERE device_id = $1",
            "push_endpoints WHERE device_id = $1",
        ] {
            tx.execute(&format!("DELETE FROM {table}"), &[&device_id])
                .await?;
        }
        Ok(tx.commit().await?)
    }

    pub async fn paired_devices(&self) -> Result<i64> {
        let client = self.pool.get().await?;
        let row = client
            .query_one("SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL", &[])
            .await?;
        Ok(row.get(0))
    }

    pub async fn record_webhook(
        &self,
        resolved: &[String],
        intents: &[NewIntent],
        now_ms: i64,
    ) -> Result<Stored> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut stored = Stored::default();
        for alert in resolved {
            let live = "SELECT seq FROM intents WHERE alert_key = $1 AND NOT withdrawn";
            tx.execute(
                &format!("DELETE FROM pushes WHERE state = 'notify' AND seq IN ({live})"),
                &[alert],
            )
            .await?;
            tx.execute(
                &format!(
                    "UPDATE pushes SET state = 'withdraw', attempts = 0, next_at_ms = 0 WHERE state = 'sent' AND seq IN ({live})"
                ),
                &[alert],
            )
            .await?;
            stored.withdrawn += tx
                .execute(
                    "UPDATE intents SET withdrawn = TRUE WHERE alert_key = $1 AND NOT withdrawn",
                    &[alert],
                )
                .await? as usize;
        }
        // One intent per alert step, even when two instances get the alert at once; locked in
        // one order, so two webhooks never wait on each other.
        let mut steps: Vec<&str> = intents.iter().map(|n| n.dedup_key.as_str()).collect();
        steps.sort_unstable();
        steps.dedup();
        for step in steps {
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&step])
                .await?;
        }
        let live = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM intents WHERE dedup_key = $1 AND expires_at_ms > $2 AND NOT withdrawn)",
            )
            .await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO intents (id, dedup_key, alert_key, notice, expires_at_ms, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
            )
            .await?;
        // Only to the devices whose scope covers it, on every channel.
        let deliveries = tx
            .prepare_cached(&format!(
                "INSERT INTO deliveries (seq, device_id, state) SELECT $1, id, 'pending' FROM devices
                 WHERE revoked_at IS NULL AND {}",
                in_scope("devices.id", "$2", "$3", "$4")
            ))
            .await?;
        let pushes = tx
            .prepare_cached(&format!(
                "INSERT INTO pushes (seq, device_id, state) SELECT $1, e.device_id, 'notify' FROM push_endpoints e
                 JOIN devices d ON d.id = e.device_id WHERE d.revoked_at IS NULL AND e.dropped_at IS NULL AND {}",
                in_scope("d.id", "$2", "$3", "$4")
            ))
            .await?;
        for new in intents {
            let exists: bool = tx
                .query_one(&live, &[&new.dedup_key, &now_ms])
                .await?
                .get(0);
            if exists {
                continue;
            }
            let notice = serde_json::to_string(&new.notice).expect("a notice serializes");
            let seq: i64 = tx
                .query_one(
                    &insert,
                    &[
                        &new.notice.id,
                        &new.dedup_key,
                        &new.alert_key,
                        &notice,
                        &new.notice.expires_at_ms,
                        &now(),
                    ],
                )
                .await?
                .get(0);
            let scoped: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
                &seq,
                &new.notice.playbook,
                &new.notice.target,
                &flag_name(&new.notice),
            ];
            tx.execute(&deliveries, &scoped).await?;
            tx.execute(&pushes, &scoped).await?;
            stored.added.push(seq);
        }
        // Sent at commit, to every instance listening.
        if let Some(newest) = stored.added.iter().max() {
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANNEL, &format!("intent:{newest}")],
            )
            .await?;
        }
        if stored.withdrawn > 0 {
            tx.execute("SELECT pg_notify($1, 'withdrawn')", &[&CHANNEL])
                .await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn due_pushes(&self, now_ms: i64, limit: i64) -> Result<Vec<DuePush>> {
        let client = self.pool.get().await?;
        // Taken and leased in one statement: rows another instance is taking are skipped,
        // and a row taken stays with this instance until the lease ends.
        let statement = client
            .prepare_cached(
                "WITH due AS (
                    SELECT p.seq, p.device_id FROM pushes p
                    JOIN push_endpoints e ON e.device_id = p.device_id
                    WHERE p.state IN ('notify', 'withdraw') AND p.next_at_ms <= $1
                      AND e.dropped_at IS NULL
                    ORDER BY p.next_at_ms, p.seq LIMIT $2
                    FOR UPDATE OF p SKIP LOCKED)
                 UPDATE pushes p SET next_at_ms = $3 FROM due
                 WHERE p.seq = due.seq AND p.device_id = due.device_id
                 RETURNING p.seq, p.device_id, p.state, p.attempts,
                   (SELECT endpoint FROM push_endpoints e WHERE e.device_id = p.device_id),
                   (SELECT notice FROM intents i WHERE i.seq = p.seq)",
            )
            .await?;
        let rows = client
            .query(&statement, &[&now_ms, &limit, &(now_ms + self.lease_ms)])
            .await?;
        let mut due: Vec<DuePush> = rows
            .into_iter()
            .filter_map(|r| {
                let endpoint: String = r.get(4);
                let notice: String = r.get(5);
                Some(DuePush {
                    seq: r.get(0),
                    device_id: r.get(1),
                    endpoint: serde_json::from_str(&endpoint).ok()?,
                    notice: serde_json::from_str(&notice).ok()?,
                    kind: match r.get::<_, &str>(2) {
                        "withdraw" => PushKind::Withdraw,
                        _ => PushKind::Notify,
                    },
                    attempts: r.get(3),
                })
            })
            .collect();
        due.sort_by_key(|p| p.seq);
        Ok(due)
    }

    pub async fn next_push_at(&self) -> Result<Option<i64>> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT MIN(p.next_at_ms) FROM pushes p JOIN push_endpoints e ON e.device_id = p.device_id
                 WHERE p.state IN ('notify', 'withdraw') AND e.dropped_at IS NULL",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn push_done(&self, push: &DuePush) -> Result<()> {
        let state = match push.kind {
            PushKind::Notify => "sent",
            PushKind::Withdraw => "withdrawn",
        };
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE pushes SET state = $1, attempts = attempts + 1 WHERE seq = $2 AND device_id = $3",
            &[&state, &push.seq, &push.device_id],
        )
        .await?;
        tx.execute(
            "UPDATE push_endpoints SET failures = 0, last_error = NULL WHERE device_id = $1",
            &[&push.device_id],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    pub async fn push_failed(
        &self,
        push: &DuePush,
        error: &str,
        dead: bool,
        retry_at_ms: i64,
        max_failures: i64,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE pushes SET attempts = attempts + 1, next_at_ms = $1 WHERE seq = $2 AND device_id = $3",
            &[&retry_at_ms, &push.seq, &push.device_id],
        )
        .await?;
        let failures: i64 = tx
            .query_opt(
                "UPDATE push_endpoints SET failures = failures + 1, last_error = $1 WHERE device_id = $2 RETURNING failures",
                &[&error, &push.device_id],
            )
            .await?
            .map_or(0, |r| r.get(0));
        let dropped = dead || failures >= max_failures;
        if dropped {
            tx.execute(
                "UPDATE push_endpoints SET dropped_at = $1 WHERE device_id = $2",
                &[&now(), &push.device_id],
            )
            .await?;
            tx.execute(
                "DELETE FROM pushes WHERE device_id = $1 AND state IN ('notify', 'withdraw')",
                &[&push.device_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(dropped)
    }

    pub async fn push_rejected(&self, push: &DuePush, error: &str) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE pushes SET state = 'rejected', attempts = attempts + 1 WHERE seq = $1 AND device_id = $2",
            &[&push.seq, &push.device_id],
        )
        .await?;
        tx.execute(
            "UPDATE push_endpoints SET last_error = $1 WHERE device_id = $2",
            &[&error, &push.device_id],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    pub async fn endpoints(&self) -> Result<Vec<EndpointState>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT e.device_id, d.name, e.endpoint, e.failures, e.last_error, e.dropped_at
                 FROM push_endpoints e JOIN devices d ON d.id = e.device_id
                 WHERE d.revoked_at IS NULL ORDER BY d.paired_at",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| EndpointState {
                device_id: r.get(0),
                device: r.get(1),
                kind: serde_json::from_str::<PushEndpoint>(r.get(2))
                    .map(|e| e.kind().to_string())
                    .unwrap_or_else(|_| "unknown".into()),
                failures: r.get(3),
                last_error: r.get(4),
                dropped_at: r.get(5),
            })
            .collect())
    }

    pub async fn due(
        &self,
        device_id: &str,
        after: i64,
        now_ms: i64,
    ) -> Result<Vec<(i64, IntentNotice)>> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(
                "SELECT i.seq, i.notice FROM intents i JOIN deliveries d ON d.seq = i.seq
                 WHERE d.device_id = $1 AND (d.state = 'pending' OR i.seq > $2)
                   AND NOT i.withdrawn AND i.expires_at_ms > $3
                   AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.intent_id = i.id)
                 ORDER BY i.seq",
            )
            .await?;
        let rows = client
            .query(&statement, &[&device_id, &after, &now_ms])
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let notice = serde_json::from_str(r.get(1)).ok()?;
                Some((r.get(0), notice))
            })
            .collect())
    }

    pub async fn mark_sent(&self, device_id: &str, seqs: &[i64]) -> Result<()> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(
                "UPDATE deliveries SET state = 'sent', sent_at = $1 WHERE device_id = $2 AND seq = ANY($3)",
            )
            .await?;
        client
            .execute(&statement, &[&now(), &device_id, &seqs])
            .await?;
        Ok(())
    }

    pub async fn undelivered(&self) -> Result<i64> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn claim(&self, id: &str, device: &Device) -> Result<ClaimAnswer> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM intents WHERE id = $1)",
                &[&id],
            )
            .await?
            .get(0);
        if !exists {
            return Ok(ClaimAnswer::NoSuchIntent);
        }
        // A second claimer's insert waits for the first one's commit, then does nothing; its
        // read below sees the first claim.
        tx.execute(
            "INSERT INTO claims (intent_id, device_id, device, claimed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (intent_id) DO NOTHING",
            &[&id, &device.id, &device.name, &now()],
        )
        .await?;
        let row = tx.query_one(CLAIM_ROW, &[&id]).await?;
        tx.commit().await?;
        Ok(claim_row(&row).answer_to(device))
    }

    pub async fn record_result(
        &self,
        id: &str,
        device: &Device,
        result: &ClaimResult,
    ) -> Result<bool> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE claims SET state = $1, summary = $2 WHERE intent_id = $3 AND device_id = $4",
                &[&result.state, &result.summary, &id, &device.id],
            )
            .await?;
        Ok(changed == 1)
    }
}

/// Listens on [`CHANNEL`] and forwards what it hears to `changes`, until the connection is
/// lost (an error) or nobody follows any more (`Ok`).
async fn listen(
    config: &tokio_postgres::Config,
    changes: &mpsc::Sender<Change>,
    first: bool,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (heard, mut notifications) = mpsc::unbounded_channel::<String>();
    // The connection is driven here; its notifications arrive as messages.
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(n) = message?
                && heard.send(n.payload().to_string()).is_err()
            {
                break;
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    if !first && changes.send(Change::Reconnected).await.is_err() {
        return Ok(());
    }
    while let Some(payload) = notifications.recv().await {
        let change = match payload.strip_prefix("intent:") {
            Some(seq) => match seq.parse() {
                Ok(seq) => Change::Intent(seq),
                Err(_) => continue,
            },
            None => Change::Withdrawn,
        };
        if changes.send(change).await.is_err() {
            return Ok(());
        }
    }
    drop(client);
    match driver.await {
        Ok(ended) => ended,
        Err(_) => Ok(()),
    }
}

/// Device scopes and claim status.
impl Postgres {
    pub async fn set_scope(&self, device_id: &str, scope: &DeviceScope) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM device_scopes WHERE device_id = $1",
            &[&device_id],
        )
        .await?;
        for (kind, name) in scope_rows(scope) {
            tx.execute(
                "INSERT INTO device_scopes (device_id, kind, name) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&device_id, &kind, &name],
            )
            .await?;
        }
        Ok(tx.commit().await?)
    }

    pub async fn scope(&self, device_id: &str) -> Result<DeviceScope> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kind, name FROM device_scopes WHERE device_id = $1 ORDER BY kind, name",
                &[&device_id],
            )
            .await?;
        Ok(scope_of(
            rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        ))
    }

    pub async fn claim_status(&self, id: &str, device: &Device) -> Result<ClaimStatus> {
        let client = self.pool.get().await?;
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM intents WHERE id = $1)",
                &[&id],
            )
            .await?
            .get(0);
        if !exists {
            return Ok(ClaimStatus::NoSuchIntent);
        }
        let row = client.query_opt(CLAIM_ROW, &[&id]).await?;
        Ok(ClaimStatus::of(row.as_ref().map(claim_row), device))
    }
}

/// Intent `$1`'s claim row (see [`claim_row`]).
const CLAIM_ROW: &str =
    "SELECT device_id, device, claimed_at, state, summary FROM claims WHERE intent_id = $1";

/// A claim row read by [`CLAIM_ROW`].
fn claim_row(row: &tokio_postgres::Row) -> ClaimRow {
    ClaimRow {
        device_id: row.get(0),
        device: row.get(1),
        claimed_at: row.get(2),
        state: row.get(3),
        summary: row.get(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PostgresUrl;

    #[tokio::test]
    async fn a_bad_connection_string_is_refused_without_quoting_its_password() {
        let storage = StorageConfig {
            postgres: PostgresUrl("postgres://relay:s3cret-db-password@db:notaport/relay".into()),
            password_env: None,
            pool_size: 2,
            push_lease_secs: 60,
        };
        let Err(refused) = Postgres::open(&storage).await else {
            panic!("a port that is not a number was taken");
        };
        assert!(
            refused.contains("not a PostgreSQL connection string"),
            "{refused}"
        );
        assert!(!refused.contains("s3cret"), "{refused}");
    }
}
