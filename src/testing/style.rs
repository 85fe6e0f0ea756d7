//! Text with a few styles, written once and printed either plain (snapshots, logs, files) or with ANSI
//! colours (a person at a terminal).

use std::io::IsTerminal;

/// How a piece of text is shown on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    /// Titles.
    Bold,
    /// What failed.
    Red,
    /// Markers pointing at witness spans.
    Yellow,
    /// What held.
    Green,
    /// Ids and other secondary text.
    Dim,
}

impl Style {
    fn ansi(self) -> &'static str {
        match self {
            Style::Plain => "",
            Style::Bold => "\x1b[1m",
            Style::Red => "\x1b[1;31m",
            Style::Yellow => "\x1b[1;33m",
            Style::Green => "\x1b[32m",
            Style::Dim => "\x1b[2m",
        }
    }
}

/// A message under construction: pieces of text, each with its style.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Styled {
    parts: Vec<(Style, String)>,
}

impl Styled {
    /// Appends plain text.
    pub(crate) fn text(&mut self, s: impl Into<String>) -> &mut Styled {
        self.styled(Style::Plain, s)
    }

    /// Appends text in `style`.
    pub(crate) fn styled(&mut self, style: Style, s: impl Into<String>) -> &mut Styled {
        let s = s.into();
        if !s.is_empty() {
            self.parts.push((style, s));
        }
        self
    }

    /// The text without styles.
    pub(crate) fn plain(&self) -> String {
        self.parts.iter().map(|(_, s)| s.as_str()).collect()
    }

    /// The text with ANSI colours. Escapes never span a line break, so a line cut out of the
    /// message keeps its colours balanced.
    pub(crate) fn ansi(&self) -> String {
        let mut out = String::new();
        for (style, s) in &self.parts {
            if *style == Style::Plain {
                out.push_str(s);
                continue;
            }
            for (i, line) in s.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                if !line.is_empty() {
                    out.push_str(style.ansi());
                    out.push_str(line);
                    out.push_str("\x1b[0m");
                }
            }
        }
        out
    }
}

/// Whether a panic message should be coloured: stderr is a terminal, `NO_COLOR` is not set and the
/// terminal is not `dumb`. (libtest captures a test's output, but prints it to the same stderr.)
pub(crate) fn colour_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
        && std::io::stderr().is_terminal()
}

pub(crate) use crate::report::terminal::clean;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_ansi_show_the_same_text() {
        let mut s = Styled::default();
        s.text("a ").styled(Style::Red, "b\nc").text("\n");
        assert_eq!(s.plain(), "a b\nc\n");
        assert_eq!(s.ansi(), "a \x1b[1;31mb\x1b[0m\n\x1b[1;31mc\x1b[0m\n");
        assert_eq!(clean("x\u{1b}[2J"), "x\\u{1b}[2J");
    }
}
