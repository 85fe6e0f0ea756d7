//! Snapshot, round-trip and property tests of the TraceQL front end. Snapshots live in
//! `snapshots/`; accept new ones with `INSTA_UPDATE=always cargo test --lib traceql` and review the
//! `.snap` files.

use std::fmt::Write;

use super::ast::*;
use super::{lexer, parse};

mod props;

/// Valid queries covering every construct, with what each shows.
const GOOD: &[(&str, &str)] = &[
    ("every span", "{}"),
    ("every span, spaced", "{ }"),
    ("span attribute", r#"{ span.http.method = "GET" }"#),
    ("resource and span", r#"{ resource.service.name = "api" && span.http.status_code >= 500 }"#),
    ("&& and || share a level, left to right", "{ .a = 1 || .b = 2 && .c = 3 }"),
    ("&& then ||", "{ .a = 1 && .b = 2 || .c = 3 }"),
    ("not", "{ !(.a = 1) && !.b = .c }"),
    ("arithmetic precedence", "{ .a + 1 * 2 ^ 3 ^ 2 > .b * 2 - 1 }"),
    ("unary minus", "{ -.a + 1 = 0 && -.b * 2 < -1 && - -3 = 3 }"),
    ("remaining arithmetic", "{ .a % 3 != 0 && .b / 2 <= 1.5 && .c - 1 < 2 && (.d - 1) - 1 = .e - (1 - 1) }"),
    ("regex", r#"{ name =~ "GET /api/.*" && span.url !~ "health" }"#),
    ("strings", r#"{ .a = "x\"y\n\t\\" || .b = 'single \' "quote"' || .c = `raw \n "x"` || .d = "\u00e9\x41" }"#),
    ("numbers", "{ .a = 42 || .b = 1.5 || .c = .5 || .d = 1e3 || .e = 2.5E-3 || .f = 0 }"),
    ("durations", "{ duration > 1.5s && duration < 100ms && duration != 10ns && duration >= 3us && duration <= 4µs }"),
    ("compound and long durations", "{ trace:duration > 1h30m && traceDuration < 2h && span:duration > 1m && .x = 1d && .y = 2w && .z = 0.5ms }"),
    ("booleans and nil", "{ .a = true && .b != false && span.x != nil && .y = nil }"),
    ("statuses", "{ status = ok || status = error || status = unset }"),
    ("kinds", "{ kind = unspecified || kind = internal || kind = server || kind = client || kind = producer || kind = consumer }"),
    ("attribute scopes", "{ span.a = 1 && resource.b = 2 && .c = 3 && event.d = 4 && link.e = 5 && instrumentation.f = 6 }"),
    (
        "attribute names",
        r#"{ span.http.status_code = 200 && span."with space" = 1 && ."x y" = 2 && .a."b c".d = 3 && .k8s/pod-name = "x" && resource.a:b = 1 && .a-1 = 2 && ."5xx" = 3 && ."q\"uote" = 4 }"#,
    ),
    (
        "unscoped intrinsics",
        r#"{ name = "a" && status = ok && statusMessage = "m" && kind = server && duration > 1s && rootName = "r" && rootServiceName = "s" && traceDuration > 1s }"#,
    ),
    (
        "span intrinsics",
        r#"{ span:name = "a" && span:status = ok && span:statusMessage = "" && span:kind = client && span:duration > 1ms && span:id = "x" && span:parentID = "y" && span:childCount > 0 }"#,
    ),
    ("trace intrinsics", r#"{ trace:rootName = "a" && trace:rootService = "b" && trace:duration > 1s && trace:id = "c" }"#),
    (
        "event, link and instrumentation intrinsics",
        r#"{ event:name = "exception" && event:timeSinceStart > 2ms && link:traceID = "t" && link:spanID = "s" && instrumentation:name = "grpc" && instrumentation:version = "1.0.0" }"#,
    ),
    ("spanset && and ||, left to right", "{ .a } || { .b } && { .c }"),
    ("structure binds tighter than &&", "{ .a } && { .b } > { .c } || { .d }"),
    ("structural operators, left to right", "{ .a } > { .b } < { .c } >> { .d } << { .e } ~ { .f }"),
    ("negated structure", "{ .a } !> { .b } !< { .c } !>> { .d } !<< { .e } !~ { .f }"),
    ("union structure", "{ .a } &> { .b } &< { .c } &>> { .d } &<< { .e } &~ { .f }"),
    ("grouping spanset expressions", "{ .a } > ({ .b } || { .c }) && (({ .d }))"),
    ("!~ in both places", r#"{ .a !~ "x" } !~ { .b !~ "y" }"#),
    ("count", "{ .a } | count() > 2"),
    ("aggregates", "{ } | avg(duration) > 1s | min(duration) < 1ms | max(span.bytes) >= 1000 | sum(.n) = 10 | max(.a * 2) != 3"),
    ("scalar arithmetic", "{ } | sum(.bytes) / count() > 1024 * 2 | -2 ^ 2 < count() | (count() + 1) % 2 = 0 | 1 <= count()"),
    ("by, select, coalesce", "{ } | by(resource.service.name) | count() > 1 | coalesce() | select(span.http.url, span:duration, .x)"),
    ("by several", "{ } | by(span.a, .b + 1, name)"),
    ("filters as stages", "{ .a } | { .b } | { .c } && { .d }"),
    ("parenthesised pipelines", "({ .a } | count() > 1) && ({ .b } | by(.c)) > { .d }"),
    ("pipeline starting with an aggregate", "(count() > 1 | { .a }) && { .b }"),
    ("rate", "{ } | rate()"),
    ("rate by", "{ status = error } | rate() by (resource.service.name, span:name)"),
    (
        "over time",
        "{ } | count_over_time() by (.a) | topk(3)",
    ),
    ("avg over time", "{ } | avg_over_time(duration)"),
    ("min over time", "{ } | min_over_time(span:duration) by (span:name)"),
    ("max and sum over time", "{ .a } | by(.b) | max_over_time(.x) by (.b)"),
    ("sum over time", "{ } | sum_over_time(.bytes)"),
    ("histogram over time", "{ } | histogram_over_time(duration) by (span:kind)"),
    ("quantiles", "{ } | quantile_over_time(duration, 0.5, 0.99, 1) by (resource.service.name)"),
    ("compare", "{ } | compare({ status = error })"),
    ("compare with range", "{ } | compare({ .a = 1 }, 10, 1700000000, 1700003600)"),
    ("second stages and hints", r#"{ } | rate() by (.a) | topk(5) | bottomk(2) with (sample = true, most_recent = "x", n = -1, f = 0.5)"#),
    ("select then filter", "{ } | select(.a) | { .b }"),
    ("no spaces", r#"{.a=1&&.b!=2}>>{span:name=~"x"}|count()>=3"#),
    ("lines and tabs", "{\n\tspan.a = 1\n\t&& span.b = 2\n}\n| count()\n  > 1\n"),
    ("parenthesised field expressions", "{ ((.a = 1)) && (.b = 2 || (.c = 3)) }"),
];

/// Invalid queries, each with what it shows.
const BAD: &[(&str, &str)] = &[
    ("unknown intrinsic", r#"{ nmae = "x" }"#),
    ("unknown scoped intrinsic", r#"{ span:nmae = "x" }"#),
    ("unknown intrinsic scope", r#"{ spam:name = "x" }"#),
    ("unknown attribute scope", "{ resorce.service.name = 1 }"),
    ("trace has no attributes", "{ trace.id = 1 }"),
    ("unterminated string", r#"{ .a = "x }"#),
    ("invalid escape", r#"{ .a = "x\q" }"#),
    ("a duration needs a unit", "{ duration > 1h30 }"),
    ("unknown duration unit", "{ duration > 5min }"),
    ("space before a unit", "{ duration > 100 ms }"),
    ("fraction of a nanosecond", "{ duration > 0.5ns }"),
    ("missing }", r#"{ span.http.method = "GET" "#),
    ("missing } before a new line", "{ .a = 1\n| count() > 1"),
    ("missing value", "{ .a = }"),
    ("empty attribute name", "{ span. = 1 }"),
    ("== for =", "{ .a == 1 }"),
    ("and for &&", "{ .a = 1 and .b = 2 }"),
    ("single &", "{ .a } & { .b }"),
    ("aggregate inside a filter", "{ count() > 1 }"),
    ("unknown function", "{ .a } | cuont() > 1"),
    ("aggregate without comparison", "{ .a } | count()"),
    ("comparison without aggregate", "{ } | 1 > 2"),
    ("metrics without spans", "rate()"),
    ("stage after metrics", "{ } | rate() | count() > 1"),
    ("metrics in parentheses", "({ } | rate()) && { }"),
    ("quantile without quantiles", "{ } | quantile_over_time(duration)"),
    ("unmatched )", "{ .a } )"),
    ("two filters without operator", "{ .a } { .b }"),
    ("empty query", "   "),
    ("too deep", "{ ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((.a)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) }"),
];

fn parse_ok(name: &str, source: &str) -> Query {
    parse(source).unwrap_or_else(|e| panic!("{name}: {}", e.render(name, source)))
}

#[test]
fn good_queries_print() {
    let mut out = String::new();
    for (name, source) in GOOD {
        let query = parse_ok(name, source);
        let _ = write!(out, "=== {name}\n{source}\n=> {query}\n\n");
    }
    insta::assert_snapshot!(out);
}

#[test]
fn good_queries_round_trip() {
    for (name, source) in GOOD {
        let query = parse_ok(name, source);
        let text = query.to_string();
        let again = parse(&text).unwrap_or_else(|e| panic!("{name}: {}", e.render(name, &text)));
        assert_eq!(again, query, "{name}: parse(print(parse(x))) != parse(x)");
        assert_eq!(again.to_string(), text, "{name}: printing is not idempotent");
    }
}

#[test]
fn bad_queries_render() {
    let mut out = String::new();
    for (name, source) in BAD {
        match parse(source) {
            Ok(q) => panic!("{name}: parsed as {q}"),
            Err(e) => {
                let _ = write!(out, "=== {name}\n{}\n", e.render("query", source));
            }
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn ast_of_one_query() {
    let q = parse(r#"{ span.a = "x" && duration > 1s } >> { } | count() > 1 | rate() by (.b)"#).unwrap();
    insta::assert_debug_snapshot!(q);
}

#[test]
fn tokens_of_tricky_text() {
    let source = "{.a!~\"x\"}!~{}&>>{}|{ 1.5µs .5 1e3 span.a-b/c:d resource.\"x y\".z span:name ! ~ 2h45m }";
    let mut out = String::new();
    for t in lexer::lex(source).unwrap() {
        let _ = writeln!(out, "{:>3}..{:<3} {:?}", t.span.start, t.span.end, t.tok);
    }
    insta::assert_snapshot!(out);
}

#[test]
fn spans_point_at_the_text() {
    let source = "{ .a = 1 } > { span:name = \"x\" }";
    let q = parse(source).unwrap();
    let Stage::Spanset(SpansetExpr::Binary { lhs, rhs, span, .. }) = &q.pipeline.stages[0] else {
        panic!("{q:?}")
    };
    assert_eq!(&source[span.range()], source);
    assert_eq!(&source[lhs.span().range()], "{ .a = 1 }");
    let SpansetExpr::Filter(SpansetFilter {
        cond: Some(FieldExpr::Binary { lhs: field, .. }),
        ..
    }) = &**rhs
    else {
        panic!()
    };
    assert_eq!(&source[field.span().range()], "span:name");
}

#[test]
fn aliases_normalise() {
    for (a, b) in [
        ("{ name = 1 }", "{ span:name = 1 }"),
        ("{ rootServiceName = 1 }", "{ trace:rootService = 1 }"),
        ("{ traceDuration = 1 }", "{ trace:duration = 1 }"),
        ("({ .a })", "{ .a }"),
        ("{ .a = 1.5s }", "{ .a = 1500ms }"),
        ("{ .a = 'x' }", "{ .a = `x` }"),
    ] {
        assert_eq!(parse(a).unwrap(), parse(b).unwrap(), "{a} vs {b}");
    }
}

#[test]
fn every_error_span_is_inside_the_source() {
    for (name, source) in BAD {
        let err = parse(source).unwrap_err();
        assert!(
            err.span.end <= source.len() && err.span.start <= err.span.end,
            "{name}: {:?}",
            err.span
        );
    }
}
