//! A cloud server that is also a configured host (`server = "ACCOUNT/SERVER"` in its
//! `[[hosts]]` entry): `paaf server reboot` sends the reboot through the cloud's API and
//! verifies it over SSH like a host reboot. The host is a real sshd test host that really
//! goes away (tests/peers/sshd-host.sh); the cloud is a RebootX on-prem contract server
//! (wiremock, answering as the spec https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json
//! says: `GET /{prefix}/runnables` → `{items, total}`, `POST /{prefix}/runnables/{id}/reboot`
//! → `{jobId}`) whose reboot call makes the host reboot, as a real machine would.

use paaf_tests::{SshHost, World, host_entry};
use serde_json::{Value, json};
use std::path::PathBuf;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "rbtx-verified-K3y-0123456789";

/// Answers the reboot call and makes the sshd host reboot (what its fake `shutdown` does).
struct RebootsTheHost(PathBuf);

impl Respond for RebootsTheHost {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        std::fs::write(self.0.join("reboot-requested"), "").unwrap();
        ResponseTemplate::new(200).set_body_json(json!({ "jobId": "job-1" }))
    }
}

async fn cloud(host: &SshHost, reboot: ResponseTemplate, reboots_host: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/prefix/runnables"))
        .and(header("authorization", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{
                "id": "srv-1", "name": "web-1", "status": "on", "ipv4": "127.0.0.1",
                "fqdn": null, "flavor": null, "stack": null, "metrics": null, "ssh": null,
                "scopes": {"geo": {"label": "Lyon", "value": "lyo-01"}, "logical": null}
            }],
            "total": 1
        })))
        .mount(&server)
        .await;
    let post = Mock::given(method("POST")).and(path("/prefix/runnables/srv-1/reboot"));
    if reboots_host {
        post.respond_with(RebootsTheHost(host.dir.clone()))
            .expect(1)
            .mount(&server)
            .await;
    } else {
        post.respond_with(reboot).expect(1).mount(&server).await;
    }
    server
}

fn configure(world: &World, host: &SshHost, cloud: &MockServer) {
    world.write_config(&format!(
        "operator = \"alice\"\n\n{}\n[[clouds]]\nname = \"home\"\ntype = \"rebootx\"\nendpoint = \"{}/prefix\"\ntoken = \"env:PAAF_TEST_RBTX_KEY\"\n",
        host_entry(
            "web-1",
            host,
            &world.key,
            "server = \"home/srv-1\"\n[hosts.reboot]\nbackoff_max_secs = 1\nshutdown_timeout_secs = 20"
        ),
        cloud.uri()
    ));
}

async fn reboot(world: &World) -> (Option<i32>, Value, String) {
    let mut cmd = world.paaf();
    cmd.env("PAAF_TEST_RBTX_KEY", KEY)
        .args(["server", "reboot", "web-1", "--yes", "--json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    // One line per event (issue 18), the outcome (or the error) last.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text.lines().last().unwrap_or_default();
    (
        out.status.code(),
        serde_json::from_str(last).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloud_reboot_of_a_configured_host_is_verified_by_its_new_boot_id() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    let server = cloud(&host, ResponseTemplate::new(200), true).await;
    configure(&world, &host, &server);
    let before = host.boot_id();

    let (code, outcome, err) = reboot(&world).await;
    assert_eq!(code, Some(0), "{err}\n{outcome}");
    let verified = &outcome["verified"];
    assert_eq!(verified["boot_id_before"], before.as_str(), "{outcome}");
    assert_eq!(verified["boot_id_after"], host.boot_id().as_str());
    assert_ne!(verified["boot_id_before"], verified["boot_id_after"]);
    assert_eq!(host.reboot_count(), 1);
    assert_eq!(outcome["accepted"]["operation"], "job-1");
    assert_eq!(outcome["server"]["status"], "running");

    let journal = paaf_tests::journal_json(&world);
    let row = journal
        .iter()
        .find(|r| r["kind"] == "server-reboot")
        .expect("journaled");
    assert_eq!(row["state"], "succeeded", "{row}");
    assert!(
        row.to_string().contains("verified over SSH as host web-1"),
        "{row}"
    );
    assert!(!journal.iter().any(|r| r.to_string().contains(KEY)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_cloud_reboot_leaves_the_host_alone_and_says_why() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    // The real server's answer to a key it does not know (impl/http-server-go).
    let refused =
        ResponseTemplate::new(401).set_body_json(json!({"message": "Authentication required"}));
    let server = cloud(&host, refused, false).await;
    configure(&world, &host, &server);
    let before = host.boot_id();

    let (code, body, err) = reboot(&world).await;
    assert_eq!(code, Some(5), "{err}\n{body}");
    assert_eq!(body["error"]["code"], "auth-failed", "{body}");
    assert_eq!(host.boot_id(), before);
    assert_eq!(host.reboot_count(), 0);
    let journal = paaf_tests::journal_json(&world);
    let row = journal
        .iter()
        .find(|r| r["kind"] == "server-reboot")
        .unwrap();
    assert_eq!(row["state"], "failed", "{row}");
}
