//! The six real cases of `domain.md` and the false-alarm traps, in one
//! simulated province: one `check` round must flag each case with the
//! right kind, and nothing else; a round with the resolver down must
//! report a failure to measure and change nothing.

use std::collections::BTreeSet;

use siteward::app::checks::{self, CheckReport, CycleOptions};
use siteward::config::Config;
use siteward::findings::FindingStatus;
use siteward::policy::Policy;
use siteward::sim::region::{EXPECTED, QUIET, Region, register};

use crate::support::{Siteward, backends};

/// One `check --once` round on `store`, as the command runs it.
pub fn check_round(
    store: &siteward::store::Store,
    config: &Config,
    policy: &Policy,
    runtime: &tokio::runtime::Runtime,
    confirm: bool,
) -> CheckReport {
    let app = siteward::app::App::new(config.clone(), None, policy.clone(), store.clone());
    runtime
        .block_on(async {
            let run = siteward::store::Run::start(siteward::jobs::Job::Probe, None);
            let id = store.start_run(&run).expect("run starts");
            checks::cycle(
                &app,
                siteward::store::Run { id, ..run },
                &CycleOptions::new(confirm, std::time::Duration::from_secs(5)),
                &tokio_util::sync::CancellationToken::new(),
            )
            .await
        })
        .expect("check runs")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// What siteward needs to watch the region, as a user would set it up.
pub struct Watch {
    pub config: Config,
    pub policy: Policy,
    pub config_path: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
}

pub fn watch(region: &Region, url: &str) -> Watch {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = region.write_config(dir.path(), url).expect("config");
    let config = Config::load(Some(&config_path), std::iter::empty()).expect("config loads");
    let policy = Policy::load(config.policies.dir.as_deref()).expect("region policy");
    Watch {
        config,
        policy,
        config_path,
        _dir: dir,
    }
}

#[test]
fn the_six_real_cases_and_nothing_else() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    for db in backends() {
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register the region");
        // An exception that has expired by the check suppresses nothing.
        store
            .add_exception(
                "ipv6_missing",
                "www.jinchang.gov.cn",
                &siteward::store::ExceptionGrant {
                    reason: "改造中".into(),
                    until: chrono::Utc::now() + chrono::Duration::milliseconds(1500),
                },
                &watch.policy,
                &siteward::store::Change::now("tester"),
            )
            .expect("exception");
        std::thread::sleep(std::time::Duration::from_millis(1600));
        let report = check_round(&store, &watch.config, &watch.policy, &runtime, true);
        let open: BTreeSet<(String, String)> = report
            .findings
            .iter()
            .filter(|f| f.status == FindingStatus::Open)
            .map(|f| (f.subject.clone(), f.kind.to_string()))
            .collect();
        let listing: Vec<String> = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}: {}",
                    f.status, f.severity, f.kind, f.subject, f.summary
                )
            })
            .collect();
        for (subject, kind) in EXPECTED {
            if *kind == "ipv6_partial" && !region.ipv6 {
                continue;
            }
            assert!(
                open.contains(&(subject.to_string(), kind.to_string())),
                "{}: {kind} on {subject} not open; findings:\n{}",
                db.backend,
                listing.join("\n")
            );
        }
        let expected: BTreeSet<(String, String)> = EXPECTED
            .iter()
            .map(|(s, k)| (s.to_string(), k.to_string()))
            .collect();
        let unexpected: Vec<&String> = report
            .findings
            .iter()
            .zip(&listing)
            .filter(|(f, _)| !expected.contains(&(f.subject.clone(), f.kind.to_string())))
            .map(|(_, line)| line)
            .collect();
        assert!(
            unexpected.is_empty(),
            "{}: false alarms:\n{}",
            db.backend,
            unexpected
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        for quiet in QUIET {
            assert!(
                !report.findings.iter().any(|f| f.subject.contains(quiet)),
                "{}: {quiet} raised something",
                db.backend
            );
        }
        assert!(report.critical_open(), "critical cases are open");
        // Everything in the province was measured but the names under the
        // zone whose only name server is gone (nobody can answer for them).
        assert_eq!(report.run.status, siteward::jobs::RunStatus::Ok);
        assert!(
            report
                .run
                .failures
                .iter()
                .all(|f| f.scope == "www.oldcounty.gansu.gov.cn"),
            "{}: failures to measure: {:?}",
            db.backend,
            report
                .run
                .failures
                .iter()
                .map(|f| format!("{}: {}", f.scope, f.reason))
                .collect::<Vec<_>>()
        );
        // A broken record that nobody else can claim is a warning.
        let cdn = report
            .findings
            .iter()
            .find(|f| f.subject == "cdn.gansu.gov.cn")
            .expect("the deleted CloudFront distribution");
        assert_eq!(cdn.severity, siteward::findings::Severity::Warning);
        assert!(cdn.summary.contains("应予清理"), "{}", cdn.summary);
    }
}

