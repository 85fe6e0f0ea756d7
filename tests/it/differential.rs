//! Differential tests: the SQL compiler (`check::model_violations`, the staged plan that `check` and
//! `watch` run, and that plan run in passes over ranges of trace ids) against the reference
//! evaluator (`reference::evaluate`) on random traces and random type-valid models from the whole
//! grammar.
//!
//! Everything is generated with proptest combinators, so a failure shrinks to a small model and a
//! few spans, printed as model text. `TRACECHECK_DIFFERENTIAL_CASES` sets the number of cases.

use std::fmt::Write as _;
use std::sync::Arc;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use tokio::runtime::Runtime;
use tracecheck::ingest::{span_id_hex, trace_id_hex, Attr, Event, Span, SpanKind, StatusCode, Value};
use tracecheck::model::ast::{
    ArithOp, CmpOp, Condition, Expr, Field, Literal, Quantifier, RelationKind, Selector, SpanTerm, KIND_VALUES,
    STATUS_VALUES,
};
use tracecheck::model::builder::{compare, named, span as inline, SpanBuilder};
use tracecheck::model::{format_file, File, Item, Model};

use super::common::seed_model;
use super::reference::{self, RefViolation};

// ---------------------------------------------------------------------------------------------
// Traces

/// Times are whole milliseconds after one of two instants: a small one, where f64 arithmetic on
/// timestamps is exact, and a realistic one above 2^53, where `when` arithmetic (f64 by the spec)
/// rounds and both sides must round alike.
const BASE_NS: i64 = 1_000_000_000;
const EPOCH_NS: i64 = 1_700_000_000_000_000_123;
const MS: i64 = 1_000_000;

/// Span ids of a "big ids" trace start here, so hex letters appear in ids.
const BIG_SPAN_ID: u64 = 0xfeed_0000_0000_0000;

#[derive(Clone, Debug)]
enum ParentPick {
    Root,
    /// A span generated earlier in the same trace (so the trace is a forest, never a cycle).
    Earlier(Index),
    /// A parent id absent from the trace; two orphans may share one and be siblings.
    Orphan(u64),
}

#[derive(Clone, Debug)]
struct SpanSpec {
    parent: ParentPick,
    name: &'static str,
    service: &'static str,
    kind: SpanKind,
    status: StatusCode,
    status_message: Option<&'static str>,
    /// Milliseconds after the trace's base instant.
    start: Option<i64>,
    end: Option<i64>,
    scope_name: Option<&'static str>,
    scope_version: Option<&'static str>,
    attributes: Vec<Attr>,
    resource: Vec<Attr>,
    /// Attributes that must never be read as tags (scope and event attributes).
    scope_attributes: Vec<Attr>,
    event_attributes: Vec<Attr>,
}

#[derive(Clone, Debug)]
struct TraceSpec {
    big_ids: bool,
    epoch: bool,
    spans: Vec<SpanSpec>,
}

const TAG_STRINGS: [&str; 7] = ["a", "b", "ab", "", "3", "x", "é"];

fn attr_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (-2i64..=5).prop_map(Value::Int),
        2 => select(vec![-1.5, 0.5, 2.0, 3.0]).prop_map(Value::Double),
        3 => select(TAG_STRINGS.to_vec()).prop_map(|s| Value::Str(s.into())),
        1 => any::<bool>().prop_map(Value::Bool),
        // Shadows a resource value of the same key, yet matches nothing itself.
        1 => Just(Value::Bytes(vec![1, 2])),
    ]
}

fn attr(keys: &'static [&'static str]) -> impl Strategy<Value = Attr> {
    (select(keys), attr_value()).prop_map(|(k, v)| Attr::new(k, v))
}

/// Attributes that ingest promotes to columns (they stay tags too).
fn semconv_attr() -> impl Strategy<Value = Attr> {
    let s = |k: &str, v: &str| Attr::new(k, Value::Str(v.into()));
    select(vec![
        Attr::new("http.status_code", Value::Int(200)),
        Attr::new("http.status_code", Value::Int(404)),
        Attr::new("http.status_code", Value::Int(500)),
        s("http.method", "GET"),
        s("http.method", "POST"),
        s("http.route", "/a"),
        s("http.url", "http://h/a?b"),
        s("db.system", "pg"),
        s("db.name", "bank"),
        s("db.user", "ab"),
        s("db.statement", "select 1"),
    ])
}

