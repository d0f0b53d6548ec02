//! Findings, exceptions, observations, runs and discovered host names
//! through the API: lists with their filters and pages, a finding with
//! its events, acknowledgements and exceptions by role (and refused
//! input changing nothing), observations as of a time, a check asked for
//! (recorded for the daemon's scheduler, refused while one runs), and a
//! city's token seeing none of another city's findings.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use siteward::access::Role;
use siteward::findings::{Evaluation, Finding, FindingKind, Severity};
use siteward::jobs::{Job, RunStatus};
use siteward::store::Run;

use super::Api;
use super::core::two_cities;
use crate::support::backends;

/// The ids of what `two_cities` made.
struct Ids {
    lanzhou_org: i64,
    tianshui_org: i64,
    lanzhou_site: i64,
}

fn ids(api: &Api) -> Ids {
    let store = api.store();
    Ids {
        lanzhou_org: store.org("兰州市政府办公室").expect("org").id,
        tianshui_org: store.org("天水市政府办公室").expect("org").id,
        lanzhou_site: store.site("www.lanzhou.gov.cn").expect("site").id,
    }
}

fn finding(
    kind: FindingKind,
    severity: Severity,
    subject: &str,
    site_id: Option<i64>,
    org_id: Option<i64>,
) -> Finding {
    Finding {
        kind,
        severity,
        subject: subject.into(),
        scope: subject.into(),
        site_id,
        org_id,
        summary: format!("{subject} 有问题"),
        action: "请处理".into(),
        evidence: vec![siteward::findings::Evidence::new(
            subject,
            "dns",
            "nxdomain",
            "测试".into(),
        )],
        observed_at: Utc::now(),
    }
}

/// Two cities with findings, opened at once (one confirmation):
/// Lanzhou's organization's dangling name, its site's expired
/// certificate (the finding names the site only), five more of
/// Lanzhou's for paging, Tianshui's dangling name, and a wildcard of no
/// organization. Returns the ids by subject.
fn province_with_findings(api: &Api) -> (Ids, std::collections::BTreeMap<String, i64>) {
    two_cities(api);
    let ids = ids(api);
    let mut findings = vec![
        finding(
            FindingKind::DanglingCname,
            Severity::Critical,
            "old.lanzhou.gov.cn",
            None,
            Some(ids.lanzhou_org),
        ),
        finding(
            FindingKind::CertExpired,
            Severity::Warning,
            "www.lanzhou.gov.cn",
            Some(ids.lanzhou_site),
            None,
        ),
        finding(
            FindingKind::DanglingCname,
            Severity::Critical,
            "old.tianshui.gov.cn",
            None,
            Some(ids.tianshui_org),
        ),
        finding(
            FindingKind::WildcardRecord,
            Severity::Info,
            "gansu.gov.cn",
            None,
            None,
        ),
    ];
    for i in 0..5 {
        findings.push(finding(
            FindingKind::StaleAddress,
            Severity::Warning,
            &format!("a{i}.lanzhou.gov.cn"),
            None,
            Some(ids.lanzhou_org),
        ));
    }
    let evaluation = Evaluation {
        findings,
        measured: Default::default(),
        unjudged: Default::default(),
        failures: Vec::new(),
        ipv6_works: true,
    };
    api.store()
        .record_evaluation(&evaluation, 1, &api.app.alerting(), Utc::now())
        .expect("findings recorded");
    let by_subject = api
        .store()
        .findings(&[])
        .expect("findings")
        .into_iter()
        .map(|f| (f.subject, f.id))
        .collect();
    (ids, by_subject)
}

fn subjects(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["subject"].as_str().expect("subject").to_string())
        .collect()
}

fn body(json: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", json.to_string().into_bytes()))
}

