//! Records skipped with `--keep-going`: every sink that takes decoded spans counts them the same
//! way and keeps the first ones' errors for the summary.

use crate::error::{Error, Result};

/// How many rejected records are kept (with their messages) for the summary.
const KEEP_REJECTED: usize = 20;

/// The rejected records of one sink: without `keep_going` the first one fails the input.
#[derive(Debug, Default)]
pub(crate) struct Rejects {
    keep_going: bool,
    count: usize,
    first: Vec<Error>,
}

impl Rejects {
    pub(crate) fn new(keep_going: bool) -> Rejects {
        Rejects {
            keep_going,
            ..Rejects::default()
        }
    }

    /// `Err(err)` unless keeping going, else counts it (and keeps it if among the first).
    pub(crate) fn reject(&mut self, err: Error) -> Result<()> {
        if !self.keep_going {
            return Err(err);
        }
        self.count += 1;
        if self.first.len() < KEEP_REJECTED {
            self.first.push(err);
        }
        Ok(())
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn first(&self) -> &[Error] {
        &self.first
    }

    /// Takes the kept errors out (the count stays).
    pub(crate) fn take_first(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.first)
    }
}
