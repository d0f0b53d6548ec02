//! For monitoring, without a token: `/healthz` (the process answers).

use axum::Router;
use axum::routing::get;

use super::ApiState;

/// This module's routes (outside the OpenAPI document: they are not the
/// API's, and need no token).
pub fn routes() -> Router<ApiState> {
    Router::new().route("/healthz", get(healthz))
}

/// The process is alive and serving.
async fn healthz() -> &'static str {
    "ok\n"
}
