//! Resuming: traces the dataset already holds are not fetched again, so an interrupted run, or the
//! same command run again, continues where the last one stopped.
//!
//! The ids are read with SQL before fetching. Only traces with a span near the fetch window can come
//! back from a search of that window, so the query reads those (with a margin for the clock-skew
//! adjustment backends apply to span times), which keeps memory bounded on a large archive.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::engine;
use crate::error::{Error, Result};
use crate::ingest::parse_hex_id;

/// Spans this far outside the fetch window still count when looking for traces already present.
const MARGIN: Duration = Duration::from_secs(3600);

/// What a trace id in a search answer is to this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sighting {
    /// Neither in the dataset nor fetched yet: fetch it.
    New,
    /// In the dataset before this run; the first time this run sees it.
    Present,
    /// Seen before in this run (pages overlap at their boundaries).
    Again,
}

/// The trace ids that must not be fetched.
#[derive(Debug, Default)]
pub(crate) struct KnownTraces {
    /// In the dataset before the run; `true` once this run has counted it as skipped.
    present: HashMap<u128, bool>,
    /// Fetched (or found missing) by this run.
    done: HashSet<u128>,
}

impl KnownTraces {
    /// The traces of `dataset` with a span in `[start_ns, end_ns]` (widened by the margin).
    pub async fn load(dataset: &Path, start_ns: i64, end_ns: i64) -> Result<KnownTraces> {
        let margin = MARGIN.as_nanos() as i64;
        let (lo, hi) = (start_ns.saturating_sub(margin), end_ns.saturating_add(margin));
        let ctx = engine::open(&[dataset.to_path_buf()]).await?;
        // Spans without times are kept: nothing says they are outside the window.
        let sql = format!(
            "SELECT DISTINCT trace_id FROM spans WHERE start_time IS NULL \
             OR (CAST(start_time AS BIGINT) <= {hi} AND CAST(coalesce(end_time, start_time) AS BIGINT) >= {lo})"
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let mut present = HashMap::new();
        for batch in &batches {
            // Utf8 in the schema; cast in case the engine hands out another string layout.
            let column = cast(batch.column(0), &DataType::Utf8)?;
            for id in column.as_string::<i32>().iter().flatten() {
                let parsed = parse_hex_id(id, 32).ok_or_else(|| Error::Dataset {
                    path: dataset.to_path_buf(),
                    message: format!("trace id {id:?} is not 32 hex digits"),
                })?;
                present.insert(parsed, false);
            }
        }
        Ok(KnownTraces {
            present,
            done: HashSet::new(),
        })
    }

    /// Whether `id` must not be fetched (present, or already fetched by this run).
    pub fn is_known(&self, id: u128) -> bool {
        self.present.contains_key(&id) || self.done.contains(&id)
    }

    /// Classifies a sighting of `id`; a `Present` trace is reported once per run.
    pub fn sight(&mut self, id: u128) -> Sighting {
        if self.done.contains(&id) {
            return Sighting::Again;
        }
        match self.present.get_mut(&id) {
            Some(counted) if *counted => Sighting::Again,
            Some(counted) => {
                *counted = true;
                Sighting::Present
            }
            None => Sighting::New,
        }
    }

    /// Records that this run fetched `id` (or gave up on it): it is not fetched again.
    pub fn mark_done(&mut self, id: u128) {
        self.done.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_traces_are_counted_once() {
        let mut k = KnownTraces::default();
        k.present.insert(7, false);
        assert!(k.is_known(7));
        assert_eq!(k.sight(7), Sighting::Present);
        assert_eq!(k.sight(7), Sighting::Again);
        assert!(!k.is_known(8));
        assert_eq!(k.sight(8), Sighting::New);
        k.mark_done(8);
        assert!(k.is_known(8));
        assert_eq!(k.sight(8), Sighting::Again);
    }
}
