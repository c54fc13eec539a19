//! The feature-flag commands of the `paaf` CLI against a real Unleash 7.5.1 + PostgreSQL
//! (tests/peers/unleash.sh): list, the kill switch with its confirmation, undo, the journal.

use paaf_core::http::{HttpAuth, Limits, Method, Request, Retry, Service};
use paaf_tests::{UnleashServer, World};
use secrecy::SecretString;
use serde_json::{Value, json};

const FLAG: &str = "new-checkout";

fn admin(server: &UnleashServer) -> Service {
    let auth = HttpAuth::Header {
        name: "authorization".into(),
        value: SecretString::from(server.admin_token.clone()),
    };
    Service::new("unleash admin", &server.url(), auth, Limits::default()).unwrap()
}

/// Creates the flag, ON in production and development, through Unleash's admin API.
async fn seed(server: &UnleashServer) {
    let api = admin(server);
    let body = json!({"name": FLAG, "type": "release", "description": "the new checkout"});
    let create = Request::with_body(
        Method::POST,
        "api/admin/projects/default/features",
        &body,
        Retry::NotIdempotent,
    )
    .unwrap();
    api.send(create).await.unwrap();
    for env in ["production", "development"] {
        let on = Request::post(
            format!("api/admin/projects/default/features/{FLAG}/environments/{env}/on"),
            Retry::Idempotent,
        );
        api.send(on).await.unwrap();
    }
}

fn json_of(world: &World, token: &str, args: &[&str]) -> (Option<i32>, Value) {
    let out = world
        .paaf()
        .env("PAAF_TEST_UNLEASH_TOKEN", token)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let body = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "paaf {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), body)
}

fn env_state(list: &Value, env: &str) -> bool {
    list[0]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == FLAG)
        .and_then(|f| {
            f["environments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == env)
        })
        .map(|e| e["enabled"] == true)
        .unwrap_or_else(|| panic!("{FLAG}@{env} not listed: {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kill_switch_through_the_cli_with_undo() {
    let server = UnleashServer::start();
    seed(&server).await;
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n\n[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"{}\"\ntoken = \"env:PAAF_TEST_UNLEASH_TOKEN\"\n",
        server.url()
    ));
    let token = server.admin_token.clone();

    let (code, list) = json_of(&world, &token, &["flags", "checkout"]);
    assert_eq!(code, Some(0), "{list}");
    assert!(env_state(&list, "production") && env_state(&list, "development"));

    // Without a confirmation nothing changes (exit 8).
    let (code, body) = json_of(
        &world,
        &token,
        &["flag", "off", FLAG, "--env", "production"],
    );
    assert_eq!(code, Some(8), "{body}");
    assert_eq!(body["error"]["code"], "confirmation-required");
    assert!(env_state(
        &json_of(&world, &token, &["flags"]).1,
        "production"
    ));

    // The kill switch: production only.
    let (code, change) = json_of(
        &world,
        &token,
        &["flag", "off", FLAG, "--env", "production", "--yes"],
    );
    assert_eq!(code, Some(0), "{change}");
    assert_eq!(
        (&change["was_enabled"], &change["enabled"]),
        (&json!(true), &json!(false))
    );
    let list = json_of(&world, &token, &["flags"]).1;
    assert!(!env_state(&list, "production"), "{list}");
    assert!(
        env_state(&list, "development"),
        "development untouched: {list}"
    );

    // Dry runs (issue 18) read the state now and show the write, but send and journal nothing.
    let id = change["action_id"].as_i64().unwrap().to_string();
    let journaled = paaf_tests::journal_json(&world).len();
    for args in [
        &["flag", "on", FLAG, "--env", "production", "--dry-run"][..],
        &["flag", "undo", &id, "--dry-run"],
    ] {
        let (code, plan) = json_of(&world, &token, args);
        assert_eq!(code, Some(0), "{args:?}: {plan}");
        assert_eq!(plan["now"], "OFF", "{plan}");
        assert!(plan["target"].as_str().unwrap().contains(FLAG), "{plan}");
        assert!(
            plan["steps"][0].as_str().unwrap().contains("turn it ON"),
            "{plan}"
        );
    }
    let (_, plan) = json_of(&world, &token, &["flag", "undo", &id, "--dry-run"]);
    assert_eq!(plan["action"], "flag-undo", "{plan}");
    assert!(!env_state(
        &json_of(&world, &token, &["flags"]).1,
        "production"
    ));
    assert_eq!(paaf_tests::journal_json(&world).len(), journaled);

    // Undo in one step, from the journal.
    let (code, undone) = json_of(&world, &token, &["flag", "undo", &id, "--yes"]);
    assert_eq!(code, Some(0), "{undone}");
    assert_eq!(undone["enabled"], true);
    assert!(env_state(
        &json_of(&world, &token, &["flags"]).1,
        "production"
    ));

    let journal = paaf_tests::journal_json(&world);
    let kinds: Vec<(&str, &str)> = journal
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("flag-off", "succeeded")), "{kinds:?}");
    assert!(kinds.contains(&("flag-on", "succeeded")), "{kinds:?}");

    // A flag change journaled by the first release (before the journal had typed data) is
    // undone by this one: its journal file (core/tests/fixtures/journal-v0.sqlite, whose
    // action 3 turned new-checkout off in production through a service named `unleash`).
    let old = World::new();
    old.write_config(
        &std::fs::read_to_string(world.config_path())
            .unwrap()
            .replace("name = \"prod\"", "name = \"unleash\""),
    );
    let fixture = paaf_tests::repo_root().join("core/tests/fixtures/journal-v0.sqlite");
    std::fs::copy(fixture, old.journal_path()).unwrap();
    let off = Request::post(
        format!("api/admin/projects/default/features/{FLAG}/environments/production/off"),
        Retry::Idempotent,
    );
    admin(&server).send(off).await.unwrap();
    assert!(!env_state(
        &json_of(&old, &token, &["flags"]).1,
        "production"
    ));
    let (code, undone) = json_of(&old, &token, &["flag", "undo", "3", "--yes"]);
    assert_eq!(code, Some(0), "{undone}");
    assert_eq!(
        (&undone["backend"], &undone["key"], &undone["enabled"]),
        (&json!("unleash"), &json!(FLAG), &json!(true))
    );
    assert!(env_state(
        &json_of(&old, &token, &["flags"]).1,
        "production"
    ));

    // A wrong token: auth-failed naming the service, exit 5; the token never printed.
    let (code, body) = json_of(
        &world,
        "*:*.not-the-token",
        &["flag", "off", FLAG, "--env", "production", "--yes"],
    );
    assert_eq!(code, Some(5), "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("prod"),
        "{body}"
    );
    assert!(!body.to_string().contains(&token));
    // An SDK token is refused with an explanation before anything is sent.
    let (code, body) = json_of(&world, "default:production.abc123", &["flags"]);
    assert_eq!(code, Some(0), "per-service errors are rows: {body}");
    let message = body[0]["error"]["message"].as_str().unwrap();
    assert!(message.to_lowercase().contains("sdk"), "{message}");
}

