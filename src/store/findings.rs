//! Findings and discovered host names. The rules decide what
//! changes ([`crate::findings::plan`]); this module writes it, all of one
//! round's changes in one transaction.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, from_db_opt, to_db};
use super::rows::{DiscoveredRow, FindingRow, NewDiscoveredRow, NewFindingRow};
use super::sql::Sql;
use crate::findings::{Change, Current, Evidence, Finding, FindingKind, FindingStatus, Severity};
use crate::registry::Hostname;

/// A finding as the store holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFinding {
    pub id: i64,
    pub kind: FindingKind,
    pub severity: Severity,
    pub status: FindingStatus,
    pub subject: String,
    pub scope: String,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub summary: String,
    pub action: String,
    pub evidence: Vec<Evidence>,
    pub confirmations: u32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub ack_actor: Option<String>,
    pub ack_note: Option<String>,
    pub ack_at: Option<DateTime<Utc>>,
}

/// What applying one round's changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyStats {
    /// Findings that became open (new, or confirmed this round).
    pub opened: usize,
    pub pending: usize,
    pub resolved: usize,
    pub unchanged: usize,
}

/// A host name learnt from outside the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovered {
    pub hostname: Hostname,
    pub source: crate::probe::zone::DiscoverySource,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

fn corrupt(id: i64, what: String) -> StoreError {
    StoreError::Corrupt {
        what: format!("findings row {id}: {what}"),
    }
}

fn from_row(row: FindingRow) -> Result<StoredFinding, StoreError> {
    let parse = |field: &str, value: &str| corrupt(row.id, format!("{field} `{value}`"));
    Ok(StoredFinding {
        id: row.id,
        kind: FindingKind::from_str(&row.kind).map_err(|_| parse("kind", &row.kind))?,
        severity: Severity::from_str(&row.severity)
            .map_err(|_| parse("severity", &row.severity))?,
        status: FindingStatus::from_str(&row.status).map_err(|_| parse("status", &row.status))?,
        evidence: serde_json::from_str(&row.evidence)
            .map_err(|e| corrupt(row.id, format!("evidence: {e}")))?,
        subject: row.subject,
        scope: row.scope,
        site_id: row.site_id,
        org_id: row.org_id,
        summary: row.summary,
        action: row.action,
        confirmations: u32::try_from(row.confirmations).unwrap_or(u32::MAX),
        first_seen: from_db(row.first_seen),
        last_seen: from_db(row.last_seen),
        resolved_at: from_db_opt(row.resolved_at),
        ack_actor: row.ack_actor,
        ack_note: row.ack_note,
        ack_at: from_db_opt(row.ack_at),
    })
}

