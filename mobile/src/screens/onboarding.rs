//! Onboarding and settings: opens the app's config, or says clearly why it cannot (empty,
//! invalid: never a crash), imports a config pasted as TOML or scanned as a QR code
//! (validated before it replaces the file: a bad paste changes nothing), and adds a host once the user compared its SSH key
//! (the core saves it only after the key is recorded and the login worked). The same QR scan
//! takes a relay's pairing code (`paaf-relay pair-code`, `paaf://pair/...`): the phone pairs
//! with that relay and pins the key the code carries (refused if the relay answers with
//! another).

use super::{Store, shown};
use crate::{Paaf, RUNTIME, SecretStore};
use paaf_core::config::{Config, HostInput};
use paaf_core::intent::pairing::PairingCode;
use paaf_core::intent::relay_client::DeviceScope;
use paaf_core::inventory::HostSummary;
use paaf_core::journal::RelayPairing;
use paaf_core::ssh::OfferedKey;
use paaf_core::{ErrorCode, ErrorInfo, HostAdded, HostCheck};
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
    /// A host is being added (its key read, its login checked).
    pub busy: bool,
    /// A new host's key waiting for the user to compare it (the dialog), none otherwise.
    pub host_key: Option<HostKeyAsk>,
    /// The host added here last.
    pub added_host: Option<HostSummary>,
    /// The relay this phone is paired with (a pairing code scanned), if any.
    pub relay: Option<RelayPairing>,
    /// Why the config is invalid, or why the last import or host was refused (the file then
    /// is as it was).
    pub error: Option<ErrorInfo>,
}

/// A new host's SSH key, shown for the user to compare with the one the host's owner reads
/// (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before trusting it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HostKeyAsk {
    /// The host as it will be saved.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// The key it offers now (`SHA256:` fingerprint and type).
    pub key: OfferedKey,
    /// "Trust the ssh-ed25519 key SHA256:… of web-1 (127.0.0.1:22)? …"
    pub question: String,
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
    /// The host whose key is being asked about, secrets included (never in the state).
    adding: Arc<Mutex<Option<HostInput>>>,
    store: Arc<Store<OnboardingState>>,
}

/// Counts what `config` configures into `s`, and the stage that follows from it.
fn counted(s: &mut OnboardingState, config: &Config) {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    #[cfg(feature = "cloud")]
    let clouds = config.clouds.len();
    #[cfg(not(feature = "cloud"))]
    let clouds = 0;
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
}

/// The question of trusting `key` for the host `input` describes.
fn host_key_ask(input: &HostInput, key: OfferedKey) -> HostKeyAsk {
    let question = format!(
        "Trust the {} key {} of {} ({}:{})? Compare it with the fingerprint the host's owner reads on the host; trust it only if they are the same.",
        key.key_type, key.fingerprint, input.name, input.address, input.port
    );
    HostKeyAsk {
        name: input.name.clone(),
        address: input.address.clone(),
        port: input.port,
        user: input.user.clone(),
        key,
        question,
    }
}

