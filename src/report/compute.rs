//! The circular computed from what the store held at the quarter's end,
//! pure: the registry as it stood then (sites changed since are taken
//! from their audit snapshots), each finding's life from its events up to
//! then, the quarter's check runs and page visits, and the reconciliation
//! run it names. The same facts give the same circular.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::{Bar, Block, Cell, Circular, Figures, Section, Table, percent};
use crate::clock::{show_date, show_date_zh};
use crate::findings::text::{kind_name, platform, site_status};
use crate::findings::{FindingKind, FindingStatus, Scope, Severity, fails_availability};
use crate::jobs::RunStatus;
use crate::policy::Policy;
use crate::policy::report::Problem;
use crate::reconcile::Quarter;
use crate::reconcile::output::Report;
use crate::registry::{
    Account, AccountStatus, DivisionCode, DomainState, OrgLevel, Organization, Site, SiteStatus,
};
use crate::store::reconcile::{AccountThen, OrgThen, SiteThen};
use crate::store::{FindingEvent, PageSpan, Run, StoredFinding};
use crate::transfer::{HeaderLang, level_label};

/// Everything the circular reads. `events` hold every finding's events
/// up to `as_of` (later ones are not known then); `pages` the page visits
/// of the sites' host names over the quarter (and the previous one, for
/// its figures); `runs` the probe runs of both quarters.
#[derive(Debug)]
pub struct Facts<'a> {
    pub policy: &'a Policy,
    pub sites: &'a [Site],
    /// Sites changed after the quarter's end, as they stood then.
    pub earlier: &'a HashMap<i64, Option<SiteThen>>,
    /// The same, at the previous quarter's end.
    pub earlier_previous: &'a HashMap<i64, Option<SiteThen>>,
    /// Accounts changed after the quarter's end, as they stood then.
    pub accounts_earlier: &'a HashMap<i64, Option<AccountThen>>,
    /// The same, at the previous quarter's end.
    pub accounts_earlier_previous: &'a HashMap<i64, Option<AccountThen>>,
    /// Organizations changed after the quarter's end, as they stood then.
    pub orgs_earlier: &'a HashMap<i64, Option<OrgThen>>,
    /// The same, at the previous quarter's end.
    pub orgs_earlier_previous: &'a HashMap<i64, Option<OrgThen>>,
    pub orgs: &'a [Organization],
    pub accounts: &'a [Account],
    pub findings: &'a [StoredFinding],
    pub events: &'a HashMap<i64, Vec<FindingEvent>>,
    pub runs: &'a [Run],
    pub pages: &'a BTreeMap<String, Vec<PageSpan>>,
    pub reconcile: Option<&'a Report>,
    /// The record of the quarter corrected since its last circular.
    pub corrections: Option<Corrections>,
}

/// Audit rows effective by the quarter's end recorded after the
/// quarter's previous circular was generated: the record it was computed
/// from has been corrected since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrections {
    pub previous_report: i64,
    pub previous_at: DateTime<Utc>,
    pub count: u64,
    pub latest: DateTime<Utc>,
}

/// What to compute.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub quarter: Quarter,
    /// The quarter's end, or now for a quarter not over.
    pub as_of: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
}

/// A stretch of a finding's life while it was open (or acknowledged),
/// with the severity it had; `to` is `None` while still open at the
/// time the events end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    severity: Severity,
}

impl Span {
    fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.from < to && self.to.is_none_or(|end| end > from)
    }

    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && self.to.is_none_or(|end| end > at)
    }
}

/// The stretches a finding was open, from its events by `until`.
fn open_spans(events: &[FindingEvent], until: DateTime<Utc>) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut current: Option<Span> = None;
    for event in events.iter().filter(|e| e.at <= until) {
        let open = matches!(
            event.status,
            FindingStatus::Open | FindingStatus::Acknowledged
        );
        match (&mut current, open) {
            (Some(span), true) if span.severity == event.severity => {}
            (Some(span), true) => {
                // The severity changed: a new stretch at the new severity.
                span.to = Some(event.at);
                spans.push(*span);
                current = Some(Span {
                    from: event.at,
                    to: None,
                    severity: event.severity,
                });
            }
            (None, true) => {
                current = Some(Span {
                    from: event.at,
                    to: None,
                    severity: event.severity,
                });
            }
            (Some(span), false) => {
                span.to = Some(event.at);
                spans.push(*span);
                current = None;
            }
            (None, false) => {}
        }
    }
    spans.extend(current);
    spans
}

/// One finding as the circular sees it in a period.
#[derive(Debug, Clone)]
struct Life<'a> {
    finding: &'a StoredFinding,
    spans: Vec<Span>,
    /// Waived by an exception at the time asked about: not open, and
    /// still true of the site (a waived https_missing is no HTTPS).
    waived: bool,
}

impl Life<'_> {
    fn open_during(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.spans.iter().any(|s| s.overlaps(from, to))
    }

    fn critical_during(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.spans
            .iter()
            .any(|s| s.severity == Severity::Critical && s.overlaps(from, to))
    }

    fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.spans.iter().any(|s| s.covers(at))
    }

    fn first_opened(&self) -> Option<DateTime<Utc>> {
        self.spans.first().map(|s| s.from)
    }
}

/// A site as it stood at a quarter's end.
#[derive(Debug, Clone)]
struct SiteAt<'a> {
    site: &'a Site,
    status: SiteStatus,
    name: String,
    org: String,
    code: Option<String>,
}

fn sites_at<'a>(sites: &'a [Site], earlier: &HashMap<i64, Option<SiteThen>>) -> Vec<SiteAt<'a>> {
    sites
        .iter()
        .filter_map(|site| match earlier.get(&site.id) {
            // Not requested yet then.
            Some(None) => None,
            Some(Some(then)) => Some(SiteAt {
                site,
                status: then.status,
                name: then.name.clone(),
                org: then.org.clone(),
                code: then.code.as_ref().map(ToString::to_string),
            }),
            None => Some(SiteAt {
                site,
                status: site.status,
                name: site.name.clone(),
                org: site.org.clone(),
                code: site.code.as_ref().map(ToString::to_string),
            }),
        })
        .collect()
}

/// The accounts as they stood at a quarter's end: those changed since
/// from their audit snapshots, those registered since left out.
fn accounts_at(accounts: &[Account], earlier: &HashMap<i64, Option<AccountThen>>) -> Vec<Account> {
    accounts
        .iter()
        .filter_map(|account| match earlier.get(&account.id) {
            Some(None) => None,
            Some(Some(then)) => Some(Account {
                status: then.status,
                name: then.name.clone(),
                org: then.org.clone(),
                ..account.clone()
            }),
            None => Some(account.clone()),
        })
        .collect()
}

