//! The Grafana client (core/src/monitor/grafana.rs) against a contract server (wiremock) that
//! answers as Grafana's HTTP API documentation says, errors included. Each test names the page it
//! follows; all are under https://grafana.com/docs/grafana/latest/developers/http_api/ unless
//! another URL is given. Real dashboards come from core/src/monitor/testdata (see SOURCES.md).

#[path = "contract/support.rs"]
#[allow(dead_code)]
mod support;

use paaf_core::ErrorCode;
use paaf_core::http::{HttpAuth, Limits, Service};
use paaf_core::monitor::alertmanager::{Matcher, NewSilence};
use paaf_core::monitor::dashboard::ALL;
use paaf_core::monitor::grafana::{
    Grafana, NewAnnotation, NoRendererReason, OpenOptions, PanelImage, SearchQuery,
};
use paaf_core::monitor::prometheus::AlertState;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Serve, assert_fails, given, start_expecting, start_serving};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "glsa_paafGrafanaContract_0123456789abcdef";
/// 2023-11-14T22:13:20Z
const NOW: i64 = 1_700_000_000_000;

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 4 * 1024 * 1024,
        max_attempts: 3,
        max_retry_wait: Duration::from_secs(5),
    }
}

fn grafana_with(server: &MockServer, limits: Limits) -> Grafana {
    let auth = HttpAuth::Bearer(SecretString::from(TOKEN));
    Grafana::new(Service::new("grafana \"ops\"", &server.uri(), auth, limits).unwrap())
}

fn grafana(server: &MockServer) -> Grafana {
    grafana_with(server, limits())
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/src/monitor/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn dashboard_body(file: &str, url: &str) -> Value {
    let dashboard: Value = serde_json::from_slice(&testdata(file)).unwrap();
    json!({"dashboard": dashboard, "meta": {"url": url, "folderTitle": "Kubernetes", "slug": ""}})
}

fn options() -> OpenOptions {
    OpenOptions {
        now_ms: Some(NOW),
        ..OpenOptions::default()
    }
}

/// `GET /api/datasources` (data_source/#get-all-data-sources).
async fn mount_datasources(server: &MockServer) {
    let served = ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "uid": "P1809F7CD0C75ACF3", "orgId": 1, "name": "Prometheus", "type": "prometheus",
             "access": "proxy", "url": "http://prometheus:9090", "isDefault": true,
             "jsonData": {"timeInterval": "30s"}, "readOnly": false},
            {"id": 2, "uid": "L0K1", "orgId": 1, "name": "Loki", "type": "loki", "access": "proxy",
             "url": "http://loki:3100", "isDefault": false, "jsonData": {}, "readOnly": false}
        ]));
    server
        .serve(given("GET", "/api/datasources").and(bearer()), served)
        .await;
}

/// Prometheus `label/<name>/values` through the data source proxy
/// (data_source/#data-source-proxy-calls; https://prometheus.io/docs/prometheus/latest/querying/api/#querying-label-values).
async fn mount_label_values(
    server: &MockServer,
    label: &str,
    matcher: Option<&str>,
    values: &[&str],
) {
    let mut mock = Mock::given(method("GET"))
        .and(path(format!(
            "/api/datasources/proxy/uid/P1809F7CD0C75ACF3/api/v1/label/{label}/values"
        )))
        .and(bearer())
        .and(query_param("start", ((NOW - 3_600_000) / 1000).to_string()))
        .and(query_param("end", (NOW / 1000).to_string()));
    if let Some(m) = matcher {
        mock = mock.and(query_param("match[]", m));
    }
    mock.respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"status": "success", "data": values})),
    )
    .expect(1)
    .mount(server)
    .await;
}

fn frame(ref_id: &str, name: &str, labels: Value, times: &[i64], values: &[Value]) -> Value {
    json!({
        "schema": {"refId": ref_id, "fields": [
            {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}},
            {"name": name, "type": "number", "typeInfo": {"frame": "float64", "nullable": true}, "labels": labels}
        ]},
        "data": {"values": [times, values]}
    })
}

fn queries_of(request: &Request) -> Vec<Value> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["queries"].as_array().cloned().unwrap_or_default()
}

