//! The fuzz targets' seeds still reach the providers' decoders, and property tests (proptest,
//! run in CI with a small case count: `PROPTEST_CASES` raises it) over the same parsers: no
//! input makes them panic, and what they read round-trips.

use super::*;
use crate::cloud::cache;
use crate::cloud::kubernetes::ClusterAccess;
use crate::cloud::{Inventory, Server, ServerStatus};
use crate::config::{CloudKind, Config, NewAuth, NewHost, add_host, remove_host};
use crate::monitor::prometheus::decode_query;
use crate::monitor::{Boundary, decode_ds_query, parse_range, parse_time, stats};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The hand-written seeds of a fuzz target (`fuzz/seeds/<target>/`), by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Each replayed input builds its HTTP clients anew, and OpenSSL reads the system's root
/// certificates for each (95% of these tests' time); the replay server speaks plain HTTP.
/// Under nextest, which runs one test per process, the roots are emptied for this process;
/// elsewhere (`cargo test` runs tests on threads that may read the environment) they stay.
fn without_system_roots() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("NEXTEST_EXECUTION_MODE").is_some_and(|m| m == "process-per-test") {
        ONCE.call_once(|| {
            // SAFETY: nextest runs this test alone in its process: no other thread reads or
            // writes the environment.
            unsafe {
                std::env::set_var("SSL_CERT_FILE", "/dev/null");
                std::env::set_var("SSL_CERT_DIR", "/nonexistent");
            }
        });
    }
}

/// The outputs of a target's seeds whose name starts with `prefix`.
fn outputs(target: &str, run: fn(&[u8]) -> String, prefix: &str) -> Vec<String> {
    without_system_roots();
    seeds(target)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, input)| format!("{name}:\n{}", run(&input)))
        .collect()
}

#[test]
fn every_cloud_provider_has_a_seed_that_lists_reads_and_powers_a_server() {
    for provider in CloudKind::ALL.iter().map(|k| k.as_str()) {
        let outs = outputs(
            "cloud_answers",
            decode_cloud_answer,
            &format!("{provider}-"),
        );
        let reached = outs.iter().any(|o| {
            o.contains(" servers, errors []") && !o.contains("list: 0 servers") && {
                let power = o.lines().nth(3).unwrap_or_default();
                power.contains(": ok Accepted")
            }
        });
        assert!(reached, "{provider}:\n{}", outs.join("\n"));
    }
}

#[test]
fn every_flag_service_has_a_seed_that_lists_and_reads_a_flag() {
    for service in FLAG_SERVICES {
        let outs = outputs("flag_answers", decode_flag_answer, &format!("{service}-"));
        let reached = outs.iter().any(|o| {
            !o.contains("list: 0 flags")
                && o.contains(" flags\nstate ")
                && o.contains(": ok FlagState")
        });
        assert!(reached, "{service}:\n{}", outs.join("\n"));
    }
}

#[test]
fn every_monitoring_call_has_a_seed_that_succeeds() {
    for call in MONITOR_CALLS {
        let outs = outputs(
            "monitor_answers",
            decode_monitor_answer,
            &format!("{call}-"),
        );
        let reached = outs
            .iter()
            .any(|o| o.lines().nth(1).is_some_and(|l| l.starts_with("ok")));
        assert!(reached, "{call}:\n{}", outs.join("\n"));
    }
}

#[test]
fn every_alert_seed_but_a_whole_webhook_body_decodes_into_alerts() {
    for (name, input) in seeds("alerts") {
        let out = decode_alert_list(&input);
        match name.starts_with("webhook-body-") {
            // A webhook body is an object around the alerts: not an alerts answer.
            true => assert!(out.starts_with("error malformed-response"), "{name}: {out}"),
            false => assert!(out.starts_with("ok [AlertView"), "{name}: {out}"),
        }
    }
}

#[test]
fn answers_are_split_on_nul_with_status_headers_and_base64_bodies() {
    let answers = parse_answers(
        b"{\"a\":1}\0HTTP 429\nRetry-After: 1\nbad header\nx-fuzz-base64-body: 1\n\naGk=\0HTTP 302\nLocation: {origin}/x\n\n",
        "http://127.0.0.1:1",
    );
    let answers: Vec<Answer> = answers.into_iter().collect();
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].body, b"{\"a\":1}");
    assert_eq!(answers[1].status, 429);
    assert_eq!(answers[1].headers, [("Retry-After".into(), "1".into())]);
    assert_eq!(answers[1].body, b"hi");
    // A redirect would leave the loopback: it is a 200.
    assert_eq!(answers[2].status, 200);
    assert_eq!(
        answers[2].headers,
        [("Location".into(), "http://127.0.0.1:1/x".into())]
    );
}

