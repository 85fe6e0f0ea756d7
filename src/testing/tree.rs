//! One captured trace drawn as an indented tree of spans, for a failure message: name (indented by
//! depth), service, duration, the tags the model mentions, and markers on chosen spans.
//!
//! ```text
//! /:account/withdraw  bank  1.204ms  http.status_code=200
//!   withdrawal        bank  0.988ms  amount=500
//!     fetch-balance   bank  0.101ms  amount=300
//!     commit          bank  0.052ms                        ◀ witness of clause 2
//! ```

use std::collections::{BTreeSet, HashMap};

use super::fields;
use super::style::{clean, Style, Styled};
use crate::ingest::{span_id_hex, Span, StatusCode};
use crate::model::ast::Field;
use crate::report::trace::{format_ms, SpanRow, TraceTree};
use crate::text::{cut, plural, tree_label};

/// Traces with more spans than this show only the marked spans and their ancestors.
const MAX_ROWS: usize = 40;
/// Deeper spans are not indented further.
const MAX_INDENT_DEPTH: usize = 16;
/// Characters of the name column, indentation included.
const MAX_NAME_WIDTH: usize = 48;
/// Characters of the service column.
const MAX_SERVICE_WIDTH: usize = 20;

/// What to write after a span: e.g. `w`, `witness of clause 2`, by span id.
pub(crate) type Marks = HashMap<u64, BTreeSet<String>>;

/// Draws `spans` (one trace) into `out`, each line starting with `indent`.
pub(crate) fn draw(out: &mut Styled, spans: &[&Span], fields: &[Field], marks: &Marks, indent: &str) {
    let by_id: HashMap<String, &Span> = spans.iter().map(|s| (span_id_hex(s.span_id), *s)).collect();
    let rows = spans
        .iter()
        .map(|s| SpanRow {
            span_id: span_id_hex(s.span_id),
            parent_span_id: s.parent_span_id.map(span_id_hex),
            name: s.name.clone(),
            start: s.start_ns,
            duration: s.duration_ns(),
            ..SpanRow::default()
        })
        .collect();
    let tree = TraceTree::new(String::new(), rows);
    let keep = shown(&tree, &by_id, marks);
    let cols = Columns::new(&tree, &by_id, &keep);
    let mut skipped = 0usize;
    for (i, row) in tree.spans.iter().enumerate() {
        if !keep[i] {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            out.styled(
                Style::Dim,
                format!("{indent}… {skipped} span{} not shown\n", plural(skipped)),
            );
            skipped = 0;
        }
        let span = by_id[&row.span_id];
        let mut line = format!(
            "{indent}{:<nw$}  {:<sw$}  {:>dw$}",
            cut(&name_column(row), cols.name),
            cut(&clean(&span.service), cols.service),
            row.duration.map_or("-".to_string(), format_ms),
            nw = cols.name,
            sw = cols.service,
            dw = cols.duration,
        );
        let mut tags = fields::values(span, fields);
        if span.status == StatusCode::Error && !fields.contains(&Field::Status) {
            tags.push("status=error".into());
        }
        for t in &tags {
            line.push_str("  ");
            line.push_str(&clean(t));
        }
        match marks.get(&span.span_id) {
            Some(m) => {
                out.text(line);
                let labels: Vec<&str> = m.iter().map(String::as_str).collect();
                out.styled(Style::Yellow, format!("  ◀ {}", labels.join(", ")));
            }
            None => {
                out.text(line.trim_end());
            }
        }
        out.text("\n");
    }
    if skipped > 0 {
        out.styled(
            Style::Dim,
            format!("{indent}… {skipped} span{} not shown\n", plural(skipped)),
        );
    }
}