/// folder_dashboard_search/#search-folders-and-dashboards
#[tokio::test]
async fn search_sends_every_filter_and_reads_hits() {
    let served = ResponseTemplate::new(200).set_body_json(json!([
            {"id": 163, "uid": "rYdddlPWk", "title": "Node Exporter Full", "uri": "db/node-exporter-full",
             "url": "/d/rYdddlPWk/node-exporter-full", "slug": "", "type": "dash-db",
             "tags": ["linux", "prod"], "isStarred": true, "folderId": 2, "folderUid": "k8s",
             "folderTitle": "Kubernetes", "folderUrl": "/dashboards/f/k8s/kubernetes"},
            {"id": 2, "uid": "k8s_views_nodes", "title": "Kubernetes / Views / Nodes",
             "url": "/d/k8s_views_nodes/kubernetes-views-nodes", "type": "dash-db", "tags": [],
             "isStarred": false}
        ]));
    let server = start_expecting(given("GET", "/api/search?type=dash-db&query=node&tag=prod&starred=true&folderUIDs=k8s&limit=50&page=2").and(bearer()), served, 1).await;
    let query = SearchQuery {
        query: Some("node".into()),
        tags: vec!["prod".into()],
        starred: true,
        folder_uids: vec!["k8s".into()],
        limit: Some(50),
        page: Some(2),
    };
    let hits = grafana(&server).search(&query).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].uid, "rYdddlPWk");
    assert_eq!(hits[0].url, "/d/rYdddlPWk/node-exporter-full");
    assert_eq!(hits[0].tags, vec!["linux", "prod"]);
    assert_eq!(hits[0].folder_title.as_deref(), Some("Kubernetes"));
    assert!(hits[0].starred);
    assert_eq!(hits[1].folder_title, None);
    assert!(!hits[1].starred);
}

/// dashboard/#get-dashboard-by-uid, data_source/#data-source-proxy-calls and
/// data_source/#query-a-data-source: a modern dashboard (object data sources with `${datasource}`,
/// query variables chained on each other, a custom variable) opened and one panel queried.
#[tokio::test]
async fn a_dashboard_opens_with_variables_resolved_through_the_data_source_and_a_panel_queries() {
    let served = ResponseTemplate::new(200).set_body_json(dashboard_body(
        "dotdc-k8s-views-nodes.json",
        "/d/k8s_views_nodes/kubernetes-views-nodes",
    ));
    let server = start_expecting(
        given("GET", "/api/dashboards/uid/k8s_views_nodes").and(bearer()),
        served,
        1,
    )
    .await;
    mount_datasources(&server).await;
    mount_label_values(
        &server,
        "cluster",
        Some("kube_node_info"),
        &["prod", "staging"],
    )
    .await;
    mount_label_values(
        &server,
        "node",
        Some("kube_node_info{cluster=\"prod\"}"),
        &["node-a", "node-b"],
    )
    .await;
    mount_label_values(
        &server,
        "instance",
        Some("node_uname_info{nodename=~\"(?i:(node-b)(\\\\.[a-z0-9.-]+)?)\", cluster=\"prod\"}"),
        &["10.0.0.2:9100"],
    )
    .await;

    let mut open = options();
    open.variables.insert("node".into(), vec!["node-b".into()]);
    let d = grafana(&server)
        .dashboard("k8s_views_nodes", &open)
        .await
        .unwrap();
    assert_eq!(d.title, "Kubernetes / Views / Nodes");
    assert_eq!(d.slug, "kubernetes-views-nodes");
    assert_eq!((d.range.from_ms, d.range.to_ms), (NOW - 3_600_000, NOW));
    let var = |n: &str| d.variables.iter().find(|v| v.name == n).unwrap();
    assert_eq!(var("datasource").values, vec!["P1809F7CD0C75ACF3"]);
    assert_eq!(
        var("cluster").values,
        vec!["prod"],
        "first option: nothing saved"
    );
    assert_eq!(var("cluster").options, vec!["prod", "staging"]);
    assert_eq!(var("node").values, vec!["node-b"], "the caller's choice");
    assert_eq!(var("instance").values, vec!["10.0.0.2:9100"]);
    assert_eq!(
        var("resolution").values,
        vec!["30s"],
        "custom, saved current"
    );
    assert!(
        d.variables.iter().all(|v| v.warning.is_none()),
        "{:?}",
        d.variables
    );

    // Panel 7 "CPU  Usage": a Prometheus gauge whose target names `${datasource}` itself.
    let panel = d.panel(7).unwrap();
    assert_eq!(panel.row.as_deref(), Some("Overview"));
    let t = [NOW - 120_000, NOW - 60_000, NOW];
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(bearer())
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "from": (NOW - 3_600_000).to_string(),
            "to": NOW.to_string(),
            "queries": [{
                "refId": "A",
                "datasource": {"uid": "P1809F7CD0C75ACF3", "type": "prometheus"},
                "expr": "avg(sum by (cpu) (rate(node_cpu_seconds_total{mode!~\"idle|iowait|steal\", instance=\"10.0.0.2:9100\", cluster=\"prod\"}[2m])))",
                "interval": "30s",
                "maxDataPoints": 300,
                "intervalMs": 30000
            }]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {"A": {"status": 200, "frames": [
            frame("A", "Value", json!({}), &t, &[json!(0.25), Value::Null, json!(0.75)])
        ]}}})))
        .expect(1)
        .mount(&server)
        .await;
    let data = grafana(&server).panel_data(&d, 7, 300).await.unwrap();
    assert!(data.errors.is_empty(), "{:?}", data.errors);
    assert_eq!(data.series.len(), 1);
    let s = &data.series[0];
    assert_eq!(s.series.times_ms, t.to_vec());
    assert_eq!(
        (s.stats.min, s.stats.max, s.stats.last, s.stats.count),
        (Some(0.25), Some(0.75), Some(0.75), 2)
    );
    // 1 h over 300 px = 12 s → 10 s, raised to the data source's 30 s scrape interval; the
    // rate interval is max(30 s + 30 s, 4 × 30 s) = 2m.
    assert_eq!(data.interval_ms, 30_000);
    assert_eq!((data.from_ms, data.to_ms), (NOW - 3_600_000, NOW));
}

