//! The long-running verbs: `serve` (the daemon, until SIGTERM), and with
//! the simulated world `bench` (one cycle over a simulated region) and
//! `demo`. `serve` and `demo` resolve their own configuration: the daemon
//! reads it again on SIGHUP.

#[cfg(feature = "sim")]
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use super::runtime;
use crate::app::App;
use crate::app::daemon::ServeOptions;
use crate::cli::ServeArgs;
#[cfg(feature = "sim")]
use crate::cli::{BenchArgs, DemoArgs};
#[cfg(feature = "sim")]
use crate::config::Config;

/// `serve`: the daemon, until SIGTERM. One per SQLite file.
pub(super) fn serve(config_file: Option<&Path>, db: Option<&str>, args: &ServeArgs) -> Result<()> {
    crate::logging::init(args.log_format);
    let app = Arc::new(App::open(config_file, db)?);
    let _lock = match app.store.sqlite_file() {
        Some(path) => Some(crate::app::lock::acquire(&path, "siteward serve")?),
        None => None,
    };
    let options = ServeOptions {
        intervals: args.every.iter().copied().collect(),
        tick: Duration::from_millis(args.tick_ms.max(10)),
        confirm: true,
    };
    runtime()?.block_on(crate::app::daemon::serve(
        app,
        options,
        CancellationToken::new(),
    ))
}

/// `bench`: one full probe cycle over a simulated region, its rates and
/// peak memory.
#[cfg(feature = "sim")]
pub(super) fn bench(
    config: &Config,
    args: &BenchArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let concurrency = args.concurrency.unwrap_or(config.probe.concurrency);
    if let (Some(instances), Some(database)) = (args.instances, args.database.as_deref()) {
        let report =
            crate::bench::daemon::run_shared(args.hosts, concurrency, instances, database)?;
        if json {
            crate::output::json_line(out, &report)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        return Ok(());
    }
    if let Some(dir) = &args.report_data {
        let prepared = super::with_spinner(json, "writing the data", || {
            crate::bench::report::prepare(dir, args.sites, args.open_findings)
        })?;
        if json {
            crate::output::json_line(out, &prepared)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&prepared)?)?;
        }
        return Ok(());
    }
    if let Some(dir) = &args.reconcile_data {
        let prepared = super::with_spinner(json, "writing the data", || {
            crate::bench::reconcile::prepare(dir, args.sites, args.zone_records, args.messages)
        })?;
        if json {
            crate::output::json_line(out, &prepared)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&prepared)?)?;
        }
        return Ok(());
    }
    if args.alerts {
        let report = super::with_spinner(json, "benchmark running", || {
            crate::bench::alerts::run(
                args.findings,
                args.organizations,
                args.to,
                args.rate_window_secs,
            )
        })?;
        if json {
            crate::output::json_line(out, &report)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        return Ok(());
    }
    if args.daemon {
        let report = crate::bench::daemon::run(
            args.hosts,
            concurrency,
            Duration::from_secs(args.sigterm_after),
            args.with_alerts,
        )?;
        if json {
            crate::output::json_line(out, &report)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        return Ok(());
    }
    let report = super::with_spinner(json, "benchmark running", || {
        crate::bench::run(args.hosts, concurrency, args.growth)
    })?;
    if json {
        crate::output::json_line(out, &report)?;
    } else {
        crate::output::bench_detail(&report, out)?;
    }
    Ok(())
}

#[cfg(feature = "sim")]
pub(super) fn demo(args: &DemoArgs) -> Result<()> {
    crate::demo::run(args.seconds.map(Duration::from_secs))
}

/// `status`: the daemons, the runs in progress, the schedules.
pub(super) fn status(context: &super::Context, out: &mut impl std::io::Write) -> Result<()> {
    let status = crate::app::status::status(&context.app)?;
    if context.json {
        crate::output::json_line(out, &crate::output::status_json(&status))?;
    } else {
        crate::output::status_detail(&status, out)?;
    }
    Ok(())
}
