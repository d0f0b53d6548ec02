//! The registry's verbs: `org`, `site`, `account`, `audit`, `exception`
//! and `code`.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::{When, deadline, hostname, parsed, time};
use crate::registry::{
    AccountStatus, DivisionCode, Hostname, OrgLevel, Platform, SiteCode, SiteKind, SiteStatus,
};

#[derive(Debug, Clone, Args)]
pub struct ExceptionArgs {
    /// Register a host name outside the allowed suffixes anyway, with this
    /// reason (comply or explain); needs --until.
    #[arg(long, value_name = "REASON", requires = "until")]
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
        #[arg(long)]
        name: String,
        /// Administrative division code (6 digits, GB/T 2260).
        #[arg(long, value_parser = parsed::<DivisionCode>)]
        division: DivisionCode,
        #[arg(long, value_parser = parsed::<OrgLevel>, help = "central, province, prefecture, county or township")]
        level: OrgLevel,
        /// The parent organization's name.
        #[arg(long)]
        parent: Option<String>,
        /// Contact e-mail for alerts (repeatable).
        #[arg(long)]
        email: Vec<String>,
        /// Webhook URL for alerts (repeatable).
        #[arg(long)]
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
        #[arg(long)]
        name: Option<String>,
        /// A new administrative division code (6 digits, GB/T 2260).
        #[arg(long, value_parser = parsed::<DivisionCode>)]
        division: Option<DivisionCode>,
        #[arg(long, value_parser = parsed::<OrgLevel>, help = "A new level: central, province, prefecture, county or township")]
        level: Option<OrgLevel>,
        /// A new parent organization, by name.
        #[arg(long, conflicts_with = "no_parent")]
        parent: Option<String>,
        /// Leave it without a parent.
        #[arg(long)]
        no_parent: bool,
        /// Add a contact e-mail for alerts (repeatable).
        #[arg(long)]
        email: Vec<String>,
        /// Add a webhook URL for alerts (repeatable).
        #[arg(long)]
        webhook: Vec<String>,
        /// Stop using a contact e-mail (repeatable; its record is kept).
        #[arg(long, value_name = "EMAIL")]
        remove_email: Vec<String>,
        /// Stop using a webhook, given whole or masked as `org show`
        /// prints it (repeatable; its record is kept).
        #[arg(long, value_name = "URL")]
        remove_webhook: Vec<String>,
        /// Why, recorded in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// List organizations.
    List,
    /// Show one organization with its sites and accounts.
    Show { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Request a new site (→ requested).
    Request {
        #[arg(long)]
        name: String,
        /// The organizer's name.
        #[arg(long)]
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
        #[arg(long)]
        icp: Option<String>,
        /// Public-security filing number (公安机关备案号).
        #[arg(long)]
        psb: Option<String>,
        #[command(flatten)]
        exception: ExceptionArgs,
        #[command(flatten)]
        when: When,
    },
    /// Approve a requested site (→ approved).
    Approve {
        site: String,
        /// Approval document reference, e.g. 甘政办函〔2026〕12号.
        #[arg(long = "ref", value_name = "DOC")]
        reference: String,
        #[command(flatten)]
        when: When,
    },
    /// Reject a requested site (→ rejected).
    Reject {
        site: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// An approved site goes live with its identifier code (→ live).
    GoLive {
        site: String,
        #[arg(long, value_parser = parsed::<SiteCode>)]
        code: Option<SiteCode>,
        #[command(flatten)]
        when: When,
    },
    /// Suspend a live site (→ suspended).
    Suspend {
        site: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Resume a suspended site (→ live).
    Resume {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Retire a site: the closure notice goes up (→ retiring).
    Retire {
        site: String,
        /// Retirement approval document reference.
        #[arg(long = "ref", value_name = "DOC")]
        reference: String,
        /// The successor site's URL, named by the closure notice.
        #[arg(long, value_name = "URL")]
        successor: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Take a retiring site offline after its notice period; its domains
    /// start releasing (→ offline).
    Offline {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Close an offline site once its domains are deregistered (→ closed).
    Close {
        site: String,
        #[command(flatten)]
        when: When,
    },
    /// Show one site (by id, identifier code or host name).
    Show { site: String },
    /// List sites.
    List {
        #[arg(long, value_parser = parsed::<SiteStatus>)]
        status: Option<SiteStatus>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
    },

    /// Correct a wrongly recorded lifecycle event (see `audit --site`):
    /// re-date it with --at, or --void it (the latest transition only). A
    /// new audited event names the one it corrects; nothing is deleted.
    Correct {
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
        #[arg(long)]
        reason: String,
    },
    /// Change a site's details or host names.
    Edit {
        site: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = parsed::<SiteKind>)]
        kind: Option<SiteKind>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, value_parser = parsed::<SiteCode>)]
        code: Option<SiteCode>,
        #[arg(long)]
        icp: Option<String>,
        #[arg(long)]
        psb: Option<String>,
        #[arg(long, value_name = "URL")]
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
        #[arg(long)]
        reason: Option<String>,
        /// The document that decided the change (甘政办〔2026〕12号), as
        /// an alternative or addition to --reason.
        #[arg(long = "ref", value_name = "REF")]
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
        #[arg(long, value_parser = parsed::<Platform>, help = "wechat_service, wechat_subscription, wechat_channels, weibo, douyin, toutiao, kuaishou, bilibili, app or other")]
        platform: Platform,
        /// The account id on the platform.
        #[arg(long)]
        handle: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: String,
        /// RSS, Atom or JSON Feed URL of its posts.
        #[arg(long)]
        feed: Option<String>,
        #[command(flatten)]
        when: When,
    },
    Suspend {
        account: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    Resume {
        account: String,
        #[command(flatten)]
        when: When,
    },
    Close {
        account: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        when: When,
    },
    /// Correct an account's display name, organization or feed. Its
    /// platform and account id are not edited (findings, exceptions and
    /// the national export know it by them): close it and add it again.
    /// Audited with --reason.
    Edit {
        account: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// The organization that runs it (name or id).
        #[arg(long)]
        org: Option<String>,
        /// A new RSS, Atom or JSON Feed URL of its posts.
        #[arg(long, conflicts_with = "no_feed")]
        feed: Option<String>,
        /// It has no feed any more.
        #[arg(long)]
        no_feed: bool,
        /// Why, recorded in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        when: When,
    },
    /// Record a post seen at --at.
    Seen {
        account: String,
        #[arg(long, value_parser = time, value_name = "TIME")]
        at: DateTime<Utc>,
    },
    List {
        #[arg(long, value_parser = parsed::<AccountStatus>)]
        status: Option<AccountStatus>,
    },
    Show {
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
    #[arg(long)]
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
        #[arg(long)]
        subject: String,
        #[arg(long)]
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
        id: i64,
        /// Why it ends early (required).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct CodeArgs {
    pub code: String,
    /// The organizer, to check the prefix against its division.
    #[arg(long)]
    pub org: Option<String>,
}