/// dashboard/#get-dashboard-by-uid and data_source/#query-a-data-source on a schema-18 dashboard:
/// a panel nested in a collapsed row, a legacy `"$datasource"` name, and `interval` variables.
#[tokio::test]
async fn a_panel_in_a_collapsed_row_is_queried_with_interval_variables_and_a_legacy_datasource() {
    let served = ResponseTemplate::new(200).set_body_json(dashboard_body(
        "kubernetes-mixin-networking-cluster-total.json",
        "/d/ff635a025bcfea7bc3dd4f508990a3e9/kubernetes-networking-cluster",
    ));
    let server = start_serving(
        given(
            "GET",
            "/api/dashboards/uid/ff635a025bcfea7bc3dd4f508990a3e9",
        ),
        served,
    )
    .await;
    mount_datasources(&server).await;
    mount_label_values(&server, "cluster", Some("up{job=\"cadvisor\"}"), &["eu-1"]).await;
    let g = grafana(&server);
    let d = g
        .dashboard("ff635a025bcfea7bc3dd4f508990a3e9", &options())
        .await
        .unwrap();
    let var = |n: &str| d.variables.iter().find(|v| v.name == n).unwrap();
    assert_eq!(var("resolution").values, vec!["5m"]);
    assert_eq!(
        var("interval").values,
        vec!["4h"],
        "saved 5m is not an option: the first one"
    );
    assert_eq!(
        var("datasource").values,
        vec!["P1809F7CD0C75ACF3"],
        "saved `default`"
    );
    let errors_row: Vec<_> = d
        .panels
        .iter()
        .filter(|p| p.row.as_deref() == Some("Errors"))
        .collect();
    assert_eq!(errors_row.len(), 4);
    let panel = errors_row[0];
    let expected = panel.targets[0].query["expr"]
        .as_str()
        .unwrap()
        .replace("$cluster", "eu-1")
        .replace("$interval", "4h")
        .replace("$resolution", "5m");
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(body_partial_json(
            json!({"queries": [{"expr": expected, "datasource": {"uid": "P1809F7CD0C75ACF3"}}]}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"A": {"frames": []}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let data = g.panel_data(&d, panel.id, 800).await.unwrap();
    assert!(data.series.is_empty() && data.errors.is_empty(), "{data:?}");
}

/// data_source/#query-a-data-source: "400 … one or more data source queries were unsuccessful.
/// Refer to the body": Grafana sends every query's result with the failed one's `error`. The
/// body is long, so paaf asks per query and keeps the good series beside the error.
#[tokio::test]
async fn ds_query_keeps_several_frames_beside_a_per_query_error() {
    let server = MockServer::start().await;
    let dashboard = json!({"dashboard": {"uid": "u1", "title": "Checkout", "time": {"from": "now-1h", "to": "now"},
        "panels": [{"id": 2, "type": "timeseries", "title": "Errors",
            "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
            "targets": [{"refId": "A", "expr": "rate(http_errors_total[$__rate_interval])"},
                        {"refId": "B", "expr": "rate(http_errors_total[5m]"},
                        {"refId": "C", "expr": "up", "hide": true}]}]},
        "meta": {"url": "/d/u1/checkout"}});
    let served = ResponseTemplate::new(200).set_body_json(dashboard);
    server
        .serve(given("GET", "/api/dashboards/uid/u1"), served)
        .await;
    mount_datasources(&server).await;
    let t: Vec<i64> = (0..40).map(|i| NOW - 3_600_000 + i * 90_000).collect();
    let v: Vec<Value> = (0..40).map(|i| json!(i as f64 / 10.0)).collect();
    let frames_a = json!([
        frame(
            "A",
            "Value",
            json!({"__name__": "http_errors_total", "instance": "web-1"}),
            &t,
            &v
        ),
        frame(
            "A",
            "Value",
            json!({"__name__": "http_errors_total", "instance": "web-2"}),
            &t,
            &v
        ),
    ]);
    let error_b = json!({"error": "bad_data: 1:31: parse error: unclosed left parenthesis",
        "errorSource": "downstream", "status": 400});
    let both = json!({"results": {"A": {"status": 200, "frames": frames_a}, "B": error_b}});
    let served = ResponseTemplate::new(400).set_body_json(both);
    server
        .expect(
            given("POST", "/api/ds/query").and(|r: &Request| queries_of(r).len() == 2),
            served,
            1,
        )
        .await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(|r: &Request| {
            let q = queries_of(r);
            q.len() == 1 && q[0]["refId"] == "A"
        })
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": {"A": {"status": 200, "frames": frames_a}}})),
        )
        // The 400 is read whole: no query is asked again on its own.
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(|r: &Request| {
            let q = queries_of(r);
            q.len() == 1 && q[0]["refId"] == "B"
        })
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"results": {"B": error_b}})))
        .expect(0)
        .mount(&server)
        .await;
    let g = grafana(&server);
    let d = g.dashboard("u1", &options()).await.unwrap();
    let data = g.panel_data(&d, 2, 20).await.unwrap();
    assert_eq!(data.series.len(), 2);
    assert_eq!(data.series[0].series.labels["instance"], "web-1");
    assert_eq!(
        data.series[0].series.values.len(),
        20,
        "thinned to the width"
    );
    assert_eq!(data.series[0].stats.count, 40, "stats over every point");
    assert_eq!(data.series[0].stats.max, Some(3.9));
    assert_eq!(data.errors.len(), 1);
    assert_eq!(data.errors[0].ref_id, "B");
    assert_eq!(data.errors[0].status, Some(400));
    assert!(
        data.errors[0].message.contains("unclosed left parenthesis"),
        "{:?}",
        data.errors
    );
    // The hidden query C is never sent.
    for r in server.received_requests().await.unwrap() {
        if r.url.path() == "/api/ds/query" {
            assert!(queries_of(&r).iter().all(|q| q["refId"] != "C"));
        }
    }
}

