//! The seed's integration test: start the collector, start the bank (examples/bank) with its SQLite
//! database, create an account, withdraw twice its balance with a real HTTP client, stop the bank,
//! check `queries/bank.model` on what was collected. The correct bank holds; the buggy bank fails
//! with the trace id of the withdrawal.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::collect::CollectorProc;
use super::common::{sigterm, tracecheck, wait_exit};

/// `target/<profile>/examples/bank`, built by `cargo test` with the other examples.
fn bank_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("bank{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: `cargo test` builds it (or `cargo build --examples`)",
        bin.display()
    );
    bin
}

/// The running bank; killed on drop if the test did not stop it.
struct BankProc {
    child: Child,
    url: String,
}

impl BankProc {
    fn start(db: &Path, otlp: &str, bug: bool) -> BankProc {
        let mut cmd = Command::new(bank_binary());
        cmd.args(["--listen", "127.0.0.1:0", "--otlp-endpoint", otlp, "--db"])
            .arg(db);
        if bug {
            cmd.arg("--bug");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bank");
        let line = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .next()
            .expect("the bank's listening line")
            .unwrap();
        let url = line
            .strip_prefix("bank listening on ")
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_string();
        BankProc { child, url }
    }

    /// SIGTERM: the bank finishes its requests and flushes its spans; exit 0 expected.
    fn stop(mut self) {
        sigterm(&self.child);
        let status = wait_exit(&mut self.child, "the bank", Duration::from_secs(30));
        let mut err = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "bank exited with {status:?}:\n{err}");
        assert!(!err.contains("not exported"), "the bank lost spans:\n{err}");
    }
}

impl Drop for BankProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the scenario; returns the trace id of the overdraft withdrawal and the `check` output.
fn scenario(bug: bool) -> (String, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("traces");
    let collector = CollectorProc::start(&data, &["--trace-idle", "60s"]);
    let bank = BankProc::start(&tmp.path().join("bank.db"), &collector.grpc, bug);
    // The client starts the trace, so the test knows the withdrawal's trace id.
    let overdraft_trace = "4bf92f3577b34da6a3ce929d0e0e4736".to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = tracecheck::net::client_builder().build().unwrap();
        let r = http
            .post(format!("{}/accounts", bank.url))
            .body(r#"{"id": "acct-1", "balance": 300}"#)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        // A withdrawal the balance covers, so the models are not vacuous on the correct bank.
        let r = http
            .post(format!("{}/acct-1/withdraw", bank.url))
            .body(r#"{"amount": 100}"#)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Twice the (remaining) balance.
        let r = http
            .post(format!("{}/acct-1/withdraw", bank.url))
            .body(r#"{"amount": 400}"#)
            .header("content-type", "application/json")
            .header("traceparent", format!("00-{overdraft_trace}-00f067aa0ba902b7-01"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), if bug { 200 } else { 500 });
    });
    bank.stop();
    collector.stop();
    let out = tracecheck(
        &[
            "check",
            "queries/bank.model",
            "--data",
            data.to_str().unwrap(),
            "--format",
            "json",
        ],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    (overdraft_trace, out)
}

fn models(out: &std::process::Output) -> Vec<serde_json::Value> {
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["files"][0]["models"].as_array().unwrap().clone()
}

#[test]
fn the_correct_bank_holds() {
    let (_, out) = scenario(false);
    let models = models(&out);
    assert_eq!(models.len(), 7);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Not vacuously: the overdraft model's `when` held for the overdraft trace.
    let overdraft = &models[0];
    assert_eq!(overdraft["title"], "Accounts cannot withdraw more than their balance");
    assert_eq!(overdraft["traces"], 1, "{overdraft}");
    for m in &models {
        assert_eq!(m["violations"], serde_json::json!([]), "{m}");
    }
}

#[test]
fn the_buggy_bank_fails_with_the_trace_id_of_the_withdrawal() {
    let (trace, out) = scenario(true);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let models = models(&out);
    for m in &models[1..] {
        assert_eq!(
            m["violations"],
            serde_json::json!([]),
            "only the overdraft model fails: {m}"
        );
    }
    // Every clause of the seed's model is violated by the withdrawal's trace, and only by it:
    // rollback missing, commit present, answered 200 instead of 500.
    let violations = models[0]["violations"].as_array().unwrap();
    let clauses: Vec<(u64, &str)> = violations
        .iter()
        .map(|v| (v["clause"].as_u64().unwrap(), v["trace_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        clauses,
        vec![(1, trace.as_str()), (2, trace.as_str()), (3, trace.as_str())]
    );
}
