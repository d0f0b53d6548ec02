//! A probe run's host names as work that several instances share: the
//! run's owner lists them in the store; each instance (the owner too)
//! claims a batch under a lease, probes and stores it, learns new host
//! names from its pages (added to the same run), marks the batch done and
//! claims again. A batch whose owner died is taken over when its lease
//! expires. On SQLite the one daemon does all of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::checks::{CycleOptions, link_hosts, probe_and_record, targets, zone_hosts};
use super::{App, db};
use crate::probe::run::{Prober, Probes, Target};
use crate::probe::zone::DiscoverySource;
use crate::registry::Hostname;
use crate::store::SiteFilter;

/// Batches one instance probes at a time: while one batch's slowest host
/// finishes, the others keep the probes busy.
const CLAIMERS: usize = 3;

/// What an instance did of a run's work.
#[derive(Debug, Clone, Default)]
pub struct Worked {
    /// Host names it probed.
    pub probed: BTreeSet<Hostname>,
    /// A host name in each zone whose delegation it observed.
    pub zones: BTreeMap<String, Hostname>,
    /// Host names it learnt from links, new to the store.
    pub learnt: usize,
}

impl Worked {
    fn merge(&mut self, other: Worked) {
        self.probed.extend(other.probed);
        for (zone, host) in other.zones {
            self.zones.entry(zone).or_insert(host);
        }
        self.learnt += other.learnt;
    }
}

/// Claims, probes and stores run `run_id`'s free host names until none is
/// free (others may still hold some) or `cancel` fires; a batch cut short
/// is given back undone.
pub async fn work_through(
    app: &App,
    run_id: i64,
    prober: &Prober,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<Worked> {
    let policy = app.policy();
    let config = app.config();
    let me = crate::store::instance();
    let batch = config.daemon.claim_batch.get();
    let lease = Duration::from_secs(config.daemon.lease_secs.get());
    let (sites, discovered) = db(&app.store, |s| {
        Ok((s.sites(&SiteFilter::default())?, s.discovered()?))
    })
    .await?;
    // What is known already: links to these teach nothing. Only the
    // names are kept: a province's registry is not held while probing.
    let known: BTreeSet<Hostname> = targets(&sites, &discovered, &policy, Utc::now())
        .into_keys()
        .collect();
    drop((sites, discovered));
    let worked = Mutex::new(Worked::default());
    let claimer = || async {
        loop {
            if cancel.is_cancelled() {
                return Ok::<(), anyhow::Error>(());
            }
            let owner = me.clone();
            let items = db(&app.store, move |s| {
                s.claim_work(run_id, &owner, batch, lease)
            })
            .await?;
            if items.is_empty() {
                return Ok(());
            }
            let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
            // A live site's host name: it has names its homepage should
            // show.
            let live: BTreeSet<Hostname> = items
                .iter()
                .filter(|i| !i.names.is_empty())
                .map(|i| i.host.clone())
                .collect();
            let hosts: Vec<Target> = items
                .into_iter()
                .map(|i| Target {
                    host: i.host,
                    names: i.names,
                })
                .collect();
            let mut done = Worked {
                probed: hosts.iter().map(|t| t.host.clone()).collect(),
                ..Worked::default()
            };
            let observations = probe_and_record(
                &app.store,
                prober,
                hosts,
                Vec::new(),
                Probes::ALL,
                options,
                cancel,
            )
            .await?;
            if cancel.is_cancelled() {
                // What was observed is stored; the batch goes back whole
                // for whoever runs next.
                let owner = me.clone();
                db(&app.store, move |s| s.release_work(&ids, &owner)).await?;
                return Ok(());
            }
            done.zones = zone_hosts(&observations);
            // Host names under managed zones that the region's own pages
            // link to exist: learn them, and look at them in this run.
            let learnt = link_hosts(&observations, &policy, &known, &live);
            drop(observations);
            if !learnt.is_empty() {
                let work: Vec<(Hostname, Vec<String>)> =
                    learnt.iter().map(|h| (h.clone(), Vec::new())).collect();
                let (newly, added) = db(&app.store, move |s| {
                    let newly = s.discover(&learnt, &DiscoverySource::Link, Utc::now())?;
                    Ok((newly, s.add_work(run_id, &work)?))
                })
                .await?;
                done.learnt = newly;
                options.progress.total.fetch_add(added, Ordering::Relaxed);
            }
            let owner = me.clone();
            db(&app.store, move |s| s.finish_work(&ids, &owner)).await?;
            worked.lock().unwrap_or_else(|e| e.into_inner()).merge(done);
        }
    };
    futures_util::future::try_join_all((0..CLAIMERS).map(|_| claimer())).await?;
    Ok(worked.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// The owner's side of a run: works through it, then waits for the
/// batches other instances hold (taking over those whose lease expires)
/// until every host name is done or `cancel` fires.
pub async fn work_to_the_end(
    app: &App,
    run_id: i64,
    prober: &Prober,
    options: &CycleOptions,
    cancel: &CancellationToken,
) -> Result<Worked> {
    let mut worked = work_through(app, run_id, prober, options, cancel).await?;
    loop {
        if cancel.is_cancelled() {
            return Ok(worked);
        }
        let left = db(&app.store, move |s| s.work_left(run_id)).await?;
        if left == 0 {
            return Ok(worked);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = cancel.cancelled() => return Ok(worked),
        }
        worked.merge(work_through(app, run_id, prober, options, cancel).await?);
    }
}

/// An instance's help with other instances' runs: works through each run
/// with free host names. Returns how many host names it probed.
pub async fn help(app: &App, cancel: &CancellationToken) -> Result<usize> {
    let me = crate::store::instance();
    let runs = db(&app.store, move |s| s.claimable_runs(&me)).await?;
    if runs.is_empty() {
        return Ok(0);
    }
    let prober = app.prober()?;
    // An instance whose own network is down helps nobody.
    if super::outage::canaries_down(&prober, &app.policy().canaries)
        .await
        .is_some()
    {
        return Ok(0);
    }
    let grace = Duration::from_secs(app.config().daemon.shutdown_grace_secs);
    let options = CycleOptions::new(false, grace);
    let mut probed = 0;
    for run_id in runs {
        let worked = work_through(app, run_id, &prober, &options, cancel).await?;
        if !worked.probed.is_empty() {
            tracing::info!(
                run = run_id,
                hosts = worked.probed.len(),
                "helped with another instance's run"
            );
        }
        probed += worked.probed.len();
    }
    Ok(probed)
}
