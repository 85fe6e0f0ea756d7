//! One violating trace drawn as an HTML waterfall: the failing clauses above it, then one row per
//! span (indented by depth, a bar on the trace's time axis, coloured by service, errors and the
//! violation's witness and let spans marked). A span with children is followed by a `.k` container
//! holding its subtree, so collapsing is one class on the row and one CSS rule; a subtree that starts
//! collapsed is a `<template class="k">` that the script turns into a live `div` when first opened.

use std::collections::HashMap;
use std::fmt::Write;

use super::escape::escape;
use super::trace::{format_ms, TraceTree};
use crate::check::{ModelReport, Violation};
use crate::text::plural;

/// Violations listed above one trace; the rest are counted.
const LISTED_VIOLATIONS: usize = 12;
/// Larger traces start collapsed to about this many visible rows (plus the paths to marked spans).
const VISIBLE_ROWS: usize = 150;
/// Service colours in the stylesheet (`.s0` ...), reused in turn beyond that.
const PALETTE: usize = 12;
/// Pixels per row (20px and a 1px border, see report.css).
const ROW_HEIGHT: usize = 21;
/// Indentation stops here (in levels): names of very deep spans keep some room.
const MAX_INDENT: usize = 40;

/// Appends the block of trace `t` for model `m`; `violations` are the model's violations in `t`.
pub(super) fn trace_block(
    out: &mut String,
    t: &TraceTree,
    m: &ModelReport,
    violations: &[&Violation],
    colours: &mut HashMap<String, usize>,
) {
    let index: HashMap<&str, usize> = t
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut clauses_of: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut lets_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for v in violations {
        for w in &v.witnesses {
            let c = clauses_of.entry(w).or_default();
            if !c.contains(&v.clause) {
                c.push(v.clause);
            }
        }
        for (name, id) in &v.assignment {
            let l = lets_of.entry(id).or_default();
            if !l.contains(&name.as_str()) {
                l.push(name);
            }
        }
    }
    let marked: Vec<bool> = t
        .spans
        .iter()
        .map(|s| clauses_of.contains_key(s.span_id.as_str()) || lets_of.contains_key(s.span_id.as_str()))
        .collect();
    let collapsed = initially_collapsed(t, &marked);
    let services = t.services();
    let _ = writeln!(
        out,
        "<div class=\"trace\"><h3>trace <code>{}</code> <span class=\"meta\">{} span{} · {} service{} · {}</span></h3><ul class=\"why\">",
        escape(&t.trace_id),
        t.spans.len(),
        plural(t.spans.len()),
        services.len(),
        plural(services.len()),
        format_ms(t.duration)
    );
    for v in violations.iter().take(LISTED_VIOLATIONS) {
        let clause = m.clauses.get(v.clause.wrapping_sub(1)).map_or("", String::as_str);
        let _ = write!(
            out,
            "<li><b>clause {}</b> <code>{}</code> failed: {} span{} matched",
            v.clause,
            escape(clause),
            v.matched,
            plural(v.matched as usize)
        );
        if !v.witnesses.is_empty() {
            out.push_str(" (marked ★ below)");
        }
        for (name, id) in &v.assignment {
            let span = index.get(id.as_str()).map_or("?", |&i| t.spans[i].name.as_str());
            let _ = write!(
                out,
                "; <code>{}</code> = {} ({})",
                escape(name),
                escape(span),
                escape(id)
            );
        }
        out.push_str("</li>\n");
    }
    if violations.len() > LISTED_VIOLATIONS {
        let _ = writeln!(
            out,
            "<li>… and {} more violations in this trace</li>",
            violations.len() - LISTED_VIOLATIONS
        );
    }
    out.push_str("</ul><div class=\"tools\"><button data-act=\"open\">expand all</button>");
    out.push_str("<button data-act=\"close\">collapse all</button>");
    if collapsed.iter().any(|&c| c) {
        out.push_str(" large trace: deeper levels start collapsed (▸ opens them) ·");
    }
    out.push_str("<span class=\"legend\">");
    for s in &services {
        let _ = write!(out, "<i class=\"s{}\"></i>{}", colour(colours, s), escape(s));
    }
    // Off-screen waterfalls are not laid out (`content-visibility: auto`, three times faster to
    // load 50 traces of 1041 spans); their height until then is that of the rows shown at first.
    let _ = writeln!(
        out,
        "</span></div>\n<div class=\"wf\" data-t=\"{}\" data-n=\"{}\" style=\"contain-intrinsic-size:auto {}px\">",
        escape(&t.trace_id),
        t.spans.len(),
        (visible_rows(t, &collapsed) + 1) * ROW_HEIGHT
    );
    out.push_str("<div class=\"hd\"><span>span</span><span>service</span><span class=\"ax\">");
    for q in 0..=4i64 {
        let _ = write!(
            out,
            "<b style=\"left:{}%\">{}</b>",
            q * 25,
            format_ms(t.duration * q / 4)
        );
    }
    out.push_str("</span><span>duration</span></div>\n");
    // Open containers: (depth of their row, whether it is a template).
    let mut open: Vec<(usize, bool)> = Vec::new();
    for (i, s) in t.spans.iter().enumerate() {
        while let Some(&(d, template)) = open.last() {
            if d < s.depth {
                break;
            }
            out.push_str(if template { "</template>" } else { "</div>" });
            open.pop();
        }
        let mut class = String::from("sp");
        for (on, c) in [
            (s.descendants > 0, " p"),
            (s.is_error(), " e"),
            (clauses_of.contains_key(s.span_id.as_str()), " w"),
            (lets_of.contains_key(s.span_id.as_str()), " a"),
            (collapsed[i], " c"),
        ] {
            if on {
                class.push_str(c);
            }
        }
        let _ = write!(
            out,
            "<div class=\"{class}\" data-i=\"{i}\"><span class=\"nm\" style=\"--d:{}\">",
            s.depth.min(MAX_INDENT)
        );
        if s.descendants > 0 {
            out.push_str("<b class=\"tg\"></b>");
        }
        if s.is_error() {
            out.push_str("<em class=\"be\">error</em>");
        }
        if let Some(clauses) = clauses_of.get(s.span_id.as_str()) {
            let list: Vec<String> = clauses.iter().map(usize::to_string).collect();
            let _ = write!(out, "<em class=\"bw\">★ clause {}</em>", list.join(", "));
        }
        if let Some(names) = lets_of.get(s.span_id.as_str()) {
            let _ = write!(out, "<em class=\"ba\">{}</em>", escape(&names.join(", ")));
        }
        // An empty or whitespace-only name (the SmartThings trace has 120 spans named "\n") would
        // leave the cell blank.
        if s.name.is_empty() {
            out.push_str("<small>(no name)</small>");
        } else if s.name.trim().is_empty() {
            let _ = write!(out, "<small>(blank name {})</small>", escape(&format!("{:?}", s.name)));
        }
        let _ = write!(
            out,
            "{}</span><span class=\"sv\">{}</span>",
            escape(&s.name),
            escape(&s.service)
        );
        // The bar is the cell's `::after`, placed by two custom properties: no element of its own,
        // and nothing to lay out while the row is collapsed.
        match t.offset(s) {
            Some(offset) => {
                let pct = |ns: i64| {
                    if t.duration > 0 {
                        ns as f64 * 100.0 / t.duration as f64
                    } else {
                        0.0
                    }
                };
                let _ = write!(
                    out,
                    "<span class=\"br s{}\" style=\"--l:{:.3}%;--w:{:.3}%\"></span>",
                    colour(colours, &s.service),
                    pct(offset),
                    pct(s.duration.unwrap_or(0))
                );
            }
            None => out.push_str("<span class=\"br\"></span>"),
        }
        // No newline between rows: 50 traces of 1000 spans would parse 50,000 extra text nodes.
        let _ = write!(
            out,
            "<span class=\"du\">{}</span></div>",
            s.duration.map_or("-".to_string(), format_ms)
        );
        // A subtree that starts collapsed is an inert template: the browser parses it but builds
        // no live nodes until it is opened, which made a page of 50 traces of 1041 spans load
        // about five times faster in Chromium.
        if s.descendants > 0 {
            out.push_str(if collapsed[i] {
                "<template class=\"k\">"
            } else {
                "<div class=\"k\">"
            });
            open.push((s.depth, collapsed[i]));
        }
    }
    for (_, template) in open.into_iter().rev() {
        out.push_str(if template { "</template>" } else { "</div>" });
    }
    out.push_str("</div></div>\n");
}

