//! The AWS EC2 provider against a real `moto_server` (PyPI `moto[server]`, pinned in
//! `tests/peers/moto.sh`): SigV4-signed Query API calls, XML answers. Each test starts its own
//! empty moto (about a second) and makes its instances through moto's own EC2 API
//! (`RunInstances`, signed by paaf's signer through `Ec2::call_raw`).
//!
//! What moto models, as seen here: `DescribeInstances` pages by reservation, not by instance
//! (`MaxResults` counts reservations); a stop answers `stopping` and the next describe already
//! says `stopped`; a start answers `pending` and the next describe says `running`; a reboot
//! answers `true` and the state stays `running` (as on AWS: nothing proves it); unknown ids
//! are `InvalidInstanceID.NotFound`. It accepts any credentials unless started with
//! `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes it check them against its IAM emulation.

use paaf_core::ErrorCode;
use paaf_core::cloud::ec2::{AwsCredentials, Ec2};
use paaf_core::cloud::{
    CloudProvider, Evidence, PollSettings, PowerAction, ServerStatus, power_and_wait,
};
use paaf_core::events::CancellationToken;
use paaf_core::http::{Limits, Retry};
use paaf_tests::{MotoServer, ec2_at, free_port};
use secrecy::SecretString;
use std::time::{Duration, Instant};

/// An AMI moto ships in every region.
const AMI: &str = "ami-12c6146b";
const SECRET: &str = "moto-test-secret-key-0123456789";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(3),
        timeout: Duration::from_secs(20),
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(2),
        ..Limits::default()
    }
}

fn credentials(key_id: &str) -> AwsCredentials {
    AwsCredentials {
        access_key_id: key_id.into(),
        secret_access_key: SecretString::from(SECRET),
        session_token: None,
    }
}

fn account(moto: &MotoServer, regions: &[&str]) -> Ec2 {
    ec2_at(
        "test",
        &moto.url(),
        ("AKIDMOTOTEST", SECRET),
        regions,
        limits(),
    )
}

fn fast_polling() -> PollSettings {
    PollSettings {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(20),
    }
}

/// Launches `count` instances in one reservation of `region`, tagged `Name=NAME`
/// (when given) and `batch=BATCH`; returns their ids.
async fn run_instances(
    ec2: &Ec2,
    region: &str,
    count: u32,
    name: Option<&str>,
    batch: &str,
) -> Vec<String> {
    let mut params = vec![
        ("ImageId".to_string(), AMI.to_string()),
        ("InstanceType".to_string(), "t3.micro".to_string()),
        ("MinCount".to_string(), count.to_string()),
        ("MaxCount".to_string(), count.to_string()),
        (
            "TagSpecification.1.ResourceType".to_string(),
            "instance".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Key".to_string(),
            "batch".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Value".to_string(),
            batch.to_string(),
        ),
    ];
    if let Some(name) = name {
        params.push(("TagSpecification.1.Tag.2.Key".into(), "Name".into()));
        params.push(("TagSpecification.1.Tag.2.Value".into(), name.into()));
    }
    let xml = ec2
        .call_raw(region, "RunInstances", params, Retry::NotIdempotent)
        .await
        .expect("RunInstances");
    let ids: Vec<String> = xml
        .split("<instanceId>")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), count as usize, "RunInstances answered: {xml}");
    ids
}

