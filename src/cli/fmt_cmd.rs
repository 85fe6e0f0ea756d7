//! `tracecheck fmt MODELS...`: print model files canonically, or rewrite / check them in place.

use std::path::PathBuf;

use tracecheck::model::{format_file, parse_file};
use tracecheck::{Error, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `.model` files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Rewrite the files in place instead of printing them.
    #[arg(short, long, conflicts_with = "check")]
    write: bool,
    /// Exit 1 if a file is not formatted canonically (prints nothing else).
    #[arg(long)]
    check: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let mut unformatted = 0;
    for path in &a.files {
        let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let file = match parse_file(&source) {
            Ok(f) => f,
            Err(e) => {
                // The rendered diagnostic is the whole message: no "error:" prefix from main.
                eprint!("{}", e.render(&name, &source));
                return Ok(2);
            }
        };
        let text = format_file(&file);
        if a.check {
            if text != source {
                eprintln!("{name}: not canonically formatted (run `tracecheck fmt --write {name}`)");
                unformatted += 1;
            }
        } else if a.write {
            if text != source {
                super::atomic::write_bytes(path, text.as_bytes())?;
            }
        } else {
            print!("{text}");
        }
    }
    Ok(if unformatted > 0 { 1 } else { 0 })
}
