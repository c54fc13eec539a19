//! Env-file flags (`KEY=VALUE` file + systemd unit) against real sshd hosts: reading, an
//! atomic switch with a backup and a restart, stale state, rollback of a failed restart,
//! refusals, and secrets of other keys never showing in errors.
//!
//! The host's `systemctl` is the fake of `tests/peers/sshd-host.sh` (units in `DIR/units/`).

use paaf_core::ErrorCode;
use paaf_core::flags::FlagState;
use paaf_core::flags::envfile::{self, EnvFileSettings, EnvFlag};
use paaf_core::ssh::{Connection, HostKeyPolicy, SshPool};
use paaf_tests::{NOSUDO_USER, SshHost, USER, World, ssh_target};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

const UNIT: &str = "checkout.service";

/// Values no error may ever show.
const SECRETS: [&str; 2] = ["sk-live-s3cr3t-value", "hunter2"];

const FLAGS_ENV: &str = "# checkout flags: edit with care\n\
NEW_CHECKOUT=true\n\
export LEGACY_API=\"on\"\n\
\n\
; owned by the payments team\n\
BETA_SEARCH = 1\n\
API_TOKEN=sk-live-s3cr3t-value\n\
MODE=fast\n\
DB_PASSWORD=\"hunter2 is\n\
not a flag\"\n\
DARK_MODE=Off\n";

/// One sshd host with the flags file (root:paaf-test 0640) and the unit, and a login to it.
struct Fixture {
    world: World,
    host: SshHost,
    file: PathBuf,
}

fn gid_of(user: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-g", user])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

impl Fixture {
    fn new() -> Fixture {
        let world = World::new();
        let host = SshHost::start(&[&world.key]);
        world.trust(&host);
        let dir = host.dir.join("etc-checkout");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("flags.env");
        std::fs::write(&file, FLAGS_ENV).unwrap();
        std::os::unix::fs::chown(&file, Some(0), Some(gid_of(USER))).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        host.add_unit(UNIT);
        Fixture { world, host, file }
    }

    fn settings(&self) -> EnvFileSettings {
        EnvFileSettings {
            host: "web-1".into(),
            path: self.file.to_str().unwrap().into(),
            unit: Some(UNIT.into()),
            sudo: true,
            check_command: None,
            restart_timeout: Duration::from_secs(20),
        }
    }

    fn connect_as(&self, user: &str) -> Connection {
        Connection::open(
            &ssh_target(&self.world, &self.host, user),
            &HostKeyPolicy::Strict,
        )
        .expect("ssh login")
    }

    fn connect(&self) -> Connection {
        self.connect_as(USER)
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap()
    }

    /// Files beside the flags file other than itself and its lock.
    fn siblings(&self, part: &str) -> Vec<String> {
        std::fs::read_dir(self.file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(part))
            .collect()
    }

    fn restarts(&self) -> usize {
        self.host
            .unit_log(UNIT)
            .iter()
            .filter(|l| l.starts_with("restart"))
            .count()
    }
}

/// The file is changed under a lock, against the line read: a conditional write.
fn on() -> FlagState {
    FlagState::conditional(true, None)
}

fn off() -> FlagState {
    FlagState::conditional(false, None)
}

fn assert_no_secret(e: &paaf_core::Error) {
    let shown = format!("{e} {e:?}");
    for s in SECRETS {
        assert!(!shown.contains(s), "a secret value leaked: {shown}");
    }
}

#[test]
fn reads_the_flags_and_switches_one_atomically_with_a_backup_and_a_restart() {
    let fx = Fixture::new();
    let s = fx.settings();
    let mut c = fx.connect();

    let flags = envfile::list_flags(&mut c, &s).unwrap();
    let want = [
        ("NEW_CHECKOUT", Some(true)),
        ("LEGACY_API", Some(true)),
        ("BETA_SEARCH", Some(true)),
        ("API_TOKEN", None),
        ("MODE", None),
        ("DB_PASSWORD", None),
        ("DARK_MODE", Some(false)),
    ]
    .map(|(k, enabled)| EnvFlag {
        key: k.into(),
        enabled,
    });
    assert_eq!(flags, want);
    // The raw read has the values (quotes taken off, multi-line value whole).
    let raw = envfile::read_flags(&mut c, &s).unwrap();
    assert_eq!(raw[1], ("LEGACY_API".into(), "on".into()));
    assert_eq!(raw[5].1, "hunter2 is\nnot a flag");

    let before = std::fs::metadata(&fx.file).unwrap();
    let change = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap();
    assert!(change.changed);
    assert_eq!(
        (change.before.as_str(), change.after.as_str()),
        ("true", "false")
    );
    assert_eq!(change.state, off());
    assert_eq!(change.restarted.as_deref(), Some(UNIT));

    // Only that value changed; comments, quotes, spacing and secrets are as they were.
    assert_eq!(
        fx.text(),
        FLAGS_ENV.replace("NEW_CHECKOUT=true", "NEW_CHECKOUT=false")
    );
    // A new file renamed into place (new inode), with the old owner and mode.
    let after = std::fs::metadata(&fx.file).unwrap();
    assert_ne!(after.ino(), before.ino(), "not replaced by a rename");
    assert_eq!(
        (after.uid(), after.gid(), after.mode() & 0o7777),
        (0, gid_of(USER), 0o640)
    );
    // The backup is the old file, as private as it.
    let backup = PathBuf::from(change.backup.as_deref().expect("backup path"));
    assert!(
        backup
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("flags.env.paaf-bak-"),
        "{}",
        backup.display()
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), FLAGS_ENV);
    let b = std::fs::metadata(&backup).unwrap();
    assert_eq!(
        (b.uid(), b.gid(), b.mode() & 0o7777),
        (0, gid_of(USER), 0o640)
    );
    assert!(fx.siblings("paaf-new").is_empty(), "temp file left behind");

    // The unit was restarted with it and found active.
    let log = fx.host.unit_log(UNIT);
    assert!(log.contains(&"restart ok".to_string()), "{log:?}");
    assert!(log.contains(&"is-active active".to_string()), "{log:?}");
    assert!(fx.host.unit_active(UNIT));
    assert_eq!(
        envfile::flag_state(&mut c, &s, "NEW_CHECKOUT").unwrap(),
        off()
    );

    // The file's own spelling is kept, quotes and `export` too.
    envfile::set_flag(&mut c, &s, "LEGACY_API", false, &on()).unwrap();
    envfile::set_flag(&mut c, &s, "BETA_SEARCH", false, &on()).unwrap();
    let dark = envfile::set_flag(&mut c, &s, "DARK_MODE", true, &off()).unwrap();
    assert_eq!(dark.after, "On");
    assert_eq!(
        fx.text(),
        FLAGS_ENV
            .replace("NEW_CHECKOUT=true", "NEW_CHECKOUT=false")
            .replace("LEGACY_API=\"on\"", "LEGACY_API=\"off\"")
            .replace("BETA_SEARCH = 1", "BETA_SEARCH = 0")
            .replace("DARK_MODE=Off", "DARK_MODE=On")
    );
    assert_eq!(fx.restarts(), 4);

    // Already off: nothing written, nothing restarted.
    let same = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &off()).unwrap();
    assert!(!same.changed && same.backup.is_none() && same.restarted.is_none());
    assert_eq!(fx.restarts(), 4);

    // Back on through the pool, as the facade runs it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = SshPool::default();
    let target = ssh_target(&fx.world, &fx.host, USER);
    let s2 = s.clone();
    let change = rt
        .block_on(pool.with_connection(target, move |c| {
            envfile::set_flag(c, &s2, "NEW_CHECKOUT", true, &off())
        }))
        .unwrap();
    assert_eq!(change.after, "true");
    assert!(
        fx.text()
            .starts_with("# checkout flags: edit with care\nNEW_CHECKOUT=true\n")
    );
}

