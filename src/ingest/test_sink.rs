//! The one collecting sink of tests: decoder unit tests read what it holds, and `testing` converts
//! SDK spans through it (keeping going, so one bad span does not lose the others).

use super::{Span, SpanSink};
use crate::error::{Error, Result};

/// Collects spans; with `keep_going` it records rejects instead of failing.
#[derive(Debug, Default)]
pub(crate) struct CollectSink {
    pub(crate) spans: Vec<Span>,
    /// What each rejected record's error was, in order (only with `keep_going`).
    pub(crate) rejects: Vec<Error>,
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
        self.rejects.push(err);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_fail_unless_keeping_going() {
        let bad = || Error::Bug("bad record".into());
        assert!(CollectSink::default().reject(bad()).is_err());
        let mut sink = CollectSink {
            keep_going: true,
            ..CollectSink::default()
        };
        sink.reject(bad()).unwrap();
        sink.push(Span::default()).unwrap();
        assert_eq!((sink.spans.len(), sink.rejects.len()), (1, 1));
    }
}
