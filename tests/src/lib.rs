//! Test harness: real OpenSSH hosts started by `tests/peers/sshd-host.sh`, client keys, a
//! config directory per test, and the `paaf` binary pointed at it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use tempfile::TempDir;

pub mod fault_proxy;

/// The login user on every test host, with passwordless sudo.
pub const USER: &str = "paaf-test";
/// Its password (a loopback-only test account made by `sshd-host.sh setup`).
pub const PASSWORD: &str = "paaf-test-password";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn script() -> PathBuf {
    repo_root().join("tests/peers/sshd-host.sh")
}

/// The known_hosts line (`[127.0.0.1]:PORT TYPE KEY`) of the host whose state directory is
/// `dir`, read from its key file.
fn known_hosts_line(dir: &Path, port: u16) -> String {
    let key = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub")).unwrap();
    let mut fields = key.split_whitespace();
    let (kind, b64) = (fields.next().unwrap(), fields.next().unwrap());
    format!("[127.0.0.1]:{port} {kind} {b64}\n")
}

/// Runs `tests/peers/sshd-host.sh ARGS`; panics with its output when it fails.
pub fn run_script(args: &[&str]) -> std::process::Output {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("run sshd-host.sh");
    assert!(
        out.status.success(),
        "sshd-host.sh {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Machine setup (user, sudo, sshd dirs), once per test process; the script itself is
/// idempotent and locked against parallel runs.
pub fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        run_script(&["setup"]);
    });
}

/// The `paaf` binary, built from the current sources. Cargo builds a package's binaries only
/// for that package's own tests, so this crate builds it itself (once per test process; a
/// no-op when it is fresh) into the target dir these tests run from. `PAAF_TEST_BIN` names a
/// prebuilt one instead (a private copy, for long campaigns a concurrent build must not
/// replace mid-run).
pub fn paaf_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| match std::env::var_os("PAAF_TEST_BIN") {
            Some(bin) => PathBuf::from(bin),
            None => built_bins().join("paaf"),
        })
        .clone()
}

/// The `paaf-relay` binary, built from the current sources as [`paaf_bin`] builds `paaf`;
/// `PAAF_TEST_RELAY_BIN` names a prebuilt one instead (the benchmark's release build).
pub fn relay_bin() -> PathBuf {
    match std::env::var_os("PAAF_TEST_RELAY_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => built_bins().join("paaf-relay"),
    }
}

/// Builds `paaf` and `paaf-relay` into the target dir these tests run from (once per test
/// process); the directory they are in. One cargo call for both: built apart, their
/// dependencies' features differ and each build would rebuild paaf-core for the other.
fn built_bins() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target profile dir");
            let target_dir = profile_dir.parent().expect("target dir");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let out = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--package",
                    "paaf-cli",
                    "--bin",
                    "paaf",
                    "--package",
                    "paaf-relay",
                    "--bin",
                    "paaf-relay",
                    "--target-dir",
                ])
                .arg(target_dir)
                .current_dir(repo_root())
                .output()
                .expect("run cargo build");
            assert!(
                out.status.success(),
                "building paaf and paaf-relay failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            for bin in ["paaf", "paaf-relay"] {
                let path = profile_dir.join(bin);
                assert!(path.exists(), "no binary at {}", path.display());
            }
            profile_dir.to_path_buf()
        })
        .clone()
}

/// A paaf-relay on 127.0.0.1 and a free port, serving `relay.toml` in `dir` (which the test
/// wrote, `listen` left out: it is added here); killed on drop.
pub struct Relay {
    pub dir: PathBuf,
    pub port: u16,
    /// The relay key it printed at start (`ed25519:...`).
    pub key: String,
    env: Vec<(String, String)>,
    child: Option<std::process::Child>,
}

