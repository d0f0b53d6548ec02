//! The only module that knows diesel and SQL. It opens SQLite (default,
//! embedded) or PostgreSQL, runs the embedded migrations of that backend,
//! and persists registry changes: each change and its audit row commit in
//! one transaction, or neither does.
//!
//! Queries live in [`sql`], compiled once per backend; the operations in
//! `orgs`, `sites`, `accounts`, `audit` and `import` are generic over it.

mod accounts;
mod audit;
mod convert;
mod findings;
mod import;
mod observations;
mod orgs;
mod rows;
mod schema;
mod sites;
mod sql;

use chrono::{DateTime, Utc};
use diesel::Connection as _;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use thiserror::Error;

use crate::policy::Policy;
use crate::registry::lifecycle::{AccountAction, SiteAction, SiteEdit, TransitionError};
use crate::registry::{Account, Invalid, Organization, Site, Warning};

pub use accounts::NewAccount;
pub use audit::{AuditEntry, AuditFilter};
pub use findings::{ApplyStats, Discovered, Run, StoredFinding};
pub use import::{ImportKind, ImportSummary, RowError};
pub use observations::{RecordStats, StoredObservation};
pub use orgs::NewOrganization;
pub use sites::{ExceptionGrant, ExceptionRecord, SiteFilter, SiteRequest};
use sql::Sql;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open database {url}: {message}")]
    Open { url: String, message: String },
    #[error("cannot migrate database: {0}")]
    Migrate(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("no {what} `{key}`")]
    NotFound { what: &'static str, key: String },
    #[error("`{key}` names more than one {what}: {candidates}; give the internal id")]
    Ambiguous {
        what: &'static str,
        key: String,
        candidates: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("import refused, nothing was changed: {} bad row(s)", .0.len())]
    Import(Vec<RowError>),
    #[error("the database holds an unexpected value: {what}")]
    Corrupt { what: String },
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    /// A dry run's deliberate rollback; never leaves the store.
    #[error("dry run rolled back")]
    DryRun,
}

impl StoreError {
    /// Whether the error is the user's input (exit status 2) rather than a
    /// failure of the system (exit status 1).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::Invalid(_)
                | StoreError::Transition(_)
                | StoreError::NotFound { .. }
                | StoreError::Ambiguous { .. }
                | StoreError::Conflict(_)
                | StoreError::Import(_)
        )
    }
}

/// Who makes a change, and when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub actor: String,
    /// When the event happened (`--at`); defaults to now.
    pub effective_at: DateTime<Utc>,
    /// When siteward recorded it.
    pub recorded_at: DateTime<Utc>,
}

impl Change {
    pub fn now(actor: &str) -> Change {
        let now = Utc::now();
        Change {
            actor: actor.to_string(),
            effective_at: now,
            recorded_at: now,
        }
    }

    pub fn at(actor: &str, effective_at: DateTime<Utc>) -> Change {
        Change {
            actor: actor.to_string(),
            effective_at,
            recorded_at: Utc::now(),
        }
    }
}

/// A result with the advisory warnings raised on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<T> {
    pub value: T,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// An open registry database.
