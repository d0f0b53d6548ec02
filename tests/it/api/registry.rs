//! The registry over HTTP: sites (listed with filters, requested, taken
//! from request to retirement, edited), organizations, accounts and their
//! posts, and the audit trail; refused input (400) changes nothing, a
//! forbidden transition is 409, each mutation answers 401/403 by role,
//! and a token limited to one city sees nothing of another.

use serde_json::{Value, json};
use siteward::access::Role;
use siteward::store::{Change, NewAccount};

use super::Api;
use super::core::two_cities;
use crate::support::{Siteward, backends, sqlite};

/// The items of a page.
fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

/// A field of each item of a page, as text.
fn names(page: &Value, field: &str) -> Vec<String> {
    items(page)
        .iter()
        .map(|i| match &i[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// An account of each city.
fn accounts(api: &Api) {
    for (handle, name, org) in [
        ("lanzhoufabu", "兰州发布", "兰州市政府办公室"),
        ("tianshuifabu", "天水发布", "天水市政府办公室"),
    ] {
        api.store()
            .add_account(
                &NewAccount {
                    platform: siteward::registry::Platform::Weibo,
                    account_id: handle.into(),
                    name: name.into(),
                    org: org.into(),
                    feed_url: None,
                },
                &Change::now("tester"),
            )
            .expect("account added");
    }
}

/// Every site as the store has it, for "nothing changed".
fn registry(api: &Api) -> Value {
    let sites = api
        .store()
        .sites(&siteward::store::SiteFilter::default())
        .expect("sites");
    Value::Array(sites.iter().map(siteward::output::site_json).collect())
}

#[test]
fn every_registry_route_answers_its_success_path() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        accounts(&api);
        let admin = api.token("管理员", Role::Admin);
        let operator = api.token("值班员", Role::Operator);

        // Organizations: added, listed, shown with their sites, corrected.
        let webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key-1";
        let added = api
            .post(
                "/api/v1/orgs",
                &admin,
                &json!({"name": "城关区政府办公室", "division": "620102", "level": "county",
                        "parent": "兰州市政府办公室", "emails": ["ops@chengguan.gov.cn"],
                        "webhooks": [webhook]}),
            )
            .expect(201)
            .json();
        assert_eq!(added["parent"], "兰州市政府办公室", "{}", db.backend);
        assert!(!added.to_string().contains("secret-key-1"), "{added}");
        let listed = api.get("/api/v1/orgs", &admin).expect(200).json();
        assert_eq!(items(&listed).len(), 4);
        assert!(!listed.to_string().contains("secret-key-1"));
        let shown = api
            .get("/api/v1/orgs/兰州市政府办公室", &admin)
            .expect(200)
            .json();
        assert_eq!(
            names(&json!({"items": shown["sites"]}), "name"),
            ["兰州市人民政府"]
        );
        assert_eq!(
            names(&json!({"items": shown["accounts"]}), "account_id"),
            ["lanzhoufabu"]
        );
        let id = added["id"].as_i64().expect("id");
        let edited = api
            .patch(
                &format!("/api/v1/orgs/{id}"),
                &admin,
                &json!({"add_emails": ["duty@chengguan.gov.cn"], "reason": "值班邮箱"}),
            )
            .expect(200)
            .json();
        assert_eq!(
            edited["emails"],
            json!(["ops@chengguan.gov.cn", "duty@chengguan.gov.cn"])
        );

        // Accounts: added, listed with filters, read, corrected, taken
        // through their lifecycle, their posts recorded.
        let account = api
            .post(
                "/api/v1/accounts",
                &admin,
                &json!({"platform": "抖音", "account_id": "chengguan", "name": "城关发布",
                        "org": "城关区政府办公室"}),
            )
            .expect(201)
            .json();
        assert_eq!(account["platform"], "douyin");
        assert_eq!(account["status"], "active");
        let of_org = api
            .get("/api/v1/accounts?org=城关区政府办公室", &admin)
            .expect(200)
            .json();
        assert_eq!(names(&of_org, "account_id"), ["chengguan"]);
        api.get("/api/v1/accounts/douyin:chengguan", &admin)
            .expect(200);
        let renamed = api
            .patch(
                "/api/v1/accounts/douyin:chengguan",
                &admin,
                &json!({"name": "城关区发布", "feed_url": "https://chengguan.gov.cn/feed.xml"}),
            )
            .expect(200)
            .json();
        assert_eq!(renamed["name"], "城关区发布");
        assert_eq!(renamed["feed_url"], "https://chengguan.gov.cn/feed.xml");
        let posted = api
            .post(
                "/api/v1/accounts/douyin:chengguan/posts",
                &operator,
                &json!({"at": "2026-11-30T02:00:00Z"}),
            )
            .expect(200)
            .json();
        assert_eq!(posted["last_post_at"], "2026-11-30T02:00:00Z");
        let suspended = api
            .post(
                "/api/v1/accounts/douyin:chengguan/suspend",
                &admin,
                &json!({"reason": "整改"}),
            )
            .expect(200)
            .json();
        assert_eq!(suspended["status"], "suspended");
        let by_status = api
            .get("/api/v1/accounts?status=suspended", &admin)
            .expect(200)
            .json();
        assert_eq!(names(&by_status, "account_id"), ["chengguan"]);
        api.post(
            "/api/v1/accounts/douyin:chengguan/resume",
            &admin,
            &json!({}),
        )
        .expect(200);
        let closed = api
            .post(
                "/api/v1/accounts/douyin:chengguan/close",
                &admin,
                &json!({"reason": "合并"}),
            )
            .expect(200)
            .json();
        assert_eq!(closed["status"], "closed");

        // Sites: the list's filters.
        let by = |query: &str| {
            names(
                &api.get(&format!("/api/v1/sites?{query}"), &admin)
                    .expect(200)
                    .json(),
                "name",
            )
        };
        assert_eq!(by("org=兰州市政府办公室"), ["兰州市人民政府"]);
        assert_eq!(by("division=6205"), ["天水市人民政府"]);
        assert_eq!(by("division=62").len(), 2);
        assert_eq!(by("q=TIANSHUI"), ["天水市人民政府"]);
        assert_eq!(by("q=兰州"), ["兰州市人民政府"]);
        assert_eq!(by("kind=portal&status=requested").len(), 2);
        assert_eq!(by("status=live"), Vec::<String>::new());
        assert_eq!(by("open_findings=false").len(), 2);
        assert_eq!(by("open_findings=true"), Vec::<String>::new());
        assert_eq!(by("q=%25"), Vec::<String>::new(), "a LIKE wildcard is text");

        // The audit trail: this token's changes, and one site's rows.
        let mine = api
            .get("/api/v1/audit?actor=管理员", &admin)
            .expect(200)
            .json();
        // Two organization changes, five account changes (the post was
        // the operator's).
        assert_eq!(items(&mine).len(), 7, "{mine}");
        assert!(
            items(&mine)
                .iter()
                .all(|r| r["actor"] == "管理员" && r["actor_source"] == "api token"),
            "{mine}"
        );
        let of_site = api
            .get("/api/v1/audit?site=www.lanzhou.gov.cn", &admin)
            .expect(200)
            .json();
        assert_eq!(names(&of_site, "action"), ["request"]);
        let later = api
            .get("/api/v1/audit?from=2099-01-01T00:00:00Z", &admin)
            .expect(200)
            .json();
        assert_eq!(items(&later), Vec::<Value>::new());
        let paged = api.get("/api/v1/audit?limit=2", &admin).expect(200).json();
        let cursor = paged["next_cursor"].as_str().expect("more rows");
        let next = api
            .get(&format!("/api/v1/audit?limit=2&cursor={cursor}"), &admin)
            .expect(200)
            .json();
        assert!(items(&next)[0]["id"].as_i64() > items(&paged)[1]["id"].as_i64());
    }
}

#[test]
fn a_site_goes_from_request_to_live_to_retired_over_http() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let admin = api.token("管理员", Role::Admin);
        let site = api
            .post(
                "/api/v1/sites",
                &admin,
                &json!({"name": "兰州市教育局", "org": "兰州市政府办公室", "kind": "department",
                        "domains": ["jyj.lanzhou.gov.cn", "www.兰州教育.gov.cn"],
                        "at": "2026-01-05T02:00:00Z"}),
            )
            .expect(201)
            .json();
        assert_eq!(site["status"], "requested", "{}", db.backend);
        assert_eq!(site["requested_at"], "2026-01-05T02:00:00Z");
        let id = site["id"].as_i64().expect("id");
        // By its Unicode host name, and by its punycode one.
        let unicode = api
            .get("/api/v1/sites/www.兰州教育.gov.cn", &admin)
            .expect(200)
            .json();
        assert_eq!(unicode["id"], id);
        let ascii = site["domains"][1]["hostname"].as_str().expect("host");
        assert!(ascii.starts_with("www.xn--"), "{ascii}");
        assert_eq!(
            api.get(&format!("/api/v1/sites/{ascii}"), &admin)
                .expect(200)
                .json()["id"],
            id
        );
        assert_eq!(
            names(
                &api.get("/api/v1/sites?q=兰州教育", &admin)
                    .expect(200)
                    .json(),
                "id"
            ),
            [id.to_string()]
        );

        let step = |action: &str, body: Value, status: &str| {
            let site = api
                .post(&format!("/api/v1/sites/{id}/{action}"), &admin, &body)
                .expect(200)
                .json();
            assert_eq!(site["status"], status, "{action}: {site}");
            site
        };
        step(
            "approve",
            json!({"reference": "兰政办函〔2026〕3号", "at": "2026-01-06T02:00:00Z"}),
            "approved",
        );
        let live = step(
            "go-live",
            json!({"code": "6201000017", "at": "2026-01-07T02:00:00Z"}),
            "live",
        );
        assert_eq!(live["code"], "6201000017");
        step(
            "suspend",
            json!({"reason": "内容整改", "at": "2026-01-08T02:00:00Z"}),
            "suspended",
        );
        step("resume", json!({"at": "2026-01-09T02:00:00Z"}), "live");
        let edited = api
            .patch(
                &format!("/api/v1/sites/{id}"),
                &admin,
                &json!({"name": "兰州市教育局网站", "add_domains": ["edu.lanzhou.gov.cn"]}),
            )
            .expect(200)
            .json();
        assert_eq!(edited["name"], "兰州市教育局网站");
        assert_eq!(edited["domains"].as_array().map(Vec::len), Some(3));
        let retiring = step(
            "retire",
            json!({"reference": "兰政办函〔2026〕9号", "successor_url": "https://www.lanzhou.gov.cn/",
                   "at": "2026-02-01T02:00:00Z"}),
            "retiring",
        );
        assert_eq!(retiring["successor_url"], "https://www.lanzhou.gov.cn/");
        step("offline", json!({"at": "2026-03-05T02:00:00Z"}), "offline");
        step("close", json!({"at": "2026-04-10T02:00:00Z"}), "closed");

        // Each step audited under the token's name.
        let trail = api
            .get(&format!("/api/v1/audit?site={id}"), &admin)
            .expect(200)
            .json();
        let actions = names(&trail, "action");
        for action in [
            "request", "approve", "go-live", "suspend", "resume", "retire",
        ] {
            assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
        }
        assert!(items(&trail).iter().all(|r| r["actor"] == "管理员"));
    }
}

