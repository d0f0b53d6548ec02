//! Organizations (主办单位): creation, look-up, edits, contacts. A
//! contact is never deleted: removing one marks its row (`removed_at`),
//! and giving it again puts the same row back in use. Every
//! organization added, imported or edited is checked against its parent
//! (`registry::place`: its division fits its level, the parent is not of a
//! lower level, the division lies within the parent's); a change to one
//! cannot be dated before it came into the registry (its `created_at`, the
//! effective time it was added or imported as of).

use std::collections::HashMap;

use super::audit::{self, Record, snapshot};
use super::convert::{OrgNames, from_db, org_from_rows, to_db};
use chrono::SubsecRound;

use super::rows::{ContactRow, NewContactRow, NewOrgRow, OrgRow};
use super::sql::Sql;
use super::{Change, Outcome, StoreError};
use crate::policy::Policy;
use crate::registry::lifecycle;
use crate::registry::place::{self, Place};
use crate::registry::{DivisionCode, Invalid, OrgLevel, Organization, Warning};

/// What `org add` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    pub name: String,
    pub division: DivisionCode,
    pub level: OrgLevel,
    pub parent: Option<String>,
    pub emails: Vec<String>,
    pub webhooks: Vec<String>,
}

/// Checks an organization's fields; returns advisory warnings.
pub fn validate(org: &NewOrganization, policy: &Policy) -> Result<Vec<Warning>, Invalid> {
    if org.name.trim().is_empty() {
        return Err(Invalid::new("name", &org.name, "must not be empty"));
    }
    for email in &org.emails {
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid {
            return Err(Invalid::new("email", email, "is not an e-mail address"));
        }
    }
    for webhook in &org.webhooks {
        match url::Url::parse(webhook) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(Invalid::new(
                    "webhook",
                    webhook,
                    "must be an http:// or https:// URL",
                ));
            }
        }
    }
    let mut warnings = Vec::new();
    if !policy.divisions.is_known(&org.division) {
        warnings.push(Warning::new(
            "division",
            org.division.as_str(),
            "is in no division table, current or historical (accepted)".into(),
        ));
    }
    Ok(warnings)
}

fn place_of(org: &Organization) -> Place<'_> {
    Place {
        name: &org.name,
        division: &org.division,
        level: org.level,
    }
}

/// Checks the organization `name` as the registry now holds it against
/// its parent ([`place::check_org`]).
pub fn check_place<C: Sql>(c: &mut C, name: &str) -> Result<(), StoreError> {
    let org = by_name(c, name)?;
    let parent = match &org.parent {
        Some(parent) => Some(by_name(c, parent)?),
        None => None,
    };
    place::check_org(place_of(&org), parent.as_ref().map(place_of))?;
    Ok(())
}

/// Refuses a change to the organization of `row` dated before it came
/// into the registry.
fn existed(row: &OrgRow, change: &Change) -> Result<(), StoreError> {
    lifecycle::existed(
        format!("organization `{}`", row.name),
        change.effective_at,
        from_db(row.created_at),
    )?;
    Ok(())
}

pub fn names<C: Sql>(c: &mut C) -> Result<OrgNames, StoreError> {
    Ok(c.org_rows()?.into_iter().map(|r| (r.id, r.name)).collect())
}

pub fn all<C: Sql>(c: &mut C) -> Result<Vec<Organization>, StoreError> {
    let rows = c.org_rows()?;
    let names: OrgNames = rows.iter().map(|r| (r.id, r.name.clone())).collect();
    let contacts = c.contact_rows(None)?;
    rows.iter()
        .map(|row| org_from_rows(row, &names, &contacts))
        .collect()
}

pub fn row_by_name<C: Sql>(c: &mut C, name: &str) -> Result<OrgRow, StoreError> {
    c.org_row_by_name(name.trim())?
        .ok_or_else(|| StoreError::NotFound {
            what: "organization",
            key: name.to_string(),
        })
}

pub fn by_name<C: Sql>(c: &mut C, name: &str) -> Result<Organization, StoreError> {
    let row = row_by_name(c, name)?;
    let mut names = OrgNames::new();
    names.insert(row.id, row.name.clone());
    if let Some(parent_id) = row.parent_id {
        names.insert(parent_id, c.org_row(parent_id)?.name);
    }
    let contacts = c.contact_rows(Some(row.id))?;
    org_from_rows(&row, &names, &contacts)
}

