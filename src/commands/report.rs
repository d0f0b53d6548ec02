//! `siteward report`: writes a quarter's circular, or lists and shows the
//! stored ones.

use std::io::Write;

use anyhow::{Context as _, Result};

use super::{Context, runtime};
use crate::app::report::{self, Request};
use crate::cli::{ReportArgs, ReportCommand};
use crate::dto::files::{ReportDto, ReportSummaryDto};
use crate::output::{self, json_line};
use crate::reconcile::output::Trigger;
use crate::report::Circular;

pub(super) fn run(context: &Context, args: ReportArgs, out: &mut impl Write) -> Result<()> {
    match args.command {
        Some(ReportCommand::List { limit }) => {
            let reports = report::list(&context.app, limit)?;
            if context.json {
                for r in &reports {
                    json_line(out, &ReportSummaryDto::from(r))?;
                }
            } else if reports.is_empty() {
                writeln!(out, "no circular has been written yet")?;
            } else {
                output::report_runs_table(&reports).print(out)?;
            }
        }
        Some(ReportCommand::Show { id, out: dir }) => {
            let circular = report::show(&context.app, id)?;
            let written = match &dir {
                Some(dir) => write_files(&circular, dir)?,
                None => Vec::new(),
            };
            print(context, &circular, &written, out)?;
        }
        None => {
            let run = args.run;
            let (Some(quarter), Some(dir)) = (run.quarter, run.out) else {
                unreachable!("clap requires --quarter and --out without a subcommand");
            };
            // A circular is stored only if its files can be written.
            super::reconcile::check_writable(&dir)?;
            let circular = runtime()?.block_on(report::report(
                &context.app,
                Request {
                    quarter,
                    reconcile: run.reconcile,
                    trigger: Trigger::Manual,
                    actor: context.actor.clone(),
                    now: chrono::Utc::now(),
                },
            ))?;
            let written = write_files(&circular, &dir)?;
            print(context, &circular, &written, out)?;
            if !context.json {
                writeln!(
                    out,
                    "stored as report {} (siteward report show {})",
                    circular.id, circular.id
                )?;
            }
        }
    }
    Ok(())
}

fn print(
    context: &Context,
    circular: &Circular,
    written: &[std::path::PathBuf],
    out: &mut impl Write,
) -> Result<()> {
    if context.json {
        let files = written.iter().map(|p| p.display().to_string()).collect();
        json_line(out, &ReportDto::new(circular, files))?;
    } else {
        out.write_all(circular.summary().as_bytes())?;
        for path in written {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

fn write_files(circular: &Circular, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    crate::report::render::write(circular, dir)
        .with_context(|| format!("cannot write the files into {}", dir.display()))
}
