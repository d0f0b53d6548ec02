//! `siteward status`: the daemons sharing the database (their last
//! heartbeat and the host names they hold under a lease), the runs in
//! progress with what is left of them, each job's next fire time, and
//! the alerts waiting, failed, or reaching nobody.

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

pub fn status(app: &App) -> Result<Status> {
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
    Ok(Status {
        now,
        instances,
        running,
        schedules: app.store.schedules()?,
        alerts: app.store.alert_counts(&app.alerting())?,
        sinks: super::alerts::sinks(app)?
            .into_iter()
            .filter(|s| s.health != crate::alerts::SinkHealth::Ok)
            .collect(),
    })
}
