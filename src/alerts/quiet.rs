//! A sink's quiet hours, pure: when warnings wait for the morning. Read
//! in China Standard Time: a daily span (`22:00-08:00`, across midnight
//! or not) and whole quiet days (weekdays such as `sat`, or dates such as
//! `2026-10-01` for public holidays). Critical findings go out at once
//! unless the sink holds them too.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc, Weekday};

use crate::clock;

/// When a sink is quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiet {
    /// The daily span, start and end; none when only days are quiet.
    span: Option<(NaiveTime, NaiveTime)>,
    weekdays: Vec<Weekday>,
    dates: Vec<NaiveDate>,
    /// Critical findings wait too.
    pub hold_critical: bool,
}

impl Quiet {
    /// From a sink's `quiet_hours` (`HH:MM-HH:MM`) and `quiet_days`
    /// (`mon`…`sun`, or `YYYY-MM-DD`); `None` when neither is given.
    pub fn parse(
        hours: Option<&str>,
        days: &[String],
        hold_critical: bool,
    ) -> Result<Option<Quiet>, String> {
        if hours.is_none() && days.is_empty() {
            return Ok(None);
        }
        let span = match hours {
            None => None,
            Some(text) => {
                let bad = || format!("quiet_hours `{text}` is not HH:MM-HH:MM (e.g. 22:00-08:00)");
                let (from, to) = text.split_once('-').ok_or_else(bad)?;
                let time =
                    |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
                let (from, to) = (time(from)?, time(to)?);
                if from == to {
                    return Err(format!(
                        "quiet_hours `{text}`: the start and the end are the same"
                    ));
                }
                Some((from, to))
            }
        };
        let mut weekdays = Vec::new();
        let mut dates = Vec::new();
        for day in days {
            if let Ok(date) = NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                dates.push(date);
            } else if let Ok(weekday) = day.parse::<Weekday>() {
                weekdays.push(weekday);
            } else {
                return Err(format!(
                    "quiet_days `{day}` is neither a weekday (mon … sun) nor a date (YYYY-MM-DD)"
                ));
            }
        }
        Ok(Some(Quiet {
            span,
            weekdays,
            dates,
            hold_critical,
        }))
    }

    fn quiet_day(&self, date: NaiveDate) -> bool {
        self.weekdays.contains(&date.weekday()) || self.dates.contains(&date)
    }

    /// Whether `at` (China Standard Time, to the minute) is quiet.
    fn quiet_at(&self, date: NaiveDate, time: NaiveTime) -> bool {
        if self.quiet_day(date) {
            return true;
        }
        match self.span {
            Some((from, to)) if from < to => time >= from && time < to,
            Some((from, to)) => time >= from || time < to,
            None => false,
        }
    }

    /// When the quiet that `now` falls in ends; `None` when `now` is not
    /// quiet.
    pub fn ends(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&clock::china());
        let start = local.with_second(0)?.with_nanosecond(0)?;
        if !self.quiet_at(start.date_naive(), start.time()) {
            return None;
        }
        // Minute by minute: the span's ends are whole minutes, and a
        // quiet stretch (a long holiday) lasts days, not months.
        let mut t = start;
        for _ in 0..(60 * 24 * 40) {
            t += Duration::minutes(1);
            if !self.quiet_at(t.date_naive(), t.time()) {
                return Some(t.with_timezone(&Utc));
            }
        }
        // Quiet for forty days on end: the sink is configured never to
        // speak; wait a day and look again.
        Some(now + Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_night_span_across_midnight_ends_in_the_morning() {
        let q = Quiet::parse(Some("22:00-08:00"), &[], false)
            .expect("valid")
            .expect("quiet");
        assert_eq!(q.ends(cst("2026-12-03T21:59:00+08:00")), None);
        assert_eq!(
            q.ends(cst("2026-12-03T22:00:00+08:00")),
            Some(cst("2026-12-04T08:00:00+08:00"))
        );
        assert_eq!(
            q.ends(cst("2026-12-04T03:30:10+08:00")),
            Some(cst("2026-12-04T08:00:00+08:00"))
        );
        assert_eq!(q.ends(cst("2026-12-04T08:00:00+08:00")), None);
    }

    #[test]
    fn quiet_days_last_until_the_first_working_morning() {
        // 2026-12-05 is a Saturday; 2027-01-01 a public holiday (Friday).
        let days = vec![
            "sat".to_string(),
            "sun".to_string(),
            "2027-01-01".to_string(),
        ];
        let q = Quiet::parse(Some("22:00-08:00"), &days, false)
            .expect("valid")
            .expect("quiet");
        assert_eq!(
            q.ends(cst("2026-12-05T14:00:00+08:00")),
            Some(cst("2026-12-07T08:00:00+08:00"))
        );
        assert_eq!(
            q.ends(cst("2026-12-31T23:00:00+08:00")),
            Some(cst("2027-01-04T08:00:00+08:00"))
        );
        assert_eq!(q.ends(cst("2026-12-07T09:00:00+08:00")), None);
    }

    #[test]
    fn bad_quiet_settings_say_what_is_wrong() {
        let e = Quiet::parse(Some("22-8"), &[], false).expect_err("bad");
        assert!(e.contains("HH:MM-HH:MM"), "{e}");
        let e = Quiet::parse(None, &["someday".into()], false).expect_err("bad");
        assert!(e.contains("someday"), "{e}");
        assert_eq!(Quiet::parse(None, &[], false), Ok(None));
    }
}
