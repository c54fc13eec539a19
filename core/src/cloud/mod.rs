//! Servers of cloud accounts: the types every cloud provider returns (one inventory row per
//! server, normalized status), the power actions, and the one way a power action is followed
//! to its end ([`power_and_wait`], [`follow`]).
//!
//! A provider file implements [`CloudProvider`] (plain async methods) for one configured
//! account; the facade holds it as a [`CloudAccount`], which every provider is through one
//! adapter here. It does four things and no more:
//! 1. lists its servers as [`Server`]s ([`listing::all_pages`] reads every page without
//!    looping forever; [`Inventory::of_account`] sorts them and keeps the configured
//!    regions, [`Inventory::of_regions`] asks an API listed region by region about each),
//!    one [`InventoryError`] row per region or account that failed (a failing region never
//!    hides the others);
//! 2. sends a [`PowerAction`] and returns the API's acceptance ([`Accepted`]): a call that
//!    changes something is sent once (`Retry::NotIdempotent`); what a failure means
//!    (`auth-failed` … `outcome-unknown` for an ambiguous failure, never retried) is decided
//!    by the one failure policy of [`crate::http::Service`], to which the provider only adds
//!    its [`crate::http::Vendor`]: how its error bodies read, what its codes mean, the
//!    remedies in its words;
//! 3. where the API answers with an operation of its own (a DigitalOcean action, a Hetzner
//!    action, a GCP operation, an Azure async operation, an OVHcloud or Proxmox task),
//!    follows it to its end in [`CloudProvider::settle`] with [`follow::follow_json`] or
//!    [`follow::follow_operation`] (`Retry-After`, backoff, cancellation, a typed timeout:
//!    the provider gives only the read of it, or what its answer means), and turns a failed
//!    operation into an error ([`follow::failed`]);
//! 4. reads one server again, so that [`power_and_wait`] can follow it to the action's
//!    [`PowerAction::target`] state within [`PollSettings`]; the result is a [`PowerOutcome`].
//!
//! A power action counts as done only on [`Evidence`]: a stop or start when its state is read
//! back; a reboot when its operation completed and that proves it
//! ([`CloudProvider::operation_proves`]), when the server was seen out of `running`, or when
//! its launch time moved (or, for a server that is also a `[[hosts]]` entry, a new boot id
//! over SSH). A server that reads `running` and shows none of these within
//! [`Proof::watch`] is *unverified* ([`PowerOutcome::evidence`] is `None`): it is already
//! `running` before a reboot, so reading it `running` proves nothing.
//!
//! A provider without an action (Linode has no hard reset) refuses it with `invalid-input`
//! saying what to do instead, before sending anything; so is an id that cannot be one
//! ([`listing::check_id`]). Its `[[clouds]]` keys are typed and checked once, at load
//! ([`crate::config::AccountConfig`]); the account is made from them ([`FromConfig`]), and
//! [`connect`] builds the account of an entry.
//!
//! ## A new cloud provider
//!
//! One file, one row in the provider table, one row in the contract table. The model is
//! [`vultr`], the smallest ([`hetzner`] when the API answers with an operation to follow):
//! 1. `core/src/cloud/NAME.rs` (and `pub mod NAME;` below): the vendor header (endpoints,
//!    error codes, rate-limit headers, links); the account type, `#[derive(Debug)]` (its
//!    [`crate::http::Service`] never shows a secret); `impl CloudProvider` (`list` through
//!    [`listing::all_pages`] and [`Inventory::of_account`], or [`Inventory::of_regions`]
//!    for an API asked region by region; `read` and `power` through `Service::fetch_json` /
//!    `fetch` with a [`crate::http::Doing`] naming the server (and the permission it needs,
//!    [`crate::http::Doing::needs`]); `settle` through [`follow::follow_operation`] (or
//!    [`follow::follow_json`]) when there is an operation); a [`crate::http::Vendor`] for
//!    its errors (an API reached with OAuth access tokens goes through
//!    `http::oauth::TokenApi`, as [`gcp`] and [`azure`] do); its keys (its own struct
//!    implementing [`crate::config::AccountConfig`]) and `impl FromConfig` (the account of
//!    those keys). A provider reached with one API token writes none of the account: it is
//!    a [`token_account::TokenVendor`] (its API's words, pages, reads and power calls), and
//!    [`token_account::TokenAccount`] gives it the account type, [`TokenConfig`] and
//!    [`FromConfig`], as [`vultr`] shows;
//!    `normalize`, its states as [`ServerStatus`]; [`CloudProvider::operation_proves`] when
//!    the operation of an action, once completed, proves it took effect.
//! 2. `core/src/config/clouds.rs`: one row in `cloud_providers!` (variant, `type`, keys,
//!    client): the config enum variant, its parsing and [`connect`] follow from it.
//! 3. `core/tests/contract/clouds/NAME.rs` (and `mod NAME;` there): its `Api`, a `CloudMock`
//!    describing its routes and the bodies of its documentation, and its own cases (its
//!    paging, its power actions followed to their end, its vendor errors); one row in
//!    `scenario_table!`, which runs every shared scenario (401, 403, 404, 409, 429, 5xx,
//!    timeout, paging in circles, malformed and oversize bodies, an echoed secret) on it.

