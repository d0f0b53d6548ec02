//! The home page (总览) and the audit page (操作记录): counts that match
//! the store, the two charts drawn as SVG, a person limited to one city
//! counting only it; the audit trail newest first with its actor and
//! source, its filters and pages, and a limited person's rows.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::json;
use siteward::access::Role;
use siteward::findings::text::{kind_name, severity_name};
use siteward::findings::{
    Evaluation, Evidence, Finding, FindingKind, MeasurementFailure, Severity,
};
use siteward::jobs::{Job, RunStatus};
use siteward::probe::cert::CertInfo;
use siteward::probe::tls::{TlsObservation, TlsVerdict};
use siteward::probe::{Observation, ObservationData};
use siteward::registry::{OrgLevel, Platform, SiteKind, SiteStatus};
use siteward::store::{Change, NewAccount, Run, SiteRequest};
use siteward::transfer::{HeaderLang, level_label, status_label};

use super::{Browser, Web};
use crate::support::{add_org, backends, policy, sqlite};

const LANZHOU: &str = "兰州市政府办公室";
const TIANSHUI: &str = "天水市政府办公室";

/// Two cities of one province, a site in each, and the province's own
/// portal.
fn province(web: &Web) {
    let mut store = web.api.store().clone();
    add_org(&mut store, "甘肃省政府办公厅", "620000", OrgLevel::Province);
    add_org(&mut store, LANZHOU, "620100", OrgLevel::Prefecture);
    add_org(&mut store, TIANSHUI, "620500", OrgLevel::Prefecture);
    for (name, org, host) in [
        ("甘肃省人民政府", "甘肃省政府办公厅", "www.gansu.gov.cn"),
        ("兰州市人民政府", LANZHOU, "www.lanzhou.gov.cn"),
        ("天水市人民政府", TIANSHUI, "www.tianshui.gov.cn"),
    ] {
        store
            .request_site(
                &SiteRequest {
                    name: name.into(),
                    org: org.into(),
                    kind: SiteKind::Portal,
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
    }
}

fn finding(kind: FindingKind, severity: Severity, subject: &str, org_id: i64) -> Finding {
    Finding {
        kind,
        severity,
        subject: subject.into(),
        scope: subject.into(),
        site_id: None,
        org_id: Some(org_id),
        summary: format!("{subject} 有问题"),
        action: "请处理".into(),
        evidence: vec![Evidence::new(subject, "dns", "nxdomain", "测试".into())],
        observed_at: Utc::now(),
    }
}

fn leaf(host: &str, not_after: DateTime<Utc>) -> CertInfo {
    CertInfo {
        subject: format!("CN={host}"),
        issuer: "CN=Test CA".to_string(),
        dns_names: vec![host.to_string()],
        serial: "01".to_string(),
        not_before: not_after - Duration::days(365),
        not_after,
        signature_algorithm: "sha256WithRSA".to_string(),
        signature_oid: "1.2.840.113549.1.1.11".to_string(),
        key_algorithm: "rsa".to_string(),
        key_bits: Some(2048),
        curve: None,
        is_ca: false,
        self_signed: false,
    }
}

fn tls(host: &str, not_after: DateTime<Utc>) -> Observation {
    Observation {
        host: host.parse().expect("host"),
        address: Some("192.0.2.10".parse().expect("address")),
        at: Utc::now(),
        data: ObservationData::Tls(TlsObservation {
            verdict: TlsVerdict::Valid,
            protocol: Some("TLSv1.3".to_string()),
            cipher_suite: None,
            chain: vec![leaf(host, not_after)],
            port: Some(443),
            elapsed: std::time::Duration::from_millis(40),
        }),
    }
}

/// Lanzhou: 2 critical, 1 warning, a stale account; Tianshui: 1
/// warning, 1 info. Certificates: Lanzhou's in 10 days, Tianshui's in
/// 20, the province's in 50 (the chart, not the list). A probe cycle that
/// could not measure one host name.
fn watched(web: &Web) {
    province(web);
    let store = web.api.store();
    let lanzhou = store.org(LANZHOU).expect("org").id;
    let tianshui = store.org(TIANSHUI).expect("org").id;
    let account = store
        .add_account(
            &NewAccount {
                platform: Platform::WechatService,
                account_id: "lanzhoufabu".into(),
                name: "兰州发布".into(),
                org: LANZHOU.into(),
                feed_url: None,
            },
            &Change::now("tester"),
        )
        .expect("account");
    // Quiet for 400 days without a finding (no feed was ever polled):
    // stale by its date alone. One added today is not.
    for (name, org, since) in [
        (
            "兰州城关发布",
            LANZHOU,
            Utc::now() - chrono::Duration::days(400),
        ),
        ("天水新号", TIANSHUI, Utc::now()),
    ] {
        store
            .add_account(
                &NewAccount {
                    platform: Platform::Weibo,
                    account_id: name.into(),
                    name: name.into(),
                    org: org.into(),
                    feed_url: None,
                },
                &Change::at("tester", since),
            )
            .expect("account");
    }
    let findings = vec![
        finding(
            FindingKind::DanglingCname,
            Severity::Critical,
            "old.lanzhou.gov.cn",
            lanzhou,
        ),
        finding(
            FindingKind::DanglingCname,
            Severity::Critical,
            "x.lanzhou.gov.cn",
            lanzhou,
        ),
        // As the rule raises it: about `platform:id`, scoped to the
        // account.
        Finding {
            scope: format!("account:{}", account.id),
            ..finding(
                FindingKind::AccountStale,
                Severity::Warning,
                &format!("{}:{}", account.platform, account.account_id),
                lanzhou,
            )
        },
        finding(
            FindingKind::StaleAddress,
            Severity::Warning,
            "a.tianshui.gov.cn",
            tianshui,
        ),
        finding(
            FindingKind::WildcardRecord,
            Severity::Info,
            "b.tianshui.gov.cn",
            tianshui,
        ),
    ];
    store
        .record_evaluation(
            &Evaluation {
                findings,
                measured: Default::default(),
                unjudged: Default::default(),
                failures: Vec::new(),
                ipv6_works: true,
            },
            1,
            &web.api.app.alerting(),
            Utc::now(),
        )
        .expect("findings recorded");
    let now = Utc::now();
    store
        .record_observations(&[
            tls(
                "www.lanzhou.gov.cn",
                now + Duration::days(10) + Duration::hours(1),
            ),
            tls(
                "www.tianshui.gov.cn",
                now + Duration::days(20) + Duration::hours(1),
            ),
            tls(
                "www.gansu.gov.cn",
                now + Duration::days(50) + Duration::hours(1),
            ),
        ])
        .expect("observed");
    let mut run = Run::start(Job::Probe, None);
    run.id = store.start_run(&run).expect("run");
    run.hosts = 3;
    run.failures = vec![MeasurementFailure {
        scope: "host:www.tianshui.gov.cn".into(),
        reason: "DNS 超时".into(),
    }];
    run.status = RunStatus::MeasurementFailed;
    run.finished_at = run.started_at + Duration::seconds(75);
    store.finish_run(&run).expect("finished");
}

/// The number shown in the element whose markup starts with `marker`.
fn number_after(html: &str, marker: &str) -> u64 {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
        + marker.len();
    let digits: String = html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker}"))
}

/// The `<svg …>…</svg>` elements of a page.
fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("a closed svg") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// A drawing is well formed enough: one root, every bar closed, a title,
/// no stray markup from the data.
fn check_svg(svg: &str, bars: usize) {
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains("role=\"img\"") && svg.contains("aria-label=\""),
        "{svg}"
    );
    assert!(svg.contains("<title>"), "{svg}");
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("class=\"bar\"").count(), bars, "{svg}");
    assert_eq!(svg.matches("<rect").count(), svg.matches("</rect>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert_eq!(
        svg.matches("<title>").count(),
        svg.matches("</title>").count()
    );
}

