//! What the registry refuses so that an office can answer for it, through
//! the binary as an administrator runs it: effective times in the future
//! or before 1994, exceptions longer than policy allows, changes dated
//! before what they change existed, and organizations whose level,
//! division and parent disagree. Every refusal exits 2, names the field,
//! the value and the rule, shows times in China Standard Time, and
//! changes nothing.

use std::process::Output;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use crate::support::{REQUEST_PORTAL, Siteward};

/// What these tests ask of the runner besides running.
impl Siteward {
    /// Runs a command that must be refused as the user's error (exit
    /// status 2); returns its stderr.
    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8(output.stderr).expect("utf-8");
        assert_eq!(
            output.status.code(),
            Some(2),
            "siteward {args:?} was not refused as the user's error: {stderr}"
        );
        assert!(
            !stderr.contains("UTC") && !stderr.contains("+00:00"),
            "people read China Standard Time: {stderr}"
        );
        stderr
    }

    fn org(&self, name: &str, division: &str, level: &str, parent: Option<&str>) -> Output {
        let mut args = vec![
            "org",
            "add",
            "--name",
            name,
            "--division",
            division,
            "--level",
            level,
        ];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        self.run(&args)
    }

    fn org_names(&self) -> Vec<String> {
        self.json_lines(&["org", "list", "--json"])
            .iter()
            .map(|o| o["name"].as_str().expect("name").to_string())
            .collect()
    }
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00")
}

/// A date `days` from now, as people type it (China Standard Time).
fn date_in(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .with_timezone(&china())
        .format("%Y-%m-%d")
        .to_string()
}

/// The time shown right after `marker` in `text`, read as China Standard
/// Time.
fn shown_after(text: &str, marker: &str) -> DateTime<Utc> {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {text}"))
        + marker.len();
    let shown = text.get(start..start + 19).expect("a time follows");
    let naive = NaiveDateTime::parse_from_str(shown, "%Y-%m-%d %H:%M:%S").expect("a shown time");
    china()
        .from_local_datetime(&naive)
        .single()
        .expect("one time")
        .with_timezone(&Utc)
}

#[test]
fn effective_times_in_the_future_or_before_1994_are_refused() {
    let sw = Siteward::new();
    sw.province();
    sw.ok(&[&REQUEST_PORTAL[..], &["--at", "2019-03-01"]].concat());
    sw.ok(&[
        "site",
        "approve",
        "www.gansu.gov.cn",
        "--ref",
        "甘政办函〔2019〕1号",
        "--at",
        "2019-03-10",
    ]);

    // A mistyped year: refused, so it cannot lock the lifecycle.
    let before = Utc::now();
    let stderr = sw.refused(&[
        "site",
        "go-live",
        "www.gansu.gov.cn",
        "--code",
        "6200000001",
        "--at",
        "2099-01-05",
    ]);
    assert!(
        stderr.contains("--at `2099-01-05 00:00:00` is in the future"),
        "{stderr}"
    );
    // The limit is now plus five minutes, shown in China Standard Time.
    let limit = shown_after(&stderr, "no later than ");
    assert!(
        limit >= before + Duration::minutes(5) - Duration::seconds(1)
            && limit <= Utc::now() + Duration::minutes(5),
        "{limit} is not five minutes from now: {stderr}"
    );
    assert!(stderr.contains("(China Standard Time)"), "{stderr}");
    let site = &sw.json_lines(&["site", "show", "www.gansu.gov.cn", "--json"])[0];
    assert_eq!(site["status"], "approved", "nothing changed");
    // A few minutes of clock skew are not a mistake.
    let skewed = (Utc::now() + Duration::minutes(2)).to_rfc3339();
    sw.ok(&[
        "site",
        "go-live",
        "www.gansu.gov.cn",
        "--code",
        "6200000001",
        "--at",
        &skewed,
    ]);

    let stderr = sw.refused(&[
        "site",
        "suspend",
        "www.gansu.gov.cn",
        "--reason",
        "改版",
        "--at",
        "1993-12-31 23:00",
    ]);
    assert!(
        stderr.contains(
            "--at `1993-12-31 23:00:00` is before 1994-01-01 00:00:00 (China Standard Time)"
        ),
        "{stderr}"
    );

    sw.ok(&[
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
        "--at",
        "2015-06-01",
    ]);
    let stderr = sw.refused(&["account", "seen", "gansufabu", "--at", "2099-01-01"]);
    assert!(stderr.contains("--at `2099-01-01 00:00:00`"), "{stderr}");
    let stderr = sw.refused(&["account", "seen", "gansufabu", "--at", "1990-05-01"]);
    assert!(stderr.contains("before 1994-01-01"), "{stderr}");
    let stderr = sw.refused(&[
        "account",
        "suspend",
        "gansufabu",
        "--reason",
        "r",
        "--at",
        "2100-01-01",
    ]);
    assert!(stderr.contains("is in the future"), "{stderr}");
    let account = &sw.json_lines(&["account", "show", "gansufabu", "--json"])[0];
    assert_eq!(account["last_post_at"], Value::Null);
    assert_eq!(account["status"], "active");

    // An import's --at, and the times in its rows.
    let file = sw.write(
        "accounts.csv",
        "platform,account_id,name,org,status,last_post_at\n\
         weibo,gansufabu,甘肃发布,甘肃省人民政府,active,2026-01-02 10:00\n\
         douyin,gansufabu,甘肃发布,甘肃省人民政府,active,2099-01-02 10:00\n\
         bilibili,gansufabu,甘肃发布,甘肃省人民政府,active,1993-01-02 10:00\n",
    );
    let stderr = sw.refused(&["import", "accounts", &file]);
    assert!(
        stderr.contains("accounts.csv:line 3: last_post_at `2099-01-02 10:00:00` is in the future"),
        "{stderr}"
    );
    assert!(
        stderr.contains("accounts.csv:line 4: last_post_at `1993-01-02 10:00:00` is before 1994"),
        "{stderr}"
    );
    assert!(!stderr.contains("line 2:"), "{stderr}");
    assert_eq!(sw.json_lines(&["account", "list", "--json"]).len(), 1);
    let stderr = sw.refused(&["import", "accounts", &file, "--at", "2099-01-01"]);
    assert!(stderr.contains("--at `2099-01-01 00:00:00`"), "{stderr}");
}

