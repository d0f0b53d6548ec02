//! The registry's pages beyond sites: organizations (主办单位, the list
//! and one with its contacts, sites and accounts), new-media accounts
//! (政务新媒体, with their freshness and a post recorded by an operator)
//! and the host names discovered beyond the registry (发现的域名).
//!
//! What a person sees is what the API shows the same caller
//! (`api::orgs`, `api::watch`): the same use cases (`app::registry`,
//! `app::discovery`), the same visibility. Discovered host names belong
//! to no organization: a person limited to organizations is told so
//! instead of being shown an empty list.

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
use crate::api::{ApiState, blocking};
use crate::app::registry as registry_app;
use crate::registry::{Account, AccountStatus, OrgLevel, Organization, Platform, Site};
use crate::store::AccountPageQuery;
use crate::transfer::{
    HeaderLang, account_status_label, kind_label, level_label, platform_label, status_label,
};

/// Rows on a page.
const PAGE: usize = 100;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/orgs", get(orgs))
        .route("/orgs/{org}", get(org))
        .route("/accounts", get(accounts))
        .route("/accounts/{account}/posts", post(record_post))
        .route("/discovered", get(discovered))
}

/// A filter's value: blank is no filter.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// 400 naming the filter and why.
fn bad_filter(field: &str, raw: &str, why: &str) -> WebError {
    WebError::new(StatusCode::BAD_REQUEST, format!("{field} `{raw}` {why}"))
}

/// `?after=ID`: where a page starts.
fn after(raw: &Option<String>) -> Result<Option<i64>, WebError> {
    given(raw)
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| bad_filter("after", a, "is not a row id (use the 下一页 link)"))
        })
        .transpose()
}

/// The link to the next page: the filters given, and where it starts.
fn next_href(path: &str, filters: &[(&str, &Option<String>)], after: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in filters {
        if let Some(v) = given(value) {
            query.append_pair(key, v);
        }
    }
    query.append_pair("after", &after.to_string());
    format!("{path}?{}", query.finish())
}

/// A choice of a filter's select: value, label, and whether chosen.
#[derive(Debug)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub chosen: bool,
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    chosen: Option<&str>,
) -> Vec<Choice> {
    all.iter()
        .map(|&v| Choice {
            value: value(v),
            label: label(v),
            chosen: chosen == Some(value(v)),
        })
        .collect()
}

// --- organizations ----------------------------------------------------

/// An organization as the pages show it.
#[derive(Debug)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub division: String,
    pub level: &'static str,
    pub parent: Option<String>,
    pub emails: Vec<String>,
    /// Its own webhooks, their secrets hidden.
    pub webhooks: Vec<String>,
    pub sites: i64,
    pub accounts: usize,
}

impl OrgRow {
    fn new(org: &Organization, sites: i64, accounts: usize) -> OrgRow {
        OrgRow {
            id: org.id,
            name: org.name.clone(),
            division: org.division.to_string(),
            level: level_label(org.level, HeaderLang::Zh),
            parent: org.parent.clone(),
            emails: org.emails.clone(),
            webhooks: org
                .webhooks
                .iter()
                .map(|w| crate::alerts::mask_url(w))
                .collect(),
            sites,
            accounts,
        }
    }

    pub fn href(&self) -> String {
        format!("/orgs/{}", self.id)
    }

    pub fn no_contacts(&self) -> bool {
        self.emails.is_empty() && self.webhooks.is_empty()
    }
}

#[derive(Debug, Default, Deserialize)]
struct OrgsQuery {
    /// Part of the name.
    q: Option<String>,
    level: Option<String>,
    after: Option<String>,
    msg: Option<String>,
}

#[derive(Template)]
#[template(path = "web/orgs.html")]
struct OrgsPage {
    frame: Frame,
    rows: Vec<OrgRow>,
    q: String,
    levels: Vec<Choice>,
    /// Organizations matching the filters, on every page.
    total: usize,
    next: Option<String>,
}