#[test]
fn findings_list_with_filters_and_pages_as_the_command_line_shows_them() {
    for db in backends() {
        let api = Api::start(&db);
        let (_, by_subject) = province_with_findings(&api);
        let token = api.token("reader", Role::Viewer);

        let all = api.get("/api/v1/findings", &token).expect(200).json();
        assert_eq!(subjects(&all).len(), 9, "{}: {all}", db.backend);
        assert_eq!(all["next_cursor"], Value::Null);
        // Each item is what `findings --json` prints for it.
        let names = siteward::app::findings::names(api.store()).expect("names");
        for stored in api.store().findings(&[]).expect("findings") {
            let item = all["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|i| i["id"] == json!(stored.id))
                .expect("listed");
            assert_eq!(item, &siteward::output::finding_json(&stored, &names));
        }
        let cert = &all["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["kind"] == "cert_expired")
            .expect("cert")
            .clone();
        assert_eq!(cert["site"]["name"], "兰州市人民政府");
        assert_eq!(cert["status"], "open");
        assert_eq!(cert["evidence"][0]["outcome"], "nxdomain");

        let get = |query: &str| {
            subjects(
                &api.get(&format!("/api/v1/findings?{query}"), &token)
                    .expect(200)
                    .json(),
            )
        };
        assert_eq!(
            get("kind=dangling_cname"),
            vec!["old.lanzhou.gov.cn", "old.tianshui.gov.cn"]
        );
        assert_eq!(get("severity=info"), vec!["gansu.gov.cn"]);
        assert_eq!(get("site=www.lanzhou.gov.cn"), vec!["www.lanzhou.gov.cn"]);
        // An organization's findings: its own, and its site's.
        let lanzhou = get("org=兰州市政府办公室");
        assert_eq!(lanzhou.len(), 7, "{lanzhou:?}");
        assert!(lanzhou.contains(&"www.lanzhou.gov.cn".to_string()));
        assert_eq!(get("division=6205"), vec!["old.tianshui.gov.cn"]);
        assert_eq!(get("division=62").len(), 8);
        assert_eq!(get("status=pending"), Vec::<String>::new());
        assert_eq!(get("status=all").len(), 9);
        assert_eq!(
            get("status=open&kind=stale_address&severity=warning").len(),
            5
        );

        // Pages follow one another without gaps or repeats.
        let mut seen = Vec::new();
        let mut path = "/api/v1/findings?limit=4".to_string();
        loop {
            let page = api.get(&path, &token).expect(200).json();
            let items = subjects(&page);
            assert!(items.len() <= 4);
            seen.extend(items);
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/findings?limit=4&cursor={cursor}"),
                None => break,
            }
        }
        let mut expected: Vec<(i64, String)> =
            by_subject.iter().map(|(s, id)| (*id, s.clone())).collect();
        expected.sort();
        assert_eq!(
            seen,
            expected.into_iter().map(|(_, s)| s).collect::<Vec<_>>()
        );

        for bad in [
            "status=bogus",
            "kind=bogus",
            "severity=fatal",
            "division=62a",
            "division=1234567",
            "limit=0",
            "cursor=zzz",
        ] {
            let reply = api
                .get(&format!("/api/v1/findings?{bad}"), &token)
                .expect(400);
            let field = bad.split('=').next().expect("field");
            assert_eq!(reply.json()["field"], field, "{bad}: {}", reply.text());
        }
        api.get("/api/v1/findings?site=www.nowhere.gov.cn", &token)
            .expect(404);
        api.get("/api/v1/findings?org=nobody", &token).expect(404);
        api.send("GET", "/api/v1/findings", None, None).expect(401);
    }
}

#[test]
fn a_finding_with_its_events_and_its_acknowledgement_by_role() {
    for db in backends() {
        let api = Api::start(&db);
        let (_, by_subject) = province_with_findings(&api);
        let viewer = api.token("viewer", Role::Viewer);
        let operator = api.token("值班员", Role::Operator);
        let admin = api.token("admin", Role::Admin);
        let id = by_subject["old.lanzhou.gov.cn"];

        let detail = api
            .get(&format!("/api/v1/findings/{id}"), &viewer)
            .expect(200)
            .json();
        assert_eq!(detail["subject"], "old.lanzhou.gov.cn");
        assert!(detail["opened_at"].is_string(), "{detail}");
        assert_eq!(detail["events"][0]["change"], "opened", "{detail}");
        let (stored, events) = api.store().finding_with_events(id).expect("finding");
        let names = siteward::app::findings::names(api.store()).expect("names");
        assert_eq!(
            detail,
            siteward::output::finding_detail_json(&stored, &events, &names)
        );
        api.get("/api/v1/findings/999999", &viewer).expect(404);
        api.get("/api/v1/findings/abc", &viewer).expect(400);

        let path = format!("/api/v1/findings/{id}/ack");
        let note = json!({"note": "已通知兰州市删除该记录"});
        api.send("POST", &path, None, body(note.clone()))
            .expect(401);
        let audit = api.audit_len();
        let refused = api.post(&path, &viewer, &note).expect(403);
        assert!(refused.text().contains("operator"), "{}", refused.text());
        // Refused input: a direction override, an empty note, an unknown
        // field, no body at all. Nothing changes.
        for bad in [
            json!({"note": "正在处理\u{202E}txt.exe"}),
            json!({"note": "  "}),
            json!({"note": "x", "by": "someone"}),
            json!({}),
        ] {
            let reply = api.post(&path, &operator, &bad).expect(400);
            assert!(reply.json()["error"].is_string(), "{bad}");
        }
        let reply = api
            .post(&path, &operator, &json!({"note": "a\u{202E}b"}))
            .expect(400)
            .json();
        assert_eq!(reply["field"], "note");
        assert_eq!(api.audit_len(), audit);
        assert_eq!(
            api.store()
                .finding_with_events(id)
                .expect("finding")
                .0
                .status,
            siteward::findings::FindingStatus::Open
        );

        let acked = api.post(&path, &operator, &note).expect(200).json();
        assert_eq!(acked["status"], "acknowledged");
        assert_eq!(acked["ack"]["actor"], "值班员");
        assert_eq!(acked["ack"]["note"], "已通知兰州市删除该记录");
        assert_eq!(api.audit_len(), audit + 1);
        let detail = api
            .get(&format!("/api/v1/findings/{id}"), &viewer)
            .expect(200)
            .json();
        let last = detail["events"]
            .as_array()
            .and_then(|e| e.last())
            .expect("events")
            .clone();
        assert_eq!(last["change"], "acknowledged");
        assert_eq!(last["actor"], "值班员");
        // The audit trail names the token as the actor.
        let trail = api
            .store()
            .audit(&siteward::store::AuditFilter::default())
            .expect("audit");
        assert_eq!(trail.last().map(|e| e.actor.as_str()), Some("值班员"));

        // An admin acknowledges too.
        let other = by_subject["www.lanzhou.gov.cn"];
        api.post(
            &format!("/api/v1/findings/{other}/ack"),
            &admin,
            &json!({"note": "证书续期中"}),
        )
        .expect(200);
        api.post(
            "/api/v1/findings/999999/ack",
            &operator,
            &json!({"note": "x"}),
        )
        .expect(404);
        let acked = api
            .get("/api/v1/findings?status=acknowledged", &viewer)
            .expect(200)
            .json();
        assert_eq!(subjects(&acked).len(), 2);
    }
}

#[test]
fn a_token_scoped_to_one_city_sees_none_of_another_citys_findings() {
    for db in backends() {
        let api = Api::start(&db);
        let (_, by_subject) = province_with_findings(&api);
        let lanzhou = api.scoped_token("兰州", Role::Operator, &["兰州市政府办公室"], false);
        let page = api
            .get("/api/v1/findings?status=all", &lanzhou)
            .expect(200)
            .json();
        let seen = subjects(&page);
        assert_eq!(seen.len(), 7, "{}: {seen:?}", db.backend);
        assert!(
            seen.iter().all(|s| s.ends_with("lanzhou.gov.cn")),
            "{seen:?}"
        );
        // Filters narrow within what the token sees, never beyond.
        let none = api
            .get("/api/v1/findings?division=6205", &lanzhou)
            .expect(200)
            .json();
        assert_eq!(none["items"], json!([]));
        api.get("/api/v1/findings?org=天水市政府办公室", &lanzhou)
            .expect(404);
        api.get("/api/v1/findings?site=www.tianshui.gov.cn", &lanzhou)
            .expect(404);

        let audit = api.audit_len();
        for subject in ["old.tianshui.gov.cn", "gansu.gov.cn"] {
            let id = by_subject[subject];
            let hidden = api
                .get(&format!("/api/v1/findings/{id}"), &lanzhou)
                .expect(404)
                .json();
            let missing = api
                .get("/api/v1/findings/999999", &lanzhou)
                .expect(404)
                .json();
            assert_eq!(
                hidden["error"]
                    .as_str()
                    .map(|e| e.replace(&id.to_string(), "N")),
                missing["error"].as_str().map(|e| e.replace("999999", "N"))
            );
            api.post(
                &format!("/api/v1/findings/{id}/ack"),
                &lanzhou,
                &json!({"note": "不是我们的"}),
            )
            .expect(404);
        }
        assert_eq!(api.audit_len(), audit);
        // Its own site's finding (which names only the site) it sees.
        let own = by_subject["www.lanzhou.gov.cn"];
        api.get(&format!("/api/v1/findings/{own}"), &lanzhou)
            .expect(200);
    }
}

#[test]
fn exceptions_are_added_listed_and_ended_by_operators() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let viewer = api.token("viewer", Role::Viewer);
        let operator = api.token("operator", Role::Operator);
        let admin = api.token("admin", Role::Admin);
        let until = (Utc::now() + Duration::days(30)).to_rfc3339();
        let new = |subject: &str| {
            json!({
                "kind": "ipv6_missing",
                "subject": subject,
                "reason": "IPv6 改造排期至明年",
                "until": until,
            })
        };

        api.send(
            "POST",
            "/api/v1/exceptions",
            None,
            body(new("www.lanzhou.gov.cn")),
        )
        .expect(401);
        let audit = api.audit_len();
        api.post("/api/v1/exceptions", &viewer, &new("www.lanzhou.gov.cn"))
            .expect(403);
        let past = (Utc::now() - Duration::days(1)).to_rfc3339();
        let far = (Utc::now() + Duration::days(900)).to_rfc3339();
        for (bad, field) in [
            (
                json!({"kind": "bogus", "subject": "www.lanzhou.gov.cn", "reason": "r", "until": until}),
                "kind",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "www.lanzhou.gov.cn", "reason": "r", "until": past}),
                "until",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "www.lanzhou.gov.cn", "reason": "r", "until": far}),
                "until",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "www.lanzhou.gov.cn", "reason": "r", "until": "tomorrow"}),
                "until",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "www.lanzhou.gov.cn", "reason": "原因\u{202E}", "until": until}),
                "reason",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "www.lanzhou.gov.cn", "reason": " ", "until": until}),
                "reason",
            ),
            (
                json!({"kind": "ipv6_missing", "subject": "a\u{202E}b", "reason": "r", "until": until}),
                "subject",
            ),
        ] {
            let reply = api.post("/api/v1/exceptions", &operator, &bad).expect(400);
            assert_eq!(reply.json()["field"], field, "{bad}: {}", reply.text());
        }
        let unknown = new("www.lanzhou.gov.cn")
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("site".into(), json!(1));
                Value::Object(o)
            })
            .expect("object");
        api.post("/api/v1/exceptions", &operator, &unknown)
            .expect(400);
        assert_eq!(api.audit_len(), audit);
        assert!(api.store().exceptions().expect("exceptions").is_empty());

        let lanzhou = api
            .post("/api/v1/exceptions", &operator, &new("WWW.Lanzhou.gov.cn"))
            .expect(201)
            .json();
        assert_eq!(lanzhou["subject"], "www.lanzhou.gov.cn");
        assert_eq!(lanzhou["actor"], "operator");
        let tianshui = api
            .post("/api/v1/exceptions", &admin, &new("www.tianshui.gov.cn"))
            .expect(201)
            .json();
        assert_eq!(api.audit_len(), audit + 2);
        let listed = api.get("/api/v1/exceptions", &viewer).expect(200).json();
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(listed["items"][0], lanzhou);

        // A city's token sees, adds and ends only its own sites' ones.
        let city = api.scoped_token("兰州", Role::Operator, &["兰州市政府办公室"], false);
        let seen = api.get("/api/v1/exceptions", &city).expect(200).json();
        assert_eq!(seen["items"], json!([lanzhou]));
        api.post("/api/v1/exceptions", &city, &new("www.tianshui.gov.cn"))
            .expect(403);
        let end = |id: &Value| format!("/api/v1/exceptions/{id}/end");
        api.post(&end(&tianshui["id"]), &city, &json!({"reason": "x"}))
            .expect(404);

        let audit = api.audit_len();
        api.post(
            &end(&lanzhou["id"]),
            &viewer,
            &json!({"reason": "已完成改造"}),
        )
        .expect(403);
        api.post(
            &end(&lanzhou["id"]),
            &operator,
            &json!({"reason": "\u{202E}"}),
        )
        .expect(400);
        api.post(&end(&lanzhou["id"]), &operator, &json!({"reason": ""}))
            .expect(400);
        api.post(&end(&json!(999999)), &operator, &json!({"reason": "x"}))
            .expect(404);
        assert_eq!(api.audit_len(), audit);
        let ended = api
            .post(
                &end(&lanzhou["id"]),
                &city,
                &json!({"reason": "已完成改造"}),
            )
            .expect(200)
            .json();
        assert_ne!(ended["until"], lanzhou["until"]);
        let again = api
            .post(&end(&lanzhou["id"]), &operator, &json!({"reason": "再次"}))
            .expect(409)
            .json();
        assert_eq!(again["current"], "ended");
        api.post(&end(&tianshui["id"]), &admin, &json!({"reason": "撤销"}))
            .expect(200);
        assert_eq!(api.audit_len(), audit + 2);
    }
}

