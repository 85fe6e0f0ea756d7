//! Spans held per trace until the trace is complete: no new span for the idle time, or older than
//! the maximum age. Bounded: a request that would go past the limit is refused (the caller answers
//! with a retryable "try later"), so memory never grows without bound.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::wal::LogCounts;
use crate::ingest::packed::{pack, unpack, AttrSets};
use crate::ingest::Span;

/// One trace still receiving spans.
struct Pending {
    /// Its spans, packed ([`super::packed`]): one allocation per trace instead of dozens per span.
    packed: Vec<u8>,
    count: usize,
    first: Instant,
    last: Instant,
    /// (log segment, spans of this trace in it): what the log may drop once the trace is stored.
    logged: Vec<(u64, u64)>,
}

/// Traces being received, and the count of spans held anywhere before they are on disk.
///
/// ```
/// use std::time::{Duration, Instant};
/// use tracecheck::collect::TraceBuffer;
/// use tracecheck::ingest::Span;
/// let mut b = TraceBuffer::new(10);
/// let t0 = Instant::now();
/// b.admit(vec![Span { trace_id: 1, span_id: 1, ..Default::default() }], t0).unwrap();
/// assert!(b.take_complete(t0, Duration::from_secs(1), Duration::from_secs(60)).is_empty());
/// let done = b.take_complete(t0 + Duration::from_secs(2), Duration::from_secs(1), Duration::from_secs(60));
/// assert_eq!(done.len(), 1);
/// b.release(1);
/// assert_eq!(b.held_spans(), 0);
/// ```
pub struct TraceBuffer {
    traces: HashMap<u128, Pending>,
    /// (time of a span's arrival, trace): a trace may appear several times; only the entry that
    /// matches its `last` arrival counts, the others are skipped when they reach the front.
    arrivals: VecDeque<(Instant, u128)>,
    /// Spans in `traces` plus spans taken out but not yet released (being written).
    held: usize,
    limit: usize,
    /// Bytes of the held spans as packed (with the shared attribute sets), and the limit on them.
    /// Spans taken out and not yet released keep their packed size counted.
    held_bytes: usize,
    sets: AttrSets,
    /// One span packed, before it is appended to its trace's buffer.
    scratch: Vec<u8>,
    max_bytes: usize,
    last_age_scan: Option<Instant>,
    /// Log counts of the spans taken out since the last [`TraceBuffer::take_logged`].
    taken_logged: LogCounts,
}

/// How often open traces are scanned for ones past the maximum age.
const AGE_SCAN: Duration = Duration::from_millis(500);

