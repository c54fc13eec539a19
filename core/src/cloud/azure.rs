//! Azure virtual machines, through Azure Resource Manager (Microsoft.Compute, api-version
//! 2024-03-01), as an app registration (service principal) with a client secret.
//!
//! Calls (https://learn.microsoft.com/en-us/rest/api/compute/virtual-machines):
//! - the token: `POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` with the
//!   form `client_id`, `client_secret`, `grant_type=client_credentials`,
//!   `scope=https://management.azure.com/.default` → `{access_token, expires_in}`, then
//!   `Authorization: Bearer …`
//!   (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow);
//!   kept until a minute before it expires, dropped when ARM answers 401;
//! - `GET /subscriptions/{s}/providers/Microsoft.Compute/virtualMachines?statusOnly=true`
//!   (Virtual Machines - List All) → `{value, nextLink}`, each VM with its
//!   `properties.instanceView.statuses[].code` (`PowerState/running`…); `nextLink` followed
//!   (on the same host only: it gets the token);
//! - `GET {vm id}?$expand=instanceView` (Virtual Machines - Get);
//! - `POST {vm id}/restart`, `/deallocate`, `/start` (Virtual Machines - Restart, Deallocate,
//!   Start) → 200, or 202 with `Azure-AsyncOperation` (else `Location`) and `Retry-After`;
//!   sent once;
//! - the operation, polled as its `Retry-After` asks until `status` is `Succeeded`, `Failed`
//!   or `Canceled` (a `Location` URL answers 202 until done)
//!   (https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/async-operations);
//! - errors `{"error":{"code","message"}}`
//!   (https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/common-deployment-errors);
//!   an `AuthorizationFailed` message names the action (`Microsoft.Compute/virtualMachines/
//!   restart/action`).
//!
//! A VM is named by its full resource id (`/subscriptions/…/resourceGroups/…/providers/
//! Microsoft.Compute/virtualMachines/web-1`), which is what the API's paths take; its
//! location is the region. Listing does not read network interfaces (separate resources), so
//! servers carry no addresses.
//!
//! Azure has no hard reset of a VM: [`PowerAction::HardReboot`] is refused. Stop is a
//! deallocation: a VM that is only powered off (`powerOff`, state `stopped`) still bills its
//! compute hours; `deallocate` releases the hardware (and a dynamic public IP).

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::path_segment as segment;
use crate::http::{
    HttpAuth, HttpFailure, Limits, Request, Response, Retry, Service, oauth, retry_after,
};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// Azure Resource Manager's root.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com/";
/// Microsoft Entra ID's token service.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com/";
/// The Microsoft.Compute API version every request names.
pub const API_VERSION: &str = "2024-03-01";
const SCOPE: &str = "https://management.azure.com/.default";
/// Pages of a subscription paaf reads at most (a runaway `nextLink` loop ends there).
const MAX_PAGES: u32 = 1000;

/// One Azure subscription's virtual machines.
pub struct Azure {
    name: String,
    tenant_id: String,
    client_id: String,
    client_secret: SecretString,
    subscription_id: String,
    /// Listed locations; empty: all.
    locations: Vec<String>,
    login: Service,
    base: reqwest::Url,
    limits: Limits,
    session: tokio::sync::Mutex<Option<Session>>,
}

/// The ARM service carrying the current access token, and when to fetch another.
struct Session {
    api: Service,
    refresh_at: Instant,
}

impl fmt::Debug for Azure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Azure")
            .field("name", &self.name)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("subscription_id", &self.subscription_id)
            .field("locations", &self.locations)
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl CloudAccount for Azure {
    fn provider(&self) -> &'static str {
        "azure"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Azure::list(self))
    }

    /// `region` is not needed: the id names the VM whole.
    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.get(id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Azure::power(self, id, action))
    }

    fn settle<'a>(
        &'a self,
        _region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Azure::settle(self, accepted, settings, cancel))
    }
}

/// What a call is about, for its errors.
#[derive(Clone, Copy)]
struct Call<'a> {
    /// The VM's name, when the call is about one.
    vm: Option<&'a str>,
    /// The RBAC action it needs (`Microsoft.Compute/virtualMachines/restart/action`).
    action: &'static str,
    retry: Retry,
}

