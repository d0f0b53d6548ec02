//! The tamper-evident registry, on both backends: the history siteward
//! writes verifies clean; a record changed, an audit row removed or a row
//! inserted around siteward is found by `audit verify` (exit 3), and by
//! the daemon's `audit` job as a `registry_tampered` finding; the database
//! refuses to delete or truncate history.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::Value;
use siteward::findings::{FindingKind, FindingStatus};

use crate::support::{TestDb, backends};

/// Runs SQL on the database directly, as someone with its password would.
fn sql(db: &TestDb, statement: &str) -> Result<usize, diesel::result::Error> {
    if db.backend == "postgres" {
        let mut conn = PgConnection::establish(&db.url).expect("connect");
        diesel::sql_query(statement).execute(&mut conn)
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut conn = SqliteConnection::establish(path).expect("open");
        // The daemon may be writing.
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .expect("busy timeout");
        diesel::sql_query(statement).execute(&mut conn)
    }
}

/// `audit verify --json`: its exit status and its report.
fn verify(db: &TestDb) -> (i32, Value) {
    let output = db.cli().run(&["--json", "audit", "verify"]);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: audit verify --json: {e}: {}",
            db.backend,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().expect("exit status"), report)
}

fn breaks(report: &Value) -> Vec<(String, Value)> {
    report["breaks"]
        .as_array()
        .expect("breaks")
        .iter()
        .map(|b| (b["kind"].as_str().expect("kind").to_string(), b.clone()))
        .collect()
}

/// Every kind of registry change siteward makes: organizations with
/// contacts, a site through its lifecycle with a second host name, an
/// account, an exception and an import.
fn history(db: &TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("sites.csv");
    std::fs::write(
        &csv,
        "name,org,kind,url,status,code\n\
         兰州市人民政府门户网站,兰州市人民政府办公室,portal,https://www.lanzhou.gov.cn/,live,6201000001\n",
    )
    .expect("csv");
    for args in [
        &[
            "org",
            "add",
            "--name",
            "甘肃省人民政府办公厅",
            "--division",
            "620000",
            "--level",
            "province",
            "--email",
            "ban@gansu.gov.cn",
        ][..],
        &[
            "org",
            "add",
            "--name",
            "兰州市人民政府办公室",
            "--division",
            "620100",
            "--level",
            "prefecture",
        ],
        &[
            "site",
            "request",
            "--name",
            "甘肃省人民政府门户网站",
            "--org",
            "甘肃省人民政府办公厅",
            "--kind",
            "portal",
            "--domain",
            "www.gansu.gov.cn",
        ],
        &[
            "site",
            "approve",
            "www.gansu.gov.cn",
            "--ref",
            "甘政办〔2026〕1号",
        ],
        &[
            "site",
            "go-live",
            "www.gansu.gov.cn",
            "--code",
            "6200000001",
        ],
        &[
            "site",
            "edit",
            "www.gansu.gov.cn",
            "--add-domain",
            "gansu.gov.cn",
        ],
        &[
            "account",
            "add",
            "--platform",
            "wechat_subscription",
            "--handle",
            "gh_gansu",
            "--name",
            "甘肃发布",
            "--org",
            "甘肃省人民政府办公厅",
        ],
        &[
            "exception",
            "add",
            "--kind",
            "ipv6_missing",
            "--subject",
            "www.gansu.gov.cn",
            "--reason",
            "机房改造中",
            "--until",
            &(chrono::Utc::now() + chrono::Duration::days(30))
                .format("%Y-%m-%d")
                .to_string(),
        ],
        &["import", "sites", csv.to_str().expect("utf-8 path")],
    ] {
        db.cli().ok(args);
    }
}

