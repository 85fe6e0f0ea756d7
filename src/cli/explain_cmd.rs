//! `tracecheck explain MODELS...`: the SQL each model compiles to, ready to paste into any engine.

use std::path::PathBuf;

use std::io::Write;
use tracecheck::check::{compile_file, Compiled};

use tracecheck::{Error, Result};

use super::check_cmd::read_models;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `.model` files.
    #[arg(required = true)]
    models: Vec<PathBuf>,
}

pub async fn run(a: Args) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    for path in &a.models {
        let (name, source, file) = read_models(path)?;
        for block in compile_file(&name, &source, &file)? {
            match block {
                Compiled::Model(_, c) => {
                    // SQL comments cannot end early: a title holding a newline is printed on one line.
                    let title = c.title.replace(['\n', '\r'], " ");
                    writeln!(out, "-- {name}: model {title:?}\n{};\n", c.sql())
                        .map_err(|e| Error::io("<stdout>", e))?;
                }
                Compiled::Check(c) => {
                    let title = c.title.replace(['\n', '\r'], " ");
                    for r in &c.rules {
                        let text = r.text.replace(['\n', '\r'], " ");
                        writeln!(
                            out,
                            "-- {name}: check {title:?}, rule {}: {text}\n{};\n",
                            r.index,
                            r.sql()
                        )
                        .map_err(|e| Error::io("<stdout>", e))?;
                    }
                }
            }
        }
    }
    Ok(0)
}
