//! `/api/v1/sites`: the registry's sites, listed (one page read from the
//! database, every filter in SQL), read, requested, edited and taken
//! through their lifecycle, as `siteward site` does. Also the small
//! parsers the registry's handlers share: a JSON field checked as the
//! command line checks its option, refused naming the field.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::page::{Page, PageQuery};
use super::{ApiState, blocking};
use crate::access::{Role, Visible};
use crate::app::App;
use crate::dto::registry::{
    ApproveBody, AtBody, GoLiveBody, ReasonBody, RetireBody, SiteDto, SiteEditBody, SiteRequestBody,
};
use crate::registry::lifecycle::{SiteAction, SiteEdit};
use crate::registry::{Hostname, Invalid, Site, SiteCode, SiteKind, SiteStatus, text};
use crate::store::{ExceptionGrant, SiteRequest, SiteSearch};

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites, request_site))
        .routes(routes!(get_site, edit_site))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(go_live))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(retire))
        .routes(routes!(offline))
        .routes(routes!(close))
}

/// A value parsed, its refusal naming `name`, the JSON field it came in
/// (a parser names its own field: `hostname`, `url`).
pub(crate) fn field<T>(name: &str, parsed: Result<T, Invalid>) -> Result<T, ApiError> {
    parsed.map_err(|mut invalid| {
        invalid.field = name.to_string();
        ApiError::invalid(&invalid)
    })
}

/// A name (of a site, an organization, an account, a contact), as
/// `text::name` checks it.
pub(crate) fn name(field: &str, raw: &str) -> Result<String, ApiError> {
    Ok(text::name(field, raw)?)
}

/// An optional name.
pub(crate) fn maybe_name(field: &str, raw: Option<&String>) -> Result<Option<String>, ApiError> {
    raw.map(|r| name(field, r)).transpose()
}

/// Free text (a reason, a reference, a filing number, a URL kept as
/// given), as `text::note` checks it.
pub(crate) fn note(field: &str, raw: &str) -> Result<String, ApiError> {
    Ok(text::note(field, raw)?)
}

pub(crate) fn maybe_note(field: &str, raw: Option<&String>) -> Result<Option<String>, ApiError> {
    raw.map(|r| note(field, r)).transpose()
}

/// An enum or code from its text, refused naming `field`.
pub(crate) fn parsed<T: std::str::FromStr<Err = Invalid>>(
    field_name: &str,
    raw: &str,
) -> Result<T, ApiError> {
    field(field_name, raw.parse())
}

pub(crate) fn maybe_parsed<T: std::str::FromStr<Err = Invalid>>(
    field_name: &str,
    raw: Option<&String>,
) -> Result<Option<T>, ApiError> {
    raw.map(|r| parsed(field_name, r)).transpose()
}

/// The `at` of a request (RFC 3339, or `YYYY-MM-DD [HH:MM]` in China
/// Standard Time, as `--at`); its range is checked by `Auth::change_at`.
pub(crate) fn at(raw: Option<&String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(raw.map(|r| crate::clock::parse_time("at", r)).transpose()?)
}

/// Host names, as `--domain` reads them (a URL keeps its host).
pub(crate) fn hostnames(field_name: &str, raw: &[String]) -> Result<Vec<Hostname>, ApiError> {
    raw.iter()
        .map(|h| field(field_name, Hostname::from_url_or_host(h)))
        .collect()
}

/// A comply-or-explain exception: `exception` and `until` together or
/// neither (as the command line requires).
pub(crate) fn grant(
    exception: Option<&String>,
    until: Option<&String>,
) -> Result<Option<ExceptionGrant>, ApiError> {
    match (exception, until) {
        (None, None) => Ok(None),
        (Some(reason), Some(until)) => Ok(Some(ExceptionGrant {
            reason: note("exception", reason)?,
            until: crate::clock::parse_deadline("until", until)?,
        })),
        (Some(reason), None) => Err(ApiError::field(
            "until",
            "",
            &format!("is needed with exception `{reason}`: when the exception expires"),
        )),
        (None, Some(until)) => Err(ApiError::field(
            "exception",
            "",
            &format!("is needed with until `{until}`: why the rule is waived"),
        )),
    }
}

/// Filters of the site list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// Only sites in this status (`requested`, `approved`, `live`, …).
    pub status: Option<String>,
    /// Only the sites of this organization (name or id).
    pub org: Option<String>,
    /// Only sites of this kind: `portal`, `department` or `special`.
    pub kind: Option<String>,
    /// Only sites whose organizer's division code starts with these
    /// digits (`6201`: a prefecture and its counties).
    pub division: Option<String>,
    /// Only sites with (`true`) or without (`false`) an open or
    /// acknowledged finding.
    pub open_findings: Option<bool>,
    /// Text in the name, identifier code or a host name
    /// (case-insensitive; a Unicode host name in either form).
    pub q: Option<String>,
}

