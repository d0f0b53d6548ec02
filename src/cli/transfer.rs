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
    /// What the file holds: orgs, sites or accounts.
    pub entity: EntityArg,
    /// The file: CSV (UTF-8, UTF-8 with BOM or GB18030), headers in
    /// Chinese or English.
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
    /// What to export: orgs, sites or accounts.
    pub entity: EntityArg,
    /// csv (default), or json: one object a line, in the field names of
    /// `site list --json` (also what --json asks for).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Header language of the CSV.
    #[arg(long, value_enum, default_value_t = Headers::Zh)]
    pub headers: Headers,
    /// The CSV's encoding: utf8, utf8-bom (for Excel) or gb18030.
    #[arg(long, value_enum, default_value_t = OutputEncoding::Utf8)]
    pub encoding: OutputEncoding,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}
