//! The findings pages (问题): the list with its filters (kind, severity,
//! status, organization, division; a page of 100 read from SQL at a
//! time), one finding with its events, the evidence it was judged on and
//! the suggested action, and the operators' forms: acknowledge with a
//! note, add a comply-or-explain exception with a reason and an end
//! date. The same use cases and visibility checks as
//! `/api/v1/findings` (`api::findings`, `app::findings`).

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
use crate::api::findings::{FindingQuery, filters, read_page, resolved, sees_exception};
use crate::api::{ApiState, blocking};
use crate::app::findings as use_case;
use crate::findings::{EventKind, Evidence, FindingKind, FindingStatus, Severity, text};
use crate::store::{ExceptionGrant, StoredFinding, StoredObservation};

mod evidence;

use evidence::Block;

/// Findings on a page.
const PAGE: usize = 100;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/findings", get(list))
        .route("/findings/{id}", get(show))
        .route("/findings/{id}/ack", post(acknowledge))
        .route("/findings/{id}/exception", post(add_exception))
}

/// A status as an office says it.
pub fn status_name(status: FindingStatus) -> &'static str {
    match status {
        FindingStatus::Pending => "待确认",
        FindingStatus::Open => "待处理",
        FindingStatus::Acknowledged => "已认领",
        FindingStatus::Resolved => "已解决",
        FindingStatus::Suppressed => "已豁免",
    }
}

/// An event of a finding's life as an office says it.
fn event_name(change: EventKind) -> &'static str {
    match change {
        EventKind::Detected => "首次发现（待确认）",
        EventKind::Opened => "确认为问题",
        EventKind::SeverityChanged => "严重程度变化",
        EventKind::Acknowledged => "认领",
        EventKind::Suppressed => "按例外豁免",
        EventKind::Resolved => "已解决",
        EventKind::Reopened => "再次出现",
    }
}

/// The stylesheet's class of a severity's tag.
fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "sev-critical",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

/// The status filter's choices: value and label (the default first).
const STATUSES: &[(&str, &str)] = &[
    ("", "待处理和已认领"),
    ("open", "待处理"),
    ("acknowledged", "已认领"),
    ("resolved", "已解决"),
    ("suppressed", "已豁免"),
    ("pending", "待确认"),
    ("all", "全部"),
];

/// The list's query: every field optional text, so that it never fails
/// to parse; bad values are refused naming the field.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    kind: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    org: Option<String>,
    division: Option<String>,
    after: Option<String>,
}

/// An empty field of a GET form is no filter.
fn given(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// One row of the list.
struct Row {
    id: i64,
    severity_class: &'static str,
    severity: &'static str,
    kind: &'static str,
    kind_id: &'static str,
    summary: String,
    site: Option<(i64, String)>,
    org: String,
    subject: String,
    since: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "web/findings.html")]
struct List {
    frame: Frame,
    rows: Vec<Row>,
    kind: String,
    severity: String,
    status: String,
    org: String,
    division: String,
    /// The next page's link, when there is one.
    next: Option<String>,
    /// Whether this is a later page (a link back to the first).
    later: bool,
    first: String,
}

/// One choice of a filter's select.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(
    all: impl IntoIterator<Item = (&'static str, &'static str)>,
    chosen: &str,
) -> Vec<Choice> {
    all.into_iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: value == chosen,
        })
        .collect()
}

impl List {
    fn kinds(&self) -> Vec<Choice> {
        choices(
            FindingKind::ALL
                .iter()
                .map(|k| (k.as_str(), text::kind_name(*k))),
            &self.kind,
        )
    }

    fn severities(&self) -> Vec<Choice> {
        choices(
            Severity::ALL
                .iter()
                .map(|s| (s.as_str(), text::severity_name(*s))),
            &self.severity,
        )
    }

    fn statuses(&self) -> Vec<Choice> {
        choices(STATUSES.iter().copied(), &self.status)
    }
}

/// The query string of the filters (for the pager's links).
fn filter_query(fields: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in fields {
        if !value.is_empty() {
            form.append_pair(key, value);
        }
    }
    form.finish()
}

/// Since when a finding stands: confirmed open, or first seen.
fn since(finding: &StoredFinding) -> String {
    view::time(&finding.opened_at.unwrap_or(finding.first_seen))
}

