//! paaf-relay's team timeline API, as a paired device calls it (relay/src/timeline.rs serves
//! it; see `incident::team` for what a row is and how it is signed).
//!
//! - `POST /device/key` `{key}` → 204: registers the device's Ed25519 public key
//!   (`ed25519:<base64url>`), right after pairing; a device has one key (409 for another).
//! - `POST /timeline` `{rows: [{row, sig}]}` → `{accepted, new}`: rows of shared incidents,
//!   each signed with the device's key; idempotent (a row is kept once per device and row id,
//!   so a device that resends after a lost answer adds nothing). 400 unsigned or malformed,
//!   401 unpaired or forged, 403 a row of another device, 409 no key registered.
//! - `GET /timeline/{incident_key}` → `{rows: [..]}`: the merged rows of every device,
//!   ordered by start time, then device. Paired devices only.

use super::relay_client::service;
use crate::error::Result;
use crate::http::{Request, Retry, path_segment};
use crate::incident::team::{SignedRow, TeamRow};
use ed25519_dalek::VerifyingKey;
use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// What the relay answers a post of rows.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct PostedRows {
    /// Rows acknowledged (all of those posted).
    pub accepted: u64,
    /// Rows the relay did not have yet.
    pub new: u64,
}

/// Registers this device's public key with the relay (right after pairing).
pub async fn register_key(
    url: &str,
    device_token: &SecretString,
    key: &VerifyingKey,
) -> Result<()> {
    let body = serde_json::json!({ "key": super::format_key(key) });
    service(url, Some(device_token))?
        .send(Request::with_body(
            Method::POST,
            "/device/key",
            &body,
            Retry::Idempotent,
        )?)
        .await
        .map(|_| ())
}

/// Posts signed rows; answered once the relay stored them.
pub async fn post_rows(
    url: &str,
    device_token: &SecretString,
    rows: &[SignedRow],
) -> Result<PostedRows> {
    let body = serde_json::json!({ "rows": rows });
    // Idempotent on the relay: a post retried after a lost answer adds nothing.
    service(url, Some(device_token))?
        .get_json(Request::with_body(
            Method::POST,
            "/timeline",
            &body,
            Retry::Idempotent,
        )?)
        .await
}

/// The merged timeline of team incident `incident_key`.
pub async fn timeline(
    url: &str,
    device_token: &SecretString,
    incident_key: &str,
) -> Result<Vec<TeamRow>> {
    #[derive(Deserialize)]
    struct Answer {
        rows: Vec<TeamRow>,
    }
    let path = format!("/timeline/{}", path_segment(incident_key));
    let answer: Answer = service(url, Some(device_token))?
        .get_json(Request::get(path))
        .await?;
    Ok(answer.rows)
}
