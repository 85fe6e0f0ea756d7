//! Spansets and the pipeline: spanset filters, `&&`/`||` of spansets, structural operators, scalar
//! filters over aggregates, `by`, `select` and `coalesce` (README "Semantics pinned down",
//! "Grouping").

use std::collections::{BTreeMap, BTreeSet};

use tracecheck::traceql::ast::{
    Aggregate, AggregateFn, BinaryOp, FieldExpr, FieldRef, Pipeline, ScalarExpr, ScalarFilter, SpansetExpr, SpansetOp,
    Stage,
};

use super::expr;
use super::trace::Trace;
use super::value::{self, Value};

/// A set of spans of one trace, as the pipeline passes them from stage to stage.
#[derive(Clone, Debug)]
pub struct Spanset {
    /// Index of the trace in the trace list.
    pub trace: usize,
    /// Indexes of the spans in the trace.
    pub spans: BTreeSet<usize>,
    /// The printed values of the last `by(...)`, until a `coalesce()`.
    pub group: Option<Vec<String>>,
}

/// One spanset per trace holding every span: what a query's pipeline starts from.
pub fn whole_traces(traces: &[Trace<'_>]) -> Vec<Spanset> {
    traces
        .iter()
        .enumerate()
        .map(|(i, t)| Spanset {
            trace: i,
            spans: (0..t.spans.len()).collect(),
            group: None,
        })
        .collect()
}

/// Runs the stages over the input spansets. `select` fields are appended to `selects`; spansets
/// left empty by a stage are dropped.
pub fn run_pipeline(
    traces: &[Trace<'_>],
    stages: &[Stage],
    mut sets: Vec<Spanset>,
    selects: &mut Vec<FieldRef>,
) -> Vec<Spanset> {
    for stage in stages {
        sets = match stage {
            Stage::Spanset(e) => sets
                .into_iter()
                .filter_map(|s| {
                    let spans = eval_set(traces, s.trace, e, &s.spans);
                    (!spans.is_empty()).then_some(Spanset { spans, ..s })
                })
                .collect(),
            Stage::ScalarFilter(f) => sets
                .into_iter()
                .filter(|s| scalar_filter(f, &traces[s.trace], &s.spans))
                .collect(),
            Stage::By { exprs, .. } => sets.into_iter().flat_map(|s| group_by(traces, exprs, s)).collect(),
            Stage::Select { fields, .. } => {
                selects.extend(fields.iter().cloned());
                sets
            }
            Stage::Coalesce { .. } => coalesce(sets),
        };
    }
    sets
}

/// Splits a spanset by the values of the `by` expressions (absent values form a `nil` group,
/// Decision 13). The key is the printed values, so 3 and 3.0 and "3" are three groups.
fn group_by(traces: &[Trace<'_>], exprs: &[FieldExpr], s: Spanset) -> Vec<Spanset> {
    let trace = &traces[s.trace];
    let mut groups: BTreeMap<Vec<String>, BTreeSet<usize>> = BTreeMap::new();
    for &i in &s.spans {
        let key = exprs.iter().map(|e| expr::value_of(e, trace, i).print()).collect();
        groups.entry(key).or_default().insert(i);
    }
    groups
        .into_iter()
        .map(|(key, spans)| Spanset {
            trace: s.trace,
            spans,
            group: Some(key),
        })
        .collect()
}

/// Merges the spansets of each trace into one, ungrouped.
fn coalesce(sets: Vec<Spanset>) -> Vec<Spanset> {
    let mut per_trace: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for s in sets {
        per_trace.entry(s.trace).or_default().extend(s.spans);
    }
    per_trace
        .into_iter()
        .map(|(trace, spans)| Spanset {
            trace,
            spans,
            group: None,
        })
        .collect()
}

/// The spans of `universe` (spans of trace `t`) that a spanset expression selects.
fn eval_set(traces: &[Trace<'_>], t: usize, e: &SpansetExpr, universe: &BTreeSet<usize>) -> BTreeSet<usize> {
    let trace = &traces[t];
    match e {
        SpansetExpr::Filter(f) => universe
            .iter()
            .copied()
            .filter(|&i| f.cond.as_ref().is_none_or(|c| expr::matches(c, trace, i)))
            .collect(),
        SpansetExpr::Pipeline(p) => sub_pipeline(traces, t, p, universe),
        SpansetExpr::Binary { op, lhs, rhs, .. } => {
            let l = eval_set(traces, t, lhs, universe);
            let r = eval_set(traces, t, rhs, universe);
            match op {
                // Both sides must match in the trace; the result is the spans of both.
                SpansetOp::And if l.is_empty() || r.is_empty() => BTreeSet::new(),
                SpansetOp::And | SpansetOp::Or => l.union(&r).copied().collect(),
                _ => structural(trace, *op, &l, &r),
            }
        }
    }
}

/// A parenthesised pipeline as an operand: run over the universe; all its spansets' spans.
fn sub_pipeline(traces: &[Trace<'_>], t: usize, p: &Pipeline, universe: &BTreeSet<usize>) -> BTreeSet<usize> {
    let input = vec![Spanset {
        trace: t,
        spans: universe.clone(),
        group: None,
    }];
    // A `select` inside the parentheses does not change what the query prints.
    let mut ignored = Vec::new();
    run_pipeline(traces, &p.stages, input, &mut ignored)
        .into_iter()
        .flat_map(|s| s.spans)
        .collect()
}

/// The relations between spans, each as "r relates to l".
#[derive(Clone, Copy)]
enum Relation {
    Child,
    Parent,
    Descendant,
    Ancestor,
    Sibling,
}

/// What an operator returns: the related right-side spans, the unrelated ones, or the related spans
/// of both sides.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Plain,
    Not,
    Union,
}

fn relation(op: SpansetOp) -> Option<(Relation, Mode)> {
    use Mode::*;
    use Relation::*;
    Some(match op {
        SpansetOp::Child => (Child, Plain),
        SpansetOp::Parent => (Parent, Plain),
        SpansetOp::Descendant => (Descendant, Plain),
        SpansetOp::Ancestor => (Ancestor, Plain),
        SpansetOp::Sibling => (Sibling, Plain),
        SpansetOp::NotChild => (Child, Not),
        SpansetOp::NotParent => (Parent, Not),
        SpansetOp::NotDescendant => (Descendant, Not),
        SpansetOp::NotAncestor => (Ancestor, Not),
        SpansetOp::NotSibling => (Sibling, Not),
        SpansetOp::UnionChild => (Child, Union),
        SpansetOp::UnionParent => (Parent, Union),
        SpansetOp::UnionDescendant => (Descendant, Union),
        SpansetOp::UnionAncestor => (Ancestor, Union),
        SpansetOp::UnionSibling => (Sibling, Union),
        SpansetOp::And | SpansetOp::Or => return None,
    })
}

/// Whether right-side span `r` stands in `rel` to left-side span `l`: `L > R` is "r's parent is l",
/// and so on. A span is never its own ancestor or sibling.
fn related(trace: &Trace<'_>, rel: Relation, l: usize, r: usize) -> bool {
    match rel {
        Relation::Child => trace.parent(r) == Some(l),
        Relation::Parent => trace.parent(l) == Some(r),
        Relation::Descendant => trace.is_ancestor(l, r),
        Relation::Ancestor => trace.is_ancestor(r, l),
        Relation::Sibling => trace.are_siblings(l, r),
    }
}

/// `L op R` for a structural operator (README: the right side's spans; `!op` those related to no
/// l, even when L is empty; `&op` the related spans of both sides).
fn structural(trace: &Trace<'_>, op: SpansetOp, l: &BTreeSet<usize>, r: &BTreeSet<usize>) -> BTreeSet<usize> {
    let Some((rel, mode)) = relation(op) else {
        return BTreeSet::new();
    };
    let right_related = |ri: usize| l.iter().any(|&li| related(trace, rel, li, ri));
    match mode {
        Mode::Plain => r.iter().copied().filter(|&ri| right_related(ri)).collect(),
        Mode::Not => r.iter().copied().filter(|&ri| !right_related(ri)).collect(),
        Mode::Union => {
            let mut out: BTreeSet<usize> = r.iter().copied().filter(|&ri| right_related(ri)).collect();
            out.extend(
                l.iter()
                    .copied()
                    .filter(|&li| r.iter().any(|&ri| related(trace, rel, li, ri))),
            );
            out
        }
    }
}

/// Whether a spanset passes `lhs op rhs` over its aggregates.
fn scalar_filter(f: &ScalarFilter, trace: &Trace<'_>, spans: &BTreeSet<usize>) -> bool {
    let l = scalar(&f.lhs, trace, spans);
    let r = scalar(&f.rhs, trace, spans);
    value::compare(f.op, &l, &r)
}

fn scalar(e: &ScalarExpr, trace: &Trace<'_>, spans: &BTreeSet<usize>) -> Value {
    match e {
        ScalarExpr::Aggregate(a) => aggregate(a, trace, spans),
        ScalarExpr::Literal { value, .. } => Value::from_literal(value),
        ScalarExpr::Neg { operand, .. } => value::negate(&scalar(operand, trace, spans)),
        ScalarExpr::Binary { op, lhs, rhs, .. } => {
            value::arith(*op, &scalar(lhs, trace, spans), &scalar(rhs, trace, spans))
        }
    }
}

/// An aggregate over a spanset. Nil and non-numeric values are skipped; with no value left,
/// `avg/min/max/sum` are nil, which no comparison accepts, so the spanset is dropped.
fn aggregate(a: &Aggregate, trace: &Trace<'_>, spans: &BTreeSet<usize>) -> Value {
    let Some(arg) = &a.arg else {
        // `count()` (the only aggregate without an argument).
        return Value::Int(i64::try_from(spans.len()).unwrap_or(i64::MAX));
    };
    let values: Vec<Value> = spans
        .iter()
        .map(|&i| expr::value_of(arg, trace, i))
        .filter(|v| v.num().is_some())
        .collect();
    if values.is_empty() {
        return Value::Nil;
    }
    match a.func {
        AggregateFn::Count => Value::Int(i64::try_from(values.len()).unwrap_or(i64::MAX)),
        AggregateFn::Sum => sum(&values),
        AggregateFn::Avg => {
            let total: f64 = values.iter().filter_map(Value::num).map(|n| n.as_f64()).sum();
            Value::Float(total / values.len() as f64)
        }
        AggregateFn::Min => extreme(values, BinaryOp::Lt),
        AggregateFn::Max => extreme(values, BinaryOp::Gt),
    }
}

/// Ints add as ints and durations as durations; any mix, or a double, adds as doubles (Decision 12).
fn sum(values: &[Value]) -> Value {
    let exact = || {
        values.iter().try_fold(0i64, |acc, v| match v {
            Value::Int(i) | Value::Duration(i) => acc.checked_add(*i),
            _ => None,
        })
    };
    if values.iter().all(|v| matches!(v, Value::Int(_))) {
        if let Some(s) = exact() {
            return Value::Int(s);
        }
    } else if values.iter().all(|v| matches!(v, Value::Duration(_)))
        && let Some(s) = exact()
    {
        return Value::Duration(s);
    }
    Value::Float(values.iter().filter_map(Value::num).map(|n| n.as_f64()).sum())
}

/// The value that `better` (`<` for min, `>` for max) prefers over every other; the first of equals.
fn extreme(values: Vec<Value>, better: BinaryOp) -> Value {
    values
        .into_iter()
        .reduce(|best, v| if value::compare(better, &v, &best) { v } else { best })
        .unwrap_or(Value::Nil)
}