/// The start every [`CloudProvider`] impl shares: `kind_and_name!(CloudKind::Azure)` is its
/// [`CloudProvider::KIND`] (`CloudKind::Azure`) and its `name`, the account's `name` field.
macro_rules! kind_and_name {
    ($kind:expr) => {
        const KIND: CloudKind = $kind;

        fn name(&self) -> &str {
            &self.name
        }
    };
}

pub mod azure;
pub mod cache;
pub mod digitalocean;
pub mod ec2;
pub mod filter;
pub mod follow;
pub mod gcp;
pub mod health;
pub mod hetzner;
pub mod kubernetes;
pub mod linode;
pub mod listing;
pub mod ovh;
pub mod proxmox;
pub mod rebootx;
pub mod scaleway;
pub mod token_account;
pub mod vultr;

/// What the provider files share, in one import (`use super::prelude::*;`): this module's
/// types, the follower and listing helpers, and the config, error, HTTP and secret types
/// every provider uses.
pub(crate) mod prelude {
    pub(crate) use super::follow::{
        Polled, Wait, failed, follow_answers, follow_json, follow_operation,
    };
    pub(crate) use super::listing::{
        Page, about_server, addresses, all_items, all_pages, all_pages_past_empty,
        check_configured, check_id, check_listed, is_number, is_region_name, is_uuid, launched_at,
        name_tags, not_configured,
    };
    pub(crate) use super::token_account::{TokenAccount, TokenVendor};
    pub(crate) use super::{
        Accepted, CloudProvider, FromConfig, Inventory, PowerAction, Server, ServerStatus,
    };
    pub(crate) use crate::config::{AccountConfig, CloudEntry, CloudKind, Key};
    pub(crate) use crate::error::{Error, ErrorCode, Result};
    pub(crate) use crate::http::{
        Doing, HttpAuth, HttpFailure, Limits, Method, Request, Response, Retry, Said, Service,
        Signer, TlsConfig, Vendor, path_segment,
    };
    pub(crate) use crate::secrets::{SecretRef, SecretStore};
    pub(crate) use secrecy::{ExposeSecret, SecretString};
    pub(crate) use serde::Deserialize;
    pub(crate) use std::collections::BTreeMap;
}

pub use filter::ServerFilter;
pub use token_account::{API_TOKEN, TokenConfig};

use crate::config::{CloudConfig, CloudKind};
use crate::error::{ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::Limits;
use crate::secrets::SecretStore;
use crate::thresholds::{Level, Threshold};
use follow::{Polled, Wait};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed future, so that [`CloudAccount`] can be used as `dyn CloudAccount`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One cloud provider, written with plain async methods: a provider file implements this for
/// its account type, and [`CloudAccount`] (what the facade holds) comes from it, in one place.
pub trait CloudProvider: Send + Sync + std::fmt::Debug {
    /// Which provider: its `type` in the config and its [`Server::provider`].
    const KIND: CloudKind;

    /// The account's configured name.
    fn name(&self) -> &str;

    /// Every server of the account (all its configured regions, every page); what failed is
    /// an [`InventoryError`] row beside the servers that could be listed.
    fn list(&self) -> impl Future<Output = Inventory> + Send;

    /// One server, read now (`region` as in its [`Server::region`]).
    fn read(&self, region: &str, id: &str) -> impl Future<Output = Result<Server>> + Send;

    /// Sends `action` once and returns the API's acceptance.
    fn power(
        &self,
        region: &str,
        id: &str,
        action: PowerAction,
    ) -> impl Future<Output = Result<Accepted>> + Send;

    /// Follows the operation the API answered with ([`Accepted::operation`]) until it is
    /// done, within `settings` ([`follow::follow_operation`]); a failed operation is an
    /// error. Providers without operations keep this default, which has nothing to wait for.
    fn settle(
        &self,
        _region: &str,
        _accepted: &Accepted,
        _wait: Wait<'_>,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Whether `action`, once [`CloudProvider::settle`] followed the operation it was
    /// answered with to its end, is proven to have taken effect (a reset done, a restart
    /// completed). The default, no: the API gives no operation, keeps one for the record
    /// only, or its end says only that a request reached the server (an ACPI request the
    /// OS may ignore); paaf then needs another sign ([`Evidence`]).
    fn operation_proves(&self, _action: PowerAction) -> bool {
        false
    }
}

/// One configured cloud account of any provider, as the facade holds it (`dyn`): every
/// [`CloudProvider`] is one.
pub trait CloudAccount: Send + Sync + std::fmt::Debug {
    /// The provider's short name (`aws`, `hetzner`, ...), as in [`Server::provider`].
    fn provider(&self) -> &'static str;

    /// The account's configured name.
    fn name(&self) -> &str;

    /// [`CloudProvider::list`].
    fn list(&self) -> BoxFuture<'_, Inventory>;

    /// [`CloudProvider::read`].
    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>>;

    /// [`CloudProvider::power`].
    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>>;

    /// [`CloudProvider::settle`].
    fn settle<'a>(
        &'a self,
        region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>>;

    /// [`CloudProvider::operation_proves`].
    fn operation_proves(&self, action: PowerAction) -> bool;
}

/// The one adapter from a provider's async methods to the object-safe [`CloudAccount`].
impl<T: CloudProvider> CloudAccount for T {
    fn provider(&self) -> &'static str {
        T::KIND.as_str()
    }

    fn name(&self) -> &str {
        CloudProvider::name(self)
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(CloudProvider::list(self))
    }

    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(CloudProvider::read(self, region, id))
    }

    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(async move {
            let accepted = CloudProvider::power(self, region, id, action).await?;
            let (account, operation) = (CloudProvider::name(self), &accepted.operation);
            let action = action.as_str();
            tracing::info!(provider = %T::KIND, account, region, id, action, ?operation, "accepted");
            Ok(accepted)
        })
    }

    fn settle<'a>(
        &'a self,
        region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        let wait = Wait { settings, cancel };
        Box::pin(CloudProvider::settle(self, region, accepted, wait))
    }

    fn operation_proves(&self, action: PowerAction) -> bool {
        CloudProvider::operation_proves(self, action)
    }
}

