//! Passwords kept in the real OS keychains: the kernel keyutils store and Secret Service
//! (gnome-keyring on a private D-Bus session). The config holds only the reference.

use paaf_tests::{PASSWORD, SshHost, USER, World};
use std::process::Command;

/// Adds a password host from stdin, then logs in with it from a second paaf process, all
/// inside `wrapper` (which provides the keychain's session).
fn add_and_use(
    world: &World,
    host: &SshHost,
    wrapper: &[&str],
    env: &[(&str, &str)],
    expect_backend: &str,
) {
    let bin = paaf_tests::paaf_bin();
    let script = format!(
        r#"set -e
{prelude}
printf '%s\n' "$PW" | "$PAAF" host add db-1 --address 127.0.0.1 --port {port} --user {USER} --password-stdin --accept-new-host-key >/dev/null
"$PAAF" exec db-1 --yes -- whoami
printf 'other\n' | "$PAAF" secret set spare
"#,
        prelude = if expect_backend == "secret-service" {
            "printf 'test-keyring-pass' | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
        } else {
            ""
        },
        port = host.port,
    );
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..])
        .args(["bash", "-c", &script])
        .env("PAAF", &bin)
        .env("PW", PASSWORD)
        .env("PAAF_CONFIG", world.config_path())
        .env("HOME", world.dir.path())
        .env_remove("PAAF_KEYRING")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(USER),
        "the password from the keychain logged in: {stdout}"
    );
    assert!(
        stdout.contains(&format!("stored keyring:spare in {expect_backend}")),
        "{stdout}"
    );
    let config = std::fs::read_to_string(world.config_path()).unwrap();
    assert!(
        config.contains("password = \"keyring:host-db-1-password\""),
        "{config}"
    );
    assert!(
        !config.contains(PASSWORD),
        "the config must hold only a reference"
    );
}

#[test]
fn passwords_live_in_the_keyutils_store() {
    let world = World::new();
    let host = SshHost::start(&[]);
    add_and_use(
        &world,
        &host,
        &["keyctl", "session", "-"],
        &[("PAAF_KEYRING", "keyutils")],
        "keyutils",
    );
}

#[test]
fn passwords_live_in_secret_service() {
    let world = World::new();
    let host = SshHost::start(&[]);
    add_and_use(
        &world,
        &host,
        &["dbus-run-session", "--"],
        &[],
        "secret-service",
    );
}

#[test]
fn a_keychain_that_cannot_store_says_what_to_do() {
    // keyutils outside a session keyring refuses the write; the error names the way out.
    let world = World::new();
    let out = Command::new(paaf_tests::paaf_bin())
        .args(["secret", "set", "x"])
        .env("PAAF_CONFIG", world.config_path())
        .env("PAAF_KEYRING", "keyutils")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"v\n")?;
            c.wait_with_output()
        })
        .unwrap();
    if out.status.success() {
        // This process already runs inside a session keyring (a login shell): nothing to show.
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("keyctl session") && err.contains("env:VAR"),
        "{err}"
    );
}
