//! Google Compute Engine (API v1), as a service account.
//!
//! Calls (https://cloud.google.com/compute/docs/reference/rest/v1), all under
//! `https://compute.googleapis.com/compute/v1/projects/{project}/zones/{zone}/`:
//! - the token: a JWT signed RS256 with the key's `private_key` (`iss` = `client_email`,
//!   `scope` = `https://www.googleapis.com/auth/compute`, `aud` = `token_uri`, one hour), sent
//!   as `POST {token_uri}` `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`
//!   → `{access_token, expires_in}`, then `Authorization: Bearer …`
//!   (https://developers.google.com/identity/protocols/oauth2/service-account#httprest); kept
//!   until a minute before it expires, dropped when the API answers 401;
//! - `GET instances?maxResults=&pageToken=` → `{items, nextPageToken}` (instances/list), every
//!   configured zone read concurrently; `GET instances/{name}` (instances/get);
//! - `POST instances/{name}/reset|stop|start?requestId=<uuid>` (instances/reset, stop, start)
//!   → an `Operation`; sent once (the `requestId` would make a resend harmless, but paaf does
//!   not rely on it);
//! - `GET operations/{operation}` (zoneOperations/get) until `status` is `DONE`, then its
//!   `error.errors[]` says whether it failed
//!   (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses#handling_api_responses);
//! - errors `{"error":{"code","message","errors":[{"reason"}],"status"}}`
//!   (https://cloud.google.com/compute/docs/api/handle-errors); a 403's message names the
//!   missing permission (`Required 'compute.instances.reset' permission for …`).
//!
//! Compute Engine has no clean reboot: `reset` is a hard reset, and paaf refuses
//! [`PowerAction::Reboot`] saying so. Its `TERMINATED` means stopped (it can be started
//! again), and a `SUSPENDED` instance is listed as stopped (it needs `resume`, not `start`).
//! Instances are named by their name, which is what the API's paths take.

use super::prelude::*;
use crate::http::kind_of;
use crate::http::oauth::{Grant, TokenApi};
use crate::http::path_segment as segment;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::fmt;

/// Compute Engine's API root.
pub const DEFAULT_ENDPOINT: &str = "https://compute.googleapis.com/";
/// The OAuth scope paaf asks for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/compute";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, when the key file names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// `maxResults` of an instances page (the API's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// A service account's JSON key, parsed: who signs, with what, for which token endpoint.
/// `Debug` never shows the private key.
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub token_uri: String,
    signer: EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<SecretString>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// The key file's JSON (as downloaded from IAM → Service accounts → Keys), for account
    /// `account` in messages. Errors never quote the file.
    pub fn parse(account: &str, json: &SecretString) -> Result<ServiceAccountKey> {
        let fix = "store the JSON key file of a service account (IAM → Service accounts → Keys → Add key → JSON) with `paaf secret set NAME < key.json`";
        let file: KeyFile = serde_json::from_str(json.expose_secret()).map_err(|e| {
            // serde's message may quote a value of the file: only its position is shown.
            Error::invalid(format!(
                "gcp \"{account}\": the credentials are not a service-account JSON key (unreadable at line {} column {}); {fix}",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(kind) = file.kind.as_deref().filter(|k| *k != "service_account") {
            return Err(Error::invalid(format!(
                "gcp \"{account}\": the credentials are a `{kind}` JSON file, not a service-account key; {fix}"
            )));
        }
        let (Some(client_email), Some(private_key)) = (file.client_email, file.private_key) else {
            return Err(Error::invalid(format!(
                "gcp \"{account}\": the credentials lack `client_email` or `private_key`; {fix}"
            )));
        };
        let signer = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(
            |_| {
                Error::invalid(format!(
                    "gcp \"{account}\": the `private_key` of {client_email} is not an RSA private key in PEM; {fix}"
                ))
            },
        )?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id: file.private_key_id,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            signer,
        })
    }
}

/// The JWT bearer grant (RFC 7523) of a service account: a JWT signed with its key, for
/// [`SCOPE`], valid one hour.
#[derive(Debug)]
struct JwtBearer {
    key: ServiceAccountKey,
}

impl Grant for JwtBearer {
    fn fields(&self) -> Result<Vec<(&'static str, String)>> {
        let iat = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": self.key.client_email, "scope": SCOPE, "aud": self.key.token_uri,
            "iat": iat, "exp": iat + 3600,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key.signer).map_err(|e| {
            Error::other(format!(
                "could not sign the token request with the key of {}: {e}",
                self.key.client_email
            ))
        })?;
        Ok(vec![
            ("grant_type", GRANT_TYPE.into()),
            ("assertion", assertion),
        ])
    }
}

