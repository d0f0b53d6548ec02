//! From this round's findings and what the store holds, what changes: a
//! finding that accuses waits (`pending`) until `confirmations`
//! independent observations have shown it; one that stops holding is
//! resolved, but only where this round measured its scope; an exception
//! in force suppresses it; an acknowledgement sticks while it holds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{Evaluation, Finding, FindingKind, FindingStatus, Severity};

/// A stored finding that is not resolved: what planning reads of it
/// (never its summary or evidence, so that a province's open findings
/// are cheap to hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub id: i64,
    pub kind: FindingKind,
    pub subject: String,
    pub scope: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub org_id: Option<i64>,
    /// Someone acknowledged it (whatever its status was then).
    pub acknowledged: bool,
    pub confirmations: u32,
    pub last_seen: DateTime<Utc>,
}

/// What to write. It borrows the round's findings and the stored ones,
/// so that planning a province's round copies none of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<'a> {
    Insert {
        finding: &'a Finding,
        status: FindingStatus,
        confirmations: u32,
    },
    Update {
        /// The finding as stored before this round.
        was: &'a Current,
        finding: &'a Finding,
        status: FindingStatus,
        confirmations: u32,
    },
    Resolve {
        was: &'a Current,
        at: DateTime<Utc>,
    },
}

/// Decides the changes. `suppressed` says whether an exception in force
/// waives a kind for a subject; `needed` is the policy's confirmations.
pub fn plan<'a>(
    current: &'a [Current],
    evaluation: &'a Evaluation,
    suppressed: impl Fn(FindingKind, &str) -> bool,
    needed: u32,
    now: DateTime<Utc>,
) -> Vec<Change<'a>> {
    let stored: BTreeMap<(FindingKind, &str), &Current> = current
        .iter()
        .map(|c| ((c.kind, c.subject.as_str()), c))
        .collect();
    let mut seen: BTreeSet<(FindingKind, &str)> = BTreeSet::new();
    let mut changes = Vec::new();
    for finding in &evaluation.findings {
        if !seen.insert((finding.kind, finding.subject.as_str())) {
            continue;
        }
        let existing = stored
            .get(&(finding.kind, finding.subject.as_str()))
            .copied();
        // An observation is independent of the last one only if it was
        // made later: evaluating the same observations twice confirms
        // nothing.
        let confirmations = match existing {
            Some(c) if finding.observed_at > c.last_seen => c.confirmations.saturating_add(1),
            Some(c) => c.confirmations.max(1),
            None => 1,
        };
        let confirmed = !finding.kind.accuses() || confirmations >= needed;
        let status = if !confirmed {
            FindingStatus::Pending
        } else if suppressed(finding.kind, &finding.subject) {
            FindingStatus::Suppressed
        } else if existing
            .is_some_and(|c| c.acknowledged || c.status == FindingStatus::Acknowledged)
        {
            FindingStatus::Acknowledged
        } else {
            FindingStatus::Open
        };
        changes.push(match existing {
            Some(c) => Change::Update {
                was: c,
                finding,
                status,
                confirmations,
            },
            None => Change::Insert {
                finding,
                status,
                confirmations,
            },
        });
    }
    for c in current {
        if seen.contains(&(c.kind, c.subject.as_str())) {
            continue;
        }
        if evaluation.judged(c.kind, &c.scope) {
            changes.push(Change::Resolve { was: c, at: now });
        }
    }
    changes
}