/// The Prometheus-format alerts Grafana serves for its own rules
/// (alerting_provisioning and https://prometheus.io/docs/prometheus/latest/querying/api/#alerts).
#[tokio::test]
async fn firing_grafana_managed_alerts_are_read() {
    let served = ResponseTemplate::new(200).set_body_json(json!({"status": "success", "data": {"alerts": [
            {"labels": {"alertname": "CheckoutErrors", "grafana_folder": "Shop", "instance": "web-2"},
             "annotations": {"summary": "5xx over 5%"}, "state": "Alerting",
             "activeAt": "2023-11-14T22:00:00Z", "value": "7.5e-02"},
            {"labels": {"alertname": "DiskSlow"}, "annotations": {}, "state": "Pending",
             "activeAt": "2023-11-14T22:10:00Z", "value": "1e+00"}
        ]}}));
    let server = start_expecting(
        given("GET", "/api/prometheus/grafana/api/v1/alerts").and(bearer()),
        served,
        1,
    )
    .await;
    let alerts = grafana(&server).alerts().await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].name(), "CheckoutErrors");
    assert_eq!(alerts[0].state, AlertState::Firing);
    assert_eq!(alerts[1].state, AlertState::Pending);
}

/// Grafana's Alertmanager API (alerting_provisioning; the Alertmanager v2 OpenAPI,
/// https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml): create, then expire.
#[tokio::test]
async fn a_silence_is_created_and_expired_on_grafanas_alertmanager() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/alertmanager/grafana/api/v2/silences"))
        .and(bearer())
        .and(body_partial_json(json!({
            "matchers": [{"name": "alertname", "value": "CheckoutErrors", "isRegex": false, "isEqual": true}],
            "createdBy": "paaf", "comment": "incident 42"})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"silenceID": "5fbb1d7e-1c0a-4e4d-8a39-2c2a6b9a0d11"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            "/api/alertmanager/grafana/api/v2/silence/5fbb1d7e-1c0a-4e4d-8a39-2c2a6b9a0d11",
        ))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"message": "silence deleted"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let g = grafana(&server);
    let silence = NewSilence::lasting(
        vec![Matcher::equal("alertname", "CheckoutErrors")],
        Duration::from_secs(3600),
        "paaf",
        "incident 42",
    );
    let id = g.alertmanager().create_silence(&silence).await.unwrap();
    assert_eq!(id, "5fbb1d7e-1c0a-4e4d-8a39-2c2a6b9a0d11");
    g.alertmanager().expire_silence(&id).await.unwrap();
}

