//! The phone library's fleet exports (paaf-mobile's `fleet`) driven as an app drives them —
//! the selector picker, the confirmation, a fan-out with its progress listener and its
//! cancel — and the host metrics `status` carries, against real sshd hosts, one of them
//! unreachable.

use paaf_core::host_metrics::MetricsSource;
use paaf_core::journal::ActionState;
use paaf_core::thresholds::Level;
use paaf_core::{Confirmation, ErrorCode, FanOutJob, HostOutcome};
use paaf_mobile::{
    ConfigSource, FanOutListener, FanOutProgress, FanOutReport, FleetChoices, FleetSelector, Paaf,
    PaafError, SecretStore,
};
use paaf_tests::{Fleet, World, free_port, host_entry_at, set_df_answer};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// No secrets here: every host logs in with the world's key file.
struct NoSecrets;

impl SecretStore for NoSecrets {
    fn get(&self, _: String) -> Result<Option<String>, PaafError> {
        Ok(None)
    }
    fn set(&self, _: String, _: String) -> Result<(), PaafError> {
        Ok(())
    }
    fn delete(&self, _: String) -> Result<(), PaafError> {
        Ok(())
    }
}

/// A listener that hands each progress it receives to the test.
struct Seen(Mutex<Sender<FanOutProgress>>);

impl FanOutListener for Seen {
    fn on_progress(&self, progress: FanOutProgress) -> Result<(), PaafError> {
        let _ = self.0.lock().unwrap().send(progress);
        Ok(())
    }
}

fn listener() -> (Arc<Seen>, Receiver<FanOutProgress>) {
    let (tx, rx) = channel();
    (Arc::new(Seen(Mutex::new(tx))), rx)
}

/// `web-1`..`web-3` (tag role=web; group checkout on the first two), trusted, and `down-1`
/// (role=web too) on a port nothing listens on; disk thresholds 80 / 90 %.
fn lab() -> (World, Fleet, Arc<Paaf>) {
    let world = World::new();
    let fleet = Fleet::start(3, &[&world.key]);
    let mut config =
        String::from("[defaults.thresholds]\ndisk = { warning = 80, danger = 90 }\n\n");
    for (i, (_, port)) in fleet.hosts.iter().enumerate() {
        let groups = if i < 2 { "[\"checkout\"]" } else { "[]" };
        config += &host_entry_at(
            &format!("web-{}", i + 1),
            *port,
            &world.key,
            &format!("tags = {{ role = \"web\" }}\ngroups = {groups}"),
        );
    }
    config += &host_entry_at(
        "down-1",
        free_port(),
        &world.key,
        "connect_timeout_secs = 2\ntags = { role = \"web\", env = \"prod\" }",
    );
    world.write_config(&config);
    std::fs::write(world.dir.path().join("known_hosts"), fleet.known_hosts()).unwrap();
    let paaf = Paaf::open(
        ConfigSource::Path {
            path: world.config_path().display().to_string(),
        },
        Arc::new(NoSecrets),
        "test-phone".into(),
    )
    .expect("paaf opens");
    (world, fleet, paaf)
}

fn tag(t: &str) -> FleetSelector {
    FleetSelector {
        tags: vec![t.into()],
        ..FleetSelector::default()
    }
}

