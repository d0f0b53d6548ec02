//! `backup` and `restore`: a copy of the SQLite database, and a copy put
//! back into an empty one.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy: a new file. An existing file is refused,
    /// never overwritten.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A copy written by `siteward backup` (an SQLite database).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}
