//! `tracecheck compact DATASET`: merge small parts (e.g. the collector's) into larger ones.

use std::path::PathBuf;

use tracecheck::store::compact;
use tracecheck::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset folder.
    dataset: PathBuf,
    /// Parts with fewer spans than this are merged, into parts of at most this many spans.
    #[arg(long, default_value_t = 1_000_000)]
    target_spans: usize,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let target = a.target_spans;
    let stats = super::on_dataset(&a.dataset, move |d| compact(d, target)).await?;
    if !a.quiet {
        if stats.parts_merged == 0 {
            eprintln!(
                "nothing to compact: {} parts, fewer than two below {target} spans",
                stats.parts_before
            );
        } else {
            eprintln!(
                "merged {} parts ({} spans, {} traces): {} parts → {}",
                stats.parts_merged, stats.spans, stats.traces, stats.parts_before, stats.parts_after
            );
        }
    }
    Ok(0)
}