/// One GCP project's instances in the configured zones: the service account's key lives in
/// the `TokenApi`'s grant, which `Debug` never shows.
#[derive(Debug)]
pub struct Gcp {
    name: String,
    project: String,
    zones: Vec<String>,
    api: TokenApi,
    page_size: u32,
}

impl CloudProvider for Gcp {
    kind_and_name!(CloudKind::Gcp);

    /// Every instance of every configured zone, the zones read concurrently; a zone that
    /// fails is an error row and the others are still listed. Sorted by zone, then name.
    async fn list(&self) -> Inventory {
        Inventory::of_regions(Self::KIND, &self.name, &self.zones, |zone| {
            all_pages_past_empty(self.api.name(), String::new(), move |t| self.page(zone, t))
        })
        .await
    }

    /// The instance `name` in `zone`, read now.
    async fn read(&self, zone: &str, name: &str) -> Result<Server> {
        self.check_target(zone, name)?;
        let doing = self.about(zone, name, format!("reading instance {name}"), "get");
        let path = self.zone_path(zone, &format!("instances/{}", segment(name)));
        let instance: Instance = self.api.fetch_json(Request::get(path), &doing).await?;
        Ok(self.server_of(zone, instance))
    }

    /// Sends `action` for instance `name` in `zone` once and returns the operation Compute
    /// Engine started. A failure after the request may have reached Google is
    /// `outcome-unknown`; an operation that failed at once is its error.
    async fn power(&self, zone: &str, name: &str, action: PowerAction) -> Result<Accepted> {
        let verb = action.word(["", "reset", "stop", "start"], || format!("Compute Engine has no clean reboot (instance {name}): use hard-reboot (a reset, like pressing the reset button, without a clean shutdown), or stop then start, or reboot it over SSH"))?;
        self.check_target(zone, name)?;
        let doing = self.about(zone, name, format!("{verb} of instance {name}"), verb);
        let path = self.zone_path(zone, &format!("instances/{}/{verb}", segment(name)));
        let request = Request::post(path, Retry::NotIdempotent)
            .query("requestId", uuid::Uuid::new_v4().to_string())
            // Google's front end answers 411 to a POST without a length, and the client
            // sends none for an empty body.
            .header("content-length", "0");
        let operation: Operation = self.api.fetch_json(request, &doing).await?;
        self.check_operation(&operation, zone, name, action)?;
        Ok(Accepted::without_state(action, name, Some(operation.name)))
    }

    /// Reads the operation of `accepted` every `settings.interval` until it is `DONE`; a
    /// failed operation is its error, naming the instance.
    async fn settle(&self, zone: &str, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        let Some(name) = &accepted.operation else {
            return Ok(());
        };
        self.check_target(zone, &accepted.id)?;
        let label = format!(
            "operation {name} ({} of {} in {zone}, {})",
            accepted.action.as_str(),
            accepted.id,
            self.api.name()
        );
        let doing = Doing::new(format!("reading {label}")).needs("compute.zoneOperations.get");
        let path = self.zone_path(zone, &format!("operations/{}", segment(name)));
        let follow = wait.follow(label.as_str(), accepted.action.phase());
        let judge = |operation: Operation, wait| {
            if operation.status == "DONE" {
                self.check_operation(&operation, zone, &accepted.id, accepted.action)?;
                return Ok(Polled::Done(()));
            }
            Ok(Polled::pending(
                (),
                format!("still {}", operation.status),
                wait,
            ))
        };
        follow_json(&self.api, &path, &doing, &follow, judge).await
    }

    /// A `reset` operation is `DONE` once the instance was reset.
    fn operation_proves(&self, action: PowerAction) -> bool {
        action == PowerAction::HardReboot
    }
}

/// The keys of a `gcp` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct GcpConfig {
    /// The project id (`project`).
    pub project: String,
    /// The zones listed (`regions`, required).
    pub zones: Vec<String>,
    /// The service-account JSON key (`credentials`).
    pub credentials: SecretRef,
    /// Another Compute API URL than [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
}

impl AccountConfig for GcpConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<GcpConfig> {
        let endpoint = entry.endpoint()?;
        let credentials = entry.secret(Key::Credentials)?;
        Ok(GcpConfig {
            project: entry.needs(
                entry.text(Key::Project),
                ("its project id", "project = \"my-project\""),
            )?,
            zones: entry.needs(
                Some(entry.regions()).filter(|z| !z.is_empty()),
                ("the zones to list", "regions = [\"europe-west1-b\"]"),
            )?,
            credentials: entry.needs(
                credentials,
                (
                    "a service-account JSON key",
                    "credentials = \"keyring:NAME\" (`paaf secret set NAME < key.json`)",
                ),
            )?,
            endpoint,
        })
    }
}

