//! The quarterly reconciliation, end to end: the simulated province
//! checked once (so that the quarter has its findings), then reconciled
//! against the committed fixture exports (an XLSX with a title row and
//! merged header cells, a GB18030 CSV, a UTF-8 CSV with BOM) and zone
//! files; every kind of discrepancy, each where it must be and nowhere
//! else; bad input refused whole with the file, row and column named;
//! the stored runs listed and written again; a scheduled run from the
//! inbox.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use siteward::app::reconcile::{Files, Request, ZoneFile};
use siteward::reconcile::output::{Report, Trigger};
use siteward::reconcile::{Discrepancy, DiscrepancyKind as K, Quarter};
use siteward::registry::SiteKind;
use siteward::registry::lifecycle::SiteAction;
use siteward::sim::region::{Region, register};
use siteward::store::{Change, SiteRequest, Store};

use crate::scenario::{check_round, runtime, watch};
use crate::support::{Siteward, backends};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reconcile")
        .join(name)
}

/// A site that went through its lifecycle `days` ago.
fn add_site(
    store: &Store,
    policy: &siteward::policy::Policy,
    name: &str,
    org: &str,
    host: &str,
    code: &str,
) {
    let at = |days: i64| Change::at("tester", chrono::Utc::now() - chrono::Duration::days(days));
    store
        .request_site(
            &SiteRequest {
                name: name.into(),
                org: org.into(),
                kind: SiteKind::Special,
                domains: vec![host.parse().expect("ok")],
                code: None,
                icp_filing: None,
                psb_filing: None,
                exception: None,
            },
            policy,
            &at(400),
        )
        .expect("request");
    store
        .transition_site(
            host,
            &SiteAction::Approve {
                reference: "甘政办函〔2025〕9号".into(),
            },
            policy,
            &at(399),
        )
        .expect("approve");
    store
        .transition_site(
            host,
            &SiteAction::GoLive {
                code: Some(code.parse().expect("ok")),
            },
            policy,
            &at(398),
        )
        .expect("go live");
}

fn of(report: &Report, kind: K) -> Vec<&Discrepancy> {
    report
        .comparison
        .discrepancies
        .iter()
        .filter(|d| d.kind == kind)
        .collect()
}

