//! The web page's sites tests: the list (search, filters, paging), a
//! site's page, the request form, and each lifecycle action as a form,
//! refused as the command line refuses it.

use siteward::access::Role;
use siteward::registry::lifecycle::SiteAction;
use siteward::registry::{OrgLevel, SiteKind, SiteStatus};
use siteward::store::{AuditFilter, SiteRequest, Store};

use super::{Browser, Web};
use crate::support::{add_org, backends, change, policy};

const LANZHOU: &str = "兰州市政府办公室";
const TIANSHUI: &str = "天水市政府办公室";

/// Two organizations; a site of each requested on day 0.
fn seed(store: &mut Store) {
    add_org(store, LANZHOU, "620100", OrgLevel::Prefecture);
    add_org(store, TIANSHUI, "620500", OrgLevel::Prefecture);
    site(
        store,
        "兰州市人民政府",
        LANZHOU,
        "www.lanzhou.gov.cn",
        Some("6201000012"),
    );
    site(
        store,
        "天水市人民政府",
        TIANSHUI,
        "www.tianshui.gov.cn",
        None,
    );
}

fn site(store: &Store, name: &str, org: &str, host: &str, code: Option<&str>) -> i64 {
    store
        .request_site(
            &SiteRequest {
                name: name.into(),
                org: org.into(),
                kind: SiteKind::Portal,
                domains: vec![host.parse().expect("host")],
                code: code.map(|c| c.parse().expect("code")),
                icp_filing: Some("陇ICP备05000001号".into()),
                psb_filing: Some("甘公网安备62010002000001号".into()),
                exception: None,
            },
            &policy(),
            &change(0),
        )
        .expect("site requested")
        .value
        .id
}

fn status(web: &Web, key: &str) -> SiteStatus {
    web.api.store().site(key).expect("site").status
}

fn audit_rows(web: &Web, key: &str) -> usize {
    web.api
        .store()
        .audit(&AuditFilter {
            site: Some(key.into()),
            ..Default::default()
        })
        .expect("audit")
        .len()
}

#[test]
fn the_list_searches_filters_and_pages_from_sql() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        // 120 more sites of Lanzhou: two pages.
        for i in 0..120 {
            site(
                &store,
                &format!("兰州专项网站{i:03}"),
                LANZHOU,
                &format!("zx{i:03}.lanzhou.gov.cn"),
                None,
            );
        }
        store
            .transition_site(
                "www.lanzhou.gov.cn",
                &SiteAction::Approve {
                    reference: "甘政办发〔2026〕1号".into(),
                },
                &policy(),
                &change(1),
            )
            .expect("approved");
        let web = Web::start(&db);
        web.user("张三", Role::Viewer);
        let session = web.login("张三");

        let first = session.get("/sites").expect(200).text();
        for heading in ["名称", "网站标识码", "主域名", "主办单位", "类型", "状态"]
        {
            assert!(first.contains(&format!("<th>{heading}</th>")), "{heading}");
        }
        assert!(first.contains("兰州市人民政府") && first.contains("6201000012"));
        assert!(first.contains("www.lanzhou.gov.cn") && first.contains("门户网站"));
        assert_eq!(first.matches("<tr><td><a href=\"/sites/").count(), 100);
        let next = first
            .split("href=\"")
            .find_map(|s| s.split_once("\" rel=\"next\"").map(|(u, _)| u.to_string()))
            .expect("a next page")
            .replace("&amp;", "&");
        assert!(next.starts_with("/sites?after="), "{next}");
        let second = session.get(&next).expect(200).text();
        assert_eq!(second.matches("<tr><td><a href=\"/sites/").count(), 22);
        assert!(!second.contains("rel=\"next\""));
        assert!(second.contains("兰州专项网站119"));
        assert!(!second.contains("兰州市人民政府"));

        // Search by name, code and host name.
        for q in ["天水", "6201000012", "www.tianshui"] {
            let found = session
                .get(&format!("/sites?q={}", url(q)))
                .expect(200)
                .text();
            assert_eq!(found.matches("<tr><td><a href=\"/sites/").count(), 1, "{q}");
        }
        // Filters: status, organization, division, kind.
        let approved = session.get("/sites?status=approved").expect(200).text();
        assert_eq!(approved.matches("<tr><td><a href=\"/sites/").count(), 1);
        assert!(approved.contains("兰州市人民政府"));
        let tianshui = session
            .get(&format!("/sites?org={}", url(TIANSHUI)))
            .expect(200)
            .text();
        assert_eq!(tianshui.matches("<tr><td><a href=\"/sites/").count(), 1);
        let division = session.get("/sites?division=6205").expect(200).text();
        assert!(division.contains("天水市人民政府") && !division.contains("兰州市人民政府"));
        let none = session.get("/sites?kind=special").expect(200).text();
        assert!(none.contains("没有符合条件的网站"));
        let no_findings = session.get("/sites?open=yes").expect(200).text();
        assert!(no_findings.contains("没有符合条件的网站"));
        // A bad filter is refused naming it.
        let bad = session.get("/sites?status=alive").expect(400).text();
        assert!(bad.contains("must be one of"), "{bad}");
        // A viewer is offered no request form.
        assert!(!first.contains("/sites/new"));
        session.get("/sites/new").expect(403);
    }
}

