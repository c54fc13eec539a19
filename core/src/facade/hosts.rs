//! Hosts in the config: one is added only once its login worked (or the caller asked not to
//! connect), so a failed `host add` leaves nothing behind — no config entry, no keychain
//! entry — and the same command, corrected, works. Removing a host.

use super::{Paaf, Started};
use crate::config::{self, AuthInput, HostConfig, HostInput, NewAuth, NewHost, SecretInput};
use crate::error::{Error, ErrorCode, Result};
use crate::inventory::HostSummary;
use crate::journal::{ActionKind, ActionState, NewAction};
use crate::secrets::{SecretRef, SecretStore};
use crate::ssh::session as ssh_session;
use crate::ssh::{HostKeyPolicy, KeyStatus, OfferedKey};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How [`Paaf::add_host`] checks a new host before saving it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HostCheck {
    /// Log in first and save only if that works. The host's key must be in known_hosts
    /// already, or be `trust`: the fingerprint the user confirmed, recorded once it is seen.
    Login { trust: Option<String> },
    /// Save without connecting (CLI `--no-connect`): nothing is checked.
    NoConnect,
}

/// What [`Paaf::add_host`] did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HostAdded {
    /// Saved in the config.
    Added { host: HostSummary },
    /// Nothing saved: the host offers a key known_hosts does not have. Show it; if the user
    /// trusts it, add the host again with `HostCheck::Login { trust: Some(fingerprint) }`.
    KeyToConfirm { key: OfferedKey },
}

/// The error for a new host whose key the user did not trust: nothing was saved, and how to
/// add it once the key is checked.
pub fn host_key_declined(name: &str, key: &OfferedKey) -> Error {
    Error::HostNotAdded {
        host: name.to_string(),
        code: ErrorCode::HostKeyUnknown,
        reason: format!(
            "its {} host key {} was not trusted. Check it out of band, then add the host again and accept the key",
            key.key_type, key.fingerprint
        ),
    }
}

/// `error` as the reason `name` was not added, with its code.
fn not_added(name: &str, error: Error) -> Error {
    match error {
        Error::HostNotAdded { .. } => error,
        e => Error::HostNotAdded {
            host: name.to_string(),
            code: e.code(),
            reason: e.to_string(),
        },
    }
}

/// The secret store seen with the secrets of a host not saved yet, so its login can be
/// checked before anything is stored.
struct WithPending<'a> {
    pending: &'a [(String, SecretString)],
    store: &'a dyn SecretStore,
}

impl SecretStore for WithPending<'_> {
    fn get(&self, name: &str) -> Result<SecretString> {
        match self.pending.iter().find(|(n, _)| n == name) {
            Some((_, value)) => Ok(value.clone()),
            None => self.store.get(name),
        }
    }

    fn set(&self, _: &str, _: &SecretString) -> Result<()> {
        Err(Error::other("a pending host's secrets are only read"))
    }

    fn delete(&self, _: &str) -> Result<()> {
        Err(Error::other("a pending host's secrets are only read"))
    }

    fn backend(&self) -> &str {
        self.store.backend()
    }
}

/// A host as it will be saved, and the secret values to store once it is.
struct Planned {
    host: NewHost,
    /// Keychain entry names and their values (`host-NAME-password`, ...).
    secrets: Vec<(String, SecretString)>,
}

impl Planned {
    fn from_input(input: HostInput) -> Result<Planned> {
        let mut secrets = Vec::new();
        let mut reference = |value: SecretInput, what: &str| -> Result<SecretRef> {
            match value {
                SecretInput::Reference(r) => SecretRef::parse(&r).map_err(Error::invalid),
                SecretInput::Value(v) => {
                    let entry = format!("host-{}-{what}", input.name);
                    secrets.push((entry.clone(), v));
                    Ok(SecretRef::Keyring(entry))
                }
            }
        };
        let auth = match input.auth {
            AuthInput::Key { path, passphrase } => NewAuth::Key {
                path: std::path::absolute(&path).unwrap_or(path),
                passphrase: passphrase.map(|p| reference(p, "passphrase")).transpose()?,
            },
            AuthInput::Password { password } => NewAuth::Password {
                password: reference(password, "password")?,
            },
            AuthInput::Agent => NewAuth::Agent,
        };
        Ok(Planned {
            host: NewHost {
                name: input.name,
                address: input.address,
                port: input.port,
                user: input.user,
                auth,
            },
            secrets,
        })
    }

    fn detail(&self) -> String {
        let h = &self.host;
        let method = match &h.auth {
            NewAuth::Key { .. } => "key",
            NewAuth::Password { .. } => "password",
            NewAuth::Agent => "agent",
        };
        format!("{}@{}:{} ({method})", h.user, h.address, h.port)
    }
}

/// How a new host's login treats its key, or the key to show first.
enum KeyCheck {
    Login(HostKeyPolicy),
    Confirm(OfferedKey),
}

