//! What works without an open config: `paaf config …`, `paaf completion`, `paaf man`,
//! `paaf version`, the config path (`--config`, `--context`, their variables), and usage
//! errors in the chosen output format.

use crate::ctx::{Failure, Outcome};
use crate::exit;
use crate::output::{self, Cell, Table, Tone};
use clap::Subcommand;
use paaf_core::config::{self, Config};
use paaf_core::{Error, ErrorCode};
use std::path::{Path, PathBuf};

pub const COMPLETION_HELP: &str = "Load it in the current shell:\n  \
    bash: source <(paaf completion bash)\n  \
    zsh:  source <(paaf completion zsh)\n  \
    fish: paaf completion fish | source\n\
    or install it: paaf completion bash > /etc/bash_completion.d/paaf";

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the config file (it holds no secrets: only references to them)
    View,
    /// Check the config (or FILE) and say what it configures; exit 3 with the line at fault
    Validate {
        /// Another file to check instead
        file: Option<PathBuf>,
    },
    /// Print the path of the config in use
    Path,
    /// Write a commented starter config (at the path in use, or FILE)
    Init {
        /// Where to write it instead
        file: Option<PathBuf>,
        /// Replace a file that exists
        #[arg(long)]
        force: bool,
    },
    /// List the contexts (--context NAME, PAAF_CONTEXT): one config each
    Contexts,
    /// Print the config as one QR code's payload, for the phone app's import (`paaf-config:1:`
    /// + base64url of the zlib-compressed TOML; secrets stay references, never values)
    Qr,
}

/// The config file: `--config`, else `--context`, else `PAAF_CONFIG`, else `PAAF_CONTEXT`,
/// else the platform's default.
pub fn config_path(flag: Option<PathBuf>, context: Option<&str>) -> paaf_core::Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = flag {
        return Ok(path);
    }
    if let Some(name) = context {
        return config::context_config_path(name);
    }
    if let Some(path) = var("PAAF_CONFIG") {
        return Ok(PathBuf::from(path));
    }
    if let Some(name) = var("PAAF_CONTEXT") {
        return config::context_config_path(&name.to_string_lossy());
    }
    Ok(config::default_config_path())
}

pub fn config(command: &ConfigCommand, path: &Path) -> Outcome {
    match command {
        ConfigCommand::Path => {
            let shown = path.display().to_string();
            crate::ctx::emit(
                &serde_json::json!({ "path": shown, "exists": path.exists() }),
                |_| {
                    output::line(&shown);
                    if !path.exists() {
                        output::note("(no file there yet: `paaf config init` writes a starter)");
                    }
                },
            );
            Ok(exit::OK)
        }
        ConfigCommand::View => {
            let text = std::fs::read_to_string(path).map_err(|e| missing(path, e))?;
            crate::ctx::emit(
                &serde_json::json!({ "path": path.display().to_string(), "text": text }),
                |_| output::text(&text),
            );
            Ok(exit::OK)
        }
        ConfigCommand::Validate { file } => {
            let path = file.as_deref().unwrap_or(path);
            if let Err(e) = std::fs::metadata(path) {
                return Err(missing(path, e).into());
            }
            let config = Config::load(path)?;
            let summary = serde_json::json!({
                "path": path.display().to_string(),
                "valid": true,
                "hosts": config.hosts.len(),
                "monitoring": config.monitoring.len(),
                "flags": config.flags.len(),
                "clouds": config.clouds.len(),
            });
            crate::ctx::emit(&summary, |_| {
                output::line(&format!(
                    "{} is valid: {} hosts, {} monitoring sources, {} flag services, {} cloud accounts",
                    path.display(),
                    config.hosts.len(),
                    config.monitoring.len(),
                    config.flags.len(),
                    config.clouds.len()
                ))
            });
            Ok(exit::OK)
        }
        ConfigCommand::Init { file, force } => {
            let path = file.as_deref().unwrap_or(path);
            if path.exists() && !force {
                return Err(Error::InvalidInput {
                    message: format!(
                        "{} exists already; nothing was written (view it with `paaf config view`, or pass --force to replace it)",
                        path.display()
                    ),
                }
                .into());
            }
            config::write_validated(path, config::STARTER)?;
            crate::ctx::done(&format!(
                "wrote a starter config to {} (fill in its examples, then `paaf config validate`)",
                path.display()
            ))
        }
        ConfigCommand::Qr => {
            let text = std::fs::read_to_string(path).map_err(|e| missing(path, e))?;
            Config::parse(path, &text)?;
            let payload = config::qr::encode(&text).map_err(Error::from)?;
            crate::ctx::emit(
                &serde_json::json!({ "path": path.display().to_string(), "payload": payload }),
                |_| {
                    output::line(&payload);
                    output::note(
                        "(make it a QR code, e.g. `paaf config qr | qrencode -t ansiutf8`, and scan it in the app's Onboarding screen; the secrets it names must be in the phone's keystore)",
                    );
                },
            );
            Ok(exit::OK)
        }
        ConfigCommand::Contexts => {
            let names = config::contexts();
            let current = std::env::var("PAAF_CONTEXT").unwrap_or_default();
            let rows: Vec<serde_json::Value> = names
                .iter()
                .map(|n| {
                    serde_json::json!({
                        "name": n,
                        "path": config::context_config_path(n).map(|p| p.display().to_string()).unwrap_or_default(),
                        "current": *n == current,
                    })
                })
                .collect();
            crate::ctx::emit(&rows, |_| {
                if names.is_empty() {
                    output::summary(&format!(
                        "No contexts yet. Make one: paaf --context prod config init (in {})",
                        config::contexts_dir().display()
                    ));
                    return;
                }
                let mut t = Table::new(&["CONTEXT", "CURRENT", "PATH"]);
                for r in &rows {
                    let current = r["current"] == true;
                    t.row([
                        Cell::from(r["name"].as_str().unwrap_or_default()),
                        if current {
                            Cell::new("*", Tone::Good)
                        } else {
                            Cell::from("")
                        },
                        Cell::from(r["path"].as_str().unwrap_or_default()),
                    ]);
                }
                t.print();
            });
            Ok(exit::OK)
        }
    }
}