fn url(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn a_site_page_shows_its_details_next_actions_and_audit_trail() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.user("管理员", Role::Admin);
        web.user("张三", Role::Viewer);
        // Its host name answered one address, then another.
        let host: siteward::registry::Hostname = "www.lanzhou.gov.cn".parse().expect("host");
        for (minutes_ago, ip) in [(90, "10.0.0.1"), (60, "10.0.0.1"), (30, "10.0.0.2")] {
            store
                .record_observations(&[siteward::probe::Observation {
                    host: host.clone(),
                    address: None,
                    at: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
                    data: super::findings::dns(&host, ip),
                }])
                .expect("observed");
        }
        let admin = web.login("管理员");
        let page = admin.get("/sites/www.lanzhou.gov.cn").expect(200).text();
        // The history, newest first: the second address is current, the
        // first (seen twice) is what was seen before.
        let rows: Vec<&str> = page
            .split("<tr><td>DNS")
            .skip(1)
            .map(|row| row.split("</tr>").next().unwrap_or_default())
            .collect();
        assert_eq!(rows.len(), 2, "{page}");
        assert!(
            rows[0].contains("当前") && rows[0].contains(">1</td>"),
            "{}",
            rows[0]
        );
        assert!(
            rows[1].contains("此前") && rows[1].contains(">2</td>"),
            "{}",
            rows[1]
        );
        for shown in [
            "<h1>兰州市人民政府</h1>",
            "6201000012",
            "www.lanzhou.gov.cn",
            "主域名",
            "陇ICP备05000001号",
            "甘公网安备62010002000001号",
            LANZHOU,
            "申请中",
            "接下来可以",
            "批准（approve）",
            "驳回（reject）",
            "操作记录",
            "tester",
            "监测记录",
        ] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        assert!(page.contains("action=\"/sites/1/approve\""));
        assert!(page.contains("action=\"/sites/1/reject\""));
        // Only the actions allowed from its state.
        assert!(!page.contains("action=\"/sites/1/go-live\""));
        assert!(!page.contains("action=\"/sites/1/retire\""));

        // A viewer reads it all, but gets no form.
        let viewer = web.login("张三");
        let read = viewer.get("/sites/1").expect(200).text();
        assert!(read.contains("批准（approve）"));
        assert!(!read.contains("action=\"/sites/1/"));
        // By code too; an unknown site is 404.
        viewer.get("/sites/6201000012").expect(200);
        viewer.get("/sites/www.nowhere.gov.cn").expect(404);
    }
}

/// An action, its form's fields, and the status it leads to.
type Step<'a> = (&'a str, &'a [(&'a str, &'a str)], SiteStatus);

