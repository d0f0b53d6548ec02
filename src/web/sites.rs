//! The sites pages (网站): the list (searched and filtered in SQL, a
//! hundred at a time), the request form, one site's page (its domains,
//! filings, lifecycle and what may happen next, what was observed of each
//! host name, its findings and its audit trail), and one form per
//! lifecycle action. The fields are checked by the API's parsers (the
//! command line's words), and the changes are the store's, as
//! `siteward site …` and `/api/v1/sites` make them.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::session::{Person, Posted};
use super::view::{self, Frame, WebError, given};
use crate::access::{Role, Visible};
use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::sites::{
    CheckedEdit, at, grant, hostnames, maybe_note, maybe_parsed, name, note, parsed,
};
use crate::findings::text::{kind_name, severity_name};
use crate::registry::lifecycle::{SiteAction, allowed_site_actions};
use crate::registry::{DomainRole, DomainState, Site, SiteCode, SiteKind, SiteStatus};
use crate::store::{AuditFilter, SiteRequest, SiteSearch};
use crate::transfer::{HeaderLang, kind_label, status_label};

/// Rows per page of the list.
const PAGE: usize = 100;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/sites", get(list).post(request))
        .route("/sites/new", get(new_site))
        .route("/sites/{site}", get(show))
        .route("/sites/{site}/{action}", post(act))
}

/// A status as an office says it.
fn status_zh(status: SiteStatus) -> &'static str {
    status_label(status, HeaderLang::Zh)
}

/// A lifecycle action (or `edit`) as an office says it.
fn action_zh(action: &str) -> &'static str {
    match action {
        "approve" => "批准",
        "reject" => "驳回",
        "go-live" => "上线",
        "suspend" => "暂停运行",
        "resume" => "恢复运行",
        "retire" => "关停公示",
        "offline" => "下线",
        "close" => "注销",
        "edit" => "修改信息",
        "request" => "申请",
        "correct" => "更正",
        _ => "",
    }
}

/// An action named with its Chinese and its command (`批准（approve）`).
fn action_named(action: &str) -> String {
    match action_zh(action) {
        "" => action.to_string(),
        zh => format!("{zh}（{action}）"),
    }
}

// ---------------------------------------------------------------- the list

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    org: Option<String>,
    division: Option<String>,
    open: Option<String>,
    after: Option<String>,
    msg: Option<String>,
}

/// A site as the list shows it.
struct Row {
    id: i64,
    name: String,
    code: String,
    primary: String,
    org: String,
    kind: &'static str,
    status: &'static str,
}

impl Row {
    fn of(site: &Site) -> Row {
        Row {
            id: site.id,
            name: site.name.clone(),
            code: site
                .code
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            primary: site
                .primary()
                .map(|d| d.hostname.to_unicode())
                .unwrap_or_default(),
            org: site.org.clone(),
            kind: kind_label(site.kind, HeaderLang::Zh),
            status: status_zh(site.status),
        }
    }
}

#[derive(Template)]
#[template(path = "web/sites.html")]
struct List {
    frame: Frame,
    q: String,
    status: String,
    kind: String,
    org: String,
    division: String,
    open: String,
    statuses: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next: Option<String>,
    first_page: bool,
}

