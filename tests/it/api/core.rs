//! What every route shares: tokens (401 without one, a revoked one
//! refused at once), roles, organization scopes (404 for what a scoped
//! token may not see), paging, and the OpenAPI document.

use serde_json::json;
use siteward::access::Role;
use siteward::registry::OrgLevel;
use siteward::store::{Change, SiteRequest};

use super::Api;
use crate::support::{add_org, backends, policy};

/// Two cities of one province, a site in each; the province's office.
pub fn two_cities(api: &Api) {
    let mut store = api.store().clone();
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
    for (name, org, host) in [
        ("兰州市人民政府", "兰州市政府办公室", "www.lanzhou.gov.cn"),
        ("天水市人民政府", "天水市政府办公室", "www.tianshui.gov.cn"),
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
    }
}

#[test]
fn no_token_or_an_unknown_one_is_401_and_a_revoked_one_stops_at_once() {
    for db in backends() {
        let api = Api::start(&db);
        let none = api.send("GET", "/api/v1/sites", None, None).expect(401);
        assert!(
            none.headers
                .get("www-authenticate")
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Bearer")),
            "{:?}",
            none.headers
        );
        assert!(
            none.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("Bearer"))
        );
        api.get("/api/v1/sites", "swt_not-a-token").expect(401);
        api.send("GET", "/api/v1/sites", Some(""), None).expect(401);

        let token = api.token("reader", Role::Viewer);
        api.get("/api/v1/sites", &token).expect(200);
        api.store()
            .revoke_token("reader", &Change::now("tester"))
            .expect("revoked");
        let refused = api.get("/api/v1/sites", &token).expect(401);
        assert!(refused.text().contains("revoked"), "{}", refused.text());
    }
}

#[test]
fn a_token_scoped_to_one_city_sees_none_of_another_citys_sites() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let lanzhou = api.scoped_token("兰州", Role::Admin, &["兰州市政府办公室"], false);
        let page = api.get("/api/v1/sites", &lanzhou).expect(200).json();
        let names: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert_eq!(names, vec!["兰州市人民政府"], "{}", db.backend);
        api.get("/api/v1/sites/www.lanzhou.gov.cn", &lanzhou)
            .expect(200);
        // Another city's site answers exactly as a site that does not
        // exist: the token cannot learn it is there.
        let hidden = api
            .get("/api/v1/sites/www.tianshui.gov.cn", &lanzhou)
            .expect(404);
        let missing = api
            .get("/api/v1/sites/www.nowhere.gov.cn", &lanzhou)
            .expect(404);
        assert_eq!(
            hidden.json()["error"]
                .as_str()
                .map(|e| e.replace("tianshui", "X")),
            missing.json()["error"]
                .as_str()
                .map(|e| e.replace("nowhere", "X")),
        );

        // The province's token with its subordinates sees both cities.
        let province = api.scoped_token("省", Role::Viewer, &["甘肃省政府办公厅"], true);
        let all = api.get("/api/v1/sites", &province).expect(200).json();
        assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
        // Without them, only its own (none).
        let own = api.scoped_token("省本级", Role::Viewer, &["甘肃省政府办公厅"], false);
        let none = api.get("/api/v1/sites", &own).expect(200).json();
        assert_eq!(none["items"], json!([]));
    }
}

#[test]
fn pages_follow_their_cursor_and_bad_paging_is_400() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    two_cities(&api);
    let token = api.token("reader", Role::Viewer);
    let first = api.get("/api/v1/sites?limit=1", &token).expect(200).json();
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = api
        .get(&format!("/api/v1/sites?limit=1&cursor={cursor}"), &token)
        .expect(200)
        .json();
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert_eq!(second["next_cursor"], json!(null));
    for bad in ["limit=0", "limit=5000", "cursor=garbage", "limit=x"] {
        let reply = api.get(&format!("/api/v1/sites?{bad}"), &token).expect(400);
        assert!(reply.json()["error"].is_string(), "{bad}: {}", reply.text());
    }
}

#[test]
fn the_openapi_document_is_3_1_and_lists_every_route() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    let doc = api
        .send("GET", "/api/v1/openapi.json", None, None)
        .expect(200)
        .json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let (_, generated) = siteward::api::router(siteward::api::ApiState::new(api.app.clone()));
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), generated.paths.paths.len());
    // Every route the API answers under /api/v1 is documented: each
    // documented path answers something other than the fallback's 404.
    let token = api.token("reader", Role::Viewer);
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        let concrete = path
            .replace("{site}", "1")
            .replace("{id}", "1")
            .replace("{org}", "1")
            .replace("{account}", "1")
            .replace("{name}", "x")
            .replace("{host}", "www.example.gov.cn")
            .replace("{file}", "x");
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            let reply = api.send(&method.to_uppercase(), &concrete, Some(&token), None);
            let routed = !(reply.status == 404 && reply.text().contains("no such route"))
                && reply.status != 405;
            assert!(routed, "{method} {path}: {} {}", reply.status, reply.text());
        }
    }
    // An unknown route says where the routes are.
    let unknown = api.get("/api/v1/nothing", &token).expect(404);
    assert!(unknown.text().contains("openapi.json"));
}