/// The keys of an `azure` `[[clouds]]` entry: an app registration and a subscription.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// The Entra ID tenant of the app registration (`tenant_id`).
    pub tenant_id: String,
    /// The app's client id (`client_id`).
    pub client_id: String,
    /// The app's client secret (`client_secret`).
    pub client_secret: SecretRef,
    /// The subscription whose VMs are listed (`subscription_id`).
    pub subscription_id: String,
    /// The locations listed (`regions`); empty: all.
    pub locations: Vec<String>,
    /// Another ARM URL than [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
}

impl AccountConfig for AzureConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<AzureConfig> {
        let endpoint = entry.endpoint()?;
        let client_secret = entry.secret(Key::ClientSecret)?;
        let keys = (entry.text(Key::TenantId), entry.text(Key::ClientId));
        let ((tenant_id, client_id), (client_secret, subscription_id)) = entry.needs(
            keys.0
                .zip(keys.1)
                .zip(client_secret.zip(entry.text(Key::SubscriptionId))),
            (
                "an app registration and a subscription",
                "tenant_id, client_id, client_secret = \"keyring:NAME\" and subscription_id",
            ),
        )?;
        Ok(AzureConfig {
            tenant_id,
            client_id,
            client_secret,
            subscription_id,
            locations: entry.regions(),
            endpoint,
        })
    }
}

