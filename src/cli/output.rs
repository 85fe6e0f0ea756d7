//! Printing query results: table, CSV, JSON lines, or a Parquet file.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use tracecheck::{Error, Result};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row (JSON lines).
    Json,
    /// A Parquet file (needs --output).
    Parquet,
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

/// Writes `batches` in `format` to stdout, or to `output` when given.
pub fn write(batches: &[RecordBatch], format: Format, output: Option<&Path>) -> Result<()> {
    if format == Format::Parquet {
        let path = output.ok_or_else(|| Error::Usage("--format parquet needs --output FILE".into()))?;
        return write_parquet(batches, path);
    }
    let mut buf: Vec<u8> = Vec::new();
    match format {
        Format::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                let cols: Vec<String> = batches
                    .first()
                    .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
                    .unwrap_or_default();
                writeln!(
                    buf,
                    "(no rows{})",
                    if cols.is_empty() {
                        String::new()
                    } else {
                        format!("; columns: {}", cols.join(", "))
                    }
                )
                .ok();
            } else {
                writeln!(buf, "{}", pretty_format_batches(batches)?).ok();
            }
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut buf);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut buf);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => unreachable!("handled above"),
    }
    match output {
        Some(p) => std::fs::write(p, &buf).map_err(|e| Error::io(p, e)),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf).map_err(stdout_err)?;
            out.flush().map_err(stdout_err)
        }
    }
}

fn write_parquet(batches: &[RecordBatch], path: &Path) -> Result<()> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => return Err(Error::Usage("the query returned no batches to write".into())),
    };
    super::atomic::write_file(path, |file| {
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        for b in batches {
            w.write(b)?;
        }
        w.close()?;
        Ok(())
    })
}
