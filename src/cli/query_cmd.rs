//! `tracecheck query 'TRACEQL' --data X`: the spans (or metrics series) a TraceQL query selects.
//! Exit 0 whether or not anything matched, 2 on an error.

use std::path::PathBuf;

use tracecheck::traceql::compile::Range;
use tracecheck::{Error, Result};

use super::output::{self, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The TraceQL query, e.g. `{ resource.service.name = "bank" && status = error }`.
    query: String,
    /// A dataset folder, or trace files / folders (decoded in memory). Repeatable.
    #[arg(short, long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Output format: one row per span (trace_id, span_id, then `by` and the `select` fields), or
    /// per series and step for a metrics query.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the result to this file instead of stdout (required for parquet).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// At most this many traces (the first by trace id); all when not given.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    engine: super::engine_arg::EngineArg,
}

/// `--start/--end/--step` of metrics queries.
#[derive(clap::Args, Debug, Default)]
pub struct RangeArgs {
    /// Metrics: first step's start, RFC 3339 (`2026-01-01T00:00:00Z`) or nanoseconds since the epoch
    /// (default: the data's first span start, in 60 steps).
    #[arg(long, value_parser = parse_time)]
    start: Option<i64>,
    /// Metrics: end of the range (exclusive), as --start.
    #[arg(long, value_parser = parse_time)]
    end: Option<i64>,
    /// Metrics: step length (`10s`, `1m`, `500ms`; default (end - start) / 60).
    #[arg(long, value_parser = super::duration::parse_duration)]
    step: Option<std::time::Duration>,
}

impl RangeArgs {
    /// The range the arguments give, filled in from the data's when `ctx` is given.
    pub async fn resolve(&self, ctx: Option<&datafusion::prelude::SessionContext>) -> Result<Option<Range>> {
        if self.start.is_none() && self.end.is_none() && self.step.is_none() && ctx.is_none() {
            return Ok(None);
        }
        let data = match ctx {
            Some(ctx) if self.start.is_none() || self.end.is_none() => {
                Some(tracecheck::traceql::data_range(ctx).await?)
            }
            _ => None,
        };
        let start = self.start.or(data.map(|d| d.start));
        let end = self.end.or(data.map(|d| d.end));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(Error::Usage(
                "a metrics query needs --start and --end, or --data".into(),
            ));
        };
        if end <= start {
            return Err(Error::Usage(format!("--end ({end}) must be after --start ({start})")));
        }
        let step = match self.step {
            Some(s) => i64::try_from(s.as_nanos()).unwrap_or(i64::MAX),
            None if self.start.is_none() && self.end.is_none() => data.map_or(1, |d| d.step),
            None => ((end - start) / 60).max(1),
        };
        if step <= 0 {
            return Err(Error::Usage("--step must be longer than 0".into()));
        }
        Ok(Some(Range { start, end, step }))
    }
}

fn parse_time(text: &str) -> std::result::Result<i64, String> {
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(ns);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| format!("{text:?} is neither RFC 3339 (2026-01-01T00:00:00Z) nor nanoseconds since the epoch"))
}

pub async fn run(a: Args) -> Result<u8> {
    // A query that does not parse fails before any data is read.
    let parsed = tracecheck::traceql::parse(&a.query).map_err(|e| e.into_error("query", &a.query))?;
    let ctx = a.engine.open(&a.data).await?;
    let range = match parsed.metrics {
        Some(_) => a.range.resolve(Some(&ctx)).await?,
        None => None,
    };
    let compiled = tracecheck::traceql::compile::compile_limited(&parsed, range, a.limit)
        .map_err(|e| e.into_error("query", &a.query))?;
    let batches = tracecheck::traceql::execute(&ctx, &compiled).await?;
    output::write(&batches, a.format, a.output.as_deref())?;
    Ok(0)
}
