//! The OS keychain through the `keyring` crate: the CLI's and the desktop app's store.

use super::SecretStore;
use crate::error::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

/// The OS keychain through the `keyring` crate; entries live under the service "paaf".
pub struct KeyringStore {
    backend: &'static str,
}

const KEYRING_SERVICE: &str = "paaf";

impl KeyringStore {
    /// Picks the platform store. On Linux: Secret Service when a D-Bus session answers, else the
    /// kernel keyutils store; `PAAF_KEYRING=keyutils|secret-service` forces one.
    pub fn open() -> Self {
        #[cfg(target_os = "linux")]
        {
            let forced = std::env::var("PAAF_KEYRING").ok();
            let use_keyutils = match forced.as_deref() {
                Some("keyutils") => true,
                Some("secret-service") => false,
                _ => {
                    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
                        || !secret_service_answers()
                }
            };
            if use_keyutils {
                keyring::set_default_credential_builder(
                    keyring::keyutils::default_credential_builder(),
                );
                return KeyringStore {
                    backend: "keyutils",
                };
            }
            keyring::set_default_credential_builder(
                keyring::secret_service::default_credential_builder(),
            );
            KeyringStore {
                backend: "secret-service",
            }
        }
        #[cfg(not(target_os = "linux"))]
        KeyringStore { backend: "os" }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| keyring_error(name, e))
    }
}

#[cfg(target_os = "linux")]
fn secret_service_answers() -> bool {
    keyring::set_default_credential_builder(keyring::secret_service::default_credential_builder());
    match keyring::Entry::new(KEYRING_SERVICE, "paaf-probe").and_then(|e| e.get_password()) {
        Ok(_) | Err(keyring::Error::NoEntry) => true,
        Err(e) => {
            tracing::info!("Secret Service unusable ({e}); using the keyutils store");
            false
        }
    }
}

fn keyring_error(name: &str, e: keyring::Error) -> Error {
    let reason = match e {
        keyring::Error::NoEntry => format!("no such entry; store it with `paaf secret set {name}`"),
        other => other.to_string(),
    };
    Error::Secret {
        reference: format!("keyring:{name}"),
        reason,
    }
}

/// A failed write: keyutils reports a refused link (no session keyring) as "no entry".
fn keyring_write_error(name: &str, e: keyring::Error) -> Error {
    let reason = match e {
        keyring::Error::NoEntry => "the keychain refused to store it (with keyutils this happens outside a login session: run paaf inside one, e.g. `keyctl session - paaf ...`, or use an `env:VAR` reference)".to_string(),
        other => other.to_string(),
    };
    Error::Secret {
        reference: format!("keyring:{name}"),
        reason,
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<SecretString> {
        self.entry(name)?
            .get_password()
            .map(SecretString::from)
            .map_err(|e| keyring_error(name, e))
    }

    fn set(&self, name: &str, value: &SecretString) -> Result<()> {
        self.entry(name)?
            .set_password(value.expose_secret())
            .map_err(|e| keyring_write_error(name, e))
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.entry(name)?
            .delete_credential()
            .map_err(|e| keyring_error(name, e))
    }

    fn backend(&self) -> &str {
        self.backend
    }
}
