//! Snapshots of the SQL of representative queries (one per construct family), and the errors of
//! what the compiler refuses. What the SQL returns is checked by the cases in tests/traceql.

use super::{compile, Range};
use crate::traceql::parse;

const REPRESENTATIVE: [&str; 8] = [
    r#"{ span.http.method = "GET" && status = error }"#,
    r#"{ .shared = 7 || span.n / 2 > 1.5 }"#,
    r#"{ event:name = "exception" && event.attempt = 3 }"#,
    r#"{ trace:rootService = "frontend" && duration > 100ms && name =~ "GET.*" }"#,
    r#"{ name = "A" } >> { status = error }"#,
    r#"{ name = "G" } &~ { } !< { kind = client }"#,
    r#"{ status = error } | by(resource.service.name) | count() > 1 | select(duration)"#,
    r#"({ .a } | avg(duration) > 1s) && { .b } | coalesce()"#,
];

#[test]
fn sql_of_representative_queries() {
    let mut out = String::new();
    for q in REPRESENTATIVE {
        let c = compile(&parse(q).unwrap(), None).unwrap();
        out.push_str(&format!("-- {q}\n{}\n-- {:?}\n\n", c.sql, c.output));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn sql_of_metrics_queries() {
    let range = Range {
        start: 1_000,
        end: 61_000,
        step: 10_000,
    };
    let mut out = String::new();
    for q in [
        "{ } | rate() by (resource.service.name, status)",
        "{ kind = server } | quantile_over_time(duration, 0.5, 0.99)",
        "{ } | avg_over_time(span.bytes)",
        "{ } | sum_over_time(duration) by (name)",
    ] {
        let c = compile(&parse(q).unwrap(), Some(range)).unwrap();
        out.push_str(&format!("-- {q}\n{}\n-- {:?}\n\n", c.sql, c.output));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn refusals_point_at_the_construct() {
    let range = Some(Range {
        start: 0,
        end: 10,
        step: 1,
    });
    let mut out = String::new();
    for q in [
        "{ } | rate() | topk(5)",
        "{ } | rate() with (sample = true)",
        "{ } | histogram_over_time(duration)",
        "{ name =~ span.other }",
        "{ name =~ \"(unclosed\" }",
        "{ } | by(event.attempt)",
        "{ } | select(link.ref)",
    ] {
        let err = compile(&parse(q).unwrap(), range).unwrap_err();
        out.push_str(&err.render("query", q));
    }
    insta::assert_snapshot!(out);
    let err = compile(&parse("{ } | rate()").unwrap(), None).unwrap_err();
    assert!(err.message.contains("time range"), "{}", err.message);
}

#[test]
fn default_ranges_cover_the_data() {
    for (lo, hi) in [
        (0, 0),
        (5, 5),
        (1_700_000_000_123_456_789, 1_700_000_060_000_000_000),
        (-50, 70),
    ] {
        let r = Range::covering(lo, hi, 60);
        assert!(r.start <= lo && hi < r.end, "{lo}..{hi}: {r:?}");
        assert!(r.steps() >= 60 && r.steps() <= 61, "{lo}..{hi}: {r:?}");
        assert_eq!(r.start % r.step, 0);
    }
}

#[test]
fn hostile_strings_stay_strings() {
    for s in ["it's", "''; DROP TABLE spans; --", r"\'", "back\\slash"] {
        let q = format!("{{ name = {} }}", serde_json::to_string(s).unwrap());
        let c = compile(&parse(&q).unwrap(), None).unwrap();
        assert!(c.sql.contains(&crate::compile::sql::quote_string(s)), "{q}: {}", c.sql);
    }
}