impl FromConfig for Gcp {
    type Keys = GcpConfig;

    /// The account `name`: the instances of its `project` in its `zones`, through the
    /// Compute API at its `endpoint` ([`DEFAULT_ENDPOINT`]), with tokens from the key's own
    /// `token_uri`.
    fn connect(
        name: &str,
        gcp: &GcpConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Gcp> {
        let (project, zones) = (gcp.project.as_str(), &gcp.zones);
        let credentials = gcp.credentials.resolve(secrets)?;
        let base_url = gcp.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let service_name = format!("gcp \"{name}\"");
        if zones.is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: no zone configured; name at least one, e.g. regions = [\"europe-west1-b\"]"
            )));
        }
        let zone_name = |z: &str| lowercase_name(z, 63, b"-");
        let not_one = "a GCP zone name (like europe-west1-b)";
        check_listed(&service_name, "zone", zones, zone_name, not_one)?;
        if !lowercase_name(project, 100, b"-.:") {
            return Err(Error::invalid(format!(
                "{service_name}: `{project}` is not a GCP project id (like my-project-123)"
            )));
        }
        let key = ServiceAccountKey::parse(name, &credentials)?;
        let email = key.client_email.clone();
        let refused = format!(
            "Google refused the service-account key of {email}: check that the key has not been deleted or disabled (IAM → Service accounts → Keys), that the service account exists and is enabled, and that this machine's clock is right"
        );
        let project = project.to_string();
        let errors = GcpErrors {
            email,
            project: project.clone(),
        };
        let api = Service::new(&service_name, base_url, HttpAuth::None, limits.clone())?
            .with_vendor(errors);
        let token_url = key.token_uri.clone();
        let grant = JwtBearer { key };
        Ok(Gcp {
            name: name.to_string(),
            project,
            zones: zones.to_vec(),
            api: TokenApi::new(api, &token_url, grant, refused, limits)?,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }
}

impl Gcp {
    /// `maxResults` of each instances page (the API takes 1–500).
    pub fn with_page_size(mut self, page_size: u32) -> Gcp {
        self.page_size = page_size.clamp(1, 500);
        self
    }

