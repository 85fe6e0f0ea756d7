//! `tracecheck sql [QUERY] --data X`: one query, or an interactive prompt.

use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use rustyline::error::ReadlineError;
use tracecheck::{Error, Result};

use super::output::{self, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The SQL query; omit for an interactive prompt (statements end with `;`).
    query: Option<String>,
    /// A dataset folder, or trace files / folders (decoded in memory). Repeatable.
    #[arg(short, long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the result to this file instead of stdout (required for parquet).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Allow statements that write files (`COPY ... TO`, `INSERT` into file-backed tables) or read
    /// any file (`CREATE EXTERNAL TABLE ... LOCATION`). Even then nothing is written inside a
    /// dataset folder, and the dataset tables stay read-only.
    #[arg(long)]
    allow_write: bool,
    #[command(flatten)]
    engine: super::engine_arg::EngineArg,
}

pub async fn run(mut a: Args) -> Result<u8> {
    // `--data` takes several values, so in `sql --data DS "SELECT ..."` clap hands the query to
    // `--data` too. A last value that is no file but has a space in it is the query.
    if a.query.is_none() && a.data.len() > 1 {
        let last = a.data.last().expect("two values");
        if !last.exists() && last.to_string_lossy().contains(char::is_whitespace) {
            a.query = a.data.pop().map(|q| q.to_string_lossy().into_owned());
        }
    }
    let ctx = a.engine.open(&a.data).await?;
    match &a.query {
        Some(q) => {
            let batches = run_sql(&ctx, q, a.allow_write).await?;
            output::write(&batches, a.format, a.output.as_deref())?;
            Ok(0)
        }
        None => repl(&ctx, a.format, a.allow_write).await,
    }
}

/// Plans one statement, refuses it if it writes or reads files without `--allow-write` (or writes
/// into a dataset at all), then runs it.
async fn run_sql(ctx: &SessionContext, sql: &str, allow_write: bool) -> Result<Vec<RecordBatch>> {
    let plan = ctx.state().create_logical_plan(sql).await?;
    guard(&plan, allow_write)?;
    Ok(ctx.execute_logical_plan(plan).await?.collect().await?)
}

/// The tables a dataset registers: never written by SQL, whose INSERT would add files to it.
const DATASET_TABLES: [&str; 4] = ["spans", "tags", "refs", "logs"];

fn guard(plan: &LogicalPlan, allow_write: bool) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::Usage(format!(
            "{what}: `tracecheck sql` is read-only unless --allow-write is given"
        )))
    };
    match plan {
        LogicalPlan::Copy(copy) => {
            if !allow_write {
                return refuse("COPY writes files");
            }
            let target = copy.output_url.strip_prefix("file://").unwrap_or(&copy.output_url);
            if let Some(dataset) = enclosing_dataset(Path::new(target)) {
                return Err(Error::Usage(format!(
                    "COPY TO {target:?} would write inside the dataset {}: datasets are written only \
                     by tracecheck's own atomic writes (ingest, collect, compact)",
                    dataset.display()
                )));
            }
        }
        LogicalPlan::Dml(dml) => {
            if DATASET_TABLES.contains(&dml.table_name.table()) {
                return Err(Error::Usage(format!(
                    "{} {}: the trace tables are read-only (a dataset is written only by ingest, \
                     collect and compact)",
                    dml.op, dml.table_name
                )));
            }
            if !allow_write {
                return refuse(&format!("{} writes a table", dml.op));
            }
        }
        LogicalPlan::Ddl(DdlStatement::CreateExternalTable(t)) if !allow_write => {
            return refuse(&format!(
                "CREATE EXTERNAL TABLE reads files outside --data ({})",
                t.locations.join(", ")
            ));
        }
        _ => {}
    }
    Ok(())
}

/// The dataset folder (one holding `tracecheck.json`) that `path` is inside, if any: the path as
/// written and, for the part that exists, with symbolic links resolved.
fn enclosing_dataset(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let existing = absolute
        .ancestors()
        .find(|p| p.exists())
        .and_then(|p| p.canonicalize().ok());
    let candidates = absolute.ancestors().map(Path::to_path_buf);
    let resolved = existing
        .into_iter()
        .flat_map(|p| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>());
    candidates
        .chain(resolved)
        .find(|dir| dir.join("tracecheck.json").is_file())
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".tracecheck_history"))
}

async fn repl(ctx: &SessionContext, format: Format, allow_write: bool) -> Result<u8> {
    let mut rl = rustyline::DefaultEditor::new().map_err(|e| Error::Usage(format!("cannot start the prompt: {e}")))?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!("tracecheck SQL: tables spans, tags, refs, logs. End statements with ';'. Ctrl-D quits.");
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "sql> " } else { "  -> " };
        match rl.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if pending.is_empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit") {
                    break;
                }
                pending.push_str(&line);
                pending.push('\n');
                if !trimmed.ends_with(';') {
                    continue;
                }
                let statement = std::mem::take(&mut pending);
                let _ = rl.add_history_entry(statement.trim());
                let result = run_sql(ctx, &statement, allow_write).await;
                match result {
                    Ok(batches) => output::write(&batches, format, None)?,
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Usage(format!("prompt failed: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(0)
}