fn dns(host: &str, ip: &str, at: chrono::DateTime<Utc>) -> siteward::probe::Observation {
    use siteward::probe::dns::{DnsOutcome, DnsRecord, HostDns};
    let host: siteward::registry::Hostname = host.parse().expect("host");
    siteward::probe::Observation {
        data: siteward::probe::ObservationData::Dns(HostDns {
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
        }),
        host,
        address: None,
        at,
    }
}

#[test]
fn observations_as_of_a_time() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let then = Utc::now() - Duration::hours(3);
        let later = Utc::now() - Duration::hours(1);
        for (host, ip, at) in [
            ("www.lanzhou.gov.cn", "10.0.0.1", then),
            ("www.lanzhou.gov.cn", "10.0.0.2", later),
            ("www.tianshui.gov.cn", "10.0.1.1", then),
        ] {
            api.store()
                .record_observations(&[dns(host, ip, at)])
                .expect("recorded");
        }
        let token = api.token("reader", Role::Viewer);
        let address =
            |reply: &Value| reply["observations"][0]["data"]["a"]["records"][0]["value"].clone();

        let now = api
            .get("/api/v1/observations/www.lanzhou.gov.cn", &token)
            .expect(200)
            .json();
        assert_eq!(now["host"], "www.lanzhou.gov.cn");
        assert_eq!(now["observations"].as_array().map(Vec::len), Some(1));
        assert_eq!(now["observations"][0]["kind"], "dns");
        assert_eq!(address(&now), "10.0.0.2", "{now}");
        let between = (then + Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%SZ");
        let earlier = api
            .get(
                &format!("/api/v1/observations/www.lanzhou.gov.cn?at={between}"),
                &token,
            )
            .expect(200)
            .json();
        assert_eq!(address(&earlier), "10.0.0.1", "{earlier}");
        let before = (then - Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
        let none = api
            .get(
                &format!("/api/v1/observations/www.lanzhou.gov.cn?at={before}"),
                &token,
            )
            .expect(200)
            .json();
        assert_eq!(none["observations"], json!([]));
        // A URL is a host name too.
        api.get(
            "/api/v1/observations/https%3A%2F%2Fwww.lanzhou.gov.cn%2F",
            &token,
        )
        .expect(200);
        for bad in [
            "/api/v1/observations/www.lanzhou.gov.cn?at=yesterday",
            "/api/v1/observations/not%20a%20host",
        ] {
            api.get(bad, &token).expect(400);
        }

        // A city's token: its own sites' host names only.
        let city = api.scoped_token("兰州", Role::Viewer, &["兰州市政府办公室"], false);
        api.get("/api/v1/observations/www.lanzhou.gov.cn", &city)
            .expect(200);
        api.get("/api/v1/observations/www.tianshui.gov.cn", &city)
            .expect(404);
        api.get("/api/v1/observations/www.nowhere.gov.cn", &city)
            .expect(404);
    }
}

