//! The domain model of the registry: organizations, sites with identifier
//! codes and domains, new-media accounts, and their lifecycles. Pure: no
//! I/O, no database. Every value that enters from outside (a code, a host
//! name, a division) is validated once here, into a newtype; the rules
//! that tie values together (an organization's level, division and
//! parent: [`place`]; when a time given by a person may be: [`times`])
//! live here too.

mod code;
pub mod correct;
mod filing;
mod hostname;
pub mod integrity;
pub mod lifecycle;
mod model;
pub mod place;
pub mod text;
pub mod times;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use code::{Division, DivisionCode, DivisionTable, SiteCode};
pub use filing::{PROVINCE_ABBREVIATIONS, check_icp, check_psb};
pub use hostname::{AllowedSuffixes, Hostname, name_within};
pub use model::{
    Account, AccountStatus, Domain, DomainRole, DomainState, OrgLevel, Organization, Platform,
    Site, SiteKind, SiteStatus, SiteTimes,
};
pub(crate) use model::{named_enum, words_of};

/// A rejected input value: which field, what value, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} `{}` {rule}", text::escape(value))]
pub struct Invalid {
    pub field: String,
    pub value: String,
    pub rule: String,
}

impl Invalid {
    pub fn new(field: &str, value: &str, rule: &str) -> Self {
        Invalid {
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
        }
    }
}

/// An accepted value that breaks an advisory rule. Shown to the person and
/// kept in the audit row; never a reason to refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub field: String,
    pub value: String,
    pub message: String,
}

impl Warning {
    pub fn new(field: &str, value: &str, message: String) -> Self {
        Warning {
            field: field.to_string(),
            value: value.to_string(),
            message,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}` {}", self.field, self.value, self.message)
    }
}
