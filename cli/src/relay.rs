//! `paaf relay pair|unpair|status|listen` and `paaf intent open`: this device and paaf-relay.
//! The core verifies and decides everything (pinned key, expiry, nonce, the device's own
//! playbook step, the claim); this asks for the confirmation and prints.

use crate::ctx::{Ctx, Outcome};
use crate::exit;
use crate::output;
use clap::Subcommand;
use paaf_core::intent::relay_client::{Claim, DeviceScope, DeviceStatus, PushEndpoint};
use paaf_core::journal::RelayPairing;
use paaf_core::{IntentOutcome, ProgressEvent};
use secrecy::SecretString;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum RelayCommand {
    /// Pair this device with a paaf-relay: its key is pinned, intents reach this device
    #[command(group(clap::ArgGroup::new("push").multiple(false)))]
    Pair {
        /// The relay's URL, e.g. https://relay.example.com, or the pairing code
        /// `paaf-relay pair-code` shows ('paaf://pair/?url=...'): its key is pinned, and a
        /// relay answering with another key is refused
        url: String,
        /// The team's pairing token (the relay's pairing_token_env); a pairing code holds it
        #[arg(long, env = "PAAF_RELAY_PAIRING_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Receive only the intents of this playbook (repeat for more; default: all)
        #[arg(long = "playbook", value_name = "NAME")]
        playbooks: Vec<String>,
        /// Receive only the intents acting on this target: a host, a flag (name or
        /// name@environment), a monitoring source (repeat for more; default: all)
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// Also push this device's notifications to an ntfy topic URL its ntfy app follows,
        /// e.g. https://ntfy.example.com/paaf-oncall-7f3k (a server the relay allows)
        #[arg(long, value_name = "TOPIC_URL", group = "push")]
        ntfy: Option<String>,
        /// Also push to a Web Push / UnifiedPush subscription: a file (or - for stdin) holding
        /// the JSON of PushSubscription.toJSON() (endpoint, keys.p256dh, keys.auth)
        #[arg(long, value_name = "FILE", group = "push")]
        webpush_subscription: Option<std::path::PathBuf>,
        /// Also push to the paaf iOS app through APNs: its device token, hex
        #[arg(long, value_name = "HEX", group = "push", value_parser = apns_token)]
        apns_token: Option<PushEndpoint>,
        /// Also push to the paaf Android app through FCM: its registration token
        #[arg(long, value_name = "TOKEN", group = "push")]
        fcm_token: Option<String>,
    },
    /// Revoke this device's pairing and forget the relay's key
    Unpair,
    /// The relay this device is paired with, and how its pushes to this device go
    Status,
    /// Follow the relay's stream: print each intent (its paaf://intent/ link) as it comes
    Listen {
        /// Stop after this many intents
        #[arg(long)]
        count: Option<usize>,
        /// Resume after this event id (what an earlier listen printed)
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum IntentCommand {
    /// Verify an intent (a paaf://intent/ link or its payload), confirm, then run it once
    Open {
        /// The paaf://intent/... link or its payload
        intent: String,
        /// A dangerous runbook's name, typed to confirm it
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
}

pub async fn relay(ctx: &Ctx, command: RelayCommand) -> Outcome {
    match command {
        RelayCommand::Pair {
            url,
            token,
            playbooks,
            targets,
            ntfy,
            webpush_subscription,
            apns_token,
            fcm_token,
        } => {
            let push = match (ntfy, webpush_subscription, apns_token, fcm_token) {
                (Some(url), ..) => Some(PushEndpoint::Ntfy { url }),
                (_, Some(file), ..) => Some(web_push_subscription(&file)?),
                (_, _, Some(apns), _) => Some(apns),
                (.., Some(token)) => Some(PushEndpoint::Fcm { token }),
                _ => None,
            };
            let scope = DeviceScope { playbooks, targets };
            let token = token.map(SecretString::from);
            let pairing = ctx
                .paaf
                .relay_pair_scoped(&url, token.as_ref(), push.as_ref(), &scope)
                .await?;
            ctx.emit(&pairing, |p| {
                output::line(&format!(
                    "paired with {} as device {}; relay key pinned: {}; receives {}",
                    output::shown(&p.url),
                    output::shown(&p.device_id),
                    output::shown(&p.relay_key),
                    output::shown(&scope.describe())
                ))
            });
            Ok(exit::OK)
        }
        RelayCommand::Unpair => {
            ctx.paaf.relay_unpair().await?;
            ctx.done("unpaired: the relay's key is forgotten and this device's token revoked")
        }
        RelayCommand::Status => {
            let pairing = ctx.paaf.relay_pairing()?;
            let Some(pairing) = pairing else {
                ctx.emit(&None::<RelayStatus>, |_| {
                    output::line("not paired: paaf relay pair URL --token T")
                });
                return Ok(exit::OK);
            };
            // The pinned pairing is shown even when the relay cannot be reached.
            let (device, unreachable) = match ctx.paaf.relay_device_status().await {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let status = RelayStatus {
                pairing,
                device,
                unreachable,
            };
            ctx.emit(&Some(&status), |_| {
                let p = &status.pairing;
                output::line(&format!(
                    "paired with {} as device {} since {}; relay key {}",
                    output::shown(&p.url),
                    output::shown(&p.device_id),
                    output::shown(&p.paired_at),
                    output::shown(&p.relay_key)
                ));
                match (&status.device, &status.unreachable) {
                    (Some(d), _) => {
                        output::line(&format!("receives {}", output::shown(&d.scope.describe())));
                        output::line(&push_line(d))
                    }
                    (None, Some(e)) => {
                        output::line(&format!("the relay did not answer: {}", output::shown(e)))
                    }
                    (None, None) => {}
                }
            });
            Ok(exit::OK)
        }
        RelayCommand::Listen { count, after } => {
            output::stream_documents();
            let mut seen = 0;
            ctx.paaf
                .relay_listen(after.as_deref(), |id, notice| {
                    if ctx.is_json() {
                        output::event(&serde_json::json!({ "event_id": id, "intent": notice }));
                    } else {
                        output::line(&format!(
                            "{id}\t{}\t{}\t{} {}\t{}",
                            output::shown(&notice.alert),
                            output::shown(&notice.playbook),
                            output::shown(&notice.kind),
                            output::shown(&notice.target),
                            output::shown(&notice.url)
                        ));
                    }
                    seen += 1;
                    count.is_none_or(|c| seen < c)
                })
                .await?;
            Ok(exit::OK)
        }
    }
}

/// `--apns-token`: refused at parse time when it is not hex.
fn apns_token(token: &str) -> Result<PushEndpoint, String> {
    PushEndpoint::apns(token).map_err(|e| e.to_string())
}

/// `--webpush-subscription FILE|-`: the subscription's JSON, read and checked by the core.
fn web_push_subscription(file: &std::path::Path) -> paaf_core::Result<PushEndpoint> {
    let unreadable = |e: std::io::Error| paaf_core::Error::InvalidInput {
        message: format!(
            "--webpush-subscription {}: cannot read it: {e}",
            file.display()
        ),
    };
    let json = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(unreadable)?
    } else {
        std::fs::read_to_string(file).map_err(unreadable)?
    };
    PushEndpoint::web_push_subscription(&json)
}

/// `paaf relay status`: the pinned pairing, and the relay's view of this device.
#[derive(serde::Serialize)]
struct RelayStatus {
    #[serde(flatten)]
    pairing: RelayPairing,
    /// The relay's view of this device (its push endpoint's health).
    device: Option<DeviceStatus>,
    /// Why the relay could not be asked.
    unreachable: Option<String>,
}

fn push_line(d: &DeviceStatus) -> String {
    let Some(kind) = &d.push else {
        return "no push endpoint: intents reach this device on its stream only".into();
    };
    let error = d
        .push_last_error
        .as_deref()
        .map(|e| format!(" (last error: {})", output::shown(e)))
        .unwrap_or_default();
    match &d.push_dropped_at {
        Some(at) => format!(
            "{kind} push endpoint DROPPED at {} after {} failures in a row{error}: pair again to push to it",
            output::shown(at),
            d.push_failures
        ),
        None if d.push_failures > 0 => {
            format!(
                "{kind} push endpoint failing: {} in a row{error}",
                d.push_failures
            )
        }
        None => format!("{kind} push endpoint working"),
    }
}

pub async fn intent(ctx: &Ctx, command: IntentCommand) -> Outcome {
    let IntentCommand::Open { intent, confirm } = command;
    let shown = ctx.paaf.open_intent(&intent).await?;
    // Someone acted already: said before any question, and nothing is asked or run.
    if let Some(claim) = shown.already {
        let outcome = IntentOutcome::AlreadyActed {
            intent_id: shown.intent_id,
            claim,
        };
        ctx.emit(&outcome, |o| {
            if let IntentOutcome::AlreadyActed { claim, .. } = o {
                output::line(&already_line(claim))
            }
        });
        return Ok(exit::OK);
    }
    if let Some(why) = &shown.claim_unknown {
        output::line(&format!(
            "could not ask the relay whether someone acted already ({}); Run still claims it first",
            output::shown(why)
        ));
    }
    let question = format!(
        "{} fires ({}): {}{}. Run it now from this device?",
        shown.alert,
        shown.playbook,
        shown.action,
        match shown.incident {
            Some(id) => format!(", in incident #{id}"),
            None => String::new(),
        }
    );
    let confirmation = match &shown.typed_name {
        Some(name) => ctx.confirm_typed(confirm, &question, name)?,
        None => ctx.confirm(&question)?,
    };
    let quiet = Arc::new(|_: ProgressEvent| {});
    let outcome = ctx
        .paaf
        .execute_intent(&intent, &confirmation, quiet)
        .await?;
    ctx.emit(&outcome, |o| match o {
        IntentOutcome::Ran { state, summary, .. } => {
            output::line(&format!("{}: {}", state, output::shown(summary)))
        }
        IntentOutcome::AlreadyActed { claim, .. } => output::line(&already_line(claim)),
    });
    Ok(exit::OK)
}

/// `not run here: already done by phone-a at 2026-...: succeeded: flag ... ON -> OFF`.
fn already_line(claim: &Claim) -> String {
    format!(
        "not run here: already done by {} at {}: {}",
        output::shown(&claim.device),
        output::shown(&claim.claimed_at),
        claim
            .result
            .as_ref()
            .map(|r| format!("{}: {}", r.state, output::shown(&r.summary)))
            .unwrap_or_else(|| "no result yet (it is running there)".into())
    )
}
