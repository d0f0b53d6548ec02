//! Sites and their domains: request, lifecycle transitions, edits,
//! look-up by id, code or host name, and comply-or-explain exceptions for
//! host names outside the allowed suffixes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{self, Record, snapshot};
use super::convert::{
    domain_from_row, domain_into_row, from_db, is_held, new_domain_row, new_site_row,
    site_from_row, site_into_row, to_db,
};
use super::orgs;
use super::rows::{DomainRow, NewExceptionRow};
use super::sql::Sql;
use super::{Change, Outcome, StoreError};
use crate::policy::Policy;
use crate::registry::lifecycle::{self, SiteAction, SiteEdit};
use crate::registry::times;
use crate::registry::{
    Domain, DomainRole, DomainState, Hostname, Invalid, Site, SiteCode, SiteKind, SiteStatus,
    SiteTimes, Warning, check_icp, check_psb,
};

/// The exception kind that lets a host name outside the allowed suffixes
/// be registered (the same identifier the findings use).
pub const DOMAIN_NOT_ALLOWED: &str = "domain_not_allowed";

/// A comply-or-explain exception given with a request or an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionGrant {
    pub reason: String,
    pub until: DateTime<Utc>,
}

/// A stored exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRecord {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub reason: String,
    pub actor: String,
    pub until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What `site request` asks for. The first host name is the primary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRequest {
    pub name: String,
    pub org: String,
    pub kind: SiteKind,
    pub domains: Vec<Hostname>,
    pub code: Option<SiteCode>,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub exception: Option<ExceptionGrant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteFilter {
    pub status: Option<SiteStatus>,
    pub org: Option<String>,
    pub kind: Option<SiteKind>,
}

/// Finds the site a key names: an identifier code, an internal id, or any
/// of its host names. Where several sites match (a code or host name
/// reused after a closure), the one still holding it wins.
pub fn resolve<C: Sql>(c: &mut C, key: &str) -> Result<i64, StoreError> {
    let key = key.trim();
    let not_found = || StoreError::NotFound {
        what: "site",
        key: key.to_string(),
    };
    if let Ok(code) = key.parse::<SiteCode>() {
        let ids = c.site_ids_with_code(code.as_str())?;
        if !ids.is_empty() {
            let rows = c.site_rows(Some(&ids))?;
            let open: Vec<i64> = rows
                .iter()
                .filter(|r| r.status != SiteStatus::Closed.as_str())
                .map(|r| r.id)
                .collect();
            return pick(key, if open.is_empty() { ids } else { open });
        }
    }
    if key.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
        let id: i64 = key.parse().map_err(|_| not_found())?;
        return match c.site_row(id)? {
            Some(row) => Ok(row.id),
            None => Err(not_found()),
        };
    }
    let Ok(host) = Hostname::from_url_or_host(key) else {
        return Err(not_found());
    };
    if let Some(row) = c.held_domain(host.as_str())? {
        return Ok(row.site_id);
    }
    let ids = c.site_ids_with_hostname(host.as_str())?;
    if ids.is_empty() {
        return Err(not_found());
    }
    pick(key, ids)
}

