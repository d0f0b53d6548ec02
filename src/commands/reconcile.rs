//! `siteward reconcile`: runs a reconciliation and writes its files, or
//! lists and shows the stored runs.

use std::io::Write;

use anyhow::{Context as _, Result};

use super::{Context, InvalidInput, runtime};
use crate::app::reconcile::{self, Files, Request};
use crate::cli::{ReconcileArgs, ReconcileCommand};
use crate::dto::files::ReconcileRunSummaryDto;
use crate::output::{self, json_line};
use crate::reconcile::output::{Report, Trigger};

pub(super) fn run(context: &Context, args: ReconcileArgs, out: &mut impl Write) -> Result<()> {
    match args.command {
        Some(ReconcileCommand::List { limit }) => {
            let runs = reconcile::list(&context.app, limit)?;
            if context.json {
                for run in &runs {
                    json_line(out, &ReconcileRunSummaryDto::from(run))?;
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
            // A run is stored only if its files can be written.
            check_writable(&dir)?;
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

/// Whether `dir`, or the directory it would be made in, takes files:
/// checked before a run, so that a stored run's files can be written.
pub(super) fn check_writable(dir: &std::path::Path) -> Result<()> {
    let (place, what) = if dir.exists() {
        if !dir.is_dir() {
            return Err(InvalidInput(format!("--out {} is not a directory", dir.display())).into());
        }
        (dir.to_path_buf(), "write into")
    } else {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(InvalidInput(format!(
                "--out {}: {} is not a directory",
                dir.display(),
                parent.display()
            ))
            .into());
        }
        (parent.to_path_buf(), "create a directory in")
    };
    let probe = place.join(format!(".siteward-{}.probe", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        InvalidInput(format!(
            "--out {}: cannot {what} {}: {e}",
            dir.display(),
            place.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn write_files(report: &Report, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    report
        .write(dir)
        .with_context(|| format!("cannot write the files into {}", dir.display()))
}
