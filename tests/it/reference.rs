//! A reference evaluator of model semantics (docs/LANGUAGE.md, "Exact meaning") over in-memory spans.
//!
//! It is the oracle of the differential tests, so it is written to be read next to the spec, not to
//! be fast: every trace is evaluated on its own by enumerating let assignments, every choice of
//! spans, and every tag value. No SQL and no DataFusion are involved.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use tracecheck::ingest::{span_id_hex, trace_id_hex, Promoted, Span, Value};
use tracecheck::model::ast::{
    ArithOp, CmpOp, Condition, Expr, Field, Literal, Predicate, Quantifier, RelationKind, Selector, SpanTerm,
};
use tracecheck::model::Model;

/// One failing (trace, expect clause, assignment), with the same fields as `check::Violation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefViolation {
    pub model: String,
    pub clause: usize,
    pub trace_id: String,
    pub assignment: Vec<(String, String)>,
    pub matched: i64,
    pub witnesses: Vec<String>,
}

/// The violations of `model` in `spans`, sorted by (clause, trace_id, assignment).
pub fn evaluate(model: &Model, spans: &[Span]) -> Vec<RefViolation> {
    let mut traces: BTreeMap<u128, Vec<&Span>> = BTreeMap::new();
    for s in spans {
        traces.entry(s.trace_id).or_default().push(s);
    }
    let mut out = Vec::new();
    for (id, members) in traces {
        Trace::new(id, members).violations(model, &mut out);
    }
    out.sort_by(|a, b| (a.clause, &a.trace_id, &a.assignment).cmp(&(b.clause, &b.trace_id, &b.assignment)));
    out
}

/// A value of a field, a literal or an arithmetic result. Missing values are simply absent.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    /// An i64 column or literal: two of these compare exactly, as i64.
    Int(i64),
    /// A tag number, a float literal or an arithmetic result.
    Float(f64),
    Bool(bool),
}

impl Val {
    fn number(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(x) => Some(*x),
            Val::Str(_) | Val::Bool(_) => None,
        }
    }
}

fn literal(l: &Literal) -> Val {
    match l {
        Literal::Str(s) | Literal::Enum(s) => Val::Str(s.clone()),
        Literal::Int(i) | Literal::Duration(i) => Val::Int(*i),
        Literal::Float(x) => Val::Float(*x),
        Literal::Bool(b) => Val::Bool(*b),
    }
}

/// `l op r` for two present values. Values of different types never compare (the model is type
/// checked, so this only happens for the other-typed values of a multi-typed tag).
fn compare(l: &Val, op: CmpOp, r: &Val) -> bool {
    let ord = match (l, r) {
        (Val::Str(a), Val::Str(b)) => match op {
            CmpOp::Match => return regex_matches(b, a),
            CmpOp::Contains => return a.contains(b.as_str()),
            _ => a.as_bytes().cmp(b.as_bytes()),
        },
        (Val::Int(a), Val::Int(b)) => a.cmp(b),
        (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
        (a, b) => match (a.number(), b.number()) {
            (Some(x), Some(y)) => match x.partial_cmp(&y) {
                Some(o) => o,
                None => return false,
            },
            _ => return false,
        },
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        // Regex and substring only apply to strings, handled above.
        CmpOp::Match | CmpOp::Contains => false,
    }
}

fn regex_matches(pattern: &str, text: &str) -> bool {
    // Compiling a regex per comparison would dominate the differential run time.
    thread_local!(static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new()));
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let re = cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).unwrap_or_else(|e| panic!("model regex {pattern:?}: {e}")));
        re.is_match(text)
    })
}

fn arith(op: ArithOp, a: f64, b: f64) -> Option<f64> {
    match op {
        ArithOp::Add => Some(a + b),
        ArithOp::Sub => Some(a - b),
        ArithOp::Mul => Some(a * b),
        ArithOp::Div if b == 0.0 => None,
        ArithOp::Div => Some(a / b),
    }
}

