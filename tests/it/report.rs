//! The quarterly circular, end to end: golden files of all four formats
//! for a quarter of the simulated province whose every fact has a fixed
//! time; the province checked for real, reconciled and reported from the
//! command line, written again from the stored copy to the same bytes,
//! read back from the workbook, and printed to PDF by headless Chromium;
//! a past quarter reproduced after a later correction of the registry.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use siteward::findings::{EventKind, FindingKind, FindingStatus, Severity};
use siteward::jobs::{Job, RunStatus};
use siteward::reconcile::Quarter;
use siteward::reconcile::output::Trigger;
use siteward::registry::lifecycle::SiteEdit;
use siteward::report::compute::{self, Facts};
use siteward::report::{Cell, Circular, render};
use siteward::sim::region::{Region, register, register_at};
use siteward::store::{Change, FindingEvent, PageSpan, Run, Store, StoredFinding};

use crate::scenario::{check_round, runtime, watch};
use crate::support::{Siteward, backends, sqlite};

fn at(s: &str) -> DateTime<Utc> {
    siteward::clock::parse_time("t", s).expect("time")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/circular")
}

/// A finding of the quarter with its events, at fixed times.
struct Planted {
    kind: FindingKind,
    subject: &'static str,
    site: Option<&'static str>,
    account: Option<&'static str>,
    severity: Severity,
    opened: &'static str,
    resolved: Option<&'static str>,
    /// Waived by an exception from then instead.
    suppressed: Option<&'static str>,
}

fn planted(store: &Store, id: i64, p: &Planted) -> (StoredFinding, Vec<FindingEvent>) {
    let site = p.site.map(|host| store.site(host).expect("site"));
    let account = p.account.map(|a| store.account(a).expect("account"));
    let org_id = site
        .as_ref()
        .map(|s| s.org.clone())
        .or_else(|| account.as_ref().map(|a| a.org.clone()))
        .and_then(|name| {
            store
                .orgs()
                .expect("orgs")
                .into_iter()
                .find(|o| o.name == name)
                .map(|o| o.id)
        });
    let opened = at(p.opened);
    let resolved = p.resolved.map(at);
    let scope = match &account {
        Some(a) => format!("account:{}", a.id),
        None => p.subject.to_string(),
    };
    let finding = StoredFinding {
        id,
        kind: p.kind,
        severity: p.severity,
        status: if resolved.is_some() {
            FindingStatus::Resolved
        } else {
            FindingStatus::Open
        },
        subject: p.subject.to_string(),
        scope,
        site_id: site.as_ref().map(|s| s.id),
        org_id,
        summary: format!(
            "{}：{}",
            p.subject,
            siteward::findings::text::kind_name(p.kind)
        ),
        action: siteward::findings::text::action(p.kind).to_string(),
        evidence: Vec::new(),
        confirmations: 2,
        first_seen: opened - Duration::minutes(15),
        last_seen: resolved.unwrap_or(opened),
        resolved_at: resolved,
        ack_actor: None,
        ack_note: None,
        ack_at: None,
        opened_at: Some(opened),
        notified_at: None,
        overdue_at: None,
    };
    let event = |at: DateTime<Utc>, change, status| FindingEvent {
        at,
        change,
        status,
        severity: p.severity,
        actor: None,
        note: None,
    };
    let mut events = vec![
        event(
            opened - Duration::minutes(15),
            EventKind::Detected,
            FindingStatus::Pending,
        ),
        event(opened, EventKind::Opened, FindingStatus::Open),
    ];
    if let Some(r) = resolved {
        events.push(event(r, EventKind::Resolved, FindingStatus::Resolved));
    }
    if let Some(at_) = p.suppressed {
        events.push(event(
            at(at_),
            EventKind::Suppressed,
            FindingStatus::Suppressed,
        ));
    }
    (finding, events)
}

fn run_at(id: i64, when: &str, status: RunStatus) -> Run {
    Run {
        id,
        job: Job::Probe,
        fire_at: Some(at(when)),
        instance: Some("test:1".into()),
        started_at: at(when),
        finished_at: at(when) + Duration::minutes(3),
        hosts: 12,
        failures: Vec::new(),
        opened: 0,
        resolved: 0,
        status,
    }
}

