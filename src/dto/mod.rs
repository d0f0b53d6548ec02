//! The JSON shapes scripts and the API see, typed: each derives
//! `Serialize` and its OpenAPI schema, and is made from the use cases'
//! results. The command line's `--json` (`output`) and the API (`api`)
//! serialise the same structs, so a field has one name everywhere.
//! Times are RFC 3339 in UTC with seconds (`2026-12-05T08:00:00Z`).
//!
//! - [`registry`]: organizations, sites, accounts, the audit trail, tokens.
//! - [`watch`]: findings, exceptions, observations, runs, discovered host
//!   names.
//! - [`files`]: imports, exports, reconciliation runs, circulars, alerts.

pub mod files;
pub mod registry;
pub mod watch;

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as every JSON face writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional time as every JSON face writes it (null when absent).
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(time)
}
