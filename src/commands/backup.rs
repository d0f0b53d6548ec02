//! `backup` and `restore`: the SQLite database copied to a new file and
//! the copy verified; a copy put back into an empty database and
//! verified. PostgreSQL is refused with the `pg_dump`/`pg_restore`
//! recipe. Neither needs the policy; `restore` opens the target only
//! once it is restored (opening would create and migrate it).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{InvalidInput, TAMPERED};
use crate::app::lock::{self, LockError};
use crate::cli::{BackupArgs, RestoreArgs};
use crate::config::Config;
use crate::output::{self, json_line};
use crate::registry::integrity::Verification;
use crate::store::backup::{self, BackupError, Contents};
use crate::store::{Store, redact};

/// A refusal is the user's (exit status 2); anything else the system's.
fn refused(e: BackupError) -> anyhow::Error {
    match e {
        BackupError::Refused(message) => InvalidInput(message).into(),
        BackupError::Store(e) => e.into(),
        e => e.into(),
    }
}

/// How PostgreSQL is backed up and restored, with the URL in use (its
/// password hidden) and the file given.
fn postgres_recipe(url: &str, file: &Path) -> String {
    format!(
        "siteward copies SQLite databases only; back PostgreSQL up with its own tools:\n    \
         pg_dump --format=custom --file={file} '{url}'\n\
         and restore it into an empty database, then verify the restored audit trail:\n    \
         createdb NEWDB\n    \
         pg_restore --dbname=NEWDB {file}\n    \
         siteward --db postgres://…/NEWDB audit verify\n\
         (README, \"Backup and restore\")",
        file = file.display(),
        url = redact(url),
    )
}

#[derive(Serialize)]
struct Report<'a> {
    file: &'a Path,
    /// The database restored into (restore only).
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    contents: Contents,
    /// Migrations applied to an older backup as it was opened (restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    migrated: Option<usize>,
    verification: &'a Verification,
}

/// The verification as `audit verify` prints it: every break, the
/// counts, the head to keep.
fn print_verification(what: &str, v: &Verification, out: &mut impl Write) -> Result<()> {
    for b in &v.breaks {
        writeln!(out, "BREAK {}", output::escape(&b.to_string()))?;
    }
    writeln!(
        out,
        "{what}: {} audit rows walked, {} records compared with their last audited state: {}",
        v.rows,
        v.entities,
        match v.breaks.len() {
            0 => "no break".to_string(),
            1 => "1 break".to_string(),
            n => format!("{n} breaks"),
        }
    )?;
    if let Some(head) = &v.head {
        writeln!(out, "head: row {} {}", head.row, head.hash)?;
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn status(v: &Verification) -> u8 {
    if v.breaks.is_empty() { 0 } else { TAMPERED }
}

/// `backup FILE`: the copy written, read back as a restore would read it,
/// and its audit trail verified. 0 only when it verifies.
pub(super) fn backup(
    config: &Config,
    args: &BackupArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let url = &config.database.url;
    let Some(database) = backup::sqlite_file_of(url) else {
        return Err(InvalidInput(format!(
            "backup of a PostgreSQL database is refused: {}",
            postgres_recipe(url, &args.file)
        ))
        .into());
    };
    // Opening would create it.
    if !database.is_file() {
        return Err(InvalidInput(format!("no database {} to back up", database.display())).into());
    }
    let bytes = Store::open(url)?.backup_into(&args.file).map_err(refused)?;
    // Read back as `restore` reads it: a copy that would be refused there
    // is a failed backup, not the user's error.
    let copy = backup::inspect(&args.file).map_err(|e| {
        anyhow::anyhow!(
            "the copy {} does not read back: {}",
            args.file.display(),
            refused(e)
        )
    })?;
    let verification = crate::app::integrity::verify(&Store::open_backup(&args.file)?)?;
    if json {
        json_line(
            out,
            &Report {
                file: &args.file,
                database: None,
                bytes: Some(bytes),
                contents: copy.contents,
                migrated: None,
                verification: &verification,
            },
        )?;
    } else {
        writeln!(
            out,
            "backup written to {} ({}): {}",
            args.file.display(),
            size(bytes),
            copy.contents
        )?;
        print_verification("audit trail of the copy", &verification, out)?;
        if !verification.breaks.is_empty() {
            writeln!(
                out,
                "the copy does not verify: its audit trail has breaks, as the database's own \
                 must (`siteward audit verify`); the copy is kept as evidence"
            )?;
        }
    }
    Ok(status(&verification))
}

/// `restore FILE`: refused unless the target is SQLite, not held by a
/// daemon, new or empty, and FILE a siteward database this version
/// knows; then the copy put in place, opened (an older backup migrated)
/// and its audit trail verified.
pub(super) fn restore(
    config: &Config,
    args: &RestoreArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let url = &config.database.url;
    let Some(target) = backup::sqlite_file_of(url) else {
        return Err(InvalidInput(format!(
            "restore into PostgreSQL is refused: a SQLite backup cannot be restored into \
             PostgreSQL (not supported), and a PostgreSQL dump is restored with pg_restore. {}",
            postgres_recipe(url, &args.file)
        ))
        .into());
    };
    if target.as_os_str().is_empty() {
        return Err(InvalidInput("no file name after sqlite://".into()).into());
    }
    // Held until the end: no daemon starts on the target meanwhile.
    let _lock = lock::acquire(&target, "siteward restore").map_err(|e| match e {
        LockError::Held { .. } => InvalidInput(format!(
            "restore is refused: {e}. Stop the daemon first (systemctl stop siteward); \
             nothing was changed"
        ))
        .into(),
        e => anyhow::Error::from(e),
    })?;
    let file = backup::inspect(&args.file).map_err(refused)?;
    backup::restore(&args.file, &target).map_err(refused)?;
    let store = Store::open(url)?;
    let verification = crate::app::integrity::verify(&store)?;
    if json {
        json_line(
            out,
            &Report {
                file: &args.file,
                database: Some(store.url()),
                bytes: None,
                contents: file.contents,
                migrated: Some(file.pending),
                verification: &verification,
            },
        )?;
    } else {
        writeln!(
            out,
            "restored {} into {}: {}",
            args.file.display(),
            target.display(),
            file.contents
        )?;
        if file.pending > 0 {
            writeln!(
                out,
                "the backup was written by an older siteward: {} migration(s) applied",
                file.pending
            )?;
        }
        print_verification("audit trail of the restored database", &verification, out)?;
        if !verification.breaks.is_empty() {
            writeln!(
                out,
                "the restored database does not verify: its audit trail has breaks"
            )?;
        }
    }
    Ok(status(&verification))
}