fn times() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    prop_oneof![
        12 => (0i64..20, 0i64..=10).prop_map(|(s, d)| (Some(s), Some(s + d))),
        1 => Just((None, None)),
        1 => (0i64..20).prop_map(|s| (Some(s), None)),
        1 => (0i64..20).prop_map(|e| (None, Some(e))),
    ]
}

fn span_spec() -> impl Strategy<Value = SpanSpec> {
    let parent = prop_oneof![
        1 => Just(ParentPick::Root),
        6 => any::<Index>().prop_map(ParentPick::Earlier),
        1 => (0x40u64..=0x41).prop_map(ParentPick::Orphan),
    ];
    let kinds = vec![
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];
    let statuses = vec![StatusCode::Unset, StatusCode::Ok, StatusCode::Error];
    let identity = (
        parent,
        select(vec!["a", "b", "c", "d"]),
        select(vec!["x", "y"]),
        select(kinds),
        select(statuses),
        option::weighted(0.3, select(vec!["m", "oops"])),
        times(),
        option::weighted(0.5, select(vec!["s", ""])),
        option::weighted(0.3, Just("1.0")),
    );
    let attributes = (
        vec(attr(&["k", "n"]), 0..=3),
        vec(semconv_attr(), 0..=2),
        vec(attr(&["k", "n"]), 0..=2),
        vec(attr(&["k"]), 0..=1),
        vec(attr(&["k"]), 0..=1),
    );
    (identity, attributes).prop_map(
        |(
            (parent, name, service, kind, status, status_message, (start, end), scope_name, scope_version),
            (mut attributes, semconv, resource, scope_attributes, event_attributes),
        )| {
            attributes.extend(semconv);
            SpanSpec {
                parent,
                name,
                service,
                kind,
                status,
                status_message,
                start,
                end,
                scope_name,
                scope_version,
                attributes,
                resource,
                scope_attributes,
                event_attributes,
            }
        },
    )
}

fn trace_spec() -> impl Strategy<Value = TraceSpec> {
    (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        vec(span_spec(), 1..=7),
    )
        .prop_map(|(big_ids, epoch, spans)| TraceSpec { big_ids, epoch, spans })
}

/// Span ids restart in every trace (1, 2, ...), so a join that forgets the trace id goes wrong.
fn build_spans(traces: Vec<TraceSpec>) -> Vec<Span> {
    let mut out = Vec::new();
    for (t, trace) in traces.into_iter().enumerate() {
        let trace_id = if trace.big_ids {
            (t as u128 + 1) | (0xab << 100)
        } else {
            t as u128 + 1
        };
        let base = if trace.big_ids { BIG_SPAN_ID } else { 0 };
        let id = |i: usize| base + i as u64 + 1;
        let origin = if trace.epoch { EPOCH_NS } else { BASE_NS };
        let at = |ms: Option<i64>| ms.map(|ms| origin + ms * MS);
        for (i, s) in trace.spans.into_iter().enumerate() {
            let parent = match s.parent {
                ParentPick::Root => None,
                ParentPick::Earlier(_) if i == 0 => None,
                ParentPick::Earlier(ix) => Some(id(ix.index(i))),
                ParentPick::Orphan(p) => Some(base + p),
            };
            let events = if s.event_attributes.is_empty() {
                Vec::new()
            } else {
                vec![Event {
                    time_ns: at(s.start),
                    name: "e".into(),
                    attributes: s.event_attributes,
                    dropped_attributes_count: 0,
                }]
            };
            out.push(Span {
                trace_id,
                span_id: id(i),
                parent_span_id: parent,
                name: s.name.into(),
                service: s.service.into(),
                kind: s.kind,
                start_ns: at(s.start),
                end_ns: at(s.end),
                status: s.status,
                status_message: s.status_message.map(Into::into),
                scope_name: s.scope_name.map(Into::into),
                scope_version: s.scope_version.map(Into::into),
                attributes: s.attributes,
                resource: Arc::new(s.resource),
                scope_attributes: Arc::new(s.scope_attributes),
                events,
                ..Span::default()
            });
        }
    }
    out
}

pub(super) fn spans_strategy() -> impl Strategy<Value = Vec<Span>> {
    // Shuffled so that input order says nothing about trace membership or tree order.
    vec(trace_spec(), 1..=4).prop_map(build_spans).prop_shuffle()
}

// ---------------------------------------------------------------------------------------------
// Models

