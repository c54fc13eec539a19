//! Secrets: the config names them (`keyring:NAME`, `env:VAR`), a `SecretStore` holds them.

use crate::error::{Error, Result};
use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

#[cfg(feature = "os-keychain")]
mod os_keychain;
#[cfg(feature = "os-keychain")]
pub use os_keychain::KeyringStore;

/// Where the secrets live: the OS keychain on desktop and CLI, the app's keystore on mobile.
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`; `Error::Secret` when there is none.
    fn get(&self, name: &str) -> Result<SecretString>;
    fn set(&self, name: &str, value: &SecretString) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
    /// Which backend this is, for messages ("secret-service", "keyutils", ...).
    fn backend(&self) -> &str;
}

/// A reference to a secret, as written in the config. Never holds the secret itself.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `keyring:NAME`: the entry NAME in the secret store.
    Keyring(String),
    /// `env:VAR`: the environment variable VAR (for scripts and CI).
    Env(String),
}

impl SecretRef {
    /// Parses `keyring:NAME` or `env:VAR`; the error says which forms exist.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let bad_name = |n: &str| n.is_empty() || n.chars().any(|c| c.is_whitespace());
        if let Some(name) = s.strip_prefix("keyring:") {
            if bad_name(name) {
                return Err(format!(
                    "`{s}`: the keyring entry name is empty or has spaces"
                ));
            }
            return Ok(SecretRef::Keyring(name.to_string()));
        }
        if let Some(var) = s.strip_prefix("env:") {
            if bad_name(var) {
                return Err(format!("`{s}`: the variable name is empty or has spaces"));
            }
            return Ok(SecretRef::Env(var.to_string()));
        }
        Err(
            "a secret is never written in the config: use a reference, `keyring:NAME` (store it with `paaf secret set NAME`) or `env:VAR`"
                .to_string(),
        )
    }

    /// Fetches the secret this reference names.
    pub fn resolve(&self, store: &dyn SecretStore) -> Result<SecretString> {
        match self {
            SecretRef::Keyring(name) => store.get(name),
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => Err(Error::Secret {
                    reference: self.to_string(),
                    reason: format!("environment variable {var} is not set"),
                }),
            },
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keyring(n) => write!(f, "keyring:{n}"),
            SecretRef::Env(v) => write!(f, "env:{v}"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

/// A store kept in memory: for tests and for front-ends that hold secrets only for a session.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, SecretString>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<SecretString> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Secret {
                reference: format!("keyring:{name}"),
                reason: format!("no such entry; store it with `paaf secret set {name}`"),
            })
    }

    fn set(&self, name: &str, value: &SecretString) -> Result<()> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .insert(name.to_string(), value.clone());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .remove(name);
        Ok(())
    }

    fn backend(&self) -> &str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn refs_parse_and_refuse_plain_secrets() {
        assert_eq!(
            SecretRef::parse("keyring:web-1").unwrap(),
            SecretRef::Keyring("web-1".into())
        );
        assert_eq!(
            SecretRef::parse("env:PW").unwrap(),
            SecretRef::Env("PW".into())
        );
        let err = SecretRef::parse("hunter2").unwrap_err();
        assert!(err.contains("keyring:NAME"), "{err}");
        assert!(
            !err.contains("hunter2"),
            "the error must not echo the secret"
        );
        assert!(SecretRef::parse("keyring:").is_err());
    }

    #[test]
    fn memory_store_round_trip_and_redacted_debug() {
        let store = MemoryStore::default();
        store
            .set("pw", &SecretString::from("s3cr3t-value"))
            .unwrap();
        let got = store.get("pw").unwrap();
        assert_eq!(got.expose_secret(), "s3cr3t-value");
        assert!(!format!("{got:?}").contains("s3cr3t-value"));
        store.delete("pw").unwrap();
        assert_eq!(
            store.get("pw").unwrap_err().code(),
            crate::ErrorCode::Secret
        );
    }
}
