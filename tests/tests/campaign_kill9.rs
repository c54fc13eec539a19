//! Fault campaign "kill -9" (issue 14): the real `paaf` CLI is killed with SIGKILL at random
//! moments of reboots, execs, runbooks, flag changes (Unleash, env-file) and cloud power
//! actions (moto EC2) against the real peers. After each kill, the next `paaf` process (its
//! journal's recovery on open) must leave no action without a final state, and none marked
//! "not started" that the peer's own record shows was sent: the sshd host's reboot-count, the
//! exec marker, the runbook's log line, Unleash's flag state, the env file and its unit's
//! log, moto's instance state. Only the CLI's public behaviour is used (`paaf journal --json`
//! and exit codes), so the campaign outlives changes to the journal's schema.
//!
//! `PAAF_KILL_COUNT` kills (default 40) over `PAAF_KILL_LANES` lanes (default 2; a lane is
//! one config, journal, sshd host, Unleash flag and EC2 instance), seeded by `PAAF_KILL_SEED`.

use paaf_tests::{MotoServer, SshHost, UnleashServer, World, host_entry};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const REGION: &str = "eu-west-1";
const AWS_SECRET: &str = "kill-campaign-not-a-secret";
/// The env-file flag the lanes switch.
const ENV_FLAG: &str = "KILL_SWITCH";
const SIGKILL: i32 = 9;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Reboot,
    Exec,
    Runbook,
    UnleashFlag,
    EnvFileFlag,
    CloudPower,
}

const KINDS: [Kind; 6] = [
    Kind::Reboot,
    Kind::Exec,
    Kind::Runbook,
    Kind::UnleashFlag,
    Kind::EnvFileFlag,
    Kind::CloudPower,
];

/// What the journal says of the killed action, after the next process's recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    /// Killed before the action was journaled.
    None,
    NotStarted,
    Unknown,
    /// The process wrote its own end before the kill landed.
    Final,
}

/// The peers every lane shares.
struct Peers {
    unleash: UnleashServer,
    moto: MotoServer,
}

/// One action about to run: its arguments, and the peer's record of it before.
struct Attempt {
    kind: Kind,
    args: Vec<String>,
    before: String,
    marker: Option<PathBuf>,
}

#[derive(Default)]
struct Tally {
    kills: BTreeMap<(Kind, Row), u32>,
    effects: BTreeMap<Kind, u32>,
    finished_first: u32,
    violations: Vec<String>,
}

/// One config, journal, sshd host, Unleash flag and EC2 instance, driven by one thread.
struct Lane<'p> {
    index: usize,
    peers: &'p Peers,
    rt: tokio::runtime::Runtime,
    world: World,
    host: SshHost,
    shared: PathBuf,
    env_file: PathBuf,
    flag: String,
    instance: String,
    rng: StdRng,
    markers: u64,
    last_id: i64,
    took: BTreeMap<Kind, Duration>,
}

impl<'p> Lane<'p> {
    fn new(index: usize, peers: &'p Peers, seed: u64) -> Lane<'p> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let world = World::new();
        let host = SshHost::start(&[&world.key]);
        host.set_down_secs(0.5);
        host.add_unit("checkout.service");
        world.trust(&host);
        let shared = world.writable_dir();
        let runbooks = shared.join("runbooks");
        std::fs::create_dir_all(&runbooks).unwrap();
        // Its log line is written first, so a run that started at all is seen.
        let runbook = runbooks.join("record-run");
        std::fs::write(
            &runbook,
            "#!/bin/sh\necho run >> \"${0%/*}/../runbook-runs\"\nsleep 0.2\necho recorded\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runbook, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&runbooks, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env_file = world.dir.path().join("flags.env");
        std::fs::write(&env_file, format!("# kill campaign\n{ENV_FLAG}=true\n")).unwrap();
        let flag = format!("kill-lane-{index}");
        rt.block_on(peers.unleash.admin().create_flag(&flag, &["production"]));
        let instance = rt.block_on(peers.moto.launch(REGION, &flag));
        world.write_config(&format!(
            "operator = \"campaign\"\n{}\n\
             [[flags]]\nname = \"unleash\"\ntype = \"unleash\"\nurl = \"{}\"\ntoken = \"env:PAAF_TEST_UNLEASH_TOKEN\"\n\n\
             [[flags]]\nname = \"envfile\"\ntype = \"env-file\"\nhost = \"web-1\"\npath = \"{}\"\nunit = \"checkout.service\"\n\n\
             [[clouds]]\nname = \"aws\"\ntype = \"aws\"\nregions = [\"{REGION}\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"env:PAAF_TEST_AWS_SECRET\"\nendpoint = \"{}\"\n",
            host_entry(
                "web-1",
                &host,
                &world.key,
                &format!(
                    "runbook_dir = \"{}\"\n[hosts.reboot]\nbackoff_max_secs = 1",
                    runbooks.display()
                )
            ),
            peers.unleash.url(),
            env_file.display(),
            peers.moto.url(),
        ));
        Lane {
            index,
            peers,
            rt,
            world,
            host,
            shared,
            env_file,
            flag,
            instance,
            rng: StdRng::seed_from_u64(seed),
            markers: 0,
            last_id: 0,
            took: BTreeMap::new(),
        }
    }

    fn paaf(&self, args: &[String]) -> Command {
        let mut c = Command::new(paaf_tests::paaf_bin());
        c.args(args)
            .env("PAAF_CONFIG", self.world.config_path())
            .env("PAAF_KEYRING", "keyutils")
            .env("PAAF_TEST_UNLEASH_TOKEN", &self.peers.unleash.admin_token)
            .env("PAAF_TEST_AWS_SECRET", AWS_SECRET)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null());
        c
    }

