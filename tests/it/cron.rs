//! The jobs' schedules: standard crontab read as Vixie cron reads it
//! (weekdays 0–7 and names, day-of-month OR day-of-week), in China
//! Standard Time; errors in the terms people wrote; `policy check` shows
//! the next fire times.

use chrono::{DateTime, Utc};
use siteward::clock::parse_time;
use siteward::policy::Policy;
use siteward::policy::cron::{CronSchedule, fire_time_rfc3339, show_fire_time};

use crate::support::Siteward;

/// A time given in China Standard Time, `YYYY-MM-DD HH:MM[:SS]`.
fn cst(raw: &str) -> DateTime<Utc> {
    parse_time("test", raw).expect("a CST time")
}

fn schedule(expression: &str) -> CronSchedule {
    expression
        .parse()
        .unwrap_or_else(|e| panic!("`{expression}`: {e}"))
}

/// Next fire times worked out by hand on the calendar (December 2026
/// starts on a Tuesday; 2026-12-03 is a Thursday, 12-04 a Friday, 12-07 a
/// Monday; 2027-01-01 is a Friday, 2027-01-03 a Sunday).
#[test]
fn next_fire_times_worked_out_by_hand() {
    // (expression, from, the next fire times after it), all in CST.
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "*/15 * * * *",
            "2026-12-03 09:07",
            &["2026-12-03 09:15", "2026-12-03 09:30", "2026-12-03 09:45"],
        ),
        // Strictly after: a fire time is not its own next.
        ("*/15 * * * *", "2026-12-03 09:15", &["2026-12-03 09:30"]),
        (
            "*/15 * * * *",
            "2026-12-03 23:50:30",
            &["2026-12-04 00:00", "2026-12-04 00:15"],
        ),
        // Monday to Friday: from a Friday after 09:00, the Monday.
        (
            "0 9 * * 1-5",
            "2026-12-04 10:00",
            &["2026-12-07 09:00", "2026-12-08 09:00"],
        ),
        ("0 9 * * 1-5", "2026-12-05 08:00", &["2026-12-07 09:00"]),
        ("0 9 * * 1-5", "2026-12-06 12:00", &["2026-12-07 09:00"]),
        (
            "0 9 * * 1-5",
            "2026-12-03 08:00",
            &["2026-12-03 09:00", "2026-12-04 09:00", "2026-12-07 09:00"],
        ),
        // 0 and 7 are both Sunday.
        (
            "0 9 * * 0",
            "2026-12-03 10:00",
            &["2026-12-06 09:00", "2026-12-13 09:00"],
        ),
        (
            "0 9 * * 7",
            "2026-12-03 10:00",
            &["2026-12-06 09:00", "2026-12-13 09:00"],
        ),
        // Both day fields restricted: the 1st, the 15th, and every Monday.
        // A Monday (the 7th) comes before the 15th:
        (
            "0 9 1,15 * 1",
            "2026-12-03 10:00",
            &[
                "2026-12-07 09:00",
                "2026-12-14 09:00",
                "2026-12-15 09:00",
                "2026-12-21 09:00",
                "2026-12-28 09:00",
                "2027-01-01 09:00",
                "2027-01-04 09:00",
            ],
        ),
        // The 1st (a Friday) comes before the Monday (the 4th):
        (
            "0 9 1,15 * 1",
            "2026-12-29 10:00",
            &["2027-01-01 09:00", "2027-01-04 09:00"],
        ),
        // Quarterly.
        (
            "0 2 1 1,4,7,10 *",
            "2026-12-03 10:00",
            &["2027-01-01 02:00", "2027-04-01 02:00", "2027-07-01 02:00"],
        ),
        // Names, any case.
        (
            "0 9 * * mon-fri",
            "2026-12-04 10:00",
            &["2026-12-07 09:00", "2026-12-08 09:00"],
        ),
        ("0 9 * * MON-Fri", "2026-12-05 08:00", &["2026-12-07 09:00"]),
        // Day-of-month is `*`: Sundays of January and July only.
        (
            "0 9 * jan,jul sun",
            "2026-12-03 10:00",
            &["2027-01-03 09:00", "2027-01-10 09:00"],
        ),
        (
            "0 9 * JAN,Jul Sun",
            "2026-06-30 10:00",
            &["2026-07-05 09:00", "2026-07-12 09:00"],
        ),
        (
            "0 9 * jan,jul sun",
            "2027-01-31 10:00",
            &["2027-07-04 09:00"],
        ),
        // 5-7 is Friday, Saturday, Sunday.
        (
            "0 0 * * 5-7",
            "2026-12-03 10:00",
            &[
                "2026-12-04 00:00",
                "2026-12-05 00:00",
                "2026-12-06 00:00",
                "2026-12-11 00:00",
            ],
        ),
        (
            "0 */6 * * *",
            "2026-12-03 10:00",
            &[
                "2026-12-03 12:00",
                "2026-12-03 18:00",
                "2026-12-04 00:00",
                "2026-12-04 06:00",
            ],
        ),
        (
            "30 3 * * *",
            "2026-12-03 03:30",
            &["2026-12-04 03:30", "2026-12-05 03:30"],
        ),
        ("30 3 * * *", "2026-12-03 03:29:59", &["2026-12-03 03:30"]),
        // Stepped ranges and lists.
        (
            "10-40/15 8,20 * * *",
            "2026-12-03 10:00",
            &[
                "2026-12-03 20:10",
                "2026-12-03 20:25",
                "2026-12-03 20:40",
                "2026-12-04 08:10",
            ],
        ),
        // As in Vixie cron, a day-of-month starting with `*` does not
        // restrict, so `*/2` is ANDed with Monday: odd days that are
        // Mondays (the 3rd and 5th are odd but not Mondays).
        (
            "0 9 */2 * 1",
            "2026-12-03 10:00",
            &["2026-12-07 09:00", "2026-12-21 09:00", "2027-01-11 09:00"],
        ),
        // February 29th: the next leap year.
        ("0 0 29 2 *", "2026-12-03 10:00", &["2028-02-29 00:00"]),
    ];
    for (expression, from, expected) in cases {
        let parsed = schedule(expression);
        let expected: Vec<DateTime<Utc>> = expected.iter().map(|t| cst(t)).collect();
        assert_eq!(
            parsed.next_after(cst(from)),
            expected.first().copied(),
            "`{expression}` from {from}"
        );
        let upcoming = parsed.upcoming(cst(from), expected.len());
        assert_eq!(
            upcoming
                .iter()
                .copied()
                .map(show_fire_time)
                .collect::<Vec<_>>(),
            expected
                .iter()
                .copied()
                .map(show_fire_time)
                .collect::<Vec<_>>(),
            "`{expression}` from {from}"
        );
    }
}

