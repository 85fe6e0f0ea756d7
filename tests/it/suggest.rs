//! `tracecheck suggest`: every suggestion holds on the data it was mined from (run by `check`), the
//! file is canonical model text, faults of the bank are caught first with `--data-bad`, and the
//! output on real traces of other projects is short and free of implied rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use tracecheck::model::{parse_file, Item};

use super::common::{fixtures, tracecheck, tracecheck_ok};

/// The titles and blocks of a suggested file, in order.
fn blocks(text: &str) -> Vec<(String, String)> {
    let file = parse_file(text).unwrap_or_else(|e| panic!("suggested file does not parse: {}\n{text}", e.message));
    file.items
        .iter()
        .map(|item| match item {
            Item::Model(m) => (m.title.node.clone(), format!("{m}")),
            Item::Check(c) => (c.title.node.clone(), format!("{c}")),
        })
        .collect()
}

/// Writes `text` to `dir/name` and checks that `fmt --check` and `check` accept it on `data`:
/// formatted, and every rule holds.
fn assert_valid_and_holding(dir: &Path, name: &str, text: &str, data: &[&str]) {
    std::fs::write(dir.join(name), text).unwrap();
    tracecheck_ok(&["fmt", "--check", name], dir);
    let mut args = vec!["check", name, "--data"];
    args.extend(data);
    let out = tracecheck(&args, dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a suggestion fails on the data it was mined from:\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn no_duplicates(list: &[(String, String)]) {
    let titles: BTreeSet<&String> = list.iter().map(|(t, _)| t).collect();
    assert_eq!(titles.len(), list.len(), "duplicate titles");
    let bodies: BTreeSet<String> = list
        .iter()
        .map(|(t, b)| b.replacen(&tracecheck::model::format::quote(t), "", 1))
        .collect();
    assert_eq!(bodies.len(), list.len(), "two suggestions state the same rule");
}

/// `gen bank` of 600 traces into `dir/name`.
fn gen_bank(dir: &Path, name: &str, seed: &str, fault_rate: &str) {
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            name,
            "--traces",
            "600",
            "--seed",
            seed,
            "--fault-rate",
            fault_rate,
        ],
        dir,
    );
}

#[test]
fn bank_without_faults_every_suggestion_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gen_bank(dir, "good", "3", "0");
    let text = tracecheck_ok(&["suggest", "--data", "good"], dir);
    let list = blocks(&text);
    assert!(
        list.len() >= 15 && list.len() <= 40,
        "{} suggestions:\n{text}",
        list.len()
    );
    no_duplicates(&list);
    assert_valid_and_holding(dir, "suggested.model", &text, &["good"]);
    // The templates the bank has data for are all there.
    for template in [
        "child",
        "parent",
        "exclusive",
        "order",
        "never-error",
        "status-codes",
        "duration",
        "conditional",
        "latency",
        "error-rate",
    ] {
        assert!(
            text.contains(&format!("# {template}: tested on")),
            "no {template} suggestion:\n{text}"
        );
    }
    // -o writes the same file.
    tracecheck_ok(&["suggest", "--data", "good", "-o", "out.model"], dir);
    assert_eq!(std::fs::read_to_string(dir.join("out.model")).unwrap(), text);
}

