//! Carries out a parsed command line: resolves the configuration, the
//! policy and the store once, calls a use case of `app` (or the store,
//! where a use case is one call), and renders what it returns through
//! `output`. No rule lives here, and no query: a command resolves,
//! calls, renders.
//!
//! This file dispatches and holds what every command shares (the
//! [`Context`], who is acting, warnings, the async runtime, progress
//! bars); each verb group has its own file, as in `cli`: [`registry`]
//! (org, site, account, audit, exception, code), [`transfer`] (import,
//! export), [`watch`] (probe, check, findings, discover), [`policy`]
//! (policy check), [`daemon`] (serve, bench, demo), [`backup`] (backup,
//! restore).

mod backup;
mod daemon;
mod policy;
mod reconcile;
mod registry;
mod report;
mod transfer;
mod watch;

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::policy::Policy;
use crate::registry::Warning;
use crate::store::{Change, Store};

pub use crate::app::InvalidInput;

/// What a command on the registry or the findings needs, resolved once:
/// the application (configuration, policy, store), who is acting, and
/// whether the output is for scripts.
struct Context {
    app: App,
    actor: String,
    /// Where `actor` came from, recorded with each change.
    actor_source: &'static str,
    json: bool,
}

impl Context {
    /// Loads the policy and opens the store (which migrates the database).
    fn open(
        config: Config,
        config_file: Option<PathBuf>,
        actor_flag: Option<&str>,
        json: bool,
    ) -> Result<Context> {
        let policy = Policy::load(config.policies.dir.as_deref())?;
        crate::app::alerts::check_routes(&config, &policy)?;
        let (actor, actor_source) = actor(actor_flag)?;
        let store = Store::open(&config.database.url)?;
        Ok(Context {
            app: App::new(config, config_file, policy, store),
            actor,
            actor_source,
            json,
        })
    }

    fn store(&self) -> &Store {
        &self.app.store
    }

    /// A change by the actor, effective `at` (`--at`) or now; a time in
    /// the future or before 1994 is refused (`app::registry::change`).
    fn change(&self, at: Option<DateTime<Utc>>) -> Result<Change, crate::registry::Invalid> {
        crate::app::registry::change(&self.actor, "--at", at).map(|c| c.via(self.actor_source))
    }
}

/// Who is acting, and where the name came from: `--actor` (refused when
/// empty), else `$USER`, else `$LOGNAME`, else the operating system's
/// name for this process's user.
fn actor(flag: Option<&str>) -> Result<(String, &'static str)> {
    if let Some(flag) = flag {
        let name = flag.trim();
        if name.is_empty() {
            return Err(InvalidInput(
                "--actor is empty: name who makes the change, or leave --actor out to record your login name"
                    .into(),
            )
            .into());
        }
        return Ok((name.to_string(), "--actor"));
    }
    for var in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(var)
            && !name.trim().is_empty()
        {
            return Ok((name.trim().to_string(), var));
        }
    }
    Ok(system_user())
}

/// The name the system's user database gives this process's user (as
/// `id -un` says it), or `uid N` when it has none.
fn system_user() -> (String, &'static str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return ("unknown".into(), "nowhere");
    };
    let named = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?;
                (id.parse() == Ok(uid)).then(|| name.to_string())
            })
        });
    match named {
        Some(name) => (name, "system user"),
        None => (format!("uid {uid}"), "system user id"),
    }
}

