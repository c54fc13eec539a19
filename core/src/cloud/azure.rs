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

use super::prelude::*;
use crate::http::oauth::{ClientCredentials, TokenApi};
use crate::http::path_segment as segment;

/// Azure Resource Manager's root.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com/";
/// Microsoft Entra ID's token service.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com/";
/// The Microsoft.Compute API version every request names.
pub const API_VERSION: &str = "2024-03-01";
const SCOPE: &str = "https://management.azure.com/.default";

/// One Azure subscription's virtual machines: the app's client secret lives in the
/// `TokenApi`'s grant, which `Debug` never shows.
#[derive(Debug)]
pub struct Azure {
    name: String,
    subscription_id: String,
    /// Listed locations; empty: all.
    locations: Vec<String>,
    api: TokenApi,
}

impl CloudProvider for Azure {
    kind_and_name!(CloudKind::Azure);

    /// Every VM of the subscription (every page), in the configured locations if any; a
    /// failure is one error row for the whole account. Sorted by location, then name.
    async fn list(&self) -> Inventory {
        let listed = all_pages_past_empty(self.api.name(), String::new(), |l| self.page(l)).await;
        let listed = listed.map(|mut servers| {
            let configured = |l: &String| self.locations.iter().any(|c| c.eq_ignore_ascii_case(l));
            servers.retain(|s| self.locations.is_empty() || configured(&s.region));
            servers
        });
        Inventory::of_account(Self::KIND, &self.name, &[], listed)
    }

    /// The VM `id` (its full resource id: `region` is not needed), read now.
    async fn read(&self, _region: &str, id: &str) -> Result<Server> {
        let vm_name = self.check_vm_id(id)?;
        let doing = self.about(id, format!("reading VM {vm_name}"), "read");
        let request = Request::get(id.to_string())
            .query("api-version", API_VERSION)
            .query("$expand", "instanceView");
        let vm: Vm = self.api.fetch_json(request, &doing).await?;
        Ok(self.server_of(vm))
    }

    /// Sends `action` for the VM `id` once and returns ARM's acceptance, with the URL of its
    /// asynchronous operation when it answered 202. A failure after the request may have
    /// reached Azure is `outcome-unknown`.
    async fn power(&self, _region: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let verb = action.word(["restart", "", "deallocate", "start"], || format!("Azure has no hard reset of a VM ({id}): use reboot (a restart through the OS), or stop then start (which also moves it to other hardware)"))?;
        let vm_name = self.check_vm_id(id)?;
        let doing = self.about(
            id,
            format!("{verb} of VM {vm_name}"),
            &format!("{verb}/action"),
        );
        let request = Request::post(format!("{id}/{verb}"), Retry::NotIdempotent)
            .query("api-version", API_VERSION)
            // ARM answers 411 to a POST without a length, and the client sends none for an
            // empty body.
            .header("content-length", "0");
        let response = self.api.fetch(request, &doing).await?;
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
        Ok(Accepted::without_state(action, id, operation))
    }

    /// Polls the operation of `accepted` (as often as its `Retry-After` allows, at most every
    /// `settings.interval`) until it ends; `Failed` or `Canceled` is an error naming the VM.
    async fn settle(&self, _region: &str, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        let Some(url) = &accepted.operation else {
            return Ok(());
        };
        let vm_name = self.check_vm_id(&accepted.id)?;
        let path = self.same_host(url, "the operation URL")?;
        let label = format!(
            "the {} of VM {vm_name} ({})",
            accepted.action.as_str(),
            self.api.name()
        );
        let doing = Doing::new(format!("reading {label}"))
            .needs("Microsoft.Compute/locations/operations/read");
        let follow = wait.follow(label.as_str(), accepted.action.phase());
        let judge = |response: Response, wait| {
            // A Location URL answers 202 until the operation is done, then 200 (or 204) with
            // the resource, which has no status.
            if response.status == 202 {
                return Ok(Polled::pending((), "still InProgress", wait));
            }
            let ended = OperationStatus::default();
            let ended = match response.body.iter().all(u8::is_ascii_whitespace) {
                true => ended,
                false => response.json(self.api.name())?,
            };
            Ok(match ended.status.as_deref() {
                None | Some("Succeeded") => Polled::Done(()),
                Some(s @ ("Failed" | "Canceled")) => {
                    return Err(self.failed_operation(accepted, vm_name, s, ended.error));
                }
                Some(s) => Polled::pending((), format!("still {s}"), wait),
            })
        };
        follow_answers(&self.api, &path, &doing, &follow, judge).await
    }

