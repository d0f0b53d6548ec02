//! Organizations, sites, accounts, the audit trail and tokens as JSON;
//! and the request bodies that change them through the API (each refuses
//! fields it does not know, and names its fields as the command line's
//! options and `--json` output do).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{maybe_time, time};
use crate::app::registry::OrgDetail;
use crate::registry::{Account, Domain, Organization, Site};
use crate::store::AuditEntry;

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
            role: d.role.as_str().to_string(),
            state: d.state.as_str().to_string(),
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
            kind: site.kind.as_str().to_string(),
            org: site.org.clone(),
            status: site.status.as_str().to_string(),
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

/// An organization, as `org list --json` and `GET /api/v1/orgs` give it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgDto {
    pub id: i64,
    pub name: String,
    /// Administrative division code (6 digits, GB/T 2260).
    pub division: String,
    /// `central`, `province`, `prefecture`, `county`, `township`.
    pub level: String,
    /// The parent organization's name.
    pub parent: Option<String>,
    pub emails: Vec<String>,
    /// Masked: a webhook's path and query carry its secret.
    pub webhooks: Vec<String>,
}

impl From<&Organization> for OrgDto {
    fn from(org: &Organization) -> OrgDto {
        OrgDto {
            id: org.id,
            name: org.name.clone(),
            division: name_of(&org.division),
            level: org.level.as_str().to_string(),
            parent: org.parent.clone(),
            emails: org.emails.clone(),
            webhooks: org
                .webhooks
                .iter()
                .map(|w| crate::alerts::mask_url(w))
                .collect(),
        }
    }
}

/// An organization with the sites it organizes and the accounts it runs,
/// as `org show --json` gives it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgDetailDto {
    #[serde(flatten)]
    pub org: OrgDto,
    pub sites: Vec<SiteDto>,
    pub accounts: Vec<AccountDto>,
}

impl From<&OrgDetail> for OrgDetailDto {
    fn from(detail: &OrgDetail) -> OrgDetailDto {
        OrgDetailDto {
            org: OrgDto::from(&detail.org),
            sites: detail.sites.iter().map(SiteDto::from).collect(),
            accounts: detail.accounts.iter().map(AccountDto::from).collect(),
        }
    }
}

/// A new-media account, as `account show --json` gives it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountDto {
    pub id: i64,
    /// `wechat_service`, `weibo`, `douyin`, …
    pub platform: String,
    /// The account's id on its platform.
    pub account_id: String,
    pub name: String,
    /// The organization that runs it.
    pub org: String,
    /// `active`, `suspended`, `closed`.
    pub status: String,
    pub last_post_at: Option<String>,
    pub feed_url: Option<String>,
    pub status_reason: Option<String>,
}

impl From<&Account> for AccountDto {
    fn from(account: &Account) -> AccountDto {
        AccountDto {
            id: account.id,
            platform: account.platform.as_str().to_string(),
            account_id: account.account_id.clone(),
            name: account.name.clone(),
            org: account.org.clone(),
            status: account.status.as_str().to_string(),
            last_post_at: maybe_time(account.last_post_at),
            feed_url: account.feed_url.clone(),
            status_reason: account.status_reason.clone(),
        }
    }
}

/// One field changed by an audited change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DifferenceDto {
    /// As `site.status` or `domains[0].state`.
    pub field: String,
    /// `(absent)` when it had none.
    pub before: String,
    pub after: String,
}

/// An advisory rule an accepted value breaks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningDto {
    pub field: String,
    pub value: String,
    pub message: String,
}

/// One row of the audit trail, as `audit --json` gives it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    /// When siteward recorded the change.
    pub at: String,
    /// When it took effect (`at` of the request, `--at`).
    pub effective_at: String,
    /// The person, or the API token's name.
    pub actor: String,
    /// Where the actor's name came from (`api token`, …).
    pub actor_source: Option<String>,
    /// `site`, `org`, `account`, `exception`, `token`, …
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    /// The entity's state before, as recorded (webhooks masked).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The entity's state after, as recorded (webhooks masked).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub changes: Vec<DifferenceDto>,
    /// The reference (document number) or reason given.
    pub reason: Option<String>,
    pub warnings: Vec<WarningDto>,
}

