//! The `siteward` binary: parse the command line, run, map the outcome to
//! an exit status.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a probe cycle makes many
/// short-lived allocations on two threads (TLS records, DNS messages,
/// pages), where glibc's malloc spent about a tenth of the cycle's CPU
/// (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = siteward::cli::Cli::parse();
    match siteward::run(cli) {
        // 0, or 3 when `check` leaves something critical open.
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(siteward::exit_code(&error))
        }
    }
}
