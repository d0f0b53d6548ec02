//! The people who log in to the web page: `siteward user` through the
//! real binary (passwords on stdin), and their logins and sessions
//! through `siteward::app::users` on a real store, on every backend.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use serde_json::Value;
use siteward::access::{Role, Via, Visible};
use siteward::app::users::{self, SessionLimits};
use siteward::registry::OrgLevel;
use siteward::store::Store;

use crate::support::{Siteward, TestDb, add_org, backends, change, day};

const PASSWORD: &str = "兰州牛肉面要加油泼辣子";
const NEW_PASSWORD: &str = "a whole new password";

/// `siteward ARGS` with `stdin` written to its standard input.
fn with_stdin(sw: &Siteward, args: &[&str], stdin: &str) -> Output {
    let mut child = sw
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("siteward runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("written");
    child.wait_with_output().expect("siteward ends")
}

fn succeeds(sw: &Siteward, args: &[&str], stdin: &str) -> String {
    let output = with_stdin(sw, args, stdin);
    assert!(
        output.status.success(),
        "siteward {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Runs a command that must be refused as bad input (status 2); its
/// stderr.
fn refused(sw: &Siteward, args: &[&str], stdin: &str) -> String {
    let output = with_stdin(sw, args, stdin);
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert_eq!(
        output.status.code(),
        Some(2),
        "siteward {args:?}: {}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn twice(password: &str) -> String {
    format!("{password}\n{password}\n")
}

fn users_json(sw: &Siteward) -> Vec<Value> {
    sw.json_lines(&["--json", "user", "list"])
}

/// The audit rows about users, as `siteward audit --json` gives them.
fn user_audit(sw: &Siteward) -> Vec<Value> {
    sw.json_lines(&["--json", "audit"])
        .into_iter()
        .filter(|row| row["entity"] == "user")
        .collect()
}

#[test]
fn users_are_made_listed_given_a_new_password_and_disabled() {
    for db in backends() {
        let sw = db.cli();
        sw.province();
        let made = succeeds(
            &sw,
            &[
                "user",
                "add",
                "李四",
                "--role",
                "operator",
                "--org",
                "甘肃省人民政府",
                "--with-subordinates",
            ],
            &twice(PASSWORD),
        );
        assert!(made.contains("user `李四` made: role operator"), "{made}");
        succeeds(
            &sw,
            &["user", "add", "王五", "--role", "viewer"],
            // A Windows line ending is not part of the password.
            &format!("{NEW_PASSWORD}\r\n{NEW_PASSWORD}\r\n"),
        );

        let listed = users_json(&sw);
        assert_eq!(listed.len(), 2, "{}: {listed:?}", db.backend);
        assert_eq!(listed[0]["name"], "李四");
        assert_eq!(listed[0]["role"], "operator");
        assert_eq!(listed[0]["orgs"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed[0]["with_subordinates"], true);
        assert_eq!(listed[0]["created_by"], "张三");
        assert_eq!(listed[0]["disabled_at"], Value::Null);
        assert_eq!(listed[1]["name"], "王五");
        assert_eq!(listed[1]["orgs"], serde_json::json!([]));
        let table = sw.ok(&["user", "list"]);
        assert!(table.contains("李四") && table.contains("王五"), "{table}");

        // The password given on stdin is the one checked at login.
        let store = db.open();
        let now = day(1);
        assert!(login(&store, "王五", NEW_PASSWORD, now).is_some());
        let session = login(&store, "李四", PASSWORD, now).expect("logs in");

        let passwd = succeeds(&sw, &["user", "passwd", "李四"], &twice(NEW_PASSWORD));
        assert!(passwd.contains("has a new password"), "{passwd}");
        assert!(
            found(&store, &session.secret, now).is_none(),
            "its session ended"
        );
        assert!(login(&store, "李四", PASSWORD, now).is_none());
        let again = login(&store, "李四", NEW_PASSWORD, now).expect("the new one");

        let disabled = sw.ok(&["user", "disable", "李四"]);
        assert!(disabled.contains("`李四` disabled"), "{disabled}");
        assert!(
            found(&store, &again.secret, now).is_none(),
            "its session ended"
        );
        assert!(login(&store, "李四", NEW_PASSWORD, now).is_none());
        let listed = users_json(&sw);
        assert!(listed[0]["disabled_at"].is_string(), "{listed:?}");
        assert_eq!(listed[1]["disabled_at"], Value::Null);

        // Judged and refused, changing nothing.
        let audited = user_audit(&sw).len();
        let stderr = refused(&sw, &["user", "disable", "李四"], "");
        assert!(stderr.contains("already disabled"), "{stderr}");
        let stderr = refused(&sw, &["user", "passwd", "李四"], &twice(PASSWORD));
        assert!(stderr.contains("`李四` is disabled"), "{stderr}");
        let stderr = refused(
            &sw,
            &["user", "add", "李四", "--role", "viewer"],
            &twice(PASSWORD),
        );
        assert!(stderr.contains("belongs to a disabled user"), "{stderr}");
        let stderr = refused(
            &sw,
            &["user", "add", "王五", "--role", "viewer"],
            &twice(PASSWORD),
        );
        assert!(stderr.contains("a user named `王五` exists"), "{stderr}");
        let stderr = refused(&sw, &["user", "disable", "赵六"], "");
        assert!(stderr.contains("no user `赵六`"), "{stderr}");
        let stderr = refused(&sw, &["user", "passwd", "赵六"], &twice(PASSWORD));
        assert!(stderr.contains("no user `赵六`"), "{stderr}");
        let stderr = refused(
            &sw,
            &[
                "user",
                "add",
                "赵六",
                "--role",
                "viewer",
                "--org",
                "不存在的单位",
            ],
            &twice(PASSWORD),
        );
        assert!(stderr.contains("不存在的单位"), "{stderr}");
        assert_eq!(users_json(&sw).len(), 2);
        assert_eq!(user_audit(&sw).len(), audited, "{}", db.backend);
        assert!(login(&store, "王五", NEW_PASSWORD, now).is_some());

        // Every change audited under the command line's actor, with when
        // the password changed, never the password nor its hash.
        let rows = user_audit(&sw);
        let actions: Vec<&str> = rows.iter().filter_map(|r| r["action"].as_str()).collect();
        assert_eq!(actions, ["add", "add", "password", "disable"], "{rows:?}");
        assert!(rows.iter().all(|r| r["actor"] == "张三"));
        assert_ne!(
            rows[2]["before"]["password_changed_at"], rows[2]["after"]["password_changed_at"],
            "the new password is seen as a change"
        );
        let shown = [
            sw.ok(&["--json", "audit"]),
            sw.ok(&["audit"]),
            sw.ok(&["--json", "user", "list"]),
            sw.ok(&["user", "list"]),
        ]
        .concat();
        for secret in ["argon2", "password_hash", PASSWORD, NEW_PASSWORD] {
            assert!(!shown.contains(secret), "{}: `{secret}` shown", db.backend);
        }
        let verified = sw.ok(&["audit", "verify"]);
        assert!(verified.contains("no break"), "{verified}");
    }
}

#[test]
fn weak_or_mistyped_passwords_are_refused_and_nothing_is_stored() {
    for db in backends() {
        let sw = db.cli();
        // The database exists, so that what follows is judged on it.
        sw.province();
        let add = ["user", "add", "wangwu", "--role", "admin"];
        let cases = [
            (format!("{PASSWORD}\n{PASSWORD}x\n"), "differ"),
            (format!("{PASSWORD}\n"), "stdin ended before"),
            (String::new(), "stdin ended before"),
            (twice("short1234"), "at least 10 characters"),
            (twice("WangWu"), "at least 10 characters"),
            (twice("wangwu"), "at least 10 characters"),
        ];
        for (stdin, why) in &cases {
            let stderr = refused(&sw, &add, stdin);
            assert!(stderr.contains(why), "{}: {stdin:?}: {stderr}", db.backend);
            assert!(
                !stderr.contains("short1234"),
                "the password is not repeated"
            );
        }
        let long_name = ["user", "add", "wangwu12345", "--role", "admin"];
        let stderr = refused(&sw, &long_name, &twice("WANGWU12345"));
        assert!(stderr.contains("is the user's name"), "{stderr}");
        assert!(!stderr.contains("WANGWU12345"), "{stderr}");
        assert!(users_json(&sw).is_empty(), "{}", db.backend);
        assert!(user_audit(&sw).is_empty());

        // A new password is judged the same way, and a refused one leaves
        // the old one in place.
        succeeds(&sw, &add, &twice(PASSWORD));
        for (stdin, why) in [
            (format!("{NEW_PASSWORD}\n{PASSWORD}\n"), "differ"),
            (twice("tooshort"), "at least 10 characters"),
            (twice("wangwu"), "at least 10 characters"),
        ] {
            let stderr = refused(&sw, &["user", "passwd", "wangwu"], &stdin);
            assert!(stderr.contains(why), "{}: {stdin:?}: {stderr}", db.backend);
        }
        let rows = user_audit(&sw);
        assert_eq!(rows.len(), 1, "only the add: {rows:?}");
        let store = db.open();
        assert!(login(&store, "wangwu", PASSWORD, day(1)).is_some());
        assert!(login(&store, "wangwu", NEW_PASSWORD, day(1)).is_none());
    }
}

fn login(
    store: &Store,
    name: &str,
    password: &str,
    now: DateTime<chrono::Utc>,
) -> Option<users::NewSession> {
    users::login(store, name, password, now).expect("login answers")
}

const LIMITS: SessionLimits = SessionLimits {
    idle: Duration::from_secs(30 * 60),
    max: Duration::from_secs(12 * 3600),
};

fn found(store: &Store, secret: &str, now: DateTime<chrono::Utc>) -> Option<users::Session> {
    users::session(store, secret, now, LIMITS).expect("session answers")
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// A store with 甘肃省人民政府 (620000), 兰州市人民政府 (620100) and
/// 天水市人民政府 (620500).
fn registry(db: &TestDb) -> Store {
    let mut store = db.open();
    add_org(&mut store, "甘肃省人民政府", "620000", OrgLevel::Province);
    add_org(&mut store, "兰州市人民政府", "620100", OrgLevel::Prefecture);
    add_org(&mut store, "天水市人民政府", "620500", OrgLevel::Prefecture);
    store
}

fn add(store: &Store, name: &str, role: Role, orgs: &[&str], with_subordinates: bool) {
    let orgs: Vec<String> = orgs.iter().map(|o| o.to_string()).collect();
    users::add(
        store,
        name,
        role,
        &orgs,
        with_subordinates,
        PASSWORD,
        &change(0),
    )
    .expect("user added");
}

#[test]
fn a_login_opens_a_session_only_with_the_right_password_of_an_enabled_user() {
    for db in backends() {
        let store = registry(&db);
        add(&store, "李四", Role::Operator, &[], false);
        add(&store, "王五", Role::Viewer, &[], false);
        let now = day(1);

        assert!(login(&store, "李四", "not the password", now).is_none());
        assert!(login(&store, "李四", &PASSWORD[..PASSWORD.len() - 3], now).is_none());
        assert!(login(&store, "赵六", PASSWORD, now).is_none(), "unknown");
        let opened = login(&store, "李四", PASSWORD, now).expect("the right password");
        assert!(opened.secret.starts_with(users::PREFIX));
        assert_ne!(opened.secret, opened.csrf);
        assert_eq!(opened.caller.name, "李四");
        assert_eq!(opened.caller.via, Via::WebUser);
        assert_eq!(opened.caller.role, Role::Operator);
        assert_eq!(opened.caller.visible, Visible::All);

        let session = found(&store, &opened.secret, now + minutes(1)).expect("in use");
        assert_eq!(session.caller, opened.caller);
        assert_eq!(session.csrf, opened.csrf);
        assert!(found(&store, "sws_not-a-secret", now).is_none());
        assert!(
            found(&store, &opened.csrf, now).is_none(),
            "the form token is no secret"
        );

        // Two sessions of one user are two sessions: one logout ends one.
        let other = login(&store, "李四", PASSWORD, now).expect("again");
        assert_ne!(other.secret, opened.secret);
        assert_ne!(other.csrf, opened.csrf);
        users::logout(&store, &opened.secret).expect("logout");
        assert!(found(&store, &opened.secret, now + minutes(2)).is_none());
        assert!(found(&store, &other.secret, now + minutes(2)).is_some());
        users::logout(&store, &opened.secret).expect("a second logout is no error");

        // Disabling ends every session of the user, and no other's.
        let wangwu = login(&store, "王五", PASSWORD, now).expect("王五");
        let disabled = users::disable(&store, "李四", &change(1)).expect("disabled");
        assert!(disabled.disabled_at.is_some());
        assert!(found(&store, &other.secret, now + minutes(3)).is_none());
        assert!(login(&store, "李四", PASSWORD, now).is_none(), "disabled");
        assert!(found(&store, &wangwu.secret, now + minutes(3)).is_some());

        // A new password ends the sessions opened with the old one.
        users::set_password(&store, "王五", NEW_PASSWORD, &change(1)).expect("passwd");
        assert!(found(&store, &wangwu.secret, now + minutes(4)).is_none());
        assert!(login(&store, "王五", PASSWORD, now).is_none());
        let renewed = login(&store, "王五", NEW_PASSWORD, now).expect("the new password");
        assert!(found(&store, &renewed.secret, now + minutes(4)).is_some());

        // Refused passwords change nothing.
        for weak in ["tooshort", "王五"] {
            let error = users::set_password(&store, "王五", weak, &change(2)).expect_err("weak");
            assert!(error.is_user_error(), "{error}");
        }
        assert!(found(&store, &renewed.secret, now + minutes(5)).is_some());
    }
}

#[test]
fn sessions_end_when_idle_or_too_old() {
    for db in backends() {
        let store = registry(&db);
        add(&store, "李四", Role::Admin, &[], false);
        let start = day(1);

        // Used within the idle limit, a session goes on; past it, it ends
        // and is gone for good (asked again at an earlier time, still none).
        let idle = login(&store, "李四", PASSWORD, start).expect("logs in");
        assert!(found(&store, &idle.secret, start + minutes(29)).is_some());
        assert!(
            found(&store, &idle.secret, start + minutes(29 + 30)).is_some(),
            "exactly idle"
        );
        assert!(found(&store, &idle.secret, start + minutes(29 + 30 + 31)).is_none());
        assert!(
            found(&store, &idle.secret, start + minutes(29 + 30)).is_none(),
            "deleted"
        );

        // A use less than a minute after the last one is not recorded:
        // the idle time still counts from the login.
        let quick = login(&store, "李四", PASSWORD, start).expect("logs in");
        assert!(found(&store, &quick.secret, start + TimeDelta::seconds(30)).is_some());
        assert!(
            found(
                &store,
                &quick.secret,
                start + minutes(30) + TimeDelta::seconds(10)
            )
            .is_none()
        );

        // Used every 20 minutes, a session still ends 12 hours after its
        // login.
        let old = login(&store, "李四", PASSWORD, start).expect("logs in");
        let mut at = start;
        while at + minutes(20) <= start + minutes(12 * 60) {
            at += minutes(20);
            assert!(found(&store, &old.secret, at).is_some(), "at {at}");
        }
        assert!(found(&store, &old.secret, start + minutes(12 * 60 + 1)).is_none());
        assert!(found(&store, &old.secret, at).is_none(), "deleted");

        // Sessions left behind, never asked for again, are deleted.
        let left = login(&store, "李四", PASSWORD, start).expect("logs in");
        let late = start + minutes(12 * 60 + 5);
        assert_eq!(users::prune(&store, late, LIMITS).expect("pruned"), 1);
        assert!(found(&store, &left.secret, start + minutes(1)).is_none());
    }
}

#[test]
fn a_user_limited_to_organizations_sees_them_and_with_subordinates_those_below() {
    for db in backends() {
        let store = registry(&db);
        let orgs = store.orgs().expect("orgs");
        let id = |name: &str| orgs.iter().find(|o| o.name == name).expect("org").id;
        add(&store, "省级", Role::Viewer, &["甘肃省人民政府"], false);
        add(&store, "省以下", Role::Viewer, &["甘肃省人民政府"], true);
        let lanzhou = id("兰州市人民政府").to_string();
        add(&store, "兰州", Role::Operator, &[lanzhou.as_str()], false);
        let now = day(1);

        let seen = |name: &str| {
            let opened = login(&store, name, PASSWORD, now).expect("logs in");
            let session = found(&store, &opened.secret, now).expect("in use");
            assert_eq!(session.caller.visible, opened.caller.visible);
            match session.caller.visible {
                Visible::Orgs { ids, .. } => ids.into_iter().collect::<Vec<i64>>(),
                Visible::All => panic!("{name} sees everything"),
            }
        };
        assert_eq!(seen("省级"), vec![id("甘肃省人民政府")]);
        let mut below = vec![
            id("甘肃省人民政府"),
            id("兰州市人民政府"),
            id("天水市人民政府"),
        ];
        below.sort();
        assert_eq!(seen("省以下"), below);
        assert_eq!(seen("兰州"), vec![id("兰州市人民政府")]);

        let listed = users::list(&store).expect("list");
        let names: Vec<&str> = listed.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let province = listed.iter().find(|u| u.name == "省以下").expect("listed");
        assert_eq!(province.orgs, vec![id("甘肃省人民政府")]);
        assert!(province.with_subordinates);

        // --with-subordinates needs an organization to be below of.
        let refused = users::add(
            &store,
            "全部",
            Role::Viewer,
            &[],
            true,
            PASSWORD,
            &change(0),
        )
        .expect_err("refused");
        assert!(refused.is_user_error(), "{refused}");
        assert_eq!(users::list(&store).expect("list").len(), 3);
    }
}

#[test]
fn listing_users_reads_and_creates_no_database() {
    let sw = Siteward::new();
    let (status, stderr) = sw.fails(&["user", "list"]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("no registry database"), "{stderr}");
    assert!(!sw.dir().join("siteward.db").exists());
    // Making one records something: the database is created for it.
    succeeds(
        &sw,
        &["user", "add", "李四", "--role", "viewer"],
        &twice(PASSWORD),
    );
    assert_eq!(users_json(&sw).len(), 1);
}

/// The daemon's `retain` job deletes the sessions its configuration's
/// limits have ended (here: one opened two days ago), and no other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retain_job_deletes_ended_sessions() {
    for db in backends() {
        let store = registry(&db);
        add(&store, "李四", Role::Viewer, &[], false);
        let now = chrono::Utc::now();
        let opened = now - TimeDelta::days(2);
        let old = login(&store, "李四", PASSWORD, opened).expect("logs in");
        let fresh = login(&store, "李四", PASSWORD, now).expect("logs in");
        let mut config = siteward::config::Config::default();
        config.database.url = db.url.clone();
        let app = siteward::app::App::new(config, None, crate::support::policy(), store.clone());
        let run = siteward::app::retention::retain_job(
            &app,
            siteward::store::Run::start(siteward::jobs::Job::Retain, None),
        )
        .await
        .expect("the job runs");
        assert_eq!(run.status, siteward::jobs::RunStatus::Ok, "{}", db.backend);
        // Gone: not found even as of a minute after its login.
        assert!(found(&store, &old.secret, opened + minutes(1)).is_none());
        assert!(found(&store, &fresh.secret, now + minutes(1)).is_some());
    }
}
