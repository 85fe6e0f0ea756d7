//! `tracecheck show TRACE_ID --data X`: one trace as a waterfall in the terminal, for a quick look
//! without a browser. Exit 0, or 2 when the id is malformed or not in the data.

use std::io::Write;
use std::path::PathBuf;

use tracecheck::check::traces;
use tracecheck::report::terminal;
use tracecheck::{engine, Error, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The trace id: hex, any case, leading zeros optional.
    trace_id: String,
    /// A dataset folder, or trace files / folders (decoded in memory). Repeatable.
    #[arg(short, long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Characters of the bar column.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(1..=1000))]
    width: u16,
    /// Span ids to mark with `*` (e.g. a violation's witnesses). Repeatable.
    #[arg(long, num_args = 1..)]
    mark: Vec<String>,
}

pub async fn run(a: Args) -> Result<u8> {
    // Validated before any data is read: a typo fails at once and nothing unchecked reaches SQL.
    let id = traces::normalize_trace_id(&a.trace_id)?;
    let marked = a
        .mark
        .iter()
        .map(|m| traces::normalize_span_id(m))
        .collect::<Result<Vec<_>>>()?;
    let ctx = engine::open(&a.data).await?;
    let tree = traces::load_one(&ctx, &id).await?.ok_or_else(|| {
        let data: Vec<String> = a.data.iter().map(|p| p.display().to_string()).collect();
        Error::Usage(format!("trace {id} is not in the data ({})", data.join(", ")))
    })?;
    let text = terminal::waterfall(&tree, usize::from(a.width), &marked);
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(0)
}