impl Azure {
    /// The account of an `azure` `[[clouds]]` entry, at `endpoint` when one is configured;
    /// `regions`, when set, are the locations listed.
    pub fn from_config(
        config: &CloudConfig,
        azure: &AzureConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Azure> {
        Azure::connect(
            &config.name,
            azure.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
            DEFAULT_LOGIN_URL,
            &azure.tenant_id,
            &azure.client_id,
            azure.client_secret.resolve(secrets)?,
            &azure.subscription_id,
            &azure.locations,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name`: the VMs of `subscription_id` (in `locations`, or all), through ARM
    /// at `base_url` ([`DEFAULT_ENDPOINT`]), with tokens from `login_url`
    /// ([`DEFAULT_LOGIN_URL`]) for the app `client_id` of `tenant_id`.
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        name: &str,
        base_url: &str,
        login_url: &str,
        tenant_id: &str,
        client_id: &str,
        client_secret: SecretString,
        subscription_id: &str,
        locations: &[String],
        limits: Limits,
    ) -> Result<Azure> {
        let service_name = format!("azure \"{name}\"");
        let plain = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.len() <= 100
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        if !plain(tenant_id, b"-.") {
            return Err(Error::invalid(format!(
                "{service_name}: `{tenant_id}` is not a tenant id (a GUID, or a domain like contoso.onmicrosoft.com: Entra ID → Overview)"
            )));
        }
        if !plain(client_id, b"-") {
            return Err(Error::invalid(format!(
                "{service_name}: `{client_id}` is not a client id (the app registration's Application (client) ID, a GUID)"
            )));
        }
        if !plain(subscription_id, b"-") {
            return Err(Error::invalid(format!(
                "{service_name}: `{subscription_id}` is not a subscription id (a GUID: Subscriptions → Subscription ID)"
            )));
        }
        if client_secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: the client secret is empty; store the secret's Value (not its ID) from App registrations → Certificates & secrets"
            )));
        }
        let login = Service::new(
            &format!("{service_name} login"),
            login_url,
            HttpAuth::None,
            limits.clone(),
        )?;
        // Checked now so a bad URL is a config error, not a failure at 3 a.m.
        let api = Service::new(&service_name, base_url, HttpAuth::None, limits.clone())?;
        let base = reqwest::Url::parse(api.base_url())
            .map_err(|e| Error::invalid(format!("{service_name}: `{base_url}`: {e}")))?;
        Ok(Azure {
            name: name.to_string(),
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            subscription_id: subscription_id.to_string(),
            locations: locations.to_vec(),
            login,
            base,
            limits,
            session: tokio::sync::Mutex::new(None),
        })
    }

    fn service_name(&self) -> String {
        format!("azure \"{}\"", self.name)
    }

    /// Every VM of the subscription (every page), in the configured locations if any; a
    /// failure is one error row for the whole account. Sorted by location, then name.
    pub async fn list(&self) -> Inventory {
        let mut inventory = Inventory::default();
        match self.list_all().await {
            Ok(servers) => inventory.servers = servers,
            Err(e) => inventory.errors.push(InventoryError {
                provider: "azure".into(),
                account: self.name.clone(),
                region: None,
                error: ErrorInfo::from(&e),
            }),
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    async fn list_all(&self) -> Result<Vec<Server>> {
        let call = Call {
            vm: None,
            action: "Microsoft.Compute/virtualMachines/read",
            retry: Retry::Idempotent,
        };
        let mut request = Request::get(format!(
            "subscriptions/{}/providers/Microsoft.Compute/virtualMachines",
            segment(&self.subscription_id)
        ))
        .query("api-version", API_VERSION)
        .query("statusOnly", "true");
        let mut servers = Vec::new();
        let mut seen_links: Vec<String> = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: VmList = self.decode(&self.call(request, call).await?)?;
            servers.extend(
                page.value
                    .into_iter()
                    .filter(|vm| {
                        self.locations.is_empty()
                            || self
                                .locations
                                .iter()
                                .any(|l| l.eq_ignore_ascii_case(&vm.location))
                    })
                    .map(|vm| self.server_of(vm)),
            );
            let Some(next) = page.next_link.filter(|l| !l.is_empty()) else {
                return Ok(servers);
            };
            if seen_links.contains(&next) {
                return Err(Error::MalformedResponse {
                    what: self.service_name(),
                    reason: "Virtual Machines - List All returned the same nextLink twice".into(),
                });
            }
            request = Request::get(self.same_host(&next, "nextLink")?);
            seen_links.push(next);
        }
        Err(Error::MalformedResponse {
            what: self.service_name(),
            reason: format!("Virtual Machines - List All kept paging past {MAX_PAGES} pages"),
        })
    }

    /// The VM `id` (its full resource id), read now.
    pub async fn get(&self, id: &str) -> Result<Server> {
        let vm_name = self.check_vm_id(id)?;
        let call = Call {
            vm: Some(vm_name),
            action: "Microsoft.Compute/virtualMachines/read",
            retry: Retry::Idempotent,
        };
        let request = Request::get(id.to_string())
            .query("api-version", API_VERSION)
            .query("$expand", "instanceView");
        let vm: Vm = self.decode(&self.call(request, call).await?)?;
        Ok(self.server_of(vm))
    }

    /// Sends `action` for the VM `id` once and returns ARM's acceptance, with the URL of its
    /// asynchronous operation when it answered 202. A failure after the request may have
    /// reached Azure is `outcome-unknown`.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        let (verb, rbac) = match action {
            PowerAction::Reboot => (
                "restart",
                "Microsoft.Compute/virtualMachines/restart/action",
            ),
            PowerAction::Start => ("start", "Microsoft.Compute/virtualMachines/start/action"),
            PowerAction::Stop => (
                "deallocate",
                "Microsoft.Compute/virtualMachines/deallocate/action",
            ),
            PowerAction::HardReboot => {
                return Err(Error::invalid(format!(
                    "Azure has no hard reset of a VM ({id}): use reboot (a restart through the OS), or stop then start (which also moves it to other hardware)"
                )));
            }
        };
        let vm_name = self.check_vm_id(id)?;
        let call = Call {
            vm: Some(vm_name),
            action: rbac,
            retry: Retry::NotIdempotent,
        };
        let request = Request::post(format!("{id}/{verb}"), Retry::NotIdempotent)
            .query("api-version", API_VERSION)
            // ARM answers 411 to a POST without a length, and the client sends none for an
            // empty body.
            .header("content-length", "0");
        let response = self.call(request, call).await?;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        // A 200 is done already; a 202 names its operation (a 202 without one is followed
        // through the VM's state alone).
        let operation = header("azure-asyncoperation").or_else(|| header("location"));
        tracing::info!(account = %self.name, vm = vm_name, action = action.as_str(), "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation,
        })
    }

    /// Polls the operation of `accepted` (as often as its `Retry-After` allows, at most every
    /// `settings.interval`) until it ends; `Failed` or `Canceled` is an error naming the VM.
    pub async fn settle(
        &self,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(url) = &accepted.operation else {
            return Ok(());
        };
        let vm_name = self.check_vm_id(&accepted.id)?;
        let path = self.same_host(url, "the operation URL")?;
        let what = || {
            format!(
                "waiting for the {} of {vm_name} ({})",
                accepted.action.as_str(),
                self.service_name()
            )
        };
        let call = Call {
            vm: Some(vm_name),
            action: "Microsoft.Compute/locations/operations/read",
            retry: Retry::Idempotent,
        };
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled { what: what() });
            }
            let response = tokio::select! {
                r = self.call(Request::get(path.clone()), call) => r?,
                _ = cancel.cancelled() => return Err(Error::Cancelled { what: what() }),
            };
            // A Location URL answers 202 until the operation is done, then 200 (or 204).
            let state = if response.status == 202 {
                "InProgress".to_string()
            } else if response.body.iter().all(u8::is_ascii_whitespace) {
                "Succeeded".to_string()
            } else {
                let status: OperationStatus = self.decode(&response)?;
                match status.status {
                    Some(s) => {
                        if matches!(s.as_str(), "Failed" | "Canceled") {
                            return Err(self.failed_operation(accepted, vm_name, &s, status.error));
                        }
                        s
                    }
                    // A Location URL's final answer is the resource, without a status.
                    None => "Succeeded".to_string(),
                }
            };
            if state == "Succeeded" {
                return Ok(());
            }
            let wait = retry_after(&response.headers)
                .unwrap_or_default()
                .max(settings.interval);
            if started.elapsed() + wait > settings.timeout {
                return Err(Error::Timeout {
                    host: format!(
                        "{vm_name} ({}: its {} is still {state})",
                        self.service_name(),
                        accepted.action.as_str()
                    ),
                    phase: match accepted.action.target() {
                        ServerStatus::Stopped => Phase::Shutdown,
                        _ => Phase::Boot,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    fn failed_operation(
        &self,
        accepted: &Accepted,
        vm_name: &str,
        status: &str,
        error: Option<ArmError>,
    ) -> Error {
        let (code, message) = error
            .map(|e| (e.code.unwrap_or_default(), e.message.unwrap_or_default()))
            .unwrap_or_default();
        let kind = match (status, code.as_str()) {
            (_, "AuthorizationFailed") => ErrorCode::PermissionDenied,
            (_, "ResourceNotFound") => ErrorCode::NotFound,
            ("Canceled", _) | (_, "OperationNotAllowed" | "Conflict" | "OperationPreempted") => {
                ErrorCode::Conflict
            }
            _ => ErrorCode::ServiceFailed,
        };
        let message: String = message.chars().take(300).collect();
        Error::Service {
            service: self.service_name(),
            code: kind,
            status: 200,
            message: format!(
                "the {} of VM {vm_name} ended {status}: {code}: {message}",
                accepted.action.as_str()
            ),
        }
    }

    /// The path of an absolute URL ARM handed out (`nextLink`, an operation), refused unless
    /// it is on ARM's own host: the request carries the token.
    fn same_host(&self, url: &str, what: &str) -> Result<String> {
        let parsed = reqwest::Url::parse(url).map_err(|_| Error::MalformedResponse {
            what: self.service_name(),
            reason: format!("{what} `{url}` is not a URL"),
        })?;
        if parsed.origin() != self.base.origin() {
            return Err(Error::MalformedResponse {
                what: self.service_name(),
                reason: format!(
                    "{what} points at {} instead of {}; paaf sends its token to the configured endpoint only",
                    parsed.origin().ascii_serialization(),
                    self.base.origin().ascii_serialization()
                ),
            });
        }
        Ok(url.to_string())
    }

    /// The VM's name, when `id` is the resource id of a VM of this subscription; refused
    /// before anything is sent otherwise.
    fn check_vm_id<'a>(&self, id: &'a str) -> Result<&'a str> {
        let parts: Vec<&str> = id.split('/').collect();
        let fixed =
            |i: usize, word: &str| parts.get(i).is_some_and(|p| p.eq_ignore_ascii_case(word));
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.()".contains(&b))
        };
        let valid = parts.len() == 9
            && parts[0].is_empty()
            && fixed(1, "subscriptions")
            && parts[2].eq_ignore_ascii_case(&self.subscription_id)
            && fixed(3, "resourceGroups")
            && name_ok(parts[4])
            && fixed(5, "providers")
            && fixed(6, "Microsoft.Compute")
            && fixed(7, "virtualMachines")
            && name_ok(parts[8]);
        if valid {
            Ok(parts[8])
        } else {
            Err(Error::invalid(format!(
                "`{id}` is not the resource id of a VM of subscription {} (like /subscriptions/{}/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/web-1; `paaf server list` lists them)",
                self.subscription_id, self.subscription_id
            )))
        }
    }

    /// The ARM service with a valid token, fetching one when there is none or it is about to
    /// expire.
    async fn api(&self) -> Result<Service> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref()
            && Instant::now() < s.refresh_at
        {
            return Ok(s.api.clone());
        }
        let (token, expires_in) = self.fetch_token().await?;
        let api = Service::new(
            &self.service_name(),
            self.base.as_str(),
            HttpAuth::Bearer(token),
            self.limits.clone(),
        )?;
        *session = Some(Session {
            api: api.clone(),
            refresh_at: oauth::refresh_at(expires_in),
        });
        Ok(api)
    }

    async fn fetch_token(&self) -> Result<(SecretString, Duration)> {
        // Asking for a token twice is harmless: retried like a read.
        let request = Request::form(
            format!("{}/oauth2/v2.0/token", segment(&self.tenant_id)),
            &[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("grant_type", "client_credentials"),
                ("scope", SCOPE),
            ],
            Retry::Idempotent,
        );
        let response = match self.login.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => return Err(self.token_failure(&failure)),
        };
        oauth::access_token(&response, self.login.name(), || {
            "it returned an empty access_token".into()
        })
    }

    fn token_failure(&self, failure: &HttpFailure) -> Error {
        if !matches!(failure.status, 400 | 401 | 403) {
            return self.login.status_error(failure);
        }
        let said = oauth::error_said(&failure.full_body).unwrap_or_else(|| failure.body.clone());
        // Entra ID's description runs on with trace and correlation ids: its first line says it.
        let said: String = self
            .redact(said.lines().next().unwrap_or_default())
            .chars()
            .take(300)
            .collect();
        Error::Service {
            service: self.login.name().to_string(),
            code: ErrorCode::AuthFailed,
            status: failure.status,
            message: format!(
                "Microsoft Entra ID refused the app {} of tenant {} (HTTP {}: {said}); check tenant_id, client_id and the client secret (App registrations → Certificates & secrets: a secret expires; store its Value, not its ID)",
                self.client_id, self.tenant_id, failure.status
            ),
        }
    }

    /// One call with the current token; a failed status becomes its typed error.
    async fn call(&self, request: Request, call: Call<'_>) -> Result<Response> {
        let api = self.api().await?;
        match api.send_raw(request).await? {
            Ok(response) => Ok(response),
            Err(failure) => {
                if failure.status == 401 {
                    // The token was revoked or expired early: the next call fetches another.
                    *self.session.lock().await = None;
                }
                Err(self.failure(&api, &failure, call))
            }
        }
    }

    fn failure(&self, api: &Service, failure: &HttpFailure, call: Call<'_>) -> Error {
        let error = failure.json::<ErrorBody>().map(|b| b.error);
        let code = error
            .as_ref()
            .and_then(|e| e.code.clone())
            .unwrap_or_default();
        let message: String = self
            .redact(
                &error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| failure.body.clone()),
            )
            .chars()
            .take(400)
            .collect();
        let service = self.service_name();
        let (kind, hint) = match failure.status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "ARM refused the token of app {}: check that the app registration still exists in tenant {} and that its secret has not expired",
                    self.client_id, self.tenant_id
                ),
            ),
            403 => {
                let action = action_in(&message).unwrap_or_else(|| call.action.to_string());
                (
                    ErrorCode::PermissionDenied,
                    format!(
                        "the app {} is not allowed {action}: give it a role that has it (e.g. Virtual Machine Contributor) on the VM, its resource group or subscription {} (a new role assignment takes a few minutes)",
                        self.client_id, self.subscription_id
                    ),
                )
            }
            404 => match call.vm {
                Some(vm) if code != "SubscriptionNotFound" => {
                    return Error::NotFound {
                        what: "Azure VM",
                        name: vm.to_string(),
                        hint: Some(format!(
                            "{code}: {message} ({service}): check the VM's resource id"
                        )),
                    };
                }
                _ => (
                    ErrorCode::NotFound,
                    format!(
                        "check subscription_id ({}) and that the app has access to it",
                        self.subscription_id
                    ),
                ),
            },
            409 | 412 => (
                ErrorCode::Conflict,
                "another operation on the VM is in progress, or its state does not allow this: look at its state and try again".into(),
            ),
            429 => (
                ErrorCode::RateLimited,
                "Azure Resource Manager limits the request rate of this subscription: wait and try again".into(),
            ),
            s if s >= 500 && call.retry == Retry::NotIdempotent => {
                return Error::OutcomeUnknown {
                    what: format!(
                        "{} of VM {} ({service})",
                        call.action
                            .trim_start_matches("Microsoft.Compute/virtualMachines/")
                            .trim_end_matches("/action"),
                        call.vm.unwrap_or("?")
                    ),
                    reason: format!("HTTP {}: {code}: {message}", failure.status),
                };
            }
            _ => return api.status_error(failure),
        };
        let subject = match call.vm {
            Some(vm) => format!("VM {vm}: "),
            None => String::new(),
        };
        Error::Service {
            service,
            code: kind,
            status: failure.status,
            message: format!("{subject}HTTP {} {code}: {message}; {hint}", failure.status),
        }
    }

    /// Removes the client secret wherever `text` echoes it.
    fn redact(&self, text: &str) -> String {
        let secret = self.client_secret.expose_secret();
        if secret.is_empty() {
            text.to_string()
        } else {
            text.replace(secret, "[redacted]")
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(&self, response: &Response) -> Result<T> {
        response.json(&self.service_name())
    }

    fn server_of(&self, vm: Vm) -> Server {
        let properties = vm.properties.unwrap_or_default();
        let power = properties
            .instance_view
            .unwrap_or_default()
            .statuses
            .into_iter()
            .find_map(|s| s.code.strip_prefix("PowerState/").map(str::to_string));
        let raw_state = power.unwrap_or_else(|| "unknown".to_string());
        let launched_at_ms = properties
            .time_created
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        Server {
            provider: "azure".into(),
            account: self.name.clone(),
            region: vm.location,
            id: vm.id,
            name: Some(vm.name),
            status: normalize(&raw_state),
            raw_state,
            public_ips: Vec::new(),
            private_ips: Vec::new(),
            tags: vm.tags.unwrap_or_default(),
            launched_at_ms,
        }
    }
}

/// A VM's `PowerState/…` (the part after the slash) as a normalized status.
pub fn normalize(power_state: &str) -> ServerStatus {
    match power_state {
        "running" => ServerStatus::Running,
        // `stopped` is powered off but still allocated (and billed); `deallocated` is not.
        "stopped" | "deallocated" => ServerStatus::Stopped,
        "starting" => ServerStatus::Pending,
        "stopping" | "deallocating" => ServerStatus::Stopping,
        _ => ServerStatus::Unknown,
    }
}

/// The action an `AuthorizationFailed` message names (`… perform action 'X' over scope …`).
fn action_in(message: &str) -> Option<String> {
    let rest = &message[message.find("action '")? + "action '".len()..];
    let action = &rest[..rest.find('\'')?];
    (!action.is_empty()).then(|| action.to_string())
}

// ---- ARM's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VmList {
    #[serde(default)]
    value: Vec<Vm>,
    #[serde(default)]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Vm {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: Option<VmProperties>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VmProperties {
    #[serde(default)]
    instance_view: Option<InstanceView>,
    #[serde(default)]
    time_created: Option<String>,
}

#[derive(Deserialize, Default)]
struct InstanceView {
    #[serde(default)]
    statuses: Vec<InstanceStatus>,
}

#[derive(Deserialize)]
struct InstanceStatus {
    code: String,
}

#[derive(Deserialize)]
struct OperationStatus {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<ArmError>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ArmError,
}

#[derive(Deserialize)]
struct ArmError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Xy8Q~s3cr3tValue.0123456789abcdefghijklmn";
    const SUB: &str = "00000000-1111-2222-3333-444444444444";

    fn azure() -> Azure {
        Azure::connect(
            "prod",
            DEFAULT_ENDPOINT,
            DEFAULT_LOGIN_URL,
            "contoso.onmicrosoft.com",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            SecretString::from(SECRET),
            SUB,
            &[],
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_power_state_is_normalized() {
        // https://learn.microsoft.com/en-us/azure/virtual-machines/states-billing
        for (raw, status) in [
            ("starting", ServerStatus::Pending),
            ("running", ServerStatus::Running),
            ("stopping", ServerStatus::Stopping),
            ("stopped", ServerStatus::Stopped),
            ("deallocating", ServerStatus::Stopping),
            ("deallocated", ServerStatus::Stopped),
            ("unknown", ServerStatus::Unknown),
            ("hibernated", ServerStatus::Unknown),
        ] {
            assert_eq!(normalize(raw), status, "{raw}");
        }
    }

    #[test]
    fn the_client_secret_appears_neither_in_debug_nor_in_echoed_errors() {
        let a = azure();
        let debug = format!("{a:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(
            debug.contains("aaaaaaaa-bbbb") && debug.contains(SUB),
            "{debug}"
        );
        assert_eq!(a.redact(&format!("got {SECRET}")), "got [redacted]");
    }

    #[test]
    fn only_a_vm_of_this_subscription_is_accepted() {
        let a = azure();
        let id = format!(
            "/subscriptions/{SUB}/resourceGroups/rg-web_1.(eu)/providers/Microsoft.Compute/virtualMachines/web-1"
        );
        assert_eq!(a.check_vm_id(&id).unwrap(), "web-1");
        let lower = id
            .replace("resourceGroups", "resourcegroups")
            .replace("Microsoft.Compute", "microsoft.compute");
        assert_eq!(a.check_vm_id(&lower).unwrap(), "web-1");
        for bad in [
            "web-1".to_string(),
            id.replace(SUB, "99999999-1111-2222-3333-444444444444"),
            format!("{id}/restart"),
            id.replace("web-1", "web-1?x=1"),
            id.replace("virtualMachines", "disks"),
            id.replace("/web-1", "/"),
        ] {
            assert_eq!(
                a.check_vm_id(&bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn an_authorization_failure_names_its_action() {
        let m = "The client 'aaaaaaaa' with object id 'bbbb' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/restart/action' over scope '/subscriptions/x' or the scope is invalid.";
        assert_eq!(
            action_in(m).as_deref(),
            Some("Microsoft.Compute/virtualMachines/restart/action")
        );
        assert_eq!(action_in("Forbidden"), None);
    }

    #[test]
    fn bad_settings_are_refused_before_anything_is_sent() {
        let connect = |tenant: &str, sub: &str, secret: &str| {
            Azure::connect(
                "prod",
                DEFAULT_ENDPOINT,
                DEFAULT_LOGIN_URL,
                tenant,
                "client",
                SecretString::from(secret),
                sub,
                &[],
                Limits::default(),
            )
        };
        for e in [
            connect("contoso/../x", SUB, SECRET).unwrap_err(),
            connect("contoso", "sub/x", SECRET).unwrap_err(),
            connect("contoso", SUB, " ").unwrap_err(),
        ] {
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
            assert!(!e.to_string().contains(SECRET), "{e}");
        }
    }
}
