//! The registry's use cases that are more than one store call: an
//! organization with what it runs, the accounts in a status, the audit
//! trail of an account or an organization, an identifier code checked
//! against the division table, and files in and out (imports all or
//! nothing, exports in every format), and the [`change`] every registry
//! change is made under, its effective time checked once, here; the
//! corrections of an organization and an account (`org edit`, `account
//! edit`). Other changes that are one store call (request a site, a
//! transition, a site edit) are called on the store directly, under that
//! change. Nothing here prints: the command line, and later the API and
//! the web page, render what these return.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::InvalidInput;
use crate::access::Visible;
use crate::policy::Policy;
use crate::registry::{
    Account, AccountStatus, Division, DivisionCode, Invalid, Organization, Site, SiteCode, Warning,
    times,
};
use crate::store::{
    AccountEdit, AuditEntry, AuditFilter, Change, ImportSummary, OrgEdit, Outcome, SiteFilter,
    Store, StoreError,
};
use crate::transfer::{self, Encoding, Entity, FileInfo, HeaderLang, Records};

/// A change by `actor`, effective at the time a person gave (`at`, the
/// field they gave it in named by `field`: `--at` on the command line) or
/// now. A given time is refused when it is more than a few minutes ahead
/// of now (a later event must follow it, so a mistyped year would lock the
/// record) or before 1994 ([`times::check_effective`]). Every face makes
/// its changes through here, so every face refuses the same times.
pub fn change(actor: &str, field: &str, at: Option<DateTime<Utc>>) -> Result<Change, Invalid> {
    let Some(at) = at else {
        return Ok(Change::now(actor));
    };
    let change = Change::at(actor, at);
    times::check_effective(field, at, change.recorded_at)?;
    Ok(change)
}

/// An organization with the sites it organizes and the accounts it runs.
#[derive(Debug, Clone)]
pub struct OrgDetail {
    pub org: Organization,
    pub sites: Vec<Site>,
    pub accounts: Vec<Account>,
}

/// The organization named `name`, with its sites and accounts.
pub fn org_detail(store: &Store, name: &str) -> Result<OrgDetail, StoreError> {
    let org = store.org(name)?;
    let sites = store.sites(&SiteFilter {
        org: Some(org.name.clone()),
        ..SiteFilter::default()
    })?;
    let accounts = store
        .accounts()?
        .into_iter()
        .filter(|a| a.org == org.name)
        .collect();
    Ok(OrgDetail {
        org,
        sites,
        accounts,
    })
}

/// Changes an organization (named by name or id) under `change` and
/// returns it as `org show` shows it, with the advisory warnings raised:
/// checked, written and audited in one transaction by the store
/// ([`crate::store::Store::edit_org`]); nothing is written when it is
/// refused.
pub fn edit_org(
    store: &Store,
    policy: &Policy,
    key: &str,
    edit: &OrgEdit,
    change: &Change,
) -> Result<Outcome<OrgDetail>, StoreError> {
    let outcome = store.edit_org(key, edit, policy, change)?;
    Ok(Outcome {
        value: org_detail(store, &outcome.value.name)?,
        warnings: outcome.warnings,
    })
}

/// Changes an account (id, `platform:account_id`, or the account id
/// alone) under `change`: its name, organization or feed, checked as
/// `account add` checks them, written and audited in one transaction.
pub fn edit_account(
    store: &Store,
    key: &str,
    edit: &AccountEdit,
    change: &Change,
) -> Result<Account, StoreError> {
    store.edit_account(key, edit, change)
}

/// The accounts; only those in `status` when given.
pub fn accounts(store: &Store, status: Option<AccountStatus>) -> Result<Vec<Account>, StoreError> {
    Ok(store
        .accounts()?
        .into_iter()
        .filter(|a| status.is_none_or(|s| a.status == s))
        .collect())
}

