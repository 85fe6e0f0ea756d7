//! Paging a search by time. Trace search APIs answer at most `limit` traces per request and have no
//! cursor, so a large time window is searched piece by piece, newest first, in one of two ways.
//!
//! [`Paging::ByTime`], for backends that return the most recent traces of a window first: when a
//! page is full, the next request ends at the earliest time among the traces returned (inclusive:
//! traces sharing that time and not yet returned come in the next page; those already fetched are
//! skipped by id). When the traces of a full page all share one time, moving the end cannot make
//! progress, so the window is split at that time: before it, the instant itself, after it. A full
//! page without any time (no trace matched inside the window) halves the window.
//!
//! The "time" of a trace in a page is the latest time, within the window, at which it matched the
//! search (Jaeger: the latest start of its spans of the service). If the backend ranks by that time,
//! a trace not yet returned has a match at or before the earliest time of the page, so the next
//! window still finds it.
//!
//! [`Paging::Bisect`], for backends that return *any* `limit` matching traces (Tempo returns the
//! first it finds): a full window is halved and both halves are searched, until no window is full.
//! It needs about twice the requests and makes no assumption about the order.
//!
//! Either way, a window of one unit that is still full cannot be split and is reported: more traces
//! than the limit may share that instant. Times are integers in the backend's unit (µs for Jaeger,
//! s for Tempo) and windows are closed intervals, as both APIs treat `start` and `end`.

/// How full pages are followed up (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// End the next search at the earliest trace of a full page (newest-first backends).
    ByTime,
    /// Halve a full window and search both halves (backends in any order).
    Bisect,
}

/// A closed interval of backend time units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First unit, inclusive.
    pub start: i64,
    /// Last unit, inclusive.
    pub end: i64,
}

impl Window {
    /// Units covered (at least 1).
    fn len(self) -> i64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }
}

/// The windows still to be searched, newest first.
#[derive(Debug)]
pub(crate) struct Pager {
    limit: usize,
    paging: Paging,
    /// A stack: the newest window is on top.
    todo: Vec<Window>,
    /// Windows of one unit that held a full page: traces beyond the limit may be missing there.
    pub truncated: Vec<Window>,
    total: i64,
}

impl Pager {
    pub fn new(window: Window, limit: usize, paging: Paging) -> Pager {
        Pager {
            limit: limit.max(1),
            paging,
            todo: vec![window],
            truncated: Vec::new(),
            total: window.len(),
        }
    }

    /// The next window to search.
    pub fn next(&mut self) -> Option<Window> {
        self.todo.pop()
    }

    /// Records the answer for `w`: how many traces the page held, and the time key of each trace
    /// that has one (see the module documentation).
    pub fn record(&mut self, w: Window, traces: usize, keys: &[i64]) {
        if traces < self.limit {
            return;
        }
        let keys = match self.paging {
            Paging::ByTime => keys,
            Paging::Bisect => &[],
        };
        let clipped = keys.iter().map(|k| (*k).clamp(w.start, w.end));
        let (min, max) = clipped.fold((i64::MAX, i64::MIN), |(lo, hi), k| (lo.min(k), hi.max(k)));
        if keys.is_empty() {
            // No time to go by: halve.
            if w.start < w.end {
                let mid = w.start + (w.end - w.start) / 2;
                self.push(Window {
                    start: w.start,
                    end: mid,
                });
                self.push(Window {
                    start: mid + 1,
                    end: w.end,
                });
            } else {
                self.truncated.push(w);
            }
        } else if min < max {
            // min < max <= w.end: the window shrinks.
            self.push(Window {
                start: w.start,
                end: min,
            });
        } else {
            // Every trace shares the time `min`: split the window there. The instant itself cannot
            // be split; before it, the traces' earlier matches (and other traces) are searched;
            // after it, nothing should remain, but a backend that ranks otherwise gets it searched.
            self.push(Window {
                start: w.start,
                end: min - 1,
            });
            if w == (Window { start: min, end: min }) {
                self.truncated.push(w);
            } else {
                self.push(Window { start: min, end: min });
            }
            self.push(Window {
                start: min + 1,
                end: w.end,
            });
        }
    }

