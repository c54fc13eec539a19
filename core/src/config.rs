//! The TOML config: loading with errors that name file, line and fix; editing that keeps comments.

use crate::error::{Error, Result};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Where the config lives unless `--config` / `PAAF_CONFIG` say otherwise.
pub fn default_config_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("paaf")
        .join("config.toml")
}

/// The RebootX convention for where a host keeps its runbooks.
pub const DEFAULT_RUNBOOK_DIR: &str = "/usr/local/sbin/rebootx/runbooks";
pub const DEFAULT_BOOT_ID_COMMAND: &str = "cat /proc/sys/kernel/random/boot_id";
pub const DEFAULT_TEST_COMMAND: &str = "whoami";
pub const DEFAULT_REBOOT_COMMAND: &str = "shutdown -r now";

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// Who acts, as written in the journal; the OS user when unset.
    pub operator: Option<String>,
    pub known_hosts: PathBuf,
    pub journal: PathBuf,
    pub hosts: Vec<HostConfig>,
    /// Grafana instances, Prometheus servers and Alertmanagers (`[[monitoring]]`).
    pub monitoring: Vec<MonitoringConfig>,
    /// Feature-flag services (`[[flags]]`).
    pub flags: Vec<FlagsConfig>,
    /// Cloud accounts whose servers paaf lists and powers (`[[clouds]]`).
    pub clouds: Vec<CloudConfig>,
}

/// One cloud account. Which keys it needs depends on its type; `validate_cloud` checks them
/// and says what is missing. Secrets are references (`keyring:`/`env:`), resolved only when
/// the account is used. Debug hides a RebootX endpoint's path (its secret prefix).
#[derive(Clone, Serialize)]
pub struct CloudConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CloudKind,
    /// Where its servers live: AWS regions (required), GCP or Scaleway zones (required),
    /// Kubernetes namespaces (default: `default`); for the others an optional filter on the
    /// region/location of the servers listed.
    pub regions: Vec<String>,
    /// Another API base URL than the provider's own (a self-hosted or test server). Proxmox
    /// and RebootX on-prem servers have no default: this is their URL (RebootX's with its
    /// secret path prefix).
    pub endpoint: Option<String>,
    /// The API token: DigitalOcean, Hetzner, Linode, Vultr, the Scaleway secret key, the
    /// Proxmox API token's secret, the RebootX on-prem API key, a Kubernetes bearer token
    /// (instead of the kubeconfig's user).
    #[serde(serialize_with = "ser_ref_opt")]
    pub token: Option<SecretRef>,
    /// AWS: the access key id (not secret) and the secret access key, with an optional
    /// session token.
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub secret_access_key: Option<SecretRef>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub session_token: Option<SecretRef>,
    /// GCP: the project id; OVHcloud: the Public Cloud project id (without it, the dedicated
    /// servers); Scaleway: an optional project id filter.
    pub project: Option<String>,
    /// GCP: the service-account JSON key.
    #[serde(serialize_with = "ser_ref_opt")]
    pub credentials: Option<SecretRef>,
    /// Azure: the app registration's tenant, client id and secret, and the subscription.
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub client_secret: Option<SecretRef>,
    pub subscription_id: Option<String>,
    /// OVHcloud: the application key (not secret), application secret and consumer key.
    pub application_key: Option<String>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub application_secret: Option<SecretRef>,
    #[serde(serialize_with = "ser_ref_opt")]
    pub consumer_key: Option<SecretRef>,
    /// Proxmox VE: the API token's id, `user@realm!tokenid`.
    pub token_id: Option<String>,
    /// Kubernetes: the kubeconfig file (default: `$KUBECONFIG`, then `~/.kube/config`) and
    /// the context in it (default: its current context).
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    /// A PEM file of the certificate authorities to trust for this account's API instead of
    /// the system's (a Proxmox cluster's own CA, whose default certificate is self-signed).
    pub ca_file: Option<PathBuf>,
    #[serde(with = "secs")]
    pub timeout: Duration,
}

impl fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A RebootX on-prem endpoint carries its secret path prefix: only scheme and host show.
        let endpoint = self.endpoint.as_deref().map(|e| match self.kind {
            CloudKind::Rebootx => match reqwest::Url::parse(e) {
                Ok(u) => format!("{}://{}/[redacted]", u.scheme(), u.authority()),
                Err(_) => "[redacted]".to_string(),
            },
            _ => e.to_string(),
        });
        f.debug_struct("CloudConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("regions", &self.regions)
            .field("endpoint", &endpoint)
            .field("token", &self.token)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("project", &self.project)
            .field("credentials", &self.credentials)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("subscription_id", &self.subscription_id)
            .field("application_key", &self.application_key)
            .field("application_secret", &self.application_secret)
            .field("consumer_key", &self.consumer_key)
            .field("token_id", &self.token_id)
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl CloudConfig {
    /// One of this account's secrets (`reference`, the config key `key`), read from `secrets`;
    /// a key the entry lacks is an error naming it. (The config check already requires the
    /// keys of each type: this is for accounts built from a `CloudConfig` made otherwise.)
    pub fn secret(
        &self,
        reference: Option<&SecretRef>,
        key: &str,
        secrets: &dyn SecretStore,
    ) -> Result<SecretString> {
        reference
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{} account `{}` has no {key}: add {key} = \"keyring:NAME\"",
                    self.kind, self.name
                ))
            })?
            .resolve(secrets)
    }
}

/// The cloud providers paaf speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudKind {
    Aws,
    Gcp,
    Azure,
    Digitalocean,
    Hetzner,
    Scaleway,
    Ovh,
    Linode,
    Vultr,
    Proxmox,
    Kubernetes,
    Rebootx,
}

