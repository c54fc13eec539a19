//! The cloud commands of the `paaf` CLI against a real `moto_server` (tests/peers/moto.sh):
//! every server of an account in one list, and a stop and start followed to their end.

use paaf_core::http::{Limits, Retry};
use paaf_tests::{MotoServer, World, ec2_at};
use serde_json::Value;

/// An AMI moto knows.
const AMI: &str = "ami-12c6146b";

async fn launch(moto: &MotoServer, region: &str, name: &str) -> String {
    launch_tagged(moto, region, name, &[]).await
}

async fn launch_tagged(
    moto: &MotoServer,
    region: &str,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let key = ("AKIDEXAMPLE", "seed-secret");
    let ec2 = ec2_at("seed", &moto.url(), key, &[region], Limits::default());
    let params = vec![
        ("ImageId".to_string(), AMI.to_string()),
        ("InstanceType".to_string(), "t3.micro".to_string()),
        ("MinCount".to_string(), "1".to_string()),
        ("MaxCount".to_string(), "1".to_string()),
        (
            "TagSpecification.1.ResourceType".to_string(),
            "instance".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Key".to_string(),
            "Name".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Value".to_string(),
            name.to_string(),
        ),
    ];
    let mut params = params;
    for (i, (k, v)) in tags.iter().enumerate() {
        params.push((
            format!("TagSpecification.1.Tag.{}.Key", i + 2),
            k.to_string(),
        ));
        params.push((
            format!("TagSpecification.1.Tag.{}.Value", i + 2),
            v.to_string(),
        ));
    }
    let xml = ec2
        .call_raw(region, "RunInstances", params, Retry::NotIdempotent)
        .await
        .unwrap();
    xml.split("<instanceId>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string()
}

fn run(world: &World, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = world
        .paaf()
        .env("PAAF_TEST_AWS_SECRET", "not-a-real-secret")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    // A document, or (power actions, issue 18) one line per event with the outcome last.
    let body = serde_json::from_slice(&out.stdout)
        .ok()
        .or_else(|| {
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str(text.lines().last()?).ok()
        })
        .unwrap_or(Value::Null);
    (
        out.status.code(),
        body,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_of_two_regions_then_a_stop_and_start_by_name() {
    let moto = MotoServer::start();
    let web = launch(&moto, "eu-west-1", "web-2").await;
    launch(&moto, "us-east-1", "batch-1").await;
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n\n[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\", \"us-east-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"env:PAAF_TEST_AWS_SECRET\"\nendpoint = \"{}\"\n",
        moto.url()
    ));

    let (code, inventory, err) = run(&world, &["servers"]);
    assert_eq!(code, Some(0), "{err}");
    let servers = inventory["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{inventory}");
    let web2 = servers.iter().find(|s| s["name"] == "web-2").unwrap();
    assert_eq!(
        (&web2["id"], &web2["region"]),
        (&Value::from(web.clone()), &Value::from("eu-west-1"))
    );
    assert_eq!(web2["status"], "running");

    // A dry run (issue 18): the server as the provider reports it now, the call; nothing sent.
    let (code, plan, err) = run(&world, &["server", "stop", "web-2", "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(plan["action"], "server-stop", "{plan}");
    assert!(
        plan["now"].as_str().unwrap().starts_with("running"),
        "{plan}"
    );
    assert!(plan["steps"][0].as_str().unwrap().contains(&web), "{plan}");
    let (_, inventory, _) = run(&world, &["server", "list", "web-2"]);
    assert_eq!(inventory["servers"][0]["status"], "running", "{inventory}");

    // Without --yes and without a terminal: refused (exit 8), nothing sent.
    let (code, _, _) = run(&world, &["server", "stop", "web-2"]);
    assert_eq!(code, Some(8));

    let (code, outcome, err) = run(&world, &["server", "stop", "web-2", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome["server"]["status"], "stopped", "{outcome}");
    assert_eq!(outcome["evidence"]["kind"], "state-read-back", "{outcome}");
    let (_, inventory, _) = run(&world, &["servers", "web-2"]);
    assert_eq!(inventory["servers"][0]["status"], "stopped", "{inventory}");

    let (code, outcome, err) = run(&world, &["server", "start", &web, "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome["server"]["status"], "running");

    let (code, body, _) = run(&world, &["server", "reboot", "db-9", "--yes"]);
    assert_eq!(code, Some(3), "{body}");
    assert_eq!(body["error"]["code"], "not-found");

    let journal = paaf_tests::journal_json(&world);
    let kinds: Vec<&str> = journal.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"server-stop") && kinds.contains(&"server-start"),
        "{kinds:?}"
    );
    let stops = kinds.iter().filter(|k| **k == "server-stop").count();
    assert_eq!(stops, 1, "the dry run journaled nothing: {kinds:?}");
    assert!(
        !journal
            .iter()
            .any(|r| r.to_string().contains("not-a-real-secret"))
    );
}

/// The moto account; a reboot with no sign of it is watched for 1 s (one read), not a minute.
fn aws_config(moto: &MotoServer) -> String {
    format!(
        "operator = \"alice\"\n\n[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"env:PAAF_TEST_AWS_SECRET\"\nendpoint = \"{}\"\nreboot_watch_secs = 1\n",
        moto.url()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_the_cache_and_a_hard_reboot_ec2_does_not_have() {
    let moto = MotoServer::start();
    launch_tagged(&moto, "eu-west-1", "web-1", &[("role", "web")]).await;
    launch_tagged(&moto, "eu-west-1", "db-1", &[("role", "db")]).await;
    let world = World::new();
    world.write_config(&aws_config(&moto));

    // No list yet: no cache, and the error says how to fill it.
    let (code, body, _) = run(&world, &["servers", "--cached"]);
    assert_eq!(code, Some(3), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("paaf server list"),
        "{body}"
    );

    let (code, body, err) = run(&world, &["servers", "--tag", "role=web"]);
    assert_eq!(code, Some(0), "{err}");
    let names: Vec<&str> = body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1"]);
    let (_, body, _) = run(
        &world,
        &["servers", "--provider", "aws", "--status", "stopped"],
    );
    assert_eq!(body["servers"].as_array().unwrap().len(), 0, "{body}");
    let (code, body, _) = run(&world, &["servers", "--status", "sleeping"]);
    assert_eq!(code, Some(2), "a bad --status is a usage error: {body}");

    // The listing above (every account) filled the cache; --cached reads it without moto.
    drop(moto);
    let (code, body, err) = run(&world, &["servers", "--cached", "--tag", "role"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body["servers"].as_array().unwrap().len(), 2, "{body}");
    assert!(body["fetched_at_ms"].as_i64().unwrap() > 1_700_000_000_000);

    let moto = MotoServer::start();
    launch(&moto, "eu-west-1", "web-9").await;
    world.write_config(&aws_config(&moto));
    let (code, body, _) = run(&world, &["server", "reboot", "web-9", "--hard", "--yes"]);
    assert_eq!(code, Some(3), "{body}");
    assert_eq!(body["error"]["code"], "invalid-input");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stop then start"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_reboot_goes_one_at_a_time_and_stops_at_the_first_unhealthy_server() {
    let moto = MotoServer::start();
    for name in ["web-a", "web-b", "web-c"] {
        launch_tagged(&moto, "eu-west-1", name, &[("role", "web")]).await;
    }
    launch_tagged(&moto, "eu-west-1", "db-1", &[("role", "db")]).await;
    let world = World::new();
    world.write_config(&aws_config(&moto));

    // EC2 shows nothing of a reboot: the next batch could start while one still reboots, so
    // servers that are not [[hosts]] entries are refused before anything is sent...
    let (code, body, _) = run(
        &world,
        &["server", "rolling-reboot", "--tag", "role=web", "--yes"],
    );
    assert_eq!(code, Some(3), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot verify a reboot of web-a (aws \"prod\"), web-b")
            && message.contains("[[hosts]]")
            && message.contains("--accept-unverified"),
        "{body}"
    );
    assert!(paaf_tests::journal_json(&world).is_empty(), "nothing sent");

    // ...unless accepted. Everyone healthy: three reboots, in name order, each journaled
    // unverified, plus the roll itself; exit 14.
    let (code, report, err) = run(
        &world,
        &[
            "server",
            "rolling-reboot",
            "--tag",
            "role=web",
            "--health-cmd",
            "test -n {ip}",
            "--accept-unverified",
            "--yes",
        ],
    );
    assert_eq!(code, Some(14), "{err}");
    let done: Vec<&str> = report["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["server"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(done, ["web-a", "web-b", "web-c"], "{report}");
    let journal = paaf_tests::journal_json(&world);
    let count = |kind: &str| journal.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!((count("server-reboot"), count("rolling-reboot")), (3, 1));
    assert!(
        journal.iter().all(|r| r["state"] == "unverified"),
        "{journal:?}"
    );
    let roll = journal
        .iter()
        .find(|r| r["kind"] == "rolling-reboot")
        .unwrap();
    assert!(roll.to_string().contains("web-a, web-b, web-c"), "{roll}");

    // web-b never gets healthy: web-a done, the roll stops at web-b, web-c untouched.
    let (code, report, err) = run(
        &world,
        &[
            "server",
            "rolling-reboot",
            "--tag",
            "role=web",
            "--health-cmd",
            "test {name} != web-b",
            "--health-timeout",
            "2",
            "--health-interval",
            "1",
            "--accept-unverified",
            "--yes",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(report["done"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["failed"]["server"]["name"], "web-b");
    assert!(
        report["failed"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("health check"),
        "{report}"
    );
    assert_eq!(report["not_started"][0]["name"], "web-c");
    let journal = paaf_tests::journal_json(&world);
    let count = |kind: &str| journal.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!(
        count("server-reboot"),
        5,
        "web-c was not rebooted the second time"
    );
    let roll = journal
        .iter()
        .find(|r| r["kind"] == "rolling-reboot" && r["state"] == "failed")
        .unwrap();
    assert!(roll.to_string().contains("web-b"), "{roll}");

    // A selection with a stopped server is refused before anything is sent.
    let (code, _, err) = run(&world, &["server", "stop", "db-1", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, body, _) = run(
        &world,
        &[
            "server",
            "rolling-reboot",
            "--tag",
            "role",
            "--accept-unverified",
            "--yes",
        ],
    );
    assert_eq!(code, Some(3), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("db-1 (stopped)"),
        "{body}"
    );
    let (code, body, _) = run(&world, &["server", "rolling-reboot", "--yes"]);
    assert_eq!(code, Some(3), "an empty selection is refused: {body}");
}

/// `paaf server rolling-reboot --tag role=evil --accept-unverified ARGS --yes --json` (moto
/// shows nothing of a reboot: a roll that ends well is unverified, exit 14).
fn roll_evil(world: &World, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec![
        "server",
        "rolling-reboot",
        "--tag",
        "role=evil",
        "--accept-unverified",
    ];
    all.extend_from_slice(args);
    all.push("--yes");
    run(world, &all)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_server_name_never_runs_in_a_health_check_nor_moves_its_url() {
    let moto = MotoServer::start();
    let world = World::new();
    let marker = world.dir.path().join("health-check-ran-the-name");
    let hostile = format!("web-x;touch {} #&host=evil.example", marker.display());
    launch_tagged(&moto, "eu-west-1", &hostile, &[("role", "evil")]).await;
    world.write_config(&aws_config(&moto));

    // The name is one argument of the check, and what the check sees is the name itself.
    let (code, report, err) = roll_evil(
        &world,
        &[
            "--health-cmd",
            "test -n {name} && test \"{name}\" = \"$PAAF_SERVER_NAME\" && test $# = 0",
        ],
    );
    assert!(!marker.exists(), "the server's name ran as shell code");
    assert_eq!(code, Some(14), "{err} {report}");
    assert_eq!(report["done"][0]["server"]["name"], hostile.as_str());

    // In a URL the name stays inside its query value.
    let upstream = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/health"))
        .and(wiremock::matchers::query_param("host", hostile.as_str()))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&upstream)
        .await;
    let url = format!("{}/health?host={{name}}", upstream.uri());
    let (code, report, err) = roll_evil(
        &world,
        &[
            "--health-url",
            &url,
            "--health-timeout",
            "3",
            "--health-interval",
            "1",
        ],
    );
    assert_eq!(code, Some(14), "{err} {report}");
    let requests = upstream.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0].url.query_pairs().count(),
        1,
        "{}",
        requests[0].url
    );

    // A URL whose host would come from the name, and a placeholder the shell cannot fill
    // inside single quotes, are refused before anything is rebooted.
    let reboots = |world: &World| {
        paaf_tests::journal_json(world)
            .iter()
            .filter(|r| r["kind"] == "server-reboot")
            .count()
    };
    let before = reboots(&world);
    for check in [
        ["--health-url", "http://{name}:8080/health"],
        ["--health-cmd", "grep -q '{name}' /etc/hosts"],
    ] {
        let (code, body, _) = roll_evil(&world, &check);
        assert_eq!(code, Some(3), "{body}");
        assert_eq!(body["error"]["code"], "invalid-input", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("{name}"),
            "{body}"
        );
    }
    assert_eq!(reboots(&world), before, "nothing was rebooted");
    assert!(!marker.exists());
}

/// Issue 14 (terminal output): anyone who can tag a server chooses its name; printed raw, an
/// `ESC ] 0 ;` in it retitles the operator's terminal and an `ESC [ 2 J` clears it. The CLI
/// shows such names escaped, in tables and in plain lines alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_name_with_terminal_escapes_is_shown_escaped() {
    let moto = MotoServer::start();
    let hostile = "web-\x1b]0;pwned\x07\x1b[2J\u{9b}31m-1";
    let id = launch(&moto, "eu-west-1", hostile).await;
    let world = World::new();
    world.write_config(&aws_config(&moto));

    let human = |args: &[&str]| {
        let out = world
            .paaf()
            .env("PAAF_TEST_AWS_SECRET", "not-a-real-secret")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap()
    };
    let raw = |screen: &str| screen.contains(['\x1b', '\x07', '\u{9b}']);
    for screen in [
        human(&["servers"]),
        human(&["servers", "--cached"]),
        human(&["server", "stop", &id, "--yes"]),
    ] {
        assert!(
            !raw(&screen),
            "a control character reached the terminal: {screen:?}"
        );
        assert!(
            screen.contains(r"web-\x1b]0;pwned\x07\x1b[2J\u{9b}31m-1"),
            "the name is shown, escaped: {screen}"
        );
    }
    // JSON keeps the name exactly (serde_json escapes it as \u001b).
    let (_, body, _) = run(&world, &["servers"]);
    assert_eq!(body["servers"][0]["name"], hostile);
}

/// EC2 shows nothing of a reboot (the state stays `running`, moto's as AWS's): with no
/// operation to follow and no other sign, `paaf server reboot` says it is unverified (exit 14,
/// the journal's `unverified`), never "succeeded" with nothing seen.
#[tokio::test(flavor = "multi_thread")]
async fn a_reboot_ec2_shows_no_sign_of_is_unverified() {
    let moto = MotoServer::start();
    launch(&moto, "eu-west-1", "web-2").await;
    let world = World::new();
    world.write_config(&aws_config(&moto));

    let (code, outcome, err) = run(&world, &["server", "reboot", "web-2", "--yes"]);
    assert_eq!(code, Some(14), "{outcome} {err}");
    assert_eq!(outcome["server"]["status"], "running", "{outcome}");
    assert_eq!(outcome["evidence"], Value::Null, "{outcome}");
    let journal = paaf_tests::journal_json(&world);
    let reboot = journal
        .iter()
        .find(|r| r["kind"] == "server-reboot")
        .unwrap();
    assert_eq!(reboot["state"], "unverified", "{reboot}");
    assert!(
        reboot.to_string().contains("no sign of the reboot"),
        "{reboot}"
    );
}
