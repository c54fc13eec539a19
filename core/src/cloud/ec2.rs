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
//!   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html): client
//!   errors with a 4xx status, server errors (`InternalError`, `Unavailable`, and the throttling
//!   `RequestLimitExceeded`, which EC2 refused unprocessed) with a 5xx.
//!
//! The Query API takes its parameters in the query string of a GET as well as in a form POST
//! body; paaf uses the query string, as the HTTP client sends JSON bodies only.
//!
//! EC2 has no hard reboot: "if the instance does not cleanly shut down within a few minutes,
//! Amazon EC2 performs a hard reboot" (RebootInstances reference). A reboot cannot be told
//! from the API afterwards either (the state stays `running`): verifying it (a new boot id)
//! needs SSH to the instance.

use super::prelude::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use futures::future::BoxFuture;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// The API version every request names.
pub const API_VERSION: &str = "2016-11-15";
/// `MaxResults` of a `DescribeInstances` page by default (EC2's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

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

/// One configured AWS account: a client per region, whose [`Service`] signs each request
/// with its credentials ([`SigV4`]) and redacts the secret key and session token.
#[derive(Debug, Clone)]
pub struct Ec2 {
    name: String,
    regions: Vec<RegionClient>,
    page_size: u32,
}

#[derive(Debug, Clone)]
struct RegionClient {
    region: String,
    service: Service,
}

impl CloudProvider for Ec2 {
    kind_and_name!(CloudKind::Aws);

    /// Every instance of every configured region, the regions read concurrently; a region
    /// that fails is an error row and the others are still listed. Servers are sorted by
    /// region, then name, then id.
    async fn list(&self) -> Inventory {
        let regions: Vec<String> = self.regions.iter().map(|r| r.region.clone()).collect();
        Inventory::of_regions(Self::KIND, &self.name, &regions, |region| async move {
            let r = self.region(region)?;
            all_pages(r.service.name(), None, |token| self.page(r, token)).await
        })
        .await
    }

