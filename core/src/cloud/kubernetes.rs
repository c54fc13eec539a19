//! Kubernetes: the Deployments and Pods of the configured namespaces, as servers. A reboot of
//! a Deployment is a rollout restart (what `kubectl rollout restart` does); a reboot of a Pod
//! deletes it so that its controller replaces it.
//!
//! Calls, JSON over HTTPS to the cluster's API server
//! (https://kubernetes.io/docs/reference/kubernetes-api/):
//! - `GET /apis/apps/v1/namespaces/{ns}/deployments` and `GET /api/v1/namespaces/{ns}/pods`,
//!   `limit` + `continue` pages
//!   (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks);
//! - `GET …/deployments/{name}`
//!   (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/);
//!   a rollout is complete when `status.observedGeneration ≥ metadata.generation` and the
//!   updated, available and total replicas equal `spec.replicas`
//!   (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#complete-deployment);
//! - `PATCH …/deployments/{name}` with `Content-Type: application/strategic-merge-patch+json`
//!   and `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":
//!   RFC3339}}}}}`, as kubectl does
//!   (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_restart/);
//!   sent once;
//! - `GET …/pods/{name}`, `DELETE …/pods/{name}` (`gracePeriodSeconds=0` for a hard reboot, a
//!   `DeleteOptions` body whose `preconditions.uid` makes sure the pod deleted is the one
//!   checked; sent once)
//!   (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/,
//!   https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/delete-options-v1/);
//! - `GET /apis/apps/v1/namespaces/{ns}/replicasets/{name}`, to find the Deployment of a pod
//!   (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/);
//! - failures are a `Status` object (`reason`, `message`, `code`)
//!   (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/).
//!
//! Credentials come from a kubeconfig file
//! (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/): a bearer token (`token`,
//! `tokenFile`) or a client certificate (`client-certificate(-data)` + `client-key(-data)`),
//! and the cluster's `certificate-authority(-data)`. Credential plugins (`exec`,
//! `auth-provider`) are refused: paaf runs no programs named in a file. The file is read with
//! serde + serde_yaml_ng rather than the `kube` crate, whose kubeconfig support comes with
//! k8s-openapi and a whole client: too much for a library that must stay small.
//!
//! Following an action: a restart's `settle` waits until the Deployment controller has
//! observed the new generation (or fails when the rollout exceeds its progress deadline);
//! the reads after it (one per poll, each shown to the caller) then report the rollout's
//! progress ("1/3 ready, 2/3 updated") until it is complete. A deleted pod's `settle` waits
//! until it is gone (404) or replaced under the same name (a StatefulSet's); reading it after
//! that reports its owner: the Deployment (`deployment/NAME`'s row), or for another
//! controller how many of its pods are ready. This account remembers the owners of the pods
//! it deleted; another account (a later run) finds such a pod `not-found`.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::{
    HttpAuth, HttpFailure, Limits, Method, Request, Retry, Service, TlsConfig, TlsIdentity,
    path_segment,
};
use crate::secrets::{SecretRef, SecretStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Items per list page (the API server's default chunk size in kubectl).
const PAGE_SIZE: u32 = 500;
/// Pages of one list paaf reads at most (a runaway `continue` loop ends there).
const MAX_PAGES: u32 = 1000;
/// The namespace listed when the account names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where and how to reach one cluster's API server. `Debug` shows no credential.
#[derive(Clone)]
pub struct ClusterAccess {
    /// The API server's URL (`https://10.0.0.1:6443`).
    pub server: String,
    pub auth: HttpAuth,
    pub tls: TlsConfig,
    /// Where these came from, for messages (`context "prod" of /home/me/.kube/config`).
    pub source: String,
}

impl fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterAccess")
            .field("server", &self.server)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("source", &self.source)
            .finish()
    }
}

