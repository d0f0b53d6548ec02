//! `siteward report`: the quarterly circular, its stored copies.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::parsed;
use crate::reconcile::Quarter;

/// Write the quarterly circular (通报) from what the store holds: the
/// registry, the checks and findings as they stood at the quarter's end,
/// and a reconciliation run's discrepancies. Or list and show stored
/// circulars.
///
/// Writes circular.html (printable, A4), circular.md, circular.xlsx and
/// tables/附件1.csv … into DIR. A quarter not over is reported as of now,
/// and the circular says so. Each circular is stored: a later correction
/// of the registry does not change it (`report show ID --out DIR` writes
/// the same files again).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    #[command(flatten)]
    pub run: ReportRun,
}

#[derive(Debug, Args)]
pub struct ReportRun {
    /// The quarter, as 2026Q4.
    #[arg(long, value_parser = parsed::<Quarter>, required = true)]
    pub quarter: Option<Quarter>,
    /// The reconciliation run whose discrepancies are attached (附件3);
    /// by default the quarter's newest (`siteward reconcile list`).
    #[arg(long, value_name = "ID")]
    pub reconcile: Option<i64>,
    /// Where to write the circular's files (made if missing).
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The stored circulars, newest first.
    List {
        /// At most this many circulars.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// A stored circular: its figures; --out DIR writes its files again.
    Show {
        /// The circular's id (`report list`).
        id: i64,
        /// Write its files again into this directory (made if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}