/// `DescribeInstances` requests moto logged (its access log names the action).
fn describe_requests(moto: &MotoServer) -> usize {
    std::fs::read_to_string(moto.dir.join("moto.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("Action=DescribeInstances"))
        .count()
}

#[tokio::test]
async fn lists_over_a_thousand_instances_page_by_page_in_two_regions() {
    let moto = MotoServer::start();
    // Pages of 10 reservations (moto counts reservations, not instances).
    let ec2 = account(&moto, &["eu-west-1", "us-east-1"]).with_page_size(10);
    let started = Instant::now();
    // eu-west-1: 60 reservations × 10 = 600; us-east-1: 45 × 10 = 450, plus 1 named web-1.
    for i in 0..60 {
        run_instances(&ec2, "eu-west-1", 10, None, &format!("eu-{i}")).await;
    }
    for i in 0..45 {
        run_instances(&ec2, "us-east-1", 10, None, &format!("us-{i}")).await;
    }
    let web = run_instances(&ec2, "us-east-1", 1, Some("web-1"), "named").await;
    eprintln!("launched 1051 instances in {:?}", started.elapsed());

    let before = describe_requests(&moto);
    let started = Instant::now();
    let inventory = ec2.list().await;
    eprintln!("listed in {:?}", started.elapsed());
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    assert_eq!(inventory.servers.len(), 1051);
    let in_region = |r: &str| inventory.servers.iter().filter(|s| s.region == r).count();
    assert_eq!(in_region("eu-west-1"), 600);
    assert_eq!(in_region("us-east-1"), 451);
    let mut ids: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1051, "no instance is listed twice across pages");
    // 60 reservations in pages of 10 = 6 pages, 46 = 5 pages.
    assert_eq!(describe_requests(&moto) - before, 11, "pages read");

    let named = inventory
        .servers
        .iter()
        .find(|s| s.id == web[0])
        .expect("web-1 listed");
    assert_eq!(named.name.as_deref(), Some("web-1"));
    assert_eq!(
        named.tags.get("batch").map(String::as_str),
        Some("named"),
        "{named:?}"
    );
    assert_eq!(named.provider, "aws");
    assert_eq!(named.account, "test");
    assert!(
        matches!(named.status, ServerStatus::Running | ServerStatus::Pending),
        "{named:?}"
    );
    assert!(!named.private_ips.is_empty(), "{named:?}");
    assert!(named.launched_at_ms.is_some(), "{named:?}");
    assert!(
        inventory
            .servers
            .iter()
            .filter(|s| s.region == "eu-west-1")
            .all(|s| s.name.is_none() && s.tags.contains_key("batch"))
    );
}

#[tokio::test]
async fn stop_then_start_are_followed_to_their_state_and_reboot_stays_running() {
    let moto = MotoServer::start();
    let ec2 = account(&moto, &["eu-west-1"]);
    let id = run_instances(&ec2, "eu-west-1", 1, Some("web-2"), "power").await[0].clone();
    let cancel = CancellationToken::new();

    let mut observed = Vec::new();
    let stopped = power_and_wait(
        &ec2,
        "eu-west-1",
        &id,
        PowerAction::Stop,
        fast_polling(),
        &cancel,
        |s| observed.push(s.raw_state.clone()),
    )
    .await
    .unwrap();
    eprintln!("stop: seen {:?}, raw {:?}", stopped.seen, observed);
    assert_eq!(stopped.accepted.status, Some(ServerStatus::Stopping));
    assert_eq!(stopped.accepted.raw_state.as_deref(), Some("stopping"));
    assert_eq!(stopped.server.status, ServerStatus::Stopped);
    assert_eq!(
        stopped.seen.first(),
        Some(&ServerStatus::Stopping),
        "the acceptance's state comes first"
    );
    assert_eq!(stopped.seen.last(), Some(&ServerStatus::Stopped));
    assert_eq!(stopped.server.name.as_deref(), Some("web-2"));
    assert_eq!(
        stopped.evidence,
        Some(Evidence::StateReadBack {
            raw_state: "stopped".into()
        })
    );
    assert_eq!(
        ec2.read("eu-west-1", &id).await.unwrap().status,
        ServerStatus::Stopped
    );

    let started = power_and_wait(
        &ec2,
        "eu-west-1",
        &id,
        PowerAction::Start,
        fast_polling(),
        &cancel,
        |_| {},
    )
    .await
    .unwrap();
    eprintln!("start: seen {:?}", started.seen);
    assert_eq!(started.accepted.status, Some(ServerStatus::Pending));
    assert_eq!(started.seen.last(), Some(&ServerStatus::Running));
    assert_eq!(started.server.status, ServerStatus::Running);

    let rebooted = power_and_wait(
        &ec2,
        "eu-west-1",
        &id,
        PowerAction::Reboot,
        fast_polling(),
        &cancel,
        |_| {},
    )
    .await
    .unwrap();
    eprintln!("reboot: seen {:?}", rebooted.seen);
    assert_eq!(rebooted.accepted.status, None, "a reboot answers only true");
    assert_eq!(rebooted.seen, vec![ServerStatus::Running]);
    // Nothing shows the reboot (no operation, always running, the same launch time): it was
    // watched for a sign (12 reads, 2.4 s here), then it is unverified, never "done".
    assert_eq!(rebooted.evidence, None);
    assert!(rebooted.polls > 1, "watched: {} reads", rebooted.polls);
    assert!(
        rebooted
            .unverified_reason()
            .unwrap()
            .contains("no sign of the reboot"),
    );

    let hard = ec2
        .power("eu-west-1", &id, PowerAction::HardReboot)
        .await
        .unwrap_err();
    assert_eq!(hard.code(), ErrorCode::InvalidInput);
}

#[tokio::test]
async fn a_missing_instance_is_not_found_naming_it() {
    let moto = MotoServer::start();
    let ec2 = account(&moto, &["eu-west-1", "us-east-1"]);
    let real = run_instances(&ec2, "us-east-1", 1, None, "elsewhere").await[0].clone();
    let missing = "i-0123456789abcdef0";
    for action in [PowerAction::Stop, PowerAction::Start, PowerAction::Reboot] {
        let e = ec2.power("eu-west-1", missing, action).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{action:?}: {e}");
        assert!(e.to_string().contains(missing), "{e}");
    }
    let e = ec2.read("eu-west-1", missing).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    // The instance exists, but in the other region: not found where it was asked for.
    let e = ec2.read("eu-west-1", &real).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("eu-west-1"), "{e}");
    assert_eq!(
        ec2.read("us-east-1", &real).await.unwrap().id,
        real,
        "found in its own region"
    );
    // A region that is not configured is refused before anything is sent.
    let e = ec2.read("ap-south-1", &real).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
}

