//! The Kubernetes provider (core/src/cloud/kubernetes.rs) against a contract server
//! (wiremock) that answers as the Kubernetes API reference says, failures included: its
//! [`Api`] for the scenario table, and its own cases.
//!
//! Followed:
//! - Deployments: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/
//!   (list, read, patch; `generation`, `status.observedGeneration`, replica counts) and
//!   https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#complete-deployment;
//! - rollout restart: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_restart/
//!   (the `kubectl.kubernetes.io/restartedAt` template annotation, strategic merge patch);
//! - Pods: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
//!   (list, read, delete with `gracePeriodSeconds`),
//!   https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/delete-options-v1/;
//! - ReplicaSets: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/;
//! - chunked lists (`limit`, `continue`): https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks;
//! - errors: the `Status` object, https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/,
//!   and API Priority and Fairness's 429 + Retry-After:
//!   https://kubernetes.io/docs/concepts/cluster-administration/flow-control/;
//! - kubeconfig: https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/.

use super::followed;
use super::followed_seeing;
use super::{CloudMock, Facts, RebootMock, assert_error_row, keys_and_regions, limits, rows};
use crate::support::{Serve, given, requests, start_expecting, start_serving};
use crate::support::{assert_error, assert_fails};
use paaf_core::ErrorCode;
use paaf_core::cloud::kubernetes::{ClusterAccess, Kubernetes};
use paaf_core::cloud::{Accepted, CloudProvider, PowerAction, ServerStatus};
use paaf_core::config::Config;
use paaf_core::events::CancellationToken;
use paaf_core::secrets::{MemoryStore, SecretStore};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.k8s-sa-token.sIgNaTuRe0123";
const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const POD: &str = "/api/v1/namespaces/shop/pods/web-5d9c7b6f4-x2x9k";

/// The Kubernetes API for the scenario table: the Deployments of namespace `default` (its
/// pods listed empty), a rollout restart (a read, then the PATCH), failures as `Status`.
pub struct Api;

impl CloudMock for Api {
    const PER_REGION: bool = true;

    fn read_path(id: &str) -> String {
        let name = id.trim_start_matches("deployment/");
        format!("{}/{name}", Self::LIST)
    }

    fn server(id: &str, region: &str) -> Value {
        let mut d = complete(4);
        d["metadata"]["name"] = json!(id.trim_start_matches("deployment/"));
        d["metadata"]["namespace"] = json!(region);
        d
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {}, "items": servers})
    }

    /// A `continue` token that comes back: an API fault, not an endless loop.
    fn looping_page() -> Value {
        json!({"kind": "DeploymentList", "apiVersion": "apps/v1",
            "metadata": {"continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},
            "items": [Self::server("deployment/web", "default")]})
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let reason = match status {
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        };
        self::status(status, reason, message)
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(rolling(5, 4, 3, 3, 3))
    }

    fn read_answer(server: Value) -> Value {
        server
    }

    fn keys(regions: &[&str]) -> String {
        let kubeconfig = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kubernetes/contract.kubeconfig");
        let kubeconfig = format!("kubeconfig = \"{}\"", kubeconfig.display());
        keys_and_regions(&["token = \"keyring:contract\"", &kubeconfig], regions)
    }

    fn list_in(namespace: &str) -> String {
        format!("/apis/apps/v1/namespaces/{namespace}/deployments")
    }

    /// The Deployment read before a restart, and the namespace's pods (none).
    fn quiet_routes() -> Vec<(&'static str, String, Value)> {
        vec![
            ("GET", Self::read_path("deployment/web"), complete(4)),
            (
                "GET",
                "/api/v1/namespaces/default/pods".to_string(),
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}),
            ),
        ]
    }
    /// A restart whose new generation the controller observed and rolled out at once.
    fn reboot(_server: &MockServer) -> RebootMock {
        let done = || ResponseTemplate::new(200).set_body_json(complete(4));
        RebootMock::sent(PowerAction::Reboot, "PATCH", Self::POWER.2, done())
            .then_read(Self::read_path("deployment/web"), done())
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kubernetes")
            .join(name),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A kubeconfig with a token user (`ops`, current), a client-certificate user (`admin`), an
/// exec user (`eks`), each with a context on the cluster at `server`.
fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let text = format!(
        r#"apiVersion: v1
kind: Config
current-context: ops
clusters:
- name: dev
  cluster:
    server: {server}
    certificate-authority-data: {ca}
contexts:
- name: ops
  context: {{cluster: dev, user: ops, namespace: shop}}
- name: admin
  context: {{cluster: dev, user: admin}}
- name: eks
  context: {{cluster: dev, user: eks}}
users:
- name: ops
  user:
    token: {TOKEN}
- name: admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
"#,
        ca = b64(&fixture("client.crt")),
        cert = b64(&fixture("client.crt")),
        key = b64(&fixture("client-rsa.key")),
    );
    let path = dir.join("config");
    std::fs::write(&path, text).unwrap();
    path
}