impl CloudKind {
    pub const ALL: [CloudKind; 12] = [
        CloudKind::Aws,
        CloudKind::Gcp,
        CloudKind::Azure,
        CloudKind::Digitalocean,
        CloudKind::Hetzner,
        CloudKind::Scaleway,
        CloudKind::Ovh,
        CloudKind::Linode,
        CloudKind::Vultr,
        CloudKind::Proxmox,
        CloudKind::Kubernetes,
        CloudKind::Rebootx,
    ];

    /// The `type` in the config, and the provider column of the server list.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudKind::Aws => "aws",
            CloudKind::Gcp => "gcp",
            CloudKind::Azure => "azure",
            CloudKind::Digitalocean => "digitalocean",
            CloudKind::Hetzner => "hetzner",
            CloudKind::Scaleway => "scaleway",
            CloudKind::Ovh => "ovh",
            CloudKind::Linode => "linode",
            CloudKind::Vultr => "vultr",
            CloudKind::Proxmox => "proxmox",
            CloudKind::Kubernetes => "kubernetes",
            CloudKind::Rebootx => "rebootx",
        }
    }
}

impl std::fmt::Display for CloudKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);

/// One SSH host, with the defaults already applied.
#[derive(Debug, Clone, Serialize)]
pub struct HostConfig {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub boot_id_command: String,
    pub test_command: String,
    pub runbook_dir: String,
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    #[serde(with = "secs")]
    pub command_timeout: Duration,
    pub max_output_bytes: usize,
    pub reboot: RebootSettings,
    /// The cloud server this host is, as `(account, id or name)`: a reboot of that server
    /// through its cloud's API is verified over SSH (a new boot id, the test command).
    pub server: Option<(String, String)>,
}

/// How paaf logs in to a host. Secrets are references, never values.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Auth {
    Key {
        path: PathBuf,
        #[serde(serialize_with = "ser_ref_opt")]
        passphrase: Option<SecretRef>,
    },
    Password {
        #[serde(serialize_with = "ser_ref")]
        password: SecretRef,
    },
    Agent,
}

impl Auth {
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Key { .. } => "key",
            Auth::Password { .. } => "password",
            Auth::Agent => "agent",
        }
    }
}

