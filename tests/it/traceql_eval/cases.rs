//! Every case file of `tests/traceql` through the reference evaluator, compared byte for byte with
//! its expected output (format in `tests/traceql/README.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracecheck::ingest::{decode_file, Span};

use super::{evaluate, Range};

/// A case file split into what the evaluator needs.
struct Case {
    data: String,
    range: Option<Range>,
    query: String,
    /// Everything after the `---` line, as it is in the file.
    expected: String,
}

/// Splits a case file by the README's rules: `# key: value` headers, the query up to the first line
/// that is exactly `---` (final newline stripped), then the expected output.
fn split(text: &str) -> Result<Case, String> {
    let (head, expected) = text.split_once("\n---\n").ok_or("no line `---` after the query")?;
    let mut headers = BTreeMap::new();
    let mut query = Vec::new();
    for line in head.split('\n') {
        match line.strip_prefix("# ") {
            Some(h) if query.is_empty() => {
                let (k, v) = h.split_once(": ").ok_or_else(|| format!("bad header {h:?}"))?;
                headers.insert(k, v);
            }
            _ => query.push(line),
        }
    }
    let range = match headers.get("range") {
        None => None,
        Some(r) => {
            let n: Vec<i64> = r
                .split(' ')
                .map(|x| x.parse::<i64>().map_err(|e| format!("range {r:?}: {e}")))
                .collect::<Result<_, _>>()?;
            let [start, end, step] = n[..] else {
                return Err(format!("range {r:?} is not START END STEP"));
            };
            Some(Range { start, end, step })
        }
    };
    Ok(Case {
        data: headers.get("data").ok_or("no `# data:` header")?.to_string(),
        range,
        query: query.join("\n"),
        expected: expected.to_string(),
    })
}

/// The evaluator's output for one case, as the text the case file holds after `---`.
fn run(dir: &Path, text: &str, data: &mut BTreeMap<String, Vec<Span>>) -> Result<(Case, String), String> {
    let case = split(text)?;
    if !data.contains_key(&case.data) {
        let mut spans = Vec::new();
        decode_file(&dir.join(&case.data), &mut spans).map_err(|e| format!("{}: {e}", case.data))?;
        data.insert(case.data.clone(), spans);
    }
    let query = tracecheck::traceql::parse(&case.query).map_err(|e| e.render("query", &case.query))?;
    let lines = evaluate(&query, &data[&case.data], case.range)?;
    let got = lines.join("\n") + "\n";
    Ok((case, got))
}

#[test]
fn every_traceql_case_matches_the_reference_evaluator() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traceql");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/traceql")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no case files in {}", dir.display());

    let mut data = BTreeMap::new();
    let mut mismatches = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(path).expect("read case");
        match run(&dir, &text, &mut data) {
            Ok((case, got)) if got == case.expected => {}
            Ok((case, got)) => mismatches.push(format!(
                "--- {name}\nquery:\n{}\nexpected:\n{}got:\n{got}",
                case.query, case.expected
            )),
            Err(e) => mismatches.push(format!("--- {name}\nerror: {e}\n")),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from the reference evaluator:\n{}",
        mismatches.len(),
        paths.len(),
        mismatches.join("\n")
    );
}

/// The comparison is real: a case whose expected output is wrong is reported, and the splitting
/// keeps a multi-line query and the range.
#[test]
fn a_wrong_expectation_is_caught() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traceql");
    let text = "# data: _data/store.otlp.json\n# doc: -\n# why: -\n{\n  name = \"charge\"\n}\n---\n(none)\n";
    let (case, got) = run(&dir, text, &mut BTreeMap::new()).expect("the case runs");
    assert_eq!(case.query, "{\n  name = \"charge\"\n}");
    assert_eq!(got, "00000000000000000000000000000a02 0000000000002002\n");
    assert_ne!(got, case.expected);

    let metrics = "# data: _data/metrics.otlp.json\n# range: 0 20 10\n# doc: -\n# why: -\n{ } | rate()\n---\n(none)\n";
    let case = split(metrics).expect("splits");
    assert!(matches!(
        case.range,
        Some(Range {
            start: 0,
            end: 20,
            step: 10
        })
    ));
}
