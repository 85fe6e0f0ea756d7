//! Fetched spans → dataset parts. Spans wait in Arrow columns until a few thousand are pending, then
//! become one part, visible at once through the manifest: an interrupted run keeps every part it
//! wrote, and loses at most the pending spans, which the next run fetches again.

use crate::error::Result;
use crate::ingest::RawTables;
use crate::store::{write_raw, Dataset};

/// Rejected records whose messages are kept for the summary.
const KEEP_REJECTED: usize = 10;

pub(crate) struct Archive {
    dataset: Dataset,
    pending: RawTables,
    keep_going: bool,
    flush_spans: usize,
    /// Spans, parts and bytes written so far.
    pub spans: u64,
    pub parts: u64,
    pub bytes: u64,
    /// Records skipped with `keep_going`, and the first messages.
    pub rejected: usize,
    pub rejected_messages: Vec<String>,
}

impl Archive {
    pub fn new(dataset: Dataset, flush_spans: usize, keep_going: bool) -> Archive {
        Archive {
            dataset,
            pending: RawTables::new(keep_going),
            keep_going,
            flush_spans: flush_spans.max(1),
            spans: 0,
            parts: 0,
            bytes: 0,
            rejected: 0,
            rejected_messages: Vec::new(),
        }
    }

    /// Where decoders put the spans of whole new traces.
    pub fn sink(&mut self) -> &mut RawTables {
        &mut self.pending
    }

    /// Spans not yet written.
    pub fn pending_spans(&self) -> usize {
        self.pending.span_count()
    }

    /// Writes the pending spans once there are enough of them. Call between whole traces.
    pub fn flush_if_due(&mut self) -> Result<()> {
        if self.pending_spans() >= self.flush_spans {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes every pending span as one part (whole traces: callers only add whole traces).
    pub fn flush(&mut self) -> Result<()> {
        let raw = std::mem::replace(&mut self.pending, RawTables::new(self.keep_going));
        self.rejected += raw.rejected_count();
        for e in raw.rejected() {
            if self.rejected_messages.len() < KEEP_REJECTED {
                self.rejected_messages.push(e.to_string());
            }
        }
        if raw.span_count() == 0 {
            return Ok(());
        }
        // One part: whole traces, however many spans.
        let written = write_raw(&mut self.dataset, raw, usize::MAX)?;
        self.bytes += written.bytes;
        self.parts += written.parts as u64;
        self.spans += written.assembled.spans as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Span, SpanSink};

    #[test]
    fn parts_are_written_when_due_and_on_flush() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset::create_or_open(&dir.path().join("ds")).unwrap();
        let mut archive = Archive::new(dataset, 3, false);
        for i in 1..=2u64 {
            let span = Span {
                trace_id: 1,
                span_id: i,
                ..Span::default()
            };
            archive.sink().push(span).unwrap();
        }
        archive.flush_if_due().unwrap();
        assert_eq!((archive.parts, archive.pending_spans()), (0, 2), "2 < 3 spans: not due");
        archive
            .sink()
            .push(Span {
                trace_id: 2,
                span_id: 1,
                ..Span::default()
            })
            .unwrap();
        archive.flush_if_due().unwrap();
        assert_eq!((archive.parts, archive.spans, archive.pending_spans()), (1, 3, 0));
        archive.flush().unwrap();
        assert_eq!(archive.parts, 1, "nothing pending: no empty part");
    }
}
