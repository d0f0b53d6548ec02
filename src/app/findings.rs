//! Findings as people and scripts ask for them: listed by status and
//! kind, acknowledged, and the names of the sites and organizations they
//! point at (a finding stores their ids). The rules that raise and
//! resolve findings are in `crate::findings`, the cycle that runs them in
//! [`super::checks`]; nothing here prints.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Utc;

use crate::findings::{FindingKind, FindingStatus};
use crate::registry::{Invalid, Organization, Site};
use crate::store::{SiteFilter, Store, StoreError, StoredFinding};

/// Which statuses a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Open and acknowledged: what someone has to act on. Pending ones
    /// wait for confirmation and are shown to nobody by default.
    #[default]
    Current,
    All,
    Only(FindingStatus),
}

impl StatusFilter {
    /// The statuses to read from the store; every one when empty.
    fn statuses(self) -> Vec<FindingStatus> {
        match self {
            StatusFilter::Current => vec![FindingStatus::Open, FindingStatus::Acknowledged],
            StatusFilter::All => Vec::new(),
            StatusFilter::Only(status) => vec![status],
        }
    }

    pub fn matches(self, status: FindingStatus) -> bool {
        let statuses = self.statuses();
        statuses.is_empty() || statuses.contains(&status)
    }
}

/// A status's name, or `all`.
impl FromStr for StatusFilter {
    type Err = Invalid;

    fn from_str(raw: &str) -> Result<StatusFilter, Invalid> {
        match raw {
            "all" => Ok(StatusFilter::All),
            raw => raw.parse().map(StatusFilter::Only),
        }
    }
}

/// Which findings to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub status: StatusFilter,
    /// Only findings of this kind.
    pub kind: Option<FindingKind>,
}

/// The findings `query` asks for, oldest first.
pub fn list(store: &Store, query: &FindingQuery) -> Result<Vec<StoredFinding>, StoreError> {
    let mut list = store.findings(&query.status.statuses())?;
    if let Some(kind) = query.kind {
        list.retain(|f| f.kind == kind);
    }
    Ok(list)
}

/// Acknowledges finding `id` now: someone is on it. It stays
/// acknowledged while it holds, and resolves when it stops.
pub fn acknowledge(
    store: &Store,
    id: i64,
    change: &crate::store::Change,
    note: &str,
) -> Result<StoredFinding, StoreError> {
    // Whoever acknowledges says why: the note is what the next person
    // reads, and the audit trail keeps it.
    if note.trim().is_empty() {
        return Err(crate::registry::Invalid::new(
            "note",
            note,
            "is empty: say what is being done about the finding",
        )
        .into());
    }
    store.acknowledge_finding(id, change, note.trim())
}

/// Findings open (or acknowledged) past their rectification deadline at
/// `now`, each with its deadline, oldest deadline first.
pub fn overdue(
    store: &Store,
    policy: &crate::policy::Policy,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<(StoredFinding, chrono::DateTime<Utc>)>, StoreError> {
    let mut out: Vec<(StoredFinding, chrono::DateTime<Utc>)> = store
        .findings(&[FindingStatus::Open, FindingStatus::Acknowledged])?
        .into_iter()
        .filter_map(|f| {
            let due = policy
                .alerts
                .deadlines
                .due(f.kind, f.severity, f.opened_at?)?;
            (due <= now).then_some((f, due))
        })
        .collect();
    out.sort_by_key(|(f, due)| (*due, f.id));
    Ok(out)
}

/// How many of `findings` are in `status`.
pub fn count(findings: &[StoredFinding], status: FindingStatus) -> usize {
    findings.iter().filter(|f| f.status == status).count()
}

/// The names of the sites and organizations findings point at, by id.
#[derive(Debug, Default)]
pub struct Names {
    /// Each site's name and identifier code.
    pub sites: HashMap<i64, (String, Option<String>)>,
    pub orgs: HashMap<i64, String>,
}

impl Names {
    pub fn new(sites: &[Site], orgs: &[Organization]) -> Names {
        Names {
            sites: sites
                .iter()
                .map(|s| {
                    (
                        s.id,
                        (s.name.clone(), s.code.as_ref().map(|c| c.to_string())),
                    )
                })
                .collect(),
            orgs: orgs.iter().map(|o| (o.id, o.name.clone())).collect(),
        }
    }
}

/// The names of every site and organization, for the findings that point
/// at them.
pub fn names(store: &Store) -> Result<Names, StoreError> {
    Ok(Names::new(
        &store.sites(&SiteFilter::default())?,
        &store.orgs()?,
    ))
}