pub fn add<C: Sql>(
    c: &mut C,
    org: &NewOrganization,
    policy: &Policy,
    change: &Change,
) -> Result<Outcome<Organization>, StoreError> {
    let warnings = validate(org, policy)?;
    let name = org.name.trim();
    if c.org_row_by_name(name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "organization `{name}` already exists (names are unique)"
        )));
    }
    let parent = match &org.parent {
        Some(parent) => Some(by_name(c, parent)?),
        None => None,
    };
    place::check_org(
        Place {
            name,
            division: &org.division,
            level: org.level,
        },
        parent.as_ref().map(place_of),
    )?;
    let id = c.insert_org(&NewOrgRow {
        name: name.to_string(),
        division: org.division.as_str().to_string(),
        level: org.level.as_str().to_string(),
        parent_id: parent.map(|p| p.id),
        created_at: to_db(change.effective_at),
    })?;
    add_contacts(c, id, org)?;
    let created = by_name(c, name)?;
    audit::write(
        c,
        change,
        Record {
            entity: "org",
            entity_id: id,
            site_id: None,
            action: "add",
            before: None,
            after: snapshot(&created),
            reason: None,
            warnings: &warnings,
        },
    )?;
    Ok(Outcome {
        value: created,
        warnings,
    })
}

/// Creates the organizers an import of sites lacks (no parent, no
/// contact), with their audit rows, as [`upsert`] does one by one: in a
/// few statements (multi-row inserts, each audit state made from the row
/// the insert returns, the chain hashed in memory under its lock).
/// Records each one's id in `ids` by name.
pub fn create_audited<C: Sql>(
    c: &mut C,
    orgs: &[NewOrganization],
    ids: &mut HashMap<String, i64>,
    change: &Change,
) -> Result<(), StoreError> {
    let (plain, others): (Vec<&NewOrganization>, Vec<&NewOrganization>) = orgs
        .iter()
        .partition(|org| org.parent.is_none() && org.emails.is_empty() && org.webhooks.is_empty());
    for org in others {
        upsert(c, org, ids, change)?;
    }
    let new_rows: Vec<NewOrgRow> = plain
        .iter()
        .map(|org| NewOrgRow {
            name: org.name.trim().to_string(),
            division: org.division.as_str().to_string(),
            level: org.level.as_str().to_string(),
            parent_id: None,
            created_at: to_db(change.effective_at),
        })
        .collect();
    let rows = c.insert_orgs(&new_rows)?;
    if rows.len() != new_rows.len() || rows.iter().zip(&new_rows).any(|(r, n)| r.name != n.name) {
        return Err(StoreError::Corrupt {
            what: "the organizations inserted did not come back in order".into(),
        });
    }
    let mut created = Vec::with_capacity(rows.len());
    for row in &rows {
        let names: OrgNames = [(row.id, row.name.clone())].into();
        created.push((
            org_from_rows(row, &names, &[])?,
            audit::org_state(row, Vec::new()),
        ));
        ids.insert(row.name.clone(), row.id);
    }
    let records = created
        .iter()
        .map(|(org, state)| {
            (
                Record {
                    entity: "org",
                    entity_id: org.id,
                    site_id: None,
                    action: "import",
                    before: None,
                    after: snapshot(org),
                    reason: None,
                    warnings: &[],
                },
                Some(state.clone()),
            )
        })
        .collect();
    audit::write_all(c, change, records)
}

