//! `[[clouds]]`: cloud accounts. What every entry has ([`CloudConfig`]: its name, type and
//! timeout) is read here; the keys of each provider are read and checked once, at load, by the
//! provider's own config type beside its client (e.g. [`crate::cloud::TokenConfig`],
//! [`crate::cloud::ec2::AwsConfig`]), through a [`CloudEntry`] whose errors name the file, the
//! line and the fix. The [`cloud_providers!`] table below is the one list of providers.

use super::*;
use crate::cloud::{self, CloudAccount, FromConfig};
use crate::secrets::SecretStore;

/// The one list of cloud providers: for each, its variant, its `type` in the config, the type
/// of its own keys (an [`AccountConfig`]) and its client (whose `from_config` takes them).
/// It makes [`CloudKind`], [`ProviderConfig`] and the dispatch of [`cloud::connect`].
macro_rules! cloud_providers {
    ($($kind:ident $name:literal => $keys:ty => $client:ty),* $(,)?) => {
        /// The cloud providers paaf speaks to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum CloudKind {
            $($kind),*
        }

        impl CloudKind {
            pub const ALL: &'static [CloudKind] = &[$(CloudKind::$kind),*];

            /// The `type` in the config, and the provider column of the server list.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CloudKind::$kind => $name),*
                }
            }
        }

        /// A `[[clouds]]` entry's provider, with its own keys (checked at load).
        #[derive(Debug, Clone)]
        pub enum ProviderConfig {
            $($kind($keys)),*
        }

        impl ProviderConfig {
            /// Which provider it is.
            pub fn kind(&self) -> CloudKind {
                match self {
                    $(ProviderConfig::$kind(_) => CloudKind::$kind),*
                }
            }

            fn read(kind: CloudKind, entry: &CloudEntry<'_>) -> Result<ProviderConfig> {
                Ok(match kind {
                    $(CloudKind::$kind => ProviderConfig::$kind(<$keys>::read(entry)?)),*
                })
            }

            /// The account of `config` (whose provider this is), its secrets from `secrets`.
            pub(crate) fn connect(
                &self,
                config: &CloudConfig,
                secrets: &dyn SecretStore,
            ) -> Result<Box<dyn CloudAccount>> {
                Ok(match self {
                    $(ProviderConfig::$kind(keys) => {
                        Box::new(<$client>::from_config(config, keys, secrets)?)
                    })*
                })
            }
        }
    };
}

cloud_providers! {
    Aws "aws" => cloud::ec2::AwsConfig => cloud::ec2::Ec2,
    Gcp "gcp" => cloud::gcp::GcpConfig => cloud::gcp::Gcp,
    Azure "azure" => cloud::azure::AzureConfig => cloud::azure::Azure,
    Digitalocean "digitalocean" => cloud::TokenConfig => cloud::digitalocean::DigitalOcean,
    Hetzner "hetzner" => cloud::TokenConfig => cloud::hetzner::Hetzner,
    Scaleway "scaleway" => cloud::scaleway::ScalewayConfig => cloud::scaleway::Scaleway,
    Ovh "ovh" => cloud::ovh::OvhConfig => cloud::ovh::Ovh,
    Linode "linode" => cloud::TokenConfig => cloud::linode::Linode,
    Vultr "vultr" => cloud::TokenConfig => cloud::vultr::Vultr,
    Proxmox "proxmox" => cloud::proxmox::ProxmoxConfig => cloud::proxmox::Proxmox,
    Kubernetes "kubernetes" => cloud::kubernetes::KubernetesConfig => cloud::kubernetes::Kubernetes,
    Rebootx "rebootx" => cloud::rebootx::RebootxConfig => cloud::rebootx::RebootX,
}

impl std::fmt::Display for CloudKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cloud account: what every entry has, and its provider's own keys.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    pub name: String,
    /// The whole-request timeout of its API calls (`timeout_secs`).
    pub timeout: Duration,
    /// How long a reboot that reads `running` with no sign of it is watched for one before
    /// it is unverified (`reboot_watch_secs`); none: [`crate::cloud::Proof::watching`].
    pub reboot_watch: Option<Duration>,
    pub provider: ProviderConfig,
}

impl CloudConfig {
    /// Which provider it is.
    pub fn kind(&self) -> CloudKind {
        self.provider.kind()
    }
}

/// A provider's own `[[clouds]]` keys, read and checked once when the config loads.
pub trait AccountConfig: Sized {
    /// Reads this provider's keys of `entry`; a missing or malformed key is an error that
    /// names the file, the line and the fix ([`CloudEntry::needs`], [`CloudEntry::secret`]).
    fn read(entry: &CloudEntry<'_>) -> Result<Self>;
}

/// One `[[clouds]]` entry as written, its name and type already checked: what a provider's
/// [`AccountConfig::read`] reads its keys from. Every key of every provider is accepted on
/// every entry (a key another type needs is ignored), as configs have always been read.
pub struct CloudEntry<'a> {
    src: &'a Source<'a>,
    raw: &'a RawCloud,
    kind: CloudKind,
    name: String,
}

