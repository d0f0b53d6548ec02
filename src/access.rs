//! Who may do what through the API (and the web page): the three roles,
//! and the organizations a token is limited to. Pure: the store keeps the
//! tokens (`store::tokens`), `app::tokens` makes and checks them, and the
//! faces ask a [`Caller`] before they act.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::registry::{DivisionCode, Invalid, Organization};

/// What a token may do. Each role may do what the one before it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Also acknowledges findings, adds exceptions, starts checks and
    /// records account posts.
    Operator,
    /// Also changes the registry, imports, and manages tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(raw: &str) -> Result<Role, Invalid> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| Invalid::new("role", raw, "must be viewer, operator or admin"))
    }
}

/// Whether `inner` lies within `outer`: the same division, or one below
/// it (a province holds every code that starts with its two digits, a
/// prefecture every code that starts with its four).
pub fn division_within(inner: &DivisionCode, outer: &DivisionCode) -> bool {
    let outer = outer.as_str();
    let kept = outer.trim_end_matches("00");
    // `110000` keeps `11`, `110100` keeps `1101`; a county keeps all six.
    let kept = if kept.len() % 2 == 1 {
        &outer[..kept.len() + 1]
    } else {
        kept
    };
    inner.as_str().starts_with(kept)
}

/// What a token is limited to, as stored: organization ids, and whether
/// those below them count too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limit {
    /// Empty: every organization.
    pub orgs: Vec<i64>,
    pub with_subordinates: bool,
}

/// The organizations a caller sees, resolved against the registry as it
/// is now (an organization added later under a limited division is seen
/// once it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    All,
    /// These organizations, by id and by name.
    Orgs {
        ids: BTreeSet<i64>,
        names: BTreeSet<String>,
    },
}

impl Visible {
    /// What `limit` lets see among `orgs`.
    pub fn resolve(limit: &Limit, orgs: &[Organization]) -> Visible {
        if limit.orgs.is_empty() {
            return Visible::All;
        }
        let roots: Vec<&Organization> =
            orgs.iter().filter(|o| limit.orgs.contains(&o.id)).collect();
        let seen = orgs.iter().filter(|org| {
            roots.iter().any(|root| {
                root.id == org.id
                    || (limit.with_subordinates && division_within(&org.division, &root.division))
            })
        });
        let (ids, names) = seen.map(|o| (o.id, o.name.clone())).unzip();
        Visible::Orgs { ids, names }
    }

    pub fn all(&self) -> bool {
        matches!(self, Visible::All)
    }

    pub fn org_id(&self, id: i64) -> bool {
        match self {
            Visible::All => true,
            Visible::Orgs { ids, .. } => ids.contains(&id),
        }
    }

    pub fn org_name(&self, name: &str) -> bool {
        match self {
            Visible::All => true,
            Visible::Orgs { names, .. } => names.contains(name),
        }
    }

    /// A finding or row that may have no organization: one with none is
    /// seen only by callers who see everything.
    pub fn maybe_org_id(&self, id: Option<i64>) -> bool {
        match id {
            Some(id) => self.org_id(id),
            None => self.all(),
        }
    }
}

/// How a caller proved who it is: the audit trail's `actor_source` of
/// what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A bearer token on the API.
    ApiToken,
    /// A person logged in to the web page.
    WebUser,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::ApiToken => "api token",
            Via::WebUser => "web user",
        }
    }
}

/// Who is asking: the token's or user's name (the actor of what it
/// changes), how it logged in, its role and what it sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub via: Via,
    pub role: Role,
    pub visible: Visible,
}

impl Caller {
    /// Whether the caller's role is at least `role`.
    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }

    /// What this caller changes is recorded under its name and how it
    /// logged in.
    pub fn change(&self) -> crate::store::Change {
        crate::store::Change::now(&self.name).via(self.via.as_str())
    }

    /// A change effective `at` (a request's `at` field) or now, refused
    /// as the command line refuses `--at`.
    pub fn change_at(
        &self,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<crate::store::Change, crate::store::StoreError> {
        Ok(crate::app::registry::change(&self.name, "at", at)?.via(self.via.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> DivisionCode {
        raw.parse().expect("division")
    }

    #[test]
    fn divisions_nest_by_their_prefix() {
        assert!(division_within(&code("440305"), &code("440000")));
        assert!(division_within(&code("440305"), &code("440300")));
        assert!(division_within(&code("440300"), &code("440300")));
        assert!(!division_within(&code("440305"), &code("440100")));
        assert!(!division_within(&code("440000"), &code("440300")));
        assert!(!division_within(&code("450000"), &code("440000")));
        // A county holds only itself.
        assert!(division_within(&code("440305"), &code("440305")));
        assert!(!division_within(&code("440306"), &code("440305")));
        // A prefecture code ending in 10 keeps its 0.
        assert!(division_within(&code("441021"), &code("441000")));
        assert!(!division_within(&code("441121"), &code("441000")));
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert_eq!("operator".parse::<Role>().ok(), Some(Role::Operator));
        let refused = "root".parse::<Role>().expect_err("refused");
        assert_eq!(refused.field, "role");
    }
}