async fn orgs(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<OrgsQuery>,
) -> Result<Response, WebError> {
    let level = given(&query.level)
        .map(|raw| {
            raw.parse::<OrgLevel>()
                .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()))
        })
        .transpose()?;
    let after = after(&query.after)?;
    let needle = given(&query.q).map(str::to_lowercase);
    let visible = person.caller.visible.clone();
    let (rows, total, more) = blocking(&state, move |app| {
        let mut orgs = registry_app::visible_orgs(&app.store, &visible)?;
        orgs.retain(|o| {
            level.is_none_or(|l| o.level == l)
                && needle
                    .as_ref()
                    .is_none_or(|n| o.name.to_lowercase().contains(n.as_str()))
        });
        let total = orgs.len();
        let mut page: Vec<Organization> = orgs
            .into_iter()
            .filter(|o| after.is_none_or(|a| o.id > a))
            .take(PAGE + 1)
            .collect();
        let more = page.len() > PAGE;
        page.truncate(PAGE);
        // Counted for this page only: sites in SQL, accounts from the
        // (small) account table.
        let sites = app.store.site_counts_by_org()?;
        let accounts = app.store.account_counts_by_org()?;
        let rows = page
            .iter()
            .map(|o| {
                OrgRow::new(
                    o,
                    sites.get(&o.id).copied().unwrap_or(0),
                    accounts
                        .get(&o.id)
                        .and_then(|n| usize::try_from(*n).ok())
                        .unwrap_or(0),
                )
            })
            .collect::<Vec<_>>();
        Ok((rows, total, more))
    })
    .await?;
    let next = more
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| next_href("/orgs", &[("q", &query.q), ("level", &query.level)], last));
    view::page(&OrgsPage {
        frame: person
            .frame("/orgs", "主办单位")
            .with_notice(view::notice(query.msg)),
        rows,
        q: given(&query.q).unwrap_or_default().to_string(),
        levels: choices(
            OrgLevel::ALL,
            OrgLevel::as_str,
            |l| level_label(l, HeaderLang::Zh),
            given(&query.level),
        ),
        total,
        next,
    })
}

/// A site as an organization's page lists it.
#[derive(Debug)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub host: String,
}

