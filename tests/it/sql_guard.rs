//! `tracecheck sql` cannot harm a dataset: statements that write or read files are refused unless
//! `--allow-write` is given, and even then nothing writes inside a dataset folder.

use super::common::{span_count, tracecheck, tracecheck_ok};

/// `tracecheck sql` is read-only by default: COPY, INSERT and external tables are refused, and
/// nothing writes inside a dataset even with --allow-write.
#[test]
fn sql_is_read_only_unless_allowed_and_never_writes_into_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    tracecheck_ok(&["gen", "bank", "-o", "ds", "--traces", "50", "--seed", "3"], p);
    let count = || span_count(p, "ds");
    let before = count();
    let part = std::fs::read_dir(p.join("ds/spans"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let part = part.to_str().unwrap();
    let refused = |args: &[&str], says: &str| {
        let out = tracecheck(args, p);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: expected {says:?} in {stderr}");
    };
    let copy_over_part = format!("COPY (SELECT 1 AS x) TO '{part}' STORED AS PARQUET");
    refused(
        &["sql", &copy_over_part, "--data", "ds"],
        "COPY writes files: `tracecheck sql` is read-only",
    );
    refused(
        &[
            "sql",
            "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
            "--data",
            "ds",
        ],
        "CREATE EXTERNAL TABLE reads files outside --data (/etc/passwd)",
    );
    refused(
        &["sql", "INSERT INTO spans SELECT * FROM spans", "--data", "ds"],
        "the trace tables are read-only",
    );
    // With --allow-write: still never inside a dataset (the part, a new file, a symlinked path).
    refused(
        &["sql", &copy_over_part, "--data", "ds", "--allow-write"],
        "would write inside the dataset",
    );
    let new_file = p.join("ds/extra.parquet");
    let copy_new = format!("COPY (SELECT 1 AS x) TO '{}' STORED AS PARQUET", new_file.display());
    refused(
        &["sql", &copy_new, "--data", "ds", "--allow-write"],
        "would write inside the dataset",
    );
    std::os::unix::fs::symlink(p.join("ds/spans"), p.join("link")).unwrap();
    let copy_link = format!(
        "COPY (SELECT 1 AS x) TO '{}' STORED AS PARQUET",
        p.join("link/x.parquet").display()
    );
    refused(
        &["sql", &copy_link, "--data", "ds", "--allow-write"],
        "would write inside the dataset",
    );
    assert!(!new_file.exists());
    assert_eq!(count(), before, "the dataset is unchanged");
    // Outside a dataset, --allow-write writes; and read-only statements need no flag.
    let out = p.join("out.parquet");
    let copy_out = format!("COPY (SELECT name FROM spans) TO '{}' STORED AS PARQUET", out.display());
    tracecheck_ok(&["sql", &copy_out, "--data", "ds", "--allow-write"], p);
    assert!(out.is_file());
    tracecheck_ok(&["sql", "CREATE VIEW v AS SELECT name FROM spans", "--data", "ds"], p);
}
