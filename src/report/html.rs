//! The HTML report (`tracecheck check --report FILE.html`): one self-contained page (styles, script
//! and charts inline, nothing fetched) with a summary of every model and check, each failing model's
//! first violating traces drawn as waterfalls, and each failing check's measurements as charts.
//!
//! Every string from the data or the models goes through [`escape`] (element text and attribute
//! values alike) or, in the span data block, through [`script_json`]; the script writes data into the
//! page with `textContent` only. Rows are plain markup (a 1000-span trace is 1000 small `div`s, no
//! per-row script), so a page of 50 such traces opens quickly; tags live once per trace in the JSON
//! block, read when a span is clicked.
//!
//! ```
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::model::builder::*;
//! let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let model = Model::new("Commits never fail").not_expect(span().name("commit").status("error"));
//! let report = tracecheck::check::check(&model, &ctx).await?;
//! let ids = tracecheck::report::html::traces_to_load(&report, 2);
//! let traces = tracecheck::check::traces::load(&ctx, &ids).await?;
//! let page = tracecheck::report::html::page(&report, &traces, 2);
//! assert_eq!(page.matches("class=\"trace\"").count(), 2);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::chart::rule_chart;
pub use super::escape::escape;
use super::escape::{replace_chars, script_rule};
use super::measurement_label;
use super::trace::TraceTree;
use crate::check::{CheckReport, ModelReport, Report, Violation};
use crate::text::plural;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");
/// Measurements listed per rule in the summary table.
const SUMMARY_GROUPS: usize = 3;

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` become `\u003c`-style
/// escapes (they can only occur inside JSON strings, where the escape means the same), so data
/// holding `</script>` or `<!--` cannot end the block.
///
/// ```
/// let v = serde_json::json!(["</script><script>alert(1)</script>"]);
/// let s = tracecheck::report::html::script_json(&v);
/// assert!(!s.contains('<'));
/// assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
/// ```
pub fn script_json(value: &Value) -> String {
    replace_chars(&value.to_string(), script_rule)
}

/// The traces drawn for a failing model: at most `max` distinct traces, taken from its clauses in
/// turn (first trace of clause 1, of clause 2, ..., then the second of each), so every failing
/// clause is shown.
///
/// ```
/// use tracecheck::check::{ModelReport, Violation};
/// let v = |clause, t: &str| Violation { model: "m".into(), clause, trace_id: t.into(),
///     assignment: vec![], matched: 0, witnesses: vec![] };
/// let m = ModelReport { title: "m".into(), clauses: vec!["a".into(), "b".into()], assignments: 3,
///     traces: 3, violations: vec![v(1, "t1"), v(1, "t2"), v(2, "t3")], warnings: vec![] };
/// assert_eq!(tracecheck::report::html::selected_traces(&m, 2), ["t1", "t3"]);
/// ```
pub fn selected_traces(model: &ModelReport, max: usize) -> Vec<&str> {
    let mut per_clause: Vec<Vec<&str>> = vec![Vec::new(); model.clauses.len().max(1)];
    for v in &model.violations {
        let slot = v.clause.saturating_sub(1).min(per_clause.len() - 1);
        if !per_clause[slot].contains(&v.trace_id.as_str()) {
            per_clause[slot].push(&v.trace_id);
        }
    }
    let mut out: Vec<&str> = Vec::new();
    let longest = per_clause.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for ids in &per_clause {
            if out.len() < max && i < ids.len() && !out.contains(&ids[i]) {
                out.push(ids[i]);
            }
        }
    }
    out
}

