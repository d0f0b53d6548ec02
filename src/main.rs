//! The `siteward` binary: parse the command line, run, map the outcome to
//! an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = siteward::cli::Cli::parse();
    match siteward::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(siteward::exit_code(&error))
        }
    }
}