impl ClusterAccess {
    /// The cluster and user of `context` (default: the current context) in the kubeconfig
    /// `files` (merged as kubectl does: the first file naming an entry wins). With `token`,
    /// that bearer token replaces the context's user, which is then not read at all.
    pub fn from_kubeconfig(
        files: &[PathBuf],
        context: Option<&str>,
        token: Option<SecretString>,
    ) -> Result<ClusterAccess> {
        let mut loaded = Vec::new();
        for path in files {
            match std::fs::read_to_string(path) {
                Ok(text) => loaded.push((path.clone(), parse_kubeconfig(path, &text)?)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && files.len() > 1 => {}
                Err(e) => {
                    return Err(kubeconfig_error(
                        path,
                        format!("cannot read the kubeconfig: {e}"),
                        "set `kubeconfig` in the [[clouds]] entry (or $KUBECONFIG) to a readable kubeconfig file",
                    ));
                }
            }
        }
        let Some(first) = loaded.first().map(|(p, _)| p.clone()) else {
            let shown = files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>();
            return Err(Error::invalid(format!(
                "no kubeconfig file found (looked at {}): set `kubeconfig` in the [[clouds]] entry, or `endpoint` and `token`",
                shown.join(", ")
            )));
        };
        let current = loaded
            .iter()
            .find_map(|(_, k)| k.current_context.clone().filter(|c| !c.is_empty()));
        let context_name = match context {
            Some(c) => c.to_string(),
            None => current.ok_or_else(|| {
                kubeconfig_error(
                    &first,
                    "it has no current-context".into(),
                    "set `context` in the [[clouds]] entry, or run `kubectl config use-context NAME`",
                )
            })?,
        };
        let (context_file, ctx) = loaded
            .iter()
            .find_map(|(p, k)| {
                k.contexts
                    .iter()
                    .find(|c| c.name == context_name)
                    .map(|c| (p, &c.context))
            })
            .ok_or_else(|| {
                let known: Vec<&str> = loaded
                    .iter()
                    .flat_map(|(_, k)| k.contexts.iter().map(|c| c.name.as_str()))
                    .collect();
                kubeconfig_error(
                    &first,
                    format!("it has no context named `{context_name}`"),
                    &format!(
                        "name one of its contexts in `context` ({})",
                        if known.is_empty() {
                            "it has none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })?;
        let (cluster_file, cluster) = loaded
            .iter()
            .find_map(|(p, k)| {
                k.clusters
                    .iter()
                    .find(|c| c.name == ctx.cluster)
                    .map(|c| (p, &c.cluster))
            })
            .ok_or_else(|| {
                kubeconfig_error(
                    context_file,
                    format!(
                        "context `{context_name}` names cluster `{}`, which is not in it",
                        ctx.cluster
                    ),
                    "add the cluster, or fix the context's `cluster`",
                )
            })?;
        let server = cluster
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                kubeconfig_error(
                    cluster_file,
                    format!("cluster `{}` has no server", ctx.cluster),
                    "set its `server: https://HOST:6443`, or `endpoint` in the [[clouds]] entry",
                )
            })?;
        if cluster.insecure_skip_tls_verify {
            return Err(kubeconfig_error(
                cluster_file,
                format!("cluster `{}` sets insecure-skip-tls-verify", ctx.cluster),
                "paaf always verifies the API server's certificate: give the cluster its certificate-authority(-data) instead",
            ));
        }
        let ca_pem = file_or_data(
            cluster_file,
            cluster.certificate_authority.as_deref(),
            cluster.certificate_authority_data.as_deref(),
            "certificate-authority",
        )?;
        let source = format!("context \"{context_name}\" of {}", context_file.display());
        let mut access = ClusterAccess {
            server,
            auth: HttpAuth::None,
            tls: TlsConfig {
                ca_pem,
                identity: None,
            },
            source,
        };
        if let Some(token) = token {
            access.auth = HttpAuth::Bearer(token);
            return Ok(access);
        }
        let (user_file, user) = loaded
            .iter()
            .find_map(|(p, k)| {
                k.users
                    .iter()
                    .find(|u| u.name == ctx.user)
                    .map(|u| (p, &u.user))
            })
            .ok_or_else(|| {
                kubeconfig_error(
                    context_file,
                    format!(
                        "context `{context_name}` names user `{}`, which is not in it",
                        ctx.user
                    ),
                    "add the user, fix the context's `user`, or set `token` in the [[clouds]] entry",
                )
            })?;
        let (auth, identity) = user_credentials(user_file, &ctx.user, user)?;
        access.auth = auth;
        access.tls.identity = identity;
        Ok(access)
    }
}

/// The kubeconfig files to read: `configured` (a `~/` is the home directory), else the
/// files of `$KUBECONFIG`, else `~/.kube/config`.
pub fn kubeconfig_paths(configured: Option<&str>) -> Vec<PathBuf> {
    let home = dirs::home_dir().unwrap_or_default();
    if let Some(path) = configured {
        return vec![match path.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(path),
        }];
    }
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    vec![home.join(".kube").join("config")]
}

/// The token or client certificate of a kubeconfig user; what paaf cannot use is refused
/// saying what it supports.
fn user_credentials(
    file: &Path,
    name: &str,
    user: &UserEntry,
) -> Result<(HttpAuth, Option<TlsIdentity>)> {
    let supported = "paaf supports a token, a tokenFile, or client-certificate(-data) with client-key(-data); or set `token` in the [[clouds]] entry";
    let plugin = if user.exec.is_some() {
        Some("exec (a credential plugin)")
    } else if user.auth_provider.is_some() {
        Some("auth-provider")
    } else {
        None
    };
    if let Some(kind) = plugin {
        return Err(kubeconfig_error(
            file,
            format!("user `{name}` authenticates with {kind}, which paaf does not run"),
            &format!("{supported} (e.g. a service account token: `kubectl create token NAME`)"),
        ));
    }
    let cert = file_or_data(
        file,
        user.client_certificate.as_deref(),
        user.client_certificate_data.as_deref(),
        "client-certificate",
    )?;
    let key = match (&user.client_key, &user.client_key_data) {
        (_, Some(data)) => Some(decode_base64(
            file,
            "client-key-data",
            data.expose_secret(),
        )?),
        (Some(path), None) => Some(read_relative(file, path, "client-key")?),
        (None, None) => None,
    };
    let identity = match (cert, key) {
        (Some(cert_pem), Some(key)) => {
            let key = String::from_utf8(key).map_err(|_| {
                kubeconfig_error(
                    file,
                    format!("the client key of user `{name}` is not PEM text"),
                    "give a PEM key (-----BEGIN PRIVATE KEY-----)",
                )
            })?;
            Some(TlsIdentity {
                cert_pem,
                key_pem: pkcs8_pem(file, name, &key)?,
            })
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(kubeconfig_error(
                file,
                format!("user `{name}` has a client certificate or key, not both"),
                "give both client-certificate(-data) and client-key(-data)",
            ));
        }
        (None, None) => None,
    };
    let token = match (&user.token, &user.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(path)) => {
            let text = String::from_utf8(read_relative(file, path, "tokenFile")?)
                .unwrap_or_default()
                .trim()
                .to_string();
            Some(SecretString::from(text))
        }
        (None, None) => None,
    };
    let auth = match token {
        Some(t) if !t.expose_secret().is_empty() => HttpAuth::Bearer(t),
        Some(_) => {
            return Err(kubeconfig_error(
                file,
                format!("the token of user `{name}` is empty"),
                supported,
            ));
        }
        None => HttpAuth::None,
    };
    if matches!(auth, HttpAuth::None) && identity.is_none() {
        let what = if user.username.is_some() {
            "a username and password (basic auth, removed from Kubernetes in 1.19)"
        } else {
            "no credentials"
        };
        return Err(kubeconfig_error(
            file,
            format!("user `{name}` has {what}"),
            supported,
        ));
    }
    Ok((auth, identity))
}

/// The PEM of a kubeconfig `*-data` field (base64) or of the file it names (relative to the
/// kubeconfig's directory); `-data` wins, as in kubectl.
fn file_or_data(
    file: &Path,
    path: Option<&str>,
    data: Option<&str>,
    field: &str,
) -> Result<Option<Vec<u8>>> {
    match (data, path) {
        (Some(data), _) => decode_base64(file, &format!("{field}-data"), data).map(Some),
        (None, Some(path)) => read_relative(file, path, field).map(Some),
        (None, None) => Ok(None),
    }
}

fn decode_base64(file: &Path, field: &str, data: &str) -> Result<Vec<u8>> {
    let clean: String = data.split_whitespace().collect();
    STANDARD.decode(clean).map_err(|_| {
        kubeconfig_error(
            file,
            format!("`{field}` is not base64"),
            "give the base64 of the PEM, as `kubectl config view --raw` shows it",
        )
    })
}

fn read_relative(file: &Path, path: &str, field: &str) -> Result<Vec<u8>> {
    let full = file.parent().unwrap_or(Path::new(".")).join(path);
    std::fs::read(&full).map_err(|e| {
        kubeconfig_error(
            file,
            format!("cannot read `{field}` {}: {e}", full.display()),
            "check the path (relative paths are relative to the kubeconfig's directory)",
        )
    })
}

/// A private key as PKCS#8 PEM, the form the TLS stack takes: a PKCS#1 `RSA PRIVATE KEY`
/// (what kubeadm and kind write) is wrapped into a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5).
fn pkcs8_pem(file: &Path, user: &str, pem: &str) -> Result<SecretString> {
    let pem = pem.trim();
    if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        return Ok(SecretString::from(pem.to_string()));
    }
    let unusable = |what: &str| {
        kubeconfig_error(
            file,
            format!("the client key of user `{user}` is {what}"),
            "convert it to PKCS#8: `openssl pkcs8 -topk8 -nocrypt -in client.key`",
        )
    };
    let Some(body) = pem
        .strip_prefix("-----BEGIN RSA PRIVATE KEY-----")
        .and_then(|rest| {
            rest.trim_end()
                .strip_suffix("-----END RSA PRIVATE KEY-----")
        })
    else {
        return Err(unusable(
            "neither a PKCS#8 (BEGIN PRIVATE KEY) nor an RSA (BEGIN RSA PRIVATE KEY) key",
        ));
    };
    if body.contains(':') {
        return Err(unusable("encrypted"));
    }
    let clean: String = body.split_whitespace().collect();
    let pkcs1 = STANDARD
        .decode(clean)
        .map_err(|_| unusable("not valid PEM"))?;
    // version 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING { the PKCS#1 key }.
    let mut info = vec![0x02, 0x01, 0x00];
    info.extend_from_slice(&[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ]);
    info.push(0x04);
    info.extend(der_length(pkcs1.len()));
    info.extend(pkcs1);
    let mut der = vec![0x30];
    der.extend(der_length(info.len()));
    der.extend(info);
    let encoded = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    Ok(SecretString::from(out))
}

/// A DER length: short form below 128, else 0x80 | the count of big-endian bytes.
fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn parse_kubeconfig(path: &Path, text: &str) -> Result<Kubeconfig> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::Config {
        file: path.to_path_buf(),
        line: e.location().map(|l| l.line()),
        message: format!("not a kubeconfig paaf can read: {e}"),
        fix: "check it with `kubectl config view --kubeconfig FILE`".into(),
    })
}