impl SiteRow {
    fn new(site: &Site) -> SiteRow {
        SiteRow {
            id: site.id,
            name: site.name.clone(),
            code: site
                .code
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            kind: kind_label(site.kind, HeaderLang::Zh),
            status: status_label(site.status, HeaderLang::Zh),
            host: site
                .primary()
                .map(|d| d.hostname.to_unicode())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/org.html")]
struct OrgPage {
    frame: Frame,
    org: OrgRow,
    parent_id: Option<i64>,
    children: Vec<(i64, String)>,
    sites: Vec<SiteRow>,
    accounts: Vec<AccountRow>,
    stale_days: u32,
    /// The levels an organization may be given: (value, label).
    levels: Vec<(&'static str, &'static str)>,
}

async fn org(
    person: Person,
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> Result<Response, WebError> {
    let auth = person.auth();
    let visible = person.caller.visible.clone();
    let (detail, parent_id, children, stale, stale_days) = blocking(&state, move |app| {
        let org = auth.org(&key, app.store.org_by_key(&key))?;
        let detail = registry_app::org_detail(&app.store, &org.name)?;
        let orgs = registry_app::visible_orgs(&app.store, &visible)?;
        let parent_id = orgs
            .iter()
            .find(|o| Some(&o.name) == detail.org.parent.as_ref())
            .map(|o| o.id);
        let children = orgs
            .iter()
            .filter(|o| o.parent.as_ref() == Some(&detail.org.name))
            .map(|o| (o.id, o.name.clone()))
            .collect::<Vec<_>>();
        let stale = registry_app::stale_accounts(&app.store, &visible)?;
        Ok((
            detail,
            parent_id,
            children,
            stale,
            app.policy().thresholds.account_stale_days,
        ))
    })
    .await?;
    let now = chrono::Utc::now();
    let org = OrgRow::new(
        &detail.org,
        i64::try_from(detail.sites.len()).unwrap_or(i64::MAX),
        detail.accounts.len(),
    );
    view::page(&OrgPage {
        frame: person.frame("/orgs", detail.org.name.clone()),
        org,
        parent_id,
        children,
        sites: detail.sites.iter().map(SiteRow::new).collect(),
        accounts: detail
            .accounts
            .iter()
            .map(|a| AccountRow::new(a, stale.get(&a.id).copied(), now))
            .collect(),
        stale_days,
        levels: OrgLevel::ALL
            .iter()
            .map(|l| (l.as_str(), level_label(*l, HeaderLang::Zh)))
            .collect(),
    })
}

// --- accounts ---------------------------------------------------------

/// An account as the pages show it.
#[derive(Debug)]
pub struct AccountRow {
    pub id: i64,
    pub platform: &'static str,
    pub account_id: String,
    pub name: String,
    pub org: String,
    pub status: &'static str,
    pub status_reason: String,
    /// In use: only then is its freshness judged.
    pub active: bool,
    pub feed: bool,
    /// The latest post recorded (China Standard Time), or nothing.
    pub last_post: String,
    /// Whole days since then.
    pub days: Option<i64>,
    /// The open `account_stale` finding, when the rule judges it stale.
    pub stale: Option<i64>,
}

impl AccountRow {
    fn new(
        account: &Account,
        stale: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AccountRow {
        AccountRow {
            id: account.id,
            platform: platform_label(account.platform, HeaderLang::Zh),
            account_id: account.account_id.clone(),
            name: account.name.clone(),
            org: account.org.clone(),
            status: account_status_label(account.status, HeaderLang::Zh),
            status_reason: account.status_reason.clone().unwrap_or_default(),
            active: account.status == AccountStatus::Active,
            feed: account.feed_url.is_some(),
            last_post: view::maybe_time(&account.last_post_at),
            days: account.last_post_at.map(|at| (now - at).num_days()),
            stale,
        }
    }

    /// The account list of its organization.
    pub fn org_href(&self) -> String {
        let org: String = url::form_urlencoded::byte_serialize(self.org.as_bytes()).collect();
        format!("/accounts?org={org}")
    }

    pub fn days_text(&self) -> String {
        match self.days {
            Some(0) => "今天".to_string(),
            Some(d) if d > 0 => format!("{d} 天前"),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct AccountsQuery {
    platform: Option<String>,
    /// An organization's name or id.
    org: Option<String>,
    status: Option<String>,
    /// `1`: only the accounts judged stale.
    stale: Option<String>,
    after: Option<String>,
    msg: Option<String>,
}

#[derive(Template)]
#[template(path = "web/accounts.html")]
struct AccountsPage {
    frame: Frame,
    rows: Vec<AccountRow>,
    platforms: Vec<Choice>,
    statuses: Vec<Choice>,
    org: String,
    stale_only: bool,
    stale_days: u32,
    /// Accounts matching the filters, and of those judged stale.
    total: u64,
    stale_total: u64,
    next: Option<String>,
}

async fn accounts(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<AccountsQuery>,
) -> Result<Response, WebError> {
    let platform = given(&query.platform)
        .map(|raw| {
            crate::transfer::parse_platform(raw)
                .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()))
        })
        .transpose()?;
    let status = given(&query.status)
        .map(|raw| {
            raw.parse::<AccountStatus>()
                .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()))
        })
        .transpose()?;
    let stale_only = match given(&query.stale) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(bad_filter("stale", other, "must be 1 or 0")),
    };
    let after = after(&query.after)?;
    let org_key = given(&query.org).map(str::to_string);
    let auth = person.auth();
    let visible = person.caller.visible.clone();
    let person_orgs: Option<Vec<i64>> = match &visible {
        crate::access::Visible::All => None,
        crate::access::Visible::Orgs { ids, .. } => Some(ids.iter().copied().collect()),
    };
    let (rows, total, stale_total, more, stale_days) = blocking(&state, move |app| {
        // An organization the person may not see is refused as one that
        // does not exist, naming the filter.
        let org = match &org_key {
            Some(key) => Some(
                auth.org(key, app.store.org_by_key(key))
                    .map_err(|e| match e.status {
                        StatusCode::NOT_FOUND => crate::api::error::ApiError::field(
                            "org",
                            key,
                            "names no organization (give its name or id)",
                        ),
                        _ => e,
                    })?
                    .id,
            ),
            None => None,
        };
        // Filtered and paged in SQL: the page's accounts are read, not
        // the province's.
        let org_ids = match (&org, &person_orgs) {
            (Some(org), _) => Some(vec![*org]),
            (None, Some(ids)) => Some(ids.clone()),
            (None, None) => None,
        };
        let stale = registry_app::stale_accounts(&app.store, &visible)?;
        let stale_ids: Vec<i64> = stale.keys().copied().collect();
        let filters = AccountPageQuery {
            org_ids,
            status,
            platform,
            ids: stale_only.then(|| stale_ids.clone()),
            after,
            limit: i64::try_from(PAGE + 1).unwrap_or(i64::MAX),
        };
        let (found, total) = app.store.accounts_page(&filters)?;
        let stale_total = if stale_ids.is_empty() {
            0
        } else {
            app.store
                .accounts_page(&AccountPageQuery {
                    ids: Some(stale_ids),
                    after: None,
                    limit: 0,
                    ..filters.clone()
                })?
                .1
        };
        let now = chrono::Utc::now();
        let mut page: Vec<AccountRow> = found
            .iter()
            .map(|a| AccountRow::new(a, stale.get(&a.id).copied(), now))
            .collect();
        let more = page.len() > PAGE;
        page.truncate(PAGE);
        Ok((
            page,
            total,
            stale_total,
            more,
            app.policy().thresholds.account_stale_days,
        ))
    })
    .await?;
    let next = more
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            next_href(
                "/accounts",
                &[
                    ("platform", &query.platform),
                    ("org", &query.org),
                    ("status", &query.status),
                    ("stale", &query.stale),
                ],
                last,
            )
        });
    view::page(&AccountsPage {
        frame: person
            .frame("/accounts", "政务新媒体")
            .with_notice(view::notice(query.msg)),
        rows,
        platforms: choices(
            Platform::ALL,
            Platform::as_str,
            |p| platform_label(p, HeaderLang::Zh),
            given(&query.platform),
        ),
        statuses: choices(
            AccountStatus::ALL,
            AccountStatus::as_str,
            |s| account_status_label(s, HeaderLang::Zh),
            given(&query.status),
        ),
        org: given(&query.org).unwrap_or_default().to_string(),
        stale_only,
        stale_days,
        total,
        stale_total,
        next,
    })
}

#[derive(Debug, Default, Deserialize)]
struct PostForm {
    /// When the post was seen (China Standard Time or RFC 3339); blank:
    /// now.
    #[serde(default)]
    at: Option<String>,
}

/// Records a post seen on an account, as `account seen` and the API's
/// `POST /accounts/{account}/posts`: operators may.
async fn record_post(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    const BACK: &str = "/accounts";
    posted.person.require(Role::Operator)?;
    let form: PostForm = posted.form()?;
    let at = given(&form.at)
        .map(|raw| crate::clock::parse_time("at", raw))
        .transpose()
        .map_err(|e| WebError::from(e).back(BACK))?;
    let auth = posted.person.auth();
    let account = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        crate::api::orgs::visible_account(&auth, &key, app.store.account(&key))?;
        Ok(app.store.account_seen(&key, &change)?)
    })
    .await
    .map_err(|e| WebError::from(e).back(BACK))?;
    Ok(view::done(
        BACK,
        &format!(
            "已记录{}账号“{}”的发布时间：{}",
            platform_label(account.platform, HeaderLang::Zh),
            account.name,
            view::maybe_time(&account.last_post_at)
        ),
    ))
}

