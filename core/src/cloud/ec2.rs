//! AWS EC2, through its Query API (version 2016-11-15) signed with SigV4, without the AWS SDK.
//!
//! Calls (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html), each a
//! `GET https://ec2.{region}.amazonaws.com/?Action=…&Version=2016-11-15&…` answered in XML:
//! - `DescribeInstances` (`MaxResults` 5–1000 + `NextToken`; `InstanceId.1` for one instance)
//!   → `reservationSet/item/instancesSet/item` with `instanceState/name`, `tagSet`, addresses;
//! - `RebootInstances`, `StopInstances`, `StartInstances` (`InstanceId.1`): sent once, never
//!   retried after they may have reached EC2; a stop/start answers `currentState`, a reboot
//!   only `true`;
//! - errors: `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>`
//!   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
//!
//! The Query API takes its parameters in the query string of a GET as well as in a form POST
//! body; paaf uses the query string, as the HTTP client sends JSON bodies only.
//!
//! EC2 has no hard reboot: "if the instance does not cleanly shut down within a few minutes,
//! Amazon EC2 performs a hard reboot" (RebootInstances reference). A reboot cannot be told
//! from the API afterwards either (the state stays `running`): verifying it (a new boot id)
//! needs SSH to the instance.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PowerAction, Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Retry, Service};
use crate::secrets::{SecretRef, SecretStore};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The API version every request names.
pub const API_VERSION: &str = "2016-11-15";
/// `MaxResults` of a `DescribeInstances` page by default (EC2's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Pages of one region paaf reads at most (a runaway `NextToken` loop ends there).
const MAX_PAGES: u32 = 1000;

/// An access key (long-term, or temporary with a session token). `Debug` shows the key id's
/// first characters only.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.access_key_id.chars().take(4).collect();
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &format!("{shown}…"))
            .field("secret_access_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// One configured AWS account: its credentials and a client per region.
#[derive(Clone)]
pub struct Ec2 {
    name: String,
    credentials: Arc<AwsCredentials>,
    regions: Vec<RegionClient>,
    limits: Limits,
    page_size: u32,
}

#[derive(Clone)]
struct RegionClient {
    region: String,
    service: Service,
}

impl fmt::Debug for Ec2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ec2")
            .field("name", &self.name)
            .field("credentials", &self.credentials)
            .field(
                "regions",
                &self
                    .regions
                    .iter()
                    .map(|r| (r.region.as_str(), r.service.base_url()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl CloudAccount for Ec2 {
    fn provider(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Ec2::list(self))
    }

    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.describe(region, id))
    }

    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Ec2::power(self, region, id, action))
    }
}

/// The keys of an `aws` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The regions listed (`regions`, required).
    pub regions: Vec<String>,
    /// The access key id (`access_key_id`, not secret).
    pub access_key_id: String,
    /// Its secret key (`secret_access_key`).
    pub secret_access_key: SecretRef,
    /// A session token of temporary credentials (`session_token`).
    pub session_token: Option<SecretRef>,
    /// One endpoint for every region instead of AWS's own (a test server such as moto).
    pub endpoint: Option<String>,
}

impl AccountConfig for AwsConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<AwsConfig> {
        let endpoint = entry.endpoint()?;
        let secret_access_key = entry.secret(Key::SecretAccessKey)?;
        let session_token = entry.secret(Key::SessionToken)?;
        let regions = entry.needs(
            Some(entry.regions()).filter(|r| !r.is_empty()),
            ("its regions", "regions = [\"eu-west-1\", \"us-east-1\"]"),
        )?;
        let (access_key_id, secret_access_key) = entry.needs(
            entry.text(Key::AccessKeyId).zip(secret_access_key),
            (
                "an access key",
                "access_key_id = \"AKIA...\" and secret_access_key = \"keyring:NAME\"",
            ),
        )?;
        Ok(AwsConfig {
            regions,
            access_key_id,
            secret_access_key,
            session_token,
            endpoint,
        })
    }
}