pub struct Store {
    conn: Conn,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Runs `$body` with `$c` bound to the concrete connection, compiling it
/// once per backend.
macro_rules! with_conn {
    ($store:expr, $c:ident => $body:expr) => {
        match &mut $store.conn {
            Conn::Sqlite($c) => $body,
            Conn::Postgres($c) => $body,
        }
    };
}

/// The SQLite file path a `sqlite://` URL (or a bare path) names.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

impl Store {
    /// Opens the database `url` names and brings its schema up to date.
    /// `postgres://` or `postgresql://` selects PostgreSQL; `sqlite://PATH`
    /// (or a bare path) selects SQLite, created if missing.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let open_error = |message: String| StoreError::Open {
            url: redact(url),
            message,
        };
        let conn = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut conn = PgConnection::establish(url).map_err(|e| open_error(e.to_string()))?;
            // Several instances may start at once: one migrates, the
            // others wait on the advisory lock and find nothing to do.
            conn.batch_execute("SELECT pg_advisory_lock(7305733)")
                .map_err(|e| open_error(e.to_string()))?;
            let migrated = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(drop)
                .map_err(|e| StoreError::Migrate(e.to_string()));
            conn.batch_execute("SELECT pg_advisory_unlock(7305733)")
                .map_err(|e| open_error(e.to_string()))?;
            migrated?;
            Conn::Postgres(conn)
        } else {
            let path = sqlite_path(url);
            if path.is_empty() {
                return Err(open_error("no file name after sqlite://".into()));
            }
            let mut conn =
                SqliteConnection::establish(path).map_err(|e| open_error(e.to_string()))?;
            // busy_timeout first: switching to WAL itself needs the lock.
            // synchronous=FULL: a committed change survives power loss.
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| open_error(e.to_string()))?;
            conn.immediate_transaction(|c| {
                c.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(drop)
                    .map_err(|e| StoreError::Migrate(e.to_string()))
            })?;
            Conn::Sqlite(conn)
        };
        Ok(Store { conn })
    }

    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn add_org(
        &mut self,
        org: &NewOrganization,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Organization>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| orgs::add(c, org, policy, change)))
    }

    pub fn orgs(&mut self) -> Result<Vec<Organization>, StoreError> {
        with_conn!(self, c => c.read_tx(orgs::all))
    }

    pub fn org(&mut self, name: &str) -> Result<Organization, StoreError> {
        with_conn!(self, c => c.read_tx(|c| orgs::by_name(c, name)))
    }

    pub fn request_site(
        &mut self,
        request: &SiteRequest,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::request(c, request, policy, change)))
    }

    pub fn transition_site(
        &mut self,
        key: &str,
        action: &SiteAction,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::transition(c, key, action, policy, change)))
    }

    pub fn edit_site(
        &mut self,
        key: &str,
        edit: &SiteEdit,
        grant: Option<&ExceptionGrant>,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::edit(c, key, edit, grant, policy, change)))
    }

    pub fn site(&mut self, key: &str) -> Result<Site, StoreError> {
        with_conn!(self, c => c.read_tx(|c| sites::by_key(c, key)))
    }

    pub fn sites(&mut self, filter: &SiteFilter) -> Result<Vec<Site>, StoreError> {
        with_conn!(self, c => c.read_tx(|c| sites::list(c, filter)))
    }

    /// Records a comply-or-explain exception for a kind and subject.
    pub fn add_exception(
        &mut self,
        kind: &str,
        subject: &str,
        grant: &ExceptionGrant,
        change: &Change,
    ) -> Result<ExceptionRecord, StoreError> {
        // Any finding kind may be waived, and nothing else.
        let kind = kind
            .parse::<crate::findings::FindingKind>()
            .map_err(|_| {
                Invalid::new(
                    "kind",
                    kind,
                    &format!(
                        "is not a finding kind; kinds: {}",
                        crate::findings::FindingKind::names()
                    ),
                )
            })?
            .as_str();
        // Host names are stored normalised, as findings name them; other
        // subjects (`host address`, `platform:id`, zones) as given.
        let subject = match kind {
            sites::DOMAIN_NOT_ALLOWED => crate::registry::Hostname::from_url_or_host(subject)?
                .as_str()
                .to_string(),
            _ => match subject.trim().parse::<crate::registry::Hostname>() {
                Ok(host) => host.as_str().to_string(),
                Err(_) if !subject.trim().is_empty() => subject.trim().to_string(),
                Err(e) => return Err(e.into()),
            },
        };
        with_conn!(self, c => c.write_tx(|c| sites::add_exception(c, kind, &subject, grant, None, change)))
    }

    pub fn exceptions(&mut self) -> Result<Vec<ExceptionRecord>, StoreError> {
        with_conn!(self, c => c.read_tx(sites::exceptions))
    }

    /// Findings with one of `statuses` (all when empty), oldest first.
    pub fn findings(
        &mut self,
        statuses: &[crate::findings::FindingStatus],
    ) -> Result<Vec<StoredFinding>, StoreError> {
        with_conn!(self, c => c.read_tx(|c| findings::list(c, statuses)))
    }

    /// Plans one round's changes against the current findings and the
    /// exceptions in force, and writes them, in one transaction: an
    /// acknowledgement or another check in between cannot be overwritten.
    pub fn record_evaluation(
        &mut self,
        evaluation: &crate::findings::Evaluation,
        confirmations: u32,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            let exceptions = sites::exceptions(c)?;
            let current = findings::current(c)?;
            let in_force = |kind: crate::findings::FindingKind, subject: &str| {
                exceptions
                    .iter()
                    .any(|e| e.kind == kind.as_str() && e.subject == subject && e.until > now)
            };
            let changes = crate::findings::plan(&current, evaluation, in_force, confirmations, now);
            findings::apply(c, &changes)
        }))
    }

    pub fn acknowledge_finding(
        &mut self,
        id: i64,
        actor: &str,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredFinding, StoreError> {
        with_conn!(self, c => c.write_tx(|c| findings::acknowledge(c, id, actor, note, at)))
    }

    /// Records host names learnt from `source`; returns how many were new.
    pub fn discover(
        &mut self,
        hosts: &[crate::registry::Hostname],
        source: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        with_conn!(self, c => c.write_tx(|c| findings::discover(c, hosts, source, at)))
    }

    pub fn discovered(&mut self) -> Result<Vec<Discovered>, StoreError> {
        with_conn!(self, c => c.read_tx(findings::discovered))
    }

    /// The newest check run, if any.
    pub fn last_run(&mut self) -> Result<Option<Run>, StoreError> {
        with_conn!(self, c => c.read_tx(findings::last_run))
    }

    pub fn record_run(&mut self, run: &Run) -> Result<i64, StoreError> {
        with_conn!(self, c => c.write_tx(|c| findings::record_run(c, run)))
    }

    pub fn add_account(
        &mut self,
        account: &NewAccount,
        change: &Change,
    ) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::add(c, account, change)))
    }

    pub fn transition_account(
        &mut self,
        key: &str,
        action: &AccountAction,
        change: &Change,
    ) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::transition(c, key, action, change)))
    }

    /// Records a post seen at `change.effective_at`.
    pub fn account_seen(&mut self, key: &str, change: &Change) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::seen(c, key, change)))
    }

    pub fn account(&mut self, key: &str) -> Result<Account, StoreError> {
        with_conn!(self, c => c.read_tx(|c| accounts::by_key(c, key)))
    }

    pub fn accounts(&mut self) -> Result<Vec<Account>, StoreError> {
        with_conn!(self, c => c.read_tx(accounts::all))
    }

    pub fn audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        with_conn!(self, c => c.read_tx(|c| audit::list(c, filter)))
    }

    /// Imports records all or nothing: any bad row refuses the whole file.
    pub fn import(
        &mut self,
        records: &import::Records,
        policy: &Policy,
        change: &Change,
    ) -> Result<ImportSummary, StoreError> {
        with_conn!(self, c => c.write_tx(|c| import::apply(c, records, policy, change)))
    }

    /// Records a batch of observations in one transaction, keeping only
    /// what changed.
    pub fn record_observations(
        &mut self,
        batch: &[crate::probe::Observation],
    ) -> Result<RecordStats, StoreError> {
        with_conn!(self, c => c.write_tx(|c| observations::record(c, batch)))
    }

    /// Per host name, (visits, failed) of its pages since `since`.
    pub fn availability(
        &mut self,
        since: DateTime<Utc>,
    ) -> Result<std::collections::BTreeMap<String, (u64, u64)>, StoreError> {
        with_conn!(self, c => c.read_tx(|c| observations::availability(c, since)))
    }

    /// What was seen of a host name as of `at` (now when `None`).
    pub fn observations(
        &mut self,
        host: &crate::registry::Hostname,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        with_conn!(self, c => c.read_tx(|c| observations::as_of(c, host, at)))
    }

    /// Checks an import exactly as [`Store::import`] would, then rolls
    /// everything back.
    pub fn import_dry_run(
        &mut self,
        records: &import::Records,
        policy: &Policy,
        change: &Change,
    ) -> Result<ImportSummary, StoreError> {
        let mut summary = None;
        let result: Result<(), StoreError> = with_conn!(self, c => c.write_tx(|c| {
            summary = Some(import::apply(c, records, policy, change)?);
            Err(StoreError::DryRun)
        }));
        match (result, summary) {
            (Err(StoreError::DryRun), Some(summary)) => Ok(summary),
            (Err(e), _) => Err(e),
            (Ok(()), _) => Err(StoreError::Corrupt {
                what: "a dry run committed".into(),
            }),
        }
    }
}

pub use import::Records;

/// A database URL fit for messages: the password is hidden.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
