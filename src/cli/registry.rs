//! The registry's verbs: `org`, `site`, `account`, `audit`, `exception`
//! and `code`.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::{When, deadline, hostname, name, note, parsed, platform, time};
use crate::registry::{
    AccountStatus, DivisionCode, Hostname, OrgLevel, Platform, SiteCode, SiteKind, SiteStatus,
};

#[derive(Debug, Clone, Args)]
pub struct ExceptionArgs {
    /// Register a host name outside the allowed suffixes anyway, with this
    /// reason (comply or explain); needs --until.
    #[arg(long, value_name = "REASON", requires = "until", value_parser = note)]
    pub exception: Option<String>,
    /// When the exception expires; a bare date (2026-06-30) lasts through
    /// that day, China Standard Time. In the future, and at most the
    /// policy's max_exception_days (365) ahead.
    #[arg(long, value_name = "DATE", value_parser = deadline, requires = "exception")]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organization. Its division code must fit its level
    /// (province xx0000, prefecture xxxx00, county otherwise), and lie
    /// within its parent's, which is of a higher or the same level.
    Add {
        /// The organization's name (unique), as on its seal.
        #[arg(long, value_parser = name)]
        name: String,
        /// Administrative division code (6 digits, GB/T 2260).
        #[arg(long, value_parser = parsed::<DivisionCode>)]
        division: DivisionCode,
        #[arg(long, value_parser = parsed::<OrgLevel>, help = "central, province, prefecture, county or township")]
        level: OrgLevel,
        /// The parent organization's name.
        #[arg(long, value_parser = name)]
        parent: Option<String>,
        /// Contact e-mail for alerts (repeatable).
        #[arg(long, value_parser = name)]
        email: Vec<String>,
        /// Webhook URL for alerts (repeatable).
        #[arg(long, value_parser = name)]
        webhook: Vec<String>,
    },
    /// Correct an organization (by name or id): its name, division, level,
    /// parent or contacts. Checked as `org add` is, and its children
    /// against it as changed; its sites, accounts and children stay
    /// attached. Audited with --reason.
    Edit {
        /// The organization's name or id.
        org: String,
        /// A new name (unique).
        #[arg(long, value_parser = name)]
        name: Option<String>,
        /// A new administrative division code (6 digits, GB/T 2260).
        #[arg(long, value_parser = parsed::<DivisionCode>)]
        division: Option<DivisionCode>,
        #[arg(long, value_parser = parsed::<OrgLevel>, help = "A new level: central, province, prefecture, county or township")]
        level: Option<OrgLevel>,
        /// A new parent organization, by name.
        #[arg(long, conflicts_with = "no_parent", value_parser = name)]
        parent: Option<String>,
        /// Leave it without a parent.
        #[arg(long)]
        no_parent: bool,
        /// Add a contact e-mail for alerts (repeatable).
        #[arg(long, value_parser = name)]
        email: Vec<String>,
        /// Add a webhook URL for alerts (repeatable).
        #[arg(long, value_parser = name)]
        webhook: Vec<String>,
        /// Stop using a contact e-mail (repeatable; its record is kept).
        #[arg(long, value_name = "EMAIL", value_parser = name)]
        remove_email: Vec<String>,
        /// Stop using a webhook, given whole or masked as `org show`
        /// prints it (repeatable; its record is kept).
        #[arg(long, value_name = "URL", value_parser = name)]
        remove_webhook: Vec<String>,
        /// Why, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// List organizations.
    List,
    /// Show one organization with its sites and accounts.
    Show {
        /// The organization's name or id.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Request a new site (→ requested).
    Request {
        /// The site's name, as in the national reporting system.
        #[arg(long, value_parser = name)]
        name: String,
        /// The organizer's name.
        #[arg(long, value_parser = name)]
        org: String,
        #[arg(long, value_parser = parsed::<SiteKind>, help = "portal, department or special")]
        kind: SiteKind,
        /// Host name (repeatable; the first is primary).
        #[arg(long = "domain", required = true, value_parser = hostname)]
        domains: Vec<Hostname>,
        /// Identifier code, if already issued.
        #[arg(long, value_parser = parsed::<SiteCode>)]
        code: Option<SiteCode>,
        /// ICP filing number (ICP备案号).
        #[arg(long, value_parser = note)]
        icp: Option<String>,
        /// Public-security filing number (公安机关备案号).
        #[arg(long, value_parser = note)]
        psb: Option<String>,
        #[command(flatten)]
        exception: ExceptionArgs,
        #[command(flatten)]
        when: When,
    },
    /// Approve a requested site (→ approved).
    Approve {
        /// The site: its id, identifier code or host name.
        site: String,
        /// Approval document reference, e.g. 甘政办函〔2026〕12号.
        #[arg(long = "ref", value_name = "DOC", value_parser = note)]
        reference: String,
        #[command(flatten)]
        when: When,
    },
    /// Reject a requested site (→ rejected).
    Reject {
        /// The site: its id, identifier code or host name.
        site: String,
        /// Why it is rejected, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// An approved site goes live with its identifier code (→ live).
    GoLive {
        /// The site: its id, identifier code or host name.
        site: String,
        /// Its identifier code (网站标识码), unless it already has one.
        #[arg(long, value_parser = parsed::<SiteCode>)]
        code: Option<SiteCode>,
        #[command(flatten)]
        when: When,
    },
    /// Suspend a live site (→ suspended).
    Suspend {
        /// The site: its id, identifier code or host name.
        site: String,
        /// Why it is suspended, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Resume a suspended site (→ live).
    Resume {
        /// The site: its id, identifier code or host name.
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Retire a site: the closure notice goes up (→ retiring).
    Retire {
        /// The site: its id, identifier code or host name.
        site: String,
        /// Retirement approval document reference.
        #[arg(long = "ref", value_name = "DOC", value_parser = note)]
        reference: String,
        /// The successor site's URL, named by the closure notice.
        #[arg(long, value_name = "URL", value_parser = note)]
        successor: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Take a retiring site offline after its notice period; its domains
    /// start releasing (→ offline).
    Offline {
        /// The site: its id, identifier code or host name.
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Close an offline site once its domains are deregistered (→ closed).
    Close {
        /// The site: its id, identifier code or host name.
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Show one site (by id, identifier code or host name).
    Show {
        /// The site: its id, identifier code or host name.
        site: String,
    },
    /// List sites.
    List {
        /// Only sites in this status: requested, approved, rejected, live, suspended, retiring, offline or closed.
        #[arg(long, value_parser = parsed::<SiteStatus>)]
        status: Option<SiteStatus>,
        /// Only the sites of this organization (its name).
        #[arg(long, value_parser = name)]
        org: Option<String>,
        /// Only sites of this kind: portal, department or special.
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
    },

    /// Correct a wrongly recorded lifecycle event (see `audit --site`):
    /// re-date it with --at, or --void it (the latest transition only). A
    /// new audited event names the one it corrects; nothing is deleted.
    Correct {
        /// The site: its id, identifier code or host name.
        site: String,
        /// The event's audit row id (`siteward audit --site SITE`).
        #[arg(long, value_name = "ID")]
        event: i64,
        /// When it really happened (RFC 3339, or YYYY-MM-DD [HH:MM] in
        /// China Standard Time).
        #[arg(long, value_parser = super::time, value_name = "TIME", conflicts_with = "void", required_unless_present = "void")]
        at: Option<DateTime<Utc>>,
        /// It never happened: the site returns to its state before it.
        #[arg(long)]
        void: bool,
        /// What was wrong (required).
        #[arg(long, value_parser = note)]
        reason: String,
    },
    /// Change a site's details or host names.
    Edit {
        /// The site: its id, identifier code or host name.
        site: String,
        /// A new name.
        #[arg(long, value_parser = name)]
        name: Option<String>,
        /// A new kind: portal, department or special.
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
        /// A new organizer (its name).
        #[arg(long, value_parser = name)]
        org: Option<String>,
        /// A new identifier code (网站标识码).
        #[arg(long, value_parser = parsed::<SiteCode>)]
        code: Option<SiteCode>,
        /// The ICP filing number (ICP备案号).
        #[arg(long, value_parser = note)]
        icp: Option<String>,
        /// The public-security filing number (公安机关备案号).
        #[arg(long, value_parser = note)]
        psb: Option<String>,
        /// The successor site's URL, named by the closure notice.
        #[arg(long, value_name = "URL", value_parser = note)]
        successor: Option<String>,
        /// Add an alias host name (repeatable).
        #[arg(long, value_parser = hostname)]
        add_domain: Vec<Hostname>,
        /// Release a host name from the site (repeatable; never deleted).
        #[arg(long, value_parser = hostname)]
        release_domain: Vec<Hostname>,
        /// Make this host name the primary one (added if new).
        #[arg(long, value_parser = hostname)]
        primary: Option<Hostname>,
        /// Why, recorded in the audit trail; required to change a live
        /// site's code, organizer or primary host name.
        #[arg(long, value_parser = note)]
        reason: Option<String>,
        /// The document that decided the change (甘政办〔2026〕12号), as
        /// an alternative or addition to --reason.
        #[arg(long = "ref", value_name = "REF", value_parser = note)]
        reference: Option<String>,
        #[command(flatten)]
        exception: ExceptionArgs,
        #[command(flatten)]
        when: When,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Register an account (→ active).
    Add {
        #[arg(long, value_parser = platform, help = "wechat_service, wechat_subscription, wechat_channels, weibo, douyin, toutiao, kuaishou, bilibili, app or other; or as import reads them: 微信公众号, 微博, 抖音, 今日头条, 快手, 哔哩哔哩…")]
        platform: Platform,
        /// The account id on the platform.
        #[arg(long, value_parser = name)]
        handle: String,
        /// Display name.
        #[arg(long, value_parser = name)]
        name: String,
        /// The organization that runs it (its name).
        #[arg(long, value_parser = name)]
        org: String,
        /// RSS, Atom or JSON Feed URL of its posts.
        #[arg(long, value_parser = note)]
        feed: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Suspend an active account (→ suspended), with a reason.
    Suspend {
        /// The account: its id, or PLATFORM:ACCOUNT_ID (weibo:gansufabu).
        account: String,
        /// Why it is suspended, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Resume a suspended account (→ active).
    Resume {
        /// The account: its id, or PLATFORM:ACCOUNT_ID (weibo:gansufabu).
        account: String,
        #[command(flatten)]
        when: When,
    },
    /// Close an account for good (→ closed), with a reason.
    Close {
        /// The account: its id, or PLATFORM:ACCOUNT_ID (weibo:gansufabu).
        account: String,
        /// Why it is closed, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Correct an account's display name, organization or feed. Its
    /// platform and account id are not edited (findings, exceptions and
    /// the national export know it by them): close it and add it again.
    /// Audited with --reason.
    Edit {
        /// The account: its id, or PLATFORM:ACCOUNT_ID (weibo:gansufabu).
        account: String,
        /// A new display name.
        #[arg(long, value_parser = name)]
        name: Option<String>,
        /// The organization that runs it (name or id).
        #[arg(long, value_parser = name)]
        org: Option<String>,
        /// A new RSS, Atom or JSON Feed URL of its posts.
        #[arg(long, conflicts_with = "no_feed", value_parser = note)]
        feed: Option<String>,
        /// It has no feed any more.
        #[arg(long)]
        no_feed: bool,
        /// Why, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Record a post seen on the account: now, or at --at.
    Seen {
        /// The account (id, or platform:account id).
        account: String,
        /// When the post was seen (RFC 3339, or YYYY-MM-DD [HH:MM] in
        /// China Standard Time); default now.
        #[arg(long, value_parser = time, value_name = "TIME")]
        at: Option<DateTime<Utc>>,
    },
    /// List accounts.
    List {
        /// Only accounts in this status: active, suspended or closed.
        #[arg(long, value_parser = parsed::<AccountStatus>)]
        status: Option<AccountStatus>,
    },
    /// Show one account.
    Show {
        /// The account: its id, or PLATFORM:ACCOUNT_ID (weibo:gansufabu).
        account: String,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only rows about this site (id, code or host name) and its domains.
    #[arg(long)]
    pub site: Option<String>,
    /// Only rows about this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only rows about this organization.
    #[arg(long, value_parser = name)]
    pub org: Option<String>,
    /// Only the latest N rows.
    #[arg(long, value_name = "N")]
    pub last: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash-chained audit trail and compare every site,
    /// organization, account and exception with its last audited state.
    /// Exits 3 when anything disagrees: a row changed, removed or inserted
    /// around siteward, or a record changed in the database directly.
    ///
    /// It proves that nothing changed around siteward since the head
    /// printed at the end was last seen; whoever can write the database
    /// could also recompute the whole chain, so keep the head somewhere
    /// else (the daily `audit` job logs it).
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Record a comply-or-explain exception: a rule waived for a subject,
    /// with a reason, until a date.
    Add {
        /// The finding kind waived (see `siteward findings --help`).
        #[arg(long)]
        kind: String,
        /// What it is waived for: the finding's subject (a host name, a
        /// zone, `host address`, `platform:account`).
        #[arg(long, value_parser = name)]
        subject: String,
        /// Why the rule is waived, recorded in the audit trail.
        #[arg(long, value_parser = note)]
        reason: String,
        /// When the exception expires; a bare date (2026-06-30) lasts
        /// through that day, China Standard Time. In the future, and at
        /// most the policy's max_exception_days (365) ahead.
        #[arg(long, value_parser = deadline, value_name = "DATE")]
        until: DateTime<Utc>,
    },
    /// List comply-or-explain exceptions.
    List,
    /// End an exception now, before its date: the rule applies again from
    /// the next check. Kept, with why, in the audit trail.
    End {
        /// The exception's id (`exception list`).
        id: i64,
        /// Why it ends early (required).
        #[arg(long, value_parser = note)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct CodeArgs {
    /// The identifier code (网站标识码) to check.
    pub code: String,
    /// The organizer, to check the prefix against its division.
    #[arg(long, value_parser = name)]
    pub org: Option<String>,
}
