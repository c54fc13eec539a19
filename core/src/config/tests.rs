//! The config's tests: parsing, validation errors with their line and fix, editing.

use super::*;
use crate::secrets::SecretStore;
use secrecy::SecretString;

fn parse(text: &str) -> Result<Config> {
    Config::parse(Path::new("/etc/paaf/config.toml"), text)
}

fn config_err(text: &str) -> (Option<usize>, String) {
    match parse(text).unwrap_err() {
        Error::Config {
            line, message, fix, ..
        } => (line, format!("{message} / {fix}")),
        other => panic!("expected a config error, got {other:?}"),
    }
}

const GOOD: &str = r#"
operator = "alice"

[defaults]
connect_timeout_secs = 5

[[hosts]]
name = "web-1"
address = "10.0.0.5"
user = "deploy"
auth = { type = "key", path = "/keys/id_ed25519", passphrase = "keyring:deploy-key" }

[[hosts]]
name = "db-1"
address = "db.internal"
port = 2222
user = "root"
auth = { type = "password", password = "keyring:db-1" }
runbook_dir = "/opt/runbooks"
[hosts.reboot]
timeout_secs = 900
"#;

#[test]
fn good_config_applies_defaults_and_overrides() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.operator.as_deref(), Some("alice"));
    assert_eq!(c.journal, PathBuf::from("/etc/paaf/journal.sqlite"));
    let web = c.host("web-1").unwrap();
    assert_eq!(web.port, 22);
    assert_eq!(web.connect_timeout, Duration::from_secs(5));
    assert_eq!(web.runbook_dir, DEFAULT_RUNBOOK_DIR);
    assert_eq!(web.reboot.boot_timeout, Duration::from_secs(600));
    let db = c.host("db-1").unwrap();
    assert_eq!(db.port, 2222);
    assert_eq!(db.runbook_dir, "/opt/runbooks");
    assert_eq!(db.reboot.boot_timeout, Duration::from_secs(900));
    assert!(
        matches!(&db.auth, Auth::Password { password } if password.to_string() == "keyring:db-1")
    );
}

#[test]
fn errors_name_the_line_and_the_fix() {
    let (line, msg) = config_err(
        "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nport = 70000\nauth = { type = \"agent\" }\n",
    );
    assert_eq!(line, Some(5));
    assert!(msg.contains("between 1 and 65535"), "{msg}");

    let (line, msg) = config_err("[[hosts]]\nname = \"a\"\nadress = \"x\"\n");
    assert_eq!(line, Some(3));
    assert!(msg.contains("unknown field `adress`"), "{msg}");

    let (line, msg) = config_err(
        "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"password\", password = \"hunter2\" }\n",
    );
    assert_eq!(line, Some(5));
    assert!(msg.contains("keyring:NAME"), "{msg}");
    assert!(
        !msg.contains("hunter2"),
        "a plain password must not be echoed: {msg}"
    );

    let dup = "[[hosts]]\nname = \"a\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"agent\" }\n\n[[hosts]]\nname = \"a\"\naddress = \"y\"\nuser = \"u\"\nauth = { type = \"agent\" }\n";
    let (line, msg) = config_err(dup);
    assert_eq!(line, Some(8));
    assert!(msg.contains("used twice"), "{msg}");

    let (line, _) = config_err("operator = \n");
    assert_eq!(line, Some(1));

    let (_, msg) = config_err(
        "[[hosts]]\nname = \"a b\"\naddress = \"x\"\nuser = \"u\"\nauth = { type = \"agent\" }\n",
    );
    assert!(msg.contains("letters, digits"), "{msg}");
}

