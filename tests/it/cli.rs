//! The binary end to end, as an administrator runs it: the commands from
//! the README, exit statuses, error messages and the JSON interface.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::ADD_PROVINCE;
/// The runner, shared with the other CLI tests as `crate::cli::Siteward`.
pub(crate) use crate::support::Siteward;

#[test]
fn the_readme_walkthrough() {
    let sw = Siteward::new();
    sw.portal();
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
    sw.province();
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
    let output = Siteward::at("postgres://nobody@127.0.0.1:1/none", sw.dir())
        .without_actor()
        .run(&["site", "list"]);
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
    sw.ok(&[&ADD_PROVINCE[..], &["--email", "ban@gansu.gov.cn"]].concat());
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
    sw.portal();
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
    // Created and migrated first, so that the kill lands in the import.
    sw.ok(&["init"]);
    let mut child = sw
        .command()
        .args(["import", "sites", &file])
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
    sw.province();
    let spawn = |prefix: &'static str| {
        let (db, cwd) = (sw.db.clone(), sw.dir().to_path_buf());
        std::thread::spawn(move || {
            let sw = Siteward::at(&db, &cwd).without_actor();
            for i in 0..15 {
                let output = sw
                    .command()
                    .args([
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
    sw.province();
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
    siteward::policy::write_built_in(Path::new(&policies)).expect("policy");
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

/// Every subcommand says what it does, and every argument what it takes:
/// walked over clap's whole tree, so a verb or a flag added without its
/// help fails here.
#[test]
fn every_subcommand_and_argument_has_help() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if !arg.is_hide_set() && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                missing.push(path.clone());
            }
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&siteward::cli::Cli::command(), "siteward", &mut missing);
    assert!(
        missing.is_empty(),
        "without help text:\n{}",
        missing.join("\n")
    );
}

impl Siteward {
    /// Runs with a home and a working directory of its own and no `--db`:
    /// the defaults as a newcomer meets them. `xdg` sets XDG_DATA_HOME.
    fn newcomer(home: &Path, cwd: &Path, xdg: Option<&Path>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_siteward"));
        command
            .args(["--actor", "张三"])
            .args(args)
            .current_dir(cwd)
            .env("HOME", home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("STATE_DIRECTORY")
            .env_remove("SITEWARD_CONFIG")
            .env_remove("SITEWARD_DATABASE_URL");
        if let Some(xdg) = xdg {
            command.env("XDG_DATA_HOME", xdg);
        }
        command.output().expect("run siteward")
    }

    /// The number of audit rows, organizations and sites: what a refused
    /// command must leave as it was.
    fn registry(&self) -> (usize, Vec<Value>, Vec<Value>) {
        (
            self.json_lines(&["audit", "--json"]).len(),
            self.json_lines(&["org", "list", "--json"]),
            self.json_lines(&["site", "list", "--json"]),
        )
    }
}

/// Every file and directory under `dir`.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        found.push(entry.path());
        if entry.path().is_dir() {
            found.extend(tree(&entry.path()));
        }
    }
    found
}

/// With no --db and no configuration, reading commands find no database
/// and say how to make one, creating nothing anywhere (not in the working
/// directory, not under the home); the first command that records
/// something creates it in the user's data directory and says so once.
#[test]
fn the_default_database_is_the_users_and_reading_creates_none() {
    let home = tempfile::tempdir().expect("home");
    let cwd = tempfile::tempdir().expect("cwd");
    let expected = home.path().join(".local/share/siteward/siteward.db");
    // A dry run changes nothing, the database's existence included.
    let files = tempfile::tempdir().expect("files");
    let csv = files.path().join("sites.csv");
    std::fs::write(&csv, "name,code,url,organizer,division,kind\n").expect("write");
    let csv = csv.display().to_string();
    for args in [
        &["import", "sites", &csv, "--dry-run"][..],
        &["site", "list"],
        &["--json", "site", "list"],
        &["site", "show", "www.gansu.gov.cn"],
        &["org", "list"],
        &["account", "list"],
        &["findings"],
        &["audit"],
        &["audit", "verify"],
        &["export", "sites"],
        &["exception", "list"],
        &["status"],
        &["maintenance", "list"],
        &["report", "list"],
        &["reconcile", "list"],
        &["alerts", "list"],
        &["discover", "--list"],
    ] {
        let output = Siteward::newcomer(home.path(), cwd.path(), None, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&expected.display().to_string()) && stderr.contains("siteward init"),
            "{args:?}: {stderr}"
        );
        assert!(
            tree(home.path()).is_empty(),
            "{args:?} created {:?}",
            tree(home.path())
        );
        assert!(
            tree(cwd.path()).is_empty(),
            "{args:?} created {:?}",
            tree(cwd.path())
        );
    }

    // XDG_DATA_HOME decides where, when set.
    let data = home.path().join("data");
    let added = Siteward::newcomer(home.path(), cwd.path(), Some(&data), &ADD_PROVINCE);
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{stderr}");
    let database = data.join("siteward/siteward.db");
    assert!(database.is_file(), "{:?}", tree(home.path()));
    assert_eq!(
        stderr
            .matches(&format!(
                "siteward: created the registry database at {}",
                database.display()
            ))
            .count(),
        1,
        "{stderr}"
    );
    assert!(tree(cwd.path()).is_empty(), "{:?}", tree(cwd.path()));
    // Said once: not again by the next command, reading or writing.
    for args in [
        &["org", "list"][..],
        &[
            "org",
            "add",
            "--name",
            "兰州市人民政府",
            "--division",
            "620100",
            "--level",
            "prefecture",
        ],
        &["init"],
    ] {
        let output = Siteward::newcomer(home.path(), cwd.path(), Some(&data), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("created"), "{args:?}: {stderr}");
    }
    let listed = Siteward::newcomer(home.path(), cwd.path(), Some(&data), &["org", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("兰州市人民政府"));

    // `init` in a fresh home: the ~/.local/share default.
    let init = Siteward::newcomer(home.path(), cwd.path(), None, &["init"]);
    assert!(init.status.success(), "{init:?}");
    assert!(expected.is_file());
    assert!(String::from_utf8_lossy(&init.stderr).contains("created the registry database"));

    // `restore` into a data directory not made yet makes it.
    let copy = files.path().join("copy.db").display().to_string();
    let backup = Siteward::newcomer(home.path(), cwd.path(), Some(&data), &["backup", &copy]);
    assert!(backup.status.success(), "{backup:?}");
    let elsewhere = home.path().join("elsewhere");
    let restored = Siteward::newcomer(
        home.path(),
        cwd.path(),
        Some(&elsewhere),
        &["restore", &copy],
    );
    assert!(restored.status.success(), "{restored:?}");
    assert!(elsewhere.join("siteward/siteward.db").is_file());
    assert!(tree(cwd.path()).is_empty(), "{:?}", tree(cwd.path()));
}

/// With --json, an error is one JSON object on stderr: a refused value
/// with its field, value and rule; a refused import with its file and
/// every bad row; anything else as `error` alone.
#[test]
fn json_errors() {
    let sw = Siteward::new();
    sw.ok(&["init"]);
    let json_error = |args: &[&str]| -> Value {
        let (status, stderr) = sw.fails(args);
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        serde_json::from_str(stderr.trim_end()).unwrap_or_else(|e| panic!("{e}: {stderr}"))
    };

    let refused = json_error(&[
        "--json",
        "org",
        "add",
        "--name",
        "甘肃\u{202E}省",
        "--division",
        "620000",
        "--level",
        "province",
    ]);
    assert_eq!(refused["field"], "--name", "{refused}");
    assert_eq!(refused["value"], "甘肃\u{202E}省", "{refused}");
    assert!(
        refused["rule"]
            .as_str()
            .is_some_and(|r| r.contains("U+202E")),
        "{refused}"
    );
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("--name"))
    );

    // A value refused by its type, after --json.
    let refused = json_error(&[
        "org",
        "add",
        "--name",
        "甘肃省人民政府",
        "--division",
        "62000x",
        "--level",
        "province",
        "--json",
    ]);
    assert_eq!(refused["field"], "--division", "{refused}");
    assert_eq!(refused["value"], "62000x", "{refused}");

    // Not a value: the error alone.
    let missing = json_error(&["--json", "site", "show", "www.nowhere.gov.cn"]);
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("www.nowhere.gov.cn"))
    );
    assert!(missing.get("field").is_none(), "{missing}");

    let file = sw.path("sites.csv");
    std::fs::write(
        &file,
        "name,code,url,organizer,division,kind\n好,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal\n坏,500xxxxxxx,b.gansu.gov.cn,甘肃省人民政府,620000,portal\n",
    )
    .expect("write");
    let import = json_error(&["--json", "import", "sites", &file]);
    assert_eq!(import["file"], file.as_str(), "{import}");
    assert!(
        import["error"]
            .as_str()
            .is_some_and(|e| e.contains("nothing was changed"))
    );
    let rows = import["rows"].as_array().expect("rows");
    let bad = rows
        .iter()
        .find(|r| r["line"] == 3)
        .unwrap_or_else(|| panic!("{import}"));
    assert!(
        bad["message"]
            .as_str()
            .is_some_and(|m| m.contains("500xxxxxxx")),
        "{import}"
    );

    // Without --json, the same refusal as sentences.
    let (_, stderr) = sw.fails(&["import", "sites", &file]);
    assert!(stderr.contains("sites.csv:line 3: "), "{stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
}

