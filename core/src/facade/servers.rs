//! Fix: the facade's cloud calls — every server of every account in one list, and power
//! actions followed until the provider reports the final state.

use super::{Confirmation, Paaf};
use crate::cloud::Accepted;
use crate::cloud::cache::{self, CachedInventory};
use crate::cloud::{
    self, CloudAccount, Evidence, Inventory, InventoryError, PollSettings, PowerAction,
    PowerOutcome, Server,
};
use crate::config::CloudConfig;
use crate::config::HostConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::events::CancellationToken;
use crate::events::{Progress, ProgressEvent};
use crate::journal::{ActionData, ActionKind, ActionState, NewAction};
use crate::power::ssh::{ExternalReboot, RebootJob, RebootReport};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// One read of a server while a power action waits for its target state: what a front-end
/// shows as progress. `action_id` is the journal's, which [`Paaf::cancel`] takes.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServerProgress {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub action_id: i64,
    /// Since the action was sent.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
    pub server: Server,
}

impl Paaf {
    fn cloud_account(&self, config: &CloudConfig) -> Result<Box<dyn CloudAccount>> {
        cloud::connect(config, self.secrets.as_ref())
    }

    /// The server list of the last `servers(None)`, with its age: what a front-end shows at
    /// once on start, before the fresh list arrives. `None` before the first listing.
    pub fn cached_servers(&self) -> Option<CachedInventory> {
        cache::load(&cache::path_beside(&self.config().journal))
    }

    /// Every server of every cloud account (or only `account`), read concurrently; an account
    /// or region that fails is an error row beside the others. A listing of every account
    /// replaces the cache [`Paaf::cached_servers`] reads.
    pub async fn servers(&self, account: Option<&str>) -> Result<Inventory> {
        let accounts: Vec<CloudConfig> = self
            .config()
            .clouds
            .iter()
            .filter(|c| account.is_none_or(|a| c.name == a))
            .cloned()
            .collect();
        if let (Some(a), true) = (account, accounts.is_empty()) {
            return Err(Error::NotFound {
                what: "cloud account",
                name: a.to_string(),
                hint: Some("see the [[clouds]] entries of the config".into()),
            });
        }
        let reads = accounts.iter().map(|c| async move {
            match self.cloud_account(c) {
                Ok(account) => account.list().await,
                Err(e) => Inventory {
                    servers: Vec::new(),
                    errors: vec![InventoryError {
                        provider: c.kind().to_string(),
                        account: c.name.clone(),
                        region: None,
                        error: ErrorInfo::from(&e),
                    }],
                },
            }
        });
        let mut all = Inventory::default();
        for inventory in futures::future::join_all(reads).await {
            all.servers.extend(inventory.servers);
            all.errors.extend(inventory.errors);
        }
        all.servers
            .sort_by(|a, b| (&a.account, &a.name, &a.id).cmp(&(&b.account, &b.name, &b.id)));
        if account.is_none() {
            let path = cache::path_beside(&self.config().journal);
            if let Err(e) = cache::store(&path, &all, chrono::Utc::now().timestamp_millis()) {
                tracing::warn!("{e}");
            }
        }
        Ok(all)
    }

