//! Firebase Cloud Messaging, HTTP v1: a data message to the app's registration token, sent as
//! the Firebase project's service account.
//! - Send: <https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send>
//!   (`POST {api}/v1/projects/{project_id}/messages:send`, `{"message": {"token", "data",
//!   "android": {"priority": "high", "collapse_key"}}}`, `Authorization: Bearer` an OAuth token).
//! - OAuth for servers: <https://developers.google.com/identity/protocols/oauth2/service-account>
//!   (an RS256 JWT `{iss: client_email, scope, aud: token_uri, iat, exp}` posted to `token_uri`
//!   as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`; answer
//!   `{"access_token", "expires_in", "token_type": "Bearer"}`), scope
//!   `https://www.googleapis.com/auth/firebase.messaging`.
//! - Errors: <https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode> — `{"error":
//!   {"code", "message", "status", "details": [{"@type": "...FcmError", "errorCode"}]}}`;
//!   `UNREGISTERED` (404) and `SENDER_ID_MISMATCH` (403): the token is dead, dropped;
//!   `QUOTA_EXCEEDED` (429), `UNAVAILABLE` (503), `INTERNAL` (500): retried;
//!   `INVALID_ARGUMENT` (400), `THIRD_PARTY_AUTH_ERROR` (401): counted towards dropping.

use super::PushError;
use crate::config::{FcmConfig, secret_from_env};
use crate::store::PushKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use paaf_core::intent::relay_client::IntentNotice;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The FCM sender: the service account's signing key, never shown by `Debug`.
pub struct Fcm {
    project_id: String,
    client_email: String,
    token_uri: String,
    signer: EncodingKey,
    api_url: String,
    http: reqwest::Client,
    /// The OAuth access token and when to fetch a new one.
    access: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for Fcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fcm")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    client_email: String,
    private_key: SecretString,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

/// The longest registration token taken: FCM's are about 160 characters, and a pairing's
/// endpoint is stored and sent with every push.
const TOKEN_MAX: usize = 4096;

/// Whether `token` can be an FCM registration token (1 to 4096 characters).
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > TOKEN_MAX {
        return Err(format!(
            "an FCM registration token is 1 to {TOKEN_MAX} characters"
        ));
    }
    Ok(())
}

impl Fcm {
    /// The sender of the service account in `config.service_account_env`; errors never quote it.
    pub fn new(config: &FcmConfig, http: reqwest::Client) -> Result<Fcm, String> {
        let env = &config.service_account_env;
        let json = SecretString::from(secret_from_env(env)?);
        let account: ServiceAccount = serde_json::from_str(json.expose_secret()).map_err(|e| {
            format!(
                "{env}: not a service account's JSON key (unreadable at line {} column {}): download one from the Firebase console, Project settings → Service accounts",
                e.line(),
                e.column()
            )
        })?;
        let signer = EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
            .map_err(|_| format!("{env}: its private_key is not an RSA key in PEM"))?;
        Ok(Fcm {
            project_id: account.project_id,
            client_email: account.client_email,
            token_uri: account.token_uri,
            signer,
            api_url: config.api_url.trim_end_matches('/').to_string(),
            http,
            access: Mutex::new(None),
        })
    }

    /// An OAuth access token for FCM: the cached one until a minute before it expires.
    async fn access_token(&self) -> Result<SecretString, PushError> {
        let mut cached = self.access.lock().await;
        if let Some((token, renew_at)) = &*cached
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let iat = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.client_email, "scope": SCOPE, "aud": self.token_uri,
            "iat": iat, "exp": iat + 3600,
        });
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.signer)
            .map_err(|e| format!("cannot sign the FCM token request: {e}"))?;
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| {
                format!(
                    "Google's token endpoint did not answer: {}",
                    e.without_url()
                )
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            #[derive(Deserialize)]
            struct OAuthError {
                error: String,
                error_description: Option<String>,
            }
            let said = serde_json::from_str::<OAuthError>(&text)
                .map(|e| format!("{} {}", e.error, e.error_description.unwrap_or_default()))
                .unwrap_or_default();
            return Err(PushError::Failed(format!(
                "Google's token endpoint refused the service account {} (HTTP {}): {}",
                self.client_email,
                status.as_u16(),
                said.trim()
            )));
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: SecretString,
            expires_in: u64,
        }
        let token: Token = serde_json::from_str(&text)
            .map_err(|e| format!("Google's token answer is not a token: {e}"))?;
        let renew_at = Instant::now() + Duration::from_secs(token.expires_in.saturating_sub(60));
        *cached = Some((token.access_token.clone(), renew_at));
        Ok(token.access_token)
    }

    pub async fn send(
        &self,
        device_token: &str,
        notice: &IntentNotice,
        kind: PushKind,
    ) -> Result<(), PushError> {
        let mut data = super::intent_message(notice, kind);
        // FCM data values are strings only.
        if let Some(expires) = data.get_mut("expires_at_ms") {
            *expires = expires.to_string().into();
        }
        let body = json!({"message": {
            "token": device_token,
            "data": data,
            "android": {"priority": "high", "collapse_key": notice.id},
        }});
        let access = self.access_token().await?;
        let response = self
            .http
            .post(format!(
                "{}/v1/projects/{}/messages:send",
                self.api_url, self.project_id
            ))
            .bearer_auth(access.expose_secret())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("FCM did not answer: {}", e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() == 401 {
            // The access token may have been revoked early: the next try fetches a new one.
            *self.access.lock().await = None;
        }
        let text = response.text().await.unwrap_or_default();
        let (code, message) = fcm_error(&text);
        let said = format!(
            "FCM answered HTTP {}: {code}{}",
            status.as_u16(),
            message.map(|m| format!(" ({m})")).unwrap_or_default()
        );
        match code.as_str() {
            "UNREGISTERED" | "SENDER_ID_MISMATCH" => Err(PushError::Gone(said)),
            _ => Err(PushError::Failed(said)),
        }
    }
}

/// The FCM error code of an error answer (its `FcmError` detail, else its status) and message.
fn fcm_error(text: &str) -> (String, Option<String>) {
    #[derive(Deserialize)]
    struct Answer {
        error: Body,
    }
    #[derive(Deserialize)]
    struct Body {
        status: Option<String>,
        message: Option<String>,
        #[serde(default)]
        details: Vec<serde_json::Value>,
    }
    let Ok(Answer { error }) = serde_json::from_str::<Answer>(text) else {
        return ("an answer that is not FCM's".into(), None);
    };
    let code = error
        .details
        .iter()
        .find_map(|d| d.get("errorCode")?.as_str().map(str::to_string))
        .or(error.status)
        .unwrap_or_else(|| "UNKNOWN".into());
    (code, error.message.map(|m| m.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_tokens_are_1_to_4096_characters() {
        assert!(check_token("fcm-token").is_ok());
        assert!(check_token(&"a".repeat(4096)).is_ok());
        for bad in [String::new(), "a".repeat(4097)] {
            let refused = check_token(&bad).unwrap_err();
            assert!(refused.contains("1 to 4096 characters"), "{refused}");
        }
    }

    #[test]
    fn the_error_code_is_the_fcm_detail_else_the_status() {
        let unregistered = r#"{"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}"#;
        assert_eq!(fcm_error(unregistered).0, "UNREGISTERED");
        let quota = r#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(fcm_error(quota).0, "RESOURCE_EXHAUSTED");
        assert_eq!(fcm_error("<html>").0, "an answer that is not FCM's");
    }
}
