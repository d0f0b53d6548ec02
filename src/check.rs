//! One check round, as `siteward check --once` (and later the daemon's
//! probe job) runs it: read from the store what to look at (every
//! registered host name, released ones included, and the discovered host
//! names under managed zones), probe it all, keep what changed, learn new
//! host names from the links on the region's pages, evaluate the rules,
//! write the findings, then observe again what waits for confirmation.
//! Probes do the network, rules the judging, the store the writing: this
//! module only sequences them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;

use crate::findings::view::{HostView, group};
use crate::findings::{self, Evaluation, FindingStatus, Inputs};
use crate::policy::Policy;
use crate::probe::run::{Prober, Scope, Target};
use crate::probe::{Observation, ObservationData};
use crate::registry::{Hostname, SiteStatus};
use crate::store::{ApplyStats, Run, SiteFilter, Store, StoredFinding};

/// What a check round did.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub run: Run,
    pub stats: ApplyStats,
    /// Host names first learnt this round from the links on pages.
    pub discovered: usize,
    /// Every finding that is not resolved, after the round.
    pub findings: Vec<StoredFinding>,
}

impl CheckReport {
    /// Whether something critical is open: `check` exits 3 then.
    pub fn critical_open(&self) -> bool {
        self.findings.iter().any(|f| {
            f.status == FindingStatus::Open && f.severity == crate::findings::Severity::Critical
        })
    }
}

/// How long a name learnt from a link is looked at after the last page
/// that linked to it.
const LINK_MEMORY_DAYS: i64 = 30;

/// The most host names learnt from links in one round, so that a page
/// full of generated names cannot flood a cycle.
const MAX_LINK_DISCOVERIES: usize = 1000;

