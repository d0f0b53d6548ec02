//! The watch: `probe` (one host name now, no database), `check --once`
//! (one cycle, the findings printed, exit status 3 when something
//! critical is open, 4 when nothing could be measured), `findings`
//! (list, acknowledge) and `discover`.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use super::{
    CRITICAL_OPEN, Context, InvalidInput, NOT_MEASURED, print_list, progress_bar, runtime,
};
use crate::app::checks::{self, CycleOptions};
use crate::app::discovery::{self, Source};
use crate::app::findings::{self as use_case, FindingQuery, StatusFilter};
use crate::app::lock::{self, LockError};
use crate::cli::{
    AlertsCommand, CheckArgs, DiscoverArgs, FindingsArgs, FindingsCommand, MaintenanceCommand,
    ProbeArgs,
};
use crate::config::Config;
use crate::findings::FindingStatus;
use crate::jobs::RunStatus;
use crate::output::{self, json_line};
use crate::policy::Policy;
use crate::probe::run::{Prober, Probes};
use crate::registry::Hostname;

/// `probe`: what one host name shows now. Needs no database.
/// [`NOT_MEASURED`] when every measurement failed (its DNS could not be
/// told, or it ran out of time).
pub(super) fn probe(
    config: &Config,
    args: &ProbeArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let policy = Policy::load(config.policies.dir.as_deref())?;
    let prober = Prober::from_config(config, &policy).map_err(|e| InvalidInput(e.to_string()))?;
    let observations = runtime()?.block_on(prober.host(&args.host, Probes::ALL));
    if json {
        json_line(out, &output::probe_json(&args.host, &observations)?)?;
    } else {
        output::probe_detail(&args.host, &observations, out)?;
    }
    let measured = observations.iter().any(|o| match &o.data {
        crate::probe::ObservationData::Dns(dns) => dns.is_conclusive(),
        _ => false,
    }) && !observations.iter().any(|o| {
        matches!(
            o.data,
            crate::probe::ObservationData::Deadline { .. }
                | crate::probe::ObservationData::Failed { .. }
        )
    });
    Ok(if measured { 0 } else { NOT_MEASURED })
}