    /// The instance `id` in `region`, read now.
    async fn read(&self, region: &str, id: &str) -> Result<Server> {
        let r = self.region(region)?;
        check_instance_id(id)?;
        let doing = self.about(r, "DescribeInstances", id);
        let params = vec![("InstanceId.1".to_string(), id.to_string())];
        let xml = self
            .call(r, "DescribeInstances", params, Retry::Idempotent, &doing)
            .await?;
        let page: DescribeInstancesResponse = decode(r, &xml, "DescribeInstancesResponse")?;
        self.servers_of(r, page.reservation_set)
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| self.not_found(r, id))
    }

    /// Sends `action` for instance `id` in `region` once and returns EC2's acceptance. A
    /// failure after the request may have reached EC2 is `outcome-unknown`.
    async fn power(&self, region: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let r = self.region(region)?;
        check_instance_id(id)?;
        let api_action = action.word(["RebootInstances", "", "StopInstances", "StartInstances"], || format!("EC2 has no hard reboot (instance {id}): use reboot (EC2 forces it when the OS does not shut down within a few minutes), or stop then start"))?;
        let doing = self.about(r, api_action, id);
        let params = vec![("InstanceId.1".to_string(), id.to_string())];
        let xml = self
            .call(r, api_action, params, Retry::NotIdempotent, &doing)
            .await?;
        let state = match action {
            PowerAction::Reboot => None,
            _ => {
                let root = format!("{api_action}Response");
                let answer: StateChangeResponse = decode(r, &xml, &root)?;
                answer
                    .instances_set
                    .items
                    .into_iter()
                    .find(|i| i.instance_id == id)
                    .map(|i| i.current_state.name)
            }
        };
        Ok(Accepted {
            status: state.as_deref().map(normalize),
            raw_state: state,
            ..Accepted::without_state(action, id, None)
        })
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

impl FromConfig for Ec2 {
    type Keys = AwsConfig;

    /// The account `name` in its `regions`, at its `endpoint` for every region (a test server
    /// such as moto, which tells regions apart by the signature's scope) or, without one, at
    /// AWS's regional endpoints `https://ec2.{region}.amazonaws.com/`.
    fn connect(
        name: &str,
        aws: &AwsConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Ec2> {
        let session_token = aws.session_token.as_ref().map(|t| t.resolve(secrets));
        let credentials = AwsCredentials {
            session_token: session_token.transpose()?,
            secret_access_key: aws.secret_access_key.resolve(secrets)?,
            access_key_id: aws.access_key_id.clone(),
        };
        let endpoints = aws.regions.iter().map(|region| {
            let url = match &aws.endpoint {
                Some(url) => url.to_string(),
                None => format!("https://ec2.{region}.amazonaws.com/"),
            };
            (region.clone(), url)
        });
        Ec2::with_endpoints(name, credentials, &endpoints.collect::<Vec<_>>(), limits)
    }
}

impl Ec2 {
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
        let account = format!("aws \"{name}\"");
        let regions = endpoints.iter().map(|e| &e.0);
        let not_one = "an AWS region name (like eu-west-1)";
        check_listed(&account, "region", regions, is_region_name, not_one)?;
        let credentials = Arc::new(credentials);
        let mut regions = Vec::with_capacity(endpoints.len());
        for (region, url) in endpoints {
            let service_name = format!("aws \"{name}\" {region}");
            let signer = SigV4 {
                credentials: credentials.clone(),
                region: region.clone(),
                service: service_name.clone(),
            };
            let mut service = Service::new(&service_name, url, HttpAuth::None, limits.clone())?
                .with_signer(Arc::new(signer))
                .with_secret(credentials.secret_access_key.clone())
                .with_vendor(Ec2Errors {
                    account: name.to_string(),
                    region: region.clone(),
                });
            if let Some(token) = &credentials.session_token {
                service = service.with_secret(token.clone());
            }
            regions.push(RegionClient {
                region: region.clone(),
                service,
            });
        }
        Ok(Ec2 {
            name: name.to_string(),
            regions,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// `MaxResults` of each `DescribeInstances` page (EC2 takes 5–1000).
    pub fn with_page_size(mut self, page_size: u32) -> Ec2 {
        self.page_size = page_size.clamp(5, 1000);
        self
    }

    /// The configured regions, in order.
    pub fn regions(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.region.as_str()).collect()
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
        let doing = Doing::new(action).needs(format!("ec2:{action}"));
        self.call(r, action, params, retry, &doing).await
    }

    /// The `DescribeInstances` page at `token` (the first: `None`) of region `r`.
    async fn page(&self, r: &RegionClient, token: Option<String>) -> Result<Page<Option<String>>> {
        let mut params = vec![("MaxResults".to_string(), self.page_size.to_string())];
        params.extend(token.map(|t| ("NextToken".to_string(), t)));
        let doing = Doing::new("DescribeInstances").needs("ec2:DescribeInstances");
        let xml = self
            .call(r, "DescribeInstances", params, Retry::Idempotent, &doing)
            .await?;
        let page: DescribeInstancesResponse = decode(r, &xml, "DescribeInstancesResponse")?;
        Ok(Page {
            servers: self.servers_of(r, page.reservation_set),
            next: page.next_token.filter(|t| !t.is_empty()).map(Some),
        })
    }

    fn region(&self, region: &str) -> Result<&RegionClient> {
        let account = || format!("aws \"{}\"", self.name);
        let configured = self.regions.iter().find(|r| r.region == region);
        configured.ok_or_else(|| not_configured(&account(), "region", region, &self.regions()))
    }

    /// `api_action` about instance `id`: EC2's not-found of it names the region.
    fn about(&self, r: &RegionClient, api_action: &str, id: &str) -> Doing {
        Doing::new(format!("{api_action} of instance {id}"))
            .needs(format!("ec2:{api_action}"))
            .missing("EC2 instance", id, self.not_there(r))
    }

    /// Where an instance that is not found was looked for, and what to check.
    fn not_there(&self, r: &RegionClient) -> String {
        format!(
            "not in region {} of aws account \"{}\": check the id and the region",
            r.region, self.name
        )
    }

    /// One call, signed by the region's [`Service`] at each attempt ([`SigV4`]), through its
    /// failure policy (a throttled call was not processed: it is sent again like a 429, see
    /// [`Ec2Errors`]).
    async fn call(
        &self,
        r: &RegionClient,
        action: &str,
        params: Vec<(String, String)>,
        retry: Retry,
        doing: &Doing,
    ) -> Result<String> {
        let mut query = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".to_string(), API_VERSION.to_string()),
        ];
        query.extend(params);
        let request = Request {
            retry,
            query,
            ..Request::get("")
        };
        let response = r.service.fetch(request, doing).await?;
        Ok(String::from_utf8_lossy(&response.body).into_owned())
    }

    fn not_found(&self, r: &RegionClient, id: &str) -> Error {
        Error::NotFound {
            what: "EC2 instance",
            name: id.to_string(),
            hint: Some(self.not_there(r)),
        }
    }

    fn servers_of(&self, r: &RegionClient, reservations: Items<Reservation>) -> Vec<Server> {
        let instances = reservations
            .items
            .into_iter()
            .flat_map(|res| res.instances_set.items);
        instances.map(|i| self.server_of(r, i)).collect()
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
        Server {
            name: tags.get("Name").filter(|n| !n.is_empty()).cloned(),
            status: normalize(&i.instance_state.name),
            raw_state: i.instance_state.name,
            public_ips,
            private_ips,
            tags,
            launched_at_ms: i.launch_time.as_deref().and_then(launched_at),
            ..Server::of(Self::KIND, &self.name, &r.region, i.instance_id)
        }
    }
}

/// EC2's errors, for the failure policy of one region's [`Service`]: the error code of its XML
/// decides, the HTTP status only when the body is not EC2's error XML (a proxy, a load
/// balancer) or the code is a server error that leaves a change's outcome unknown.
struct Ec2Errors {
    account: String,
    region: String,
}

/// EC2's codes of a throttled request (refused unprocessed).
const THROTTLED: [&str; 3] = ["RequestLimitExceeded", "Throttling", "ThrottlingException"];

impl Vendor for Ec2Errors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let parsed: ErrorResponse = quick_xml::de::from_str(&failure.full_body).ok()?;
        let first = parsed.errors.error.into_iter().next()?;
        Some(Said::coded(first.code, first.message.unwrap_or_default()))
    }

    fn meaning(&self, _failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        Some(match said?.code() {
            "AuthFailure"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "ExpiredToken"
            | "RequestExpired"
            | "MissingAuthenticationToken" => ErrorCode::AuthFailed,
            "UnauthorizedOperation" | "OptInRequired" | "Blocked" => ErrorCode::PermissionDenied,
            "InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed" => ErrorCode::NotFound,
            code if THROTTLED.contains(&code) => ErrorCode::RateLimited,
            "IncorrectInstanceState" => ErrorCode::Conflict,
            // Server errors: whether a change took effect is unknown (the status decides).
            "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable" => {
                return None;
            }
            _ => ErrorCode::ServiceFailed,
        })
    }

    fn hint_for(
        &self,
        code: ErrorCode,
        _failure: &HttpFailure,
        said: Option<&Said>,
        doing: &Doing,
    ) -> Option<String> {
        let needed = doing.needed().unwrap_or("the action");
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "check the access key id and secret access key of aws account \"{}\", that a session token has not expired, and that this machine's clock is right",
                self.account
            ),
            ErrorCode::PermissionDenied => format!(
                "the credentials are valid but not allowed {needed}: grant it to their IAM user or role (or enable region {})",
                self.region
            ),
            ErrorCode::RateLimited => {
                "EC2 limits the request rate of this account: wait and try again".into()
            }
            ErrorCode::Conflict => format!(
                "the instance's current state does not allow {needed}: read its state and wait until it is running or stopped"
            ),
            ErrorCode::ServiceFailed if said.is_some() => "EC2 refused the request".into(),
            _ => return None,
        })
    }

    fn unprocessed(&self, _failure: &HttpFailure, said: Option<&Said>) -> bool {
        said.is_some_and(|s| THROTTLED.contains(&s.code()))
    }
}

