//! History written as if it had been recorded over time: page visits as
//! the store keeps them (a stretch of one outcome), findings with their
//! events, and check runs. The benchmark uses it to give a registry a
//! quarter of history in seconds instead of a quarter; nothing else
//! writes through it.

use chrono::{DateTime, Duration, Utc};

use super::StoreError;
use super::convert::to_db;
use super::rows::{EventRow, NewFindingRow, NewObservationRow};
use super::sql::Sql;
use crate::findings::{EventKind, FindingKind, FindingStatus, Severity};

/// A stretch of page visits of one host name with one outcome.
#[derive(Debug, Clone)]
pub struct PlantedVisits {
    pub hostname: String,
    pub address: String,
    pub loaded: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub visits: u64,
}

/// A finding detected, opened and perhaps resolved at given times.
#[derive(Debug, Clone)]
pub struct PlantedFinding {
    pub kind: FindingKind,
    pub subject: String,
    pub scope: String,
    pub severity: Severity,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub summary: String,
    pub opened: DateTime<Utc>,
    pub resolved: Option<DateTime<Utc>>,
}

/// A visit's page in its stored form, as the page probe would have
/// stored it: a homepage that loaded, or one that did not within the
/// deadline. Every page a person may open reads it back.
fn stored_page(visit: &PlantedVisits) -> Result<String, StoreError> {
    use crate::probe::ObservationData;
    use crate::probe::http::{Hop, PageOutcome};
    use crate::probe::page::Page;
    let host: crate::registry::Hostname =
        visit
            .hostname
            .parse()
            .map_err(|e: crate::registry::Invalid| StoreError::Corrupt {
                what: format!("a planted visit's host name: {e}"),
            })?;
    let url = format!("https://{host}/");
    let outcome = if visit.loaded {
        PageOutcome::Loaded {
            status: 200,
            final_url: url.clone(),
            hops: vec![Hop { url, status: 200 }],
            redirected_to: None,
            body_bytes: 20_480,
            truncated: false,
            page: Box::new(Page {
                encoding: "utf-8".into(),
                ..Page::default()
            }),
            server: None,
            takeover: Vec::new(),
            elapsed_ms: 0,
        }
    } else {
        PageOutcome::Timeout { after_ms: 10_000 }
    };
    serde_json::to_string(&ObservationData::Page(outcome).stored(&host)).map_err(|e| {
        StoreError::Corrupt {
            what: format!("cannot serialise a planted page: {e}"),
        }
    })
}

/// Writes `visits`, `findings` and `runs` in one transaction.
pub fn plant<C: Sql>(
    c: &mut C,
    visits: &[PlantedVisits],
    findings: &[PlantedFinding],
    runs: &[super::Run],
) -> Result<(), StoreError> {
    c.write_tx(|c| {
        for run in runs {
            super::runs::insert(c, run)?;
        }
        for v in visits {
            c.insert_observation(&NewObservationRow {
                hostname: v.hostname.clone(),
                kind: "page".into(),
                address: v.address.clone(),
                outcome: if v.loaded { "loaded" } else { "timeout" }.into(),
                data: stored_page(v)?,
                first_seen: to_db(v.first_seen),
                last_seen: to_db(v.last_seen),
                seen_count: i64::try_from(v.visits).unwrap_or(i64::MAX),
                schema: super::observations::SCHEMA,
            })?;
        }
        for f in findings {
            let detected = f.opened - Duration::minutes(15);
            let status = if f.resolved.is_some() {
                FindingStatus::Resolved
            } else {
                FindingStatus::Open
            };
            let id = c.insert_finding(&NewFindingRow {
                kind: f.kind.as_str().into(),
                subject: f.subject.clone(),
                scope: f.scope.clone(),
                severity: f.severity.as_str().into(),
                status: status.as_str().into(),
                site_id: f.site_id,
                org_id: f.org_id,
                summary: f.summary.clone(),
                action: crate::findings::text::action(f.kind).into(),
                evidence: "[]".into(),
                confirmations: 2,
                first_seen: to_db(detected),
                last_seen: to_db(f.resolved.unwrap_or(f.opened)),
                opened_at: Some(to_db(f.opened)),
            })?;
            if let Some(at) = f.resolved {
                c.resolve_finding(id, to_db(at))?;
            }
            let mut events = vec![
                (detected, EventKind::Detected, FindingStatus::Pending),
                (f.opened, EventKind::Opened, FindingStatus::Open),
            ];
            if let Some(at) = f.resolved {
                events.push((at, EventKind::Resolved, FindingStatus::Resolved));
            }
            for (at, change, status) in events {
                c.insert_event(&EventRow {
                    id: 0,
                    finding_id: id,
                    at: to_db(at),
                    change: change.as_str().into(),
                    status: status.as_str().into(),
                    severity: f.severity.as_str().into(),
                    actor: None,
                    note: None,
                })?;
            }
        }
        Ok(())
    })
}
