//! The findings pages (问题) over HTTP on every backend and in a real
//! browser: findings made by judging stored observations of a province's
//! two cities (an expired certificate in each, a prohibited term quoted
//! on Lanzhou's homepage), listed with Chinese names and narrowed by
//! each filter, shown with their evidence (the certificate chain, the
//! quote with its term marked), events and suggested action;
//! acknowledged and excepted by operators (audited as the person, from
//! the web page); refused to viewers, forged forms and bad dates with
//! nothing changed; a city's person sees none of the other city's.

use chrono::{Duration, Utc};
use siteward::access::Role;
use siteward::findings::{Evaluation, Finding, FindingKind, FindingStatus, Severity};
use siteward::probe::cert::CertInfo;
use siteward::probe::dns::{DnsOutcome, DnsRecord, HostDns};
use siteward::probe::http::{Hop, PageOutcome};
use siteward::probe::page::{Page, Quote};
use siteward::probe::tls::{TlsObservation, TlsVerdict};
use siteward::probe::{Observation, ObservationData};
use siteward::registry::lifecycle::SiteAction;
use siteward::registry::{Hostname, OrgLevel};
use siteward::store::{AuditFilter, Change, SiteRequest, Store};

use super::{Browser, Web};
use crate::support::{add_org, backends, policy};

/// The findings judged, by what they are.
struct Province {
    lanzhou_site: i64,
    lanzhou_cert: i64,
    lanzhou_term: i64,
    tianshui_cert: i64,
}

pub(super) fn dns(host: &Hostname, ip: &str) -> ObservationData {
    ObservationData::Dns(HostDns {
        host: host.clone(),
        cname_chain: Vec::new(),
        a: DnsOutcome::Answer {
            records: vec![DnsRecord {
                name: host.to_string(),
                ttl: 300,
                value: ip.into(),
            }],
        },
        aaaa: DnsOutcome::NoData,
        registrable: None,
    })
}

fn expired_tls(host: &Hostname) -> ObservationData {
    let now = Utc::now();
    let cert = |subject: &str, issuer: &str, days: i64, ca: bool| CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        dns_names: if ca {
            Vec::new()
        } else {
            vec![host.to_string()]
        },
        serial: "01".into(),
        not_before: now - Duration::days(400),
        not_after: now - Duration::days(days),
        signature_algorithm: "sha256WithRSA".into(),
        signature_oid: "1.2.840.113549.1.1.11".into(),
        key_algorithm: "rsa".into(),
        key_bits: Some(2048),
        curve: None,
        is_ca: ca,
        self_signed: ca,
    };
    ObservationData::Tls(TlsObservation {
        verdict: TlsVerdict::Expired,
        protocol: Some("TLSv1.3".into()),
        cipher_suite: Some("TLS13_AES_128_GCM_SHA256".into()),
        chain: vec![
            cert(&format!("CN={host}"), "CN=甘肃测试根证书", 10, false),
            cert("CN=甘肃测试根证书", "CN=甘肃测试根证书", -3000, true),
        ],
        port: Some(443),
        elapsed: std::time::Duration::ZERO,
    })
}

fn homepage(host: &Hostname, title: &str, code: &str, quote: Option<&str>) -> ObservationData {
    let url = format!("https://{host}/");
    ObservationData::Page(PageOutcome::Loaded {
        status: 200,
        final_url: url.clone(),
        hops: vec![Hop { url, status: 200 }],
        redirected_to: None,
        body_bytes: 2048,
        truncated: false,
        page: Box::new(Page {
            encoding: "utf-8".into(),
            title: Some(title.into()),
            meta_site_code: Some(code.into()),
            footer_codes: vec![code.into()],
            mentions: vec![title.into()],
            prohibited_terms: quote.map(|_| vec!["博彩".to_string()]).unwrap_or_default(),
            mentioned: quote
                .map(|text| {
                    vec![Quote {
                        term: "博彩".into(),
                        text: text.into(),
                        host: None,
                    }]
                })
                .unwrap_or_default(),
            ..Page::default()
        }),
        server: None,
        takeover: Vec::new(),
        elapsed_ms: 0,
    })
}

