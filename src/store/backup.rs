//! Backups and restores of a SQLite registry, file to file.
//!
//! A backup is `VACUUM INTO` a new file: one read transaction of the
//! source, so the copy is a consistent snapshot while other connections
//! (the daemon, other commands) go on writing under WAL. It is written
//! beside its destination under a temporary name, synced, and put in
//! place without ever replacing an existing file.
//!
//! A restore checks that the backup is a siteward database this version
//! knows (an SQLite file with the registry's tables and migrations, none
//! newer than this binary's, undamaged), that the target is new or empty
//! (no organization, site, account or audit row), then `VACUUM INTO` a
//! temporary file beside the target and renames it over the target. The
//! target must not be in use: the caller holds its daemon lock.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, `pg_restore`);
//! nothing here speaks to it. These are the store's only statements
//! written outside `sql`: they are SQLite's alone and run on connections
//! to files outside the store's pools.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::r2d2;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use serde::Serialize;
use thiserror::Error;

use super::{POOL_WAIT, Pools, SQLITE_MIGRATIONS, SqlitePragmas, Store, StoreError};

/// Why a backup or a restore did not happen.
#[derive(Debug, Error)]
pub enum BackupError {
    /// The user's request is refused (exit status 2); nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A file could not be read or written.
    #[error("{what} {}: {error}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.to_path_buf();
        move |error| BackupError::Io { what, path, error }
    }
}

/// What a registry database holds, counted for refusals and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Contents {
    pub organizations: u64,
    pub sites: u64,
    pub accounts: u64,
    pub audit_rows: u64,
}

impl Contents {
    pub fn is_empty(&self) -> bool {
        *self == Contents::default()
    }
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {} and {}",
            count(self.organizations, "organization", "organizations"),
            count(self.sites, "site", "sites"),
            count(self.accounts, "account", "accounts"),
            count(self.audit_rows, "audit row", "audit rows"),
        )
    }
}

/// A backup file found fit to restore.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    pub contents: Contents,
    /// Migrations the backup's schema has.
    pub migrations: usize,
    /// Migrations of this version the backup lacks (an older backup):
    /// applied when the restored database is first opened.
    pub pending: usize,
}