/// The times are China Standard Time: 02:00 on New Year's Day in Beijing is
/// 18:00 UTC the day before.
#[test]
fn schedules_are_in_china_standard_time() {
    let quarterly = schedule("0 2 1 1,4,7,10 *");
    let next = quarterly
        .next_after(cst("2026-12-03 00:00"))
        .expect("a next time");
    assert_eq!(
        next,
        "2026-12-31T18:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("UTC")
    );
    assert_eq!(show_fire_time(next), "2027-01-01 02:00 (CST)");
    assert_eq!(fire_time_rfc3339(next), "2027-01-01T02:00:00+08:00");
    // As written, for people and for display.
    let weekdays = schedule("  0 9 * * mon-fri ");
    assert_eq!(weekdays.expression(), "0 9 * * mon-fri");
    assert_eq!(weekdays.to_string(), "0 9 * * mon-fri");
    assert!(weekdays.upcoming(cst("2026-12-03 10:00"), 0).is_empty());
}

/// Errors say what is wrong in the terms people wrote, never in the
/// crate's own 6-field form.
#[test]
fn errors_are_in_crontab_terms() {
    let cases: &[(&str, &str)] = &[
        (
            "0 0 9 * * 1-5",
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), not 6",
        ),
        (
            "*/15 * * *",
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), not 4",
        ),
        (
            "",
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), not 0",
        ),
        ("61 * * * *", "minute 61 is out of range 0–59"),
        ("0 24 * * *", "hour 24 is out of range 0–23"),
        ("0 9 0 * *", "day-of-month 0 is out of range 1–31"),
        (
            "0 9 * 13 *",
            "month 13 is out of range 1–12 or a name jan–dec",
        ),
        (
            "0 9 * * 8",
            "day-of-week 8 is out of range 0–7 (0 and 7 are Sunday) or a name sun–sat",
        ),
        (
            "0 9 * * 1-8",
            "day-of-week 8 is out of range 0–7 (0 and 7 are Sunday) or a name sun–sat",
        ),
        ("0 9 1, * *", "day-of-month `1,` has an empty list item"),
        (
            "0 9 1,,15 * *",
            "day-of-month `1,,15` has an empty list item",
        ),
        (
            "0 9 * * funday",
            "day-of-week `funday` is neither a number 0–7 (0 and 7 are Sunday) nor a name sun–sat",
        ),
        (
            "0 9 * juli *",
            "month `juli` is neither a number 1–12 nor a name jan–dec",
        ),
        ("0 noon * * *", "hour `noon` is not a number 0–23"),
        ("*/0 * * * *", "minute step in `*/0` must be at least 1"),
        ("0 1-5/0 * * *", "hour step in `1-5/0` must be at least 1"),
        ("*/61 * * * *", "minute step in `*/61` is out of range 1–60"),
        ("*/x * * * *", "minute step in `*/x` is not a number"),
        (
            "0 22-2 * * *",
            "hour range `22-2` runs backwards; ranges do not wrap around (write `22-23,0-2`)",
        ),
        (
            "0 23-0 * * *",
            "hour range `23-0` runs backwards; ranges do not wrap around (write `23,0`)",
        ),
        (
            "0 9 * * fri-sun",
            "day-of-week range `fri-sun` runs backwards; ranges do not wrap around (write `5-7`)",
        ),
        (
            "0 9 ? * *",
            "day-of-month `?` is not a value (1–31), a range a-b, or a step */n or a-b/n",
        ),
        (
            "0 9 * * 1#2",
            "day-of-week `1#2` is not a value (0–7 (0 and 7 are Sunday) or a name sun–sat), a range a-b, or a step */n or a-b/n",
        ),
        (
            "0 9 * * -1",
            "day-of-week `-1` is not a value (0–7 (0 and 7 are Sunday) or a name sun–sat), a range a-b, or a step */n or a-b/n",
        ),
        (
            "0 0 30,31 2 *",
            "never fires: day-of-month `30,31` does not occur in month `2`",
        ),
    ];
    for (expression, expected) in cases {
        let error = expression.parse::<CronSchedule>().expect_err(expression);
        assert_eq!(&error, expected, "`{expression}`");
    }
}

