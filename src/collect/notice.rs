//! What a running collector has to say besides its results: [`Notice`]s for the observer given
//! with [`Collector::with_notices`](super::Collector::with_notices). The collector goes on after
//! each; the command line prints them on stderr.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// Something that happened while a collector served.
///
/// ```
/// use tracecheck::collect::Notice;
/// let n = Notice::ReceiverSlow(std::time::Duration::from_secs(10));
/// assert_eq!(n.to_string(), "a receiver did not stop within 10s");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice {
    /// At start, spans acknowledged by an earlier run were read back from the dataset's log and
    /// are buffered again.
    Replayed {
        /// The dataset whose log it is.
        dataset: PathBuf,
        /// Spans put back into the buffer.
        spans: u64,
        /// Spans of the log already stored in the dataset, skipped.
        already_stored: u64,
        /// Bytes of a write that was never acknowledged, dropped from the log's end.
        torn_bytes: u64,
    },
    /// The sink failed to handle complete traces; it keeps them and is tried again at the next
    /// tick (meanwhile its spans count as held, so intake slows down instead of memory growing).
    SinkFailed(Error),
    /// The write-ahead log could not be written; exports are refused as retryable until it can.
    LogFailed(String),
    /// A receiver stopped with an error at shutdown.
    ReceiverFailed(Error),
    /// A receiver's task ended abnormally (panicked or was cancelled).
    ReceiverTask(String),
    /// A receiver did not stop within the shutdown grace period and was cut off.
    ReceiverSlow(Duration),
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Replayed {
                dataset,
                spans,
                already_stored,
                torn_bytes,
            } => write!(
                f,
                "replayed {spans} acknowledged spans from the log of {} ({already_stored} already stored \
                 were skipped, {torn_bytes} bytes of an unacknowledged write dropped)",
                dataset.display()
            ),
            Notice::SinkFailed(e) => write!(f, "{e} (will retry)"),
            Notice::LogFailed(e) => write!(f, "{e} (exports are refused as retryable until it can be written)"),
            Notice::ReceiverFailed(e) => write!(f, "{e}"),
            Notice::ReceiverTask(e) => write!(f, "receiver task failed: {e}"),
            Notice::ReceiverSlow(grace) => write!(f, "a receiver did not stop within {grace:?}"),
        }
    }
}
