//! Many hosts at once, end to end through the `paaf` binary: selectors (globs, tags, groups),
//! a command and a runbook fanned out over 50 real sshd hosts started in one batch, with
//! faults — hosts down, a changed host key, a host that never answers — results grouped by
//! output, one journal action with a row per host, and Ctrl-C.

use paaf_tests::{Fleet, World, host_entry_at, run_script};
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOSTS: usize = 50;

/// 50 hosts `web-01`..`web-50` (tag role=web; env=prod on odd ones, staging on even ones;
/// group `checkout` on the first ten), all trusted; plus `hang-1`, an address that accepts
/// TCP and never speaks SSH (a connect budget of 2 s).
struct Lab {
    world: World,
    fleet: Fleet,
    _black_hole: TcpListener,
}

fn lab() -> Lab {
    let world = World::new();
    let fleet = Fleet::start(HOSTS, &[&world.key]);
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = String::new();
    for (i, (_, port)) in fleet.hosts.iter().enumerate() {
        let n = i + 1;
        let env = if n % 2 == 1 { "prod" } else { "staging" };
        let groups = if n <= 10 { "[\"checkout\"]" } else { "[]" };
        config += &host_entry_at(
            &format!("web-{n:02}"),
            *port,
            &world.key,
            &format!("tags = {{ role = \"web\", env = \"{env}\" }}\ngroups = {groups}"),
        );
    }
    config += &host_entry_at(
        "hang-1",
        black_hole.local_addr().unwrap().port(),
        &world.key,
        "connect_timeout_secs = 2\ntags = { role = \"web\", env = \"prod\" }",
    );
    world.write_config(&config);
    std::fs::write(world.dir.path().join("known_hosts"), fleet.known_hosts()).unwrap();
    Lab {
        world,
        fleet,
        _black_hole: black_hole,
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn groups(report: &Value) -> Vec<(String, usize)> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_string(),
                g["hosts"].as_array().unwrap().len(),
            )
        })
        .collect()
}

/// One fleet for every scenario (starting 50 hosts is the slow part): selectors, a runbook,
/// Ctrl-C, then faults.
#[test]
fn fifty_hosts_by_selector_with_faults_grouped_journaled_and_cancellable() {
    let lab = lab();
    selectors_choose_by_glob_tag_and_group_and_say_what_exists_when_nothing_matches(&lab);
    ctrl_c_starts_no_more_hosts_and_reports_what_ran(&lab);
    a_command_on_fifty_hosts_with_faults_is_grouped_and_journaled_once(&lab);
}

