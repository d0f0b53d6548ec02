//! Files and alerts over HTTP: imports all or nothing (CSV and XLSX,
//! dry runs), exports in CSV and JSON lines, a reconciliation started
//! from the inbox and its files downloaded, a circular's files, the
//! outbox and sinks, maintenance windows; each mutation's roles, and
//! what a token limited to one city sees (province-wide things: 403).

use serde_json::{Value, json};
use siteward::access::Role;
use siteward::config::{Config, SinkConfig, SinkKind};

use super::Api;
use super::core::two_cities;
use crate::support::backends;

const SITES: &str = "\
name,code,url,organizer,division,kind,status
甘肃省人民政府门户网站,6200000001,https://www.gansu.gov.cn/,甘肃省人民政府,620000,portal,live
兰州市人民政府门户网站,6201000001,http://www.lanzhou.gov.cn,兰州市人民政府,620100,portal,live
";

/// The same file with a bad identifier code on line 3.
const BAD_SITES: &str = "\
name,code,url,organizer,division,kind,status
甘肃省人民政府门户网站,6200000001,https://www.gansu.gov.cn/,甘肃省人民政府,620000,portal,live
兰州市人民政府门户网站,62010XXXXX,http://www.lanzhou.gov.cn,兰州市人民政府,620100,portal,live
";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reconcile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A path segment percent-encoded (a circular's tables are named in
/// Chinese).
fn encoded(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn upload(api: &Api, path: &str, token: Option<&str>, bytes: &[u8]) -> super::Reply {
    api.send(
        "POST",
        path,
        token,
        Some(("application/octet-stream", bytes.to_vec())),
    )
}

fn site_names(api: &Api, token: &str) -> Vec<String> {
    let page = api.get("/api/v1/sites", token).expect(200).json();
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

fn header<'a>(reply: &'a super::Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn an_import_over_http_is_all_or_nothing_and_a_dry_run_changes_nothing() {
    for db in backends() {
        let api = Api::start(&db);
        let admin = api.token("admin", Role::Admin);
        let before = api.audit_len();

        // One bad row refuses the file: the row's line, field and rule
        // named; nothing imported, nothing audited.
        let refused = upload(
            &api,
            "/api/v1/import/sites?name=sites.csv",
            Some(&admin),
            BAD_SITES.as_bytes(),
        )
        .expect(400)
        .json();
        let rows = refused["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{refused}");
        assert_eq!(rows[0]["line"], 3, "{refused}");
        assert_eq!(rows[0]["field"], "code", "{refused}");
        assert_eq!(rows[0]["value"], "62010XXXXX", "{refused}");
        assert!(rows[0]["rule"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(refused["error"].is_string());
        assert_eq!(api.audit_len(), before, "{}", db.backend);
        assert!(site_names(&api, &admin).is_empty());

        // A file refused whole: 400 saying why; nothing changed.
        let whole = upload(
            &api,
            "/api/v1/import/sites?name=x.csv",
            Some(&admin),
            b"name,code\nx,6200000001\n",
        )
        .expect(400)
        .json();
        assert!(
            whole["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("x.csv: ") && e.contains("url")),
            "{whole}"
        );
        // Bad parameters: 400 naming them.
        for (path, field) in [
            ("/api/v1/import/things", "entity"),
            ("/api/v1/import/sites?at=yesterday-ish", "at"),
            ("/api/v1/import/sites?name=%E2%80%AEx.csv", "name"),
        ] {
            let reply = upload(&api, path, Some(&admin), SITES.as_bytes()).expect(400);
            assert_eq!(reply.json()["field"], field, "{path}: {}", reply.text());
        }
        assert_eq!(api.audit_len(), before);

        // A dry run: every row checked, the counts answered, nothing
        // written.
        let dry = upload(
            &api,
            "/api/v1/import/sites?dry_run=true&name=sites.csv",
            Some(&admin),
            SITES.as_bytes(),
        )
        .expect(200)
        .json();
        assert_eq!(dry["dry_run"], true);
        assert_eq!(dry["created"], 2, "{dry}");
        assert_eq!(api.audit_len(), before);
        assert!(site_names(&api, &admin).is_empty());

        // The good file: imported, counted, its sites listed, its name
        // and digest recorded as the command line records them.
        let done = upload(
            &api,
            "/api/v1/import/sites?name=sites.csv",
            Some(&admin),
            SITES.as_bytes(),
        )
        .expect(200)
        .json();
        assert_eq!(done["dry_run"], false);
        assert_eq!(done["created"], 2, "{done}");
        assert_eq!(done["file"], "sites.csv");
        assert_eq!(done["encoding"], "UTF-8");
        assert!(api.audit_len() > before);
        let mut names = site_names(&api, &admin);
        names.sort();
        assert_eq!(names, ["兰州市人民政府门户网站", "甘肃省人民政府门户网站"]);
        let audit = api
            .store()
            .audit(&siteward::store::AuditFilter::default())
            .expect("audit");
        assert!(
            audit.iter().any(|e| e.actor == "admin"
                && e.reason
                    .as_deref()
                    .is_some_and(|s| s.contains("imported from sites.csv (SHA-256 "))),
            "the token is the actor and the file is recorded"
        );
        // Again: idempotent.
        let again = upload(&api, "/api/v1/import/sites", Some(&admin), SITES.as_bytes())
            .expect(200)
            .json();
        assert_eq!(
            (again["created"].clone(), again["unchanged"].clone()),
            (json!(0), json!(2))
        );
    }
}

#[test]
fn an_xlsx_upload_imports_like_its_csv() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    let admin = api.token("admin", Role::Admin);
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (row, line) in SITES.lines().enumerate() {
        for (col, cell) in line.split(',').enumerate() {
            sheet
                .write_string(row as u32, col as u16, cell)
                .expect("cell");
        }
    }
    let bytes = workbook.save_to_buffer().expect("xlsx");
    let done = upload(
        &api,
        "/api/v1/import/sites?name=sites.xlsx",
        Some(&admin),
        &bytes,
    )
    .expect(200)
    .json();
    assert_eq!(done["encoding"], "XLSX", "{done}");
    assert_eq!(done["created"], 2, "{done}");
    assert_eq!(site_names(&api, &admin).len(), 2);
}

#[test]
fn an_upload_larger_than_the_default_body_limit_is_read() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    let admin = api.token("admin", Role::Admin);
    // 3 MB: past axum's default limit, well within the uploads' 50 MB.
    // Read whole, and refused for what it says.
    let mut big = b"name,code\n".to_vec();
    while big.len() < 3 * 1024 * 1024 {
        big.extend_from_slice("甘肃省某某单位网站,6200000001\n".as_bytes());
    }
    let reply = upload(
        &api,
        "/api/v1/import/sites?name=big.csv",
        Some(&admin),
        &big,
    )
    .expect(400);
    assert!(reply.text().contains("big.csv: "), "{}", reply.text());
}

#[test]
fn only_an_unscoped_admin_imports() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    two_cities(&api);
    let before = api.audit_len();
    // The province's portal alone (the cities' sites are requested).
    let file: String = SITES.lines().take(2).map(|l| format!("{l}\n")).collect();
    let path = "/api/v1/import/sites";
    upload(&api, path, None, file.as_bytes()).expect(401);
    for (name, role) in [("v", Role::Viewer), ("o", Role::Operator)] {
        let token = api.token(name, role);
        upload(&api, path, Some(&token), file.as_bytes()).expect(403);
    }
    let scoped = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
    upload(&api, path, Some(&scoped), file.as_bytes()).expect(403);
    assert_eq!(api.audit_len(), before + 3, "only the tokens were made");
    let admin = api.token("a", Role::Admin);
    let done = upload(&api, path, Some(&admin), file.as_bytes())
        .expect(200)
        .json();
    assert_eq!(done["created"], 1, "{done}");
}

#[test]
fn exports_in_csv_and_json_lines_with_their_types_and_a_scoped_tokens_rows_only() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let viewer = api.token("viewer", Role::Viewer);
        let csv = api.get("/api/v1/export/sites", &viewer).expect(200);
        assert_eq!(header(&csv, "content-type"), "text/csv; charset=utf-8");
        assert!(
            header(&csv, "content-disposition").starts_with("attachment; filename=\"sites.csv\""),
            "{:?}",
            csv.headers
        );
        let text = csv.text();
        assert!(text.starts_with("网站名称,"), "{text}");
        assert!(text.contains("www.lanzhou.gov.cn") && text.contains("www.tianshui.gov.cn"));

        let en = api
            .get("/api/v1/export/orgs?headers=en&encoding=gb18030", &viewer)
            .expect(200);
        assert_eq!(header(&en, "content-type"), "text/csv; charset=gb18030");
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&en.body);
        assert!(!bad && decoded.starts_with("name,"), "{decoded}");
        assert!(decoded.contains("天水市政府办公室"));
        let bom = api
            .get("/api/v1/export/orgs?encoding=utf8-bom", &viewer)
            .expect(200);
        assert!(bom.body.starts_with(b"\xEF\xBB\xBF"));

        let lines = api
            .get("/api/v1/export/sites?format=json", &viewer)
            .expect(200);
        assert_eq!(header(&lines, "content-type"), "application/x-ndjson");
        assert!(header(&lines, "content-disposition").contains("sites.jsonl"));
        let sites: Vec<Value> = lines
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(sites.len(), 2);
        assert!(
            sites
                .iter()
                .all(|s| s["domains"].is_array() && s["org"].is_string())
        );

        // A token limited to one city: its rows only, in every format.
        let lanzhou = api.scoped_token("兰州", Role::Viewer, &["兰州市政府办公室"], false);
        let own = api.get("/api/v1/export/sites", &lanzhou).expect(200).text();
        assert!(
            own.contains("www.lanzhou.gov.cn") && !own.contains("tianshui"),
            "{own}"
        );
        let own = api
            .get("/api/v1/export/orgs?format=json", &lanzhou)
            .expect(200)
            .text();
        assert_eq!(own.lines().count(), 1, "{own}");
        assert!(own.contains("兰州市政府办公室"));
        let own = api
            .get("/api/v1/export/accounts?format=json", &lanzhou)
            .expect(200);
        assert!(own.body.is_empty());

        for (query, field) in [
            ("format=xml", "format"),
            ("encoding=latin1", "encoding"),
            ("headers=fr", "headers"),
            ("format=json&encoding=gb18030", "encoding"),
        ] {
            let reply = api
                .get(&format!("/api/v1/export/sites?{query}"), &viewer)
                .expect(400);
            assert_eq!(reply.json()["field"], field, "{query}");
        }
        api.get("/api/v1/export/things", &viewer).expect(400);
        api.send("GET", "/api/v1/export/sites", None, None)
            .expect(401);
    }
}

