//! `[[notify]]`: who hears about an incident — a Slack or Microsoft Teams incoming webhook, a
//! generic JSON webhook signed with HMAC-SHA256, or email over SMTP. A webhook's URL is a
//! secret (whoever has it can post), so it is a reference like every other secret.

use super::*;

/// One notify target, validated.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub name: String,
    pub channel: NotifyChannel,
    /// The whole-delivery timeout of one attempt (`timeout_secs`).
    pub timeout: Duration,
}

/// Where a notify target's messages go, by its `type`.
#[derive(Debug, Clone)]
pub enum NotifyChannel {
    /// A Slack incoming webhook (`https://hooks.slack.com/services/…`), sent Block Kit.
    Slack { url: SecretRef },
    /// A Microsoft Teams incoming webhook (a Workflows webhook), sent an Adaptive Card.
    Teams { url: SecretRef },
    /// A generic JSON webhook: paaf's documented payload, signed with `secret` when given.
    Webhook {
        url: SecretRef,
        secret: Option<SecretRef>,
    },
    /// Email through an SMTP server.
    Email(EmailSettings),
}

/// How paaf reaches an SMTP server, and who gets the mail.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub server: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Log in as `user` with `password`; no login when `None`.
    pub login: Option<(String, SecretRef)>,
    pub from: String,
    pub to: Vec<String>,
    /// A PEM file of the certificate authority to trust instead of the system's (a private
    /// relay's own CA).
    pub ca_file: Option<PathBuf>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or a test server.
    None,
}

impl NotifyChannel {
    /// The `type` it was configured with.
    pub fn kind(&self) -> &'static str {
        match self {
            NotifyChannel::Slack { .. } => "slack",
            NotifyChannel::Teams { .. } => "teams",
            NotifyChannel::Webhook { .. } => "webhook",
            NotifyChannel::Email(_) => "email",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    server: Option<Spanned<String>>,
    port: Option<Spanned<i64>>,
    security: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<Vec<String>>>,
    ca_file: Option<Spanned<String>>,
    timeout_secs: Option<Spanned<u64>>,
}

/// An address as SMTP takes it: `name@domain`, optionally `Display Name <name@domain>`.
fn plausible_address(a: &str) -> bool {
    let inner = match (a.rfind('<'), a.ends_with('>')) {
        (Some(i), true) => &a[i + 1..a.len() - 1],
        _ => a,
    };
    let parts: Vec<&str> = inner.split('@').collect();
    parts.len() == 2
        && !parts[0].is_empty()
        && (parts[1].contains('.') || parts[1] == "localhost")
        && !inner.contains(char::is_whitespace)
        && !a.contains(['\r', '\n'])
}

pub(super) fn validate_notify(src: &Source, raw: RawNotify) -> Result<NotifyConfig> {
    let name = raw.name.get_ref().clone();
    if !valid_name(&name) {
        return Err(src.err(
            Some(&raw.name.span()),
            format!("notify target name `{name}` is not allowed"),
            "use letters, digits, `-`, `_` and `.` only, e.g. `ops-slack`",
        ));
    }
    let at_name = Some(raw.name.span());
    let secret = |s: &Spanned<String>, example: &str| {
        SecretRef::parse(s.get_ref()).map_err(|m| {
            src.err(
                Some(&s.span()),
                format!("notify target `{name}`: {m}"),
                format!(
                    "a webhook URL is a secret too: e.g. {example} (store it with `paaf secret set {name}`)"
                ),
            )
        })
    };
    let needs = |what: &str, example: &str| {
        src.err(
            at_name.as_ref(),
            format!("{} target `{name}` needs {what}", raw.kind.get_ref()),
            format!("add {example}"),
        )
    };
    let url = |example: &str| -> Result<SecretRef> {
        match &raw.url {
            Some(u) => secret(u, example),
            None => Err(needs("its webhook URL", example)),
        }
    };
    let channel = match raw.kind.get_ref().as_str() {
        "slack" => NotifyChannel::Slack {
            url: url(&format!("url = \"keyring:{name}\""))?,
        },
        "teams" => NotifyChannel::Teams {
            url: url(&format!("url = \"keyring:{name}\""))?,
        },
        "webhook" => NotifyChannel::Webhook {
            url: url(&format!("url = \"keyring:{name}\""))?,
            secret: raw
                .secret
                .as_ref()
                .map(|s| secret(s, &format!("secret = \"keyring:{name}-hmac\"")))
                .transpose()?,
        },
        "email" => NotifyChannel::Email(validate_email(src, &raw, &name, &needs)?),
        other => {
            return Err(src.err(
                Some(&raw.kind.span()),
                format!("notify target `{name}`: unknown type `{other}`"),
                "use type = \"slack\", \"teams\", \"webhook\" or \"email\"",
            ));
        }
    };
    let timeout = positive(src, raw.timeout_secs.as_ref(), "timeout_secs")?
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_NOTIFY_TIMEOUT);
    Ok(NotifyConfig {
        name,
        channel,
        timeout,
    })
}