/// Which rows of the audit trail to read, with the keys people give.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A site (id, code or host name): rows about it and its domains.
    pub site: Option<String>,
    /// An account (id, or platform and account id).
    pub account: Option<String>,
    /// An organization, by name or id; ignored when `account` is given.
    pub org: Option<String>,
    /// Only the latest N rows.
    pub last: Option<i64>,
    /// Only the rows of this actor (a person, or an API token's name).
    pub actor: Option<String>,
    /// Only rows recorded at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only rows recorded before this time.
    pub to: Option<DateTime<Utc>>,
}

/// The audit rows `query` asks for. An account or organization is
/// resolved first, so a key that names nothing is an error rather than
/// an empty trail.
pub fn audit(store: &Store, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let entity = match (&query.account, &query.org) {
        (Some(key), _) => Some(("account".to_string(), store.account(key)?.id)),
        (None, Some(key)) => Some(("org".to_string(), store.org_by_key(key)?.id)),
        (None, None) => None,
    };
    let mut rows = store.audit(&AuditFilter {
        site: query.site.clone(),
        entity,
        last: query.last,
    })?;
    rows.retain(|row| {
        query.actor.as_ref().is_none_or(|actor| &row.actor == actor)
            && query.from.is_none_or(|from| row.at >= from)
            && query.to.is_none_or(|to| row.at < to)
    });
    Ok(rows)
}

/// An identifier code that is well formed, and what the division table
/// and the organizer say of it.
#[derive(Debug, Clone)]
pub struct CodeCheck {
    pub code: SiteCode,
    /// The division its prefix names; `None` for a central department's
    /// code (`bm…`).
    pub prefix: Option<DivisionCode>,
    /// That division as the table has it, when the table has it.
    pub prefix_division: Option<Division>,
    /// Advisories: an unknown prefix, one that is not the organizer's.
    pub warnings: Vec<Warning>,
}

/// Checks `raw` against the rules and the division table and, given an
/// organizer (looked up in the store), against its division. A malformed
/// code is an error; everything else is advice.
pub fn check_code(
    raw: &str,
    organizer: Option<(&Store, &str)>,
    policy: &Policy,
) -> Result<CodeCheck, StoreError> {
    let code: SiteCode = raw.parse()?;
    let division = match organizer {
        Some((store, name)) => Some(store.org(name)?.division),
        None => None,
    };
    let warnings = code.advisories(&policy.divisions, division.as_ref());
    let prefix = code.division_prefix();
    let prefix_division = prefix
        .as_ref()
        .and_then(|p| policy.divisions.get(p))
        .cloned();
    Ok(CodeCheck {
        code,
        prefix,
        prefix_division,
        warnings,
    })
}

/// A file to import, read and parsed into validated records or row
/// errors.
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub records: Records,
    /// Its encoding, and the columns that map to no field.
    pub info: FileInfo,
    /// Its name and the SHA-256 of its bytes, recorded with every change
    /// it makes: which file, exactly, a record came from.
    pub provenance: String,
}

impl ImportFile {
    /// Reads and parses `path` as a file of `entity`. A file refused as a
    /// whole (encoding, headers) is [`InvalidInput`] naming the path; bad
    /// rows are not errors yet: [`import`] reports them all.
    pub fn read(entity: Entity, path: &Path) -> Result<ImportFile> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        ImportFile::from_bytes(entity, &name, &bytes)
            .map_err(|e| InvalidInput(format!("{}: {e}", path.display())).into())
    }

    /// Parses `bytes`, a file called `name` (recorded in the provenance),
    /// as a file of `entity`: a workbook or CSV text, told by its content.
    /// A file refused as a whole (encoding, headers) is the
    /// [`transfer::FileError`] saying why; bad rows are not errors yet.
    pub fn from_bytes(
        entity: Entity,
        name: &str,
        bytes: &[u8],
    ) -> Result<ImportFile, transfer::FileError> {
        let (records, info) = transfer::parse(entity, bytes)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let provenance = format!(
            "imported from {name} (SHA-256 {})",
            crate::probe::http::hex(digest.as_ref())
        );
        Ok(ImportFile {
            records,
            info,
            provenance,
        })
    }
}

