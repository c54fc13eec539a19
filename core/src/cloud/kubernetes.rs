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

use super::prelude::*;
use crate::error::Phase;
use crate::http::TlsIdentity;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Items per list page (the API server's default chunk size in kubectl).
const PAGE_SIZE: u32 = 500;
/// The namespace listed when the account names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where and how to reach one cluster's API server. `Debug` shows no credential.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    /// The API server's URL (`https://10.0.0.1:6443`).
    pub server: String,
    pub auth: HttpAuth,
    pub tls: TlsConfig,
    /// Where these came from, for messages (`context "prod" of /home/me/.kube/config`).
    pub source: String,
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
        let (context_file, ctx) =
            named(&loaded, &context_name, |k| &k.contexts).ok_or_else(|| {
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
        let (cluster_file, cluster) =
            named(&loaded, &ctx.cluster, |k| &k.clusters).ok_or_else(|| {
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
        let ca = (
            &cluster.certificate_authority,
            &cluster.certificate_authority_data,
        );
        let ca_pem = file_or_data(cluster_file, ca, "certificate-authority")?;
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
        let (user_file, user) = named(&loaded, &ctx.user, |k| &k.users).ok_or_else(|| {
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

/// The entry called `name` in the `list` of the first of the `loaded` kubeconfigs that has
/// one (kubectl's merge: the first file naming an entry wins), and that file.
fn named<'a, T>(
    loaded: &'a [(PathBuf, Kubeconfig)],
    name: &str,
    list: impl Fn(&'a Kubeconfig) -> &'a Vec<Named<T>>,
) -> Option<(&'a PathBuf, &'a T)> {
    loaded.iter().find_map(|(path, k)| {
        let entry = list(k).iter().find(|n| n.name == name)?;
        Some((path, &entry.entry))
    })
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
    let cert = (&user.client_certificate, &user.client_certificate_data);
    let cert = file_or_data(file, cert, "client-certificate")?;
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
    (path, data): (&Option<String>, &Option<String>),
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
    use pkcs8::der::{EncodePem, SecretDocument, pem::LineEnding};
    let unusable = |what: &str| {
        kubeconfig_error(
            file,
            format!("the client key of user `{user}` is {what}"),
            "convert it to PKCS#8: `openssl pkcs8 -topk8 -nocrypt -in client.key`",
        )
    };
    if pem.contains("ENCRYPTED") {
        return Err(unusable("encrypted"));
    }
    let (label, der) =
        SecretDocument::from_pem(pem.trim()).map_err(|_| unusable("not valid PEM"))?;
    match label {
        "PRIVATE KEY" => Ok(SecretString::from(pem.trim().to_string())),
        "RSA PRIVATE KEY" => pkcs8::PrivateKeyInfo::new(pkcs1::ALGORITHM_ID, der.as_bytes())
            .to_pem(LineEnding::LF)
            .map(SecretString::from)
            .map_err(|_| unusable("not a valid RSA key")),
        _ => Err(unusable(
            "neither a PKCS#8 (BEGIN PRIVATE KEY) nor an RSA (BEGIN RSA PRIVATE KEY) key",
        )),
    }
}

/// The kubeconfig in `text`; one that does not parse is an error saying where only:
/// serde_yaml's message quotes the text it found there, which may be a token.
fn parse_kubeconfig(path: &Path, text: &str) -> Result<Kubeconfig> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e.location();
        let column = at.as_ref().map(|l| format!(" column {}", l.column())).unwrap_or_default();
        Error::Config {
            file: path.to_path_buf(),
            line: at.map(|l| l.line()),
            message: format!(
                "not a kubeconfig paaf can read: not YAML, or a key holds what it cannot (at{column})"
            ),
            fix: "check it with `kubectl config view --kubeconfig FILE`".into(),
        }
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
#[derive(Debug)]
pub struct Kubernetes {
    name: String,
    namespaces: Vec<String>,
    api: Service,
    /// The owner of each pod this account deleted (namespace, pod name), so that reading the
    /// pod after it is gone reports what replaces it.
    replaced: Mutex<HashMap<(String, String), Owner>>,
}

impl CloudProvider for Kubernetes {
    kind_and_name!(CloudKind::Kubernetes);

    /// The Deployments and Pods of every configured namespace, read concurrently; a list
    /// that fails is an error row of its namespace, the others are still listed. Sorted by
    /// namespace, then id.
    async fn list(&self) -> Inventory {
        let (kind, name, namespaces) = (Self::KIND, &self.name, &self.namespaces);
        let (mut inventory, pods) = futures::join!(
            Inventory::of_regions(kind, name, namespaces, |ns| self.rows(ns, Kind::Deployment)),
            Inventory::of_regions(kind, name, namespaces, |ns| self.rows(ns, Kind::Pod)),
        );
        inventory.servers.extend(pods.servers);
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        inventory.errors.extend(pods.errors);
        let position =
            |region: &Option<String>| namespaces.iter().position(|n| Some(n) == region.as_ref());
        inventory.errors.sort_by_key(|e| position(&e.region));
        // Both lists failing for the same reason (a 401) is one row, not two.
        inventory.errors.dedup_by(|a, b| {
            a.region == b.region
                && a.error.code == b.error.code
                && a.error.code == ErrorCode::AuthFailed
        });
        inventory
    }

    /// `deployment/NAME` or `pod/NAME` in namespace `ns`, read now. A pod this account
    /// deleted reads as its owner once it is gone (see the module's doc).
    async fn read(&self, ns: &str, id: &str) -> Result<Server> {
        let (kind, name) = self.target(ns, id)?;
        if kind == Kind::Deployment {
            let d = self.read_deployment(ns, name).await?;
            return Ok(self.deployment_row(ns, d));
        }
        if let Some(pod) = self.get::<Pod>(Kind::Pod, ns, name).await? {
            return Ok(self.pod_row(ns, pod));
        }
        let owner = self
            .replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(ns.to_string(), name.to_string()))
            .cloned();
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
            None => Err(self.not_found(ns, id)),
        }
    }

    /// Sends `action` once: a rollout restart of a Deployment, the deletion of a Pod (whose
    /// controller replaces it). A failure after the request may have reached the API server
    /// is `outcome-unknown`.
    async fn power(&self, ns: &str, id: &str, action: PowerAction) -> Result<Accepted> {
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
        Ok(accepted)
    }

    /// Waits for what the API answered with: a restart's new generation observed by the
    /// Deployment controller (a rollout past its progress deadline fails the wait), a
    /// deleted pod gone (or replaced under its name).
    async fn settle(&self, ns: &str, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        let (kind, name) = self.target(ns, &accepted.id)?;
        let label = format!(
            "{} (kubernetes \"{}\", namespace {ns})",
            accepted.id, self.name
        );
        let operation = accepted.operation.as_deref().unwrap_or_default();
        let generation = operation
            .strip_prefix("generation=")
            .and_then(|g| g.parse::<i64>().ok());
        let uid = operation.strip_prefix("uid=").unwrap_or_default();
        let phase = match kind {
            Kind::Deployment => Phase::Boot,
            _ => Phase::Shutdown,
        };
        let follow = wait.follow(label.as_str(), phase);
        let label = label.as_str();
        let read = || async move {
            if kind == Kind::Pod {
                let pod = self.get::<Pod>(Kind::Pod, ns, name).await?;
                return Ok(match pod.is_none_or(|p| p.metadata.uid != uid) {
                    true => Polled::Done(()),
                    false => Polled::pending((), "still terminating", None),
                });
            }
            let Some(generation) = generation else {
                return Ok(Polled::Done(()));
            };
            let d = self.read_deployment(ns, name).await?;
            let observed = d.status.observed_generation >= generation;
            if let Some(stalled) = stalled(&d)
                && observed
            {
                return Err(Error::Timeout {
                    host: format!("{label}: the rollout stalled ({stalled})"),
                    phase: Phase::Boot,
                    after: Duration::from_secs(d.spec.progress_deadline_seconds),
                });
            }
            let still = "the controller has not picked up the restart";
            Ok(match observed {
                true => Polled::Done(()),
                false => Polled::pending((), still, None),
            })
        };
        follow_operation(&follow, read, |_| {}).await.map(drop)
    }

    /// A restart's new generation observed by the Deployment controller (then its rollout
    /// followed to complete), a deleted pod gone or replaced: its pods are new ones.
    fn operation_proves(&self, action: PowerAction) -> bool {
        matches!(action, PowerAction::Reboot | PowerAction::HardReboot)
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

    /// A request that does `verb` to `name` (or, without one, to the collection): named so
    /// in its errors (`patch deployments/web in namespace shop`), a refusal naming the RBAC
    /// permission it needs (`patch deployments -n shop`).
    fn doing(self, verb: &str, ns: &str, name: Option<&str>) -> Doing {
        let what = match name {
            Some(name) => format!("{}/{name}", self.plural()),
            None => self.plural().to_string(),
        };
        Doing::new(format!("{verb} {what} in namespace {ns}"))
            .needs(format!("{verb} {} -n {ns}", self.plural()))
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

impl FromConfig for Kubernetes {
    type Keys = KubernetesConfig;

    /// The account `name` of a `kubernetes` `[[clouds]]` entry: its kubeconfig's context,
    /// `token` (instead of the kubeconfig's user) and `endpoint` (instead of its server). With
    /// both `endpoint` and `token` no kubeconfig is needed; one that exists still gives the CA.
    fn connect(
        name: &str,
        k8s: &KubernetesConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
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
        Kubernetes::with_access(name, access, &k8s.namespaces, limits)
    }
}

impl Kubernetes {
    /// The account `name` on the cluster of `access`, listing `namespaces` (none: `default`).
    pub fn with_access(
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
        let account = format!("kubernetes \"{name}\"");
        let namespace = |ns: &str| valid_name(ns, 63) && !ns.contains('.');
        let not_one = "a namespace name (lowercase letters, digits and -)";
        check_listed(&account, "namespace", &namespaces, namespace, not_one)?;
        let mut api = Service::new(
            &format!("kubernetes \"{name}\""),
            &access.server,
            access.auth,
            limits,
        )?
        .with_vendor(KubernetesErrors {
            source: access.source,
        });
        if access.tls.ca_pem.is_some() || access.tls.identity.is_some() {
            api = api.with_tls(&access.tls)?;
        }
        Ok(Kubernetes {
            name: name.to_string(),
            namespaces,
            api,
            replaced: Mutex::new(HashMap::new()),
        })
    }

    /// The namespaces listed, in order.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The rows of every Deployment (or Pod) of namespace `ns`.
    async fn rows(&self, ns: &str, kind: Kind) -> Result<Vec<Server>> {
        Ok(match kind {
            Kind::Deployment => (self.list_all::<Deployment>(ns, kind).await?.into_iter())
                .map(|d| self.deployment_row(ns, d))
                .collect(),
            _ => (self.list_all::<Pod>(ns, Kind::Pod).await?.into_iter())
                .map(|p| self.pod_row(ns, p))
                .collect(),
        })
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
        let doing = Kind::Deployment.doing("patch", ns, Some(name));
        let patched: Deployment = self.api.fetch_json(request, &doing).await?;
        let generation = patched.metadata.generation;
        Ok(Accepted {
            status: Some(ServerStatus::Pending),
            raw_state: Some(format!("rollout restart (generation {generation})")),
            ..Accepted::without_state(action, id, Some(format!("generation={generation}")))
        })
    }

    async fn delete_pod(
        &self,
        ns: &str,
        id: &str,
        name: &str,
        action: PowerAction,
    ) -> Result<Accepted> {
        let pod: Pod = self
            .get(Kind::Pod, ns, name)
            .await?
            .ok_or_else(|| self.not_found(ns, id))?;
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
        let doing = Kind::Pod.doing("delete", ns, Some(name));
        self.api.fetch(request, &doing).await?;
        self.replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((ns.to_string(), name.to_string()), owner);
        Ok(Accepted {
            status: Some(ServerStatus::Stopping),
            raw_state: Some("Terminating".into()),
            ..Accepted::without_state(action, id, Some(format!("uid={uid}")))
        })
    }

    /// The controller that will replace `pod`; a pod nothing replaces is refused.
    async fn replacer(&self, ns: &str, name: &str, pod: &Pod) -> Result<Owner> {
        let Some(controller) = controller_of(&pod.metadata) else {
            return Err(Error::invalid(format!(
                "pod/{name} in namespace {ns} has no controller: deleting it would not bring it back, so paaf does not restart it (delete it with kubectl if that is what you mean)"
            )));
        };
        let other = || Owner::Other {
            kind: controller.kind.clone(),
            name: controller.name.clone(),
            uid: controller.uid.clone(),
        };
        match controller.kind.as_str() {
            "ReplicaSet" => {
                // Without the right to read ReplicaSets, the pod is followed through its
                // ReplicaSet's pods instead of the Deployment: no reason to refuse the restart.
                let rs = self.get::<ReplicaSet>(Kind::ReplicaSet, ns, &controller.name);
                let deployment = match rs.await {
                    Ok(Some(rs)) => controller_of(&rs.metadata)
                        .filter(|c| c.kind == "Deployment")
                        .map(|c| c.name.clone()),
                    _ => None,
                };
                Ok(deployment.map_or_else(other, Owner::Deployment))
            }
            "StatefulSet" | "DaemonSet" => Ok(other()),
            kind => Err(Error::invalid(format!(
                "pod/{name} in namespace {ns} belongs to {kind} {}: paaf restarts only pods of a Deployment, ReplicaSet, StatefulSet or DaemonSet, which replace a deleted pod",
                controller.name
            ))),
        }
    }

    async fn read_deployment(&self, ns: &str, name: &str) -> Result<Deployment> {
        let id = format!("deployment/{name}");
        self.get(Kind::Deployment, ns, name)
            .await?
            .ok_or_else(|| self.not_found(ns, &id))
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
        let raw_state = format!(
            "deleted; {ready}/{} pods of {kind} {owner} ready",
            pods.len()
        );
        Ok(Server {
            name: Some(format!("{kind}/{owner}")),
            ..self.row(ns, id.to_string(), status, raw_state)
        })
    }

    /// Every item of a namespaced collection, page after page (`limit`, then `continue`).
    async fn list_all<T: DeserializeOwned + Object>(&self, ns: &str, kind: Kind) -> Result<Vec<T>> {
        let doing = &kind.doing("list", ns, None);
        let name = self.api.name();
        all_items(
            name,
            None,
            |o: &T| o.meta().name.as_str(),
            |token| async move {
                let mut request =
                    Request::get(kind.collection(ns)).query("limit", PAGE_SIZE.to_string());
                if let Some(token) = token {
                    request = request.query("continue", token);
                }
                let page: List<T> = self.api.fetch_json(request, doing).await?;
                let next = page.metadata.continue_token.filter(|t| !t.is_empty());
                Ok(Page {
                    servers: page.items,
                    next: next.map(Some),
                })
            },
        )
        .await
    }

    /// A GET of one object; `None` when the API server answers 404.
    async fn get<T: DeserializeOwned>(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
    ) -> Result<Option<T>> {
        let request = Request::get(kind.object(ns, name));
        match self.api.send_raw(request).await? {
            Ok(response) => response.json(self.api.name()).map(Some),
            Err(failure) if failure.status == 404 => Ok(None),
            Err(failure) => {
                let doing = kind.doing("get", ns, Some(name));
                Err(self.api.failure_error(&failure, Retry::Idempotent, &doing))
            }
        }
    }

    /// `id` (`deployment/NAME`, `pod/NAME`) is not in namespace `ns`.
    fn not_found(&self, ns: &str, id: &str) -> Error {
        Error::NotFound {
            what: "Kubernetes object",
            name: id.to_string(),
            hint: Some(format!(
                "not in namespace {ns} of kubernetes account \"{}\": check the name (a restarted pod has a new name: list the servers again)",
                self.name
            )),
        }
    }

    /// The kind and name of `id` (`deployment/NAME`, `pod/NAME`) in a configured namespace.
    fn target<'a>(&self, ns: &str, id: &'a str) -> Result<(Kind, &'a str)> {
        let account = format!("kubernetes \"{}\"", self.name);
        check_configured(&account, "namespace", ns, &self.namespaces)?;
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

    /// A row of this account in namespace `ns`, without addresses, tags or time yet.
    fn row(&self, ns: &str, id: String, status: ServerStatus, raw_state: String) -> Server {
        Server {
            name: id.split_once('/').map(|(_, n)| n.to_string()),
            status,
            raw_state,
            ..Server::of(Self::KIND, &self.name, ns, id)
        }
    }

    fn deployment_row(&self, ns: &str, d: Deployment) -> Server {
        let (status, raw_state) = deployment_state(&d);
        let id = format!("deployment/{}", d.metadata.name);
        Server {
            tags: d.metadata.labels,
            launched_at_ms: d
                .metadata
                .creation_timestamp
                .as_deref()
                .and_then(launched_at),
            ..self.row(ns, id, status, raw_state)
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
        let id = format!("pod/{}", p.metadata.name);
        Server {
            private_ips,
            tags: p.metadata.labels,
            launched_at_ms: p.status.start_time.as_deref().and_then(launched_at),
            ..self.row(ns, id, status, raw_state)
        }
    }
}

/// The API's failures (a `Status` object: `reason`, `message`), for the failure policy; the
/// remedies name the credentials' source and the RBAC permission a refusal lacks. A body
/// that is not a `Status` (a proxy's) keeps the generic hints.
struct KubernetesErrors {
    /// Where the credentials came from (`context "prod" of ~/.kube/config`).
    source: String,
}

impl Vendor for KubernetesErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let status = failure.json::<ApiStatus>()?;
        (status.kind.as_deref() == Some("Status")).then(|| {
            let reason = status.reason.unwrap_or_else(|| "Failure".into());
            Said::coded(reason, status.message.unwrap_or_default())
        })
    }

    fn hint_for(
        &self,
        code: ErrorCode,
        failure: &HttpFailure,
        said: Option<&Said>,
        doing: &Doing,
    ) -> Option<String> {
        said?;
        let permission = doing.needed().unwrap_or("VERB RESOURCE -n NAMESPACE");
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the API server did not accept the credentials of {}: a token may have expired or a client certificate may not be trusted any more",
                self.source
            ),
            ErrorCode::PermissionDenied => format!(
                "the credentials are valid but RBAC does not allow this: grant it (check with `kubectl auth can-i {permission}`)"
            ),
            ErrorCode::NotFound => {
                "check the namespace, and that the endpoint is the cluster's API server".into()
            }
            ErrorCode::Conflict => "it changed meanwhile: read its state again, then retry".into(),
            ErrorCode::RateLimited => {
                "the API server limits the request rate (API Priority and Fairness): wait and try again".into()
            }
            _ if failure.status >= 500 => {
                "the API server failed: try again later, or check the cluster's control plane".into()
            }
            _ => "the API server refused the request".into(),
        })
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

// ---- The kubeconfig file, as much of it as paaf reads (other keys are ignored) ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Kubeconfig {
    clusters: Vec<Named<ClusterEntry>>,
    users: Vec<Named<UserEntry>>,
    contexts: Vec<Named<ContextEntry>>,
    #[serde(rename = "current-context")]
    current_context: Option<String>,
}

/// An entry of `clusters`, `users` or `contexts`: its name, and its `cluster`, `user` or
/// `context`.
#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(default, alias = "cluster", alias = "user", alias = "context")]
    entry: T,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct ClusterEntry {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: bool,
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

/// An object of the API, listed by [`Kubernetes::list_all`].
trait Object {
    fn meta(&self) -> &ObjectMeta;
}

impl Object for Deployment {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Object for Pod {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
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
    }

    #[test]
    fn ids_name_a_deployment_or_a_pod() {
        let k = Kubernetes::with_access(
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
        let bad = ["web", "service/web", "pod/", "pod/Web", "deployment/a/b"];
        crate::cloud::assert_refused(bad, |id| k.target("default", id).map(drop));
        let e = k.target("kube-system", "pod/x").unwrap_err();
        assert!(e.to_string().contains("not configured"), "{e}");
    }
}
