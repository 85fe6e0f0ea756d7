//! Fake trace backends on 127.0.0.1 for the `fetch` tests: a real HTTP server (axum) that answers
//! Jaeger's query API and Tempo's search and trace-by-id API from recorded fixture traces, keeps a
//! log of the requests, and can be told to fail some of them.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::it::common::fixtures;

thread_local! {
    /// Servers started on this thread while set serve https (see [`https`]).
    static HTTPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts the server that `start` makes over https, with the certificate in `tests/fixtures/tls`
/// (signed by the private CA `ca.pem` there, for 127.0.0.1 and localhost).
pub fn https(start: impl FnOnce() -> FakeServer) -> FakeServer {
    HTTPS.with(|h| h.set(true));
    let server = start();
    HTTPS.with(|h| h.set(false));
    server
}

/// The test server's TLS: its certificate and key from `tests/fixtures/tls`.
fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    tracecheck::net::install_crypto();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// Serves `router` over TLS until `stop`; a failed handshake (a client that does not trust the
/// certificate) ends only its own connection.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: Arc<rustls::ServerConfig>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        }
    }
}

/// A planned failure: requests whose path starts with `path` answer `status` (`times` times).
pub struct Failure {
    pub path: &'static str,
    pub status: u16,
    pub times: usize,
    pub retry_after: Option<&'static str>,
}

/// What a backend answers: status, and a JSON body.
type Answer = (u16, String);

/// A backend's routes: path and query pairs to an answer.
type Routes = Box<dyn Fn(&str, &[(String, String)]) -> Answer + Send + Sync>;

struct App {
    routes: Routes,
    log: Mutex<Vec<String>>,
    /// The `Authorization` header of each request ("" when absent).
    auth: Mutex<Vec<String>>,
    failures: Mutex<Vec<Failure>>,
    /// Milliseconds each answer waits (0: none).
    delay_ms: AtomicU64,
}

