//! The TraceQL cases (`tests/traceql/*.case`, format in its README) are well-formed: every query
//! parses, every data file decodes, metrics queries and only they carry a `# range:`, and every
//! span an expected result names is in the case's data. What each case expects is checked against
//! the compiler and the reference evaluator once those exist (issue: TraceQL); this keeps the
//! cases and the parser honest until then.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use tracecheck::ingest::{decode_file, Span};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traceql")
}

/// One case file, split into its parts.
struct Case {
    data: String,
    range: Option<String>,
    query: String,
    expected: Vec<String>,
}

fn split(name: &str, text: &str) -> Case {
    let mut lines = text.lines().peekable();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    while let Some(h) = lines.peek().and_then(|l| l.strip_prefix("# ")) {
        let (key, value) = h
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: header {h:?} is not `# key: value`"));
        headers.insert(key.to_string(), value.to_string());
        lines.next();
    }
    let query: Vec<&str> = lines.by_ref().take_while(|l| *l != "---").collect();
    let expected: Vec<String> = lines.map(String::from).collect();
    assert!(
        text.ends_with('\n') && !text.ends_with("\n\n"),
        "{name}: must end with one newline"
    );
    for key in ["data", "doc", "why"] {
        assert!(headers.contains_key(key), "{name}: no `# {key}:` header");
    }
    assert!(!expected.is_empty(), "{name}: no expected output after `---`");
    Case {
        data: headers["data"].clone(),
        range: headers.get("range").cloned(),
        query: query.join("\n"),
        expected,
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn every_traceql_case_parses_and_names_spans_of_its_data() {
    let dir = cases_dir();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    names.sort();
    assert!(names.len() >= 100, "only {} cases", names.len());
    let mut spans_of: BTreeMap<String, HashSet<(String, String)>> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = split(&name, &std::fs::read_to_string(path).unwrap());
        let spans = spans_of.entry(case.data.clone()).or_insert_with(|| {
            let mut decoded: Vec<Span> = Vec::new();
            decode_file(&dir.join(&case.data), &mut decoded).unwrap_or_else(|e| panic!("{name}: {e}"));
            decoded
                .iter()
                .map(|s| (format!("{:032x}", s.trace_id), format!("{:016x}", s.span_id)))
                .collect()
        });
        let query = match tracecheck::traceql::parse(&case.query) {
            Ok(q) => q,
            Err(e) => {
                failures.push(e.render(&name, &case.query));
                continue;
            }
        };
        assert_eq!(
            query.metrics.is_some(),
            case.range.is_some(),
            "{name}: `# range:` is for metrics queries and only them"
        );
        for line in &case.expected {
            let mut words = line.split(' ');
            let (Some(t), Some(s)) = (words.next(), words.next()) else {
                continue;
            };
            if is_hex(t, 32) && is_hex(s, 16) {
                assert!(
                    spans.contains(&(t.to_string(), s.to_string())),
                    "{name}: expects span {t} {s}, which is not in {}",
                    case.data
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
