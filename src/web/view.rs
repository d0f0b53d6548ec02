//! What every page shares: the [`Frame`] (title, navigation, the person
//! logged in and their form token, a notice after a change), pages
//! rendered to HTML, error pages ([`WebError`]) in Chinese with the
//! command line's words for what was refused, and times in China
//! Standard Time.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use crate::access::{Caller, Role};
use crate::api::error::ApiError;

/// The navigation's entries: path, label, and which page is which.
pub const NAV: &[(&str, &str)] = &[
    ("/", "总览"),
    ("/findings", "问题"),
    ("/sites", "网站"),
    ("/orgs", "主办单位"),
    ("/accounts", "政务新媒体"),
    ("/discovered", "发现的域名"),
    ("/alerts", "告警"),
    ("/reports", "通报"),
    ("/import", "导入"),
    ("/audit", "操作记录"),
];

/// The frame of a page: what the layout (`templates/web/base.html`)
/// shows around its content.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The page's title (in the tab and as its heading).
    pub title: String,
    /// The navigation entry this page belongs to (a path of [`NAV`]).
    pub section: &'static str,
    /// Who is logged in.
    pub user: String,
    pub role: Role,
    /// The session's form token: every form carries it.
    pub csrf: String,
    /// Said once at the top, after a change (`?msg=`).
    pub notice: Option<String>,
}

impl Frame {
    pub fn new(
        caller: &Caller,
        csrf: &str,
        section: &'static str,
        title: impl Into<String>,
    ) -> Frame {
        Frame {
            title: title.into(),
            section,
            user: caller.name.clone(),
            role: caller.role,
            csrf: csrf.to_string(),
            notice: None,
        }
    }

    /// The same frame saying `notice` (already checked by the caller to
    /// be ours: see [`notice`]).
    pub fn with_notice(mut self, notice: Option<String>) -> Frame {
        self.notice = notice;
        self
    }

    pub fn nav(&self) -> &'static [(&'static str, &'static str)] {
        NAV
    }

    /// Whether `path` is this page's navigation entry.
    pub fn current(&self, path: &str) -> bool {
        path == self.section
    }

    /// The role as an office says it.
    pub fn role_zh(&self) -> &'static str {
        role_zh(self.role)
    }

    /// Whether the person may act as an operator (acknowledge, add
    /// exceptions, start checks): the forms are shown only then.
    pub fn operator(&self) -> bool {
        self.role >= Role::Operator
    }

    /// Whether the person may change the registry.
    pub fn admin(&self) -> bool {
        self.role >= Role::Admin
    }
}

pub fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Viewer => "查看",
        Role::Operator => "值守",
        Role::Admin => "管理",
    }
}

/// A time for people, in China Standard Time (`2026-12-05 09:30:00`).
pub fn time(at: &DateTime<Utc>) -> String {
    crate::clock::show(*at)
}

/// An optional time; nothing for none.
pub fn maybe_time(at: &Option<DateTime<Utc>>) -> String {
    crate::clock::show_opt(*at)
}

/// A date for people, in China Standard Time.
pub fn date(at: &DateTime<Utc>) -> String {
    crate::clock::show_date(*at)
}

/// A rendered page.
/// A form's or a filter's field, trimmed: absent or blank is none.
pub fn given(raw: &Option<String>) -> Option<String> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A key (a site's or an organization's) as one segment of a page's path.
pub fn segment(key: &str) -> String {
    url::form_urlencoded::byte_serialize(key.as_bytes()).collect()
}

pub fn page(template: &impl Template) -> Result<Response, WebError> {
    let html = template
        .render()
        .map_err(|e| WebError::internal(&anyhow::anyhow!("a page failed to render: {e}")))?;
    Ok(Html(html).into_response())
}

/// After a change, back to `path` with `notice` said once at its top
/// (303: the browser fetches it with GET, and a reload does not post
/// again).
pub fn done(path: &str, notice: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    let encoded: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    Redirect::to(&format!("{path}{separator}msg={encoded}")).into_response()
}

/// The notice a page says at its top: the `msg` of its query, as
/// [`done`] put it. It is plain text, shown escaped.
pub fn notice(msg: Option<String>) -> Option<String> {
    msg.map(|m| m.chars().take(200).collect())
}

/// What a page answers when it cannot do what was asked: a status, a
/// headline in Chinese, the reason in the command line's words, and for a
/// lifecycle action refused, the state and the actions it allows.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
    pub current: Option<String>,
    pub allowed: Vec<String>,
    /// Where to go back to.
    pub back: Option<String>,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
            current: None,
            allowed: Vec::new(),
            back: None,
        }
    }

    /// 403: the person's role does not allow this.
    pub fn forbidden(caller: &Caller, needs: Role) -> WebError {
        WebError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} 的角色为“{}”，此操作需要“{}”或以上角色。",
                caller.name,
                role_zh(caller.role),
                role_zh(needs)
            ),
        )
    }

    /// 500: logged with its chain; the page says only that it failed.
    pub fn internal(error: &anyhow::Error) -> WebError {
        tracing::error!(error = %format!("{error:#}"), "web: request failed");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "服务器处理请求时出错，原因已记入守护进程日志。",
        )
    }

    /// 400: an edit form sent with every field blank.
    pub fn nothing_to_change() -> WebError {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "没有填写要修改的内容：留空的项目保持不变。",
        )
    }

    /// The same error, with a link back to `path`.
    pub fn back(mut self, path: impl Into<String>) -> WebError {
        self.back = Some(path.into());
        self
    }

    fn headline(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "输入有误，未作任何更改",
            StatusCode::UNAUTHORIZED => "请先登录",
            StatusCode::FORBIDDEN => "无权进行此操作",
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::CONFLICT => "当前状态不允许此操作，未作任何更改",
            StatusCode::PAYLOAD_TOO_LARGE => "文件过大",
            StatusCode::TOO_MANY_REQUESTS => "尝试过于频繁",
            _ => "出错了",
        }
    }
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> WebError {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        // The cause of a server error is in the daemon's log (with what
        // only an administrator should read); the person is told so, in
        // their language.
        let message = if error.status.is_server_error() {
            "服务器处理此请求时出错，原因已记入 siteward 的运行日志，请联系系统管理员。".to_string()
        } else {
            text(&error.body["error"]).unwrap_or_default()
        };
        WebError {
            status: error.status,
            message,
            current: text(&error.body["current"]),
            allowed: error.body["allowed"]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
            back: None,
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(error: crate::store::StoreError) -> WebError {
        ApiError::from(error).into()
    }
}

impl From<crate::registry::Invalid> for WebError {
    fn from(error: crate::registry::Invalid) -> WebError {
        ApiError::from(error).into()
    }
}

impl From<anyhow::Error> for WebError {
    fn from(error: anyhow::Error) -> WebError {
        ApiError::from(error).into()
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    status: u16,
    headline: &'a str,
    error: &'a WebError,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            headline: self.headline(),
            error: &self,
        };
        match page.render() {
            Ok(html) => (
                self.status,
                [(header::CACHE_CONTROL, "no-store")],
                Html(html),
            )
                .into_response(),
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}