    /// A `restart` operation has `Succeeded` once the VM restarted.
    fn operation_proves(&self, action: PowerAction) -> bool {
        action == PowerAction::Reboot
    }
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
    /// Another Microsoft Entra ID URL than [`DEFAULT_LOGIN_URL`]: no `[[clouds]]` key sets
    /// it (a test server's).
    pub login_url: Option<String>,
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
            login_url: None,
        })
    }
}

impl FromConfig for Azure {
    type Keys = AzureConfig;

    /// The account `name`: the VMs of its `subscription_id` (in its `locations`, or all),
    /// through ARM at its `endpoint` ([`DEFAULT_ENDPOINT`]), with tokens from its
    /// `login_url` ([`DEFAULT_LOGIN_URL`]) for the app `client_id` of `tenant_id`.
    fn connect(
        name: &str,
        azure: &AzureConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Azure> {
        let client_secret = azure.client_secret.resolve(secrets)?;
        let (tenant_id, client_id) = (azure.tenant_id.as_str(), azure.client_id.as_str());
        let subscription_id = azure.subscription_id.as_str();
        let base_url = azure.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let login_url = azure.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL);
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
        let refused = format!(
            "Microsoft Entra ID refused the app {client_id} of tenant {tenant_id}: check tenant_id, client_id and the client secret (App registrations → Certificates & secrets: a secret expires; store its Value, not its ID)"
        );
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            login_url.trim_end_matches('/'),
            segment(tenant_id)
        );
        let errors = AzureErrors {
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            subscription_id: subscription_id.to_string(),
        };
        let api = Service::new(&service_name, base_url, HttpAuth::None, limits.clone())?
            .with_vendor(errors);
        let grant = ClientCredentials {
            client_id: client_id.to_string(),
            client_secret,
            scope: SCOPE,
        };
        Ok(Azure {
            name: name.to_string(),
            subscription_id: subscription_id.to_string(),
            locations: azure.locations.clone(),
            api: TokenApi::new(api, &token_url, grant, refused, limits)?,
        })
    }
}

impl Azure {
    /// The page of the subscription's VMs at `link` (the first: empty), the next one named by
    /// `nextLink`, followed on ARM's own host only (the request carries the token).
    async fn page(&self, link: String) -> Result<Page<String>> {
        let request = match link.as_str() {
            "" => Request::get(format!(
                "subscriptions/{}/providers/Microsoft.Compute/virtualMachines",
                segment(&self.subscription_id)
            ))
            .query("api-version", API_VERSION)
            .query("statusOnly", "true"),
            link => Request::get(self.same_host(link, "nextLink")?),
        };
        let doing = Doing::new("listing the VMs").needs("Microsoft.Compute/virtualMachines/read");
        let page: VmList = self.api.fetch_json(request, &doing).await?;
        Ok(Page {
            servers: page
                .value
                .into_iter()
                .map(|vm| self.server_of(vm))
                .collect(),
            next: page.next_link.filter(|l| !l.is_empty()),
        })
    }

    /// A request about the VM `id` that is `doing` something and needs the RBAC action
    /// `Microsoft.Compute/virtualMachines/{action}`: a 404 means there is no such VM.
    fn about(&self, id: &str, doing: String, action: &str) -> Doing {
        let hint = format!(
            "not in subscription {} of azure account \"{}\": check the VM's resource id (`paaf server list` lists them), and that the app has access to the subscription",
            self.subscription_id, self.name
        );
        Doing::new(doing)
            .needs(format!("Microsoft.Compute/virtualMachines/{action}"))
            .missing("Azure VM", id, hint)
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
            service: self.api.name().to_string(),
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
        let malformed = |reason: String| Error::MalformedResponse {
            what: self.api.name().to_string(),
            reason,
        };
        let origin = |u: &str| reqwest::Url::parse(u).map(|u| u.origin().ascii_serialization());
        let (Ok(there), Ok(ours)) = (origin(url), origin(self.api.base_url())) else {
            return Err(malformed(format!("{what} `{url}` is not a URL")));
        };
        if there != ours {
            return Err(malformed(format!(
                "{what} points at {there} instead of {ours}; paaf sends its token to the configured endpoint only"
            )));
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

    fn server_of(&self, vm: Vm) -> Server {
        let properties = vm.properties.unwrap_or_default();
        let power = properties
            .instance_view
            .unwrap_or_default()
            .statuses
            .into_iter()
            .find_map(|s| s.code.strip_prefix("PowerState/").map(str::to_string));
        let raw_state = power.unwrap_or_else(|| "unknown".to_string());
        Server {
            name: Some(vm.name),
            status: normalize(&raw_state),
            raw_state,
            tags: vm.tags.unwrap_or_default(),
            launched_at_ms: properties.time_created.as_deref().and_then(launched_at),
            ..Server::of(Self::KIND, &self.name, vm.location, vm.id)
        }
    }
}

/// ARM's errors, for the failure policy: `{"error": {code, message}}`; an
/// `AuthorizationFailed` message names the action it lacks (else the request's own is named).
struct AzureErrors {
    tenant_id: String,
    client_id: String,
    subscription_id: String,
}

impl Vendor for AzureErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ErrorBody>()?.error;
        (e.code.is_some() || e.message.is_some()).then(|| Said {
            code: e.code,
            message: e.message.unwrap_or_default(),
        })
    }

