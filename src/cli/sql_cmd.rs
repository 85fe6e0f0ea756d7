//! `tracecheck sql [QUERY] --data X`: one query, or an interactive prompt.

use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use rustyline::error::ReadlineError;
use tracecheck::engine;
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
    #[command(flatten)]
    engine: super::engine_arg::EngineArg,
}

pub async fn run(a: Args) -> Result<u8> {
    let ctx = engine::open_on(&a.engine.engine, &a.data).await?;
    match &a.query {
        Some(q) => {
            let batches = ctx.sql(q).await?.collect().await?;
            output::write(&batches, a.format, a.output.as_deref())?;
            Ok(0)
        }
        None => repl(&ctx, a.format).await,
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".tracecheck_history"))
}

async fn repl(ctx: &SessionContext, format: Format) -> Result<u8> {
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
                let result = async { Ok::<_, Error>(ctx.sql(&statement).await?.collect().await?) }.await;
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
