//! `tracecheck upgrade DATASET`: rewrite an older dataset in the current layout, atomically.

use std::path::PathBuf;

use tracecheck::store::upgrade;
use tracecheck::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset folder.
    dataset: PathBuf,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let stats = super::on_dataset(&a.dataset, upgrade).await?;
    if !a.quiet {
        if stats.parts == 0 && stats.from == stats.to {
            eprintln!("{} is already at schema version {}", a.dataset.display(), stats.to);
        } else {
            eprintln!(
                "upgraded {} from schema version {} to {}: {} parts, {} spans rewritten",
                a.dataset.display(),
                stats.from,
                stats.to,
                stats.parts,
                stats.spans
            );
        }
    }
    Ok(0)
}
