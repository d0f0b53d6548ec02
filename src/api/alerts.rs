//! Alerts: `/api/v1/alerts/outbox` (the messages planned, delivered or
//! failed, as `alerts list`), `/api/v1/alerts/sinks` (each sink and its
//! state, as `alerts sinks`) and `/api/v1/maintenance` (maintenance
//! windows: listed, added and ended, as `maintenance list | add | end`).
//!
//! Who sees what: the outbox and the sinks are province-wide, answered
//! 403 to a token limited to organizations whatever they hold
//! ([`super::auth::Auth::province_wide`]). Maintenance windows are an
//! organization's: a scoped token lists those of its organizations and
//! their sites, adds windows only for them, and is answered 404 for
//! another's, as if it did not exist.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{self, Path, Query};
use super::page::{Page, PageQuery};
use super::{ApiState, blocking};
use crate::access::Role;
use crate::alerts::NotificationStatus;
use crate::dto::files::{NewWindowBody, NotificationDto, SinkDto, WindowDto};

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(outbox))
        .routes(routes!(sinks))
        .routes(routes!(list_windows, add_window))
        .routes(routes!(end_window))
}

/// Filters of the outbox.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages in this status: `pending`, `delivered`, `failed` or
    /// `cancelled`.
    pub status: Option<String>,
}

/// The outbox, newest first, a page at a time, as `alerts list`.
/// Province-wide: 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/outbox",
    tag = "alerts",
    params(OutboxQuery, PageQuery),
    responses(
        (status = 200, description = "A page of messages, newest first", body = Page<NotificationDto>),
        (status = 400, description = "A bad status, cursor or limit", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
    )
)]
async fn outbox(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<OutboxQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<NotificationDto>>, ApiError> {
    auth.province_wide("the outbox's messages")?;
    let window = paging.window()?;
    let status = match &query.status {
        Some(raw) => Some(raw.parse::<NotificationStatus>().map_err(|_| {
            ApiError::field(
                "status",
                raw,
                "must be pending, delivered, failed or cancelled",
            )
        })?),
        None => None,
    };
    let page = blocking(&state, move |app| {
        // Newest first: the cursor holds the last id given, negated, so
        // that the page starts below it; one more than asked tells
        // whether there is a next page.
        let before = window.after.map(|after| -after);
        let limit = i64::try_from(window.limit + 1).unwrap_or(i64::MAX);
        let rows = app.store.notifications_before(status, before, limit)?;
        Ok(window.page(rows, |n| -n.id, |n| NotificationDto::from(&n)))
    })
    .await?;
    Ok(Json(page))
}

/// Every configured sink and its state (ok, rate-limited until a time,
/// or broken with the reason), then organizations' own webhooks that
/// are not ok, as `alerts sinks`; URLs with their secrets hidden.
/// Province-wide: 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/sinks",
    tag = "alerts",
    responses(
        (status = 200, description = "The sinks", body = Vec<SinkDto>),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
    )
)]
async fn sinks(State(state): State<ApiState>, auth: Auth) -> Result<Json<Vec<SinkDto>>, ApiError> {
    auth.province_wide("sinks")?;
    let sinks = blocking(&state, |app| Ok(crate::app::alerts::sinks(app)?)).await?;
    Ok(Json(sinks.iter().map(SinkDto::from).collect()))
}

/// The maintenance windows not ended, by id, a page at a time, whether
/// each is on now and when it next starts, as `maintenance list`; a
/// scoped token sees those of its organizations and their sites.
#[utoipa::path(
    get,
    path = "/api/v1/maintenance",
    tag = "alerts",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of windows", body = Page<WindowDto>),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn list_windows(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<WindowDto>>, ApiError> {
    let window = paging.window()?;
    let page = blocking(&state, move |app| {
        let windows =
            crate::app::alerts::visible_windows(&app.store, &auth.0.visible, chrono::Utc::now())?;
        Ok(window.page(windows, |w| w.id, |w| WindowDto::from(&w)))
    })
    .await?;
    Ok(Json(page))
}

/// Adds a maintenance window for a site or an organization, as
/// `maintenance add`: recurring on a crontab schedule (China Standard
/// Time), each time for a duration; its findings are still judged, its
/// messages held while it is on. Needs an operator token; a site or
/// organization the token may not see is 404.
#[utoipa::path(
    post,
    path = "/api/v1/maintenance",
    tag = "alerts",
    request_body = NewWindowBody,
    responses(
        (status = 201, description = "The window, added (audited)", body = WindowDto),
        (status = 400, description = "A bad field; nothing added", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an operator", body = ErrorBody),
        (status = 404, description = "No such site or organization, or not the caller's", body = ErrorBody),
    )
)]
async fn add_window(
    State(state): State<ApiState>,
    auth: Auth,
    body: Result<extract::Json<NewWindowBody>, ApiError>,
) -> Result<(StatusCode, Json<WindowDto>), ApiError> {
    auth.require(Role::Operator)?;
    let extract::Json(body) = body?;
    let new = crate::app::alerts::window_asked(&crate::app::alerts::WindowAsked {
        site: body.site,
        org: body.org,
        cron: body.cron,
        duration: body.duration,
        reason: body.reason,
    })?;
    let change = auth.change();
    let added = blocking(&state, move |app| {
        // What the caller may not see answers as if it did not exist.
        Ok(crate::app::alerts::add_window(
            &app.store,
            &auth.0.visible,
            new,
            &change,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(WindowDto::from(&added))))
}

/// Ends a maintenance window for good, as `maintenance end`: its
/// messages are no longer held, and if it is on, the daemon tells its
/// end with what is still open. Needs an operator token; another
/// organization's window is 404.
#[utoipa::path(
    post,
    path = "/api/v1/maintenance/{id}/end",
    tag = "alerts",
    params(("id" = i64, Path, description = "The window's id")),
    responses(
        (status = 200, description = "The window, ended (audited)", body = WindowDto),
        (status = 400, description = "Already ended", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an operator", body = ErrorBody),
        (status = 404, description = "No such window, or not the caller's", body = ErrorBody),
    )
)]
async fn end_window(
    State(state): State<ApiState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<WindowDto>, ApiError> {
    auth.require(Role::Operator)?;
    let change = auth.change();
    let ended = blocking(&state, move |app| {
        Ok(crate::app::alerts::end_window(
            &app.store,
            &auth.0.visible,
            id,
            &change,
        )?)
    })
    .await?;
    Ok(Json(WindowDto::from(&ended)))
}
