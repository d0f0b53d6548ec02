//! The outbox: messages planned from findings' events in the transaction
//! that records them, gathered per (sink, organization, kind) while they
//! wait (`group_wait`, then at least `group_interval` after the group's
//! previous message), claimed by a sender under a lease, their body
//! frozen at the first claim so that every attempt sends the same bytes
//! under the same key, and marked delivered only once the receiver
//! accepted them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, from_db_opt, to_db};
use super::findings::{Happened, from_row};
use super::rows::{NewNotificationRow, NotificationRow};
use super::sql::Sql;
use crate::alerts::message::{Item, Message};
use crate::alerts::{NotificationKind, NotificationStatus};
use crate::findings::{EventKind, FindingKind, FindingStatus, Severity};
use crate::policy::alerts::{Alerts, Subject};

/// What planning needs beyond the store: the policy's routes and timing,
/// and the sinks the configuration defines.
#[derive(Debug, Clone)]
pub struct Alerting {
    pub alerts: Alerts,
    pub sinks: Vec<String>,
}

/// What planning did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// Confirmed findings no route sends anywhere: counted and logged,
    /// never silently dropped.
    pub unrouted: Vec<i64>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub key: String,
    pub sink: String,
    pub org_id: Option<i64>,
    pub kind: NotificationKind,
    pub findings: Vec<i64>,
    pub status: NotificationStatus,
    pub created_at: DateTime<Utc>,
    pub send_after: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The receiver's last answer (status and the start of its body).
    pub answer: Option<String>,
    /// The frozen body, once claimed.
    #[serde(skip)]
    pub body: Option<String>,
}

fn notification(row: NotificationRow) -> Result<Notification, StoreError> {
    let bad = |field: &str, value: &str| StoreError::Corrupt {
        what: format!("notifications row {}: {field} `{value}`", row.id),
    };
    Ok(Notification {
        id: row.id,
        kind: row.kind.parse().map_err(|_| bad("kind", &row.kind))?,
        status: row.status.parse().map_err(|_| bad("status", &row.status))?,
        findings: serde_json::from_str(&row.findings)
            .map_err(|_| bad("findings", &row.findings))?,
        key: row.key,
        sink: row.sink,
        org_id: row.org_id,
        created_at: from_db(row.created_at),
        send_after: from_db(row.send_after),
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        next_attempt_at: from_db(row.next_attempt_at),
        delivered_at: from_db_opt(row.delivered_at),
        last_error: row.last_error,
        answer: row.answer,
        body: row.body,
    })
}

/// A fresh key: 128 random bits in hex.
pub(super) fn new_key() -> Result<String, StoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Corrupt {
            what: "the system's random source failed".into(),
        })?;
    Ok(crate::probe::http::hex(&bytes))
}

/// An organization as routing reads it.
pub(super) struct OrgFacts {
    name: String,
    division: String,
    webhooks: Vec<i64>,
}

fn org_facts<C: Sql>(
    c: &mut C,
    cache: &mut BTreeMap<i64, OrgFacts>,
    org_id: i64,
) -> Result<(), StoreError> {
    if cache.contains_key(&org_id) {
        return Ok(());
    }
    let row = c.org_row(org_id)?;
    let webhooks = c
        .contact_rows(Some(org_id))?
        .into_iter()
        .filter(|contact| contact.kind == "webhook" && contact.in_use())
        .map(|contact| contact.id)
        .collect();
    cache.insert(
        org_id,
        OrgFacts {
            name: row.name,
            division: row.division,
            webhooks,
        },
    );
    Ok(())
}

/// The sinks that hear of one finding in a message of `kind`.
pub(super) fn sinks_of<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    cache: &mut BTreeMap<i64, OrgFacts>,
    kind: NotificationKind,
    finding: (FindingKind, Severity, Option<i64>),
) -> Result<Vec<String>, StoreError> {
    let (finding_kind, severity, org_id) = finding;
    if let Some(org) = org_id {
        org_facts(c, cache, org)?;
    }
    let org = org_id.and_then(|id| cache.get(&id));
    Ok(crate::alerts::route::sinks_for(
        &alerting.alerts,
        &alerting.sinks,
        kind,
        &Subject {
            kind: finding_kind,
            severity,
            organization: org.map(|o| o.name.as_str()),
            division: org.map(|o| o.division.as_str()),
        },
        org.map(|o| o.webhooks.as_slice()).unwrap_or_default(),
    ))
}

