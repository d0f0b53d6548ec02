//! The test harness: fresh databases on every backend under test. SQLite
//! always; PostgreSQL when `SITEWARD_TEST_POSTGRES_URL` names a server
//! (CI sets it, and refuses to run without it), each test in a database
//! of its own that is dropped afterwards; and the built binary run on
//! them ([`Siteward`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use serde_json::Value;
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

/// How a run names its registry.
enum Registry {
    /// `--db` [`Siteward::db`].
    Url,
    /// `--config FILE`.
    Config(PathBuf),
    /// Neither: commands that need no registry (`policy check`, `probe`).
    Unnamed,
}

/// The built binary as an administrator runs it: `--db` given,
/// `--actor 张三` unless [`Siteward::actor`] or
/// [`Siteward::without_actor`] say otherwise, in a directory of
/// its own, with the caller's configuration and database variables out
/// of the way. One runner for every CLI test (`crate::cli::Siteward` is
/// this type).
pub struct Siteward {
    /// The `--db` URL; empty where a configuration names the database
    /// ([`Siteward::with_config`]) or none is named
    /// ([`Siteward::without_registry`]).
    pub db: String,
    registry: Registry,
    backend: &'static str,
    cwd: PathBuf,
    _dir: Option<tempfile::TempDir>,
    actor: Option<&'static str>,
    env: Vec<(String, String)>,
}

impl Siteward {
    /// A fresh SQLite registry, `siteward.db` in a temporary directory
    /// that is also the working directory.
    pub fn new() -> Siteward {
        let mut sw = Siteward::in_temp_dir(String::new(), "sqlite", Registry::Url);
        sw.db = format!("sqlite://{}", sw.cwd.join("siteward.db").display());
        sw
    }

    /// The database of `db` (either backend), from an empty temporary
    /// working directory.
    pub fn on(db: &TestDb) -> Siteward {
        Siteward::in_temp_dir(db.url.clone(), db.backend, Registry::Url)
    }

    /// The database at `url`, run from `cwd` (which the caller keeps).
    pub fn at(url: &str, cwd: &Path) -> Siteward {
        let backend = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        Siteward::build(
            url.to_string(),
            backend,
            Registry::Url,
            cwd.to_path_buf(),
            None,
        )
    }

    /// `--config config` instead of `--db` (the configuration names the
    /// database), from an empty temporary working directory.
    pub fn with_config(config: &Path) -> Siteward {
        Siteward::in_temp_dir(
            String::new(),
            "configured",
            Registry::Config(config.to_path_buf()),
        )
    }

    /// No `--db`, no `--config` and no `--actor`, from an empty temporary
    /// working directory: for commands that need no registry.
    pub fn without_registry() -> Siteward {
        Siteward::in_temp_dir(String::new(), "no registry", Registry::Unnamed).without_actor()
    }

    fn in_temp_dir(db: String, backend: &'static str, registry: Registry) -> Siteward {
        let dir = tempfile::tempdir().expect("temp dir");
        let cwd = dir.path().to_path_buf();
        Siteward::build(db, backend, registry, cwd, Some(dir))
    }

    fn build(
        db: String,
        backend: &'static str,
        registry: Registry,
        cwd: PathBuf,
        dir: Option<tempfile::TempDir>,
    ) -> Siteward {
        Siteward {
            db,
            registry,
            backend,
            cwd,
            _dir: dir,
            actor: Some("张三"),
            env: vec![],
        }
    }

    /// An environment variable for every run.
    pub fn env(mut self, name: &str, value: &str) -> Siteward {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// No `--actor`: the command names its own, or none.
    pub fn without_actor(mut self) -> Siteward {
        self.actor = None;
        self
    }

    /// `--actor name` instead of 张三.
    pub fn actor(mut self, name: &'static str) -> Siteward {
        self.actor = Some(name);
        self
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.cwd
    }

    /// `name` in the working directory.
    pub fn path(&self, name: &str) -> String {
        self.cwd.join(name).display().to_string()
    }

    /// The command, before its arguments: for a test that needs more
    /// than [`Siteward::run`] (stdin, a child it waits for).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_siteward"));
        match &self.registry {
            Registry::Url => {
                command.args(["--db", &self.db]);
            }
            Registry::Config(config) => {
                command.arg("--config").arg(config);
            }
            Registry::Unnamed => {}
        }
        if let Some(actor) = self.actor {
            command.args(["--actor", actor]);
        }
        command
            .current_dir(&self.cwd)
            .env_remove("SITEWARD_CONFIG")
            .env_remove("SITEWARD_DATABASE_URL")
            .env_remove("SITEWARD_POLICIES_DIR")
            .envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run siteward")
    }

    /// `--db URL` or `--config FILE` (or nothing), for messages.
    fn target(&self) -> String {
        match &self.registry {
            Registry::Url => format!("--db {}", self.db),
            Registry::Config(config) => format!("--config {}", config.display()),
            Registry::Unnamed => String::new(),
        }
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{}: siteward {} {args:?} failed ({:?}): {}{}",
            self.backend,
            self.target(),
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs a command expected to fail; returns (status, stderr).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "{}: siteward {} {args:?} succeeded: {}",
            self.backend,
            self.target(),
            String::from_utf8_lossy(&output.stdout)
        );
        (
            output.status.code().expect("exit status"),
            String::from_utf8(output.stderr).expect("utf-8"),
        )
    }

    /// The one JSON object a command prints (the args ask for `--json`).
    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// One JSON object a line (the args ask for `--json`).
    pub fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect()
    }
}

impl TestDb {
    /// The binary on this database (see [`Siteward::on`]).
    pub fn cli(&self) -> Siteward {
        Siteward::on(self)
    }
}

/// `org add` for 甘肃省人民政府 (620000, province): with more arguments
/// (`[&ADD_PROVINCE[..], &["--email", …]].concat()`) where a test needs
/// them.
pub const ADD_PROVINCE: [&str; 8] = [
    "org",
    "add",
    "--name",
    "甘肃省人民政府",
    "--division",
    "620000",
    "--level",
    "province",
];

/// `site request` for 甘肃省人民政府门户网站 (portal, www.gansu.gov.cn).
pub const REQUEST_PORTAL: [&str; 10] = [
    "site",
    "request",
    "--name",
    "甘肃省人民政府门户网站",
    "--org",
    "甘肃省人民政府",
    "--kind",
    "portal",
    "--domain",
    "www.gansu.gov.cn",
];

/// The setups many CLI tests start from.
impl Siteward {
    /// `org add`: 甘肃省人民政府, 620000, province.
    pub fn province(&self) {
        self.ok(&ADD_PROVINCE);
    }

    /// [`Siteward::province`], and its portal requested:
    /// 甘肃省人民政府门户网站 on www.gansu.gov.cn.
    pub fn portal(&self) {
        self.province();
        self.ok(&REQUEST_PORTAL);
    }
}

impl Siteward {
    /// Writes `text` as `name` in the working directory (creating its
    /// directories); returns its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.cwd.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("directory");
        }
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }
}
