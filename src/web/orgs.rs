//! The orgs page(s).

use axum::Router;

use crate::api::ApiState;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
}