/// Adds `findings` to the message of `(sink, org, kind)` still
/// gathering, or starts one: due after `group_wait`, and no sooner than
/// `group_interval` after the group's previous message.
fn enqueue<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    group: &Group,
    findings: &[i64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (sink, org_id, kind) = (group.0.as_str(), group.1, group.2);
    if let Some(mut row) = c.gathering_notification(sink, org_id, kind.as_str())? {
        let mut ids: Vec<i64> = serde_json::from_str(&row.findings).unwrap_or_default();
        let before = ids.len();
        for id in findings {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        if ids.len() != before {
            row.findings = serde_json::to_string(&ids).unwrap_or_default();
            c.update_notification(&row)?;
        }
        return Ok(());
    }
    let timing = &alerting.alerts.timing;
    let wait = chrono::Duration::from_std(timing.group_wait).unwrap_or_default();
    let interval = chrono::Duration::from_std(timing.group_interval).unwrap_or_default();
    let mut due = now + wait;
    if let Some(last) = c.last_notification_due(sink, org_id, kind.as_str())? {
        due = due.max(from_db(last) + interval);
    }
    c.insert_notification(&NewNotificationRow {
        key: new_key()?,
        sink: sink.to_string(),
        org_id,
        kind: kind.as_str().to_string(),
        findings: serde_json::to_string(findings).unwrap_or_default(),
        status: NotificationStatus::Pending.as_str().to_string(),
        created_at: to_db(now),
        send_after: to_db(due),
        next_attempt_at: to_db(due),
        window_id: None,
    })?;
    Ok(())
}

/// One message's group: sink, organization, kind.
type Group = (String, Option<i64>, NotificationKind);

/// Findings gathered per group, then written once per group.
#[derive(Default)]
struct Gathered(BTreeMap<Group, Vec<i64>>);

impl Gathered {
    fn add(&mut self, sinks: Vec<String>, org: Option<i64>, kind: NotificationKind, id: i64) {
        for sink in sinks {
            self.0.entry((sink, org, kind)).or_default().push(id);
        }
    }

    fn write<C: Sql>(
        self,
        c: &mut C,
        alerting: &Alerting,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (group, ids) in &self.0 {
            enqueue(c, alerting, group, ids, now)?;
        }
        Ok(())
    }
}

/// Plans the messages of what happened to findings: confirmed (or
/// confirmed again) findings are told as opened, resolved ones that had
/// been told as resolved. In the caller's transaction.
pub fn plan<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    happened: &[Happened],
    now: DateTime<Utc>,
) -> Result<Planned, StoreError> {
    let mut planned = Planned::default();
    let mut cache = BTreeMap::new();
    let mut told_open = Vec::new();
    let mut gathered = Gathered::default();
    for h in happened {
        let kind = match h.change {
            EventKind::Opened | EventKind::Reopened => NotificationKind::Opened,
            EventKind::Resolved
                if alerting.alerts.timing.resolved
                    && matches!(
                        h.was,
                        Some(FindingStatus::Open | FindingStatus::Acknowledged)
                    ) =>
            {
                NotificationKind::Resolved
            }
            _ => continue,
        };
        let sinks = sinks_of(
            c,
            alerting,
            &mut cache,
            kind,
            (h.kind, h.severity, h.org_id),
        )?;
        if sinks.is_empty() {
            if kind == NotificationKind::Opened {
                planned.unrouted.push(h.finding_id);
            }
            continue;
        }
        gathered.add(sinks, h.org_id, kind, h.finding_id);
        if kind == NotificationKind::Opened {
            told_open.push(h.finding_id);
        }
    }
    gathered.write(c, alerting, now)?;
    c.set_findings_notified(&told_open, to_db(now))?;
    Ok(planned)
}

/// What a sweep planned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub repeated: usize,
    pub overdue: usize,
    /// Maintenance windows' start and end notices.
    pub notices: usize,
}

