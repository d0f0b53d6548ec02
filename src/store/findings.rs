//! Findings and discovered host names. The rules decide what
//! changes ([`crate::findings::plan`]); this module writes it, all of one
//! round's changes in one transaction.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, from_db_opt, to_db};
use super::rows::{
    DiscoveredRow, EventRow, FindingRow, NewDiscoveredRow, NewFindingRow, SeenAgainRow,
};
use super::sql::Sql;
use crate::findings::{
    Change, Current, EventKind, Evidence, Finding, FindingKind, FindingStatus, Severity,
};
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
    /// When it was confirmed open: its deadline counts from then.
    pub opened_at: Option<DateTime<Utc>>,
    /// When its organization was last told of it.
    pub notified_at: Option<DateTime<Utc>>,
    /// When it was told as overdue.
    pub overdue_at: Option<DateTime<Utc>>,
}

/// One event of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingEvent {
    pub at: DateTime<Utc>,
    pub change: EventKind,
    pub status: FindingStatus,
    pub severity: Severity,
    pub actor: Option<String>,
    pub note: Option<String>,
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

pub(super) fn from_row(row: FindingRow) -> Result<StoredFinding, StoreError> {
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
        opened_at: from_db_opt(row.opened_at),
        notified_at: from_db_opt(row.notified_at),
        overdue_at: from_db_opt(row.overdue_at),
    })
}

/// One finding with its events, oldest first.
pub fn with_events<C: Sql>(
    c: &mut C,
    id: i64,
) -> Result<(StoredFinding, Vec<FindingEvent>), StoreError> {
    let Some(row) = c.finding_row(id)? else {
        return Err(StoreError::NotFound {
            what: "finding",
            key: id.to_string(),
        });
    };
    let finding = from_row(row)?;
    let events = c
        .event_rows(id)?
        .into_iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((finding, events))
}

fn event_from_row(e: EventRow) -> Result<FindingEvent, StoreError> {
    let bad = |field: &str, value: &str| StoreError::Corrupt {
        what: format!("finding_events row {}: {field} `{value}`", e.id),
    };
    Ok(FindingEvent {
        at: from_db(e.at),
        change: e.change.parse().map_err(|_| bad("change", &e.change))?,
        status: e.status.parse().map_err(|_| bad("status", &e.status))?,
        severity: e
            .severity
            .parse()
            .map_err(|_| bad("severity", &e.severity))?,
        actor: e.actor,
        note: e.note,
    })
}

/// Every finding's events effective by `until`, oldest first, by
/// finding: a finding's life as it was known then.
pub fn events_until<C: Sql>(
    c: &mut C,
    until: DateTime<Utc>,
) -> Result<std::collections::HashMap<i64, Vec<FindingEvent>>, StoreError> {
    let mut out: std::collections::HashMap<i64, Vec<FindingEvent>> =
        std::collections::HashMap::new();
    for row in c.event_rows_until(to_db(until))? {
        let id = row.finding_id;
        out.entry(id).or_default().push(event_from_row(row)?);
    }
    Ok(out)
}

/// One page of findings as [`Sql::finding_page`] reads it: every filter
/// in the statement, so that a page costs the same whatever the table
/// holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingPageQuery {
    /// Any of these statuses (none: every status).
    pub statuses: Vec<FindingStatus>,
    pub kind: Option<FindingKind>,
    pub severity: Option<Severity>,
    pub site_id: Option<i64>,
    /// Only findings of these organizations (their own, or their site's
    /// when they have none); `None`: any, and those of none.
    pub orgs: Option<Vec<i64>>,
    /// Ids above this one.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

/// The findings `query` asks for, in id order.
pub fn page<C: Sql>(c: &mut C, query: &FindingPageQuery) -> Result<Vec<StoredFinding>, StoreError> {
    if query.orgs.as_ref().is_some_and(Vec::is_empty) || query.limit == 0 {
        return Ok(Vec::new());
    }
    let rows = if query.statuses.len() > 1 {
        // One statement per status, each walking `findings_status` in id
        // order, merged: an `IN` list of statuses would read and sort every
        // row of them to find the first page.
        let mut rows = Vec::new();
        for status in &query.statuses {
            rows.extend(c.finding_page(&FindingPageQuery {
                statuses: vec![*status],
                ..query.clone()
            })?);
        }
        rows.sort_unstable_by_key(|row| row.id);
        rows.truncate(query.limit);
        rows
    } else {
        c.finding_page(query)?
    };
    rows.into_iter().map(from_row).collect()
}

/// The names of what findings point at: each site's (name, identifier
/// code) and each organization's name, by id.
pub type FindingNames = (
    std::collections::HashMap<i64, (String, Option<String>)>,
    std::collections::HashMap<i64, String>,
);

