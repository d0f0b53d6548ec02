//! The test harness: fresh databases on every backend under test. SQLite
//! always; PostgreSQL when `SITEWARD_TEST_POSTGRES_URL` names a server
//! (CI sets it, and refuses to run without it), each test in a database
//! of its own that is dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use siteward::policy::Policy;
use siteward::registry::{DivisionCode, OrgLevel};
use siteward::store::{Change, NewOrganization, Store};

pub const POSTGRES_ENV: &str = "SITEWARD_TEST_POSTGRES_URL";

/// A database for one test; dropped (PostgreSQL) or deleted (SQLite)
/// with it.
pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn open(&self) -> Store {
        Store::open(&self.url).unwrap_or_else(|e| panic!("open {}: {e}", self.backend))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("siteward.db").display());
    TestDb {
        backend: "sqlite",
        url,
        _dir: Some(dir),
        postgres: None,
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn postgres() -> Option<TestDb> {
    let admin = match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            // CI must cover both backends: a missing server there is a
            // failure, not a skip.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {POSTGRES_ENV} is not set: the PostgreSQL tests would not run"
            );
            return None;
        }
    };
    let name = format!(
        "siteward_t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = PgConnection::establish(&admin)
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin}: cannot connect: {e}"));
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("postgres URL");
    url.set_path(&name);
    Some(TestDb {
        backend: "postgres",
        url: url.to_string(),
        _dir: None,
        postgres: Some((admin, name)),
    })
}

/// SQLite, and PostgreSQL when configured.
pub fn backends() -> Vec<TestDb> {
    std::iter::once(sqlite()).chain(postgres()).collect()
}

pub fn policy() -> Policy {
    Policy::built_in()
}

/// A fixed point in time for tests that record past events.
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::days(n)
}

pub fn change(n: i64) -> Change {
    Change::at("tester", day(n))
}

pub fn add_org(store: &mut Store, name: &str, division: &str, level: OrgLevel) {
    store
        .add_org(
            &NewOrganization {
                name: name.to_string(),
                division: division.parse::<DivisionCode>().expect("division"),
                level,
                parent: None,
                emails: vec![],
                webhooks: vec![],
            },
            &policy(),
            &change(0),
        )
        .expect("add org");
}
