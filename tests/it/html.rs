//! The HTML report (`check --report`) opened in a real browser: headless Chromium loads each page,
//! the test reads the console (no message but the page's own "ready" line) and the rendered DOM
//! (rows, witness marks, charts, the span panel), and takes a screenshot, kept under
//! `target/report-screenshots/` with the pages themselves.
//!
//! Chromium is required: `apt-get install -y chromium` (`scripts/test.sh` installs it). Hostile data (markup
//! and script in names and tags) is tested in `html_escape.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use super::common::{fixtures, spans_per_trace, tracecheck, tracecheck_ok};
use super::fixtures::{raw_spans, zipkin_json};

const SMARTTHINGS: &str = "zipkin/smartthings-mobile-web-install.json";
const SMARTTHINGS_TRACE: &str = "000000000000000014b60fd9ae504820";

/// One browser at a time: each takes most of a core, and the machine may have two.
static BROWSER: Mutex<()> = Mutex::new(());

pub(super) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where pages and screenshots are kept for people to look at (not committed: under target/).
pub(super) fn artifacts() -> PathBuf {
    let dir = repo().join("target/report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> &'static str {
    match Command::new("chromium").arg("--version").output() {
        Ok(out) if out.status.success() => "chromium",
        _ => panic!(
            "headless Chromium is needed for the HTML report tests and was not found: \
             install it with `apt-get install -y chromium` (scripts/test.sh does)"
        ),
    }
}

/// A page as Chromium rendered it.
pub(super) struct Loaded {
    pub(super) dom: String,
    /// Lines Chromium logged for console messages and uncaught exceptions.
    pub(super) console: Vec<String>,
    seconds: f64,
}

fn run_chromium(url: &str, extra: &[&str]) -> (std::process::Output, f64) {
    let browser = chromium();
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut args = vec![
        "180",
        browser,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        &profile_arg,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let start = Instant::now();
    // `timeout`: a browser that hangs fails the test instead of stalling CI.
    let out = Command::new("timeout").args(&args).output().expect("run chromium");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "chromium {extra:?} {url} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, seconds)
}

fn url(page: &Path, fragment: &str) -> String {
    let abs = page.canonicalize().unwrap();
    format!("file://{}{fragment}", abs.display().to_string().replace(' ', "%20"))
}

/// Loads `page` (with an optional `#fragment`) and dumps the DOM after its script ran.
pub(super) fn load(page: &Path, fragment: &str) -> Loaded {
    let (out, seconds) = run_chromium(&url(page, fragment), &["--dump-dom"]);
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    Loaded {
        dom: String::from_utf8(out.stdout).expect("utf-8 DOM"),
        console,
        seconds,
    }
}

/// A 1400×2000 screenshot kept as `target/report-screenshots/NAME.png`.
pub(super) fn screenshot(page: &Path, name: &str) -> PathBuf {
    let png = artifacts().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let arg = format!("--screenshot={}", png.display());
    run_chromium(&url(page, ""), &[&arg, "--window-size=1400,2000"]);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}: not a real screenshot",
        png.display()
    );
    png
}

/// The page's own "ready" line must be the only console message; returns what it says.
pub(super) fn assert_clean_console(l: &Loaded, rows: usize) -> String {
    let ready = format!("\"tracecheck report ready: {rows} rows, ");
    let others: Vec<&String> = l.console.iter().filter(|c| !c.contains(&ready)).collect();
    assert!(
        others.is_empty(),
        "unexpected console messages (want {ready}...): {others:#?}"
    );
    assert_eq!(l.console.len(), 1, "the page's script reports once: {:#?}", l.console);
    let line = &l.console[0];
    line[line.find("tracecheck report ready").unwrap()..line.rfind('"').unwrap()].to_string()
}

/// The parts of `text` that follow each `marker`, each up to the next marker.
pub(super) fn chunks<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.split(marker).skip(1).collect()
}

/// The class lists of the waterfall rows in `html`.
fn rows(html: &str) -> Vec<Vec<&str>> {
    chunks(html, "<div class=\"sp")
        .iter()
        .map(|c| {
            let classes = &c[..c.find('"').unwrap()];
            std::iter::once("sp").chain(classes.split_whitespace()).collect()
        })
        .collect()
}

/// The start tags of `html` (data never puts a raw `<` in the page, so these are all markup).
pub(super) fn tags(html: &str) -> Vec<&str> {
    chunks(html, "<")
        .into_iter()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(|t| &t[..t.find('>').unwrap_or(t.len())])
        .collect()
}