fn kubeconfig_error(file: &Path, message: String, fix: &str) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        line: None,
        message,
        fix: fix.to_string(),
    }
}

/// One configured Kubernetes cluster: its API server and the namespaces listed.
pub struct Kubernetes {
    name: String,
    source: String,
    namespaces: Vec<String>,
    service: Service,
    /// The owner of each pod this account deleted (namespace, pod name), so that reading the
    /// pod after it is gone reports what replaces it.
    replaced: Mutex<HashMap<(String, String), Owner>>,
}

impl fmt::Debug for Kubernetes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kubernetes")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("namespaces", &self.namespaces)
            .field("service", &self.service)
            .finish()
    }
}

impl CloudAccount for Kubernetes {
    fn provider(&self) -> &'static str {
        "kubernetes"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Kubernetes::list(self))
    }

    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(Kubernetes::read(self, region, id))
    }

    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Kubernetes::power(self, region, id, action))
    }

    fn settle<'a>(
        &'a self,
        region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Kubernetes::settle(self, region, accepted, settings, cancel))
    }
}

/// What paaf handles of a cluster: `deployment/NAME` and `pod/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    Pod,
    ReplicaSet,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::Pod => "pods",
            Kind::ReplicaSet => "replicasets",
        }
    }

    fn collection(self, ns: &str) -> String {
        let group = match self {
            Kind::Pod => "api/v1",
            Kind::Deployment | Kind::ReplicaSet => "apis/apps/v1",
        };
        format!("/{group}/namespaces/{}/{}", path_segment(ns), self.plural())
    }

    fn object(self, ns: &str, name: &str) -> String {
        format!("{}/{}", self.collection(ns), path_segment(name))
    }
}

/// One call, for its error messages: `patch deployments/web in namespace shop`.
struct Call<'a> {
    verb: &'static str,
    kind: Kind,
    ns: &'a str,
    name: Option<&'a str>,
}

impl fmt::Display for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(
                f,
                "{} {}/{name} in namespace {}",
                self.verb,
                self.kind.plural(),
                self.ns
            ),
            None => write!(
                f,
                "{} {} in namespace {}",
                self.verb,
                self.kind.plural(),
                self.ns
            ),
        }
    }
}

/// The controller that replaces a deleted pod.
#[derive(Debug, Clone)]
enum Owner {
    Deployment(String),
    /// A StatefulSet, DaemonSet or a ReplicaSet of no Deployment.
    Other {
        kind: String,
        name: String,
        uid: String,
    },
}

/// The keys of a `kubernetes` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct KubernetesConfig {
    /// The namespaces listed (`regions`; none: `default`).
    pub namespaces: Vec<String>,
    /// The kubeconfig file (`kubeconfig`; default: `$KUBECONFIG`, then `~/.kube/config`).
    pub kubeconfig: Option<String>,
    /// The context in it (`context`; default: its current context).
    pub context: Option<String>,
    /// A bearer token instead of the kubeconfig's user (`token`).
    pub token: Option<SecretRef>,
    /// The API server instead of the kubeconfig's (`endpoint`).
    pub endpoint: Option<String>,
}

impl AccountConfig for KubernetesConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<KubernetesConfig> {
        Ok(KubernetesConfig {
            endpoint: entry.endpoint()?,
            token: entry.secret(Key::Token)?,
            namespaces: entry.regions(),
            kubeconfig: entry.text(Key::Kubeconfig),
            context: entry.text(Key::Context),
        })
    }
}