    /// The page of zone `zone`'s instances at `token` (the first: empty); the next page's
    /// token is `nextPageToken`.
    async fn page(&self, zone: &str, token: String) -> Result<Page<String>> {
        let mut request = Request::get(self.zone_path(zone, "instances"))
            .query("maxResults", self.page_size.to_string());
        if !token.is_empty() {
            request = request.query("pageToken", token);
        }
        let doing = Doing::new(format!("listing zone {zone}")).needs("compute.instances.list");
        let page: InstanceList = self.api.fetch_json(request, &doing).await?;
        Ok(Page {
            servers: page
                .items
                .into_iter()
                .map(|i| self.server_of(zone, i))
                .collect(),
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// A request about instance `name` in `zone` that is `doing` something and needs the
    /// permission `compute.instances.{verb}`: a 404 means there is no such instance there.
    fn about(&self, zone: &str, name: &str, doing: String, verb: &str) -> Doing {
        let hint = format!(
            "not in zone {zone} of project {} ({}): check the name and the zone",
            self.project,
            self.api.name()
        );
        Doing::new(format!("{doing} in zone {zone}"))
            .needs(format!("compute.instances.{verb}"))
            .missing("Compute Engine instance", name, hint)
    }

    /// A `DONE` operation with errors as the typed error of its HTTP status.
    fn check_operation(
        &self,
        operation: &Operation,
        zone: &str,
        instance: &str,
        action: PowerAction,
    ) -> Result<()> {
        let Some(first) = operation.error.as_ref().and_then(|e| e.errors.first()) else {
            return Ok(());
        };
        let status = operation.http_error_status_code.unwrap_or_default();
        let message: String = first
            .message
            .iter()
            .flat_map(|m| m.chars())
            .take(300)
            .collect();
        Err(Error::Service {
            service: self.api.name().to_string(),
            code: kind_of(status),
            status,
            message: format!(
                "the {} of instance {instance} in zone {zone} failed (operation {}): {}: {message}",
                action.as_str(),
                operation.name,
                first.code.as_deref().unwrap_or_default()
            ),
        })
    }

    /// Refuses a zone paaf does not list, or what cannot be an instance name, before
    /// anything is sent.
    fn check_target(&self, zone: &str, name: &str) -> Result<()> {
        check_configured(self.api.name(), "zone", zone, &self.zones)?;
        let valid = lowercase_name(name, 63, b"-")
            && (name.bytes().all(|b| b.is_ascii_digit())
                || (name.starts_with(|c: char| c.is_ascii_lowercase()) && !name.ends_with('-')));
        let looks_like =
            "a Compute Engine instance name (lowercase letters, digits and dashes, like web-1)";
        check_id(name, valid, looks_like)
    }

    fn zone_path(&self, zone: &str, rest: &str) -> String {
        format!(
            "compute/v1/projects/{}/zones/{}/{rest}",
            segment(&self.project),
            segment(zone)
        )
    }

    fn server_of(&self, zone: &str, i: Instance) -> Server {
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        for nic in i.network_interfaces {
            private_ips.extend(nic.network_ip.filter(|ip| !ip.is_empty()));
            public_ips.extend(
                nic.access_configs
                    .into_iter()
                    .filter_map(|a| a.nat_ip)
                    .filter(|ip| !ip.is_empty()),
            );
        }
        let started = i.last_start_timestamp.or(i.creation_timestamp);
        Server {
            status: normalize(&i.status),
            raw_state: i.status,
            public_ips,
            private_ips,
            tags: i.labels,
            launched_at_ms: started.as_deref().and_then(launched_at),
            name: Some(i.name.clone()),
            ..Server::of(Self::KIND, &self.name, zone, i.name)
        }
    }
}

/// Google's errors, for the failure policy: `{"error": {code, message, errors: [{reason}]}}`,
/// its first `reason` the code. A rate limit may come as a 403 with a rate-limit reason, and a
/// state that does not allow the action as a 400 `resourceNotReady`; a 403's message names the
/// permission it lacks (else the request's own is named).
struct GcpErrors {
    email: String,
    project: String,
}

impl Vendor for GcpErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ErrorBody>()?.error;
        let message = e.message.unwrap_or_default();
        Some(match e.errors.into_iter().find_map(|e| e.reason) {
            Some(reason) => Said::coded(reason, message),
            None => Said::message(message),
        })
    }

    fn meaning(&self, failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        Some(match (failure.status, said?.code()) {
            (403, "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded") => {
                ErrorCode::RateLimited
            }
            (400, "resourceNotReady") => ErrorCode::Conflict,
            _ => return None,
        })
    }

    fn hint_for(
        &self,
        code: ErrorCode,
        _failure: &HttpFailure,
        said: Option<&Said>,
        doing: &Doing,
    ) -> Option<String> {
        let (email, project) = (&self.email, &self.project);
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the access token of {email} was refused: check that its key has not been deleted or disabled"
            ),
            ErrorCode::PermissionDenied => {
                let permission = said
                    .and_then(|s| permission_in(&s.message))
                    .or_else(|| doing.needed().map(str::to_string))?;
                format!(
                    "the service account {email} lacks the permission {permission} in project {project}: grant it a role that has it (e.g. roles/compute.instanceAdmin.v1)"
                )
            }
            ErrorCode::NotFound => format!("check the project id ({project}) and the zone"),
            ErrorCode::Conflict if said.is_some_and(|s| s.code() == "resourceNotReady") => {
                "its current state does not allow this: read its state and wait until it is running or stopped".into()
            }
            ErrorCode::Conflict => "another operation on it is in progress, or it changed meanwhile: look at its state and try again".into(),
            ErrorCode::RateLimited => {
                "Compute Engine limits the request rate of this project: wait and try again".into()
            }
            _ => return None,
        })
    }
}

/// Compute Engine's instance `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "RUNNING" => ServerStatus::Running,
        // TERMINATED is Compute Engine's stopped: the instance can be started again.
        "TERMINATED" | "SUSPENDED" => ServerStatus::Stopped,
        "PROVISIONING" | "STAGING" | "REPAIRING" => ServerStatus::Pending,
        "STOPPING" | "SUSPENDING" => ServerStatus::Stopping,
        _ => ServerStatus::Unknown,
    }
}

/// The permission a 403's message names (`Required 'compute.instances.reset' permission`).
fn permission_in(message: &str) -> Option<String> {
    let start = message.find("compute.")?;
    let permission: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    (permission.matches('.').count() >= 2).then_some(permission)
}

/// Whether `s` is 1 to `max` lowercase letters, digits and `extra` bytes: a zone
/// (`europe-west1-b`), a project id (`my-project-123`, or domain-scoped
/// `example.com:my-project`), an instance name.
fn lowercase_name(s: &str, max: usize, extra: &[u8]) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