/// A provider's account made from its typed `[[clouds]]` keys ([`crate::config::AccountConfig`]):
/// what its config variant gives ([`connect`]), and what the tests make with other limits.
pub trait FromConfig: Sized {
    /// Its `[[clouds]]` keys, read and checked at load.
    type Keys;

    /// The account `name` of `keys`, its secrets resolved from `secrets`, its requests made
    /// within `limits`; keys that cannot work are refused with `invalid-input` before
    /// anything is sent.
    fn connect(
        name: &str,
        keys: &Self::Keys,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Self>;

    /// The account of the `[[clouds]]` entry `config`: [`FromConfig::connect`] within its
    /// timeout.
    fn from_config(
        config: &CloudConfig,
        keys: &Self::Keys,
        secrets: &dyn SecretStore,
    ) -> Result<Self> {
        Self::connect(
            &config.name,
            keys,
            secrets,
            Limits::with_timeout(config.timeout),
        )
    }
}

/// The account of a `[[clouds]]` entry, its secrets read from `secrets`.
pub fn connect(config: &CloudConfig, secrets: &dyn SecretStore) -> Result<Box<dyn CloudAccount>> {
    config.provider.connect(config, secrets)
}

/// Sends `action` to server `id` of `account`, waits for the provider's operation (if any),
/// then reads the server every `settings.interval` until it is in the action's target state
/// and, for a reboot, until there is [`Evidence`] of it or [`Proof::watching`] is over.
pub async fn power_and_wait(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
    settings: PollSettings,
    cancel: &CancellationToken,
    observe: impl FnMut(&Server),
) -> Result<PowerOutcome> {
    let proof = Proof::watching(settings);
    power_and_prove(
        account, region, id, action, settings, proof, cancel, observe,
    )
    .await
}

/// [`power_and_wait`] of `server` as listed before the action: its launch time then is the
/// boot marker a reboot is compared with, and a reboot with no other sign is watched for
/// `watch` (default [`Proof::watching`]).
pub async fn power_server(
    account: &dyn CloudAccount,
    server: &Server,
    action: PowerAction,
    settings: PollSettings,
    watch: Option<Duration>,
    cancel: &CancellationToken,
    observe: impl FnMut(&Server),
) -> Result<PowerOutcome> {
    let mut proof = Proof::watching(settings);
    if let Some(watch) = watch {
        proof.watch = watch.min(settings.timeout);
    }
    proof.launched_before_ms = server.launched_at_ms;
    let (region, id) = (server.region.as_str(), server.id.as_str());
    power_and_prove(
        account, region, id, action, settings, proof, cancel, observe,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn power_and_prove(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
    settings: PollSettings,
    mut proof: Proof,
    cancel: &CancellationToken,
    observe: impl FnMut(&Server),
) -> Result<PowerOutcome> {
    let accepted = account.power(region, id, action).await?;
    account.settle(region, &accepted, settings, cancel).await?;
    if account.operation_proves(action) {
        proof.operation = accepted.operation.clone();
    }
    let label = format!(
        "{id} ({} \"{}\", {region})",
        account.provider(),
        account.name()
    );
    poll_until(
        &label,
        accepted,
        settings,
        proof,
        cancel,
        || account.read(region, id),
        observe,
    )
    .await
}

/// One server of one cloud account, as an inventory row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Server {
    /// The provider's short name: `aws`, `hetzner`, `gcp`, ...
    pub provider: String,
    /// The account's configured name in paaf.
    pub account: String,
    /// The region (or zone, or location) the server lives in.
    pub region: String,
    /// The provider's id (`i-0abc…` on EC2): what power actions take.
    pub id: String,
    /// Its human name (EC2: the `Name` tag), when it has one.
    pub name: Option<String>,
    pub status: ServerStatus,
    /// The provider's own word for the state (`shutting-down`, `off`, `TERMINATED`…).
    pub raw_state: String,
    pub public_ips: Vec<String>,
    pub private_ips: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// When it was (last) launched, in ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub launched_at_ms: Option<i64>,
    /// What the server reports of itself with the list (a RebootX runnable's `metrics`); none
    /// for the other providers.
    #[serde(default)]
    pub metrics: Vec<ServerMetric>,
}

impl Server {
    /// Server `id` of the `kind` account `account` in `region`, not read yet (`unknown`, no
    /// raw state), without a name, addresses, tags, launch time or metrics: the row a
    /// provider fills in with what its API says (`Server { status, .. Server::of(…) }`).
    pub fn of(
        kind: CloudKind,
        account: &str,
        region: impl Into<String>,
        id: impl Into<String>,
    ) -> Server {
        Server {
            provider: kind.to_string(),
            account: account.to_string(),
            region: region.into(),
            id: id.into(),
            name: None,
            status: ServerStatus::Unknown,
            raw_state: String::new(),
            public_ips: Vec::new(),
            private_ips: Vec::new(),
            tags: BTreeMap::new(),
            launched_at_ms: None,
            metrics: Vec::new(),
        }
    }
}

/// A metric a server reports with itself (the RebootX on-prem spec's `RunnableMetric`), with
/// its level against its own `[warning, danger]` thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServerMetric {
    /// A short name (`CPU`, `RAM`).
    pub label: Option<String>,
    pub value: Option<f64>,
    /// `%`, `MB`, `GB/s`.
    pub unit: Option<String>,
    /// The value compared to its maximum, from 0 to 1.
    pub ratio: Option<f64>,
    pub thresholds: Option<Threshold>,
    /// `value` against `thresholds`; ok without thresholds, unknown without a value.
    pub level: Level,
}

/// A server's state, normalized across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "kebab-case")]
pub enum ServerStatus {
    Running,
    Stopped,
    /// Starting, booting, provisioning.
    Pending,
    /// Shutting down (to stopped, or before termination).
    Stopping,
    /// Deleted or being deleted: it cannot be started again (EC2 `terminated`).
    Terminated,
    /// A state paaf does not know; `raw_state` says what the provider said.
    Unknown,
}

impl ServerStatus {
    /// Out of `running` on the way to or from it (booting, shutting down, off): seen after a
    /// reboot was sent, a sign that it happened.
    pub fn left_running(self) -> bool {
        matches!(
            self,
            ServerStatus::Pending | ServerStatus::Stopping | ServerStatus::Stopped
        )
    }
}

impl std::fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerStatus::Running => "running",
            ServerStatus::Stopped => "stopped",
            ServerStatus::Pending => "pending",
            ServerStatus::Stopping => "stopping",
            ServerStatus::Terminated => "terminated",
            ServerStatus::Unknown => "unknown",
        })
    }
}

