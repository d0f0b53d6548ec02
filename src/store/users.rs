//! Web users and their sessions as stored. A user: a name (taken for
//! good: users are disabled, never deleted, so the audit trail's actors
//! stay explained), a role, the organizations it is limited to, and an
//! Argon2id hash of its password, which `app::users` makes and checks and
//! which never reaches the audit trail. A session: the SHA-256 of its
//! cookie's secret and its form token. Making, disabling and giving a new
//! password are audited in one transaction; the last two delete the
//! user's sessions in that same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{self, Record};
use super::convert::{from_db, to_db};
use super::rows::{NewSessionRow, NewUserRow, UserRow};
use super::sql::Sql;
use super::{Change, StoreError};
use crate::access::{Limit, Role};

/// A user as `user list` shows it (never the password's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The organizations the user is limited to, by id (empty: all).
    pub orgs: Vec<i64>,
    pub with_subordinates: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn limit(&self) -> Limit {
        Limit {
            orgs: self.orgs.clone(),
            with_subordinates: self.with_subordinates,
        }
    }

    pub fn disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A user and the hash its password is checked against: only for
/// `app::users`'s login, never shown, never audited (no `Serialize`; its
/// `Debug` leaves the hash out).
#[derive(Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A stored session and its user.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub id: i64,
    pub user: User,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// What the audit trail keeps of a user: what `user list` shows, and when
/// its password last changed (so that a new password is seen as a
/// change), never the hash.
#[derive(Serialize)]
struct Audited<'a> {
    #[serde(flatten)]
    user: &'a User,
    password_changed_at: DateTime<Utc>,
}

fn user(row: &UserRow) -> Result<User, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt { what };
    Ok(User {
        role: row
            .role
            .parse()
            .map_err(|_| corrupt(format!("user {}: role `{}`", row.name, row.role)))?,
        orgs: serde_json::from_str(&row.orgs)
            .map_err(|e| corrupt(format!("user {}: organizations: {e}", row.name)))?,
        id: row.id,
        name: row.name.clone(),
        with_subordinates: row.with_subordinates,
        created_at: from_db(row.created_at),
        created_by: row.created_by.clone(),
        disabled_at: row.disabled_at.map(from_db),
    })
}

fn snapshot(row: &UserRow) -> Result<Option<serde_json::Value>, StoreError> {
    Ok(audit::snapshot(&Audited {
        user: &user(row)?,
        password_changed_at: from_db(row.password_changed_at),
    }))
}

fn by_name<C: Sql>(c: &mut C, name: &str) -> Result<UserRow, StoreError> {
    c.user_by_name(name)?.ok_or_else(|| StoreError::NotFound {
        what: "user",
        key: name.to_string(),
    })
}

fn by_id<C: Sql>(c: &mut C, id: i64) -> Result<UserRow, StoreError> {
    c.user_row(id)?.ok_or_else(|| StoreError::NotFound {
        what: "user",
        key: id.to_string(),
    })
}

fn audit_row<C: Sql>(
    c: &mut C,
    change: &Change,
    id: i64,
    action: &str,
    before: Option<&UserRow>,
    after: &UserRow,
) -> Result<(), StoreError> {
    let before = before.map(snapshot).transpose()?.flatten();
    audit::write(
        c,
        change,
        Record {
            entity: "user",
            entity_id: id,
            site_id: None,
            action,
            before,
            after: snapshot(after)?,
            reason: None,
            warnings: &[],
        },
    )
}

/// Stores a new user `name` whose password hashes to `password_hash`,
/// audited under `change`. A name ever used, by a disabled user too, is a
/// conflict.
pub fn add<C: Sql>(
    c: &mut C,
    name: &str,
    role: Role,
    limit: &Limit,
    password_hash: &str,
    change: &Change,
) -> Result<User, StoreError> {
    c.write_tx(|c| {
        if let Some(existing) = c.user_by_name(name)? {
            return Err(StoreError::Conflict(if existing.disabled_at.is_some() {
                format!(
                    "the name `{name}` belongs to a disabled user: users are never deleted, so that the audit trail's actors stay explained; choose another name"
                )
            } else {
                format!("a user named `{name}` exists: choose another name")
            }));
        }
        let at = to_db(change.recorded_at);
        let id = c.insert_user(&NewUserRow {
            name: name.to_string(),
            role: role.as_str().to_string(),
            orgs: serde_json::to_string(&limit.orgs).unwrap_or_else(|_| "[]".into()),
            with_subordinates: limit.with_subordinates,
            password_hash: password_hash.to_string(),
            created_at: at,
            created_by: change.actor.clone(),
            password_changed_at: at,
        })?;
        let made = by_id(c, id)?;
        audit_row(c, change, id, "add", None, &made)?;
        user(&made)
    })
}

/// Every user, disabled ones too, by name.
pub fn list<C: Sql>(c: &mut C) -> Result<Vec<User>, StoreError> {
    c.user_rows()?.iter().map(user).collect()
}

