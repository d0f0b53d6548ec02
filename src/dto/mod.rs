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

/// A time as every JSON face writes it: `2026-12-05T08:00:00Z`, the same
/// as `to_rfc3339_opts(SecondsFormat::Secs, true)`, written directly (a
/// page of sites holds a thousand times, and chrono's formatter walks a
/// format description for each).
pub fn time(at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return at.to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// An optional time as every JSON face writes it (null when absent).
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(time)
}

#[cfg(test)]
mod tests {
    use chrono::{SecondsFormat, TimeZone, Utc};

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for at in [
            Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).single(),
            Utc.with_ymd_and_hms(1994, 1, 1, 0, 0, 59).single(),
            Utc.timestamp_opt(1_765_000_000, 999_999_999).single(),
            Utc.with_ymd_and_hms(12026, 1, 1, 0, 0, 0).single(),
        ] {
            let at = at.expect("a valid time");
            assert_eq!(
                super::time(at),
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
        }
    }
}
