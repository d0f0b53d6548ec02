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
//! restore), [`tokens`] (token), [`users`] (user).

mod backup;
mod daemon;
mod policy;
mod reconcile;
mod registry;
mod report;
mod tokens;
mod transfer;
mod users;
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
        // A variable that is no name (empty, or holding a control
        // character) is passed over, as if unset.
        if let Ok(name) = std::env::var(var)
            && let Ok(name) = crate::registry::text::name(var, &name)
        {
            return Ok((name, var));
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
    let access = access(&cli.command);
    if access == Access::Write {
        // A refused --actor creates nothing, not even the database.
        actor(cli.actor.as_deref())?;
    }
    let created = database(&config.database.url, access)?;
    // Locked only while it writes: held for a whole command, the lock
    // would block any task printing from another thread (the demo's).
    let mut out = io::BufWriter::new(io::stdout());
    let open =
        |config: Config| Context::open(config, cli.config.clone(), cli.actor.as_deref(), json);
    let mut status = 0;
    match cli.command {
        Command::Init => init(&config, created, json, &mut out)?,
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
        Command::Token(command) => tokens::run(&open(config)?, command, &mut out)?,
        Command::User(command) => users::run(&open(config)?, command, &mut out)?,
        Command::Reconcile(args) => reconcile::run(&open(config)?, args, &mut out)?,
        Command::Report(args) => report::run(&open(config)?, args, &mut out)?,
    }
    out.flush()?;
    Ok(status)
}

/// What a command does with the registry database, which decides whether
/// it may create one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Needs none, or opens its own (the demo's, a backup file).
    None,
    /// Only reads: with no database it is refused, and creates nothing.
    Read,
    /// Records something: creates the database when there is none.
    Write,
    /// Puts a database in place whole (`restore`): its directory is made
    /// when missing, the database is not.
    Replace,
}

/// Whether `command` only reads the registry (lists, shows, exports,
/// verifications, dry runs), records something, or needs no database.
fn access(command: &Command) -> Access {
    use crate::cli::{
        AccountCommand as A, AlertsCommand as Al, ExceptionCommand as E, FindingsCommand as F,
        MaintenanceCommand as M, OrgCommand as O, SiteCommand as S,
    };
    let read_if = |read: bool| if read { Access::Read } else { Access::Write };
    match command {
        Command::Probe(_) | Command::Policy(_) => Access::None,
        Command::Restore(_) => Access::Replace,
        #[cfg(feature = "sim")]
        Command::Bench(_) | Command::Demo(_) => Access::None,
        Command::Code(args) if args.org.is_none() => Access::None,
        Command::Code(_) | Command::Backup(_) | Command::Audit(_) | Command::Status => Access::Read,
        Command::Export(_) => Access::Read,
        Command::Init | Command::Serve(_) | Command::Check(_) => Access::Write,
        Command::Org(c) => read_if(matches!(c, O::List | O::Show { .. })),
        Command::Site(c) => read_if(matches!(c, S::List { .. } | S::Show { .. })),
        Command::Account(c) => read_if(matches!(c, A::List { .. } | A::Show { .. })),
        Command::Exception(c) => read_if(matches!(c, E::List)),
        Command::Import(args) => read_if(args.dry_run),
        Command::Findings(args) => read_if(!matches!(args.command, Some(F::Ack { .. }))),
        Command::Discover(args) => read_if(args.list),
        Command::Alerts(c) => read_if(matches!(c, Al::List { .. } | Al::Sinks)),
        Command::Maintenance(c) => read_if(matches!(c, M::List)),
        Command::Token(c) => read_if(matches!(c, crate::cli::TokenCommand::List)),
        Command::User(c) => read_if(matches!(c, crate::cli::UserCommand::List)),
        Command::Reconcile(args) => read_if(args.command.is_some()),
        Command::Report(args) => read_if(args.command.is_some()),
    }
}

