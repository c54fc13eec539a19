//! The monitoring commands of the `paaf` CLI against real Prometheus, node exporter and
//! Alertmanager (tests/peers/prometheus.sh): what a user types during an incident.

use paaf_tests::{PrometheusPeers, World};
use serde_json::Value;
use std::time::{Duration, Instant};

const RULE: &str = "PaafTestAlwaysFiring";

fn world_with(peers: &PrometheusPeers) -> World {
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n\n[[monitoring]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"{}\"\n",
        peers.prometheus_url(),
        peers.alertmanager_url()
    ));
    world
}

fn json(world: &World, args: &[&str]) -> Value {
    let out = world.paaf().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "paaf {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Polls `paaf alerts --json` until `check` accepts a source's alerts (at most 30 s).
fn wait_alerts(world: &World, source: &str, what: &str, check: impl Fn(&[Value]) -> bool) {
    let start = Instant::now();
    loop {
        let sources = json(world, &["alerts"]);
        let alerts = sources
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == source)
            .and_then(|s| s["alerts"].as_array().cloned())
            .unwrap_or_default();
        if check(&alerts) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {sources}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn alerts_query_targets_and_a_silence_through_the_cli() {
    let peers = PrometheusPeers::start();
    let world = world_with(&peers);

    // Alerts of both sources in one list, the rule's alert firing in each.
    wait_alerts(&world, "prom", "the rule to fire", |a| {
        a.iter()
            .any(|x| x["name"] == RULE && x["state"] == "firing")
    });
    wait_alerts(&world, "am", "the alert to reach Alertmanager", |a| {
        a.iter()
            .any(|x| x["name"] == RULE && x["state"] == "firing")
    });
    let text = world.paaf().arg("alerts").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(RULE) && text.contains("page"), "{text}");

    // Both targets scraped at least once (the rule can fire before the node exporter's first
    // scrape), so that the range query below has a series for each.
    let start = Instant::now();
    while json(&world, &["query", "up", "--instant"])["series"]
        .as_array()
        .map_or(0, Vec::len)
        < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the node exporter was never scraped"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // A range query: every series has points and stats in the table.
    let result = json(
        &world,
        &[
            "query", "up", "--from", "now-1m", "--to", "now", "--width", "20",
        ],
    );
    let series = result["series"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{result}");
    assert!(
        series
            .iter()
            .all(|s| !s["values"].as_array().unwrap().is_empty())
    );
    let out = world
        .paaf()
        .args(["query", "up", "--from", "now-1m", "--to", "now"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("job=\"node\"") && table.contains('▄'),
        "{table}"
    );

    // Target health.
    let targets = json(&world, &["targets"]);
    assert!(
        targets
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["health"] == "up"),
        "{targets}"
    );

    // -v shows each HTTP request (issue 18): method, URL without its query, status, timing.
    let out = world.paaf().args(["-v", "alert", "list"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let request = log
        .lines()
        .find(|l| l.contains(" http ") && l.contains("service=prometheus `prom`"))
        .unwrap_or_else(|| panic!("no HTTP line for prom:\n{log}"));
    for field in ["method=GET", &peers.prometheus_url(), "status=200", "ms="] {
        assert!(request.contains(field), "{field} in {request}");
    }
    assert!(
        !request.contains('?'),
        "no query string in the log: {request}"
    );

    // A silence's dry run (issue 18) shows the call and creates nothing.
    let matcher = format!("alertname={RULE}");
    let add = ["silence", "add", &matcher, "--for", "10m"];
    let plan = json(&world, &[&add[..], &["--dry-run"]].concat());
    assert!(
        plan["steps"][0].as_str().unwrap().contains("POST ")
            && plan["steps"][0].as_str().unwrap().contains(RULE),
        "{plan}"
    );
    assert_eq!(json(&world, &["silence", "list"]), serde_json::json!([]));

    // Silence the alert for 10 minutes: Alertmanager shows it silenced; expire: firing again.
    let silenced = json(&world, &[&add[..], &["-m", "paaf CLI test"]].concat());
    let id = silenced["silence_id"].as_str().unwrap().to_string();
    wait_alerts(&world, "am", "the alert to be silenced", |a| {
        a.iter()
            .any(|x| x["name"] == RULE && x["state"] == "silenced" && x["silenced_by"][0] == id)
    });
    let silences = json(&world, &["silence", "list"]);
    assert!(
        silences
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id && s["created_by"] == "alice"),
        "{silences}"
    );
    let plan = json(&world, &["silence", "expire", &id, "--dry-run"]);
    assert!(
        plan["steps"][0].as_str().unwrap().starts_with("DELETE "),
        "{plan}"
    );
    assert!(
        json(&world, &["silence", "list"])
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id && s["state"] == "active"),
        "still active after the dry run"
    );
    json(&world, &["silence", "expire", &id]);
    wait_alerts(&world, "am", "the alert to fire again", |a| {
        a.iter()
            .any(|x| x["name"] == RULE && x["state"] == "firing")
    });

    // Both changes are in the journal, and only they: the dry runs journaled nothing.
    let journal = paaf_tests::journal_json(&world);
    let kinds: Vec<&str> = journal.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"silence") && kinds.contains(&"expire-silence"),
        "{kinds:?}"
    );
    assert_eq!(kinds.len(), 2, "{kinds:?}");
}