fn quantifier_holds(q: Quantifier, matched: usize) -> bool {
    let n = matched as u64;
    match q {
        Quantifier::Some => n >= 1,
        Quantifier::No => n == 0,
        Quantifier::Exactly(k) => n == k,
        Quantifier::AtLeast(k) => n >= k,
        Quantifier::AtMost(k) => n <= k,
    }
}

/// The spans of one trace, with parent links resolved inside the trace.
struct Trace<'a> {
    id: String,
    spans: Vec<&'a Span>,
    /// Index of each span's parent, when the parent is in the trace.
    parent: Vec<Option<usize>>,
    promoted: Vec<Promoted>,
}

/// Ingest stores a parent id of 0 as "no parent".
fn parent_id(s: &Span) -> Option<u64> {
    s.parent_span_id.filter(|p| *p != 0)
}

impl<'a> Trace<'a> {
    fn new(id: u128, spans: Vec<&'a Span>) -> Trace<'a> {
        let index: HashMap<u64, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id, i)).collect();
        let parent = spans
            .iter()
            .enumerate()
            .map(|(i, s)| parent_id(s).and_then(|p| index.get(&p).copied()).filter(|&p| p != i))
            .collect();
        let promoted = spans.iter().map(|s| Promoted::from_attributes(&s.attributes)).collect();
        Trace {
            id: trace_id_hex(id),
            spans,
            parent,
            promoted,
        }
    }

    /// Proper ancestors of span `i`, nearest first. The visited set stops at a parent cycle, which
    /// a well-formed trace never has.
    fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut seen = HashSet::from([i]);
        let mut out = Vec::new();
        let mut at = self.parent[i];
        while let Some(p) = at {
            if !seen.insert(p) {
                break;
            }
            out.push(p);
            at = self.parent[p];
        }
        out
    }

    fn related(&self, s: usize, kind: RelationKind, t: usize) -> bool {
        let (a, b) = (self.spans[s], self.spans[t]);
        let distinct = s != t;
        match kind {
            // A span that names itself as parent is a root: nobody's child, parent or sibling.
            RelationKind::ChildOf => distinct && parent_id(a) == Some(b.span_id),
            RelationKind::ParentOf => distinct && parent_id(b) == Some(a.span_id),
            RelationKind::DescendantOf => self.ancestors(s).contains(&t),
            RelationKind::AncestorOf => self.ancestors(t).contains(&s),
            RelationKind::SiblingOf => {
                distinct
                    && parent_id(a).is_some()
                    && parent_id(a) == parent_id(b)
                    && parent_id(a) != Some(a.span_id)
                    && parent_id(b) != Some(b.span_id)
            }
            RelationKind::Before => distinct && matches!((a.end_ns, b.start_ns), (Some(e), Some(st)) if e <= st),
            RelationKind::After => distinct && matches!((a.start_ns, b.end_ns), (Some(st), Some(e)) if st >= e),
            RelationKind::During => {
                distinct
                    && matches!((a.start_ns, a.end_ns, b.start_ns, b.end_ns),
                        (Some(s0), Some(s1), Some(t0), Some(t1)) if t0 <= s0 && s1 <= t1)
            }
        }
    }

    /// The values of `field` for span `i`: none when missing, several for a repeated tag.
    fn field_values(&self, i: usize, field: &Field) -> Vec<Val> {
        let s = self.spans[i];
        let p = &self.promoted[i];
        let text = |v: Option<&str>| v.map(|x| Val::Str(x.to_string()));
        let value = match field {
            Field::Name => Some(Val::Str(s.name.clone())),
            Field::Service => Some(Val::Str(s.service.clone())),
            Field::Kind => Some(Val::Str(s.kind.as_str().to_string())),
            Field::Status => Some(Val::Str(s.status.as_str().to_string())),
            // Ingest stores an empty status message as missing.
            Field::StatusMessage => text(s.status_message.as_deref().filter(|m| !m.is_empty())),
            Field::Duration => s.duration_ns().map(Val::Int),
            Field::Start => s.start_ns.map(Val::Int),
            Field::End => s.end_ns.map(Val::Int),
            Field::ScopeName => text(s.scope_name.as_deref()),
            Field::ScopeVersion => text(s.scope_version.as_deref()),
            Field::TraceId => Some(Val::Str(self.id.clone())),
            Field::SpanId => Some(Val::Str(span_id_hex(s.span_id))),
            Field::ParentSpanId => parent_id(s).map(|p| Val::Str(span_id_hex(p))),
            Field::Depth => Some(Val::Int(self.ancestors(i).len() as i64)),
            Field::HttpMethod => text(p.http_method.as_deref()),
            Field::HttpUrl => text(p.http_url.as_deref()),
            Field::HttpRoute => text(p.http_route.as_deref()),
            Field::HttpStatusCode => p.http_status_code.map(Val::Int),
            Field::DbSystem => text(p.db_system.as_deref()),
            Field::DbName => text(p.db_name.as_deref()),
            Field::DbUser => text(p.db_user.as_deref()),
            Field::DbStatement => text(p.db_statement.as_deref()),
            Field::Tag(key) => return self.tag_values(i, key),
            Field::TraceDuration | Field::TraceSpanCount | Field::TraceServiceCount | Field::TraceRootName => {
                panic!("trace.* fields are not part of the language yet")
            }
        };
        value.into_iter().collect()
    }

    /// Span attributes with the key; only when there is none at all, resource attributes with it.
    fn tag_values(&self, i: usize, key: &str) -> Vec<Val> {
        let s = self.spans[i];
        let with_key = |attrs: &'a [tracecheck::ingest::Attr]| -> Vec<&'a Value> {
            attrs.iter().filter(|a| a.key == key).map(|a| &a.value).collect()
        };
        let mut values = with_key(&s.attributes);
        if values.is_empty() {
            values = with_key(&s.resource);
        }
        values
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(x) => Some(Val::Str(x.clone())),
                Value::Int(x) => Some(Val::Float(*x as f64)),
                Value::Double(x) => Some(Val::Float(*x)),
                Value::Bool(x) => Some(Val::Bool(*x)),
                // Bytes, arrays, maps and empty values match nothing.
                _ => None,
            })
            .collect()
    }

    fn matches(&self, i: usize, p: &Predicate) -> bool {
        let lit = literal(&p.value.node);
        self.field_values(i, &p.field.node)
            .iter()
            .any(|v| compare(v, p.op.node, &lit))
    }

    fn violations(&self, model: &Model, out: &mut Vec<RefViolation>) {
        let names: Vec<String> = model.lets.iter().map(|l| l.name.node.clone()).collect();
        let unassigned = Env {
            trace: self,
            names: &[],
            assigned: &[],
        };
        // Every tuple of spans matching the lets' selectors (a span may serve several lets).
        let mut tuples: Vec<Vec<usize>> = vec![Vec::new()];
        for l in &model.lets {
            let choices = unassigned.spans_of(&l.selector);
            tuples = tuples
                .into_iter()
                .flat_map(|t| {
                    choices.iter().map(move |&c| {
                        let mut t = t.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
        }
        for tuple in tuples {
            let env = Env {
                trace: self,
                names: &names,
                assigned: &tuple,
            };
            let conditions = model.when.as_ref().map_or(&[][..], |w| &w.conditions[..]);
            if !conditions.iter().all(|c| env.condition(c)) {
                continue;
            }
            for (j, e) in model.expects.iter().enumerate() {
                let matched = env.term_spans(&e.term);
                if quantifier_holds(e.quantifier, matched.len()) {
                    continue;
                }
                let mut witnesses: Vec<String> = matched.iter().map(|&i| span_id_hex(self.spans[i].span_id)).collect();
                witnesses.sort();
                out.push(RefViolation {
                    model: model.title.node.clone(),
                    clause: j + 1,
                    trace_id: self.id.clone(),
                    assignment: names
                        .iter()
                        .zip(&tuple)
                        .map(|(n, &i)| (n.clone(), span_id_hex(self.spans[i].span_id)))
                        .collect(),
                    matched: matched.len() as i64,
                    witnesses,
                });
            }
        }
    }
}

/// A trace with the spans assigned to the lets.
struct Env<'t, 'a> {
    trace: &'t Trace<'a>,
    names: &'t [String],
    assigned: &'t [usize],
}

impl Env<'_, '_> {
    fn spans_of(&self, selector: &Selector) -> Vec<usize> {
        match selector {
            Selector::Ref(name) => {
                let pos = self
                    .names
                    .iter()
                    .position(|n| *n == name.node)
                    .unwrap_or_else(|| panic!("unknown let {:?}", name.node));
                vec![self.assigned[pos]]
            }
            Selector::Inline { predicates, .. } => (0..self.trace.spans.len())
                .filter(|&i| predicates.iter().all(|p| self.trace.matches(i, p)))
                .collect(),
        }
    }

    /// The spans of the term's selector that are related to some span of its target.
    fn term_spans(&self, term: &SpanTerm) -> Vec<usize> {
        let spans = self.spans_of(&term.selector);
        match &term.relation {
            None => spans,
            Some(rel) => {
                let targets = self.spans_of(&rel.target);
                spans
                    .into_iter()
                    .filter(|&s| targets.iter().any(|&t| self.trace.related(s, rel.kind, t)))
                    .collect()
            }
        }
    }

    fn condition(&self, c: &Condition) -> bool {
        match c {
            Condition::Exists(term) => !self.term_spans(term).is_empty(),
            Condition::Compare { left, op, right, .. } => {
                let (l, r) = (self.eval(left), self.eval(right));
                l.iter().any(|a| r.iter().any(|b| compare(a, op.node, b)))
            }
        }
    }

    /// Every value the expression can take. Each inline selector occurrence (and each tag value)
    /// is an independent existential choice that occurs once in the expression, so the set of
    /// results over all choices is the set of results of the operators over the operands' value
    /// sets; missing values and divisions by zero drop out.
    fn eval(&self, e: &Expr) -> Vec<Val> {
        match e {
            Expr::Literal(l) => vec![literal(&l.node)],
            Expr::Field(f) => {
                let selector = f
                    .selector
                    .as_ref()
                    .expect("trace.* fields are not part of the language yet");
                self.spans_of(selector)
                    .into_iter()
                    .flat_map(|i| self.trace.field_values(i, &f.field.node))
                    .collect()
            }
            Expr::Neg { expr, .. } => numbers(self.eval(expr)).into_iter().map(|x| Val::Float(-x)).collect(),
            Expr::Binary { op, left, right, .. } => {
                let (l, r) = (numbers(self.eval(left)), numbers(self.eval(right)));
                l.iter()
                    .flat_map(|&a| r.iter().filter_map(move |&b| arith(*op, a, b)))
                    .map(Val::Float)
                    .collect()
            }
        }
    }
}

/// The numeric values among `vals` (a tag in arithmetic is its numeric value), without repeats so
/// that nested products stay small.
fn numbers(vals: Vec<Val>) -> Vec<f64> {
    let mut xs: Vec<f64> = vals.iter().filter_map(Val::number).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracecheck::ingest::{Attr, Span, StatusCode, Value};
    use tracecheck::model::builder::*;

    use super::{evaluate, RefViolation};
    use crate::it::common::seed_model;

    fn mk(trace: u128, id: u64, parent: Option<u64>, name: &str) -> Span {
        Span {
            trace_id: trace,
            span_id: id,
            parent_span_id: parent,
            name: name.into(),
            service: "bank".into(),
            ..Span::default()
        }
    }

    fn with_amount(mut s: Span, amount: i64) -> Span {
        s.attributes.push(Attr::new("amount", Value::Int(amount)));
        s
    }

    fn violation(clause: usize, trace: &str, assignment: &[(&str, &str)], witnesses: &[&str]) -> RefViolation {
        RefViolation {
            model: "m".into(),
            clause,
            trace_id: trace.into(),
            assignment: assignment.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            matched: witnesses.len() as i64,
            witnesses: witnesses.iter().map(|w| w.to_string()).collect(),
        }
    }

    const T1: &str = "00000000000000000000000000000001";
    const T2: &str = "00000000000000000000000000000002";

    #[test]
    fn seed_model_flags_only_the_overdrawn_trace() {
        let model = seed_model("m");
        let spans = vec![
            // Trace 1 withdraws 300 from a balance of 100 and commits.
            mk(1, 1, None, "withdraw"),
            with_amount(mk(1, 2, Some(1), "fetch-balance"), 100),
            with_amount(mk(1, 3, Some(1), "withdrawal"), 300),
            mk(1, 4, Some(1), "commit"),
            // Trace 2 withdraws 300 from 500: the rule does not apply.
            mk(2, 1, None, "withdraw"),
            with_amount(mk(2, 2, Some(1), "fetch-balance"), 500),
            with_amount(mk(2, 3, Some(1), "withdrawal"), 300),
            mk(2, 4, Some(1), "commit"),
            // Trace 3 is overdrawn but rolls back.
            mk(3, 1, None, "withdraw"),
            with_amount(mk(3, 2, Some(1), "fetch-balance"), 100),
            with_amount(mk(3, 3, Some(1), "withdrawal"), 300),
            mk(3, 4, Some(1), "rollback"),
        ];
        assert_eq!(
            evaluate(&model, &spans),
            vec![violation(1, T1, &[], &[]), violation(2, T1, &[], &["0000000000000004"]),]
        );
    }

    #[test]
    fn lets_report_each_failing_assignment() {
        // Every withdrawal needs a commit below it.
        let model = Model::new("m")
            .let_("w", span().name("withdrawal"))
            .expect(span().name("commit").descendant_of(named("w")));
        let spans = vec![
            mk(1, 1, None, "withdrawal"),
            mk(1, 2, Some(1), "db"),
            mk(1, 3, Some(2), "commit"),
            mk(1, 4, None, "withdrawal"),
            // Its parent 1 is in another trace only: a root here, so not below withdrawal 1.
            mk(2, 5, Some(1), "commit"),
            mk(2, 6, None, "withdrawal"),
        ];
        assert_eq!(
            evaluate(&model, &spans),
            vec![
                violation(1, T1, &[("w", "0000000000000004")], &[]),
                violation(1, T2, &[("w", "0000000000000006")], &[]),
            ]
        );
    }

    #[test]
    fn tags_fall_back_to_resource_only_without_a_span_value() {
        let resource = Arc::new(vec![Attr::new("k", Value::Int(7))]);
        let mut own = mk(1, 1, None, "a");
        own.resource = resource.clone();
        own.attributes.push(Attr::new("k", Value::Str("x".into())));
        let mut shadowed = mk(1, 2, None, "b");
        shadowed.resource = resource.clone();
        shadowed.attributes.push(Attr::new("k", Value::Bytes(vec![1])));
        let mut inherited = mk(1, 3, None, "c");
        inherited.resource = resource;
        inherited.status = StatusCode::Error;
        let model = Model::new("m").expect_count(0, span().with_tag("k", 7));
        assert_eq!(
            evaluate(&model, &[own, shadowed, inherited]),
            vec![violation(1, T1, &[], &["0000000000000003"])]
        );
    }

    #[test]
    fn comparisons_choose_each_occurrence_independently() {
        // Two occurrences of the same inline selector may pick different spans.
        let model = Model::new("m")
            .when(greater_than(
                span().name("a").duration(),
                span().name("a").duration() * 2,
            ))
            .not_expect(span());
        let timed = |id, start, end| Span {
            start_ns: Some(start),
            end_ns: Some(end),
            ..mk(1, id, None, "a")
        };
        let spans = vec![timed(1, 0, 10), timed(2, 0, 3)];
        let all = ["0000000000000001", "0000000000000002"];
        assert_eq!(evaluate(&model, &spans), vec![violation(1, T1, &[], &all)]);
        // Division by zero is missing, so it never compares.
        let model = Model::new("m")
            .when(less_than(span().name("a").duration() / 0, 1.0))
            .not_expect(span());
        assert_eq!(evaluate(&model, &spans), vec![]);
    }
}