impl From<&AuditEntry> for AuditEntryDto {
    fn from(entry: &AuditEntry) -> AuditEntryDto {
        AuditEntryDto {
            id: entry.id,
            at: time(entry.at),
            effective_at: time(entry.effective_at),
            actor: entry.actor.clone(),
            actor_source: entry.actor_source.clone(),
            entity: entry.entity.clone(),
            entity_id: entry.entity_id,
            action: entry.action.clone(),
            before: entry.before.clone(),
            after: entry.after.clone(),
            changes: entry
                .changes
                .iter()
                .map(|d| DifferenceDto {
                    field: d.field.clone(),
                    before: d.before.clone(),
                    after: d.after.clone(),
                })
                .collect(),
            reason: entry.reason.clone(),
            warnings: entry
                .warnings
                .iter()
                .map(|w| WarningDto {
                    field: w.field.clone(),
                    value: w.value.clone(),
                    message: w.message.clone(),
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/sites`: request a site (`site request`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteRequestBody {
    /// The site's name, as in the national reporting system.
    pub name: String,
    /// The organizer: its name or id.
    pub org: String,
    /// `portal`, `department` or `special`.
    pub kind: String,
    /// Host names (IDN in either form); the first is primary.
    pub domains: Vec<String>,
    /// Identifier code (网站标识码), if already issued.
    pub code: Option<String>,
    /// ICP filing number (ICP备案号).
    pub icp: Option<String>,
    /// Public-security filing number (公安机关备案号).
    pub psb: Option<String>,
    /// Register a host name outside the allowed suffixes anyway, with this
    /// reason (comply or explain); needs `until`.
    pub exception: Option<String>,
    /// When that exception expires (a bare date lasts through that day,
    /// China Standard Time).
    pub until: Option<String>,
    /// When it took effect (RFC 3339); default now.
    pub at: Option<String>,
}

/// `approve`: the approval document.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Approval document reference, e.g. 甘政办函〔2026〕12号.
    pub reference: String,
    pub at: Option<String>,
}

/// `reject`, `suspend` (a site or an account), `close` (an account): why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, recorded in the audit trail.
    pub reason: String,
    pub at: Option<String>,
}

/// `go-live`: the identifier code, unless the site has one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoLiveBody {
    pub code: Option<String>,
    pub at: Option<String>,
}

/// `retire`: the retirement document, and the successor named by the
/// closure notice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    pub reference: String,
    pub successor_url: Option<String>,
    pub at: Option<String>,
}

/// A transition that needs nothing but, maybe, when it took effect
/// (`resume`, `offline`, `close`; an account's post).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AtBody {
    /// When it took effect (RFC 3339); default now.
    pub at: Option<String>,
}

/// `PATCH /api/v1/sites/{site}` (`site edit`): only the fields given
/// change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteEditBody {
    pub name: Option<String>,
    pub kind: Option<String>,
    /// A new organizer: its name or id.
    pub org: Option<String>,
    pub code: Option<String>,
    pub icp: Option<String>,
    pub psb: Option<String>,
    pub successor_url: Option<String>,
    /// Alias host names to add.
    #[serde(default)]
    pub add_domains: Vec<String>,
    /// Host names to release (never deleted).
    #[serde(default)]
    pub release_domains: Vec<String>,
    /// The host name to make primary (added if new).
    pub primary: Option<String>,
    /// Why; required to change a live site's code, organizer or primary
    /// host name.
    pub reason: Option<String>,
    /// The document that decided the change.
    pub reference: Option<String>,
    pub exception: Option<String>,
    pub until: Option<String>,
    pub at: Option<String>,
}

/// `POST /api/v1/orgs` (`org add`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgAddBody {
    /// Unique, as on its seal.
    pub name: String,
    /// Administrative division code (6 digits, GB/T 2260).
    pub division: String,
    /// `central`, `province`, `prefecture`, `county` or `township`.
    pub level: String,
    /// The parent organization: its name or id.
    pub parent: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub webhooks: Vec<String>,
}

/// `PATCH /api/v1/orgs/{org}` (`org edit`): only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgEditBody {
    pub name: Option<String>,
    pub division: Option<String>,
    pub level: Option<String>,
    /// A new parent: its name or id.
    pub parent: Option<String>,
    /// Leave it without a parent.
    #[serde(default)]
    pub no_parent: bool,
    #[serde(default)]
    pub add_emails: Vec<String>,
    #[serde(default)]
    pub add_webhooks: Vec<String>,
    /// Contacts to stop using (their records kept); a webhook may be given
    /// masked, as shown.
    #[serde(default)]
    pub remove_emails: Vec<String>,
    #[serde(default)]
    pub remove_webhooks: Vec<String>,
    pub reason: Option<String>,
    pub at: Option<String>,
}

/// `POST /api/v1/accounts` (`account add`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountAddBody {
    /// `weibo`, `douyin`, …, or as imports read them (微博, 抖音…).
    pub platform: String,
    /// The account id on the platform (`--handle`).
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// The organization that runs it: its name or id.
    pub org: String,
    /// RSS, Atom or JSON Feed URL of its posts.
    pub feed_url: Option<String>,
    pub at: Option<String>,
}

/// `PATCH /api/v1/accounts/{account}` (`account edit`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountEditBody {
    pub name: Option<String>,
    /// The organization that runs it: its name or id.
    pub org: Option<String>,
    pub feed_url: Option<String>,
    /// It has no feed any more.
    #[serde(default)]
    pub no_feed: bool,
    pub reason: Option<String>,
    pub at: Option<String>,
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