/// A host loaded every 15 minutes from `from` to `to`.
fn loaded(from: &str, to: &str) -> PageSpan {
    let (a, b) = (at(from), at(to));
    PageSpan {
        first_seen: a,
        last_seen: b,
        visits: ((b - a).num_minutes() / 15 + 1) as u64,
        loaded: true,
        ipv6: false,
    }
}

fn failed(from: &str, to: &str) -> PageSpan {
    PageSpan {
        loaded: false,
        ..loaded(from, to)
    }
}

/// 2026Q3 of the simulated province, every fact at a fixed time: the
/// registry as `register` leaves it on 2026-12-05, findings of each
/// shape (resolved in the quarter, open across its end, opened the
/// quarter before, on an account, on a name of no site), checks, and a
/// site whose homepage failed a whole day.
fn golden_circular() -> Circular {
    let db = sqlite();
    let store = db.open();
    let policy = crate::support::policy();
    let now = at("2026-12-05 12:00");
    register_at(&store, &policy, now).expect("register");
    let quarter: Quarter = "2026Q3".parse().expect("quarter");
    let as_of = quarter.end();
    let plants = [
        Planted {
            kind: FindingKind::CertExpired,
            subject: "www.baiyin.gov.cn",
            site: Some("www.baiyin.gov.cn"),
            account: None,
            severity: Severity::Critical,
            opened: "2026-08-01 09:00",
            resolved: Some("2026-08-20 17:00"),
            suppressed: None,
        },
        Planted {
            kind: FindingKind::DanglingCname,
            subject: "old.lanzhou.gov.cn",
            site: None,
            account: None,
            severity: Severity::Critical,
            opened: "2026-09-02 10:00",
            resolved: None,
            suppressed: None,
        },
        Planted {
            kind: FindingKind::Ipv6Missing,
            subject: "www.tianshui.gov.cn",
            site: Some("www.tianshui.gov.cn"),
            account: None,
            severity: Severity::Warning,
            opened: "2026-07-03 08:00",
            resolved: None,
            suppressed: None,
        },
        Planted {
            kind: FindingKind::HttpsMissing,
            subject: "www.qingyang.gov.cn",
            site: Some("www.qingyang.gov.cn"),
            account: None,
            severity: Severity::Warning,
            opened: "2026-07-03 08:00",
            resolved: None,
            suppressed: None,
        },
        Planted {
            kind: FindingKind::SuspectedTampering,
            subject: "www.jinchang.gov.cn",
            site: Some("www.jinchang.gov.cn"),
            account: None,
            severity: Severity::Critical,
            opened: "2026-06-20 11:00",
            resolved: Some("2026-07-02 15:00"),
            suppressed: None,
        },
        Planted {
            kind: FindingKind::AccountStale,
            subject: "weibo:lanzhouwenlv",
            site: None,
            account: Some("weibo:lanzhouwenlv"),
            severity: Severity::Warning,
            opened: "2026-09-10 09:00",
            resolved: None,
            suppressed: None,
        },
        // Past its deadline, then waived by an exception.
        Planted {
            kind: FindingKind::HttpsMissing,
            subject: "promo.gansu.gov.cn",
            site: Some("promo.gansu.gov.cn"),
            account: None,
            severity: Severity::Warning,
            opened: "2026-07-01 10:00",
            resolved: None,
            suppressed: Some("2026-08-15 10:00"),
        },
        // Opened after the quarter: not known at its end.
        Planted {
            kind: FindingKind::CertExpired,
            subject: "www.tianshui.gov.cn",
            site: Some("www.tianshui.gov.cn"),
            account: None,
            severity: Severity::Critical,
            opened: "2026-10-15 09:00",
            resolved: None,
            suppressed: None,
        },
    ];
    let mut findings = Vec::new();
    let mut events: HashMap<i64, Vec<FindingEvent>> = HashMap::new();
    for (i, p) in plants.iter().enumerate() {
        // Every event, later ones too: what was not known at the
        // quarter's end is the computation's to leave out.
        let (finding, evs) = planted(&store, i as i64 + 1, p);
        events.insert(finding.id, evs);
        findings.push(finding);
    }
    let runs = vec![
        run_at(1, "2026-06-15 08:00", RunStatus::Ok),
        run_at(2, "2026-07-01 08:00", RunStatus::Ok),
        run_at(3, "2026-08-01 08:00", RunStatus::Ok),
        run_at(4, "2026-08-02 08:00", RunStatus::MeasurementFailed),
        run_at(5, "2026-09-01 08:00", RunStatus::Ok),
    ];
    let sites = store
        .sites(&siteward::store::SiteFilter::default())
        .expect("sites");
    let mut pages: BTreeMap<String, Vec<PageSpan>> = BTreeMap::new();
    for host in compute::page_hosts(&sites) {
        pages.insert(host, vec![loaded("2026-04-01 00:00", "2026-09-30 23:45")]);
    }
    // The provincial portal loads over IPv6 too: the one site whose IPv6
    // is measured, and supported.
    pages
        .get_mut("www.gansu.gov.cn")
        .expect("the portal")
        .push(PageSpan {
            ipv6: true,
            ..loaded("2026-04-01 00:00", "2026-09-30 23:45")
        });
    // 榆中县: its homepage failed for a whole day in August.
    pages.insert(
        "www.yuzhong.gov.cn".into(),
        vec![
            loaded("2026-04-01 00:00", "2026-08-11 23:45"),
            failed("2026-08-12 00:00", "2026-08-12 23:45"),
            loaded("2026-08-13 00:00", "2026-09-30 23:45"),
        ],
    );
    let earlier = store.sites_as_of(as_of).expect("as of");
    let earlier_previous = store.sites_as_of(quarter.previous().end()).expect("as of");
    let orgs = store.orgs().expect("orgs");
    let accounts = store.accounts().expect("accounts");
    let accounts_earlier = store.accounts_as_of(as_of).expect("as of");
    let accounts_earlier_previous = store
        .accounts_as_of(quarter.previous().end())
        .expect("as of");
    let orgs_earlier = store.orgs_as_of(as_of).expect("as of");
    let orgs_earlier_previous = store.orgs_as_of(quarter.previous().end()).expect("as of");
    let facts = Facts {
        policy: &policy,
        sites: &sites,
        earlier: &earlier,
        earlier_previous: &earlier_previous,
        accounts_earlier: &accounts_earlier,
        accounts_earlier_previous: &accounts_earlier_previous,
        orgs_earlier: &orgs_earlier,
        orgs_earlier_previous: &orgs_earlier_previous,
        orgs: &orgs,
        accounts: &accounts,
        findings: &findings,
        events: &events,
        runs: &runs,
        pages: &pages,
        reconcile: None,
        corrections: None,
    };
    compute::compute(
        &facts,
        compute::Request {
            quarter,
            as_of,
            generated_at: now,
        },
    )
}

