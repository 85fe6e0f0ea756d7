//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use tracecheck::ingest::{RawTables, Span, SpanSink};
use tracecheck::model::builder::{less_than, span};
use tracecheck::model::Model;
use tracecheck::store::Part;

/// The real-trace fixtures copied from other projects (`tests/fixtures/real`, see its README), or
/// `$TRACECHECK_FIXTURES`.
pub fn fixtures() -> PathBuf {
    match std::env::var_os("TRACECHECK_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real"),
    }
}

/// The `tracecheck` binary under test: the one cargo built, or `$TRACECHECK_BIN` (e.g. a release
/// build, or a private copy when several checkouts share one target folder).
pub fn bin() -> PathBuf {
    std::env::var_os("TRACECHECK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tracecheck")))
}

/// Runs the built `tracecheck` binary.
pub fn tracecheck(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run tracecheck")
}

/// How many spans `tracecheck sql` finds in `data` (a dataset or trace files), run from `cwd`.
pub fn span_count(cwd: &Path, data: &str) -> i64 {
    let csv = tracecheck_ok(
        &[
            "sql",
            "SELECT count(*) AS n FROM spans",
            "--data",
            data,
            "--format",
            "csv",
        ],
        cwd,
    );
    let n = csv.strip_prefix("n\n").and_then(|rest| rest.trim_end().parse().ok());
    n.unwrap_or_else(|| panic!("not a count: {csv:?}"))
}

/// `(trace_id, spans)` per trace that `tracecheck sql` finds in `data` (a dataset or trace files),
/// run from `cwd`, sorted by trace id.
pub fn spans_per_trace(cwd: &Path, data: &Path) -> Vec<(String, usize)> {
    let sql = "SELECT trace_id, count(*) AS n FROM spans GROUP BY trace_id ORDER BY trace_id";
    let csv = tracecheck_ok(&["sql", "--data", data.to_str().unwrap(), "--format", "csv", sql], cwd);
    csv.lines()
        .skip(1)
        .map(|l| {
            let (id, n) = l.split_once(',').unwrap();
            (id.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// Stdout of a successful run; panics with stderr otherwise.
pub fn tracecheck_ok(args: &[&str], cwd: &Path) -> String {
    let out = tracecheck(args, cwd);
    assert!(
        out.status.success(),
        "tracecheck {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs SQL and returns all batches.
pub async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The single integer a query like `SELECT count(*) ...` returns.
pub async fn scalar_i64(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = query(ctx, sql).await;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap_or_else(|| panic!("{sql}: no rows"));
    let col = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Int64).unwrap();
    col.as_primitive::<Int64Type>().value(0)
}

/// All values of the first column as strings (nulls as "NULL").
pub async fn column_strings(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in query(ctx, sql).await {
        let col = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let s = col.as_string::<i32>();
        for i in 0..s.len() {
            out.push(if s.is_null(i) {
                "NULL".to_string()
            } else {
                s.value(i).to_string()
            });
        }
    }
    out
}

/// Sends SIGTERM to a child process (`kill -TERM`).
pub fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -TERM {} failed", child.id());
}

/// Waits for a child to exit; panics, naming it `what`, if it is still running after `limit`.
pub fn wait_exit(child: &mut Child, what: &str, limit: Duration) -> ExitStatus {
    eventually(&format!("{what} to exit"), limit, || child.try_wait().unwrap())
}

/// Time between two tries of [`eventually`] and [`poll_until`].
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Waits for something to happen: calls `probe` every 25 ms until it returns `Some`, and returns
/// that value. Panics, naming `what` (e.g. "the webhook to receive two calls") and the time
/// waited, if `limit` passes first.
///
/// Tests wait with this, on the condition they need (a server up, a file, metric or event there, a
/// count reached), never with a sleep of a guessed length: a fast machine does not wait longer
/// than it must, and a slow one waits as long as it must, up to `limit` (make it generous; it only
/// bounds how long a broken build hangs). `probe` may also assert what must hold at every try.
///
/// ```ignore
/// let n = eventually("25 spans to be queryable", Duration::from_secs(20), || {
///     let n = span_count(cwd, "ds");
///     (n >= 25).then_some(n)
/// });
/// ```
pub fn eventually<T>(what: &str, limit: Duration, probe: impl FnMut() -> Option<T>) -> T {
    poll_until(limit, probe)
        .unwrap_or_else(|waited| panic!("gave up waiting for {what} after {waited:?} (limit {limit:?})"))
}

/// [`eventually`] for a caller that reports the timeout itself (e.g. with the state it saw):
/// `Err` with the time waited when `limit` passed before `probe` returned `Some`.
pub fn poll_until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Result<T, Duration> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        let waited = start.elapsed();
        if waited >= limit {
            return Err(waited);
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// The seed's model ("accounts cannot withdraw more than their balance") built in Rust, titled
/// `title`: when the fetched balance is less than the amount withdrawn, expect a rollback and no
/// commit. Callers that want the seed's fourth clause (a 500 reply) add it.
pub fn seed_model(title: &str) -> Model {
    Model::new(title)
        .when(less_than(
            span().name("fetch-balance").tag("amount"),
            span().name("withdrawal").tag("amount"),
        ))
        .expect(span().name("rollback"))
        .not_expect(span().name("commit"))
}

/// `spans` assembled into parts in memory, as one ingest would write them.
pub fn parts_of(spans: impl IntoIterator<Item = Span>) -> Vec<Part> {
    let mut raw = RawTables::new(false);
    for s in spans {
        raw.push(s).unwrap();
    }
    tracecheck::store::assemble(raw, usize::MAX).unwrap().0
}