/// Every row of a small trace; of a large one, the marked rows and their ancestors.
fn shown(tree: &TraceTree, by_id: &HashMap<String, &Span>, marks: &Marks) -> Vec<bool> {
    if tree.spans.len() <= MAX_ROWS {
        return vec![true; tree.spans.len()];
    }
    let index: HashMap<&str, usize> = tree
        .spans
        .iter()
        .enumerate()
        .map(|(i, r)| (r.span_id.as_str(), i))
        .collect();
    let mut keep = vec![false; tree.spans.len()];
    keep[0] = true;
    for (i, row) in tree.spans.iter().enumerate() {
        if !marks.contains_key(&by_id[&row.span_id].span_id) {
            continue;
        }
        let mut at = Some(i);
        // Ancestors are unique per row, so the walk ends; `keep` stops it early on a shared path.
        while let Some(j) = at {
            if keep[j] && j != i {
                break;
            }
            keep[j] = true;
            at = tree.spans[j]
                .parent_span_id
                .as_deref()
                .and_then(|p| index.get(p).copied())
                .filter(|&p| p != j && tree.spans[p].depth < tree.spans[j].depth);
        }
    }
    keep
}

struct Columns {
    name: usize,
    service: usize,
    duration: usize,
}

impl Columns {
    fn new(tree: &TraceTree, by_id: &HashMap<String, &Span>, keep: &[bool]) -> Columns {
        let rows = || tree.spans.iter().zip(keep).filter(|(_, k)| **k).map(|(r, _)| r);
        Columns {
            name: rows()
                .map(|r| name_column(r).chars().count())
                .max()
                .unwrap_or(0)
                .min(MAX_NAME_WIDTH),
            service: rows()
                .map(|r| clean(&by_id[&r.span_id].service).chars().count())
                .max()
                .unwrap_or(0)
                .min(MAX_SERVICE_WIDTH),
            duration: rows()
                .map(|r| r.duration.map_or(1, |d| format_ms(d).len()))
                .max()
                .unwrap_or(0),
        }
    }
}

fn name_column(row: &SpanRow) -> String {
    let (indent, label) = tree_label(&clean(&row.name), row.depth, MAX_INDENT_DEPTH);
    format!("{indent}{label}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Attr, Value};

    fn span(id: u64, parent: Option<u64>, name: &str, start: i64, end: i64) -> Span {
        Span {
            trace_id: 1,
            span_id: id,
            parent_span_id: parent,
            name: name.into(),
            service: "bank".into(),
            start_ns: Some(start),
            end_ns: Some(end),
            ..Span::default()
        }
    }

    #[test]
    fn a_tree_with_tags_and_marks() {
        let mut w = span(2, Some(1), "withdrawal", 100_000, 900_000);
        w.attributes.push(Attr::new("amount", Value::Int(500)));
        let mut c = span(3, Some(2), "commit", 800_000, 850_000);
        c.status = StatusCode::Error;
        let spans = [span(1, None, "/:account/withdraw", 0, 1_000_000), c, w];
        let refs: Vec<&Span> = spans.iter().collect();
        let marks = Marks::from([(3, BTreeSet::from(["witness of clause 2".to_string()]))]);
        let mut out = Styled::default();
        draw(&mut out, &refs, &[Field::Tag("amount".into())], &marks, "  ");
        assert_eq!(
            out.plain(),
            "  /:account/withdraw  bank  1.000ms\n\
             \x20   withdrawal        bank  0.800ms  amount=500\n\
             \x20     commit          bank  0.050ms  status=error  ◀ witness of clause 2\n"
        );
    }

    #[test]
    fn large_traces_show_the_marked_spans_and_their_ancestors() {
        let mut spans = vec![span(1, None, "root", 0, 1000)];
        for i in 2..100u64 {
            spans.push(span(i, Some(1), &format!("child-{i}"), i as i64, i as i64 + 1));
        }
        spans.push(span(100, Some(50), "deep", 60, 61));
        let refs: Vec<&Span> = spans.iter().collect();
        let marks = Marks::from([(100, BTreeSet::from(["w".to_string()]))]);
        let mut out = Styled::default();
        draw(&mut out, &refs, &[], &marks, "");
        let text = out.plain();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("root"));
        assert_eq!(lines[1], "… 48 spans not shown");
        assert!(lines[2].starts_with("  child-50"));
        assert!(lines[3].starts_with("    deep") && lines[3].ends_with("◀ w"), "{text}");
        assert_eq!(lines[4], "… 49 spans not shown");
    }
}
