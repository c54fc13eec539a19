//! The Unleash flag backend against a real Unleash (npm unleash-server 7.5.1 over PostgreSQL),
//! started by `tests/peers/unleash.sh`. One server for the whole file (a start takes ~8 s and
//! cargo-nextest runs each test in its own process), so the file is one test whose steps run in
//! order, each named in the output; the server stops when the test ends, failed or not.

use paaf_core::ErrorCode;
use paaf_core::flags::unleash::Unleash;
use paaf_core::flags::{ChangeNote, FlagBackend, FlagFilter, FlagRef, FlagState, FlagSwitch};
use paaf_core::http::{HttpAuth, Limits, Method, Request, Retry, Service};
use paaf_tests::UnleashServer;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BACKEND: &str = "test";

/// The admin API as the test's own setup uses it, behind paaf's back.
struct Admin {
    service: Service,
}

impl Admin {
    fn new(server: &UnleashServer) -> Admin {
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: SecretString::from(server.admin_token.clone()),
        };
        let service = Service::new(
            "unleash admin (test setup)",
            &server.url(),
            auth,
            Limits::default(),
        )
        .unwrap();
        Admin { service }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let request = Request::with_body(Method::POST, path, &body, Retry::NotIdempotent).unwrap();
        let response = self
            .service
            .send(request)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        if response.body.is_empty() {
            Value::Null
        } else {
            response.json(self.service.name()).unwrap()
        }
    }

    /// Turns a flag on or off without paaf.
    async fn switch(&self, key: &str, env: &str, on: bool) {
        let path = format!(
            "api/admin/projects/default/features/{key}/environments/{env}/{}",
            if on { "on" } else { "off" }
        );
        let request = Request::post(path.clone(), Retry::NotIdempotent);
        self.service
            .send(request)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }

    /// The flag's state as the admin API reports it, not through paaf.
    async fn enabled(&self, key: &str, env: &str) -> bool {
        let detail: Value = self
            .service
            .get_json(Request::get(format!(
                "api/admin/projects/default/features/{key}"
            )))
            .await
            .unwrap();
        detail["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == env)
            .unwrap_or_else(|| panic!("{key} has no {env}: {detail}"))["enabled"]
            .as_bool()
            .unwrap()
    }

    async fn create_flag(&self, key: &str, kind: &str, description: &str, tag: Option<&str>) {
        self.post(
            "api/admin/projects/default/features",
            json!({"name": key, "type": kind, "description": description}),
        )
        .await;
        if let Some(tag) = tag {
            self.post(
                &format!("api/admin/features/{key}/tags"),
                json!({"type": "simple", "value": tag}),
            )
            .await;
        }
    }

    /// A new SDK token (`backend` or `frontend`) for production in the default project.
    async fn sdk_token(&self, kind: &str) -> String {
        let token = self
            .post(
                "api/admin/api-tokens",
                json!({"tokenName": format!("paaf-test-{kind}"), "type": kind,
                       "environment": "production", "projects": ["default"]}),
            )
            .await;
        token["secret"].as_str().expect("token secret").to_string()
    }
}

fn backend_with(server: &UnleashServer, token: &str) -> Unleash {
    Unleash::connect(
        BACKEND,
        &server.url(),
        SecretString::from(token.to_string()),
        Limits::default(),
    )
    .unwrap()
}

fn flag<'a>(key: &'a str, environment: &'a str) -> FlagRef<'a> {
    FlagRef {
        project: "default",
        key,
        environment,
    }
}

/// Unleash has no conditional write: every read says so.
fn state(enabled: bool) -> FlagState {
    FlagState::best_effort(enabled)
}