async fn list(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let status: Option<SiteStatus> = maybe_parsed("status", given(&query.status).as_ref())?;
    let kind: Option<SiteKind> = maybe_parsed("kind", given(&query.kind).as_ref())?;
    let open_findings = match given(&query.open).as_deref() {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(other) => {
            return Err(ApiError::field("open", other, "must be one of: yes, no").into());
        }
    };
    let after = match given(&query.after) {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| ApiError::field("after", &raw, "must be a site id (a number)"))?,
        ),
    };
    let division = given(&query.division);
    if let Some(d) = &division
        && !d.chars().all(|c| c.is_ascii_digit())
    {
        return Err(ApiError::field("division", d, "must be digits of a division code").into());
    }
    let org = given(&query.org);
    let text = given(&query.q);
    let auth = person.auth();
    let (search_org, search_division, search_text) = (org.clone(), division.clone(), text.clone());
    let mut sites = crate::api::blocking(&state, move |app| {
        let org_ids = match &search_org {
            Some(key) => Some(vec![auth.org(key, app.store.org_by_key(key))?.id]),
            None => match &auth.0.visible {
                Visible::All => None,
                Visible::Orgs { ids, .. } => Some(ids.iter().copied().collect()),
            },
        };
        Ok(app.store.search_sites(&SiteSearch {
            org_ids,
            status,
            kind,
            division_prefix: search_division,
            open_findings,
            text: search_text,
            after,
            // One more than the page: whether there is a next one.
            limit: PAGE + 1,
        })?)
    })
    .await?;
    let more = sites.len() > PAGE;
    sites.truncate(PAGE);
    let filters: Vec<(&str, String)> = [
        ("q", text.clone()),
        ("status", status.map(|s| s.as_str().to_string())),
        ("kind", kind.map(|k| k.as_str().to_string())),
        ("org", org.clone()),
        ("division", division.clone()),
        ("open", given(&query.open)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let next = match (more, sites.last()) {
        (true, Some(last)) => {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &filters {
                url.append_pair(k, v);
            }
            url.append_pair("after", &last.id.to_string());
            Some(format!("/sites?{}", url.finish()))
        }
        _ => None,
    };
    view::page(&List {
        frame: person
            .frame("/sites", "网站")
            .with_notice(view::notice(query.msg)),
        q: text.unwrap_or_default(),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        org: org.unwrap_or_default(),
        division: division.unwrap_or_default(),
        open: given(&query.open).unwrap_or_default(),
        statuses: SiteStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_zh(*s)))
            .collect(),
        kinds: SiteKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_label(*k, HeaderLang::Zh)))
            .collect(),
        rows: sites.iter().map(Row::of).collect(),
        next,
        first_page: after.is_none(),
    })
}

// ------------------------------------------------------- the request form

