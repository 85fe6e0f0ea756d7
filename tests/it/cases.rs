//! Data-driven cases (`tests/cases/`). Each folder with a `case.model` is a case:
//!
//! - `case.model`: `model` and/or `check` blocks, in any order; its first line names the input
//!   traces, `# data: PATH` (relative to the folder; the cases share `tests/cases/_data/`).
//! - `violations.snap`, when the file has `model` blocks: per model, its title, how many traces and
//!   assignments it applied to, its warnings and its violations (clause, trace, lets, matched count,
//!   witnesses). Each model's violations must also be the reference evaluator's
//!   (`reference.rs`).
//! - `checks.snap`, when the file has `check` blocks: per block, its title and whether it holds;
//!   per rule, its text, unit and count (`aggregated`), then every group and window in the
//!   report's order: `ok`/`FAIL`, the group (`field = "value"`, `window START`; `all` without `by`
//!   and `per`), the value and threshold in the rule's unit as reports show them (ms, %, /s, three
//!   decimals; numbers as they are), and the group's count `n`; then the rule's warnings. The test
//!   also checks that each `holds` is the comparison of value and threshold and that the count is
//!   the groups' sum. Rules that compare with a `baseline` cannot be cases (there is no baseline
//!   data).
//!
//! A snapshot for a kind of block the file does not hold is an error. New or changed snapshots are
//! reviewed with `cargo insta review` (or `cargo insta accept` after reading the `.snap.new`).
//! `tests/cases/errors/*.model` are bad models whose rendered errors are snapshot-tested
//! (`errors/<name>.snap`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use tracecheck::check::{check_compiled, compile_file, display_value, CheckReport, DataNames, FileReport};
use tracecheck::ingest::{decode_file, Span};
use tracecheck::model::{parse_file, File, Item};

use super::reference;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn data_path(dir: &Path, source: &str) -> PathBuf {
    let first = source.lines().next().unwrap_or_default();
    let rel = first
        .strip_prefix("# data: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# data: PATH`", dir.display()));
    dir.join(rel.trim())
}

/// What a case's blocks report: its file, parsed, and the report of all its blocks.
struct Outcome {
    file: File,
    report: FileReport,
}

async fn run_case(dir: &Path) -> Outcome {
    let model_path = dir.join("case.model");
    let source = std::fs::read_to_string(&model_path).unwrap();
    let data = data_path(dir, &source);
    let file = parse_file(&source).unwrap_or_else(|e| panic!("{}", e.render("case.model", &source)));
    let compiled = compile_file("case.model", &source, &file).unwrap_or_else(|e| panic!("{}", e.render()));
    let ctx = tracecheck::engine::open(std::slice::from_ref(&data)).await.unwrap();
    let names = DataNames::load(&ctx).await.unwrap();
    let report = check_compiled("case.model", &compiled, &ctx, &names, None)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let models = file.items.iter().filter(|i| matches!(i, Item::Model(_))).count();
    let checks = file.items.len() - models;
    assert_eq!(
        (report.models.len(), report.checks.len()),
        (models, checks),
        "{}: one report per block",
        dir.display()
    );
    Outcome { file, report }
}

