//! The relay's HTTP API (axum): webhooks in, pairing, the devices' event streams, claims,
//! health and metrics. The device endpoints are the ones paaf-core's
//! `intent::relay_client` calls.

use crate::alerts::{self, WebhookBody};
use crate::config::{RelayConfig, SourceAuth, SourceConfig, secret_from_env};
use crate::push::Pushers;
use crate::store::{Change, ClaimAnswer, Device, Store, token_hash};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use paaf_core::config::Config;
use paaf_core::intent::relay_client::{ClaimResult, DeviceScope, DeviceStatus, PushEndpoint};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

/// Counters shown at `/metrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    webhooks_accepted: AtomicU64,
    webhooks_unauthorized: AtomicU64,
    webhooks_rate_limited: AtomicU64,
    webhooks_too_large: AtomicU64,
    webhooks_malformed: AtomicU64,
    intents_created: AtomicU64,
    intents_sent: AtomicU64,
    claims: AtomicU64,
    streams_open: AtomicU64,
    pub(crate) pushes_sent: AtomicU64,
    pub(crate) pushes_failed: AtomicU64,
    pub(crate) endpoints_dropped: AtomicU64,
}

/// A source with its secret, read once at start.
struct Source {
    config: SourceConfig,
    secret: String,
    /// Its token bucket: webhooks it may send now, and when that was counted.
    bucket: Mutex<(f64, std::time::Instant)>,
}

pub struct App {
    pub(crate) store: Store,
    key: SigningKey,
    playbooks: Config,
    sources: HashMap<String, Source>,
    pairing_hash: String,
    ttl_ms: i64,
    /// The newest intent's sequence: streams wake up when it changes.
    newest: watch::Sender<i64>,
    pub(crate) metrics: Metrics,
    pub(crate) pushers: Pushers,
    /// Wakes the pusher: something new to push or to withdraw.
    pub(crate) push_wake: Notify,
}

impl App {
    /// Everything the server needs, from its config: fails on a missing secret, an unreadable
    /// playbook file or database.
    pub async fn new(config: &RelayConfig, key: SigningKey) -> Result<App, String> {
        let playbooks = Config::load(&config.playbooks).map_err(|e| e.to_string())?;
        let store = Store::open(config).await?;
        let mut sources = HashMap::new();
        for s in &config.sources {
            sources.insert(
                s.name.clone(),
                Source {
                    secret: secret_from_env(&s.secret_env)?,
                    config: s.clone(),
                    bucket: Mutex::new((s.per_minute as f64, std::time::Instant::now())),
                },
            );
        }
        Ok(App {
            store,
            key,
            playbooks,
            sources,
            pairing_hash: token_hash(&secret_from_env(&config.pairing_token_env)?),
            ttl_ms: config.intent_ttl_secs as i64 * 1000,
            newest: watch::channel(0).0,
            metrics: Metrics::default(),
            pushers: Pushers::new(&config.delivery)?,
            push_wake: Notify::new(),
        })
    }
}

/// The relay's routes over `app`; webhook bodies limited to `max_body` bytes.
pub fn router(app: Arc<App>, max_body: usize) -> Router {
    Router::new()
        .route(
            "/webhooks/{source}",
            post(webhook).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/pair", post(pair))
        .route("/unpair", post(unpair))
        .route("/device", get(device_status))
        .route("/stream", get(stream))
        .route(
            "/intents/{id}/claim",
            post(claim).get(crate::devices::claim_status),
        )
        .route("/intents/{id}/result", post(result))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .merge(crate::timeline::routes())
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(app)
}

pub(crate) fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("storage failed: {e}");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the relay's storage failed",
    )
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

