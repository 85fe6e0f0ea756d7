//! Running one mining query, over the whole good data or pass by pass, and reading its columns by
//! type.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::error::Result;

/// How a column of a per-pass result combines across passes. Passes hold disjoint sets of whole
/// traces, so a count, a sum and a count of distinct traces add up, and a maximum is the largest
/// of the passes' maxima.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Merge {
    /// Part of the row's key: rows of equal keys are combined.
    Key,
    /// Added.
    Sum,
    /// The largest.
    Max,
    /// The smallest.
    Min,
}

/// The good data as mining sees it: passes over trace-id ranges (every trace in exactly one), on
/// which every query whose columns add up runs, and the whole, for what does not (a p99).
pub(super) struct Good<'a> {
    pub whole: &'a SessionContext,
    passes: &'a [SessionContext],
}

impl<'a> Good<'a> {
    /// `passes` empty: one pass over the whole.
    pub fn new(whole: &'a SessionContext, passes: &'a [SessionContext]) -> Self {
        Good { whole, passes }
    }

    /// Runs `sql` on every pass and combines the passes' rows by `merge` (one entry per column).
    /// With one pass, its rows as they are: the combination of rows with distinct keys is the same
    /// rows.
    pub async fn rows(&self, sql: &str, merge: &[Merge]) -> Result<Rows> {
        match self.passes {
            [] => Rows::query(self.whole, sql).await,
            [one] => Rows::query(one, sql).await,
            passes => {
                let mut parts = Vec::new();
                for pass in passes {
                    let rows = Rows::query(pass, sql).await?;
                    let renamed = positional(rows.batch.schema().as_ref());
                    parts.push(RecordBatch::try_new(renamed, rows.batch.columns().to_vec())?);
                }
                // Every pass ran the same SQL: the first part's schema is every part's.
                let schema = parts[0].schema();
                let merged = SessionContext::new();
                merged.register_table("pass", Arc::new(MemTable::try_new(schema, vec![parts])?))?;
                Rows::query(&merged, &merge_sql(merge)).await
            }
        }
    }
}

/// The same columns named `c0`, `c1`, … (engine-chosen names such as `count(*)` repeat and need
/// quoting) and nullable (a pass may have NULLs where another has none).
fn positional(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Field::new(format!("c{i}"), f.data_type().clone(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// `SELECT c0, sum(c1), max(c2) FROM pass GROUP BY c0`.
fn merge_sql(merge: &[Merge]) -> String {
    let columns: Vec<String> = merge
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            Merge::Key => format!("c{i}"),
            Merge::Sum => format!("sum(c{i})"),
            Merge::Max => format!("max(c{i})"),
            Merge::Min => format!("min(c{i})"),
        })
        .collect();
    let keys: Vec<String> = (0..merge.len())
        .filter(|i| merge[*i] == Merge::Key)
        .map(|i| format!("c{i}"))
        .collect();
    let mut sql = format!("SELECT {} FROM pass", columns.join(", "));
    if !keys.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", keys.join(", ")));
    }
    sql
}

/// The rows of one query, as one batch.
pub(super) struct Rows {
    batch: RecordBatch,
}

impl Rows {
    /// Runs `sql` on `ctx` and collects every row.
    pub async fn query(ctx: &SessionContext, sql: &str) -> Result<Rows> {
        let df = ctx.sql(sql).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        Ok(Rows {
            batch: concat_batches(&schema, &batches)?,
        })
    }

    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Column `col` as strings (whatever string type the engine chose); NULL is `None`.
    pub fn strings(&self, col: usize) -> Result<Vec<Option<String>>> {
        let a = cast(self.batch.column(col), &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok((0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect())
    }

    /// Column `col` as strings, NULL as the empty string (for columns the query never leaves NULL).
    pub fn texts(&self, col: usize) -> Result<Vec<String>> {
        Ok(self.strings(col)?.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Column `col` as i64; NULL is `None`.
    pub fn ints(&self, col: usize) -> Result<Vec<Option<i64>>> {
        let a = cast(self.batch.column(col), &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        Ok((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))).collect())
    }

    /// Column `col` as u64 counts, NULL as 0.
    pub fn counts(&self, col: usize) -> Result<Vec<u64>> {
        Ok(self
            .ints(col)?
            .into_iter()
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .collect())
    }

    /// Column `col` as f64; NULL is `None`.
    pub fn floats(&self, col: usize) -> Result<Vec<Option<f64>>> {
        let a = cast(self.batch.column(col), &DataType::Float64)?;
        let a = a.as_primitive::<Float64Type>();
        Ok((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))).collect())
    }
}

/// A SQL string literal.
pub(super) fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `col IN ('a', 'b', ...)`; FALSE for no names (so a query over no names returns no rows).
pub(super) fn sql_in(col: &str, names: &[String]) -> String {
    if names.is_empty() {
        return "FALSE".to_string();
    }
    let list: Vec<String> = names.iter().map(|n| sql_str(n)).collect();
    format!("{col} IN ({})", list.join(", "))
}
