//! Files in and out: `/api/v1/import/{entity}` (the registry from a CSV
//! or workbook, all or nothing, as `siteward import`),
//! `/api/v1/export/{entity}` (as `siteward export`), the quarterly
//! reconciliation (`/api/v1/reconcile/…`: its stored runs and their
//! files, exports put into the inbox, a run started now) and the
//! circulars (`/api/v1/reports/…`: stored ones and their files).
//!
//! Who sees what: imports need an admin token that sees every
//! organization (a file may touch any of them); exports give a scoped
//! token its organizations' rows only. Reconciliation runs and circulars
//! are province-wide: a token limited to organizations is answered 403 on
//! every route of theirs, lists included, whatever exists
//! ([`Auth::province_wide`]), so it learns nothing of them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::page::{Page, PageQuery};
use super::{ApiState, blocking};
use crate::access::Role;
use crate::app::reconcile::{InboxKind, NoInbox};
use crate::app::registry::{Export, ExportFormat, ImportFile};
use crate::dto::files::{
    ImportDto, ImportRefusedDto, InboxFileDto, ReconcileRunDto, ReconcileRunSummaryDto, ReportDto,
    ReportSummaryDto, StartRunBody,
};
use crate::reconcile::Quarter;
use crate::reconcile::inputs::BadInput;
use crate::reconcile::output::{Report, Trigger};
use crate::transfer::{Encoding, Entity, HeaderLang};

/// The largest upload (an import, an export put into the inbox): a
/// province's workbook with room to spare.
pub const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// As many stored runs or circulars as a list reads: a handful a
/// quarter, so every one there will ever be.
pub(crate) const STORED_RUNS: usize = 100_000;

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    // Uploads may be larger than the API's default body limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(import))
        .routes(routes!(put_in_inbox))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(export))
        .routes(routes!(list_reconcile_runs, start_reconcile_run))
        .routes(routes!(get_reconcile_run))
        .routes(routes!(reconcile_run_file))
        .routes(routes!(list_reports))
        .routes(routes!(get_report))
        .routes(routes!(report_file))
        .routes(routes!(report_table))
}

/// The request's body as bytes, read only once the caller was allowed:
/// too large is 413, as JSON like every refusal.
pub async fn body(request: Request) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, &())
        .await
        .map_err(|e| ApiError::new(e.status(), format!("the request's body: {}", e.body_text())))
}

/// A file to download: its bytes, type and name (`attachment`, the name
/// in UTF-8 per RFC 6266 with an ASCII fallback).
pub fn attachment(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A file's type, by its name's extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// What an import names (`orgs`, `sites`, `accounts`), as the command
/// line's `siteward import orgs|sites|accounts`.
pub(crate) fn entity(raw: &str) -> Result<Entity, ApiError> {
    match raw {
        "orgs" => Ok(Entity::Orgs),
        "sites" => Ok(Entity::Sites),
        "accounts" => Ok(Entity::Accounts),
        _ => Err(ApiError::field(
            "entity",
            raw,
            "must be orgs, sites or accounts",
        )),
    }
}

/// A reconciliation's failure as the API answers it: no inbox is 409,
/// bad input files 400 with every problem (file, row, column), the rest
/// as every error.
fn reconcile_error(error: anyhow::Error) -> ApiError {
    let error = match error.downcast::<NoInbox>() {
        Ok(none) => return ApiError::new(StatusCode::CONFLICT, none.to_string()),
        Err(error) => error,
    };
    match error.downcast::<BadInput>() {
        Ok(bad) => ApiError {
            status: StatusCode::BAD_REQUEST,
            body: serde_json::json!({ "error": bad.to_string(), "problems": bad.0 }),
        },
        Err(error) => error.into(),
    }
}

/// Options of an import.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and answer what would be done; change nothing.
    pub dry_run: Option<bool>,
    /// The file's name, recorded with every change it makes (with the
    /// SHA-256 of its bytes), as `siteward import` records it.
    pub name: Option<String>,
    /// When the changes took effect (China Standard Time or RFC 3339),
    /// as `--at`; now by default.
    pub at: Option<String>,
}