/// Nothing in the page is fetched: no `src`, no stylesheet, only in-page and `data:` links.
pub(super) fn assert_self_contained(page: &str) {
    let style = &page[page.find("<style>").unwrap()..page.find("</style>").unwrap()];
    assert!(!style.contains("@import") && !style.contains("url("));
    for tag in tags(page) {
        assert!(!tag.contains(" src="), "the page loads nothing: <{tag}>");
        if let Some(at) = tag.find(" href=\"") {
            let href = &tag[at + 7..];
            assert!(
                href.starts_with('#') || href.starts_with("data:"),
                "external link: <{tag}>"
            );
        }
    }
}

/// Runs `check MODEL --data DATA --report PAGE EXTRA...` from the repository, expects violations
/// (exit 1), and returns the page.
pub(super) fn check_with_report(model: &Path, data: &Path, page: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "check",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--report",
        page.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = tracecheck(&args, repo());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(page).unwrap()
}

/// `trace id -> span count` of a dataset or trace file.
fn span_counts(data: &Path) -> BTreeMap<String, usize> {
    spans_per_trace(repo(), data).into_iter().collect()
}

/// The violating traces of each failing model of queries/bank.model on datasets/bank, from the
/// injected faults in the dataset's ground truth (as in `check.rs`).
fn bank_faulty_traces() -> BTreeMap<&'static str, BTreeSet<String>> {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(repo().join("datasets/bank/ground_truth.json")).unwrap()).unwrap();
    let of = |kinds: &[&str]| -> BTreeSet<String> {
        kinds
            .iter()
            .flat_map(|k| truth["faults"][*k].as_array().unwrap_or_else(|| panic!("fault {k}")))
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    let mut out = BTreeMap::from([
        (
            "Accounts cannot withdraw more than their balance",
            of(&["overdraft_committed", "missing_rollback", "wrong_status_code"]),
        ),
        (
            "Every withdrawal ends its transaction exactly once",
            of(&["missing_rollback"]),
        ),
        ("Withdrawals take less than 250 ms", of(&["slow_withdrawal"])),
        ("Commits never fail", of(&["error"])),
        ("A withdrawal the balance covers is answered 200", of(&["error"])),
    ]);
    out.retain(|_, traces| !traces.is_empty());
    out
}

fn json_report(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_slice(&tracecheck(&all, repo()).stdout).unwrap()
}

