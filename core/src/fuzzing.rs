//! Entry points for the fuzz targets (`fuzz/`) and the property tests, one per area: each runs
//! the code paths paaf runs on a service's answers — the providers' private response types,
//! their error bodies, pagination and operation following — with the answers replayed, in
//! order, by a loopback HTTP server. Not an API: compiled only with the `fuzzing` feature
//! (and in tests).
//!
//! An input is a list of answers separated by NUL bytes (JSON text never holds one). An answer
//! is a body, optionally preceded by `HTTP <status>` and header lines up to a blank line:
//!
//! ```text
//! HTTP 202
//! Azure-AsyncOperation: {origin}/operations/1
//!
//! {"status": "InProgress"}
//! ```
//!
//! A body with NUL bytes (an image) is written in base64 after an `x-fuzz-base64-body: 1`
//! header line. `{origin}` becomes the server's own `http://127.0.0.1:PORT`, so that an answer can name a
//! URL paaf follows. Statuses outside 2xx, 4xx and 5xx are 200 (a redirect would leave the
//! loopback). Once the answers run out, every request gets a 404.

use crate::error::Error;
use crate::http::{HttpAuth, Limits, Service};
use base64::Engine;
use secrecy::SecretString;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// A header line that is not sent: the body is base64 (a PNG holds NUL bytes).
const BASE64_BODY: &str = "x-fuzz-base64-body";

/// One replayed HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The answers of an input (see the module's doc), `{origin}` replaced.
fn parse_answers(input: &[u8], origin: &str) -> VecDeque<Answer> {
    input
        .split(|b| *b == 0)
        .map(|raw| {
            let raw = replace(raw, b"{origin}", origin.as_bytes());
            let Some(rest) = raw.strip_prefix(b"HTTP ") else {
                return Answer {
                    status: 200,
                    headers: Vec::new(),
                    body: raw,
                };
            };
            let (head, body) = match find(rest, b"\n\n") {
                Some(i) => (&rest[..i], rest[i + 2..].to_vec()),
                None => (rest, Vec::new()),
            };
            let head = String::from_utf8_lossy(head);
            let mut lines = head.lines();
            let status = lines
                .next()
                .and_then(|l| l.trim().parse::<u16>().ok())
                .filter(|s| matches!(s, 200..=299 | 400..=599))
                .unwrap_or(200);
            let (encoding, headers): (Vec<_>, Vec<_>) = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .filter(|(n, v)| {
                    reqwest::header::HeaderName::from_bytes(n.as_bytes()).is_ok()
                        && reqwest::header::HeaderValue::from_str(v).is_ok()
                        && !n.eq_ignore_ascii_case("content-length")
                        && !n.eq_ignore_ascii_case("transfer-encoding")
                })
                .partition(|(n, _)| n.eq_ignore_ascii_case(BASE64_BODY));
            let body = match encoding.is_empty() {
                true => body,
                false => base64::engine::general_purpose::STANDARD
                    .decode(body.trim_ascii())
                    .unwrap_or(body),
            };
            Answer {
                status,
                headers,
                body,
            }
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Answers requests from the shared queue; a 404 once it is empty.
struct Replay(Arc<Mutex<VecDeque<Answer>>>);

impl Respond for Replay {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let next = lock(&self.0).pop_front();
        if std::env::var_os("PAAF_FUZZ_TRACE").is_some() {
            eprintln!(
                "{} {} -> {}",
                request.method,
                request.url,
                next.as_ref().map_or(404, |a| a.status)
            );
        }
        match next {
            Some(answer) => answer.headers.iter().fold(
                ResponseTemplate::new(answer.status).set_body_bytes(answer.body),
                |t, (n, v)| t.insert_header(n.as_str(), v.as_str()),
            ),
            None => ResponseTemplate::new(404),
        }
    }
}

/// The loopback server and the runtime the calls run on, made once per process.
struct Replayer {
    runtime: tokio::runtime::Runtime,
    origin: String,
    queue: Arc<Mutex<VecDeque<Answer>>>,
    /// One replay at a time (property tests run on several threads).
    turn: Mutex<()>,
    _server: MockServer,
}

/// A lock that a panicking test case (a property test's failure) does not poison for the next.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn replayer() -> &'static Replayer {
    static REPLAYER: OnceLock<Replayer> = OnceLock::new();
    REPLAYER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the replay");
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let server = runtime.block_on(async {
            let server = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Replay(queue.clone()))
                .mount(&server)
                .await;
            server
        });
        Replayer {
            runtime,
            origin: server.uri(),
            queue,
            turn: Mutex::new(()),
            _server: server,
        }
    })
}

