//! Aggregate templates, as `check` blocks: p99 latency per service, error rate per name.

use super::query::{Good, Merge, Rows};
use super::structure::{count, tick};
use super::{alone, human_duration, round_up, Options, Suggestion, Template};
use crate::error::Result;
use crate::model::format::{duration_text, quote};

/// A percentile of fewer values than this is mostly the maximum: no latency rule.
const MIN_FOR_P99: u64 = 20;

pub(super) async fn mine(good: &Good<'_>, options: &Options) -> Result<Vec<Suggestion>> {
    // A p99 does not add up across passes: it runs on the whole data (one grouped scan, no join).
    let mut out = latency(good.whole, options).await?;
    out.extend(error_rate(good, options).await?);
    Ok(out)
}

/// `p99(span(service = "s").duration) < observed p99 × margin`, computed as the check computes it
/// (`quantile_cont` over the durations as doubles).
async fn latency(ctx: &datafusion::prelude::SessionContext, options: &Options) -> Result<Vec<Suggestion>> {
    let rows = Rows::query(
        ctx,
        "SELECT service, quantile_cont(CAST(duration AS DOUBLE), 0.99), count(duration), count(DISTINCT trace_id) \
         FROM spans GROUP BY service",
    )
    .await?;
    let (service, p99, n, traces) = (rows.texts(0)?, rows.floats(1)?, rows.counts(2)?, rows.counts(3)?);
    let mut out = Vec::new();
    for i in 0..rows.len() {
        let Some(p) = p99[i].filter(|p| *p > 0.0) else { continue };
        if n[i] < options.min_support.max(MIN_FOR_P99) {
            continue;
        }
        let threshold = round_up(p * options.margin).max(p.ceil() as i64 + 1);
        out.push(alone(
            Template::Latency,
            "check",
            format!("p99 latency of {}", tick(&service[i])),
            format!(
                "    p99(span(service = {}).duration) < {}\n",
                quote(&service[i]),
                duration_text(threshold)
            ),
            n[i],
            traces[i],
            format!(
                "p99 of {} was {}; the margin is {}x",
                count(n[i], &format!("{} span", tick(&service[i]))),
                human_duration(p as i64),
                options.margin
            ),
        ));
    }
    Ok(out)
}

/// `error_rate(span(name = "a")) < observed × margin` for names that did fail sometimes, with the
/// check's own meaning of an error: status error, or a server span answering 5xx.
async fn error_rate(good: &Good<'_>, options: &Options) -> Result<Vec<Suggestion>> {
    let rows = good
        .rows(
            "SELECT name, sum(CASE WHEN status = 'error' OR (kind = 'server' AND http_status_code >= 500) \
                               THEN 1 ELSE 0 END), \
                    count(*), count(DISTINCT trace_id) \
             FROM spans GROUP BY name",
            &[Merge::Key, Merge::Sum, Merge::Sum, Merge::Sum],
        )
        .await?;
    let (name, errors, n, traces) = (rows.texts(0)?, rows.counts(1)?, rows.counts(2)?, rows.counts(3)?);
    let mut out = Vec::new();
    for i in 0..rows.len() {
        if errors[i] == 0 || n[i] < options.min_support {
            continue;
        }
        let r = errors[i] as f64 / n[i] as f64;
        // In hundredths of a percent, rounded up; at least one percentage point above the
        // observed rate, and only while that stays below 100%.
        let observed = r * 10_000.0;
        let threshold = round_up(observed * options.margin).max(observed.ceil() as i64 + 100);
        if threshold >= 10_000 {
            continue;
        }
        let percent = format!("{}%", threshold as f64 / 100.0);
        out.push(alone(
            Template::ErrorRate,
            "check",
            format!("error rate of {}", tick(&name[i])),
            format!("    error_rate(span(name = {})) < {percent}\n", quote(&name[i])),
            n[i],
            traces[i],
            format!(
                "{:.2}% of {} were errors; the margin is {}x",
                r * 100.0,
                count(n[i], &format!("{} span", tick(&name[i]))),
                options.margin
            ),
        ));
    }
    Ok(out)
}
