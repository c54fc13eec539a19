//! `[[flags]]`: feature-flag services. The keys every entry shares are read here; what each
//! type needs is checked next to its service (`XConfig::validate` in `crate::flags::x`), from a
//! [`FlagsEntry`] that says what is missing with the file, the line and an example.

use super::*;
use crate::flags::devcycle::DevCycleConfig;
use crate::flags::envfile::EnvFileSettings;
use crate::flags::featbit::FeatBitConfig;
use crate::flags::flagsmith::FlagsmithConfig;
use crate::flags::launchdarkly::LaunchDarklyConfig;
use crate::flags::optimizely::OptimizelyConfig;
use crate::flags::unleash::UnleashConfig;
use crate::flags::{devcycle, flagsmith, launchdarkly, optimizely};

/// One feature-flag service (`[[flags]]`), validated: its name, its type's own settings, and
/// the timeout of each API request.
#[derive(Debug, Clone)]
pub struct FlagsConfig {
    pub name: String,
    pub service: FlagService,
    pub timeout: Duration,
}

/// The settings of one flag service, by its type.
#[derive(Debug, Clone)]
pub enum FlagService {
    Unleash(UnleashConfig),
    DevCycle(DevCycleConfig),
    Optimizely(OptimizelyConfig),
    LaunchDarkly(LaunchDarklyConfig),
    Flagsmith(FlagsmithConfig),
    FeatBit(FeatBitConfig),
    /// Flags in a `KEY=VALUE` file on a host.
    EnvFile(EnvFileSettings),
}

/// A `[[flags]] type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    const ALL: [FlagsKind; 7] = [
        FlagsKind::Unleash,
        FlagsKind::Devcycle,
        FlagsKind::Optimizely,
        FlagsKind::Launchdarkly,
        FlagsKind::Flagsmith,
        FlagsKind::Featbit,
        FlagsKind::EnvFile,
    ];

    /// The name written in the config (`type = "…"`).
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

    /// The API URL when the config names none (`None`: the config must; env-file has none).
    fn default_url(self) -> Option<&'static str> {
        match self {
            FlagsKind::Launchdarkly => Some(launchdarkly::DEFAULT_URL),
            FlagsKind::Flagsmith => Some(flagsmith::DEFAULT_URL),
            FlagsKind::Devcycle => Some(devcycle::DEFAULT_URL),
            FlagsKind::Optimizely => Some(optimizely::DEFAULT_URL),
            FlagsKind::EnvFile => Some(""),
            FlagsKind::Unleash | FlagsKind::Featbit => None,
        }
    }
}

impl FlagsConfig {
    /// The type it was configured with.
    pub fn kind(&self) -> FlagsKind {
        match &self.service {
            FlagService::Unleash(_) => FlagsKind::Unleash,
            FlagService::DevCycle(_) => FlagsKind::Devcycle,
            FlagService::Optimizely(_) => FlagsKind::Optimizely,
            FlagService::LaunchDarkly(_) => FlagsKind::Launchdarkly,
            FlagService::Flagsmith(_) => FlagsKind::Flagsmith,
            FlagService::FeatBit(_) => FlagsKind::Featbit,
            FlagService::EnvFile(_) => FlagsKind::EnvFile,
        }
    }