/// Runs `call` (given the server's origin) while the server answers with `input`'s answers.
fn replay<F, Fut, T>(input: &[u8], call: F) -> T
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = T>,
{
    let r = replayer();
    let _turn = lock(&r.turn);
    *lock(&r.queue) = parse_answers(input, &r.origin);
    let out = r.runtime.block_on(call(r.origin.clone()));
    lock(&r.queue).clear();
    out
}

/// Limits that keep one input quick: one attempt (no retry waits), short timeouts.
fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        max_attempts: 1,
        max_retry_wait: Duration::ZERO,
        ..Limits::default()
    }
}

/// `Ok` and the start of its Debug, or an error's code and message: what a test compares.
fn outcome<T: std::fmt::Debug>(r: &crate::Result<T>) -> String {
    match r {
        Ok(v) => format!(
            "ok {}",
            format!("{v:?}").chars().take(300).collect::<String>()
        ),
        Err(e) => error(e),
    }
}

/// The first `N` bytes of a fuzz input (zeros when it is shorter), and the rest after an
/// optional newline.
fn selectors<const N: usize>(input: &[u8]) -> ([u8; N], &[u8]) {
    let mut picked = [0u8; N];
    let n = input.len().min(N);
    picked[..n].copy_from_slice(&input[..n]);
    let rest = &input[n..];
    (picked, rest.strip_prefix(b"\n").unwrap_or(rest))
}