#[test]
fn a_flag_service_or_monitoring_source_named_twice_is_refused_at_the_second_name() {
    let flags = "[[flags]]\nname = \"f\"\ntype = \"unleash\"\nurl = \"https://u.example\"\ntoken = \"keyring:u\"\n";
    let (line, msg) = config_err(&format!("{flags}\n{flags}"));
    assert_eq!(line, Some(8));
    assert!(msg.contains("flag service name `f` is used twice"), "{msg}");
    assert!(
        msg.contains("give every [[flags]] entry its own name"),
        "{msg}"
    );

    let source =
        "[[monitoring]]\nname = \"m\"\ntype = \"prometheus\"\nurl = \"http://p.example:9090\"\n";
    let (line, msg) = config_err(&format!("{source}\n{source}"));
    assert_eq!(line, Some(7));
    assert!(
        msg.contains("monitoring source name `m` is used twice"),
        "{msg}"
    );
    assert!(
        msg.contains("give every [[monitoring]] entry its own name"),
        "{msg}"
    );
}

#[test]
fn debug_shows_no_rebootx_secret_prefix_and_no_secret() {
    let config = Config::parse(
        Path::new("/tmp/paaf.toml"),
        "[[clouds]]\nname = \"home\"\ntype = \"rebootx\"\nendpoint = \"https://ops.example.com:8443/cd5331ba/v1\"\ntoken = \"env:REBOOTX_KEY\"\n\n[[clouds]]\nname = \"pve\"\ntype = \"proxmox\"\nendpoint = \"https://pve:8006\"\ntoken_id = \"paaf@pve!ops\"\ntoken = \"keyring:pve\"\n",
    )
    .unwrap();
    let shown = format!("{:?}", config.clouds);
    assert!(!shown.contains("cd5331ba"), "{shown}");
    assert!(
        shown.contains("https://ops.example.com:8443/[redacted]"),
        "{shown}"
    );
    assert!(
        shown.contains("https://pve:8006"),
        "other endpoints show whole: {shown}"
    );
    assert!(
        shown.contains("env:REBOOTX_KEY"),
        "a reference, not a secret: {shown}"
    );
}

#[test]
fn every_cloud_type_names_the_keys_it_misses() {
    let cases = [
        ("aws", "regions = [\"eu-west-1\"]", "an access key"),
        ("aws", "", "its regions"),
        ("gcp", "regions = [\"europe-west1-b\"]", "its project id"),
        (
            "gcp",
            "project = \"p\"\nregions = [\"europe-west1-b\"]",
            "a service-account JSON key",
        ),
        ("azure", "tenant_id = \"t\"", "an app registration"),
        ("digitalocean", "", "its API token"),
        ("hetzner", "", "its API token"),
        ("linode", "", "its API token"),
        ("vultr", "", "its API token"),
        ("scaleway", "token = \"env:S\"", "the zones to list"),
        ("ovh", "application_key = \"k\"", "API credentials"),
        ("proxmox", "token = \"env:P\"", "its URL"),
        (
            "proxmox",
            "endpoint = \"https://pve:8006\"\ntoken = \"env:P\"",
            "an API token",
        ),
        ("rebootx", "token = \"env:R\"", "secret path prefix"),
    ];
    for (kind, keys, missing) in cases {
        let text = format!("[[clouds]]\nname = \"c\"\ntype = \"{kind}\"\n{keys}\n");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains(missing) && msg.contains("add "),
            "{kind}: {msg}"
        );
    }
    let ok = "[[clouds]]\nname = \"k8s\"\ntype = \"kubernetes\"\nregions = [\"shop\"]\n";
    assert_eq!(parse(ok).unwrap().clouds[0].kind(), CloudKind::Kubernetes);
    let msg = parse("[[clouds]]\nname = \"c\"\ntype = \"ibm\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unknown type `ibm`") && msg.contains("\"hetzner\""),
        "{msg}"
    );
    let msg = parse("[[clouds]]\nname = \"c\"\ntype = \"hetzner\"\ntoken = \"abc123\"\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("keyring:") && !msg.contains("abc123"), "{msg}");
}

