//! A bound collector serving: the loop that hands complete traces to the sink every tick, and
//! shutdown (stop intake, drain the buffer a sink's load at a time, release the log).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::notice::Notice;
use super::sink::{DatasetSink, TraceSink};
use super::stats::{CollectStats, Intake, IntakeStats};
use super::wal::{self, LogCounts, Wal};
use super::writer::DatasetWriter;
use super::{grpc, http, Collector, Shared};
use crate::error::{Error, Result};
use crate::store::Dataset;

/// How often the buffer is scanned for complete traces.
const TICK: Duration = Duration::from_millis(100);

/// How long shutdown waits for in-flight requests and open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound collector: its addresses are known; [`Running::run_until`] serves.
pub struct Running {
    pub(super) config: Collector,
    pub(super) grpc: Option<TcpListener>,
    pub(super) http: Option<TcpListener>,
    pub(super) shared: Arc<Shared>,
}

impl Running {
    /// The bound OTLP/gRPC address.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound OTLP/HTTP address.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A live view of the intake counters (for metrics while running).
    pub fn intake(&self) -> Intake {
        Intake(self.shared.clone())
    }

    /// Serves until `shutdown` completes, then stops taking requests (in-flight ones finish and
    /// are acknowledged), writes every buffered span to the dataset and returns what was done.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<CollectStats> {
        let dataset = Dataset::create_or_open(&self.config.output)?;
        let sink = DatasetSink::new(
            DatasetWriter::new(dataset, self.config.roll_spans),
            self.config.roll_interval,
        );
        let (intake, sink) = self.run_with(shutdown, sink).await?;
        let written = sink.written();
        Ok(CollectStats {
            requests: intake.requests,
            spans_accepted: intake.spans_accepted,
            spans_invalid: intake.spans_invalid,
            requests_refused: intake.requests_refused,
            spans_written: written.spans,
            traces_written: written.traces,
            files_written: written.files,
            spans_replayed: intake.spans_replayed,
        })
    }

    /// Serves until `shutdown` completes, handing complete traces to `sink`; at shutdown every
    /// buffered span goes to the sink, whose last [`TraceSink::tick`] must finish with them.
    pub async fn run_with<S: TraceSink>(
        self,
        shutdown: impl Future<Output = ()>,
        mut sink: S,
    ) -> Result<(IntakeStats, S)> {
        let Running {
            config,
            grpc,
            http,
            shared,
        } = self;
        let notify = |n: Notice| {
            if let Some(o) = &config.notices {
                o.notify(&n);
            }
        };
        // The log first: what an earlier run acknowledged goes back into the buffer before
        // anything new is received.
        let mut replayed = 0;
        if let Some(dataset) = sink.dataset_path() {
            let (log, r) = Wal::open(dataset)?;
            replayed = r.spans();
            if replayed > 0 || r.torn_bytes > 0 {
                notify(Notice::Replayed {
                    dataset: dataset.to_path_buf(),
                    spans: replayed,
                    already_stored: r.already_stored,
                    torn_bytes: r.torn_bytes,
                });
            }
            let mut buffer = shared.buffer.lock().expect("buffer lock");
            for (seg, spans) in r.segments {
                buffer.insert(spans, Some(seg), Instant::now());
            }
            drop(buffer);
            let _ = shared.log.set(log);
        }
        // Log counts of the spans handed to the sink and not yet stored.
        let mut handed = LogCounts::new();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut servers = Vec::new();
        if let Some(l) = grpc {
            servers.push(tokio::spawn(grpc::serve(l, shared.clone(), stopped())));
        }
        if let Some(l) = http {
            servers.push(tokio::spawn(http::serve(l, shared.clone(), stopped())));
        }
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(TICK) => {}
            }
            let complete = {
                let mut buffer = shared.buffer.lock().expect("buffer lock");
                let complete =
                    buffer.take_complete_up_to(Instant::now(), config.trace_idle, config.trace_max_age, sink.room());
                wal::merge_counts(&mut handed, buffer.take_logged());
                complete
            };
            sink.add(complete);
            match sink.tick(false).await {
                Ok(released) => {
                    shared.buffer.lock().expect("buffer lock").release(released);
                    release_log(&shared, &sink, &mut handed);
                }
                // The sink keeps what it could not finish and tries again; meanwhile the spans
                // count as held, so intake slows down instead of memory growing.
                Err(e) => notify(Notice::SinkFailed(e)),
            }
            if let Some(e) = shared.stats.last_log_error.lock().expect("log error").take() {
                notify(Notice::LogFailed(e));
            }
        }
        // Stop intake: the listeners close, requests already inside a handler finish (their spans
        // are in the buffer when they are acknowledged). A client that holds its connection open
        // past the grace period is cut off.
        let _ = stop_tx.send(true);
        for s in servers {
            match tokio::time::timeout(SHUTDOWN_GRACE, s).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => notify(Notice::ReceiverFailed(e)),
                Ok(Err(e)) => notify(Notice::ReceiverTask(e.to_string())),
                Err(_) => notify(Notice::ReceiverSlow(SHUTDOWN_GRACE)),
            }
        }
        // Closing under the lock: a request either got in before (and reaches the sink below) or
        // is refused (and was never acknowledged). Then the buffer drains a sink's load at a time.
        {
            let _buffer = shared.buffer.lock().expect("buffer lock");
            shared.accepting.store(false, Ordering::SeqCst);
        }
        let last = loop {
            let rest = {
                let mut buffer = shared.buffer.lock().expect("buffer lock");
                let rest = buffer.take_up_to(sink.room());
                wal::merge_counts(&mut handed, buffer.take_logged());
                rest
            };
            sink.add(rest);
            let done = sink.tick(true).await;
            let mut buffer = shared.buffer.lock().expect("buffer lock");
            match done {
                Ok(released) => buffer.release(released),
                Err(e) => break Err((e, buffer.held_spans())),
            }
            if buffer.open_traces() == 0 {
                break Ok(());
            }
        };
        if last.is_ok() {
            release_log(&shared, &sink, &mut handed);
        }
        if let Some(log) = shared.log.get() {
            log.close();
        }
        if let Err((e, held)) = last {
            return Err(Error::Dataset {
                path: config.output.clone(),
                message: format!(
                    "{held} acknowledged spans could not be handled at shutdown (they stay in the log \
                     and are stored at the next start): {e}"
                ),
            });
        }
        let mut stats = Intake(shared).stats();
        stats.spans_replayed = replayed;
        Ok((stats, sink))
    }
}

/// Once the sink has stored everything handed to it, the log may drop those spans.
fn release_log(shared: &Shared, sink: &impl TraceSink, handed: &mut LogCounts) {
    if let Some(log) = shared.log.get()
        && sink.unstored() == 0
        && !handed.is_empty()
    {
        log.release(handed);
        handed.clear();
    }
}