// ---- properties ----

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

/// JSON text the decoders meet in answers: what makes them take another branch.
const TOKENS: &[&str] = &[
    "null",
    "-1",
    "0",
    "1e400",
    "-9223372036854775809",
    "18446744073709551616",
    "\"\"",
    "[]",
    "{}",
    "true",
    "\"NaN\"",
    "\"\\u0000\"",
    "\"9999-12-31T23:59:59Z\"",
];

/// A seed of `target` with a few byte-level edits: a byte replaced, inserted or removed, or a
/// token from [`TOKENS`] inserted.
fn mutated_seed(target: &str) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = seeds(target).into_iter().map(|(_, s)| s).collect();
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0..4u8);
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(move |(seed, edits)| {
            let mut input = seed.get(&seeds).clone();
            for (at, byte, kind) in edits {
                // The first two bytes pick the provider and action: they stay.
                let at = 2 + at.index(input.len().saturating_sub(2).max(1));
                let at = at.min(input.len());
                match kind {
                    0 if at < input.len() => input[at] = byte,
                    1 => input.insert(at, byte),
                    2 if at < input.len() => {
                        input.remove(at);
                    }
                    _ => {
                        let token = TOKENS[usize::from(byte) % TOKENS.len()].as_bytes();
                        input.splice(at..at, token.iter().copied());
                    }
                }
            }
            input
        })
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn no_cloud_answer_makes_a_provider_panic(input in mutated_seed("cloud_answers")) {
        without_system_roots();
        decode_cloud_answer(&input);
    }

    #[test]
    fn no_flag_answer_makes_a_flag_service_panic(input in mutated_seed("flag_answers")) {
        without_system_roots();
        decode_flag_answer(&input);
    }

    #[test]
    fn no_monitoring_answer_makes_a_client_panic(input in mutated_seed("monitor_answers")) {
        without_system_roots();
        decode_monitor_answer(&input);
    }

    #[test]
    fn no_alerts_answer_makes_the_alert_list_panic(input in mutated_seed("alerts")) {
        decode_alert_list(&input);
    }

    #[test]
    fn no_kubeconfig_makes_the_cluster_access_panic(input in mutated_seed("kubeconfig")) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, &input).unwrap();
        let _ = ClusterAccess::from_kubeconfig(&[path], None, None);
    }
}

/// Any JSON, its object keys drawn from the words of the ds/query and Prometheus formats.
fn any_json() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "results",
        "frames",
        "schema",
        "fields",
        "data",
        "values",
        "entities",
        "NaN",
        "Inf",
        "NegInf",
        "type",
        "typeInfo",
        "frame",
        "name",
        "labels",
        "config",
        "refId",
        "status",
        "error",
        "resultType",
        "result",
        "metric",
        "value",
        "warnings",
        "errorType",
        "unit",
        "displayName",
        "displayNameFromDS",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(
            &[
                "time",
                "number",
                "string",
                "matrix",
                "vector",
                "scalar",
                "time.Time",
                "float64",
                "1700000000",
                "NaN",
                "+Inf",
                ""
            ][..]
        )
        .prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn no_json_makes_the_frame_or_prometheus_decoders_panic(body in any_json()) {
        let bytes = body.to_string().into_bytes();
        if let Ok(d) = decode_ds_query(&bytes, 1 << 20) {
            for s in d.series {
                prop_assert_eq!(s.times_ms.len(), s.values.len());
            }
        }
        for step in [None, Some(15_000)] {
            let _ = decode_query(&bytes, "up", step);
        }
    }

    #[test]
    fn no_text_makes_the_config_parser_panic(text in "\\PC{0,200}") {
        let _ = Config::parse(Path::new("/fuzz/config.toml"), &text);
    }
}

/// A value of a number field: null, NaN, ±Inf or a finite number.
fn frame_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
        Just(Some(f64::NEG_INFINITY)),
        (-1e12f64..1e12).prop_map(Some),
        any::<i32>().prop_map(|i| Some(f64::from(i))),
    ]
}

/// A frame as Grafana sends it: a time field and a number field, NaN and ±Inf as entities.
fn frame_json(times: &[i64], values: &[Option<f64>], labels: &BTreeMap<String, String>) -> Value {
    let mut entities: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let column: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(row, v)| match v {
            Some(x) if x.is_nan() => {
                entities.entry("NaN").or_default().push(row);
                Value::Null
            }
            Some(x) if x.is_infinite() => {
                let key = if *x > 0.0 { "Inf" } else { "NegInf" };
                entities.entry(key).or_default().push(row);
                Value::Null
            }
            Some(x) => json!(x),
            None => Value::Null,
        })
        .collect();
    json!({"results": {"A": {"status": 200, "frames": [{
        "schema": {"refId": "A", "fields": [
            {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}},
            {"name": "Value", "type": "number", "labels": labels}
        ]},
        "data": {"values": [times, column], "entities": [null, entities]}
    }]}}})
}

