//! Logging in and out, sessions and their ends, the login limits, the
//! form token, and roles as the API has them.

use siteward::access::Role;

use super::{PASSWORD, Web, field_value, set_cookie};
use crate::support::backends;

#[test]
fn a_person_logs_in_sees_the_page_and_logs_out() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("张三", Role::Viewer);
        // Without a session, a page sends the browser to the login page
        // and back afterwards.
        let anonymous = web
            .send("GET", "/sites?status=live", None, None)
            .expect(303);
        assert_eq!(
            anonymous.headers["location"],
            "/login?next=%2Fsites%3Fstatus%3Dlive"
        );
        let session = web.login("张三");
        let home = session.get("/").expect(200);
        let html = home.text();
        assert!(html.contains("张三（查看）"), "{html}");
        assert!(html.contains("lang=\"zh-CN\""));
        let cookie = set_cookie(&web.try_login("张三", PASSWORD).0, "siteward_session")
            .expect("a session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        // Not over TLS here, so not Secure.
        assert!(!cookie.contains("Secure"), "{cookie}");
        // The page forbids scripts from elsewhere and framing.
        let csp = home.headers["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));

        session.post("/logout", &[]).expect(303);
        session.get("/").expect(303);
    }
}

#[test]
fn wrong_passwords_are_refused_then_limited_per_user_and_logged() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("李四", Role::Operator);
        let (reply, cookie) = web.try_login("李四", "wrong password!");
        assert_eq!(reply.status, 401, "{}", reply.text());
        assert!(cookie.is_none());
        assert!(reply.text().contains("用户名或密码错误"));
        // An unknown name gets the same answer.
        let (unknown, _) = web.try_login("nobody", PASSWORD);
        assert_eq!(unknown.status, 401);
        assert!(unknown.text().contains("用户名或密码错误"));
        // Five failures (the default) and even the right password waits.
        for _ in 0..4 {
            web.try_login("李四", "wrong password!");
        }
        let (limited, cookie) = web.try_login("李四", PASSWORD);
        assert_eq!(limited.status, 429, "{}", limited.text());
        assert!(limited.text().contains("登录失败次数过多"));
        assert!(cookie.is_none());
    }
}

#[test]
fn a_disabled_person_or_a_new_password_ends_their_sessions_at_once() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("王五", Role::Admin);
        let first = web.login("王五");
        first.get("/").expect(200);
        siteward::app::users::set_password(
            web.api.store(),
            "王五",
            "another long password",
            &siteward::store::Change::now("tester"),
        )
        .expect("password changed");
        first.get("/").expect(303);
        let (reply, cookie) = web.try_login("王五", "another long password");
        let cookie = cookie.unwrap_or_else(|| panic!("logs in again: {}", reply.text()));
        web.send("GET", "/", Some(&cookie), None).expect(200);
        siteward::app::users::disable(
            web.api.store(),
            "王五",
            &siteward::store::Change::now("tester"),
        )
        .expect("disabled");
        web.send("GET", "/", Some(&cookie), None).expect(303);
        let (refused, cookie) = web.try_login("王五", "another long password");
        assert_eq!(refused.status, 401);
        assert!(cookie.is_none());
    }
}

#[test]
fn a_form_without_its_token_or_from_elsewhere_is_refused() {
    for db in backends() {
        let web = Web::start(&db);
        web.user("赵六", Role::Admin);
        let session = web.login("赵六");
        let forged = session.post_raw("/logout", &[("csrf", "not-the-token")]);
        assert_eq!(forged.status, 403, "{}", forged.text());
        assert!(forged.text().contains("CSRF"));
        // Still logged in: the forged logout did nothing.
        session.get("/").expect(200);
        // A login form without its cookie is refused too.
        let page = web.send("GET", "/login", None, None).expect(200);
        let token = field_value(&page.text(), "csrf").expect("token");
        let body = format!("csrf={token}&user=%E8%B5%B5%E5%85%AD&password=correct+horse+battery");
        let reply = web.send(
            "POST",
            "/login",
            None,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        );
        assert_eq!(reply.status, 403, "{}", reply.text());
        // Another site's page posting here is refused by its origin.
        let reply = web.api.send_with(
            "POST",
            "/logout",
            None,
            Some(&session.cookie),
            Some((
                "application/x-www-form-urlencoded",
                format!("csrf={}", session.csrf).into_bytes(),
            )),
        );
        // (same origin: no Origin header at all is allowed)
        assert_eq!(reply.status, 303);
    }
}

#[test]
fn an_unknown_page_is_a_chinese_404_and_the_api_keeps_its_json() {
    for db in backends() {
        let web = Web::start(&db);
        let page = web.send("GET", "/no-such-page", None, None).expect(404);
        assert!(page.text().contains("没有这个页面"));
        let api = web
            .send("GET", "/api/v1/no-such-route", None, None)
            .expect(404);
        assert!(api.text().contains("openapi.json"));
    }
}

#[test]
fn the_login_page_in_a_browser() {
    let Some(browser) = super::Browser::start() else {
        return;
    };
    let db = crate::support::sqlite();
    let web = Web::start(&db);
    web.user("张三", Role::Operator);
    browser.goto(&web.url("/sites"));
    assert!(browser.path().starts_with("/login"));
    browser.screenshot("login");
    browser.fill("#user", "张三");
    browser.fill("#password", PASSWORD);
    browser.click("form button[type=submit]");
    assert_eq!(browser.path(), "/sites");
    assert!(browser.text("header .who").contains("张三"));
    browser.click("header .who button");
    assert!(browser.path().starts_with("/login"));
    assert!(browser.text("main").contains("已退出登录"));
}