/// Switches `flag` to `enabled`, the user having seen it `seen` (an error is shown).
async fn switch(
    unleash: &Unleash,
    flag: &FlagRef<'_>,
    enabled: bool,
    seen: &FlagState,
) -> paaf_core::Result<FlagState> {
    let note = ChangeNote {
        comment: "paaf: integration test".into(),
    };
    let switch = FlagSwitch {
        flag,
        enabled,
        expected: seen,
        note: &note,
        expected_is_now: false,
    };
    unleash.set(&switch).await.map_err(shown)
}

fn keys(flags: &[paaf_core::flags::Flag]) -> Vec<&str> {
    flags.iter().map(|f| f.key.as_str()).collect()
}

/// Shows an error as a user would read it (in `--no-capture` output).
fn shown(e: paaf_core::Error) -> paaf_core::Error {
    eprintln!("        {}: {e}", e.code().as_str());
    e
}

fn step(name: &str, started: Instant) {
    eprintln!("[{:>5.1}s] {name}", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unleash_backend_against_a_real_server() {
    let started = Instant::now();
    let mut server = UnleashServer::start();
    step("server up", started);
    let admin = Admin::new(&server);
    admin
        .create_flag(
            "new-checkout",
            "release",
            "The new checkout flow",
            Some("checkout"),
        )
        .await;
    admin
        .create_flag("search-v2", "kill-switch", "", Some("search"))
        .await;
    admin
        .create_flag("payments-v3", "release", "Payments rewrite", None)
        .await;
    admin.switch("new-checkout", "production", true).await;
    admin.switch("new-checkout", "development", true).await;
    let unleash = backend_with(&server, &server.admin_token);
    assert_eq!(unleash.name(), BACKEND);

    step("list", started);
    list(&unleash, &server).await;
    step("state", started);
    read_state(&unleash).await;
    step("toggle in two environments independently", started);
    toggle(&unleash, &admin).await;
    step("stale state", started);
    stale_state(&unleash, &admin).await;
    step("wrong token", started);
    wrong_token(&server).await;
    step("SDK tokens", started);
    sdk_tokens(&server, &admin).await;
    step("unknown flag, project, environment", started);
    unknown(&unleash).await;
    step("a lost write is sent again only after a read", started);
    lost_write(&server, &admin).await;
    step("server stopped", started);
    server.stop();
    stopped(&unleash).await;
    step("done", started);
}

async fn list(unleash: &Unleash, server: &UnleashServer) {
    let all = unleash.list(&FlagFilter::default()).await.unwrap();
    assert_eq!(
        keys(&all),
        ["new-checkout", "payments-v3", "search-v2"],
        "{all:#?}"
    );
    let checkout = &all[0];
    assert_eq!(checkout.backend, BACKEND);
    assert_eq!(checkout.project, "default");
    assert_eq!(
        checkout.description.as_deref(),
        Some("The new checkout flow")
    );
    assert_eq!(checkout.tags, ["simple:checkout"]);
    assert_eq!(
        checkout.url.as_deref(),
        Some(format!("{}/projects/default/features/new-checkout", server.url()).as_str())
    );
    let envs: Vec<(&str, bool)> = checkout
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.enabled))
        .collect();
    assert_eq!(envs, [("development", true), ("production", true)]);
    assert!(all[2].environments.iter().all(|e| !e.enabled), "{all:#?}");

    let by_query = unleash
        .list(&FlagFilter {
            query: Some("CHECK".into()),
            ..FlagFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(keys(&by_query), ["new-checkout"]);

    let by_project = unleash
        .list(&FlagFilter {
            project: Some("default".into()),
            ..FlagFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_project.len(), 3);

    let by_env = unleash
        .list(&FlagFilter {
            environment: Some("production".into()),
            ..FlagFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_env.len(), 3);
    assert!(
        by_env
            .iter()
            .all(|f| f.environments.len() == 1 && f.environments[0].name == "production"),
        "{by_env:#?}"
    );

    for (tag, want) in [("checkout", "new-checkout"), ("simple:search", "search-v2")] {
        let by_tag = unleash
            .list(&FlagFilter {
                tag: Some(tag.into()),
                ..FlagFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(keys(&by_tag), [want], "tag {tag}");
    }

    let combined = unleash
        .list(&FlagFilter {
            query: Some("v".into()),
            tag: Some("search".into()),
            environment: Some("development".into()),
            project: Some("default".into()),
        })
        .await
        .unwrap();
    assert_eq!(keys(&combined), ["search-v2"]);
}

async fn read_state(unleash: &Unleash) {
    assert_eq!(
        unleash
            .state(&flag("new-checkout", "production"))
            .await
            .unwrap(),
        state(true)
    );
    assert_eq!(
        unleash
            .state(&flag("new-checkout", "development"))
            .await
            .unwrap(),
        state(true)
    );
    assert_eq!(
        unleash
            .state(&flag("search-v2", "production"))
            .await
            .unwrap(),
        state(false)
    );
}

async fn toggle(unleash: &Unleash, admin: &Admin) {
    let prod = flag("new-checkout", "production");
    let dev = flag("new-checkout", "development");

    let now = switch(unleash, &prod, false, &state(true)).await.unwrap();
    assert_eq!(now, state(false));
    assert!(!admin.enabled("new-checkout", "production").await);
    assert!(admin.enabled("new-checkout", "development").await);

    let now = switch(unleash, &dev, false, &state(true)).await.unwrap();
    assert_eq!(now, state(false));
    assert!(!admin.enabled("new-checkout", "development").await);
    assert!(!admin.enabled("new-checkout", "production").await);

    let now = switch(unleash, &prod, true, &state(false)).await.unwrap();
    assert_eq!(now, state(true));
    assert!(admin.enabled("new-checkout", "production").await);
    assert!(!admin.enabled("new-checkout", "development").await);

    let now = switch(unleash, &dev, true, &state(false)).await.unwrap();
    assert_eq!(now, state(true));
    assert!(admin.enabled("new-checkout", "development").await);
    assert!(admin.enabled("new-checkout", "production").await);
}

async fn stale_state(unleash: &Unleash, admin: &Admin) {
    let target = flag("search-v2", "production");
    let seen = unleash.state(&target).await.unwrap();
    assert_eq!(seen, state(false));
    // Someone else switches it on between what the user saw and the confirmed change.
    admin.switch("search-v2", "production", true).await;
    let e = switch(unleash, &target, true, &seen).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    let text = e.to_string();
    for part in [
        "unleash \"test\"",
        "`search-v2`",
        "project `default`",
        "environment `production`",
        "now ON, not OFF",
        "turned on by admin",
        "nothing was changed",
    ] {
        assert!(text.contains(part), "missing {part:?} in: {text}");
    }
    assert!(admin.enabled("search-v2", "production").await);
    assert!(!admin.enabled("search-v2", "development").await);

    // The same for a kill switch: seen ON, someone turns it OFF, paaf's OFF is refused too.
    let target = flag("new-checkout", "production");
    let seen = unleash.state(&target).await.unwrap();
    admin.switch("new-checkout", "production", false).await;
    let e = switch(unleash, &target, false, &seen).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert!(e.to_string().contains("turned off by admin"), "{e}");
    assert!(!admin.enabled("new-checkout", "production").await);
    assert!(admin.enabled("new-checkout", "development").await);
}

async fn wrong_token(server: &UnleashServer) {
    let wrong = backend_with(server, "*:*.0123456789abcdef0123456789abcdef");
    let e = wrong
        .list(&FlagFilter::default())
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    let text = e.to_string();
    assert!(text.contains("unleash \"test\""), "{text}");
    assert!(!text.contains("0123456789abcdef"), "{text}");
    let e = wrong
        .state(&flag("new-checkout", "production"))
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(e.to_string().contains("flag `new-checkout`"), "{e}");
}

async fn sdk_tokens(server: &UnleashServer, admin: &Admin) {
    for kind in ["backend", "frontend"] {
        let token = admin.sdk_token(kind).await;
        let secret_part = token.split_once('.').unwrap().1.to_string();

        // Refused before any request when the format shows it.
        let e = Unleash::connect(
            BACKEND,
            &server.url(),
            SecretString::from(token.clone()),
            Limits::default(),
        )
        .map_err(shown)
        .unwrap_err();
        assert!(e.to_string().contains("client (SDK) token"), "{e}");

        // And explained from the server's answer when it gets that far.
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: SecretString::from(token.clone()),
        };
        let service =
            Service::new("unleash \"test\"", &server.url(), auth, Limits::default()).unwrap();
        let sdk = Unleash::new(BACKEND, service);
        let e = sdk
            .list(&FlagFilter::default())
            .await
            .map_err(shown)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::AuthFailed, "{kind}: {e}");
        let text = e.to_string();
        assert!(
            text.contains(
                "this is a client (SDK) token; paaf needs an admin or personal access token"
            ),
            "{kind}: {text}"
        );
        assert!(!text.contains(&secret_part), "{text}");
        let e = switch(&sdk, &flag("search-v2", "production"), false, &state(true))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::AuthFailed, "{kind}: {e}");
        assert!(admin.enabled("search-v2", "production").await);
    }
}

async fn unknown(unleash: &Unleash) {
    let e = unleash
        .state(&flag("no-such-flag", "production"))
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("no-such-flag"), "{e}");
    assert!(e.to_string().contains("unleash \"test\""), "{e}");

    let other_project = FlagRef {
        project: "no-such-project",
        key: "new-checkout",
        environment: "production",
    };
    let e = unleash
        .state(&other_project)
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(
        e.to_string().contains("project named `no-such-project`"),
        "{e}"
    );
    let e = switch(unleash, &other_project, false, &state(true))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");

    let e = unleash
        .state(&flag("new-checkout", "staging"))
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let text = e.to_string();
    assert!(text.contains("environment named `staging`"), "{text}");
    assert!(text.contains("development, production"), "{text}");
    let staging = flag("new-checkout", "staging");
    let e = switch(unleash, &staging, true, &state(false))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");

    let e = unleash
        .list(&FlagFilter {
            project: Some("no-such-project".into()),
            ..FlagFilter::default()
        })
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("no-such-project"), "{e}");
    let e = unleash
        .list(&FlagFilter {
            environment: Some("staging".into()),
            ..FlagFilter::default()
        })
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("staging"), "{e}");
}

