//! The phone app's screen models (paaf-mobile's `screens`) driven as an app drives them —
//! subscribe, act through the intents, observe the states the listener receives — against
//! real peers: sshd test hosts, Unleash, Prometheus + Alertmanager and moto.

use paaf_core::ErrorCode;
use paaf_core::config::{AuthInput, HostInput, qr};
use paaf_core::journal::ActionKind;
use paaf_core::thresholds::Level;
use paaf_mobile::{
    AlertListener, AlertState, AnalyzeListener, AnalyzeState, CommandKind, ConfigSource,
    ConfigStage, FixListener, FixState, JournalListener, JournalState, MachineAction, MachineKind,
    OnboardingListener, OnboardingScreen, OnboardingState, OverviewListener, OverviewState, Paaf,
    PaafError, ProtectListener, ProtectState, SecretStore, Subscription,
};
use paaf_tests::{MotoServer, PrometheusPeers, SshHost, UnleashServer, World, host_entry};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app's keystore: a map here.
#[derive(Default)]
struct MapStore(Mutex<HashMap<String, String>>);

impl SecretStore for MapStore {
    fn get(&self, name: String) -> Result<Option<String>, PaafError> {
        Ok(self.0.lock().unwrap().get(&name).cloned())
    }
    fn set(&self, name: String, value: String) -> Result<(), PaafError> {
        self.0.lock().unwrap().insert(name, value);
        Ok(())
    }
    fn delete(&self, name: String) -> Result<(), PaafError> {
        self.0.lock().unwrap().remove(&name);
        Ok(())
    }
}

/// A listener that hands each state it receives to the test.
struct Seen<S>(Mutex<Sender<S>>);

macro_rules! listener {
    ($trait:ident, $state:ty) => {
        impl $trait for Seen<$state> {
            fn on_state(&self, state: $state) -> Result<(), PaafError> {
                let _ = self.0.lock().unwrap().send(state);
                Ok(())
            }
        }
    };
}
listener!(OverviewListener, OverviewState);
listener!(FixListener, FixState);
listener!(ProtectListener, ProtectState);
listener!(JournalListener, JournalState);
listener!(OnboardingListener, OnboardingState);
listener!(AnalyzeListener, AnalyzeState);
listener!(AlertListener, AlertState);

/// The states a subscription receives, in order.
struct States<S> {
    rx: Receiver<S>,
    _subscription: Arc<Subscription>,
}

impl<S: std::fmt::Debug> States<S> {
    /// Waits for a state satisfying `wanted` (the states before it are passed over); the
    /// last state seen is in the panic message when none comes.
    fn until(&self, what: &str, wanted: impl Fn(&S) -> bool) -> S {
        let end = Instant::now() + Duration::from_secs(90);
        let mut last = None;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(s) if wanted(&s) => return s,
                Ok(s) => last = Some(s),
                Err(_) => break,
            }
        }
        panic!("no state with {what}; the last one: {last:#?}");
    }
}

/// Subscribes a [`Seen`] listener through `subscribe`; the states it receives.
fn watch<S>(subscribe: impl FnOnce(Arc<Seen<S>>) -> Arc<Subscription>) -> States<S> {
    let (tx, rx) = channel();
    let subscription = subscribe(Arc::new(Seen(Mutex::new(tx))));
    States {
        rx,
        _subscription: subscription,
    }
}

fn open(world: &World, store: Arc<MapStore>) -> Arc<Paaf> {
    Paaf::open(
        ConfigSource::Path {
            path: world.config_path().display().to_string(),
        },
        store,
        "test-phone".into(),
    )
    .expect("paaf opens")
}

#[test]
fn onboarding_shows_an_empty_or_invalid_config_and_imports_a_pasted_one() {
    let world = World::new();
    let path = world.config_path();
    let store = Arc::new(MapStore::default());

    // A config file paaf refuses: a clear state, never a crash; no paaf to use.
    std::fs::write(&path, "operator = \"alice\"\n[[hosts]]\nname = 3\n").unwrap();
    let screen = OnboardingScreen::new(path.display().to_string(), store.clone(), "p".into());
    let states = watch::<OnboardingState>(|l| screen.subscribe(l));
    let invalid = states.until("the invalid stage", |s| s.stage == ConfigStage::Invalid);
    let error = invalid.error.expect("why it is invalid");
    assert_eq!(error.code, ErrorCode::Config, "{error:?}");
    assert!(screen.paaf().is_none());

    // A pasted config that is not TOML: refused, the file as it was.
    let before = std::fs::read_to_string(&path).unwrap();
    screen.import_toml("this is [not toml".into());
    let refused = states.until("the refused import", |s| {
        s.error.as_ref().is_some_and(|e| e.message.contains("line"))
    });
    assert_eq!(refused.stage, ConfigStage::Invalid);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // An empty one: the Empty stage (the app offers import and add-host), paaf usable.
    screen.import_toml("operator = \"alice\"\n".into());
    let empty = states.until("the empty stage", |s| s.stage == ConfigStage::Empty);
    assert_eq!((empty.hosts, empty.error), (0, None));
    assert!(screen.paaf().expect("open").hosts().is_empty());

    // A real one, pasted: Ready with what it holds; a bad paste then keeps it Ready.
    let host = SshHost::start(&[&world.key]);
    screen.import_toml(host_entry("web-1", &host, &world.key, ""));
    let ready = states.until("the ready stage", |s| s.stage == ConfigStage::Ready);
    assert_eq!(ready.hosts, 1);
    let paaf = screen.paaf().expect("open");
    assert_eq!(paaf.hosts()[0].name, "web-1");
    screen.import_toml("[[hosts]]\nname = \"x\"\n".into());
    let kept = states.until("the refused second import", |s| s.error.is_some());
    assert_eq!((kept.stage, kept.hosts), (ConfigStage::Ready, 1));
    assert!(std::fs::read_to_string(&path).unwrap().contains("web-1"));
}