#[test]
fn what_siteward_wrote_verifies_and_tampering_around_it_is_found() {
    for db in backends() {
        let backend = db.backend;
        history(&db);
        let (status, report) = verify(&db);
        assert_eq!(status, 0, "{backend}: {report}");
        assert_eq!(breaks(&report), vec![], "{backend}");
        // Two organizations, two sites, an account and an exception.
        assert_eq!(report["entities"], 6, "{backend}: {report}");
        let head = report["head"]["hash"].as_str().expect("head").to_string();
        assert_eq!(head.len(), 64, "{backend}");

        // A status changed in the database directly.
        sql(
            &db,
            "UPDATE sites SET status = 'closed' WHERE code = '6200000001'",
        )
        .expect("update");
        let (status, report) = verify(&db);
        assert_eq!(status, 3, "{backend}: {report}");
        let found = breaks(&report);
        assert_eq!(found.len(), 1, "{backend}: {report}");
        assert_eq!(found[0].0, "state_differs", "{backend}");
        let difference = &found[0].1["differences"][0];
        assert_eq!(difference["field"], "site.status", "{backend}: {report}");
        assert_eq!(
            (difference["before"].as_str(), difference["after"].as_str()),
            (Some("live"), Some("closed")),
            "{backend}"
        );
        // Put back as audited, the record agrees again.
        sql(
            &db,
            "UPDATE sites SET status = 'live' WHERE code = '6200000001'",
        )
        .expect("update");
        assert_eq!(verify(&db).0, 0, "{backend}");

        // The human form names the field, both values and the row.
        sql(&db, "UPDATE accounts SET name = '假冒发布'").expect("update");
        let output = db.cli().run(&["audit", "verify"]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(3), "{backend}: {text}");
        assert!(
            text.contains("BREAK account 1: differs from its last audited state")
                && text.contains("account.name is 假冒发布 (audited: 甘肃发布)")
                || text.contains("name is 假冒发布 (audited: 甘肃发布)"),
            "{backend}: {text}"
        );
        sql(&db, "UPDATE accounts SET name = '甘肃发布'").expect("update");

        // A trigger dropped and an audit row deleted: the next row no
        // longer names its predecessor's hash.
        let drop_trigger = if backend == "postgres" {
            "DROP TRIGGER audit_no_delete ON audit"
        } else {
            "DROP TRIGGER audit_no_delete"
        };
        sql(&db, drop_trigger).expect("drop trigger");
        sql(&db, "DELETE FROM audit WHERE id = 3").expect("delete");
        let (status, report) = verify(&db);
        assert_eq!(status, 3, "{backend}");
        let kinds: Vec<String> = breaks(&report).into_iter().map(|(k, _)| k).collect();
        assert!(
            kinds.contains(&"link_broken".to_string()),
            "{backend}: {report}"
        );
        assert_eq!(
            breaks(&report)
                .iter()
                .find(|(k, _)| k == "link_broken")
                .map(|(_, b)| b["row"].clone()),
            Some(Value::from(4)),
            "{backend}: {report}"
        );

        // An organization inserted around siteward has no audited state.
        sql(
            &db,
            "INSERT INTO organizations (name, division, level, created_at) \
             VALUES ('影子单位', '620200', 'prefecture', '2026-01-01 00:00:00')",
        )
        .expect("insert");
        let (_, report) = verify(&db);
        assert!(
            breaks(&report)
                .iter()
                .any(|(k, b)| k == "not_audited" && b["entity"]["kind"] == "org"),
            "{backend}: {report}"
        );

        // A row's content rewritten (its update trigger dropped too).
        let drop_update = if backend == "postgres" {
            "DROP TRIGGER audit_no_update ON audit"
        } else {
            "DROP TRIGGER audit_no_update"
        };
        sql(&db, drop_update).expect("drop trigger");
        sql(&db, "UPDATE audit SET actor = '李四' WHERE id = 5").expect("update");
        let (_, report) = verify(&db);
        assert!(
            breaks(&report)
                .iter()
                .any(|(k, b)| k == "row_changed" && b["row"] == 5),
            "{backend}: {report}"
        );
    }
}

