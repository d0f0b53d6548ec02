//! `siteward serve`: the scheduler. Each job (`probe`, `feeds`,
//! `discover`) fires on its schedule from policy (crontab in China
//! Standard Time), or on intervals in seconds that tests and the demo
//! pass in. Next fire times live in the database, so a restart neither
//! skips nor doubles a run: a fire missed while the daemon was down runs
//! once at start, and a fire is claimed (its run recorded, the next time
//! moved) in one transaction. A job never overlaps itself, and a slow
//! job delays only itself. Runs a crash cut short are marked interrupted
//! at start, and their jobs run again at once.
//!
//! Signals: SIGHUP reloads the configuration and the policies (an invalid
//! one is refused and counted, the old one stays); SIGTERM and SIGINT
//! drain: no new host is probed, the hosts in flight get
//! `[daemon] shutdown_grace_secs`, what was observed is stored, and the
//! run is recorded as interrupted. Under systemd it says READY=1 once the
//! database is migrated and the policy loaded, and pings the watchdog
//! each time the scheduler loop goes round.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::checks::{self, CycleOptions};
use super::{App, Counters, db};
use crate::jobs::{Job, RunStatus, Schedule};
use crate::store::{Interrupting, Run, StoredSchedule};

/// How often an instance records that it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How the daemon runs beyond its configuration.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Jobs fired every so often instead of on their policy schedule
    /// (tests and the demo; never from policy).
    pub intervals: BTreeMap<Job, Duration>,
    /// How often the scheduler loop goes round.
    pub tick: Duration,
    /// Whether the `confirm` job observes again what awaits
    /// confirmation when its due comes.
    pub confirm: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            intervals: BTreeMap::new(),
            tick: Duration::from_secs(1),
            confirm: true,
        }
    }
}

/// The schedules in force: the overrides, else the policy's.
fn schedules(app: &App, options: &ServeOptions) -> BTreeMap<Job, Schedule> {
    let policy = app.policy();
    let mut out = BTreeMap::new();
    for job in Job::ALL {
        if let Some(interval) = options.intervals.get(&job) {
            out.insert(job, Schedule::Every(*interval));
        } else if let Some(schedule) = policy.schedules.get(job.as_str()) {
            out.insert(job, Schedule::Cron(schedule.schedule.clone()));
        }
    }
    out
}

/// Brings the stored schedules in line with those in force: a job new or
/// whose expression changed gets its next fire time from now; one whose
/// expression is unchanged keeps its stored time, so a missed fire (in
/// the past) runs at once. `run_now`: jobs to run at once whatever their
/// time (their last run was cut short).
async fn align(
    app: &App,
    schedules: &BTreeMap<Job, Schedule>,
    run_now: &[Job],
) -> Result<BTreeMap<Job, StoredSchedule>> {
    let stored = db(&app.store, |s| s.schedules()).await?;
    let now = Utc::now();
    let mut out = BTreeMap::new();
    for (job, schedule) in schedules {
        let expression = schedule.expression();
        let existing = stored.iter().find(|s| s.job == *job);
        let mut next_at = match existing {
            Some(s) if s.expression == expression => s.next_at,
            _ => match schedule.next_after(now) {
                Some(next) => next,
                None => {
                    tracing::warn!(job = %job, expression, "the schedule never fires");
                    continue;
                }
            },
        };
        if run_now.contains(job) {
            next_at = next_at.min(now);
        }
        let row = StoredSchedule {
            job: *job,
            expression,
            next_at,
        };
        if existing != Some(&row) {
            let write = row.clone();
            db(&app.store, move |s| s.set_schedule(&write)).await?;
        }
        tracing::info!(job = %job, schedule = %row.expression, next = %crate::clock::show(row.next_at), "scheduled");
        out.insert(*job, row);
    }
    Ok(out)
}