/// `export --json` prints the records as `site list --json` does, field
/// for field; `--format csv --json` is a contradiction, refused.
#[test]
fn export_honours_json() {
    let sw = Siteward::new();
    sw.portal();
    let exported = sw.json_lines(&["--json", "export", "sites"]);
    let listed = sw.json_lines(&["--json", "site", "list"]);
    assert_eq!(exported.len(), 1);
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&exported[0]), keys(&listed[0]));
    assert_eq!(exported[0]["name"], "甘肃省人民政府门户网站");
    let (status, stderr) = sw.fails(&["--json", "export", "sites", "--format", "csv"]);
    assert_eq!(status, 2, "{stderr}");
}

/// `account seen` is now unless told otherwise; `--platform` takes the
/// Chinese names an import takes.
#[test]
fn account_platforms_in_chinese_and_seen_now() {
    let sw = Siteward::new();
    sw.province();
    for (platform, expected) in [
        ("微博", "weibo"),
        ("微信公众号", "wechat_subscription"),
        ("douyin", "douyin"),
    ] {
        let added = &sw.json_lines(&[
            "--json",
            "account",
            "add",
            "--platform",
            platform,
            "--handle",
            "gansufabu",
            "--name",
            "甘肃发布",
            "--org",
            "甘肃省人民政府",
        ])[0];
        assert_eq!(added["platform"], expected, "{platform}");
    }
    let (status, stderr) = sw.fails(&[
        "account",
        "add",
        "--platform",
        "脸书",
        "--handle",
        "x",
        "--name",
        "x",
        "--org",
        "甘肃省人民政府",
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("--platform") && stderr.contains("微博"),
        "{stderr}"
    );

    let before = chrono::Utc::now();
    sw.ok(&["account", "seen", "weibo:gansufabu"]);
    let account = &sw.json_lines(&["account", "show", "weibo:gansufabu", "--json"])[0];
    let seen: chrono::DateTime<chrono::Utc> = account["last_post_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{account}"));
    assert!(
        (seen - before).num_seconds().abs() <= 5,
        "{seen} is not now ({before})"
    );
}

