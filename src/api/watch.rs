//! `/api/v1/observations`, `/api/v1/runs` and `/api/v1/discovered`: what
//! was seen of a host name as of a time, the jobs' runs (listed, in
//! progress, asked for), and the host names learnt beyond the registry.
//!
//! A check asked for (`POST /api/v1/runs`) is not run inside the request:
//! the job's stored next fire time moves to now, and the scheduler of
//! whichever daemon looks first claims it as any other fire, so that
//! daemons sharing the database never run it twice (`app::status::request`).
//!
//! Scopes: a scoped token reads the observations only of its sites' host
//! names (404 otherwise). Runs and schedules belong to no organization
//! but describe the service, so every token reads them; their failures
//! name host names of every organization, so only unscoped tokens see
//! them. Discovered host names belong to no organization: a scoped token
//! lists none.

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
use crate::dto::watch::{
    CurrentRunsDto, DiscoveredDto, ObservationsDto, RunDto, RunRequestedDto, ScheduleDto,
};
use crate::jobs::Job;
use crate::registry::Hostname;

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(observations))
        .routes(routes!(list_runs, start_run))
        .routes(routes!(current_runs))
        .routes(routes!(list_discovered))
}

/// When to look.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339, or a date and time in China Standard Time (default:
    /// now).
    pub at: Option<String>,
}

/// What was seen of a host name as of a time: the newest stored
/// observation of each kind (DNS, its zone, TLS, the page, IPv6…) and
/// address first seen at or before it.
#[utoipa::path(
    get,
    path = "/api/v1/observations/{host}",
    tag = "observations",
    params(("host" = String, Path, description = "The host name (or a URL), in either IDN form"), AtQuery),
    responses(
        (status = 200, description = "The observations as of the time", body = ObservationsDto),
        (status = 400, description = "A bad host name or time", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "A scoped token, and no site of its organizations holds the host name", body = ErrorBody),
    )
)]
async fn observations(
    State(state): State<ApiState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(query): Query<AtQuery>,
) -> Result<Json<ObservationsDto>, ApiError> {
    let host = Hostname::from_url_or_host(&raw)?;
    let at = match &query.at {
        Some(raw) => crate::clock::parse_time("at", raw)?,
        None => chrono::Utc::now(),
    };
    let dto = blocking(&state, move |app| {
        if !auth.0.visible.all() {
            // Only the host names of the caller's sites, whatever else the
            // store has seen.
            let site = app.store.site(host.as_str());
            auth.site(host.as_str(), site)
                .map_err(|_| ApiError::not_found("host name", host.as_str()))?;
        }
        let stored = app.store.observations(&host, Some(at))?;
        Ok(ObservationsDto::new(&host, at, &stored))
    })
    .await?;
    Ok(Json(dto))
}

/// Filter of the run list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Only runs of this job (`probe`, `feeds`, `discover`, `retain`,
    /// `confirm`, `reconcile`, `report`, `audit`).
    pub job: Option<String>,
}

fn job(raw: &str) -> Result<Job, ApiError> {
    raw.parse()
        .map_err(|e: String| ApiError::field("job", raw, &e.replace(&format!("`{raw}` "), "")))
}

/// The jobs' runs, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(RunQuery, PageQuery),
    responses(
        (status = 200, description = "A page of runs, newest first", body = Page<RunDto>),
        (status = 400, description = "A bad job or cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn list_runs(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<RunQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<RunDto>>, ApiError> {
    let window = paging.window()?;
    let job = query.job.as_deref().map(job).transpose()?;
    let page = blocking(&state, move |app| {
        // Newest first: the cursor holds the last id given negated, so
        // that the window's `id > after` walks down the ids.
        let before = window.after.map(|after| -after);
        let runs = app.store.runs_page(job, before, window.limit + 1)?;
        let unscoped = auth.0.visible.all();
        Ok(window.page(
            runs,
            |r| -r.id,
            |r| {
                let mut dto = RunDto::from(&r);
                if !unscoped {
                    dto.failures.clear();
                }
                dto
            },
        ))
    })
    .await?;
    Ok(Json(page))
}

/// The runs in progress, with what is left of them, each job's next fire
/// time and the daemons sharing the database, as `siteward status`.
#[utoipa::path(
    get,
    path = "/api/v1/runs/current",
    tag = "runs",
    responses(
        (status = 200, description = "The runs in progress and the schedules", body = CurrentRunsDto),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn current_runs(
    State(state): State<ApiState>,
    _auth: Auth,
) -> Result<Json<CurrentRunsDto>, ApiError> {
    let dto = blocking(&state, move |app| {
        let runs = crate::app::status::runs(app)?;
        Ok(CurrentRunsDto::new(
            runs.now,
            &runs.instances,
            &runs.running,
            &runs.schedules,
        ))
    })
    .await?;
    Ok(Json(dto))
}

/// A check asked for now.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// The job: `probe` (the check cycle), `feeds`, `discover`, `retain`,
    /// `reconcile`, `report` or `audit`.
    pub job: String,
}

/// Starts a job now: its next fire time moves to now, and a daemon's
/// scheduler claims it within a tick (the request does not wait for the
/// run). Operators and admins.
#[utoipa::path(
    post,
    path = "/api/v1/runs",
    tag = "runs",
    request_body = RunBody,
    responses(
        (status = 202, description = "Asked for: a daemon runs it at its next tick", body = RunRequestedDto),
        (status = 400, description = "Not a job, or one without a schedule", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "The token's role is below operator", body = ErrorBody),
        (status = 409, description = "A run of the job is in progress", body = ErrorBody),
    )
)]
async fn start_run(
    State(state): State<ApiState>,
    auth: Auth,
    body: Result<super::extract::Json<RunBody>, ApiError>,
) -> Result<(StatusCode, Json<RunRequestedDto>), ApiError> {
    auth.require(Role::Operator)?;
    let super::extract::Json(body) = body?;
    let job = job(&body.job)?;
    let requested = blocking(&state, move |app| {
        tracing::info!(job = %job, token = %auth.0.name, "api: a run asked for");
        Ok(crate::app::status::request(app, job)?)
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RunRequestedDto {
            job: job.as_str().to_string(),
            schedule: ScheduleDto::from(&requested.schedule),
            daemons_alive: requested.daemons_alive,
        }),
    ))
}

/// Host names learnt beyond the registry (zone files, lists, transfers,
/// links), with their sources, by id, a page at a time. They belong to no
/// organization: a scoped token's page is empty.
#[utoipa::path(
    get,
    path = "/api/v1/discovered",
    tag = "discovered",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of discovered host names", body = Page<DiscoveredDto>),
        (status = 400, description = "A bad cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn list_discovered(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<DiscoveredDto>>, ApiError> {
    let window = paging.window()?;
    if !auth.0.visible.all() {
        return Ok(Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    let page = blocking(&state, move |app| {
        let found = crate::app::discovery::discovered_page(
            &app.store,
            &app.policy(),
            window.after,
            window.limit + 1,
        )?;
        Ok(window.page(found, |(id, _)| *id, |(_, f)| DiscoveredDto::from(&f)))
    })
    .await?;
    Ok(Json(page))
}