/// The ids of the findings open after a round.
fn open_ids(report: &CheckReport) -> BTreeSet<i64> {
    report
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .map(|f| f.id)
        .collect()
}

/// With the resolver down (silent) or failing (SERVFAIL), a round reports
/// a failure to measure: nothing found before is resolved, nothing new is
/// raised.
#[test]
fn a_resolver_that_is_down_changes_nothing() {
    use siteward::sim::dns::{Fault, serve_fault};
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    let db = crate::support::sqlite();
    let watch = watch(&region, &db.url);
    let store = db.open();
    register(&store, &watch.policy).expect("register the region");
    let before = check_round(&store, &watch.config, &watch.policy, &runtime, true);
    let open_before = open_ids(&before);
    assert!(open_before.len() >= EXPECTED.len() - 1, "{open_before:?}");
    for fault in [Fault::Silent, Fault::ServFail] {
        let server = runtime
            .block_on(serve_fault("127.0.0.1:0".parse().expect("addr"), fault))
            .expect("fault server");
        let mut config = watch.config.clone();
        config.resolver.nameservers = vec![server.addr.to_string()];
        config.resolver.timeout_ms = 300;
        config.resolver.attempts = 1;
        let after = check_round(&store, &config, &watch.policy, &runtime, true);
        assert_eq!(
            after.run.status,
            siteward::jobs::RunStatus::MeasurementFailed,
            "{fault:?}"
        );
        assert!(!after.run.failures.is_empty(), "{fault:?}");
        assert_eq!(after.stats.resolved, 0, "{fault:?}: nothing resolves");
        assert_eq!(after.stats.opened, 0, "{fault:?}: nothing opens");
        assert_eq!(open_ids(&after), open_before, "{fault:?}");
        let last = store.last_run().expect("runs").expect("a run");
        assert_eq!(last.status, siteward::jobs::RunStatus::MeasurementFailed);
    }
}