fn account(server: &MockServer, namespaces: &[&str]) -> Kubernetes {
    let access = ClusterAccess {
        server: server.uri(),
        auth: paaf_core::http::HttpAuth::Bearer(SecretString::from(TOKEN)),
        tls: Default::default(),
        source: "test".into(),
    };
    let namespaces: Vec<String> = namespaces.iter().map(|s| s.to_string()).collect();
    Kubernetes::with_access("prod", access, &namespaces, limits()).unwrap()
}

/// `action` sent to `id` (`KIND/NAME`) in namespace `shop` by the account at `server`.
async fn power(server: &MockServer, id: &str, action: PowerAction) -> paaf_core::Result<Accepted> {
    account(server, &["shop"]).power("shop", id, action).await
}

fn deployment(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "shop", "uid": "6f1c-dep", "generation": generation,
            "creationTimestamp": "2026-01-10T08:00:00Z", "labels": {"app": "web"}
        },
        "spec": {"replicas": 3, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}}},
        "status": status,
    })
}

fn complete(generation: i64) -> Value {
    deployment(
        generation,
        json!({"observedGeneration": generation, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3}),
    )
}

fn rolling(generation: i64, observed: i64, updated: i64, total: i64, available: i64) -> Value {
    deployment(
        generation,
        json!({"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
            "readyReplicas": available, "availableReplicas": available}),
    )
}

fn pod(name: &str, uid: &str, owner: Option<(&str, &str)>, ready: bool) -> Value {
    let owners: Vec<Value> = owner
        .map(|(kind, name)| {
            json!({"apiVersion": "apps/v1", "kind": kind, "name": name,
                "uid": format!("uid-{name}"), "controller": true})
        })
        .into_iter()
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": uid,
            "labels": {"app": "web"}, "ownerReferences": owners},
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "startTime": "2026-01-10T08:01:00Z",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "web", "ready": ready,
                "state": {"running": {"startedAt": "2026-01-10T08:01:05Z"}}}]
        }
    })
}

fn status(code: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    }))
}