/// Imports organizations, sites or accounts from the request's body, all
/// or nothing, as `siteward import`: CSV in UTF-8 (with or without BOM),
/// UTF-16 or GB18030, or an XLSX/XLS workbook, told by its content;
/// headers in Chinese or English. Any bad row refuses the whole file
/// (400 with every bad row: its line, field, value and rule) and nothing
/// changes. Needs an admin token that sees every organization.
#[utoipa::path(
    post,
    path = "/api/v1/import/{entity}",
    tag = "files",
    params(("entity" = String, Path, description = "orgs, sites or accounts"), ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file (up to 50 MB)"),
    responses(
        (status = 200, description = "Imported (or checked, with dry_run)", body = ImportDto),
        (status = 400, description = "The file refused, whole or row by row; nothing changed", body = ImportRefusedDto),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin, or limited to organizations", body = ErrorBody),
        (status = 413, description = "Larger than 50 MB", body = ErrorBody),
    )
)]
async fn import(
    State(state): State<ApiState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<Json<ImportDto>, ApiError> {
    auth.require(Role::Admin)?;
    auth.province_wide("imports")?;
    let entity = entity(&raw)?;
    let name = match &query.name {
        Some(raw) => crate::registry::text::name("name", raw)?,
        None => "the request's body".to_string(),
    };
    let at = match &query.at {
        Some(raw) => Some(crate::clock::parse_time("at", raw)?),
        None => None,
    };
    let change = auth.change_at(at)?;
    let dry_run = query.dry_run.unwrap_or(false);
    let bytes = body(request).await?;
    let report = blocking(&state, move |app| {
        let file = ImportFile::from_bytes(entity, &name, &bytes)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{name}: {e}")))?;
        let report =
            crate::app::registry::import(&app.store, &app.policy(), &file, dry_run, &change)?;
        Ok(ImportDto::new(&name, &report))
    })
    .await?;
    Ok(Json(report))
}

/// How to export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `json`: one object a line, in the field names
    /// of the JSON answers.
    pub format: Option<String>,
    /// The CSV's encoding: `utf8` (default), `utf8-bom` (for Excel) or
    /// `gb18030`. JSON lines are UTF-8.
    pub encoding: Option<String>,
    /// The CSV's header language: `zh` (default) or `en`.
    pub headers: Option<String>,
}

/// Every organization, site or account the caller sees, as a file, as
/// `siteward export`: CSV with the import's own columns (so a file
/// exported imports again), or JSON lines.
#[utoipa::path(
    get,
    path = "/api/v1/export/{entity}",
    tag = "files",
    params(("entity" = String, Path, description = "orgs, sites or accounts"), ExportQuery),
    responses(
        (status = 200, description = "The file (`text/csv; charset=…` or `application/x-ndjson`), as an attachment", body = String),
        (status = 400, description = "A bad entity, format, encoding or header language", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn export(
    State(state): State<ApiState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let entity = entity(&raw)?;
    let format = match query.format.as_deref() {
        None | Some("csv") => ExportFormat::Csv,
        Some("json") => ExportFormat::Json,
        Some(other) => return Err(ApiError::field("format", other, "must be csv or json")),
    };
    let encoding = match query.encoding.as_deref() {
        None | Some("utf8") => Encoding::Utf8,
        Some("utf8-bom") => Encoding::Utf8Bom,
        Some("gb18030") => Encoding::Gb18030,
        Some(other) => {
            return Err(ApiError::field(
                "encoding",
                other,
                "must be utf8, utf8-bom or gb18030",
            ));
        }
    };
    if format == ExportFormat::Json && encoding != Encoding::Utf8 {
        return Err(ApiError::field(
            "encoding",
            query.encoding.as_deref().unwrap_or_default(),
            "JSON lines are UTF-8: give an encoding with format=csv only",
        ));
    }
    let headers = match query.headers.as_deref() {
        None | Some("zh") => HeaderLang::Zh,
        Some("en") => HeaderLang::En,
        Some(other) => return Err(ApiError::field("headers", other, "must be zh or en")),
    };
    let visible = auth.0.visible.clone();
    let bytes = blocking(&state, move |app| {
        Ok(crate::app::registry::export(
            &app.store,
            &Export {
                entity,
                format,
                headers,
                encoding,
            },
            &visible,
        )?)
    })
    .await?;
    let (content_type, extension) = match (format, encoding) {
        (ExportFormat::Json, _) => ("application/x-ndjson", "jsonl"),
        (ExportFormat::Csv, Encoding::Gb18030) => ("text/csv; charset=gb18030", "csv"),
        (ExportFormat::Csv, _) => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(attachment(
        bytes,
        content_type,
        &format!("{raw}.{extension}"),
    ))
}

/// The stored reconciliation runs, newest first, a page at a time.
/// Province-wide: 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/reconcile/runs",
    tag = "reconcile",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of runs, newest first", body = Page<ReconcileRunSummaryDto>),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
    )
)]
async fn list_reconcile_runs(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<ReconcileRunSummaryDto>>, ApiError> {
    auth.province_wide("reconciliation runs")?;
    let window = paging.window()?;
    let page = blocking(&state, move |app| {
        let runs = app.store.reconcile_runs(STORED_RUNS)?;
        // Newest first: the cursor runs down the ids.
        Ok(window.page(runs, |r| -r.id, |r| ReconcileRunSummaryDto::from(&r)))
    })
    .await?;
    Ok(Json(page))
}

/// A stored run: its counts and the names of its files. Province-wide:
/// 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/reconcile/runs/{id}",
    tag = "reconcile",
    params(("id" = i64, Path, description = "The run's number")),
    responses(
        (status = 200, description = "The run", body = ReconcileRunDto),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
    )
)]
async fn get_reconcile_run(
    State(state): State<ApiState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<ReconcileRunDto>, ApiError> {
    auth.province_wide("reconciliation runs")?;
    let report = blocking(&state, move |app| Ok(app.store.reconcile_run(id)?)).await?;
    Ok(Json(run_dto(&report)))
}

fn run_dto(report: &Report) -> ReconcileRunDto {
    ReconcileRunDto::new(report, Report::FILES.map(String::from).into())
}

/// A stored run's file, as `reconcile show ID --out DIR` writes it:
/// `discrepancies.csv`, `discrepancies.json` or `national-fixes.csv`.
#[utoipa::path(
    get,
    path = "/api/v1/reconcile/runs/{id}/files/{file}",
    tag = "reconcile",
    params(
        ("id" = i64, Path, description = "The run's number"),
        ("file" = String, Path, description = "discrepancies.csv, discrepancies.json or national-fixes.csv"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment", body = String),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
        (status = 404, description = "No such run or file", body = ErrorBody),
    )
)]
async fn reconcile_run_file(
    State(state): State<ApiState>,
    auth: Auth,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    auth.province_wide("reconciliation runs")?;
    let bytes = run_bytes(&state, id, name.clone()).await?;
    Ok(attachment(bytes, content_type(&name), &name))
}

