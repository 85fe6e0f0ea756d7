//! Schema versions: a version-1 dataset (committed as `tests/fixtures/bank-v1`: `gen bank --traces 400
//! --seed 5 --fault-rate 0.25` written by the tracecheck of that layout, commit 641a898) is read as it
//! is, and `upgrade` rewrites it in the version-2 order
//! with the same rows and the same verdicts.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tracecheck::store::{is_clustered, Manifest};

use super::common::{tracecheck, tracecheck_ok};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A private copy of the version-1 fixture (upgrading writes into it).
fn v1_copy(dir: &Path) -> PathBuf {
    let to = dir.join("bank-v1");
    let from = repo().join("tests/fixtures/bank-v1");
    for entry in walk(&from) {
        let target = to.join(entry.strip_prefix(&from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
    to
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn version(ds: &Path) -> u64 {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ds.join("tracecheck.json")).unwrap()).unwrap();
    meta["schema_version"].as_u64().unwrap()
}

/// The check report of `queries/bank.model` on `ds`, as JSON.
fn bank_report(ds: &Path) -> serde_json::Value {
    let out = tracecheck(
        &[
            "check",
            "queries/bank.model",
            "--data",
            ds.to_str().unwrap(),
            "--format",
            "json",
        ],
        repo(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every row of every table, in one fixed order, as CSV.
fn dump(ds: &Path) -> String {
    let mut out = String::new();
    for table in ["spans", "tags", "refs", "logs"] {
        let columns = tracecheck::schema::table_schema(table).unwrap().fields().len();
        let all: Vec<String> = (1..=columns).map(|i| i.to_string()).collect();
        let sql = format!("SELECT * FROM {table} ORDER BY {}", all.join(", "));
        out += &tracecheck_ok(
            &["sql", "--data", ds.to_str().unwrap(), "--format", "csv", &sql],
            repo(),
        );
    }
    out
}

/// Whether every row group of every listed file of `table` has its rows in the version-2 order.
fn files_clustered(ds: &Path, table: &str) -> bool {
    let parts = Manifest::load(ds).unwrap().unwrap().parts;
    assert!(!parts.is_empty());
    parts.iter().all(|part| {
        let path = ds.join(table).join(format!("{part}.parquet"));
        let groups = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .num_row_groups();
        (0..groups).all(|g| {
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
                .unwrap()
                .with_row_groups(vec![g])
                .with_batch_size(1 << 20)
                .build()
                .unwrap();
            let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
            let batch = datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
            is_clustered(table, &batch)
        })
    })
}

#[test]
fn a_version_1_dataset_gives_the_same_verdicts_before_and_after_upgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = v1_copy(tmp.path());
    assert_eq!(version(&ds), 1);
    let before = bank_report(&ds);
    let rows_before = dump(&ds);

    let msg = tracecheck(&["upgrade", ds.to_str().unwrap()], repo());
    assert!(msg.status.success(), "{}", String::from_utf8_lossy(&msg.stderr));
    let stderr = String::from_utf8_lossy(&msg.stderr);
    assert!(
        stderr.contains("from schema version 1 to 2: 1 parts, 3181 spans"),
        "{stderr}"
    );
    assert_eq!(version(&ds), 2);
    assert!(files_clustered(&ds, "spans") && files_clustered(&ds, "tags"));

    let after = bank_report(&ds);
    assert_eq!(before, after, "the same report on both layouts");
    let violations: usize = after["files"][0]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["violations"].as_array().unwrap().len())
        .sum();
    assert_eq!(violations, 189, "the fixture's known violations");
    assert_eq!(dump(&ds), rows_before, "upgrade moves rows, it never changes them");

    // Nothing to do the second time.
    let again = tracecheck(&["upgrade", ds.to_str().unwrap()], repo());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already at schema version 2"));
}

#[test]
fn the_fixture_is_in_the_version_1_order_and_new_datasets_are_version_2() {
    // The v1 fixture really is the old order (else the test above would prove nothing).
    let tmp = tempfile::tempdir().unwrap();
    let ds = v1_copy(tmp.path());
    assert!(!files_clustered(&ds, "tags") && !files_clustered(&ds, "spans"));
    tracecheck_ok(&["sql", "SELECT 1", "--data", ds.to_str().unwrap()], repo());
    let out = tmp.path().join("new");
    tracecheck_ok(&["gen", "bank", "-o", out.to_str().unwrap(), "--traces", "300"], repo());
    assert_eq!(version(&out), 2);
    assert!(files_clustered(&out, "spans") && files_clustered(&out, "tags"));
    // Appending to a version-1 dataset keeps its label (it still holds version-1 parts).
    let file = tmp.path().join("more.json");
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            file.to_str().unwrap(),
            "--traces",
            "20",
            "--seed",
            "977",
            "--format",
            "otlp-json",
        ],
        repo(),
    );
    tracecheck_ok(
        &["ingest", file.to_str().unwrap(), "-o", ds.to_str().unwrap(), "-q"],
        repo(),
    );
    assert_eq!(version(&ds), 1);
    let n = tracecheck_ok(
        &[
            "sql",
            "--data",
            ds.to_str().unwrap(),
            "--format",
            "csv",
            "SELECT count(DISTINCT trace_id) AS n FROM spans",
        ],
        repo(),
    );
    assert_eq!(n.lines().last(), Some("420"));
}

#[test]
fn a_dataset_of_a_newer_version_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = v1_copy(tmp.path());
    let meta = std::fs::read_to_string(ds.join("tracecheck.json")).unwrap();
    std::fs::write(
        ds.join("tracecheck.json"),
        meta.replace("\"schema_version\": 1", "\"schema_version\": 3"),
    )
    .unwrap();
    for args in [
        vec!["sql", "SELECT 1", "--data", ds.to_str().unwrap()],
        vec!["upgrade", ds.to_str().unwrap()],
    ] {
        let out = tracecheck(&args, repo());
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("schema version 3") && err.contains("newer tracecheck"),
            "{err}"
        );
    }
}