/// Every file `render::write` makes, by its path under the directory.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .to_string();
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// The circular of a fixed quarter, in all four formats, byte for byte
/// as committed under tests/golden/circular (SITEWARD_UPDATE_GOLDEN=1
/// writes them anew, for a change meant to alter them).
#[test]
fn golden_files_of_every_format() {
    let circular = golden_circular();
    let f = &circular.figures;
    // What the facts make, judged: 10 sites operated at the quarter's
    // end (the forestry bureau's site was already offline), all checked;
    // 白银 (certificate expired), 金昌 (tampering until 2 July) and 榆中
    // (a day of failures) fail; the account went stale.
    assert_eq!(
        (f.sites, f.sites_checked, f.sites_failed),
        (10, 10, 3),
        "{f:?}"
    );
    assert_eq!(f.sites_unreachable, 1);
    assert_eq!(f.checks, 3);
    assert_eq!(f.accounts_failed, 1);
    let annex2 = &circular.tables[1];
    let names: Vec<String> = annex2.rows.iter().map(|r| r[1].text()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in ["白银市人民政府", "金昌市人民政府", "榆中县人民政府"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    // The finding opened after the quarter is not in it: 天水 fails
    // nothing, and one certificate expired in the quarter (白银's).
    assert!(!names.iter().any(|n| n == "天水市人民政府"), "{names:?}");
    let text = render::markdown(&circular);
    assert!(
        text.contains("### （三）证书已过期（单项否决，1处）"),
        "{text}"
    );
    // Past its deadline: rectified or waived, or still open at the end.
    assert!(
        text.contains(
            "本季度有7个问题超过整改期限，其中3个已整改或豁免，4个截至2026年9月30日仍未整改"
        ),
        "{text}"
    );
    assert!(text.contains("2026年8月15日起按例外豁免"), "{text}");
    // IPv6 measured on the portal only (and on 天水, by its finding).
    let annex1 = &circular.tables[0];
    let row = |group: &str| {
        annex1
            .rows
            .iter()
            .find(|r| r[0].text() == group)
            .map(|r| (r[5].text(), r[6].text()))
    };
    assert_eq!(
        row("甘肃省人民政府办公厅"),
        Some(("100.00%".to_string(), "66.67%".to_string()))
    );
    assert_eq!(
        row("天水市"),
        Some(("0.00%".to_string(), "100.00%".to_string())),
        "天水's IPv6 finding measures it, unsupported"
    );
    assert_eq!(row("白银市").map(|r| r.0), Some("—".to_string()));
    let dir = tempfile::tempdir().expect("dir");
    render::write(&circular, dir.path()).expect("written");
    let made = files(dir.path());
    let golden = golden_dir();
    if std::env::var_os("SITEWARD_UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for (name, bytes) in &made {
            let path = golden.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write golden");
        }
    }
    let expected = files(&golden);
    assert_eq!(
        made.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the files written"
    );
    for (name, bytes) in &made {
        assert!(
            expected.get(name) == Some(bytes),
            "{name} differs from tests/golden/circular/{name}; if the change is meant, run with SITEWARD_UPDATE_GOLDEN=1 and review the diff"
        );
    }
    // The same facts give the same bytes; another generation time changes
    // only where the time is shown.
    let again = golden_circular();
    assert_eq!(render::html(&again), render::html(&circular));
    let mut later = again.clone();
    later.generated_at += Duration::hours(5);
    let (a, b) = (render::markdown(&later), render::markdown(&circular));
    assert_ne!(a, b);
    for (x, y) in a.lines().zip(b.lines()) {
        assert!(x == y || x.contains("生成时间"), "{x}\n{y}");
    }
    assert_eq!(
        render::table_csv(&later.tables[0]),
        render::table_csv(&circular.tables[0])
    );
}

/// The workbook: a sheet per table, the rates numbers.
fn workbook_rates(path: &Path) -> Vec<f64> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(path).expect("opens");
    let names = book.sheet_names();
    assert!(
        names.iter().any(|n| n == "附件1") && names.iter().any(|n| n == "附件4"),
        "{names:?}"
    );
    let range = book.worksheet_range("附件1").expect("附件1");
    let rows: Vec<&[Data]> = range.rows().collect();
    let header = rows
        .iter()
        .position(|r| {
            r.iter()
                .any(|c| matches!(c, Data::String(s) if s == "合格率"))
        })
        .expect("a header row with 合格率");
    let column = rows[header]
        .iter()
        .position(|c| matches!(c, Data::String(s) if s == "合格率"))
        .expect("合格率");
    rows[header + 1..]
        .iter()
        .filter_map(|r| match &r[column] {
            Data::Float(f) => Some(*f),
            _ => None,
        })
        .collect()
}

