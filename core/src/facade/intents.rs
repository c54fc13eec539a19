//! Action intents in the facade: pair with a relay (its key pinned), open an intent into a
//! confirmation, execute it once with this device's own credentials. The action runs through
//! the same facade calls as by hand, so it is journaled in the open incident like any other.

use super::{Confirmation, Paaf};
use crate::config::StepAction;
use crate::error::{Error, Result};
use crate::events::{CancellationToken, ProgressSink};
use crate::intent::pairing::PairingCode;
use crate::intent::relay_client::{
    self, Claim, ClaimResult, DeviceScope, DeviceStatus, IntentNotice, PushEndpoint,
};
use crate::intent::{self, ActionIntent, IntentRefusal};
use crate::journal::{Journal, RelayPairing};
use crate::runbooks;
use crate::secrets::SecretStore;
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The secret store entry holding this device's token at the paired relay.
pub(super) const DEVICE_TOKEN: &str = "paaf-relay-device-token";

/// What a person confirms before an intent runs: all of it from this device's own config.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IntentConfirmation {
    pub intent_id: String,
    /// The alert it answers, and the playbook.
    pub alert: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub playbook: String,
    /// `flag-off`, `reboot`, ...
    pub kind: String,
    pub target: String,
    /// The step as this device's playbook has it: `flag new-checkout OFF in production`.
    pub action: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at_ms: i64,
    /// The name to type to confirm (a dangerous `__` runbook); `None`: a yes is enough.
    pub typed_name: Option<String>,
    /// The open incident the action lands in, if one is open.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub incident: Option<i64>,
    /// Another device (or an earlier tap here) already claimed it: who, when, and how it
    /// went once reported. Shown instead of Run: executing it would run nothing.
    pub already: Option<Claim>,
    /// The relay could not say whether someone acted (unreachable): Run still claims first.
    pub claim_unknown: Option<String>,
}

/// How executing an intent ended.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum IntentOutcome {
    /// This device acted.
    Ran {
        intent_id: String,
        /// `succeeded` or `failed`.
        state: String,
        summary: String,
    },
    /// Another device (or an earlier tap) claimed it first: nothing ran here.
    AlreadyActed { intent_id: String, claim: Claim },
}

impl Paaf {
    /// Pairs this device with the relay at `url` using the team's pairing `token`: the relay's
    /// key is pinned in the journal, the device's token kept in the secret store.
    pub async fn relay_pair(&self, url: &str, token: &SecretString) -> Result<RelayPairing> {
        self.relay_pair_with_push(url, token, None).await
    }

    /// [`Paaf::relay_pair`], with the endpoint the relay pushes this device's notifications to
    /// (an ntfy topic the phone subscribes to, ...).
    pub async fn relay_pair_with_push(
        &self,
        url: &str,
        token: &SecretString,
        push: Option<&PushEndpoint>,
    ) -> Result<RelayPairing> {
        self.relay_pair_scoped(url, Some(token), push, &DeviceScope::default())
            .await
    }

    /// Pairs this device with a relay: `relay` is its URL (with the team's pairing `token`)
    /// or the pairing code it shows (`paaf://pair/?url=..&token=..&key=..`, whose token is
    /// used unless `token` is given, and whose key must be the one the relay answers with:
    /// else the pairing is revoked at once and refused). The relay delivers this device only
    /// the intents `scope` covers, and pushes them to `push` besides its stream.
    pub async fn relay_pair_scoped(
        &self,
        relay: &str,
        token: Option<&SecretString>,
        push: Option<&PushEndpoint>,
        scope: &DeviceScope,
    ) -> Result<RelayPairing> {
        let code = match PairingCode::is_code(relay) {
            true => Some(PairingCode::parse(relay)?),
            false => None,
        };
        let url = code
            .as_ref()
            .map_or(relay, |c| c.url.as_str())
            .trim()
            .trim_end_matches('/');
        let token = token
            .or(code.as_ref().map(|c| &c.token))
            .ok_or_else(|| Error::InvalidInput {
                message: "no pairing token: give the team's pairing token (--token or PAAF_RELAY_PAIRING_TOKEN), or pair with the code `paaf-relay pair-code` shows".into(),
            })?;
        let answer = relay_client::pair(url, token, &self.actor.device, push, scope).await?;
        let key = intent::parse_key(&answer.relay_key).map_err(Error::from)?;
        if let Some(code) = &code
            && code.key != intent::format_key(&key)
        {
            // Paired with whoever answered: revoked at once, nothing kept.
            let _ = relay_client::unpair(url, &answer.device_token).await;
            return Err(IntentRefusal::PairingKeyMismatch {
                url: url.to_string(),
                shown: code.key.clone(),
                answered: intent::format_key(&key),
            }
            .into());
        }
        self.secrets.set(DEVICE_TOKEN, &answer.device_token)?;
        self.register_device_key(url, &answer.device_token).await?;
        let pairing = RelayPairing {
            url: url.to_string(),
            device_id: answer.device_id,
            relay_key: intent::format_key(&key),
            paired_at: chrono::Utc::now().to_rfc3339(),
        };
        self.journal.set_relay_pairing(&pairing)?;
        Ok(pairing)
    }