/// What can be done to a server's power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "kebab-case")]
pub enum PowerAction {
    /// A clean reboot through the OS (ACPI), where the provider offers one.
    Reboot,
    /// A reset without the OS's cooperation. EC2 has none (its reboot turns hard by itself
    /// when the OS does not shut down within minutes): it refuses this.
    HardReboot,
    Stop,
    Start,
}

impl PowerAction {
    /// The state the server is in once the action is done.
    pub fn target(self) -> ServerStatus {
        match self {
            PowerAction::Stop => ServerStatus::Stopped,
            PowerAction::Reboot | PowerAction::HardReboot | PowerAction::Start => {
                ServerStatus::Running
            }
        }
    }

    /// The phase a wait for it is in: shutting down for a stop, booting otherwise.
    pub fn phase(self) -> Phase {
        match self.target() {
            ServerStatus::Stopped => Phase::Shutdown,
            _ => Phase::Boot,
        }
    }

    /// The provider's word for it among `words`, given for reboot, hard reboot, stop and
    /// start in that order (a provider that has them all).
    pub fn pick(self, words: [&'static str; 4]) -> &'static str {
        words[self as usize]
    }

    /// [`PowerAction::pick`] of a provider without some of them (`""`): one it has not is
    /// refused with `invalid-input` saying what to do `instead`, before anything is sent.
    pub fn word(
        self,
        words: [&'static str; 4],
        instead: impl FnOnce() -> String,
    ) -> Result<&'static str> {
        match self.pick(words) {
            "" => Err(crate::error::Error::invalid(instead())),
            word => Ok(word),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Reboot => "reboot",
            PowerAction::HardReboot => "hard-reboot",
            PowerAction::Stop => "stop",
            PowerAction::Start => "start",
        }
    }
}

/// The API accepted a power action: what it said the server's state became at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Accepted {
    pub action: PowerAction,
    pub id: String,
    /// The state in the API's answer (`stopping` for an EC2 stop), if it gives one (an EC2
    /// reboot answers only `true`).
    pub status: Option<ServerStatus>,
    pub raw_state: Option<String>,
    /// The provider's record of the action to follow, when it answers with one (an action
    /// id, an operation name or URL, a task id).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub operation: Option<String>,
}

impl Accepted {
    /// The acceptance of `action` for server `id`, whose answer gave no state: only the
    /// provider's `operation` to follow, if any.
    pub fn without_state(action: PowerAction, id: &str, operation: Option<String>) -> Accepted {
        Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation,
        }
    }
}

