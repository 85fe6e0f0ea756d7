//! The live checker: every batch of complete traces is assembled in memory and every model runs on
//! it with the same compiled SQL as `tracecheck check`; new violations become events.
//!
//! **Late spans.** A checked trace is remembered (its spans and the violations already reported)
//! for the late window. A span of such a trace that arrives later completes again (after the idle
//! time) and the trace is re-checked *with all its spans*: violations not reported before are
//! reported (marked `"recheck": true`), reported ones that no longer hold are reported as
//! `"resolved"`. A span that arrives after the window is counted as late and unchecked (it is
//! still written to the dataset), so a verdict never silently rests on half a trace.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::windows::Windows;
use crate::check::{violations_only, Compiled, Violation};
use crate::collect::{DatasetSink, TraceSink};
use crate::engine::{register_raw, session};
use crate::error::Result;
use crate::ingest::{RawTables, Span, SpanSink};
use crate::schema::TABLES;

use super::emit::{Emitter, Event};
use super::metrics::Metrics;

/// How many forgotten trace ids are kept (16 bytes each, plus the set's overhead).
const MAX_FORGOTTEN: usize = 1 << 20;

/// (model, clause, assignment) of a reported violation within one trace.
type Key = (String, usize, Vec<(String, String)>);

struct Recent {
    spans: Vec<Span>,
    reported: HashSet<Key>,
    at: Instant,
}

/// Checks complete traces as they come (a [`TraceSink`] for the collector).
pub struct CheckSink {
    /// The `model` blocks of each file.
    files: Vec<(String, Vec<Compiled>)>,
    /// The `check` blocks' `per` rules.
    windows: Windows,
    dataset: Option<DatasetSink>,
    /// Complete traces not yet checked, with the time they completed.
    pending: Vec<(Instant, Vec<Span>)>,
    pending_spans: usize,
    recent: HashMap<u128, Recent>,
    recent_order: VecDeque<(Instant, u128)>,
    recent_spans: usize,
    late_window: Duration,
    max_recent_spans: usize,
    /// Ids of traces checked and no longer remembered (bounded): later spans of theirs are
    /// counted, not checked.
    forgotten: HashSet<u128>,
    forgotten_order: VecDeque<u128>,
    emitter: Emitter,
    metrics: Arc<Metrics>,
}

impl CheckSink {
    /// A checker for the compiled files (models on every trace, `per` rules of checks on windows),
    /// optionally also writing a dataset.
    pub fn new(
        files: Vec<(String, Vec<Compiled>)>,
        dataset: Option<DatasetSink>,
        emitter: Emitter,
        metrics: Arc<Metrics>,
    ) -> CheckSink {
        let mut models = Vec::new();
        let mut checks = Vec::new();
        for (path, blocks) in files {
            let mut mine = Vec::new();
            for b in blocks {
                match b {
                    Compiled::Check(c) => checks.push((path.clone(), c)),
                    m => mine.push(m),
                }
            }
            models.push((path, mine));
        }
        let windows = Windows::new(checks);
        CheckSink {
            files: models,
            windows,
            dataset,
            pending: Vec::new(),
            pending_spans: 0,
            recent: HashMap::new(),
            recent_order: VecDeque::new(),
            recent_spans: 0,
            late_window: Duration::from_secs(60),
            max_recent_spans: 1_000_000,
            forgotten: HashSet::new(),
            forgotten_order: VecDeque::new(),
            emitter,
            metrics,
        }
    }

    /// How long a checked trace is kept for re-checking when late spans arrive.
    pub fn with_late_window(mut self, window: Duration) -> Self {
        self.late_window = window;
        self
    }

    /// How long after a window's end (in the data's time) its check rules are evaluated, so that
    /// traces completing a little later still count.
    pub fn with_check_lateness(mut self, lateness: Duration) -> Self {
        self.windows.set_lateness(nanos(lateness));
        self
    }

    /// Aggregate rules slide their windows by this much (at most their window): each is evaluated
    /// over its last `per` of data every `every` of data time.
    pub fn with_check_every(mut self, every: Duration) -> Self {
        self.windows.set_slide(nanos(every));
        self
    }

    /// At most this many spans are held for open check windows; beyond it the oldest window is
    /// evaluated early (counted in `tracecheck_windows_closed_early_total`).
    pub fn with_max_window_spans(mut self, spans: usize) -> Self {
        self.windows.set_max_spans(spans);
        self
    }

    /// The window over which rules without `per` are measured live (a stream has no "all data").
    pub fn with_check_window(mut self, window: Duration) -> Self {
        self.windows.set_window(nanos(window));
        self
    }

    /// At most this many spans of checked traces are kept for late spans (oldest dropped first).
    pub fn with_max_recent_spans(mut self, spans: usize) -> Self {
        self.max_recent_spans = spans;
        self
    }

    /// The dataset sink, if any (for its totals at the end).
    pub fn dataset(&self) -> Option<&DatasetSink> {
        self.dataset.as_ref()
    }

