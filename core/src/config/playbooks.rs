//! `[[playbooks]]`: what to do when an alert fires. A playbook is matched by the alert's labels
//! and holds the protect steps (flag off, verified reboot, cloud server power, a runbook, a
//! silence), the dashboards and queries to look at, and who to tell. Every target a step names
//! is checked against the rest of the config when it loads, so a playbook never meets an
//! unknown host, flag service or cloud account in the middle of an incident.
//!
//! A step names a configured target and an action kind, never a command: the same steps can
//! later travel as signed action intents to a phone, which re-checks them against its config.

use super::*;
use crate::incident::Severity;
use crate::monitor::alertmanager::Matcher;
use crate::monitor::dashboard::parse_interval;

/// One playbook, validated against the rest of the config.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookConfig {
    pub name: String,
    /// The alert labels it answers (all must match; `=~` values are anchored regexes); empty:
    /// only chosen by name.
    pub matchers: Vec<Matcher>,
    /// The severity of an incident opened with it, unless the person opening says otherwise.
    pub severity: Option<Severity>,
    pub protect: Vec<ProtectStep>,
    pub dashboards: Vec<PlaybookDashboard>,
    pub queries: Vec<PlaybookQuery>,
    /// `[[notify]]` names told about the incident.
    pub notify: Vec<String>,
}

/// One protect step: what to do, and how it runs among the others.
#[derive(Debug, Clone, Serialize)]
pub struct ProtectStep {
    pub action: StepAction,
    /// What happens to the steps after this one when it fails.
    pub on_failure: OnFailure,
    /// Runs at the same time as the neighbouring steps that are `parallel` too.
    pub parallel: bool,
}

/// Stop at a failed step (the default), or go on with the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    Stop,
    Continue,
}

/// What a step does, on which configured target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepAction {
    /// A flag turned on or off in one environment.
    Flag {
        /// The `[[flags]]` service.
        backend: String,
        /// Empty: the service's configured project.
        project: String,
        key: String,
        environment: String,
        enabled: bool,
    },
    /// A verified reboot of a `[[hosts]]` host.
    Reboot { host: String },
    /// A power action on a cloud server (a Kubernetes Deployment's rollout restart is a
    /// `rollout-restart` on a kubernetes account).
    Server {
        account: String,
        server: String,
        action: ServerStepAction,
    },
    /// A runbook on a host (a dangerous `__` one needs its name typed at the confirmation).
    Runbook { host: String, runbook: String },
    /// The alerts matching `matchers` silenced for `minutes`, in `source`.
    Silence {
        source: String,
        matchers: Vec<Matcher>,
        minutes: u64,
    },
}

/// A cloud power action a step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerStepAction {
    Reboot,
    HardReboot,
    Stop,
    Start,
    /// A Kubernetes Deployment's rollout restart (a reboot on a kubernetes account).
    RolloutRestart,
}

impl ServerStepAction {
    const ALL: [(&'static str, ServerStepAction); 5] = [
        ("reboot", ServerStepAction::Reboot),
        ("hard-reboot", ServerStepAction::HardReboot),
        ("stop", ServerStepAction::Stop),
        ("start", ServerStepAction::Start),
        ("rollout-restart", ServerStepAction::RolloutRestart),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("reboot")
    }
}

impl StepAction {
    /// One line naming what the step does: `flag new-checkout OFF in production`.
    pub fn describe(&self) -> String {
        match self {
            StepAction::Flag {
                key,
                environment,
                enabled,
                ..
            } => format!(
                "flag {key} {} in {environment}",
                if *enabled { "ON" } else { "OFF" }
            ),
            StepAction::Reboot { host } => format!("reboot {host} (verified)"),
            StepAction::Server {
                account,
                server,
                action,
            } => format!("{} {account}/{server}", action.as_str()),
            StepAction::Runbook { host, runbook } => format!("runbook {runbook} on {host}"),
            StepAction::Silence {
                source,
                matchers,
                minutes,
            } => format!(
                "silence {} for {minutes}m in {source}",
                matchers
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// A Grafana dashboard to look at, and the panels that matter on it.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookDashboard {
    /// The `[[monitoring]]` Grafana it is on.
    pub source: String,
    pub uid: String,
    pub panels: Vec<i64>,
}

/// A PromQL query to look at, with the values that mean trouble.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookQuery {
    /// The `[[monitoring]]` Prometheus it runs on.
    pub source: String,
    pub expr: String,
    /// Trouble above this value.
    pub above: Option<f64>,
    /// Trouble below this value.
    pub below: Option<f64>,
}

impl PlaybookConfig {
    /// Whether the alert with `labels` is one this playbook answers.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matchers.is_empty() && labels_match(&self.matchers, labels)
    }
}

/// Whether `labels` satisfy every matcher, as Alertmanager judges it (a missing label is the
/// empty value; regexes are anchored).
pub fn labels_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| {
        let value = labels.get(&m.name).map(String::as_str).unwrap_or("");
        let hit = if m.is_regex {
            anchored(&m.value).is_ok_and(|r| r.is_match(value))
        } else {
            m.value == value
        };
        hit == m.is_equal
    })
}

