//! The only place the CLI prints: JSON documents, text lines, notes on stderr and tables.
//! Text lines, notes and table cells pass through [`escape_controls`], so a name or message
//! from a server or a user never reaches the terminal with its control characters; the crate
//! denies `println!`/`eprintln!` elsewhere to keep it so.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use comfy_table::{ContentArrangement, presets::UTF8_FULL_CONDENSED};
use paaf_core::terminal::escape_controls;
use serde::Serialize;

/// A JSON document on stdout (serde_json escapes control characters itself).
pub fn json<T: Serialize + ?Sized>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable output")
    );
}

/// A line of the command's result on stdout.
pub fn line(text: &str) {
    println!("{}", escape_controls(text));
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

/// A table whose cells are escaped as they are added.
pub struct Table(comfy_table::Table);

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        let mut t = comfy_table::Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(headers.iter().copied());
        Table(t)
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.0.add_row(
            cells
                .into_iter()
                .map(|c| escape_controls(c.as_ref()).into_owned()),
        );
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        println!("{}", self.0);
    }
}
