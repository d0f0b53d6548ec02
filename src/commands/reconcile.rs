//! `siteward reconcile`: runs a reconciliation and writes its files, or
//! lists and shows the stored runs.

use std::io::Write;

use anyhow::{Context as _, Result};

use super::{Context, runtime};
use crate::app::reconcile::{self, Files, Request};
use crate::cli::{ReconcileArgs, ReconcileCommand};
use crate::output::{self, json_line};
use crate::reconcile::output::{Report, Trigger};

pub(super) fn run(context: &Context, args: ReconcileArgs, out: &mut impl Write) -> Result<()> {
    match args.command {
        Some(ReconcileCommand::List { limit }) => {
            let runs = reconcile::list(&context.app, limit)?;
            if context.json {
                for run in &runs {
                    json_line(out, run)?;
                }
            } else if runs.is_empty() {
                writeln!(out, "no reconciliation has run yet")?;
            } else {
                output::reconcile_runs_table(&runs).print(out)?;
            }
        }
        Some(ReconcileCommand::Show { id, out: dir }) => {
            let report = reconcile::show(&context.app, id)?;
            let written = match &dir {
                Some(dir) => write_files(&report, dir)?,
                None => Vec::new(),
            };
            if context.json {
                out.write_all(&report.json())?;
            } else {
                out.write_all(report.summary().as_bytes())?;
                if dir.is_none() {
                    writeln!(out)?;
                    output::discrepancies_table(&report).print(out)?;
                }
                for path in written {
                    writeln!(out, "wrote {}", path.display())?;
                }
            }
        }
        None => {
            let run = args.run;
            let (Some(quarter), Some(dir)) = (run.quarter, run.out) else {
                unreachable!("clap requires --quarter and --out without a subcommand");
            };
            let request = Request {
                quarter,
                files: Files {
                    national_sites: run.national_sites,
                    national_accounts: run.national_accounts,
                    zhaocuo: run.zhaocuo,
                    zones: run.zones,
                    axfr: run.axfr,
                },
                trigger: Trigger::Manual,
                actor: context.actor.clone(),
                now: chrono::Utc::now(),
            };
            let report = runtime()?.block_on(reconcile::reconcile(&context.app, request))?;
            let written = write_files(&report, &dir)?;
            if context.json {
                json_line(out, &output::reconcile_run_json(&report, &written))?;
            } else {
                out.write_all(report.summary().as_bytes())?;
                for path in written {
                    writeln!(out, "wrote {}", path.display())?;
                }
                writeln!(
                    out,
                    "stored as run {} (siteward reconcile show {})",
                    report.id, report.id
                )?;
            }
        }
    }
    Ok(())
}

fn write_files(report: &Report, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    report
        .write(dir)
        .with_context(|| format!("cannot write the files into {}", dir.display()))
}
