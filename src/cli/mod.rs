//! The command line: clap types only; `commands` turns them into calls.
//! Values are parsed into validated newtypes here, at the edge, so a
//! command never sees a malformed code, division or host name.
//!
//! This file holds the top level (the global flags and the verbs) and
//! what several verb groups share (`--at`, the value parsers: every name
//! and free text through `registry::text`, and [`refused`], which gives
//! a refused value back as the `registry::Invalid` it is); each group
//! has its own file: [`registry`] (org, site, account, audit, exception,
//! code), [`transfer`] (import, export), [`watch`] (probe, check,
//! findings, discover, policy, bench, serve, demo), [`backup`] (backup,
//! restore). Everything is
//! re-exported here, so `crate::cli::SiteCommand` names it wherever it
//! lives.

mod backup;
mod reconcile;
mod registry;
mod report;
mod transfer;
mod watch;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

use crate::registry::Hostname;

pub use backup::*;
pub use reconcile::*;
pub use registry::*;
pub use report::*;
pub use transfer::*;
pub use watch::*;

#[derive(Debug, Parser)]
#[command(
    name = "siteward",
    version,
    about = "The registry of a region's government websites and new-media accounts, and the watch on their domains",
    after_help = "Exit status: 0 ok; 2 invalid input or forbidden transition; 3 `check`: something critical is open; 1 anything else."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH or postgres://…; default
    /// $XDG_DATA_HOME/siteward/siteward.db (~/.local/share/siteward/siteward.db),
    /// $STATE_DIRECTORY/siteward.db under systemd.
    #[arg(long, global = true, value_name = "URL")]
    pub db: Option<String>,
    /// Configuration file (TOML); also SITEWARD_CONFIG.
    #[arg(long, global = true, value_name = "FILE", env = "SITEWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Who makes the change, for the audit trail (default: $USER).
    #[arg(long, global = true, value_name = "NAME", value_parser = actor)]
    pub actor: Option<String>,
    /// Machine output: JSON, one object per line for lists (`export` too);
    /// an error as one JSON object on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the registry database (or bring an existing one's schema up
    /// to date) and say where it is. Commands that only read never create
    /// one; this, and every command that records something, does.
    Init,
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
    /// The findings the store holds; `findings show ID` with its history,
    /// `findings ack ID --note T` acknowledges, `--overdue` lists those
    /// past their deadline.
    Findings(FindingsArgs),
    /// Alert messages: a test to one sink, the outbox, a retry. The
    /// daemon delivers them (configuration [[alerts.sink]], routes in
    /// policies/alerts.toml).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Maintenance windows: a site's or an organization's alerts held
    /// while it is worked on (its findings are still judged), with a
    /// notice when a window starts and ends.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// The quarterly reconciliation: the registry against the national
    /// systems' exports, the 找错 messages and the zones; every
    /// discrepancy, and the fix list for the national system.
    ///
    /// Every input is optional; what is not given is not compared (the
    /// summary says so). Tables are CSV (UTF-8, UTF-8 with BOM, GB18030,
    /// UTF-16) or XLSX (first sheet; a title row and merged header cells
    /// are fine), headers in Chinese in any order. Exit status 0 when the
    /// run completed, whatever it found; 2 on bad input (nothing is
    /// stored).
    Reconcile(ReconcileArgs),
    /// The quarterly circular (通报) in Chinese: overall figures, the
    /// main problems naming sites and organizations, the requirements,
    /// and the attached tables; as a printable page, Markdown, CSV and
    /// an Excel workbook.
    ///
    /// Computed from the registry, the checks and the findings as they
    /// stood at the quarter's end (a quarter not over: as of now, and the
    /// circular says so), with a reconciliation run's discrepancies.
    /// Writes circular.html (A4, print it from a browser), circular.md,
    /// circular.xlsx and tables/附件1.csv … into DIR. Each circular is
    /// stored: `report show ID --out DIR` writes the same files again,
    /// whatever the registry became since. Wording, issuer and
    /// requirements: policies/report.toml.
    Report(ReportArgs),
    /// Learn host names beyond the registry: a BIND zone file, a zone
    /// transfer, or a plain list (for example a certificate-transparency
    /// export).
    Discover(DiscoverArgs),
    /// Write a consistent copy of the SQLite database to a new FILE, while
    /// the daemon and other commands go on writing, then check the copy
    /// and verify its audit trail.
    ///
    /// An existing FILE is refused, never overwritten. Prints what the copy
    /// holds and its audit trail's head; exit status 0 only when the copy
    /// verifies (3 when its audit trail has breaks, as `audit verify`). A
    /// PostgreSQL database is backed up with pg_dump: the command refuses
    /// and prints the recipe (README, "Backup and restore").
    Backup(BackupArgs),
    /// Restore a backup FILE into the configured SQLite database, which
    /// must be new or empty (no organization, site, account or audit row),
    /// then verify its audit trail.
    ///
    /// Stop the daemon first (`systemctl stop siteward`), and run no other
    /// siteward command on that database meanwhile: the database file is
    /// replaced whole. A FILE that is not a siteward database, or was
    /// written by a newer siteward, is refused with the reason. An older
    /// backup is migrated when the restored database is opened. Exit
    /// status 2 when refused (nothing changed), 3 when the restored audit
    /// trail has breaks. PostgreSQL is restored with pg_restore (the
    /// command refuses and prints the recipe); a SQLite backup cannot be
    /// restored into PostgreSQL.
    Restore(RestoreArgs),
    /// Validate a policy directory and print the values in force.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Tokens for the HTTP API (`Authorization: Bearer TOKEN`): made with
    /// a role and, optionally, limited to organizations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The people who log in to the web page: made with a role and,
    /// optionally, limited to organizations, as tokens are. A password is
    /// typed at a prompt (twice), or given on stdin as two lines, the
    /// second repeating the first; never on the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Run one full probe cycle over a simulated region on loopback and
    /// print the rates and the peak memory.
    #[cfg(feature = "sim")]
    Bench(BenchArgs),
    /// Run the daemon: the checks on their schedules from policy
    /// (`[schedules]`), until SIGTERM. SIGHUP reloads the configuration
    /// and the policies. One daemon per SQLite file.
    Serve(ServeArgs),
    /// The daemons sharing the database (last heartbeat, leases held),
    /// the runs in progress and each job's next run.
    Status,
    /// Watch a simulated province on loopback for a minute: its real cases
    /// of orphaned, dangling and unapproved domains are flagged as they
    /// are found. Ctrl-C stops it; nothing is left behind.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
}

