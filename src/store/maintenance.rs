//! Maintenance windows: a site's or an organization's notifications held
//! back (its findings are still judged) while a window is on, a notice to
//! its organization's sinks when one starts and when it ends, and, at the
//! end, what is still open told. A window recurs on a crontab schedule
//! (China Standard Time) for a duration; `maintenance end` ends it for
//! good. Adding and ending are audited.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alerts::{Alerting, sinks_of};
use super::audit::{self, Record, snapshot};
use super::convert::{from_db, from_db_opt, to_db};
use super::rows::{NewNotificationRow, NewWindowRow, WindowRow};
use super::sql::Sql;
use super::{Change, StoreError};
use crate::alerts::{NotificationKind, NotificationStatus};
use crate::findings::{FindingKind, FindingStatus, Severity};
use crate::policy::cron::CronSchedule;

/// What a window covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    Site { id: i64, name: String, org_id: i64 },
    Org { id: i64, name: String },
}

impl Scope {
    /// The organization whose sinks hear of the window.
    pub fn org_id(&self) -> i64 {
        match self {
            Scope::Site { org_id, .. } => *org_id,
            Scope::Org { id, .. } => *id,
        }
    }

    /// In words, for a notice: the site's or the organization's name.
    pub fn name(&self) -> &str {
        match self {
            Scope::Site { name, .. } | Scope::Org { name, .. } => name,
        }
    }
}

/// A maintenance window, and where it stands at the time it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub id: i64,
    pub scope: Scope,
    pub cron: String,
    pub duration_secs: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// Ended by hand (`maintenance end`): it holds nothing any more.
    pub ended_at: Option<DateTime<Utc>>,
    /// The occurrence on now, start and end.
    pub active: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The next occurrence's start.
    pub next: Option<DateTime<Utc>>,
}

/// What a window asks for, checked at the edge.
#[derive(Debug, Clone)]
pub struct NewWindow {
    /// `--site` (a site key) or `--org` (a name).
    pub site: Option<String>,
    pub org: Option<String>,
    pub cron: CronSchedule,
    pub duration: chrono::Duration,
    pub reason: String,
}

fn schedule(row: &WindowRow) -> Result<CronSchedule, StoreError> {
    row.cron.parse().map_err(|_| StoreError::Corrupt {
        what: format!("maintenance_windows row {}: cron `{}`", row.id, row.cron),
    })
}

/// Whether `row` is on at `now`: the earliest start within one duration
/// before now, and when the cover ends (occurrences that overlap, such
/// as `* * * * *` for an hour, make one cover).
fn active_at(
    row: &WindowRow,
    cron: &CronSchedule,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if row.ended_at.is_some() {
        return None;
    }
    let duration = chrono::Duration::seconds(row.duration_secs);
    // Fire times are whole minutes: one second before "now − duration"
    // finds an occurrence that starts exactly then.
    let start = cron.next_after(now - duration - chrono::Duration::seconds(1))?;
    (start <= now).then(|| (start, cover_end(cron, start, duration)))
}

/// When the cover of window `row` that starts at `start` ends.
pub(super) fn cover_end_of(
    row: &WindowRow,
    start: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    Ok(cover_end(
        &schedule(row)?,
        start,
        chrono::Duration::seconds(row.duration_secs),
    ))
}

/// When the cover that starts at `start` ends: each next start before
/// the end extends it.
fn cover_end(
    cron: &CronSchedule,
    start: DateTime<Utc>,
    duration: chrono::Duration,
) -> DateTime<Utc> {
    let mut end = start + duration;
    let mut at = start;
    // A day of starts a minute apart: an always-on schedule shows an end
    // a day on, and goes on being on.
    for _ in 0..1_500 {
        match cron.next_after(at) {
            Some(next) if next < end => {
                end = end.max(next + duration);
                at = next;
            }
            _ => break,
        }
    }
    end
}

