//! The import page (a file checked by a dry run, its bad rows named, a
//! clean one confirmed and imported under the person) and the circulars
//! page (stored circulars listed, one shown, its files downloaded as
//! stored), over HTTP on every backend, each refused to the wrong role,
//! scope or a forged form; and both in a real browser.

use siteward::access::Role;
use siteward::reconcile::Quarter;
use siteward::report::{Circular, render};
use siteward::store::{AuditFilter, SiteFilter};

use super::{Session, Web, field_value};
use crate::api::Reply;
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

const BOUNDARY: &str = "----siteward-test-boundary-4f1c";

/// A part of a multipart form: its name, its file name (a file), its
/// bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body as a browser sends it: its type and
/// bytes.
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, file, value) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

fn post_multipart(web: &Web, session: &Session<'_>, path: &str, parts: &[Part<'_>]) -> Reply {
    let (content_type, body) = multipart(parts);
    web.send(
        "POST",
        path,
        Some(&session.cookie),
        Some((&content_type, body)),
    )
}

/// The import form sent as the page sends it: the token first, then
/// what to import and the file.
fn upload(web: &Web, session: &Session<'_>, entity: &str, name: &str, bytes: &[u8]) -> Reply {
    post_multipart(
        web,
        session,
        "/import",
        &[
            ("csrf", None, session.csrf.as_bytes()),
            ("entity", None, entity.as_bytes()),
            ("file", Some(name), bytes),
        ],
    )
}

/// `scoped`, an admin limited to 兰州's office.
fn scoped_admin(web: &Web) {
    crate::support::add_org(
        &mut web.api.store().clone(),
        "兰州市政府办公室",
        "620100",
        siteward::registry::OrgLevel::Prefecture,
    );
    web.scoped_user("scoped", Role::Admin, &["兰州市政府办公室"], false);
}