/// The database refuses to delete history, on both backends, and to
/// truncate it on PostgreSQL (row triggers do not fire on TRUNCATE).
#[test]
fn history_cannot_be_deleted_or_truncated() {
    for db in backends() {
        let backend = db.backend;
        history(&db);
        let before = verify(&db);
        for table in [
            "audit",
            "organizations",
            "org_contacts",
            "sites",
            "domains",
            "accounts",
            "exceptions",
        ] {
            let error = sql(&db, &format!("DELETE FROM {table}"))
                .expect_err(&format!("{backend}: DELETE FROM {table}"));
            assert!(
                error.to_string().contains("never deleted")
                    || error.to_string().contains("append-only"),
                "{backend}: {table}: {error}"
            );
            if backend == "postgres" {
                for statement in [
                    format!("TRUNCATE {table}"),
                    format!("TRUNCATE {table} CASCADE"),
                ] {
                    let error = sql(&db, &statement).expect_err(&statement).to_string();
                    // A table others refer to refuses a plain TRUNCATE by
                    // its foreign keys already; CASCADE reaches our triggers.
                    assert!(
                        error.contains("never deleted")
                            || error.contains("append-only")
                            || (!statement.ends_with("CASCADE")
                                && error.contains("foreign key constraint")),
                        "{statement}: {error}"
                    );
                }
            }
        }
        if backend == "postgres" {
            sql(&db, "TRUNCATE findings, finding_events CASCADE").expect_err("findings");
        }
        // Nothing was lost.
        assert_eq!(verify(&db), before, "{backend}");
    }
}

/// The daemon's `audit` job: a record changed around siteward opens a
/// critical `registry_tampered` finding naming it; put back, the next
/// verification resolves it.
#[test]
fn the_daily_verification_raises_and_resolves_registry_tampered() {
    use crate::daemon::{Daemon, Province, wait_for};
    use std::time::Duration;
    let province = Province::start();
    let store = &province.store;
    let mut daemon = Daemon::start(
        &province.watch,
        &[
            "--every",
            "probe=3600",
            "--every",
            "feeds=3600",
            "--every",
            "discover=3600",
            "--every",
            "retain=3600",
            "--every",
            "reconcile=3600",
            "--every",
            "report=3600",
            "--every",
            "audit=1",
        ],
        &[],
    );
    let tampered = |status: FindingStatus| {
        store.findings(&[status]).ok().and_then(|found| {
            found
                .into_iter()
                .find(|f| f.kind == FindingKind::RegistryTampered)
        })
    };
    // Verified clean first: nothing raised.
    wait_for(Duration::from_secs(60), &daemon, || {
        let runs = store.runs(Some(siteward::jobs::Job::Audit), 10).ok()?;
        runs.iter()
            .any(|r| r.status == siteward::jobs::RunStatus::Ok)
            .then_some(())
    });
    assert!(tampered(FindingStatus::Open).is_none());
    let audited = store.site("1").expect("site 1").status;
    let forged = if audited == siteward::registry::SiteStatus::Closed {
        "live"
    } else {
        "closed"
    };
    sql(
        &province.db,
        &format!("UPDATE sites SET status = '{forged}' WHERE id = 1"),
    )
    .expect("update");
    let open = wait_for(Duration::from_secs(60), &daemon, || {
        tampered(FindingStatus::Open)
    });
    assert_eq!(open.severity, siteward::findings::Severity::Critical);
    assert!(open.summary.contains("1 条登记信息"), "{}", open.summary);
    assert!(
        open.evidence.iter().any(|e| e.subject == "网站（编号 1）"
            && e.detail.contains(&format!("site.status 现为 {forged}"))),
        "{:?}",
        open.evidence
    );
    sql(
        &province.db,
        &format!("UPDATE sites SET status = '{audited}' WHERE id = 1"),
    )
    .expect("update");
    wait_for(Duration::from_secs(60), &daemon, || {
        tampered(FindingStatus::Resolved)
    });
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(30)).0.success());
}

