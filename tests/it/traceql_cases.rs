//! The TraceQL cases (`tests/traceql/*.case`, format in its README) are well-formed: every query
//! parses, every data file decodes, metrics queries and only they carry a `# range:`, and every
//! span an expected result names is in the case's data. What each case expects is checked against
//! the compiler and the reference evaluator once those exist (issue: TraceQL); this keeps the
//! cases and the parser honest until then.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use tracecheck::ingest::{decode_file, Span};

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traceql")
}

/// One case file, split into its parts.
pub struct Case {
    pub data: String,
    pub range: Option<String>,
    pub query: String,
    pub expected: Vec<String>,
}

pub fn split(name: &str, text: &str) -> Case {
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
    let cases = all_cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut spans_of: BTreeMap<String, HashSet<(String, String)>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, case) in &cases {
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
                failures.push(e.render(name, &case.query));
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

/// Every case's query, compiled to SQL and run on the local engine over the case's data, prints
/// exactly the expected output.
#[tokio::test]
async fn every_traceql_case_matches_the_compiled_sql() {
    let dir = cases_dir();
    let mut sessions = BTreeMap::new();
    let mut failures = Vec::new();
    let cases = all_cases();
    for (name, case) in &cases {
        if !sessions.contains_key(&case.data) {
            let ctx = tracecheck::engine::open(&[dir.join(&case.data)]).await.unwrap();
            sessions.insert(case.data.clone(), ctx);
        }
        let ctx = &sessions[&case.data];
        let got = match run_case(ctx, case).await {
            Ok(lines) => lines,
            Err(e) => vec![format!("error: {e}")],
        };
        if got != case.expected {
            failures.push(format!(
                "--- {name}: {}\nexpected:\n{}\ngot:\n{}",
                case.query,
                case.expected.join("\n"),
                got.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The case's query on `ctx`, printed in the case format (tests/traceql/README.md).
async fn run_case(ctx: &datafusion::prelude::SessionContext, case: &Case) -> tracecheck::Result<Vec<String>> {
    let (compiled, batches) = tracecheck::traceql::run(ctx, &case.query, case_range(case)).await?;
    Ok(case_lines(&compiled.output, &rows_as_text(&batches)))
}

/// The case's `# range:`.
pub fn case_range(case: &Case) -> Option<tracecheck::traceql::compile::Range> {
    case.range.as_ref().map(|r| {
        let v: Vec<i64> = r.split(' ').map(|x| x.parse().unwrap()).collect();
        tracecheck::traceql::compile::Range {
            start: v[0],
            end: v[1],
            step: v[2],
        }
    })
}

/// Every case file, sorted by name, with its name.
pub fn all_cases() -> Vec<(String, Case)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let case = split(&name, &std::fs::read_to_string(path).unwrap());
            (name, case)
        })
        .collect()
}

/// Rows of a compiled query's result as the case format's lines.
pub fn case_lines(output: &tracecheck::traceql::compile::Output, rows: &[Vec<String>]) -> Vec<String> {
    use tracecheck::traceql::compile::Output;
    let mut lines: Vec<String> = match output {
        Output::Spans { grouped, selected } => {
            let first_field = if *grouped { 3 } else { 2 };
            let mut groups: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
            for row in rows {
                let mut line = format!("{} {}", row[0], row[1]);
                for (i, field) in selected.iter().enumerate() {
                    line.push_str(&format!(" {field}={}", row[first_field + i]));
                }
                let header = if *grouped {
                    format!("by {}", row[2])
                } else {
                    String::new()
                };
                groups.entry(header).or_default().insert(line);
            }
            let mut out = Vec::new();
            for (header, spans) in groups {
                if !header.is_empty() {
                    out.push(header);
                }
                out.extend(spans);
            }
            out
        }
        Output::Metrics { labels, .. } => {
            let mut out: Vec<(String, i64, String)> = rows
                .iter()
                .map(|row| {
                    let n = labels.len();
                    let series = labels
                        .iter()
                        .zip(row)
                        .map(|(l, v)| format!("{l}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    (format!("{{{series}}}"), row[n].parse().unwrap(), row[n + 1].clone())
                })
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            out.into_iter().map(|(s, t, v)| format!("{s} {t} {v}")).collect()
        }
    };
    if lines.is_empty() {
        lines.push("(none)".into());
    }
    lines
}

/// Every cell as text: strings as they are, integers in decimal, floats as Rust prints an `f64`.
pub fn rows_as_text(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    let mut rows = Vec::new();
    for b in batches {
        let columns: Vec<Vec<String>> = b
            .columns()
            .iter()
            .map(|c| {
                let text = |i: usize| -> String {
                    if c.is_null(i) {
                        return "NULL".into();
                    }
                    match c.data_type() {
                        DataType::Float64 => {
                            format!("{}", c.as_any().downcast_ref::<Float64Array>().unwrap().value(i))
                        }
                        DataType::Int64 => c.as_any().downcast_ref::<Int64Array>().unwrap().value(i).to_string(),
                        _ => {
                            let s = cast(c, &DataType::Utf8).unwrap();
                            s.as_any().downcast_ref::<StringArray>().unwrap().value(i).to_string()
                        }
                    }
                };
                (0..c.len()).map(text).collect()
            })
            .collect();
        for i in 0..b.num_rows() {
            rows.push(columns.iter().map(|c| c[i].clone()).collect());
        }
    }
    rows
}
