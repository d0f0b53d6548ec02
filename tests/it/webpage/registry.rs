//! The web page's registry tests: organizations (主办单位), accounts
//! (政务新媒体) with their freshness and posts recorded, the host names
//! discovered (发现的域名), and the alerts page (告警) with its
//! maintenance windows added and ended; what a viewer, an operator and a
//! person limited to one organization see and may do.

use siteward::access::Role;
use siteward::findings::{Evaluation, Finding, FindingKind, Severity};
use siteward::probe::zone::DiscoverySource;
use siteward::registry::{DivisionCode, OrgLevel, Platform};
use siteward::store::{AuditEntry, AuditFilter, Change, NewAccount, NewOrganization, SiteRequest};

use super::{Browser, Web};
use crate::support::{backends, policy, sqlite};

const WEBHOOK: &str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key-1";

/// The province and two cities, a site and an account in each city;
/// Lanzhou's office with an e-mail address and a robot.
struct Fixture {
    lanzhou: i64,
    tianshui: i64,
    lanzhou_site: i64,
    lanzhou_account: i64,
    tianshui_account: i64,
}

fn org(
    web: &Web,
    name: &str,
    division: &str,
    level: OrgLevel,
    parent: Option<&str>,
    contacts: bool,
) -> i64 {
    web.api
        .store()
        .add_org(
            &NewOrganization {
                name: name.into(),
                division: division.parse::<DivisionCode>().expect("division"),
                level,
                parent: parent.map(str::to_string),
                emails: if contacts {
                    vec!["ops@lanzhou.gov.cn".into()]
                } else {
                    vec![]
                },
                webhooks: if contacts {
                    vec![WEBHOOK.into()]
                } else {
                    vec![]
                },
            },
            &policy(),
            &Change::now("tester"),
        )
        .expect("org added")
        .value
        .id
}

fn account(web: &Web, platform: Platform, handle: &str, name: &str, org: &str) -> i64 {
    web.api
        .store()
        .add_account(
            &NewAccount {
                platform,
                account_id: handle.into(),
                name: name.into(),
                org: org.into(),
                feed_url: None,
            },
            &Change::now("tester"),
        )
        .expect("account added")
        .id
}

fn fixture(web: &Web) -> Fixture {
    org(
        web,
        "甘肃省政府办公厅",
        "620000",
        OrgLevel::Province,
        None,
        false,
    );
    let lanzhou = org(
        web,
        "兰州市政府办公室",
        "620100",
        OrgLevel::Prefecture,
        Some("甘肃省政府办公厅"),
        true,
    );
    let tianshui = org(
        web,
        "天水市政府办公室",
        "620500",
        OrgLevel::Prefecture,
        Some("甘肃省政府办公厅"),
        false,
    );
    let mut sites = Vec::new();
    for (name, org, host) in [
        ("兰州市人民政府", "兰州市政府办公室", "www.lanzhou.gov.cn"),
        ("天水市人民政府", "天水市政府办公室", "www.tianshui.gov.cn"),
    ] {
        let site = web
            .api
            .store()
            .request_site(
                &SiteRequest {
                    name: name.into(),
                    org: org.into(),
                    kind: siteward::registry::SiteKind::Portal,
                    domains: vec![host.parse().expect("host")],
                    code: None,
                    icp_filing: None,
                    psb_filing: None,
                    exception: None,
                },
                &policy(),
                &Change::now("tester"),
            )
            .expect("site requested");
        sites.push(site.value.id);
    }
    let lanzhou_account = account(
        web,
        Platform::Weibo,
        "lanzhoufabu",
        "兰州发布",
        "兰州市政府办公室",
    );
    let tianshui_account = account(
        web,
        Platform::Douyin,
        "tianshuifabu",
        "天水发布",
        "天水市政府办公室",
    );
    Fixture {
        lanzhou,
        tianshui,
        lanzhou_site: sites[0],
        lanzhou_account,
        tianshui_account,
    }
}

