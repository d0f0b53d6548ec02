//! Imports: encodings, headers in both languages, all or nothing with every
//! bad row named, idempotent re-import, export round trip, and a real list
//! of provincial and prefecture portals.

use siteward::registry::{OrgLevel, SiteStatus};
use siteward::store::{AuditFilter, ExceptionGrant, ImportSummary, SiteFilter, Store, StoreError};
use siteward::transfer::{self, Entity, HeaderLang};

use crate::support::{self, add_org, backends, change, policy};

fn import(store: &mut Store, entity: Entity, bytes: &[u8]) -> Result<ImportSummary, StoreError> {
    let (records, _) = transfer::parse(entity, bytes).expect("file-level parse");
    store.import(&records, &policy(), &change(0))
}

fn row_errors(result: Result<ImportSummary, StoreError>) -> Vec<(u64, String)> {
    match result {
        Err(StoreError::Import(errors)) => {
            errors.into_iter().map(|e| (e.line, e.message)).collect()
        }
        other => panic!("expected row errors, got {other:?}"),
    }
}

const SITES_EN: &str = "\
name,code,url,organizer,division,kind,status,icp,psb
甘肃省人民政府门户网站,6200000001,https://www.gansu.gov.cn/,甘肃省人民政府,620000,portal,live,陇ICP备05001234号,甘公网安备62010202000001号
兰州市人民政府门户网站,6201000001,http://www.lanzhou.gov.cn,兰州市人民政府,620100,portal,live,,
甘肃省水利厅,6200000002,slt.gansu.gov.cn,甘肃省水利厅,620000,department,live,ICP123,
";

const SITES_ZH: &str = "\
网站名称,网站标识码,首页网址,主办单位,行政区划代码,网站类型,运行状态
甘肃省人民政府门户网站,6200000001,https://www.gansu.gov.cn/,甘肃省人民政府,620000,门户网站,运行中
兰州市人民政府门户网站,6201000001,www.lanzhou.gov.cn,兰州市人民政府,620100,门户网站,正常运行
甘肃省水利厅,6200000002,slt.gansu.gov.cn,甘肃省水利厅,620000,部门网站,运行中
";

#[test]
fn sites_in_every_encoding_and_header_language() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), SITES_EN.as_bytes()].concat();
    let gb18030 = encoding_rs::GB18030.encode(SITES_ZH).0.into_owned();
    assert!(
        std::str::from_utf8(&gb18030).is_err(),
        "the fixture must really be GB18030"
    );
    let files: &[(&str, &[u8], &str)] = &[
        ("utf-8", SITES_EN.as_bytes(), "UTF-8"),
        ("utf-8 with BOM", &with_bom, "UTF-8"),
        ("gb18030, Chinese headers", &gb18030, "gb18030"),
    ];
    for (label, bytes, encoding) in files {
        for db in backends() {
            let mut store = db.open();
            let (records, info) = transfer::parse(Entity::Sites, bytes).expect(label);
            assert!(
                info.encoding.eq_ignore_ascii_case(encoding),
                "{label}: {}",
                info.encoding
            );
            let summary = store.import(&records, &policy(), &change(0)).expect(label);
            assert_eq!(
                (summary.rows, summary.created, summary.orgs_created),
                (3, 3, 3),
                "{label}"
            );
            let sites = store.sites(&SiteFilter::default()).expect("sites");
            assert_eq!(sites.len(), 3);
            let portal = store.site("6200000001").expect("by code");
            assert_eq!(portal.name, "甘肃省人民政府门户网站");
            assert_eq!(
                portal.primary().expect("primary").hostname.as_str(),
                "www.gansu.gov.cn"
            );
            assert_eq!(portal.status, SiteStatus::Live);
            assert_eq!(
                store.org("兰州市人民政府").expect("org created").level,
                OrgLevel::Prefecture
            );
            // The malformed ICP number is a warning, stored as given.
            if *label != "gb18030, Chinese headers" {
                assert_eq!(
                    store
                        .site("slt.gansu.gov.cn")
                        .expect("site")
                        .icp_filing
                        .as_deref(),
                    Some("ICP123")
                );
                assert!(
                    summary
                        .warnings
                        .iter()
                        .any(|(line, w)| *line == 4 && w.field == "icp"),
                    "{:?}",
                    summary.warnings
                );
            }
            // Re-importing the same file changes nothing and audits nothing.
            let audit_rows = store.audit(&AuditFilter::default()).expect("audit").len();
            let again = import(&mut store, Entity::Sites, bytes).expect("re-import");
            assert_eq!(
                (again.created, again.updated, again.unchanged),
                (0, 0, 3),
                "{label}"
            );
            assert_eq!(
                store.audit(&AuditFilter::default()).expect("audit").len(),
                audit_rows
            );
        }
    }
}