/// Creates or updates an organization from an import row; returns whether
/// anything changed. Parents are set in a second pass (`set_parent`), as a
/// file may name a parent further down.
pub fn upsert<C: Sql>(
    c: &mut C,
    org: &NewOrganization,
    by_name_cache: &mut HashMap<String, i64>,
    change: &Change,
) -> Result<bool, StoreError> {
    let name = org.name.trim();
    match c.org_row_by_name(name)? {
        None => {
            let id = c.insert_org(&NewOrgRow {
                name: name.to_string(),
                division: org.division.as_str().to_string(),
                level: org.level.as_str().to_string(),
                parent_id: None,
                created_at: to_db(change.effective_at),
            })?;
            add_contacts(c, id, org)?;
            by_name_cache.insert(name.to_string(), id);
            let created = by_name(c, name)?;
            audit::write(
                c,
                change,
                Record {
                    entity: "org",
                    entity_id: id,
                    site_id: None,
                    action: "import",
                    before: None,
                    after: snapshot(&created),
                    reason: None,
                    warnings: &[],
                },
            )?;
            Ok(true)
        }
        Some(mut row) => {
            by_name_cache.insert(name.to_string(), row.id);
            let before = by_name(c, name)?;
            let mut changed = false;
            let moved = row.division != org.division.as_str() || row.level != org.level.as_str();
            let new_emails: Vec<&String> = org
                .emails
                .iter()
                .filter(|e| !before.emails.contains(e))
                .collect();
            // A masked webhook (from an export) stands for the one it
            // masks: unchanged.
            let new_webhooks: Vec<&String> = org
                .webhooks
                .iter()
                .filter(|w| {
                    !before.webhooks.contains(w)
                        && !before
                            .webhooks
                            .iter()
                            .any(|b| crate::alerts::mask_url(b) == **w)
                })
                .collect();
            if moved || !new_emails.is_empty() || !new_webhooks.is_empty() {
                existed(&row, change)?;
            }
            if moved {
                row.division = org.division.as_str().to_string();
                row.level = org.level.as_str().to_string();
                c.update_org(&row)?;
                changed = true;
            }
            for (kind, values) in [("email", new_emails), ("webhook", new_webhooks)] {
                for value in values {
                    if kind == "webhook" {
                        refuse_masked(value)?;
                    }
                    add_contact(c, row.id, kind, value)?;
                    changed = true;
                }
            }
            if changed {
                let after = by_name(c, name)?;
                audit::write(
                    c,
                    change,
                    Record {
                        entity: "org",
                        entity_id: row.id,
                        site_id: None,
                        action: "import",
                        before: snapshot(&before),
                        after: snapshot(&after),
                        reason: None,
                        warnings: &[],
                    },
                )?;
            }
            Ok(changed)
        }
    }
}

/// A webhook as an export shows it (its secret parts hidden) is never
/// stored: re-importing an export keeps the webhook it stands for.
fn refuse_masked(webhook: &str) -> Result<(), StoreError> {
    if webhook.contains('…') {
        return Err(Invalid::new(
            "webhook",
            webhook,
            "is masked (exports hide a webhook's secret) and matches none of the organization's webhooks: give the whole URL",
        )
        .into());
    }
    Ok(())
}

fn add_contacts<C: Sql>(c: &mut C, org_id: i64, org: &NewOrganization) -> Result<(), StoreError> {
    for (kind, values) in [("email", &org.emails), ("webhook", &org.webhooks)] {
        for value in values {
            if kind == "webhook" {
                refuse_masked(value)?;
            }
            add_contact(c, org_id, kind, value)?;
        }
    }
    Ok(())
}

/// Puts a contact in use: a new row, or the removed row that holds the
/// same value brought back (rows are never deleted, and one organization
/// holds a value once). A contact already in use is left as it is.
fn add_contact<C: Sql>(c: &mut C, org_id: i64, kind: &str, value: &str) -> Result<(), StoreError> {
    let value = value.trim();
    let held = c
        .contact_rows(Some(org_id))?
        .into_iter()
        .find(|row| row.kind == kind && row.value == value);
    match held {
        Some(row) if row.in_use() => {}
        Some(row) => c.set_contact_removed(row.id, None)?,
        None => c.insert_contact(&NewContactRow {
            org_id,
            kind: kind.to_string(),
            value: value.to_string(),
        })?,
    }
    Ok(())
}

/// Refuses `parent` as the parent of `row` when `row` is `parent` or one
/// of its ancestors: walks up from the new parent.
fn refuse_cycle<C: Sql>(c: &mut C, row: &OrgRow, parent: &OrgRow) -> Result<(), StoreError> {
    if parent.id == row.id {
        return Err(StoreError::Invalid(Invalid::new(
            "parent",
            &parent.name,
            "is the organization itself",
        )));
    }
    let rows = c.org_rows()?;
    let parents: HashMap<i64, Option<i64>> = rows.iter().map(|r| (r.id, r.parent_id)).collect();
    let mut cursor = Some(parent.id);
    let mut steps = 0;
    while let Some(id) = cursor {
        if id == row.id || steps > rows.len() {
            return Err(StoreError::Invalid(Invalid::new(
                "parent",
                &parent.name,
                &format!("would make `{}` its own ancestor", row.name),
            )));
        }
        cursor = parents.get(&id).copied().flatten();
        steps += 1;
    }
    Ok(())
}