/// Lanzhou's account judged stale, as the rule would: its finding is
/// open. Returns the finding's id.
fn stale(web: &Web, fixture: &Fixture) -> i64 {
    let now = chrono::Utc::now();
    let scope = format!("account:{}", fixture.lanzhou_account);
    let evaluation = Evaluation {
        findings: vec![Finding {
            kind: FindingKind::AccountStale,
            severity: Severity::Warning,
            subject: "weibo:lanzhoufabu".into(),
            scope: scope.clone(),
            site_id: None,
            org_id: Some(fixture.lanzhou),
            summary: "兰州市政府办公室的微博账号「兰州发布」自登记以来没有发布记录".into(),
            action: "督促主办单位及时更新".into(),
            evidence: vec![],
            observed_at: now,
        }],
        measured: [scope].into_iter().collect(),
        ipv6_works: true,
        ..Evaluation::default()
    };
    web.api
        .store()
        .record_evaluation(&evaluation, 1, &web.api.app.alerting(), now)
        .expect("recorded");
    web.api
        .store()
        .findings(&[siteward::findings::FindingStatus::Open])
        .expect("findings")
        .iter()
        .find(|f| f.kind == FindingKind::AccountStale)
        .expect("an open account_stale finding")
        .id
}

fn audit(web: &Web) -> Vec<AuditEntry> {
    web.api
        .store()
        .audit(&AuditFilter::default())
        .expect("audit reads")
}

#[test]
fn organizations_are_listed_with_contacts_and_counts_and_shown_one_by_one() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");

        let html = viewer.get("/orgs").expect(200).text();
        assert!(html.contains("<h1>主办单位</h1>"), "{html}");
        for text in [
            "兰州市政府办公室",
            "天水市政府办公室",
            "甘肃省政府办公厅",
            "620100",
            "地级",
            "ops@lanzhou.gov.cn",
            &format!("href=\"/orgs/{}\"", f.lanzhou),
        ] {
            assert!(html.contains(text), "{text} in {html}");
        }
        // The robot's secret is never shown.
        assert!(!html.contains("secret-key-1"), "{html}");
        assert!(html.contains("qyapi.weixin.qq.com"), "{html}");
        // Filters: by level, by part of the name.
        let cities = viewer.get("/orgs?level=prefecture").expect(200).text();
        assert!(cities.contains("天水市政府办公室") && cities.contains("兰州市政府办公室"));
        assert!(cities.contains("共 2 个主办单位"), "{cities}");
        let one = viewer.get("/orgs?q=%E5%A4%A9%E6%B0%B4").expect(200).text();
        assert!(
            one.contains("天水市政府办公室") && !one.contains("ops@lanzhou.gov.cn"),
            "{one}"
        );
        let bad = viewer.get("/orgs?level=mayor").expect(400).text();
        assert!(bad.contains("org level `mayor` must be one of"), "{bad}");

        // One organization: its contacts, its site (a link to its page),
        // its account, its parent.
        let page = viewer
            .get(&format!("/orgs/{}", f.lanzhou))
            .expect(200)
            .text();
        assert!(page.contains("<h1>兰州市政府办公室</h1>"), "{page}");
        for text in [
            "网站（1）",
            "政务新媒体（1）",
            &format!("href=\"/sites/{}\"", f.lanzhou_site),
            "兰州市人民政府",
            "www.lanzhou.gov.cn",
            "兰州发布",
            "lanzhoufabu",
            "甘肃省政府办公厅",
            "ops@lanzhou.gov.cn",
        ] {
            assert!(page.contains(text), "{text} in {page}");
        }
        assert!(!page.contains("天水发布"));
        // By name as well as by id; nothing for what does not exist.
        viewer
            .get("/orgs/%E5%85%B0%E5%B7%9E%E5%B8%82%E6%94%BF%E5%BA%9C%E5%8A%9E%E5%85%AC%E5%AE%A4")
            .expect(200);
        let missing = viewer.get("/orgs/99999").expect(404).text();
        assert!(missing.contains("未找到"), "{missing}");
    }
}

