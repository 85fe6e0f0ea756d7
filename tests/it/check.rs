//! `check` end to end: the bank models against the generator's ground truth, the printed SQL on
//! DuckDB, hostile strings, and the command line's exit codes and formats.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use tracecheck::check::{check_compiled, compile_file, DataNames, Violation};
use tracecheck::ingest::{RawTables, Span};
use tracecheck::model::parse_file;
use tracecheck::workload::{generate_bank, BankOptions, Fault};

use super::common::{tracecheck, tracecheck_ok};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bank_models() -> (String, String) {
    let path = repo().join("queries/bank.model");
    (path.display().to_string(), std::fs::read_to_string(&path).unwrap())
}

/// The traces each (model, clause) of queries/bank.model must report, from the injected faults
/// (docs/BANK.md says which fault breaks which rule).
fn expected(faults: &BTreeMap<Fault, Vec<String>>) -> BTreeMap<(String, usize), BTreeSet<String>> {
    let of = |fs: &[Fault]| -> BTreeSet<String> { fs.iter().flat_map(|f| faults[f].iter().cloned()).collect() };
    let overdraft = "Accounts cannot withdraw more than their balance";
    let mut out = BTreeMap::new();
    out.insert(
        (overdraft.to_string(), 1),
        of(&[Fault::OverdraftCommitted, Fault::MissingRollback]),
    );
    out.insert((overdraft.to_string(), 2), of(&[Fault::OverdraftCommitted]));
    out.insert(
        (overdraft.to_string(), 3),
        of(&[Fault::OverdraftCommitted, Fault::WrongStatusCode]),
    );
    out.insert(
        ("Every withdrawal ends its transaction exactly once".into(), 1),
        of(&[Fault::MissingRollback]),
    );
    out.insert(
        ("Withdrawals take less than 250 ms".into(), 1),
        of(&[Fault::SlowWithdrawal]),
    );
    out.insert(("Commits never fail".into(), 3), of(&[Fault::Error]));
    out.insert(
        ("A withdrawal the balance covers is answered 200".into(), 1),
        of(&[Fault::Error]),
    );
    out.retain(|_, v| !v.is_empty());
    out
}

