//! What the daemon runs, and when: the jobs, their schedules (crontab
//! from policy, or intervals in seconds for tests and the demo), and the
//! states a run goes through. Pure types; the scheduler that acts on
//! them is `app::daemon`, their rows are kept by `store`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::policy::cron::CronSchedule;

/// A job the daemon runs on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// The check cycle: every host name probed, the rules evaluated from
    /// the store.
    Probe,
    /// The accounts' feeds polled, and the rules evaluated from the store.
    Feeds,
    /// Zone transfers that policy allows, to learn host names.
    Discover,
    /// Old observations pruned, as policy's `[retention]` says.
    Retain,
    /// The host names whose pending findings are due, observed again, and
    /// the rules evaluated. Not on a schedule of its own: it fires when a
    /// due comes (its fire time is the due).
    Confirm,
    /// The quarterly reconciliation, from the files in `[reconcile]
    /// inbox`, of the quarter the day before belongs to.
    Reconcile,
    /// The quarterly circular of the quarter the day before belongs to,
    /// with that quarter's newest reconciliation run.
    Report,
    /// The audit trail verified against the registry (`audit verify`),
    /// raising or resolving `registry_tampered`.
    Audit,
}

impl Job {
    pub const ALL: [Job; 8] = [
        Job::Probe,
        Job::Feeds,
        Job::Discover,
        Job::Retain,
        Job::Confirm,
        Job::Reconcile,
        Job::Report,
        Job::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Job::Probe => "probe",
            Job::Feeds => "feeds",
            Job::Discover => "discover",
            Job::Retain => "retain",
            Job::Confirm => "confirm",
            Job::Reconcile => "reconcile",
            Job::Report => "report",
            Job::Audit => "audit",
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Job {
    type Err = String;

    fn from_str(s: &str) -> Result<Job, String> {
        Job::ALL
            .into_iter()
            .find(|job| job.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Job::ALL.iter().map(|j| j.as_str()).collect();
                format!("`{s}` is not a job; jobs: {}", names.join(", "))
            })
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not ended; left so by a crash until the next start
    /// marks it interrupted.
    Running,
    Ok,
    /// Nothing could be measured (resolver down, every probe failed):
    /// the run judged nothing.
    MeasurementFailed,
    /// Stopped before its end: SIGTERM, Ctrl-C, or a crash found at the
    /// next start.
    Interrupted,
    /// Ended by an error of our own (the database, a policy that no
    /// longer loads).
    Failed,
}

impl RunStatus {
    const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Ok,
        RunStatus::MeasurementFailed,
        RunStatus::Interrupted,
        RunStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::MeasurementFailed => "measurement_failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<RunStatus, String> {
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a run status"))
    }
}

/// When a job fires.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A crontab expression from policy, in China Standard Time.
    Cron(CronSchedule),
    /// Every so many seconds, aligned on multiples of the interval since
    /// the Unix epoch so that fire times are the same across restarts:
    /// for tests and the demo only, never from policy.
    Every(Duration),
}

impl Schedule {
    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(cron) => cron.next_after(after),
            Schedule::Every(interval) => {
                let step = i64::try_from(interval.as_millis()).ok()?.max(1);
                let now = after.timestamp_millis();
                let next = (now.div_euclid(step) + 1) * step;
                DateTime::from_timestamp_millis(next)
            }
        }
    }

    /// The schedule as stored and shown: the crontab expression, or
    /// `every Ns`.
    pub fn expression(&self) -> String {
        match self {
            Schedule::Cron(cron) => cron.expression().to_string(),
            Schedule::Every(interval) => format!("every {}ms", interval.as_millis()),
        }
    }
}
