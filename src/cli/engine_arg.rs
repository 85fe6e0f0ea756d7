//! `--engine`, shared by `sql`, `check` and `explain`.

use tracecheck::engine::Engine;

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

fn parse(s: &str) -> Result<Engine, String> {
    s.parse().map_err(|e: tracecheck::Error| e.to_string())
}
