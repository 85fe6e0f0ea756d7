//! Snapshot and round-trip tests of the model front end. Snapshots live in `snapshots/`; accept new
//! ones with `INSTA_UPDATE=always cargo test --lib model::` and review the `.snap` files.

use std::fmt::Write;
use std::time::Duration;

use super::ast::*;
use super::builder::*;
use super::{format_file, lexer, parse_file};

/// The four example blocks of design.md (queries/bank.model has grown since, and its checks moved out).
const BANK: &str = include_str!("tests/design.model");

/// Valid models covering every construct, for the round-trip and formatter tests.
const GOOD: &[(&str, &str)] = &[
    ("bank", BANK),
    (
        "quantifiers and relations",
        r#"model "all quantifiers" {
            let w = span(name = "withdrawal")
            let c = span(name = "commit",)
            expect span()
            expect no span(status = error) child of w
            expect 0 span() parent of w
            expect 3 span(kind = client) descendant of span(name = "root")
            expect at least 1 c ancestor of w
            expect at most 2 span() sibling of c
            expect w after span(name = "auth") expect c during w
        }"#,
    ),
    (
        "when with relations and arithmetic",
        r#"model "arith" {
            let w = span(name = "withdrawal")
            when span(name = "a") child of span(name = "b") and w.duration > 2 * span(name = "x").duration + 10ms
              and (w.duration - 1s) / 2 >= -w.duration and trace.duration < 1h
              and w.kind = server and w.tag("retry") = true and 1 - (2 - 3) = 2 - 3 - 1
              and w.trace.root.name =~ "^GET " and -(-5) = - -5 and 1.5 * -2.25 < 0.0
            expect w
        }"#,
    ),
    (
        "fields, operators and literals",
        r#"// comments in both styles
        model "fields" {
            # before the expect
            expect span(service != "bank", kind = "server", status = ok, status_message contains "time\tout",
                        duration >= 1.5s, start > 0, end < 9223372036854775807, scope_name =~ "^io\\.otel",
                        scope_version = "1.0", trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", span_id != "",
                        parent_span_id = "00f067aa0ba902b7", depth <= 3, http.method = "GET",
                        http.url contains "?", http.route = "/:account/withdraw", http.status_code >= 500,
                        db.system = "postgresql", db.name = "bank", db.user = "app", db.statement =~ "(?i)^update",
                        tag("retry") = false, tag("amount") > -12.5, tag("weird \"key\" \u{1F600}") = "\n",
                        trace.span_count > 100, trace.service_count < 3, trace.root.name = "GET /",
                        duration < 1ns, duration < 2us, duration < 3ms, duration < 4m, duration < 5h, duration > -1ms)
            # at the end of the model
        }
        # at the end of the file"#,
    ),
    (
        "checks",
        r#"check "aggregates" {
            count(span(name = "commit")) > 0
            rate(span(kind = server)) per 1m >= 100/s
            avg(span().duration) by service, tag("region") < 2.5s
            min(span().http.status_code) by trace.root.name = 200
            max(trace.duration) per 1h <= 30s
            sum(span().tag("amount")) by http.route per 10m < 1000000.5
            p50(span().duration) < baseline
            p999(span().duration) < baseline * 1.10
            p5(span().duration) > baseline + 10ms
            p055(span().duration) != -3
            p100(span().duration) < 1000000
            error_rate(span(service = "bank")) by name, kind < 0.5%
        }"#,
    ),
];

fn tokens_text(source: &str) -> String {
    let lexed = lexer::lex(source).expect("lexes");
    let mut out = String::new();
    for t in &lexed.tokens {
        let _ = writeln!(out, "{:>4}..{:<4} {:?}", t.span.start, t.span.end, t.tok);
    }
    for c in &lexed.comments {
        let _ = writeln!(out, "{:>4}..{:<4} comment {:?}", c.span.start, c.span.end, c.text);
    }
    out
}