/// The organizations as they stood at a quarter's end (name, division
/// and level: what sites are grouped by).
fn orgs_at(orgs: &[Organization], earlier: &HashMap<i64, Option<OrgThen>>) -> Vec<Organization> {
    orgs.iter()
        .filter_map(|org| match earlier.get(&org.id) {
            Some(None) => None,
            Some(Some(then)) => Some(Organization {
                name: then.name.clone(),
                division: then.division.clone(),
                level: then.level,
                ..org.clone()
            }),
            None => Some(org.clone()),
        })
        .collect()
}

/// Organizations by the names sites and accounts give them: the name an
/// organization had then (a snapshot's), or the one it has now (an
/// entity unchanged since reads its organizer's name as it is now), each
/// to the organization as it stood then.
fn org_names<'o>(
    current: &'o [Organization],
    then: &'o [Organization],
) -> HashMap<&'o str, &'o Organization> {
    let by_id: HashMap<i64, &Organization> = then.iter().map(|o| (o.id, o)).collect();
    let mut out: HashMap<&str, &Organization> = current
        .iter()
        .filter_map(|o| by_id.get(&o.id).map(|t| (o.name.as_str(), *t)))
        .collect();
    out.extend(then.iter().map(|o| (o.name.as_str(), o)));
    out
}

/// Whether a site in this status is operated (should be running).
fn operated(status: SiteStatus) -> bool {
    matches!(
        status,
        SiteStatus::Live | SiteStatus::Suspended | SiteStatus::Retiring
    )
}

/// The host names of a site that its visits are counted on.
fn hosts(site: &Site) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(primary) = site.primary() {
        out.push(primary.hostname.to_string());
    }
    for domain in &site.domains {
        let name = domain.hostname.to_string();
        if domain.state == DomainState::Active && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The host names whose visits a circular of `sites` reads.
pub fn page_hosts(sites: &[Site]) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for site in sites {
        out.extend(hosts(site));
    }
    out.into_iter().collect()
}

/// The worst window of the quarter by the availability veto: its end,
/// visits, failures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    visits: u64,
    failed: u64,
}

/// Visits of `spans` inside `[from, to)`: a stretch's visits counted in
/// proportion to the part of it inside, as the rules count a window.
fn visits_in(spans: &[PageSpan], from: DateTime<Utc>, to: DateTime<Utc>) -> (u64, u64) {
    let (mut visits, mut failed) = (0_u64, 0_u64);
    for span in spans.iter().filter(|s| !s.ipv6) {
        if span.last_seen < from || span.first_seen >= to {
            continue;
        }
        let length = (span.last_seen - span.first_seen).num_seconds();
        let a = span.first_seen.max(from);
        let b = span.last_seen.min(to);
        let inside = if length <= 0 || (a == span.first_seen && b == span.last_seen) {
            span.visits
        } else {
            // As `store::observations::availability` counts a stretch cut
            // by its window: in proportion, at least one visit.
            let part = (b - a).num_seconds().max(0) as f64 / length as f64;
            ((span.visits as f64 * part).ceil().max(1.0)) as u64
        };
        visits += inside;
        if !span.loaded {
            failed += inside;
        }
    }
    (visits, failed)
}

/// The worst window of `days` days, stepped a day at a time through
/// `[from, to)`, that fails the availability veto; `None` when none does.
fn unreachable_window(
    spans: &[PageSpan],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    days: u32,
    threshold: u32,
) -> Option<Window> {
    let length = Duration::days(i64::from(days.max(1)));
    let mut worst: Option<Window> = None;
    let mut end = (from + length).min(to);
    loop {
        let start = (end - length).max(from);
        let (visits, failed) = visits_in(spans, start, end);
        if fails_availability(visits, failed, threshold) {
            let share = failed as f64 / visits as f64;
            let better = worst.is_none_or(|w| share > w.failed as f64 / w.visits as f64);
            if better {
                worst = Some(Window {
                    from: start,
                    to: end,
                    visits,
                    failed,
                });
            }
        }
        if end >= to {
            break;
        }
        end = (end + Duration::days(1)).min(to);
    }
    worst
}

/// Where a site's organizer belongs in the attached table: a city (by
/// its division's first four digits) or, for the province's and the
/// centre's own organizations, the organization itself.
fn group_of(org: Option<&Organization>, policy: &Policy) -> (u8, String, String) {
    let Some(org) = org else {
        return (3, String::new(), "未登记主办单位".to_string());
    };
    match org.level {
        OrgLevel::Central | OrgLevel::Province => (2, org.name.clone(), org.name.clone()),
        _ => {
            let code = format!("{}00", &org.division.as_str()[..4]);
            let name = code
                .parse::<DivisionCode>()
                .ok()
                .and_then(|c| policy.divisions.name(&c).map(str::to_string))
                .unwrap_or_else(|| code.clone());
            (1, code, name)
        }
    }
}

/// One row of 附件1 while it is counted.
#[derive(Debug, Clone, Default)]
struct Tally {
    sites: usize,
    checked: usize,
    failed: usize,
    /// Sites whose IPv6 was measured (a page loaded over IPv6, or an
    /// IPv6 finding), and those that support it at the quarter's end.
    ipv6_judged: usize,
    ipv6: usize,
    /// Sites whose homepage loaded in the quarter (HTTPS is judged then),
    /// and those serving it at the quarter's end.
    https_judged: usize,
    https: usize,
    cert_problems: usize,
    accounts: usize,
    stale: usize,
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

const CERT_KINDS: [FindingKind; 7] = [
    FindingKind::CertExpired,
    FindingKind::CertExpiring,
    FindingKind::CertNotYetValid,
    FindingKind::CertHostnameMismatch,
    FindingKind::CertUntrusted,
    FindingKind::CertWeak,
    FindingKind::TlsHandshakeFailed,
];

/// Items named in a paragraph before "等N个" refers to the table.
const NAMED_IN_TEXT: usize = 20;

/// A quarter's figures and the rows behind them.
#[derive(Debug)]
struct Period<'a> {
    figures: Figures,
    sites: Vec<SiteAt<'a>>,
    /// Operated sites, by site id: checked, and the reasons it failed.
    judged: BTreeMap<i64, Judged>,
    lives: Vec<Life<'a>>,
    checks_failed: usize,
    overdue: Vec<Overdue<'a>>,
    stale: Vec<Life<'a>>,
    by_status: BTreeMap<SiteStatus, usize>,
    /// The accounts and organizations as they stood at the end.
    accounts: Vec<Account>,
    orgs: Vec<Organization>,
    by_level: BTreeMap<OrgLevel, usize>,
    closed_in_quarter: usize,
}

