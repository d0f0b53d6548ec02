//! People who log in to the web page: made, listed, disabled and given a
//! new password from the command line (`siteward user`), their passwords
//! kept only as argon2 hashes; their sessions kept server-side (only a
//! hash of the cookie's secret is stored), so that disabling a user or
//! changing a password ends every session of theirs at once, on every
//! instance. A user is limited to organizations exactly as an API token
//! is, and becomes the same [`Caller`].
//!
//! Passwords are hashed and checked here, never in the store: Argon2id
//! with the argon2 crate's default parameters, a 16-byte salt from the
//! system's generator (ring's), kept as a PHC string.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, TimeDelta, Utc};

use crate::access::{Caller, Limit, Role, Via};
use crate::registry::Invalid;
use crate::store::{Change, Store, StoreError};

pub use crate::store::users::User;

/// What a session cookie's secret starts with, so that a reader of a log
/// or a leaked file can tell what it is.
pub const PREFIX: &str = "sws_";

/// The fewest characters a password may have.
pub const MIN_PASSWORD: usize = 10;

/// The most: more is no safer, and only makes every check longer.
pub const MAX_PASSWORD: usize = 1024;

/// A session used less than this long ago is not marked used again: a
/// write on every page view would buy nothing (the idle limit is counted
/// in minutes).
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// What an error about a password shows in place of the password, which
/// is never repeated back (an error may be logged, or seen over a
/// shoulder).
const HIDDEN: &str = "(not shown)";

/// A hash of no one's password (made up: no password is known to match
/// it), with the same parameters as every other: a login for a name that does not exist, or of a disabled user,
/// is checked against it, so that it takes as long as a wrong password
/// and the time taken does not tell which names exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2l0ZXdhcmQtZHVtbXktc2FsdA$HzNQpkXWZnDfXXFyTXAgsf4R1LLLJ9HVtVgXyPbSc6M";

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

impl SessionLimits {
    /// The limits `[web]` sets.
    pub fn of(web: &crate::config::WebConfig) -> SessionLimits {
        SessionLimits {
            idle: Duration::from_secs(web.session_idle_secs.get()),
            max: Duration::from_secs(web.session_max_secs.get()),
        }
    }

    /// The times before which a session, as of `now`, was last used too
    /// long ago, and was opened too long ago.
    fn cutoffs(self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (before(now, self.idle), before(now, self.max))
    }
}

/// `now` less `span`, or the earliest time there is when `span` reaches
/// past it (a limit of centuries means no limit).
fn before(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(span)
        .ok()
        .and_then(|span| now.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Refuses a password too short, too long, or the user's own name.
pub fn check_password(name: &str, password: &str) -> Result<(), Invalid> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(Invalid::new(
            "password",
            HIDDEN,
            &format!("is too short: it must have at least {MIN_PASSWORD} characters"),
        ));
    }
    if length > MAX_PASSWORD {
        return Err(Invalid::new(
            "password",
            HIDDEN,
            &format!("is too long: it may have at most {MAX_PASSWORD} characters"),
        ));
    }
    if password.trim().to_lowercase() == name.trim().to_lowercase() {
        return Err(Invalid::new(
            "password",
            HIDDEN,
            "is the user's name: choose one that cannot be guessed from it",
        ));
    }
    Ok(())
}

/// `n` bytes from the system's generator.
fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        StoreError::Conflict("the system's random number generator failed".to_string())
    })?;
    Ok(bytes)
}

/// `N` random bytes as base64url text.
fn random_text<const N: usize>() -> Result<String, StoreError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<N>()?))
}