/// Every trace the page draws, each once: [`selected_traces`] of every failing model. The caller
/// loads them ([`crate::check::traces::load`]) and hands them to [`page`].
///
/// ```
/// assert!(tracecheck::report::html::traces_to_load(&tracecheck::check::Report::default(), 10).is_empty());
/// ```
pub fn traces_to_load(report: &Report, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in report.models() {
        for id in selected_traces(m, max) {
            if !out.iter().any(|o| o == id) {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// The page for `report`, drawing up to `max_traces` traces per failing model from `traces` (a
/// selected trace missing from `traces` is named, not drawn).
///
/// ```
/// let page = tracecheck::report::html::page(&tracecheck::check::Report::default(), &[], 10);
/// assert!(page.starts_with("<!DOCTYPE html>") && page.contains("0 rules"));
/// assert!(!page.contains("http://") && !page.contains("https://"));
/// ```
pub fn page(report: &Report, traces: &[TraceTree], max_traces: usize) -> String {
    let by_id: HashMap<&str, &TraceTree> = traces.iter().map(|t| (t.trace_id.as_str(), t)).collect();
    let mut colours: HashMap<String, usize> = HashMap::new();
    let mut drawn: Map<String, Value> = Map::new();
    let mut body = String::new();
    for (fi, f) in report.files.iter().enumerate() {
        for (mi, m) in f.models.iter().enumerate().filter(|(_, m)| !m.holds()) {
            model_section(
                &mut body,
                &format!("m{fi}-{mi}"),
                &f.path,
                m,
                max_traces,
                &by_id,
                &mut colours,
            );
            for id in selected_traces(m, max_traces) {
                if let Some(t) = by_id.get(id) {
                    drawn.entry(id.to_string()).or_insert_with(|| trace_json(t));
                }
            }
        }
        // Under --strict a check can fail on a warning alone: it gets its charts too.
        for (ci, c) in f.checks.iter().enumerate().filter(|(_, c)| check_fails(report, c)) {
            check_section(&mut body, &format!("c{fi}-{ci}"), &f.path, c);
        }
    }
    let mut out = String::with_capacity(body.len() + 16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    // An empty icon: otherwise the browser asks the file system for /favicon.ico.
    out.push_str("<link rel=\"icon\" href=\"data:,\"><title>tracecheck report</title>\n<style>");
    out.push_str(STYLE);
    // The script comes first and listens on the document: a large page shows and responds to
    // clicks while the browser is still parsing its rows.
    out.push_str("</style>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script></head>\n<body>\n<aside id=\"tc-panel\" hidden><button id=\"tc-close\" aria-label=\"close\">×</button>");
    out.push_str("<div id=\"tc-body\"></div></aside>\n<header><h1>tracecheck report</h1>");
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}</p></header>\n<main>",
        escape(&totals(report))
    );
    summary(&mut out, report, max_traces);
    out.push_str(&body);
    out.push_str("</main>\n<script type=\"application/json\" id=\"tc-data\">");
    out.push_str(&script_json(&Value::Object(drawn)));
    out.push_str("</script>\n</body></html>\n");
    out
}

fn model_fails(report: &Report, m: &ModelReport) -> bool {
    !m.holds() || (report.strict && !m.warnings.is_empty())
}

fn check_fails(report: &Report, c: &CheckReport) -> bool {
    !c.holds() || (report.strict && c.warnings().next().is_some())
}

/// The same counts as the text report's last line.
fn totals(report: &Report) -> String {
    let total = report.models().count() + report.checks().count();
    let failed = report.models().filter(|m| model_fails(report, m)).count()
        + report.checks().filter(|c| check_fails(report, c)).count();
    let v = report.violation_count();
    format!(
        "{total} rule{}: {} hold, {failed} fail; {v} violation{}",
        plural(total),
        total - failed,
        plural(v)
    )
}

fn result_cell(fails: bool) -> &'static str {
    if fails {
        "<td class=\"res bad\">fails</td>"
    } else {
        "<td class=\"res ok\">holds</td>"
    }
}

fn summary(out: &mut String, report: &Report, max_traces: usize) {
    out.push_str("<section id=\"summary\"><h2>Summary</h2><table class=\"sum\"><tr><th>result</th>");
    out.push_str("<th>rule</th><th>file</th><th>violations</th><th>details</th></tr>\n");
    for (fi, f) in report.files.iter().enumerate() {
        for (mi, m) in f.models.iter().enumerate() {
            let title = if m.holds() {
                escape(&m.title)
            } else {
                format!("<a href=\"#m{fi}-{mi}\">{}</a>", escape(&m.title))
            };
            let mut details = format!("applied to {} trace{}", m.traces, plural(m.traces as usize));
            if !m.holds() {
                let shown = selected_traces(m, max_traces).len();
                let _ = write!(
                    details,
                    "; {} violating trace{}, {shown} drawn",
                    m.violating_traces(),
                    plural(m.violating_traces())
                );
            }
            for w in &m.warnings {
                let _ = write!(details, "<br><span class=\"warn\">warning: {}</span>", escape(w));
            }
            let _ = writeln!(
                out,
                "<tr>{}<td>model {title}</td><td>{}</td><td class=\"n\">{}</td><td>{details}</td></tr>",
                result_cell(model_fails(report, m)),
                escape(&f.path),
                m.violations.len()
            );
        }
        for (ci, c) in f.checks.iter().enumerate() {
            let title = if !check_fails(report, c) {
                escape(&c.title)
            } else {
                format!("<a href=\"#c{fi}-{ci}\">{}</a>", escape(&c.title))
            };
            let failing: usize = c.rules.iter().map(|r| r.failures().count()).sum();
            let mut details = String::from("<ul>");
            for r in &c.rules {
                let _ = write!(details, "<li>rule {}: <code>{}</code><br>", r.index, escape(&r.text));
                let mut shown: Vec<_> = r.failures().collect();
                shown.extend(r.measurements.iter().filter(|m| m.holds));
                let values: Vec<String> = shown
                    .iter()
                    .take(SUMMARY_GROUPS)
                    .map(|m| {
                        let class = if m.holds { "ok" } else { "bad" };
                        format!(
                            "<span class=\"res {class}\">{}</span>",
                            escape(&measurement_label(r, m, false))
                        )
                    })
                    .collect();
                details.push_str(&values.join("; "));
                if shown.len() > SUMMARY_GROUPS {
                    let _ = write!(details, "; … {} more", shown.len() - SUMMARY_GROUPS);
                }
                for w in &r.warnings {
                    let _ = write!(details, "<br><span class=\"warn\">warning: {}</span>", escape(w));
                }
                details.push_str("</li>");
            }
            details.push_str("</ul>");
            let _ = writeln!(
                out,
                "<tr>{}<td>check {title}</td><td>{}</td><td class=\"n\">{failing} failing group{}</td><td>{details}</td></tr>",
                result_cell(check_fails(report, c)),
                escape(&f.path),
                plural(failing)
            );
        }
    }
    out.push_str("</table></section>\n");
}

fn model_section(
    out: &mut String,
    id: &str,
    path: &str,
    m: &ModelReport,
    max_traces: usize,
    traces: &HashMap<&str, &TraceTree>,
    colours: &mut HashMap<String, usize>,
) {
    let selected = selected_traces(m, max_traces);
    let _ = writeln!(
        out,
        "<section class=\"rule\" id=\"{id}\"><h2><span class=\"res bad\">fails</span> model {}</h2>",
        escape(&m.title)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · applied to {} trace{} · {} violation{} in {} trace{} · first {} drawn</p><ol class=\"why\">",
        escape(path),
        m.traces,
        plural(m.traces as usize),
        m.violations.len(),
        plural(m.violations.len()),
        m.violating_traces(),
        plural(m.violating_traces()),
        selected.len()
    );
    for (i, clause) in m.clauses.iter().enumerate() {
        let mut ids: Vec<&str> = m
            .violations
            .iter()
            .filter(|v| v.clause == i + 1)
            .map(|v| v.trace_id.as_str())
            .collect();
        ids.dedup();
        let status = if ids.is_empty() {
            "holds".to_string()
        } else {
            format!("violated in {} trace{}", ids.len(), plural(ids.len()))
        };
        let _ = writeln!(out, "<li><code>{}</code> — {status}</li>", escape(clause));
    }
    out.push_str("</ol>\n");
    for w in &m.warnings {
        let _ = writeln!(out, "<p class=\"warn\">warning: {}</p>", escape(w));
    }
    for trace_id in selected {
        let violations: Vec<&Violation> = m.violations.iter().filter(|v| v.trace_id == trace_id).collect();
        match traces.get(trace_id) {
            Some(t) => super::waterfall::trace_block(out, t, m, &violations, colours),
            None => {
                let _ = writeln!(
                    out,
                    "<p class=\"warn\">trace {}: not found in the data</p>",
                    escape(trace_id)
                );
            }
        }
    }
    out.push_str("</section>\n");
}

/// One trace's spans for the panel: `{"t": [[scope, key, value], ...], "s": [span, ...]}` with each
/// span `[span_id, parent, name, service, kind, status, status_message, offset_ns, duration_ns,
/// [tag index, ...]]`, in row order. Tags are stored once per trace and referred to by index:
/// resource attributes repeat on every span of a service (the SmartThings trace has 5869 tags, 478
/// distinct), and the table keeps the page a third of the size.
fn trace_json(t: &TraceTree) -> Value {
    let mut table: Vec<Value> = Vec::new();
    let mut seen: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let spans: Vec<Value> = t
        .spans
        .iter()
        .map(|s| {
            let tags: Vec<usize> = s
                .tags
                .iter()
                .map(|g| {
                    *seen.entry((&g.scope, &g.key, &g.value)).or_insert_with(|| {
                        table.push(json!([g.scope, g.key, g.value]));
                        table.len() - 1
                    })
                })
                .collect();
            json!([
                s.span_id,
                s.parent_span_id,
                s.name,
                s.service,
                s.kind,
                s.status,
                s.status_message,
                t.offset(s),
                s.duration,
                tags
            ])
        })
        .collect();
    json!({ "t": table, "s": spans })
}

fn check_section(out: &mut String, id: &str, path: &str, c: &CheckReport) {
    let _ = writeln!(
        out,
        "<section class=\"rule\" id=\"{id}\"><h2><span class=\"res bad\">fails</span> check {}</h2><p class=\"meta\">{}</p>",
        escape(&c.title),
        escape(path)
    );
    for r in &c.rules {
        let failing = r.failures().count();
        let _ = writeln!(
            out,
            "<div class=\"chk\"><h3>rule {}: <code>{}</code></h3><p class=\"meta\">{} of {} group{} fail{}; {} aggregated</p>",
            r.index,
            escape(&r.text),
            failing,
            r.measurements.len(),
            plural(r.measurements.len()),
            if failing == 1 { "s" } else { "" },
            r.aggregated
        );
        out.push_str(&rule_chart(r));
        for w in &r.warnings {
            let _ = writeln!(out, "<p class=\"warn\">warning: {}</p>", escape(w));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_survives_every_breakout() {
        let hostile = "</script><!--<script>alert(1)</script>&\u{2028}";
        let s = script_json(&json!({ hostile: [hostile] }));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&') && !s.contains('\u{2028}'));
        assert_eq!(
            serde_json::from_str::<Value>(&s).unwrap(),
            json!({ hostile: [hostile] })
        );
    }
}