fn observe(store: &Store, host: &Hostname, ip: &str, page: ObservationData) {
    let at = Utc::now() - Duration::minutes(1);
    let address: std::net::IpAddr = ip.parse().expect("address");
    let batch = vec![
        Observation {
            host: host.clone(),
            address: None,
            at,
            data: dns(host, ip),
        },
        Observation {
            host: host.clone(),
            address: Some(address),
            at,
            data: expired_tls(host),
        },
        Observation {
            host: host.clone(),
            address: Some(address),
            at,
            data: page,
        },
    ];
    store
        .record_observations(&batch)
        .expect("observations recorded");
}

/// Two cities of Gansu, a site in each, their homepages observed and
/// judged (each finding opens at its first observation).
fn province(web: &Web) -> Province {
    let mut store = web.api.store().clone();
    add_org(&mut store, "甘肃省政府办公厅", "620000", OrgLevel::Province);
    add_org(
        &mut store,
        "兰州市政府办公室",
        "620100",
        OrgLevel::Prefecture,
    );
    add_org(
        &mut store,
        "天水市政府办公室",
        "620500",
        OrgLevel::Prefecture,
    );
    for (name, org, host, code) in [
        (
            "兰州市人民政府",
            "兰州市政府办公室",
            "www.lanzhou.gov.cn",
            "6201000012",
        ),
        (
            "天水市人民政府",
            "天水市政府办公室",
            "www.tianshui.gov.cn",
            "6205000001",
        ),
    ] {
        store
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
        for step in [
            SiteAction::Approve {
                reference: "甘政办函〔2026〕1号".into(),
            },
            SiteAction::GoLive {
                code: Some(code.parse().expect("code")),
            },
        ] {
            store
                .transition_site(host, &step, &policy(), &Change::now("tester"))
                .expect("site goes live");
        }
    }
    let lanzhou: Hostname = "www.lanzhou.gov.cn".parse().expect("host");
    let tianshui: Hostname = "www.tianshui.gov.cn".parse().expect("host");
    observe(
        &store,
        &lanzhou,
        "10.0.0.1",
        homepage(
            &lanzhou,
            "兰州市人民政府",
            "6201000012",
            Some("坚决抵制网络博彩等违法犯罪活动"),
        ),
    );
    observe(
        &store,
        &tianshui,
        "10.0.1.1",
        homepage(&tianshui, "天水市人民政府", "6205000001", None),
    );
    let mut policy = web.api.app.policy().as_ref().clone();
    policy.confirmation.confirmations = 1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(siteward::app::checks::judge(&web.api.app, &policy))
        .expect("judged");
    let all = store.findings(&[]).expect("findings");
    let find = |subject: &str, kind: FindingKind| {
        all.iter()
            .find(|f| f.subject == subject && f.kind == kind)
            .unwrap_or_else(|| {
                let seen: Vec<String> = all
                    .iter()
                    .map(|f| format!("{} {} {}", f.subject, f.kind, f.status))
                    .collect();
                panic!("a {kind} finding of {subject} among {seen:?}")
            })
            .id
    };
    Province {
        lanzhou_site: store.site("www.lanzhou.gov.cn").expect("site").id,
        lanzhou_cert: find("www.lanzhou.gov.cn", FindingKind::CertExpired),
        lanzhou_term: find("www.lanzhou.gov.cn", FindingKind::ProhibitedTermMentioned),
        tianshui_cert: find("www.tianshui.gov.cn", FindingKind::CertExpired),
    }
}

/// The ids of the findings a list page links to, in order.
fn listed(html: &str) -> Vec<i64> {
    html.match_indices("<a href=\"/findings/")
        .filter_map(|(at, m)| {
            let rest = &html[at + m.len()..];
            let end = rest.find('"')?;
            rest[..end].parse().ok()
        })
        .collect()
}