/// Sets an organization's parent; returns whether it changed.
pub fn set_parent<C: Sql>(
    c: &mut C,
    name: &str,
    parent: &str,
    change: &Change,
) -> Result<bool, StoreError> {
    let mut row = row_by_name(c, name)?;
    let parent_row = row_by_name(c, parent)?;
    if parent_row.id == row.id {
        return Err(StoreError::Invalid(Invalid::new(
            "parent",
            parent,
            "is the organization itself",
        )));
    }
    if row.parent_id == Some(parent_row.id) {
        return Ok(false);
    }
    refuse_cycle(c, &row, &parent_row)?;
    existed(&row, change)?;
    let before = by_name(c, name)?;
    row.parent_id = Some(parent_row.id);
    c.update_org(&row)?;
    let after = by_name(c, name)?;
    audit::write(
        c,
        change,
        Record {
            entity: "org",
            entity_id: row.id,
            site_id: None,
            action: "import",
            before: snapshot(&before),
            after: snapshot(&after),
            reason: None,
            warnings: &[],
        },
    )?;
    Ok(true)
}

/// Finds the organization a key names: its name, or its internal id.
pub fn resolve<C: Sql>(c: &mut C, key: &str) -> Result<OrgRow, StoreError> {
    if let Some(row) = c.org_row_by_name(key.trim())? {
        return Ok(row);
    }
    let id = key.trim().parse::<i64>().ok();
    match id {
        Some(id) => c.org_rows_with_ids(&[id])?.pop(),
        None => None,
    }
    .ok_or_else(|| StoreError::NotFound {
        what: "organization",
        key: key.to_string(),
    })
}

/// What `org edit` asks for: each field given changes, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgEdit {
    pub name: Option<String>,
    pub division: Option<DivisionCode>,
    pub level: Option<OrgLevel>,
    /// `Some(Some(name))` moves it under that organization, `Some(None)`
    /// leaves it without a parent.
    pub parent: Option<Option<String>>,
    /// Contacts put in use.
    pub add_emails: Vec<String>,
    pub add_webhooks: Vec<String>,
    /// Contacts taken out of use (their rows kept, marked removed). A
    /// webhook may be named as people see it, masked.
    pub remove_emails: Vec<String>,
    pub remove_webhooks: Vec<String>,
    /// Why, for the audit trail.
    pub reason: Option<String>,
}

impl OrgEdit {
    /// Whether it asks for no change at all (a reason alone changes
    /// nothing).
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.division.is_none()
            && self.level.is_none()
            && self.parent.is_none()
            && self.add_emails.is_empty()
            && self.add_webhooks.is_empty()
            && self.remove_emails.is_empty()
            && self.remove_webhooks.is_empty()
    }
}

/// The contact rows in use that `given` names among `kind`: the value
/// itself, or (a webhook) its masked form as `org show` prints it. A value
/// that names none, or a masked form that names several, is refused.
fn named_contacts(
    org: &str,
    contacts: &[ContactRow],
    kind: &str,
    given: &[String],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for value in given {
        let value = value.trim();
        let exact: Vec<&ContactRow> = contacts
            .iter()
            .filter(|c| c.kind == kind && c.in_use() && c.value == value)
            .collect();
        let matching = if exact.is_empty() && kind == "webhook" {
            contacts
                .iter()
                .filter(|c| {
                    c.kind == kind && c.in_use() && crate::alerts::mask_url(&c.value) == value
                })
                .collect()
        } else {
            exact
        };
        match matching.as_slice() {
            [] => {
                return Err(StoreError::NotFound {
                    what: if kind == "email" { "e-mail" } else { "webhook" },
                    key: format!("{value}` of organization `{org}"),
                });
            }
            [one] => ids.push(one.id),
            _ => {
                return Err(Invalid::new(
                    kind,
                    value,
                    &format!(
                        "names {} webhooks of organization `{org}` once masked: give the whole URL",
                        matching.len()
                    ),
                )
                .into());
            }
        }
    }
    Ok(ids)
}