async fn mount_seq(server: &MockServer, verb: &str, p: &str, answers: Vec<ResponseTemplate>) {
    let last = answers.len() - 1;
    for (i, answer) in answers.into_iter().enumerate() {
        let mock = Mock::given(method(verb)).and(path(p)).respond_with(answer);
        let mock = if i < last {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

/// A rollout restart of `shop/web` accepted once, as a strategic merge patch with the
/// token; `reads`: the Deployment as read from the pre-check on (the last one repeated).
async fn mount_restart(server: &MockServer, reads: Vec<Value>) {
    let reads = reads
        .into_iter()
        .map(|d| ResponseTemplate::new(200).set_body_json(d))
        .collect();
    mount_seq(server, "GET", DEPLOY, reads).await;
    Mock::given(method("PATCH"))
        .and(path(DEPLOY))
        .and(header(
            "content-type",
            "application/strategic-merge-patch+json",
        ))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(rolling(5, 4, 3, 3, 3)))
        .expect(1)
        .mount(server)
        .await;
}

// ---- kubeconfig ----

#[tokio::test]
async fn a_token_user_of_the_current_context_sends_its_bearer_token() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = kubeconfig(dir.path(), &server.uri());
    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    server
        .expect(
            given("GET", DEPLOY).and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
    let access = ClusterAccess::from_kubeconfig(std::slice::from_ref(&file), None, None).unwrap();
    assert_eq!(access.server, server.uri());
    assert!(
        access.source.contains("context \"ops\""),
        "{}",
        access.source
    );
    let shown = format!("{access:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    let k8s = Kubernetes::with_access("prod", access, &["shop".into()], limits()).unwrap();
    assert!(!format!("{k8s:?}").contains(TOKEN));
    let web = k8s.read("shop", "deployment/web").await.unwrap();
    assert_eq!(web.status, ServerStatus::Running);
    assert_eq!(web.raw_state, "3/3 ready");
}

#[tokio::test]
async fn a_client_certificate_user_with_data_fields_authenticates_with_no_token() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = kubeconfig(dir.path(), &server.uri());
    let access = ClusterAccess::from_kubeconfig(&[file], Some("admin"), None).unwrap();
    // The CA and the identity (its PKCS#1 key wrapped to PKCS#8) were accepted by the TLS
    // stack when connecting; neither key nor token shows.
    let shown = format!("{access:?}");
    assert!(
        shown.contains("HttpAuth::None") && shown.contains("[redacted]"),
        "{shown}"
    );
    assert!(!shown.contains("PRIVATE"), "{shown}");
    let k8s = Kubernetes::with_access("prod", access, &["shop".into()], limits()).unwrap();
    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    server.serve(given("GET", DEPLOY), served).await;
    k8s.read("shop", "deployment/web").await.unwrap();
    let sent = requests(&server, "GET").await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_missing_context_names_the_ones_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let file = kubeconfig(dir.path(), "https://127.0.0.1:6443");
    assert_fails(
        ClusterAccess::from_kubeconfig(&[file], Some("staging"), None),
        ErrorCode::Config,
        &["no context named `staging`", "ops, admin, eks"],
    );
}

#[tokio::test]
async fn an_exec_user_is_refused_saying_what_is_supported_unless_a_token_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = kubeconfig(dir.path(), "https://127.0.0.1:6443");
    let e =
        ClusterAccess::from_kubeconfig(std::slice::from_ref(&file), Some("eks"), None).unwrap_err();
    assert_error(
        &e,
        ErrorCode::Config,
        &["exec", "token", "client-certificate"],
    );
    let access =
        ClusterAccess::from_kubeconfig(&[file], Some("eks"), Some(SecretString::from(TOKEN)))
            .unwrap();
    assert!(format!("{access:?}").contains("Bearer([redacted])"));
}

#[tokio::test]
async fn a_kubeconfig_that_is_not_yaml_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    std::fs::write(&file, "clusters:\n  - name: [unclosed\n").unwrap();
    assert_fails(
        ClusterAccess::from_kubeconfig(&[file], None, None),
        ErrorCode::Config,
        &["kubectl config view"],
    );
}

/// A kubeconfig paaf cannot parse is reported by line and column only: serde_yaml's own
/// message quotes the text it found, which may be a token (issue 14, Low).
#[tokio::test]
async fn a_kubeconfig_that_does_not_parse_never_shows_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    for text in [
        // A token where the user's map belongs.
        format!("apiVersion: v1\nusers:\n- name: ops\n  user: {TOKEN}\n"),
        // A syntax error right after the token.
        format!(
            "users:\n- name: ops\n  user:\n    token: {TOKEN}\n    client-key-data: [{TOKEN}\n"
        ),
        // A token where a flag (true or false) belongs.
        format!("clusters:\n- name: dev\n  cluster:\n    insecure-skip-tls-verify: {TOKEN}\n"),
    ] {
        std::fs::write(&file, &text).unwrap();
        let e =
            ClusterAccess::from_kubeconfig(std::slice::from_ref(&file), None, None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Config);
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains(TOKEN) && !shown.contains("sIgNaTuRe"),
            "{shown}"
        );
        assert!(
            shown.contains("line ") && shown.contains("column "),
            "{shown}"
        );
        assert!(shown.contains("kubectl config view"), "{shown}");
    }
}

#[tokio::test]
async fn the_clouds_entry_token_and_endpoint_override_the_kubeconfig() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = kubeconfig(dir.path(), "https://unused.example:6443");
    let config_path = dir.path().join("paaf.toml");
    let text = format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"kubernetes\"\nkubeconfig = \"{}\"\ncontext = \"eks\"\ntoken = \"keyring:k8s\"\nendpoint = \"{}\"\nregions = [\"shop\"]\n",
        file.display(),
        server.uri()
    );
    let config = Config::parse(&config_path, &text).unwrap();
    let store = MemoryStore::default();
    store.set("k8s", &SecretString::from(TOKEN)).unwrap();
    let account = paaf_core::cloud::connect(&config.clouds[0], &store).unwrap();
    assert_eq!(account.provider(), "kubernetes");
    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    server
        .expect(
            given("GET", DEPLOY).and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
    account.read("shop", "deployment/web").await.unwrap();
}

// ---- inventory ----

