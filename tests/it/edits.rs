//! Corrections of organizations and accounts (`org edit`, `account edit`),
//! on both backends: a rename, a new parent and a new division keep the
//! organization's children, sites and accounts attached; inconsistent
//! values are refused (exit 2) with nothing changed and nothing audited;
//! a removed contact keeps its row but no alert is planned for it any
//! more; every edit is audited with its reason, and `audit verify` stays
//! clean.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::Value;
use siteward::registry::{DivisionCode, OrgLevel};
use siteward::store::{Change, NewOrganization, OrgEdit, Store};

use crate::support::{TestDb, backends, policy};

/// A command that must be refused as the user's error: exit 2, and a
/// message that says why, never Rust's Debug output.
fn refused(db: &TestDb, args: &[&str], says: &str) {
    let output = db.cli().run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}: siteward {args:?} should be refused: {stderr}",
        db.backend
    );
    assert!(
        stderr.contains(says),
        "{}: siteward {args:?}: `{says}` not in: {stderr}",
        db.backend
    );
    assert!(
        !stderr.contains("Invalid {") && !stderr.contains("Some("),
        "{}: Debug output in: {stderr}",
        db.backend
    );
}

fn audit_rows(db: &TestDb) -> usize {
    db.cli().json_lines(&["--json", "audit"]).len()
}

