//! Snapshot tests (insta) of every help text and of each output mode, at 80 and 200 columns,
//! and the measure that every help fits 80 columns. `INSTA_UPDATE=always cargo nextest run
//! -p paaf-cli` rewrites the snapshots in cli/src/snapshots after a deliberate change.

use crate::output::{Format, Settings};
use crate::render;
use paaf_core::ErrorCode;
use paaf_core::ErrorInfo;
use paaf_core::config::HostThresholds;
use paaf_core::host_metrics::{HostMetrics, MetricsSource, Sample};
use paaf_core::inventory::HostStatus;

/// Every command's path (`host add`) with its clap definition, the root first.
fn every_command() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        out.push((prefix.to_string(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let path = format!("{prefix} {}", sub.get_name()).trim().to_string();
            walk(&path, sub, out);
        }
    }
    let mut root = crate::command();
    root.build();
    let mut out = Vec::new();
    walk("", &root, &mut out);
    out
}

fn help_at(width: usize) -> String {
    let mut text = String::new();
    for (path, cmd) in every_command() {
        let mut cmd = cmd.term_width(width);
        text += &format!("==== paaf {path} --help\n{}\n", cmd.render_long_help());
        text += &format!("==== paaf {path} -h\n{}\n", cmd.render_help());
    }
    text
}

#[test]
fn every_help_fits_80_columns() {
    let text = help_at(80);
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
    assert!(
        wide.is_empty(),
        "lines over 80 columns:\n{}",
        wide.join("\n")
    );
    // Help names what the issue found undescribed.
    for needle in [
        "The host's name",
        "SSH port",
        "The user to log in as",
        "At most this many actions",
        "Global options",
        "shutdown: the connection drops",
    ] {
        assert!(text.contains(needle), "{needle} missing from the help");
    }
    assert!(!text.contains("[env: PAAF_CONFIG="), "no env value shown");
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help_80", help_at(80));
    insta::assert_snapshot!("help_200", help_at(200));
}

/// Three hosts: up, down, and one whose key changed (it answers: not "down").
fn hosts() -> Vec<HostStatus> {
    let host = |name: &str, error: Option<ErrorCode>| HostStatus {
        name: name.into(),
        address: format!("{name}.prod.internal.example.com"),
        port: 22,
        user: "deploy".into(),
        reachable: error.is_none(),
        error: error.map(|code| ErrorInfo {
            code,
            message: format!("{name}: {}", code.as_str()),
            phase: None,
        }),
        uptime_secs: error.is_none().then_some(86_400 * 3),
        boot_id: error
            .is_none()
            .then(|| "3f1c2a9e-58c1-4c6d-9d5e-0a3c9c1e2b7f".into()),
        os: error
            .is_none()
            .then(|| "Debian GNU/Linux 12 (bookworm)".into()),
        metrics: error.is_none().then(|| {
            HostMetrics::new(
                MetricsSource::Ssh,
                Sample {
                    cpu_percent: Some(12.4),
                    load1: Some(0.42),
                    memory_percent: Some(88.0),
                    disk: Some(("/var".into(), 97.0)),
                    uptime_secs: Some(86_400 * 3),
                },
                &HostThresholds::default(),
                vec![],
            )
        }),
        last_action: None,
    };
    vec![
        host("web-1", None),
        host("web-2", Some(ErrorCode::Unreachable)),
        host("db-1", Some(ErrorCode::HostKeyChanged)),
    ]
}

fn modes_at(width: u16) -> String {
    let mut text = String::new();
    for format in [Format::Table, Format::Wide, Format::Tsv, Format::Name] {
        for headers in [true, false] {
            let settings = Settings {
                format,
                headers,
                color: false,
                width: Some(width),
            };
            text += &format!(
                "==== -o {format:?}{}\n{}\n",
                if headers { "" } else { " --no-headers" },
                render::hosts_table(&hosts()).render(&settings)
            );
        }
    }
    text += &format!(
        "==== -o json\n{}\n==== -o yaml\n{}",
        serde_json::to_string_pretty(&hosts()[1..2]).unwrap(),
        serde_yaml_ng::to_string(&serde_json::to_value(&hosts()[1..2]).unwrap()).unwrap()
    );
    text
}

#[test]
fn output_mode_snapshots() {
    insta::assert_snapshot!("hosts_80", modes_at(80));
    insta::assert_snapshot!("hosts_200", modes_at(200));
}

#[test]
fn a_host_that_answers_is_not_down() {
    let text = render::hosts_table(&hosts()).render(&Settings {
        format: Format::Tsv,
        headers: false,
        color: false,
        width: None,
    });
    let states: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(states, ["up", "down", "key changed"]);
}

