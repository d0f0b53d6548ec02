//! The command line: clap types only. `commands` turns them into calls.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::registry::{
    AccountStatus, DivisionCode, Hostname, OrgLevel, Platform, SiteCode, SiteKind, SiteStatus,
};

#[derive(Debug, Parser)]
#[command(
    name = "siteward",
    version,
    about = "The registry of a region's government websites and new-media accounts, and the watch on their domains",
    after_help = "Exit status: 0 ok; 2 invalid input or forbidden transition; 3 `check`: something critical is open; 1 anything else."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH (default sqlite://siteward.db) or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    pub db: Option<String>,
    /// Configuration file (TOML); also SITEWARD_CONFIG.
    #[arg(long, global = true, value_name = "FILE", env = "SITEWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Who makes the change, for the audit trail (default: $USER).
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Machine output: JSON, one object per line for lists.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Organizations (主办单位).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Government websites and their lifecycle.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Government new-media accounts (政务新媒体).
    #[command(subcommand)]
    Account(AccountCommand),
    /// The audit trail of registry changes.
    Audit(AuditArgs),
    /// Import organizations, sites or accounts from CSV, all or nothing.
    Import(ImportArgs),
    /// Export organizations, sites or accounts as CSV or JSON.
    Export(ExportArgs),
    /// Comply-or-explain exceptions.
    #[command(subcommand)]
    Exception(ExceptionCommand),
    /// Check an identifier code (网站标识码) against the rules and the division table.
    Code(CodeArgs),
    /// Probe one host name now and print what was observed.
    Probe(ProbeArgs),
    /// Probe everything, evaluate the rules, confirm, and print the
    /// findings. Exit status 3 when something critical is open.
    Check(CheckArgs),
    /// The findings the store holds; `findings ack ID --note T` acknowledges.
    Findings(FindingsArgs),
    /// Learn host names beyond the registry: a BIND zone file, a zone
    /// transfer, or a plain list (for example a certificate-transparency
    /// export).
    Discover(DiscoverArgs),
    /// Validate a policy directory and print the values in force.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run one full probe cycle over a simulated region on loopback and
    /// print the rates and the peak memory.
    #[cfg(feature = "sim")]
    Bench(BenchArgs),
    /// Run the daemon: the checks on their schedules from policy
    /// (`[schedules]`), until SIGTERM. SIGHUP reloads the configuration
    /// and the policies. One daemon per SQLite file.
    Serve(ServeArgs),
    /// Watch a simulated province on loopback for a minute: its real cases
    /// of orphaned, dangling and unapproved domains are flagged as they
    /// are found. Ctrl-C stops it; nothing is left behind.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
}

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
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Acknowledge a finding: someone is on it. It stays acknowledged while
    /// it holds, and resolves when it stops.
    Ack {
        id: i64,
        #[arg(long)]
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
        /// The directory (default: [policies] dir, ./policies or
        /// /etc/siteward/policies).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The host name (or a URL).
    #[arg(value_parser = hostname)]
    pub host: Hostname,
}

/// A time given on the command line.
fn time(raw: &str) -> Result<DateTime<Utc>, String> {
    crate::clock::parse_time("time", raw).map_err(|e| e.to_string())
}

fn code(raw: &str) -> Result<SiteCode, String> {
    raw.parse()
        .map_err(|e: crate::registry::Invalid| e.to_string())
}

fn hostname(raw: &str) -> Result<Hostname, String> {
    Hostname::from_url_or_host(raw).map_err(|e| e.to_string())
}

fn division(raw: &str) -> Result<DivisionCode, String> {
    raw.parse()
        .map_err(|e: crate::registry::Invalid| e.to_string())
}