/// The budgets and commands of a verified reboot (Ansible's reboot module semantics).
#[derive(Debug, Clone, Serialize)]
pub struct RebootSettings {
    pub command: String,
    /// Run the reboot through `sudo -n` (skipped when logging in as root).
    pub sudo: bool,
    #[serde(with = "secs")]
    pub shutdown_timeout: Duration,
    #[serde(with = "secs")]
    pub boot_timeout: Duration,
    #[serde(with = "secs")]
    pub test_timeout: Duration,
    #[serde(with = "secs")]
    pub backoff_max: Duration,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

fn ser_ref<S: serde::Serializer>(r: &SecretRef, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

fn ser_ref_opt<S: serde::Serializer>(r: &Option<SecretRef>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.collect_str(r),
        None => s.serialize_none(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    operator: Option<Spanned<String>>,
    known_hosts: Option<String>,
    journal: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    hosts: Vec<RawHost>,
    #[serde(default)]
    monitoring: Vec<RawMonitoring>,
    #[serde(default)]
    flags: Vec<RawFlags>,
    #[serde(default)]
    clouds: Vec<RawCloud>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCloud {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    regions: Option<Spanned<Vec<String>>>,
    endpoint: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    access_key_id: Option<Spanned<String>>,
    secret_access_key: Option<Spanned<String>>,
    session_token: Option<Spanned<String>>,
    project: Option<Spanned<String>>,
    credentials: Option<Spanned<String>>,
    tenant_id: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    subscription_id: Option<Spanned<String>>,
    application_key: Option<Spanned<String>>,
    application_secret: Option<Spanned<String>>,
    consumer_key: Option<Spanned<String>>,
    token_id: Option<Spanned<String>>,
    kubeconfig: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlags {
    name: Spanned<String>,
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
enum RawEnvironments {
    Names(Vec<String>),
    Ids(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitoring {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    url: Spanned<String>,
    token: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    org_id: Option<u64>,
    timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    connect_timeout_secs: Option<Spanned<u64>>,
    command_timeout_secs: Option<Spanned<u64>>,
    max_output_bytes: Option<Spanned<u64>>,
    runbook_dir: Option<Spanned<String>>,
    boot_id_command: Option<Spanned<String>>,
    test_command: Option<Spanned<String>>,
    reboot: Option<RawReboot>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawReboot {
    command: Option<Spanned<String>>,
    sudo: Option<bool>,
    shutdown_timeout_secs: Option<Spanned<u64>>,
    timeout_secs: Option<Spanned<u64>>,
    test_timeout_secs: Option<Spanned<u64>>,
    backoff_max_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Spanned<String>,
    address: Spanned<String>,
    port: Option<Spanned<i64>>,
    user: Spanned<String>,
    auth: Spanned<RawAuth>,
    // The same keys as `[defaults]`, overriding them for this host.
    connect_timeout_secs: Option<Spanned<u64>>,
    command_timeout_secs: Option<Spanned<u64>>,
    max_output_bytes: Option<Spanned<u64>>,
    runbook_dir: Option<Spanned<String>>,
    boot_id_command: Option<Spanned<String>>,
    test_command: Option<Spanned<String>>,
    reboot: Option<RawReboot>,
    /// `ACCOUNT/SERVER`: the cloud server this host is (its id or name in a [[clouds]]
    /// account), so that a cloud reboot of it is verified over SSH.
    server: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum RawAuth {
    Key {
        path: String,
        passphrase: Option<String>,
    },
    Password {
        password: String,
    },
    Agent,
}

/// Turns byte offsets into 1-based line numbers and builds errors that name file and line.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// A path the config names (`~/` expanded), relative to the config's folder.
    fn path_of(&self, p: &str) -> PathBuf {
        let p = expand_home(p);
        match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn err(
        &self,
        span: Option<&Range<usize>>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Error {
        Error::Config {
            file: self.path.to_path_buf(),
            line: span.map(|s| self.line(s)),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(p),
    }
}

impl Config {
    /// Loads the config at `path`; a missing file is an empty config (hosts get added later).
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Error::Config {
                    file: path.to_path_buf(),
                    line: None,
                    message: format!("cannot read it: {e}"),
                    fix: "check the path and its permissions, or pass another with --config / PAAF_CONFIG".into(),
                });
            }
        };
        Config::parse(path, &text)
    }

    /// Parses and validates config text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let src = Source { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            src.err(
                e.span().as_ref(),
                e.message().to_string(),
                "correct the TOML at that line; see the README's `Config` section for every key",
            )
        })?;
        let operator = match raw.operator {
            Some(op) if op.get_ref().trim().is_empty() => {
                return Err(src.err(
                    Some(&op.span()),
                    "operator is empty",
                    "set `operator = \"your name\"` or remove the line to use the OS user",
                ));
            }
            Some(op) => Some(op.into_inner()),
            None => None,
        };
        let mut hosts: Vec<HostConfig> = Vec::new();
        for raw_host in raw.hosts {
            let host = validate_host(&src, &raw.defaults, raw_host)?;
            hosts.push(host);
        }
        for (i, h) in hosts.iter().enumerate() {
            if hosts[..i].iter().any(|o| o.name == h.name) {
                let span = find_name_span(text, &h.name, 2);
                return Err(src.err(
                    span.as_ref(),
                    format!("host name `{}` is used twice", h.name),
                    "give every [[hosts]] entry its own name",
                ));
            }
        }
        let mut monitoring: Vec<MonitoringConfig> = Vec::new();
        for raw_source in raw.monitoring {
            let span = raw_source.name.span();
            let source = validate_monitoring(&src, raw_source)?;
            if monitoring.iter().any(|m| m.name == source.name) {
                return Err(src.err(
                    Some(&span),
                    format!("monitoring source name `{}` is used twice", source.name),
                    "give every [[monitoring]] entry its own name",
                ));
            }
            monitoring.push(source);
        }
        let mut flags: Vec<FlagsConfig> = Vec::new();
        for raw_flags in raw.flags {
            let span = raw_flags.name.span();
            let backend = validate_flags(&src, raw_flags)?;
            if flags.iter().any(|f| f.name == backend.name) {
                return Err(src.err(
                    Some(&span),
                    format!("flag service name `{}` is used twice", backend.name),
                    "give every [[flags]] entry its own name",
                ));
            }
            flags.push(backend);
        }
        let mut clouds: Vec<CloudConfig> = Vec::new();
        for raw_cloud in raw.clouds {
            let span = raw_cloud.name.span();
            let cloud = validate_cloud(&src, raw_cloud)?;
            if clouds.iter().any(|c| c.name == cloud.name) {
                return Err(src.err(
                    Some(&span),
                    format!("cloud account name `{}` is used twice", cloud.name),
                    "give every [[clouds]] entry its own name",
                ));
            }
            clouds.push(cloud);
        }
        Ok(Config {
            path: path.to_path_buf(),
            operator,
            monitoring,
            flags,
            clouds,
            known_hosts: src.path_of(raw.known_hosts.as_deref().unwrap_or("known_hosts")),
            journal: src.path_of(raw.journal.as_deref().unwrap_or("journal.sqlite")),
            hosts,
        })
    }

    /// The host named `name`, or a not-found error listing the known names.
    pub fn host(&self, name: &str) -> Result<&HostConfig> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| Error::NotFound {
                what: "host",
                name: name.to_string(),
                hint: Some(if self.hosts.is_empty() {
                    "no hosts are configured yet; add one with `paaf host add`".to_string()
                } else {
                    format!(
                        "configured hosts: {}",
                        self.hosts
                            .iter()
                            .map(|h| h.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            })
    }
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
                format!(
                    "none is configured: add a [[monitoring]] entry with type = \"{}\" (see the README's Config section)",
                    kind.map(MonitoringKind::as_str).unwrap_or("grafana")
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
                    hint: Some(listing()),
                }),
            None => match candidates.as_slice() {
                [one] => Ok(one),
                _ => Err(Error::NotFound {
                    what,
                    name: String::new(),
                    hint: Some(format!("name one with --source; {}", listing())),
                }),
            },
        }
    }
}

fn validate_monitoring(src: &Source, raw: RawMonitoring) -> Result<MonitoringConfig> {
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

fn validate_flags(src: &Source, raw: RawFlags) -> Result<FlagsConfig> {
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

fn validate_cloud(src: &Source, raw: RawCloud) -> Result<CloudConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("cloud account name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `prod`",
        ));
    }
    let Some(kind) = CloudKind::ALL
        .into_iter()
        .find(|k| k.as_str() == raw.kind.get_ref())
    else {
        return Err(src.err(
            Some(&raw.kind.span()),
            format!(
                "cloud account `{name}`: unknown type `{}`",
                raw.kind.get_ref()
            ),
            format!(
                "use one of: {}",
                CloudKind::ALL.map(|k| format!("\"{k}\"")).join(", ")
            ),
        ));
    };
    let missing = |what: &str, example: &str| {
        src.err(
            Some(&raw.name.span()),
            format!("{kind} account `{name}` needs {what}"),
            format!("add {example}"),
        )
    };
    let secret = |s: &Spanned<String>| {
        SecretRef::parse(s.get_ref()).map_err(|m| {
            src.err(
                Some(&s.span()),
                format!("cloud account `{name}`: {m}"),
                format!(
                    "e.g. \"keyring:{kind}-{name}\" (store it with `paaf secret set {kind}-{name}`)"
                ),
            )
        })
    };
    let text = |s: &Option<Spanned<String>>| {
        s.as_ref()
            .map(|s| s.get_ref().trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let endpoint = match &raw.endpoint {
        Some(e) if !(e.get_ref().starts_with("http://") || e.get_ref().starts_with("https://")) => {
            return Err(src.err(
                Some(&e.span()),
                format!(
                    "cloud account `{name}`: endpoint `{}` is not an http(s) URL",
                    e.get_ref()
                ),
                "write it like endpoint = \"https://pve.example.com:8006\"",
            ));
        }
        e => e
            .as_ref()
            .map(|e| e.get_ref().trim().trim_end_matches('/').to_string()),
    };
    let regions = raw
        .regions
        .as_ref()
        .map(|r| r.get_ref().clone())
        .unwrap_or_default();
    let config = CloudConfig {
        kind,
        regions,
        endpoint,
        token: raw.token.as_ref().map(secret).transpose()?,
        access_key_id: text(&raw.access_key_id),
        secret_access_key: raw.secret_access_key.as_ref().map(secret).transpose()?,
        session_token: raw.session_token.as_ref().map(secret).transpose()?,
        project: text(&raw.project),
        credentials: raw.credentials.as_ref().map(secret).transpose()?,
        tenant_id: text(&raw.tenant_id),
        client_id: text(&raw.client_id),
        client_secret: raw.client_secret.as_ref().map(secret).transpose()?,
        subscription_id: text(&raw.subscription_id),
        application_key: text(&raw.application_key),
        application_secret: raw.application_secret.as_ref().map(secret).transpose()?,
        consumer_key: raw.consumer_key.as_ref().map(secret).transpose()?,
        token_id: text(&raw.token_id),
        kubeconfig: text(&raw.kubeconfig),
        context: text(&raw.context),
        ca_file: text(&raw.ca_file).map(|f| src.path_of(&f)),
        timeout: positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_API_TIMEOUT),
        name: name.clone(),
    };
    let c = &config;
    let token = "token = \"keyring:NAME\"";
    let problem = match kind {
        CloudKind::Aws if c.regions.is_empty() => {
            Some(("its regions", "regions = [\"eu-west-1\", \"us-east-1\"]"))
        }
        CloudKind::Aws if c.access_key_id.is_none() || c.secret_access_key.is_none() => Some((
            "an access key",
            "access_key_id = \"AKIA...\" and secret_access_key = \"keyring:NAME\"",
        )),
        CloudKind::Gcp if c.project.is_none() => {
            Some(("its project id", "project = \"my-project\""))
        }
        CloudKind::Gcp if c.regions.is_empty() => {
            Some(("the zones to list", "regions = [\"europe-west1-b\"]"))
        }
        CloudKind::Gcp if c.credentials.is_none() => Some((
            "a service-account JSON key",
            "credentials = \"keyring:NAME\" (`paaf secret set NAME < key.json`)",
        )),
        CloudKind::Azure
            if c.tenant_id.is_none()
                || c.client_id.is_none()
                || c.client_secret.is_none()
                || c.subscription_id.is_none() =>
        {
            Some((
                "an app registration and a subscription",
                "tenant_id, client_id, client_secret = \"keyring:NAME\" and subscription_id",
            ))
        }
        CloudKind::Scaleway if c.regions.is_empty() => {
            Some(("the zones to list", "regions = [\"fr-par-1\"]"))
        }
        CloudKind::Ovh
            if c.application_key.is_none()
                || c.application_secret.is_none()
                || c.consumer_key.is_none() =>
        {
            Some((
                "API credentials",
                "application_key, application_secret = \"keyring:NAME\" and consumer_key = \"keyring:NAME2\"",
            ))
        }
        CloudKind::Proxmox if c.endpoint.is_none() => {
            Some(("its URL", "endpoint = \"https://pve.example.com:8006\""))
        }
        CloudKind::Proxmox if c.token_id.is_none() || c.token.is_none() => Some((
            "an API token",
            "token_id = \"paaf@pve!ops\" and token = \"keyring:NAME\"",
        )),
        CloudKind::Rebootx if c.endpoint.is_none() => Some((
            "its URL with the secret path prefix",
            "endpoint = \"https://ops.example.com/PREFIX\"",
        )),
        CloudKind::Digitalocean
        | CloudKind::Hetzner
        | CloudKind::Scaleway
        | CloudKind::Linode
        | CloudKind::Vultr
        | CloudKind::Rebootx
            if c.token.is_none() =>
        {
            Some(("its API token", token))
        }
        _ => None,
    };
    if let Some((what, example)) = problem {
        return Err(missing(what, example));
    }
    Ok(config)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The span of the `nth` occurrence of `name = "<name>"`, to point at a duplicate.
fn find_name_span(text: &str, name: &str, nth: usize) -> Option<Range<usize>> {
    let needle = format!("\"{name}\"");
    text.match_indices(&needle)
        .nth(nth - 1)
        .map(|(i, _)| i..i + needle.len())
}

fn positive(src: &Source, v: Option<&Spanned<u64>>, key: &str) -> Result<Option<u64>> {
    match v {
        Some(s) if *s.get_ref() == 0 => Err(src.err(
            Some(&s.span()),
            format!("{key} must be greater than 0"),
            format!("set {key} to a positive number or remove it for the default"),
        )),
        Some(s) => Ok(Some(*s.get_ref())),
        None => Ok(None),
    }
}

fn validate_host(src: &Source, defaults: &RawDefaults, raw: RawHost) -> Result<HostConfig> {
    let name_span = raw.name.span();
    let name = raw.name.into_inner();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&name_span),
            format!("host name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `web-1`",
        ));
    }
    let address = raw.address.get_ref().trim().to_string();
    if address.is_empty() || address.contains(char::is_whitespace) {
        return Err(src.err(
            Some(&raw.address.span()),
            format!("host `{name}`: address is empty or has spaces"),
            "set `address` to a hostname or IP, e.g. `10.0.0.5`",
        ));
    }
    let port = match &raw.port {
        None => 22,
        Some(p) => u16::try_from(*p.get_ref())
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                src.err(
                    Some(&p.span()),
                    format!("host `{name}`: port {} is out of range", p.get_ref()),
                    "use a port between 1 and 65535 (22 is SSH's default)",
                )
            })?,
    };
    let user = raw.user.get_ref().trim().to_string();
    if user.is_empty() {
        return Err(src.err(
            Some(&raw.user.span()),
            format!("host `{name}`: user is empty"),
            "set `user` to the login name on that host",
        ));
    }
    let auth_span = raw.auth.span();
    let secret = |s: String| {
        SecretRef::parse(&s).map_err(|m| {
            src.err(
                Some(&auth_span),
                format!("host `{name}`: {m}"),
                "e.g. auth = { type = \"password\", password = \"keyring:web-1\" }",
            )
        })
    };
    let auth = match raw.auth.into_inner() {
        RawAuth::Key { path, passphrase } => {
            if path.trim().is_empty() {
                return Err(src.err(
                    Some(&auth_span),
                    format!("host `{name}`: key path is empty"),
                    "set auth.path to a private key file, e.g. \"~/.ssh/id_ed25519\"",
                ));
            }
            Auth::Key {
                path: expand_home(&path),
                passphrase: passphrase.map(secret).transpose()?,
            }
        }
        RawAuth::Password { password } => Auth::Password {
            password: secret(password)?,
        },
        RawAuth::Agent => Auth::Agent,
    };
    let dr = defaults.reboot.clone().unwrap_or_default();
    let hr = raw.reboot.unwrap_or_default();
    let secs =
        |host: &Option<Spanned<u64>>, def: &Option<Spanned<u64>>, key: &str, fallback: u64| {
            positive(src, host.as_ref().or(def.as_ref()), key).map(|v| v.unwrap_or(fallback))
        };
    let text = |host: &Option<Spanned<String>>,
                def: &Option<Spanned<String>>,
                key: &str,
                fallback: &str| {
        match host.as_ref().or(def.as_ref()) {
            None => Ok(fallback.to_string()),
            Some(s) if s.get_ref().trim().is_empty() => Err(src.err(
                Some(&s.span()),
                format!("host `{name}`: {key} is empty"),
                format!("give a value or remove {key} for the default ({fallback})"),
            )),
            Some(s) => Ok(s.get_ref().clone()),
        }
    };
    let connect = secs(
        &raw.connect_timeout_secs,
        &defaults.connect_timeout_secs,
        "connect_timeout_secs",
        10,
    )?;
    let command = secs(
        &raw.command_timeout_secs,
        &defaults.command_timeout_secs,
        "command_timeout_secs",
        60,
    )?;
    let max_output = secs(
        &raw.max_output_bytes,
        &defaults.max_output_bytes,
        "max_output_bytes",
        1024 * 1024,
    )?;
    let runbook_dir = text(
        &raw.runbook_dir,
        &defaults.runbook_dir,
        "runbook_dir",
        DEFAULT_RUNBOOK_DIR,
    )?;
    if !runbook_dir.starts_with('/') {
        let span = raw
            .runbook_dir
            .as_ref()
            .or(defaults.runbook_dir.as_ref())
            .map(|s| s.span());
        return Err(src.err(
            span.as_ref(),
            format!("host `{name}`: runbook_dir `{runbook_dir}` is not absolute"),
            "use an absolute directory, e.g. /usr/local/sbin/rebootx/runbooks",
        ));
    }
    let boot_id_command = text(
        &raw.boot_id_command,
        &defaults.boot_id_command,
        "boot_id_command",
        DEFAULT_BOOT_ID_COMMAND,
    )?;
    let test_command = text(
        &raw.test_command,
        &defaults.test_command,
        "test_command",
        DEFAULT_TEST_COMMAND,
    )?;
    let reboot = RebootSettings {
        command: text(
            &hr.command,
            &dr.command,
            "reboot.command",
            DEFAULT_REBOOT_COMMAND,
        )?,
        sudo: hr.sudo.or(dr.sudo).unwrap_or(true),
        shutdown_timeout: Duration::from_secs(secs(
            &hr.shutdown_timeout_secs,
            &dr.shutdown_timeout_secs,
            "reboot.shutdown_timeout_secs",
            120,
        )?),
        boot_timeout: Duration::from_secs(secs(
            &hr.timeout_secs,
            &dr.timeout_secs,
            "reboot.timeout_secs",
            600,
        )?),
        test_timeout: Duration::from_secs(secs(
            &hr.test_timeout_secs,
            &dr.test_timeout_secs,
            "reboot.test_timeout_secs",
            120,
        )?),
        backoff_max: Duration::from_secs(secs(
            &hr.backoff_max_secs,
            &dr.backoff_max_secs,
            "reboot.backoff_max_secs",
            12,
        )?),
    };
    let server = match &raw.server {
        None => None,
        Some(link) => match link.get_ref().trim().split_once('/') {
            Some((account, server)) if valid_name(account) && !server.trim().is_empty() => {
                Some((account.to_string(), server.trim().to_string()))
            }
            _ => {
                return Err(src.err(
                    Some(&link.span()),
                    format!(
                        "host `{name}`: server `{}` is not ACCOUNT/SERVER",
                        link.get_ref()
                    ),
                    "name the [[clouds]] account and the server's id or name, e.g. server = \"prod/i-0123456789abcdef0\"",
                ));
            }
        },
    };
    Ok(HostConfig {
        name,
        address,
        port,
        user,
        auth,
        boot_id_command,
        test_command,
        runbook_dir,
        connect_timeout: Duration::from_secs(connect),
        command_timeout: Duration::from_secs(command),
        max_output_bytes: usize::try_from(max_output).unwrap_or(usize::MAX),
        reboot,
        server,
    })
}