#[tokio::test]
async fn a_refusing_region_is_an_error_row_beside_the_other_regions_servers() {
    let moto = MotoServer::start();
    let closed = free_port(); // nothing listens there once the probe socket is gone
    let ec2 = Ec2::with_endpoints(
        "test",
        credentials("AKIDMOTOTEST"),
        &[
            ("eu-west-1".to_string(), moto.url()),
            (
                "ap-south-1".to_string(),
                format!("http://127.0.0.1:{closed}/"),
            ),
        ],
        limits(),
    )
    .unwrap();
    run_instances(&ec2, "eu-west-1", 3, Some("api"), "ok").await;
    let started = Instant::now();
    let inventory = ec2.list().await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(inventory.servers.len(), 3, "{inventory:?}");
    assert!(inventory.servers.iter().all(|s| s.region == "eu-west-1"));
    assert_eq!(inventory.errors.len(), 1, "{:?}", inventory.errors);
    let row = &inventory.errors[0];
    assert_eq!(row.region.as_deref(), Some("ap-south-1"));
    assert_eq!(row.account, "test");
    assert_eq!(row.error.code, ErrorCode::Unreachable, "{:?}", row.error);
}

#[tokio::test]
async fn bad_credentials_are_auth_failed_when_moto_checks_them() {
    // With INITIAL_NO_AUTH_ACTION_COUNT=0 moto checks every request's access key against its
    // IAM emulation, where no key exists: every key is unknown.
    let moto = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let ec2 = account(&moto, &["eu-west-1"]);
    let inventory = ec2.list().await;
    assert!(inventory.servers.is_empty());
    assert_eq!(inventory.errors.len(), 1, "{:?}", inventory.errors);
    let error = &inventory.errors[0].error;
    assert_eq!(error.code, ErrorCode::AuthFailed, "{error:?}");
    assert!(error.message.contains("access key"), "{error:?}");
    assert!(!error.message.contains(SECRET), "{error:?}");

    let e = ec2
        .power("eu-west-1", "i-0123456789abcdef0", PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(!e.to_string().contains(SECRET), "{e}");
    assert!(!format!("{ec2:?}").contains(SECRET));
}