#[test]
fn a_file_changed_behind_paafs_back_is_a_conflict_and_nothing_is_written() {
    let fx = Fixture::new();
    let s = fx.settings();
    let mut c = fx.connect();
    assert_eq!(
        envfile::flag_state(&mut c, &s, "NEW_CHECKOUT").unwrap(),
        on()
    );
    // Someone switches it off by hand after the user looked.
    let edited = FLAGS_ENV.replace("NEW_CHECKOUT=true", "NEW_CHECKOUT=no");
    std::fs::write(&fx.file, &edited).unwrap();

    let e = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("NEW_CHECKOUT") && m.contains("is now off"),
        "{m}"
    );
    assert!(m.contains("web-1") && m.contains("flags.env"), "{m}");
    assert_no_secret(&e);
    assert_eq!(fx.text(), edited);
    assert!(fx.siblings("paaf-bak").is_empty(), "a backup was written");
    assert_eq!(fx.restarts(), 0);
}

#[test]
fn a_failed_restart_rolls_the_file_back_and_restarts_the_unit_again() {
    let fx = Fixture::new();
    let mut s = fx.settings();
    let mut c = fx.connect();

    // The restart itself fails once: the file goes back, the second restart works.
    fx.host.fail_unit(UNIT, Some(1));
    let e = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    let m = e.to_string();
    assert!(m.contains("ROLLED BACK") && !m.contains("UNIT DOWN"), "{m}");
    for part in [
        "NEW_CHECKOUT",
        UNIT,
        "web-1",
        "flags.env",
        "was restarted with it and is active",
    ] {
        assert!(m.contains(part), "{part} missing: {m}");
    }
    assert_no_secret(&e);
    assert_eq!(fx.text(), FLAGS_ENV, "not rolled back");
    assert_eq!(
        fx.host
            .unit_log(UNIT)
            .iter()
            .filter(|l| l.starts_with("restart"))
            .collect::<Vec<_>>(),
        ["restart failed", "restart ok"]
    );
    assert!(fx.host.unit_active(UNIT));
    let m = std::fs::metadata(&fx.file).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o7777),
        (0, gid_of(USER), 0o640)
    );

    // The unit restarts but the check command fails on the new value: rolled back too.
    s.check_command = Some(format!(
        "grep -q '^NEW_CHECKOUT=true$' {}",
        fx.file.display()
    ));
    let e = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    assert!(e.to_string().contains("the check command failed"), "{e}");
    assert_eq!(fx.text(), FLAGS_ENV);
    assert!(fx.host.unit_active(UNIT));

    // Every restart fails: rolled back, and the error says the unit is down.
    s.check_command = None;
    fx.host.fail_unit(UNIT, None);
    let e = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    let m = e.to_string();
    assert!(m.contains("ROLLED BACK, UNIT DOWN"), "{m}");
    assert!(m.contains("control process exited with error code"), "{m}");
    assert_no_secret(&e);
    assert_eq!(fx.text(), FLAGS_ENV);
    assert!(!fx.host.unit_active(UNIT));
    let log = fx.host.unit_log(UNIT);
    assert_eq!(
        log.iter()
            .rev()
            .filter(|l| l.starts_with("restart"))
            .take(2)
            .collect::<Vec<_>>(),
        ["restart failed", "restart failed"]
    );
    assert!(fx.siblings("paaf-new").is_empty(), "temp file left behind");
}

