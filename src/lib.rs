//! tracecheck: trace driven testing.
//!
//! Trace files (OTLP protobuf and JSON, Jaeger JSON, Zipkin v2 JSON) are decoded into four Arrow
//! tables (`spans`, `tags`, `refs`, `logs`, see [`schema`]), stored as Parquet datasets ([`store`]),
//! and queried with SQL through Apache DataFusion ([`engine`]).
//!
//! ```no_run
//! # async fn demo() -> tracecheck::Result<()> {
//! let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let rows = ctx.sql("SELECT service, count(*) FROM spans GROUP BY 1").await?.collect().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod check;
pub mod collect;
pub mod compile;
pub mod diag;
pub mod engine;
pub mod error;
pub mod export;
pub mod fetch;
pub mod ingest;
#[cfg(test)]
mod layers_test;
pub mod model;
pub mod net;
pub mod observe;
pub mod pipeline;
pub mod report;
pub mod schema;
pub mod store;
pub mod suggest;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
pub mod traceql;
pub mod watch;
pub mod workload;

pub use error::{Error, Result, Setting};
