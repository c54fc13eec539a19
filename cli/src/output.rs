//! The only place the CLI prints: JSON and YAML documents, NDJSON events, text lines, notes on
//! stderr and tables in the chosen output mode (`-o table|wide|json|yaml|name|tsv`).
//! Text lines, notes and table cells pass through [`escape_controls`], so a name or message
//! from a server or a user never reaches the terminal with its control characters; the crate
//! denies `println!`/`eprintln!` elsewhere to keep it so.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::ValueEnum;
use comfy_table::{Attribute, Color, ContentArrangement, Row};
use paaf_core::terminal::escape_controls;
use serde::Serialize;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a command's result is printed (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Columns that fit the terminal, long cells cut with `…`
    Table,
    /// Every column, nothing cut
    Wide,
    /// JSON (long actions: one event per line, the final report last)
    Json,
    /// YAML (long actions: one document per event, the final report last)
    Yaml,
    /// Only the name (or id) of each row
    Name,
    /// Tab-separated values, every column (the default when stdout is not a terminal)
    Tsv,
}

/// When to colour states (`--color`); `NO_COLOR` turns `auto` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The output options of this run, fixed once in `main`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    pub headers: bool,
    pub color: bool,
    /// The width tables fit; `None`: no limit.
    pub width: Option<u16>,
}

impl Settings {
    /// Resolves `-o`, `--json`, `--no-headers` and `--color` against the terminal and the
    /// environment (`NO_COLOR`, `COLUMNS`).
    pub fn resolve(
        format: Option<Format>,
        json: bool,
        no_headers: bool,
        color: ColorChoice,
    ) -> Settings {
        let tty = std::io::stdout().is_terminal();
        let format = format.unwrap_or(match (json, tty) {
            (true, _) => Format::Json,
            (false, true) => Format::Table,
            (false, false) => Format::Tsv,
        });
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0);
        let terminal = terminal_size::terminal_size().map(|(w, _)| w.0);
        Settings {
            format,
            headers: !no_headers,
            color,
            width: columns.or(if tty { terminal } else { None }),
        }
    }

    /// A JSON or YAML document rather than text.
    pub fn structured(&self) -> bool {
        matches!(self.format, Format::Json | Format::Yaml)
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Fixes the output options for the rest of the run.
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The output options (plain tables, 80 columns, until `configure` ran).
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings {
        format: Format::Table,
        headers: true,
        color: false,
        width: Some(80),
    })
}

static STREAM: AtomicBool = AtomicBool::new(false);

/// From now on each JSON document is one line (NDJSON): for `--watch`, whose documents follow
/// one another.
pub fn stream_documents() {
    STREAM.store(true, Ordering::Relaxed);
}

/// A JSON document on stdout (serde_json escapes control characters itself).
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let text = if STREAM.load(Ordering::Relaxed) {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    println!("{}", text.expect("serializable output"));
}

/// `value` as the structured format asks: a JSON document, or a YAML one.
pub fn document<T: Serialize + ?Sized>(value: &T) {
    match settings().format {
        Format::Yaml => yaml(value),
        _ => json(value),
    }
}

/// Clears a terminal before `--watch` shows a table again (paaf's own sequence, never data).
pub fn clear_screen() {
    let s = settings();
    if matches!(s.format, Format::Table | Format::Wide) && std::io::stdout().is_terminal() {
        print!("\x1b[H\x1b[2J");
    }
}

/// One event of a long action: a line of JSON (NDJSON), or a YAML document of its own.
pub fn event<T: Serialize + ?Sized>(value: &T) {
    match settings().format {
        Format::Yaml => yaml(value),
        _ => println!(
            "{}",
            serde_json::to_string(value).expect("serializable output")
        ),
    }
}

fn yaml<T: Serialize + ?Sized>(value: &T) {
    // Through a JSON value: YAML has no map keys other than strings and no NaN surprises.
    let value = serde_json::to_value(value).expect("serializable output");
    print!(
        "---\n{}",
        serde_yaml_ng::to_string(&value).expect("YAML output")
    );
}

/// A line of the command's result on stdout.
pub fn line(text: &str) {
    println!("{}", escape_controls(text));
}

/// Text of several lines (a file's), escaped, as it is.
pub fn text(text: &str) {
    print!("{}", escape_controls(text));
    if !text.ends_with('\n') {
        println!();
    }
}

