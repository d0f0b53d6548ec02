//! The audit page (操作记录): the audit trail newest first, 100 rows a
//! page, filtered by actor, kind of entity, site and dates (China
//! Standard Time). A person limited to organizations sees only the rows
//! about their sites, accounts and organizations, as the API shows them
//! (`app::registry::AuditScope`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::session::Person;
use super::view::{self, Frame, WebError, given};
use crate::api::{ApiState, blocking};
use crate::app::registry::AuditScope;
use crate::store::AuditEntry;
use crate::store::overview::AuditPageQuery;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/audit", get(audit))
}

/// Rows a page.
const PAGE: usize = 100;
/// Rows read at a time while looking for a limited person's rows.
const BATCH: i64 = 500;
/// Batches read for one page at most: a page of a limited person may
/// end early, with a link to go on.
const BATCHES: usize = 20;
/// Changes shown per row, and the longest value shown.
const CHANGES_SHOWN: usize = 8;
const VALUE_CHARS: usize = 60;

/// The kinds of entity the trail records, as the filter offers them.
pub const ENTITIES: &[(&str, &str)] = &[
    ("site", "网站"),
    ("org", "主办单位"),
    ("account", "政务新媒体账号"),
    ("exception", "例外"),
    ("maintenance", "维护窗口"),
    ("finding", "问题"),
    ("token", "API 令牌"),
    ("user", "用户"),
];

