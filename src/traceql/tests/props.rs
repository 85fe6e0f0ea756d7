//! Property: any AST the parser could produce prints as text that parses back to itself.

use std::time::Duration;

use proptest::prelude::*;

use crate::traceql::ast::*;
use crate::traceql::parse;

fn sp() -> Span {
    Span::default()
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::Str),
        (0..=i64::MAX).prop_map(Literal::Int),
        any::<f64>()
            .prop_filter("finite, not negative", |f| f.is_finite() && f.is_sign_positive())
            .prop_map(Literal::Float),
        any::<u64>().prop_map(|n| Literal::Duration(Duration::from_nanos(n))),
        (0u64..100).prop_map(|n| Literal::Duration(Duration::from_millis(n * 250))),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Nil),
        prop::sample::select(StatusCode::ALL.to_vec()).prop_map(Literal::Status),
        prop::sample::select(SpanKind::ALL.to_vec()).prop_map(Literal::Kind),
    ]
}

fn field_ref() -> impl Strategy<Value = FieldRef> {
    let scopes = vec![
        AttributeScope::Unscoped,
        AttributeScope::Span,
        AttributeScope::Resource,
        AttributeScope::Event,
        AttributeScope::Link,
        AttributeScope::Instrumentation,
    ];
    prop_oneof![
        prop::sample::select(SCOPED_INTRINSICS.map(|(_, _, i)| i).to_vec())
            .prop_map(|intrinsic| FieldRef::Intrinsic { intrinsic, span: sp() }),
        (
            prop::sample::select(scopes),
            "[a-z0-9_.:/ \"\\\\-]{1,8}|[a-z][a-z0-9_.]{0,8}"
        )
            .prop_map(|(scope, name)| {
                FieldRef::Attribute(Attribute {
                    scope,
                    name,
                    span: sp(),
                })
            }),
    ]
}

fn field_expr() -> impl Strategy<Value = FieldExpr> {
    let leaf = prop_oneof![
        literal().prop_map(|value| FieldExpr::Literal { value, span: sp() }),
        field_ref().prop_map(FieldExpr::Field),
    ];
    let binary_ops = vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Pow,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Regex,
        BinaryOp::NotRegex,
        BinaryOp::And,
        BinaryOp::Or,
    ];
    leaf.prop_recursive(4, 24, 2, move |inner| {
        prop_oneof![
            (prop::sample::select(vec![UnaryOp::Neg, UnaryOp::Not]), inner.clone()).prop_map(|(op, e)| {
                FieldExpr::Unary {
                    op,
                    operand: Box::new(e),
                    span: sp(),
                }
            }),
            (prop::sample::select(binary_ops.clone()), inner.clone(), inner).prop_map(|(op, l, r)| FieldExpr::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
                span: sp(),
            }),
        ]
    })
}

fn scalar_expr() -> impl Strategy<Value = ScalarExpr> {
    let aggregate = (
        prop::sample::select(AggregateFn::ALL.map(|(_, f)| f).to_vec()),
        field_expr(),
    )
        .prop_map(|(func, arg)| {
            ScalarExpr::Aggregate(Aggregate {
                func,
                arg: (func != AggregateFn::Count).then(|| Box::new(arg)),
                span: sp(),
            })
        });
    let number = prop_oneof![
        (0..1000i64).prop_map(Literal::Int),
        (0..1000u32).prop_map(|n| Literal::Float(f64::from(n) / 8.0)),
        (0..1000u64).prop_map(|n| Literal::Duration(Duration::from_micros(n))),
    ]
    .prop_map(|value| ScalarExpr::Literal { value, span: sp() });
    let ops = vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Pow,
    ];
    prop_oneof![aggregate, number].prop_recursive(3, 12, 2, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| ScalarExpr::Neg {
                operand: Box::new(e),
                span: sp(),
            }),
            (prop::sample::select(ops.clone()), inner.clone(), inner).prop_map(|(op, l, r)| ScalarExpr::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
                span: sp(),
            }),
        ]
    })
}

fn scalar_filter() -> impl Strategy<Value = ScalarFilter> {
    let ops = vec![
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ];
    (prop::sample::select(ops), scalar_expr(), scalar_expr())
        .prop_filter("an aggregate on one side", |(_, l, r)| {
            l.has_aggregate() || r.has_aggregate()
        })
        .prop_map(|(op, lhs, rhs)| ScalarFilter {
            op,
            lhs,
            rhs,
            span: sp(),
        })
}

fn filter() -> impl Strategy<Value = SpansetFilter> {
    prop::option::of(field_expr()).prop_map(|cond| SpansetFilter { cond, span: sp() })
}

