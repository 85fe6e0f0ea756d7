//! The TraceQL cases give the same output on every engine: on `ballista-standalone` (a scheduler and
//! executor inside the test process), and — for the SQL that `tracecheck explain --traceql` prints —
//! on DuckDB over the same Parquet files. The local engine is `traceql_cases`.
#![cfg_attr(not(feature = "ballista"), allow(unused_imports, dead_code))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::tracecheck_ok;
use super::traceql_cases::{all_cases, case_lines, case_range, cases_dir, rows_as_text, Case};
use tracecheck::traceql::compile::{compile, Compiled};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Each data file of the cases ingested into its own dataset under `dir`.
fn datasets(dir: &Path, cases: &[(String, Case)]) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for (_, case) in cases {
        if out.contains_key(&case.data) {
            continue;
        }
        let ds = dir.join(format!("ds{}", out.len()));
        let input = cases_dir().join(&case.data);
        tracecheck_ok(
            &["ingest", "-q", input.to_str().unwrap(), "-o", ds.to_str().unwrap()],
            root(),
        );
        out.insert(case.data.clone(), ds);
    }
    out
}

fn compiled(name: &str, case: &Case) -> Compiled {
    let query = tracecheck::traceql::parse(&case.query).unwrap_or_else(|e| panic!("{name}: {e}"));
    compile(&query, case_range(case)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[cfg(feature = "ballista")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceql_cases_give_the_expected_output_on_ballista_standalone() {
    use tracecheck::engine::{self, Engine};
    let dir = tempfile::tempdir().unwrap();
    let cases = all_cases();
    let datasets = datasets(dir.path(), &cases);
    let mut sessions = BTreeMap::new();
    for (data, ds) in &datasets {
        let ctx = engine::open_on(&Engine::BallistaStandalone, std::slice::from_ref(ds))
            .await
            .unwrap();
        sessions.insert(data.clone(), ctx);
    }
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let c = compiled(name, case);
        let got = match tracecheck::traceql::execute(&sessions[&case.data], &c).await {
            Ok(b) => case_lines(&c.output, &rows_as_text(&b)),
            Err(e) => vec![format!("error: {e}")],
        };
        if got != case.expected {
            failures.push(format!("--- {name}: {}\ngot:\n{}", case.query, got.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ on Ballista:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs each `{"data": DATASET, "sql": SQL}` of a JSON file on DuckDB; prints the rows of each as
/// JSON. DuckDB cannot cast its TIMESTAMPTZ_NS to BIGINT, which the SQL does to get nanoseconds,
/// so its views give the time columns as BIGINT nanoseconds already (`epoch_ns`).
const DUCKDB_RUNNER: &str = r#"
import duckdb, json, sys
jobs = json.load(open(sys.argv[1]))
out = []
for job in jobs:
    con = duckdb.connect()
    for t in ["spans", "tags", "refs", "logs"]:
        cols = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{job['data']}/{t}/*.parquet')").fetchall()]
        sel = ", ".join(f"epoch_ns({c}) AS {c}" if c in ("start_time", "end_time", "time") else c for c in cols)
        con.execute(f"CREATE VIEW {t} AS SELECT {sel} FROM read_parquet('{job['data']}/{t}/*.parquet')")
    try:
        rows = con.execute(job["sql"]).fetchall()
        out.append([[c if not isinstance(c, float) else {"f": repr(c)} for c in r] for r in rows])
    except Exception as e:
        out.append(str(e))
print(json.dumps(out))
"#;

#[test]
fn the_sql_explain_prints_gives_the_expected_output_on_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let cases = all_cases();
    let datasets = datasets(dir.path(), &cases);
    let mut jobs = Vec::new();
    let mut outputs = Vec::new();
    for (name, case) in &cases {
        let c = compiled(name, case);
        jobs.push(serde_json::json!({ "data": datasets[&case.data], "sql": c.sql }));
        outputs.push(c.output);
    }
    // `explain --traceql` prints exactly this SQL (checked on a structural and a metrics case).
    for (name, case) in cases
        .iter()
        .filter(|(n, _)| n == "struct_union_sibling.case" || n == "metrics_quantile_by.case")
    {
        let mut args = vec!["explain", "--traceql", case.query.as_str()];
        let range: Vec<&str> = case
            .range
            .as_deref()
            .map(|r| r.split(' ').collect())
            .unwrap_or_default();
        let step = range.get(2).map(|s| format!("{s}ns"));
        if let (Some(start), Some(end), Some(step)) = (range.first(), range.get(1), &step) {
            args.extend(["--start", start, "--end", end, "--step", step]);
        }
        let printed = tracecheck_ok(&args, root());
        assert!(
            printed.contains(&format!("{};", compiled(name, case).sql)),
            "{name}: {printed}"
        );
    }
    let jobs_file = dir.path().join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let out = Command::new("python3")
        .args(["-c", DUCKDB_RUNNER, jobs_file.to_str().unwrap()])
        .output()
        .expect("python3 with duckdb (pip install -r .ci/requirements.txt)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut failures = Vec::new();
    for (((name, case), output), result) in cases.iter().zip(&outputs).zip(&results) {
        let got = match result.as_array() {
            Some(rows) => {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| r.as_array().unwrap().iter().map(cell).collect())
                    .collect();
                case_lines(output, &rows)
            }
            None => vec![format!("error: {result}")],
        };
        if got != case.expected {
            failures.push(format!("--- {name}: {}\ngot:\n{}", case.query, got.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ on DuckDB:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A DuckDB cell as `rows_as_text` prints a local one (floats as Rust prints an `f64`).
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => {
            let x: f64 = o["f"].as_str().unwrap().parse().unwrap();
            format!("{x}")
        }
        other => other.to_string(),
    }
}