/// The sites the caller sees, by id, a page at a time. One page is read
/// from the database with its filters, whatever the registry's size.
#[utoipa::path(
    get,
    path = "/api/v1/sites",
    tag = "sites",
    params(SiteQuery, PageQuery),
    responses(
        (status = 200, description = "A page of sites", body = Page<SiteDto>),
        (status = 400, description = "A bad filter or cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such organization, or not the caller's", body = ErrorBody),
    )
)]
async fn list_sites(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<SiteQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<SiteDto>>, ApiError> {
    let window = paging.window()?;
    let status: Option<SiteStatus> = maybe_parsed("status", query.status.as_ref())?;
    let kind: Option<SiteKind> = maybe_parsed("kind", query.kind.as_ref())?;
    let page = blocking(&state, move |app| {
        let org_ids = match &query.org {
            Some(key) => Some(vec![auth.org(key, app.store.org_by_key(key))?.id]),
            None => match &auth.0.visible {
                Visible::All => None,
                Visible::Orgs { ids, .. } => Some(ids.iter().copied().collect()),
            },
        };
        let sites = app.store.search_sites(&SiteSearch {
            org_ids,
            status,
            kind,
            division_prefix: query.division.clone(),
            open_findings: query.open_findings,
            text: query.q.clone(),
            after: window.after,
            // One more than the page: whether there is a next one.
            limit: window.limit + 1,
        })?;
        Ok(window.page(sites, |s| s.id, |s| SiteDto::from(&s)))
    })
    .await?;
    Ok(Json(page))
}

/// A site by id, identifier code or host name (IDN in either form).
#[utoipa::path(
    get,
    path = "/api/v1/sites/{site}",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    responses(
        (status = 200, description = "The site", body = SiteDto),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
    )
)]
async fn get_site(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<SiteDto>, ApiError> {
    let site = blocking(&state, move |app| {
        let site = app.store.site(&key);
        auth.site(&key, site)
    })
    .await?;
    Ok(Json(SiteDto::from(&site)))
}

/// Requests a site (→ requested), as `site request` does.
#[utoipa::path(
    post,
    path = "/api/v1/sites",
    tag = "sites",
    request_body = SiteRequestBody,
    responses(
        (status = 201, description = "The site, requested", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such organization, or not the caller's", body = ErrorBody),
        (status = 409, description = "A code or host name already held", body = ErrorBody),
    )
)]
async fn request_site(
    State(state): State<ApiState>,
    auth: Auth,
    super::extract::Json(body): super::extract::Json<SiteRequestBody>,
) -> Result<(StatusCode, Json<SiteDto>), ApiError> {
    auth.require(Role::Admin)?;
    let site_name = name("name", &body.name)?;
    let org = name("org", &body.org)?;
    let kind: SiteKind = parsed("kind", &body.kind)?;
    if body.domains.is_empty() {
        return Err(ApiError::field(
            "domains",
            "[]",
            "needs at least one host name (the first is primary)",
        ));
    }
    let domains = hostnames("domains", &body.domains)?;
    let code: Option<SiteCode> = maybe_parsed("code", body.code.as_ref())?;
    let icp_filing = maybe_note("icp", body.icp.as_ref())?;
    let psb_filing = maybe_note("psb", body.psb.as_ref())?;
    let exception = grant(body.exception.as_ref(), body.until.as_ref())?;
    let at = at(body.at.as_ref())?;
    let site = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        let org = auth.org(&org, app.store.org_by_key(&org))?;
        let outcome = app.store.request_site(
            &SiteRequest {
                name: site_name,
                org: org.name,
                kind,
                domains,
                code,
                icp_filing,
                psb_filing,
                exception,
            },
            &app.policy(),
            &change,
        )?;
        Ok(outcome.value)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(SiteDto::from(&site))))
}

/// Changes a site's details or host names, as `site edit` does: only the
/// fields given change.
#[utoipa::path(
    patch,
    path = "/api/v1/sites/{site}",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = SiteEditBody,
    responses(
        (status = 200, description = "The site, changed", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site or organization, or not the caller's", body = ErrorBody),
        (status = 409, description = "A code or host name already held", body = ErrorBody),
    )
)]
async fn edit_site(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<SiteEditBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let edit = CheckedEdit::of(&body)?;
    let site = blocking(&state, move |app| edit.apply(app, &auth, &key)).await?;
    Ok(Json(SiteDto::from(&site)))
}

/// An edit's fields checked, as `site edit` checks them; the web page's
/// form is read into the same body.
pub(crate) struct CheckedEdit {
    edit: SiteEdit,
    /// The organization to move to, resolved against what the caller sees.
    org: Option<String>,
    exception: Option<ExceptionGrant>,
    at: Option<DateTime<Utc>>,
}