/// Our own outage: a round whose canaries do not load probes nothing;
/// with no canaries, a round in which no web probe answered keeps
/// nothing. Either way it is `measurement_failed`, nothing opens,
/// nothing resolves, and no visit of it enters the availability history.
#[test]
fn our_own_outage_changes_nothing() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    let db = crate::support::sqlite();
    let watch = watch(&region, &db.url);
    let store = db.open();
    register(&store, &watch.policy).expect("register the region");
    assert!(!watch.policy.canaries.is_empty(), "the region has a canary");
    let before = check_round(&store, &watch.config, &watch.policy, &runtime, true);
    assert_eq!(before.run.status, siteward::jobs::RunStatus::Ok);
    let open_before = open_ids(&before);
    assert!(open_before.len() >= EXPECTED.len() - 1, "{open_before:?}");
    let hosts: Vec<siteward::registry::Hostname> = ["www.gansu.gov.cn", "www.tianshui.gov.cn"]
        .iter()
        .map(|h| h.parse().expect("host"))
        .collect();
    let window = chrono::Utc::now() - chrono::Duration::days(7);
    let visits = || store.availability(window, &hosts).expect("availability");
    let visits_before = visits();
    assert!(!visits_before.is_empty(), "the first round was visited");
    let rows_before = store.observation_rows().expect("rows");

    // The canary does not load (its name does not resolve here).
    let mut policy = watch.policy.clone();
    policy.canaries = vec!["www.gov.cn".parse().expect("host")];
    let after = check_round(&store, &watch.config, &policy, &runtime, true);
    assert_eq!(
        after.run.status,
        siteward::jobs::RunStatus::MeasurementFailed
    );
    assert_eq!(after.run.failures.len(), 1, "{:?}", after.run.failures);
    assert_eq!(after.run.failures[0].scope, "round");
    assert!(
        after.run.failures[0].reason.contains("www.gov.cn"),
        "{}",
        after.run.failures[0].reason
    );
    assert_eq!((after.stats.opened, after.stats.resolved), (0, 0));
    assert_eq!(open_ids(&after), open_before);
    assert_eq!(
        store.observation_rows().expect("rows"),
        rows_before,
        "nothing probed"
    );
    assert_eq!(visits(), visits_before);

    // No canaries, and every web port closed on our side.
    policy.canaries.clear();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("address")
        .port();
    let mut config = watch.config.clone();
    config.probe.https_port = closed;
    config.probe.http_port = closed;
    let after = check_round(&store, &config, &policy, &runtime, true);
    assert_eq!(
        after.run.status,
        siteward::jobs::RunStatus::MeasurementFailed
    );
    assert!(
        after
            .run
            .failures
            .iter()
            .any(|f| f.scope == "round" && f.reason.contains("no web probe")),
        "{:?}",
        after.run.failures
    );
    assert_eq!((after.stats.opened, after.stats.resolved), (0, 0));
    assert_eq!(open_ids(&after), open_before);
    assert_eq!(visits(), visits_before, "no visit of the round is kept");
    assert_eq!(store.observation_rows().expect("rows"), rows_before);

    // With the canary back, the region is measured again.
    let again = check_round(&store, &watch.config, &watch.policy, &runtime, false);
    assert_eq!(again.run.status, siteward::jobs::RunStatus::Ok);
    assert_eq!(open_ids(&again), open_before);
}

fn siteward(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Siteward::with_config(config).actor("李四").run(args)
}

