//! Alert routing (`policies/alerts.toml`): which sinks hear of which
//! confirmed findings, the timing of messages (Alertmanager's
//! `group_wait`, `group_interval`, `repeat_interval`), and the
//! rectification deadlines (整改期限) after which an open finding is
//! overdue. Sinks themselves (URLs, secrets) are configuration, never
//! policy: a route names them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{PolicyError, line_of};
use crate::findings::{FindingKind, Severity};

/// One route: a confirmed finding matching every filter it states goes
/// to its sinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The line of its `[[route]]`, for messages.
    pub line: usize,
    pub kinds: Vec<FindingKind>,
    pub severities: Vec<Severity>,
    /// Organization names.
    pub organizations: Vec<String>,
    /// Division-code prefixes ("6201": 兰州市 and its districts).
    pub divisions: Vec<String>,
    pub sinks: Vec<String>,
    /// The supervising office: hears of findings that are overdue.
    pub escalation: bool,
}

/// What a route is asked about a finding.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub kind: FindingKind,
    pub severity: Severity,
    pub organization: Option<&'a str>,
    pub division: Option<&'a str>,
}

impl Route {
    /// Whether every filter the route states matches.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&s.kind))
            && (self.severities.is_empty() || self.severities.contains(&s.severity))
            && (self.organizations.is_empty()
                || s.organization
                    .is_some_and(|o| self.organizations.iter().any(|n| n == o)))
            && (self.divisions.is_empty()
                || s.division
                    .is_some_and(|d| self.divisions.iter().any(|p| d.starts_with(p.as_str()))))
    }
}

/// When messages go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// What is confirmed within this of the first goes out together.
    pub group_wait: Duration,
    /// The least time between two messages of one group.
    pub group_interval: Duration,
    /// How often an open, unacknowledged finding is told again.
    pub repeat_interval: Duration,
    /// Whether a resolved finding is told.
    pub resolved: bool,
}

/// How a deadline is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineUnit {
    /// Working days in China Standard Time: Monday to Friday, less the
    /// statutory holidays, plus the weekend days made working days (调休),
    /// from the holiday calendar (`policies/holidays/YEAR.toml`).
    WorkingDays,
    /// Seconds: drills and tests.
    Seconds,
}

/// Rectification deadlines: per kind, else per severity; none when
/// neither names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines {
    pub unit: DeadlineUnit,
    pub by_severity: BTreeMap<Severity, u32>,
    pub by_kind: BTreeMap<FindingKind, u32>,
    /// The working days deadlines count (the policy's `holidays/`).
    pub calendar: std::sync::Arc<super::holidays::Calendar>,
}

impl Deadlines {
    /// No deadline is shorter than this (a finding younger cannot be
    /// overdue); ten years when there is none.
    pub fn shortest(&self) -> chrono::Duration {
        let n = self
            .by_kind
            .values()
            .chain(self.by_severity.values())
            .min()
            .copied();
        match (n, self.unit) {
            (None, _) => chrono::Duration::days(3650),
            (Some(n), DeadlineUnit::Seconds) => chrono::Duration::seconds(i64::from(n)),
            // n weekdays are at least n whole days.
            (Some(n), DeadlineUnit::WorkingDays) => chrono::Duration::days(i64::from(n)),
        }
    }

    /// When a finding of `kind` and `severity` confirmed at `opened` is
    /// overdue, if it has a deadline.
    pub fn due(
        &self,
        kind: FindingKind,
        severity: Severity,
        opened: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let n = self
            .by_kind
            .get(&kind)
            .or_else(|| self.by_severity.get(&severity))
            .copied()?;
        Some(match self.unit {
            DeadlineUnit::Seconds => opened + chrono::Duration::seconds(i64::from(n)),
            // Working days of the holiday calendar; Monday to Friday for
            // a year it does not hold yet (a deadline is never dropped
            // for want of next year's notice).
            DeadlineUnit::WorkingDays => self
                .calendar
                .add_working_days(opened, n)
                .unwrap_or_else(|_| add_weekdays(opened, n)),
        })
    }
}

/// `at` plus `days` weekdays (Monday to Friday, for a year the holiday
/// calendar does not hold), counted in China Standard Time, at the same
/// time of day: Friday 10:00 plus one is Monday 10:00; Saturday 10:00
/// plus one is also Monday 10:00.
pub fn add_weekdays(at: chrono::DateTime<chrono::Utc>, days: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::Datelike;
    let cst = crate::clock::china();
    let mut local = at.with_timezone(&cst);
    let mut left = days;
    while left > 0 {
        local += chrono::Duration::days(1);
        if !matches!(local.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            left -= 1;
        }
    }
    local.with_timezone(&chrono::Utc)
}