impl Paaf {
    /// Adds a host to the config, all or nothing: with `HostCheck::Login` it is saved only
    /// once its login worked. Secret values in `input` go to the keychain (as
    /// `keyring:host-NAME-password` / `-passphrase`) only then; the config gets references.
    pub async fn add_host(&self, input: HostInput, check: HostCheck) -> Result<HostAdded> {
        let planned = Planned::from_input(input)?;
        let name = planned.host.name.clone();
        let path = self.config().path.clone();
        let host = config::preview_host_added(&path, &planned.host)?
            .host(&name)?
            .clone();
        let policy = match check {
            HostCheck::NoConnect => None,
            HostCheck::Login { trust } => match self.new_host_key(&host, trust).await? {
                KeyCheck::Login(policy) => Some(policy),
                KeyCheck::Confirm(key) => return Ok(HostAdded::KeyToConfirm { key }),
            },
        };
        let done = match &policy {
            None => "added to the config without connecting".to_string(),
            Some(HostKeyPolicy::AcceptNew(Some(fp))) => {
                format!("host key {fp} recorded in known_hosts, login ok, added to the config")
            }
            Some(_) => "login ok, added to the config".to_string(),
        };
        let (planned, host) = (&planned, &host);
        self.journaled(
            NewAction::new(ActionKind::HostAdd, &name, &planned.detail()),
            |started| async move {
                if let Some(policy) = policy {
                    self.check_login(host, &planned.secrets, policy, &started)
                        .await?;
                }
                let added = self.save_host(planned)?;
                Ok(HostAdded::Added {
                    host: HostSummary::from(&added),
                })
            },
            |_| (ActionState::Succeeded, done.clone()),
        )
        .await
    }

    /// Reads the new host's key without logging in: how its login must treat the key, or
    /// the key to show when it is unknown and not `trust`ed yet.
    async fn new_host_key(&self, host: &HostConfig, trust: Option<String>) -> Result<KeyCheck> {
        let target = self.target_without_secrets(host);
        let known_hosts = target.known_hosts.clone();
        let key = self
            .pool
            .run(move || ssh_session::probe_host_key(&target))
            .await
            .map_err(|e| not_added(&host.name, e))?;
        match (key.status, trust) {
            (KeyStatus::Known, _) => Ok(KeyCheck::Login(HostKeyPolicy::Strict)),
            (KeyStatus::Unknown, Some(fp)) => {
                Ok(KeyCheck::Login(HostKeyPolicy::AcceptNew(Some(fp))))
            }
            (KeyStatus::Unknown, None) => Ok(KeyCheck::Confirm(key)),
            (KeyStatus::Changed, _) => Err(Error::HostNotAdded {
                host: host.name.clone(),
                code: ErrorCode::HostKeyChanged,
                reason: format!(
                    "REFUSED: {}:{} offers the host key {}, not the one {} records for it. This may be an attack or a reinstalled server. If the change is expected, add the host without connecting (the same `paaf host add` with --no-connect), then run `paaf host forget-key {name}` and `paaf host trust {name}`",
                    host.address,
                    host.port,
                    key.fingerprint,
                    known_hosts.display(),
                    name = host.name
                ),
            }),
        }
    }

    /// Logs in to the host about to be added, with its secrets not stored yet.
    async fn check_login(
        &self,
        host: &HostConfig,
        pending: &[(String, SecretString)],
        policy: HostKeyPolicy,
        started: &Started,
    ) -> Result<()> {
        let store = WithPending {
            pending,
            store: self.secrets.as_ref(),
        };
        let target = self
            .target_with(host, &store, &Arc::default())
            .map_err(|e| not_added(&host.name, e))?;
        started.now()?;
        let recorded_on_accept = matches!(policy, HostKeyPolicy::AcceptNew(_));
        let login = self
            .pool
            .with_fresh_connection(target, policy, |_| Ok(()))
            .await;
        if let Err(e) = login {
            // A key accepted for this login is recorded before the login runs; it was unknown
            // before, so what matches the host now is that entry only: take it back.
            if recorded_on_accept {
                let target = self.target_without_secrets(host);
                let forgot = self
                    .pool
                    .run(move || ssh_session::forget_host_key(&target))
                    .await;
                if let Err(forget) = forgot {
                    tracing::warn!(host = %host.name, "could not take back the key recorded for a host not added: {forget}");
                }
            }
            return Err(not_added(&host.name, e));
        }
        Ok(())
    }

    /// Stores the host's secrets, then writes it to the config; a secret stored for a host
    /// that could not be written is deleted again.
    fn save_host(&self, planned: &Planned) -> Result<HostConfig> {
        let mut stored = Vec::new();
        let result = (|| {
            for (entry, value) in &planned.secrets {
                self.secrets.set(entry, value)?;
                stored.push(entry);
            }
            let config = config::add_host(&self.config().path, &planned.host)?;
            let added = config.host(&planned.host.name)?.clone();
            self.set_config(config);
            Ok(added)
        })();
        if result.is_err() {
            for entry in stored {
                if let Err(e) = self.secrets.delete(entry) {
                    tracing::warn!("could not delete the secret {entry} of a host not added: {e}");
                }
            }
        }
        result.map_err(|e| not_added(&planned.host.name, e))
    }

    /// Removes a host from the config (its known_hosts entry stays; see `forget_host_key`).
    pub fn remove_host(&self, name: &str) -> Result<()> {
        let id = self.journal.begin(
            &self.actor,
            &NewAction::new(ActionKind::HostRemove, name, ""),
        )?;
        let path = self.config().path.clone();
        let result = config::remove_host(&path, name).map(|c| self.set_config(c));
        self.record_end(id, &result, false, |_| {
            (ActionState::Succeeded, "removed from the config".into())
        });
        result
    }
}
