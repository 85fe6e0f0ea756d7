//! Replay at start: the segments a previous run left are decoded again; spans the dataset already
//! holds (their part was listed before the crash, the segment not yet deleted) are dropped, so
//! every acknowledged span ends up stored exactly once.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::segment::{self, Kind};
use crate::collect::Accepted;
use crate::error::{Error, Result};
use crate::ingest::Span;

/// Parts written this long before a segment was created are also searched for its spans (clocks
/// step; the cost is a little more reading).
const CLOCK_SLACK: Duration = Duration::from_secs(60);

/// What replay found in the log.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Spans to store again, by the segment they are in (segments left with none are deleted).
    pub segments: Vec<(u64, Vec<Span>)>,
    /// The number for the next segment.
    pub next_segment: u64,
    /// Requests read back.
    pub records: u64,
    /// Spans dropped because the dataset already holds them.
    pub already_stored: u64,
    /// Bytes of records cut short by the crash (never acknowledged).
    pub torn_bytes: u64,
}

impl Replayed {
    /// Spans to store again.
    pub fn spans(&self) -> u64 {
        self.segments.iter().map(|(_, s)| s.len() as u64).sum()
    }
}

/// Reads every segment in `dir` (the log of `dataset`), oldest first.
pub(super) fn replay(dataset: &Path, dir: &Path) -> Result<Replayed> {
    let mut seqs: Vec<u64> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| segment::seq_of(&e.file_name().to_string_lossy()))
        .collect();
    seqs.sort_unstable();
    let mut out = Replayed {
        next_segment: seqs.last().map_or(0, |s| s + 1),
        ..Default::default()
    };
    let mut oldest: Option<SystemTime> = None;
    for &seq in &seqs {
        let path = dir.join(segment::file_name(seq));
        let read = segment::read(&path).map_err(|e| Error::io(&path, e))?;
        out.torn_bytes += read.torn_bytes;
        out.records += read.records.len() as u64;
        if !read.records.is_empty() {
            oldest = Some(oldest.map_or(read.created, |o| o.min(read.created)));
        }
        let mut spans = Vec::new();
        for (i, (kind, body)) in read.records.into_iter().enumerate() {
            let decoded = match kind {
                Kind::Proto => Accepted::from_proto(&body),
                Kind::Json => Accepted::from_json(&body),
            };
            // Only bodies that decoded were logged, and decoding is deterministic.
            let acc = decoded.map_err(|e| Error::Dataset {
                path: path.clone(),
                message: format!(
                    "record {} of the log no longer decodes ({e:?}); the collector does not start \
                     rather than drop acknowledged spans: move the segment out of the folder to start \
                     without it",
                    i + 1
                ),
            })?;
            spans.extend(acc.spans);
        }
        out.segments.push((seq, spans));
    }
    if let Some(oldest) = oldest {
        let traces: HashSet<u128> = out
            .segments
            .iter()
            .flat_map(|(_, s)| s.iter().map(|s| s.trace_id))
            .collect();
        let since = oldest.checked_sub(CLOCK_SLACK).unwrap_or(oldest);
        let stored = crate::store::stored_span_keys(dataset, since, &traces)?;
        for (_, spans) in &mut out.segments {
            let before = spans.len();
            spans.retain(|s| !stored.contains(&(s.trace_id, s.span_id, s.start_ns)));
            out.already_stored += (before - spans.len()) as u64;
        }
    }
    let (empty, kept): (Vec<_>, Vec<_>) = out.segments.into_iter().partition(|(_, s)| s.is_empty());
    out.segments = kept;
    super::remove_segments(dir, &empty.iter().map(|(seq, _)| *seq).collect::<Vec<_>>());
    Ok(out)
}