fn missing(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound {
            what: "config file",
            name: path.display().to_string(),
            hint: Some("write a starter with `paaf config init`".into()),
        }
    } else {
        Error::Config {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read it: {e}"),
            fix: "check its permissions".into(),
        }
    }
}

pub fn completion(shell: clap_complete::Shell) -> Outcome {
    let mut command = crate::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "paaf", &mut script);
    output::raw(&script);
    Ok(exit::OK)
}

pub fn man() -> Outcome {
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::command())
        .render(&mut page)
        .map_err(|e| Error::InvalidInput {
            message: format!("cannot write the man page: {e}"),
        })?;
    output::raw(&page);
    Ok(exit::OK)
}

pub fn version(version: &str) -> Outcome {
    let document = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": env!("PAAF_GIT_COMMIT"),
        "build_date": env!("PAAF_BUILD_DATE"),
    });
    crate::ctx::emit(&document, |_| output::line(&format!("paaf {version}")));
    Ok(exit::OK)
}

/// A command line clap refused (or `--help`, `--version`): printed as clap does, or as
/// `{"error": {"code": "usage", …}}` when `-o json|yaml` was asked for; its exit code.
pub fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !structured_asked() {
        let _ = e.print();
        return e.exit_code();
    }
    let format = if yaml_asked() {
        output::Format::Yaml
    } else {
        output::Format::Json
    };
    output::configure(output::Settings {
        format,
        headers: true,
        color: false,
        width: None,
    });
    let message = e.render().to_string();
    let message = message
        .trim()
        .trim_start_matches("error: ")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    output::document(&serde_json::json!({ "error": { "code": "usage", "message": message } }));
    e.exit_code()
}

/// The words of the command line that ask for `-o json|yaml` or `--json`, found without
/// clap (which refused the line).
fn output_words() -> Vec<String> {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let mut asked = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if w == "--json" {
            asked.push("json".to_string());
        } else if w == "-o" || w == "--output" {
            asked.extend(words.get(i + 1).cloned());
        } else if let Some(v) = w.strip_prefix("--output=").or_else(|| w.strip_prefix("-o")) {
            asked.push(v.trim_start_matches('=').to_string());
        }
    }
    asked
}

fn structured_asked() -> bool {
    output_words().iter().any(|w| w == "json" || w == "yaml")
}

fn yaml_asked() -> bool {
    output_words().last().is_some_and(|w| w == "yaml")
}

/// An error of a command that ran before the config was opened.
pub fn fail(failure: &Failure) -> i32 {
    match failure {
        Failure::Core(e) => {
            crate::ctx::print_error(e);
            exit::code(e.code())
        }
        Failure::Aborted => exit::code(ErrorCode::ConfirmationRequired),
    }
}
