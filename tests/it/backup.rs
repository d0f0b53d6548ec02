//! `siteward backup` and `restore` through the binary: a backup taken
//! while other processes write, restored into a new database whose audit
//! trail verifies; refusals (exit status 2, nothing changed): a backup
//! onto an existing file, a restore into a database that holds records,
//! of a file that is not a siteward database, or while a daemon holds the
//! target; a copy whose audit trail has breaks (exit status 3); the
//! PostgreSQL recipe.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::Value;

use crate::support::Siteward;

/// A directory of databases driven through the binary.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self, name: &str) -> String {
        format!("sqlite://{}", self.path(name).display())
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn lines(db: &str, cwd: &Path, args: &[&str]) -> usize {
    Siteward::at(db, cwd).ok(args).lines().count()
}

fn add_province(db: &str, cwd: &Path) {
    Siteward::at(db, cwd).ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府办公厅",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
}

fn request_site(db: &str, cwd: &Path, n: usize) {
    Siteward::at(db, cwd).ok(&[
        "site",
        "request",
        "--name",
        &format!("甘肃省测试网站{n}"),
        "--org",
        "甘肃省人民政府办公厅",
        "--kind",
        "special",
        "--domain",
        &format!("s{n}.gansu.gov.cn"),
    ]);
}

/// `audit verify` on `db`: its exit status and stdout.
fn verify(db: &str, cwd: &Path) -> (i32, String) {
    let output = Siteward::at(db, cwd).run(&["audit", "verify"]);
    (
        output.status.code().expect("exit status"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_backup_taken_while_others_write_restores_and_verifies() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let db = dir.url("siteward.db");
    add_province(&db, &cwd);
    request_site(&db, &cwd, 0);

    // Another process writes all along: site requests and organizations,
    // each its own `siteward` process on the same file.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, db, cwd) = (stop.clone(), written.clone(), db.clone(), cwd.clone());
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::SeqCst) {
                request_site(&db, &cwd, n);
                if n % 3 == 0 {
                    Siteward::at(&db, &cwd).ok(&[
                        "org",
                        "add",
                        "--name",
                        &format!("甘肃省测试厅{n}"),
                        "--division",
                        "620000",
                        "--level",
                        "province",
                    ]);
                }
                n += 1;
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let wait_for = |at_least: usize| {
        let start = std::time::Instant::now();
        while written.load(Ordering::SeqCst) < at_least {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(120),
                "the writer is stuck"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(2);
    let before = written.load(Ordering::SeqCst);
    let backup = dir.path("backup.db");
    let report =
        json(&Siteward::at(&db, &cwd).ok(&["--json", "backup", backup.to_str().expect("utf-8")]));
    // Writes went on after the copy.
    wait_for(before + 3);
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer");

    assert!(report["bytes"].as_u64().expect("bytes") > 0, "{report}");
    assert!(
        report["verification"]["breaks"]
            .as_array()
            .expect("breaks")
            .is_empty(),
        "{report}"
    );
    let sites_in_backup = report["contents"]["sites"].as_u64().expect("sites");
    assert!(sites_in_backup >= 2, "{report}");
    let sites_now = lines(&db, &cwd, &["--json", "site", "list"]) as u64;
    assert!(
        sites_now > sites_in_backup,
        "the copy is a snapshot: {sites_in_backup} sites then, {sites_now} now"
    );
    // The source still verifies: the backup changed nothing there.
    assert_eq!(verify(&db, &cwd).0, 0);

    // Restored into a new file in a new directory.
    std::fs::create_dir(dir.path("new")).expect("dir");
    let restored = dir.url("new/restored.db");
    let text = Siteward::at(&restored, &cwd).ok(&["restore", backup.to_str().expect("utf-8")]);
    assert!(text.contains("restored"), "{text}");
    assert!(text.contains("no break"), "{text}");
    let (status, text) = verify(&restored, &cwd);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("no break"), "{text}");
    assert_eq!(
        lines(&restored, &cwd, &["--json", "site", "list"]) as u64,
        sites_in_backup
    );
    assert_eq!(
        lines(&restored, &cwd, &["--json", "org", "list"]) as u64,
        report["contents"]["organizations"]
            .as_u64()
            .expect("organizations")
    );
    // The head of the restored trail is the copy's.
    let head = report["verification"]["head"]["hash"]
        .as_str()
        .expect("head");
    assert!(text.contains(head), "{text}");
    // And it is a working registry: the lifecycle goes on.
    Siteward::at(&restored, &cwd).ok(&[
        "site",
        "approve",
        "s0.gansu.gov.cn",
        "--ref",
        "甘政办〔2026〕1号",
    ]);
    assert_eq!(verify(&restored, &cwd).0, 0);
}

#[test]
fn a_restore_into_a_database_that_holds_records_is_refused() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let source = dir.url("source.db");
    add_province(&source, &cwd);
    request_site(&source, &cwd, 1);
    let backup = dir.path("backup.db");
    let backup_arg = backup.to_str().expect("utf-8");
    Siteward::at(&source, &cwd).ok(&["backup", backup_arg]);

    let target = dir.url("target.db");
    Siteward::at(&target, &cwd).ok(&[
        "org",
        "add",
        "--name",
        "兰州市人民政府办公室",
        "--division",
        "620100",
        "--level",
        "prefecture",
    ]);
    let orgs_before = Siteward::at(&target, &cwd).ok(&["--json", "org", "list"]);
    let audit_before = Siteward::at(&target, &cwd).ok(&["--json", "audit"]);
    let (status, stderr) = Siteward::at(&target, &cwd).fails(&["restore", backup_arg]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    assert!(
        stderr.contains("1 organization, 0 sites, 0 accounts and 1 audit row"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(
        Siteward::at(&target, &cwd).ok(&["--json", "org", "list"]),
        orgs_before
    );
    assert_eq!(
        Siteward::at(&target, &cwd).ok(&["--json", "audit"]),
        audit_before
    );
    assert_eq!(verify(&target, &cwd).0, 0);
    // No temporary file left beside it.
    let left: Vec<String> = std::fs::read_dir(dir.dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A database opened but empty (migrated, nothing in it) is restored
    // into.
    let empty = dir.url("empty.db");
    // `audit verify` only reads: it no longer creates the database.
    Siteward::at(&empty, &cwd).ok(&["init"]);
    assert!(dir.path("empty.db").exists());
    Siteward::at(&empty, &cwd).ok(&["restore", backup_arg]);
    assert_eq!(lines(&empty, &cwd, &["--json", "site", "list"]), 1);
    assert_eq!(verify(&empty, &cwd).0, 0);
    // Now it holds records: a second restore is refused.
    let (status, stderr) = Siteward::at(&empty, &cwd).fails(&["restore", backup_arg]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("1 site"), "{stderr}");
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let db = dir.url("siteward.db");
    add_province(&db, &cwd);
    let existing = dir.path("existing.db");
    std::fs::write(&existing, "keep me").expect("write");
    let (status, stderr) =
        Siteward::at(&db, &cwd).fails(&["backup", existing.to_str().expect("utf-8")]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("exists"), "{stderr}");
    assert!(stderr.contains("never overwrites"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).expect("read"), "keep me");

    // A second backup onto the first's name: refused, the first intact.
    let first = dir.path("first.db");
    let first_arg = first.to_str().expect("utf-8");
    Siteward::at(&db, &cwd).ok(&["backup", first_arg]);
    let bytes = std::fs::read(&first).expect("read");
    let (status, stderr) = Siteward::at(&db, &cwd).fails(&["backup", first_arg]);
    assert_eq!(status, 2, "{stderr}");
    assert_eq!(std::fs::read(&first).expect("read"), bytes);

    // A directory that does not exist.
    let (status, stderr) = Siteward::at(&db, &cwd)
        .fails(&["backup", dir.path("nowhere/b.db").to_str().expect("utf-8")]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("no directory"), "{stderr}");

    // A relative name is written where the command runs; no temporary
    // file is left.
    Siteward::at(&db, &cwd).ok(&["backup", "relative.db"]);
    assert!(dir.path("relative.db").is_file());
    let left: Vec<String> = std::fs::read_dir(dir.dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_file_that_is_not_a_siteward_database_is_not_restored() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let target = dir.url("target.db");
    let refuse = |file: &Path, why: &str| {
        let (status, stderr) =
            Siteward::at(&target, &cwd).fails(&["restore", file.to_str().expect("utf-8")]);
        assert_eq!(status, 2, "{stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        assert!(!dir.path("target.db").exists(), "the target was created");
    };
    refuse(&dir.path("missing.db"), "no file");
    let text = dir.path("notes.txt");
    std::fs::write(&text, "这不是数据库\n").expect("write");
    refuse(&text, "not an SQLite database");
    let empty = dir.path("empty.db");
    std::fs::write(&empty, "").expect("write");
    refuse(&empty, "empty");
    // An SQLite database, but not siteward's.
    let other = dir.path("other.db");
    {
        let mut c = SqliteConnection::establish(other.to_str().expect("utf-8")).expect("sqlite");
        diesel::sql_query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            .execute(&mut c)
            .expect("create");
    }
    refuse(&other, "no migrations table");
    // A siteward database from a newer version.
    let source = dir.url("source.db");
    add_province(&source, &cwd);
    let newer = dir.path("newer.db");
    Siteward::at(&source, &cwd).ok(&["backup", newer.to_str().expect("utf-8")]);
    {
        let mut c = SqliteConnection::establish(newer.to_str().expect("utf-8")).expect("sqlite");
        diesel::sql_query(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')",
        )
        .execute(&mut c)
        .expect("insert");
    }
    refuse(&newer, "newer siteward");
}

#[test]
fn a_restore_is_refused_while_a_daemon_holds_the_database() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let source = dir.url("source.db");
    add_province(&source, &cwd);
    let backup = dir.path("backup.db");
    Siteward::at(&source, &cwd).ok(&["backup", backup.to_str().expect("utf-8")]);
    let target = dir.path("target.db");
    // As `siteward serve` holds it.
    let lock = siteward::app::lock::acquire(&target, "siteward serve").expect("lock");
    let (status, stderr) = Siteward::at(&dir.url("target.db"), &cwd)
        .fails(&["restore", backup.to_str().expect("utf-8")]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("siteward serve"), "{stderr}");
    assert!(stderr.contains("Stop the daemon"), "{stderr}");
    assert!(!target.exists());
    drop(lock);
    Siteward::at(&dir.url("target.db"), &cwd).ok(&["restore", backup.to_str().expect("utf-8")]);
}

#[test]
fn a_copy_whose_audit_trail_has_breaks_does_not_verify() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let db = dir.url("siteward.db");
    add_province(&db, &cwd);
    request_site(&db, &cwd, 1);
    {
        let mut c = SqliteConnection::establish(dir.path("siteward.db").to_str().expect("utf-8"))
            .expect("sqlite");
        diesel::sql_query("UPDATE sites SET name = '假冒网站'")
            .execute(&mut c)
            .expect("tamper");
    }
    let backup = dir.path("backup.db");
    let output = Siteward::at(&db, &cwd).run(&["backup", backup.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("BREAK"), "{stdout}");
    assert!(stdout.contains("does not verify"), "{stdout}");
    // Kept, as evidence.
    assert!(backup.is_file());
    let restored = dir.url("restored.db");
    let output = Siteward::at(&restored, &cwd).run(&["restore", backup.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(verify(&restored, &cwd).0, 3);
}

/// The recipe, with no connection needed and the password hidden; on a
/// real server too when one is configured.
#[test]
fn postgres_is_backed_up_with_pg_dump() {
    let dir = Dir::new();
    let cwd = dir.dir.path().to_path_buf();
    let mut urls = vec!["postgres://siteward:s3cret@127.0.0.1:1/siteward".to_string()];
    let server = crate::support::postgres();
    if let Some(db) = &server {
        urls.push(db.url.clone());
    }
    let file = dir.path("siteward.dump");
    let file_arg = file.to_str().expect("utf-8");
    for url in &urls {
        let (status, stderr) = Siteward::at(url, &cwd).fails(&["backup", file_arg]);
        assert_eq!(status, 2, "{stderr}");
        assert!(
            stderr.contains(&format!("pg_dump --format=custom --file={file_arg}")),
            "{stderr}"
        );
        assert!(stderr.contains("pg_restore --dbname=NEWDB"), "{stderr}");
        assert!(stderr.contains("audit verify"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(!file.exists());
        let (status, stderr) = Siteward::at(url, &cwd).fails(&["restore", file_arg]);
        assert_eq!(status, 2, "{stderr}");
        assert!(stderr.contains("not supported"), "{stderr}");
        assert!(stderr.contains("pg_restore --dbname=NEWDB"), "{stderr}");
    }
}