#[test]
fn each_action_is_a_form_audited_as_the_person() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.user("管理员", Role::Admin);
        let admin = web.login("管理员");
        let key = "www.tianshui.gov.cn";
        let steps: [Step; 7] = [
            (
                "approve",
                &[("reference", "甘政办发〔2026〕9号"), ("at", "2026-01-02")],
                SiteStatus::Approved,
            ),
            (
                "go-live",
                &[("code", "6205000031"), ("at", "2026-01-03")],
                SiteStatus::Live,
            ),
            (
                "suspend",
                &[("reason", "整改"), ("at", "2026-01-04")],
                SiteStatus::Suspended,
            ),
            ("resume", &[("at", "2026-01-05")], SiteStatus::Live),
            (
                "retire",
                &[
                    ("reference", "甘政办发〔2026〕20号"),
                    ("successor_url", "https://www.gansu.gov.cn/"),
                    ("at", "2026-01-06"),
                ],
                SiteStatus::Retiring,
            ),
            ("offline", &[("at", "2026-02-10")], SiteStatus::Offline),
            ("close", &[("at", "2026-03-20")], SiteStatus::Closed),
        ];
        for (action, fields, after) in steps {
            let before = audit_rows(&web, key);
            let reply = admin
                .post(&format!("/sites/2/{action}"), fields)
                .expect(303);
            let location = reply.headers["location"].to_str().expect("location");
            assert!(location.starts_with("/sites/2?msg="), "{location}");
            assert_eq!(status(&web, key), after, "{action}");
            let audit = web
                .api
                .store()
                .audit(&AuditFilter {
                    site: Some(key.into()),
                    ..Default::default()
                })
                .expect("audit");
            assert_eq!(audit.len(), before + 1, "{action}");
            let last = audit.last().expect("a row");
            assert_eq!(last.action, action);
            assert_eq!(last.actor, "管理员");
            assert_eq!(last.actor_source.as_deref(), Some("web user"));
        }
        let site = web.api.store().site(key).expect("site");
        assert_eq!(site.code.expect("code").to_string(), "6205000031");
        assert_eq!(
            site.successor_url.as_deref(),
            Some("https://www.gansu.gov.cn/")
        );
        // The page says it, and that nothing may happen next.
        let page = admin.get("/sites/2?msg=ok").expect(200).text();
        assert!(page.contains("已注销") && page.contains("无（最终状态）"));
        assert!(page.contains("管理员") && page.contains("网页"));
    }
}

#[test]
fn refused_actions_say_why_and_change_nothing() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.user("管理员", Role::Admin);
        web.user("张三", Role::Viewer);
        web.user("李四", Role::Operator);
        let admin = web.login("管理员");
        let rows = audit_rows(&web, "1");

        // A transition its state does not allow: 409, with the state and
        // what it allows.
        let refused = admin.post("/sites/1/resume", &[]).expect(409).text();
        assert!(refused.contains("当前状态"), "{refused}");
        assert!(refused.contains("申请中（requested）"), "{refused}");
        assert!(refused.contains("批准（approve）") && refused.contains("驳回（reject）"));
        assert!(refused.contains("cannot resume"), "{refused}");
        assert_eq!(status(&web, "1"), SiteStatus::Requested);

        // A bad code: the command line's rule, 400.
        admin
            .post("/sites/2/approve", &[("reference", "甘政办发〔2026〕9号")])
            .expect(303);
        let rows2 = audit_rows(&web, "2");
        let bad = admin
            .post("/sites/2/go-live", &[("code", "62ab")])
            .expect(400)
            .text();
        assert!(bad.contains("must be 10 digits"), "{bad}");
        assert_eq!(status(&web, "2"), SiteStatus::Approved);
        assert_eq!(audit_rows(&web, "2"), rows2);
        // A missing reference.
        let missing = admin
            .post("/sites/1/approve", &[("reference", " ")])
            .expect(400)
            .text();
        assert!(missing.contains("reference"), "{missing}");

        // Too low a role: 403, nothing changed.
        for name in ["张三", "李四"] {
            let person = web.login(name);
            person
                .post("/sites/1/approve", &[("reference", "甘政办发〔2026〕9号")])
                .expect(403);
            person
                .post(
                    "/sites",
                    &[
                        ("name", "新网站"),
                        ("org", LANZHOU),
                        ("kind", "special"),
                        ("domains", "new.lanzhou.gov.cn"),
                    ],
                )
                .expect(403);
        }
        // A forged form (no token, or a wrong one): 403, nothing changed.
        admin
            .post_raw("/sites/1/approve", &[("reference", "甘政办发〔2026〕9号")])
            .expect(403);
        admin
            .post_raw(
                "/sites/1/approve",
                &[("csrf", "forged"), ("reference", "甘政办发〔2026〕9号")],
            )
            .expect(403);
        assert_eq!(status(&web, "1"), SiteStatus::Requested);
        assert_eq!(audit_rows(&web, "1"), rows);
        assert!(web.api.store().site("new.lanzhou.gov.cn").is_err());
        // An unknown action is 404.
        admin.post("/sites/1/explode", &[]).expect(404);
    }
}