const LET_NAMES: [&str; 2] = ["w", "v"];
const ORDER_OPS: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];
const STRING_FIELDS: [Field; 15] = [
    Field::Name,
    Field::Service,
    Field::StatusMessage,
    Field::ScopeName,
    Field::ScopeVersion,
    Field::TraceId,
    Field::SpanId,
    Field::ParentSpanId,
    Field::HttpMethod,
    Field::HttpUrl,
    Field::HttpRoute,
    Field::DbSystem,
    Field::DbName,
    Field::DbUser,
    Field::DbStatement,
];
/// String literals: values the generated fields take, prefixes of them, and the empty string.
const STRINGS: [&str; 18] = [
    "",
    "a",
    "b",
    "ab",
    "c",
    "x",
    "y",
    "m",
    "s",
    "1",
    "3",
    "é",
    "GET",
    "/a",
    "pg",
    "feed",
    "0ab",
    "0000000000000001",
];
const REGEXES: [&str; 9] = ["^a", "b$", "a|c", "^$", ".", "[0-9]", "^(x|y)$", "^0+1$", "é"];
const DURATIONS: [i64; 6] = [0, MS, 3 * MS / 2, 2 * MS, 5 * MS, 10 * MS];

fn ops(list: &[CmpOp]) -> impl Strategy<Value = CmpOp> + use<> {
    select(list.to_vec())
}

fn tag_key() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("k"), 2 => Just("n"), 1 => Just("http.status_code"), 1 => Just("zz")]
}

/// `OP "text"`, `=~ "regex"` or `contains "text"`.
fn string_test() -> impl Strategy<Value = (CmpOp, Literal)> {
    prop_oneof![
        4 => (ops(&ORDER_OPS), select(STRINGS.to_vec())).prop_map(|(op, s)| (op, Literal::Str(s.into()))),
        2 => select(REGEXES.to_vec()).prop_map(|r| (CmpOp::Match, Literal::Str(r.into()))),
        2 => select(STRINGS.to_vec()).prop_map(|s| (CmpOp::Contains, Literal::Str(s.into()))),
    ]
}

fn number_literal(ints: Vec<i64>, floats: Vec<f64>) -> impl Strategy<Value = Literal> {
    prop_oneof![
        3 => select(ints).prop_map(Literal::Int),
        1 => select(floats).prop_map(Literal::Float),
    ]
}

/// `FIELD OP LITERAL` for every field type and every operator legal for it.
fn field_test() -> BoxedStrategy<(Field, CmpOp, Literal)> {
    let string = (select(STRING_FIELDS.to_vec()), string_test()).prop_map(|(f, (op, l))| (f, op, l));
    let enums = (
        any::<bool>(),
        any::<Index>(),
        ops(&[CmpOp::Eq, CmpOp::Ne]),
        any::<bool>(),
    )
        .prop_map(|(is_kind, ix, op, as_enum)| {
            // The index runs over both enums, so a kind is sometimes compared with a status value.
            let field = if is_kind { Field::Kind } else { Field::Status };
            let both: Vec<&str> = if is_kind {
                KIND_VALUES.iter().chain(&STATUS_VALUES[..1]).copied().collect()
            } else {
                STATUS_VALUES.iter().chain(&KIND_VALUES[..1]).copied().collect()
            };
            let v = ix.get(&both).to_string();
            // A bare enum word must be a value of the field itself (the parser's rule).
            let own = field.enum_values().is_some_and(|values| values.contains(&v.as_str()));
            (
                field,
                op,
                if as_enum && own {
                    Literal::Enum(v)
                } else {
                    Literal::Str(v)
                },
            )
        });
    let duration =
        (ops(&ORDER_OPS), select(DURATIONS.to_vec())).prop_map(|(op, ns)| (Field::Duration, op, Literal::Duration(ns)));
    let depth = (ops(&ORDER_OPS), number_literal(vec![0, 1, 2, 3], vec![0.5, 1.5, 2.0]))
        .prop_map(|(op, l)| (Field::Depth, op, l));
    let status_code = (ops(&ORDER_OPS), number_literal(vec![200, 404, 500], vec![404.0, 450.5]))
        .prop_map(|(op, l)| (Field::HttpStatusCode, op, l));
    let tag_value = prop_oneof![
        3 => string_test(),
        3 => (ops(&ORDER_OPS), number_literal(vec![-1, 0, 2, 3, 5], vec![0.5, 2.0, -1.5])),
        1 => (ops(&[CmpOp::Eq, CmpOp::Ne]), any::<bool>().prop_map(Literal::Bool)),
    ];
    let tag = (tag_key(), tag_value).prop_map(|(k, (op, l))| (Field::Tag(k.into()), op, l));
    prop_oneof![4 => string, 2 => enums, 2 => duration, 1 => depth, 1 => status_code, 4 => tag].boxed()
}