/// What an entry needs and lacks, for the error: what it is, and an example line to add.
pub type Needed = (&'static str, &'static str);

impl CloudEntry<'_> {
    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `value`, or the error that the entry `needs` it: "`aws` account `prod` needs its
    /// regions", fix "add regions = [...]", at the entry's `name` line.
    pub fn needs<T>(&self, value: Option<T>, (what, example): Needed) -> Result<T> {
        value.ok_or_else(|| {
            self.src.err(
                Some(&self.raw.name.span()),
                format!("{} account `{}` needs {what}", self.kind, self.name),
                format!("add {example}"),
            )
        })
    }

    /// The secret reference of key `key` (`keyring:NAME` or `env:VAR`), if it is there.
    pub fn secret(&self, key: Key) -> Result<Option<SecretRef>> {
        let Some(s) = self.raw.field(key) else {
            return Ok(None);
        };
        SecretRef::parse(s.get_ref()).map(Some).map_err(|m| {
            self.src.err(
                Some(&s.span()),
                format!("cloud account `{}`: {m}", self.name),
                format!(
                    "e.g. \"keyring:{kind}-{name}\" (store it with `paaf secret set {kind}-{name}`)",
                    kind = self.kind,
                    name = self.name
                ),
            )
        })
    }

    /// The text of key `key`, trimmed; `None` when it is missing or blank.
    pub fn text(&self, key: Key) -> Option<String> {
        self.raw
            .field(key)
            .map(|s| s.get_ref().trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// `regions`: what each provider makes of them (regions, zones, locations, namespaces,
    /// nodes), empty when not given.
    pub fn regions(&self) -> Vec<String> {
        self.raw
            .regions
            .as_ref()
            .map(|r| r.get_ref().clone())
            .unwrap_or_default()
    }

    /// `endpoint`: another API base URL than the provider's own, without a trailing `/`; one
    /// that is not an http(s) URL is an error.
    pub fn endpoint(&self) -> Result<Option<String>> {
        match &self.raw.endpoint {
            Some(e)
                if !(e.get_ref().starts_with("http://") || e.get_ref().starts_with("https://")) =>
            {
                Err(self.src.err(
                    Some(&e.span()),
                    format!(
                        "cloud account `{}`: endpoint `{}` is not an http(s) URL",
                        self.name,
                        e.get_ref()
                    ),
                    "write it like endpoint = \"https://pve.example.com:8006\"",
                ))
            }
            e => Ok(e
                .as_ref()
                .map(|e| e.get_ref().trim().trim_end_matches('/').to_string())),
        }
    }

    /// `ca_file`, relative to the config's folder.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.text(Key::CaFile).map(|f| self.src.path_of(&f))
    }
}

/// The keys of a `[[clouds]]` entry that hold text (read with [`CloudEntry::text`] or
/// [`CloudEntry::secret`]).
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Token,
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
    Project,
    Credentials,
    TenantId,
    ClientId,
    ClientSecret,
    SubscriptionId,
    ApplicationKey,
    ApplicationSecret,
    ConsumerKey,
    TokenId,
    Kubeconfig,
    Context,
    CaFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCloud {
    pub(super) name: Spanned<String>,
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
    reboot_watch_secs: Option<Spanned<u64>>,
}

impl RawCloud {
    fn field(&self, key: Key) -> Option<&Spanned<String>> {
        match key {
            Key::Token => &self.token,
            Key::AccessKeyId => &self.access_key_id,
            Key::SecretAccessKey => &self.secret_access_key,
            Key::SessionToken => &self.session_token,
            Key::Project => &self.project,
            Key::Credentials => &self.credentials,
            Key::TenantId => &self.tenant_id,
            Key::ClientId => &self.client_id,
            Key::ClientSecret => &self.client_secret,
            Key::SubscriptionId => &self.subscription_id,
            Key::ApplicationKey => &self.application_key,
            Key::ApplicationSecret => &self.application_secret,
            Key::ConsumerKey => &self.consumer_key,
            Key::TokenId => &self.token_id,
            Key::Kubeconfig => &self.kubeconfig,
            Key::Context => &self.context,
            Key::CaFile => &self.ca_file,
        }
        .as_ref()
    }
}

pub(super) fn validate_cloud(src: &Source, raw: RawCloud) -> Result<CloudConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("cloud account name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `prod`",
        ));
    }
    let Some(kind) = CloudKind::ALL
        .iter()
        .copied()
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
                CloudKind::ALL
                    .iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let timeout = positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_API_TIMEOUT);
    let reboot_watch = positive(src, raw.reboot_watch_secs.as_ref(), "reboot_watch_secs")?
        .map(Duration::from_secs);
    let entry = CloudEntry {
        src,
        raw: &raw,
        kind,
        name: name.clone(),
    };
    let provider = ProviderConfig::read(kind, &entry)?;
    Ok(CloudConfig {
        name,
        timeout,
        reboot_watch,
        provider,
    })
}