#[test]
fn all_or_nothing_with_every_bad_row_named() {
    let file = "\
name,code,url,organizer,division,kind
好网站一,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal
坏标识码,1234567890,b.gansu.gov.cn,甘肃省人民政府,620000,portal
好网站二,6200000012,c.gansu.gov.cn,甘肃省人民政府,620000,department
坏域名,6200000013,www.example.com,甘肃省人民政府,620000,department
重复域名,6200000014,a.gansu.gov.cn,甘肃省人民政府,620000,department
坏类型,6200000015,d.gansu.gov.cn,甘肃省人民政府,620000,blog
无单位,6200000016,e.gansu.gov.cn,不存在的单位,,special
";
    for db in backends() {
        let mut store = db.open();
        let errors = row_errors(import(&mut store, Entity::Sites, file.as_bytes()));
        let lines: Vec<u64> = errors.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7, 8], "{errors:#?}");
        // As Excel saves it: CRLF line ends, and a blank line in between.
        // The lines named are still those an editor shows.
        let crlf = file.replacen("\n", "\n\n", 2).replace('\n', "\r\n");
        let crlf_errors = row_errors(import(&mut store, Entity::Sites, crlf.as_bytes()));
        let crlf_lines: Vec<u64> = crlf_errors.iter().map(|(line, _)| *line).collect();
        assert_eq!(crlf_lines, vec![5, 7, 8, 9, 10], "{crlf_errors:#?}");
        assert!(errors[0].1.contains("placeholder"), "{}", errors[0].1);
        assert!(
            errors[1].1.contains("not under an allowed suffix"),
            "{}",
            errors[1].1
        );
        assert!(errors[2].1.contains("also on line 2"), "{}", errors[2].1);
        assert!(errors[3].1.contains("blog"), "{}", errors[3].1);
        assert!(errors[4].1.contains("不存在的单位"), "{}", errors[4].1);
        // Nothing at all was imported, not even the organizer it created.
        assert!(
            store
                .sites(&SiteFilter::default())
                .expect("sites")
                .is_empty()
        );
        assert!(store.orgs().expect("orgs").is_empty());
        assert!(
            store
                .audit(&AuditFilter::default())
                .expect("audit")
                .is_empty()
        );
    }
}

#[test]
fn file_level_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"name,code\nx,6200000001\n", "lacks a column for url"),
        (
            b"name,url,organizer,kind,\xe7\xbd\x91\xe7\xab\x99\xe5\x90\x8d\xe7\xa7\xb0\n",
            "names name twice",
        ),
        (&[0x81, 0x30, 0x81], "neither UTF-8 nor GB18030"),
    ];
    for (bytes, expected) in cases {
        let error = transfer::parse(Entity::Sites, bytes).expect_err(expected);
        assert!(
            error.to_string().contains(expected),
            "`{error}` lacks `{expected}`"
        );
    }
}

#[test]
fn status_changes_are_not_imported() {
    let db = support::sqlite();
    let mut store = db.open();
    import(&mut store, Entity::Sites, SITES_EN.as_bytes()).expect("first import");
    let offline = SITES_EN.replace("portal,live,陇ICP", "portal,offline,陇ICP");
    let errors = row_errors(import(&mut store, Entity::Sites, offline.as_bytes()));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 2);
    assert!(
        errors[0]
            .1
            .contains("is live in the registry, the file says offline"),
        "{}",
        errors[0].1
    );
    // A real change to a field is applied and audited.
    let renamed = SITES_EN.replace("甘肃省水利厅,6200000002", "甘肃省水利厅网站,6200000002");
    let summary = import(&mut store, Entity::Sites, renamed.as_bytes()).expect("rename");
    assert_eq!((summary.updated, summary.unchanged), (1, 2));
    let site = store.site("6200000002").expect("site");
    assert_eq!(site.name, "甘肃省水利厅网站");
    let audit = store
        .audit(&AuditFilter {
            site: Some("6200000002".into()),
            ..AuditFilter::default()
        })
        .expect("audit");
    assert_eq!(audit.last().expect("row").action, "import");
}

