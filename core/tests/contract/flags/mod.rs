//! Flag services: the shared scenario table and each service's own cases.