#[test]
fn the_request_form_requests_a_site_or_says_what_is_wrong() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.user("管理员", Role::Admin);
        let admin = web.login("管理员");
        let form = admin.get("/sites/new").expect(200).text();
        assert!(form.contains(LANZHOU) && form.contains(TIANSHUI));
        assert!(form.contains("name=\"csrf\""));
        for (fields, rule) in [
            (
                vec![("code", "62ab"), ("domains", "a.lanzhou.gov.cn")],
                "must be 10 digits",
            ),
            (vec![("domains", " ")], "needs at least one host name"),
            (
                vec![("domains", "a.lanzhou.gov.cn"), ("exception", "过渡期")],
                "is needed with exception",
            ),
        ] {
            let mut all = vec![
                ("name", "兰州新区网站"),
                ("org", LANZHOU),
                ("kind", "department"),
            ];
            all.extend(fields);
            let refused = admin.post("/sites", &all).expect(400).text();
            assert!(refused.contains(rule), "{rule}: {refused}");
        }
        assert!(web.api.store().site("a.lanzhou.gov.cn").is_err());
        let made = admin
            .post(
                "/sites",
                &[
                    ("name", "兰州新区网站"),
                    ("org", LANZHOU),
                    ("kind", "department"),
                    ("domains", "www.lzxq.gov.cn\nlzxq.gov.cn, 兰州新区.政务"),
                    ("icp", "陇ICP备05000009号"),
                    ("code", ""),
                ],
            )
            .expect(303);
        let location = made.headers["location"]
            .to_str()
            .expect("location")
            .to_string();
        let site = web.api.store().site("www.lzxq.gov.cn").expect("requested");
        assert!(location.starts_with(&format!("/sites/{}?msg=", site.id)));
        assert_eq!(site.domains.len(), 3);
        assert_eq!(
            site.primary().expect("primary").hostname.as_str(),
            "www.lzxq.gov.cn"
        );
        assert_eq!(site.icp_filing.as_deref(), Some("陇ICP备05000009号"));
        let audit = web
            .api
            .store()
            .audit(&AuditFilter {
                site: Some(site.id.to_string()),
                ..Default::default()
            })
            .expect("audit");
        let first = audit.first().expect("a row");
        assert_eq!(first.actor, "管理员");
        assert_eq!(first.actor_source.as_deref(), Some("web user"));
        let page = admin.get(&location).expect(200).text();
        assert!(page.contains("已提交网站“兰州新区网站”的申请"), "{page}");
        assert!(page.contains("兰州新区.政务"));
    }
}

#[test]
fn a_person_of_one_organization_sees_only_its_sites() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.scoped_user("兰州管理员", Role::Admin, &[LANZHOU], false);
        let session = web.login("兰州管理员");
        let list = session.get("/sites").expect(200).text();
        assert!(list.contains("兰州市人民政府") && !list.contains("天水市人民政府"));
        session.get("/sites/2").expect(404);
        session.get("/sites/www.tianshui.gov.cn").expect(404);
        session
            .get(&format!("/sites?org={}", url(TIANSHUI)))
            .expect(404);
        let form = session.get("/sites/new").expect(200).text();
        assert!(form.contains(LANZHOU) && !form.contains(TIANSHUI));
        // Another's site cannot be changed, nor a site requested for it.
        session
            .post("/sites/2/approve", &[("reference", "甘政办发〔2026〕9号")])
            .expect(404);
        session
            .post(
                "/sites",
                &[
                    ("name", "天水新网站"),
                    ("org", TIANSHUI),
                    ("kind", "special"),
                    ("domains", "new.tianshui.gov.cn"),
                ],
            )
            .expect(404);
        assert_eq!(status(&web, "2"), SiteStatus::Requested);
        assert!(web.api.store().site("new.tianshui.gov.cn").is_err());
    }
}