fn finished(api: &Api, job: Job, status: RunStatus) -> i64 {
    let mut run = Run::start(job, None);
    run.id = api.store().start_run(&run).expect("run");
    run.status = status;
    run.hosts = 3;
    run.failures = vec![siteward::findings::MeasurementFailure {
        scope: "www.tianshui.gov.cn".into(),
        reason: "timeout".into(),
    }];
    api.store().finish_run(&run).expect("finished");
    run.id
}

#[test]
fn runs_are_listed_and_a_check_asked_for_is_left_to_the_scheduler() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let viewer = api.token("viewer", Role::Viewer);
        let operator = api.token("operator", Role::Operator);
        let admin = api.token("admin", Role::Admin);
        let first = finished(&api, Job::Probe, RunStatus::Ok);
        let feeds = finished(&api, Job::Feeds, RunStatus::Ok);
        let third = finished(&api, Job::Probe, RunStatus::MeasurementFailed);

        let all = api.get("/api/v1/runs", &viewer).expect(200).json();
        let ids: Vec<i64> = all["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .collect();
        assert_eq!(ids, vec![third, feeds, first], "newest first");
        assert_eq!(all["items"][0]["status"], "measurement_failed");
        assert_eq!(
            all["items"][0]["failures"][0]["scope"],
            "www.tianshui.gov.cn"
        );
        let probes = api
            .get("/api/v1/runs?job=probe&limit=1", &viewer)
            .expect(200)
            .json();
        assert_eq!(probes["items"][0]["id"], json!(third));
        let cursor = probes["next_cursor"].as_str().expect("a next page");
        let next = api
            .get(
                &format!("/api/v1/runs?job=probe&limit=1&cursor={cursor}"),
                &viewer,
            )
            .expect(200)
            .json();
        assert_eq!(next["items"][0]["id"], json!(first));
        assert_eq!(next["next_cursor"], Value::Null);
        api.get("/api/v1/runs?job=nap", &viewer).expect(400);
        // A city's token reads the runs, not other cities' failures.
        let city = api.scoped_token("兰州", Role::Viewer, &["兰州市政府办公室"], false);
        let scoped = api.get("/api/v1/runs", &city).expect(200).json();
        assert_eq!(scoped["items"][0]["failures"], json!([]));

        // Nothing in progress, and no daemon has stored a schedule yet.
        let current = api.get("/api/v1/runs/current", &viewer).expect(200).json();
        assert_eq!(current["running"], json!([]));

        // Asking for a check records it for whichever daemon looks first.
        api.send("POST", "/api/v1/runs", None, body(json!({"job": "probe"})))
            .expect(401);
        api.post("/api/v1/runs", &viewer, &json!({"job": "probe"}))
            .expect(403);
        for bad in [
            json!({"job": "nap"}),
            json!({"job": "confirm"}),
            json!({"job": "probe", "now": true}),
            json!({}),
        ] {
            api.post("/api/v1/runs", &operator, &bad).expect(400);
        }
        assert!(api.store().schedules().expect("schedules").is_empty());
        let asked = api
            .post("/api/v1/runs", &operator, &json!({"job": "probe"}))
            .expect(202)
            .json();
        assert_eq!(asked["job"], "probe");
        assert_eq!(asked["schedule"]["expression"], "*/15 * * * *");
        assert_eq!(asked["daemons_alive"], 0);
        let stored = api.store().schedules().expect("schedules");
        let probe = stored.iter().find(|s| s.job == Job::Probe).expect("stored");
        assert!(probe.next_at <= Utc::now(), "{probe:?}");
        let current = api.get("/api/v1/runs/current", &viewer).expect(200).json();
        assert_eq!(current["schedules"][0]["job"], "probe");

        // While a probe run is in progress, another is refused, naming it.
        let mut running = Run::start(Job::Probe, None);
        running.id = api.store().start_run(&running).expect("run");
        let refused = api
            .post("/api/v1/runs", &admin, &json!({"job": "probe"}))
            .expect(409);
        assert!(
            refused.text().contains(&format!("run {}", running.id)),
            "{}",
            refused.text()
        );
        let current = api.get("/api/v1/runs/current", &viewer).expect(200).json();
        assert_eq!(current["running"][0]["run"], json!(running.id));
        assert_eq!(current["running"][0]["job"], "probe");
        // Another job is not held up by it.
        api.post("/api/v1/runs", &admin, &json!({"job": "feeds"}))
            .expect(202);
    }
}

