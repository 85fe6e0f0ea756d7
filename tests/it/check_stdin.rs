//! `tracecheck check --data -` (one trace input on standard input) and `--expect holds|violates`
//! (the assertions of `tracecheck::testing`, for the Python and Node test helpers), run through the
//! real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use super::common::{bin, tracecheck_ok};

const BANK: &str = "queries/bank.model";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary from the repository's folder with `input` on standard input.
fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracecheck");
    let mut stdin = child.stdin.take().unwrap();
    // The binary may stop reading early (a model error fails before any data is read).
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// One OTLP/JSON span of the bank's trace (`examples/bank/logic.rs`), at `start`..`end` ms.
fn span(id: u8, parent: Option<u8>, name: &str, kind: u8, (start, end): (u64, u64), attrs: Value) -> Value {
    const T0: u64 = 1_700_000_000_000_000_000;
    let mut s = json!({
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": format!("{id:016x}"),
        "name": name,
        "kind": kind,
        "startTimeUnixNano": (T0 + start * 1_000_000).to_string(),
        "endTimeUnixNano": (T0 + end * 1_000_000).to_string(),
        "attributes": attrs,
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(format!("{p:016x}"));
    }
    s
}

fn attr_str(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn attr_int(key: &str, value: i64) -> Value {
    json!({"key": key, "value": {"intValue": value.to_string()}})
}

fn db(statement: &str) -> Value {
    json!([
        attr_str("db.system.name", "sqlite"),
        attr_str("db.query.text", statement)
    ])
}

/// The seed's test, as OTLP/JSON: a withdrawal of 500 from a balance of 300. The correct bank
/// rolls back and answers 500; the buggy one (no balance check) commits and answers 200.
fn overdraft(buggy: bool) -> Vec<u8> {
    let (server, internal, client) = (2, 1, 3);
    let status = if buggy { 200 } else { 500 };
    let mut root = span(
        1,
        None,
        "/:account/withdraw",
        server,
        (0, 10),
        json!([
            attr_str("http.request.method", "POST"),
            attr_str("http.route", "/:account/withdraw"),
            attr_int("http.response.status_code", status),
        ]),
    );
    if !buggy {
        root["status"] = json!({"code": 2, "message": "insufficient funds"});
    }
    let mut spans = vec![
        root,
        span(
            2,
            Some(1),
            "fetch-balance",
            internal,
            (1, 3),
            json!([attr_int("amount", 300)]),
        ),
        span(
            3,
            Some(2),
            "select-balance",
            client,
            (1, 2),
            db("SELECT balance FROM accounts WHERE id = ?"),
        ),
        span(
            4,
            Some(1),
            "withdrawal",
            internal,
            (4, 9),
            json!([attr_int("amount", 500)]),
        ),
        span(5, Some(4), "begin", client, (4, 5), db("BEGIN")),
    ];
    if buggy {
        spans.push(span(
            6,
            Some(4),
            "update-balance",
            client,
            (5, 6),
            db("UPDATE accounts SET balance = ? WHERE id = ?"),
        ));
        spans.push(span(7, Some(4), "commit", client, (7, 8), db("COMMIT")));
    } else {
        spans.push(span(6, Some(4), "rollback", client, (5, 6), db("ROLLBACK")));
    }
    let request = json!({"resourceSpans": [{
        "resource": {"attributes": [attr_str("service.name", "bank")]},
        "scopeSpans": [{"scope": {"name": "bank"}, "spans": spans}],
    }]});
    serde_json::to_vec(&request).unwrap()
}

/// The message the Rust assertion gives for the same spans and model file.
#[cfg(feature = "testing")]
fn rust_message(input: &[u8], expect: tracecheck::testing::Expect, strict: bool) -> Option<String> {
    use tracecheck::testing::{verdict_on_spans, Models};
    let mut spans = Vec::new();
    tracecheck::ingest::decode_bytes("x.json", input, &mut spans).unwrap();
    let models = [Models::load(BANK).unwrap()];
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let verdict = rt.block_on(verdict_on_spans(&models, spans, expect, strict)).unwrap();
    verdict.err().map(|f| f.message())
}

#[test]
fn stdin_protobuf_and_json_give_the_report_of_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for (file, format) in [("b.pb", "otlp-proto"), ("b.json", "otlp-json")] {
        let args = [
            "gen", "bank", "-o", file, "--traces", "200", "--seed", "3", "--format", format,
        ];
        tracecheck_ok(&args, p);
    }
    let pb = p.join("b.pb");
    let pb = pb.to_str().unwrap();
    let from_file = tracecheck_check(&[BANK, "--data", pb, "--format", "json"]);
    assert_eq!(from_file.status.code(), Some(1), "the generated bank has faults");
    let report: Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(report["files"][0]["models"].as_array().unwrap().len(), 7);

    let json = std::fs::read(p.join("b.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).unwrap();
    let inputs = [
        ("protobuf", std::fs::read(p.join("b.pb")).unwrap()),
        ("OTLP/JSON", json.clone()),
        ("gzipped OTLP/JSON", gz.finish().unwrap()),
    ];
    for (what, bytes) in inputs {
        let out = with_stdin(&["check", BANK, "--data", "-", "--format", "json"], &bytes);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            text(&from_file.stdout),
            "{what} on stdin differs from the file"
        );
    }
    // The text report too, and `-` beside a file: both inputs are read.
    let out = with_stdin(&["check", BANK, "--data", "-"], &json);
    assert_eq!(text(&out.stdout), text(&tracecheck_check(&[BANK, "--data", pb]).stdout));
    let out = with_stdin(
        &["check", BANK, "--data", "-", pb, "--format", "json"],
        &overdraft(true),
    );
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    let traces = |r: &Value| r["files"][0]["models"][1]["traces"].as_u64().unwrap();
    assert_eq!(
        traces(&both),
        traces(&report) + 1,
        "the stdin trace is checked with the file's"
    );
}

fn tracecheck_check(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("check")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn expect_holds_is_silent_when_met_and_prints_the_rust_message_when_not() {
    // The correct bank: every rule holds (three are vacuous on one overdraft, as in seed_unit.rs).
    let out = with_stdin(&["check", BANK, "--data", "-", "--expect", "holds"], &overdraft(false));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    // The buggy bank: the seed's model fails, and the message is the Rust assertion's, whole.
    let out = with_stdin(&["check", BANK, "--data", "-", "--expect", "holds"], &overdraft(true));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let message = text(&out.stdout);
    for line in [
        "tracecheck: 1 of 7 rules failed on the captured spans (queries/bank.model; 7 spans in 1 trace)\n",
        "\nFAIL \"Accounts cannot withdraw more than their balance\"  (applied to 1 trace; 3 violations in 1 trace)\n",
        "\n  ✗ 2     expect no span(name = \"commit\")\n",
        "\n  trace 0af7651916cd43dd8448eb211c80319c  (7 spans, 10.000ms)\n",
        "\n    /:account/withdraw  bank  10.000ms  http.status_code=200\n",
        "\n      fetch-balance     bank   2.000ms  amount=300\n",
        "\n        commit          bank   1.000ms  ◀ witness of clause 2\n",
        "\n    ✗ clause 2 fails: 1 span matched (◀), expected none\n",
        "\nok      \"The balance is read before it is written\" (applied to 1 trace)\n",
    ] {
        assert!(message.contains(line), "{line:?} not in:\n{message}");
    }
    assert!(message.starts_with("tracecheck: 1 of 7 rules failed"), "{message}");
    #[cfg(feature = "testing")]
    assert_eq!(
        Some(message),
        rust_message(&overdraft(true), tracecheck::testing::Expect::Holds, false)
    );
}

#[test]
fn expect_violates_is_the_inverse() {
    let out = with_stdin(
        &["check", BANK, "--data", "-", "--expect", "violates"],
        &overdraft(true),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");

    let out = with_stdin(
        &["check", BANK, "--data", "-", "--expect", "violates"],
        &overdraft(false),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let message = text(&out.stdout);
    assert!(
        message.starts_with(
            "tracecheck: expected a violation, but every rule holds on the captured spans \
             (queries/bank.model; 6 spans in 1 trace)\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("\nvacuous \"Commits never fail\": `when` never held"),
        "{message}"
    );
    assert!(message.contains("\ncaptured:\n"), "{message}");
    assert!(
        message.contains("\n        rollback        bank   1.000ms  status=unset  db.statement=\"ROLLBACK\""),
        "{message}"
    );
    #[cfg(feature = "testing")]
    assert_eq!(
        Some(message),
        rust_message(&overdraft(false), tracecheck::testing::Expect::Violates, false)
    );

    // The report still goes to --output when asked.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let args = [
        "check", BANK, "--data", "-", "--expect", "violates", "--format", "json", "--output",
    ];
    let out = with_stdin(&[&args[..], &[report.to_str().unwrap()]].concat(), &overdraft(true));
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), String::new()));
    let report: Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let violations = report["files"][0]["models"][0]["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 3);
}

#[test]
fn vacuity_fails_holds_when_nothing_applied_and_with_strict() {
    // No span at all (an empty OTLP request is no bytes): no model applied.
    let out = with_stdin(&["check", BANK, "--data", "-", "--expect", "holds"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let message = text(&out.stdout);
    assert!(
        message.starts_with(
            "tracecheck: no model applied to the captured spans, so nothing was checked \
             (queries/bank.model; 0 spans in 0 traces)\n"
        ),
        "{message}"
    );
    assert!(message.contains("\nNo span was captured."), "{message}");

    // One model that never applies, alone: reported as vacuous.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("vacuous.model");
    std::fs::write(
        &model,
        "model \"Transfers are audited\" {\n    when span(name = \"transfer\")\n    expect span(name = \"audit\")\n}\n",
    )
    .unwrap();
    let out = with_stdin(
        &["check", model.to_str().unwrap(), "--data", "-", "--expect", "holds"],
        &overdraft(false),
    );
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stdout);
    assert!(message.contains("no model applied to the captured spans"), "{message}");
    assert!(
        message.contains("\nvacuous \"Transfers are audited\": `when` never held in this data"),
        "{message}"
    );

    // Some models of the bank are vacuous on one overdraft: that passes, unless --strict.
    let args = ["check", BANK, "--data", "-", "--expect", "holds", "--strict"];
    let out = with_stdin(&args, &overdraft(false));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let message = text(&out.stdout);
    assert!(
        message.contains("rules raised a warning, a failure in strict mode"),
        "{message}"
    );
    assert!(message.contains("\nvacuous \"Commits never fail\": "), "{message}");
    assert!(
        message.contains("\nok      \"Accounts cannot withdraw more than their balance\""),
        "{message}"
    );
    #[cfg(feature = "testing")]
    assert_eq!(
        Some(message),
        rust_message(&overdraft(false), tracecheck::testing::Expect::Holds, true)
    );
}

#[test]
fn errors_exit_2_with_the_position_or_stdin_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.model");
    std::fs::write(&bad, "model \"x\" {\n  expect span(nme = \"a\")\n}\n").unwrap();
    let bad = bad.to_str().unwrap();
    for expect in [&["--expect", "holds"][..], &[]] {
        let out = with_stdin(&[&["check", bad, "--data", "-"][..], expect].concat(), &overdraft(true));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{bad}:2:15")), "{stderr}");
        assert!(stderr.contains("did you mean `name`?"), "{stderr}");
        assert_eq!(text(&out.stdout), "");
    }

    for expect in [&["--expect", "holds"][..], &[]] {
        let args = [&["check", BANK, "--data", "-"][..], expect].concat();
        let out = with_stdin(&args, b"this is not a trace");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("<stdin>: byte 0: not a trace format"), "{stderr}");
        let out = with_stdin(&args, b"{\"resourceSpans\": [");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("<stdin>"), "{stderr}");
    }

    let out = with_stdin(&["check", BANK, "--data", "-", "-"], &overdraft(true));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("give `-` once"), "{}", text(&out.stderr));

    // --expect decodes in memory: a dataset is refused with a reason.
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/bank");
    let out = with_stdin(
        &["check", BANK, "--data", ds.to_str().unwrap(), "--expect", "holds"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a dataset"), "{}", text(&out.stderr));
}