fn a_command_on_fifty_hosts_with_faults_is_grouped_and_journaled_once(lab: &Lab) {
    // Faults: two hosts down, one with a new host key (refused, the rest run).
    for i in [2, 3] {
        run_script(&["stop", lab.fleet.hosts[i].0.to_str().unwrap()]);
    }
    run_script(&["rekey", lab.fleet.hosts[5].0.to_str().unwrap()]);

    let started = Instant::now();
    let out = lab
        .world
        .paaf()
        .args(["exec", "--tag", "role=web", "--yes", "-o", "json", "-v"])
        .args(["--", "echo", "fleet-ok"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let report = json(&out);
    // The key and known_hosts are read once for the 51 hosts, not once (or twice) per host.
    let log = String::from_utf8_lossy(&out.stderr);
    let count = |line: &str| log.lines().filter(|l| l.contains(line)).count();
    assert_eq!(count("ssh: private key read"), 1, "{log}");
    assert_eq!(count("ssh: known_hosts read"), 1, "{log}");
    assert_eq!(
        groups(&report),
        [
            ("exit 0".to_string(), 47),
            ("unreachable".to_string(), 2),
            ("host key changed".to_string(), 1),
            ("timeout".to_string(), 1),
        ],
        "{report:#}"
    );
    assert_eq!(report["groups"][0]["stdout"], "fleet-ok\n");
    assert_eq!(
        report["groups"][1]["hosts"],
        serde_json::json!(["web-03", "web-04"])
    );
    assert_eq!(report["groups"][2]["hosts"], serde_json::json!(["web-06"]));
    assert_eq!(report["groups"][3]["hosts"], serde_json::json!(["hang-1"]));
    assert_eq!(report["tally"]["total"], 51);
    assert_eq!(report["tally"]["failed"], 4);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 51, "every host's result");
    assert_eq!(hosts[0]["host"], "web-01");
    assert_eq!(hosts[0]["exit_code"], 0);
    assert!(hosts[0]["duration_ms"].as_u64().is_some());
    assert_eq!(hosts[2]["error"]["code"], "unreachable");
    assert_eq!(hosts[50]["error"]["phase"], "connect");
    // The first host's error (in config order) is paaf's exit code: unreachable.
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The hanging host costs its connect budget, not more.
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // One parent action, a row per host under it.
    let db = rusqlite::Connection::open(lab.world.journal_path()).unwrap();
    let parent = report["action_id"].as_i64().unwrap();
    let (target, state): (String, String) = db
        .query_row(
            "SELECT target, state FROM actions WHERE id = ?1 AND parent IS NULL",
            [parent],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(target, "--tag role=web");
    assert_eq!(state, "failed");
    let parts = lab.world.journal_parts(parent);
    assert_eq!(parts.len(), 51);
    assert_eq!(parts[0], ("web-01".to_string(), "succeeded".to_string()));
    assert_eq!(parts[2], ("web-03".to_string(), "failed".to_string()));
    assert_eq!(parts.iter().filter(|p| p.1 == "succeeded").count(), 47);

    // The same as text: a block per group, largest first, and the summary.
    let out = lab
        .world
        .paaf()
        .args([
            "exec", "web-0*", "--yes", "-o", "table", "--", "echo", "fleet-ok",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "✓ 6 hosts: exit 0 (web-01, web-02, web-05, web-07, web-08, web-09)",
        "{text}"
    );
    assert_eq!(lines[1], "    fleet-ok", "{text}");
    assert!(
        lines[2].starts_with("✗ 2 hosts: unreachable (web-03, web-04)"),
        "{text}"
    );
    assert!(
        text.contains("✗ 1 host: host key changed (web-06)"),
        "{text}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("9 hosts: 6 ok, 2 unreachable, 1 host key changed in "),
        "{text}"
    );
}

fn selectors_choose_by_glob_tag_and_group_and_say_what_exists_when_nothing_matches(lab: &Lab) {
    let names = |args: &[&str]| -> Vec<String> {
        let out = lab
            .world
            .paaf()
            .args(["host", "list", "-o", "name"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(names(&["web-1?"]).len(), 10);
    assert_eq!(
        names(&["--group", "checkout", "--tag", "env=prod"]),
        ["web-01", "web-03", "web-05", "web-07", "web-09"]
    );
    assert_eq!(
        names(&["--tag", "env=staging", "--tag", "role=web"]).len(),
        25
    );

    let out = lab
        .world
        .paaf()
        .args(["exec", "--tag", "role=db", "--yes", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tag role=db"), "{err}");
    assert!(
        err.contains("tags: env=prod, env=staging, role=web"),
        "{err}"
    );
    assert!(err.contains("groups: checkout"), "{err}");
    assert!(err.contains("hosts: web-01, web-02"), "{err}");

    // A runbook on a group; a dangerous one needs its typed name even with --yes.
    let runbook = |name: &str| {
        lab.world
            .paaf()
            .args([
                "runbook", "run", "--group", "checkout", name, "--yes", "-o", "json",
            ])
            .output()
            .unwrap()
    };
    let out = runbook("restart-app");
    let report = json(&out);
    assert_eq!(groups(&report), [("exit 0".to_string(), 10)], "{report:#}");
    assert!(
        report["groups"][0]["stdout"]
            .as_str()
            .unwrap()
            .contains("app restarted: ok")
    );
    assert_eq!(out.status.code(), Some(0));
    let out = runbook("__wipe-cache");
    assert_eq!(out.status.code(), Some(8));
    let refused = json(&out);
    let err = refused["error"]["message"].as_str().unwrap();
    assert!(
        err.contains("10 hosts: web-01, web-02, web-03, web-04, web-05 and 5 more"),
        "{err}"
    );
}

fn ctrl_c_starts_no_more_hosts_and_reports_what_ran(lab: &Lab) {
    let child = Command::new(paaf_tests::paaf_bin())
        .env("PAAF_CONFIG", lab.world.config_path())
        .env_remove("SSH_AUTH_SOCK")
        .env("PAAF_KEYRING", "keyutils")
        .args(["exec", "web-*", "--parallel", "2", "--yes", "-o", "json"])
        .args(["--", "sleep 1; echo slept"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "running hosts finish, no more start"
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(report["cancelled"], true);
    let ran = report["tally"]["done"].as_u64().unwrap();
    assert!((2..=6).contains(&ran), "{report:#}");
    assert_eq!(report["tally"]["not_started"].as_u64().unwrap(), 50 - ran);
    // Hosts start in config order, as parallel-ssh starts them: the first `ran` ran.
    let started: Vec<bool> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["outcome"] != "not-started")
        .collect();
    assert_eq!(
        started.iter().position(|s| !s),
        Some(ran as usize),
        "{report:#}"
    );
    assert!(started[ran as usize..].iter().all(|s| !s), "{report:#}");
    assert_eq!(report["groups"][0]["label"], "not started");
    assert_eq!(report["groups"][1]["stdout"], "slept\n");
}