/// A stored reconciliation run's file `name` (one of `Report::FILES`);
/// 404 for no such run or file. The web page's downloads read it here
/// too.
pub(crate) async fn run_bytes(
    state: &ApiState,
    id: i64,
    name: String,
) -> Result<Vec<u8>, ApiError> {
    blocking(state, move |app| {
        let report = app.store.reconcile_run(id)?;
        report
            .file(&name)
            .ok_or_else(|| ApiError::not_found("file of the run", &name))
    })
    .await
}

/// Starts a reconciliation now from the newest file of each kind in the
/// `[reconcile] inbox`, as the daemon's scheduled job does (its files
/// written under `[reconcile] out` when set), and answers it once stored.
/// The body is optional. Needs an operator token that sees every
/// organization; 409 when no inbox is configured; 400 naming every bad
/// cell (file, row, column) when an input is refused (nothing stored).
#[utoipa::path(
    post,
    path = "/api/v1/reconcile/runs",
    tag = "reconcile",
    request_body(content = Option<StartRunBody>, description = "The quarter; by default the one the day before belongs to"),
    responses(
        (status = 201, description = "The run, stored", body = ReconcileRunDto),
        (status = 400, description = "A bad quarter or a bad input file; nothing stored", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an operator, or limited to organizations", body = ErrorBody),
        (status = 409, description = "No [reconcile] inbox is configured", body = ErrorBody),
    )
)]
async fn start_reconcile_run(
    State(state): State<ApiState>,
    auth: Auth,
    request: Request,
) -> Result<(StatusCode, Json<ReconcileRunDto>), ApiError> {
    auth.require(Role::Operator)?;
    auth.province_wide("reconciliation runs")?;
    let bytes = body(request).await?;
    let start: StartRunBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        StartRunBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))?
    };
    let quarter = match &start.quarter {
        Some(raw) => raw.parse::<Quarter>()?,
        None => crate::app::reconcile::scheduled_quarter(chrono::Utc::now()),
    };
    let app = state.app.clone();
    let actor = auth.0.name.clone();
    // Its own task: a client that goes away does not cut a run short.
    let report = tokio::spawn(async move {
        crate::app::reconcile::reconcile_inbox(&app, quarter, Trigger::Manual, &actor).await
    })
    .await
    .map_err(|e| ApiError::internal(&anyhow::anyhow!("a reconciliation's task stopped: {e}")))?
    .map_err(reconcile_error)?;
    Ok((StatusCode::CREATED, Json(run_dto(&report))))
}

/// Where an export goes in the inbox.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// For a zone file: the zone it holds (`gansu.gov.cn`).
    pub zone: Option<String>,
}