/// Findings with one of `statuses` (every finding when empty).
pub fn list<C: Sql>(
    c: &mut C,
    statuses: &[FindingStatus],
) -> Result<Vec<StoredFinding>, StoreError> {
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    c.finding_rows(&statuses)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The findings that are not resolved, as the confirmation plan reads them.
pub fn current<C: Sql>(c: &mut C) -> Result<Vec<Current>, StoreError> {
    Ok(list(
        c,
        &[
            FindingStatus::Pending,
            FindingStatus::Open,
            FindingStatus::Acknowledged,
            FindingStatus::Suppressed,
        ],
    )?
    .into_iter()
    .map(|f| Current {
        id: f.id,
        kind: f.kind,
        subject: f.subject,
        scope: f.scope,
        status: f.status,
        acknowledged: f.ack_at.is_some(),
        confirmations: f.confirmations,
        last_seen: f.last_seen,
    })
    .collect())
}

fn evidence_json(finding: &Finding) -> Result<String, StoreError> {
    serde_json::to_string(&finding.evidence).map_err(|e| StoreError::Corrupt {
        what: format!("cannot serialise evidence: {e}"),
    })
}

/// Writes one round's changes.
pub fn apply<C: Sql>(c: &mut C, changes: &[Change]) -> Result<ApplyStats, StoreError> {
    let mut stats = ApplyStats::default();
    for change in changes {
        match change {
            Change::Insert {
                finding,
                status,
                confirmations,
            } => {
                c.insert_finding(&NewFindingRow {
                    kind: finding.kind.as_str().to_string(),
                    subject: finding.subject.clone(),
                    scope: finding.scope.clone(),
                    severity: finding.severity.as_str().to_string(),
                    status: status.as_str().to_string(),
                    site_id: finding.site_id,
                    org_id: finding.org_id,
                    summary: finding.summary.clone(),
                    action: finding.action.clone(),
                    evidence: evidence_json(finding)?,
                    confirmations: i64::from(*confirmations),
                    first_seen: to_db(finding.observed_at),
                    last_seen: to_db(finding.observed_at),
                })?;
                match status {
                    FindingStatus::Pending => stats.pending += 1,
                    FindingStatus::Open => stats.opened += 1,
                    _ => stats.unchanged += 1,
                }
            }
            Change::Update {
                id,
                finding,
                status,
                confirmations,
            } => {
                let Some(mut row) = c.finding_row(*id)? else {
                    continue;
                };
                let was = row.status.clone();
                row.severity = finding.severity.as_str().to_string();
                row.status = status.as_str().to_string();
                row.scope = finding.scope.clone();
                row.site_id = finding.site_id;
                row.org_id = finding.org_id;
                row.summary = finding.summary.clone();
                row.action = finding.action.clone();
                row.evidence = evidence_json(finding)?;
                row.confirmations = i64::from(*confirmations);
                row.last_seen = row.last_seen.max(to_db(finding.observed_at));
                c.update_finding(&row)?;
                match status {
                    FindingStatus::Open if was != FindingStatus::Open.as_str() => stats.opened += 1,
                    FindingStatus::Pending => stats.pending += 1,
                    _ => stats.unchanged += 1,
                }
            }
            Change::Resolve { id, at } => {
                let Some(mut row) = c.finding_row(*id)? else {
                    continue;
                };
                row.status = FindingStatus::Resolved.as_str().to_string();
                row.resolved_at = Some(to_db(*at));
                c.update_finding(&row)?;
                stats.resolved += 1;
            }
        }
    }
    Ok(stats)
}

/// Acknowledges a finding that is open (or pending, or suppressed).
pub fn acknowledge<C: Sql>(
    c: &mut C,
    id: i64,
    actor: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<StoredFinding, StoreError> {
    let Some(mut row) = c.finding_row(id)? else {
        return Err(StoreError::NotFound {
            what: "finding",
            key: id.to_string(),
        });
    };
    if row.status == FindingStatus::Resolved.as_str() {
        return Err(crate::registry::Invalid::new(
            "finding",
            &id.to_string(),
            "is resolved: there is nothing to acknowledge",
        )
        .into());
    }
    row.status = FindingStatus::Acknowledged.as_str().to_string();
    row.ack_actor = Some(actor.to_string());
    row.ack_note = Some(note.to_string());
    row.ack_at = Some(to_db(at));
    c.update_finding(&row)?;
    from_row(row)
}

/// Records host names learnt from `source`; returns how many were new.
pub fn discover<C: Sql>(
    c: &mut C,
    hosts: &[Hostname],
    source: &crate::probe::zone::DiscoverySource,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut added = 0;
    for host in hosts {
        if c.upsert_discovered(&NewDiscoveredRow {
            hostname: host.as_str().to_string(),
            source: source.to_string(),
            first_seen: to_db(at),
            last_seen: to_db(at),
        })? {
            added += 1;
        }
    }
    Ok(added)
}

pub fn discovered<C: Sql>(c: &mut C) -> Result<Vec<Discovered>, StoreError> {
    c.discovered_rows()?
        .into_iter()
        .map(|row: DiscoveredRow| {
            Ok(Discovered {
                hostname: row
                    .hostname
                    .parse()
                    .map_err(|e: crate::registry::Invalid| StoreError::Corrupt {
                        what: format!("discovered_hosts row {}: {e}", row.id),
                    })?,
                source: row
                    .source
                    .parse()
                    .map_err(|e: String| StoreError::Corrupt {
                        what: format!("discovered_hosts row {}: {e}", row.id),
                    })?,
                first_seen: from_db(row.first_seen),
                last_seen: from_db(row.last_seen),
            })
        })
        .collect()
}
