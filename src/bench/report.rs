//! The circular's benchmark data: the reconciliation benchmark's registry
//! of N sites and its files, plus two quarters of history as the store
//! keeps it: every site's homepage visits every 15 minutes (one stretch
//! of one outcome, a tenth of the sites with a day of failures), a
//! finding on one site in twelve and one account in twenty, and a check
//! run every 15 minutes. `siteward report` is then timed on it as a user
//! runs it (see bench/RESULTS.md).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use chrono::{Duration, Utc};
use serde::Serialize;

use crate::findings::{FindingKind, Severity};
use crate::jobs::{Job, RunStatus};
use crate::reconcile::Quarter;
use crate::store::history::{PlantedFinding, PlantedVisits};
use crate::store::{Run, Store};

/// What was written, and the commands to run on it.
#[derive(Debug, Serialize)]
pub struct Prepared {
    pub database: String,
    pub sites: usize,
    pub visit_rows: usize,
    pub findings: usize,
    pub runs: usize,
    /// Stores the quarter's reconciliation, attached by the report.
    pub reconcile: String,
    /// The command to time.
    pub command: String,
}

/// Writes the registry, the files and the history into `dir`, with
/// `open_findings` more findings open now (one per site that has none).
pub fn prepare(dir: &Path, sites: usize, open_findings: usize) -> Result<Prepared> {
    let base = super::reconcile::prepare(dir, sites, 10_000, 2_000)?;
    let store = Store::open(&base.database)?;
    let now = Utc::now();
    let quarter = Quarter::containing(now);
    let from = quarter.previous().start();
    let orgs: HashMap<String, i64> = store.orgs()?.into_iter().map(|o| (o.name, o.id)).collect();
    let registered = store.sites(&crate::store::SiteFilter::default())?;
    let visits_between = |a: chrono::DateTime<Utc>, b: chrono::DateTime<Utc>| {
        ((b - a).num_minutes() / 15 + 1).max(1) as u64
    };
    let mut visits = Vec::new();
    let mut findings = Vec::new();
    let kinds = [
        (FindingKind::CertExpired, Severity::Critical),
        (FindingKind::HttpsMissing, Severity::Warning),
        (FindingKind::Ipv6Missing, Severity::Warning),
        (FindingKind::CertExpiring, Severity::Warning),
        (FindingKind::NotResolving, Severity::Critical),
    ];
    for (i, site) in registered.iter().enumerate() {
        let Some(primary) = site.primary() else {
            continue;
        };
        let host = primary.hostname.to_string();
        let address = format!("192.0.2.{}", i % 250 + 1);
        let span = |loaded, a, b| PlantedVisits {
            hostname: host.clone(),
            address: address.clone(),
            loaded,
            first_seen: a,
            last_seen: b,
            visits: visits_between(a, b),
        };
        if i % 10 == 3 {
            let bad = from + Duration::days(20 + (i % 150) as i64);
            visits.push(span(true, from, bad - Duration::minutes(15)));
            visits.push(span(false, bad, bad + Duration::hours(20)));
            visits.push(span(true, bad + Duration::days(1), now));
        } else {
            visits.push(span(true, from, now));
        }
        if i % 12 == 5 {
            let (kind, severity) = kinds[(i / 12) % kinds.len()];
            let opened = from + Duration::days((i % 160) as i64);
            let resolved = (i % 3 == 0).then(|| opened + Duration::days(9));
            findings.push(PlantedFinding {
                kind,
                subject: host.clone(),
                scope: host.clone(),
                severity,
                site_id: Some(site.id),
                org_id: orgs.get(&site.org).copied(),
                summary: format!("{host}：{}", crate::findings::text::kind_name(kind)),
                opened: opened.min(now - Duration::hours(1)),
                resolved: resolved.filter(|r| *r < now),
            });
        }
    }
    // The web page's benchmark: many findings open at once, spread over
    // the sites without one, of every kind above.
    let mut extra = 0;
    for (i, site) in registered.iter().enumerate() {
        if extra >= open_findings {
            break;
        }
        let Some(primary) = site.primary() else {
            continue;
        };
        if i % 12 == 5 {
            continue;
        }
        let host = primary.hostname.to_string();
        let (kind, severity) = kinds[i % kinds.len()];
        findings.push(PlantedFinding {
            kind,
            subject: host.clone(),
            scope: host.clone(),
            severity,
            site_id: Some(site.id),
            org_id: orgs.get(&site.org).copied(),
            summary: format!("{host}：{}", crate::findings::text::kind_name(kind)),
            opened: now - Duration::days(1 + (i % 80) as i64),
            resolved: None,
        });
        extra += 1;
    }
    let posted = crate::store::Change::at("bench", now - Duration::days(2));
    for (i, account) in store.accounts()?.iter().enumerate() {
        // A recent post: measured, and fresh unless stale below.
        store.account_seen(
            &format!("{}:{}", account.platform, account.account_id),
            &posted,
        )?;
        if i % 20 == 7 {
            findings.push(PlantedFinding {
                kind: FindingKind::AccountStale,
                subject: format!("{}:{}", account.platform, account.account_id),
                scope: format!("account:{}", account.id),
                severity: Severity::Warning,
                site_id: None,
                org_id: orgs.get(&account.org).copied(),
                summary: format!("{} 超过14天未更新", account.name),
                opened: from + Duration::days(30 + (i % 120) as i64),
                resolved: None,
            });
        }
    }
    let mut runs = Vec::new();
    let mut at = from;
    while at < now {
        let mut run = Run::start(Job::Probe, Some(at));
        run.started_at = at;
        run.finished_at = at + Duration::minutes(4);
        run.hosts = registered.len();
        run.status = RunStatus::Ok;
        runs.push(run);
        at += Duration::minutes(15);
    }
    store.plant_history(&visits, &findings, &runs)?;
    let url = base.database.clone();
    Ok(Prepared {
        database: url.clone(),
        sites,
        visit_rows: visits.len(),
        findings: findings.len(),
        runs: runs.len(),
        reconcile: base.command,
        command: format!(
            "siteward --db {url} report --quarter {quarter} --out {}",
            dir.join("circular").display()
        ),
    })
}