async fn stopped(unleash: &Unleash) {
    let e = unleash
        .list(&FlagFilter::default())
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unreachable, "{e}");
    assert!(e.to_string().contains("unleash \"test\""), "{e}");
    let dev = flag("new-checkout", "development");
    let e = switch(unleash, &dev, false, &state(true))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unreachable, "{e}");
}

/// A reverse proxy in front of the real Unleash that loses the first request whose line
/// contains `lost`: it runs `meanwhile` (someone else's change, on the real server), answers
/// 503 without forwarding the request, and forwards every other request. It logs each request
/// line.
struct LossyProxy {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl LossyProxy {
    fn start(
        upstream: u16,
        lost: &'static str,
        meanwhile: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let meanwhile: Arc<dyn Fn() + Send + Sync> = Arc::new(meanwhile);
        let tripped = Arc::new(AtomicBool::new(false));
        let shared = log.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (log, meanwhile, tripped) =
                    (shared.clone(), meanwhile.clone(), tripped.clone());
                std::thread::spawn(move || {
                    proxy_connection(client, upstream, lost, &log, &*meanwhile, &tripped)
                });
            }
        });
        LossyProxy { port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The methods of the requests seen, in order (`POST …/off` as `POST off`).
    fn seen(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|line| {
                let mut words = line.split(' ');
                let method = words.next().unwrap_or_default();
                let last = words
                    .next()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                match method {
                    "POST" => format!("POST {last}"),
                    other => other.to_string(),
                }
            })
            .collect()
    }
}