fn status_of(web: &Web, id: i64) -> FindingStatus {
    web.api
        .store()
        .findings(&[])
        .expect("findings")
        .into_iter()
        .find(|f| f.id == id)
        .expect("the finding")
        .status
}

#[test]
fn the_list_shows_findings_in_chinese_and_each_filter_narrows_it() {
    for db in backends() {
        let web = Web::start(&db);
        let ids = province(&web);
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");

        let page = viewer.get("/findings").expect(200);
        let html = page.text();
        for shown in [
            "<h1>问题</h1>",
            "证书已过期",
            "页面提及违禁词",
            "class=\"tag sev-critical\"",
            "兰州市政府办公室",
            "天水市政府办公室",
            "www.tianshui.gov.cn",
            "待处理",
            &format!("href=\"/sites/{}\"", ids.lanzhou_site),
        ] {
            assert!(html.contains(shown), "{}: no {shown} in {html}", db.backend);
        }
        let all = listed(&html);
        for id in [ids.lanzhou_cert, ids.lanzhou_term, ids.tianshui_cert] {
            assert!(all.contains(&id), "{}: {id} not in {all:?}", db.backend);
        }
        // No filter form of a viewer's is a POST.
        assert!(!html.contains("method=\"post\" action=\"/findings"));

        let narrowed =
            |query: &str| listed(&viewer.get(&format!("/findings?{query}")).expect(200).text());
        let certs = narrowed("kind=cert_expired");
        assert!(certs.contains(&ids.lanzhou_cert) && certs.contains(&ids.tianshui_cert));
        assert!(!certs.contains(&ids.lanzhou_term), "{certs:?}");
        assert_eq!(
            narrowed("kind=prohibited_term_mentioned&severity=info"),
            vec![ids.lanzhou_term]
        );
        let critical = narrowed("severity=critical");
        assert!(critical.contains(&ids.lanzhou_cert) && !critical.contains(&ids.lanzhou_term));
        let tianshui = narrowed(
            "org=%E5%A4%A9%E6%B0%B4%E5%B8%82%E6%94%BF%E5%BA%9C%E5%8A%9E%E5%85%AC%E5%AE%A4",
        );
        assert!(tianshui.contains(&ids.tianshui_cert), "{tianshui:?}");
        assert!(!tianshui.contains(&ids.lanzhou_cert), "{tianshui:?}");
        let city = narrowed("division=6201");
        assert!(city.contains(&ids.lanzhou_cert) && !city.contains(&ids.tianshui_cert));
        assert!(narrowed("status=resolved").is_empty());
        // Empty fields (the form's "all") are no filter.
        assert_eq!(narrowed("kind=&severity=&status=&org=&division="), all);

        // Acknowledged ones stay in the default list; `status` picks.
        web.api
            .store()
            .acknowledge_finding(ids.tianshui_cert, &Change::now("tester"), "更换中")
            .expect("acknowledged");
        assert!(narrowed("").contains(&ids.tianshui_cert));
        assert_eq!(narrowed("status=acknowledged"), vec![ids.tianshui_cert]);
        assert!(!narrowed("status=open").contains(&ids.tianshui_cert));

        // Bad filters: 400 in the API's words.
        for (query, words) in [
            ("kind=broken", "is not a finding kind"),
            ("severity=awful", "must be one of"),
            ("status=closed", "must be one of"),
            ("division=62x", "division code"),
            ("after=abc", "after"),
        ] {
            let reply = viewer.get(&format!("/findings?{query}"));
            assert_eq!(reply.status, 400, "{query}: {}", reply.text());
            assert!(reply.text().contains(words), "{query}: {}", reply.text());
        }
        viewer.get("/findings?org=nobody").expect(404);
    }
}

