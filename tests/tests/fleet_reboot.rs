//! Fleet reboot end to end through the `paaf` binary on six real sshd hosts that really go
//! away: batch by batch, each batch verified (new boot id, then the health command) before the
//! next; a host whose health command fails stops the roll at once (a few tries, not the whole
//! test_timeout_secs), and the report and the journal say which hosts are done and which were
//! never touched.

use paaf_tests::{Fleet, World, host_entry_at};
use serde_json::Value;
use std::path::Path;

const HOSTS: usize = 6;

/// Hosts `web-1`..`web-6` (tag role=web; group `front` on the first three), trusted, each down
/// for 1 s on a reboot. Their test_timeout_secs is long: a health command that fails must stop
/// the roll after its few tries, not after waiting all of it.
fn lab() -> (World, Fleet) {
    let world = World::new();
    let fleet = Fleet::start(HOSTS, &[&world.key]);
    let mut config = String::new();
    for (i, (dir, port)) in fleet.hosts.iter().enumerate() {
        std::fs::write(dir.join("down_secs"), "1\n").unwrap();
        let groups = if i < 3 { "[\"front\"]" } else { "[]" };
        config += &host_entry_at(
            &format!("web-{}", i + 1),
            *port,
            &world.key,
            &format!(
                "tags = {{ role = \"web\" }}\ngroups = {groups}\n[hosts.reboot]\nbackoff_max_secs = 1\ntest_timeout_secs = 60"
            ),
        );
    }
    world.write_config(&config);
    std::fs::write(world.dir.path().join("known_hosts"), fleet.known_hosts()).unwrap();
    (world, fleet)
}

fn reboots(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("reboot-count"))
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(0)
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

/// One fleet for every scenario (starting hosts is the slow part).
#[test]
fn a_fleet_reboot_goes_batch_by_batch_and_stops_at_an_unhealthy_host() {
    let (world, fleet) = lab();
    the_confirmation_and_the_dry_run_name_the_hosts_and_send_nothing(&world, &fleet);
    an_unhealthy_host_stops_the_roll_and_the_rest_stay_untouched(&world, &fleet);
    a_healthy_group_is_rebooted_and_shown_as_a_table(&world, &fleet);
}

fn the_confirmation_and_the_dry_run_name_the_hosts_and_send_nothing(world: &World, fleet: &Fleet) {
    let out = world
        .paaf()
        .args(["reboot", "--tag", "role=web", "--batch", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "reboot of 6 hosts: web-1, web-2, web-3, web-4, web-5 and 1 more, 2 at a time"
        ),
        "{err}"
    );

    let out = world
        .paaf()
        .args(["reboot", "web-*", "--batch", "4", "--health-cmd", "true"])
        .args(["--dry-run", "-o", "json"])
        .output()
        .unwrap();
    let plan = json(&out);
    let steps: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        steps.iter().any(|s| s.starts_with("batch 2: web-5 (")),
        "{steps:?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("health: true")),
        "{steps:?}"
    );
    assert!(fleet.hosts.iter().all(|(dir, _)| reboots(dir) == 0));
}

fn an_unhealthy_host_stops_the_roll_and_the_rest_stay_untouched(world: &World, fleet: &Fleet) {
    // Healthy everywhere but on web-3: its machine-id is the one the check refuses.
    let sick = std::fs::read_to_string(fleet.hosts[2].0.join("machine_id")).unwrap();
    let health = format!("test \"$(cat /etc/machine-id)\" != {}", sick.trim());
    let out = world
        .paaf()
        .args(["reboot", "--tag", "role=web", "--batch", "2"])
        .args(["--health-cmd", &health, "--yes", "-o", "json"])
        .output()
        .unwrap();
    let report = json(&out);
    let states: Vec<(&str, u64, &str)> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap(),
                h["batch"].as_u64().unwrap(),
                h["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("web-1", 1, "done"),
            ("web-2", 1, "done"),
            ("web-3", 2, "unhealthy"),
            ("web-4", 2, "done"),
            ("web-5", 3, "untouched"),
            ("web-6", 3, "untouched"),
        ],
        "{report:#}"
    );
    // Its health command ran and said no: that is the answer, not a phase out of time.
    let error = &report["hosts"][2]["error"];
    assert_eq!(error["code"], "remote-command", "{report:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&health) && message.contains("exit code 1"),
        "{message}"
    );
    assert_ne!(
        report["hosts"][0]["report"]["boot_id_before"],
        report["hosts"][0]["report"]["boot_id_after"]
    );
    assert_eq!(
        out.status.code(),
        Some(9),
        "a failed health command exits 9"
    );
    let counts: Vec<u32> = fleet.hosts.iter().map(|(dir, _)| reboots(dir)).collect();
    assert_eq!(counts, [1, 1, 1, 1, 0, 0], "web-5 and web-6 never rebooted");

    // One parent action, a row per host under it, each as it ended.
    let db = rusqlite::Connection::open(world.journal_path()).unwrap();
    let parent = report["action_id"].as_i64().unwrap();
    let (kind, target, state): (String, String, String) = db
        .query_row(
            "SELECT kind, target, state FROM actions WHERE id = ?1 AND parent IS NULL",
            [parent],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), target.as_str(), state.as_str()),
        ("reboot", "--tag role=web", "failed")
    );
    let parts = world.journal_parts(parent);
    let parts: Vec<(&str, &str)> = parts
        .iter()
        .map(|(t, s)| (t.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        parts,
        [
            ("web-1", "succeeded"),
            ("web-2", "succeeded"),
            ("web-3", "failed"),
            ("web-4", "succeeded"),
            ("web-5", "failed"),
            ("web-6", "failed"),
        ]
    );
}

fn a_healthy_group_is_rebooted_and_shown_as_a_table(world: &World, fleet: &Fleet) {
    let out = world
        .paaf()
        .args([
            "reboot", "--group", "front", "--batch", "3", "--yes", "-o", "table",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("HOST"), "{text}");
    for (line, host) in lines[1..4].iter().zip(["web-1", "web-2", "web-3"]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..3], [host, "1", "done"], "{text}");
        assert!(line.contains("verified in"), "{text}");
    }
    assert!(
        lines.last().unwrap().starts_with("3 hosts: 3 done in "),
        "{text}"
    );
    let counts: Vec<u32> = fleet.hosts.iter().map(|(dir, _)| reboots(dir)).collect();
    assert_eq!(counts, [2, 2, 2, 1, 0, 0]);
}
