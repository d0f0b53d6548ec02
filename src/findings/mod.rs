//! Findings: pure rules that turn the registry, this round's observations
//! and the policy into findings an administrator can act on, and the pure
//! bookkeeping that decides, against what the store already holds, which
//! findings open, wait for confirmation, stay, are suppressed by an
//! exception, or resolve. No I/O here: the caller reads the store and runs
//! the probes.
//!
//! No false alarms: a failure to measure (SERVFAIL, a timeout, a resolver
//! that is down, a host that hit its deadline) is reported as such and
//! neither raises nor resolves a finding about that host; a name that
//! resolves only through a wildcard proves nothing; findings that accuse a
//! site wait for `confirmations` independent observations.

mod confirm;
pub mod integrity;
mod kind;
mod rules;
pub mod text;
pub mod view;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use confirm::{Change, Current, plan};
pub use kind::{EventKind, FindingKind, FindingStatus, Severity};
pub use rules::{
    Inputs, Ipv6Tally, Judge, REGISTRY, Registry, evaluate, expected_names, fails_availability,
};

/// One thing that proves a finding: what a probe saw, in a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Evidence {
    /// The host name (or zone, or account) observed.
    pub subject: String,
    /// The probe kind: dns, delegation, tls, page, ipv6, feed, registry.
    pub probe: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub outcome: String,
    pub detail: String,
}

impl Evidence {
    pub fn new(subject: &str, probe: &str, outcome: &str, detail: String) -> Evidence {
        Evidence {
            subject: subject.to_string(),
            probe: probe.to_string(),
            address: None,
            outcome: outcome.to_string(),
            detail,
        }
    }

    pub fn at(mut self, address: impl ToString) -> Evidence {
        self.address = Some(address.to_string());
        self
    }
}

/// A finding as the rules raise it this round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// What it is about: a host name, `host address`, a zone, `host ->
    /// linked host`, an organization, or `platform:account`.
    pub subject: String,
    /// What must be measured again for the finding to change: the host
    /// name, `ns:zone`, `registry`, or `account:ID`.
    pub scope: String,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    /// One line a person can read, in Chinese.
    pub summary: String,
    /// What to do about it, in Chinese.
    pub action: String,
    pub evidence: Vec<Evidence>,
    /// When the observations it rests on were made.
    pub observed_at: DateTime<Utc>,
}

/// What must be measured again for a finding to change, as stored in its
/// `scope`: one place that writes and reads the forms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// A host name's own observations.
    Host(crate::registry::Hostname),
    /// A zone's delegation (`ns:ZONE`).
    Zone(String),
    /// An account's feed or posts (`account:ID`).
    Account(i64),
    /// The registry itself (`registry`).
    Registry,
    /// The audit trail's verification (`audit`).
    Audit,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Host(host) => f.write_str(host.as_str()),
            Scope::Zone(zone) => write!(f, "ns:{zone}"),
            Scope::Account(id) => write!(f, "account:{id}"),
            Scope::Registry => f.write_str("registry"),
            Scope::Audit => f.write_str("audit"),
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        if s == "registry" {
            return Ok(Scope::Registry);
        }
        if s == "audit" {
            return Ok(Scope::Audit);
        }
        if let Some(zone) = s.strip_prefix("ns:") {
            return Ok(Scope::Zone(zone.to_string()));
        }
        if let Some(id) = s.strip_prefix("account:") {
            return id
                .parse()
                .map(Scope::Account)
                .map_err(|_| format!("`{s}` names no account id"));
        }
        s.parse()
            .map(Scope::Host)
            .map_err(|_| format!("`{s}` is not a finding scope"))
    }
}

/// Something that could not be measured this round: reported as a
/// failure to measure, never as a fact about a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MeasurementFailure {
    pub scope: String,
    pub reason: String,
}

/// What one evaluation found.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Scopes measured this round: a stored finding whose scope is not
    /// here is left as it is (neither confirmed nor resolved).
    pub measured: BTreeSet<String>,
    /// Kinds that could not be judged for a measured scope (for example
    /// IPv6 when this machine has no IPv6 at all).
    pub unjudged: BTreeSet<(FindingKind, String)>,
    pub failures: Vec<MeasurementFailure>,
    /// Whether this machine reached IPv6 in this round (or was told so).
    pub ipv6_works: bool,
}

impl Evaluation {
    /// Whether a stored finding of `kind` on `scope` was judged this round.
    pub fn judged(&self, kind: FindingKind, scope: &str) -> bool {
        self.measured.contains(scope) && !self.unjudged.contains(&(kind, scope.to_string()))
    }
}