fn lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// `check --once`, `findings`, `findings ack`, exceptions and `discover`,
/// as an administrator runs them.
#[test]
fn check_findings_and_discovery_from_the_command_line() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    let db = crate::support::sqlite();
    let watch = watch(&region, &db.url);
    register(&db.open(), &watch.policy).expect("register the region");
    let config = watch.config_path.as_path();

    // Something critical is open: exit status 3, one JSON object a line.
    let output = siteward(config, &["check", "--once", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found = lines(&output);
    for key in [
        "kind", "severity", "subject", "site", "org", "status", "summary", "evidence",
    ] {
        assert!(found.iter().all(|f| f.get(key).is_some()), "{key} missing");
    }
    let tampering = found
        .iter()
        .find(|f| f["kind"] == "suspected_tampering" && f["subject"] == "www.tianshui.gov.cn")
        .expect("real case 4");
    assert_eq!(tampering["subject"], "www.tianshui.gov.cn");
    assert_eq!(tampering["severity"], "critical");
    assert_eq!(tampering["site"]["code"], "6205000001");
    assert_eq!(tampering["org"], "天水市人民政府办公室");
    assert!(
        tampering["summary"]
            .as_str()
            .expect("summary")
            .contains("天水市人民政府"),
        "{tampering}"
    );
    let dangling = found
        .iter()
        .find(|f| f["subject"] == "promo.gansu.gov.cn")
        .expect("dangling CNAME");
    assert!(
        dangling["summary"]
            .as_str()
            .expect("summary")
            .contains("NXDOMAIN"),
        "{dangling}"
    );

    // A resolver that does not answer: nothing could be measured, exit
    // status 4 (before 3, though critical findings stay open), for
    // `check --once` and for `probe`.
    let blind = |args: &[&str]| {
        Siteward::with_config(config)
            .without_actor()
            .env("SITEWARD_RESOLVER_NAMESERVERS", "127.0.0.1:9")
            .env("SITEWARD_RESOLVER_TIMEOUT_MS", "200")
            .env("SITEWARD_RESOLVER_ATTEMPTS", "1")
            .run(args)
    };
    for args in [
        &["check", "--once", "--no-confirm", "--json"][..],
        &["probe", "www.gansu.gov.cn"][..],
    ] {
        let output = blind(args);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = siteward(config, &["probe", "www.gansu.gov.cn"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    // The store lists them; filters work.
    let listed = lines(&siteward(config, &["findings", "--json"]));
    assert_eq!(listed.len(), found.len());
    let ipv6 = lines(&siteward(
        config,
        &["findings", "--kind", "ipv6_missing", "--json"],
    ));
    assert_eq!(ipv6.len(), 1);
    assert_eq!(ipv6[0]["subject"], "www.jinchang.gov.cn");

    // Acknowledging keeps it listed, as acknowledged, with the note.
    let id = tampering["id"].as_i64().expect("id").to_string();
    let output = siteward(config, &["findings", "ack", &id, "--note", "已通知天水市"]);
    assert!(output.status.success(), "{output:?}");
    let acknowledged = lines(&siteward(
        config,
        &["findings", "--status", "acknowledged", "--json"],
    ));
    assert_eq!(acknowledged.len(), 1);
    assert_eq!(acknowledged[0]["ack"]["note"], "已通知天水市");
    assert_eq!(acknowledged[0]["ack"]["actor"], "李四");

    // An exception suppresses a kind for a subject until it expires (in
    // half a year: the policy allows a year at most).
    let until = (chrono::Utc::now() + chrono::Duration::days(180))
        .format("%Y-%m-%d")
        .to_string();
    let output = siteward(
        config,
        &[
            "exception",
            "add",
            "--kind",
            "ipv6_missing",
            "--subject",
            "www.jinchang.gov.cn",
            "--reason",
            "IPv6 改造已列入 2027 年计划",
            "--until",
            &until,
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let output = siteward(
        config,
        &[
            "exception",
            "add",
            "--kind",
            "no_such_kind",
            "--subject",
            "x",
            "--reason",
            "r",
            "--until",
            &until,
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a finding kind"));
    let output = siteward(config, &["check", "--once", "--json"]);
    let again = lines(&output);
    assert!(
        !again.iter().any(|f| f["kind"] == "ipv6_missing"),
        "suppressed findings are not shown"
    );
    let suppressed = lines(&siteward(
        config,
        &["findings", "--status", "suppressed", "--json"],
    ));
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["subject"], "www.jinchang.gov.cn");
    // The acknowledged finding stays acknowledged while it holds.
    let tampering = again
        .iter()
        .find(|f| f["kind"] == "suspected_tampering" && f["subject"] == "www.tianshui.gov.cn")
        .expect("still there");
    assert_eq!(tampering["status"], "acknowledged");

    // Real case 3, dealt with: the bureau's site is retired and taken
    // offline in the registry; its domain is releasing, inside the grace.
    // The next round resolves the unreachable finding, with the time.
    let date = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    for args in [
        vec![
            "site",
            "retire",
            "lyj.lanzhou.gov.cn",
            "--ref",
            "兰政办函〔2026〕9号",
            "--at",
            &date(40),
        ],
        vec!["site", "offline", "lyj.lanzhou.gov.cn", "--at", &date(5)],
    ] {
        let output = siteward(config, &args);
        assert!(output.status.success(), "{args:?}: {output:?}");
    }
    let output = siteward(config, &["check", "--once", "--json"]);
    assert!(
        !lines(&output)
            .iter()
            .any(|f| f["subject"] == "lyj.lanzhou.gov.cn"),
        "nothing open about the retired site inside its grace"
    );
    let resolved = lines(&siteward(
        config,
        &["findings", "--status", "resolved", "--json"],
    ));
    let case3 = resolved
        .iter()
        .find(|f| f["subject"] == "lyj.lanzhou.gov.cn" && f["kind"] == "unreachable_but_resolving")
        .expect("resolved");
    assert!(case3["resolved_at"].is_string(), "{case3}");

    // Discovery: a zone file, a list, a zone transfer policy allows, and
    // one it does not.
    let dir = tempfile::tempdir().expect("temp dir");
    let zone_file = dir.path().join("lanzhou.zone");
    std::fs::write(
        &zone_file,
        "$ORIGIN lanzhou.gov.cn.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
         @ IN NS ns1\nns1 IN A 127.0.0.2\nwww IN A 127.0.0.1\nzwfw IN A 127.0.0.1\n\
         *.apps IN A 127.0.0.1\n_sip._tcp IN SRV 0 5 5060 www\n",
    )
    .expect("zone file");
    let output = siteward(
        config,
        &[
            "discover",
            "--zone-file",
            zone_file.to_str().expect("path"),
            "--json",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let summary = &lines(&output)[0];
    // lanzhou.gov.cn, ns1, www and zwfw; not the wildcard or the SRV name.
    assert_eq!(summary["hosts"], 4, "{summary}");
    let list = dir.path().join("ct.txt");
    std::fs::write(
        &list,
        "# from crt.sh\n*.gsjs.gansu.gov.cn\nhttps://zwfw.gansu.gov.cn/login\n",
    )
    .expect("list");
    let output = siteward(
        config,
        &[
            "discover",
            "--hosts",
            list.to_str().expect("path"),
            "--json",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    // The wildcard is reported as such, not learnt as gsjs.gansu.gov.cn.
    assert_eq!(lines(&output)[0]["new"], 1);
    assert_eq!(
        lines(&output)[0]["wildcards"],
        serde_json::json!(["*.gsjs.gansu.gov.cn"])
    );
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "www.gansu.gov.cn\nnot a host name!\n").expect("list");
    let output = siteward(
        config,
        &["discover", "--hosts", bad.to_str().expect("path")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));
    let output = siteward(config, &["discover", "--axfr", "gansu.gov.cn", "--json"]);
    assert!(output.status.success(), "{output:?}");
    assert!(lines(&output)[0]["hosts"].as_u64().expect("count") >= 4);
    let listed = lines(&siteward(config, &["discover", "--list", "--json"]));
    // Learnt from links during the checks, and from the files above.
    for (host, source) in [
        ("data.lanzhou.gov.cn", "link"),
        ("zwfw.lanzhou.gov.cn", "zone-file:"),
        ("zwfw.gansu.gov.cn", "list:"),
        ("promo.gansu.gov.cn", "axfr:gansu.gov.cn"),
    ] {
        assert!(
            listed.iter().any(|e| e["hostname"] == host
                && e["source"].as_str().is_some_and(|s| s.starts_with(source))),
            "{host} from {source}: {listed:?}"
        );
    }
    assert!(
        !listed.iter().any(|e| e["hostname"] == "gsjs.gansu.gov.cn"
            && e["source"].as_str().is_some_and(|s| s.starts_with("list:"))),
        "a wildcard's zone learnt as a host name: {listed:?}"
    );
    let output = siteward(config, &["discover", "--axfr", "lanzhou.gov.cn"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("[discovery] axfr"));
}
