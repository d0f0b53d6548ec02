//! axum's extractors, their refusals answered as the API's JSON errors
//! (400 naming the field where serde names it) instead of axum's plain
//! text. Handlers take these, never axum's own.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A refusal's text as a 400, with `field` when serde named one
/// (`limit: invalid digit found in string`).
fn refused(what: &str, text: String) -> ApiError {
    let detail = text
        .split_once(": ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(text);
    let mut error = ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        format!("{what}: {detail}"),
    );
    if let Some((field, _)) = detail.split_once(": ")
        && !field.contains(' ')
    {
        error.body["field"] = serde_json::Value::from(field);
    }
    error
}

/// The query string, deserialised.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| refused("bad query string", e.body_text()))
    }
}

/// The path's parameters.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| refused("bad path", e.body_text()))
    }
}

/// A JSON body (`Content-Type: application/json`), deserialised; unknown
/// fields are refused where the DTO says `deny_unknown_fields`.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|j| Json(j.0))
            .map_err(|e| {
                // A body past the limit is 413, a body that is not JSON
                // at all 415; anything else the client sent wrong, 400.
                match e.status() {
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        ApiError::new(e.status(), super::ops::TOO_LARGE)
                    }
                    axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        let mut error = refused("bad JSON body", e.body_text());
                        error.status = e.status();
                        error
                    }
                    _ => refused("bad JSON body", e.body_text()),
                }
            })
    }
}
