//! Prometheus and Alertmanager clients against the real thing: Debian's prometheus,
//! prometheus-node-exporter and prometheus-alertmanager on 127.0.0.1, started per test by
//! tests/peers/prometheus.sh (scrapes every second; rule PaafTestAlwaysFiring fires at once).

use paaf_core::ErrorCode;
use paaf_core::http::{HttpAuth, Limits, Service};
use paaf_core::monitor::alertmanager::{
    self, AlertStatus, Alertmanager, Matcher, NewSilence, SilenceState,
};
use paaf_core::monitor::prometheus::{
    self, AlertState, Prometheus, RangeQuery, ResultType, TargetHealth,
};
use paaf_tests::PrometheusPeers;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RULE: &str = "PaafTestAlwaysFiring";

fn service(name: &str, url: &str) -> Service {
    Service::new(name, url, HttpAuth::None, Limits::default()).unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs a test body with a time budget, so a hung peer fails the test instead of the run.
async fn within<F: Future<Output = ()>>(secs: u64, body: F) {
    tokio::time::timeout(Duration::from_secs(secs), body)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {secs}s"));
}

/// Calls `probe` every 200 ms until it returns `Some`, for at most `secs`.
async fn poll<T, F, Fut>(secs: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_instant_query_of_up_sees_both_targets_up() {
    let peers = PrometheusPeers::start();
    let svc = service("prometheus \"test\"", &peers.prometheus_url());
    let prom = Prometheus::new(&svc, prometheus::API_V1);
    within(30, async {
        let result = poll(15, "both targets scraped and up", || async {
            let r = prom.query("up", None).await.unwrap();
            (r.series.len() == 2 && r.series.iter().all(|s| s.values == [Some(1.0)])).then_some(r)
        })
        .await;
        assert_eq!(result.result_type, ResultType::Vector);
        let mut jobs: Vec<&str> = result
            .series
            .iter()
            .map(|s| s.labels["job"].as_str())
            .collect();
        jobs.sort();
        assert_eq!(jobs, ["node", "prometheus"]);
        let node = result
            .series
            .iter()
            .find(|s| s.labels["job"] == "node")
            .unwrap();
        assert_eq!(
            node.name,
            format!(
                "up{{instance=\"127.0.0.1:{}\", job=\"node\"}}",
                peers.node_port
            )
        );
        // The server's evaluation time, in ms, close to ours.
        assert!(
            (node.times_ms[0] - now_ms()).abs() < 10_000,
            "{:?}",
            node.times_ms
        );

        // At a given time (epoch ms in, epoch ms out).
        let at = now_ms() - 500;
        let r = prom.query("up", Some(at)).await.unwrap();
        assert!(r.series.iter().all(|s| s.times_ms == [at]), "{r:?}");
        // A scalar.
        let r = prom.query("scalar(vector(0.5)) * 4", None).await.unwrap();
        assert_eq!(r.result_type, ResultType::Scalar);
        assert_eq!(r.series[0].values, [Some(2.0)]);
    })
    .await;
}

#[tokio::test]
async fn a_range_query_on_node_metrics_returns_several_points_per_series() {
    let peers = PrometheusPeers::start();
    let svc = service("prometheus \"test\"", &peers.prometheus_url());
    let prom = Prometheus::new(&svc, prometheus::API_V1);
    within(45, async {
        let load = poll(20, "five points of node_load1", || async {
            let end = now_ms();
            let range = RangeQuery {
                step_ms: Some(1_000),
                ..RangeQuery::new(end - 30_000, end)
            };
            let r = prom.query_range("node_load1", &range).await.unwrap();
            r.series.into_iter().find(|s| s.values.len() >= 5)
        })
        .await;
        assert_eq!(load.labels["__name__"], "node_load1");
        assert!(
            load.times_ms.windows(2).all(|w| w[1] - w[0] == 1_000),
            "{:?}",
            load.times_ms
        );
        assert!(
            load.values.iter().all(|v| v.is_some_and(|x| x >= 0.0)),
            "{:?}",
            load.values
        );

        // A rate per CPU mode with the step chosen from the range: 1 s for a minute.
        let end = now_ms();
        let r = prom
            .query_range(
                "sum by (mode) (rate(node_cpu_seconds_total[3s]))",
                &RangeQuery::new(end - 60_000, end),
            )
            .await
            .unwrap();
        assert_eq!(r.result_type, ResultType::Matrix);
        assert_eq!(r.step_ms, Some(1_000));
        let idle = r
            .series
            .iter()
            .find(|s| s.labels.get("mode").map(String::as_str) == Some("idle"));
        let idle = idle.unwrap_or_else(|| panic!("no idle series in {:?}", r.series));
        assert!(idle.values.len() >= 2, "{idle:?}");
        assert!(
            idle.values
                .iter()
                .flatten()
                .all(|v| (0.0..=1024.0).contains(v)),
            "{idle:?}"
        );
        // The same downsampler as Grafana's series.
        let mut thin = idle.clone();
        paaf_core::monitor::downsample(&mut thin, 2);
        assert_eq!(thin.values.len(), 2);

        // Thirty days at a 1 s step would be 2.6 M points; Prometheus refuses over 11,000, so
        // the step is raised instead of the query failing.
        let month = RangeQuery {
            step_ms: Some(1_000),
            ..RangeQuery::new(end - 30 * 86_400_000, end)
        };
        let r = prom.query_range("vector(1)", &month).await.unwrap();
        let step = r.step_ms.unwrap();
        assert!(30 * 86_400_000 / step <= 11_000, "step {step}");
        assert!(!r.series.is_empty());
    })
    .await;
}

#[tokio::test]
async fn bad_promql_is_a_typed_error_naming_the_query() {
    let peers = PrometheusPeers::start();
    let svc = service("prometheus \"test\"", &peers.prometheus_url());
    let prom = Prometheus::new(&svc, prometheus::API_V1);
    within(30, async {
        let expr = "rate(node_cpu_seconds_total[1m]";
        let e = prom.query(expr, None).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        let text = e.to_string();
        assert!(
            text.contains("query `rate(node_cpu_seconds_total[1m]`"),
            "{text}"
        );
        assert!(text.contains("parse error"), "{text}");
        assert!(text.contains("HTTP 400"), "{text}");
        assert!(text.contains("prometheus \"test\""), "{text}");

        // Parses but cannot run (HTTP 422).
        let end = now_ms();
        let e = prom
            .query_range(
                r#"label_replace(up, "x", "$1", "instance", "(")"#,
                &RangeQuery::new(end - 10_000, end),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        assert!(e.to_string().contains("invalid regular expression"), "{e}");
        assert!(e.to_string().contains("HTTP 422"), "{e}");
    })
    .await;
}

#[tokio::test]
async fn the_rule_fires_and_prometheus_lists_its_alert_and_healthy_targets() {
    let peers = PrometheusPeers::start();
    let svc = service("prometheus \"test\"", &peers.prometheus_url());
    within(40, async {
        let alert = poll(15, "the rule's alert firing", || async {
            let alerts = prometheus::alerts(&svc, prometheus::API_V1).await.unwrap();
            alerts
                .into_iter()
                .find(|a| a.name() == RULE && a.state == AlertState::Firing)
        })
        .await;
        assert_eq!(alert.state_text, "firing");
        assert_eq!(alert.labels["severity"], "page");
        assert_eq!(alert.labels["service"], "checkout");
        assert!(
            alert.annotations["summary"].contains("Checkout"),
            "{alert:?}"
        );
        assert_eq!(alert.value, Some(1.0));
        let active = alert.active_at_ms.unwrap();
        assert!(active <= now_ms() && now_ms() - active < 60_000, "{active}");

        let prom = Prometheus::new(&svc, prometheus::API_V1);
        let targets = poll(15, "both targets up", || async {
            let t = prom.targets().await.unwrap();
            (t.len() == 2 && t.iter().all(|t| t.health == TargetHealth::Up)).then_some(t)
        })
        .await;
        assert_eq!(targets[0].job, "node");
        assert_eq!(
            targets[0].instance,
            format!("127.0.0.1:{}", peers.node_port)
        );
        assert_eq!(targets[1].job, "prometheus");
        for t in &targets {
            assert_eq!(t.last_error, None, "{t:?}");
            assert!(now_ms() - t.last_scrape_ms.unwrap() < 30_000, "{t:?}");
            assert!(t.scrape_url.ends_with("/metrics"), "{t:?}");
        }

        // Stopping the node exporter turns its target down, with the scrape error.
        let node_pid = std::fs::read_to_string(peers.dir.join("node-exporter.pid")).unwrap();
        let status = std::process::Command::new("kill")
            .arg(node_pid.trim())
            .status()
            .unwrap();
        assert!(status.success());
        let node = poll(15, "the node target down", || async {
            let t = prom.targets().await.unwrap();
            t.into_iter()
                .find(|t| t.job == "node" && t.health == TargetHealth::Down)
        })
        .await;
        assert!(node.last_error.is_some(), "{node:?}");
    })
    .await;
}

#[tokio::test]
async fn alertmanager_gets_the_alert_and_a_silence_mutes_it_until_expired() {
    let peers = PrometheusPeers::start();
    let svc = service("alertmanager \"test\"", &peers.alertmanager_url());
    let am = Alertmanager::new(&svc, alertmanager::API_V2);
    let ours = [Matcher::equal("alertname", RULE)];
    within(90, async {
        // Prometheus finds its Alertmanager within ~5 s, then re-sends every second.
        let alert = poll(30, "the alert in Alertmanager", || async {
            am.alerts(&ours).await.unwrap().into_iter().next()
        })
        .await;
        assert_eq!(alert.status, AlertStatus::Active);
        assert_eq!(alert.labels["service"], "checkout");
        assert!(!alert.fingerprint.is_empty());
        assert!(
            alert.starts_at_ms.is_some_and(|t| t <= now_ms()),
            "{alert:?}"
        );
        let url = alert.generator_url.as_deref().unwrap();
        assert!(
            url.contains(&format!(":{}/graph", peers.prometheus_port)),
            "{url}"
        );

        // Filters combine; one that matches nothing gives nothing.
        let both = [
            Matcher::equal("service", "checkout"),
            Matcher::regex("severity", "pa.*"),
        ];
        assert_eq!(am.alerts(&both).await.unwrap().len(), 1);
        let none = [Matcher::parse("service!=checkout").unwrap()];
        assert!(am.alerts(&none).await.unwrap().is_empty());

        // Silence it for 10 minutes.
        let new = NewSilence::lasting(
            vec![
                Matcher::equal("service", "checkout"),
                Matcher::regex("severity", "page|critical"),
            ],
            Duration::from_secs(600),
            "paaf-test",
            "incident 42: silenced while checkout is fixed",
        );
        let id = am.create_silence(&new).await.unwrap();
        assert!(!id.is_empty());
        let silenced = poll(10, "the alert silenced", || async {
            let a = am.alerts(&ours).await.unwrap().into_iter().next()?;
            (a.status == AlertStatus::Silenced).then_some(a)
        })
        .await;
        assert_eq!(silenced.silenced_by, vec![id.clone()]);

        let silences = am.silences().await.unwrap();
        let s = silences.iter().find(|s| s.id == id).unwrap();
        assert_eq!(s.state, SilenceState::Active);
        assert_eq!(s.created_by, "paaf-test");
        assert_eq!(s.comment, new.comment);
        assert_eq!(s.matchers, new.matchers);
        let length = s.ends_at_ms.unwrap() - s.starts_at_ms.unwrap();
        assert!((599_000..=600_000).contains(&length), "{length}");

        // Expire it: the alert is active again.
        am.expire_silence(&id).await.unwrap();
        poll(10, "the alert active again", || async {
            let a = am.alerts(&ours).await.unwrap().into_iter().next()?;
            (a.status == AlertStatus::Active && a.silenced_by.is_empty()).then_some(())
        })
        .await;
        let s = am
            .silences()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.id == id)
            .unwrap();
        assert_eq!(s.state, SilenceState::Expired);
        // Expiring twice is fine; an unknown id is not-found.
        am.expire_silence(&id).await.unwrap();
        let e = am
            .expire_silence("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");

        // A matcher Alertmanager refuses comes back as invalid input with its reason.
        let e = am
            .alerts(&[Matcher::regex("service", "(")])
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    })
    .await;
}

#[tokio::test]
async fn a_url_that_is_not_the_api_is_a_malformed_response_and_a_stopped_server_unreachable() {
    let peers = PrometheusPeers::start();
    within(60, async {
        // The node exporter answers every path with its HTML landing page.
        let wrong = service("prometheus \"wrong\"", &peers.node_exporter_url());
        let e = Prometheus::new(&wrong, prometheus::API_V1)
            .query("up", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
        assert!(
            e.to_string().contains("prometheus \"wrong\" api/v1/query"),
            "{e}"
        );
        assert!(!e.to_string().contains("Node Exporter"), "{e}");
        let e = Alertmanager::new(&wrong, alertmanager::API_V2)
            .silences()
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");

        // The Alertmanager is not a Prometheus: 404, with the hint to check the base URL.
        let am_as_prom = service("prometheus \"am\"", &peers.alertmanager_url());
        let e = Prometheus::new(&am_as_prom, prometheus::API_V1)
            .query("up", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert!(e.to_string().contains("base URL"), "{e}");

        peers.stop();
        let svc = service("prometheus \"test\"", &peers.prometheus_url());
        let e = Prometheus::new(&svc, prometheus::API_V1)
            .query("up", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Unreachable, "{e}");
        let am_svc = service("alertmanager \"test\"", &peers.alertmanager_url());
        let e = Alertmanager::new(&am_svc, alertmanager::API_V2)
            .create_silence(&NewSilence::lasting(
                vec![Matcher::equal("service", "checkout")],
                Duration::from_secs(60),
                "paaf-test",
                "x",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Unreachable, "{e}");
    })
    .await;
}
