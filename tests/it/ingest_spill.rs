//! `ingest --memory`: an input larger than the memory given goes through spill files by trace-id
//! range and gives exactly the rows, counts and verdicts of an ingest held in memory.

use std::fs;
use std::path::Path;

use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::parquet::file::statistics::Statistics;
use tracecheck::ingest::Span;
use tracecheck::workload::{generate_bank, BankOptions};

use super::common::{parts_of, tracecheck};

/// Writes `spans` as one OTLP protobuf request.
fn write_otlp(path: &Path, spans: &[Span]) {
    let parts = parts_of(spans.iter().cloned());
    let req = tracecheck::export::parts_to_request(&parts).unwrap();
    fs::write(path, tracecheck::export::request_to_proto(&req)).unwrap();
}

/// Three protobuf files whose traces are dealt across them span by span (no file holds a whole
/// trace), exact duplicates of some spans in a fourth file, and a JSON file with one good and one
/// bad span.
fn write_inputs(dir: &Path) -> usize {
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&BankOptions::new(1500).with_seed(5), &mut spans).unwrap();
    let mut files: Vec<Vec<Span>> = vec![Vec::new(); 3];
    for (i, s) in spans.iter().enumerate() {
        files[i % 3].push(s.clone());
    }
    for (i, f) in files.iter().enumerate() {
        write_otlp(&dir.join(format!("in-{i}.pb")), f);
    }
    let again: Vec<Span> = spans.iter().step_by(50).cloned().collect();
    write_otlp(&dir.join("in-again.pb"), &again);
    fs::write(
        dir.join("in-mixed.json"),
        r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"late"}}]},
        "scopeSpans":[{"spans":[
          {"traceId":"0123456789abcdef0123456789abcdef","spanId":"0123456789abcdef","name":"good",
           "startTimeUnixNano":"1000","endTimeUnixNano":"2000"},
          {"traceId":"zz","spanId":"0123456789abcdee","name":"bad"}]}]}]}"#,
    )
    .unwrap();
    spans.len()
}

/// Every row of `table`, as sorted CSV lines.
fn rows(dir: &Path, data: &str, table: &str) -> Vec<String> {
    let out = tracecheck(
        &[
            "sql",
            &format!("SELECT * FROM {table}"),
            "--data",
            data,
            "--format",
            "csv",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// The (min, max) trace id of each spans file of a dataset, from the Parquet footers.
fn trace_ranges(dataset: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut ranges = Vec::new();
    for entry in fs::read_dir(dataset.join("spans")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let reader = SerializedFileReader::new(fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata();
        let col = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == "trace_id")
            .unwrap();
        let (mut lo, mut hi): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        for rg in meta.row_groups() {
            let Some(Statistics::ByteArray(s)) = rg.column(col).statistics() else {
                panic!("no trace_id statistics in {}", path.display());
            };
            let (min, max) = (
                s.min_opt().unwrap().data().to_vec(),
                s.max_opt().unwrap().data().to_vec(),
            );
            lo = Some(lo.map_or(min.clone(), |l| l.min(min)));
            hi = Some(hi.map_or(max.clone(), |h| h.max(max)));
        }
        ranges.push((lo.unwrap(), hi.unwrap()));
    }
    ranges.sort();
    ranges
}

#[test]
fn a_spilled_ingest_writes_what_an_ingest_in_memory_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let generated = write_inputs(d);
    let inputs = ["in-0.pb", "in-1.pb", "in-2.pb", "in-again.pb", "in-mixed.json"];
    let ingest = |out: &str, extra: &[&str]| {
        let mut args = vec!["ingest", "--keep-going", "-o", out];
        args.extend_from_slice(&inputs);
        args.extend_from_slice(extra);
        let out = tracecheck(&args, d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    };
    let direct = ingest("direct", &[]);
    // 1 MiB is far below the inputs' estimated footprint, and runs of 262 spans (1 MiB / 4,000
    // bytes) make many runs; small files make several parts per run.
    let spilled = ingest("spilled", &["--memory", "1MB", "--spans-per-file", "2000"]);
    assert!(!direct.contains("spill files"), "{direct}");
    assert!(spilled.contains("went through spill files"), "{spilled}");
    // The same counts: spans (the generated ones and the good JSON span), duplicates, rejects.
    let summary = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("bytes of Parquet") && !l.contains("spill files"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(summary(&direct), summary(&spilled));
    assert!(
        direct.contains(&format!("ingested {} spans", generated + 1)),
        "{direct}"
    );
    assert!(direct.contains("skipped 1 bad records"), "{direct}");
    assert!(direct.contains("exact duplicates dropped"), "{direct}");
    // No spill folder is left behind.
    let left: Vec<String> = fs::read_dir(d.join("spilled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".spill"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    for table in ["spans", "tags", "refs", "logs"] {
        let (a, b) = (rows(d, "direct", table), rows(d, "spilled", table));
        assert!(a.len() > 1, "{table} is empty");
        assert_eq!(a.len(), b.len(), "{table}");
        assert!(a == b, "{table}: the rows differ");
    }

    // Each run wrote parts of one range of trace ids: the files' ranges do not overlap.
    let ranges = trace_ranges(&d.join("spilled"));
    assert!(ranges.len() > 5, "{} parts", ranges.len());
    for w in ranges.windows(2) {
        assert!(w[0].1 < w[1].0, "overlapping parts: {w:?}");
    }

    // And the verdicts are the same.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/bank.model");
    let model = model.to_str().unwrap();
    let check = |data: &str| {
        let out = tracecheck(&["check", model, "--data", data, "--format", "json"], d);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().replace(data, "DATA")
    };
    assert_eq!(check("direct"), check("spilled"));
}

#[test]
fn a_failed_spilled_ingest_leaves_no_new_dataset_and_an_old_one_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    // Without --keep-going the bad span fails the ingest, after the good files were spilled.
    let args = |out: &'static str| {
        [
            "ingest",
            "in-0.pb",
            "in-1.pb",
            "in-mixed.json",
            "-o",
            out,
            "--memory",
            "1MB",
        ]
    };
    let out = tracecheck(&args("new"), d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in-mixed.json"));
    assert!(!d.join("new").exists(), "a failed ingest left a dataset behind");

    let out = tracecheck(&["ingest", "in-2.pb", "-o", "old"], d);
    assert!(out.status.success());
    let before = rows(d, "old", "spans");
    let out = tracecheck(&args("old"), d);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(rows(d, "old", "spans"), before);
    let left: Vec<String> = fs::read_dir(d.join("old"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".spill"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