#[test]
fn discovered_host_names_with_their_sources() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let hosts: Vec<siteward::registry::Hostname> = [
            "zwfw.lanzhou.gov.cn",
            "data.gansu.gov.cn",
            "www.example.com",
        ]
        .iter()
        .map(|h| h.parse().expect("host"))
        .collect();
        api.store()
            .discover(
                &hosts,
                &siteward::probe::zone::DiscoverySource::Axfr("gansu.gov.cn".into()),
                Utc::now(),
            )
            .expect("discovered");
        let token = api.token("reader", Role::Viewer);
        let first = api
            .get("/api/v1/discovered?limit=2", &token)
            .expect(200)
            .json();
        assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(first["items"][0]["hostname"], "zwfw.lanzhou.gov.cn");
        assert_eq!(first["items"][0]["source"], "axfr:gansu.gov.cn");
        let cursor = first["next_cursor"].as_str().expect("next");
        let rest = api
            .get(
                &format!("/api/v1/discovered?limit=2&cursor={cursor}"),
                &token,
            )
            .expect(200)
            .json();
        assert_eq!(rest["items"][0]["hostname"], "www.example.com");
        assert_eq!(rest["items"][0]["managed"], json!(false), "{rest}");
        assert_eq!(rest["next_cursor"], Value::Null);
        // What `discover --list --json` prints, item for item.
        let found =
            siteward::app::discovery::discovered(api.store(), &api.app.policy()).expect("found");
        assert_eq!(
            first["items"][1],
            siteward::output::discovered_json(&found[1])
        );
        // They belong to no organization: a city's token lists none.
        let city = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        let none = api.get("/api/v1/discovered", &city).expect(200).json();
        assert_eq!(none["items"], json!([]));
    }
}

