//! Conversions between rows and the registry's types. Values read back
//! were validated on the way in; a value that no longer parses means the
//! database was changed behind siteward's back, and says so.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::StoreError;
use super::rows::*;
use crate::registry::{Account, Domain, DomainState, Organization, Site, SiteTimes};

pub fn to_db(time: DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc()
}

pub fn to_db_opt(time: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    time.map(to_db)
}

pub fn from_db(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

pub fn from_db_opt(time: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    time.map(from_db)
}

fn parse<T: FromStr>(table: &str, id: i64, column: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt {
        what: format!("{table} row {id}: column {column} holds `{value}`"),
    })
}

/// Organization names by id, for showing sites' and accounts' organizers.
pub type OrgNames = HashMap<i64, String>;

pub fn org_from_rows(
    row: &OrgRow,
    names: &OrgNames,
    contacts: &[ContactRow],
) -> Result<Organization, StoreError> {
    let mut emails = Vec::new();
    let mut webhooks = Vec::new();
    for contact in contacts.iter().filter(|c| c.org_id == row.id && c.in_use()) {
        match contact.kind.as_str() {
            "email" => emails.push(contact.value.clone()),
            _ => webhooks.push(contact.value.clone()),
        }
    }
    Ok(Organization {
        id: row.id,
        name: row.name.clone(),
        division: parse("organizations", row.id, "division", &row.division)?,
        level: parse("organizations", row.id, "level", &row.level)?,
        parent: row.parent_id.and_then(|id| names.get(&id).cloned()),
        emails,
        webhooks,
    })
}

pub fn domain_from_row(row: &DomainRow) -> Result<Domain, StoreError> {
    Ok(Domain {
        id: row.id,
        hostname: parse("domains", row.id, "hostname", &row.hostname)?,
        role: parse("domains", row.id, "role", &row.role)?,
        state: parse("domains", row.id, "state", &row.state)?,
        release_deadline: from_db_opt(row.release_deadline),
        released_at: from_db_opt(row.released_at),
    })
}

pub fn site_from_row(
    row: &SiteRow,
    names: &OrgNames,
    domains: Vec<Domain>,
) -> Result<Site, StoreError> {
    Ok(Site {
        id: row.id,
        code: row
            .code
            .as_deref()
            .map(|code| parse("sites", row.id, "code", code))
            .transpose()?,
        name: row.name.clone(),
        kind: parse("sites", row.id, "kind", &row.kind)?,
        org: names
            .get(&row.org_id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt {
                what: format!(
                    "sites row {}: organization {} does not exist",
                    row.id, row.org_id
                ),
            })?,
        status: parse("sites", row.id, "status", &row.status)?,
        domains,
        icp_filing: row.icp_filing.clone(),
        psb_filing: row.psb_filing.clone(),
        approval_ref: row.approval_ref.clone(),
        retirement_ref: row.retirement_ref.clone(),
        successor_url: row.successor_url.clone(),
        status_reason: row.status_reason.clone(),
        times: SiteTimes {
            requested_at: from_db_opt(row.requested_at),
            approved_at: from_db_opt(row.approved_at),
            rejected_at: from_db_opt(row.rejected_at),
            live_at: from_db_opt(row.live_at),
            suspended_at: from_db_opt(row.suspended_at),
            retiring_at: from_db_opt(row.retiring_at),
            notice_until: from_db_opt(row.notice_until),
            offline_at: from_db_opt(row.offline_at),
            closed_at: from_db_opt(row.closed_at),
        },
        status_changed_at: from_db(row.status_changed_at),
    })
}

/// Writes a site's fields into its row (the row keeps its id and
/// creation time).
pub fn site_into_row(site: &Site, org_id: i64, row: &mut SiteRow) {
    row.code = site.code.as_ref().map(|c| c.as_str().to_string());
    row.name = site.name.clone();
    row.kind = site.kind.as_str().to_string();
    row.org_id = org_id;
    row.status = site.status.as_str().to_string();
    row.icp_filing = site.icp_filing.clone();
    row.psb_filing = site.psb_filing.clone();
    row.approval_ref = site.approval_ref.clone();
    row.retirement_ref = site.retirement_ref.clone();
    row.successor_url = site.successor_url.clone();
    row.status_reason = site.status_reason.clone();
    row.requested_at = to_db_opt(site.times.requested_at);
    row.approved_at = to_db_opt(site.times.approved_at);
    row.rejected_at = to_db_opt(site.times.rejected_at);
    row.live_at = to_db_opt(site.times.live_at);
    row.suspended_at = to_db_opt(site.times.suspended_at);
    row.retiring_at = to_db_opt(site.times.retiring_at);
    row.notice_until = to_db_opt(site.times.notice_until);
    row.offline_at = to_db_opt(site.times.offline_at);
    row.closed_at = to_db_opt(site.times.closed_at);
    row.status_changed_at = to_db(site.status_changed_at);
}

