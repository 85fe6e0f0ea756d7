//! The text of span results: `<trace_id> <span_id>` lines with `select` fields, under `by` headers
//! when the pipeline ends grouped (README "Span results", "`select(...)`", "Grouping").

use std::collections::{BTreeMap, BTreeSet};

use tracecheck::traceql::ast::FieldRef;

use super::expr;
use super::spanset::Spanset;
use super::trace::Trace;

/// The lines of a span result; empty when no span is left.
pub fn span_lines(traces: &[Trace<'_>], sets: &[Spanset], selects: &[FieldRef]) -> Vec<String> {
    // Fixed-width lowercase hex ids, so sorting the lines as text sorts by trace id then span id; a
    // span in several spansets gives the same line, which the set keeps once.
    let mut groups: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
    for s in sets {
        let header = s.group.as_ref().map(|values| format!("by {}", values.join(", ")));
        let lines = groups.entry(header).or_default();
        for &i in &s.spans {
            lines.insert(line(&traces[s.trace], i, selects));
        }
    }
    let mut out = Vec::new();
    for (header, lines) in groups {
        out.extend(header);
        out.extend(lines);
    }
    out
}

fn line(trace: &Trace<'_>, i: usize, selects: &[FieldRef]) -> String {
    let mut line = format!("{:032x} {:016x}", trace.id, trace.spans[i].span_id);
    for f in selects {
        // A field the span lacks prints `nil`, never left out (Decision 17).
        line.push_str(&format!(" {f}={}", expr::field_of(f, trace, i).print()));
    }
    line
}
