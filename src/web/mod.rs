//! The administrators' web page, in Chinese, served by the daemon on the
//! API's listener (`/`, beside `/api/v1`): server-rendered HTML from
//! askama templates (`templates/web/`), one stylesheet and a few lines of
//! script shipped in the binary, nothing loaded from outside (offices sit
//! on closed networks). It calls the same use cases as the API and the
//! command line (`app`, the store), and asks the same [`Caller`] what the
//! person may see and do.
//!
//! - [`session`]: login, logout, the session cookie, the login limits,
//!   and the extractors every page takes ([`Person`], [`Posted`] with its
//!   CSRF check).
//! - [`home`] (总览), [`findings`] (问题), [`sites`] (网站), [`orgs`]
//!   (主办单位, 政务新媒体, 发现的域名), [`alerts`] (告警), [`reports`]
//!   (通报), [`import`] (导入), [`audit`] (操作记录): the pages.
//! - [`view`]: what the pages share: the frame (navigation, the person,
//!   the form token), error pages, times in China Standard Time, labels.
//!
//! [`Caller`]: crate::access::Caller
//! [`Person`]: session::Person
//! [`Posted`]: session::Posted

pub mod alerts;
pub mod audit;
pub mod chart;
pub mod findings;
pub mod home;
pub mod import;
pub mod org_forms;
pub mod orgs;
pub mod reports;
pub mod session;
pub mod sites;
pub mod view;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::api::ApiState;

/// The stylesheet, shipped in the binary.
const CSS: &str = include_str!("assets/site.css");
/// The few lines of script (confirmations, filters); every page works
/// without it.
const JS: &str = include_str!("assets/site.js");

/// Every page's route.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/static/site.css",
            get(|| asset(CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/static/site.js",
            get(|| asset(JS, "text/javascript; charset=utf-8")),
        )
        .merge(session::routes())
        .merge(home::routes())
        .merge(findings::routes())
        .merge(sites::routes())
        .merge(orgs::routes())
        .merge(org_forms::routes())
        .merge(alerts::routes())
        .merge(reports::routes())
        .merge(import::routes())
        .merge(audit::routes())
        .layer(axum::middleware::map_response(guarded))
}

/// Every page's protective headers: nothing from outside, no framing, no
/// inline script (a page that needs another policy, such as a stored
/// circular with its own stylesheet, sets its own first), no caching of
/// pages that show the registry.
async fn guarded(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::HeaderValue;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A shipped file, cached by the browser for an hour (a new version of
/// the daemon ships new ones; an hour of the old look is harmless).
async fn asset(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
