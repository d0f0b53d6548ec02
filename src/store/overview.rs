//! What the web page's home (总览) and audit (操作记录) pages read: counts
//! from SQL aggregates and a few small reads, in one read transaction, for
//! a caller seeing some organizations or all of them; and the audit trail
//! newest first, a page at a time, filtered in SQL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::StoreError;
use super::audit::AuditEntry;
use super::convert::{from_db, to_db};
use super::runs::Run;
use super::sql::{CHUNK, Sql};
use super::{Pools, Store};
use crate::findings::{FindingKind, FindingStatus, Severity};
use crate::jobs::Job;
use crate::registry::{Account, OrgLevel, SiteStatus};

/// Filters of a page of the audit trail, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditPageQuery {
    /// Rows about any of these sites (and their host names).
    pub site_ids: Option<Vec<i64>>,
    /// Rows about this kind of entity (`site`, `org`, `token`, …).
    pub entity: Option<String>,
    pub actor: Option<String>,
    /// Recorded at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this time.
    pub to: Option<DateTime<Utc>>,
    /// Rows with ids below this one.
    pub before: Option<i64>,
    pub limit: i64,
}

/// A certificate as the home page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub host: String,
    pub site_id: i64,
    pub site_name: String,
    /// The earliest expiry among the leaves the host's addresses
    /// presented.
    pub not_after: DateTime<Utc>,
}

/// An account gone quiet: an open `account_stale` finding, or no post
/// within the policy's window.
#[derive(Debug, Clone)]
pub struct StaleAccount {
    pub account: Account,
    /// Its open finding, if one was raised.
    pub finding: Option<i64>,
}

/// What the home page shows.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Findings open or acknowledged, by kind and severity.
    pub findings: Vec<(FindingKind, Severity, u64)>,
    /// Sites by status and their organization's level.
    pub sites: Vec<(SiteStatus, OrgLevel, u64)>,
    /// The newest probe cycle that went through to its end.
    pub last_cycle: Option<Run>,
    /// A probe cycle under way, if one is.
    pub running: Option<Run>,
    /// Certificates seen since the freshness limit that expire before the
    /// horizon asked for, soonest first.
    pub certificates: Vec<Certificate>,
    /// Open findings at the end of each day (China Standard Time), oldest
    /// day first, today last.
    pub open_per_day: Vec<(NaiveDate, u64)>,
    /// The first [`OverviewQuery::accounts_shown`] of them, by id.
    pub stale_accounts: Vec<StaleAccount>,
    /// How many accounts are stale in all.
    pub stale_total: usize,
    /// What the certificates were read from, for the next read to reuse.
    pub expiries: std::sync::Arc<Expiries>,
}

/// What the home page asks for.
#[derive(Debug, Clone)]
pub struct OverviewQuery {
    /// The caller's organizations; `None`: all.
    pub orgs: Option<Vec<i64>>,
    pub now: DateTime<Utc>,
    /// Days of the chart of open findings, today included.
    pub days: u32,
    /// TLS observations count when seen since then.
    pub tls_since: DateTime<Utc>,
    /// Certificates expiring before then.
    pub horizon: DateTime<Utc>,
    /// An active account with no post since then is stale.
    pub stale_before: DateTime<Utc>,
    /// How many stale accounts to read (the rest are counted).
    pub accounts_shown: usize,
    /// The chart's days before today, as an earlier read today counted
    /// them for the same organizations: a day that has ended does not
    /// change, so only today is counted (from the findings open now).
    pub past_days: Option<Vec<(NaiveDate, u64)>>,
    /// Every fresh certificate's expiry as an earlier read found it:
    /// used again while no observation was stored since.
    pub expiries: Option<std::sync::Arc<Expiries>>,
}

/// The earliest leaf expiry of each host name among the TLS observations
/// seen since the freshness limit, and the newest observation row then.
#[derive(Debug, Clone, Default)]
pub struct Expiries {
    pub newest_observation: i64,
    pub by_host: BTreeMap<String, DateTime<Utc>>,
}

/// Only what [`Overview::certificates`] needs of a stored TLS
/// observation (`{"kind": "tls", "data": {"chain": […], …}}`): serde
/// skips the rest without building it.
#[derive(Deserialize)]
struct TlsLeaves {
    data: TlsChain,
}