impl CheckedEdit {
    pub(crate) fn of(body: &SiteEditBody) -> Result<CheckedEdit, ApiError> {
        let reference = maybe_note("reference", body.reference.as_ref())?;
        let reason = maybe_note("reason", body.reason.as_ref())?;
        // As `--ref` with `--reason`: the document, then why.
        let reason = match (reference, reason) {
            (Some(reference), Some(reason)) => Some(format!("{reference}: {reason}")),
            (reference, reason) => reference.or(reason),
        };
        Ok(CheckedEdit {
            edit: SiteEdit {
                reason,
                name: maybe_name("name", body.name.as_ref())?,
                kind: maybe_parsed("kind", body.kind.as_ref())?,
                org: None,
                code: maybe_parsed("code", body.code.as_ref())?,
                icp_filing: maybe_note("icp", body.icp.as_ref())?,
                psb_filing: maybe_note("psb", body.psb.as_ref())?,
                successor_url: maybe_note("successor_url", body.successor_url.as_ref())?,
                approval_ref: None,
                add_aliases: hostnames("add_domains", &body.add_domains)?,
                release: hostnames("release_domains", &body.release_domains)?,
                primary: body
                    .primary
                    .as_ref()
                    .map(|p| field("primary", Hostname::from_url_or_host(p)))
                    .transpose()?,
            },
            org: maybe_name("org", body.org.as_ref())?,
            exception: grant(body.exception.as_ref(), body.until.as_ref())?,
            at: at(body.at.as_ref())?,
        })
    }

    /// Whether it asks for no change at all (a reason alone is none).
    pub(crate) fn is_empty(&self) -> bool {
        self.edit.is_empty() && self.org.is_none() && self.exception.is_none()
    }

    /// Edits the site `key` if the caller sees it (and the organization
    /// it moves to), under the caller's name.
    pub(crate) fn apply(self, app: &App, auth: &Auth, key: &str) -> Result<Site, ApiError> {
        let change = auth.change_at(self.at)?;
        auth.site(key, app.store.site(key))?;
        let mut edit = self.edit;
        if let Some(org) = self.org {
            // Moved only to an organization the caller sees.
            edit.org = Some(auth.org(&org, app.store.org_by_key(&org))?.name);
        }
        Ok(app
            .store
            .edit_site(key, &edit, self.exception.as_ref(), &app.policy(), &change)?
            .value)
    }
}

/// Takes a site the caller sees through `action`, effective `at`.
async fn transition(
    state: ApiState,
    auth: Auth,
    key: String,
    action: SiteAction,
    at: Option<DateTime<Utc>>,
) -> Result<Json<SiteDto>, ApiError> {
    let site = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        auth.site(&key, app.store.site(&key))?;
        Ok(app
            .store
            .transition_site(&key, &action, &app.policy(), &change)?
            .value)
    })
    .await?;
    Ok(Json(SiteDto::from(&site)))
}

/// Approves a requested site (→ approved).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/approve",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "The site, approved", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status: `current` and `allowed` say what is", body = ErrorBody),
    )
)]
async fn approve(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<ApproveBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = SiteAction::Approve {
        reference: note("reference", &body.reference)?,
    };
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, action, at).await
}

/// Rejects a requested site (→ rejected).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/reject",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The site, rejected", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn reject(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<ReasonBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = SiteAction::Reject {
        reason: note("reason", &body.reason)?,
    };
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, action, at).await
}

/// An approved site goes live with its identifier code (→ live).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/go-live",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = GoLiveBody,
    responses(
        (status = 200, description = "The site, live", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn go_live(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<GoLiveBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = SiteAction::GoLive {
        code: maybe_parsed("code", body.code.as_ref())?,
    };
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, action, at).await
}

/// Suspends a live site (→ suspended).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/suspend",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The site, suspended", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn suspend(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<ReasonBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = SiteAction::Suspend {
        reason: note("reason", &body.reason)?,
    };
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, action, at).await
}

/// Resumes a suspended site (→ live).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/resume",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = AtBody,
    responses(
        (status = 200, description = "The site, live again", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn resume(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AtBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, SiteAction::Resume, at).await
}

/// Retires a site: the closure notice goes up (→ retiring).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/retire",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = RetireBody,
    responses(
        (status = 200, description = "The site, retiring", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn retire(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<RetireBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = SiteAction::Retire {
        reference: note("reference", &body.reference)?,
        successor_url: maybe_note("successor_url", body.successor_url.as_ref())?,
    };
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, action, at).await
}

/// Takes a retiring site offline after its notice period; its domains
/// start releasing (→ offline).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/offline",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = AtBody,
    responses(
        (status = 200, description = "The site, offline", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status, or too early", body = ErrorBody),
    )
)]
async fn offline(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AtBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, SiteAction::Offline, at).await
}

/// Closes an offline site once its domains are deregistered (→ closed).
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/close",
    tag = "sites",
    params(("site" = String, Path, description = "Id, identifier code or host name")),
    request_body = AtBody,
    responses(
        (status = 200, description = "The site, closed", body = SiteDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such site, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status, or too early", body = ErrorBody),
    )
)]
async fn close(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AtBody>,
) -> Result<Json<SiteDto>, ApiError> {
    auth.require(Role::Admin)?;
    let at = at(body.at.as_ref())?;
    transition(state, auth, key, SiteAction::Close, at).await
}
