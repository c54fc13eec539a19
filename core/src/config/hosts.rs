//! `[[hosts]]` and `[defaults]`: SSH hosts, how paaf logs in, and the budgets of a verified reboot.

use super::*;

/// The RebootX convention for where a host keeps its runbooks.
pub const DEFAULT_RUNBOOK_DIR: &str = "/usr/local/sbin/rebootx/runbooks";
pub const DEFAULT_BOOT_ID_COMMAND: &str = "cat /proc/sys/kernel/random/boot_id";
pub const DEFAULT_TEST_COMMAND: &str = "whoami";
pub const DEFAULT_REBOOT_COMMAND: &str = "shutdown -r now";

/// One SSH host, with the defaults already applied.
#[derive(Debug, Clone, Serialize)]
pub struct HostConfig {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub boot_id_command: String,
    pub test_command: String,
    pub runbook_dir: String,
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    #[serde(with = "secs")]
    pub command_timeout: Duration,
    pub max_output_bytes: usize,
    pub reboot: RebootSettings,
    /// The cloud server this host is, as `(account, id or name)`: a reboot of that server
    /// through its cloud's API is verified over SSH (a new boot id, the test command).
    pub server: Option<(String, String)>,
    /// Accept legacy SSH algorithms (CBC ciphers, SHA-1, ...) from this host, after modern ones.
    pub legacy_algorithms: bool,
    /// Labels a selector matches with `--tag KEY=VALUE` (`role = "web"`, `env = "prod"`).
    pub tags: BTreeMap<String, String>,
    /// The groups a selector matches with `--group NAME`, sorted.
    pub groups: Vec<String>,
    /// Where its CPU, load, memory and disk read as a warning or a danger.
    pub thresholds: HostThresholds,
    /// The `instance` label a Prometheus node exporter of this host has, when it is not its
    /// address (`web-1.internal:9100`).
    pub instance: Option<String>,
}

/// How paaf logs in to a host. Secrets are references, never values.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Auth {
    Key {
        path: PathBuf,
        #[serde(serialize_with = "ser_ref_opt")]
        passphrase: Option<SecretRef>,
    },
    Password {
        #[serde(serialize_with = "ser_ref")]
        password: SecretRef,
    },
    Agent,
}

impl Auth {
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Key { .. } => "key",
            Auth::Password { .. } => "password",
            Auth::Agent => "agent",
        }
    }
}