/// A provider's keys are typed once, at load: a secret is a reference read from the store
/// when the account connects, and a key the provider needs cannot be missing at use (its
/// absence is a load error naming it, e.g. an azure entry without client_secret).
#[test]
fn an_account_secret_is_read_from_the_store_or_its_missing_key_named() {
    let c = parse("[[clouds]]\nname = \"k8s\"\ntype = \"kubernetes\"\ntoken = \"keyring:k8s\"\n")
        .unwrap();
    let ProviderConfig::Kubernetes(k8s) = &c.clouds[0].provider else {
        panic!("{:?}", c.clouds[0]);
    };
    let reference = k8s.token.as_ref().expect("the token reference");
    let store = crate::secrets::MemoryStore::default();
    let e = reference.resolve(&store).unwrap_err();
    assert!(e.to_string().contains("paaf secret set k8s"), "{e}");
    store.set("k8s", &SecretString::from("t0ken")).unwrap();
    let token = reference.resolve(&store).unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "t0ken");
    let azure = "[[clouds]]\nname = \"az\"\ntype = \"azure\"\ntenant_id = \"t\"\nclient_id = \"c\"\nsubscription_id = \"s\"\n";
    let (line, msg) = config_err(azure);
    assert_eq!(line, Some(2));
    assert!(
        msg.contains("azure account `az` needs an app registration")
            && msg.contains("client_secret = \"keyring:NAME\""),
        "{msg}"
    );
}

#[test]
fn a_host_names_its_cloud_server_as_account_slash_server() {
    let host = |link: &str| {
        format!(
            "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.1\"\nuser = \"ops\"\nauth = {{ type = \"agent\" }}\nserver = \"{link}\"\n"
        )
    };
    let c = parse(&host("prod/i-0abc")).unwrap();
    assert_eq!(
        c.hosts[0].server,
        Some(("prod".to_string(), "i-0abc".to_string()))
    );
    let msg = parse(&host("i-0abc")).unwrap_err().to_string();
    assert!(
        msg.contains("ACCOUNT/SERVER") && msg.contains("line 6"),
        "{msg}"
    );
}

#[test]
fn a_cloud_account_may_say_how_long_a_reboot_is_watched() {
    let cloud = |extra: &str| {
        format!("[[clouds]]\nname = \"prod\"\ntype = \"vultr\"\ntoken = \"keyring:vultr\"\n{extra}")
    };
    assert_eq!(parse(&cloud("")).unwrap().clouds[0].reboot_watch, None);
    let c = parse(&cloud("reboot_watch_secs = 30\n")).unwrap();
    assert_eq!(c.clouds[0].reboot_watch, Some(Duration::from_secs(30)));
    let (line, msg) = config_err(&cloud("reboot_watch_secs = 0\n"));
    assert_eq!(line, Some(5));
    assert!(
        msg.contains("reboot_watch_secs must be greater than 0"),
        "{msg}"
    );
}

#[test]
fn the_readme_example_config_is_valid() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("```toml\n")
        .expect("a toml block in the README")
        + 8;
    let len = readme[start..].find("```").unwrap();
    let c = parse(&readme[start..start + len]).unwrap();
    assert_eq!(c.hosts.len(), 3);
    assert_eq!(
        c.host("web-3").unwrap().server,
        Some(("prod".to_string(), "i-0123456789abcdef0".to_string()))
    );
    assert_eq!(
        c.host("db-1").unwrap().reboot.boot_timeout,
        Duration::from_secs(900)
    );
    let kinds: Vec<&str> = c.flags.iter().map(|f| f.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "unleash",
            "launchdarkly",
            "flagsmith",
            "devcycle",
            "optimizely",
            "featbit",
            "env-file"
        ]
    );
    let fs = c.flags_backend(Some("fs")).unwrap();
    assert!(
        matches!(&fs.service, FlagService::Flagsmith(f) if f.project == 12 && f.url == "https://api.flagsmith.com"),
        "{fs:?}"
    );
    assert_eq!(
        c.flags_backend(Some("prod")).unwrap().project().as_deref(),
        Some("default")
    );
}

