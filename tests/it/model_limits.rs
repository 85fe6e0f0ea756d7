//! Models far larger than anyone writes compile and run (the engine is handed the query's syntax
//! tree, so its SQL parser's recursion limit and backtracking never apply), and nesting past the
//! model parser's limit is a clear error at its line and column instead of a stack overflow.

use std::path::Path;

use super::common::tracecheck;

fn bank() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/bank")
        .to_string_lossy()
        .into_owned()
}

/// Runs `check` on the shipped bank dataset; returns (exit code, stdout, stderr).
fn check(model: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.model");
    std::fs::write(&path, model).unwrap();
    let out = tracecheck(&["check", path.to_str().unwrap(), "--data", &bank()], dir.path());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn holds_or_fails(model: &str, what: &str) -> String {
    let (code, stdout, stderr) = check(model);
    assert!(matches!(code, Some(0 | 1)), "{what}: exit {code:?}\n{stderr}");
    stdout
}

#[test]
fn a_sum_of_many_durations() {
    for n in [44, 440] {
        let sum = vec!["1ms"; n].join(" + ");
        let model = format!(
            "model \"sum\" {{\n    when span(name = \"withdrawal\").duration > {sum}\n    expect span(name = \"commit\")\n}}\n"
        );
        let out = holds_or_fails(&model, &format!("sum of {n}"));
        assert!(out.contains("sum"), "{out}");
    }
}

#[test]
fn many_predicates_in_one_selector() {
    for n in [44, 440] {
        let preds: Vec<String> = (0..n).map(|i| format!("name != \"nope{i}\"")).collect();
        let model = format!(
            "model \"preds\" {{\n    expect no span({}, name = \"commit\", status = error)\n}}\n",
            preds.join(", ")
        );
        let out = holds_or_fails(&model, &format!("{n} predicates"));
        // The bank's injected `error` fault makes commits fail: the rule is violated, as with fewer predicates.
        assert!(out.contains("FAIL"), "{n} predicates: {out}");
    }
}

#[test]
fn many_expects() {
    for n in [48, 480] {
        let expects: String = (0..n)
            .map(|i| format!("    expect no span(name = \"nope{i}\")\n"))
            .collect();
        let model = format!("model \"expects\" {{\n    when span(name = \"withdrawal\")\n{expects}}}\n");
        let out = holds_or_fails(&model, &format!("{n} expects"));
        assert!(out.contains("ok"), "{n} expects: {out}");
    }
}

#[test]
fn many_lets() {
    for n in [24, 72] {
        let lets: String = (0..n)
            .map(|i| format!("    let l{i} = span(name = \"withdrawal\")\n"))
            .collect();
        let model =
            format!("model \"lets\" {{\n{lets}    when l0\n    expect span(name = \"fetch-balance\") before l0\n}}\n");
        holds_or_fails(&model, &format!("{n} lets"));
    }
}

/// 2,170 expects (10x the count that overflowed the stack) is a clear error at the 513th, not
/// minutes of planning.
#[test]
fn too_many_expects_is_a_clear_error() {
    let expects: String = (0..2170)
        .map(|i| format!("    expect no span(name = \"nope{i}\")\n"))
        .collect();
    let model = format!("model \"expects\" {{\n    when span(name = \"withdrawal\")\n{expects}}}\n");
    let (code, _, stderr) = check(&model);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("at most 512 `expect` clauses"), "{stderr}");
    assert!(stderr.contains("big.model:515:"), "position: {stderr}");
}

/// Nesting past 64 levels is refused where it starts, with line and column, at 10x the sizes that
/// used to overflow the stack.
#[test]
fn deep_nesting_is_a_clear_error() {
    for (what, expr) in [
        ("parentheses", format!("{}1ms{}", "(".repeat(7700), ")".repeat(7700))),
        (
            "unary minus",
            format!("{}span(name = \"x\").duration", "-".repeat(3500)),
        ),
    ] {
        let model = format!("model \"deep\" {{\n    when span(name = \"withdrawal\").duration > {expr}\n    expect span(name = \"commit\")\n}}\n");
        let (code, _, stderr) = check(&model);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stderr.contains("nested more than 64 levels deep"), "{what}: {stderr}");
        assert!(stderr.contains("big.model:2:"), "{what}: position: {stderr}");
    }
}

/// `explain --data` plans from the same tree as `check`, so the models `check` runs can be
/// explained: the SQL parser would refuse 48 expects (recursion limit) as text.
#[test]
fn explain_with_data_plans_large_models() {
    let expects: String = (0..48)
        .map(|i| format!("    expect no span(name = \"nope{i}\")\n"))
        .collect();
    let sum = vec!["1ms"; 440].join(" + ");
    let model = format!(
        "model \"expects\" {{\n    when span(name = \"withdrawal\")\n{expects}}}\n\
         model \"sum\" {{\n    when span(name = \"withdrawal\").duration > {sum}\n    expect span(name = \"commit\")\n}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.model");
    std::fs::write(&path, model).unwrap();
    let out = tracecheck(&["explain", path.to_str().unwrap(), "--data", &bank()], dir.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.matches("-- plan on local:").count(), 2, "{stdout}");
    // A physical plan reads the dataset's files.
    assert!(stdout.contains("DataSourceExec"), "{stdout}");
}
