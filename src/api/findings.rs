//! `/api/v1/findings` and `/api/v1/exceptions`: findings listed a page at
//! a time (every filter in the store's statement), read with their
//! events, acknowledged; comply-or-explain exceptions listed, added and
//! ended. The same use cases as `siteward findings` and `siteward
//! exception`.
//!
//! Scopes: a finding belongs to its organization, or to its site's when
//! it has none; one of neither is seen only by unscoped tokens. An
//! exception has no organization: a scoped token sees, adds and ends only
//! those whose subject is a host name of one of its sites.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::page::{Page, PageQuery};
use super::{ApiState, blocking};
use crate::access::Role;
use crate::app::App;
use crate::app::findings::{self as use_case, StatusFilter};
use crate::dto::watch::{ExceptionDto, FindingDetailDto, FindingDto};
use crate::findings::{FindingKind, FindingStatus, Severity};
use crate::registry::{Hostname, text};
use crate::store::{ExceptionGrant, ExceptionRecord, FindingPageQuery, StoreError};

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_findings))
        .routes(routes!(get_finding))
        .routes(routes!(ack_finding))
        .routes(routes!(list_exceptions, add_exception))
        .routes(routes!(end_exception))
}

/// Filters of the finding list, as `siteward findings` has them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// `pending`, `open`, `acknowledged`, `resolved`, `suppressed`, or
    /// `all` (default: open and acknowledged).
    pub status: Option<String>,
    /// Only findings of this kind (`dangling_cname`, `cert_expired`, …).
    pub kind: Option<String>,
    /// `critical`, `warning` or `info`.
    pub severity: Option<String>,
    /// Only findings of this site (id, identifier code or host name).
    pub site: Option<String>,
    /// Only findings of this organization (id or name): its own, and its
    /// sites' that name no organization.
    pub org: Option<String>,
    /// Only findings of organizations whose division code starts with
    /// these digits (`62`: a province, `6201`: a city).
    pub division: Option<String>,
}

fn parse<T: std::str::FromStr>(
    field: &str,
    raw: &Option<String>,
    rule: impl FnOnce() -> String,
) -> Result<Option<T>, ApiError> {
    match raw {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field(field, raw, &rule())),
    }
}

/// The finding list's filters, parsed and checked.
pub(crate) struct Filters {
    pub status: StatusFilter,
    pub kind: Option<FindingKind>,
    pub severity: Option<Severity>,
}

/// `query`'s status, kind and severity, and its division checked: the
/// same words for the API and the web page.
pub(crate) fn filters(query: &FindingQuery) -> Result<Filters, ApiError> {
    let status: StatusFilter = parse("status", &query.status, || {
        format!("must be one of: {}, all", FindingStatus::names())
    })?
    .unwrap_or_default();
    let kind: Option<FindingKind> = parse("kind", &query.kind, || {
        format!("is not a finding kind; kinds: {}", FindingKind::names())
    })?;
    let severity: Option<Severity> = parse("severity", &query.severity, || {
        format!("must be one of: {}", Severity::names())
    })?;
    if let Some(division) = &query.division
        && (division.is_empty()
            || division.len() > 6
            || !division.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::field(
            "division",
            division,
            "must be the first 1 to 6 digits of a division code",
        ));
    }
    Ok(Filters {
        status,
        kind,
        severity,
    })
}

/// Up to `limit` findings after id `after` that `query` asks for and
/// `auth` sees, with the names they point at: the site and organization
/// filtered on must be the caller's (404 otherwise), and every filter is
/// in the store's statement.
pub(crate) fn read_page(
    app: &App,
    auth: &Auth,
    query: &FindingQuery,
    filters: &Filters,
    after: Option<i64>,
    limit: usize,
) -> Result<(Vec<crate::store::StoredFinding>, use_case::Names), ApiError> {
    let site_id = match &query.site {
        Some(key) => Some(auth.site(key, app.store.site(key))?.id),
        None => None,
    };
    let org_id = match &query.org {
        Some(key) => Some(auth.org(key, app.store.org_by_key(key))?.id),
        None => None,
    };
    let orgs = use_case::org_scope(
        &app.store,
        &auth.0.visible,
        org_id,
        query.division.as_deref(),
    )?;
    Ok(use_case::page(
        &app.store,
        &FindingPageQuery {
            statuses: filters.status.statuses(),
            kind: filters.kind,
            severity: filters.severity,
            site_id,
            orgs,
            after,
            limit,
        },
    )?)
}

