//! Verified reboot (Ansible's algorithm) against real sshd hosts that really go away.

use paaf_core::secrets::MemoryStore;
use paaf_core::{CancellationToken, Confirmation, ErrorCode, Paaf, ProgressEvent, Step};
use paaf_tests::{SshHost, World, host_entry};
use std::sync::{Arc, Mutex};

const FAST: &str = "[hosts.reboot]\nbackoff_max_secs = 1\nshutdown_timeout_secs = 20";

fn setup(extra: &str) -> (World, SshHost, Paaf) {
    setup_as(paaf_tests::USER, extra)
}

/// A confirmed reboot of web-1 whose progress nobody watches.
async fn reboot(paaf: &Paaf) -> paaf_core::Result<paaf_core::power::RebootReport> {
    paaf.reboot(
        "web-1",
        &Confirmation::Yes,
        Arc::new(Recorder::default()),
        CancellationToken::new(),
    )
    .await
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressEvent>>);

impl paaf_core::ProgressSink for Recorder {
    fn emit(&self, e: ProgressEvent) {
        self.0.lock().unwrap().push(e);
    }
}

impl Recorder {
    fn kinds(&self) -> Vec<&'static str> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| match e.step {
                Step::Connecting { .. } => "connecting",
                Step::BootIdRead { .. } => "boot-id-read",
                Step::PrivilegeChecked => "privilege",
                Step::CommandSent { .. } => "sent",
                Step::ConnectionDropped => "dropped",
                Step::WaitingForHost { .. } => "waiting",
                Step::BackUp => "back-up",
                Step::BootIdChanged { .. } => "boot-id-changed",
                Step::WaitingForTestCommand { .. } => "waiting-test",
                Step::TestCommandOk { .. } => "test-ok",
                Step::Done => "done",
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_reboot_sees_every_phase_and_is_journaled() {
    let (_world, host, paaf) = setup(FAST);
    let before = host.boot_id();
    let events = Arc::new(Recorder::default());
    let report = paaf
        .reboot(
            "web-1",
            &Confirmation::Yes,
            events.clone(),
            CancellationToken::new(),
        )
        .await
        .expect("verified reboot");
    assert!(report.rebooted);
    assert_eq!(report.boot_id_before, before);
    assert_eq!(report.boot_id_after, host.boot_id());
    assert_ne!(report.boot_id_before, report.boot_id_after);
    assert_eq!(host.reboot_count(), 1);

    let mut kinds = events.kinds();
    kinds.dedup();
    kinds.retain(|k| *k != "waiting");
    assert_eq!(
        kinds,
        [
            "connecting",
            "boot-id-read",
            "privilege",
            "sent",
            "dropped",
            "back-up",
            "boot-id-changed",
            "test-ok",
            "done"
        ]
    );
    let elapsed: Vec<u64> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.elapsed_ms)
        .collect();
    assert!(
        elapsed.windows(2).all(|w| w[0] <= w[1]),
        "elapsed must not go back: {elapsed:?}"
    );

    let row = &paaf.journal(Some("web-1"), 1).unwrap()[0];
    assert_eq!(row.kind, paaf_core::journal::ActionKind::Reboot);
    assert_eq!(serde_json::to_value(row.state).unwrap(), "succeeded");
    assert!(
        row.result.as_deref().unwrap().contains("verified"),
        "{row:?}"
    );
}