/// The item of `list` that the selector byte `byte` names: `first` is the first, the next byte
/// the second, and so on round.
fn pick<T: Copy>(list: &[T], byte: u8, first: u8) -> T {
    list[usize::from(byte.wrapping_sub(first)) % list.len()]
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn error(e: &Error) -> String {
    format!("error {}: {e}", e.code().as_str())
}

#[cfg(feature = "cloud")]
pub use cloud::{cloud_answers, decode_cloud_answer};

#[cfg(feature = "cloud")]
mod cloud {
    use super::{error, limits, outcome, pick, replay, secret};
    use crate::cloud::{CloudAccount, PollSettings, PowerAction};
    use crate::config::CloudKind;
    use crate::error::Result;
    use crate::events::CancellationToken;
    use std::time::Duration;

    /// The GCP service-account key of the contract tests (a throwaway test key).
    const GCP_TEST_KEY: &str = include_str!("../tests/fixtures/gcp-test-key.pem");

    /// An account of `provider` whose API (and token endpoint) is the replay server, made from
    /// its typed `[[clouds]]` keys as paaf makes it; each secret is `keyring:NAME` holding NAME.
    fn account(provider: &str, origin: &str) -> Result<Box<dyn CloudAccount>> {
        use crate::cloud::*;
        use crate::secrets::{MemoryStore, SecretRef, SecretStore};
        let store = MemoryStore::default();
        let keyring = |value: &str| {
            store.set(value, &secret(value)).expect("memory store");
            SecretRef::Keyring(value.to_string())
        };
        let none: Vec<String> = Vec::new();
        let one = |r: &str| vec![r.to_string()];
        fn make<T: FromConfig + CloudAccount + 'static>(
            keys: T::Keys,
            store: &MemoryStore,
        ) -> Result<Box<dyn CloudAccount>> {
            Ok(Box::new(T::connect("fuzz", &keys, store, limits())?))
        }
        let token = |value: &str, at: String| TokenConfig {
            token: keyring(value),
            regions: Vec::new(),
            endpoint: Some(at),
        };
        let origin_ = origin.to_string();
        match provider {
            "aws" => make::<ec2::Ec2>(
                ec2::AwsConfig {
                    regions: one("eu-west-1"),
                    access_key_id: "AKIAFUZZ0123456789AB".into(),
                    secret_access_key: keyring("fuzz/secret/access/key/0123456789abcdef"),
                    session_token: None,
                    endpoint: Some(origin_),
                },
                &store,
            ),
            "gcp" => {
                let key = serde_json::json!({
                    "type": "service_account",
                    "project_id": "shop-prod",
                    "private_key_id": "8c7a1f0e2d",
                    "private_key": GCP_TEST_KEY,
                    "client_email": "paaf@shop-prod.iam.gserviceaccount.com",
                    "token_uri": format!("{origin}/token"),
                });
                let keys = gcp::GcpConfig {
                    project: "shop-prod".into(),
                    zones: one("europe-west1-b"),
                    credentials: keyring(&key.to_string()),
                    endpoint: Some(origin_),
                };
                make::<gcp::Gcp>(keys, &store)
            }
            "azure" => make::<azure::Azure>(
                azure::AzureConfig {
                    tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
                    client_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
                    client_secret: keyring("Xy8Q~fuzz.0123456789abcdefghijklmn"),
                    subscription_id: "00000000-1111-2222-3333-444444444444".into(),
                    locations: none,
                    endpoint: Some(origin_),
                    login_url: Some(format!("{origin}/login/")),
                },
                &store,
            ),
            "digitalocean" => {
                let keys = token("dop_v1_fuzz", origin_);
                make::<digitalocean::DigitalOcean>(keys, &store)
            }
            "hetzner" => {
                let keys = token("hcloud-fuzz", format!("{origin}/v1"));
                make::<hetzner::Hetzner>(keys, &store)
            }
            "scaleway" => make::<scaleway::Scaleway>(
                scaleway::ScalewayConfig {
                    token: keyring("5a7e1c3b-0d9f-4e2a-8b6c-c0ffee5ec12e"),
                    zones: one("fr-par-1"),
                    project: Some("00000000-0000-4000-8000-000000000001".into()),
                    endpoint: Some(origin_),
                },
                &store,
            ),
            "ovh" => make::<ovh::Ovh>(
                ovh::OvhConfig {
                    application_key: "7kbG7Bk7S9Nt7ZSV".into(),
                    application_secret: keyring("EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF"),
                    consumer_key: keyring("MtSwSrPpNjqfVSmJhLbPyr2i45lSDRsg"),
                    project: Some("5ad5ea9c6b2c4b0e9b7a0c1d2e3f4a5b".into()),
                    regions: none,
                    endpoint: Some(format!("{origin}/1.0")),
                },
                &store,
            ),
            "linode" => {
                let keys = token("linode-fuzz", origin_);
                make::<linode::Linode>(keys, &store)
            }
            "vultr" => {
                let keys = token("VULTRFUZZ", origin_);
                make::<vultr::Vultr>(keys, &store)
            }
            "proxmox" => make::<proxmox::Proxmox>(
                proxmox::ProxmoxConfig {
                    endpoint: origin_,
                    token_id: "paaf@pve!ops".into(),
                    token: keyring("8a1c6b5e-3f2d-4c1b-9e8f-7a6b5c4d3e2f"),
                    nodes: none,
                    ca_file: None,
                },
                &store,
            ),
            "kubernetes" => {
                let access = kubernetes::ClusterAccess {
                    server: origin_,
                    auth: crate::http::HttpAuth::Bearer(secret("k8s-fuzz-token")),
                    tls: Default::default(),
                    source: "the fuzz target".into(),
                };
                Ok(Box::new(kubernetes::Kubernetes::with_access(
                    "fuzz",
                    access,
                    &one("shop"),
                    limits(),
                )?))
            }
            "rebootx" => make::<rebootx::RebootX>(
                rebootx::RebootxConfig {
                    endpoint: format!("{origin}/cd5331ba"),
                    token: keyring("rbtx-fuzz"),
                    regions: none,
                },
                &store,
            ),
            other => Err(crate::Error::invalid(format!(
                "no cloud provider `{other}`"
            ))),
        }
    }

    /// A fuzz input for a cloud provider: its first byte picks the provider (`a` + its index
    /// in [`CloudKind::ALL`]: `a` aws, `b` gcp, …), the second the action (`0` reboot, `1`
    /// hard reboot, `2` stop, `3` start), then a newline (optional) and the answers; see
    /// [`cloud_answers`].
    pub fn decode_cloud_answer(input: &[u8]) -> String {
        let (selectors, answers) = super::selectors::<2>(input);
        let provider = pick(CloudKind::ALL, selectors[0], b'a').as_str();
        let actions = [
            PowerAction::Reboot,
            PowerAction::HardReboot,
            PowerAction::Stop,
            PowerAction::Start,
        ];
        let action = pick(&actions, selectors[1], b'0');
        cloud_answers(provider, action, answers)
    }

    /// A server of `provider` to read and power when the list gave none: its region and id.
    fn made_up_server(provider: &str) -> (&'static str, &'static str) {
        match provider {
            "aws" => ("eu-west-1", "i-0123456789abcdef0"),
            "gcp" => ("europe-west1-b", "web-1"),
            "azure" => (
                "westeurope",
                "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1",
            ),
            "digitalocean" => ("nyc3", "3164444"),
            "hetzner" => ("fsn1", "42"),
            "scaleway" => ("fr-par-1", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c"),
            "ovh" => ("GRA11", "0c1ab8a4-7d2b-4f3a-9c5e-123456789abc"),
            "linode" => ("us-east", "123"),
            "vultr" => ("ewr", "cb676a46-66fd-4dfb-b839-443f2e6c0b60"),
            "proxmox" => ("pve1", "100"),
            "kubernetes" => ("shop", "deployment/web"),
            _ => ("lyo-01", "123"),
        }
    }

    /// What a `[[clouds]]` account of `provider` does with `answers` (see the module's doc):
    /// lists its servers, reads the first one (or a made-up id), sends it `action` and follows
    /// the operation the API answered with. Returns what came out, one line per call.
    pub fn cloud_answers(provider: &str, action: PowerAction, answers: &[u8]) -> String {
        replay(answers, |origin| async move {
            let account = match account(provider, &origin) {
                Ok(a) => a,
                Err(e) => return format!("connect: {}", error(&e)),
            };
            let inventory = account.list().await;
            for s in &inventory.servers {
                assert_eq!(s.provider, account.provider(), "{s:?}");
                assert_eq!(s.account, "fuzz", "{s:?}");
            }
            let (region, id) = inventory.servers.first().map_or_else(
                || {
                    let (region, id) = made_up_server(provider);
                    (region.to_string(), id.to_string())
                },
                |s| (s.region.clone(), s.id.clone()),
            );
            let read = account.read(&region, &id).await;
            let power = account.power(&region, &id, action).await;
            let settled = match &power {
                Ok(accepted) => {
                    let quick = PollSettings {
                        interval: Duration::from_millis(1),
                        timeout: Duration::from_millis(500),
                    };
                    let cancel = CancellationToken::new();
                    outcome(&account.settle(&region, accepted, quick, &cancel).await)
                }
                Err(_) => "not sent".into(),
            };
            format!(
                "list: {} servers, errors {:?}\nread {region} {id}: {}\n{}: {}\nsettle: {settled}",
                inventory.servers.len(),
                inventory
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.error.code.as_str(), e.error.message))
                    .collect::<Vec<_>>(),
                outcome(&read),
                action.as_str(),
                outcome(&power),
            )
        })
    }
}