#[test]
fn export_round_trip() {
    for lang in [HeaderLang::Zh, HeaderLang::En] {
        let source = support::sqlite();
        let mut store = source.open();
        add_org(&mut store, "国务院办公厅", "110000", OrgLevel::Central);
        import(&mut store, Entity::Sites, SITES_EN.as_bytes()).expect("import");
        store
            .edit_site(
                "www.gansu.gov.cn",
                &siteward::registry::lifecycle::SiteEdit {
                    add_aliases: vec!["甘肃.政务".parse().expect("host")],
                    ..Default::default()
                },
                None,
                &policy(),
                &change(1),
            )
            .expect("alias");
        let sites = store.sites(&SiteFilter::default()).expect("sites");
        let divisions = store
            .orgs()
            .expect("orgs")
            .into_iter()
            .map(|o| (o.name, o.division.to_string()))
            .collect();
        let mut csv = Vec::new();
        transfer::write_sites(&sites, &divisions, lang, &mut csv).expect("export");
        let target = support::sqlite();
        let mut copy = target.open();
        import(&mut copy, Entity::Sites, &csv).expect("import the export");
        let strip = |sites: Vec<siteward::registry::Site>| -> Vec<_> {
            sites
                .into_iter()
                .map(|s| {
                    (
                        s.code,
                        s.name,
                        s.kind,
                        s.org,
                        s.status,
                        s.icp_filing,
                        s.psb_filing,
                        s.domains
                            .into_iter()
                            .map(|d| (d.hostname, d.role, d.state))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect()
        };
        assert_eq!(
            strip(copy.sites(&SiteFilter::default()).expect("sites")),
            strip(sites),
            "{lang:?}"
        );
        // And the export re-imported into its own source changes nothing.
        let again = import(&mut store, Entity::Sites, &csv).expect("re-import");
        assert_eq!((again.created, again.updated), (0, 0), "{lang:?}");
    }
}

#[test]
fn organizations_with_parents_and_accounts() {
    let orgs = "\
单位名称,行政区划代码,层级,上级单位,联系邮箱
甘肃省水利厅,620000,省级,甘肃省人民政府,slt@gansu.gov.cn
甘肃省人民政府,620000,省级,,ban@gansu.gov.cn;zwgk@gansu.gov.cn
兰州市人民政府,620100,,甘肃省人民政府,
";
    for db in backends() {
        let mut store = db.open();
        let summary = import(&mut store, Entity::Orgs, orgs.as_bytes()).expect("orgs");
        assert_eq!(summary.created, 3);
        let water = store.org("甘肃省水利厅").expect("org");
        assert_eq!(water.parent.as_deref(), Some("甘肃省人民政府"));
        assert_eq!(store.org("甘肃省人民政府").expect("org").emails.len(), 2);
        assert_eq!(
            store.org("兰州市人民政府").expect("org").level,
            OrgLevel::Prefecture
        );
        let again = import(&mut store, Entity::Orgs, orgs.as_bytes()).expect("again");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
        let cycle = "name,division,parent\n甘肃省人民政府,620000,甘肃省水利厅\n";
        let errors = row_errors(import(&mut store, Entity::Orgs, cycle.as_bytes()));
        assert!(errors[0].1.contains("its own ancestor"), "{errors:?}");

        let accounts = "\
平台,账号,账号名称,主办单位,状态,最近发布时间
微博,gansufabu,甘肃发布,甘肃省人民政府,正常,2026-11-01 10:00
微信订阅号,gh_gansu,甘肃发布,甘肃省人民政府,正常,
抖音,lzfb,兰州发布,兰州市人民政府,已关闭,
微博,gansufabu,甘肃发布（重复）,甘肃省人民政府,正常,
";
        let errors = row_errors(import(&mut store, Entity::Accounts, accounts.as_bytes()));
        assert_eq!(
            errors,
            vec![(5, "weibo:gansufabu is also on line 2".to_string())]
        );
        assert!(store.accounts().expect("accounts").is_empty());
        let fixed: String = accounts.lines().take(4).map(|l| format!("{l}\n")).collect();
        let summary = import(&mut store, Entity::Accounts, fixed.as_bytes()).expect("accounts");
        assert_eq!(summary.created, 3);
        let weibo = store.account("weibo:gansufabu").expect("account");
        assert_eq!(
            weibo.last_post_at.map(|t| t.to_rfc3339()),
            Some("2026-11-01T02:00:00+00:00".to_string()),
            "local times are China Standard Time"
        );
        assert_eq!(
            store.account("lzfb").expect("closed").status,
            siteward::registry::AccountStatus::Closed
        );
        let again = import(&mut store, Entity::Accounts, fixed.as_bytes()).expect("again");
        assert_eq!(again.unchanged, 3);
    }
}

/// Converts the real list (Province, City/district, Url) into a sites
/// file: every row a live portal of an organizer named after its place,
/// under the province's division code.
fn convert_ptc2024(raw: &str) -> String {
    const PROVINCES: &[(&str, &str)] = &[
        ("Anhui", "340000"),
        ("Beijing", "110000"),
        ("Chongqing", "500000"),
        ("Fujian", "350000"),
        ("Gansu", "620000"),
        ("Guangdong", "440000"),
        ("Guangxi", "450000"),
        ("Guizhou", "520000"),
        ("Hebei", "130000"),
        ("Heilongjiang", "230000"),
        ("Henan", "410000"),
        ("Hubei", "420000"),
        ("Hunan", "430000"),
        ("Inner Mongolia", "150000"),
        ("Jiangsu", "320000"),
        ("Jiangxi", "360000"),
        ("Jilin", "220000"),
        ("Liaoning", "210000"),
        ("Shaanxi", "610000"),
        ("Shandong", "370000"),
        ("Shanghai", "310000"),
        ("Shanxi", "140000"),
        ("Sichuan", "510000"),
        ("Tianjin", "120000"),
        ("Xinjiang", "650000"),
        ("Yunnan", "530000"),
        ("Zhejiang", "330000"),
    ];
    let mut reader = csv::Reader::from_reader(raw.as_bytes());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["name", "url", "organizer", "division", "kind"])
        .expect("header");
    for record in reader.records() {
        let record = record.expect("row");
        let (province, place, url) = (&record[0], &record[1], &record[2]);
        let division = PROVINCES
            .iter()
            .find(|(p, _)| *p == province)
            .expect(province)
            .1;
        let org = format!("{province} {place}");
        writer
            .write_record([
                format!("{org} portal").as_str(),
                url,
                &org,
                division,
                "portal",
            ])
            .expect("row");
    }
    String::from_utf8(writer.into_inner().expect("flush")).expect("utf-8")
}

#[test]
fn real_list_of_portals() {
    let raw = include_str!("../fixtures/ptc2024_local_websites.csv");
    let converted = convert_ptc2024(raw);
    for db in backends() {
        let mut store = db.open();
        // The real list has real faults; the import names each and
        // imports nothing.
        let errors = row_errors(import(&mut store, Entity::Sites, converted.as_bytes()));
        let lines: Vec<u64> = errors.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![83, 192, 241], "{errors:#?}");
        assert!(errors[0].1.contains("www.jinan.cn") && errors[0].1.contains("allowed suffix"));
        assert!(
            errors[1]
                .1
                .contains("www.shaanxi.gov.cn is also on line 142"),
            "{}",
            errors[1].1
        );
        assert!(
            errors[2].1.contains("jyg.gov.cn is also on line 237"),
            "{}",
            errors[2].1
        );
        assert!(
            store
                .sites(&SiteFilter::default())
                .expect("sites")
                .is_empty()
        );

        // An office explains Jinan's domain and drops the two wrong rows.
        store
            .add_exception(
                "domain_not_allowed",
                "www.jinan.cn",
                &ExceptionGrant {
                    reason: "济南市门户网站历史域名，整改期内保留".into(),
                    until: chrono::Utc::now() + chrono::Duration::days(90),
                },
                &policy(),
                &change(0),
            )
            .expect("exception");
        let fixed: String = converted
            .lines()
            .enumerate()
            .filter(|(index, _)| ![191, 240].contains(index))
            .map(|(_, line)| format!("{line}\n"))
            .collect();
        let summary = import(&mut store, Entity::Sites, fixed.as_bytes()).expect("import");
        assert_eq!((summary.rows, summary.created), (268, 268));
        assert_eq!(
            store.sites(&SiteFilter::default()).expect("sites").len(),
            268
        );
        assert_eq!(
            store.site("www.gansu.gov.cn").expect("Gansu").org,
            "Gansu Gansu provincial government"
        );
        let again = import(&mut store, Entity::Sites, fixed.as_bytes()).expect("again");
        assert_eq!(again.unchanged, 268);
    }
}

#[test]
fn utf16_and_closed_sites_reimport_unchanged() {
    let file = "name,code,url,organizer,division,kind,status\n\
旧网站,6200000021,old.gansu.gov.cn,甘肃省人民政府,620000,department,closed\n\
驳回的网站,,no.gansu.gov.cn,甘肃省人民政府,620000,special,rejected\n\
新网站,6200000021,new.gansu.gov.cn,甘肃省人民政府,620000,department,live\n";
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in file.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    for db in backends() {
        let mut store = db.open();
        let summary = import(&mut store, Entity::Sites, &utf16).expect("UTF-16 import");
        assert_eq!(summary.created, 3, "a closed site's code may be reused");
        let again = import(&mut store, Entity::Sites, &utf16).expect("again");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
        assert_eq!(store.sites(&SiteFilter::default()).expect("sites").len(), 3);
        assert_eq!(
            store.site("6200000021").expect("the open one").name,
            "新网站"
        );
    }
}

/// A sites file of `count` live sites under `orgs` organizers the
/// registry lacks (each row gives the division, so the import creates
/// them).
fn many_sites(count: usize, orgs: usize) -> String {
    let mut file = String::from("name,code,url,organizer,division,kind,status\n");
    for i in 0..count {
        let org = i % orgs;
        file.push_str(&format!(
            "测试网站{i},62{:02}{:02}{:04},s{i}.d{org}.gansu.gov.cn,测试单位{org},62{:02}{:02},department,live\n",
            org / 100,
            org % 100,
            i / orgs + 1,
            org / 100,
            org % 100,
        ));
    }
    file
}

#[test]
fn racing_imports_of_one_file_serialise() {
    // Two imports of the same file at once, each with its own store (its
    // own connections), as two `siteward import` processes: on PostgreSQL
    // both used to find every row missing, and the second failed on a
    // unique index. Now one creates the rows and the other, waiting for
    // it, finds them all unchanged; the audit chain stays whole.
    const SITES: usize = 300;
    let file = many_sites(SITES, 30);
    for db in backends() {
        // The database made (and migrated) first: what races here is the
        // import, not the creation of a new SQLite file, whose switch to
        // WAL can fail at once when another connection holds it (and a
        // racer that panicked would leave the other at the barrier).
        drop(db.open());
        let barrier = std::sync::Barrier::new(2);
        let summaries: Vec<ImportSummary> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let (db, barrier, file) = (&db, &barrier, &file);
                    scope.spawn(move || {
                        let mut store = db.open();
                        barrier.wait();
                        import(&mut store, Entity::Sites, file.as_bytes())
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|racer| {
                    racer
                        .join()
                        .expect("racer")
                        .unwrap_or_else(|e| panic!("{}: import: {e}", db.backend))
                })
                .collect()
        });
        let mut created: Vec<(usize, usize, usize)> = summaries
            .iter()
            .map(|s| (s.created, s.unchanged, s.orgs_created))
            .collect();
        created.sort();
        assert_eq!(
            created,
            vec![(0, SITES, 0), (SITES, 0, 30)],
            "{}: one import creates, the other finds everything unchanged",
            db.backend
        );
        let store = db.open();
        assert_eq!(
            store.sites(&SiteFilter::default()).expect("sites").len(),
            SITES,
            "{}",
            db.backend
        );
        let verification = store.verify_audit().expect("verify");
        assert!(
            verification.breaks.is_empty(),
            "{}: {} break(s)",
            db.backend,
            verification.breaks.len()
        );
        // One audit row per site and organizer, none from the second import.
        assert_eq!(verification.rows as usize, SITES + 30, "{}", db.backend);
    }
}

