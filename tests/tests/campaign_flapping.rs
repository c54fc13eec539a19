//! Fault campaign "flapping network" (issue 14): verified reboots of a real sshd host through
//! a TCP fault proxy (tests/src/fault_proxy.rs) that resets, stalls, drops bytes and black-holes
//! connections at random points of both directions, seeded. Each trial must end succeeded with
//! a new boot id the host really had (its own reboot-count file tells), a typed timeout naming
//! its phase, or unknown — or fail before anything was sent, with the host untouched. Never a
//! false "rebooted".
//!
//! `PAAF_FLAP_TRIALS` (default 10) trials, seeds `PAAF_FLAP_SEED` (default 14) onwards;
//! `PAAF_FLAP_FAULT_RATE` (default 0.5) of the connections get faults.

use paaf_core::secrets::MemoryStore;
use paaf_core::{CancellationToken, Confirmation, Error, ErrorCode, Paaf, Phase, ProgressEvent};
use paaf_tests::fault_proxy::FaultProxy;
use paaf_tests::{SshHost, World, host_entry_at};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Short budgets, so a trial that times out does so in seconds.
const BUDGETS: &str = "connect_timeout_secs = 2\ncommand_timeout_secs = 3\n[hosts.reboot]\nbackoff_max_secs = 1\nshutdown_timeout_secs = 6\ntimeout_secs = 12\ntest_timeout_secs = 6";

/// Longer than any trial can take with [`BUDGETS`]: a trial still running then is a hang.
const TRIAL_LIMIT: Duration = Duration::from_secs(90);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Quiet;

impl paaf_core::ProgressSink for Quiet {
    fn emit(&self, _: ProgressEvent) {}
}

/// How a trial ended, as the campaign counts it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Succeeded,
    Timeout(String),
    Unknown,
    /// A typed error before the reboot command went out; the host was not rebooted.
    FailedBeforeSending(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Succeeded => f.write_str("succeeded (new boot id seen, reboot-count +1)"),
            Outcome::Timeout(phase) => write!(f, "timeout in phase {phase}"),
            Outcome::Unknown => f.write_str("unknown"),
            Outcome::FailedBeforeSending(code) => {
                write!(f, "failed before sending ({code}; host untouched)")
            }
        }
    }
}

/// The phase's kebab-case name, as in `--json` output.
fn phase_name(phase: Phase) -> String {
    serde_json::to_value(phase)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| phase.to_string())
}

