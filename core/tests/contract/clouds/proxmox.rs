//! Proxmox VE (core/src/cloud/proxmox.rs) against a contract server (wiremock) that answers
//! as Proxmox VE's API documentation says, failures included: its [`Api`] for the scenario
//! table, and its own cases.
//!
//! Followed:
//! - API reference (paths, parameters, return shapes):
//!   https://pve.proxmox.com/pve-docs/api-viewer/ — `GET /cluster/resources` (`type=vm`),
//!   `POST /nodes/{node}/qemu/{vmid}/status/{reboot|reset|shutdown|start}`,
//!   `POST /nodes/{node}/lxc/{vmid}/status/{reboot|shutdown|start}` (each answers a UPID),
//!   `GET /nodes/{node}/tasks/{upid}/status` (`status` running/stopped, `exitstatus`);
//! - API tokens (`Authorization: PVEAPIToken=USER@REALM!TOKENID=UUID`), the `{"data": …}`
//!   envelope and errors (status + reason phrase, `{"data":null}` or `{"errors":{…}}`):
//!   https://pve.proxmox.com/wiki/Proxmox_VE_API;
//! - privileges (`VM.Audit`, `VM.PowerMgmt`, `Sys.Audit`):
//!   https://pve.proxmox.com/wiki/User_Management#_privileges;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3 (Proxmox itself does not rate-limit; a
//!   proxy in front of it may).

use super::cancelled;
use super::{CloudMock, RebootMock, fast, followed, keyring, keys_and_regions, limits};
use crate::support::{Serve, assert_fails, given, store};
use crate::support::{assert_error, received, received_where, requests};
use paaf_core::ErrorCode;
use paaf_core::cloud::proxmox::{Proxmox, ProxmoxConfig};
use paaf_core::cloud::{CloudAccount, Evidence, FromConfig, PowerAction, ServerStatus};
use paaf_core::events::CancellationToken;
use paaf_core::http::path_segment;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const SECRET: &str = "8a1c6b5e-3f2d-4c1b-9e8f-7a6b5c4d3e2f";
const TOKEN_ID: &str = "paaf@pve!ops";
pub(super) const RESOURCES: &str = "/api2/json/cluster/resources";
const UPID: &str = "UPID:pve1:0002F4A1:00B1C2D3:66F1A2B3:qmreboot:100:paaf@pve!ops:";

/// Proxmox VE's API for the scenario table: the cluster's guests (one answer, without
/// pages; a guest is read, and found before it is powered, in it), `status/shutdown`
/// answering a task id, errors `{"data": null, "message"}`.
pub struct Api;

impl CloudMock for Api {
    const PAGED: bool = false;

    fn read_path(_id: &str) -> String {
        RESOURCES.into()
    }

    fn server(id: &str, region: &str) -> Value {
        guest("qemu", region, id.parse().unwrap(), "web-1", "running")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({ "data": servers })
    }

    fn looping_page() -> Value {
        Self::page(vec![Self::server("100", "pve1")])
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({"data": null, "message": message}))
    }

    fn accepted() -> ResponseTemplate {
        upid_answer(UPID)
    }

    fn read_answer(server: Value) -> Value {
        Self::page(vec![server])
    }

    fn keys(regions: &[&str]) -> String {
        let token_id = format!("token_id = \"{TOKEN_ID}\"");
        keys_and_regions(&[&token_id, "token = \"keyring:contract\""], regions)
    }

    /// The guests a power call looks up first.
    fn quiet_routes() -> Vec<(&'static str, String, Value)> {
        let guests = Self::page(vec![Self::server("100", "pve1")]);
        vec![("GET", RESOURCES.into(), guests)]
    }
    /// A reboot, its task read until it stopped `OK`.
    fn reboot(_server: &MockServer) -> RebootMock {
        let done = json!({"data": {"upid": UPID, "node": "pve1", "type": "qmreboot", "id": "100",
            "status": "stopped", "exitstatus": "OK"}});
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            "/api2/json/nodes/pve1/qemu/100/status/reboot",
            upid_answer(UPID),
        )
        .then_read(
            task_path(UPID),
            ResponseTemplate::new(200).set_body_json(done),
        )
    }
}

fn pve(server: &MockServer) -> Proxmox {
    pve_at(&server.uri(), &[])
}

