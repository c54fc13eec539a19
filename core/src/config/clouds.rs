//! `[[clouds]]`: cloud accounts, the keys each provider type needs.

use super::*;

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
