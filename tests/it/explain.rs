//! `tracecheck explain --stage ast|typed|sql`: each representation of the compiler, as a user runs
//! it. The expected text comes from the library (`compile::type_model`, the AST's debug form), so
//! these tests prove the command prints each stage, not what the stages hold (the snapshots in
//! `src/compile/snapshots` do that).

use std::path::Path;

use tracecheck::compile::{type_check, type_model};
use tracecheck::model::{parse_file, Item};

use super::common::{tracecheck, tracecheck_ok};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The blocks of a model file, parsed by the library.
fn items(path: &str) -> Vec<Item> {
    parse_file(&std::fs::read_to_string(repo().join(path)).unwrap())
        .unwrap()
        .items
}

fn heading(path: &str, item: &Item) -> String {
    match item {
        Item::Model(m) => format!("-- {path}: model {:?}\n", m.title.node),
        Item::Check(c) => format!("-- {path}: check {:?}\n", c.title.node),
    }
}

#[test]
fn stage_typed_prints_the_typed_form_of_every_block() {
    for path in ["queries/bank.model", "queries/slo.model"] {
        let out = tracecheck_ok(&["explain", path, "--stage", "typed"], repo());
        let expected: String = items(path)
            .iter()
            .map(|item| {
                let typed = match item {
                    Item::Model(m) => type_model(m).unwrap().to_string(),
                    Item::Check(c) => type_check(c).unwrap().to_string(),
                };
                format!("{}{typed}\n", heading(path, item))
            })
            .collect();
        assert_eq!(out, expected, "{path}");
    }
    // Each value with its type, each comparison with how it is computed.
    let bank = tracecheck_ok(&["explain", "queries/bank.model", "--stage", "typed"], repo());
    assert!(bank.contains(r#"span(name: string = "withdrawal" [string]).tag("amount"): tag [tag with tag]"#));
    assert!(bank.contains(r#"  let w = span(name: string = "withdrawal" [string])"#));
}

#[test]
fn stage_ast_prints_the_parsed_blocks() {
    let path = "queries/slo.model";
    let out = tracecheck_ok(&["explain", path, "--stage", "ast"], repo());
    let expected: String = items(path)
        .iter()
        .map(|item| match item {
            Item::Model(m) => format!("{}{m:#?}\n\n", heading(path, item)),
            Item::Check(c) => format!("{}{c:#?}\n\n", heading(path, item)),
        })
        .collect();
    assert_eq!(out, expected);
}

#[test]
fn stage_sql_is_the_default() {
    let default = tracecheck_ok(&["explain", "queries/bank.model"], repo());
    let sql = tracecheck_ok(&["explain", "queries/bank.model", "--stage", "sql"], repo());
    assert_eq!(default, sql);
    assert!(sql.starts_with("-- queries/bank.model: model \"Accounts cannot withdraw more than their balance\"\nWITH"));
}

#[test]
fn stage_typed_reports_type_errors_at_the_offending_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.model"),
        "model \"m\" {\n    expect span(duration > 5)\n}\n",
    )
    .unwrap();
    let out = tracecheck(&["explain", "bad.model", "--stage", "typed"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.model:2:17"), "{stderr}");
    assert!(stderr.contains("cannot compare a duration with a number"), "{stderr}");
    assert!(out.stdout.is_empty());
    // The AST stage does not type: the same file prints.
    let ast = tracecheck_ok(&["explain", "bad.model", "--stage", "ast"], dir.path());
    assert!(ast.contains("Duration @"), "{ast}");
}

#[test]
fn earlier_stages_have_no_plan() {
    let out = tracecheck(
        &[
            "explain",
            "queries/bank.model",
            "--stage",
            "typed",
            "--data",
            "datasets/bank",
        ],
        repo(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stage sql"));
}
