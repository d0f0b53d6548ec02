//! Imports of organizations, sites and accounts: all or nothing. Every row
//! is checked, against the file and against the registry, and every bad row
//! is reported with its line; if there is any, the transaction is rolled
//! back. Re-importing a file changes nothing: sites match by identifier
//! code or primary host name, accounts by platform and account id,
//! organizations by name; only real changes are written and audited.
//! A sites file is judged whole before anything is written (see
//! `apply_sites`). Imports are serialised (`Sql::serialise_imports`).

use std::collections::HashMap;

use chrono::Duration;
use serde::Serialize;

use super::convert::is_held;
use super::rows::{DomainRow, OrgRow};
use super::sites;
use super::sql::Sql;
use super::{Change, StoreError, accounts, orgs};
use crate::policy::Policy;
use crate::registry::lifecycle::{self, SiteEdit};
use crate::registry::times;
use crate::registry::{
    AccountStatus, Domain, DomainRole, DomainState, Hostname, Site, SiteStatus, SiteTimes, Warning,
    check_icp, check_psb,
};
use crate::transfer::{AccountRecord, Line, OrgRecord, Parsed, SiteRecord};
pub use crate::transfer::{Records, RowError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Orgs,
    Sites,
    Accounts,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Organizations created for organizers the registry lacked.
    pub orgs_created: usize,
    /// Advisory warnings, with their lines.
    pub warnings: Vec<(u64, Warning)>,
}

/// The outcome of one row.
enum Applied {
    Created,
    Updated,
    Unchanged,
}