/// The findings the caller sees, by id, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "findings",
    params(FindingQuery, PageQuery),
    responses(
        (status = 200, description = "A page of findings", body = Page<FindingDto>),
        (status = 400, description = "A bad filter or cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "The site or organization filtered on does not exist, or is not the caller's", body = ErrorBody),
    )
)]
async fn list_findings(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<FindingQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<FindingDto>>, ApiError> {
    let window = paging.window()?;
    let filters = filters(&query)?;
    let page = blocking(&state, move |app| {
        // One more than the page: whether a next page exists.
        let (findings, names) =
            read_page(app, &auth, &query, &filters, window.after, window.limit + 1)?;
        Ok(window.page(findings, |f| f.id, |f| FindingDto::new(&f, &names)))
    })
    .await?;
    Ok(Json(page))
}

/// A finding with its events (opened, acknowledged, resolved…), as
/// `siteward findings show ID --json`.
#[utoipa::path(
    get,
    path = "/api/v1/findings/{id}",
    tag = "findings",
    params(("id" = i64, Path, description = "The finding's id")),
    responses(
        (status = 200, description = "The finding and its events", body = FindingDetailDto),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such finding, or not the caller's", body = ErrorBody),
    )
)]
async fn get_finding(
    State(state): State<ApiState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<FindingDetailDto>, ApiError> {
    let detail = blocking(&state, move |app| {
        let (finding, events) = use_case::visible_finding(&app.store, &auth.0.visible, id)?;
        let names = use_case::names_of(&app.store, std::slice::from_ref(&finding))?;
        Ok(FindingDetailDto::new(&finding, &events, &names))
    })
    .await?;
    Ok(Json(detail))
}

/// An acknowledgement: who is on the finding and what is being done.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Recorded with the acknowledgement and in the audit trail; not
    /// empty.
    pub note: String,
}

/// Acknowledges a finding: someone is on it. It stays acknowledged while
/// it holds, and resolves when it stops. Operators and admins.
#[utoipa::path(
    post,
    path = "/api/v1/findings/{id}/ack",
    tag = "findings",
    params(("id" = i64, Path, description = "The finding's id")),
    request_body = AckBody,
    responses(
        (status = 200, description = "The finding, acknowledged", body = FindingDto),
        (status = 400, description = "A bad note", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "The token's role is below operator", body = ErrorBody),
        (status = 404, description = "No such finding, or not the caller's", body = ErrorBody),
        (status = 409, description = "The finding is resolved", body = ErrorBody),
    )
)]
async fn ack_finding(
    State(state): State<ApiState>,
    auth: Auth,
    id: Result<Path<i64>, ApiError>,
    body: Result<super::extract::Json<AckBody>, ApiError>,
) -> Result<Json<FindingDto>, ApiError> {
    auth.require(Role::Operator)?;
    let Path(id) = id?;
    let super::extract::Json(body) = body?;
    let note = text::note("note", &body.note)?;
    let finding = blocking(&state, move |app| {
        let (finding, _) = use_case::visible_finding(&app.store, &auth.0.visible, id)?;
        if finding.status == FindingStatus::Resolved {
            return Err(resolved(id));
        }
        let finding = use_case::acknowledge(&app.store, id, &auth.change(), &note)?;
        let names = use_case::names_of(&app.store, std::slice::from_ref(&finding))?;
        Ok(FindingDto::new(&finding, &names))
    })
    .await?;
    Ok(Json(finding))
}

/// 409 for a resolved finding: a lifecycle refusal naming its state.
pub(crate) fn resolved(id: i64) -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        body: serde_json::json!({
            "error": format!("finding {id} is resolved: there is nothing to acknowledge"),
            "current": FindingStatus::Resolved.as_str(),
            "allowed": Vec::<String>::new(),
        }),
    }
}