pub fn new_site_row(site: &Site, org_id: i64, created_at: DateTime<Utc>) -> NewSiteRow {
    let mut row = SiteRow {
        id: 0,
        code: None,
        name: String::new(),
        kind: String::new(),
        org_id,
        status: String::new(),
        icp_filing: None,
        psb_filing: None,
        approval_ref: None,
        retirement_ref: None,
        successor_url: None,
        status_reason: None,
        requested_at: None,
        approved_at: None,
        rejected_at: None,
        live_at: None,
        suspended_at: None,
        retiring_at: None,
        notice_until: None,
        offline_at: None,
        closed_at: None,
        status_changed_at: to_db(created_at),
        created_at: to_db(created_at),
    };
    site_into_row(site, org_id, &mut row);
    NewSiteRow {
        code: row.code,
        name: row.name,
        kind: row.kind,
        org_id,
        status: row.status,
        icp_filing: row.icp_filing,
        psb_filing: row.psb_filing,
        approval_ref: row.approval_ref,
        retirement_ref: row.retirement_ref,
        successor_url: row.successor_url,
        status_reason: row.status_reason,
        requested_at: row.requested_at,
        approved_at: row.approved_at,
        rejected_at: row.rejected_at,
        live_at: row.live_at,
        suspended_at: row.suspended_at,
        retiring_at: row.retiring_at,
        notice_until: row.notice_until,
        offline_at: row.offline_at,
        closed_at: row.closed_at,
        status_changed_at: row.status_changed_at,
        created_at: row.created_at,
    }
}

pub fn new_domain_row(site_id: i64, domain: &Domain, added_at: DateTime<Utc>) -> NewDomainRow {
    NewDomainRow {
        site_id,
        hostname: domain.hostname.as_str().to_string(),
        role: domain.role.as_str().to_string(),
        state: domain.state.as_str().to_string(),
        release_deadline: to_db_opt(domain.release_deadline),
        released_at: to_db_opt(domain.released_at),
        added_at: to_db(added_at),
    }
}

pub fn domain_into_row(domain: &Domain, row: &mut DomainRow) {
    row.role = domain.role.as_str().to_string();
    row.state = domain.state.as_str().to_string();
    row.release_deadline = to_db_opt(domain.release_deadline);
    row.released_at = to_db_opt(domain.released_at);
}

pub fn account_from_row(row: &AccountRow, names: &OrgNames) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.id,
        platform: parse("accounts", row.id, "platform", &row.platform)?,
        account_id: row.account_id.clone(),
        name: row.name.clone(),
        org: names
            .get(&row.org_id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt {
                what: format!(
                    "accounts row {}: organization {} does not exist",
                    row.id, row.org_id
                ),
            })?,
        status: parse("accounts", row.id, "status", &row.status)?,
        feed_url: row.feed_url.clone(),
        last_post_at: from_db_opt(row.last_post_at),
        status_reason: row.status_reason.clone(),
        status_changed_at: from_db(row.status_changed_at),
    })
}

pub fn account_into_row(account: &Account, org_id: i64, row: &mut AccountRow) {
    row.platform = account.platform.as_str().to_string();
    row.account_id = account.account_id.clone();
    row.name = account.name.clone();
    row.org_id = org_id;
    row.status = account.status.as_str().to_string();
    row.feed_url = account.feed_url.clone();
    row.last_post_at = to_db_opt(account.last_post_at);
    row.status_reason = account.status_reason.clone();
    row.status_changed_at = to_db(account.status_changed_at);
}

/// Whether a domain row is held (active or releasing).
pub fn is_held(row: &DomainRow) -> bool {
    row.state != DomainState::Released.as_str()
}
