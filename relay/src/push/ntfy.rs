//! ntfy: the notification is published as JSON to the server's root URL, one "view" action
//! button per intent opening its `paaf://intent/...` link.
//! - Publish as JSON: <https://docs.ntfy.sh/publish/#publish-as-json> (`POST /` with
//!   `{"topic", "title", "message", "tags", "priority", "click", "actions", "sequence_id"}`).
//! - Action buttons: <https://docs.ntfy.sh/publish/#action-buttons> (`{"action": "view",
//!   "label", "url", "clear"}`).
//! - Updating notifications: <https://docs.ntfy.sh/publish/#updating-notifications> (same
//!   `sequence_id`, ntfy ≥ 2.16).
//! - Access tokens: <https://docs.ntfy.sh/publish/#access-tokens> (`Authorization: Bearer`).
//! - Errors: a JSON body `{"code": 42901, "http": 429, "error": "limit reached: too many
//!   requests", "link": ...}`; 429 is rate limiting (retried), 401/403 a token without access
//!   to the topic (counted towards dropping the endpoint), 5xx retried.

use crate::config::{NtfyConfig, secret_from_env};
use crate::store::PushKind;
use paaf_core::intent::relay_client::IntentNotice;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

pub struct Ntfy {
    /// The allowed servers, without a trailing slash.
    servers: Vec<String>,
    token: Option<SecretString>,
    priority: u8,
    http: reqwest::Client,
}

/// The longest button label ntfy shows whole.
const LABEL_CHARS: usize = 40;

impl Ntfy {
    pub fn new(config: &NtfyConfig, http: reqwest::Client) -> Result<Ntfy, String> {
        Ok(Ntfy {
            servers: config
                .servers
                .iter()
                .map(|s| s.trim_end_matches('/').to_string())
                .collect(),
            token: match &config.token_env {
                Some(env) => Some(SecretString::from(secret_from_env(env)?)),
                None => None,
            },
            priority: config.priority.clamp(1, 5),
            http,
        })
    }

    /// The server and topic of the topic URL `url`, when the server is allowed.
    fn split<'a>(&self, url: &'a str) -> Result<(&'a str, &'a str), String> {
        let (server, topic) = url
            .trim_end_matches('/')
            .rsplit_once('/')
            .ok_or("an ntfy endpoint is a topic URL: https://ntfy.example.com/TOPIC")?;
        // ntfy's topic names: letters, digits, `_` and `-`, at most 64.
        if topic.is_empty()
            || topic.len() > 64
            || !topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("an ntfy topic is 1 to 64 letters, digits, `_` or `-`".into());
        }
        if !self.servers.iter().any(|s| s == server) {
            return Err(format!(
                "this relay does not publish to the ntfy server {server}: it publishes to {}",
                self.servers.join(", ")
            ));
        }
        Ok((server, topic))
    }

    pub fn accepts(&self, url: &str) -> Result<(), String> {
        self.split(url).map(|_| ())
    }

    pub async fn send(
        &self,
        url: &str,
        notice: &IntentNotice,
        kind: PushKind,
    ) -> Result<(), String> {
        let (server, topic) = self.split(url)?;
        let body = match kind {
            PushKind::Notify => {
                let label: String = format!("{} {}", notice.kind, notice.target)
                    .chars()
                    .take(LABEL_CHARS)
                    .collect();
                json!({
                    "topic": topic,
                    "sequence_id": notice.id,
                    "title": format!("{} firing", notice.alert),
                    "message": format!(
                        "Playbook {}: {} {}. Tap to confirm in paaf.",
                        notice.playbook, notice.kind, notice.target
                    ),
                    "tags": ["rotating_light"],
                    "priority": self.priority,
                    "click": notice.url,
                    "actions": [{"action": "view", "label": label, "url": notice.url, "clear": true}],
                })
            }
            PushKind::Withdraw => json!({
                "topic": topic,
                "sequence_id": notice.id,
                "title": format!("{} resolved", notice.alert),
                "message": format!(
                    "No action needed: the alert resolved ({} {} withdrawn).",
                    notice.kind, notice.target
                ),
                "tags": ["white_check_mark"],
                "priority": 2,
            }),
        };
        let mut request = self
            .http
            .post(format!("{server}/"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("ntfy did not answer: {}", e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        #[derive(Deserialize)]
        struct NtfyError {
            code: Option<i64>,
            error: Option<String>,
        }
        let text = response.text().await.unwrap_or_default();
        let said = match serde_json::from_str::<NtfyError>(&text) {
            Ok(NtfyError {
                code: Some(code),
                error: Some(error),
            }) => format!("{error} (ntfy code {code})"),
            _ => text.chars().take(200).collect(),
        };
        Err(format!("ntfy answered HTTP {}: {said}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ntfy(token: Option<&str>) -> Ntfy {
        Ntfy {
            servers: vec!["https://ntfy.example.com".into()],
            token: token.map(|t| SecretString::from(t.to_string())),
            priority: 4,
            http: reqwest::Client::new(),
        }
    }

    #[test]
    fn only_topics_on_the_allowed_servers_are_accepted() {
        let n = ntfy(None);
        assert!(n.accepts("https://ntfy.example.com/paaf-oncall_7").is_ok());
        assert!(n.accepts("https://ntfy.example.com/paaf-oncall/").is_ok());
        for bad in [
            "https://evil.example.com/topic",
            "https://ntfy.example.com.evil.com/topic",
            "https://ntfy.example.com/a/b",
            "https://ntfy.example.com/to pic",
            "https://ntfy.example.com/",
            "topic",
        ] {
            assert!(n.accepts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_access_token_never_shows_in_debug_output() {
        let token = "tk_secret0123456789abcdefghijklm";
        let n = ntfy(Some(token));
        let shown = format!("{:?}", n.token);
        assert!(!shown.contains(token), "{shown}");
    }
}
