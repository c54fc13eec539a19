//! The health check a rolling reboot runs on each server before it moves on: an HTTP URL that
//! must answer 2xx, or a local command that must exit 0. Both name the server through
//! placeholders (`{ip}`, `{name}`, `{id}`, `{region}`), and the command also gets them as
//! environment variables (`PAAF_SERVER_IP`, ...).

use super::Server;
use crate::error::{Error, Result};
use crate::http::{HttpAuth, Limits, Request, Service};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How to tell that a server is healthy again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HealthCheck {
    /// `GET` this URL: healthy on a 2xx answer.
    Url(String),
    /// `sh -c` this command on this machine: healthy when it exits 0.
    Command(String),
}

impl HealthCheck {
    /// Checks `server` once: `Ok(())` when healthy, else why not.
    pub async fn check(&self, server: &Server, timeout: Duration) -> Result<()> {
        match self {
            HealthCheck::Url(template) => {
                let url = fill(template, server);
                let parsed = reqwest::Url::parse(&url).map_err(|e| {
                    Error::invalid(format!(
                        "health check URL `{url}` is not a URL ({e}): write it like http://{{ip}}:8080/health"
                    ))
                })?;
                let origin = format!("{}/", parsed.origin().ascii_serialization());
                let mut path = parsed.path().trim_start_matches('/').to_string();
                if let Some(q) = parsed.query() {
                    path = format!("{path}?{q}");
                }
                let limits = Limits {
                    max_attempts: 1,
                    ..Limits::with_timeout(timeout)
                };
                let service = Service::new("health check", &origin, HttpAuth::None, limits)?;
                service.send(Request::get(path)).await.map(|_| ())
            }
            HealthCheck::Command(template) => {
                let command = fill(template, server);
                let run = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(&command)
                    .env("PAAF_SERVER_ID", &server.id)
                    .env("PAAF_SERVER_NAME", server.name.as_deref().unwrap_or(""))
                    .env("PAAF_SERVER_IP", first_ip(server))
                    .env("PAAF_SERVER_REGION", &server.region)
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output();
                let output = tokio::time::timeout(timeout, run)
                    .await
                    .map_err(|_| {
                        Error::other(format!(
                            "health check `{command}` did not finish within {}s",
                            timeout.as_secs()
                        ))
                    })?
                    .map_err(|e| Error::other(format!("could not run `{command}`: {e}")))?;
                if output.status.success() {
                    Ok(())
                } else {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    Err(Error::other(format!(
                        "health check `{command}` exited with {}: {}",
                        output.status.code().unwrap_or(-1),
                        stderr.trim().chars().take(300).collect::<String>()
                    )))
                }
            }
        }
    }
}

/// The address to reach a server at: its first public IP, else its first private one.
pub fn first_ip(server: &Server) -> &str {
    server
        .public_ips
        .first()
        .or(server.private_ips.first())
        .map(String::as_str)
        .unwrap_or("")
}

fn fill(template: &str, server: &Server) -> String {
    template
        .replace("{ip}", first_ip(server))
        .replace("{name}", server.name.as_deref().unwrap_or(&server.id))
        .replace("{id}", &server.id)
        .replace("{region}", &server.region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ServerStatus;
    use crate::error::ErrorCode;

    fn server() -> Server {
        Server {
            provider: "aws".into(),
            account: "prod".into(),
            region: "eu-west-1".into(),
            id: "i-1".into(),
            name: Some("web-1".into()),
            status: ServerStatus::Running,
            raw_state: "running".into(),
            public_ips: vec![],
            private_ips: vec!["10.0.0.7".into()],
            tags: Default::default(),
            launched_at_ms: None,
        }
    }

    #[test]
    fn placeholders_name_the_server() {
        assert_eq!(
            fill("http://{ip}:8080/health?host={name}&id={id}", &server()),
            "http://10.0.0.7:8080/health?host=web-1&id=i-1"
        );
    }

    #[tokio::test]
    async fn a_command_is_healthy_when_it_exits_zero_and_sees_the_server() {
        let ok = HealthCheck::Command(
            "test \"$PAAF_SERVER_IP\" = 10.0.0.7 && test {name} = web-1".into(),
        );
        ok.check(&server(), Duration::from_secs(5)).await.unwrap();
        let bad = HealthCheck::Command("echo not ready >&2; exit 3".into());
        let e = bad
            .check(&server(), Duration::from_secs(5))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("exited with 3") && text.contains("not ready"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_url_is_healthy_on_2xx_only() {
        use wiremock::matchers::{method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server_ = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/health"))
            .and(query_param("host", "web-1"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server_)
            .await;
        let check = HealthCheck::Url(format!("{}/health?host={{name}}", server_.uri()));
        check
            .check(&server(), Duration::from_secs(5))
            .await
            .unwrap();
        let missing = HealthCheck::Url(format!("{}/ready", server_.uri()));
        let e = missing
            .check(&server(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        let e = HealthCheck::Url("not a url {ip}".into())
            .check(&server(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }
}
