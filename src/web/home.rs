//! The home page (总览): what is wrong today, at a glance, for what the
//! person sees: open findings by severity and kind, the last check cycle
//! and what it could not measure, sites by status and level, certificates
//! about to expire, accounts gone quiet, and two charts drawn here as SVG
//! (open findings per day, certificate expiries per week ahead). Counts
//! come from the store's aggregates (`store::overview`).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::chart::{self, Bar, Chart};
use super::session::Person;
use super::view::{self, Frame, WebError};
use crate::access::Visible;
use crate::api::{ApiState, blocking};
use crate::findings::Severity;
use crate::findings::text::{kind_name, severity_name};
use crate::store::overview::{Expiries, Overview, OverviewQuery};
use crate::transfer::{HeaderLang, level_label, platform_label, status_label};

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/", get(home))
}

/// Days of the chart of open findings.
pub const DAYS: u32 = 90;
/// Weeks of the chart of certificate expiries.
pub const WEEKS: u32 = 12;
/// Certificates listed when they expire within this many days.
pub const SOON_DAYS: i64 = 30;
/// Stale accounts listed at most (the count says how many in all).
const ACCOUNTS_SHOWN: usize = 50;

#[derive(Debug, Default, Deserialize)]
struct Notice {
    msg: Option<String>,
}

/// A count with the link that lists what it counts.
struct Count {
    label: String,
    /// A class for its tag (`sev-critical`), or none.
    class: &'static str,
    href: String,
    n: u64,
}

struct CertRow {
    site_id: i64,
    site: String,
    host: String,
    date: String,
    left: String,
}

struct AccountRow {
    name: String,
    platform: &'static str,
    org: String,
    last_post: String,
    finding: Option<i64>,
}