fn inline_selector() -> impl Strategy<Value = Selector> {
    vec(field_test(), 0..=2).prop_map(|tests| {
        let builder = tests
            .into_iter()
            .fold(inline(), |b: SpanBuilder, (f, op, l)| b.where_(f, op, l));
        Selector::from(builder)
    })
}

/// An inline selector, or one of the first `lets` let names.
fn selector(lets: usize) -> BoxedStrategy<Selector> {
    if lets == 0 {
        return inline_selector().boxed();
    }
    prop_oneof![
        3 => inline_selector(),
        2 => select(LET_NAMES[..lets].to_vec()).prop_map(named),
    ]
    .boxed()
}

fn term(lets: usize) -> impl Strategy<Value = SpanTerm> {
    (
        selector(lets),
        option::weighted(0.6, (select(RelationKind::ALL.to_vec()), selector(lets))),
    )
        .prop_map(|(s, rel)| match rel {
            Some((kind, target)) => s.related(kind, target),
            None => SpanTerm::from(s),
        })
}

fn field_ref(lets: usize, fields: Vec<Field>) -> impl Strategy<Value = Expr> {
    (selector(lets), select(fields)).prop_map(|(s, f)| Expr::Field(s.field(f)))
}

fn tag_ref(lets: usize) -> impl Strategy<Value = Expr> {
    (selector(lets), tag_key()).prop_map(|(s, k)| Expr::Field(s.tag(k)))
}

fn binary(left: Expr, op: ArithOp, right: Expr) -> Expr {
    match op {
        ArithOp::Add => left + right,
        ArithOp::Sub => left - right,
        ArithOp::Mul => left * right,
        ArithOp::Div => left / right,
    }
}

fn neg(e: Expr) -> Expr {
    Expr::Neg {
        expr: Box::new(e),
        span: Default::default(),
    }
}

const ALL_ARITH: [ArithOp; 4] = [ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div];

/// A number-typed expression of at most `depth` nested operators (a tag counts as a number).
fn number_expr(lets: usize, depth: u32) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        2 => select(vec![0i64, 1, 2, 3, -1, 404]).prop_map(Expr::from),
        1 => select(vec![0.5, 1.5, 2.0, 0.0]).prop_map(Expr::from),
        2 => field_ref(lets, vec![Field::Depth, Field::HttpStatusCode]),
        3 => tag_ref(lets),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        4 => leaf,
        1 => number_expr(lets, depth - 1).prop_map(neg),
        3 => (number_expr(lets, depth - 1), select(ALL_ARITH.to_vec()), number_expr(lets, depth - 1))
            .prop_map(|(l, op, r)| binary(l, op, r)),
        1 => (duration_expr(lets, depth - 1), duration_expr(lets, depth - 1))
            .prop_map(|(l, r)| binary(l, ArithOp::Div, r)),
    ]
    .boxed()
}

/// A duration-typed expression.
fn duration_expr(lets: usize, depth: u32) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        select(DURATIONS.to_vec()).prop_map(|ns| Expr::from(Literal::Duration(ns))),
        field_ref(lets, vec![Field::Duration]),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let d = || duration_expr(lets, depth - 1);
    let n = || number_expr(lets, depth - 1);
    let t = || timestamp_expr(lets, depth - 1);
    prop_oneof![
        4 => leaf,
        2 => (d(), select(vec![ArithOp::Add, ArithOp::Sub]), d()).prop_map(|(l, op, r)| binary(l, op, r)),
        1 => (d(), n()).prop_map(|(l, r)| binary(l, ArithOp::Mul, r)),
        1 => (n(), d()).prop_map(|(l, r)| binary(l, ArithOp::Mul, r)),
        1 => (d(), n()).prop_map(|(l, r)| binary(l, ArithOp::Div, r)),
        3 => (t(), t()).prop_map(|(l, r)| binary(l, ArithOp::Sub, r)),
        1 => d().prop_map(neg),
    ]
    .boxed()
}

/// A timestamp-typed expression.
fn timestamp_expr(lets: usize, depth: u32) -> BoxedStrategy<Expr> {
    let leaf = field_ref(lets, vec![Field::Start, Field::End]);
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => (
            timestamp_expr(lets, depth - 1),
            select(vec![ArithOp::Add, ArithOp::Sub]),
            duration_expr(lets, depth - 1)
        )
            .prop_map(|(l, op, r)| binary(l, op, r)),
        1 => (duration_expr(lets, depth - 1), timestamp_expr(lets, depth - 1))
            .prop_map(|(l, r)| binary(l, ArithOp::Add, r)),
    ]
    .boxed()
}