/// The XML of a success whose root element is `root`; another document (a proxy's or a
/// sign-in page) is a `malformed-response`, never read as an empty answer.
fn decode<T: for<'de> Deserialize<'de>>(r: &RegionClient, xml: &str, root: &str) -> Result<T> {
    let malformed = |reason: String| Error::MalformedResponse {
        what: r.service.name().to_string(),
        reason,
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let first = loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                break e.local_name().as_ref().to_string();
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => break String::new(),
            Ok(_) => {}
        }
    };
    if first != root {
        return Err(malformed(format!(
            "not the EC2 XML its API documents (no {root})"
        )));
    }
    quick_xml::de::from_str(xml)
        .map_err(|e| malformed(format!("not the EC2 XML its API documents ({e})")))
}

/// Signs each attempt of a region's requests with SigV4 (a [`Signer`]): a request sent again
/// gets a new `X-Amz-Date`, never the first attempt's, which EC2 refuses once it is 5 minutes
/// old.
struct SigV4 {
    credentials: Arc<AwsCredentials>,
    region: String,
    /// The region's service, named in an error.
    service: String,
}

impl Signer for SigV4 {
    fn sign<'a>(
        &'a self,
        method: &'a Method,
        url: &'a reqwest::Url,
        _body: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>>> {
        let now = SystemTime::now();
        let signed = sign_headers(&self.credentials, &self.region, method, url.as_str(), now)
            .map_err(|reason| {
                Error::other(format!(
                    "{}: could not sign the request: {reason}",
                    self.service
                ))
            });
        Box::pin(async move { signed })
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) of `method` of
/// `url` with an empty body (the Query API's), scoped to `region`/`ec2`.
fn sign_headers(
    credentials: &AwsCredentials,
    region: &str,
    method: &Method,
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
    let empty = SignableBody::Bytes(&[]);
    let signable = SignableRequest::new(method.as_str(), url, std::iter::empty(), empty)
        .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
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

/// Refuses what cannot be an instance id before anything is sent (`i-` and 8 or 17 hex
/// digits).
fn check_instance_id(id: &str) -> Result<()> {
    let ok = id
        .strip_prefix("i-")
        .is_some_and(|h| matches!(h.len(), 8 | 17) && h.chars().all(|c| c.is_ascii_hexdigit()));
    check_id(id, ok, "an EC2 instance id (like i-0123456789abcdef0)")
}

// ---- EC2's XML, as much of it as paaf reads (unknown elements are skipped, missing ones
// are empty) ----

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

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DescribeInstancesResponse {
    reservation_set: Items<Reservation>,
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Reservation {
    instances_set: Items<Instance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    instance_id: String,
    instance_state: InstanceState,
    #[serde(default)]
    tag_set: Items<Tag>,
    ip_address: Option<String>,
    private_ip_address: Option<String>,
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
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NetworkInterface {
    private_ip_addresses_set: Items<PrivateIp>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PrivateIp {
    private_ip_address: Option<String>,
    association: Option<Association>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Association {
    public_ip: Option<String>,
}

/// `StopInstancesResponse` / `StartInstancesResponse`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StateChangeResponse {
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
#[serde(rename_all = "PascalCase")]
struct ErrorItem {
    code: String,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN";

    fn ec2(endpoint: Option<&str>, regions: &[&str]) -> Result<Ec2> {
        let keys = AwsConfig {
            regions: regions.iter().map(|r| r.to_string()).collect(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: crate::cloud::test_secret(),
            session_token: Some(SecretRef::Keyring("token".into())),
            endpoint: endpoint.map(str::to_string),
        };
        let secrets = crate::cloud::test_store(SECRET);
        secrets.set("token", &SecretString::from(TOKEN)).unwrap();
        FromConfig::connect("prod", &keys, &secrets, Limits::default())
    }

    #[test]
    fn secrets_appear_neither_in_debug_nor_in_errors() {
        let e = ec2(Some("http://127.0.0.1:1"), &["eu-west-1", "us-east-1"]).unwrap();
        let shown = ["prod", "eu-west-1"];
        crate::cloud::assert_hidden(&e, &[SECRET, TOKEN, "AKIDEXAMPLE"], &shown);
        let echo = format!(
            "<Response><Errors><Error><Code>AuthFailure</Code><Message>about {SECRET} {TOKEN}</Message></Error></Errors></Response>"
        );
        let failure = HttpFailure {
            body: echo.clone(),
            ..crate::cloud::test_failure(401, echo)
        };
        let text = e.regions[0].service.status_error(&failure).to_string();
        assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
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
            &Method::GET,
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
        let e = ec2(Some("http://127.0.0.1:1"), &["eu-west-1"]).unwrap();
        let r = &e.regions[0];
        let page: DescribeInstancesResponse = decode(r, xml, "DescribeInstancesResponse").unwrap();
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiJ9"));
        let servers = e.servers_of(r, page.reservation_set);
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
        let empty: DescribeInstancesResponse = decode(
            r,
            "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
            "DescribeInstancesResponse",
        )
        .unwrap();
        assert!(empty.reservation_set.items.is_empty() && empty.next_token.is_none());
        // A sign-in page is not an empty answer.
        let e = decode::<DescribeInstancesResponse>(
            r,
            "<html>sign in</html>",
            "DescribeInstancesResponse",
        );
        assert_eq!(
            e.err().map(|e| e.code()),
            Some(ErrorCode::MalformedResponse)
        );
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_anything_is_sent() {
        assert!(check_instance_id("i-0123456789abcdef0").is_ok());
        assert!(check_instance_id("i-12345678").is_ok());
        crate::cloud::assert_refused(
            ["web-1", "i-xyz", "i-0123456789abcdef0&Action=Terminate", ""],
            check_instance_id,
        );
        let e = ec2(None, &["eu-west-1/../x"]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        let one = ec2(Some("http://127.0.0.1:1"), &["eu-west-1", "us-east-1"]).unwrap();
        assert_eq!(
            one.regions[1].service.base_url(),
            "http://127.0.0.1:1/",
            "one endpoint serves every region"
        );
        let aws = ec2(None, &["eu-west-1"]).unwrap();
        assert_eq!(
            aws.regions[0].service.base_url(),
            "https://ec2.eu-west-1.amazonaws.com/"
        );
        let e = one
            .power("eu-west-1", "i-0123456789abcdef0", PowerAction::HardReboot)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("no hard reboot"), "{e}");
    }
}