/// The budgets and commands of a verified reboot (Ansible's reboot module semantics).
#[derive(Debug, Clone, Serialize)]
pub struct RebootSettings {
    pub command: String,
    /// Run the reboot through `sudo -n` (skipped when logging in as root).
    pub sudo: bool,
    #[serde(with = "secs")]
    pub shutdown_timeout: Duration,
    #[serde(with = "secs")]
    pub boot_timeout: Duration,
    #[serde(with = "secs")]
    pub test_timeout: Duration,
    #[serde(with = "secs")]
    pub backoff_max: Duration,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    connect_timeout_secs: Option<Spanned<u64>>,
    command_timeout_secs: Option<Spanned<u64>>,
    max_output_bytes: Option<Spanned<u64>>,
    runbook_dir: Option<Spanned<String>>,
    boot_id_command: Option<Spanned<String>>,
    test_command: Option<Spanned<String>>,
    reboot: Option<RawReboot>,
    thresholds: Option<RawThresholds>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReboot {
    command: Option<Spanned<String>>,
    sudo: Option<bool>,
    shutdown_timeout_secs: Option<Spanned<u64>>,
    timeout_secs: Option<Spanned<u64>>,
    test_timeout_secs: Option<Spanned<u64>>,
    backoff_max_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub(super) name: Spanned<String>,
    address: Spanned<String>,
    port: Option<Spanned<i64>>,
    user: Spanned<String>,
    auth: Spanned<RawAuth>,
    // The same keys as `[defaults]`, overriding them for this host.
    connect_timeout_secs: Option<Spanned<u64>>,
    command_timeout_secs: Option<Spanned<u64>>,
    max_output_bytes: Option<Spanned<u64>>,
    runbook_dir: Option<Spanned<String>>,
    boot_id_command: Option<Spanned<String>>,
    test_command: Option<Spanned<String>>,
    reboot: Option<RawReboot>,
    /// `ACCOUNT/SERVER`: the cloud server this host is (its id or name in a [[clouds]]
    /// account), so that a cloud reboot of it is verified over SSH.
    server: Option<Spanned<String>>,
    /// Offer legacy SSH algorithms to this host too (off by default).
    legacy_algorithms: Option<bool>,
    /// `{ role = "web", env = "prod" }`: what `--tag KEY=VALUE` selects.
    tags: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// `["checkout", "eu"]`: what `--group NAME` selects.
    groups: Option<Spanned<Vec<Spanned<String>>>>,
    /// `{ disk = { warning = 95, danger = 98 } }`: this host's own limits.
    thresholds: Option<RawThresholds>,
    /// The `instance` label of its node exporter in Prometheus, when not its address.
    instance: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub(super) enum RawAuth {
    Key {
        path: String,
        passphrase: Option<String>,
    },
    Password {
        password: String,
    },
    Agent,
}

impl Config {
    /// The host named `name`, or a not-found error listing the known names.
    pub fn host(&self, name: &str) -> Result<&HostConfig> {
        find_named(
            &self.hosts,
            name,
            |h| &h.name,
            "host",
            "configured hosts: ",
            "no hosts are configured yet; add one with `paaf host add`",
        )
    }
}

pub(super) fn validate_host(
    src: &Source,
    defaults: &RawDefaults,
    raw: RawHost,
) -> Result<HostConfig> {
    let name_span = raw.name.span();
    let name = raw.name.into_inner();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&name_span),
            format!("host name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `web-1`",
        ));
    }
    let address = raw.address.get_ref().trim().to_string();
    if address.is_empty() || address.contains(char::is_whitespace) {
        return Err(src.err(
            Some(&raw.address.span()),
            format!("host `{name}`: address is empty or has spaces"),
            "set `address` to a hostname or IP, e.g. `10.0.0.5`",
        ));
    }
    let port = match &raw.port {
        None => 22,
        Some(p) => u16::try_from(*p.get_ref())
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                src.err(
                    Some(&p.span()),
                    format!("host `{name}`: port {} is out of range", p.get_ref()),
                    "use a port between 1 and 65535 (22 is SSH's default)",
                )
            })?,
    };
    let user = raw.user.get_ref().trim().to_string();
    if user.is_empty() {
        return Err(src.err(
            Some(&raw.user.span()),
            format!("host `{name}`: user is empty"),
            "set `user` to the login name on that host",
        ));
    }
    let auth_span = raw.auth.span();
    let secret = |s: String| {
        SecretRef::parse(&s).map_err(|m| {
            src.err(
                Some(&auth_span),
                format!("host `{name}`: {m}"),
                "e.g. auth = { type = \"password\", password = \"keyring:web-1\" }",
            )
        })
    };
    let auth = match raw.auth.into_inner() {
        RawAuth::Key { path, passphrase } => {
            if path.trim().is_empty() {
                return Err(src.err(
                    Some(&auth_span),
                    format!("host `{name}`: key path is empty"),
                    "set auth.path to a private key file, e.g. \"~/.ssh/id_ed25519\"",
                ));
            }
            Auth::Key {
                path: expand_home(&path),
                passphrase: passphrase.map(secret).transpose()?,
            }
        }
        RawAuth::Password { password } => Auth::Password {
            password: secret(password)?,
        },
        RawAuth::Agent => Auth::Agent,
    };
    let dr = defaults.reboot.clone().unwrap_or_default();
    let hr = raw.reboot.unwrap_or_default();
    let secs =
        |host: &Option<Spanned<u64>>, def: &Option<Spanned<u64>>, key: &str, fallback: u64| {
            positive(src, host.as_ref().or(def.as_ref()), key).map(|v| v.unwrap_or(fallback))
        };
    let text = |host: &Option<Spanned<String>>,
                def: &Option<Spanned<String>>,
                key: &str,
                fallback: &str| {
        match host.as_ref().or(def.as_ref()) {
            None => Ok(fallback.to_string()),
            Some(s) if s.get_ref().trim().is_empty() => Err(src.err(
                Some(&s.span()),
                format!("host `{name}`: {key} is empty"),
                format!("give a value or remove {key} for the default ({fallback})"),
            )),
            Some(s) => Ok(s.get_ref().clone()),
        }
    };
    let connect = secs(
        &raw.connect_timeout_secs,
        &defaults.connect_timeout_secs,
        "connect_timeout_secs",
        10,
    )?;
    let command = secs(
        &raw.command_timeout_secs,
        &defaults.command_timeout_secs,
        "command_timeout_secs",
        60,
    )?;
    let max_output = secs(
        &raw.max_output_bytes,
        &defaults.max_output_bytes,
        "max_output_bytes",
        1024 * 1024,
    )?;
    let runbook_dir = text(
        &raw.runbook_dir,
        &defaults.runbook_dir,
        "runbook_dir",
        DEFAULT_RUNBOOK_DIR,
    )?;
    if !runbook_dir.starts_with('/') {
        let span = raw
            .runbook_dir
            .as_ref()
            .or(defaults.runbook_dir.as_ref())
            .map(|s| s.span());
        return Err(src.err(
            span.as_ref(),
            format!("host `{name}`: runbook_dir `{runbook_dir}` is not absolute"),
            "use an absolute directory, e.g. /usr/local/sbin/rebootx/runbooks",
        ));
    }
    let boot_id_command = text(
        &raw.boot_id_command,
        &defaults.boot_id_command,
        "boot_id_command",
        DEFAULT_BOOT_ID_COMMAND,
    )?;
    let test_command = text(
        &raw.test_command,
        &defaults.test_command,
        "test_command",
        DEFAULT_TEST_COMMAND,
    )?;
    let reboot = RebootSettings {
        command: text(
            &hr.command,
            &dr.command,
            "reboot.command",
            DEFAULT_REBOOT_COMMAND,
        )?,
        sudo: hr.sudo.or(dr.sudo).unwrap_or(true),
        shutdown_timeout: Duration::from_secs(secs(
            &hr.shutdown_timeout_secs,
            &dr.shutdown_timeout_secs,
            "reboot.shutdown_timeout_secs",
            120,
        )?),
        boot_timeout: Duration::from_secs(secs(
            &hr.timeout_secs,
            &dr.timeout_secs,
            "reboot.timeout_secs",
            600,
        )?),
        test_timeout: Duration::from_secs(secs(
            &hr.test_timeout_secs,
            &dr.test_timeout_secs,
            "reboot.test_timeout_secs",
            120,
        )?),
        backoff_max: Duration::from_secs(secs(
            &hr.backoff_max_secs,
            &dr.backoff_max_secs,
            "reboot.backoff_max_secs",
            12,
        )?),
    };
    if let Some(why) = not_a_program_line(&reboot.command) {
        let span = hr
            .command
            .as_ref()
            .or(dr.command.as_ref())
            .map(|s| s.span());
        return Err(src.err(
            span.as_ref(),
            format!(
                "host `{name}`: reboot.command `{}` {why}",
                reboot.command
            ),
            "it runs as one program with its arguments (under `sudo -n`, without a shell), e.g. \"shutdown -r now\"; put anything more in a script on the host and name that script",
        ));
    }
    let server = match &raw.server {
        None => None,
        Some(link) => match link.get_ref().trim().split_once('/') {
            Some((account, server)) if valid_name(account) && !server.trim().is_empty() => {
                Some((account.to_string(), server.trim().to_string()))
            }
            _ => {
                return Err(src.err(
                    Some(&link.span()),
                    format!(
                        "host `{name}`: server `{}` is not ACCOUNT/SERVER",
                        link.get_ref()
                    ),
                    "name the [[clouds]] account and the server's id or name, e.g. server = \"prod/i-0123456789abcdef0\"",
                ));
            }
        },
    };
    let tags = validate_tags(src, &name, raw.tags)?;
    let groups = validate_groups(src, &name, raw.groups)?;
    let thresholds = apply_thresholds(
        src,
        "[defaults] thresholds",
        HostThresholds::default(),
        defaults.thresholds.as_ref(),
    )?;
    let thresholds = apply_thresholds(
        src,
        &format!("host `{name}`: thresholds"),
        thresholds,
        raw.thresholds.as_ref(),
    )?;
    let instance = match raw.instance {
        Some(i) if i.get_ref().trim().is_empty() || i.get_ref().contains(char::is_whitespace) => {
            return Err(src.err(
                Some(&i.span()),
                format!("host `{name}`: instance is empty or has spaces"),
                "set it to the `instance` label of the host's node exporter in Prometheus, e.g. instance = \"web-1.internal:9100\", or remove it to match the address",
            ));
        }
        i => i.map(Spanned::into_inner),
    };
    Ok(HostConfig {
        name,
        address,
        port,
        user,
        auth,
        boot_id_command,
        test_command,
        runbook_dir,
        connect_timeout: Duration::from_secs(connect),
        command_timeout: Duration::from_secs(command),
        max_output_bytes: usize::try_from(max_output).unwrap_or(usize::MAX),
        reboot,
        server,
        legacy_algorithms: raw.legacy_algorithms.unwrap_or(false),
        tags,
        groups,
        thresholds,
        instance,
    })
}