    fn hint_for(
        &self,
        code: ErrorCode,
        _failure: &HttpFailure,
        said: Option<&Said>,
        doing: &Doing,
    ) -> Option<String> {
        let (client, subscription) = (&self.client_id, &self.subscription_id);
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "ARM refused the token of app {client}: check that the app registration still exists in tenant {} and that its secret has not expired",
                self.tenant_id
            ),
            ErrorCode::PermissionDenied => {
                let action = said
                    .and_then(|s| action_in(&s.message))
                    .or_else(|| doing.needed().map(str::to_string))?;
                format!(
                    "the app {client} is not allowed {action}: give it a role that has it (e.g. Virtual Machine Contributor) on the VM, its resource group or subscription {subscription} (a new role assignment takes a few minutes)"
                )
            }
            ErrorCode::NotFound => format!(
                "check subscription_id ({subscription}) and that the app has access to it"
            ),
            ErrorCode::Conflict => "another operation on the VM is in progress, or its state does not allow this: look at its state and try again".into(),
            ErrorCode::RateLimited => "Azure Resource Manager limits the request rate of this subscription: wait and try again".into(),
            _ => return None,
        })
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
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Vm {
    id: String,
    name: String,
    location: String,
    tags: Option<BTreeMap<String, String>>,
    properties: Option<VmProperties>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VmProperties {
    instance_view: Option<InstanceView>,
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

#[derive(Deserialize, Default)]
struct OperationStatus {
    status: Option<String>,
    error: Option<ArmError>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ArmError,
}

#[derive(Deserialize)]
struct ArmError {
    code: Option<String>,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Xy8Q~s3cr3tValue.0123456789abcdefghijklmn";
    const SUB: &str = "00000000-1111-2222-3333-444444444444";

    fn azure() -> Azure {
        connect(
            "contoso.onmicrosoft.com",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            SUB,
            SECRET,
        )
        .unwrap()
    }

    fn connect(tenant: &str, client: &str, sub: &str, secret: &str) -> Result<Azure> {
        let keys = AzureConfig {
            tenant_id: tenant.into(),
            client_id: client.into(),
            client_secret: crate::cloud::test_secret(),
            subscription_id: sub.into(),
            locations: Vec::new(),
            endpoint: None,
            login_url: None,
        };
        let secrets = crate::cloud::test_store(secret);
        FromConfig::connect("prod", &keys, &secrets, Limits::default())
    }

    #[test]
    fn every_documented_power_state_is_normalized() {
        // https://learn.microsoft.com/en-us/azure/virtual-machines/states-billing
        use ServerStatus::*;
        let table = [
            ("starting", Pending),
            ("running", Running),
            ("stopping", Stopping),
            ("stopped", Stopped),
            ("deallocating", Stopping),
            ("deallocated", Stopped),
            ("unknown", Unknown),
            ("hibernated", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
    }

    /// Echoed in an answer of ARM or of the login, it is redacted too: the contract cases
    /// `echoed_secret_is_redacted` (table) and `an_echoed_client_secret_is_redacted_at_login`.
    #[test]
    fn the_client_secret_appears_nowhere_in_debug() {
        crate::cloud::assert_hidden(&azure(), &[SECRET], &["aaaaaaaa-bbbb", SUB]);
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
        let bad = [
            "web-1".to_string(),
            id.replace(SUB, "99999999-1111-2222-3333-444444444444"),
            format!("{id}/restart"),
            id.replace("web-1", "web-1?x=1"),
            id.replace("virtualMachines", "disks"),
            id.replace("/web-1", "/"),
        ];
        crate::cloud::assert_refused(bad, |id| a.check_vm_id(id).map(drop));
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
        let connect =
            |tenant: &str, sub: &str, secret: &str| connect(tenant, "client", sub, secret);
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