/// The cluster `lab` at `endpoint`, listing `nodes` (none: all).
fn pve_at(endpoint: &str, nodes: &[&str]) -> Proxmox {
    let keys = ProxmoxConfig {
        endpoint: endpoint.to_string(),
        token_id: TOKEN_ID.to_string(),
        token: keyring("contract"),
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
        ca_file: None,
    };
    Proxmox::connect("lab", &keys, &store(&[("contract", SECRET)]), limits()).unwrap()
}

fn auth() -> String {
    format!("PVEAPIToken={TOKEN_ID}={SECRET}")
}

/// A `/cluster/resources?type=vm` row as the API documents it.
fn guest(kind: &str, node: &str, vmid: u64, name: &str, status: &str) -> Value {
    json!({
        "id": format!("{kind}/{vmid}"), "type": kind, "node": node, "vmid": vmid,
        "name": name, "status": status, "template": 0, "uptime": 0,
        "maxcpu": 2, "maxmem": 2147483648u64, "maxdisk": 34359738368u64,
        "cpu": 0.01, "mem": 1073741824u64, "disk": 0, "diskread": 0, "diskwrite": 0,
        "netin": 0, "netout": 0
    })
}

fn cluster(vm_status: &str, ct_status: &str) -> Value {
    let mut vm = guest("qemu", "pve1", 100, "web-1", vm_status);
    vm["tags"] = json!("prod;web");
    json!({"data": [
        vm,
        guest("lxc", "pve2", 200, "cache-1", ct_status),
        {"id": "qemu/9000", "type": "qemu", "node": "pve1", "vmid": 9000,
         "name": "debian-tpl", "status": "stopped", "template": 1}
    ]})
}

/// `GET /cluster/resources?type=vm` with the token, answering `body` (`times` times, or
/// always).
async fn mount_cluster(server: &MockServer, body: Value, times: Option<u64>) {
    let mut mock = Mock::given(method("GET"))
        .and(path(RESOURCES))
        .and(query_param("type", "vm"))
        .and(header("authorization", auth().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body));
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(server).await;
}

fn task_path(upid: &str) -> String {
    format!("/api2/json/nodes/pve1/tasks/{}/status", path_segment(upid))
}