/// What a tag key or value, or a group name, may be made of (for the fix of an error).
const LABEL_RULE: &str = "use letters, digits, `-`, `_`, `.`, `/` and `:` (at most 63)";

/// A tag key or value, or a group name: what a selector can name on the command line
/// (`--tag role=web`) and what a shell leaves alone.
fn valid_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
}

fn validate_tags(
    src: &Source,
    host: &str,
    raw: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
) -> Result<BTreeMap<String, String>> {
    let Some(raw) = raw else {
        return Ok(BTreeMap::new());
    };
    let span = raw.span();
    let mut tags = BTreeMap::new();
    for (key, value) in raw.into_inner() {
        if !valid_label(&key) || key.contains('=') {
            return Err(src.err(
                Some(&span),
                format!("host `{host}`: tag key `{key}` is not allowed"),
                format!("{LABEL_RULE}, e.g. tags = {{ role = \"web\", env = \"prod\" }}"),
            ));
        }
        if !valid_label(value.get_ref()) {
            return Err(src.err(
                Some(&value.span()),
                format!(
                    "host `{host}`: tag `{key}` has the value `{}`, which is not allowed",
                    value.get_ref()
                ),
                format!("{LABEL_RULE}, e.g. role = \"web\""),
            ));
        }
        tags.insert(key, value.into_inner());
    }
    Ok(tags)
}