#[tokio::test]
async fn lists_deployments_and_pods_of_two_namespaces_and_a_forbidden_one_is_an_error_row() {
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "kind": "DeploymentList", "apiVersion": "apps/v1",
        "metadata": {"resourceVersion": "1001"},
        "items": [rolling(7, 7, 1, 4, 3)]
    }));
    let server = start_expecting(
        given("GET", "/apis/apps/v1/namespaces/shop/deployments?limit=500"),
        served,
        1,
    )
    .await;
    // Pods come in two chunks.
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1002"},
        "items": [pod("web-5d9c7b6f4-b", "u-b", Some(("ReplicaSet", "web-5d9c7b6f4")), false)]
    }));
    server
        .expect(
            given(
                "GET",
                "/api/v1/namespaces/shop/pods?limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ",
            ),
            served,
            1,
        )
        .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "1002", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},
        "items": [pod("web-5d9c7b6f4-a", "u-a", Some(("ReplicaSet", "web-5d9c7b6f4")), true)]
    }));
    server
        .expect(
            given("GET", "/api/v1/namespaces/shop/pods?limit=500"),
            served,
            1,
        )
        .await;
    for what in [
        "apis/apps/v1/namespaces/payments/deployments",
        "api/v1/namespaces/payments/pods",
    ] {
        let resource = what.rsplit('/').next().unwrap();
        let served = status(
            403,
            "Forbidden",
            &format!(
                "{resource} is forbidden: User \"system:serviceaccount:ops:paaf\" cannot list resource \"{resource}\" in API group \"\" in the namespace \"payments\""
            ),
        );
        server
            .expect(given("GET", format!("/{what}")), served, 1)
            .await;
    }
    let inventory = account(&server, &["shop", "payments"]).list().await;
    let rows = rows(&inventory);
    assert_eq!(
        rows,
        vec![
            (
                "shop",
                "deployment/web",
                ServerStatus::Pending,
                "3/3 ready, 1/3 updated, 3 available"
            ),
            (
                "shop",
                "pod/web-5d9c7b6f4-a",
                ServerStatus::Running,
                "Running, 1/1 ready"
            ),
            (
                "shop",
                "pod/web-5d9c7b6f4-b",
                ServerStatus::Pending,
                "Running, 0/1 ready"
            ),
        ]
    );
    let web = &inventory.servers[0];
    assert_eq!(
        (web.provider.as_str(), web.account.as_str()),
        ("kubernetes", "prod")
    );
    assert_eq!(web.tags.get("app").map(String::as_str), Some("web"));
    assert_eq!(inventory.servers[1].private_ips, vec!["10.244.1.7"]);
    assert_eq!(inventory.errors.len(), 2);
    for row in &inventory.errors {
        let words = ["kubectl auth can-i list"];
        assert_error_row(row, "payments", ErrorCode::PermissionDenied, &words);
    }
}

// ---- rollout restart ----

