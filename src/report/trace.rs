//! What the waterfalls draw: the [`TraceTree`]s that [`crate::check::traces`] loads from a session
//! (re-exported here, where the drawing code and its users look for them), and the one unit the
//! drawings print durations in. Nothing here queries data: the caller loads the traces and hands
//! them over ([`super::html::page`], [`super::terminal::waterfall`]).
//!
//! ```
//! use tracecheck::report::trace::{format_ms, SpanRow, TraceTree};
//! let t = TraceTree::new("1".into(), vec![SpanRow { span_id: "a".into(), start: Some(0), duration: Some(1_500_000), ..Default::default() }]);
//! assert_eq!(format_ms(t.duration), "1.500ms");
//! ```

pub use crate::check::traces::{SpanRow, Tag, TraceTree};

/// Nanoseconds as milliseconds, the unit of the waterfalls (and of `display_value` for durations).
///
/// ```
/// assert_eq!(tracecheck::report::trace::format_ms(36_713_000), "36.713ms");
/// ```
pub fn format_ms(ns: i64) -> String {
    format!("{:.3}ms", ns as f64 / 1e6)
}