#[test]
fn onboarding_imports_a_qr_payload_through_the_pasted_configs_validation() {
    let world = World::new();
    let path = world.config_path();
    std::fs::write(&path, "").unwrap();
    let screen = OnboardingScreen::new(
        path.display().to_string(),
        Arc::new(MapStore::default()),
        "p".into(),
    );
    let states = watch::<OnboardingState>(|l| screen.subscribe(l));
    states.until("the empty stage", |s| s.stage == ConfigStage::Empty);
    let before = std::fs::read_to_string(&path).unwrap();

    // Not a paaf payload, or one cut short by a bad scan: refused, the file as it was.
    let host = "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.5\"\nuser = \"u\"\n";
    let payload = qr::encode(&format!("{host}auth = {{ type = \"agent\" }}\n")).unwrap();
    for (bad, says) in [
        ("WIFI:S:cafe;;", "not a paaf config"),
        (&payload[..payload.len() - 4], "damaged or incomplete"),
    ] {
        screen.import_qr(bad.into());
        let refused = states.until("the refused payload", |s| s.error.is_some());
        let error = refused.error.unwrap();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{error:?}");
        assert!(error.message.contains(says), "{error:?}");
        assert_eq!(refused.stage, ConfigStage::Empty);
        screen.import_toml(before.clone());
        states.until("the error cleared", |s| s.error.is_none());
    }

    // A payload whose TOML holds a password itself, not a reference: refused as a paste is,
    // the password in no error.
    let secret = format!("{host}auth = {{ type = \"password\", password = \"hunter2\" }}\n");
    screen.import_qr(qr::encode(&secret).unwrap());
    let refused = states.until("the refused secret", |s| s.error.is_some());
    let error = refused.error.unwrap();
    assert_eq!(error.code, ErrorCode::Config, "{error:?}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    screen.import_qr(payload);
    let ready = states.until("the ready stage", |s| s.stage == ConfigStage::Ready);
    assert_eq!((ready.hosts, ready.error), (1, None));
    assert_eq!(screen.paaf().expect("open").hosts()[0].name, "web-1");
}

/// Issue 19, pairing: the Onboarding screen's QR scan takes a relay's pairing code
/// (`paaf-relay pair-code`): the phone pairs with the real relay on loopback and pins the key
/// the code carries; a code whose key is not the one the relay answers with pairs nothing.
#[test]
fn onboarding_pairs_with_the_relay_of_a_scanned_pairing_code_and_pins_its_key() {
    use paaf_core::intent::pairing::PairingCode;
    const TOKEN: &str = "pairing-token-for-the-phone-0123456";
    let world = World::new();
    let path = world.config_path();
    std::fs::write(
        &path,
        "[[hosts]]\nname = \"web-1\"\naddress = \"127.0.0.1\"\nuser = \"u\"\nauth = { type = \"agent\" }\n",
    )
    .unwrap();
    std::fs::write(
        world.dir.path().join("relay.toml"),
        format!(
            "database = \"relay.sqlite\"\nsigning_key = \"relay.key\"\nplaybooks = \"{}\"\npairing_token_env = \"T_PAIRING\"\n",
            path.display()
        ),
    )
    .unwrap();
    let relay = paaf_tests::Relay::start(world.dir.path(), &[("T_PAIRING", TOKEN)]);
    let screen = OnboardingScreen::new(
        path.display().to_string(),
        Arc::new(MapStore::default()),
        "phone".into(),
    );
    let states = watch::<OnboardingState>(|l| screen.subscribe(l));
    states.until("the ready stage", |s| s.stage == ConfigStage::Ready);

    let code = PairingCode {
        url: relay.url(),
        token: TOKEN.to_string().into(),
        key: relay.key.clone(),
    };
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let forged = PairingCode {
        key: paaf_core::intent::format_key(&other),
        ..code.clone()
    };
    screen.import_qr(forged.to_text());
    let refused = states.until("the refused code", |s| s.error.is_some() && !s.busy);
    let error = refused.error.unwrap();
    assert_eq!(error.code, ErrorCode::AuthFailed, "{error:?}");
    assert!(error.message.contains("pairing code carries"), "{error:?}");
    assert!(!error.message.contains(TOKEN), "the token in {error:?}");
    assert_eq!(refused.relay, None, "nothing pinned");
    assert_eq!(refused.stage, ConfigStage::Ready, "the config is kept");

    screen.import_qr(code.to_text());
    let paired = states.until("paired", |s| s.relay.is_some());
    let pairing = paired.relay.unwrap();
    assert_eq!(
        (pairing.url, pairing.relay_key),
        (relay.url(), relay.key.clone())
    );
    assert_eq!(paired.error, None);
    assert_eq!(paired.hosts, 1, "the config is kept");
}

/// The `SHA256:` fingerprint of the ed25519 key `host` serves, as its owner reads it there.
fn served_fingerprint(host: &SshHost) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(host.dir.join("ssh_host_ed25519_key.pub"))
        .output()
        .expect("ssh-keygen");
    let line = String::from_utf8(out.stdout).unwrap();
    line.split_whitespace().nth(1).expect(&line).to_string()
}

#[test]
fn onboarding_adds_a_host_once_its_key_is_compared_and_refuses_a_changed_key() {
    let world = World::new();
    let path = world.config_path();
    let known_hosts = world.dir.path().join("known_hosts");
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let store = Arc::new(MapStore::default());
    let input = |name: &str, host: &SshHost| HostInput {
        name: name.into(),
        address: "127.0.0.1".into(),
        port: host.port,
        user: paaf_tests::USER.into(),
        auth: AuthInput::Key {
            path: world.key.clone(),
            passphrase: None,
        },
    };
    let host = SshHost::start(&[&world.key]);

    // No valid config yet: a host cannot be added, and that is said.
    std::fs::write(&path, "[[hosts]]\nname = 3\n").unwrap();
    let screen = OnboardingScreen::new(path.display().to_string(), store.clone(), "p".into());
    let states = watch::<OnboardingState>(|l| screen.subscribe(l));
    states.until("the invalid stage", |s| s.stage == ConfigStage::Invalid);
    screen.add_host(input("web-1", &host));
    let refused = states.until("the refusal", |s| {
        s.error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::InvalidInput)
    });
    assert!(refused.host_key.is_none());
    screen.import_toml("operator = \"alice\"\n".into());
    states.until("the empty stage", |s| s.stage == ConfigStage::Empty);

    // The key is shown for comparison; "no" trusts nothing and saves nothing.
    screen.add_host(input("web-1", &host));
    let asked = states.until("the key to compare", |s| s.host_key.is_some());
    let ask = asked.host_key.unwrap();
    assert_eq!(ask.key.fingerprint, served_fingerprint(&host));
    assert_eq!(ask.key.status, paaf_core::ssh::KeyStatus::Unknown);
    assert_eq!((&ask.name[..], ask.port), ("web-1", host.port));
    assert!(
        ask.question.contains(&ask.key.fingerprint),
        "{}",
        ask.question
    );
    screen.dismiss_host_key();
    states.until("the dialog closed", |s| s.host_key.is_none());
    screen.trust_host_key(); // nothing asked: nothing happens
    assert!(!read(&path).contains("web-1"));
    assert!(!read(&known_hosts).contains(&format!("]:{}", host.port)));

    // Yes: the key recorded, the login checked, the host written to the config.
    screen.add_host(input("web-1", &host));
    states.until("the key to compare", |s| s.host_key.is_some());
    screen.trust_host_key();
    let added = states.until("the host added", |s| s.added_host.is_some() && !s.busy);
    assert_eq!(added.error, None);
    assert_eq!((added.stage, added.hosts), (ConfigStage::Ready, 1));
    assert_eq!(added.added_host.unwrap().name, "web-1");
    assert!(read(&path).contains("name = \"web-1\""));
    assert!(read(&known_hosts).contains(&format!("[127.0.0.1]:{}", host.port)));
    assert_eq!(screen.paaf().expect("open").hosts()[0].name, "web-1");

    // The host now serves another key: refused as changed, nothing saved.
    host.rekey();
    let (config_before, known_before) = (read(&path), read(&known_hosts));
    screen.add_host(input("web-1b", &host));
    let changed = states.until("the changed key refused", |s| s.error.is_some() && !s.busy);
    let error = changed.error.unwrap();
    assert_eq!(error.code, ErrorCode::HostKeyChanged, "{error:?}");
    assert!(error.message.contains("REFUSED"), "{error:?}");
    assert!(changed.host_key.is_none());
    assert_eq!(
        (read(&path), read(&known_hosts)),
        (config_before, known_before)
    );

    // A key that changes between the comparison and the yes is not trusted either.
    let other = SshHost::start(&[&world.key]);
    screen.add_host(input("web-2", &other));
    let asked = states.until("the key to compare", |s| s.host_key.is_some());
    let shown = asked.host_key.unwrap().key.fingerprint;
    other.rekey();
    screen.trust_host_key();
    let refused = states.until("the swapped key refused", |s| s.error.is_some() && !s.busy);
    let error = refused.error.unwrap();
    assert!(error.message.contains(&shown), "{error:?}");
    assert_eq!(refused.hosts, 1);
    assert!(!read(&path).contains("web-2"));
    assert!(!read(&known_hosts).contains(&format!("]:{}", other.port)));
}