fn by_clause(violations: &[Violation]) -> BTreeMap<(String, usize), BTreeSet<String>> {
    let mut out: BTreeMap<(String, usize), BTreeSet<String>> = BTreeMap::new();
    for v in violations {
        out.entry((v.model.clone(), v.clause))
            .or_default()
            .insert(v.trace_id.clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_models_report_exactly_the_injected_faults_on_10k_traces() {
    let mut raw = RawTables::new(false);
    let truth = generate_bank(&BankOptions::new(10_000).with_seed(42), &mut raw).unwrap();
    assert!(
        truth.faults.values().all(|ids| ids.len() > 50),
        "every fault is exercised"
    );
    let ctx = tracecheck::engine::session();
    tracecheck::engine::register_raw(&ctx, raw).unwrap();
    let (name, source) = bank_models();
    let models = compile_file(&name, &source, &parse_file(&source).unwrap()).unwrap();
    let names = DataNames::load(&ctx).await.unwrap();
    let report = check_compiled(&name, &models, &ctx, &names, None).await.unwrap();
    let all: Vec<Violation> = report.models.iter().flat_map(|m| m.violations.clone()).collect();
    let got = by_clause(&all);
    let want = expected(&truth.faults);
    for key in want.keys().chain(got.keys()) {
        let (g, w) = (
            got.get(key).cloned().unwrap_or_default(),
            want.get(key).cloned().unwrap_or_default(),
        );
        assert_eq!(
            g.difference(&w).count() + w.difference(&g).count(),
            0,
            "{key:?}: extra {:?}, missed {:?}",
            g.difference(&w).take(3).collect::<Vec<_>>(),
            w.difference(&g).take(3).collect::<Vec<_>>()
        );
    }
    // No let tuple is reported twice for a clause, and no model is vacuous or names unknown things.
    let mut keys: Vec<_> = all
        .iter()
        .map(|v| (&v.model, v.clause, &v.trace_id, &v.assignment))
        .collect();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n);
    for m in &report.models {
        assert!(m.warnings.is_empty(), "{}: {:?}", m.title, m.warnings);
        assert!(m.traces > 0);
    }
}

/// Violations as comparable lines: model, clause, trace, lets, matched.
fn lines_from_json(report: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in report["files"].as_array().unwrap() {
        for m in f["models"].as_array().unwrap() {
            for v in m["violations"].as_array().unwrap() {
                let lets: Vec<String> = v["assignment"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p[1].as_str().unwrap().to_string())
                    .collect();
                out.insert(format!(
                    "{}|{}|{}|{}|{}",
                    v["model"].as_str().unwrap(),
                    v["clause"],
                    v["trace_id"].as_str().unwrap(),
                    lets.join(","),
                    v["matched"]
                ));
            }
        }
    }
    out
}

const DUCKDB_RUNNER: &str = r#"
import duckdb, json, sys
data, sql_file = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for t in ["spans", "tags", "refs", "logs"]:
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")
out = []
for stmt in [s for s in open(sql_file).read().split(";\n") if s.strip()]:
    cur = con.execute(stmt)
    cols = [d[0] for d in cur.description]
    for row in cur.fetchall():
        r = dict(zip(cols, row))
        lets = [str(r[c]) for c in cols if c.startswith("let_")]
        out.append(f"{r['model']}|{r['clause']}|{r['trace_id']}|{','.join(lets)}|{r['matched']}")
print(json.dumps(out))
"#;

#[test]
fn duckdb_runs_the_printed_sql_and_finds_the_same_violations() {
    let dir = tempfile::tempdir().unwrap();
    let sql = tracecheck_ok(&["explain", "queries/bank.model"], repo());
    let sql_file = dir.path().join("bank.sql");
    std::fs::write(&sql_file, &sql).unwrap();
    let out = Command::new("python3")
        .args(["-c", DUCKDB_RUNNER, "datasets/bank", sql_file.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .expect("python3 with duckdb (pip install -r .ci/requirements.txt)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let duck: BTreeSet<String> = serde_json::from_slice::<Vec<String>>(&out.stdout)
        .unwrap()
        .into_iter()
        .collect();
    let ours = tracecheck(
        &[
            "check",
            "queries/bank.model",
            "--data",
            "datasets/bank",
            "--format",
            "json",
        ],
        repo(),
    );
    assert_eq!(ours.status.code(), Some(1), "{}", String::from_utf8_lossy(&ours.stderr));
    let ours = lines_from_json(&serde_json::from_slice(&ours.stdout).unwrap());
    assert!(ours.len() > 100, "the bank dataset has faults: {}", ours.len());
    assert_eq!(duck, ours);
}

const HOSTILE: [&str; 11] = [
    "it's",
    "''; DROP TABLE spans; --",
    r"x\' OR true OR name = '",
    r"\'",
    "'",
    "back\\slash\\",
    "/* not a comment */",
    "line\nbreak\ttab",
    "ünï¢ødé 🚀",
    "%_ like wildcards",
    "\"double\" quotes",
];

#[tokio::test]
async fn hostile_strings_never_change_the_shape_of_the_sql() {
    use tracecheck::model::builder::*;
    let benign = tracecheck::compile::compile_model(&Model::new("t").not_expect(span().name("x"))).unwrap();
    let shape = |sql: &str| -> String {
        // Every literal replaced by a placeholder: what remains is the query's structure.
        let dialect = datafusion::sql::sqlparser::dialect::GenericDialect {};
        let mut stmts = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, sql).unwrap();
        assert_eq!(stmts.len(), 1, "one statement: {sql}");
        let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut stmts, |e| {
            if let datafusion::sql::sqlparser::ast::Expr::Value(v) = e {
                v.value = datafusion::sql::sqlparser::ast::Value::Placeholder("?".into());
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        stmts[0].to_string()
    };
    let mut spans = Vec::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        spans.push(Span {
            trace_id: 7,
            span_id: i as u64 + 1,
            name: h.to_string(),
            start_ns: Some(1),
            end_ns: Some(2),
            ..Span::default()
        });
    }
    let ctx = tracecheck::engine::open_spans(spans).await.unwrap();
    for (i, h) in HOSTILE.iter().enumerate() {
        let model = Model::new(*h).not_expect(span().name(*h));
        let compiled = tracecheck::compile::compile_model(&model).unwrap();
        assert_eq!(shape(&compiled.sql()), shape(&benign.sql()), "{h:?}");
        let v = tracecheck::check::model_violations(&model, &ctx).await.unwrap();
        assert_eq!(v.len(), 1, "{h:?}");
        assert_eq!(v[0].model, *h);
        assert_eq!(
            v[0].witnesses,
            vec![format!("{:016x}", i + 1)],
            "{h:?} matches only its own span"
        );
    }
}

#[test]
fn check_exit_codes_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("holds.model"),
        "model \"m\" {\n    expect span(name = \"withdrawal\")\n}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("typo.model"),
        "model \"m\" {\n    expect no span(name = \"withdrawl\")\n}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("bad.model"),
        "model \"m\" {\n    expect span(duration > \"slow\")\n}\n",
    )
    .unwrap();
    let data = repo().join("datasets/bank");
    let data = data.to_str().unwrap();

    let holds = tracecheck(&["check", "holds.model", "--data", data], p);
    assert_eq!(holds.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&holds.stdout).contains("1 rule: 1 hold, 0 fail"));

    // A typo passes `expect no` forever: warned, and a failure with --strict.
    let typo = tracecheck(&["check", "typo.model", "--data", data], p);
    assert_eq!(typo.status.code(), Some(0));
    let text = String::from_utf8_lossy(&typo.stdout);
    assert!(
        text.contains("span name \"withdrawl\" occurs nowhere in the data; did you mean \"withdrawal\"?"),
        "{text}"
    );
    assert_eq!(
        tracecheck(&["check", "typo.model", "--data", data, "--strict"], p)
            .status
            .code(),
        Some(1)
    );

    let bad = tracecheck(&["check", "bad.model", "--data", data], p);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bad.model:2:17"), "{err}");
    assert!(err.contains("cannot compare a duration with a string"), "{err}");

    let sql = tracecheck_ok(&["explain", "holds.model"], p);
    assert!(sql.contains("FROM\n"), "{sql}");
    let junit = tracecheck(
        &[
            "check",
            "queries/bank.model",
            "--data",
            "datasets/bank",
            "--format",
            "junit",
        ],
        repo(),
    );
    assert_eq!(junit.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(
        xml.contains("<testsuites name=\"tracecheck\" tests=\"7\" failures=\"5\">"),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 7);
}

/// Malformed parent links: a span that names itself as parent is a root (nobody's child, parent or
/// sibling), and spans below a parent cycle hang under the cycle's first span at their true depth.
#[test]
fn self_parents_and_parent_cycles() {
    let span = |id: &str, parent: &str, name: &str, start: u64| {
        format!(
            r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{id}","parentSpanId":"{parent}","name":"{name}","startTimeUnixNano":"{start}","endTimeUnixNano":"{}"}}"#,
            start + 100
        )
    };
    let spans = [
        span("000000000000000a", "000000000000000a", "self", 5), // its own parent
        span("000000000000000b", "000000000000000a", "under-self", 6),
        span("00000000000000c1", "00000000000000c2", "cycle-1", 3), // c1 -> c2 -> c1
        span("00000000000000c2", "00000000000000c1", "cycle-2", 4),
        // Starts first: it must not become a root because its ancestors are on a cycle.
        span("00000000000000d1", "00000000000000c1", "below-cycle", 2),
    ];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    std::fs::write(p.join("t.json"), body).unwrap();
    let models = r#"
model "no span is its own child" {
    let s = span(name = "self")
    when s
    expect no span(name = "self") child of s
    expect no span(name = "self") parent of s
    expect no span(name = "under-self") sibling of s
    expect span(name = "under-self") child of s
}

model "below a cycle" {
    let c = span(name = "cycle-1")
    when c
    expect span(name = "below-cycle") child of c
    expect span(name = "below-cycle") descendant of c
}
"#;
    std::fs::write(p.join("m.model"), models).unwrap();
    let out = tracecheck(&["check", "m.model", "--data", "t.json"], p);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let depths = tracecheck_ok(
        &[
            "sql",
            "SELECT name, depth FROM spans ORDER BY name",
            "--data",
            "t.json",
            "--format",
            "csv",
        ],
        p,
    );
    assert_eq!(
        depths,
        "name,depth\nbelow-cycle,1\ncycle-1,0\ncycle-2,1\nself,0\nunder-self,1\n"
    );
}

/// `check --pass-spans` runs the models once per range of trace ids: the report must be the one a
/// single pass gives, byte for byte (counts, violations, their order, warnings), on a dataset of
/// several parts with every fault kind, and with a checks block beside the models.
#[test]
fn check_in_passes_reports_what_one_pass_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            "ds",
            "--traces",
            "3000",
            "--seed",
            "5",
            "--fault-rate",
            "0.2",
        ],
        p,
    );
    let models = repo().join("queries/bank.model");
    let slo = repo().join("benches/slo-bench.model");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "check",
            models.to_str().unwrap(),
            slo.to_str().unwrap(),
            "--data",
            "ds",
            "-f",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = tracecheck(&args, p);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run(&[]);
    let report: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert!(
        lines_from_json(&report).len() > 500,
        "the faults give violations to compare"
    );
    for spans in ["1000", "5000"] {
        assert_eq!(run(&["--pass-spans", spans]), one, "--pass-spans {spans}");
    }
}

/// The JSON report is written as it is serialised (`report::write_json`, what `check --format json`
/// prints): its bytes must be those of the whole tree printed pretty, keys in the same order, on a
/// report with violations, witnesses, warnings and checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_json_report_is_the_tree_printed() {
    let ctx = tracecheck::engine::open(&[repo().join("datasets/bank")]).await.unwrap();
    let names = DataNames::load(&ctx).await.unwrap();
    let mut report = tracecheck::check::Report::default();
    for file in ["queries/bank.model", "benches/slo-bench.model"] {
        let path = repo().join(file);
        let source = std::fs::read_to_string(&path).unwrap();
        let blocks = compile_file(file, &source, &parse_file(&source).unwrap()).unwrap();
        report
            .files
            .push(check_compiled(file, &blocks, &ctx, &names, None).await.unwrap());
    }
    assert!(report.violation_count() > 100 && report.checks().count() > 0);
    let mut streamed = Vec::new();
    tracecheck::report::write_json(&report, &mut streamed).unwrap();
    let tree = format!("{:#}\n", tracecheck::report::json(&report));
    assert!(
        String::from_utf8(streamed).unwrap() == tree,
        "the streamed JSON differs from the tree's"
    );
}