/// A configuration with a reconcile inbox in `dir`.
fn with_inbox(db: &crate::support::TestDb, dir: &std::path::Path) -> Api {
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.reconcile.inbox = Some(dir.to_path_buf());
    Api::with_config(config)
}

fn inbox_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_reconciliation_started_over_http_from_uploaded_exports_and_its_files_downloaded() {
    for db in backends() {
        let inbox = tempfile::tempdir().expect("inbox");
        let api = with_inbox(&db, inbox.path());
        let operator = api.token("王五", Role::Operator);

        // Uploads are checked as a run reads them: a bad export is
        // refused, naming its problems, and not put into the inbox.
        let bad = upload(
            &api,
            "/api/v1/reconcile/inbox/sites",
            Some(&operator),
            b"not,an,export\n1,2,3\n",
        )
        .expect(400)
        .json();
        assert!(
            bad["problems"].as_array().is_some_and(|p| !p.is_empty()),
            "{bad}"
        );
        upload(
            &api,
            "/api/v1/reconcile/inbox/zone",
            Some(&operator),
            &fixture("gansu.gov.cn.zone"),
        )
        .expect(400);
        upload(&api, "/api/v1/reconcile/inbox/mail", Some(&operator), b"x").expect(400);
        assert_eq!(inbox_files(inbox.path()), Vec::<String>::new());

        let sites = upload(
            &api,
            "/api/v1/reconcile/inbox/sites",
            Some(&operator),
            &fixture("national-sites.xlsx"),
        )
        .expect(201)
        .json();
        assert_eq!(sites["kind"], "sites");
        assert_eq!(sites["format"], "XLSX");
        let zone = upload(
            &api,
            "/api/v1/reconcile/inbox/zone?zone=gansu.gov.cn",
            Some(&operator),
            &fixture("gansu.gov.cn.zone"),
        )
        .expect(201)
        .json();
        assert_eq!(zone["name"], "gansu.gov.cn.zone");
        let names = inbox_files(inbox.path());
        assert_eq!(names.len(), 2, "{names:?}");

        // Started now, as the scheduled job runs, by the token.
        let bad_quarter = api
            .post(
                "/api/v1/reconcile/runs",
                &operator,
                &json!({"quarter": "2026Q9"}),
            )
            .expect(400);
        assert_eq!(bad_quarter.json()["field"], "quarter");
        api.post("/api/v1/reconcile/runs", &operator, &json!({"when": "now"}))
            .expect(400);
        let run = api
            .post(
                "/api/v1/reconcile/runs",
                &operator,
                &json!({"quarter": "2026Q3"}),
            )
            .expect(201)
            .json();
        let id = run["id"].as_i64().expect("id");
        assert_eq!(run["quarter"], "2026Q3");
        assert_eq!(run["trigger"], "manual");
        assert_eq!(run["actor"], "王五");
        let roles: Vec<&str> = run["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .filter_map(|i| i["role"].as_str())
            .collect();
        assert_eq!(roles, ["national_sites", "zone"], "{run}");
        assert!(
            run["by_kind"]["not_in_registry"]
                .as_u64()
                .is_some_and(|n| n > 0),
            "{run}"
        );

        let list = api
            .get("/api/v1/reconcile/runs", &operator)
            .expect(200)
            .json();
        assert_eq!(list["items"][0]["id"], id);
        let shown = api
            .get(&format!("/api/v1/reconcile/runs/{id}"), &operator)
            .expect(200)
            .json();
        assert_eq!(
            shown["files"],
            json!([
                "discrepancies.csv",
                "discrepancies.json",
                "national-fixes.csv"
            ])
        );
        let stored = api.store().reconcile_run(id).expect("stored");
        let csv = api
            .get(
                &format!("/api/v1/reconcile/runs/{id}/files/discrepancies.csv"),
                &operator,
            )
            .expect(200);
        assert_eq!(header(&csv, "content-type"), "text/csv; charset=utf-8");
        assert_eq!(csv.body, stored.discrepancies_csv(), "the very bytes");
        assert!(String::from_utf8_lossy(&csv.body).contains("国家系统有、注册库无"));
        let report = api
            .get(
                &format!("/api/v1/reconcile/runs/{id}/files/discrepancies.json"),
                &operator,
            )
            .expect(200);
        assert_eq!(header(&report, "content-type"), "application/json");
        assert_eq!(report.json()["quarter"], "2026Q3");
        let fixes = api
            .get(
                &format!("/api/v1/reconcile/runs/{id}/files/national-fixes.csv"),
                &operator,
            )
            .expect(200);
        assert_eq!(fixes.body, stored.fixes_csv());
        api.get(
            &format!("/api/v1/reconcile/runs/{id}/files/secrets.txt"),
            &operator,
        )
        .expect(404);
        api.get("/api/v1/reconcile/runs/999", &operator).expect(404);
        api.get(
            "/api/v1/reconcile/runs/999/files/discrepancies.csv",
            &operator,
        )
        .expect(404);

        // Province-wide: a token limited to organizations is refused
        // everything of reconciliation, however much exists.
        two_cities(&api);
        let scoped = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        for path in [
            "/api/v1/reconcile/runs".to_string(),
            format!("/api/v1/reconcile/runs/{id}"),
            format!("/api/v1/reconcile/runs/{id}/files/discrepancies.csv"),
            "/api/v1/reconcile/runs/999".to_string(),
        ] {
            api.get(&path, &scoped).expect(403);
        }
        api.post("/api/v1/reconcile/runs", &scoped, &json!({}))
            .expect(403);
        assert_eq!(api.store().reconcile_runs(100).expect("runs").len(), 1);
    }
}

#[test]
fn reconcile_mutations_by_role_and_without_an_inbox() {
    let db = crate::support::sqlite();
    let inbox = tempfile::tempdir().expect("inbox");
    let api = with_inbox(&db, inbox.path());
    let zone = fixture("gansu.gov.cn.zone");
    let path = "/api/v1/reconcile/inbox/zone?zone=gansu.gov.cn";
    upload(&api, path, None, &zone).expect(401);
    api.send("POST", "/api/v1/reconcile/runs", None, None)
        .expect(401);
    let viewer = api.token("viewer", Role::Viewer);
    upload(&api, path, Some(&viewer), &zone).expect(403);
    api.send("POST", "/api/v1/reconcile/runs", Some(&viewer), None)
        .expect(403);
    assert!(inbox_files(inbox.path()).is_empty());
    assert!(api.store().reconcile_runs(10).expect("runs").is_empty());
    for (name, role) in [("operator", Role::Operator), ("admin", Role::Admin)] {
        let token = api.token(name, role);
        upload(&api, path, Some(&token), &zone).expect(201);
        // No body: the quarter the day before belongs to.
        let run = api
            .send("POST", "/api/v1/reconcile/runs", Some(&token), None)
            .expect(201)
            .json();
        assert_eq!(run["actor"], name);
    }
    assert_eq!(api.store().reconcile_runs(10).expect("runs").len(), 2);

    // No inbox configured: 409, nothing stored.
    let bare_db = crate::support::sqlite();
    let bare = Api::start(&bare_db);
    let operator = bare.token("operator", Role::Operator);
    let refused = upload(&bare, path, Some(&operator), &zone).expect(409);
    assert!(
        refused.text().contains("[reconcile] inbox"),
        "{}",
        refused.text()
    );
    bare.send("POST", "/api/v1/reconcile/runs", Some(&operator), None)
        .expect(409);
    assert!(bare.store().reconcile_runs(10).expect("runs").is_empty());
}

#[test]
fn a_circulars_files_are_downloaded_as_stored() {
    for db in backends() {
        let api = Api::start(&db);
        let viewer = api.token("viewer", Role::Viewer);
        let empty = api.get("/api/v1/reports", &viewer).expect(200).json();
        assert_eq!(empty["items"], json!([]));
        let quarter = siteward::reconcile::Quarter::containing(chrono::Utc::now()).previous();
        let runtime = crate::scenario::runtime();
        let circular = runtime
            .block_on(siteward::app::report::report(
                &api.app,
                siteward::app::report::Request {
                    quarter,
                    reconcile: None,
                    trigger: siteward::reconcile::output::Trigger::Manual,
                    actor: "tester".into(),
                    now: chrono::Utc::now(),
                },
            ))
            .expect("reported");
        let id = circular.id;
        let list = api.get("/api/v1/reports", &viewer).expect(200).json();
        assert_eq!(list["items"][0]["id"], id);
        assert_eq!(list["items"][0]["quarter"], quarter.to_string());
        let shown = api
            .get(&format!("/api/v1/reports/{id}"), &viewer)
            .expect(200)
            .json();
        assert_eq!(shown["title"], circular.title.as_str());
        let files: Vec<String> = shown["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        assert_eq!(
            &files[..3],
            ["circular.html", "circular.md", "circular.xlsx"]
        );
        assert!(files.contains(&"tables/附件1.csv".to_string()), "{files:?}");
        for (file, content_type) in [
            ("circular.html", "text/html; charset=utf-8"),
            ("circular.md", "text/markdown; charset=utf-8"),
            (
                "circular.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        ] {
            let reply = api
                .get(&format!("/api/v1/reports/{id}/files/{file}"), &viewer)
                .expect(200);
            assert_eq!(header(&reply, "content-type"), content_type, "{file}");
            if file != "circular.xlsx" {
                let rendered = siteward::report::render::file(&circular, file)
                    .expect("a file")
                    .expect("renders");
                assert_eq!(reply.body, rendered, "{file}: the stored circular's bytes");
            } else {
                assert!(reply.body.starts_with(b"PK\x03\x04"));
            }
        }
        let table = api
            .get(
                &format!("/api/v1/reports/{id}/files/tables/{}", encoded("附件1.csv")),
                &viewer,
            )
            .expect(200);
        assert_eq!(header(&table, "content-type"), "text/csv; charset=utf-8");
        assert!(
            header(&table, "content-disposition")
                .contains("filename*=UTF-8''%E9%99%84%E4%BB%B61.csv"),
            "{:?}",
            table.headers
        );
        let rendered = siteward::report::render::file(&circular, "tables/附件1.csv")
            .expect("a table")
            .expect("renders");
        assert_eq!(table.body, rendered);
        // The slash of `tables/附件1.csv` percent-encoded reaches it too.
        api.get(
            &format!("/api/v1/reports/{id}/files/{}", encoded("tables/附件1.csv")),
            &viewer,
        )
        .expect(200);
        api.get(&format!("/api/v1/reports/{id}/files/circular.pdf"), &viewer)
            .expect(404);
        api.get(
            &format!(
                "/api/v1/reports/{id}/files/tables/{}",
                encoded("附件99.csv")
            ),
            &viewer,
        )
        .expect(404);
        api.get("/api/v1/reports/999", &viewer).expect(404);

        two_cities(&api);
        let lanzhou = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        for path in [
            "/api/v1/reports".to_string(),
            format!("/api/v1/reports/{id}"),
            format!("/api/v1/reports/{id}/files/circular.html"),
            format!("/api/v1/reports/{id}/files/tables/{}", encoded("附件1.csv")),
            "/api/v1/reports/999".to_string(),
        ] {
            api.get(&path, &lanzhou).expect(403);
        }
    }
}

/// The API with a webhook sink configured (nothing is sent: no sender
/// runs).
fn with_sink(db: &crate::support::TestDb) -> Api {
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.alerts.sink = vec![SinkConfig::new(
        "ops",
        SinkKind::Webhook,
        "http://127.0.0.1:9/hook?token=secret-token",
    )];
    Api::with_config(config)
}

#[test]
fn maintenance_windows_added_listed_and_ended_by_role_and_scope() {
    for db in backends() {
        let api = with_sink(&db);
        two_cities(&api);
        let window = json!({
            "org": "兰州市政府办公室",
            "cron": "0 22 * * 6",
            "duration": "2h",
            "reason": "服务器迁移",
        });
        let before = api.audit_len();
        api.send(
            "POST",
            "/api/v1/maintenance",
            None,
            Some(("application/json", window.to_string().into_bytes())),
        )
        .expect(401);
        let viewer = api.token("viewer", Role::Viewer);
        api.post("/api/v1/maintenance", &viewer, &window)
            .expect(403);
        assert_eq!(api.audit_len(), before + 1, "only the token was made");

        let operator = api.token("operator", Role::Operator);
        let base = api.audit_len();
        // Bad input: 400 naming the field; nothing added.
        for (change, field) in [
            (json!({"cron": "0 25 * * *"}), "cron"),
            (json!({"duration": "forever"}), "duration"),
            (json!({"reason": "  "}), "reason"),
            (json!({"site": "www.lanzhou.gov.cn"}), "site"),
            (json!({"org": null}), "site"),
        ] {
            let mut body = window.clone();
            for (k, v) in change.as_object().expect("object") {
                body[k] = v.clone();
            }
            if body["org"].is_null() {
                body.as_object_mut().expect("object").remove("org");
            }
            let reply = api
                .post("/api/v1/maintenance", &operator, &body)
                .expect(400);
            assert_eq!(reply.json()["field"], field, "{body}: {}", reply.text());
        }
        let mut unknown = window.clone();
        unknown["extra"] = json!(1);
        api.post("/api/v1/maintenance", &operator, &unknown)
            .expect(400);
        api.post(
            "/api/v1/maintenance",
            &operator,
            &json!({"site": "www.nowhere.gov.cn", "cron": "0 22 * * 6", "duration": "2h", "reason": "x"}),
        )
        .expect(404);
        assert_eq!(api.audit_len(), base);
        assert!(
            api.store()
                .windows(chrono::Utc::now())
                .expect("windows")
                .is_empty()
        );

        let added = api
            .post("/api/v1/maintenance", &operator, &window)
            .expect(201)
            .json();
        assert_eq!(added["scope"]["kind"], "org");
        assert_eq!(added["scope"]["name"], "兰州市政府办公室");
        assert_eq!(added["duration_secs"], 7200);
        assert!(added["next"].is_string());
        assert_eq!(api.audit_len(), base + 1);
        let admin = api.token("admin", Role::Admin);
        let on_site = api
            .post(
                "/api/v1/maintenance",
                &admin,
                &json!({"site": "www.tianshui.gov.cn", "cron": "* * * * *", "duration": "1h", "reason": "机房断电"}),
            )
            .expect(201)
            .json();
        assert_eq!(on_site["scope"]["kind"], "site");
        assert!(on_site["on_until"].is_string(), "on now: {on_site}");

        let all = api.get("/api/v1/maintenance", &viewer).expect(200).json();
        assert_eq!(all["items"].as_array().map(Vec::len), Some(2));

        // A token limited to Lanzhou: its window only; Tianshui's site is
        // 404 to add and its window 404 to end, as if absent.
        let lanzhou = api.scoped_token("兰州", Role::Operator, &["兰州市政府办公室"], false);
        let own = api.get("/api/v1/maintenance", &lanzhou).expect(200).json();
        let ids: Vec<&Value> = own["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|w| &w["id"])
            .collect();
        assert_eq!(ids, [&added["id"]]);
        api.post(
            "/api/v1/maintenance",
            &lanzhou,
            &json!({"site": "www.tianshui.gov.cn", "cron": "0 1 * * *", "duration": "1h", "reason": "x"}),
        )
        .expect(404);
        let other = on_site["id"].as_i64().expect("id");
        let hidden = api
            .send(
                "POST",
                &format!("/api/v1/maintenance/{other}/end"),
                Some(&lanzhou),
                None,
            )
            .expect(404);
        let missing = api
            .send("POST", "/api/v1/maintenance/999/end", Some(&lanzhou), None)
            .expect(404);
        assert_eq!(
            hidden.json()["error"]
                .as_str()
                .map(|e| e.replace(&other.to_string(), "N")),
            missing.json()["error"]
                .as_str()
                .map(|e| e.replace("999", "N")),
        );

        // Ending: 401, 403, then the operator; again is refused.
        let mine = added["id"].as_i64().expect("id");
        let end = format!("/api/v1/maintenance/{mine}/end");
        api.send("POST", &end, None, None).expect(401);
        api.send("POST", &end, Some(&viewer), None).expect(403);
        let ended = api
            .send("POST", &end, Some(&lanzhou), None)
            .expect(200)
            .json();
        assert!(ended["ended_at"].is_string());
        api.send("POST", &end, Some(&operator), None).expect(400);
        api.send(
            "POST",
            &format!("/api/v1/maintenance/{other}/end"),
            Some(&admin),
            None,
        )
        .expect(200);
        let left = api.get("/api/v1/maintenance", &viewer).expect(200).json();
        assert_eq!(left["items"], json!([]));
    }
}

#[test]
fn the_outbox_and_sinks_listed_to_province_wide_tokens_only() {
    for db in backends() {
        let api = with_sink(&db);
        two_cities(&api);
        let viewer = api.token("viewer", Role::Viewer);
        let empty = api.get("/api/v1/alerts/outbox", &viewer).expect(200).json();
        assert_eq!(empty["items"], json!([]));
        // Windows on now: their start notices are planned by a sweep.
        let admin = api.token("admin", Role::Admin);
        for site in ["www.lanzhou.gov.cn", "www.tianshui.gov.cn"] {
            api.post(
                "/api/v1/maintenance",
                &admin,
                &json!({"site": site, "cron": "* * * * *", "duration": "1h", "reason": "演练"}),
            )
            .expect(201);
        }
        api.store()
            .sweep_alerts(&api.app.alerting(), chrono::Utc::now())
            .expect("swept");
        let planned = api.store().notifications(None, 100).expect("outbox");
        assert!(planned.len() >= 2, "{planned:?}");

        let first = api
            .get("/api/v1/alerts/outbox?limit=1", &viewer)
            .expect(200)
            .json();
        let newest = planned.iter().map(|n| n.id).max().expect("one");
        assert_eq!(first["items"][0]["id"], newest, "newest first");
        assert_eq!(first["items"][0]["kind"], "maintenance_started");
        assert_eq!(first["items"][0]["sink"], "ops");
        assert_eq!(first["items"][0]["status"], "pending");
        let cursor = first["next_cursor"].as_str().expect("more");
        let second = api
            .get(
                &format!("/api/v1/alerts/outbox?limit=1&cursor={cursor}"),
                &viewer,
            )
            .expect(200)
            .json();
        assert!(
            second["items"][0]["id"]
                .as_i64()
                .is_some_and(|id| id < newest)
        );
        let all = api
            .get("/api/v1/alerts/outbox?limit=1000", &viewer)
            .expect(200)
            .json();
        assert_eq!(all["items"].as_array().map(Vec::len), Some(planned.len()));
        assert_eq!(all["next_cursor"], json!(null));
        let none = api
            .get("/api/v1/alerts/outbox?status=failed", &viewer)
            .expect(200)
            .json();
        assert_eq!(none["items"], json!([]));
        let bad = api
            .get("/api/v1/alerts/outbox?status=lost", &viewer)
            .expect(400);
        assert_eq!(bad.json()["field"], "status");

        let sinks = api.get("/api/v1/alerts/sinks", &viewer).expect(200).json();
        assert_eq!(sinks[0]["name"], "ops");
        assert_eq!(sinks[0]["kind"], "webhook");
        assert_eq!(sinks[0]["state"], "ok");
        assert!(
            !sinks.to_string().contains("secret-token"),
            "no secret shown: {sinks}"
        );

        let lanzhou = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        api.get("/api/v1/alerts/outbox", &lanzhou).expect(403);
        api.get("/api/v1/alerts/sinks", &lanzhou).expect(403);
        api.send("GET", "/api/v1/alerts/outbox", None, None)
            .expect(401);
    }
}