#[test]
fn lifecycle_refusals_show_china_standard_time() {
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
    for args in [
        vec![
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
        ],
        vec![
            "site",
            "approve",
            "slj.cgq.gov.cn",
            "--ref",
            "城关政办发〔2019〕3号",
            "--at",
            "2019-03-10",
        ],
        vec![
            "site",
            "go-live",
            "slj.cgq.gov.cn",
            "--code",
            "6201020001",
            "--at",
            "2019-04-01T09:00:00+08:00",
        ],
    ] {
        sw.ok(&args);
    }
    let stderr = sw.refused(&[
        "site",
        "suspend",
        "slj.cgq.gov.cn",
        "--reason",
        "整改",
        "--at",
        "2019-04-01 08:00",
    ]);
    assert!(
        stderr.contains(
            "effective time 2019-04-01 08:00:00 is before the site 1 (slj.cgq.gov.cn)'s previous \
             transition at 2019-04-01 09:00:00 (China Standard Time)"
        ),
        "{stderr}"
    );
    sw.ok(&[
        "site",
        "retire",
        "slj.cgq.gov.cn",
        "--ref",
        "城关政办发〔2025〕8号",
        "--at",
        "2025-06-01",
    ]);
    let stderr = sw.refused(&["site", "offline", "slj.cgq.gov.cn", "--at", "2025-06-10"]);
    assert!(
        stderr.contains(
            "the notice runs until 2025-07-01 00:00:00 (retired at 2025-06-01 00:00:00, China \
             Standard Time)"
        ),
        "{stderr}"
    );
}

