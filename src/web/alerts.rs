//! The alerts page (告警): the outbox (messages planned, delivered or
//! failed), the sinks and their state, and the maintenance windows, which
//! operators add and end here as `maintenance add | end` and the API do
//! (`app::alerts`: the same checks, the same words, audited).
//!
//! The outbox and the sinks cover the whole province: the API answers
//! 403 to a caller limited to organizations. The page still serves such a
//! person, with a sentence in place of those two sections, because it is
//! also where their own organizations' maintenance windows are kept:
//! refusing the whole page would hide what they may manage, and an office
//! expects to be told why a part is missing rather than be shut out.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::session::{Person, Posted};
use super::view::{self, Frame, WebError};
use crate::access::Role;
use crate::alerts::{NotificationKind, NotificationStatus, SinkHealth};
use crate::api::{ApiState, blocking};
use crate::app::alerts::{SinkView, WindowAsked};
use crate::store::alerts::Notification;
use crate::store::maintenance::{Scope, Window};

/// Messages on a page of the outbox.
const PAGE: usize = 100;
/// Where the forms lead back to.
const BACK: &str = "/alerts";

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/alerts", get(alerts))
        .route("/alerts/windows", post(add_window))
        .route("/alerts/windows/{id}/end", post(end_window))
}

fn status_zh(status: NotificationStatus) -> &'static str {
    match status {
        NotificationStatus::Pending => "待发送",
        NotificationStatus::Delivered => "已送达",
        NotificationStatus::Failed => "发送失败",
        NotificationStatus::Cancelled => "已取消",
    }
}

fn status_class(status: NotificationStatus) -> &'static str {
    match status {
        NotificationStatus::Pending => "sev-info",
        NotificationStatus::Delivered => "ok-tag",
        NotificationStatus::Failed => "sev-critical",
        NotificationStatus::Cancelled => "sev-info",
    }
}

fn kind_zh(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Opened => "发现问题",
        NotificationKind::Repeat => "再次提醒",
        NotificationKind::Resolved => "问题已消除",
        NotificationKind::Overdue => "整改逾期",
        NotificationKind::Test => "测试消息",
        NotificationKind::MaintenanceStarted => "维护开始",
        NotificationKind::MaintenanceEnded => "维护结束",
    }
}

/// A message as the page shows it.
#[derive(Debug)]
pub struct MessageRow {
    pub id: i64,
    pub created: String,
    pub sink: String,
    pub org: String,
    pub kind: &'static str,
    pub findings: usize,
    pub status: &'static str,
    pub class: &'static str,
    pub attempts: u32,
    /// When delivered, or when it is tried next.
    pub when: String,
    /// Why it failed, or the receiver's last answer.
    pub reason: String,
}

impl MessageRow {
    fn new(n: &Notification, orgs: &BTreeMap<i64, String>) -> MessageRow {
        let when = match n.status {
            NotificationStatus::Delivered => {
                format!("送达于 {}", view::maybe_time(&n.delivered_at))
            }
            NotificationStatus::Pending => format!("下次尝试 {}", view::time(&n.next_attempt_at)),
            _ => String::new(),
        };
        MessageRow {
            id: n.id,
            created: view::time(&n.created_at),
            sink: n.sink.clone(),
            org: n
                .org_id
                .and_then(|id| orgs.get(&id).cloned())
                .unwrap_or_else(|| "全省".to_string()),
            kind: kind_zh(n.kind),
            findings: n.findings.len(),
            status: status_zh(n.status),
            class: status_class(n.status),
            attempts: n.attempts,
            when,
            reason: n
                .last_error
                .clone()
                .or_else(|| n.answer.clone())
                .unwrap_or_default(),
        }
    }
}

/// A sink as the page shows it.
#[derive(Debug)]
pub struct SinkRow {
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    pub state: String,
    pub class: &'static str,
    pub since: String,
    pub delivered: String,
    pub quiet: String,
}

impl SinkRow {
    fn new(s: &SinkView) -> SinkRow {
        let (state, class) = match s.health {
            SinkHealth::Ok => ("正常".to_string(), "ok-tag"),
            SinkHealth::Limited => (
                format!("限流中，至 {}", view::maybe_time(&s.limited_until)),
                "sev-warning",
            ),
            SinkHealth::Broken => (
                format!("故障：{}", s.reason.clone().unwrap_or_default()),
                "sev-critical",
            ),
        };
        SinkRow {
            name: s.name.clone(),
            kind: s.kind,
            target: s.target.clone(),
            state,
            class,
            since: view::maybe_time(&s.since),
            delivered: view::maybe_time(&s.last_delivered_at),
            quiet: s.quiet.clone().unwrap_or_default(),
        }
    }
}

/// A maintenance window as the page shows it.
#[derive(Debug)]
pub struct WindowRow {
    pub id: i64,
    pub scope: String,
    /// Its site's or organization's page.
    pub href: String,
    pub cron: String,
    pub duration: String,
    pub on: bool,
    pub state: String,
    pub reason: String,
}

/// A duration as a person says it (`2 小时 30 分钟`).
fn duration_zh(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut out = Vec::new();
    if d > 0 {
        out.push(format!("{d} 天"));
    }
    if h > 0 {
        out.push(format!("{h} 小时"));
    }
    if m > 0 || out.is_empty() {
        out.push(format!("{m} 分钟"));
    }
    out.join(" ")
}