/// A finding past its rectification deadline during the quarter, and
/// how it stood at the quarter's end.
#[derive(Debug, Clone, Copy)]
struct Overdue<'a> {
    finding: &'a StoredFinding,
    due: DateTime<Utc>,
    /// `None` while still open then; else the status that closed it and
    /// when.
    closed: Option<(FindingStatus, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Default)]
struct Judged {
    checked: bool,
    reasons: Vec<String>,
    unreachable: Option<Window>,
}

fn period<'a>(
    facts: &Facts<'a>,
    quarter: Quarter,
    as_of: DateTime<Utc>,
    earlier: &HashMap<i64, Option<SiteThen>>,
    accounts_earlier: &HashMap<i64, Option<AccountThen>>,
    orgs_earlier: &HashMap<i64, Option<OrgThen>>,
) -> Period<'a> {
    let from = quarter.start();
    let policy = facts.policy;
    let sites = sites_at(facts.sites, earlier);
    let accounts = accounts_at(facts.accounts, accounts_earlier);
    let orgs = orgs_at(facts.orgs, orgs_earlier);
    let lives: Vec<Life<'a>> = facts
        .findings
        .iter()
        .filter_map(|finding| {
            let spans = match facts.events.get(&finding.id) {
                Some(events) => open_spans(events, as_of),
                // Opened before findings kept their events (a database
                // older than them): its one stretch from its own times.
                None => finding
                    .opened_at
                    .filter(|opened| {
                        *opened <= as_of && finding.status != FindingStatus::Suppressed
                    })
                    .map(|opened| {
                        vec![Span {
                            from: opened,
                            to: finding.resolved_at.filter(|r| *r <= as_of),
                            severity: finding.severity,
                        }]
                    })
                    .unwrap_or_default(),
            };
            let waived = facts
                .events
                .get(&finding.id)
                .and_then(|events| events.iter().rev().find(|e| e.at <= as_of))
                .is_some_and(|e| e.status == FindingStatus::Suppressed);
            (!spans.is_empty()).then_some(Life {
                finding,
                spans,
                waived,
            })
        })
        .collect();
    let mut by_site: HashMap<i64, Vec<&Life<'a>>> = HashMap::new();
    for life in &lives {
        if let Some(site) = life.finding.site_id {
            by_site.entry(site).or_default().push(life);
        }
    }
    let runs: Vec<&Run> = facts
        .runs
        .iter()
        .filter(|r| r.started_at >= from && r.started_at < as_of)
        .collect();
    let checks = runs.iter().filter(|r| r.status == RunStatus::Ok).count();
    let checks_failed = runs
        .iter()
        .filter(|r| r.status == RunStatus::MeasurementFailed)
        .count();
    let t = &policy.thresholds;
    let mut judged = BTreeMap::new();
    let mut by_status = BTreeMap::new();
    let mut by_level = BTreeMap::new();
    let mut closed_in_quarter = 0;
    let org_by_name = org_names(facts.orgs, &orgs);
    for s in &sites {
        let when = match s.status {
            SiteStatus::Offline => s.site.times.offline_at,
            SiteStatus::Closed => s.site.times.closed_at,
            _ => None,
        };
        if when.is_some_and(|w| w >= from && w < as_of) {
            closed_in_quarter += 1;
        }
        if !operated(s.status) {
            continue;
        }
        *by_status.entry(s.status).or_insert(0) += 1;
        if let Some(org) = org_by_name.get(s.org.as_str()) {
            *by_level.entry(org.level).or_insert(0) += 1;
        }
        let mut j = Judged::default();
        let site_lives = by_site.get(&s.site.id).map(Vec::as_slice).unwrap_or(&[]);
        let visited = hosts(s.site).iter().any(|h| {
            facts.pages.get(h).is_some_and(|spans| {
                spans
                    .iter()
                    .any(|p| p.last_seen >= from && p.first_seen < as_of)
            })
        });
        j.checked =
            checks > 0 && (visited || site_lives.iter().any(|l| l.open_during(from, as_of)));
        if j.checked {
            let mut kinds: BTreeSet<FindingKind> = BTreeSet::new();
            for life in site_lives {
                if life.critical_during(from, as_of) {
                    kinds.insert(life.finding.kind);
                }
            }
            j.reasons = kinds.iter().map(|k| kind_name(*k).to_string()).collect();
            let primary = s.site.primary().map(|d| d.hostname.to_string());
            j.unreachable = primary.and_then(|h| facts.pages.get(&h)).and_then(|spans| {
                unreachable_window(
                    spans,
                    from,
                    as_of,
                    t.unreachable_window_days,
                    t.unreachable_failed_percent,
                )
            });
            if let Some(w) = j.unreachable {
                j.reasons.push(format!(
                    "访问可用性不达标（{}至{}访问{}次，{}次未能打开，占{:.1}%）",
                    show_date_zh(w.from),
                    show_date_zh(w.to - Duration::seconds(1)),
                    w.visits,
                    w.failed,
                    w.failed as f64 * 100.0 / w.visits as f64
                ));
            }
        }
        judged.insert(s.site.id, j);
    }
    let operated_sites = judged.len();
    let checked = judged.values().filter(|j| j.checked).count();
    let failed = judged
        .values()
        .filter(|j| j.checked && !j.reasons.is_empty())
        .count();
    let unreachable = judged.values().filter(|j| j.unreachable.is_some()).count();
    // Accounts: the active ones; judged when something of them is
    // measured (a feed, a known post).
    let active: Vec<&Account> = accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
        .collect();
    let stale: Vec<Life<'a>> = lives
        .iter()
        .filter(|l| l.finding.kind == FindingKind::AccountStale && l.open_during(from, as_of))
        .cloned()
        .collect();
    let stale_accounts: BTreeSet<i64> =
        stale.iter().filter_map(|l| account_of(l.finding)).collect();
    let accounts_checked = active
        .iter()
        .filter(|a| {
            checks > 0 && (a.feed_url.is_some() || a.last_post_at.is_some())
                || stale_accounts.contains(&a.id)
        })
        .count();
    let accounts_failed = active
        .iter()
        .filter(|a| stale_accounts.contains(&a.id))
        .count();
    let deadlines = &policy.alerts.deadlines;
    let mut overdue = Vec::new();
    for life in &lives {
        for span in &life.spans {
            let Some(due) = deadlines.due(life.finding.kind, span.severity, span.from) else {
                continue;
            };
            if due < as_of && span.covers(due.max(from)) && span.overlaps(from, as_of) {
                let closed = if life.open_at(as_of - Duration::seconds(1)) {
                    None
                } else {
                    facts
                        .events
                        .get(&life.finding.id)
                        .and_then(|events| events.iter().rev().find(|e| e.at <= as_of))
                        .map(|e| (e.status, e.at))
                        .or_else(|| {
                            life.finding
                                .resolved_at
                                .map(|at| (FindingStatus::Resolved, at))
                        })
                };
                overdue.push(Overdue {
                    finding: life.finding,
                    due,
                    closed,
                });
                break;
            }
        }
    }
    overdue.sort_by_key(|o| (o.due, o.finding.id));
    let messages = facts
        .reconcile
        .filter(|r| r.quarter == quarter)
        .and_then(|r| r.comparison.stats.messages.clone());
    let figures = Figures {
        sites: operated_sites,
        sites_checked: checked,
        sites_failed: failed,
        site_pass_rate: share(checked - failed, checked),
        sites_unreachable: unreachable,
        accounts: active.len(),
        accounts_checked,
        accounts_failed,
        account_pass_rate: share(
            accounts_checked.saturating_sub(accounts_failed),
            accounts_checked,
        ),
        checks,
        messages_received: messages.as_ref().map(|m| m.received),
        messages_on_time_rate: messages
            .as_ref()
            .and_then(|m| share(m.on_time, m.on_time + m.late + m.unanswered)),
        overdue: overdue.len(),
    };
    Period {
        figures,
        sites,
        judged,
        lives,
        checks_failed,
        overdue,
        stale,
        by_status,
        accounts,
        orgs,
        by_level,
        closed_in_quarter,
    }
}