async fn list(
    person: Person,
    State(state): State<ApiState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let query = FindingQuery {
        status: given(q.status),
        kind: given(q.kind),
        severity: given(q.severity),
        site: None,
        org: given(q.org),
        division: given(q.division),
    };
    let checked = filters(&query).map_err(|e| WebError::from(e).back("/findings"))?;
    let after = match given(q.after) {
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                format!("after `{raw}`: must be a finding id"),
            )
            .back("/findings")
        })?),
        None => None,
    };
    let auth = person.auth();
    let shown = query.clone();
    let (findings, names, owners) = blocking(&state, move |app| {
        // One more than the page: whether a next page exists.
        let (findings, names) = read_page(app, &auth, &shown, &checked, after, PAGE + 1)?;
        let owners = app.store.finding_owner_names(&findings)?;
        Ok((findings, names, owners))
    })
    .await
    .map_err(|e| WebError::from(e).back("/findings"))?;
    let more = findings.len() > PAGE;
    let rows: Vec<Row> = findings
        .iter()
        .take(PAGE)
        .map(|f| Row {
            id: f.id,
            severity_class: severity_class(f.severity),
            severity: text::severity_name(f.severity),
            kind: text::kind_name(f.kind),
            kind_id: f.kind.as_str(),
            summary: f.summary.clone(),
            site: f.site_id.map(|id| {
                let name = names
                    .sites
                    .get(&id)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| format!("网站 {id}"));
                (id, name)
            }),
            org: owners.get(&f.id).cloned().unwrap_or_default(),
            subject: f.subject.clone(),
            since: since(f),
            status: status_name(f.status),
        })
        .collect();
    let text_of = |v: &Option<String>| v.clone().unwrap_or_default();
    let (kind, severity, status, org, division) = (
        text_of(&query.kind),
        text_of(&query.severity),
        text_of(&query.status),
        text_of(&query.org),
        text_of(&query.division),
    );
    let filters = filter_query(&[
        ("kind", &kind),
        ("severity", &severity),
        ("status", &status),
        ("org", &org),
        ("division", &division),
    ]);
    let link = |extra: Option<i64>| {
        let mut query = filters.clone();
        if let Some(after) = extra {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("after={after}"));
        }
        if query.is_empty() {
            "/findings".to_string()
        } else {
            format!("/findings?{query}")
        }
    };
    let next = if more {
        rows.last().map(|r| link(Some(r.id)))
    } else {
        None
    };
    view::page(&List {
        frame: person.frame("/findings", "问题"),
        rows,
        kind,
        severity,
        status,
        org,
        division,
        next,
        later: after.is_some(),
        first: link(None),
    })
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    msg: Option<String>,
}

/// One event of the finding, for people.
struct EventRow {
    at: String,
    change: &'static str,
    status: &'static str,
    severity: &'static str,
    actor: String,
    note: String,
}

/// One line of the finding's evidence, for people.
struct EvidenceRow {
    probe: String,
    subject: String,
    address: String,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "web/finding.html")]
struct Detail {
    frame: Frame,
    id: i64,
    kind: &'static str,
    kind_id: &'static str,
    severity_class: &'static str,
    severity: &'static str,
    status: &'static str,
    subject: String,
    summary: String,
    action: String,
    site: Option<(i64, String, String)>,
    org: String,
    first_seen: String,
    since: String,
    last_seen: String,
    resolved_at: String,
    confirmations: u32,
    ack: Option<(String, String, String)>,
    events: Vec<EventRow>,
    evidence: Vec<EvidenceRow>,
    observed: Vec<Block>,
    /// When the observations shown were made at the latest.
    observed_at: String,
    /// Whether it may still be acknowledged (not resolved).
    open: bool,
}

/// The finding's id from the path: 404 for what is no id, as for an id
/// of nothing.
fn finding_id(raw: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| {
        WebError::new(StatusCode::NOT_FOUND, format!("finding `{raw}` not found")).back("/findings")
    })
}

/// The observations a finding was judged on: what was seen of its host
/// name (or its zone's) when it was last seen, of the probes its evidence
/// names.
fn observations_of(
    store: &crate::store::Store,
    finding: &StoredFinding,
) -> Result<Vec<StoredObservation>, crate::store::StoreError> {
    let probes: std::collections::BTreeSet<&str> =
        finding.evidence.iter().map(|e| e.probe.as_str()).collect();
    let host = match finding.scope.parse::<crate::findings::Scope>() {
        Ok(crate::findings::Scope::Host(host)) => host,
        Ok(crate::findings::Scope::Zone(zone)) => match zone.parse() {
            Ok(host) => host,
            Err(_) => return Ok(Vec::new()),
        },
        _ => return Ok(Vec::new()),
    };
    Ok(store
        .observations(&host, Some(finding.last_seen))?
        .into_iter()
        .filter(|o| probes.contains(o.observation.data.kind()))
        .collect())
}

fn evidence_row(e: &Evidence) -> EvidenceRow {
    EvidenceRow {
        probe: evidence::probe_name(&e.probe),
        subject: e.subject.clone(),
        address: e.address.clone().unwrap_or_default(),
        outcome: e.outcome.clone(),
        detail: e.detail.clone(),
    }
}