/// The task `upid`: `running` once, then `stopped` with `exit`.
async fn mount_task(server: &MockServer, upid: &str, exit: &str) {
    let task = |status: &str, exit: Option<&str>| {
        let mut data = json!({
            "upid": upid, "node": "pve1", "pid": 193697, "pstart": 11649747,
            "starttime": 1727111859, "type": "qmreboot", "id": "100",
            "user": "paaf@pve!ops", "status": status
        });
        if let Some(exit) = exit {
            data["exitstatus"] = json!(exit);
        }
        json!({ "data": data })
    };
    Mock::given(method("GET"))
        .and(path(task_path(upid)))
        .and(header("authorization", auth().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(task("running", None)))
        .up_to_n_times(1)
        .mount(server)
        .await;
    let served = ResponseTemplate::new(200).set_body_json(task("stopped", Some(exit)));
    server.serve(given("GET", task_path(upid)), served).await;
}

/// `POST /nodes/{node}/{kind}/{vmid}/status/{command}`, expected exactly once, answering
/// `response`.
async fn mount_power(server: &MockServer, route: &str, response: ResponseTemplate) {
    server
        .expect(
            given("POST", format!("/api2/json/nodes/{route}"))
                .and(header("authorization", auth().as_str())),
            response,
            1,
        )
        .await;
}

fn upid_answer(upid: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": upid }))
}

async fn posts(server: &MockServer) -> usize {
    received(server, "POST").await
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/cluster/resources
#[tokio::test]
async fn lists_vms_and_containers_with_their_node_as_region_and_no_templates() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    let inventory = pve(&server).list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let rows: Vec<_> = inventory
        .servers
        .iter()
        .map(|s| {
            (
                s.region.as_str(),
                s.id.as_str(),
                s.name.as_deref(),
                s.status,
                s.raw_state.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "pve1",
                "100",
                Some("web-1"),
                ServerStatus::Running,
                "running"
            ),
            (
                "pve2",
                "200",
                Some("cache-1"),
                ServerStatus::Stopped,
                "stopped"
            ),
        ]
    );
    let web = &inventory.servers[0];
    assert_eq!(web.provider, "proxmox");
    assert_eq!(web.account, "lab");
    assert_eq!(web.tags.keys().collect::<Vec<_>>(), vec!["prod", "web"]);

    let only_pve2 = pve_at(&server.uri(), &["pve2"]).list().await;
    assert_eq!(only_pve2.servers.len(), 1);
    assert_eq!(only_pve2.servers[0].id, "200");
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/qemu/{vmid}/status/reboot and
// #/nodes/{node}/tasks/{upid}/status
#[tokio::test]
async fn a_reboot_follows_its_task_to_ok_then_the_vm_to_running() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    mount_power(&server, "pve1/qemu/100/status/reboot", upid_answer(UPID)).await;
    mount_task(&server, UPID, "OK").await;
    let account = pve(&server);
    let outcome = followed(&account, "pve1", "100", PowerAction::Reboot)
        .await
        .unwrap();
    assert_eq!(outcome.accepted.operation.as_deref(), Some(UPID));
    // A reboot task that stopped OK shut the guest down and started it again.
    let operation = UPID.into();
    assert_eq!(
        outcome.evidence,
        Some(Evidence::OperationCompleted { operation })
    );
    assert_eq!(outcome.server.status, ServerStatus::Running);
    let task_polls = received_where(&server, |p| p == task_path(UPID)).await;
    assert_eq!(task_polls, 2, "running, then stopped");
    let post = requests(&server, "POST").await.remove(0);
    assert!(post.body.is_empty(), "the reboot takes no parameters");
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/qemu/{vmid}/status/reset
#[tokio::test]
async fn a_hard_reboot_of_a_vm_is_a_reset() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    let upid = "UPID:pve1:0002F4A2:00B1C2D4:66F1A2B4:qmreset:100:paaf@pve!ops:";
    mount_power(&server, "pve1/qemu/100/status/reset", upid_answer(upid)).await;
    mount_task(&server, upid, "OK").await;
    let outcome = followed(&pve(&server), "pve1", "100", PowerAction::HardReboot)
        .await
        .unwrap();
    assert_eq!(outcome.server.status, ServerStatus::Running);
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/status (no reset)
#[tokio::test]
async fn a_container_has_no_hard_reboot_and_nothing_is_sent() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "running"), None).await;
    assert_fails(
        pve(&server)
            .power("pve2", "200", PowerAction::HardReboot)
            .await,
        ErrorCode::InvalidInput,
        &["stop then start"],
    );
    assert_eq!(posts(&server).await, 0);
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/status/shutdown
// and …/start
#[tokio::test]
async fn a_container_is_shut_down_then_started() {
    let server = MockServer::start().await;
    // Read before the shutdown and at the first poll: running; then stopped.
    mount_cluster(&server, cluster("running", "running"), Some(1)).await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    let stop = "UPID:pve1:0002F4A3:00B1C2D5:66F1A2B5:vzshutdown:200:paaf@pve!ops:";
    mount_power(&server, "pve2/lxc/200/status/shutdown", upid_answer(stop)).await;
    mount_task(&server, stop, "OK").await;
    let account = pve(&server);
    let outcome = followed(&account, "pve2", "200", PowerAction::Stop)
        .await
        .unwrap();
    assert_eq!(outcome.server.status, ServerStatus::Stopped);
    assert_eq!(outcome.server.region, "pve2");

    server.reset().await;
    mount_cluster(&server, cluster("running", "stopped"), Some(1)).await;
    mount_cluster(&server, cluster("running", "running"), None).await;
    let start = "UPID:pve1:0002F4A4:00B1C2D6:66F1A2B6:vzstart:200:paaf@pve!ops:";
    mount_power(&server, "pve2/lxc/200/status/start", upid_answer(start)).await;
    mount_task(&server, start, "OK").await;
    let outcome = followed(&account, "pve2", "200", PowerAction::Start)
        .await
        .unwrap();
    assert_eq!(outcome.server.status, ServerStatus::Running);
}

// https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/tasks/{upid}/status: a task
// that stopped with another exitstatus than OK failed.
#[tokio::test]
async fn a_failed_task_is_an_error_naming_the_guest_and_its_exit_status() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("stopped", "stopped"), None).await;
    let upid = "UPID:pve1:0002F4A5:00B1C2D7:66F1A2B7:qmshutdown:100:paaf@pve!ops:";
    mount_power(&server, "pve1/qemu/100/status/shutdown", upid_answer(upid)).await;
    mount_task(&server, upid, "VM quit/powerdown failed - got timeout").await;
    assert_fails(
        followed(&pve(&server), "pve1", "100", PowerAction::Stop).await,
        ErrorCode::ServiceFailed,
        &["guest 100", "got timeout"],
    );
}