/// How a power action is followed to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// Between two reads of the server's state.
    pub interval: Duration,
    /// The whole wait, after the action was accepted.
    pub timeout: Duration,
}

impl Default for PollSettings {
    /// Every 5 s for up to 10 minutes: an EC2 stop of a large instance can take minutes.
    fn default() -> Self {
        PollSettings {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Reads a reboot with no other sign is watched for by default ([`Proof::watching`]): a
/// minute at the default [`PollSettings`], long enough for a provider's state to show a
/// reboot (`rebooting`, `stopping`) that was not yet under way at the first read.
pub const WATCH_READS: u32 = 12;

/// How much a launch time may move between two reads without a new boot: providers that give
/// an uptime instead (Proxmox) make it from the clock at each read.
const LAUNCH_TIME_SLACK_MS: i64 = 5_000;

/// What can prove a power action besides the states read after it, known before they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proof {
    /// The provider's operation for the action, followed to its end, when its end proves it
    /// ([`CloudProvider::operation_proves`]).
    pub operation: Option<String>,
    /// The server's launch time (ms since the Unix epoch) before the action, when it was
    /// listed: a later one after a reboot is a new boot.
    pub launched_before_ms: Option<i64>,
    /// How long a reboot that reads `running` with no sign of it yet is read again for one;
    /// then it is unverified.
    pub watch: Duration,
}

impl Proof {
    /// Nothing known yet; a reboot watched for [`WATCH_READS`] reads of `settings`, within
    /// its timeout.
    pub fn watching(settings: PollSettings) -> Proof {
        Proof {
            watch: (settings.interval.saturating_mul(WATCH_READS)).min(settings.timeout),
            ..Proof::default()
        }
    }

    /// What proves `action` now that `server` reads its target state, `left_running` the
    /// first state out of `running` seen since it was sent.
    fn evidence(
        &self,
        action: PowerAction,
        left_running: Option<&str>,
        server: &Server,
    ) -> Option<Evidence> {
        if matches!(action, PowerAction::Stop | PowerAction::Start) {
            return Some(Evidence::StateReadBack {
                raw_state: server.raw_state.clone(),
            });
        }
        if let Some(operation) = &self.operation {
            return Some(Evidence::OperationCompleted {
                operation: operation.clone(),
            });
        }
        if let Some(raw_state) = left_running {
            return Some(Evidence::LeftRunning {
                raw_state: raw_state.to_string(),
            });
        }
        match (self.launched_before_ms, server.launched_at_ms) {
            (Some(before_ms), Some(after_ms))
                if after_ms.saturating_sub(before_ms) > LAUNCH_TIME_SLACK_MS =>
            {
                Some(Evidence::Relaunched {
                    before_ms,
                    after_ms,
                })
            }
            _ => None,
        }
    }
}

/// What proves that a power action took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Evidence {
    /// The state asked for was read back (a stop: `stopped`).
    StateReadBack { raw_state: String },
    /// The provider's operation for it (an action, operation or task) completed, and its end
    /// proves it ([`CloudProvider::operation_proves`]).
    OperationCompleted { operation: String },
    /// The server was seen out of `running` (`rebooting`, `stopping`, `off`) before it ran
    /// again.
    LeftRunning { raw_state: String },
    /// Its launch time moved forward: it booted again.
    Relaunched {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        before_ms: i64,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        after_ms: i64,
    },
    /// Over SSH, as the `[[hosts]]` entry linked to it: a new boot id from the same machine,
    /// then the test command ([`PowerOutcome::verified`]).
    NewBootId { before: String, after: String },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |id: &str| id.chars().take(8).collect::<String>();
        match self {
            Evidence::StateReadBack { raw_state } => write!(f, "{raw_state} read back"),
            Evidence::OperationCompleted { operation } => {
                write!(f, "its operation {operation} completed")
            }
            Evidence::LeftRunning { raw_state } => write!(f, "seen {raw_state}"),
            Evidence::Relaunched {
                before_ms,
                after_ms,
            } => write!(
                f,
                "launched again {:.0}s later",
                after_ms.saturating_sub(*before_ms) as f64 / 1000.0
            ),
            Evidence::NewBootId { before, after } => {
                write!(f, "boot id {} -> {}", short(before), short(after))
            }
        }
    }
}

