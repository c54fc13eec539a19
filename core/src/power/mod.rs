//! Power actions: reboot (verified), and later stop/start across clouds, one provider per file.

pub mod ssh;

pub use ssh::RebootReport;