/// A schedule in the policy file is refused with the file, the line and
/// the field at fault.
#[test]
fn a_bad_schedule_in_the_policy_names_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    siteward::policy::write_built_in(dir.path()).expect("the built-in policy's files");
    std::fs::write(
        dir.path().join("siteward.toml"),
        "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n[domains]\nallowed_suffixes = [\"gov.cn\"]\n\
         [schedules]\nprobe = \"*/15 * * * *\"\nreport = \"0 9 * * 8\"\n",
    )
    .expect("write");
    let message = Policy::load(Some(dir.path()))
        .expect_err("weekday 8")
        .to_string();
    assert!(message.contains("siteward.toml"), "{message}");
    assert!(message.contains("line 8"), "{message}");
    assert!(
        message.contains("[schedules] report = `0 9 * * 8`: day-of-week 8 is out of range"),
        "{message}"
    );
}

/// `siteward policy check --json`: each job's next three fire times, in
/// RFC 3339 at +08:00, in the future and increasing; without `--json`,
/// the same in China Standard Time beside each expression.
#[test]
fn policy_check_shows_the_next_fire_times() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let sw = Siteward::without_registry();
    let run = |json: bool| {
        let output = if json {
            sw.run(&["policy", "check", shipped, "--json"])
        } else {
            sw.run(&["policy", "check", shipped])
        };
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let before = Utc::now();
    let values: serde_json::Value = serde_json::from_str(&run(true)).expect("one JSON object");
    let jobs = values["jobs"].as_object().expect("jobs");
    let schedules = values["schedules"].as_object().expect("schedules");
    assert_eq!(
        jobs.keys().collect::<Vec<_>>(),
        schedules.keys().collect::<Vec<_>>()
    );
    assert!(jobs.contains_key("probe"), "{values}");
    for (job, entry) in jobs {
        assert_eq!(entry["expression"], schedules[job], "{job}");
        let runs = entry["next_runs"].as_array().expect("next_runs");
        assert_eq!(runs.len(), 3, "{job}: {runs:?}");
        let mut previous = before;
        for run in runs {
            let text = run.as_str().expect("a string");
            assert!(text.ends_with("+08:00"), "{job}: {text}");
            let time = DateTime::parse_from_rfc3339(text)
                .unwrap_or_else(|e| panic!("{job}: {text}: {e}"))
                .with_timezone(&Utc);
            assert!(time > previous, "{job}: {text} is not after {previous}");
            previous = time;
        }
    }

    let text = run(false);
    let probe = text
        .lines()
        .find(|line| line.starts_with("probe "))
        .unwrap_or_else(|| panic!("no probe row in:\n{text}"));
    assert!(probe.contains("*/15 * * * *"), "{probe}");
    assert_eq!(probe.matches("(CST)").count(), 3, "{probe}");
}
