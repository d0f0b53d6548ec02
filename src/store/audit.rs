//! The audit trail: one row per registry change, written by the same
//! transaction as the change. Append-only (the database refuses updates,
//! deletes and TRUNCATE) and tamper-evident: each row carries the SHA-256
//! of its content and of the row before it, one chain over the whole
//! table in insertion order, and each row about a tracked entity (a site
//! with its host names, an organization with its contacts, an account, an
//! exception) carries that entity's whole state after the change, as
//! its rows read. [`verify`] walks the chain and compares every tracked
//! entity with its last audited state.
//!
//! What this proves: that nobody changed, removed or re-ordered audit
//! rows, or changed a tracked entity, without siteward, since the head
//! last verified. What it does not: the chain has no secret, so whoever
//! can write the database can also recompute every hash after a change;
//! an office that writes the head hash down (the daily `audit` run logs
//! it) can tell such a rewrite from the real history.

use chrono::{DateTime, Utc};
use serde::Serialize;

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDateTime, SubsecRound};

use super::convert::{from_db, to_db};
use super::rows::{AuditRow, NewAuditRow};
use super::sql::{AuditQuery, Sql};
use super::{Change, StoreError};
use crate::registry::Warning;
use crate::registry::integrity::{
    Break, BreakKind, Entity, EntityKind, Head, Verification, differences_of_texts,
};

/// One audit row, as shown by `siteward audit`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// When siteward recorded the change.
    pub at: DateTime<Utc>,
    /// When the change took effect (`--at`).
    pub effective_at: DateTime<Utc>,
    pub actor: String,
    /// Where the actor's name came from, when known.
    pub actor_source: Option<String>,
    pub entity: String,
    pub entity_id: i64,
    pub site_id: Option<i64>,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The reference (document number) or reason given.
    pub reason: Option<String>,
    pub warnings: Vec<Warning>,
    /// What changed, field by field, when both states are recorded.
    pub changes: Vec<crate::registry::integrity::Difference>,
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
    let mut value = serde_json::to_value(value).ok()?;
    hide_secrets(&mut value);
    Some(value)
}

