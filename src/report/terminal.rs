//! One trace as a waterfall in the terminal (`tracecheck show`): an indented tree of span names, the
//! service, a bar of fixed width on the trace's time axis, and the duration in ms. Error spans are
//! marked `!`, marked spans (e.g. a violation's witnesses) `*`.
//!
//! ```
//! use tracecheck::report::trace::{SpanRow, TraceTree};
//! let s = |id: &str, parent: Option<&str>, start, duration| SpanRow {
//!     span_id: id.into(), parent_span_id: parent.map(Into::into), name: format!("op-{id}"),
//!     service: "svc".into(), start: Some(start), duration: Some(duration), ..Default::default()
//! };
//! let tree = TraceTree::new("1".into(), vec![s("a", None, 0, 10_000_000), s("b", Some("a"), 5_000_000, 5_000_000)]);
//! let text = tracecheck::report::terminal::waterfall(&tree, 10, &["b".to_string()]);
//! assert!(text.contains("|██████████|"));
//! assert!(text.contains("*    op-b"));
//! ```

use std::fmt::Write;

use super::trace::{format_ms, SpanRow, TraceTree};
use crate::text::{fit, plural, tree_label};

/// Characters of the name column, indentation included.
const NAME_WIDTH: usize = 56;
/// Characters of the service column.
const SERVICE_WIDTH: usize = 18;
/// Deeper spans are not indented further (a 40-level trace would push names off the screen); their
/// depth is written before the name instead.
const MAX_INDENT_DEPTH: usize = 20;

/// The waterfall of `tree`, bars `bar_width` characters wide (at least 1). Spans whose id is in
/// `marked` get a `*`.
///
/// ```
/// use tracecheck::report::trace::{SpanRow, TraceTree};
/// let tree = TraceTree::new("1".into(), vec![SpanRow { span_id: "a".into(), status: "error".into(), ..Default::default() }]);
/// let text = tracecheck::report::terminal::waterfall(&tree, 20, &[]);
/// assert!(text.lines().any(|l| l.starts_with(" !")));
/// ```
pub fn waterfall(tree: &TraceTree, bar_width: usize, marked: &[String]) -> String {
    let width = bar_width.max(1);
    let mut out = String::new();
    let services = tree.services().len();
    let _ = writeln!(
        out,
        "trace {}: {} span{}, {services} service{}, {}",
        tree.trace_id,
        tree.spans.len(),
        plural(tree.spans.len()),
        plural(services),
        format_ms(tree.duration)
    );
    let total = format_ms(tree.duration);
    let axis = if width >= total.len() + 2 {
        format!("0{total:>w$}", w = width - 1)
    } else {
        " ".repeat(width)
    };
    let _ = writeln!(
        out,
        "   {:<NAME_WIDTH$} {:<SERVICE_WIDTH$} |{axis}| {:>12}",
        "span", "service", "duration"
    );
    for span in &tree.spans {
        let mark = if marked.iter().any(|m| m == &span.span_id) {
            '*'
        } else {
            ' '
        };
        let error = if span.is_error() { '!' } else { ' ' };
        let _ = writeln!(
            out,
            "{mark}{error} {} {} |{}| {:>12}",
            name_column(span),
            fit(&clean(&span.service), SERVICE_WIDTH),
            bar(tree, span, width),
            span.duration.map_or("-".to_string(), format_ms)
        );
    }
    if tree.spans.iter().any(SpanRow::is_error) || !marked.is_empty() {
        let _ = writeln!(out, "(! error status, * marked span)");
    }
    out
}

fn name_column(span: &SpanRow) -> String {
    let (indent, label) = tree_label(&clean(&span.name), span.depth, MAX_INDENT_DEPTH);
    format!("{indent}{}", fit(&label, NAME_WIDTH - indent.len()))
}

/// Control characters in data (an escape sequence in a span name could rewrite the terminal) are
/// shown escaped.
pub(crate) fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The span's extent on the trace's time axis; spans shorter than a character still get one.
fn bar(tree: &TraceTree, span: &SpanRow, width: usize) -> String {
    let Some(offset) = tree.offset(span) else {
        return " ".repeat(width);
    };
    let (from, to) = if tree.duration <= 0 {
        (0, 1)
    } else {
        let scale = |ns: i64| (i128::from(ns) * width as i128) as f64 / tree.duration as f64;
        let end = offset + span.duration.unwrap_or(0);
        let from = (scale(offset).floor().max(0.0) as usize).min(width - 1);
        let to = (scale(end).ceil() as usize).clamp(from + 1, width);
        (from, to)
    };
    format!(
        "{}{}{}",
        " ".repeat(from),
        "█".repeat(to - from),
        " ".repeat(width - to)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: i64, duration: i64) -> SpanRow {
        SpanRow {
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: format!("op-{id}"),
            service: "svc".into(),
            start: Some(start),
            duration: Some(duration),
            ..Default::default()
        }
    }

    #[test]
    fn bars_are_scaled_to_the_trace_and_names_indented_by_depth() {
        let tree = TraceTree::new(
            "t".into(),
            vec![
                span("root", None, 0, 100),
                span("first", Some("root"), 0, 50),
                span("second", Some("first"), 50, 50),
                span("late", Some("root"), 99, 1),
            ],
        );
        let text = waterfall(&tree, 10, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("trace t: 4 spans, 1 service, 0.000ms"), "{text}");
        let bars: Vec<&str> = lines[2..].iter().map(|l| l.split('|').nth(1).unwrap()).collect();
        assert_eq!(bars, ["██████████", "█████     ", "     █████", "         █"]);
        assert!(lines[3].starts_with("     op-first"), "{text}");
        assert!(lines[4].starts_with("       op-second"), "{text}");
        assert!(lines[2].ends_with("0.000ms"));
    }

    #[test]
    fn control_characters_are_escaped_and_deep_spans_keep_their_depth() {
        let mut spans = vec![span("0", None, 0, 10)];
        for i in 1..30 {
            spans.push(span(&i.to_string(), Some(&(i - 1).to_string()), i, 1));
        }
        spans[3].name = "evil\u{1b}[2Jname".into();
        let text = waterfall(&TraceTree::new("t".into(), spans), 5, &[]);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("evil\\u{1b}[2Jname"), "{text}");
        assert!(text.contains("[depth 29] op-29"), "{text}");
        let widths: Vec<usize> = text.lines().skip(1).map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "aligned columns: {widths:?}");
    }

    #[test]
    fn spans_without_timestamps_have_no_bar() {
        let mut s = span("a", None, 0, 10);
        s.start = None;
        s.duration = None;
        let text = waterfall(&TraceTree::new("t".into(), vec![s]), 4, &[]);
        assert!(text.lines().nth(2).unwrap().contains("|    |"), "{text}");
    }
}