fn subjects(report: &Report, kind: K) -> BTreeSet<String> {
    of(report, kind).iter().map(|d| d.subject.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_discrepancy_against_the_exports_the_zones_and_the_quarters_findings() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    for db in backends() {
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register the region");
        // The quarter's findings: the retired forestry site still
        // resolves, the bureau's weibo account is silent.
        let check = check_round(&store, &watch.config, &watch.policy, &runtime, true);
        assert!(
            check
                .findings
                .iter()
                .any(|f| f.kind.to_string() == "offline_still_resolving"),
            "the check round found the retired domain"
        );
        let policy = &watch.policy;
        add_site(
            &store,
            policy,
            "甘肃省统计局网站",
            "甘肃省人民政府办公厅",
            "www.tj.gansu.gov.cn",
            "6200000031",
        );
        // A site taken over from the old list: live, never filed. An
        // import refuses such a row now; the registry may still hold one
        // from before, so the record is given to the store directly.
        let records = siteward::transfer::Records::Sites(vec![Ok(siteward::transfer::Line {
            line: 2,
            record: siteward::transfer::SiteRecord {
                name: "兰州市数据开放平台".into(),
                code: None,
                primary: "opendata.lanzhou.gov.cn".parse().expect("host"),
                aliases: Vec::new(),
                org: "兰州市人民政府办公室".into(),
                division: Some("620100".parse().expect("division")),
                kind: siteward::registry::SiteKind::Special,
                status: siteward::registry::SiteStatus::Live,
                icp_filing: None,
                psb_filing: None,
                approval_ref: None,
                successor_url: None,
            },
        })]);
        store
            .import(&records, policy, &Change::now("tester"))
            .expect("imports a live site without a code");
        add_site(
            &store,
            policy,
            "兰州市招商网",
            "兰州市人民政府办公室",
            "zs.lanzhou.gov.cn",
            "6205000009",
        );
        add_site(
            &store,
            policy,
            "兰州市档案馆",
            "兰州市人民政府办公室",
            "dag.zt.lanzhou.gov.cn",
            "6201000050",
        );
        let at =
            |days: i64| Change::at("tester", chrono::Utc::now() - chrono::Duration::days(days));
        store
            .transition_site(
                "dag.zt.lanzhou.gov.cn",
                &SiteAction::Retire {
                    reference: "兰政办函〔2026〕5号".into(),
                    successor_url: Some("http://www.lanzhou.gov.cn/".into()),
                },
                policy,
                &at(90),
            )
            .expect("retire");
        store
            .transition_site(
                "dag.zt.lanzhou.gov.cn",
                &SiteAction::Offline,
                policy,
                &at(50),
            )
            .expect("offline");

        let app =
            siteward::app::App::new(watch.config.clone(), None, policy.clone(), store.clone());
        let now = chrono::Utc::now();
        let quarter = Quarter::containing(now);
        let request = Request {
            quarter,
            files: Files {
                national_sites: Some(fixture("national-sites.xlsx")),
                national_accounts: Some(fixture("national-accounts-gb18030.csv")),
                zhaocuo: None,
                zones: vec![
                    ZoneFile {
                        origin: None,
                        path: fixture("gansu.gov.cn.zone"),
                    },
                    ZoneFile {
                        origin: None,
                        path: fixture("lanzhou.gov.cn.zone"),
                    },
                    ZoneFile {
                        origin: None,
                        path: fixture("db.yuzhong.gov.cn"),
                    },
                ],
                axfr: false,
            },
            trigger: Trigger::Manual,
            actor: "tester".into(),
            now,
        };
        let report = runtime
            .block_on(siteward::app::reconcile::reconcile(&app, request))
            .expect("reconciles");
        let listing = report.summary()
            + &report
                .comparison
                .discrepancies
                .iter()
                .map(|d| {
                    format!(
                        "{} {} | {} | {} | {}\n",
                        d.kind, d.subject, d.here, d.there, d.source
                    )
                })
                .collect::<String>();
        let b = db.backend;
        assert!(report.id > 0, "stored");
        assert!(!report.complete, "{b}: the quarter it runs in is not over");
        assert_eq!(report.as_of, now);
        assert!(report.summary().contains("not over"), "{listing}");
        // The inputs as read: the XLSX's rows under its two-row header,
        // the GB18030 CSV.
        let formats: Vec<(&str, &str, usize)> = report
            .inputs
            .iter()
            .map(|i| (i.role.as_str(), i.format.as_str(), i.rows))
            .collect();
        assert!(
            formats.contains(&("national_sites", "XLSX", 15)),
            "{formats:?}"
        );
        assert!(
            formats.contains(&("national_accounts", "GB18030", 4)),
            "{formats:?}"
        );

        // The national export of sites.
        assert_eq!(
            subjects(&report, K::NotInRegistry),
            set(&[
                "兰州市大数据中心（6201000077）",
                "兰州新区政务网（6201000088）",
                "兰州新区招商网（6201000088）"
            ]),
            "{b}:\n{listing}"
        );
        assert_eq!(
            subjects(&report, K::NotInNational),
            set(&["甘肃省统计局网站（6200000031）", "兰州市数据开放平台"]),
            "{b}: the retired archive needs no national row:\n{listing}"
        );
        // Real case 3: retired here, running there; the fix list sets it
        // 关停 in the export's own columns.
        let case3 = of(&report, K::OfflineHereRunningThere);
        assert_eq!(case3.len(), 1, "{b}:\n{listing}");
        assert_eq!(case3[0].subject, "榆中县林业和草原局（6201230002）");
        assert_eq!(
            (case3[0].here.as_str(), case3[0].there.as_str()),
            ("已注销", "正常运行")
        );
        assert!(
            case3[0].source == "national-sites.xlsx 第10行",
            "{}",
            case3[0].source
        );
        assert_eq!(
            subjects(&report, K::RunningHereClosedThere),
            set(&["天水市人民政府（6205000001）"])
        );
        // Live here, 临时下线 there; 例外 (庆阳) is never a status
        // difference.
        assert_eq!(
            subjects(&report, K::StatusDiffers),
            set(&["金昌市人民政府（6203000001）"]),
            "{b}:\n{listing}"
        );
        assert_eq!(
            subjects(&report, K::NameDiffers),
            set(&["甘肃省政务公开专题（6200000005）"])
        );
        assert_eq!(
            subjects(&report, K::UrlDiffers),
            set(&["甘肃省政务服务资源站（6200000006）"])
        );
        assert_eq!(
            subjects(&report, K::OrganizerDiffers),
            set(&["兰州市人民政府（6201000001）"])
        );
        assert_eq!(
            subjects(&report, K::KindDiffers),
            set(&["白银市人民政府（6204000001）"])
        );
        // Matched by its host name, under another code there.
        let code = of(&report, K::CodeDiffers);
        assert_eq!(code.len(), 1, "{b}:\n{listing}");
        assert_eq!(
            (code[0].here.as_str(), code[0].there.as_str()),
            ("6205000009", "6201000099")
        );
        // The registry's own codes.
        assert_eq!(
            subjects(&report, K::LiveWithoutCode),
            set(&["兰州市数据开放平台"])
        );
        assert_eq!(
            subjects(&report, K::CodePrefixMismatch),
            set(&["兰州市招商网（6205000009）"])
        );
        assert_eq!(
            subjects(&report, K::DuplicateCode),
            set(&["6201000088"]),
            "{b}: one code on two rows of the export:\n{listing}"
        );
        // Zones: names with no site (the apex and a leftover; never the
        // name servers or the mail host), live names missing, a retired
        // site's record kept. A wildcard answers for what is under it; the
        // statistics bureau's www.tj.gansu.gov.cn is delegated to a zone
        // not given: not judged, counted.
        assert!(report.comparison.stats.hosts_outside_zones >= 1);
        assert_eq!(
            subjects(&report, K::ZoneHostUnregistered),
            set(&[
                "gansu.gov.cn",
                "oldapp.gansu.gov.cn",
                "bigdata.lanzhou.gov.cn"
            ]),
            "{b}:\n{listing}"
        );
        assert_eq!(
            subjects(&report, K::HostNotInZone),
            set(&[
                "cdn.gansu.gov.cn",
                "lyj.lanzhou.gov.cn",
                "opendata.lanzhou.gov.cn",
                "zs.lanzhou.gov.cn"
            ]),
            "{b}:\n{listing}"
        );
        // Real case 1's domain, still in the county's zone; the archive's
        // answered by a wildcard.
        assert_eq!(
            subjects(&report, K::RetiredInZone),
            set(&["dag.zt.lanzhou.gov.cn", "ly.yuzhong.gov.cn"]),
            "{b}:\n{listing}"
        );
        let wildcard = of(&report, K::RetiredInZone)
            .into_iter()
            .find(|d| d.subject.starts_with("dag."))
            .expect("the archive");
        assert!(wildcard.there.contains("通配符"), "{}", wildcard.there);
        // The quarter's findings.
        assert_eq!(
            subjects(&report, K::RetiredResolving),
            set(&["ly.yuzhong.gov.cn"]),
            "{b}:\n{listing}"
        );
        assert_eq!(
            subjects(&report, K::AccountStale),
            set(&["微博：兰州文旅", "微信订阅号：兰州文旅发布"]),
            "{b}:\n{listing}"
        );
        // Accounts: the WeChat account matches across its spellings; the
        // closed weibo account is not missing from the national list, but
        // is still 正常 there.
        assert_eq!(
            subjects(&report, K::AccountNotInRegistry),
            set(&["抖音：兰州发布"])
        );
        assert_eq!(
            subjects(&report, K::AccountNotInNational),
            set(&["微博：兰州发布"]),
            "{b}:\n{listing}"
        );
        assert_eq!(
            subjects(&report, K::AccountStatusDiffers),
            set(&["微博：兰州旅游"])
        );
        // A site that agrees everywhere raises nothing.
        assert!(
            !report
                .comparison
                .discrepancies
                .iter()
                .any(|d| d.subject.contains("6200000001") || d.subject.contains("6210000001")),
            "{b}:\n{listing}"
        );
        // The fix list: rows changed in the national export's own columns.
        let fixes: Vec<(String, Vec<String>)> = report
            .comparison
            .fixes
            .iter()
            .map(|f| (f.code.clone(), f.changed.clone()))
            .collect();
        assert_eq!(report.national_headers[0], "网站标识码");
        let fix = |code: &str| {
            report
                .comparison
                .fixes
                .iter()
                .find(|f| f.code == code)
                .unwrap_or_else(|| panic!("no fix for {code}: {fixes:?}"))
        };
        assert_eq!(fix("6201230002").cells[5], "关停");
        assert_eq!(fix("6201230002").cells[1], "榆中县林业和草原局");
        assert_eq!(fix("6200000005").cells[1], "甘肃省政务公开专题");
        assert_eq!(fix("6200000006").cells[2], "https://cdn.gansu.gov.cn/");
        assert_eq!(fix("6201000001").cells[3], "兰州市人民政府办公室");
        assert_eq!(fix("6203000001").cells[5], "正常运行");
        // national-fixes.csv as written: UTF-8 with BOM, the export's
        // header row, each row whole with the registry's values.
        let written = report.fixes_csv();
        assert!(written.starts_with(b"\xEF\xBB\xBF"), "with BOM");
        let written = text(&written[3..]);
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(
            lines[0],
            "网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态"
        );
        assert_eq!(lines.len(), 1 + report.comparison.fixes.len(), "{written}");
        assert!(
            lines.contains(
                &"6201230002,榆中县林业和草原局,http://ly.yuzhong.gov.cn/,榆中县林业和草原局,部门网站,关停"
            ),
            "{b}: real case 3 set 关停 in the export's own columns:\n{written}"
        );
        // Closed there, live here: checked first, not in the fix list.
        assert!(!fixes.iter().any(|(c, _)| c == "6205000001"), "{fixes:?}");
        assert!(
            !fixes
                .iter()
                .any(|(c, _)| c == "6200000001" || c == "6210000001"),
            "{fixes:?}"
        );
        // Stored, and read back the same.
        assert_eq!(app.store.reconcile_run(report.id).expect("ok"), report);
        // The zone as policy allows it to be transferred from its primary.
        let axfr = runtime
            .block_on(siteward::app::reconcile::reconcile(
                &app,
                Request {
                    quarter,
                    files: Files {
                        axfr: true,
                        ..Files::default()
                    },
                    trigger: Trigger::Manual,
                    actor: "tester".into(),
                    now: chrono::Utc::now(),
                },
            ))
            .expect("reconciles from a transfer");
        let input = axfr
            .inputs
            .iter()
            .find(|i| i.role == "zone")
            .expect("the transferred zone");
        assert_eq!(input.format, "AXFR");
        assert_eq!(input.source, "AXFR gansu.gov.cn");
        assert!(input.rows > 5, "{input:?}");
        assert_eq!(axfr.comparison.stats.zones, ["gansu.gov.cn"]);
        let missing = subjects(&axfr, K::HostNotInZone);
        assert!(
            !missing.contains("www.gansu.gov.cn") && !missing.contains("promo.gansu.gov.cn"),
            "{b}: the portal is in its zone: {missing:?}"
        );
    }
}

#[test]
fn zhaocuo_messages_answered_late_or_not_at_all_per_site_in_working_days() {
    for db in backends() {
        let store = db.open();
        let policy = crate::support::policy();
        let app = siteward::app::App::new(
            siteward::config::Config::default(),
            None,
            policy,
            store.clone(),
        );
        // Reconciled as at 2026-12-05 whatever the day the test runs.
        let now = siteward::clock::parse_time("now", "2026-12-05 10:00").expect("ok");
        let reconcile = |quarter: &str| {
            runtime()
                .block_on(siteward::app::reconcile::reconcile(
                    &app,
                    Request {
                        quarter: quarter.parse().expect("ok"),
                        files: Files {
                            zhaocuo: Some(fixture("zhaocuo-bom.csv")),
                            ..Files::default()
                        },
                        trigger: Trigger::Manual,
                        actor: "tester".into(),
                        now,
                    },
                ))
                .expect("reconciles")
        };
        let late_of = |report: &Report| -> Vec<(String, String)> {
            of(report, K::MessagesLate)
                .iter()
                .map(|d| (d.subject.clone(), d.there.clone()))
                .collect()
        };
        // The third quarter, over: the messages passed on in it.
        let q3 = reconcile("2026Q3");
        assert!(q3.complete);
        let stats = q3
            .comparison
            .stats
            .messages
            .clone()
            .expect("messages counted");
        assert_eq!(stats.received, 3, "{stats:?}");
        assert_eq!(
            (
                stats.on_time,
                stats.late,
                stats.unanswered,
                stats.true_reports
            ),
            (1, 1, 1, 2),
            "{stats:?}"
        );
        let late = late_of(&q3);
        assert_eq!(late.len(), 2, "{late:?}");
        // Passed on 30 September 16:00: National Day, then 8, 9 and the
        // 调休 Saturday 10 October; answered on the 12th, a working day
        // late. Its twin answered on the 10th is on time.
        let (_, lanzhou) = late
            .iter()
            .find(|(s, _)| s == "兰州市人民政府（6201000001）")
            .expect("兰州");
        assert!(lanzhou.contains("ZC2026100002"), "{lanzhou}");
        assert!(lanzhou.contains("超期1个工作日"), "{lanzhou}");
        assert!(!lanzhou.contains("ZC2026100001"), "{lanzhou}");
        let (_, baiyin) = late
            .iter()
            .find(|(s, _)| s == "白银市人民政府（6204000001）")
            .expect("白银");
        assert!(baiyin.contains("未答复1条：ZC2026090005"), "{baiyin}");
        // The fourth, not over: reconciled as of now.
        let q4 = reconcile("2026Q4");
        assert!(!q4.complete);
        let stats = q4
            .comparison
            .stats
            .messages
            .clone()
            .expect("messages counted");
        assert_eq!(
            (stats.received, stats.on_time, stats.late, stats.unanswered),
            (2, 1, 0, 1),
            "{stats:?}"
        );
        let late = late_of(&q4);
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].0, "天水市人民政府（6205000001）");
        assert!(
            late[0].1.contains("未答复1条：ZC2026110003"),
            "{}",
            late[0].1
        );
        assert!(late[0].1.contains("应于2026-11-05前答复"), "{}", late[0].1);
        // 白银 answered on its third working day: nothing in Q4.
        assert!(!late.iter().any(|(s, _)| s.contains("白银")), "{late:?}");
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn bad_input_names_the_file_row_and_column_exits_2_and_stores_nothing() {
    let sw = Siteward::new().actor("王五");
    let write = |name: &str, bytes: &[u8]| {
        let path = sw.dir().join(name);
        std::fs::write(&path, bytes).expect("ok");
        path.display().to_string()
    };
    let header = "网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态\n";
    let good = "6200000001,甘肃省人民政府门户网站,http://www.gansu.gov.cn/,甘肃省人民政府办公厅,政府门户网站,正常运行\n";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "--national-sites",
            write(
                "unknown-headers.csv",
                "网站标识码,网站名称,首页网址,主办单位,网站类型,网站级别\n6200000001,a,b,c,d,e\n"
                    .as_bytes(),
            ),
            &["unknown-headers.csv", "row 1", "column 运行状态", "网站级别"],
        ),
        (
            "--national-sites",
            write(
                "bad-code.csv",
                format!("{header}{good}62000000X1,某网站,http://x.gansu.gov.cn/,某单位,部门网站,正常运行\n")
                    .as_bytes(),
            ),
            &["bad-code.csv", "row 3", "column 网站标识码", "62000000X1"],
        ),
        (
            "--national-sites",
            write(
                "bad-status.csv",
                &encoding_rs::GB18030
                    .encode(&format!(
                        "{header}{good}6200000002,某网站,http://x.gansu.gov.cn/,某单位,部门网站,停运\n"
                    ))
                    .0,
            ),
            &["bad-status.csv", "row 3", "column 运行状态", "停运", "临时下线"],
        ),
        (
            "--zhaocuo",
            write("empty.csv", b""),
            &[
                "empty.csv, row 1: the file is empty",
                "expected a header row with columns such as 留言编号, 网站名称, 网站标识码, 留言时间",
            ],
        ),
        (
            // The accounts export given as the sites': no header row the
            // sites' export would have.
            "--national-sites",
            write(
                "wrong-file.csv",
                "主办单位,平台/类型,账号名称,账号ID,状态\n兰州市人民政府办公室,微博,兰州发布,x,正常\n"
                    .as_bytes(),
            ),
            &[
                "wrong-file.csv, row 1",
                "no column 网站标识码",
                "账号ID",
                "Is this the right file?",
            ],
        ),
        (
            "--zhaocuo",
            write(
                "zhaocuo.csv",
                "留言编号,网站名称,网站标识码,留言时间,转办时间,答复时间,是否属实,办理状态\n\
                 ZC1,兰州市人民政府,6201000001,2026-11-01 08:00,2026-11-02 09:00,2026-11-01 10:00,是,已办结\n\
                 ZC1,兰州市人民政府,6201000001,2026-11-01 08:00,2026/11/2 9:00,,,办理中\n"
                    .as_bytes(),
            ),
            &[
                "zhaocuo.csv, row 2, column 答复时间",
                "before it was passed on",
                "row 3, column 留言编号",
                "also on row 2",
            ],
        ),
        (
            "--national-accounts",
            write(
                "accounts.csv",
                "主办单位,平台/类型,账号名称,账号ID,状态\n兰州市人民政府办公室,飞信,兰州发布,x,正常\n"
                    .as_bytes(),
            ),
            &["accounts.csv", "row 2", "column 平台/类型", "飞信"],
        ),
    ];
    for (flag, path, expected) in cases {
        let out_dir = sw.dir().join("out");
        let output = sw.run(&[
            "reconcile",
            "--quarter",
            "2026Q4",
            flag,
            &path,
            "--out",
            &out_dir.display().to_string(),
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{path}: {stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{path}: `{part}` not in: {stderr}");
        }
        assert!(
            !stderr.contains("Error {") && !stderr.contains("Some("),
            "{stderr}"
        );
        assert!(!out_dir.exists(), "{path}: nothing written");
        let list = sw.run(&["--json", "reconcile", "list"]);
        assert!(list.status.success(), "{}", text(&list.stderr));
        assert!(
            text(&list.stdout).trim().is_empty(),
            "{path}: nothing stored"
        );
    }
    // A quarter that has not begun, a malformed quarter.
    let output = sw.run(&["reconcile", "--quarter", "2099Q1", "--out", "x"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("has not begun"));
    let output = sw.run(&["reconcile", "--quarter", "2026Q5", "--out", "x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("2026Q4"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_run_writes_its_files_and_is_listed_and_written_again() {
    let sw = Siteward::new().actor("王五");
    let out = sw.dir().join("2026Q4");
    let sites = fixture("national-sites.xlsx").display().to_string();
    let zone = fixture("gansu.gov.cn.zone").display().to_string();
    let output = sw.run(&[
        "reconcile",
        "--quarter",
        "2026Q3",
        "--national-sites",
        &sites,
        "--zone",
        &format!("gansu.gov.cn={zone}"),
        "--out",
        &out.display().to_string(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "differences are data: {stdout}{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("Reconciliation 2026Q3 (2026年第三季度), run 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("As of the end of the quarter, 2026-10-01 00:00:00"),
        "{stdout}"
    );
    assert!(stdout.contains("not_in_registry"), "{stdout}");
    assert!(
        stdout.contains("Not compared: no zhaocuo input given"),
        "{stdout}"
    );
    assert!(stdout.contains("stored as run 1"), "{stdout}");
    let csv = std::fs::read(out.join("discrepancies.csv")).expect("ok");
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 with BOM, for Excel"
    );
    let csv = text(&csv[3..]);
    assert!(
        csv.starts_with("类型代码,类型,对象,网站标识码,主办单位"),
        "{csv}"
    );
    assert!(
        csv.contains("not_in_registry,国家系统有、注册库无,甘肃省人民政府门户网站（6200000001）"),
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("discrepancies.json")).expect("ok"))
            .expect("ok");
    assert_eq!(json["quarter"], "2026Q3");
    assert_eq!(json["complete"], true);
    assert_eq!(
        json["discrepancies"].as_array().expect("ok").len(),
        csv.lines().count() - 1
    );
    // Nothing in the registry: nothing for the national system to change.
    let fixes = std::fs::read(out.join("national-fixes.csv")).expect("ok");
    assert_eq!(
        text(&fixes[3..]).trim(),
        "网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态"
    );
    // Listed, and written again byte for byte.
    let list = sw.run(&["reconcile", "list"]);
    let listed = text(&list.stdout);
    assert!(
        listed.contains("2026Q3") && listed.contains("王五"),
        "{listed}"
    );
    let again = sw.dir().join("again");
    let show = sw.run(&[
        "reconcile",
        "show",
        "1",
        "--out",
        &again.display().to_string(),
    ]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    for name in [
        "discrepancies.csv",
        "discrepancies.json",
        "national-fixes.csv",
    ] {
        assert_eq!(
            std::fs::read(out.join(name)).expect("ok"),
            std::fs::read(again.join(name)).expect("ok"),
            "{name}"
        );
    }
    let show = sw.run(&["reconcile", "show", "1"]);
    assert!(text(&show.stdout).contains("国家系统有、注册库无"));
    let missing = sw.run(&["reconcile", "show", "9"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("reconciliation run"),
        "{}",
        text(&missing.stderr)
    );
}

/// The daemon's `reconcile` job reads the newest file of each kind in
/// the inbox (an older export beside it is not read), stores the run and
/// writes its files under `[reconcile] out`; a bad file in the inbox
/// fails the run and stores nothing.
#[test]
fn a_scheduled_run_reads_the_newest_files_in_the_inbox() {
    use crate::daemon::{Daemon, Province, wait_for};
    use std::time::Duration;
    let province = Province::start();
    let inbox = tempfile::tempdir().expect("ok");
    let out = tempfile::tempdir().expect("ok");
    // An older export, then the newest: only the newest is read.
    let old = inbox.path().join("2026Q2 网站列表.csv");
    std::fs::write(&old, "not, an export\n").expect("ok");
    let past = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .expect("ok")
        .set_modified(past)
        .expect("ok");
    std::fs::copy(
        fixture("national-sites.xlsx"),
        inbox.path().join("2026Q4 网站列表.xlsx"),
    )
    .expect("ok");
    std::fs::copy(
        fixture("national-accounts-gb18030.csv"),
        inbox.path().join("政务新媒体账号.csv"),
    )
    .expect("ok");
    std::fs::copy(
        fixture("zhaocuo-bom.csv"),
        inbox.path().join("找错留言.csv"),
    )
    .expect("ok");
    std::fs::copy(
        fixture("lanzhou.gov.cn.zone"),
        inbox.path().join("lanzhou.gov.cn.zone"),
    )
    .expect("ok");
    // A zone file saved long before this quarter: read, and said.
    std::fs::File::options()
        .write(true)
        .open(inbox.path().join("lanzhou.gov.cn.zone"))
        .expect("zone")
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(200 * 86_400))
        .expect("mtime");
    let inbox_path = inbox.path().display().to_string();
    let out_path = out.path().display().to_string();
    let mut daemon = Daemon::start(
        &province.watch,
        &[
            "--every",
            "probe=3600",
            "--every",
            "feeds=3600",
            "--every",
            "discover=3600",
            "--every",
            "retain=3600",
            "--every",
            "reconcile=1",
        ],
        &[
            ("SITEWARD_RECONCILE_INBOX", &inbox_path),
            ("SITEWARD_RECONCILE_OUT", &out_path),
        ],
    );
    let runs = wait_for(Duration::from_secs(60), &daemon, || {
        let runs = province.store.reconcile_runs(10).ok()?;
        (!runs.is_empty()).then_some(runs)
    });
    let run = &runs[0];
    assert_eq!(run.trigger, "scheduled");
    assert_eq!(run.actor, "siteward");
    let report = province.store.reconcile_run(run.id).expect("ok");
    let roles: Vec<(&str, &str)> = report
        .inputs
        .iter()
        .map(|i| (i.role.as_str(), i.format.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("national_sites", "XLSX"),
            ("national_accounts", "GB18030"),
            ("zhaocuo", "UTF-8"),
            ("zone", "zone")
        ],
        "the newest of each kind"
    );
    assert!(
        report
            .comparison
            .discrepancies
            .iter()
            .any(|d| d.kind == K::OfflineHereRunningThere),
        "real case 3 found by the scheduled run"
    );
    assert!(
        daemon
            .log()
            .lines()
            .any(|l| l.contains("older than the quarter") && l.contains("lanzhou.gov.cn.zone")),
        "{}",
        daemon.log()
    );
    let dir = out
        .path()
        .join(format!("{}-run-{}", report.quarter, report.id));
    // Written once the run is stored (its number names the directory).
    wait_for(Duration::from_secs(30), &daemon, || {
        dir.join("discrepancies.csv").exists().then_some(())
    });
    // A broken export in the inbox: the run fails, names it, stores nothing.
    std::fs::write(
        inbox.path().join("2026Q4 网站列表 更正.csv"),
        "网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态\n6200000001,甲,http://www.gansu.gov.cn/,乙,门户网站,停运\n",
    )
    .expect("ok");
    wait_for(Duration::from_secs(60), &daemon, || {
        daemon
            .log()
            .lines()
            .any(|l| l.contains("run failed") && l.contains("停运") && l.contains("更正.csv"))
            .then_some(())
    });
    // Every run from then on fails: nothing more is stored.
    let before = province.store.reconcile_runs(1000).expect("ok").len();
    std::thread::sleep(Duration::from_millis(2500));
    let after = province.store.reconcile_runs(1000).expect("ok").len();
    assert_eq!(before, after, "nothing stored from the broken file");
    daemon.signal("TERM");
    daemon.wait(Duration::from_secs(30));
    let failed = province
        .store
        .runs(Some(siteward::jobs::Job::Reconcile), 100)
        .expect("ok")
        .into_iter()
        .filter(|r| r.status == siteward::jobs::RunStatus::Failed)
        .count();
    assert!(failed >= 1, "the job's run is recorded as failed");
    drop(province);
}

/// The registry as it stood: a site's status at a past time comes from
/// its audit rows, whatever happened since (real case 1's forestry site
/// was retired 140 days ago, offline 100, closed 60).
#[test]
fn a_sites_status_at_a_past_time_comes_from_its_audit_rows() {
    for db in backends() {
        let store = db.open();
        let policy = crate::support::policy();
        register(&store, &policy).expect("register the region");
        let forestry = store.site("ly.yuzhong.gov.cn").expect("the forestry site");
        let portal = store.site("www.gansu.gov.cn").expect("the portal");
        let days = |n: i64| chrono::Utc::now() - chrono::Duration::days(n);
        let then = |at, id: i64| {
            store
                .sites_as_of(at)
                .expect("sites as of")
                .get(&id)
                .cloned()
                .map(|site| site.map(|s| s.status))
        };
        use siteward::registry::SiteStatus as S;
        let b = db.backend;
        assert_eq!(then(days(120), forestry.id), Some(Some(S::Retiring)), "{b}");
        assert_eq!(then(days(80), forestry.id), Some(Some(S::Offline)));
        // Nothing changed since: as it is now (not in the map).
        assert_eq!(then(days(10), forestry.id), None);
        assert_eq!(then(days(120), portal.id), None);
        assert_eq!(then(days(1485), portal.id), Some(Some(S::Approved)));
        assert_eq!(then(days(1600), portal.id), Some(None), "not requested yet");
        // An edit after the time: the name it had then.
        store
            .edit_site(
                "www.gansu.gov.cn",
                &siteward::registry::lifecycle::SiteEdit {
                    name: Some("甘肃省人民政府网".into()),
                    ..Default::default()
                },
                None,
                &policy,
                &Change::now("tester"),
            )
            .expect("renamed");
        let before = store.sites_as_of(days(1)).expect("as of")[&portal.id]
            .clone()
            .expect("existed");
        assert_eq!(before.name, "甘肃省人民政府门户网站");
        assert_eq!(before.status, S::Live);
    }
}

/// The 找错 deadline across the 2026 Spring Festival (15-23 February
/// off, Saturday 14 February worked): passed on Friday 13 February, the
/// three working days are the 调休 Saturday, 24 and 25 February. A
/// message whose deadline falls in a year the calendar does not hold
/// refuses the run, naming the file, the row, the message and the year,
/// and nothing is stored.
#[test]
fn zhaocuo_deadlines_across_the_spring_festival_and_a_year_with_no_calendar() {
    for db in backends() {
        let b = db.backend;
        let store = db.open();
        let app = siteward::app::App::new(
            siteward::config::Config::default(),
            None,
            crate::support::policy(),
            store.clone(),
        );
        let file = fixture("zhaocuo-spring-festival.csv");
        let reconcile = |quarter: &str, now: &str| {
            runtime().block_on(siteward::app::reconcile::reconcile(
                &app,
                Request {
                    quarter: quarter.parse().expect("ok"),
                    files: Files {
                        zhaocuo: Some(file.clone()),
                        ..Files::default()
                    },
                    trigger: Trigger::Manual,
                    actor: "tester".into(),
                    now: siteward::clock::parse_time("now", now).expect("ok"),
                },
            ))
        };
        let q1 = reconcile("2026Q1", "2026-12-05 10:00").expect("reconciles");
        let stats = q1.comparison.stats.messages.clone().expect("counted");
        assert_eq!(
            (stats.received, stats.on_time, stats.late, stats.unanswered),
            (3, 1, 1, 1),
            "{b}: {stats:?}"
        );
        let late: Vec<(String, String)> = of(&q1, K::MessagesLate)
            .iter()
            .map(|d| (d.subject.clone(), d.there.clone()))
            .collect();
        // Answered on the 25th: on time (weekdays alone would have made
        // it due on the 18th).
        assert!(!late.iter().any(|(s, _)| s.contains("兰州")), "{late:?}");
        // Answered on the 26th: a working day late (without the 调休
        // Saturday it would have been due by the end of the 26th).
        let (_, baiyin) = late
            .iter()
            .find(|(s, _)| s == "白银市人民政府（6204000001）")
            .expect("白银");
        assert!(
            baiyin.contains("ZC2026020002") && baiyin.contains("超期1个工作日"),
            "{baiyin}"
        );
        let (_, tianshui) = late
            .iter()
            .find(|(s, _)| s == "天水市人民政府（6205000001）")
            .expect("天水");
        assert!(
            tianshui.contains("未答复1条：ZC2026020003")
                && tianshui.contains("应于2026-02-25前答复"),
            "{tianshui}"
        );
        let stored = store.reconcile_runs(10).expect("ok").len();
        assert_eq!(stored, 1, "{b}");

        // On 4 January 2027 the message passed on 30 December is due in
        // 2027, which the shipped calendar does not hold.
        let e = reconcile("2026Q4", "2027-01-04 10:00").expect_err("refused");
        assert!(
            e.downcast_ref::<siteward::app::InvalidInput>().is_some(),
            "{b}: bad input, exit status 2: {e:#}"
        );
        let message = e.to_string();
        for part in [
            "zhaocuo-spring-festival.csv, row 5",
            "ZC2026120004",
            "2027",
            "policies/holidays/2027.toml",
        ] {
            assert!(message.contains(part), "{b}: `{part}` not in: {message}");
        }
        assert!(!message.contains("MissingYear"), "{message}");
        assert_eq!(
            store.reconcile_runs(10).expect("ok").len(),
            stored,
            "{b}: nothing stored"
        );
        // Before it was passed on, the same file reconciles.
        reconcile("2026Q4", "2026-12-05 10:00").expect("not passed on yet");
    }
}
