//! Mock-server helpers shared by the cloud and flag contract tests.