/// The names of the sites and organizations of `findings`.
pub fn names_of<C: Sql>(c: &mut C, findings: &[StoredFinding]) -> Result<FindingNames, StoreError> {
    let mut site_ids: Vec<i64> = findings.iter().filter_map(|f| f.site_id).collect();
    site_ids.sort_unstable();
    site_ids.dedup();
    let mut org_ids: Vec<i64> = findings.iter().filter_map(|f| f.org_id).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let sites = c
        .site_names(&site_ids)?
        .into_iter()
        .map(|(id, name, code)| (id, (name, code)))
        .collect();
    let orgs = c
        .org_rows_with_ids(&org_ids)?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok((sites, orgs))
}

/// The organization finding `finding` belongs to: its own, or its site's.
pub fn owner<C: Sql>(c: &mut C, finding: &StoredFinding) -> Result<Option<i64>, StoreError> {
    match (finding.org_id, finding.site_id) {
        (Some(org), _) => Ok(Some(org)),
        (None, Some(site)) => Ok(c.site_org_id(site)?),
        (None, None) => Ok(None),
    }
}

/// Up to `limit` discovered host names after id `after`, in id order,
/// each with its id (the cursor of the next page).
pub fn discovered_page<C: Sql>(
    c: &mut C,
    after: Option<i64>,
    limit: usize,
) -> Result<Vec<(i64, Discovered)>, StoreError> {
    c.discovered_page(after, i64::try_from(limit).unwrap_or(i64::MAX))?
        .into_iter()
        .map(|row| Ok((row.id, discovered_from_row(row)?)))
        .collect()
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
    c.current_finding_rows()?
        .into_iter()
        .map(|row| {
            let parse = |field: &str, value: &str| corrupt(row.id, format!("{field} `{value}`"));
            Ok(Current {
                id: row.id,
                kind: FindingKind::from_str(&row.kind).map_err(|_| parse("kind", &row.kind))?,
                severity: Severity::from_str(&row.severity)
                    .map_err(|_| parse("severity", &row.severity))?,
                status: FindingStatus::from_str(&row.status)
                    .map_err(|_| parse("status", &row.status))?,
                org_id: row.org_id,
                acknowledged: row.ack_at.is_some(),
                confirmations: u32::try_from(row.confirmations).unwrap_or(u32::MAX),
                last_seen: from_db(row.last_seen),
                subject: row.subject,
                scope: row.scope,
            })
        })
        .collect()
}

fn evidence_json(finding: &Finding) -> Result<String, StoreError> {
    serde_json::to_string(&finding.evidence).map_err(|e| StoreError::Corrupt {
        what: format!("cannot serialise evidence: {e}"),
    })
}

/// A change of a finding as written: the event recorded, and what alert
/// planning needs to route it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Happened {
    pub finding_id: i64,
    pub change: EventKind,
    pub kind: FindingKind,
    pub severity: Severity,
    pub org_id: Option<i64>,
    /// Its status before (none for a new finding).
    pub was: Option<FindingStatus>,
}

/// Records one event of a finding.
pub fn record_event<C: Sql>(
    c: &mut C,
    finding_id: i64,
    change: EventKind,
    status: FindingStatus,
    severity: Severity,
    at: DateTime<Utc>,
    by: Option<(&str, &str)>,
) -> Result<(), StoreError> {
    c.insert_event(&EventRow {
        id: 0,
        finding_id,
        at: to_db(at),
        change: change.as_str().to_string(),
        status: status.as_str().to_string(),
        severity: severity.as_str().to_string(),
        actor: by.map(|(actor, _)| actor.to_string()),
        note: by.map(|(_, note)| note.to_string()),
    })?;
    Ok(())
}