/// Changes an organization (named by name or id): its name, division,
/// level, parent, and contacts added or removed. Checked as `org add`
/// checks (a name free, contacts well formed, a masked webhook refused,
/// the division fitting the level and lying within the parent's) and,
/// since it may have children, each child against it as changed; a
/// parent that is the organization itself or one of its descendants is
/// refused. Its sites, accounts and children keep referring to it by id.
/// A removed contact keeps its row, marked removed as of the change's
/// effective time. Written, then audited (action `edit`, with the reason)
/// from the rows as they now are; an edit that changes nothing writes
/// nothing.
pub fn edit<C: Sql>(
    c: &mut C,
    key: &str,
    edit: &OrgEdit,
    policy: &Policy,
    change: &Change,
) -> Result<Outcome<Organization>, StoreError> {
    if edit.is_empty() {
        return Err(Invalid::new("edit", "", "names no change").into());
    }
    let mut row = resolve(c, key)?;
    let before = by_name(c, &row.name)?;
    existed(&row, change)?;

    let name = match &edit.name {
        Some(name) => name.trim().to_string(),
        None => row.name.clone(),
    };
    if name != row.name
        && let Some(holder) = c.org_row_by_name(&name)?
    {
        return Err(StoreError::Conflict(format!(
            "organization `{name}` already exists (id {}; names are unique)",
            holder.id
        )));
    }
    let division = edit
        .division
        .clone()
        .unwrap_or_else(|| before.division.clone());
    let level = edit.level.unwrap_or(before.level);
    let mut warnings = validate(
        &NewOrganization {
            name: name.clone(),
            division: division.clone(),
            level,
            parent: None,
            emails: edit.add_emails.clone(),
            webhooks: edit.add_webhooks.clone(),
        },
        policy,
    )?;
    // The division's advisory is news only when the division changes.
    if edit.division.is_none() {
        warnings.retain(|w| w.field != "division");
    }

    let parent = match &edit.parent {
        Some(Some(parent)) => {
            let parent_row = resolve(c, parent)?;
            refuse_cycle(c, &row, &parent_row)?;
            Some(parent_row)
        }
        Some(None) => None,
        None => match row.parent_id {
            Some(id) => Some(c.org_row(id)?),
            None => None,
        },
    };
    let parent_org = match &parent {
        Some(p) => Some(by_name(c, &p.name)?),
        None => None,
    };
    let place = Place {
        name: &name,
        division: &division,
        level,
    };
    place::check_org(place, parent_org.as_ref().map(place_of))?;
    for child in c.org_rows()?.iter().filter(|r| r.parent_id == Some(row.id)) {
        let child = by_name(c, &child.name)?;
        place::check_org(place_of(&child), Some(place))?;
    }

    // Contacts: every value checked before anything is written.
    let contacts = c.contact_rows(Some(row.id))?;
    for webhook in &edit.add_webhooks {
        refuse_masked(webhook)?;
    }
    let mut removed = named_contacts(&row.name, &contacts, "email", &edit.remove_emails)?;
    removed.extend(named_contacts(
        &row.name,
        &contacts,
        "webhook",
        &edit.remove_webhooks,
    )?);
    for (kind, values) in [("email", &edit.add_emails), ("webhook", &edit.add_webhooks)] {
        for value in values {
            let value = value.trim();
            if contacts
                .iter()
                .any(|c| removed.contains(&c.id) && c.kind == kind && c.value == value)
            {
                return Err(
                    Invalid::new(kind, value, "is both added and removed: give it once").into(),
                );
            }
        }
    }

    let mut next = row.clone();
    next.name = name.clone();
    next.division = division.as_str().to_string();
    next.level = level.as_str().to_string();
    next.parent_id = parent.as_ref().map(|p| p.id);
    if next.name != row.name
        || next.division != row.division
        || next.level != row.level
        || next.parent_id != row.parent_id
    {
        c.update_org(&next)?;
        row = next;
    }
    let removed_at = to_db(change.effective_at).trunc_subsecs(6);
    for id in &removed {
        c.set_contact_removed(*id, Some(removed_at))?;
    }
    for (kind, values) in [("email", &edit.add_emails), ("webhook", &edit.add_webhooks)] {
        for value in values {
            add_contact(c, row.id, kind, value)?;
        }
    }
    let after = by_name(c, &row.name)?;
    if after == before {
        return Ok(Outcome {
            value: after,
            warnings,
        });
    }
    audit::write(
        c,
        change,
        Record {
            entity: "org",
            entity_id: row.id,
            site_id: None,
            action: "edit",
            before: snapshot(&before),
            after: snapshot(&after),
            reason: edit
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty()),
            warnings: &warnings,
        },
    )?;
    Ok(Outcome {
        value: after,
        warnings,
    })
}