/// Plans repeats (open, unacknowledged findings last told more than the
/// repeat interval ago) and overdue messages (open or acknowledged
/// findings past their deadline, told once, escalated too).
pub fn sweep<C: Sql>(
    c: &mut C,
    alerting: &Alerting,
    now: DateTime<Utc>,
) -> Result<Swept, StoreError> {
    let timing = &alerting.alerts.timing;
    let repeat = chrono::Duration::from_std(timing.repeat_interval).unwrap_or_default();
    let shortest = alerting.alerts.deadlines.shortest().min(repeat);
    let rows = c.alert_finding_rows(
        &[
            FindingStatus::Open.as_str(),
            FindingStatus::Acknowledged.as_str(),
        ],
        to_db(now - shortest),
        to_db(now - repeat),
    )?;
    let mut swept = Swept::default();
    let mut cache = BTreeMap::new();
    let mut gathered = Gathered::default();
    let (mut repeated, mut overdue) = (Vec::new(), Vec::new());
    for row in rows {
        let f = from_row(row)?;
        let Some(opened) = f.opened_at else { continue };
        let facts = (f.kind, f.severity, f.org_id);
        if f.overdue_at.is_none()
            && alerting
                .alerts
                .deadlines
                .due(f.kind, f.severity, opened)
                .is_some_and(|due| due <= now)
        {
            let sinks = sinks_of(c, alerting, &mut cache, NotificationKind::Overdue, facts)?;
            gathered.add(sinks, f.org_id, NotificationKind::Overdue, f.id);
            overdue.push(f.id);
        }
        if f.status == FindingStatus::Open
            && f.ack_at.is_none()
            && f.notified_at.unwrap_or(opened) <= now - repeat
        {
            let sinks = sinks_of(c, alerting, &mut cache, NotificationKind::Repeat, facts)?;
            if !sinks.is_empty() {
                swept.repeated += 1;
            }
            gathered.add(sinks, f.org_id, NotificationKind::Repeat, f.id);
            // Told or not (no route), it waits another interval.
            repeated.push(f.id);
        }
    }
    gathered.write(c, alerting, now)?;
    swept.overdue = overdue.len();
    c.set_findings_overdue(&overdue, to_db(now))?;
    c.set_findings_notified(&repeated, to_db(now))?;
    swept.notices = super::maintenance::sweep(c, alerting, now)?;
    Ok(swept)
}

/// A claimed message, ready to send.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub key: String,
    pub sink: String,
    pub body: String,
    /// How many of its findings earlier attempts delivered (a split
    /// message's first parts).
    pub findings_sent: usize,
}

/// Claims up to `limit` messages due at `now` for `owner` until
/// `lease_until`, rendering (and freezing) the body of those claimed for
/// the first time. A repeat whose findings were all acknowledged or
/// resolved since is cancelled instead.
pub fn claim<C: Sql>(
    c: &mut C,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let mut out = Vec::new();
    let held = super::maintenance::held(c)?;
    for mut row in c.due_notifications(to_db(now), limit)? {
        if row.body.is_none() {
            match render(c, &row, &held)? {
                Rendered::Body(body) => row.body = Some(body),
                Rendered::Nothing(why) => {
                    row.status = NotificationStatus::Cancelled.as_str().to_string();
                    row.last_error = Some(why.to_string());
                    c.update_notification(&row)?;
                    continue;
                }
            }
        }
        row.lease_owner = Some(owner.to_string());
        row.lease_until = Some(to_db(lease_until));
        c.update_notification(&row)?;
        out.push(Claimed {
            id: row.id,
            key: row.key.clone(),
            sink: row.sink.clone(),
            body: row.body.clone().unwrap_or_default(),
            findings_sent: usize::try_from(row.findings_sent).unwrap_or(0),
        });
    }
    Ok(out)
}