/// Who made each change and why: an empty `--actor` is refused, the
/// login name's source is recorded, a live site's primary host name needs
/// a reason, an acknowledgement a note, an exception ends with a reason,
/// and an import names its file and the file's SHA-256. The human view
/// says what changed, field by field.
#[test]
fn who_and_why_are_recorded() {
    for db in backends() {
        let backend = db.backend;
        history(&db);
        let audit_rows = |db: &TestDb| -> Vec<Value> { db.cli().json_lines(&["--json", "audit"]) };
        let count = audit_rows(&db).len();

        // An explicitly empty actor changes nothing.
        let sw = db.cli().without_actor();
        let refused = sw.run(&[
            "--actor",
            " ",
            "site",
            "edit",
            "www.gansu.gov.cn",
            "--icp",
            "陇ICP备05000001号",
        ]);
        assert_eq!(refused.status.code(), Some(2), "{backend}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("--actor is empty"),
            "{backend}"
        );
        assert_eq!(audit_rows(&db).len(), count, "{backend}");

        // Without --actor, $USER, then $LOGNAME, then the system's name.
        for (user, logname, name, source) in [
            (Some("alice"), Some("bob"), "alice", "USER"),
            (None, Some("bob"), "bob", "LOGNAME"),
        ] {
            let mut command = sw.command();
            command
                .args(["site", "edit", "www.gansu.gov.cn"])
                .args(["--psb", &format!("甘公网安备6201020200{}号", name.len())])
                .env_remove("USER")
                .env_remove("LOGNAME");
            if let Some(user) = user {
                command.env("USER", user);
            }
            if let Some(logname) = logname {
                command.env("LOGNAME", logname);
            }
            let output = command.output().expect("run");
            assert!(output.status.success(), "{backend}: {output:?}");
            let last = audit_rows(&db).pop().expect("row");
            assert_eq!(
                (last["actor"].as_str(), last["actor_source"].as_str()),
                (Some(name), Some(source)),
                "{backend}"
            );
        }
        let output = sw
            .command()
            .args(["site", "edit", "www.gansu.gov.cn"])
            .args(["--psb", "甘公网安备62010202000099号"])
            .env_remove("USER")
            .env_remove("LOGNAME")
            .output()
            .expect("run");
        assert!(output.status.success(), "{backend}: {output:?}");
        let last = audit_rows(&db).pop().expect("row");
        assert!(
            last["actor_source"]
                .as_str()
                .is_some_and(|s| s.starts_with("system user")),
            "{backend}: {last}"
        );
        assert!(!last["actor"].as_str().unwrap_or_default().is_empty());

        // A live site's primary host name changes only with a reason.
        let moved = db.cli().run(&[
            "site",
            "edit",
            "www.gansu.gov.cn",
            "--primary",
            "gansu.gov.cn",
        ]);
        assert_eq!(moved.status.code(), Some(2), "{backend}");
        assert!(
            String::from_utf8_lossy(&moved.stderr).contains("reason"),
            "{backend}: {}",
            String::from_utf8_lossy(&moved.stderr)
        );
        db.cli().ok(&[
            "site",
            "edit",
            "www.gansu.gov.cn",
            "--primary",
            "gansu.gov.cn",
            "--ref",
            "甘政办〔2026〕3号",
        ]);
        let table = db
            .cli()
            .ok(&["audit", "--site", "gansu.gov.cn", "--last", "1"]);
        assert!(
            table.contains("domains[0].role: primary → alias")
                && table.contains("甘政办〔2026〕3号"),
            "{backend}: {table}"
        );

        // An acknowledgement needs a note.
        let empty = db.cli().run(&["findings", "ack", "1", "--note", "  "]);
        assert_eq!(empty.status.code(), Some(2), "{backend}");
        assert!(String::from_utf8_lossy(&empty.stderr).contains("note"));

        // An exception ends early with a reason, once.
        let no_reason = db.cli().run(&["exception", "end", "1", "--reason", ""]);
        assert_eq!(no_reason.status.code(), Some(2), "{backend}");
        db.cli()
            .ok(&["exception", "end", "1", "--reason", "机房改造提前完成"]);
        let ended = audit_rows(&db).pop().expect("row");
        assert_eq!(
            (ended["entity"].as_str(), ended["action"].as_str()),
            (Some("exception"), Some("end")),
            "{backend}"
        );
        assert_eq!(ended["reason"], "机房改造提前完成", "{backend}");
        let again = db.cli().run(&["exception", "end", "1", "--reason", "再次"]);
        assert_eq!(again.status.code(), Some(2), "{backend}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already ended"),
            "{backend}"
        );

        // The import's rows name the file and its SHA-256.
        let imported = audit_rows(&db)
            .into_iter()
            .find(|r| r["action"] == "import")
            .expect("an import row");
        let reason = imported["reason"].as_str().expect("reason");
        assert!(
            reason.starts_with("imported from sites.csv (SHA-256 ") && reason.len() > 60,
            "{backend}: {reason}"
        );

        // And all of it verifies.
        assert_eq!(verify(&db).0, 0, "{backend}");
    }
}