pub fn apply<C: Sql>(
    c: &mut C,
    records: &Records,
    policy: &Policy,
    change: &Change,
) -> Result<ImportSummary, StoreError> {
    // Before the first read: a concurrent import of the same file waits
    // here, then finds this one's rows (and reports them unchanged).
    c.serialise_imports()?;
    let mut summary = ImportSummary::default();
    let mut errors: Vec<RowError> = Vec::new();
    match records {
        Records::Orgs(rows) => apply_orgs(c, rows, policy, change, &mut summary, &mut errors)?,
        Records::Sites(rows) => apply_sites(c, rows, policy, change, &mut summary, &mut errors)?,
        Records::Accounts(rows) => {
            let mut seen: HashMap<(String, String), u64> = HashMap::new();
            let mut org_cache = HashMap::new();
            for parsed in rows {
                summary.rows += 1;
                match parsed {
                    Err(e) => errors.push(e.clone()),
                    Ok(line) => {
                        let key = (
                            line.record.platform.as_str().to_string(),
                            line.record.account_id.clone(),
                        );
                        if let Some(first) = seen.insert(key, line.line) {
                            errors.push(RowError {
                                line: line.line,
                                message: format!(
                                    "{}:{} is also on line {first}",
                                    line.record.platform, line.record.account_id
                                ),
                                ..Default::default()
                            });
                            continue;
                        }
                        let result =
                            apply_account(c, &line.record, change, &mut org_cache, &mut summary);
                        tally(result, line.line, &mut summary, &mut errors)?;
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(StoreError::Import(errors))
    }
}

/// Counts a row's outcome; a user error becomes a row error, anything
/// else aborts the import.
fn tally(
    result: Result<Applied, StoreError>,
    line: u64,
    summary: &mut ImportSummary,
    errors: &mut Vec<RowError>,
) -> Result<(), StoreError> {
    match result {
        Ok(Applied::Created) => summary.created += 1,
        Ok(Applied::Updated) => summary.updated += 1,
        Ok(Applied::Unchanged) => summary.unchanged += 1,
        Err(StoreError::Invalid(e)) => errors.push(RowError::invalid(line, &e)),
        Err(e) if e.is_user_error() => errors.push(RowError {
            line,
            message: e.to_string(),
            ..Default::default()
        }),
        Err(e) => return Err(e),
    }
    Ok(())
}

fn apply_orgs<C: Sql>(
    c: &mut C,
    rows: &[crate::transfer::Parsed<OrgRecord>],
    policy: &Policy,
    change: &Change,
    summary: &mut ImportSummary,
    errors: &mut Vec<RowError>,
) -> Result<(), StoreError> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut cache = HashMap::new();
    let mut parents = Vec::new();
    let mut unchanged_lines = Vec::new();
    let mut names: Vec<(u64, String)> = Vec::new();
    for parsed in rows {
        summary.rows += 1;
        let line = match parsed {
            Err(e) => {
                errors.push(e.clone());
                continue;
            }
            Ok(line) => line,
        };
        let record = &line.record;
        if let Some(first) = seen.insert(record.name.clone(), line.line) {
            errors.push(RowError {
                line: line.line,
                message: format!("organization `{}` is also on line {first}", record.name),
                ..Default::default()
            });
            continue;
        }
        names.push((line.line, record.name.trim().to_string()));
        let org = orgs::NewOrganization {
            name: record.name.clone(),
            division: record.division.clone(),
            level: record.level,
            parent: None,
            emails: record.emails.clone(),
            webhooks: record.webhooks.clone(),
        };
        let existed = c.org_row_by_name(record.name.trim())?.is_some();
        let result = orgs::validate(&org, policy)
            .map_err(StoreError::from)
            .and_then(|warnings| {
                summary
                    .warnings
                    .extend(warnings.into_iter().map(|w| (line.line, w)));
                orgs::upsert(c, &org, &mut cache, change)
            })
            .map(|changed| match (existed, changed) {
                (false, _) => Applied::Created,
                (true, true) => Applied::Updated,
                (true, false) => Applied::Unchanged,
            });
        if matches!(result, Ok(Applied::Unchanged)) {
            unchanged_lines.push(line.line);
        }
        tally(result, line.line, summary, errors)?;
        if let Some(parent) = &record.parent {
            parents.push((line.line, record.name.clone(), parent.clone()));
        }
    }
    // Parents second: a file may name a parent further down.
    for (line, name, parent) in &parents {
        let (line, name, parent) = (*line, name.as_str(), parent.as_str());
        if errors.iter().any(|e| e.line == line) {
            continue;
        }
        match orgs::set_parent(c, name, parent, change) {
            Ok(true) => {
                if let Some(index) = unchanged_lines.iter().position(|l| *l == line) {
                    unchanged_lines.swap_remove(index);
                    summary.unchanged -= 1;
                    summary.updated += 1;
                }
            }
            Ok(false) => {}
            Err(e) if e.is_user_error() => errors.push(RowError {
                line,
                message: format!("parent: {e}"),
                ..Default::default()
            }),
            Err(e) => return Err(e),
        }
    }
    // Last, each organization of the file as it now stands against its
    // parent: its level, its division, its parent's.
    for (line, name) in &names {
        if errors.iter().any(|e| e.line == *line) {
            continue;
        }
        match orgs::check_place(c, name) {
            Ok(()) => {}
            Err(e) if e.is_user_error() => errors.push(RowError {
                line: *line,
                message: e.to_string(),
                ..Default::default()
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Host names and codes already claimed by earlier rows of the file, and
/// the registry's sites an earlier row changes.
#[derive(Default)]
struct SiteContext {
    codes: HashMap<String, u64>,
    hosts: HashMap<Hostname, u64>,
    updated: HashMap<i64, u64>,
}

/// Finds the organizer of a row, creating it when the row gives a
/// division and the registry lacks it.
fn organizer<C: Sql>(
    c: &mut C,
    name: &str,
    division: Option<&crate::registry::DivisionCode>,
    cache: &mut HashMap<String, i64>,
    summary: &mut ImportSummary,
    change: &Change,
) -> Result<(), StoreError> {
    let name = name.trim();
    if cache.contains_key(name) {
        return Ok(());
    }
    let known = c.org_row_by_name(name)?;
    match known_organizer(known.as_ref(), name, division)? {
        Organizer::Known(row) => {
            cache.insert(name.to_string(), row.id);
        }
        Organizer::New(org) => {
            orgs::upsert(c, &org, cache, change)?;
            summary.orgs_created += 1;
        }
    }
    Ok(())
}

/// A row's organizer: the registry's, or one to create.
enum Organizer<'a> {
    Known(&'a OrgRow),
    New(orgs::NewOrganization),
}

/// Judges a row's organizer against the registry's row of that name: its
/// division must agree with the row's; a missing one is created only
/// when the row gives a division.
fn known_organizer<'a>(
    row: Option<&'a OrgRow>,
    name: &str,
    division: Option<&crate::registry::DivisionCode>,
) -> Result<Organizer<'a>, StoreError> {
    match row {
        Some(row) => {
            if let Some(division) = division
                && row.division != division.as_str()
            {
                return Err(StoreError::Conflict(format!(
                    "organizer `{name}` has division {} in the registry, the row says {division}",
                    row.division
                )));
            }
            Ok(Organizer::Known(row))
        }
        None => {
            let Some(division) = division else {
                return Err(StoreError::NotFound {
                    what: "organization (add it first, or give the row a division code to create it)",
                    key: name.to_string(),
                });
            };
            Ok(Organizer::New(orgs::NewOrganization {
                name: name.to_string(),
                division: division.clone(),
                level: division.implied_level(),
                parent: None,
                emails: Vec::new(),
                webhooks: Vec::new(),
            }))
        }
    }
}

/// What the registry holds of a sites file's codes, host names and
/// organizers, read before any row is judged in a few statements (`IN`
/// lists of [`super::sql::CHUNK`]), so that judging a row costs no round
/// trip to the database: on PostgreSQL each one is a network round trip,
/// and a 50,000-row file made a million of them.
struct Known {
    orgs: HashMap<String, OrgRow>,
    /// Each code's sites, closed or not, by id.
    codes: HashMap<String, Vec<i64>>,
    /// Each host name's domain rows, held or released, by id.
    hosts: HashMap<String, Vec<DomainRow>>,
    sites: HashMap<i64, Site>,
}

impl Known {
    fn read<C: Sql>(c: &mut C, rows: &[Parsed<SiteRecord>]) -> Result<Known, StoreError> {
        let records = || {
            rows.iter()
                .filter_map(|p| p.as_ref().ok())
                .map(|l| &l.record)
        };
        let mut codes: Vec<String> = records()
            .filter_map(|r| r.code.as_ref())
            .map(|code| code.as_str().to_string())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let mut hostnames: Vec<String> = records()
            .flat_map(|r| std::iter::once(&r.primary).chain(&r.aliases))
            .map(|h| h.as_str().to_string())
            .collect();
        hostnames.sort_unstable();
        hostnames.dedup();
        let mut ids = Vec::new();
        let mut by_code: HashMap<String, Vec<i64>> = HashMap::new();
        for (id, code) in c.site_codes(&codes)? {
            ids.push(id);
            if let Some(code) = code {
                by_code.entry(code).or_default().push(id);
            }
        }
        let mut by_host: HashMap<String, Vec<DomainRow>> = HashMap::new();
        for row in c.domain_rows_with_hostnames(&hostnames)? {
            ids.push(row.site_id);
            by_host.entry(row.hostname.clone()).or_default().push(row);
        }
        ids.sort_unstable();
        ids.dedup();
        let sites = sites::load(c, Some(&ids))?
            .into_iter()
            .map(|site| (site.id, site))
            .collect();
        let orgs = c
            .org_rows()?
            .into_iter()
            .map(|row| (row.name.clone(), row))
            .collect();
        Ok(Known {
            orgs,
            codes: by_code,
            hosts: by_host,
            sites,
        })
    }

    fn site(&self, id: i64) -> Result<&Site, StoreError> {
        self.sites.get(&id).ok_or_else(|| StoreError::NotFound {
            what: "site",
            key: id.to_string(),
        })
    }

    /// The sites with `code`, closed or not, by id.
    fn with_code(&self, code: &str) -> &[i64] {
        self.codes.get(code).map(Vec::as_slice).unwrap_or_default()
    }

    /// The sites that hold or held `host`, by id.
    fn with_hostname(&self, host: &Hostname) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .hosts
            .get(host.as_str())
            .into_iter()
            .flatten()
            .map(|d| d.site_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The domain row holding `host`, if a site holds it.
    fn held(&self, host: &Hostname) -> Option<&DomainRow> {
        self.hosts
            .get(host.as_str())
            .into_iter()
            .flatten()
            .find(|d| is_held(d))
    }
}

/// What the import will do with one row.
enum Plan<'a> {
    /// The row's site is made when its chunk is written: holding every
    /// new site of a large file at once would double the import's memory.
    Create(&'a SiteRecord),
    Update(Box<(Site, Site)>),
    Unchanged,
}

/// A sites file in three steps: what the registry holds of the file is
/// read at once; every row is judged against it and against the rows
/// before it, writing nothing (a refused file costs reads only, and an
/// unchanged one no write at all); then the organizers to create, the new
/// sites (multi-row inserts, their audit rows chained in memory) and the
/// changed ones are written.
fn apply_sites<C: Sql>(
    c: &mut C,
    rows: &[Parsed<SiteRecord>],
    policy: &Policy,
    change: &Change,
    summary: &mut ImportSummary,
    errors: &mut Vec<RowError>,
) -> Result<(), StoreError> {
    let known = Known::read(c, rows)?;
    let mut context = SiteContext::default();
    // Each organizer the file names, by name: its division, and whether
    // the import creates it (in order of first appearance).
    let mut divisions: HashMap<String, String> = HashMap::new();
    let mut new_orgs: Vec<orgs::NewOrganization> = Vec::new();
    let mut plans: Vec<(u64, Plan<'_>, Vec<Warning>)> = Vec::new();
    for parsed in rows {
        summary.rows += 1;
        let line = match parsed {
            Err(e) => {
                errors.push(e.clone());
                continue;
            }
            Ok(line) => line,
        };
        let mut organizers = Organizers {
            known: &known,
            divisions: &mut divisions,
            new: &mut new_orgs,
        };
        match judge_site(
            c,
            line,
            policy,
            change,
            &mut context,
            &known,
            &mut organizers,
        ) {
            Ok((plan, warnings)) => {
                if let Plan::Update(update) = &plan {
                    context.updated.insert(update.0.id, line.line);
                }
                plans.push((line.line, plan, warnings));
            }
            Err(StoreError::Invalid(e)) => errors.push(RowError::invalid(line.line, &e)),
            Err(e) if e.is_user_error() => errors.push(RowError::new(line.line, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    // A file with a bad row changes nothing: nothing is written.
    if !errors.is_empty() {
        return Ok(());
    }
    let mut org_ids: HashMap<String, i64> = known
        .orgs
        .iter()
        .map(|(name, row)| (name.clone(), row.id))
        .collect();
    orgs::create_audited(c, &new_orgs, &mut org_ids, change)?;
    summary.orgs_created += new_orgs.len();
    let creates: Vec<(&SiteRecord, &[Warning])> = plans
        .iter()
        .filter_map(|(_, plan, warnings)| match plan {
            Plan::Create(record) => Some((*record, warnings.as_slice())),
            _ => None,
        })
        .collect();
    // A chunk at a time: the sites, the rows returned and the audit rows
    // made of them are held for one chunk only.
    for chunk in creates.chunks(super::sql::INSERT_BATCH) {
        let made: Vec<Site> = chunk
            .iter()
            .map(|(record, _)| new_site(record, policy, change))
            .collect();
        let chunk: Vec<(&Site, &[Warning])> = made
            .iter()
            .zip(chunk)
            .map(|(site, (_, warnings))| (site, *warnings))
            .collect();
        sites::create_audited(c, &chunk, &org_ids, "import", change)?;
    }
    for (line, plan, warnings) in &plans {
        match plan {
            Plan::Create(_) => summary.created += 1,
            Plan::Unchanged => summary.unchanged += 1,
            Plan::Update(update) => {
                let (before, after) = update.as_ref();
                let saved =
                    sites::save_audited(c, Some(before), after, ("import", None, warnings), change);
                tally(saved.map(|_| Applied::Updated), *line, summary, errors)?;
            }
        }
    }
    for (line, _, warnings) in plans {
        summary
            .warnings
            .extend(warnings.into_iter().map(|w| (line, w)));
    }
    Ok(())
}

/// The organizers of a sites file as its rows are judged.
struct Organizers<'a> {
    known: &'a Known,
    divisions: &'a mut HashMap<String, String>,
    new: &'a mut Vec<orgs::NewOrganization>,
}

impl Organizers<'_> {
    /// A row's organizer's division; the first row naming an organizer
    /// decides whether it exists or is created.
    fn division(
        &mut self,
        name: &str,
        division: Option<&crate::registry::DivisionCode>,
    ) -> Result<String, StoreError> {
        let name = name.trim();
        if let Some(known) = self.divisions.get(name) {
            return Ok(known.clone());
        }
        let division = match known_organizer(self.known.orgs.get(name), name, division)? {
            Organizer::Known(row) => row.division.clone(),
            Organizer::New(org) => {
                let division = org.division.as_str().to_string();
                self.new.push(org);
                division
            }
        };
        self.divisions.insert(name.to_string(), division.clone());
        Ok(division)
    }
}

/// Judges one row against the registry as read and the rows before it;
/// writes nothing. The checks and their order are those of `site
/// request` and `site edit`.
fn judge_site<'a, C: Sql>(
    c: &mut C,
    line: &'a Line<SiteRecord>,
    policy: &Policy,
    change: &Change,
    context: &mut SiteContext,
    known: &Known,
    organizers: &mut Organizers<'_>,
) -> Result<(Plan<'a>, Vec<Warning>), StoreError> {
    let record = &line.record;
    // Within the file: a code or host name held by two rows is an error.
    // Closed sites hold no code, closed and rejected ones no host name.
    if let Some(code) = &record.code
        && record.status != SiteStatus::Closed
        && let Some(first) = context.codes.insert(code.as_str().to_string(), line.line)
    {
        return Err(StoreError::Conflict(format!(
            "identifier code {code} is also on line {first}"
        )));
    }
    let hosts: Vec<Hostname> = std::iter::once(record.primary.clone())
        .chain(record.aliases.iter().cloned())
        .collect();
    let holds_hosts = !matches!(record.status, SiteStatus::Closed | SiteStatus::Rejected);
    for host in hosts.iter().filter(|_| holds_hosts) {
        if let Some(first) = context.hosts.insert(host.clone(), line.line) {
            return Err(StoreError::Conflict(format!(
                "host name {host} is also on line {first}"
            )));
        }
    }
    let division = organizers.division(&record.org, record.division.as_ref())?;

    // Match the registry. A closed or rejected row matches that past site
    // first; otherwise the open site with its code, else its primary host.
    let existing = match past_site(known, record)? {
        Some(site) => Some(site),
        None => open_site(known, record)?,
    };
    if let Some(site) = existing
        && let Some(first) = context.updated.get(&site.id)
    {
        return Err(StoreError::Conflict(format!(
            "site {} is also changed by line {first}; give each site one row",
            site.id
        )));
    }

    let mut warnings: Vec<Warning> = Vec::new();
    warnings.extend(record.icp_filing.as_deref().and_then(check_icp));
    warnings.extend(record.psb_filing.as_deref().and_then(check_psb));
    let site_id = existing.map(|s| s.id);
    // A closed or rejected site's host names are history: they claim
    // nothing, so neither the suffix policy nor uniqueness applies.
    for host in hosts.iter().filter(|_| holds_hosts) {
        // Already held by this site: nothing to check.
        if existing.is_some_and(|s| held(s, host)) {
            continue;
        }
        if let Some(row) = known.held(host)
            && Some(row.site_id) != site_id
        {
            return Err(sites::held_elsewhere(host, row, known.site(row.site_id)?));
        }
        if !sites::suffix_allowed(c, host, policy, change)? {
            return Err(sites::not_allowed(host, policy));
        }
    }
    if let Some(code) = &record.code
        && record.status != SiteStatus::Closed
    {
        for id in known.with_code(code.as_str()) {
            let other = known.site(*id)?;
            if Some(*id) != site_id && other.status != SiteStatus::Closed {
                return Err(sites::code_taken(
                    code,
                    other.id,
                    &other.name,
                    other.status.as_str(),
                ));
            }
        }
        let division = division.parse().ok();
        warnings.extend(code.advisories(&policy.divisions, division.as_ref()));
    }
    let plan = match existing {
        None => Plan::Create(record),
        Some(before) => {
            if before.status != record.status {
                return Err(StoreError::Conflict(format!(
                    "site {} is {} in the registry, the file says {}: status changes go through \
                     the lifecycle commands (siteward site {})",
                    before.id,
                    before.status,
                    record.status,
                    lifecycle::allowed_site_actions(before.status).join("|")
                )));
            }
            if let (Some(current), Some(given)) = (&before.code, &record.code)
                && current != given
            {
                return Err(StoreError::Conflict(format!(
                    "site {} has identifier code {current}, the file says {given}",
                    before.id
                )));
            }
            let edit = SiteEdit {
                name: Some(record.name.clone()).filter(|n| n != &before.name),
                kind: Some(record.kind).filter(|k| *k != before.kind),
                org: Some(record.org.trim().to_string()).filter(|o| o != &before.org),
                code: record.code.clone().filter(|_| before.code.is_none()),
                icp_filing: record
                    .icp_filing
                    .clone()
                    .filter(|v| Some(v) != before.icp_filing.as_ref()),
                psb_filing: record
                    .psb_filing
                    .clone()
                    .filter(|v| Some(v) != before.psb_filing.as_ref()),
                successor_url: record
                    .successor_url
                    .clone()
                    .filter(|v| Some(v) != before.successor_url.as_ref()),
                approval_ref: record
                    .approval_ref
                    .clone()
                    .filter(|v| Some(v) != before.approval_ref.as_ref()),
                add_aliases: record
                    .aliases
                    .iter()
                    .filter(|h| !before.has_host(h) || !held(before, h))
                    .cloned()
                    .collect(),
                release: Vec::new(),
                primary: Some(record.primary.clone())
                    .filter(|p| before.primary().map(|d| &d.hostname) != Some(p)),
                reason: None,
            };
            if edit.is_empty() {
                Plan::Unchanged
            } else {
                let after = lifecycle::edit_site(before, &edit, change.effective_at)?;
                if &after == before {
                    Plan::Unchanged
                } else {
                    Plan::Update(Box::new((before.clone(), after)))
                }
            }
        }
    };
    Ok((plan, warnings))
}

/// The site that is not closed and holds the row's code, else the one
/// holding its primary host name; both must agree.
fn open_site<'a>(known: &'a Known, record: &SiteRecord) -> Result<Option<&'a Site>, StoreError> {
    let by_code = match &record.code {
        Some(code) => {
            let mut open = None;
            for id in known.with_code(code.as_str()) {
                if known.site(*id)?.status != SiteStatus::Closed {
                    open = Some(*id);
                }
            }
            open
        }
        None => None,
    };
    let by_host = known.held(&record.primary).map(|d| d.site_id);
    match (by_code, by_host) {
        (Some(a), Some(b)) if a != b => Err(StoreError::Conflict(format!(
            "code {} belongs to site {a} but host name {} to site {b}",
            record.code.as_ref().map(|c| c.as_str()).unwrap_or_default(),
            record.primary
        ))),
        (Some(id), _) | (None, Some(id)) => Ok(Some(known.site(id)?)),
        (None, None) => Ok(None),
    }
}

/// A row for a closed or rejected site matches that site (whose code and
/// host names are free by now), so that re-importing it changes nothing.
fn past_site<'a>(known: &'a Known, record: &SiteRecord) -> Result<Option<&'a Site>, StoreError> {
    if !matches!(record.status, SiteStatus::Closed | SiteStatus::Rejected) {
        return Ok(None);
    }
    let mut ids = match &record.code {
        Some(code) => known.with_code(code.as_str()).to_vec(),
        None => Vec::new(),
    };
    if ids.is_empty() {
        ids = known.with_hostname(&record.primary);
    }
    for id in ids.into_iter().rev() {
        let site = known.site(id)?;
        if site.status == record.status
            && site.primary().map(|d| &d.hostname) == Some(&record.primary)
        {
            return Ok(Some(site));
        }
    }
    Ok(None)
}

fn held(site: &Site, host: &Hostname) -> bool {
    site.domains
        .iter()
        .any(|d| &d.hostname == host && d.state != DomainState::Released)
}

/// A site as an import row describes it, in the row's status as of the
/// import's effective time.
fn new_site(record: &SiteRecord, policy: &Policy, change: &Change) -> Site {
    let at = change.effective_at;
    let mut times = SiteTimes::default();
    let (domain_state, deadline, released_at) = match record.status {
        SiteStatus::Offline => (
            DomainState::Releasing,
            Some(at + Duration::days(policy.lifecycle.release_grace_days.into())),
            None,
        ),
        SiteStatus::Closed | SiteStatus::Rejected => (DomainState::Released, None, Some(at)),
        _ => (DomainState::Active, None, None),
    };
    match record.status {
        SiteStatus::Requested => times.requested_at = Some(at),
        SiteStatus::Approved => times.approved_at = Some(at),
        SiteStatus::Rejected => times.rejected_at = Some(at),
        SiteStatus::Live => times.live_at = Some(at),
        SiteStatus::Suspended => times.suspended_at = Some(at),
        SiteStatus::Retiring => {
            times.retiring_at = Some(at);
            times.notice_until = Some(at + Duration::days(policy.lifecycle.notice_days.into()));
        }
        SiteStatus::Offline => times.offline_at = Some(at),
        SiteStatus::Closed => times.closed_at = Some(at),
    }
    let domain = |host: &Hostname, role| Domain {
        id: 0,
        hostname: host.clone(),
        role,
        state: domain_state,
        release_deadline: deadline,
        released_at,
    };
    Site {
        id: 0,
        code: record.code.clone(),
        name: record.name.trim().to_string(),
        kind: record.kind,
        org: record.org.trim().to_string(),
        status: record.status,
        domains: std::iter::once(domain(&record.primary, DomainRole::Primary))
            .chain(record.aliases.iter().map(|h| domain(h, DomainRole::Alias)))
            .collect(),
        icp_filing: record.icp_filing.clone(),
        psb_filing: record.psb_filing.clone(),
        approval_ref: record.approval_ref.clone(),
        retirement_ref: None,
        successor_url: record.successor_url.clone(),
        status_reason: None,
        times,
        status_changed_at: at,
    }
}

fn apply_account<C: Sql>(
    c: &mut C,
    record: &AccountRecord,
    change: &Change,
    org_cache: &mut HashMap<String, i64>,
    summary: &mut ImportSummary,
) -> Result<Applied, StoreError> {
    // A time in the file is given by a person, as `--at` is.
    if let Some(at) = record.last_post_at {
        times::check_effective("last_post_at", at, change.recorded_at)?;
    }
    organizer(
        c,
        &record.org,
        record.division.as_ref(),
        org_cache,
        summary,
        change,
    )?;
    let ids =
        c.account_ids_with_handle(Some(record.platform.as_str()), record.account_id.trim())?;
    // The account that is not closed; for a closed row, the latest closed
    // one, so that re-importing it changes nothing.
    let rows = c.account_rows(Some(&ids))?;
    let open = rows
        .iter()
        .find(|r| r.status != AccountStatus::Closed.as_str())
        .map(|r| r.id);
    let latest_closed = rows.iter().map(|r| r.id).max();
    let existing = open.or(latest_closed.filter(|_| record.status == AccountStatus::Closed));
    let new = accounts::NewAccount {
        platform: record.platform,
        account_id: record.account_id.clone(),
        name: record.name.clone(),
        org: record.org.trim().to_string(),
        feed_url: record.feed_url.clone(),
    };
    let Some(id) = existing else {
        accounts::insert(
            c,
            &new,
            record.status,
            record.last_post_at,
            change,
            "import",
        )?;
        return Ok(Applied::Created);
    };
    let before = accounts::by_id(c, id)?;
    if before.status != record.status {
        return Err(StoreError::Conflict(format!(
            "account {} is {} in the registry, the file says {}: use siteward account {}",
            before.id,
            before.status,
            record.status,
            lifecycle::allowed_account_actions(before.status).join("|")
        )));
    }
    let mut after = before.clone();
    after.name = record.name.trim().to_string();
    after.org = record.org.trim().to_string();
    if let Some(feed) = &record.feed_url {
        after.feed_url = Some(accounts::validate_feed_url(feed)?);
    }
    if let Some(at) = record.last_post_at
        && before.last_post_at.is_none_or(|last| last < at)
    {
        after.last_post_at = Some(at);
    }
    if after == before {
        return Ok(Applied::Unchanged);
    }
    accounts::save(c, &before, &after, "import", None, change)?;
    Ok(Applied::Updated)
}