fn site_count(web: &Web) -> usize {
    web.api
        .store()
        .sites(&SiteFilter::default())
        .expect("sites")
        .len()
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Text as askama escapes it into a page.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// What the command line says of `BAD_SITES`'s bad row.
fn cli_reason() -> String {
    let file = siteward::app::registry::ImportFile::from_bytes(
        siteward::transfer::Entity::Sites,
        "sites.csv",
        BAD_SITES.as_bytes(),
    )
    .expect("parsed");
    let db = crate::support::sqlite();
    let store = siteward::store::Store::open(&db.url).expect("store");
    match siteward::app::registry::import(
        &store,
        &crate::support::policy(),
        &file,
        true,
        &siteward::store::Change::now("tester"),
    ) {
        Err(siteward::store::StoreError::Import(rows)) => rows[0].message.clone(),
        other => panic!("the bad row is refused: {}", other.is_ok()),
    }
}

#[test]
fn a_file_with_a_bad_row_is_named_row_by_row_and_cannot_be_confirmed() {
    let reason = cli_reason();
    for db in backends() {
        let web = Web::start(&db);
        web.user("admin", Role::Admin);
        let session = web.login("admin");
        let before = web.api.audit_len();
        let page = upload(&web, &session, "sites", "sites.csv", BAD_SITES.as_bytes()).expect(200);
        let html = page.text();
        assert!(html.contains("有误的行"), "{html}");
        assert!(html.contains("该文件有 1 行有误"), "{html}");
        // The row's line, field, value and the command line's reason.
        assert!(
            html.contains("<td class=\"num\">3</td><td>code</td><td>62010XXXXX</td>"),
            "{html}"
        );
        assert!(html.contains(&escaped(&reason)), "{reason}: {html}");
        // No way to confirm it.
        assert!(!html.contains("/import/confirm"), "{html}");
        assert!(!html.contains("确认导入"), "{html}");
        assert!(field_value(&html, "upload").is_none());
        // Judged, and nothing stored.
        assert_eq!(web.api.audit_len(), before, "{}", db.backend);
        assert_eq!(site_count(&web), 0);

        // A file refused as a whole: 400 saying why (the API's words).
        let whole = upload(
            &web,
            &session,
            "sites",
            "x.csv",
            b"name,code\nx,6200000001\n",
        )
        .expect(400);
        assert!(whole.text().contains("x.csv: "), "{}", whole.text());
        assert!(whole.text().contains("url"), "{}", whole.text());
        // What to import must be one of the command line's.
        let entity = upload(&web, &session, "things", "sites.csv", SITES.as_bytes()).expect(400);
        assert!(
            entity.text().contains("orgs, sites or accounts"),
            "{}",
            entity.text()
        );
        // No file chosen.
        let none = upload(&web, &session, "sites", "", b"").expect(400);
        assert!(
            none.text().contains("请选择要导入的文件"),
            "{}",
            none.text()
        );
        assert_eq!(web.api.audit_len(), before);
        assert_eq!(site_count(&web), 0);
    }
}

#[test]
fn a_clean_file_is_checked_then_imported_once_under_the_person() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("admin", Role::Admin);
        web.user("admin2", Role::Admin);
        let session = web.login("admin");
        let before = web.api.audit_len();

        let page = upload(&web, &session, "sites", "sites.csv", SITES.as_bytes()).expect(200);
        let html = page.text();
        assert!(html.contains("预检通过：共 2 行"), "{html}");
        assert!(
            html.contains("将新增</div><div class=\"figure\">2</div>"),
            "{html}"
        );
        assert!(html.contains("action=\"/import/confirm\""), "{html}");
        let upload_id = field_value(&html, "upload").expect("the kept file's id");
        let digest = field_value(&html, "sha256").expect("the digest shown");
        let expected = ring::digest::digest(&ring::digest::SHA256, SITES.as_bytes());
        let expected: String = expected
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, expected);
        // The dry run stored nothing.
        assert_eq!(web.api.audit_len(), before, "{}", db.backend);
        assert_eq!(site_count(&web), 0);

        // Another person cannot confirm it, nor a wrong digest.
        session
            .post(
                "/import/confirm",
                &[("upload", &upload_id), ("sha256", &"0".repeat(64))],
            )
            .expect(400);
        let other = web.login("admin2");
        other
            .post(
                "/import/confirm",
                &[("upload", &upload_id), ("sha256", &digest)],
            )
            .expect(409);
        let forged = session.post_raw(
            "/import/confirm",
            &[("upload", &upload_id), ("sha256", &digest)],
        );
        assert_eq!(forged.status, 403, "{}", forged.text());
        assert_eq!(site_count(&web), 0);
        assert_eq!(web.api.audit_len(), before);

        let done = session
            .post(
                "/import/confirm",
                &[("upload", &upload_id), ("sha256", &digest)],
            )
            .expect(303);
        let location = header(&done, "location").to_string();
        assert!(location.starts_with("/import?msg="), "{location}");
        let shown = session.get(&location).expect(200).text();
        assert!(
            shown.contains("已导入 sites.csv（网站）：新增 2 条，更新 0 条，未变 0 条"),
            "{shown}"
        );
        assert_eq!(site_count(&web), 2);
        let audit = web
            .api
            .store()
            .audit(&AuditFilter::default())
            .expect("audit");
        let imported: Vec<_> = audit.iter().skip(before).collect();
        assert!(!imported.is_empty());
        assert!(
            imported
                .iter()
                .all(|e| e.actor == "admin" && e.actor_source.as_deref() == Some("web user")),
            "{:?}",
            imported
                .iter()
                .map(|e| (&e.actor, &e.actor_source))
                .collect::<Vec<_>>()
        );
        assert!(
            imported.iter().any(|e| e.reason.as_deref().is_some_and(
                |r| r.contains(&format!("imported from sites.csv (SHA-256 {digest})"))
            )),
            "the file and its digest are recorded"
        );
        // Used once: confirming again changes nothing.
        let after = web.api.audit_len();
        session
            .post(
                "/import/confirm",
                &[("upload", &upload_id), ("sha256", &digest)],
            )
            .expect(409);
        assert_eq!(web.api.audit_len(), after);

        // The same file again changes nothing: nothing to confirm.
        let same = upload(&web, &session, "sites", "sites.csv", SITES.as_bytes()).expect(200);
        let same = same.text();
        assert!(same.contains("无需导入"), "{same}");
        assert!(!same.contains("/import/confirm"), "{same}");
    }
}

