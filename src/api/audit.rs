//! `/api/v1/audit`: the audit trail, filtered as `siteward audit` filters
//! it (and by actor and time), oldest first like the command line, a page
//! at a time. A token limited to organizations sees only the rows about
//! their sites, accounts and the organizations themselves.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::Query;
use super::page::{Page, PageQuery};
use super::sites::maybe_name;
use super::{ApiState, blocking};
use crate::app::registry::{AuditQuery, AuditScope};
use crate::dto::registry::AuditEntryDto;

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Filters of the audit trail.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Rows about this site (id, identifier code or host name) and its
    /// host names.
    pub site: Option<String>,
    /// Rows about this account (id, or PLATFORM:ACCOUNT_ID).
    pub account: Option<String>,
    /// Rows about this organization (name or id); ignored with `account`.
    pub org: Option<String>,
    /// Rows of this actor: a person, or an API token's name.
    pub actor: Option<String>,
    /// Rows recorded at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Rows recorded before this time (RFC 3339).
    pub to: Option<String>,
}

/// The audit trail, oldest first (as `siteward audit`), a page at a
/// time: `next_cursor` continues after the last row given, so rows
/// written meanwhile come on later pages and none repeats.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditParams, PageQuery),
    responses(
        (status = 200, description = "A page of audit rows, oldest first", body = Page<AuditEntryDto>),
        (status = 400, description = "A bad filter, time or cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such site, account or organization, or not the caller's", body = ErrorBody),
    )
)]
async fn list_audit(
    State(state): State<ApiState>,
    auth: Auth,
    Query(params): Query<AuditParams>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<AuditEntryDto>>, ApiError> {
    let window = paging.window()?;
    let from = params
        .from
        .as_deref()
        .map(|raw| crate::clock::parse_time("from", raw))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|raw| crate::clock::parse_time("to", raw))
        .transpose()?;
    let actor = maybe_name("actor", params.actor.as_ref())?;
    let page = blocking(&state, move |app| {
        // What the caller names must be what it may see: 404 otherwise.
        if let Some(key) = &params.site {
            auth.site(key, app.store.site(key))?;
        }
        if let Some(key) = &params.account {
            let account = app.store.account(key)?;
            if !auth.0.visible.org_name(&account.org) {
                return Err(ApiError::not_found("account", key));
            }
        }
        if let Some(key) = &params.org {
            auth.org(key, app.store.org_by_key(key))?;
        }
        let rows = crate::app::registry::audit(
            &app.store,
            &AuditQuery {
                site: params.site.clone(),
                account: params.account.clone(),
                org: params.org.clone(),
                last: None,
                actor,
                from,
                to,
            },
        )?;
        let scope = AuditScope::of(&app.store, &auth.0.visible)?;
        let rows = rows
            .into_iter()
            .filter(|row| scope.as_ref().is_none_or(|s| s.shows(row)));
        Ok(window.page(rows, |r| r.id, |r| AuditEntryDto::from(&r)))
    })
    .await?;
    Ok(Json(page))
}