#[test]
fn the_list_is_read_a_hundred_at_a_time() {
    for db in backends() {
        let web = Web::start(&db);
        let findings: Vec<Finding> = (0..105)
            .map(|i| Finding {
                kind: FindingKind::StaleAddress,
                severity: Severity::Warning,
                subject: format!("a{i}.example.gov.cn"),
                scope: format!("a{i}.example.gov.cn"),
                site_id: None,
                org_id: None,
                summary: "解析指向失效地址".into(),
                action: "删除记录".into(),
                evidence: Vec::new(),
                observed_at: Utc::now(),
            })
            .collect();
        web.api
            .store()
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
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");
        let first = viewer
            .get("/findings?kind=stale_address")
            .expect(200)
            .text();
        let ids = listed(&first);
        assert_eq!(ids.len(), 100);
        let last = ids[99];
        // The next page's link (its `&` escaped).
        let next = format!("after={last}\" rel=\"next\"");
        assert!(first.contains(&next), "{first}");
        let second = viewer
            .get(&format!("/findings?kind=stale_address&after={last}"))
            .expect(200)
            .text();
        let rest = listed(&second);
        assert_eq!(rest.len(), 5);
        assert!(rest.iter().all(|id| *id > last));
        assert!(!second.contains("下一页"));
        assert!(second.contains("第一页"));
    }
}

#[test]
fn a_finding_shows_its_evidence_events_and_suggested_action() {
    for db in backends() {
        let web = Web::start(&db);
        let ids = province(&web);
        web.user("查看员", Role::Viewer);
        let viewer = web.login("查看员");

        let html = viewer
            .get(&format!("/findings/{}", ids.lanzhou_cert))
            .expect(200)
            .text();
        for shown in [
            "证书已过期",
            "<code>cert_expired</code>",
            "兰州市人民政府",
            "兰州市政府办公室",
            "<h2>建议措施</h2>",
            siteward::findings::text::action(FindingKind::CertExpired),
            "<h2>判定依据</h2>",
            "HTTPS 证书",
            // The chain, each certificate with its subject, issuer and
            // validity.
            "证书链",
            "CN=www.lanzhou.gov.cn",
            "CN=甘肃测试根证书",
            "TLSv1.3",
            "10.0.0.1:443",
            "<h2>处理记录</h2>",
            "确认为问题",
            "siteward（系统）",
        ] {
            assert!(html.contains(shown), "{}: no {shown} in {html}", db.backend);
        }
        // Validity in China Standard Time.
        let store = web.api.store();
        let observed = store
            .observations(&"www.lanzhou.gov.cn".parse().expect("host"), None)
            .expect("observations");
        let not_after = observed
            .iter()
            .find_map(|o| match &o.observation.data {
                ObservationData::Tls(tls) => Some(tls.chain[0].not_after),
                _ => None,
            })
            .expect("the chain");
        assert!(html.contains(&siteward::clock::show(not_after)), "{html}");
        // A viewer gets no forms.
        assert!(!html.contains("/ack\""), "{html}");
        assert!(!html.contains("/exception\""), "{html}");

        // The quote on the homepage, its term marked.
        let term = viewer
            .get(&format!("/findings/{}", ids.lanzhou_term))
            .expect(200)
            .text();
        assert!(term.contains("页面提及违禁词"), "{term}");
        assert!(
            term.contains("坚决抵制网络<mark>博彩</mark>等违法犯罪活动"),
            "{term}"
        );
        assert!(term.contains("正文摘录"), "{term}");

        viewer.get("/findings/999999").expect(404);
        viewer.get("/findings/abc").expect(404);
    }
}