fn account_of(finding: &StoredFinding) -> Option<i64> {
    match finding.scope.parse::<Scope>() {
        Ok(Scope::Account(id)) => Some(id),
        _ => None,
    }
}

/// A level as circulars name it ("市级", where the registry's label is
/// the administrative "地级").
fn level_name(level: OrgLevel) -> &'static str {
    match level {
        OrgLevel::Prefecture => "市级",
        OrgLevel::Township => "乡镇级",
        other => level_label(other, HeaderLang::Zh),
    }
}

/// "上升1.20个百分点" / "下降…" / "持平".
fn change_in_rate(before: Option<f64>, now: Option<f64>) -> Option<String> {
    let (b, n) = (before?, now?);
    let points = (n - b) * 100.0;
    Some(if points.abs() < 0.005 {
        format!("持平（{}）", percent(Some(n)))
    } else if points > 0.0 {
        format!(
            "由{}上升至{}，提高{:.2}个百分点",
            percent(Some(b)),
            percent(Some(n)),
            points
        )
    } else {
        format!(
            "由{}下降至{}，降低{:.2}个百分点",
            percent(Some(b)),
            percent(Some(n)),
            -points
        )
    })
}

fn change_in_count(before: usize, now: usize, unit: &str) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Equal => format!("持平（{now}{unit}）"),
        std::cmp::Ordering::Greater => {
            format!("增加{}{unit}（上季度{before}{unit}）", now - before)
        }
        std::cmp::Ordering::Less => {
            format!("减少{}{unit}（上季度{before}{unit}）", before - now)
        }
    }
}

/// Names `items`, the first [`NAMED_IN_TEXT`] of them, then "等N个".
fn named(items: &[String], unit: &str, table: &str) -> String {
    if items.len() <= NAMED_IN_TEXT {
        format!("{}。", items.join("；"))
    } else {
        format!(
            "{}等{}{unit}，详见{table}。",
            items[..NAMED_IN_TEXT].join("；"),
            items.len()
        )
    }
}

const NUMERALS: [&str; 20] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
    "十五", "十六", "十七", "十八", "十九", "二十",
];

fn numeral(i: usize) -> String {
    NUMERALS
        .get(i)
        .map_or_else(|| (i + 1).to_string(), |n| n.to_string())
}