/// A running fake backend; stops when dropped.
pub struct FakeServer {
    pub url: String,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeServer {
    fn start(routes: Routes) -> FakeServer {
        let tls = HTTPS.with(|h| h.get()).then(tls_config);
        Self::start_with(routes, tls)
    }

    fn start_with(routes: Routes, tls: Option<Arc<rustls::ServerConfig>>) -> FakeServer {
        let app = Arc::new(App {
            routes,
            log: Mutex::new(Vec::new()),
            auth: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            delay_ms: AtomicU64::new(0),
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&app);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let router = axum::Router::new().fallback(handle).with_state(state);
                match tls {
                    None => axum::serve(listener, router)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await
                        .unwrap(),
                    Some(config) => serve_tls(listener, router, config, stop_rx).await,
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        FakeServer {
            url: format!("{scheme}://{addr}"),
            app,
            stop: Some(stop_tx),
        }
    }

    /// Makes requests fail as planned (before answering them).
    pub fn fail(&self, failure: Failure) {
        self.app.failures.lock().unwrap().push(failure);
    }

    /// Makes every answer wait this long from now on (a slow backend).
    pub fn set_delay(&self, delay: Duration) {
        self.app.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The `Authorization` header of every request so far ("" when absent).
    pub fn auth_headers(&self) -> Vec<String> {
        self.app.auth.lock().unwrap().clone()
    }

    /// Every request so far (`path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.app.log.lock().unwrap().clone()
    }

    /// Requests whose path starts with `path`.
    pub fn requests_to(&self, path: &str) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.starts_with(path)).collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path().to_string();
    app.log.lock().unwrap().push(uri.to_string());
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_string());
    app.auth.lock().unwrap().push(auth.unwrap_or_default());
    let delay = app.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        // The injected slowness of `set_delay` (what a test asks for), not synchronisation.
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    {
        let mut failures = app.failures.lock().unwrap();
        if let Some(f) = failures.iter_mut().find(|f| f.times > 0 && path.starts_with(f.path)) {
            f.times -= 1;
            let status = StatusCode::from_u16(f.status).unwrap();
            let body = format!("injected failure {}", f.status);
            return match f.retry_after {
                Some(after) => (status, [("retry-after", after)], body).into_response(),
                None => (status, body).into_response(),
            };
        }
    }
    let query: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x{uri}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (status, body) = (app.routes)(&path, &query);
    let status = StatusCode::from_u16(status).unwrap();
    (status, [("content-type", "application/json")], body).into_response()
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn not_found() -> Answer {
    (404, "404 page not found".into())
}

/// A fixture file as JSON.
pub fn load(rel: &str) -> Value {
    let path = fixtures().join(rel);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Jaeger

/// A Jaeger trace object from a fixture: the file's trace, or the first of its `data` envelope.
pub fn jaeger_trace(rel: &str) -> Value {
    let v = load(rel);
    match v.get("data") {
        Some(data) => data[0].clone(),
        None => v,
    }
}

/// A copy of a Jaeger trace under another id, every time moved by `shift_us`.
pub fn restamp_jaeger(trace: &Value, trace_id: &str, shift_us: i64) -> Value {
    let mut t = trace.clone();
    let old = t["traceID"].as_str().unwrap().to_string();
    t["traceID"] = json!(trace_id);
    for span in t["spans"].as_array_mut().unwrap() {
        span["traceID"] = json!(trace_id);
        span["startTime"] = json!(span["startTime"].as_i64().unwrap() + shift_us);
        for r in span["references"].as_array_mut().into_iter().flatten() {
            if r["traceID"].as_str() == Some(&old) {
                r["traceID"] = json!(trace_id);
            }
        }
        for log in span["logs"].as_array_mut().into_iter().flatten() {
            log["timestamp"] = json!(log["timestamp"].as_i64().unwrap() + shift_us);
        }
    }
    t
}

fn jaeger_services(t: &Value) -> Vec<(String, &Value)> {
    t["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let pid = s["processID"].as_str().unwrap();
            (t["processes"][pid]["serviceName"].as_str().unwrap().to_string(), s)
        })
        .collect()
}

/// Jaeger's query API over `traces`: a search returns, of the traces with a span of the service
/// (and operation) starting in the window, the `limit` with the latest such span (ties by id).
pub fn jaeger(traces: Vec<Value>) -> FakeServer {
    let envelope = |data: Value| json!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": null}).to_string();
    FakeServer::start(Box::new(move |path, query| {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["api", "services"] => {
                let names: BTreeSet<String> = traces.iter().flat_map(|t| jaeger_services(t)).map(|(s, _)| s).collect();
                (200, envelope(json!(names)))
            }
            ["api", "services", service, "operations"] => {
                let ops: BTreeSet<String> = traces
                    .iter()
                    .flat_map(|t| jaeger_services(t))
                    .filter(|(s, _)| s == service)
                    .map(|(_, span)| span["operationName"].as_str().unwrap().to_string())
                    .collect();
                (200, envelope(json!(ops)))
            }
            ["api", "traces"] => {
                let service = param(query, "service").unwrap();
                let operation = param(query, "operation");
                let num = |k: &str| param(query, k).unwrap().parse::<i64>().unwrap();
                let (start, end, limit) = (num("start"), num("end"), num("limit") as usize);
                let mut hits: Vec<(i64, &str, &Value)> = traces
                    .iter()
                    .filter_map(|t| {
                        let latest = jaeger_services(t)
                            .into_iter()
                            .filter(|(s, span)| s == service && operation.is_none_or(|o| span["operationName"] == o))
                            .map(|(_, span)| span["startTime"].as_i64().unwrap())
                            .filter(|st| (start..=end).contains(st))
                            .max()?;
                        Some((latest, t["traceID"].as_str().unwrap(), t))
                    })
                    .collect();
                hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                let data: Vec<Value> = hits.into_iter().take(limit).map(|h| h.2.clone()).collect();
                (200, envelope(json!(data)))
            }
            _ => not_found(),
        }
    }))
}

// ---------------------------------------------------------------------------------------------
// Tempo

/// An OTLP JSON trace fixture with every time moved by `shift_s` seconds.
pub fn restamp_otlp(rel: &str, shift_s: i64) -> Value {
    let mut v = load(rel);
    let shift = |x: &mut Value| {
        let ns: i128 = x
            .as_str()
            .map(|s| s.parse().unwrap())
            .unwrap_or_else(|| x.as_i64().unwrap().into());
        *x = json!((ns + i128::from(shift_s) * 1_000_000_000).to_string());
    };
    for rs in v["resourceSpans"].as_array_mut().unwrap() {
        for ss in rs["scopeSpans"].as_array_mut().unwrap() {
            for span in ss["spans"].as_array_mut().unwrap() {
                shift(&mut span["startTimeUnixNano"]);
                shift(&mut span["endTimeUnixNano"]);
                for e in span["events"].as_array_mut().into_iter().flatten() {
                    shift(&mut e["timeUnixNano"]);
                }
            }
        }
    }
    v
}

/// A trace held by the fake Tempo: its OTLP JSON, and whether it is gone by the time it is asked for.
pub struct TempoTrace {
    pub otlp: Value,
    pub gone: bool,
}

fn otlp_spans(otlp: &Value) -> impl Iterator<Item = (&str, &Value)> {
    otlp["resourceSpans"].as_array().unwrap().iter().flat_map(|rs| {
        let service = rs["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or("");
        rs["scopeSpans"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(move |ss| ss["spans"].as_array().unwrap().iter().map(move |s| (service, s)))
    })
}

fn otlp_trace_id(otlp: &Value) -> u128 {
    let (_, span) = otlp_spans(otlp).next().unwrap();
    u128::from_str_radix(span["traceId"].as_str().unwrap(), 16).unwrap()
}

fn nanos(v: &Value) -> i128 {
    v.as_str().unwrap().parse().unwrap()
}

/// Parses Tempo's logfmt tags (`k=v`, `k="v w"`).
fn logfmt(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ' ').collect();
        }
        out.push((key, value));
    }
}