#[test]
fn bad_input_is_400_naming_the_field_and_changes_nothing() {
    let db = sqlite();
    let api = Api::start(&db);
    two_cities(&api);
    let admin = api.token("管理员", Role::Admin);
    let request = |change: Value| {
        let mut body = json!({"name": "兰州市科技局", "org": "兰州市政府办公室",
                              "kind": "department", "domains": ["kjj.lanzhou.gov.cn"]});
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let audit = api.audit_len();
    let before = registry(&api);
    for (path, body, field) in [
        (
            "/api/v1/sites",
            request(json!({"kind": "blog"})),
            Some("kind"),
        ),
        (
            "/api/v1/sites",
            request(json!({"name": "兰州\u{202E}市科技局"})),
            Some("name"),
        ),
        (
            "/api/v1/sites",
            request(json!({"code": "62010"})),
            Some("code"),
        ),
        (
            "/api/v1/sites",
            request(json!({"domains": ["bad host!.gov.cn"]})),
            Some("domains"),
        ),
        ("/api/v1/sites", request(json!({"colour": "red"})), None),
        (
            "/api/v1/sites",
            request(json!({"at": "yesterday"})),
            Some("at"),
        ),
        (
            "/api/v1/sites",
            request(json!({"at": "2099-01-01T00:00:00Z"})),
            Some("at"),
        ),
        (
            "/api/v1/sites/www.lanzhou.gov.cn/approve",
            json!({"reference": "x", "at": "not a time"}),
            Some("at"),
        ),
        (
            "/api/v1/sites/www.lanzhou.gov.cn/go-live",
            json!({"code": "1234567890"}),
            Some("code"),
        ),
        (
            "/api/v1/orgs",
            json!({"name": "某局", "division": "6201", "level": "county",
                   "parent": "兰州市政府办公室"}),
            Some("division"),
        ),
        (
            "/api/v1/accounts",
            json!({"platform": "myspace", "account_id": "x", "name": "x",
                   "org": "兰州市政府办公室"}),
            Some("platform"),
        ),
    ] {
        let reply = api.post(path, &admin, &body).expect(400);
        let error = reply.json();
        assert!(error["error"].is_string(), "{path} {body}: {error}");
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{path} {body}: {error}");
        }
        assert_eq!(api.audit_len(), audit, "{path} {body}");
    }
    let reply = api
        .patch(
            "/api/v1/sites/www.lanzhou.gov.cn",
            &admin,
            &json!({"primary": "not a host"}),
        )
        .expect(400);
    assert_eq!(reply.json()["field"], "primary");
    api.get("/api/v1/sites?status=gone", &admin).expect(400);
    api.get("/api/v1/sites?division=62%25", &admin).expect(400);
    api.get("/api/v1/audit?from=yesterday", &admin).expect(400);
    assert_eq!(api.audit_len(), audit);
    assert_eq!(registry(&api), before);
}