/// A label regex as Alertmanager reads it: it must match the whole value.
fn anchored(regex: &str) -> std::result::Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{regex})$"))
}

/// What a hint says when no playbook is configured.
const NO_PLAYBOOK: &str =
    "none is configured: add a [[playbooks]] entry (see the README's Incident loop)";

impl Config {
    /// The playbook named `name`.
    pub fn playbook(&self, name: &str) -> Result<&PlaybookConfig> {
        find_named(
            &self.playbooks,
            name,
            |p| &p.name,
            "playbook",
            "configured: ",
            NO_PLAYBOOK,
        )
    }

    /// The first playbook (in config order) answering an alert with `labels`.
    pub fn playbook_for(&self, labels: &BTreeMap<String, String>) -> Option<&PlaybookConfig> {
        self.playbooks.iter().find(|p| p.matches(labels))
    }

    /// "configured: a, b" or how to add one.
    pub fn playbook_listing(&self) -> String {
        listing(
            self.playbooks.iter().map(|p| p.name.as_str()),
            "configured: ",
            NO_PLAYBOOK,
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    pub(super) name: Spanned<String>,
    #[serde(rename = "match")]
    matchers: Option<Spanned<BTreeMap<String, String>>>,
    severity: Option<Spanned<String>>,
    on_failure: Option<Spanned<String>>,
    parallel: Option<bool>,
    #[serde(default)]
    protect: Vec<Spanned<RawStep>>,
    #[serde(default)]
    dashboards: Vec<Spanned<RawDashboard>>,
    #[serde(default)]
    queries: Vec<Spanned<RawQuery>>,
    #[serde(default)]
    notify: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    // flag
    flag: Option<String>,
    env: Option<String>,
    backend: Option<String>,
    project: Option<String>,
    state: Option<String>,
    // host reboot
    reboot: Option<String>,
    // cloud server
    server: Option<String>,
    account: Option<String>,
    action: Option<String>,
    // runbook
    runbook: Option<String>,
    host: Option<String>,
    // silence
    silence: Option<String>,
    matchers: Option<Vec<String>>,
    source: Option<String>,
    on_failure: Option<String>,
    parallel: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    uid: String,
    #[serde(default)]
    panels: Vec<i64>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    expr: String,
    above: Option<f64>,
    below: Option<f64>,
    source: Option<String>,
}

/// Reads one playbook; `config` holds every other section, already validated.
pub(super) fn validate_playbook(
    src: &Source,
    config: &Config,
    raw: RawPlaybook,
) -> Result<PlaybookConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("playbook name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `checkout-errors`",
        ));
    }
    let mut matchers = Vec::new();
    if let Some(m) = &raw.matchers {
        for (label, value) in m.get_ref() {
            let matcher = match value.strip_prefix("=~") {
                Some(regex) => {
                    anchored(regex).map_err(|e| {
                        src.err(
                            Some(&m.span()),
                            format!("playbook `{name}`: the regex of `{label}` is not valid: {e}"),
                            "write a regex after =~, e.g. instance = \"=~web-[0-9]+\"",
                        )
                    })?;
                    Matcher::regex(label, regex)
                }
                None => Matcher::equal(label, value),
            };
            matchers.push(matcher);
        }
    }
    let severity = match &raw.severity {
        None => None,
        Some(s) => Some(s.get_ref().parse::<Severity>().map_err(|m| {
            src.err(
                Some(&s.span()),
                format!("playbook `{name}`: {m}"),
                "use severity = \"sev1\", \"sev2\", \"sev3\" or \"sev4\"",
            )
        })?),
    };
    let on_failure =
        |s: &Option<String>, span: &Range<usize>, default: OnFailure| match s.as_deref() {
            None => Ok(default),
            Some("stop") => Ok(OnFailure::Stop),
            Some("continue") => Ok(OnFailure::Continue),
            Some(other) => Err(src.err(
                Some(span),
                format!("playbook `{name}`: on_failure `{other}` is not known"),
                "use on_failure = \"stop\" (the default) or \"continue\"",
            )),
        };
    let playbook_on_failure = match &raw.on_failure {
        Some(s) => on_failure(&Some(s.get_ref().clone()), &s.span(), OnFailure::Stop)?,
        None => OnFailure::Stop,
    };
    let steps = Steps {
        src,
        config,
        playbook: &name,
    };
    let mut protect = Vec::new();
    for step in &raw.protect {
        let span = step.span();
        let raw_step = step.get_ref();
        protect.push(ProtectStep {
            action: steps.action(raw_step, &span, &matchers)?,
            on_failure: on_failure(&raw_step.on_failure, &span, playbook_on_failure)?,
            parallel: raw_step.parallel.or(raw.parallel).unwrap_or(false),
        });
    }
    let mut dashboards = Vec::new();
    for d in &raw.dashboards {
        let source = steps.source(
            d.get_ref().source.as_deref(),
            MonitoringKind::Grafana,
            &d.span(),
        )?;
        let uid = d.get_ref().uid.trim().to_string();
        if uid.is_empty() {
            return Err(src.err(
                Some(&d.span()),
                format!("playbook `{name}`: a dashboard has no uid"),
                "give the dashboard's UID (the part after /d/ in its URL), e.g. uid = \"checkout\"",
            ));
        }
        dashboards.push(PlaybookDashboard {
            source,
            uid,
            panels: d.get_ref().panels.clone(),
        });
    }
    let mut queries = Vec::new();
    for q in &raw.queries {
        let source = steps.source(
            q.get_ref().source.as_deref(),
            MonitoringKind::Prometheus,
            &q.span(),
        )?;
        if q.get_ref().expr.trim().is_empty() {
            return Err(src.err(
                Some(&q.span()),
                format!("playbook `{name}`: a query has no expr"),
                "give its PromQL, e.g. expr = 'sum(rate(http_requests_total{code=~\"5..\"}[5m]))'",
            ));
        }
        queries.push(PlaybookQuery {
            source,
            expr: q.get_ref().expr.clone(),
            above: q.get_ref().above,
            below: q.get_ref().below,
        });
    }
    let mut notify = Vec::new();
    if let Some(n) = &raw.notify {
        for target in n.get_ref() {
            if config.notify_target(target).is_err() {
                return Err(src.err(
                    Some(&n.span()),
                    format!("playbook `{name}`: no notify target named `{target}`"),
                    format!(
                        "name a [[notify]] entry ({}), or add one named `{target}`",
                        names(config.notify.iter().map(|n| n.name.as_str()))
                    ),
                ));
            }
            notify.push(target.clone());
        }
    }
    Ok(PlaybookConfig {
        name,
        matchers,
        severity,
        protect,
        dashboards,
        queries,
        notify,
    })
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    listing(names, "configured: ", "none is configured")
}

