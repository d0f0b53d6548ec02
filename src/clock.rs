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
    parse(field, raw, false)
}

/// Parses when something ends (an exception's `--until`): as
/// [`parse_time`], except that a bare date lasts through that day, so
/// `2026-06-30` ends at 2026-07-01 00:00 China Standard Time.
pub fn parse_deadline(field: &str, raw: &str) -> Result<DateTime<Utc>, Invalid> {
    parse(field, raw, true)
}

fn parse(field: &str, raw: &str, date_through: bool) -> Result<DateTime<Utc>, Invalid> {
    let value = raw.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        // As Excel re-saves times in a CSV: 2026/11/3 9:15.
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
    .or_else(|| {
        ["%Y-%m-%d", "%Y/%m/%d"]
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(value, format).ok())
            .and_then(|date| {
                if date_through {
                    date.succ_opt()
                } else {
                    Some(date)
                }
            })
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

/// A date as Chinese documents write it, in China Standard Time:
/// `2026年12月31日`.
pub fn show_date_zh(time: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let local = time.with_timezone(&china());
    format!("{}年{}月{}日", local.year(), local.month(), local.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_date_lasts_through_that_day_in_china() {
        let until = parse_deadline("until", "2026-06-30").expect("a date");
        assert_eq!(show(until), "2026-07-01 00:00:00");
        // 23:59 on the day, China time, is before it; the next midnight is not.
        let last_minute = parse_time("t", "2026-06-30 23:59").expect("a time");
        assert!(last_minute < until);
        assert_eq!(parse_time("t", "2026-07-01").expect("a date"), until);
        // A time given in full is taken as given.
        assert_eq!(
            show(parse_deadline("until", "2026-06-30 12:00").expect("a time")),
            "2026-06-30 12:00:00"
        );
        assert_eq!(
            show(parse_time("t", "2026-06-30").expect("a date")),
            "2026-06-30 00:00:00"
        );
        // As Excel re-saves a CSV: slashes, no leading zeros.
        assert_eq!(
            show(parse_time("t", "2026/11/3 9:15").expect("a time")),
            "2026-11-03 09:15:00"
        );
    }
}
