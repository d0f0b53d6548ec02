//! `/api/v1/tokens`: the API's own tokens, managed by admins who see
//! every organization (a token limited to organizations could otherwise
//! make one that is not). The token made is in the answer, once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{Json as Body, Path};
use super::{ApiState, blocking};
use crate::access::Role;
use crate::dto::registry::{NewTokenDto, TokenDto};

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A token to make: `siteward token create`'s fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is called: the actor of every change it makes.
    pub name: String,
    pub role: Role,
    /// Organizations (names or ids) it is limited to; none: all.
    #[serde(default)]
    pub orgs: Vec<String>,
    /// Also the organizations whose division lies within theirs.
    #[serde(default)]
    pub with_subordinates: bool,
}

/// Every token, revoked ones too (never the tokens themselves).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens", body = Vec<TokenDto>),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an unscoped admin", body = ErrorBody),
    )
)]
async fn list_tokens(
    State(state): State<ApiState>,
    auth: Auth,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    auth.require(Role::Admin)?;
    auth.province_wide("tokens")?;
    let tokens = blocking(&state, |app| Ok(app.store.tokens()?)).await?;
    Ok(Json(tokens.iter().map(TokenDto::from).collect()))
}

/// Makes a token; the answer holds it, once (only its SHA-256 is kept).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "The token made, with its secret", body = NewTokenDto),
        (status = 400, description = "A bad name, role or organization", body = ErrorBody),
        (status = 403, description = "Not an unscoped admin", body = ErrorBody),
        (status = 409, description = "A token of that name is in use", body = ErrorBody),
    )
)]
async fn create_token(
    State(state): State<ApiState>,
    auth: Auth,
    Body(request): Body<TokenRequest>,
) -> Result<(StatusCode, Json<NewTokenDto>), ApiError> {
    auth.require(Role::Admin)?;
    auth.province_wide("tokens")?;
    let change = auth.change();
    let made = blocking(&state, move |app| {
        // An organization that does not exist is the request's fault.
        crate::app::tokens::create(
            &app.store,
            &request.name,
            request.role,
            &request.orgs,
            request.with_subordinates,
            &change,
        )
        .map_err(|e| match e {
            crate::store::StoreError::NotFound { what, key } => {
                ApiError::field("orgs", &key, &format!("names no {what}"))
            }
            other => other.into(),
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenDto {
            token: TokenDto::from(&made.token),
            secret: made.secret,
        }),
    ))
}

/// Revokes the token in use named `name`: it stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens/{name}/revoke",
    tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses(
        (status = 200, description = "The token, revoked", body = TokenDto),
        (status = 403, description = "Not an unscoped admin", body = ErrorBody),
        (status = 404, description = "No token in use of that name", body = ErrorBody),
    )
)]
async fn revoke_token(
    State(state): State<ApiState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Json<TokenDto>, ApiError> {
    auth.require(Role::Admin)?;
    auth.province_wide("tokens")?;
    let change = auth.change();
    let token = blocking(&state, move |app| {
        Ok(app.store.revoke_token(&name, &change)?)
    })
    .await?;
    Ok(Json(TokenDto::from(&token)))
}