/// Every site a key has ever named: the site with that id, or every site
/// that ever held that identifier code or host name (a closed site's code
/// or host name may be held by a newer one), oldest first.
pub fn resolve_all<C: Sql>(c: &mut C, key: &str) -> Result<Vec<i64>, StoreError> {
    let trimmed = key.trim();
    let mut ids = Vec::new();
    if let Ok(code) = trimmed.parse::<SiteCode>() {
        ids.extend(c.site_ids_with_code(code.as_str())?);
    }
    if ids.is_empty()
        && !trimmed.bytes().all(|b| b.is_ascii_digit())
        && let Ok(host) = Hostname::from_url_or_host(trimmed)
    {
        ids.extend(c.site_ids_with_hostname(host.as_str())?);
    }
    if ids.is_empty() {
        ids.push(resolve(c, trimmed)?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The other sites that share, or shared, `site`'s identifier code or one
/// of its host names: (what is shared, the other site's id), by id.
pub fn namesakes<C: Sql>(c: &mut C, site: &Site) -> Result<Vec<(String, i64)>, StoreError> {
    let mut shared = Vec::new();
    if let Some(code) = &site.code {
        for id in c.site_ids_with_code(code.as_str())? {
            shared.push((code.as_str().to_string(), id));
        }
    }
    for domain in &site.domains {
        for id in c.site_ids_with_hostname(domain.hostname.as_str())? {
            shared.push((domain.hostname.to_unicode(), id));
        }
    }
    shared.retain(|(_, id)| *id != site.id);
    shared.sort_by_key(|(_, id)| *id);
    shared.dedup();
    Ok(shared)
}

fn pick(key: &str, ids: Vec<i64>) -> Result<i64, StoreError> {
    match ids.as_slice() {
        [id] => Ok(*id),
        _ => Err(StoreError::Ambiguous {
            what: "site",
            key: key.to_string(),
            candidates: ids
                .iter()
                .map(|id| format!("site {id}"))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Sites read a page at a time when every site is loaded: the rows of a
/// province's registry are not held beside the sites made of them.
const LOAD_PAGE: i64 = 5_000;

/// Loads sites with their domains and organizer names (every site when
/// `ids` is `None`, a page of rows at a time).
pub fn load<C: Sql>(c: &mut C, ids: Option<&[i64]>) -> Result<Vec<Site>, StoreError> {
    if let Some(ids) = ids {
        let rows = c.site_rows(Some(ids))?;
        return of_rows(c, rows);
    }
    let names = orgs::names(c)?;
    // Sized exactly (doubling would leave up to half of it unused):
    // judging holds every site of a province at once.
    let count = usize::try_from(c.count_sites()?).unwrap_or(0);
    let mut sites = Vec::with_capacity(count);
    let mut after = None;
    loop {
        let rows = c.site_rows_page(&super::sql::SitePage {
            after,
            limit: LOAD_PAGE,
            ..Default::default()
        })?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        // A page is every site in its range of ids: its domains are
        // those of the range, in one query.
        let domains = c.domain_rows_of_site_range(after, last)?;
        after = Some(last);
        assemble(rows, domains, &names, &mut sites)?;
    }
    Ok(sites)
}

/// Sites made from some of their rows: the domains and organizer names
/// of these rows only are read.
fn of_rows<C: Sql>(c: &mut C, rows: Vec<super::rows::SiteRow>) -> Result<Vec<Site>, StoreError> {
    let mut org_ids: Vec<i64> = rows.iter().map(|r| r.org_id).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let names = c
        .org_rows_with_ids(&org_ids)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let domains = if ids.is_empty() {
        Vec::new()
    } else {
        c.domain_rows(Some(&ids))?
    };
    let mut sites = Vec::with_capacity(rows.len());
    assemble(rows, domains, &names, &mut sites)?;
    Ok(sites)
}

/// Sites made from their rows and their domains' rows, appended to
/// `sites`.
fn assemble(
    rows: Vec<super::rows::SiteRow>,
    domain_rows: Vec<super::rows::DomainRow>,
    names: &super::convert::OrgNames,
    sites: &mut Vec<Site>,
) -> Result<(), StoreError> {
    let mut by_site: HashMap<i64, Vec<Domain>> = HashMap::new();
    // The rows are consumed as they are read: a province's registry is
    // not held twice.
    for row in domain_rows {
        by_site
            .entry(row.site_id)
            .or_default()
            .push(domain_from_row(&row)?);
    }
    for row in rows {
        let mut domains = by_site.remove(&row.id).unwrap_or_default();
        // A site's one domain would otherwise sit in room for four.
        domains.shrink_to_fit();
        sites.push(site_from_row(&row, names, domains)?);
    }
    Ok(())
}

/// Which sites one page of a search holds (the API's site list). Every
/// filter is applied in SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSearch {
    /// Only sites of these organizations; `None`: of every one.
    pub org_ids: Option<Vec<i64>>,
    pub status: Option<SiteStatus>,
    pub kind: Option<SiteKind>,
    /// Only sites whose organizer's division code starts with these
    /// digits (`6201`: Lanzhou and the counties under it).
    pub division_prefix: Option<String>,
    /// Only sites with (true) or without (false) an open or acknowledged
    /// finding.
    pub open_findings: Option<bool>,
    /// Text found, case-insensitively, in the name, the identifier code
    /// or a host name (a Unicode host name is also looked for in its
    /// ASCII form).
    pub text: Option<String>,
    /// Only sites with an id above this one.
    pub after: Option<i64>,
    /// At most this many sites.
    pub limit: usize,
}

/// `text` as a LIKE pattern that finds it anywhere, `!` escaping the
/// pattern's own characters.
fn like_anywhere(text: &str) -> String {
    let mut pattern = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// One page of the sites `search` asks for, by id.
pub fn search<C: Sql>(c: &mut C, search: &SiteSearch) -> Result<Vec<Site>, StoreError> {
    if search.org_ids.as_ref().is_some_and(Vec::is_empty) || search.limit == 0 {
        return Ok(Vec::new());
    }
    if let Some(prefix) = &search.division_prefix
        && (prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Invalid::new(
            "division",
            prefix,
            "must be 1 to 6 digits: a division code or its start",
        )
        .into());
    }
    let text = search
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let lower = t.to_lowercase();
            // A Unicode host name (or a part of one made of whole labels)
            // is stored in its ASCII form.
            let ascii = if lower.is_ascii() {
                lower.clone()
            } else {
                idna::domain_to_ascii(&lower).unwrap_or_else(|_| lower.clone())
            };
            (like_anywhere(&lower), like_anywhere(&ascii))
        });
    let page = super::sql::SitePage {
        org_ids: search.org_ids.clone(),
        status: search.status.map(|s| s.as_str().to_string()),
        kind: search.kind.map(|k| k.as_str().to_string()),
        division_prefix: search.division_prefix.clone(),
        open_findings: search.open_findings,
        text,
        after: search.after,
        limit: i64::try_from(search.limit).unwrap_or(i64::MAX),
    };
    let rows = c.site_rows_page(&page)?;
    of_rows(c, rows)
}

pub fn by_id<C: Sql>(c: &mut C, id: i64) -> Result<Site, StoreError> {
    load(c, Some(&[id]))?
        .pop()
        .ok_or_else(|| StoreError::NotFound {
            what: "site",
            key: id.to_string(),
        })
}

pub fn by_key<C: Sql>(c: &mut C, key: &str) -> Result<Site, StoreError> {
    let id = resolve(c, key)?;
    by_id(c, id)
}

pub fn list<C: Sql>(c: &mut C, filter: &SiteFilter) -> Result<Vec<Site>, StoreError> {
    let ids = match &filter.org {
        Some(org) => {
            let org = orgs::row_by_name(c, org)?;
            Some(c.site_ids_of_org(org.id)?)
        }
        None => None,
    };
    let mut sites = load(c, ids.as_deref())?;
    sites.retain(|site| {
        filter.status.is_none_or(|s| site.status == s) && filter.kind.is_none_or(|k| site.kind == k)
    });
    Ok(sites)
}

pub fn exceptions<C: Sql>(c: &mut C) -> Result<Vec<ExceptionRecord>, StoreError> {
    Ok(c.exception_rows(None, None)?
        .into_iter()
        .map(exception_record)
        .collect())
}

fn exception_record(row: super::rows::ExceptionRow) -> ExceptionRecord {
    ExceptionRecord {
        id: row.id,
        kind: row.kind,
        subject: row.subject,
        reason: row.reason,
        actor: row.actor,
        until: from_db(row.valid_until),
        created_at: from_db(row.created_at),
    }
}

/// One exception, by id.
fn exception<C: Sql>(c: &mut C, id: i64) -> Result<ExceptionRecord, StoreError> {
    c.exception_row(id)?
        .map(exception_record)
        .ok_or_else(|| StoreError::NotFound {
            what: "exception",
            key: id.to_string(),
        })
}

/// Checks that each host name is under an allowed suffix, or covered by an
/// unexpired exception (recording `grant` as one where given), and that no
/// other site holds it.
pub fn check_hosts<C: Sql>(
    c: &mut C,
    hosts: &[Hostname],
    site_id: Option<i64>,
    grant: Option<&ExceptionGrant>,
    policy: &Policy,
    change: &Change,
) -> Result<(), StoreError> {
    for host in hosts {
        if let Some(held) = c.held_domain(host.as_str())?
            && Some(held.site_id) != site_id
        {
            let holder = by_id(c, held.site_id)?;
            return Err(held_elsewhere(host, &held, &holder));
        }
        if suffix_allowed(c, host, policy, change)? {
            continue;
        }
        let Some(grant) = grant else {
            return Err(not_allowed(host, policy));
        };
        add_exception(
            c,
            DOMAIN_NOT_ALLOWED,
            host.as_str(),
            grant,
            site_id,
            policy,
            change,
        )?;
    }
    Ok(())
}

/// A host name held by another site.
pub fn held_elsewhere(host: &Hostname, held: &DomainRow, holder: &Site) -> StoreError {
    StoreError::Conflict(format!(
        "host name {host} is already held ({}) by site {} `{}` ({}); \
         a host name belongs to one site at a time",
        held.state, holder.id, holder.name, holder.status
    ))
}

/// Whether a host name is under an allowed suffix, or covered by an
/// unexpired comply-or-explain exception.
pub fn suffix_allowed<C: Sql>(
    c: &mut C,
    host: &Hostname,
    policy: &Policy,
    change: &Change,
) -> Result<bool, StoreError> {
    if policy.allowed_suffixes.allows(host) {
        return Ok(true);
    }
    let now = change.recorded_at;
    Ok(
        c.exception_rows(Some(DOMAIN_NOT_ALLOWED), Some(host.as_str()))?
            .iter()
            .any(|e| from_db(e.valid_until) > now),
    )
}

/// A host name outside the allowed suffixes, with no exception.
pub fn not_allowed(host: &Hostname, policy: &Policy) -> StoreError {
    StoreError::Invalid(Invalid::new(
        "hostname",
        host.as_str(),
        &format!(
            "is not under an allowed suffix ({}); to register it anyway, record a \
             comply-or-explain exception with --exception REASON --until DATE",
            policy.allowed_suffixes.describe()
        ),
    ))
}

/// Records a comply-or-explain exception, with its audit row. Every
/// exception passes here, however it was given: it must end in the future,
/// and within the policy's `max_exception_days` of now.
pub fn add_exception<C: Sql>(
    c: &mut C,
    kind: &str,
    subject: &str,
    grant: &ExceptionGrant,
    site_id: Option<i64>,
    policy: &Policy,
    change: &Change,
) -> Result<ExceptionRecord, StoreError> {
    if grant.reason.trim().is_empty() {
        return Err(Invalid::new("reason", &grant.reason, "must explain the exception").into());
    }
    times::check_until(
        "until",
        grant.until,
        change.recorded_at,
        policy.thresholds.max_exception_days,
    )?;
    let row = NewExceptionRow {
        kind: kind.to_string(),
        subject: subject.to_string(),
        reason: grant.reason.trim().to_string(),
        actor: change.actor.clone(),
        valid_until: to_db(grant.until),
        created_at: to_db(change.recorded_at),
    };
    let id = c.insert_exception(&row)?;
    let record = ExceptionRecord {
        id,
        kind: row.kind,
        subject: row.subject,
        reason: row.reason,
        actor: row.actor,
        until: grant.until,
        created_at: change.recorded_at,
    };
    audit::write(
        c,
        change,
        Record {
            entity: "exception",
            entity_id: id,
            site_id,
            action: "add",
            before: None,
            after: snapshot(&record),
            reason: Some(&record.reason),
            warnings: &[],
        },
    )?;
    Ok(record)
}

/// Ends exception `id` now (its effective time), with a reason: the rule
/// it waived applies again from the next check. Never deleted: the row
/// keeps when it was meant to end in the audit trail.
pub fn end_exception<C: Sql>(
    c: &mut C,
    id: i64,
    reason: &str,
    change: &Change,
) -> Result<ExceptionRecord, StoreError> {
    if reason.trim().is_empty() {
        return Err(Invalid::new("reason", reason, "must say why the exception ends early").into());
    }
    let before = exception(c, id)?;
    if before.until <= change.effective_at {
        return Err(Invalid::new(
            "exception",
            &id.to_string(),
            &format!(
                "already ended at {} (China Standard Time)",
                crate::clock::show(before.until)
            ),
        )
        .into());
    }
    c.end_exception(id, to_db(change.effective_at))?;
    let after = exception(c, id)?;
    audit::write(
        c,
        change,
        Record {
            entity: "exception",
            entity_id: id,
            site_id: None,
            action: "end",
            before: snapshot(&before),
            after: snapshot(&after),
            reason: Some(reason.trim()),
            warnings: &[],
        },
    )?;
    Ok(after)
}

/// The lifecycle actions an audit row of a site may record.
const LIFECYCLE: [&str; 9] = [
    "request", "approve", "reject", "go-live", "suspend", "resume", "retire", "offline", "close",
];

/// Re-dates or voids a wrongly recorded lifecycle event of a site (its
/// audit row `event`), as a new audited event naming it; nothing is
/// deleted. The new time passes the same checks as `--at`.
pub fn correct<C: Sql>(
    c: &mut C,
    key: &str,
    event: i64,
    correction: crate::registry::correct::Correction,
    reason: &str,
    policy: &Policy,
    change: &Change,
) -> Result<Site, StoreError> {
    use crate::registry::correct::{self, Correction, Event};
    if reason.trim().is_empty() {
        return Err(Invalid::new("reason", reason, "must say what was wrong").into());
    }
    let before = by_key(c, key)?;
    let not_its = || {
        StoreError::from(Invalid::new(
            "event",
            &event.to_string(),
            &format!(
                "is not a lifecycle event of site {} (see `siteward audit --site {}`)",
                before.id, before.id
            ),
        ))
    };
    let row = c.audit_row(event)?.ok_or_else(not_its)?;
    if row.entity != "site"
        || row.entity_id != before.id
        || !LIFECYCLE.contains(&row.action.as_str())
    {
        return Err(not_its());
    }
    let earlier: serde_json::Value = row
        .before_json
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let status_before = earlier["status"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SiteStatus::Requested);
    let changed_before = earlier["status_changed_at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| from_db(row.effective_at));
    let later = c.audit_rows(&super::sql::AuditQuery {
        site_ids: vec![before.id],
        entity: Some(("site".into(), before.id)),
        limit: None,
    })?;
    let latest = !later
        .iter()
        .any(|r| r.id > event && LIFECYCLE.contains(&r.action.as_str()));
    let recorded = Event {
        action: row.action.clone(),
        at: from_db(row.effective_at),
        status_before,
        changed_before,
        latest,
    };
    if let Correction::Redate(at) = correction {
        crate::registry::times::check_effective("--at", at, change.recorded_at)?;
    }
    let after = correct::correct(&before, &recorded, correction, policy.lifecycle)?;
    let what = match correction {
        Correction::Redate(at) => format!(
            "re-dates audit row {event} ({} at {} → {}, China Standard Time)",
            row.action,
            crate::clock::show(recorded.at),
            crate::clock::show(at)
        ),
        Correction::Void => format!("voids audit row {event} ({})", row.action),
    };
    let action = match correction {
        Correction::Redate(_) => "correct",
        Correction::Void => "void",
    };
    save_audited(
        c,
        Some(&before),
        &after,
        (action, Some(&format!("{what}: {}", reason.trim())), &[]),
        change,
    )
}

/// Checks that a code is free (no other site that is not closed has it)
/// and returns its advisory warnings for the organizer.
pub fn check_code<C: Sql>(
    c: &mut C,
    code: &SiteCode,
    site_id: Option<i64>,
    org: &str,
    policy: &Policy,
) -> Result<Vec<Warning>, StoreError> {
    let ids = c.site_ids_with_code(code.as_str())?;
    let others: Vec<i64> = ids.into_iter().filter(|id| Some(*id) != site_id).collect();
    for row in c.site_rows(Some(&others))? {
        if row.status != SiteStatus::Closed.as_str() {
            return Err(code_taken(code, row.id, &row.name, &row.status));
        }
    }
    let org = orgs::row_by_name(c, org)?;
    let division = org.division.parse().ok();
    Ok(code.advisories(&policy.divisions, division.as_ref()))
}

/// A code already used by another site that is not closed.
pub fn code_taken(code: &SiteCode, id: i64, name: &str, status: &str) -> StoreError {
    StoreError::Conflict(format!(
        "identifier code {code} is already used by site {id} `{name}` ({status}); a code is \
         unique among sites that are not closed"
    ))
}

fn filing_warnings(icp: Option<&str>, psb: Option<&str>) -> Vec<Warning> {
    icp.and_then(check_icp)
        .into_iter()
        .chain(psb.and_then(check_psb))
        .collect()
}

/// Persists `after` (a new site when `before` is `None`) and its domains;
/// returns the site as stored.
pub fn save<C: Sql>(
    c: &mut C,
    before: Option<&Site>,
    after: &Site,
    change: &Change,
) -> Result<Site, StoreError> {
    let org_id = orgs::row_by_name(c, &after.org)?.id;
    let site_id = match before {
        None => c.insert_site(&new_site_row(after, org_id, change.recorded_at))?,
        Some(before) => {
            let mut row = c.site_row(before.id)?.ok_or_else(|| StoreError::NotFound {
                what: "site",
                key: before.id.to_string(),
            })?;
            site_into_row(after, org_id, &mut row);
            c.update_site(&row)?;
            before.id
        }
    };
    let mut rows: HashMap<i64, _> = c
        .domain_rows(Some(&[site_id]))?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    for domain in &after.domains {
        match rows.get_mut(&domain.id) {
            Some(row) if domain.id != 0 => {
                let unchanged = before
                    .and_then(|b| b.domains.iter().find(|d| d.id == domain.id))
                    .is_some_and(|d| d == domain);
                if !unchanged {
                    let was_held = is_held(row);
                    domain_into_row(domain, row);
                    if !was_held && is_held(row) {
                        // Released rows stay released: holding a name again
                        // is a new row, so history is kept.
                        return Err(StoreError::Conflict(format!(
                            "host name {} was released; add it again instead",
                            domain.hostname
                        )));
                    }
                    c.update_domain(row)?;
                }
            }
            _ => c.insert_domain(&new_domain_row(site_id, domain, change.effective_at))?,
        }
    }
    by_id(c, site_id)
}

/// Persists a site change with its audit row (`action`, reference or
/// reason, warnings): the one way a site is written.
pub fn save_audited<C: Sql>(
    c: &mut C,
    before: Option<&Site>,
    after: &Site,
    (action, reason, warnings): (&str, Option<&str>, &[Warning]),
    change: &Change,
) -> Result<Site, StoreError> {
    let saved = save(c, before, after, change)?;
    audit::write(
        c,
        change,
        Record {
            entity: "site",
            entity_id: saved.id,
            site_id: Some(saved.id),
            action,
            before: before.and_then(snapshot),
            after: snapshot(&saved),
            reason,
            warnings,
        },
    )?;
    Ok(saved)
}

/// Persists new sites with their audit rows, as [`save_audited`] does one
/// by one, in a few statements: the sites and their domains by multi-row
/// inserts, each audit row's state made from the rows the inserts return
/// (what `verify` will read), the audit rows chained in memory under the
/// chain's lock. `orgs` gives each organizer's id by name.
pub fn create_audited<C: Sql>(
    c: &mut C,
    sites: &[(&Site, &[Warning])],
    orgs: &HashMap<String, i64>,
    action: &str,
    change: &Change,
) -> Result<(), StoreError> {
    let mut new_rows = Vec::with_capacity(sites.len());
    let mut names = super::convert::OrgNames::new();
    for (site, _) in sites {
        let org_id = *orgs.get(&site.org).ok_or_else(|| StoreError::NotFound {
            what: "organization",
            key: site.org.clone(),
        })?;
        names.insert(org_id, site.org.clone());
        new_rows.push(new_site_row(site, org_id, change.recorded_at));
    }
    let rows = c.insert_sites(&new_rows)?;
    if rows.len() != sites.len() || rows.iter().zip(&new_rows).any(|(r, n)| r.name != n.name) {
        return Err(StoreError::Corrupt {
            what: "the sites inserted did not come back in order".into(),
        });
    }
    let new_domains: Vec<_> = rows
        .iter()
        .zip(sites)
        .flat_map(|(row, (site, _))| {
            site.domains
                .iter()
                .map(|d| new_domain_row(row.id, d, change.effective_at))
        })
        .collect();
    let mut domains: HashMap<i64, Vec<DomainRow>> = HashMap::new();
    for domain in c.insert_domains(&new_domains)? {
        domains.entry(domain.site_id).or_default().push(domain);
    }
    let mut saved = Vec::with_capacity(rows.len());
    let mut states = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut held = domains.remove(&row.id).unwrap_or_default();
        held.sort_by_key(|d| d.id);
        let site = site_from_row(
            row,
            &names,
            held.iter().map(domain_from_row).collect::<Result<_, _>>()?,
        )?;
        states.push(audit::site_state(row, held.iter().collect()));
        saved.push(site);
    }
    let records = saved
        .iter()
        .zip(sites)
        .zip(states)
        .map(|((site, (_, warnings)), state)| {
            (
                Record {
                    entity: "site",
                    entity_id: site.id,
                    site_id: Some(site.id),
                    action,
                    before: None,
                    after: snapshot(site),
                    reason: None,
                    warnings,
                },
                Some(state),
            )
        })
        .collect();
    audit::write_all(c, change, records)
}

pub fn request<C: Sql>(
    c: &mut C,
    request: &SiteRequest,
    policy: &Policy,
    change: &Change,
) -> Result<Outcome<Site>, StoreError> {
    if request.name.trim().is_empty() {
        return Err(Invalid::new("name", &request.name, "must not be empty").into());
    }
    let Some(primary) = request.domains.first() else {
        return Err(Invalid::new(
            "domain",
            "",
            "a site needs at least one host name (--domain)",
        )
        .into());
    };
    let mut hosts: Vec<Hostname> = Vec::new();
    for host in &request.domains {
        if hosts.contains(host) {
            return Err(Invalid::new("domain", host.as_str(), "is given twice").into());
        }
        hosts.push(host.clone());
    }
    let org = orgs::row_by_name(c, &request.org)?;
    check_hosts(c, &hosts, None, request.exception.as_ref(), policy, change)?;
    let mut warnings = Vec::new();
    if let Some(code) = &request.code {
        warnings.extend(check_code(c, code, None, &org.name, policy)?);
    }
    warnings.extend(filing_warnings(
        request.icp_filing.as_deref(),
        request.psb_filing.as_deref(),
    ));
    let site = Site {
        id: 0,
        code: request.code.clone(),
        name: request.name.trim().to_string(),
        kind: request.kind,
        org: org.name.clone(),
        status: SiteStatus::Requested,
        domains: hosts
            .iter()
            .map(|host| Domain {
                id: 0,
                hostname: host.clone(),
                role: if host == primary {
                    DomainRole::Primary
                } else {
                    DomainRole::Alias
                },
                state: DomainState::Active,
                release_deadline: None,
                released_at: None,
            })
            .collect(),
        icp_filing: request.icp_filing.clone(),
        psb_filing: request.psb_filing.clone(),
        approval_ref: None,
        retirement_ref: None,
        successor_url: None,
        status_reason: None,
        times: SiteTimes {
            requested_at: Some(change.effective_at),
            ..SiteTimes::default()
        },
        status_changed_at: change.effective_at,
    };
    let saved = save_audited(c, None, &site, ("request", None, &warnings), change)?;
    Ok(Outcome {
        value: saved,
        warnings,
    })
}

pub fn transition<C: Sql>(
    c: &mut C,
    key: &str,
    action: &SiteAction,
    policy: &Policy,
    change: &Change,
) -> Result<Outcome<Site>, StoreError> {
    let before = by_key(c, key)?;
    let after = lifecycle::apply_site(&before, action, change.effective_at, policy.lifecycle)?;
    let mut warnings = Vec::new();
    if let (SiteAction::GoLive { code: Some(_) }, Some(code)) = (action, &after.code) {
        warnings.extend(check_code(c, code, Some(before.id), &after.org, policy)?);
    }
    let saved = save_audited(
        c,
        Some(&before),
        &after,
        (action.name(), action.reason(), &warnings),
        change,
    )?;
    Ok(Outcome {
        value: saved,
        warnings,
    })
}

pub fn edit<C: Sql>(
    c: &mut C,
    key: &str,
    edit: &SiteEdit,
    grant: Option<&ExceptionGrant>,
    policy: &Policy,
    change: &Change,
) -> Result<Outcome<Site>, StoreError> {
    if edit.is_empty() {
        return Err(Invalid::new("edit", "", "names no change").into());
    }
    let before = by_key(c, key)?;
    let new_hosts: Vec<Hostname> = edit
        .add_aliases
        .iter()
        .chain(edit.primary.iter())
        .filter(|h| {
            !before
                .domains
                .iter()
                .any(|d| &d.hostname == *h && d.state != DomainState::Released)
        })
        .cloned()
        .collect();
    if let Some(org) = &edit.org {
        orgs::row_by_name(c, org)?;
    }
    let after = lifecycle::edit_site(&before, edit, change.effective_at)?;
    let reason = edit
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_none() && lifecycle::needs_reason(&before, &after) {
        return Err(Invalid::new(
            "reason",
            "",
            "is required to change a live site's identifier code, organizer or primary host name: give --reason, or --ref with the document that decided it",
        )
        .into());
    }
    check_hosts(c, &new_hosts, Some(before.id), grant, policy, change)?;
    let mut warnings = Vec::new();
    if let Some(code) = &edit.code {
        warnings.extend(check_code(c, code, Some(before.id), &after.org, policy)?);
    }
    warnings.extend(filing_warnings(
        edit.icp_filing.as_deref(),
        edit.psb_filing.as_deref(),
    ));
    if after == before {
        return Ok(Outcome {
            value: before,
            warnings,
        });
    }
    let saved = save_audited(
        c,
        Some(&before),
        &after,
        ("edit", reason, &warnings),
        change,
    )?;
    Ok(Outcome {
        value: saved,
        warnings,
    })
}