/// Makes sure a SQLite database is there for a command that needs one:
/// a reading command is refused when it is missing (creating nothing: no
/// file, no directory); a writing one creates it, with its directory, and
/// says so once on stderr. Returns whether it was created. PostgreSQL is
/// left to the store.
fn database(url: &str, access: Access) -> Result<bool> {
    let Some(file) = crate::store::backup::sqlite_file_of(url) else {
        return Ok(false);
    };
    if access == Access::None || file.exists() {
        return Ok(false);
    }
    if access == Access::Replace {
        directory_of(&file)?;
        return Ok(false);
    }
    if access == Access::Read {
        return Err(InvalidInput(format!(
            "there is no registry database at {}, so there is nothing to read; \
             create it with `siteward init` (or by recording something: `org add`, \
             `site request`, `import`), or name an existing one with --db or \
             [database] url in the configuration",
            file.display()
        ))
        .into());
    }
    directory_of(&file)?;
    Store::open(url)?;
    eprintln!(
        "siteward: created the registry database at {}",
        file.display()
    );
    Ok(true)
}

/// Makes the directory of the database `file` when it is missing.
fn directory_of(file: &std::path::Path) -> Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        // Private, as the XDG base directory specification asks of the
        // directories it creates; the registry is the office's business.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| {
                format!(
                    "cannot create the directory {} for the registry database",
                    dir.display()
                )
            })?;
    }
    Ok(())
}

/// `init`: the database created (by [`database`]) or migrated, and where
/// it is.
fn init(config: &Config, created: bool, json: bool, out: &mut impl Write) -> Result<()> {
    let store = Store::open(&config.database.url)?;
    let location = match store.sqlite_file() {
        Some(file) => file.display().to_string(),
        None => store.url().to_string(),
    };
    if json {
        crate::output::json_line(
            out,
            &serde_json::json!({"database": location, "created": created}),
        )?;
    } else if created {
        writeln!(out, "the registry database is at {location}")?;
    } else {
        writeln!(
            out,
            "the registry database at {location} is already there, its schema up to date"
        )?;
    }
    Ok(())
}

/// Shows an error on stderr, the one place every command's error is shown:
/// as `error: …` (and, for a refused import, each bad row as
/// `FILE:line N: …` before it), or with `--json` as one JSON object
/// (`output::error_json`). Whatever it quotes is escaped
/// (`registry::text::escape`): a refused value never reaches the
/// terminal raw.
pub fn print_error(error: &anyhow::Error, json: bool) {
    use crate::registry::text::escape;
    // The chain of causes, each told once: an error whose own message
    // already quotes its source (`cannot read …: {source}`) is not
    // followed by that source again.
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    let refused = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<transfer::ImportRefused>());
    let invalid = error.chain().find_map(|cause| {
        cause.downcast_ref::<crate::registry::Invalid>().or(
            match cause.downcast_ref::<crate::store::StoreError>() {
                Some(crate::store::StoreError::Invalid(invalid)) => Some(invalid),
                _ => None,
            },
        )
    });
    let mut stderr = io::stderr().lock();
    // Nothing is left to tell if stderr itself is gone.
    let _ = if json {
        let value = match refused {
            Some(refused) => {
                crate::output::import_error_json(&message, &refused.file, &refused.rows)
            }
            None => crate::output::error_json(&message, invalid),
        };
        crate::output::json_line(&mut stderr, &value)
    } else {
        if let Some(refused) = refused {
            for row in &refused.rows {
                let _ = writeln!(
                    stderr,
                    "{}:{}",
                    refused.file.display(),
                    escape(&row.to_string())
                );
            }
        }
        writeln!(stderr, "error: {}", escape_lines(&message))
    };
}

/// `text` escaped line by line: a message's own line breaks stay, every
/// other control or direction character is shown as an escape.
fn escape_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| crate::registry::text::escape(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shows a command line that did not parse, as [`print_error`] shows any
/// error, and returns the exit status (2). A value refused by a value
/// parser (`cli::refused`) becomes the [`crate::registry::Invalid`] it is,
/// named after its argument. Help and the version go to stdout as clap
/// prints them.
pub fn parse_error(error: clap::Error, json: bool) -> u8 {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.use_stderr() { 2 } else { 0 };
    }
    if let Some(invalid) = crate::cli::refused(&error) {
        print_error(&anyhow::Error::new(invalid), json);
        return 2;
    }
    if json {
        // The first line of clap's message, without its `error: `.
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        print_error(&anyhow::anyhow!("{message}"), true);
        return 2;
    }
    // clap quotes what it did not understand: escaped, like any error.
    eprint!("{}", escape_lines(&error.render().to_string()));
    2
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
