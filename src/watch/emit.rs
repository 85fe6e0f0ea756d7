//! Violation events: JSON lines on stdout or in a file, and batches POSTed to a webhook.
//!
//! The webhook never slows the checker: events go to a bounded queue served by its own task,
//! which retries with exponential backoff; when the queue is full, the batch is dropped and
//! counted (`tracecheck_webhook_dropped_total`). The JSON lines are the record of truth. A batch
//! the webhook refused or kept failing is told to the observer of [`Emitter::with_notices`].

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::metrics::Metrics;
use crate::check::{Measurement, RuleReport, Violation};
use crate::observe::Observer;

/// Batches waiting for the webhook.
const WEBHOOK_QUEUE: usize = 1024;
/// Attempts per batch.
const WEBHOOK_ATTEMPTS: u32 = 5;

/// One event (a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Event(pub Value);

fn now_rfc3339() -> String {
    // UTC, milliseconds, `Z`: `2026-01-01T00:00:04.534Z`.
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now()).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn assignment_json(a: &[(String, String)]) -> Value {
    Value::Object(a.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

impl Event {
    /// A new violation; `latency` is the time from the trace's completion to this report.
    pub fn violation(file: &str, v: &Violation, recheck: bool, latency: Duration) -> Event {
        Event(json!({
            "event": "violation",
            "time": now_rfc3339(),
            "file": file,
            "model": v.model,
            "clause": v.clause,
            "trace_id": v.trace_id,
            "assignment": assignment_json(&v.assignment),
            "matched": v.matched,
            "witnesses": v.witnesses,
            "recheck": recheck,
            "latency_ms": latency.as_secs_f64() * 1000.0,
        }))
    }

    /// A failing group of a closed window of a `check` rule.
    pub fn check_failed(
        file: &str,
        check: &str,
        rule: &RuleReport,
        m: &Measurement,
        window_ns: i64,
        early: bool,
    ) -> Event {
        let mut e = json!({
            "event": "check",
            "time": now_rfc3339(),
            "file": file,
            "check": check,
            "rule": rule.index,
            "text": rule.text,
            "window_start": m.window_start,
            "window_seconds": window_ns as f64 / 1e9,
            "group": assignment_json(&m.group),
            "value": m.value,
            "threshold": m.threshold,
            "n": m.n,
        });
        if early {
            // Evaluated before the watermark passed it, to bound memory: later traces missed it.
            e["early"] = json!(true);
        }
        Event(e)
    }

    /// A violation reported earlier that no longer holds once late spans arrived.
    pub fn resolved(model: &str, clause: usize, trace_id: &str, assignment: &[(String, String)]) -> Event {
        Event(json!({
            "event": "resolved",
            "time": now_rfc3339(),
            "model": model,
            "clause": clause,
            "trace_id": trace_id,
            "assignment": assignment_json(assignment),
        }))
    }
}

/// A batch of events the webhook did not take (besides those dropped because its queue was full,
/// which are only counted): the batch is dropped and counted.
///
/// ```
/// use tracecheck::watch::WebhookNotice;
/// let n = WebhookNotice::Refused { url: "http://hook/".into(), status: 404 };
/// assert_eq!(n.to_string(), "webhook http://hook/ answered 404 Not Found; batch dropped");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookNotice {
    /// The webhook answered with a status not worth retrying (neither 429 nor 5xx).
    Refused {
        /// The webhook.
        url: String,
        /// Its HTTP status.
        status: u16,
    },
    /// Every attempt failed (connection errors, 429 or 5xx).
    GaveUp {
        /// The webhook.
        url: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl fmt::Display for WebhookNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookNotice::Refused { url, status } => match reqwest::StatusCode::from_u16(*status) {
                Ok(s) => write!(f, "webhook {url} answered {s}; batch dropped"),
                Err(_) => write!(f, "webhook {url} answered {status}; batch dropped"),
            },
            WebhookNotice::GaveUp { url, attempts } => {
                write!(f, "webhook {url} failed {attempts} times; batch dropped")
            }
        }
    }
}

/// Writes events as JSON lines and hands them to the webhook task.
pub struct Emitter {
    out: Box<dyn Write + Send>,
    webhook: Option<Webhook>,
    metrics: Arc<Metrics>,
    notices: Option<Observer<WebhookNotice>>,
}

/// The webhook's address, and its task's queue once the first batch started it.
struct Webhook {
    url: String,
    queue: Option<mpsc::Sender<Vec<Event>>>,
}

