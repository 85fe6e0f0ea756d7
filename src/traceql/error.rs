//! Errors in TraceQL text, and their rendering.
//!
//! A [`TraceQlError`] is plain data (a byte span, a message, what was expected, hints), like the model
//! language's [`ModelError`]; it is turned into text with [`ariadne`] only at the edge, by
//! [`TraceQlError::render`], which draws it exactly as a model error is drawn.

use std::fmt;
use std::ops::Range;

use crate::diag::ModelError;

/// An error in a TraceQL query: where, what, what would have been accepted there, and hints.
///
/// ```
/// let err = tracecheck::traceql::parse("{ nmae = \"GET\" }").unwrap_err();
/// assert_eq!(err.message, "unknown intrinsic `nmae`");
/// assert_eq!(err.span, 2..6);
/// assert!(err.hints.iter().any(|h| h.contains("`name`")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceQlError {
    /// The offending text, as a byte range into the query (empty at the end of the query).
    pub span: Range<usize>,
    /// What is wrong, in one line.
    pub message: String,
    /// What would have been accepted at `span` (tokens in backticks, or descriptions such as "a
    /// string"); empty when the error is not about what comes next.
    pub expected: Vec<String>,
    /// Suggestions, such as the closest known names.
    pub hints: Vec<String>,
}

impl TraceQlError {
    /// An error at `span` with a message.
    ///
    /// ```
    /// let err = tracecheck::traceql::TraceQlError::new(0..1, "bad");
    /// assert!(err.expected.is_empty() && err.hints.is_empty());
    /// ```
    pub fn new(span: Range<usize>, message: impl Into<String>) -> TraceQlError {
        TraceQlError {
            span,
            message: message.into(),
            expected: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// Sets what was expected.
    ///
    /// ```
    /// let err = tracecheck::traceql::TraceQlError::new(0..1, "bad").with_expected(["`}`"]);
    /// assert_eq!(err.expected, ["`}`"]);
    /// ```
    pub fn with_expected<S: Into<String>>(mut self, expected: impl IntoIterator<Item = S>) -> TraceQlError {
        self.expected = expected.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a hint.
    ///
    /// ```
    /// let err = tracecheck::traceql::TraceQlError::new(0..1, "bad").with_hint("try this");
    /// assert_eq!(err.hints, ["try this"]);
    /// ```
    pub fn with_hint(mut self, hint: impl Into<String>) -> TraceQlError {
        self.hints.push(hint.into());
        self
    }

    /// Adds a hint if there is one.
    pub(crate) fn with_hint_opt(self, hint: Option<String>) -> TraceQlError {
        match hint {
            Some(h) => self.with_hint(h),
            None => self,
        }
    }

    /// The error as text: a header with the message, the source name with line and column, the
    /// query line with the offending text underlined and labelled with what was expected, then
    /// hints. Without colours, so that it can be compared in tests and written to files.
    ///
    /// ```
    /// let query = "{ span.http.method = \"GET\" ";
    /// let err = tracecheck::traceql::parse(query).unwrap_err();
    /// let text = err.render("query", query);
    /// assert!(text.starts_with("error: expected one of `}` or an operator, found end of query"));
    /// assert!(text.contains("query:1:"));
    /// ```
    pub fn render(&self, source_name: &str, source: &str) -> String {
        self.as_model_error().render(source_name, source)
    }

    /// Like [`render`](Self::render), with ANSI colours (for a terminal).
    ///
    /// ```
    /// let err = tracecheck::traceql::parse("{ .a = }").unwrap_err();
    /// assert!(err.render_colored("q", "{ .a = }").contains('\u{1b}'));
    /// ```
    pub fn render_colored(&self, source_name: &str, source: &str) -> String {
        self.as_model_error().render_colored(source_name, source)
    }

    /// 1-based line and column (in characters) of the start of the span in `source`.
    ///
    /// ```
    /// let err = tracecheck::traceql::TraceQlError::new(4..5, "x");
    /// assert_eq!(err.line_col("ab\ncd\n"), (2, 2));
    /// ```
    pub fn line_col(&self, source: &str) -> (usize, usize) {
        self.as_model_error().line_col(source)
    }

    /// The error as the crate's [`Error`](crate::Error), rendered at the edge like a model error
    /// (`query` names the source in positions).
    ///
    /// ```
    /// let text = "{ .a = }";
    /// let e = tracecheck::traceql::parse(text).unwrap_err().into_error("query", text);
    /// assert!(e.to_string().starts_with("query:1:8:"), "{e}");
    /// ```
    pub fn into_error(self, name: &str, query: &str) -> crate::Error {
        crate::Error::Model {
            file: name.to_string(),
            source_text: query.to_string(),
            error: Box::new(self.as_model_error()),
        }
    }

    /// The same data as a model error, whose renderer is shared so both languages' errors look
    /// alike.
    fn as_model_error(&self) -> ModelError {
        ModelError {
            span: self.span.clone(),
            message: self.message.clone(),
            expected: self.expected.clone(),
            hints: self.hints.clone(),
        }
    }
}

impl fmt::Display for TraceQlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TraceQlError {}
