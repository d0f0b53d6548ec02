//! The check cycle, as `siteward check --once` and the daemon's `probe`
//! job run it: read from the store what to look at (every registered
//! host name, released ones included, and the discovered host names under
//! managed zones), probe it all, keep what changed as hosts finish, learn
//! new host names from the links on the region's pages, evaluate the
//! rules, write the findings, then observe again what waits for
//! confirmation. Also the `feeds` job: the accounts' feeds alone.
//!
//! Everything here is async and cancellable: once the token is cancelled
//! no new host is started, the hosts in flight get the grace period to
//! finish, what was observed is stored, and the run ends `interrupted`
//! without judging anything. Probes do the network, rules the judging,
//! the store the writing: this module only sequences them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{App, db};
use crate::findings::view::{HostView, group};
use crate::findings::{self, Evaluation, FindingStatus, Inputs};
use crate::jobs::{Job, RunStatus};
use crate::policy::Policy;
use crate::probe::run::{Prober, Probes, Target};
use crate::probe::zone::DiscoverySource;
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

/// How far a cycle has got, for a progress bar: host names (and feeds)
/// to look at, and done.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicUsize,
    pub done: AtomicUsize,
}

/// How a cycle runs.
#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// Observe again (after the policy's delay) what waits for
    /// confirmation, up to the confirmations needed.
    pub confirm: bool,
    /// After cancellation, how long the hosts in flight may finish.
    pub grace: Duration,
    pub progress: Arc<Progress>,
}

impl CycleOptions {
    pub fn new(confirm: bool, grace: Duration) -> CycleOptions {
        CycleOptions {
            confirm,
            grace,
            progress: Arc::default(),
        }
    }
}

/// How long a name learnt from a link is looked at after the last page
/// that linked to it.
const LINK_MEMORY_DAYS: i64 = 30;

/// The most host names learnt from links in one round, so that a page
/// full of generated names cannot flood a cycle.
const MAX_LINK_DISCOVERIES: usize = 1000;

