//! Times as people give them and read them. Stored in UTC; shown in China
//! Standard Time, the users' zone (Asia/Shanghai has kept UTC+8 with no
//! daylight saving since 1991, so a fixed offset is exact for every date
//! the registry records).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::registry::Invalid;

/// UTC+8, China Standard Time.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// Parses a time given by a person or a file: RFC 3339
/// (`2026-03-01T09:00:00+08:00`), or `YYYY-MM-DD[ HH:MM[:SS]]` in China
/// Standard Time.
pub fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, Invalid> {
    let value = raw.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
    .or_else(|| {
        ["%Y-%m-%d", "%Y/%m/%d"]
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(value, format).ok())
            .and_then(|date| date.and_hms_opt(0, 0, 0))
    });
    match local.and_then(|naive| china().from_local_datetime(&naive).single()) {
        Some(time) => Ok(time.with_timezone(&Utc)),
        None => Err(Invalid::new(
            field,
            raw,
            "is not a time: give RFC 3339 (2026-03-01T09:00:00+08:00) or YYYY-MM-DD [HH:MM[:SS]] in China Standard Time",
        )),
    }
}

/// A time for people: `2026-03-01 09:00 (+08:00)` style, in China
/// Standard Time.
pub fn show(time: DateTime<Utc>) -> String {
    time.with_timezone(&china())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub fn show_opt(time: Option<DateTime<Utc>>) -> String {
    time.map(show).unwrap_or_default()
}

/// A date for people, in China Standard Time.
pub fn show_date(time: DateTime<Utc>) -> String {
    time.with_timezone(&china()).format("%Y-%m-%d").to_string()
}