/// A message's body as of now, or why there is nothing to send.
enum Rendered {
    Body(String),
    Nothing(&'static str),
}

/// The body of a message, as of now. A repeat or overdue message whose
/// findings were all acknowledged or resolved since has nothing to tell;
/// findings whose site or organization is under maintenance are held
/// (told when the window ends, with what is still open).
fn render<C: Sql>(
    c: &mut C,
    row: &NotificationRow,
    held: &super::maintenance::Held,
) -> Result<Rendered, StoreError> {
    let kind: NotificationKind = row.kind.parse().map_err(|_| StoreError::Corrupt {
        what: format!("notifications row {}: kind `{}`", row.id, row.kind),
    })?;
    let notice = matches!(
        kind,
        NotificationKind::MaintenanceStarted | NotificationKind::MaintenanceEnded
    );
    let ids: Vec<i64> = serde_json::from_str(&row.findings).unwrap_or_default();
    let mut items = Vec::new();
    let mut withheld = 0;
    for found in c.finding_rows_with_ids(&ids)? {
        let f = from_row(found)?;
        let still = match kind {
            NotificationKind::Repeat => f.status == FindingStatus::Open && f.ack_at.is_none(),
            NotificationKind::Overdue | NotificationKind::MaintenanceEnded => {
                f.status != FindingStatus::Resolved
            }
            _ => true,
        };
        if !still {
            continue;
        }
        // Only news waits: an overdue finding's escalation and a
        // resolution are told as ever.
        let holdable = matches!(kind, NotificationKind::Opened | NotificationKind::Repeat);
        if holdable && held.holds(f.site_id, f.org_id) {
            withheld += 1;
            continue;
        }
        let site = match f.site_id {
            Some(id) => c.site_row(id)?,
            None => None,
        };
        items.push(Item {
            id: f.id,
            kind: f.kind,
            severity: f.severity,
            status: f.status,
            subject: f.subject,
            site: site.as_ref().map(|s| s.name.clone()),
            site_code: site.and_then(|s| s.code),
            since: Item::since(f.opened_at.unwrap_or(f.first_seen)),
            summary: f.summary,
            action: f.action,
        });
    }
    let organization = match row.org_id {
        Some(id) => Some(c.org_row(id)?.name),
        None => None,
    };
    if notice {
        let window = match row.window_id {
            Some(id) => c.window_row(id)?,
            None => None,
        };
        let Some(window) = window else {
            return Ok(Rendered::Nothing("its maintenance window is gone"));
        };
        let scope = match window.site_id {
            Some(site) => c.site_row(site)?.map(|s| s.name),
            None => organization.clone(),
        };
        let from = from_db(window.started_notice.unwrap_or(window.created_at));
        let until = super::maintenance::cover_end_of(&window, from)?;
        let notice = crate::alerts::message::Notice {
            scope: scope.unwrap_or_default(),
            from,
            until,
            reason: window.reason,
        };
        return Ok(Rendered::Body(
            Message::maintenance(&row.key, kind, organization, &notice, items).to_json(),
        ));
    }
    if items.is_empty() {
        return Ok(Rendered::Nothing(if withheld > 0 {
            "held by a maintenance window: what is still open is told when it ends"
        } else {
            "nothing left to tell: its findings were acknowledged or resolved"
        }));
    }
    Ok(Rendered::Body(
        Message::new(&row.key, kind, organization, items).to_json(),
    ))
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it (2xx); its answer.
    Accepted(String),
    /// Not accepted: why, the answer if there was one, and how long the
    /// receiver asked us to wait.
    Refused {
        error: String,
        answer: Option<String>,
        retry_after: Option<std::time::Duration>,
    },
    /// The sink cannot take it (removed, misconfigured): failed at once.
    Broken {
        error: String,
        answer: Option<String>,
    },
    /// Not sent: the sink's rate limit is reached; sent after `after`,
    /// no attempt counted.
    Deferred { after: std::time::Duration },
    /// Not sent: the sink is quiet until `after`. A message nobody has
    /// seen yet is unfrozen, rendered again when the quiet ends (what was
    /// acknowledged or resolved overnight left out, repeats gathered
    /// into it), under the same key.
    Quiet { after: std::time::Duration },
    /// The sink asked us to stop for `after` (a robot's rate limit): the
    /// sink is marked limited until then and this message waits, no
    /// attempt counted.
    Limited {
        error: String,
        answer: Option<String>,
        after: std::time::Duration,
    },
}

/// Records how `owner`'s send of message `id` ended: delivered, or
/// retried after `retry_in` (failed once `max_attempts` are spent). A
/// message whose lease `owner` no longer holds is left to its new owner.
pub fn finish<C: Sql>(
    c: &mut C,
    id: i64,
    owner: &str,
    outcome: &Outcome,
    now: DateTime<Utc>,
    retry_in: impl Fn(u32) -> chrono::Duration,
    max_attempts: u32,
) -> Result<bool, StoreError> {
    let Some(mut row) = c.notification_row(id)? else {
        return Ok(false);
    };
    if row.lease_owner.as_deref() != Some(owner) {
        return Ok(false);
    }
    row.lease_owner = None;
    row.lease_until = None;
    if let Some(told) = super::sinks::Told::of(outcome, now) {
        super::sinks::record(c, &row.sink, &told, now)?;
    }
    if let Outcome::Deferred { after } | Outcome::Limited { after, .. } | Outcome::Quiet { after } =
        outcome
    {
        row.next_attempt_at = to_db(now + chrono::Duration::from_std(*after).unwrap_or_default());
        if let Outcome::Limited { error, answer, .. } = outcome {
            row.last_error = Some(error.clone());
            row.answer = answer.clone();
        }
        if matches!(outcome, Outcome::Quiet { .. }) && row.attempts == 0 && row.findings_sent == 0 {
            row.body = None;
        }
        c.update_notification(&row)?;
        return Ok(true);
    }
    row.attempts += 1;
    match outcome {
        Outcome::Accepted(answer) => {
            row.status = NotificationStatus::Delivered.as_str().to_string();
            row.delivered_at = Some(to_db(now));
            row.answer = Some(answer.clone());
            row.last_error = None;
        }
        Outcome::Refused {
            error,
            answer,
            retry_after,
        } => {
            row.last_error = Some(error.clone());
            row.answer = answer.clone();
            let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
            if attempts >= max_attempts {
                row.status = NotificationStatus::Failed.as_str().to_string();
            } else {
                let asked = retry_after
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .unwrap_or_default();
                row.next_attempt_at = to_db(now + retry_in(attempts).max(asked));
            }
        }
        Outcome::Broken { error, answer } => {
            row.last_error = Some(format!("the sink is broken: {error}"));
            row.answer = answer.clone();
            row.status = NotificationStatus::Failed.as_str().to_string();
        }
        Outcome::Deferred { .. } | Outcome::Limited { .. } | Outcome::Quiet { .. } => {}
    }
    c.update_notification(&row)?;
    Ok(true)
}

/// Records that the first `sent` findings of message `id` were
/// delivered, while `owner` holds it (a retry sends the rest), and
/// renews its lease until `lease_until`; false when `owner` lost it.
pub fn progress<C: Sql>(
    c: &mut C,
    id: i64,
    owner: &str,
    sent: usize,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(mut row) = c.notification_row(id)? else {
        return Ok(false);
    };
    if row.lease_owner.as_deref() != Some(owner) {
        return Ok(false);
    }
    if row
        .lease_until
        .is_some_and(|until| until < to_db(Utc::now()))
    {
        // Expired: another sender may have claimed it already.
        return Ok(false);
    }
    row.findings_sent = i64::try_from(sent).unwrap_or(i64::MAX);
    row.lease_until = Some(to_db(lease_until));
    c.update_notification(&row)?;
    Ok(true)
}

/// The newest `limit` messages, of one status when given.
pub fn list<C: Sql>(
    c: &mut C,
    status: Option<NotificationStatus>,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    c.notification_rows(status.map(|s| s.as_str()), limit)?
        .into_iter()
        .map(notification)
        .collect()
}

/// The newest `limit` messages with ids below `before` (from the newest
/// when `None`), of one status when given: the outbox a page at a time.
pub fn list_before<C: Sql>(
    c: &mut C,
    status: Option<NotificationStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    c.notification_rows_before(status.map(|s| s.as_str()), before, limit)?
        .into_iter()
        .map(notification)
        .collect()
}

/// Sends a failed (or pending) message again at once, with its attempts
/// counted afresh; a delivered one is refused.
pub fn retry<C: Sql>(c: &mut C, id: i64, now: DateTime<Utc>) -> Result<Notification, StoreError> {
    let Some(mut row) = c.notification_row(id)? else {
        return Err(StoreError::NotFound {
            what: "notification",
            key: id.to_string(),
        });
    };
    if row.status == NotificationStatus::Delivered.as_str() {
        return Err(crate::registry::Invalid::new(
            "notification",
            &id.to_string(),
            "was delivered: there is nothing to retry",
        )
        .into());
    }
    row.status = NotificationStatus::Pending.as_str().to_string();
    row.attempts = 0;
    row.next_attempt_at = to_db(now);
    row.send_after = row.send_after.min(to_db(now));
    c.update_notification(&row)?;
    notification(row)
}

/// What `siteward status` tells of alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub failed: usize,
    /// Open (or acknowledged) findings that no route sends anywhere.
    pub unrouted: usize,
}

/// Counts the outbox's waiting and failed messages, and the confirmed
/// findings no route sends anywhere under `alerting`, routed as an opened
/// message would be.
pub fn counts<C: Sql>(c: &mut C, alerting: &Alerting) -> Result<Counts, StoreError> {
    let count = |c: &mut C, status: NotificationStatus| -> Result<usize, StoreError> {
        Ok(usize::try_from(c.count_notifications(status.as_str())?).unwrap_or(usize::MAX))
    };
    let mut cache = BTreeMap::new();
    let mut unrouted = 0;
    for f in c.current_finding_rows()? {
        let (Ok(kind), Ok(severity)) = (f.kind.parse(), f.severity.parse()) else {
            continue;
        };
        if !matches!(f.status.as_str(), "open" | "acknowledged") {
            continue;
        }
        let facts = (kind, severity, f.org_id);
        if sinks_of(c, alerting, &mut cache, NotificationKind::Opened, facts)?.is_empty() {
            unrouted += 1;
        }
    }
    Ok(Counts {
        pending: count(c, NotificationStatus::Pending)?,
        failed: count(c, NotificationStatus::Failed)?,
        unrouted,
    })
}
