//! The `tracecheck` command line. Parsing and dispatch only; each command lives in `cli/`.
//!
//! Exit codes: 0 success (or all rules hold), 1 violations found, 2 error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Model errors carry their source: the rendered form underlines the offending text.
            eprint!("{}", e.render());
            ExitCode::from(2)
        }
    }
}
