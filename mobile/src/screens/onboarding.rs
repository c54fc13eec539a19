//! Onboarding and settings: opens the app's config, or says clearly why it cannot (empty,
//! invalid: never a crash), and imports a config pasted as TOML (validated before it replaces
//! the file: a bad paste changes nothing).

use super::{Store, shown};
use crate::{Paaf, SecretStore};
use paaf_core::ErrorInfo;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the app's config stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Enum)]
pub enum ConfigStage {
    /// Being read.
    #[default]
    Opening,
    /// Read, and it configures nothing yet: offer to import a config or add a host.
    Empty,
    /// paaf refuses it (`error` says where and why): offer to import a config.
    Invalid,
    /// Open: `paaf()` gives the opened paaf.
    Ready,
}

/// What the Onboarding screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct OnboardingState {
    pub stage: ConfigStage,
    /// The config file in the app's sandbox.
    pub config_path: String,
    /// What the open config holds.
    pub hosts: u32,
    pub clouds: u32,
    pub monitoring: u32,
    pub flags: u32,
    /// Why the config is invalid, or why the last import was refused (the file then is as
    /// it was).
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    OnboardingScreen,
    OnboardingState,
    OnboardingListener,
    "Implemented by the app: receives each new state of the Onboarding screen on a paaf thread."
);

/// The Onboarding screen's model: what the app creates first, before paaf is open.
#[derive(uniffi::Object)]
pub struct OnboardingScreen {
    path: PathBuf,
    secrets: Arc<dyn SecretStore>,
    device: String,
    opened: Mutex<Option<Arc<Paaf>>>,
    store: Arc<Store<OnboardingState>>,
}

impl OnboardingScreen {
    /// Records an opened paaf (or why it could not open) in the state.
    fn settle(&self, opened: paaf_core::Result<paaf_core::Paaf>, import: bool) {
        let mut slot = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        match opened {
            Ok(core) => {
                let paaf = Paaf::from_core(core, &self.device);
                let config = paaf.core.config();
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                #[cfg(feature = "cloud")]
                let clouds = config.clouds.len();
                #[cfg(not(feature = "cloud"))]
                let clouds = 0;
                self.store.update(|s| {
                    s.hosts = count(config.hosts.len());
                    s.clouds = count(clouds);
                    s.monitoring = count(config.monitoring.len());
                    s.flags = count(config.flags.len());
                    let empty = s.hosts + s.clouds + s.monitoring + s.flags == 0;
                    s.stage = if empty {
                        ConfigStage::Empty
                    } else {
                        ConfigStage::Ready
                    };
                    s.error = None;
                });
                *slot = Some(paaf);
            }
            Err(e) => self.store.update(|s| {
                // A refused import leaves the config (and an open paaf) as they were.
                if !import || s.stage == ConfigStage::Opening {
                    s.stage = ConfigStage::Invalid;
                }
                s.error = Some(shown(&e));
            }),
        }
    }
}

#[uniffi::export]
impl OnboardingScreen {
    /// Opens the config at `config_path` (created empty when missing) with the app's
    /// keystore; never fails: a config paaf refuses is the `Invalid` stage with its error.
    #[uniffi::constructor]
    pub fn new(config_path: String, secrets: Arc<dyn SecretStore>, device: String) -> Arc<Self> {
        let screen = Arc::new(OnboardingScreen {
            store: Store::new(OnboardingState {
                config_path: config_path.clone(),
                ..OnboardingState::default()
            }),
            path: PathBuf::from(config_path),
            secrets,
            device,
            opened: Mutex::new(None),
        });
        screen.reload();
        screen
    }

    /// Reads the config file again (after it was edited elsewhere).
    pub fn reload(&self) {
        let store = crate::secrets::from_app(self.secrets.clone());
        self.settle(paaf_core::Paaf::open(&self.path, store, "mobile"), false);
    }

    /// Imports a config pasted (or read from a file or a QR code) as TOML: validated, then
    /// written over the config file; refused with the error shown when paaf rejects it.
    pub fn import_toml(&self, toml: String) {
        let store = crate::secrets::from_app(self.secrets.clone());
        self.settle(
            paaf_core::Paaf::open_text(&self.path, &toml, store, "mobile"),
            true,
        );
    }

    /// The opened paaf (for the other screens), once the config is open (`Empty` or `Ready`).
    pub fn paaf(&self) -> Option<Arc<Paaf>> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