/// The buffer is full; retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl TraceBuffer {
    /// An empty buffer that refuses new spans while it holds `limit` or more.
    pub fn new(limit: usize) -> TraceBuffer {
        TraceBuffer {
            traces: HashMap::new(),
            arrivals: VecDeque::new(),
            held: 0,
            limit: limit.max(1),
            held_bytes: 0,
            sets: AttrSets::default(),
            scratch: Vec::new(),
            max_bytes: usize::MAX,
            last_age_scan: None,
            taken_logged: LogCounts::new(),
        }
    }

    /// Also refuses new spans while the held spans take `bytes` or more (their packed size).
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// Whether a request would be taken now (the buffer is below both limits).
    pub fn has_room(&self) -> bool {
        self.held < self.limit && self.held_bytes() < self.max_bytes
    }

    /// Bytes held: the packed spans, the attribute sets they share, and the packed size of spans
    /// taken out and not yet released.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes + self.sets.bytes()
    }

    /// Takes all spans of one request, or none: a request is refused whole while the buffer is at
    /// its limit (it may go over by one request, so a request larger than the limit still passes
    /// once the buffer has drained).
    pub fn admit(&mut self, spans: Vec<Span>, now: Instant) -> Result<(), Full> {
        if !self.has_room() {
            return Err(Full);
        }
        self.insert(spans, None, now);
        Ok(())
    }

    /// Takes spans whatever the limit (they are already acknowledged, or being replayed from the
    /// log); `logged` is the log segment that holds them.
    pub fn insert(&mut self, spans: Vec<Span>, logged: Option<u64>, now: Instant) {
        self.held += spans.len();
        for span in spans {
            let id = span.trace_id;
            let pending = self.traces.entry(id).or_insert_with(|| Pending {
                packed: Vec::new(),
                count: 0,
                first: now,
                last: now,
                logged: Vec::new(),
            });
            if pending.count == 0 || pending.last != now {
                self.arrivals.push_back((now, id));
            }
            pending.last = now;
            self.scratch.clear();
            pack(&mut self.scratch, &span, &mut self.sets);
            let before = pending.packed.capacity();
            // Grown by a quarter at a time, not doubled: the buffer counts capacity, and a trace
            // that arrives in one request would otherwise waste up to half of it.
            if pending.packed.capacity() - pending.packed.len() < self.scratch.len() {
                let grow = self.scratch.len().max(pending.packed.len() / 4);
                pending.packed.reserve_exact(grow);
            }
            pending.packed.extend_from_slice(&self.scratch);
            pending.count += 1;
            self.held_bytes += pending.packed.capacity() - before;
            if let Some(seg) = logged {
                match pending.logged.last_mut() {
                    Some((s, n)) if *s == seg => *n += 1,
                    _ => pending.logged.push((seg, 1)),
                }
            }
        }
    }

    fn take(&mut self, id: u128) -> Vec<Span> {
        let p = self.traces.remove(&id).expect("present");
        for (seg, n) in p.logged {
            *self.taken_logged.entry(seg).or_default() += n;
        }
        unpack(&p.packed, p.count, id, &mut self.sets)
    }

    /// The log segments of the spans taken out since the last call, with their counts.
    pub fn take_logged(&mut self) -> LogCounts {
        std::mem::take(&mut self.taken_logged)
    }

    /// Removes and returns the spans of every trace that received nothing for `idle`, or whose
    /// first span arrived `max_age` ago. The spans stay counted as held until [`Self::release`].
    pub fn take_complete(&mut self, now: Instant, idle: Duration, max_age: Duration) -> Vec<Span> {
        self.take_complete_up_to(now, idle, max_age, usize::MAX)
    }

    /// As [`Self::take_complete`], but stops once `max_spans` are taken (whole traces: the last
    /// may go past it). The rest stay here, packed, until the next call: the writer takes only
    /// what it is about to write, so complete traces wait in their compact form.
    pub fn take_complete_up_to(
        &mut self,
        now: Instant,
        idle: Duration,
        max_age: Duration,
        max_spans: usize,
    ) -> Vec<Span> {
        let mut out = Vec::new();
        while let Some(&(at, id)) = self.arrivals.front() {
            if out.len() >= max_spans || now.saturating_duration_since(at) < idle {
                break;
            }
            self.arrivals.pop_front();
            if self.traces.get(&id).is_some_and(|p| p.last == at) {
                out.extend(self.take(id));
            }
        }
        // Old traces that keep receiving spans are rare: a scan of the open traces, at most once per
        // `AGE_SCAN`, finds them.
        if out.len() < max_spans
            && self
                .last_age_scan
                .is_none_or(|t| now.saturating_duration_since(t) >= AGE_SCAN)
        {
            self.last_age_scan = Some(now);
            let old: Vec<u128> = self
                .traces
                .iter()
                .filter(|(_, p)| now.saturating_duration_since(p.first) >= max_age)
                .map(|(id, _)| *id)
                .collect();
            for id in old {
                if out.len() >= max_spans {
                    // The rest are found by the next scan.
                    self.last_age_scan = None;
                    break;
                }
                out.extend(self.take(id));
            }
        }
        out
    }

    /// Removes and returns every buffered span (shutdown).
    pub fn take_all(&mut self) -> Vec<Span> {
        self.take_up_to(usize::MAX)
    }

    /// Removes and returns buffered spans, whole traces, until `max_spans` are taken (shutdown, a
    /// writer's load at a time).
    pub fn take_up_to(&mut self, max_spans: usize) -> Vec<Span> {
        let mut out = Vec::new();
        let ids: Vec<u128> = self.traces.keys().copied().collect();
        for id in ids {
            if out.len() >= max_spans {
                break;
            }
            out.extend(self.take(id));
        }
        if self.traces.is_empty() {
            self.arrivals.clear();
        }
        out
    }

    /// `n` spans taken out earlier are on disk (or were handed on): they no longer count.
    /// Their bytes are taken as the average of what is held (the sink reports counts only). The
    /// attribute sets are not part of that: they go when the last span using them is taken.
    pub fn release(&mut self, n: usize) {
        let n = n.min(self.held);
        if n > 0 {
            let share = self.held_bytes as u128 * n as u128 / self.held as u128;
            self.held_bytes -= share as usize;
        }
        self.held -= n;
        if self.held == 0 {
            self.held_bytes = 0;
        }
    }

    /// Spans held: buffered plus taken and not yet released.
    pub fn held_spans(&self) -> usize {
        self.held
    }

    /// Traces still receiving spans.
    pub fn open_traces(&self) -> usize {
        self.traces.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u128, id: u64) -> Span {
        Span {
            trace_id: trace,
            span_id: id,
            ..Default::default()
        }
    }

    #[test]
    fn a_trace_completes_only_after_its_last_span_went_idle() {
        let mut b = TraceBuffer::new(100);
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let age = Duration::from_secs(600);
        b.admit(vec![span(1, 1), span(2, 1)], t0).unwrap();
        b.admit(vec![span(1, 2)], t0 + s).unwrap();
        // Trace 2 went idle; trace 1 got a span at t0+1s.
        let done = b.take_complete(t0 + s + s / 2, s, age);
        assert_eq!(done.iter().map(|s| s.trace_id).collect::<Vec<_>>(), vec![2]);
        let done = b.take_complete(t0 + 2 * s, s, age);
        assert_eq!(done.len(), 2);
        assert_eq!(b.open_traces(), 0);
        assert_eq!(b.held_spans(), 3);
        b.release(3);
        assert_eq!(b.held_spans(), 0);
    }

    #[test]
    fn full_buffer_refuses_whole_requests_until_released() {
        let mut b = TraceBuffer::new(3);
        let t0 = Instant::now();
        b.admit(vec![span(1, 1), span(1, 2)], t0).unwrap();
        // Goes over by one request.
        b.admit(vec![span(2, 1), span(2, 2)], t0).unwrap();
        assert_eq!(b.admit(vec![span(3, 1)], t0), Err(Full));
        let all = b.take_all();
        assert_eq!(all.len(), 4);
        assert_eq!(b.admit(vec![span(3, 1)], t0), Err(Full), "still held until released");
        b.release(4);
        b.admit(vec![span(3, 1)], t0).unwrap();
    }

    #[test]
    fn a_trace_that_never_goes_idle_is_cut_at_max_age() {
        let mut b = TraceBuffer::new(1000);
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        for i in 0..100u64 {
            b.admit(vec![span(9, i + 1)], t0 + ms * (i as u32 * 10)).unwrap();
        }
        let now = t0 + ms * 995;
        assert!(b.take_complete(now, ms * 5000, ms * 2000).is_empty());
        // The next age scan (half a second later) cuts it, though it is not idle.
        assert_eq!(b.take_complete(now + ms * 600, ms * 5000, ms * 900).len(), 100);
    }

    #[test]
    fn the_byte_limit_refuses_like_the_span_limit() {
        let t0 = Instant::now();
        let big = |trace| Span {
            trace_id: trace,
            span_id: 1,
            name: "x".repeat(5_000),
            ..Default::default()
        };
        let mut b = TraceBuffer::new(1_000).with_max_bytes(8_000);
        b.admit(vec![big(1)], t0).unwrap();
        assert!(b.held_bytes() > 5_000);
        b.admit(vec![big(2)], t0).unwrap();
        assert_eq!(b.admit(vec![big(3)], t0), Err(Full), "two spans of 5 KB are over 8 KB");
        assert_eq!(b.take_all().len(), 2);
        b.release(1);
        assert!(b.held_bytes() > 5_000 && b.held_bytes() < 10_000, "{}", b.held_bytes());
        b.release(1);
        assert_eq!(b.held_bytes(), 0);
        b.admit(vec![big(3)], t0).unwrap();
    }

    /// A writer's load at a time: complete traces beyond it stay buffered, whole traces go out.
    #[test]
    fn taking_stops_at_the_limit_in_whole_traces() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut b = TraceBuffer::new(1_000);
        for t in 0..10u128 {
            b.admit((0..3).map(|i| span(t, i)).collect(), t0).unwrap();
        }
        let first = b.take_complete_up_to(t0 + 2 * s, s, s * 60, 7);
        assert_eq!(first.len(), 9, "three whole traces: the third passes the limit");
        assert_eq!(b.open_traces(), 7);
        assert_eq!(b.take_complete_up_to(t0 + 2 * s, s, s * 60, 0).len(), 0);
        assert_eq!(b.take_complete_up_to(t0 + 2 * s, s, s * 60, 100).len(), 21);
        for t in 0..4u128 {
            b.admit((0..3).map(|i| span(t, i)).collect(), t0).unwrap();
        }
        assert_eq!(b.take_up_to(5).len(), 6);
        assert_eq!(b.take_up_to(usize::MAX).len(), 6);
        assert_eq!(b.open_traces(), 0);
    }

    /// Taking a trace out hands on the log segments its spans are in, counted per segment.
    #[test]
    fn taken_spans_carry_their_log_segments() {
        let mut b = TraceBuffer::new(10);
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        b.insert(vec![span(1, 1), span(2, 1)], Some(4), t0);
        b.insert(vec![span(1, 2)], Some(5), t0);
        b.insert(vec![span(1, 3)], None, t0);
        b.insert(vec![span(3, 1)], Some(5), t0 + s);
        assert_eq!(b.take_complete(t0 + s, s, s * 60).len(), 4);
        assert_eq!(b.take_logged(), LogCounts::from([(4, 2), (5, 1)]));
        assert!(b.take_logged().is_empty());
        assert_eq!(b.take_all().len(), 1);
        assert_eq!(b.take_logged(), LogCounts::from([(5, 1)]));
    }
}