/// Headless Chromium, when there is one (CI installs Debian's).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Prints the page to PDF and keeps a PNG of its first page in the
/// test's output (target/circular-snapshot), as an office would look at
/// it.
fn print_in_chromium(html: &Path) {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium for the circular's print test"
        );
        eprintln!("no chromium: the circular's print test is skipped");
        return;
    };
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/circular-snapshot");
    std::fs::create_dir_all(&out).expect("snapshot dir");
    let pdf = out.join("circular.pdf");
    let _ = std::fs::remove_file(&pdf);
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", html.display());
    let status = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        status.status.success(),
        "chromium printing failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&pdf).expect("a PDF");
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    // Pages: the body and one per attached table at least ("/Type /Page"
    // objects, not the "/Type /Pages" tree).
    let pages = |marker: &[u8]| {
        bytes
            .windows(marker.len() + 1)
            .filter(|w| w.starts_with(marker) && w[marker.len()] != b's')
            .count()
    };
    let pages = pages(b"/Type /Page") + pages(b"/Type/Page");
    assert!(pages >= 5, "{pages} pages");
    // The first printed page as an office sees it, kept as a PNG.
    let png = out.join("circular-page1");
    let converted = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&png)
        .output();
    match converted {
        Ok(o) => assert!(
            o.status.success() && out.join("circular-page1.png").is_file(),
            "pdftoppm: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => assert!(
            std::env::var_os("CI").is_none(),
            "CI must install poppler-utils: {e}"
        ),
    }
}