/// A power action followed to its target state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PowerOutcome {
    pub accepted: Accepted,
    /// The server as last read: in the target state.
    pub server: Server,
    /// Each state seen, in order, without repeats: the acceptance's state first (when the
    /// API gave one), then every change the polls saw (`stopping`, `stopped`).
    pub seen: Vec<ServerStatus>,
    /// Reads of the server's state it took.
    pub polls: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
    /// The SSH verification of a reboot, when the server is also a configured host (its
    /// `server = "ACCOUNT/SERVER"`): the boot ids before and after, and the test command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<crate::power::ssh::RebootReport>,
    /// What proves the action took effect; `None`: it was sent and the server reads its
    /// target state, but paaf saw no proof (the journal's `unverified`).
    pub evidence: Option<Evidence>,
}

impl PowerOutcome {
    /// Why it is unverified and what to do, when there is no [`Evidence`].
    pub fn unverified_reason(&self) -> Option<String> {
        if self.evidence.is_some() {
            return None;
        }
        let s = &self.server;
        Some(format!(
            "no sign of the {} was seen in {:.0}s: no operation of {} proves it, it read {} throughout and its launch time did not change. Check the server; link it to a [[hosts]] entry (server = \"{}/{}\") to have its reboots verified over SSH",
            self.accepted.action.as_str(),
            self.elapsed_ms as f64 / 1000.0,
            s.provider,
            s.raw_state,
            s.account,
            s.id
        ))
    }
}

/// One region (or a whole account) that could not be listed: a row of its own, beside the
/// servers of the regions that could.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InventoryError {
    pub provider: String,
    pub account: String,
    /// None when the whole account failed before any region was asked.
    pub region: Option<String>,
    pub error: ErrorInfo,
}

/// Every server of an account, and the regions that failed.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Inventory {
    pub servers: Vec<Server>,
    pub errors: Vec<InventoryError>,
}

/// Reads a server with `read` every `settings.interval` until it is in `accepted.action`'s
/// target state and, for a reboot, until `proof` or a read gives [`Evidence`] of it or
/// [`Proof::watch`] is over (then it is unverified); `observe` sees every read (to report
/// progress). Gives up with a `timeout` error after `settings.timeout`, or `cancelled` when
/// `cancel` fires; an error of `read` ends the wait with that error. The server's state is
/// followed like any operation ([`follow::follow_operation`]).
///
/// `label` names the server in errors (e.g. `i-0abc (aws "prod", eu-west-1)`).
pub async fn poll_until<F, Fut>(
    label: &str,
    accepted: Accepted,
    settings: PollSettings,
    proof: Proof,
    cancel: &CancellationToken,
    mut read: F,
    mut observe: impl FnMut(&Server),
) -> Result<PowerOutcome>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Server>>,
{
    let action = accepted.action;
    let target = action.target();
    let started = Instant::now();
    let mut seen: Vec<ServerStatus> = accepted.status.into_iter().collect();
    // The first state out of running since the action was sent, the acceptance's included.
    let left_running = std::sync::Mutex::new(
        accepted
            .status
            .filter(|s| s.left_running())
            .map(|s| accepted.raw_state.clone().unwrap_or_else(|| s.to_string())),
    );
    let follow = follow::Follow::new(label, action.phase(), settings, cancel);
    let (proof_ref, left_ref) = (&proof, &left_running);
    let polled = || {
        let server = read();
        async move {
            let server = server.await?;
            let mut left = left_ref.lock().expect("left_running poisoned");
            if server.status != target {
                if server.status.left_running() && left.is_none() {
                    *left = Some(server.raw_state.clone());
                }
                let still = format!("still {}, waiting to be {target}", server.raw_state);
                return Ok(Polled::pending(server, still, None));
            }
            let proven = proof_ref
                .evidence(action, left.as_deref(), &server)
                .is_some();
            if proven || started.elapsed().saturating_add(settings.interval) > proof_ref.watch {
                return Ok(Polled::Done(server));
            }
            let still = format!(
                "{}, no sign of the {} yet",
                server.raw_state,
                action.as_str()
            );
            Ok(Polled::pending(server, still, None))
        }
    };
    let followed = follow::follow_operation(&follow, polled, |server| {
        if seen.last() != Some(&server.status) {
            seen.push(server.status);
        }
        observe(server);
    })
    .await?;
    let left = left_running.into_inner().expect("left_running poisoned");
    Ok(PowerOutcome {
        evidence: proof.evidence(action, left.as_deref(), &followed.last),
        accepted,
        server: followed.last,
        seen,
        polls: followed.reads,
        elapsed_ms: followed.elapsed.as_millis() as u64,
        verified: None,
    })
}

