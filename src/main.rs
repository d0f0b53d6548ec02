//! The `siteward` binary: parse, run, map the outcome to an exit status.
//! Every error, the command line's own included, is shown by
//! `commands::print_error`: as a sentence, or as JSON with `--json`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a probe cycle makes many
/// short-lived allocations on two threads (TLS records, DNS messages,
/// pages), where glibc's malloc spent about a tenth of the cycle's CPU
/// (bench/RESULTS.md). Built without transparent huge pages (see
/// Cargo.toml): they inflated the resident size, not the speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match siteward::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // The command line did not parse, so --json is looked for
            // among the raw arguments (it is a global flag).
            let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
            return ExitCode::from(siteward::commands::parse_error(error, json));
        }
    };
    let json = cli.json;
    match siteward::run(cli) {
        // 0, or 3 when `check` leaves something critical open.
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            siteward::commands::print_error(&error, json);
            ExitCode::from(siteward::exit_code(&error))
        }
    }
}
