//! Email over SMTP (RFC 5321) through lettre: STARTTLS (RFC 3207) on port 587 by default, TLS
//! from the first byte (port 465) or, for a relay on the same machine, none; login (AUTH PLAIN
//! or LOGIN, RFC 4954) with a password from the secret store, only over TLS.
//!
//! One plain-text message per notice, to every recipient of the target. Replies that mean a
//! failed attempt (each retried by the outbox with backoff): the server unreachable, no
//! STARTTLS offered while required, a certificate that does not check out, 535 (login
//! refused), 4xx (try later), 5xx (refused). The server's own words are kept in the error; the
//! password never is.

use super::Notice;
use crate::config::EmailSettings;
use crate::error::Result;
use crate::secrets::SecretStore;

/// The subject line: `[paaf] Incident #3 opened: Checkout errors (sev2)`.
fn subject(notice: &Notice) -> String {
    format!("[paaf] {}", notice.headline)
}

/// The plain-text body.
fn body(notice: &Notice) -> String {
    let mut text = format!("{}\n\n", notice.headline);
    for (name, value) in notice.facts() {
        text.push_str(&format!("{name}: {value}\n"));
    }
    if !notice.lines.is_empty() {
        text.push('\n');
        for line in &notice.lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "\n{} · {}\n-- \nsent by paaf\n",
        notice.by,
        notice.at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    text
}

#[cfg(feature = "email")]
pub(super) async fn send(
    name: &str,
    settings: &EmailSettings,
    notice: &Notice,
    secrets: &dyn SecretStore,
) -> Result<()> {
    use crate::config::SmtpSecurity;
    use crate::error::Error;
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    use secrecy::ExposeSecret;

    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::other(format!("email `{name}`: {what}: {e}"))
    };
    let mut message = Message::builder()
        .from(
            settings
                .from
                .parse()
                .map_err(|e| failed("the sender is not an address", &e))?,
        )
        .subject(subject(notice))
        .header(ContentType::TEXT_PLAIN);
    for to in &settings.to {
        message = message.to(to
            .parse()
            .map_err(|e| failed(&format!("`{to}` is not an address"), &e))?);
    }
    let message = message
        .body(body(notice))
        .map_err(|e| failed("cannot build the message", &e))?;
    let tls = || -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(settings.server.clone());
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| failed(&format!("cannot read its ca_file {}", ca.display()), &e))?;
            builder = builder.add_root_certificate(
                Certificate::from_pem(&pem)
                    .map_err(|e| failed("its ca_file is not a PEM certificate", &e))?,
            );
        }
        builder
            .build_native()
            .map_err(|e| failed("cannot set up TLS", &e))
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.server)
        .port(settings.port)
        .timeout(Some(std::time::Duration::from_secs(10)))
        .tls(match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        });
    if let Some((user, password)) = &settings.login {
        let password = password.resolve(secrets)?;
        transport = transport.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_string(),
        ));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| failed(&format!("{}:{}", settings.server, settings.port), &e))
}

/// This build has no SMTP client (the phone library leaves it out to stay small).
#[cfg(not(feature = "email"))]
pub(super) async fn send(
    name: &str,
    _: &EmailSettings,
    notice: &Notice,
    _: &dyn SecretStore,
) -> Result<()> {
    let _ = (subject(notice), body(notice));
    Err(crate::error::Error::other(format!(
        "email `{name}`: this build of paaf sends no email (the phone library leaves SMTP out); the desktop app or the CLI sends it"
    )))
}
