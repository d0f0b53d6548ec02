//! Organizations (主办单位): creation, look-up, contacts. Every
//! organization added or imported is checked against its parent
//! (`registry::place`: its division fits its level, the parent is not of a
//! lower level, the division lies within the parent's); a change to one
//! cannot be dated before it came into the registry (its `created_at`, the
//! effective time it was added or imported as of).

use std::collections::HashMap;

use super::audit::{self, Record, snapshot};
use super::convert::{OrgNames, from_db, org_from_rows, to_db};
use super::rows::{NewContactRow, NewOrgRow, OrgRow};
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
                    c.insert_contact(&NewContactRow {
                        org_id: row.id,
                        kind: kind.to_string(),
                        value: value.clone(),
                    })?;
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
            c.insert_contact(&NewContactRow {
                org_id,
                kind: kind.to_string(),
                value: value.trim().to_string(),
            })?;
        }
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
    // Refuse cycles: walk up from the new parent.
    let rows = c.org_rows()?;
    let parents: HashMap<i64, Option<i64>> = rows.iter().map(|r| (r.id, r.parent_id)).collect();
    let mut cursor = Some(parent_row.id);
    let mut steps = 0;
    while let Some(id) = cursor {
        if id == row.id || steps > rows.len() {
            return Err(StoreError::Invalid(Invalid::new(
                "parent",
                parent,
                &format!("would make `{name}` its own ancestor"),
            )));
        }
        cursor = parents.get(&id).copied().flatten();
        steps += 1;
    }
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