// ---- Google's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceList {
    #[serde(default)]
    items: Vec<Instance>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    name: String,
    status: String,
    #[serde(default)]
    network_interfaces: Vec<NetworkInterface>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    last_start_timestamp: Option<String>,
    creation_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkInterface {
    #[serde(rename = "networkIP")]
    network_ip: Option<String>,
    #[serde(default)]
    access_configs: Vec<AccessConfig>,
}

#[derive(Deserialize)]
struct AccessConfig {
    #[serde(rename = "natIP")]
    nat_ip: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    name: String,
    status: String,
    error: Option<GoogleError>,
    http_error_status_code: Option<u16>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GoogleError,
}

/// An API error (`message`, `errors[].reason`), or an operation's (`errors[].code`, `message`).
#[derive(Deserialize)]
struct GoogleError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<GoogleErrorItem>,
}

#[derive(Deserialize)]
struct GoogleErrorItem {
    reason: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../../tests/fixtures/gcp-test-key.pem");

    fn key_json() -> SecretString {
        SecretString::from(
            serde_json::json!({
                "type": "service_account",
                "project_id": "shop-prod",
                "private_key_id": "0123abcd",
                "private_key": PEM,
                "client_email": "paaf@shop-prod.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            })
            .to_string(),
        )
    }

    fn gcp() -> Gcp {
        connect("shop-prod", &["europe-west1-b"]).unwrap()
    }

    fn connect(project: &str, zones: &[&str]) -> Result<Gcp> {
        let keys = GcpConfig {
            project: project.to_string(),
            zones: zones.iter().map(|z| z.to_string()).collect(),
            credentials: crate::cloud::test_secret(),
            endpoint: None,
        };
        let secrets = crate::cloud::test_store(key_json().expose_secret());
        FromConfig::connect("prod", &keys, &secrets, Limits::default())
    }

    #[test]
    fn every_documented_status_is_normalized() {
        // https://cloud.google.com/compute/docs/instances/instance-life-cycle
        use ServerStatus::*;
        let table = [
            ("PROVISIONING", Pending),
            ("STAGING", Pending),
            ("RUNNING", Running),
            ("STOPPING", Stopping),
            ("SUSPENDING", Stopping),
            ("SUSPENDED", Stopped),
            ("REPAIRING", Pending),
            ("TERMINATED", Stopped),
            ("SOMETHING_NEW", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
    }

    #[test]
    fn the_private_key_appears_neither_in_debug_nor_in_errors() {
        let email = "paaf@shop-prod.iam.gserviceaccount.com";
        crate::cloud::assert_hidden(&gcp(), &["PRIVATE KEY", &PEM[40..80]], &[email]);
        // A key file that does not parse is refused without quoting it.
        let broken =
            SecretString::from(format!("{{\"private_key\": 5, \"x\": \"{}\"", &PEM[40..80]));
        let e = ServiceAccountKey::parse("prod", &broken).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(!e.to_string().contains(&PEM[40..80]), "{e}");
        let not_rsa = SecretString::from(
            serde_json::json!({"client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}).to_string(),
        );
        let e = ServiceAccountKey::parse("prod", &not_rsa).unwrap_err();
        assert!(e.to_string().contains("not an RSA private key"), "{e}");
        assert!(!e.to_string().contains("not a key"), "{e}");
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        let g = gcp();
        assert!(g.check_target("europe-west1-b", "web-1").is_ok());
        assert!(g.check_target("europe-west1-b", "4567890123456789").is_ok());
        for (zone, name) in [
            ("europe-west1-c", "web-1"),
            ("europe-west1-b", "Web-1"),
            ("europe-west1-b", "web-1/stop"),
            ("europe-west1-b", "web-"),
            ("europe-west1-b", ""),
        ] {
            assert_eq!(
                g.check_target(zone, name).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{zone} {name}"
            );
        }
        for e in [
            connect("shop-prod", &[]).unwrap_err(),
            connect("shop-prod", &["europe-west1-b", "europe-west1-b"]).unwrap_err(),
            connect("shop-prod", &["europe-west1-b/../x"]).unwrap_err(),
            connect("shop/prod", &["europe-west1-b"]).unwrap_err(),
        ] {
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        }
    }

    #[test]
    fn a_forbidden_message_names_its_permission() {
        assert_eq!(
            permission_in("Required 'compute.instances.reset' permission for 'projects/p/zones/z/instances/web-1'").as_deref(),
            Some("compute.instances.reset")
        );
        assert_eq!(permission_in("Forbidden"), None);
    }
}