    /// Queues a window (nothing for an empty one); the last pushed is searched first.
    fn push(&mut self, w: Window) {
        if w.start <= w.end {
            self.todo.push(w);
        }
    }

    /// How much of the whole window has been searched, in units (for a progress bar).
    pub fn covered(&self) -> u64 {
        let left: i64 = self.todo.iter().map(|w| w.len()).sum();
        u64::try_from(self.total - left).unwrap_or(0)
    }

    /// The whole window's length in units.
    pub fn total(&self) -> u64 {
        u64::try_from(self.total).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A backend in memory: each trace has its match times; a search returns the `limit` traces
    /// with the latest match in the window (ties by id), and each trace's key in that window.
    fn search(traces: &[Vec<i64>], w: Window, limit: usize) -> (Vec<usize>, Vec<i64>) {
        search_ranked(traces, w, limit, false)
    }

    /// As `search`; with `oldest_first`, the backend returns the `limit` traces with the *earliest*
    /// match instead (an order `Paging::ByTime` does not expect).
    fn search_ranked(traces: &[Vec<i64>], w: Window, limit: usize, oldest_first: bool) -> (Vec<usize>, Vec<i64>) {
        let mut hits: Vec<(i64, usize)> = traces
            .iter()
            .enumerate()
            .filter_map(|(id, times)| {
                let latest = times.iter().filter(|t| (w.start..=w.end).contains(*t)).max()?;
                Some((*latest, id))
            })
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        if oldest_first {
            hits.reverse();
        }
        hits.truncate(limit);
        (hits.iter().map(|h| h.1).collect(), hits.iter().map(|h| h.0).collect())
    }

    /// Pages through everything; returns the traces found and the number of requests.
    fn run(traces: &[Vec<i64>], window: Window, limit: usize) -> (BTreeSet<usize>, usize, Pager) {
        run_with(traces, window, limit, Paging::ByTime, false)
    }

    fn run_with(
        traces: &[Vec<i64>],
        window: Window,
        limit: usize,
        paging: Paging,
        oldest_first: bool,
    ) -> (BTreeSet<usize>, usize, Pager) {
        let mut pager = Pager::new(window, limit, paging);
        let (mut found, mut requests) = (BTreeSet::new(), 0);
        while let Some(w) = pager.next() {
            requests += 1;
            assert!(requests < 10_000, "paging does not end");
            let (ids, keys) = search_ranked(traces, w, limit, oldest_first);
            found.extend(ids.iter().copied());
            pager.record(w, ids.len(), &keys);
        }
        (found, requests, pager)
    }

    #[test]
    fn pages_backwards_until_a_page_is_not_full() {
        let traces: Vec<Vec<i64>> = (0..10).map(|i| vec![i * 10]).collect();
        let (found, requests, pager) = run(&traces, Window { start: 0, end: 100 }, 3);
        assert_eq!(found.len(), 10);
        // 10 traces, 3 per page, each page after the first re-reads the boundary trace: 5 pages.
        assert_eq!(requests, 5);
        assert!(pager.truncated.is_empty());
        assert_eq!(pager.covered(), pager.total());
    }

    #[test]
    fn traces_sharing_the_boundary_time_are_not_lost() {
        // Limit 4: the first page ends with two of the three traces at 50. The next window ends at
        // 50 inclusive, so the third one comes with it (an exclusive end would lose it).
        let traces = vec![vec![70], vec![60], vec![50], vec![50], vec![50], vec![10]];
        let (found, requests, pager) = run(&traces, Window { start: 0, end: 100 }, 4);
        assert_eq!(found.len(), 6);
        assert_eq!(requests, 3);
        assert!(pager.truncated.is_empty());
    }

    #[test]
    fn a_full_page_sharing_one_time_splits_the_window_there() {
        // Three traces whose latest match is at 90, each with an earlier match of its own; limit 2.
        // Only splitting the window reaches the earlier matches that tell them apart.
        let traces = vec![vec![90, 20], vec![90, 30], vec![90, 40], vec![5]];
        let (found, _, pager) = run(&traces, Window { start: 0, end: 100 }, 2);
        assert_eq!(found, (0..4).collect());
        // The one-unit window at 90 was full and could not be split: reported, not silently lost.
        assert_eq!(pager.truncated, vec![Window { start: 90, end: 90 }]);
    }

    #[test]
    fn pages_without_times_halve_the_window() {
        let traces: Vec<Vec<i64>> = (0..30).map(|i| vec![i * 31 + 7]).collect();
        let mut pager = Pager::new(Window { start: 0, end: 1000 }, 4, Paging::ByTime);
        let (mut found, mut requests) = (BTreeSet::new(), 0);
        while let Some(w) = pager.next() {
            requests += 1;
            let (ids, _) = search(&traces, w, 4);
            found.extend(ids.iter().copied());
            pager.record(w, ids.len(), &[]);
        }
        assert_eq!(found.len(), 30);
        assert!(pager.truncated.is_empty());
        assert!(requests < 60, "{requests}");
    }

    #[test]
    fn bisection_does_not_depend_on_the_order_of_answers() {
        // A backend answering the oldest traces of a window first: paging by time would skip the
        // traces between the page's earliest and the window's end; bisection finds them all.
        let traces: Vec<Vec<i64>> = (0..40).map(|i| vec![i * 97 % 1000]).collect();
        let window = Window { start: 0, end: 1000 };
        let (by_time, _, _) = run_with(&traces, window, 5, Paging::ByTime, true);
        assert!(by_time.len() < 40, "the order matters to ByTime");
        let (found, requests, pager) = run_with(&traces, window, 5, Paging::Bisect, true);
        assert_eq!(found.len(), 40);
        assert!(pager.truncated.is_empty());
        assert!(requests < 40, "{requests}");
        let (found, _, _) = run_with(&traces, window, 5, Paging::Bisect, false);
        assert_eq!(found.len(), 40);
    }

    #[test]
    fn more_traces_at_one_instant_than_the_limit_are_reported() {
        let traces: Vec<Vec<i64>> = (0..5).map(|_| vec![7]).collect();
        let (found, _, pager) = run(
            &traces,
            Window {
                start: 0,
                end: 1_000_000,
            },
            2,
        );
        assert_eq!(found.len(), 2);
        assert_eq!(pager.truncated, vec![Window { start: 7, end: 7 }]);
    }

    #[test]
    fn a_limit_of_one_still_pages() {
        let traces: Vec<Vec<i64>> = (0..20).map(|i| vec![i * 37 + 3]).collect();
        let (found, _, pager) = run(&traces, Window { start: 0, end: 1000 }, 1);
        assert_eq!(found.len(), 20);
        // A full page in a one-unit window may hide more traces: each is reported.
        assert_eq!(pager.truncated.len(), 20);
    }

    #[test]
    fn random_archives_are_fetched_whole() {
        // Deterministic pseudo-random archives: every trace arrives unless more than `limit` traces
        // are indistinguishable by time, which these archives avoid (distinct times per trace).
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..200 {
            let n = (next() % 60) as usize;
            let limit = 2 + (next() % 7) as usize;
            let traces: Vec<Vec<i64>> = (0..n)
                .map(|i| {
                    let matches = 1 + next() % 3;
                    (0..matches).map(|_| (next() % 1000) as i64 * 100 + i as i64).collect()
                })
                .collect();
            let (found, requests, pager) = run(&traces, Window { start: 0, end: 100_000 }, limit);
            assert_eq!(found.len(), n, "case {case}: {n} traces, limit {limit}");
            assert!(pager.truncated.is_empty(), "case {case}");
            assert!(requests <= 2 * n / limit + 64, "case {case}: {requests} requests");
        }
    }
}