/// annotations/#create-annotation: org-wide (no dashboard) and on a panel; `200 {"message":
/// "Annotation added","id":1}`; not retried.
#[tokio::test]
async fn annotations_are_created_org_wide_and_on_a_panel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/annotations"))
        .and(bearer())
        .and(body_json(
            json!({"time": NOW, "tags": ["reboot"], "text": "web-2 rebooted"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": "Annotation added", "id": 7})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/annotations"))
        .and(body_json(
            json!({"dashboardUID": "u1", "panelId": 2, "time": NOW, "timeEnd": NOW + 60_000,
            "tags": ["flag", "incident"], "text": "new-checkout off"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": "Annotation added", "id": 8})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let g = grafana(&server);
    let org = NewAnnotation {
        time: NOW,
        tags: vec!["reboot".into()],
        text: "web-2 rebooted".into(),
        ..NewAnnotation::default()
    };
    assert_eq!(g.annotate(&org).await.unwrap(), 7);
    let on_panel = NewAnnotation {
        dashboard_uid: Some("u1".into()),
        panel_id: Some(2),
        time: NOW,
        time_end: Some(NOW + 60_000),
        tags: vec!["flag".into(), "incident".into()],
        text: "new-checkout off".into(),
    };
    assert_eq!(g.annotate(&on_panel).await.unwrap(), 8);

    // A 500 on a create is reported, not sent twice; the annotation may have been saved before
    // the failure, so its outcome is unknown (the HTTP client's one failure policy).
    let served =
        ResponseTemplate::new(500).set_body_json(json!({"message": "Failed to save annotation"}));
    let failing = start_expecting(given("POST", "/api/annotations"), served, 1).await;
    assert_fails(
        grafana(&failing).annotate(&org).await,
        ErrorCode::OutcomeUnknown,
        &[],
    );
}

async fn render_fixture(server: &MockServer) -> paaf_core::monitor::grafana::Dashboard {
    let dashboard = json!({"dashboard": {"uid": "u1", "title": "Checkout", "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{"name": "env", "type": "custom", "query": "prod,staging",
            "current": {"text": "prod", "value": "prod"}}]},
        "panels": [{"id": 2, "type": "timeseries", "title": "Errors", "targets": []}]},
        "meta": {"url": "/d/u1/checkout"}});
    let served = ResponseTemplate::new(200).set_body_json(dashboard);
    server
        .serve(given("GET", "/api/dashboards/uid/u1"), served)
        .await;
    mount_datasources(server).await;
    grafana(server).dashboard("u1", &options()).await.unwrap()
}

/// Image rendering (https://grafana.com/docs/grafana/latest/setup-grafana/image-rendering/):
/// `GET /render/d-solo/{uid}/{slug}?panelId&from&to&width&height&tz` → `image/png`.
#[tokio::test]
async fn a_panel_renders_to_png_when_grafana_has_a_renderer() {
    let server = MockServer::start().await;
    let d = render_fixture(&server).await;
    let served = ResponseTemplate::new(200)
        .insert_header("content-type", "image/png")
        .set_body_bytes(testdata("paaf-render-panel-400x200.png"));
    server
        .expect(
            given(
                "GET",
                "/render/d-solo/u1/checkout?panelId=2&width=400&height=200&tz=UTC&var-env=prod",
            )
            .and(bearer())
            .and(query_param("from", (NOW - 3_600_000).to_string()))
            .and(query_param("to", NOW.to_string())),
            served,
            1,
        )
        .await;
    match grafana(&server)
        .render_panel(&d, 2, 400, 200)
        .await
        .unwrap()
    {
        PanelImage::Png {
            bytes,
            width,
            height,
        } => {
            assert_eq!((width, height), (400, 200));
            assert_eq!(bytes, testdata("paaf-render-panel-400x200.png"));
        }
        other => panic!("{other:?}"),
    }
}

/// Without a renderer, Grafana (pkg/services/rendering: `renderUnavailableImage`) answers 200
/// with its fixed-size "plugin not installed" PNG; newer versions (render keys off when rendering
/// is disabled) and a failing renderer answer 500 "Rendering failed." (pkg/api/render.go).
#[tokio::test]
async fn without_a_renderer_the_outcome_says_so_instead_of_an_image() {
    let server = MockServer::start().await;
    let d = render_fixture(&server).await;
    let served = ResponseTemplate::new(200)
        .insert_header("content-type", "image/png")
        .set_body_bytes(testdata("paaf-render-placeholder-500x250.png"));
    server
        .serve(given("GET", "/render/d-solo/u1/checkout"), served)
        .await;
    match grafana(&server)
        .render_panel(&d, 2, 400, 200)
        .await
        .unwrap()
    {
        PanelImage::NoRenderer { reason, message } => {
            assert_eq!(reason, NoRendererReason::PluginNotInstalled);
            assert!(message.contains("no image renderer"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let newer = MockServer::start().await;
    let d = render_fixture(&newer).await;
    let served = ResponseTemplate::new(500)
        .set_body_string("<!DOCTYPE html><html><body><h1>Rendering failed.</h1></body></html>");
    newer
        .serve(given("GET", "/render/d-solo/u1/checkout"), served)
        .await;
    match grafana_with(
        &newer,
        Limits {
            max_attempts: 1,
            ..limits()
        },
    )
    .render_panel(&d, 2, 400, 200)
    .await
    .unwrap()
    {
        PanelImage::NoRenderer { reason, message } => {
            assert_eq!(reason, NoRendererReason::RenderFailed);
            assert!(message.contains("Rendering failed."), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A panel that is not on the dashboard is refused before any request.
    assert_fails(
        grafana(&newer).render_panel(&d, 99, 400, 200).await,
        ErrorCode::NotFound,
        &[],
    );
}

/// Error statuses as the HTTP API docs list them (auth/#authentication-api, dashboard/#get-dashboard-by-uid
/// "404 – Not found", folder_dashboard_search, and Grafana's `{"message": …}` error body).
#[tokio::test]
async fn error_statuses_become_typed_errors_without_the_token() {
    let cases = [
        (
            401,
            json!({"message": format!("invalid API key {TOKEN}")}),
            ErrorCode::AuthFailed,
        ),
        (
            403,
            json!({"message": "Access denied"}),
            ErrorCode::PermissionDenied,
        ),
        (
            404,
            json!({"message": "Dashboard not found"}),
            ErrorCode::NotFound,
        ),
        (
            503,
            json!({"message": "Service unavailable"}),
            ErrorCode::ServiceFailed,
        ),
    ];
    for (status, body, code) in cases {
        let served = ResponseTemplate::new(status).set_body_json(body);
        let server = start_serving(given("GET", "/api/dashboards/uid/nope"), served).await;
        let g = grafana_with(
            &server,
            Limits {
                max_attempts: 1,
                ..limits()
            },
        );
        let e = g.dashboard("nope", &options()).await.unwrap_err();
        assert_eq!(e.code(), code, "{status}: {e}");
        let text = format!("{e} {e:?} {g:?}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains(&status.to_string()), "{text}");
    }
}

/// HTTP 429 with Retry-After (RFC 6585 §4): a short wait is honoured and the GET retried; a long
/// one is reported as rate-limited with the wait it asked for.
#[tokio::test]
async fn rate_limits_are_waited_out_or_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200).set_body_json(json!([]));
    server.expect(given("GET", "/api/search"), served, 1).await;
    let started = std::time::Instant::now();
    assert!(
        grafana(&server)
            .search(&SearchQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(started.elapsed() >= Duration::from_millis(900));

    let served = ResponseTemplate::new(429).insert_header("retry-after", "120");
    let slow = start_expecting(given("GET", "/api/search"), served, 1).await;
    assert_fails(
        grafana(&slow).search(&SearchQuery::default()).await,
        ErrorCode::RateLimited,
        &["120"],
    );
}

/// A Grafana that does not answer within the request budget.
#[tokio::test]
async fn a_slow_grafana_times_out() {
    let served = ResponseTemplate::new(200)
        .set_body_json(json!([]))
        .set_delay(Duration::from_secs(3));
    let server = start_serving(given("GET", "/api/search"), served).await;
    let g = grafana_with(
        &server,
        Limits {
            timeout: Duration::from_millis(300),
            max_attempts: 1,
            ..limits()
        },
    );
    assert_fails(
        g.search(&SearchQuery::default()).await,
        ErrorCode::Timeout,
        &[],
    );
}

/// A 200 that is not the documented JSON (a login page behind a proxy, a cut body).
#[tokio::test]
async fn malformed_json_is_a_malformed_response() {
    let served = ResponseTemplate::new(200).set_body_string("<html><body>Sign in</body></html>");
    let server = start_serving(given("GET", "/api/search"), served).await;
    let served =
        ResponseTemplate::new(200).set_body_string("{\"dashboard\": {\"panels\": [{\"id\": 1,");
    server
        .serve(given("GET", "/api/dashboards/uid/cut"), served)
        .await;
    let g = grafana(&server);
    assert_eq!(
        g.search(&SearchQuery::default()).await.unwrap_err().code(),
        ErrorCode::MalformedResponse
    );
    assert_eq!(
        g.dashboard("cut", &options()).await.unwrap_err().code(),
        ErrorCode::MalformedResponse
    );
}

/// A token without `datasources:read` (data_source/#get-all-data-sources answers 403): the
/// dashboard still opens; literal uids are used and unresolvable variables say why.
#[tokio::test]
async fn a_dashboard_opens_when_data_sources_cannot_be_listed() {
    let served = ResponseTemplate::new(200).set_body_json(dashboard_body(
        "kubernetes-mixin-k8s-resources-cluster-legacy-rows-schema14.json",
        "/d/legacy/kubernetes-compute-resources-cluster",
    ));
    let server = start_serving(given("GET", "/api/dashboards/uid/legacy"), served).await;
    let served = ResponseTemplate::new(403).set_body_json(json!({"message": "Permission denied"}));
    server.serve(given("GET", "/api/datasources"), served).await;
    let d = grafana(&server)
        .dashboard("legacy", &options())
        .await
        .unwrap();
    assert_eq!(d.panels.len(), 22);
    let ds = d.variables.iter().find(|v| v.name == "datasource").unwrap();
    assert!(
        ds.warning
            .as_deref()
            .unwrap_or("")
            .contains("datasources:read"),
        "{ds:?}"
    );
    let cluster = d.variables.iter().find(|v| v.name == "cluster").unwrap();
    assert!(cluster.warning.is_some(), "{cluster:?}");
    assert_ne!(cluster.values, vec![ALL.to_string()]);
    // A panel whose data source is the unresolved `$datasource` is not sent: its error says why.
    let data = grafana(&server).panel_data(&d, 1, 200).await.unwrap();
    assert_eq!(data.errors.len(), 1, "{data:?}");
    assert!(
        data.errors[0].message.contains("not found"),
        "{:?}",
        data.errors
    );
}