/// Puts an export into the `[reconcile] inbox`: `sites` (the national
/// reporting system's export of sites), `accounts` (the national
/// new-media system's), `zhaocuo` (the 找错 platform's messages) as CSV
/// or XLSX/XLS, or `zone` (a BIND zone file, with `?zone=`). It is read
/// and checked first as a run reads it (a bad one is refused, 400, and
/// not put there), then named so that the next run takes it as the
/// newest of its kind. Needs an operator token that sees every
/// organization; 409 when no inbox is configured.
#[utoipa::path(
    post,
    path = "/api/v1/reconcile/inbox/{kind}",
    tag = "reconcile",
    params(("kind" = String, Path, description = "sites, accounts, zhaocuo or zone"), InboxQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file (up to 50 MB)"),
    responses(
        (status = 201, description = "Put into the inbox", body = InboxFileDto),
        (status = 400, description = "A bad kind or zone, or a file a run would refuse", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an operator, or limited to organizations", body = ErrorBody),
        (status = 409, description = "No [reconcile] inbox is configured", body = ErrorBody),
        (status = 413, description = "Larger than 50 MB", body = ErrorBody),
    )
)]
async fn put_in_inbox(
    State(state): State<ApiState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(query): Query<InboxQuery>,
    request: Request,
) -> Result<(StatusCode, Json<InboxFileDto>), ApiError> {
    auth.require(Role::Operator)?;
    auth.province_wide("the reconcile inbox's files")?;
    let kind: InboxKind = raw.parse()?;
    let bytes = body(request).await?;
    let put = blocking(&state, move |app| {
        crate::app::reconcile::put_in_inbox(app, kind, query.zone.as_deref(), &bytes)
            .map_err(reconcile_error)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InboxFileDto::from(&put))))
}

/// The stored circulars, newest first, a page at a time. Province-wide:
/// 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "reports",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of circulars, newest first", body = Page<ReportSummaryDto>),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
    )
)]
async fn list_reports(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<ReportSummaryDto>>, ApiError> {
    auth.province_wide("circulars")?;
    let window = paging.window()?;
    let page = blocking(&state, move |app| {
        let reports = app.store.report_runs(STORED_RUNS)?;
        Ok(window.page(reports, |r| -r.id, |r| ReportSummaryDto::from(&r)))
    })
    .await?;
    Ok(Json(page))
}

/// A stored circular: its headline figures and the names of its files.
/// Province-wide: 403 to a token limited to organizations.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = i64, Path, description = "The circular's number")),
    responses(
        (status = 200, description = "The circular", body = ReportDto),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
        (status = 404, description = "No such circular", body = ErrorBody),
    )
)]
async fn get_report(
    State(state): State<ApiState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<ReportDto>, ApiError> {
    auth.province_wide("circulars")?;
    let circular = blocking(&state, move |app| Ok(app.store.report_run(id)?)).await?;
    let files = crate::report::render::file_names(&circular);
    Ok(Json(ReportDto::new(&circular, files)))
}

/// A stored circular's file `name` (one of `render::file_names`),
/// rendered as `report show ID --out DIR` writes it: the same bytes
/// every time; 404 for no such circular or file. The web page's
/// downloads read it here too (with the circular, which names them).
pub(crate) async fn circular_bytes(
    state: &ApiState,
    id: i64,
    name: String,
) -> Result<(Vec<u8>, crate::report::Circular), ApiError> {
    blocking(state, move |app| {
        let circular = app.store.report_run(id)?;
        match crate::report::render::file(&circular, &name) {
            Some(rendered) => Ok((rendered?, circular)),
            None => Err(ApiError::not_found("file of the circular", &name)),
        }
    })
    .await
}

/// A stored circular's file, as an attachment named as it is in the
/// circular's directory.
async fn circular_file(state: &ApiState, id: i64, name: String) -> Result<Response, ApiError> {
    let (bytes, _) = circular_bytes(state, id, name.clone()).await?;
    let base = name.rsplit('/').next().unwrap_or(&name).to_string();
    Ok(attachment(bytes, content_type(&name), &base))
}

/// A circular's file: `circular.html` (printable, A4), `circular.md` or
/// `circular.xlsx`.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/files/{file}",
    tag = "reports",
    params(
        ("id" = i64, Path, description = "The circular's number"),
        ("file" = String, Path, description = "circular.html, circular.md or circular.xlsx"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment", body = String),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
        (status = 404, description = "No such circular or file", body = ErrorBody),
    )
)]
async fn report_file(
    State(state): State<ApiState>,
    auth: Auth,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    auth.province_wide("circulars")?;
    circular_file(&state, id, name).await
}

/// An attached table of a circular as CSV (UTF-8 with BOM, for Excel):
/// `附件1.csv`, … (its `files` list them as `tables/附件1.csv`).
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/files/tables/{file}",
    tag = "reports",
    params(
        ("id" = i64, Path, description = "The circular's number"),
        ("file" = String, Path, description = "附件1.csv, …"),
    ),
    responses(
        (status = 200, description = "The table, as an attachment", body = String),
        (status = 403, description = "Limited to organizations", body = ErrorBody),
        (status = 404, description = "No such circular or table", body = ErrorBody),
    )
)]
async fn report_table(
    State(state): State<ApiState>,
    auth: Auth,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    auth.province_wide("circulars")?;
    circular_file(&state, id, format!("tables/{name}")).await
}