/// For each model of `report` (check --format json), the trace ids it was violated in.
fn violated_traces(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for file in report["files"].as_array().unwrap() {
        for m in file["models"].as_array().unwrap() {
            let traces = m["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["trace_id"].as_str().unwrap().to_string())
                .collect();
            out.insert(m["title"].as_str().unwrap().to_string(), traces);
        }
    }
    out
}

#[test]
fn bank_with_bad_data_catches_every_fault_kind_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gen_bank(dir, "good", "3", "0");
    gen_bank(dir, "bad", "4", "0.5");
    let text = tracecheck_ok(&["suggest", "--data", "good", "--data-bad", "bad"], dir);
    assert_valid_and_holding(dir, "suggested.model", &text, &["good"]);
    let list = blocks(&text);
    no_duplicates(&list);

    // The seed's model shape is among the suggestions.
    assert!(
        text.contains(
            "    when span(name = \"fetch-balance\").tag(\"amount\") < span(name = \"withdrawal\").tag(\"amount\")\n    expect span(name = \"rollback\")\n    expect no span(name = \"commit\")\n"
        ),
        "the overdraft model is not suggested:\n{text}"
    );

    // Which suggestions catch which fault: every kind is caught by one of the first suggestions
    // (those the bad data violates come first).
    let out = tracecheck(&["check", "suggested.model", "--data", "bad", "--format", "json"], dir);
    assert_eq!(out.status.code(), Some(1));
    let violated = violated_traces(&serde_json::from_slice(&out.stdout).unwrap());
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bad/ground_truth.json")).unwrap()).unwrap();
    let faults = truth["faults"].as_object().unwrap();
    assert_eq!(faults.len(), 5, "{truth}");
    let first: Vec<&String> = list.iter().take(12).map(|(t, _)| t).collect();
    let mut caught_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (fault, ids) in faults {
        let ids: BTreeSet<String> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for title in &first {
            if violated.get(*title).is_some_and(|v| !v.is_disjoint(&ids)) {
                caught_by.entry(fault.as_str()).or_default().push(title.as_str());
            }
        }
    }
    for fault in faults.keys() {
        assert!(
            caught_by.contains_key(fault.as_str()),
            "no suggestion among the first 12 catches {fault}: {caught_by:#?}\n{text}"
        );
    }
    // The expected catchers, by fault (what docs/SUGGEST.md walks through).
    let by = |fault: &str, title: &str| caught_by[fault].contains(&title);
    assert!(
        by("overdraft_committed", "when `fetch-balance`'s amount < `withdrawal`'s"),
        "{caught_by:#?}"
    );
    assert!(
        by("missing_rollback", "when `fetch-balance`'s amount < `withdrawal`'s"),
        "{caught_by:#?}"
    );
    assert!(
        by("wrong_status_code", "when `fetch-balance`'s amount < `withdrawal`'s"),
        "{caught_by:#?}"
    );
    assert!(by("error", "`commit` never fails"), "{caught_by:#?}");
    assert!(
        caught_by["slow_withdrawal"]
            .iter()
            .any(|t| t.starts_with("`withdrawal` takes less than")),
        "{caught_by:#?}"
    );
    // Suggestions the bad data violates come before all others.
    let last_violated = text
        .rfind("# On the bad data: violated")
        .expect("some suggestion is violated");
    let first_other = ["# On the bad data: holds", "# On the bad data: never applied"]
        .iter()
        .filter_map(|s| text.find(s))
        .min()
        .unwrap_or(usize::MAX);
    assert!(last_violated < first_other, "{text}");
}

#[test]
fn real_traces_give_a_short_file_without_implied_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for fixture in [
        "zipkin/smartthings-mobile-web-install.json",
        "jaeger-ui/genaiTestTrace.json",
    ] {
        let path = fixtures().join(fixture);
        let data = path.to_str().unwrap();
        let text = tracecheck_ok(&["suggest", "--data", data], dir);
        let list = blocks(&text);
        assert!(
            !list.is_empty() && list.len() < 50,
            "{fixture}: {} suggestions\n{text}",
            list.len()
        );
        no_duplicates(&list);
        assert_valid_and_holding(dir, "real.model", &text, &[data]);
        // A child rule implies the descendant rule of the same names: never both.
        for (title, _) in &list {
            let ticked: Vec<&str> = title.split('`').collect();
            if ticked.len() == 5 && ticked[2].starts_with(" has ") && ticked[2].ends_with(" child ") {
                let implied = format!("`{}` has a descendant `{}`", ticked[1], ticked[3]);
                assert!(!list.iter().any(|(t, _)| *t == implied), "{fixture}: {implied}\n{text}");
            }
        }
    }
}

