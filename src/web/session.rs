//! Who is looking at a page: the login form, the session cookie, logout,
//! the limits on wrong passwords, and the extractors every page takes.
//!
//! - [`Person`]: the person logged in (their [`Caller`] and the session's
//!   form token); without a session in use, a page sends the browser to
//!   `/login` and back afterwards.
//! - [`Posted`]: a form sent by a person, its CSRF token checked before
//!   anything else (a forged form is 403 and changes nothing); its fields
//!   are read only after the handler has checked the role, so a person
//!   without the role learns nothing from their shape.
//!
//! The cookie is `HttpOnly`, `SameSite=Strict`, and `Secure` under TLS;
//! only its hash is stored (`app::users`), so that disabling a person or
//! changing their password ends their sessions at once, everywhere. The
//! login form carries its own token (double-submitted in a short-lived
//! cookie), so that no other site can log a browser in.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::view::{self, WebError};
use crate::access::{Caller, Role};
use crate::api::auth::Auth;
use crate::api::{ApiState, authenticating, blocking};
use crate::app::users::{self, SessionLimits};

/// The session cookie's name.
pub const COOKIE: &str = "siteward_session";
/// The login form's own token, double-submitted.
const LOGIN_COOKIE: &str = "siteward_login";

/// `/login` and `/logout`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// A cookie of the request by name.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the page is served over TLS (`[api] tls_cert`): cookies are
/// then `Secure`.
fn secure(state: &ApiState) -> bool {
    state.app.config().api.tls_cert.is_some()
}

fn set_cookie(state: &ApiState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure(state) {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn limits(state: &ApiState) -> SessionLimits {
    let web = &state.app.config().web;
    SessionLimits {
        idle: Duration::from_secs(web.session_idle_secs.get()),
        max: Duration::from_secs(web.session_max_secs.get()),
    }
}

/// The person logged in, and the session's form token.
#[derive(Debug, Clone)]
pub struct Person {
    pub caller: Caller,
    pub csrf: String,
}

/// Where a page without a session sends the browser: the login page,
/// and back to the page afterwards.
#[derive(Debug)]
pub struct LoginFirst(String);

impl IntoResponse for LoginFirst {
    fn into_response(self) -> Response {
        let next: String = url::form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

/// What a page refuses before it starts: no session, or a failure.
#[derive(Debug)]
pub enum Refused {
    Login(LoginFirst),
    Error(WebError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Login(login) => login.into_response(),
            Refused::Error(error) => error.into_response(),
        }
    }
}

impl From<WebError> for Refused {
    fn from(error: WebError) -> Refused {
        Refused::Error(error)
    }
}

impl FromRequestParts<ApiState> for Person {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Person, Refused> {
        // Back to where the person was going; a form's page for a POST.
        let back = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into())
        } else {
            "/".to_string()
        };
        let Some(secret) = cookie(&parts.headers, COOKIE).map(str::to_string) else {
            return Err(Refused::Login(LoginFirst(back)));
        };
        let limits = limits(state);
        let session = authenticating(state, &parts.method, move |app| {
            Ok(users::session(
                &app.store,
                &secret,
                chrono::Utc::now(),
                limits,
            )?)
        })
        .await
        .map_err(WebError::from)?;
        match session {
            Some(session) => Ok(Person {
                caller: session.caller,
                csrf: session.csrf,
            }),
            None => Err(Refused::Login(LoginFirst(back))),
        }
    }
}

impl Person {
    /// 403 unless the person's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.caller.may(role) {
            Ok(())
        } else {
            Err(WebError::forbidden(&self.caller, role))
        }
    }

    /// The API's checks of what this person may see (`auth.site(..)`,
    /// `auth.org(..)`, `auth.province_wide(..)`): the same answers.
    pub fn auth(&self) -> Auth {
        Auth(self.caller.clone())
    }

    /// A page's frame for this person.
    pub fn frame(&self, section: &'static str, title: impl Into<String>) -> view::Frame {
        view::Frame::new(&self.caller, &self.csrf, section, title)
    }

    /// 403 unless `token` is this session's form token (a multipart form
    /// checks its own field with this).
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if bool::from(token.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(WebError::new(
                StatusCode::FORBIDDEN,
                "表单已失效或并非来自本系统（CSRF 校验未通过），未作任何更改。请刷新页面后重试。",
            ))
        }
    }
}

/// 403 unless the request comes from a page of ours: a browser names the
/// page's origin on every POST, and it must be this host's.
pub fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Old browsers and tools send none; the form token still decides.
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(WebError::new(
            StatusCode::FORBIDDEN,
            "请求并非来自本系统的页面（来源校验未通过），未作任何更改。",
        )),
    }
}

/// A form sent by a person: their session and form token checked; its
/// fields read with [`Posted::form`] once the handler has checked the
/// role.
#[derive(Debug)]
pub struct Posted {
    pub person: Person,
    body: bytes::Bytes,
}