#[test]
fn a_person_limited_to_one_city_sees_nothing_of_another() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        web.scoped_user("兰州值班员", Role::Operator, &["兰州市政府办公室"], false);
        let session = web.login("兰州值班员");

        let orgs = session.get("/orgs").expect(200).text();
        assert!(orgs.contains("兰州市政府办公室"), "{orgs}");
        assert!(!orgs.contains("天水市政府办公室"), "{orgs}");
        session.get(&format!("/orgs/{}", f.lanzhou)).expect(200);
        session.get(&format!("/orgs/{}", f.tianshui)).expect(404);
        session
            .get("/orgs/%E5%A4%A9%E6%B0%B4%E5%B8%82%E6%94%BF%E5%BA%9C%E5%8A%9E%E5%85%AC%E5%AE%A4")
            .expect(404);

        let accounts = session.get("/accounts").expect(200).text();
        assert!(
            accounts.contains("兰州发布") && !accounts.contains("天水发布"),
            "{accounts}"
        );
        let refused = session
            .get("/accounts?org=%E5%A4%A9%E6%B0%B4%E5%B8%82%E6%94%BF%E5%BA%9C%E5%8A%9E%E5%85%AC%E5%AE%A4")
            .expect(400)
            .text();
        assert!(refused.contains("names no organization"), "{refused}");
        // Another city's account: as if it did not exist, and unchanged.
        let before = web.api.store().account("tianshuifabu").expect("account");
        session
            .post(
                &format!("/accounts/{}/posts", f.tianshui_account),
                &[("at", "")],
            )
            .expect(404);
        assert_eq!(
            web.api.store().account("tianshuifabu").expect("account"),
            before
        );

        // Discovered host names belong to no organization: explained, none shown.
        web.api
            .store()
            .discover(
                &["old.lanzhou.gov.cn".parse().expect("host")],
                &DiscoverySource::List("ct.txt".into()),
                chrono::Utc::now(),
            )
            .expect("discovered");
        let found = session.get("/discovered").expect(200).text();
        assert!(found.contains("仅全省范围的用户可以查看"), "{found}");
        assert!(!found.contains("old.lanzhou.gov.cn"), "{found}");

        // The alerts page: their windows, and a sentence in place of the
        // province-wide outbox and sinks.
        let alerts = session.get("/alerts").expect(200).text();
        assert!(alerts.contains("仅全省范围的用户可以查看"), "{alerts}");
        assert!(!alerts.contains("<h2>发件箱</h2>"), "{alerts}");
        // A window for another city is refused as if it did not exist.
        let windows = web
            .api
            .store()
            .windows(chrono::Utc::now())
            .expect("windows")
            .len();
        session
            .post(
                "/alerts/windows",
                &[
                    ("org", "天水市政府办公室"),
                    ("cron", "0 22 * * 6"),
                    ("duration", "2h"),
                    ("reason", "服务器迁移"),
                ],
            )
            .expect(404);
        assert_eq!(
            web.api
                .store()
                .windows(chrono::Utc::now())
                .expect("windows")
                .len(),
            windows
        );
    }
}

#[test]
fn accounts_show_their_freshness_filter_and_page() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        let finding = stale(&web, &f);
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");

        let html = viewer.get("/accounts").expect(200).text();
        assert!(html.contains("<h1>政务新媒体</h1>"), "{html}");
        for text in [
            "兰州发布",
            "天水发布",
            "微博",
            "抖音",
            "按时更新",
            "长期未更新",
            &format!("href=\"/findings/{finding}\""),
            "共 2 个账号，其中长期未更新 1 个",
        ] {
            assert!(html.contains(text), "{text} in {html}");
        }
        // A viewer records no posts.
        assert!(!html.contains("/posts\""), "{html}");

        let stale_only = viewer.get("/accounts?stale=1").expect(200).text();
        assert!(stale_only.contains("兰州发布") && !stale_only.contains("天水发布"));
        let douyin = viewer.get("/accounts?platform=douyin").expect(200).text();
        assert!(douyin.contains("天水发布") && !douyin.contains("兰州发布"));
        let by_org = viewer
            .get(&format!("/accounts?org={}", f.tianshui))
            .expect(200)
            .text();
        assert!(by_org.contains("天水发布") && !by_org.contains("兰州发布"));
        let closed = viewer.get("/accounts?status=closed").expect(200).text();
        assert!(closed.contains("没有符合条件的账号"), "{closed}");
        let bad = viewer.get("/accounts?platform=myspace").expect(400).text();
        assert!(bad.contains("myspace"), "{bad}");
        viewer.get("/accounts?stale=maybe").expect(400);

        // A hundred more: a page of 100, then the rest.
        for n in 0..100 {
            account(
                &web,
                Platform::Toutiao,
                &format!("county{n:03}"),
                &format!("县区发布{n:03}"),
                "天水市政府办公室",
            );
        }
        let first = viewer.get("/accounts?platform=toutiao").expect(200).text();
        assert!(first.contains("县区发布000") && first.contains("县区发布099"));
        let next = first
            .split("href=\"")
            .filter_map(|s| s.split('"').next())
            .find(|s| s.contains("after="))
            .map(|s| s.replace("&#38;", "&").replace("&amp;", "&"));
        assert!(next.is_none(), "100 rows exactly: no next page");
        account(
            &web,
            Platform::Toutiao,
            "county100",
            "县区发布100",
            "天水市政府办公室",
        );
        let first = viewer.get("/accounts?platform=toutiao").expect(200).text();
        assert!(
            first.contains("下一页") && !first.contains("县区发布100"),
            "{first}"
        );
        let next = first
            .split("href=\"")
            .filter_map(|s| s.split('"').next())
            .find(|s| s.contains("after="))
            .map(|s| s.replace("&#38;", "&").replace("&amp;", "&"))
            .expect("a next link");
        assert!(next.contains("platform=toutiao"), "{next}");
        let second = viewer.get(&next).expect(200).text();
        assert!(
            second.contains("县区发布100") && !second.contains("县区发布099"),
            "{second}"
        );
        assert!(!second.contains("下一页"));
    }
}

