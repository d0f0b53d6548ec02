//! The working-day calendar (`policies/holidays/YEAR.toml`): each year's
//! statutory holidays and days off around them (法定节假日及调休放假) and
//! the weekend days made working days (调休上班), from the State
//! Council's yearly notice, whose title each file names. A working day is
//! a weekday that is not a holiday, or a weekend day made a working day.
//! A year the calendar does not hold is an error naming it: the
//! reconciliation refuses to guess; rectification deadlines fall back to
//! Monday to Friday for it (and `policy check` says so).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::Deserialize;

/// The years shipped, built in.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "holidays/2024.toml",
        include_str!("../../policies/holidays/2024.toml"),
    ),
    (
        "holidays/2025.toml",
        include_str!("../../policies/holidays/2025.toml"),
    ),
    (
        "holidays/2026.toml",
        include_str!("../../policies/holidays/2026.toml"),
    ),
];

/// One year of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Year {
    /// The notice the year comes from.
    pub source: String,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

/// The calendar: the years it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub years: BTreeMap<i32, Year>,
}

/// A day the calendar cannot tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the working-day calendar has no year {0}: add policies/holidays/{0}.toml from the State Council's notice of that year's holidays"
)]
pub struct MissingYear(pub i32);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

impl Calendar {
    /// The shipped years.
    pub fn built_in() -> Calendar {
        let mut calendar = Calendar::default();
        for (_, text) in BUILT_IN {
            calendar
                .add(text)
                .expect("the shipped calendar is valid (tested)");
        }
        calendar
    }

    /// Adds (or replaces) the year in `text` (a `YEAR.toml`); the error
    /// says what is wrong, for the caller to put after the file's name.
    pub fn add(&mut self, text: &str) -> Result<i32, String> {
        let file: YearFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let date = |raw: &String, list: &str| -> Result<NaiveDate, String> {
            let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| format!("{list}: `{raw}` is not a date (YYYY-MM-DD)"))?;
            if day.year() != file.year {
                return Err(format!("{list}: {raw} is not in {}", file.year));
            }
            Ok(day)
        };
        let holidays = file
            .holidays
            .iter()
            .map(|d| date(d, "holidays"))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let workdays = file
            .workdays
            .iter()
            .map(|d| date(d, "workdays"))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if let Some(day) = workdays.iter().find(|d| !weekend(**d)) {
            return Err(format!(
                "workdays: {day} is a weekday already; list only the weekend days made working days (调休上班)"
            ));
        }
        if let Some(day) = holidays.intersection(&workdays).next() {
            return Err(format!("{day} is both a holiday and a working day"));
        }
        if file.source.trim().is_empty() {
            return Err("source: name the notice the year comes from".into());
        }
        self.years.insert(
            file.year,
            Year {
                source: file.source,
                holidays,
                workdays,
            },
        );
        Ok(file.year)
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> Result<bool, MissingYear> {
        let year = self.years.get(&day.year()).ok_or(MissingYear(day.year()))?;
        Ok(if weekend(day) {
            year.workdays.contains(&day)
        } else {
            !year.holidays.contains(&day)
        })
    }

    /// `at` plus `days` working days, counted in China Standard Time, at
    /// the same time of day: the day before the Spring Festival at 10:00
    /// plus one is the first working day after it, at 10:00.
    pub fn add_working_days(
        &self,
        at: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, MissingYear> {
        let mut local = at.with_timezone(&crate::clock::china());
        let mut left = days;
        while left > 0 {
            local += chrono::Duration::days(1);
            if self.is_working_day(local.date_naive())? {
                left -= 1;
            }
        }
        Ok(local.with_timezone(&Utc))
    }

    /// Working days from `from` to `to` (China Standard Time dates): the
    /// days after `from`'s, up to and including `to`'s.
    pub fn working_days_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u32, MissingYear> {
        let cst = crate::clock::china();
        let (mut day, last) = (
            from.with_timezone(&cst).date_naive(),
            to.with_timezone(&cst).date_naive(),
        );
        let mut n = 0;
        while day < last {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    fn cst(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_shipped_years_are_the_state_councils() {
        let c = Calendar::built_in();
        assert_eq!(
            c.years.keys().copied().collect::<Vec<_>>(),
            [2024, 2025, 2026]
        );
        // 2024: the Spring Festival 2-10..2-17 off, Sunday 2-4 and 2-18 worked.
        assert_eq!(c.is_working_day(day("2024-02-09")), Ok(true));
        assert_eq!(c.is_working_day(day("2024-02-12")), Ok(false));
        assert_eq!(c.is_working_day(day("2024-02-04")), Ok(true));
        assert_eq!(c.is_working_day(day("2024-02-18")), Ok(true));
        // 2025: National Day and Mid-Autumn 10-1..10-8, Sunday 9-28 worked.
        assert_eq!(c.is_working_day(day("2025-10-08")), Ok(false));
        assert_eq!(c.is_working_day(day("2025-09-28")), Ok(true));
        // 2026: New Year 1-1..1-3, Sunday 1-4 worked.
        assert_eq!(c.is_working_day(day("2026-01-02")), Ok(false));
        assert_eq!(c.is_working_day(day("2026-01-04")), Ok(true));
        assert_eq!(c.is_working_day(day("2026-12-05")), Ok(false), "a Saturday");
        assert_eq!(c.is_working_day(day("2027-01-04")), Err(MissingYear(2027)));
        for year in c.years.values() {
            assert!(year.source.contains("国务院办公厅"), "{}", year.source);
        }
    }

    #[test]
    fn working_days_skip_holidays_and_count_made_up_days() {
        let c = Calendar::built_in();
        // A message passed on the Friday before the 2024 Spring Festival:
        // three working days end on Sunday 2-18 (worked), 2-19, 2-20.
        assert_eq!(
            c.add_working_days(cst("2024-02-09T10:00:00+08:00"), 3),
            Ok(cst("2024-02-20T10:00:00+08:00"))
        );
        assert_eq!(
            c.add_working_days(cst("2024-02-09T10:00:00+08:00"), 1),
            Ok(cst("2024-02-18T10:00:00+08:00"))
        );
        assert_eq!(
            c.working_days_between(
                cst("2024-02-09T10:00:00+08:00"),
                cst("2024-02-20T09:00:00+08:00")
            ),
            Ok(3)
        );
        // Across into a year with no calendar: said, not guessed.
        assert_eq!(
            c.add_working_days(cst("2026-12-30T10:00:00+08:00"), 3),
            Err(MissingYear(2027))
        );
        let message = MissingYear(2027).to_string();
        assert!(message.contains("policies/holidays/2027.toml"), "{message}");
    }

    #[test]
    fn a_bad_year_file_is_refused_with_the_fault() {
        let mut c = Calendar::default();
        let e = c
            .add("year = 2027\nsource = \"x\"\nholidays = [\"2026-10-01\"]\n")
            .expect_err("wrong year");
        assert!(e.contains("2026-10-01") && e.contains("not in 2027"), "{e}");
        let e = c
            .add("year = 2027\nsource = \"x\"\nholidays = []\nworkdays = [\"2027-01-04\"]\n")
            .expect_err("a Monday");
        assert!(e.contains("weekday already"), "{e}");
        let e = c
            .add("year = 2027\nsource = \"x\"\nholidays = [\"2027-02-31\"]\n")
            .expect_err("no such day");
        assert!(e.contains("2027-02-31"), "{e}");
        assert!(c.years.is_empty(), "nothing added");
    }
}