/// A code and host name reused after their site closed: `audit --site`
/// shows the rows of every site that held them, each under its own id, and
/// `site show` of either says who else holds or held them.
#[test]
fn a_reused_code_keeps_the_closed_sites_history_reachable() {
    let db = crate::support::sqlite();
    for args in [
        &[
            "org",
            "add",
            "--name",
            "某县水利局",
            "--division",
            "620102",
            "--level",
            "county",
        ][..],
        &[
            "site",
            "request",
            "--name",
            "某县水利局网站",
            "--org",
            "某县水利局",
            "--kind",
            "department",
            "--domain",
            "slj.cgq.gov.cn",
            "--at",
            "2019-03-01",
        ],
        &[
            "site",
            "approve",
            "slj.cgq.gov.cn",
            "--ref",
            "城关政办发〔2019〕3号",
            "--at",
            "2019-03-10",
        ],
        &[
            "site",
            "go-live",
            "slj.cgq.gov.cn",
            "--code",
            "6201020001",
            "--at",
            "2019-04-01",
        ],
        &[
            "site",
            "retire",
            "slj.cgq.gov.cn",
            "--ref",
            "城关政办发〔2025〕8号",
            "--at",
            "2025-06-01",
        ],
        &["site", "offline", "slj.cgq.gov.cn", "--at", "2025-07-05"],
        &["site", "close", "slj.cgq.gov.cn", "--at", "2025-08-10"],
        &[
            "site",
            "request",
            "--name",
            "某县水利局新网站",
            "--org",
            "某县水利局",
            "--kind",
            "department",
            "--domain",
            "slj.cgq.gov.cn",
            "--at",
            "2026-01-05",
        ],
        &[
            "site",
            "approve",
            "2",
            "--ref",
            "城关政办发〔2026〕1号",
            "--at",
            "2026-01-06",
        ],
        &[
            "site",
            "go-live",
            "2",
            "--code",
            "6201020001",
            "--at",
            "2026-01-07",
        ],
    ] {
        db.cli().ok(args);
    }
    for key in ["6201020001", "slj.cgq.gov.cn"] {
        let rows: Vec<Value> = db.cli().json_lines(&["--json", "audit", "--site", key]);
        let sites: std::collections::BTreeSet<i64> = rows
            .iter()
            .filter(|r| r["entity"] == "site")
            .filter_map(|r| r["entity_id"].as_i64())
            .collect();
        assert_eq!(sites, [1, 2].into(), "{key}: {rows:?}");
        assert!(
            rows.iter()
                .any(|r| r["action"] == "close" && r["entity_id"] == 1)
        );
    }
    let closed = db.cli().ok(&["site", "show", "1"]);
    assert!(
        closed.contains("note: 6201020001 is now held by site 2")
            && closed.contains("note: slj.cgq.gov.cn is now held by site 2"),
        "{closed}"
    );
    let current = db.cli().ok(&["site", "show", "6201020001"]);
    assert!(
        current.contains("note: 6201020001 was held before by site 1")
            && current.contains("closed"),
        "{current}"
    );
}

