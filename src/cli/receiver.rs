//! The OTLP receiver flags shared by `collect` and `watch`, and their shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracecheck::collect::{Collector, Notice};
use tracecheck::observe::Observer;

use super::duration::parse_duration;
use super::size::parse_size;

#[derive(clap::Args, Debug)]
pub struct ReceiverArgs {
    /// Address of the OTLP/gRPC receiver (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// Address of the OTLP/HTTP receiver (`POST /v1/traces`).
    #[arg(long, default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Do not receive OTLP/gRPC.
    #[arg(long)]
    no_grpc: bool,
    /// Do not receive OTLP/HTTP.
    #[arg(long)]
    no_http: bool,
    /// A trace is complete (written, checked) when no span arrived for this long.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    trace_idle: Duration,
    /// A trace still receiving spans this long after its first is complete anyway.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    trace_max_age: Duration,
    /// Spans held in memory above which exports are refused with a retryable answer.
    #[arg(long, default_value_t = 1_000_000)]
    max_buffered_spans: usize,
    /// Memory of held spans (packed, with the resource and scope attributes they share) above
    /// which exports are refused with a retryable answer (e.g. 256MB, 1GB).
    #[arg(long, default_value = "256MB", value_parser = parse_size)]
    max_buffer_memory: usize,
    /// Largest export request accepted, in bytes (after gzip inflation).
    #[arg(long, default_value_t = 16 << 20)]
    max_message_bytes: usize,
    /// Require `Authorization: Bearer TOKEN` on every export.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
}

impl ReceiverArgs {
    /// A collector configured by these flags, writing to `output`; its notices go to stderr.
    pub fn collector(self, output: PathBuf) -> Collector {
        let mut c = Collector::new(output)
            .with_notices(Observer::new(|n: &Notice| eprintln!("tracecheck: {n}")))
            .with_grpc(self.grpc)
            .with_http(self.http)
            .with_trace_idle(self.trace_idle)
            .with_trace_max_age(self.trace_max_age)
            .with_max_buffered_spans(self.max_buffered_spans)
            .with_max_buffer_bytes(self.max_buffer_memory)
            .with_max_message_bytes(self.max_message_bytes)
            .with_auth_token(self.auth_token);
        if self.no_grpc {
            c = c.without_grpc();
        }
        if self.no_http {
            c = c.without_http();
        }
        c
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is called
/// (not when the future is first polled): a signal that arrives while the collector replays its log
/// or binds is then a clean shutdown once it starts serving, not the default action (exit at once).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
