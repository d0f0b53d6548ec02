//! One daemon per SQLite file. `serve` and `check --once` hold an
//! exclusive lock on a file beside the database (`DB.lock`) for as long
//! as they run, with their process id and command written in it, so that
//! a second one refuses to start and says who holds the database. Other
//! CLI commands take no lock: SQLite serialises their writes with the
//! daemon's. The lock is the kernel's (`flock`), so a crashed holder
//! releases it; PostgreSQL needs none (instances share work there).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "the database {db} is in use by another siteward process ({holder}); \
         one daemon per SQLite file (lock file {lock})"
    )]
    Held {
        db: PathBuf,
        lock: PathBuf,
        holder: String,
    },
    #[error("cannot lock {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as it lives.
#[derive(Debug)]
pub struct DbLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file of an SQLite database file.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of `db` for `command` (e.g. `siteward serve`), or says
/// who holds it.
pub fn acquire(db: &Path, command: &str) -> Result<DbLock, LockError> {
    let path = lock_path(db);
    let io = |source| LockError::Io {
        lock: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                db: db.to_path_buf(),
                lock: path.clone(),
                holder: if holder.is_empty() {
                    "a process that has not written its id yet".to_string()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "pid {}, `{command}`", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(DbLock { _file: file, path })
}
