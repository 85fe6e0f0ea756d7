//! The message an assertion fails with, written for a person reading a failed `cargo test`: which
//! rules failed, each failing model's text with its failing clauses marked, and each violating trace
//! drawn as a tree with the tags the model mentions and the witness spans marked.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use super::fields;
use super::models::Models;
use super::style::{Style, Styled};
use super::tree::{self, Marks};
use crate::check::{CheckReport, FileReport, ModelReport, Report, Violation};
use crate::ingest::{trace_id_hex, Span};
use crate::model::ast::{Comments, Field, Quantifier};
use crate::model::Model;
use crate::report::trace::format_ms;
use crate::text::plural;

/// Violating traces drawn per failing model; the others are listed by id.
const MAX_TRACES: usize = 3;
/// Captured traces drawn when no rule applied or none failed.
const MAX_CAPTURED_TRACES: usize = 2;
/// Trace ids listed after the drawn ones.
const MAX_LISTED_IDS: usize = 10;

/// The captured spans by trace, in the order the traces first appear.
pub(crate) struct Traces<'a> {
    order: Vec<u128>,
    spans: HashMap<u128, Vec<&'a Span>>,
}

impl<'a> Traces<'a> {
    pub(crate) fn new(spans: &'a [Span]) -> Traces<'a> {
        let mut order = Vec::new();
        let mut by_trace: HashMap<u128, Vec<&Span>> = HashMap::new();
        for s in spans {
            let entry = by_trace.entry(s.trace_id).or_default();
            if entry.is_empty() {
                order.push(s.trace_id);
            }
            entry.push(s);
        }
        Traces { order, spans: by_trace }
    }

    fn get(&self, hex: &str) -> Option<&[&'a Span]> {
        let id = u128::from_str_radix(hex, 16).ok()?;
        self.spans.get(&id).map(Vec::as_slice)
    }

    fn span_count(&self) -> usize {
        self.spans.values().map(Vec::len).sum()
    }
}

/// Why `assert_holds` fails: a rule does not hold, or no model applied to anything (the test proved
/// nothing). `None` when it passes.
///
/// With `strict` (`tracecheck check --strict --expect holds`), a rule with a warning fails too: a
/// vacuous model, or a name that occurs nowhere in the captured spans.
pub(crate) fn holds_failure(report: &Report, models: &[Models], traces: &Traces, strict: bool) -> Option<Styled> {
    let (total, failing) = counts(report);
    let mut out = Styled::default();
    if failing > 0 {
        out.styled(
            Style::Red,
            format!("tracecheck: {failing} of {total} rule{} failed", plural(total)),
        );
        out.text(format!(" on the captured spans ({})\n", context(models, traces)));
        for (f, file_models) in report.files.iter().zip(models) {
            for m in f.models.iter().filter(|m| !m.holds()) {
                out.text("\n");
                failing_model(&mut out, m, file_models.model(&m.title), traces);
            }
            for c in f.checks.iter().filter(|c| !c.holds()) {
                out.text("\n");
                failing_check(&mut out, f, c);
            }
        }
        let passing: Vec<&ModelReport> = report.models().filter(|m| m.holds()).collect();
        let passing_checks: Vec<&CheckReport> = report.checks().filter(|c| c.holds()).collect();
        if !passing.is_empty() || !passing_checks.is_empty() {
            out.text("\n");
        }
        for m in passing {
            holding_model(&mut out, m);
        }
        for c in passing_checks {
            holding_check(&mut out, c);
        }
        return Some(out);
    }
    let warned = report.models().filter(|m| !m.warnings.is_empty()).count()
        + report.checks().filter(|c| c.warnings().next().is_some()).count();
    if strict && warned > 0 {
        out.styled(
            Style::Red,
            format!(
                "tracecheck: {warned} of {total} rule{} raised a warning, a failure in strict mode",
                plural(total)
            ),
        );
        out.text(format!(" ({})\n\n", context(models, traces)));
        for m in report.models() {
            holding_model(&mut out, m);
        }
        for c in report.checks() {
            holding_check(&mut out, c);
            for w in c.warnings() {
                out.text(format!("        warning: {w}\n"));
            }
        }
        captured(&mut out, models, traces);
        return Some(out);
    }
    let applied = report.models().any(|m| !m.vacuous()) || report.checks().next().is_some();
    if applied {
        return None;
    }
    out.styled(
        Style::Red,
        "tracecheck: no model applied to the captured spans, so nothing was checked",
    );
    out.text(format!(" ({})\n\n", context(models, traces)));
    for m in report.models() {
        holding_model(&mut out, m);
    }
    captured(&mut out, models, traces);
    Some(out)
}

/// Why `assert_violates` fails: every rule holds. `None` when some rule fails.
/// Warnings do not count as violations, `--strict` or not: a test of faulty code passes only on a
/// rule that fails.
pub(crate) fn violates_failure(report: &Report, models: &[Models], traces: &Traces) -> Option<Styled> {
    let (total, failing) = counts(report);
    if failing > 0 {
        return None;
    }
    let mut out = Styled::default();
    let every = if total == 1 {
        "the rule holds"
    } else {
        "every rule holds"
    };
    out.styled(Style::Red, format!("tracecheck: expected a violation, but {every}"));
    out.text(format!(" on the captured spans ({})\n\n", context(models, traces)));
    for m in report.models() {
        holding_model(&mut out, m);
    }
    for c in report.checks() {
        holding_check(&mut out, c);
    }
    captured(&mut out, models, traces);
    Some(out)
}

fn counts(report: &Report) -> (usize, usize) {
    let total = report.models().count() + report.checks().count();
    let failing = report.models().filter(|m| !m.holds()).count() + report.checks().filter(|c| !c.holds()).count();
    (total, failing)
}

fn context(models: &[Models], traces: &Traces) -> String {
    let (n, t) = (traces.span_count(), traces.order.len());
    let labels: Vec<&str> = models.iter().map(Models::label).collect();
    format!("{}; {n} span{} in {t} trace{}", labels.join(", "), plural(n), plural(t))
}

fn holding_model(out: &mut Styled, m: &ModelReport) {
    if m.vacuous() {
        out.styled(Style::Yellow, "vacuous");
        out.text(format!(" {:?}: {}\n", m.title, vacuity(m)));
    } else {
        out.styled(Style::Green, "ok");
        out.text(format!(
            "      {:?} (applied to {} trace{})\n",
            m.title,
            m.traces,
            plural(m.traces as usize)
        ));
    }
    for w in m.warnings.iter().filter(|w| !w.starts_with("vacuous")) {
        out.text(format!("        warning: {w}\n"));
    }
}

fn holding_check(out: &mut Styled, c: &CheckReport) {
    out.styled(Style::Green, "ok")
        .text(format!("      check {:?}\n", c.title));
}

fn vacuity(m: &ModelReport) -> String {
    m.warnings
        .iter()
        .find_map(|w| w.strip_prefix("vacuous: "))
        .unwrap_or("it applied to no trace")
        .to_string()
}

/// The captured traces, drawn, with a hint when there are none.
fn captured(out: &mut Styled, models: &[Models], traces: &Traces) {
    if traces.order.is_empty() {
        out.text(
            "\nNo span was captured. Spans are captured when they end, from the tracer providers that\n\
             capture.tracer_provider() built; spans made through the global provider, or still open,\n\
             are not seen.\n",
        );
        return;
    }
    let mut fields: Vec<Field> = Vec::new();
    for (file, title) in models.iter().flat_map(|m| m.titles().into_iter().map(move |t| (m, t))) {
        for f in file.model(title).map(fields::mentioned).unwrap_or_default() {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    out.text("\ncaptured:\n");
    for id in traces.order.iter().take(MAX_CAPTURED_TRACES) {
        let spans = &traces.spans[id];
        trace_header(out, &trace_id_hex(*id), spans);
        tree::draw(out, spans, &fields, &Marks::new(), "    ");
    }
    let more = traces.order.len().saturating_sub(MAX_CAPTURED_TRACES);
    if more > 0 {
        out.text(format!("  … and {more} more trace{}\n", plural(more)));
    }
}

fn failing_model(out: &mut Styled, m: &ModelReport, model: Option<&Model>, traces: &Traces) {
    out.styled(Style::Red, "FAIL");
    out.styled(Style::Bold, format!(" {:?}", m.title));
    out.text(format!(
        "  (applied to {} trace{}; {} violation{} in {} trace{})\n\n",
        m.traces,
        plural(m.traces as usize),
        m.violations.len(),
        plural(m.violations.len()),
        m.violating_traces(),
        plural(m.violating_traces())
    ));
    let failing: BTreeSet<usize> = m.violations.iter().map(|v| v.clause).collect();
    model_text(out, m, model, &failing);
    let fields = model.map(fields::mentioned).unwrap_or_default();
    let mut ids: Vec<&str> = Vec::new();
    for v in &m.violations {
        if !ids.contains(&v.trace_id.as_str()) {
            ids.push(&v.trace_id);
        }
    }
    for id in ids.iter().take(MAX_TRACES) {
        let vs: Vec<&Violation> = m.violations.iter().filter(|v| v.trace_id == *id).collect();
        out.text("\n");
        violating_trace(out, id, &vs, model, &fields, traces);
    }
    if ids.len() > MAX_TRACES {
        let rest = &ids[MAX_TRACES..];
        let mut line = format!(
            "\n  … and {} more violating trace{}: {}",
            rest.len(),
            plural(rest.len()),
            rest.iter().take(MAX_LISTED_IDS).copied().collect::<Vec<_>>().join(", ")
        );
        if rest.len() > MAX_LISTED_IDS {
            line.push_str(", …");
        }
        out.text(line + "\n");
    }
    if !m.warnings.is_empty() {
        out.text("\n");
    }
    for w in &m.warnings {
        out.styled(Style::Yellow, format!("  warning: {w}\n"));
    }
}

/// The model as formatted (comments left out), failing `expect` lines marked in the left margin.
fn model_text(out: &mut Styled, m: &ModelReport, model: Option<&Model>, failing: &BTreeSet<usize>) {
    let text = match model {
        Some(model) => without_comments(model).to_string(),
        // A title shared by two models of a file: the report's clauses are all there is.
        None => {
            let mut s = format!("model {:?} {{\n", m.title);
            for c in &m.clauses {
                let _ = writeln!(s, "    {c}");
            }
            s + "}\n"
        }
    };
    let mut clause = 0;
    for line in text.lines() {
        let is_expect = line.trim_start().starts_with("expect ");
        clause += usize::from(is_expect);
        if is_expect && failing.contains(&clause) {
            out.styled(Style::Red, format!("  ✗ {clause:<2}"));
        } else {
            out.text("      ");
        }
        out.text(format!("{line}\n"));
    }
}

fn without_comments(model: &Model) -> Model {
    let mut m = model.clone();
    m.comments = Comments::default();
    m.trailing_comments = Comments::default();
    for l in &mut m.lets {
        l.comments = Comments::default();
    }
    if let Some(w) = &mut m.when {
        w.comments = Comments::default();
    }
    for e in &mut m.expects {
        e.comments = Comments::default();
    }
    m
}

fn trace_header(out: &mut Styled, id: &str, spans: &[&Span]) {
    let start = spans.iter().filter_map(|s| s.start_ns).min();
    let end = spans.iter().filter_map(|s| s.end_ns.or(s.start_ns)).max();
    let duration = match (start, end) {
        (Some(s), Some(e)) => format!(", {}", format_ms(e - s)),
        _ => String::new(),
    };
    out.text("  trace ");
    out.styled(Style::Bold, id);
    out.text(format!("  ({} span{}{duration})\n", spans.len(), plural(spans.len())));
}

fn violating_trace(
    out: &mut Styled,
    id: &str,
    violations: &[&Violation],
    model: Option<&Model>,
    fields: &[Field],
    traces: &Traces,
) {
    let Some(spans) = traces.get(id) else {
        out.text(format!("  trace {id} (its spans are no longer in the capture)\n"));
        return;
    };
    let span_ids: HashMap<String, &Span> = spans
        .iter()
        .map(|s| (crate::ingest::span_id_hex(s.span_id), *s))
        .collect();
    let mut marks = Marks::new();
    for v in violations {
        for (name, span) in &v.assignment {
            if let Some(s) = span_ids.get(span) {
                marks.entry(s.span_id).or_default().insert(name.clone());
            }
        }
        for w in &v.witnesses {
            if let Some(s) = span_ids.get(w) {
                marks
                    .entry(s.span_id)
                    .or_default()
                    .insert(format!("witness of clause {}", v.clause));
            }
        }
    }
    trace_header(out, id, spans);
    tree::draw(out, spans, fields, &marks, "    ");
    for v in violations {
        let quantifier = model
            .and_then(|m| m.expects.get(v.clause.wrapping_sub(1)))
            .map(|e| e.quantifier);
        let lets: Vec<String> = v
            .assignment
            .iter()
            .map(|(name, span)| {
                let what = span_ids.get(span).map_or(span.as_str(), |s| s.name.as_str());
                format!("{name} = {what}")
            })
            .collect();
        let mut line = format!(" clause {} fails", v.clause);
        if !lets.is_empty() {
            let _ = write!(line, " for {}", lets.join(", "));
        }
        let _ = write!(line, ": {}", matched(v.matched));
        if !v.witnesses.is_empty() {
            line.push_str(" (◀)");
        }
        if let Some(q) = quantifier {
            let _ = write!(line, ", expected {}", expected(q));
        }
        out.styled(Style::Red, "    ✗").text(line + "\n");
    }
}

fn matched(n: i64) -> String {
    match n {
        0 => "no span matched".into(),
        1 => "1 span matched".into(),
        n => format!("{n} spans matched"),
    }
}

fn expected(q: Quantifier) -> String {
    match q {
        Quantifier::Some => "at least 1".into(),
        Quantifier::No => "none".into(),
        Quantifier::Exactly(n) => format!("exactly {n}"),
        Quantifier::AtLeast(n) => format!("at least {n}"),
        Quantifier::AtMost(n) => format!("at most {n}"),
    }
}

/// A failing `check` block, as the text report shows it (its rules and failing groups).
fn failing_check(out: &mut Styled, file: &FileReport, c: &CheckReport) {
    let one = Report {
        files: vec![FileReport {
            path: file.path.clone(),
            models: Vec::new(),
            checks: vec![c.clone()],
        }],
        strict: false,
    };
    let text = crate::report::text(&one, 5);
    let lines: Vec<&str> = text.lines().collect();
    // The first line is the file, the last the summary.
    let body = &lines[1..lines.len().saturating_sub(1).max(1)];
    out.styled(Style::Red, "FAIL");
    out.styled(Style::Bold, format!(" check {:?}\n", c.title));
    for l in body.iter().skip(1) {
        out.text(format!("{l}\n"));
    }
}
