//! The rules judge what the store holds: the latest round of each host
//! name and the latest poll of each feed, while they are fresh. The
//! `probe` and `feeds` jobs store their own facts and judge the whole;
//! a fact past `max_observation_age_mins` is unmeasured and resolves
//! nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use siteward::app::App;
use siteward::app::checks::{self, CycleOptions};
use siteward::findings::FindingStatus;
use siteward::jobs::Job;
use siteward::sim::region::{EXPECTED, Region, register};
use siteward::store::{Run, Store};
use tokio_util::sync::CancellationToken;

use crate::scenario::{runtime, watch};
use crate::support::backends;

fn open(store: &Store) -> BTreeSet<(String, String)> {
    store
        .findings(&[FindingStatus::Open])
        .expect("findings")
        .into_iter()
        .map(|f| (f.subject, f.kind.to_string()))
        .collect()
}

fn started(store: &Store, job: Job) -> Run {
    let run = Run::start(job, None);
    let id = store.start_run(&run).expect("run starts");
    Run { id, ..run }
}

fn is_account(subject: &str) -> bool {
    subject.starts_with("weibo:") || subject.starts_with("wechat_subscription:")
}

#[test]
fn separate_jobs_are_judged_from_the_latest_facts_and_old_facts_are_not_facts() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .filter(|(_, kind)| *kind != "ipv6_partial" || region.ipv6)
        .map(|(s, k)| (s.to_string(), k.to_string()))
        .collect();
    let (accounts, hosts): (BTreeSet<_>, BTreeSet<_>) =
        expected.iter().cloned().partition(|(s, _)| is_account(s));
    assert!(!accounts.is_empty() && !hosts.is_empty());
    for db in backends() {
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register the region");
        let mut policy = watch.policy.clone();
        // Each finding opens at its first observation: this test is about
        // which facts are judged, not about confirmation.
        policy.confirmation.confirmations = 1;
        let app = App::new(watch.config.clone(), None, policy.clone(), store.clone());
        let cancel = CancellationToken::new();

        // The feeds job alone: the accounts are judged; no host name has
        // been observed, so nothing about sites is.
        let run = runtime
            .block_on(checks::feeds_cycle(
                &app,
                started(&store, Job::Feeds),
                &cancel,
            ))
            .expect("feeds job");
        assert_eq!(run.status.to_string(), "ok", "{}", db.backend);
        let after_feeds = open(&store);
        assert!(
            accounts.is_subset(&after_feeds),
            "{}: {after_feeds:?}",
            db.backend
        );
        assert!(
            hosts.is_disjoint(&after_feeds),
            "{}: a site was judged with nothing observed: {after_feeds:?}",
            db.backend
        );

        // The probe job alone (no feed polled): the sites are judged from
        // its facts, and the accounts still from the feeds job's.
        let options = CycleOptions {
            feeds: false,
            ..CycleOptions::new(false, Duration::from_secs(5))
        };
        let report = runtime
            .block_on(checks::cycle(
                &app,
                started(&store, Job::Probe),
                &options,
                &cancel,
            ))
            .expect("probe job");
        assert_eq!(report.stats.resolved, 0, "{}", db.backend);
        let after_probe = open(&store);
        let missing: Vec<_> = expected.difference(&after_probe).collect();
        assert!(missing.is_empty(), "{}: not open: {missing:?}", db.backend);

        // An hour on, the facts are still fresh: judged, and unchanged.
        let now = chrono::Utc::now();
        let judged = runtime
            .block_on(checks::judge_at(
                &app,
                &policy,
                now + chrono::Duration::minutes(60),
            ))
            .expect("judged");
        assert!(judged.hosts > 0, "{}", db.backend);
        assert_eq!(judged.stats.resolved, 0, "{}", db.backend);
        assert_eq!(open(&store), after_probe, "{}", db.backend);

        // Past `max_observation_age_mins` (180 by default) nothing is a
        // fact: no host is judged, nothing opens and nothing resolves.
        let judged = runtime
            .block_on(checks::judge_at(
                &app,
                &policy,
                now + chrono::Duration::minutes(181),
            ))
            .expect("judged");
        assert_eq!(judged.hosts, 0, "{}", db.backend);
        assert_eq!(
            (judged.stats.opened, judged.stats.resolved),
            (0, 0),
            "{}",
            db.backend
        );
        assert_eq!(open(&store), after_probe, "{}", db.backend);
    }
}