impl OnboardingScreen {
    /// Records an opened paaf (or why it could not open) in the state.
    fn settle(&self, opened: paaf_core::Result<paaf_core::Paaf>, import: bool) {
        let mut slot = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        match opened {
            Ok(core) => {
                let paaf = Paaf::from_core(core, &self.device);
                let config = paaf.core.config();
                let relay = paaf.core.relay_pairing().ok().flatten();
                self.store.update(|s| {
                    counted(s, &config);
                    s.relay = relay;
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
            adding: Arc::default(),
        });
        screen.reload();
        screen
    }

    /// Reads the config file again (after it was edited elsewhere).
    pub fn reload(&self) {
        let store = crate::secrets::from_app(self.secrets.clone());
        self.settle(paaf_core::Paaf::open(&self.path, store, "mobile"), false);
    }

    /// Imports a config pasted (or read from a file) as TOML: validated, then
    /// written over the config file; refused with the error shown when paaf rejects it.
    pub fn import_toml(&self, toml: String) {
        let store = crate::secrets::from_app(self.secrets.clone());
        self.settle(
            paaf_core::Paaf::open_text(&self.path, &toml, store, "mobile"),
            true,
        );
    }

    /// Imports a config from a QR code's payload (`paaf config qr`; the format is
    /// paaf-core's `config::qr`): decoded by the core, then validated and written as a pasted
    /// config; a payload that is not one, damaged or too large is refused with its error and
    /// changes nothing. A relay's pairing code (`paaf://pair/...`) pairs the phone with that
    /// relay instead (`relay` once done; `error` when refused, nothing pinned).
    pub fn import_qr(&self, payload: String) {
        if PairingCode::is_code(&payload) {
            return self.pair_relay(payload);
        }
        match paaf_core::config::qr::decode(&payload) {
            Ok(toml) => self.import_toml(toml),
            Err(e) => self.settle(Err(e.into()), true),
        }
    }

    /// Adds a host: reads the key it offers and, when known_hosts does not have it yet, asks
    /// the user to compare it (`host_key`); a known key is logged in with at once. Saved to
    /// the config (its secret values to the app's store) only once the login worked; a host
    /// whose key changed is refused (`HostKeyChanged`), nothing saved.
    pub fn add_host(&self, input: HostInput) {
        self.add(input, None);
    }

    /// The user compared the fingerprint shown and it is the host's: records that key (only
    /// if the host still offers it), logs in, then writes the host to the config.
    pub fn trust_host_key(&self) {
        let (asked, input) = (self.store.get().host_key, self.adding_now().take());
        let (Some(asked), Some(input)) = (asked, input) else {
            return;
        };
        self.add(input, Some(asked.key.fingerprint));
    }

    /// The user did not recognise the key: nothing is trusted, nothing saved.
    pub fn dismiss_host_key(&self) {
        self.adding_now().take();
        self.store.update(|s| s.host_key = None);
    }

    /// The opened paaf (for the other screens), once the config is open (`Empty` or `Ready`).
    pub fn paaf(&self) -> Option<Arc<Paaf>> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl OnboardingScreen {
    /// Pairs the opened paaf with the relay of pairing code `code`, its key pinned.
    fn pair_relay(&self, code: String) {
        let store = self.store.clone();
        let Some(paaf) = self.paaf() else {
            store.update(|s| {
                s.error = Some(ErrorInfo {
                    code: ErrorCode::InvalidInput,
                    message:
                        "open or import a valid config first, then scan the relay's pairing code"
                            .into(),
                    phase: None,
                })
            });
            return;
        };
        let core = paaf.core.clone();
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let paired = core
                .relay_pair_scoped(&code, None, None, &DeviceScope::default())
                .await;
            store.update(|s| {
                s.busy = false;
                match paired {
                    Ok(pairing) => s.relay = Some(pairing),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    fn adding_now(&self) -> std::sync::MutexGuard<'_, Option<HostInput>> {
        self.adding.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `input` with the key fingerprint the user confirmed (`trust`), or reads its key.
    fn add(&self, input: HostInput, trust: Option<String>) {
        let store = self.store.clone();
        let Some(paaf) = self.paaf() else {
            store.update(|s| {
                s.error = Some(ErrorInfo {
                    code: ErrorCode::InvalidInput,
                    message: "open or import a valid config first, then add the host".into(),
                    phase: None,
                })
            });
            return;
        };
        let (core, adding) = (paaf.core.clone(), self.adding.clone());
        store.update(|s| {
            s.busy = true;
            s.host_key = None;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let added = core
                .add_host(input.clone(), HostCheck::Login { trust })
                .await;
            let config = core.config();
            store.update(|s| {
                s.busy = false;
                match added {
                    Ok(HostAdded::KeyToConfirm { key }) => {
                        s.host_key = Some(host_key_ask(&input, key));
                        *adding.lock().unwrap_or_else(|p| p.into_inner()) = Some(input);
                    }
                    Ok(HostAdded::Added { host }) => {
                        counted(s, &config);
                        s.added_host = Some(host);
                    }
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }
}