fn proxy_connection(
    mut client: TcpStream,
    upstream: u16,
    lost: &str,
    log: &Mutex<Vec<String>>,
    meanwhile: &dyn Fn(),
    tripped: &AtomicBool,
) {
    while let Some(request) = read_request(&mut client) {
        let text = String::from_utf8_lossy(&request).into_owned();
        let line = text.lines().next().unwrap_or_default().to_string();
        log.lock().unwrap().push(line.clone());
        if line.contains(lost) && !tripped.swap(true, Ordering::SeqCst) {
            meanwhile();
            let lost = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            if client.write_all(lost).is_err() {
                return;
            }
            continue;
        }
        // One upstream connection per request, closed after its answer; so is this one.
        let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
        up.write_all(&connection_close(&request)).unwrap();
        let mut answer = Vec::new();
        up.read_to_end(&mut answer).unwrap();
        let _ = client.write_all(&answer);
        return;
    }
}

/// One HTTP/1.1 request (head and `content-length` body), or `None` at the end of the stream.
fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&request).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    client.read_exact(&mut body).ok()?;
    request.extend(body);
    Some(request)
}

/// The request with `Connection: close` instead of its own connection header.
fn connection_close(request: &[u8]) -> Vec<u8> {
    let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out: String = head
        .split("\r\n")
        .filter(|l| !l.to_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("connection: close\r\n\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&request[end + 4..]);
    out
}

/// Switches a flag on the real server directly (blocking: it runs in the proxy's thread).
fn switch_directly(port: u16, token: &str, key: &str, env: &str, on: bool) {
    let mut up = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let path = format!(
        "/api/admin/projects/default/features/{key}/environments/{env}/{}",
        if on { "on" } else { "off" }
    );
    write!(
        up,
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: {token}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    up.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Unleash has no conditional write, and its on/off sets an absolute state: a write whose
/// answer is lost (a 503 from a proxy, a timeout) may or may not have happened. paaf sends it
/// again only after a read shows it still needed: never over a change someone made meanwhile,
/// and never as its own when someone else made it.
async fn lost_write(server: &UnleashServer, admin: &Admin) {
    admin.switch("payments-v3", "production", true).await;
    let target = flag("payments-v3", "production");
    let (port, token) = (server.port, server.admin_token.clone());
    let through = |proxy: &LossyProxy| {
        Unleash::connect(
            BACKEND,
            &proxy.url(),
            SecretString::from(server.admin_token.clone()),
            Limits::default(),
        )
        .unwrap()
    };

    // paaf's OFF is lost while someone else turns the flag off: the read after shows it off,
    // and nothing is sent again.
    let proxy = LossyProxy::start(
        port,
        "/payments-v3/environments/production/off",
        move || switch_directly(port, &token, "payments-v3", "production", false),
    );
    let unleash = through(&proxy);
    let seen = unleash.state(&target).await.unwrap();
    assert_eq!(seen, state(true));
    let now = switch(&unleash, &target, false, &seen).await.unwrap();
    assert_eq!(now, state(false));
    assert_eq!(
        proxy.seen(),
        ["GET", "GET", "POST off", "GET"],
        "the write was sent again without a read showing it still needed"
    );
    assert!(!admin.enabled("payments-v3", "production").await);

    // paaf's ON is lost and nobody changes it: the read after shows it still off, and the write
    // goes again, after that read.
    let proxy = LossyProxy::start(port, "/payments-v3/environments/production/on", || {});
    let unleash = through(&proxy);
    let now = switch(&unleash, &target, true, &state(false))
        .await
        .unwrap();
    assert_eq!(now, state(true));
    assert_eq!(
        proxy.seen(),
        ["GET", "POST on", "GET", "POST on", "GET"],
        "the write was sent again without a read first"
    );
    assert!(admin.enabled("payments-v3", "production").await);
}
