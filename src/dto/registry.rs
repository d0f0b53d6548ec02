//! Organizations, sites, accounts, the audit trail and tokens as JSON.

use serde::Serialize;
use utoipa::ToSchema;

use super::maybe_time;
use crate::registry::{Domain, Site};

/// A site, as `site show --json` and `GET /api/v1/sites/{site}` give it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteDto {
    pub id: i64,
    /// The identifier code (网站标识码), once filed.
    pub code: Option<String>,
    pub name: String,
    /// `portal`, `department`, …
    pub kind: String,
    /// The organizer's name.
    pub org: String,
    /// `requested`, `approved`, `rejected`, `live`, `suspended`,
    /// `retiring`, `offline`, `closed`.
    pub status: String,
    pub domains: Vec<DomainDto>,
    pub approval_ref: Option<String>,
    pub successor_url: Option<String>,
    pub retirement_ref: Option<String>,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<String>,
    pub requested_at: Option<String>,
    pub approved_at: Option<String>,
    pub rejected_at: Option<String>,
    pub live_at: Option<String>,
    pub suspended_at: Option<String>,
    pub retiring_at: Option<String>,
    pub notice_until: Option<String>,
    pub offline_at: Option<String>,
    pub closed_at: Option<String>,
}

/// One host name of a site.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DomainDto {
    /// In ASCII (punycode) form.
    pub hostname: String,
    /// `primary` or `alias`.
    pub role: String,
    /// `active`, `releasing`, `released`.
    pub state: String,
    pub release_deadline: Option<String>,
}

/// A value's serde name (the enums' stable spelling).
fn name_of(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl From<&Domain> for DomainDto {
    fn from(d: &Domain) -> DomainDto {
        DomainDto {
            hostname: d.hostname.to_string(),
            role: name_of(&d.role),
            state: name_of(&d.state),
            release_deadline: maybe_time(d.release_deadline),
        }
    }
}

impl From<&Site> for SiteDto {
    fn from(site: &Site) -> SiteDto {
        SiteDto {
            id: site.id,
            code: site.code.as_ref().map(ToString::to_string),
            name: site.name.clone(),
            kind: name_of(&site.kind),
            org: site.org.clone(),
            status: name_of(&site.status),
            domains: site.domains.iter().map(DomainDto::from).collect(),
            approval_ref: site.approval_ref.clone(),
            successor_url: site.successor_url.clone(),
            retirement_ref: site.retirement_ref.clone(),
            icp_filing: site.icp_filing.clone(),
            psb_filing: site.psb_filing.clone(),
            status_reason: site.status_reason.clone(),
            status_changed_at: maybe_time(Some(site.status_changed_at)),
            requested_at: maybe_time(site.times.requested_at),
            approved_at: maybe_time(site.times.approved_at),
            rejected_at: maybe_time(site.times.rejected_at),
            live_at: maybe_time(site.times.live_at),
            suspended_at: maybe_time(site.times.suspended_at),
            retiring_at: maybe_time(site.times.retiring_at),
            notice_until: maybe_time(site.times.notice_until),
            offline_at: maybe_time(site.times.offline_at),
            closed_at: maybe_time(site.times.closed_at),
        }
    }
}

/// An API token as `token list --json` gives it (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: i64,
    pub name: String,
    pub role: crate::access::Role,
    /// The organization ids it is limited to (empty: all).
    pub orgs: Vec<i64>,
    pub with_subordinates: bool,
    pub created_at: Option<String>,
    pub created_by: String,
    pub revoked_at: Option<String>,
}

impl From<&crate::store::tokens::Token> for TokenDto {
    fn from(t: &crate::store::tokens::Token) -> TokenDto {
        TokenDto {
            id: t.id,
            name: t.name.clone(),
            role: t.role,
            orgs: t.orgs.clone(),
            with_subordinates: t.with_subordinates,
            created_at: maybe_time(Some(t.created_at)),
            created_by: t.created_by.clone(),
            revoked_at: maybe_time(t.revoked_at),
        }
    }
}

/// A token just made: shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewTokenDto {
    #[serde(flatten)]
    pub token: TokenDto,
    /// The bearer token itself; only its SHA-256 is stored.
    #[serde(rename = "token")]
    pub secret: String,
}
