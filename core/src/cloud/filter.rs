//! Which servers a command is about: the search and filters of `paaf server list`, of the desktop's
//! Servers view and of a rolling reboot's selection, decided once here.

use super::{Server, ServerStatus};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Every condition given must hold; an empty filter keeps every server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFilter {
    /// Part of the name, id, account, region, raw state, an IP, or a tag key or value;
    /// case-insensitive.
    pub query: Option<String>,
    /// `aws`, `hetzner`, ...
    pub provider: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub status: Option<ServerStatus>,
    /// `(key, value)` pairs the server's tags must all have; a value of `*` only needs the key.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl ServerFilter {
    pub fn is_empty(&self) -> bool {
        *self == ServerFilter::default()
    }

    pub fn matches(&self, s: &Server) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        eq(&self.provider, &s.provider)
            && eq(&self.account, &s.account)
            && eq(&self.region, &s.region)
            && self.status.is_none_or(|st| st == s.status)
            && self
                .tags
                .iter()
                .all(|(k, v)| s.tags.get(k).is_some_and(|have| v == "*" || have == v))
            && self
                .query
                .as_deref()
                .is_none_or(|q| query_matches(s, &q.to_lowercase()))
    }

    /// `KEY=VALUE` (or `KEY` alone: any value), as `--tag` takes it.
    pub fn parse_tag(text: &str) -> Result<(String, String)> {
        let (k, v) = text.split_once('=').unwrap_or((text, "*"));
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(Error::invalid(format!(
                "tag filter `{text}` has no key: write it as KEY=VALUE (e.g. role=web) or KEY"
            )));
        }
        Ok((k.to_string(), v.to_string()))
    }
}

fn query_matches(s: &Server, q: &str) -> bool {
    let fields = [
        Some(s.id.as_str()),
        s.name.as_deref(),
        Some(s.account.as_str()),
        Some(s.region.as_str()),
        Some(s.raw_state.as_str()),
    ];
    fields
        .into_iter()
        .flatten()
        .any(|f| f.to_lowercase().contains(q))
        || s.public_ips
            .iter()
            .chain(&s.private_ips)
            .any(|ip| ip.contains(q))
        || s.tags
            .iter()
            .any(|(k, v)| k.to_lowercase().contains(q) || v.to_lowercase().contains(q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::test_server;
    use std::collections::BTreeMap;

    fn server(name: &str, region: &str, status: ServerStatus, tags: &[(&str, &str)]) -> Server {
        Server {
            provider: "hetzner".into(),
            region: region.into(),
            id: format!("id-{name}"),
            name: Some(name.into()),
            public_ips: vec!["203.0.113.7".into()],
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            ..test_server(status)
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let web = server("web-1", "fsn1", ServerStatus::Running, &[("role", "web")]);
        let db = server("db-1", "nbg1", ServerStatus::Stopped, &[("role", "db")]);
        let by_tag = ServerFilter {
            tags: vec![("role".into(), "web".into())],
            ..Default::default()
        };
        assert!(by_tag.matches(&web) && !by_tag.matches(&db));
        let any_role = ServerFilter {
            tags: vec![ServerFilter::parse_tag("role").unwrap()],
            ..Default::default()
        };
        assert!(any_role.matches(&web) && any_role.matches(&db));
        let stopped_in_nbg = ServerFilter {
            region: Some("NBG1".into()),
            status: Some(ServerStatus::Stopped),
            ..Default::default()
        };
        assert!(!stopped_in_nbg.matches(&web) && stopped_in_nbg.matches(&db));
        let wrong_provider = ServerFilter {
            provider: Some("aws".into()),
            ..Default::default()
        };
        assert!(!wrong_provider.matches(&web));
        assert!(ServerFilter::default().matches(&web));
    }

    #[test]
    fn the_query_searches_names_ips_and_tags_ignoring_case() {
        let web = server(
            "Web-1",
            "fsn1",
            ServerStatus::Running,
            &[("team", "Payments")],
        );
        for q in [
            "web",
            "203.0.113",
            "payments",
            "TEAM",
            "fsn",
            "running",
            "id-web",
        ] {
            let f = ServerFilter {
                query: Some(q.into()),
                ..Default::default()
            };
            assert!(f.matches(&web), "{q}");
        }
        let f = ServerFilter {
            query: Some("db".into()),
            ..Default::default()
        };
        assert!(!f.matches(&web));
    }

    #[test]
    fn a_tag_filter_needs_a_key() {
        assert_eq!(
            ServerFilter::parse_tag("role=web").unwrap(),
            ("role".into(), "web".into())
        );
        let e = ServerFilter::parse_tag("=web").unwrap_err();
        assert!(e.to_string().contains("KEY=VALUE"), "{e}");
    }
}
