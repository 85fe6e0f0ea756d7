//! Stages import only downward: every `crate::X` a module's files name must be in that module's row
//! of [`ALLOWED`], and the table itself has no cycle (ARCHITECTURE.md, "Which way the arrows go").
//!
//! The binary (`src/main.rs`, `src/cli/`) is the top and may use anything; `lib.rs` only declares
//! the modules. Lines that are comments (docs included) are not imports and are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of the library and the modules it may import, lowest first. Derived from
/// the code; a new arrow is added here on purpose, never one that closes a cycle.
const ALLOWED: &[(&str, &[&str])] = &[
    // Foundations: they import nothing of the crate.
    ("text", &[]),
    ("schema", &[]),
    ("diag", &[]),
    ("net", &[]),
    ("observe", &[]),
    ("error", &["diag"]),
    // decode / ingest, store.
    ("ingest", &["error", "schema"]),
    ("store", &["error", "ingest", "schema"]),
    ("export", &["error", "ingest", "schema", "store"]),
    ("gen", &["error", "ingest"]),
    ("pipeline", &["error", "export", "gen", "ingest", "observe", "store"]),
    ("collect", &["error", "ingest", "observe", "store"]),
    // The model front ends and the compiler.
    ("model", &["diag", "error", "schema"]),
    ("compile", &["model"]),
    ("traceql", &["compile", "diag", "error", "ingest", "model"]),
    ("engine", &["compile", "error", "ingest", "pipeline", "schema", "store"]),
    // check, and what uses its reports.
    ("check", &["compile", "engine", "error", "model"]),
    ("suggest", &["check", "error", "model", "text"]),
    ("report", &["check", "compile", "text"]),
    (
        "fetch",
        &[
            "diag", "engine", "error", "ingest", "net", "observe", "pipeline", "store",
        ],
    ),
    (
        "watch",
        &[
            "check", "collect", "compile", "engine", "error", "ingest", "net", "observe", "schema",
        ],
    ),
    (
        "testing",
        &["check", "engine", "error", "ingest", "model", "report", "text"],
    ),
];

/// The top-level modules named after `crate::` in `source`, a file of module `module` (comment
/// lines skipped; `crate::Error` and `crate::Result` are `error`'s). Names that are not in `known`
/// (macros at the crate root) are left out.
fn crate_refs(source: &str, known: &BTreeSet<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let bytes = line.as_bytes();
        let mut from = 0;
        while let Some(at) = line[from..].find("crate::") {
            let start = from + at;
            from = start + "crate::".len();
            let before = start.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$') {
                continue;
            }
            let rest = &line[from..];
            // `use crate::{a::b, c}`: the first name of each item in the braces (one level).
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                group.split(',').map(|item| ident(item.trim())).collect()
            } else {
                vec![ident(rest)]
            };
            for name in names {
                let name = match name {
                    "Error" | "Result" => "error",
                    n => n,
                };
                if known.contains(name) {
                    out.insert(name.to_string());
                }
            }
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Arrows that the table does not allow, as `from -> to (file)`.
fn violations(
    table: &BTreeMap<&str, BTreeSet<&str>>,
    files: &[(String, String, String)], // (module, path, source)
) -> Vec<String> {
    let known: BTreeSet<&str> = table.keys().copied().collect();
    let mut out = Vec::new();
    for (module, path, source) in files {
        let Some(allowed) = table.get(module.as_str()) else {
            out.push(format!("{module} ({path}) has no row in the table"));
            continue;
        };
        for to in crate_refs(source, &known) {
            if to != *module && !allowed.contains(to.as_str()) {
                out.push(format!("{module} -> {to} ({path})"));
            }
        }
    }
    out
}

/// A cycle in the table, if there is one (the modules on it).
fn cycle(table: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    // Kahn's algorithm: what cannot be ordered lies on or above a cycle.
    let mut left: BTreeMap<&str, BTreeSet<&str>> = table.clone();
    loop {
        let ready: Vec<&str> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| *m)
            .collect();
        if ready.is_empty() {
            break;
        }
        for m in ready {
            left.remove(m);
        }
    }
    (!left.is_empty()).then(|| left.keys().map(|m| m.to_string()).collect())
}

