//! A sink for decoder unit tests: collects spans, and with `keep_going` records rejects as text.

use super::{Span, SpanSink};
use crate::error::{Error, Result};

/// Collects spans; with `keep_going` it records rejects instead of failing.
#[derive(Default)]
pub(crate) struct CollectSink {
    pub(crate) spans: Vec<Span>,
    pub(crate) rejects: Vec<String>,
    pub(crate) keep_going: bool,
}

impl SpanSink for CollectSink {
    fn push(&mut self, span: Span) -> Result<()> {
        self.spans.push(span);
        Ok(())
    }
    fn reject(&mut self, err: Error) -> Result<()> {
        if !self.keep_going {
            return Err(err);
        }
        self.rejects.push(err.to_string());
        Ok(())
    }
}