    /// The relay this device is paired with, if any.
    pub fn relay_pairing(&self) -> Result<Option<RelayPairing>> {
        self.journal.relay_pairing()
    }

    /// This device as the paired relay sees it: whether its push endpoint works or was dropped.
    pub async fn relay_device_status(&self) -> Result<DeviceStatus> {
        let (pairing, token) = self.paired()?;
        relay_client::status(&pairing.url, &token).await
    }

    /// Revokes the pairing at the relay and forgets its key here (here even when the relay
    /// cannot be reached: the key is no longer trusted either way).
    pub async fn relay_unpair(&self) -> Result<()> {
        let (pairing, token) = self.paired()?;
        let revoked = relay_client::unpair(&pairing.url, &token).await;
        self.journal.clear_relay_pairing()?;
        let _ = self.secrets.delete(DEVICE_TOKEN);
        let _ = self.secrets.delete(super::team::DEVICE_KEY);
        revoked
    }

    /// Follows the paired relay's stream of intents (see [`relay_client::listen`]).
    pub async fn relay_listen(
        &self,
        after: Option<&str>,
        on_intent: impl FnMut(&str, IntentNotice) -> bool,
    ) -> Result<()> {
        let (pairing, token) = self.paired()?;
        relay_client::listen(&pairing.url, &token, after, on_intent).await
    }

    fn paired(&self) -> Result<(RelayPairing, SecretString)> {
        paired(&self.journal, self.secrets.as_ref())
    }