#[test]
fn a_forbidden_transition_is_409_naming_the_state_and_what_is_allowed() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let admin = api.token("管理员", Role::Admin);
        let audit = api.audit_len();
        let reply = api
            .post(
                "/api/v1/sites/www.lanzhou.gov.cn/retire",
                &admin,
                &json!({"reference": "x"}),
            )
            .expect(409)
            .json();
        assert_eq!(reply["current"], "requested", "{}: {reply}", db.backend);
        let allowed: Vec<&str> = reply["allowed"]
            .as_array()
            .expect("allowed")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            allowed.contains(&"approve") && allowed.contains(&"reject"),
            "{reply}"
        );
        assert!(!allowed.contains(&"retire"), "{reply}");
        assert_eq!(api.audit_len(), audit);
    }
}

#[test]
fn each_mutation_needs_its_role() {
    let db = sqlite();
    let api = Api::start(&db);
    two_cities(&api);
    accounts(&api);
    let viewer = api.token("读者", Role::Viewer);
    let operator = api.token("值班员", Role::Operator);
    let admin = api.token("管理员", Role::Admin);
    // (method, path, body, whether operators may)
    let calls: Vec<(&str, &str, Value, bool)> = vec![
        (
            "POST",
            "/api/v1/sites",
            json!({"name": "兰州市科技局", "org": "兰州市政府办公室", "kind": "department",
                   "domains": ["kjj.lanzhou.gov.cn"]}),
            false,
        ),
        (
            "PATCH",
            "/api/v1/sites/www.lanzhou.gov.cn",
            json!({"psb": "甘公网安备62010202000001号"}),
            false,
        ),
        (
            "POST",
            "/api/v1/sites/www.lanzhou.gov.cn/approve",
            json!({"reference": "兰政办函〔2026〕1号"}),
            false,
        ),
        (
            "POST",
            "/api/v1/sites/www.tianshui.gov.cn/reject",
            json!({"reason": "重复建设"}),
            false,
        ),
        (
            "POST",
            "/api/v1/orgs",
            json!({"name": "七里河区政府办公室", "division": "620103", "level": "county",
                   "parent": "兰州市政府办公室"}),
            false,
        ),
        (
            "PATCH",
            "/api/v1/orgs/兰州市政府办公室",
            json!({"add_emails": ["duty@lanzhou.gov.cn"]}),
            false,
        ),
        (
            "POST",
            "/api/v1/accounts",
            json!({"platform": "weibo", "account_id": "qilihe", "name": "七里河发布",
                   "org": "兰州市政府办公室"}),
            false,
        ),
        (
            "PATCH",
            "/api/v1/accounts/weibo:lanzhoufabu",
            json!({"name": "兰州发布厅"}),
            false,
        ),
        (
            "POST",
            "/api/v1/accounts/weibo:lanzhoufabu/suspend",
            json!({"reason": "整改"}),
            false,
        ),
        (
            "POST",
            "/api/v1/accounts/weibo:lanzhoufabu/resume",
            json!({}),
            false,
        ),
        (
            "POST",
            "/api/v1/accounts/weibo:tianshuifabu/close",
            json!({"reason": "合并"}),
            false,
        ),
        (
            "POST",
            "/api/v1/accounts/weibo:lanzhoufabu/posts",
            json!({}),
            true,
        ),
    ];
    for (method, path, body, operators) in calls {
        let bytes = || Some(("application/json", body.to_string().into_bytes()));
        let audit = api.audit_len();
        api.send(method, path, None, bytes()).expect(401);
        api.send(method, path, Some(&viewer), bytes()).expect(403);
        assert_eq!(api.audit_len(), audit, "{method} {path}");
        let by_operator = api.send(method, path, Some(&operator), bytes());
        if operators {
            by_operator.expect(200);
            assert_eq!(api.audit_len(), audit + 1, "{method} {path}");
            continue;
        }
        by_operator.expect(403);
        assert_eq!(api.audit_len(), audit, "{method} {path}");
        let by_admin = api.send(method, path, Some(&admin), bytes());
        assert!(
            by_admin.status == 200 || by_admin.status == 201,
            "{method} {path}: {} {}",
            by_admin.status,
            by_admin.text()
        );
        assert!(api.audit_len() > audit, "{method} {path}");
    }
    // The rest of the lifecycle, admin only.
    for (action, body) in [
        ("go-live", json!({"code": "6201000017"})),
        ("suspend", json!({"reason": "整改"})),
        ("resume", json!({})),
        ("retire", json!({"reference": "兰政办函〔2026〕9号"})),
        ("offline", json!({})),
        ("close", json!({})),
    ] {
        let path = format!("/api/v1/sites/www.lanzhou.gov.cn/{action}");
        api.post(&path, &viewer, &body).expect(403);
        api.post(&path, &operator, &body).expect(403);
        // Offline waits for the closure notice's 30 days (and close for
        // offline): refused for that, past the role check.
        let reply = api.post(&path, &admin, &body);
        let waits = match action {
            "offline" => reply.status == 400,
            "close" => reply.status == 409,
            _ => false,
        };
        assert!(reply.status == 200 || waits, "{action}: {}", reply.text());
    }
}

