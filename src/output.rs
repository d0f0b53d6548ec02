//! What the CLI prints: aligned tables for people (CJK characters count
//! two columns), JSON for scripts. The JSON field names are a stable
//! interface: scripts and the API rely on them.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};
use unicode_width::UnicodeWidthStr;

use crate::clock;
use crate::registry::{Account, Organization, Site};
use crate::store::AuditEntry;

/// A table with a header row, printed with columns aligned.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(index) {
                    *width = (*width).max(cell.width());
                }
            }
        }
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                let last = index + 1 == row.len();
                line.push_str(cell);
                if !last {
                    let pad = widths[index].saturating_sub(cell.width()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Prints one JSON object on its own line.
pub fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

fn time(value: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    value.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// A site as scripts see it.
pub fn site_json(site: &Site) -> Value {
    json!({
        "id": site.id,
        "code": site.code,
        "name": site.name,
        "kind": site.kind,
        "org": site.org,
        "status": site.status,
        "domains": site.domains.iter().map(|d| json!({
            "hostname": d.hostname,
            "role": d.role,
            "state": d.state,
            "release_deadline": time(d.release_deadline),
        })).collect::<Vec<_>>(),
        "approval_ref": site.approval_ref,
        "successor_url": site.successor_url,
        "retirement_ref": site.retirement_ref,
        "icp_filing": site.icp_filing,
        "psb_filing": site.psb_filing,
        "status_reason": site.status_reason,
        "status_changed_at": time(Some(site.status_changed_at)),
        "requested_at": time(site.times.requested_at),
        "approved_at": time(site.times.approved_at),
        "rejected_at": time(site.times.rejected_at),
        "live_at": time(site.times.live_at),
        "suspended_at": time(site.times.suspended_at),
        "retiring_at": time(site.times.retiring_at),
        "notice_until": time(site.times.notice_until),
        "offline_at": time(site.times.offline_at),
        "closed_at": time(site.times.closed_at),
    })
}

pub fn org_json(org: &Organization) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "division": org.division,
        "level": org.level,
        "parent": org.parent,
        "emails": org.emails,
        "webhooks": org.webhooks,
    })
}

pub fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "platform": account.platform,
        "account_id": account.account_id,
        "name": account.name,
        "org": account.org,
        "status": account.status,
        "last_post_at": time(account.last_post_at),
        "feed_url": account.feed_url,
        "status_reason": account.status_reason,
    })
}

pub fn audit_json(entry: &AuditEntry) -> Value {
    json!({
        "at": time(Some(entry.at)),
        "effective_at": time(Some(entry.effective_at)),
        "actor": entry.actor,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "warnings": entry.warnings,
    })
}

/// The primary host name, shown in Unicode.
fn primary(site: &Site) -> String {
    site.primary()
        .map(|d| d.hostname.to_unicode())
        .unwrap_or_default()
}

pub fn sites_table(sites: &[Site]) -> Table {
    let mut table = Table::new(&["ID", "CODE", "STATUS", "KIND", "PRIMARY", "NAME", "ORG"]);
    for site in sites {
        table.row(vec![
            site.id.to_string(),
            site.code
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            site.status.to_string(),
            site.kind.to_string(),
            primary(site),
            site.name.clone(),
            site.org.clone(),
        ]);
    }
    table
}

/// The detail view of one site.
pub fn site_detail(site: &Site, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new(&["FIELD", "VALUE"]);
    let mut field = |name: &str, value: String| {
        if !value.is_empty() {
            table.row(vec![name.to_string(), value]);
        }
    };
    field("id", site.id.to_string());
    field("name", site.name.clone());
    field(
        "code",
        site.code
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "(none)".into()),
    );
    field("kind", site.kind.to_string());
    field("organizer", site.org.clone());
    field("status", site.status.to_string());
    field(
        "status reason",
        site.status_reason.clone().unwrap_or_default(),
    );
    field("approval", site.approval_ref.clone().unwrap_or_default());
    field(
        "retirement",
        site.retirement_ref.clone().unwrap_or_default(),
    );
    field("successor", site.successor_url.clone().unwrap_or_default());
    field("ICP filing", site.icp_filing.clone().unwrap_or_default());
    field("PSB filing", site.psb_filing.clone().unwrap_or_default());
    field("requested", clock::show_opt(site.times.requested_at));
    field("approved", clock::show_opt(site.times.approved_at));
    field("rejected", clock::show_opt(site.times.rejected_at));
    field("live", clock::show_opt(site.times.live_at));
    field("suspended", clock::show_opt(site.times.suspended_at));
    field("retiring", clock::show_opt(site.times.retiring_at));
    field("notice until", clock::show_opt(site.times.notice_until));
    field("offline", clock::show_opt(site.times.offline_at));
    field("closed", clock::show_opt(site.times.closed_at));
    table.print(out)?;
    writeln!(out)?;
    let mut domains = Table::new(&["HOSTNAME", "ROLE", "STATE", "RELEASE BY", "RELEASED"]);
    for domain in &site.domains {
        let unicode = domain.hostname.to_unicode();
        let name = if unicode == domain.hostname.as_str() {
            unicode
        } else {
            format!("{unicode} ({})", domain.hostname)
        };
        domains.row(vec![
            name,
            domain.role.to_string(),
            domain.state.to_string(),
            clock::show_opt(domain.release_deadline),
            clock::show_opt(domain.released_at),
        ]);
    }
    domains.print(out)?;
    writeln!(out, "(times in China Standard Time, UTC+8)")
}