/// Runs one check cycle as the run `run` (already recorded as started),
/// and records how it ended: `ok`, `measurement_failed`, `interrupted`
/// when `cancel` fired, or `failed` on an error of ours (returned).
pub async fn cycle(
    app: &App,
    mut run: Run,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<CheckReport> {
    let outcome = cycle_inner(app, &mut run, options, cancel).await;
    run.finished_at = Utc::now();
    if outcome.is_err() {
        run.status = RunStatus::Failed;
    }
    let finished = run.clone();
    db(&app.store, move |s| s.finish_run(&finished)).await?;
    let (stats, discovered) = outcome?;
    let findings = db(&app.store, |s| {
        s.findings(&[
            FindingStatus::Open,
            FindingStatus::Acknowledged,
            FindingStatus::Suppressed,
            FindingStatus::Pending,
        ])
    })
    .await?;
    Ok(CheckReport {
        run,
        stats,
        discovered,
        findings,
    })
}

/// `check --once`: records a probe run as started, then runs one cycle
/// as it (see [`cycle`]).
pub async fn check_once(
    app: &App,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<CheckReport> {
    let run = Run::start(Job::Probe, None);
    let started = run.clone();
    let id = db(&app.store, move |s| s.start_run(&started)).await?;
    cycle(app, Run { id, ..run }, options, cancel).await
}

async fn cycle_inner(
    app: &App,
    run: &mut Run,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<(ApplyStats, usize)> {
    let policy = app.policy();
    let prober = app.prober()?;
    let store = &app.store;
    let started_at = run.started_at;
    let (sites, orgs, accounts, discovered) = db(store, |s| {
        Ok((
            s.sites(&SiteFilter::default())?,
            s.orgs()?,
            s.accounts()?,
            s.discovered()?,
        ))
    })
    .await?;

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
        if found.source == DiscoverySource::Link && found.last_seen < stale_links {
            continue;
        }
        if policy.is_managed(found.hostname.as_str()) {
            targets
                .entry(found.hostname.clone())
                .or_insert_with(|| Target::from(found.hostname.clone()));
        }
    }
    let feed_urls = feed_urls(&accounts);
    options
        .progress
        .total
        .store(targets.len() + feed_urls.len(), Ordering::Relaxed);

    let mut observations = probe_and_record(
        store,
        &prober,
        targets.values().cloned().collect(),
        feed_urls.clone(),
        Probes::ALL,
        options,
        cancel,
    )
    .await?;
    if cancel.is_cancelled() {
        run.status = RunStatus::Interrupted;
        run.hosts = targets.len();
        return Ok((ApplyStats::default(), 0));
    }

    // Host names under managed zones that the region's own pages link to
    // are host names that exist: learn them, and look at them now.
    let learnt = link_hosts(&observations, &policy, &targets);
    let mut newly = 0;
    if !learnt.is_empty() {
        let hosts = learnt.clone();
        newly = db(store, move |s| {
            s.discover(&hosts, &DiscoverySource::Link, Utc::now())
        })
        .await?;
        options
            .progress
            .total
            .fetch_add(learnt.len(), Ordering::Relaxed);
        let more = probe_and_record(
            store,
            &prober,
            learnt.iter().cloned().map(Target::from).collect(),
            Vec::new(),
            Probes::ALL,
            options,
            cancel,
        )
        .await?;
        observations.extend(more);
        if cancel.is_cancelled() {
            run.status = RunStatus::Interrupted;
            run.hosts = targets.len() + learnt.len();
            return Ok((ApplyStats::default(), newly));
        }
    }

    let (mut hosts, feeds) = group(observations);
    with_availability(store, &policy, &mut hosts).await?;
    let host_count = hosts.len();
    let round = Round {
        sites: &sites,
        orgs: &orgs,
        accounts: &accounts,
    };
    let evaluation = round.evaluate(&policy, &hosts, &feeds, None, false);
    let ipv6_works = evaluation.ipv6_works;
    let mut failures = evaluation.failures.clone();
    // A feed that gave no answer within the host deadline.
    for url in feed_urls.iter().filter(|url| !feeds.contains_key(*url)) {
        failures.push(unanswered_feed(url));
    }
    let mut stats = record_evaluation(store, evaluation, &policy).await?;

    if options.confirm {
        for _ in 1..policy.confirmation.confirmations {
            let pending = db(store, |s| s.findings(&[FindingStatus::Pending])).await?;
            if pending.is_empty() {
                break;
            }
            let delay = Duration::from_secs(policy.confirmation.delay_secs);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => break,
            }
            let again = rescope(&pending, &hosts, &targets);
            if again.is_empty() {
                break;
            }
            let observations = probe_and_record(
                store,
                &prober,
                again,
                Vec::new(),
                Probes::ALL,
                options,
                cancel,
            )
            .await?;
            if cancel.is_cancelled() {
                break;
            }
            let (mut hosts, feeds) = group(observations);
            with_availability(store, &policy, &mut hosts).await?;
            // Only the hosts awaiting confirmation were observed again.
            let evaluation = round.evaluate(&policy, &hosts, &feeds, Some(ipv6_works), true);
            failures.extend(evaluation.failures.iter().cloned());
            let more = record_evaluation(store, evaluation, &policy).await?;
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
    run.status = if cancel.is_cancelled() {
        RunStatus::Interrupted
    } else if host_count > 0 && failed_hosts.len() >= host_count {
        RunStatus::MeasurementFailed
    } else {
        RunStatus::Ok
    };
    run.hosts = host_count;
    run.failures = failures;
    run.opened = stats.opened;
    run.resolved = stats.resolved;
    Ok((stats, newly))
}

/// The `feeds` job: polls every account's feed, stores what changed, and
/// judges the accounts alone (no host name was observed, so nothing
/// about sites is judged or resolved).
pub async fn feeds_cycle(app: &App, mut run: Run, cancel: &CancellationToken) -> Result<Run> {
    let outcome = async {
        let policy = app.policy();
        let prober = app.prober()?;
        let (sites, orgs, accounts) = db(&app.store, |s| {
            Ok((s.sites(&SiteFilter::default())?, s.orgs()?, s.accounts()?))
        })
        .await?;
        let urls = feed_urls(&accounts);
        let options = CycleOptions::new(false, Duration::ZERO);
        let observations = probe_and_record(
            &app.store,
            &prober,
            Vec::new(),
            urls.clone(),
            Probes::ALL,
            &options,
            cancel,
        )
        .await?;
        if cancel.is_cancelled() {
            run.status = RunStatus::Interrupted;
            return Ok(());
        }
        let (hosts, feeds) = group(observations);
        let round = Round {
            sites: &sites,
            orgs: &orgs,
            accounts: &accounts,
        };
        let evaluation = round.evaluate(&policy, &hosts, &feeds, None, true);
        let mut failures = evaluation.failures.clone();
        for url in urls.iter().filter(|url| !feeds.contains_key(*url)) {
            failures.push(unanswered_feed(url));
        }
        let stats = record_evaluation(&app.store, evaluation, &policy).await?;
        run.status = if !urls.is_empty() && feeds.is_empty() {
            RunStatus::MeasurementFailed
        } else {
            RunStatus::Ok
        };
        run.hosts = urls.len();
        run.failures = failures;
        run.opened = stats.opened;
        run.resolved = stats.resolved;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    run.finished_at = Utc::now();
    if outcome.is_err() {
        run.status = RunStatus::Failed;
    }
    let finished = run.clone();
    db(&app.store, move |s| s.finish_run(&finished)).await?;
    outcome.map(|()| run)
}

fn feed_urls(accounts: &[crate::registry::Account]) -> Vec<String> {
    accounts
        .iter()
        .filter_map(|a| a.feed_url.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn unanswered_feed(url: &str) -> findings::MeasurementFailure {
    findings::MeasurementFailure {
        scope: format!("feed {url}"),
        reason: "no answer within the per-host deadline".into(),
    }
}

/// Plans and writes one evaluation against the stored findings.
async fn record_evaluation(
    store: &Store,
    evaluation: Evaluation,
    policy: &Policy,
) -> Result<ApplyStats> {
    let confirmations = policy.confirmation.confirmations;
    db(store, move |s| {
        s.record_evaluation(&evaluation, confirmations, Utc::now())
    })
    .await
}

/// Observations are written in transactions of about this many, while
/// the probes go on.
const STORE_BATCH: usize = 1000;

/// Probes `targets` and polls `feeds`, and stores what each host name
/// showed while the others are still being probed, a batch of
/// [`STORE_BATCH`] observations a transaction: the store's work overlaps
/// the network's, and a crash loses at most the batch in hand. Returns
/// every observation. Once `cancel` fires no new host starts; the hosts
/// in flight get `options.grace` to finish, then are abandoned; what was
/// observed is stored either way.
pub async fn probe_and_record(
    store: &Store,
    prober: &Prober,
    targets: Vec<Target>,
    feeds: Vec<String>,
    probes: Probes,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<Vec<Observation>> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<Observation>>();
    let prober = prober.stopping_on(cancel.clone());
    let progress = options.progress.clone();
    let probing = tokio::spawn(async move {
        let for_hosts = sender.clone();
        let host_progress = progress.clone();
        tokio::join!(
            prober.targets_each(targets, probes, move |done| {
                host_progress.done.fetch_add(1, Ordering::Relaxed);
                let _ = for_hosts.send(done);
            }),
            prober.feeds_each(feeds, move |done| {
                progress.done.fetch_add(1, Ordering::Relaxed);
                let _ = sender.send(done);
            }),
        );
    });
    let abandon = async {
        cancel.cancelled().await;
        tokio::time::sleep(options.grace).await;
    };
    tokio::pin!(abandon);
    let mut all: Vec<Observation> = Vec::new();
    // Observed and not yet stored.
    let mut pending: Vec<Observation> = Vec::new();
    loop {
        tokio::select! {
            done = receiver.recv() => {
                let Some(done) = done else { break };
                pending.extend(done);
                if pending.len() >= STORE_BATCH {
                    match record(store, std::mem::take(&mut pending)).await {
                        Ok(batch) => all.extend(batch),
                        Err(e) => {
                            // Nothing more can be kept: stop probing.
                            probing.abort();
                            return Err(e);
                        }
                    }
                }
            }
            () = &mut abandon => {
                tracing::warn!(
                    grace_secs = options.grace.as_secs_f64(),
                    "probes still in flight after the grace period: abandoned"
                );
                probing.abort();
                break;
            }
        }
    }
    if !pending.is_empty() {
        all.extend(record(store, pending).await?);
    }
    match probing.await {
        Ok(()) => {}
        Err(e) if e.is_cancelled() => {}
        Err(e) => return Err(anyhow::anyhow!("the probes stopped unexpectedly: {e}")),
    }
    Ok(all)
}

/// Stores a batch; hands it back for the evaluation.
async fn record(store: &Store, batch: Vec<Observation>) -> Result<Vec<Observation>> {
    db(store, move |s| s.record_observations(&batch).map(|_| batch))
        .await
        .context("cannot store the observations")
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
async fn with_availability(
    store: &Store,
    policy: &Policy,
    hosts: &mut BTreeMap<Hostname, HostView>,
) -> Result<()> {
    let since =
        Utc::now() - chrono::Duration::days(i64::from(policy.thresholds.unreachable_window_days));
    let counts = db(store, move |s| s.availability(since)).await?;
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
        let host = match finding.scope.parse::<findings::Scope>() {
            Ok(findings::Scope::Zone(zone)) => hosts
                .iter()
                .find(|(_, v)| v.delegation().is_some_and(|d| d.zone == zone))
                .map(|(h, _)| h.clone()),
            Ok(findings::Scope::Host(host)) => Some(host),
            Ok(findings::Scope::Account(_) | findings::Scope::Registry) | Err(_) => None,
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