/// A name typed on the command line (of a site, an organization, an
/// account, a contact, a subject): `registry::text::name`, so no control
/// or direction character and at most 200 characters. The field is named
/// after the argument when the error is shown ([`refused`]).
pub(crate) fn name(raw: &str) -> Result<String, crate::registry::Invalid> {
    crate::registry::text::name("value", raw)
}

/// Free text typed on the command line (a note, a reason, a reference, a
/// filing number, a URL kept as given): `registry::text::note`.
pub(crate) fn note(raw: &str) -> Result<String, crate::registry::Invalid> {
    crate::registry::text::note("value", raw)
}

/// Who acts (`--actor`): a name, except that an empty one passes here so
/// that `commands` refuses it saying what to do instead.
fn actor(raw: &str) -> Result<String, crate::registry::Invalid> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    name(raw)
}

/// A platform as `import` reads it: `weibo` or 微博, 微信公众号, 抖音…
fn platform(raw: &str) -> Result<crate::registry::Platform, crate::registry::Invalid> {
    crate::transfer::parse_platform(raw)
}

/// The value a value parser refused, as the [`crate::registry::Invalid`]
/// it is, its field named after the argument (`--name`); `None` for any
/// other error of the command line. A value parser's `String` reason
/// becomes the rule.
pub fn refused(error: &clap::Error) -> Option<crate::registry::Invalid> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::ValueValidation {
        return None;
    }
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    // `--name <NAME>`, or `<SITE>` for a positional argument.
    let arg = context(ContextKind::InvalidArg)?;
    let field = match arg.split_once(' ') {
        Some((flag, _)) if flag.starts_with('-') => flag.to_string(),
        _ => arg.clone(),
    };
    let source = std::error::Error::source(error)?;
    Some(match source.downcast_ref::<crate::registry::Invalid>() {
        Some(invalid) => crate::registry::Invalid {
            field,
            ..invalid.clone()
        },
        None => crate::registry::Invalid::new(
            &field,
            &context(ContextKind::InvalidValue).unwrap_or_default(),
            &format!("is refused: {source}"),
        ),
    })
}

/// A time given on the command line.
fn time(raw: &str) -> Result<DateTime<Utc>, crate::registry::Invalid> {
    crate::clock::parse_time("time", raw)
}

/// When something ends: a bare date lasts through that day.
fn deadline(raw: &str) -> Result<DateTime<Utc>, crate::registry::Invalid> {
    crate::clock::parse_deadline("until", raw)
}

fn hostname(raw: &str) -> Result<Hostname, crate::registry::Invalid> {
    Hostname::from_url_or_host(raw)
}