impl Emitter {
    /// Events to `out` (one JSON object per line, flushed per batch), and to `webhook` if given.
    pub fn new(out: Box<dyn Write + Send>, webhook: Option<String>, metrics: Arc<Metrics>) -> Emitter {
        Emitter {
            out,
            webhook: webhook.map(|url| Webhook { url, queue: None }),
            metrics,
            notices: None,
        }
    }

    /// Tells `observer` of each batch the webhook refused or kept failing (see [`WebhookNotice`]);
    /// without an observer they are only counted.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use std::sync::Arc;
    /// use tracecheck::observe::Observer;
    /// use tracecheck::watch::{Emitter, Metrics, WebhookNotice};
    /// let emitter = Emitter::new(Box::new(std::io::stdout()), Some("http://hook/".into()), Arc::new(Metrics::default()))
    ///     .with_notices(Observer::new(|n: &WebhookNotice| eprintln!("{n}")));
    /// # drop(emitter);
    /// # }
    /// ```
    pub fn with_notices(mut self, observer: Observer<WebhookNotice>) -> Self {
        self.notices = Some(observer);
        self
    }

    /// Emits a batch (nothing for an empty one).
    pub fn emit(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        for e in &events {
            // A closed stdout must not stop intake or checking; the metrics still count.
            let _ = writeln!(self.out, "{}", e.0);
        }
        let _ = self.out.flush();
        if let Some(webhook) = &mut self.webhook {
            // The task starts with the first batch (inside the runtime that checks the traces).
            let queue = webhook.queue.get_or_insert_with(|| {
                let (tx, rx) = mpsc::channel(WEBHOOK_QUEUE);
                tokio::spawn(post_batches(
                    webhook.url.clone(),
                    rx,
                    self.metrics.clone(),
                    self.notices.clone(),
                ));
                tx
            });
            if queue.try_send(events).is_err() {
                self.metrics.add_webhook_dropped(1);
            }
        }
    }
}

/// POSTs each batch as a JSON array; retries connection errors, 429 and 5xx with backoff.
async fn post_batches(
    url: String,
    mut rx: mpsc::Receiver<Vec<Event>>,
    metrics: Arc<Metrics>,
    notices: Option<Observer<WebhookNotice>>,
) {
    let notify = |n: WebhookNotice| {
        if let Some(o) = &notices {
            o.notify(&n);
        }
    };
    let client = crate::net::client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    while let Some(batch) = rx.recv().await {
        let body = Value::Array(batch.into_iter().map(|e| e.0).collect()).to_string();
        let mut delay = Duration::from_millis(100);
        let mut delivered = false;
        for attempt in 1..=WEBHOOK_ATTEMPTS {
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => {
                    delivered = true;
                    break;
                }
                Ok(r) if !(r.status().is_server_error() || r.status() == 429) => {
                    notify(WebhookNotice::Refused {
                        url: url.clone(),
                        status: r.status().as_u16(),
                    });
                    break;
                }
                _ if attempt < WEBHOOK_ATTEMPTS => {
                    metrics.add_webhook_retry();
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                _ => notify(WebhookNotice::GaveUp {
                    url: url.clone(),
                    attempts: WEBHOOK_ATTEMPTS,
                }),
            }
        }
        if delivered {
            metrics.add_webhook_sent(1);
        } else {
            metrics.add_webhook_dropped(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook answering 404 is not retried: the batch is dropped, counted, and told to the
    /// observer, never printed.
    #[tokio::test]
    async fn a_refused_batch_is_a_notice_to_the_observer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 64 << 10];
            let _ = conn.read(&mut request).await;
            let _ = conn
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let metrics = Arc::new(Metrics::default());
        let mut emitter = Emitter::new(Box::new(std::io::sink()), Some(url.clone()), metrics.clone()).with_notices(
            Observer::new(move |n: &WebhookNotice| {
                let _ = tx.send(n.clone());
            }),
        );
        emitter.emit(vec![Event(json!({"event": "violation"}))]);
        let notice = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("a notice within 30 s")
            .expect("the observer is alive");
        assert_eq!(notice, WebhookNotice::Refused { url, status: 404 });
        assert!(
            notice.to_string().ends_with("answered 404 Not Found; batch dropped"),
            "{notice}"
        );
        let text = metrics.render(None);
        assert!(text.contains("tracecheck_webhook_dropped_total 1"), "{text}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_milliseconds() {
        let t = now_rfc3339();
        assert_eq!(t.len(), "2026-01-01T00:00:04.534Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok(), "{t}");
    }
}