impl FromRequest<ApiState> for Posted {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &ApiState) -> Result<Posted, Refused> {
        let (mut parts, body) = request.into_parts();
        let person = Person::from_request_parts(&mut parts, state).await?;
        same_origin(&parts.headers)?;
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(WebError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "表单应以 application/x-www-form-urlencoded 提交。",
            )
            .into());
        }
        let request = Request::from_parts(parts, body);
        let body = bytes::Bytes::from_request(request, state)
            .await
            .map_err(|e| WebError::new(e.status(), "表单过大或未能读完，未作任何更改。"))?;
        let token = url::form_urlencoded::parse(&body)
            .find(|(key, _)| key == "csrf")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        person.check_csrf(&token)?;
        Ok(Posted { person, body })
    }
}

impl Posted {
    /// The form's fields (the `csrf` field is ignored by forms that do
    /// not name it), refused as 400 naming what was wrong.
    pub fn form<T: serde::de::DeserializeOwned>(&self) -> Result<T, WebError> {
        serde_urlencoded::from_bytes(&self.body)
            .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, format!("表单内容有误：{e}")))
    }
}

/// Failed logins within a window, per user name and per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// How long until `keys` may try again, if any has used its attempts.
    fn wait(&self, keys: &[String], attempts: usize, window: Duration) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > window)
                {
                    times.pop_front();
                }
                (times.len() >= attempts)
                    .then(|| {
                        times
                            .front()
                            .map(|first| window.saturating_sub(now.duration_since(*first)))
                    })
                    .flatten()
            })
            .max()
    }

    fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: an address spraying names cannot grow this for ever.
        if failures.len() > 100_000 {
            failures.clear();
        }
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }

    fn succeeded(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&format!("user:{user}"));
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
    msg: Option<String>,
}

/// Only a path of this site, so that the login page cannot send a
/// browser elsewhere.
fn local(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    user: String,
    error: Option<String>,
    notice: Option<String>,
}

fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        WebError::internal(&anyhow::anyhow!(
            "the system's random number generator failed"
        ))
    })?;
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn login_form(state: &ApiState, status: StatusCode, page: LoginPage) -> Result<Response, WebError> {
    let cookie = set_cookie(state, LOGIN_COOKIE, &page.csrf, Some(1800));
    let mut response = view::page(&page)?;
    *response.status_mut() = status;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn login_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = local(query.next.as_deref());
    // Already logged in: straight on.
    if let Some(secret) = cookie(&headers, COOKIE).map(str::to_string) {
        let limits = limits(&state);
        let session = blocking(&state, move |app| {
            Ok(users::session(
                &app.store,
                &secret,
                chrono::Utc::now(),
                limits,
            )?)
        })
        .await?;
        if session.is_some() {
            return Ok(Redirect::to(&next).into_response());
        }
    }
    login_form(
        &state,
        StatusCode::OK,
        LoginPage {
            csrf: random_token()?,
            next,
            user: String::new(),
            error: None,
            notice: view::notice(query.msg),
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

fn client(connect: Option<&ConnectInfo<SocketAddr>>) -> String {
    connect
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
        .to_string()
}

async fn login(
    State(state): State<ApiState>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Response, WebError> {
    same_origin(&headers)?;
    let form: LoginForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, format!("表单内容有误：{e}")))?;
    let next = local(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !bool::from(form.csrf.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(WebError::new(
            StatusCode::FORBIDDEN,
            "登录表单已失效或并非来自本系统，请重新打开登录页。",
        )
        .back("/login"));
    }
    let user = form.user.trim().to_string();
    let address = client(connect.as_ref().map(|c| &c.0));
    let keys = [format!("user:{user}"), format!("addr:{address}")];
    let web = state.app.config().web.clone();
    let window = Duration::from_secs(web.login_window_secs.get());
    let attempts = web.login_attempts.get() as usize;
    let again = |error: String, status: StatusCode| -> Result<Response, WebError> {
        login_form(
            &state,
            status,
            LoginPage {
                csrf: random_token()?,
                next: next.clone(),
                user: user.clone(),
                error: Some(error),
                notice: None,
            },
        )
    };
    if let Some(wait) = state.logins.wait(&keys, attempts, window) {
        tracing::warn!(user = %user, address = %address, "web: login refused, too many failed attempts");
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return again(
            format!("登录失败次数过多，请 {minutes} 分钟后再试。"),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let password = form.password;
    let name = user.clone();
    let session = blocking(&state, move |app| {
        Ok(users::login(
            &app.store,
            &name,
            &password,
            chrono::Utc::now(),
        )?)
    })
    .await?;
    let Some(session) = session else {
        state.logins.failed(&keys);
        tracing::warn!(user = %user, address = %address, "web: login failed");
        return again(
            "用户名或密码错误，或该用户已停用。".into(),
            StatusCode::UNAUTHORIZED,
        );
    };
    state.logins.succeeded(&user);
    tracing::info!(user = %user, address = %address, "web: logged in");
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, COOKIE, &session.secret, None),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", Some(0)),
    );
    Ok(response)
}

async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, WebError> {
    if let Some(secret) = cookie(&headers, COOKIE).map(str::to_string) {
        blocking(&state, move |app| Ok(users::logout(&app.store, &secret)?)).await?;
    }
    tracing::info!(user = %posted.person.caller.name, "web: logged out");
    let mut response = view::done("/login", "已退出登录。");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, COOKIE, "", Some(0)));
    Ok(response)
}