#[derive(Deserialize)]
struct TlsChain {
    #[serde(default)]
    chain: Vec<Leaf>,
}

#[derive(Deserialize)]
struct Leaf {
    not_after: DateTime<Utc>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Reads everything the home page shows.
pub fn read<C: Sql>(c: &mut C, q: &OverviewQuery) -> Result<Overview, StoreError> {
    let orgs = q.orgs.as_deref();
    let mut out = Overview::default();
    if orgs.is_some_and(<[i64]>::is_empty) {
        // Sees nothing: the cycle only.
        cycles(c, &mut out)?;
        out.open_per_day = open_per_day(&[], q.now, q.days);
        return Ok(out);
    }
    for (kind, severity, n) in c.home_findings(orgs)? {
        out.findings.push((
            kind.parse().map_err(corrupt)?,
            severity.parse().map_err(corrupt)?,
            count(n),
        ));
    }

    let groups: Vec<(String, i64, i64)> = c
        .metric_sites()?
        .into_iter()
        .filter(|(_, _, org, _)| orgs.is_none_or(|o| o.contains(org)))
        .map(|(status, _, org, n)| (status, org, n))
        .collect();
    let mut ids: Vec<i64> = groups.iter().map(|(_, org, _)| *org).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut levels = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        for org in c.org_rows_with_ids(chunk)? {
            levels.insert(org.id, org.level);
        }
    }
    let mut sites: BTreeMap<(SiteStatus, OrgLevel), u64> = BTreeMap::new();
    for (status, org, n) in groups {
        let level = levels
            .get(&org)
            .ok_or_else(|| corrupt(format!("sites of organization {org}, which does not exist")))?;
        *sites
            .entry((
                status.parse().map_err(corrupt)?,
                level.parse().map_err(corrupt)?,
            ))
            .or_default() += count(n);
    }
    out.sites = sites.into_iter().map(|((s, l), n)| (s, l, n)).collect();

    cycles(c, &mut out)?;
    out.expiries = expiries(c, q)?;
    out.certificates = certificates(c, q, &out.expiries)?;

    let today = q.now.with_timezone(&crate::clock::china()).date_naive();
    let first = day_start(q.now, q.days)
        .with_timezone(&crate::clock::china())
        .date_naive();
    match &q.past_days {
        // Days that ended are as they were counted; today is what is
        // open now.
        Some(past)
            if past.len() + 1 == q.days as usize
                && past.first().is_none_or(|(day, _)| *day == first) =>
        {
            out.open_per_day = past.clone();
            out.open_per_day
                .push((today, out.findings.iter().map(|(_, _, n)| n).sum()));
        }
        _ => {
            let since = day_start(q.now, q.days);
            let events: Vec<(i64, DateTime<Utc>, FindingStatus)> = c
                .home_finding_events(to_db(since - Duration::seconds(1)), orgs)?
                .into_iter()
                .map(|(id, at, status)| Ok((id, from_db(at), status.parse().map_err(corrupt)?)))
                .collect::<Result<_, StoreError>>()?;
            out.open_per_day = open_per_day(&events, q.now, q.days);
        }
    }

    stale_accounts(c, q, &mut out)?;
    Ok(out)
}

/// The newest complete probe cycle, and one under way.
fn cycles<C: Sql>(c: &mut C, out: &mut Overview) -> Result<(), StoreError> {
    for run in super::runs::list(c, Some(Job::Probe), 10)? {
        if super::metrics::COMPLETE.contains(&run.status) {
            out.last_cycle = Some(run);
            break;
        }
        if run.status == crate::jobs::RunStatus::Running && out.running.is_none() {
            out.running = Some(run);
        }
    }
    Ok(())
}

/// Each host name's earliest leaf expiry among its fresh TLS
/// observations: read again only when an observation was stored since
/// the one given (every page view would otherwise parse every chain).
fn expiries<C: Sql>(c: &mut C, q: &OverviewQuery) -> Result<std::sync::Arc<Expiries>, StoreError> {
    let newest_observation = c.newest_observation_id()?;
    if let Some(known) = &q.expiries
        && known.newest_observation == newest_observation
    {
        return Ok(known.clone());
    }
    let mut by_host: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for (host, data) in c.metric_tls(to_db(q.tls_since))? {
        // A stored form this version cannot read is left out, as
        // `/metrics` leaves it out.
        let Ok(TlsLeaves { data: tls }) = serde_json::from_str::<TlsLeaves>(&data) else {
            continue;
        };
        let Some(leaf) = tls.chain.first() else {
            continue;
        };
        by_host
            .entry(host)
            .and_modify(|at| *at = (*at).min(leaf.not_after))
            .or_insert(leaf.not_after);
    }
    Ok(std::sync::Arc::new(Expiries {
        newest_observation,
        by_host,
    }))
}