fn groups(report: &FanOutReport) -> Vec<(String, Vec<String>)> {
    report
        .groups
        .iter()
        .map(|g| (g.label.clone(), g.hosts.clone()))
        .collect()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_is_confirmed_grouped_live_journaled_and_cancellable() {
    let (world, _fleet, paaf) = lab();

    // The picker and the confirmation: tags and groups there are, the count and a sample.
    assert_eq!(
        paaf.fleet_choices(),
        FleetChoices {
            tags: names(&["env=prod", "role=web"]),
            groups: names(&["checkout"]),
        }
    );
    let uptime = FanOutJob::Command("echo fleet-ok".into());
    let ask = paaf.fan_out_ask(tag("role=web"), uptime.clone()).unwrap();
    assert_eq!(ask.selector, "--tag role=web");
    assert_eq!(ask.host_count, 4);
    assert_eq!(ask.hosts, names(&["web-1", "web-2", "web-3", "down-1"]));
    assert_eq!(ask.sample, "4 hosts: web-1, web-2, web-3, down-1");
    assert_eq!(
        ask.question,
        "running `echo fleet-ok` on 4 hosts: web-1, web-2, web-3, down-1"
    );
    assert_eq!(ask.typed_name, None);
    let wipe = FanOutJob::Runbook("__wipe-cache".into());
    let ask = paaf
        .fan_out_ask(
            FleetSelector {
                groups: vec!["checkout".into()],
                ..FleetSelector::default()
            },
            wipe,
        )
        .unwrap();
    assert_eq!(
        (ask.host_count, ask.typed_name),
        (2, Some("__wipe-cache".into()))
    );
    // Nothing chosen, or a malformed tag: input errors that say what there is / what to type.
    match paaf.fan_out_ask(tag("role=db"), uptime.clone()) {
        Err(PaafError::Input { reason, .. }) => {
            assert!(reason.contains("tags: env=prod, role=web"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match paaf.fan_out_ask(tag("role"), uptime.clone()) {
        Err(PaafError::Input { code, reason }) => {
            assert_eq!(code, ErrorCode::InvalidInput);
            assert!(reason.contains("KEY=VALUE"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // Without a confirmation nothing runs.
    let (seen, progress) = listener();
    let refused = paaf.fan_out(
        tag("role=web"),
        uptime.clone(),
        None,
        None,
        Confirmation::None,
        seen,
    );
    match refused.result().await {
        Err(PaafError::Input { code, .. }) => assert_eq!(code, ErrorCode::ConfirmationRequired),
        other => panic!("{other:?}"),
    }
    assert!(refused.is_finished());
    assert!(progress.try_recv().is_err(), "no host ran");

    // Confirmed: a progress per host as it finishes, then the report grouped by output.
    let (seen, progress) = listener();
    let running = paaf.fan_out(tag("role=web"), uptime, None, None, Confirmation::Yes, seen);
    let report = running.result().await.expect("a report");
    let seen: Vec<FanOutProgress> = progress.try_iter().collect();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(
        seen.iter().map(|p| p.tally.done).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let last = seen.last().unwrap();
    assert_eq!((last.tally.total, last.tally.failed), (4, 1));
    assert_eq!(last.groups.len(), 2, "{last:#?}");
    assert_eq!(
        groups(&report),
        [
            ("exit 0".to_string(), names(&["web-1", "web-2", "web-3"])),
            ("unreachable".to_string(), names(&["down-1"])),
        ],
        "{report:#?}"
    );
    match &report.groups[0].outcome {
        HostOutcome::Ran(out) => assert_eq!(out.stdout, "fleet-ok\n"),
        other => panic!("{other:?}"),
    }
    assert!(report.groups[0].ok && !report.groups[1].ok);
    assert_eq!(report.tally.total, 4);
    assert_eq!((report.tally.done, report.tally.failed), (4, 1));
    assert_eq!(report.hosts.len(), 4);
    assert_eq!(report.hosts[3].host, "down-1");
    match &report.hosts[3].outcome {
        HostOutcome::Failed { error } => assert_eq!(error.code, ErrorCode::Unreachable),
        other => panic!("{other:?}"),
    }
    assert!(!report.cancelled);
    assert_eq!(report.failure, Some(ErrorCode::Unreachable));
    assert!(
        report
            .summary
            .starts_with("4 hosts: 3 ok, 1 unreachable in "),
        "{}",
        report.summary
    );

    // Journaled as the CLI's: one parent action on the selector, a row per host under it,
    // from this phone.
    let db = rusqlite::Connection::open(world.journal_path()).unwrap();
    let (target, frontend, device): (String, String, String) = db
        .query_row(
            "SELECT target, frontend, device FROM actions WHERE id = ?1 AND parent IS NULL",
            [report.action_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (target.as_str(), frontend.as_str(), device.as_str()),
        ("--tag role=web", "mobile", "test-phone")
    );
    let parts: Vec<String> = world
        .journal_parts(report.action_id)
        .into_iter()
        .map(|(target, _)| target)
        .collect();
    assert_eq!(parts, names(&["web-1", "web-2", "web-3", "down-1"]));
    let web1 = paaf.journal(Some("web-1".into()), 1).unwrap();
    assert_eq!(web1[0].state, ActionState::Succeeded);
    assert_eq!(web1[0].id, report.hosts[0].action_id);

    // Cancel after the first host: the running one finishes, no more start.
    let (seen, progress) = listener();
    let running = paaf.fan_out(
        FleetSelector {
            names: vec!["web-*".into()],
            ..FleetSelector::default()
        },
        FanOutJob::Command("sleep 1; echo slept".into()),
        Some(1),
        None,
        Confirmation::Yes,
        seen,
    );
    let first = tokio::task::spawn_blocking(move || {
        let first = progress.recv_timeout(Duration::from_secs(60));
        (first, progress)
    })
    .await
    .unwrap();
    let (first, progress) = (first.0.expect("the first host's progress"), first.1);
    running.cancel();
    let report = running.result().await.expect("a report");
    assert_eq!(first.tally.done, 1);
    assert!(report.cancelled);
    assert_eq!(report.failure, Some(ErrorCode::Cancelled));
    let ran = report.tally.done;
    assert!((1..=2).contains(&ran), "{report:#?}");
    assert_eq!(report.tally.not_started, 3 - ran);
    assert_eq!(
        report.tally.failed, 0,
        "those that ran finished: {report:#?}"
    );
    let labels: Vec<String> = report.groups.iter().map(|g| g.label.clone()).collect();
    assert!(labels.contains(&"not started".to_string()), "{labels:?}");
    assert!(labels.contains(&"exit 0".to_string()), "{labels:?}");
    let ok = report.groups.iter().find(|g| g.ok).unwrap();
    match &ok.outcome {
        HostOutcome::Ran(out) => assert_eq!(out.stdout, "slept\n"),
        other => panic!("{other:?}"),
    }
    // Hosts start in config order: those left unstarted are the last ones.
    let not_started: Vec<&str> = report
        .hosts
        .iter()
        .filter(|h| h.outcome.label() == "not started")
        .map(|h| h.host.as_str())
        .collect();
    assert_eq!(
        not_started,
        ["web-1", "web-2", "web-3"][ran as usize..],
        "{report:#?}"
    );
    assert!(progress.try_iter().all(|p| p.tally.done <= ran));
}

/// A `df -P` answer whose root is 98 % full.
const FULL_ROOT: &str = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                         /dev/vda1         10255636   9948000    307636      98% /\n";

#[tokio::test(flavor = "multi_thread")]
async fn host_metrics_with_their_levels_reach_the_app_through_status() {
    let (_world, fleet, paaf) = lab();
    set_df_answer(&fleet.hosts[1].0, Some(FULL_ROOT));
    let statuses = paaf.status(vec![]).await.unwrap();
    let by_name = |n: &str| statuses.iter().find(|s| s.name == n).unwrap();
    let web1 = by_name("web-1").metrics.clone().expect("web-1's metrics");
    assert_eq!(web1.source, MetricsSource::Ssh);
    assert!(web1.memory_percent.value.is_some(), "{web1:?}");
    assert!(web1.disk_percent.value.is_some(), "{web1:?}");
    let web2 = by_name("web-2").metrics.clone().expect("web-2's metrics");
    // Used / (used + available), as df computes its capacity: 97 %.
    let disk = web2.disk_percent.value.expect("web-2's disk");
    assert!((96.5..98.5).contains(&disk), "{web2:?}");
    assert_eq!(web2.disk_percent.level, Level::Danger);
    assert_eq!(web2.disk_mount.as_deref(), Some("/"));
    let down = by_name("down-1");
    assert!(!down.reachable && down.metrics.is_none(), "{down:?}");
}
