//! Changes written back to the config file: hosts added and removed, comments and layout kept.

use super::*;

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
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let before = Config::parse(path, &text)?;
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
    write_validated(path, &doc.to_string())
}

/// Removes the `[[hosts]]` entry named `name`.
pub fn remove_host(path: &Path, name: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    Config::parse(path, &text)?.host(name)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::other(e.to_string()))?;
    if let Some(hosts) = doc
        .get_mut("hosts")
        .and_then(|h| h.as_array_of_tables_mut())
    {
        hosts.retain(|t| t.get("name").and_then(|n| n.as_str()) != Some(name));
    }
    write_validated(path, &doc.to_string())
}

/// Validates the new text, then replaces the file atomically (write a sibling, rename).
pub fn write_validated(path: &Path, text: &str) -> Result<Config> {
    let config = Config::parse(path, text)?;
    let io = |e: std::io::Error| Error::Config {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot write it: {e}"),
        fix: "check the directory's permissions".into(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(config)
}