/// A host to add, as a front-end collects it (a form, CLI flags, a mobile screen).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostInput {
    pub name: String,
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub user: String,
    pub auth: AuthInput,
}

fn default_port() -> u16 {
    22
}

/// How the new host logs in.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AuthInput {
    Key {
        path: PathBuf,
        #[serde(default)]
        passphrase: Option<SecretInput>,
    },
    Password {
        password: SecretInput,
    },
    Agent,
}

/// A secret as a front-end has it: the value (paaf stores it in the keychain) or a reference
/// (`keyring:NAME`, `env:VAR`) to one stored already. Debug never shows a value.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SecretInput {
    Value(#[cfg_attr(feature = "ts", ts(type = "string"))] secrecy::SecretString),
    Reference(String),
}

/// A host as written to the config, secrets already turned into references.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: NewAuth,
}

/// The auth of a new host, as written to the config.
#[derive(Debug, Clone)]
pub enum NewAuth {
    Key {
        path: PathBuf,
        passphrase: Option<SecretRef>,
    },
    Password {
        password: SecretRef,
    },
    Agent,
}

/// Appends a `[[hosts]]` entry, keeping the file's comments and layout; refuses a bad result.
pub fn add_host(path: &Path, host: &NewHost) -> Result<Config> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let before = Config::parse(path, &text)?;
    if before.hosts.iter().any(|h| h.name == host.name) {
        return Err(Error::invalid(format!(
            "a host named `{}` already exists in {}; pick another name or remove it first (`paaf host remove {}`)",
            host.name,
            path.display(),
            host.name
        )));
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| Error::Config {
                file: path.to_path_buf(),
                line: None,
                message: e.to_string(),
                fix: "correct the file by hand first".into(),
            })?;
    let mut t = toml_edit::Table::new();
    t["name"] = toml_edit::value(&host.name);
    t["address"] = toml_edit::value(&host.address);
    t["port"] = toml_edit::value(i64::from(host.port));
    t["user"] = toml_edit::value(&host.user);
    let mut auth = toml_edit::InlineTable::new();
    match &host.auth {
        NewAuth::Key { path, passphrase } => {
            auth.insert("type", "key".into());
            auth.insert("path", path.display().to_string().into());
            if let Some(p) = passphrase {
                auth.insert("passphrase", p.to_string().into());
            }
        }
        NewAuth::Password { password } => {
            auth.insert("type", "password".into());
            auth.insert("password", password.to_string().into());
        }
        NewAuth::Agent => {
            auth.insert("type", "agent".into());
        }
    }
    t["auth"] = toml_edit::value(auth);
    let hosts = doc
        .entry("hosts")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .ok_or_else(|| Error::Config {
            file: path.to_path_buf(),
            line: None,
            message: "`hosts` is not an array of [[hosts]] tables".into(),
            fix: "write each host as a [[hosts]] section".into(),
        })?;
    hosts.push(t);
    write_validated(path, &doc.to_string())
}