/// A control or direction character in a name, a note, a reason or the
/// actor is refused at the command line, naming the argument, exit 2,
/// and the registry is as it was. The message never prints it raw.
#[test]
fn control_characters_are_refused_at_the_command_line() {
    let sw = Siteward::new();
    sw.portal();
    let before = sw.registry();
    for (field, args) in [
        (
            "--name",
            &[
                "site",
                "request",
                "--name",
                "门户\n网站",
                "--org",
                "甘肃省人民政府",
                "--kind",
                "portal",
                "--domain",
                "x.gansu.gov.cn",
            ][..],
        ),
        (
            "--name",
            &[
                "org",
                "add",
                "--name",
                "兰州\u{202E}市",
                "--division",
                "620100",
                "--level",
                "prefecture",
            ],
        ),
        (
            "--name",
            &[
                "site",
                "edit",
                "www.gansu.gov.cn",
                "--name",
                "门户\u{202E}网站",
            ],
        ),
        (
            "--org",
            &[
                "site",
                "edit",
                "www.gansu.gov.cn",
                "--org",
                "甘肃\n省人民政府",
            ],
        ),
        (
            "--reason",
            &["site", "reject", "www.gansu.gov.cn", "--reason", "不符\n合"],
        ),
        (
            "--ref",
            &[
                "site",
                "approve",
                "www.gansu.gov.cn",
                "--ref",
                "甘政办\u{202E}函",
            ],
        ),
        (
            "--note",
            &["findings", "ack", "1", "--note", "处理中\n第二行"],
        ),
        (
            "--name",
            &[
                "account",
                "add",
                "--platform",
                "weibo",
                "--handle",
                "gansu",
                "--name",
                "甘肃\n发布",
                "--org",
                "甘肃省人民政府",
            ],
        ),
        (
            "--reason",
            &[
                "maintenance",
                "add",
                "--org",
                "甘肃省人民政府",
                "--cron",
                "0 22 * * 6",
                "--duration",
                "2h",
                "--reason",
                "迁移\u{2066}",
            ],
        ),
        (
            "--email",
            &[
                "org",
                "edit",
                "甘肃省人民政府",
                "--email",
                "ban@gansu.gov.cn\u{85}",
            ],
        ),
    ] {
        let (status, stderr) = sw.fails(args);
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains("U+"),
            "{args:?} does not name {field}: {stderr}"
        );
        let message = stderr.trim_end();
        assert!(
            !message
                .chars()
                .any(|c| siteward::registry::text::forbidden(c, false)),
            "raw control character in: {message:?}"
        );
    }
    // Names are bounded (200 characters), notes too (2,000).
    let long = "政".repeat(201);
    let (status, stderr) = sw.fails(&[
        "org",
        "add",
        "--name",
        &long,
        "--division",
        "620100",
        "--level",
        "prefecture",
    ]);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("--name") && stderr.contains("201 characters"),
        "{stderr}"
    );
    let long = "x".repeat(2001);
    let (status, stderr) = sw.fails(&["site", "reject", "www.gansu.gov.cn", "--reason", &long]);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("--reason") && stderr.contains("2001 characters"),
        "{stderr}"
    );
    // --actor, given once (Siteward::run gives its own).
    let output = Siteward::at(&sw.db, sw.dir()).without_actor().run(&[
        "--actor",
        "张\u{202E}三\n",
        "site",
        "edit",
        "www.gansu.gov.cn",
        "--icp",
        "陇ICP备05000001号",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--actor") && stderr.contains("U+"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{202E}'), "{stderr}");
    assert_eq!(sw.registry(), before);
}

/// Text stored before the checks (written into the database directly
/// here) is shown escaped in every table: it can neither add a row nor
/// reverse one.
#[test]
fn stored_control_characters_are_escaped_in_tables() {
    use diesel::{Connection, RunQueryDsl, sqlite::SqliteConnection};
    let sw = Siteward::new();
    sw.portal();
    let mut conn = SqliteConnection::establish(&sw.path("siteward.db")).expect("open");
    diesel::sql_query("UPDATE organizations SET name = ?")
        .bind::<diesel::sql_types::Text, _>("甘肃\n1  620000  province  伪造\u{202E}行")
        .execute(&mut conn)
        .expect("update org");
    diesel::sql_query("UPDATE sites SET name = ?")
        .bind::<diesel::sql_types::Text, _>("门户\r\n\u{202E}网站")
        .execute(&mut conn)
        .expect("update site");
    drop(conn);
    for (args, rows) in [
        (&["org", "list"][..], 2),
        (&["site", "list"], 2),
        (&["account", "list"], 1),
    ] {
        let table = sw.ok(args);
        assert_eq!(table.lines().count(), rows, "{args:?}: {table}");
        assert!(
            !table
                .chars()
                .any(|c| c != '\n' && siteward::registry::text::forbidden(c, false)),
            "{args:?}: {table:?}"
        );
    }
    let orgs = sw.ok(&["org", "list"]);
    assert!(
        orgs.contains("甘肃\\n1") && orgs.contains("\\u{202E}"),
        "{orgs}"
    );
    let site = sw.ok(&["site", "show", "www.gansu.gov.cn"]);
    assert!(site.contains("门户\\r\\n\\u{202E}网站"), "{site}");
    assert!(
        !site.contains('\u{202E}') && !site.contains('\r'),
        "{site:?}"
    );
    // The changes made around siteward are breaks, quoted escaped.
    let verify = sw.run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(3));
    let report = String::from_utf8(verify.stdout).expect("utf-8");
    assert!(report.contains("BREAK"), "{report}");
    assert!(
        !report
            .chars()
            .any(|c| c != '\n' && siteward::registry::text::forbidden(c, false)),
        "{report:?}"
    );
}

/// A PostgreSQL URL is the server's business: a reading command on a
/// fresh database migrates it and reads nothing, as before.
#[test]
fn a_postgresql_database_is_not_checked_for_a_file() {
    let Some(db) = crate::support::postgres() else {
        return;
    };
    let sw = db.cli().without_actor();
    let output = sw.run(&["--json", "site", "list"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
    assert!(tree(sw.dir()).is_empty());
}
