//! Metrics functions (`| rate() by (x)`) → SQL: the selected spans that start inside the range,
//! bucketed by step, one row per series and step.

use super::field::FieldCompiler;
use super::joins::Joins;
use super::value::{float_lit, str_lit};
use super::{unsupported, CResult, Compiler, Output, Range};
use crate::traceql::ast::{FieldRef, Metrics, MetricsFn};

/// The final `SELECT` of a metrics query over the spanset table `rel`.
pub(super) fn compile(c: &mut Compiler, rel: &str, m: &Metrics, range: Range) -> CResult<(String, Output)> {
    if range.step <= 0 || range.end <= range.start {
        return Err(super::TraceQlError::new(
            m.span.range(),
            format!(
                "the range must have end > start and step > 0 (start {}, end {}, step {})",
                range.start, range.end, range.step
            ),
        ));
    }
    let mut joins = Joins::default();
    let mut labels = Vec::new();
    let mut label_sql = Vec::new();
    for f in &m.by {
        let v = FieldCompiler { joins: &mut joins }.field(f)?;
        labels.push(f.to_string());
        label_sql.push(v.display_sql());
    }
    let field: Option<&FieldRef> = match &m.func {
        MetricsFn::Rate | MetricsFn::CountOverTime => None,
        MetricsFn::MinOverTime(f)
        | MetricsFn::MaxOverTime(f)
        | MetricsFn::AvgOverTime(f)
        | MetricsFn::SumOverTime(f) => Some(f),
        MetricsFn::QuantileOverTime { field, .. } => Some(field),
        other => return Err(unsupported(m.span.range(), &format!("{}()", other.name()))),
    };
    // Durations enter metrics in seconds, as Tempo's `*_over_time(duration)`.
    let value = match field {
        Some(f) => FieldCompiler { joins: &mut joins }.field(f)?.number_sql(1e9),
        None => "NULL".into(),
    };
    if joins.multiplies() {
        return Err(unsupported(m.span.range(), "event and link fields in metrics"));
    }
    c.use_joins(&joins);
    let (start, end, step) = (range.start, range.end, range.step);
    let label_cols: Vec<String> = (0..label_sql.len()).map(|i| format!("l{i}")).collect();
    let mut select = label_sql
        .iter()
        .zip(&label_cols)
        .map(|(sql, col)| format!("{sql} AS {col}"))
        .collect::<Vec<_>>();
    // The series key: every label, so that series join on one column.
    select.push(if label_sql.is_empty() {
        "'' AS lk".into()
    } else {
        format!("{} AS lk", label_sql.join(" || '\u{1f}' || "))
    });
    let offset = format!("(CAST(r.start_time AS BIGINT) - {start})");
    select.push(format!(
        "CAST(floor(CAST({offset} AS DOUBLE) / {}) AS BIGINT) AS k",
        float_lit(step as f64)
    ));
    select.push(format!("{value} AS v"));
    let select = select.join(", ");
    let from = Compiler::from_rel(rel, &[&select], &joins);
    let points = c.add(format!(
        "SELECT {select}\n  FROM {from}\n  WHERE CAST(r.start_time AS BIGINT) >= {start} AND CAST(r.start_time AS BIGINT) < {end}"
    ));
    let out_labels = |alias: &str| {
        label_cols
            .iter()
            .zip(&labels)
            .map(|(col, name)| format!("{alias}.{col} AS \"{}\", ", name.replace('"', "\"\"")))
            .collect::<String>()
    };
    let step_start = |alias: &str| format!("{start} + {alias}.k * {step} AS step_start");
    let sql = match &m.func {
        MetricsFn::Rate | MetricsFn::CountOverTime => {
            let per = if matches!(m.func, MetricsFn::Rate) {
                format!(" / {}", float_lit(step as f64 / 1e9))
            } else {
                String::new()
            };
            let cols = label_cols.iter().map(|c| format!("{c}, ")).collect::<String>();
            let counts = c.add(format!(
                "SELECT {cols}lk, k, count(*) AS n FROM {points} GROUP BY {cols}lk, k"
            ));
            let steps = c.add(format!("SELECT unnest(range(0, {})) AS k", range.steps()));
            // Every step of a series, 0 where no span falls (Decision 16): each series' counts
            // against every step, summed where the step matches. `counts` is read once (a common
            // table read twice is computed twice by DataFusion, which inlines them).
            let group = label_cols.iter().map(|c| format!("n.{c}, ")).collect::<String>();
            format!(
                "SELECT {}{}, CAST(sum(CASE WHEN n.k = st.k THEN n.n ELSE 0 END) AS DOUBLE){per} AS value\n\
                 FROM {counts} n CROSS JOIN {steps} st\n  GROUP BY {group}n.lk, st.k",
                out_labels("n"),
                step_start("st"),
            )
        }
        MetricsFn::QuantileOverTime { quantiles, .. } => {
            let cols = label_cols.iter().map(|c| format!("{c}, ")).collect::<String>();
            let parts: Vec<String> = quantiles
                .iter()
                .map(|q| {
                    format!(
                        "SELECT {}{} AS p, {}, quantile_cont(v, {}) AS value FROM {points} WHERE v IS NOT NULL GROUP BY {cols}k",
                        out_labels(&points),
                        str_lit(&q.to_string()),
                        step_start(&points),
                        float_lit(*q)
                    )
                })
                .collect();
            parts.join("\n  UNION ALL\n  ")
        }
        func => {
            let agg = match func {
                MetricsFn::MinOverTime(_) => "min",
                MetricsFn::MaxOverTime(_) => "max",
                MetricsFn::SumOverTime(_) => "sum",
                _ => "avg",
            };
            let cols = label_cols.iter().map(|c| format!("{c}, ")).collect::<String>();
            format!(
                "SELECT {}{}, {agg}(v) AS value FROM {points} WHERE v IS NOT NULL GROUP BY {cols}k",
                out_labels(&points),
                step_start(&points),
            )
        }
    };
    if matches!(m.func, MetricsFn::QuantileOverTime { .. }) {
        labels.push("p".into());
    }
    Ok((sql, Output::Metrics { labels, range }))
}