#[test]
fn healthz_answers_without_a_token() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    assert_eq!(
        api.send("GET", "/healthz", None, None).expect(200).text(),
        "ok\n"
    );
}

#[test]
fn unscoped_admins_manage_tokens_and_every_change_names_the_token() {
    for db in backends() {
        let api = Api::start(&db);
        two_cities(&api);
        let admin = api.token("省管理员", Role::Admin);
        let operator = api.token("值班员", Role::Operator);
        let viewer = api.token("观察员", Role::Viewer);
        let city_admin = api.scoped_token("兰州管理员", Role::Admin, &["兰州市政府办公室"], false);
        let request = json!({"name": "监控系统", "role": "viewer", "orgs": ["天水市政府办公室"]});

        for (token, status) in [(&viewer, 403), (&operator, 403), (&city_admin, 403)] {
            let before = api.audit_len();
            api.post("/api/v1/tokens", token, &request).expect(status);
            api.get("/api/v1/tokens", token).expect(status);
            assert_eq!(api.audit_len(), before);
        }
        api.send("POST", "/api/v1/tokens", None, None).expect(401);

        // Bad input: nothing made, nothing audited.
        let before = api.audit_len();
        for (bad, field) in [
            (json!({"name": "x", "role": "root"}), None),
            (json!({"name": "x\u{202E}", "role": "viewer"}), Some("name")),
            (
                json!({"name": "x", "role": "viewer", "orgs": ["没有这个单位"]}),
                Some("orgs"),
            ),
            (json!({"name": "x", "role": "viewer", "extra": 1}), None),
        ] {
            let reply = api.post("/api/v1/tokens", &admin, &bad).expect(400);
            if let Some(field) = field {
                assert_eq!(reply.json()["field"], json!(field), "{}", reply.text());
            }
        }
        assert_eq!(api.audit_len(), before);

        let made = api
            .post("/api/v1/tokens", &admin, &request)
            .expect(201)
            .json();
        let secret = made["token"].as_str().expect("the token, once").to_string();
        assert!(secret.starts_with("swt_"));
        assert_eq!(made["role"], json!("viewer"));
        // The new token sees Tianshui only.
        let seen = api.get("/api/v1/sites", &secret).expect(200).json();
        assert_eq!(seen["items"][0]["name"], json!("天水市人民政府"));
        assert_eq!(seen["items"].as_array().map(Vec::len), Some(1));
        // The same name again is a conflict.
        api.post("/api/v1/tokens", &admin, &request).expect(409);

        let listed = api.get("/api/v1/tokens", &admin).expect(200).json();
        let listed = listed.as_array().expect("a list");
        assert!(
            listed
                .iter()
                .all(|t| t.get("token").is_none() && t.get("hash").is_none())
        );
        assert!(listed.iter().any(|t| t["name"] == json!("监控系统")));

        api.send(
            "POST",
            "/api/v1/tokens/监控系统/revoke",
            Some(&viewer),
            None,
        )
        .expect(403);
        let revoked = api
            .send(
                "POST",
                "/api/v1/tokens/%E7%9B%91%E6%8E%A7%E7%B3%BB%E7%BB%9F/revoke",
                Some(&admin),
                None,
            )
            .expect(200)
            .json();
        assert!(revoked["revoked_at"].is_string());
        api.get("/api/v1/sites", &secret).expect(401);
        api.send(
            "POST",
            "/api/v1/tokens/%E7%9B%91%E6%8E%A7%E7%B3%BB%E7%BB%9F/revoke",
            Some(&admin),
            None,
        )
        .expect(404);

        // Both changes were audited under the admin token's name.
        let trail = api
            .store()
            .audit(&siteward::store::AuditFilter::default())
            .expect("audit");
        let mine: Vec<_> = trail.iter().filter(|e| e.entity == "token").collect();
        assert!(
            mine.iter()
                .any(|e| e.action == "add" && e.actor == "省管理员"),
            "{mine:?}"
        );
        assert!(
            mine.iter()
                .any(|e| e.action == "revoke" && e.actor == "省管理员")
        );
    }
}