#[test]
fn add_and_remove_keep_comments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "# my hosts\noperator = \"bob\"\n").unwrap();
    let host = NewHost {
        name: "web-2".into(),
        address: "127.0.0.1".into(),
        port: 2200,
        user: "deploy".into(),
        auth: NewAuth::Password {
            password: SecretRef::Keyring("paaf-host-web-2".into()),
        },
    };
    let c = add_host(&path, &host).unwrap();
    assert_eq!(c.host("web-2").unwrap().port, 2200);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my hosts\n"), "{text}");
    assert!(
        add_host(&path, &host)
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    let c = remove_host(&path, "web-2").unwrap();
    assert!(c.hosts.is_empty());
    assert!(remove_host(&path, "web-2").is_err());
}

#[test]
fn monitoring_sources_parse_with_their_secrets_as_references() {
    let c = parse(
        r#"
[[monitoring]]
name = "ops"
type = "grafana"
url = "https://grafana.example.com"
token = "keyring:grafana-ops"
org_id = 2

[[monitoring]]
name = "prom"
type = "prometheus"
url = "http://127.0.0.1:9090"
timeout_secs = 5
"#,
    )
    .unwrap();
    let ops = c.monitoring_source(Some("ops"), None).unwrap();
    assert_eq!(ops.kind, MonitoringKind::Grafana);
    assert!(
        matches!(&ops.auth, ApiAuth::Token { token } if token.to_string() == "keyring:grafana-ops")
    );
    assert_eq!(ops.org_id, Some(2));
    let prom = c
        .monitoring_source(None, Some(MonitoringKind::Prometheus))
        .unwrap();
    assert_eq!(
        (prom.name.as_str(), prom.timeout),
        ("prom", Duration::from_secs(5))
    );
    let e = c.monitoring_source(None, None).unwrap_err().to_string();
    assert!(e.contains("--source") && e.contains("ops (grafana)"), "{e}");
    let e = c
        .monitoring_source(None, Some(MonitoringKind::Alertmanager))
        .unwrap_err()
        .to_string();
    assert!(e.contains("type = \"alertmanager\""), "{e}");
}

#[test]
fn a_bad_monitoring_source_names_its_line_and_the_fix() {
    let cases = [
        ("type = \"kibana\"\nurl = \"http://x\"", "unknown type", 3),
        ("type = \"grafana\"\nurl = \"http://x\"", "has no token", 2),
        (
            "type = \"grafana\"\nurl = \"grafana.local\"\ntoken = \"keyring:g\"",
            "not an http(s) URL",
            4,
        ),
        (
            "type = \"grafana\"\nurl = \"http://x\"\ntoken = \"glsa_plain\"",
            "never written in the config",
            5,
        ),
    ];
    for (body, message, line) in cases {
        let text = format!("[[monitoring]]\nname = \"ops\"\n{body}\n");
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains(message), "{body}: {e}");
        assert!(e.contains(&format!("line {line}")), "{body}: {e}");
        assert!(!e.contains("glsa_plain"), "{e}");
    }
}

