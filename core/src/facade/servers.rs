//! Fix: the facade's cloud calls — every server of every account in one list, and power
//! actions followed until the provider reports the final state.

use super::{Confirmation, Paaf};
use crate::cloud::{
    self, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction, PowerOutcome, Server,
};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::events::CancellationToken;
use crate::journal::ActionState;
use serde::Serialize;
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

    /// Every server of every cloud account (or only `account`), read concurrently; an account
    /// or region that fails is an error row beside the others.
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
                        provider: c.kind.to_string(),
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
        Ok(all)
    }

    /// The one server whose id or `Name` is `server` (in `account`, when given).
    async fn find_server(&self, account: Option<&str>, server: &str) -> Result<Server> {
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
                hint: Some(if inventory.errors.is_empty() {
                    "see `paaf servers` for the ids and names".into()
                } else {
                    format!(
                        "{} account(s) or region(s) could not be listed: see `paaf servers`",
                        inventory.errors.len()
                    )
                }),
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
        mut observe: impl FnMut(&ServerProgress),
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
        let config = self
            .config()
            .clouds
            .iter()
            .find(|c| c.name == found.account)
            .cloned()
            .ok_or_else(|| Error::other(format!("account {} vanished", found.account)))?;
        let account = self.cloud_account(&config)?;
        let target = format!("{}/{}", found.account, found.id);
        let detail = format!(
            "{} {} in {} (was {})",
            action.as_str(),
            found.name.as_deref().unwrap_or(&found.id),
            found.region,
            found.raw_state
        );
        let (account_ref, found_ref, cancel_ref) = (account.as_ref(), &found, &cancel);
        self.journaled(
            &format!("server-{}", action.as_str()),
            &target,
            &detail,
            |started| async move {
                let action_id = started.id;
                self.running
                    .lock()
                    .expect("running poisoned")
                    .insert(action_id, cancel_ref.clone());
                started.now();
                let sent = Instant::now();
                let outcome = cloud::power_and_wait(
                    account_ref,
                    &found_ref.region,
                    &found_ref.id,
                    action,
                    PollSettings::default(),
                    cancel_ref,
                    |server| {
                        observe(&ServerProgress {
                            action_id,
                            elapsed_ms: sent.elapsed().as_millis() as u64,
                            server: server.clone(),
                        })
                    },
                )
                .await;
                self.running
                    .lock()
                    .expect("running poisoned")
                    .remove(&action_id);
                outcome
            },
            |o: &PowerOutcome| {
                (
                    ActionState::Succeeded,
                    format!(
                        "{} in {:.1}s ({} reads)",
                        o.server.raw_state,
                        o.elapsed_ms as f64 / 1000.0,
                        o.polls
                    ),
                )
            },
        )
        .await
    }
}
