//! Synthetic workloads with known, injected violations (`tracecheck gen`).
//!
//! A generator writes traces of a made-up system into any [`SpanSink`](crate::ingest::SpanSink)
//! (for instance [`RawTables`](crate::ingest::RawTables), which becomes a dataset) and returns the
//! [`GroundTruth`]: which traces carry which injected fault. A model checked against the generated
//! data should report exactly the traces of the faults it is meant to catch, and nothing else — so
//! the generator tests the whole pipeline end to end, and gives users data to try models on.
//!
//! Spans are pushed to the sink one at a time as they are made; memory holds only the ground truth
//! (the ids of the faulty traces), never the traces themselves. The output depends only on the
//! options: the same seed gives the same traces, span ids, timings and faults, bit for bit, on every
//! platform (all randomness comes from a seeded ChaCha8 generator, and durations are computed with
//! exactly rounded arithmetic only). A new version of tracecheck may change the output for a seed.
//!
//! # The `bank` workload
//!
//! The bank service of the trace-driven-testing talk: a gateway calls the bank's withdraw endpoint,
//! which reads the account's balance and then either commits the withdrawal or rolls it back.
//! [`generate_bank`] makes it; [`BankOptions`] sets the number of traces, the seed (default 42), the
//! fault rate (default 0.05), the time of the first trace (default 2026-01-01T00:00:00Z) and a factor
//! on every withdrawal latency (default 1.0).
//!
//! ## Trace shape
//!
//! Each trace is one withdrawal request (indentation = parent/child; siblings run one after the
//! other, in this order, with small gaps, and every child lies within its parent's time span):
//!
//! ```text
//! POST /withdraw              gateway  client    root; http.request.method, url.full,
//! │                                              server.address, http.response.status_code
//! ├─ POST /check              auth     server    in 80% of traces; http.route "/check", status 200
//! └─ /:account/withdraw       bank     server    http.request.method POST, http.route
//!    │                                           "/:account/withdraw", url.full
//!    │                                           "http://bank/acct-<n>/withdraw",
//!    │                                           http.response.status_code 200 or 500 (Int)
//!    ├─ fetch-balance         bank     internal  amount = the account's balance (Int), account.id
//!    │  └─ select-balance     bank     client    SELECT balance FROM accounts WHERE id = ?
//!    └─ withdrawal            bank     internal  amount = the requested amount (Int), account.id
//!       ├─ begin              bank     client    BEGIN (in 70% of traces)
//!       ├─ update-balance     bank     client    UPDATE accounts SET balance = ? WHERE id = ?
//!       └─ commit | rollback  bank     client    COMMIT or ROLLBACK
//! ```
//!
//! The database spans (`select-balance`, `begin`, `update-balance`, `commit`, `rollback`) are client
//! spans of service `bank` with `db.system.name = "sqlite"`, `db.namespace = "bank"`,
//! `db.user = "bank"`, `db.operation.name` and `db.query.text`. The transaction spans (`begin`,
//! `update-balance`, `commit`, `rollback`) are children of `withdrawal`, so "commit descendant of
//! withdrawal" holds. Every span has the instrumentation scope `bank-instrumentation` 0.1.0 and the
//! resource attributes `service.name`, `service.version` and `host.name` (the bank runs on two hosts,
//! `bank-0` and `bank-1`).
//!
//! About half of the traces are overdraft attempts (requested amount > balance), the other half are
//! normal withdrawals (amount <= balance). The correct behaviour is:
//!
//! | case      | spans under `withdrawal`                 | status code | span status (server, gateway) |
//! |-----------|------------------------------------------|-------------|-------------------------------|
//! | normal    | begin (70%), update-balance, commit      | 200         | unset                         |
//! | overdraft | begin (70%), rollback                    | 500         | error                         |
//!
//! Every 5xx answer sets the status `error` on the bank's server span and on the gateway's client
//! span; no other span has a status, except the failing commit of the `error` fault below.
//!
//! Timing (nanoseconds, log-normal-like durations): `fetch-balance` 2–8 ms, each database span
//! 1–5 ms, `withdrawal` 5–120 ms (median about 15 ms, 97% under 40 ms) times the slow factor; traces
//! start 1–5 ms apart, in order, from the start time, so neighbouring traces overlap in time.
//! A correct trace therefore never has a withdrawal of 250 ms or more unless the slow factor is above
//! about 2.
//!
//! ## Injected faults
//!
//! Each trace independently gets at most one fault; each fault has probability `fault_rate / 5`
//! (so about `fault_rate` of all traces are faulty, 1% per fault at the default 0.05). Each item
//! starts with the fault's name in the ground-truth JSON ([`Fault::as_str`]).
//!
//! - `overdraft_committed`: an overdraft that commits — update-balance and commit, no rollback,
//!   answered 200. Violates three clauses of the overdraft model (`expect rollback`,
//!   `expect no commit`, `expect ... http.status_code = 500`).
//! - `missing_rollback`: an overdraft answered 500 (status error) with neither a commit nor a
//!   rollback span. Violates the overdraft model's `expect rollback` only.
//! - `wrong_status_code`: an overdraft with a rollback and no commit, but answered 200 (status
//!   unset). Violates the overdraft model's status-code clause only.
//! - `slow_withdrawal`: a normal withdrawal whose `withdrawal` span takes 300–900 ms (times the slow
//!   factor), otherwise correct. Caught by a latency rule: `max(...) < 250ms` or
//!   `expect no span(name = "withdrawal", duration >= 250ms)` catch every one; see the note on p99.
//! - `error`: a normal withdrawal (update-balance, commit, no rollback) whose `commit` has status
//!   error, status message "database is locked" and an `exception` event (`exception.type`,
//!   `exception.message`); the server and gateway spans answer 500 with status error. Not an
//!   overdraft, so the overdraft model does not apply; caught by
//!   `expect no span(name = "commit", status = error)` or by a 500 on a non-overdraft.
//!
//! A correct trace is none of these, and the design's second example model ("commit only after a
//! successful balance check": `fetch-balance` without error before `withdrawal`, at most one commit
//! under it) holds on every trace, faulty or not.
//!
//! Note on the `p99 < 250ms` check: at the default fault rate slow withdrawals are 1% of all
//! withdrawals, which is exactly the 99th percentile's boundary, so that check may or may not fire
//! (with seed 42 and 10 000 traces it does); with `fault_rate` 0.1 (2% slow) it reliably does.
//! Note also that overdrafts are answered 500, which is an error status on the server span, so an
//! error-rate rule over the bank's server spans measures about 50% on this workload.
//!
//! # Example
//!
//! ```
//! use tracecheck::workload::{generate_bank, BankOptions, Fault};
//! use tracecheck::ingest::RawTables;
//!
//! let mut raw = RawTables::new(false);
//! let truth = generate_bank(&BankOptions::new(1_000).with_seed(7), &mut raw).unwrap();
//! assert_eq!(truth.traces, 1_000);
//! assert_eq!(raw.span_count(), truth.spans);
//! println!("{} overdrafts committed", truth.faults[&Fault::OverdraftCommitted].len());
//! ```

