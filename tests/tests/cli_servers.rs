//! The cloud commands of the `paaf` CLI against a real `moto_server` (tests/peers/moto.sh):
//! every server of an account in one list, and a stop and start followed to their end.

use paaf_core::cloud::ec2::Ec2;
use paaf_core::http::{Limits, Retry};
use paaf_tests::{MotoServer, World};
use secrecy::SecretString;
use serde_json::Value;

/// An AMI moto knows.
const AMI: &str = "ami-12c6146b";

async fn launch(moto: &MotoServer, region: &str, name: &str) -> String {
    let ec2 = Ec2::connect(
        "seed",
        Some(&moto.url()),
        "AKIDEXAMPLE",
        SecretString::from("seed-secret"),
        None,
        &[region.to_string()],
        Limits::default(),
    )
    .unwrap();
    let params = vec![
        ("ImageId".to_string(), AMI.to_string()),
        ("InstanceType".to_string(), "t3.micro".to_string()),
        ("MinCount".to_string(), "1".to_string()),
        ("MaxCount".to_string(), "1".to_string()),
        (
            "TagSpecification.1.ResourceType".to_string(),
            "instance".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Key".to_string(),
            "Name".to_string(),
        ),
        (
            "TagSpecification.1.Tag.1.Value".to_string(),
            name.to_string(),
        ),
    ];
    let xml = ec2
        .call_raw(region, "RunInstances", params, Retry::NotIdempotent)
        .await
        .unwrap();
    xml.split("<instanceId>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string()
}

fn run(world: &World, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = world
        .paaf()
        .env("PAAF_TEST_AWS_SECRET", "not-a-real-secret")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let body = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        body,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_of_two_regions_then_a_stop_and_start_by_name() {
    let moto = MotoServer::start();
    let web = launch(&moto, "eu-west-1", "web-2").await;
    launch(&moto, "us-east-1", "batch-1").await;
    let world = World::new();
    world.write_config(&format!(
        "operator = \"alice\"\n\n[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\", \"us-east-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"env:PAAF_TEST_AWS_SECRET\"\nendpoint = \"{}\"\n",
        moto.url()
    ));

    let (code, inventory, err) = run(&world, &["servers"]);
    assert_eq!(code, Some(0), "{err}");
    let servers = inventory["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{inventory}");
    let web2 = servers.iter().find(|s| s["name"] == "web-2").unwrap();
    assert_eq!(
        (&web2["id"], &web2["region"]),
        (&Value::from(web.clone()), &Value::from("eu-west-1"))
    );
    assert_eq!(web2["status"], "running");

    // Without --yes and without a terminal: refused (exit 8), nothing sent.
    let (code, _, _) = run(&world, &["server", "stop", "web-2"]);
    assert_eq!(code, Some(8));

    let (code, outcome, err) = run(&world, &["server", "stop", "web-2", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome["server"]["status"], "stopped", "{outcome}");
    let (_, inventory, _) = run(&world, &["servers", "web-2"]);
    assert_eq!(inventory["servers"][0]["status"], "stopped", "{inventory}");

    let (code, outcome, err) = run(&world, &["server", "start", &web, "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome["server"]["status"], "running");

    let (code, body, _) = run(&world, &["server", "reboot", "db-9", "--yes"]);
    assert_eq!(code, Some(3), "{body}");
    assert_eq!(body["error"]["code"], "not-found");

    let journal = paaf_tests::journal_json(&world);
    let kinds: Vec<&str> = journal.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"server-stop") && kinds.contains(&"server-start"),
        "{kinds:?}"
    );
    assert!(
        !journal
            .iter()
            .any(|r| r.to_string().contains("not-a-real-secret"))
    );
}
