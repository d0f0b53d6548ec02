//! The watch on the domains and the daemon: `probe`, `check`,
//! `findings`, `discover`, `policy`, `bench`, `serve` and `demo`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{hostname, parsed};
use crate::registry::Hostname;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// How log lines are written on stderr (under systemd they go to the
    /// journal with their fields).
    #[arg(long, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
    /// Fire a job every so many seconds instead of on its policy schedule,
    /// as JOB=SECONDS (tests and trials; policy keeps crontab).
    #[arg(long, value_name = "JOB=SECONDS", value_parser = parse_interval, hide = true)]
    pub every: Vec<(crate::jobs::Job, std::time::Duration)>,
    /// How often the scheduler looks at what is due, in milliseconds.
    #[arg(long, default_value_t = 1000, hide = true)]
    pub tick_ms: u64,
}

fn parse_interval(raw: &str) -> Result<(crate::jobs::Job, std::time::Duration), String> {
    let (job, secs) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not JOB=SECONDS"))?;
    let secs: f64 = secs
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("`{secs}` is not a positive number of seconds"))?;
    Ok((job.parse()?, std::time::Duration::from_secs_f64(secs)))
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How many host names the simulated region has.
    #[arg(long, default_value_t = 10_000)]
    pub hosts: usize,
    /// Probes in flight at once (default: [probe] concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Measure the daemon as a process instead: its idle memory with N
    /// live sites registered, one scheduled cycle over them, and the time
    /// from SIGTERM to exit in the middle of a second cycle.
    #[arg(long)]
    pub daemon: bool,
    /// After the cycle, store its observations again this many times, a
    /// round every 15 minutes, each homepage's counter changed (its size
    /// and hash), and report the observation table's growth per day.
    #[arg(long, value_name = "ROUNDS", conflicts_with = "daemon")]
    pub growth: Option<usize>,
    /// With --daemon: run this many daemons on the database of --database
    /// (an empty PostgreSQL database) and measure one shared cycle.
    #[arg(long, value_name = "K", requires_all = ["daemon", "database"])]
    pub instances: Option<usize>,
    /// With --instances: the database they share.
    #[arg(long, value_name = "URL", requires = "instances")]
    pub database: Option<String>,
    /// With --daemon: how far into the second cycle SIGTERM is sent, in
    /// seconds.
    #[arg(long, default_value_t = 5, requires = "daemon")]
    pub sigterm_after: u64,
    /// With --daemon: also deliver alerts, every critical finding to a
    /// webhook receiver on loopback, to measure what the sender costs.
    #[arg(long, requires = "daemon")]
    pub with_alerts: bool,
    /// Measure alerts instead: --findings critical findings opened at
    /// once across --organizations organizations, each with its own
    /// webhook; planning, delivery until all are accepted, peak memory.
    #[arg(long, conflicts_with_all = ["daemon", "growth"])]
    pub alerts: bool,
    /// With --alerts: how many critical findings open at once.
    #[arg(long, default_value_t = 10_000, requires = "alerts")]
    pub findings: usize,
    /// With --alerts: across how many organizations, each with its own webhook.
    #[arg(long, default_value_t = 500, requires = "alerts")]
    pub organizations: usize,
    /// With --alerts: each organization's own webhook, one WeCom robot
    /// for all (20 a minute), or one robot each.
    #[arg(long, value_enum, default_value = "webhooks", requires = "alerts")]
    pub to: crate::bench::alerts::Target,
    /// With --alerts: the robots' minute, in seconds (scaled down, the
    /// one-robot run takes minutes instead of half an hour).
    #[arg(long, default_value_t = 60, requires = "alerts")]
    pub rate_window_secs: u64,
    /// Write the reconciliation benchmark's data into DIR instead: a
    /// registry of --sites sites and the quarter's files (the national
    /// exports, a zone of --zone-records records, --messages 找错
    /// messages); prints the `reconcile` command to time on them.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["daemon", "growth", "alerts", "report_data"])]
    pub reconcile_data: Option<PathBuf>,
    /// Write the circular's benchmark data into DIR: the reconciliation's
    /// (a registry of --sites sites and its files) plus two quarters of
    /// history (homepage visits every 15 minutes, findings with their
    /// events, check runs); prints the commands to run on it.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["daemon", "growth", "alerts"])]
    pub report_data: Option<PathBuf>,
    /// With --report-data: also this many findings open now, one per
    /// site on sites without one (the web page's benchmark: 5,000 open
    /// findings over 10,000 sites).
    #[arg(long, default_value_t = 0, requires = "report_data")]
    pub open_findings: usize,
    /// With --reconcile-data or --report-data: how many sites the registry holds.
    #[arg(long, default_value_t = 20_000)]
    pub sites: usize,
    /// With --reconcile-data: how many records the zone file holds.
    #[arg(long, default_value_t = 100_000, requires = "reconcile_data")]
    pub zone_records: usize,
    /// With --reconcile-data: how many 找错 messages.
    #[arg(long, default_value_t = 50_000, requires = "reconcile_data")]
    pub messages: usize,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run one round and exit (the daemon runs rounds on its schedule).
    #[arg(long, required = true)]
    pub once: bool,
    /// Do not observe again what waits for confirmation.
    #[arg(long)]
    pub no_confirm: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,
    /// Only findings in this status: pending, open, acknowledged, resolved,
    /// suppressed, or `all` (default: open and acknowledged).
    #[arg(long)]
    pub status: Option<String>,
    /// Only findings of this kind.
    #[arg(long, value_parser = parsed::<crate::findings::FindingKind>)]
    pub kind: Option<crate::findings::FindingKind>,
    /// Only findings open past their rectification deadline (整改期限,
    /// policies/alerts.toml [deadlines]), with the deadline.
    #[arg(long, conflicts_with = "status")]
    pub overdue: bool,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// One finding: what it says, its evidence, and every change of it
    /// (opened, acknowledged, resolved…) with who and when.
    Show {
        /// The finding's id.
        id: i64,
    },
    /// Acknowledge a finding: someone is on it. It stays acknowledged while
    /// it holds, and resolves when it stops.
    Ack {
        /// The finding's id.
        id: i64,
        /// Who is on it and what is being done, recorded with the
        /// acknowledgement.
        #[arg(long, value_parser = super::note)]
        note: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["zone_file", "hosts", "axfr", "list"])))]
