//! Checking models from `cargo test`: capture the spans the code under test makes, in process, and
//! check models against them.
//!
//! - [`SpanCapture`] is an OpenTelemetry SDK span exporter keeping finished spans in memory, in the
//!   same form as every other input (the `spans`, `tags`, `refs` and `logs` tables). Each test makes
//!   its own capture and tracer provider ([`SpanCapture::tracer_provider`]), so parallel tests never
//!   see each other's spans. Code instrumented with `tracing` is captured through
//!   `tracing-opentelemetry` with a tracer of that provider.
//! - [`check`] runs models on the captured spans and returns the same [`Report`](crate::check::Report)
//!   as `tracecheck check`.
//! - [`assert_holds!`](crate::assert_holds) and [`assert_violates!`](crate::assert_violates) (or the
//!   methods of the same names) fail a test with a message a person reads in one look: the failing
//!   model with its failing clauses marked, and each violating trace drawn as a tree of spans with
//!   the tags the model mentions and the witness spans marked ([`Failure`]).
//! - Models come from a `.model` file (a path relative to the crate being tested), from text
//!   ([`Models::parse`]) or from the Rust builder ([`crate::model::builder`]); see [`IntoModels`].
//!
//! The seed's unit test, in short (the full one, with the bank's code, is `tests/it/seed_unit.rs`):
//!
//! ```
//! use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
//! use opentelemetry::KeyValue;
//! use opentelemetry_sdk::trace::SdkTracer;
//! use tracecheck::testing::{Models, SpanCapture};
//!
//! /// The code under test: refuses a withdrawal the balance does not cover, unless the check is off.
//! fn withdraw(tracer: &SdkTracer, balance: i64, amount: i64, check_balance: bool) -> u16 {
//!     tracer.in_span("withdrawal", |cx| {
//!         cx.span().set_attribute(KeyValue::new("amount", amount));
//!         tracer.in_span("fetch-balance", |cx| cx.span().set_attribute(KeyValue::new("amount", balance)));
//!         let refused = check_balance && amount > balance;
//!         tracer.in_span(if refused { "rollback" } else { "commit" }, |_| {});
//!         if refused { 500 } else { 200 }
//!     })
//! }
//!
//! # async fn f() {
//! let rule = Models::parse(r#"
//!     model "Accounts cannot withdraw more than their balance" {
//!         when span(name = "fetch-balance").tag("amount") < span(name = "withdrawal").tag("amount")
//!         expect span(name = "rollback")
//!         expect no span(name = "commit")
//!     }"#).unwrap();
//!
//! let capture = SpanCapture::new().with_service_name("bank");
//! let tracer = capture.tracer_provider().tracer("bank");
//! assert_eq!(withdraw(&tracer, 300, 500, true), 500);
//! tracecheck::assert_holds!(&rule, &capture);
//!
//! // With the balance check off, the rule breaks: the message marks the failing clauses and draws
//! // the trace with the tags the rule mentions and the witness marked.
//! let capture = SpanCapture::new().with_service_name("bank");
//! withdraw(&capture.tracer_provider().tracer("bank"), 300, 500, false);
//! let failure = tracecheck::testing::try_assert_holds(&rule, &capture).await.unwrap_err();
//! let message = failure.message();
//! assert!(message.contains("✗ clause 2"), "{message}");
//! assert!(message.contains("fetch-balance  bank"), "{message}");
//! assert!(message.contains("amount=300"), "{message}");
//! assert!(message.contains("◀ witness of clause 2"), "{message}");
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(f());
//! ```

mod capture;
mod convert;
mod fields;
mod message;
mod models;
mod style;
mod tree;
mod verdict;

pub use capture::{SpanCapture, DEFAULT_SERVICE_NAME};
pub use models::{IntoModels, Models};
pub use verdict::{check, try_assert_holds, try_assert_violates, verdict_on_spans, Expect, Failure};