fn certificates<C: Sql>(
    c: &mut C,
    q: &OverviewQuery,
    expiries: &Expiries,
) -> Result<Vec<Certificate>, StoreError> {
    let expiry: BTreeMap<String, DateTime<Utc>> = expiries
        .by_host
        .iter()
        .filter(|(_, at)| **at < q.horizon)
        .map(|(host, at)| (host.clone(), *at))
        .collect();
    if expiry.is_empty() {
        return Ok(Vec::new());
    }
    let hosts: Vec<String> = expiry.keys().cloned().collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for chunk in hosts.chunks(CHUNK) {
        for (host, site_id, site_name, org) in c.home_hosts(Some(chunk), q.orgs.as_deref())? {
            if q.orgs.as_ref().is_some_and(|o| !o.contains(&org)) || !seen.insert(host.clone()) {
                continue;
            }
            if let Some(not_after) = expiry.get(&host) {
                out.push(Certificate {
                    host,
                    site_id,
                    site_name,
                    not_after: *not_after,
                });
            }
        }
    }
    out.sort_by(|a, b| a.not_after.cmp(&b.not_after).then(a.host.cmp(&b.host)));
    Ok(out)
}

fn stale_accounts<C: Sql>(
    c: &mut C,
    q: &OverviewQuery,
    out: &mut Overview,
) -> Result<(), StoreError> {
    // An account's finding is scoped to it (`account:ID`); the finding is
    // of the account's organization.
    let flagged: BTreeMap<i64, i64> = c
        .home_findings_of_kind(FindingKind::AccountStale.as_str(), q.orgs.as_deref())?
        .into_iter()
        .filter_map(|(finding, scope)| match scope.parse() {
            Ok(crate::findings::Scope::Account(account)) => Some((account, finding)),
            _ => None,
        })
        .collect();
    let mut ids: BTreeSet<i64> = c
        .quiet_accounts(to_db(q.stale_before))?
        .into_iter()
        .filter(|(_, org)| q.orgs.as_ref().is_none_or(|o| o.contains(org)))
        .map(|(id, _)| id)
        .collect();
    ids.extend(flagged.keys().copied());
    out.stale_total = ids.len();
    // Only the accounts shown are read.
    let shown: Vec<i64> = ids.into_iter().take(q.accounts_shown).collect();
    if shown.is_empty() {
        return Ok(());
    }
    let rows = c.account_rows(Some(&shown))?;
    let mut org_ids: Vec<i64> = rows.iter().map(|r| r.org_id).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let names: super::convert::OrgNames = c
        .org_rows_with_ids(&org_ids)?
        .into_iter()
        .map(|org| (org.id, org.name))
        .collect();
    for row in &rows {
        out.stale_accounts.push(StaleAccount {
            finding: flagged.get(&row.id).copied(),
            account: super::convert::account_from_row(row, &names)?,
        });
    }
    out.stale_accounts.sort_by_key(|s| s.account.id);
    Ok(())
}

/// The start of the first day of a chart of `days` days ending today, in
/// China Standard Time.
fn day_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let today = now.with_timezone(&crate::clock::china()).date_naive();
    let first = today - Duration::days(i64::from(days.max(1)) - 1);
    midnight(first)
}

/// Midnight of `date` in China Standard Time.
fn midnight(date: NaiveDate) -> DateTime<Utc> {
    // UTC+8 has no gaps: every local midnight exists once.
    let naive = date.and_time(chrono::NaiveTime::MIN);
    (naive - Duration::hours(8)).and_utc()
}