/// A literal may stand on either side, except the pattern of `=~` and the needle of `contains`.
fn field_vs_literal(field: Expr, op: CmpOp, value: Literal, literal_first: bool) -> Condition {
    if literal_first && !matches!(op, CmpOp::Match | CmpOp::Contains) {
        compare(value, op, field)
    } else {
        compare(field, op, value)
    }
}

fn condition(lets: usize) -> BoxedStrategy<Condition> {
    let tested = (selector(lets), field_test(), prop::bool::weighted(0.25))
        .prop_map(|(s, (f, op, l), first)| field_vs_literal(Expr::Field(s.field(f)), op, l, first));
    let numbers =
        (number_expr(lets, 2), ops(&ORDER_OPS), number_expr(lets, 2)).prop_map(|(l, op, r)| compare(l, op, r));
    let durations =
        (duration_expr(lets, 2), ops(&ORDER_OPS), duration_expr(lets, 2)).prop_map(|(l, op, r)| compare(l, op, r));
    // The spec lists timestamps only as operands and strings only against literals; the compiler
    // also compares two timestamps, two strings or two enums directly, with the obvious meaning.
    let timestamps =
        (timestamp_expr(lets, 1), ops(&ORDER_OPS), timestamp_expr(lets, 1)).prop_map(|(l, op, r)| compare(l, op, r));
    let strings = (
        field_ref(lets, STRING_FIELDS.to_vec()),
        ops(&ORDER_OPS),
        field_ref(lets, STRING_FIELDS.to_vec()),
    )
        .prop_map(|(l, op, r)| compare(l, op, r));
    let enums = (
        field_ref(lets, vec![Field::Kind, Field::Status]),
        ops(&[CmpOp::Eq, CmpOp::Ne]),
        field_ref(lets, vec![Field::Kind, Field::Status]),
    )
        .prop_map(|(l, op, r)| compare(l, op, r));
    let tags = (tag_ref(lets), ops(&ORDER_OPS), tag_ref(lets)).prop_map(|(l, op, r)| compare(l, op, r));
    prop_oneof![
        3 => term(lets).prop_map(Condition::Exists),
        3 => tested,
        2 => numbers,
        2 => durations,
        1 => timestamps,
        1 => strings,
        1 => enums,
        1 => tags,
    ]
    .boxed()
}

fn quantifier() -> impl Strategy<Value = Quantifier> {
    prop_oneof![
        2 => Just(Quantifier::Some),
        2 => Just(Quantifier::No),
        1 => (0u64..=3).prop_map(Quantifier::Exactly),
        1 => (0u64..=3).prop_map(Quantifier::AtLeast),
        1 => (0u64..=3).prop_map(Quantifier::AtMost),
    ]
}

/// A model with `lets` lets. One strategy per let count, built once: a `prop_flat_map` would build
/// the whole strategy tree again for every case, which costs more than running the case.
fn model_with_lets(lets: usize) -> impl Strategy<Value = Model> {
    (
        vec(inline_selector(), lets),
        option::weighted(0.6, vec(condition(lets), 1..=2)),
        vec((quantifier(), term(lets)), 1..=3),
    )
        .prop_map(|(selectors, when, expects)| {
            let mut model = Model::new("m");
            for (name, s) in LET_NAMES.iter().zip(selectors) {
                model = model.let_(*name, s);
            }
            for c in when.into_iter().flatten() {
                model = model.when(c);
            }
            for (q, t) in expects {
                model = match q {
                    Quantifier::Some => model.expect(t),
                    Quantifier::No => model.not_expect(t),
                    Quantifier::Exactly(n) => model.expect_count(n, t),
                    Quantifier::AtLeast(n) => model.expect_at_least(n, t),
                    Quantifier::AtMost(n) => model.expect_at_most(n, t),
                };
            }
            model
        })
}

fn model_strategy() -> impl Strategy<Value = Model> {
    prop_oneof![model_with_lets(0), model_with_lets(1), model_with_lets(2)]
}

// ---------------------------------------------------------------------------------------------
// Running

/// A violation of either side, as one comparable tuple.
type Row = (String, usize, String, Vec<(String, String)>, i64, Vec<String>);

