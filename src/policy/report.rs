//! The circular's policy (`policies/report.toml`): who publishes it, to
//! whom, the deadline for the rectification report, and the requirement
//! said for each kind of problem found.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{PolicyError, line_of};
use crate::findings::FindingKind;

/// A kind of problem the circular may require something of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    Finding(FindingKind),
    /// The availability veto over the quarter's visits.
    Unreachable,
    /// Differences between the registry and the national systems.
    Reconcile,
    /// 找错 messages answered late or not at all.
    Zhaocuo,
}

impl std::str::FromStr for Problem {
    type Err = ();

    fn from_str(s: &str) -> Result<Problem, ()> {
        match s {
            "unreachable" => Ok(Problem::Unreachable),
            "reconcile" => Ok(Problem::Reconcile),
            "zhaocuo" => Ok(Problem::Zhaocuo),
            _ => s.parse().map(Problem::Finding).map_err(|_| ()),
        }
    }
}

/// The circular's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPolicy {
    /// "全省".
    pub region: String,
    pub issuer: String,
    pub salutation: String,
    /// Calendar days after the quarter's end for the rectification report.
    pub rectification_days: u32,
    pub report_to: String,
    /// Said first among the requirements.
    pub general: String,
    pub requirements: BTreeMap<Problem, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportFile {
    circular: CircularSection,
    requirements: BTreeMap<String, toml::Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircularSection {
    region: String,
    issuer: String,
    salutation: String,
    rectification_days: u32,
    report_to: String,
}

impl ReportPolicy {
    pub fn parse(path: &str, text: &str) -> Result<ReportPolicy, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: ReportFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let c = file.circular;
        for (key, value) in [
            ("region", &c.region),
            ("issuer", &c.issuer),
            ("salutation", &c.salutation),
            ("report_to", &c.report_to),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(format!("[circular] {key} is empty")));
            }
        }
        if c.rectification_days == 0 || c.rectification_days > 366 {
            return Err(invalid(format!(
                "[circular] rectification_days = {}: give 1 to 366 days",
                c.rectification_days
            )));
        }
        let mut general = None;
        let mut requirements = BTreeMap::new();
        for (key, value) in file.requirements {
            let line = line_of(text, value.span().start);
            let value = value.into_inner();
            if value.trim().is_empty() {
                return Err(invalid(format!(
                    "line {line}: [requirements] {key} is empty"
                )));
            }
            if key == "general" {
                general = Some(value);
                continue;
            }
            let problem: Problem = key.parse().map_err(|_| {
                invalid(format!(
                    "line {line}: [requirements] `{key}` is not a finding kind, nor general, unreachable, reconcile or zhaocuo"
                ))
            })?;
            requirements.insert(problem, value);
        }
        Ok(ReportPolicy {
            region: c.region,
            issuer: c.issuer,
            salutation: c.salutation,
            rectification_days: c.rectification_days,
            report_to: c.report_to,
            general: general.ok_or_else(|| invalid("[requirements] general is missing".into()))?,
            requirements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../policies/report.toml");

    #[test]
    fn the_shipped_policy_parses_with_a_requirement_per_kind_told() {
        let policy = ReportPolicy::parse("report.toml", SHIPPED).expect("valid");
        assert_eq!(policy.region, "全省");
        // Every kind that can fail a site or be told as a problem (not
        // the informational ones) has its requirement.
        for kind in FindingKind::ALL
            .iter()
            .filter(|k| k.default_severity() != crate::findings::Severity::Info)
        {
            assert!(
                policy.requirements.contains_key(&Problem::Finding(*kind)),
                "{kind}"
            );
        }
        assert!(policy.requirements.contains_key(&Problem::Unreachable));
    }

    #[test]
    fn mistakes_name_the_key_and_line() {
        let bad = SHIPPED.replace("cert_expired =", "cert_expird =");
        let e = ReportPolicy::parse("report.toml", &bad)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("`cert_expird`") && e.contains("line "), "{e}");
        let bad = SHIPPED.replace("rectification_days = 15", "rectification_days = 0");
        let e = ReportPolicy::parse("report.toml", &bad)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("rectification_days"), "{e}");
        let bad = SHIPPED.replace("region = \"全省\"", "regoin = \"全省\"");
        assert!(ReportPolicy::parse("report.toml", &bad).is_err());
    }
}