    /// The one server whose id or `Name` is `server` (in `account`, when given).
    pub(crate) async fn find_server(&self, account: Option<&str>, server: &str) -> Result<Server> {
        let inventory = self.servers(account).await?;
        let matches: Vec<&Server> = inventory
            .servers
            .iter()
            .filter(|s| s.id == server || s.name.as_deref() == Some(server))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NotFound {
                what: "server",
                name: server.to_string(),
                hint: Some(unlisted_hint(
                    &inventory.errors,
                    "see `paaf server list` for the ids and names",
                )),
            }),
            many => Err(Error::invalid(format!(
                "{} servers are named `{server}` ({}): give its id",
                many.len(),
                many.iter()
                    .map(|s| format!("{} in {}/{}", s.id, s.account, s.region))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Reboots, stops or starts a server (by id or name), then follows it until the provider
    /// reports the target state; `observe` sees every read. Journaled; `cancel`, or
    /// [`Paaf::cancel`] with the action id of the progress, stops the wait.
    pub async fn server_power(
        &self,
        account: Option<&str>,
        server: &str,
        action: PowerAction,
        confirm: &Confirmation,
        cancel: CancellationToken,
        observe: impl FnMut(&ServerProgress),
    ) -> Result<PowerOutcome> {
        let found = self.find_server(account, server).await?;
        confirm.require(&format!(
            "{} of {} ({} in {}/{})",
            action.as_str(),
            found.name.as_deref().unwrap_or(&found.id),
            found.id,
            found.account,
            found.region
        ))?;
        self.power_found(&found, action, PollSettings::default(), cancel, observe)
            .await
    }

    /// [`Paaf::server_power`] of a server already found and confirmed.
    pub(crate) async fn power_found(
        &self,
        found: &Server,
        action: PowerAction,
        settings: PollSettings,
        cancel: CancellationToken,
        mut observe: impl FnMut(&ServerProgress),
    ) -> Result<PowerOutcome> {
        let config = self.account_config(found)?;
        let account = self.cloud_account(&config)?;
        if matches!(action, PowerAction::Reboot | PowerAction::HardReboot)
            && let Some(host) = self.host_of(found)
        {
            return self
                .verified_cloud_reboot(found, host, account, action, settings, cancel, observe)
                .await;
        }
        let target = format!("{}/{}", found.account, found.id);
        let detail = format!(
            "{} {} in {} (was {})",
            action.as_str(),
            found.name.as_deref().unwrap_or(&found.id),
            found.region,
            found.raw_state
        );
        let (account_ref, found_ref, cancel_ref) = (account.as_ref(), found, &cancel);
        let watch = config.reboot_watch;
        let place = ActionData::ServerPower {
            account: found.account.clone(),
            region: found.region.clone(),
            server_id: found.id.clone(),
        };
        self.journaled(
            NewAction::new(server_kind(action), &target, &detail).with_data(place),
            |started| async move {
                let action_id = started.id;
                let _cancellable = self.cancellable(action_id, cancel_ref);
                started.now()?;
                let sent = Instant::now();
                cloud::power_server(
                    account_ref,
                    found_ref,
                    action,
                    settings,
                    watch,
                    cancel_ref,
                    |server| {
                        observe(&ServerProgress {
                            action_id,
                            elapsed_ms: sent.elapsed().as_millis() as u64,
                            server: server.clone(),
                        })
                    },
                )
                .await
            },
            |o: &PowerOutcome| {
                let done = format!(
                    "{} in {:.1}s ({} reads)",
                    o.server.raw_state,
                    o.elapsed_ms as f64 / 1000.0,
                    o.polls
                );
                match (&o.evidence, o.unverified_reason()) {
                    (Some(evidence), _) => (ActionState::Succeeded, format!("{done}: {evidence}")),
                    (None, reason) => (
                        ActionState::Unverified,
                        format!("{done}, unverified: {}", reason.unwrap_or_default()),
                    ),
                }
            },
        )
        .await
    }
}

impl Paaf {
    /// The `[[clouds]]` entry of the account `server` was listed from.
    fn account_config(&self, server: &Server) -> Result<CloudConfig> {
        self.config()
            .clouds
            .iter()
            .find(|c| c.name == server.account)
            .cloned()
            .ok_or_else(|| Error::other(format!("account {} vanished", server.account)))
    }

    /// The cloud account `server` was listed from.
    pub(crate) fn account_of(&self, server: &Server) -> Result<Box<dyn CloudAccount>> {
        self.cloud_account(&self.account_config(server)?)
    }

    /// The configured host that is this cloud server (`server = "ACCOUNT/SERVER"`).
    pub(crate) fn host_of(&self, server: &Server) -> Option<HostConfig> {
        self.config()
            .hosts
            .iter()
            .find(|h| {
                h.server.as_ref().is_some_and(|(account, s)| {
                    *account == server.account
                        && (*s == server.id || server.name.as_deref() == Some(s))
                })
            })
            .cloned()
    }

    /// A reboot sent through the cloud's API and verified over SSH like a host's reboot: the
    /// boot id read first, the API call, the connection drop, a new boot id, the test
    /// command. `observe` sees the server with each step as its `raw_state`.
    #[allow(clippy::too_many_arguments)]
    async fn verified_cloud_reboot(
        &self,
        found: &Server,
        host: HostConfig,
        account: Box<dyn CloudAccount>,
        action: PowerAction,
        settings: PollSettings,
        cancel: CancellationToken,
        mut observe: impl FnMut(&ServerProgress),
    ) -> Result<PowerOutcome> {
        self.target(&host)?; // secrets missing: fail before anything is journaled as running
        let make_target = || self.target(&host);
        let detail = format!(
            "{} {} in {} through the {} API, verified over SSH as host {}",
            action.as_str(),
            found.name.as_deref().unwrap_or(&found.id),
            found.region,
            found.provider,
            host.name
        );
        let accepted_slot: std::sync::Mutex<Option<Accepted>> = std::sync::Mutex::new(None);
        let (account_ref, host_ref, target_ref, slot) =
            (account.as_ref(), &host, &make_target, &accepted_slot);
        let started_at = Instant::now();
        let report = self
            .journaled(
                NewAction::new(
                    server_kind(action),
                    &format!("{}/{}", found.account, found.id),
                    &detail,
                ),
                |started| async move {
                    let action_id = started.id;
                    let _cancellable = self.cancellable(action_id, &cancel);
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
                    let cancel_ref = &cancel;
                    let send = Box::pin(async move {
                        let accepted = account_ref.power(&found.region, &found.id, action).await?;
                        account_ref
                            .settle(&found.region, &accepted, settings, cancel_ref)
                            .await?;
                        *slot.lock().expect("slot poisoned") = Some(accepted);
                        Ok(())
                    });
                    let job = RebootJob {
                        pool: &self.pool,
                        host: host_ref,
                        target: target_ref,
                        progress: Progress {
                            action_id: started.id,
                            started: Instant::now(),
                            sink: Arc::new(tx),
                        },
                        cancel: cancel.clone(),
                        sending: Box::new(move || started.now()),
                        external: Some(std::sync::Mutex::new(ExternalReboot {
                            description: format!(
                                "{} through the {} API",
                                action.as_str(),
                                found.provider
                            ),
                            send,
                        })),
                        test_tries: None,
                    }
                    .run();
                    tokio::pin!(job);
                    let mut step = |event: ProgressEvent| {
                        let mut server = found.clone();
                        server.raw_state = event.step.describe();
                        observe(&ServerProgress {
                            action_id,
                            elapsed_ms: event.elapsed_ms,
                            server,
                        });
                    };
                    let report = loop {
                        tokio::select! {
                            report = &mut job => break report,
                            Some(event) = rx.recv() => step(event),
                        }
                    };
                    while let Ok(event) = rx.try_recv() {
                        step(event);
                    }
                    report
                },
                |r: &RebootReport| {
                    (
                        ActionState::Succeeded,
                        format!(
                            "verified in {:.1}s: boot id {} -> {}, test command ok",
                            r.elapsed_ms as f64 / 1000.0,
                            r.boot_id_before.chars().take(8).collect::<String>(),
                            r.boot_id_after.chars().take(8).collect::<String>()
                        ),
                    )
                },
            )
            .await;
        self.pool.forget(&self.target_without_secrets(&host));
        let report = report?;
        let server = account.read(&found.region, &found.id).await?;
        let accepted = accepted_slot
            .into_inner()
            .expect("slot poisoned")
            .ok_or_else(|| Error::other("the reboot was verified but its acceptance was lost"))?;
        Ok(PowerOutcome {
            accepted,
            seen: vec![server.status],
            server,
            polls: 1,
            elapsed_ms: started_at.elapsed().as_millis() as u64,
            evidence: Some(Evidence::NewBootId {
                before: report.boot_id_before.clone(),
                after: report.boot_id_after.clone(),
            }),
            verified: Some(report),
        })
    }
}

/// The journal's kind of a power action sent through a cloud API.
fn server_kind(action: PowerAction) -> ActionKind {
    match action {
        PowerAction::Reboot => ActionKind::ServerReboot,
        PowerAction::HardReboot => ActionKind::ServerHardReboot,
        PowerAction::Stop => ActionKind::ServerStop,
        PowerAction::Start => ActionKind::ServerStart,
    }
}

/// Where to look for a server an inventory does not have: `otherwise`, or, when some accounts
/// or regions could not be listed (`errors`), how many.
pub(crate) fn unlisted_hint(errors: &[InventoryError], otherwise: &str) -> String {
    if errors.is_empty() {
        otherwise.to_string()
    } else {
        format!(
            "{} account(s) or region(s) could not be listed: see `paaf server list`",
            errors.len()
        )
    }
}
