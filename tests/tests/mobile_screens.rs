//! The phone app's screen models (paaf-mobile's `screens`) driven as an app drives them —
//! subscribe, act through the intents, observe the states the listener receives — against
//! real peers: sshd test hosts, Unleash, Prometheus + Alertmanager and moto.

use paaf_core::ErrorCode;
use paaf_core::journal::ActionKind;
use paaf_mobile::{
    ConfigSource, ConfigStage, FixListener, FixState, JournalListener, JournalState, MachineAction,
    MachineKind, OnboardingListener, OnboardingScreen, OnboardingState, OverviewListener,
    OverviewState, Paaf, PaafError, ProtectListener, ProtectState, SecretStore, Subscription,
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
            fn on_state(&self, state: $state) {
                let _ = self.0.lock().unwrap().send(state);
            }
        }
    };
}
listener!(OverviewListener, OverviewState);
listener!(FixListener, FixState);
listener!(ProtectListener, ProtectState);
listener!(JournalListener, JournalState);
listener!(OnboardingListener, OnboardingState);

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
async fn fix_lists_cloud_servers_beside_hosts_and_stops_one_with_proof() {
    let moto = MotoServer::start();
    let id = moto.launch("eu-west-1", "app-1").await;
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"keyring:aws\"\nendpoint = \"{}\"\n",
        moto.url()
    ));
    let store = Arc::new(MapStore::default());
    store.set("aws".into(), "secret".into()).unwrap();
    let paaf = open(&world, store);
    let fix = paaf.fix_screen();
    let states = watch::<FixState>(|l| fix.subscribe(l));
    let listed = states.until("app-1", |s| !s.busy && !s.machines.is_empty());
    let [app] = &listed.machines[..] else {
        panic!("{listed:?}")
    };
    assert_eq!(
        (app.kind, &app.name[..], &app.id),
        (MachineKind::Server, "app-1", &id)
    );
    assert_eq!(app.account.as_deref(), Some("prod"));
    assert_eq!(
        app.actions,
        vec![MachineAction::Reboot, MachineAction::Stop]
    );

    fix.ask("app-1".into(), MachineAction::Stop);
    let asked = states
        .until("the confirmation", |s| s.asking.is_some())
        .asking
        .unwrap();
    assert!(asked.question.starts_with("Stop "), "{}", asked.question);
    fix.confirm();
    let done = states.until("the end", |s| {
        s.running.as_ref().is_some_and(|r| r.finished)
    });
    let run = done.running.unwrap();
    assert!(run.verified && run.error.is_none(), "{run:?}");
    assert!(!run.progress.is_empty());
    let after = states.until("the list read again", |s| {
        s.machines.first().is_some_and(|m| m.status == "stopped")
    });
    assert_eq!(after.machines[0].actions, vec![MachineAction::Start]);
}