#[derive(Debug, Default, Deserialize)]
struct Filters {
    actor: Option<String>,
    entity: Option<String>,
    site: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

/// A row as shown.
struct Row {
    at: String,
    actor: String,
    source: &'static str,
    object: String,
    href: Option<String>,
    action: String,
    reason: String,
    changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/audit.html")]
struct AuditPage {
    frame: Frame,
    actor: String,
    entity: String,
    site: String,
    from: String,
    to: String,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
}

impl AuditPage {
    fn entities(&self) -> &'static [(&'static str, &'static str)] {
        ENTITIES
    }
}

fn bad(field: &str, message: impl std::fmt::Display) -> WebError {
    WebError::new(StatusCode::BAD_REQUEST, format!("{field}: {message}")).back("/audit")
}

async fn audit(
    person: Person,
    State(state): State<ApiState>,
    Query(filters): Query<Filters>,
) -> Result<Response, WebError> {
    let actor = given(&filters.actor);
    let entity = given(&filters.entity);
    if let Some(entity) = &entity
        && !ENTITIES.iter().any(|(e, _)| *e == entity.as_str())
    {
        return Err(bad(
            "entity",
            format!(
                "`{entity}` is not one of {}",
                ENTITIES
                    .iter()
                    .map(|(e, _)| *e)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let site = given(&filters.site);
    let from = given(&filters.from)
        .map(|raw| crate::clock::parse_time("from", &raw))
        .transpose()?;
    // A date lasts through its day.
    let to = given(&filters.to)
        .map(|raw| crate::clock::parse_deadline("to", &raw))
        .transpose()?;
    let before = given(&filters.before)
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("before", format!("`{raw}` is not a row number")))
        })
        .transpose()?;
    let auth = person.auth();
    let site_key = site.clone();
    let (rows, more) = blocking(&state, move |app| {
        let site_ids = match &site_key {
            Some(key) => {
                // What the person names must be theirs: 404 otherwise.
                auth.site(key, app.store.site(key))?;
                Some(app.store.site_ids_held(key)?)
            }
            None => None,
        };
        let scope = AuditScope::of(&app.store, &auth.0.visible)?;
        let mut query = AuditPageQuery {
            site_ids,
            entity,
            actor,
            from,
            to,
            before,
            limit: BATCH,
        };
        let mut shown: Vec<AuditEntry> = Vec::new();
        for _ in 0..BATCHES {
            let batch = app.store.audit_newest(&query)?;
            let Some(last) = batch.last() else {
                return Ok((shown, None));
            };
            query.before = Some(last.id);
            let exhausted = batch.len() < usize::try_from(BATCH).unwrap_or(usize::MAX);
            for row in batch {
                if scope.as_ref().is_none_or(|s| s.shows(&row)) {
                    if shown.len() == PAGE {
                        // One more row exists: the next page starts below
                        // the last one shown.
                        let next = shown.last().map(|r| r.id);
                        return Ok((shown, next));
                    }
                    shown.push(row);
                }
            }
            if exhausted {
                return Ok((shown, None));
            }
        }
        // Looked far enough for one page: go on from where it stopped.
        Ok((shown, query.before))
    })
    .await?;

    let link = |before: Option<i64>| {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("actor", &filters.actor),
            ("entity", &filters.entity),
            ("site", &filters.site),
            ("from", &filters.from),
            ("to", &filters.to),
        ] {
            if let Some(v) = given(value) {
                form.append_pair(key, &v);
            }
        }
        if let Some(before) = before {
            form.append_pair("before", &before.to_string());
        }
        format!("/audit?{}", form.finish())
    };
    view::page(&AuditPage {
        frame: person.frame("/audit", "操作记录"),
        actor: filters.actor.clone().unwrap_or_default(),
        entity: filters.entity.clone().unwrap_or_default(),
        site: filters.site.clone().unwrap_or_default(),
        from: filters.from.clone().unwrap_or_default(),
        to: filters.to.clone().unwrap_or_default(),
        next: more.map(|id| link(Some(id))),
        first: before.map(|_| link(None)),
        rows: rows.iter().map(row).collect(),
    })
}

fn row(entry: &AuditEntry) -> Row {
    let kind = ENTITIES
        .iter()
        .find(|(e, _)| *e == entry.entity)
        .map_or(entry.entity.as_str(), |(_, zh)| *zh);
    let href = match entry.entity.as_str() {
        "site" => Some(format!("/sites/{}", entry.entity_id)),
        "org" => Some(format!("/orgs/{}", entry.entity_id)),
        "account" => Some(format!("/accounts/{}", entry.entity_id)),
        "finding" => Some(format!("/findings/{}", entry.entity_id)),
        _ => None,
    };
    let name = entry
        .after
        .as_ref()
        .or(entry.before.as_ref())
        .and_then(|state| state.get("name"))
        .and_then(|n| n.as_str())
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    let mut changes: Vec<String> = entry
        .changes
        .iter()
        .take(CHANGES_SHOWN)
        .map(|d| format!("{}：{} → {}", d.field, short(&d.before), short(&d.after)))
        .collect();
    if entry.changes.len() > CHANGES_SHOWN {
        changes.push(format!("……另有 {} 项", entry.changes.len() - CHANGES_SHOWN));
    }
    if changes.is_empty() && entry.before.is_none() && entry.after.is_some() {
        changes.push("（新建）".to_string());
    }
    Row {
        at: view::time(&entry.at),
        actor: entry.actor.clone(),
        source: source_zh(entry.actor_source.as_deref()),
        object: format!("{kind} #{}{name}", entry.entity_id),
        href,
        action: action_zh(&entry.action),
        reason: entry.reason.clone().unwrap_or_default(),
        changes,
    }
}

/// A value cut to [`VALUE_CHARS`] characters.
fn short(value: &str) -> String {
    if value.chars().count() <= VALUE_CHARS {
        value.to_string()
    } else {
        let cut: String = value.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    }
}

/// Where the actor's name came from, as an office says it.
pub fn source_zh(source: Option<&str>) -> &'static str {
    match source {
        Some("web user") => "网页用户",
        Some("api token") => "API 令牌",
        Some("siteward") => "系统",
        Some("--actor" | "USER" | "LOGNAME" | "system user") => "命令行",
        Some(_) => "其他",
        None => "未记录",
    }
}

/// An audited action in Chinese, the recorded word when it has none.
pub fn action_zh(action: &str) -> String {
    let zh = match action {
        "add" => "新增",
        "edit" => "修改",
        "import" => "导入",
        "end" => "结束",
        "revoke" => "吊销",
        "acknowledge" => "确认知悉",
        "request" => "申请开办",
        "approve" => "批准",
        "reject" => "驳回",
        "go-live" => "上线",
        "suspend" => "暂停",
        "resume" => "恢复",
        "retire" => "启动关停",
        "offline" => "下线",
        "close" => "注销",
        "chain-start" => "审计链起点",
        _ => return action.to_string(),
    };
    zh.to_string()
}