/// Writes one round's changes, each with its events; returns what
/// happened, for alert planning in the same transaction.
pub fn apply<C: Sql>(
    c: &mut C,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<(ApplyStats, Vec<Happened>), StoreError> {
    let mut stats = ApplyStats::default();
    let mut happened = Vec::new();
    for change in changes {
        match change {
            Change::Insert {
                finding,
                status,
                confirmations,
            } => {
                let opened = (*status == FindingStatus::Open).then(|| to_db(finding.observed_at));
                let id = c.insert_finding(&NewFindingRow {
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
                    opened_at: opened,
                })?;
                let event = match status {
                    FindingStatus::Pending => EventKind::Detected,
                    FindingStatus::Open
                        if c.was_resolved(finding.kind.as_str(), &finding.subject)? =>
                    {
                        EventKind::Reopened
                    }
                    FindingStatus::Open => EventKind::Opened,
                    FindingStatus::Suppressed => EventKind::Suppressed,
                    FindingStatus::Acknowledged => EventKind::Acknowledged,
                    FindingStatus::Resolved => EventKind::Resolved,
                };
                record_event(c, id, event, *status, finding.severity, now, None)?;
                happened.push(Happened {
                    finding_id: id,
                    change: event,
                    kind: finding.kind,
                    severity: finding.severity,
                    org_id: finding.org_id,
                    was: None,
                });
                match status {
                    FindingStatus::Pending => stats.pending += 1,
                    FindingStatus::Open => stats.opened += 1,
                    _ => stats.unchanged += 1,
                }
            }
            Change::Update {
                was,
                finding,
                status,
                confirmations,
            } => {
                c.update_seen_finding(
                    was.id,
                    &SeenAgainRow {
                        severity: finding.severity.as_str(),
                        status: status.as_str(),
                        scope: &finding.scope,
                        site_id: finding.site_id,
                        org_id: finding.org_id,
                        summary: &finding.summary,
                        action: &finding.action,
                        evidence: evidence_json(finding)?,
                        confirmations: i64::from(*confirmations),
                        last_seen: to_db(was.last_seen.max(finding.observed_at)),
                    },
                )?;
                let mut events = Vec::new();
                if *status != was.status {
                    match status {
                        FindingStatus::Open => {
                            c.set_finding_opened(was.id, to_db(finding.observed_at))?;
                            events.push(EventKind::Opened);
                        }
                        FindingStatus::Suppressed => events.push(EventKind::Suppressed),
                        _ => {}
                    }
                }
                if finding.severity != was.severity {
                    events.push(EventKind::SeverityChanged);
                }
                for event in events {
                    record_event(c, was.id, event, *status, finding.severity, now, None)?;
                    happened.push(Happened {
                        finding_id: was.id,
                        change: event,
                        kind: finding.kind,
                        severity: finding.severity,
                        org_id: finding.org_id,
                        was: Some(was.status),
                    });
                }
                match status {
                    FindingStatus::Open if was.status != FindingStatus::Open => stats.opened += 1,
                    FindingStatus::Pending => stats.pending += 1,
                    _ => stats.unchanged += 1,
                }
            }
            Change::Resolve { was, at } => {
                c.resolve_finding(was.id, to_db(*at))?;
                record_event(
                    c,
                    was.id,
                    EventKind::Resolved,
                    FindingStatus::Resolved,
                    was.severity,
                    now,
                    None,
                )?;
                happened.push(Happened {
                    finding_id: was.id,
                    change: EventKind::Resolved,
                    kind: was.kind,
                    severity: was.severity,
                    org_id: was.org_id,
                    was: Some(was.status),
                });
                stats.resolved += 1;
            }
        }
    }
    Ok((stats, happened))
}

/// Acknowledges a finding that is open (or pending, or suppressed).
pub fn acknowledge<C: Sql>(
    c: &mut C,
    id: i64,
    change: &super::Change,
    note: &str,
) -> Result<StoredFinding, StoreError> {
    let (actor, at) = (change.actor.as_str(), change.effective_at);
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
    let before = serde_json::json!({
        "status": row.status,
        "ack_actor": row.ack_actor,
        "ack_note": row.ack_note,
    });
    row.status = FindingStatus::Acknowledged.as_str().to_string();
    row.ack_actor = Some(actor.to_string());
    row.ack_note = Some(note.to_string());
    row.ack_at = Some(to_db(at));
    c.update_finding(&row)?;
    let stored = from_row(row)?;
    record_event(
        c,
        id,
        EventKind::Acknowledged,
        FindingStatus::Acknowledged,
        stored.severity,
        at,
        Some((actor, note)),
    )?;
    // The earlier notes stay in the finding's events and here.
    super::audit::write(
        c,
        change,
        super::audit::Record {
            entity: "finding",
            entity_id: id,
            site_id: stored.site_id,
            action: "acknowledge",
            before: Some(before),
            after: Some(serde_json::json!({
                "status": FindingStatus::Acknowledged.as_str(),
                "ack_actor": actor,
                "ack_note": note,
            })),
            reason: Some(note),
            warnings: &[],
        },
    )?;
    Ok(stored)
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
        .map(discovered_from_row)
        .collect()
}

fn discovered_from_row(row: DiscoveredRow) -> Result<Discovered, StoreError> {
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
}

/// The name of the organization each of `findings` belongs to (its own,
/// or its site's when it names none), by finding id; a finding of
/// neither is absent.
pub fn owner_names<C: Sql>(
    c: &mut C,
    findings: &[StoredFinding],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let mut site_orgs: std::collections::HashMap<i64, Option<i64>> =
        std::collections::HashMap::new();
    for site in findings
        .iter()
        .filter(|f| f.org_id.is_none())
        .filter_map(|f| f.site_id)
    {
        if let std::collections::hash_map::Entry::Vacant(entry) = site_orgs.entry(site) {
            entry.insert(c.site_org_id(site)?);
        }
    }
    let owners: Vec<(i64, i64)> = findings
        .iter()
        .filter_map(|f| {
            f.org_id
                .or_else(|| f.site_id.and_then(|s| site_orgs.get(&s).copied().flatten()))
                .map(|org| (f.id, org))
        })
        .collect();
    let mut ids: Vec<i64> = owners.iter().map(|(_, org)| *org).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<i64, String> = c
        .org_rows_with_ids(&ids)?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok(owners
        .into_iter()
        .filter_map(|(finding, org)| names.get(&org).map(|name| (finding, name.clone())))
        .collect())
}
