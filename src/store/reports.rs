//! Stored circulars: each one whole (as JSON) with its headline figures
//! beside it, listed newest first and read back by number. A stored
//! circular is never recomputed: a later correction of the registry
//! changes the next one, not this.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, to_db};
use super::rows::NewReportRunRow;
use super::sql::Sql;
use crate::report::Circular;

/// A stored circular, without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub id: i64,
    pub quarter: String,
    pub as_of: DateTime<Utc>,
    pub complete: bool,
    pub generated_at: DateTime<Utc>,
    pub trigger: String,
    pub actor: String,
    pub reconcile_run: Option<i64>,
    pub sites: i64,
    pub sites_failed: i64,
}

/// Stores `circular` with who asked for it and how; returns its number.
pub fn add<C: Sql>(
    c: &mut C,
    circular: &Circular,
    trigger: &str,
    actor: &str,
) -> Result<i64, StoreError> {
    let json = serde_json::to_string(circular).map_err(|e| StoreError::Corrupt {
        what: format!("a circular: {e}"),
    })?;
    c.write_tx(move |c| {
        Ok(c.insert_report_run(&NewReportRunRow {
            quarter: circular.quarter.to_string(),
            as_of: to_db(circular.as_of),
            complete: circular.complete,
            generated_at: to_db(circular.generated_at),
            trigger: trigger.to_string(),
            actor: actor.to_string(),
            reconcile_run: circular.reconcile_run,
            sites: circular.figures.sites as i64,
            sites_failed: circular.figures.sites_failed as i64,
            circular: json,
        })?)
    })
}

/// The newest `limit` circulars, newest first.
pub fn list<C: Sql>(c: &mut C, limit: usize) -> Result<Vec<ReportSummary>, StoreError> {
    Ok(c.report_run_rows(limit as i64)?
        .into_iter()
        .map(|r| ReportSummary {
            id: r.id,
            quarter: r.quarter,
            as_of: from_db(r.as_of),
            complete: r.complete,
            generated_at: from_db(r.generated_at),
            trigger: r.trigger,
            actor: r.actor,
            reconcile_run: r.reconcile_run,
            sites: r.sites,
            sites_failed: r.sites_failed,
        })
        .collect())
}

/// Circular `id`, as stored.
pub fn get<C: Sql>(c: &mut C, id: i64) -> Result<Circular, StoreError> {
    let json = c.report_circular(id)?.ok_or(StoreError::NotFound {
        what: "report",
        key: id.to_string(),
    })?;
    let mut circular: Circular = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
        what: format!("report {id}: {e}"),
    })?;
    circular.id = id;
    Ok(circular)
}
