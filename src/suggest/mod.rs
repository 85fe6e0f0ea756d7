//! `tracecheck suggest`: candidate models mined from traces that are known to be good.
//!
//! Every template is a handful of SQL aggregates over the dataset (names, parent/child pairs,
//! nested-set pairs, sibling groups, per-trace tag ranges), so mining reads the data like a few
//! `check` runs and never holds traces in memory. A candidate is kept only when the aggregate says
//! it holds on *every* trace of the data, computed with the model language's own semantics (a
//! missing value never compares, `before` needs both times, siblings share a non-null parent...),
//! so each suggestion holds on the data it was mined from by construction.
//!
//! The stages: [`mine`] (data → [`Suggestion`]s, each with its [`Fact`] and support), [`rank`]
//! (drop implied facts, put first what `--data-bad` violates, cap per template and in all), and
//! [`render`] (canonical model text, with a comment per suggestion saying what it rests on).
//!
//! ```no_run
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::suggest::{mine, rank, render, Options};
//! let good = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let options = Options::default().with_min_support(10);
//! let candidates = mine(&good, &options).await?;
//! let ranked = rank(candidates, None, &options).await?;
//! print!("{}", render(&ranked.kept, "datasets/bank")?);
//! # Ok(()) }
//! ```

mod aggregates;
mod conditional;
mod order;
mod query;
mod ranking;
mod render;
mod structure;
mod values;

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::Result;
pub use ranking::{rank, Ranked};
pub use render::render;

/// What to mine and how much to keep.
///
/// ```
/// let options = tracecheck::suggest::Options::default().with_min_support(20).with_max(30);
/// assert_eq!(options.min_support(), 20);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    min_support: u64,
    max: usize,
    per_template: usize,
    margin: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_support: 5,
            max: 40,
            per_template: 6,
            margin: 1.5,
        }
    }
}

impl Options {
    /// A candidate needs at least this many applications (spans, span pairs or traces it was
    /// tested on) to be suggested. Default 5.
    ///
    /// ```
    /// assert_eq!(tracecheck::suggest::Options::default().with_min_support(3).min_support(), 3);
    /// ```
    pub fn with_min_support(mut self, n: u64) -> Self {
        self.min_support = n.max(1);
        self
    }

    /// At most this many suggestions in all. Default 40.
    ///
    /// ```
    /// assert_eq!(tracecheck::suggest::Options::default().with_max(10).max(), 10);
    /// ```
    pub fn with_max(mut self, n: usize) -> Self {
        self.max = n;
        self
    }

    /// At most this many suggestions per template (those that catch `--data-bad` aside). Default 6.
    ///
    /// ```
    /// assert_eq!(tracecheck::suggest::Options::default().with_per_template(2).per_template(), 2);
    /// ```
    pub fn with_per_template(mut self, n: usize) -> Self {
        self.per_template = n;
        self
    }

    /// Thresholds (duration ceilings, p99s, error rates) are the observed value times this.
    /// Default 1.5; values below 1 are taken as 1.
    ///
    /// ```
    /// assert_eq!(tracecheck::suggest::Options::default().with_margin(2.0).margin(), 2.0);
    /// ```
    pub fn with_margin(mut self, margin: f64) -> Self {
        self.margin = if margin.is_finite() { margin.max(1.0) } else { 1.0 };
        self
    }

    /// See [`Options::with_min_support`].
    pub fn min_support(&self) -> u64 {
        self.min_support
    }

    /// See [`Options::with_max`].
    pub fn max(&self) -> usize {
        self.max
    }

    /// See [`Options::with_per_template`].
    pub fn per_template(&self) -> usize {
        self.per_template
    }

    /// See [`Options::with_margin`].
    pub fn margin(&self) -> f64 {
        self.margin
    }
}

/// The shape of a suggestion; the file groups suggestions by template.
///
/// ```
/// assert_eq!(tracecheck::suggest::Template::Child.as_str(), "child");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Template {
    /// Every A has a child B (or exactly N).
    Child,
    /// Every A is a child of a B.
    Parent,
    /// Every A has a descendant B.
    Descendant,
    /// Every A is under (a descendant of) a B.
    Under,
    /// No A in a trace that has a B.
    Exclusive,
    /// A ends before its sibling B starts.
    Order,
    /// A's status is never error.
    NeverError,
    /// A's `http.status_code` is always one of a few values.
    StatusCodes,
    /// A never takes as long as the observed maximum times the margin.
    Duration,
    /// A's numeric tag K is always less than B's tag K in the same trace.
    TagOrder,
    /// When A's tag K is below (or not below) B's, some spans are always there (or never).
    Conditional,
    /// p99 of a service's span durations under the observed p99 times the margin.
    Latency,
    /// A name's error rate under the observed rate times the margin.
    ErrorRate,
}

impl Template {
    /// Every template, in the order of the file.
    pub const ALL: [Template; 13] = [
        Template::Conditional,
        Template::Child,
        Template::Parent,
        Template::Descendant,
        Template::Under,
        Template::Exclusive,
        Template::Order,
        Template::NeverError,
        Template::StatusCodes,
        Template::Duration,
        Template::TagOrder,
        Template::Latency,
        Template::ErrorRate,
    ];

    /// The template's name in comments and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Child => "child",
            Template::Parent => "parent",
            Template::Descendant => "descendant",
            Template::Under => "under",
            Template::Exclusive => "exclusive",
            Template::Order => "order",
            Template::NeverError => "never-error",
            Template::StatusCodes => "status-codes",
            Template::Duration => "duration",
            Template::TagOrder => "tag-order",
            Template::Conditional => "conditional",
            Template::Latency => "latency",
            Template::ErrorRate => "error-rate",
        }
    }
}