/// Advisory warnings go to stderr, so that stdout stays what was asked
/// for (JSON, a table) whatever the warnings.
fn warn(warnings: &[Warning]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

/// Exit status of `check` when something critical is open.
pub const CRITICAL_OPEN: u8 = 3;

/// Exit status of `audit verify` when the registry and its audit trail
/// disagree.
pub const TAMPERED: u8 = 3;

/// Exit status of `check` when nothing could be measured this round, and
/// of `probe` when every measurement failed: a cron wrapper must not read
/// a blind round as a healthy one. Takes precedence over
/// [`CRITICAL_OPEN`].
pub const NOT_MEASURED: u8 = 4;

/// Runs the command; returns the exit status on success (0,
/// [`CRITICAL_OPEN`] or [`NOT_MEASURED`]).
pub fn run(cli: Cli) -> Result<u8> {
    let config = crate::app::load_config(cli.config.as_deref(), cli.db.as_deref())?;
    let json = cli.json;
    // Locked only while it writes: held for a whole command, the lock
    // would block any task printing from another thread (the demo's).
    let mut out = io::BufWriter::new(io::stdout());
    let open =
        |config: Config| Context::open(config, cli.config.clone(), cli.actor.as_deref(), json);
    let mut status = 0;
    match cli.command {
        // These need no store, or open their own.
        Command::Code(args) => registry::code(&config, &args, json, &mut out)?,
        Command::Probe(args) => status = watch::probe(&config, &args, json, &mut out)?,
        Command::Policy(command) => policy::run(&config, command, json, &mut out)?,
        #[cfg(feature = "sim")]
        Command::Bench(args) => daemon::bench(&config, &args, json, &mut out)?,
        Command::Backup(args) => status = backup::backup(&config, &args, json, &mut out)?,
        Command::Restore(args) => status = backup::restore(&config, &args, json, &mut out)?,
        Command::Serve(args) => daemon::serve(cli.config.as_deref(), cli.db.as_deref(), &args)?,
        #[cfg(feature = "sim")]
        Command::Demo(args) => daemon::demo(&args)?,
        Command::Org(command) => registry::org(&open(config)?, command, &mut out)?,
        Command::Site(command) => registry::site(&open(config)?, command, &mut out)?,
        Command::Account(command) => registry::account(&open(config)?, command, &mut out)?,
        Command::Audit(args) => status = registry::audit(&open(config)?, args, &mut out)?,
        Command::Status => daemon::status(&open(config)?, &mut out)?,
        Command::Exception(command) => registry::exception(&open(config)?, command, &mut out)?,
        Command::Import(args) => transfer::import(&open(config)?, &args, &mut out)?,
        Command::Export(args) => transfer::export(&open(config)?, &args, &mut out)?,
        Command::Check(args) => status = watch::check(&open(config)?, &args, &mut out)?,
        Command::Findings(args) => watch::findings(&open(config)?, args, &mut out)?,
        Command::Discover(args) => watch::discover(&open(config)?, &args, &mut out)?,
        Command::Alerts(command) => watch::alerts(&open(config)?, command, &mut out)?,
        Command::Maintenance(command) => watch::maintenance(&open(config)?, command, &mut out)?,
        Command::Reconcile(args) => reconcile::run(&open(config)?, args, &mut out)?,
        Command::Report(args) => report::run(&open(config)?, args, &mut out)?,
    }
    out.flush()?;
    Ok(status)
}

/// The async runtime of the commands that probe or run the daemon: two
/// worker threads, which the probes' concurrency limit keeps busy.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
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

/// A spinner on stderr while `work` runs, for a long step whose progress
/// cannot be counted (an import's one transaction, a zone transfer, the
/// benchmark); nothing when stderr is not a terminal or with `--json`.
pub fn with_spinner<T>(json: bool, what: &str, work: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal;
    if json || !io::stderr().is_terminal() {
        return work();
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(what.to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let done = work();
    spinner.finish_and_clear();
    done
}

/// Prints each item of a list as a JSON line, or the table of them.
fn print_list<T>(
    context: &Context,
    items: &[T],
    json: impl Fn(&T) -> serde_json::Value,
    table: impl FnOnce(&[T]) -> crate::output::Table,
    out: &mut impl Write,
) -> Result<()> {
    if context.json {
        for item in items {
            crate::output::json_line(out, &json(item))?;
        }
    } else {
        table(items).print(out)?;
    }
    Ok(())
}
