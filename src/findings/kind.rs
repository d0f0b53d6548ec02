//! The finding kinds: stable identifiers shared by the CLI, the API,
//! alerts, metrics and reports, with what each one accuses and its default
//! severity. Policy may change the severity, never the identifier.

use serde::Serialize;

use crate::registry::named_enum;

named_enum!(
    /// What a finding says is wrong.
    FindingKind {
        UnapprovedSite = "unapproved_site",
        OfflineStillResolving = "offline_still_resolving",
        UnreachableButResolving = "unreachable_but_resolving",
        NotResolving = "not_resolving",
        DanglingCname = "dangling_cname",
        DanglingNs = "dangling_ns",
        WildcardRecord = "wildcard_record",
        StaleAddress = "stale_address",
        LinkToRetiredDomain = "link_to_retired_domain",
        SuspectedTampering = "suspected_tampering",
        ProhibitedTermMentioned = "prohibited_term_mentioned",
        SiteCodeMissingOnPage = "site_code_missing_on_page",
        SiteCodeMismatch = "site_code_mismatch",
        LiveWithoutCode = "live_without_code",
        Ipv6Missing = "ipv6_missing",
        Ipv6Unreachable = "ipv6_unreachable",
        Ipv6Partial = "ipv6_partial",
        CertExpired = "cert_expired",
        CertExpiring = "cert_expiring",
        CertNotYetValid = "cert_not_yet_valid",
        CertHostnameMismatch = "cert_hostname_mismatch",
        CertUntrusted = "cert_untrusted",
        CertWeak = "cert_weak",
        TlsHandshakeFailed = "tls_handshake_failed",
        HttpsMissing = "https_missing",
        CertSm2 = "cert_sm2",
        DomainNotAllowed = "domain_not_allowed",
        RegistryConflict = "registry_conflict",
        AccountStale = "account_stale",
        AccountClosedButActive = "account_closed_but_active",
        RegistryTampered = "registry_tampered",
    }
);

named_enum!(
    /// How bad a finding is. `critical` is a single veto (单项否决).
    Severity {
        Critical = "critical",
        Warning = "warning",
        Info = "info",
    }
);

named_enum!(
    /// Where a finding stands. `pending` waits for confirmation and is
    /// shown to nobody by default.
    FindingStatus {
        Pending = "pending",
        Open = "open",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
        Suppressed = "suppressed",
    }
);

named_enum!(
    /// A change in a finding's life, recorded as an event in the
    /// transaction that makes it.
    EventKind {
        /// First seen, awaiting confirmation.
        Detected = "detected",
        /// Confirmed: open.
        Opened = "opened",
        SeverityChanged = "severity_changed",
        Acknowledged = "acknowledged",
        /// An exception in force waives it.
        Suppressed = "suppressed",
        Resolved = "resolved",
        /// Confirmed again after it had been resolved.
        Reopened = "reopened",
    }
);

impl FindingKind {
    /// Kinds that accuse a site of something it may not have done need
    /// `confirmations` independent observations before they open: one bad
    /// observation is not a finding.
    pub fn accuses(self) -> bool {
        use FindingKind::*;
        matches!(
            self,
            UnapprovedSite
                | OfflineStillResolving
                | UnreachableButResolving
                | NotResolving
                | DanglingCname
                | DanglingNs
                | StaleAddress
                | SuspectedTampering
                | Ipv6Unreachable
                | Ipv6Partial
                | TlsHandshakeFailed
        )
    }

    /// The severity when policy says nothing.
    pub fn default_severity(self) -> Severity {
        use FindingKind::*;
        match self {
            UnapprovedSite
            | OfflineStillResolving
            | UnreachableButResolving
            | NotResolving
            | DanglingCname
            | DanglingNs
            | LinkToRetiredDomain
            | SuspectedTampering
            | CertExpired
            | CertNotYetValid
            | CertHostnameMismatch
            | RegistryTampered => Severity::Critical,
            CertSm2 | ProhibitedTermMentioned | WildcardRecord => Severity::Info,
            _ => Severity::Warning,
        }
    }
}
