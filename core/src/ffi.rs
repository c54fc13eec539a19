//! uniffi support (feature `uniffi`, used by the mobile library in mobile/): converters for the
//! foreign types that appear in the records paaf-core passes across the FFI.

use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

type DateTimeUtc = chrono::DateTime<chrono::Utc>;

// A timestamp in the bindings (Kotlin `Instant`, Swift `Date`, Python `datetime`).
uniffi::custom_type!(DateTimeUtc, std::time::SystemTime, { remote });

uniffi::custom_type!(PathBuf, String, {
    remote,
    lower: |path| path.display().to_string(),
    try_lift: |text| Ok(PathBuf::from(text)),
});

// Secrets only ever come in from the app (a password typed into a form); paaf-core never returns
// one, so lowering one is never needed and gives nothing away.
uniffi::custom_type!(SecretString, String, {
    remote,
    lower: |secret| { let _ = secret.expose_secret(); String::new() },
    try_lift: |text| Ok(SecretString::from(text)),
});

// JSON the core passes through untouched (a dashboard's panel queries, a data source's
// `jsonData`): its text in the bindings.
type JsonValue = serde_json::Value;

uniffi::custom_type!(JsonValue, String, {
    remote,
    lower: |value| value.to_string(),
    try_lift: |text| Ok(serde_json::from_str(&text)?),
});

// Labels (Prometheus, Alertmanager) are kept sorted in the core; the bindings see a map.
type Labels = BTreeMap<String, String>;

uniffi::custom_type!(Labels, HashMap<String, String>, {
    remote,
    lower: |labels| labels.into_iter().collect(),
    try_lift: |map| Ok(map.into_iter().collect()),
});

// Dashboard variable values by name, kept sorted in the core; the bindings see a map.
type VariableValues = BTreeMap<String, Vec<String>>;

uniffi::custom_type!(VariableValues, HashMap<String, Vec<String>>, {
    remote,
    lower: |values| values.into_iter().collect(),
    try_lift: |map| Ok(map.into_iter().collect()),
});
