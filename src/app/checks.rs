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
use crate::findings::view::group;
use crate::findings::{self, FindingStatus};
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
    /// Poll the accounts' feeds too (`check --once`); the daemon's
    /// `feeds` job does it on its own schedule.
    pub feeds: bool,
    pub progress: Arc<Progress>,
    /// Holds the round's observations back until a web probe answered
    /// (see [`super::outage`]); `None` stores as they come.
    pub gate: Option<Arc<super::outage::Gate>>,
}

impl CycleOptions {
    pub fn new(confirm: bool, grace: Duration) -> CycleOptions {
        CycleOptions {
            confirm,
            grace,
            feeds: true,
            progress: Arc::default(),
            gate: None,
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
    let (run, (stats, discovered)) = super::finish(&app.store, run, outcome).await?;
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
    // Our own outage first: when no canary loads, nothing is probed.
    if let Some(failure) = super::outage::canaries_down(&prober, &policy.canaries).await {
        run.status = RunStatus::MeasurementFailed;
        run.failures = vec![failure];
        return Ok((ApplyStats::default(), 0));
    }
    // With no canaries, the round keeps nothing until a web probe
    // answered.
    let gated;
    let options = if policy.canaries.is_empty() {
        gated = CycleOptions {
            gate: Some(Arc::default()),
            ..options.clone()
        };
        &gated
    } else {
        options
    };
    let (sites, accounts, discovered) = db(store, |s| {
        Ok((
            s.sites(&SiteFilter::default())?,
            s.accounts()?,
            s.discovered()?,
        ))
    })
    .await?;
    let targets = targets(&sites, &discovered, &policy, started_at);
    // Judging reads the registry again: a province's copy is not held
    // through the cycle.
    drop((sites, discovered));
    let feed_urls = if options.feeds {
        feed_urls(&accounts)
    } else {
        Vec::new()
    };
    options
        .progress
        .total
        .store(targets.len() + feed_urls.len(), Ordering::Relaxed);

    // The feeds, when asked for, by this instance; the host names as
    // work that every instance sharing the database may claim a batch of.
    let observations = probe_and_record(
        store,
        &prober,
        Vec::new(),
        feed_urls.clone(),
        Probes::ALL,
        options,
        cancel,
    )
    .await?;
    let polled = polled(&observations);
    drop(observations);
    // The targets are kept only to observe again what awaits
    // confirmation: otherwise they become the work, not copied (a
    // province's copy is not held through the cycle).
    let (work, targets): (Vec<(Hostname, Vec<String>)>, _) = if options.confirm {
        let work = targets
            .values()
            .map(|t| (t.host.clone(), t.names.clone()))
            .collect();
        (work, targets)
    } else {
        let work = targets.into_values().map(|t| (t.host, t.names)).collect();
        (work, BTreeMap::new())
    };
    let run_id = run.id;
    db(store, move |s| s.start_work(run_id, &work)).await?;
    let worked = super::work::work_to_the_end(app, run.id, &prober, options, cancel).await?;
    let zones = worked.zones;
    let newly = worked.learnt;
    // Every host name of the run, whoever probed it.
    let probed: BTreeSet<Hostname> = db(store, move |s| s.work(run_id))
        .await?
        .into_iter()
        .filter_map(|w| w.host.parse().ok())
        .collect();
    let closed = options.gate.as_ref().map(|gate| gate.close());
    match closed {
        Some(Err(failure)) if !cancel.is_cancelled() => {
            run.status = RunStatus::MeasurementFailed;
            run.hosts = probed.len();
            run.failures = vec![failure];
            return Ok((ApplyStats::default(), 0));
        }
        Some(Ok(held)) if !held.is_empty() => {
            record(store, held).await?;
        }
        _ => {}
    }
    if cancel.is_cancelled() {
        run.status = RunStatus::Interrupted;
        run.hosts = probed.len();
        return Ok((ApplyStats::default(), newly));
    }

    // The rules judge what the store holds: this round's facts, and the
    // others' (feeds, discovery) while they are fresh.
    let judged = judge(app, &policy).await?;
    let mut stats = judged.stats;
    let mut failures = judged.failures_of(&probed, &polled);
    // A feed that gave no answer within the host deadline.
    for url in feed_urls.iter().filter(|url| !polled.contains(*url)) {
        failures.push(unanswered_feed(url));
    }

    // `check --once` waits for the dues it created and observes again
    // (the daemon's `confirm` job does this on its own schedule).
    if options.confirm {
        for _ in 1..policy.confirmation.confirmations {
            let pending = db(store, |s| s.findings(&[FindingStatus::Pending])).await?;
            let Some(due) = pending.iter().map(|f| due_at(f, &policy)).min() else {
                break;
            };
            let wait = (due - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => break,
            }
            let again = rescope(&pending, &zones, &targets);
            let feeds_again = if options.feeds {
                refeed(&pending, &accounts)
            } else {
                Vec::new()
            };
            if again.is_empty() && feeds_again.is_empty() {
                break;
            }
            let hosts: BTreeSet<Hostname> = again.iter().map(|t| t.host.clone()).collect();
            let feeds: BTreeSet<String> = feeds_again.iter().cloned().collect();
            // What awaits confirmation fails by nature: the canaries
            // alone tell our outage here.
            if let Some(failure) = super::outage::canaries_down(&prober, &policy.canaries).await {
                failures.push(failure);
                break;
            }
            probe_and_record(
                store,
                &prober,
                again,
                feeds_again,
                Probes::ALL,
                &CycleOptions {
                    gate: None,
                    ..options.clone()
                },
                cancel,
            )
            .await?;
            if cancel.is_cancelled() {
                break;
            }
            let judged = judge(app, &policy).await?;
            // What was observed again is reported as last observed.
            failures.retain(|f| !concerns(f, &hosts, &feeds));
            failures.extend(judged.failures_of(&hosts, &feeds));
            stats.opened += judged.stats.opened;
            stats.resolved += judged.stats.resolved;
            stats.pending = judged.stats.pending;
        }
    }

    let failed_hosts: BTreeSet<&str> = failures
        .iter()
        .map(|f| f.scope.as_str())
        .filter(|scope| scope.parse::<Hostname>().is_ok_and(|h| probed.contains(&h)))
        .collect();
    run.status = if cancel.is_cancelled() {
        RunStatus::Interrupted
    } else if !probed.is_empty() && failed_hosts.len() >= probed.len() {
        RunStatus::MeasurementFailed
    } else {
        RunStatus::Ok
    };
    run.hosts = probed.len();
    run.failures = failures;
    run.opened = stats.opened;
    run.resolved = stats.resolved;
    Ok((stats, newly))
}

/// What to probe: every registered host name (released ones too: a
/// released name that still resolves is a finding), with the names a live
/// site's homepage should mention, and the discovered host names under
/// managed zones (those learnt from links while pages still link to them,
/// and a while after).
pub(super) fn targets(
    sites: &[crate::registry::Site],
    discovered: &[crate::store::Discovered],
    policy: &Policy,
    now: chrono::DateTime<Utc>,
) -> BTreeMap<Hostname, Target> {
    let mut targets: BTreeMap<Hostname, Target> = BTreeMap::new();
    for site in sites {
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
    let stale_links = now - chrono::Duration::days(LINK_MEMORY_DAYS);
    for found in discovered {
        if found.source == DiscoverySource::Link && found.last_seen < stale_links {
            continue;
        }
        if policy.is_managed(found.hostname.as_str()) {
            targets
                .entry(found.hostname.clone())
                .or_insert_with(|| Target::from(found.hostname.clone()));
        }
    }
    targets
}

/// When a pending finding is due for its next observation: the policy's
/// delay after the observation that last showed it. Kept in the store
/// as the finding's last-seen time, so a restart loses no due.
pub fn due_at(finding: &StoredFinding, policy: &Policy) -> chrono::DateTime<Utc> {
    let delay = i64::try_from(policy.confirmation.delay_secs).unwrap_or(i64::MAX);
    finding.last_seen + chrono::Duration::seconds(delay)
}

/// What one judgement did.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    pub stats: ApplyStats,
    /// Every failure to measure among the facts judged.
    pub failures: Vec<findings::MeasurementFailure>,
    /// Host names judged from fresh facts.
    pub hosts: usize,
}

impl Judged {
    /// The failures about the host names and feeds a run looked at.
    fn failures_of(
        &self,
        hosts: &BTreeSet<Hostname>,
        feeds: &BTreeSet<String>,
    ) -> Vec<findings::MeasurementFailure> {
        self.failures
            .iter()
            .filter(|f| concerns(f, hosts, feeds))
            .cloned()
            .collect()
    }
}

/// Whether a failure is about one of these host names or feeds.
fn concerns(
    failure: &findings::MeasurementFailure,
    hosts: &BTreeSet<Hostname>,
    feeds: &BTreeSet<String>,
) -> bool {
    failure
        .scope
        .parse::<Hostname>()
        .is_ok_and(|h| hosts.contains(&h))
        || failure
            .scope
            .strip_prefix("feed ")
            .is_some_and(|url| feeds.contains(url))
        || failure.scope.starts_with("account:") && !feeds.is_empty()
}

/// Judges what the store holds: the registry, the latest round of each
/// host name and the latest poll of each feed not older than the policy's
/// `max_observation_age_mins` (an older one is not a fact: its host is
/// unmeasured, and nothing about it opens or resolves). Writes the
/// findings. Every job that stores facts ends with it, so a finding is
/// judged again whenever one of its inputs changed.
pub async fn judge(app: &App, policy: &Policy) -> Result<Judged> {
    judge_at(app, policy, Utc::now()).await
}

/// Host names judged at a time: what judging holds in memory is one
/// slice's facts plus what the rules carry between slices.
const JUDGE_SLICE: usize = 2_000;

/// [`judge`] as if it were `now`.
pub async fn judge_at(app: &App, policy: &Policy, now: chrono::DateTime<Utc>) -> Result<Judged> {
    let started = std::time::Instant::now();
    let since =
        now - chrono::Duration::minutes(i64::from(policy.thresholds.max_observation_age_mins));
    let window = now - chrono::Duration::days(i64::from(policy.thresholds.unreachable_window_days));
    let (sites, orgs, accounts, hosts, polls) = db(&app.store, move |s| {
        Ok((
            s.sites(&SiteFilter::default())?,
            s.orgs()?,
            s.accounts()?,
            s.observed_hosts(since)?,
            s.latest_polls(since)?,
        ))
    })
    .await?;
    let (_, feeds) = group(polls);
    let registry = findings::Registry {
        sites: &sites,
        orgs: &orgs,
        accounts: &accounts,
    };
    // Whether IPv6 is judged depends on every host's facts: judged under
    // what the last judgement found, and again in the rare round where
    // that changed.
    let mut ipv6_works = app.ipv6_works().unwrap_or(true);
    let evaluation = loop {
        let mut judge = findings::Judge::new(registry, policy, now, ipv6_works, false);
        for slice in hosts.chunks(JUDGE_SLICE) {
            let slice = slice.to_vec();
            // The slice's views are built on the store's thread: with the
            // allocator's per-thread heaps, what the rules keep between
            // slices is then not scattered among a slice's freed
            // observations, whose pages it would keep resident (about
            // 20 MB less at the peak over 100,000 names, in one run).
            let views = db(&app.store, move |s| {
                let latest = s.latest_rounds(since, &slice)?;
                let availability = s.availability(window, &slice)?;
                let (mut views, _) = group(latest);
                for (host, view) in &mut views {
                    view.availability = availability.get(host.as_str()).copied();
                }
                Ok(views)
            })
            .await?;
            judge.hosts(&views);
        }
        let seen = judge.ipv6().works();
        app.set_ipv6_works(seen);
        if seen == ipv6_works {
            break judge.finish(&feeds);
        }
        ipv6_works = seen;
    };
    // The registry is not held while the findings are written.
    drop((sites, orgs, accounts, feeds));
    let failures = evaluation.failures.clone();
    let confirmations = policy.confirmation.confirmations;
    let alerting = app.alerting();
    let (stats, planned) = db(&app.store, move |s| {
        s.record_evaluation(&evaluation, confirmations, &alerting, now)
    })
    .await?;
    // Logged once: at its opening (a repeat sweep does not log again).
    for finding in &planned.unrouted {
        tracing::info!(
            finding,
            "a confirmed finding matches no alert route: nobody is told of it (counted in `siteward status`)"
        );
        super::Counters::bump(&app.counters.alerts_unrouted);
    }
    tracing::debug!(
        hosts = hosts.len(),
        seconds = started.elapsed().as_secs_f64(),
        "judged"
    );
    Ok(Judged {
        stats,
        failures,
        hosts: hosts.len(),
    })
}

/// The daemon's `confirm` job: observes again the host names whose
/// pending findings are due, and judges.
pub async fn confirm_due(app: &App, mut run: Run, cancel: &CancellationToken) -> Result<Run> {
    let outcome = async {
        let policy = app.policy();
        let prober = app.prober()?;
        let now = Utc::now();
        let since =
            now - chrono::Duration::minutes(i64::from(policy.thresholds.max_observation_age_mins));
        let (pending, sites, accounts, discovered) = db(&app.store, move |s| {
            Ok((
                s.findings(&[FindingStatus::Pending])?,
                s.sites(&SiteFilter::default())?,
                s.accounts()?,
                s.discovered()?,
            ))
        })
        .await?;
        let due: Vec<StoredFinding> = pending
            .into_iter()
            .filter(|f| due_at(f, &policy) <= now)
            .collect();
        let targets = targets(&sites, &discovered, &policy, now);
        let zones = if due
            .iter()
            .any(|f| matches!(f.scope.parse(), Ok(findings::Scope::Zone(_))))
        {
            stored_zone_hosts(&app.store, since).await?
        } else {
            BTreeMap::new()
        };
        let again = rescope(&due, &zones, &targets);
        let feeds_again = refeed(&due, &accounts);
        let hosts: BTreeSet<Hostname> = again.iter().map(|t| t.host.clone()).collect();
        let feeds: BTreeSet<String> = feeds_again.iter().cloned().collect();
        if let Some(failure) = super::outage::canaries_down(&prober, &policy.canaries).await {
            run.status = RunStatus::MeasurementFailed;
            run.failures = vec![failure];
            return Ok(());
        }
        let options = CycleOptions::new(
            false,
            Duration::from_secs(app.config().daemon.shutdown_grace_secs),
        );
        probe_and_record(
            &app.store,
            &prober,
            again,
            feeds_again,
            Probes::ALL,
            &options,
            cancel,
        )
        .await?;
        run.hosts = hosts.len() + feeds.len();
        if cancel.is_cancelled() {
            run.status = RunStatus::Interrupted;
            return Ok(());
        }
        let judged = judge(app, &policy).await?;
        run.failures = judged.failures_of(&hosts, &feeds);
        run.status = if run.hosts > 0 && run.failures.len() >= run.hosts {
            RunStatus::MeasurementFailed
        } else {
            RunStatus::Ok
        };
        run.opened = judged.stats.opened;
        run.resolved = judged.stats.resolved;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    super::finish(&app.store, run, outcome)
        .await
        .map(|(run, ())| run)
}

/// The earliest due among the pending findings that no `confirm` run
/// has taken yet (a run takes every due up to its fire time; a host it
/// could not measure waits for the next due or the next probe job, rather
/// than being probed again at once).
pub async fn next_due(app: &App) -> Result<Option<chrono::DateTime<Utc>>> {
    let policy = app.policy();
    let (pending, last) = db(&app.store, |s| {
        Ok((
            s.findings(&[FindingStatus::Pending])?,
            s.runs(Some(Job::Confirm), 1)?,
        ))
    })
    .await?;
    let taken = last.first().and_then(|run| run.fire_at);
    Ok(pending
        .iter()
        .map(|f| due_at(f, &policy))
        .filter(|due| taken.is_none_or(|taken| *due > taken))
        .min())
}

/// The `feeds` job: polls every account's feed, stores what changed, and
/// judges what the store holds (the host names from their latest rounds,
/// while those are fresh).
pub async fn feeds_cycle(app: &App, mut run: Run, cancel: &CancellationToken) -> Result<Run> {
    let outcome = async {
        let policy = app.policy();
        let prober = app.prober()?;
        let accounts = db(&app.store, |s| s.accounts()).await?;
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
        let polled = polled(&observations);
        let judged = judge(app, &policy).await?;
        let mut failures = judged.failures_of(&BTreeSet::new(), &polled);
        for url in urls.iter().filter(|url| !polled.contains(*url)) {
            failures.push(unanswered_feed(url));
        }
        run.status = if !urls.is_empty() && polled.is_empty() {
            RunStatus::MeasurementFailed
        } else {
            RunStatus::Ok
        };
        run.hosts = urls.len();
        run.failures = failures;
        run.opened = judged.stats.opened;
        run.resolved = judged.stats.resolved;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    super::finish(&app.store, run, outcome)
        .await
        .map(|(run, ())| run)
}

/// The feeds that answered among `observations`.
fn polled(observations: &[Observation]) -> BTreeSet<String> {
    observations
        .iter()
        .filter_map(|o| match &o.data {
            ObservationData::Feed(poll) => Some(poll.url.clone()),
            _ => None,
        })
        .collect()
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
                    match keep(store, options, std::mem::take(&mut pending)).await {
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
        all.extend(keep(store, options, pending).await?);
    }
    match probing.await {
        Ok(()) => {}
        Err(e) if e.is_cancelled() => {}
        Err(e) => return Err(anyhow::anyhow!("the probes stopped unexpectedly: {e}")),
    }
    Ok(all)
}

/// Stores a batch through the round's gate, if any; hands back what was
/// stored.
async fn keep(
    store: &Store,
    options: &CycleOptions,
    batch: Vec<Observation>,
) -> Result<Vec<Observation>> {
    let admitted = match &options.gate {
        Some(gate) => gate.admit(batch),
        None => batch,
    };
    if admitted.is_empty() {
        return Ok(admitted);
    }
    record(store, admitted).await
}

/// Stores a batch; hands it back for the evaluation.
async fn record(store: &Store, batch: Vec<Observation>) -> Result<Vec<Observation>> {
    db(store, move |s| s.record_observations(&batch).map(|_| batch))
        .await
        .context("cannot store the observations")
}

/// A host name in each zone, from the latest rounds stored since
/// `since` (read a slice at a time, as judging does).
async fn stored_zone_hosts(
    store: &Store,
    since: chrono::DateTime<Utc>,
) -> Result<BTreeMap<String, Hostname>> {
    let hosts = db(store, move |s| s.observed_hosts(since)).await?;
    let mut zones = BTreeMap::new();
    for slice in hosts.chunks(JUDGE_SLICE) {
        let slice = slice.to_vec();
        let latest = db(store, move |s| s.latest_rounds(since, &slice)).await?;
        for (zone, host) in zone_hosts(&latest) {
            zones.entry(zone).or_insert(host);
        }
    }
    Ok(zones)
}

/// Host names under managed zones that pages link to and nobody knows
/// (`known`). Only the pages of `live` host names (a live site's) count.
pub(super) fn link_hosts(
    observations: &[Observation],
    policy: &Policy,
    known: &BTreeSet<Hostname>,
    live: &BTreeSet<Hostname>,
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
        if !live.contains(&observation.host) || !policy.is_managed(observation.host.as_str()) {
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
                && !known.contains(&host)
            {
                found.insert(host);
            }
        }
    }
    found.into_iter().collect()
}

/// The feeds to poll again for pending findings about accounts.
fn refeed(pending: &[StoredFinding], accounts: &[crate::registry::Account]) -> Vec<String> {
    let ids: BTreeSet<i64> = pending
        .iter()
        .filter_map(|f| match f.scope.parse::<findings::Scope>() {
            Ok(findings::Scope::Account(id)) => Some(id),
            _ => None,
        })
        .collect();
    let chosen: Vec<crate::registry::Account> = accounts
        .iter()
        .filter(|a| ids.contains(&a.id))
        .cloned()
        .collect();
    feed_urls(&chosen)
}

/// A host name in each zone whose delegation was observed, to observe
/// the zone again through it.
pub(super) fn zone_hosts(observations: &[Observation]) -> BTreeMap<String, Hostname> {
    let mut zones = BTreeMap::new();
    for observation in observations {
        if let ObservationData::Delegation(crate::probe::DelegationResult::Found(found)) =
            &observation.data
        {
            zones
                .entry(found.zone.clone())
                .or_insert_with(|| observation.host.clone());
        }
    }
    zones
}

/// The host names to observe again for pending findings: the finding's
/// scope when it is a host name, or a host in the zone for `ns:zone`.
fn rescope(
    pending: &[StoredFinding],
    zones: &BTreeMap<String, Hostname>,
    targets: &BTreeMap<Hostname, Target>,
) -> Vec<Target> {
    let mut again: BTreeMap<Hostname, Target> = BTreeMap::new();
    for finding in pending {
        let host = match finding.scope.parse::<findings::Scope>() {
            Ok(findings::Scope::Zone(zone)) => zones.get(&zone).cloned(),
            Ok(findings::Scope::Host(host)) => Some(host),
            // Accounts are polled again by [`refeed`]; the audit trail is
            // verified by its own job.
            Ok(
                findings::Scope::Account(_) | findings::Scope::Registry | findings::Scope::Audit,
            )
            | Err(_) => None,
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