/// The alert policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    pub routes: Vec<Route>,
    pub timing: Timing,
    pub deadlines: Deadlines,
    /// The severities an organization's own webhook (`org add --webhook`)
    /// hears of, for its own findings.
    pub own_webhook_severities: Vec<Severity>,
}

impl Alerts {
    /// Every sink a route names, once each, in order.
    pub fn sinks_named(&self) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = Vec::new();
        for route in &self.routes {
            for sink in &route.sinks {
                if !out.iter().any(|(s, _)| s == sink) {
                    out.push((sink, route.line));
                }
            }
        }
        out
    }

    pub fn parse(path: &str, text: &str) -> Result<Alerts, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: AlertsFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut routes = Vec::new();
        for spanned in file.route {
            let line = line_of(text, spanned.span().start);
            let entry = spanned.into_inner();
            let at = |message: String| invalid(format!("line {line}: [[route]]: {message}"));
            if entry.sinks.is_empty() {
                return Err(at("names no sink (`sinks = [\"…\"]`)".into()));
            }
            for d in &entry.divisions {
                if d.is_empty() || d.len() > 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(at(format!(
                        "division `{d}` is not a prefix of a 6-digit division code"
                    )));
                }
            }
            routes.push(Route {
                line,
                kinds: parse_all(&entry.kinds, "kind").map_err(at)?,
                severities: parse_all(&entry.severities, "severity").map_err(at)?,
                organizations: entry.organizations,
                divisions: entry.divisions,
                sinks: entry.sinks,
                escalation: entry.escalation,
            });
        }
        let t = file.timing;
        let repeat_interval = match (t.repeat_interval_hours, t.repeat_interval_secs) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "[timing]: give repeat_interval_hours or repeat_interval_secs, not both".into(),
                ));
            }
            (_, Some(secs)) => Duration::from_secs(secs),
            (Some(hours), None) => Duration::from_secs(hours * 3600),
            (None, None) => Duration::from_secs(24 * 3600),
        };
        if repeat_interval.is_zero() {
            return Err(invalid(
                "[timing]: the repeat interval must be positive".into(),
            ));
        }
        let unit = match t_unit(&file.deadlines.unit) {
            Some(unit) => unit,
            None => {
                return Err(invalid(format!(
                    "[deadlines]: unit `{}` is neither working_days nor seconds",
                    file.deadlines.unit
                )));
            }
        };
        let mut by_severity = BTreeMap::new();
        for (name, n) in &file.deadlines.rest {
            if name == "kinds" {
                continue;
            }
            let severity: Severity = name.parse().map_err(|_| {
                invalid(format!(
                    "[deadlines]: `{name}` is not a severity (critical, warning or info), nor `unit` or `kinds`"
                ))
            })?;
            let n = deadline_value(n).ok_or_else(|| {
                invalid(format!(
                    "[deadlines]: {name} must be a whole number of at least 1"
                ))
            })?;
            by_severity.insert(severity, n);
        }
        let mut by_kind = BTreeMap::new();
        for (name, n) in &file.deadlines.kinds {
            let kind: FindingKind = name.parse().map_err(|_| {
                invalid(format!("[deadlines.kinds]: `{name}` is not a finding kind"))
            })?;
            if *n == 0 {
                return Err(invalid(format!(
                    "[deadlines.kinds]: {name} must be at least 1"
                )));
            }
            by_kind.insert(kind, *n);
        }
        Ok(Alerts {
            routes,
            timing: Timing {
                group_wait: Duration::from_secs(t.group_wait_secs),
                group_interval: Duration::from_secs(t.group_interval_secs),
                repeat_interval,
                resolved: t.resolved,
            },
            deadlines: Deadlines {
                unit,
                by_severity,
                by_kind,
                calendar: std::sync::Arc::new(super::holidays::Calendar::built_in()),
            },
            own_webhook_severities: parse_all(&file.organizations.severities, "severity")
                .map_err(|e| invalid(format!("[organizations]: {e}")))?,
        })
    }
}

fn t_unit(unit: &str) -> Option<DeadlineUnit> {
    match unit {
        "working_days" => Some(DeadlineUnit::WorkingDays),
        "seconds" => Some(DeadlineUnit::Seconds),
        _ => None,
    }
}

fn deadline_value(value: &toml::Value) -> Option<u32> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

