//! The Unleash flag backend against a real Unleash (npm unleash-server 7.5.1 over PostgreSQL),
//! started by `tests/peers/unleash.sh`. One server for the whole file (a start takes ~8 s and
//! cargo-nextest runs each test in its own process), so the file is one test whose steps run in
//! order, each named in the output; the server stops when the test ends, failed or not.

use paaf_core::ErrorCode;
use paaf_core::flags::unleash::Unleash;
use paaf_core::flags::{ChangeNote, FlagBackend, FlagFilter, FlagRef, FlagState};
use paaf_core::http::{HttpAuth, Limits, Method, Request, Retry, Service};
use paaf_tests::UnleashServer;
use secrecy::SecretString;
use serde_json::{Value, json};
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

fn state(enabled: bool) -> FlagState {
    FlagState {
        enabled,
        version: None,
    }
}

fn note() -> ChangeNote {
    ChangeNote {
        comment: "paaf: integration test".into(),
    }
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

    let now = unleash
        .set(&prod, false, &state(true), &note())
        .await
        .unwrap();
    assert_eq!(now, state(false));
    assert!(!admin.enabled("new-checkout", "production").await);
    assert!(admin.enabled("new-checkout", "development").await);

    let now = unleash
        .set(&dev, false, &state(true), &note())
        .await
        .unwrap();
    assert_eq!(now, state(false));
    assert!(!admin.enabled("new-checkout", "development").await);
    assert!(!admin.enabled("new-checkout", "production").await);

    let now = unleash
        .set(&prod, true, &state(false), &note())
        .await
        .unwrap();
    assert_eq!(now, state(true));
    assert!(admin.enabled("new-checkout", "production").await);
    assert!(!admin.enabled("new-checkout", "development").await);

    let now = unleash
        .set(&dev, true, &state(false), &note())
        .await
        .unwrap();
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
    let e = unleash
        .set(&target, true, &seen, &note())
        .await
        .map_err(shown)
        .unwrap_err();
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
    let e = unleash
        .set(&target, false, &seen, &note())
        .await
        .map_err(shown)
        .unwrap_err();
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
        let e = sdk
            .set(
                &flag("search-v2", "production"),
                false,
                &state(true),
                &note(),
            )
            .await
            .map_err(shown)
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
    let e = unleash
        .set(&other_project, false, &state(true), &note())
        .await
        .map_err(shown)
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
    let e = unleash
        .set(
            &flag("new-checkout", "staging"),
            true,
            &state(false),
            &note(),
        )
        .await
        .map_err(shown)
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
    let e = unleash
        .set(
            &flag("new-checkout", "development"),
            false,
            &state(true),
            &note(),
        )
        .await
        .map_err(shown)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unreachable, "{e}");
}