#[test]
fn fix_lists_hosts_reboots_behind_a_confirmation_with_progress_and_cancels() {
    let (world, host) = paaf_tests::trusted_web1_rebooting_fast();
    host.set_down_secs(1.0);
    let paaf = open(&world, Arc::new(MapStore::default()));
    let fix = paaf.fix_screen();
    let states = watch::<FixState>(|l| fix.subscribe(l));

    let listed = states.until("web-1 up", |s| s.machines.iter().any(|m| m.up));
    let [web1] = &listed.machines[..] else {
        panic!("{listed:?}")
    };
    assert_eq!((web1.kind, &web1.status[..]), (MachineKind::Host, "up"));
    assert_eq!(web1.actions, vec![MachineAction::Reboot]);
    assert!(web1.uptime_secs.is_some());

    // The confirmation names the host and where it is; "no" changes nothing.
    fix.ask("web-1".into(), MachineAction::Reboot);
    let asked = states.until("the confirmation", |s| s.asking.is_some());
    let question = asked.asking.unwrap().question;
    assert!(
        question.starts_with("Reboot web-1") && question.contains("127.0.0.1"),
        "{question}"
    );
    fix.dismiss();
    states.until("the dialog closed", |s| s.asking.is_none());
    fix.confirm(); // nothing asked: nothing happens
    let boot = host.boot_id();
    assert_eq!(fix.state().running.map(|r| r.finished), None);

    // Yes: live progress, then a verified end, then the list read again.
    fix.ask("web-1".into(), MachineAction::Reboot);
    states.until("the confirmation", |s| s.asking.is_some());
    fix.confirm();
    let moving = states.until("progress", |s| {
        s.running.as_ref().is_some_and(|r| r.progress.len() >= 2)
    });
    assert!(moving.running.unwrap().action_id.is_some());
    let done = states.until("the end", |s| {
        s.running.as_ref().is_some_and(|r| r.finished)
    });
    let run = done.running.unwrap();
    assert!(run.verified && run.error.is_none(), "{run:?}");
    assert!(run.outcome.unwrap().contains("new boot id"));
    assert_ne!(host.boot_id(), boot);
    host.wait_settled();

    // Cancelled at once: before the command is sent nothing happens to the host.
    let boot = host.boot_id();
    fix.ask("web-1".into(), MachineAction::Reboot);
    states.until("the confirmation", |s| s.asking.is_some());
    fix.confirm();
    fix.cancel();
    let stopped = states.until("the cancelled end", |s| {
        s.running.as_ref().is_some_and(|r| r.finished)
    });
    let error = stopped.running.unwrap().error.expect("cancelled");
    assert_eq!(error.code, ErrorCode::Cancelled);
    host.wait_settled();

    // An unknown name is an error state, not a crash.
    fix.ask("web-9".into(), MachineAction::Reboot);
    let unknown = states.until("the error", |s| s.error.is_some());
    assert!(unknown.asking.is_none());

    // The Journal screen shows the reboots on web-1, filtered by target.
    let journal = paaf.journal_screen();
    let rows = watch::<JournalState>(|l| journal.subscribe(l));
    journal.filter(Some("web-1".into()));
    let seen = rows.until("web-1's actions", |s| {
        s.target.is_some() && s.actions.len() >= 2
    });
    assert!(
        seen.actions
            .iter()
            .all(|a| a.target == "web-1" && a.kind == ActionKind::Reboot)
    );
    assert_eq!(seen.targets, vec!["web-1".to_string()]);
    assert!(
        seen.actions
            .iter()
            .all(|a| a.frontend == "mobile" && a.device == "test-phone")
    );
    // The cancel came before the command: journaled as cancelled, the host not rebooted.
    assert_eq!(seen.actions[0].error_code.as_deref(), Some("cancelled"));
    assert_eq!(host.boot_id(), boot);
}