#[test]
fn lexer_bank() {
    insta::assert_snapshot!(tokens_text(BANK));
}

#[test]
fn ast_bank() {
    insta::assert_debug_snapshot!(parse_file(BANK).expect("bank.model parses"));
}

#[test]
fn format_corpus() {
    let mut out = String::new();
    for (name, source) in GOOD {
        let file = parse_file(source).unwrap_or_else(|e| panic!("{name}: {}", e.render(name, source)));
        let _ = write!(out, "=== {name}\n{}", format_file(&file));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn round_trip_and_idempotence() {
    for (name, source) in GOOD {
        let file = parse_file(source).unwrap_or_else(|e| panic!("{name}: {}", e.render(name, source)));
        let text = format_file(&file);
        let again = parse_file(&text).unwrap_or_else(|e| panic!("{name}: {}", e.render(name, &text)));
        assert_eq!(again, file, "{name}: parse(format(parse(x))) != parse(x)");
        assert_eq!(format_file(&again), text, "{name}: format is not idempotent");
        let comments = |s: &str| lexer::lex(s).unwrap().comments.len();
        assert_eq!(comments(&text), comments(source), "{name}: comments lost");
    }
}

#[test]
fn bank_model_parses_and_validates() {
    let file = parse_file(BANK).unwrap_or_else(|e| panic!("{}", e.render("bank.model", BANK)));
    assert_eq!(file.items.len(), 4);
    file.validate().expect("a parsed file validates");
}

#[test]
fn builder_equals_parser_for_the_seed() {
    let model = Model::new("Accounts cannot withdraw more than their balance")
        .when(less_than(
            span().name("fetch-balance").tag("amount"),
            span().name("withdrawal").tag("amount"),
        ))
        .expect(span().name("rollback"))
        .not_expect(span().name("commit"))
        .expect(span().name("/:account/withdraw").http_status_code(500));
    model.validate().expect("valid");
    let parsed = parse_file(BANK).unwrap();
    assert_eq!(parsed.items[0], Item::Model(model));
}

#[test]
fn builder_equals_parser_for_the_other_examples() {
    let commit = Model::new("Commit only after a successful balance check")
        .let_("w", span().name("withdrawal"))
        .when(named("w"))
        .expect(
            span()
                .name("fetch-balance")
                .where_(Field::Status, CmpOp::Ne, Literal::Enum("error".into()))
                .before(named("w")),
        )
        .expect_at_most(1, span().name("commit").descendant_of(named("w")));
    let p99 = Check::new("Withdrawal p99 latency stays under 250 ms")
        .rule(p99(span().name("withdrawal").duration()).less_than(Duration::from_millis(250)));
    let errors = Check::new("Server error rate per operation stays under 1%").rule(
        error_rate(span().service("bank").kind("server"))
            .by(Field::Name)
            .less_than(Quantity::Percent(1.0)),
    );
    let parsed = parse_file(BANK).unwrap();
    assert_eq!(parsed.items[1..], [commit.into(), p99.into(), errors.into()]);
}

#[test]
fn builder_arithmetic_matches_parser() {
    let built = Model::new("arith")
        .let_("w", span().name("withdrawal"))
        .when(greater_than(
            named("w").duration(),
            lit(2) * span().name("x").duration() + Duration::from_millis(10),
        ))
        .when(less_than(trace(Field::TraceDuration), Duration::from_secs(3600)))
        .expect(named("w"));
    let text = r#"model "arith" { let w = span(name = "withdrawal")
        when w.duration > 2 * span(name = "x").duration + 10ms and trace.duration < 1h expect w }"#;
    assert_eq!(parse_file(text).unwrap(), File::from(built.clone()));
    assert_eq!(
        format_file(&built.into()),
        "model \"arith\" {\n    let w = span(name = \"withdrawal\")\n    when w.duration > 2 * span(name = \"x\").duration + 10ms and trace.duration < 1h\n    expect w\n}\n"
    );
}

#[test]
fn builder_validate_reports_mistakes() {
    let cases: Vec<(File, &str)> = vec![
        (Model::new("m").into(), "no `expect`"),
        (
            Model::new("m").expect(span().kind("sever")).into(),
            "`sever` is not a value of `kind`",
        ),
        (
            Model::new("m")
                .let_("w", span())
                .let_("w", span())
                .expect(named("w"))
                .into(),
            "duplicate let",
        ),
        (
            Check::new("c")
                .rule(count(span()).by(Field::Name).less_than(baseline().times(1.1)))
                .into(),
            "",
        ),
        (
            Check::new("c")
                .rule(percentile(120.0, span().duration()).less_than(1.0))
                .into(),
            "not in 0..=100",
        ),
        (
            Check::new("c").rule(count(named("w")).less_than(1.0)).into(),
            "unknown name `w`",
        ),
    ];
    for (file, want) in cases {
        match file.validate() {
            Ok(()) => assert!(want.is_empty(), "expected an error containing {want:?}"),
            Err(e) => assert!(
                !want.is_empty() && e.message.contains(want),
                "{want:?} not in {:?}",
                e.message
            ),
        }
    }
}

#[test]
fn every_field_column_is_in_the_spans_schema() {
    let schema = crate::schema::spans_schema();
    for (path, field) in FIELDS {
        if let Some(col) = field.column() {
            assert!(
                schema.field_with_name(col).is_ok(),
                "{path} -> {col} is not a spans column"
            );
        }
        assert_eq!(Field::from_path(path), Some(field.clone()));
    }
}

#[test]
fn percentile_names_round_trip() {
    for name in ["p0", "p5", "p50", "p99", "p999", "p9999", "p055", "p100"] {
        let agg = Aggregate::from_name(name).unwrap();
        let printed = agg.to_string();
        assert_eq!(Aggregate::from_name(&printed), Some(agg), "{name} -> {printed}");
    }
}

#[test]
fn spans_point_at_the_source() {
    let src = "model \"m\" {\n    expect span(name = \"a\") before span()\n}\n";
    let file = parse_file(src).unwrap();
    let Item::Model(m) = &file.items[0] else { panic!() };
    let e = &m.expects[0];
    assert_eq!(&src[e.span.range()], "expect span(name = \"a\") before span()");
    assert_eq!(&src[e.term.selector.span().range()], "span(name = \"a\")");
    let r = e.term.relation.as_ref().unwrap();
    assert_eq!(&src[r.span.range()], "before span()");
    assert_eq!(&src[m.span.range()], src.trim_end());
}

/// Bad models, each with the rendered error.
const BAD: &[(&str, &str)] = &[
    (
        "unknown field",
        "model \"m\" {\n    expect span(nmae = \"rollback\")\n}\n",
    ),
    (
        "unknown promoted field",
        "model \"m\" {\n    expect span(http.status = 500)\n}\n",
    ),
    (
        "unknown let name",
        "model \"m\" {\n    let w = span(name = \"withdrawal\")\n    expect span(name = \"commit\") before x\n}\n",
    ),
    (
        "misspelt let name",
        "model \"m\" {\n    let withdrawal = span(name = \"withdrawal\")\n    expect span() after withdrawl\n}\n",
    ),
    (
        "duplicate let",
        "model \"m\" {\n    let w = span(name = \"a\")\n    let w = span(name = \"b\")\n    expect w\n}\n",
    ),
    ("bad unit", "check \"c\" {\n    p99(span().duration) < 250mss\n}\n"),
    (
        "fraction of a nanosecond",
        "model \"m\" {\n    expect span(duration > 1.5ns)\n}\n",
    ),
    (
        "unterminated string",
        "model \"m\" {\n    expect span(name = \"rollback)\n}\n",
    ),
    (
        "unknown escape",
        "model \"m\" {\n    expect span(name = \"a\\qb\")\n}\n",
    ),
    (
        "missing closing brace",
        "model \"m\" {\n    expect span(name = \"a\")\n",
    ),
    (
        "missing closing brace before next block",
        "model \"m\" {\n    expect span()\n\nmodel \"n\" {\n    expect span()\n}\n",
    ),
    (
        "when twice",
        "model \"m\" {\n    when span(name = \"a\")\n    when span(name = \"b\")\n    expect span()\n}\n",
    ),
    ("missing paren", "model \"m\" {\n    expect span(name = \"a\"\n}\n"),
    (
        "unquoted string",
        "model \"m\" {\n    expect span(name = rollback)\n}\n",
    ),
    ("bad enum", "model \"m\" {\n    expect span(kind = sever)\n}\n"),
    ("double equals", "model \"m\" {\n    expect span(name == \"a\")\n}\n"),
    (
        "selector as value",
        "model \"m\" {\n    let w = span(name = \"a\")\n    when w > 5\n    expect w\n}\n",
    ),
    (
        "unknown name in when",
        "model \"m\" {\n    when withdrawal.duration > 1s\n    expect span()\n}\n",
    ),
    (
        "missing comparison",
        "model \"m\" {\n    let w = span()\n    when w.duration\n    expect span()\n}\n",
    ),
    (
        "unknown aggregate",
        "check \"c\" {\n    median(span().duration) < 1s\n}\n",
    ),
    (
        "count with a field",
        "check \"c\" {\n    count(span().duration) > 5\n}\n",
    ),
    (
        "avg without a field",
        "check \"c\" {\n    avg(span(name = \"a\")) > 5\n}\n",
    ),
    ("model without expect", "model \"m\" {\n    when span()\n}\n"),
    (
        "duplicate title",
        "model \"m\" {\n    expect span()\n}\nmodel \"m\" {\n    expect span()\n}\n",
    ),
    (
        "expect not",
        "model \"m\" {\n    expect not span(name = \"commit\")\n}\n",
    ),
    ("clause outside a block", "expect span(name = \"a\")\n"),
    (
        "relation chain",
        "model \"m\" {\n    expect span() child of span() child of span()\n}\n",
    ),
    ("missing of", "model \"m\" {\n    expect span() child span()\n}\n"),
    (
        "baseline minus",
        "check \"c\" {\n    p99(span().duration) < baseline - 5ms\n}\n",
    ),
    ("rate per minute", "check \"c\" {\n    rate(span()) > 5/min\n}\n"),
    (
        "let of a keyword",
        "model \"m\" {\n    let span = span()\n    expect span\n}\n",
    ),
    ("at without least or most", "model \"m\" {\n    expect at 3 span()\n}\n"),
    ("missing title", "model {\n    expect span()\n}\n"),
    ("missing brace after title", "model \"m\"\n    expect span()\n}\n"),
    ("non-ascii unit", "model \"m\" {\n    expect span(duration > 5µs)\n}\n"),
    ("expect in a check", "check \"c\" {\n    expect span()\n}\n"),
    (
        "let alias",
        "model \"m\" {\n    let w = span()\n    let v = w\n    expect v\n}\n",
    ),
    ("empty file position", ""),
];

#[test]
fn bad_models() {
    assert!(BAD.len() >= 15);
    let mut out = String::new();
    for (name, source) in BAD {
        match parse_file(source) {
            Ok(_) if source.is_empty() => {
                let _ = writeln!(out, "=== {name}\n(parses: an empty file has no rules)\n");
            }
            Ok(f) => panic!("{name}: parsed as {f:?}"),
            Err(e) => {
                let _ = writeln!(out, "=== {name}\n{}", e.render("bank.model", source));
            }
        }
    }
    insta::assert_snapshot!(out);
}

/// Property tests: generated ASTs survive format → parse unchanged.
mod generated;
