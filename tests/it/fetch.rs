//! `tracecheck fetch` against fake Jaeger and Tempo servers on 127.0.0.1 that answer from the
//! recorded fixtures: paging, retries, permanent errors, resumption, unknown services, and a
//! `tracecheck check` audit of the fetched archive.

mod fake;
mod tempo;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fake::{jaeger, jaeger_trace, restamp_jaeger, Failure, FakeServer};
use tempfile::TempDir;

use super::common::{eventually, tracecheck};

/// The window around the traceGraph fixture (2018-11-19T22:27:32Z) and its copies.
const JAEGER_WINDOW: [&str; 4] = ["--start", "2018-11-19T00:00:00Z", "--end", "2018-11-20T00:00:00Z"];

/// Traces of `service1` (the traceGraph fixture) in the fake Jaeger: 20 copies a second apart and
/// 2 more sharing one start, so that a search returns them in many pages.
const COPIES: usize = 22;

fn trace_id(i: usize) -> String {
    format!("{:032x}", 0xa000 + i)
}

/// The fake Jaeger: copies of traceGraph (`service1`, `service2`), plus the other recorded traces
/// (ui_01: `service-x`/`service-y`; the genai trace; otlp2jaeger-out), which a fetch of
/// `service1` must leave alone.
fn jaeger_archive() -> FakeServer {
    let graph = jaeger_trace("jaeger-ui/traceGraph_testTrace.json");
    let mut traces: Vec<_> = (0..COPIES)
        .map(|i| {
            let shift = 1_000_000 * (i.min(COPIES - 2) as i64);
            restamp_jaeger(&graph, &trace_id(i), shift)
        })
        .collect();
    traces.push(jaeger_trace("jaeger/ui_01.json"));
    traces.push(jaeger_trace("jaeger-ui/genaiTestTrace.json"));
    traces.push(jaeger_trace("jaeger/otlp2jaeger-out.json"));
    jaeger(traces)
}

fn fetch(server_flag: &str, url: &str, service: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "fetch",
        server_flag,
        url,
        "--service",
        service,
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    tracecheck(&args, out.parent().unwrap())
}

/// A fake backend of one kind, the window its traces lie in, and a fresh folder to fetch into.
struct Setup {
    server: FakeServer,
    /// `--jaeger` or `--tempo`.
    flag: &'static str,
    window: &'static [&'static str],
    dir: TempDir,
    /// `DIR/ds`, where most fetches write (nothing is there before the first).
    ds: PathBuf,
}

impl Setup {
    fn new(flag: &'static str, window: &'static [&'static str], server: FakeServer) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ds = dir.path().join("ds");
        Setup {
            server,
            flag,
            window,
            dir,
            ds,
        }
    }

    /// [`jaeger_archive`] in [`JAEGER_WINDOW`].
    fn jaeger() -> Setup {
        Setup::new("--jaeger", &JAEGER_WINDOW, jaeger_archive())
    }

    /// `tracecheck fetch` of `service` into `out`: the window, then `extra`.
    fn fetch_into(&self, service: &str, out: &Path, extra: &[&str]) -> Output {
        fetch(
            self.flag,
            &self.server.url,
            service,
            out,
            &[self.window, extra].concat(),
        )
    }

    /// `tracecheck fetch` of `service` into `ds` with `extra` alone (no window, or the caller's).
    fn fetch_plain(&self, service: &str, extra: &[&str]) -> Output {
        fetch(self.flag, &self.server.url, service, &self.ds, extra)
    }

    /// [`Setup::fetch_into`] `ds`, which must succeed; its stderr.
    fn fetch_ok(&self, service: &str, extra: &[&str]) -> String {
        assert_ok(&self.fetch_into(service, &self.ds, extra))
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(0), "fetch failed:\n{err}");
    err
}

/// `trace_id,spans` per trace of a dataset, sorted.
fn spans_per_trace(ds: &Path) -> Vec<(String, usize)> {
    super::common::spans_per_trace(ds.parent().unwrap(), ds)
}

fn parts(ds: &Path) -> usize {
    std::fs::read_dir(ds.join("spans"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".parquet")
        })
        .count()
}