mod bank;
mod random;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use bank::{generate_bank, BankOptions};

/// A kind of violation that a generator injects on purpose.
///
/// ```
/// use tracecheck::workload::Fault;
/// assert_eq!(Fault::MissingRollback.as_str(), "missing_rollback");
/// assert_eq!("slow_withdrawal".parse::<Fault>(), Ok(Fault::SlowWithdrawal));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// An overdraft (amount > balance) that commits, with no rollback, answered 200.
    OverdraftCommitted,
    /// An overdraft answered 500 with neither a commit nor a rollback span.
    MissingRollback,
    /// An overdraft that rolls back (no commit) but is answered 200 instead of 500.
    WrongStatusCode,
    /// A normal withdrawal whose `withdrawal` span takes 300–900 ms (times the slow factor).
    SlowWithdrawal,
    /// A normal withdrawal whose `commit` fails ("database is locked"), answered 500.
    Error,
}

impl Fault {
    /// Every fault, in order.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::Fault::ALL.len(), 5);
    /// ```
    pub const ALL: [Fault; 5] = [
        Fault::OverdraftCommitted,
        Fault::MissingRollback,
        Fault::WrongStatusCode,
        Fault::SlowWithdrawal,
        Fault::Error,
    ];

    /// The snake-case name used in the ground-truth JSON.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::Fault::OverdraftCommitted.as_str(), "overdraft_committed");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::OverdraftCommitted => "overdraft_committed",
            Fault::MissingRollback => "missing_rollback",
            Fault::WrongStatusCode => "wrong_status_code",
            Fault::SlowWithdrawal => "slow_withdrawal",
            Fault::Error => "error",
        }
    }
}