#[test]
fn operators_acknowledge_with_a_note_and_add_exceptions() {
    for db in backends() {
        let web = Web::start(&db);
        let ids = province(&web);
        web.user("值守员", Role::Operator);
        let operator = web.login("值守员");
        let page = format!("/findings/{}", ids.lanzhou_cert);
        let html = operator.get(&page).expect(200).text();
        assert!(html.contains(&format!("action=\"/findings/{}/ack\"", ids.lanzhou_cert)));
        assert!(html.contains(&format!(
            "action=\"/findings/{}/exception\"",
            ids.lanzhou_cert
        )));
        assert!(html.contains("<label for=\"ack-note\">"));

        // An empty note is refused in the command line's words.
        let audit = web.api.audit_len();
        let empty = operator.post(&format!("{page}/ack"), &[("note", "  ")]);
        assert_eq!(empty.status, 400, "{}", empty.text());
        assert!(empty.text().contains("note"), "{}", empty.text());
        assert_eq!(status_of(&web, ids.lanzhou_cert), FindingStatus::Open);
        assert_eq!(web.api.audit_len(), audit);

        let done = operator
            .post(&format!("{page}/ack"), &[("note", "已联系服务商更换证书")])
            .expect(303);
        let location = done.headers["location"].to_str().expect("location");
        assert!(location.starts_with(&format!("{page}?msg=")), "{location}");
        assert_eq!(
            status_of(&web, ids.lanzhou_cert),
            FindingStatus::Acknowledged
        );
        let last = web
            .api
            .store()
            .audit(&AuditFilter {
                last: Some(1),
                ..AuditFilter::default()
            })
            .expect("audit");
        let row = last.last().expect("an audit row");
        assert_eq!(row.actor, "值守员");
        assert_eq!(row.actor_source.as_deref(), Some("web user"));
        assert_eq!(row.entity_id, ids.lanzhou_cert);
        let shown = operator.get(location).expect(200).text();
        assert!(shown.contains("class=\"notice\""), "{shown}");
        assert!(shown.contains("已认领"), "{shown}");
        assert!(shown.contains("已联系服务商更换证书"), "{shown}");
        assert!(shown.contains("值守员"), "{shown}");

        // A bad end date: 400 in the command line's words, nothing kept.
        let exceptions = web.api.store().exceptions().expect("exceptions").len();
        let audit = web.api.audit_len();
        let bad = operator.post(
            &format!("{page}/exception"),
            &[("reason", "证书更换中"), ("until", "next week")],
        );
        assert_eq!(bad.status, 400, "{}", bad.text());
        let cli = siteward::clock::parse_deadline("until", "next week")
            .expect_err("no date")
            .to_string();
        assert!(
            bad.text().contains(&html_escaped(&cli)),
            "{cli} in {}",
            bad.text()
        );
        let past = operator.post(
            &format!("{page}/exception"),
            &[("reason", "证书更换中"), ("until", "2020-01-01")],
        );
        assert_eq!(past.status, 400, "{}", past.text());
        assert_eq!(
            web.api.store().exceptions().expect("exceptions").len(),
            exceptions
        );
        assert_eq!(web.api.audit_len(), audit);

        let until = (Utc::now() + Duration::days(20))
            .format("%Y-%m-%d")
            .to_string();
        operator
            .post(
                &format!("{page}/exception"),
                &[("reason", "新证书已申请，待签发"), ("until", &until)],
            )
            .expect(303);
        let added = web.api.store().exceptions().expect("exceptions");
        let record = added.last().expect("the exception");
        assert_eq!(added.len(), exceptions + 1);
        assert_eq!(record.kind, "cert_expired");
        assert_eq!(record.subject, "www.lanzhou.gov.cn");
        assert_eq!(record.reason, "新证书已申请，待签发");
        assert_eq!(record.actor, "值守员");
        assert_eq!(
            siteward::clock::show_date(record.until - Duration::seconds(1)),
            until
        );
        assert_eq!(web.api.audit_len(), audit + 1);
    }
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[test]
fn viewers_and_forged_forms_change_nothing_and_cities_see_only_their_own() {
    for db in backends() {
        let web = Web::start(&db);
        let ids = province(&web);
        web.user("查看员", Role::Viewer);
        web.user("值守员", Role::Operator);
        let viewer = web.login("查看员");
        let operator = web.login("值守员");
        let page = format!("/findings/{}", ids.lanzhou_cert);
        let audit = web.api.audit_len();
        let exceptions = web.api.store().exceptions().expect("exceptions").len();
        let until = (Utc::now() + Duration::days(20))
            .format("%Y-%m-%d")
            .to_string();

        let refused = viewer.post(&format!("{page}/ack"), &[("note", "我来处理")]);
        assert_eq!(refused.status, 403, "{}", refused.text());
        assert!(refused.text().contains("值守"), "{}", refused.text());
        viewer
            .post(
                &format!("{page}/exception"),
                &[("reason", "理由"), ("until", &until)],
            )
            .expect(403);
        // Forged: no token, a wrong one.
        operator
            .post_raw(&format!("{page}/ack"), &[("note", "伪造")])
            .expect(403);
        operator
            .post_raw(
                &format!("{page}/exception"),
                &[("csrf", "wrong"), ("reason", "伪造"), ("until", &until)],
            )
            .expect(403);
        assert_eq!(status_of(&web, ids.lanzhou_cert), FindingStatus::Open);
        assert_eq!(web.api.audit_len(), audit);
        assert_eq!(
            web.api.store().exceptions().expect("exceptions").len(),
            exceptions
        );

        // A person of Lanzhou's office sees Lanzhou's findings only.
        web.scoped_user("兰州值守", Role::Operator, &["兰州市政府办公室"], false);
        let city = web.login("兰州值守");
        let audit = web.api.audit_len();
        let seen = listed(&city.get("/findings?status=all").expect(200).text());
        assert!(seen.contains(&ids.lanzhou_cert) && seen.contains(&ids.lanzhou_term));
        assert!(!seen.contains(&ids.tianshui_cert), "{seen:?}");
        assert!(listed(&city.get("/findings?division=6205").expect(200).text()).is_empty());
        city.get("/findings?org=%E5%A4%A9%E6%B0%B4%E5%B8%82%E6%94%BF%E5%BA%9C%E5%8A%9E%E5%85%AC%E5%AE%A4")
            .expect(404);
        let other = format!("/findings/{}", ids.tianshui_cert);
        city.get(&other).expect(404);
        city.post(&format!("{other}/ack"), &[("note", "不是我的")])
            .expect(404);
        city.post(
            &format!("{other}/exception"),
            &[("reason", "不是我的"), ("until", &until)],
        )
        .expect(404);
        assert_eq!(status_of(&web, ids.tianshui_cert), FindingStatus::Open);
        assert_eq!(web.api.audit_len(), audit);
        // Their own, they may act on.
        city.get(&page).expect(200);
        city.post(&format!("{page}/ack"), &[("note", "兰州处理中")])
            .expect(303);
        assert_eq!(
            status_of(&web, ids.lanzhou_cert),
            FindingStatus::Acknowledged
        );
    }
}

#[test]
fn an_operator_acknowledges_a_finding_in_the_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = crate::support::sqlite();
    let web = Web::start(&db);
    let ids = province(&web);
    web.user("值守员", Role::Operator);
    browser.login(&web, "值守员");
    browser.goto(&web.url("/findings"));
    assert!(browser.text("h1").contains("问题"));
    assert!(browser.text("table.findings").contains("证书已过期"));
    browser.screenshot("findings");

    browser.click(&format!("a[href=\"/findings/{}\"]", ids.lanzhou_cert));
    assert_eq!(browser.path(), format!("/findings/{}", ids.lanzhou_cert));
    assert!(browser.text("main").contains("CN=甘肃测试根证书"));
    browser.fill("#ack-note", "已通知兰州市更换证书");
    browser.click("form[action$=\"/ack\"] button[type=submit]");
    assert!(
        browser
            .path()
            .starts_with(&format!("/findings/{}?msg=", ids.lanzhou_cert))
    );
    assert!(browser.text(".notice").contains("已认领"));
    assert!(browser.text("dl.facts").contains("已通知兰州市更换证书"));
    browser.screenshot("finding");
    assert_eq!(
        status_of(&web, ids.lanzhou_cert),
        FindingStatus::Acknowledged
    );
}
