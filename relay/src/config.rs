//! relay.toml: where the relay listens, keeps its state and key, which playbooks it matches
//! and which webhook sources it accepts. Secrets are never in the file: it names the
//! environment variables that hold them.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The relay's config, as read from its TOML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// `host:port` to listen on.
    pub listen: String,
    /// The SQLite database (intents, devices, deliveries, claims); or `[storage]`.
    pub database: Option<PathBuf>,
    /// A PostgreSQL database instead, shared by several relay instances.
    pub storage: Option<StorageConfig>,
    /// The Ed25519 key file (a 32-byte seed in hex), created 0600 when missing.
    pub signing_key: PathBuf,
    /// A paaf config file whose `[[playbooks]]` the alerts are matched against.
    pub playbooks: PathBuf,
    /// How long an intent may be acted on.
    #[serde(default = "default_ttl")]
    pub intent_ttl_secs: u64,
    /// The largest webhook body accepted.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The environment variable holding the pairing token devices present to `POST /pair`.
    pub pairing_token_env: String,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Pushes to the devices' endpoints (besides their event streams).
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// PostgreSQL storage: several relay instances (behind one load balancer) on one existing
/// database. They share the pushes due (each taken by one instance, for a lease) and tell
/// each other of new intents (LISTEN/NOTIFY), so a device's stream on any instance gets the
/// intents of a webhook any instance received.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `postgres://USER@HOST:PORT/DATABASE` (or the key=value form). A password written in it
    /// is never shown (Debug, log, errors); better, leave it out and name `password_env`.
    pub postgres: PostgresUrl,
    /// The environment variable holding the database user's password.
    pub password_env: Option<String>,
    /// Connections per instance.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How long an instance holds a push it took before another instance may take it over
    /// (the first one died mid-push): longer than a push can take (30 s).
    #[serde(default = "default_push_lease_secs")]
    pub push_lease_secs: u64,
}

/// A PostgreSQL connection string, which may hold a password: its Debug shows none.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct PostgresUrl(pub String);

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.parse::<tokio_postgres::Config>() {
            // tokio-postgres' Debug shows `password: Some(_)`.
            Ok(config) => write!(f, "{config:?}"),
            Err(_) => f.write_str("PostgresUrl(<not a PostgreSQL connection string>)"),
        }
    }
}

/// How pushes are retried and which push services the relay posts to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Failures in a row after which a device's endpoint is dropped as dead.
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    /// The first retry's delay; each next one doubles, up to `retry_max_ms`.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// ntfy: devices pair with a topic URL on one of these servers.
    pub ntfy: Option<NtfyConfig>,
    /// Firebase Cloud Messaging (HTTP v1): devices pair with their registration token.
    pub fcm: Option<FcmConfig>,
    /// Web Push / UnifiedPush: devices pair with a push subscription on one of these services.
    pub webpush: Option<WebPushConfig>,
    /// Apple Push Notification service: devices pair with their APNs device token.
    pub apns: Option<ApnsConfig>,
}

/// Web Push (RFC 8030) as this relay's VAPID identity (RFC 8292).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushConfig {
    /// The push services a subscription's endpoint may be on, as origins
    /// (`https://updates.push.services.mozilla.com`, `https://fcm.googleapis.com`, a UnifiedPush
    /// distributor's server): a pairing naming another is refused, so a device never makes the
    /// relay post somewhere else.
    pub push_services: Vec<String>,
    /// The environment variable holding the VAPID private key (P-256: PEM, or the base64url
    /// key `web-push generate-vapid-keys` prints); its public key is the application server
    /// key the app subscribes with.
    pub vapid_key_env: String,
    /// Who the push services write to about this relay's pushes (`mailto:oncall@example.com`
    /// or an `https:` URL): the VAPID JWT's `sub`.
    pub subject: String,
}

/// APNs with token-based authentication (a .p8 signing key of the team).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// The environment variable holding the token-signing key (the .p8 file's contents).
    pub key_env: String,
    /// The key's id (the developer account's Keys page): the token's `kid`.
    pub key_id: String,
    /// The team id: the token's `iss`.
    pub team_id: String,
    /// The app's bundle id: `apns-topic`.
    pub topic: String,
    /// APNs' API root: `https://api.sandbox.push.apple.com` for development builds.
    #[serde(default = "default_apns_api")]
    pub api_url: String,
}

