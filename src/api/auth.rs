//! Bearer tokens on every `/api/v1` route: [`Auth`] extracts the caller
//! (401 without a token in use), [`Auth::require`] checks the role (403),
//! and what a caller may not see answers 404 ([`Auth::site`],
//! [`Auth::org`]), so that a scoped token cannot learn what exists. The
//! token is looked up on every request: a revoked one stops at once, on
//! every instance.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::{ApiState, authenticating};
use crate::access::{Caller, Role};
use crate::registry::{Organization, Site};
use crate::store::{Change, StoreError};

/// The caller of a request, authenticated.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Auth, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "no token: send `Authorization: Bearer TOKEN` (made with `siteward token create`)",
            ));
        };
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not `Bearer TOKEN`")
            })?
            .to_string();
        let caller = authenticating(state, &parts.method, move |app| {
            Ok(crate::app::tokens::authenticate(&app.store, &secret)?)
        })
        .await?;
        caller
            .map(Auth)
            .ok_or_else(|| ApiError::unauthorized("the token is not in use (unknown or revoked)"))
    }
}

impl Auth {
    /// 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.0.may(role) {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                format!(
                    "token `{}` has role {}; this needs {role} or above",
                    self.0.name, self.0.role
                ),
            ))
        }
    }

    /// 403 unless the caller sees every organization: `what` (runs,
    /// circulars, the outbox, tokens, imports) covers the whole province,
    /// so a token limited to organizations is refused whatever exists.
    pub fn province_wide(&self, what: &str) -> Result<(), ApiError> {
        if self.0.visible.all() {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                format!(
                    "{what} cover the whole province: token `{}` is limited to organizations",
                    self.0.name
                ),
            ))
        }
    }

    /// A change made by this token: its name is the actor, `api` the
    /// source, effective now.
    pub fn change(&self) -> Change {
        self.0.change()
    }

    /// A change by this token effective `at` (the request's `at` field)
    /// or now, refused as the command line refuses `--at`.
    pub fn change_at(&self, at: Option<chrono::DateTime<chrono::Utc>>) -> Result<Change, ApiError> {
        Ok(self.0.change_at(at)?)
    }

    /// The site if the caller sees it; 404 otherwise, as if it did not
    /// exist.
    pub fn site(&self, key: &str, site: Result<Site, StoreError>) -> Result<Site, ApiError> {
        match site {
            Ok(site) if self.0.visible.org_name(&site.org) => Ok(site),
            Ok(_) => Err(ApiError::not_found("site", key)),
            Err(e) => Err(e.into()),
        }
    }

    /// The organization if the caller sees it; 404 otherwise.
    pub fn org(
        &self,
        key: &str,
        org: Result<Organization, StoreError>,
    ) -> Result<Organization, ApiError> {
        match org {
            Ok(org) if self.0.visible.org_id(org.id) => Ok(org),
            Ok(_) => Err(ApiError::not_found("organization", key)),
            Err(e) => Err(e.into()),
        }
    }
}