fn parse_all<T: std::str::FromStr>(names: &[String], what: &str) -> Result<Vec<T>, String> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|_| format!("`{n}` is not a finding {what}"))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsFile {
    #[serde(default)]
    route: Vec<toml::Spanned<RouteEntry>>,
    #[serde(default)]
    timing: TimingEntry,
    #[serde(default)]
    deadlines: DeadlinesEntry,
    #[serde(default)]
    organizations: OrganizationsEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    severities: Vec<String>,
    #[serde(default)]
    organizations: Vec<String>,
    #[serde(default)]
    divisions: Vec<String>,
    #[serde(default)]
    sinks: Vec<String>,
    #[serde(default)]
    escalation: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TimingEntry {
    group_wait_secs: u64,
    group_interval_secs: u64,
    repeat_interval_hours: Option<u64>,
    repeat_interval_secs: Option<u64>,
    resolved: bool,
}

impl Default for TimingEntry {
    fn default() -> Self {
        TimingEntry {
            group_wait_secs: 30,
            group_interval_secs: 300,
            repeat_interval_hours: None,
            repeat_interval_secs: None,
            resolved: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(default)]
struct DeadlinesEntry {
    unit: String,
    kinds: BTreeMap<String, u32>,
    /// Per severity (`critical = 1`).
    #[serde(flatten)]
    rest: BTreeMap<String, toml::Value>,
}

impl Default for DeadlinesEntry {
    fn default() -> Self {
        DeadlinesEntry {
            unit: "working_days".into(),
            kinds: BTreeMap::new(),
            rest: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OrganizationsEntry {
    severities: Vec<String>,
}

impl Default for OrganizationsEntry {
    fn default() -> Self {
        OrganizationsEntry {
            severities: vec!["critical".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn refused(text: &str) -> String {
        Alerts::parse("alerts.toml", text)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_broken_file_is_refused_with_its_line_and_reason() {
        let e = refused("\n\n[[route]]\nkinds = [\"dangling\"]\nsinks = [\"office\"]\n");
        assert!(
            e.contains("alerts.toml") && e.contains("line 3") && e.contains("`dangling`"),
            "{e}"
        );
        let e = refused("[[route]]\nseverities = [\"critical\"]\n");
        assert!(e.contains("line 1") && e.contains("names no sink"), "{e}");
        let e = refused("[[route]]\ndivisions = [\"62a\"]\nsinks = [\"x\"]\n");
        assert!(e.contains("division `62a`"), "{e}");
        let e = refused("[timing]\ngroup_wait = 30\n");
        assert!(e.contains("group_wait"), "{e}");
        let e = refused("[deadlines]\nurgent = 1\n");
        assert!(e.contains("`urgent` is not a severity"), "{e}");
        let e = refused("[deadlines]\ncritical = 0\n");
        assert!(
            e.contains("critical must be a whole number of at least 1"),
            "{e}"
        );
        let e = refused("[timing]\nrepeat_interval_hours = 1\nrepeat_interval_secs = 5\n");
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn the_shipped_file_and_an_empty_one_give_the_defaults() {
        let shipped = Alerts::parse("alerts.toml", include_str!("../../policies/alerts.toml"))
            .expect("valid");
        let empty = Alerts::parse("alerts.toml", "").expect("valid");
        assert_eq!(shipped.timing, empty.timing);
        assert_eq!(shipped.timing.group_wait, Duration::from_secs(30));
        assert_eq!(shipped.timing.repeat_interval, Duration::from_secs(86_400));
        assert_eq!(
            shipped.deadlines.by_severity.get(&Severity::Critical),
            Some(&1)
        );
        assert_eq!(
            shipped.deadlines.by_severity.get(&Severity::Warning),
            Some(&5)
        );
        assert!(shipped.routes.is_empty());
    }

    #[test]
    fn working_days_skip_the_weekend_in_china_time() {
        let cst = crate::clock::china();
        let at = |d: u32, h: u32| {
            cst.with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .single()
                .expect("time")
                .with_timezone(&chrono::Utc)
        };
        // 2026-12-04 is a Friday; 23:30 UTC on Friday is Saturday in China.
        assert_eq!(add_weekdays(at(4, 10), 1), at(7, 10));
        assert_eq!(add_weekdays(at(5, 10), 1), at(7, 10));
        assert_eq!(add_weekdays(at(1, 10), 5), at(8, 10));
        let deadlines = Alerts::parse(
            "a",
            "[deadlines]\ncritical = 1\n[deadlines.kinds]\ndangling_cname = 3\n",
        )
        .expect("valid")
        .deadlines;
        assert_eq!(
            deadlines.due(FindingKind::DanglingCname, Severity::Critical, at(4, 10)),
            Some(at(9, 10))
        );
        assert_eq!(
            deadlines.due(FindingKind::CertExpired, Severity::Critical, at(4, 10)),
            Some(at(7, 10))
        );
        assert_eq!(
            deadlines.due(FindingKind::CertExpiring, Severity::Warning, at(4, 10)),
            None
        );
    }
}