    /// The peer's own record of what `kind` changes, read behind paaf's back.
    fn evidence(&self, kind: Kind, marker: Option<&PathBuf>) -> String {
        match kind {
            Kind::Reboot => self.host.reboot_count().to_string(),
            Kind::Exec => marker.is_some_and(|m| m.exists()).to_string(),
            Kind::Runbook => std::fs::read_to_string(self.shared.join("runbook-runs"))
                .unwrap_or_default()
                .lines()
                .count()
                .to_string(),
            Kind::UnleashFlag => self
                .rt
                .block_on(self.peers.unleash.admin().enabled(&self.flag, "production"))
                .to_string(),
            // Reads of the unit (is-active, show) are no change; restarts are.
            Kind::EnvFileFlag => format!(
                "{}|{} restarts",
                std::fs::read_to_string(&self.env_file).unwrap_or_default(),
                self.host
                    .unit_log("checkout.service")
                    .iter()
                    .filter(|l| l.starts_with("restart"))
                    .count()
            ),
            Kind::CloudPower => {
                // Followed past moto's transitional states, which a killed call may leave.
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    let state = self
                        .rt
                        .block_on(self.peers.moto.instance_state(REGION, &self.instance));
                    if !matches!(state.as_str(), "pending" | "stopping")
                        || Instant::now() > deadline
                    {
                        return state;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// Waits until whatever a killed action set going on the peer is over.
    fn settle(&self, kind: Kind) {
        match kind {
            Kind::Reboot => {
                // The reboot runs detached (`sleep 1; shutdown`): it may start after the kill.
                std::thread::sleep(Duration::from_millis(1500));
                self.host.wait_settled();
            }
            Kind::CloudPower => std::thread::sleep(Duration::from_millis(300)),
            _ => std::thread::sleep(Duration::from_millis(700)),
        }
    }

    /// The next action of `kind`, towards the other state where the action is a switch.
    fn attempt(&mut self, kind: Kind) -> Attempt {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let mut marker = None;
        let args = match kind {
            Kind::Reboot => s(&["reboot", "web-1", "--yes"]),
            Kind::Exec => {
                self.markers += 1;
                let m = self
                    .shared
                    .join(format!("exec-{}-{}", self.index, self.markers));
                let a = s(&[
                    "exec",
                    "web-1",
                    "--yes",
                    "--",
                    "touch",
                    &m.display().to_string(),
                ]);
                marker = Some(m);
                a
            }
            Kind::Runbook => s(&["runbook", "run", "web-1", "record-run", "--yes"]),
            Kind::UnleashFlag | Kind::EnvFileFlag => {
                let (key, env, backend, on) = if kind == Kind::UnleashFlag {
                    let on = self.evidence(kind, None) == "true";
                    (self.flag.as_str(), "production", "unleash", on)
                } else {
                    let text = std::fs::read_to_string(&self.env_file).unwrap();
                    let on = text.contains(&format!("{ENV_FLAG}=true"));
                    (ENV_FLAG, "web-1", "envfile", on)
                };
                let verb = if on { "off" } else { "on" };
                s(&[
                    "flag",
                    verb,
                    key,
                    "--env",
                    env,
                    "--backend",
                    backend,
                    "--yes",
                ])
            }
            Kind::CloudPower => {
                let verb = if self.evidence(kind, None) == "running" {
                    "stop"
                } else {
                    "start"
                };
                s(&["server", verb, &self.instance, "--yes"])
            }
        };
        Attempt {
            kind,
            before: self.evidence(kind, marker.as_ref()),
            args,
            marker,
        }
    }

    /// Every journal row, newest first, through the CLI (whose opening runs the recovery).
    fn journal(&self) -> Result<Vec<Value>, String> {
        let out = self
            .paaf(&["journal", "--json", "--limit", "1000000"].map(String::from))
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!(
                "`paaf journal --json` exited {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("journal JSON: {e}"))
    }

    /// Runs every kind once to its end: it must work, and its duration bounds the kill delay.
    fn calibrate(&mut self) {
        for kind in KINDS {
            let attempt = self.attempt(kind);
            let started = Instant::now();
            let out = self.paaf(&attempt.args).output().unwrap();
            self.took.insert(kind, started.elapsed());
            assert!(
                out.status.success(),
                "lane {}: {:?} failed uncut: {}{}",
                self.index,
                attempt.args,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            self.settle(kind);
            assert_ne!(
                self.evidence(kind, attempt.marker.as_ref()),
                attempt.before,
                "lane {}: {:?} left no trace on the peer",
                self.index,
                attempt.args
            );
        }
        self.last_id = self
            .journal()
            .unwrap()
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .max()
            .unwrap_or(0);
    }

    /// Kills actions until the campaign's `kills` reach `target`.
    fn run(&mut self, kills: &AtomicUsize, target: usize) -> Tally {
        let mut tally = Tally::default();
        while kills.load(Ordering::SeqCst) < target {
            let kind = KINDS[self.rng.random_range(0..KINDS.len())];
            let attempt = self.attempt(kind);
            // Early moments (journal writes, the send) are as likely as the long waits after.
            let u: f64 = self.rng.random();
            let delay = self.took[&kind].mul_f64(u * u);
            let mut child = self
                .paaf(&attempt.args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let killed = child.wait().unwrap().signal() == Some(SIGKILL);
            if killed {
                kills.fetch_add(1, Ordering::SeqCst);
            } else {
                tally.finished_first += 1;
            }
            let t = Instant::now();
            let row = match self.check(&attempt, killed) {
                Ok(row) => row,
                Err(v) => {
                    tally.violations.push(format!(
                        "lane {} {:?} killed after {delay:?}: {v}",
                        self.index, attempt.args
                    ));
                    continue;
                }
            };
            eprintln!(
                "lane {}: {kind:?} killed={killed} after {delay:?}: {row:?}, check {:.1}s",
                self.index,
                t.elapsed().as_secs_f64()
            );
            if killed {
                *tally.kills.entry((kind, row)).or_default() += 1;
                if self.evidence(kind, attempt.marker.as_ref()) != attempt.before {
                    *tally.effects.entry(kind).or_default() += 1;
                }
            }
        }
        tally
    }

    /// After a kill: the recovery left every row final, and none says "not started" (or is
    /// missing) for an action the peer shows was sent.
    fn check(&mut self, attempt: &Attempt, killed: bool) -> Result<Row, String> {
        self.settle(attempt.kind);
        let effect = self.evidence(attempt.kind, attempt.marker.as_ref()) != attempt.before;
        let rows = self.journal()?;
        let open: Vec<&Value> = rows
            .iter()
            .filter(|r| matches!(r["state"].as_str(), Some("pending" | "running")))
            .collect();
        if !open.is_empty() {
            return Err(format!(
                "rows without a final state after recovery: {open:?}"
            ));
        }
        let new: Vec<&Value> = rows
            .iter()
            .filter(|r| r["id"].as_i64().unwrap_or(0) > self.last_id)
            .collect();
        self.last_id = rows
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .max()
            .unwrap_or(self.last_id);
        let row = match new.as_slice() {
            [] => Row::None,
            [r] => {
                let state = r["state"].as_str().unwrap_or_default();
                let result = r["result"].as_str().unwrap_or_default().to_lowercase();
                if state == "not-started" || result.contains("not started") {
                    Row::NotStarted
                } else if state == "unknown" {
                    Row::Unknown
                } else {
                    if state == "succeeded" && !effect {
                        return Err(format!(
                            "journal says succeeded, the peer shows nothing: {r}"
                        ));
                    }
                    Row::Final
                }
            }
            more => return Err(format!("one command wrote {} rows: {more:?}", more.len())),
        };
        match row {
            Row::None if effect => Err(format!(
                "the peer shows it was sent (before {:?}), but the journal has no row",
                attempt.before
            )),
            Row::NotStarted if effect => Err(format!(
                "marked \"not started\" but the peer shows it was sent (before {:?}): {new:?}",
                attempt.before
            )),
            Row::None | Row::NotStarted | Row::Unknown if !killed => Err(format!(
                "the process ended by itself, yet its row is {row:?}"
            )),
            _ => Ok(row),
        }
    }

    /// What is wrong with the lane's end state: the env file must still hold one valid line,
    /// and owner lock files of dead processes are counted.
    fn leftovers(&self) -> (Vec<String>, usize) {
        let mut problems = Vec::new();
        let text = std::fs::read_to_string(&self.env_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(ENV_FLAG)).collect();
        if !(lines == [format!("{ENV_FLAG}=true")] || lines == [format!("{ENV_FLAG}=false")]) {
            problems.push(format!("lane {}: env file now {text:?}", self.index));
        }
        let owners = self.world.dir.path().join("journal.sqlite.owners");
        let stale = std::fs::read_dir(owners).map(|d| d.count()).unwrap_or(0);
        (problems, stale)
    }
}

#[test]
fn kill_9_at_random_moments_never_loses_or_misreports_an_action() {
    let target: usize = env_or("PAAF_KILL_COUNT", 40);
    let lanes: usize = env_or("PAAF_KILL_LANES", 2);
    let seed: u64 = env_or("PAAF_KILL_SEED", 14);
    // Built before any clock runs: the first call builds the CLI.
    paaf_tests::paaf_bin();
    let started = Instant::now();
    let peers = Peers {
        unleash: UnleashServer::start(),
        moto: MotoServer::start(),
    };
    eprintln!("peers up after {:.1}s", started.elapsed().as_secs_f64());
    let kills = AtomicUsize::new(0);
    let results: Vec<(Tally, Vec<String>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..lanes)
            .map(|i| {
                let (peers, kills) = (&peers, &kills);
                scope.spawn(move || {
                    let mut lane = Lane::new(i, peers, seed + i as u64);
                    eprintln!(
                        "lane {i}: ready after {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    lane.calibrate();
                    eprintln!(
                        "lane {i}: calibrated after {:.1}s: {:?}",
                        started.elapsed().as_secs_f64(),
                        lane.took
                    );
                    let tally = lane.run(kills, target);
                    let (problems, stale) = lane.leftovers();
                    (tally, problems, stale)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut total = Tally::default();
    let mut problems = Vec::new();
    let mut stale_locks = 0;
    for (t, p, s) in results {
        for (k, n) in t.kills {
            *total.kills.entry(k).or_default() += n;
        }
        for (k, n) in t.effects {
            *total.effects.entry(k).or_default() += n;
        }
        total.finished_first += t.finished_first;
        total.violations.extend(t.violations);
        problems.extend(p);
        stale_locks += s;
    }
    let killed: u32 = total.kills.values().sum();
    println!(
        "kill -9: {killed} kills over {lanes} lanes in {:.0}s (seed {seed}; {} more runs ended before their kill)",
        started.elapsed().as_secs_f64(),
        total.finished_first
    );
    println!(
        "  {:<12} {:>6} {:>7} {:>12} {:>8} {:>6} {:>12}",
        "action", "kills", "no row", "not started", "unknown", "final", "peer changed"
    );
    for kind in KINDS {
        let n = |row| total.kills.get(&(kind, row)).copied().unwrap_or(0);
        println!(
            "  {:<12} {:>6} {:>7} {:>12} {:>8} {:>6} {:>12}",
            format!("{kind:?}"),
            n(Row::None) + n(Row::NotStarted) + n(Row::Unknown) + n(Row::Final),
            n(Row::None),
            n(Row::NotStarted),
            n(Row::Unknown),
            n(Row::Final),
            total.effects.get(&kind).copied().unwrap_or(0)
        );
    }
    println!(
        "  violations: {}; end-state problems: {}; owner lock files left: {stale_locks}",
        total.violations.len(),
        problems.len()
    );
    assert!(
        total.violations.is_empty() && problems.is_empty(),
        "violations:\n{}\nend state:\n{}",
        total.violations.join("\n"),
        problems.join("\n")
    );
    assert!(killed as usize >= target, "{killed} kills of {target}");
}