fn expected_copies() -> Vec<(String, usize)> {
    (0..COPIES).map(|i| (trace_id(i), 11)).collect()
}

#[test]
fn a_paged_jaeger_search_fetches_every_trace_exactly_once() {
    let setup = Setup::jaeger();
    let err = setup.fetch_ok("service1", &["--page-limit", "3"]);
    // Every copy, each whole (11 spans), none twice, and nothing of the other services.
    assert_eq!(spans_per_trace(&setup.ds), expected_copies());
    let searches = setup.server.requests_to("/api/traces");
    assert!(searches.len() >= COPIES / 3, "{searches:#?}");
    assert!(
        searches
            .iter()
            .all(|r| r.contains("service=service1") && r.contains("limit=3")),
        "{searches:#?}"
    );
    assert!(err.contains(&format!("fetched {COPIES} traces (242 spans)")), "{err}");
    assert!(err.contains(&format!("{} pages", searches.len())), "{err}");
    assert!(err.contains("0 retries"), "{err}");
    // The two copies sharing one start fit in a page with room to spare: nothing to warn about.
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn a_full_page_of_traces_sharing_their_times_splits_the_window() {
    // Limit 2: the last two copies have identical times, so every window holding them is full of
    // them alone. Splitting the window at their time still reaches the other copies (and the
    // earlier spans of these two), and the instants that were full are reported.
    let setup = Setup::jaeger();
    let err = setup.fetch_ok("service1", &["--page-limit", "2"]);
    assert_eq!(spans_per_trace(&setup.ds), expected_copies());
    assert!(err.contains("held more traces than --page-limit 2"), "{err}");
    assert!(err.contains("(the first at 2018-11-19T22:27:53.311Z)"), "{err}");
    let searches = setup.server.requests_to("/api/traces").len();
    // 8 instants (service1's span starts in the pair) at 3 searches each, and ordinary pages.
    assert!(searches < 60, "{searches} searches");
}

#[test]
fn an_operation_narrows_the_search() {
    let setup = Setup::jaeger();
    // `op3` of service2 exists in every copy; `nope` in none (a clear error, nothing written).
    setup.fetch_ok("service2", &["--operation", "op3"]);
    assert_eq!(spans_per_trace(&setup.ds).len(), COPIES);
    assert!(setup
        .server
        .requests_to("/api/traces")
        .iter()
        .all(|r| r.contains("operation=op3")));
    let other = setup.dir.path().join("other");
    let out = fetch(
        "--jaeger",
        &setup.server.url,
        "service2",
        &other,
        &["--operation", "op33"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no operation of service2 \"op33\""),
        "{}",
        stderr(&out)
    );
    assert!(!other.exists());
}

#[test]
fn a_server_error_is_retried_and_a_missing_page_fails_at_once() {
    let setup = Setup::jaeger();
    let server = &setup.server;
    server.fail(Failure {
        path: "/api/traces",
        status: 500,
        times: 1,
        retry_after: None,
    });
    server.fail(Failure {
        path: "/api/services",
        status: 429,
        times: 1,
        retry_after: Some("0"),
    });
    let err = setup.fetch_ok("service1", &["--page-limit", "10"]);
    assert_eq!(spans_per_trace(&setup.ds), expected_copies());
    assert!(err.contains("2 retries"), "{err}");
    assert_eq!(server.requests_to("/api/services").len(), 2, "the 429 was retried once");

    // A wrong base path: 404, not retried, exit 2, with the URL, the status and the body.
    let before = server.requests().len();
    let wrong = format!("{}/jaegr", server.url);
    let out = fetch("--jaeger", &wrong, "service1", &setup.dir.path().join("none"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{wrong}/api/services")), "{err}");
    assert!(err.contains("HTTP 404 Not Found: 404 page not found"), "{err}");
    assert_eq!(server.requests().len(), before + 1, "a 404 is not retried");
    assert!(!setup.dir.path().join("none").exists());
}

#[test]
fn retries_give_up_with_the_last_error() {
    let setup = Setup::jaeger();
    setup.server.fail(Failure {
        path: "/api/traces",
        status: 503,
        times: 100,
        retry_after: None,
    });
    let out = setup.fetch_plain("service1", &["--retries", "2"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HTTP 503 Service Unavailable: injected failure 503 (gave up after 3 attempts)"),
        "{err}"
    );
    assert_eq!(setup.server.requests_to("/api/traces").len(), 3);
}

#[test]
fn timeouts_and_refused_connections_are_retried_then_reported() {
    let setup = Setup::jaeger();
    setup.server.set_delay(Duration::from_millis(500));
    let args = ["--timeout", "100ms", "--retries", "1"];
    let out = setup.fetch_plain("service1", &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/api/services: error sending request"), "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(err.contains("(gave up after 2 attempts)"), "{err}");
    assert_eq!(setup.server.requests_to("/api/services").len(), 2);

    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = fetch("--jaeger", &url, "service1", &setup.ds, &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(err.contains("(gave up after 2 attempts)"), "{err}");
}

#[test]
fn a_second_run_continues_where_the_first_stopped() {
    let setup = Setup::jaeger();
    let ds = &setup.ds;
    let win = |end: &str| ["--start", "2018-11-19T00:00:00Z", "--end", end, "--page-limit", "4"].map(String::from);
    // The copies start at 22:27:32.979 plus i seconds: up to 22:27:42 there are 10 of them.
    let first = win("2018-11-19T22:27:42Z");
    let err = assert_ok(&setup.fetch_plain("service1", &first.each_ref().map(String::as_str)));
    assert!(err.contains("fetched 10 traces"), "{err}");
    let parts_after_first = parts(ds);

    let full = win("2018-11-20T00:00:00Z");
    let err = assert_ok(&setup.fetch_plain("service1", &full.each_ref().map(String::as_str)));
    assert!(err.contains(&format!("fetched {} traces", COPIES - 10)), "{err}");
    assert!(err.contains("10 skipped (already in the dataset)"), "{err}");
    assert_eq!(spans_per_trace(ds), expected_copies());

    // Nothing new: says so, writes nothing.
    let parts_before = parts(ds);
    assert!(parts_before > parts_after_first);
    let err = assert_ok(&setup.fetch_plain("service1", &full.each_ref().map(String::as_str)));
    assert!(
        err.contains(&format!("nothing new: the {COPIES} traces found are already in")),
        "{err}"
    );
    assert_eq!(parts(ds), parts_before);
    assert_eq!(spans_per_trace(ds), expected_copies());
}

#[test]
fn an_interrupted_run_keeps_what_it_wrote_and_the_next_one_continues() {
    let setup = Setup::jaeger();
    let (server, ds) = (&setup.server, &setup.ds);
    let args = ["--page-limit", "3", "--flush-spans", "1"];
    // A slow backend: each page takes 300 ms, so the run is stopped a few pages in.
    server.set_delay(Duration::from_millis(300));
    let child = Command::new(env!("CARGO_BIN_EXE_tracecheck"))
        .args(["fetch", "--jaeger", &server.url, "--service", "service1", "-o"])
        .arg(ds)
        .args(JAEGER_WINDOW)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("three pages to be requested", Duration::from_secs(60), || {
        (server.requests_to("/api/traces").len() >= 3).then_some(())
    });
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: fetched"), "{err}");
    assert!(err.contains("run the same command again to continue"), "{err}");
    let kept = spans_per_trace(ds);
    assert!(!kept.is_empty() && kept.len() < COPIES, "{kept:?}");
    assert!(kept.iter().all(|(_, n)| *n == 11), "whole traces only: {kept:?}");

    server.set_delay(Duration::ZERO);
    let err = setup.fetch_ok("service1", &args);
    assert!(
        err.contains(&format!("fetched {} traces", COPIES - kept.len())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} skipped (already in the dataset)", kept.len())),
        "{err}"
    );
    assert_eq!(spans_per_trace(ds), expected_copies());
}

#[test]
fn the_token_is_sent_as_a_bearer_token() {
    let setup = Setup::jaeger();
    let out = Command::new(env!("CARGO_BIN_EXE_tracecheck"))
        .args(["fetch", "--jaeger", &setup.server.url, "--service", "service1", "-o"])
        .arg(&setup.ds)
        .args(JAEGER_WINDOW)
        .env("TRACECHECK_FETCH_TOKEN", "s3cret")
        .output()
        .unwrap();
    assert_ok(&out);
    let auth = setup.server.auth_headers();
    assert!(auth.len() >= 2 && auth.iter().all(|a| a == "Bearer s3cret"), "{auth:?}");
}

/// https: a backend whose certificate a private CA signed is refused at once (no retries) with a
/// hint, and fetched with `--ca-cert` giving that CA, to the same spans as over http.
#[test]
fn https_with_a_private_ca() {
    let plain = Setup::jaeger();
    plain.fetch_ok("service1", &[]);
    let setup = Setup::new("--jaeger", &JAEGER_WINDOW, fake::https(jaeger_archive));
    let (server, dir) = (&setup.server, &setup.dir);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);

    let refused = setup.fetch_into("service1", &dir.path().join("refused"), &[]);
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--ca-cert"), "{err}");
    assert!(
        !err.contains("gave up after"),
        "an untrusted certificate is not retried: {err}"
    );
    assert!(server.requests().is_empty(), "no request passed the handshake");

    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    let out = setup.fetch_into(
        "service1",
        &dir.path().join("tls"),
        &["--ca-cert", ca.to_str().unwrap()],
    );
    assert_ok(&out);
    assert!(!server.requests().is_empty());
    let fetched = spans_per_trace(&dir.path().join("tls"));
    assert_eq!(fetched, spans_per_trace(&plain.ds));
    assert_eq!(fetched, expected_copies());

    // A file that is not a certificate is a usage error naming it.
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let args = ["--ca-cert", not_pem.to_str().unwrap()];
    let out = setup.fetch_into("service1", &dir.path().join("bad"), &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not.pem"), "{}", stderr(&out));
}

#[test]
fn an_unknown_service_is_an_error_naming_the_closest() {
    let setup = Setup::jaeger();
    let out = setup.fetch_plain("servce1", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("has no service \"servce1\""), "{err}");
    assert!(err.contains("did you mean \"service1\""), "{err}");
    assert!(!setup.ds.exists(), "nothing is written for a typo");
}

#[test]
fn check_audits_a_fetched_archive() {
    let setup = Setup::jaeger();
    let (dir, ds) = (&setup.dir, &setup.ds);
    // ui_01 (2017-01-26T21:46:31Z): service-x has a span with `error=true`.
    let out = setup.fetch_plain(
        "service-x",
        &["--start", "2017-01-26T00:00:00Z", "--end", "2017-01-27T00:00:00Z"],
    );
    let err = assert_ok(&out);
    assert!(err.contains("fetched 1 trace (5 spans)"), "{err}");
    let models = dir.path().join("audit.model");
    std::fs::write(
        &models,
        r#"
model "service-x never fails" {
    expect no span(service = "service-x", status = error)
}
model "service-x calls service-y" {
    expect span(service = "service-y")
}
"#,
    )
    .unwrap();
    let out = tracecheck(
        &["check", models.to_str().unwrap(), "--data", ds.to_str().unwrap()],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(text.contains("FAIL service-x never fails"), "{text}");
    assert!(text.contains("trace 00000000000000000000000000000001"), "{text}");
    assert!(text.contains("ok   service-x calls service-y"), "{text}");
}