/// Whether the caller sees exception `e`: every one when unscoped; else
/// one whose subject names a host name of a site it sees (`host`, `host
/// address`, `host -> linked host`).
pub(crate) fn sees_exception(
    app: &App,
    auth: &Auth,
    e: &ExceptionRecord,
) -> Result<bool, ApiError> {
    if auth.0.visible.all() {
        return Ok(true);
    }
    let Some(host) = e
        .subject
        .split_whitespace()
        .next()
        .and_then(|h| h.parse::<Hostname>().ok())
    else {
        return Ok(false);
    };
    match app.store.site(host.as_str()) {
        Ok(site) => Ok(auth.0.visible.org_name(&site.org)),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Comply-or-explain exceptions the caller sees, by id, a page at a time
/// (ended ones too: their `until` is when they ended).
#[utoipa::path(
    get,
    path = "/api/v1/exceptions",
    tag = "exceptions",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of exceptions", body = Page<ExceptionDto>),
        (status = 400, description = "A bad cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn list_exceptions(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<ExceptionDto>>, ApiError> {
    let window = paging.window()?;
    let page = blocking(&state, move |app| {
        let mut seen = Vec::new();
        for e in app.store.exceptions()? {
            if sees_exception(app, &auth, &e)? {
                seen.push(e);
            }
        }
        Ok(window.page(seen, |e| e.id, |e| ExceptionDto::from(&e)))
    })
    .await?;
    Ok(Json(page))
}

/// A comply-or-explain exception asked for, as `siteward exception add`
/// takes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExceptionBody {
    /// The finding kind waived.
    pub kind: String,
    /// What it is waived for: the finding's subject (a host name, a zone,
    /// `host address`, `platform:account`).
    pub subject: String,
    /// Why the rule is waived; recorded in the audit trail.
    pub reason: String,
    /// When it expires: RFC 3339, or a bare date (`2026-06-30`) lasting
    /// through that day, China Standard Time. In the future, and at most
    /// the policy's `max_exception_days` ahead.
    pub until: String,
}

/// Records a comply-or-explain exception: a rule waived for a subject,
/// with a reason, until a date. Operators and admins.
#[utoipa::path(
    post,
    path = "/api/v1/exceptions",
    tag = "exceptions",
    request_body = NewExceptionBody,
    responses(
        (status = 201, description = "The exception, recorded", body = ExceptionDto),
        (status = 400, description = "A bad kind, subject, reason or date", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "The token's role is below operator, or its organizations hold no site of the subject", body = ErrorBody),
    )
)]
async fn add_exception(
    State(state): State<ApiState>,
    auth: Auth,
    body: Result<super::extract::Json<NewExceptionBody>, ApiError>,
) -> Result<(StatusCode, Json<ExceptionDto>), ApiError> {
    auth.require(Role::Operator)?;
    let super::extract::Json(body) = body?;
    body.kind.parse::<FindingKind>().map_err(|_| {
        ApiError::field(
            "kind",
            &body.kind,
            &format!("is not a finding kind; kinds: {}", FindingKind::names()),
        )
    })?;
    let subject = text::name("subject", &body.subject)?;
    let reason = text::note("reason", &body.reason)?;
    let until = crate::clock::parse_deadline("until", &body.until)?;
    let record = blocking(&state, move |app| {
        let change = auth.change();
        // A scoped token waives rules only for its own sites' host names:
        // checked on what the exception would record, before writing it.
        if !auth.0.visible.all() {
            let probe = ExceptionRecord {
                id: 0,
                kind: body.kind.clone(),
                subject: subject.clone(),
                reason: reason.clone(),
                actor: change.actor.clone(),
                until,
                created_at: change.recorded_at,
            };
            if !sees_exception(app, &auth, &probe)? {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token `{}` is limited to organizations: it may waive rules only for host names of their sites",
                        auth.0.name
                    ),
                ));
            }
        }
        Ok(app.store.add_exception(
            &body.kind,
            &subject,
            &ExceptionGrant { reason, until },
            &app.policy(),
            &change,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(ExceptionDto::from(&record))))
}

/// Why an exception ends early.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndExceptionBody {
    /// Required; kept in the audit trail.
    pub reason: String,
}

/// Ends an exception now, before its date: the rule applies again from
/// the next check. Operators and admins.
#[utoipa::path(
    post,
    path = "/api/v1/exceptions/{id}/end",
    tag = "exceptions",
    params(("id" = i64, Path, description = "The exception's id")),
    request_body = EndExceptionBody,
    responses(
        (status = 200, description = "The exception, ended now", body = ExceptionDto),
        (status = 400, description = "A bad reason", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "The token's role is below operator", body = ErrorBody),
        (status = 404, description = "No such exception, or not the caller's", body = ErrorBody),
        (status = 409, description = "The exception has already ended", body = ErrorBody),
    )
)]
async fn end_exception(
    State(state): State<ApiState>,
    auth: Auth,
    id: Result<Path<i64>, ApiError>,
    body: Result<super::extract::Json<EndExceptionBody>, ApiError>,
) -> Result<Json<ExceptionDto>, ApiError> {
    auth.require(Role::Operator)?;
    let Path(id) = id?;
    let super::extract::Json(body) = body?;
    let reason = text::note("reason", &body.reason)?;
    let record = blocking(&state, move |app| {
        let change = auth.change();
        let Some(current) = app.store.exceptions()?.into_iter().find(|e| e.id == id) else {
            return Err(ApiError::not_found("exception", &id.to_string()));
        };
        if !sees_exception(app, &auth, &current)? {
            return Err(ApiError::not_found("exception", &id.to_string()));
        }
        if current.until <= change.effective_at {
            return Err(ApiError {
                status: StatusCode::CONFLICT,
                body: serde_json::json!({
                    "error": format!(
                        "exception {id} already ended at {} (China Standard Time)",
                        crate::clock::show(current.until)
                    ),
                    "current": "ended",
                    "allowed": Vec::<String>::new(),
                }),
            });
        }
        Ok(app.store.end_exception(id, &reason, &change)?)
    })
    .await?;
    Ok(Json(ExceptionDto::from(&record)))
}
