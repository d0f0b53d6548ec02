//! What the API answers when it cannot do what was asked: a status and a
//! JSON body `{"error": MESSAGE, …}` with the same words the command line
//! prints. A refused value adds `field`, `value` and `rule` (400); a
//! forbidden transition adds `current` and `allowed` (409); a refused
//! import adds `rows`. A failure of ours is logged in full and answered
//! with a short 500 that names no internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::InvalidInput;
use crate::registry::Invalid;
use crate::registry::lifecycle::TransitionError;
use crate::store::StoreError;

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    /// 400: a value refused, naming the field, the value and the rule.
    pub fn invalid(invalid: &Invalid) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: crate::output::error_json(&invalid.to_string(), Some(invalid)),
        }
    }

    /// 400 for a field given wrong, in the words of [`Invalid`].
    pub fn field(field: &str, value: &str, rule: &str) -> ApiError {
        ApiError::invalid(&Invalid::new(field, value, rule))
    }

    /// 401: no token, or one that is not in use.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404, in the same words whether the thing does not exist or the
    /// caller may not see it.
    pub fn not_found(what: &str, key: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no {what} `{key}`"))
    }

    /// 500: logged with its chain; the client learns only that it failed.
    pub fn internal(error: &anyhow::Error) -> ApiError {
        tracing::error!(error = %format!("{error:#}"), "api: request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed on the server; the daemon's log has the reason",
        )
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> ApiError {
        ApiError::invalid(&invalid)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        let message = error.to_string();
        match error {
            StoreError::Invalid(invalid) => ApiError::invalid(&invalid),
            StoreError::Transition(TransitionError::Forbidden {
                current, allowed, ..
            }) => ApiError {
                status: StatusCode::CONFLICT,
                body: json!({ "error": message, "current": current, "allowed": allowed }),
            },
            StoreError::Transition(TransitionError::OutOfOrder { .. }) => {
                ApiError::new(StatusCode::CONFLICT, message)
            }
            StoreError::Transition(_) => ApiError::new(StatusCode::BAD_REQUEST, message),
            StoreError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, message),
            StoreError::Ambiguous { .. } | StoreError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, message)
            }
            StoreError::Import(rows) => ApiError {
                status: StatusCode::BAD_REQUEST,
                body: json!({ "error": message, "rows": rows }),
            },
            other => ApiError::internal(&other.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        let error = match error.downcast::<StoreError>() {
            Ok(store) => return store.into(),
            Err(error) => error,
        };
        let error = match error.downcast::<Invalid>() {
            Ok(invalid) => return invalid.into(),
            Err(error) => error,
        };
        match error.downcast::<InvalidInput>() {
            Ok(input) => ApiError::new(StatusCode::BAD_REQUEST, input.0),
            Err(error) => ApiError::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"siteward\""),
            );
        }
        response
    }
}

/// The error body as the OpenAPI document describes it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in the command line's words.
    pub error: String,
    /// The field refused (400).
    pub field: Option<String>,
    /// The value refused (400).
    pub value: Option<String>,
    /// The rule it breaks (400).
    pub rule: Option<String>,
    /// The current state, when a transition is forbidden (409).
    pub current: Option<String>,
    /// The actions allowed from it (409).
    pub allowed: Option<Vec<String>>,
}
