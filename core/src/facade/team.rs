//! The team timeline in the facade (see `incident::team`): this device's Ed25519 key (made at
//! pairing, its private part in the secret store, its public part registered with the
//! relay), sharing an incident under a team key, posting the queued rows (in the background,
//! retried with backoff; at once when someone reads the team timeline) and reading the merged
//! timeline back, for `paaf incident show --team` and the post-mortem.

use super::Paaf;
use super::intents::DEVICE_TOKEN;
use crate::error::{Error, Result};
use crate::incident::postmortem::Postmortem;
use crate::incident::team::{self, MAX_ROWS_PER_POST, TeamRow, TeamSource, TeamTimeline, sign_row};
use crate::intent::{ActionIntent, IntentRefusal, team_client};
use crate::journal::Journal;
use crate::secrets::SecretStore;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The secret store entry holding this device's Ed25519 key (its 32-byte seed, base64url).
pub(super) const DEVICE_KEY: &str = "paaf-relay-device-key";

/// How one round of posting went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TeamSync {
    /// Rows the relay acknowledged in this round.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub sent: u64,
    /// Why the round stopped early (the relay unreachable, a row refused), if it did.
    pub error: Option<String>,
}

impl Paaf {
    /// Makes this device's key, keeps it in the secret store and registers its public part
    /// with the relay at `url` (called by pairing, with the device token it just got).
    pub(super) async fn register_device_key(&self, url: &str, token: &SecretString) -> Result<()> {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        self.secrets.set(
            DEVICE_KEY,
            &SecretString::from(URL_SAFE_NO_PAD.encode(key.to_bytes())),
        )?;
        team_client::register_key(url, token, &key.verifying_key()).await
    }

    /// Shares incident `id` (or the current one) with the team: under `key` when given (the
    /// key another device's `paaf incident share` printed), else under the key it has, else
    /// its alert's, else a new one. Its finished rows are queued for the relay; the key is
    /// returned, to give to the others.
    pub fn share_incident(&self, id: Option<i64>, key: Option<&str>) -> Result<String> {
        let incident = self.incident(id)?;
        let key = match key {
            Some(k) => {
                let k = k.trim().to_ascii_lowercase();
                team::check_key(&k).map_err(Error::invalid)?;
                k
            }
            None => match self.journal.team_key(incident.id)? {
                Some(k) => k,
                None => match &incident.alert {
                    Some(a) => team::key_for_alert(&a.name, &a.labels),
                    None => team::random_key(),
                },
            },
        };
        self.journal.set_team_key(incident.id, &key)?;
        self.sync_team_soon();
        Ok(key)
    }

    /// Gives the current incident the team key of `intent`'s alert, unless it has one: every
    /// device acting on that alert's intents then works in the same team incident.
    pub(super) fn adopt_intent_team_key(&self, intent: &ActionIntent) -> Result<()> {
        if let Some(incident) = self.journal.current_incident()?
            && self.journal.team_key(incident.id)?.is_none()
        {
            let key = team::key_for_alert(&intent.origin.alert, &intent.origin.labels);
            self.journal.set_team_key(incident.id, &key)?;
        }
        Ok(())
    }

    /// Posts every queued row now (whatever their backoff says).
    pub async fn sync_team(&self) -> Result<TeamSync> {
        post_rows(&self.journal, self.secrets.as_ref(), true).await
    }

    /// Posts the rows due in the background, retrying with backoff while the relay cannot
    /// be reached (as long as this process lives; a later one carries on from the journal).
    pub(crate) fn sync_team_soon(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.team_looping.swap(true, Ordering::SeqCst) {
            return;
        }
        let (journal, secrets, looping) = (
            self.journal.clone(),
            self.secrets.clone(),
            self.team_looping.clone(),
        );
        runtime.spawn(async move {
            loop {
                match post_rows(&journal, secrets.as_ref(), false).await {
                    Ok(sync) if sync.error.is_none() => {}
                    Ok(_) => {}      // the rows wait for their retry
                    Err(_) => break, // not paired: nothing to do
                }
                let wait = match journal.next_team_row_due() {
                    Ok(Some(at)) => at - chrono::Utc::now().timestamp_millis(),
                    _ => break,
                };
                tokio::time::sleep(Duration::from_millis(wait.clamp(200, 300_000) as u64)).await;
            }
            looping.store(false, Ordering::SeqCst);
        });
    }

