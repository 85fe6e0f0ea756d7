//! Aggregate `check` rules on a live stream, over sliding windows in the data's time, with the
//! same compiled SQL as `tracecheck check`.
//!
//! A rule `per W` is evaluated over the window `[t-W, t)` for every `t` on a grid of the slide `S`
//! (`--check-every`, at most `W`; with `S = W` the windows are exactly `check`'s). A rule without
//! `per` is measured the same way over windows of `--check-window`, since a stream has no "whole
//! data". A window is evaluated when the *watermark* — the latest span end seen, minus the allowed
//! lateness — passes its end, over every complete trace with a span starting in it (whole traces,
//! so trace values are right), keeping the rows of that window only: the rule is compiled with its
//! buckets starting at the window's start (`CompiledRule::windowed`), so the window is one bucket.
//! Those are exactly the rows `check` gives for that window, as long as no trace of it arrives
//! after it closed (such traces are counted in `tracecheck_late_for_window_total`). The first
//! window starts on the slide grid at or before the first span, so less than one slide of it lies
//! before the stream began. Traces are kept until every window they touch has closed.

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

/// The rules of one window size and slide.
struct Size {
    w: i64,
    slide: i64,
    /// (file, the check block with only its rules of this size).
    checks: Vec<(String, CompiledCheck)>,
    /// Start of the next window to close; `None` until the first trace.
    next: Option<i64>,
    /// Whether a window of this size was evaluated yet.
    evaluated: bool,
    /// `checks` compiled for windows starting at an offset (ns past a multiple of `w`). A slide
    /// that divides the window gives `w / slide` offsets, so windows after the first few reuse
    /// their plan's SQL instead of compiling it again.
    at_offset: HashMap<i64, Arc<Vec<(String, CompiledCheck)>>>,
}

/// At most this many offsets are kept compiled per window size (a slide that does not divide the
/// window can give many; past this the cache starts again).
const MAX_OFFSETS: usize = 64;

/// Windowed evaluation of the rules of some check blocks.
pub struct Windows {
    checks: Vec<(String, CompiledCheck)>,
    /// The window of rules without `per`, and the slide (ns).
    window: i64,
    slide: i64,
    sizes: Vec<Size>,
    traces: HashMap<u128, Held>,
    /// Spans in `traces`, and the most it may hold before windows close early.
    held: usize,
    max_held: usize,
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
    /// The evaluator of the blocks' rules: windows of 1 minute for rules without `per`, a slide of
    /// 10 seconds, 5 seconds of lateness until set otherwise.
    pub fn new(checks: Vec<(String, CompiledCheck)>) -> Windows {
        let mut windows = Windows {
            checks,
            window: 60_000_000_000,
            slide: 10_000_000_000,
            sizes: Vec::new(),
            traces: HashMap::new(),
            held: 0,
            max_held: 1_000_000,
            latest_end: i64::MIN,
            lateness: 5_000_000_000,
        };
        windows.group();
        windows
    }

    /// The window (ns) of rules without `per`.
    pub fn set_window(&mut self, window_ns: i64) {
        self.window = window_ns.max(1);
        self.group();
    }

    /// How far (ns) windows slide between evaluations (at most a rule's window).
    pub fn set_slide(&mut self, slide_ns: i64) {
        self.slide = slide_ns.max(1);
        self.group();
    }

