//! Running one mining query and reading its columns by type.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use crate::error::Result;

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