#[test]
fn an_operator_records_a_post_a_viewer_and_a_forged_form_cannot() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        web.user("值班员", Role::Operator);
        web.user("查看员", Role::Viewer);
        let operator = web.login("值班员");
        let viewer = web.login("查看员");
        let path = format!("/accounts/{}/posts", f.lanzhou_account);
        let before = web.api.store().account("lanzhoufabu").expect("account");
        let trail = audit(&web).len();

        // Refused: a viewer, a forged form, a bad time, a time ahead.
        let refused = viewer.post(&path, &[("at", "")]).expect(403).text();
        assert!(refused.contains("值守"), "{refused}");
        operator
            .post_raw(&path, &[("csrf", "forged"), ("at", "")])
            .expect(403);
        let bad = operator
            .post(&path, &[("at", "yesterday")])
            .expect(400)
            .text();
        assert!(bad.contains("at `yesterday` is not a time"), "{bad}");
        assert!(bad.contains("href=\"/accounts\""), "{bad}");
        operator
            .post(&path, &[("at", "2099-01-01 09:00")])
            .expect(400);
        assert_eq!(
            web.api.store().account("lanzhoufabu").expect("account"),
            before
        );
        assert_eq!(audit(&web).len(), trail);

        // An operator's page has the form; the post is recorded, audited.
        let page = operator.get("/accounts").expect(200).text();
        assert!(page.contains(&format!("action=\"{path}\"")), "{page}");
        let done = operator
            .post(&path, &[("at", "2026-12-01 09:30")])
            .expect(303);
        let location = done.headers["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(location.starts_with("/accounts?msg="), "{location}");
        let after = web.api.store().account("lanzhoufabu").expect("account");
        assert_eq!(
            after.last_post_at.map(siteward::clock::show),
            Some("2026-12-01 09:30:00".to_string())
        );
        let shown = operator.get(&location).expect(200).text();
        assert!(
            shown.contains("已记录微博账号“兰州发布”的发布时间"),
            "{shown}"
        );
        assert!(shown.contains("2026-12-01 09:30:00"), "{shown}");
        let row = audit(&web).into_iter().last().expect("an audit row");
        assert_eq!(row.actor, "值班员");
        assert_eq!(row.actor_source.as_deref(), Some("web user"));
        assert_eq!(row.entity, "account");
        assert_eq!(row.entity_id, f.lanzhou_account);
    }
}

#[test]
fn discovered_host_names_show_their_sources_and_whether_registered() {
    for db in backends() {
        let web = Web::start(&db);
        fixture(&web);
        let now = chrono::Utc::now();
        web.api
            .store()
            .discover(
                &[
                    "www.lanzhou.gov.cn".parse().expect("host"),
                    "old.lanzhou.gov.cn".parse().expect("host"),
                ],
                &DiscoverySource::List("ct-export.txt".into()),
                now,
            )
            .expect("discovered");
        web.api
            .store()
            .discover(
                &["bbs.tianshui.gov.cn".parse().expect("host")],
                &DiscoverySource::Link,
                now,
            )
            .expect("discovered");
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");

        let html = viewer.get("/discovered").expect(200).text();
        assert!(html.contains("<h1>发现的域名</h1>"), "{html}");
        for text in [
            "old.lanzhou.gov.cn",
            "www.lanzhou.gov.cn",
            "bbs.tianshui.gov.cn",
            "ct-export.txt",
            "网页链接",
            "已登记",
            "未登记",
        ] {
            assert!(html.contains(text), "{text} in {html}");
        }
        let unregistered = viewer.get("/discovered?registered=no").expect(200).text();
        assert!(unregistered.contains("old.lanzhou.gov.cn"));
        assert!(
            !unregistered.contains("www.lanzhou.gov.cn"),
            "{unregistered}"
        );
        let registered = viewer.get("/discovered?registered=yes").expect(200).text();
        assert!(registered.contains("www.lanzhou.gov.cn") && !registered.contains("old.lanzhou"));
        let links = viewer.get("/discovered?source=link").expect(200).text();
        assert!(links.contains("bbs.tianshui.gov.cn") && !links.contains("old.lanzhou"));
        let search = viewer.get("/discovered?host=old").expect(200).text();
        assert!(search.contains("old.lanzhou.gov.cn") && !search.contains("bbs.tianshui"));
        let bad = viewer.get("/discovered?source=dns").expect(400).text();
        assert!(
            bad.contains("source `dns` must be list, zone-file, axfr or link"),
            "{bad}"
        );
    }
}

