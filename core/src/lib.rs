//! paaf-core: every decision of paaf, under one facade ([`Paaf`]) that the CLI, the desktop app
//! and the mobile bindings translate to and from.

#[cfg(feature = "cloud")]
pub mod cloud;
pub mod config;
pub mod error;
pub mod events;
mod facade;
#[cfg(feature = "uniffi")]
mod ffi;
pub mod flags;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod host_metrics;
pub mod http;
pub mod incident;
pub mod intent;
pub mod inventory;
pub mod journal;
pub mod monitor;
pub mod power;
mod private_files;
pub mod runbooks;
pub mod secrets;
pub mod ssh;
pub mod terminal;
pub mod thresholds;

pub use error::{Error, ErrorCode, ErrorInfo, Phase, Result};
pub use events::{CancellationToken, ProgressEvent, ProgressSink, Step};
#[cfg(feature = "cloud")]
pub use facade::ServerProgress;
pub use facade::TeamSync;
pub use facade::{
    About, AlertRef, AnnotationInput, BackendFlags, Confirmation, DEFAULT_PARALLEL, DashboardView,
    DeliveryRound, FanOutJob, FanOutOptions, FanOutProgress, FanOutReport, FanOutSink, FanOutTally,
    FlagChange, FlagTarget, FleetHostState, FleetRebootHost, FleetRebootOptions, FleetRebootReport,
    FleetRebootSink, HostAdded, HostCheck, HostOutcome, HostRun, IncidentInput, IntentConfirmation,
    IntentOutcome, LiveGroups, NoFanOutProgress, OutputGroup, Overview, OverviewLevel, Paaf, Plan,
    ResendWhich, Resent, TimeWindow, fan_out_question, fleet_reboot_question, host_key_declined,
};
#[cfg(feature = "cloud")]
pub use facade::{RollingEvent, RollingFailure, RollingPlan, RollingReport};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("paaf_core");