impl Source {
    /// Whether the request proves it comes from this source.
    fn authentic(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        match self.config.auth {
            // Compared as hashes: the time taken says nothing about the secret.
            SourceAuth::Bearer => {
                bearer(headers).is_some_and(|t| token_hash(t) == token_hash(&self.secret))
            }
            SourceAuth::Hmac => {
                let Some(given) = headers
                    .get(self.config.hmac_header.as_str())
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| hex::decode(v.trim().trim_start_matches("sha256=")).ok())
                else {
                    return false;
                };
                let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes())
                    .expect("HMAC takes any key length");
                mac.update(body);
                mac.verify_slice(&given).is_ok()
            }
        }
    }

    /// Takes one webhook from its token bucket (`per_minute` deep, refilled evenly over a
    /// minute, so a burst never straddles two windows); false when it is empty.
    fn admit(&self) -> bool {
        let per_minute = self.config.per_minute as f64;
        let mut bucket = self.bucket.lock().expect("rate bucket poisoned");
        let now = std::time::Instant::now();
        let refill = now.duration_since(bucket.1).as_secs_f64() * per_minute / 60.0;
        *bucket = ((bucket.0 + refill).min(per_minute), now);
        if bucket.0 < 1.0 {
            return false;
        }
        bucket.0 -= 1.0;
        true
    }
}

async fn webhook(
    State(app): State<Arc<App>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let m = &app.metrics;
    let Some(src) = app.sources.get(&source) else {
        return refuse(StatusCode::NOT_FOUND, "no such webhook source");
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            m.webhooks_too_large.fetch_add(1, Ordering::Relaxed);
            return e.into_response();
        }
    };
    if !src.admit() {
        m.webhooks_rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many webhooks from this source",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return r;
    }
    if !src.authentic(&headers, &body) {
        m.webhooks_unauthorized.fetch_add(1, Ordering::Relaxed);
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad or missing token or signature",
        );
    }
    let parsed: WebhookBody = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            m.webhooks_malformed.fetch_add(1, Ordering::Relaxed);
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("not an Alertmanager or Grafana webhook body: {e}"),
            );
        }
    };
    let now = now_ms();
    let outcome = alerts::intents_of(&parsed, &source, &app.playbooks, &app.key, app.ttl_ms, now);
    let stored = app
        .store
        .record_webhook(&outcome.resolved, &outcome.intents, now)
        .await;
    let (withdrawn, added) = match stored {
        Ok(s) => (s.withdrawn, s.added),
        Err(e) => return internal(e),
    };
    let created = added.len() as u64;
    if let Some(seq) = added.iter().max() {
        app.newest.send_replace(*seq);
    }
    if created > 0 || withdrawn > 0 {
        app.push_wake.notify_one();
    }
    m.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
    m.intents_created.fetch_add(created, Ordering::Relaxed);
    (
        StatusCode::ACCEPTED,
        Json(json!({ "intents": created, "withdrawn": withdrawn })),
    )
        .into_response()
}

/// Follows the other relay instances on the same database: their new intents wake this
/// instance's device streams, their new intents and withdrawals its pusher.
pub async fn follow_other_instances(app: Arc<App>, mut changes: mpsc::Receiver<Change>) {
    while let Some(change) = changes.recv().await {
        match change {
            Change::Intent(seq) => app
                .newest
                .send_modify(|newest| *newest = (*newest).max(seq)),
            Change::Withdrawn | Change::Reconnected => app.newest.send_modify(|_| {}),
        }
        app.push_wake.notify_one();
    }
}

#[derive(Deserialize)]
struct PairRequest {
    token: String,
    device: String,
    push: Option<PushEndpoint>,
    /// The intents it receives; all when absent.
    #[serde(default)]
    scope: DeviceScope,
}

async fn pair(State(app): State<Arc<App>>, Json(req): Json<PairRequest>) -> Response {
    if token_hash(&req.token) != app.pairing_hash {
        return refuse(StatusCode::UNAUTHORIZED, "wrong pairing token");
    }
    let name: String = req
        .device
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if let Some(push) = &req.push
        && let Err(why) = app.pushers.accepts(push)
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "this relay cannot push to that {} endpoint: {why}",
                push.kind()
            ),
        );
    }
    if let Err(why) = crate::devices::check_scope(&req.scope, &app.playbooks) {
        return refuse(StatusCode::BAD_REQUEST, &why);
    }
    let id = hex::encode(rand::random::<[u8; 8]>());
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    // The scope first: the device receives nothing out of it from the moment it exists.
    if let Err(e) = app.store.set_scope(&id, &req.scope).await {
        return internal(e);
    }
    if let Err(e) = app
        .store
        .add_device(&id, &name, &token, req.push.as_ref())
        .await
    {
        return internal(e);
    }
    tracing::info!(device = %name, id = %id, "device paired");
    Json(json!({
        "device_id": id,
        "device_token": token,
        "relay_key": paaf_core::intent::format_key(&app.key.verifying_key()),
    }))
    .into_response()
}

