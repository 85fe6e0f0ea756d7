//! A reference evaluator for TraceQL, written from the semantics in `tests/traceql/README.md` and
//! nothing else: no SQL, no DataFusion, just the decoded spans in memory. It checks the expected
//! output of every case file, independently of the TraceQL → SQL compiler, so that a case and the
//! compiler agreeing cannot hide a wrong expectation.
//!
//! | module | what |
//! | --- | --- |
//! | [`value`] | dynamic values, comparison, arithmetic, printing |
//! | [`trace`] | spans of a trace, structure, field lookup |
//! | [`expr`] | field expressions, event/link binding |
//! | [`spanset`] | spanset operators, structure, pipeline stages, aggregates |
//! | [`metrics`] | metrics functions |
//! | [`output`] | span lines, `by` headers, `select` fields |
//! | [`cases`] | the test over `tests/traceql/*.case` |

use tracecheck::ingest::Span;
use tracecheck::traceql::Query;

mod cases;
mod expr;
mod metrics;
mod output;
mod spanset;
mod trace;
mod value;

pub use metrics::Range;

/// The output lines of `query` over the spans of one data file, as a case file expects them
/// (`(none)` when nothing is left). `range` is needed by metrics queries only. An error names what
/// the evaluator does not support (second-stage functions, `histogram_over_time`, `compare`).
pub fn evaluate(query: &Query, spans: &[Span], range: Option<Range>) -> Result<Vec<String>, String> {
    if !query.second_stage.is_empty() {
        return Err("second-stage functions (topk, bottomk) are not supported".to_string());
    }
    let traces = trace::traces(spans);
    let mut selects = Vec::new();
    let sets = spanset::run_pipeline(
        &traces,
        &query.pipeline.stages,
        spanset::whole_traces(&traces),
        &mut selects,
    );
    let lines = match &query.metrics {
        Some(m) => metrics::rows(m, &traces, &sets, range.ok_or("a metrics query needs a range")?)?,
        None => output::span_lines(&traces, &sets, &selects),
    };
    Ok(if lines.is_empty() {
        vec!["(none)".to_string()]
    } else {
        lines
    })
}
