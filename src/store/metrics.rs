//! What `/metrics` reads from the database when it is scraped: a handful
//! of aggregate queries in one read transaction, so that the figures of
//! one scrape agree with each other. The process's own counters are not
//! here (`api::metrics`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::StoreError;
use super::convert::{from_db, to_db};
use super::sql::Sql;
use crate::jobs::{Job, RunStatus};
use crate::probe::ObservationData;

/// The last probe cycle that went through to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteCycle {
    pub id: i64,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub hosts: u64,
    pub measurement_failures: u64,
}

/// The database's side of one scrape.
#[derive(Debug, Clone, Default)]
pub struct StoredMetrics {
    /// (site status, site kind, organization level) → sites.
    pub sites: BTreeMap<(String, String, String), u64>,
    /// (kind, severity, status) → findings not resolved.
    pub findings: BTreeMap<(String, String, String), u64>,
    /// Organization name → findings past their rectification deadline
    /// (`(none)` for findings of no organization).
    pub overdue: BTreeMap<String, u64>,
    /// (sink, status) → messages in the outbox.
    pub notifications: BTreeMap<(String, String), u64>,
    /// Sink → its last known health (`ok`, `limited`, `broken`).
    pub sink_states: BTreeMap<String, String>,
    pub last_cycle: Option<CompleteCycle>,
    /// (probe kind, outcome) → observations seen by the last complete
    /// cycle (stored or confirmed since it started).
    pub outcomes: BTreeMap<(String, String), u64>,
    /// Host name → the earliest expiry among the certificates its
    /// addresses presented, seen since `tls_since`.
    pub certificate_expiry: BTreeMap<String, DateTime<Utc>>,
}

/// The run statuses of a cycle that went through: it measured (or found
/// it could measure nothing) and judged.
pub const COMPLETE: [RunStatus; 2] = [RunStatus::Ok, RunStatus::MeasurementFailed];

/// The last complete probe cycle.
pub fn last_cycle<C: Sql>(c: &mut C) -> Result<Option<CompleteCycle>, StoreError> {
    let statuses: Vec<&str> = COMPLETE.iter().map(|s| s.as_str()).collect();
    let Some(row) = c.metric_last_run(Job::Probe.as_str(), &statuses)? else {
        return Ok(None);
    };
    Ok(Some(CompleteCycle {
        id: row.id,
        status: row.status.parse().map_err(|what| StoreError::Corrupt {
            what: format!("runs row {}: {what}", row.id),
        })?,
        started_at: from_db(row.started_at),
        finished_at: from_db(row.finished_at),
        hosts: row.hosts.max(0) as u64,
        measurement_failures: row.measurement_failures.max(0) as u64,
    }))
}

/// Reads every figure; TLS observations count when seen since
/// `tls_since` (the policy's freshness limit: an older one is not a fact).
pub fn read<C: Sql>(c: &mut C, tls_since: DateTime<Utc>) -> Result<StoredMetrics, StoreError> {
    let count = |n: i64| n.max(0) as u64;
    let mut out = StoredMetrics::default();
    let sites = c.metric_sites()?;
    let overdue = c.metric_overdue()?;
    // The organizations named, read once: (name, level) by id.
    let mut ids: Vec<i64> = sites
        .iter()
        .map(|(_, _, org, _)| *org)
        .chain(overdue.iter().filter_map(|(id, _)| *id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let orgs: BTreeMap<i64, (String, String)> = if ids.is_empty() {
        BTreeMap::new()
    } else {
        c.org_rows_with_ids(&ids)?
            .into_iter()
            .map(|o| (o.id, (o.name, o.level)))
            .collect()
    };
    for (status, kind, org, n) in sites {
        let level = orgs
            .get(&org)
            .map_or_else(|| "unknown".to_string(), |(_, level)| level.clone());
        *out.sites.entry((status, kind, level)).or_default() += count(n);
    }
    for (kind, severity, status, n) in c.metric_findings()? {
        out.findings.insert((kind, severity, status), count(n));
    }
    let names: BTreeMap<i64, String> = orgs.into_iter().map(|(id, (name, _))| (id, name)).collect();
    for (org, n) in overdue {
        let name = match org {
            Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            None => "(none)".to_string(),
        };
        *out.overdue.entry(name).or_default() += count(n);
    }
    for (sink, status, n) in c.metric_notifications()? {
        out.notifications.insert((sink, status), count(n));
    }
    out.sink_states = c.metric_sink_states()?.into_iter().collect();
    out.last_cycle = last_cycle(c)?;
    if let Some(cycle) = &out.last_cycle {
        for (kind, outcome, n) in c.metric_outcomes(to_db(cycle.started_at))? {
            *out.outcomes.entry((kind, outcome)).or_default() += count(n);
        }
    }
    for (host, data) in c.metric_tls(to_db(tls_since))? {
        // A stored form this version cannot read is left out of a gauge,
        // not an error of the scrape.
        let Ok(ObservationData::Tls(tls)) = serde_json::from_str::<ObservationData>(&data) else {
            continue;
        };
        let Some(leaf) = tls.chain.first() else {
            continue;
        };
        out.certificate_expiry
            .entry(host)
            .and_modify(|at| *at = (*at).min(leaf.not_after))
            .or_insert(leaf.not_after);
    }
    Ok(out)
}