#[test]
fn a_token_scoped_to_one_city_sees_nothing_of_the_other() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        accounts(&api);
        let admin = api.token("管理员", Role::Admin);
        // Something about Tianshui in the trail besides its request.
        api.patch(
            "/api/v1/orgs/天水市政府办公室",
            &admin,
            &json!({"add_emails": ["duty@tianshui.gov.cn"]}),
        )
        .expect(200);
        let lanzhou = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        let reader = api.scoped_token("兰州读者", Role::Operator, &["兰州市政府办公室"], false);
        let seen = |path: &str| api.get(path, &lanzhou).expect(200).json();
        assert_eq!(
            names(&seen("/api/v1/orgs"), "name"),
            ["兰州市政府办公室"],
            "{}",
            db.backend
        );
        assert_eq!(
            names(&seen("/api/v1/accounts"), "account_id"),
            ["lanzhoufabu"]
        );
        assert_eq!(
            names(&seen("/api/v1/sites?q=gov"), "name"),
            ["兰州市人民政府"]
        );
        let trail = seen("/api/v1/audit");
        assert!(!items(&trail).is_empty());
        assert!(
            !trail.to_string().contains("天水") && !trail.to_string().contains("tianshui"),
            "{trail}"
        );

        // Another city's things are 404, to reads and changes alike.
        for path in [
            "/api/v1/sites/www.tianshui.gov.cn",
            "/api/v1/orgs/天水市政府办公室",
            "/api/v1/accounts/weibo:tianshuifabu",
            "/api/v1/sites?org=天水市政府办公室",
            "/api/v1/accounts?org=天水市政府办公室",
            "/api/v1/audit?site=www.tianshui.gov.cn",
            "/api/v1/audit?org=天水市政府办公室",
            "/api/v1/audit?account=weibo:tianshuifabu",
        ] {
            api.get(path, &lanzhou).expect(404);
        }
        let audit = api.audit_len();
        for (method, path, body) in [
            (
                "POST",
                "/api/v1/sites/www.tianshui.gov.cn/approve",
                json!({"reference": "x"}),
            ),
            (
                "PATCH",
                "/api/v1/sites/www.tianshui.gov.cn",
                json!({"name": "y"}),
            ),
            (
                "PATCH",
                "/api/v1/sites/www.lanzhou.gov.cn",
                json!({"org": "天水市政府办公室"}),
            ),
            (
                "POST",
                "/api/v1/sites",
                json!({"name": "天水市科技局", "org": "天水市政府办公室", "kind": "department",
                       "domains": ["kjj.tianshui.gov.cn"]}),
            ),
            (
                "PATCH",
                "/api/v1/orgs/天水市政府办公室",
                json!({"add_emails": ["x@tianshui.gov.cn"]}),
            ),
            (
                "POST",
                "/api/v1/orgs",
                json!({"name": "秦州区政府办公室", "division": "620502", "level": "county",
                       "parent": "天水市政府办公室"}),
            ),
            (
                "POST",
                "/api/v1/accounts",
                json!({"platform": "weibo", "account_id": "qinzhou", "name": "秦州发布",
                       "org": "天水市政府办公室"}),
            ),
            (
                "PATCH",
                "/api/v1/accounts/weibo:tianshuifabu",
                json!({"name": "y"}),
            ),
            (
                "POST",
                "/api/v1/accounts/weibo:tianshuifabu/suspend",
                json!({"reason": "y"}),
            ),
        ] {
            let bytes = Some(("application/json", body.to_string().into_bytes()));
            api.send(method, path, Some(&lanzhou), bytes).expect(404);
        }
        api.post(
            "/api/v1/accounts/weibo:tianshuifabu/posts",
            &reader,
            &json!({}),
        )
        .expect(404);
        assert_eq!(api.audit_len(), audit);
        // Its own city it may change.
        api.post(
            "/api/v1/accounts/weibo:lanzhoufabu/posts",
            &reader,
            &json!({}),
        )
        .expect(200);
    }
}

#[test]
fn the_cli_and_the_api_give_a_site_the_same_keys() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let admin = api.token("管理员", Role::Admin);
        let from_api = api
            .get("/api/v1/sites/www.lanzhou.gov.cn", &admin)
            .expect(200)
            .json();
        let from_cli = Siteward::on(&db).json(&["--json", "site", "show", "www.lanzhou.gov.cn"]);
        let keys = |v: &Value| {
            let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&from_api), keys(&from_cli), "{}", db.backend);
        assert_eq!(from_api, from_cli);
        // A page of the list holds the same objects.
        let listed = api.get("/api/v1/sites?limit=1", &admin).expect(200).json();
        assert_eq!(items(&listed)[0], from_cli);
    }
}