fn validate_groups(
    src: &Source,
    host: &str,
    raw: Option<Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<String>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut groups = Vec::new();
    for group in raw.into_inner() {
        if !valid_label(group.get_ref()) {
            return Err(src.err(
                Some(&group.span()),
                format!("host `{host}`: group `{}` is not allowed", group.get_ref()),
                format!("{LABEL_RULE}, e.g. groups = [\"checkout\", \"eu\"]"),
            ));
        }
        groups.push(group.into_inner());
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// Why `command` is not one program with arguments (the reboot command's form), if it is not.
fn not_a_program_line(command: &str) -> Option<&'static str> {
    match shlex::split(command) {
        None => Some("has an unbalanced quote"),
        Some(words) if words.is_empty() => Some("is empty"),
        Some(_)
            if command.contains([';', '&', '|', '<', '>', '`', '\n']) || command.contains("$(") =>
        {
            Some("uses shell syntax (; & | < > ` $( or a new line)")
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_with(extra: &str) -> Result<Config> {
        Config::parse(
            Path::new("/etc/paaf/config.toml"),
            &format!(
                "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.5\"\nuser = \"deploy\"\nauth = {{ type = \"agent\" }}\n{extra}"
            ),
        )
    }

    #[test]
    fn legacy_algorithms_are_off_unless_the_host_allows_them() {
        let host = |extra: &str| host_with(extra).unwrap().hosts[0].legacy_algorithms;
        assert!(!host(""));
        assert!(host("legacy_algorithms = true"));
        assert!(host_with("legacy_algorithms = \"yes\"").is_err());
    }

    #[test]
    fn tags_and_groups_are_read_and_checked_with_their_line() {
        let host = host_with(
            "tags = { role = \"web\", env = \"prod\" }\ngroups = [\"checkout\", \"eu\", \"checkout\"]",
        )
        .unwrap()
        .hosts
        .remove(0);
        assert_eq!(host.tags.get("role").map(String::as_str), Some("web"));
        assert_eq!(host.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(host.groups, ["checkout", "eu"]);
        let untagged = host_with("").unwrap().hosts.remove(0);
        assert!(untagged.tags.is_empty() && untagged.groups.is_empty());
        for (extra, line, says) in [
            ("tags = { role = \"web server\" }", 6, "tag `role`"),
            ("tags = { role = 3 }", 6, "expected text in quotes"),
            ("\ngroups = [\"a b\"]", 7, "group `a b`"),
            ("groups = \"checkout\"", 6, "expected"),
            ("tags = { \"\" = \"x\" }", 6, "tag key"),
        ] {
            match host_with(extra) {
                Err(Error::Config {
                    line: l,
                    message,
                    fix,
                    ..
                }) => {
                    assert_eq!(l, Some(line), "{extra}: {message}");
                    assert!(message.contains(says), "{extra}: {message}");
                    assert!(!fix.is_empty());
                }
                other => panic!("{extra}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_reboot_command_is_one_program_with_its_arguments() {
        for ok in [
            "shutdown -r now",
            "/usr/sbin/shutdown -r +1 'planned reboot'",
            "systemctl reboot",
        ] {
            host_with(&format!("[hosts.reboot]\ncommand = \"{ok}\""))
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "sync; shutdown -r now",
            "shutdown -r now && echo done",
            "shutdown -r now >/dev/null",
            "shutdown -r $(date)",
            "shutdown 'unbalanced",
        ] {
            match host_with(&format!("[hosts.reboot]\ncommand = \"{bad}\"")) {
                Err(Error::Config { line, fix, .. }) => {
                    assert_eq!(line, Some(7), "{bad}");
                    assert!(fix.contains("without a shell"), "{bad}: {fix}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