    /// Verifies the intent in `text` (a `paaf://intent/...` link or its payload) and finds its
    /// step in this device's own playbook, and asks the relay whether someone already acted
    /// on it: what to show before confirming. Nothing runs, nothing is claimed.
    pub async fn open_intent(&self, text: &str) -> Result<IntentConfirmation> {
        let (intent, step) = self.checked_intent(text)?;
        let (already, claim_unknown) = match self.paired() {
            Ok((pairing, token)) => {
                match relay_client::claim_status(&pairing.url, &token, &intent.id).await {
                    // Claimed by this device, not reported yet (it stopped mid-way): it may
                    // act again.
                    Ok(claim) => (claim.filter(|c| !c.first), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
            Err(e) => (None, Some(e.to_string())),
        };
        let typed_name = match &step {
            StepAction::Runbook { runbook, .. } if runbooks::is_dangerous(runbook) => {
                Some(runbook.clone())
            }
            _ => None,
        };
        Ok(IntentConfirmation {
            intent_id: intent.id.clone(),
            alert: intent.origin.alert.clone(),
            labels: intent.origin.labels.clone(),
            playbook: intent.origin.playbook.clone(),
            kind: intent.action.kind().to_string(),
            target: intent.action.target(),
            action: step.describe(),
            expires_at_ms: intent.expires_at_ms,
            typed_name,
            incident: self.journal.current_incident()?.map(|i| i.id),
            already,
            claim_unknown,
        })
    }

    /// Checks the intent again (nothing of [`Paaf::open_intent`] is trusted), then, once
    /// confirmed, claims it at the relay and runs its step: once, whichever device or tap
    /// comes second learns who acted and how it went.
    pub async fn execute_intent(
        &self,
        text: &str,
        confirm: &Confirmation,
        sink: Arc<dyn ProgressSink>,
    ) -> Result<IntentOutcome> {
        let (intent, step) = self.checked_intent(text)?;
        let what = format!("{} (intent {})", step.describe(), intent.id);
        match &step {
            StepAction::Runbook { runbook, .. } if runbooks::is_dangerous(runbook) => {
                confirm.require_typed(&what, runbook)?
            }
            _ => confirm.require(&what)?,
        }
        let (pairing, token) = self.paired()?;
        let claim = relay_client::claim(&pairing.url, &token, &intent.id).await?;
        if !claim.first {
            return Ok(IntentOutcome::AlreadyActed {
                intent_id: intent.id,
                claim,
            });
        }
        if !self.journal.use_nonce(&intent.nonce, &intent.id)? {
            return Err(replayed(self.journal.nonce_used_at(&intent.nonce)?));
        }
        self.adopt_intent_team_key(&intent)?;
        let ran = self.run_intent_step(&step, sink).await;
        self.sync_team_soon();
        let result = match &ran {
            Ok(summary) => ClaimResult {
                state: "succeeded".into(),
                summary: summary.clone(),
            },
            Err(e) => ClaimResult {
                state: "failed".into(),
                summary: e.to_string(),
            },
        };
        if let Err(e) = relay_client::report(&pairing.url, &token, &intent.id, &result).await {
            tracing::warn!(
                "could not tell the relay how intent {} ended: {e}",
                intent.id
            );
        }
        ran?;
        Ok(IntentOutcome::Ran {
            intent_id: intent.id,
            state: result.state,
            summary: result.summary,
        })
    }

    /// The verified intent in `text` and this device's step for it.
    fn checked_intent(&self, text: &str) -> Result<(ActionIntent, StepAction)> {
        let pairing = self
            .journal
            .relay_pairing()?
            .ok_or(IntentRefusal::NotPaired)?;
        let pinned = intent::parse_key(&pairing.relay_key)?;
        let signed = intent::decode(text)?;
        let intent = signed
            .verify(&pinned, chrono::Utc::now().timestamp_millis())?
            .clone();
        if let Some(at) = self.journal.nonce_used_at(&intent.nonce)? {
            return Err(replayed(Some(at)));
        }
        let step = intent::device_step(&self.config(), &intent)?;
        Ok((intent, step))
    }

    /// Runs the device's own step through the facade (journaled in the open incident); the
    /// confirmation was asked by the caller.
    async fn run_intent_step(
        &self,
        step: &StepAction,
        sink: Arc<dyn ProgressSink>,
    ) -> Result<String> {
        match step {
            StepAction::Flag {
                backend,
                project,
                key,
                environment,
                enabled,
            } => {
                let target = super::FlagTarget {
                    backend: Some(backend.clone()),
                    project: project.clone(),
                    key: key.clone(),
                    environment: environment.clone(),
                };
                let now = self.flag_state(&target).await?;
                let change = self
                    .set_flag(&target, *enabled, &now, &Confirmation::Yes)
                    .await?;
                Ok(format!(
                    "flag {key} in {environment}: {} -> {}",
                    on_off(change.was_enabled),
                    on_off(change.enabled)
                ))
            }
            StepAction::Reboot { host } => {
                let report = self
                    .reboot(host, &Confirmation::Yes, sink, CancellationToken::new())
                    .await?;
                Ok(format!(
                    "{host} rebooted, verified in {:.1}s (new boot id)",
                    report.elapsed_ms as f64 / 1000.0
                ))
            }
            StepAction::Runbook { host, runbook } => {
                let output = self
                    .run_runbook(host, runbook, &Confirmation::Typed(runbook.clone()))
                    .await?;
                match output.success() {
                    true => Ok(format!("runbook {runbook} on {host}: exit code 0")),
                    false => Err(Error::RemoteCommand {
                        host: host.clone(),
                        command: format!("runbook {runbook}"),
                        exit_code: output.exit_code,
                        stderr: output.stderr.trim().to_string(),
                    }),
                }
            }
            StepAction::Silence {
                source,
                matchers,
                minutes,
            } => {
                let matchers: Vec<String> = matchers.iter().map(|m| m.to_string()).collect();
                let id = self
                    .silence(
                        Some(source),
                        &matchers,
                        Duration::from_secs(minutes * 60),
                        "paaf: from an action intent",
                    )
                    .await?;
                Ok(format!("silence {id} in {source} for {minutes}m"))
            }
            StepAction::Server { .. } => Err(Error::other(
                "cloud server steps do not travel as intents yet: run them from the incident",
            )),
        }
    }
}

fn replayed(at: Option<String>) -> Error {
    Error::IntentRefused(IntentRefusal::Replayed {
        first: match at {
            Some(at) => format!("acted on at {at}"),
            None => "acted on before".into(),
        },
    })
}

fn on_off(enabled: bool) -> &'static str {
    if enabled { "ON" } else { "OFF" }
}

/// The relay this device is paired with and its device token (from `journal` and `secrets`,
/// for the callers with no [`Paaf`] at hand, like the team timeline's background poster).
pub(super) fn paired(
    journal: &Journal,
    secrets: &dyn SecretStore,
) -> Result<(RelayPairing, SecretString)> {
    let not_paired = || Error::IntentRefused(IntentRefusal::NotPaired);
    let pairing = journal.relay_pairing()?.ok_or_else(not_paired)?;
    let token = secrets.get(DEVICE_TOKEN).map_err(|_| not_paired())?;
    Ok((pairing, token))
}
