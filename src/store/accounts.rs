//! Government new-media accounts (政务新媒体): add, lifecycle, posts seen,
//! look-up by id, `platform:account_id`, or the account id alone.

use super::audit::{self, Record, snapshot};
use super::convert::{OrgNames, account_from_row, account_into_row, to_db, to_db_opt};
use super::orgs;
use super::rows::NewAccountRow;
use super::sql::{AuditQuery, Sql};
use super::{Change, StoreError};
use crate::registry::lifecycle::{self, AccountAction};
use crate::registry::{Account, AccountStatus, Invalid, Platform};

/// What `account add` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub platform: Platform,
    pub account_id: String,
    pub name: String,
    pub org: String,
    pub feed_url: Option<String>,
}

pub fn validate_feed_url(raw: &str) -> Result<String, Invalid> {
    match url::Url::parse(raw.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(Invalid::new(
            "feed",
            raw,
            "must be an http:// or https:// URL",
        )),
    }
}

/// Finds the account a key names: an internal id, `platform:account_id`,
/// or an account id alone when only one platform has it. An account that
/// is not closed wins over closed ones with the same handle.
pub fn resolve<C: Sql>(c: &mut C, key: &str) -> Result<i64, StoreError> {
    let key = key.trim();
    let (platform, handle) = match key.split_once(':') {
        Some((platform, handle)) if platform.parse::<Platform>().is_ok() => {
            (Some(platform.parse::<Platform>()?), handle)
        }
        _ => (None, key),
    };
    let ids = c.account_ids_with_handle(platform.map(Platform::as_str), handle)?;
    let ids = if ids.is_empty() && platform.is_none() && key.bytes().all(|b| b.is_ascii_digit()) {
        let id: i64 = key.parse().map_err(|_| StoreError::NotFound {
            what: "account",
            key: key.to_string(),
        })?;
        c.account_rows(Some(&[id]))?.iter().map(|r| r.id).collect()
    } else {
        ids
    };
    let rows = c.account_rows(Some(&ids))?;
    let open: Vec<i64> = rows
        .iter()
        .filter(|r| r.status != AccountStatus::Closed.as_str())
        .map(|r| r.id)
        .collect();
    let candidates = if open.is_empty() { ids } else { open };
    match candidates.as_slice() {
        [] => Err(StoreError::NotFound {
            what: "account",
            key: key.to_string(),
        }),
        [id] => Ok(*id),
        _ => Err(StoreError::Ambiguous {
            what: "account",
            key: key.to_string(),
            candidates: rows
                .iter()
                .filter(|r| candidates.contains(&r.id))
                .map(|r| format!("{} ({}:{})", r.id, r.platform, r.account_id))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

pub fn by_id<C: Sql>(c: &mut C, id: i64) -> Result<Account, StoreError> {
    let row = c
        .account_rows(Some(&[id]))?
        .pop()
        .ok_or_else(|| StoreError::NotFound {
            what: "account",
            key: id.to_string(),
        })?;
    let names: OrgNames = [(row.org_id, c.org_row(row.org_id)?.name)].into();
    account_from_row(&row, &names)
}

pub fn by_key<C: Sql>(c: &mut C, key: &str) -> Result<Account, StoreError> {
    let id = resolve(c, key)?;
    by_id(c, id)
}

pub fn all<C: Sql>(c: &mut C) -> Result<Vec<Account>, StoreError> {
    let names = orgs::names(c)?;
    c.account_rows(None)?
        .iter()
        .map(|row| account_from_row(row, &names))
        .collect()
}

/// Filters of a page of accounts, applied in SQL; by id.
#[derive(Debug, Clone, Default)]
pub struct AccountPageQuery {
    /// Accounts of these organizations only; `None`: of any.
    pub org_ids: Option<Vec<i64>>,
    pub status: Option<AccountStatus>,
    pub platform: Option<Platform>,
    /// These accounts only (the stale ones, say).
    pub ids: Option<Vec<i64>>,
    /// Accounts with ids above this one.
    pub after: Option<i64>,
    pub limit: i64,
}

/// A page of accounts as `query` filters them, and how many the filters
/// let through in all (whatever `after` and `limit`).
pub fn page<C: Sql>(
    c: &mut C,
    query: &AccountPageQuery,
) -> Result<(Vec<Account>, u64), StoreError> {
    let total = c.account_count(query)?;
    let rows = c.account_page(query)?;
    let names = orgs::names(c)?;
    let accounts = rows
        .iter()
        .map(|row| account_from_row(row, &names))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((accounts, u64::try_from(total).unwrap_or(0)))
}

/// Refuses a second account with the same platform and id that is not
/// closed.
pub fn check_free<C: Sql>(
    c: &mut C,
    platform: Platform,
    account_id: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let ids = c.account_ids_with_handle(Some(platform.as_str()), account_id)?;
    for row in c.account_rows(Some(&ids))? {
        if Some(row.id) != except && row.status != AccountStatus::Closed.as_str() {
            return Err(StoreError::Conflict(format!(
                "{platform}:{account_id} is already registered as account {} `{}` ({}); \
                 one platform account id belongs to one account that is not closed",
                row.id, row.name, row.status
            )));
        }
    }
    Ok(())
}

pub fn add<C: Sql>(
    c: &mut C,
    account: &NewAccount,
    change: &Change,
) -> Result<Account, StoreError> {
    insert(c, account, AccountStatus::Active, None, change, "add")
}

/// Inserts an account in `status` (imports may bring closed ones).
pub fn insert<C: Sql>(
    c: &mut C,
    account: &NewAccount,
    status: AccountStatus,
    last_post_at: Option<chrono::DateTime<chrono::Utc>>,
    change: &Change,
    action: &str,
) -> Result<Account, StoreError> {
    let handle = account.account_id.trim();
    if handle.is_empty() || handle.contains(char::is_whitespace) {
        return Err(Invalid::new(
            "account_id",
            &account.account_id,
            "must be the platform's account id, without spaces",
        )
        .into());
    }
    if account.name.trim().is_empty() {
        return Err(Invalid::new("name", &account.name, "must not be empty").into());
    }
    let feed_url = account
        .feed_url
        .as_deref()
        .map(validate_feed_url)
        .transpose()?;
    let org = orgs::row_by_name(c, &account.org)?;
    if status != AccountStatus::Closed {
        check_free(c, account.platform, handle, None)?;
    }
    let id = c.insert_account(&NewAccountRow {
        platform: account.platform.as_str().to_string(),
        account_id: handle.to_string(),
        name: account.name.trim().to_string(),
        org_id: org.id,
        status: status.as_str().to_string(),
        feed_url,
        last_post_at: to_db_opt(last_post_at),
        status_reason: None,
        status_changed_at: to_db(change.effective_at),
        created_at: to_db(change.recorded_at),
    })?;
    let created = by_id(c, id)?;
    audit::write(
        c,
        change,
        Record {
            entity: "account",
            entity_id: id,
            site_id: None,
            action,
            before: None,
            after: snapshot(&created),
            reason: None,
            warnings: &[],
        },
    )?;
    Ok(created)
}

/// Persists a changed account with its audit row.
pub fn save<C: Sql>(
    c: &mut C,
    before: &Account,
    after: &Account,
    action: &str,
    reason: Option<&str>,
    change: &Change,
) -> Result<Account, StoreError> {
    let org = orgs::row_by_name(c, &after.org)?;
    let mut row =
        c.account_rows(Some(&[before.id]))?
            .pop()
            .ok_or_else(|| StoreError::NotFound {
                what: "account",
                key: before.id.to_string(),
            })?;
    account_into_row(after, org.id, &mut row);
    c.update_account(&row)?;
    let saved = by_id(c, before.id)?;
    audit::write(
        c,
        change,
        Record {
            entity: "account",
            entity_id: saved.id,
            site_id: None,
            action,
            before: snapshot(before),
            after: snapshot(&saved),
            reason,
            warnings: &[],
        },
    )?;
    Ok(saved)
}

pub fn transition<C: Sql>(
    c: &mut C,
    key: &str,
    action: &AccountAction,
    change: &Change,
) -> Result<Account, StoreError> {
    let before = by_key(c, key)?;
    let after = lifecycle::apply_account(&before, action, change.effective_at)?;
    if before.status == AccountStatus::Closed {
        check_free(c, after.platform, &after.account_id, Some(after.id))?;
    }
    save(c, &before, &after, action.name(), action.reason(), change)
}

pub fn seen<C: Sql>(c: &mut C, key: &str, change: &Change) -> Result<Account, StoreError> {
    let before = by_key(c, key)?;
    match lifecycle::record_post(&before, change.effective_at) {
        Some(after) => save(c, &before, &after, "seen", None, change),
        None => Ok(before),
    }
}

/// What `account edit` asks for: each field given changes, the others
/// stay. The platform and the account id are not edited: findings,
/// exceptions and the reconciliation with the national new-media export
/// know an account by them; an account whose id changed is closed and
/// registered again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountEdit {
    pub name: Option<String>,
    /// The organization that runs it, by name or id.
    pub org: Option<String>,
    /// `Some(Some(url))` sets its feed, `Some(None)` removes it.
    pub feed_url: Option<Option<String>>,
    /// Why, for the audit trail.
    pub reason: Option<String>,
}

impl AccountEdit {
    /// Whether it asks for no change at all (a reason alone changes
    /// nothing).
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.org.is_none() && self.feed_url.is_none()
    }
}

/// When the account came into the registry: the effective time of its
/// first audit row (its `add` or `import`), else when its row was
/// written.
fn since<C: Sql>(
    c: &mut C,
    id: i64,
    created_at: chrono::NaiveDateTime,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    let first = c.audit_rows(&AuditQuery {
        site_ids: Vec::new(),
        entity: Some(("account".to_string(), id)),
        limit: Some(1),
    })?;
    let created = first
        .first()
        .map_or(created_at, |row| row.effective_at.min(created_at));
    Ok(super::convert::from_db(created))
}

/// Changes an account (named as `resolve` reads a key): its name, its
/// organization, its feed. Checked as `account add` checks them, and not
/// dated before the account came into the registry; saved and audited
/// (action `edit`, with the reason) through [`save`]. An edit that changes
/// nothing writes nothing.
pub fn edit<C: Sql>(
    c: &mut C,
    key: &str,
    edit: &AccountEdit,
    change: &Change,
) -> Result<Account, StoreError> {
    if edit.is_empty() {
        return Err(Invalid::new("edit", "", "names no change").into());
    }
    let before = by_key(c, key)?;
    let row = c
        .account_rows(Some(&[before.id]))?
        .pop()
        .ok_or_else(|| StoreError::NotFound {
            what: "account",
            key: key.to_string(),
        })?;
    lifecycle::existed(
        format!(
            "account {} ({}:{})",
            before.id, before.platform, before.account_id
        ),
        change.effective_at,
        since(c, before.id, row.created_at)?,
    )?;
    let mut after = before.clone();
    if let Some(name) = &edit.name {
        if name.trim().is_empty() {
            return Err(Invalid::new("name", name, "must not be empty").into());
        }
        after.name = name.trim().to_string();
    }
    if let Some(org) = &edit.org {
        after.org = orgs::resolve(c, org)?.name;
    }
    if let Some(feed) = &edit.feed_url {
        after.feed_url = feed.as_deref().map(validate_feed_url).transpose()?;
    }
    if after == before {
        return Ok(before);
    }
    let reason = edit
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    save(c, &before, &after, "edit", reason, change)
}