impl Kubernetes {
    /// The account of a `kubernetes` `[[clouds]]` entry: its kubeconfig's context, `token`
    /// (instead of the kubeconfig's user) and `endpoint` (instead of its server). With both
    /// `endpoint` and `token` no kubeconfig is needed; one that exists still gives the CA.
    pub fn from_config(
        config: &CloudConfig,
        k8s: &KubernetesConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Kubernetes> {
        let token = k8s.token.as_ref().map(|t| t.resolve(secrets)).transpose()?;
        let files = kubeconfig_paths(k8s.kubeconfig.as_deref());
        let no_file = k8s.kubeconfig.is_none() && !files.iter().any(|p| p.exists());
        let access = match (&k8s.endpoint, token) {
            (Some(endpoint), Some(token)) if no_file => ClusterAccess {
                server: endpoint.clone(),
                auth: HttpAuth::Bearer(token),
                tls: TlsConfig::default(),
                source: "the endpoint and token of its [[clouds]] entry".into(),
            },
            (endpoint, token) => {
                let mut access =
                    ClusterAccess::from_kubeconfig(&files, k8s.context.as_deref(), token)?;
                if let Some(endpoint) = endpoint {
                    access.server = endpoint.clone();
                }
                access
            }
        };
        Kubernetes::connect(
            &config.name,
            access,
            &k8s.namespaces,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` on the cluster of `access`, listing `namespaces` (none: `default`).
    pub fn connect(
        name: &str,
        access: ClusterAccess,
        namespaces: &[String],
        limits: Limits,
    ) -> Result<Kubernetes> {
        let namespaces = if namespaces.is_empty() {
            vec![DEFAULT_NAMESPACE.to_string()]
        } else {
            namespaces.to_vec()
        };
        for (i, ns) in namespaces.iter().enumerate() {
            if !valid_name(ns, 63) || ns.contains('.') {
                return Err(Error::invalid(format!(
                    "kubernetes \"{name}\": `{ns}` is not a namespace name (lowercase letters, digits and -)"
                )));
            }
            if namespaces[..i].contains(ns) {
                return Err(Error::invalid(format!(
                    "kubernetes \"{name}\": namespace {ns} is named twice"
                )));
            }
        }
        let mut service = Service::new(
            &format!("kubernetes \"{name}\""),
            &access.server,
            access.auth,
            limits,
        )?;
        if access.tls.ca_pem.is_some() || access.tls.identity.is_some() {
            service = service.with_tls(&access.tls)?;
        }
        Ok(Kubernetes {
            name: name.to_string(),
            source: access.source,
            namespaces,
            service,
            replaced: Mutex::new(HashMap::new()),
        })
    }

    /// The namespaces listed, in order.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The Deployments and Pods of every configured namespace, read concurrently; a list
    /// that fails is an error row of its namespace, the others are still listed. Sorted by
    /// namespace, then id.
    pub async fn list(&self) -> Inventory {
        let reads = self.namespaces.iter().map(|ns| async move {
            let (deployments, pods) = futures::join!(
                self.list_all::<Deployment>(ns, Kind::Deployment),
                self.list_all::<Pod>(ns, Kind::Pod)
            );
            let deployments =
                deployments.map(|d| d.into_iter().map(|d| self.deployment_row(ns, d)).collect());
            let pods = pods.map(|p| p.into_iter().map(|p| self.pod_row(ns, p)).collect());
            (ns, [deployments, pods])
        });
        let mut inventory = Inventory::default();
        for (ns, results) in futures::future::join_all(reads).await {
            let mut failed: Vec<Error> = Vec::new();
            for result in results {
                match result {
                    Ok(servers) => inventory.servers.extend::<Vec<Server>>(servers),
                    Err(e) => failed.push(e),
                }
            }
            // Both lists failing for the same reason (a 401) is one row, not two.
            failed.dedup_by(|a, b| a.code() == b.code() && a.code() == ErrorCode::AuthFailed);
            for e in failed {
                inventory.errors.push(InventoryError {
                    provider: "kubernetes".into(),
                    account: self.name.clone(),
                    region: Some(ns.clone()),
                    error: ErrorInfo::from(&e),
                });
            }
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        inventory
    }

    /// `deployment/NAME` or `pod/NAME` in namespace `ns`, read now. A pod this account
    /// deleted reads as its owner once it is gone (see the module's doc).
    pub async fn read(&self, ns: &str, id: &str) -> Result<Server> {
        let (kind, name) = self.target(ns, id)?;
        match kind {
            Kind::Deployment => {
                let d = self.read_deployment(ns, name).await?;
                Ok(self.deployment_row(ns, d))
            }
            _ => {
                let call = self.call("get", Kind::Pod, ns, Some(name));
                if let Some(pod) = self.get::<Pod>(&call).await? {
                    return Ok(self.pod_row(ns, pod));
                }
                let owner = self.owner_of(ns, name);
                match owner {
                    Some(Owner::Deployment(deployment)) => {
                        let d = self.read_deployment(ns, &deployment).await?;
                        Ok(self.deployment_row(ns, d))
                    }
                    Some(Owner::Other {
                        kind,
                        name: owner,
                        uid,
                    }) => self.owned_pods_row(ns, id, &kind, &owner, &uid).await,
                    None => Err(self.not_found(Kind::Pod, ns, name)),
                }
            }
        }
    }

    /// Sends `action` once: a rollout restart of a Deployment, the deletion of a Pod (whose
    /// controller replaces it). A failure after the request may have reached the API server
    /// is `outcome-unknown`.
    pub async fn power(&self, ns: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let (kind, name) = self.target(ns, id)?;
        if matches!(action, PowerAction::Stop | PowerAction::Start) {
            let what = match kind {
                Kind::Deployment => format!("`kubectl scale {id} -n {ns} --replicas=N`"),
                _ => "`kubectl scale` on its Deployment or StatefulSet".to_string(),
            };
            return Err(Error::invalid(format!(
                "Kubernetes has no {} for {id} in namespace {ns}: scale it instead ({what}; 0 replicas stops it); a restart is `reboot`",
                action.as_str()
            )));
        }
        let accepted = match kind {
            Kind::Deployment => self.restart_deployment(ns, id, name, action).await?,
            _ => self.delete_pod(ns, id, name, action).await?,
        };
        tracing::info!(account = %self.name, namespace = ns, id, action = action.as_str(), "accepted");
        Ok(accepted)
    }

    async fn restart_deployment(
        &self,
        ns: &str,
        id: &str,
        name: &str,
        action: PowerAction,
    ) -> Result<Accepted> {
        if action == PowerAction::HardReboot {
            return Err(Error::invalid(format!(
                "a Deployment has no hard restart (deployment/{name} in namespace {ns}): use reboot (a rollout restart), or hard-reboot its pods one by one (pod/NAME) to end them without a grace period"
            )));
        }
        let current = self.read_deployment(ns, name).await?;
        if current.spec.paused {
            return Err(Error::invalid(format!(
                "deployment/{name} in namespace {ns} is paused: a restart would not roll out; resume it first (`kubectl rollout resume deployment/{name} -n {ns}`), then restart it"
            )));
        }
        let restarted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let patch = serde_json::json!({
            "spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": restarted_at
            }}}}
        });
        let request = Request::with_body(
            Method::PATCH,
            Kind::Deployment.object(ns, name),
            &patch,
            Retry::NotIdempotent,
        )?
        .header("content-type", "application/strategic-merge-patch+json");
        let call = self.call("patch", Kind::Deployment, ns, Some(name));
        let patched: Deployment = self.send_json(request, &call).await?;
        let generation = patched.metadata.generation;
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: Some(ServerStatus::Pending),
            raw_state: Some(format!("rollout restart (generation {generation})")),
            operation: Some(format!("generation={generation}")),
        })
    }

    async fn delete_pod(
        &self,
        ns: &str,
        id: &str,
        name: &str,
        action: PowerAction,
    ) -> Result<Accepted> {
        let call = self.call("get", Kind::Pod, ns, Some(name));
        let pod: Pod = self
            .get(&call)
            .await?
            .ok_or_else(|| self.not_found(Kind::Pod, ns, name))?;
        let owner = self.replacer(ns, name, &pod).await?;
        let uid = pod.metadata.uid;
        let body = serde_json::json!({
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {"uid": uid},
        });
        let mut request = Request::with_body(
            Method::DELETE,
            Kind::Pod.object(ns, name),
            &body,
            Retry::NotIdempotent,
        )?;
        if action == PowerAction::HardReboot {
            request = request.query("gracePeriodSeconds", "0");
        }
        let call = self.call("delete", Kind::Pod, ns, Some(name));
        self.send(request, &call).await?;
        self.replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((ns.to_string(), name.to_string()), owner);
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: Some(ServerStatus::Stopping),
            raw_state: Some("Terminating".into()),
            operation: Some(format!("uid={uid}")),
        })
    }

    /// The controller that will replace `pod`; a pod nothing replaces is refused.
    async fn replacer(&self, ns: &str, name: &str, pod: &Pod) -> Result<Owner> {
        let Some(controller) = controller_of(&pod.metadata) else {
            return Err(Error::invalid(format!(
                "pod/{name} in namespace {ns} has no controller: deleting it would not bring it back, so paaf does not restart it (delete it with kubectl if that is what you mean)"
            )));
        };
        match controller.kind.as_str() {
            "ReplicaSet" => {
                let call = self.call("get", Kind::ReplicaSet, ns, Some(&controller.name));
                // Without the right to read ReplicaSets, the pod is followed through its
                // ReplicaSet's pods instead of the Deployment: no reason to refuse the restart.
                let deployment = match self.get::<ReplicaSet>(&call).await {
                    Ok(Some(rs)) => controller_of(&rs.metadata)
                        .filter(|c| c.kind == "Deployment")
                        .map(|c| c.name.clone()),
                    _ => None,
                };
                Ok(match deployment {
                    Some(d) => Owner::Deployment(d),
                    None => Owner::Other {
                        kind: controller.kind.clone(),
                        name: controller.name.clone(),
                        uid: controller.uid.clone(),
                    },
                })
            }
            "StatefulSet" | "DaemonSet" => Ok(Owner::Other {
                kind: controller.kind.clone(),
                name: controller.name.clone(),
                uid: controller.uid.clone(),
            }),
            other => Err(Error::invalid(format!(
                "pod/{name} in namespace {ns} belongs to {other} {}: paaf restarts only pods of a Deployment, ReplicaSet, StatefulSet or DaemonSet, which replace a deleted pod",
                controller.name
            ))),
        }
    }

    /// Waits for what the API answered with: a restart's new generation observed by the
    /// Deployment controller, a deleted pod gone (or replaced under its name).
    pub async fn settle(
        &self,
        ns: &str,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let (kind, name) = self.target(ns, &accepted.id)?;
        let label = format!(
            "{} (kubernetes \"{}\", namespace {ns})",
            accepted.id, self.name
        );
        let operation = accepted.operation.as_deref().unwrap_or_default();
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: format!("waiting for {label}"),
                });
            }
            let (done, still) = match kind {
                Kind::Deployment => {
                    let Some(generation) = operation
                        .strip_prefix("generation=")
                        .and_then(|g| g.parse::<i64>().ok())
                    else {
                        return Ok(());
                    };
                    let d = self.read_deployment(ns, name).await?;
                    if let Some(stalled) = stalled(&d)
                        && d.status.observed_generation >= generation
                    {
                        return Err(Error::Timeout {
                            host: format!("{label}: the rollout stalled ({stalled})"),
                            phase: Phase::Boot,
                            after: Duration::from_secs(d.spec.progress_deadline_seconds),
                        });
                    }
                    (
                        d.status.observed_generation >= generation,
                        "the controller has not picked up the restart",
                    )
                }
                _ => {
                    let uid = operation.strip_prefix("uid=").unwrap_or_default();
                    let call = self.call("get", Kind::Pod, ns, Some(name));
                    let pod = self.get::<Pod>(&call).await?;
                    (
                        pod.is_none_or(|p| p.metadata.uid != uid),
                        "still terminating",
                    )
                }
            };
            if done {
                return Ok(());
            }
            if started.elapsed() + settings.interval > settings.timeout {
                return Err(Error::Timeout {
                    host: format!("{label} ({still})"),
                    phase: match kind {
                        Kind::Deployment => Phase::Boot,
                        _ => Phase::Shutdown,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.interval) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    async fn read_deployment(&self, ns: &str, name: &str) -> Result<Deployment> {
        let call = self.call("get", Kind::Deployment, ns, Some(name));
        self.get(&call)
            .await?
            .ok_or_else(|| self.not_found(Kind::Deployment, ns, name))
    }

    /// The row of a deleted pod whose controller is not a Deployment: how many of the
    /// controller's pods are ready.
    async fn owned_pods_row(
        &self,
        ns: &str,
        id: &str,
        kind: &str,
        owner: &str,
        uid: &str,
    ) -> Result<Server> {
        let pods: Vec<Pod> = self
            .list_all::<Pod>(ns, Kind::Pod)
            .await?
            .into_iter()
            .filter(|p| controller_of(&p.metadata).is_some_and(|c| c.uid == uid))
            .collect();
        let ready = pods
            .iter()
            .filter(|p| pod_state(p).0 == ServerStatus::Running)
            .count();
        let status = if !pods.is_empty() && ready == pods.len() {
            ServerStatus::Running
        } else {
            ServerStatus::Pending
        };
        Ok(Server {
            provider: "kubernetes".into(),
            account: self.name.clone(),
            region: ns.to_string(),
            id: id.to_string(),
            name: Some(format!("{kind}/{owner}")),
            status,
            raw_state: format!(
                "deleted; {ready}/{} pods of {kind} {owner} ready",
                pods.len()
            ),
            public_ips: Vec::new(),
            private_ips: Vec::new(),
            tags: BTreeMap::new(),
            launched_at_ms: None,
        })
    }

    fn owner_of(&self, ns: &str, pod: &str) -> Option<Owner> {
        self.replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(ns.to_string(), pod.to_string()))
            .cloned()
    }

    /// Every item of a namespaced collection, page after page.
    async fn list_all<T: DeserializeOwned>(&self, ns: &str, kind: Kind) -> Result<Vec<T>> {
        let call = self.call("list", kind, ns, None);
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request =
                Request::get(kind.collection(ns)).query("limit", PAGE_SIZE.to_string());
            if let Some(t) = &token {
                request = request.query("continue", t.clone());
            }
            let page: List<T> = self.send_json(request, &call).await?;
            items.extend(page.items);
            match page.metadata.continue_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                Some(_) => return Err(self.malformed(&call, "the same continue token twice")),
                None => return Ok(items),
            }
        }
        Err(self.malformed(&call, &format!("more than {MAX_PAGES} pages")))
    }

    /// A GET of one object; `None` when the API server answers 404.
    async fn get<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Option<T>> {
        let path = call.kind.object(call.ns, call.name.unwrap_or_default());
        match self.service.send_raw(Request::get(path)).await? {
            Ok(response) => Ok(Some(self.decode(call, &response.body)?)),
            Err(failure) if failure.status == 404 => Ok(None),
            Err(failure) => Err(self.failure(call, Retry::Idempotent, &failure)),
        }
    }

    async fn send(&self, request: Request, call: &Call<'_>) -> Result<Vec<u8>> {
        let retry = request.retry;
        match self.service.send_raw(request).await? {
            Ok(response) => Ok(response.body),
            Err(failure) => Err(self.failure(call, retry, &failure)),
        }
    }

    async fn send_json<T: DeserializeOwned>(&self, request: Request, call: &Call<'_>) -> Result<T> {
        let body = self.send(request, call).await?;
        self.decode(call, &body)
    }

    fn decode<T: DeserializeOwned>(&self, call: &Call<'_>, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| {
            self.malformed(
                call,
                &format!("not the JSON the Kubernetes API documents ({e})"),
            )
        })
    }

    fn malformed(&self, call: &Call<'_>, reason: &str) -> Error {
        Error::MalformedResponse {
            what: format!("{} ({call})", self.service.name()),
            reason: reason.to_string(),
        }
    }

    /// The typed error of a failed call, from the API's `Status` object (its HTTP status
    /// only when the body is not one: a proxy, a load balancer).
    fn failure(&self, call: &Call<'_>, retry: Retry, failure: &HttpFailure) -> Error {
        let status = failure
            .json::<ApiStatus>()
            .filter(|s| s.kind.as_deref() == Some("Status"));
        if retry == Retry::NotIdempotent && matches!(failure.status, 500 | 502 | 503 | 504) {
            let said = status
                .as_ref()
                .and_then(|s| s.message.as_deref())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Error::OutcomeUnknown {
                what: format!("{call} on {}", self.service.name()),
                reason: format!("HTTP {}{said}", failure.status),
            };
        }
        if failure.status == 404
            && let Some(name) = call.name
        {
            return self.not_found(call.kind, call.ns, name);
        }
        let Some(status) = status else {
            return self.service.status_error(failure).about(call);
        };
        let (verb, resource, ns) = (call.verb, call.kind.plural(), call.ns);
        let (code, hint) = match failure.status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "the API server did not accept the credentials of {}: a token may have expired or a client certificate may not be trusted any more",
                    self.source
                ),
            ),
            403 => (
                ErrorCode::PermissionDenied,
                format!(
                    "the credentials are valid but may not {verb} {resource} in namespace {ns}: grant it through RBAC (check with `kubectl auth can-i {verb} {resource} -n {ns}`)"
                ),
            ),
            404 => (
                ErrorCode::NotFound,
                "check the namespace, and that the endpoint is the cluster's API server".into(),
            ),
            409 => (
                ErrorCode::Conflict,
                "it changed meanwhile: read its state again, then retry".into(),
            ),
            429 => (
                ErrorCode::RateLimited,
                format!(
                    "the API server limits the request rate{}: wait and try again",
                    failure
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| format!(" (it asks to retry after {v}s)"))
                        .unwrap_or_default()
                ),
            ),
            s if s >= 500 => (
                ErrorCode::ServiceFailed,
                "the API server failed: try again later, or check the cluster's control plane"
                    .into(),
            ),
            _ => (
                ErrorCode::ServiceFailed,
                "the API server refused the request".into(),
            ),
        };
        let message: String = status
            .message
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let reason = status.reason.unwrap_or_else(|| "Failure".into());
        Error::Service {
            service: self.service.name().to_string(),
            code,
            status: failure.status,
            message: format!("{call}: {reason}: {message}; {hint}"),
        }
    }

    fn not_found(&self, kind: Kind, ns: &str, name: &str) -> Error {
        let what = match kind {
            Kind::Deployment => "Kubernetes deployment",
            Kind::Pod => "Kubernetes pod",
            Kind::ReplicaSet => "Kubernetes replicaset",
        };
        Error::NotFound {
            what,
            name: name.to_string(),
            hint: Some(format!(
                "not in namespace {ns} of kubernetes account \"{}\": check the name (a restarted pod has a new name: list the servers again)",
                self.name
            )),
        }
    }

    fn call<'a>(
        &self,
        verb: &'static str,
        kind: Kind,
        ns: &'a str,
        name: Option<&'a str>,
    ) -> Call<'a> {
        Call {
            verb,
            kind,
            ns,
            name,
        }
    }

    /// The kind and name of `id` (`deployment/NAME`, `pod/NAME`) in a configured namespace.
    fn target<'a>(&self, ns: &str, id: &'a str) -> Result<(Kind, &'a str)> {
        if !self.namespaces.iter().any(|n| n == ns) {
            return Err(Error::invalid(format!(
                "kubernetes \"{}\": namespace {ns} is not configured (configured: {})",
                self.name,
                self.namespaces.join(", ")
            )));
        }
        let parsed = match id.split_once('/') {
            Some(("deployment", name)) => Some((Kind::Deployment, name)),
            Some(("pod", name)) => Some((Kind::Pod, name)),
            _ => None,
        };
        match parsed {
            Some((kind, name)) if valid_name(name, 253) => Ok((kind, name)),
            _ => Err(Error::invalid(format!(
                "`{id}` is not a Kubernetes server id: write deployment/NAME or pod/NAME"
            ))),
        }
    }

    fn deployment_row(&self, ns: &str, d: Deployment) -> Server {
        let (status, raw_state) = deployment_state(&d);
        Server {
            provider: "kubernetes".into(),
            account: self.name.clone(),
            region: ns.to_string(),
            id: format!("deployment/{}", d.metadata.name),
            name: Some(d.metadata.name),
            status,
            raw_state,
            public_ips: Vec::new(),
            private_ips: Vec::new(),
            tags: d.metadata.labels,
            launched_at_ms: epoch_ms(d.metadata.creation_timestamp.as_deref()),
        }
    }

    fn pod_row(&self, ns: &str, p: Pod) -> Server {
        let (status, raw_state) = pod_state(&p);
        let mut private_ips: Vec<String> = p.status.pod_ips.into_iter().map(|i| i.ip).collect();
        if let Some(ip) = p.status.pod_ip
            && !private_ips.contains(&ip)
        {
            private_ips.insert(0, ip);
        }
        Server {
            provider: "kubernetes".into(),
            account: self.name.clone(),
            region: ns.to_string(),
            id: format!("pod/{}", p.metadata.name),
            name: Some(p.metadata.name),
            status,
            raw_state,
            public_ips: Vec::new(),
            private_ips,
            tags: p.metadata.labels,
            launched_at_ms: epoch_ms(p.status.start_time.as_deref()),
        }
    }
}

/// A Deployment's state: running once its rollout is complete, pending during one, stopped
/// at 0 replicas; `raw_state` counts its replicas like `kubectl get deployments`.
fn deployment_state(d: &Deployment) -> (ServerStatus, String) {
    let want = d.spec.replicas.unwrap_or(1);
    let s = &d.status;
    let paused = if d.spec.paused { " (paused)" } else { "" };
    let ready = format!("{}/{want} ready", s.ready_replicas);
    if let Some(why) = stalled(d) {
        return (
            ServerStatus::Unknown,
            format!("{ready}, rollout stalled ({why})"),
        );
    }
    if want == 0 {
        return if s.replicas == 0 {
            (
                ServerStatus::Stopped,
                format!("{ready} (scaled to 0){paused}"),
            )
        } else {
            (
                ServerStatus::Stopping,
                format!("scaling to 0, {} left{paused}", s.replicas),
            )
        };
    }
    let observed = s.observed_generation >= d.metadata.generation;
    let complete = observed
        && s.updated_replicas == want
        && s.replicas == want
        && s.available_replicas == want;
    if complete {
        (ServerStatus::Running, format!("{ready}{paused}"))
    } else if !observed {
        (
            ServerStatus::Pending,
            format!("{ready}, rollout starting{paused}"),
        )
    } else {
        (
            ServerStatus::Pending,
            format!(
                "{ready}, {}/{want} updated, {} available{paused}",
                s.updated_replicas, s.available_replicas
            ),
        )
    }
}

/// Why a Deployment's rollout stalled (its `Progressing` condition says
/// `ProgressDeadlineExceeded`), if it did.
fn stalled(d: &Deployment) -> Option<String> {
    d.status
        .conditions
        .iter()
        .find(|c| {
            c.kind == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        })
        .map(|c| match &c.message {
            Some(m) => format!("ProgressDeadlineExceeded: {m}"),
            None => "ProgressDeadlineExceeded".to_string(),
        })
}

/// A Pod's state: running when it is Ready, pending before, stopping while it terminates,
/// stopped once its containers ended; `raw_state` like kubectl's STATUS column.
fn pod_state(p: &Pod) -> (ServerStatus, String) {
    if p.metadata.deletion_timestamp.is_some() {
        return (ServerStatus::Stopping, "Terminating".into());
    }
    let phase = p.status.phase.as_deref().unwrap_or("Unknown");
    let containers = &p.status.container_statuses;
    let ready_count = containers.iter().filter(|c| c.ready).count();
    let why = containers
        .iter()
        .find_map(|c| {
            c.state
                .waiting
                .as_ref()
                .or(c.state.terminated.as_ref())
                .and_then(|s| s.reason.clone())
        })
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let ready = p
        .status
        .conditions
        .iter()
        .any(|c| c.kind == "Ready" && c.status == "True");
    let counts = format!("{ready_count}/{} ready", containers.len());
    match phase {
        "Running" if ready => (ServerStatus::Running, format!("Running, {counts}")),
        "Running" => (ServerStatus::Pending, format!("Running, {counts}{why}")),
        "Pending" => (ServerStatus::Pending, format!("Pending{why}")),
        "Succeeded" => (ServerStatus::Stopped, "Completed".into()),
        "Failed" => (ServerStatus::Stopped, format!("Failed{why}")),
        other => (ServerStatus::Unknown, other.to_string()),
    }
}

fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .find(|o| o.controller == Some(true))
}

/// A DNS subdomain (RFC 1123) of at most `max` characters, as object names are.
fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.'])
}

fn epoch_ms(time: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(time?)
        .ok()
        .map(|t| t.timestamp_millis())
}

// ---- The kubeconfig file, as much of it as paaf reads (other keys are ignored) ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Kubeconfig {
    clusters: Vec<NamedCluster>,
    users: Vec<NamedUser>,
    contexts: Vec<NamedContext>,
    #[serde(rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: ClusterEntry,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct ClusterEntry {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: UserEntry,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct UserEntry {
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<SecretString>,
    token: Option<SecretString>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    username: Option<String>,
    exec: Option<serde_yaml_ng::Value>,
    auth_provider: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: ContextEntry,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContextEntry {
    cluster: String,
    user: String,
}

// ---- The Kubernetes API's JSON, as much of it as paaf reads ----

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    metadata: ListMeta,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ObjectMeta {
    name: String,
    uid: String,
    generation: i64,
    creation_timestamp: Option<String>,
    deletion_timestamp: Option<String>,
    labels: BTreeMap<String, String>,
    owner_references: Vec<OwnerReference>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OwnerReference {
    kind: String,
    name: String,
    uid: String,
    controller: Option<bool>,
}

#[derive(Deserialize)]
struct Deployment {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: DeploymentSpec,
    #[serde(default)]
    status: DeploymentStatus,
}

#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentSpec {
    replicas: Option<i64>,
    paused: bool,
    progress_deadline_seconds: u64,
}

impl Default for DeploymentSpec {
    fn default() -> Self {
        DeploymentSpec {
            replicas: None,
            paused: false,
            // The API's default.
            progress_deadline_seconds: 600,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentStatus {
    observed_generation: i64,
    replicas: i64,
    updated_replicas: i64,
    ready_replicas: i64,
    available_replicas: i64,
    conditions: Vec<Condition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ReplicaSet {
    metadata: ObjectMeta,
}

#[derive(Deserialize)]
struct Pod {
    metadata: ObjectMeta,
    #[serde(default)]
    status: PodStatus,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PodStatus {
    phase: Option<String>,
    conditions: Vec<Condition>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Vec<PodIp>,
    start_time: Option<String>,
    container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
struct PodIp {
    ip: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContainerStatus {
    ready: bool,
    state: ContainerState,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContainerState {
    waiting: Option<StateReason>,
    terminated: Option<StateReason>,
}

#[derive(Deserialize)]
struct StateReason {
    reason: Option<String>,
}

/// The API's error object (`kind: Status`).
#[derive(Deserialize)]
struct ApiStatus {
    kind: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(generation: i64, spec: i64, status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": spec},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_runs_only_once_its_rollout_is_complete() {
        let done = serde_json::json!({"observedGeneration": 4, "replicas": 3,
            "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3});
        assert_eq!(
            deployment_state(&deployment(4, 3, done.clone())),
            (ServerStatus::Running, "3/3 ready".into())
        );
        // A new generation the controller has not seen yet: not done, whatever the counts.
        assert_eq!(
            deployment_state(&deployment(5, 3, done)).0,
            ServerStatus::Pending
        );
        let surging = serde_json::json!({"observedGeneration": 5, "replicas": 4,
            "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 4});
        let (status, raw) = deployment_state(&deployment(5, 3, surging));
        assert_eq!(status, ServerStatus::Pending, "old replicas still there");
        assert_eq!(raw, "4/3 ready, 3/3 updated, 4 available");
        let scaled = serde_json::json!({"observedGeneration": 2});
        assert_eq!(
            deployment_state(&deployment(2, 0, scaled)).0,
            ServerStatus::Stopped
        );
        let stuck = serde_json::json!({"observedGeneration": 5, "replicas": 3,
            "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-5d\" has timed out progressing."}]});
        let (status, raw) = deployment_state(&deployment(5, 3, stuck));
        assert_eq!(status, ServerStatus::Unknown);
        assert!(raw.contains("rollout stalled"), "{raw}");
    }

    #[test]
    fn pod_states_follow_phase_readiness_and_deletion() {
        let pod = |v: serde_json::Value| -> Pod { serde_json::from_value(v).unwrap() };
        let crashing = pod(serde_json::json!({"metadata": {"name": "p"}, "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
        }}));
        assert_eq!(
            pod_state(&crashing),
            (
                ServerStatus::Pending,
                "Running, 0/1 ready (CrashLoopBackOff)".into()
            )
        );
        let terminating = pod(serde_json::json!({"metadata": {"name": "p",
            "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}}));
        assert_eq!(pod_state(&terminating).0, ServerStatus::Stopping);
        let done =
            pod(serde_json::json!({"metadata": {"name": "p"}, "status": {"phase": "Succeeded"}}));
        assert_eq!(pod_state(&done).0, ServerStatus::Stopped);
    }

    #[test]
    fn a_pkcs1_rsa_key_is_wrapped_into_pkcs8() {
        let pkcs1 = include_str!("../../tests/fixtures/kubernetes/client-rsa.key");
        let pkcs8 = include_str!("../../tests/fixtures/kubernetes/client-pkcs8.key");
        let wrapped = pkcs8_pem(Path::new("kubeconfig"), "admin", pkcs1).unwrap();
        let body =
            |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
        // openssl wrote the same key both ways: the wrapping must give its PKCS#8 bytes.
        assert_eq!(body(wrapped.expose_secret()), body(pkcs8));
        let e = pkcs8_pem(
            Path::new("kubeconfig"),
            "admin",
            "-----BEGIN EC PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----",
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Config);
        assert!(e.to_string().contains("openssl pkcs8 -topk8"), "{e}");
        assert_eq!(der_length(5), vec![5]);
        assert_eq!(der_length(1190), vec![0x82, 0x04, 0xa6]);
    }

    #[test]
    fn ids_name_a_deployment_or_a_pod() {
        let k = Kubernetes::connect(
            "dev",
            ClusterAccess {
                server: "https://127.0.0.1:6443".into(),
                auth: HttpAuth::None,
                tls: TlsConfig::default(),
                source: "test".into(),
            },
            &[],
            Limits::default(),
        )
        .unwrap();
        assert_eq!(k.namespaces(), ["default"]);
        assert_eq!(
            k.target("default", "deployment/web").unwrap(),
            (Kind::Deployment, "web")
        );
        assert_eq!(
            k.target("default", "pod/web-5d-x").unwrap(),
            (Kind::Pod, "web-5d-x")
        );
        for bad in ["web", "service/web", "pod/", "pod/Web", "deployment/a/b"] {
            let e = k.target("default", bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}");
        }
        let e = k.target("kube-system", "pod/x").unwrap_err();
        assert!(e.to_string().contains("not configured"), "{e}");
    }
}
