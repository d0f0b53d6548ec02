//! Findings as people and scripts ask for them: listed by status and
//! kind (all at once for the command line, a page at a time for the API,
//! filtered in the store), acknowledged, and the names of the sites and
//! organizations they point at (a finding stores their ids). The rules that raise and
//! resolve findings are in `crate::findings`, the cycle that runs them in
//! [`super::checks`]; nothing here prints.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Utc;

use crate::access::Visible;
use crate::findings::{FindingKind, FindingStatus};
use crate::registry::{Invalid, Organization, Site};
use crate::store::{FindingPageQuery, SiteFilter, Store, StoreError, StoredFinding};

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
    pub fn statuses(self) -> Vec<FindingStatus> {
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

/// The names of the sites and organizations `findings` point at, and
/// only theirs (a page of findings reads a page of names, not the
/// registry).
pub fn names_of(store: &Store, findings: &[StoredFinding]) -> Result<Names, StoreError> {
    let (sites, orgs) = store.finding_names(findings)?;
    Ok(Names { sites, orgs })
}

/// Which organizations' findings a listing may show, as the store filters
/// them: those the caller sees, narrowed to `org` and to the
/// organizations whose division code starts with `division` when given.
/// `None`: no narrowing at all (findings of no organization included);
/// an empty list: none.
pub fn org_scope(
    store: &Store,
    visible: &Visible,
    org: Option<i64>,
    division: Option<&str>,
) -> Result<Option<Vec<i64>>, StoreError> {
    let mut scope: Option<std::collections::BTreeSet<i64>> = match visible {
        Visible::All => None,
        Visible::Orgs { ids, .. } => Some(ids.clone()),
    };
    let mut narrow = |ids: std::collections::BTreeSet<i64>| {
        scope = Some(match scope.take() {
            None => ids,
            Some(seen) => seen.intersection(&ids).copied().collect(),
        });
    };
    if let Some(org) = org {
        narrow([org].into_iter().collect());
    }
    if let Some(prefix) = division {
        narrow(store.org_ids_in_division(prefix)?.into_iter().collect());
    }
    Ok(scope.map(|ids| ids.into_iter().collect()))
}

/// One page of the findings `query` asks for, with the names they point
/// at.
pub fn page(
    store: &Store,
    query: &FindingPageQuery,
) -> Result<(Vec<StoredFinding>, Names), StoreError> {
    let findings = store.findings_page(query)?;
    let names = names_of(store, &findings)?;
    Ok((findings, names))
}

/// Finding `id` with its events, if `visible` sees it: a finding belongs
/// to its organization, or to its site's; one of neither is seen only by
/// those who see everything. Not found otherwise, in the same words.
pub fn visible_finding(
    store: &Store,
    visible: &Visible,
    id: i64,
) -> Result<(StoredFinding, Vec<crate::store::FindingEvent>), StoreError> {
    let (finding, events) = store.finding_with_events(id)?;
    if !visible.all() && !visible.maybe_org_id(store.finding_owner(&finding)?) {
        return Err(StoreError::NotFound {
            what: "finding",
            key: id.to_string(),
        });
    }
    Ok((finding, events))
}
