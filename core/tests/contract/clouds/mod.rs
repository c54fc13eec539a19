//! Cloud providers: the shared scenario table and each provider's own cases.