impl fmt::Display for Fault {
    /// Writes [`Fault::as_str`].
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::Fault::Error.to_string(), "error");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Parses a name written by [`Fault::as_str`].
    ///
    /// ```
    /// use tracecheck::workload::Fault;
    /// assert_eq!("error".parse::<Fault>(), Ok(Fault::Error));
    /// assert!("oops".parse::<Fault>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Fault, String> {
        Fault::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Fault::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown fault `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// What a generator made: counts, and the traces that carry each injected fault.
///
/// `faults` has an entry for every [`Fault`] (possibly empty); trace ids are 32-digit lowercase hex,
/// sorted, as in the `trace_id` column of a dataset.
///
/// ```
/// use tracecheck::workload::{generate_bank, BankOptions, Fault};
/// let mut spans = Vec::new();
/// # struct Collect<'a>(&'a mut Vec<tracecheck::ingest::Span>);
/// # impl tracecheck::ingest::SpanSink for Collect<'_> {
/// #     fn push(&mut self, s: tracecheck::ingest::Span) -> Result<(), tracecheck::Error> {
/// #         self.0.push(s);
/// #         Ok(())
/// #     }
/// #     fn reject(&mut self, e: tracecheck::Error) -> Result<(), tracecheck::Error> { Err(e) }
/// # }
/// let truth = generate_bank(&BankOptions::new(200).with_fault_rate(0.5), &mut Collect(&mut spans)).unwrap();
/// assert_eq!(truth.spans, spans.len());
/// assert_eq!(truth.faults.len(), Fault::ALL.len());
/// assert!(truth.faulty_traces() > 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundTruth {
    /// Number of traces generated.
    pub traces: usize,
    /// Number of spans generated.
    pub spans: usize,
    /// For each fault, the ids of the traces that carry it (32-digit lowercase hex, sorted).
    pub faults: BTreeMap<Fault, Vec<String>>,
}

impl Default for GroundTruth {
    /// Same as [`GroundTruth::new`].
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::GroundTruth::default(), tracecheck::workload::GroundTruth::new());
    /// ```
    fn default() -> GroundTruth {
        GroundTruth::new()
    }
}

impl GroundTruth {
    /// An empty ground truth with an (empty) entry for every fault.
    ///
    /// ```
    /// let t = tracecheck::workload::GroundTruth::new();
    /// assert_eq!(t.faulty_traces(), 0);
    /// assert_eq!(t.faults.len(), 5);
    /// ```
    pub fn new() -> GroundTruth {
        GroundTruth {
            traces: 0,
            spans: 0,
            faults: Fault::ALL.into_iter().map(|f| (f, Vec::new())).collect(),
        }
    }

    /// Number of traces that carry any fault.
    ///
    /// ```
    /// assert_eq!(tracecheck::workload::GroundTruth::new().faulty_traces(), 0);
    /// ```
    pub fn faulty_traces(&self) -> usize {
        self.faults.values().map(Vec::len).sum()
    }

    /// The fault injected into a trace (id in any case, with or without leading zeros), if any.
    ///
    /// ```
    /// use tracecheck::workload::{GroundTruth, Fault};
    /// let mut t = GroundTruth::new();
    /// t.faults.get_mut(&Fault::Error).unwrap().push(format!("{:032x}", 0xabcu128));
    /// assert_eq!(t.fault_of("ABC"), Some(Fault::Error));
    /// assert_eq!(t.fault_of("abd"), None);
    /// ```
    pub fn fault_of(&self, trace_id: &str) -> Option<Fault> {
        let id = crate::ingest::parse_hex_id(trace_id, 32)?;
        let hex = crate::ingest::trace_id_hex(id);
        self.faults
            .iter()
            .find(|(_, ids)| ids.binary_search(&hex).is_ok())
            .map(|(f, _)| *f)
    }

    /// Pretty JSON: `{"traces": N, "spans": N, "faults": {"<fault>": ["<trace id>", ...], ...}}`,
    /// with every fault present.
    ///
    /// ```
    /// let json = tracecheck::workload::GroundTruth::new().to_json();
    /// let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    /// assert_eq!(v["faults"]["missing_rollback"], serde_json::json!([]));
    /// ```
    pub fn to_json(&self) -> String {
        let faults: serde_json::Map<String, serde_json::Value> = self
            .faults
            .iter()
            .map(|(f, ids)| (f.as_str().to_string(), serde_json::json!(ids)))
            .collect();
        let value = serde_json::json!({
            "traces": self.traces,
            "spans": self.spans,
            "faults": faults,
        });
        serde_json::to_string_pretty(&value).expect("JSON values always serialize")
    }
}