/// The paired device presenting its token, or the 401 to answer.
// The refusal is the handler's own answer (axum's idiom); it is returned at once, never stored.
#[allow(clippy::result_large_err)]
async fn device(app: &App, headers: &HeaderMap) -> Result<Device, Response> {
    let unpaired = || refuse(StatusCode::UNAUTHORIZED, "this device is not paired");
    let token = bearer(headers).ok_or_else(unpaired)?;
    app.store
        .device(token)
        .await
        .map_err(internal)?
        .ok_or_else(unpaired)
}

/// A handler's argument `device: Device`: the paired device presenting its token, or the 401
/// answered before the handler runs.
impl FromRequestParts<Arc<App>> for Device {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Device, Response> {
        device(app, &parts.headers).await
    }
}

async fn device_status(State(app): State<Arc<App>>, device: Device) -> Response {
    let endpoints = match app.store.endpoints().await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    let endpoint = endpoints.into_iter().find(|e| e.device_id == device.id);
    let scope = match app.store.scope(&device.id).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    Json(DeviceStatus {
        device_id: device.id,
        device: device.name,
        scope,
        push: endpoint.as_ref().map(|e| e.kind.clone()),
        push_failures: endpoint.as_ref().map_or(0, |e| e.failures),
        push_last_error: endpoint.as_ref().and_then(|e| e.last_error.clone()),
        push_dropped_at: endpoint.and_then(|e| e.dropped_at),
    })
    .into_response()
}

async fn unpair(State(app): State<Arc<App>>, device: Device) -> Response {
    match app.store.revoke(&device.id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}

async fn stream(State(app): State<Arc<App>>, device: Device, headers: HeaderMap) -> Response {
    // Resumed: everything after the last event seen; fresh: what was never sent.
    let mut after: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(16);
    let mut newest = app.newest.subscribe();
    app.metrics.streams_open.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        loop {
            let since = after.unwrap_or(i64::MAX);
            let due = match app.store.due(&device.id, since, now_ms()).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!("cannot read the intents due: {e}");
                    break;
                }
            };
            let mut sent = Vec::new();
            let mut closed = false;
            for (seq, notice) in due {
                let event = Event::default()
                    .id(seq.to_string())
                    .event("intent")
                    .json_data(&notice)
                    .expect("a notice serializes");
                if tx.send(Ok(event)).await.is_err() {
                    closed = true;
                    break;
                }
                sent.push(seq);
            }
            // One transaction (one fsync) for the whole batch, not one per intent.
            if let Some(last) = sent.last() {
                after = after.map(|a| a.max(*last));
                app.metrics
                    .intents_sent
                    .fetch_add(sent.len() as u64, Ordering::Relaxed);
                if let Err(e) = app.store.mark_sent(&device.id, &sent).await {
                    tracing::error!("cannot record a delivery: {e}");
                }
            }
            if closed {
                break;
            }
            tokio::select! {
                changed = newest.changed() => if changed.is_err() { break },
                _ = tx.closed() => break,
                // Expired or claimed intents stop being due without a wake-up.
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
        app.metrics.streams_open.fetch_sub(1, Ordering::Relaxed);
    });
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn claim(State(app): State<Arc<App>>, Path(id): Path<String>, device: Device) -> Response {
    app.metrics.claims.fetch_add(1, Ordering::Relaxed);
    match app.store.claim(&id, &device).await {
        Ok(ClaimAnswer::Answered(claim)) => Json(claim).into_response(),
        Ok(ClaimAnswer::NoSuchIntent) => refuse(StatusCode::NOT_FOUND, "no such intent"),
        Err(e) => internal(e),
    }
}

