//! Aggregate `check` rules on a live stream: rules with `per W` are evaluated window by window,
//! in the data's time, with the same compiled SQL as `tracecheck check`.
//!
//! A window `[t, t+W)` closes when the *watermark* — the latest span end seen, minus the allowed
//! lateness — passes `t+W`; it is then evaluated over every complete trace with a span starting in
//! it (whole traces, so trace values are right), keeping the rows of that window only. Those are
//! exactly the rows `check` gives for that window, as long as no trace of it arrives after the
//! window closed (such traces are counted in `tracecheck_late_for_window_total`). Traces are kept
//! until every window they touch has closed. Rules without `per` have no window to close and are
//! not evaluated live (a warning says so).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::check::run_check;
use crate::compile::CompiledCheck;
use crate::engine::{register_raw, session};
use crate::error::Result;
use crate::ingest::{RawTables, Span, SpanSink};

use super::emit::Event;
use super::metrics::Metrics;

/// A complete trace, shared by every window size that still needs it.
struct Held {
    spans: Arc<Vec<Span>>,
    first_start: i64,
    last_start: i64,
}

/// The rules of one window size.
struct Size {
    w: i64,
    /// (file, the check block with only its rules of this size).
    checks: Vec<(String, CompiledCheck)>,
    /// Start of the next window to close; `None` until the first trace.
    next: Option<i64>,
}

/// Windowed evaluation of the `per` rules of some check blocks.
pub struct Windows {
    sizes: Vec<Size>,
    traces: HashMap<u128, Held>,
    /// Latest span end seen (ns), the data's clock.
    latest_end: i64,
    lateness: i64,
}

fn floor(t: i64, w: i64) -> i64 {
    t.div_euclid(w) * w
}

/// The window's start as the check query prints it (a UTC timestamp cast to text).
fn window_label(t: i64) -> Result<String> {
    let a = TimestampNanosecondArray::from(vec![t]).with_timezone("UTC");
    let s = cast(&a, &DataType::Utf8)?;
    Ok(s.as_string::<i32>().value(0).to_string())
}

impl Windows {
    /// Splits the blocks' rules by window size; returns the evaluator and a warning per rule
    /// without `per`.
    pub fn new(checks: Vec<(String, CompiledCheck)>, lateness_ns: i64) -> (Windows, Vec<String>) {
        let mut by_size: BTreeMap<i64, Vec<(String, CompiledCheck)>> = BTreeMap::new();
        let mut warnings = Vec::new();
        for (file, c) in checks {
            let mut per: BTreeMap<i64, Vec<_>> = BTreeMap::new();
            for r in &c.rules {
                match r.window_ns {
                    Some(w) if w > 0 => per.entry(w).or_default().push(r.clone()),
                    _ => warnings.push(format!(
                        "{file}: check \"{}\" rule {} has no `per` window and is not evaluated live: {}",
                        c.title, r.index, r.text
                    )),
                }
            }
            for (w, rules) in per {
                by_size.entry(w).or_default().push((
                    file.clone(),
                    CompiledCheck {
                        title: c.title.clone(),
                        rules,
                    },
                ));
            }
        }
        let sizes = by_size
            .into_iter()
            .map(|(w, checks)| Size { w, checks, next: None })
            .collect();
        let windows = Windows {
            sizes,
            traces: HashMap::new(),
            latest_end: i64::MIN,
            lateness: lateness_ns,
        };
        (windows, warnings)
    }

    /// Sets the allowed lateness: a window closes this long (in the data's time) after its end.
    pub fn set_lateness(&mut self, lateness_ns: i64) {
        self.lateness = lateness_ns;
    }

    /// Whether any rule is evaluated.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// Spans held for windows not closed yet.
    pub fn held_spans(&self) -> usize {
        self.traces.values().map(|h| h.spans.len()).sum()
    }

    /// Takes complete traces (a trace seen again, after late spans, is replaced whole).
    pub fn add(&mut self, traces: HashMap<u128, Vec<Span>>, metrics: &Metrics) {
        let mut batch_first = i64::MAX;
        for (id, spans) in traces {
            let starts = spans.iter().filter_map(|s| s.start_ns);
            let (Some(first), Some(last)) = (starts.clone().min(), starts.max()) else {
                continue;
            };
            if let Some(end) = spans.iter().filter_map(|s| s.end_ns).max() {
                self.latest_end = self.latest_end.max(end);
            }
            for size in &self.sizes {
                if size.next.is_some_and(|next| first < next) {
                    metrics.add_late_for_window(1);
                    break;
                }
            }
            batch_first = batch_first.min(first);
            self.traces.insert(
                id,
                Held {
                    spans: Arc::new(spans),
                    first_start: first,
                    last_start: last,
                },
            );
        }
        // The first windows start at the earliest trace of the first batch.
        if batch_first < i64::MAX {
            for size in &mut self.sizes {
                size.next.get_or_insert(floor(batch_first, size.w));
            }
        }
    }

    /// Evaluates every window the watermark has passed (all of them with `all`, at shutdown);
    /// returns an event per failing group of a closed window.
    pub async fn close(&mut self, all: bool, metrics: &Metrics) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        let watermark = self.latest_end.saturating_sub(self.lateness);
        let last_start = self.traces.values().map(|h| h.last_start).max();
        for i in 0..self.sizes.len() {
            let w = self.sizes[i].w;
            while let Some(t) = self.sizes[i].next {
                let closes = if all {
                    last_start.is_some_and(|l| t <= l)
                } else {
                    watermark >= t + w
                };
                if !closes {
                    break;
                }
                events.extend(self.evaluate(i, t).await?);
                metrics.add_window();
                self.sizes[i].next = Some(t + w);
            }
        }
        // A trace is dropped once every size has closed all the windows it touches.
        let sizes = &self.sizes;
        self.traces
            .retain(|_, h| sizes.iter().any(|s| s.next.is_none_or(|n| h.last_start >= n)));
        Ok(events)
    }

    async fn evaluate(&self, i: usize, t: i64) -> Result<Vec<Event>> {
        let size = &self.sizes[i];
        let mut raw = RawTables::new(false);
        let mut any = false;
        for h in self.traces.values() {
            if h.first_start < t + size.w && h.last_start >= t {
                for s in h.spans.iter() {
                    raw.push(s.clone())?;
                }
                any = true;
            }
        }
        if !any {
            return Ok(Vec::new());
        }
        let ctx = session();
        register_raw(&ctx, raw)?;
        let label = window_label(t)?;
        let mut events = Vec::new();
        for (file, check) in &size.checks {
            let report = run_check(check, &ctx, None).await?;
            for rule in &report.rules {
                for m in &rule.measurements {
                    if m.window_start.as_deref() == Some(label.as_str()) && !m.holds {
                        events.push(Event::check_failed(file, &check.title, rule, m));
                    }
                }
            }
        }
        Ok(events)
    }
}
