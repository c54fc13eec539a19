//! Text from servers and users, made safe to print on a terminal.
//!
//! A cloud server's name, an alert label or a flag key is data: printed raw, an `ESC ] …` or
//! `ESC [ 2J` in it would retitle the window, clear the screen or forge what the operator reads.
//! Every text front-end passes such text through [`escape_controls`] first.

use std::borrow::Cow;

/// `text` with every control character shown as an escape (`\x1b`, `\u{9b}`) instead of
/// reaching the terminal: C0 controls but newline and tab, DEL, C1 controls, and the Unicode
/// bidirectional overrides and isolates (which reorder what is shown). Text without any is
/// returned as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !needs_escape(c) => shown.push(c),
            c if (c as u32) < 0x80 => shown.push_str(&format!("\\x{:02x}", c as u32)),
            c => shown.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(shown)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn plain_text_newlines_and_tabs_pass_unchanged() {
        for text in ["web-1", "CPU über 90 % — 🔥", "line one\nline two\tcol", ""] {
            assert!(matches!(
                escape_controls(text),
                std::borrow::Cow::Borrowed(t) if t == text
            ));
        }
    }

    #[test]
    fn terminal_sequences_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(
            escape_controls("web\x1b]0;pwned\x07-1"),
            "web\\x1b]0;pwned\\x07-1"
        );
        assert_eq!(escape_controls("\x1b[2Jok\r"), "\\x1b[2Jok\\x0d");
        assert_eq!(escape_controls("a\u{9b}31mb\x7f"), "a\\u{9b}31mb\\x7f");
        assert_eq!(escape_controls("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_controls("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert!(
            !escape_controls("\x08\x00\x1b")
                .chars()
                .any(char::is_control)
        );
    }
}