#[test]
fn only_an_admin_of_the_whole_province_imports_and_a_forged_form_is_refused() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("viewer", Role::Viewer);
        web.user("operator", Role::Operator);
        web.user("admin", Role::Admin);
        scoped_admin(&web);
        let before = web.api.audit_len();
        for name in ["viewer", "operator", "scoped"] {
            let session = web.login(name);
            let page = session.get("/import").expect(200).text();
            assert!(
                !page.contains("enctype=\"multipart/form-data\""),
                "{name}: {page}"
            );
            assert!(!page.contains("name=\"file\""), "{name}: {page}");
            assert!(
                page.contains("无权导入") || page.contains("角色"),
                "{name}: {page}"
            );
            let refused = upload(&web, &session, "sites", "sites.csv", SITES.as_bytes());
            assert_eq!(refused.status, 403, "{name}: {}", refused.text());
            let confirm = session.post("/import/confirm", &[("upload", "x"), ("sha256", "y")]);
            assert_eq!(confirm.status, 403, "{name}: {}", confirm.text());
        }
        let admin = web.login("admin");
        let page = admin.get("/import").expect(200).text();
        assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
        assert!(page.contains("<label for=\"file\">"), "{page}");
        // Forged: no token, a wrong one, or the file before the token.
        let forms: [&[Part<'_>]; 3] = [
            &[
                ("entity", None, b"sites"),
                ("file", Some("sites.csv"), SITES.as_bytes()),
            ],
            &[
                ("csrf", None, b"not-the-token"),
                ("entity", None, b"sites"),
                ("file", Some("sites.csv"), SITES.as_bytes()),
            ],
            &[
                ("file", Some("sites.csv"), SITES.as_bytes()),
                ("csrf", None, admin.csrf.as_bytes()),
                ("entity", None, b"sites"),
            ],
        ];
        for parts in forms {
            let forged = post_multipart(&web, &admin, "/import", parts);
            assert_eq!(forged.status, 403, "{}", forged.text());
            assert!(forged.text().contains("CSRF"));
        }
        // Another site's page posting here is refused by its origin.
        let (content_type, body) = multipart(&[
            ("csrf", None, admin.csrf.as_bytes()),
            ("entity", None, b"sites"),
            ("file", Some("sites.csv"), SITES.as_bytes()),
        ]);
        let request = reqwest_free_post(&web, &admin, &content_type, body);
        assert_eq!(request.status, 403, "{}", request.text());
        // Not a multipart form at all.
        let plain = admin.post("/import", &[("entity", "sites")]);
        assert_eq!(plain.status, 400, "{}", plain.text());
        assert_eq!(web.api.audit_len(), before);
        assert_eq!(site_count(&web), 0);
    }
}

/// A multipart POST carrying another site's `Origin`.
fn reqwest_free_post(web: &Web, session: &Session<'_>, content_type: &str, body: Vec<u8>) -> Reply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(web.api.addr).expect("connects");
    let head = format!(
        "POST /import HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\nCookie: {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        web.api.addr,
        session.cookie,
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sent");
    stream.write_all(&body).expect("sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answered");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: axum::http::HeaderMap::new(),
        body: answer,
    }
}

/// A circular of the quarter before this one, stored as `siteward
/// report` stores it.
fn circular(web: &Web) -> Circular {
    let quarter = Quarter::containing(chrono::Utc::now()).previous();
    crate::scenario::runtime()
        .block_on(siteward::app::report::report(
            &web.api.app,
            siteward::app::report::Request {
                quarter,
                reconcile: None,
                trigger: siteward::reconcile::output::Trigger::Manual,
                actor: "tester".into(),
                now: chrono::Utc::now(),
            },
        ))
        .expect("reported")
}

/// A path segment percent-encoded.
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

