//! People who log in to the web page: made, listed, disabled and given a
//! new password from the command line (`siteward user`), their passwords
//! kept only as argon2 hashes; their sessions kept server-side (only a
//! hash of the cookie's secret is stored), so that disabling a user or
//! changing a password ends every session of theirs at once, on every
//! instance. A user is limited to organizations exactly as an API token
//! is, and becomes the same [`Caller`].
//!
//! INTERFACE STUB: the bodies are filled by the users-backend work.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::access::{Caller, Role};
use crate::store::{Change, Store, StoreError};

/// A user as `user list` shows it (never the password's hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// A session just opened by a login: the cookie's secret (shown to the
/// browser once; only its hash is stored) and the form token of the
/// session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf: String,
    pub caller: Caller,
}

/// A session in use: who it is, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
}

/// How long sessions last (`[web]`).
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Unused this long, a session ends.
    pub idle: Duration,
    /// This long after its login, a session ends.
    pub max: Duration,
}

/// Makes user `name` with `role`, limited to the organizations named in
/// `orgs` (names or ids; none: all), with `password`; audited.
pub fn add(
    _store: &Store,
    _name: &str,
    _role: Role,
    _orgs: &[String],
    _with_subordinates: bool,
    _password: &str,
    _change: &Change,
) -> Result<User, StoreError> {
    Err(StoreError::Conflict("users are not built yet".into()))
}

/// Every user, disabled ones too.
pub fn list(_store: &Store) -> Result<Vec<User>, StoreError> {
    Ok(Vec::new())
}

/// Disables user `name` and ends their sessions; audited.
pub fn disable(_store: &Store, _name: &str, _change: &Change) -> Result<User, StoreError> {
    Err(StoreError::Conflict("users are not built yet".into()))
}

/// Sets user `name`'s password and ends their sessions; audited.
pub fn set_password(
    _store: &Store,
    _name: &str,
    _password: &str,
    _change: &Change,
) -> Result<User, StoreError> {
    Err(StoreError::Conflict("users are not built yet".into()))
}

/// Opens a session for `name` if `password` is theirs and they are not
/// disabled; `None` otherwise (the same answer whichever it was).
pub fn login(
    _store: &Store,
    _name: &str,
    _password: &str,
    _now: DateTime<Utc>,
) -> Result<Option<NewSession>, StoreError> {
    Ok(None)
}

/// The session whose cookie secret is `secret`, if it is in use: not
/// idle past `limits.idle`, not older than `limits.max`, its user not
/// disabled. Marks it used at `now`.
pub fn session(
    _store: &Store,
    _secret: &str,
    _now: DateTime<Utc>,
    _limits: SessionLimits,
) -> Result<Option<Session>, StoreError> {
    Ok(None)
}

/// Ends the session whose cookie secret is `secret` (logout).
pub fn logout(_store: &Store, _secret: &str) -> Result<(), StoreError> {
    Ok(())
}