fn same_value(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a.is_nan() => b.is_nan(),
        (Some(a), Some(b)) => a == b || (a - b).abs() <= a.abs() * 1e-15,
        _ => false,
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn frames_decode_to_the_values_they_carry(
        rows in prop::collection::vec((0i64..4_000_000_000_000, frame_value()), 0..60),
        labels in prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,8}", 0..4),
    ) {
        let (times, values): (Vec<i64>, Vec<Option<f64>>) = rows.into_iter().unzip();
        let body = frame_json(&times, &values, &labels).to_string();
        let decoded = decode_ds_query(body.as_bytes(), 1 << 24).unwrap();
        prop_assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        prop_assert_eq!(decoded.series.len(), 1, "{:?}", decoded.skipped);
        let s = &decoded.series[0];
        prop_assert_eq!(&s.times_ms, &times);
        prop_assert_eq!(&s.labels, &labels);
        prop_assert_eq!(s.values.len(), values.len());
        for (got, sent) in s.values.iter().zip(&values) {
            prop_assert!(same_value(*got, *sent), "{got:?} != {sent:?}");
        }
        let counted = values.iter().flatten().filter(|v| !v.is_nan()).count() as u64;
        prop_assert_eq!(stats(&s.values).count, counted);
    }
}

fn server() -> impl Strategy<Value = Server> {
    let status = prop::sample::select(vec![
        ServerStatus::Running,
        ServerStatus::Stopped,
        ServerStatus::Pending,
        ServerStatus::Stopping,
        ServerStatus::Terminated,
        ServerStatus::Unknown,
    ]);
    let text = "\\PC{0,12}";
    (
        (text, text, text, text, prop::option::of(text), status, text),
        (
            prop::collection::vec(text, 0..3),
            prop::collection::vec(text, 0..3),
            prop::collection::btree_map(text, text, 0..3),
            prop::option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (provider, account, region, id, name, status, raw_state),
                (public, private, tags, at),
            )| {
                Server {
                    metrics: Vec::new(),
                    provider,
                    account,
                    region,
                    id,
                    name,
                    status,
                    raw_state,
                    public_ips: public,
                    private_ips: private,
                    tags,
                    launched_at_ms: at,
                }
            },
        )
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn a_server_cache_written_then_read_gives_the_same_servers(
        servers in prop::collection::vec(server(), 0..8),
        fetched_at in any::<i64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = cache::path_beside(&dir.path().join("journal.sqlite"));
        let inventory = Inventory { servers: servers.clone(), errors: Vec::new() };
        cache::store(&path, &inventory, fetched_at).unwrap();
        let read = cache::load(&path).unwrap();
        prop_assert_eq!(read.servers, servers);
        prop_assert_eq!(read.fetched_at_ms, fetched_at);
    }

    #[test]
    fn no_bytes_make_the_server_cache_an_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("servers-cache.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = cache::load(&path);
    }
}

/// One `[[hosts]]` entry, as a user writes it.
#[derive(Debug, Clone)]
struct HostEntry {
    name: String,
    address: String,
    port: u16,
    user: String,
    auth: &'static str,
}

fn host_entries() -> impl Strategy<Value = Vec<HostEntry>> {
    let auth = prop::sample::select(vec![
        r#"{ type = "agent" }"#,
        r#"{ type = "key", path = "~/.ssh/id_ed25519" }"#,
        r#"{ type = "key", path = "keys/ops", passphrase = "keyring:ops-key" }"#,
        r#"{ type = "password", password = "env:DB_PASSWORD" }"#,
    ]);
    let entry = (
        "[a-z0-9._-]{1,12}",
        "[a-z0-9.:-]{1,20}",
        1u16..,
        "[a-z_][a-z0-9_-]{0,8}",
        auth,
    );
    prop::collection::vec(entry, 0..6).prop_map(|list| {
        let mut seen = std::collections::HashSet::new();
        list.into_iter()
            .filter(|(name, ..)| name != "fuzz-added" && seen.insert(name.clone()))
            .map(|(name, address, port, user, auth)| HostEntry {
                name,
                address,
                port,
                user,
                auth,
            })
            .collect()
    })
}