#[test]
fn fix_runs_a_hosts_runbooks_and_commands_behind_their_confirmations_with_bounded_output() {
    let (world, _host) = paaf_tests::trusted_web1("max_output_bytes = 16");
    let paaf = open(&world, Arc::new(MapStore::default()));
    let fix = paaf.fix_screen();
    let states = watch::<FixState>(|l| fix.subscribe(l));
    let listed = states.until("web-1 up", |s| s.machines.iter().any(|m| m.up));
    assert!(listed.machines[0].runs_commands);
    let ended = |what: &str| {
        states
            .until(what, |s| {
                s.command_running.as_ref().is_some_and(|r| r.finished)
            })
            .command_running
            .unwrap()
    };
    let runbook_rows = |what: &str| {
        paaf.journal(Some("web-1".into()), 50)
            .unwrap()
            .into_iter()
            .filter(|a| a.kind == ActionKind::Runbook && a.detail == what)
            .count()
    };

    // No host chosen yet: an error state.
    fix.ask_runbook("check-disk".into());
    let error = states
        .until("the error", |s| s.error.is_some())
        .error
        .unwrap();
    assert!(error.message.contains("host's runbooks first"), "{error:?}");

    // The host's runbooks, the dangerous one flagged by the core.
    fix.show_runbooks("web-1".into());
    let shown = states.until("the runbooks", |s| s.runbooks.is_some());
    let books = shown.runbooks.unwrap();
    assert_eq!(books.host, "web-1");
    let names: Vec<(&str, bool)> = books
        .runbooks
        .iter()
        .map(|b| (b.name.as_str(), b.dangerous))
        .collect();
    assert_eq!(
        names,
        [
            ("__wipe-cache", true),
            ("check-disk", false),
            ("fail-example", false),
            ("restart-app", false)
        ]
    );

    // A mistyped name is refused with the closest one, before anything is asked.
    fix.ask_runbook("restart-ap".into());
    let error = states
        .until("the not-found error", |s| s.error.is_some() && !s.busy)
        .error
        .unwrap();
    assert_eq!(error.code, ErrorCode::NotFound, "{error:?}");
    assert!(error.message.contains("restart-app"), "{error:?}");

    // A dangerous runbook: its name must be typed exactly; a wrong one is refused by the
    // core and nothing runs.
    fix.ask_runbook("__wipe-cache".into());
    let ask = states
        .until("the dangerous confirmation", |s| s.command_asking.is_some())
        .command_asking
        .unwrap();
    assert_eq!(ask.typed_name.as_deref(), Some("__wipe-cache"));
    assert!(!ask.ready && ask.warning.unwrap().contains("typed"));
    assert!(
        ask.question
            .starts_with("Run the runbook __wipe-cache on web-1"),
        "{}",
        ask.question
    );
    assert!(
        ask.steps[0].contains("/runbooks/__wipe-cache"),
        "{:?}",
        ask.steps
    );
    fix.type_confirmation("__wipe".into());
    let typing = states.until("typed", |s| {
        s.command_asking
            .as_ref()
            .is_some_and(|a| a.typed == "__wipe")
    });
    assert!(!typing.command_asking.unwrap().ready);
    fix.confirm_command();
    let refused = ended("the refusal");
    let error = refused.error.expect("refused");
    assert_eq!(error.code, ErrorCode::ConfirmationRequired, "{error:?}");
    assert!(refused.output.is_none() && !refused.succeeded);
    assert_eq!(runbook_rows("__wipe-cache"), 0, "nothing ran");

    fix.ask_runbook("__wipe-cache".into());
    states.until("the confirmation", |s| s.command_asking.is_some());
    fix.type_confirmation("__wipe-cache".into());
    states.until("ready", |s| {
        s.command_asking.as_ref().is_some_and(|a| a.ready)
    });
    fix.confirm_command();
    let run = ended("the dangerous runbook's end");
    assert!(run.succeeded && run.error.is_none(), "{run:?}");
    assert_eq!(run.exit_code, Some(0));
    let output = run.output.unwrap();
    assert_eq!(output.stdout, "wiping cache...\n", "bounded at 16 bytes");
    assert!(output.stdout_truncated);
    assert!(
        run.progress[0].starts_with("sent: run:"),
        "{:?}",
        run.progress
    );
    assert!(
        run.progress
            .last()
            .unwrap()
            .starts_with("ended: exit code 0"),
        "{:?}",
        run.progress
    );
    assert_eq!(runbook_rows("__wipe-cache"), 1);

    // A runbook that fails: its exit code and stderr, not succeeded.
    fix.ask_runbook("fail-example".into());
    let ask = states
        .until("the confirmation", |s| s.command_asking.is_some())
        .command_asking
        .unwrap();
    assert!(ask.ready && ask.typed_name.is_none());
    fix.confirm_command();
    let run = ended("the failed runbook's end");
    assert!(!run.succeeded && run.error.is_none(), "{run:?}");
    assert_eq!(run.exit_code, Some(3));
    assert!(run.outcome.unwrap().starts_with("exit code 3"));
    assert!(run.output.unwrap().stderr.starts_with("fail-example: pr"));

    // A command: asked, dismissed (nothing runs), asked again and run.
    fix.ask_exec("web-1".into(), "echo hi; exit 4".into());
    let ask = states
        .until("the exec confirmation", |s| s.command_asking.is_some())
        .command_asking
        .unwrap();
    assert_eq!(ask.kind, CommandKind::Exec);
    assert!(
        ask.question.contains("`echo hi; exit 4`"),
        "{}",
        ask.question
    );
    fix.dismiss_command();
    states.until("the dialog closed", |s| s.command_asking.is_none());
    fix.confirm_command(); // nothing asked: nothing happens
    fix.ask_exec("web-1".into(), "echo hi; exit 4".into());
    states.until("the exec confirmation", |s| s.command_asking.is_some());
    fix.confirm_command();
    let run = ended("the command's end");
    assert_eq!((run.kind, run.exit_code), (CommandKind::Exec, Some(4)));
    assert_eq!(run.output.unwrap().stdout, "hi\n");

    // An empty command is an error state; so is a second command while one runs.
    fix.ask_exec("web-1".into(), "  ".into());
    let error = states
        .until("the error", |s| s.error.is_some())
        .error
        .unwrap();
    assert_eq!(error.code, ErrorCode::InvalidInput, "{error:?}");
    fix.ask_runbook("restart-app".into());
    states.until("the confirmation", |s| s.command_asking.is_some());
    fix.confirm_command();
    fix.ask_exec("web-1".into(), "uptime".into());
    let error = states
        .until("the refusal", |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.message.contains("still running"))
        })
        .error
        .unwrap();
    assert_eq!(error.code, ErrorCode::InvalidInput);
    let run = ended("restart-app's end");
    assert!(run.succeeded, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn protect_switches_a_flag_after_a_confirmation_naming_it_and_undoes_it() {
    let unleash = UnleashServer::start();
    let admin = unleash.admin();
    admin
        .create_flag("new-checkout", &["production", "development"])
        .await;
    admin.create_flag("old-search", &[]).await;
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"{}\"\ntoken = \"keyring:unleash\"\n",
        unleash.url()
    ));
    let store = Arc::new(MapStore::default());
    store
        .set("unleash".into(), unleash.admin_token.clone())
        .unwrap();
    let paaf = open(&world, store);
    let protect = paaf.protect_screen();
    let states = watch::<ProtectState>(|l| protect.subscribe(l));

    let all = states.until("both flags", |s| {
        s.services.iter().map(|b| b.flags.len()).sum::<usize>() == 2
    });
    assert!(all.services[0].error.is_none());
    protect.search("checkout".into());
    let found = states.until("the search's result", |s| {
        !s.busy && s.query == "checkout" && s.services[0].flags.len() == 1
    });
    let flag = &found.services[0].flags[0];
    assert_eq!(flag.key, "new-checkout");

    // The confirmation names flag, environment and service, and the state now.
    let target = paaf_core::FlagTarget {
        backend: None,
        project: String::new(),
        key: "new-checkout".into(),
        environment: "production".into(),
    };
    protect.ask_switch(target.clone(), false);
    let asked = states
        .until("the confirmation", |s| s.asking.is_some())
        .asking
        .unwrap();
    assert_eq!(
        asked.question,
        "Turn new-checkout in production (unleash `prod`) OFF? It is ON now."
    );
    assert!(asked.state_now.enabled);
    protect.confirm();
    let changed = states.until("the change", |s| s.last_change.is_some() && !s.busy);
    let change = changed.last_change.unwrap();
    assert_eq!((change.was_enabled, change.enabled), (true, false));
    assert!(changed.can_undo && changed.error.is_none());
    assert!(!admin.enabled("new-checkout", "production").await);
    assert!(admin.enabled("new-checkout", "development").await);

    // Undo, confirmed too, puts it back.
    protect.ask_undo();
    let undo = states
        .until("the undo's confirmation", |s| s.asking.is_some())
        .asking
        .unwrap();
    assert_eq!(undo.undo_of, Some(change.action_id));
    assert!(
        undo.question.contains("undo of journal action"),
        "{}",
        undo.question
    );
    protect.confirm();
    let undone = states.until("the undo", |s| {
        s.last_change.as_ref().is_some_and(|c| c.enabled) && !s.busy
    });
    assert!(!undone.can_undo);
    assert!(admin.enabled("new-checkout", "production").await);

    // A flag changed behind the confirmation's back (the user saw ON): refused and shown.
    protect.ask_switch(target, false);
    states.until("the confirmation", |s| s.asking.is_some());
    admin.switch("new-checkout", "production", false).await;
    protect.confirm();
    let refused = states.until("the refusal", |s| s.error.is_some() && !s.busy);
    assert_eq!(refused.error.unwrap().code, ErrorCode::Conflict);
    assert_eq!(
        refused.last_change.unwrap().action_id,
        undone.last_change.unwrap().action_id
    );
}