#[tokio::test]
async fn a_reboot_is_a_rollout_restart_followed_until_the_rollout_is_complete() {
    let server = MockServer::start().await;
    // Before the patch: complete at generation 4. After: the controller sees generation 5
    // late, then replaces the pods one by one.
    mount_restart(
        &server,
        vec![
            complete(4),
            rolling(5, 4, 3, 3, 3),
            rolling(5, 5, 1, 4, 3),
            rolling(5, 5, 2, 4, 3),
            rolling(5, 5, 3, 4, 3),
            complete(5),
        ],
    )
    .await;
    let k8s = account(&server, &["shop"]);
    let (outcome, progress) =
        followed_seeing(&k8s, "shop", "deployment/web", PowerAction::Reboot).await;
    let outcome = outcome.unwrap();

    let patches = requests(&server, "PATCH").await;
    assert_eq!(patches.len(), 1);
    let body: Value = serde_json::from_slice(&patches[0].body).unwrap();
    let at =
        body["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .as_str()
            .unwrap();
    chrono::DateTime::parse_from_rfc3339(at).unwrap();
    assert_eq!(
        body,
        json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": at}}}}})
    );
    assert_eq!(outcome.accepted.operation.as_deref(), Some("generation=5"));
    assert_eq!(
        outcome.seen,
        vec![ServerStatus::Pending, ServerStatus::Running]
    );
    assert_eq!(
        progress,
        vec![
            "3/3 ready, 2/3 updated, 3 available",
            "3/3 ready, 3/3 updated, 3 available",
            "3/3 ready",
        ]
    );
    assert_eq!(outcome.server.id, "deployment/web");
    // The pre-check, settle's reads until generation 5 was observed (the second one, with
    // 1/3 updated), then one read per change until complete.
    assert_eq!(requests(&server, "GET").await.len(), 1 + 2 + 3);
}

#[tokio::test]
async fn a_paused_deployment_is_refused_with_nothing_sent() {
    let server = MockServer::start().await;
    let mut paused = complete(4);
    paused["spec"]["paused"] = json!(true);
    let served = ResponseTemplate::new(200).set_body_json(paused);
    server.serve(given("GET", DEPLOY), served).await;
    server
        .expect(Mock::given(method("PATCH")), ResponseTemplate::new(200), 0)
        .await;
    let e = assert_fails(
        power(&server, "deployment/web", PowerAction::Reboot).await,
        ErrorCode::InvalidInput,
        &[],
    );
    assert!(
        e.to_string()
            .contains("kubectl rollout resume deployment/web -n shop"),
        "{e}"
    );
}

#[tokio::test]
async fn stop_start_and_a_deployment_hard_reboot_are_refused_with_nothing_sent() {
    let server = MockServer::start().await;
    let k8s = account(&server, &["shop"]);
    for action in [PowerAction::Stop, PowerAction::Start] {
        assert_fails(
            k8s.power("shop", "deployment/web", action).await,
            ErrorCode::InvalidInput,
            &["kubectl scale deployment/web"],
        );
    }
    assert_fails(
        k8s.power("shop", "deployment/web", PowerAction::HardReboot)
            .await,
        ErrorCode::InvalidInput,
        &["use reboot (a rollout restart)"],
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rollout_past_its_progress_deadline_fails_the_wait() {
    let server = MockServer::start().await;
    let stalled = deployment(
        5,
        json!({"observedGeneration": 5, "replicas": 4, "updatedReplicas": 1,
            "availableReplicas": 3, "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-6b\" has timed out progressing."}]}),
    );
    mount_seq(
        &server,
        "GET",
        DEPLOY,
        vec![
            ResponseTemplate::new(200).set_body_json(complete(4)),
            ResponseTemplate::new(200).set_body_json(stalled),
        ],
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(rolling(5, 4, 3, 3, 3));
    server.expect(given("PATCH", DEPLOY), served, 1).await;
    assert_fails(
        followed(
            &account(&server, &["shop"]),
            "shop",
            "deployment/web",
            PowerAction::Reboot,
        )
        .await,
        ErrorCode::Timeout,
        &["has timed out progressing"],
    );
}

// ---- pod deletion ----

#[tokio::test]
async fn a_pod_hard_reboot_deletes_it_once_and_the_wait_follows_its_deployment() {
    let server = MockServer::start().await;
    let owned = pod(
        "web-5d9c7b6f4-x2x9k",
        "u-x2x9k",
        Some(("ReplicaSet", "web-5d9c7b6f4")),
        true,
    );
    let mut terminating = owned.clone();
    terminating["metadata"]["deletionTimestamp"] = json!("2026-01-10T09:00:00Z");
    mount_seq(
        &server,
        "GET",
        POD,
        vec![
            ResponseTemplate::new(200).set_body_json(owned),
            ResponseTemplate::new(200).set_body_json(terminating.clone()),
            status(404, "NotFound", "pods \"web-5d9c7b6f4-x2x9k\" not found"),
        ],
    )
    .await;
    Mock::given(method("GET"))
        .and(path(
            "/apis/apps/v1/namespaces/shop/replicasets/web-5d9c7b6f4",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": {"name": "web-5d9c7b6f4", "uid": "uid-web-5d9c7b6f4",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "web", "uid": "6f1c-dep", "controller": true}]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(POD))
        .and(query_param("gracePeriodSeconds", "0"))
        .and(body_json(
            json!({"kind": "DeleteOptions", "apiVersion": "v1",
            "preconditions": {"uid": "u-x2x9k"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(terminating))
        .expect(1)
        .mount(&server)
        .await;
    mount_seq(
        &server,
        "GET",
        DEPLOY,
        vec![
            ResponseTemplate::new(200).set_body_json(rolling(4, 4, 3, 3, 2)),
            ResponseTemplate::new(200).set_body_json(complete(4)),
        ],
    )
    .await;
    let k8s = account(&server, &["shop"]);
    let outcome = followed(
        &k8s,
        "shop",
        "pod/web-5d9c7b6f4-x2x9k",
        PowerAction::HardReboot,
    )
    .await
    .unwrap();
    assert_eq!(outcome.accepted.status, Some(ServerStatus::Stopping));
    assert_eq!(
        outcome.seen,
        vec![
            ServerStatus::Stopping,
            ServerStatus::Pending,
            ServerStatus::Running
        ]
    );
    assert_eq!(outcome.server.id, "deployment/web");
    assert_eq!(outcome.server.raw_state, "3/3 ready");
}

#[tokio::test]
async fn a_pod_reboot_deletes_with_its_grace_period_and_a_bare_pod_is_refused() {
    let served = ResponseTemplate::new(200).set_body_json(pod(
        "web-5d9c7b6f4-x2x9k",
        "u-x2x9k",
        Some(("StatefulSet", "web")),
        true,
    ));
    let server = start_serving(given("GET", POD), served).await;
    let served = ResponseTemplate::new(200).set_body_json(json!({"kind": "Status",
            "apiVersion": "v1", "status": "Success", "details": {"name": "web-5d9c7b6f4-x2x9k"}}));
    server.expect(given("DELETE", POD), served, 1).await;
    let bare = "/api/v1/namespaces/shop/pods/debug";
    let served = ResponseTemplate::new(200).set_body_json(pod("debug", "u-d", None, true));
    server.serve(given("GET", bare), served).await;
    let k8s = account(&server, &["shop"]);
    let accepted = k8s
        .power("shop", "pod/web-5d9c7b6f4-x2x9k", PowerAction::Reboot)
        .await
        .unwrap();
    assert_eq!(accepted.operation.as_deref(), Some("uid=u-x2x9k"));
    let deletes = requests(&server, "DELETE").await;
    assert_eq!(
        deletes[0].url.query(),
        None,
        "no gracePeriodSeconds on a reboot"
    );

    assert_fails(
        k8s.power("shop", "pod/debug", PowerAction::Reboot).await,
        ErrorCode::InvalidInput,
        &["no controller"],
    );
    assert_eq!(requests(&server, "DELETE").await.len(), 1);
}

#[tokio::test]
async fn a_deleted_daemonset_pod_reads_as_its_daemonsets_pods_once_gone() {
    let server = MockServer::start().await;
    let old = pod("agent-7x2kq", "u-old", Some(("DaemonSet", "agent")), true);
    let agent = "/api/v1/namespaces/shop/pods/agent-7x2kq";
    mount_seq(
        &server,
        "GET",
        agent,
        vec![
            ResponseTemplate::new(200).set_body_json(old),
            status(404, "NotFound", "pods \"agent-7x2kq\" not found"),
        ],
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({"kind": "Status",
            "apiVersion": "v1", "status": "Success"}));
    server.expect(given("DELETE", agent), served, 1).await;
    let list = |replacement_ready: bool| {
        ResponseTemplate::new(200).set_body_json(json!({"kind": "PodList", "apiVersion": "v1",
        "metadata": {}, "items": [
            pod("agent-9f3zz", "u-new", Some(("DaemonSet", "agent")), replacement_ready),
            pod("web-5d9c7b6f4-a", "u-a", Some(("ReplicaSet", "web-5d9c7b6f4")), true)
        ]}))
    };
    mount_seq(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods",
        vec![list(false), list(true)],
    )
    .await;
    let k8s = account(&server, &["shop"]);
    let (outcome, progress) =
        followed_seeing(&k8s, "shop", "pod/agent-7x2kq", PowerAction::Reboot).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        progress,
        vec![
            "deleted; 0/1 pods of DaemonSet agent ready",
            "deleted; 1/1 pods of DaemonSet agent ready"
        ]
    );
    assert_eq!(outcome.server.id, "pod/agent-7x2kq");
    assert_eq!(outcome.server.name.as_deref(), Some("DaemonSet/agent"));
}

// ---- failures ----

#[tokio::test]
async fn a_401_is_auth_failed_and_never_echoes_the_token() {
    let served = status(401, "Unauthorized", &format!("Unauthorized: token {TOKEN}"));
    let server = start_expecting(given("GET", DEPLOY), served, 1).await;
    let e = assert_fails(
        account(&server, &["shop"])
            .read("shop", "deployment/web")
            .await,
        ErrorCode::AuthFailed,
        &[],
    );
    let text = format!("{e} {e:?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn a_forbidden_patch_names_the_verb_and_the_resource() {
    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    let server = start_serving(given("GET", DEPLOY), served).await;
    let served = status(
        403,
        "Forbidden",
        "deployments.apps \"web\" is forbidden: User \"x\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"shop\"",
    );
    server.expect(given("PATCH", DEPLOY), served, 1).await;
    assert_fails(
        power(&server, "deployment/web", PowerAction::Reboot).await,
        ErrorCode::PermissionDenied,
        &[
            "patch deployments/web in namespace shop",
            "cannot patch resource",
            "kubectl auth can-i patch deployments -n shop",
        ],
    );
}

#[tokio::test]
async fn a_missing_deployment_is_not_found() {
    let served = status(404, "NotFound", "deployments.apps \"api\" not found");
    let server = start_expecting(
        given("GET", "/apis/apps/v1/namespaces/shop/deployments/api"),
        served,
        1,
    )
    .await;
    assert_fails(
        account(&server, &["shop"])
            .read("shop", "deployment/api")
            .await,
        ErrorCode::NotFound,
        &["namespace shop"],
    );
}

#[tokio::test]
async fn a_409_on_delete_is_a_conflict() {
    let served = ResponseTemplate::new(200).set_body_json(pod(
        "web-5d9c7b6f4-x2x9k",
        "u-x2x9k",
        Some(("DaemonSet", "agent")),
        true,
    ));
    let server = start_serving(given("GET", POD), served).await;
    let served = status(
        409,
        "Conflict",
        "Operation cannot be fulfilled on Pod \"web-5d9c7b6f4-x2x9k\": Precondition failed: UID in precondition: u-x2x9k, UID in object meta: u-new",
    );
    server.expect(given("DELETE", POD), served, 1).await;
    assert_fails(
        power(&server, "pod/web-5d9c7b6f4-x2x9k", PowerAction::Reboot).await,
        ErrorCode::Conflict,
        &["Precondition failed"],
    );
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_and_a_long_one_is_rate_limited() {
    let server = MockServer::start().await;
    mount_seq(
        &server,
        "GET",
        DEPLOY,
        vec![
            status(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
            )
            .insert_header("retry-after", "1"),
            ResponseTemplate::new(200).set_body_json(complete(4)),
        ],
    )
    .await;
    let k8s = account(&server, &["shop"]);
    let started = std::time::Instant::now();
    k8s.read("shop", "deployment/web").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(requests(&server, "GET").await.len(), 2);

    let served = status(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
    )
    .insert_header("retry-after", "120");
    let server = start_expecting(given("GET", DEPLOY), served, 1).await;
    assert_fails(
        account(&server, &["shop"])
            .read("shop", "deployment/web")
            .await,
        ErrorCode::RateLimited,
        &["retry after 120s"],
    );
}

#[tokio::test]
async fn a_5xx_read_is_retried_then_service_failed_and_a_5xx_patch_is_outcome_unknown() {
    let served = status(503, "ServiceUnavailable", "etcdserver: request timed out");
    let server = start_expecting(given("GET", DEPLOY), served, 2).await;
    assert_fails(
        account(&server, &["shop"])
            .read("shop", "deployment/web")
            .await,
        ErrorCode::ServiceFailed,
        &["etcdserver"],
    );

    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    let server = start_serving(given("GET", DEPLOY), served).await;
    let served = status(
        500,
        "InternalError",
        "Internal error occurred: etcd leader changed",
    );
    server.expect(given("PATCH", DEPLOY), served, 1).await;
    assert_fails(
        power(&server, "deployment/web", PowerAction::Reboot).await,
        ErrorCode::OutcomeUnknown,
        &["etcd leader changed"],
    );
}

#[tokio::test]
async fn a_patch_that_times_out_is_outcome_unknown_and_sent_once() {
    let served = ResponseTemplate::new(200).set_body_json(complete(4));
    let server = start_serving(given("GET", DEPLOY), served).await;
    let served = ResponseTemplate::new(200)
        .set_body_json(rolling(5, 4, 3, 3, 3))
        .set_delay(Duration::from_secs(3));
    server.expect(given("PATCH", DEPLOY), served, 1).await;
    assert_fails(
        power(&server, "deployment/web", PowerAction::Reboot).await,
        ErrorCode::OutcomeUnknown,
        &["patch deployments/web"],
    );
}

#[tokio::test]
async fn malformed_json_is_a_malformed_response() {
    let served = ResponseTemplate::new(200).set_body_string("<html>login</html>");
    let server = start_serving(given("GET", DEPLOY), served).await;
    let served = ResponseTemplate::new(200).set_body_json(json!({"items": {"not": "a list"}}));
    server
        .serve(given("GET", "/api/v1/namespaces/shop/pods"), served)
        .await;
    let k8s = account(&server, &["shop"]);
    assert_fails(
        k8s.read("shop", "deployment/web").await,
        ErrorCode::MalformedResponse,
        &[],
    );
    let inventory = k8s.list().await;
    assert!(
        inventory
            .errors
            .iter()
            .any(|e| e.error.code == ErrorCode::MalformedResponse),
        "{:?}",
        inventory.errors
    );
}

// ---- in an incident ----

/// A playbook's `rollout-restart` step, through the facade as every front-end runs it: the
/// plan shows the Deployment's state, Protect sends the restart once, follows the rollout to
/// completion (its progress passed on as the step's), and the incident keeps the action;
/// Stand down lists it as what cannot be undone.
#[tokio::test]
async fn a_rollout_restart_step_of_an_incident_is_followed_until_the_rollout_is_complete() {
    use paaf_core::incident::steps::{StepEvent, StepStatus, StepUpdate};
    use paaf_core::{Confirmation, IncidentInput, Paaf};
    use std::sync::{Arc, Mutex};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/shop/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Api::page(vec![complete(4)])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/shop/pods"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}),
        ))
        .mount(&server)
        .await;
    mount_restart(
        &server,
        vec![
            complete(4),
            rolling(5, 5, 1, 4, 3),
            rolling(5, 5, 3, 4, 3),
            complete(5),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes/contract.kubeconfig");
    let config = format!(
        r#"operator = "alice"

[[clouds]]
name = "k8s"
type = "kubernetes"
endpoint = "{}"
token = "keyring:k8s"
kubeconfig = "{}"
regions = ["shop"]

[[playbooks]]
name = "restart-web"

[[playbooks.protect]]
server = "deployment/web"
account = "k8s"
action = "rollout-restart"
"#,
        server.uri(),
        kubeconfig.display()
    );
    let secrets = MemoryStore::default();
    secrets
        .set("k8s", &SecretString::from(TOKEN.to_string()))
        .unwrap();
    let paaf = Paaf::open_text(
        &dir.path().join("config.toml"),
        &config,
        Arc::new(secrets),
        "cli",
    )
    .unwrap();
    let incident = paaf
        .open_incident(&IncidentInput {
            title: "Checkout pods wedged".into(),
            playbook: Some("restart-web".into()),
            ..IncidentInput::default()
        })
        .await
        .unwrap();

    let plan = paaf.protect_plan(None, None).await.unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(
        plan.steps[0].description,
        "rollout-restart k8s/deployment/web"
    );
    assert_eq!(plan.steps[0].state_now, "running (3/3 ready)", "{plan:?}");
    let events: Arc<Mutex<Vec<StepEvent>>> = Arc::default();
    let seen = events.clone();
    let sink = Arc::new(move |e: StepEvent| seen.lock().unwrap().push(e));
    let report = paaf
        .protect(&plan, &Confirmation::Yes, sink, CancellationToken::new())
        .await
        .unwrap();
    let step = &report.steps[0];
    assert_eq!(step.status, StepStatus::Succeeded, "{report:?}");
    let patches = requests(&server, "PATCH").await;
    assert_eq!(patches.len(), 1, "sent once");
    let body: Value = serde_json::from_slice(&patches[0].body).unwrap();
    assert!(
        body["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{body}"
    );
    let progress: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.update {
            StepUpdate::Progress { detail, .. } => Some(detail.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        [
            "deployment/web: 3/3 ready, 3/3 updated, 3 available",
            "deployment/web: 3/3 ready"
        ],
    );
    let detail = paaf.incident_detail(Some(incident.id)).unwrap();
    assert_eq!(detail.actions.len(), 1);
    assert_eq!(detail.actions[0].id, step.action_id.unwrap());
    assert_eq!(detail.actions[0].kind.name(), "server-reboot");

    let stand_down = paaf.stand_down_plan(None).await.unwrap();
    assert_eq!(stand_down.steps.len(), 1, "{stand_down:?}");
    assert!(
        matches!(&stand_down.steps[0].status, paaf_core::incident::steps::PlanStatus::Impossible { reason } if reason == "a reboot cannot be undone"),
        "{stand_down:?}"
    );
}