#[test]
fn states_are_coloured_only_when_asked() {
    let coloured = render::hosts_table(&hosts()).render(&Settings {
        format: Format::Table,
        headers: true,
        color: true,
        width: Some(80),
    });
    assert!(coloured.contains("\x1b["), "{coloured:?}");
    let plain = render::hosts_table(&hosts()).render(&Settings {
        format: Format::Table,
        headers: true,
        color: false,
        width: Some(80),
    });
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

#[test]
fn metric_cells_are_coloured_by_their_level() {
    let coloured = render::hosts_table(&hosts()).render(&Settings {
        format: Format::Table,
        headers: false,
        color: true,
        width: Some(80),
    });
    let web1 = coloured.lines().next().unwrap();
    // Disk 97 % is a danger (bold red), memory 88 % a warning (yellow), CPU 12 % ok (green).
    for (value, colour) in [("97%", "38;5;9m"), ("88%", "38;5;11m"), ("12%", "38;5;10m")] {
        let at = web1
            .find(value)
            .unwrap_or_else(|| panic!("{value} in {web1:?}"));
        let before = &web1[..at];
        let last_colour = before.rfind("\x1b[38;5;").map(|i| &before[i + 2..]);
        assert!(
            last_colour.is_some_and(|c| c.starts_with(colour)),
            "{value} coloured {colour}: {web1:?}"
        );
    }
}

#[test]
fn every_shell_gets_a_completion_script() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
        clap_complete::Shell::PowerShell,
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut crate::command(), "paaf", &mut script);
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("rolling-reboot"), "{shell}: {script}");
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::command())
        .render(&mut page)
        .unwrap();
    assert!(String::from_utf8(page).unwrap().contains(".TH paaf"));
}

/// Every `paaf …` command the README shows (in backticks or on a code block's line, its
/// comment dropped): redirections dropped, a line break inside backticks read as a space.
fn readme_commands() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let mut commands = Vec::new();
    for (i, span) in readme.split('`').enumerate() {
        if i % 2 == 1 && span.starts_with("paaf ") {
            commands.push(span.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    for line in readme.lines() {
        let line = line.trim().trim_start_matches("$ ");
        let line = line.split(" #").next().unwrap_or_default().trim_end();
        if line.starts_with("paaf ") && !line.contains('`') {
            commands.push(line.to_string());
        }
    }
    commands
        .into_iter()
        .map(|c| {
            let end = [" < ", " > "].iter().filter_map(|r| c.find(r)).min();
            c[..end.unwrap_or(c.len())].to_string()
        })
        // Synopses (`[--config PATH]`, `<command>`, `-c … ×20`) are not commands.
        .filter(|c| !c.contains(['[', '<', '…', '|']))
        .collect()
}

/// True when every word names a subcommand or an option: `paaf reboot --json` in a sentence
/// mentions the command rather than running it, so it may lack its arguments.
fn mentions_a_command(words: &[String]) -> bool {
    let mut cmd = crate::command();
    for w in &words[1..] {
        if w.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(w) {
            Some(sub) => cmd = sub.clone(),
            None => return false,
        }
    }
    true
}

/// Issue 18: the README's own `paaf panel UID 4 --from now-1h` failed. Every command the
/// README shows parses with the current definition (the integration tests run them against
/// real peers); a mention such as `paaf reboot` may lack its arguments, nothing else may.
#[test]
fn every_command_in_the_readme_parses() {
    use clap::Parser;
    use clap::error::ErrorKind;
    let commands = readme_commands();
    assert!(commands.len() > 20, "{commands:?}");
    let mut failures = Vec::new();
    for command in &commands {
        let words = shlex::split(command).unwrap_or_else(|| panic!("quotes in {command}"));
        match crate::Cli::try_parse_from(&words) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument
                        | ErrorKind::MissingSubcommand
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) && mentions_a_command(&words) => {}
            Err(e) => failures.push(format!("{command}: {}", e.render())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The first forms of the list commands keep working for scripts, out of the help.
#[test]
fn the_old_forms_still_parse_and_are_hidden() {
    use clap::Parser;
    for old in [
        &["paaf", "status", "web-1"][..],
        &["paaf", "servers", "--cached"],
        &["paaf", "flags", "checkout"],
        &["paaf", "alerts", "--watch"],
        &["paaf", "dashboards", "checkout"],
        &["paaf", "dashboard", "UID", "--from", "now-1h"],
    ] {
        assert!(crate::Cli::try_parse_from(old).is_ok(), "{old:?}");
    }
    let help = crate::command().render_long_help().to_string();
    for old in ["status", "servers", "flags", "alerts", "dashboards"] {
        assert!(!help.contains(&format!("  {old} ")), "{old} in:\n{help}");
    }
}