/// Runs one check round. `confirm`: observe again (after the policy's
/// delay) what waits for confirmation, up to the confirmations needed.
pub fn run(
    store: &mut Store,
    policy: &Policy,
    prober: &Prober,
    runtime: &tokio::runtime::Runtime,
    confirm: bool,
) -> Result<CheckReport> {
    let started_at = Utc::now();
    let sites = store.sites(&SiteFilter::default())?;
    let orgs = store.orgs()?;
    let accounts = store.accounts()?;
    let discovered = store.discovered()?;

    let mut targets: BTreeMap<Hostname, Target> = BTreeMap::new();
    for site in &sites {
        let names = if site.status == SiteStatus::Live {
            findings::expected_names(site)
        } else {
            Vec::new()
        };
        for domain in &site.domains {
            targets
                .entry(domain.hostname.clone())
                .or_insert_with(|| Target {
                    host: domain.hostname.clone(),
                    names: names.clone(),
                });
        }
    }
    // Names learnt from links are looked at while pages still link to them
    // (and a while after); names an administrator gave are kept.
    let stale_links = started_at - chrono::Duration::days(LINK_MEMORY_DAYS);
    for found in &discovered {
        if found.source == "link" && found.last_seen < stale_links {
            continue;
        }
        if policy.is_managed(found.hostname.as_str()) {
            targets
                .entry(found.hostname.clone())
                .or_insert_with(|| Target::from(found.hostname.clone()));
        }
    }
    let feed_urls: Vec<String> = accounts
        .iter()
        .filter_map(|a| a.feed_url.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut observations = probe_and_record(
        runtime,
        store,
        prober,
        targets.values().cloned().collect(),
        feed_urls.clone(),
        Scope::ALL,
    )?;

    // Host names under managed zones that the region's own pages link to
    // are host names that exist: learn them, and look at them now.
    let learnt = link_hosts(&observations, policy, &targets);
    let mut newly = 0;
    if !learnt.is_empty() {
        newly = store.discover(&learnt, "link", Utc::now())?;
        let more = probe_and_record(
            runtime,
            store,
            prober,
            learnt.iter().cloned().map(Target::from).collect(),
            Vec::new(),
            Scope::ALL,
        )?;
        observations.extend(more);
    }

    let (mut hosts, feeds) = group(observations);
    with_availability(store, policy, &mut hosts)?;
    let host_count = hosts.len();
    let round = Round {
        sites: &sites,
        orgs: &orgs,
        accounts: &accounts,
    };
    let evaluation = round.evaluate(policy, &hosts, &feeds, None, false);
    let ipv6_works = evaluation.ipv6_works;
    let mut failures = evaluation.failures.clone();
    // A feed that gave no answer within the host deadline.
    for url in feed_urls.iter().filter(|url| !feeds.contains_key(*url)) {
        failures.push(findings::MeasurementFailure {
            scope: format!("feed {url}"),
            reason: "no answer within the per-host deadline".into(),
        });
    }
    let mut stats =
        store.record_evaluation(&evaluation, policy.confirmation.confirmations, Utc::now())?;

    if confirm {
        for _ in 1..policy.confirmation.confirmations {
            let pending = store.findings(&[FindingStatus::Pending])?;
            if pending.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_secs(policy.confirmation.delay_secs));
            let again = rescope(&pending, &hosts, &targets);
            if again.is_empty() {
                break;
            }
            let observations =
                probe_and_record(runtime, store, prober, again, Vec::new(), Scope::ALL)?;
            let (mut hosts, feeds) = group(observations);
            with_availability(store, policy, &mut hosts)?;
            // Only the hosts awaiting confirmation were observed again.
            let evaluation = round.evaluate(policy, &hosts, &feeds, Some(ipv6_works), true);
            failures.extend(evaluation.failures.iter().cloned());
            let more = store.record_evaluation(
                &evaluation,
                policy.confirmation.confirmations,
                Utc::now(),
            )?;
            stats.opened += more.opened;
            stats.resolved += more.resolved;
            stats.pending = more.pending;
        }
    }

    let failed_hosts: BTreeSet<&str> = failures
        .iter()
        .map(|f| f.scope.as_str())
        .filter(|scope| {
            scope
                .parse::<Hostname>()
                .is_ok_and(|h| hosts.contains_key(&h))
        })
        .collect();
    let status = if host_count > 0 && failed_hosts.len() >= host_count {
        "measurement_failed"
    } else {
        "ok"
    };
    let run = Run {
        id: 0,
        started_at,
        finished_at: Utc::now(),
        hosts: host_count,
        failures,
        opened: stats.opened,
        resolved: stats.resolved,
        status: status.to_string(),
    };
    let id = store.record_run(&run)?;
    let findings = store.findings(&[
        FindingStatus::Open,
        FindingStatus::Acknowledged,
        FindingStatus::Suppressed,
        FindingStatus::Pending,
    ])?;
    Ok(CheckReport {
        run: Run { id, ..run },
        stats,
        discovered: newly,
        findings,
    })
}

/// Observations are written in transactions of about this many, while
/// the probes go on.
const STORE_BATCH: usize = 1000;

/// Probes `targets` and polls `feeds` on `runtime`, and stores what each
/// host name showed while the others are still being probed, a batch of
/// [`STORE_BATCH`] observations a transaction: the store's work overlaps
/// the network's, and a crash loses at most the batch in hand. Returns
/// every observation. It blocks while it waits for the probes: call it
/// from a thread outside the runtime (as `check` runs, or from
/// `spawn_blocking`).
pub fn probe_and_record(
    runtime: &tokio::runtime::Runtime,
    store: &mut Store,
    prober: &Prober,
    targets: Vec<Target>,
    feeds: Vec<String>,
    scope: Scope,
) -> Result<Vec<Observation>> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<Observation>>();
    let prober = prober.clone();
    let probing = runtime.spawn(async move {
        let for_hosts = sender.clone();
        tokio::join!(
            prober.targets_each(targets, scope, move |done| {
                let _ = for_hosts.send(done);
            }),
            prober.feeds_each(feeds, move |done| {
                let _ = sender.send(done);
            }),
        );
    });
    let mut all: Vec<Observation> = Vec::new();
    let mut stored = 0;
    let mut record = |all: &[Observation], stored: &mut usize| -> Result<()> {
        store
            .record_observations(&all[*stored..])
            .context("cannot store the observations")?;
        *stored = all.len();
        Ok(())
    };
    while let Some(done) = receiver.blocking_recv() {
        all.extend(done);
        if all.len() - stored >= STORE_BATCH
            && let Err(e) = record(&all, &mut stored)
        {
            // Nothing more can be kept: stop probing.
            probing.abort();
            return Err(e);
        }
    }
    if stored < all.len() {
        record(&all, &mut stored)?;
    }
    runtime
        .block_on(probing)
        .context("the probes stopped unexpectedly")?;
    Ok(all)
}