/// How long one delivery attempt may take unless `timeout_secs` says otherwise: short, as a
/// delivery runs beside the incident and is retried.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

fn validate_email(
    src: &Source,
    raw: &RawNotify,
    name: &str,
    needs: &dyn Fn(&str, &str) -> Error,
) -> Result<EmailSettings> {
    let server = raw
        .server
        .as_ref()
        .map(|s| s.get_ref().trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .ok_or_else(|| needs("its SMTP server", "server = \"smtp.example.com\""))?;
    let security = match raw.security.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None => SmtpSecurity::StartTls,
        Some((_, "starttls")) => SmtpSecurity::StartTls,
        Some((_, "tls")) => SmtpSecurity::Tls,
        Some((_, "none")) => SmtpSecurity::None,
        Some((s, other)) => {
            return Err(src.err(
                Some(&s.span()),
                format!("email target `{name}`: unknown security `{other}`"),
                "use security = \"starttls\" (port 587, the default), \"tls\" (port 465) or \"none\" (a relay on this machine only)",
            ));
        }
    };
    let port = match &raw.port {
        None if security == SmtpSecurity::Tls => 465,
        None => 587,
        Some(p) => u16::try_from(*p.get_ref())
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                src.err(
                    Some(&p.span()),
                    format!(
                        "email target `{name}`: port {} is out of range",
                        p.get_ref()
                    ),
                    "use a port between 1 and 65535 (587 for STARTTLS, 465 for TLS)",
                )
            })?,
    };
    let login = match (&raw.user, &raw.password) {
        (None, None) => None,
        (Some(user), Some(password)) => Some((
            user.get_ref().clone(),
            SecretRef::parse(password.get_ref()).map_err(|m| {
                src.err(
                    Some(&password.span()),
                    format!("email target `{name}`: {m}"),
                    format!("e.g. password = \"keyring:{name}\" (store it with `paaf secret set {name}`)"),
                )
            })?,
        )),
        _ => {
            return Err(src.err(
                Some(&raw.name.span()),
                format!("email target `{name}`: give both `user` and `password`, or neither"),
                "add the missing one (password = \"keyring:NAME\"), or remove both for a relay without login",
            ));
        }
    };
    let address = |a: &Spanned<String>| {
        if plausible_address(a.get_ref().trim()) {
            Ok(a.get_ref().trim().to_string())
        } else {
            Err(src.err(
                Some(&a.span()),
                format!(
                    "email target `{name}`: `{}` is not an email address",
                    a.get_ref()
                ),
                "write it like \"paaf@example.com\" or \"paaf <paaf@example.com>\"",
            ))
        }
    };
    let from = address(
        raw.from
            .as_ref()
            .ok_or_else(|| needs("its sender", "from = \"paaf@example.com\""))?,
    )?;
    let to_list = raw
        .to
        .as_ref()
        .filter(|t| !t.get_ref().is_empty())
        .ok_or_else(|| needs("its recipients", "to = [\"oncall@example.com\"]"))?;
    let mut to = Vec::new();
    for a in to_list.get_ref() {
        if !plausible_address(a.trim()) {
            return Err(src.err(
                Some(&to_list.span()),
                format!("email target `{name}`: `{a}` is not an email address"),
                "write each like \"oncall@example.com\"",
            ));
        }
        to.push(a.trim().to_string());
    }
    Ok(EmailSettings {
        server,
        port,
        security,
        login,
        from,
        to,
        ca_file: raw.ca_file.as_ref().map(|f| src.path_of(f.get_ref())),
    })
}

impl Config {
    /// The notify target named `name`.
    pub fn notify_target(&self, name: &str) -> Result<&NotifyConfig> {
        find_named(
            &self.notify,
            name,
            |n| &n.name,
            "notify target",
            "configured: ",
            "none is configured: add a [[notify]] entry (see the README's Incident loop)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_loosely_but_never_with_a_line_break() {
        for ok in [
            "a@example.com",
            "paaf <paaf@example.com>",
            "oncall@localhost",
        ] {
            assert!(plausible_address(ok), "{ok}");
        }
        for bad in [
            "",
            "nobody",
            "a@b",
            "a b@example.com",
            "x@example.com\r\nBcc: evil@example.com",
        ] {
            assert!(!plausible_address(bad), "{bad:?}");
        }
    }
}
