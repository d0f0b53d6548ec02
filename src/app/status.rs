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

/// The outbox and the findings nobody is told of.
#[derive(Debug, Clone, Default)]
pub struct AlertsStatus {
    pub pending: usize,
    pub failed: usize,
    /// Open (or acknowledged) findings that no route sends anywhere.
    pub unrouted: usize,
}

/// What `status` reports.
#[derive(Debug, Clone)]
pub struct Status {
    pub now: DateTime<Utc>,
    pub instances: Vec<Instance>,
    pub running: Vec<Running>,
    pub schedules: Vec<StoredSchedule>,
    pub alerts: AlertsStatus,
}

/// Counts the outbox's waiting and failed messages, and the confirmed
/// findings no route sends anywhere under the policy and sinks in force.
fn alerts_status(app: &App) -> Result<AlertsStatus> {
    use crate::alerts::NotificationStatus;
    let count =
        |status| -> Result<usize> { Ok(app.store.notifications(Some(status), i64::MAX)?.len()) };
    let alerting = app.alerting();
    let orgs: std::collections::HashMap<i64, crate::registry::Organization> =
        app.store.orgs()?.into_iter().map(|o| (o.id, o)).collect();
    let open = app.store.findings(&[
        crate::findings::FindingStatus::Open,
        crate::findings::FindingStatus::Acknowledged,
    ])?;
    let unrouted = open
        .iter()
        .filter(|f| {
            let org = f.org_id.and_then(|id| orgs.get(&id));
            let division = org.map(|o| o.division.to_string());
            // Only whether the organization has a webhook matters here.
            let own: Vec<i64> = org.map(|o| vec![0; o.webhooks.len()]).unwrap_or_default();
            crate::alerts::route::sinks_for(
                &alerting.alerts,
                &alerting.sinks,
                crate::alerts::NotificationKind::Opened,
                &crate::policy::alerts::Subject {
                    kind: f.kind,
                    severity: f.severity,
                    organization: org.map(|o| o.name.as_str()),
                    division: division.as_deref(),
                },
                &own,
            )
            .is_empty()
        })
        .count();
    Ok(AlertsStatus {
        pending: count(NotificationStatus::Pending)?,
        failed: count(NotificationStatus::Failed)?,
        unrouted,
    })
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
        alerts: alerts_status(app)?,
    })
}