pub use flag_services::{FLAG_SERVICES, decode_flag_answer, flag_answers};

mod flag_services {
    use super::{error, limits, outcome, pick, replay, secret};
    use crate::error::Result;
    use crate::flags::devcycle::DevCycle;
    use crate::flags::featbit::FeatBit;
    use crate::flags::flagsmith::Flagsmith;
    use crate::flags::launchdarkly::LaunchDarkly;
    use crate::flags::optimizely::Optimizely;
    use crate::flags::unleash::Unleash;
    use crate::flags::{ChangeNote, FlagBackend, FlagFilter, FlagRef, FlagState, FlagSwitch};
    use std::collections::BTreeMap;

    /// Every flag service [`decode_flag_answer`] drives, by its `[[flags]] type`.
    pub const FLAG_SERVICES: [&str; 6] = [
        "unleash",
        "launchdarkly",
        "flagsmith",
        "devcycle",
        "optimizely",
        "featbit",
    ];

    /// A fuzz input for a flag service: its first byte picks the service (`a` + its index in
    /// [`FLAG_SERVICES`]: `a` unleash, `b` launchdarkly, …), then a newline (optional) and the
    /// answers; see [`flag_answers`].
    pub fn decode_flag_answer(input: &[u8]) -> String {
        let ([selector], answers) = super::selectors::<1>(input);
        let service = pick(&FLAG_SERVICES, selector, b'a');
        flag_answers(service, answers)
    }

