//! Metrics functions over the spans a pipeline keeps: one series per distinct label set, one row per
//! step (README "Metrics", Decisions 13–16).

use std::collections::{BTreeMap, BTreeSet};

use tracecheck::traceql::ast::{FieldRef, Metrics, MetricsFn};

use super::expr;
use super::spanset::Spanset;
use super::trace::Trace;
use super::value::{print_metric, Value};

/// The `# range:` of a metrics case, in nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

/// What a series accumulates per step.
enum Kind<'q> {
    /// `rate()` (÷ step in seconds) or `count_over_time()`: every step printed, zero-filled.
    Count { per_second: bool },
    /// A function of the step's values; only steps with a value are printed.
    Values { field: &'q FieldRef, reduce: Reduce<'q> },
}

enum Reduce<'q> {
    Min,
    Max,
    Avg,
    Sum,
    Quantiles(&'q [f64]),
}

/// The rows `<labels> <step_start> <value>`, sorted by labels as text, then by step.
pub fn rows(m: &Metrics, traces: &[Trace<'_>], sets: &[Spanset], range: Range) -> Result<Vec<String>, String> {
    if range.step <= 0 || range.end <= range.start {
        return Err(format!("bad range {range:?}"));
    }
    let steps = usize::try_from((range.end - range.start) / range.step).map_err(|e| e.to_string())?;
    let kind = match &m.func {
        MetricsFn::Rate => Kind::Count { per_second: true },
        MetricsFn::CountOverTime => Kind::Count { per_second: false },
        MetricsFn::MinOverTime(field) => Kind::Values {
            field,
            reduce: Reduce::Min,
        },
        MetricsFn::MaxOverTime(field) => Kind::Values {
            field,
            reduce: Reduce::Max,
        },
        MetricsFn::AvgOverTime(field) => Kind::Values {
            field,
            reduce: Reduce::Avg,
        },
        MetricsFn::SumOverTime(field) => Kind::Values {
            field,
            reduce: Reduce::Sum,
        },
        MetricsFn::QuantileOverTime { field, quantiles } => Kind::Values {
            field,
            reduce: Reduce::Quantiles(quantiles),
        },
        other => return Err(format!("{} is not supported by the reference evaluator", other.name())),
    };

    // A span counts once however many spansets hold it; in (trace, data) order so that sums add up
    // in a fixed order.
    let spans: BTreeSet<(usize, usize)> = sets
        .iter()
        .flat_map(|s| s.spans.iter().map(|&i| (s.trace, i)))
        .collect();
    // Label values of each series → per step, the values of its spans.
    let mut series: BTreeMap<Vec<String>, Vec<Vec<f64>>> = BTreeMap::new();
    for (t, i) in spans {
        let trace = &traces[t];
        let Some(start) = trace.spans[i].start_ns else { continue };
        // Steps are [START + k·STEP, START + (k+1)·STEP) and a span falls in the one holding its start.
        if start < range.start || start >= range.end {
            continue;
        }
        let Ok(k) = usize::try_from((start - range.start) / range.step) else {
            continue;
        };
        let labels =
            m.by.iter()
                .map(|f| format!("{f}={}", expr::field_of(f, trace, i).print()))
                .collect();
        let value = match &kind {
            Kind::Count { .. } => Some(1.0),
            Kind::Values { field, .. } => metric_number(&expr::field_of(field, trace, i)),
        };
        let steps_of = series.entry(labels).or_insert_with(|| vec![Vec::new(); steps]);
        if let Some(v) = value {
            steps_of[k].push(v);
        }
    }

    let mut out: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    let step_seconds = range.step as f64 / 1e9;
    for (labels, per_step) in series {
        match &kind {
            Kind::Count { per_second } => {
                let row = out.entry(label_text(&labels, None)).or_default();
                for (k, values) in per_step.iter().enumerate() {
                    let n = values.len() as f64;
                    row.insert(k, if *per_second { n / step_seconds } else { n });
                }
            }
            Kind::Values { reduce, .. } => {
                let qs: Vec<Option<f64>> = match reduce {
                    Reduce::Quantiles(qs) => qs.iter().copied().map(Some).collect(),
                    _ => vec![None],
                };
                for q in qs {
                    let row = out.entry(label_text(&labels, q)).or_default();
                    for (k, values) in per_step.iter().enumerate() {
                        if let Some(v) = reduce_values(reduce, q, values) {
                            row.insert(k, v);
                        }
                    }
                }
            }
        }
    }

    let mut lines = Vec::new();
    for (labels, row) in out {
        for (k, v) in row {
            let step_start = range.start + range.step * i64::try_from(k).map_err(|e| e.to_string())?;
            lines.push(format!("{labels} {step_start} {}", print_metric(v)));
        }
    }
    Ok(lines)
}

/// `{a=1, b="x"}`, with a last `p=<q>` label for a quantile series.
fn label_text(labels: &[String], quantile: Option<f64>) -> String {
    let mut all: Vec<String> = labels.to_vec();
    if let Some(q) = quantile {
        all.push(format!("p={}", print_metric(q)));
    }
    format!("{{{}}}", all.join(", "))
}

/// A field value as a metric number: durations in seconds (Decision 15); non-numbers give none.
fn metric_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Duration(ns) => Some(*ns as f64 / 1e9),
        _ => None,
    }
}

/// The value of one step, `None` when it has no values.
fn reduce_values(reduce: &Reduce<'_>, q: Option<f64>, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match reduce {
        Reduce::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Reduce::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduce::Sum => values.iter().sum(),
        Reduce::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Reduce::Quantiles(_) => quantile(values, q.unwrap_or(0.5)),
    })
}

/// Exact quantile with linear interpolation: `h = q·(n−1)`, `v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋])`.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let last = v.len() - 1;
    let h = (q * last as f64).clamp(0.0, last as f64);
    let lo = h.floor() as usize;
    if lo >= last {
        return v[last];
    }
    v[lo] + (h - lo as f64) * (v[lo + 1] - v[lo])
}