    /// The project of flag commands that name none (Unleash: `default`); `None` when the
    /// service has no project or none is configured.
    pub fn project(&self) -> Option<String> {
        match &self.service {
            FlagService::Unleash(c) => Some(c.project.clone()),
            FlagService::DevCycle(c) => Some(c.project.clone()),
            FlagService::Optimizely(c) => Some(c.project.clone()),
            FlagService::LaunchDarkly(c) => c.project.clone(),
            FlagService::Flagsmith(c) => Some(c.project.to_string()),
            FlagService::FeatBit(c) => c.project.clone(),
            FlagService::EnvFile(_) => None,
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

/// One `[[flags]]` entry with the keys every type shares already checked (a URL is an http(s)
/// URL, a secret is a reference, a project is a key or an id), for a service's `validate` to
/// take what its type needs; a missing key is an error naming the entry's line.
pub(crate) struct FlagsEntry<'a> {
    src: &'a Source<'a>,
    raw: &'a RawFlags,
    /// The entry's `name`.
    pub name: String,
    kind: FlagsKind,
    /// `url`, or the type's default (empty for env-file).
    pub url: String,
    token: Option<SecretRef>,
    client_secret: Option<SecretRef>,
    /// `auth_url`, checked to be an http(s) URL.
    pub auth_url: Option<String>,
    /// A key (a string) or an id (a number), kept as text.
    project: Option<String>,
    /// Environment name → the vendor's key or id for it (a list of names maps each to itself).
    pub environments: BTreeMap<String, String>,
}

impl FlagsEntry<'_> {
    /// The error for a key this type needs: ``TYPE service `NAME` needs WHAT`` / `add EXAMPLE`.
    pub fn missing(&self, what: &str, example: &str) -> Error {
        self.src.err(
            Some(&self.raw.name.span()),
            format!(
                "{} service `{}` needs {what}",
                self.kind.as_str(),
                self.name
            ),
            format!("add {example}"),
        )
    }

    /// `token`, which this type needs (`what` says which kind of token).
    pub fn token(&self, what: &str) -> Result<SecretRef> {
        self.token
            .clone()
            .ok_or_else(|| self.missing(what, "token = \"keyring:NAME\""))
    }

    /// `client_id` and `client_secret`, which this type needs together.
    pub fn client_credentials(&self) -> Result<(String, SecretRef)> {
        match (&self.raw.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok((id.get_ref().clone(), secret.clone())),
            _ => Err(self.missing(
                "API client credentials",
                "client_id = \"...\" and client_secret = \"keyring:NAME\"",
            )),
        }
    }

    /// `project`, if given.
    pub fn project(&self) -> Option<String> {
        self.project.clone()
    }

    /// `project`, which this type needs (`what`, e.g. "its project key", and an example).
    pub fn required_project(&self, what: &str, example: &str) -> Result<String> {
        self.project
            .clone()
            .ok_or_else(|| self.missing(what, example))
    }

    /// `project` as a numeric id, which this type needs.
    pub fn numeric_project(&self) -> Result<u64> {
        self.project
            .as_deref()
            .and_then(|p| p.parse::<u64>().ok())
            .ok_or_else(|| self.missing("its numeric project id", "project = 12"))
    }

    /// `host` and `path` of an env-file entry, which it needs.
    pub fn host_and_path(&self) -> Result<(&Spanned<String>, &Spanned<String>)> {
        match (&self.raw.host, &self.raw.path) {
            (Some(host), Some(path)) => Ok((host, path)),
            _ => Err(self.missing(
                "the host and the file",
                "host = \"web-1\" (a [[hosts]] name) and path = \"/etc/app/flags.env\"",
            )),
        }
    }

    /// `unit`, `sudo` and `check_command` of an env-file entry, as written.
    pub fn unit_sudo_check(&self) -> (Option<String>, Option<bool>, Option<String>) {
        (
            self.raw.unit.clone(),
            self.raw.sudo,
            self.raw.check_command.clone(),
        )
    }

    /// `restart_timeout_secs`, checked to be positive, if given.
    pub fn restart_timeout(&self) -> Result<Option<Duration>> {
        Ok(positive(
            self.src,
            self.raw.restart_timeout_secs.as_ref(),
            "restart_timeout_secs",
        )?
        .map(Duration::from_secs))
    }

    /// An error at the line of `at`, naming the entry (`TYPE service `NAME`: MESSAGE`).
    pub fn err_at(&self, at: &Spanned<String>, message: &str, fix: &str) -> Error {
        self.src.err(
            Some(&at.span()),
            format!("{} service `{}`: {message}", self.kind.as_str(), self.name),
            fix,
        )
    }
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
    let Some(kind) = FlagsKind::ALL
        .into_iter()
        .find(|k| k.as_str() == raw.kind.get_ref())
    else {
        return Err(src.err(
            Some(&raw.kind.span()),
            format!("flag service `{name}`: unknown type `{}`", raw.kind.get_ref()),
            "use type = \"unleash\", \"launchdarkly\", \"flagsmith\", \"devcycle\", \"optimizely\", \"featbit\" or \"env-file\"",
        ));
    };
    let entry = read_entry(src, &raw, name, kind)?;
    let service = match kind {
        FlagsKind::Unleash => FlagService::Unleash(UnleashConfig::validate(&entry)?),
        FlagsKind::Devcycle => FlagService::DevCycle(DevCycleConfig::validate(&entry)?),
        FlagsKind::Optimizely => FlagService::Optimizely(OptimizelyConfig::validate(&entry)?),
        FlagsKind::Launchdarkly => FlagService::LaunchDarkly(LaunchDarklyConfig::validate(&entry)?),
        FlagsKind::Flagsmith => FlagService::Flagsmith(FlagsmithConfig::validate(&entry)?),
        FlagsKind::Featbit => FlagService::FeatBit(FeatBitConfig::validate(&entry)?),
        FlagsKind::EnvFile => FlagService::EnvFile(EnvFileSettings::from_entry(&entry)?),
    };
    let timeout = positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_API_TIMEOUT);
    Ok(FlagsConfig {
        name: entry.name,
        service,
        timeout,
    })
}

/// The keys every type shares, checked in the order a reader meets them.
fn read_entry<'a>(
    src: &'a Source<'a>,
    raw: &'a RawFlags,
    name: String,
    kind: FlagsKind,
) -> Result<FlagsEntry<'a>> {
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
    let url = match (&raw.url, kind.default_url()) {
        (Some(u), _) => http_url(u, "url")?,
        (None, Some(default)) => default.to_string(),
        (None, None) => {
            return Err(src.err(
                Some(&raw.name.span()),
                format!("{} service `{name}` needs its url", kind.as_str()),
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
    let environments = match raw.environments.as_ref().map(|e| e.get_ref()) {
        None => BTreeMap::new(),
        Some(RawEnvironments::Names(names)) => {
            names.iter().map(|n| (n.clone(), n.clone())).collect()
        }
        Some(RawEnvironments::Ids(ids)) => ids.clone(),
    };
    Ok(FlagsEntry {
        src,
        raw,
        name,
        kind,
        url,
        token,
        client_secret,
        auth_url,
        project,
        environments,
    })
}

impl Config {
    /// The flag service named `name`, or the only one.
    pub fn flags_backend(&self, name: Option<&str>) -> Result<&FlagsConfig> {
        let listing = || {
            if self.flags.is_empty() {
                "none is configured; add one to the config, e.g.\n  [[flags]]\n  name = \"prod\"\n  type = \"unleash\"\n  url = \"https://unleash.example.com\"\n  token = \"keyring:unleash-prod\""
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