async fn result(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(result): Json<ClaimResult>,
) -> Response {
    // Checked after the body was read (a `Device` argument would run before the body's
    // refusal): the answers stay as they were.
    let device = match device(&app, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match app.store.record_result(&id, &device, &result).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => refuse(
            StatusCode::CONFLICT,
            "this device did not claim that intent",
        ),
        Err(e) => internal(e),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let m = &app.metrics;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let counts = async {
        let store = &app.store;
        Ok::<_, crate::store::StoreError>((
            store.paired_devices().await?,
            store.undelivered().await?,
            store.endpoints().await?,
        ))
    };
    let (paired, pending, endpoints) = match counts.await {
        Ok(counts) => counts,
        Err(e) => return internal(e),
    };
    let dropped = endpoints.iter().filter(|e| e.dropped_at.is_some()).count();
    let failing = endpoints
        .iter()
        .filter(|e| e.dropped_at.is_none() && e.failures > 0)
        .count();
    let alive = endpoints.len() - dropped - failing;
    let text = format!(
        "# HELP paaf_relay_webhooks_total Webhooks received, by result.\n\
         # TYPE paaf_relay_webhooks_total counter\n\
         paaf_relay_webhooks_total{{result=\"accepted\"}} {}\n\
         paaf_relay_webhooks_total{{result=\"unauthorized\"}} {}\n\
         paaf_relay_webhooks_total{{result=\"rate-limited\"}} {}\n\
         paaf_relay_webhooks_total{{result=\"too-large\"}} {}\n\
         paaf_relay_webhooks_total{{result=\"malformed\"}} {}\n\
         # HELP paaf_relay_intents_created_total Signed intents created.\n\
         # TYPE paaf_relay_intents_created_total counter\n\
         paaf_relay_intents_created_total {}\n\
         # HELP paaf_relay_intents_sent_total Intents written to device streams.\n\
         # TYPE paaf_relay_intents_sent_total counter\n\
         paaf_relay_intents_sent_total {}\n\
         # HELP paaf_relay_claims_total Claims answered.\n\
         # TYPE paaf_relay_claims_total counter\n\
         paaf_relay_claims_total {}\n\
         # HELP paaf_relay_streams_open Device streams open now.\n\
         # TYPE paaf_relay_streams_open gauge\n\
         paaf_relay_streams_open {}\n\
         # HELP paaf_relay_devices_paired Devices paired and not revoked.\n\
         # TYPE paaf_relay_devices_paired gauge\n\
         paaf_relay_devices_paired {paired}\n\
         # HELP paaf_relay_deliveries_pending Deliveries not yet on a device stream.\n\
         # TYPE paaf_relay_deliveries_pending gauge\n\
         paaf_relay_deliveries_pending {pending}\n\
         # HELP paaf_relay_pushes_total Pushes to device endpoints, by result.\n\
         # TYPE paaf_relay_pushes_total counter\n\
         paaf_relay_pushes_total{{result=\"sent\"}} {}\n\
         paaf_relay_pushes_total{{result=\"failed\"}} {}\n\
         # HELP paaf_relay_push_endpoints_dropped_total Push endpoints dropped as dead.\n\
         # TYPE paaf_relay_push_endpoints_dropped_total counter\n\
         paaf_relay_push_endpoints_dropped_total {}\n\
         # HELP paaf_relay_push_endpoints Push endpoints of paired devices, by state.\n\
         # TYPE paaf_relay_push_endpoints gauge\n\
         paaf_relay_push_endpoints{{state=\"alive\"}} {alive}\n\
         paaf_relay_push_endpoints{{state=\"failing\"}} {failing}\n\
         paaf_relay_push_endpoints{{state=\"dropped\"}} {dropped}\n",
        get(&m.webhooks_accepted),
        get(&m.webhooks_unauthorized),
        get(&m.webhooks_rate_limited),
        get(&m.webhooks_too_large),
        get(&m.webhooks_malformed),
        get(&m.intents_created),
        get(&m.intents_sent),
        get(&m.claims),
        get(&m.streams_open),
        get(&m.pushes_sent),
        get(&m.pushes_failed),
        get(&m.endpoints_dropped),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
