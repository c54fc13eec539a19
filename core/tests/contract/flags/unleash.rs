//! The Unleash backend (core/src/flags/unleash.rs) in the shared table, against a contract
//! server that answers as Unleash's admin API documents (https://docs.getunleash.io/reference/api/unleash,
//! the OpenAPI subset in shared/reference/openapi/unleash-features.subset.openapi.json; errors
//! are `{id, name, message}`). Its own cases run against a real Unleash: tests/tests/unleash.rs.

use super::{Contract, contract_tests};
use crate::support::{Serve, given};
use paaf_core::flags::unleash::Unleash;
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "*:*.5f2c8e1a0b9d4c7e6a3f2b1c0d9e8f7a";
const FLAG: &str = "/api/admin/projects/default/features/new-checkout";

/// Unleash's admin API as its docs describe it, for the shared table.
pub(crate) struct Ul;

impl Contract for Ul {
    type Backend = Unleash;
    const RESENDS_AFTER_READ: bool = true;

    fn backend(server: &MockServer, limits: Limits) -> Unleash {
        Unleash::connect("ops", &server.uri(), SecretString::from(TOKEN), limits).unwrap()
    }

    /// `GET api/admin/projects/{p}/features/{f}` (`getFeature`).
    async fn mount_read(server: &MockServer, enabled: bool) {
        let served = ResponseTemplate::new(200).set_body_json(json!({
            "name": "new-checkout", "project": "default", "type": "release",
            "environments": [
                {"name": "development", "enabled": true, "type": "development"},
                {"name": "production", "enabled": enabled, "type": "production"}
            ]
        }));
        server
            .serve(
                given("GET", FLAG).and(header("authorization", TOKEN)),
                served,
            )
            .await;
    }

    /// `POST …/environments/{env}/off` (`toggleFeatureEnvironmentOff`): the table switches
    /// the flag off.
    fn write() -> MockBuilder {
        Mock::given(method("POST")).and(path(format!("{FLAG}/environments/production/off")))
    }

    fn written(_enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200)
    }

    fn error_body(message: &str) -> Value {
        json!({"id": "6f1d5a8e-2c3b-4e5f-8a9b-0c1d2e3f4a5b", "name": "Error", "message": message})
    }
}

contract_tests!(Ul);