/// Computes the circular.
pub fn compute(facts: &Facts<'_>, request: Request) -> Circular {
    let Request {
        quarter,
        as_of,
        generated_at,
    } = request;
    let policy = facts.policy;
    let rp = &policy.report;
    let complete = quarter.end() <= as_of;
    let from = quarter.start();
    let now = period(
        facts,
        quarter,
        as_of,
        facts.earlier,
        facts.accounts_earlier,
        facts.orgs_earlier,
    );
    let previous = quarter.previous();
    let before = period(
        facts,
        previous,
        previous.end(),
        facts.earlier_previous,
        facts.accounts_earlier_previous,
        facts.orgs_earlier_previous,
    );
    let f = &now.figures;
    // The last day the circular speaks of.
    let day = if complete {
        as_of - Duration::seconds(1)
    } else {
        as_of
    };
    let org_by_name = org_names(facts.orgs, &now.orgs);
    let org_by_id: HashMap<i64, &Organization> = now.orgs.iter().map(|o| (o.id, o)).collect();
    let site_by_id: HashMap<i64, &SiteAt<'_>> = now.sites.iter().map(|s| (s.site.id, s)).collect();

    // 一、总体情况
    let mut overview = Vec::new();
    let levels: Vec<String> = now
        .by_level
        .iter()
        .map(|(level, n)| format!("{}{n}家", level_name(*level)))
        .collect();
    let statuses: Vec<String> = now
        .by_status
        .iter()
        .map(|(status, n)| format!("{}{n}家", site_status(*status)))
        .collect();
    let mut platforms: BTreeMap<&str, usize> = BTreeMap::new();
    for account in now
        .accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
    {
        *platforms.entry(platform(account.platform)).or_insert(0) += 1;
    }
    let platforms: Vec<String> = platforms.iter().map(|(p, n)| format!("{p}{n}个")).collect();
    let mut p = format!(
        "截至{}，{}共有政府网站{}家",
        show_date_zh(day),
        rp.region,
        f.sites
    );
    if !levels.is_empty() {
        p += &format!("，其中{}", levels.join("、"));
    }
    if !statuses.is_empty() {
        p += &format!("；按运行状态，{}", statuses.join("、"));
    }
    p += &format!(
        "。本季度关停下线网站{}家。共有政务新媒体账号{}个",
        now.closed_in_quarter, f.accounts
    );
    if !platforms.is_empty() {
        p += &format!("，其中{}", platforms.join("、"));
    }
    p.push('。');
    overview.push(Block::Paragraph(p));
    let mut p = format!("本季度共开展自动检查{}轮", f.checks);
    if now.checks_failed > 0 {
        p += &format!(
            "（另有{}轮因监测方自身网络原因未能完成测量，不计入结果）",
            now.checks_failed
        );
    }
    p += &format!(
        "，检查网站{}家，抽查比例{}。检查发现不合格网站{}家，政府网站合格率{}",
        f.sites_checked,
        percent(share(f.sites_checked, f.sites)),
        f.sites_failed,
        percent(f.site_pass_rate)
    );
    if f.sites_unreachable > 0 {
        p += &format!(
            "；其中{}家网站访问可用性不达标（连续{}天内{}%以上的访问未能正常打开）",
            f.sites_unreachable,
            policy.thresholds.unreachable_window_days,
            policy.thresholds.unreachable_failed_percent
        );
    }
    p += &format!(
        "。检查政务新媒体账号{}个，不合格{}个，政务新媒体合格率{}。",
        f.accounts_checked,
        f.accounts_failed,
        percent(f.account_pass_rate)
    );
    overview.push(Block::Paragraph(p));
    overview.push(Block::Paragraph(
        "本通报的合格率仅依据系统自动测量的项目判定（网站：域名解析、可访问性、证书、页面篡改等单项否决问题；政务新媒体：更新情况），IPv6、HTTPS部署等情况另行统计；栏目更新、互动回应等其他单项否决指标未纳入自动测量，合格率不等同于全面检查的结论。".into(),
    ));
    // The reconciliation's figures are this quarter's only if its run is.
    let same_quarter = facts.reconcile.filter(|r| r.quarter == quarter);
    let messages = same_quarter.and_then(|r| r.comparison.stats.messages.clone());
    overview.push(Block::Paragraph(match &messages {
        Some(m) => format!(
            "本季度“我为政府网站找错”平台转办网民留言{}条，经核实属实{}条；按时答复{}条，逾期答复{}条，未答复{}条{}，按时答复率{}。",
            m.received,
            m.true_reports,
            m.on_time,
            m.late,
            m.unanswered,
            if m.not_yet_due > 0 {
                format!("（另有{}条尚未到答复期限）", m.not_yet_due)
            } else {
                String::new()
            },
            percent(f.messages_on_time_rate)
        ),
        None => "本季度的对账未包含“我为政府网站找错”平台留言数据，留言办理情况未作统计。".into(),
    }));
    let still_overdue = now.overdue.iter().filter(|o| o.closed.is_none()).count();
    overview.push(Block::Paragraph(if now.overdue.is_empty() {
        "本季度没有超过整改期限未整改的问题。".to_string()
    } else {
        format!(
            "本季度有{}个问题超过整改期限，其中{}个已整改或豁免，{}个截至{}仍未整改，详见本通报第二部分。",
            now.overdue.len(),
            now.overdue.len() - still_overdue,
            still_overdue,
            show_date_zh(day)
        )
    }));
    let b = &before.figures;
    overview.push(Block::Paragraph(if b.checks == 0 {
        format!(
            "上季度（{}）未开展自动检查，无可比较的数据。各地区、各部门网站合格率见图1和附件1。",
            previous.label_zh()
        )
    } else {
        let mut changes = vec![format!(
            "网站总数{}",
            change_in_count(b.sites, f.sites, "家")
        )];
        if let Some(c) = change_in_rate(b.site_pass_rate, f.site_pass_rate) {
            changes.push(format!("网站合格率{c}"));
        }
        if let Some(c) = change_in_rate(b.account_pass_rate, f.account_pass_rate) {
            changes.push(format!("政务新媒体合格率{c}"));
        }
        changes.push(format!(
            "不合格网站{}",
            change_in_count(b.sites_failed, f.sites_failed, "家")
        ));
        format!(
            "与上季度（{}）相比，{}。各地区、各部门网站合格率见图1和附件1。",
            previous.label_zh(),
            changes.join("；")
        )
    }));

    // 二、检查发现的主要问题
    // A finding's subject as the circular names it: the site with its
    // organizer and host name, an account with its platform, else the
    // subject with its organization.
    let describe = |finding: &StoredFinding| -> String {
        match finding.site_id.and_then(|id| site_by_id.get(&id)) {
            Some(s) => format!("{}（{}，{}）", s.name, s.org, finding.subject),
            None => {
                let org = finding
                    .org_id
                    .and_then(|id| org_by_id.get(&id))
                    .map(|o| o.name.as_str());
                let subject = account_of(finding)
                    .and_then(|id| now.accounts.iter().find(|a| a.id == id))
                    .map(|a| format!("{}“{}”", platform(a.platform), a.name))
                    .unwrap_or_else(|| finding.subject.clone());
                match org {
                    Some(org) => format!("{subject}（{org}）"),
                    None => subject,
                }
            }
        }
    };
    let mut problems = Vec::new();
    // Per kind, the sites (or accounts) it was open on during the quarter.
    let mut by_kind: BTreeMap<(Severity, FindingKind), Vec<String>> = BTreeMap::new();
    let mut seen: BTreeSet<(FindingKind, String)> = BTreeSet::new();
    for life in &now.lives {
        let finding = life.finding;
        if !life.open_during(from, as_of) {
            continue;
        }
        let severity = life
            .spans
            .iter()
            .filter(|s| s.overlaps(from, as_of))
            .map(|s| s.severity)
            .min()
            .unwrap_or(finding.severity);
        if severity == Severity::Info {
            continue;
        }
        let item = describe(finding);
        if seen.insert((finding.kind, item.clone())) {
            by_kind
                .entry((severity, finding.kind))
                .or_default()
                .push(item);
        }
    }
    // The requirements follow the problems, in the order they are told.
    let mut found: Vec<Problem> = Vec::new();
    let mut n = 0;
    for ((severity, kind), mut items) in by_kind {
        if !found.contains(&Problem::Finding(kind)) {
            found.push(Problem::Finding(kind));
        }
        items.sort();
        let (unit, table) = if kind == FindingKind::AccountStale {
            ("个账号", "附件4")
        } else {
            ("处", "附件2")
        };
        problems.push(Block::Heading(format!(
            "（{}）{}（{}{}{}）",
            numeral(n),
            kind_name(kind),
            if severity == Severity::Critical {
                "单项否决，"
            } else {
                ""
            },
            items.len(),
            if kind == FindingKind::AccountStale {
                "个账号"
            } else {
                "处"
            }
        )));
        problems.push(Block::Paragraph(named(&items, unit, table)));
        n += 1;
    }
    let unreachable: Vec<String> = now
        .judged
        .iter()
        .filter(|(_, j)| j.unreachable.is_some())
        .filter_map(|(id, _)| site_by_id.get(id))
        .map(|s| {
            let host = s
                .site
                .primary()
                .map(|d| format!("，{}", d.hostname))
                .unwrap_or_default();
            format!("{}（{}{host}）", s.name, s.org)
        })
        .collect();
    if !unreachable.is_empty() {
        found.push(Problem::Unreachable);
        problems.push(Block::Heading(format!(
            "（{}）访问可用性不达标（{}家网站）",
            numeral(n),
            unreachable.len()
        )));
        problems.push(Block::Paragraph(named(&unreachable, "家网站", "附件2")));
        n += 1;
    }
    if !now.overdue.is_empty() {
        let items: Vec<String> = now
            .overdue
            .iter()
            .map(|o| {
                let state = match o.closed {
                    None => "，截至季度末仍未整改".to_string(),
                    Some((FindingStatus::Suppressed, at)) => {
                        format!("，{}起按例外豁免", show_date_zh(at))
                    }
                    Some((_, at)) => format!("，已于{}整改", show_date_zh(at)),
                };
                format!(
                    "{}：{}，整改期限{}{state}",
                    describe(o.finding),
                    kind_name(o.finding.kind),
                    show_date_zh(o.due)
                )
            })
            .collect();
        problems.push(Block::Heading(format!(
            "（{}）超过整改期限（{}个问题）",
            numeral(n),
            items.len()
        )));
        problems.push(Block::Paragraph(named(&items, "个问题", "附件2")));
        n += 1;
    }
    if let Some(report) = facts.reconcile {
        let discrepancies = &report.comparison.discrepancies;
        if !discrepancies.is_empty() {
            found.push(Problem::Reconcile);
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for d in discrepancies {
                *counts.entry(d.kind.zh()).or_insert(0) += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}{n}处")).collect();
            problems.push(Block::Heading(format!(
                "（{}）登记信息不一致（{}处）",
                numeral(n),
                discrepancies.len()
            )));
            problems.push(Block::Paragraph(format!(
                "{}本地登记与全国系统、域名解析及检查结果对账发现：{}，详见附件3。",
                if report.quarter == quarter {
                    String::new()
                } else {
                    format!("据{}的对账，", report.quarter.label_zh())
                },
                counts.join("、")
            )));
        }
    }
    if let Some(m) = &messages
        && m.late + m.unanswered > 0
    {
        found.push(Problem::Zhaocuo);
    }
    if problems.is_empty() {
        problems.push(Block::Paragraph(
            "本季度自动检查未发现需要通报的问题。".into(),
        ));
    }

    // 三、整改要求
    let mut requirements = vec![Block::Paragraph(rp.general.clone())];
    let items: Vec<String> = found
        .iter()
        .filter_map(|p| rp.requirements.get(p).cloned())
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    if !unique.is_empty() {
        requirements.push(Block::List(unique));
    }
    // Counted from the day the circular is issued (its date).
    let deadline = generated_at + Duration::days(i64::from(rp.rectification_days));
    requirements.push(Block::Paragraph(format!(
        "请有关地区和部门于{}前将整改情况报送{}。",
        show_date_zh(deadline),
        rp.report_to
    )));

    // 附件1: per city and department.
    // Each site's findings, looked up once per site below.
    let mut lives_by_site: HashMap<i64, Vec<&Life<'_>>> = HashMap::new();
    for life in &now.lives {
        if let Some(site) = life.finding.site_id {
            lives_by_site.entry(site).or_default().push(life);
        }
    }
    let mut tallies: BTreeMap<(u8, String), (String, Tally)> = BTreeMap::new();
    let mut group_of_site: HashMap<i64, String> = HashMap::new();
    for s in now.sites.iter().filter(|s| operated(s.status)) {
        let org = org_by_name.get(s.org.as_str()).copied();
        let (rank, key, label) = group_of(org, policy);
        group_of_site.insert(s.site.id, label.clone());
        let entry = tallies
            .entry((rank, key))
            .or_insert_with(|| (label, Tally::default()));
        let t = &mut entry.1;
        t.sites += 1;
        let Some(j) = now.judged.get(&s.site.id) else {
            continue;
        };
        if !j.checked {
            continue;
        }
        t.checked += 1;
        if !j.reasons.is_empty() {
            t.failed += 1;
        }
        let lives = lives_by_site.get(&s.site.id).map_or(&[][..], Vec::as_slice);
        let open_at_end = |kinds: &[FindingKind]| {
            lives
                .iter()
                .any(|l| kinds.contains(&l.finding.kind) && (l.open_at(day) || l.waived))
        };
        // Only what was measured counts: a site never reached, or a
        // monitor without IPv6, is no site supporting either.
        let spans: Vec<&PageSpan> = hosts(s.site)
            .iter()
            .filter_map(|h| facts.pages.get(h))
            .flatten()
            .filter(|p| p.loaded && p.last_seen >= from && p.first_seen < as_of)
            .collect();
        const IPV6: [FindingKind; 3] = [
            FindingKind::Ipv6Missing,
            FindingKind::Ipv6Unreachable,
            FindingKind::Ipv6Partial,
        ];
        let ipv6_loaded = spans.iter().any(|p| p.ipv6);
        let ipv6_finding = lives
            .iter()
            .any(|l| IPV6.contains(&l.finding.kind) && l.open_during(from, as_of));
        if ipv6_loaded || ipv6_finding {
            t.ipv6_judged += 1;
            if ipv6_loaded
                && !open_at_end(&[FindingKind::Ipv6Missing, FindingKind::Ipv6Unreachable])
            {
                t.ipv6 += 1;
            }
        }
        if spans.iter().any(|p| !p.ipv6) {
            t.https_judged += 1;
            if !open_at_end(&[FindingKind::HttpsMissing]) {
                t.https += 1;
            }
        }
        if lives
            .iter()
            .any(|l| CERT_KINDS.contains(&l.finding.kind) && l.open_during(from, as_of))
        {
            t.cert_problems += 1;
        }
    }
    let stale_ids: BTreeSet<i64> = now
        .stale
        .iter()
        .filter_map(|l| account_of(l.finding))
        .collect();
    for account in now
        .accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
    {
        let org = org_by_name.get(account.org.as_str()).copied();
        let (rank, key, label) = group_of(org, policy);
        let t = &mut tallies
            .entry((rank, key))
            .or_insert_with(|| (label, Tally::default()))
            .1;
        t.accounts += 1;
        if stale_ids.contains(&account.id) {
            t.stale += 1;
        }
    }
    let mut total = Tally::default();
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    let row = |label: &str, t: &Tally| {
        vec![
            Cell::Text(label.to_string()),
            Cell::Int(t.sites as i64),
            Cell::Int(t.checked as i64),
            Cell::Int(t.failed as i64),
            Cell::Percent(share(t.checked - t.failed, t.checked)),
            Cell::Percent(share(t.ipv6, t.ipv6_judged)),
            Cell::Percent(share(t.https, t.https_judged)),
            Cell::Int(t.cert_problems as i64),
            Cell::Int(t.accounts as i64),
            Cell::Int(t.stale as i64),
        ]
    };
    for (label, t) in tallies.values() {
        rows.push(row(label, t));
        if t.sites > 0 {
            chart.push(Bar {
                label: label.clone(),
                share: share(t.checked - t.failed, t.checked),
            });
        }
        total.sites += t.sites;
        total.checked += t.checked;
        total.failed += t.failed;
        total.ipv6_judged += t.ipv6_judged;
        total.ipv6 += t.ipv6;
        total.https_judged += t.https_judged;
        total.https += t.https;
        total.cert_problems += t.cert_problems;
        total.accounts += t.accounts;
        total.stale += t.stale;
    }
    if !rows.is_empty() {
        rows.push(row("合计", &total));
    }
    let annex1 = Table {
        id: "附件1".into(),
        title: "各地区、各部门政府网站和政务新媒体检查情况".into(),
        headers: [
            "地区/部门",
            "网站数",
            "检查数",
            "不合格数",
            "合格率",
            "IPv6支持率",
            "HTTPS部署率",
            "证书问题网站数",
            "政务新媒体账号数",
            "未及时更新账号数",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(
            "合格率为检查网站中未出现单项否决问题的比例；IPv6支持率、HTTPS部署率按季度末状态计算，分母为测得该项的网站（曾经IPv6或HTTP访问成功，或发现相应问题），未能测得的以“—”表示。"
                .into(),
        ),
    };

    // 附件2: failing sites.
    let mut failing: Vec<(&SiteAt<'_>, &Judged)> = now
        .judged
        .iter()
        .filter(|(_, j)| j.checked && !j.reasons.is_empty())
        .filter_map(|(id, j)| site_by_id.get(id).map(|s| (*s, j)))
        .collect();
    failing.sort_by(|a, b| {
        let ga = group_of_site.get(&a.0.site.id);
        let gb = group_of_site.get(&b.0.site.id);
        (ga, &a.0.name).cmp(&(gb, &b.0.name))
    });
    let annex2 = Table {
        id: "附件2".into(),
        title: "不合格网站名单".into(),
        headers: [
            "序号",
            "网站名称",
            "网站标识码",
            "主办单位",
            "地区/部门",
            "首页地址",
            "不合格原因",
        ]
        .map(String::from)
        .to_vec(),
        rows: failing
            .iter()
            .enumerate()
            .map(|(i, (s, j))| {
                vec![
                    Cell::Int(i as i64 + 1),
                    Cell::Text(s.name.clone()),
                    Cell::Text(s.code.clone().unwrap_or_default()),
                    Cell::Text(s.org.clone()),
                    Cell::Text(group_of_site.get(&s.site.id).cloned().unwrap_or_default()),
                    Cell::Text(
                        s.site
                            .primary()
                            .map(|d| d.hostname.to_string())
                            .unwrap_or_default(),
                    ),
                    Cell::Text(j.reasons.join("；")),
                ]
            })
            .collect(),
        note: failing
            .is_empty()
            .then(|| "本季度检查未发现不合格网站。".to_string()),
    };

    // 附件3: the discrepancies.
    let annex3 = Table {
        id: "附件3".into(),
        title: "登记信息对账差异".into(),
        headers: [
            "序号",
            "类型",
            "对象",
            "网站标识码",
            "主办单位",
            "本地登记",
            "对方记录",
            "建议措施",
        ]
        .map(String::from)
        .to_vec(),
        rows: facts
            .reconcile
            .map(|r| {
                r.comparison
                    .discrepancies
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        vec![
                            Cell::Int(i as i64 + 1),
                            Cell::Text(d.kind.zh().to_string()),
                            Cell::Text(d.subject.clone()),
                            Cell::Text(d.code.clone().unwrap_or_default()),
                            Cell::Text(d.organization.clone().unwrap_or_default()),
                            Cell::Text(d.here.clone()),
                            Cell::Text(d.there.clone()),
                            Cell::Text(d.action.clone()),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default(),
        note: match facts.reconcile {
            None => Some("本通报未引用对账结果（未运行或未指定季度对账）。".into()),
            Some(r) if r.comparison.discrepancies.is_empty() => {
                Some(format!("对账（编号{}）未发现差异。", r.id))
            }
            Some(r) => Some(format!(
                "据{}对账结果（编号{}，{}）。",
                r.quarter.label_zh(),
                r.id,
                show_date(r.ran_at)
            )),
        },
    };

    // 附件4: accounts not updated within the policy's days.
    let mut stale = now.stale.clone();
    stale.sort_by_key(|l| (l.first_opened(), l.finding.id));
    let annex4 = Table {
        id: "附件4".into(),
        title: format!(
            "{}天以上未更新的政务新媒体账号",
            policy.thresholds.account_stale_days
        ),
        headers: [
            "序号",
            "账号名称",
            "平台",
            "主办单位",
            "地区/部门",
            "发现时间",
            "季度末状态",
        ]
        .map(String::from)
        .to_vec(),
        rows: stale
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let account =
                    account_of(l.finding).and_then(|id| now.accounts.iter().find(|a| a.id == id));
                let org = account
                    .and_then(|a| org_by_name.get(a.org.as_str()).copied())
                    .or_else(|| l.finding.org_id.and_then(|id| org_by_id.get(&id).copied()));
                let state = if l.open_at(day) {
                    "仍未更新".to_string()
                } else {
                    let back = l
                        .spans
                        .iter()
                        .filter_map(|s| s.to)
                        .filter(|t| *t < as_of)
                        .max();
                    back.map_or_else(
                        || "已恢复更新".to_string(),
                        |t| format!("{}恢复更新", show_date(t)),
                    )
                };
                vec![
                    Cell::Int(i as i64 + 1),
                    Cell::Text(
                        account
                            .map(|a| a.name.clone())
                            .unwrap_or_else(|| l.finding.subject.clone()),
                    ),
                    Cell::Text(
                        account
                            .map(|a| platform(a.platform).to_string())
                            .unwrap_or_default(),
                    ),
                    Cell::Text(org.map(|o| o.name.clone()).unwrap_or_default()),
                    Cell::Text(group_of(org, policy).2),
                    Cell::Text(l.first_opened().map(show_date).unwrap_or_default()),
                    Cell::Text(state),
                ]
            })
            .collect(),
        note: stale
            .is_empty()
            .then(|| "本季度未发现长期未更新的政务新媒体账号。".to_string()),
    };

    let mut notes = Vec::new();
    if !complete {
        notes.push(format!(
            "{}尚未结束，本通报反映截至{}的情况。",
            quarter.label_zh(),
            crate::clock::show(as_of)
        ));
    }
    if let Some(c) = facts.corrections {
        notes.push(format!(
            "自本季度上一份通报（编号{}，生成于{}）以来，本季度的登记记录更正过{}处（最近一次于{}），本通报按更正后的记录生成。",
            c.previous_report,
            crate::clock::show(c.previous_at),
            c.count,
            crate::clock::show(c.latest)
        ));
    }
    if f.checks == 0 {
        notes.push("本季度没有完成的自动检查，网站合格率无法计算。".into());
    }
    if let Some(r) = facts.reconcile
        && r.quarter != quarter
    {
        notes.push(format!("附件3引用的是{}的对账结果。", r.quarter.label_zh()));
    }

    let figures = now.figures.clone();
    Circular {
        id: 0,
        quarter,
        as_of,
        complete,
        generated_at,
        reconcile_run: facts.reconcile.map(|r| r.id),
        title: format!(
            "关于{}{}政府网站和政务新媒体检查情况的通报",
            quarter.label_zh(),
            rp.region
        ),
        issuer: rp.issuer.clone(),
        salutation: rp.salutation.clone(),
        preamble: format!(
            "为进一步加强政府网站和政务新媒体管理，按照《政府网站发展指引》和政府网站与政务新媒体检查指标要求，{}对{}政府网站和政务新媒体开展了{}常态化监测。现将有关情况通报如下：",
            rp.issuer,
            rp.region,
            quarter.label_zh()
        ),
        sections: vec![
            Section {
                heading: "一、总体情况".into(),
                blocks: overview,
            },
            Section {
                heading: "二、检查发现的主要问题".into(),
                blocks: problems,
            },
            Section {
                heading: "三、整改要求".into(),
                blocks: requirements,
            },
        ],
        chart,
        tables: vec![annex1, annex2, annex3, annex4],
        notes,
        figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::EventKind;

    fn at(s: &str) -> DateTime<Utc> {
        crate::clock::parse_time("t", s).expect("time")
    }

    fn event(when: &str, status: FindingStatus, severity: Severity) -> FindingEvent {
        FindingEvent {
            at: at(when),
            change: EventKind::Opened,
            status,
            severity,
            actor: None,
            note: None,
        }
    }

    #[test]
    fn a_findings_life_is_read_from_its_events_up_to_a_time() {
        use FindingStatus::*;
        let events = vec![
            event("2026-07-01 10:00", Pending, Severity::Warning),
            event("2026-07-02 10:00", Open, Severity::Warning),
            event("2026-07-05 10:00", Open, Severity::Critical),
            event("2026-07-06 10:00", Acknowledged, Severity::Critical),
            event("2026-07-10 10:00", Resolved, Severity::Critical),
            event("2026-10-02 10:00", Open, Severity::Critical),
        ];
        let spans = open_spans(&events, at("2026-10-01 00:00"));
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(spans[0].severity, Severity::Warning);
        assert_eq!(spans[1].from, at("2026-07-05 10:00"));
        assert_eq!(spans[1].to, Some(at("2026-07-10 10:00")));
        // Reopened after the time asked about: not known then.
        let later = open_spans(&events, at("2026-10-03 00:00"));
        assert_eq!(later.len(), 3);
        assert!(later[2].to.is_none());
    }

    fn span(from: &str, to: &str, visits: u64, loaded: bool) -> PageSpan {
        PageSpan {
            first_seen: at(from),
            last_seen: at(to),
            visits,
            loaded,
            ipv6: false,
        }
    }

    #[test]
    fn the_availability_veto_is_judged_in_every_window_of_the_quarter() {
        // Loaded all quarter, 96 visits a day; one bad day of 40 failures
        // in mid-August: 40 of ~670 visits in its week is 6%.
        let spans = vec![
            span("2026-07-01 00:00", "2026-08-14 23:45", 96 * 45, true),
            span("2026-08-15 00:00", "2026-08-15 09:45", 40, false),
            span("2026-08-15 10:00", "2026-09-30 23:45", 96 * 46, true),
        ];
        let from = at("2026-07-01 00:00");
        let to = at("2026-10-01 00:00");
        let w = unreachable_window(&spans, from, to, 7, 5).expect("one window fails");
        assert!(w.from <= at("2026-08-15 00:00") && w.to > at("2026-08-15 09:45"));
        assert!(w.failed == 40, "{w:?}");
        // Ten failures in the week are under 5%: nothing.
        let mild = vec![
            span("2026-07-01 00:00", "2026-08-14 23:45", 96 * 45, true),
            span("2026-08-15 00:00", "2026-08-15 02:15", 10, false),
            span("2026-08-15 10:00", "2026-09-30 23:45", 96 * 46, true),
        ];
        assert_eq!(unreachable_window(&mild, from, to, 7, 5), None);
        // Too few visits say nothing.
        let few = vec![span("2026-07-01 00:00", "2026-07-01 01:00", 5, false)];
        assert_eq!(unreachable_window(&few, from, to, 7, 5), None);
    }

    #[test]
    fn changes_are_said_in_words() {
        assert_eq!(
            change_in_rate(Some(0.9), Some(0.95)).as_deref(),
            Some("由90.00%上升至95.00%，提高5.00个百分点")
        );
        assert_eq!(change_in_count(3, 3, "家"), "持平（3家）");
        assert_eq!(change_in_rate(None, Some(0.5)), None);
    }
}