#[test]
fn batched_import_audits_each_row_and_a_bad_row_writes_nothing() {
    // New sites are written by multi-row inserts and their audit rows
    // hashed in memory: the chain and every audited state must be what
    // `audit verify` reads. A later file that changes some sites and
    // adds others (one row at a time for the changes) verifies too; a file
    // whose last row is bad changes nothing and writes no audit row.
    for db in backends() {
        let mut store = db.open();
        let file = many_sites(120, 7);
        let first = import(&mut store, Entity::Sites, file.as_bytes()).expect("import");
        assert_eq!(
            (first.created, first.orgs_created),
            (120, 7),
            "{}",
            db.backend
        );
        let mut changed = many_sites(150, 7).replace("测试网站3,", "改名网站3,");
        let again = import(&mut store, Entity::Sites, changed.as_bytes()).expect("re-import");
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (30, 1, 119),
            "{}",
            db.backend
        );
        let verification = store.verify_audit().expect("verify");
        assert!(
            verification.breaks.is_empty(),
            "{}: {} break(s)",
            db.backend,
            verification.breaks.len()
        );
        let rows = verification.rows;
        changed.push_str("外域网站,,bad.example.com,测试单位1,,department,approved\n");
        let changed = changed.replace("改名网站3,", "又改名网站3,");
        let errors = row_errors(import(&mut store, Entity::Sites, changed.as_bytes()));
        assert_eq!(errors.len(), 1, "{}: {errors:?}", db.backend);
        assert_eq!(errors[0].0, 152, "{}", db.backend);
        assert!(
            errors[0].1.contains("allowed suffix"),
            "{}: {errors:?}",
            db.backend
        );
        let verification = store.verify_audit().expect("verify");
        assert_eq!(verification.rows, rows, "{}: nothing audited", db.backend);
        let unchanged =
            import(&mut store, Entity::Sites, many_sites(150, 7).as_bytes()).expect("import back");
        assert_eq!(
            (unchanged.updated, unchanged.unchanged),
            (1, 149),
            "{}",
            db.backend
        );
    }
}