/// How many findings were open (or acknowledged) at the end of each of
/// the `days` days ending today (China Standard Time); today counts as of
/// `now`. `events` are (finding, time, status after), in any order.
pub fn open_per_day(
    events: &[(i64, DateTime<Utc>, FindingStatus)],
    now: DateTime<Utc>,
    days: u32,
) -> Vec<(NaiveDate, u64)> {
    let first = day_start(now, days)
        .with_timezone(&crate::clock::china())
        .date_naive();
    let dates: Vec<NaiveDate> = (0..i64::from(days))
        .map(|i| first + Duration::days(i))
        .collect();
    // Each day ends at the next midnight; today, now.
    let ends: Vec<DateTime<Utc>> = dates
        .iter()
        .map(|date| midnight(*date + Duration::days(1)).min(now + Duration::seconds(1)))
        .collect();
    let mut by_finding: BTreeMap<i64, Vec<(DateTime<Utc>, FindingStatus)>> = BTreeMap::new();
    for (id, at, status) in events {
        by_finding.entry(*id).or_default().push((*at, *status));
    }
    let mut counts = vec![0u64; dates.len()];
    for mut history in by_finding.into_values() {
        // Stable: events at the same time keep their order.
        history.sort_by_key(|(at, _)| *at);
        // One walk over the days and the finding's events together.
        let mut next = history.iter().peekable();
        let mut status = None;
        for (slot, end) in counts.iter_mut().zip(&ends) {
            while let Some((_, s)) = next.next_if(|(at, _)| at < end) {
                status = Some(*s);
            }
            if matches!(
                status,
                Some(FindingStatus::Open | FindingStatus::Acknowledged)
            ) {
                *slot += 1;
            }
        }
    }
    dates.into_iter().zip(counts).collect()
}

/// Up to `query.limit` audit rows, newest first.
pub fn audit_newest<C: Sql>(
    c: &mut C,
    query: &AuditPageQuery,
) -> Result<Vec<AuditEntry>, StoreError> {
    c.audit_newest(query)?
        .into_iter()
        .map(super::audit::entry)
        .collect()
}

impl Store {
    /// What the home page shows, in one read transaction.
    pub fn overview(&self, query: &OverviewQuery) -> Result<Overview, StoreError> {
        with_reader!(self, c => c.read_tx(|c| read(c, query)))
    }

    /// Up to `query.limit` audit rows, newest first.
    pub fn audit_newest(&self, query: &AuditPageQuery) -> Result<Vec<AuditEntry>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| audit_newest(c, query)))
    }

    /// The ids of every site that held `key` (an id, identifier code or
    /// host name reused after a site closed): the audit trail's rows of
    /// a site are theirs.
    pub fn site_ids_held(&self, key: &str) -> Result<Vec<i64>, StoreError> {
        with_reader!(self, c => c.read_tx(|c| super::sites::resolve_all(c, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::clock::parse_time("at", text).expect("a time")
    }

    #[test]
    fn a_finding_counts_on_the_days_it_was_open_at_their_end() {
        let now = at("2026-12-05 10:00");
        let events = vec![
            // Opened on the 2nd, acknowledged on the 3rd, resolved late on
            // the 4th (China time).
            (1, at("2026-12-02 08:00"), FindingStatus::Pending),
            (1, at("2026-12-02 09:00"), FindingStatus::Open),
            (1, at("2026-12-03 09:00"), FindingStatus::Acknowledged),
            (1, at("2026-12-04 23:30"), FindingStatus::Resolved),
            // Opened and resolved the same day: never open at a day's end.
            (2, at("2026-12-03 01:00"), FindingStatus::Open),
            (2, at("2026-12-03 02:00"), FindingStatus::Resolved),
            // Open since before the chart, still open.
            (3, at("2026-11-01 00:00"), FindingStatus::Open),
            // Opened a minute after midnight, China time, on the 5th:
            // counts only today (UTC it is still the 4th).
            (4, at("2026-12-05 00:01"), FindingStatus::Open),
        ];
        let days = open_per_day(&events, now, 5);
        let counts: Vec<(String, u64)> = days
            .iter()
            .map(|(d, n)| (d.format("%m-%d").to_string(), *n))
            .collect();
        assert_eq!(
            counts,
            [
                ("12-01".to_string(), 1),
                ("12-02".to_string(), 2),
                ("12-03".to_string(), 2),
                ("12-04".to_string(), 1),
                ("12-05".to_string(), 2),
            ]
        );
    }
}