/// Bytes paaf generated itself (a completion script, the man page), as they are.
pub fn raw(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(bytes);
}

/// A line that sums up or explains a result ("No hosts yet…", "12 servers"): on stdout beside
/// a table, on stderr when stdout is for scripts (tsv, name), so it never reads as a row.
pub fn summary(text: &str) {
    match settings().format {
        Format::Table | Format::Wide => line(text),
        _ => note(text),
    }
}

/// A line for the person at the terminal (progress, hints, errors) on stderr.
pub fn note(text: &str) {
    eprintln!("{}", escape_controls(text));
}

/// `text` as it may be shown on a terminal (for prompts and progress bars, which print it
/// themselves).
pub fn shown(text: &str) -> String {
    escape_controls(text).into_owned()
}

/// What a cell's colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Up, healthy, ok.
    Good,
    /// Pending, silenced, unknown.
    Warn,
    /// Down, firing, failed, dangerous.
    Bad,
}

/// A table cell: its text and what its colour says.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    tone: Tone,
}

impl Cell {
    pub fn new(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::new(text, Tone::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::new(text, Tone::Plain)
    }
}

/// A table: printed as fitted columns, every column, TSV or names, as `-o` says. Cells are
/// escaped as they are added.
pub struct Table {
    headers: Vec<&'static str>,
    /// Columns shown only with `-o wide` and `tsv`.
    wide_only: Vec<usize>,
    /// The column `-o name` prints.
    name: usize,
    /// Columns never cut to fit the width (a time whose zone must stay readable).
    whole: Vec<usize>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            wide_only: Vec::new(),
            name: 0,
            whole: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn index(&self, header: &str) -> usize {
        self.headers
            .iter()
            .position(|h| *h == header)
            .unwrap_or_else(|| panic!("no column {header}"))
    }

    /// Shows these columns only with `-o wide` (and in TSV).
    pub fn wide_only(mut self, headers: &[&str]) -> Table {
        self.wide_only = headers.iter().map(|h| self.index(h)).collect();
        self
    }

    /// Never cuts these columns: the others shrink to fit the width instead.
    pub fn whole(mut self, headers: &[&str]) -> Table {
        self.whole = headers.iter().map(|h| self.index(h)).collect();
        self
    }

    /// `-o name` prints this column (the first one otherwise).
    pub fn name_column(mut self, header: &str) -> Table {
        self.name = self.index(header);
        self
    }