#[test]
fn exceptions_end_in_the_future_within_the_policy() {
    let sw = Siteward::new();
    let add = |until: &str| {
        sw.run(&[
            "exception",
            "add",
            "--kind",
            "ipv6_missing",
            "--subject",
            "www.jinchang.gov.cn",
            "--reason",
            "IPv6 改造已列入计划",
            "--until",
            until,
        ])
    };
    let stderr = sw.refused(&[
        "exception",
        "add",
        "--kind",
        "ipv6_missing",
        "--subject",
        "www.jinchang.gov.cn",
        "--reason",
        "IPv6 改造已列入计划",
        "--until",
        &date_in(400),
    ]);
    assert!(
        stderr.contains("is more than 365 days from now")
            && stderr.contains("[thresholds] max_exception_days"),
        "{stderr}"
    );
    let latest = shown_after(&stderr, "may last until ");
    assert!(
        (latest - (Utc::now() + Duration::days(365)))
            .num_seconds()
            .abs()
            < 60,
        "the limit shown is a year from now, China Standard Time: {stderr}"
    );
    let stderr = sw.refused(&[
        "exception",
        "add",
        "--kind",
        "ipv6_missing",
        "--subject",
        "www.jinchang.gov.cn",
        "--reason",
        "r",
        "--until",
        &date_in(-2),
    ]);
    assert!(stderr.contains("is not in the future"), "{stderr}");
    assert!(sw.json_lines(&["exception", "list", "--json"]).is_empty());
    let output = add(&date_in(300));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(sw.json_lines(&["exception", "list", "--json"]).len(), 1);

    // An exception given with a site request obeys the same limit, and
    // the refused request stores nothing.
    sw.ok(&[
        "org",
        "add",
        "--name",
        "济南市人民政府",
        "--division",
        "370100",
        "--level",
        "prefecture",
    ]);
    let stderr = sw.refused(&[
        "site",
        "request",
        "--name",
        "济南市门户网站",
        "--org",
        "济南市人民政府",
        "--kind",
        "portal",
        "--domain",
        "www.jinan.cn",
        "--exception",
        "历史域名",
        "--until",
        "2099-01-01",
    ]);
    assert!(
        stderr.contains("until `2099-01-02 00:00:00` is more than 365 days"),
        "{stderr}"
    );
    assert!(sw.json_lines(&["site", "list", "--json"]).is_empty());

    // An office's own policy, named in the configuration, may allow less.
    siteward::policy::write_built_in(&sw.dir().join("policies")).expect("policies");
    let policies = sw.write(
        "policies/siteward.toml",
        "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n\n[domains]\n\
         allowed_suffixes = [\"gov.cn\"]\n\n[thresholds]\nmax_exception_days = 30\n",
    );
    let policies = std::path::Path::new(&policies)
        .parent()
        .expect("the directory")
        .display()
        .to_string();
    let config = sw.write(
        "siteward.toml",
        &format!("[policies]\ndir = \"{policies}\"\n"),
    );
    let add = |until: &str| {
        sw.run(&[
            "--config",
            &config,
            "exception",
            "add",
            "--kind",
            "ipv6_missing",
            "--subject",
            "www.jinchang.gov.cn",
            "--reason",
            "IPv6 改造已列入计划",
            "--until",
            until,
        ])
    };
    let output = add(&date_in(60));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is more than 30 days from now"), "{stderr}");
    let output = add(&date_in(20));
    assert!(output.status.success(), "{output:?}");
    let policy = &sw.json_lines(&["policy", "check", "policies", "--json"])[0];
    assert_eq!(policy["thresholds"]["max_exception_days"], 30);
}

#[test]
fn changes_are_not_dated_before_what_they_change_existed() {
    let sw = Siteward::new();
    sw.province();
    sw.ok(&[&REQUEST_PORTAL[..], &["--at", "2019-03-01 09:00"]].concat());
    let stderr = sw.refused(&[
        "site",
        "edit",
        "www.gansu.gov.cn",
        "--name",
        "甘肃省政府网",
        "--at",
        "2019-02-01",
    ]);
    assert!(
        stderr.contains(
            "cannot date a change to site 1 (www.gansu.gov.cn) at 2019-02-01 00:00:00 (China \
             Standard Time): it exists in the registry only since 2019-03-01 09:00:00"
        ),
        "{stderr}"
    );
    let site = &sw.json_lines(&["site", "show", "www.gansu.gov.cn", "--json"])[0];
    assert_eq!(site["name"], "甘肃省人民政府门户网站");
    sw.ok(&[
        "site",
        "edit",
        "www.gansu.gov.cn",
        "--name",
        "甘肃省政府网",
        "--at",
        "2019-03-02",
    ]);

    // Organizations: an import dated before the organization came into
    // the registry changes none of its contacts.
    let orgs = |email: &str| {
        format!(
            "name,division,level,parent,emails\n\
             兰州市人民政府,620100,prefecture,甘肃省人民政府,{email}\n"
        )
    };
    let file = sw.write("orgs.csv", &orgs("ban@lanzhou.gov.cn"));
    sw.ok(&["import", "orgs", &file, "--at", "2020-01-01"]);
    let file = sw.write("orgs.csv", &orgs("ban@lanzhou.gov.cn;zwgk@lanzhou.gov.cn"));
    let stderr = sw.refused(&["import", "orgs", &file, "--at", "2019-06-01"]);
    assert!(
        stderr.contains(
            "orgs.csv:line 2: cannot date a change to organization `兰州市人民政府` at \
             2019-06-01 00:00:00 (China Standard Time): it exists in the registry only since \
             2020-01-01 00:00:00"
        ),
        "{stderr}"
    );
    let detail = &sw.json_lines(&["org", "show", "兰州市人民政府", "--json"])[0];
    assert_eq!(
        detail.to_string().matches("@lanzhou.gov.cn").count(),
        1,
        "{detail}"
    );
    sw.ok(&["import", "orgs", &file, "--at", "2020-02-01"]);
    // One added today cannot be changed as of last year.
    let file = sw.write(
        "orgs.csv",
        "name,division,level,emails\n甘肃省人民政府,620000,province,ban@gansu.gov.cn\n",
    );
    let stderr = sw.refused(&["import", "orgs", &file, "--at", "2025-01-01"]);
    assert!(
        stderr.contains("change to organization `甘肃省人民政府` at 2025-01-01 00:00:00"),
        "{stderr}"
    );
    sw.ok(&["import", "orgs", &file]);
}

