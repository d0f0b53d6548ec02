//! Moving the registry in and out as files: `import` and `export`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::When;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityArg {
    Orgs,
    Sites,
    Accounts,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub entity: EntityArg,
    pub file: PathBuf,
    /// Check every row and report, but change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub when: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Headers {
    Zh,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputEncoding {
    Utf8,
    /// UTF-8 with a byte-order mark (what Excel needs to see UTF-8).
    Utf8Bom,
    Gb18030,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub entity: EntityArg,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Header language of the CSV.
    #[arg(long, value_enum, default_value_t = Headers::Zh)]
    pub headers: Headers,
    #[arg(long, value_enum, default_value_t = OutputEncoding::Utf8)]
    pub encoding: OutputEncoding,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}