fn table(rows: &[(&'static str, &'static [&'static str])]) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    rows.iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect()
}

/// Every `.rs` file under `dir`, recursively, as (path relative to `src`, source).
fn rust_files(src: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(src, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).expect("read file")));
        }
    }
}

#[test]
fn stages_import_only_downward() {
    let table = table(ALLOWED);
    assert_eq!(cycle(&table), None, "the allowed-dependency table has a cycle");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    rust_files(&src, &src, &mut all);
    let mut files = Vec::new();
    for (rel, source) in all {
        let module = rel.split('/').next().unwrap_or("").trim_end_matches(".rs").to_string();
        // The binary is the top layer; lib.rs declares the modules; this file names them all.
        if matches!(module.as_str(), "main" | "cli" | "lib" | "layers_test") {
            continue;
        }
        files.push((module, rel, source));
    }
    assert!(files.len() > 100, "found only {} source files", files.len());
    let bad = violations(&table, &files);
    assert!(
        bad.is_empty(),
        "imports against the stage order (see ALLOWED in src/layers_test.rs and ARCHITECTURE.md):\n{}",
        bad.join("\n")
    );
}

/// Inside the report, the page (`html.rs`) uses the charts and waterfalls, never the other way:
/// what they share (`escape`) is a module below all three.
#[test]
fn report_parts_do_not_import_the_page() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    for part in ["chart.rs", "waterfall.rs", "escape.rs", "trace.rs"] {
        let source = std::fs::read_to_string(dir.join(part)).expect("read report file");
        let code: Vec<&str> = source.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
        assert!(
            !code
                .iter()
                .any(|l| l.contains("super::html") || l.contains("report::html")),
            "src/report/{part} imports the page (html.rs)"
        );
    }
}

/// The report renders what it is handed: the traces it draws are loaded by `check::traces`, so no
/// file of `src/report/` names DataFusion, Arrow or a session (the table above cannot see this: they
/// are other crates).
#[test]
fn report_queries_nothing() {
    let mut files = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    rust_files(&src, &src.join("report"), &mut files);
    assert!(files.len() > 5, "found only {} report files", files.len());
    for (path, source) in files {
        for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
            assert!(
                !["datafusion", "arrow::", "arrow_", "SessionContext", ".sql("]
                    .iter()
                    .any(|w| line.contains(w)),
                "src/{path} queries data: {line}"
            );
        }
    }
}

/// The checker finds what it must: a forbidden import (plain, grouped, through `crate::Error`), a
/// module missing from the table, and a cycle in a table.
#[test]
fn the_checker_reports_wrong_way_arrows() {
    let table = table(ALLOWED);
    let file = |module: &str, source: &str| (module.to_string(), format!("{module}/x.rs"), source.to_string());
    let files = vec![
        file(
            "store",
            "use crate::ingest::Span;\nuse crate::export::parts_to_request;\n",
        ),
        file("ingest", "use crate::{schema::TABLES, check::Report};\n"),
        file("diag", "fn f() -> crate::Result<()> { Ok(()) }\n"),
        file(
            "schema",
            "// use crate::check::Report; (a comment)\nmacro_rules! m { () => { $crate::check::x() } }\n",
        ),
        file("newstage", "use crate::error::Error;\n"),
    ];
    assert_eq!(
        violations(&table, &files),
        [
            "store -> export (store/x.rs)",
            "ingest -> check (ingest/x.rs)",
            "diag -> error (diag/x.rs)",
            "newstage (newstage/x.rs) has no row in the table",
        ]
    );
    let cyclic = self::table(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
    assert_eq!(
        cycle(&cyclic),
        Some(vec!["a".to_string(), "b".to_string(), "c".to_string()])
    );
}