/// Judges one trial against what the host itself says; `Err` is a violation.
fn judge(
    result: &paaf_core::Result<paaf_core::power::RebootReport>,
    journal_state: &str,
    (count_before, boot_before): (u32, &str),
    (count_after, boot_after): (u32, &str),
) -> Result<Outcome, String> {
    let rebooted = count_after != count_before;
    if count_after > count_before + 1 {
        return Err(format!(
            "the host rebooted {} times in one trial",
            count_after - count_before
        ));
    }
    match result {
        Ok(report) => {
            if !(report.rebooted
                && rebooted
                && report.boot_id_before == boot_before
                && report.boot_id_after == boot_after)
            {
                return Err(format!(
                    "FALSE \"rebooted\": report {} -> {} (rebooted: {}), host {boot_before} -> {boot_after}, reboot-count {count_before} -> {count_after}",
                    report.boot_id_before, report.boot_id_after, report.rebooted
                ));
            }
            if journal_state != "succeeded" {
                return Err(format!("verified, but the journal says {journal_state}"));
            }
            Ok(Outcome::Succeeded)
        }
        Err(e) => {
            if journal_state == "succeeded" {
                return Err(format!("failed ({e}), but the journal says succeeded"));
            }
            match e {
                Error::Timeout { phase, .. }
                    if matches!(phase, Phase::Shutdown | Phase::Boot | Phase::TestCommand) =>
                {
                    Ok(Outcome::Timeout(phase_name(*phase)))
                }
                _ if matches!(e.code(), ErrorCode::OutcomeUnknown | ErrorCode::Cancelled) => {
                    Ok(Outcome::Unknown)
                }
                // Connect and command timeouts, unreachable, SSH errors: only ever before the
                // reboot command went out (after it, every wait retries until its phase's
                // budget), so the host must be untouched.
                Error::Timeout { phase, .. } if !rebooted => {
                    Ok(Outcome::Timeout(phase_name(*phase)))
                }
                _ if !rebooted => Ok(Outcome::FailedBeforeSending(e.code().as_str().into())),
                _ => Err(format!(
                    "the host rebooted, but the trial ended with `{e}`, neither a timeout of a reboot phase nor unknown"
                )),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verified_reboots_through_a_flapping_network_never_claim_a_false_reboot() {
    let trials: u64 = env_or("PAAF_FLAP_TRIALS", 10);
    let first_seed: u64 = env_or("PAAF_FLAP_SEED", 14);
    let fault_rate: f64 = env_or("PAAF_FLAP_FAULT_RATE", 0.5);

    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    host.set_down_secs(0.5);
    let proxy = FaultProxy::start(host.port);
    world.trust_at(&host, proxy.port);
    world.write_config(&host_entry_at("web-1", proxy.port, &world.key, BUDGETS));

    let started = Instant::now();
    let mut outcomes: BTreeMap<Outcome, u32> = BTreeMap::new();
    let mut faults_fired: BTreeMap<&'static str, u32> = BTreeMap::new();
    let (mut connections, mut violations) = (0u64, Vec::new());
    for trial in 0..trials {
        let seed = first_seed + trial;
        let h = &host;
        tokio::task::block_in_place(|| h.wait_settled());
        let before = (host.reboot_count(), host.boot_id());
        // A fresh facade each trial: no pooled connection crosses trials.
        let paaf = Paaf::open(
            &world.config_path(),
            Arc::new(MemoryStore::default()),
            "campaign",
        )
        .unwrap();
        proxy.begin_trial(seed, fault_rate);
        let trial_start = Instant::now();
        let result = tokio::time::timeout(
            TRIAL_LIMIT,
            paaf.reboot(
                "web-1",
                &Confirmation::Yes,
                Arc::new(Quiet),
                CancellationToken::new(),
            ),
        )
        .await;
        let took = trial_start.elapsed();
        let faults = proxy.trial_faults();
        proxy.begin_trial(seed, 0.0);
        let Ok(result) = result else {
            violations.push(format!(
                "seed {seed}: no end within {TRIAL_LIMIT:?}; faults {:?}",
                faults.fired
            ));
            continue;
        };
        // A reboot sent in the last second may still be starting (`sleep 1; shutdown`).
        if result.is_err() {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        tokio::task::block_in_place(|| h.wait_settled());
        let after = (host.reboot_count(), host.boot_id());
        let journal_state = paaf
            .journal(Some("web-1"), 1)
            .unwrap()
            .first()
            .map(|r| r.state.as_str().to_string())
            .unwrap_or_else(|| "(no row)".into());
        connections += faults.connections;
        for line in &faults.fired {
            let kind = ["Reset", "Stall", "Drop", "Blackhole", "refused"]
                .into_iter()
                .find(|k| line.contains(k))
                .unwrap_or("other");
            *faults_fired.entry(kind).or_default() += 1;
        }
        match judge(
            &result,
            &journal_state,
            (before.0, &before.1),
            (after.0, &after.1),
        ) {
            Ok(outcome) => {
                eprintln!(
                    "trial {trial} (seed {seed}): {outcome} in {:.1}s, {} connections, faults {:?}",
                    took.as_secs_f64(),
                    faults.connections,
                    faults.fired
                );
                *outcomes.entry(outcome).or_default() += 1;
            }
            Err(violation) => violations.push(format!(
                "seed {seed}: {violation}; result {:?}; faults {:?}",
                result
                    .as_ref()
                    .map(|r| &r.boot_id_after)
                    .map_err(|e| e.to_string()),
                faults.fired
            )),
        }
    }

    println!(
        "flapping network: {trials} verified-reboot trials (seeds {first_seed}..{}, fault rate {fault_rate}) in {:.0}s, {connections} connections, faults fired: {faults_fired:?}",
        first_seed + trials - 1,
        started.elapsed().as_secs_f64()
    );
    for (outcome, n) in &outcomes {
        println!("  {n:>4}  {outcome}");
    }
    println!(
        "  {:>4}  violations (false \"rebooted\" included)",
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "violations:\n{}",
        violations.join("\n")
    );
    assert_eq!(
        outcomes.values().sum::<u32>() as u64,
        trials,
        "every trial has an outcome"
    );
}

/// Regression, from the campaign's seeds 22 and 52 at fault rate 0.35 (the first connection
/// stalls in the login) and 91 (it is reset there): a network failure while logging in was
/// reported as
/// "authentication failed … the server refused key" (exit 5, as for a wrong key).
#[tokio::test(flavor = "multi_thread")]
async fn a_network_fault_during_login_is_not_an_authentication_failure() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    let proxy = FaultProxy::start(host.port);
    world.trust_at(&host, proxy.port);
    world.write_config(&host_entry_at("web-1", proxy.port, &world.key, BUDGETS));
    for seed in [22, 52, 91] {
        proxy.begin_trial(seed, 0.35);
        let paaf = Paaf::open(
            &world.config_path(),
            Arc::new(MemoryStore::default()),
            "campaign",
        )
        .unwrap();
        let err = paaf
            .reboot(
                "web-1",
                &Confirmation::Yes,
                Arc::new(Quiet),
                CancellationToken::new(),
            )
            .await
            .expect_err("the first connection fails");
        let faults = proxy.trial_faults();
        assert_eq!(
            faults.connections, 1,
            "seed {seed}: the fault plan changed: {faults:?}"
        );
        assert!(
            matches!(
                err.code(),
                ErrorCode::Timeout | ErrorCode::Unreachable | ErrorCode::Ssh
            ),
            "seed {seed}: {err} ({:?}); faults {:?}",
            err.code(),
            faults.fired
        );
    }
    assert_eq!(host.reboot_count(), 0);
}

#[test]
fn a_reboot_report_the_host_contradicts_is_a_false_success() {
    let report = paaf_core::power::RebootReport {
        host: "web-1".into(),
        rebooted: true,
        boot_id_before: "a".into(),
        boot_id_after: "b".into(),
        shutdown_ms: 0,
        boot_ms: 0,
        test_ms: 0,
        elapsed_ms: 0,
    };
    let ok = Ok(report);
    assert_eq!(
        judge(&ok, "succeeded", (0, "a"), (1, "b")),
        Ok(Outcome::Succeeded)
    );
    // The host did not reboot, or came back with another boot id than reported.
    assert!(judge(&ok, "succeeded", (0, "a"), (0, "a")).is_err());
    assert!(judge(&ok, "succeeded", (0, "a"), (1, "c")).is_err());
    assert!(judge(&ok, "failed", (0, "a"), (1, "b")).is_err());
    // An SSH error after the host rebooted is neither a phase timeout nor unknown.
    let ssh = Err(Error::Ssh {
        host: "web-1".into(),
        reason: "x".into(),
    });
    assert!(judge(&ssh, "failed", (0, "a"), (1, "b")).is_err());
    assert_eq!(
        judge(&ssh, "failed", (0, "a"), (0, "a")),
        Ok(Outcome::FailedBeforeSending("ssh".into()))
    );
}