#[test]
fn flag_services_need_the_keys_of_their_type() {
    let ok = parse(
        r#"
[[flags]]
name = "dc"
type = "devcycle"
url = "https://api.devcycle.com"
client_id = "abc"
client_secret = "keyring:devcycle-secret"
project = "shop"

[[flags]]
name = "opti"
type = "optimizely"
url = "https://api.optimizely.com/flags/v1"
token = "keyring:optimizely"
project = "1234"
"#,
    )
    .unwrap();
    let dc = ok.flags_backend(Some("dc")).unwrap();
    assert_eq!(
        (dc.kind(), dc.project().as_deref()),
        (FlagsKind::Devcycle, Some("shop"))
    );
    assert!(
        ok.flags_backend(None)
            .unwrap_err()
            .to_string()
            .contains("--backend")
    );
    for (body, says) in [
        (
            "type = \"devcycle\"\nurl = \"https://x\"\nproject = \"p\"",
            "client credentials",
        ),
        (
            "type = \"optimizely\"\nurl = \"https://x\"\ntoken = \"keyring:t\"",
            "project id",
        ),
        ("type = \"unleash\"\nurl = \"https://x\"", "access token"),
        (
            "type = \"unleash\"\nurl = \"https://x\"\ntoken = \"*:*.plain\"",
            "never written",
        ),
    ] {
        let e = parse(&format!("[[flags]]\nname = \"f\"\n{body}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says) && e.contains("line "), "{body}: {e}");
        assert!(!e.contains("*:*.plain"), "{e}");
    }
}

/// The README's toml block that follows `heading`.
fn readme_toml_after(heading: &str) -> &'static str {
    let readme = include_str!("../../../README.md");
    let at = readme.find(heading).expect("the README section");
    let start = at + readme[at..].find("```toml\n").expect("a toml block") + 8;
    let len = readme[start..].find("```").unwrap();
    &readme[start..start + len]
}

#[test]
fn the_readme_incident_example_is_valid_with_the_config_example() {
    let text = format!(
        "{}\n{}",
        readme_toml_after("## Config"),
        readme_toml_after("## Incident loop")
    );
    let c = parse(&text).unwrap();
    let kinds: Vec<&str> = c.notify.iter().map(|n| n.channel.kind()).collect();
    assert_eq!(kinds, ["slack", "teams", "webhook", "email"]);
    let mail = c.notify_target("oncall-mail").unwrap();
    assert!(
        matches!(&mail.channel, NotifyChannel::Email(e) if e.port == 587 && e.security == SmtpSecurity::StartTls),
        "{mail:?}"
    );
    assert_eq!(
        c.notify_target("status-page").unwrap().timeout,
        Duration::from_secs(5)
    );
    let p = c.playbook("checkout").unwrap();
    let labels = |severity: &str| {
        BTreeMap::from([
            ("alertname".to_string(), "CheckoutErrors".to_string()),
            ("severity".to_string(), severity.to_string()),
        ])
    };
    assert!(p.matches(&labels("page")) && p.matches(&labels("critical")));
    assert!(!p.matches(&labels("pager")), "the regex is anchored");
    assert_eq!(c.playbook_for(&labels("page")).unwrap().name, "checkout");
    assert_eq!(p.severity, Some(crate::incident::Severity::Sev2));
    let steps: Vec<String> = p.protect.iter().map(|s| s.action.describe()).collect();
    assert_eq!(
        steps,
        [
            "flag new-checkout OFF in production",
            "reboot web-1 (verified)",
            "stop prod/i-0123456789abcdef0",
            "runbook __drain-queue on db-1",
            "silence alertname=\"CheckoutErrors\",severity=~\"page|critical\" for 30m in alertmanager",
        ]
    );
    let how: Vec<(OnFailure, bool)> = p
        .protect
        .iter()
        .map(|s| (s.on_failure, s.parallel))
        .collect();
    assert_eq!(
        how,
        [
            (OnFailure::Stop, false),
            (OnFailure::Continue, false),
            (OnFailure::Stop, true),
            (OnFailure::Stop, true),
            (OnFailure::Stop, false),
        ]
    );
    assert_eq!(p.dashboards[0].panels, [2, 7]);
    assert_eq!(p.queries[0].above, Some(5.0));
    assert_eq!(p.notify, ["ops-slack", "oncall-mail"]);
}

#[test]
fn a_bad_playbook_is_a_config_error_naming_its_line_and_the_fix() {
    let base = "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.1\"\nuser = \"ops\"\nauth = { type = \"agent\" }\n\n[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"https://unleash.example.com\"\ntoken = \"keyring:u\"\n\n[[monitoring]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"http://am:9093\"\n\n";
    let base_lines = base.lines().count();
    // (the playbook, its line of the error counted from the playbook's first line, what the
    // message says, what the fix says)
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nreboot = \"web-9\"\n",
            4,
            "no host named `web-9`",
            "configured: web-1",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nflag = \"x\"\nenv = \"production\"\nbackend = \"nope\"\n",
            4,
            "no flag service named `nope`",
            "configured: prod",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nflag = \"x\"\n",
            4,
            "the flag step of `x` needs its environment",
            "env = \"production\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nflag = \"x\"\nenv = \"production\"\nstate = \"maybe\"\n",
            4,
            "has state `maybe`",
            "state = \"off\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nflag = \"x\"\nenv = \"production\"\nreboot = \"web-1\"\n",
            4,
            "does several things (flag, reboot)",
            "one [[playbooks.protect]] entry per action",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\non_failure = \"stop\"\n",
            4,
            "says nothing to do",
            "silence = \"30m\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nreboot = \"web-1\"\non_failure = \"retry\"\n",
            4,
            "on_failure `retry` is not known",
            "\"continue\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\nmatch = { alertname = \"=~(\" }\n",
            3,
            "the regex of `alertname` is not valid",
            "=~web-[0-9]+",
        ),
        (
            "[[playbooks]]\nname = \"p\"\nseverity = \"urgent\"\n",
            3,
            "severity `urgent` is not sev1",
            "\"sev4\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\nmatch = { alertname = \"A\" }\n\n[[playbooks.protect]]\nsilence = \"30s\"\n",
            5,
            "silence `30s` is not a duration of a minute or more",
            "\"2h\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nsilence = \"30m\"\n",
            4,
            "a silence step has nothing to match",
            "match = { alertname",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nrunbook = \"restart\"\n",
            4,
            "a runbook step needs its host",
            "host = \"web-1\"",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.protect]]\nserver = \"i-1\"\naccount = \"nowhere\"\naction = \"stop\"\n",
            4,
            "no cloud account named `nowhere`",
            "[[clouds]]",
        ),
        (
            "[[playbooks]]\nname = \"p\"\nnotify = [\"pager\"]\n",
            3,
            "no notify target named `pager`",
            "add one named `pager`",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks.dashboards]]\nuid = \"x\"\n",
            4,
            "grafana",
            "type grafana",
        ),
        (
            "[[playbooks]]\nname = \"p\"\n\n[[playbooks]]\nname = \"p\"\n",
            5,
            "playbook name `p` is used twice",
            "its own name",
        ),
        (
            "[[playbooks]]\nname = \"p\"\nprotect_steps = []\n",
            3,
            "unknown field `protect_steps`",
            "",
        ),
    ];
    for (playbook, line, message, fix) in cases {
        let (got_line, text) = config_err(&format!("{base}{playbook}"));
        assert_eq!(got_line, Some(base_lines + line), "{playbook}\n-> {text}");
        assert!(text.contains(message), "{playbook}\n-> {text}");
        assert!(text.contains(fix), "{playbook}\n-> {text}");
    }
}

/// Issue 18: a wrong type said `invalid type: string "x", expected i64`.
#[test]
fn a_wrong_type_is_said_in_plain_words() {
    let (line, msg) = config_err(
        "[[hosts]]\nname = \"a\"\naddress = \"h\"\nuser = \"u\"\nport = \"x\"\nauth = { type = \"agent\" }\n",
    );
    assert_eq!(line, Some(5), "{msg}");
    assert!(
        msg.starts_with("expected a whole number, found string \"x\""),
        "{msg}"
    );
    assert!(
        !msg.contains("i64") && !msg.contains("invalid type"),
        "{msg}"
    );
    let (_, msg) = config_err("[defaults.reboot]\nsudo = \"yes\"\n");
    assert!(
        msg.starts_with("expected true or false, found string"),
        "{msg}"
    );
}
