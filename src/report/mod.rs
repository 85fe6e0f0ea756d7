//! Rendering a check [`Report`]: text for people, JSON for programs, JUnit XML for CI systems, and an
//! HTML page drawing the violating traces as waterfalls ([`html`]); one trace as a waterfall in the
//! terminal ([`terminal`], `tracecheck show`). The traces drawn are loaded below, by
//! [`crate::check::traces`], and handed in: nothing here queries data.
//!
//! ```
//! use tracecheck::check::Report;
//! let empty = Report::default();
//! assert!(tracecheck::report::text(&empty, 5).contains("0 rules"));
//! assert!(tracecheck::report::junit(&empty).starts_with("<?xml"));
//! assert_eq!(tracecheck::report::json(&empty)["files"], serde_json::json!([]));
//! ```

mod chart;
mod escape;
pub mod html;
mod json_out;
pub mod terminal;
pub mod trace;
mod waterfall;

use std::fmt::Write;

use escape::xml;
pub use json_out::write_json;

use crate::check::{display_value, CheckReport, Measurement, ModelReport, Report, RuleReport, Violation};
use crate::text::plural;

/// The report for people: per model, holds or fails with how often `when` held; per failing clause the
/// number of traces and the first `max_traces` of them with their witness spans; warnings; a summary.
pub fn text(report: &Report, max_traces: usize) -> String {
    let mut out = String::new();
    let mut failed = 0;
    let mut total = 0;
    for f in &report.files {
        let _ = writeln!(out, "{}", f.path);
        for m in &f.models {
            total += 1;
            let fails = !m.holds() || (report.strict && !m.warnings.is_empty());
            failed += usize::from(fails);
            let _ = writeln!(
                out,
                "  {} {}  ({})",
                if m.holds() { "ok  " } else { "FAIL" },
                m.title,
                applied(m)
            );
            for (i, clause) in m.clauses.iter().enumerate() {
                let vs: Vec<&Violation> = m.violations.iter().filter(|v| v.clause == i + 1).collect();
                if vs.is_empty() {
                    continue;
                }
                let mut traces: Vec<&str> = vs.iter().map(|v| v.trace_id.as_str()).collect();
                traces.dedup();
                let _ = writeln!(
                    out,
                    "       clause {}: {clause}\n         violated in {} trace{}",
                    i + 1,
                    traces.len(),
                    plural(traces.len())
                );
                for v in vs.iter().take(max_traces) {
                    let _ = writeln!(out, "         - trace {}{}", v.trace_id, witness_text(v));
                }
                if vs.len() > max_traces {
                    let _ = writeln!(out, "         … and {} more", vs.len() - max_traces);
                }
            }
            for w in &m.warnings {
                let _ = writeln!(out, "       warning: {w}");
            }
        }
        for c in &f.checks {
            total += 1;
            let fails = !c.holds() || (report.strict && c.warnings().next().is_some());
            failed += usize::from(fails);
            check_text(&mut out, c, max_traces);
        }
    }
    let _ = writeln!(
        out,
        "{total} rule{}: {} hold, {failed} fail; {} violation{}",
        plural(total),
        total - failed,
        report.violation_count(),
        plural(report.violation_count())
    );
    out
}

/// At most this many groups are listed per rule (failing ones first); JSON has all of them.
fn check_text(out: &mut String, c: &CheckReport, max_groups: usize) {
    let _ = writeln!(out, "  {} {}", if c.holds() { "ok  " } else { "FAIL" }, c.title);
    for r in &c.rules {
        let failing = r.failures().count();
        let _ = writeln!(
            out,
            "       rule {}: {}\n         {} group{}, {failing} failing, {} aggregated",
            r.index,
            r.text,
            r.measurements.len(),
            plural(r.measurements.len()),
            r.aggregated
        );
        let mut shown: Vec<&Measurement> = r.failures().collect();
        shown.extend(r.measurements.iter().filter(|m| m.holds));
        for m in shown.iter().take(max_groups.max(1)) {
            let _ = writeln!(
                out,
                "         {} {}",
                if m.holds { "ok  " } else { "FAIL" },
                measurement_text(r, m)
            );
        }
        if shown.len() > max_groups.max(1) {
            let _ = writeln!(out, "         … and {} more groups", shown.len() - max_groups.max(1));
        }
        for w in &r.warnings {
            let _ = writeln!(out, "         warning: {w}");
        }
    }
}