    /// Checks everything pending; returns how many pending spans were handled.
    async fn check_pending(&mut self) -> Result<usize> {
        let pending = std::mem::take(&mut self.pending);
        let handled = std::mem::take(&mut self.pending_spans);
        let now = Instant::now();
        // Whole traces: spans of one trace may have completed in several pieces.
        let mut traces: HashMap<u128, (Instant, Vec<Span>, bool)> = HashMap::new();
        for (completed, spans) in pending {
            for s in spans {
                let e = traces
                    .entry(s.trace_id)
                    .or_insert_with(|| (completed, Vec::new(), false));
                e.0 = e.0.min(completed);
                e.1.push(s);
            }
        }
        self.expire(now);
        let mut previous: HashMap<u128, HashSet<Key>> = HashMap::new();
        let mut unchecked = Vec::new();
        for (id, (_, spans, recheck)) in traces.iter_mut() {
            if let Some(r) = self.recent.remove(id) {
                self.metrics.add_late_spans(spans.len() as u64);
                self.recent_spans -= r.spans.len();
                spans.extend(r.spans);
                previous.insert(*id, r.reported);
                *recheck = true;
            } else if self.forgotten.contains(id) {
                // Checked too long ago: its other spans are gone, and checking the fragment
                // alone would give verdicts about half a trace.
                self.metrics.add_late_unchecked(spans.len() as u64);
                unchecked.push(*id);
            }
        }
        for id in unchecked {
            traces.remove(&id);
        }
        if !self.windows.is_empty() {
            let whole: HashMap<u128, Vec<Span>> = traces.iter().map(|(id, (_, s, _))| (*id, s.clone())).collect();
            self.windows.add(whole, &self.metrics);
        }
        let mut raw = RawTables::new(false);
        for (_, spans, _) in traces.values() {
            for s in spans {
                raw.push(s.clone())?;
            }
        }
        let ctx = session();
        register_raw(&ctx, raw)?;
        // Models run side by side, each in its own session over the same memory tables (the
        // staged plan registers a table per model): small batches are mostly planning, which
        // then overlaps on the cores.
        let mut tasks = tokio::task::JoinSet::new();
        for (path, blocks) in self.files.iter() {
            for block in blocks {
                let Compiled::Model(_, compiled) = block else { continue };
                let own = session();
                for t in TABLES {
                    own.register_table(t, ctx.table_provider(t).await?)?;
                }
                let (path, compiled) = (path.clone(), compiled.clone());
                tasks.spawn(async move { violations_only(&compiled, &own).await.map(|v| (path, v)) });
            }
        }
        let mut found: HashMap<u128, Vec<(String, Violation)>> = HashMap::new();
        while let Some(done) = tasks.join_next().await {
            let (path, violations) = done.map_err(|e| crate::Error::Bug(format!("model check task failed: {e}")))??;
            for v in violations {
                let id = u128::from_str_radix(&v.trace_id, 16).unwrap_or_default();
                found.entry(id).or_default().push((path.clone(), v));
            }
        }
        let reported_at = Instant::now();
        let mut events = Vec::new();
        for (id, (completed, spans, recheck)) in traces {
            let before = previous.remove(&id).unwrap_or_default();
            let mut now_reported = HashSet::new();
            for (file, v) in found.remove(&id).unwrap_or_default() {
                let key: Key = (v.model.clone(), v.clause, v.assignment.clone());
                if !before.contains(&key) {
                    self.metrics.add_violation(&v.model, v.clause);
                    events.push(Event::violation(&file, &v, recheck, reported_at - completed));
                }
                now_reported.insert(key);
            }
            for key in before.difference(&now_reported) {
                events.push(Event::resolved(&key.0, key.1, &format!("{id:032x}"), &key.2));
            }
            self.metrics.add_checked(1, (reported_at - completed).as_secs_f64());
            self.remember(id, spans, now_reported, reported_at);
        }
        self.emitter.emit(events);
        Ok(handled)
    }

    fn remember(&mut self, id: u128, spans: Vec<Span>, reported: HashSet<Key>, at: Instant) {
        self.recent_spans += spans.len();
        self.recent.insert(id, Recent { spans, reported, at });
        self.recent_order.push_back((at, id));
        while self.recent_spans > self.max_recent_spans {
            let Some((at, id)) = self.recent_order.pop_front() else {
                break;
            };
            self.forget(at, id);
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.recent_order.front() {
            if now.saturating_duration_since(at) < self.late_window {
                break;
            }
            self.recent_order.pop_front();
            self.forget(at, id);
        }
    }

    fn forget(&mut self, at: Instant, id: u128) {
        if self.recent.get(&id).is_some_and(|r| r.at == at) {
            let r = self.recent.remove(&id).expect("present");
            self.recent_spans -= r.spans.len();
            if self.forgotten.insert(id) {
                self.forgotten_order.push_back(id);
                if self.forgotten_order.len() > MAX_FORGOTTEN {
                    let old = self.forgotten_order.pop_front().expect("non-empty");
                    self.forgotten.remove(&old);
                }
            }
        }
    }
}

fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

impl TraceSink for CheckSink {
    fn add(&mut self, spans: Vec<Span>) {
        if spans.is_empty() {
            return;
        }
        let traces: HashSet<u128> = spans.iter().map(|s| s.trace_id).collect();
        self.metrics.add_completed(traces.len() as u64);
        if let Some(d) = &mut self.dataset {
            d.add(spans.clone());
        }
        self.pending_spans += spans.len();
        self.pending.push((Instant::now(), spans));
    }

    async fn tick(&mut self, last: bool) -> Result<usize> {
        if let Some(d) = &mut self.dataset {
            // Dataset spans are copies: the checker's count bounds intake.
            d.tick(last).await?;
        }
        let handled = if self.pending.is_empty() {
            0
        } else {
            self.check_pending().await?
        };
        if !self.windows.is_empty() {
            let events = self.windows.close(last, &self.metrics).await?;
            self.metrics.add_check_failures(events.len() as u64);
            self.emitter.emit(events);
        }
        Ok(handled)
    }

    fn held(&self) -> usize {
        self.pending_spans + self.dataset.as_ref().map_or(0, |d| d.held()) + self.windows.held_spans()
    }

    fn dataset_path(&self) -> Option<&std::path::Path> {
        self.dataset.as_ref().and_then(|d| d.dataset_path())
    }

    fn unstored(&self) -> usize {
        self.dataset.as_ref().map_or(0, |d| d.held())
    }
}