/// What a suggestion states about names, for dropping the suggestions others imply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fact {
    /// Every `parent` span has at least one `child` child.
    #[allow(missing_docs)]
    HasChild { parent: String, child: String },
    /// Every `child` span's parent is a `parent` span.
    #[allow(missing_docs)]
    ChildOf { child: String, parent: String },
    /// Every `ancestor` span has a `descendant` descendant.
    #[allow(missing_docs)]
    HasDescendant { ancestor: String, descendant: String },
    /// Every `descendant` span has an `ancestor` ancestor.
    #[allow(missing_docs)]
    Under { descendant: String, ancestor: String },
    /// Sibling `first` spans end before sibling `then` spans start.
    #[allow(missing_docs)]
    Before { first: String, then: String },
    /// Nothing implied by or implying other suggestions.
    Alone,
}

/// How a suggestion fared on the bad data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Caught {
    /// Violating traces (models) or failing groups (checks); 0 when it holds on the bad data too.
    pub count: u64,
    /// A short account for the comment ("violated in 12 traces of BAD").
    pub text: String,
}

/// One candidate model or check block.
#[derive(Clone, Debug)]
pub struct Suggestion {
    /// Its template.
    pub template: Template,
    /// The block's title (unique within one run).
    pub title: String,
    /// The block as model text (no comments), `model "…" { … }` or `check "…" { … }`.
    pub block: String,
    /// How many times it was tested on the good data: spans, span pairs or traces.
    pub support: u64,
    /// In how many traces it applied.
    pub traces: u64,
    /// Why it was kept, for the comment above it.
    pub why: String,
    /// What `--data-bad` did to it.
    pub caught: Option<Caught>,
    /// What it states, for implication.
    pub fact: Fact,
}

/// A suggestion that no other implies: a `model` or `check` block (`keyword`) titled `title`
/// holding `body` (its indented lines). Templates only build candidates; `rank` orders them.
fn alone(
    template: Template,
    keyword: &str,
    title: String,
    body: String,
    support: u64,
    traces: u64,
    why: String,
) -> Suggestion {
    Suggestion {
        template,
        block: format!("{keyword} {} {{\n{body}}}\n", crate::model::format::quote(&title)),
        title,
        support,
        traces,
        why,
        caught: None,
        fact: Fact::Alone,
    }
}

/// Every candidate of every template that holds on all of `good` with at least the minimum
/// support, before ranking.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// let good = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// let all = tracecheck::suggest::mine(&good, &Default::default()).await?;
/// assert!(all.iter().all(|s| s.support >= 5));
/// # Ok(()) }
/// ```
pub async fn mine(good: &SessionContext, options: &Options) -> Result<Vec<Suggestion>> {
    mine_in_passes(good, &[], options).await
}

/// [`mine`], with every query that relates spans of one trace run once per pass (sessions over
/// disjoint trace-id ranges covering `good`, from [`crate::engine::pass_sessions`]) and the
/// passes' counts added up, so the joins hold one range's traces at a time. The suggestions are
/// the same for any split of the traces; `passes` empty is one pass over `good`.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::engine::{open, pass_sessions};
/// let data = vec!["big-dataset".into()];
/// let good = open(&data).await?;
/// let passes = pass_sessions(&good, &data, 1_000_000).await?;
/// let all = tracecheck::suggest::mine_in_passes(&good, &passes, &Default::default()).await?;
/// # Ok(()) }
/// ```
pub async fn mine_in_passes(
    good: &SessionContext,
    passes: &[SessionContext],
    options: &Options,
) -> Result<Vec<Suggestion>> {
    let good = query::Good::new(good, passes);
    let names = structure::NameStats::load(&good, options).await?;
    let mut out = Vec::new();
    out.extend(conditional::mine(&good, &names, options).await?);
    out.extend(structure::mine(&good, &names, options).await?);
    out.extend(order::mine(&good, &names, options).await?);
    out.extend(values::mine(&good, &names, options).await?);
    out.extend(aggregates::mine(&good, options).await?);
    Ok(out)
}

/// A duration or other positive value rounded up to two significant digits, so thresholds read
/// as people write them (179.6 ms → 180 ms).
///
/// ```
/// # use tracecheck::suggest::round_up;
/// assert_eq!(round_up(179_600_000.0), 180_000_000);
/// assert_eq!(round_up(7.0), 7);
/// ```
pub fn round_up(value: f64) -> i64 {
    if value.is_nan() || value <= 0.0 {
        return 0;
    }
    let digits = value.log10().floor() as i32;
    let scale = 10f64.powi((digits - 1).max(0));
    ((value / scale).ceil() * scale) as i64
}

/// A duration for people: "119.7ms", "2.31s", "850ns".
///
/// ```
/// # use tracecheck::suggest::human_duration;
/// assert_eq!(human_duration(119_734_521), "119.7ms");
/// assert_eq!(human_duration(2_310_000_000), "2.31s");
/// ```
pub fn human_duration(ns: i64) -> String {
    let v = ns as f64;
    if ns.abs() >= 1_000_000_000 {
        format!("{:.2}s", v / 1e9)
    } else if ns.abs() >= 1_000_000 {
        format!("{:.1}ms", v / 1e6)
    } else if ns.abs() >= 1_000 {
        format!("{:.1}us", v / 1e3)
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests;