/// What an import did, or what a dry run would have done.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub info: FileInfo,
    pub dry_run: bool,
    /// Rows created, updated, unchanged, and the warnings with their lines.
    pub summary: ImportSummary,
}

/// Imports `file` all or nothing; with `dry_run`, checks every row
/// exactly as the import would and writes nothing. Any bad row refuses the
/// whole file: [`StoreError::Import`] lists them all with their lines.
pub fn import(
    store: &Store,
    policy: &Policy,
    file: &ImportFile,
    dry_run: bool,
    change: &Change,
) -> Result<ImportReport, StoreError> {
    let change = change.clone().from_source(&file.provenance);
    let summary = if dry_run {
        store.import_dry_run(&file.records, policy, &change)?
    } else {
        store.import(&file.records, policy, &change)?
    };
    Ok(ImportReport {
        info: file.info.clone(),
        dry_run,
        summary,
    })
}

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with the import's own columns and labels.
    Csv,
    /// One object a line, in the field names scripts see from every
    /// command (`output`).
    Json,
}

/// What to export, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    pub entity: Entity,
    pub format: ExportFormat,
    /// The CSV's header language (and how host names are written: Unicode
    /// under Chinese headers).
    pub headers: HeaderLang,
    pub encoding: Encoding,
}

/// Every organization, site or account `visible` lets see (the command
/// line sees everything; a token limited to organizations, theirs), as
/// the bytes of a file. Rows are left out before anything is written.
pub fn export(store: &Store, export: &Export, visible: &Visible) -> Result<Vec<u8>> {
    use crate::output::{account_json, json_line, org_json, site_json};
    let mut buffer: Vec<u8> = Vec::new();
    let lang = export.headers;
    let sites = || -> Result<Vec<Site>, StoreError> {
        Ok(store
            .sites(&SiteFilter::default())?
            .into_iter()
            .filter(|s| visible.org_name(&s.org))
            .collect())
    };
    let orgs = || -> Result<Vec<Organization>, StoreError> {
        Ok(store
            .orgs()?
            .into_iter()
            .filter(|o| visible.org_id(o.id))
            .collect())
    };
    let accounts = || -> Result<Vec<Account>, StoreError> {
        Ok(store
            .accounts()?
            .into_iter()
            .filter(|a| visible.org_name(&a.org))
            .collect())
    };
    match (export.entity, export.format) {
        (Entity::Sites, ExportFormat::Json) => {
            for site in sites()? {
                json_line(&mut buffer, &site_json(&site))?;
            }
        }
        (Entity::Orgs, ExportFormat::Json) => {
            for org in orgs()? {
                json_line(&mut buffer, &org_json(&org))?;
            }
        }
        (Entity::Accounts, ExportFormat::Json) => {
            for account in accounts()? {
                json_line(&mut buffer, &account_json(&account))?;
            }
        }
        (Entity::Sites, ExportFormat::Csv) => {
            // The organizer's division, so that the file can create the
            // organizers of another registry (the organizers' own: a
            // scoped caller's sites are organized by what it sees).
            let divisions = store
                .orgs()?
                .into_iter()
                .map(|o| (o.name, o.division.to_string()))
                .collect();
            transfer::write_sites(&sites()?, &divisions, lang, &mut buffer)?;
        }
        (Entity::Orgs, ExportFormat::Csv) => {
            transfer::write_orgs(&orgs()?, lang, &mut buffer)?;
        }
        (Entity::Accounts, ExportFormat::Csv) => {
            transfer::write_accounts(&accounts()?, lang, &mut buffer)?;
        }
    }
    let text = String::from_utf8(buffer).context("export is not UTF-8")?;
    Ok(transfer::encode(text, export.encoding))
}

