//! Reading the rows of compiled queries back into Rust values.
//!
//! Engines differ in the string type they return (DataFusion reads Parquet strings as views), so every
//! column is cast to plain `Utf8` / `Int64` first.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Query;

use super::Violation;
use crate::error::{Error, Result};

pub(super) fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<datafusion::arrow::array::ArrayRef> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Bug(format!("compiled query has no column `{name}`")))?;
    Ok(cast(col, to)?)
}

/// Violations from the rows of a violations query.
pub fn violations(batches: &[RecordBatch], let_names: &[String]) -> Result<Vec<Violation>> {
    let mut out = Vec::new();
    for b in batches {
        let model = column(b, "model", &DataType::Utf8)?;
        let clause = column(b, "clause", &DataType::Int64)?;
        let trace = column(b, "trace_id", &DataType::Utf8)?;
        let matched = column(b, "matched", &DataType::Int64)?;
        let witnesses = column(b, "witnesses", &DataType::Utf8)?;
        let lets = let_names
            .iter()
            .map(|n| column(b, &format!("let_{n}"), &DataType::Utf8))
            .collect::<Result<Vec<_>>>()?;
        let (model, clause, trace) = (
            model.as_string::<i32>(),
            clause.as_primitive::<Int64Type>(),
            trace.as_string::<i32>(),
        );
        let (matched, witnesses) = (matched.as_primitive::<Int64Type>(), witnesses.as_string::<i32>());
        for row in 0..b.num_rows() {
            let w = if witnesses.is_null(row) || witnesses.value(row).is_empty() {
                Vec::new()
            } else {
                witnesses.value(row).split(',').map(str::to_string).collect()
            };
            out.push(Violation {
                model: model.value(row).to_string(),
                clause: usize::try_from(clause.value(row)).map_err(|_| Error::Bug("negative clause".into()))?,
                trace_id: trace.value(row).to_string(),
                assignment: let_names
                    .iter()
                    .zip(&lets)
                    .map(|(n, c)| (n.clone(), c.as_string::<i32>().value(row).to_string()))
                    .collect(),
                matched: matched.value(row),
                witnesses: w,
            });
        }
    }
    // The query orders its rows; sorting again makes the order independent of the engine's
    // collation and of how batches were split.
    out.sort();
    Ok(out)
}

/// `(assignments, traces)` from a statistics query.
pub async fn stats(ctx: &SessionContext, query: &Query) -> Result<(u64, u64)> {
    let batches = crate::engine::run_query(ctx, query).await?.collect().await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| Error::Bug("statistics query returned no row".into()))?;
    let get = |name: &str| -> Result<u64> {
        let c = column(b, name, &DataType::Int64)?;
        Ok(u64::try_from(c.as_primitive::<Int64Type>().value(0)).unwrap_or(0))
    };
    Ok((get("assignments")?, get("traces")?))
}