/// Rows not inside a collapsed subtree.
fn visible_rows(t: &TraceTree, collapsed: &[bool]) -> usize {
    let (mut shown, mut i) = (0, 0);
    while i < t.spans.len() {
        shown += 1;
        i += 1 + if collapsed[i] { t.spans[i].descendants } else { 0 };
    }
    shown
}

/// The colour class of a service: the same service has the same colour on the whole page.
fn colour(colours: &mut HashMap<String, usize>, service: &str) -> usize {
    let next = colours.len();
    *colours.entry(service.to_string()).or_insert(next) % PALETTE
}

/// The tree's rows that start collapsed: in a large trace, every span with children at or below the
/// deepest level that still fits [`VISIBLE_ROWS`], unless its subtree holds a marked span.
fn initially_collapsed(t: &TraceTree, marked: &[bool]) -> Vec<bool> {
    let n = t.spans.len();
    if n <= VISIBLE_ROWS {
        return vec![false; n];
    }
    let mut per_depth: Vec<usize> = Vec::new();
    for s in &t.spans {
        if per_depth.len() <= s.depth {
            per_depth.resize(s.depth + 1, 0);
        }
        per_depth[s.depth] += 1;
    }
    let (mut limit, mut seen) = (0, 0);
    for (d, count) in per_depth.iter().enumerate() {
        seen += count;
        if seen > VISIBLE_ROWS {
            break;
        }
        limit = d;
    }
    // Prefix sums of marks: a subtree is a contiguous run of rows.
    let mut before = vec![0usize; n + 1];
    for i in 0..n {
        before[i + 1] = before[i] + usize::from(marked[i]);
    }
    t.spans
        .iter()
        .enumerate()
        .map(|(i, s)| s.descendants > 0 && s.depth >= limit && before[i + 1 + s.descendants] == before[i + 1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::trace::SpanRow;

    /// A chain of `n` spans, span `i` the parent of span `i + 1`.
    fn chain(n: usize) -> TraceTree {
        let spans: Vec<SpanRow> = (0..n)
            .map(|i| SpanRow {
                span_id: format!("{i}"),
                parent_span_id: (i > 0).then(|| format!("{}", i - 1)),
                start: Some(i as i64),
                duration: Some(1),
                ..Default::default()
            })
            .collect();
        TraceTree::new("t".into(), spans)
    }

    #[test]
    fn large_traces_start_collapsed_except_towards_marked_spans() {
        // Only the top 150 levels fit, so span 149 starts collapsed.
        let t = chain(200);
        let none = vec![false; 200];
        let c = initially_collapsed(&t, &none);
        assert_eq!(c.iter().position(|&x| x), Some(149));
        let mut marked = none;
        marked[199] = true;
        assert!(initially_collapsed(&t, &marked).iter().all(|&x| !x));
    }

    #[test]
    fn collapsed_subtrees_are_templates_and_every_tag_is_closed() {
        let t = chain(200);
        let v = Violation {
            model: "m".into(),
            clause: 1,
            trace_id: "t".into(),
            assignment: vec![("x".into(), "3".into())],
            matched: 1,
            witnesses: vec!["5".into()],
        };
        let m = ModelReport {
            title: "m".into(),
            clauses: vec!["expect no span()".into()],
            assignments: 1,
            traces: 1,
            violations: vec![v.clone()],
            warnings: vec![],
        };
        let mut out = String::new();
        trace_block(&mut out, &t, &m, &[&v], &mut HashMap::new());
        assert_eq!(out.matches("<div class=\"sp").count(), 200);
        // Spans 149..=198 have children at or below the limit: each subtree is a template, nested,
        // so opening one shows the next level still collapsed.
        assert_eq!(out.matches("<template class=\"k\">").count(), 50);
        assert_eq!(out.matches("</template>").count(), 50);
        assert!(out.contains("<div class=\"sp p c\" data-i=\"149\">"));
        assert!(out.contains("<div class=\"sp p\" data-i=\"148\">"));
        assert_eq!(out.matches("<div").count(), out.matches("</div>").count());
        assert_eq!(out.matches("<div class=\"sp p w\"").count(), 1, "the witness");
        assert_eq!(out.matches("<div class=\"sp p a\"").count(), 1, "the let span");
        // 150 rows shown, plus the header.
        assert!(
            out.contains(&format!("contain-intrinsic-size:auto {}px", 151 * ROW_HEIGHT)),
            "{out}"
        );
    }
}