/// A config with `hosts`, a comment before each, and a monitoring source between them.
fn config_text(hosts: &[HostEntry]) -> String {
    let mut text = String::from(
        "# paaf config\noperator = \"alice\"\n\n[defaults]\nconnect_timeout_secs = 5\n",
    );
    for (i, h) in hosts.iter().enumerate() {
        text.push_str(&format!(
            "\n# host {i}\n[[hosts]]\nname = \"{}\"\naddress = \"{}\"\nport = {}\nuser = \"{}\"\nauth = {}\n",
            h.name, h.address, h.port, h.user, h.auth
        ));
        if i == 0 {
            text.push_str("\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"http://127.0.0.1:9090\"\n");
        }
    }
    text
}

fn names(c: &Config) -> Vec<String> {
    c.hosts.iter().map(|h| h.name.clone()).collect()
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn a_config_that_parses_keeps_its_hosts_through_add_and_remove(hosts in host_entries()) {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("config.toml");
        let text = config_text(&hosts);
        let parsed = Config::parse(&path, &text).unwrap();
        let written: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        prop_assert_eq!(names(&parsed), written.clone());
        for (h, got) in hosts.iter().zip(&parsed.hosts) {
            prop_assert_eq!(&got.address, &h.address);
            prop_assert_eq!(got.port, h.port);
            prop_assert_eq!(&got.user, &h.user);
        }
        std::fs::write(&path, &text).unwrap();
        let new = NewHost {
            name: "fuzz-added".into(),
            address: "192.0.2.10".into(),
            port: 2222,
            user: "ops".into(),
            auth: NewAuth::Agent,
        };
        let added = add_host(&path, &new).unwrap();
        let mut expected = written.clone();
        expected.push(new.name.clone());
        prop_assert_eq!(names(&added), expected.clone());
        let reread = Config::load(&path).unwrap();
        prop_assert_eq!(names(&reread), expected);
        prop_assert_eq!(reread.monitoring.len(), parsed.monitoring.len());
        let removed = remove_host(&path, &new.name).unwrap();
        prop_assert_eq!(names(&removed), written);
        let after = std::fs::read_to_string(&path).unwrap();
        prop_assert!(after.contains("# paaf config"), "comments are kept:\n{after}");
    }
}

const NOW_MS: i64 = 1_700_000_000_000;

fn unit() -> impl Strategy<Value = char> {
    prop::sample::select(vec!['s', 'm', 'h', 'd', 'w', 'M', 'y'])
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn relative_times_move_the_way_their_sign_says(n in 0u32..5000, u in unit()) {
        let past = parse_time(&format!("now-{n}{u}"), NOW_MS, Boundary::From).unwrap();
        let future = parse_time(&format!("now+{n}{u}"), NOW_MS, Boundary::From).unwrap();
        prop_assert!(past <= NOW_MS && NOW_MS <= future, "{past} {future}");
    }

    #[test]
    fn a_rounded_time_is_the_start_of_its_unit_from_and_its_end_to(
        n in 0u32..500, u in unit(), round in unit(),
    ) {
        let text = format!("now-{n}{u}/{round}");
        let exact = parse_time(&format!("now-{n}{u}"), NOW_MS, Boundary::From).unwrap();
        let from = parse_time(&text, NOW_MS, Boundary::From).unwrap();
        let to = parse_time(&text, NOW_MS, Boundary::To).unwrap();
        prop_assert!(from <= exact && exact <= to, "{text}: {from} {exact} {to}");
        // No unit is longer than a leap year.
        prop_assert!(to - from < 366 * 86_400_000, "{text}: {from} {to}");
        let range = parse_range(&text, &text, NOW_MS).unwrap();
        prop_assert_eq!((range.from_ms, range.to_ms), (from, to));
    }

    #[test]
    fn absolute_times_read_back_to_their_milliseconds(
        ms in -62_135_596_800_000i64..253_402_300_799_000,
    ) {
        prop_assert_eq!(parse_time(&ms.to_string(), NOW_MS, Boundary::To), Ok(ms));
        let date = chrono::DateTime::from_timestamp_millis(ms).unwrap();
        let text = date.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        prop_assert_eq!(parse_time(&text, NOW_MS, Boundary::From), Ok(ms), "{}", text);
    }

    #[test]
    fn a_range_is_accepted_in_order_and_refused_reversed(a in any::<i64>(), b in any::<i64>()) {
        let (lo, hi) = (a.min(b), a.max(b));
        let range = parse_range(&lo.to_string(), &hi.to_string(), NOW_MS).unwrap();
        prop_assert_eq!((range.from_ms, range.to_ms), (lo, hi));
        if lo < hi {
            prop_assert!(parse_range(&hi.to_string(), &lo.to_string(), NOW_MS).is_err());
        }
    }
}
