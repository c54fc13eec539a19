//! paaf-relay: receives Grafana and Alertmanager alert webhooks, matches them against the
//! team's playbooks and pushes Ed25519-signed action intents to paired devices. It holds no
//! credential of any target: the devices act with their own.

mod alerts;
mod config;
mod devices;
mod push;
mod server;
mod store;
mod timeline;

use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "paaf-relay",
    version,
    about = "Alert webhooks in, signed action intents out to paired paaf devices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the webhooks, pairing and device streams.
    Serve {
        /// The relay's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Prints the pairing code devices scan or paste (`paaf relay pair CODE`): the relay's
    /// URL, the team's pairing token and the relay's public key, as a paaf://pair/ link and a
    /// QR code. It holds the pairing token: show it only to the team.
    PairCode {
        /// The relay's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// The URL devices reach the relay at (default: http:// and the config's `listen`)
        #[arg(long)]
        url: Option<String>,
        /// Print the link only, without the QR code
        #[arg(long)]
        no_qr: bool,
    },
}

/// The relay's signing key from `path`, created (0600) when missing.
fn signing_key(path: &Path) -> Result<SigningKey, String> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("{shown}: not a 32-byte Ed25519 seed in hex"))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed: [u8; 32] = rand::random();
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .and_then(|mut f| f.write_all(hex::encode(seed).as_bytes()))
                .map_err(|e| format!("cannot create {shown}: {e}"))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}

/// `paaf-relay pair-code`: the pairing code as a link and (unless `no_qr`) a terminal QR code.
fn pair_code(config_path: &Path, url: Option<&str>, no_qr: bool) -> Result<(), String> {
    use paaf_core::intent::pairing::PairingCode;
    let config = config::RelayConfig::load(config_path)?;
    let key = signing_key(&config.signing_key)?;
    let token = config::secret_from_env(&config.pairing_token_env)?;
    let url = url
        .map(str::to_string)
        .unwrap_or_else(|| format!("http://{}", config.listen));
    let text = PairingCode {
        url: url.clone(),
        token: token.into(),
        key: paaf_core::intent::format_key(&key.verifying_key()),
    }
    .to_text();
    // Checked the way a device reads it: a bad --url is said here, not on the phone.
    let read = PairingCode::parse(&text).map_err(|e| e.to_string())?;
    if !no_qr {
        use qrcode::render::unicode::Dense1x2;
        let qr = qrcode::QrCode::new(text.as_bytes())
            .map_err(|e| format!("cannot make a QR code of the pairing code: {e}"))?;
        let shown = qr
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build();
        println!("{shown}");
    }
    println!("{text}");
    eprintln!(
        "paaf-relay: scan it in the paaf app, or run `paaf relay pair '<code>'` on a device; it pairs with {} and pins key {} (the code holds the pairing token: show it only to the team)",
        read.url, read.key
    );
    Ok(())
}

async fn serve(config_path: &Path) -> Result<(), String> {
    let config = config::RelayConfig::load(config_path)?;
    let key = signing_key(&config.signing_key)?;
    let app = Arc::new(server::App::new(&config, key.clone()).await?);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The first line says where and with which key: what a device pins.
    println!(
        "paaf-relay listening on http://{addr} key {}",
        paaf_core::intent::format_key(&key.verifying_key())
    );
    tokio::spawn(push::run(app.clone()));
    if let Some(changes) = app.store.follow() {
        tokio::spawn(server::follow_other_instances(app.clone(), changes));
    }
    axum::serve(listener, server::router(app, config.max_body_bytes))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAAF_RELAY_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve { config } => serve(config).await,
        Command::PairCode { config, url, no_qr } => pair_code(config, url.as_deref(), *no_qr),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paaf-relay: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
