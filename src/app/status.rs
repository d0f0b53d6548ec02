//! `siteward status`: the daemons sharing the database (their last
//! heartbeat and the host names they hold under a lease), the runs in
//! progress with what is left of them, each job's next fire time, and
//! the alerts waiting, failed, or reaching nobody. Also a check asked for
//! by hand (the API's `POST /api/v1/runs`): the job's next fire time moved
//! to now, for a daemon's scheduler to claim.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::App;
use crate::jobs::RunStatus;
use crate::store::{InstanceStatus, Run, StoredSchedule};

/// A daemon as `status` shows it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub status: InstanceStatus,
    /// Heard from within a lease period: alive, as far as anyone knows.
    pub alive: bool,
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct Running {
    pub run: Run,
    /// Its host names not done yet (a probe run's shared work).
    pub left: i64,
}

/// What `status` reports.
#[derive(Debug, Clone)]
pub struct Status {
    pub now: DateTime<Utc>,
    pub instances: Vec<Instance>,
    pub running: Vec<Running>,
    pub schedules: Vec<StoredSchedule>,
    pub alerts: crate::store::alerts::Counts,
    /// The sinks not ok: rate-limited or broken.
    pub sinks: Vec<super::alerts::SinkView>,
}

/// The daemons, the runs in progress and the schedules: `status` without
/// its alerts.
#[derive(Debug, Clone)]
pub struct Runs {
    pub now: DateTime<Utc>,
    pub instances: Vec<Instance>,
    pub running: Vec<Running>,
    pub schedules: Vec<StoredSchedule>,
}

pub fn runs(app: &App) -> Result<Runs> {
    let now = Utc::now();
    let lease = chrono::Duration::seconds(
        i64::try_from(app.config().daemon.lease_secs.get()).unwrap_or(i64::MAX),
    );
    let instances = app
        .store
        .instances()?
        .into_iter()
        .map(|status| Instance {
            alive: status.heartbeat_at >= now - lease,
            status,
        })
        .collect();
    let mut running = Vec::new();
    for run in app.store.runs(None, 200)? {
        if run.status == RunStatus::Running {
            let left = app.store.work_left(run.id)?;
            running.push(Running { run, left });
        }
    }
    Ok(Runs {
        now,
        instances,
        running,
        schedules: app.store.schedules()?,
    })
}

pub fn status(app: &App) -> Result<Status> {
    let Runs {
        now,
        instances,
        running,
        schedules,
    } = runs(app)?;
    Ok(Status {
        now,
        instances,
        running,
        schedules,
        alerts: app.store.alert_counts(&app.alerting())?,
        sinks: super::alerts::sinks(app)?
            .into_iter()
            .filter(|s| s.health != crate::alerts::SinkHealth::Ok)
            .collect(),
    })
}

/// A run asked for by hand: the job's schedule as stored now, and how
/// many daemons are alive to claim it.
#[derive(Debug, Clone)]
pub struct Requested {
    pub schedule: StoredSchedule,
    pub daemons_alive: usize,
}

/// Asks for a run of `job` now. The request does not run the job: it
/// moves the job's stored next fire time to now, and the scheduler of
/// whichever daemon looks first claims the fire as it claims any other
/// (the run recorded and the next time moved in one transaction), so that
/// instances sharing the database never run it twice. Refused while a
/// run of the job is in progress (a conflict naming it), and for
/// `confirm`, which fires by itself when a confirmation is due.
pub fn request(app: &App, job: crate::jobs::Job) -> Result<Requested> {
    if job == crate::jobs::Job::Confirm {
        return Err(crate::registry::Invalid::new(
            "job",
            job.as_str(),
            "fires by itself when a pending finding's confirmation is due; ask for `probe` instead",
        )
        .into());
    }
    let expression = app
        .policy()
        .schedules
        .get(job.as_str())
        .map(|s| crate::jobs::Schedule::Cron(s.schedule.clone()).expression());
    let schedule = app
        .store
        .request_run(job, expression.as_deref(), Utc::now())?;
    let Runs { instances, .. } = runs(app)?;
    Ok(Requested {
        schedule,
        daemons_alive: instances.iter().filter(|i| i.alive).count(),
    })
}
