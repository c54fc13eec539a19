//! `[[flags]]`: feature-flag services, the keys each type needs.

use super::*;

/// One feature-flag service. Which keys it needs depends on its type; `validate_flags` checks
/// them and says what is missing.
#[derive(Debug, Clone, Serialize)]
pub struct FlagsConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FlagsKind,
    /// The management API's base URL.
    pub url: String,
    /// The management API token (never an SDK/client key): Unleash, Optimizely.
    #[serde(serialize_with = "ser_ref_opt")]
    pub token: Option<SecretRef>,
    /// OAuth client credentials: DevCycle.
    pub client_id: Option<String>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub client_secret: Option<SecretRef>,
    /// The OAuth token endpoint's base URL, when not the vendor's own.
    pub auth_url: Option<String>,
    /// The vendor's project (key or id) flags live in; the default of every flag command.
    pub project: Option<String>,
    /// Environments by the name a user types (`production`) → the vendor's key or id for it
    /// (Flagsmith environment keys, FeatBit environment ids); LaunchDarkly: the names to show.
    pub environments: BTreeMap<String, String>,
    /// Env-file flags: where the file is and what runs it.
    #[serde(skip)]
    pub env_file: Option<crate::flags::envfile::EnvFileSettings>,
    #[serde(with = "secs")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagsKind {
    Unleash,
    Devcycle,
    Optimizely,
    Launchdarkly,
    Flagsmith,
    Featbit,
    EnvFile,
}

impl FlagsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagsKind::Unleash => "unleash",
            FlagsKind::Devcycle => "devcycle",
            FlagsKind::Optimizely => "optimizely",
            FlagsKind::Launchdarkly => "launchdarkly",
            FlagsKind::Flagsmith => "flagsmith",
            FlagsKind::Featbit => "featbit",
            FlagsKind::EnvFile => "env-file",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlags {
    pub(super) name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    auth_url: Option<Spanned<String>>,
    project: Option<Spanned<toml::Value>>,
    environments: Option<Spanned<RawEnvironments>>,
    // env-file
    host: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    unit: Option<String>,
    sudo: Option<bool>,
    check_command: Option<String>,
    restart_timeout_secs: Option<Spanned<u64>>,
    timeout_secs: Option<Spanned<u64>>,
}

/// `environments = ["production", "staging"]` or `{ production = "<key or id>" }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawEnvironments {
    Names(Vec<String>),
    Ids(BTreeMap<String, String>),
}