/// A server for the tests of the cloud modules: `web-1` (`i-0123456789abcdef0`) of aws
/// account `prod` in `eu-west-1`, `status`, without addresses, tags or launch time.
#[cfg(test)]
pub(crate) fn test_server(status: ServerStatus) -> Server {
    Server {
        name: Some("web-1".into()),
        status,
        raw_state: status.to_string(),
        ..Server::of(CloudKind::Aws, "prod", "eu-west-1", "i-0123456789abcdef0")
    }
}

/// The secret of the tests' accounts: `keyring:test`, which [`test_store`] holds.
#[cfg(test)]
pub(crate) fn test_secret() -> crate::secrets::SecretRef {
    crate::secrets::SecretRef::Keyring("test".into())
}

/// A secret store holding `value` as [`test_secret`].
#[cfg(test)]
pub(crate) fn test_store(value: &str) -> crate::secrets::MemoryStore {
    let store = crate::secrets::MemoryStore::default();
    store
        .set("test", &secrecy::SecretString::from(value))
        .unwrap();
    store
}

/// Asserts that `normalize` reads each raw state of `table` as its status.
#[cfg(test)]
pub(crate) fn assert_states(
    normalize: impl Fn(&str) -> ServerStatus,
    table: &[(&str, ServerStatus)],
) {
    for (raw, status) in table {
        assert_eq!(normalize(raw), *status, "{raw}");
    }
}

/// Asserts that the `Debug` of `account` shows none of `secrets` and each of `shown`.
#[cfg(test)]
pub(crate) fn assert_hidden(account: &impl std::fmt::Debug, secrets: &[&str], shown: &[&str]) {
    let debug = format!("{account:?}");
    for secret in secrets {
        assert!(!debug.contains(secret), "{debug}");
    }
    for shown in shown {
        assert!(debug.contains(shown), "{shown}: {debug}");
    }
}

/// A failed answer with `status` whose whole body is `body`, for the tests of a vendor's
/// errors.
#[cfg(test)]
pub(crate) fn test_failure(status: u16, body: impl Into<String>) -> crate::http::HttpFailure {
    crate::http::HttpFailure {
        status,
        headers: Default::default(),
        body: String::new(),
        full_body: body.into(),
    }
}

