//! Running a TraceQL query: parse, compile, and execute the SQL on a session holding the four
//! tables (local, or Ballista's).

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::prelude::SessionContext;

use super::compile::{compile, Compiled, Output, Range};
use crate::Result;

/// `ctx` as TraceQL queries run on it: the same tables and engine, planned assuming that a filter
/// keeps 2% of the rows (see [`execute`]). `explain --traceql` plans with it too.
///
/// ```
/// let ctx = tracecheck::engine::session();
/// let q = tracecheck::traceql::session_for(&ctx);
/// assert_eq!(q.state().config().options().optimizer.default_filter_selectivity, 2);
/// ```
pub fn session_for(ctx: &SessionContext) -> SessionContext {
    let mut state = ctx.state();
    state.config_mut().options_mut().optimizer.default_filter_selectivity = FILTER_SELECTIVITY;
    SessionContext::new_with_state(state)
}

/// The share of rows (percent) the planner assumes a TraceQL filter keeps (see [`execute`]).
const FILTER_SELECTIVITY: u8 = 2;

/// Parses, compiles and runs `text`; a metrics query without `range` covers the data's start
/// times in 60 steps ([`Range::covering`]). Errors in the query carry positions in `text`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> tracecheck::Result<()> {
/// let span = tracecheck::ingest::Span { name: "GET".into(), trace_id: 1, span_id: 2, ..Default::default() };
/// let ctx = tracecheck::engine::open_spans(vec![span]).await?;
/// let (compiled, batches) = tracecheck::traceql::run(&ctx, "{ name = \"GET\" }", None).await?;
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
/// assert!(compiled.sql.starts_with("WITH"));
/// # Ok(()) }
/// ```
pub async fn run(ctx: &SessionContext, text: &str, range: Option<Range>) -> Result<(Compiled, Vec<RecordBatch>)> {
    let query = super::parse(text).map_err(|e| e.into_error("query", text))?;
    let range = match (&query.metrics, range) {
        (Some(_), None) => Some(data_range(ctx).await?),
        (_, r) => r,
    };
    let compiled = compile(&query, range).map_err(|e| e.into_error("query", text))?;
    let batches = execute(ctx, &compiled).await?;
    Ok((compiled, batches))
}

/// Runs compiled SQL and sorts the rows: spans by trace, group and span id; metrics by labels and
/// step. One batch (none when there are no rows).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> tracecheck::Result<()> {
/// let spans = (1..=3).map(|i| tracecheck::ingest::Span { trace_id: 4 - i, span_id: i as u64, ..Default::default() });
/// let ctx = tracecheck::engine::open_spans(spans.collect()).await?;
/// let q = tracecheck::traceql::parse("{ }").unwrap();
/// let compiled = tracecheck::traceql::compile::compile(&q, None).unwrap();
/// let batches = tracecheck::traceql::execute(&ctx, &compiled).await?;
/// let ids = datafusion::arrow::compute::cast(batches[0].column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
/// let ids = ids.as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap();
/// assert!(ids.value(0) < ids.value(1) && ids.value(1) < ids.value(2));
/// # Ok(()) }
/// ```
pub async fn execute(ctx: &SessionContext, compiled: &Compiled) -> Result<Vec<RecordBatch>> {
    // TraceQL filters keep few rows (a span name, one attribute key of dozens), while DataFusion
    // assumes 20% when it sizes a filtered scan and picks the side of a join to hold in memory:
    // it held all 10M spans against 2M attribute rows (1.6 GB, 2.3 s; with 2%: 0.45 GB, 1.5 s).
    // Models lost a fifth with 5%, so only TraceQL's session gets it, on a copy of the state.
    let ctx = session_for(ctx);
    // The SQL has no ORDER BY (see `compile`): the rows are sorted here.
    let batches = ctx.sql(&compiled.sql).await?.collect().await?;
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let all = concat_batches(&first.schema(), &batches)?;
    if all.num_rows() == 0 {
        return Ok(vec![]);
    }
    let keys: Vec<usize> = match &compiled.output {
        Output::Spans { grouped: true, .. } => vec![0, 2, 1],
        Output::Spans { grouped: false, .. } => vec![0, 1],
        Output::Metrics { labels, .. } => (0..=labels.len()).collect(),
    };
    // Sorting by encoded rows: one byte comparison per pair, instead of one comparison per
    // column through dynamic comparators (a third of the time on 2M spans).
    let columns: Vec<_> = keys.iter().map(|&k| all.column(k).clone()).collect();
    let fields = columns.iter().map(|c| SortField::new(c.data_type().clone())).collect();
    let rows = RowConverter::new(fields)?.convert_columns(&columns)?;
    let mut order: Vec<u32> = (0..all.num_rows() as u32).collect();
    order.sort_unstable_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    Ok(vec![take_record_batch(&all, &UInt32Array::from(order))?])
}

/// The default metrics range of the data in `ctx`: its spans' start times in 60 steps (one step
/// of 1 ns over no spans).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> tracecheck::Result<()> {
/// let ctx = tracecheck::engine::open_spans(vec![]).await?;
/// assert_eq!(tracecheck::traceql::data_range(&ctx).await?.step, 1);
/// # Ok(()) }
/// ```
pub async fn data_range(ctx: &SessionContext) -> Result<Range> {
    let batches = ctx
        .sql("SELECT min(CAST(start_time AS BIGINT)) AS lo, max(CAST(start_time AS BIGINT)) AS hi FROM spans")
        .await?
        .collect()
        .await?;
    let cell = |column: usize| -> Option<i64> {
        let b = batches.iter().find(|b| b.num_rows() > 0)?;
        let a = b.column(column).as_any().downcast_ref::<Int64Array>()?;
        (!a.is_null(0)).then(|| a.value(0))
    };
    Ok(match (cell(0), cell(1)) {
        (Some(lo), Some(hi)) => Range::covering(lo, hi, 60),
        _ => Range {
            start: 0,
            end: 60,
            step: 1,
        },
    })
}