fn reference_rows(model: &Model, spans: &[Span]) -> Vec<Row> {
    reference::evaluate(model, spans)
        .into_iter()
        .map(|v: RefViolation| (v.model, v.clause, v.trace_id, v.assignment, v.matched, v.witnesses))
        .collect()
}

/// What each SQL side found for one case.
struct SqlSides {
    /// The standalone SQL (what `explain` prints, what Ballista and DuckDB run).
    standalone: Vec<Row>,
    /// The staged plan of `check` (and of `watch`, which skips the counts): the assignments once in
    /// a memory table, then the expects over it.
    staged: Vec<Row>,
    /// The staged plan run in two passes over ranges of trace ids, added up, with the
    /// (assignments, traces) of one pass and of two, which must be equal; for a quarter of the
    /// cases (see [`in_passes`]).
    passes: Option<(Vec<Row>, Counts, Counts)>,
}

/// (assignments, traces) of a model's report.
type Counts = (u64, u64);

/// Whether a case also runs in passes: a quarter of them, chosen by content so that a shrunk case
/// keeps running in passes as long as its span count does not change that answer. (Every case in
/// passes made this test about three times slower.)
fn in_passes(spans: &[Span]) -> bool {
    spans.len() % 4 == 1
}

/// Ranges that cut the generated trace ids (1, 2, 3, ... and the same with high bits set) into two
/// passes, so every trace lands in exactly one and most cases have traces in both.
fn two_ranges() -> Vec<tracecheck::engine::TraceRange> {
    use tracecheck::engine::TraceRange;
    let bound = trace_id_hex(3);
    vec![
        TraceRange {
            lo: None,
            hi: Some(bound.clone()),
        },
        TraceRange {
            lo: Some(bound),
            hi: None,
        },
    ]
}

fn sql_rows(rt: &Runtime, model: &Model, spans: &[Span]) -> Result<SqlSides, String> {
    use tracecheck::check::{check_compiled, check_compiled_in_passes, Compiled, DataNames};
    let rows = |found: Vec<tracecheck::check::Violation>| -> Vec<Row> {
        found
            .into_iter()
            .map(|v| (v.model, v.clause, v.trace_id, v.assignment, v.matched, v.witnesses))
            .collect()
    };
    rt.block_on(async {
        let ctx = tracecheck::engine::open_spans(spans.to_vec()).await?;
        let standalone = tracecheck::check::model_violations(model, &ctx).await?;
        let compiled = tracecheck::compile::compile_model(model).map_err(|e| tracecheck::Error::Bug(e.message))?;
        let blocks = vec![Compiled::Model(Box::new(model.clone()), Box::new(compiled))];
        let names = DataNames::default();
        let whole = check_compiled("d", &blocks, &ctx, &names, None).await?;
        let whole = &whole.models[0];
        let mut passes = None;
        if in_passes(spans) {
            let mut sessions = Vec::new();
            for range in two_ranges() {
                sessions.push(tracecheck::engine::pass_session(&ctx, &range).await?);
            }
            let split = check_compiled_in_passes("d", &blocks, &ctx, &sessions, &names, None).await?;
            let split = &split.models[0];
            passes = Some((
                rows(split.violations.clone()),
                (whole.assignments, whole.traces),
                (split.assignments, split.traces),
            ));
        }
        Ok::<_, tracecheck::Error>(SqlSides {
            standalone: rows(standalone),
            staged: rows(whole.violations.clone()),
            passes,
        })
    })
    .map_err(|e| format!("the SQL side failed: {e}"))
}

fn model_text(model: &Model) -> String {
    format_file(&File {
        items: vec![Item::Model(model.clone())],
        ..Default::default()
    })
}

fn attrs_text(attrs: &[Attr]) -> String {
    let items: Vec<String> = attrs.iter().map(|a| format!("{}={:?}", a.key, a.value)).collect();
    format!("[{}]", items.join(", "))
}