// ---------------------------------------------------------------------
// Issue 17, the import file's input, through the binary: CRLF line
// numbers, rows of the wrong shape, unclosed quotes, conflicting rows of
// one file, live sites without a code, URLs with a port, control
// characters, and workbooks read as the reconciliation reads them.
// ---------------------------------------------------------------------

use crate::cli::Siteward;

/// Writes `bytes` as `name` in the test's directory; returns its path.
fn file_in(sw: &Siteward, name: &str, bytes: &[u8]) -> String {
    let path = sw.path(name);
    std::fs::write(&path, bytes).expect("write the file");
    path
}

/// Imports `path` as `entity` expecting a refusal: exit 2, nothing stored.
fn import_refused(sw: &Siteward, entity: &str, path: &str) -> String {
    let (status, stderr) = sw.fails(&["import", entity, path]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(sw.json_lines(&["site", "list", "--json"]).is_empty());
    stderr
}

#[test]
fn cli_crlf_lines_row_shapes_and_unclosed_quotes() {
    let sw = Siteward::new();
    // As Excel writes it: CRLF. Line 3 has a bad code, line 4 too few
    // fields, line 5 too many, and line 7 opens a quote it never closes
    // (line 6 is good).
    let file = "name,code,url,organizer,division,kind\n\
                好,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal\n\
                坏,500xxxxxxx,b.gansu.gov.cn,甘肃省人民政府,620000,portal\n\
                短,6200000013,c.gansu.gov.cn\n\
                长,6200000014,d.gansu.gov.cn,甘肃省人民政府,620000,portal,多,余\n\
                好,6200000015,e.gansu.gov.cn,甘肃省人民政府,620000,portal\n\
                引号,6200000016,\"f.gansu.gov.cn,甘肃省人民政府,620000,portal\n\
                后,6200000017,g.gansu.gov.cn,甘肃省人民政府,620000,portal\n"
        .replace('\n', "\r\n");
    let path = file_in(&sw, "sites.csv", file.as_bytes());
    let stderr = import_refused(&sw, "sites", &path);
    for expected in [
        "sites.csv:line 3: code `500xxxxxxx`",
        "sites.csv:line 4: has 3 fields; the header has 6",
        "sites.csv:line 5: has 8 fields; the header has 6",
        "sites.csv:line 7: a quote (\") opens a field on this line and is never closed",
    ] {
        assert!(stderr.contains(expected), "`{expected}` missing:\n{stderr}");
    }
    assert!(!stderr.contains("url is empty"), "{stderr}");
    assert!(
        !stderr.contains("line 2:") && !stderr.contains("line 6:"),
        "{stderr}"
    );
}

#[test]
fn cli_conflicting_rows_of_one_file_name_both_lines() {
    let sw = Siteward::new();
    // One new organizer with two division codes; one code on two rows;
    // one host name on two rows, as a primary written as a URL and as an
    // alias in capitals.
    let file = "name,code,url,organizer,division,kind,aliases\n\
                一,6200000011,a.gansu.gov.cn,新单位,620000,portal,\n\
                二,6200000012,b.gansu.gov.cn,新单位,620100,department,\n\
                三,6200000011,c.gansu.gov.cn,甘肃省人民政府,620000,department,\n\
                四,6200000014,https://d.gansu.gov.cn/index.html,甘肃省人民政府,620000,department,\n\
                五,6200000015,e.gansu.gov.cn,甘肃省人民政府,620000,department,D.Gansu.Gov.Cn\n";
    let path = file_in(&sw, "sites.csv", file.as_bytes());
    let stderr = import_refused(&sw, "sites", &path);
    assert!(
        stderr.contains("sites.csv:line 3: division `620100` differs from line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sites.csv:line 4: identifier code 6200000011 is also on line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sites.csv:line 6: host name d.gansu.gov.cn is also on line 5"),
        "{stderr}"
    );
    assert!(sw.json_lines(&["org", "list", "--json"]).is_empty());

    // An organizations file: one name on two rows is refused even when
    // the rows are identical (one row, one organization; a copy is a
    // mistake to fix, not to guess about).
    let orgs = "name,division,level\n新单位,620000,province\n新单位,620100,prefecture\n\
                另一单位,620000,province\n另一单位,620000,province\n";
    let path = file_in(&sw, "orgs.csv", orgs.as_bytes());
    let (status, stderr) = sw.fails(&["import", "orgs", &path]);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("orgs.csv:line 3: organization `新单位` is also on line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("orgs.csv:line 5: organization `另一单位` is also on line 4"),
        "{stderr}"
    );
    assert!(sw.json_lines(&["org", "list", "--json"]).is_empty());
}

#[test]
fn cli_live_sites_need_a_code_and_urls_keep_no_port() {
    let sw = Siteward::new();
    let file = "name,code,url,organizer,division,kind,status\n\
                上线无码,,a.gansu.gov.cn,甘肃省人民政府,620000,portal,运行中\n\
                端口,6200000012,https://x.gansu.gov.cn:8443/,甘肃省人民政府,620000,department,live\n";
    let path = file_in(&sw, "sites.csv", file.as_bytes());
    let stderr = import_refused(&sw, "sites", &path);
    assert!(
        stderr.contains(
            "sites.csv:line 2: code is empty, and the row's status is live: go-live needs an identifier code"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "sites.csv:line 3: url `https://x.gansu.gov.cn:8443/` has a port (8443); siteward probes \
             the standard ports 80 and 443 only — register the host name"
        ),
        "{stderr}"
    );
    // The same rule where the command line takes a URL for a host name.
    let (status, stderr) = sw.fails(&[
        "site",
        "request",
        "--name",
        "端口",
        "--org",
        "甘肃省人民政府",
        "--kind",
        "portal",
        "--domain",
        "https://x.gansu.gov.cn:8443/",
    ]);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("has a port (8443); siteward probes the standard ports 80 and 443 only"),
        "{stderr}"
    );
    // Without a status a site without a code is approved, not live.
    let file = "name,code,url,organizer,division,kind\n\
                未报送,,a.gansu.gov.cn,甘肃省人民政府,620000,portal\n\
                已报送,6200000012,b.gansu.gov.cn,甘肃省人民政府,620000,department\n";
    let path = file_in(&sw, "sites.csv", file.as_bytes());
    sw.ok(&["import", "sites", &path]);
    let sites = sw.json_lines(&["site", "list", "--json"]);
    let status_of = |host: &str| {
        sites
            .iter()
            .find(|s| s.to_string().contains(host))
            .map(|s| s["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(status_of("a.gansu.gov.cn").as_deref(), Some("approved"));
    assert_eq!(status_of("b.gansu.gov.cn").as_deref(), Some("live"));
}

#[test]
fn cli_control_characters_and_long_names_are_refused() {
    let sw = Siteward::new();
    let long = "政".repeat(500);
    let file = format!(
        "name,code,url,organizer,division,kind,approval_ref\n\
         a\u{202E}b,6200000011,a.gansu.gov.cn,甘肃省人民政府,620000,portal,\n\
         {long},6200000012,b.gansu.gov.cn,甘肃省人民政府,620000,portal,\n\
         好,6200000013,c.gansu.gov.cn,甘肃省\u{0}人民政府,620000,portal,\n\
         好,6200000014,d.gansu.gov.cn,甘肃省人民政府,620000,portal,甘政发\u{1b}[2J\n"
    );
    let path = file_in(&sw, "sites.csv", file.as_bytes());
    let stderr = import_refused(&sw, "sites", &path);
    for expected in [
        "sites.csv:line 2: name `a\\u{202E}b` contains the control or direction character U+202E",
        "sites.csv:line 3: name `",
        "is 500 characters long; at most 200 are allowed",
        "sites.csv:line 4: org `甘肃省\\u{0000}人民政府` contains the control or direction character U+0000",
        "sites.csv:line 5: approval_ref `",
    ] {
        assert!(stderr.contains(expected), "`{expected}` missing:\n{stderr}");
    }
    // Nothing raw reaches the terminal.
    assert!(
        !stderr.contains(['\u{202E}', '\u{0}', '\u{1b}']),
        "{stderr:?}"
    );
}

/// A sites workbook as an office saves it: a numeric code cell, a date,
/// the organizer merged over two rows, and row `bad_row` with a bad code.
fn sites_workbook(bad_row: Option<u32>) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "网站名称",
        "网站标识码",
        "首页网址",
        "主办单位",
        "行政区划代码",
        "网站类型",
        "运行状态",
    ];
    for (col, name) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, *name).expect("header");
    }
    let rows: [(&str, f64, &str, &str); 3] = [
        (
            "甘肃省人民政府门户网站",
            6_200_000_001.0,
            "https://www.gansu.gov.cn/",
            "运行中",
        ),
        (
            "甘肃省水利厅",
            6_200_000_002.0,
            "slt.gansu.gov.cn",
            "运行中",
        ),
        (
            "兰州市人民政府门户网站",
            6_201_000_001.0,
            "http://www.lanzhou.gov.cn",
            "正常运行",
        ),
    ];
    for (at, (name, code, url, status)) in rows.iter().enumerate() {
        let row = at as u32 + 1;
        sheet.write_string(row, 0, *name).expect("name");
        if bad_row == Some(row + 1) {
            sheet.write_string(row, 1, "500xxxxxxx").expect("code");
        } else {
            sheet.write_number(row, 1, *code).expect("code");
        }
        sheet.write_string(row, 2, *url).expect("url");
        sheet.write_string(row, 5, "部门网站").expect("kind");
        sheet.write_string(row, 6, *status).expect("status");
    }
    // The province's two sites share one merged organizer cell.
    let merged = rust_xlsxwriter::Format::new();
    sheet
        .merge_range(1, 3, 2, 3, "甘肃省人民政府", &merged)
        .expect("merge");
    sheet
        .merge_range(1, 4, 2, 4, "620000", &merged)
        .expect("merge");
    sheet.write_string(3, 3, "兰州市人民政府").expect("org");
    sheet.write_number(3, 4, 620_100.0).expect("division");
    book.save_to_buffer().expect("workbook")
}