    /// What a `[[flags]]` service of type `service` does with `answers` (see the module's
    /// doc): lists its flags, reads the first one's state in its first environment (or a
    /// made-up flag), and turns it the other way. Returns what came out, one line per call.
    pub fn flag_answers(service: &str, answers: &[u8]) -> String {
        replay(answers, |origin| async move {
            let origin = origin.as_str();
            let production =
                |id: &str| BTreeMap::from([("production".to_string(), id.to_string())]);
            match service {
                "unleash" => {
                    let b = Unleash::connect("fuzz", origin, secret("*:*.fuzz"), limits());
                    exercise(b, "default").await
                }
                "launchdarkly" => {
                    let envs = ["production".to_string()];
                    let b = LaunchDarkly::connect(
                        "fuzz",
                        origin,
                        secret("api-fuzz"),
                        limits(),
                        "default",
                        &envs,
                    );
                    exercise(b, "default").await
                }
                "flagsmith" => {
                    let b = Flagsmith::connect(
                        "fuzz",
                        origin,
                        secret("k7Qm2xPa.fuzz"),
                        limits(),
                        12,
                        &BTreeMap::new(),
                    );
                    exercise(b, "12").await
                }
                "devcycle" => {
                    let b = DevCycle::connect(
                        "fuzz",
                        origin,
                        "fuzz-client-id",
                        secret("cs_fuzz"),
                        limits(),
                        "shop",
                        &format!("{origin}/auth/"),
                    );
                    exercise(b, "shop").await
                }
                "optimizely" => {
                    let b = Optimizely::connect(
                        "fuzz",
                        origin,
                        secret("2:fuzz"),
                        limits(),
                        "4678434014625792",
                    );
                    exercise(b, "4678434014625792").await
                }
                "featbit" => {
                    let b = FeatBit::connect(
                        "fuzz",
                        origin,
                        secret("api-fuzz"),
                        limits(),
                        "shop",
                        &production("7ee5d7ae-3d8c-4f08-9e1c-0b1c6f0e4c2a"),
                    );
                    exercise(b, "shop").await
                }
                other => format!("no flag service `{other}`"),
            }
        })
    }

