//! What `siteward audit verify` finds: the places where the registry and
//! its hash-chained audit trail disagree. Produced by `store::audit`,
//! judged into a `registry_tampered` finding by `findings::integrity`,
//! shown by the CLI.

use std::collections::BTreeMap;

use serde::Serialize;

/// What `audit verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Audit rows walked.
    pub rows: u64,
    /// The newest row's id and hash: write it down to tell a rewritten
    /// chain from this one later.
    pub head: Option<Head>,
    /// Tracked entities compared with their last audited state.
    pub entities: u64,
    pub breaks: Vec<Break>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub row: i64,
    pub hash: String,
}

/// One place where the record and its audit trail disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The audit row concerned, if any.
    pub row: Option<i64>,
    /// The tracked entity concerned, if any.
    pub entity: Option<Entity>,
    pub kind: BreakKind,
    /// For a state that differs: each field, audited and now.
    pub differences: Vec<Difference>,
}

super::named_enum!(
    /// How the record and its trail disagree.
    BreakKind {
        /// A row without hashes: written around siteward.
        Unsealed = "unsealed",
        /// A row's content no longer matches its own hash.
        RowChanged = "row_changed",
        /// A row does not name the hash of the row before it: a row before
        /// it was removed, inserted or changed.
        LinkBroken = "link_broken",
        /// An entity's rows differ from its last audited state.
        StateDiffers = "state_differs",
        /// An entity with no audited state: created around siteward.
        NotAudited = "not_audited",
        /// An audited entity no longer in the database.
        Missing = "missing",
    }
);

/// One field that differs between two states of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The field, as `site.status` or `domains[0].state`.
    pub field: String,
    /// Its value before (for `audit verify`: as last audited);
    /// `(absent)` when it had none.
    pub before: String,
    /// Its value after (for `audit verify`: as the database holds it now).
    pub after: String,
}

/// The fields where two JSON texts differ (`[]` when either is not JSON).
pub fn differences_of_texts(before: &str, after: &str) -> Vec<Difference> {
    match (
        serde_json::from_str::<serde_json::Value>(before),
        serde_json::from_str::<serde_json::Value>(after),
    ) {
        (Ok(before), Ok(after)) => differences(&before, &after),
        _ => Vec::new(),
    }
}

/// The fields where two states differ, flattened to paths, in path order.
pub fn differences(before: &serde_json::Value, after: &serde_json::Value) -> Vec<Difference> {
    let flat = |value: &serde_json::Value| {
        let mut fields = BTreeMap::new();
        flatten(String::new(), value, &mut fields);
        fields
    };
    let (before, after) = (flat(before), flat(after));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| Difference {
            field: k.clone(),
            before: shown(before.get(k)),
            after: shown(after.get(k)),
        })
        .collect()
}

fn flatten(path: String, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let next = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(next, v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{path}[{i}]"), v, out);
            }
        }
        serde_json::Value::Null => {
            out.insert(path, "null".into());
        }
        serde_json::Value::String(s) => {
            out.insert(path, s.clone());
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row = self
            .row
            .map(|r| format!("audit row {r}"))
            .unwrap_or_default();
        let entity = self.entity.map(|e| e.to_string()).unwrap_or_default();
        match self.kind {
            BreakKind::Unsealed => write!(f, "{row}: has no hash (written around siteward)"),
            BreakKind::RowChanged => write!(
                f,
                "{row}: its content no longer matches its hash (changed after it was written)"
            ),
            BreakKind::LinkBroken => write!(
                f,
                "{row}: does not name the hash of the row before it (a row before it was removed, inserted or changed)"
            ),
            BreakKind::StateDiffers => {
                let fields: Vec<String> = self
                    .differences
                    .iter()
                    .map(|d| format!("{} is {} (audited: {})", d.field, d.after, d.before))
                    .collect();
                write!(
                    f,
                    "{entity}: differs from its last audited state ({row}): {}",
                    fields.join("; ")
                )
            }
            BreakKind::NotAudited => {
                write!(
                    f,
                    "{entity}: has no audited state (created around siteward)"
                )
            }
            BreakKind::Missing => write!(
                f,
                "{entity}: audited ({row}) but no longer in the database (deleted)"
            ),
        }
    }
}

super::named_enum!(
    /// The kinds of entity whose whole state the audit trail keeps.
    EntityKind {
        Site = "site",
        Org = "org",
        Account = "account",
        Exception = "exception",
    }
);

/// A tracked entity: a site (with its host names), an organization (with
/// its contacts), an account, or an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub id: i64,
}

impl Entity {
    /// The entity an audit row about `entity` (its `entity` column) is
    /// about, when it is tracked.
    pub fn of(entity: &str, id: i64) -> Option<Entity> {
        entity.parse().ok().map(|kind| Entity { kind, id })
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            EntityKind::Site => "site",
            EntityKind::Org => "organization",
            EntityKind::Account => "account",
            EntityKind::Exception => "exception",
        };
        write!(f, "{kind} {}", self.id)
    }
}
