//! A probe run's host names as shared work, and the instances that share
//! it. The run's owner lists its host names; every instance (the owner
//! too) claims batches under a lease, probes them and marks them done; a
//! crashed instance's lease expires and another takes its batch over.
//! Each instance's heartbeat says it is alive, for `siteward status`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::convert::{from_db, to_db};
use super::rows::{InstanceRow, NewWorkRow, WorkRow};
use super::sql::Sql;
use super::{Pools, Store, StoreError};
use crate::registry::Hostname;

/// A host name of a run, as an instance claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: i64,
    pub host: Hostname,
    /// The names its homepage should mention (a live site's).
    pub names: Vec<String>,
}

/// A host name of a run and who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkRecord {
    pub run: i64,
    pub host: String,
    pub owner: Option<String>,
    /// How many times it was claimed: more than one only after a lease
    /// expired.
    pub claims: i64,
    pub lease_until: Option<DateTime<Utc>>,
    pub done: bool,
}

/// An instance sharing this database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Host names it holds under a lease not expired.
    pub leases: i64,
}

fn item(row: WorkRow) -> Result<WorkItem, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt {
        what: format!("work row {}: {what}", row.id),
    };
    Ok(WorkItem {
        id: row.id,
        host: row
            .hostname
            .parse()
            .map_err(|e: crate::registry::Invalid| corrupt(e.to_string()))?,
        names: serde_json::from_str(&row.names).map_err(|e| corrupt(e.to_string()))?,
    })
}

fn new_rows(run_id: i64, targets: &[(Hostname, Vec<String>)]) -> Vec<NewWorkRow> {
    targets
        .iter()
        .map(|(host, names)| NewWorkRow {
            run_id,
            hostname: host.as_str().to_string(),
            names: serde_json::to_string(names).unwrap_or_else(|_| "[]".into()),
        })
        .collect()
}

impl Store {
    /// Lists run `run_id`'s host names as work, and forgets the work of
    /// runs that ended more than a day ago (kept that long to show who
    /// did what). Returns how many were listed.
    pub fn start_work(
        &self,
        run_id: i64,
        targets: &[(Hostname, Vec<String>)],
    ) -> Result<usize, StoreError> {
        let rows = new_rows(run_id, targets);
        let day_ago = to_db(Utc::now() - chrono::Duration::days(1));
        with_conn!(self, c => c.write_tx(|c| {
            c.delete_ended_work(day_ago)?;
            Ok(c.insert_work(&rows)?)
        }))
    }

    /// Adds host names to a running run's work (learnt while it runs);
    /// those it has already are skipped. Returns how many were added.
    pub fn add_work(
        &self,
        run_id: i64,
        targets: &[(Hostname, Vec<String>)],
    ) -> Result<usize, StoreError> {
        let rows = new_rows(run_id, targets);
        with_conn!(self, c => c.write_tx(|c| Ok(c.insert_work(&rows)?)))
    }

    /// Leases up to `limit` free host names of run `run_id` to `owner`
    /// for `lease`.
    pub fn claim_work(
        &self,
        run_id: i64,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = with_conn!(self, c => c.write_tx(|c| {
            Ok(c.claim_work(run_id, owner, limit, lease.as_secs_f64())?)
        }))?;
        rows.into_iter().map(item).collect()
    }

    /// Marks `ids` done, where `owner` still holds them.
    pub fn finish_work(&self, ids: &[i64], owner: &str) -> Result<usize, StoreError> {
        let at = to_db(Utc::now());
        with_conn!(self, c => c.write_tx(|c| Ok(c.finish_work(ids, owner, at)?)))
    }

    /// Gives `ids` back undone, for another to take at once.
    pub fn release_work(&self, ids: &[i64], owner: &str) -> Result<usize, StoreError> {
        with_conn!(self, c => c.write_tx(|c| Ok(c.release_work(ids, owner)?)))
    }

    /// How many of run `run_id`'s host names are not done.
    pub fn work_left(&self, run_id: i64) -> Result<i64, StoreError> {
        with_reader!(self, c => c.read_tx(|c| Ok(c.work_left(run_id)?)))
    }

    /// Run `run_id`'s host names and who did them.
    pub fn work(&self, run_id: i64) -> Result<Vec<WorkRecord>, StoreError> {
        let rows = with_reader!(self, c => c.read_tx(|c| Ok(c.work_rows(run_id)?)))?;
        Ok(rows
            .into_iter()
            .map(|row| WorkRecord {
                run: row.run_id,
                host: row.hostname,
                owner: row.owner,
                claims: row.claims,
                lease_until: row.lease_until.map(from_db),
                done: row.done_at.is_some(),
            })
            .collect())
    }

    /// The running runs of other instances than `owner` with host names
    /// free to claim.
    pub fn claimable_runs(&self, owner: &str) -> Result<Vec<i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| Ok(c.claimable_runs(owner)?)))
    }

    /// Says that instance `name` (started at `started_at`) is alive.
    pub fn heartbeat(&self, name: &str, started_at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = InstanceRow {
            name: name.to_string(),
            started_at: to_db(started_at),
            heartbeat_at: to_db(Utc::now()),
        };
        with_conn!(self, c => c.write_tx(|c| Ok(c.upsert_instance(&row)?)))
    }

    /// The instances that ever used this database, the most recently
    /// alive first, with the leases each holds now.
    pub fn instances(&self) -> Result<Vec<InstanceStatus>, StoreError> {
        let (rows, leases) = with_reader!(self, c => c.read_tx(|c| {
            let now = c.clock()?;
            Ok((c.instance_rows()?, c.leases(now)?))
        }))?;
        Ok(rows
            .into_iter()
            .map(|row| InstanceStatus {
                leases: leases
                    .iter()
                    .find(|(owner, _)| *owner == row.name)
                    .map_or(0, |(_, n)| *n),
                name: row.name,
                started_at: from_db(row.started_at),
                heartbeat_at: from_db(row.heartbeat_at),
            })
            .collect())
    }
}
