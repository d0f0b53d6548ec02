//! API tokens as stored: a name, a role, the organizations it is limited
//! to, and the SHA-256 of the token (the token itself is never stored).
//! Made and revoked with an audit row, in one transaction; looked up by
//! hash on every request, so a revocation takes effect at once on every
//! instance.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{self, Record};
use super::convert::{from_db, to_db};
use super::rows::{NewTokenRow, TokenRow};
use super::sql::Sql;
use super::{Change, StoreError};
use crate::access::{Limit, Role};

/// A token as `token list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The organizations it is limited to, by id (empty: all).
    pub orgs: Vec<i64>,
    pub with_subordinates: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Token {
    pub fn limit(&self) -> Limit {
        Limit {
            orgs: self.orgs.clone(),
            with_subordinates: self.with_subordinates,
        }
    }
}

fn token(row: TokenRow) -> Result<Token, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt { what };
    Ok(Token {
        role: row
            .role
            .parse()
            .map_err(|_| corrupt(format!("token {}: role `{}`", row.name, row.role)))?,
        orgs: serde_json::from_str(&row.orgs)
            .map_err(|e| corrupt(format!("token {}: organizations: {e}", row.name)))?,
        id: row.id,
        name: row.name,
        with_subordinates: row.with_subordinates,
        created_at: from_db(row.created_at),
        created_by: row.created_by,
        revoked_at: row.revoked_at.map(from_db),
    })
}

/// Stores a new token `name` with `hash`, audited under `change`. A name
/// already in use is a conflict.
pub fn add<C: Sql>(
    c: &mut C,
    name: &str,
    role: Role,
    limit: &Limit,
    hash: &[u8],
    change: &Change,
) -> Result<Token, StoreError> {
    c.write_tx(|c| {
        if c.token_rows()?
            .iter()
            .any(|t| t.name == name && t.revoked_at.is_none())
        {
            return Err(StoreError::Conflict(format!(
                "a token named `{name}` is in use: revoke it first (`siteward token revoke {name}`), or choose another name"
            )));
        }
        let id = c.insert_token(&NewTokenRow {
            name: name.to_string(),
            role: role.as_str().to_string(),
            orgs: serde_json::to_string(&limit.orgs).unwrap_or_else(|_| "[]".into()),
            with_subordinates: limit.with_subordinates,
            hash: hash.to_vec(),
            created_at: to_db(change.recorded_at),
            created_by: change.actor.clone(),
        })?;
        let made = c
            .token_rows()?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| StoreError::NotFound {
                what: "token",
                key: name.to_string(),
            })
            .and_then(token)?;
        audit::write(
            c,
            change,
            Record {
                entity: "token",
                entity_id: id,
                site_id: None,
                action: "add",
                before: None,
                after: audit::snapshot(&made),
                reason: None,
                warnings: &[],
            },
        )?;
        Ok(made)
    })
}

/// Every token, revoked ones too.
pub fn list<C: Sql>(c: &mut C) -> Result<Vec<Token>, StoreError> {
    c.token_rows()?.into_iter().map(token).collect()
}

/// The token in use whose hash is `hash`.
pub fn by_hash<C: Sql>(c: &mut C, hash: &[u8]) -> Result<Option<Token>, StoreError> {
    match c.token_by_hash(hash)? {
        Some(row) => {
            // Found by an index on the hash; compared again in constant
            // time, so that no timing of the comparison depends on how
            // much of the hash matched.
            use subtle::ConstantTimeEq;
            if bool::from(row.hash.as_slice().ct_eq(hash)) {
                token(row).map(Some)
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

/// Revokes the token in use named `name`, audited.
pub fn revoke<C: Sql>(c: &mut C, name: &str, change: &Change) -> Result<Token, StoreError> {
    c.write_tx(|c| {
        let before = c
            .token_rows()?
            .into_iter()
            .find(|t| t.name == name && t.revoked_at.is_none())
            .ok_or_else(|| StoreError::NotFound {
                what: "token in use",
                key: name.to_string(),
            })
            .and_then(token)?;
        c.revoke_token(name, to_db(change.recorded_at))?;
        let after = c
            .token_rows()?
            .into_iter()
            .find(|t| t.id == before.id)
            .ok_or_else(|| StoreError::NotFound {
                what: "token",
                key: name.to_string(),
            })
            .and_then(token)?;
        audit::write(
            c,
            change,
            Record {
                entity: "token",
                entity_id: before.id,
                site_id: None,
                action: "revoke",
                before: audit::snapshot(&before),
                after: audit::snapshot(&after),
                reason: None,
                warnings: &[],
            },
        )?;
        Ok(after)
    })
}