/// The registry as one check read it.
struct Round<'a> {
    sites: &'a [crate::registry::Site],
    orgs: &'a [crate::registry::Organization],
    accounts: &'a [crate::registry::Account],
}

impl Round<'_> {
    fn evaluate(
        &self,
        policy: &Policy,
        hosts: &BTreeMap<Hostname, HostView>,
        feeds: &BTreeMap<String, crate::probe::feed::FeedPoll>,
        ipv6_works: Option<bool>,
        partial: bool,
    ) -> Evaluation {
        let inputs = Inputs {
            now: Utc::now(),
            sites: self.sites,
            orgs: self.orgs,
            accounts: self.accounts,
            hosts,
            feeds,
            ipv6_works,
            partial,
        };
        findings::evaluate(&inputs, policy)
    }
}

/// Adds each host's page history over the policy's window.
fn with_availability(
    store: &mut Store,
    policy: &Policy,
    hosts: &mut BTreeMap<Hostname, HostView>,
) -> Result<()> {
    let since =
        Utc::now() - chrono::Duration::days(i64::from(policy.thresholds.unreachable_window_days));
    let counts = store.availability(since)?;
    for (host, view) in hosts.iter_mut() {
        view.availability = counts.get(host.as_str()).copied();
    }
    Ok(())
}

/// Host names under managed zones that pages link to and nobody knows.
fn link_hosts(
    observations: &[Observation],
    policy: &Policy,
    known: &BTreeMap<Hostname, Target>,
) -> Vec<Hostname> {
    let mut found = BTreeSet::new();
    for observation in observations {
        let ObservationData::Page(crate::probe::http::PageOutcome::Loaded { page, .. }) =
            &observation.data
        else {
            continue;
        };
        // Only the region's live sites vouch for the names they link to:
        // a hijacked or unapproved page could make up thousands.
        let live = known
            .get(&observation.host)
            .is_some_and(|target| !target.names.is_empty());
        if !live || !policy.is_managed(observation.host.as_str()) {
            continue;
        }
        for host in &page.link_hosts {
            if found.len() >= MAX_LINK_DISCOVERIES {
                break;
            }
            if !policy.is_managed(host) {
                continue;
            }
            if let Ok(host) = host.parse::<Hostname>()
                && !known.contains_key(&host)
            {
                found.insert(host);
            }
        }
    }
    found.into_iter().collect()
}

/// The host names to observe again for pending findings: the finding's
/// scope when it is a host name, or a host in the zone for `ns:zone`.
fn rescope(
    pending: &[StoredFinding],
    hosts: &BTreeMap<Hostname, HostView>,
    targets: &BTreeMap<Hostname, Target>,
) -> Vec<Target> {
    let mut again: BTreeMap<Hostname, Target> = BTreeMap::new();
    for finding in pending {
        let host = match finding.scope.strip_prefix("ns:") {
            Some(zone) => hosts
                .iter()
                .find(|(_, v)| v.delegation().is_some_and(|d| d.zone == zone))
                .map(|(h, _)| h.clone()),
            None => finding.scope.parse::<Hostname>().ok(),
        };
        if let Some(host) = host {
            let target = targets
                .get(&host)
                .cloned()
                .unwrap_or_else(|| Target::from(host.clone()));
            again.insert(host, target);
        }
    }
    again.into_values().collect()
}
