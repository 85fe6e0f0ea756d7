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
    ("workload", &["error", "ingest"]),
    (
        "pipeline",
        &["error", "export", "ingest", "observe", "store", "workload"],
    ),
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
    for name in names_after(source, "crate::") {
        let name = match name {
            "Error" | "Result" => "error",
            n => n,
        };
        if known.contains(name) {
            out.insert(name.to_string());
        }
    }
    out
}

/// The first name after each `prefix` in the code lines of `source` (comment lines skipped): `use
/// prefix{a::b, c}` gives `a` and `c` (one level of braces); `$crate::` and `xcrate::` are not
/// `crate::`.
fn names_after<'a>(source: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let bytes = line.as_bytes();
        let mut from = 0;
        while let Some(at) = line[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let before = start.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b':') {
                continue;
            }
            let rest = &line[from..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                out.extend(group.split(',').map(|item| ident(item.trim())));
            } else {
                out.push(ident(rest));
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

/// The entries of folder `dir`, sorted (so every run reads them in one order).
fn sorted_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read a source folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    entries
}

/// Every `.rs` file under `dir`, recursively, as (path relative to `src`, source).
fn rust_files(src: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for path in sorted_entries(dir) {
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

/// A file of a stage folder, as the sibling-import check reads it: its module name, and its code
/// with what `super::` means there (a file directly in the folder, or the `mod.rs` of a sub-folder)
/// apart from code one folder deeper (where `super::super::` is the stage).
struct Sibling {
    name: String,
    code: String,
    deeper: String,
}

/// The arrows between the files of one stage folder: `a -> b` when `a` names `super::b`,
/// `crate::<stage>::b`, or an item that `mod.rs` re-exports from `b` (`pub use b::{Item}`). Test
/// modules are left out (they may use anything).
fn sibling_arrows(stage: &str, mod_rs: &str, siblings: &[Sibling]) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<&str> = siblings.iter().map(|s| s.name.as_str()).collect();
    // Item -> the sibling it is defined in, from mod.rs's `use sibling::{A, B as C}` lines.
    let mut items: BTreeMap<&str, &str> = BTreeMap::new();
    for line in mod_rs.lines() {
        let line = line.trim_start();
        let Some(at) = line.find("use ") else { continue };
        if !(at == 0 || line.starts_with("pub")) {
            continue;
        }
        let path = line[at + 4..].trim_start_matches("self::");
        let Some((from, rest)) = path.split_once("::") else {
            continue;
        };
        if !names.contains(from) {
            continue;
        }
        let rest = rest.trim_end_matches(';').trim_start_matches('{').trim_end_matches('}');
        for item in rest.split(',') {
            let item = item.rsplit(" as ").next().unwrap_or("").trim();
            items.insert(ident(item), from);
        }
    }
    let crate_prefix = format!("crate::{stage}::");
    let mut arrows = BTreeMap::new();
    for s in siblings {
        let mut refs = names_after(&s.code, "super::");
        refs.extend(names_after(&s.code, &crate_prefix));
        refs.extend(names_after(&s.deeper, "super::super::"));
        refs.extend(names_after(&s.deeper, &crate_prefix));
        let to: BTreeSet<String> = refs
            .into_iter()
            .filter_map(|n| {
                if names.contains(n) {
                    Some(n)
                } else {
                    items.get(n).copied()
                }
            })
            .filter(|n| *n != s.name)
            .map(str::to_string)
            .collect();
        arrows.insert(s.name.clone(), to);
    }
    arrows
}

/// `arrows` as the table [`cycle`] reads.
fn borrowed(arrows: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<&str, BTreeSet<&str>> {
    arrows
        .iter()
        .map(|(m, to)| (m.as_str(), to.iter().map(String::as_str).collect()))
        .collect()
}

/// `source` without its test module: everything from a `#[cfg(test)]` line followed by a `mod`
/// line on.
fn without_tests(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]" && lines.get(i + 1).is_some_and(|l| l.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// The siblings of stage folder `dir` (its `.rs` files and sub-folders, `mod.rs` aside) and its
/// `mod.rs`.
fn siblings_of(dir: &Path) -> (String, Vec<Sibling>) {
    let read = |p: &Path| without_tests(&std::fs::read_to_string(p).expect("read source"));
    let mod_rs = std::fs::read_to_string(dir.join("mod.rs")).unwrap_or_default();
    let mut out = Vec::new();
    for path in sorted_entries(dir) {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
        if path.is_dir() {
            let mut files = Vec::new();
            rust_files(dir, &path, &mut files);
            let (mut code, mut deeper) = (String::new(), String::new());
            for (rel, source) in files {
                let source = without_tests(&source);
                match rel.split('/').count() {
                    2 if rel.ends_with("/mod.rs") => code.push_str(&source),
                    2 => deeper.push_str(&source),
                    // Further down only `crate::<stage>::` paths are read.
                    _ => deeper.push_str(&source.replace("super::", "_::")),
                }
                code.push('\n');
                deeper.push('\n');
            }
            out.push(Sibling { name, code, deeper });
        } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
            out.push(Sibling {
                name,
                code: read(&path),
                deeper: String::new(),
            });
        }
    }
    (mod_rs, out)
}

/// Inside every stage folder the files import one another one way too: the arrows between
/// siblings (see [`sibling_arrows`]) have no cycle, so each folder reads bottom-up like the crate.
#[test]
fn files_of_a_stage_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut cycles = Vec::new();
    for (stage, _) in ALLOWED {
        let dir = src.join(stage);
        if !dir.is_dir() {
            continue;
        }
        let (mod_rs, siblings) = siblings_of(&dir);
        let arrows = sibling_arrows(stage, &mod_rs, &siblings);
        if let Some(on) = cycle(&borrowed(&arrows)) {
            cycles.push(format!("src/{stage}/: {}", on.join(", ")));
        }
        checked += 1;
    }
    assert!(checked > 10, "checked only {checked} stage folders");
    assert!(
        cycles.is_empty(),
        "files of a stage that import one another in a cycle:\n{}",
        cycles.join("\n")
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
    // Siblings: a -> b through a re-exported item, b -> a by path; c, above both, cannot be
    // ordered either.
    let sib = |name: &str, code: &str| Sibling {
        name: name.into(),
        code: code.into(),
        deeper: String::new(),
    };
    let arrows = sibling_arrows(
        "st",
        "mod a;\nmod b;\nmod c;\npub use b::{Thing, Other as Renamed};\n",
        &[
            sib("a", "use super::Renamed;\n"),
            sib("b", "fn f() { crate::st::a::g() }\n"),
            sib("c", "use super::{a::g, Thing};\n// use super::c;\n"),
        ],
    );
    let arrows = borrowed(&arrows);
    assert_eq!(arrows["c"], BTreeSet::from(["a", "b"]));
    assert_eq!(cycle(&arrows), Some(vec!["a".into(), "b".into(), "c".into()]));
}