/// The Argon2id PHC string of `password`, with a fresh salt.
fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(&random::<16>()?)
        .map_err(|e| StoreError::Conflict(format!("cannot make a password's salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Conflict(format!("cannot hash the password: {e}")))
}

/// Whether `password` hashes to `phc`. A stored hash that does not parse
/// matches nothing.
fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// The caller user `user` is, as the registry stands now.
fn caller(store: &Store, user: &User) -> Result<Caller, StoreError> {
    Ok(Caller {
        name: user.name.clone(),
        via: Via::WebUser,
        role: user.role,
        visible: crate::app::tokens::visible(store, &user.limit())?,
    })
}

/// Makes user `name` with `role`, limited to the organizations named in
/// `orgs` (names or ids; none: all), with `password`; audited.
pub fn add(
    store: &Store,
    name: &str,
    role: Role,
    orgs: &[String],
    with_subordinates: bool,
    password: &str,
    change: &Change,
) -> Result<User, StoreError> {
    let name = crate::registry::text::name("name", name)?;
    let mut ids = Vec::new();
    for key in orgs {
        let id = store.org_by_key(key)?.id;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if with_subordinates && ids.is_empty() {
        return Err(Invalid::new(
            "with-subordinates",
            "true",
            "applies to the organizations a user is limited to: give --org",
        )
        .into());
    }
    check_password(&name, password)?;
    let limit = Limit {
        orgs: ids,
        with_subordinates,
    };
    store.add_user(&name, role, &limit, &hash_password(password)?, change)
}

/// Every user, disabled ones too.
pub fn list(store: &Store) -> Result<Vec<User>, StoreError> {
    store.users()
}

/// Disables user `name` and ends their sessions; audited.
pub fn disable(store: &Store, name: &str, change: &Change) -> Result<User, StoreError> {
    store.disable_user(name, change)
}

/// Sets user `name`'s password and ends their sessions; audited.
pub fn set_password(
    store: &Store,
    name: &str,
    password: &str,
    change: &Change,
) -> Result<User, StoreError> {
    check_password(name, password)?;
    store.set_user_password(name, &hash_password(password)?, change)
}

/// Opens a session for `name` if `password` is theirs and they are not
/// disabled; `None` otherwise (the same answer whichever it was).
pub fn login(
    store: &Store,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Option<NewSession>, StoreError> {
    let credentials = store.user_credentials(name)?.filter(|c| !c.user.disabled());
    // One argon2 check whoever asks: against the user's hash, or against
    // the dummy one, so that an unknown or disabled name costs as long.
    let phc = credentials
        .as_ref()
        .map_or(DUMMY_HASH, |c| c.password_hash.as_str());
    let right = verify(password, phc);
    let Some(credentials) = credentials.filter(|_| right) else {
        return Ok(None);
    };
    let secret = format!("{PREFIX}{}", random_text::<32>()?);
    let csrf = random_text::<32>()?;
    let opened = store.open_session(
        credentials.user.id,
        &credentials.password_hash,
        &crate::app::tokens::hash(&secret),
        &csrf,
        now,
    )?;
    if !opened {
        // Disabled, or given a new password, while the password was
        // being checked.
        return Ok(None);
    }
    Ok(Some(NewSession {
        caller: caller(store, &credentials.user)?,
        secret,
        csrf,
    }))
}

/// The session whose cookie secret is `secret`, if it is in use: not
/// idle past `limits.idle`, not older than `limits.max`, its user not
/// disabled. Marks it used at `now` (when it was last marked more than
/// [`TOUCH_EVERY`] ago); one found ended is deleted.
pub fn session(
    store: &Store,
    secret: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<Option<Session>, StoreError> {
    let Some(found) = store.session_by_hash(&crate::app::tokens::hash(secret))? else {
        return Ok(None);
    };
    let (idle_since, made_since) = limits.cutoffs(now);
    if found.user.disabled() || found.last_seen_at < idle_since || found.created_at < made_since {
        store.end_session(found.id)?;
        return Ok(None);
    }
    if found.last_seen_at < before(now, TOUCH_EVERY) {
        store.touch_session(found.id, now, idle_since, made_since)?;
    }
    Ok(Some(Session {
        caller: caller(store, &found.user)?,
        csrf: found.csrf,
    }))
}

/// Ends the session whose cookie secret is `secret` (logout).
pub fn logout(store: &Store, secret: &str) -> Result<(), StoreError> {
    store.end_session_by_hash(&crate::app::tokens::hash(secret))
}

/// Deletes every session ended by `limits` as of `now` (a session never
/// asked for again would otherwise stay); how many.
pub fn prune(
    store: &Store,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<usize, StoreError> {
    let (idle_since, made_since) = limits.cutoffs(now);
    store.prune_sessions(idle_since, made_since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
        let real = hash_password("a password of some length").expect("hash");
        let real = PasswordHash::new(&real).expect("parses");
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "the same output length"
        );
        assert!(!verify("", DUMMY_HASH));
    }

    #[test]
    fn passwords_hash_with_a_fresh_salt_and_verify() {
        let one = hash_password("correct horse battery").expect("hash");
        let two = hash_password("correct horse battery").expect("hash");
        assert_ne!(one, two, "a fresh salt each time");
        assert!(one.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &one));
        assert!(!verify("correct horse batterY", &one));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused_without_repeating_them() {
        for (name, password) in [
            ("王五", "pw123"),
            ("wangwu12345", "WangWu12345"),
            ("王五", &"长".repeat(MAX_PASSWORD + 1)),
        ] {
            let refused = check_password(name, password).expect_err("refused");
            assert_eq!(refused.field, "password");
            assert_eq!(refused.value, HIDDEN);
            assert!(!refused.to_string().contains(password));
        }
        check_password("王五", "十个字符的密码也可以").expect("ten characters");
    }

    #[test]
    fn limits_reaching_past_the_start_of_time_mean_none() {
        let now = Utc::now();
        assert_eq!(
            before(now, Duration::from_secs(u64::MAX)),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(
            before(now, Duration::from_secs(60)),
            now - TimeDelta::seconds(60)
        );
    }
}