/// Tempo's API over `traces`: a search returns, of the traces of the service (and span name) that
/// overlap the window (seconds), the first `limit` it finds — in storage order (here the oldest
/// first), not the most recent, as Tempo does; trace ids lose their leading zeros, as Tempo prints
/// them. Trace bodies rotate through Tempo's three shapes.
pub fn tempo(traces: Vec<TempoTrace>) -> FakeServer {
    FakeServer::start(Box::new(move |path, query| {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["api", "search", "tag", "service.name", "values"] => {
                let names: BTreeSet<&str> = traces
                    .iter()
                    .flat_map(|t| otlp_spans(&t.otlp))
                    .map(|(s, _)| s)
                    .collect();
                (200, json!({ "tagValues": names }).to_string())
            }
            ["api", "search"] => {
                let tags = logfmt(param(query, "tags").unwrap());
                let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
                let service = tag("service.name").unwrap();
                let name = tag("name");
                let num = |k: &str| i128::from(param(query, k).unwrap().parse::<i64>().unwrap());
                let (start, end, limit) = (num("start") * 1_000_000_000, num("end") * 1_000_000_000, num("limit"));
                let mut hits: Vec<(i128, u128)> = traces
                    .iter()
                    .filter(|t| {
                        otlp_spans(&t.otlp).any(|(s, span)| s == service && name.is_none_or(|n| span["name"] == n))
                    })
                    .filter_map(|t| {
                        let first = otlp_spans(&t.otlp).map(|(_, s)| nanos(&s["startTimeUnixNano"])).min()?;
                        let last = otlp_spans(&t.otlp).map(|(_, s)| nanos(&s["endTimeUnixNano"])).max()?;
                        (first <= end && last >= start).then(|| (first, otlp_trace_id(&t.otlp)))
                    })
                    .collect();
                hits.sort();
                let found: Vec<Value> = hits
                    .iter()
                    .take(limit as usize)
                    .map(|(first, id)| {
                        json!({"traceID": format!("{id:x}"), "rootServiceName": service,
                               "startTimeUnixNano": first.to_string(), "durationMs": 1})
                    })
                    .collect();
                (
                    200,
                    json!({"traces": found, "metrics": {"inspectedTraces": traces.len()}}).to_string(),
                )
            }
            ["api", "traces", id] => {
                let id = u128::from_str_radix(id, 16).unwrap();
                let Some((i, t)) = traces.iter().enumerate().find(|(_, t)| otlp_trace_id(&t.otlp) == id) else {
                    return not_found();
                };
                if t.gone {
                    return (404, "trace not found".into());
                }
                let list = t.otlp["resourceSpans"].clone();
                let body = match i % 3 {
                    0 => json!({ "batches": list }),
                    1 => json!({"trace": {"resourceSpans": list}, "status": "complete"}),
                    _ => json!({ "resourceSpans": list }),
                };
                (200, body.to_string())
            }
            _ => not_found(),
        }
    }))
}

/// The OTLP JSON trace files of the Jaeger storage integration suite, by name.
pub fn integration_traces(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}