#[test]
fn the_home_page_counts_what_the_store_holds_and_draws_two_charts() {
    for db in backends() {
        let web = Web::start(&db);
        watched(&web);
        web.user("张三", Role::Viewer);
        let html = web.login("张三").get("/").expect(200).text();

        // Findings: 5 open, 2 critical, 2 warnings, 1 info, each linking
        // to its list.
        assert_eq!(
            number_after(&html, "id=\"open-total\">"),
            5,
            "{}",
            db.backend
        );
        for (severity, n) in [
            (Severity::Critical, 2),
            (Severity::Warning, 2),
            (Severity::Info, 1),
        ] {
            let marker = format!(
                "{}</span></div><div class=\"figure\"><a href=\"/findings?severity={}\" data-count=\"severity\">",
                severity_name(severity),
                severity.as_str()
            );
            assert_eq!(number_after(&html, &marker), n, "{severity} in {html}");
        }
        let dangling = format!(
            "<a href=\"/findings?kind=dangling_cname\">{}</a>",
            kind_name(FindingKind::DanglingCname)
        );
        assert!(html.contains(&dangling), "{html}");
        assert!(html.contains("未解决的问题") && html.contains("按问题类型"));

        // The last cycle: its length and what it could not measure.
        assert!(html.contains("最近一次检查"), "{html}");
        assert!(html.contains("1 分 15 秒"), "{html}");
        assert!(html.contains("host:www.tianshui.gov.cn") && html.contains("DNS 超时"));
        assert!(html.contains("<dt>无法测量</dt><dd>1 项</dd>"), "{html}");

        // Sites: 3 requested, of two levels.
        assert_eq!(number_after(&html, "id=\"site-total\">"), 3);
        let requested = status_label(SiteStatus::Requested, HeaderLang::Zh);
        assert!(
            html.contains(&format!(
                "<a href=\"/sites?status=requested\">{requested}</a></td><td class=\"num\">3</td>"
            )),
            "{html}"
        );
        for (level, n) in [(OrgLevel::Province, 1), (OrgLevel::Prefecture, 2)] {
            let row = format!(
                "<td>{}</td><td class=\"num\">{n}</td>",
                level_label(level, HeaderLang::Zh)
            );
            assert!(html.contains(&row), "{row} in {html}");
        }

        // Certificates within 30 days: Lanzhou's and Tianshui's, soonest
        // first; the province's (50 days) only in the chart.
        let lanzhou = html
            .find("<td>www.lanzhou.gov.cn</td>")
            .expect("Lanzhou's certificate");
        let tianshui = html
            .find("<td>www.tianshui.gov.cn</td>")
            .expect("Tianshui's certificate");
        assert!(lanzhou < tianshui);
        assert!(html.contains("<td class=\"num\">10 天</td>"), "{html}");
        assert!(!html.contains("<td>www.gansu.gov.cn</td>"));

        // The stale accounts: one with its finding, one quiet for 400
        // days; not the one added today.
        assert_eq!(number_after(&html, "id=\"stale-total\">"), 2);
        assert!(html.contains("<td>兰州发布</td>"), "{html}");
        assert!(html.contains("<td>兰州城关发布</td>"), "{html}");
        assert!(!html.contains("天水新号"), "{html}");

        // Two charts: 90 days, 12 weeks; today's bar counts the 5 open,
        // weeks 2, 3 and 8 hold one expiry each.
        let charts = svgs(&html);
        assert_eq!(charts.len(), 2, "{html}");
        check_svg(charts[0], 90);
        check_svg(charts[1], 12);
        let today = Utc::now().with_timezone(&siteward::clock::china());
        let today_bar = format!(
            "<title>{}年{}月{}日：5 个</title>",
            today.year(),
            today.month(),
            today.day()
        );
        assert!(charts[0].contains(&today_bar), "{}", charts[0]);
        assert_eq!(
            charts[1].matches("：1 张证书到期").count(),
            3,
            "{}",
            charts[1]
        );
        assert!(charts[1].contains("第 2 周") && charts[1].contains("第 8 周"));
        // The page's charts are the only markup not escaped by askama.
        assert!(!html.contains("<script>"));
    }
}