fn window<C: Sql>(c: &mut C, row: WindowRow, now: DateTime<Utc>) -> Result<Window, StoreError> {
    let cron = schedule(&row)?;
    let scope = match (row.site_id, row.org_id) {
        (Some(site), _) => {
            let found = c.site_row(site)?.ok_or_else(|| StoreError::Corrupt {
                what: format!("maintenance_windows row {}: site {site} is gone", row.id),
            })?;
            Scope::Site {
                id: site,
                name: found.name,
                org_id: found.org_id,
            }
        }
        (None, Some(org)) => Scope::Org {
            id: org,
            name: c.org_row(org)?.name,
        },
        (None, None) => {
            return Err(StoreError::Corrupt {
                what: format!(
                    "maintenance_windows row {}: no site and no organization",
                    row.id
                ),
            });
        }
    };
    Ok(Window {
        id: row.id,
        active: active_at(&row, &cron, now),
        next: (row.ended_at.is_none())
            .then(|| cron.next_after(now))
            .flatten(),
        scope,
        cron: row.cron,
        duration_secs: row.duration_secs,
        reason: row.reason,
        created_at: from_db(row.created_at),
        ended_at: from_db_opt(row.ended_at),
    })
}

/// Adds a window; audited.
pub fn add<C: Sql>(
    c: &mut C,
    new: &NewWindow,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Window, StoreError> {
    // Both faces refuse it: a notice must say why.
    if new.reason.trim().is_empty() {
        return Err(crate::registry::Invalid::new(
            "reason",
            &new.reason,
            "is empty: say why, the notices tell it",
        )
        .into());
    }
    let (site_id, org_id) = match (&new.site, &new.org) {
        (Some(site), None) => (Some(super::sites::resolve(c, site)?), None),
        (None, Some(org)) => (None, Some(super::orgs::row_by_name(c, org)?.id)),
        _ => {
            return Err(crate::registry::Invalid::new(
                "maintenance window",
                "",
                "give --site or --org, one of them",
            )
            .into());
        }
    };
    let id = c.insert_window(&NewWindowRow {
        site_id,
        org_id,
        cron: new.cron.expression().to_string(),
        duration_secs: new.duration.num_seconds(),
        reason: new.reason.clone(),
        created_at: to_db(change.recorded_at),
    })?;
    let row = c.window_row(id)?.ok_or(StoreError::NotFound {
        what: "maintenance window",
        key: id.to_string(),
    })?;
    let added = window(c, row, now)?;
    audit::write(
        c,
        change,
        Record {
            entity: "maintenance",
            entity_id: id,
            site_id,
            action: "add",
            before: None,
            after: snapshot(&added),
            reason: Some(&new.reason),
            warnings: &[],
        },
    )?;
    Ok(added)
}

/// Every window not ended by hand, as of `now`.
pub fn list<C: Sql>(c: &mut C, now: DateTime<Utc>) -> Result<Vec<Window>, StoreError> {
    let rows = c.window_rows()?;
    rows.into_iter()
        .filter(|row| row.ended_at.is_none())
        .map(|row| window(c, row, now))
        .collect()
}

/// Window `id`, ended or not, as of `now`.
pub fn get<C: Sql>(c: &mut C, id: i64, now: DateTime<Utc>) -> Result<Window, StoreError> {
    let row = c.window_row(id)?.ok_or(StoreError::NotFound {
        what: "maintenance window",
        key: id.to_string(),
    })?;
    window(c, row, now)
}

/// Ends window `id` for good; audited. An occurrence on now ends at once:
/// the daemon's next sweep tells its end, with what is still open (to the
/// sinks of the daemon's configuration).
pub fn end<C: Sql>(
    c: &mut C,
    id: i64,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Window, StoreError> {
    let Some(mut row) = c.window_row(id)? else {
        return Err(StoreError::NotFound {
            what: "maintenance window",
            key: id.to_string(),
        });
    };
    if row.ended_at.is_some() {
        return Err(crate::registry::Invalid::new(
            "maintenance window",
            &id.to_string(),
            "was already ended",
        )
        .into());
    }
    let before = window(c, row.clone(), now)?;
    row.ended_at = Some(to_db(now));
    c.update_window(&row)?;
    let ended = window(c, row, now)?;
    audit::write(
        c,
        change,
        Record {
            entity: "maintenance",
            entity_id: id,
            site_id: match before.scope {
                Scope::Site { id, .. } => Some(id),
                Scope::Org { .. } => None,
            },
            action: "end",
            before: snapshot(&before),
            after: snapshot(&ended),
            reason: None,
            warnings: &[],
        },
    )?;
    Ok(ended)
}

/// What windows on at `now` hold: their sites and organizations.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub sites: BTreeSet<i64>,
    pub orgs: BTreeSet<i64>,
}

impl Held {
    pub fn holds(&self, site_id: Option<i64>, org_id: Option<i64>) -> bool {
        site_id.is_some_and(|id| self.sites.contains(&id))
            || org_id.is_some_and(|id| self.orgs.contains(&id))
    }
}

pub fn held<C: Sql>(c: &mut C) -> Result<Held, StoreError> {
    let mut held = Held::default();
    for row in c.window_rows()? {
        // Held while a cover is open: its start was told and its end is
        // still to be told (the sweep closes it when it ends, or when the
        // window is ended by hand). So whatever is held, the end notice
        // tells; a window never told to start holds nothing.
        let open = row.ended_at.is_none()
            && row.started_notice.is_some()
            && row.ended_notice != row.started_notice;
        if !open {
            continue;
        }
        if let Some(site) = row.site_id {
            held.sites.insert(site);
        }
        if let Some(org) = row.org_id {
            held.orgs.insert(org);
        }
    }
    Ok(held)
}

/// Plans the notices of windows that started or ended since the last
/// sweep; returns how many were planned. In the caller's transaction.
pub fn sweep<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut told = 0;
    for mut row in c.window_rows()? {
        let cron = schedule(&row)?;
        let mut changed = false;
        let scope = window(c, row.clone(), now)?.scope;
        let active = active_at(&row, &cron, now);
        // A cover whose start was told and that is over, or a window
        // ended by hand: its end. (A cover is told once however many
        // overlapping starts make it: it lasts while the window is on at
        // each sweep.)
        if let Some(started) = row.started_notice
            && row.ended_notice != Some(started)
            && active.is_none()
        {
            row.ended_notice = Some(started);
            changed = true;
            told += tell(
                c,
                alerting,
                &scope,
                row.id,
                NotificationKind::MaintenanceEnded,
                now,
            )?;
        }
        if let Some((start, _)) = active
            && (row.started_notice.is_none() || row.ended_notice == row.started_notice)
            && row.started_notice != Some(to_db(start))
        {
            row.started_notice = Some(to_db(start));
            changed = true;
            told += tell(
                c,
                alerting,
                &scope,
                row.id,
                NotificationKind::MaintenanceStarted,
                now,
            )?;
        }
        if changed {
            c.update_window(&row)?;
        }
    }
    Ok(told)
}

