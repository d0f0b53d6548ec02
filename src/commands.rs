//! Carries out a parsed command line: resolves the configuration, opens
//! the store, calls it, and prints. The wiring between `cli` and the
//! library; no rule lives here.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::cli::{
    AccountCommand, Cli, Command, DiscoverArgs, EntityArg, ExceptionCommand, FindingsArgs,
    FindingsCommand, Format, Headers, OrgCommand, OutputEncoding, PolicyCommand, SiteCommand,
};
use crate::config::Config;
use crate::output::{self, Table, json_line};
use crate::policy::Policy;
use crate::registry::lifecycle::{AccountAction, SiteAction, SiteEdit};
use crate::registry::{SiteCode, Warning};
use crate::store::{
    AuditFilter, Change, ExceptionGrant, NewAccount, NewOrganization, SiteFilter, SiteRequest,
    Store, StoreError,
};
use crate::transfer::{self, Entity, HeaderLang};

/// Everything a command needs, resolved once.
struct Context_ {
    store: Store,
    policy: Policy,
    actor: String,
    json: bool,
}

impl Context_ {
    fn change(&self, at: Option<chrono::DateTime<chrono::Utc>>) -> Change {
        match at {
            Some(at) => Change::at(&self.actor, at),
            None => Change::now(&self.actor),
        }
    }
}