#[test]
fn a_person_limited_to_one_city_counts_only_it() {
    for db in backends() {
        let web = Web::start(&db);
        watched(&web);
        web.scoped_user("兰州", Role::Viewer, &[LANZHOU], false);
        let html = web.login("兰州").get("/").expect(200).text();
        assert_eq!(
            number_after(&html, "id=\"open-total\">"),
            3,
            "{}",
            db.backend
        );
        assert_eq!(number_after(&html, "id=\"site-total\">"), 1);
        assert!(html.contains("<td>www.lanzhou.gov.cn</td>"));
        // Not even what the cycle could not measure of another city.
        assert!(!html.contains("tianshui"), "{html}");
        assert!(html.contains("<dt>无法测量</dt><dd>1 项</dd>"));
        assert!(!html.contains(&kind_name(FindingKind::WildcardRecord).to_string()));
        let charts = svgs(&html);
        let today = Utc::now().with_timezone(&siteward::clock::china());
        assert!(charts[0].contains(&format!(
            "<title>{}年{}月{}日：3 个</title>",
            today.year(),
            today.month(),
            today.day()
        )));
        assert_eq!(charts[1].matches("：1 张证书到期").count(), 1);

        // Someone of no organization seen counts nothing.
        web.scoped_user("甘肃", Role::Viewer, &["甘肃省政府办公厅"], false);
        let province = web.login("甘肃").get("/").expect(200).text();
        assert_eq!(number_after(&province, "id=\"open-total\">"), 0);
        assert_eq!(number_after(&province, "id=\"site-total\">"), 1);
    }
}