/// `check --once`: one round, the findings printed, [`CRITICAL_OPEN`]
/// when something critical is open, [`NOT_MEASURED`] (first) when
/// nothing could be measured. Refused while a daemon runs on the
/// same SQLite file; Ctrl-C interrupts it (the run is recorded as
/// interrupted).
pub(super) fn check(context: &Context, args: &CheckArgs, out: &mut impl Write) -> Result<u8> {
    let app = &context.app;
    let _lock = match app.store.sqlite_file() {
        Some(path) => Some(lock::acquire(&path, "siteward check --once").map_err(|e| {
            match e {
                LockError::Held { .. } => InvalidInput(format!(
                    "check --once is refused: {e}. A daemon runs the checks on its schedule; \
                     see `siteward findings`"
                ))
                .into(),
                e => anyhow::Error::from(e),
            }
        })?),
        None => None,
    };
    // A resolver setting that is not an address fails here, before a run
    // is recorded.
    app.prober()?;
    let options = CycleOptions::new(
        !args.no_confirm,
        Duration::from_secs(app.config().daemon.shutdown_grace_secs),
    );
    let bar = progress_bar(context.json, "host names");
    let report = runtime()?.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let progress = options.progress.clone();
        let ticking = bar.clone().map(|bar| {
            tokio::spawn(async move {
                loop {
                    bar.set_length(progress.total.load(Ordering::Relaxed) as u64);
                    bar.set_position(progress.done.load(Ordering::Relaxed) as u64);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        let report = checks::check_once(app, &options, &cancel).await;
        if let Some(ticking) = ticking {
            ticking.abort();
        }
        report
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| StatusFilter::Current.matches(f.status))
        .cloned()
        .collect();
    print_findings(context, &shown, out)?;
    eprintln!(
        "check: {} host names; {} opened, {} resolved, {} awaiting confirmation, {} suppressed by exceptions; {} new host names from links",
        report.run.hosts,
        report.stats.opened,
        report.stats.resolved,
        use_case::count(&report.findings, FindingStatus::Pending),
        use_case::count(&report.findings, FindingStatus::Suppressed),
        report.discovered
    );
    if !report.run.failures.is_empty() {
        eprintln!(
            "measurement failed for {} (not reported as findings):",
            report.run.failures.len()
        );
        for failure in report.run.failures.iter().take(20) {
            eprintln!("  {}: {}", failure.scope, failure.reason);
        }
    }
    match report.run.status {
        RunStatus::MeasurementFailed => {
            eprintln!("warning: nothing could be measured this round (is the resolver up?)");
        }
        RunStatus::Interrupted => {
            eprintln!("interrupted: what was observed is stored; nothing was judged");
        }
        _ => {}
    }
    Ok(if report.run.status == RunStatus::MeasurementFailed {
        NOT_MEASURED
    } else if report.critical_open() {
        CRITICAL_OPEN
    } else {
        0
    })
}

/// Findings as a table, or as JSON lines with the names of the sites and
/// organizations they point at (read only then).
fn print_findings(
    context: &Context,
    findings: &[crate::store::StoredFinding],
    out: &mut impl Write,
) -> Result<()> {
    let names = if context.json {
        use_case::names_of(context.store(), findings)?
    } else {
        use_case::Names::default()
    };
    print_list(
        context,
        findings,
        |f| output::finding_json(f, &names),
        output::findings_table,
        out,
    )
}

pub(super) fn findings(context: &Context, args: FindingsArgs, out: &mut impl Write) -> Result<()> {
    if let Some(FindingsCommand::Show { id }) = args.command {
        let (finding, events) = context.store().finding_with_events(id)?;
        let names = use_case::names_of(context.store(), std::slice::from_ref(&finding))?;
        if context.json {
            json_line(out, &output::finding_detail_json(&finding, &events, &names))?;
        } else {
            output::write_finding_detail(out, &finding, &events, &names)?;
        }
        return Ok(());
    }
    if args.overdue {
        let mut rows =
            use_case::overdue(context.store(), &context.app.policy(), chrono::Utc::now())?;
        if let Some(kind) = args.kind {
            rows.retain(|(f, _)| f.kind == kind);
        }
        let shown: Vec<_> = rows.iter().map(|(f, _)| f.clone()).collect();
        let names = use_case::names_of(context.store(), &shown)?;
        return print_list(
            context,
            &rows,
            |(f, due)| {
                let mut value = output::finding_json(f, &names);
                value["deadline"] = serde_json::json!(crate::output::time(Some(*due)));
                value
            },
            output::overdue_table,
            out,
        );
    }
    if let Some(FindingsCommand::Ack { id, note }) = args.command {
        let finding = use_case::acknowledge(context.store(), id, &context.change(None)?, &note)?;
        if context.json {
            json_line(
                out,
                &output::finding_json(
                    &finding,
                    &use_case::names_of(context.store(), std::slice::from_ref(&finding))?,
                ),
            )?;
        } else {
            writeln!(
                out,
                "finding {} acknowledged: {}",
                finding.id, finding.summary
            )?;
        }
        return Ok(());
    }
    let query = FindingQuery {
        status: match args.status.as_deref() {
            None => StatusFilter::default(),
            Some(raw) => raw.parse()?,
        },
        kind: args.kind,
    };
    print_findings(context, &use_case::list(context.store(), &query)?, out)
}

/// `discover`: learns host names from a zone file, a transfer or a list,
/// or lists those learnt so far.
pub(super) fn discover(context: &Context, args: &DiscoverArgs, out: &mut impl Write) -> Result<()> {
    if args.list {
        let found = discovery::discovered(context.store(), &context.app.policy())?;
        return print_list(
            context,
            &found,
            output::discovered_json,
            output::discovered_table,
            out,
        );
    }
    let zone: Hostname;
    let source = if let Some(path) = &args.zone_file {
        Source::ZoneFile {
            path,
            origin: args.origin.as_deref(),
        }
    } else if let Some(path) = &args.hosts {
        Source::List(path)
    } else if let Some(raw) = &args.axfr {
        zone = raw.parse()?;
        Source::Axfr(&zone)
    } else {
        unreachable!("clap requires one source")
    };
    let runtime = runtime()?;
    let learnt = super::with_spinner(context.json, "learning host names", || {
        runtime.block_on(discovery::learn(&context.app, source))
    })?;
    if context.json {
        json_line(out, &learnt)?;
    } else {
        writeln!(
            out,
            "{} host names from {}: {} new, {} under managed zones (checked by `check`)",
            learnt.hosts, learnt.source, learnt.new, learnt.managed
        )?;
        if !learnt.wildcards.is_empty() {
            writeln!(
                out,
                "{} wildcards not learnt (a wildcard is not a host name): {}",
                learnt.wildcards.len(),
                learnt.wildcards.join(", ")
            )?;
        }
    }
    Ok(())
}

/// `alerts`: a test message, the outbox, a retry.
pub(super) fn alerts(
    context: &Context,
    command: AlertsCommand,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        AlertsCommand::Test { sink } => {
            let answer = runtime()?.block_on(crate::app::alerts::send_test(&context.app, &sink))?;
            if context.json {
                json_line(
                    out,
                    &serde_json::json!({"sink": sink, "accepted": answer.accepted, "answer": answer.answer}),
                )?;
            } else {
                writeln!(
                    out,
                    "sink `{sink}` answered {}: {}",
                    if answer.accepted {
                        "(accepted)"
                    } else {
                        "(NOT accepted)"
                    },
                    answer.answer
                )?;
            }
            if !answer.accepted {
                anyhow::bail!("sink `{sink}` did not accept the test message");
            }
        }
        AlertsCommand::List { status, limit } => {
            let rows =
                runtime()?.block_on(crate::app::alerts::list(&context.app, status, limit))?;
            print_list(
                context,
                &rows,
                output::notification_json,
                output::notifications_table,
                out,
            )?;
        }
        AlertsCommand::Sinks => {
            let sinks = crate::app::alerts::sinks(&context.app)?;
            print_list(context, &sinks, output::sink_json, output::sinks_table, out)?;
        }
        AlertsCommand::Retry { id } => {
            let n = runtime()?.block_on(crate::app::alerts::retry(&context.app, id))?;
            if context.json {
                json_line(out, &output::notification_json(&n))?;
            } else {
                writeln!(
                    out,
                    "notification {} to `{}` is pending again; the daemon sends it now (same key)",
                    n.id, n.sink
                )?;
            }
        }
    }
    Ok(())
}

/// `maintenance add | list | end`.
pub(super) fn maintenance(
    context: &Context,
    command: MaintenanceCommand,
    out: &mut impl Write,
) -> Result<()> {
    use crate::store::maintenance::NewWindow;
    match command {
        MaintenanceCommand::Add {
            site,
            org,
            cron,
            duration,
            reason,
        } => {
            if reason.trim().is_empty() {
                return Err(
                    InvalidInput("--reason is empty: say why, the notices tell it".into()).into(),
                );
            }
            let window = context.store().add_window(
                &NewWindow {
                    site,
                    org,
                    cron,
                    duration,
                    reason,
                },
                &context.change(None)?,
            )?;
            if context.json {
                json_line(out, &output::window_json(&window))?;
            } else {
                writeln!(
                    out,
                    "maintenance window {} for {}: {}",
                    window.id,
                    window.scope.name(),
                    output::window_when(&window)
                )?;
            }
        }
        MaintenanceCommand::List => {
            let windows = context.store().windows(chrono::Utc::now())?;
            print_list(
                context,
                &windows,
                output::window_json,
                output::windows_table,
                out,
            )?;
        }
        MaintenanceCommand::End { id } => {
            let window = context.store().end_window(id, &context.change(None)?)?;
            if context.json {
                json_line(out, &output::window_json(&window))?;
            } else {
                writeln!(
                    out,
                    "maintenance window {} for {} ended: its alerts are no longer held; the daemon tells its end, with what is still open",
                    window.id,
                    window.scope.name()
                )?;
            }
        }
    }
    Ok(())
}