#[test]
fn bad_input_is_an_error_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tracecheck(&["suggest", "--data", "no-such-folder"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-folder"));
}

/// On random traces (odd parents, missing times, tags of every type), with a support of 1 so that
/// every template fires, every candidate holds when `check` runs it on the same spans; and mining
/// in three passes over trace-id ranges finds exactly the candidates of one pass.
#[test]
fn mined_candidates_hold_on_random_traces() {
    let cases = std::env::var("TRACECHECK_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = runner.run(&super::differential::spans_strategy(), |spans| {
        let failing = rt.block_on(async {
            use tracecheck::check::{check_compiled, compile_file, DataNames};
            use tracecheck::suggest::{mine, mine_in_passes, rank, render, Options};
            let ctx = tracecheck::engine::open_spans(spans.clone()).await.unwrap();
            let options = Options::default()
                .with_min_support(1)
                .with_max(10_000)
                .with_per_template(10_000);
            let candidates = mine(&ctx, &options).await.unwrap();
            let passes = three_passes(&ctx, &spans).await;
            let in_passes = mine_in_passes(&ctx, &passes, &options).await.unwrap();
            assert_eq!(listed(&in_passes), listed(&candidates), "mining in passes differs");
            let ranked = rank(candidates, None, &options).await.unwrap();
            let text = render(&ranked.kept, "random").unwrap();
            let file = parse_file(&text).unwrap();
            let blocks = compile_file("s", &text, &file).unwrap();
            let report = check_compiled("s", &blocks, &ctx, &DataNames::default(), None)
                .await
                .unwrap();
            let mut failing: Vec<String> = report
                .models
                .iter()
                .filter(|m| !m.holds())
                .map(|m| m.title.clone())
                .collect();
            failing.extend(report.checks.iter().filter(|c| !c.holds()).map(|c| c.title.clone()));
            (failing, text)
        });
        prop_assert!(failing.0.is_empty(), "failing: {:?}\n{}", failing.0, failing.1);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Sessions over three trace-id ranges that split the traces of `spans` (fewer when there are
/// fewer traces), as `suggest --pass-spans` makes them.
async fn three_passes(
    ctx: &datafusion::prelude::SessionContext,
    spans: &[tracecheck::ingest::Span],
) -> Vec<datafusion::prelude::SessionContext> {
    let ids: BTreeSet<String> = spans.iter().map(|s| format!("{:032x}", s.trace_id)).collect();
    let ids: Vec<String> = ids.into_iter().collect();
    let mut cuts: Vec<String> = [ids.len() / 3, 2 * ids.len() / 3]
        .iter()
        .filter(|i| **i > 0)
        .map(|i| ids[*i].clone())
        .collect();
    cuts.dedup();
    let mut bounds: Vec<Option<String>> = vec![None];
    bounds.extend(cuts.into_iter().map(Some));
    bounds.push(None);
    let mut passes = Vec::new();
    for w in bounds.windows(2) {
        let range = tracecheck::engine::TraceRange {
            lo: w[0].clone(),
            hi: w[1].clone(),
        };
        passes.push(tracecheck::engine::pass_session(ctx, &range).await.unwrap());
    }
    passes
}

/// Candidates in a comparable order, each as its whole debug text (block, support, why, ...).
fn listed(candidates: &[tracecheck::suggest::Suggestion]) -> Vec<String> {
    let mut all: Vec<String> = candidates.iter().map(|c| format!("{c:?}")).collect();
    all.sort();
    all
}

/// The whole file for the bank dataset that ships in `datasets/` (faults at the default rate: the
/// suggestions hold on it all the same), as a snapshot: a change in mining or ranking shows here.
#[test]
fn shipped_bank_dataset_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = tracecheck_ok(&["suggest", "--data", "datasets/bank"], root);
    // The shipped dataset in passes of ~300 spans: the same file.
    let passes = tracecheck_ok(&["suggest", "--data", "datasets/bank", "--pass-spans", "300"], root);
    assert_eq!(passes, text, "--pass-spans 300 changed the suggestions");
    let tmp = tempfile::tempdir().unwrap();
    let data = root.join("datasets/bank");
    assert_valid_and_holding(tmp.path(), "bank.model", &text, &[data.to_str().unwrap()]);
    insta::assert_snapshot!(text);
}