/// The rows of an audit page.
fn audit_rows(html: &str) -> usize {
    html.matches("<td class=\"audit-time\">").count()
}

#[test]
fn the_audit_page_lists_changes_newest_first_with_filters_and_pages() {
    for db in backends() {
        let web = Web::start(&db);
        province(&web);
        // A change through the API: its source is the token.
        let admin = web.api.token("接口管理员", Role::Admin);
        web.api
            .post(
                "/api/v1/orgs",
                &admin,
                &json!({"name": "城关区政府办公室", "division": "620102", "level": "county",
                        "parent": LANZHOU}),
            )
            .expect(201);
        web.user("审计员", Role::Viewer);
        let session = web.login("审计员");
        let html = session.get("/audit").expect(200).text();
        assert!(html.contains("<h1>操作记录</h1>"), "{html}");
        for heading in ["时间", "操作人", "来源", "对象", "操作", "原因", "变更"] {
            assert!(
                html.contains(&format!("<th scope=\"col\">{heading}</th>")),
                "{heading}"
            );
        }
        // Newest first: the API's organization, then the sites.
        let newest = html.find("接口管理员").expect("the API's change");
        let site = html.find("兰州市人民政府").expect("a site's change");
        assert!(newest < site, "{html}");
        assert!(
            html.contains("<span class=\"tag\">API 令牌</span>"),
            "{html}"
        );
        assert!(html.contains("主办单位 #") && html.contains("城关区政府办公室"));
        assert!(html.contains("网站 #"));
        assert!(!html.contains("下一页"));
        let all = audit_rows(&html);
        assert_eq!(all, web.api.audit_len(), "{}", db.backend);

        // Filters narrow: by actor, by kind, by site, by dates.
        let by_actor = session
            .get("/audit?actor=%E6%8E%A5%E5%8F%A3%E7%AE%A1%E7%90%86%E5%91%98")
            .expect(200)
            .text();
        assert_eq!(audit_rows(&by_actor), 1, "{by_actor}");
        let sites = session.get("/audit?entity=site").expect(200).text();
        assert_eq!(audit_rows(&sites), 3, "{sites}");
        assert!(sites.contains("<option value=\"site\" selected>网站</option>"));
        let one = session
            .get("/audit?site=www.lanzhou.gov.cn")
            .expect(200)
            .text();
        assert_eq!(audit_rows(&one), 1, "{one}");
        assert!(one.contains("兰州市人民政府") && !one.contains("天水市人民政府"));
        let tomorrow = (Utc::now() + Duration::days(1)).with_timezone(&siteward::clock::china());
        let later = session
            .get(&format!("/audit?from={}", tomorrow.format("%Y-%m-%d")))
            .expect(200)
            .text();
        assert_eq!(audit_rows(&later), 0);
        assert!(later.contains("没有符合条件的操作记录"));
        let today = Utc::now().with_timezone(&siteward::clock::china());
        let through_today = session
            .get(&format!("/audit?to={}", today.format("%Y-%m-%d")))
            .expect(200)
            .text();
        assert_eq!(audit_rows(&through_today), all);

        // Bad filters say which and why.
        let bad = session.get("/audit?from=yesterday").expect(400).text();
        assert!(
            bad.contains("from") && bad.contains("is not a time"),
            "{bad}"
        );
        let bad = session.get("/audit?entity=planet").expect(400).text();
        assert!(bad.contains("entity") && bad.contains("planet"), "{bad}");
        session.get("/audit?before=abc").expect(400);
        session.get("/audit?site=www.nowhere.gov.cn").expect(404);

        // Pages of 100: more organizations, then two pages.
        let mut store = web.api.store().clone();
        for i in 0..120 {
            add_org(
                &mut store,
                &format!("测试单位{i}"),
                "620102",
                OrgLevel::County,
            );
        }
        let first = session.get("/audit").expect(200).text();
        assert_eq!(audit_rows(&first), 100);
        assert!(first.contains("测试单位119") && !first.contains("测试单位0<"));
        let start = first.find("href=\"/audit?before=").expect("a next page") + "href=\"".len();
        let next = &first[start..start + first[start..].find('"').expect("end")];
        let second = session.get(&next.replace("&amp;", "&")).expect(200).text();
        assert_eq!(audit_rows(&second), all + 120 - 100, "{second}");
        assert!(!second.contains("下一页"));
        assert!(second.contains("第一页"));
    }
}

