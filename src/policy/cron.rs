//! The jobs' schedules: standard 5-field crontab expressions (minute hour
//! day-of-month month day-of-week), read as Vixie cron reads them and
//! evaluated in China Standard Time.
//!
//! The `cron` crate is used only to step through time; it cannot be handed
//! a crontab line as written. It wants a seconds field first, numbers the
//! weekdays 1 = Sunday … 7 = Saturday (crontab: 0–7, 0 and 7 both Sunday),
//! and always ANDs day-of-month with day-of-week, where crontab ORs them
//! when both are restricted. So this module parses and validates each
//! field itself, with errors in the terms people wrote, expands it into
//! the explicit set of values it means, and hands the crate only those
//! sets, in its own numbering; crontab's OR becomes two crate schedules
//! (day-of-month only, day-of-week only) whose earliest next time wins.
//!
//! As in Vixie cron, a day field counts as unrestricted when it starts
//! with `*` (so `*/2` in day-of-month is still ANDed with day-of-week), and
//! ranges do not wrap around: `5-7` of weekdays is Friday to Sunday, and
//! `22-2` of hours is refused (write `22-23,0-2`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

use crate::clock;

/// A standard crontab schedule, in China Standard Time.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    /// One schedule, or two whose union is crontab's day-of-month OR
    /// day-of-week.
    schedules: Vec<::cron::Schedule>,
}

impl CronSchedule {
    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&clock::china());
        self.schedules
            .iter()
            .filter_map(|schedule| schedule.after(&local).next())
            .min()
            .map(|time| time.with_timezone(&Utc))
    }

    /// The next `n` fire times strictly after `after`, earliest first
    /// (fewer if the schedule ends, which the calendar the crate knows,
    /// up to 2100, makes possible only far ahead).
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(n);
        let mut cursor = after;
        while times.len() < n {
            match self.next_after(cursor) {
                Some(next) => {
                    times.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        times
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl FromStr for CronSchedule {
    type Err = String;

    fn from_str(expression: &str) -> Result<CronSchedule, String> {
        let expression = expression.trim();
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "a schedule has 5 fields (minute hour day-of-month month day-of-week), not {}",
                fields.len()
            ));
        }
        let minutes = MINUTE.expand(fields[0])?;
        let hours = HOUR.expand(fields[1])?;
        let days = DAY_OF_MONTH.expand(fields[2])?;
        let months = MONTH.expand(fields[3])?;
        // 7 is Sunday too; the crate counts 1 = Sunday … 7 = Saturday.
        let weekdays: BTreeSet<u32> = WEEKDAY
            .expand(fields[4])?
            .into_iter()
            .map(|day| day % 7 + 1)
            .collect();
        // Vixie cron: a day field that starts with `*` does not restrict.
        let days_restricted = !fields[2].starts_with('*');
        let weekdays_restricted = !fields[4].starts_with('*');

        let minutes = crate_list(&minutes, 60);
        let hours = crate_list(&hours, 24);
        let months_list = crate_list(&months, 12);
        let days_list = crate_list(&days, 31);
        let weekdays_list = crate_list(&weekdays, 7);
        let sources = if days_restricted && weekdays_restricted {
            vec![
                format!("0 {minutes} {hours} {days_list} {months_list} *"),
                format!("0 {minutes} {hours} * {months_list} {weekdays_list}"),
            ]
        } else {
            vec![format!(
                "0 {minutes} {hours} {days_list} {months_list} {weekdays_list}"
            )]
        };
        let schedules = sources
            .iter()
            .map(|source| source.parse::<::cron::Schedule>())
            .collect::<Result<Vec<_>, _>>()
            // Unreachable: every field was validated above.
            .map_err(|_| format!("`{expression}` cannot be scheduled"))?;
        let schedule = CronSchedule {
            expression: expression.to_string(),
            schedules,
        };
        let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
        if epoch.and_then(|start| schedule.next_after(start)).is_none() {
            let longest = months.iter().map(|m| month_length(*m)).max().unwrap_or(31);
            return Err(match days.first() {
                Some(first) if *first > longest => format!(
                    "never fires: day-of-month `{}` does not occur in month `{}`",
                    fields[2], fields[3]
                ),
                _ => "never fires".to_string(),
            });
        }
        Ok(schedule)
    }
}

/// A fire time for people, in China Standard Time:
/// `2026-12-03 09:00 (CST)`.
pub fn show_fire_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&clock::china())
        .format("%Y-%m-%d %H:%M (CST)")
        .to_string()
}

