//! Changes written back to the config file: hosts added and removed, comments and layout kept.
//!
//! Every change holds an exclusive lock (`config.toml.lock` beside the file) from reading the
//! file to replacing it, so the CLI and the desktop app adding hosts at once both keep theirs;
//! the new text goes to a temporary file of its own, is synced, renamed over the config, and
//! the rename synced, so a crash leaves the old file or the new one, never a mix.

use super::*;
use crate::private_files;
use std::io::Write;

/// A host to add, as a front-end collects it (a form, CLI flags, a mobile screen).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostInput {
    pub name: String,
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub user: String,
    pub auth: AuthInput,
}

fn default_port() -> u16 {
    22
}

/// How the new host logs in.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AuthInput {
    Key {
        path: PathBuf,
        #[serde(default)]
        passphrase: Option<SecretInput>,
    },
    Password {
        password: SecretInput,
    },
    Agent,
}

/// A secret as a front-end has it: the value (paaf stores it in the keychain) or a reference
/// (`keyring:NAME`, `env:VAR`) to one stored already. Debug never shows a value.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SecretInput {
    Value(#[cfg_attr(feature = "ts", ts(type = "string"))] secrecy::SecretString),
    Reference(String),
}

/// A host as written to the config, secrets already turned into references.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: NewAuth,
}

/// The auth of a new host, as written to the config.
#[derive(Debug, Clone)]
pub enum NewAuth {
    Key {
        path: PathBuf,
        passphrase: Option<SecretRef>,
    },
    Password {
        password: SecretRef,
    },
    Agent,
}

/// Appends a `[[hosts]]` entry, keeping the file's comments and layout; refuses a bad result.
pub fn add_host(path: &Path, host: &NewHost) -> Result<Config> {
    edit(path, |text| with_host_added(path, text, host))
}

/// The config as it would be with `host` added, nothing written: what `add_host` would save.
pub fn preview_host_added(path: &Path, host: &NewHost) -> Result<Config> {
    Config::parse(path, &with_host_added(path, &read_text(path)?, host)?)
}

/// `text` with a `[[hosts]]` entry for `host` appended.
fn with_host_added(path: &Path, text: &str, host: &NewHost) -> Result<String> {
    let before = Config::parse(path, text)?;
    if before.hosts.iter().any(|h| h.name == host.name) {
        return Err(Error::invalid(format!(
            "a host named `{}` already exists in {}; pick another name or remove it first (`paaf host remove {}`)",
            host.name,
            path.display(),
            host.name
        )));
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| Error::Config {
                file: path.to_path_buf(),
                line: None,
                message: e.to_string(),
                fix: "correct the file by hand first".into(),
            })?;
    let mut t = toml_edit::Table::new();
    t["name"] = toml_edit::value(&host.name);
    t["address"] = toml_edit::value(&host.address);
    t["port"] = toml_edit::value(i64::from(host.port));
    t["user"] = toml_edit::value(&host.user);
    let mut auth = toml_edit::InlineTable::new();
    match &host.auth {
        NewAuth::Key { path, passphrase } => {
            auth.insert("type", "key".into());
            auth.insert("path", path.display().to_string().into());
            if let Some(p) = passphrase {
                auth.insert("passphrase", p.to_string().into());
            }
        }
        NewAuth::Password { password } => {
            auth.insert("type", "password".into());
            auth.insert("password", password.to_string().into());
        }
        NewAuth::Agent => {
            auth.insert("type", "agent".into());
        }
    }
    t["auth"] = toml_edit::value(auth);
    let hosts = doc
        .entry("hosts")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .ok_or_else(|| Error::Config {
            file: path.to_path_buf(),
            line: None,
            message: "`hosts` is not an array of [[hosts]] tables".into(),
            fix: "write each host as a [[hosts]] section".into(),
        })?;
    hosts.push(t);
    Ok(doc.to_string())
}