#[test]
fn organizations_stand_where_their_level_division_and_parent_say() {
    let sw = Siteward::new();
    let refused = |output: Output| {
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        String::from_utf8(output.stderr).expect("utf-8")
    };
    let stderr = refused(sw.org("甘肃省人民政府办公厅", "620000", "prefecture", None));
    assert!(
        stderr.contains(
            "division `620000` of organization `甘肃省人民政府办公厅` is a province's code, but its \
             level is prefecture"
        ),
        "{stderr}"
    );
    let stderr = refused(sw.org("兰州市人民政府办公室", "620102", "prefecture", None));
    assert!(
        stderr.contains("is a county's code, but its level is prefecture"),
        "{stderr}"
    );
    let stderr = refused(sw.org("榆中县人民政府办公室", "620100", "county", None));
    assert!(
        stderr.contains("is a prefecture's code, but its level is county"),
        "{stderr}"
    );
    assert!(sw.org_names().is_empty(), "nothing was added");

    for (name, division, level, parent) in [
        ("国务院办公厅", "110000", "central", None),
        (
            "甘肃省人民政府办公厅",
            "620000",
            "province",
            Some("国务院办公厅"),
        ),
        (
            "兰州市人民政府办公室",
            "620100",
            "prefecture",
            Some("甘肃省人民政府办公厅"),
        ),
        // A bureau under its own government: the same level and division.
        (
            "兰州市文化和旅游局",
            "620100",
            "prefecture",
            Some("兰州市人民政府办公室"),
        ),
        (
            "榆中县人民政府办公室",
            "620123",
            "county",
            Some("兰州市人民政府办公室"),
        ),
        (
            "榆中县城关镇人民政府",
            "620123",
            "township",
            Some("榆中县人民政府办公室"),
        ),
    ] {
        let output = sw.org(name, division, level, parent);
        assert!(output.status.success(), "{name}: {output:?}");
    }

    let stderr = refused(sw.org(
        "天水市人民政府办公室",
        "620500",
        "prefecture",
        Some("兰州市人民政府办公室"),
    ));
    assert!(
        stderr.contains(
            "division `620500` of organization `天水市人民政府办公室` is not within division \
             620100 of its parent `兰州市人民政府办公室`"
        ),
        "{stderr}"
    );
    let stderr = refused(sw.org(
        "甘肃省水利厅",
        "620000",
        "province",
        Some("兰州市人民政府办公室"),
    ));
    assert!(
        stderr.contains(
            "parent `兰州市人民政府办公室` of organization `甘肃省水利厅` (province) is a \
             prefecture organization, a lower level"
        ),
        "{stderr}"
    );
    let stderr = refused(sw.org(
        "皋兰县人民政府办公室",
        "620122",
        "county",
        Some("榆中县人民政府办公室"),
    ));
    assert!(stderr.contains("is not within division 620123"), "{stderr}");
    assert_eq!(sw.org_names().len(), 6);

    // An import is checked row by row, parents further down the file
    // too; one bad row refuses the file.
    let file = sw.write(
        "orgs.csv",
        "name,division,level,parent\n\
         天水市人民政府办公室,620500,prefecture,甘肃省人民政府办公厅\n\
         麦积区人民政府办公室,620503,county,天水市人民政府办公室\n\
         天水市某局,620100,prefecture,天水市人民政府办公室\n\
         秦州区人民政府办公室,620502,prefecture,天水市人民政府办公室\n\
         甘谷县人民政府办公室,620523,county,甘谷县某镇\n\
         甘谷县某镇,620523,township,天水市人民政府办公室\n",
    );
    let stderr = sw.refused(&["import", "orgs", &file]);
    assert!(
        stderr.contains(
            "orgs.csv:line 4: division `620100` of organization `天水市某局` is not within \
             division 620500 of its parent `天水市人民政府办公室`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "orgs.csv:line 5: division `620502` of organization `秦州区人民政府办公室` is a \
             county's code, but its level is prefecture"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "orgs.csv:line 6: parent `甘谷县某镇` of organization `甘谷县人民政府办公室` (county) \
             is a township organization, a lower level"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("line 2:") && !stderr.contains("line 3:") && !stderr.contains("line 7:"),
        "{stderr}"
    );
    assert_eq!(sw.org_names().len(), 6, "nothing was imported");
    // Moving an organization to a division outside its parent's is
    // refused the same way.
    let file = sw.write(
        "orgs.csv",
        "name,division,level\n榆中县人民政府办公室,620502,county\n",
    );
    let stderr = sw.refused(&["import", "orgs", &file]);
    assert!(
        stderr.contains("orgs.csv:line 2: division `620502` of organization `榆中县人民政府办公室` is not within division 620100"),
        "{stderr}"
    );
}