#[derive(Template)]
#[template(path = "web/site_new.html")]
struct NewSite {
    frame: Frame,
    orgs: Vec<String>,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn new_site(person: Person, State(state): State<ApiState>) -> Result<Response, WebError> {
    person.require(Role::Admin)?;
    let visible = person.caller.visible.clone();
    let orgs = crate::api::blocking(&state, move |app| {
        Ok(app
            .store
            .orgs()?
            .into_iter()
            .filter(|o| visible.org_name(&o.name))
            .map(|o| o.name)
            .collect::<Vec<_>>())
    })
    .await?;
    view::page(&NewSite {
        frame: person.frame("/sites", "申请新网站"),
        orgs,
        kinds: SiteKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_label(*k, HeaderLang::Zh)))
            .collect(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct RequestForm {
    name: Option<String>,
    org: Option<String>,
    kind: Option<String>,
    domains: Option<String>,
    code: Option<String>,
    icp: Option<String>,
    psb: Option<String>,
    exception: Option<String>,
    until: Option<String>,
}

/// The request a form makes, each field checked as the API checks it
/// (the organization is the name given, resolved by the caller).
fn checked_request(form: &RequestForm) -> Result<SiteRequest, ApiError> {
    let site_name = name("name", &form.name.clone().unwrap_or_default())?;
    let org = name("org", &form.org.clone().unwrap_or_default())?;
    let kind: SiteKind = parsed("kind", &form.kind.clone().unwrap_or_default())?;
    // One per line or comma-separated; the first is primary.
    let raw: Vec<String> = form
        .domains
        .clone()
        .unwrap_or_default()
        .split(['\n', ',', '，'])
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if raw.is_empty() {
        return Err(ApiError::field(
            "domains",
            "",
            "needs at least one host name (the first is primary)",
        ));
    }
    Ok(SiteRequest {
        name: site_name,
        org,
        kind,
        domains: hostnames("domains", &raw)?,
        code: maybe_parsed::<SiteCode>("code", given(&form.code).as_ref())?,
        icp_filing: maybe_note("icp", given(&form.icp).as_ref())?,
        psb_filing: maybe_note("psb", given(&form.psb).as_ref())?,
        exception: grant(given(&form.exception).as_ref(), given(&form.until).as_ref())?,
    })
}

async fn request(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    posted.person.require(Role::Admin)?;
    let back = "/sites/new";
    let form: RequestForm = posted.form().map_err(|e| e.back(back))?;
    let request = checked_request(&form).map_err(|e| WebError::from(e).back(back))?;
    let auth = posted.person.auth();
    let site = crate::api::blocking(&state, move |app| {
        let change = auth.change();
        // Requested only for an organization the person sees.
        let org = auth.org(&request.org, app.store.org_by_key(&request.org))?;
        let request = SiteRequest {
            org: org.name,
            ..request
        };
        let outcome = app.store.request_site(&request, &app.policy(), &change)?;
        Ok(outcome.value)
    })
    .await
    .map_err(|e| WebError::from(e).back(back))?;
    Ok(view::done(
        &format!("/sites/{}", site.id),
        &format!("已提交网站“{}”的申请，状态为“申请中”。", site.name),
    ))
}

// ------------------------------------------------------------ a site's page

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    msg: Option<String>,
}

struct DomainView {
    host: String,
    ascii: String,
    role: &'static str,
    state: &'static str,
    deadline: String,
}

/// An action that may happen next, and its form's needs.
struct Next {
    action: &'static str,
    label: &'static str,
    /// The confirmation a dangerous action asks for.
    confirm: Option<String>,
}

struct ObservationView {
    kind: &'static str,
    address: String,
    outcome: String,
    first_seen: String,
    last_seen: String,
    seen_count: i64,
    /// Still the newest of its kind and address (an older row is what
    /// was seen before a change).
    current: bool,
}

struct HostView {
    host: String,
    observations: Vec<ObservationView>,
}

struct FindingView {
    id: i64,
    kind: &'static str,
    severity: &'static str,
    severity_class: &'static str,
    status: &'static str,
    summary: String,
    first_seen: String,
    resolved_at: String,
}

struct AuditView {
    effective_at: String,
    at: String,
    actor: String,
    source: String,
    action: String,
    reason: String,
    changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/site.html")]
struct SitePage {
    frame: Frame,
    id: i64,
    code: String,
    org: String,
    kind: &'static str,
    status: &'static str,
    status_reason: String,
    icp: String,
    psb: String,
    approval_ref: String,
    retirement_ref: String,
    successor_url: String,
    domains: Vec<DomainView>,
    times: Vec<(&'static str, String)>,
    next: Vec<Next>,
    /// The kinds a site may be edited to: (value, label).
    kinds: Vec<(&'static str, &'static str)>,
    /// Whether going live needs a code (the site has none yet).
    needs_code: bool,
    hosts: Vec<HostView>,
    findings: Vec<FindingView>,
    audit: Vec<AuditView>,
}

fn observation_kind(kind: &str) -> &'static str {
    match kind {
        "dns" => "DNS 解析",
        "delegation" => "域名授权（NS）",
        "tls" => "HTTPS 证书",
        "page" => "首页",
        "ipv6" => "IPv6",
        "feed" => "订阅源",
        "deadline" => "期限",
        "failed" => "未能测量",
        _ => "其他",
    }
}

fn finding_status(status: crate::findings::FindingStatus) -> &'static str {
    use crate::findings::FindingStatus::*;
    match status {
        Pending => "待确认",
        Open => "未处理",
        Acknowledged => "已认领",
        Resolved => "已解决",
        Suppressed => "已豁免",
    }
}

fn actor_source(source: Option<&str>) -> String {
    match source {
        Some("web user") => "网页".into(),
        Some("api token") => "API".into(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Rows of observation history shown per host name, newest first.
const HISTORY_ROWS: usize = 60;

async fn show(
    person: Person,
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let auth = person.auth();
    let (site, hosts, findings, audit) = crate::api::blocking(&state, move |app| {
        let site = auth.site(&key, app.store.site(&key))?;
        let mut hosts = Vec::new();
        for domain in &site.domains {
            let seen = app
                .store
                .observation_history(&domain.hostname, HISTORY_ROWS)?;
            hosts.push((domain.hostname.clone(), seen));
        }
        let findings = app.store.findings_page(&crate::store::FindingPageQuery {
            site_id: Some(site.id),
            limit: 200,
            ..Default::default()
        })?;
        let audit = app.store.audit(&AuditFilter {
            site: Some(site.id.to_string()),
            entity: None,
            last: Some(200),
        })?;
        Ok((site, hosts, findings, audit))
    })
    .await?;
    let admin = person.caller.may(Role::Admin);
    let next = allowed_site_actions(site.status)
        .into_iter()
        .filter(|a| *a != "edit" || admin)
        .map(|action| Next {
            action,
            label: action_zh(action),
            confirm: match action {
                "retire" => Some(format!("确定对“{}”发布关停公示？", site.name)),
                "offline" => Some(format!("确定将“{}”下线？其域名将开始注销。", site.name)),
                "close" => Some(format!("确定注销“{}”？此为最终状态。", site.name)),
                "reject" => Some(format!("确定驳回“{}”的申请？", site.name)),
                _ => None,
            },
        })
        .collect();
    let t = &site.times;
    let times: Vec<(&'static str, String)> = [
        ("申请", t.requested_at),
        ("批准", t.approved_at),
        ("驳回", t.rejected_at),
        ("上线", t.live_at),
        ("暂停", t.suspended_at),
        ("关停公示", t.retiring_at),
        ("公示期至", t.notice_until),
        ("下线", t.offline_at),
        ("注销", t.closed_at),
    ]
    .into_iter()
    .filter_map(|(label, at)| at.map(|at| (label, view::time(&at))))
    .collect();
    // Newest first.
    let mut findings = findings;
    findings.sort_by_key(|f| std::cmp::Reverse(f.id));
    let page = SitePage {
        frame: person
            .frame("/sites", site.name.clone())
            .with_notice(view::notice(query.msg)),
        id: site.id,
        code: site
            .code
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        org: site.org.clone(),
        kind: kind_label(site.kind, HeaderLang::Zh),
        status: status_zh(site.status),
        status_reason: site.status_reason.clone().unwrap_or_default(),
        icp: site.icp_filing.clone().unwrap_or_default(),
        psb: site.psb_filing.clone().unwrap_or_default(),
        approval_ref: site.approval_ref.clone().unwrap_or_default(),
        retirement_ref: site.retirement_ref.clone().unwrap_or_default(),
        successor_url: site.successor_url.clone().unwrap_or_default(),
        domains: site
            .domains
            .iter()
            .map(|d| DomainView {
                host: d.hostname.to_unicode(),
                ascii: d.hostname.to_string(),
                role: match d.role {
                    DomainRole::Primary => "主域名",
                    DomainRole::Alias => "别名",
                },
                state: match d.state {
                    DomainState::Active => "使用中",
                    DomainState::Releasing => "注销中",
                    DomainState::Released => "已注销",
                },
                deadline: view::maybe_time(&d.release_deadline.or(d.released_at)),
            })
            .collect(),
        times,
        next,
        kinds: SiteKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_label(*k, HeaderLang::Zh)))
            .collect(),
        needs_code: site.code.is_none(),
        hosts: hosts
            .into_iter()
            .map(|(host, seen)| HostView {
                host: host.to_unicode(),
                observations: seen
                    .iter()
                    .map(|(s, current)| ObservationView {
                        current: *current,
                        kind: observation_kind(s.observation.data.kind()),
                        address: s
                            .observation
                            .address
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                        outcome: s.observation.data.outcome(),
                        first_seen: view::time(&s.first_seen),
                        last_seen: view::time(&s.last_seen),
                        seen_count: s.seen_count,
                    })
                    .collect(),
            })
            .collect(),
        findings: findings
            .iter()
            .map(|f| FindingView {
                id: f.id,
                kind: kind_name(f.kind),
                severity: severity_name(f.severity),
                severity_class: match f.severity {
                    crate::findings::Severity::Critical => "sev-critical",
                    crate::findings::Severity::Warning => "sev-warning",
                    crate::findings::Severity::Info => "sev-info",
                },
                status: finding_status(f.status),
                summary: f.summary.clone(),
                first_seen: view::time(&f.first_seen),
                resolved_at: view::maybe_time(&f.resolved_at),
            })
            .collect(),
        audit: audit
            .iter()
            .rev()
            .map(|e| AuditView {
                effective_at: view::time(&e.effective_at),
                at: view::time(&e.at),
                actor: e.actor.clone(),
                source: actor_source(e.actor_source.as_deref()),
                action: action_named(&e.action),
                reason: e.reason.clone().unwrap_or_default(),
                changes: e
                    .changes
                    .iter()
                    .map(|d| format!("{}：{} → {}", d.field, shown(&d.before), shown(&d.after)))
                    .collect(),
            })
            .collect(),
    };
    view::page(&page)
}

/// A value of the audit trail for people: a time in China Standard
/// Time, nothing as 无.
fn shown(value: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(at) => view::time(&at.with_timezone(&chrono::Utc)),
        Err(_) if value == "null" || value == "(absent)" => "无".into(),
        Err(_) => value.to_string(),
    }
}

// ---------------------------------------------------------- the actions

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    reference: Option<String>,
    reason: Option<String>,
    code: Option<String>,
    successor_url: Option<String>,
    at: Option<String>,
}

/// A required text field of an action, refused as the command line
/// refuses a missing option.
fn required(field: &str, raw: &Option<String>, what: &str) -> Result<String, ApiError> {
    match given(raw) {
        Some(value) => note(field, &value),
        None => Err(ApiError::field(field, "", &format!("is needed: {what}"))),
    }
}

/// The action a form asks for, its fields checked as the API checks them.
fn action_of(action: &str, form: &ActionForm) -> Result<Option<SiteAction>, ApiError> {
    Ok(Some(match action {
        "approve" => SiteAction::Approve {
            reference: required(
                "reference",
                &form.reference,
                "the approval's document number",
            )?,
        },
        "reject" => SiteAction::Reject {
            reason: required("reason", &form.reason, "why the request is rejected")?,
        },
        "go-live" => SiteAction::GoLive {
            code: maybe_parsed("code", given(&form.code).as_ref())?,
        },
        "suspend" => SiteAction::Suspend {
            reason: required("reason", &form.reason, "why the site is suspended")?,
        },
        "resume" => SiteAction::Resume,
        "retire" => SiteAction::Retire {
            reference: required(
                "reference",
                &form.reference,
                "the closure notice's document number",
            )?,
            successor_url: maybe_note("successor_url", given(&form.successor_url).as_ref())?,
        },
        "offline" => SiteAction::Offline,
        "close" => SiteAction::Close,
        _ => return Ok(None),
    }))
}

/// The edit form: a blank field changes nothing; host names are
/// separated by spaces, commas or new lines.
#[derive(Debug, Default, Deserialize)]
struct EditForm {
    name: Option<String>,
    kind: Option<String>,
    org: Option<String>,
    code: Option<String>,
    icp: Option<String>,
    psb: Option<String>,
    successor_url: Option<String>,
    add_domains: Option<String>,
    release_domains: Option<String>,
    primary: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
    at: Option<String>,
}

/// Host names typed into one field.
fn listed(raw: &Option<String>) -> Vec<String> {
    raw.as_deref()
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect()
}

/// Edits a site's descriptive fields and host names, as `site edit` and
/// `PATCH /api/v1/sites/{site}` do (the form read into the API's body and
/// checked and applied by the same code): admins only.
async fn edit(state: ApiState, key: String, posted: Posted) -> Result<Response, WebError> {
    let back = format!("/sites/{}", view::segment(&key));
    let form: EditForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let body = crate::dto::registry::SiteEditBody {
        name: given(&form.name),
        kind: given(&form.kind),
        org: given(&form.org),
        code: given(&form.code),
        icp: given(&form.icp),
        psb: given(&form.psb),
        successor_url: given(&form.successor_url),
        add_domains: listed(&form.add_domains),
        release_domains: listed(&form.release_domains),
        primary: given(&form.primary),
        reason: given(&form.reason),
        reference: given(&form.reference),
        exception: None,
        until: None,
        at: given(&form.at),
    };
    let edit = CheckedEdit::of(&body).map_err(|e| WebError::from(e).back(back.clone()))?;
    if edit.is_empty() {
        return Err(WebError::nothing_to_change().back(back));
    }
    let auth = posted.person.auth();
    let site = crate::api::blocking(&state, move |app| edit.apply(app, &auth, &key))
        .await
        .map_err(|e| explained(WebError::from(e)).back(back.clone()))?;
    Ok(view::done(
        &format!("/sites/{}", site.id),
        &format!("已修改“{}”的信息。", site.name),
    ))
}

/// A refused transition said in an office's words: the state and the
/// actions it allows, in Chinese with their commands.
fn explained(mut error: WebError) -> WebError {
    if let Some(current) = &error.current
        && let Ok(status) = current.parse::<SiteStatus>()
    {
        error.current = Some(format!("{}（{}）", status_zh(status), current));
        error.allowed = error.allowed.iter().map(|a| action_named(a)).collect();
    }
    error
}

async fn act(
    State(state): State<ApiState>,
    Path((key, action)): Path<(String, String)>,
    // The body: last.
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Admin)?;
    if action == "edit" {
        return edit(state, key, posted).await;
    }
    let back = format!("/sites/{}", view::segment(&key));
    let form: ActionForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let site_action = match action_of(&action, &form) {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err(WebError::new(
                StatusCode::NOT_FOUND,
                format!("no such site action `{action}`"),
            ));
        }
        Err(e) => return Err(WebError::from(e).back(back)),
    };
    let at = at(given(&form.at).as_ref()).map_err(|e| WebError::from(e).back(back.clone()))?;
    let auth = posted.person.auth();
    let site = crate::api::blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        auth.site(&key, app.store.site(&key))?;
        Ok(app
            .store
            .transition_site(&key, &site_action, &app.policy(), &change)?
            .value)
    })
    .await
    .map_err(|e| explained(WebError::from(e)).back(back.clone()))?;
    Ok(view::done(
        &format!("/sites/{}", site.id),
        &format!(
            "已{}：“{}”现为“{}”。",
            action_zh(&action),
            site.name,
            status_zh(site.status)
        ),
    ))
}