impl Relay {
    /// Starts the relay with `env` (its secrets) and waits for its first line.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Relay {
        let mut relay = Relay {
            dir: dir.to_path_buf(),
            port: 0,
            key: String::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
        };
        relay.spawn();
        relay
    }

    fn spawn(&mut self) {
        use std::io::BufRead;
        let config = std::fs::read_to_string(self.dir.join("relay.toml")).expect("relay.toml");
        // The same port across a restart: paired devices know the relay by its URL.
        let port = if self.port == 0 {
            free_port()
        } else {
            self.port
        };
        let path = self.dir.join("relay-listening.toml");
        std::fs::write(&path, format!("listen = \"127.0.0.1:{port}\"\n{config}")).unwrap();
        let mut child = Command::new(relay_bin())
            .args(["serve", "--config"])
            .arg(&path)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::piped())
            // Its log, kept for the tests that check what it says (and never says).
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join("relay.log"))
                    .expect("relay.log"),
            )
            .spawn()
            .expect("start paaf-relay");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains("listening"),
            "paaf-relay did not start: {line:?}"
        );
        self.key = line.rsplit(' ').next().unwrap().trim().to_string();
        self.port = port;
        self.child = Some(child);
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: no chance to tidy up) and starts it again on the same files.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts it again after [`Relay::kill`], on the same port and files.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the relay is running");
        self.spawn();
    }

    /// Kills it (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1 (the OS picks it; the script re-checks it before use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One simulated SSH host: a real sshd in its own namespaces, stopped on drop.
pub struct SshHost {
    pub dir: PathBuf,
    pub port: u16,
    _tmp: TempDir,
}

impl SshHost {
    /// Starts a host that accepts the given public keys for `paaf-test`.
    pub fn start(authorized: &[&Path]) -> SshHost {
        SshHost::start_with_sshd_config(authorized, "")
    }

