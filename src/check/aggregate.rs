//! Running `check` blocks: measured values per group and window, thresholds, baselines.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::rows::column;
use crate::compile::{CompiledCheck, CompiledRule, Unit};
use crate::error::{Error, Result, Setting};
use crate::model::ast::{ArithOp, CmpOp};

/// One group (and window) of a rule, measured.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// The `by` fields and this group's values, in order.
    pub group: Vec<(String, String)>,
    /// The window's start (RFC 3339), with `per`.
    pub window_start: Option<String>,
    /// The measured value (nanoseconds for durations, a fraction for error rates); `None` when no
    /// value was aggregated (e.g. a percentile of spans that lack the field).
    pub value: Option<f64>,
    /// How many spans (or traces) were aggregated.
    pub n: u64,
    /// The threshold the value was compared with (for a baseline rule, derived from the baseline).
    pub threshold: Option<f64>,
    /// The baseline's value of the same group and window, with `--baseline`.
    pub baseline: Option<f64>,
    /// Whether the comparison holds (a group that could not be compared holds, with a warning).
    pub holds: bool,
}

/// The outcome of one rule of a `check` block.
#[derive(Clone, Debug, Serialize)]
pub struct RuleReport {
    /// 1-based index in the block.
    pub index: usize,
    /// The rule as written.
    pub text: String,
    /// The unit of the values.
    pub unit: Unit,
    /// The comparison.
    pub op: String,
    /// Every group and window, failing or not, so a report shows the margin.
    pub measurements: Vec<Measurement>,
    /// Spans (or traces) aggregated over all groups.
    pub aggregated: u64,
    /// Empty data, groups missing on one side of a baseline comparison.
    pub warnings: Vec<String>,
}

impl RuleReport {
    /// The measurements that fail.
    pub fn failures(&self) -> impl Iterator<Item = &Measurement> {
        self.measurements.iter().filter(|m| !m.holds)
    }
}

/// The outcome of one `check` block.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The block's title.
    pub title: String,
    /// One report per rule.
    pub rules: Vec<RuleReport>,
}

impl CheckReport {
    /// Every rule holds for every group and window.
    pub fn holds(&self) -> bool {
        self.rules.iter().all(|r| r.failures().next().is_none())
    }

    /// All warnings of all rules.
    pub fn warnings(&self) -> impl Iterator<Item = &String> {
        self.rules.iter().flat_map(|r| &r.warnings)
    }
}

/// A value in the unit people read: durations in ms, fractions in %.
pub fn display_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Duration => format!("{:.3}ms", v / 1e6),
        Unit::Fraction => format!("{:.3}%", v * 100.0),
        Unit::PerSecond => format!("{v:.3}/s"),
        Unit::Number => format!("{v}"),
    }
}

type Key = (Vec<String>, Option<String>);

struct Row {
    key: Key,
    value: Option<f64>,
    n: u64,
    holds: Option<bool>,
}

async fn measure(rule: &CompiledRule, ctx: &SessionContext) -> Result<Vec<Row>> {
    let batches = crate::engine::run_query(ctx, &rule.query).await?.collect().await?;
    let mut rows = Vec::new();
    for b in &batches {
        let groups = (1..=rule.group_names.len())
            .map(|i| column(b, &format!("g{i}"), &DataType::Utf8))
            .collect::<Result<Vec<_>>>()?;
        let window = if rule.windowed {
            Some(column(b, "window_start", &DataType::Utf8)?)
        } else {
            None
        };
        let value = column(b, "value", &DataType::Float64)?;
        let n = column(b, "n", &DataType::Int64)?;
        let holds = match b.column_by_name("holds") {
            Some(_) => Some(column(b, "holds", &DataType::Boolean)?),
            None => None,
        };
        let (value, n) = (value.as_primitive::<Float64Type>(), n.as_primitive::<Int64Type>());
        for r in 0..b.num_rows() {
            rows.push(Row {
                key: (
                    groups
                        .iter()
                        .map(|g| g.as_string::<i32>().value(r).to_string())
                        .collect(),
                    window.as_ref().map(|w| w.as_string::<i32>().value(r).to_string()),
                ),
                value: (!value.is_null(r)).then(|| value.value(r)),
                n: u64::try_from(n.value(r)).unwrap_or(0),
                holds: holds
                    .as_ref()
                    .and_then(|h| (!h.is_null(r)).then(|| h.as_boolean().value(r))),
            });
        }
    }
    Ok(rows)
}