async fn show(
    person: Person,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Query(q): Query<Notice>,
) -> Result<Response, WebError> {
    let id = finding_id(&raw)?;
    let visible = person.caller.visible.clone();
    let (finding, events, names, owners, observations) = blocking(&state, move |app| {
        let (finding, events) = use_case::visible_finding(&app.store, &visible, id)?;
        let names = use_case::names_of(&app.store, std::slice::from_ref(&finding))?;
        let owners = app
            .store
            .finding_owner_names(std::slice::from_ref(&finding))?;
        let observations = observations_of(&app.store, &finding)?;
        Ok((finding, events, names, owners, observations))
    })
    .await
    .map_err(|e| WebError::from(e).back("/findings"))?;
    let terms: Vec<String> = evidence::terms_of(&observations);
    let observed_at = observations
        .iter()
        .map(|o| o.last_seen)
        .max()
        .map(|at| view::time(&at))
        .unwrap_or_default();
    let action = if finding.action.trim().is_empty() {
        text::action(finding.kind).to_string()
    } else {
        finding.action.clone()
    };
    view::page(&Detail {
        frame: person
            .frame(
                "/findings",
                format!("问题 {}：{}", finding.id, text::kind_name(finding.kind)),
            )
            .with_notice(view::notice(q.msg)),
        id: finding.id,
        kind: text::kind_name(finding.kind),
        kind_id: finding.kind.as_str(),
        severity_class: severity_class(finding.severity),
        severity: text::severity_name(finding.severity),
        status: status_name(finding.status),
        subject: finding.subject.clone(),
        summary: finding.summary.clone(),
        action,
        site: finding.site_id.map(|id| {
            let (name, code) = names.sites.get(&id).cloned().unwrap_or_default();
            (id, name, code.unwrap_or_default())
        }),
        org: owners.get(&finding.id).cloned().unwrap_or_default(),
        first_seen: view::time(&finding.first_seen),
        since: since(&finding),
        last_seen: view::time(&finding.last_seen),
        resolved_at: view::maybe_time(&finding.resolved_at),
        confirmations: finding.confirmations,
        ack: finding.ack_actor.as_ref().map(|actor| {
            (
                actor.clone(),
                finding.ack_note.clone().unwrap_or_default(),
                view::maybe_time(&finding.ack_at),
            )
        }),
        events: events
            .iter()
            .map(|e| EventRow {
                at: view::time(&e.at),
                change: event_name(e.change),
                status: status_name(e.status),
                severity: text::severity_name(e.severity),
                actor: e
                    .actor
                    .clone()
                    .unwrap_or_else(|| "siteward（系统）".to_string()),
                note: e.note.clone().unwrap_or_default(),
            })
            .collect(),
        evidence: finding.evidence.iter().map(evidence_row).collect(),
        observed: observations
            .iter()
            .flat_map(|o| evidence::blocks(o, &terms))
            .collect(),
        observed_at,
        open: finding.status != FindingStatus::Resolved,
    })
}

/// The acknowledgement form.
#[derive(Debug, Deserialize)]
struct AckForm {
    #[serde(default)]
    note: String,
}

async fn acknowledge(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Operator)?;
    let id = finding_id(&raw)?;
    let back = format!("/findings/{id}");
    let form: AckForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let note = crate::registry::text::note("note", &form.note)
        .map_err(|e| WebError::from(e).back(back.clone()))?;
    let auth = posted.person.auth();
    blocking(&state, move |app| {
        let (finding, _) = use_case::visible_finding(&app.store, &auth.0.visible, id)?;
        if finding.status == FindingStatus::Resolved {
            return Err(resolved(id));
        }
        use_case::acknowledge(&app.store, id, &auth.change(), &note)?;
        Ok(())
    })
    .await
    .map_err(|e| WebError::from(e).back(back.clone()))?;
    Ok(view::done(&back, "已认领该问题，备注已记录。"))
}

/// The exception form: the finding's kind waived for its subject.
#[derive(Debug, Deserialize)]
struct ExceptionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
}

async fn add_exception(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Operator)?;
    let id = finding_id(&raw)?;
    let back = format!("/findings/{id}");
    let form: ExceptionForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let reason = crate::registry::text::note("reason", &form.reason)
        .map_err(|e| WebError::from(e).back(back.clone()))?;
    let until = crate::clock::parse_deadline("until", &form.until)
        .map_err(|e| WebError::from(e).back(back.clone()))?;
    let auth = posted.person.auth();
    let record = blocking(&state, move |app| {
        let (finding, _) = use_case::visible_finding(&app.store, &auth.0.visible, id)?;
        let change = auth.change();
        let grant = ExceptionGrant { reason, until };
        // A scoped person waives rules only for their own sites' host
        // names, as the API checks it, before anything is written.
        if !auth.0.visible.all() {
            let probe = crate::store::ExceptionRecord {
                id: 0,
                kind: finding.kind.as_str().to_string(),
                subject: finding.subject.clone(),
                reason: grant.reason.clone(),
                actor: change.actor.clone(),
                until,
                created_at: change.recorded_at,
            };
            if !sees_exception(app, &auth, &probe)? {
                return Err(crate::api::error::ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{} is limited to organizations: they may waive rules only for host names of their sites",
                        auth.0.name
                    ),
                ));
            }
        }
        Ok(app.store.add_exception(
            finding.kind.as_str(),
            &finding.subject,
            &grant,
            &app.policy(),
            &change,
        )?)
    })
    .await
    .map_err(|e| WebError::from(e).back(back.clone()))?;
    Ok(view::done(
        &back,
        &format!(
            "已登记例外 {}：{} 对 {} 豁免至 {}。",
            record.id,
            record.kind,
            record.subject,
            view::time(&record.until)
        ),
    ))
}
