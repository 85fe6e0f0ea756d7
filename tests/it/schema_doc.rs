//! The hand-written SQL of docs/SCHEMA.md ("Writing SQL by hand") runs on tracecheck and on DuckDB
//! over the same files and gives the same rows.

use std::path::Path;
use std::process::Command;

use super::common::tracecheck_ok;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The ```sql blocks of the section.
fn doc_queries() -> Vec<String> {
    let doc = std::fs::read_to_string(repo().join("docs/SCHEMA.md")).unwrap();
    let section = doc.split("## Writing SQL by hand").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string())
        .collect()
}

const DUCKDB_CSV: &str = r#"
import csv, duckdb, sys
data, sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for t in ["spans", "tags", "refs", "logs"]:
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")
cur = con.execute(sql)
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow([d[0] for d in cur.description])
for row in cur.fetchall():
    w.writerow(["" if v is None else v for v in row])
"#;

#[test]
fn the_schema_docs_sql_gives_the_same_rows_on_tracecheck_and_duckdb() {
    let queries = doc_queries();
    assert_eq!(queries.len(), 2, "the section's SQL blocks");
    for sql in queries {
        let ours = tracecheck_ok(&["sql", "--data", "datasets/bank", "--format", "csv", &sql], repo());
        let out = Command::new("python3")
            .args(["-c", DUCKDB_CSV, "datasets/bank", &sql])
            .current_dir(repo())
            .output()
            .expect("python3 with duckdb (pip install -r .ci/requirements.txt)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let duck = String::from_utf8(out.stdout).unwrap();
        assert!(
            ours.lines().count() > 5,
            "{sql}: too few rows to prove anything:\n{ours}"
        );
        assert_eq!(ours.trim_end(), duck.trim_end(), "{sql}");
    }
}
