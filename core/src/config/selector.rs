//! Which `[[hosts]]` a command acts on: names or name globs (`'web-*'`), `--tag KEY=VALUE`
//! and `--group NAME`. Names are alternatives (any of them); tags and groups all apply (AND).

use super::*;

/// A choice of hosts, as the command line gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct HostSelector {
    /// Host names or globs (`*`, `?`, `[a-c]`); a host matching any of them is chosen. Empty:
    /// every host (the tags and groups still apply).
    pub names: Vec<String>,
    /// `(key, value)`: a chosen host has every one of these tags.
    pub tags: Vec<(String, String)>,
    /// A chosen host is in every one of these groups.
    pub groups: Vec<String>,
}

impl HostSelector {
    /// Reads a selector from the command line's words: names or globs, `KEY=VALUE` tags and
    /// group names.
    pub fn parse(names: &[String], tags: &[String], groups: &[String]) -> Result<HostSelector> {
        let tags = tags
            .iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => Err(Error::invalid(format!(
                    "tag `{t}` is not KEY=VALUE; e.g. --tag role=web"
                ))),
            })
            .collect::<Result<_>>()?;
        for name in names {
            if name.trim().is_empty() {
                return Err(Error::invalid(
                    "an empty host name; give a name, a glob like 'web-*', --tag or --group",
                ));
            }
            glob::Pattern::new(name).map_err(|e| {
                Error::invalid(format!(
                    "`{name}` is not a host name or glob ({e}); e.g. 'web-*'"
                ))
            })?;
        }
        Ok(HostSelector {
            names: names.to_vec(),
            tags,
            groups: groups.to_vec(),
        })
    }

    /// One host by its exact name (no glob, no tag, no group): a command keeps its one-host
    /// form then.
    pub fn single_name(&self) -> Option<&str> {
        match self.names.as_slice() {
            [name] if self.tags.is_empty() && self.groups.is_empty() && !is_glob(name) => {
                Some(name)
            }
            _ => None,
        }
    }

    /// Nothing given: no names, tags or groups.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.tags.is_empty() && self.groups.is_empty()
    }

    /// True when `host` is chosen.
    pub fn matches(&self, host: &HostConfig) -> bool {
        let named = self.names.is_empty()
            || self.names.iter().any(|n| {
                glob::Pattern::new(n).is_ok_and(|p| p.matches(&host.name)) || *n == host.name
            });
        named
            && self
                .tags
                .iter()
                .all(|(k, v)| host.tags.get(k).is_some_and(|h| h == v))
            && self.groups.iter().all(|g| host.groups.contains(g))
    }

    /// The selector as one would type it: `'web-*' --tag role=web --group checkout`.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self
            .names
            .iter()
            .map(|n| {
                if is_glob(n) {
                    format!("'{n}'")
                } else {
                    n.clone()
                }
            })
            .collect();
        words.extend(self.tags.iter().map(|(k, v)| format!("--tag {k}={v}")));
        words.extend(self.groups.iter().map(|g| format!("--group {g}")));
        if words.is_empty() {
            "every host".into()
        } else {
            words.join(" ")
        }
    }
}

fn is_glob(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// The tags and groups of the configured hosts, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Selectable {
    /// `(key, value)`, sorted.
    pub tags: Vec<(String, String)>,
    /// Sorted.
    pub groups: Vec<String>,
}

impl Config {
    /// The hosts `selector` chooses, in config order. A name that is not a glob must exist
    /// (with a "did you mean"); a selector that chooses nothing is an error listing the hosts,
    /// tags and groups there are.
    pub fn select(&self, selector: &HostSelector) -> Result<Vec<&HostConfig>> {
        for name in selector.names.iter().filter(|n| !is_glob(n)) {
            self.host(name)?;
        }
        let chosen: Vec<&HostConfig> = self.hosts.iter().filter(|h| selector.matches(h)).collect();
        if chosen.is_empty() {
            return Err(Error::NotFound {
                what: "hosts matching",
                name: selector.describe(),
                hint: Some(self.what_can_be_selected()),
            });
        }
        Ok(chosen)
    }