impl WindowRow {
    fn new(w: &Window) -> WindowRow {
        let (scope, href) = match &w.scope {
            Scope::Site { id, name, .. } => (format!("网站：{name}"), format!("/sites/{id}")),
            Scope::Org { id, name } => (format!("主办单位：{name}"), format!("/orgs/{id}")),
        };
        let state = match (w.active, w.next) {
            (Some((_, end)), _) => format!("维护中，至 {}", view::time(&end)),
            (None, Some(next)) => format!("下次开始 {}", view::time(&next)),
            (None, None) => "不再开始".to_string(),
        };
        WindowRow {
            id: w.id,
            scope,
            href,
            cron: w.cron.clone(),
            duration: duration_zh(w.duration_secs),
            on: w.active.is_some(),
            state,
            reason: w.reason.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct AlertsQuery {
    /// Only messages in this status.
    status: Option<String>,
    /// The outbox is newest first: the page starts below this id.
    before: Option<String>,
    msg: Option<String>,
}

/// The province-wide sections, for a person who sees every organization.
#[derive(Debug)]
pub struct Province {
    pub messages: Vec<MessageRow>,
    pub next: Option<String>,
    pub sinks: Vec<SinkRow>,
}

#[derive(Template)]
#[template(path = "web/alerts.html")]
struct AlertsPage {
    frame: Frame,
    /// `None` for a person limited to organizations.
    province: Option<Province>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    windows: Vec<WindowRow>,
}

async fn alerts(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<AlertsQuery>,
) -> Result<Response, WebError> {
    let given = |raw: &Option<String>| {
        raw.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let status_raw = given(&query.status);
    let status = status_raw
        .as_deref()
        .map(|raw| {
            raw.parse::<NotificationStatus>().map_err(|_| {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    format!("status `{raw}` must be pending, delivered, failed or cancelled"),
                )
            })
        })
        .transpose()?;
    let before = given(&query.before)
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    format!("before `{raw}` is not a message id (use the 下一页 link)"),
                )
            })
        })
        .transpose()?;
    let visible = person.caller.visible.clone();
    let province_wide = person.auth().province_wide("the outbox's messages").is_ok();
    let (province, windows) = blocking(&state, move |app| {
        let windows =
            crate::app::alerts::visible_windows(&app.store, &visible, chrono::Utc::now())?;
        if !province_wide {
            return Ok((None, windows));
        }
        let limit = i64::try_from(PAGE + 1).unwrap_or(i64::MAX);
        let mut rows = app.store.notifications_before(status, before, limit)?;
        let more = rows.len() > PAGE;
        rows.truncate(PAGE);
        let orgs: BTreeMap<i64, String> = app
            .store
            .orgs()?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let sinks = crate::app::alerts::sinks(app)?;
        let next = more.then(|| rows.last().map(|n| n.id)).flatten();
        Ok((
            Some((
                rows.iter()
                    .map(|n| MessageRow::new(n, &orgs))
                    .collect::<Vec<_>>(),
                next,
                sinks.iter().map(SinkRow::new).collect::<Vec<_>>(),
            )),
            windows,
        ))
    })
    .await?;
    let province = province.map(|(messages, next, sinks)| Province {
        messages,
        next: next.map(|last| match &status_raw {
            Some(s) => format!("/alerts?status={s}&before={last}"),
            None => format!("/alerts?before={last}"),
        }),
        sinks,
    });
    view::page(&AlertsPage {
        frame: person
            .frame("/alerts", "告警")
            .with_notice(view::notice(query.msg)),
        province,
        statuses: NotificationStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_zh(*s), status == Some(*s)))
            .collect(),
        windows: windows.iter().map(WindowRow::new).collect(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct WindowForm {
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
}

/// Adds a maintenance window, as `maintenance add`: operators may, for
/// what they see.
async fn add_window(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    posted.person.require(Role::Operator)?;
    let form: WindowForm = posted.form()?;
    // A blank field of the form is a field not given.
    let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let new = crate::app::alerts::window_asked(&WindowAsked {
        site: blank(form.site),
        org: blank(form.org),
        cron: form.cron.trim().to_string(),
        duration: form.duration.trim().to_string(),
        reason: form.reason,
    })
    .map_err(|e| WebError::from(e).back(BACK))?;
    let caller = posted.person.caller.clone();
    let added = blocking(&state, move |app| {
        Ok(crate::app::alerts::add_window(
            &app.store,
            &caller.visible,
            new,
            &caller.change(),
        )?)
    })
    .await
    .map_err(|e| WebError::from(e).back(BACK))?;
    Ok(view::done(
        BACK,
        &format!(
            "已添加维护时段 {}（{}）：维护期间暂缓发送告警，问题照常检查。",
            added.id,
            added.scope.name()
        ),
    ))
}

/// Ends a maintenance window for good, as `maintenance end`.
async fn end_window(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Operator)?;
    let id: i64 = id.parse().map_err(|_| {
        WebError::new(
            StatusCode::NOT_FOUND,
            format!("no maintenance window `{id}`"),
        )
        .back(BACK)
    })?;
    let caller = posted.person.caller.clone();
    let ended = blocking(&state, move |app| {
        Ok(crate::app::alerts::end_window(
            &app.store,
            &caller.visible,
            id,
            &caller.change(),
        )?)
    })
    .await
    .map_err(|e| WebError::from(e).back(BACK))?;
    Ok(view::done(
        BACK,
        &format!(
            "已结束维护时段 {}（{}）：其告警不再暂缓，仍未整改的问题将随结束通知发出。",
            ended.id,
            ended.scope.name()
        ),
    ))
}