#[test]
fn overview_ranks_firing_alerts_and_opens_and_resolves_the_incident() {
    let peers = PrometheusPeers::start();
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n[[monitoring]]\nname = \"down\"\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:{}/\"\n",
        peers.prometheus_url(),
        paaf_tests::free_port()
    ));
    let paaf = open(&world, Arc::new(MapStore::default()));
    let overview = paaf.overview_screen();
    let states = watch::<OverviewState>(|l| overview.subscribe(l));
    let firing = |s: &OverviewState| {
        s.overview.as_ref().is_some_and(|o| {
            o.top_alerts
                .iter()
                .any(|a| a.name == "PaafTestAlwaysFiring")
        })
    };
    let mut seen = states.until("a first read", |s| s.overview.is_some() && !s.busy);
    while !firing(&seen) {
        std::thread::sleep(Duration::from_secs(1));
        overview.refresh();
        seen = states.until("a refresh", |s| !s.busy);
    }
    let glance = seen.overview.unwrap();
    assert_eq!(glance.top_alerts[0].name, "PaafTestAlwaysFiring");
    assert_eq!(glance.unreadable.len(), 1, "{:?}", glance.unreadable);
    assert!(
        glance.unreadable[0].starts_with("down"),
        "{:?}",
        glance.unreadable
    );
    assert!(seen.incident.is_none());

    overview.open_incident(paaf_core::IncidentInput {
        alert: Some(paaf_core::AlertRef {
            source: Some("prom".into()),
            name: "PaafTestAlwaysFiring".into(),
            labels: Default::default(),
        }),
        ..Default::default()
    });
    let opened = states.until("the incident", |s| s.incident.is_some() && !s.busy);
    let incident = opened.incident.unwrap();
    assert_eq!(incident.alert.unwrap().name, "PaafTestAlwaysFiring");
    assert_eq!(paaf.incidents(true, 5).unwrap().len(), 1);

    overview.resolve_incident("rule fixed".into());
    let resolved = states.until("no open incident", |s| s.incident.is_none() && !s.busy);
    assert!(resolved.error.is_none(), "{:?}", resolved.error);
    assert!(paaf.incidents(true, 5).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn fix_lists_hosts_and_cloud_servers_in_one_list_stops_starts_and_cancels() {
    let moto = MotoServer::start();
    let id = moto.launch("eu-west-1", "app-1").await;
    let watched = moto.launch("eu-west-1", "app-2").await;
    // web-1's disk limits are set so low that its disk is a danger whatever it holds.
    let (world, _host) =
        paaf_tests::trusted_web1("thresholds = { disk = { warning = 0.05, danger = 0.1 } }");
    let host = std::fs::read_to_string(world.config_path()).unwrap();
    // app-2's reboot is watched for a sign for a minute: long enough to cancel it.
    world.write_config(&format!(
        "operator = \"alice\"\n{host}[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"keyring:aws\"\nendpoint = \"{}\"\nreboot_watch_secs = 60\n",
        moto.url()
    ));
    let store = Arc::new(MapStore::default());
    store.set("aws".into(), "secret".into()).unwrap();
    let paaf = open(&world, store);
    let fix = paaf.fix_screen();
    let states = watch::<FixState>(|l| fix.subscribe(l));

    // The host and the servers, in one list.
    let listed = states.until("web-1, app-1 and app-2", |s| {
        !s.busy && s.machines.len() == 3
    });
    let rows: Vec<_> = listed
        .machines
        .iter()
        .map(|m| (m.kind, &m.name[..], &m.status[..]))
        .collect();
    assert_eq!(
        rows,
        [
            (MachineKind::Host, "web-1", "up"),
            (MachineKind::Server, "app-1", "running"),
            (MachineKind::Server, "app-2", "running"),
        ],
        "{listed:#?}"
    );
    let app = &listed.machines[1];
    assert_eq!((&app.id, app.account.as_deref()), (&id, Some("prod")));
    assert_eq!(app.place, "aws prod eu-west-1");
    assert_eq!(
        app.actions,
        vec![MachineAction::Reboot, MachineAction::Stop]
    );
    assert!(!app.runs_commands && listed.machines[0].runs_commands);
    assert!(listed.unreadable.is_empty(), "{:?}", listed.unreadable);
    // The host's metrics (read over SSH: no Prometheus here), levelled and worded; the row
    // takes its worst level. EC2 servers report none: `ok`.
    let web1 = &listed.machines[0];
    let labels: Vec<&str> = web1.metrics.iter().map(|m| &m.label[..]).collect();
    assert_eq!(labels[..3], ["CPU", "load", "memory"], "{web1:#?}");
    assert!(labels[3].starts_with("disk /"), "{labels:?}");
    let disk = &web1.metrics[3];
    assert_eq!(disk.level, Level::Danger, "{disk:?}");
    assert!(
        disk.shown.ends_with(" %") && disk.ratio.is_some(),
        "{disk:?}"
    );
    assert_eq!(web1.level, Level::Danger);
    let cpu = &web1.metrics[0];
    assert!(
        cpu.shown.ends_with(" %") && cpu.level != Level::Unknown,
        "{cpu:?}"
    );
    assert!(web1.metrics[1].ratio.is_none(), "load has no maximum");
    assert_eq!((app.metrics.len(), app.level), (0, Level::Ok));

    // Stop: the confirmation, live progress, the state read back, the list read again.
    fix.ask("app-1".into(), MachineAction::Stop);
    let asked = states
        .until("the confirmation", |s| s.asking.is_some())
        .asking
        .unwrap();
    assert!(asked.question.starts_with("Stop "), "{}", asked.question);
    assert!(!asked.steps.is_empty());
    fix.confirm();
    let done = states.until("the end", |s| {
        s.running.as_ref().is_some_and(|r| r.finished)
    });
    let run = done.running.unwrap();
    assert!(run.verified && run.error.is_none(), "{run:?}");
    assert!(!run.progress.is_empty());
    assert_eq!(run.outcome.as_deref(), Some("stopped: done"));
    assert_eq!(moto.instance_state("eu-west-1", &id).await, "stopped");
    let after = states.until("the list read again", |s| {
        s.machines
            .iter()
            .any(|m| m.name == "app-1" && m.status == "stopped")
    });
    assert_eq!(after.machines[1].actions, vec![MachineAction::Start]);
    // A stopped server offers no stop: asking one is refused on the screen.
    fix.ask("app-1".into(), MachineAction::Stop);
    let refused = states.until("the refusal", |s| s.error.is_some());
    assert!(refused.asking.is_none(), "{refused:?}");

    // Start: the same way back to running.
    fix.ask("app-1".into(), MachineAction::Start);
    let asked = states
        .until("the start's confirmation", |s| s.asking.is_some())
        .asking
        .unwrap();
    assert!(asked.question.starts_with("Start "), "{}", asked.question);
    fix.confirm();
    let started = states.until("the start's end", |s| {
        s.running
            .as_ref()
            .is_some_and(|r| r.finished && r.action == MachineAction::Start)
    });
    let run = started.running.unwrap();
    assert!(run.verified && run.error.is_none(), "{run:?}");
    assert_eq!(moto.instance_state("eu-west-1", &id).await, "running");

    // A reboot watched for a sign (EC2 shows none): cancel ends it as cancelled, unverified.
    fix.ask("app-2".into(), MachineAction::Reboot);
    states.until("the reboot's confirmation", |s| s.asking.is_some());
    fix.confirm();
    states.until("a first read of app-2", |s| {
        s.running
            .as_ref()
            .is_some_and(|r| r.machine.id == watched && !r.progress.is_empty())
    });
    fix.cancel();
    let cancelled = states.until("the cancelled end", |s| {
        s.running
            .as_ref()
            .is_some_and(|r| r.machine.id == watched && r.finished)
    });
    let run = cancelled.running.unwrap();
    assert_eq!(
        run.error.as_ref().map(|e| e.code),
        Some(ErrorCode::Cancelled),
        "{run:?}"
    );
    assert!(!run.verified);
    let journal = paaf.journal(Some(format!("prod/{watched}")), 5).unwrap();
    assert_eq!(journal[0].kind, ActionKind::ServerReboot, "{journal:?}");
}

/// Grafana's `/api/ds/query` (https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#query-a-data-source)
/// answered as a Prometheus data source would: for each query, one series with a point every
/// second over the asked range, a sawtooth 0..9 with one spike of 500 in the middle.
struct OnePointASecond;

impl wiremock::Respond for OnePointASecond {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let ms = |k: &str| body[k].as_str().unwrap().parse::<i64>().unwrap();
        let times: Vec<i64> = (ms("from")..=ms("to")).step_by(1000).collect();
        let values: Vec<f64> = (0..times.len())
            .map(|i| {
                if i == times.len() / 2 {
                    500.0
                } else {
                    (i % 10) as f64
                }
            })
            .collect();
        let mut results = serde_json::Map::new();
        for q in body["queries"].as_array().unwrap() {
            let ref_id = q["refId"].as_str().unwrap();
            results.insert(ref_id.into(), serde_json::json!({"status": 200, "frames": [{
                "schema": {"refId": ref_id, "fields": [
                    {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}},
                    {"name": "Value", "type": "number", "typeInfo": {"frame": "float64", "nullable": true},
                     "labels": {"instance": "web-1"}}]},
                "data": {"values": [times, values]}}]}));
        }
        wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"results": results}))
    }
}

