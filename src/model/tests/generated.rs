//! Generated ASTs survive format → parse unchanged (strings with any characters, extreme numbers,
//! nested arithmetic that needs parentheses, long clauses that wrap).
use proptest::prelude::*;

use crate::model::ast::*;
use crate::model::builder::*;
use crate::model::{format_file, parse_file};

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::Str),
        any::<i64>().prop_map(Literal::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Literal::Float),
        (-i64::MAX..=i64::MAX).prop_map(Literal::Duration),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    let named: Vec<Field> = FIELDS
        .iter()
        .map(|(_, f)| f.clone())
        .filter(|f| f.enum_values().is_none())
        .collect();
    prop_oneof![
        proptest::sample::select(named),
        "[a-z.]{1,12}|.{1,8}".prop_map(Field::Tag),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    proptest::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Match,
        CmpOp::Contains,
    ])
}

fn selector() -> impl Strategy<Value = Selector> {
    let pred = prop_oneof![
        (field(), op(), literal()),
        (proptest::sample::select(KIND_VALUES.to_vec()), op()).prop_map(|(v, op)| (
            Field::Kind,
            op,
            Literal::Enum(v.into())
        )),
        (proptest::sample::select(STATUS_VALUES.to_vec()), op()).prop_map(|(v, op)| (
            Field::Status,
            op,
            Literal::Enum(v.into())
        )),
    ];
    prop_oneof![
        Just(named("w")),
        proptest::collection::vec(pred, 0..4).prop_map(|preds| {
            preds
                .into_iter()
                .fold(span(), |s, (f, op, l)| s.where_(f, op, l))
                .into()
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(lit),
        (selector(), field()).prop_map(|(s, f)| Expr::Field(s.field(f))),
        Just(Expr::Field(trace(Field::TraceDuration))),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        let ops = proptest::sample::select(vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div]);
        prop_oneof![
            (ops, inner.clone(), inner.clone()).prop_map(|(op, l, r)| match op {
                ArithOp::Add => l + r,
                ArithOp::Sub => l - r,
                ArithOp::Mul => l * r,
                ArithOp::Div => l / r,
            }),
            inner.prop_map(|e| Expr::Neg {
                expr: Box::new(e),
                span: Span::default()
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn format_then_parse_is_identity(
        title in any::<String>(),
        left in expr(),
        cmp in op(),
        right in expr(),
        target in selector(),
        n in any::<u64>(),
    ) {
        let model = Model::new(title)
            .let_("w", span().name("withdrawal"))
            .when(compare(left, cmp, right))
            .when(named("w"))
            .expect_at_most(n, target.clone().before(named("w")))
            .expect(target);
        let file = File::from(model);
        let text = format_file(&file);
        let parsed = parse_file(&text).map_err(|e| TestCaseError::fail(e.render("gen", &text)))?;
        prop_assert_eq!(&parsed, &file, "{}", text);
        prop_assert_eq!(format_file(&parsed), text);
    }
}
