//! Reconciliation runs: each run's report stored whole (as JSON) with its
//! counts beside it, listed newest first and read back by number.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, to_db};
use super::rows::NewReconcileRunRow;
use super::sql::Sql;
use crate::reconcile::output::Report;
use crate::registry::{AccountStatus, DivisionCode, OrgLevel, SiteCode, SiteStatus};

/// What the registry said of a site at a past time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteThen {
    pub status: SiteStatus,
    pub name: String,
    pub org: String,
    pub code: Option<SiteCode>,
}

/// What the registry said of an account at a past time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountThen {
    pub status: AccountStatus,
    pub name: String,
    pub org: String,
}

/// What the registry said of an organization at a past time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgThen {
    pub name: String,
    pub division: DivisionCode,
    pub level: OrgLevel,
}

/// Each entity of a kind changed after `at`, as its last audit snapshot
/// by `at` has it (`None`: it did not exist yet), read by `then`.
fn as_of<C: Sql, T>(
    c: &mut C,
    entity: &str,
    at: DateTime<Utc>,
    then: impl Fn(&serde_json::Value) -> Option<T>,
) -> Result<HashMap<i64, Option<T>>, StoreError> {
    let changed = c.changed_after(entity, to_db(at))?;
    let mut out: HashMap<i64, Option<T>> = changed.iter().map(|id| (*id, None)).collect();
    // Bounded lists of bound parameters, whatever the backend's limit.
    for chunk in changed.chunks(5_000) {
        for (id, after) in c.snapshots(entity, chunk, to_db(at))? {
            let Some(json) = after else { continue };
            let value = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| then(&v))
                .ok_or_else(|| StoreError::Corrupt {
                    what: format!("audit: a snapshot of {entity} {id}"),
                })?;
            out.insert(id, Some(value));
        }
    }
    Ok(out)
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

/// The sites changed (a transition or an edit) after `at`, each as it
/// stood at `at` from the snapshot its last audit row by then keeps
/// (`None`: not requested yet). Sites not in the map are as they are now.
pub fn sites_as_of<C: Sql>(
    c: &mut C,
    at: DateTime<Utc>,
) -> Result<HashMap<i64, Option<SiteThen>>, StoreError> {
    as_of(c, "site", at, |v| {
        Some(SiteThen {
            status: text(v, "status")?.parse().ok()?,
            name: text(v, "name")?,
            org: text(v, "org")?,
            code: text(v, "code").and_then(|c| c.parse().ok()),
        })
    })
}

/// The accounts changed after `at`, each as it stood then (`None`: not
/// registered yet). Accounts not in the map are as they are now.
pub fn accounts_as_of<C: Sql>(
    c: &mut C,
    at: DateTime<Utc>,
) -> Result<HashMap<i64, Option<AccountThen>>, StoreError> {
    as_of(c, "account", at, |v| {
        Some(AccountThen {
            status: text(v, "status")?.parse().ok()?,
            name: text(v, "name")?,
            org: text(v, "org")?,
        })
    })
}

/// The organizations changed after `at`, each as it stood then (`None`:
/// not registered yet). Organizations not in the map are as they are now.
pub fn orgs_as_of<C: Sql>(
    c: &mut C,
    at: DateTime<Utc>,
) -> Result<HashMap<i64, Option<OrgThen>>, StoreError> {
    as_of(c, "org", at, |v| {
        Some(OrgThen {
            name: text(v, "name")?,
            division: text(v, "division")?.parse().ok()?,
            level: text(v, "level")?.parse().ok()?,
        })
    })
}

/// A stored run, without its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub quarter: String,
    pub as_of: DateTime<Utc>,
    pub complete: bool,
    pub ran_at: DateTime<Utc>,
    pub trigger: String,
    pub actor: String,
    pub discrepancies: i64,
    pub fixes: i64,
}

/// Stores `report` as a new run and returns its number (the stored
/// report carries it when read back).
pub fn add<C: Sql>(c: &mut C, report: &Report) -> Result<i64, StoreError> {
    let json = serde_json::to_string(report).map_err(|e| StoreError::Corrupt {
        what: format!("a reconcile run's report: {e}"),
    })?;
    c.write_tx(move |c| {
        Ok(c.insert_reconcile_run(&NewReconcileRunRow {
            quarter: report.quarter.to_string(),
            as_of: to_db(report.as_of),
            complete: report.complete,
            ran_at: to_db(report.ran_at),
            trigger: report.trigger.as_str().to_string(),
            actor: report.actor.clone(),
            discrepancies: report.comparison.discrepancies.len() as i64,
            fixes: report.comparison.fixes.len() as i64,
            report: json,
        })?)
    })
}

/// The newest `limit` runs, newest first.
pub fn list<C: Sql>(c: &mut C, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
    Ok(c.reconcile_run_rows(limit as i64)?
        .into_iter()
        .map(|r| RunSummary {
            id: r.id,
            quarter: r.quarter,
            as_of: from_db(r.as_of),
            complete: r.complete,
            ran_at: from_db(r.ran_at),
            trigger: r.trigger,
            actor: r.actor,
            discrepancies: r.discrepancies,
            fixes: r.fixes,
        })
        .collect())
}

/// Run `id`'s report.
pub fn get<C: Sql>(c: &mut C, id: i64) -> Result<Report, StoreError> {
    let json = c.reconcile_report(id)?.ok_or(StoreError::NotFound {
        what: "reconciliation run",
        key: id.to_string(),
    })?;
    let mut report: Report = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
        what: format!("reconcile run {id}: {e}"),
    })?;
    report.id = id;
    Ok(report)
}
