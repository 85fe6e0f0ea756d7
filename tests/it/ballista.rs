//! `--engine`: every model and check of `queries/` and every data-driven case gives the same report on
//! a Ballista scheduler and executor (started inside the test process) as on the local engine.
//! The local engine runs the staged queries, Ballista the standalone SQL that `explain` prints, so
//! the two forms are also checked against each other. Without the `ballista` feature, only the
//! refusals run.
#![cfg_attr(not(feature = "ballista"), allow(unused_imports, dead_code))]

use std::path::{Path, PathBuf};

use tracecheck::check::{check_compiled, compile_file, DataNames, FileReport};
use tracecheck::engine::{self, Engine};
use tracecheck::model::parse_file;

use super::common::{tracecheck, tracecheck_ok};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs tracecheck expecting a usage error (exit 2); returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = tracecheck(args, root());
    assert_eq!(out.status.code(), Some(2), "tracecheck {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs one model file on `ctx` as `tracecheck check` would.
async fn report(path: &Path, ctx: &datafusion::prelude::SessionContext) -> FileReport {
    let source = std::fs::read_to_string(path).unwrap();
    let name = path.display().to_string();
    let file = parse_file(&source).unwrap_or_else(|e| panic!("{}", e.render(&name, &source)));
    let blocks = compile_file(&name, &source, &file).unwrap_or_else(|e| panic!("{}", e.render()));
    let names = DataNames::load(ctx).await.unwrap();
    check_compiled(&name, &blocks, ctx, &names, None)
        .await
        .unwrap_or_else(|e| panic!("{name}: {}", e.render()))
}

/// The report as JSON, with aggregated values rounded: sums and approximate percentiles are merged
/// from partitions in whatever order they finish, so the last bits of a float may differ.
fn comparable(report: &FileReport) -> serde_json::Value {
    fn round(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                let x = n.as_f64().unwrap();
                *v = serde_json::json!(format!("{x:.6e}"));
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(round),
            serde_json::Value::Object(o) => o.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(report).unwrap();
    round(&mut v);
    v
}

async fn both(dataset: &Path) -> (datafusion::prelude::SessionContext, datafusion::prelude::SessionContext) {
    let paths = [dataset.to_path_buf()];
    let local = engine::open_on(&Engine::Local, &paths).await.unwrap();
    let ballista = engine::open_on(&Engine::BallistaStandalone, &paths).await.unwrap();
    (local, ballista)
}

#[cfg(feature = "ballista")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_give_the_same_reports_on_ballista_standalone() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("bank");
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            ds.to_str().unwrap(),
            "--traces",
            "3000",
            "--seed",
            "5",
        ],
        root(),
    );
    let (local, ballista) = both(&ds).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "model"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "queries/ holds the bank models and the SLO checks");
    let (mut violations, mut measurements) = (0, 0);
    for path in &files {
        let want = report(path, &local).await;
        let got = report(path, &ballista).await;
        assert_eq!(
            comparable(&got),
            comparable(&want),
            "{}: ballista-standalone disagrees with local",
            path.display()
        );
        violations += want.models.iter().map(|m| m.violations.len()).sum::<usize>();
        measurements += want
            .checks
            .iter()
            .flat_map(|c| &c.rules)
            .map(|r| r.measurements.len())
            .sum::<usize>();
    }
    // The generator injects faults: the comparison covers violations and measured groups, not
    // only empty results.
    assert!(violations > 50, "only {violations} violations compared");
    assert!(measurements > 3, "only {measurements} measurements compared");
}

#[cfg(feature = "ballista")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_the_same_report_on_ballista_standalone() {
    // The cases cover every quantifier, relation, operator and tag scope: each SQL feature the
    // compiler emits runs on both engines.
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("shop");
    let shop = root().join("tests/cases/_data/shop.otlp.json");
    tracecheck_ok(&["ingest", shop.to_str().unwrap(), "-o", ds.to_str().unwrap()], root());
    let (local, ballista) = both(&ds).await;
    let mut cases = 0;
    for entry in std::fs::read_dir(root().join("tests/cases")).unwrap() {
        let case = entry.unwrap().path().join("case.model");
        if !case.exists() {
            continue;
        }
        let want = report(&case, &local).await;
        let got = report(&case, &ballista).await;
        assert_eq!(
            comparable(&got),
            comparable(&want),
            "{}: ballista-standalone disagrees with local",
            case.display()
        );
        cases += 1;
    }
    assert!(cases >= 8, "only {cases} cases ran");
}

