//! The only module that knows diesel and SQL. It opens SQLite (default,
//! embedded) or PostgreSQL, runs the embedded migrations of that backend,
//! and persists registry changes: each change and its audit row commit in
//! one transaction, or neither does.
//!
//! Queries live in [`sql`], compiled once per backend; the operations in
//! `orgs`, `sites`, `accounts`, `audit` and `import` are generic over it.

mod accounts;
pub mod alerts;
mod audit;
pub mod backup;
mod convert;
mod findings;
pub mod history;
mod import;
pub mod maintenance;
pub mod metrics;
mod observations;
mod orgs;
pub mod reconcile;
pub mod reports;
mod rows;
mod runs;
mod schema;
pub mod sinks;
mod sites;
mod sql;
pub mod tokens;
pub mod users;

use chrono::{DateTime, Utc};
use diesel::Connection as _;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use thiserror::Error;

use crate::jobs::{Job, RunStatus};
use crate::policy::Policy;
use crate::registry::lifecycle::{AccountAction, SiteAction, SiteEdit, TransitionError};
use crate::registry::{Account, Invalid, Organization, Site, Warning};

pub use accounts::{AccountEdit, AccountPageQuery, NewAccount};
pub use audit::{AuditEntry, AuditFilter};
pub use findings::{ApplyStats, Discovered, FindingEvent, FindingPageQuery, StoredFinding};
pub use import::{ImportKind, ImportSummary, RowError};
pub use observations::{PageSpan, RecordStats, StoredObservation};
pub use orgs::{NewOrganization, OrgEdit};
pub use runs::{Run, StoredSchedule, instance};
pub use sites::{ExceptionGrant, ExceptionRecord, SiteFilter, SiteRequest, SiteSearch};
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
    /// Where the actor's name came from (`--actor`, `USER`, `LOGNAME`,
    /// `system user`, `siteward`), when known.
    pub actor_source: Option<String>,
    /// When the event happened (`--at`); defaults to now.
    pub effective_at: DateTime<Utc>,
    /// When siteward recorded it.
    pub recorded_at: DateTime<Utc>,
    /// What it was made from (an imported file and its SHA-256), recorded
    /// as the reason of audit rows that give none of their own.
    pub source: Option<String>,
}

impl Change {
    pub fn now(actor: &str) -> Change {
        let now = Utc::now();
        Change {
            actor: actor.to_string(),
            actor_source: None,
            source: None,
            effective_at: now,
            recorded_at: now,
        }
    }

    /// The same change, made from `source` (an imported file).
    pub fn from_source(mut self, source: &str) -> Change {
        self.source = Some(source.to_string());
        self
    }

    /// The same change, saying where the actor's name came from.
    pub fn via(mut self, source: &str) -> Change {
        self.actor_source = Some(source.to_string());
        self
    }

    pub fn at(actor: &str, effective_at: DateTime<Utc>) -> Change {
        Change {
            actor: actor.to_string(),
            actor_source: None,
            source: None,
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

type Pool<C> = r2d2::Pool<r2d2::ConnectionManager<C>>;

/// The connection pools. SQLite allows one writer at a time: one writer
/// connection serialises this process's writes (other processes wait on
/// the busy timeout), and a few readers read beside it under WAL.
#[derive(Clone)]
enum Pools {
    Sqlite {
        writer: Pool<SqliteConnection>,
        readers: Pool<SqliteConnection>,
    },
    Postgres(Pool<PgConnection>),
}

/// An open registry database: a cheap, cloneable handle over a
/// connection pool, shared by the commands, the scheduler and its jobs.
/// Its calls block; async code reaches it through `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// The database URL, its password hidden, for messages.
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.url)
            .finish()
    }
}

/// Runs `$body` with `$c` bound to a connection of the SQLite pool
/// `$sqlite` (`writer` or `readers`), or of the PostgreSQL pool,
/// compiling it once per backend.
macro_rules! on_pool {
    ($store:expr, $sqlite:ident, $c:ident => $body:expr) => {
        match &$store.pools {
            Pools::Sqlite { $sqlite, .. } => {
                let mut guard = $sqlite.get().map_err(|e| $store.pool_error(e))?;
                let $c = &mut *guard;
                $body
            }
            Pools::Postgres(pool) => {
                let mut guard = pool.get().map_err(|e| $store.pool_error(e))?;
                let $c = &mut *guard;
                $body
            }
        }
    };
}

/// A writing connection: on SQLite the one writer.
macro_rules! with_conn {
    ($store:expr, $c:ident => $body:expr) => {
        on_pool!($store, writer, $c => $body)
    };
}

/// A reading connection: on SQLite one of the readers, which never wait
/// for the writer under WAL.
macro_rules! with_reader {
    ($store:expr, $c:ident => $body:expr) => {
        on_pool!($store, readers, $c => $body)
    };
}

// After the macros it uses.
mod work;
pub use work::{InstanceStatus, WorkItem, WorkRecord};