/// Which accounts to list: the API's filters and the web page's.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub status: Option<AccountStatus>,
    /// Only this organization's (its name, already resolved and checked
    /// visible by the caller).
    pub org: Option<String>,
    pub platform: Option<crate::registry::Platform>,
}

/// The accounts `visible` sees that `filter` asks for, by id.
pub fn visible_accounts(
    store: &Store,
    visible: &Visible,
    filter: &AccountFilter,
) -> Result<Vec<Account>, StoreError> {
    let mut found = accounts(store, filter.status)?;
    found.retain(|a| {
        visible.org_name(&a.org)
            && filter.org.as_ref().is_none_or(|name| &a.org == name)
            && filter.platform.is_none_or(|p| a.platform == p)
    });
    found.sort_by_key(|a| a.id);
    Ok(found)
}

/// The organizations `visible` sees, by id.
pub fn visible_orgs(store: &Store, visible: &Visible) -> Result<Vec<Organization>, StoreError> {
    let mut orgs = store.orgs()?;
    orgs.retain(|o| visible.org_id(o.id));
    orgs.sort_by_key(|o| o.id);
    Ok(orgs)
}

/// The accounts judged stale now, by account id, each with its finding's
/// id: an `account_stale` finding open or acknowledged. The rule
/// (`findings::rules`, the policy's `account_stale_days`, the feeds'
/// latest posts, exceptions) judges; this reads its judgement, so that
/// the pages say what the findings and the circulars say.
pub fn stale_accounts(
    store: &Store,
    visible: &Visible,
) -> Result<std::collections::BTreeMap<i64, i64>, StoreError> {
    use crate::findings::{FindingKind, FindingStatus, Scope};
    let orgs = match visible {
        Visible::All => None,
        Visible::Orgs { ids, .. } => Some(ids.iter().copied().collect()),
    };
    let mut stale = std::collections::BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.findings_page(&crate::store::FindingPageQuery {
            statuses: vec![FindingStatus::Open, FindingStatus::Acknowledged],
            kind: Some(FindingKind::AccountStale),
            severity: None,
            site_id: None,
            orgs: orgs.clone(),
            after,
            limit: 1000,
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() == 1000;
        for finding in page {
            if let Ok(Scope::Account(id)) = finding.scope.parse::<Scope>() {
                stale.insert(id, finding.id);
            }
        }
        if !full {
            break;
        }
    }
    Ok(stale)
}

/// What a caller limited to organizations may read of the audit trail
/// (the API's and the web page's): the ids of the sites, accounts and
/// organizations it sees.
#[derive(Debug, Clone)]
pub struct AuditScope {
    sites: std::collections::BTreeSet<i64>,
    accounts: std::collections::BTreeSet<i64>,
    orgs: std::collections::BTreeSet<i64>,
}

impl AuditScope {
    /// The scope of what `visible` lets see; `None` for a caller that
    /// sees everything.
    pub fn of(store: &Store, visible: &Visible) -> Result<Option<AuditScope>, StoreError> {
        let Visible::Orgs { ids, names } = visible else {
            return Ok(None);
        };
        let list: Vec<i64> = ids.iter().copied().collect();
        Ok(Some(AuditScope {
            sites: store.site_ids_of_orgs(&list)?.into_iter().collect(),
            accounts: store
                .accounts()?
                .into_iter()
                .filter(|a| names.contains(&a.org))
                .map(|a| a.id)
                .collect(),
            orgs: ids.clone(),
        }))
    }

    /// Whether the row is about something the caller sees. A row about
    /// no organization's thing (a token, a maintenance window) is not.
    pub fn shows(&self, row: &AuditEntry) -> bool {
        row.site_id.is_some_and(|id| self.sites.contains(&id))
            || match row.entity.as_str() {
                "site" => self.sites.contains(&row.entity_id),
                "account" => self.accounts.contains(&row.entity_id),
                "org" => self.orgs.contains(&row.entity_id),
                _ => false,
            }
    }
}