#[test]
fn operators_add_and_end_maintenance_windows_others_cannot() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        web.user("值班员", Role::Operator);
        web.user("查看员", Role::Viewer);
        let operator = web.login("值班员");
        let viewer = web.login("查看员");
        let windows = || {
            web.api
                .store()
                .windows(chrono::Utc::now())
                .expect("windows")
        };
        let trail = audit(&web).len();
        let form = [
            ("site", ""),
            ("org", "兰州市政府办公室"),
            ("cron", "0 22 * * 6"),
            ("duration", "2h"),
            ("reason", "服务器迁移"),
        ];

        // The page: headings, the province-wide sections for a person
        // seeing every organization, no forms for a viewer.
        let page = viewer.get("/alerts").expect(200).text();
        for text in [
            "<h1>告警</h1>",
            "<h2>维护时段</h2>",
            "<h2>告警发送渠道</h2>",
            "<h2>发件箱</h2>",
        ] {
            assert!(page.contains(text), "{text} in {page}");
        }
        assert!(!page.contains("action=\"/alerts/windows\""), "{page}");
        viewer.get("/alerts?status=lost").expect(400);

        // Refused, nothing changed: a viewer, a forged form, bad fields.
        let refused = viewer.post("/alerts/windows", &form).expect(403).text();
        assert!(refused.contains("无权进行此操作"), "{refused}");
        operator.post_raw("/alerts/windows", &form).expect(403);
        let mut bad = form;
        bad[2] = ("cron", "61 22 * * *");
        let text = operator.post("/alerts/windows", &bad).expect(400).text();
        assert!(text.contains("cron `61 22 * * *`"), "{text}");
        let mut bad = form;
        bad[3] = ("duration", "two hours");
        let text = operator.post("/alerts/windows", &bad).expect(400).text();
        assert!(
            text.contains("is not a duration such as 2h, 90m or 1h30m"),
            "{text}"
        );
        let mut bad = form;
        bad[0] = ("site", "www.lanzhou.gov.cn");
        let text = operator.post("/alerts/windows", &bad).expect(400).text();
        assert!(text.contains("give site or org, one of them"), "{text}");
        assert!(windows().is_empty());
        assert_eq!(audit(&web).len(), trail);

        // Added by an operator: audited under their name, from the web.
        let operator_page = operator.get("/alerts").expect(200).text();
        assert!(operator_page.contains("action=\"/alerts/windows\""));
        let done = operator.post("/alerts/windows", &form).expect(303);
        let location = done.headers["location"]
            .to_str()
            .expect("location")
            .to_string();
        let added = windows();
        assert_eq!(added.len(), 1);
        let id = added[0].id;
        let row = audit(&web).into_iter().last().expect("an audit row");
        assert_eq!(
            (row.entity.as_str(), row.action.as_str()),
            ("maintenance", "add")
        );
        assert_eq!(row.actor, "值班员");
        assert_eq!(row.actor_source.as_deref(), Some("web user"));
        let shown = operator.get(&location).expect(200).text();
        assert!(shown.contains("已添加维护时段"), "{shown}");
        assert!(shown.contains("主办单位：兰州市政府办公室"), "{shown}");
        assert!(
            shown.contains("0 22 * * 6") && shown.contains("2 小时"),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("href=\"/orgs/{}\"", f.lanzhou)),
            "{shown}"
        );
        let by_site = operator
            .post(
                "/alerts/windows",
                &[
                    ("site", "www.lanzhou.gov.cn"),
                    ("org", ""),
                    ("cron", "30 1 * * *"),
                    ("duration", "90m"),
                    ("reason", "数据库升级"),
                ],
            )
            .expect(303);
        assert!(by_site.headers["location"].to_str().is_ok());
        assert_eq!(windows().len(), 2);

        // Ended: not by a viewer, not by a forged form; by an operator.
        let end = format!("/alerts/windows/{id}/end");
        viewer.post(&end, &[]).expect(403);
        operator.post_raw(&end, &[]).expect(403);
        assert_eq!(windows().len(), 2);
        operator.post(&end, &[]).expect(303);
        let left = windows();
        assert_eq!(left.len(), 1);
        assert!(left.iter().all(|w| w.id != id));
        let row = audit(&web).into_iter().last().expect("an audit row");
        assert_eq!(
            (row.entity.as_str(), row.action.as_str()),
            ("maintenance", "end")
        );
        assert_eq!(row.actor_source.as_deref(), Some("web user"));
        operator.post("/alerts/windows/99999/end", &[]).expect(404);
    }
}