// --- discovered host names ---------------------------------------------

/// A discovered host name as the page shows it.
#[derive(Debug)]
pub struct FoundRow {
    pub id: i64,
    pub host: String,
    pub source: &'static str,
    /// The file, list or zone it came from.
    pub detail: String,
    pub first_seen: String,
    pub last_seen: String,
    pub managed: bool,
    /// The site holding it, if one does.
    pub site: Option<i64>,
}

/// A source kind's value in the filter, and its label.
const SOURCES: &[(&str, &str)] = &[
    ("list", "名单（如证书透明度日志）"),
    ("zone-file", "区域文件"),
    ("axfr", "区域传送"),
    ("link", "网页链接"),
];

fn source_of(source: &crate::probe::zone::DiscoverySource) -> (&'static str, String) {
    use crate::probe::zone::DiscoverySource as S;
    match source {
        S::List(path) => ("list", path.clone()),
        S::ZoneFile(path) => ("zone-file", path.clone()),
        S::Axfr(zone) => ("axfr", zone.clone()),
        S::Link => ("link", String::new()),
    }
}

fn source_label(kind: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, label)| label)
}

#[derive(Debug, Default, Deserialize)]
struct DiscoveredQuery {
    /// A source kind (`list`, `zone-file`, `axfr`, `link`).
    source: Option<String>,
    /// `yes`: only host names a site holds; `no`: only those none holds.
    registered: Option<String>,
    /// Part of the host name.
    host: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "web/discovered.html")]