/// The violations of the case's models as text; each model's violations must be the reference
/// evaluator's.
fn model_text(dir: &Path, outcome: &Outcome) -> String {
    let source = std::fs::read_to_string(dir.join("case.model")).unwrap();
    let mut spans: Vec<Span> = Vec::new();
    decode_file(&data_path(dir, &source), &mut spans).unwrap();
    let models = outcome.file.items.iter().filter_map(|item| match item {
        Item::Model(model) => Some(model),
        Item::Check(_) => None,
    });
    let mut out = String::new();
    for (m, model) in outcome.report.models.iter().zip(models) {
        let want: Vec<_> = reference::evaluate(model, &spans)
            .into_iter()
            .map(|r| (r.clause, r.trace_id, r.assignment, r.matched, r.witnesses))
            .collect();
        let got: Vec<_> = m
            .violations
            .iter()
            .map(|v| {
                (
                    v.clause,
                    v.trace_id.clone(),
                    v.assignment.clone(),
                    v.matched,
                    v.witnesses.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            want,
            "{}: model {:?} disagrees with the reference",
            dir.display(),
            m.title
        );

        let _ = writeln!(
            out,
            "model {:?}: applied to {} traces, {} assignments",
            m.title, m.traces, m.assignments
        );
        for w in &m.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        for v in &m.violations {
            let lets: Vec<String> = v.assignment.iter().map(|(n, id)| format!("{n}={id}")).collect();
            let _ = writeln!(
                out,
                "  clause {} trace {} [{}] matched {} witnesses [{}]",
                v.clause,
                v.trace_id,
                lets.join(" "),
                v.matched,
                v.witnesses.join(" ")
            );
        }
    }
    out
}

/// The measurements of the case's checks as text, values in the rule's unit as reports show them
/// (durations in ms, fractions in %, three decimals). Checks what each rule's numbers must agree
/// on: `holds` is the comparison of value and threshold, the rule's count is its groups' sum.
fn check_text(dir: &Path, checks: &[CheckReport]) -> String {
    let mut out = String::new();
    for c in checks {
        let _ = writeln!(
            out,
            "check {:?}: {}",
            c.title,
            if c.holds() { "holds" } else { "fails" }
        );
        for r in &c.rules {
            let _ = writeln!(
                out,
                "  rule {}: {} ({:?}, {} aggregated)",
                r.index, r.text, r.unit, r.aggregated
            );
            assert_eq!(
                r.aggregated,
                r.measurements.iter().map(|m| m.n).sum::<u64>(),
                "{}: {:?} rule {}: the count is the groups' sum",
                dir.display(),
                c.title,
                r.index
            );
            for m in &r.measurements {
                let mut label: Vec<String> = m.group.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
                if let Some(w) = &m.window_start {
                    label.push(format!("window {w}"));
                }
                let label = if label.is_empty() {
                    "all".to_string()
                } else {
                    label.join(", ")
                };
                let value = m.value.map_or("no value".to_string(), |v| display_value(v, r.unit));
                let threshold = m
                    .threshold
                    .map_or("no threshold".to_string(), |t| display_value(t, r.unit));
                let _ = writeln!(
                    out,
                    "    {} {label}: {value} (must be {} {threshold}) over {}",
                    if m.holds { "ok  " } else { "FAIL" },
                    r.op,
                    m.n
                );
                if let (Some(v), Some(t)) = (m.value, m.threshold) {
                    let want = match r.op.as_str() {
                        "<" => v < t,
                        "<=" => v <= t,
                        ">" => v > t,
                        ">=" => v >= t,
                        "=" => v == t,
                        "!=" => v != t,
                        op => panic!("{}: comparison {op:?}", dir.display()),
                    };
                    assert_eq!(
                        m.holds,
                        want,
                        "{}: {:?} rule {} {label}: holds is {v} {} {t}",
                        dir.display(),
                        c.title,
                        r.index,
                        r.op
                    );
                }
            }
            for w in &r.warnings {
                let _ = writeln!(out, "    warning: {w}");
            }
        }
    }
    out
}

#[tokio::test]
async fn model_cases() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.model").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "cases found: {dirs:?}");
    let (mut with_models, mut with_checks) = (0, 0);
    for dir in dirs {
        let outcome = run_case(&dir).await;
        // A snapshot per kind of block the file holds; one it does not hold must not linger.
        let kinds = [
            ("violations", !outcome.report.models.is_empty()),
            ("checks", !outcome.report.checks.is_empty()),
        ];
        for (name, held) in kinds {
            assert!(
                held || !dir.join(format!("{name}.snap")).exists(),
                "{}: {name}.snap, but case.model has no such block",
                dir.display()
            );
        }
        if kinds[0].1 {
            with_models += 1;
            let text = model_text(&dir, &outcome);
            insta::with_settings!({ snapshot_path => dir.clone(), prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("violations", text);
            });
        }
        if kinds[1].1 {
            with_checks += 1;
            let text = check_text(&dir, &outcome.report.checks);
            insta::with_settings!({ snapshot_path => dir.clone(), prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("checks", text);
            });
        }
    }
    assert!(
        with_models >= 8 && with_checks >= 3,
        "{with_models} model cases, {with_checks} check cases"
    );
}

#[test]
fn bad_model_errors() {
    let dir = cases_dir().join("errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "model"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        // Some mistakes are caught by the parser, the rest by the compiler's type checks.
        let err = match parse_file(&source) {
            Err(e) => e.render(name, &source),
            Ok(file) => match compile_file(name, &source, &file) {
                Ok(_) => panic!("{name} should not compile"),
                Err(e) => e.render(),
            },
        };
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({ snapshot_path => dir.clone(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(stem, err);
        });
    }
}