/// User `name` and its password's hash, if there is such a user.
pub fn credentials<C: Sql>(c: &mut C, name: &str) -> Result<Option<Credentials>, StoreError> {
    match c.user_by_name(name)? {
        Some(row) => Ok(Some(Credentials {
            user: user(&row)?,
            password_hash: row.password_hash,
        })),
        None => Ok(None),
    }
}

/// The user named `name`, not yet disabled.
fn enabled<C: Sql>(c: &mut C, name: &str) -> Result<UserRow, StoreError> {
    let row = by_name(c, name)?;
    if let Some(at) = row.disabled_at {
        return Err(StoreError::Conflict(format!(
            "user `{name}` is already disabled (since {})",
            crate::clock::show(from_db(at))
        )));
    }
    Ok(row)
}

/// Disables user `name` and deletes its sessions, audited.
pub fn disable<C: Sql>(c: &mut C, name: &str, change: &Change) -> Result<User, StoreError> {
    c.write_tx(|c| {
        let before = enabled(c, name)?;
        c.disable_user(before.id, to_db(change.recorded_at))?;
        c.delete_user_sessions(before.id)?;
        let after = by_id(c, before.id)?;
        audit_row(c, change, before.id, "disable", Some(&before), &after)?;
        user(&after)
    })
}

/// Gives user `name` the password hashing to `password_hash` and deletes
/// its sessions, audited (the audit row shows when, never the hash). A
/// disabled user is refused: it cannot log in whatever its password.
pub fn set_password<C: Sql>(
    c: &mut C,
    name: &str,
    password_hash: &str,
    change: &Change,
) -> Result<User, StoreError> {
    c.write_tx(|c| {
        let before = by_name(c, name)?;
        if before.disabled_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "user `{name}` is disabled: it cannot log in, whatever its password"
            )));
        }
        c.set_user_password(before.id, password_hash, to_db(change.recorded_at))?;
        c.delete_user_sessions(before.id)?;
        let after = by_id(c, before.id)?;
        audit_row(c, change, before.id, "password", Some(&before), &after)?;
        user(&after)
    })
}

/// Opens a session for user `user_id` at `now`, if the user is still
/// enabled and its password still hashes to `verified_hash` (the one the
/// login checked: a password changed meanwhile ended every session, and
/// must not let this one in).
pub fn open_session<C: Sql>(
    c: &mut C,
    user_id: i64,
    verified_hash: &str,
    secret_hash: &[u8],
    csrf: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    c.write_tx(|c| {
        let row = by_id(c, user_id)?;
        if row.disabled_at.is_some() || row.password_hash != verified_hash {
            return Ok(false);
        }
        c.insert_session(&NewSessionRow {
            user_id,
            secret_hash: secret_hash.to_vec(),
            csrf: csrf.to_string(),
            created_at: to_db(now),
            last_seen_at: to_db(now),
        })?;
        Ok(true)
    })
}

/// The session whose secret hashes to `hash`, with its user.
pub fn session<C: Sql>(c: &mut C, hash: &[u8]) -> Result<Option<StoredSession>, StoreError> {
    let Some(row) = c.session_by_hash(hash)? else {
        return Ok(None);
    };
    // Found by an index on the hash; compared again in constant time, as
    // tokens are.
    use subtle::ConstantTimeEq;
    if !bool::from(row.secret_hash.as_slice().ct_eq(hash)) {
        return Ok(None);
    }
    let owner = by_id(c, row.user_id)?;
    Ok(Some(StoredSession {
        id: row.id,
        user: user(&owner)?,
        csrf: row.csrf,
        created_at: from_db(row.created_at),
        last_seen_at: from_db(row.last_seen_at),
    }))
}

/// Marks session `id` used at `now`, and deletes every session last seen
/// before `idle_since` or opened before `made_since` (ended, but never
/// asked for again, so nothing else would delete them).
pub fn touch_session<C: Sql>(
    c: &mut C,
    id: i64,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
    made_since: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.write_tx(|c| {
        c.touch_session(id, to_db(now))?;
        c.delete_stale_sessions(to_db(idle_since), to_db(made_since))?;
        Ok(())
    })
}

/// Deletes every session last seen before `idle_since` or opened before
/// `made_since`; how many.
pub fn prune_sessions<C: Sql>(
    c: &mut C,
    idle_since: DateTime<Utc>,
    made_since: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(c.delete_stale_sessions(to_db(idle_since), to_db(made_since))?)
}

/// Deletes session `id` (a logout, or a session found expired).
pub fn end_session<C: Sql>(c: &mut C, id: i64) -> Result<(), StoreError> {
    c.delete_session(id)?;
    Ok(())
}

/// Deletes the session whose secret hashes to `hash`, if there is one.
pub fn end_session_by_hash<C: Sql>(c: &mut C, hash: &[u8]) -> Result<(), StoreError> {
    c.write_tx(|c| {
        if let Some(row) = c.session_by_hash(hash)? {
            c.delete_session(row.id)?;
        }
        Ok(())
    })
}
