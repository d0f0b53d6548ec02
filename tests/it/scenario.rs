//! The six real cases of `domain.md` and the false-alarm traps, in one
//! simulated province: one `check` round must flag each case with the
//! right kind, and nothing else; a round with the resolver down must
//! report a failure to measure and change nothing.

use std::collections::BTreeSet;

use siteward::check;
use siteward::config::Config;
use siteward::findings::FindingStatus;
use siteward::policy::Policy;
use siteward::probe::run::Prober;
use siteward::sim::region::{EXPECTED, QUIET, Region, register};

use crate::support::backends;

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
        let mut store = db.open();
        register(&mut store, &watch.policy).expect("register the region");
        let prober = Prober::from_config(&watch.config, &watch.policy).expect("prober");
        let report =
            check::run(&mut store, &watch.policy, &prober, &runtime, true).expect("check runs");
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
        assert!(report.run.failures.is_empty() || report.run.status == "ok");
    }
}