    /// Incident `id`'s (or the current one's) timeline across the team: this device's rows and,
    /// when the device is paired and the incident shared, every other device's from the relay
    /// (this device's queued rows are posted first). The relay unreachable: this device's rows,
    /// with why (never an error for that).
    pub async fn team_timeline(&self, id: Option<i64>) -> Result<TeamTimeline> {
        let incident = self.incident(id)?;
        let key = self.journal.team_key(incident.id)?;
        let pairing = self.journal.relay_pairing()?;
        let device_id = pairing
            .as_ref()
            .map(|p| p.device_id.clone())
            .unwrap_or_else(|| "this-device".into());
        let local: Vec<TeamRow> = self
            .journal
            .incident_actions(incident.id)?
            .iter()
            .map(|a| TeamRow::of_action(a, key.as_deref().unwrap_or(""), &device_id))
            .collect();
        let (Some(key), Some(pairing)) = (key.clone(), pairing) else {
            return Ok(TeamTimeline {
                incident_key: key,
                relay: None,
                source: TeamSource::NotShared,
                error: None,
                unsent: 0,
                rows: team::merge(local, Vec::new()),
            });
        };
        let synced = self.sync_team().await;
        let read = match self.secrets.get(DEVICE_TOKEN) {
            Ok(token) => team_client::timeline(&pairing.url, &token, &key).await,
            Err(_) => Err(IntentRefusal::NotPaired.into()),
        };
        let unsent = self.journal.unsent_team_rows(incident.id)?;
        let not_sent = match synced {
            Ok(sync) => sync.error,
            Err(e) => Some(e.to_string()),
        };
        let (source, error, relay_rows) = match read {
            Ok(rows) => (
                TeamSource::Relay,
                not_sent.map(|e| format!("this device's rows could not all be posted: {e}")),
                rows,
            ),
            Err(e) => (
                TeamSource::LocalOnly,
                Some(format!(
                    "the relay at {} could not be read ({e}): only this device's rows are shown",
                    pairing.url
                )),
                Vec::new(),
            ),
        };
        Ok(TeamTimeline {
            incident_key: Some(key),
            relay: Some(pairing.url),
            source,
            error,
            unsent,
            rows: team::merge(local, relay_rows),
        })
    }

    /// The post-mortem of incident `id` (or the current one), with the team timeline when
    /// this device is paired and the incident shared (this device's rows alone, said so, when
    /// the relay cannot be reached).
    pub async fn team_postmortem(&self, id: Option<i64>) -> Result<Postmortem> {
        let incident = self.incident(id)?;
        let shared = self.journal.team_key(incident.id)?.is_some()
            && self.journal.relay_pairing()?.is_some();
        let team = match shared {
            true => Some(self.team_timeline(Some(incident.id)).await?),
            false => None,
        };
        self.postmortem_with(Some(incident.id), team)
    }
}

/// One round: queues the finished rows of the shared incidents, then posts the due ones (all
/// of them with `all`), a batch at a time, each row signed with the device's key; a batch is
/// marked sent once the relay acknowledged it, else tried again after its backoff. An error
/// only when this device is not paired (or has no key).
async fn post_rows(journal: &Journal, secrets: &dyn SecretStore, all: bool) -> Result<TeamSync> {
    let (pairing, token) = super::intents::paired(journal, secrets)?;
    let key = device_key(secrets)?;
    journal.queue_team_rows()?;
    let mut out = TeamSync::default();
    let mut tried = std::collections::HashSet::new();
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let due: Vec<_> = journal
            .due_team_rows(now, all, MAX_ROWS_PER_POST)?
            .into_iter()
            .filter(|q| tried.insert(q.action.id))
            .collect();
        if due.is_empty() {
            return Ok(out);
        }
        let ids: Vec<i64> = due.iter().map(|q| q.action.id).collect();
        let signed: Vec<_> = due
            .iter()
            .map(|q| {
                sign_row(
                    &TeamRow::of_action(&q.action, &q.incident_key, &pairing.device_id),
                    &key,
                )
            })
            .collect();
        match team_client::post_rows(&pairing.url, &token, &signed).await {
            Ok(_) => {
                journal.team_rows_sent(&ids)?;
                out.sent += ids.len() as u64;
            }
            Err(e) => {
                let error = e.to_string();
                journal.team_rows_failed(&ids, &error, now)?;
                tracing::warn!("cannot post the team timeline rows to the relay: {error}");
                out.error = Some(error);
                return Ok(out);
            }
        }
    }
}

/// This device's key, from the secret store.
fn device_key(secrets: &dyn SecretStore) -> Result<SigningKey> {
    let missing = || {
        Error::invalid(
            "this device has no team timeline key (it was paired by an older paaf): pair it again with `paaf relay pair URL --token T`",
        )
    };
    let seed = secrets.get(DEVICE_KEY).map_err(|_| missing())?;
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(seed.expose_secret())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(missing)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The facade's keep of the background poster: whether one runs.
pub(crate) type Looping = Arc<std::sync::atomic::AtomicBool>;
