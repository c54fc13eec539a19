//! Telling people: one [`Notice`] per incident moment (opened, a phase change, a protect or
//! stand-down summary, resolved), sent to each `[[notify]]` target in its own format — one
//! file per channel: [`slack`], [`teams`], [`webhook`], [`email`].
//!
//! A notice is queued in the journal's outbox and sent beside the incident, never in its way:
//! a target that is down gets it later (retried with backoff, see `facade/incidents.rs`), at
//! least once. A notice carries names, states and results only, never a secret or a command.

pub mod email;
pub mod slack;
pub mod teams;
pub mod webhook;

use super::{Incident, IncidentPhase, Severity};
use crate::config::{NotifyChannel, NotifyConfig};
use crate::error::Result;
use crate::http::{HttpAuth, Limits, Method, Request, Retry, Service};
use crate::secrets::{SecretRef, SecretStore};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The moment of an incident a notice tells about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeEvent {
    Opened,
    Phase,
    Protect,
    StandDown,
    Resolved,
}

impl NoticeEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeEvent::Opened => "opened",
            NoticeEvent::Phase => "phase",
            NoticeEvent::Protect => "protect",
            NoticeEvent::StandDown => "stand-down",
            NoticeEvent::Resolved => "resolved",
        }
    }
}

/// The incident as a notice shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeIncident {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub phase: IncidentPhase,
    pub playbook: Option<String>,
    /// The alert it was opened from (`alertname`), if any.
    pub alert: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One message about an incident: the generic webhook's payload as it is (see the README's
/// "Webhook payload"), and what the other channels format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The payload's version: 1.
    pub version: u32,
    pub event: NoticeEvent,
    pub incident: NoticeIncident,
    /// One line: `Incident #3 protected: Checkout errors (sev2)`.
    pub headline: String,
    /// The details, one per line (a run's steps and their results).
    pub lines: Vec<String>,
    /// Who acted: `alice via cli on laptop`.
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Notice {
    /// A notice of `event` about `incident`, by `by`.
    pub fn new(event: NoticeEvent, incident: &Incident, lines: Vec<String>, by: &str) -> Notice {
        let moment = match event {
            NoticeEvent::Opened => "opened".to_string(),
            NoticeEvent::Phase => incident.phase.as_str().replace('-', " "),
            NoticeEvent::Protect => "protect run".into(),
            NoticeEvent::StandDown => "stand down run".into(),
            NoticeEvent::Resolved => "resolved".into(),
        };
        Notice {
            version: 1,
            event,
            incident: NoticeIncident {
                id: incident.id,
                title: incident.title.clone(),
                severity: incident.severity,
                phase: incident.phase,
                playbook: incident.playbook.clone(),
                alert: incident.alert.as_ref().map(|a| a.name.clone()),
                opened_at: incident.opened_at,
                resolved_at: incident.resolved_at,
            },
            headline: format!(
                "Incident #{} {moment}: {} ({})",
                incident.id, incident.title, incident.severity
            ),
            lines,
            by: by.to_string(),
            at: Utc::now(),
        }
    }

    /// The facts every channel shows beside the headline.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![
            ("Severity", self.incident.severity.to_string()),
            ("Phase", self.incident.phase.to_string()),
        ];
        if let Some(p) = &self.incident.playbook {
            facts.push(("Playbook", p.clone()));
        }
        if let Some(a) = &self.incident.alert {
            facts.push(("Alert", a.clone()));
        }
        facts
    }
}

/// Sends `notice` to `target` once (`delivery` is the outbox id, which the generic webhook
/// passes on so receivers can drop a repeat). Its secrets are read from `secrets` now.
pub async fn send(
    target: &NotifyConfig,
    notice: &Notice,
    delivery: i64,
    secrets: &dyn SecretStore,
) -> Result<()> {
    let work = async {
        match &target.channel {
            NotifyChannel::Slack { url } => {
                let (service, request) = webhook(target, url, secrets, &slack::message(notice))?;
                slack::post(&service, request).await
            }
            NotifyChannel::Teams { url } => {
                let (service, request) = webhook(target, url, secrets, &teams::message(notice))?;
                teams::post(&service, request).await
            }
            NotifyChannel::Webhook { url, secret } => {
                let key = secret.as_ref().map(|s| s.resolve(secrets)).transpose()?;
                let body = serde_json::to_value(notice)
                    .map_err(|e| crate::Error::other(format!("cannot encode the notice: {e}")))?;
                let (service, request) = webhook(target, url, secrets, &body)?;
                let service = match &key {
                    Some(k) => service.with_secret(k.clone()),
                    None => service,
                };
                webhook::post(&service, request, key.as_ref(), notice.event, delivery).await
            }
            NotifyChannel::Email(settings) => {
                email::send(&target.name, settings, notice, secrets).await
            }
        }
    };
    match tokio::time::timeout(target.timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(crate::Error::Timeout {
            host: format!("notify target `{}`", target.name),
            phase: crate::Phase::Request,
            after: target.timeout,
        }),
    }
}

/// A webhook's URL, read from the secret `url`, as a service at its origin and the request
/// that posts `body` to its exact path and query. The path and query are the credential (a
/// Teams URL's `sig`, a Slack URL's last segments): redacted from every message, and one
/// attempt is never repeated by the client itself (the outbox retries, with backoff).
fn webhook(
    target: &NotifyConfig,
    url: &SecretRef,
    secrets: &dyn SecretStore,
    body: &serde_json::Value,
) -> Result<(Service, Request)> {
    use secrecy::ExposeSecret;
    let secret = url.resolve(secrets)?;
    let name = format!("{} `{}`", target.channel.kind(), target.name);
    let bad = || {
        crate::Error::invalid(format!(
            "{name}: its webhook URL (from {url}) is not an http(s) URL; store the URL the service gave, e.g. `paaf secret set {}`",
            target.name
        ))
    };
    let parsed = reqwest::Url::parse(secret.expose_secret()).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    let origin = parsed.origin().ascii_serialization();
    let mut service = Service::new(
        &name,
        &origin,
        HttpAuth::None,
        Limits::with_timeout(target.timeout),
    )?
    .with_secret(secret.clone());
    let path = parsed.path().to_string();
    if !path.trim_matches('/').is_empty() {
        service = service.with_secret(SecretString::from(path.clone()));
    }
    let mut request = Request::with_body(Method::POST, path, body, Retry::NotIdempotent)?;
    for (k, v) in parsed.query_pairs() {
        service = service.with_secret(SecretString::from(v.to_string()));
        request = request.query(&k, v.to_string());
    }
    Ok((service, request))
}