/// A host that stays down a while is noticed as soon as its sshd answers: while the port
/// refuses, paaf knocks on it every 250 ms instead of sleeping in a login backoff (1-2 s, then
/// 2-3 s, 4-5 s, ... which overshot the moment sshd was back), so nothing but knocks comes
/// between the dropped connection and the login.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_is_noticed_as_soon_as_its_sshd_answers_again() {
    let (_world, host, paaf) = setup("[hosts.reboot]\nshutdown_timeout_secs = 20");
    let paaf = Arc::new(paaf);
    host.stay_down(true);
    let events = Arc::new(Recorder::default());
    let handle = {
        let (events, paaf) = (events.clone(), paaf.clone());
        tokio::spawn(async move {
            paaf.reboot(
                "web-1",
                &Confirmation::Yes,
                events,
                CancellationToken::new(),
            )
            .await
        })
    };
    for _ in 0..200 {
        if events.kinds().contains(&"dropped") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Down long enough for the old backoff to be asleep in its third wait.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let down_until = events.kinds().len();
    host.stay_down(false);
    let report = handle.await.unwrap().expect("verified reboot");
    assert_ne!(report.boot_id_before, report.boot_id_after);

    let kinds = events.kinds();
    let steps: Vec<Step> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.step.clone())
        .collect();
    let dropped = kinds.iter().position(|k| *k == "dropped").unwrap();
    let back_up = kinds.iter().position(|k| *k == "back-up").unwrap();
    assert!(
        back_up >= down_until,
        "paaf cannot see the host before the test lets it boot: {kinds:?}"
    );
    let waits = &steps[dropped + 1..back_up];
    assert!(!waits.is_empty(), "the refused port is reported: {kinds:?}");
    for step in waits {
        match step {
            Step::WaitingForHost {
                retry_in_ms,
                reason,
                ..
            } => {
                assert_eq!(*retry_in_ms, 250, "a knock, not a backoff: {reason}");
                assert!(reason.contains("refused"), "{reason}");
            }
            other => panic!("only knocks before the host is back, not {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_never_returns_times_out_in_the_boot_phase() {
    let (_world, host, paaf) = setup("[hosts.reboot]\nbackoff_max_secs = 1\ntimeout_secs = 4");
    host.stay_down(true);
    let err = reboot(&paaf).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(
        matches!(
            err,
            paaf_core::Error::Timeout {
                phase: paaf_core::Phase::Boot,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("boot"), "{err}");
    let row = &paaf.journal(Some("web-1"), 1).unwrap()[0];
    assert_eq!(serde_json::to_value(row.state).unwrap(), "failed");
    assert_eq!(row.error_code.as_deref(), Some("timeout"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_test_command_times_out_in_its_own_phase() {
    let (_world, _host, paaf) = setup(
        "test_command = \"false\"\n[hosts.reboot]\nbackoff_max_secs = 1\ntest_timeout_secs = 3",
    );
    let err = reboot(&paaf).await.unwrap_err();
    assert!(
        matches!(
            err,
            paaf_core::Error::Timeout {
                phase: paaf_core::Phase::TestCommand,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reboot_without_sudo_rights_is_refused_before_anything_is_sent() {
    let world = World::new();
    let host = SshHost::start(&[]);
    world.trust(&host);
    world.write_config(&format!(
        "[[hosts]]\nname = \"web-1\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"paaf-nosudo\"\nauth = {{ type = \"password\", password = \"keyring:pw\" }}\n",
        host.port
    ));
    let store = Arc::new(MemoryStore::default());
    paaf_core::secrets::SecretStore::set(
        store.as_ref(),
        "pw",
        &secrecy::SecretString::from(paaf_tests::PASSWORD),
    )
    .unwrap();
    let paaf = Paaf::open(&world.config_path(), store, "test").unwrap();
    let before = host.boot_id();
    let err = reboot(&paaf).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Privilege, "{err}");
    assert!(
        err.to_string().contains("NOPASSWD"),
        "the error says how to fix it: {err}"
    );
    assert_eq!(host.boot_id(), before);
    assert_eq!(host.reboot_count(), 0);
}

/// A world whose web-1 logs in as `user` with the world's key.
fn setup_as(user: &str, extra: &str) -> (World, SshHost, Paaf) {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry("web-1", &host, &world.key, extra).replace(
        &format!("user = \"{}\"", paaf_tests::USER),
        &format!("user = \"{user}\""),
    ));
    let paaf = Paaf::open(
        &world.config_path(),
        Arc::new(MemoryStore::default()),
        "test",
    )
    .unwrap();
    (world, host, paaf)
}

#[tokio::test(flavor = "multi_thread")]
async fn sudo_for_shutdown_only_is_enough_for_a_verified_reboot() {
    // The host's sudoers allows this user /usr/sbin/shutdown and nothing else (no shell).
    let (_world, host, paaf) = setup_as(
        paaf_tests::SHUTDOWN_USER,
        "[hosts.reboot]\ncommand = \"/usr/sbin/shutdown -r now\"\nbackoff_max_secs = 1\nshutdown_timeout_secs = 20",
    );
    let before = host.boot_id();
    let report = reboot(&paaf).await.expect("verified reboot");
    assert!(report.rebooted);
    assert_eq!(report.boot_id_before, before);
    assert_ne!(report.boot_id_after, before);
    assert_eq!(host.reboot_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sudo_suggests_the_rule_that_works_for_the_program_sudo_would_run() {
    // paaf-nosudo has no sudo rights; the rule the error suggests is the one the host gives
    // paaf-shutdown, which the test above proves enough.
    let (_world, host, paaf) = setup_as(
        paaf_tests::NOSUDO_USER,
        "[hosts.reboot]\ncommand = \"/usr/sbin/shutdown -r now\"",
    );
    let err = reboot(&paaf).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Privilege, "{err}");
    let working = paaf_tests::shutdown_user_sudoers_rule()
        .replace(paaf_tests::SHUTDOWN_USER, paaf_tests::NOSUDO_USER);
    assert!(
        err.to_string().contains(&working),
        "suggests `{working}`: {err}"
    );
    assert_eq!(host.reboot_count(), 0);

    // A bare `shutdown` is resolved by sudo through its secure_path: on the test hosts that
    // finds the namespace's /usr/local/sbin/shutdown, which a rule for /usr/sbin/shutdown does
    // not allow; the error names the program sudo would run.
    let (_world, host, paaf) = setup_as(paaf_tests::SHUTDOWN_USER, "");
    let err = reboot(&paaf).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Privilege, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("paaf-shutdown ALL=(root) NOPASSWD: /usr/local/sbin/shutdown")
            && text.contains("reboot.command"),
        "{text}"
    );
    assert_eq!(host.reboot_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_reboot_is_sent_when_the_journal_cannot_record_that_it_starts() {
    let (world, host, paaf) = setup(FAST);
    // The pending row is taken, the `running` one refused (a full disk, an I/O error).
    rusqlite::Connection::open(world.journal_path())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_running BEFORE UPDATE OF state ON actions
             WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
        )
        .unwrap();
    let before = host.boot_id();
    let err = reboot(&paaf).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Journal, "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(host.reboot_count(), 0);
    assert_eq!(host.boot_id(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_while_waiting_for_the_host_stops_the_wait() {
    let (_world, host, paaf) = setup(FAST);
    let paaf = Arc::new(paaf);
    host.stay_down(true);
    let cancel = CancellationToken::new();
    let events = Arc::new(Recorder::default());
    let task = {
        let (cancel, events, paaf) = (cancel.clone(), events.clone(), paaf.clone());
        async move {
            paaf.reboot("web-1", &Confirmation::Yes, events, cancel)
                .await
        }
    };
    let handle = tokio::spawn(task);
    // Cancel once the host is down.
    for _ in 0..100 {
        if events.kinds().contains(&"dropped") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cancel.cancel();
    let err = match handle.await.unwrap() {
        Ok(_) => panic!("a cancelled reboot must not report success"),
        Err(e) => e,
    };
    assert_eq!(err.code(), ErrorCode::Cancelled);
    assert!(err.to_string().contains("may still be rebooting"), "{err}");
    // The reboot command had been sent: whether it took effect is unknown, not a failure.
    let row = &paaf.journal(Some("web-1"), 1).unwrap()[0];
    assert_eq!(
        serde_json::to_value(row.state).unwrap(),
        "unknown",
        "{row:?}"
    );
    assert_eq!(row.error_code.as_deref(), Some("cancelled"));
    host.stay_down(false);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_machine_behind_the_address_after_the_reboot_is_not_a_verified_reboot() {
    let (_world, host, paaf) = setup(FAST);
    let machine = host.machine_id();
    assert_eq!(
        machine.len(),
        32,
        "the test host has a machine id: {machine}"
    );
    host.stay_down(true);
    let events = Arc::new(Recorder::default());
    let task = {
        let events = events.clone();
        async move {
            let r = paaf
                .reboot(
                    "web-1",
                    &Confirmation::Yes,
                    events,
                    CancellationToken::new(),
                )
                .await;
            (r, paaf)
        }
    };
    let handle = tokio::spawn(task);
    for _ in 0..100 {
        if events.kinds().contains(&"dropped") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // While it is down, another machine takes its address (same host key, new boot id).
    host.set_machine_id("0123456789abcdef0123456789abcdef");
    host.stay_down(false);
    let (result, paaf) = handle.await.unwrap();
    let err = result.expect_err("a different machine is not a verified reboot");
    assert!(
        matches!(err, paaf_core::Error::MachineChanged { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::OutcomeUnknown, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&machine) && text.contains("0123456789abcdef0123456789abcdef"),
        "{text}"
    );
    assert!(text.contains("different machine"), "{text}");
    assert!(
        !events.kinds().contains(&"test-ok"),
        "the test command proves nothing on another machine"
    );
    let row = &paaf.journal(Some("web-1"), 1).unwrap()[0];
    assert_eq!(
        row.error_code.as_deref(),
        Some("outcome-unknown"),
        "{row:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reboot_needs_confirmation() {
    let (_world, host, paaf) = setup(FAST);
    let err = paaf
        .reboot(
            "web-1",
            &Confirmation::None,
            Arc::new(Recorder::default()),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfirmationRequired);
    assert_eq!(host.reboot_count(), 0);
    assert!(
        paaf.journal(None, 10).unwrap().is_empty(),
        "a refused action is not started"
    );
}
