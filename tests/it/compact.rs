//! Manifest and `compact`: parts become visible atomically, and merging split traces gives exactly
//! the tables one ingest of all spans would have given.

use std::path::Path;

use tracecheck::ingest::Span;
use tracecheck::store::{compact, Dataset, Manifest};
use tracecheck::workload::{generate_bank, BankOptions};

use super::common::{parts_of, tracecheck_ok};

/// Writes `groups` as separate parts of a dataset at `dir`.
fn write_parts(dir: &Path, groups: Vec<Vec<Span>>) {
    let mut ds = Dataset::create_or_open(dir).unwrap();
    for g in groups {
        for p in &parts_of(g) {
            ds.write_part(p).unwrap();
        }
    }
}

/// Every table, every column, in a fixed order, as CSV.
fn dump(dir: &Path) -> String {
    let d = dir.to_str().unwrap();
    let mut out = String::new();
    for (table, order) in [
        ("spans", "trace_id, span_id"),
        ("tags", "trace_id, span_id, scope, position, key"),
        ("refs", "trace_id, span_id, position"),
        ("logs", "trace_id, span_id, position"),
    ] {
        let sql = format!("SELECT * FROM {table} ORDER BY {order}");
        out += &tracecheck_ok(&["sql", "--data", d, "--format", "csv", &sql], dir.parent().unwrap());
    }
    out
}

#[test]
fn compact_joins_split_traces_into_the_tables_of_one_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&BankOptions::new(300).with_seed(7), &mut spans).unwrap();
    // Reference: everything in one go.
    write_parts(&tmp.path().join("one"), vec![spans.clone()]);
    // Every trace split over three parts (round robin), as late spans would arrive.
    let mut groups = vec![Vec::new(), Vec::new(), Vec::new()];
    for (i, s) in spans.into_iter().enumerate() {
        groups[i % 3].push(s);
    }
    let split = tmp.path().join("split");
    write_parts(&split, groups);
    assert_eq!(Manifest::load(&split).unwrap().unwrap().parts.len(), 3);
    let one = dump(&tmp.path().join("one"));
    assert_ne!(dump(&split), one, "split traces have other structure columns");

    let stats = compact(&split, 1_000_000).unwrap();
    assert_eq!((stats.parts_before, stats.parts_merged, stats.parts_after), (3, 3, 1));
    assert_eq!(stats.traces, 300);
    assert_eq!(dump(&split), one);
    // The old files stay (queries may still read them) but are retired.
    let m = Manifest::load(&split).unwrap().unwrap();
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.retired.len(), 3);
    assert_eq!(std::fs::read_dir(split.join("spans")).unwrap().count(), 4);
    // Nothing left to do the second time.
    assert_eq!(compact(&split, 1_000_000).unwrap().parts_merged, 0);
    // The CLI says what it did.
    let out = tracecheck::store::compact(&split, 10).unwrap();
    assert_eq!(out.parts_merged, 0, "a part over the target is not small");
}

#[test]
fn files_not_in_the_manifest_are_invisible_and_old_datasets_are_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&BankOptions::new(20).with_seed(1), &mut spans).unwrap();
    let n = spans.len();
    write_parts(&dir, vec![spans]);
    let count = |dir: &Path| {
        tracecheck_ok(
            &[
                "sql",
                "--data",
                dir.to_str().unwrap(),
                "--format",
                "csv",
                "SELECT count(*) AS n FROM spans",
            ],
            tmp.path(),
        )
    };
    assert_eq!(count(&dir), format!("n\n{n}\n"));
    // A part whose files are in place but that no manifest names (a writer that crashed before
    // its manifest change) is not seen.
    let m = Manifest::load(&dir).unwrap().unwrap();
    for t in ["tags", "refs", "logs", "spans"] {
        let from = dir.join(t).join(format!("{}.parquet", m.parts[0]));
        std::fs::copy(&from, dir.join(t).join("part-orphan.parquet")).unwrap();
    }
    assert_eq!(count(&dir), format!("n\n{n}\n"));
    // A dataset written before manifests: the manifest is made from the folder on first write,
    // and meanwhile every file in the folder is read.
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    assert_eq!(count(&dir), format!("n\n{}\n", 2 * n));
    Dataset::create_or_open(&dir).unwrap();
    assert_eq!(Manifest::load(&dir).unwrap().unwrap().parts.len(), 2);
}

#[test]
fn compact_command_reports_its_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&BankOptions::new(10).with_seed(3), &mut spans).unwrap();
    let (a, b): (Vec<_>, Vec<_>) = spans.into_iter().partition(|s| s.trace_id % 2 == 0);
    write_parts(&dir, vec![a, b]);
    let out = super::common::tracecheck(&["compact", dir.to_str().unwrap()], tmp.path());
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("merged 2 parts") && err.contains("2 parts → 1"), "{err}");
    let out = super::common::tracecheck(&["compact", tmp.path().to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_part_stream_writes_whole_traces_in_parts_of_the_given_size() {
    use tracecheck::store::PartStream;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("streamed");
    let mut stream = PartStream::new(Dataset::create_or_open(&dir).unwrap(), 500);
    let truth = generate_bank(&BankOptions::new(300).with_seed(7), &mut stream).unwrap();
    let stats = stream.finish().unwrap();
    assert_eq!((stats.assembled.spans, stats.assembled.traces), (truth.spans, 300));
    let parts = Manifest::load(&dir).unwrap().unwrap().parts;
    assert_eq!(parts.len(), stats.parts);
    assert!(
        parts.len() >= 4,
        "{} spans in parts of about 500: {} parts",
        truth.spans,
        parts.len()
    );
    // Every trace lies in exactly one part, and every part but the last reached the size.
    let d = dir.to_str().unwrap();
    let per_part = tracecheck_ok(
        &[
            "sql",
            "SELECT trace_id FROM spans GROUP BY trace_id",
            "--data",
            d,
            "--format",
            "csv",
        ],
        tmp.path(),
    );
    assert_eq!(per_part.lines().count(), 301, "one row per trace and a header");
    let mut traces_seen = std::collections::HashSet::new();
    for part in &parts {
        let file = std::fs::File::open(dir.join("spans").join(format!("{part}.parquet"))).unwrap();
        let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut in_part = std::collections::HashSet::new();
        let mut rows = 0;
        for b in reader {
            let b = b.unwrap();
            rows += b.num_rows();
            let ids = datafusion::arrow::array::AsArray::as_string::<i32>(b.column(0));
            in_part.extend(ids.iter().flatten().map(str::to_string));
        }
        if part != parts.last().unwrap() {
            assert!(rows >= 500, "part {part} has {rows} spans");
        }
        for t in in_part {
            assert!(traces_seen.insert(t), "a trace in two parts");
        }
    }
    assert_eq!(traces_seen.len(), 300);
    // The same data as one in-memory assembly, as the generator would have written it in one go.
    write_parts(
        &tmp.path().join("one"),
        vec![{
            let mut spans: Vec<Span> = Vec::new();
            generate_bank(&BankOptions::new(300).with_seed(7), &mut spans).unwrap();
            spans
        }],
    );
    assert_eq!(dump(&dir), dump(&tmp.path().join("one")));
}