fn verify_clean(db: &TestDb) {
    let output = db.cli().run(&["audit", "verify"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: audit verify: {}{}",
        db.backend,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs SQL on the database directly; the number of rows it touched.
fn sql(db: &TestDb, statement: &str) -> usize {
    if db.backend == "postgres" {
        let mut conn = PgConnection::establish(&db.url).expect("connect");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .expect("sql")
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut conn = SqliteConnection::establish(path).expect("open");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .expect("sql")
    }
}

const PROVINCE: &str = "甘肃省人民政府办公厅";
const LANZHOU: &str = "兰州市人民政府办公室";
const TIANSHUI: &str = "天水市人民政府办公室";
const BUREAU: &str = "兰州市文化和旅游局";

fn add_org(db: &TestDb, name: &str, division: &str, level: &str, parent: Option<&str>) {
    let mut args = vec![
        "org",
        "add",
        "--name",
        name,
        "--division",
        division,
        "--level",
        level,
    ];
    if let Some(parent) = parent {
        args.extend(["--parent", parent]);
    }
    db.cli().ok(&args);
}

#[test]
fn org_edit_renames_reparents_and_corrects_with_refusals_that_change_nothing() {
    for db in backends() {
        add_org(&db, PROVINCE, "620000", "province", None);
        add_org(&db, LANZHOU, "620100", "prefecture", Some(PROVINCE));
        // Entered with 武威's code by mistake.
        add_org(&db, TIANSHUI, "620600", "prefecture", Some(PROVINCE));
        add_org(&db, BUREAU, "620100", "prefecture", Some(LANZHOU));
        db.cli().ok(&[
            "site",
            "request",
            "--name",
            "兰州市人民政府门户网站",
            "--org",
            LANZHOU,
            "--kind",
            "portal",
            "--domain",
            "www.lanzhou.gov.cn",
        ]);
        db.cli().ok(&[
            "account",
            "add",
            "--platform",
            "weibo",
            "--handle",
            "lanzhoufabu",
            "--name",
            "兰州发布",
            "--org",
            LANZHOU,
        ]);
        let lanzhou_id = db.cli().json(&["--json", "org", "show", LANZHOU])["id"].clone();

        // A rename, by id: what it runs and its children stay attached.
        let renamed = db.cli().json(&[
            "--json",
            "org",
            "edit",
            &lanzhou_id.to_string(),
            "--name",
            "兰州市人民政府",
            "--reason",
            "机构改革更名（兰政发〔2026〕3号）",
        ]);
        assert_eq!(renamed["id"], lanzhou_id, "{}", db.backend);
        assert_eq!(renamed["name"], "兰州市人民政府");
        assert_eq!(renamed["parent"], PROVINCE);
        assert_eq!(renamed["sites"].as_array().map(Vec::len), Some(1));
        assert_eq!(renamed["accounts"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            db.cli().json(&["--json", "org", "show", BUREAU])["parent"],
            "兰州市人民政府"
        );
        assert_eq!(
            db.cli()
                .json(&["--json", "site", "show", "www.lanzhou.gov.cn"])["org"],
            "兰州市人民政府"
        );
        assert_eq!(
            db.cli()
                .json(&["--json", "account", "show", "weibo:lanzhoufabu"])["org"],
            "兰州市人民政府"
        );
        db.cli()
            .run(&["org", "show", LANZHOU])
            .status
            .code()
            .filter(|code| *code == 2)
            .expect("the old name names nothing");

        // A wrong division corrected.
        let corrected = db.cli().json(&[
            "--json",
            "org",
            "edit",
            TIANSHUI,
            "--division",
            "620500",
            "--reason",
            "区划代码录入错误",
        ]);
        assert_eq!(corrected["division"], "620500");

        // Refusals: exit 2, nothing changed, nothing audited.
        let rows = audit_rows(&db);
        let orgs_before = db.cli().json_lines(&["--json", "org", "list"]);
        refused(
            &db,
            &["org", "edit", BUREAU, "--parent", TIANSHUI],
            "620100",
        );
        refused(
            &db,
            &["org", "edit", "兰州市人民政府", "--division", "620500"],
            BUREAU,
        );
        refused(
            &db,
            &["org", "edit", "兰州市人民政府", "--level", "county"],
            "county",
        );
        refused(
            &db,
            &["org", "edit", BUREAU, "--level", "province"],
            "province",
        );
        refused(
            &db,
            &["org", "edit", PROVINCE, "--parent", BUREAU],
            "its own ancestor",
        );
        refused(
            &db,
            &["org", "edit", PROVINCE, "--parent", PROVINCE],
            "the organization itself",
        );
        refused(
            &db,
            &["org", "edit", TIANSHUI, "--name", "兰州市人民政府"],
            "already exists",
        );
        refused(&db, &["org", "edit", TIANSHUI, "--name", "  "], "empty");
        refused(
            &db,
            &["org", "edit", TIANSHUI, "--email", "not-an-address"],
            "e-mail",
        );
        refused(
            &db,
            &["org", "edit", TIANSHUI, "--webhook", "ftp://x.example.cn/"],
            "http",
        );
        refused(
            &db,
            &[
                "org",
                "edit",
                TIANSHUI,
                "--webhook",
                "https://hooks.example.cn/…",
            ],
            "masked",
        );
        refused(
            &db,
            &[
                "org",
                "edit",
                TIANSHUI,
                "--remove-email",
                "nobody@gansu.gov.cn",
            ],
            "nobody@gansu.gov.cn",
        );
        refused(
            &db,
            &["org", "edit", TIANSHUI, "--reason", "x"],
            "no change",
        );
        refused(
            &db,
            &[
                "org",
                "edit",
                TIANSHUI,
                "--name",
                "天水市人民政府",
                "--at",
                "2020-01-01",
            ],
            "2020-01-01",
        );
        refused(
            &db,
            &[
                "org",
                "edit",
                TIANSHUI,
                "--name",
                "天水市人民政府",
                "--at",
                "2099-01-01",
            ],
            "in the future",
        );
        refused(
            &db,
            &["org", "edit", "没有这个单位", "--name", "x"],
            "没有这个单位",
        );
        assert_eq!(audit_rows(&db), rows, "{}: a refusal audited", db.backend);
        assert_eq!(
            db.cli().json_lines(&["--json", "org", "list"]),
            orgs_before,
            "{}: a refusal changed something",
            db.backend
        );

        // Out from under its parent, and contacts added then removed (the
        // webhook named as people see it, masked).
        let bureau = db.cli().json(&[
            "--json",
            "org",
            "edit",
            BUREAU,
            "--no-parent",
            "--email",
            "wlj@lanzhou.gov.cn",
            "--webhook",
            "https://hooks.example.cn/send?key=s3cret",
        ]);
        assert_eq!(bureau["parent"], Value::Null);
        let masked = bureau["webhooks"][0].as_str().expect("webhook").to_string();
        assert!(!masked.contains("s3cret"), "{masked}");
        let bureau = db.cli().json(&[
            "--json",
            "org",
            "edit",
            BUREAU,
            "--remove-webhook",
            &masked,
            "--remove-email",
            "wlj@lanzhou.gov.cn",
            "--reason",
            "联系人变更",
        ]);
        assert_eq!(bureau["webhooks"], serde_json::json!([]));
        assert_eq!(bureau["emails"], serde_json::json!([]));
        assert_eq!(
            sql(
                &db,
                "UPDATE org_contacts SET kind = kind WHERE removed_at IS NOT NULL"
            ),
            2,
            "{}: the removed contacts keep their rows",
            db.backend
        );
        // Given again, a removed contact is in use again.
        let bureau = db.cli().json(&[
            "--json",
            "org",
            "edit",
            BUREAU,
            "--email",
            "wlj@lanzhou.gov.cn",
        ]);
        assert_eq!(bureau["emails"], serde_json::json!(["wlj@lanzhou.gov.cn"]));

        // The trail: each edit with its reason, under the new name.
        let trail = db
            .cli()
            .json_lines(&["--json", "audit", "--org", "兰州市人民政府"]);
        let edit = trail
            .iter()
            .find(|row| row["action"] == "edit")
            .unwrap_or_else(|| panic!("{}: no edit in {trail:?}", db.backend));
        assert_eq!(edit["reason"], "机构改革更名（兰政发〔2026〕3号）");
        assert_eq!(edit["actor"], "张三");
        assert_eq!(edit["before"]["name"], LANZHOU);
        assert_eq!(edit["after"]["name"], "兰州市人民政府");
        let table = db.cli().ok(&["audit", "--org", "兰州市人民政府"]);
        assert!(table.contains("机构改革更名"), "{table}");
        let trail = db.cli().json_lines(&["--json", "audit", "--org", BUREAU]);
        assert!(
            trail
                .iter()
                .any(|row| row["action"] == "edit" && row["reason"] == "联系人变更"),
            "{}: {trail:?}",
            db.backend
        );
        verify_clean(&db);
    }
}

/// A removed webhook keeps its row, but the outbox plans nothing more for
/// it and the sender can no longer look it up; given again, it is the
/// same contact, in use again.
#[test]
fn a_removed_webhook_keeps_its_row_and_hears_of_nothing_more() {
    for db in backends() {
        let store: Store = db.open();
        let policy = policy();
        let org = store
            .add_org(
                &NewOrganization {
                    name: "城关区人民政府办公室".into(),
                    division: "620102".parse::<DivisionCode>().expect("division"),
                    level: OrgLevel::County,
                    parent: None,
                    emails: vec!["ban@chengguan.gov.cn".into()],
                    webhooks: vec![
                        "https://hooks.example.cn/a?key=one".into(),
                        "https://hooks.example.cn/b?key=two".into(),
                    ],
                },
                &policy,
                &Change::now("tester"),
            )
            .expect("org")
            .value;
        let alerting = siteward::store::alerts::Alerting {
            alerts: policy.alerts.clone(),
            sinks: Vec::new(),
        };
        let now = chrono::Utc::now();
        store
            .record_evaluation(
                &siteward::sim::webhook::dangling_round(&[org.id], 1, now),
                1,
                &alerting,
                now,
            )
            .expect("first round");
        let mut sinks: Vec<String> = store
            .notifications(None, 100)
            .expect("outbox")
            .into_iter()
            .map(|n| n.sink)
            .collect();
        sinks.sort();
        assert_eq!(sinks.len(), 2, "{}: {sinks:?}", db.backend);
        let contact = |sink: &str| -> i64 {
            sink.trim_start_matches("org-webhook:")
                .parse()
                .expect("an own webhook's sink")
        };
        let (a, b) = (contact(&sinks[0]), contact(&sinks[1]));
        assert_eq!(
            store.contact(a).expect("contact").map(|(url, _)| url),
            Some("https://hooks.example.cn/a?key=one".to_string())
        );

        let edited = store
            .edit_org(
                "城关区人民政府办公室",
                &OrgEdit {
                    remove_webhooks: vec!["https://hooks.example.cn/a?key=one".into()],
                    reason: Some("机器人已停用".into()),
                    ..OrgEdit::default()
                },
                &policy,
                &Change::now("tester"),
            )
            .expect("removed")
            .value;
        assert_eq!(edited.webhooks, vec!["https://hooks.example.cn/b?key=two"]);
        assert_eq!(store.contact(a).expect("contact"), None, "{}", db.backend);
        assert!(store.contact(b).expect("contact").is_some());
        assert_eq!(
            sql(
                &db,
                &format!("UPDATE org_contacts SET kind = kind WHERE id = {a}")
            ),
            1,
            "{}: the removed webhook keeps its row",
            db.backend
        );

        // A new finding: planned for the webhook in use only.
        let later = now + chrono::Duration::seconds(1);
        store
            .record_evaluation(
                &siteward::sim::webhook::dangling_round(&[org.id], 2, later),
                1,
                &alerting,
                later,
            )
            .expect("second round");
        let outbox = store.notifications(None, 100).expect("outbox");
        let told = |sink: i64| -> usize {
            outbox
                .iter()
                .filter(|n| n.sink == format!("org-webhook:{sink}"))
                .map(|n| n.findings.len())
                .sum()
        };
        assert_eq!(
            told(a),
            1,
            "{}: the removed webhook planned again",
            db.backend
        );
        assert_eq!(told(b), 2, "{}", db.backend);

        // Given again: the same row, in use.
        let restored = store
            .edit_org(
                &org.id.to_string(),
                &OrgEdit {
                    add_webhooks: vec!["https://hooks.example.cn/a?key=one".into()],
                    ..OrgEdit::default()
                },
                &policy,
                &Change::now("tester"),
            )
            .expect("restored")
            .value;
        assert_eq!(restored.webhooks.len(), 2);
        assert!(store.contact(a).expect("contact").is_some());

        let verification = store.verify_audit().expect("verify");
        assert!(
            verification.breaks.is_empty(),
            "{}: {:?}",
            db.backend,
            verification.breaks
        );
    }
}

#[test]
fn account_edit_corrects_name_org_and_feed_and_refuses_the_rest() {
    for db in backends() {
        add_org(&db, PROVINCE, "620000", "province", None);
        add_org(&db, LANZHOU, "620100", "prefecture", Some(PROVINCE));
        db.cli().ok(&[
            "account",
            "add",
            "--platform",
            "wechat_service",
            "--handle",
            "gansufabu",
            "--name",
            "甘肃法布",
            "--org",
            LANZHOU,
            "--feed",
            "https://feeds.example.cn/gansufabu.xml",
        ]);
        let account = db.cli().json(&[
            "--json",
            "account",
            "edit",
            "wechat_service:gansufabu",
            "--name",
            "甘肃发布",
            "--org",
            PROVINCE,
            "--reason",
            "名称录入错误，主办单位为省政府办公厅",
        ]);
        assert_eq!(account["name"], "甘肃发布", "{}", db.backend);
        assert_eq!(account["org"], PROVINCE);
        assert_eq!(account["account_id"], "gansufabu");
        assert_eq!(account["status"], "active");
        assert_eq!(
            account["feed_url"],
            "https://feeds.example.cn/gansufabu.xml"
        );
        let id = account["id"].to_string();

        let account = db
            .cli()
            .json(&["--json", "account", "edit", &id, "--no-feed"]);
        assert_eq!(account["feed_url"], Value::Null);
        let account = db.cli().json(&[
            "--json",
            "account",
            "edit",
            "gansufabu",
            "--feed",
            "https://feeds.example.cn/new.xml",
        ]);
        assert_eq!(account["feed_url"], "https://feeds.example.cn/new.xml");

        let rows = audit_rows(&db);
        refused(
            &db,
            &["account", "edit", &id, "--feed", "ftp://feeds.example.cn/x"],
            "http",
        );
        refused(
            &db,
            &["account", "edit", &id, "--org", "没有这个单位"],
            "没有这个单位",
        );
        refused(&db, &["account", "edit", &id, "--name", " "], "empty");
        refused(&db, &["account", "edit", &id, "--reason", "x"], "no change");
        refused(
            &db,
            &["account", "edit", &id, "--name", "x", "--at", "2020-01-01"],
            "2020-01-01",
        );
        refused(
            &db,
            &["account", "edit", &id, "--name", "x", "--at", "2099-01-01"],
            "in the future",
        );
        refused(
            &db,
            &["account", "edit", "weibo:nobody", "--name", "x"],
            "weibo:nobody",
        );
        assert_eq!(audit_rows(&db), rows, "{}: a refusal audited", db.backend);
        assert_eq!(
            db.cli().json(&["--json", "account", "show", &id])["name"],
            "甘肃发布",
            "{}",
            db.backend
        );

        let trail =
            db.cli()
                .json_lines(&["--json", "audit", "--account", "wechat_service:gansufabu"]);
        let edit = trail
            .iter()
            .find(|row| row["action"] == "edit")
            .unwrap_or_else(|| panic!("{}: no edit in {trail:?}", db.backend));
        assert_eq!(edit["reason"], "名称录入错误，主办单位为省政府办公厅");
        assert_eq!(edit["before"]["name"], "甘肃法布");
        assert_eq!(edit["after"]["org"], PROVINCE);
        assert_eq!(
            trail.iter().filter(|row| row["action"] == "edit").count(),
            3,
            "{}: {trail:?}",
            db.backend
        );
        verify_clean(&db);
    }
}