#[test]
fn the_outbox_shows_its_messages() {
    let db = sqlite();
    let web = Web::start(&db);
    let f = fixture(&web);
    stale(&web, &f);
    let messages = web.api.store().notifications(None, 10).expect("outbox");
    web.user("查看员", Role::Viewer);
    let viewer = web.login("查看员");
    let page = viewer.get("/alerts").expect(200).text();
    if messages.is_empty() {
        assert!(page.contains("发件箱中没有符合条件的消息"), "{page}");
    } else {
        for m in &messages {
            assert!(page.contains(&m.sink), "{} in {page}", m.sink);
        }
        assert!(page.contains("兰州市政府办公室"), "{page}");
        assert!(page.contains("待发送"), "{page}");
        let delivered = viewer.get("/alerts?status=delivered").expect(200).text();
        assert!(
            delivered.contains("发件箱中没有符合条件的消息"),
            "{delivered}"
        );
    }
}

#[test]
fn in_a_browser_the_registry_pages_and_alerts() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = sqlite();
    let web = Web::start(&db);
    let f = fixture(&web);
    stale(&web, &f);
    web.api
        .store()
        .discover(
            &[
                "old.lanzhou.gov.cn".parse().expect("host"),
                "www.lanzhou.gov.cn".parse().expect("host"),
            ],
            &DiscoverySource::List("ct-export.txt".into()),
            chrono::Utc::now(),
        )
        .expect("discovered");
    web.user("值班员", Role::Operator);
    browser.login(&web, "值班员");

    browser.goto(&web.url("/orgs"));
    assert_eq!(browser.text("h1"), "主办单位");
    browser.screenshot("orgs");
    browser.click(&format!("a[href='/orgs/{}']", f.lanzhou));
    assert_eq!(browser.text("h1"), "兰州市政府办公室");
    assert!(browser.source().contains("兰州发布"));

    browser.goto(&web.url("/accounts"));
    assert_eq!(browser.text("h1"), "政务新媒体");
    browser.select("#stale", "1");
    browser.click("form.filters button[type=submit]");
    assert!(browser.path().contains("stale=1"), "{}", browser.path());
    assert!(browser.source().contains("兰州发布"));
    assert!(!browser.source().contains("天水发布"));
    browser.goto(&web.url("/accounts"));
    assert!(browser.has("table.accounts details.post"));
    browser.screenshot("accounts");

    browser.goto(&web.url("/discovered"));
    assert_eq!(browser.text("h1"), "发现的域名");
    assert!(browser.source().contains("old.lanzhou.gov.cn"));

    browser.goto(&web.url("/alerts"));
    browser.fill("#w-org", "兰州市政府办公室");
    browser.fill("#w-cron", "0 22 * * 6");
    browser.fill("#w-duration", "2h");
    browser.fill("#w-reason", "服务器迁移");
    browser.click("form.window-add button[type=submit]");
    assert!(
        browser.path().starts_with("/alerts?msg="),
        "{}",
        browser.path()
    );
    assert!(browser.text(".notice").contains("已添加维护时段"));
    assert!(browser.source().contains("服务器迁移"));
    browser.screenshot("alerts");
    let id = web
        .api
        .store()
        .windows(chrono::Utc::now())
        .expect("windows")[0]
        .id;
    browser.click(&format!("form[action='/alerts/windows/{id}/end'] button"));
    assert!(browser.text(".notice").contains("已结束维护时段"));
    assert!(
        web.api
            .store()
            .windows(chrono::Utc::now())
            .expect("windows")
            .is_empty()
    );
}

