//! `--engine`, shared by `sql`, `check` and `explain`.

use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use tracecheck::engine::{self, Engine};
use tracecheck::{Error, Result};

use super::flags::name_flags;

/// The environment variable that sets `--engine` when the flag is not given.
pub const ENGINE_ENV: &str = "TRACECHECK_ENGINE";

#[derive(clap::Args, Debug, Clone)]
pub struct EngineArg {
    /// Where queries run: `local` (DataFusion in this process), `ballista://HOST:PORT` (a running
    /// Ballista scheduler; executors must read the dataset at the same path) or
    /// `ballista-standalone` (a scheduler and an executor inside this process).
    #[arg(long, env = ENGINE_ENV, default_value = "local", value_parser = parse)]
    pub engine: Engine,
}

impl EngineArg {
    /// Opens `paths` (`--data`) on the engine. A distributed engine reads datasets only: raw trace
    /// files are refused with the command that makes a dataset of them.
    pub async fn open(&self, paths: &[PathBuf]) -> Result<SessionContext> {
        if self.engine.is_distributed()
            && let Some(raw) = paths.iter().find(|p| !tracecheck::store::is_dataset(p))
        {
            return Err(Error::Usage(format!(
                "--engine {} reads datasets only, and {} is not one: its executors cannot see \
                     files decoded in this process; run `tracecheck ingest {} -o DATASET` first",
                self.engine,
                raw.display(),
                raw.display()
            )));
        }
        engine::open_on(&self.engine, paths).await
    }
}

fn parse(s: &str) -> Result<Engine, String> {
    s.parse().map_err(|e: tracecheck::Error| name_flags(e).to_string())
}