/// One line per span, grouped by trace; times in ms after `BASE_NS` (or `EPOCH_NS`, marked `E+`).
fn spans_text(spans: &[Span]) -> String {
    let mut sorted: Vec<&Span> = spans.iter().collect();
    sorted.sort_by_key(|s| (s.trace_id, s.span_id));
    let time = |t: Option<i64>| match t {
        Some(ns) if ns >= EPOCH_NS => format!("E+{}ms", (ns - EPOCH_NS) / MS),
        Some(ns) => format!("{}ms", (ns - BASE_NS) / MS),
        None => "-".into(),
    };
    let mut out = String::new();
    for s in sorted {
        let event_attrs: Vec<Attr> = s.events.iter().flat_map(|e| e.attributes.clone()).collect();
        let _ = writeln!(
            out,
            "trace {} span {} parent {} name={:?} service={:?} kind={} status={} message={:?} start={} end={} \
             scope={:?}/{:?} attrs={} resource={} scope_attrs={} event_attrs={}",
            trace_id_hex(s.trace_id),
            span_id_hex(s.span_id),
            s.parent_span_id.map_or("-".into(), span_id_hex),
            s.name,
            s.service,
            s.kind.as_str(),
            s.status.as_str(),
            s.status_message,
            time(s.start_ns),
            time(s.end_ns),
            s.scope_name,
            s.scope_version,
            attrs_text(&s.attributes),
            attrs_text(&s.resource),
            attrs_text(&s.scope_attributes),
            attrs_text(&event_attrs),
        );
    }
    out
}

fn rows_text(rows: &[Row]) -> String {
    rows.iter().map(|r| format!("  {r:?}\n")).collect()
}

/// `Ok` when both sides agree; otherwise the whole case, readable on its own.
fn check_case(rt: &Runtime, model: &Model, spans: &[Span]) -> Result<(), String> {
    if let Err(e) = model.validate() {
        return Err(format!(
            "generated an invalid model ({}):\n{}",
            e.message,
            model_text(model)
        ));
    }
    let expected = reference_rows(model, spans);
    let (actual, which) = match sql_rows(rt, model, spans) {
        Ok(s) if s.standalone != expected => (rows_text(&s.standalone), "standalone SQL"),
        Ok(s) if s.staged != expected => (rows_text(&s.staged), "staged plan"),
        Ok(SqlSides {
            passes: Some((passes, ..)),
            ..
        }) if passes != expected => (rows_text(&passes), "staged plan in passes"),
        Ok(SqlSides {
            passes: Some((_, one, two)),
            ..
        }) if one != two => (
            format!("  (assignments, traces): one pass {one:?}, two passes {two:?}\n"),
            "counts of the passes",
        ),
        Ok(_) => return Ok(()),
        Err(e) => (format!("  {e}\n"), "SQL"),
    };
    Err(format!(
        "{which} and reference disagree\n--- model\n{}--- spans\n{}--- {which} violations\n{}--- reference violations\n{}",
        model_text(model),
        spans_text(spans),
        actual,
        rows_text(&expected),
    ))
}

fn cases() -> u32 {
    std::env::var("TRACECHECK_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Failures are reported with the shrunk case in full; no regression files in the tree.
        failure_persistence: None,
        max_shrink_time: 300_000,
        ..Config::default()
    }
}