/// A real daemon (`siteward serve`) over the simulated province claims
/// the check the API asked for at its next tick, as any scheduled fire:
/// the run is recorded for the requested time and ends, and the job's
/// schedule moves on.
#[test]
fn a_daemon_runs_the_check_the_api_asked_for() {
    use crate::daemon::{Daemon, wait_for};
    let runtime = crate::scenario::runtime();
    let region = runtime
        .block_on(siteward::sim::region::Region::start())
        .expect("region starts");
    let db = crate::support::sqlite();
    let watch = crate::scenario::watch(&region, &db.url);
    let store = db.open();
    siteward::sim::region::register(&store, &watch.policy).expect("registered");
    let daemon = Daemon::start(&watch, &[], &[]);
    daemon.wait_until_serving();
    // The daemon stored its schedules; none fires for minutes.
    let scheduled = wait_for(std::time::Duration::from_secs(30), &daemon, || {
        store
            .schedules()
            .expect("schedules")
            .into_iter()
            .find(|s| s.job == Job::Probe)
    });
    assert!(scheduled.next_at > Utc::now(), "{scheduled:?}");
    assert!(store.runs(Some(Job::Probe), 10).expect("runs").is_empty());

    let api = Api::with_config(watch.config.clone());
    let operator = api.token("operator", Role::Operator);
    let asked = api
        .post("/api/v1/runs", &operator, &json!({"job": "probe"}))
        .expect(202)
        .json();
    assert_eq!(
        asked["schedule"]["expression"],
        scheduled.expression.as_str()
    );
    let run = wait_for(std::time::Duration::from_secs(120), &daemon, || {
        store
            .runs(Some(Job::Probe), 10)
            .expect("runs")
            .into_iter()
            .find(|r| r.status != RunStatus::Running)
    });
    assert_eq!(run.status, RunStatus::Ok, "{run:?}");
    assert!(
        run.fire_at.is_some_and(|at| at < scheduled.next_at),
        "{run:?}"
    );
    assert_eq!(store.runs(Some(Job::Probe), 10).expect("runs").len(), 1);
    let moved = store
        .schedules()
        .expect("schedules")
        .into_iter()
        .find(|s| s.job == Job::Probe)
        .expect("schedule");
    assert!(moved.next_at > Utc::now(), "{moved:?}");
    let listed = api
        .get("/api/v1/runs?job=probe", &operator)
        .expect(200)
        .json();
    assert_eq!(listed["items"][0]["id"], json!(run.id));
    assert_eq!(listed["items"][0]["status"], "ok");
}