fn compare(value: f64, op: CmpOp, threshold: f64) -> bool {
    match op {
        CmpOp::Lt => value < threshold,
        CmpOp::Le => value <= threshold,
        CmpOp::Gt => value > threshold,
        CmpOp::Ge => value >= threshold,
        CmpOp::Eq => value == threshold,
        CmpOp::Ne => value != threshold,
        // Rejected when the rule is compiled (`compile::check::threshold`).
        CmpOp::Match | CmpOp::Contains => false,
    }
}

/// Runs a compiled `check` block on `ctx`; with `baseline`, thresholds that name the baseline are
/// computed from the same rule measured on the baseline data.
pub async fn run_check(
    check: &CompiledCheck,
    ctx: &SessionContext,
    baseline: Option<&SessionContext>,
) -> Result<CheckReport> {
    let mut rules = Vec::new();
    for rule in &check.rules {
        let rows = measure(rule, ctx).await?;
        let mut warnings = Vec::new();
        let base: Option<BTreeMap<Key, Option<f64>>> = match (&rule.baseline, baseline) {
            (Some(_), Some(b)) => Some(measure(rule, b).await?.into_iter().map(|r| (r.key, r.value)).collect()),
            (Some(_), None) => {
                return Err(Error::Setting {
                    setting: Setting::Baseline,
                    message: format!(
                        "was not given, and check {:?}, rule {} compares with it",
                        check.title, rule.index
                    ),
                })
            }
            _ => None,
        };
        let mut measurements = Vec::new();
        for row in &rows {
            let b = base.as_ref().and_then(|m| m.get(&row.key).copied().flatten());
            let threshold = match (rule.threshold, rule.baseline, b) {
                (Some(t), _, _) => Some(t),
                (None, Some((ArithOp::Mul, x)), Some(bv)) => Some(bv * x),
                (None, Some((_, x)), Some(bv)) => Some(bv + x),
                _ => None,
            };
            let holds = match (row.holds, row.value, threshold) {
                (Some(h), _, _) => h,
                (None, Some(v), Some(t)) => compare(v, rule.op, t),
                _ => true,
            };
            if base.is_some() && b.is_none() {
                warnings.push(format!(
                    "{} is not in the baseline: not compared",
                    describe_key(rule, &row.key)
                ));
            }
            measurements.push(Measurement {
                group: rule
                    .group_names
                    .iter()
                    .cloned()
                    .zip(row.key.0.iter().cloned())
                    .collect(),
                window_start: row.key.1.clone(),
                value: row.value,
                n: row.n,
                threshold,
                baseline: b,
                holds,
            });
        }
        if let Some(base) = &base {
            for key in base.keys() {
                if !rows.iter().any(|r| &r.key == key) {
                    warnings.push(format!(
                        "{} is in the baseline but not in this data",
                        describe_key(rule, key)
                    ));
                }
            }
        }
        let aggregated = rows.iter().map(|r| r.n).sum();
        if aggregated == 0 {
            warnings.insert(0, "vacuous: nothing matched, so the rule measured nothing".into());
        }
        let empty = rows.iter().filter(|r| r.n > 0 && r.value.is_none()).count();
        if empty > 0 {
            warnings.push(format!(
                "{empty} group{} had spans but no value to aggregate (the field is missing): not compared",
                if empty == 1 { "" } else { "s" }
            ));
        }
        rules.push(RuleReport {
            index: rule.index,
            text: rule.text.clone(),
            unit: rule.unit,
            op: rule.op.as_str().to_string(),
            measurements,
            aggregated,
            warnings,
        });
    }
    Ok(CheckReport {
        title: check.title.clone(),
        rules,
    })
}

fn describe_key(rule: &CompiledRule, key: &Key) -> String {
    let mut parts: Vec<String> = rule
        .group_names
        .iter()
        .zip(&key.0)
        .map(|(n, v)| format!("{n} = {v:?}"))
        .collect();
    if let Some(w) = &key.1 {
        parts.push(format!("window {w}"));
    }
    if parts.is_empty() {
        "the whole data".into()
    } else {
        format!("group {}", parts.join(", "))
    }
}