fn siteward(config: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Siteward::with_config(config).without_actor().run(args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// The province checked for real and reconciled; its circular written
/// from the command line, listed, written again from the stored copy to
/// the same bytes; the workbook's rates numbers; the page printed.
#[test]
fn the_province_reported_from_the_command_line_stored_and_printed() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    for db in backends() {
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register");
        check_round(&store, &watch.config, &watch.policy, &runtime, true);
        let config = watch.config_path.as_path();
        let quarter = Quarter::containing(Utc::now()).to_string();
        let out = tempfile::tempdir().expect("out");
        let (ok, _, stderr) = siteward(
            config,
            &[
                "reconcile",
                "--quarter",
                &quarter,
                "--out",
                &out.path().join("reconcile").display().to_string(),
            ],
        );
        assert!(ok, "{stderr}");
        let first = out.path().join("first");
        let (ok, stdout, stderr) = siteward(
            config,
            &[
                "report",
                "--quarter",
                &quarter,
                "--out",
                &first.display().to_string(),
            ],
        );
        assert!(ok, "{stderr}");
        assert!(
            stdout.contains("The quarter is not over") && stdout.contains("stored as report 1"),
            "{stdout}"
        );
        assert!(
            stdout.contains("Discrepancies from reconciliation run 1"),
            "{stdout}"
        );
        let written = files(&first);
        for name in [
            "circular.html",
            "circular.md",
            "circular.xlsx",
            "tables/附件1.csv",
            "tables/附件2.csv",
            "tables/附件3.csv",
            "tables/附件4.csv",
        ] {
            assert!(written.contains_key(name), "{name} in {:?}", written.keys());
        }
        let md = String::from_utf8(written["circular.md"].clone()).expect("utf-8");
        for words in [
            "一、总体情况",
            "二、检查发现的主要问题",
            "三、整改要求",
            "尚未结束",
            "合格率",
        ] {
            assert!(md.contains(words), "{words} in\n{md}");
        }
        // The province's critical cases fail their sites, named.
        let circular = store.report_run(1).expect("stored");
        assert!(circular.figures.checks >= 1 && circular.figures.sites_checked > 0);
        assert!(circular.figures.sites_failed >= 1, "{:?}", circular.figures);
        assert!(
            !circular.tables[2].rows.is_empty(),
            "the reconciliation's discrepancies are attached"
        );
        let rates = workbook_rates(&first.join("circular.xlsx"));
        assert!(
            !rates.is_empty() && rates.iter().all(|r| (0.0..=1.0).contains(r)),
            "{rates:?}"
        );
        let (ok, stdout, _) = siteward(config, &["report", "list"]);
        assert!(ok && stdout.contains(&quarter), "{stdout}");
        let again = out.path().join("again");
        let (ok, _, stderr) = siteward(
            config,
            &["report", "show", "1", "--out", &again.display().to_string()],
        );
        assert!(ok, "{stderr}");
        assert_eq!(
            files(&again),
            written,
            "the stored circular writes the same bytes"
        );
        // Another quarter's reconciliation: attached as such, and its
        // 找错 figures not taken for this quarter's.
        let before = Quarter::containing(Utc::now()).previous().to_string();
        let other = out.path().join("other");
        let (ok, _, stderr) = siteward(
            config,
            &[
                "report",
                "--quarter",
                &before,
                "--reconcile",
                "1",
                "--out",
                &other.display().to_string(),
            ],
        );
        assert!(ok, "{stderr}");
        let md = std::fs::read_to_string(other.join("circular.md")).expect("md");
        assert!(md.contains("的对账，本地登记与全国系统"), "{md}");
        assert!(md.contains("本季度的对账未包含"), "{md}");
        let (ok, _, stderr) = siteward(
            config,
            &[
                "report",
                "--quarter",
                &quarter,
                "--reconcile",
                "77",
                "--out",
                &other.display().to_string(),
            ],
        );
        assert!(
            !ok && stderr.contains("no reconciliation run 77"),
            "{stderr}"
        );
        let (ok, _, stderr) = siteward(config, &["report", "show", "99"]);
        assert!(!ok && stderr.contains("99"), "{stderr}");
        let (ok, _, stderr) = siteward(
            config,
            &[
                "report",
                "--quarter",
                "2099Q1",
                "--out",
                &out.path().join("x").display().to_string(),
            ],
        );
        assert!(!ok && stderr.contains("2099Q1 has not begun"), "{stderr}");
        if db.backend == "sqlite" {
            print_in_chromium(&first.join("circular.html"));
        }
    }
}

/// A past quarter's circular stays as stored after a later correction of
/// the registry; generated again, it shows the corrected record and says
/// that it was corrected since.
#[test]
fn a_past_quarter_reproduced_after_a_later_correction() {
    let runtime = runtime();
    for db in backends() {
        let store = db.open();
        let policy = crate::support::policy();
        register(&store, &policy).expect("register");
        let app = siteward::app::App::new(
            siteward::config::Config::default(),
            None,
            policy.clone(),
            store.clone(),
        );
        let quarter = Quarter::containing(Utc::now()).previous();
        let request = |now: DateTime<Utc>| siteward::app::report::Request {
            quarter,
            reconcile: None,
            trigger: Trigger::Manual,
            actor: "tester".into(),
            now,
        };
        let first = runtime
            .block_on(siteward::app::report::report(&app, request(Utc::now())))
            .expect("reported");
        assert!(first.complete && first.notes.iter().all(|n| !n.contains("更正")));
        let html = render::html(&first);
        let sites_of = |c: &Circular, group: &str| -> i64 {
            c.tables[0]
                .rows
                .iter()
                .find(|r| r[0].text() == group)
                .map_or(0, |r| match r[1] {
                    Cell::Int(n) => n,
                    _ => -1,
                })
        };
        let (lanzhou, tianshui) = (sites_of(&first, "兰州市"), sites_of(&first, "天水市"));
        assert!(lanzhou >= 2 && tianshui >= 1, "{:?}", first.tables[0].rows);
        // The culture bureau's site was recorded under the wrong organizer
        // all along: corrected now, effective in the middle of the quarter.
        let inside = quarter.start() + Duration::days(30);
        store
            .edit_site(
                "lyj.lanzhou.gov.cn",
                &SiteEdit {
                    org: Some("天水市人民政府办公室".into()),
                    reason: Some("登记时误填主办单位".into()),
                    ..SiteEdit::default()
                },
                None,
                &policy,
                &Change::at("tester", inside),
            )
            .expect("corrected");
        // Retired after the quarter's end: still operated then; an
        // account closed since was still active then.
        let qingyang = sites_of(&first, "庆阳市");
        store
            .transition_account(
                "weibo:lanzhoufabu",
                &siteward::registry::lifecycle::AccountAction::Close {
                    reason: "并入兰州发布微信".into(),
                },
                &Change::now("tester"),
            )
            .expect("closed");
        store
            .transition_site(
                "www.qingyang.gov.cn",
                &siteward::registry::lifecycle::SiteAction::Retire {
                    reference: "庆政办函〔2026〕1号".into(),
                    successor_url: None,
                },
                &policy,
                &Change::now("tester"),
            )
            .expect("retired");
        let stored = store.report_run(first.id).expect("stored");
        assert_eq!(
            render::html(&stored),
            html,
            "a stored circular does not change"
        );
        let second = runtime
            .block_on(siteward::app::report::report(&app, request(Utc::now())))
            .expect("reported again");
        assert_eq!(
            (sites_of(&second, "兰州市"), sites_of(&second, "天水市")),
            (lanzhou - 1, tianshui + 1),
            "the corrected history"
        );
        assert_eq!(sites_of(&second, "庆阳市"), qingyang, "as it stood then");
        assert_eq!(
            second.figures.accounts, first.figures.accounts,
            "the account closed since was active then"
        );
        let accounts_now = store
            .accounts()
            .expect("accounts")
            .iter()
            .filter(|a| a.status == siteward::registry::AccountStatus::Active)
            .count();
        // 兰州发布 was closed after the quarter (and 兰州旅游, 60 days ago,
        // may have been too, depending on today's date).
        assert!(first.figures.accounts > accounts_now);
        assert!(
            second
                .notes
                .iter()
                .any(|n| n.contains("更正过1处") && n.contains(&format!("编号{}", first.id))),
            "{:?}",
            second.notes
        );
        assert!(matches!(second.tables[0].rows[0][4], Cell::Percent(_)));
        // An organization moved to another city after the quarter: its
        // site stays where it was then.
        let (records, _) = siteward::transfer::parse(
            siteward::transfer::Entity::Orgs,
            "name,division,level\n榆中县人民政府办公室,620502,county\n".as_bytes(),
        )
        .expect("parsed");
        store
            .import(&records, &policy, &Change::now("tester"))
            .expect("imported");
        let third = runtime
            .block_on(siteward::app::report::report(&app, request(Utc::now())))
            .expect("reported a third time");
        assert_eq!(
            (sites_of(&third, "兰州市"), sites_of(&third, "天水市")),
            (sites_of(&second, "兰州市"), sites_of(&second, "天水市")),
            "grouped as the organization stood then"
        );
        let current = Quarter::containing(Utc::now());
        let now_report = runtime
            .block_on(siteward::app::report::report(
                &app,
                siteward::app::report::Request {
                    quarter: current,
                    ..request(Utc::now())
                },
            ))
            .expect("this quarter");
        assert_eq!(
            sites_of(&now_report, "天水市"),
            sites_of(&third, "天水市") + 1,
            "and where it is now in this quarter's"
        );
    }
}

/// The daemon writes the circular on its `report` schedule: stored as
/// scheduled, and written under `[report] out`.
#[test]
fn the_daemon_writes_the_circular_on_its_schedule() {
    use crate::daemon::{Daemon, Province, wait_for};
    use std::time::Duration as Wait;
    let province = Province::start();
    let out = tempfile::tempdir().expect("out");
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
            "reconcile=3600",
            "--every",
            "report=1",
        ],
        &[("SITEWARD_REPORT_OUT", &out_path)],
    );
    let reports = wait_for(Wait::from_secs(60), &daemon, || {
        let reports = province.store.report_runs(10).ok()?;
        (!reports.is_empty()).then_some(reports)
    });
    let first = &reports[0];
    assert_eq!(
        (first.trigger.as_str(), first.actor.as_str()),
        ("scheduled", "siteward")
    );
    let dir = out
        .path()
        .join(format!("{}-report-{}", first.quarter, first.id));
    // Written one file after another once the circular is stored.
    let names = [
        "circular.html",
        "circular.md",
        "circular.xlsx",
        "tables/附件1.csv",
        "tables/附件4.csv",
    ];
    wait_for(Wait::from_secs(30), &daemon, || {
        names
            .iter()
            .all(|name| dir.join(name).is_file())
            .then_some(())
    });
    daemon.signal("TERM");
    daemon.wait(Wait::from_secs(30));
    let ok = province
        .store
        .runs(Some(Job::Report), 100)
        .expect("runs")
        .into_iter()
        .filter(|r| r.status == RunStatus::Ok)
        .count();
    assert!(ok >= 1, "the job's runs are recorded");
}
