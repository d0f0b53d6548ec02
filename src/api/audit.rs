//! (to be written)

use utoipa_axum::router::OpenApiRouter;

use super::ApiState;

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
}