#[test]
fn a_key_that_is_not_a_boolean_is_refused_without_showing_its_value() {
    let fx = Fixture::new();
    let s = fx.settings();
    let mut c = fx.connect();
    for key in ["API_TOKEN", "DB_PASSWORD", "MODE"] {
        let e = envfile::set_flag(&mut c, &s, key, false, &on()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        let m = e.to_string();
        assert!(m.contains(key) && m.contains("not a boolean flag"), "{m}");
        assert!(m.contains("web-1:") && m.contains("flags.env"), "{m}");
        assert!(!m.contains("fast"), "{m}");
        assert_no_secret(&e);
        let e = envfile::flag_state(&mut c, &s, key).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        assert_no_secret(&e);
    }
    let e = envfile::set_flag(&mut c, &s, "NO_SUCH_FLAG", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("NO_SUCH_FLAG") && m.contains("NEW_CHECKOUT, LEGACY_API"),
        "{m}"
    );
    assert!(
        !m.contains("API_TOKEN"),
        "non-boolean keys offered as flags: {m}"
    );
    let e = envfile::set_flag(&mut c, &s, "BAD KEY", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    assert_eq!(fx.text(), FLAGS_ENV);
    assert_eq!(fx.restarts(), 0);
}

#[test]
fn a_missing_file_or_unit_is_named_and_nothing_changes() {
    let fx = Fixture::new();
    let mut c = fx.connect();

    let mut s = fx.settings();
    s.path = fx.file.with_file_name("nope.env").to_str().unwrap().into();
    for e in [
        envfile::list_flags(&mut c, &s).unwrap_err(),
        envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err(),
    ] {
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        let m = e.to_string();
        assert!(
            m.contains("env file") && m.contains("web-1:") && m.contains("nope.env"),
            "{m}"
        );
    }

    let mut s = fx.settings();
    s.unit = Some("payments.service".into());
    let e = envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("payments.service") && m.contains("not-found"),
        "{m}"
    );
    assert!(m.contains("web-1") && m.contains("flags.env"), "{m}");
    assert_no_secret(&e);
    assert_eq!(fx.text(), FLAGS_ENV);
    assert!(fx.siblings("paaf-bak").is_empty(), "a backup was written");

    // No unit configured: the file is only edited (one without a final newline stays so).
    s.unit = None;
    let unterminated = FLAGS_ENV.trim_end();
    std::fs::write(&fx.file, unterminated).unwrap();
    let change = envfile::set_flag(&mut c, &s, "DARK_MODE", true, &off()).unwrap();
    assert!(change.changed && change.restarted.is_none());
    assert_eq!(
        fx.text(),
        unterminated.replace("DARK_MODE=Off", "DARK_MODE=On")
    );
    assert_eq!(fx.restarts(), 0);
}

#[test]
fn a_login_without_sudo_rights_gets_a_privilege_error() {
    let fx = Fixture::new();
    let s = fx.settings();
    let mut c = fx.connect_as(NOSUDO_USER);
    for e in [
        envfile::list_flags(&mut c, &s).unwrap_err(),
        envfile::set_flag(&mut c, &s, "NEW_CHECKOUT", false, &on()).unwrap_err(),
    ] {
        assert_eq!(e.code(), ErrorCode::Privilege, "{e}");
        let m = e.to_string();
        assert!(
            m.contains("web-1") && m.contains(NOSUDO_USER) && m.contains("sudo -n"),
            "{m}"
        );
        assert!(m.contains("flags.env"), "{m}");
        assert_no_secret(&e);
    }
    // Without sudo the file (root:paaf-test 0640) cannot be read by that user either.
    let mut plain = fx.settings();
    plain.sudo = false;
    let e = envfile::list_flags(&mut c, &plain).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Privilege, "{e}");
    assert!(e.to_string().contains("Permission denied"), "{e}");
    assert_eq!(fx.text(), FLAGS_ENV);
    assert_eq!(fx.restarts(), 0);
}