#[test]
fn circulars_are_listed_shown_and_downloaded_as_stored() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("viewer", Role::Viewer);
        scoped_admin(&web);
        let viewer = web.login("viewer");
        let empty = viewer.get("/reports").expect(200).text();
        assert!(empty.contains("尚无存档的通报"), "{empty}");
        assert!(empty.contains("尚无对账记录"), "{empty}");
        // A viewer cannot write one: no form.
        assert!(!empty.contains("action=\"/reports\""), "{empty}");

        let c = circular(&web);
        let id = c.id;
        let list = viewer.get("/reports").expect(200).text();
        assert!(list.contains(&format!("href=\"/reports/{id}\"")), "{list}");
        assert!(list.contains(&c.quarter.label_zh()), "{list}");
        assert!(list.contains("<td>tester</td>"), "{list}");
        let page = viewer.get(&format!("/reports/{id}")).expect(200).text();
        assert!(page.contains(&escaped(&c.title)), "{page}");
        assert!(page.contains("网站合格率"), "{page}");
        let base = format!("{}通报", c.quarter);
        assert!(page.contains(&format!("{base}.xlsx")), "{page}");
        assert!(
            page.contains(&format!("/reports/{id}/tables/{}", encoded("附件1.csv"))),
            "{page}"
        );

        let stored =
            |name: &str| -> Vec<u8> { render::file(&c, name).expect("a file").expect("renders") };
        // The printable page, shown under its own policy.
        let shown = viewer
            .get(&format!("/reports/{id}/circular.html"))
            .expect(200);
        assert_eq!(header(&shown, "content-type"), "text/html; charset=utf-8");
        let csp = header(&shown, "content-security-policy");
        assert!(
            csp.starts_with("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(header(&shown, "content-disposition").starts_with("inline"));
        assert_eq!(shown.body, stored("circular.html"));
        // … or downloaded, named for the quarter in Chinese.
        let html = viewer
            .get(&format!("/reports/{id}/circular.html?download=1"))
            .expect(200);
        let disposition = header(&html, "content-disposition");
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(
            disposition.contains(&format!(
                "filename*=UTF-8''{}",
                encoded(&format!("{base}.html"))
            )),
            "{disposition}"
        );
        assert_eq!(html.body, stored("circular.html"));
        let xlsx = viewer
            .get(&format!("/reports/{id}/circular.xlsx"))
            .expect(200);
        assert_eq!(
            header(&xlsx, "content-type"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert!(
            header(&xlsx, "content-disposition").contains("attachment; filename=\"2")
                && header(&xlsx, "content-disposition").contains(&format!(
                    "filename*=UTF-8''{}",
                    encoded(&format!("{base}.xlsx"))
                )),
            "{}",
            header(&xlsx, "content-disposition")
        );
        assert_eq!(xlsx.body, stored("circular.xlsx"));
        let md = viewer
            .get(&format!("/reports/{id}/circular.md"))
            .expect(200);
        assert_eq!(header(&md, "content-type"), "text/markdown; charset=utf-8");
        assert_eq!(md.body, stored("circular.md"));
        for table in &c.tables {
            let name = format!("{}.csv", table.id);
            let csv = viewer
                .get(&format!("/reports/{id}/tables/{}", encoded(&name)))
                .expect(200);
            assert_eq!(header(&csv, "content-type"), "text/csv; charset=utf-8");
            assert!(
                header(&csv, "content-disposition").contains(&encoded(&format!("{base}{name}"))),
                "{}",
                header(&csv, "content-disposition")
            );
            assert_eq!(csv.body, stored(&format!("tables/{name}")));
        }
        // Missing: 404 in Chinese.
        viewer.get(&format!("/reports/{}", id + 100)).expect(404);
        viewer.get("/reports/abc").expect(404);
        viewer
            .get(&format!("/reports/{id}/tables/{}", encoded("附件99.csv")))
            .expect(404);
        viewer
            .get("/reports/runs/999/discrepancies.csv")
            .expect(404);
        viewer.get("/reports?after=x").expect(400);

        // Province-wide: a person limited to organizations sees none.
        let scoped = web.login("scoped");
        for path in [
            "/reports".to_string(),
            format!("/reports/{id}"),
            format!("/reports/{id}/circular.html"),
            format!("/reports/{id}/circular.xlsx"),
            format!("/reports/{id}/tables/{}", encoded("附件1.csv")),
            "/reports/999".to_string(),
            "/reports/runs/1/discrepancies.csv".to_string(),
        ] {
            let refused = scoped.get(&path).expect(403);
            assert!(
                refused.text().contains("覆盖全省"),
                "{path}: {}",
                refused.text()
            );
        }
    }
}

#[test]
fn an_admin_writes_a_quarters_circular_from_the_page() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("admin", Role::Admin);
        web.user("operator", Role::Operator);
        let quarter = Quarter::containing(chrono::Utc::now())
            .previous()
            .to_string();
        let operator = web.login("operator");
        operator
            .post("/reports", &[("quarter", &quarter)])
            .expect(403);
        let admin = web.login("admin");
        admin
            .post_raw("/reports", &[("quarter", &quarter)])
            .expect(403);
        let bad = admin.post("/reports", &[("quarter", "2026Q5")]).expect(400);
        assert!(bad.text().contains("quarter"), "{}", bad.text());
        assert!(web.api.store().report_runs(10).expect("runs").is_empty());
        let page = admin.get("/reports").expect(200).text();
        assert!(page.contains("<label for=\"quarter\">"), "{page}");
        let done = admin.post("/reports", &[("quarter", &quarter)]).expect(303);
        let runs = web.api.store().report_runs(10).expect("runs");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].actor, "admin");
        let location = header(&done, "location").to_string();
        assert!(
            location.starts_with(&format!("/reports/{}?msg=", runs[0].id)),
            "{location}"
        );
        let shown = admin.get(&location).expect(200).text();
        assert!(shown.contains("已生成"), "{shown}");
    }
}