/// Env-file flags through the CLI: a `KEY=VALUE` file on a real sshd host, its unit restarted.
#[test]
fn an_env_file_flag_through_the_cli_with_a_rollback_when_the_unit_fails() {
    let world = World::new();
    let host = paaf_tests::SshHost::start(&[&world.key]);
    world.trust(&host);
    host.add_unit("checkout.service");
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("flags.env");
    std::fs::write(
        &file,
        "# checkout flags\nNEW_CHECKOUT=true\nDB_PASSWORD=hunter2-not-a-flag\n",
    )
    .unwrap();
    world.write_config(&format!(
        "operator = \"alice\"\n{}\n[[flags]]\nname = \"env\"\ntype = \"env-file\"\nhost = \"web-1\"\npath = \"{}\"\nunit = \"checkout.service\"\n",
        paaf_tests::host_entry("web-1", &host, &world.key, ""),
        file.display()
    ));
    let run = |args: &[&str]| {
        let out = world.paaf().args(args).arg("--json").output().unwrap();
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            body,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, list, err) = run(&["flags"]);
    assert_eq!(code, Some(0), "{err}");
    let flags = list[0]["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "only boolean keys are flags: {list}");
    assert_eq!(flags[0]["key"], "NEW_CHECKOUT");
    assert!(!list.to_string().contains("hunter2"), "{list}");

    let (code, change, err) = run(&["flag", "off", "NEW_CHECKOUT", "--env", "web-1", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(change["enabled"], false);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("NEW_CHECKOUT=false") && text.contains("DB_PASSWORD=hunter2"),
        "{text}"
    );
    assert!(
        host.unit_log("checkout.service")
            .iter()
            .any(|l| l.starts_with("restart ok"))
    );

    // The unit fails to restart: the file is put back, and the error says so.
    host.fail_unit("checkout.service", None);
    let before = std::fs::read_to_string(&file).unwrap();
    let (code, body, _) = run(&["flag", "on", "NEW_CHECKOUT", "--env", "web-1", "--yes"]);
    assert_eq!(code, Some(11), "service-failed: {body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("ROLLED BACK"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}
