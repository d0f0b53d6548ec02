//! The `siteward` binary: parse the command line, run, map the outcome to
//! an exit status.

use std::process::ExitCode;

use clap::Parser;

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
