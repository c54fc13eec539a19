//! Snapshot tests of the help texts and output modes.