    async fn exercise<B: FlagBackend>(backend: Result<B>, project: &str) -> String {
        let backend = match backend {
            Ok(b) => b,
            Err(e) => return format!("connect: {}", error(&e)),
        };
        let list = backend.list(&FlagFilter::default()).await;
        let (project, key, environment) = match list.as_ref().ok().and_then(|l| l.first()) {
            Some(f) => (
                f.project.clone(),
                f.key.clone(),
                f.environments
                    .first()
                    .map_or("production".to_string(), |e| e.name.clone()),
            ),
            None => (project.into(), "new-checkout".into(), "production".into()),
        };
        let flag = FlagRef {
            project: &project,
            key: &key,
            environment: &environment,
        };
        let state = backend.state(&flag).await;
        let expected = state
            .as_ref()
            .cloned()
            .unwrap_or(FlagState::best_effort(true));
        let note = ChangeNote {
            comment: "paaf fuzz".into(),
        };
        let set = backend
            .set(&FlagSwitch {
                flag: &flag,
                enabled: !expected.enabled,
                expected: &expected,
                note: &note,
                expected_is_now: false,
            })
            .await;
        format!(
            "list: {}\nstate {project}/{key}/{environment}: {}\nset: {}",
            match &list {
                Ok(l) => format!("{} flags", l.len()),
                Err(e) => error(e),
            },
            outcome(&state),
            outcome(&set),
        )
    }
}

pub use monitoring::{MONITOR_CALLS, decode_alert_list, decode_monitor_answer, monitor_answers};

mod monitoring {
    use super::{HttpAuth, Service, limits, outcome, pick, replay, secret};
    use crate::Result;
    use crate::monitor::alert_list::{self, AlertView};
    use crate::monitor::alertmanager::{self, Alertmanager, Matcher, NewSilence};
    use crate::monitor::grafana::{Grafana, NewAnnotation, OpenOptions, SearchQuery};
    use crate::monitor::prometheus::{self, AlertState, Prometheus, RangeQuery};
    use std::time::Duration;

    /// Every call [`decode_monitor_answer`] makes, by name.
    pub const MONITOR_CALLS: [&str; 13] = [
        "grafana-search",
        "grafana-dashboard",
        "grafana-alerts",
        "grafana-silences",
        "grafana-annotate",
        "prometheus-query",
        "prometheus-query-range",
        "prometheus-alerts",
        "prometheus-targets",
        "alertmanager-alerts",
        "alertmanager-silences",
        "alertmanager-silence",
        "alertmanager-expire",
    ];

    /// "Now" for the calls that take a time: 2023-11-14T22:13:20Z.
    const NOW_MS: i64 = 1_700_000_000_000;

    /// A fuzz input for a monitoring call: its first byte picks the call (`a` + its index in
    /// [`MONITOR_CALLS`]: `a` grafana-search, `b` grafana-dashboard, …), then a newline
    /// (optional) and the answers; see [`monitor_answers`].
    pub fn decode_monitor_answer(input: &[u8]) -> String {
        let ([selector], answers) = super::selectors::<1>(input);
        let call = pick(&MONITOR_CALLS, selector, b'a');
        monitor_answers(call, answers)
    }

    /// What `call` (one of [`MONITOR_CALLS`]) does with `answers` (see the module's doc): the
    /// client call the facade makes, with what the facade does to its result (alerts turned
    /// into one sorted list, a dashboard's first panel's data and image). Returns what came
    /// out.
    pub fn monitor_answers(call: &str, answers: &[u8]) -> String {
        replay(answers, |origin| async move {
            let service = match Service::new(
                "fuzz",
                &origin,
                HttpAuth::Bearer(secret("glsa_fuzz")),
                limits(),
            ) {
                Ok(s) => s,
                Err(e) => return outcome::<()>(&Err(e)),
            };
            let grafana = Grafana::new(service.clone());
            let am = Alertmanager::new(&service, alertmanager::API_V2);
            let prom = Prometheus::new(&service, prometheus::API_V1);
            let silence = || {
                NewSilence::lasting(
                    vec![Matcher::equal("alertname", "CheckoutErrors")],
                    Duration::from_secs(3600),
                    "fuzz",
                    "fuzzing",
                )
            };
            match call {
                "grafana-search" => outcome(&grafana.search(&SearchQuery::default()).await),
                "grafana-dashboard" => dashboard(&grafana).await,
                "grafana-alerts" => rules(grafana.alerts().await),
                "grafana-silences" => outcome(&grafana.alertmanager().silences().await),
                "grafana-annotate" => {
                    let annotation = NewAnnotation {
                        time: NOW_MS,
                        text: "fuzz".into(),
                        ..Default::default()
                    };
                    outcome(&grafana.annotate(&annotation).await)
                }
                "prometheus-query" => outcome(&prom.query("up", Some(NOW_MS)).await),
                "prometheus-query-range" => {
                    let range = RangeQuery::new(NOW_MS - 3_600_000, NOW_MS);
                    outcome(&prom.query_range("rate(up[5m])", &range).await)
                }
                "prometheus-alerts" => rules(prom.alerts().await),
                "prometheus-targets" => outcome(&prom.targets().await),
                "alertmanager-alerts" => outcome(&am.alerts(&[]).await.map(alertmanager_views)),
                "alertmanager-silences" => outcome(&am.silences().await),
                "alertmanager-silence" => outcome(&am.create_silence(&silence()).await),
                "alertmanager-expire" => outcome(&am.expire_silence("fuzz-silence").await),
                other => format!("no monitor call `{other}`"),
            }
        })
    }

