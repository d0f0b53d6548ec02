//! The state machines of sites and accounts: which action is allowed from
//! which state, what it needs, and what it changes. Pure: it takes the
//! current entity and returns the next one, or says why not. The store
//! persists the result together with its audit row.
//!
//! Sites: requested → approved → live → retiring → offline → closed;
//! requested → rejected; live ⇄ suspended.

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::clock::show;

use super::{
    Account, AccountStatus, DomainRole, DomainState, Hostname, Site, SiteCode, SiteKind, SiteStatus,
};

/// Lifecycle windows from policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleWindows {
    /// How long the closure notice stays up after retirement (30 days).
    pub notice_days: u32,
    /// How long the registrar has to deregister an offline site's domains.
    pub release_grace_days: u32,
}

impl Default for LifecycleWindows {
    fn default() -> Self {
        LifecycleWindows {
            notice_days: 30,
            release_grace_days: 30,
        }
    }
}

/// What an administrator asks of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteAction {
    Approve {
        reference: String,
    },
    Reject {
        reason: String,
    },
    GoLive {
        code: Option<SiteCode>,
    },
    Suspend {
        reason: String,
    },
    Resume,
    Retire {
        reference: String,
        successor_url: Option<String>,
    },
    Offline,
    Close,
}

impl SiteAction {
    /// The action's name, as the CLI command and the audit trail spell it.
    pub fn name(&self) -> &'static str {
        match self {
            SiteAction::Approve { .. } => "approve",
            SiteAction::Reject { .. } => "reject",
            SiteAction::GoLive { .. } => "go-live",
            SiteAction::Suspend { .. } => "suspend",
            SiteAction::Resume => "resume",
            SiteAction::Retire { .. } => "retire",
            SiteAction::Offline => "offline",
            SiteAction::Close => "close",
        }
    }

    /// The reference or reason the audit row carries.
    pub fn reason(&self) -> Option<&str> {
        match self {
            SiteAction::Approve { reference } | SiteAction::Retire { reference, .. } => {
                Some(reference)
            }
            SiteAction::Reject { reason } | SiteAction::Suspend { reason } => Some(reason),
            _ => None,
        }
    }
}

/// Every action with the states it may start from and the state it leads to.
const SITE_TRANSITIONS: &[(&str, &[SiteStatus], SiteStatus)] = &[
    ("approve", &[SiteStatus::Requested], SiteStatus::Approved),
    ("reject", &[SiteStatus::Requested], SiteStatus::Rejected),
    ("go-live", &[SiteStatus::Approved], SiteStatus::Live),
    ("suspend", &[SiteStatus::Live], SiteStatus::Suspended),
    ("resume", &[SiteStatus::Suspended], SiteStatus::Live),
    (
        "retire",
        &[SiteStatus::Live, SiteStatus::Suspended],
        SiteStatus::Retiring,
    ),
    ("offline", &[SiteStatus::Retiring], SiteStatus::Offline),
    ("close", &[SiteStatus::Offline], SiteStatus::Closed),
];

/// The actions allowed from a state, for error messages and help.
pub fn allowed_site_actions(status: SiteStatus) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = SITE_TRANSITIONS
        .iter()
        .filter(|(_, from, _)| from.contains(&status))
        .map(|(name, _, _)| *name)
        .collect();
    if site_editable(status) {
        allowed.push("edit");
    }
    allowed
}

fn site_editable(status: SiteStatus) -> bool {
    !matches!(status, SiteStatus::Closed | SiteStatus::Rejected)
}

fn accepts_new_domains(status: SiteStatus) -> bool {
    matches!(
        status,
        SiteStatus::Requested | SiteStatus::Approved | SiteStatus::Live | SiteStatus::Suspended
    )
}

/// Why a change was refused. Each message names the state, the rule and
/// what is allowed instead.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error(
        "cannot {action} {subject}: it is {current}; allowed from {current}: {}",
        allowed_list(allowed)
    )]
    Forbidden {
        subject: String,
        action: &'static str,
        current: String,
        allowed: Vec<&'static str>,
    },
    #[error("{action} needs {what}")]
    Missing {
        action: &'static str,
        what: &'static str,
    },
    #[error(
        "effective time {} is before the {subject}'s previous transition at {} (China Standard Time): \
         an event must follow the previous one; record events in order",
        show(*.at),
        show(*.previous)
    )]
    OutOfOrder {
        subject: String,
        at: DateTime<Utc>,
        previous: DateTime<Utc>,
    },
    #[error(
        "cannot date a change to {subject} at {} (China Standard Time): it exists in the registry \
         only since {}; a change cannot take effect before what it changes existed",
        show(*.at),
        show(*.since)
    )]
    BeforeExistence {
        subject: String,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    },
    #[error(
        "cannot take {subject} offline before its closure notice has been up for the notice period: \
         the notice runs until {} (retired at {}, China Standard Time); record an earlier event \
         with --at, or wait",
        show(*.until),
        show(*.retired)
    )]
    NoticePeriod {
        subject: String,
        retired: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    #[error("{subject} already has identifier code {current}; it cannot go live under {given}")]
    CodeAlreadySet {
        subject: String,
        current: SiteCode,
        given: SiteCode,
    },
    #[error("successor URL `{0}` must be an http:// or https:// URL")]
    SuccessorUrl(String),
    #[error("{0}")]
    Edit(String),
}