struct DiscoveredPage {
    frame: Frame,
    /// Whether the person sees every organization (else: the reason they
    /// see none).
    all: bool,
    rows: Vec<FoundRow>,
    sources: Vec<Choice>,
    registered: String,
    host: String,
    next: Option<String>,
}

/// Rows read at a time while filling a page.
const SCAN_BATCH: usize = 500;
/// Batches read at most for one page: a rare filter answers a shorter
/// page with a link onwards rather than reading the whole table.
const SCAN_BATCHES: usize = 20;

async fn discovered(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<DiscoveredQuery>,
) -> Result<Response, WebError> {
    let source = given(&query.source)
        .map(|raw| {
            SOURCES
                .iter()
                .find(|(k, _)| *k == raw)
                .map(|(k, _)| *k)
                .ok_or_else(|| bad_filter("source", raw, "must be list, zone-file, axfr or link"))
        })
        .transpose()?;
    let registered = match given(&query.registered) {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(other) => return Err(bad_filter("registered", other, "must be yes or no")),
    };
    let after = after(&query.after)?;
    let needle = given(&query.host).map(str::to_lowercase);
    let frame = person.frame("/discovered", "发现的域名");
    let sources = SOURCES
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            chosen: source == Some(value),
        })
        .collect();
    let shown = |rows, next| DiscoveredPage {
        frame: frame.clone(),
        all: person.caller.visible.all(),
        rows,
        sources,
        registered: given(&query.registered).unwrap_or_default().to_string(),
        host: given(&query.host).unwrap_or_default().to_string(),
        next,
    };
    // They belong to no organization: as the API, a person limited to
    // organizations sees none (the page says why).
    if !person.caller.visible.all() {
        return view::page(&shown(Vec::new(), None));
    }
    let (rows, next_after) = blocking(&state, move |app| {
        let policy = app.policy();
        let mut rows = Vec::new();
        let mut cursor = after;
        let mut more = false;
        'scan: for _ in 0..SCAN_BATCHES {
            let batch =
                crate::app::discovery::discovered_page(&app.store, &policy, cursor, SCAN_BATCH)?;
            let full = batch.len() == SCAN_BATCH;
            let hosts: Vec<String> = batch
                .iter()
                .map(|(_, f)| f.host.hostname.as_str().to_string())
                .collect();
            let held = app.store.held_hosts(&hosts)?;
            for (id, found) in batch {
                if rows.len() == PAGE {
                    more = true;
                    break 'scan;
                }
                cursor = Some(id);
                let (kind, detail) = source_of(&found.host.source);
                let host = found.host.hostname.as_str();
                let site = held.get(host).copied();
                let unicode = found.host.hostname.to_unicode();
                let keep = source.is_none_or(|s| s == kind)
                    && registered.is_none_or(|r| r == site.is_some())
                    && needle.as_ref().is_none_or(|n| {
                        host.contains(n.as_str()) || unicode.to_lowercase().contains(n.as_str())
                    });
                if keep {
                    rows.push(FoundRow {
                        id,
                        host: unicode,
                        source: source_label(kind),
                        detail,
                        first_seen: view::time(&found.host.first_seen),
                        last_seen: view::time(&found.host.last_seen),
                        managed: found.managed,
                        site,
                    });
                }
            }
            // A full batch may have more behind it; a short one was the
            // table's end.
            more = full;
            if !full {
                break;
            }
        }
        // Scanned to the end of the table: no next page.
        Ok((rows, if more { cursor } else { None }))
    })
    .await?;
    let next = next_after.map(|last| {
        next_href(
            "/discovered",
            &[
                ("source", &query.source),
                ("registered", &query.registered),
                ("host", &query.host),
            ],
            last,
        )
    });
    view::page(&shown(rows, next))
}