    /// Rule alerts as the alerts list shows them: inactive ones left out, sorted.
    fn rules(alerts: Result<Vec<prometheus::PromAlert>>) -> String {
        outcome(&alerts.map(rule_views))
    }

    fn rule_views(alerts: Vec<prometheus::PromAlert>) -> Vec<AlertView> {
        let mut views: Vec<AlertView> = alerts
            .into_iter()
            .filter(|a| a.state != AlertState::Inactive)
            .map(|a| alert_list::from_rule("fuzz", a))
            .collect();
        alert_list::sort(&mut views);
        views
    }

    /// Alertmanager's alerts as the alerts list shows them, sorted.
    fn alertmanager_views(alerts: Vec<alertmanager::Alert>) -> Vec<AlertView> {
        let mut views: Vec<AlertView> = alerts
            .into_iter()
            .map(|a| alert_list::from_alertmanager("fuzz", a))
            .collect();
        alert_list::sort(&mut views);
        views
    }

    /// A fuzz input for an alerts answer, decoded without HTTP (quicker than
    /// [`decode_monitor_answer`], so deeper in the same time): its first byte picks the
    /// format (`a` Alertmanager's `GET /api/v2/alerts`, `b` the rule alerts of Prometheus's or
    /// Grafana's `…/api/v1/alerts`), then a newline (optional) and the answer's body. Decoded
    /// as the clients decode a 2xx body, then made into the one sorted alert list the
    /// front-ends show.
    pub fn decode_alert_list(input: &[u8]) -> String {
        let ([selector], body) = super::selectors::<1>(input);
        match pick(&["alertmanager", "rules"], selector, b'a') {
            "alertmanager" => outcome(
                &alertmanager::decode_alerts(body, "fuzz api/v2/alerts").map(alertmanager_views),
            ),
            _ => outcome(
                &prometheus::decode_alerts_answer(body, "fuzz api/v1/alerts").map(rule_views),
            ),
        }
    }

    /// Opens a dashboard, then its first panel with queries: its data, then its image.
    async fn dashboard(grafana: &Grafana) -> String {
        let options = OpenOptions {
            now_ms: Some(NOW_MS),
            ..Default::default()
        };
        let dashboard = match grafana.dashboard("fuzz", &options).await {
            Ok(d) => d,
            Err(e) => return outcome::<()>(&Err(e)),
        };
        let Some(panel) = dashboard
            .panels
            .iter()
            .find(|p| !p.targets.is_empty())
            .or(dashboard.panels.first())
        else {
            return format!("ok {} panels", dashboard.panels.len());
        };
        let data = grafana.panel_data(&dashboard, panel.id, 300).await;
        let image = grafana.render_panel(&dashboard, panel.id, 400, 200).await;
        format!(
            "ok {} panels, {} variables\ndata: {}\nimage: {}",
            dashboard.panels.len(),
            dashboard.variables.len(),
            outcome(&data),
            match image {
                Ok(i) => format!("{:?}", std::mem::discriminant(&i)),
                Err(e) => outcome::<()>(&Err(e)),
            }
        )
    }
}

#[cfg(all(test, feature = "cloud"))]
mod tests;
