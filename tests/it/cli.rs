//! The binary end to end, as an administrator runs it: the commands from
//! the README, exit statuses, error messages and the JSON interface.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The binary over a fresh SQLite registry in a temporary directory
/// (shared with the other CLI tests: `crate::cli::Siteward`).
pub(crate) struct Siteward {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) db: String,
}

impl Siteward {
    pub(crate) fn new() -> Siteward {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite://{}", dir.path().join("siteward.db").display());
        Siteward { dir, db }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_siteward"))
            .args(["--db", &self.db, "--actor", "张三"])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("SITEWARD_CONFIG")
            .env_remove("SITEWARD_DATABASE_URL")
            .output()
            .expect("run siteward")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "siteward {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs a command expected to fail; returns (status, stderr).
    pub(crate) fn fails(&self, args: &[&str]) -> (i32, String) {
        let output = self.run(args);
        assert!(!output.status.success(), "siteward {args:?} succeeded");
        (
            output.status.code().expect("exit code"),
            String::from_utf8(output.stderr).expect("utf-8"),
        )
    }

    pub(crate) fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect()
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn the_readme_walkthrough() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    sw.ok(&[
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
    ]);
    sw.ok(&[
        "site",
        "approve",
        "www.gansu.gov.cn",
        "--ref",
        "甘政办函〔2026〕12号",
    ]);
    sw.ok(&[
        "site",
        "go-live",
        "www.gansu.gov.cn",
        "--code",
        "6200000001",
    ]);
    let table = sw.ok(&["site", "list"]);
    assert!(
        table.contains("6200000001")
            && table.contains("live")
            && table.contains("www.gansu.gov.cn"),
        "{table}"
    );

    let sites = sw.json_lines(&["site", "list", "--json"]);
    assert_eq!(sites.len(), 1);
    let site = &sites[0];
    for field in [
        "id",
        "code",
        "name",
        "kind",
        "org",
        "status",
        "domains",
        "approval_ref",
        "successor_url",
    ] {
        assert!(site.get(field).is_some(), "site JSON lacks {field}: {site}");
    }
    assert_eq!(site["code"], "6200000001");
    assert_eq!(site["status"], "live");
    assert_eq!(site["org"], "甘肃省人民政府");
    assert_eq!(site["approval_ref"], "甘政办函〔2026〕12号");
    assert_eq!(site["domains"][0]["hostname"], "www.gansu.gov.cn");
    assert_eq!(site["domains"][0]["role"], "primary");
    assert_eq!(site["domains"][0]["state"], "active");

    let audit = sw.json_lines(&["audit", "--site", "6200000001", "--json"]);
    let actions: Vec<&str> = audit
        .iter()
        .map(|row| row["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["request", "approve", "go-live"]);
    for row in &audit {
        for field in [
            "at",
            "effective_at",
            "actor",
            "entity",
            "entity_id",
            "action",
            "before",
            "after",
            "reason",
        ] {
            assert!(row.get(field).is_some(), "audit JSON lacks {field}: {row}");
        }
        assert_eq!(row["actor"], "张三");
    }
    assert_eq!(audit[1]["reason"], "甘政办函〔2026〕12号");
    assert_eq!(audit[1]["before"]["status"], "requested");
    assert_eq!(audit[1]["after"]["status"], "approved");

    let orgs = sw.json_lines(&["org", "list", "--json"]);
    for field in ["name", "division", "level", "parent"] {
        assert!(orgs[0].get(field).is_some(), "org JSON lacks {field}");
    }

    // An import from the national system's export, in its own format.
    let export = sw.path("export-from-national-system.csv");
    std::fs::write(
        &export,
        encoding_rs::GB18030
            .encode("网站名称,网站标识码,首页网址,主办单位,行政区划代码,网站类型,运行状态\n甘肃省人民政府门户网站,6200000001,https://www.gansu.gov.cn/,甘肃省人民政府,620000,门户网站,运行中\n甘肃省水利厅,6200000002,http://slt.gansu.gov.cn/,甘肃省水利厅,620000,部门网站,运行中\n")
            .0,
    )
    .expect("write");
    let summary = sw.ok(&["import", "sites", &export]);
    assert!(
        summary.contains("1 created, 0 updated, 1 unchanged"),
        "{summary}"
    );
    assert!(summary.contains("GB18030"), "{summary}");
    let summary = sw.ok(&["import", "sites", &export]);
    assert!(
        summary.contains("0 created, 0 updated, 2 unchanged"),
        "{summary}"
    );
}

#[test]
fn exit_statuses_and_messages() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    sw.ok(&[
        "site",
        "request",
        "--name",
        "门户",
        "--org",
        "甘肃省人民政府",
        "--kind",
        "portal",
        "--domain",
        "www.gansu.gov.cn",
    ]);

    // Forbidden transition: exit 2, names the state and allowed actions.
    let (status, stderr) = sw.fails(&["site", "close", "www.gansu.gov.cn"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("it is requested; allowed from requested: approve, reject, edit"),
        "{stderr}"
    );

    // Invalid input names the field, the value and the rule.
    sw.ok(&["site", "approve", "1", "--ref", "甘政办函〔2026〕12号"]);
    let (status, stderr) = sw.fails(&["site", "go-live", "1", "--code", "1234567890"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("code `1234567890`") && stderr.contains("placeholder"),
        "{stderr}"
    );
    let (status, stderr) = sw.fails(&[
        "site",
        "request",
        "--name",
        "x",
        "--org",
        "甘肃省人民政府",
        "--kind",
        "portal",
        "--domain",
        "www.example.com",
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("hostname `www.example.com`") && stderr.contains("--exception"),
        "{stderr}"
    );
    let (status, stderr) = sw.fails(&[
        "org",
        "add",
        "--name",
        "x",
        "--division",
        "62000",
        "--level",
        "county",
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("division `62000` must be 6 digits"),
        "{stderr}"
    );
    let (status, stderr) = sw.fails(&["site", "show", "www.nowhere.gov.cn"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("no site `www.nowhere.gov.cn`"), "{stderr}");

    // Nothing changed by any of the failures.
    let audit = sw.json_lines(&["audit", "--json"]);
    assert_eq!(audit.len(), 3, "org add, request, approve");

    // A warning is shown and the code accepted.
    let output = sw.run(&["site", "go-live", "1", "--code", "4412910009"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: code `4412910009`"), "{stderr}");

    // A system failure (an unreadable database) exits 1.
    let output = Command::new(env!("CARGO_BIN_EXE_siteward"))
        .args(["--db", "postgres://nobody@127.0.0.1:1/none", "site", "list"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn past_events_and_local_times() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "某县水利局",
        "--division",
        "620102",
        "--level",
        "county",
    ]);
    sw.ok(&[
        "site",
        "request",
        "--name",
        "某县水利局网站",
        "--org",
        "某县水利局",
        "--kind",
        "department",
        "--domain",
        "slj.cgq.gov.cn",
        "--at",
        "2019-03-01",
    ]);
    sw.ok(&[
        "site",
        "approve",
        "slj.cgq.gov.cn",
        "--ref",
        "城关政办发〔2019〕3号",
        "--at",
        "2019-03-10",
    ]);
    sw.ok(&[
        "site",
        "go-live",
        "slj.cgq.gov.cn",
        "--code",
        "6201020001",
        "--at",
        "2019-04-01T09:00:00+08:00",
    ]);
    sw.ok(&[
        "site",
        "retire",
        "slj.cgq.gov.cn",
        "--ref",
        "城关政办发〔2025〕8号",
        "--successor",
        "https://www.cgq.gov.cn/slj/",
        "--at",
        "2025-06-01",
    ]);
    let out = sw.ok(&["site", "offline", "slj.cgq.gov.cn", "--at", "2025-07-05"]);
    assert!(out.contains("deregistered by 2025-08-04 00:00:00"), "{out}");
    let site = &sw.json_lines(&["site", "show", "6201020001", "--json"])[0];
    assert_eq!(site["live_at"], "2019-04-01T01:00:00Z");
    assert_eq!(site["status"], "offline");
    assert_eq!(site["successor_url"], "https://www.cgq.gov.cn/slj/");
    assert_eq!(site["domains"][0]["state"], "releasing");
    assert_eq!(
        site["domains"][0]["release_deadline"],
        "2025-08-03T16:00:00Z"
    );
    let shown = sw.ok(&["site", "show", "slj.cgq.gov.cn"]);
    assert!(
        shown.contains("2019-04-01 09:00:00"),
        "people see China Standard Time: {shown}"
    );
}

#[test]
fn accounts_from_the_command_line() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
        "--email",
        "ban@gansu.gov.cn",
    ]);
    let added = &sw.json_lines(&[
        "account",
        "add",
        "--platform",
        "weibo",
        "--handle",
        "gansufabu",
        "--name",
        "甘肃发布",
        "--org",
        "甘肃省人民政府",
        "--json",
    ])[0];
    for field in [
        "id",
        "platform",
        "account_id",
        "name",
        "org",
        "status",
        "last_post_at",
    ] {
        assert!(added.get(field).is_some(), "account JSON lacks {field}");
    }
    sw.ok(&[
        "account",
        "add",
        "--platform",
        "douyin",
        "--handle",
        "gansufabu",
        "--name",
        "甘肃发布",
        "--org",
        "甘肃省人民政府",
    ]);
    let (status, stderr) = sw.fails(&["account", "seen", "gansufabu", "--at", "2026-11-01"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("more than one account"), "{stderr}");
    sw.ok(&[
        "account",
        "seen",
        "weibo:gansufabu",
        "--at",
        "2026-11-01 08:00",
    ]);
    let account = &sw.json_lines(&["account", "show", "weibo:gansufabu", "--json"])[0];
    assert_eq!(account["last_post_at"], "2026-11-01T00:00:00Z");
    sw.ok(&["account", "close", "douyin:gansufabu", "--reason", "整合"]);
    let (status, _) = sw.fails(&["account", "resume", "douyin:gansufabu"]);
    assert_eq!(status, 2);
    let active = sw.json_lines(&["account", "list", "--status", "active", "--json"]);
    assert_eq!(active.len(), 1);
}

#[test]
fn import_refusal_lists_lines_and_exits_2() {
    let sw = Siteward::new();
    let file = sw.path("sites.csv");
    std::fs::write(
        &file,
        "name,code,url,organizer,division,kind\n好,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal\n坏,500xxxxxxx,b.gansu.gov.cn,甘肃省人民政府,620000,portal\n",
    )
    .expect("write");
    let (status, stderr) = sw.fails(&["import", "sites", &file]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("sites.csv:line 3: code `500xxxxxxx`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(sw.json_lines(&["site", "list", "--json"]).is_empty());
    // A dry run of a good file reports and writes nothing.
    std::fs::write(&file, "name,code,url,organizer,division,kind\n好,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal\n").expect("write");
    let out = sw.ok(&["import", "sites", &file, "--dry-run"]);
    assert!(
        out.contains("dry run") && out.contains("1 created"),
        "{out}"
    );
    assert!(sw.json_lines(&["site", "list", "--json"]).is_empty());
}

#[test]
fn export_formats() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    sw.ok(&[
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
    ]);
    let zh = sw.ok(&["export", "sites"]);
    assert!(
        zh.starts_with("网站名称,网站标识码,首页网址,主办单位,行政区划代码,网站类型,运行状态"),
        "{zh}"
    );
    assert!(zh.contains("门户网站,申请中"), "{zh}");
    let en = sw.ok(&["export", "sites", "--headers", "en"]);
    assert!(
        en.starts_with("name,code,url,org,division,kind,status"),
        "{en}"
    );
    let file = sw.path("sites-gb.csv");
    sw.ok(&[
        "export",
        "sites",
        "--encoding",
        "gb18030",
        "--output",
        &file,
    ]);
    let bytes = std::fs::read(Path::new(&file)).expect("read");
    assert!(std::str::from_utf8(&bytes).is_err(), "GB18030 bytes");
    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
    assert!(text.contains("甘肃省人民政府门户网站"));
    let json = sw.json_lines(&["export", "sites", "--format", "json"]);
    assert_eq!(json[0]["name"], "甘肃省人民政府门户网站");
}

#[test]
fn code_check_command() {
    let sw = Siteward::new();
    let out = sw.ok(&["code", "6200000001"]);
    assert!(out.contains("prefix 620000: 甘肃省"), "{out}");
    let (status, stderr) = sw.fails(&["code", "3610782"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("code `3610782`"), "{stderr}");
}

/// A process killed in the middle of an import leaves the registry as it
/// was before or after, never half-imported, and the database opens.
#[test]
fn killed_import_leaves_all_or_nothing() {
    let sw = Siteward::new();
    let file = sw.path("many.csv");
    let mut csv = String::from("name,code,url,organizer,division,kind\n");
    for i in 0..4000 {
        csv.push_str(&format!(
            "网站{i},,s{i}.gansu.gov.cn,甘肃省人民政府,620000,department\n"
        ));
    }
    std::fs::write(&file, csv).expect("write");
    sw.ok(&["site", "list"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_siteward"))
        .args(["--db", &sw.db, "import", "sites", &file])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let count = sw.json_lines(&["site", "list", "--json"]).len();
    assert!(
        count == 0 || count == 4000,
        "half an import survived: {count} sites"
    );
    let audited = sw
        .json_lines(&["audit", "--json"])
        .iter()
        .filter(|r| r["entity"] == "site")
        .count();
    assert_eq!(
        audited, count,
        "every site has its audit row, and no audit row lacks its site"
    );
}

/// Two processes writing one SQLite file at once both succeed: writers
/// wait for the lock instead of failing.
#[test]
fn concurrent_writers_on_one_sqlite_file() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    let spawn = |prefix: &'static str| {
        let db = sw.db.clone();
        std::thread::spawn(move || {
            for i in 0..15 {
                let output = Command::new(env!("CARGO_BIN_EXE_siteward"))
                    .args([
                        "--db",
                        &db,
                        "site",
                        "request",
                        "--name",
                        "并发",
                        "--org",
                        "甘肃省人民政府",
                        "--kind",
                        "special",
                    ])
                    .arg("--domain")
                    .arg(format!("{prefix}{i}.gansu.gov.cn"))
                    .output()
                    .expect("run");
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        })
    };
    let (a, b) = (spawn("a"), spawn("b"));
    a.join().expect("writer a");
    b.join().expect("writer b");
    assert_eq!(sw.json_lines(&["site", "list", "--json"]).len(), 30);
}

/// The database itself refuses to rewrite history.
#[test]
fn the_audit_trail_is_append_only() {
    use diesel::{Connection, RunQueryDsl, sqlite::SqliteConnection};
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    let path = sw.db.trim_start_matches("sqlite://").to_string();
    let mut conn = SqliteConnection::establish(&path).expect("open");
    for statement in [
        "DELETE FROM audit",
        "UPDATE audit SET actor = 'x'",
        "DELETE FROM organizations",
    ] {
        let error = diesel::sql_query(statement)
            .execute(&mut conn)
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only")
                || error.to_string().contains("never deleted"),
            "{error}"
        );
    }
    assert_eq!(sw.json_lines(&["audit", "--json"]).len(), 1);
}

/// An organization's webhook carries its secret in its path or query:
/// `org show`, `org list` and exports mask it. A sink with a bad URL, or
/// a route naming a sink nobody configured, is refused with its name.
#[test]
fn webhook_secrets_are_masked_and_bad_sinks_refused() {
    let sw = Siteward::new();
    sw.ok(&[
        "org",
        "add",
        "--name",
        "兰州市人民政府办公室",
        "--division",
        "620100",
        "--level",
        "prefecture",
        "--webhook",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=TOPSECRET",
    ]);
    for args in [
        &["org", "show", "兰州市人民政府办公室"][..],
        &["--json", "org", "show", "兰州市人民政府办公室"],
        &["org", "list"],
        &["export", "orgs"],
    ] {
        let shown = sw.ok(args);
        assert!(
            !shown.contains("TOPSECRET"),
            "{args:?} shows the secret:\n{shown}"
        );
        assert!(shown.contains("qyapi.weixin.qq.com"), "{args:?}:\n{shown}");
    }
    // An export re-imported keeps the webhook its masked form stands for.
    let exported = sw.path("orgs.csv");
    sw.ok(&["export", "orgs", "-o", &exported]);
    sw.ok(&["import", "orgs", &exported]);
    let again = sw.path("orgs-again.csv");
    sw.ok(&["export", "orgs", "-o", &again]);
    assert_eq!(
        std::fs::read(&exported).expect("export"),
        std::fs::read(&again).expect("export")
    );
    let (code, stderr) = sw.fails(&[
        "org",
        "add",
        "--name",
        "天水市人民政府办公室",
        "--division",
        "620500",
        "--level",
        "prefecture",
        "--webhook",
        "https://qyapi.weixin.qq.com/…?…",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is masked"), "{stderr}");

    let config = sw.path("siteward.toml");
    std::fs::write(
        &config,
        "[[alerts.sink]]\nname = \"office\"\nkind = \"webhook\"\nurl = \"ftp://10.0.0.1/hook?token=TOPSECRET\"\n",
    )
    .expect("config");
    let (code, stderr) = sw.fails(&["--config", &config, "org", "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`office`") && stderr.contains("not an http or https URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");

    let policies = sw.path("policies");
    std::fs::create_dir_all(&policies).expect("dir");
    std::fs::write(
        format!("{policies}/siteward.toml"),
        include_str!("../../policies/siteward.toml"),
    )
    .expect("policy");
    std::fs::write(
        format!("{policies}/alerts.toml"),
        "[[route]]\nseverities = [\"critical\"]\nsinks = [\"duty\"]\n",
    )
    .expect("alerts");
    std::fs::write(
        &config,
        format!("[policies]\ndir = \"{policies}\"\n\n[[alerts.sink]]\nname = \"office\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n"),
    )
    .expect("config");
    let (code, stderr) = sw.fails(&["--config", &config, "org", "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("line 1") && stderr.contains("sink `duty`") && stderr.contains("office"),
        "{stderr}"
    );
}