/// `group = value, window W: measured (must be OP threshold)`, values in the rule's unit; group
/// values in quotes when `quote` (the text report), as they are when an escaping page shows them.
pub(crate) fn measurement_label(r: &RuleReport, m: &Measurement, quote: bool) -> String {
    let mut parts: Vec<String> = m
        .group
        .iter()
        .map(|(k, v)| {
            if quote {
                format!("{k} = {v:?}")
            } else {
                format!("{k} = {v}")
            }
        })
        .collect();
    if let Some(w) = &m.window_start {
        parts.push(format!("window {w}"));
    }
    let what = if parts.is_empty() {
        "all".to_string()
    } else {
        parts.join(", ")
    };
    let value = m.value.map_or("no value".into(), |v| display_value(v, r.unit));
    let mut s = format!("{what}: {value}");
    if let Some(t) = m.threshold {
        let _ = write!(s, " (must be {} {})", r.op, display_value(t, r.unit));
    }
    s
}

/// The text report's line for a measurement: its label, the baseline value and the count.
fn measurement_text(r: &RuleReport, m: &Measurement) -> String {
    let mut s = measurement_label(r, m, true);
    if let Some(b) = m.baseline {
        let _ = write!(s, " [baseline {}]", display_value(b, r.unit));
    }
    let _ = write!(s, " over {}", m.n);
    s
}

fn applied(m: &ModelReport) -> String {
    let mut s = format!("applied to {} trace{}", m.traces, plural(m.traces as usize));
    if m.assignments != m.traces {
        let _ = write!(s, ", {} assignments", m.assignments);
    }
    if !m.violations.is_empty() {
        let _ = write!(
            s,
            "; {} violation{} in {} trace{}",
            m.violations.len(),
            plural(m.violations.len()),
            m.violating_traces(),
            plural(m.violating_traces())
        );
    }
    s
}

fn witness_text(v: &Violation) -> String {
    let mut s = String::new();
    for (name, id) in &v.assignment {
        let _ = write!(s, " {name}={id}");
    }
    let _ = write!(s, "  matched {}", v.matched);
    if !v.witnesses.is_empty() {
        let shown: Vec<&str> = v.witnesses.iter().take(5).map(String::as_str).collect();
        let _ = write!(s, " [{}", shown.join(", "));
        if v.witnesses.len() > 5 {
            let _ = write!(s, ", … {} more", v.witnesses.len() - 5);
        }
        s.push(']');
    }
    s
}

/// The whole report as JSON (every violation, every count).
pub fn json(report: &Report) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}

/// JUnit XML: one `testsuite` per model file, one `testcase` per model; a failing model has one
/// `failure` naming its violating traces per clause.
pub fn junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = report.files.iter().map(|f| f.models.len() + f.checks.len()).sum();
    let failures = report.models().filter(|m| !m.holds()).count() + report.checks().filter(|c| !c.holds()).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"tracecheck\" tests=\"{tests}\" failures=\"{failures}\">"
    );
    for f in &report.files {
        let fails = f.models.iter().filter(|m| !m.holds()).count() + f.checks.iter().filter(|c| !c.holds()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\">",
            xml(&f.path),
            f.models.len() + f.checks.len()
        );
        for m in &f.models {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&f.path),
                xml(&m.title)
            );
            if m.holds() && m.warnings.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            if !m.holds() {
                let mut body = String::new();
                for (i, clause) in m.clauses.iter().enumerate() {
                    let ids: Vec<&str> = m
                        .violations
                        .iter()
                        .filter(|v| v.clause == i + 1)
                        .map(|v| v.trace_id.as_str())
                        .collect();
                    if !ids.is_empty() {
                        let _ = writeln!(body, "clause {}: {clause}\ntraces: {}", i + 1, ids.join(" "));
                    }
                }
                let _ = writeln!(
                    out,
                    "      <failure message=\"{} violation{} in {} trace{}\">{}</failure>",
                    m.violations.len(),
                    plural(m.violations.len()),
                    m.violating_traces(),
                    plural(m.violating_traces()),
                    xml(&body)
                );
            }
            if !m.warnings.is_empty() {
                let _ = writeln!(out, "      <system-err>{}</system-err>", xml(&m.warnings.join("\n")));
            }
            out.push_str("    </testcase>\n");
        }
        for c in &f.checks {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&f.path),
                xml(&c.title)
            );
            let mut body = String::new();
            for r in &c.rules {
                for m in r.failures() {
                    let _ = writeln!(body, "rule {}: {}: {}", r.index, r.text, measurement_text(r, m));
                }
            }
            if body.is_empty() {
                out.push_str("/>\n");
            } else {
                let n = c.rules.iter().map(|r| r.failures().count()).sum::<usize>();
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{n} failing group{}\">{}</failure>\n    </testcase>",
                    plural(n),
                    xml(&body)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
