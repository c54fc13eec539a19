//! What a paired device may receive and what it sees before it acts: its scope (the playbooks
//! and targets it pairs for, checked against the relay's playbooks), and the claim status of
//! an intent (`GET /intents/{id}/claim`), read without claiming, so a confirmation screen says
//! "already done by <device> at <time>: <result>" before Run.

use crate::server::{App, internal, refuse};
use crate::store::{ClaimStatus, Device};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paaf_core::config::Config;
use paaf_core::intent::IntentAction;
use paaf_core::intent::relay_client::DeviceScope;
use serde_json::json;
use std::sync::Arc;

/// The most names a scope may list.
const MAX_NAMES: usize = 256;

/// Whether `scope` names only playbooks of the relay's `playbooks` and targets some of their
/// steps act on (a flag by its name or `name@environment`): else what is wrong, to answer 400.
pub fn check_scope(scope: &DeviceScope, playbooks: &Config) -> Result<(), String> {
    if scope.playbooks.len() + scope.targets.len() > MAX_NAMES {
        return Err(format!("a scope lists at most {MAX_NAMES} names"));
    }
    let shown = |name: &str| {
        name.chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect::<String>()
    };
    let known: Vec<&str> = playbooks
        .playbooks
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if let Some(unknown) = scope
        .playbooks
        .iter()
        .find(|p| !known.contains(&p.as_str()))
    {
        return Err(format!(
            "the relay has no playbook `{}` (it has: {}): pair with --playbook NAME of one of them",
            shown(unknown),
            known.join(", ")
        ));
    }
    let targets: Vec<String> = playbooks
        .playbooks
        .iter()
        .flat_map(|p| &p.protect)
        .filter_map(|step| IntentAction::of_step(&step.action))
        .flat_map(|action| {
            let target = action.target();
            let flag = target.split_once('@').map(|(flag, _)| flag.to_string());
            std::iter::once(target).chain(flag)
        })
        .collect();
    if let Some(unknown) = scope.targets.iter().find(|t| !targets.contains(t)) {
        return Err(format!(
            "no playbook step of the relay acts on target `{}` (they act on: {}): pair with --target NAME of one of them",
            shown(unknown),
            targets.join(", ")
        ));
    }
    Ok(())
}

/// `GET /intents/{id}/claim`: who claimed the intent, if anyone; nothing is claimed.
pub async fn claim_status(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    device: Device,
) -> Response {
    match app.store.claim_status(&id, &device).await {
        Ok(ClaimStatus::Claimed(claim)) => Json(json!({ "claim": claim })).into_response(),
        Ok(ClaimStatus::Unclaimed) => Json(json!({ "claim": null })).into_response(),
        Ok(ClaimStatus::NoSuchIntent) => refuse(StatusCode::NOT_FOUND, "no such intent"),
        Err(e) => internal(e),
    }
}