/// A database written before the audit trail was chained: its rows are
/// sealed once by the migration's wake, each record's state recorded as
/// the chain's start, and the result verifies; a change made around
/// siteward afterwards is found.
#[test]
fn rows_written_before_the_chain_are_sealed_once_and_verify() {
    use diesel::migration::{MigrationConnection, MigrationSource};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let db = crate::support::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let mut conn = SqliteConnection::establish(&path).expect("open");
    conn.setup().expect("migrations table");
    let source =
        FileBasedMigrations::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .expect("migrations");
    let mut migrations =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source).expect("migrations");
    migrations.sort_by_key(|m| m.name().version().to_string());
    for migration in migrations
        .iter()
        .filter(|m| m.name().version().to_string().replace('-', "").as_str() < "20261205000010")
    {
        conn.run_migration(migration.as_ref())
            .expect("old migration");
    }
    for statement in [
        "INSERT INTO organizations (name, division, level, created_at) \
         VALUES ('甘肃省人民政府办公厅', '620000', 'province', '2026-01-01 00:00:00')",
        "INSERT INTO audit (recorded_at, effective_at, actor, entity, entity_id, action, after_json) \
         VALUES ('2026-01-01 00:00:00', '2026-01-01 00:00:00', '张三', 'org', 1, 'add', '{}')",
    ] {
        diesel::sql_query(statement)
            .execute(&mut conn)
            .expect(statement);
    }
    drop(conn);
    // Opening migrates and seals.
    let store = db.open();
    let verification = store.verify_audit().expect("verify");
    assert!(verification.breaks.is_empty(), "{verification:?}");
    assert_eq!((verification.rows, verification.entities), (2, 1));
    let rows = store
        .audit(&siteward::store::AuditFilter::default())
        .expect("audit");
    assert_eq!(rows[1].action, "chain-start");
    assert_eq!(rows[1].actor_source.as_deref(), Some("siteward"));
    // Opened again: nothing sealed or added twice.
    drop(store);
    let store = db.open();
    assert_eq!(store.verify_audit().expect("verify").rows, 2);
    sql(&db, "UPDATE organizations SET division = '620100'").expect("update");
    assert_eq!(store.verify_audit().expect("verify").breaks.len(), 1);
}