#[test]
fn cli_xlsx_import_reads_the_workbook_as_the_reconciliation_does() {
    let sw = Siteward::new();
    // Told by its content, whatever its name says.
    let path = file_in(&sw, "网站列表.dat", &sites_workbook(Some(3)));
    let stderr = import_refused(&sw, "sites", &path);
    // Line numbers are the spreadsheet's row numbers.
    assert!(
        stderr.contains("网站列表.dat:line 3: code `500xxxxxxx`"),
        "{stderr}"
    );
    assert_eq!(stderr.matches(":line ").count(), 1, "{stderr}");

    let path = file_in(&sw, "网站列表.xlsx", &sites_workbook(None));
    let out = sw.ok(&["import", "sites", &path]);
    assert!(out.contains("3 created") && out.contains("XLSX"), "{out}");
    let sites = sw.json_lines(&["site", "list", "--json"]);
    assert_eq!(sites.len(), 3);
    let water = sites
        .iter()
        .find(|s| s.to_string().contains("slt.gansu.gov.cn"))
        .expect("the merged organizer's second site");
    assert_eq!(water["code"], "6200000002", "{water}");
    assert_eq!(water["org"], "甘肃省人民政府", "{water}");
    // Re-importing the same workbook changes nothing.
    let out = sw.ok(&["import", "sites", &path]);
    assert!(out.contains("3 unchanged"), "{out}");

    // A file that claims to be a workbook and is not one.
    let path = file_in(&sw, "broken.xlsx", b"PK\x03\x04 not really a zip archive");
    let (status, stderr) = sw.fails(&["import", "orgs", &path]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("cannot read the XLSX workbook"), "{stderr}");
}