struct Cycle {
    started: String,
    finished: String,
    took: String,
    hosts: usize,
    failed: bool,
    failures: Vec<(String, String)>,
    failures_more: usize,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct Home {
    frame: Frame,
    total: u64,
    severities: Vec<Count>,
    kinds: Vec<Count>,
    cycle: Option<Cycle>,
    running: Option<String>,
    site_total: u64,
    statuses: Vec<Count>,
    levels: Vec<Count>,
    certificates: Vec<CertRow>,
    accounts: Vec<AccountRow>,
    accounts_total: usize,
    findings_chart: String,
    cert_chart: String,
}

/// How long the certificates' expiries are used again while no
/// observation was stored: a host name's last TLS observation ages out
/// of the freshness limit without a new row.
const EXPIRIES_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// What the home page keeps between views, so that a view reads what
/// changes and not the province's history: the open-findings chart's
/// ended days, per organizations seen and day (a day that has ended does
/// not change), and the certificates' expiries (until an observation is
/// stored, or for [`EXPIRIES_FOR`]).
#[derive(Debug, Default)]
pub struct HomeCache {
    days: std::collections::HashMap<DaysKey, Vec<(NaiveDate, u64)>>,
    expiries: Option<(std::time::Instant, std::sync::Arc<Expiries>)>,
}

/// The organizations a person sees (`None`: all) and the day.
type DaysKey = (Option<Vec<i64>>, NaiveDate);

impl HomeCache {
    fn keep(&mut self, key: DaysKey, overview: &Overview) {
        // Yesterday's entries, and a flood of scopes, are let go.
        if self.days.len() > 1_000 || self.days.keys().any(|(_, day)| *day != key.1) {
            self.days.clear();
        }
        if let Some((_, past)) = overview.open_per_day.split_last() {
            self.days.insert(key, past.to_vec());
        }
        let fresh = match &self.expiries {
            Some((_, known)) => !std::sync::Arc::ptr_eq(known, &overview.expiries),
            None => true,
        };
        if fresh {
            self.expiries = Some((std::time::Instant::now(), overview.expiries.clone()));
        }
    }
}

async fn home(
    person: Person,
    State(state): State<ApiState>,
    Query(query): Query<Notice>,
) -> Result<Response, WebError> {
    let orgs = match &person.caller.visible {
        Visible::All => None,
        Visible::Orgs { ids, .. } => Some(ids.iter().copied().collect()),
    };
    // What a cycle could not measure names host names of every
    // organization: listed only to those who see them all.
    let sees_all = matches!(person.caller.visible, Visible::All);
    let now = Utc::now();
    let today = now.with_timezone(&crate::clock::china()).date_naive();
    let key = (orgs.clone(), today);
    let (past_days, expiries) = {
        let cache = state.home.lock().unwrap_or_else(|e| e.into_inner());
        (
            cache.days.get(&key).cloned(),
            cache
                .expiries
                .as_ref()
                .filter(|(read, _)| read.elapsed() < EXPIRIES_FOR)
                .map(|(_, e)| e.clone()),
        )
    };
    let overview = blocking(&state, move |app| {
        let policy = app.policy();
        let thresholds = &policy.thresholds;
        let query = OverviewQuery {
            orgs,
            now,
            days: DAYS,
            tls_since: now - Duration::minutes(i64::from(thresholds.max_observation_age_mins)),
            horizon: now + Duration::weeks(i64::from(WEEKS)).max(Duration::days(SOON_DAYS)),
            stale_before: now - Duration::days(i64::from(thresholds.account_stale_days)),
            accounts_shown: ACCOUNTS_SHOWN,
            past_days,
            expiries,
        };
        Ok(app.store.overview(&query)?)
    })
    .await?;
    {
        let mut cache = state.home.lock().unwrap_or_else(|e| e.into_inner());
        cache.keep(key, &overview);
    }
    view::page(&page(
        person
            .frame("/", "总览")
            .with_notice(view::notice(query.msg)),
        overview,
        now,
        sees_all,
    ))
}

fn page(frame: Frame, o: Overview, now: DateTime<Utc>, sees_all: bool) -> Home {
    let mut by_severity: BTreeMap<Severity, u64> = BTreeMap::new();
    let mut by_kind: BTreeMap<(Severity, &'static str, String), u64> = BTreeMap::new();
    for (kind, severity, n) in &o.findings {
        *by_severity.entry(*severity).or_default() += n;
        *by_kind
            .entry((*severity, kind_name(*kind), kind.as_str().to_string()))
            .or_default() += n;
    }
    let severities = [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|s| Count {
            label: severity_name(s).to_string(),
            class: severity_class(s),
            href: format!("/findings?severity={}", s.as_str()),
            n: by_severity.get(&s).copied().unwrap_or(0),
        })
        .collect();
    // Worst first, then the most.
    let mut kinds: Vec<((Severity, &'static str, String), u64)> = by_kind.into_iter().collect();
    kinds.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(b.1.cmp(&a.1)).then(a.0.1.cmp(b.0.1)));
    let kinds = kinds
        .into_iter()
        .map(|((severity, name, id), n)| Count {
            label: name.to_string(),
            class: severity_class(severity),
            href: format!("/findings?kind={id}"),
            n,
        })
        .collect();

    let mut statuses: BTreeMap<_, u64> = BTreeMap::new();
    let mut levels: BTreeMap<_, u64> = BTreeMap::new();
    for (status, level, n) in &o.sites {
        *statuses.entry(*status).or_default() += n;
        *levels.entry(*level).or_default() += n;
    }
    let site_total = statuses.values().sum();
    let statuses = statuses
        .into_iter()
        .map(|(s, n)| Count {
            label: status_label(s, HeaderLang::Zh).to_string(),
            class: "",
            href: format!("/sites?status={}", s.as_str()),
            n,
        })
        .collect();
    let levels = levels
        .into_iter()
        .map(|(l, n)| Count {
            label: level_label(l, HeaderLang::Zh).to_string(),
            class: "",
            href: String::new(),
            n,
        })
        .collect();

    let cycle = o.last_cycle.as_ref().map(|run| {
        let secs = (run.finished_at - run.started_at).num_seconds().max(0);
        Cycle {
            started: view::time(&run.started_at),
            finished: view::time(&run.finished_at),
            took: duration_zh(secs),
            hosts: run.hosts,
            failed: run.status == crate::jobs::RunStatus::MeasurementFailed,
            failures: run
                .failures
                .iter()
                .take(if sees_all { 20 } else { 0 })
                .map(|f| (f.scope.clone(), f.reason.clone()))
                .collect(),
            failures_more: run
                .failures
                .len()
                .saturating_sub(if sees_all { 20 } else { 0 }),
        }
    });
    let running = o.running.as_ref().map(|r| view::time(&r.started_at));

    let soon = now + Duration::days(SOON_DAYS);
    let certificates = o
        .certificates
        .iter()
        .filter(|c| c.not_after < soon)
        .map(|c| CertRow {
            site_id: c.site_id,
            site: c.site_name.clone(),
            host: c
                .host
                .parse::<crate::registry::Hostname>()
                .map(|h| h.to_unicode())
                .unwrap_or_else(|_| c.host.clone()),
            date: view::date(&c.not_after),
            left: if c.not_after <= now {
                "已过期".to_string()
            } else {
                format!("{} 天", (c.not_after - now).num_days())
            },
        })
        .collect();

    let accounts_total = o.stale_total;
    let accounts = o
        .stale_accounts
        .iter()
        .take(ACCOUNTS_SHOWN)
        .map(|s| AccountRow {
            name: s.account.name.clone(),
            platform: platform_label(s.account.platform, HeaderLang::Zh),
            org: s.account.org.clone(),
            last_post: s
                .account
                .last_post_at
                .map(|at| view::date(&at))
                .unwrap_or_else(|| "无记录".to_string()),
            finding: s.finding,
        })
        .collect();

    Home {
        frame,
        total: by_severity.values().sum(),
        severities,
        kinds,
        cycle,
        running,
        site_total,
        statuses,
        levels,
        certificates,
        accounts,
        accounts_total,
        findings_chart: findings_chart(&o),
        cert_chart: cert_chart(&o, now),
    }
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "sev-critical",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

/// Seconds as people say them: `3 分 12 秒`.
fn duration_zh(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} 秒"),
        s if s < 3600 => format!("{} 分 {} 秒", s / 60, s % 60),
        s => format!("{} 小时 {} 分", s / 3600, (s % 3600) / 60),
    }
}

fn findings_chart(o: &Overview) -> String {
    let bars: Vec<Bar> = o
        .open_per_day
        .iter()
        .map(|(date, n)| Bar {
            label: format!("{}月{}日", date.month(), date.day()),
            title: format!(
                "{}年{}月{}日：{n} 个",
                date.year(),
                date.month(),
                date.day()
            ),
            value: *n,
        })
        .collect();
    chart::bars(
        &Chart {
            caption: "近 90 天每日未解决问题数（按北京时间每日结束时计）",
            unit: "问题数（个）",
            label_every: 15,
            fill: "#1456f0",
        },
        &bars,
    )
}

/// Certificate expiries per week ahead: week 1 starts now.
fn cert_chart(o: &Overview, now: DateTime<Utc>) -> String {
    let mut counts = vec![0u64; WEEKS as usize];
    for cert in &o.certificates {
        if cert.not_after <= now {
            continue;
        }
        let week = (cert.not_after - now).num_days() / 7;
        if let Some(slot) = usize::try_from(week).ok().and_then(|w| counts.get_mut(w)) {
            *slot += 1;
        }
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let start = now + Duration::weeks(i as i64);
            let local = start.with_timezone(&crate::clock::china());
            let end = (start + Duration::days(6)).with_timezone(&crate::clock::china());
            Bar {
                label: format!("{}/{}起", local.month(), local.day()),
                title: format!(
                    "第 {} 周（{}月{}日至{}月{}日）：{n} 张证书到期",
                    i + 1,
                    local.month(),
                    local.day(),
                    end.month(),
                    end.day()
                ),
                value: *n,
            }
        })
        .collect();
    chart::bars(
        &Chart {
            caption: "未来 12 周每周到期的证书数",
            unit: "证书数（张）",
            label_every: 1,
            fill: "#de7802",
        },
        &bars,
    )
}
