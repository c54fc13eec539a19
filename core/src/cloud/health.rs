//! The health check a rolling reboot runs on each server before it moves on: an HTTP URL that
//! must answer 2xx, or a local command that must exit 0. Both name the server through
//! placeholders (`{ip}`, `{name}`, `{id}`, `{region}`), whose values come from the provider and
//! so from whoever may tag a server: they are data, never code or a host.
//!
//! - In a command, the values are passed as environment variables (`PAAF_SERVER_IP`,
//!   `PAAF_SERVER_NAME`, `PAAF_SERVER_ID`, `PAAF_SERVER_REGION`), and each placeholder becomes
//!   a quoted reference to its variable (`{name}` → `"${PAAF_SERVER_NAME}"`), so no value is
//!   ever part of the shell text. Inside single quotes the shell cannot expand a variable, so
//!   a placeholder there is refused.
//! - In a URL, the host comes from the template or `{ip}` (an IP address, checked as such),
//!   never from `{name}`, `{id}` or `{region}`; the values after the host are percent-encoded,
//!   so a name cannot add a path segment, a query parameter or a fragment.

use super::Server;
use crate::error::{Error, Result};
use crate::http::{HttpAuth, Limits, Request, Service};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
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

/// A placeholder, the environment variable that carries its value, and the shell expansion
/// that reads it (`{name}` is the id when the server has no name).
const PLACEHOLDERS: [(&str, &str, &str); 4] = [
    ("{ip}", "PAAF_SERVER_IP", "${PAAF_SERVER_IP}"),
    (
        "{name}",
        "PAAF_SERVER_NAME",
        "${PAAF_SERVER_NAME:-$PAAF_SERVER_ID}",
    ),
    ("{id}", "PAAF_SERVER_ID", "${PAAF_SERVER_ID}"),
    ("{region}", "PAAF_SERVER_REGION", "${PAAF_SERVER_REGION}"),
];

