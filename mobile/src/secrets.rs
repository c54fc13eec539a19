//! The secret store the app implements over its platform keystore (Android Keystore, iOS
//! Keychain), and its adapter to the core's [`paaf_core::secrets::SecretStore`].

use crate::PaafError;
use paaf_core::Error;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// Implemented by the app: paaf asks it for the secrets its config references
/// (`keyring:NAME`) and hands it the ones a user types (a host's password). Values never go to
/// a file. Throw a `PaafError` (e.g. `Access` with code `secret`) when the keystore refuses.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, or null when there is none.
    fn get(&self, name: String) -> Result<Option<String>, PaafError>;
    fn set(&self, name: String, value: String) -> Result<(), PaafError>;
    fn delete(&self, name: String) -> Result<(), PaafError>;
}

/// The app's store as the core sees it.
pub(crate) fn from_app(store: Arc<dyn SecretStore>) -> Arc<dyn paaf_core::secrets::SecretStore> {
    Arc::new(AppStore(store))
}

struct AppStore(Arc<dyn SecretStore>);

/// The app's store failed: a refusal it reported is a secret error; a store that threw
/// something its signature does not allow (a bug in the app) is an internal one.
fn refused(name: &str, e: PaafError) -> Error {
    match e {
        PaafError::Internal { reason, .. } => Error::Other {
            reason: format!("the app's keystore failed on `keyring:{name}`: {reason}"),
        },
        other => Error::Secret {
            reference: format!("keyring:{name}"),
            reason: format!("the app's keystore refused: {}", other.reason()),
        },
    }
}

impl paaf_core::secrets::SecretStore for AppStore {
    fn get(&self, name: &str) -> paaf_core::Result<SecretString> {
        match self.0.get(name.to_string()) {
            Ok(Some(value)) => Ok(SecretString::from(value)),
            Ok(None) => Err(Error::Secret {
                reference: format!("keyring:{name}"),
                reason: "the app's keystore has no such entry; store it first (set_secret)".into(),
            }),
            Err(e) => Err(refused(name, e)),
        }
    }

    fn set(&self, name: &str, value: &SecretString) -> paaf_core::Result<()> {
        self.0
            .set(name.to_string(), value.expose_secret().to_string())
            .map_err(|e| refused(name, e))
    }

    fn delete(&self, name: &str) -> paaf_core::Result<()> {
        self.0
            .delete(name.to_string())
            .map_err(|e| refused(name, e))
    }

    fn backend(&self) -> &str {
        "app-keystore"
    }
}