#[test]
fn an_administrator_takes_a_site_through_its_life_in_a_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = crate::support::sqlite();
    let mut store = db.open();
    add_org(&mut store, LANZHOU, "620100", OrgLevel::Prefecture);
    let web = Web::start(&db);
    web.user("管理员", Role::Admin);
    browser.login(&web, "管理员");

    browser.goto(&web.url("/sites"));
    browser.click("a[href='/sites/new']");
    browser.fill("#name", "兰州市数据局网站");
    browser.select("#org", LANZHOU);
    browser.select("#kind", "department");
    browser.fill("#domains", "sjj.lanzhou.gov.cn\nwww.sjj.lanzhou.gov.cn");
    browser.fill("#icp", "陇ICP备05000077号");
    browser.click("form.site-request button[type='submit']");
    assert!(browser.text(".notice").contains("已提交网站"));
    let path = browser.path();
    let id = web.api.store().site("sjj.lanzhou.gov.cn").expect("site").id;
    assert!(path.starts_with(&format!("/sites/{id}?msg=")), "{path}");

    browser.fill("#approve-reference", "兰政办发〔2026〕3号");
    browser.click(&format!("form[action='/sites/{id}/approve'] button"));
    assert!(browser.text(".notice").contains("已批准"));
    browser.fill("#go-live-code", "6201000077");
    browser.click(&format!("form[action='/sites/{id}/go-live'] button"));
    assert!(browser.text(".notice").contains("运行中"));
    browser.fill("#retire-reference", "兰政办发〔2026〕30号");
    // The confirmation dialog is accepted by `click`.
    browser.click(&format!("form[action='/sites/{id}/retire'] button"));
    assert!(browser.text(".notice").contains("关停公示中"));
    assert_eq!(status(&web, "sjj.lanzhou.gov.cn"), SiteStatus::Retiring);
    assert!(!browser.has(&format!("form[action='/sites/{id}/resume']")));
    // Taking it offline asks first.
    assert!(
        browser
            .source()
            .contains("data-confirm=\"确定将“兰州市数据局网站”下线？")
    );
    browser.screenshot("site");

    // A forbidden action, posted anyway: the state and what it allows.
    let session = web.login("管理员");
    let refused = session
        .post(&format!("/sites/{id}/resume"), &[])
        .expect(409)
        .text();
    assert!(refused.contains("关停公示中（retiring）"), "{refused}");
    assert!(refused.contains("下线（offline）"), "{refused}");
    assert_eq!(status(&web, "sjj.lanzhou.gov.cn"), SiteStatus::Retiring);

    browser.goto(&web.url("/sites"));
    assert!(browser.text("table.sites").contains("兰州市数据局网站"));
    browser.screenshot("sites");
}

#[test]
fn an_administrator_edits_a_site_with_its_form_and_blank_fields_change_nothing() {
    for db in backends() {
        let mut store = db.open();
        seed(&mut store);
        let web = Web::start(&db);
        web.user("管理员", Role::Admin);
        web.user("张三", Role::Viewer);
        let admin = web.login("管理员");
        let key = "www.tianshui.gov.cn";
        let page = admin.get("/sites/2").expect(200).text();
        assert!(page.contains("action=\"/sites/2/edit\""), "{page}");

        let rows = audit_rows(&web, key);
        let reply = admin
            .post(
                "/sites/2/edit",
                &[
                    ("name", "天水市人民政府网"),
                    ("add_domains", "old.tianshui.gov.cn， m.tianshui.gov.cn"),
                    ("icp", "陇ICP备05000099号"),
                    ("kind", ""),
                    ("org", ""),
                ],
            )
            .expect(303);
        let location = reply.headers["location"].to_str().expect("location");
        assert!(location.starts_with("/sites/2?msg="), "{location}");
        let site = web.api.store().site(key).expect("site");
        assert_eq!(site.name, "天水市人民政府网");
        assert_eq!(site.icp_filing.as_deref(), Some("陇ICP备05000099号"));
        let mut hosts: Vec<String> = site
            .domains
            .iter()
            .map(|d| d.hostname.to_string())
            .collect();
        hosts.sort();
        assert_eq!(
            hosts,
            [
                "m.tianshui.gov.cn",
                "old.tianshui.gov.cn",
                "www.tianshui.gov.cn"
            ]
        );
        let audit = web
            .api
            .store()
            .audit(&AuditFilter {
                site: Some(key.into()),
                ..Default::default()
            })
            .expect("audit");
        assert_eq!(audit.len(), rows + 1);
        let last = audit.last().expect("a row");
        assert_eq!(
            (last.action.as_str(), last.actor.as_str()),
            ("edit", "管理员")
        );
        assert_eq!(last.actor_source.as_deref(), Some("web user"));

        // Nothing filled in, a bad host name, a viewer: refused, and
        // nothing changes.
        let rows = audit_rows(&web, key);
        let blank = admin
            .post("/sites/2/edit", &[("name", " "), ("kind", "")])
            .expect(400)
            .text();
        assert!(blank.contains("没有填写要修改的内容"), "{blank}");
        let bad = admin
            .post("/sites/2/edit", &[("add_domains", "not a host")])
            .expect(400)
            .text();
        assert!(bad.contains("add_domains"), "{bad}");
        let viewer = web.login("张三");
        assert!(
            !viewer
                .get("/sites/2")
                .expect(200)
                .text()
                .contains("/sites/2/edit")
        );
        viewer
            .post("/sites/2/edit", &[("name", "改名")])
            .expect(403);
        assert_eq!(audit_rows(&web, key), rows);
        assert_eq!(
            web.api.store().site(key).expect("site").name,
            "天水市人民政府网"
        );
    }
}