fn allowed_list(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "nothing (final state)".to_string()
    } else {
        allowed.join(", ")
    }
}

fn subject(site: &Site) -> String {
    match site.primary() {
        Some(primary) => format!("site {} ({})", site.id, primary.hostname),
        None => format!("site {}", site.id),
    }
}

fn require(action: &'static str, what: &'static str, value: &str) -> Result<(), TransitionError> {
    if value.trim().is_empty() {
        Err(TransitionError::Missing { action, what })
    } else {
        Ok(())
    }
}

/// Validates a successor URL given on retirement.
pub fn parse_successor_url(raw: &str) -> Result<String, TransitionError> {
    match url::Url::parse(raw.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(TransitionError::SuccessorUrl(raw.to_string())),
    }
}

/// A site is live only under an identifier code: it goes live once filed
/// in the national system. `go-live` checks it, and so does an import of a
/// site the file says is live.
pub fn live_code(code: Option<&SiteCode>) -> Result<&SiteCode, TransitionError> {
    code.ok_or(TransitionError::Missing {
        action: "go-live",
        what: "an identifier code (`--code`, or an import's code column): a site goes live once filed in the national system",
    })
}

/// Applies `action` to `site` as of `at`, or says why it is not allowed.
pub fn apply_site(
    site: &Site,
    action: &SiteAction,
    at: DateTime<Utc>,
    windows: LifecycleWindows,
) -> Result<Site, TransitionError> {
    let (name, from, to) = SITE_TRANSITIONS
        .iter()
        .find(|(name, _, _)| *name == action.name())
        .copied()
        .expect("every action has a transition");
    debug_assert_eq!(name, action.name());
    if !from.contains(&site.status) {
        return Err(TransitionError::Forbidden {
            subject: subject(site),
            action: action.name(),
            current: site.status.to_string(),
            allowed: allowed_site_actions(site.status),
        });
    }
    if at < site.status_changed_at {
        return Err(TransitionError::OutOfOrder {
            subject: subject(site),
            at,
            previous: site.status_changed_at,
        });
    }
    let mut next = site.clone();
    next.status = to;
    next.status_changed_at = at;
    match action {
        SiteAction::Approve { reference } => {
            require(
                "approve",
                "an approval document reference (--ref)",
                reference,
            )?;
            next.approval_ref = Some(reference.trim().to_string());
            next.times.approved_at = Some(at);
        }
        SiteAction::Reject { reason } => {
            require("reject", "a reason (--reason)", reason)?;
            next.status_reason = Some(reason.trim().to_string());
            next.times.rejected_at = Some(at);
            // A rejected request claims no host name any more.
            for domain in &mut next.domains {
                domain.state = DomainState::Released;
                domain.released_at = Some(at);
            }
        }
        SiteAction::GoLive { code } => {
            match (&site.code, code) {
                (Some(current), Some(given)) if current != given => {
                    return Err(TransitionError::CodeAlreadySet {
                        subject: subject(site),
                        current: current.clone(),
                        given: given.clone(),
                    });
                }
                _ => {}
            }
            live_code(code.as_ref().or(site.code.as_ref()))?;
            if let Some(code) = code {
                next.code = Some(code.clone());
            }
            next.times.live_at = Some(at);
            next.status_reason = None;
        }
        SiteAction::Suspend { reason } => {
            require("suspend", "a reason (--reason)", reason)?;
            next.status_reason = Some(reason.trim().to_string());
            next.times.suspended_at = Some(at);
        }
        SiteAction::Resume => {
            next.status_reason = None;
        }
        SiteAction::Retire {
            reference,
            successor_url,
        } => {
            require(
                "retire",
                "a retirement approval reference (--ref)",
                reference,
            )?;
            next.retirement_ref = Some(reference.trim().to_string());
            if let Some(url) = successor_url {
                next.successor_url = Some(parse_successor_url(url)?);
            }
            next.times.retiring_at = Some(at);
            next.times.notice_until = Some(at + Duration::days(windows.notice_days.into()));
        }
        SiteAction::Offline => {
            let retired = site.times.retiring_at.unwrap_or(site.status_changed_at);
            let until = retired + Duration::days(windows.notice_days.into());
            if at < until {
                return Err(TransitionError::NoticePeriod {
                    subject: subject(site),
                    retired,
                    until,
                });
            }
            next.times.offline_at = Some(at);
            let deadline = at + Duration::days(windows.release_grace_days.into());
            for domain in &mut next.domains {
                if domain.state == DomainState::Active {
                    domain.state = DomainState::Releasing;
                    domain.release_deadline = Some(deadline);
                }
            }
        }
        SiteAction::Close => {
            next.times.closed_at = Some(at);
            for domain in &mut next.domains {
                if domain.state != DomainState::Released {
                    domain.state = DomainState::Released;
                    domain.released_at = Some(at);
                }
            }
        }
    }
    Ok(next)
}