/// Firebase Cloud Messaging, as a service account of the app's Firebase project.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// The environment variable holding the service account's JSON key (its `project_id` is
    /// the project the messages go through).
    pub service_account_env: String,
    /// FCM's API root.
    #[serde(default = "default_fcm_api")]
    pub api_url: String,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            max_failures: default_max_failures(),
            retry_base_ms: default_retry_base_ms(),
            retry_max_ms: default_retry_max_ms(),
            ntfy: None,
            fcm: None,
            webpush: None,
            apns: None,
        }
    }
}

/// The ntfy servers the relay publishes to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// The servers a device's topic may be on (`https://ntfy.example.com`): a pairing naming
    /// another is refused, so a device never makes the relay post somewhere else.
    pub servers: Vec<String>,
    /// The environment variable holding an ntfy access token, for servers that need one.
    pub token_env: Option<String>,
    /// The notifications' ntfy priority (1 min .. 5 max).
    #[serde(default = "default_ntfy_priority")]
    pub priority: u8,
}

/// One webhook sender: Grafana's webhook contact point or an Alertmanager webhook receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Its name: the webhook is `POST /webhooks/NAME`.
    pub name: String,
    pub auth: SourceAuth,
    /// The environment variable holding its bearer token or HMAC secret.
    pub secret_env: String,
    /// The header carrying the HMAC (hex SHA-256 of the body); Grafana's default.
    #[serde(default = "default_hmac_header")]
    pub hmac_header: String,
    /// Webhooks accepted per minute; more are answered 429.
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
}

/// How a source proves it is the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceAuth {
    /// `Authorization: Bearer SECRET` (Alertmanager's `http_config.authorization`).
    Bearer,
    /// HMAC-SHA256 of the body with the secret, in hex (Grafana's webhook "HMAC signature").
    Hmac,
}

fn default_ttl() -> u64 {
    900
}
fn default_max_body() -> usize {
    256 * 1024
}
fn default_hmac_header() -> String {
    "X-Grafana-Alerting-Signature".into()
}
fn default_per_minute() -> u32 {
    600
}
fn default_pool_size() -> usize {
    16
}
fn default_push_lease_secs() -> u64 {
    120
}
fn default_max_failures() -> u32 {
    5
}
fn default_retry_base_ms() -> u64 {
    2_000
}
fn default_retry_max_ms() -> u64 {
    300_000
}
fn default_fcm_api() -> String {
    "https://fcm.googleapis.com".into()
}
fn default_apns_api() -> String {
    "https://api.push.apple.com".into()
}
fn default_ntfy_priority() -> u8 {
    4
}

impl RelayConfig {
    /// Reads `path`; relative paths in it are taken from its directory.
    pub fn load(path: &Path) -> Result<RelayConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut config: RelayConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for p in [
            config.database.as_mut(),
            Some(&mut config.signing_key),
            Some(&mut config.playbooks),
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(config)
    }
}

/// The value of environment variable `name`, which must be set and not empty.
pub fn secret_from_env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!(
            "environment variable {name} (named in the relay config) is not set"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "s3cret-db-password";

    #[test]
    fn a_password_in_the_postgres_url_never_shows_in_debug_output() {
        for url in [
            format!("postgres://relay:{PASSWORD}@db.example.com:5432/paaf_relay"),
            format!("host=db.example.com user=relay password={PASSWORD} dbname=paaf_relay"),
            format!("postgres://relay:{PASSWORD}@db.example.com:notaport/paaf_relay"),
        ] {
            let text = format!("[storage]\npostgres = \"{url}\"\n");
            #[derive(Debug, Deserialize)]
            struct File {
                #[allow(dead_code)]
                storage: StorageConfig,
            }
            let file: File = toml::from_str(&text).unwrap();
            let shown = format!("{file:?}");
            assert!(!shown.contains(PASSWORD), "{shown}");
        }
    }
}