/// The tables every siteward database has, and how each is counted.
const REGISTRY_TABLES: [&str; 4] = ["organizations", "sites", "accounts", "audit"];
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct QuickCheck {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

/// The SQLite file a database URL names; `None` for PostgreSQL.
pub fn sqlite_file_of(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(PathBuf::from(super::sqlite_path(url)))
}

/// A path as SQLite takes it in a statement: UTF-8 only.
fn utf8(path: &Path) -> Result<&str, BackupError> {
    path.to_str().ok_or_else(|| {
        BackupError::Refused(format!(
            "{} is not valid UTF-8; give a path SQLite can be told",
            path.display()
        ))
    })
}

/// A URI that opens `path` read-only: nothing in the file changes.
fn read_only_uri(path: &Path) -> Result<String, BackupError> {
    let mut uri = String::from("file:");
    for c in utf8(path)?.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    Ok(uri)
}

/// The path of a temporary file beside `path`, for this process.
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// `path` with `suffix` added to its name (SQLite's `-wal`, `-shm`,
/// `-journal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory `path` is in (`.` for a bare name).
fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename or a new name in `dir` durable.
fn sync_dir(dir: &Path) {
    // Best effort: some filesystems refuse to open or sync a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn vacuum_into(c: &mut SqliteConnection, out: &Path) -> Result<(), BackupError> {
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(utf8(out)?)
        .execute(c)
        .map_err(StoreError::from)?;
    Ok(())
}

fn tables(c: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'")
        .load::<Name>(c)
        .map(|names| names.into_iter().map(|n| n.name).collect())
}

/// The rows of the registry tables `tables` holds (a missing one counts 0).
fn contents(c: &mut SqliteConnection, tables: &[String]) -> QueryResult<Contents> {
    let mut count = |table: &str| -> QueryResult<u64> {
        if !tables.iter().any(|t| t == table) {
            return Ok(0);
        }
        // `table` is one of REGISTRY_TABLES, never input.
        let n = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(c)?
            .n;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(Contents {
        organizations: count(REGISTRY_TABLES[0])?,
        sites: count(REGISTRY_TABLES[1])?,
        accounts: count(REGISTRY_TABLES[2])?,
        audit_rows: count(REGISTRY_TABLES[3])?,
    })
}

/// The migrations this binary carries, as the migrations table writes
/// their versions.
fn known_migrations() -> Result<Vec<String>, BackupError> {
    let migrations = MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(migrations
        .iter()
        .map(|m| m.name().version().to_string().replace('-', ""))
        .collect())
}

/// Whether the file starts as an SQLite database does; `None` when it is
/// empty.
fn sqlite_header(path: &Path) -> Result<Option<bool>, BackupError> {
    let mut file = File::open(path).map_err(BackupError::io("cannot read", path))?;
    let mut head = Vec::with_capacity(16);
    file.by_ref()
        .take(16)
        .read_to_end(&mut head)
        .map_err(BackupError::io("cannot read", path))?;
    Ok(match head.len() {
        0 => None,
        _ => Some(head == SQLITE_MAGIC),
    })
}

/// Checks that `file` is a siteward database this version can restore,
/// and counts what it holds; the reason when it is not. Opens it
/// read-only.
pub fn inspect(file: &Path) -> Result<BackupFile, BackupError> {
    let shown = file.display();
    let not =
        |why: String| BackupError::Refused(format!("{shown} is not a siteward backup: {why}"));
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Refused(format!("no file {shown}")));
        }
        Err(e) => return Err(BackupError::io("cannot read", file)(e)),
    };
    if !meta.is_file() {
        return Err(not("it is not a regular file".into()));
    }
    match sqlite_header(file)? {
        None => return Err(not("the file is empty".into())),
        Some(false) => {
            return Err(not(
                "it is not an SQLite database (its first bytes are not SQLite's header)".into(),
            ));
        }
        Some(true) => {}
    }
    let mut c = SqliteConnection::establish(&read_only_uri(file)?)
        .map_err(|e| not(format!("SQLite cannot open it: {e}")))?;
    let unreadable = |e: diesel::result::Error| not(format!("SQLite cannot read it: {e}"));
    c.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(unreadable)?;
    let tables = tables(&mut c).map_err(unreadable)?;
    if !tables.iter().any(|t| t == MIGRATIONS_TABLE) {
        return Err(not(format!(
            "it has no migrations table ({MIGRATIONS_TABLE}), so no siteward wrote it"
        )));
    }
    let missing: Vec<&str> = REGISTRY_TABLES
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if !missing.is_empty() {
        return Err(not(format!(
            "it lacks the registry's table(s) {}",
            missing.join(", ")
        )));
    }
    let applied: Vec<String> = diesel::sql_query(format!("SELECT version FROM {MIGRATIONS_TABLE}"))
        .load::<Version>(&mut c)
        .map_err(unreadable)?
        .into_iter()
        .map(|v| v.version.replace('-', ""))
        .collect();
    let known = known_migrations()?;
    let unknown: Vec<&str> = applied
        .iter()
        .filter(|v| !known.contains(v))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(BackupError::Refused(format!(
            "{shown} was written by a newer siteward: its migration(s) {} are unknown to this \
             version; restore it with the version that wrote it",
            unknown.join(", ")
        )));
    }
    let damage: Vec<String> = diesel::sql_query("SELECT * FROM pragma_quick_check")
        .load::<QuickCheck>(&mut c)
        .map_err(unreadable)?
        .into_iter()
        .map(|r| r.quick_check)
        .filter(|r| r != "ok")
        .collect();
    if !damage.is_empty() {
        return Err(BackupError::Refused(format!(
            "{shown} is damaged: SQLite's quick check found: {}",
            damage
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let contents = contents(&mut c, &tables).map_err(unreadable)?;
    Ok(BackupFile {
        contents,
        migrations: applied.len(),
        pending: known.iter().filter(|v| !applied.contains(v)).count(),
    })
}

/// What the SQLite database at `target` holds: `None` when there is none
/// yet (no file, or an empty one). Refuses a file that is not a
/// siteward database, which a restore must not replace.
pub fn target_contents(target: &Path) -> Result<Option<Contents>, BackupError> {
    let shown = target.display();
    let wal = sibling(target, "-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let len = match std::fs::metadata(target) {
        Ok(meta) if !meta.is_file() => {
            return Err(BackupError::Refused(format!(
                "{shown} is not a regular file; restore writes the database there"
            )));
        }
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BackupError::io("cannot read", target)(e)),
    };
    if len == 0 && wal_len == 0 {
        return Ok(None);
    }
    if len > 0 && sqlite_header(target)? == Some(false) {
        return Err(BackupError::Refused(format!(
            "{shown} is not an SQLite database; restore will not replace it"
        )));
    }
    let failed = |e: diesel::result::Error| {
        BackupError::Refused(format!(
            "{shown} cannot be read as an SQLite database ({e}); restore will not replace it"
        ))
    };
    let mut c = SqliteConnection::establish(utf8(target)?).map_err(|e| {
        BackupError::Refused(format!(
            "{shown} cannot be opened as an SQLite database ({e}); restore will not replace it"
        ))
    })?;
    c.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(failed)?;
    let tables = tables(&mut c).map_err(failed)?;
    if !tables.is_empty() && !tables.iter().any(|t| t == MIGRATIONS_TABLE) {
        return Err(BackupError::Refused(format!(
            "{shown} holds tables that are not siteward's ({}); restore will not replace it",
            tables.join(", ")
        )));
    }
    Ok(Some(contents(&mut c, &tables).map_err(failed)?))
}

/// Copies the backup `file` into `target`, which must be new or an empty
/// siteward database and not in use (the caller holds its lock): the
/// copy is written beside the target, synced, then renamed over it, so
/// the target is either untouched or the whole backup.
pub fn restore(file: &Path, target: &Path) -> Result<(), BackupError> {
    if let (Ok(a), Ok(b)) = (file.canonicalize(), target.canonicalize())
        && a == b
    {
        return Err(BackupError::Refused(format!(
            "{} is the database itself; give a backup file",
            file.display()
        )));
    }
    if let Some(contents) = target_contents(target)?
        && !contents.is_empty()
    {
        return Err(BackupError::Refused(format!(
            "the database {} is not empty: it holds {contents}. A backup is restored only into \
             an empty database (a new file); nothing was changed",
            target.display()
        )));
    }
    let tmp = beside(target, "restoring");
    let _ = std::fs::remove_file(&tmp);
    let copied = (|| -> Result<(), BackupError> {
        let mut c = SqliteConnection::establish(&read_only_uri(file)?).map_err(|e| {
            BackupError::Refused(format!("{}: SQLite cannot open it: {e}", file.display()))
        })?;
        vacuum_into(&mut c, &tmp)?;
        drop(c);
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(BackupError::io("cannot sync", &tmp))?;
        // What journals the old, empty database left would be read as
        // this one's.
        for suffix in ["-wal", "-shm", "-journal"] {
            let stale = sibling(target, suffix);
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(BackupError::io("cannot remove", &stale)(e)),
            }
        }
        std::fs::rename(&tmp, target).map_err(BackupError::io("cannot write", target))?;
        sync_dir(&directory(target));
        Ok(())
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied
}

impl Store {
    /// Writes a consistent copy of this SQLite database into `file`, a
    /// new file (an existing one is refused, never overwritten). The copy
    /// is one read transaction: writers go on meanwhile. Returns its size
    /// in bytes.
    pub fn backup_into(&self, file: &Path) -> Result<u64, BackupError> {
        let Pools::Sqlite { writer, .. } = &self.pools else {
            return Err(BackupError::Refused(
                "a PostgreSQL database is backed up with pg_dump".into(),
            ));
        };
        let exists = |path: &Path| {
            BackupError::Refused(format!(
                "{} exists; a backup never overwrites a file: give a new file name",
                path.display()
            ))
        };
        if file.symlink_metadata().is_ok() {
            return Err(exists(file));
        }
        let dir = directory(file);
        if !dir.is_dir() {
            return Err(BackupError::Refused(format!(
                "no directory {} to write {} in",
                dir.display(),
                file.display()
            )));
        }
        let tmp = beside(file, "partial");
        let _ = std::fs::remove_file(&tmp);
        let written = (|| -> Result<u64, BackupError> {
            {
                // The writer, though VACUUM INTO only reads: the readers
                // are query-only, which refuses it. It takes no write
                // lock, so other processes go on writing.
                let mut c = writer.get().map_err(|e| self.pool_error(e))?;
                vacuum_into(&mut c, &tmp)?;
            }
            let f = File::open(&tmp).map_err(BackupError::io("cannot read", &tmp))?;
            f.sync_all().map_err(BackupError::io("cannot sync", &tmp))?;
            let size = f
                .metadata()
                .map_err(BackupError::io("cannot read", &tmp))?
                .len();
            // A new name for the copy, which fails rather than replace a
            // file made meanwhile; a filesystem without hard links gets a
            // rename after one more look.
            match std::fs::hard_link(&tmp, file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(exists(file));
                }
                Err(_) if file.symlink_metadata().is_ok() => return Err(exists(file)),
                Err(_) => {
                    std::fs::rename(&tmp, file).map_err(BackupError::io("cannot write", file))?;
                }
            }
            sync_dir(&dir);
            Ok(size)
        })();
        let _ = std::fs::remove_file(&tmp);
        written
    }

    /// Opens a backup read-only, as it is: not migrated, nothing written
    /// (for verifying a copy).
    pub fn open_backup(file: &Path) -> Result<Store, BackupError> {
        let uri = read_only_uri(file)?;
        let pool = r2d2::Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(POOL_WAIT)
            .test_on_check_out(false)
            .connection_customizer(Box::new(SqlitePragmas { read_only: true }))
            .build(r2d2::ConnectionManager::<SqliteConnection>::new(uri))
            .map_err(|e| StoreError::Open {
                url: file.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Store {
            pools: Pools::Sqlite {
                writer: pool.clone(),
                readers: pool,
            },
            url: format!("sqlite://{}", file.display()),
        })
    }
}
