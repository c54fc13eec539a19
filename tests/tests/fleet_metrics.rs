//! Host metrics in `paaf host list`, end to end through the `paaf` binary: read over SSH from
//! /proc and `df` on real sshd hosts (one whose `df` answers a full disk, one whose `df` answers
//! nonsense, one with its own thresholds, one down, and a Prometheus that does not answer), and
//! from a real Prometheus scraping a real node exporter.

use paaf_tests::{Fleet, PrometheusPeers, World, free_port, host_entry_at, set_df_answer};
use serde_json::Value;
use std::time::{Duration, Instant};

const FULL_ROOT: &str = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                         /dev/vda1         10255636   9948000    307636      98% /\n\
                         tmpfs              1018000   1018000         0     100% /dev/shm\n\
                         /dev/vdb1        103081248  40000000  63081248      39% /srv/data\n";

fn list(world: &World, args: &[&str]) -> (Value, String) {
    let out = world
        .paaf()
        .args(["host", "list", "-o", "json"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (v, err)
}

fn host<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// Whether `name` is listed before every host less worrying than a danger.
fn before_the_rest(list: &Value, name: &str) -> bool {
    let hosts = list.as_array().unwrap();
    let at = hosts.iter().position(|h| h["name"] == name).unwrap();
    hosts[..at].iter().all(|h| rank(h) == 3)
}

/// Whether `value` in `line` is drawn in the terminal colour `code` (`9`: bright red).
fn coloured(line: &str, value: &str, code: &str) -> bool {
    let Some(at) = line.find(value) else {
        return false;
    };
    let before = &line[..at];
    before
        .rfind("\x1b[38;5;")
        .is_some_and(|i| before[i + 7..].starts_with(&format!("{code}m")))
}

/// The worst level of a listed host, ranked as paaf sorts (danger first).
fn rank(h: &Value) -> u8 {
    let m = &h["metrics"];
    if m.is_null() {
        return 1;
    }
    ["cpu_percent", "load1", "memory_percent", "disk_percent"]
        .iter()
        .map(|k| match m[k]["level"].as_str().unwrap() {
            "danger" => 3,
            "warning" => 2,
            "unknown" => 1,
            _ => 0,
        })
        .max()
        .unwrap()
}

#[test]
fn metrics_over_ssh_with_thresholds_a_full_disk_first_and_odd_answers_unknown() {
    let world = World::new();
    let fleet = Fleet::start(4, &[&world.key]);
    let ports: Vec<u16> = fleet.hosts.iter().map(|(_, p)| *p).collect();
    set_df_answer(&fleet.hosts[1].0, Some(FULL_ROOT));
    set_df_answer(
        &fleet.hosts[2].0,
        Some("df: cannot read table of mounted file systems\n"),
    );
    set_df_answer(&fleet.hosts[3].0, Some(FULL_ROOT));
    let config = format!(
        "[defaults.thresholds]\ndisk = {{ warning = 80, danger = 90 }}\n\n\
         [[monitoring]]\nname = \"prom-down\"\ntype = \"prometheus\"\nurl = \"http://127.0.0.1:{}/\"\n\n{}{}{}{}{}",
        free_port(),
        host_entry_at("web-1", ports[0], &world.key, ""),
        host_entry_at("web-2", ports[1], &world.key, ""),
        host_entry_at("web-3", ports[2], &world.key, ""),
        host_entry_at(
            "big-disk",
            ports[3],
            &world.key,
            "thresholds = { disk = { warning = 95, danger = 99.5 } }"
        ),
        host_entry_at("down-1", free_port(), &world.key, ""),
    );
    world.write_config(&config);
    std::fs::write(world.dir.path().join("known_hosts"), fleet.known_hosts()).unwrap();

    let (hosts, _) = list(&world, &[]);
    // One login's files are read once for every host, and each reachable host gets one command
    // (status and metrics in one round trip).
    let (_, log) = list(&world, &["-v"]);
    let count = |line: &str| log.lines().filter(|l| l.contains(line)).count();
    assert_eq!(count("ssh: private key read"), 1, "{log}");
    assert_eq!(count("ssh: known_hosts read"), 1, "{log}");
    assert_eq!(count("ssh: channel open"), 4, "{log}");
    // A full root is a danger, whatever mount is fuller in memory-backed filesystems.
    let full = host(&hosts, "web-2");
    let m = &full["metrics"];
    assert_eq!(m["source"]["kind"], "ssh", "{full}");
    assert_eq!(m["disk_percent"]["level"], "danger", "{full}");
    assert_eq!(m["disk_mount"], "/", "{full}");
    let disk = m["disk_percent"]["value"].as_f64().unwrap();
    assert!((96.0..=98.0).contains(&disk), "{disk}");
    // The same answer under the host's own limits is only a warning.
    assert_eq!(
        host(&hosts, "big-disk")["metrics"]["disk_percent"]["level"],
        "warning"
    );
    // The real df and /proc of a host: every value read, in range.
    let real = &host(&hosts, "web-1")["metrics"];
    for key in ["cpu_percent", "memory_percent", "disk_percent"] {
        let v = real[key]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {real}"));
        assert!((0.0..=100.0).contains(&v), "{key}: {v}");
        assert_ne!(real[key]["level"], "unknown", "{real}");
    }
    assert!(real["load1"]["value"].as_f64().unwrap() >= 0.0);
    assert!(real["uptime_secs"].as_u64().is_some(), "{real}");
    assert_eq!(real["problems"], serde_json::json!([]), "{real}");
    // Nonsense from df leaves the disk unknown, the rest read, and says why on stderr.
    let odd = &host(&hosts, "web-3")["metrics"];
    assert!(odd["disk_percent"]["value"].is_null(), "{odd}");
    assert_eq!(odd["disk_percent"]["level"], "unknown");
    assert!(odd["memory_percent"]["value"].as_f64().is_some(), "{odd}");
    assert!(
        odd["problems"][0].as_str().unwrap().starts_with("df:"),
        "{odd}"
    );
    // A host that does not answer has no metrics, and the list is the worst first.
    assert!(host(&hosts, "down-1")["metrics"].is_null());
    let ranks: Vec<u8> = hosts.as_array().unwrap().iter().map(rank).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "worst first: {ranks:?}"
    );
    assert!(before_the_rest(&hosts, "web-2"), "{hosts}");

    // The table: coloured by level (the full disk in bold red), one line per host at 80
    // columns, the mount and the source with -o wide.
    let out = world
        .paaf()
        .env("COLUMNS", "80")
        .args(["host", "list", "-o", "table", "--color", "always"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 6, "{table}");
    let web2 = table.lines().find(|l| l.contains("web-2")).unwrap();
    assert!(coloured(web2, "97%", "9"), "{web2:?}");
    // Why a value is unknown goes to stderr, beside the table.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("web-3: metrics: df: no disk"), "{err}");
    assert!(table.lines().all(|l| console_width(l) <= 80), "{table}");
    let out = world
        .paaf()
        .args(["host", "list", "-o", "wide"])
        .output()
        .unwrap();
    let wide = String::from_utf8_lossy(&out.stdout);
    assert!(!wide.contains('\x1b'), "piped: no colour: {wide:?}");
    let web2 = wide.lines().find(|l| l.contains("web-2")).unwrap();
    assert!(web2.contains(" / ") && web2.contains(" ssh "), "{wide}");

    // Back to the real disks: web-2 reads what web-1 reads (the same machine).
    set_df_answer(&fleet.hosts[1].0, None);
    let (hosts, _) = list(&world, &["web-1", "web-2"]);
    let disk = |name| {
        host(&hosts, name)["metrics"]["disk_percent"]["value"]
            .as_f64()
            .unwrap()
    };
    assert!((disk("web-1") - disk("web-2")).abs() < 1.0, "{hosts}");
}

/// Characters on the screen: colour sequences take none.
fn console_width(line: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in line.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

#[test]
fn metrics_from_the_node_exporter_prometheus_scrapes_else_over_ssh() {
    let world = World::new();
    let fleet = Fleet::start(2, &[&world.key]);
    let peers = PrometheusPeers::start();
    // Both hosts are at 127.0.0.1, the node exporter's instance host: the first is matched by
    // its address; the second names an instance Prometheus does not have, so it is read over
    // SSH (with a full disk, which the exporter could not have said).
    set_df_answer(&fleet.hosts[1].0, Some(FULL_ROOT));
    let config = format!(
        "[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n\n{}{}",
        peers.prometheus_url(),
        host_entry_at("node-1", fleet.hosts[0].1, &world.key, ""),
        host_entry_at(
            "elsewhere",
            fleet.hosts[1].1,
            &world.key,
            "instance = \"elsewhere.internal:9100\""
        ),
    );
    world.write_config(&config);
    std::fs::write(world.dir.path().join("known_hosts"), fleet.known_hosts()).unwrap();

    // CPU % is a rate: it needs two scrapes (one a second).
    let start = Instant::now();
    let hosts = loop {
        let (hosts, _) = list(&world, &[]);
        let node = &host(&hosts, "node-1")["metrics"];
        if node["source"]["kind"] == "node-exporter" && !node["cpu_percent"]["value"].is_null() {
            break hosts;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no CPU rate from the node exporter: {hosts}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let node = &host(&hosts, "node-1")["metrics"];
    assert_eq!(node["source"]["kind"], "node-exporter", "{node}");
    assert_eq!(node["source"]["source"], "prom");
    assert_eq!(
        node["source"]["instance"],
        format!("127.0.0.1:{}", peers.node_port)
    );
    for key in ["cpu_percent", "memory_percent", "disk_percent"] {
        let v = node[key]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {node}"));
        assert!((0.0..=100.0).contains(&v), "{key}: {v}");
    }
    assert!(node["load1"]["value"].as_f64().is_some(), "{node}");
    assert!(
        node["disk_mount"].as_str().unwrap().starts_with('/'),
        "{node}"
    );
    assert!(node["uptime_secs"].as_u64().unwrap() > 0, "{node}");

    let other = &host(&hosts, "elsewhere")["metrics"];
    assert_eq!(other["source"]["kind"], "ssh", "{other}");
    assert_eq!(other["disk_percent"]["level"], "danger", "{other}");
    assert_eq!(
        other["problems"],
        serde_json::json!([
            "prometheus `prom` has no instance `elsewhere.internal:9100`; read over SSH"
        ])
    );
    assert!(
        before_the_rest(&hosts, "elsewhere"),
        "the danger first: {hosts}"
    );
}