/// Asserts that `check` refuses each of `bad` before anything is sent: `invalid-input`.
#[cfg(test)]
pub(crate) fn assert_refused<S: AsRef<str>>(
    bad: impl IntoIterator<Item = S>,
    check: impl Fn(&str) -> Result<()>,
) {
    for bad in bad {
        let bad = bad.as_ref();
        let e = check(bad).expect_err(bad);
        assert_eq!(
            e.code(),
            crate::error::ErrorCode::InvalidInput,
            "{bad}: {e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::test_server as server;
    use super::*;
    use crate::error::{Error, ErrorCode};
    use std::sync::Mutex;

    fn accepted(action: PowerAction, status: Option<ServerStatus>) -> Accepted {
        Accepted {
            action,
            id: "i-0123456789abcdef0".into(),
            status,
            raw_state: status.map(|s| s.to_string()),
            operation: None,
        }
    }

    fn fast() -> PollSettings {
        PollSettings {
            interval: Duration::from_millis(5),
            timeout: Duration::from_millis(500),
        }
    }

    /// [`poll_until`] of `web-1`, its reads not observed.
    async fn poll<Fut: Future<Output = Result<Server>>>(
        accepted: Accepted,
        (settings, proof, cancel): (PollSettings, Proof, &CancellationToken),
        read: impl FnMut() -> Fut,
    ) -> Result<PowerOutcome> {
        poll_until("web-1", accepted, settings, proof, cancel, read, |_| {}).await
    }

    #[tokio::test]
    async fn polls_until_the_target_state_and_records_each_change_once() {
        let states = Mutex::new(vec![
            ServerStatus::Stopping,
            ServerStatus::Stopping,
            ServerStatus::Stopped,
        ]);
        let mut observed = 0;
        let outcome = poll_until(
            "web-1",
            accepted(PowerAction::Stop, Some(ServerStatus::Stopping)),
            fast(),
            Proof::watching(fast()),
            &CancellationToken::new(),
            || {
                let next = states.lock().unwrap().remove(0);
                async move { Ok(server(next)) }
            },
            |_| observed += 1,
        )
        .await
        .unwrap();
        assert_eq!(
            outcome.seen,
            vec![ServerStatus::Stopping, ServerStatus::Stopped]
        );
        assert_eq!(outcome.polls, 3);
        assert_eq!(observed, 3);
        assert_eq!(outcome.server.status, ServerStatus::Stopped);
        assert_eq!(
            outcome.evidence,
            Some(Evidence::StateReadBack {
                raw_state: "stopped".into()
            })
        );
    }

    /// A reboot of `states` read in turn (the last one for good), with `proof`.
    async fn reboot(states: &[ServerStatus], proof: Proof) -> PowerOutcome {
        let states = Mutex::new(states.to_vec());
        let cancel = CancellationToken::new();
        let read = || {
            let mut states = states.lock().unwrap();
            let next = if states.len() > 1 {
                states.remove(0)
            } else {
                states[0]
            };
            async move { Ok(server(next)) }
        };
        let reboot = accepted(PowerAction::Reboot, None);
        poll(reboot, (fast(), proof, &cancel), read).await.unwrap()
    }

    /// A server reads `running` before a reboot as after it: reading it `running` proves
    /// nothing. Watched for a sign that never comes, the reboot is unverified, and says why.
    #[tokio::test]
    async fn a_reboot_that_reads_running_throughout_is_unverified_after_the_watch() {
        let watch = Proof {
            watch: Duration::from_millis(60),
            ..Proof::default()
        };
        let outcome = reboot(&[ServerStatus::Running], watch).await;
        assert_eq!(outcome.evidence, None);
        assert!(outcome.polls > 2, "watched: {} reads", outcome.polls);
        assert!(outcome.elapsed_ms >= 40, "{}", outcome.elapsed_ms);
        let reason = outcome.unverified_reason().unwrap();
        assert!(reason.contains("no sign of the reboot"), "{reason}");
        assert!(
            reason.contains("server = \"prod/i-0123456789abcdef0\""),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn a_reboot_seen_out_of_running_is_verified_by_it() {
        let states = [
            ServerStatus::Running,
            ServerStatus::Stopping,
            ServerStatus::Pending,
            ServerStatus::Running,
        ];
        let outcome = reboot(&states, Proof::watching(fast())).await;
        assert_eq!(
            outcome.evidence,
            Some(Evidence::LeftRunning {
                raw_state: "stopping".into()
            })
        );
        assert_eq!(outcome.polls, 4, "done at the first running read after it");
        assert!(outcome.unverified_reason().is_none());
    }

    #[tokio::test]
    async fn a_reboot_whose_operation_proves_it_is_done_at_the_first_running_read() {
        let proof = Proof {
            operation: Some("action 13".into()),
            ..Proof::watching(fast())
        };
        let outcome = reboot(&[ServerStatus::Running], proof).await;
        assert_eq!(
            outcome.evidence,
            Some(Evidence::OperationCompleted {
                operation: "action 13".into()
            })
        );
        assert_eq!(outcome.polls, 1);
    }

    /// A launch time later than the one listed before is a new boot; one a second off (an
    /// uptime read at another moment) is not.
    #[test]
    fn a_launch_time_that_moved_is_a_new_boot() {
        let mut after = server(ServerStatus::Running);
        after.launched_at_ms = Some(1_700_000_600_000);
        let proof = |before_ms: i64| Proof {
            launched_before_ms: Some(before_ms),
            ..Proof::default()
        };
        assert_eq!(
            proof(1_700_000_000_000).evidence(PowerAction::Reboot, None, &after),
            Some(Evidence::Relaunched {
                before_ms: 1_700_000_000_000,
                after_ms: 1_700_000_600_000
            })
        );
        assert_eq!(
            proof(1_700_000_599_000).evidence(PowerAction::HardReboot, None, &after),
            None
        );
        assert_eq!(
            Proof::default().evidence(PowerAction::Reboot, None, &after),
            None
        );
    }

    #[tokio::test]
    async fn a_server_that_never_gets_there_times_out_naming_its_state() {
        let settings = PollSettings {
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(100),
        };
        let start = accepted(PowerAction::Start, Some(ServerStatus::Pending));
        let cancel = CancellationToken::new();
        let read = || async { Ok(server(ServerStatus::Pending)) };
        let e = poll(start, (settings, Proof::default(), &cancel), read)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout);
        let text = e.to_string();
        assert!(
            text.contains("still pending") && text.contains("running"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn cancelling_ends_the_wait() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let read = || async { Ok(server(ServerStatus::Pending)) };
        let reboot = accepted(PowerAction::Reboot, None);
        let watching = (fast(), Proof::watching(fast()), &cancel);
        let e = poll(reboot, watching, read).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Cancelled);
    }

    #[tokio::test]
    async fn a_failed_read_ends_the_wait_with_its_error() {
        let cancel = CancellationToken::new();
        let read = || async { Err(Error::other("describe failed")) };
        let stop = accepted(PowerAction::Stop, None);
        let e = poll(stop, (fast(), Proof::default(), &cancel), read)
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "describe failed");
    }

    #[test]
    fn every_action_has_a_target_state() {
        assert_eq!(PowerAction::Stop.target(), ServerStatus::Stopped);
        assert_eq!(PowerAction::Start.target(), ServerStatus::Running);
        assert_eq!(PowerAction::Reboot.target(), ServerStatus::Running);
    }
}