/// Removes the `[[hosts]]` entry named `name`.
pub fn remove_host(path: &Path, name: &str) -> Result<Config> {
    edit(path, |text| {
        Config::parse(path, text)?.host(name)?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| Error::other(e.to_string()))?;
        if let Some(hosts) = doc
            .get_mut("hosts")
            .and_then(|h| h.as_array_of_tables_mut())
        {
            hosts.retain(|t| t.get("name").and_then(|n| n.as_str()) != Some(name));
        }
        Ok(doc.to_string())
    })
}

/// Validates the new text, then replaces the file (see the module doc).
pub fn write_validated(path: &Path, text: &str) -> Result<Config> {
    let _lock = lock(path)?;
    replace(path, text)
}

/// Reads the config, turns its text into a new one with `change`, and writes that, all under
/// the lock.
fn edit(path: &Path, change: impl FnOnce(&str) -> Result<String>) -> Result<Config> {
    let _lock = lock(path)?;
    let text = change(&read_text(path)?)?;
    replace(path, &text)
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Config {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot {what}: {e}"),
        fix: "check the permissions of the file and its directory".into(),
    }
}

/// Holds the exclusive lock of edits to the config at `path` until dropped.
fn lock(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        private_files::create_dir_all(dir)
            .map_err(|e| io_error(path, "create its directory", e))?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    let file = private_files::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| io_error(path, &format!("open {}", lock_path.display()), e))?;
    file.lock()
        .map_err(|e| io_error(path, &format!("lock {}", lock_path.display()), e))?;
    Ok(file)
}

/// Validates `text` and puts it in place of the file; the caller holds the lock.
fn replace(path: &Path, text: &str) -> Result<Config> {
    let config = Config::parse(path, text)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    private_files::create_dir_all(dir).map_err(|e| io_error(path, "create its directory", e))?;
    let tmp = dir.join(format!(
        ".{}.{}-{:016x}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = (|| {
        let mut file = private_files::options()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        // An existing config keeps the mode its owner gave it; a new one is 0600.
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        private_files::sync_dir(dir)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, "write it", e));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> NewHost {
        NewHost {
            name: name.into(),
            address: "10.0.0.5".into(),
            port: 22,
            user: "deploy".into(),
            auth: NewAuth::Agent,
        }
    }

    #[test]
    fn hosts_added_by_several_writers_at_once_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# ours\noperator = \"alice\"\n").unwrap();
        // Eight writers (the CLI and the desktop app at once, many times over), five hosts each.
        std::thread::scope(|s| {
            for w in 0..8 {
                let path = &path;
                s.spawn(move || {
                    for h in 0..5 {
                        add_host(path, &host(&format!("web-{w}-{h}"))).unwrap();
                    }
                });
            }
        });
        let config = Config::load(&path).unwrap();
        assert_eq!(config.hosts.len(), 40, "no host lost");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# ours\n"), "{text}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(names.is_empty(), "temporary files left: {names:?}");
    }

    #[test]
    fn an_unreadable_config_is_an_error_and_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        // Not UTF-8 (a Latin-1 comment): it cannot be read as text, so it must not be
        // replaced by a config holding only the new host.
        let before = b"# caf\xe9\n[[hosts]]\nname = \"db-1\"\naddress = \"10.0.0.9\"\nuser = \"ops\"\nauth = { type = \"agent\" }\n";
        std::fs::write(&path, before).unwrap();
        for result in [
            add_host(&path, &host("web-1")).map(|_| ()),
            remove_host(&path, "db-1").map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::Config, "{err}");
            assert!(err.to_string().contains("cannot read it"), "{err}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_config_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("paaf");
        let path = home.join("config.toml");
        add_host(&path, &host("web-1")).unwrap();
        assert_eq!(crate::private_files::mode(&home), 0o700);
        assert_eq!(crate::private_files::mode(&path), 0o600);
    }
}
