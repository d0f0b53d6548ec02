//! The HTTP API under `/api/v1`, served by the daemon on `[api] listen`:
//! the same use cases as the command line (`app`), behind bearer tokens
//! with roles and organization scopes (`auth`), answering the typed
//! shapes of `dto`, with its OpenAPI 3.1 document generated from the
//! handlers (`/api/v1/openapi.json`).
//!
//! - [`error`]: errors as statuses and JSON bodies.
//! - [`auth`]: the caller, its role, what it may see.
//! - [`extract`]: query, path and JSON body, refused as JSON errors.
//! - [`page`]: cursor paging.
//! - [`sites`], [`orgs`], [`audit`]: the registry and its trail.
//! - [`findings`], [`watch`]: findings and exceptions; observations,
//!   runs, discovered host names.
//! - [`files`], [`alerts`]: imports, exports, reconciliation runs and
//!   circulars; the outbox, sinks and maintenance windows.
//! - [`tokens`]: the API's tokens (unscoped admins).
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`; the timeout, access log
//!   and request metrics around every request.
//! - [`metrics`]: what `/metrics` shows, from the process and the store.
//! - [`serve`]: the listener (HTTP, or HTTPS with rustls, its certificate
//!   read again on SIGHUP).
//!
//! Limits, all in `[api]`: a request body of `max_body_bytes` (1 MiB; a
//! route that takes files sets its own larger `DefaultBodyLimit`, which
//! wins, being nearer the handler), `request_timeout_secs` (30 s, then a
//! JSON 503), and `max_concurrent` requests served at once (64; more
//! wait), shared by every route.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod files;
pub mod findings;
pub mod metrics;
pub mod ops;
pub mod orgs;
pub mod page;
pub mod serve;
pub mod sites;
pub mod tokens;
pub mod watch;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::App;
use error::ApiError;

/// What every handler reaches: the application.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub app: Arc<App>,
    /// Store calls of requests under way at once: as many as the store
    /// has connections to serve them. The rest wait here, in order,
    /// rather than as blocked threads queueing on the connection pool:
    /// fewer threads, fairer waits, a tighter tail of latencies.
    store_calls: Arc<tokio::sync::Semaphore>,
    /// The web page's failed logins, per user and per address.
    pub logins: Arc<crate::web::session::LoginLimiter>,
    /// What the web page's home keeps between views.
    pub home: Arc<std::sync::Mutex<crate::web::home::HomeCache>>,
}

impl ApiState {
    pub fn new(app: Arc<App>) -> ApiState {
        ApiState {
            app,
            store_calls: Arc::new(tokio::sync::Semaphore::new(STORE_CALLS)),
            logins: Arc::default(),
            home: Arc::default(),
        }
    }
}

/// See [`ApiState`]: SQLite's readers plus its writer, about PostgreSQL's
/// pool.
const STORE_CALLS: usize = 12;

tokio::task_local! {
    /// The store permit a read request took to authenticate its caller,
    /// kept for its use case: a read queues for the store once, not
    /// once for its caller and again for its page.
    static HELD: std::cell::RefCell<Option<tokio::sync::OwnedSemaphorePermit>>;
}

/// Gives each request room for the permit its authentication keeps
/// ([`authenticating`]); the permit is returned when the handler answers.
async fn hold_permits(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    HELD.scope(std::cell::RefCell::new(None), next.run(request))
        .await
}

/// A permit to call the store: the one this request holds, or one of
/// [`STORE_CALLS`], waited for in order.
async fn permit(state: &ApiState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    if let Some(held) = HELD.try_with(|h| h.borrow_mut().take()).ok().flatten() {
        return Ok(held);
    }
    state
        .store_calls
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("the API's store calls stopped: {e}")))
}

/// Runs `call` off the runtime's threads under a permit, and gives the
/// permit back with its result.
async fn with_permit<T: Send + 'static>(
    state: &ApiState,
    call: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<(tokio::sync::OwnedSemaphorePermit, Result<T, ApiError>), ApiError> {
    let app = state.app.clone();
    let permit = permit(state).await?;
    tokio::task::spawn_blocking(move || {
        let result = call(&app);
        (permit, result)
    })
    .await
    .map_err(|e| ApiError::internal(&anyhow::anyhow!("a request's task stopped: {e}")))
}

/// Runs a blocking use case (the store's calls block) off the runtime's
/// threads, one of [`STORE_CALLS`] at a time; its error becomes the API's.
pub async fn blocking<T: Send + 'static>(
    state: &ApiState,
    call: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    with_permit(state, call).await?.1
}

/// [`blocking`] for finding a request's caller. A read (GET or HEAD)
/// keeps the permit for its use case; a request with a body does not,
/// since reading an upload may take long and must not hold the store's
/// turn meanwhile.
pub async fn authenticating<T: Send + 'static>(
    state: &ApiState,
    method: &axum::http::Method,
    call: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (permit, result) = with_permit(state, call).await?;
    if result.is_ok() && matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) {
        // Outside a request (no scope) the permit is simply returned.
        let _ = HELD.try_with(|h| *h.borrow_mut() = Some(permit));
    }
    result
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "siteward",
        description = "The registry of a region's government websites and new-media accounts, and what is wrong with their domains. Every route under /api/v1 needs `Authorization: Bearer TOKEN` (`siteward token create`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, and the OpenAPI document that lists them, behind the
/// limits of `[api]`.
pub fn router(state: ApiState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(sites::routes())
        .merge(orgs::routes())
        .merge(audit::routes())
        .merge(findings::routes())
        .merge(watch::routes())
        .merge(files::routes())
        .merge(alerts::routes())
        .merge(tokens::routes())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let document = Arc::new(doc.clone());
    let router = Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .merge(ops::routes())
        .merge(crate::web::routes())
        .fallback(|uri: axum::http::Uri| async move {
            use axum::response::IntoResponse;
            if uri.path().starts_with("/api/") {
                ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "no such route: the routes are listed at /api/v1/openapi.json",
                )
                .into_response()
            } else {
                crate::web::view::WebError::new(axum::http::StatusCode::NOT_FOUND, "没有这个页面。")
                    .back("/")
                    .into_response()
            }
        });
    (limited(router, state), doc)
}

/// `router` behind the limits of `[api]`, the access log and the request
/// metrics, with its state given.
pub fn limited(router: Router<ApiState>, state: ApiState) -> Router {
    let limits = state.app.config().api.clone();
    // Layers wrap what is above them: the body limit is nearest the
    // handlers (an area's own limit, set on its routes, is nearer still
    // and wins); the concurrency limit is shared by every route (one
    // semaphore, not one per route); `observe` is outermost, so its
    // timeout and latency include the wait for a slot.
    router
        .layer(axum::middleware::from_fn(hold_permits))
        .layer(axum::extract::DefaultBodyLimit::max(
            limits.max_body_bytes.get(),
        ))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            limits.max_concurrent.get(),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::observe,
        ))
        .with_state(state)
}
