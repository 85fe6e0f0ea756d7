//! The `tracecheck` command line. Parsing and dispatch only; each command lives in `cli/`.
//!
//! Exit codes: 0 success (or all rules hold), 1 violations found, 2 error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Stack of the thread that runs the command and of the runtime's workers. Models compile to
/// expression trees as deep as the model is long (a `when` summing 440 durations, 480 `expect`s),
/// and both our stages and DataFusion's planner and optimizer walk them recursively; 8 MiB (the main
/// thread's default) overflowed on such models. The memory is reserved, not used, until needed.
const STACK_BYTES: usize = 256 << 20;

/// Stack of the runtime's worker and blocking threads, which evaluate the planned expressions
/// (tokio's default is 2 MiB).
const WORKER_STACK_BYTES: usize = 64 << 20;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // The command runs on a thread of its own with the large stack (block_on runs its future on
    // the calling thread).
    let worker = std::thread::Builder::new()
        .name("tracecheck".into())
        .stack_size(STACK_BYTES)
        .spawn(move || runtime.block_on(cli::run(args)));
    let result = match worker.map(|w| w.join()) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => {
            eprintln!("error: cannot start the command's thread: {e}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Model errors carry their source: the rendered form underlines the offending text.
            eprint!("{}", e.render());
            ExitCode::from(2)
        }
    }
}