/// What a model's violations say about one trace: its witness and let span ids.
fn marks(model: &Value, trace: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut witnesses, mut lets) = (BTreeSet::new(), BTreeSet::new());
    for v in model["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["trace_id"] == trace)
    {
        witnesses.extend(
            v["witnesses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string()),
        );
        lets.extend(
            v["assignment"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a[1].as_str().unwrap().to_string()),
        );
    }
    (witnesses, lets)
}

#[test]
fn bank_report_draws_every_failing_rule_in_chromium() {
    let models = ["queries/bank.model", "queries/slo.model"];
    let page_path = artifacts().join("bank.html");
    let page_arg = page_path.to_str().unwrap();
    let base = ["check", models[0], models[1], "--data", "datasets/bank"];
    let plain = tracecheck(&base, repo());
    let with_page = tracecheck(&[&base[..], &["--report", page_arg]].concat(), repo());
    assert_eq!(with_page.status.code(), Some(1));
    assert_eq!(
        plain.stdout, with_page.stdout,
        "--report leaves the text report as it was"
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert_self_contained(&page);
    let report = json_report(&base);
    let counts = span_counts(&repo().join("datasets/bank"));

    let start = Instant::now();
    let loaded = load(&page_path, "");
    let dom = &loaded.dom;
    let sections = chunks(dom, "<section class=\"rule\" id=\"");
    let mut expected_rows = 0;
    let mut checked = 0;
    for (fi, file) in report["files"].as_array().unwrap().iter().enumerate() {
        for (mi, model) in file["models"].as_array().unwrap().iter().enumerate() {
            let id = format!("m{fi}-{mi}\"");
            let section = sections.iter().find(|s| s.starts_with(&id));
            let violations = model["violations"].as_array().unwrap();
            if violations.is_empty() {
                assert!(section.is_none(), "{id}: a holding model has no section");
                continue;
            }
            let section = section.unwrap_or_else(|| panic!("{id}: no section for a failing model"));
            let violating: BTreeSet<&str> = violations.iter().map(|v| v["trace_id"].as_str().unwrap()).collect();
            let drawn = chunks(section, "<div class=\"wf\" data-t=\"");
            assert_eq!(
                drawn.len(),
                violating.len().min(10),
                "{id}: the first 10 violating traces (default)"
            );
            let ids: BTreeSet<&str> = drawn.iter().map(|w| &w[..32]).collect();
            assert_eq!(ids.len(), drawn.len(), "{id}: each trace once");
            for wf in drawn {
                let trace = &wf[..32];
                assert!(violating.contains(trace), "{id}: {trace} does not violate the model");
                let rows = rows(wf);
                assert_eq!(rows.len(), counts[trace], "{id}: one row per span of {trace}");
                expected_rows += rows.len();
                let (witnesses, lets) = marks(model, trace);
                assert_eq!(
                    rows.iter().filter(|r| r.contains(&"w")).count(),
                    witnesses.len(),
                    "{id} {trace}"
                );
                assert_eq!(
                    rows.iter().filter(|r| r.contains(&"a")).count(),
                    lets.len(),
                    "{id} {trace}"
                );
                checked += 1;
            }
        }
        for (ci, check) in file["checks"].as_array().unwrap().iter().enumerate() {
            let id = format!("c{fi}-{ci}\"");
            let rules = check["rules"].as_array().unwrap();
            let failing = |r: &&Value| {
                r["measurements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["holds"] == false)
                    .count()
            };
            let section = sections.iter().find(|s| s.starts_with(&id));
            if rules.iter().map(|r| failing(&r)).sum::<usize>() == 0 {
                assert!(section.is_none(), "{id}: a holding check has no section");
                continue;
            }
            let section = section.unwrap();
            let charts = chunks(section, "<svg class=\"chart\"");
            assert_eq!(charts.len(), rules.len(), "{id}: one chart per rule");
            for (chart, rule) in charts.iter().zip(rules) {
                assert!(chart.contains("class=\"th\""), "{id}: a threshold line");
                assert_eq!(
                    chart.matches("<rect class=\"bad\"").count(),
                    failing(&rule),
                    "{id}: failing bars"
                );
            }
        }
    }
    // The traces each failing model must report, from the faults `gen bank` injected (the model
    // file's comments and docs/BANK.md say which fault breaks which rule), up to 10 drawn each.
    let faulty = bank_faulty_traces();
    assert_eq!(
        checked,
        faulty.values().map(|t| t.len().min(10)).sum::<usize>(),
        "traces drawn for the failing bank models"
    );
    for (fi, file) in report["files"].as_array().unwrap().iter().enumerate() {
        for model in file["models"].as_array().unwrap() {
            let title = model["title"].as_str().unwrap();
            let violating: BTreeSet<String> = model["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["trace_id"].as_str().unwrap().to_string())
                .collect();
            let want = faulty.get(title).cloned().unwrap_or_default();
            assert_eq!(violating, want, "file {fi}, model {title:?}: the injected faults");
        }
    }
    assert_eq!(rows(dom).len(), expected_rows);
    let ready = assert_clean_console(&loaded, expected_rows);
    let summary = &dom[dom.find("id=\"summary\"").unwrap()..dom.find("</table>").unwrap()];
    // One summary row per block of the two model files.
    let (mut model_blocks, mut check_blocks) = (0, 0);
    for path in models {
        let source = std::fs::read_to_string(repo().join(path)).unwrap();
        for item in tracecheck::model::parse_file(&source).unwrap().items {
            match item {
                tracecheck::model::Item::Model(_) => model_blocks += 1,
                tracecheck::model::Item::Check(_) => check_blocks += 1,
            }
        }
    }
    assert_eq!(summary.matches("<td>model ").count(), model_blocks);
    assert_eq!(summary.matches("<td>check ").count(), check_blocks);
    // slo.model's `max(span(name = "withdrawal").duration) by service < 250ms` fails on the
    // slowest withdrawal (one service), shown in ms.
    let slowest: f64 = tracecheck_ok(
        &[
            "sql",
            "SELECT max(duration) AS d FROM spans WHERE name = 'withdrawal'",
            "--data",
            "datasets/bank",
            "--format",
            "csv",
        ],
        repo(),
    )
    .lines()
    .nth(1)
    .and_then(|d| d.parse().ok())
    .expect("a duration in ns");
    assert!(slowest >= 250e6, "a slow_withdrawal fault is in the data");
    let shown = format!("{:.3}ms (must be &lt; 250.000ms)", slowest / 1e6);
    assert!(summary.contains(&shown), "check values in the rule's unit: {shown}");
    let png = screenshot(&page_path, "bank");
    eprintln!(
        "bank: {} bytes, {expected_rows} rows; {ready}; chromium {:.1}s (DOM dump), {:.1}s with screenshot; {}",
        page.len(),
        loaded.seconds,
        start.elapsed().as_secs_f64(),
        png.display()
    );
}

#[test]
fn smartthings_trace_of_1041_spans_opens_with_its_witnesses_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("errors.model");
    std::fs::write(
        &model,
        "model \"No span fails\" {\n    expect no span(status = error)\n}\n",
    )
    .unwrap();
    let data = fixtures().join(SMARTTHINGS);
    let page_path = artifacts().join("smartthings.html");
    let page = check_with_report(&model, &data, &page_path, &[]);
    assert_self_contained(&page);
    let spans = span_counts(&data)[SMARTTHINGS_TRACE];
    assert_eq!(spans, raw_spans(&data).len(), "the spans in the raw JSON");
    // The spans with an `error` tag in the raw JSON.
    let errors = zipkin_json(&data)
        .iter()
        .filter(|s| s["tags"].get("error").is_some())
        .count();
    assert!(errors > 0);

    let loaded = load(&page_path, "");
    let ready = assert_clean_console(&loaded, spans);
    let drawn = rows(&loaded.dom);
    assert_eq!(drawn.len(), spans, "every span is a row (collapsed subtrees included)");
    assert!(
        drawn.iter().any(|r| r.contains(&"c")),
        "a large trace starts partly collapsed"
    );
    let marked: Vec<&Vec<&str>> = drawn.iter().filter(|r| r.contains(&"w")).collect();
    assert_eq!(marked.len(), errors, "the error spans are the witnesses");
    assert!(marked.iter().all(|r| r.contains(&"e")), "and are marked as errors");
    assert_eq!(drawn.iter().filter(|r| r.contains(&"e")).count(), errors);
    assert!(
        loaded.dom.contains("(blank name \"\\n\")"),
        "spans named \"\\n\" are not blank rows"
    );

    // A link to a witness opens its ancestors and shows its tags in the panel.
    let witness = "71687cb74971c333";
    let linked = load(&page_path, &format!("#span-{SMARTTHINGS_TRACE}-{witness}"));
    assert_clean_console(&linked, spans);
    let panel = &linked.dom[linked.dom.find("<aside id=\"tc-panel\"").unwrap()..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    assert!(!panel.contains(" hidden"), "the panel is open");
    assert!(panel.contains(&format!("<td>{witness}</td>")), "{panel}");
    assert!(
        panel.contains("<th>http.status_code</th><td>404</td><td>span</td>"),
        "{panel}"
    );
    assert!(panel.contains("<td>error: 404</td>"), "status and message");
    let selected: Vec<Vec<&str>> = rows(&linked.dom).into_iter().filter(|r| r.contains(&"sel")).collect();
    assert!(
        selected.len() == 1 && selected[0].contains(&"w"),
        "the linked witness row is selected: {selected:?}"
    );

    screenshot(&page_path, "smartthings");
    eprintln!(
        "smartthings: {} bytes; {ready}; chromium {:.1}s",
        page.len(),
        loaded.seconds
    );
    assert!(
        page.len() < 1_000_000,
        "{spans} spans stay under a megabyte: {}",
        page.len()
    );
}

#[test]
fn fifty_traces_of_1041_spans_open_quickly() {
    // The SmartThings trace copied under 50 trace ids.
    let dir = tempfile::tempdir().unwrap();
    let spans: Vec<Value> = serde_json::from_slice(&std::fs::read(fixtures().join(SMARTTHINGS)).unwrap()).unwrap();
    let mut all = Vec::new();
    for k in 0..50 {
        for s in &spans {
            let mut s = s.clone();
            s["traceId"] = Value::from(format!("{:016x}", 0x1000 + k));
            all.push(s);
        }
    }
    let data = dir.path().join("fifty.json");
    std::fs::write(&data, serde_json::to_vec(&all).unwrap()).unwrap();
    let model = dir.path().join("errors.model");
    std::fs::write(
        &model,
        "model \"No span fails\" {\n    expect no span(status = error)\n}\n",
    )
    .unwrap();
    let page_path = artifacts().join("fifty.html");
    check_with_report(&model, &data, &page_path, &["--report-traces", "50"]);
    let size = std::fs::metadata(&page_path).unwrap().len();
    let loaded = load(&page_path, "");
    // 50 copies of every span of the file, which the data holds as 50 traces.
    let want = 50 * spans.len();
    let counts = span_counts(&data);
    assert_eq!((counts.len(), counts.values().sum::<usize>()), (50, want));
    let ready = assert_clean_console(&loaded, want);
    assert_eq!(rows(&loaded.dom).len(), want);
    // "parsed after N ms": the page's own clock, from navigation to the last row parsed.
    let parsed_ms: f64 = ready
        .split("parsed after ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{ready}"));
    eprintln!(
        "fifty: {size} bytes; {ready}; chromium {:.1}s (DOM dump)",
        loaded.seconds
    );
    assert!(size < 30_000_000, "page size {size}");
    assert!(
        parsed_ms < 20_000.0,
        "50 traces of {} spans parse in seconds, not minutes: {ready}",
        spans.len()
    );
    screenshot(&page_path, "fifty");
}