    /// Every tag and group some host has, sorted, each once: what a selector can choose by.
    pub fn selectable(&self) -> Selectable {
        let mut tags: Vec<(String, String)> = self
            .hosts
            .iter()
            .flat_map(|h| h.tags.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        tags.sort();
        tags.dedup();
        let mut groups: Vec<String> = self.hosts.iter().flat_map(|h| h.groups.clone()).collect();
        groups.sort();
        groups.dedup();
        Selectable { tags, groups }
    }

    /// The hosts, tags and groups there are, for an error on a selector that chose nothing.
    fn what_can_be_selected(&self) -> String {
        if self.hosts.is_empty() {
            return "no hosts are configured yet; add one with `paaf host add`".into();
        }
        const SHOWN: usize = 20;
        let mut names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        let mut text = format!("hosts: {}", names.join(", "));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        let Selectable { tags, groups } = self.selectable();
        let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        text.push_str(&match tags.is_empty() {
            true => "; no host has tags (`tags = { role = \"web\" }` in [[hosts]])".into(),
            false => format!("; tags: {}", tags.join(", ")),
        });
        text.push_str(&match groups.is_empty() {
            true => "; no host is in a group (`groups = [\"checkout\"]` in [[hosts]])".into(),
            false => format!("; groups: {}", groups.join(", ")),
        });
        text
    }
}

/// `1 host`, `3 hosts`.
pub fn host_count(n: usize) -> String {
    match n {
        1 => "1 host".to_string(),
        n => format!("{n} hosts"),
    }
}

/// "50 hosts: web-1, web-2, web-3, web-4, web-5 and 45 more": a count and a sample of names,
/// for a confirmation.
pub fn host_sample(names: &[&str]) -> String {
    const SAMPLE: usize = 5;
    let count = host_count(names.len());
    let shown = names[..names.len().min(SAMPLE)].join(", ");
    match names.len().saturating_sub(SAMPLE) {
        0 => format!("{count}: {shown}"),
        more => format!("{count}: {shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Config {
        let mut text = String::new();
        for (name, tags, groups) in [
            (
                "web-1",
                "{ role = \"web\", env = \"prod\" }",
                "[\"checkout\"]",
            ),
            ("web-2", "{ role = \"web\", env = \"staging\" }", "[]"),
            (
                "db-1",
                "{ role = \"db\", env = \"prod\" }",
                "[\"checkout\", \"eu\"]",
            ),
        ] {
            text.push_str(&format!(
                "[[hosts]]\nname = \"{name}\"\naddress = \"10.0.0.5\"\nuser = \"deploy\"\nauth = {{ type = \"agent\" }}\ntags = {tags}\ngroups = {groups}\n"
            ));
        }
        Config::parse(Path::new("/etc/paaf/config.toml"), &text).unwrap()
    }

    fn chosen(config: &Config, names: &[&str], tags: &[&str], groups: &[&str]) -> Vec<String> {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let selector = HostSelector::parse(&own(names), &own(tags), &own(groups)).unwrap();
        match config.select(&selector) {
            Ok(hosts) => hosts.iter().map(|h| h.name.clone()).collect(),
            Err(e) => vec![format!("error: {e}")],
        }
    }

    #[test]
    fn names_are_alternatives_tags_and_groups_all_apply() {
        let c = fleet();
        assert_eq!(chosen(&c, &["web-*"], &[], &[]), ["web-1", "web-2"]);
        assert_eq!(chosen(&c, &["web-2", "db-1"], &[], &[]), ["web-2", "db-1"]);
        assert_eq!(chosen(&c, &[], &["env=prod"], &[]), ["web-1", "db-1"]);
        assert_eq!(chosen(&c, &[], &["env=prod", "role=web"], &[]), ["web-1"]);
        assert_eq!(chosen(&c, &[], &[], &["checkout"]), ["web-1", "db-1"]);
        assert_eq!(chosen(&c, &[], &[], &["checkout", "eu"]), ["db-1"]);
        assert_eq!(chosen(&c, &["*-1"], &["role=web"], &[]), ["web-1"]);
        assert_eq!(chosen(&c, &[], &[], &[]), ["web-1", "web-2", "db-1"]);
    }

    #[test]
    fn a_selector_choosing_nothing_lists_what_there_is() {
        let c = fleet();
        let [e] = chosen(&c, &["api-*"], &[], &[]).try_into().unwrap();
        assert!(e.contains("'api-*'"), "{e}");
        assert!(e.contains("hosts: web-1, web-2, db-1"), "{e}");
        assert!(e.contains("env=prod") && e.contains("role=db"), "{e}");
        assert!(e.contains("groups: checkout, eu"), "{e}");
        let [e] = chosen(&c, &[], &["role=cache"], &[]).try_into().unwrap();
        assert!(e.contains("--tag role=cache"), "{e}");
        let [e] = chosen(&c, &["web-3"], &[], &[]).try_into().unwrap();
        assert!(e.contains("web-3"), "a missing exact name is named: {e}");
    }

    #[test]
    fn bad_words_are_refused_with_an_example() {
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for tag in ["role", "=web", "role="] {
            let e = HostSelector::parse(&[], &words(&[tag]), &[]).unwrap_err();
            assert!(e.to_string().contains("--tag role=web"), "{tag}: {e}");
        }
        assert!(HostSelector::parse(&words(&["web-[1"]), &[], &[]).is_err());
        assert!(HostSelector::parse(&words(&[" "]), &[], &[]).is_err());
    }

    #[test]
    fn one_exact_name_keeps_the_one_host_form() {
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let one = HostSelector::parse(&words(&["web-1"]), &[], &[]).unwrap();
        assert_eq!(one.single_name(), Some("web-1"));
        for (names, tags) in [(vec!["web-*"], vec![]), (vec!["web-1"], vec!["env=prod"])] {
            let s = HostSelector::parse(&words(&names), &words(&tags), &[]).unwrap();
            assert_eq!(s.single_name(), None);
        }
    }

    #[test]
    fn the_sample_names_a_few_and_counts_the_rest() {
        assert_eq!(host_sample(&["a"]), "1 host: a");
        assert_eq!(host_sample(&["a", "b"]), "2 hosts: a, b");
        let many: Vec<String> = (1..=50).map(|i| format!("web-{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            host_sample(&many),
            "50 hosts: web-1, web-2, web-3, web-4, web-5 and 45 more"
        );
    }
}