/// A fire time for scripts: RFC 3339 at China Standard Time's offset,
/// `2026-12-03T09:00:00+08:00`.
pub fn fire_time_rfc3339(time: DateTime<Utc>) -> String {
    time.with_timezone(&clock::china())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The longest a month gets (February: 29, in leap years).
fn month_length(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A set for the crate: `*` when it holds every value, else a list.
fn crate_list(values: &BTreeSet<u32>, all: usize) -> String {
    if values.len() == all {
        return "*".to_string();
    }
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One of the five fields: its name, its values, the names it accepts.
struct Field {
    name: &'static str,
    low: u32,
    high: u32,
    /// The numbers, for errors: `0–59`, `0–7 (0 and 7 are Sunday)`.
    numbers: &'static str,
    /// Names for `low`, `low + 1`, … (three letters, any case).
    names: &'static [&'static str],
    /// The names, for errors: `jan–dec`.
    names_range: &'static str,
}

const MINUTE: Field = Field {
    name: "minute",
    low: 0,
    high: 59,
    numbers: "0–59",
    names: &[],
    names_range: "",
};
const HOUR: Field = Field {
    name: "hour",
    low: 0,
    high: 23,
    numbers: "0–23",
    names: &[],
    names_range: "",
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    low: 1,
    high: 31,
    numbers: "1–31",
    names: &[],
    names_range: "",
};
const MONTH: Field = Field {
    name: "month",
    low: 1,
    high: 12,
    numbers: "1–12",
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    names_range: "jan–dec",
};
const WEEKDAY: Field = Field {
    name: "day-of-week",
    low: 0,
    high: 7,
    numbers: "0–7 (0 and 7 are Sunday)",
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    names_range: "sun–sat",
};

impl Field {
    /// The values a field means: a list of `*`, `a`, `a-b`, each
    /// optionally stepped (`*/n`, `a-b/n`, and `a/n` for `a` to the
    /// highest value).
    fn expand(&self, text: &str) -> Result<BTreeSet<u32>, String> {
        let name = self.name;
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            if item.is_empty() {
                return Err(format!("{name} `{text}` has an empty list item"));
            }
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(self.step(item, step)?)),
                None => (item, None),
            };
            let (first, last) = if range == "*" {
                (self.low, self.high)
            } else if let Some((first, last)) = range.split_once('-') {
                let first = self.value(item, first)?;
                let last = self.value(item, last)?;
                if first > last {
                    // What was meant, written forwards: `mon-sun` is
                    // `1-7` (7 is Sunday too), `22-2` is `22-23,0-2`.
                    let span = |from: u32, to: u32| {
                        if from == to {
                            from.to_string()
                        } else {
                            format!("{from}-{to}")
                        }
                    };
                    let forwards = if self.name == WEEKDAY.name && last == 0 {
                        span(first, 7)
                    } else {
                        format!("{},{}", span(first, self.high), span(self.low, last))
                    };
                    return Err(format!(
                        "{name} range `{range}` runs backwards; ranges do not wrap around (write `{forwards}`)"
                    ));
                }
                (first, last)
            } else {
                let first = self.value(item, range)?;
                (first, if step.is_some() { self.high } else { first })
            };
            values.extend((first..=last).step_by(step.unwrap_or(1) as usize));
        }
        Ok(values)
    }

    /// One value: a number in range, or a name.
    fn value(&self, item: &str, token: &str) -> Result<u32, String> {
        let name = self.name;
        if token.bytes().all(|b| b.is_ascii_digit()) && !token.is_empty() {
            return match token.parse::<u32>() {
                Ok(value) if (self.low..=self.high).contains(&value) => Ok(value),
                _ if self.names.is_empty() => {
                    Err(format!("{name} {token} is out of range {}", self.numbers))
                }
                _ => Err(format!(
                    "{name} {token} is out of range {} or a name {}",
                    self.numbers, self.names_range
                )),
            };
        }
        if token.bytes().all(|b| b.is_ascii_alphabetic()) && !token.is_empty() {
            let lower = token.to_ascii_lowercase();
            if let Some(index) = self.names.iter().position(|n| *n == lower) {
                return Ok(self.low + index as u32);
            }
            return Err(if self.names.is_empty() {
                format!("{name} `{token}` is not a number {}", self.numbers)
            } else {
                format!(
                    "{name} `{token}` is neither a number {} nor a name {}",
                    self.numbers, self.names_range
                )
            });
        }
        Err(self.malformed(item))
    }

    /// A step: a number from 1 to the field's span.
    fn step(&self, item: &str, step: &str) -> Result<u32, String> {
        let name = self.name;
        let span = self.high - self.low + 1;
        if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{name} step in `{item}` is not a number"));
        }
        match step.parse::<u32>() {
            Ok(0) => Err(format!("{name} step in `{item}` must be at least 1")),
            Ok(n) if n <= span => Ok(n),
            _ => Err(format!("{name} step in `{item}` is out of range 1–{span}")),
        }
    }

    /// An item that is none of the forms.
    fn malformed(&self, item: &str) -> String {
        let names = if self.names.is_empty() {
            String::new()
        } else {
            format!(" or a name {}", self.names_range)
        };
        format!(
            "{} `{item}` is not a value ({}{names}), a range a-b, or a step */n or a-b/n",
            self.name, self.numbers
        )
    }
}