    pub fn row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| {
                    let c = c.into();
                    Cell::new(escape_controls(&c.text).into_owned(), c.tone)
                })
                .collect(),
        );
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        let text = self.render(settings());
        if !text.is_empty() {
            println!("{text}");
        }
    }

    /// The table as `settings` ask, without a final newline.
    pub fn render(&self, settings: &Settings) -> String {
        match settings.format {
            Format::Name => self
                .rows
                .iter()
                .map(|r| one_line(&r[self.name].text))
                .collect::<Vec<_>>()
                .join("\n"),
            Format::Tsv => {
                let mut lines = Vec::new();
                if settings.headers {
                    lines.push(self.headers.join("\t"));
                }
                lines.extend(self.rows.iter().map(|r| {
                    r.iter()
                        .map(|c| one_line(&c.text))
                        .collect::<Vec<_>>()
                        .join("\t")
                }));
                lines.join("\n")
            }
            _ => self.columns(settings),
        }
    }

    /// Aligned columns without borders (kubectl's look): with `table`, the wide-only columns
    /// left out and every row one line, cut with `…` to fit the width.
    fn columns(&self, settings: &Settings) -> String {
        let wide = settings.format == Format::Wide;
        let shown: Vec<usize> = (0..self.headers.len())
            .filter(|i| wide || !self.wide_only.contains(i))
            .collect();
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING)
            .set_truncation_indicator("…");
        if settings.color {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        match settings.width {
            Some(w) if !wide => {
                t.set_width(w)
                    .set_content_arrangement(ContentArrangement::Dynamic);
            }
            _ => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        let fit = |mut row: Row| {
            if !wide {
                row.max_height(1);
            }
            row
        };
        if settings.headers {
            let header: Vec<comfy_table::Cell> = shown
                .iter()
                .map(|i| {
                    let c = comfy_table::Cell::new(self.headers[*i]);
                    if settings.color {
                        c.add_attribute(Attribute::Bold)
                    } else {
                        c
                    }
                })
                .collect();
            t.set_header(fit(Row::from(header)));
        }
        for r in &self.rows {
            let cells: Vec<comfy_table::Cell> = shown
                .iter()
                .map(|i| {
                    let c = &r[*i];
                    let cell = comfy_table::Cell::new(c.text.replace('\n', " "));
                    match (settings.color, c.tone) {
                        (true, Tone::Good) => cell.fg(Color::Green),
                        (true, Tone::Warn) => cell.fg(Color::Yellow),
                        (true, Tone::Bad) => cell.fg(Color::Red).add_attribute(Attribute::Bold),
                        _ => cell,
                    }
                })
                .collect();
            t.add_row(fit(Row::from(cells)));
        }
        // The borderless preset pads each column by one space on each side: none before the
        // first column, two between columns, like kubectl.
        for (i, column) in t.column_iter_mut().enumerate() {
            column.set_padding((if i == 0 { 0 } else { 1 }, 1));
            if self.whole.contains(&shown[i]) {
                column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
        t.lines()
            .map(|l| l.trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A cell on one line: newlines and tabs become spaces (TSV and names are one row a line).
fn one_line(text: &str) -> String {
    text.replace(['\n', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Table {
        let mut t = Table::new(&["HOST", "ADDRESS", "STATUS", "OS", "LAST ACTION"])
            .wide_only(&["ADDRESS", "OS"]);
        for i in 0..n {
            t.row([
                Cell::from(format!("web-{i}")),
                Cell::from(format!("paaf-test@127.0.0.{i}:44{i:03}")),
                Cell::new("up", Tone::Good),
                Cell::from("Linux 6.1.0-28-amd64 Debian GNU/Linux 12 (bookworm)"),
                Cell::from(format!(
                    "reboot succeeded 3m ago (verified in 4.2s: boot id changed, test command ok) #{i}"
                )),
            ]);
        }
        t
    }

    fn with(format: Format, width: Option<u16>) -> Settings {
        Settings {
            format,
            headers: true,
            color: false,
            width,
        }
    }

    #[test]
    fn a_table_of_fifty_hosts_at_80_columns_has_one_line_per_row() {
        let text = hosts(50).render(&with(Format::Table, Some(80)));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 51, "{text}");
        for l in &lines {
            assert!(console_width(l) <= 80, "{l:?} is wider than 80");
        }
        assert!(lines[1].ends_with('…'), "{text}");
        assert!(
            !text.contains("ADDRESS"),
            "wide-only columns hidden: {text}"
        );
        assert!(!text.contains(['│', '┆', '─']), "no box characters: {text}");
    }

    #[test]
    fn wide_shows_every_column_uncut_and_tsv_and_name_are_plain() {
        let wide = hosts(2).render(&with(Format::Wide, Some(80)));
        assert!(
            wide.contains("ADDRESS") && wide.contains("(bookworm)"),
            "{wide}"
        );
        assert!(!wide.contains('…'), "{wide}");
        let tsv = hosts(2).render(&with(Format::Tsv, Some(80)));
        assert_eq!(
            tsv.lines().next(),
            Some("HOST\tADDRESS\tSTATUS\tOS\tLAST ACTION")
        );
        assert_eq!(tsv.lines().count(), 3);
        let mut no_headers = with(Format::Tsv, None);
        no_headers.headers = false;
        assert_eq!(hosts(2).render(&no_headers).lines().count(), 2);
        assert_eq!(hosts(2).render(&with(Format::Name, None)), "web-0\nweb-1");
    }

    #[test]
    fn colour_only_when_asked_and_cells_stay_escaped() {
        let mut t = Table::new(&["NAME", "STATE"]);
        t.row([Cell::from("evil\x1b]0;x\x07"), Cell::new("down", Tone::Bad)]);
        let plain = t.render(&with(Format::Table, Some(80)));
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert!(plain.contains("evil\\x1b]0;x\\x07"), "{plain}");
        let mut coloured = with(Format::Table, Some(80));
        coloured.color = true;
        let text = t.render(&coloured);
        assert!(text.contains("\x1b["), "{text:?}");
        assert!(text.contains("evil\\x1b]0;x\\x07"), "{text:?}");
    }

    fn console_width(s: &str) -> usize {
        s.chars().count()
    }
}
