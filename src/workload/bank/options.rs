//! Options of the `bank` workload.

use crate::error::{Error, Result};

use super::super::random::MS;

/// Options of the `bank` workload, set with consuming builders.
///
/// ```
/// use tracecheck::workload::BankOptions;
/// let opts = BankOptions::new(10_000).with_seed(7).with_fault_rate(0.1).with_slow_factor(1.5);
/// assert_eq!(opts.traces(), 10_000);
/// assert_eq!(opts.seed(), 7);
/// assert_eq!(BankOptions::new(1).start_ns(), BankOptions::DEFAULT_START_NS);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BankOptions {
    traces: usize,
    seed: u64,
    fault_rate: f64,
    start_ns: i64,
    slow_factor: f64,
}

impl BankOptions {
    /// The seed unless [`BankOptions::with_seed`] sets another.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(1).seed(), tracecheck::workload::BankOptions::DEFAULT_SEED);
    /// ```
    pub const DEFAULT_SEED: u64 = 42;

    /// The share of faulty traces unless [`BankOptions::with_fault_rate`] sets another.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::DEFAULT_FAULT_RATE, 0.05);
    /// ```
    pub const DEFAULT_FAULT_RATE: f64 = 0.05;

    /// The start of the first trace unless [`BankOptions::with_start_ns`] sets another:
    /// 2026-01-01T00:00:00Z in nanoseconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::DEFAULT_START_NS / 1_000_000_000, 1_767_225_600);
    /// ```
    pub const DEFAULT_START_NS: i64 = 1_767_225_600 * 1_000_000_000;

    /// `traces` withdrawal requests, with the default seed, fault rate, start time and a slow factor
    /// of 1.
    ///
    /// ```
    /// let opts = tracecheck::workload::BankOptions::new(100);
    /// assert_eq!(opts.fault_rate(), 0.05);
    /// assert_eq!(opts.slow_factor(), 1.0);
    /// ```
    pub fn new(traces: usize) -> BankOptions {
        BankOptions {
            traces,
            seed: Self::DEFAULT_SEED,
            fault_rate: Self::DEFAULT_FAULT_RATE,
            start_ns: Self::DEFAULT_START_NS,
            slow_factor: 1.0,
        }
    }

    /// Sets the seed of the random generator: the same seed gives the same traces.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(1).with_seed(9).seed(), 9);
    /// ```
    pub fn with_seed(self, seed: u64) -> BankOptions {
        BankOptions { seed, ..self }
    }

    /// Sets the expected share of faulty traces, from 0 to 1; each of the five faults gets a fifth
    /// of it.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(1).with_fault_rate(0.0).fault_rate(), 0.0);
    /// ```
    pub fn with_fault_rate(self, fault_rate: f64) -> BankOptions {
        BankOptions { fault_rate, ..self }
    }

    /// Sets the start of the first trace, in nanoseconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(1).with_start_ns(5).start_ns(), 5);
    /// ```
    pub fn with_start_ns(self, start_ns: i64) -> BankOptions {
        BankOptions { start_ns, ..self }
    }

    /// Sets a factor (above 0, at most 1000) on every `withdrawal` latency, correct or faulty — to
    /// make a slower "new version" to compare against a baseline.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(1).with_slow_factor(2.0).slow_factor(), 2.0);
    /// ```
    pub fn with_slow_factor(self, slow_factor: f64) -> BankOptions {
        BankOptions { slow_factor, ..self }
    }

    /// The number of traces.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(3).traces(), 3);
    /// ```
    pub fn traces(&self) -> usize {
        self.traces
    }

    /// The seed.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(3).with_seed(1).seed(), 1);
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The expected share of faulty traces.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(3).fault_rate(), 0.05);
    /// ```
    pub fn fault_rate(&self) -> f64 {
        self.fault_rate
    }

    /// The start of the first trace (ns since the Unix epoch).
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(3).with_start_ns(0).start_ns(), 0);
    /// ```
    pub fn start_ns(&self) -> i64 {
        self.start_ns
    }

    /// The factor on withdrawal latencies.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::BankOptions::new(3).slow_factor(), 1.0);
    /// ```
    pub fn slow_factor(&self) -> f64 {
        self.slow_factor
    }

    pub(super) fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(Error::Usage(format!(
                "fault rate must be between 0 and 1, got {}",
                self.fault_rate
            )));
        }
        if !(self.slow_factor > 0.0 && self.slow_factor <= 1000.0) {
            return Err(Error::Usage(format!(
                "slow factor must be above 0 and at most 1000, got {}",
                self.slow_factor
            )));
        }
        // Each trace starts at most 5 ms after the previous one and lasts well under 2 s per unit
        // of slow factor.
        let last_end = self.start_ns as i128
            + self.traces as i128 * (5 * MS) as i128
            + (2_000.0 * MS as f64 * (1.0 + self.slow_factor)) as i128;
        if last_end > i64::MAX as i128 {
            return Err(Error::Usage(format!(
                "{} traces from start time {} ns run past the year 2262",
                self.traces, self.start_ns
            )));
        }
        Ok(())
    }
}