/// A change to a site's descriptive fields or host names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteEdit {
    pub name: Option<String>,
    pub kind: Option<SiteKind>,
    pub org: Option<String>,
    pub code: Option<SiteCode>,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub successor_url: Option<String>,
    /// Only imports set it: an approval is otherwise recorded by `approve`.
    pub approval_ref: Option<String>,
    pub add_aliases: Vec<Hostname>,
    /// Host names to release from the site (never deleted: released).
    pub release: Vec<Hostname>,
    /// A host name of the site (or one being added) to make primary.
    pub primary: Option<Hostname>,
    /// Why, or the document that decided it (`--reason`, `--ref`):
    /// required by [`needs_reason`].
    pub reason: Option<String>,
}

impl SiteEdit {
    /// Whether it changes nothing (a reason alone changes nothing).
    pub fn is_empty(&self) -> bool {
        SiteEdit {
            reason: None,
            ..self.clone()
        } == SiteEdit::default()
    }
}

/// Whether changing `before` into `after` needs a stated reason: a live
/// site's identifier code, organizer or primary host name is what the
/// national system and the public know it by, so such a change names why.
pub fn needs_reason(before: &Site, after: &Site) -> bool {
    before.status == SiteStatus::Live
        && (before.code != after.code
            || before.org != after.org
            || before.primary().map(|d| &d.hostname) != after.primary().map(|d| &d.hostname))
}

/// Applies an edit as of `at`. Host names added here must already have
/// passed the suffix policy and the uniqueness check (the store's job).
/// An edit dated before the site existed (its earliest recorded time,
/// [`Site::since`]) is refused.
pub fn edit_site(site: &Site, edit: &SiteEdit, at: DateTime<Utc>) -> Result<Site, TransitionError> {
    if !site_editable(site.status) {
        return Err(TransitionError::Forbidden {
            subject: subject(site),
            action: "edit",
            current: site.status.to_string(),
            allowed: allowed_site_actions(site.status),
        });
    }
    existed(subject(site), at, site.since())?;
    let mut next = site.clone();
    if let Some(name) = &edit.name {
        if name.trim().is_empty() {
            return Err(TransitionError::Edit("site name must not be empty".into()));
        }
        next.name = name.trim().to_string();
    }
    if let Some(kind) = edit.kind {
        next.kind = kind;
    }
    if let Some(org) = &edit.org {
        next.org = org.clone();
    }
    if let Some(code) = &edit.code {
        if matches!(site.status, SiteStatus::Retiring | SiteStatus::Offline) {
            return Err(TransitionError::Edit(format!(
                "{} is {}: its identifier code is fixed",
                subject(site),
                site.status
            )));
        }
        next.code = Some(code.clone());
    }
    if let Some(icp) = &edit.icp_filing {
        next.icp_filing = Some(icp.trim().to_string()).filter(|s| !s.is_empty());
    }
    if let Some(psb) = &edit.psb_filing {
        next.psb_filing = Some(psb.trim().to_string()).filter(|s| !s.is_empty());
    }
    if let Some(url) = &edit.successor_url {
        next.successor_url = Some(parse_successor_url(url)?);
    }
    if let Some(reference) = &edit.approval_ref {
        next.approval_ref = Some(reference.trim().to_string()).filter(|s| !s.is_empty());
    }
    let adds_domains = !edit.add_aliases.is_empty()
        || edit.primary.as_ref().is_some_and(|p| {
            !site
                .domains
                .iter()
                .any(|d| &d.hostname == p && d.state != DomainState::Released)
        });
    if adds_domains && !accepts_new_domains(site.status) {
        return Err(TransitionError::Edit(format!(
            "{} is {}: it takes no new host names",
            subject(site),
            site.status
        )));
    }
    for host in edit.add_aliases.iter().chain(edit.primary.iter()) {
        let held = next
            .domains
            .iter()
            .any(|d| &d.hostname == host && d.state != DomainState::Released);
        if !held {
            next.domains.push(super::Domain {
                id: 0,
                hostname: host.clone(),
                role: DomainRole::Alias,
                state: DomainState::Active,
                release_deadline: None,
                released_at: None,
            });
        }
    }
    if let Some(primary) = &edit.primary {
        for domain in &mut next.domains {
            if domain.state == DomainState::Released {
                continue;
            }
            domain.role = if &domain.hostname == primary {
                DomainRole::Primary
            } else {
                DomainRole::Alias
            };
        }
    }
    for host in &edit.release {
        let domain = next
            .domains
            .iter_mut()
            .find(|d| &d.hostname == host && d.state != DomainState::Released)
            .ok_or_else(|| {
                TransitionError::Edit(format!("{} holds no host name {host}", subject(site)))
            })?;
        if domain.role == DomainRole::Primary {
            return Err(TransitionError::Edit(format!(
                "{host} is the primary host name of {}: make another one primary first",
                subject(site)
            )));
        }
        domain.state = DomainState::Released;
        domain.released_at = Some(at);
    }
    Ok(next)
}

