//! The registry as people and scripts see it: organizations, sites,
//! accounts, the audit trail, exceptions, imports and code checks.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::Table;
use crate::app::registry::{CodeCheck, ImportReport, OrgDetail};
use crate::clock;
use crate::registry::{Account, Organization, Site};
use crate::store::{AuditEntry, ExceptionRecord};

/// A site as scripts see it.
pub fn site_json(site: &Site) -> Value {
    serde_json::to_value(crate::dto::registry::SiteDto::from(site)).unwrap_or(Value::Null)
}

pub fn org_json(org: &Organization) -> Value {
    // Webhooks masked by the DTO: a webhook's path and query carry its
    // secret, never shown.
    serde_json::to_value(crate::dto::registry::OrgDto::from(org)).unwrap_or(Value::Null)
}

pub fn account_json(account: &Account) -> Value {
    serde_json::to_value(crate::dto::registry::AccountDto::from(account)).unwrap_or(Value::Null)
}

pub fn audit_json(entry: &AuditEntry) -> Value {
    serde_json::to_value(crate::dto::registry::AuditEntryDto::from(entry)).unwrap_or(Value::Null)
}

/// The primary host name, shown in Unicode.
pub fn primary(site: &Site) -> String {
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
                .cloned()
                .chain(org.webhooks.iter().map(|w| crate::alerts::mask_url(w)))
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
        "ID",
        "RECORDED",
        "EFFECTIVE",
        "ACTOR",
        "ENTITY",
        "ACTION",
        "CHANGES",
        "REFERENCE / REASON",
    ]);
    for entry in entries {
        let changes: Vec<String> = entry
            .changes
            .iter()
            .map(|d| (&d.field, shown_value(&d.before), shown_value(&d.after)))
            // A time re-recorded within the same second shows no change.
            .filter(|(_, before, after)| before != after)
            .map(|(field, before, after)| format!("{field}: {before} → {after}"))
            .collect();
        table.row(vec![
            entry.id.to_string(),
            clock::show(entry.at),
            clock::show(entry.effective_at),
            entry.actor.clone(),
            format!("{} {}", entry.entity, entry.entity_id),
            entry.action.clone(),
            changes.join("; "),
            entry.reason.clone().unwrap_or_default(),
        ]);
    }
    table
}

/// A recorded value as people read it: times in China Standard Time, and
/// no value as a dash.
fn shown_value(value: &str) -> String {
    if value == "null" || value == "(absent)" {
        return "—".into();
    }
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(time) => clock::show(time.with_timezone(&chrono::Utc)),
        Err(_) => value.to_string(),
    }
}

/// An organization with its sites and accounts, as scripts see it: the
/// organization's object with `sites` and `accounts` lists.
pub fn org_detail_json(detail: &OrgDetail) -> Value {
    serde_json::to_value(crate::dto::registry::OrgDetailDto::from(detail)).unwrap_or(Value::Null)
}

/// An organization with its sites and accounts, for people.
pub fn org_detail(detail: &OrgDetail, out: &mut impl Write) -> io::Result<()> {
    orgs_table(std::slice::from_ref(&detail.org)).print(out)?;
    writeln!(out, "\nsites:")?;
    sites_table(&detail.sites).print(out)?;
    writeln!(out, "\naccounts:")?;
    accounts_table(&detail.accounts).print(out)
}

pub fn exceptions_table(exceptions: &[ExceptionRecord]) -> Table {
    let mut table = Table::new(&["ID", "KIND", "SUBJECT", "UNTIL", "ACTOR", "REASON"]);
    for e in exceptions {
        table.row(vec![
            e.id.to_string(),
            e.kind.clone(),
            e.subject.clone(),
            clock::show(e.until),
            e.actor.clone(),
            e.reason.clone(),
        ]);
    }
    table
}

/// What an import of `file` did, as scripts see it: the counts, and how
/// many warnings (each is on stderr with its line).
pub fn import_json(file: &Path, report: &ImportReport) -> Value {
    serde_json::to_value(crate::dto::files::ImportDto::new(
        &file.display().to_string(),
        report,
    ))
    .unwrap_or(Value::Null)
}

/// What an import of `file` did, in a line for people.
pub fn import_line(file: &Path, report: &ImportReport) -> String {
    let summary = &report.summary;
    format!(
        "{}{}: {} rows ({}): {} created, {} updated, {} unchanged{}; {} warning(s)",
        if report.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        file.display(),
        summary.rows,
        report.info.encoding,
        summary.created,
        summary.updated,
        summary.unchanged,
        if summary.orgs_created > 0 {
            format!("; {} organization(s) created", summary.orgs_created)
        } else {
            String::new()
        },
        summary.warnings.len(),
    )
}

/// The division a code's prefix names, as `name (status)`.
fn prefix_division(check: &CodeCheck) -> Option<String> {
    check
        .prefix_division
        .as_ref()
        .map(|d| format!("{} ({})", d.name, d.status))
}

/// A code check as scripts see it (a malformed code is an error, so
/// `valid` is always true).
pub fn code_json(check: &CodeCheck) -> Value {
    json!({
        "code": check.code,
        "valid": true,
        "central": check.code.is_central(),
        "prefix": check.prefix,
        "prefix_division": prefix_division(check),
        "warnings": check.warnings,
    })
}

/// A code check for people; the warnings are the caller's to show.
pub fn code_detail(check: &CodeCheck, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}: well formed", check.code)?;
    match (&check.prefix, prefix_division(check)) {
        (None, _) => writeln!(out, "central department code (bm)"),
        (Some(prefix), Some(name)) => writeln!(out, "prefix {prefix}: {name}"),
        (Some(prefix), None) => writeln!(out, "prefix {prefix}: in no division table"),
    }
}

/// An API token as scripts see it (never the token itself).
pub fn token_json(token: &crate::store::tokens::Token) -> Value {
    serde_json::to_value(crate::dto::registry::TokenDto::from(token)).unwrap_or(Value::Null)
}

pub fn tokens_table(tokens: &[crate::store::tokens::Token]) -> Table {
    let mut table = Table::new(&["NAME", "ROLE", "ORGS", "CREATED", "BY", "REVOKED"]);
    for t in tokens {
        table.row(vec![
            t.name.clone(),
            t.role.to_string(),
            if t.orgs.is_empty() {
                "all".to_string()
            } else {
                let ids: Vec<String> = t.orgs.iter().map(i64::to_string).collect();
                format!(
                    "{}{}",
                    ids.join(","),
                    if t.with_subordinates { " +within" } else { "" }
                )
            },
            clock::show(t.created_at),
            t.created_by.clone(),
            t.revoked_at.map(clock::show).unwrap_or_default(),
        ]);
    }
    table
}
