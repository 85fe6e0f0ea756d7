//! `tracecheck watch`: live checks on an OTLP stream.
//!
//! The collector's receivers and per-trace buffer ([`crate::collect`]) feed a [`CheckSink`]
//! instead of (or as well as) the dataset writer: every batch of complete traces is checked with
//! the same compiled SQL as `tracecheck check`, and each new violation is reported at once as a
//! JSON line (and to a webhook). See [`checker`](CheckSink) for the late-span rule.
//!
//! ```no_run
//! # async fn demo(files: Vec<(String, Vec<tracecheck::check::Compiled>)>) -> tracecheck::Result<()> {
//! use std::sync::Arc;
//! use tracecheck::collect::Collector;
//! use tracecheck::watch::{CheckSink, Emitter, Metrics};
//! let metrics = Arc::new(Metrics::default());
//! let emitter = Emitter::new(Box::new(std::io::stdout()), None, metrics.clone());
//! let sink = CheckSink::new(files, None, emitter, metrics);
//! let running = Collector::new("unused").bind().await?;
//! running.run_with(async { tokio::signal::ctrl_c().await.ok(); }, sink).await?;
//! # Ok(()) }
//! ```

mod checker;
mod emit;
mod metrics;
mod windows;

pub use checker::CheckSink;
pub use emit::{Emitter, Event, WebhookNotice};
pub use metrics::Metrics;
pub use windows::Windows;

pub use metrics::serve as serve_metrics;