/// Which running runs [`Store::interrupt_running`] marks interrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupting {
    /// Every one: the only daemon of a SQLite file starts, so none of
    /// them is alive.
    All,
    /// This instance's, as it stops.
    Of(String),
    /// Those of instances with no heartbeat since `since` (dead).
    Dead { since: DateTime<Utc> },
}

/// The `sslmode` of a PostgreSQL URL that requires TLS, if it asks for it.
fn tls_asked(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "sslmode" && matches!(value, "require" | "verify-ca" | "verify-full"))
            .then(|| value.to_string())
    })
}

/// Settings every SQLite connection gets when the pool opens it.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas {
    read_only: bool,
}

impl r2d2::CustomizeConnection<SqliteConnection, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), r2d2::Error> {
        // busy_timeout: another process (a CLI command beside the daemon)
        // may hold the write lock for a moment. synchronous=FULL: a
        // committed change survives power loss.
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(r2d2::Error::QueryError)?;
        if self.read_only {
            conn.batch_execute("PRAGMA query_only = ON;")
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// SQLite readers in one process; WAL lets them read while one writes.
const SQLITE_READERS: u32 = 4;
/// PostgreSQL connections in one process.
const POSTGRES_CONNECTIONS: u32 = 8;
/// How long a caller waits for a free connection before it is an error.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The SQLite file path a `sqlite://` URL (or a bare path) names.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The migration that made the audit trail a hash chain.
const CHAIN_MIGRATION: &str = "20261205000010";

fn versions(applied: &[diesel::migration::MigrationVersion<'_>]) -> Vec<String> {
    applied
        .iter()
        .map(|v| v.to_string().replace('-', ""))
        .collect()
}

/// Seals the audit rows written before the chain, when the migration that
/// added it has just been applied: once, in the migration's wake, inside
/// the caller's transaction.
fn seal_if_chained<C: Sql>(c: &mut C, applied: &[String]) -> Result<(), StoreError> {
    if applied.iter().any(|v| v == CHAIN_MIGRATION) {
        audit::seal_legacy(c)?;
    }
    Ok(())
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
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            if let Some(mode) = tls_asked(url) {
                return Err(open_error(format!(
                    "sslmode={mode}: this siteward connects to PostgreSQL without TLS (its \
                     libpq is built without OpenSSL). Connect over a Unix socket on the \
                     database's machine (postgres://USER:PASSWORD@/DB?host=/var/run/postgresql) \
                     or through an encrypted tunnel; see the README, \"PostgreSQL\""
                )));
            }
            let mut conn = PgConnection::establish(url).map_err(|e| open_error(e.to_string()))?;
            // Several instances may start at once: one migrates, the
            // others wait on the advisory lock and find nothing to do.
            conn.batch_execute("SELECT pg_advisory_lock(7305733)")
                .map_err(|e| open_error(e.to_string()))?;
            let migrated = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| versions(&applied))
                .map_err(|e| StoreError::Migrate(e.to_string()))
                .and_then(|applied| conn.transaction(|c| seal_if_chained(c, &applied)));
            conn.batch_execute("SELECT pg_advisory_unlock(7305733)")
                .map_err(|e| open_error(e.to_string()))?;
            migrated?;
            drop(conn);
            let pool = r2d2::Pool::builder()
                .max_size(POSTGRES_CONNECTIONS)
                .min_idle(Some(1))
                .connection_timeout(POOL_WAIT)
                .build(r2d2::ConnectionManager::<PgConnection>::new(url))
                .map_err(|e| open_error(e.to_string()))?;
            Pools::Postgres(pool)
        } else {
            let path = sqlite_path(url);
            if path.is_empty() {
                return Err(open_error("no file name after sqlite://".into()));
            }
            let mut conn =
                SqliteConnection::establish(path).map_err(|e| open_error(e.to_string()))?;
            // busy_timeout first: switching to WAL itself needs the lock.
            // WAL is a property of the file: set once, every connection
            // sees it.
            conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
                .map_err(|e| open_error(e.to_string()))?;
            conn.immediate_transaction(|c| {
                let applied = c
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|applied| versions(&applied))
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                seal_if_chained(c, &applied)
            })?;
            drop(conn);
            let pool = |size: u32, read_only: bool| {
                r2d2::Pool::builder()
                    .max_size(size)
                    .min_idle(Some(if read_only { 0 } else { 1 }))
                    .connection_timeout(POOL_WAIT)
                    // A file connection does not break behind our back;
                    // a check on every checkout would cost a query.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas { read_only }))
                    .build(r2d2::ConnectionManager::<SqliteConnection>::new(path))
                    .map_err(|e| open_error(e.to_string()))
            };
            Pools::Sqlite {
                writer: pool(1, false)?,
                readers: pool(SQLITE_READERS, true)?,
            }
        };
        Ok(Store {
            pools,
            url: redact(url),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database URL, its password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite file, or `None` on PostgreSQL.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self.pools {
            Pools::Sqlite { .. } => Some(std::path::PathBuf::from(sqlite_path(&self.url))),
            Pools::Postgres(_) => None,
        }
    }

    fn pool_error(&self, e: r2d2::PoolError) -> StoreError {
        StoreError::Open {
            url: self.url.clone(),
            message: format!("no database connection became free: {e}"),
        }
    }

    pub fn add_org(
        &self,
        org: &NewOrganization,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Organization>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| orgs::add(c, org, policy, change)))
    }

    /// Changes an organization (by name or id); see [`OrgEdit`].
    pub fn edit_org(
        &self,
        key: &str,
        edit: &OrgEdit,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Organization>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| orgs::edit(c, key, edit, policy, change)))
    }

    /// The organization a key names: its name, or its internal id.
    pub fn org_by_key(&self, key: &str) -> Result<Organization, StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            let row = orgs::resolve(c, key)?;
            orgs::by_name(c, &row.name)
        }))
    }

    pub fn orgs(&self) -> Result<Vec<Organization>, StoreError> {
        with_reader!(self, c => c.read_tx(orgs::all))
    }

    pub fn org(&self, name: &str) -> Result<Organization, StoreError> {
        with_reader!(self, c => c.read_tx(|c| orgs::by_name(c, name)))
    }

    pub fn request_site(
        &self,
        request: &SiteRequest,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::request(c, request, policy, change)))
    }

    pub fn transition_site(
        &self,
        key: &str,
        action: &SiteAction,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::transition(c, key, action, policy, change)))
    }

    /// Re-dates or voids a wrongly recorded lifecycle event of a site.
    pub fn correct_site(
        &self,
        key: &str,
        event: i64,
        correction: crate::registry::correct::Correction,
        reason: &str,
        policy: &Policy,
        change: &Change,
    ) -> Result<Site, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            sites::correct(c, key, event, correction, reason, policy, change)
        }))
    }

    pub fn edit_site(
        &self,
        key: &str,
        edit: &SiteEdit,
        grant: Option<&ExceptionGrant>,
        policy: &Policy,
        change: &Change,
    ) -> Result<Outcome<Site>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::edit(c, key, edit, grant, policy, change)))
    }

    /// The other sites that share, or shared, a site's code or host names.
    pub fn site_namesakes(&self, site: &Site) -> Result<Vec<(String, Site)>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            sites::namesakes(c, site)?
                .into_iter()
                .map(|(shared, id)| Ok((shared, sites::by_key(c, &id.to_string())?)))
                .collect()
        }))
    }

    pub fn site(&self, key: &str) -> Result<Site, StoreError> {
        with_reader!(self, c => c.read_tx(|c| sites::by_key(c, key)))
    }

    pub fn sites(&self, filter: &SiteFilter) -> Result<Vec<Site>, StoreError> {
        // One snapshot: the sites are read a page at a time.
        with_reader!(self, c => c.snapshot_tx(|c| sites::list(c, filter)))
    }

    /// One page of a site search, every filter applied by the database.
    pub fn search_sites(&self, search: &SiteSearch) -> Result<Vec<Site>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| sites::search(c, search)))
    }

    /// The ids of the sites of these organizations.
    pub fn site_ids_of_orgs(&self, org_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            let mut ids = Vec::new();
            for org in org_ids {
                ids.extend(c.site_ids_of_org(*org)?);
            }
            Ok(ids)
        }))
    }

    /// Ends an exception early, with a reason; audited.
    pub fn end_exception(
        &self,
        id: i64,
        reason: &str,
        change: &Change,
    ) -> Result<ExceptionRecord, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sites::end_exception(c, id, reason, change)))
    }

    /// Records a comply-or-explain exception for a kind and subject,
    /// ending in the future within the policy's `max_exception_days`.
    pub fn add_exception(
        &self,
        kind: &str,
        subject: &str,
        grant: &ExceptionGrant,
        policy: &Policy,
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
        with_conn!(self, c => c.write_tx(|c| sites::add_exception(c, kind, &subject, grant, None, policy, change)))
    }

    pub fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError> {
        with_reader!(self, c => c.read_tx(sites::exceptions))
    }

    /// Findings with one of `statuses` (all when empty), oldest first.
    pub fn findings(
        &self,
        statuses: &[crate::findings::FindingStatus],
    ) -> Result<Vec<StoredFinding>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::list(c, statuses)))
    }

    /// Plans one round's changes against the current findings and the
    /// exceptions in force, and writes them, in one transaction: an
    /// acknowledgement or another check in between cannot be overwritten.
    ///
    /// Each change is recorded as an event, and the messages it calls for
    /// are planned into the outbox, in the same transaction.
    pub fn record_evaluation(
        &self,
        evaluation: &crate::findings::Evaluation,
        confirmations: u32,
        alerting: &alerts::Alerting,
        now: DateTime<Utc>,
    ) -> Result<(ApplyStats, alerts::Planned), StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            c.serialise_findings()?;
            let exceptions = sites::exceptions(c)?;
            let current = findings::current(c)?;
            let in_force = |kind: crate::findings::FindingKind, subject: &str| {
                exceptions
                    .iter()
                    .any(|e| e.kind == kind.as_str() && e.subject == subject && e.until > now)
            };
            let changes = crate::findings::plan(&current, evaluation, in_force, confirmations, now);
            let (stats, happened) = findings::apply(c, &changes, now)?;
            let planned = alerts::plan(c, alerting, &happened, now)?;
            Ok((stats, planned))
        }))
    }

    /// One page of findings, filtered in SQL (see
    /// [`findings::FindingPageQuery`]).
    pub fn findings_page(
        &self,
        query: &findings::FindingPageQuery,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::page(c, query)))
    }

    /// The names of what `findings` point at: each site's (name, code) and
    /// each organization's name, by id; only theirs are read.
    pub fn finding_names(
        &self,
        findings: &[StoredFinding],
    ) -> Result<findings::FindingNames, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::names_of(c, findings)))
    }

    /// The organization a finding belongs to: its own, or its site's.
    pub fn finding_owner(&self, finding: &StoredFinding) -> Result<Option<i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::owner(c, finding)))
    }

    /// The organizations whose division code starts with `prefix`.
    pub fn org_ids_in_division(&self, prefix: &str) -> Result<Vec<i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| Ok(c.org_ids_in_division(prefix)?)))
    }

    /// One finding with its events, oldest first.
    pub fn finding_with_events(
        &self,
        id: i64,
    ) -> Result<(StoredFinding, Vec<FindingEvent>), StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::with_events(c, id)))
    }

    /// Plans repeats and overdue messages (see [`alerts::sweep`]).
    pub fn sweep_alerts(
        &self,
        alerting: &alerts::Alerting,
        now: DateTime<Utc>,
    ) -> Result<alerts::Swept, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            c.serialise_findings()?;
            alerts::sweep(c, alerting, now)
        }))
    }

    /// Claims due messages for `owner` (see [`alerts::claim`]); claims
    /// are serialised across instances with findings' writers.
    pub fn claim_notifications(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<alerts::Claimed>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            c.serialise_findings()?;
            alerts::claim(c, owner, now, lease_until, limit)
        }))
    }

    /// Counts `n` sends to `sink` against its limits, over every
    /// instance (see [`sinks::admit`]).
    pub fn admit_sends(
        &self,
        sink: &str,
        n: usize,
        limits: &[crate::alerts::rate::RateLimit],
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| sinks::admit(c, sink, n, limits, now)))
    }

    /// Records what a send told of a sink (a test message's answer).
    pub fn record_sink(
        &self,
        sink: &str,
        told: &sinks::Told,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_conn!(self, c => c.write_tx(|c| sinks::record(c, sink, told, now)))
    }

    pub fn sink_states(&self) -> Result<Vec<sinks::SinkState>, StoreError> {
        with_reader!(self, c => c.read_tx(sinks::states))
    }

    /// Adds a maintenance window (audited).
    pub fn add_window(
        &self,
        new: &maintenance::NewWindow,
        change: &Change,
    ) -> Result<maintenance::Window, StoreError> {
        let now = change.recorded_at;
        with_conn!(self, c => c.write_tx(|c| maintenance::add(c, new, change, now)))
    }

    pub fn windows(&self, now: DateTime<Utc>) -> Result<Vec<maintenance::Window>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| maintenance::list(c, now)))
    }

    /// Maintenance window `id`, ended or not, as of `now`.
    pub fn window(&self, id: i64, now: DateTime<Utc>) -> Result<maintenance::Window, StoreError> {
        with_reader!(self, c => c.read_tx(|c| maintenance::get(c, id, now)))
    }

    /// Stores a new API token's hash under `name`; audited.
    pub fn add_token(
        &self,
        name: &str,
        role: crate::access::Role,
        limit: &crate::access::Limit,
        hash: &[u8],
        change: &Change,
    ) -> Result<tokens::Token, StoreError> {
        with_conn!(self, c => tokens::add(c, name, role, limit, hash, change))
    }

    /// Every API token, revoked ones too (never the tokens themselves).
    pub fn tokens(&self) -> Result<Vec<tokens::Token>, StoreError> {
        with_reader!(self, c => tokens::list(c))
    }

    /// The API token in use whose SHA-256 is `hash`.
    pub fn token_by_hash(&self, hash: &[u8]) -> Result<Option<tokens::Token>, StoreError> {
        with_reader!(self, c => tokens::by_hash(c, hash))
    }

    /// Revokes the API token in use named `name`; audited.
    pub fn revoke_token(&self, name: &str, change: &Change) -> Result<tokens::Token, StoreError> {
        with_conn!(self, c => tokens::revoke(c, name, change))
    }

    /// Stores a new web user whose password hashes to `password_hash`
    /// (an Argon2id PHC string made by `app::users`); audited.
    pub fn add_user(
        &self,
        name: &str,
        role: crate::access::Role,
        limit: &crate::access::Limit,
        password_hash: &str,
        change: &Change,
    ) -> Result<users::User, StoreError> {
        with_conn!(self, c => users::add(c, name, role, limit, password_hash, change))
    }

    /// Every web user, disabled ones too (never their passwords' hashes).
    pub fn users(&self) -> Result<Vec<users::User>, StoreError> {
        with_reader!(self, c => users::list(c))
    }

    /// Web user `name` and its password's hash, for a login to check.
    pub fn user_credentials(&self, name: &str) -> Result<Option<users::Credentials>, StoreError> {
        with_reader!(self, c => users::credentials(c, name))
    }

    /// Disables web user `name` and ends its sessions; audited.
    pub fn disable_user(&self, name: &str, change: &Change) -> Result<users::User, StoreError> {
        with_conn!(self, c => users::disable(c, name, change))
    }

    /// Gives web user `name` a new password's hash and ends its sessions;
    /// audited (never the hash).
    pub fn set_user_password(
        &self,
        name: &str,
        password_hash: &str,
        change: &Change,
    ) -> Result<users::User, StoreError> {
        with_conn!(self, c => users::set_password(c, name, password_hash, change))
    }

    /// Opens a session for a user whose password still hashes to
    /// `verified_hash`; false when it was disabled or given a new password
    /// since it was checked.
    pub fn open_session(
        &self,
        user_id: i64,
        verified_hash: &str,
        secret_hash: &[u8],
        csrf: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_conn!(self, c => users::open_session(c, user_id, verified_hash, secret_hash, csrf, now))
    }

    /// The web session whose secret's SHA-256 is `hash`, with its user.
    pub fn session_by_hash(&self, hash: &[u8]) -> Result<Option<users::StoredSession>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| users::session(c, hash)))
    }

    /// Marks web session `id` used at `now`, deleting every session last
    /// seen before `idle_since` or opened before `made_since`.
    pub fn touch_session(
        &self,
        id: i64,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
        made_since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_conn!(self, c => users::touch_session(c, id, now, idle_since, made_since))
    }

    /// Deletes web session `id`.
    pub fn end_session(&self, id: i64) -> Result<(), StoreError> {
        with_conn!(self, c => users::end_session(c, id))
    }

    /// Deletes the web session whose secret's SHA-256 is `hash`, if any.
    pub fn end_session_by_hash(&self, hash: &[u8]) -> Result<(), StoreError> {
        with_conn!(self, c => users::end_session_by_hash(c, hash))
    }

    /// Deletes every web session last seen before `idle_since` or opened
    /// before `made_since`; how many.
    pub fn prune_sessions(
        &self,
        idle_since: DateTime<Utc>,
        made_since: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        with_conn!(self, c => users::prune_sessions(c, idle_since, made_since))
    }

    /// Ends a window for good (audited); the daemon tells its end.
    pub fn end_window(&self, id: i64, change: &Change) -> Result<maintenance::Window, StoreError> {
        let now = change.recorded_at;
        with_conn!(self, c => c.write_tx(|c| maintenance::end(c, id, change, now)))
    }

    /// Stores a reconciliation run's report; returns its number.
    pub fn add_reconcile_run(
        &self,
        report: &crate::reconcile::output::Report,
    ) -> Result<i64, StoreError> {
        with_conn!(self, c => reconcile::add(c, report))
    }

    /// The sites changed after `at`, as they stood then (see
    /// [`reconcile::sites_as_of`]).
    pub fn sites_as_of(
        &self,
        at: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<i64, Option<reconcile::SiteThen>>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reconcile::sites_as_of(c, at)))
    }

    /// The organizations changed after `at`, as they stood then (see
    /// [`reconcile::orgs_as_of`]).
    pub fn orgs_as_of(
        &self,
        at: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<i64, Option<reconcile::OrgThen>>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reconcile::orgs_as_of(c, at)))
    }

    /// The accounts changed after `at`, as they stood then (see
    /// [`reconcile::accounts_as_of`]).
    pub fn accounts_as_of(
        &self,
        at: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<i64, Option<reconcile::AccountThen>>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reconcile::accounts_as_of(c, at)))
    }

    /// The newest reconciliation runs, newest first.
    pub fn reconcile_runs(&self, limit: usize) -> Result<Vec<reconcile::RunSummary>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reconcile::list(c, limit)))
    }

    /// A stored reconciliation run's report.
    pub fn reconcile_run(&self, id: i64) -> Result<crate::reconcile::output::Report, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reconcile::get(c, id)))
    }

    /// Writes history as if recorded over time (see [`history`]).
    pub fn plant_history(
        &self,
        visits: &[history::PlantedVisits],
        findings: &[history::PlantedFinding],
        runs: &[Run],
    ) -> Result<(), StoreError> {
        with_conn!(self, c => history::plant(c, visits, findings, runs))
    }

    /// Stores a circular; returns its number.
    pub fn add_report_run(
        &self,
        circular: &crate::report::Circular,
        trigger: &str,
        actor: &str,
    ) -> Result<i64, StoreError> {
        with_conn!(self, c => reports::add(c, circular, trigger, actor))
    }

    /// The newest stored circulars, newest first.
    pub fn report_runs(&self, limit: usize) -> Result<Vec<reports::ReportSummary>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reports::list(c, limit)))
    }

    /// A stored circular.
    pub fn report_run(&self, id: i64) -> Result<crate::report::Circular, StoreError> {
        with_reader!(self, c => c.read_tx(|c| reports::get(c, id)))
    }

    /// Every finding's events effective by `until`, by finding.
    pub fn finding_events_until(
        &self,
        until: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<i64, Vec<FindingEvent>>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::events_until(c, until)))
    }

    /// The runs of `job` started in `[from, to)`, oldest first.
    pub fn runs_between(
        &self,
        job: crate::jobs::Job,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Run>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| runs::between(c, job, from, to)))
    }

    /// How many audit rows effective by `at` were recorded after `since`
    /// (the record as it stood at `at`, corrected since), and the
    /// latest's time.
    pub fn audit_corrected_after(
        &self,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            let (n, latest) = c.audit_corrected_after(convert::to_db(at), convert::to_db(since))?;
            Ok((u64::try_from(n).unwrap_or(0), latest.map(convert::from_db)))
        }))
    }

    /// The page visits of each of `hosts` overlapping `[from, to]`.
    pub fn page_history(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        hosts: &[String],
    ) -> Result<std::collections::BTreeMap<String, Vec<observations::PageSpan>>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::page_history(c, from, to, hosts)))
    }

    /// Records how far a split message got (see [`alerts::progress`]).
    pub fn note_notification_progress(
        &self,
        id: i64,
        owner: &str,
        sent: usize,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_conn!(self, c => c.write_tx(|c| alerts::progress(c, id, owner, sent, lease_until)))
    }

    pub fn finish_notification(
        &self,
        id: i64,
        owner: &str,
        outcome: &alerts::Outcome,
        now: DateTime<Utc>,
        retry_in: impl Fn(u32) -> chrono::Duration,
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        with_conn!(self, c => c.write_tx(|c| alerts::finish(c, id, owner, outcome, now, &retry_in, max_attempts)))
    }

    pub fn notifications(
        &self,
        status: Option<crate::alerts::NotificationStatus>,
        limit: i64,
    ) -> Result<Vec<alerts::Notification>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| alerts::list(c, status, limit)))
    }

    /// A page of the outbox, newest first: messages with ids below
    /// `before` (see [`alerts::list_before`]).
    pub fn notifications_before(
        &self,
        status: Option<crate::alerts::NotificationStatus>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<alerts::Notification>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| alerts::list_before(c, status, before, limit)))
    }

    pub fn retry_notification(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<alerts::Notification, StoreError> {
        with_conn!(self, c => c.write_tx(|c| alerts::retry(c, id, now)))
    }

    /// Messages waiting and failed, and the open findings no route sends
    /// anywhere (see [`alerts::counts`]).
    pub fn alert_counts(&self, alerting: &alerts::Alerting) -> Result<alerts::Counts, StoreError> {
        with_reader!(self, c => c.read_tx(|c| alerts::counts(c, alerting)))
    }

    /// Frees every message's lease: the only daemon of a SQLite file
    /// starts, and no send is in flight.
    pub fn release_notification_leases(&self) -> Result<usize, StoreError> {
        with_conn!(self, c => c.write_tx(|c| Ok(c.release_notification_leases()?)))
    }

    /// The value of contact `id` (an organization's e-mail or webhook)
    /// and its organization's name; `None` when there is no such contact
    /// or it was removed (`org edit --remove-webhook`), so that nothing is
    /// sent to it any more.
    pub fn contact(&self, id: i64) -> Result<Option<(String, String)>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            let Some(row) = c.contact_row(id)?.filter(|row| row.in_use()) else {
                return Ok(None);
            };
            Ok(Some((row.value, c.org_row(row.org_id)?.name)))
        }))
    }

    pub fn acknowledge_finding(
        &self,
        id: i64,
        change: &Change,
        note: &str,
    ) -> Result<StoredFinding, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            c.serialise_findings()?;
            findings::acknowledge(c, id, change, note)
        }))
    }

    /// Records host names learnt from `source`; returns how many were new.
    pub fn discover(
        &self,
        hosts: &[crate::registry::Hostname],
        source: &crate::probe::zone::DiscoverySource,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        with_conn!(self, c => c.write_tx(|c| findings::discover(c, hosts, source, at)))
    }

    pub fn discovered(&self) -> Result<Vec<Discovered>, StoreError> {
        with_reader!(self, c => c.read_tx(findings::discovered))
    }

    /// Up to `limit` discovered host names after id `after`, each with its
    /// id.
    pub fn discovered_page(
        &self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, Discovered)>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::discovered_page(c, after, limit)))
    }

    /// The newest run of any job, if any.
    pub fn last_run(&self) -> Result<Option<Run>, StoreError> {
        with_reader!(self, c => c.read_tx(runs::last))
    }

    /// The newest `limit` runs, newest first; of one job when given.
    /// What `/metrics` reads when scraped, in one read transaction;
    /// certificates from TLS observations seen since `tls_since`.
    pub fn metrics(&self, tls_since: DateTime<Utc>) -> Result<metrics::StoredMetrics, StoreError> {
        with_reader!(self, c => c.read_tx(|c| metrics::read(c, tls_since)))
    }

    /// The last probe cycle that went through to its end (`/readyz`).
    pub fn last_complete_cycle(&self) -> Result<Option<metrics::CompleteCycle>, StoreError> {
        with_reader!(self, c => c.read_tx(metrics::last_cycle))
    }

    pub fn runs(&self, job: Option<Job>, limit: usize) -> Result<Vec<Run>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| runs::list(c, job, limit)))
    }

    /// Up to `limit` runs with ids below `before`, newest first; of one
    /// job when given.
    pub fn runs_page(
        &self,
        job: Option<Job>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Run>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| runs::page(c, job, before, limit)))
    }

    /// Asks for a run of `job` now (see [`runs::request`]): its stored
    /// next fire time moved to `now`, for a daemon's scheduler to claim.
    pub fn request_run(
        &self,
        job: Job,
        expression: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredSchedule, StoreError> {
        with_conn!(self, c => c.write_tx(|c| runs::request(c, job, expression, now)))
    }

    /// Records a run as it starts (or a finished one); returns its id.
    pub fn start_run(&self, run: &Run) -> Result<i64, StoreError> {
        with_conn!(self, c => c.write_tx(|c| runs::insert(c, run)))
    }

    /// Claims the scheduled fire `run.fire_at` of `run.job`: records the
    /// run as started and moves the job's next fire time to `next`, in
    /// one transaction, if the stored next fire time is still the one
    /// the run is for. `None` when it is not (the fire was taken).
    pub fn claim_run(&self, run: &Run, next: &StoredSchedule) -> Result<Option<i64>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            let current = runs::schedules(c)?
                .into_iter()
                .find(|s| s.job == run.job);
            if current.map(|s| s.next_at) != run.fire_at {
                return Ok(None);
            }
            // A job never overlaps itself, whichever instance runs it: the
            // fire waits until the run in progress ends.
            if runs::list(c, Some(run.job), 1)?
                .first()
                .is_some_and(|last| last.status == RunStatus::Running)
            {
                return Ok(None);
            }
            let id = runs::insert(c, run)?;
            runs::set_schedule(c, next)?;
            Ok(Some(id))
        }))
        .or_else(|e| match e {
            // Another instance recorded the same fire first.
            StoreError::Db(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(None),
            e => Err(e),
        })
    }

    /// Rewrites a run as it ends.
    pub fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        with_conn!(self, c => c.write_tx(|c| runs::finish(c, run)))
    }

    /// Marks the runs still recorded as running that `which` names as
    /// interrupted (a crash or a shutdown cut them short), and returns
    /// them as they were.
    pub fn interrupt_running(
        &self,
        at: DateTime<Utc>,
        which: Interrupting,
    ) -> Result<Vec<Run>, StoreError> {
        with_conn!(self, c => c.write_tx(|c| {
            let alive: Vec<String> = match &which {
                Interrupting::Dead { since } => {
                    let since = convert::to_db(*since);
                    c.instance_rows()?
                        .into_iter()
                        .filter(|i| i.heartbeat_at >= since)
                        .map(|i| i.name)
                        .collect()
                }
                _ => Vec::new(),
            };
            let cut: Vec<Run> = runs::list(c, None, 1000)?
                .into_iter()
                .filter(|r| r.status == RunStatus::Running)
                .filter(|r| match &which {
                    Interrupting::All => true,
                    Interrupting::Of(instance) => r.instance.as_deref() == Some(instance.as_str()),
                    Interrupting::Dead { .. } => {
                        !r.instance.as_ref().is_some_and(|i| alive.contains(i))
                    }
                })
                .collect();
            let ids: Vec<i64> = cut.iter().map(|r| r.id).collect();
            c.interrupt_runs(&ids, convert::to_db(at))?;
            Ok(cut)
        }))
    }

    /// Every job's stored schedule.
    pub fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        with_reader!(self, c => c.read_tx(runs::schedules))
    }

    pub fn set_schedule(&self, schedule: &StoredSchedule) -> Result<(), StoreError> {
        with_conn!(self, c => c.write_tx(|c| runs::set_schedule(c, schedule)))
    }

    pub fn add_account(
        &self,
        account: &NewAccount,
        change: &Change,
    ) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::add(c, account, change)))
    }

    pub fn transition_account(
        &self,
        key: &str,
        action: &AccountAction,
        change: &Change,
    ) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::transition(c, key, action, change)))
    }

    /// Changes an account's name, organization or feed; see
    /// [`AccountEdit`].
    pub fn edit_account(
        &self,
        key: &str,
        edit: &AccountEdit,
        change: &Change,
    ) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::edit(c, key, edit, change)))
    }

    /// Records a post seen at `change.effective_at`.
    pub fn account_seen(&self, key: &str, change: &Change) -> Result<Account, StoreError> {
        with_conn!(self, c => c.write_tx(|c| accounts::seen(c, key, change)))
    }

    pub fn account(&self, key: &str) -> Result<Account, StoreError> {
        with_reader!(self, c => c.read_tx(|c| accounts::by_key(c, key)))
    }

    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        with_reader!(self, c => c.read_tx(accounts::all))
    }

    /// A page of accounts filtered in SQL, and how many pass the filters.
    pub fn accounts_page(
        &self,
        query: &accounts::AccountPageQuery,
    ) -> Result<(Vec<Account>, u64), StoreError> {
        with_reader!(self, c => c.read_tx(|c| accounts::page(c, query)))
    }

    /// Every account counted by its organization's id.
    pub fn account_counts_by_org(
        &self,
    ) -> Result<std::collections::BTreeMap<i64, i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| Ok(c.account_org_counts()?.into_iter().collect())))
    }

    pub fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| audit::list(c, filter)))
    }

    /// Walks the audit chain and compares every tracked entity with its
    /// last audited state, all in one snapshot of the database.
    pub fn verify_audit(&self) -> Result<crate::registry::integrity::Verification, StoreError> {
        with_reader!(self, c => c.snapshot_tx(audit::verify))
    }

    /// Imports records all or nothing: any bad row refuses the whole file.
    pub fn import(
        &self,
        records: &import::Records,
        policy: &Policy,
        change: &Change,
    ) -> Result<ImportSummary, StoreError> {
        with_conn!(self, c => c.write_tx(|c| import::apply(c, records, policy, change)))
    }

    /// Records a batch of observations in one transaction, keeping only
    /// what changed.
    pub fn record_observations(
        &self,
        batch: &[crate::probe::Observation],
    ) -> Result<RecordStats, StoreError> {
        with_conn!(self, c => c.write_tx(|c| observations::record(c, batch)))
    }

    /// The host names observed since `since`, in order (see
    /// [`observations::observed_hosts`]).
    pub fn observed_hosts(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::registry::Hostname>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::observed_hosts(c, since)))
    }

    /// What the rules judge of `hosts`: the latest round of each, seen
    /// since `since` (see [`observations::latest_rounds`]).
    pub fn latest_rounds(
        &self,
        since: DateTime<Utc>,
        hosts: &[crate::registry::Hostname],
    ) -> Result<Vec<crate::probe::Observation>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::latest_rounds(c, since, hosts)))
    }

    /// The latest poll of each feed, seen since `since`.
    pub fn latest_polls(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::probe::Observation>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::latest_polls(c, since)))
    }

    /// Prunes observations last seen before `before` (see
    /// [`observations::prune`]).
    pub fn prune_observations(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        with_conn!(self, c => c.write_tx(|c| observations::prune(c, before)))
    }

    /// SQLite: moves the write-ahead log into the database file and
    /// empties it, so that the file's size is the data's (benchmarks).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut c = writer.get().map_err(|e| self.pool_error(e))?;
                Ok(sql::wal_checkpoint(&mut c)?)
            }
            Pools::Postgres(_) => Ok(()),
        }
    }

    /// How many observation rows the store holds.
    pub fn observation_rows(&self) -> Result<u64, StoreError> {
        with_reader!(self, c => c.read_tx(|c| Ok(c.count_observations()? as u64)))
    }

    /// Per host name of `hosts`, (visits, failed) of its pages since
    /// `since`.
    pub fn availability(
        &self,
        since: DateTime<Utc>,
        hosts: &[crate::registry::Hostname],
    ) -> Result<std::collections::BTreeMap<String, (u64, u64)>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::availability(c, since, hosts)))
    }

    /// What was seen of a host name as of `at` (now when `None`).
    pub fn observations(
        &self,
        host: &crate::registry::Hostname,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::as_of(c, host, at)))
    }

    /// A host name's stored history, newest first (at most `limit`
    /// stretches), each with whether it is still the newest of its kind.
    pub fn observation_history(
        &self,
        host: &crate::registry::Hostname,
        limit: usize,
    ) -> Result<Vec<(StoredObservation, bool)>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| observations::history(c, host, limit)))
    }

    /// Checks an import exactly as [`Store::import`] would, then rolls
    /// everything back.
    pub fn import_dry_run(
        &self,
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

impl Store {
    /// The name of the organization each of `findings` belongs to, by
    /// finding id (see [`findings::owner_names`]).
    pub fn finding_owner_names(
        &self,
        findings: &[StoredFinding],
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| findings::owner_names(c, findings)))
    }
}

/// Reads for the web page's registry pages.
impl Store {
    /// The sites each organization organizes that are in the registry
    /// (not closed or rejected), by organization id: counted in SQL.
    pub fn site_counts_by_org(&self) -> Result<std::collections::BTreeMap<i64, i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| {
            let mut counts = std::collections::BTreeMap::new();
            for (status, _, org, n) in c.metric_sites()? {
                if status != "closed" && status != "rejected" {
                    *counts.entry(org).or_insert(0) += n;
                }
            }
            Ok(counts)
        }))
    }

    /// Of `hosts`, those a site holds now (active or releasing), each with
    /// the site's id.
    pub fn held_hosts(
        &self,
        hosts: &[String],
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        if hosts.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        with_reader!(self, c => c.read_tx(|c| {
            Ok(c.domain_rows_with_hostnames(hosts)?
                .into_iter()
                .filter(|d| d.state != "released")
                .map(|d| (d.hostname, d.site_id))
                .collect())
        }))
    }
}
// After the macros it uses: what the web page's home and audit pages read.
pub mod overview;