// A vmid the cluster does not have: nothing is sent to any node.
#[tokio::test]
async fn a_missing_guest_is_not_found_and_nothing_is_sent() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    let account = pve(&server);
    assert_fails(
        account.power("pve1", "555", PowerAction::Stop).await,
        ErrorCode::NotFound,
        &["555"],
    );
    assert_eq!(posts(&server).await, 0);
    assert_eq!(
        account.read("pve1", "555").await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_fails(
        account.power("pve1", "abc", PowerAction::Stop).await,
        ErrorCode::InvalidInput,
        &[],
    );
}

// A 5xx on a power call is sent once and its outcome is unknown; Proxmox's `message` says
// what happened.
#[tokio::test]
async fn a_5xx_on_a_power_call_is_outcome_unknown_with_proxmox_words() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    mount_power(
        &server,
        "pve1/qemu/100/status/reboot",
        ResponseTemplate::new(500).set_body_json(json!({
            "data": null, "message": "VM 100 qmp command 'system_reset' failed - got timeout\n"
        })),
    )
    .await;
    assert_fails(
        pve(&server).power("pve1", "100", PowerAction::Reboot).await,
        ErrorCode::OutcomeUnknown,
        &["got timeout"],
    );
}

// A power call must answer a task id (`UPID:…`): anything else is a malformed response,
// never a panic.
#[tokio::test]
async fn a_power_call_answered_without_a_task_id_is_malformed() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    mount_power(
        &server,
        "pve1/qemu/100/status/reboot",
        upid_answer("not-a-task"),
    )
    .await;
    assert_fails(
        pve(&server).power("pve1", "100", PowerAction::Reboot).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

// Cancelling while the task runs ends the wait at once.
#[tokio::test]
async fn cancelling_ends_the_wait_for_a_task() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    mount_power(&server, "pve1/qemu/100/status/reboot", upid_answer(UPID)).await;
    let account = pve(&server);
    let accepted = account
        .power("pve1", "100", PowerAction::Reboot)
        .await
        .unwrap();
    assert_fails(
        account
            .settle("pve1", &accepted, fast(), &cancelled())
            .await,
        ErrorCode::Cancelled,
        &[],
    );
}

// RFC 6585 §4 while following a task: a 429 with Retry-After on the task's status is waited
// for, then the task is read again.
#[tokio::test]
async fn a_429_while_following_a_task_is_waited_for() {
    let server = MockServer::start().await;
    mount_cluster(&server, cluster("running", "stopped"), None).await;
    mount_power(&server, "pve1/qemu/100/status/reboot", upid_answer(UPID)).await;
    Mock::given(method("GET"))
        .and(path(task_path(UPID)))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_task(&server, UPID, "OK").await;
    let account = pve(&server);
    let accepted = account
        .power("pve1", "100", PowerAction::Reboot)
        .await
        .unwrap();
    let started = Instant::now();
    account
        .settle("pve1", &accepted, fast(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

/// A real TLS server (`openssl s_server -www`, which answers any GET with an HTML status page)
/// whose certificate is its own, as a Proxmox node's default one is
/// (https://pve.proxmox.com/wiki/Certificate_Management): refused against the system's CAs,
/// trusted through `ca_file` — the HTML it answers is then a malformed response, proof that
/// the TLS handshake passed.
#[tokio::test]
async fn a_cluster_with_its_own_certificate_is_trusted_through_ca_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("pve.pem"), dir.path().join("pve.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=pve1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (scripts/install-deps.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Stopped when dropped, even if an assertion fails first.
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = Stopped(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "s_server never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let connect = || pve_at(&format!("https://127.0.0.1:{port}"), &[]);

    let refused = connect().trusting(None).unwrap().list().await;
    let trusted = connect().trusting(Some(&cert)).unwrap().list().await;
    let missing = connect()
        .trusting(Some(&dir.path().join("nope.pem")))
        .unwrap_err();
    drop(server);

    let code = |inv: &paaf_core::cloud::Inventory| inv.errors[0].error.code;
    assert_eq!(
        code(&refused),
        ErrorCode::Unreachable,
        "{:?}",
        refused.errors
    );
    assert_eq!(
        code(&trusted),
        ErrorCode::MalformedResponse,
        "{:?}",
        trusted.errors
    );
    assert_error(&missing, ErrorCode::InvalidInput, &["pve-root-ca.pem"]);
    for inv in [&refused, &trusted] {
        assert!(!format!("{:?}", inv.errors).contains(SECRET));
    }
}