pub struct DiscoverArgs {
    /// A BIND zone file.
    #[arg(long, value_name = "FILE")]
    pub zone_file: Option<PathBuf>,
    /// The zone's name, for a zone file without $ORIGIN.
    #[arg(long, value_name = "ZONE", requires = "zone_file")]
    pub origin: Option<String>,
    /// A plain list of host names or URLs, one per line (# comments).
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// Transfer this zone (AXFR) from its primary; policy must allow it
    /// ([discovery] axfr).
    #[arg(long, value_name = "ZONE")]
    pub axfr: Option<String>,
    /// List the host names discovered so far, with their sources.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate every policy file (unknown keys, bad regexes, CIDRs, cron
    /// expressions) and print the effective values.
    Check {
        /// The directory (default: [policies] dir, else the built-in
        /// policy).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The host name (or a URL).
    #[arg(value_parser = hostname)]
    pub host: Hostname,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test message to SINK now and print the receiver's answer.
    Test {
        /// The sink's name ([[alerts.sink]] name).
        sink: String,
    },
    /// The outbox: messages planned, delivered or failed, newest first.
    List {
        /// pending, delivered, failed or cancelled.
        #[arg(long, value_parser = parsed::<crate::alerts::NotificationStatus>)]
        status: Option<crate::alerts::NotificationStatus>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a failed message again (same key, same body).
    Retry {
        /// The message's id (`alerts list`).
        id: i64,
    },
    /// Each sink and its state: ok, rate-limited until a time, or broken
    /// with the reason.
    Sinks,
}
