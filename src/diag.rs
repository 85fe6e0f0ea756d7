//! Errors in model text, and their rendering.
//!
//! Below every stage (it imports nothing of the crate): [`crate::Error`] carries a [`ModelError`],
//! TraceQL reports its errors with it, and `tracecheck::model::diag` is this module re-exported.
//!
//! A [`ModelError`] is plain data (a byte span, a message, what was expected, hints) so that callers can
//! inspect it, e.g. an editor integration offering the `expected` list as completions. It is turned into
//! text with [`ariadne`] only at the edge, by [`ModelError::render`].

use std::fmt;
use std::ops::Range;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};

/// An error in a model file: where, what, what would have been accepted there, and hints.
///
/// ```
/// let err = tracecheck::model::parse_file("model \"m\" { expect span(nmae = \"x\") }").unwrap_err();
/// assert_eq!(err.message, "unknown field `nmae`");
/// assert!(err.hints.iter().any(|h| h.contains("`name`")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// The offending text, as a byte range into the source (empty at the end of the file).
    pub span: Range<usize>,
    /// What is wrong, in one line.
    pub message: String,
    /// What would have been accepted at `span` (tokens in backticks, or descriptions such as "a
    /// string"); empty when the error is not about what comes next.
    pub expected: Vec<String>,
    /// Suggestions, such as the closest known names.
    pub hints: Vec<String>,
}

/// At most this many expected items are listed under the underline; longer lists (all field names)
/// would drown the message, and hints name the closest ones instead.
const MAX_EXPECTED_SHOWN: usize = 12;

impl ModelError {
    /// An error at `span` with a message.
    pub fn new(span: Range<usize>, message: impl Into<String>) -> ModelError {
        ModelError {
            span,
            message: message.into(),
            expected: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// Sets what was expected.
    pub fn with_expected<S: Into<String>>(mut self, expected: impl IntoIterator<Item = S>) -> ModelError {
        self.expected = expected.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> ModelError {
        self.hints.push(hint.into());
        self
    }

    /// 1-based line and column (in characters) of the start of the span in `source`.
    ///
    /// ```
    /// let err = tracecheck::model::ModelError::new(4..5, "x");
    /// assert_eq!(err.line_col("ab\ncd\n"), (2, 2));
    /// ```
    pub fn line_col(&self, source: &str) -> (usize, usize) {
        let start = floor_char_boundary(source, self.span.start);
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// The error as text: a header with the message, the file name with line and column, the source
    /// line with the offending text underlined and labelled with what was expected, then hints.
    /// Without colours, so that it can be compared in tests and written to files.
    ///
    /// ```
    /// let src = "model \"m\" {\n    expect span(name = \"x\"\n}\n";
    /// let err = tracecheck::model::parse_file(src).unwrap_err();
    /// let text = err.render("bank.model", src);
    /// assert!(text.starts_with("error: expected one of `,` or `)`, found `}`"));
    /// assert!(text.contains("bank.model:2:27"));
    /// ```
    pub fn render(&self, file_name: &str, source: &str) -> String {
        self.render_with(file_name, source, false)
    }

    /// Like [`render`](Self::render), with ANSI colours (for a terminal).
    pub fn render_colored(&self, file_name: &str, source: &str) -> String {
        self.render_with(file_name, source, true)
    }

    fn render_with(&self, file_name: &str, source: &str, color: bool) -> String {
        let span = self.clamped_span(source);
        let config = Config::default().with_color(color).with_index_type(IndexType::Byte);
        // A label without a message is not underlined by ariadne, so fall back to the message.
        let label = Label::new((file_name, span.clone()))
            .with_color(Color::Red)
            .with_message(self.expected_text().unwrap_or_else(|| self.message.clone()));
        let mut report = Report::build(ReportKind::Custom("error", Color::Red), (file_name, span))
            .with_config(config)
            .with_message(&self.message)
            .with_label(label);
        for hint in &self.hints {
            report = report.with_help(hint);
        }
        let mut out = Vec::new();
        // Writing into a Vec cannot fail, and the cache always knows `file_name`.
        let written = report.finish().write((file_name, Source::from(source)), &mut out);
        match written {
            Ok(()) if color => String::from_utf8_lossy(&out).into_owned(),
            // ariadne 0.5 colours a custom report kind even when colours are off.
            Ok(()) => strip_ansi(&String::from_utf8_lossy(&out)),
            Err(_) => {
                let (line, col) = self.line_col(source);
                format!("error: {}\n --> {file_name}:{line}:{col}\n", self.message)
            }
        }
    }

    /// `expected X` / `expected one of X, Y or Z`, or `None` when there is nothing (short) to say.
    pub fn expected_text(&self) -> Option<String> {
        match self.expected.as_slice() {
            [] => None,
            [one] => Some(format!("expected {one}")),
            many if many.len() > MAX_EXPECTED_SHOWN => None,
            [init @ .., last] => Some(format!("expected one of {} or {last}", init.join(", "))),
        }
    }

    /// The span, moved onto character boundaries inside the source, and onto the last character when
    /// it is empty at the very end (so that the underline has something to sit on).
    fn clamped_span(&self, source: &str) -> Range<usize> {
        let start = floor_char_boundary(source, self.span.start);
        let end = floor_char_boundary(source, self.span.end.max(start));
        if start < end {
            return start..end;
        }
        // Empty span: underline the character at `start`, or the last visible one at the end.
        let trimmed = source.trim_end().len();
        let at = if start >= trimmed {
            trimmed.saturating_sub(1)
        } else {
            start
        };
        let at = floor_char_boundary(source, at);
        let next = source[at..].chars().next().map_or(at, |c| at + c.len_utf8());
        at..next
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModelError {}

/// Up to three known names closest to `word` (by Jaro-Winkler similarity), best first.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    // Only the names about as close as the best one: `http.status` suggests `http.status_code`,
    // not every `http.*` field.
    let best = scored.first().map_or(0.0, |s| s.0);
    scored
        .into_iter()
        .filter(|(score, _)| *score >= best - 0.05)
        .take(3)
        .map(|(_, c)| format!("`{c}`"))
        .collect()
}

/// A "did you mean" hint for `word`, if any candidate is close.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let close = closest(word, candidates);
    match close.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}