/// A span of time: `2h`, `90m`, `1h30m`, `45s`, `1d`.
pub(crate) fn span(raw: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("`{raw}` is not a duration such as 2h, 90m or 1h30m");
    let mut total = 0i64;
    let mut number = String::new();
    for c in raw.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total <= 0 {
        return Err(bad());
    }
    chrono::Duration::try_seconds(total).ok_or_else(bad)
}

/// A crontab expression (China Standard Time).
fn cron(raw: &str) -> Result<crate::policy::cron::CronSchedule, String> {
    raw.parse()
}

/// Any value whose parsing validates it (codes, divisions, the registry's
/// enumerations), with the reason it is refused.
fn parsed<T: std::str::FromStr<Err = crate::registry::Invalid>>(
    raw: &str,
) -> Result<T, crate::registry::Invalid> {
    raw.parse()
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Add a window: recurring on a crontab schedule, each time for a
    /// duration. Example: --org 兰州市人民政府办公室 --cron "0 22 * * 6"
    /// --duration 2h --reason "服务器迁移".
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["site", "org"])))]
    Add {
        /// A site (id, identifier code or host name).
        #[arg(long)]
        site: Option<String>,
        /// An organization, by name.
        #[arg(long, value_parser = name)]
        org: Option<String>,
        /// When each window starts: a 5-field crontab expression in China
        /// Standard Time.
        #[arg(long, value_parser = cron, value_name = "EXPR")]
        cron: crate::policy::cron::CronSchedule,
        /// How long each lasts: 2h, 90m, 1h30m.
        #[arg(long, value_parser = span)]
        duration: chrono::Duration,
        /// Why, as the notices tell it.
        #[arg(long, value_parser = note)]
        reason: String,
    },
    /// The windows not ended, whether each is on now, and the next start.
    List,
    /// End a window for good: its alerts are no longer held, and if it is
    /// on, the daemon tells its end with what is still open.
    End {
        /// The window's id (`maintenance list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it, once, as the last word of the output:
    /// only its SHA-256 is stored. Example: --name 市网信办 --role operator
    /// --org 兰州市人民政府办公室 --with-subordinates.
    Create {
        /// What the token is called: the actor of every change it makes.
        #[arg(long, value_parser = name)]
        name: String,
        /// viewer reads; operator also acknowledges findings, adds
        /// exceptions, starts checks and records account posts; admin also
        /// changes the registry, imports, and manages tokens.
        #[arg(long, value_parser = role)]
        role: crate::access::Role,
        /// Limit the token to this organization (name or id); repeatable.
        /// Anything else answers 404, as if it did not exist.
        #[arg(long, value_parser = name)]
        org: Vec<String>,
        /// Also the organizations whose division lies within theirs.
        #[arg(long, requires = "org")]
        with_subordinates: bool,
    },
    /// The tokens, revoked ones too (never the tokens themselves).
    List,
    /// Revoke a token: it stops working at once, on every instance.
    Revoke {
        /// The token's name.
        #[arg(value_parser = name)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Make a user who logs in to the web page with a password (asked
    /// for; at least 10 characters, not the user's name). Example: 李四
    /// --role operator --org 兰州市人民政府办公室 --with-subordinates.
    Add {
        /// The name the user logs in with: the actor of every change they
        /// make. Taken for good: users are disabled, never deleted.
        #[arg(value_parser = name)]
        name: String,
        /// viewer reads; operator also acknowledges findings, adds
        /// exceptions, starts checks and records account posts; admin also
        /// changes the registry, imports, and manages tokens.
        #[arg(long, value_parser = role)]
        role: crate::access::Role,
        /// Limit the user to this organization (name or id); repeatable.
        #[arg(long, value_parser = name)]
        org: Vec<String>,
        /// Also the organizations whose division lies within theirs.
        #[arg(long, requires = "org")]
        with_subordinates: bool,
    },
    /// The users, disabled ones too (never their passwords).
    List,
    /// Disable a user: their sessions end at once, on every instance, and
    /// they can no longer log in. Their name stays taken.
    Disable {
        /// The user's name.
        #[arg(value_parser = name)]
        name: String,
    },
    /// Give a user a new password (asked for, as for `user add`): their
    /// sessions end at once.
    Passwd {
        /// The user's name.
        #[arg(value_parser = name)]
        name: String,
    },
}

fn role(raw: &str) -> Result<crate::access::Role, crate::registry::Invalid> {
    raw.parse()
}

#[derive(Debug, Clone, Args)]
pub struct When {
    /// When the event took effect (RFC 3339, or YYYY-MM-DD [HH:MM] in China
    /// Standard Time), for recording past events; default now. At most 5
    /// minutes ahead of now, and not before 1994-01-01.
    #[arg(long, value_name = "TIME", value_parser = time)]
    pub at: Option<DateTime<Utc>>,
}
