//! The team timeline's routes (paaf-core's `intent::team_client` calls them; `incident::team`
//! says what a row is): a paired device registers its Ed25519 key once, posts the signed rows
//! of its shared incidents, and reads the merged timeline of an incident. Only paired devices
//! get in; a row is kept only when its signature verifies against the key of the device that
//! posted it and it names that device.

use crate::server::{App, internal, refuse};
use crate::store::Device;
use crate::store::timeline::{KeyRegistered, StoredRow};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use paaf_core::incident::team::{self, MAX_ROWS_PER_POST, RowRefusal, SignedRow};
use paaf_core::intent;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The team timeline's routes, merged into the relay's router.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/device/key", post(register_key))
        .route(
            "/timeline",
            // A full batch of rows, a few hundred bytes each, with their signatures.
            post(post_rows).layer(DefaultBodyLimit::max(MAX_ROWS_PER_POST * 4 * 1024)),
        )
        .route("/timeline/{key}", get(read))
}

#[derive(Deserialize)]
struct KeyBody {
    key: String,
}

async fn register_key(
    State(app): State<Arc<App>>,
    device: Device,
    body: Result<Json<KeyBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "expected {\"key\": \"ed25519:...\"}",
        );
    };
    let key = match intent::parse_key(&body.key) {
        Ok(k) => intent::format_key(&k),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("device key: {e}")),
    };
    match app.store.set_device_key(&device.id, &key).await {
        Ok(KeyRegistered::Registered) => StatusCode::NO_CONTENT.into_response(),
        Ok(KeyRegistered::HasAnother) => refuse(
            StatusCode::CONFLICT,
            "this device registered another key already: unpair it and pair it again",
        ),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct Posted {
    rows: Vec<SignedRow>,
}

async fn post_rows(
    State(app): State<Arc<App>>,
    device: Device,
    body: Result<Json<Posted>, JsonRejection>,
) -> Response {
    let posted = match body {
        Ok(Json(p)) => p,
        Err(e) => {
            return refuse(
                e.status(),
                &format!("not a post of team timeline rows: {}", e.body_text()),
            );
        }
    };
    if posted.rows.len() > MAX_ROWS_PER_POST {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("at most {MAX_ROWS_PER_POST} rows a post"),
        );
    }
    let key = match app.store.device_key(&device.id).await {
        Ok(Some(k)) => k,
        Ok(None) => {
            return refuse(
                StatusCode::CONFLICT,
                "this device registered no key to sign its rows with: pair it again with `paaf relay pair`",
            );
        }
        Err(e) => return internal(e),
    };
    let Ok(key) = intent::parse_key(&key) else {
        return internal("a stored device key does not parse");
    };
    let mut rows = Vec::with_capacity(posted.rows.len());
    for signed in &posted.rows {
        let (row, json) = match team::verify_row(signed, &key, &device.id) {
            Ok(r) => r,
            Err(refusal) => {
                tracing::warn!(device = %device.name, "team timeline row refused: {refusal}");
                let status = match refusal {
                    RowRefusal::Unsigned | RowRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
                    RowRefusal::Forged => StatusCode::UNAUTHORIZED,
                    RowRefusal::WrongDevice { .. } => StatusCode::FORBIDDEN,
                };
                return refuse(status, &refusal.to_string());
            }
        };
        rows.push(StoredRow {
            device_id: row.device_id,
            row_id: row.row_id,
            incident_key: row.incident_key,
            at_ms: row.started_at.timestamp_millis(),
            json,
            sig: signed.sig.clone(),
        });
    }
    let accepted = rows.len();
    match app.store.add_timeline_rows(&rows).await {
        Ok(new) => Json(json!({ "accepted": accepted, "new": new })).into_response(),
        Err(e) => internal(e),
    }
}

async fn read(State(app): State<Arc<App>>, Path(key): Path<String>, _paired: Device) -> Response {
    if let Err(why) = team::check_key(&key) {
        return refuse(StatusCode::BAD_REQUEST, &why);
    }
    match app.store.timeline(&key).await {
        // Each row is the JSON a device signed, checked when it came in.
        Ok(rows) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"rows\":[{}]}}", rows.join(",")),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}