#[test]
fn a_bad_query_and_a_stopped_source_give_typed_errors_and_exit_codes() {
    let peers = PrometheusPeers::start();
    let world = world_with(&peers);

    let out = world
        .paaf()
        .args(["query", "rate(up[", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "bad PromQL is an input error");
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "invalid-input", "{body}");

    // Silencing needs a matcher with a value.
    let out = world
        .paaf()
        .args(["silence", "add", "alertname=~.*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    peers.stop();
    // One stopped source never hides the others: each source has its error row; with every
    // source failed, the exit code is the failure's (issue 18: it was 0).
    let out = world.paaf().args(["alerts", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "unreachable");
    let sources: Value = serde_json::from_slice(&out.stdout).unwrap();
    for s in sources.as_array().unwrap() {
        assert_eq!(s["error"]["code"], "unreachable", "{s}");
    }
    let out = world.paaf().args(["targets"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "unreachable");
}

#[test]
fn without_a_monitoring_source_the_commands_say_what_to_configure() {
    let world = World::new();
    world.write_config("operator = \"alice\"\n");
    let out = world.paaf().args(["query", "up"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[[monitoring]]"), "{err}");
    // `alert list` (and `alerts` of old) says what to configure and exits 0, as `flag list`
    // and `server list` do (issue 18: it exited 3 where they exit 0).
    let out = world
        .paaf()
        .args(["alerts", "-o", "table"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[[monitoring]]"),
        "{out:?}"
    );
}

/// Issue 14 (terminal output): alert labels and annotations are whatever the alert's sender
/// wrote; an `ESC ] 0 ;` in them retitles the operator's terminal, an `ESC [ 2 J` clears it.
/// `paaf alerts` shows them escaped; the JSON output keeps them exactly.
#[tokio::test(flavor = "multi_thread")]
async fn alert_labels_with_terminal_escapes_are_shown_escaped() {
    let peers = PrometheusPeers::start();
    let world = world_with(&peers);
    let name = "Evil\x1b]0;pwned\x07Alert";
    let summary = "\x1b[2J\x1b[Hall clear\r";
    let alert = serde_json::json!([{
        "labels": { "alertname": name, "severity": "page\x1b[8m" },
        "annotations": { "summary": summary },
    }]);
    let response = reqwest::Client::new()
        .post(format!("{}api/v2/alerts", peers.alertmanager_url()))
        .header("content-type", "application/json")
        .body(alert.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    tokio::task::spawn_blocking(move || {
        wait_alerts(&world, "am", "the posted alert", |a| {
            a.iter()
                .any(|x| x["name"] == name && x["summary"] == summary)
        });
        let out = world
            .paaf()
            .args(["alerts", "--source", "am"])
            .output()
            .unwrap();
        let screen =
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{screen}");
        assert!(
            !screen.contains(['\x1b', '\x07', '\r']),
            "a control character reached the terminal: {screen:?}"
        );
        for shown in [
            r"Evil\x1b]0;pwned\x07Alert",
            r"\x1b[2J\x1b[Hall clear\x0d",
            r"page\x1b[8m",
        ] {
            assert!(screen.contains(shown), "{shown} in {screen}");
        }
    })
    .await
    .unwrap();
}