/// Runs the scheduler until `shutdown` is cancelled (or SIGTERM/SIGINT
/// arrive), then drains. The caller holds the database's lock (SQLite).
pub async fn serve(
    app: Arc<App>,
    options: ServeOptions,
    shutdown: CancellationToken,
) -> Result<()> {
    // The only daemon of a SQLite file knows every run left running is
    // dead; on PostgreSQL, only those of instances that went silent.
    let shared = app.store.backend() == crate::store::Backend::Postgres;
    let lease = Duration::from_secs(app.config().daemon.lease_secs.get());
    let heartbeat_every = HEARTBEAT.min(lease / 3);
    let dead = move || Interrupting::Dead {
        since: Utc::now() - chrono::Duration::from_std(lease).unwrap_or_default(),
    };
    let which = if shared { dead() } else { Interrupting::All };
    let interrupted = db(&app.store, move |s| s.interrupt_running(Utc::now(), which)).await?;
    let mut run_now = Vec::new();
    for run in &interrupted {
        tracing::warn!(job = %run.job, run = run.id, started = %crate::clock::show(run.started_at), "a run was cut short (the process ended during it): marked interrupted, and its job runs again now");
        Counters::bump(&app.counters.runs_interrupted);
        run_now.push(run.job);
    }
    let mut in_force = schedules(&app, &options);
    align(&app, &in_force, &run_now).await?;
    // The only daemon of a SQLite file knows no send is in flight: what
    // a crash left leased is sent again at once (same key).
    if !shared {
        let freed = db(&app.store, |s| s.release_notification_leases()).await?;
        if freed > 0 {
            tracing::warn!(
                messages = freed,
                "alerts: messages a crash left mid-send are sent again (same key)"
            );
        }
    }
    let sending = tokio::spawn(super::alerts::sender(app.clone(), shutdown.child_token()));

    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    // The loop pings the watchdog each time it goes round, so it goes
    // round at least twice per watchdog period, whatever `tick` says.
    let mut usec = 0;
    let watchdog = sd_notify::watchdog_enabled(false, &mut usec);
    let tick_every = if watchdog {
        options
            .tick
            .min(Duration::from_micros(usec / 2).max(Duration::from_millis(10)))
    } else {
        options.tick
    };
    // The API's listener is bound before READY=1: whoever hears it can
    // connect. A certificate that cannot be used stops the start here,
    // naming its file.
    crate::api::serve::tls_acceptor(&app.config().api)?;
    let listener = crate::api::serve::bind(&app.config().api.listen).await?;
    let api = tokio::spawn(crate::api::serve::serve(
        app.clone(),
        listener,
        shutdown.child_token(),
    ));
    // Logged first: whoever hears READY=1 finds the daemon serving in
    // its log too.
    tracing::info!(database = app.store.url(), "siteward is serving");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);

    let mut running: BTreeMap<Job, (i64, JoinHandle<()>)> = BTreeMap::new();
    // Help with other instances' runs (PostgreSQL), one batch loop at a
    // time.
    let mut helping: Option<JoinHandle<()>> = None;
    let me = crate::store::instance();
    let started_at = Utc::now();
    let mut last_heartbeat: Option<tokio::time::Instant> = None;
    // The earliest due not yet taken, once read (`None`: read it).
    let mut next_due: Option<Option<chrono::DateTime<Utc>>> = None;
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
            _ = terminate.recv() => {
                tracing::info!("SIGTERM: draining");
                shutdown.cancel();
                break;
            }
            _ = interrupt.recv() => {
                tracing::info!("SIGINT: draining");
                shutdown.cancel();
                break;
            }
            _ = hangup.recv() => {
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
                let app_reload = app.clone();
                match tokio::task::spawn_blocking(move || app_reload.reload()).await {
                    Ok(Ok(())) => {
                        tracing::info!("SIGHUP: configuration and policies reloaded");
                        in_force = schedules(&app, &options);
                        align(&app, &in_force, &[]).await?;
                    }
                    Ok(Err(e)) => tracing::error!(
                        error = %format!("{e:#}"),
                        failed_reloads = Counters::get(&app.counters.failed_reloads),
                        "SIGHUP: reload refused; the configuration and policies in force stay"
                    ),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: reload stopped unexpectedly"),
                }
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
            }
        }
        // Reap the jobs that ended.
        let ended: Vec<Job> = running
            .iter()
            .filter(|(_, (_, handle))| handle.is_finished())
            .map(|(job, _)| *job)
            .collect();
        let ended_any = !ended.is_empty();
        for job in ended {
            if let Some((run, handle)) = running.remove(&job)
                && let Err(e) = handle.await
            {
                tracing::error!(job = %job, run, error = %e, "a job stopped unexpectedly");
            }
        }
        // Fire what is due. Reading the schedules is also the proof, for
        // the watchdog, that the database answers.
        let stored = match db(&app.store, |s| s.schedules()).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot read the schedules");
                continue;
            }
        };
        let now = Utc::now();
        for stored in stored {
            let Some(schedule) = in_force.get(&stored.job) else {
                continue;
            };
            if stored.next_at > now || running.contains_key(&stored.job) {
                continue;
            }
            let Some(next_at) = schedule.next_after(now) else {
                continue;
            };
            let run = Run::start(stored.job, Some(stored.next_at));
            let next = StoredSchedule {
                next_at,
                ..stored.clone()
            };
            let claim = run.clone();
            let id = match db(&app.store, move |s| s.claim_run(&claim, &next)).await {
                Ok(Some(id)) => id,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(job = %stored.job, error = %format!("{e:#}"), "cannot start a run");
                    continue;
                }
            };
            Counters::bump(&app.counters.runs_started);
            let run = Run { id, ..run };
            let handle = tokio::spawn(run_job(app.clone(), run, shutdown.child_token()));
            running.insert(stored.job, (id, handle));
        }
        // Say this instance is alive, for `siteward status`.
        let heartbeat_now = last_heartbeat.is_none_or(|at| at.elapsed() >= heartbeat_every);
        if heartbeat_now {
            let name = me.clone();
            match db(&app.store, move |s| s.heartbeat(&name, started_at)).await {
                Ok(()) => last_heartbeat = Some(tokio::time::Instant::now()),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot record the heartbeat"),
            }
            // A run whose instance went silent for a lease is dead: marked
            // interrupted, and its job runs again now, here or elsewhere.
            if shared {
                let which = dead();
                match db(&app.store, move |s| s.interrupt_running(Utc::now(), which)).await {
                    Ok(cut) if !cut.is_empty() => {
                        let jobs: Vec<Job> = cut.iter().map(|r| r.job).collect();
                        for run in &cut {
                            tracing::warn!(job = %run.job, run = run.id, instance = run.instance.as_deref().unwrap_or("?"), "a run's instance went silent: marked interrupted, and its job runs again now");
                            Counters::bump(&app.counters.runs_interrupted);
                        }
                        align(&app, &in_force, &jobs).await?;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot look for dead instances' runs")
                    }
                }
            }
        }
        // Take a share of the runs other instances started (a SQLite
        // file has one daemon: nobody else starts runs).
        if shared && helping.as_ref().is_none_or(|h| h.is_finished()) {
            let app_help = app.clone();
            let cancel = shutdown.child_token();
            helping = Some(tokio::spawn(async move {
                if let Err(e) = super::work::help(&app_help, &cancel).await {
                    tracing::error!(error = %format!("{e:#}"), "cannot help with another instance's run");
                }
            }));
        }
        // Observe again what awaits confirmation, when its due comes. The
        // next due is read again only when it may have changed: a job
        // ended, or a heartbeat went by (another process's findings).
        if ended_any || heartbeat_now {
            next_due = None;
        }
        if options.confirm && !running.contains_key(&Job::Confirm) {
            let due = match next_due {
                Some(due) => Ok(due),
                None => checks::next_due(&app).await,
            };
            if let Ok(due) = due {
                next_due = Some(due);
            }
            match due {
                Ok(Some(due)) if due <= now => {
                    next_due = None;
                    let run = Run::start(Job::Confirm, Some(due));
                    let started = run.clone();
                    // The due is the fire time: across instances, one run
                    // per due.
                    match db(&app.store, move |s| s.start_run(&started)).await {
                        Ok(id) => {
                            Counters::bump(&app.counters.runs_started);
                            let handle = tokio::spawn(run_job(
                                app.clone(),
                                Run { id, ..run },
                                shutdown.child_token(),
                            ));
                            running.insert(Job::Confirm, (id, handle));
                        }
                        Err(e) => {
                            tracing::debug!(error = %format!("{e:#}"), "the due was taken")
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot read what awaits confirmation")
                }
            }
        }
        if watchdog {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
        }
    }

    // Drain: the jobs saw the cancellation; each has the grace period for
    // its hosts in flight, then stores what it has and records its run.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    let grace = Duration::from_secs(app.config().daemon.shutdown_grace_secs);
    let deadline = tokio::time::Instant::now() + grace + Duration::from_millis(500);
    for (job, (run, handle)) in running {
        let abort = handle.abort_handle();
        match tokio::time::timeout_at(deadline, handle).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_cancelled() => {}
            Ok(Err(e)) => {
                tracing::error!(job = %job, run, error = %e, "a job stopped unexpectedly")
            }
            Err(_) => {
                abort.abort();
                tracing::warn!(job = %job, run, "the job did not end within the grace period: abandoned");
            }
        }
    }
    if let Some(handle) = helping {
        let abort = handle.abort_handle();
        if tokio::time::timeout_at(deadline, handle).await.is_err() {
            abort.abort();
        }
    }
    // The sender finishes its sends in flight (each bounded by the
    // receiver's timeout) and records them: a clean stop sends nothing
    // twice.
    let timeout = Duration::from_secs(app.config().alerts.timeout_secs);
    let abort = sending.abort_handle();
    if tokio::time::timeout(timeout + Duration::from_secs(5), sending)
        .await
        .is_err()
    {
        abort.abort();
        tracing::warn!(
            "alerts: sends still in flight were abandoned; they are sent again at the next start (same key)"
        );
    }
    // The API has stopped accepting; its requests in flight finish.
    match api.await {
        Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "api: stopped with an error"),
        Err(e) => tracing::error!(error = %e, "api: stopped unexpectedly"),
        Ok(Ok(())) => {}
    }
    // Whatever could not record its own end is recorded as interrupted.
    let mine = Interrupting::Of(crate::store::instance());
    db(&app.store, move |s| s.interrupt_running(Utc::now(), mine)).await?;
    tracing::info!("siteward stopped");
    Ok(())
}