    /// Splits the rules by window size: `per W` rules slide by `min(slide, W)`, rules without
    /// `per` are measured over windows of `window`.
    fn group(&mut self) {
        let mut by_size: BTreeMap<(i64, i64), Vec<(String, CompiledCheck)>> = BTreeMap::new();
        for (file, c) in &self.checks {
            let mut per: BTreeMap<(i64, i64), Vec<_>> = BTreeMap::new();
            for r in &c.rules {
                let w = r.window_ns.filter(|w| *w > 0).unwrap_or(self.window);
                per.entry((w, self.slide.min(w))).or_default().push(r.clone());
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
        self.sizes = by_size
            .into_iter()
            .map(|((w, slide), checks)| Size {
                w,
                slide,
                checks,
                next: None,
                evaluated: false,
                at_offset: HashMap::new(),
            })
            .collect();
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
        self.held
    }

    /// At most this many spans are held for open windows: beyond it, the oldest windows are
    /// evaluated before the watermark passes them (counted, and marked `"early"` in events).
    pub fn set_max_spans(&mut self, spans: usize) {
        self.max_held = spans.max(1);
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
            self.held += spans.len();
            let held = Held {
                spans: Arc::new(spans),
                first_start: first,
                last_start: last,
            };
            if let Some(old) = self.traces.insert(id, held) {
                self.held -= old.spans.len();
            }
        }
        // The first windows start at the earliest trace of the first batch.
        if batch_first < i64::MAX {
            for size in &mut self.sizes {
                size.next.get_or_insert(floor(batch_first, size.slide));
            }
        }
    }

    /// Evaluates every window the watermark has passed (all of them with `all`, at shutdown);
    /// returns an event per failing group of a closed window.
    ///
    /// At shutdown (`all`), a window that extends past the data is evaluated only if it is a
    /// tumbling window (as `check` reports its last, partial bucket) or the first of its size (so a
    /// stream shorter than a window still gets one verdict): a partial sliding window would count
    /// too little and raise false alarms.
    pub async fn close(&mut self, all: bool, metrics: &Metrics) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        let watermark = self.latest_end.saturating_sub(self.lateness);
        let last_start = self.traces.values().map(|h| h.last_start).max();
        for i in 0..self.sizes.len() {
            let (w, slide) = (self.sizes[i].w, self.sizes[i].slide);
            while let Some(t) = self.sizes[i].next {
                let closes = if all {
                    let partial_allowed = slide == w || !self.sizes[i].evaluated;
                    last_start.is_some_and(|l| t <= l) && (t + w <= self.latest_end || partial_allowed)
                } else {
                    watermark >= t + w
                };
                if !closes {
                    break;
                }
                events.extend(self.close_next(i, false, metrics).await?);
            }
        }
        self.drop_closed();
        // Too much held: the oldest windows close before their time, so memory stays bounded
        // whatever the data's clock does.
        while self.held > self.max_held {
            let Some(i) = (0..self.sizes.len())
                .filter(|&i| self.sizes[i].next.is_some())
                .min_by_key(|&i| self.sizes[i].next)
            else {
                break;
            };
            events.extend(self.close_next(i, true, metrics).await?);
            metrics.add_window_closed_early();
            self.drop_closed();
        }
        metrics.set_window_spans(self.held as u64);
        Ok(events)
    }

    async fn close_next(&mut self, i: usize, early: bool, metrics: &Metrics) -> Result<Vec<Event>> {
        let t = self.sizes[i].next.expect("a next window");
        let checks = self.compiled_at(i, t);
        let events = self.evaluate(i, t, &checks, early).await?;
        metrics.add_window();
        self.sizes[i].evaluated = true;
        self.sizes[i].next = Some(t + self.sizes[i].slide);
        Ok(events)
    }

    /// Drops the traces of windows every size has closed.
    fn drop_closed(&mut self) {
        let sizes = &self.sizes;
        let mut dropped = 0;
        self.traces.retain(|_, h| {
            let keep = sizes.iter().any(|s| s.next.is_none_or(|n| h.last_start >= n));
            if !keep {
                dropped += h.spans.len();
            }
            keep
        });
        self.held -= dropped;
    }

    /// The rules of size `i` compiled with buckets starting at `t` (cached by offset).
    fn compiled_at(&mut self, i: usize, t: i64) -> Arc<Vec<(String, CompiledCheck)>> {
        let size = &mut self.sizes[i];
        let offset = t.rem_euclid(size.w);
        if let Some(checks) = size.at_offset.get(&offset) {
            return checks.clone();
        }
        let mut compiled = Vec::with_capacity(size.checks.len());
        for (file, check) in &size.checks {
            // Buckets that start at `t`: this window is one of them.
            let rules = check.rules.iter().map(|r| r.windowed(size.w, t)).collect();
            let check = CompiledCheck {
                title: check.title.clone(),
                rules,
            };
            compiled.push((file.clone(), check));
        }
        if size.at_offset.len() >= MAX_OFFSETS {
            size.at_offset.clear();
        }
        let compiled = Arc::new(compiled);
        size.at_offset.insert(offset, compiled.clone());
        compiled
    }

    async fn evaluate(&self, i: usize, t: i64, checks: &[(String, CompiledCheck)], early: bool) -> Result<Vec<Event>> {
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
        for (file, check) in checks {
            let report = run_check(check, &ctx, None).await?;
            for rule in &report.rules {
                for m in &rule.measurements {
                    if m.window_start.as_deref() == Some(label.as_str()) && !m.holds {
                        events.push(Event::check_failed(file, &check.title, rule, m, size.w, early));
                    }
                }
            }
        }
        Ok(events)
    }
}