/// Stages other than spanset expressions.
fn other_stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        scalar_filter().prop_map(Stage::ScalarFilter),
        prop::collection::vec(field_expr(), 1..3).prop_map(|exprs| Stage::By { exprs, span: sp() }),
        prop::collection::vec(field_ref(), 1..3).prop_map(|fields| Stage::Select { fields, span: sp() }),
        Just(Stage::Coalesce { span: sp() }),
    ]
}

fn spanset_expr() -> impl Strategy<Value = SpansetExpr> {
    let ops = vec![
        SpansetOp::And,
        SpansetOp::Or,
        SpansetOp::Child,
        SpansetOp::Parent,
        SpansetOp::Descendant,
        SpansetOp::Ancestor,
        SpansetOp::Sibling,
        SpansetOp::NotChild,
        SpansetOp::NotParent,
        SpansetOp::NotDescendant,
        SpansetOp::NotAncestor,
        SpansetOp::NotSibling,
        SpansetOp::UnionChild,
        SpansetOp::UnionParent,
        SpansetOp::UnionDescendant,
        SpansetOp::UnionAncestor,
        SpansetOp::UnionSibling,
    ];
    filter()
        .prop_map(SpansetExpr::Filter)
        .prop_recursive(3, 12, 3, move |inner| {
            let stage = prop_oneof![inner.clone().prop_map(Stage::Spanset), other_stage()];
            prop_oneof![
                (prop::sample::select(ops.clone()), inner.clone(), inner).prop_map(|(op, l, r)| SpansetExpr::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                    span: sp(),
                }),
                // A parenthesised pipeline that is more than a group.
                prop::collection::vec(stage, 1..3)
                    .prop_filter("not a lone spanset stage", |s| s.len() > 1
                        || !matches!(s[0], Stage::Spanset(_)))
                    .prop_map(|stages| SpansetExpr::Pipeline(Box::new(Pipeline { stages, span: sp() }))),
            ]
        })
}

fn metrics() -> impl Strategy<Value = Metrics> {
    let func = prop_oneof![
        Just(MetricsFn::Rate),
        Just(MetricsFn::CountOverTime),
        field_ref().prop_map(MetricsFn::MinOverTime),
        field_ref().prop_map(MetricsFn::MaxOverTime),
        field_ref().prop_map(MetricsFn::AvgOverTime),
        field_ref().prop_map(MetricsFn::SumOverTime),
        field_ref().prop_map(MetricsFn::HistogramOverTime),
        (field_ref(), prop::collection::vec(0.0..=1.0f64, 1..4))
            .prop_map(|(field, quantiles)| MetricsFn::QuantileOverTime { field, quantiles }),
        (
            filter(),
            prop::option::of(0..100i64),
            prop::option::of((0..i64::MAX, 0..i64::MAX))
        )
            .prop_map(|(selection, n, range)| {
                MetricsFn::Compare {
                    selection,
                    top_n: n.or(range.map(|_| 10)),
                    range,
                }
            }),
    ];
    (func, prop::collection::vec(field_ref(), 0..3)).prop_map(|(func, by)| Metrics { func, by, span: sp() })
}

fn query() -> impl Strategy<Value = Query> {
    let stage = prop_oneof![3 => spanset_expr().prop_map(Stage::Spanset), 1 => other_stage()];
    let second = prop_oneof![
        (0..100i64).prop_map(|k| SecondStage::TopK { k, span: sp() }),
        (0..100i64).prop_map(|k| SecondStage::BottomK { k, span: sp() }),
    ];
    let hint = ("[a-z_][a-z0-9_]{0,6}", literal(), any::<bool>()).prop_map(|(name, value, negate)| {
        let value = match value {
            Literal::Int(i) if negate => Literal::Int(-i),
            Literal::Float(f) if negate => Literal::Float(-f),
            v => v,
        };
        Hint {
            name,
            value,
            span: sp(),
        }
    });
    (
        prop::collection::vec(stage, 1..4),
        prop::option::of((metrics(), prop::collection::vec(second, 0..3))),
        prop::collection::vec(hint, 0..3),
    )
        .prop_map(|(stages, metrics, hints)| {
            let (metrics, second_stage) = match metrics {
                Some((m, s)) => (Some(m), s),
                None => (None, Vec::new()),
            };
            Query {
                pipeline: Pipeline { stages, span: sp() },
                metrics,
                second_stage,
                hints,
                span: sp(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_queries_parse_back(q in query()) {
        let text = q.to_string();
        match parse(&text) {
            Ok(again) => prop_assert_eq!(again, q, "text: {}", text),
            Err(e) => prop_assert!(false, "{}", e.render("printed", &text)),
        }
    }
}