#[test]
fn importing_and_reading_a_circular_in_a_browser() {
    let Some(browser) = super::Browser::start() else {
        return;
    };
    let db = crate::support::sqlite();
    let web = Web::start(&db);
    web.user("管理员", Role::Admin);
    let c = circular(&web);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("网站.csv");
    std::fs::write(&file, BAD_SITES).expect("written");

    browser.login(&web, "管理员");
    browser.goto(&web.url("/import"));
    browser.select("#entity", "sites");
    browser.screenshot("import-form");
    browser.fill("#file", &file.display().to_string());
    browser.click("form.upload button[type=submit]");
    assert_eq!(browser.path(), "/import");
    let main = browser.text("main");
    assert!(main.contains("该文件有 1 行有误"), "{main}");
    assert!(browser.text("table.bad-rows").contains("62010XXXXX"));
    assert!(!browser.has("#confirm"));
    assert!(!browser.source().contains("/import/confirm"));
    browser.screenshot("import");
    assert_eq!(site_count(&web), 0);

    // A clean file, confirmed.
    std::fs::write(&file, SITES).expect("written");
    browser.goto(&web.url("/import"));
    browser.fill("#file", &file.display().to_string());
    browser.click("form.upload button[type=submit]");
    assert!(browser.text("main").contains("预检通过"));
    browser.screenshot("import-checked");
    browser.click("#confirm");
    assert!(
        browser.path().starts_with("/import?msg="),
        "{}",
        browser.path()
    );
    assert!(browser.text("main .notice").contains("新增 2 条"));
    assert_eq!(site_count(&web), 2);

    browser.goto(&web.url("/reports"));
    browser.screenshot("reports");
    browser.click(&format!("a[href=\"/reports/{}\"]", c.id));
    assert_eq!(browser.path(), format!("/reports/{}", c.id));
    browser.screenshot("report");
    // The circular itself, as it prints.
    browser.goto(&web.url(&format!("/reports/{}/circular.html", c.id)));
    assert_eq!(browser.text("h1"), c.title);
    browser.screenshot("circular");
}