/// Removes the `[[hosts]]` entry named `name`.
pub fn remove_host(path: &Path, name: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    Config::parse(path, &text)?.host(name)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::other(e.to_string()))?;
    if let Some(hosts) = doc
        .get_mut("hosts")
        .and_then(|h| h.as_array_of_tables_mut())
    {
        hosts.retain(|t| t.get("name").and_then(|n| n.as_str()) != Some(name));
    }
    write_validated(path, &doc.to_string())
}

/// Validates the new text, then replaces the file atomically (write a sibling, rename).
pub fn write_validated(path: &Path, text: &str) -> Result<Config> {
    let config = Config::parse(path, text)?;
    let io = |e: std::io::Error| Error::Config {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot write it: {e}"),
        fix: "check the directory's permissions".into(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/etc/paaf/config.toml"), text)
    }

    fn config_err(text: &str) -> (Option<usize>, String) {
        match parse(text).unwrap_err() {
            Error::Config {
                line, message, fix, ..
            } => (line, format!("{message} / {fix}")),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
operator = "alice"

[defaults]
connect_timeout_secs = 5

[[hosts]]
name = "web-1"
address = "10.0.0.5"
user = "deploy"
auth = { type = "key", path = "/keys/id_ed25519", passphrase = "keyring:deploy-key" }

[[hosts]]
name = "db-1"
address = "db.internal"
port = 2222
user = "root"
auth = { type = "password", password = "keyring:db-1" }
runbook_dir = "/opt/runbooks"
[hosts.reboot]
timeout_secs = 900
"#;

    #[test]
    fn good_config_applies_defaults_and_overrides() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.operator.as_deref(), Some("alice"));
        assert_eq!(c.journal, PathBuf::from("/etc/paaf/journal.sqlite"));
        let web = c.host("web-1").unwrap();
        assert_eq!(web.port, 22);
        assert_eq!(web.connect_timeout, Duration::from_secs(5));
        assert_eq!(web.runbook_dir, DEFAULT_RUNBOOK_DIR);
        assert_eq!(web.reboot.boot_timeout, Duration::from_secs(600));
        let db = c.host("db-1").unwrap();
        assert_eq!(db.port, 2222);
        assert_eq!(db.runbook_dir, "/opt/runbooks");
        assert_eq!(db.reboot.boot_timeout, Duration::from_secs(900));
        assert!(
            matches!(&db.auth, Auth::Password { password } if password.to_string() == "keyring:db-1")
        );
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let (line, msg) = config_err(
            "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nport = 70000\nauth = { type = \"agent\" }\n",
        );
        assert_eq!(line, Some(5));
        assert!(msg.contains("between 1 and 65535"), "{msg}");

        let (line, msg) = config_err("[[hosts]]\nname = \"a\"\nadress = \"x\"\n");
        assert_eq!(line, Some(3));
        assert!(msg.contains("unknown field `adress`"), "{msg}");

        let (line, msg) = config_err(
            "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"password\", password = \"hunter2\" }\n",
        );
        assert_eq!(line, Some(5));
        assert!(msg.contains("keyring:NAME"), "{msg}");
        assert!(
            !msg.contains("hunter2"),
            "a plain password must not be echoed: {msg}"
        );

        let dup = "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"agent\" }\n\n[[hosts]]\nname = \"a\"\naddress = \"y\"\nuser = \"u\"\nauth = { type = \"agent\" }\n";
        let (line, msg) = config_err(dup);
        assert_eq!(line, Some(8));
        assert!(msg.contains("used twice"), "{msg}");

        let (line, _) = config_err("operator = \n");
        assert_eq!(line, Some(1));

        let (_, msg) = config_err(
            "[[hosts]]\nname = \"a b\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"agent\" }\n",
        );
        assert!(msg.contains("letters, digits"), "{msg}");
    }

    #[test]
    fn debug_shows_no_rebootx_secret_prefix_and_no_secret() {
        let config = Config::parse(
            Path::new("/tmp/paaf.toml"),
            "[[clouds]]\nname = \"home\"\ntype = \"rebootx\"\nendpoint = \"https://ops.example.com:8443/cd5331ba/v1\"\ntoken = \"env:REBOOTX_KEY\"\n\n[[clouds]]\nname = \"pve\"\ntype = \"proxmox\"\nendpoint = \"https://pve:8006\"\ntoken_id = \"paaf@pve!ops\"\ntoken = \"keyring:pve\"\n",
        )
        .unwrap();
        let shown = format!("{:?}", config.clouds);
        assert!(!shown.contains("cd5331ba"), "{shown}");
        assert!(
            shown.contains("https://ops.example.com:8443/[redacted]"),
            "{shown}"
        );
        assert!(
            shown.contains("https://pve:8006"),
            "other endpoints show whole: {shown}"
        );
        assert!(
            shown.contains("env:REBOOTX_KEY"),
            "a reference, not a secret: {shown}"
        );
    }

    #[test]
    fn every_cloud_type_names_the_keys_it_misses() {
        let cases = [
            ("aws", "regions = [\"eu-west-1\"]", "an access key"),
            ("aws", "", "its regions"),
            ("gcp", "regions = [\"europe-west1-b\"]", "its project id"),
            (
                "gcp",
                "project = \"p\"\nregions = [\"europe-west1-b\"]",
                "a service-account JSON key",
            ),
            ("azure", "tenant_id = \"t\"", "an app registration"),
            ("digitalocean", "", "its API token"),
            ("hetzner", "", "its API token"),
            ("linode", "", "its API token"),
            ("vultr", "", "its API token"),
            ("scaleway", "token = \"env:S\"", "the zones to list"),
            ("ovh", "application_key = \"k\"", "API credentials"),
            ("proxmox", "token = \"env:P\"", "its URL"),
            (
                "proxmox",
                "endpoint = \"https://pve:8006\"\ntoken = \"env:P\"",
                "an API token",
            ),
            ("rebootx", "token = \"env:R\"", "secret path prefix"),
        ];
        for (kind, keys, missing) in cases {
            let text = format!("[[clouds]]\nname = \"c\"\ntype = \"{kind}\"\n{keys}\n");
            let msg = parse(&text).unwrap_err().to_string();
            assert!(
                msg.contains(missing) && msg.contains("add "),
                "{kind}: {msg}"
            );
        }
        let ok = "[[clouds]]\nname = \"k8s\"\ntype = \"kubernetes\"\nregions = [\"shop\"]\n";
        assert_eq!(parse(ok).unwrap().clouds[0].kind, CloudKind::Kubernetes);
        let msg = parse("[[clouds]]\nname = \"c\"\ntype = \"ibm\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("unknown type `ibm`") && msg.contains("\"hetzner\""),
            "{msg}"
        );
        let msg = parse("[[clouds]]\nname = \"c\"\ntype = \"hetzner\"\ntoken = \"abc123\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("keyring:") && !msg.contains("abc123"), "{msg}");
    }

    #[test]
    fn an_account_secret_is_read_from_the_store_or_its_missing_key_named() {
        let c =
            parse("[[clouds]]\nname = \"k8s\"\ntype = \"kubernetes\"\ntoken = \"keyring:k8s\"\n")
                .unwrap();
        let account = &c.clouds[0];
        let store = crate::secrets::MemoryStore::default();
        let e = account
            .secret(account.token.as_ref(), "token", &store)
            .unwrap_err();
        assert!(e.to_string().contains("paaf secret set k8s"), "{e}");
        store.set("k8s", &SecretString::from("t0ken")).unwrap();
        let token = account
            .secret(account.token.as_ref(), "token", &store)
            .unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "t0ken");
        let e = account
            .secret(account.client_secret.as_ref(), "client_secret", &store)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kubernetes account `k8s` has no client_secret: add client_secret = \"keyring:NAME\""
        );
    }

    #[test]
    fn a_host_names_its_cloud_server_as_account_slash_server() {
        let host = |link: &str| {
            format!(
                "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.1\"\nuser = \"ops\"\nauth = {{ type = \"agent\" }}\nserver = \"{link}\"\n"
            )
        };
        let c = parse(&host("prod/i-0abc")).unwrap();
        assert_eq!(
            c.hosts[0].server,
            Some(("prod".to_string(), "i-0abc".to_string()))
        );
        let msg = parse(&host("i-0abc")).unwrap_err().to_string();
        assert!(
            msg.contains("ACCOUNT/SERVER") && msg.contains("line 6"),
            "{msg}"
        );
    }

    #[test]
    fn the_readme_example_config_is_valid() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("```toml\n")
            .expect("a toml block in the README")
            + 8;
        let len = readme[start..].find("```").unwrap();
        let c = parse(&readme[start..start + len]).unwrap();
        assert_eq!(c.hosts.len(), 3);
        assert_eq!(
            c.host("web-3").unwrap().server,
            Some(("prod".to_string(), "i-0123456789abcdef0".to_string()))
        );
        assert_eq!(
            c.host("db-1").unwrap().reboot.boot_timeout,
            Duration::from_secs(900)
        );
    }

    #[test]
    fn add_and_remove_keep_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# my hosts\noperator = \"bob\"\n").unwrap();
        let host = NewHost {
            name: "web-2".into(),
            address: "127.0.0.1".into(),
            port: 2200,
            user: "deploy".into(),
            auth: NewAuth::Password {
                password: SecretRef::Keyring("paaf-host-web-2".into()),
            },
        };
        let c = add_host(&path, &host).unwrap();
        assert_eq!(c.host("web-2").unwrap().port, 2200);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my hosts\n"), "{text}");
        assert!(
            add_host(&path, &host)
                .unwrap_err()
                .to_string()
                .contains("already exists")
        );
        let c = remove_host(&path, "web-2").unwrap();
        assert!(c.hosts.is_empty());
        assert!(remove_host(&path, "web-2").is_err());
    }

    #[test]
    fn monitoring_sources_parse_with_their_secrets_as_references() {
        let c = parse(
            r#"
[[monitoring]]
name = "ops"
type = "grafana"
url = "https://grafana.example.com"
token = "keyring:grafana-ops"
org_id = 2

[[monitoring]]
name = "prom"
type = "prometheus"
url = "http://127.0.0.1:9090"
timeout_secs = 5
"#,
        )
        .unwrap();
        let ops = c.monitoring_source(Some("ops"), None).unwrap();
        assert_eq!(ops.kind, MonitoringKind::Grafana);
        assert!(
            matches!(&ops.auth, ApiAuth::Token { token } if token.to_string() == "keyring:grafana-ops")
        );
        assert_eq!(ops.org_id, Some(2));
        let prom = c
            .monitoring_source(None, Some(MonitoringKind::Prometheus))
            .unwrap();
        assert_eq!(
            (prom.name.as_str(), prom.timeout),
            ("prom", Duration::from_secs(5))
        );
        let e = c.monitoring_source(None, None).unwrap_err().to_string();
        assert!(e.contains("--source") && e.contains("ops (grafana)"), "{e}");
        let e = c
            .monitoring_source(None, Some(MonitoringKind::Alertmanager))
            .unwrap_err()
            .to_string();
        assert!(e.contains("type = \"alertmanager\""), "{e}");
    }

    #[test]
    fn a_bad_monitoring_source_names_its_line_and_the_fix() {
        let cases = [
            ("type = \"kibana\"\nurl = \"http://x\"", "unknown type", 3),
            ("type = \"grafana\"\nurl = \"http://x\"", "has no token", 2),
            (
                "type = \"grafana\"\nurl = \"grafana.local\"\ntoken = \"keyring:g\"",
                "not an http(s) URL",
                4,
            ),
            (
                "type = \"grafana\"\nurl = \"http://x\"\ntoken = \"glsa_plain\"",
                "never written in the config",
                5,
            ),
        ];
        for (body, message, line) in cases {
            let text = format!("[[monitoring]]\nname = \"ops\"\n{body}\n");
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(message), "{body}: {e}");
            assert!(e.contains(&format!("line {line}")), "{body}: {e}");
            assert!(!e.contains("glsa_plain"), "{e}");
        }
    }

    #[test]
    fn flag_services_need_the_keys_of_their_type() {
        let ok = parse(
            r#"
[[flags]]
name = "dc"
type = "devcycle"
url = "https://api.devcycle.com"
client_id = "abc"
client_secret = "keyring:devcycle-secret"
project = "shop"

[[flags]]
name = "opti"
type = "optimizely"
url = "https://api.optimizely.com/flags/v1"
token = "keyring:optimizely"
project = "1234"
"#,
        )
        .unwrap();
        let dc = ok.flags_backend(Some("dc")).unwrap();
        assert_eq!(
            (dc.kind, dc.project.as_deref()),
            (FlagsKind::Devcycle, Some("shop"))
        );
        assert!(
            ok.flags_backend(None)
                .unwrap_err()
                .to_string()
                .contains("--backend")
        );
        for (body, says) in [
            (
                "type = \"devcycle\"\nurl = \"https://x\"\nproject = \"p\"",
                "client credentials",
            ),
            (
                "type = \"optimizely\"\nurl = \"https://x\"\ntoken = \"keyring:t\"",
                "project id",
            ),
            ("type = \"unleash\"\nurl = \"https://x\"", "access token"),
            (
                "type = \"unleash\"\nurl = \"https://x\"\ntoken = \"*:*.plain\"",
                "never written",
            ),
        ] {
            let e = parse(&format!("[[flags]]\nname = \"f\"\n{body}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains("line "), "{body}: {e}");
            assert!(!e.contains("*:*.plain"), "{e}");
        }
    }
}
