//! Data-driven cases (`tests/cases/`): each folder holds `case.model`, whose first line names its input
//! traces (`# data: PATH`, relative to the folder), and a snapshot of the violations the models
//! report (`violations.snap`, reviewed with `cargo insta review`). Every case is also checked against
//! the reference evaluator. `tests/cases/errors/*.model` are bad models whose rendered errors are
//! snapshot-tested (`errors/<name>.snap`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use tracecheck::check::{check_compiled, compile_file, DataNames};
use tracecheck::ingest::{decode_file, Span};
use tracecheck::model::{parse_file, Item};

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

async fn run_case(dir: &Path) -> String {
    let model_path = dir.join("case.model");
    let source = std::fs::read_to_string(&model_path).unwrap();
    let data = data_path(dir, &source);
    let file = parse_file(&source).unwrap_or_else(|e| panic!("{}", e.render("case.model", &source)));
    let compiled = compile_file("case.model", &source, &file).unwrap_or_else(|e| panic!("{}", e.render()));
    let ctx = tracecheck::engine::open(std::slice::from_ref(&data)).await.unwrap();
    let names = DataNames::load(&ctx).await.unwrap();
    let report = check_compiled("case.model", &compiled, &ctx, &names, None)
        .await
        .unwrap();

    let mut spans: Vec<Span> = Vec::new();
    decode_file(&data, &mut spans).unwrap();
    let mut out = String::new();
    for (m, item) in report.models.iter().zip(&file.items) {
        let Item::Model(model) = item else {
            unreachable!("cases hold models")
        };
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

#[tokio::test]
async fn model_cases() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.model").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "cases found: {dirs:?}");
    for dir in dirs {
        let text = run_case(&dir).await;
        insta::with_settings!({ snapshot_path => dir.clone(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("violations", text);
        });
    }
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