#[test]
fn admins_add_and_correct_organizations_with_forms_others_cannot() {
    for db in backends() {
        let web = Web::start(&db);
        let f = fixture(&web);
        web.user("管理员", Role::Admin);
        web.user("查看员", Role::Viewer);
        web.scoped_user("天水管理员", Role::Admin, &["天水市政府办公室"], true);
        let admin = web.login("管理员");
        assert!(
            admin
                .get("/orgs")
                .expect(200)
                .text()
                .contains("class=\"org-add\"")
        );
        let rows = audit(&web).len();

        // A county under Tianshui, with a contact.
        let reply = admin
            .post(
                "/orgs",
                &[
                    ("name", "秦州区政府办公室"),
                    ("division", "620502"),
                    ("level", "county"),
                    ("parent", "天水市政府办公室"),
                    ("emails", "ban@qinzhou.gov.cn"),
                ],
            )
            .expect(303);
        let location = reply.headers["location"].to_str().expect("location");
        assert!(location.starts_with("/orgs/"), "{location}");
        let county = web.api.store().org("秦州区政府办公室").expect("added");
        assert_eq!(county.level, OrgLevel::County);
        assert_eq!(county.parent.as_deref(), Some("天水市政府办公室"));
        assert_eq!(county.emails, vec!["ban@qinzhou.gov.cn".to_string()]);
        let trail = audit(&web);
        assert_eq!(trail.len(), rows + 1);
        let last = trail.last().expect("a row");
        assert_eq!(last.actor, "管理员");
        assert_eq!(last.actor_source.as_deref(), Some("web user"));

        // Corrected from its page: a new name; blank fields stay.
        let page = admin
            .get(&format!("/orgs/{}", county.id))
            .expect(200)
            .text();
        assert!(page.contains(&format!("action=\"/orgs/{}/edit\"", county.id)));
        admin
            .post(
                &format!("/orgs/{}/edit", county.id),
                &[
                    ("name", "天水市秦州区政府办公室"),
                    ("division", ""),
                    ("reason", "更名"),
                ],
            )
            .expect(303);
        let renamed = web
            .api
            .store()
            .org("天水市秦州区政府办公室")
            .expect("renamed");
        assert_eq!(
            (renamed.id, renamed.division.to_string()),
            (county.id, "620502".into())
        );

        // Refused, changing nothing: a bad division code, a blank form, a
        // taken name, a viewer, a limited admin adding at the top or
        // under another city.
        let rows = audit(&web).len();
        let bad = admin
            .post(
                "/orgs",
                &[("name", "某单位"), ("division", "62"), ("level", "county")],
            )
            .expect(400)
            .text();
        assert!(bad.contains("division"), "{bad}");
        let blank = admin
            .post(&format!("/orgs/{}/edit", county.id), &[("name", "")])
            .expect(400)
            .text();
        assert!(blank.contains("没有填写要修改的内容"), "{blank}");
        admin
            .post(
                &format!("/orgs/{}/edit", county.id),
                &[("name", "兰州市政府办公室")],
            )
            .expect(409);
        let viewer = web.login("查看员");
        assert!(
            !viewer
                .get("/orgs")
                .expect(200)
                .text()
                .contains("class=\"org-add\"")
        );
        viewer
            .post(
                "/orgs",
                &[
                    ("name", "某单位"),
                    ("division", "620503"),
                    ("level", "county"),
                ],
            )
            .expect(403);
        let tianshui = web.login("天水管理员");
        tianshui
            .post(
                "/orgs",
                &[
                    ("name", "某单位"),
                    ("division", "620503"),
                    ("level", "county"),
                ],
            )
            .expect(403);
        tianshui
            .post(
                "/orgs",
                &[
                    ("name", "某单位"),
                    ("division", "620103"),
                    ("level", "county"),
                    ("parent", "兰州市政府办公室"),
                ],
            )
            .expect(404);
        tianshui
            .post(&format!("/orgs/{}/edit", f.lanzhou), &[("name", "改名")])
            .expect(404);
        assert_eq!(audit(&web).len(), rows);
        assert!(web.api.store().org("某单位").is_err());
    }
}