impl Ec2 {
    /// The account of an `aws` `[[clouds]]` entry.
    pub fn from_config(
        config: &CloudConfig,
        aws: &AwsConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Ec2> {
        let session_token = aws
            .session_token
            .as_ref()
            .map(|t| t.resolve(secrets))
            .transpose()?;
        Ec2::connect(
            &config.name,
            aws.endpoint.as_deref(),
            &aws.access_key_id,
            aws.secret_access_key.resolve(secrets)?,
            session_token,
            &aws.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` in `regions`, at `endpoint` for every region (a test server such as
    /// moto, which tells regions apart by the signature's scope) or, without one, at AWS's
    /// regional endpoints `https://ec2.{region}.amazonaws.com/`.
    pub fn connect(
        name: &str,
        endpoint: Option<&str>,
        access_key_id: &str,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
        regions: &[String],
        limits: Limits,
    ) -> Result<Ec2> {
        let endpoints = regions
            .iter()
            .map(|region| {
                let url = match endpoint {
                    Some(url) => url.to_string(),
                    None => format!("https://ec2.{region}.amazonaws.com/"),
                };
                (region.clone(), url)
            })
            .collect::<Vec<_>>();
        let credentials = AwsCredentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key,
            session_token,
        };
        Ec2::with_endpoints(name, credentials, &endpoints, limits)
    }

    /// The account `name` with an endpoint URL of its own for each region (region, URL).
    pub fn with_endpoints(
        name: &str,
        credentials: AwsCredentials,
        endpoints: &[(String, String)],
        limits: Limits,
    ) -> Result<Ec2> {
        if endpoints.is_empty() {
            return Err(Error::invalid(format!(
                "aws \"{name}\": no region configured; name at least one, e.g. regions = [\"eu-west-1\"]"
            )));
        }
        if credentials.access_key_id.trim().is_empty()
            || credentials.secret_access_key.expose_secret().is_empty()
        {
            return Err(Error::invalid(format!(
                "aws \"{name}\": the access key id and secret access key must not be empty"
            )));
        }
        let mut regions = Vec::with_capacity(endpoints.len());
        for (region, url) in endpoints {
            if !valid_region(region) {
                return Err(Error::invalid(format!(
                    "aws \"{name}\": `{region}` is not an AWS region name (like eu-west-1)"
                )));
            }
            if regions.iter().any(|r: &RegionClient| &r.region == region) {
                return Err(Error::invalid(format!(
                    "aws \"{name}\": region {region} is named twice"
                )));
            }
            let service = Service::new(
                &format!("aws \"{name}\" {region}"),
                url,
                HttpAuth::None,
                limits.clone(),
            )?;
            regions.push(RegionClient {
                region: region.clone(),
                service,
            });
        }
        Ok(Ec2 {
            name: name.to_string(),
            credentials: Arc::new(credentials),
            regions,
            limits,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// `MaxResults` of each `DescribeInstances` page (EC2 takes 5–1000).
    pub fn with_page_size(mut self, page_size: u32) -> Ec2 {
        self.page_size = page_size.clamp(5, 1000);
        self
    }

    /// The account's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configured regions, in order.
    pub fn regions(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.region.as_str()).collect()
    }

    /// Every instance of every configured region, the regions read concurrently; a region
    /// that fails is an error row and the others are still listed. Servers are sorted by
    /// region, then name, then id.
    pub async fn list(&self) -> Inventory {
        let reads = self
            .regions
            .iter()
            .map(|r| async move { (r.region.clone(), self.list_region(r).await) });
        let mut inventory = Inventory::default();
        for (region, result) in futures::future::join_all(reads).await {
            match result {
                Ok(servers) => inventory.servers.extend(servers),
                Err(e) => inventory.errors.push(InventoryError {
                    provider: "aws".into(),
                    account: self.name.clone(),
                    region: Some(region),
                    error: ErrorInfo::from(&e),
                }),
            }
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    async fn list_region(&self, r: &RegionClient) -> Result<Vec<Server>> {
        let mut servers = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![("MaxResults".to_string(), self.page_size.to_string())];
            if let Some(t) = &token {
                params.push(("NextToken".to_string(), t.clone()));
            }
            let body = self
                .call(r, "DescribeInstances", params, Retry::Idempotent, None)
                .await?;
            let page: DescribeInstancesResponse = self.decode(r, &body)?;
            servers.extend(self.servers_of(r, page.reservation_set));
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                Some(_) => {
                    return Err(Error::MalformedResponse {
                        what: r.service.name().to_string(),
                        reason: "DescribeInstances returned the same NextToken twice".into(),
                    });
                }
                None => return Ok(servers),
            }
        }
        Err(Error::MalformedResponse {
            what: r.service.name().to_string(),
            reason: format!("DescribeInstances kept paging past {MAX_PAGES} pages"),
        })
    }

    /// The instance `id` in `region`, read now.
    pub async fn describe(&self, region: &str, id: &str) -> Result<Server> {
        let r = self.region(region)?;
        check_instance_id(id)?;
        let params = vec![("InstanceId.1".to_string(), id.to_string())];
        let body = self
            .call(r, "DescribeInstances", params, Retry::Idempotent, Some(id))
            .await?;
        let page: DescribeInstancesResponse = self.decode(r, &body)?;
        self.servers_of(r, page.reservation_set)
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| self.not_found(r, id))
    }

    /// Sends `action` for instance `id` in `region` once and returns EC2's acceptance. A
    /// failure after the request may have reached EC2 is `outcome-unknown`.
    pub async fn power(&self, region: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let r = self.region(region)?;
        check_instance_id(id)?;
        let api_action = match action {
            PowerAction::Reboot => "RebootInstances",
            PowerAction::Stop => "StopInstances",
            PowerAction::Start => "StartInstances",
            PowerAction::HardReboot => {
                return Err(Error::invalid(format!(
                    "EC2 has no hard reboot (instance {id}): use reboot (EC2 forces it when the OS does not shut down within a few minutes), or stop then start"
                )));
            }
        };
        let params = vec![("InstanceId.1".to_string(), id.to_string())];
        let body = self
            .call(r, api_action, params, Retry::NotIdempotent, Some(id))
            .await?;
        let state = match action {
            PowerAction::Reboot => None,
            _ => {
                let answer: StateChangeResponse = self.decode(r, &body)?;
                answer
                    .instances_set
                    .items
                    .into_iter()
                    .find(|i| i.instance_id == id)
                    .map(|i| i.current_state.name)
            }
        };
        tracing::info!(account = %self.name, region, id, action = action.as_str(), "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: state.as_deref().map(normalize),
            raw_state: state,
            operation: None,
        })
    }

    /// Any Query API call (`Action=action` plus `params`) in `region`, signed; the XML body
    /// of a success, or the typed error. For tests and actions paaf has no method for
    /// (e.g. `RunInstances` against moto).
    pub async fn call_raw(
        &self,
        region: &str,
        action: &str,
        params: Vec<(String, String)>,
        retry: Retry,
    ) -> Result<String> {
        let r = self.region(region)?;
        self.call(r, action, params, retry, None).await
    }

    fn region(&self, region: &str) -> Result<&RegionClient> {
        self.regions
            .iter()
            .find(|r| r.region == region)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "aws \"{}\": region {region} is not configured (configured: {})",
                    self.name,
                    self.regions().join(", ")
                ))
            })
    }

    /// One signed call; throttling is retried with backoff (a throttled request was not
    /// processed, so this is safe for power calls too) up to the attempts of the limits.
    async fn call(
        &self,
        r: &RegionClient,
        action: &str,
        params: Vec<(String, String)>,
        retry: Retry,
        instance: Option<&str>,
    ) -> Result<String> {
        let mut query = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".to_string(), API_VERSION.to_string()),
        ];
        query.extend(params);
        let attempts = self.limits.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let request = self.signed_request(r, &query, retry)?;
            let failure = match r.service.send_raw(request).await? {
                Ok(response) => return Ok(String::from_utf8_lossy(&response.body).into_owned()),
                Err(failure) => failure,
            };
            let code = error_code(&failure);
            let throttled = matches!(
                code.as_ref().map(|(c, _)| c.as_str()),
                Some("RequestLimitExceeded" | "Throttling" | "ThrottlingException")
            );
            // http.rs already retried idempotent calls on 429/5xx: not again here.
            let http_retried =
                retry == Retry::Idempotent && matches!(failure.status, 429 | 500 | 502 | 503 | 504);
            if throttled && !http_retried && attempt < attempts {
                let wait = backoff(attempt);
                if wait <= self.limits.max_retry_wait {
                    tracing::info!(service = %r.service.name(), attempt, "throttled; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            return Err(self.failure(r, action, retry, instance, &failure, code));
        }
    }

    /// A GET of `query` at the region's endpoint with SigV4 headers for exactly that URL.
    fn signed_request(
        &self,
        r: &RegionClient,
        query: &[(String, String)],
        retry: Retry,
    ) -> Result<Request> {
        // The URL the HTTP client will send: base + the query, encoded the same way
        // (application/x-www-form-urlencoded); SigV4 canonicalizes it from the decoded pairs.
        let mut url = reqwest::Url::parse(r.service.base_url())
            .map_err(|e| Error::other(format!("{}: bad URL: {e}", r.service.name())))?;
        url.query_pairs_mut().extend_pairs(query);
        let headers = sign_headers(
            &self.credentials,
            &r.region,
            url.as_str(),
            SystemTime::now(),
        )
        .map_err(|reason| {
            Error::other(format!(
                "{}: could not sign the request: {reason}",
                r.service.name()
            ))
        })?;
        let mut request = Request {
            retry,
            ..Request::get("")
        };
        request.query = query.to_vec();
        for (name, value) in headers {
            request = request.header(&name, value);
        }
        Ok(request)
    }

    fn decode<T: for<'de> Deserialize<'de>>(&self, r: &RegionClient, body: &str) -> Result<T> {
        quick_xml::de::from_str(body).map_err(|e| Error::MalformedResponse {
            what: r.service.name().to_string(),
            reason: format!("not the EC2 XML its API documents ({e})"),
        })
    }

    fn servers_of(&self, r: &RegionClient, reservations: Items<Reservation>) -> Vec<Server> {
        reservations
            .items
            .into_iter()
            .flat_map(|res| res.instances_set.items)
            .map(|i| self.server_of(r, i))
            .collect()
    }

    fn server_of(&self, r: &RegionClient, i: Instance) -> Server {
        let tags: BTreeMap<String, String> = i
            .tag_set
            .items
            .into_iter()
            .map(|t| (t.key, t.value.unwrap_or_default()))
            .collect();
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        let add = |list: &mut Vec<String>, ip: Option<String>| {
            if let Some(ip) = ip.filter(|ip| !ip.is_empty())
                && !list.contains(&ip)
            {
                list.push(ip);
            }
        };
        add(&mut public_ips, i.ip_address);
        add(&mut private_ips, i.private_ip_address);
        for eni in i.network_interface_set.items {
            for a in eni.private_ip_addresses_set.items {
                add(&mut private_ips, a.private_ip_address);
                add(&mut public_ips, a.association.and_then(|x| x.public_ip));
            }
        }
        let launched_at_ms = i
            .launch_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        Server {
            provider: "aws".into(),
            account: self.name.clone(),
            region: r.region.clone(),
            name: tags.get("Name").filter(|n| !n.is_empty()).cloned(),
            status: normalize(&i.instance_state.name),
            raw_state: i.instance_state.name,
            id: i.instance_id,
            public_ips,
            private_ips,
            tags,
            launched_at_ms,
        }
    }

    fn not_found(&self, r: &RegionClient, id: &str) -> Error {
        Error::NotFound {
            what: "EC2 instance",
            name: id.to_string(),
            hint: Some(format!(
                "not in region {} of aws account \"{}\": check the id and the region",
                r.region, self.name
            )),
        }
    }

    /// The typed error for a failed call: EC2's error code decides, the HTTP status only
    /// when the body is not EC2's error XML (a proxy, a load balancer).
    fn failure(
        &self,
        r: &RegionClient,
        action: &str,
        retry: Retry,
        instance: Option<&str>,
        failure: &HttpFailure,
        code: Option<(String, String)>,
    ) -> Error {
        let service = r.service.name().to_string();
        let Some((code, message)) = code else {
            if retry == Retry::NotIdempotent && failure.status >= 500 {
                return self.unknown(r, action, instance, &format!("HTTP {}", failure.status));
            }
            return r.service.status_error(failure);
        };
        let message = self.redact(&message);
        let message: String = message.chars().take(300).collect();
        let (kind, hint) = match code.as_str() {
            "AuthFailure"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "ExpiredToken"
            | "RequestExpired"
            | "MissingAuthenticationToken" => (
                ErrorCode::AuthFailed,
                format!(
                    "check the access key id and secret access key of aws account \"{}\", that a session token has not expired, and that this machine's clock is right",
                    self.name
                ),
            ),
            "UnauthorizedOperation" | "OptInRequired" | "Blocked" => (
                ErrorCode::PermissionDenied,
                format!(
                    "the credentials are valid but not allowed ec2:{action}: grant it to their IAM user or role (or enable region {})",
                    r.region
                ),
            ),
            "InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed" => {
                return match instance {
                    Some(id) => self.not_found(r, id),
                    None => Error::Service {
                        service,
                        code: ErrorCode::NotFound,
                        status: failure.status,
                        message: format!("{code}: {message}"),
                    },
                };
            }
            "RequestLimitExceeded" | "Throttling" | "ThrottlingException" => (
                ErrorCode::RateLimited,
                "EC2 limits the request rate of this account: wait and try again".to_string(),
            ),
            "IncorrectInstanceState" => (
                ErrorCode::Conflict,
                format!(
                    "the instance's current state does not allow {action}: read its state and wait until it is running or stopped"
                ),
            ),
            "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable"
                if retry == Retry::NotIdempotent =>
            {
                return self.unknown(r, action, instance, &format!("{code}: {message}"));
            }
            _ => (
                ErrorCode::ServiceFailed,
                "EC2 refused the request".to_string(),
            ),
        };
        Error::Service {
            service,
            code: kind,
            status: failure.status,
            message: format!("{action}: {code}: {message}; {hint}"),
        }
    }

    fn unknown(
        &self,
        r: &RegionClient,
        action: &str,
        instance: Option<&str>,
        reason: &str,
    ) -> Error {
        Error::OutcomeUnknown {
            what: format!(
                "{action} of {} in {}",
                instance.unwrap_or("the instance"),
                r.service.name()
            ),
            reason: reason.to_string(),
        }
    }

    /// Removes the secret key and session token wherever `text` echoes them.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        let c = &self.credentials;
        for secret in std::iter::once(c.secret_access_key.expose_secret())
            .chain(c.session_token.as_ref().map(|t| t.expose_secret()))
        {
            if !secret.is_empty() {
                text = text.replace(secret, "[redacted]");
            }
        }
        text
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) of a GET of
/// `url` with an empty body, scoped to `region`/`ec2`.
fn sign_headers(
    credentials: &AwsCredentials,
    region: &str,
    url: &str,
    time: SystemTime,
) -> std::result::Result<Vec<(String, String)>, String> {
    let identity = Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose_secret().to_string(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        None,
        "paaf",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
}

/// EC2's error code and message, when the body is its error XML.
fn error_code(failure: &HttpFailure) -> Option<(String, String)> {
    let parsed: ErrorResponse = quick_xml::de::from_str(&failure.full_body).ok()?;
    let first = parsed.errors.error.into_iter().next()?;
    Some((first.code, first.message.unwrap_or_default()))
}

/// EC2's `instanceState/name` as a normalized status.
pub fn normalize(state: &str) -> ServerStatus {
    match state {
        "running" => ServerStatus::Running,
        "stopped" => ServerStatus::Stopped,
        "pending" => ServerStatus::Pending,
        "stopping" | "shutting-down" => ServerStatus::Stopping,
        "terminated" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Refuses what cannot be an instance id before anything is sent (`i-` and 8 or 17 hex
/// digits).
fn check_instance_id(id: &str) -> Result<()> {
    let ok = id
        .strip_prefix("i-")
        .is_some_and(|h| matches!(h.len(), 8 | 17) && h.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not an EC2 instance id (like i-0123456789abcdef0)"
        )))
    }
}

/// 2^attempt × 250 ms, ±25 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << attempt.min(6);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

// ---- EC2's XML, as much of it as paaf reads (unknown elements are skipped) ----

/// A list of `<item>`s (`<reservationSet><item>…</item></reservationSet>`, or empty).
#[derive(Deserialize)]
struct Items<T> {
    #[serde(rename = "item", default = "Vec::new")]
    items: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { items: Vec::new() }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInstancesResponse {
    #[serde(default)]
    reservation_set: Items<Reservation>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reservation {
    #[serde(default)]
    instances_set: Items<Instance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    instance_id: String,
    instance_state: InstanceState,
    #[serde(default)]
    tag_set: Items<Tag>,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    private_ip_address: Option<String>,
    #[serde(default)]
    launch_time: Option<String>,
    #[serde(default)]
    network_interface_set: Items<NetworkInterface>,
}

#[derive(Deserialize)]
struct InstanceState {
    name: String,
}

#[derive(Deserialize)]
struct Tag {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkInterface {
    #[serde(default)]
    private_ip_addresses_set: Items<PrivateIp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrivateIp {
    #[serde(default)]
    private_ip_address: Option<String>,
    #[serde(default)]
    association: Option<Association>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Association {
    #[serde(default)]
    public_ip: Option<String>,
}

/// `StopInstancesResponse` / `StartInstancesResponse`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateChangeResponse {
    #[serde(default)]
    instances_set: Items<StateChange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateChange {
    instance_id: String,
    current_state: InstanceState,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(rename = "Errors")]
    errors: ErrorList,
}

#[derive(Deserialize)]
struct ErrorList {
    #[serde(rename = "Error", default)]
    error: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN";

    fn ec2(endpoint: &str) -> Ec2 {
        Ec2::connect(
            "prod",
            Some(endpoint),
            "AKIDEXAMPLE",
            SecretString::from(SECRET),
            Some(SecretString::from(TOKEN)),
            &["eu-west-1".to_string(), "us-east-1".to_string()],
            Limits::default(),
        )
        .unwrap()
    }

    fn failure(status: u16, body: &str) -> HttpFailure {
        HttpFailure {
            status,
            headers: Default::default(),
            body: body.chars().take(300).collect(),
            full_body: body.to_string(),
        }
    }

    fn error_xml(code: &str, message: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"#
        )
    }

    fn map(code: &str, action: &str, retry: Retry, instance: Option<&str>) -> Error {
        let e = ec2("http://127.0.0.1:1");
        let f = failure(400, &error_xml(code, &format!("about {SECRET}")));
        let parsed = error_code(&f);
        e.failure(&e.regions[0], action, retry, instance, &f, parsed)
    }

    #[test]
    fn ec2_error_codes_become_typed_errors() {
        let auth = map("AuthFailure", "DescribeInstances", Retry::Idempotent, None);
        assert_eq!(auth.code(), ErrorCode::AuthFailed);
        assert!(auth.to_string().contains("access key"), "{auth}");
        assert_eq!(
            map(
                "SignatureDoesNotMatch",
                "StopInstances",
                Retry::NotIdempotent,
                None
            )
            .code(),
            ErrorCode::AuthFailed
        );
        let denied = map(
            "UnauthorizedOperation",
            "RebootInstances",
            Retry::NotIdempotent,
            Some("i-0123456789abcdef0"),
        );
        assert_eq!(denied.code(), ErrorCode::PermissionDenied);
        assert!(
            denied.to_string().contains("ec2:RebootInstances"),
            "{denied}"
        );
        let missing = map(
            "InvalidInstanceID.NotFound",
            "StopInstances",
            Retry::NotIdempotent,
            Some("i-0123456789abcdef0"),
        );
        assert_eq!(missing.code(), ErrorCode::NotFound);
        assert!(
            missing.to_string().contains("i-0123456789abcdef0"),
            "{missing}"
        );
        assert_eq!(
            map(
                "RequestLimitExceeded",
                "DescribeInstances",
                Retry::Idempotent,
                None
            )
            .code(),
            ErrorCode::RateLimited
        );
        assert_eq!(
            map(
                "IncorrectInstanceState",
                "StartInstances",
                Retry::NotIdempotent,
                None
            )
            .code(),
            ErrorCode::Conflict
        );
        assert_eq!(
            map("InternalError", "StopInstances", Retry::NotIdempotent, None).code(),
            ErrorCode::OutcomeUnknown
        );
        assert_eq!(
            map(
                "InternalError",
                "DescribeInstances",
                Retry::Idempotent,
                None
            )
            .code(),
            ErrorCode::ServiceFailed
        );
    }

    #[test]
    fn secrets_appear_neither_in_debug_nor_in_errors() {
        let e = ec2("http://127.0.0.1:1");
        let debug = format!("{e:?}");
        assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
        assert!(!debug.contains("AKIDEXAMPLE"), "{debug}");
        assert!(
            debug.contains("prod") && debug.contains("eu-west-1"),
            "{debug}"
        );
        for code in ["AuthFailure", "UnauthorizedOperation", "Whatever"] {
            let text = map(code, "StopInstances", Retry::NotIdempotent, None).to_string();
            assert!(!text.contains(SECRET), "{text}");
        }
    }

    #[test]
    fn a_request_is_signed_for_its_region_and_service() {
        let creds = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretString::from(SECRET),
            session_token: Some(SecretString::from(TOKEN)),
        };
        let headers = sign_headers(
            &creds,
            "eu-west-1",
            "http://127.0.0.1:5000/?Action=DescribeInstances&Version=2016-11-15",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/ec2/aws4_request"
            ),
            "{auth}"
        );
        assert!(auth.contains("SignedHeaders=host;x-amz-date"), "{auth}");
        assert!(!auth.contains(SECRET), "{auth}");
        assert_eq!(get("x-amz-date"), Some("20231114T221320Z"));
        assert_eq!(get("x-amz-security-token"), Some(TOKEN));
    }

    #[test]
    fn describe_instances_xml_becomes_servers() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-1234567890abcdef0</instanceId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateIpAddress>10.0.0.12</privateIpAddress>
          <ipAddress>54.194.252.215</ipAddress>
          <launchTime>2024-01-02T03:04:05.000Z</launchTime>
          <networkInterfaceSet><item><privateIpAddressesSet>
            <item><privateIpAddress>10.0.0.12</privateIpAddress><association><publicIp>54.194.252.215</publicIp></association></item>
            <item><privateIpAddress>10.0.0.13</privateIpAddress></item>
          </privateIpAddressesSet></item></networkInterfaceSet>
          <tagSet>
            <item><key>Name</key><value>web-1</value></item>
            <item><key>team</key><value>checkout</value></item>
          </tagSet>
        </item>
        <item>
          <instanceId>i-0598c7d356eba48d7</instanceId>
          <instanceState><code>48</code><name>terminated</name></instanceState>
          <tagSet/>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>eyJ2IjoiMiJ9</nextToken>
</DescribeInstancesResponse>"#;
        let e = ec2("http://127.0.0.1:1");
        let page: DescribeInstancesResponse = e.decode(&e.regions[0], xml).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiJ9"));
        let servers = e.servers_of(&e.regions[0], page.reservation_set);
        assert_eq!(servers.len(), 2);
        let web = &servers[0];
        assert_eq!(web.name.as_deref(), Some("web-1"));
        assert_eq!(web.status, ServerStatus::Running);
        assert_eq!(web.region, "eu-west-1");
        assert_eq!(web.public_ips, vec!["54.194.252.215"]);
        assert_eq!(web.private_ips, vec!["10.0.0.12", "10.0.0.13"]);
        assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
        assert_eq!(web.launched_at_ms, Some(1_704_164_645_000));
        assert_eq!(servers[1].status, ServerStatus::Terminated);
        assert_eq!(servers[1].name, None);
        let empty: DescribeInstancesResponse = e
            .decode(
                &e.regions[0],
                "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
            )
            .unwrap();
        assert!(empty.reservation_set.items.is_empty() && empty.next_token.is_none());
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        assert!(check_instance_id("i-0123456789abcdef0").is_ok());
        assert!(check_instance_id("i-12345678").is_ok());
        for bad in ["web-1", "i-xyz", "i-0123456789abcdef0&Action=Terminate", ""] {
            assert_eq!(
                check_instance_id(bad).unwrap_err().code(),
                ErrorCode::InvalidInput
            );
        }
        let e = Ec2::connect(
            "prod",
            None,
            "AKID",
            SecretString::from("s"),
            None,
            &["eu-west-1/../x".to_string()],
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        let ec2 = ec2("http://127.0.0.1:1");
        assert_eq!(
            ec2.regions[1].service.base_url(),
            "http://127.0.0.1:1/",
            "one endpoint serves every region"
        );
        let aws = Ec2::connect(
            "prod",
            None,
            "AKID",
            SecretString::from("s"),
            None,
            &["eu-west-1".to_string()],
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            aws.regions[0].service.base_url(),
            "https://ec2.eu-west-1.amazonaws.com/"
        );
    }

    #[tokio::test]
    async fn ec2_has_no_hard_reboot() {
        let e = ec2("http://127.0.0.1:1")
            .power("eu-west-1", "i-0123456789abcdef0", PowerAction::HardReboot)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("no hard reboot"), "{e}");
    }
}