/// Who is acting: `--actor`, else the login name.
fn actor(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn warn(warnings: &[Warning]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

/// Exit status of `check` when something critical is open.
pub const CRITICAL_OPEN: u8 = 3;

/// Runs the command; returns the exit status on success (0, or
/// [`CRITICAL_OPEN`]).
pub fn run(cli: Cli) -> Result<u8> {
    let config = Config::load(cli.config.as_deref(), std::env::vars())?;
    let url = cli
        .db
        .clone()
        .unwrap_or_else(|| config.database.url.clone());
    if let Command::Code(args) = &cli.command {
        let policy = Policy::load(config.policies.dir.as_deref())?;
        // A code check needs the store only to look up the organizer.
        let store = match &args.org {
            Some(_) => Some(Store::open(&url)?),
            None => None,
        };
        return check_code(&args.code, args.org.as_deref(), store, &policy, cli.json).map(|()| 0);
    }
    if let Command::Probe(args) = &cli.command {
        return probe(&config, &args.host, cli.json).map(|()| 0);
    }
    if let Command::Policy(PolicyCommand::Check { dir }) = &cli.command {
        let dir = dir.clone().or_else(|| config.policies.dir.clone());
        return policy_check(dir.as_deref(), cli.json).map(|()| 0);
    }
    #[cfg(feature = "sim")]
    if let Command::Bench(args) = &cli.command {
        let report = crate::bench::run(
            args.hosts,
            args.concurrency.unwrap_or(config.probe.concurrency),
        )?;
        let mut out = io::stdout().lock();
        if cli.json {
            json_line(&mut out, &report)?;
        } else {
            writeln!(
                out,
                "hosts: {} (concurrency {})",
                report.hosts, report.concurrency
            )?;
            writeln!(
                out,
                "full cycle: {:.2} s, {:.0} host names/s (probing, and storing as hosts finish)",
                report.seconds, report.hosts_per_sec
            )?;
            writeln!(
                out,
                "DNS queries/s: {:.0}; TLS handshakes/s: {:.0}",
                report.dns_queries_per_sec, report.tls_handshakes_per_sec
            )?;
            writeln!(
                out,
                "DNS only: {:.2} s, {:.0} names/s",
                report.dns_only_seconds, report.dns_only_names_per_sec
            )?;
            writeln!(
                out,
                "peak RSS: {:.0} MB (setup of the simulated world: {:.2} s)",
                report.peak_rss_mb, report.setup_seconds
            )?;
            for (outcome, count) in &report.outcomes {
                writeln!(out, "  {outcome}: {count}")?;
            }
        }
        return Ok(0);
    }
    if let Command::Serve(args) = &cli.command {
        return serve(cli.config.as_deref(), cli.db.as_deref(), args).map(|()| 0);
    }
    #[cfg(feature = "sim")]
    if let Command::Demo(args) = &cli.command {
        return crate::demo::run(args.seconds.map(std::time::Duration::from_secs)).map(|()| 0);
    }
    let policy = Policy::load(config.policies.dir.as_deref())?;
    let store = Store::open(&url)?;
    let mut context = Context_ {
        store,
        policy,
        actor: actor(cli.actor.as_deref()),
        json: cli.json,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match cli.command {
        Command::Org(command) => org(&mut context, command, &mut out)?,
        Command::Site(command) => site(&mut context, command, &mut out)?,
        Command::Account(command) => account(&mut context, command, &mut out)?,
        Command::Audit(args) => {
            let entity = match (&args.account, &args.org) {
                (Some(key), _) => Some(("account".to_string(), context.store.account(key)?.id)),
                (None, Some(name)) => Some(("org".to_string(), context.store.org(name)?.id)),
                (None, None) => None,
            };
            let entries = context.store.audit(&AuditFilter {
                site: args.site.clone(),
                entity,
                last: args.last,
            })?;
            if context.json {
                for entry in &entries {
                    json_line(&mut out, &output::audit_json(entry))?;
                }
            } else {
                output::audit_table(&entries).print(&mut out)?;
                writeln!(out, "(times in China Standard Time, UTC+8)")?;
            }
        }
        Command::Import(args) => {
            let bytes = std::fs::read(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let entity = match args.entity {
                EntityArg::Orgs => Entity::Orgs,
                EntityArg::Sites => Entity::Sites,
                EntityArg::Accounts => Entity::Accounts,
            };
            let (records, info) = transfer::parse(entity, &bytes)
                .map_err(|e| InvalidInput(format!("{}: {e}", args.file.display())))?;
            if !info.ignored_columns.is_empty() {
                eprintln!("note: ignored columns: {}", info.ignored_columns.join(", "));
            }
            let change = context.change(args.when.at);
            let result = if args.dry_run {
                context
                    .store
                    .import_dry_run(&records, &context.policy, &change)
            } else {
                context.store.import(&records, &context.policy, &change)
            };
            let summary = match result {
                Ok(summary) => summary,
                Err(StoreError::Import(errors)) => {
                    for error in &errors {
                        eprintln!("{}:{error}", args.file.display());
                    }
                    return Err(StoreError::Import(errors).into());
                }
                Err(e) => return Err(e.into()),
            };
            for (line, warning) in &summary.warnings {
                eprintln!("{}:line {line}: warning: {warning}", args.file.display());
            }
            if context.json {
                json_line(
                    &mut out,
                    &serde_json::json!({
                        "file": args.file,
                        "encoding": info.encoding,
                        "dry_run": args.dry_run,
                        "rows": summary.rows,
                        "created": summary.created,
                        "updated": summary.updated,
                        "unchanged": summary.unchanged,
                        "orgs_created": summary.orgs_created,
                        "warnings": summary.warnings.len(),
                    }),
                )?;
            } else {
                writeln!(
                    out,
                    "{}{}: {} rows ({}): {} created, {} updated, {} unchanged{}; {} warning(s)",
                    if args.dry_run {
                        "dry run, nothing written: "
                    } else {
                        ""
                    },
                    args.file.display(),
                    summary.rows,
                    info.encoding,
                    summary.created,
                    summary.updated,
                    summary.unchanged,
                    if summary.orgs_created > 0 {
                        format!("; {} organization(s) created", summary.orgs_created)
                    } else {
                        String::new()
                    },
                    summary.warnings.len(),
                )?;
            }
        }
        Command::Export(args) => export(&mut context, &args)?,
        Command::Exception(ExceptionCommand::Add {
            kind,
            subject,
            reason,
            until,
        }) => {
            let record = context.store.add_exception(
                &kind,
                &subject,
                &ExceptionGrant { reason, until },
                &context.change(None),
            )?;
            if context.json {
                json_line(&mut out, &record)?;
            } else {
                writeln!(
                    out,
                    "exception {}: {} waived for {} until {}",
                    record.id,
                    record.kind,
                    record.subject,
                    crate::clock::show(record.until)
                )?;
            }
        }
        Command::Exception(ExceptionCommand::List) => {
            let exceptions = context.store.exceptions()?;
            if context.json {
                for exception in &exceptions {
                    json_line(&mut out, exception)?;
                }
            } else {
                let mut table = Table::new(&["ID", "KIND", "SUBJECT", "UNTIL", "ACTOR", "REASON"]);
                for e in &exceptions {
                    table.row(vec![
                        e.id.to_string(),
                        e.kind.clone(),
                        e.subject.clone(),
                        crate::clock::show(e.until),
                        e.actor.clone(),
                        e.reason.clone(),
                    ]);
                }
                table.print(&mut out)?;
            }
        }
        Command::Check(args) => {
            let status = check(&mut context, &config, !args.no_confirm, &mut out)?;
            out.flush()?;
            return Ok(status);
        }
        Command::Findings(args) => findings(&mut context, args, &mut out)?,
        Command::Discover(args) => discover(&mut context, &config, args, &mut out)?,
        Command::Code(_) | Command::Probe(_) | Command::Policy(_) => {
            unreachable!("handled before the store is opened")
        }
        #[cfg(feature = "sim")]
        Command::Bench(_) | Command::Demo(_) => unreachable!("handled before the store is opened"),
        Command::Serve(_) => unreachable!("handled before the store is opened"),
    }
    out.flush()?;
    Ok(0)
}

/// `serve`: the daemon, until SIGTERM.
fn serve(
    config_file: Option<&std::path::Path>,
    db: Option<&str>,
    args: &crate::cli::ServeArgs,
) -> Result<()> {
    crate::logging::init(args.log_format);
    let app = std::sync::Arc::new(crate::app::App::open(config_file, db)?);
    let _lock = match app.store.sqlite_file() {
        Some(path) => Some(crate::app::lock::acquire(&path, "siteward serve")?),
        None => None,
    };
    let options = crate::app::daemon::ServeOptions {
        intervals: args.every.iter().copied().collect(),
        tick: std::time::Duration::from_millis(args.tick_ms.max(10)),
        confirm: true,
    };
    let runtime = runtime()?;
    runtime.block_on(crate::app::daemon::serve(
        app,
        options,
        tokio_util::sync::CancellationToken::new(),
    ))
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `check --once`: one round, the findings printed, 3 when something
/// critical is open. Refused while a daemon runs on the same SQLite
/// file; Ctrl-C interrupts it (the run is recorded as interrupted).
fn check(
    context: &mut Context_,
    config: &Config,
    confirm: bool,
    out: &mut impl Write,
) -> Result<u8> {
    use crate::app::checks::{self, CycleOptions};
    let _lock = match context.store.sqlite_file() {
        Some(path) => Some(
            crate::app::lock::acquire(&path, "siteward check --once").map_err(|e| match e {
                crate::app::lock::LockError::Held { .. } => InvalidInput(format!(
                    "check --once is refused: {e}. A daemon runs the checks on its schedule; \
                     see `siteward findings`"
                ))
                .into(),
                e => anyhow::Error::from(e),
            })?,
        ),
        None => None,
    };
    let app = crate::app::App::new(
        config.clone(),
        None,
        context.policy.clone(),
        context.store.clone(),
    );
    app.prober()?;
    let runtime = runtime()?;
    let options = CycleOptions::new(
        confirm,
        std::time::Duration::from_secs(config.daemon.shutdown_grace_secs),
    );
    let bar = progress_bar(context.json, "host names");
    let report = runtime.block_on(async {
        let cancel = tokio_util::sync::CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let progress = options.progress.clone();
        let ticking =
            bar.clone().map(|bar| {
                tokio::spawn(async move {
                    loop {
                        bar.set_length(
                            progress.total.load(std::sync::atomic::Ordering::Relaxed) as u64
                        );
                        bar.set_position(
                            progress.done.load(std::sync::atomic::Ordering::Relaxed) as u64
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                })
            });
        let run = crate::store::Run::start(crate::jobs::Job::Probe, None);
        let started = run.clone();
        let id = crate::app::db(&app.store, move |s| s.start_run(&started)).await?;
        let report = checks::cycle(&app, crate::store::Run { id, ..run }, &options, &cancel).await;
        if let Some(ticking) = ticking {
            ticking.abort();
        }
        report
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let names = names(context)?;
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.status,
                crate::findings::FindingStatus::Open | crate::findings::FindingStatus::Acknowledged
            )
        })
        .cloned()
        .collect();
    if context.json {
        for finding in &shown {
            json_line(out, &output::finding_json(finding, &names))?;
        }
    } else {
        output::findings_table(&shown).print(out)?;
    }
    let pending = report
        .findings
        .iter()
        .filter(|f| f.status == crate::findings::FindingStatus::Pending)
        .count();
    let suppressed = report
        .findings
        .iter()
        .filter(|f| f.status == crate::findings::FindingStatus::Suppressed)
        .count();
    eprintln!(
        "check: {} host names; {} opened, {} resolved, {} awaiting confirmation, {} suppressed by exceptions; {} new host names from links",
        report.run.hosts,
        report.stats.opened,
        report.stats.resolved,
        pending,
        suppressed,
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
        crate::jobs::RunStatus::MeasurementFailed => {
            eprintln!("warning: nothing could be measured this round (is the resolver up?)");
        }
        crate::jobs::RunStatus::Interrupted => {
            eprintln!("interrupted: what was observed is stored; nothing was judged");
        }
        _ => {}
    }
    Ok(if report.critical_open() {
        CRITICAL_OPEN
    } else {
        0
    })
}

/// A progress bar on stderr when it is a terminal and the output is for
/// people; `None` otherwise.
pub fn progress_bar(json: bool, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if json || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what} ({{elapsed}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

fn findings(context: &mut Context_, args: FindingsArgs, out: &mut impl Write) -> Result<()> {
    use crate::findings::FindingStatus;
    if let Some(FindingsCommand::Ack { id, note }) = args.command {
        let finding =
            context
                .store
                .acknowledge_finding(id, &context.actor, &note, chrono::Utc::now())?;
        if context.json {
            json_line(out, &output::finding_json(&finding, &names(context)?))?;
        } else {
            writeln!(
                out,
                "finding {} acknowledged: {}",
                finding.id, finding.summary
            )?;
        }
        return Ok(());
    }
    let statuses: Vec<FindingStatus> = match args.status.as_deref() {
        None => vec![FindingStatus::Open, FindingStatus::Acknowledged],
        Some("all") => Vec::new(),
        Some(raw) => vec![raw.parse::<FindingStatus>()?],
    };
    let mut list = context.store.findings(&statuses)?;
    if let Some(kind) = args.kind {
        list.retain(|f| f.kind == kind);
    }
    if context.json {
        let names = names(context)?;
        for finding in &list {
            json_line(out, &output::finding_json(finding, &names))?;
        }
    } else {
        output::findings_table(&list).print(out)?;
    }
    Ok(())
}

/// The names of the sites and organizations findings point at.
fn names(context: &mut Context_) -> Result<output::Names> {
    Ok(output::Names::new(
        &context.store.sites(&SiteFilter::default())?,
        &context.store.orgs()?,
    ))
}

/// `policy check`: validates a directory and prints the values in force,
/// with each job's next three fire times.
fn policy_check(dir: Option<&std::path::Path>, json: bool) -> Result<()> {
    const NEXT_RUNS: usize = 3;
    let policy = Policy::load(dir)?;
    let mut out = io::stdout().lock();
    let now = chrono::Utc::now();
    let schedules: std::collections::BTreeMap<&str, &str> = policy
        .schedules
        .iter()
        .map(|(job, s)| (job.as_str(), s.expression.as_str()))
        .collect();
    let mut value = serde_json::json!({
        "source": policy.source.to_string(),
        "lifecycle": {
            "notice_days": policy.lifecycle.notice_days,
            "release_grace_days": policy.lifecycle.release_grace_days,
        },
        "allowed_suffixes": policy.allowed_suffixes.describe(),
        "managed_zones": policy.managed_zones,
        "own_networks": policy.own_networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        "thresholds": policy.thresholds,
        "confirmation": policy.confirmation,
        "prohibited_terms": policy.prohibited_terms,
        "severity": policy.severity,
        "schedules": schedules,
        "axfr": policy.axfr,
        "takeover_services": policy.takeover.services.len(),
        "divisions": policy.divisions.len(),
    });
    if json {
        value["jobs"] = output::schedules_json(&policy.schedules, now, NEXT_RUNS);
        json_line(&mut out, &value)?;
    } else {
        writeln!(out, "policy OK: {}", policy.source)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        writeln!(out, "schedules (China Standard Time):")?;
        output::schedules_table(&policy.schedules, now, NEXT_RUNS).print(&mut out)?;
    }
    Ok(())
}

/// `discover`: learns host names from a zone file, a transfer or a list.
fn discover(
    context: &mut Context_,
    config: &Config,
    args: DiscoverArgs,
    out: &mut impl Write,
) -> Result<()> {
    if args.list {
        let found = context.store.discovered()?;
        if context.json {
            for entry in &found {
                json_line(
                    out,
                    &serde_json::json!({
                        "hostname": entry.hostname,
                        "source": entry.source,
                        "first_seen": entry.first_seen,
                        "last_seen": entry.last_seen,
                        "managed": context.policy.is_managed(entry.hostname.as_str()),
                    }),
                )?;
            }
        } else {
            let mut table = Table::new(&["HOST", "SOURCE", "FIRST SEEN", "LAST SEEN", "MANAGED"]);
            for entry in &found {
                table.row(vec![
                    entry.hostname.to_unicode(),
                    entry.source.to_string(),
                    crate::clock::show(entry.first_seen),
                    crate::clock::show(entry.last_seen),
                    if context.policy.is_managed(entry.hostname.as_str()) {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]);
            }
            table.print(out)?;
        }
        return Ok(());
    }
    use crate::app::discovery::Source;
    let source = if let Some(path) = &args.zone_file {
        Source::ZoneFile {
            path,
            origin: args.origin.as_deref(),
        }
    } else if let Some(path) = &args.hosts {
        Source::List(path)
    } else if let Some(zone) = &args.axfr {
        let zone: crate::registry::Hostname = zone.parse()?;
        return discover_from(context, config, Source::Axfr(&zone), out);
    } else {
        unreachable!("clap requires one source")
    };
    discover_from(context, config, source, out)
}

fn discover_from(
    context: &mut Context_,
    config: &Config,
    source: crate::app::discovery::Source<'_>,
    out: &mut impl Write,
) -> Result<()> {
    let app = crate::app::App::new(
        config.clone(),
        None,
        context.policy.clone(),
        context.store.clone(),
    );
    let learnt = runtime()?.block_on(crate::app::discovery::learn(&app, source))?;
    if context.json {
        json_line(out, &learnt)?;
    } else {
        writeln!(
            out,
            "{} host names from {}: {} new, {} under managed zones (checked by `check`)",
            learnt.hosts, learnt.source, learnt.new, learnt.managed
        )?;
    }
    Ok(())
}

/// Input refused as a whole: a file that cannot be imported (encoding,
/// headers), a resolver setting that is not an address.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn print_site(
    context: &Context_,
    site: &crate::registry::Site,
    out: &mut impl Write,
) -> Result<()> {
    if context.json {
        json_line(out, &output::site_json(site))?;
    } else {
        output::site_detail(site, out)?;
    }
    Ok(())
}

fn org(context: &mut Context_, command: OrgCommand, out: &mut impl Write) -> Result<()> {
    match command {
        OrgCommand::Add {
            name,
            division,
            level,
            parent,
            email,
            webhook,
        } => {
            let outcome = context.store.add_org(
                &NewOrganization {
                    name,
                    division,
                    level,
                    parent,
                    emails: email,
                    webhooks: webhook,
                },
                &context.policy,
                &context.change(None),
            )?;
            warn(&outcome.warnings);
            if context.json {
                json_line(out, &output::org_json(&outcome.value))?;
            } else {
                writeln!(
                    out,
                    "organization {} `{}` added ({} {})",
                    outcome.value.id,
                    outcome.value.name,
                    outcome.value.level,
                    outcome.value.division
                )?;
            }
        }
        OrgCommand::List => {
            let orgs = context.store.orgs()?;
            if context.json {
                for org in &orgs {
                    json_line(out, &output::org_json(org))?;
                }
            } else {
                output::orgs_table(&orgs).print(out)?;
            }
        }
        OrgCommand::Show { name } => {
            let org = context.store.org(&name)?;
            let sites = context.store.sites(&SiteFilter {
                org: Some(org.name.clone()),
                ..SiteFilter::default()
            })?;
            let accounts: Vec<_> = context
                .store
                .accounts()?
                .into_iter()
                .filter(|a| a.org == org.name)
                .collect();
            if context.json {
                let mut value = output::org_json(&org);
                value["sites"] = sites.iter().map(output::site_json).collect();
                value["accounts"] = accounts.iter().map(output::account_json).collect();
                json_line(out, &value)?;
            } else {
                output::orgs_table(std::slice::from_ref(&org)).print(out)?;
                writeln!(out, "\nsites:")?;
                output::sites_table(&sites).print(out)?;
                writeln!(out, "\naccounts:")?;
                output::accounts_table(&accounts).print(out)?;
            }
        }
    }
    Ok(())
}

fn grant(args: &crate::cli::ExceptionArgs) -> Option<ExceptionGrant> {
    match (&args.exception, args.until) {
        (Some(reason), Some(until)) => Some(ExceptionGrant {
            reason: reason.clone(),
            until,
        }),
        _ => None,
    }
}

fn site(context: &mut Context_, command: SiteCommand, out: &mut impl Write) -> Result<()> {
    let (key, action, at) = match command {
        SiteCommand::Request {
            name,
            org,
            kind,
            domains,
            code,
            icp,
            psb,
            exception,
            when,
        } => {
            let outcome = context.store.request_site(
                &SiteRequest {
                    name,
                    org,
                    kind,
                    domains,
                    code,
                    icp_filing: icp,
                    psb_filing: psb,
                    exception: grant(&exception),
                },
                &context.policy,
                &context.change(when.at),
            )?;
            warn(&outcome.warnings);
            return print_site(context, &outcome.value, out);
        }
        SiteCommand::Show { site } => {
            let site = context.store.site(&site)?;
            return print_site(context, &site, out);
        }
        SiteCommand::List { status, org, kind } => {
            let sites = context.store.sites(&SiteFilter { status, org, kind })?;
            if context.json {
                for site in &sites {
                    json_line(out, &output::site_json(site))?;
                }
            } else {
                output::sites_table(&sites).print(out)?;
            }
            return Ok(());
        }
        SiteCommand::Edit {
            site,
            name,
            kind,
            org,
            code,
            icp,
            psb,
            successor,
            add_domain,
            release_domain,
            primary,
            exception,
            when,
        } => {
            let edit = SiteEdit {
                name,
                kind,
                org,
                code,
                icp_filing: icp,
                psb_filing: psb,
                successor_url: successor,
                approval_ref: None,
                add_aliases: add_domain,
                release: release_domain,
                primary,
            };
            let outcome = context.store.edit_site(
                &site,
                &edit,
                grant(&exception).as_ref(),
                &context.policy,
                &context.change(when.at),
            )?;
            warn(&outcome.warnings);
            return print_site(context, &outcome.value, out);
        }
        SiteCommand::Approve {
            site,
            reference,
            when,
        } => (site, SiteAction::Approve { reference }, when.at),
        SiteCommand::Reject { site, reason, when } => {
            (site, SiteAction::Reject { reason }, when.at)
        }
        SiteCommand::GoLive { site, code, when } => (site, SiteAction::GoLive { code }, when.at),
        SiteCommand::Suspend { site, reason, when } => {
            (site, SiteAction::Suspend { reason }, when.at)
        }
        SiteCommand::Resume { site, when } => (site, SiteAction::Resume, when.at),
        SiteCommand::Retire {
            site,
            reference,
            successor,
            when,
        } => (
            site,
            SiteAction::Retire {
                reference,
                successor_url: successor,
            },
            when.at,
        ),
        SiteCommand::Offline { site, when } => (site, SiteAction::Offline, when.at),
        SiteCommand::Close { site, when } => (site, SiteAction::Close, when.at),
    };
    let change = context.change(at);
    let outcome = context
        .store
        .transition_site(&key, &action, &context.policy, &change)?;
    warn(&outcome.warnings);
    if context.json {
        json_line(out, &output::site_json(&outcome.value))?;
    } else {
        let site = &outcome.value;
        writeln!(
            out,
            "site {} ({}) is now {}",
            site.id,
            site.primary()
                .map(|d| d.hostname.to_unicode())
                .unwrap_or_default(),
            site.status
        )?;
        if let Some(until) = site
            .times
            .notice_until
            .filter(|_| matches!(action, SiteAction::Retire { .. }))
        {
            writeln!(
                out,
                "the closure notice must stay up until {} (China Standard Time); then: siteward site offline {}",
                crate::clock::show(until),
                site.id
            )?;
        }
        if matches!(action, SiteAction::Offline)
            && let Some(deadline) = site.domains.iter().find_map(|d| d.release_deadline)
        {
            writeln!(
                out,
                "its domains must be deregistered by {} (China Standard Time); then: siteward site close {}",
                crate::clock::show(deadline),
                site.id
            )?;
        }
    }
    Ok(())
}

fn account(context: &mut Context_, command: AccountCommand, out: &mut impl Write) -> Result<()> {
    let account = match command {
        AccountCommand::Add {
            platform,
            handle,
            name,
            org,
            feed,
            when,
        } => context.store.add_account(
            &NewAccount {
                platform,
                account_id: handle,
                name,
                org,
                feed_url: feed,
            },
            &context.change(when.at),
        )?,
        AccountCommand::Suspend {
            account,
            reason,
            when,
        } => context.store.transition_account(
            &account,
            &AccountAction::Suspend { reason },
            &context.change(when.at),
        )?,
        AccountCommand::Resume { account, when } => context.store.transition_account(
            &account,
            &AccountAction::Resume,
            &context.change(when.at),
        )?,
        AccountCommand::Close {
            account,
            reason,
            when,
        } => context.store.transition_account(
            &account,
            &AccountAction::Close { reason },
            &context.change(when.at),
        )?,
        AccountCommand::Seen { account, at } => context
            .store
            .account_seen(&account, &context.change(Some(at)))?,
        AccountCommand::Show { account } => context.store.account(&account)?,
        AccountCommand::List { status } => {
            let accounts: Vec<_> = context
                .store
                .accounts()?
                .into_iter()
                .filter(|a| status.is_none_or(|s| a.status == s))
                .collect();
            if context.json {
                for account in &accounts {
                    json_line(out, &output::account_json(account))?;
                }
            } else {
                output::accounts_table(&accounts).print(out)?;
            }
            return Ok(());
        }
    };
    if context.json {
        json_line(out, &output::account_json(&account))?;
    } else {
        output::accounts_table(std::slice::from_ref(&account)).print(out)?;
    }
    Ok(())
}

fn export(context: &mut Context_, args: &crate::cli::ExportArgs) -> Result<()> {
    let lang = match args.headers {
        Headers::Zh => HeaderLang::Zh,
        Headers::En => HeaderLang::En,
    };
    let mut buffer: Vec<u8> = Vec::new();
    match (args.entity, args.format) {
        (EntityArg::Sites, Format::Json) => {
            for site in context.store.sites(&SiteFilter::default())? {
                json_line(&mut buffer, &output::site_json(&site))?;
            }
        }
        (EntityArg::Orgs, Format::Json) => {
            for org in context.store.orgs()? {
                json_line(&mut buffer, &output::org_json(&org))?;
            }
        }
        (EntityArg::Accounts, Format::Json) => {
            for account in context.store.accounts()? {
                json_line(&mut buffer, &output::account_json(&account))?;
            }
        }
        (EntityArg::Sites, Format::Csv) => {
            let divisions: HashMap<String, String> = context
                .store
                .orgs()?
                .into_iter()
                .map(|o| (o.name, o.division.to_string()))
                .collect();
            let sites = context.store.sites(&SiteFilter::default())?;
            transfer::write_sites(&sites, &divisions, lang, &mut buffer)?;
        }
        (EntityArg::Orgs, Format::Csv) => {
            transfer::write_orgs(&context.store.orgs()?, lang, &mut buffer)?;
        }
        (EntityArg::Accounts, Format::Csv) => {
            transfer::write_accounts(&context.store.accounts()?, lang, &mut buffer)?;
        }
    }
    let bytes = match args.encoding {
        OutputEncoding::Utf8 => buffer,
        OutputEncoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), &buffer].concat(),
        OutputEncoding::Gb18030 => {
            let text = String::from_utf8(buffer).context("export is not UTF-8")?;
            encoding_rs::GB18030.encode(&text).0.into_owned()
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => io::stdout().lock().write_all(&bytes)?,
    }
    Ok(())
}

fn check_code(
    raw: &str,
    org: Option<&str>,
    store: Option<Store>,
    policy: &Policy,
    json: bool,
) -> Result<()> {
    let code: SiteCode = raw.parse()?;
    let division = match (org, store) {
        (Some(name), Some(store)) => Some(store.org(name)?.division),
        _ => None,
    };
    let warnings = code.advisories(&policy.divisions, division.as_ref());
    let prefix = code.division_prefix();
    let prefix_name = prefix
        .as_ref()
        .and_then(|p| policy.divisions.get(p))
        .map(|d| format!("{} ({})", d.name, d.status));
    if json {
        json_line(
            &mut io::stdout().lock(),
            &serde_json::json!({
                "code": code,
                "valid": true,
                "central": code.is_central(),
                "prefix": prefix,
                "prefix_division": prefix_name,
                "warnings": warnings,
            }),
        )?;
    } else {
        let mut out = io::stdout().lock();
        writeln!(out, "{code}: well formed")?;
        match (&prefix, &prefix_name) {
            (None, _) => writeln!(out, "central department code (bm)")?,
            (Some(prefix), Some(name)) => writeln!(out, "prefix {prefix}: {name}")?,
            (Some(prefix), None) => writeln!(out, "prefix {prefix}: in no division table")?,
        }
        warn(&warnings);
    }
    Ok(())
}

/// Probes one host name and prints what was seen. Needs no database.
fn probe(config: &Config, host: &crate::registry::Hostname, json: bool) -> Result<()> {
    use crate::probe::delegation::ServerStatus;
    use crate::probe::dns::DnsOutcome;
    use crate::probe::http::PageOutcome;
    use crate::probe::run::{Prober, Probes};
    use crate::probe::{DelegationResult, ObservationData};
    let prober = Prober::from_config(config, &Policy::load(config.policies.dir.as_deref())?)
        .map_err(|e| InvalidInput(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let observations = runtime.block_on(prober.host(host, Probes::ALL));
    let mut out = io::stdout().lock();
    if json {
        let mut value = serde_json::json!({ "host": host, "addresses": [] });
        for observation in &observations {
            let data = serde_json::to_value(&observation.data)?;
            let kind = observation.data.kind();
            match observation.address {
                None => value[kind] = data["data"].clone(),
                Some(address) => {
                    let list = value["addresses"].as_array_mut().expect("an array");
                    let index = match list
                        .iter()
                        .position(|a| a["address"] == address.to_string())
                    {
                        Some(index) => index,
                        None => {
                            list.push(serde_json::json!({ "address": address.to_string() }));
                            list.len() - 1
                        }
                    };
                    list[index][kind] = data["data"].clone();
                }
            }
        }
        json_line(&mut out, &value)?;
        return Ok(());
    }
    writeln!(out, "{} ({})", host.to_unicode(), host)?;
    for observation in &observations {
        let address = observation
            .address
            .map(|a| a.to_string())
            .unwrap_or_default();
        match &observation.data {
            ObservationData::Dns(dns) => {
                for hop in &dns.cname_chain {
                    writeln!(
                        out,
                        "  CNAME  {} -> {}  (TTL {})",
                        hop.name, hop.target, hop.ttl
                    )?;
                }
                for (kind, outcome) in [("A", &dns.a), ("AAAA", &dns.aaaa)] {
                    match outcome {
                        DnsOutcome::Answer { records } => {
                            for record in records {
                                writeln!(
                                    out,
                                    "  {kind:<5}  {}  (TTL {})",
                                    record.value, record.ttl
                                )?;
                            }
                        }
                        DnsOutcome::NxDomain { name } => {
                            writeln!(out, "  {kind:<5}  NXDOMAIN: {name} does not exist")?
                        }
                        DnsOutcome::Failed { reason } => {
                            writeln!(out, "  {kind:<5}  measurement failed: {reason}")?
                        }
                        other if !other.is_conclusive() => {
                            writeln!(out, "  {kind:<5}  measurement failed: {}", other.name())?
                        }
                        other => writeln!(out, "  {kind:<5}  {}", other.name())?,
                    }
                }
            }
            ObservationData::Delegation(DelegationResult::Found(delegation)) => {
                let wildcard = match delegation.wildcard {
                    Some(true) => "answers every name (wildcard)",
                    Some(false) => "no wildcard",
                    None => "wildcard unknown",
                };
                writeln!(out, "  ZONE   {} ({wildcard})", delegation.zone)?;
                for server in &delegation.servers {
                    let at = server.address.map(|a| a.to_string()).unwrap_or_default();
                    let status = match &server.status {
                        ServerStatus::Serves { serial } => {
                            format!("serves the zone (serial {serial})")
                        }
                        ServerStatus::Lame { reason } => format!("LAME: {reason}"),
                        ServerStatus::NoAddress => "its host name does not exist (NXDOMAIN)".into(),
                        ServerStatus::Unreachable { reason } => format!("unreachable: {reason}"),
                        ServerStatus::Unknown { reason } => format!("measurement failed: {reason}"),
                    };
                    writeln!(out, "  NS     {} {at}  {status}", server.name)?;
                }
            }
            ObservationData::Delegation(DelegationResult::Failed { reason }) => {
                writeln!(out, "  ZONE   measurement failed: {reason}")?
            }
            ObservationData::Tls(tls) => {
                let leaf = tls
                    .chain
                    .first()
                    .map(|c| {
                        format!(
                            "; leaf {} until {}",
                            c.subject,
                            crate::clock::show_date(c.not_after)
                        )
                    })
                    .unwrap_or_default();
                let detail = match &tls.verdict {
                    crate::probe::tls::TlsVerdict::HandshakeFailed { detail, .. } => {
                        format!(": {detail}")
                    }
                    crate::probe::tls::TlsVerdict::Untrusted { reason }
                    | crate::probe::tls::TlsVerdict::Weak { reason } => format!(": {reason}"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "  TLS    {address}  {}{detail} ({}){leaf}",
                    tls.verdict.name(),
                    tls.protocol.as_deref().unwrap_or("-")
                )?;
            }
            ObservationData::Page(page) => match page {
                PageOutcome::Loaded {
                    status,
                    final_url,
                    page,
                    redirected_to,
                    ..
                } => writeln!(
                    out,
                    "  PAGE   {address}  {status} {final_url}{}  title: {}  code: {}",
                    redirected_to
                        .as_deref()
                        .map(|r| format!(" -> {r}"))
                        .unwrap_or_default(),
                    page.title.as_deref().unwrap_or("-"),
                    page.footer_codes
                        .first()
                        .or(page.meta_site_code.as_ref())
                        .map(String::as_str)
                        .unwrap_or("-"),
                )?,
                other => writeln!(out, "  PAGE   {address}  {}: {other:?}", other.name())?,
            },
            ObservationData::Ipv6(reach) => {
                let ports: Vec<String> = reach
                    .ports
                    .iter()
                    .map(|p| format!("{} {}", p.port, if p.open { "open" } else { "closed" }))
                    .collect();
                writeln!(
                    out,
                    "  IPv6   {address}  ports {}; homepage {}; second level {}/{} (IPv4 {}), third level {}/{} (IPv4 {}); connectivity {}",
                    ports.join(", "),
                    if reach.homepage_v6 {
                        "loads"
                    } else {
                        "does not load"
                    },
                    reach.second_level.loaded_v6,
                    reach.second_level.sampled,
                    reach.second_level.loaded_v4,
                    reach.third_level.loaded_v6,
                    reach.third_level.sampled,
                    reach.third_level.loaded_v4,
                    reach
                        .connectivity_percent()
                        .map(|p| format!("{p}%"))
                        .unwrap_or_else(|| "unknown (no inner page loads over IPv4)".into()),
                )?;
            }
            ObservationData::Deadline { after_ms } => writeln!(
                out,
                "  measurement failed: the probes took longer than {after_ms} ms"
            )?,
            ObservationData::Feed(poll) => writeln!(out, "  FEED   {}  {poll:?}", poll.url)?,
        }
    }
    Ok(())
}
