//! When a time given by a person may be. Pure: every check takes `now`
//! from its caller (a change's recorded time), so that the command line,
//! the imports and the API refuse the same times alike.
//!
//! - An effective time (`--at`, a time in an imported row) is not in the
//!   future, give or take a few minutes of clock skew: the lifecycle makes
//!   every later event follow the last one, so a mistyped year
//!   (`--at 2099-01-05`) would lock a site for good. Nor is it before
//!   1994, when China joined the internet.
//! - An exception's end (`--until`) is in the future, and no further than
//!   the policy allows (`[thresholds] max_exception_days`): a waiver is
//!   looked at again at least that often.
//!
//! Times in messages are China Standard Time, as people give them.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::Invalid;
use crate::clock::{china, show};

/// How far ahead of now an effective time may be: the skew between the
/// clock of the person's machine (or the file's source) and ours.
pub const FUTURE_SLACK: Duration = Duration::minutes(5);

/// 1994-01-01 00:00 China Standard Time: China's first year on the
/// internet. No government site or account existed before it.
pub fn earliest() -> DateTime<Utc> {
    china()
        .with_ymd_and_hms(1994, 1, 1, 0, 0, 0)
        .single()
        .expect("1994-01-01 00:00 is a valid time at +08:00")
        .with_timezone(&Utc)
}

/// Checks an effective time given by a person or a file (`field` names
/// it as they gave it: `--at`, `last_post_at`): not more than
/// [`FUTURE_SLACK`] after `now`, not before [`earliest`].
pub fn check_effective(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Invalid> {
    let latest = now + FUTURE_SLACK;
    if at > latest {
        return Err(Invalid::new(
            field,
            &show(at),
            &format!(
                "is in the future: an effective time may be at most {} minutes ahead of now, \
                 no later than {} (China Standard Time); record an event once it has happened",
                FUTURE_SLACK.num_minutes(),
                show(latest)
            ),
        ));
    }
    if at < earliest() {
        return Err(Invalid::new(
            field,
            &show(at),
            &format!(
                "is before {} (China Standard Time), China's first year on the internet: \
                 no government site or account existed then",
                show(earliest())
            ),
        ));
    }
    Ok(())
}

/// Checks when an exception ends: after `now` (one already over waives
/// nothing), and no more than `max_days` after it.
pub fn check_until(
    field: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    max_days: u32,
) -> Result<(), Invalid> {
    if until <= now {
        return Err(Invalid::new(
            field,
            &show(until),
            &format!(
                "is not in the future (now is {}, China Standard Time): an exception that has \
                 already expired waives nothing",
                show(now)
            ),
        ));
    }
    let latest = now + Duration::days(max_days.into());
    if until > latest {
        return Err(Invalid::new(
            field,
            &show(until),
            &format!(
                "is more than {max_days} days from now: an exception may last until {} \
                 (China Standard Time) at the latest (policy: [thresholds] max_exception_days); \
                 record a new one when it ends",
                show(latest)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_time;

    fn t(raw: &str) -> DateTime<Utc> {
        parse_time("t", raw).expect("a time")
    }

    #[test]
    fn effective_times_are_neither_ahead_of_now_nor_before_1994() {
        let now = t("2026-12-05 12:00");
        assert!(check_effective("--at", now, now).is_ok());
        // Clock skew: five minutes ahead is accepted, a second more is not.
        assert!(check_effective("--at", t("2026-12-05 12:05"), now).is_ok());
        let error =
            check_effective("--at", t("2026-12-05 12:05:01"), now).expect_err("in the future");
        assert_eq!(error.field, "--at");
        assert_eq!(error.value, "2026-12-05 12:05:01");
        assert!(
            error
                .rule
                .contains("no later than 2026-12-05 12:05:00 (China Standard Time)"),
            "{error}"
        );
        let error = check_effective("--at", t("2099-01-05"), now).expect_err("a typo");
        assert_eq!(error.value, "2099-01-05 00:00:00", "shown as given, CST");
        // 1994-01-01 00:00 China Standard Time is the first moment allowed.
        assert!(check_effective("--at", t("1994-01-01"), now).is_ok());
        let error = check_effective("--at", t("1993-12-31 23:59:59"), now).expect_err("too early");
        assert!(
            error
                .to_string()
                .starts_with("--at `1993-12-31 23:59:59` is before 1994-01-01 00:00:00"),
            "{error}"
        );
    }

    #[test]
    fn an_exception_ends_in_the_future_within_the_policy() {
        let now = t("2026-12-05 12:00");
        assert!(check_until("until", t("2027-12-05 12:00"), now, 365).is_ok());
        let error = check_until("until", t("2027-12-05 12:00:01"), now, 365).expect_err("too long");
        assert!(
            error.rule.contains("more than 365 days")
                && error
                    .rule
                    .contains("until 2027-12-05 12:00:00 (China Standard Time)"),
            "{error}"
        );
        let error = check_until("until", now, now, 365).expect_err("over already");
        assert!(error.rule.contains("not in the future"), "{error}");
        assert!(check_until("until", t("2027-01-05"), now, 30).is_err());
    }
}