#[cfg(feature = "ballista")]
#[test]
fn the_cli_takes_an_engine() {
    let bank = root().join("datasets/bank");
    let bank = bank.to_str().unwrap();
    let check = |engine: &str| {
        let out = tracecheck(
            &[
                "check",
                "queries/bank.model",
                "--data",
                bank,
                "--format",
                "json",
                "--engine",
                engine,
            ],
            root(),
        );
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v
    };
    assert_eq!(check("ballista-standalone"), check("local"));

    let count = "SELECT count(*) AS n FROM spans WHERE name = 'withdrawal'";
    let sql = |engine: &str| {
        tracecheck_ok(
            &["sql", count, "--data", bank, "--format", "csv", "--engine", engine],
            root(),
        )
    };
    assert_eq!(sql("ballista-standalone"), sql("local"));

    let plan = tracecheck_ok(
        &[
            "explain",
            "queries/slo.model",
            "--data",
            bank,
            "--engine",
            "ballista-standalone",
        ],
        root(),
    );
    assert!(plan.contains("-- plan on ballista-standalone:"), "{plan}");
    assert!(plan.contains("AggregateExec"), "{plan}");
}

#[test]
fn a_distributed_engine_refuses_raw_files_and_unknown_engines() {
    let raw = root().join("tests/cases/_data/shop.otlp.json");
    // `sql` and `explain --data` open their data the same way, hint and all.
    for command in [["sql", "SELECT 1"], ["explain", "queries/bank.model"]] {
        let mut args = command.to_vec();
        args.extend(["--data", raw.to_str().unwrap(), "--engine", "ballista-standalone"]);
        let err = fails(&args);
        assert!(
            err.contains("reads datasets only") && err.contains("tracecheck ingest"),
            "{command:?}: {err}"
        );
    }

    let err = fails(&["sql", "SELECT 1", "--data", "datasets/bank", "--engine", "spark://x"]);
    assert!(err.contains("expected `local`, `ballista://HOST:PORT`"), "{err}");
}

#[cfg(feature = "ballista")]
#[test]
fn an_unreachable_scheduler_is_a_clear_error() {
    // Port 9 (discard) has no scheduler on 127.0.0.1.
    let err = fails(&[
        "check",
        "queries/bank.model",
        "--data",
        "datasets/bank",
        "--engine",
        "ballista://127.0.0.1:9",
    ]);
    assert!(
        err.contains("cannot reach the Ballista scheduler at 127.0.0.1:9"),
        "{err}"
    );
}

#[cfg(not(feature = "ballista"))]
#[test]
fn without_the_feature_a_ballista_engine_says_how_to_get_it() {
    let err = fails(&[
        "sql",
        "SELECT 1",
        "--data",
        "datasets/bank",
        "--engine",
        "ballista-standalone",
    ]);
    assert!(
        err.contains("built without Ballista") && err.contains("--features ballista"),
        "{err}"
    );
}

#[test]
fn explain_with_data_prints_each_query_s_plan_on_the_local_engine() {
    let plan = tracecheck_ok(&["explain", "queries/slo.model", "--data", "datasets/bank"], root());
    assert_eq!(
        plan.matches("-- plan on local:").count(),
        plan.matches("\n-- queries/slo.model: check").count() + 1
    );
    assert!(plan.contains("DataSourceExec"), "{plan}");
}

#[test]
fn explain_without_data_prints_the_sql_and_says_the_engine_is_unused() {
    let with = tracecheck(
        &["explain", "queries/slo.model", "--engine", "ballista://127.0.0.1:9"],
        root(),
    );
    let without = tracecheck(&["explain", "queries/slo.model"], root());
    assert_eq!(with.status.code(), Some(0));
    // The same SQL: nothing is planned, so no scheduler is needed.
    assert_eq!(with.stdout, without.stdout);
    let note = String::from_utf8_lossy(&with.stderr);
    assert!(note.contains("nothing to plan without --data"), "{note}");
    assert!(without.stderr.is_empty());
}