#[test]
fn two_rows_changing_one_site_are_refused() {
    // Rows are judged against the registry as it was before the file;
    // two rows reaching one site (by its host name, and by its alias) would
    // each change it from the same state, so the second is refused with
    // the first's line, and nothing is written.
    for db in backends() {
        let mut store = db.open();
        let first = "name,code,url,aliases,organizer,division,kind,status\n\
            甘肃省水利厅,,slt.gansu.gov.cn,water.gansu.gov.cn,甘肃省水利厅,620000,department,approved\n";
        import(&mut store, Entity::Sites, first.as_bytes()).expect("import");
        let second = "name,code,url,organizer,division,kind,status\n\
            甘肃省水利厅网站,,slt.gansu.gov.cn,甘肃省水利厅,620000,department,approved\n\
            水利厅别名站,,water.gansu.gov.cn,甘肃省水利厅,620000,department,approved\n";
        let errors = row_errors(import(&mut store, Entity::Sites, second.as_bytes()));
        assert_eq!(errors.len(), 1, "{}: {errors:?}", db.backend);
        assert_eq!(errors[0].0, 3, "{}", db.backend);
        assert!(
            errors[0].1.contains("also changed by line 2"),
            "{}: {errors:?}",
            db.backend
        );
        let sites = store.sites(&SiteFilter::default()).expect("sites");
        assert_eq!(
            sites[0].name, "甘肃省水利厅",
            "{}: nothing written",
            db.backend
        );
    }
}

#[test]
fn every_site_is_listed_once_across_the_pages_it_is_read_in() {
    // The registry is read 5,000 sites at a time; a province's list must
    // come back whole, each site with its own host name, none twice.
    for db in backends() {
        let mut store = db.open();
        let count = 5_050;
        let file = many_sites(count, 7);
        import(&mut store, Entity::Sites, file.as_bytes()).expect("import");
        let sites = store.sites(&SiteFilter::default()).expect("sites");
        assert_eq!(sites.len(), count, "{}", db.backend);
        let mut ids: Vec<i64> = sites.iter().map(|s| s.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), count, "{}: a site twice", db.backend);
        for site in &sites {
            let i: usize = site
                .name
                .strip_prefix("测试网站")
                .and_then(|i| i.parse().ok())
                .expect("a planted name");
            assert_eq!(site.domains.len(), 1, "{}: {}", db.backend, site.name);
            assert_eq!(
                site.domains[0].hostname.as_str(),
                format!("s{i}.d{}.gansu.gov.cn", i % 7),
                "{}",
                db.backend
            );
            assert_eq!(site.org, format!("测试单位{}", i % 7), "{}", db.backend);
        }
    }
}
