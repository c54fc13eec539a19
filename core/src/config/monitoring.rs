//! `[[monitoring]]`: Grafana instances, Prometheus servers and Alertmanagers.

use super::*;

/// One monitoring source: a Grafana instance, a Prometheus server or an Alertmanager.
#[derive(Debug, Clone, Serialize)]
pub struct MonitoringConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MonitoringKind,
    pub url: String,
    pub auth: ApiAuth,
    /// Grafana: the organisation to work in (`X-Grafana-Org-Id`), when not the token's own.
    pub org_id: Option<u64>,
    #[serde(with = "secs")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MonitoringKind {
    Grafana,
    Prometheus,
    Alertmanager,
}

impl MonitoringKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitoringKind::Grafana => "grafana",
            MonitoringKind::Prometheus => "prometheus",
            MonitoringKind::Alertmanager => "alertmanager",
        }
    }
}

/// How paaf authenticates to an HTTP API. Secrets are references, never values.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ApiAuth {
    None,
    /// `Authorization: Bearer TOKEN` (a Grafana service-account token, a proxy's token).
    Token {
        #[serde(serialize_with = "ser_ref")]
        token: SecretRef,
    },
    Basic {
        user: String,
        #[serde(serialize_with = "ser_ref")]
        password: SecretRef,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMonitoring {
    pub(super) name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    url: Spanned<String>,
    token: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    org_id: Option<u64>,
    timeout_secs: Option<Spanned<u64>>,
}

impl Config {
    /// The monitoring source named `name`; without a name, the only one of `kind` (when
    /// `kind` is given) or the only one at all. Errors list what is configured.
    pub fn monitoring_source(
        &self,
        name: Option<&str>,
        kind: Option<MonitoringKind>,
    ) -> Result<&MonitoringConfig> {
        let candidates: Vec<&MonitoringConfig> = self
            .monitoring
            .iter()
            .filter(|m| kind.is_none_or(|k| m.kind == k))
            .collect();
        let what = kind
            .map(MonitoringKind::as_str)
            .unwrap_or("monitoring source");
        let listing = || {
            if candidates.is_empty() {
                let kind = kind.map(MonitoringKind::as_str).unwrap_or("prometheus");
                format!(
                    "none is configured; add one to the config, e.g.\n  [[monitoring]]\n  name = \"{kind}\"\n  type = \"{kind}\"\n  url = \"{}\"",
                    match kind {
                        "grafana" => "https://grafana.example.com\"\n  token = \"keyring:grafana",
                        "alertmanager" => "http://alertmanager.internal:9093",
                        _ => "http://prometheus.internal:9090",
                    }
                )
            } else {
                format!(
                    "configured: {}",
                    candidates
                        .iter()
                        .map(|m| format!("{} ({})", m.name, m.kind.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        match name {
            Some(n) => candidates
                .iter()
                .find(|m| m.name == n)
                .copied()
                .ok_or_else(|| Error::NotFound {
                    what,
                    name: n.to_string(),
                    hint: Some(format!(
                        "{}{}",
                        crate::error::suggestion(n, candidates.iter().map(|m| m.name.as_str())),
                        listing()
                    )),
                }),
            None => match candidates.as_slice() {
                [one] => Ok(one),
                [] => Err(Error::NotFound {
                    what,
                    name: String::new(),
                    hint: Some(listing()),
                }),
                _ => Err(Error::NotFound {
                    what,
                    name: String::new(),
                    hint: Some(format!("name one with --source; {}", listing())),
                }),
            },
        }
    }
}

pub(super) fn validate_monitoring(src: &Source, raw: RawMonitoring) -> Result<MonitoringConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("monitoring source name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `ops`",
        ));
    }
    let kind = match raw.kind.get_ref().as_str() {
        "grafana" => MonitoringKind::Grafana,
        "prometheus" => MonitoringKind::Prometheus,
        "alertmanager" => MonitoringKind::Alertmanager,
        other => {
            return Err(src.err(
                Some(&raw.kind.span()),
                format!("monitoring source `{name}`: unknown type `{other}`"),
                "use type = \"grafana\", \"prometheus\" or \"alertmanager\"",
            ));
        }
    };
    let url = raw.url.get_ref().trim().to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
        return Err(src.err(
            Some(&raw.url.span()),
            format!("monitoring source `{name}`: url `{url}` is not an http(s) URL"),
            "write it like url = \"https://grafana.example.com\"",
        ));
    }
    let secret = |s: &Spanned<String>| {
        SecretRef::parse(s.get_ref()).map_err(|m| {
            src.err(
                Some(&s.span()),
                format!("monitoring source `{name}`: {m}"),
                "e.g. token = \"keyring:grafana-ops\" (store it with `paaf secret set grafana-ops`)",
            )
        })
    };
    let auth = match (&raw.token, &raw.user, &raw.password) {
        (Some(token), None, None) => ApiAuth::Token {
            token: secret(token)?,
        },
        (None, Some(user), Some(password)) => ApiAuth::Basic {
            user: user.get_ref().clone(),
            password: secret(password)?,
        },
        (None, None, None) if kind != MonitoringKind::Grafana => ApiAuth::None,
        (None, None, None) => {
            return Err(src.err(
                Some(&raw.name.span()),
                format!("grafana `{name}` has no token"),
                "create a service account token in Grafana (Administration > Service accounts), store it with `paaf secret set NAME`, and set token = \"keyring:NAME\"",
            ));
        }
        _ => {
            return Err(src.err(
                Some(&raw.name.span()),
                format!(
                    "monitoring source `{name}`: give either `token`, or `user` and `password`"
                ),
                "keep one way to log in",
            ));
        }
    };
    let timeout = positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_API_TIMEOUT);
    Ok(MonitoringConfig {
        name,
        kind,
        url,
        auth,
        org_id: raw.org_id,
        timeout,
    })
}
