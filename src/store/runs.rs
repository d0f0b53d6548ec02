//! Runs of the daemon's jobs (and of `check --once`) and the jobs' next
//! fire times. A run is written when it starts, as `running`, and
//! rewritten when it ends; one that a crash cut short is marked
//! `interrupted` at the next start.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, from_db_opt, to_db, to_db_opt};
use super::rows::{RunRow, ScheduleRow};
use super::sql::Sql;
use crate::findings::MeasurementFailure;
use crate::jobs::{Job, RunStatus};

/// One run of a job, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub job: Job,
    /// The scheduled time it ran for; `None` for a run started by hand.
    pub fire_at: Option<DateTime<Utc>>,
    /// The process that ran it (`host:pid`).
    pub instance: Option<String>,
    pub started_at: DateTime<Utc>,
    /// When it ended; equal to `started_at` while it runs.
    pub finished_at: DateTime<Utc>,
    pub hosts: usize,
    pub failures: Vec<MeasurementFailure>,
    pub opened: usize,
    pub resolved: usize,
    pub status: RunStatus,
}

impl Run {
    /// A run of `job` starting now.
    pub fn start(job: Job, fire_at: Option<DateTime<Utc>>) -> Run {
        let now = Utc::now();
        Run {
            id: 0,
            job,
            fire_at,
            instance: Some(instance()),
            started_at: now,
            finished_at: now,
            hosts: 0,
            failures: Vec::new(),
            opened: 0,
            resolved: 0,
            status: RunStatus::Running,
        }
    }
}

/// This process, as runs name it: `host:pid`.
pub fn instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

/// A job's schedule as stored: what it was computed from and when it
/// fires next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredSchedule {
    pub job: Job,
    pub expression: String,
    pub next_at: DateTime<Utc>,
}

fn to_row(run: &Run) -> RunRow {
    RunRow {
        id: run.id,
        job: run.job.as_str().to_string(),
        fire_at: to_db_opt(run.fire_at),
        instance: run.instance.clone(),
        started_at: to_db(run.started_at),
        finished_at: to_db(run.finished_at),
        hosts: run.hosts as i64,
        measurement_failures: run.failures.len() as i64,
        failures: serde_json::to_string(&run.failures).unwrap_or_else(|_| "[]".into()),
        opened: run.opened as i64,
        resolved: run.resolved as i64,
        status: run.status.as_str().to_string(),
    }
}

fn from_row(row: RunRow) -> Result<Run, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt {
        what: format!("runs row {}: {what}", row.id),
    };
    Ok(Run {
        id: row.id,
        job: row.job.parse().map_err(corrupt)?,
        fire_at: from_db_opt(row.fire_at),
        instance: row.instance.clone(),
        started_at: from_db(row.started_at),
        finished_at: from_db(row.finished_at),
        hosts: row.hosts as usize,
        failures: serde_json::from_str(&row.failures)
            .map_err(|e| corrupt(format!("failures: {e}")))?,
        opened: row.opened as usize,
        resolved: row.resolved as usize,
        status: row.status.parse().map_err(corrupt)?,
    })
}

/// Records a run (as it starts, or a finished one); returns its id.
pub fn insert<C: Sql>(c: &mut C, run: &Run) -> Result<i64, StoreError> {
    Ok(c.insert_run(&to_row(run))?)
}

/// Rewrites a run as it ends.
pub fn finish<C: Sql>(c: &mut C, run: &Run) -> Result<(), StoreError> {
    Ok(c.update_run(&to_row(run))?)
}

pub fn last<C: Sql>(c: &mut C) -> Result<Option<Run>, StoreError> {
    c.last_run()?.map(from_row).transpose()
}

pub fn list<C: Sql>(c: &mut C, job: Option<Job>, limit: usize) -> Result<Vec<Run>, StoreError> {
    c.run_rows(job.map(Job::as_str), limit as i64)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Up to `limit` runs with ids below `before`, newest first; of `job`
/// when given.
pub fn page<C: Sql>(
    c: &mut C,
    job: Option<Job>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<Run>, StoreError> {
    c.run_page(
        job.map(Job::as_str),
        before,
        i64::try_from(limit).unwrap_or(i64::MAX),
    )?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Asks for a run of `job` now, the way the daemon's scheduler takes
/// work: the job's stored next fire time moves to `now` (kept when
/// already due), and the scheduler of whichever instance looks first
/// claims it. The stored schedule is made from `expression` when the
/// job has none yet (no daemon has run), so that a daemon starting
/// later with that schedule keeps the due time and runs it at once.
/// Refused (a conflict) while a run of the job is in progress: a job
/// never overlaps itself.
pub fn request<C: Sql>(
    c: &mut C,
    job: Job,
    expression: Option<&str>,
    now: DateTime<Utc>,
) -> Result<StoredSchedule, StoreError> {
    if let Some(running) = list(c, Some(job), 1)?
        .into_iter()
        .find(|r| r.status == RunStatus::Running)
    {
        return Err(StoreError::Conflict(format!(
            "a {job} run is in progress (run {}, started {} on {}); the job never runs twice at once: ask again when it ends",
            running.id,
            crate::clock::show(running.started_at),
            running.instance.as_deref().unwrap_or("an unknown instance"),
        )));
    }
    let stored = schedules(c)?.into_iter().find(|s| s.job == job);
    let schedule = match (stored, expression) {
        (Some(stored), _) => StoredSchedule {
            next_at: stored.next_at.min(now),
            ..stored
        },
        (None, Some(expression)) => StoredSchedule {
            job,
            expression: expression.to_string(),
            next_at: now,
        },
        (None, None) => {
            return Err(crate::registry::Invalid::new(
                "job",
                job.as_str(),
                "has no schedule in policy ([schedules]): the daemon would never run it",
            )
            .into());
        }
    };
    set_schedule(c, &schedule)?;
    Ok(schedule)
}

/// The runs of `job` started in `[from, to)`, oldest first.
pub fn between<C: Sql>(
    c: &mut C,
    job: Job,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Run>, StoreError> {
    c.runs_between(job.as_str(), to_db(from), to_db(to))?
        .into_iter()
        .map(from_row)
        .collect()
}

pub fn schedules<C: Sql>(c: &mut C) -> Result<Vec<StoredSchedule>, StoreError> {
    c.schedule_rows()?
        .into_iter()
        .map(|row| {
            Ok(StoredSchedule {
                job: row
                    .job
                    .parse()
                    .map_err(|what: String| StoreError::Corrupt {
                        what: format!("schedules row: {what}"),
                    })?,
                expression: row.expression,
                next_at: from_db(row.next_at),
            })
        })
        .collect()
}

pub fn set_schedule<C: Sql>(c: &mut C, schedule: &StoredSchedule) -> Result<(), StoreError> {
    Ok(c.upsert_schedule(&ScheduleRow {
        job: schedule.job.as_str().to_string(),
        expression: schedule.expression.clone(),
        next_at: to_db(schedule.next_at),
    })?)
}