/// Everything but RFC 3986's unreserved characters is encoded: a value filled into a path or
/// query can neither end its segment or parameter nor start another.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl HealthCheck {
    /// Refuses a template that could not be filled safely (before any server is rebooted).
    pub fn validate(&self) -> Result<()> {
        match self {
            HealthCheck::Url(template) => {
                let sample = Values {
                    ip: "192.0.2.1",
                    name: "web-1",
                    id: "i-1",
                    region: "eu-west-1",
                };
                url_for(template, &sample).map(|_| ())
            }
            HealthCheck::Command(template) => shell_script(template).map(|_| ()),
        }
    }

    /// Checks `server` once: `Ok(())` when healthy, else why not.
    pub async fn check(&self, server: &Server, timeout: Duration) -> Result<()> {
        match self {
            HealthCheck::Url(template) => {
                let parsed = url_for(template, &Values::of(server))?;
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
                let script = shell_script(template)?;
                let mut command = tokio::process::Command::new("sh");
                command.arg("-c").arg(&script);
                let values = Values::of(server);
                command
                    .env("PAAF_SERVER_IP", values.ip)
                    .env("PAAF_SERVER_NAME", server.name.as_deref().unwrap_or(""))
                    .env("PAAF_SERVER_ID", values.id)
                    .env("PAAF_SERVER_REGION", values.region);
                let run = command
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output();
                let output = tokio::time::timeout(timeout, run)
                    .await
                    .map_err(|_| {
                        Error::other(format!(
                            "health check `{template}` did not finish within {}s",
                            timeout.as_secs()
                        ))
                    })?
                    .map_err(|e| Error::other(format!("could not run `{template}`: {e}")))?;
                if output.status.success() {
                    Ok(())
                } else {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    Err(Error::other(format!(
                        "health check `{template}` exited with {}: {}",
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

/// What the placeholders of one server stand for.
struct Values<'a> {
    ip: &'a str,
    /// The name, else the id.
    name: &'a str,
    id: &'a str,
    region: &'a str,
}

impl<'a> Values<'a> {
    fn of(server: &'a Server) -> Values<'a> {
        Values {
            ip: first_ip(server),
            name: server.name.as_deref().unwrap_or(&server.id),
            id: &server.id,
            region: &server.region,
        }
    }

    fn get(&self, placeholder: &str) -> &'a str {
        match placeholder {
            "{ip}" => self.ip,
            "{name}" => self.name,
            "{id}" => self.id,
            _ => self.region,
        }
    }
}

/// The command template as `sh` text whose placeholders read their environment variables: a
/// scan of `sh`'s quoting tells whether a placeholder stands bare (`"${VAR}"`, also inside
/// `$(…)` and backticks), inside double quotes (`${VAR}`) or inside single quotes (refused:
/// nothing expands there). Whatever the scan gets wrong, the text holds variable references
/// only, never a server's values.
fn shell_script(template: &str) -> Result<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Quote {
        Bare,
        Double,
        Single,
        /// Inside `$(…)` or `(…)`.
        Paren,
        Backtick,
    }
    use Quote::*;
    let mut nesting = vec![Bare];
    let mut script = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let quote = *nesting.last().unwrap_or(&Bare);
        if let Some((placeholder, var, expansion)) =
            PLACEHOLDERS.iter().find(|(p, _, _)| rest.starts_with(p))
        {
            match quote {
                Single => {
                    return Err(Error::invalid(format!(
                        "health command `{template}`: {placeholder} is inside single quotes, where the shell cannot fill it safely; move it out of them or into double quotes (\"{placeholder}\"), or write \"${var}\" where an inner shell runs it"
                    )));
                }
                Double => script.push_str(expansion),
                Bare | Paren | Backtick => script.push_str(&format!("\"{expansion}\"")),
            }
            rest = &rest[placeholder.len()..];
            continue;
        }
        let mut taken = c.len_utf8();
        match (quote, c) {
            (Single, '\'') | (Double, '"') | (Paren, ')') | (Backtick, '`') => {
                nesting.pop();
            }
            (Single, _) => {}
            // A backslash keeps the next character literal.
            (_, '\\') => taken += rest[1..].chars().next().map_or(0, char::len_utf8),
            (_, '$') if rest[1..].starts_with('(') => {
                taken += 1;
                nesting.push(Paren);
            }
            (_, '`') => nesting.push(Backtick),
            (Double, _) => {}
            (_, '\'') => nesting.push(Single),
            (_, '"') => nesting.push(Double),
            (_, '(') => nesting.push(Paren),
            _ => {}
        }
        script.push_str(&rest[..taken]);
        rest = &rest[taken..];
    }
    Ok(script)
}

/// The URL of `server`'s health check. The scheme and authority (up to the first `/`, `?` or
/// `#` after `://`) may hold `{ip}` only, filled with the server's IP address; every
/// placeholder after it is filled percent-encoded.
fn url_for(template: &str, values: &Values) -> Result<reqwest::Url> {
    let not_a_url = |why: String| {
        Error::invalid(format!(
            "health check URL `{template}` {why}: write it like http://{{ip}}:8080/health?host={{name}}"
        ))
    };
    let authority_start = template
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| not_a_url("is not a URL".into()))?;
    let authority_end = template[authority_start..]
        .find(['/', '?', '#'])
        .map_or(template.len(), |i| authority_start + i);
    let (head, tail) = template.split_at(authority_end);
    if let Some((placeholder, _, _)) = PLACEHOLDERS[1..].iter().find(|(p, _, _)| head.contains(p)) {
        return Err(Error::invalid(format!(
            "health check URL `{template}`: its host would come from {placeholder}, which whoever names or tags the server chooses; use {{ip}} or a fixed host, and put {placeholder} in the path or query (http://{{ip}}:8080/health?host={placeholder})"
        )));
    }
    let head = if head.contains("{ip}") {
        let ip = values.ip;
        let addr: IpAddr = ip.parse().map_err(|_| {
            Error::invalid(format!(
                "health check URL `{template}`: {} has no IP address to fill {{ip}} with (got `{ip}`)",
                values.name
            ))
        })?;
        let host = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        head.replace("{ip}", &host)
    } else {
        head.to_string()
    };
    let mut filled = head;
    let mut rest = tail;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        rest = &rest[start..];
        match PLACEHOLDERS.iter().find(|(p, _, _)| rest.starts_with(p)) {
            Some((placeholder, _, _)) => {
                filled.extend(utf8_percent_encode(values.get(placeholder), URL_VALUE));
                rest = &rest[placeholder.len()..];
            }
            None => {
                filled.push('{');
                rest = &rest[1..];
            }
        }
    }
    filled.push_str(rest);
    let url = reqwest::Url::parse(&filled).map_err(|e| not_a_url(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(not_a_url(format!(
            "has scheme {}, not http(s)",
            url.scheme()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{ServerStatus, test_server};
    use crate::error::ErrorCode;

    fn server() -> Server {
        Server {
            id: "i-1".into(),
            private_ips: vec!["10.0.0.7".into()],
            ..test_server(ServerStatus::Running)
        }
    }

    #[test]
    fn placeholders_name_the_server() {
        let server = server();
        let url = |t: &str| url_for(t, &Values::of(&server)).map(|u| u.to_string());
        assert_eq!(
            url("http://{ip}:8080/health?host={name}&id={id}").unwrap(),
            "http://10.0.0.7:8080/health?host=web-1&id=i-1"
        );
        let v6 = Values {
            ip: "fd00::7",
            ..Values::of(&server)
        };
        assert_eq!(
            url_for("http://{ip}:8080/{region}/health", &v6)
                .unwrap()
                .to_string(),
            "http://[fd00::7]:8080/eu-west-1/health"
        );
        let no_ip = Values {
            ip: "",
            ..Values::of(&server)
        };
        let e = url_for("http://{ip}/", &no_ip).unwrap_err();
        assert!(e.to_string().contains("no IP address"), "{e}");
        let e = url("file:///etc/{name}").unwrap_err();
        assert!(e.to_string().contains("not http(s)"), "{e}");
    }

    #[test]
    fn a_command_reads_its_placeholders_from_the_environment() {
        assert_eq!(
            shell_script(r#"curl -fsS "http://{ip}/h?n={name}" && test {id} = x\{region}"#)
                .unwrap(),
            r#"curl -fsS "http://${PAAF_SERVER_IP}/h?n=${PAAF_SERVER_NAME:-$PAAF_SERVER_ID}" && test "${PAAF_SERVER_ID}" = x\{region}"#
        );
        assert_eq!(
            shell_script(r#"test "$(printf '%s' {name} "{id}")" = `echo {ip}`"#).unwrap(),
            r#"test "$(printf '%s' "${PAAF_SERVER_NAME:-$PAAF_SERVER_ID}" "${PAAF_SERVER_ID}")" = `echo "${PAAF_SERVER_IP}"`"#
        );
        for single in [
            "grep '{name}' /etc/hosts",
            "sh -c 'curl {ip}'",
            r#"test "$(echo '{id}')" = x"#,
        ] {
            let e = HealthCheck::Command(single.into()).validate().unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
            assert!(e.to_string().contains("single quotes"), "{e}");
        }
        HealthCheck::Command("test -n {ip}".into())
            .validate()
            .unwrap();
        HealthCheck::Url("http://{ip}:8080/health?host={name}".into())
            .validate()
            .unwrap();
        let e = HealthCheck::Url("http://{name}:8080/".into())
            .validate()
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    }

    #[tokio::test]
    async fn a_command_is_healthy_when_it_exits_zero_and_sees_the_server() {
        let ok = HealthCheck::Command(
            "test \"$PAAF_SERVER_IP\" = 10.0.0.7 && test {name} = web-1".into(),
        );
        run(&ok, &server()).await.unwrap();
        let bad = HealthCheck::Command("echo not ready >&2; exit 3".into());
        let e = run(&bad, &server()).await.unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("exited with 3") && text.contains("not ready"),
            "{text}"
        );
    }

    fn named(name: &str) -> Server {
        Server {
            name: Some(name.into()),
            ..server()
        }
    }

    /// What `check` says of `server`, given 5 s.
    async fn run(check: &HealthCheck, server: &Server) -> Result<()> {
        check.check(server, Duration::from_secs(5)).await
    }

    /// A name anyone who can tag a server may choose: if any of the shell code in it runs,
    /// it leaves `marker` behind.
    fn hostile_names(marker: &std::path::Path) -> Vec<String> {
        let m = marker.display();
        vec![
            format!("x;touch {m}"),
            format!("x$(touch {m})"),
            format!("x`touch {m}`"),
            format!("x'; touch {m}; '"),
            format!("x\"; touch {m}; \""),
            format!("x\ntouch {m}"),
        ]
    }

    #[tokio::test]
    async fn a_hostile_name_in_a_command_is_data_never_code() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        for name in hostile_names(&marker) {
            for template in [
                "test -n {name}",
                "test \"{name}\" = \"$PAAF_SERVER_NAME\"",
                "echo prefix-{name}-suffix >/dev/null",
                "test \"$(printf %s {name})\" = \"$PAAF_SERVER_NAME\"",
            ] {
                let check = HealthCheck::Command(template.into());
                let result = run(&check, &named(&name)).await;
                assert!(
                    !marker.exists(),
                    "`{template}` ran code from the name {name:?}"
                );
                result.unwrap_or_else(|e| panic!("`{template}` with {name:?}: {e}"));
            }
        }
    }

    #[tokio::test]
    async fn a_hostile_name_in_a_url_stays_inside_its_query_value() {
        use wiremock::matchers::{method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let upstream = MockServer::start().await;
        let name = "a&host=b/../admin?x=1#frag @evil.example";
        Mock::given(method("GET"))
            .and(path("/health"))
            .and(query_param("host", name))
            .respond_with(ResponseTemplate::new(200))
            .mount(&upstream)
            .await;
        let check = HealthCheck::Url(format!("{}/health?host={{name}}", upstream.uri()));
        run(&check, &named(name)).await.unwrap();
        let requests = upstream.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        let pairs: Vec<_> = requests[0].url.query_pairs().collect();
        assert_eq!(pairs.len(), 1, "{pairs:?}");
    }

    #[tokio::test]
    async fn a_url_whose_host_would_come_from_the_name_is_refused() {
        for template in [
            "http://{name}/health",
            "http://{name}.svc.internal:8080/health",
            "http://user:{id}@10.0.0.1/health",
            "https://{region}.example.com/",
        ] {
            let check = HealthCheck::Url(template.into());
            let e = run(&check, &named("evil.example/")).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{template}: {e}");
            assert!(e.to_string().contains("{ip}"), "says what to use: {e}");
        }
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
        run(&check, &server()).await.unwrap();
        let missing = HealthCheck::Url(format!("{}/ready", server_.uri()));
        let e = run(&missing, &server()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        let e = run(&HealthCheck::Url("not a url {ip}".into()), &server())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }
}