#[test]
fn a_person_limited_to_one_city_reads_only_its_rows() {
    for db in backends() {
        let web = Web::start(&db);
        province(&web);
        web.scoped_user("兰州审计", Role::Viewer, &[LANZHOU], false);
        let session = web.login("兰州审计");
        let html = session.get("/audit").expect(200).text();
        // Its organization's row and its site's; nobody else's, and no
        // user's or token's.
        assert_eq!(audit_rows(&html), 2, "{}: {html}", db.backend);
        assert!(html.contains("兰州市人民政府") && html.contains(LANZHOU));
        assert!(!html.contains("天水") && !html.contains("甘肃"), "{html}");
        // Another city's site is not there at all.
        session.get("/audit?site=www.tianshui.gov.cn").expect(404);
    }
}

#[test]
fn in_a_browser_the_home_and_audit_pages_read_well() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = sqlite();
    let web = Web::start(&db);
    watched(&web);
    web.user("王五", Role::Operator);
    browser.login(&web, "王五");
    assert_eq!(browser.path(), "/");
    assert_eq!(browser.text("h1"), "总览");
    assert!(browser.has("svg.chart rect.bar"));
    browser.screenshot("home");
    browser.goto(&web.url("/audit"));
    assert_eq!(browser.text("h1"), "操作记录");
    browser.select("#f-entity", "site");
    browser.click("form.filters button[type=submit]");
    assert!(browser.path().starts_with("/audit?"), "{}", browser.path());
    assert!(browser.source().contains("兰州市人民政府"));
    browser.goto(&web.url("/audit"));
    browser.screenshot("audit");
}
