//! For monitoring and operations, without a token: `/healthz` (the
//! process answers), `/readyz` (it can do its work), `/metrics`
//! (Prometheus); and the layer every request passes through
//! ([`observe`]): the request timeout, the access log and the request
//! metrics.
//!
//! Ready means: the database answers, a policy is in force, and the last
//! complete probe cycle (ended `ok` or `measurement_failed`) ended within
//! the policy's `max_observation_age_mins`. That is the age past which the
//! rules no longer take an observation as a fact: a daemon whose last
//! cycle is older judges nothing, whatever its schedule says. A daemon
//! that has not completed a cycle yet (a new database) is not ready, and
//! says so; a restarted one is ready at once if the previous one's last
//! cycle is fresh, since the findings it serves are.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::error::ApiError;
use super::{ApiState, blocking};

/// The message of a 413.
pub const TOO_LARGE: &str =
    "the request body is larger than this route accepts ([api] max_body_bytes)";

/// This module's routes (outside the OpenAPI document: they are not the
/// API's, and need no token).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is alive and serving.
async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when ready, else 503 with the reason; both with every check.
async fn readyz(State(state): State<ApiState>) -> Response {
    let checked = blocking(&state, |app| {
        let policy = app.policy();
        let max_age_mins = policy.thresholds.max_observation_age_mins;
        let cycle = app.store.last_complete_cycle();
        Ok((max_age_mins, policy.schedules.contains_key("probe"), cycle))
    })
    .await;
    let (max_age_mins, probe_scheduled, cycle) = match checked {
        Ok(checked) => checked,
        Err(e) => return e.into_response(),
    };
    let now = chrono::Utc::now();
    let mut reasons: Vec<String> = Vec::new();
    let database = match &cycle {
        Ok(_) => json!({ "ok": true }),
        Err(e) => {
            tracing::warn!(error = %e, "readyz: the database does not answer");
            reasons.push("the database does not answer".to_string());
            json!({ "ok": false })
        }
    };
    let cycle_check = match cycle {
        Ok(Some(cycle)) => {
            let age = now - cycle.finished_at;
            let fresh = age <= chrono::Duration::minutes(i64::from(max_age_mins));
            if !fresh {
                reasons.push(format!(
                    "the last complete probe cycle ended {} minutes ago, more than max_observation_age_mins ({max_age_mins})",
                    age.num_minutes()
                ));
            }
            json!({
                "ok": fresh,
                "run": cycle.id,
                "status": cycle.status.as_str(),
                "finished_at": cycle.finished_at,
                "age_secs": age.num_seconds().max(0),
                "max_age_mins": max_age_mins,
            })
        }
        Ok(None) => {
            reasons.push("no complete probe cycle yet".to_string());
            json!({ "ok": false, "max_age_mins": max_age_mins })
        }
        Err(_) => json!({ "ok": false, "max_age_mins": max_age_mins }),
    };
    let ready = reasons.is_empty();
    let body = json!({
        "ready": ready,
        "reason": (!ready).then(|| reasons.join("; ")),
        "checks": {
            "database": database,
            "policy": {
                "ok": true,
                "probe_scheduled": probe_scheduled,
                "failed_reloads": crate::app::Counters::get(&state.app.counters.failed_reloads),
            },
            "cycle": cycle_check,
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// The metrics, read now (`api::metrics`).
async fn metrics(State(state): State<ApiState>) -> Response {
    match blocking(&state, |app| Ok(super::metrics::render(app)?)).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(super::metrics::CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Around every request: answers 503 when it takes longer than
/// `timeout`, turns the plain-text refusals of axum's own layers (413)
/// into the API's JSON, counts it by matched route (never the raw path,
/// whose site keys would make a series each) and logs it: method, route,
/// status and latency, never a header or the query string (which may
/// carry a token).
pub async fn observe(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |m| m.as_str())
        .to_string();
    let timeout = Duration::from_secs(state.app.config().api.request_timeout_secs.get());
    // An upload that changes things (an import, a file into the inbox, a
    // reconciliation run) is not cut short: its work goes on in a task of
    // its own and commits, so a 503 would tell the client it failed when
    // it did not. Its body is bounded by its size limit instead.
    let timeout = if method == "POST"
        && (route.starts_with("/api/v1/import/") || route.starts_with("/api/v1/reconcile/"))
    {
        Duration::MAX
    } else {
        timeout
    };
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than {} s ([api] request_timeout_secs) and was abandoned",
                timeout.as_secs()
            ),
        )
        .into_response(),
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        response = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE).into_response();
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.app.metrics.request(&route, &method, status, elapsed);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "api: request"
    );
    response
}