fn parsed<T: std::str::FromStr<Err = crate::registry::Invalid>>(raw: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|e: crate::registry::Invalid| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct When {
    /// When the event took effect (RFC 3339, or YYYY-MM-DD [HH:MM] in China
    /// Standard Time), for recording past events; default now.
    #[arg(long, value_name = "TIME", value_parser = time)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Args)]
pub struct ExceptionArgs {
    /// Register a host name outside the allowed suffixes anyway, with this
    /// reason (comply or explain); needs --until.
    #[arg(long, value_name = "REASON", requires = "until")]
    pub exception: Option<String>,
    /// When the exception expires.
    #[arg(long, value_name = "DATE", value_parser = time, requires = "exception")]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organization.
    Add {
        #[arg(long)]
        name: String,
        /// Administrative division code (6 digits, GB/T 2260).
        #[arg(long, value_parser = division)]
        division: DivisionCode,
        #[arg(long, value_parser = parsed::<OrgLevel>, help = "central, province, prefecture, county or township")]
        level: OrgLevel,
        /// The parent organization's name.
        #[arg(long)]
        parent: Option<String>,
        /// Contact e-mail for alerts (repeatable).
        #[arg(long)]
        email: Vec<String>,
        /// Webhook URL for alerts (repeatable).
        #[arg(long)]
        webhook: Vec<String>,
    },
    /// List organizations.
    List,
    /// Show one organization with its sites and accounts.
    Show { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Request a new site (→ requested).
    Request {
        #[arg(long)]
        name: String,
        /// The organizer's name.
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = parsed::<SiteKind>, help = "portal, department or special")]
        kind: SiteKind,
        /// Host name (repeatable; the first is primary).
        #[arg(long = "domain", required = true, value_parser = hostname)]
        domains: Vec<Hostname>,
        /// Identifier code, if already issued.
        #[arg(long, value_parser = code)]
        code: Option<SiteCode>,
        /// ICP filing number (ICP备案号).
        #[arg(long)]
        icp: Option<String>,
        /// Public-security filing number (公安机关备案号).
        #[arg(long)]
        psb: Option<String>,
        #[command(flatten)]
        exception: ExceptionArgs,
        #[command(flatten)]
        when: When,
    },
    /// Approve a requested site (→ approved).
    Approve {
        site: String,
        /// Approval document reference, e.g. 甘政办函〔2026〕12号.
        #[arg(long = "ref", value_name = "DOC")]
        reference: String,
        #[command(flatten)]
        when: When,
    },
    /// Reject a requested site (→ rejected).
    Reject {
        site: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// An approved site goes live with its identifier code (→ live).
    GoLive {
        site: String,
        #[arg(long, value_parser = code)]
        code: Option<SiteCode>,
        #[command(flatten)]
        when: When,
    },
    /// Suspend a live site (→ suspended).
    Suspend {
        site: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Resume a suspended site (→ live).
    Resume {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Retire a site: the closure notice goes up (→ retiring).
    Retire {
        site: String,
        /// Retirement approval document reference.
        #[arg(long = "ref", value_name = "DOC")]
        reference: String,
        /// The successor site's URL, named by the closure notice.
        #[arg(long, value_name = "URL")]
        successor: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Take a retiring site offline after its notice period; its domains
    /// start releasing (→ offline).
    Offline {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Close an offline site once its domains are deregistered (→ closed).
    Close {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Show one site (by id, identifier code or host name).
    Show { site: String },
    /// List sites.
    List {
        #[arg(long, value_parser = parsed::<SiteStatus>)]
        status: Option<SiteStatus>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
    },
    /// Change a site's details or host names.
    Edit {
        site: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, value_parser = code)]
        code: Option<SiteCode>,
        #[arg(long)]
        icp: Option<String>,
        #[arg(long)]
        psb: Option<String>,
        #[arg(long, value_name = "URL")]
        successor: Option<String>,
        /// Add an alias host name (repeatable).
        #[arg(long, value_parser = hostname)]
        add_domain: Vec<Hostname>,
        /// Release a host name from the site (repeatable; never deleted).
        #[arg(long, value_parser = hostname)]
        release_domain: Vec<Hostname>,
        /// Make this host name the primary one (added if new).
        #[arg(long, value_parser = hostname)]
        primary: Option<Hostname>,
        #[command(flatten)]
        exception: ExceptionArgs,
        #[command(flatten)]
        when: When,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Register an account (→ active).
    Add {
        #[arg(long, value_parser = parsed::<Platform>, help = "wechat_service, wechat_subscription, wechat_channels, weibo, douyin, toutiao, kuaishou, bilibili, app or other")]
        platform: Platform,
        /// The account id on the platform.
        #[arg(long)]
        handle: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: String,
        /// RSS, Atom or JSON Feed URL of its posts.
        #[arg(long)]
        feed: Option<String>,
        #[command(flatten)]
        when: When,
    },
    Suspend {
        account: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    Resume {
        account: String,
        #[command(flatten)]
        when: When,
    },
    Close {
        account: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Record a post seen at --at.
    Seen {
        account: String,
        #[arg(long, value_parser = time, value_name = "TIME")]
        at: DateTime<Utc>,
    },
    List {
        #[arg(long, value_parser = parsed::<AccountStatus>)]
        status: Option<AccountStatus>,
    },
    Show {
        account: String,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only rows about this site (id, code or host name) and its domains.
    #[arg(long)]
    pub site: Option<String>,
    /// Only rows about this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only rows about this organization.
    #[arg(long)]
    pub org: Option<String>,
    /// Only the latest N rows.
    #[arg(long, value_name = "N")]
    pub last: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityArg {
    Orgs,
    Sites,
    Accounts,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub entity: EntityArg,
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
    pub entity: EntityArg,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Header language of the CSV.
    #[arg(long, value_enum, default_value_t = Headers::Zh)]
    pub headers: Headers,
    #[arg(long, value_enum, default_value_t = OutputEncoding::Utf8)]
    pub encoding: OutputEncoding,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Record a comply-or-explain exception: a rule waived for a subject,
    /// with a reason, until a date.
    Add {
        /// The finding kind waived (see `siteward findings --help`).
        #[arg(long)]
        kind: String,
        /// What it is waived for: the finding's subject (a host name, a
        /// zone, `host address`, `platform:account`).
        #[arg(long)]
        subject: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_parser = time, value_name = "DATE")]
        until: DateTime<Utc>,
    },
    /// List comply-or-explain exceptions.
    List,
}

#[derive(Debug, Args)]
pub struct CodeArgs {
    pub code: String,
    /// The organizer, to check the prefix against its division.
    #[arg(long)]
    pub org: Option<String>,
}