/// A Grafana contract server (wiremock) answering as Grafana's HTTP API documentation says:
/// search (https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/),
/// one dashboard (…/http_api/dashboard/#get-dashboard-by-uid) with a unit, thresholds and a
/// custom variable, its data sources (…/http_api/data_source/) and `/api/ds/query`.
async fn grafana_contract(token: &str) -> wiremock::MockServer {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let bearer = format!("Bearer {token}");
    let auth = || header("authorization", bearer.as_str());
    let hit = |uid: &str, title: &str, starred: bool| {
        serde_json::json!({"id": 1, "uid": uid, "title": title, "url": format!("/d/{uid}/x"),
            "type": "dash-db", "tags": ["shop"], "isStarred": starred, "folderTitle": "Shop"})
    };
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .and(query_param("starred", "true"))
        .and(auth())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([hit("checkout", "Checkout", true)])),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .and(query_param("type", "dash-db"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            hit("checkout", "Checkout", true),
            hit("nodes", "Nodes", false)
        ])))
        .mount(&server)
        .await;
    let dashboard = serde_json::json!({"dashboard": {"uid": "checkout", "title": "Checkout",
        "schemaVersion": 39, "time": {"from": "now-1h", "to": "now"},
        "panels": [
            {"id": 2, "type": "timeseries", "title": "Errors", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
             "datasource": {"type": "prometheus", "uid": "prom"},
             "fieldConfig": {"defaults": {"unit": "reqps", "thresholds": {"mode": "absolute",
                "steps": [{"color": "green", "value": null}, {"color": "red", "value": 100}]}}},
             "targets": [{"refId": "A", "expr": "rate(http_errors_total{env=\"$env\"}[$__rate_interval])"}]},
            {"id": 3, "type": "stat", "title": "Latency", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
             "datasource": {"type": "prometheus", "uid": "prom"},
             "targets": [{"refId": "A", "expr": "histogram_quantile(0.99, rate(latency_bucket[5m]))"}]}],
        "templating": {"list": [{"name": "env", "type": "custom", "query": "prod,staging",
            "current": {"text": "prod", "value": "prod"}, "options": []}]}},
        "meta": {"url": "/d/checkout/checkout", "folderTitle": "Shop"}});
    Mock::given(method("GET"))
        .and(path("/api/dashboards/uid/checkout"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(dashboard))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/datasources"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"id": 1, "uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true,
             "jsonData": {"timeInterval": "15s"}}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(auth())
        .respond_with(OnePointASecond)
        .mount(&server)
        .await;
    // https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#create-annotation
    Mock::given(method("POST"))
        .and(path("/api/annotations"))
        .and(auth())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"message": "Annotation added", "id": 42})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn analyze_lists_dashboards_and_prepares_their_panels_for_the_screen_width() {
    const TOKEN: &str = "glsa_paafMobileAnalyze_0123456789abcdef";
    let grafana = grafana_contract(TOKEN).await;
    let peers = PrometheusPeers::start();
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n[[monitoring]]\nname = \"ops\"\ntype = \"grafana\"\nurl = \"{}\"\ntoken = \"keyring:grafana\"\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n[[playbooks]]\nname = \"checkout\"\nmatch = {{ alertname = \"PaafTestAlwaysFiring\" }}\n[[playbooks.queries]]\nsource = \"prom\"\nexpr = \"up\"\nbelow = 1\n",
        grafana.uri(),
        peers.prometheus_url()
    ));
    let store = Arc::new(MapStore::default());
    store.set("grafana".into(), TOKEN.into()).unwrap();
    let paaf = open(&world, store);
    let analyze = paaf.analyze_screen();
    let states = watch::<AnalyzeState>(|l| analyze.subscribe(l));

    // The list, then the starred ones only.
    let listed = states.until("the dashboards", |s| s.dashboards.len() == 2);
    assert_eq!(listed.grafana.as_deref(), Some("ops"));
    assert!(listed.ranges.iter().any(|r| r.window.from == "now-6h"));
    assert_eq!(listed.quick_queries.len(), 1);
    assert_eq!(listed.quick_queries[0].expr, "up");
    analyze.show_starred(true);
    let starred = states.until("the starred ones", |s| {
        s.starred_only && !s.busy && s.dashboards.len() == 1
    });
    assert_eq!(starred.dashboards[0].uid, "checkout");

    // A dashboard opened for a 120-px chart: every series bucketed per pixel column, the
    // spike kept, the panel's unit and thresholds carried.
    analyze.set_width(120);
    analyze.open_dashboard("checkout".into());
    let opened = states.until("the dashboard", |s| s.dashboard.is_some() && !s.busy);
    let dashboard = opened.dashboard.unwrap();
    assert_eq!(dashboard.title, "Checkout");
    assert_eq!(dashboard.to_ms - dashboard.from_ms, 3_600_000);
    assert_eq!(dashboard.variables[0].values, vec!["prod".to_string()]);
    assert_eq!(dashboard.panels.len(), 2);
    let errors = &dashboard.panels[0];
    assert_eq!((errors.grid_pos.x, errors.grid_pos.w), (0, 12));
    let chart = errors.chart.as_ref().expect("the panel's chart");
    assert!(
        errors.error.is_none() && chart.errors.is_empty(),
        "{chart:?}"
    );
    assert_eq!(chart.unit.as_deref(), Some("reqps"));
    let thresholds = chart.thresholds.as_ref().unwrap();
    assert_eq!(thresholds.steps[1].value, Some(100.0));
    assert_eq!(thresholds.steps[1].color, "red");
    let series = &chart.series[0];
    assert_eq!(series.unit.as_deref(), Some("reqps"), "the panel's unit");
    assert!(series.columns.len() >= 119 && series.columns.len() <= 120);
    assert!(series.columns.iter().all(|&c| c < 120));
    let highest = series.max.iter().flatten().fold(f64::MIN, |a, &b| a.max(b));
    assert_eq!(highest, 500.0, "the spike survives");
    assert_eq!(series.stats.max, Some(500.0));
    assert!(series.stats.count > 3000, "{:?}", series.stats);
    let (min, mean) = (series.min[0].unwrap(), series.mean[0].unwrap());
    assert!(min == 0.0 && mean > 3.0 && mean < 6.0, "{min} {mean}");
    assert_eq!(dashboard.panels[1].chart.as_ref().unwrap().kind, "stat");

    // The variable and the range picked: the queries are sent again with them.
    analyze.set_variable("env".into(), vec!["staging".into()]);
    states.until("staging", |s| {
        !s.busy
            && s.dashboard
                .as_ref()
                .is_some_and(|d| d.variables[0].values == vec!["staging".to_string()])
    });
    let sent = grafana.received_requests().await.unwrap();
    let staging = sent.iter().any(|r| {
        r.url.path() == "/api/ds/query"
            && String::from_utf8_lossy(&r.body).contains(r#"env=\"staging\""#)
    });
    assert!(staging, "the Errors panel's query with env=\"staging\"");
    let quarter = opened
        .ranges
        .iter()
        .find(|r| r.window.from == "now-15m")
        .unwrap();
    analyze.set_window(Some(quarter.window.clone()));
    states.until("the last 15 minutes", |s| {
        !s.busy
            && s.dashboard
                .as_ref()
                .is_some_and(|d| d.to_ms - d.from_ms == 900_000)
    });
    analyze.set_window(Some(paaf_core::TimeWindow {
        from: "yesterday-ish".into(),
        to: "now".into(),
    }));
    let refused = states.until("the refused range", |s| s.error.is_some());
    assert_eq!(refused.error.unwrap().code, ErrorCode::InvalidInput);
    assert_eq!(refused.view.window.unwrap().from, "now-15m");

    // A quick query against the real Prometheus, drawn the same way.
    // (Prometheus has just started: its first scrapes may not be in yet.)
    let quick = opened.quick_queries[0].clone();
    let chart = loop {
        analyze.run_query(Some(quick.source.clone()), quick.expr.clone());
        let queried = states.until("the query's chart", |s| s.query.is_some() && !s.busy);
        let chart = queried.query.unwrap();
        if !chart.series.is_empty() {
            break chart;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(!chart.series.is_empty(), "{chart:?}");
    assert!(
        chart
            .series
            .iter()
            .all(|s| s.columns.iter().all(|&c| c < 120))
    );
    assert!(chart.step_ms.is_some());
    analyze.run_query(Some("prom".into()), "rate(up[".into());
    let bad = states.until("the query's error", |s| s.error.is_some() && !s.busy);
    assert_eq!(bad.error.unwrap().code, ErrorCode::InvalidInput);
}

#[tokio::test(flavor = "multi_thread")]
async fn alert_silences_after_a_confirmation_of_what_it_mutes_expires_and_annotates() {
    const TOKEN: &str = "glsa_paafMobileAlert_0123456789abcdef";
    let grafana = grafana_contract(TOKEN).await;
    let peers = PrometheusPeers::start();
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n[[monitoring]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"{}\"\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n[[monitoring]]\nname = \"ops\"\ntype = \"grafana\"\nurl = \"{}\"\ntoken = \"keyring:grafana\"\n",
        peers.alertmanager_url(),
        peers.prometheus_url(),
        grafana.uri()
    ));
    let store = Arc::new(MapStore::default());
    store.set("grafana".into(), TOKEN.into()).unwrap();
    let paaf = open(&world, store);
    let alert = paaf.alert_screen();
    let states = watch::<AlertState>(|l| alert.subscribe(l));
    let first = states.until("a first read", |s| !s.busy);
    assert_eq!(
        first.silence_sources,
        vec!["am".to_string(), "ops".to_string()]
    );
    assert_eq!(first.source.as_deref(), Some("am"));
    assert_eq!(first.grafana_sources, vec!["ops".to_string()]);

    // The alert fires on the Alertmanager (Prometheus sends it within seconds of starting).
    let firing_on_am = |s: &AlertState| {
        s.alerts
            .iter()
            .any(|a| a.source == "am" && a.alerts.iter().any(|x| x.name == "PaafTestAlwaysFiring"))
    };
    let mut seen = first;
    while !firing_on_am(&seen) {
        std::thread::sleep(Duration::from_secs(1));
        alert.refresh();
        seen = states.until("a refresh", |s| !s.busy);
    }

    // The confirmation says what it mutes, for how long, where, and what fires now; no: nothing.
    let matchers = vec!["alertname=PaafTestAlwaysFiring".to_string()];
    alert.ask_silence(matchers.clone(), 30, "checkout is being fixed".into());
    let asked = states.until("the confirmation", |s| s.asking.is_some() && !s.busy);
    let ask = asked.asking.unwrap();
    assert_eq!((ask.source.as_deref(), ask.minutes), (Some("am"), 30));
    assert_eq!(ask.matchers, matchers);
    assert_eq!(ask.matching_now, 1, "{ask:?}");
    assert_eq!(ask.matching_names, vec!["PaafTestAlwaysFiring".to_string()]);
    assert!(
        ask.question
            .starts_with("Silence 1 alert firing now on am (")
            && ask.question.ends_with("for 30 min?"),
        "{}",
        ask.question
    );
    assert!(
        ask.steps[0].contains("alertname=\"PaafTestAlwaysFiring\"")
            && ask.steps[0].contains("1800s"),
        "{:?}",
        ask.steps
    );
    assert_eq!(
        ask.steps.last().unwrap(),
        "comment: checkout is being fixed"
    );
    assert_eq!(ask.warning, None);
    alert.dismiss();
    states.until("the dialog closed", |s| s.asking.is_none());
    alert.confirm(); // nothing asked: nothing happens
    assert!(paaf.silences(Some("am".into())).await.unwrap().is_empty());

    // Yes: the silence added, shown active and expirable.
    alert.ask_silence(matchers.clone(), 30, "checkout is being fixed".into());
    states.until("the confirmation", |s| s.asking.is_some() && !s.busy);
    alert.confirm();
    let added = states.until("the silence", |s| {
        !s.busy && s.last_silence.is_some() && !s.silences.is_empty()
    });
    assert!(added.asking.is_none());
    let id = added.last_silence.clone().unwrap();
    let row = added.silences.iter().find(|s| s.silence.id == id).unwrap();
    let silence = &row.silence;
    assert!(row.can_expire);
    // The matchers as Alertmanager writes them, for the apps to show as they are.
    assert_eq!(row.matchers, ["alertname=\"PaafTestAlwaysFiring\""]);
    assert_eq!(
        silence.state,
        paaf_core::monitor::alertmanager::SilenceState::Active
    );
    assert_eq!(silence.comment, "checkout is being fixed");
    let length = silence.ends_at_ms.unwrap() - silence.starts_at_ms.unwrap();
    assert!((length - 1_800_000).abs() < 60_000, "{silence:?}");

    alert.expire_silence(id.clone());
    let expired = states.until("the silence expired", |s| {
        !s.busy
            && s.silences.iter().any(|x| {
                x.silence.id == id
                    && x.silence.state == paaf_core::monitor::alertmanager::SilenceState::Expired
            })
    });
    assert!(expired.error.is_none(), "{:?}", expired.error);
    let row = expired
        .silences
        .iter()
        .find(|s| s.silence.id == id)
        .unwrap();
    assert!(!row.can_expire);

    // Matching nothing firing now: said in the confirmation.
    alert.ask_silence(vec!["alertname=NotFiring".into()], 60, "x".into());
    let asked = states.until("the confirmation", |s| s.asking.is_some() && !s.busy);
    let ask = asked.asking.unwrap();
    assert_eq!(
        (ask.matching_now, ask.question.ends_with("for 1 h?")),
        (0, true),
        "{ask:?}"
    );
    assert!(ask.warning.unwrap().contains("matches no alert firing now"));
    alert.dismiss();

    alert.ask_silence(vec!["not a matcher".into()], 30, "x".into());
    let refused = states.until("the refused matcher", |s| s.error.is_some() && !s.busy);
    assert_eq!(refused.error.unwrap().code, ErrorCode::InvalidInput);
    assert!(refused.asking.is_none());

    alert.annotate(
        None,
        paaf_core::AnnotationInput {
            text: "rolled back checkout".into(),
            tags: vec!["deploy".into()],
            dashboard_uid: Some("checkout".into()),
            panel_id: Some(2),
        },
    );
    let annotated = states.until("the annotation", |s| s.last_annotation.is_some() && !s.busy);
    assert_eq!(annotated.last_annotation, Some(42));
    let sent = grafana.received_requests().await.unwrap();
    let note = sent
        .iter()
        .find(|r| r.url.path() == "/api/annotations")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&note.body).unwrap();
    assert_eq!(body["text"], "rolled back checkout");
    assert_eq!(body["dashboardUID"], "checkout");
    let kinds: Vec<ActionKind> = paaf
        .journal(None, 10)
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert!(kinds.contains(&ActionKind::Silence), "{kinds:?}");
    assert!(kinds.contains(&ActionKind::ExpireSilence), "{kinds:?}");
}
