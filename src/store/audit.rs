//! The audit trail: one row per registry change, written by the same
//! transaction as the change. Append-only (the database refuses updates
//! and deletes).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::convert::{from_db, to_db};
use super::rows::NewAuditRow;
use super::sql::{AuditQuery, Sql};
use super::{Change, StoreError};
use crate::registry::Warning;

/// One audit row, as shown by `siteward audit`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// When siteward recorded the change.
    pub at: DateTime<Utc>,
    /// When the change took effect (`--at`).
    pub effective_at: DateTime<Utc>,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub site_id: Option<i64>,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The reference (document number) or reason given.
    pub reason: Option<String>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A site key (id, code or host name): rows about it and its domains.
    pub site: Option<String>,
    /// An entity kind and id (`account`, 3).
    pub entity: Option<(String, i64)>,
    /// Only the latest N rows.
    pub last: Option<i64>,
}

/// What one audit row records.
pub struct Record<'a> {
    pub entity: &'a str,
    pub entity_id: i64,
    pub site_id: Option<i64>,
    pub action: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
    pub warnings: &'a [Warning],
}

/// An entity's state as the audit trail keeps it.
pub fn snapshot(value: &impl Serialize) -> Option<serde_json::Value> {
    // The registry's types serialise infallibly (no maps with non-string
    // keys, no failing Serialize impls).
    serde_json::to_value(value).ok()
}

pub fn write<C: Sql>(c: &mut C, change: &Change, record: Record<'_>) -> Result<(), StoreError> {
    let row = NewAuditRow {
        recorded_at: to_db(change.recorded_at),
        effective_at: to_db(change.effective_at),
        actor: change.actor.clone(),
        entity: record.entity.to_string(),
        entity_id: record.entity_id,
        site_id: record.site_id,
        action: record.action.to_string(),
        before_json: record.before.map(|v| v.to_string()),
        after_json: record.after.map(|v| v.to_string()),
        reason: record.reason.map(str::to_string),
        warnings: if record.warnings.is_empty() {
            None
        } else {
            serde_json::to_value(record.warnings)
                .ok()
                .map(|v| v.to_string())
        },
    };
    c.insert_audit(&row)?;
    Ok(())
}

pub fn list<C: Sql>(c: &mut C, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let site_id = match &filter.site {
        Some(key) => Some(super::sites::resolve(c, key)?),
        None => None,
    };
    let rows = c.audit_rows(&AuditQuery {
        site_id,
        entity: filter.entity.clone(),
        limit: None,
    })?;
    let skip = match filter.last {
        Some(last) => rows
            .len()
            .saturating_sub(usize::try_from(last).unwrap_or(0)),
        None => 0,
    };
    rows.into_iter()
        .skip(skip)
        .map(|row| {
            let parse = |text: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
                text.map(|t| serde_json::from_str(&t))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt {
                        what: format!("audit row {}: {e}", row.id),
                    })
            };
            Ok(AuditEntry {
                id: row.id,
                at: from_db(row.recorded_at),
                effective_at: from_db(row.effective_at),
                actor: row.actor.clone(),
                entity: row.entity.clone(),
                entity_id: row.entity_id,
                site_id: row.site_id,
                action: row.action.clone(),
                before: parse(row.before_json.clone())?,
                after: parse(row.after_json.clone())?,
                reason: row.reason.clone(),
                warnings: match &row.warnings {
                    Some(text) => serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
                        what: format!("audit row {}: {e}", row.id),
                    })?,
                    None => Vec::new(),
                },
            })
        })
        .collect()
}
