//! Login methods, commands and their output, against real sshd hosts.

use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{Confirmation, ErrorCode, Paaf};
use paaf_tests::{PASSWORD, SshHost, USER, World, host_entry, keygen};
use secrecy::SecretString;
use std::sync::Arc;

fn open(world: &World, store: Arc<MemoryStore>) -> Paaf {
    Paaf::open(&world.config_path(), store, "test").expect("open paaf")
}

#[tokio::test(flavor = "multi_thread")]
async fn key_auth_with_ed25519_ecdsa_and_rsa_and_a_passphrase_from_the_store() {
    let world = World::new();
    let ecdsa = keygen(world.dir.path(), "id_ecdsa", "ecdsa", "");
    let rsa = keygen(world.dir.path(), "id_rsa", "rsa", "");
    let locked = keygen(
        world.dir.path(),
        "id_locked",
        "ed25519",
        "correct horse battery",
    );
    let host = SshHost::start(&[&world.key, &ecdsa, &rsa, &locked]);
    world.trust(&host);
    let mut config = String::new();
    for (name, key) in [("ed", &world.key), ("ec", &ecdsa), ("rsa", &rsa)] {
        config += &host_entry(name, &host, key, "");
    }
    config += &format!(
        "[[hosts]]\nname = \"locked\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\nauth = {{ type = \"key\", path = \"{}\", passphrase = \"keyring:locked-key\" }}\n",
        host.port,
        locked.display()
    );
    world.write_config(&config);
    let store = Arc::new(MemoryStore::default());
    store
        .set("locked-key", &SecretString::from("correct horse battery"))
        .unwrap();
    let paaf = open(&world, store.clone());
    for name in ["ed", "ec", "rsa", "locked"] {
        let out = paaf
            .exec(name, "whoami", &Confirmation::Yes)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.stdout.trim(), USER, "{name}");
        assert_eq!(out.exit_code, 0);
    }

    // A wrong passphrase is an authentication error that names the key, not the passphrase.
    store
        .set("locked-key", &SecretString::from("wrong horse"))
        .unwrap();
    let paaf = open(&world, store);
    let err = paaf
        .exec("locked", "whoami", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AuthFailed, "{err}");
    assert!(err.to_string().contains("id_locked"), "{err}");
    assert!(!err.to_string().contains("wrong horse"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_auth_and_a_wrong_password_gives_a_clear_error() {
    let world = World::new();
    let host = SshHost::start(&[]);
    world.trust(&host);
    world.write_config(&format!(
        "[[hosts]]\nname = \"pw\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\nauth = {{ type = \"password\", password = \"keyring:pw\" }}\n",
        host.port
    ));
    let store = Arc::new(MemoryStore::default());
    // No secret stored yet: a secret error that says how to store it.
    let err = open(&world, store.clone())
        .exec("pw", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Secret);
    assert!(err.to_string().contains("paaf secret set pw"), "{err}");

    store.set("pw", &SecretString::from(PASSWORD)).unwrap();
    let out = open(&world, store.clone())
        .exec("pw", "id -un", &Confirmation::Yes)
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), USER);

    store
        .set("pw", &SecretString::from("not-the-password-42"))
        .unwrap();
    let err = open(&world, store)
        .exec("pw", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AuthFailed);
    let msg = err.to_string();
    assert!(msg.contains("refused the user or password"), "{msg}");
    assert!(
        !msg.contains("not-the-password-42") && !format!("{err:?}").contains("not-the-password-42")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_added_with_a_wrong_password_leaves_no_secret_and_no_config_entry() {
    use paaf_core::config::{AuthInput, HostInput, SecretInput};
    use paaf_core::{HostAdded, HostCheck};
    let world = World::new();
    let host = SshHost::start(&[]);
    world.trust(&host);
    world.write_config("");
    let store = Arc::new(MemoryStore::default());
    let paaf = open(&world, store.clone());
    let input = |password: &str| HostInput {
        name: "pw".into(),
        address: "127.0.0.1".into(),
        port: host.port,
        user: USER.into(),
        auth: AuthInput::Password {
            password: SecretInput::Value(SecretString::from(password)),
        },
    };
    let login = HostCheck::Login { trust: None };

    let err = paaf
        .add_host(input("not-the-password-42"), login.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AuthFailed, "{err}");
    assert!(err.to_string().contains("pw was not added"), "{err}");
    assert!(!err.to_string().contains("not-the-password-42"), "{err}");
    assert!(store.get("host-pw-password").is_err(), "no secret stored");
    assert!(paaf.hosts().is_empty());
    assert!(
        !std::fs::read_to_string(world.config_path())
            .unwrap()
            .contains("pw")
    );

    let added = paaf.add_host(input(PASSWORD), login).await.unwrap();
    assert!(
        matches!(added, HostAdded::Added { ref host } if host.name == "pw"),
        "{added:?}"
    );
    use secrecy::ExposeSecret;
    assert_eq!(
        store.get("host-pw-password").unwrap().expose_secret(),
        PASSWORD
    );
    let text = std::fs::read_to_string(world.config_path()).unwrap();
    assert!(
        text.contains("keyring:host-pw-password") && !text.contains(PASSWORD),
        "{text}"
    );
}

#[test]
fn agent_auth_through_the_cli() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&format!(
        "[[hosts]]\nname = \"ag\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\nauth = {{ type = \"agent\" }}\n",
        host.port
    ));
    let sock = world.dir.path().join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .spawn()
        .expect("ssh-agent");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let _agent = Kill(agent);
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Without the agent's socket: a clear error.
    let out = world
        .paaf()
        .args(["exec", "ag", "--yes", "--", "whoami"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("SSH_AUTH_SOCK"));

    let added = std::process::Command::new("ssh-add")
        .arg(&world.key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "ssh-add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let out = world
        .paaf()
        .env("SSH_AUTH_SOCK", &sock)
        .args(["exec", "ag", "--yes", "--", "whoami"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), USER);
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_large_output_and_a_bounded_capture() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry(
        "h",
        &host,
        &world.key,
        "max_output_bytes = 1048576\ncommand_timeout_secs = 3",
    ));
    let paaf = open(&world, Arc::new(MemoryStore::default()));

    let out = paaf
        .exec("h", "echo out; echo err >&2; exit 7", &Confirmation::Yes)
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (7, "out\n", "err\n")
    );

    // 5 MB on stdout: the first MiB is kept, the rest flagged as truncated, nothing hangs.
    let out = paaf
        .exec(
            "h",
            "head -c 5000000 /dev/zero | tr '\\0' a",
            &Confirmation::Yes,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1_048_576);
    assert!(out.stdout_truncated && !out.stderr_truncated);

    // 3 MB on stderr (more than the SSH window) before anything on stdout must not deadlock.
    let out = paaf
        .exec(
            "h",
            "head -c 3000000 /dev/zero | tr '\\0' e >&2; echo done",
            &Confirmation::Yes,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "done\n");
    assert!(out.stderr_truncated);

    // A command past its budget is a timeout naming the command phase.
    let err = paaf
        .exec("h", "sleep 30", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(err.to_string().contains("command"), "{err}");

    // Without confirmation nothing runs.
    let marker = world.dir.path().join("ran");
    let err = paaf
        .exec(
            "h",
            &format!("touch {}", marker.display()),
            &Confirmation::None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfirmationRequired);
    assert!(!marker.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_reuse_one_connection() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry("h", &host, &world.key, ""));
    let paaf = open(&world, Arc::new(MemoryStore::default()));
    for i in 0..5 {
        let out = paaf
            .exec("h", &format!("echo {i}"), &Confirmation::Yes)
            .await
            .unwrap();
        assert_eq!(out.stdout.trim(), i.to_string());
    }
    let logins = host.sshd_log().matches("Accepted publickey").count();
    assert_eq!(
        logins,
        1,
        "5 commands should share one login:\n{}",
        host.sshd_log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_connection_that_died_is_replaced() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry("h", &host, &world.key, ""));
    let paaf = open(&world, Arc::new(MemoryStore::default()));
    paaf.exec("h", "true", &Confirmation::Yes).await.unwrap();
    // The host reboots behind paaf's back; its idle connection dies with it.
    let before = host.boot_id();
    host.request_reboot();
    host.wait_rebooted(&before);
    let out = paaf
        .exec("h", "echo again", &Confirmation::Yes)
        .await
        .unwrap();
    assert_eq!(out.stdout, "again\n");
    assert_eq!(host.sshd_log().matches("Accepted publickey").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_host_is_reported_as_such() {
    let world = World::new();
    let port = paaf_tests::free_port();
    world.write_config(&format!(
        "[[hosts]]\nname = \"gone\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\nauth = {{ type = \"agent\" }}\nconnect_timeout_secs = 2\n"
    ));
    let paaf = open(&world, Arc::new(MemoryStore::default()));
    let err = paaf
        .exec("gone", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    let status = paaf.status(&[]).await.unwrap();
    assert!(!status[0].reachable);
    assert_eq!(
        status[0].error.as_ref().unwrap().code,
        ErrorCode::Unreachable
    );
}

/// The host's key line as `ssh-keyscan` prints it for `name` (`TYPE BASE64`).
fn scanned_key(host: &SshHost) -> String {
    let out = std::process::Command::new("ssh-keyscan")
        .args(["-t", "ed25519", "-p", &host.port.to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "ssh-keyscan: {line}");
    format!("{} {}", fields[1], fields[2])
}

/// `names` hashed the way OpenSSH's HashKnownHosts writes them (`ssh-keygen -H`).
fn hashed(world: &World, names: &[String], key: &str) -> Vec<String> {
    let file = world.dir.path().join("to-hash");
    let text: String = names.iter().map(|n| format!("{n} {key}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(lines.iter().all(|l| l.starts_with("|1|")), "{lines:?}");
    lines
}

/// An ECDSA key nobody has the private half of.
const OTHER_ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBG8Sb5h8f0LkRf7Gza5pHPiqmZFY2Xi4D7+lrAEXut+HjHELMIwBcn2/PVrqXIK1qFXJDekY5xzcdzJmzL+cqJk=";
const OTHER_ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm7wxnsFMEz98q/Zh44O+UAsSFRT/2qEk+teIX4yysC";

#[tokio::test(flavor = "multi_thread")]
async fn known_hosts_is_read_per_key_type_and_forget_key_removes_every_matching_entry() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.write_config(&host_entry("web-1", &host, &world.key, ""));
    let known_hosts = world.dir.path().join("known_hosts");
    let paaf = || open(&world, Arc::new(MemoryStore::default()));
    let port_name = format!("[127.0.0.1]:{}", host.port);

    // Only another key type is recorded for this host: its ed25519 key is new, not changed.
    std::fs::write(&known_hosts, format!("{port_name} {OTHER_ECDSA}\n")).unwrap();
    let err = paaf()
        .exec("web-1", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostKeyUnknown, "{err}");
    // The same type with another key is a changed key.
    std::fs::write(&known_hosts, format!("{port_name} {OTHER_ED25519}\n")).unwrap();
    let err = paaf()
        .exec("web-1", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostKeyChanged, "{err}");

    // The real key, recorded every way a check matches it, beside other hosts' lines.
    let key = scanned_key(&host);
    let hashed_lines = hashed(&world, &[port_name.clone(), "127.0.0.1".into()], &key);
    let kept = format!("# kept: a comment\nother.example {OTHER_ED25519}\n[127.0.0.1]:1 {key}\n");
    std::fs::write(
        &known_hosts,
        format!(
            "{kept}127.0.0.1 {key}\n{port_name} {key}\n{}\n{}\nother.example,{port_name} {key}\n",
            hashed_lines[0], hashed_lines[1]
        ),
    )
    .unwrap();
    let out = paaf()
        .exec("web-1", "whoami", &Confirmation::Yes)
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), USER);

    let removed = paaf().forget_host_key("web-1").await.unwrap();
    assert_eq!(
        removed,
        5,
        "{}",
        std::fs::read_to_string(&known_hosts).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        format!("{kept}other.example {key}\n"),
        "other hosts' entries and comments stay"
    );
    let err = paaf()
        .exec("web-1", "true", &Confirmation::Yes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostKeyUnknown, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_with_only_legacy_algorithms_is_refused_unless_its_host_allows_them() {
    let world = World::new();
    let host = SshHost::start_with_sshd_config(&[&world.key], "Ciphers aes128-cbc\n");
    // OpenSSH's own client (ssh-keyscan) refuses such a server too: record its key directly.
    std::fs::write(
        world.dir.path().join("known_hosts"),
        host.known_hosts_line(),
    )
    .unwrap();
    world.write_config(&host_entry("old", &host, &world.key, ""));
    let err = open(&world, Arc::new(MemoryStore::default()))
        .exec("old", "whoami", &Confirmation::Yes)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), ErrorCode::Ssh, "{text}");
    assert!(
        text.contains("only legacy")
            && text.contains("cipher aes128-cbc")
            && text.contains("legacy_algorithms = true"),
        "says what the server offers and how to accept it: {text}"
    );
    assert!(
        !host.sshd_log().contains("Accepted publickey"),
        "nothing logged in"
    );

    let allowed = host_entry("old", &host, &world.key, "legacy_algorithms = true");
    world.write_config(&allowed);
    let out = open(&world, Arc::new(MemoryStore::default()))
        .exec("old", "whoami", &Confirmation::Yes)
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), USER);

    // A server whose MACs paaf's SSH library does not implement at all: the option cannot
    // help, and the error says so.
    let older =
        SshHost::start_with_sshd_config(&[&world.key], "Ciphers aes128-cbc\nMACs hmac-md5\n");
    std::fs::write(
        world.dir.path().join("known_hosts"),
        older.known_hosts_line(),
    )
    .unwrap();
    world.write_config(&host_entry(
        "older",
        &older,
        &world.key,
        "legacy_algorithms = true",
    ));
    let err = open(&world, Arc::new(MemoryStore::default()))
        .exec("older", "whoami", &Confirmation::Yes)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), ErrorCode::Ssh, "{text}");
    assert!(
        text.contains("MAC hmac-md5") && text.contains("upgrade its OpenSSH"),
        "{text}"
    );
}
