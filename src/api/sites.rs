//! `/api/v1/sites`: the registry's sites, listed, read, requested and
//! taken through their lifecycle.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::{Path, Query};
use super::page::{Page, PageQuery};
use super::{ApiState, blocking};
use crate::dto::registry::SiteDto;
use crate::store::SiteFilter;

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites))
        .routes(routes!(get_site))
}

/// Filters of the site list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// Only sites in this status (`requested`, `approved`, `live`, …).
    pub status: Option<String>,
}

/// The sites the caller sees, by id, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/sites",
    tag = "sites",
    params(SiteQuery, PageQuery),
    responses(
        (status = 200, description = "A page of sites", body = Page<SiteDto>),
        (status = 400, description = "A bad filter or cursor", body = super::error::ErrorBody),
        (status = 401, description = "No token in use", body = super::error::ErrorBody),
    )
)]
async fn list_sites(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<SiteQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<SiteDto>>, ApiError> {
    let window = paging.window()?;
    let status = match &query.status {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::field("status", raw, "is not a site status"))?,
        ),
        None => None,
    };
    let page = blocking(&state, move |app| {
        let sites = app.store.sites(&SiteFilter {
            status,
            ..SiteFilter::default()
        })?;
        let visible = sites
            .into_iter()
            .filter(|site| auth.0.visible.org_name(&site.org));
        Ok(window.page(visible, |s| s.id, |s| SiteDto::from(&s)))
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
        (status = 404, description = "No such site, or not the caller's", body = super::error::ErrorBody),
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