/// Runs one job as `run` and logs how it ended.
async fn run_job(app: Arc<App>, run: Run, cancel: CancellationToken) {
    let job = run.job;
    let id = run.id;
    tracing::info!(job = %job, run = id, "run started");
    let grace = Duration::from_secs(app.config().daemon.shutdown_grace_secs);
    let ended = match job {
        Job::Probe => {
            // Feeds and confirmations are jobs of their own here.
            let options = CycleOptions {
                feeds: false,
                ..CycleOptions::new(false, grace)
            };
            checks::cycle(&app, run, &options, &cancel)
                .await
                .map(|report| report.run)
        }
        Job::Confirm => checks::confirm_due(&app, run, &cancel).await,
        Job::Retain => super::retention::retain_job(&app, run).await,
        Job::Feeds => checks::feeds_cycle(&app, run, &cancel).await,
        Job::Discover => super::discovery::discover_job(&app, run).await,
        Job::Reconcile => super::reconcile::reconcile_job(&app, run).await,
        Job::Report => super::report::report_job(&app, run).await,
        Job::Audit => super::integrity::audit_job(&app, run).await,
    };
    match ended {
        Ok(run) => {
            let level_warn = run.status != RunStatus::Ok;
            if level_warn {
                tracing::warn!(job = %job, run = id, status = %run.status, hosts = run.hosts, failures = run.failures.len(), opened = run.opened, resolved = run.resolved, "run ended");
            } else {
                tracing::info!(job = %job, run = id, status = %run.status, hosts = run.hosts, failures = run.failures.len(), opened = run.opened, resolved = run.resolved, "run ended");
            }
        }
        Err(e) => {
            tracing::error!(job = %job, run = id, error = %format!("{e:#}"), "run failed");
        }
    }
}
