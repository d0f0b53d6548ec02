//! Which sinks hear of a finding. A route of the policy matches when
//! every filter it states matches; with no route at all, every
//! configured sink hears of every critical finding. Routes marked
//! `escalation` (the supervising office) hear only of findings past their
//! deadline; the others hear of every message about what they match. An
//! organization's own webhooks hear of its own findings of the
//! severities policy names (critical by default).

use crate::policy::alerts::{Alerts, Subject};

use super::{NotificationKind, own_webhook_sink};

/// The sinks that hear of `subject` in a message of `kind`, each once.
/// `configured`: the sinks of the configuration; `own_webhooks`: the
/// contact ids of the organization's own webhooks. Empty: nobody (the
/// caller counts it as unrouted).
pub fn sinks_for(
    alerts: &Alerts,
    configured: &[String],
    kind: NotificationKind,
    subject: &Subject<'_>,
    own_webhooks: &[i64],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |sink: &str| {
        if !out.iter().any(|s| s == sink) {
            out.push(sink.to_string());
        }
    };
    if alerts.routes.is_empty() {
        if subject.severity == crate::findings::Severity::Critical {
            configured.iter().for_each(|s| add(s));
        }
    } else {
        for route in &alerts.routes {
            if route.escalation && kind != NotificationKind::Overdue {
                continue;
            }
            if route.matches(subject) {
                route.sinks.iter().for_each(|s| add(s));
            }
        }
    }
    if alerts.own_webhook_severities.contains(&subject.severity) {
        for id in own_webhooks {
            add(&own_webhook_sink(*id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{FindingKind, Severity};

    fn policy(text: &str) -> Alerts {
        Alerts::parse("alerts.toml", text).expect("valid")
    }

    fn subject(kind: FindingKind, severity: Severity) -> Subject<'static> {
        Subject {
            kind,
            severity,
            organization: Some("兰州市人民政府"),
            division: Some("620100"),
        }
    }

    #[test]
    fn without_routes_every_sink_hears_of_critical_findings_only() {
        let alerts = policy("");
        let sinks = ["office".to_string(), "duty".to_string()];
        let critical = subject(FindingKind::DanglingCname, Severity::Critical);
        let warning = subject(FindingKind::CertExpiring, Severity::Warning);
        assert_eq!(
            sinks_for(&alerts, &sinks, NotificationKind::Opened, &critical, &[]),
            ["office", "duty"]
        );
        assert!(sinks_for(&alerts, &sinks, NotificationKind::Opened, &warning, &[]).is_empty());
        assert_eq!(
            sinks_for(&alerts, &sinks, NotificationKind::Opened, &critical, &[7]),
            ["office", "duty", "org-webhook:7"]
        );
    }

    #[test]
    fn a_route_matches_when_every_filter_it_states_matches() {
        let alerts = policy(
            r#"
[[route]]
kinds = ["dangling_cname"]
divisions = ["6201"]
sinks = ["lanzhou"]

[[route]]
organizations = ["甘肃省卫生健康委员会"]
sinks = ["health"]

[[route]]
severities = ["critical"]
sinks = ["supervisor"]
escalation = true
"#,
        );
        let sinks = [];
        let dangling = subject(FindingKind::DanglingCname, Severity::Critical);
        assert_eq!(
            sinks_for(&alerts, &sinks, NotificationKind::Opened, &dangling, &[]),
            ["lanzhou"]
        );
        assert_eq!(
            sinks_for(&alerts, &sinks, NotificationKind::Overdue, &dangling, &[]),
            ["lanzhou", "supervisor"]
        );
        let elsewhere = Subject {
            division: Some("620200"),
            ..dangling
        };
        assert!(sinks_for(&alerts, &sinks, NotificationKind::Opened, &elsewhere, &[]).is_empty());
        let cert = subject(FindingKind::CertExpired, Severity::Critical);
        assert!(sinks_for(&alerts, &sinks, NotificationKind::Repeat, &cert, &[]).is_empty());
    }
}