/// Plans a window's notice to every sink that hears of its
/// organization's findings (and its own webhooks); an end notice lists,
/// to each sink, the findings in the window's scope still open that it
/// would hear of. Returns how many messages were planned.
fn tell<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    scope: &Scope,
    window_id: i64,
    kind: NotificationKind,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let org = scope.org_id();
    let mut cache = BTreeMap::new();
    let mut to: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for finding_kind in FindingKind::ALL {
        for severity in Severity::ALL {
            let facts = (*finding_kind, *severity, Some(org));
            for sink in sinks_of(c, alerting, &mut cache, NotificationKind::Opened, facts)? {
                to.entry(sink).or_default();
            }
        }
    }
    if kind == NotificationKind::MaintenanceEnded {
        let open = [
            FindingStatus::Open.as_str(),
            FindingStatus::Acknowledged.as_str(),
        ];
        for row in c.finding_rows(&open)? {
            let f = super::findings::from_row(row)?;
            let inside = match scope {
                Scope::Site { id, .. } => f.site_id == Some(*id),
                Scope::Org { id, .. } => f.org_id == Some(*id),
            };
            if !inside {
                continue;
            }
            let facts = (f.kind, f.severity, f.org_id);
            for sink in sinks_of(c, alerting, &mut cache, NotificationKind::Opened, facts)? {
                to.entry(sink).or_default().push(f.id);
            }
        }
    }
    let count = to.len();
    for (sink, findings) in to {
        c.insert_notification(&NewNotificationRow {
            key: super::alerts::new_key()?,
            sink,
            org_id: Some(org),
            kind: kind.as_str().to_string(),
            findings: serde_json::to_string(&findings).unwrap_or_default(),
            status: NotificationStatus::Pending.as_str().to_string(),
            created_at: to_db(now),
            send_after: to_db(now),
            next_attempt_at: to_db(now),
            window_id: Some(window_id),
        })?;
    }
    Ok(count)
}