/// A mistyped effective time is corrected as a new audited event naming
/// the one it corrects; the latest transition can be voided; corrections
/// that would break the lifecycle's order are refused; the trail verifies.
#[test]
fn a_wrongly_recorded_event_is_corrected_not_deleted() {
    for db in backends() {
        let backend = db.backend;
        for args in [
            &[
                "org",
                "add",
                "--name",
                "某县水利局",
                "--division",
                "620102",
                "--level",
                "county",
            ][..],
            &[
                "site",
                "request",
                "--name",
                "某县水利局网站",
                "--org",
                "某县水利局",
                "--kind",
                "department",
                "--domain",
                "slj.cgq.gov.cn",
                "--at",
                "2026-01-01",
            ],
            &[
                "site",
                "approve",
                "1",
                "--ref",
                "城关政办发〔2026〕3号",
                "--at",
                "2026-01-10",
            ],
            // Meant 2026-01-20.
            &[
                "site",
                "go-live",
                "1",
                "--code",
                "6201020001",
                "--at",
                "2026-11-20",
            ],
        ] {
            db.cli().ok(args);
        }
        let rows = |db: &TestDb| -> Vec<Value> {
            db.cli().json_lines(&["--json", "audit", "--site", "1"])
        };
        let id_of = |action: &str| {
            rows(&db)
                .iter()
                .find(|r| r["action"] == action)
                .and_then(|r| r["id"].as_i64())
                .expect("row id")
                .to_string()
        };
        let (approve, live) = (id_of("approve"), id_of("go-live"));
        let refused = |args: &[&str], why: &str| {
            let output = db.cli().run(args);
            assert_eq!(output.status.code(), Some(2), "{backend}: {args:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(why), "{backend}: {args:?}: {stderr}");
        };
        let before = rows(&db).len();
        refused(
            &[
                "site",
                "correct",
                "1",
                "--event",
                &live,
                "--at",
                "2025-12-01",
                "--reason",
                "x",
            ],
            "would put `live` before `approved`",
        );
        refused(
            &[
                "site", "correct", "1", "--event", &approve, "--void", "--reason", "x",
            ],
            "only the latest can be voided",
        );
        refused(
            &[
                "site",
                "correct",
                "1",
                "--event",
                "1",
                "--at",
                "2026-01-02",
                "--reason",
                "x",
            ],
            "is not a lifecycle event of site 1",
        );
        refused(
            &[
                "site",
                "correct",
                "1",
                "--event",
                &live,
                "--at",
                "2026-01-20",
                "--reason",
                " ",
            ],
            "reason",
        );
        assert_eq!(rows(&db).len(), before, "{backend}: refusals write nothing");

        db.cli().ok(&[
            "site",
            "correct",
            "1",
            "--event",
            &live,
            "--at",
            "2026-01-20",
            "--reason",
            "上线日期录入错误",
        ]);
        let site: Value = db.cli().json(&["--json", "site", "show", "1"]);
        assert_eq!(site["live_at"], "2026-01-19T16:00:00Z", "{backend}");
        let correction = rows(&db).pop().expect("row");
        assert_eq!(correction["action"], "correct", "{backend}");
        assert!(
            correction["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("re-dates audit row {live}"))
                    && r.ends_with("上线日期录入错误")),
            "{backend}: {correction}"
        );
        // The original row is still there, unchanged.
        assert!(
            rows(&db)
                .iter()
                .any(|r| r["action"] == "go-live" && r["effective_at"] == "2026-11-19T16:00:00Z")
        );

        // Going live was itself a mistake: voided, the site is approved
        // again and can go live later.
        db.cli().ok(&[
            "site",
            "correct",
            "1",
            "--event",
            &live,
            "--void",
            "--reason",
            "尚未报送",
        ]);
        let site: Value = db.cli().json(&["--json", "site", "show", "1"]);
        assert_eq!(site["status"], "approved", "{backend}");
        assert_eq!(site["live_at"], Value::Null, "{backend}");
        db.cli()
            .ok(&["site", "go-live", "1", "--code", "6201020001"]);
        assert_eq!(verify(&db).0, 0, "{backend}");
    }
}

/// A robot's key is a credential: no audit row, state or change shown by
/// `audit` holds it, yet a changed webhook still shows as a change, and
/// the trail verifies.
#[test]
fn webhook_keys_never_enter_the_audit_trail() {
    const KEY: &str = "5c1d7e0a-secret-robot-key";
    for db in backends() {
        let first = format!("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}");
        let second = format!("https://oapi.dingtalk.com/robot/send?access_token={KEY}2");
        db.cli().ok(&[
            "org",
            "add",
            "--name",
            "甘肃省人民政府办公厅",
            "--division",
            "620000",
            "--level",
            "province",
            "--webhook",
            &first,
        ]);
        db.cli().ok(&[
            "org",
            "edit",
            "甘肃省人民政府办公厅",
            "--webhook",
            &second,
            "--remove-webhook",
            &first,
        ]);
        let shown = db.cli().ok(&["--json", "audit"]);
        assert!(!shown.contains(KEY), "{}: {shown}", db.backend);
        let entries: Vec<Value> = shown
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        let edit = entries
            .iter()
            .find(|e| e["action"] == "edit")
            .expect("the edit");
        assert!(
            edit["changes"].as_array().is_some_and(|c| !c.is_empty()),
            "{}: {edit}",
            db.backend
        );
        let store = db.open();
        for row in store
            .audit(&siteward::store::AuditFilter::default())
            .expect("audit")
        {
            let text = serde_json::to_string(&(&row.before, &row.after)).expect("json");
            assert!(!text.contains(KEY), "{}: {text}", db.backend);
        }
        let states = store.verify_audit().expect("verify");
        assert!(states.breaks.is_empty(), "{}: {states:?}", db.backend);
        let (status, _) = verify(&db);
        assert_eq!(status, 0, "{}", db.backend);
        // The stored states themselves, read around siteward.
        let dump = state_texts(&db);
        assert!(
            !dump.is_empty() && !dump.contains(KEY),
            "{}: {dump}",
            db.backend
        );
    }
}

#[derive(diesel::QueryableByName)]
struct StateText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every stored state and change of the audit trail as one text, read
/// around siteward.
fn state_texts(db: &TestDb) -> String {
    const QUERY: &str = "SELECT COALESCE(state_json, '') || COALESCE(before_json, '') || COALESCE(after_json, '') AS text FROM audit";
    let rows: Vec<StateText> = if db.backend == "postgres" {
        let mut conn = PgConnection::establish(&db.url).expect("connect");
        diesel::sql_query(QUERY).load(&mut conn)
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut conn = SqliteConnection::establish(path).expect("open");
        diesel::sql_query(QUERY).load(&mut conn)
    }
    .expect("audit rows");
    rows.into_iter().map(|r| r.text).collect()
}
