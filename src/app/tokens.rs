//! API tokens: made (a random 256-bit secret shown once, only its SHA-256
//! stored), listed, revoked, and turned into a [`Caller`] on each request.

use crate::access::{Caller, Limit, Role, Visible};
use crate::store::tokens::Token;
use crate::store::{Change, Store, StoreError};

/// What a token's text starts with: a reader of a log or a leaked file can
/// tell what it is (and secret scanners can match it).
pub const PREFIX: &str = "swt_";

/// A token just made: the stored record, and the secret shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token: Token,
    pub secret: String,
}

/// The SHA-256 of a token's text, as stored.
pub fn hash(secret: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

/// Makes a token `name` with `role`, limited to the organizations named in
/// `orgs` (names or ids; none: all), audited under `change`.
pub fn create(
    store: &Store,
    name: &str,
    role: Role,
    orgs: &[String],
    with_subordinates: bool,
    change: &Change,
) -> Result<NewToken, StoreError> {
    let name = crate::registry::text::name("name", name)?;
    let mut ids = Vec::new();
    for key in orgs {
        ids.push(store.org_by_key(key)?.id);
    }
    if with_subordinates && ids.is_empty() {
        return Err(crate::registry::Invalid::new(
            "with-subordinates",
            "true",
            "applies to the organizations a token is limited to: give --org",
        )
        .into());
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        StoreError::Conflict("the system's random number generator failed".to_string())
    })?;
    use base64::Engine;
    let secret = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let limit = Limit {
        orgs: ids,
        with_subordinates,
    };
    let token = store.add_token(&name, role, &limit, &hash(&secret), change)?;
    Ok(NewToken { token, secret })
}

/// The caller a bearer token names, if it is a token in use: its role, and
/// the organizations it sees as the registry stands now.
pub fn authenticate(store: &Store, secret: &str) -> Result<Option<Caller>, StoreError> {
    let Some(token) = store.token_by_hash(&hash(secret))? else {
        return Ok(None);
    };
    Ok(Some(Caller {
        visible: visible(store, &token.limit())?,
        name: token.name,
        via: crate::access::Via::ApiToken,
        role: token.role,
    }))
}

/// What a caller limited by `limit` sees, as the registry stands now (a
/// token's or a web user's): the organizations are read only when there
/// is a limit.
pub fn visible(store: &Store, limit: &Limit) -> Result<Visible, StoreError> {
    Ok(if limit.orgs.is_empty() {
        Visible::All
    } else {
        Visible::resolve(limit, &store.orgs()?)
    })
}