fn run(mut runner: TestRunner) {
    // One runtime for all cases: building one per case would cost more than most cases.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = std::time::Instant::now();
    let result = runner.run(&(spans_strategy(), model_strategy()), |(spans, model)| {
        check_case(&rt, &model, &spans).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => eprintln!(
            "differential: {} cases in {:.1?}",
            runner.config().cases,
            started.elapsed()
        ),
        Err(TestError::Fail(_, (spans, model))) => {
            let report = check_case(&rt, &model, &spans)
                .err()
                .unwrap_or_else(|| "the shrunk case passes when run again".into());
            panic!("minimal failing case:\n{report}");
        }
        Err(TestError::Abort(why)) => panic!("proptest aborted: {why}"),
    }
}

/// The cases are split over one thread per core, each with its own runner (and random seed): the
/// test is the suite's longest (525 of the integration binary's 595 s), and once the other tests
/// are done it would otherwise finish on one core.
#[test]
fn sql_agrees_with_reference() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let total = cases();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let share = total / threads + u32::from(i < total % threads);
                scope.spawn(move || run(TestRunner::new(config(share))))
            })
            .collect();
        for handle in handles {
            // A failing share panics with its minimal case: raise that panic, message and all.
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// A span of a hand-written case, at `start`..`end` ms after `BASE_NS`.
fn fixed(trace: u128, id: u64, parent: Option<u64>, name: &str, start: i64, end: i64) -> Span {
    Span {
        trace_id: trace,
        span_id: id,
        parent_span_id: parent,
        name: name.into(),
        service: "x".into(),
        start_ns: Some(BASE_NS + start * MS),
        end_ns: Some(BASE_NS + end * MS),
        ..Span::default()
    }
}

fn tagged(mut s: Span, key: &str, values: &[Value]) -> Span {
    s.attributes.extend(values.iter().map(|v| Attr::new(key, v.clone())));
    s
}

/// Hand-written cases for the points of the spec that random cases reach only now and then.
fn fixed_cases() -> Vec<(Model, Vec<Span>)> {
    use tracecheck::model::builder::{contains, less_than};
    let int = Value::Int;
    let bank = vec![
        fixed(1, 1, None, "withdraw", 0, 10),
        tagged(fixed(1, 2, Some(1), "fetch-balance", 1, 2), "amount", &[int(100)]),
        tagged(fixed(1, 3, Some(1), "withdrawal", 3, 4), "amount", &[int(300)]),
        fixed(1, 4, Some(1), "commit", 5, 6),
        fixed(2, 1, None, "withdraw", 0, 10),
        tagged(fixed(2, 2, Some(1), "fetch-balance", 1, 2), "amount", &[int(500)]),
        tagged(fixed(2, 3, Some(1), "withdrawal", 3, 4), "amount", &[int(300)]),
        fixed(2, 4, Some(1), "rollback", 5, 6),
    ];
    let seed = seed_model("m");
    // A let's repeated tag: each occurrence picks its own value.
    let repeated_tag = Model::new("m")
        .let_("w", inline().name("a"))
        .when(less_than(named("w").tag("k"), named("w").tag("k")))
        .not_expect(inline());
    let two_values = vec![tagged(fixed(1, 1, None, "a", 0, 1), "k", &[int(1), int(2)])];
    // A span value of another type still hides the resource value.
    let mut shadowed = tagged(fixed(1, 1, None, "a", 0, 1), "k", &[Value::Bytes(vec![1])]);
    shadowed.resource = Arc::new(vec![Attr::new("k", int(7))]);
    let mut inherited = fixed(1, 2, None, "b", 0, 1);
    inherited.resource = Arc::new(vec![Attr::new("k", Value::Double(7.0))]);
    let resource = Model::new("m").expect_count(0, inline().with_tag("k", 7));
    // The empty string is in every present string, and only those.
    let mut with_message = fixed(1, 1, None, "a", 0, 1);
    with_message.status_message = Some("m".into());
    let empty_needle = Model::new("m")
        .let_("w", inline())
        .when(contains(named("w").field(Field::StatusMessage), ""))
        .not_expect(named("w"));
    // Orphans with one absent parent are siblings; an orphan is a root for descendant/depth.
    let orphans = vec![
        fixed(1, 1, None, "a", 0, 10),
        fixed(1, 2, Some(9), "b", 1, 2),
        fixed(1, 3, Some(9), "c", 3, 4),
        fixed(1, 4, Some(3), "d", 3, 4),
    ];
    let siblings = Model::new("m")
        .let_("w", inline())
        .expect(inline().sibling_of(named("w")))
        .expect_at_most(0, inline().descendant_of(named("w")))
        .expect(inline().where_(Field::Depth, CmpOp::Ge, 1).during(named("w")));
    // Division by zero is missing; time arithmetic on two spans.
    let arithmetic = Model::new("m")
        .let_("w", inline())
        .let_("v", inline())
        .when(compare(
            named("w").field(Field::End) - named("v").field(Field::Start),
            CmpOp::Ge,
            Literal::Duration(3 * MS),
        ))
        .when(compare(named("w").field(Field::Depth) / 0, CmpOp::Ne, 1))
        .not_expect(inline());
    let nonzero = Model::new("m")
        .let_("w", inline())
        .let_("v", inline())
        .when(compare(
            named("w").field(Field::End) - named("v").field(Field::Start),
            CmpOp::Ge,
            Literal::Duration(3 * MS),
        ))
        .expect_count(2, inline().before(named("v")));
    vec![
        (seed, bank.clone()),
        (repeated_tag, two_values),
        (resource, vec![shadowed, inherited]),
        (empty_needle, vec![with_message, fixed(1, 2, None, "b", 0, 1)]),
        (siblings, orphans.clone()),
        (arithmetic, orphans.clone()),
        (nonzero.clone(), orphans),
        (nonzero, bank),
    ]
}

/// The hand-written cases, then a fixed seed's random cases: about 20 cases, the same on every run.
#[test]
fn differential_smoke() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    for (model, spans) in fixed_cases() {
        if let Err(report) = check_case(&rt, &model, &spans) {
            panic!("{report}");
        }
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]);
    run(TestRunner::new_with_rng(config(12), rng));
}