    /// The same, with `extra` lines appended to its sshd_config (e.g. `Ciphers aes128-cbc`).
    pub fn start_with_sshd_config(authorized: &[&Path], extra: &str) -> SshHost {
        setup();
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("host");
        std::fs::create_dir_all(&dir).unwrap();
        let keys: String = authorized
            .iter()
            .map(|p| std::fs::read_to_string(p.with_extension("pub")).expect("public key"))
            .collect();
        std::fs::write(dir.join("authorized_keys"), keys).unwrap();
        if !extra.is_empty() {
            std::fs::write(dir.join("sshd_config.extra"), extra).unwrap();
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let out = Command::new("bash")
                .arg(script())
                .args(["start", dir.to_str().unwrap(), &port.to_string()])
                .output()
                .expect("run sshd-host.sh");
            if out.status.success() {
                return SshHost {
                    dir,
                    port,
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start an sshd host: {last}");
    }

    /// The boot id the host reports now.
    pub fn boot_id(&self) -> String {
        std::fs::read_to_string(self.dir.join("boot_id"))
            .unwrap()
            .trim()
            .to_string()
    }

    pub fn reboot_count(&self) -> u32 {
        std::fs::read_to_string(self.dir.join("reboot-count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Reboots the host from the outside (as its fake `shutdown` would).
    pub fn request_reboot(&self) {
        std::fs::write(self.dir.join("reboot-requested"), "").unwrap();
    }

    /// Waits (at most 30 s) until the host is back with a boot id other than `before`.
    pub fn wait_rebooted(&self, before: &str) {
        let start = std::time::Instant::now();
        while self.boot_id() == before
            || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        {
            assert!(start.elapsed().as_secs() < 30, "the host did not come back");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Makes `df` in the host print `answer` (`None`: the real disks again).
    pub fn set_df_answer(&self, answer: Option<&str>) {
        set_df_answer(&self.dir, answer);
    }

    /// The host's /etc/machine-id as its sessions read it.
    pub fn machine_id(&self) -> String {
        std::fs::read_to_string(self.dir.join("machine_id"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Gives the host another /etc/machine-id, as a different machine behind the same address
    /// would have (rewritten in place: the host's bind mount follows the file, not its name).
    pub fn set_machine_id(&self, id: &str) {
        std::fs::write(self.dir.join("machine_id"), format!("{id}\n")).unwrap();
    }

    /// How long a reboot keeps the host down (the script's default is 2 s).
    pub fn set_down_secs(&self, secs: f64) {
        std::fs::write(self.dir.join("down_secs"), format!("{secs}\n")).unwrap();
    }

    /// True while a reboot is requested or under way (the supervisor logged its start but not
    /// yet the boot).
    fn reboot_in_flight(&self) -> bool {
        let log = std::fs::read_to_string(self.dir.join("host.log")).unwrap_or_default();
        self.dir.join("reboot-requested").exists()
            || log.matches("reboot requested:").count() != log.matches("booted:").count()
    }

    /// True when sshd answers with its banner.
    fn sshd_answers(&self) -> bool {
        use std::io::Read;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut s) =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
        else {
            return false;
        };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let mut banner = [0u8; 4];
        s.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
    }

    /// Waits (at most 60 s) until no reboot is requested or under way and sshd answers, for
    /// 300 ms in a row: the reboot count then says how many reboots really happened.
    pub fn wait_settled(&self) {
        let start = std::time::Instant::now();
        let mut calm_since: Option<std::time::Instant> = None;
        loop {
            if !self.reboot_in_flight() && self.sshd_answers() {
                if calm_since
                    .get_or_insert_with(std::time::Instant::now)
                    .elapsed()
                    >= std::time::Duration::from_millis(300)
                {
                    return;
                }
            } else {
                calm_since = None;
            }
            assert!(start.elapsed().as_secs() < 60, "the host did not settle");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// While set, a rebooting host stays down (port refused).
    pub fn stay_down(&self, on: bool) {
        let f = self.dir.join("stay-down");
        if on {
            std::fs::write(f, "").unwrap();
        } else {
            let _ = std::fs::remove_file(f);
        }
    }

    /// A new host key, served from now on.
    pub fn rekey(&self) {
        run_script(&["rekey", self.dir.to_str().unwrap()]);
    }

    /// The host's key as a known_hosts line (`[127.0.0.1]:PORT TYPE KEY`), read from its file.
    pub fn known_hosts_line(&self) -> String {
        known_hosts_line(&self.dir, self.port)
    }

    /// sshd's log (accepted logins and so on).
    pub fn sshd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// Makes `df` in the host whose state directory is `dir` print `answer` (`None`: the real
/// disks again; see `df-answer` in `sshd-host.sh`).
pub fn set_df_answer(dir: &Path, answer: Option<&str>) {
    let file = dir.join("df-answer");
    match answer {
        Some(text) => std::fs::write(file, text).unwrap(),
        None => {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Many simulated SSH hosts started in one batch (`sshd-host.sh fleet-start`) on consecutive
/// ports, all stopped on drop.
pub struct Fleet {
    base: TempDir,
    /// The hosts' state directories and ports, host 1 first.
    pub hosts: Vec<(PathBuf, u16)>,
}

impl Fleet {
    /// Starts `n` hosts accepting the given public keys for `paaf-test`.
    pub fn start(n: usize, authorized: &[&Path]) -> Fleet {
        setup();
        let keys: String = authorized
            .iter()
            .map(|p| std::fs::read_to_string(p.with_extension("pub")).expect("public key"))
            .collect();
        let mut last = String::new();
        for _ in 0..5 {
            let base = TempDir::new().expect("tempdir");
            let first = free_run(n);
            for i in 1..=n {
                let dir = base.path().join(format!("host-{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("authorized_keys"), &keys).unwrap();
            }
            let out = Command::new("bash")
                .arg(script())
                .arg("fleet-start")
                .arg(base.path())
                .args([first.to_string(), n.to_string()])
                .output()
                .expect("run sshd-host.sh");
            let fleet = Fleet {
                hosts: (1..=n)
                    .map(|i| (base.path().join(format!("host-{i}")), first + i as u16 - 1))
                    .collect(),
                base,
            };
            if out.status.success() {
                return fleet;
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            drop(fleet);
        }
        panic!("could not start a fleet of {n} sshd hosts: {last}");
    }
}

impl Fleet {
    /// Every host's key as known_hosts lines.
    pub fn known_hosts(&self) -> String {
        self.hosts
            .iter()
            .map(|(dir, port)| known_hosts_line(dir, *port))
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("fleet-stop")
            .arg(self.base.path())
            .output();
    }
}

/// The first of `n` consecutive ports that are free now (the script re-checks each), below
/// Linux's ephemeral range (32768-60999) so outgoing connections do not take them meanwhile.
fn free_run(n: usize) -> u16 {
    for _ in 0..200 {
        let first = 10_000 + rand::random_range(0..(22_000 - n as u16));
        if (0..n as u16).all(|i| TcpListener::bind(("127.0.0.1", first + i)).is_ok()) {
            return first;
        }
    }
    panic!("no {n} consecutive free ports found");
}

/// Generates a client key pair at `dir/name` (`name.pub` beside it).
pub fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "3072"]);
    }
    let out = cmd.output().expect("ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// A config directory with one key pair, and helpers to describe hosts in it.
pub struct World {
    pub dir: TempDir,
    pub key: PathBuf,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> World {
        let dir = TempDir::new().expect("tempdir");
        let key = keygen(dir.path(), "id_ed25519", "ed25519", "");
        World { dir, key }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.path().join("journal.sqlite")
    }

    /// The journal rows under the many-host action `parent` (fan-out, fleet reboot), in the
    /// order they were written: each host's name and state.
    pub fn journal_parts(&self, parent: i64) -> Vec<(String, String)> {
        let db = rusqlite::Connection::open(self.journal_path()).unwrap();
        db.prepare("SELECT target, state FROM actions WHERE parent = ?1 ORDER BY id")
            .unwrap()
            .query_map([parent], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A directory the test user on the hosts may write to (for markers of what ran).
    pub fn writable_dir(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.dir.path().join("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        dir
    }

    /// Writes the config file.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Records the host's current key in the config's known_hosts (as a confirmed trust would).
    pub fn trust(&self, host: &SshHost) {
        self.trust_at(host, host.port);
    }

    /// Records the host's current key for `127.0.0.1:port`, where paaf reaches it (its own
    /// port, or a proxy's in front of it).
    pub fn trust_at(&self, host: &SshHost, port: u16) {
        let out = Command::new("ssh-keyscan")
            .args(["-t", "ed25519", "-p", &host.port.to_string(), "127.0.0.1"])
            .output()
            .expect("ssh-keyscan");
        assert!(!out.stdout.is_empty(), "ssh-keyscan got no key");
        let line = String::from_utf8_lossy(&out.stdout).replace(
            &format!("[127.0.0.1]:{}", host.port),
            &format!("[127.0.0.1]:{port}"),
        );
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("known_hosts"))
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
    }

    /// The `paaf` binary with this world's config.
    pub fn paaf(&self) -> assert_cmd::Command {
        self.paaf_at(&paaf_bin())
    }

    /// The same with the `paaf` binary at `bin` (a benchmark's build from before a change).
    pub fn paaf_at(&self, bin: &Path) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin);
        c.env("PAAF_CONFIG", self.config_path())
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("PAAF_KEYRING", "keyutils")
            .timeout(std::time::Duration::from_secs(120));
        c
    }
}

/// A `[[hosts]]` entry for a test host with key auth, plus extra TOML lines.
pub fn host_entry(name: &str, host: &SshHost, key: &Path, extra: &str) -> String {
    host_entry_at(name, host.port, key, extra)
}

/// The same for a host reached at `127.0.0.1:port` (e.g. through a proxy).
pub fn host_entry_at(name: &str, port: u16, key: &Path, extra: &str) -> String {
    format!(
        "[[hosts]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\nauth = {{ type = \"key\", path = \"{}\" }}\n{extra}\n",
        key.display()
    )
}

/// A world with one host, `web-1`, whose key is trusted and whose reboot is retried at most
/// 1 s apart (so a test waits little for it to come back).
pub fn trusted_web1_rebooting_fast() -> (World, SshHost) {
    trusted_web1("[hosts.reboot]\nbackoff_max_secs = 1")
}

/// A world with one host, `web-1`, whose key is trusted; `extra` ends its `[[hosts]]` entry.
pub fn trusted_web1(extra: &str) -> (World, SshHost) {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry("web-1", &host, &world.key, extra));
    (world, host)
}

/// The journal rows as JSON, read through the CLI.
pub fn journal_json(world: &World) -> Vec<serde_json::Value> {
    let out = world.paaf().args(["journal", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("journal JSON")
}

/// A real Prometheus, node exporter and Alertmanager on 127.0.0.1, started by
/// `tests/peers/prometheus.sh` (rule `PaafTestAlwaysFiring` fires at once), stopped on drop.
pub struct PrometheusPeers {
    pub dir: PathBuf,
    pub prometheus_port: u16,
    pub node_port: u16,
    pub alertmanager_port: u16,
    _tmp: TempDir,
}

fn prometheus_script() -> PathBuf {
    repo_root().join("tests/peers/prometheus.sh")
}

impl PrometheusPeers {
    /// Installs the packages if needed (once per process), then starts the three on free ports;
    /// returns once each answers ready.
    pub fn start() -> PrometheusPeers {
        static SETUP: Once = Once::new();
        SETUP.call_once(|| {
            let out = Command::new("bash")
                .arg(prometheus_script())
                .arg("setup")
                .output()
                .expect("run prometheus.sh");
            assert!(
                out.status.success(),
                "prometheus.sh setup failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("prometheus");
        let mut last = String::new();
        for _ in 0..5 {
            let ports = [free_port(), free_port(), free_port()];
            if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
                continue;
            }
            let out = Command::new("bash")
                .arg(prometheus_script())
                .arg("start")
                .arg(&dir)
                .args(ports.map(|p| p.to_string()))
                .output()
                .expect("run prometheus.sh");
            if out.status.success() {
                return PrometheusPeers {
                    dir,
                    prometheus_port: ports[0],
                    node_port: ports[1],
                    alertmanager_port: ports[2],
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start prometheus, node exporter and alertmanager: {last}");
    }

    pub fn prometheus_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.prometheus_port)
    }

    pub fn node_exporter_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.node_port)
    }

    pub fn alertmanager_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.alertmanager_port)
    }

    /// Stops all three now (also done on drop).
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(prometheus_script())
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

impl Drop for PrometheusPeers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real Unleash (npm `unleash-server`) over its own PostgreSQL cluster on 127.0.0.1, started
/// by `tests/peers/unleash.sh`, stopped on drop (or earlier by [`UnleashServer::stop`]).
pub struct UnleashServer {
    pub dir: PathBuf,
    pub port: u16,
    /// The admin API token (`*:*.…`) the server made at boot.
    pub admin_token: String,
    stopped: bool,
    _tmp: TempDir,
}

fn unleash_script() -> PathBuf {
    repo_root().join("tests/peers/unleash.sh")
}

impl UnleashServer {
    /// Installs what is missing (once per process), then starts a fresh server (empty
    /// database, environments development and production) on a free port; returns once it
    /// answers `/health`.
    pub fn start() -> UnleashServer {
        static SETUP: Once = Once::new();
        SETUP.call_once(|| {
            let out = Command::new("bash")
                .arg(unleash_script())
                .arg("setup")
                .output()
                .expect("run unleash.sh");
            assert!(
                out.status.success(),
                "unleash.sh setup failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("unleash");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new("bash")
                .arg(unleash_script())
                .args(["start", dir.to_str().unwrap(), &port.to_string()])
                // Stopped by the script's watcher too, should this process be killed
                // (e.g. by the test runner's timeout) before it drops the server.
                .arg(std::process::id().to_string())
                .output()
                .expect("run unleash.sh");
            if out.status.success() {
                let admin_token = std::fs::read_to_string(dir.join("admin-token"))
                    .expect("admin-token")
                    .trim()
                    .to_string();
                return UnleashServer {
                    dir,
                    port,
                    admin_token,
                    stopped: false,
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start Unleash: {last}");
    }

    /// The Unleash root URL, e.g. `http://127.0.0.1:4242`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops Unleash and its PostgreSQL (idempotent).
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let out = Command::new("bash")
            .arg(unleash_script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
        if let Ok(out) = out
            && !out.status.success()
        {
            eprintln!(
                "unleash.sh stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A real PostgreSQL (a private cluster) on 127.0.0.1 and a free port, with a database for
/// paaf-relay that asks for a password over TCP; started by `tests/peers/postgres.sh`,
/// stopped on drop.
pub struct PostgresServer {
    pub dir: PathBuf,
    pub port: u16,
    /// The password of the relay's database user.
    pub password: String,
    _tmp: TempDir,
}

fn postgres_script() -> PathBuf {
    repo_root().join("tests/peers/postgres.sh")
}

impl PostgresServer {
    /// Installs what is missing (once per process), then starts a fresh cluster; returns once
    /// the relay's database answers.
    pub fn start() -> PostgresServer {
        static SETUP: Once = Once::new();
        SETUP.call_once(|| {
            let out = Command::new("bash")
                .arg(postgres_script())
                .arg("setup")
                .output()
                .expect("run postgres.sh");
            assert!(
                out.status.success(),
                "postgres.sh setup failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("postgres");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new("bash")
                .arg(postgres_script())
                .args(["start", dir.to_str().unwrap(), &port.to_string()])
                // Stopped by the script's watcher too, should this process be killed first.
                .arg(std::process::id().to_string())
                .output()
                .expect("run postgres.sh");
            if out.status.success() {
                let password = std::fs::read_to_string(dir.join("password"))
                    .expect("password")
                    .trim()
                    .to_string();
                return PostgresServer {
                    dir,
                    port,
                    password,
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start PostgreSQL: {last}");
    }

    /// The relay's database, without its password: `postgres://paaf_relay@127.0.0.1:PORT/paaf_relay`.
    pub fn url(&self) -> String {
        format!("postgres://paaf_relay@127.0.0.1:{}/paaf_relay", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(postgres_script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
        if let Ok(out) = out
            && !out.status.success()
        {
            eprintln!(
                "postgres.sh stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Unleash's admin API as a test's own setup and checks use it, behind paaf's back.
pub struct UnleashAdmin {
    service: paaf_core::http::Service,
}

impl UnleashServer {
    /// The admin API with the server's admin token.
    pub fn admin(&self) -> UnleashAdmin {
        let auth = paaf_core::http::HttpAuth::Header {
            name: "authorization".into(),
            value: secrecy::SecretString::from(self.admin_token.clone()),
        };
        let service = paaf_core::http::Service::new(
            "unleash admin (test setup)",
            &self.url(),
            auth,
            paaf_core::http::Limits::default(),
        )
        .expect("unleash admin service");
        UnleashAdmin { service }
    }
}

impl UnleashAdmin {
    /// Creates a kill-switch flag in the default project, on in the `on_in` environments.
    pub async fn create_flag(&self, key: &str, on_in: &[&str]) {
        use paaf_core::http::{Method, Request, Retry};
        let body = serde_json::json!({"name": key, "type": "kill-switch", "description": key});
        let create = Request::with_body(
            Method::POST,
            "api/admin/projects/default/features",
            &body,
            Retry::NotIdempotent,
        )
        .expect("flag body");
        self.service
            .send(create)
            .await
            .unwrap_or_else(|e| panic!("creating {key}: {e}"));
        for env in on_in {
            self.switch(key, env, true).await;
        }
    }

    /// Turns a flag on or off without paaf.
    pub async fn switch(&self, key: &str, env: &str, on: bool) {
        let path = format!(
            "api/admin/projects/default/features/{key}/environments/{env}/{}",
            if on { "on" } else { "off" }
        );
        let request =
            paaf_core::http::Request::post(path.clone(), paaf_core::http::Retry::NotIdempotent);
        self.service
            .send(request)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }

    /// The flag's state in `env` as the admin API reports it, not through paaf.
    pub async fn enabled(&self, key: &str, env: &str) -> bool {
        let detail: serde_json::Value = self
            .service
            .get_json(paaf_core::http::Request::get(format!(
                "api/admin/projects/default/features/{key}"
            )))
            .await
            .unwrap_or_else(|e| panic!("reading {key}: {e}"));
        detail["environments"]
            .as_array()
            .and_then(|envs| envs.iter().find(|e| e["name"] == env))
            .and_then(|e| e["enabled"].as_bool())
            .unwrap_or_else(|| panic!("{key} has no state in {env}: {detail}"))
    }
}

impl Drop for UnleashServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The second login on every test host, without any sudo rights (`sshd-host.sh setup`).
pub const NOSUDO_USER: &str = "paaf-nosudo";

/// The third login on every test host, whose sudo allows `/usr/sbin/shutdown` only.
pub const SHUTDOWN_USER: &str = "paaf-shutdown";

/// The fourth login on every test host, whose sudo allows `/usr/bin/sh` only.
pub const SHELL_USER: &str = "paaf-shell";

/// The sudoers rule `sshd-host.sh setup` gives [`SHUTDOWN_USER`].
pub fn shutdown_user_sudoers_rule() -> String {
    sudoers_rule(SHUTDOWN_USER)
}

/// The sudoers rule `sshd-host.sh setup` gives [`SHELL_USER`].
pub fn shell_user_sudoers_rule() -> String {
    sudoers_rule(SHELL_USER)
}

/// The one line of `/etc/sudoers.d/<user>` (`sshd-host.sh setup`).
fn sudoers_rule(user: &str) -> String {
    let file = format!("/etc/sudoers.d/{user}");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{file} (sshd-host.sh setup): {e}"))
        .trim()
        .to_string()
}

/// The systemd units of a test host's fake `systemctl` (`DIR/units/`, see `sshd-host.sh`).
impl SshHost {
    fn units_dir(&self) -> PathBuf {
        let dir = self.dir.join("units");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Makes unit `name` (e.g. `checkout.service`) exist on the host, stopped.
    pub fn add_unit(&self, name: &str) {
        std::fs::write(self.units_dir().join(name), "").unwrap();
    }

    /// Makes the next `times` restarts of unit `name` fail (`None`: every one, until
    /// `fail_unit(name, Some(0))`).
    pub fn fail_unit(&self, name: &str, times: Option<u32>) {
        let f = self.units_dir().join(format!("{name}.fail"));
        match times {
            Some(0) => {
                let _ = std::fs::remove_file(f);
            }
            Some(n) => std::fs::write(f, format!("{n}\n")).unwrap(),
            None => std::fs::write(f, "").unwrap(),
        }
    }

    /// The fake systemctl's calls on unit `name`, one `VERB RESULT` each ("restart ok").
    pub fn unit_log(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.units_dir().join(format!("{name}.log")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Whether unit `name` runs now, per the fake systemctl.
    pub fn unit_active(&self, name: &str) -> bool {
        self.units_dir().join(format!("{name}.active")).exists()
    }
}

/// A core SSH target for `host`, logging in as `user` with the world's key and checking the
/// host key against the world's known_hosts (call [`World::trust`] first).
pub fn ssh_target(world: &World, host: &SshHost, user: &str) -> paaf_core::ssh::Target {
    paaf_core::ssh::Target {
        name: "web-1".into(),
        address: "127.0.0.1".into(),
        port: host.port,
        user: user.into(),
        credentials: paaf_core::ssh::Credentials::Key {
            path: world.key.clone(),
            passphrase: None,
        },
        connect_timeout: std::time::Duration::from_secs(10),
        known_hosts: world.dir.path().join("known_hosts"),
        legacy_algorithms: false,
        files: Default::default(),
    }
}

/// A real `moto_server` (PyPI `moto[server]`, an in-memory AWS) on 127.0.0.1, started by
/// `tests/peers/moto.sh`, stopped on drop. It serves every region at one URL, routing by the
/// SigV4 credential scope.
pub struct MotoServer {
    pub dir: PathBuf,
    pub port: u16,
    _tmp: TempDir,
}

fn moto_script() -> PathBuf {
    repo_root().join("tests/peers/moto.sh")
}

impl MotoServer {
    /// Installs moto if missing (once per process), then starts a fresh, empty server on a
    /// free port that accepts any credentials; returns once it answers.
    pub fn start() -> MotoServer {
        MotoServer::start_with_env(&[])
    }

    /// The same with environment variables for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`,
    /// which makes it check credentials against its IAM emulation.
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        static SETUP: Once = Once::new();
        SETUP.call_once(|| {
            let out = Command::new("bash")
                .arg(moto_script())
                .arg("setup")
                .output()
                .expect("run moto.sh");
            assert!(
                out.status.success(),
                "moto.sh setup failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("moto");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new("bash")
                .arg(moto_script())
                .args(["start", dir.to_str().unwrap(), &port.to_string()])
                // Stopped by the script's watcher too, should this process be killed first.
                .arg(std::process::id().to_string())
                .envs(env.iter().copied())
                .output()
                .expect("run moto.sh");
            if out.status.success() {
                return MotoServer {
                    dir,
                    port,
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start moto: {last}");
    }

    /// The endpoint for every region, e.g. `http://127.0.0.1:5000/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// The EC2 account `name` at `url` (moto) with the access key id and secret `key`, in
/// `regions`, within `limits`: made from its typed `[[clouds]]` keys, as paaf makes it.
pub fn ec2_at(
    name: &str,
    url: &str,
    (access_key_id, secret): (&str, &str),
    regions: &[&str],
    limits: paaf_core::http::Limits,
) -> paaf_core::cloud::ec2::Ec2 {
    use paaf_core::cloud::FromConfig;
    use paaf_core::secrets::{MemoryStore, SecretRef, SecretStore};
    let keys = paaf_core::cloud::ec2::AwsConfig {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        access_key_id: access_key_id.to_string(),
        secret_access_key: SecretRef::Keyring("aws".into()),
        session_token: None,
        endpoint: Some(url.to_string()),
    };
    let store = MemoryStore::default();
    store
        .set("aws", &secrecy::SecretString::from(secret))
        .expect("memory store");
    paaf_core::cloud::ec2::Ec2::connect(name, &keys, &store, limits).expect("moto EC2 client")
}

impl MotoServer {
    /// EC2 on this server for `region`, with moto's accept-anything credentials.
    fn ec2(&self, region: &str) -> paaf_core::cloud::ec2::Ec2 {
        let key = ("AKIDEXAMPLE", "seed-secret");
        let limits = paaf_core::http::Limits::default();
        ec2_at("moto (test setup)", &self.url(), key, &[region], limits)
    }

    /// Launches one instance with tag `Name` = `name` in `region`; returns its id.
    pub async fn launch(&self, region: &str, name: &str) -> String {
        let params = [
            ("ImageId", "ami-12c6146b"),
            ("InstanceType", "t3.micro"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", name),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let xml = self
            .ec2(region)
            .call_raw(
                region,
                "RunInstances",
                params,
                paaf_core::http::Retry::NotIdempotent,
            )
            .await
            .unwrap_or_else(|e| panic!("RunInstances: {e}"));
        xml_text(&xml, "instanceId").expect("an instance id")
    }

    /// The instance's state as moto itself reports it (`running`, `stopping`, `stopped`, …).
    pub async fn instance_state(&self, region: &str, id: &str) -> String {
        let xml = self
            .ec2(region)
            .call_raw(
                region,
                "DescribeInstances",
                vec![("InstanceId.1".to_string(), id.to_string())],
                paaf_core::http::Retry::Idempotent,
            )
            .await
            .unwrap_or_else(|e| panic!("DescribeInstances: {e}"));
        xml.split_once("<instanceState>")
            .and_then(|(_, rest)| xml_text(rest, "name"))
            .unwrap_or_else(|| panic!("no instance state for {id}: {xml}"))
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find('<')?;
    Some(xml[start..start + len].to_string())
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(moto_script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
        if let Ok(out) = out
            && !out.status.success()
        {
            eprintln!(
                "moto.sh stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A local SMTP submission server (PyPI aiosmtpd) on 127.0.0.1 that requires STARTTLS with
/// its own self-signed certificate ([`SmtpServer::ca_file`]) and a login, and keeps every
/// message; started by `tests/peers/smtp.sh`, stopped on drop.
pub struct SmtpServer {
    pub dir: PathBuf,
    pub port: u16,
    _tmp: TempDir,
}

/// One message the SMTP server received: its text and how it came.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub text: String,
    pub meta: serde_json::Value,
}

fn smtp_script() -> PathBuf {
    repo_root().join("tests/peers/smtp.sh")
}

impl SmtpServer {
    /// Installs aiosmtpd if missing (once per process), then starts a server accepting
    /// `user`/`password`.
    pub fn start(user: &str, password: &str) -> SmtpServer {
        static SETUP: Once = Once::new();
        SETUP.call_once(|| {
            let out = Command::new("bash")
                .arg(smtp_script())
                .arg("setup")
                .output()
                .expect("run smtp.sh");
            assert!(
                out.status.success(),
                "smtp.sh setup failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
        let tmp = TempDir::new().expect("tempdir");
        let dir = tmp.path().join("smtp");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new("bash")
                .arg(smtp_script())
                .args([
                    "start",
                    dir.to_str().unwrap(),
                    &port.to_string(),
                    user,
                    password,
                ])
                .arg(std::process::id().to_string())
                .output()
                .expect("run smtp.sh");
            if out.status.success() {
                return SmtpServer {
                    dir,
                    port,
                    _tmp: tmp,
                };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("could not start the SMTP server: {last}");
    }

    /// The certificate a client must trust (self-signed, for `localhost`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut metas: Vec<PathBuf> = std::fs::read_dir(self.dir.join("mail"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        metas.retain(|p| p.extension().is_some_and(|e| e == "json"));
        metas.sort();
        metas
            .iter()
            .map(|m| ReceivedMail {
                text: std::fs::read_to_string(m.with_extension("eml")).unwrap_or_default(),
                meta: serde_json::from_str(&std::fs::read_to_string(m).unwrap_or_default())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(smtp_script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

impl UnleashAdmin {
    /// Archives a flag (Unleash's delete): reads and writes of it then answer 404.
    pub async fn archive(&self, key: &str) {
        let path = format!("api/admin/projects/default/features/{key}");
        self.service
            .send(paaf_core::http::Request::delete(path.clone()))
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
    }
}

/// A contract server answering every POST to `at` with `answer`: a webhook receiver (Slack,
/// Teams, a signed webhook) or a Grafana's annotations API.
pub async fn post_receiver(at: &str, answer: wiremock::ResponseTemplate) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(at))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}