/// Refuses a change to `subject` dated `at`, before `since`, when it came
/// into the registry's history.
pub fn existed(
    subject: String,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<(), TransitionError> {
    if at < since {
        return Err(TransitionError::BeforeExistence { subject, at, since });
    }
    Ok(())
}

/// What an administrator asks of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountAction {
    Suspend { reason: String },
    Resume,
    Close { reason: String },
}

impl AccountAction {
    pub fn name(&self) -> &'static str {
        match self {
            AccountAction::Suspend { .. } => "suspend",
            AccountAction::Resume => "resume",
            AccountAction::Close { .. } => "close",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            AccountAction::Suspend { reason } | AccountAction::Close { reason } => Some(reason),
            AccountAction::Resume => None,
        }
    }
}

const ACCOUNT_TRANSITIONS: &[(&str, &[AccountStatus], AccountStatus)] = &[
    (
        "suspend",
        &[AccountStatus::Active],
        AccountStatus::Suspended,
    ),
    ("resume", &[AccountStatus::Suspended], AccountStatus::Active),
    (
        "close",
        &[AccountStatus::Active, AccountStatus::Suspended],
        AccountStatus::Closed,
    ),
];

pub fn allowed_account_actions(status: AccountStatus) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = ACCOUNT_TRANSITIONS
        .iter()
        .filter(|(_, from, _)| from.contains(&status))
        .map(|(name, _, _)| *name)
        .collect();
    allowed.push("seen");
    allowed
}

/// Applies `action` to `account` as of `at`.
pub fn apply_account(
    account: &Account,
    action: &AccountAction,
    at: DateTime<Utc>,
) -> Result<Account, TransitionError> {
    let subject = format!(
        "account {} ({}:{})",
        account.id, account.platform, account.account_id
    );
    let (_, from, to) = ACCOUNT_TRANSITIONS
        .iter()
        .find(|(name, _, _)| *name == action.name())
        .copied()
        .expect("every action has a transition");
    if !from.contains(&account.status) {
        return Err(TransitionError::Forbidden {
            subject,
            action: action.name(),
            current: account.status.to_string(),
            allowed: allowed_account_actions(account.status),
        });
    }
    if at < account.status_changed_at {
        return Err(TransitionError::OutOfOrder {
            subject,
            at,
            previous: account.status_changed_at,
        });
    }
    if let Some(reason) = action.reason() {
        require(action.name(), "a reason (--reason)", reason)?;
    }
    let mut next = account.clone();
    next.status = to;
    next.status_changed_at = at;
    next.status_reason = action.reason().map(|r| r.trim().to_string());
    Ok(next)
}

/// Records a post seen at `at`; an older post than the one known changes
/// nothing (returns `None`).
pub fn record_post(account: &Account, at: DateTime<Utc>) -> Option<Account> {
    if account.last_post_at.is_some_and(|last| last >= at) {
        return None;
    }
    let mut next = account.clone();
    next.last_post_at = Some(at);
    Some(next)
}