/// Replaces every webhook URL in an audited state (an organization's
/// `webhooks`, a contact of kind `webhook`) by its masked form and a
/// digest: a robot's key or token is a credential, and the audit trail is
/// read by everyone who may read the registry. The digest still shows
/// that a webhook changed. Idempotent, so that states audited before
/// webhooks were hidden compare equal to today's once hidden too.
fn hide_secrets(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if map.get("kind").and_then(Value::as_str) == Some("webhook")
                && let Some(Value::String(url)) = map.get_mut("value")
            {
                *url = hidden_url(url);
            }
            if let Some(Value::Array(urls)) = map.get_mut("webhooks") {
                for url in urls {
                    if let Value::String(text) = url {
                        *text = hidden_url(text);
                    }
                }
            }
            for (key, inner) in map.iter_mut() {
                if key != "webhooks" {
                    hide_secrets(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(hide_secrets),
        _ => {}
    }
}

const HIDDEN_MARK: &str = " (SHA-256 ";

fn hidden_url(url: &str) -> String {
    if url.contains(HIDDEN_MARK) {
        return url.to_string();
    }
    let digest = sha256(url.as_bytes());
    format!(
        "{}{HIDDEN_MARK}{})",
        crate::alerts::mask_url(url),
        &digest[..12]
    )
}

/// A stored state with its secrets hidden, as [`state`] now writes it: a
/// state audited before webhooks were hidden is read through this.
fn hidden_state(entity: Entity, state: &str) -> std::borrow::Cow<'_, str> {
    if entity.kind != EntityKind::Org || !state.contains("webhook") {
        return std::borrow::Cow::Borrowed(state);
    }
    match serde_json::from_str::<serde_json::Value>(state) {
        Ok(mut value) => {
            hide_secrets(&mut value);
            std::borrow::Cow::Owned(value.to_string())
        }
        Err(_) => std::borrow::Cow::Borrowed(state),
    }
}

pub fn write<C: Sql>(c: &mut C, change: &Change, record: Record<'_>) -> Result<(), StoreError> {
    // The change is written first; the state is read back as the rows now
    // hold it, which is what `verify` will read.
    let state = match Entity::of(record.entity, record.entity_id) {
        Some(entity) => state(c, entity)?,
        None => None,
    };
    append(c, vec![unsealed(change, record, state)])
}

/// Audit rows for changes already written, with each entity's state as
/// its rows now hold it (as [`write`] would read it back, given by a
/// caller that has those rows in hand: an import's inserted rows, from
/// `RETURNING`). One chain lock, one tail read and multi-row inserts for
/// the lot, instead of a state read, a tail read and an insert per row;
/// the rows and their hashes are the ones [`write`] would have written,
/// one by one, in this order.
pub fn write_all<C: Sql>(
    c: &mut C,
    change: &Change,
    records: Vec<(Record<'_>, Option<String>)>,
) -> Result<(), StoreError> {
    let rows = records
        .into_iter()
        .map(|(record, state)| unsealed(change, record, state))
        .collect();
    append(c, rows)
}

/// One audit row without its hashes.
fn unsealed(change: &Change, record: Record<'_>, state: Option<String>) -> NewAuditRow {
    // Times as the database will give them back (PostgreSQL keeps
    // microseconds), so that the hash computed now is the one verified.
    NewAuditRow {
        recorded_at: to_db(change.recorded_at).trunc_subsecs(6),
        effective_at: to_db(change.effective_at).trunc_subsecs(6),
        actor: change.actor.clone(),
        entity: record.entity.to_string(),
        entity_id: record.entity_id,
        site_id: record.site_id,
        action: record.action.to_string(),
        before_json: record.before.map(|v| v.to_string()),
        after_json: record.after.map(|v| v.to_string()),
        reason: record
            .reason
            .map(str::to_string)
            .or_else(|| change.source.clone()),
        warnings: if record.warnings.is_empty() {
            None
        } else {
            serde_json::to_value(record.warnings)
                .ok()
                .map(|v| v.to_string())
        },
        state_json: state,
        prev_hash: None,
        row_hash: None,
        actor_source: change.actor_source.clone(),
    }
}

/// Chains `rows` onto the trail's tail, under the chain's lock (held to
/// the transaction's end), and inserts them.
fn append<C: Sql>(c: &mut C, mut rows: Vec<NewAuditRow>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    c.serialise_audit()?;
    let mut prev_hash = match c.audit_tail()? {
        Some(Some(hash)) => hash,
        // An empty trail, or a tail row written without siteward (which
        // `verify` reports itself): the chain starts again.
        _ => GENESIS.to_string(),
    };
    for row in &mut rows {
        let hash = row_hash(&Content::of_new(row), &prev_hash);
        row.prev_hash = Some(std::mem::replace(&mut prev_hash, hash.clone()));
        row.row_hash = Some(hash);
    }
    match rows.as_slice() {
        // One row: the statement diesel keeps prepared.
        [row] => c.insert_audit(row)?,
        rows => c.insert_audits(rows)?,
    }
    Ok(())
}

/// The `prev_hash` of the chain's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed content of one audit row, whichever way it was read.
struct Content<'a> {
    recorded_at: NaiveDateTime,
    effective_at: NaiveDateTime,
    actor: &'a str,
    entity: &'a str,
    entity_id: i64,
    site_id: Option<i64>,
    action: &'a str,
    before_json: Option<&'a str>,
    after_json: Option<&'a str>,
    reason: Option<&'a str>,
    warnings: Option<&'a str>,
    state_json: Option<&'a str>,
    actor_source: Option<&'a str>,
}

impl<'a> Content<'a> {
    fn of_new(row: &'a NewAuditRow) -> Content<'a> {
        Content {
            recorded_at: row.recorded_at,
            effective_at: row.effective_at,
            actor: &row.actor,
            entity: &row.entity,
            entity_id: row.entity_id,
            site_id: row.site_id,
            action: &row.action,
            before_json: row.before_json.as_deref(),
            after_json: row.after_json.as_deref(),
            reason: row.reason.as_deref(),
            warnings: row.warnings.as_deref(),
            state_json: row.state_json.as_deref(),
            actor_source: row.actor_source.as_deref(),
        }
    }

    fn of_stored(row: &'a AuditRow) -> Content<'a> {
        Content {
            recorded_at: row.recorded_at,
            effective_at: row.effective_at,
            actor: &row.actor,
            entity: &row.entity,
            entity_id: row.entity_id,
            site_id: row.site_id,
            action: &row.action,
            before_json: row.before_json.as_deref(),
            after_json: row.after_json.as_deref(),
            reason: row.reason.as_deref(),
            warnings: row.warnings.as_deref(),
            state_json: row.state_json.as_deref(),
            actor_source: row.actor_source.as_deref(),
        }
    }
}

/// SHA-256 (hex) over the row's content and the previous row's hash, as
/// one JSON array: unambiguous whatever the texts hold.
fn row_hash(content: &Content<'_>, prev_hash: &str) -> String {
    let time = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let canonical = serde_json::json!([
        time(content.recorded_at),
        time(content.effective_at),
        content.actor,
        content.entity,
        content.entity_id,
        content.site_id,
        content.action,
        content.before_json,
        content.after_json,
        content.reason,
        content.warnings,
        content.state_json,
        content.actor_source,
        prev_hash,
    ])
    .to_string();
    sha256(canonical.as_bytes())
}

fn sha256(bytes: &[u8]) -> String {
    crate::probe::http::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// An entity's state as its rows hold it now; `None` when it has no row.
fn state<C: Sql>(c: &mut C, entity: Entity) -> Result<Option<String>, StoreError> {
    let id = entity.id;
    Ok(match entity.kind {
        EntityKind::Site => match c.site_row(id)? {
            Some(site) => {
                let domains = c.domain_rows(Some(&[id]))?;
                Some(site_state(&site, domains.iter().collect()))
            }
            None => None,
        },
        EntityKind::Org => {
            let org = c.org_rows_with_ids(&[id])?;
            match org.first() {
                Some(org) => {
                    let contacts = c.contact_rows(Some(id))?;
                    Some(org_state(org, contacts.iter().collect()))
                }
                None => None,
            }
        }
        EntityKind::Account => c.account_rows(Some(&[id]))?.first().map(json_text),
        EntityKind::Exception => c.exception_row(id)?.as_ref().map(json_text),
    })
}

fn entity(kind: EntityKind, id: i64) -> Entity {
    Entity { kind, id }
}

fn json_text(value: &impl Serialize) -> String {
    // Rows serialise infallibly (strings, numbers, times).
    serde_json::to_string(value).unwrap_or_default()
}

/// A site's state: its row and its host names' rows, in id order.
pub(super) fn site_state(
    site: &super::rows::SiteRow,
    mut domains: Vec<&super::rows::DomainRow>,
) -> String {
    domains.sort_by_key(|d| d.id);
    json_text(&serde_json::json!({ "site": site, "domains": domains }))
}

/// An organization's state: its row and its contacts' rows, in id order.
pub(super) fn org_state(
    org: &super::rows::OrgRow,
    mut contacts: Vec<&super::rows::ContactRow>,
) -> String {
    contacts.sort_by_key(|c| c.id);
    let mut state = serde_json::json!({ "org": org, "contacts": contacts });
    hide_secrets(&mut state);
    state.to_string()
}

/// Every tracked entity's current state.
fn current_states<C: Sql>(c: &mut C) -> Result<BTreeMap<Entity, String>, StoreError> {
    let mut states = BTreeMap::new();
    let mut domains: HashMap<i64, Vec<super::rows::DomainRow>> = HashMap::new();
    for domain in c.domain_rows(None)? {
        domains.entry(domain.site_id).or_default().push(domain);
    }
    for site in c.site_rows(None)? {
        let held = domains
            .get(&site.id)
            .map(|d| d.iter().collect())
            .unwrap_or_default();
        states.insert(entity(EntityKind::Site, site.id), site_state(&site, held));
    }
    let mut contacts: HashMap<i64, Vec<super::rows::ContactRow>> = HashMap::new();
    for contact in c.contact_rows(None)? {
        contacts.entry(contact.org_id).or_default().push(contact);
    }
    for org in c.org_rows()? {
        let held = contacts
            .get(&org.id)
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        states.insert(entity(EntityKind::Org, org.id), org_state(&org, held));
    }
    for account in c.account_rows(None)? {
        states.insert(entity(EntityKind::Account, account.id), json_text(&account));
    }
    for exception in c.exception_rows(None, None)? {
        states.insert(
            entity(EntityKind::Exception, exception.id),
            json_text(&exception),
        );
    }
    Ok(states)
}

/// Fills in the hashes of the rows written before the chain existed, in
/// id order, then records every tracked entity's current state as the
/// chain's starting point (action `chain-start`). Run once, right after
/// the migration that added the chain.
pub fn seal_legacy<C: Sql>(c: &mut C) -> Result<usize, StoreError> {
    c.serialise_audit()?;
    let mut prev = GENESIS.to_string();
    let mut sealed = 0;
    let mut after = 0;
    loop {
        let page = c.audit_page(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in &page {
            let hash = row_hash(&Content::of_stored(row), &prev);
            c.seal_audit_row(row.id, &prev, &hash)?;
            prev = hash;
            sealed += 1;
        }
    }
    if sealed == 0 {
        return Ok(0);
    }
    let change = Change::now("siteward").via("siteward");
    for (entity, _) in current_states(c)? {
        write(
            c,
            &change,
            Record {
                entity: entity.kind.as_str(),
                entity_id: entity.id,
                site_id: (entity.kind == EntityKind::Site).then_some(entity.id),
                action: "chain-start",
                before: None,
                after: None,
                reason: Some("the audit trail became hash-chained"),
                warnings: &[],
            },
        )?;
    }
    Ok(sealed)
}

/// Audit rows read at a time by [`verify`] and [`seal_legacy`].
const PAGE: i64 = 2_000;

/// Walks the whole chain, then compares every tracked entity's rows with
/// its last audited state. Reads in pages: memory grows with the number
/// of entities, not of audit rows.
pub fn verify<C: Sql>(c: &mut C) -> Result<Verification, StoreError> {
    let mut breaks = Vec::new();
    let mut expected_prev = GENESIS.to_string();
    let mut rows = 0u64;
    let mut head = None;
    // Each tracked entity's last audited state: its row and the state's
    // digest (the text itself is read again only for an entity that
    // differs).
    let mut last: HashMap<Entity, (i64, String)> = HashMap::new();
    let mut after = 0;
    loop {
        let page = c.audit_page(after, PAGE)?;
        let Some(tail) = page.last() else { break };
        after = tail.id;
        for row in &page {
            rows += 1;
            let at = |kind| Break {
                row: Some(row.id),
                entity: None,
                kind,
                differences: Vec::new(),
            };
            match (&row.prev_hash, &row.row_hash) {
                (Some(prev), Some(hash)) => {
                    if *prev != expected_prev {
                        breaks.push(at(BreakKind::LinkBroken));
                    }
                    if row_hash(&Content::of_stored(row), prev) != *hash {
                        breaks.push(at(BreakKind::RowChanged));
                    }
                    expected_prev = hash.clone();
                    head = Some(Head {
                        row: row.id,
                        hash: hash.clone(),
                    });
                }
                _ => {
                    breaks.push(at(BreakKind::Unsealed));
                    expected_prev = GENESIS.to_string();
                }
            }
            if let (Some(entity), Some(state)) =
                (Entity::of(&row.entity, row.entity_id), &row.state_json)
            {
                last.insert(
                    entity,
                    (row.id, sha256(hidden_state(entity, state).as_bytes())),
                );
            }
        }
    }
    let current = current_states(c)?;
    let entities = current.len() as u64;
    for (entity, state) in &current {
        match last.remove(entity) {
            None => breaks.push(Break {
                row: None,
                entity: Some(*entity),
                kind: BreakKind::NotAudited,
                differences: Vec::new(),
            }),
            Some((row, digest)) if digest != sha256(state.as_bytes()) => {
                let audited = c
                    .audit_row(row)?
                    .and_then(|r| r.state_json)
                    .unwrap_or_default();
                breaks.push(Break {
                    row: Some(row),
                    entity: Some(*entity),
                    kind: BreakKind::StateDiffers,
                    differences: differences_of_texts(&hidden_state(*entity, &audited), state),
                });
            }
            Some(_) => {}
        }
    }
    let mut missing: Vec<_> = last.into_iter().collect();
    missing.sort();
    for (entity, (row, _)) in missing {
        breaks.push(Break {
            row: Some(row),
            entity: Some(entity),
            kind: BreakKind::Missing,
            differences: Vec::new(),
        });
    }
    Ok(Verification {
        rows,
        head,
        entities,
        breaks,
    })
}

pub fn list<C: Sql>(c: &mut C, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    // A code or host name reused after a site closed: the rows of every
    // site that held it, each under its own entity id.
    let site_ids = match &filter.site {
        Some(key) => super::sites::resolve_all(c, key)?,
        None => Vec::new(),
    };
    let rows = c.audit_rows(&AuditQuery {
        site_ids,
        entity: filter.entity.clone(),
        limit: None,
    })?;
    let skip = match filter.last {
        Some(last) => rows
            .len()
            .saturating_sub(usize::try_from(last).unwrap_or(0)),
        None => 0,
    };
    rows.into_iter().skip(skip).map(entry).collect()
}

/// An audit row as read: its states parsed (webhooks hidden, also in
/// rows written before they were), what changed field by field.
pub(super) fn entry(row: super::rows::AuditRow) -> Result<AuditEntry, StoreError> {
    let parse = |text: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
        let mut value: Option<serde_json::Value> = text
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                what: format!("audit row {}: {e}", row.id),
            })?;
        // Rows written before webhooks were hidden show hidden too.
        if let Some(value) = &mut value {
            hide_secrets(value);
        }
        Ok(value)
    };
    let (before, after) = (
        parse(row.before_json.clone())?,
        parse(row.after_json.clone())?,
    );
    let changes = match (&before, &after) {
        (Some(before), Some(after)) => crate::registry::integrity::differences(before, after),
        _ => Vec::new(),
    };
    Ok(AuditEntry {
        changes,
        id: row.id,
        at: from_db(row.recorded_at),
        effective_at: from_db(row.effective_at),
        actor: row.actor.clone(),
        actor_source: row.actor_source.clone(),
        entity: row.entity.clone(),
        entity_id: row.entity_id,
        site_id: row.site_id,
        action: row.action.clone(),
        before,
        after,
        reason: row.reason.clone(),
        warnings: match &row.warnings {
            Some(text) => serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
                what: format!("audit row {}: {e}", row.id),
            })?,
            None => Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

    #[test]
    fn webhook_secrets_are_hidden_and_hiding_is_idempotent() {
        let url = format!("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}");
        let raw = serde_json::json!({
            "contacts": [{"id": 1, "kind": "webhook", "org_id": 1, "value": url},
                         {"id": 2, "kind": "email", "org_id": 1, "value": "a@b.gov.cn"}],
            "org": {"id": 1, "name": "某局"},
        })
        .to_string();
        let entity = Entity {
            kind: EntityKind::Org,
            id: 1,
        };
        let hidden = hidden_state(entity, &raw).into_owned();
        assert!(!hidden.contains(KEY), "{hidden}");
        assert!(
            hidden.contains("https://qyapi.weixin.qq.com/…?… (SHA-256 "),
            "{hidden}"
        );
        assert!(hidden.contains("a@b.gov.cn"));
        // A state audited with the secret (before it was hidden) and one
        // audited after compare equal, so an old chain still verifies.
        assert_eq!(hidden_state(entity, &hidden), hidden);
        // Another key is another digest: a changed webhook still shows.
        let other = raw.replace(KEY, "another-key");
        assert_ne!(hidden_state(entity, &other), hidden);
        // An organization snapshot (before/after) hides its webhooks too.
        let snapshot = snapshot(&serde_json::json!({"name": "某局", "webhooks": [url]}))
            .expect("snapshot")
            .to_string();
        assert!(
            !snapshot.contains(KEY) && snapshot.contains("SHA-256"),
            "{snapshot}"
        );
    }
}