pub(super) fn validate_flags(src: &Source, raw: RawFlags) -> Result<FlagsConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("flag service name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `prod`",
        ));
    }
    let kind = match raw.kind.get_ref().as_str() {
        "unleash" => FlagsKind::Unleash,
        "devcycle" => FlagsKind::Devcycle,
        "optimizely" => FlagsKind::Optimizely,
        "launchdarkly" => FlagsKind::Launchdarkly,
        "flagsmith" => FlagsKind::Flagsmith,
        "featbit" => FlagsKind::Featbit,
        "env-file" => FlagsKind::EnvFile,
        other => {
            return Err(src.err(
                Some(&raw.kind.span()),
                format!("flag service `{name}`: unknown type `{other}`"),
                "use type = \"unleash\", \"launchdarkly\", \"flagsmith\", \"devcycle\", \"optimizely\", \"featbit\" or \"env-file\"",
            ));
        }
    };
    let http_url = |u: &Spanned<String>, key: &str| {
        let url = u.get_ref().trim().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
            return Err(src.err(
                Some(&u.span()),
                format!("flag service `{name}`: {key} `{url}` is not an http(s) URL"),
                format!("write it like {key} = \"https://flags.example.com\""),
            ));
        }
        Ok(url)
    };
    let url = match (&raw.url, kind) {
        (Some(u), _) => http_url(u, "url")?,
        (None, FlagsKind::EnvFile) => String::new(),
        (None, FlagsKind::Launchdarkly) => "https://app.launchdarkly.com".to_string(),
        (None, FlagsKind::Flagsmith) => "https://api.flagsmith.com".to_string(),
        (None, FlagsKind::Devcycle) => "https://api.devcycle.com".to_string(),
        (None, FlagsKind::Optimizely) => "https://api.optimizely.com/flags/v1".to_string(),
        (None, _) => {
            return Err(src.err(
                Some(&raw.name.span()),
                format!("{} service `{name}` needs its url", raw.kind.get_ref()),
                "add url = \"https://flags.example.com\"",
            ));
        }
    };
    let secret = |s: &Spanned<String>| {
        SecretRef::parse(s.get_ref()).map_err(|m| {
            src.err(
                Some(&s.span()),
                format!("flag service `{name}`: {m}"),
                "e.g. token = \"keyring:unleash-prod\" (store it with `paaf secret set unleash-prod`)",
            )
        })
    };
    let token = raw.token.as_ref().map(secret).transpose()?;
    let client_secret = raw.client_secret.as_ref().map(secret).transpose()?;
    let auth_url = raw
        .auth_url
        .as_ref()
        .map(|u| http_url(u, "auth_url"))
        .transpose()?;
    // A project is a key (a string) or an id (a number): both are kept as text.
    let project = match &raw.project {
        None => None,
        Some(p) => Some(match p.get_ref() {
            toml::Value::String(s) => s.trim().to_string(),
            toml::Value::Integer(n) => n.to_string(),
            _ => {
                return Err(src.err(
                    Some(&p.span()),
                    format!("flag service `{name}`: project must be a key or an id"),
                    "e.g. project = \"default\" or project = 12",
                ));
            }
        }),
    };
    let environments: BTreeMap<String, String> = match raw.environments.map(|e| e.into_inner()) {
        None => BTreeMap::new(),
        Some(RawEnvironments::Names(names)) => names.into_iter().map(|n| (n.clone(), n)).collect(),
        Some(RawEnvironments::Ids(ids)) => ids,
    };
    let missing = |what: &str, example: &str| {
        src.err(
            Some(&raw.name.span()),
            format!("{} service `{name}` needs {what}", kind.as_str()),
            format!("add {example}"),
        )
    };
    match kind {
        FlagsKind::Unleash if token.is_none() => {
            return Err(missing(
                "an admin or personal access token",
                "token = \"keyring:NAME\"",
            ));
        }
        FlagsKind::Optimizely if token.is_none() => {
            return Err(missing(
                "a personal access token",
                "token = \"keyring:NAME\"",
            ));
        }
        FlagsKind::Optimizely if project.is_none() => {
            return Err(missing("its project id", "project = \"1234567890\""));
        }
        FlagsKind::Devcycle if raw.client_id.is_none() || client_secret.is_none() => {
            return Err(missing(
                "API client credentials",
                "client_id = \"...\" and client_secret = \"keyring:NAME\"",
            ));
        }
        FlagsKind::Devcycle if project.is_none() => {
            return Err(missing("its project key", "project = \"my-project\""));
        }
        FlagsKind::Launchdarkly | FlagsKind::Flagsmith | FlagsKind::Featbit if token.is_none() => {
            return Err(missing(
                "an API access token (not an SDK key)",
                "token = \"keyring:NAME\"",
            ));
        }
        FlagsKind::Flagsmith
            if project
                .as_deref()
                .and_then(|p| p.parse::<u64>().ok())
                .is_none() =>
        {
            return Err(missing("its numeric project id", "project = 12"));
        }
        FlagsKind::Featbit if environments.is_empty() => {
            return Err(missing(
                "the ids of its environments",
                "environments = { production = \"<environment id>\" }",
            ));
        }
        _ => {}
    }
    let env_file = match kind {
        FlagsKind::EnvFile => {
            let (Some(host), Some(path)) = (&raw.host, &raw.path) else {
                return Err(missing(
                    "the host and the file",
                    "host = \"web-1\" (a [[hosts]] name) and path = \"/etc/app/flags.env\"",
                ));
            };
            let settings = crate::flags::envfile::EnvFileSettings {
                host: host.get_ref().clone(),
                path: path.get_ref().clone(),
                unit: raw.unit.clone(),
                sudo: raw.sudo.unwrap_or(true),
                check_command: raw.check_command.clone(),
                restart_timeout: positive(
                    src,
                    raw.restart_timeout_secs.as_ref(),
                    "restart_timeout_secs",
                )?
                .map(Duration::from_secs)
                .unwrap_or(crate::flags::envfile::DEFAULT_RESTART_TIMEOUT),
            };
            settings.validate().map_err(|m| {
                src.err(
                    Some(&path.span()),
                    format!("env-file service `{name}`: {m}"),
                    "e.g. path = \"/etc/checkout/flags.env\" and unit = \"checkout.service\"",
                )
            })?;
            Some(settings)
        }
        _ => None,
    };
    let timeout = positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_API_TIMEOUT);
    Ok(FlagsConfig {
        name,
        kind,
        url,
        token,
        client_id: raw.client_id.map(|c| c.into_inner()),
        client_secret,
        auth_url,
        project,
        environments,
        env_file,
        timeout,
    })
}

impl Config {
    /// The flag service named `name`, or the only one.
    pub fn flags_backend(&self, name: Option<&str>) -> Result<&FlagsConfig> {
        let listing = || {
            if self.flags.is_empty() {
                "none is configured: add a [[flags]] entry (see the README's Config section)"
                    .to_string()
            } else {
                format!(
                    "configured: {}",
                    self.flags
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        match name {
            Some(n) => self
                .flags
                .iter()
                .find(|f| f.name == n)
                .ok_or_else(|| Error::NotFound {
                    what: "flag service",
                    name: n.to_string(),
                    hint: Some(listing()),
                }),
            None => match self.flags.as_slice() {
                [one] => Ok(one),
                _ => Err(Error::NotFound {
                    what: "flag service",
                    name: String::new(),
                    hint: Some(format!("name one with --backend; {}", listing())),
                }),
            },
        }
    }
}