/// Reads the steps of one playbook against the config.
struct Steps<'a> {
    src: &'a Source<'a>,
    config: &'a Config,
    playbook: &'a str,
}

impl Steps<'_> {
    fn err(&self, span: &Range<usize>, message: String, fix: impl Into<String>) -> Error {
        self.src.err(
            Some(span),
            format!("playbook `{}`: {message}", self.playbook),
            fix,
        )
    }

    fn action(
        &self,
        raw: &RawStep,
        span: &Range<usize>,
        playbook_matchers: &[Matcher],
    ) -> Result<StepAction> {
        let kinds: Vec<&str> = [
            ("flag", raw.flag.is_some()),
            ("reboot", raw.reboot.is_some()),
            ("server", raw.server.is_some()),
            ("runbook", raw.runbook.is_some()),
            ("silence", raw.silence.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| k)
        .collect();
        match kinds.as_slice() {
            ["flag"] => self.flag(raw, span),
            ["reboot"] => {
                let host = raw.reboot.clone().unwrap_or_default();
                self.host(&host, span)?;
                Ok(StepAction::Reboot { host })
            }
            ["server"] => self.server(raw, span),
            ["runbook"] => {
                let host = raw.host.clone().ok_or_else(|| {
                    self.err(
                        span,
                        "a runbook step needs its host".into(),
                        "add host = \"web-1\" (a [[hosts]] name)",
                    )
                })?;
                self.host(&host, span)?;
                let runbook = raw.runbook.clone().unwrap_or_default();
                crate::runbooks::check_name(&runbook).map_err(|e| {
                    self.err(
                        span,
                        e.to_string(),
                        "name a runbook file of the host's runbook directory",
                    )
                })?;
                Ok(StepAction::Runbook { host, runbook })
            }
            ["silence"] => self.silence(raw, span, playbook_matchers),
            [] => Err(self.err(
                span,
                "a protect step says nothing to do".into(),
                "give one of flag = \"KEY\", reboot = \"HOST\", server = \"ID\", runbook = \"NAME\" or silence = \"30m\"",
            )),
            many => Err(self.err(
                span,
                format!("a protect step does several things ({})", many.join(", ")),
                "split it: one [[playbooks.protect]] entry per action",
            )),
        }
    }

    fn host(&self, name: &str, span: &Range<usize>) -> Result<()> {
        if self.config.hosts.iter().any(|h| h.name == name) {
            return Ok(());
        }
        Err(self.err(
            span,
            format!("no host named `{name}`"),
            format!(
                "name a [[hosts]] entry ({}), or add the host with `paaf host add {name}`",
                names(self.config.hosts.iter().map(|h| h.name.as_str()))
            ),
        ))
    }

    fn flag(&self, raw: &RawStep, span: &Range<usize>) -> Result<StepAction> {
        let key = raw.flag.clone().unwrap_or_default();
        if key.trim().is_empty() {
            return Err(self.err(
                span,
                "a flag step has an empty flag key".into(),
                "give the flag's key, e.g. flag = \"new-checkout\"",
            ));
        }
        let environment = raw
            .env
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                self.err(
                    span,
                    format!("the flag step of `{key}` needs its environment"),
                    "add env = \"production\"",
                )
            })?;
        let backend = self
            .config
            .flags_backend(raw.backend.as_deref())
            .map_err(|_| {
                let services = names(self.config.flags.iter().map(|f| f.name.as_str()));
                match &raw.backend {
                    Some(b) => self.err(
                        span,
                        format!("no flag service named `{b}` (flag `{key}`)"),
                        format!("name a [[flags]] entry with backend = \"...\" ({services})"),
                    ),
                    None => self.err(
                        span,
                        format!("the flag step of `{key}` does not say which flag service"),
                        format!("add backend = \"...\", a [[flags]] name ({services})"),
                    ),
                }
            })?;
        let enabled = match raw.state.as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(other) => {
                return Err(self.err(
                    span,
                    format!("the flag step of `{key}` has state `{other}`"),
                    "use state = \"off\" (the default: the kill switch) or \"on\"",
                ));
            }
        };
        Ok(StepAction::Flag {
            backend: backend.name.clone(),
            project: raw.project.clone().unwrap_or_default(),
            key,
            environment,
            enabled,
        })
    }

    fn server(&self, raw: &RawStep, span: &Range<usize>) -> Result<StepAction> {
        let server = raw.server.clone().unwrap_or_default();
        let account = raw.account.clone().ok_or_else(|| {
            self.err(
                span,
                format!("the server step of `{server}` needs its account"),
                "add account = \"prod\" (a [[clouds]] name)",
            )
        })?;
        let action = match raw.action.as_deref() {
            None => {
                return Err(self.err(
                    span,
                    format!("the server step of `{server}` needs its action"),
                    "add action = \"reboot\", \"hard-reboot\", \"stop\", \"start\" or \"rollout-restart\"",
                ));
            }
            Some(a) => ServerStepAction::ALL
                .iter()
                .find(|(n, _)| *n == a)
                .map(|(_, a)| *a)
                .ok_or_else(|| {
                    self.err(
                        span,
                        format!("the server step of `{server}` has an unknown action `{a}`"),
                        "use action = \"reboot\", \"hard-reboot\", \"stop\", \"start\" or \"rollout-restart\"",
                    )
                })?,
        };
        self.cloud_account(&account, action, span)?;
        Ok(StepAction::Server {
            account,
            server,
            action,
        })
    }

    #[cfg(feature = "cloud")]
    fn cloud_account(
        &self,
        account: &str,
        action: ServerStepAction,
        span: &Range<usize>,
    ) -> Result<()> {
        let Some(found) = self.config.clouds.iter().find(|c| c.name == account) else {
            return Err(self.err(
                span,
                format!("no cloud account named `{account}`"),
                format!(
                    "name a [[clouds]] entry ({})",
                    names(self.config.clouds.iter().map(|c| c.name.as_str()))
                ),
            ));
        };
        if action == ServerStepAction::RolloutRestart && found.kind() != CloudKind::Kubernetes {
            return Err(self.err(
                span,
                format!(
                    "rollout-restart needs a kubernetes account, and `{account}` is {}",
                    found.kind()
                ),
                "use action = \"reboot\" on this account, or name a kubernetes account",
            ));
        }
        Ok(())
    }

    /// Without cloud providers in this build (the phone library) the account cannot be
    /// checked: the step stays, and fails when run.
    #[cfg(not(feature = "cloud"))]
    fn cloud_account(&self, _: &str, _: ServerStepAction, _: &Range<usize>) -> Result<()> {
        Ok(())
    }

    fn silence(
        &self,
        raw: &RawStep,
        span: &Range<usize>,
        playbook_matchers: &[Matcher],
    ) -> Result<StepAction> {
        let text = raw.silence.clone().unwrap_or_default();
        let minutes = parse_interval(&text)
            .filter(|ms| *ms >= 60_000)
            .map(|ms| (ms / 60_000) as u64)
            .ok_or_else(|| {
                self.err(
                    span,
                    format!("silence `{text}` is not a duration of a minute or more"),
                    "write how long, e.g. silence = \"30m\" or \"2h\"",
                )
            })?;
        let matchers = match &raw.matchers {
            Some(list) => list
                .iter()
                .map(|m| Matcher::parse(m))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| {
                    self.err(
                        span,
                        e.to_string(),
                        "e.g. matchers = [\"alertname=CheckoutErrors\"]",
                    )
                })?,
            None => playbook_matchers.to_vec(),
        };
        if matchers.is_empty() {
            return Err(self.err(
                span,
                "a silence step has nothing to match".into(),
                "give the playbook a match = { alertname = \"...\" }, or the step matchers = [\"alertname=...\"]",
            ));
        }
        let source = match &raw.source {
            Some(s) => match self.config.monitoring_source(Some(s), None) {
                Ok(m) if m.kind != MonitoringKind::Prometheus => m.name.clone(),
                _ => {
                    return Err(self.err(
                        span,
                        format!("`{s}` is not an Alertmanager or a Grafana of the config"),
                        "name a [[monitoring]] entry of type alertmanager or grafana: silences live there",
                    ));
                }
            },
            None => self
                .config
                .monitoring_source(None, Some(MonitoringKind::Alertmanager))
                .or_else(|_| {
                    self.config
                        .monitoring_source(None, Some(MonitoringKind::Grafana))
                })
                .map(|m| m.name.clone())
                .map_err(|_| {
                    self.err(
                        span,
                        "a silence step needs one Alertmanager or Grafana to silence in".into(),
                        "add source = \"NAME\" (a [[monitoring]] alertmanager or grafana), or configure one",
                    )
                })?,
        };
        Ok(StepAction::Silence {
            source,
            matchers,
            minutes,
        })
    }

    /// The monitoring source of `kind` named `name`, or the only one.
    fn source(
        &self,
        name: Option<&str>,
        kind: MonitoringKind,
        span: &Range<usize>,
    ) -> Result<String> {
        self.config
            .monitoring_source(name, Some(kind))
            .map(|m| m.name.clone())
            .map_err(|e| {
                self.err(
                    span,
                    e.to_string(),
                    format!(
                        "add source = \"NAME\", a [[monitoring]] entry of type {}",
                        kind.as_str()
                    ),
                )
            })
    }
}