pub fn orgs_table(orgs: &[Organization]) -> Table {
    let mut table = Table::new(&["ID", "DIVISION", "LEVEL", "NAME", "PARENT", "CONTACTS"]);
    for org in orgs {
        table.row(vec![
            org.id.to_string(),
            org.division.to_string(),
            org.level.to_string(),
            org.name.clone(),
            org.parent.clone().unwrap_or_default(),
            org.emails
                .iter()
                .chain(&org.webhooks)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    table
}

pub fn accounts_table(accounts: &[Account]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "PLATFORM",
        "ACCOUNT ID",
        "STATUS",
        "LAST POST",
        "NAME",
        "ORG",
    ]);
    for account in accounts {
        table.row(vec![
            account.id.to_string(),
            account.platform.to_string(),
            account.account_id.clone(),
            account.status.to_string(),
            clock::show_opt(account.last_post_at),
            account.name.clone(),
            account.org.clone(),
        ]);
    }
    table
}

pub fn audit_table(entries: &[AuditEntry]) -> Table {
    let mut table = Table::new(&[
        "RECORDED",
        "EFFECTIVE",
        "ACTOR",
        "ENTITY",
        "ACTION",
        "REFERENCE / REASON",
    ]);
    for entry in entries {
        table.row(vec![
            clock::show(entry.at),
            clock::show(entry.effective_at),
            entry.actor.clone(),
            format!("{} {}", entry.entity, entry.entity_id),
            entry.action.clone(),
            entry.reason.clone().unwrap_or_default(),
        ]);
    }
    table
}

/// Names of the sites and organizations findings point at, by id.
#[derive(Debug, Default)]
pub struct Names {
    pub sites: std::collections::HashMap<i64, (String, Option<String>)>,
    pub orgs: std::collections::HashMap<i64, String>,
}

impl Names {
    pub fn new(sites: &[Site], orgs: &[Organization]) -> Names {
        Names {
            sites: sites
                .iter()
                .map(|s| {
                    (
                        s.id,
                        (s.name.clone(), s.code.as_ref().map(|c| c.to_string())),
                    )
                })
                .collect(),
            orgs: orgs.iter().map(|o| (o.id, o.name.clone())).collect(),
        }
    }
}

/// A finding as scripts see it: one object per line.
pub fn finding_json(finding: &crate::store::StoredFinding, names: &Names) -> Value {
    let site = finding.site_id.map_or(Value::Null, |id| {
        let (name, code) = names.sites.get(&id).cloned().unwrap_or_default();
        serde_json::json!({ "id": id, "name": name, "code": code })
    });
    let org = finding
        .org_id
        .and_then(|id| names.orgs.get(&id))
        .map_or(Value::Null, |name| Value::String(name.clone()));
    serde_json::json!({
        "id": finding.id,
        "kind": finding.kind,
        "severity": finding.severity,
        "status": finding.status,
        "subject": finding.subject,
        "site": site,
        "org": org,
        "summary": finding.summary,
        "action": finding.action,
        "evidence": finding.evidence,
        "confirmations": finding.confirmations,
        "first_seen": time(Some(finding.first_seen)),
        "last_seen": time(Some(finding.last_seen)),
        "resolved_at": time(finding.resolved_at),
        "ack": finding.ack_note.as_ref().map(|note| serde_json::json!({
            "actor": finding.ack_actor,
            "note": note,
            "at": time(finding.ack_at),
        })),
    })
}

pub fn findings_table(findings: &[crate::store::StoredFinding]) -> Table {
    let mut table = Table::new(&["ID", "SEVERITY", "STATUS", "KIND", "SUBJECT", "SUMMARY"]);
    for finding in findings {
        table.row(vec![
            finding.id.to_string(),
            finding.severity.to_string(),
            finding.status.to_string(),
            finding.kind.to_string(),
            finding.subject.clone(),
            finding.summary.clone(),
        ]);
    }
    table
}

/// The jobs' schedules as scripts see them: for each job, its expression
/// and its next `n` fire times after `after`, in RFC 3339 at +08:00.
pub fn schedules_json(
    schedules: &std::collections::BTreeMap<String, crate::policy::JobSchedule>,
    after: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> Value {
    let jobs: serde_json::Map<String, Value> = schedules
        .iter()
        .map(|(job, s)| {
            let next_runs: Vec<String> = s
                .schedule
                .upcoming(after, n)
                .into_iter()
                .map(crate::policy::cron::fire_time_rfc3339)
                .collect();
            (
                job.clone(),
                json!({ "expression": s.expression, "next_runs": next_runs }),
            )
        })
        .collect();
    Value::Object(jobs)
}

/// The jobs' schedules for people: each expression beside its next `n`
/// fire times after `after`, in China Standard Time.
pub fn schedules_table(
    schedules: &std::collections::BTreeMap<String, crate::policy::JobSchedule>,
    after: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> Table {
    let mut table = Table::new(&["JOB", "SCHEDULE", "NEXT RUNS"]);
    for (job, s) in schedules {
        let next_runs: Vec<String> = s
            .schedule
            .upcoming(after, n)
            .into_iter()
            .map(crate::policy::cron::show_fire_time)
            .collect();
        table.row(vec![
            job.clone(),
            s.expression.clone(),
            next_runs.join(", "),
        ]);
    }
    table
}
