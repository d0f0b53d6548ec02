//! The `registry_tampered` rule: the audit trail's verification judged.
//! One finding for the whole registry, open while any break is found, with
//! each break as evidence; resolved when a verification finds none.

use chrono::{DateTime, Utc};

use super::{Evaluation, Evidence, Finding, FindingKind, Scope, text};
use crate::policy::Policy;
use crate::registry::integrity::{Break, BreakKind, EntityKind, Verification};

/// Breaks listed as evidence; the summary counts them all.
const EVIDENCE_SHOWN: usize = 50;

/// Judges one verification: the `audit` scope is measured, and the
/// finding is raised when anything disagrees.
pub fn judge(verification: &Verification, policy: &Policy, now: DateTime<Utc>) -> Evaluation {
    let scope = Scope::Audit.to_string();
    let mut evaluation = Evaluation::default();
    evaluation.measured.insert(scope.clone());
    if verification.breaks.is_empty() {
        return evaluation;
    }
    let kind = FindingKind::RegistryTampered;
    let evidence = verification
        .breaks
        .iter()
        .take(EVIDENCE_SHOWN)
        .map(|b| Evidence::new(&place(b), "audit", b.kind.as_str(), detail(b)))
        .collect();
    evaluation.findings.push(Finding {
        kind,
        severity: policy.severity_of(kind),
        subject: "登记库".into(),
        scope,
        site_id: None,
        org_id: None,
        summary: summary(verification),
        action: text::action(kind).to_string(),
        evidence,
        observed_at: now,
    });
    evaluation
}

fn summary(verification: &Verification) -> String {
    let count = |kinds: &[BreakKind]| {
        verification
            .breaks
            .iter()
            .filter(|b| kinds.contains(&b.kind))
            .count()
    };
    let trail = count(&[
        BreakKind::Unsealed,
        BreakKind::RowChanged,
        BreakKind::LinkBroken,
    ]);
    let records = count(&[
        BreakKind::StateDiffers,
        BreakKind::NotAudited,
        BreakKind::Missing,
    ]);
    let mut parts = Vec::new();
    if trail > 0 {
        parts.push(format!("审计记录被改动、删除或插入 {trail} 处"));
    }
    if records > 0 {
        parts.push(format!("{records} 条登记信息与最后一次审计的记录不符"));
    }
    format!(
        "登记库与审计记录不一致：{}，说明有人绕过本系统直接修改了数据库",
        parts.join("，")
    )
}

/// Where, in words an office reads: 审计记录第 57 条, 网站（编号 12）.
fn place(b: &Break) -> String {
    match (b.entity, b.row) {
        (Some(entity), _) => {
            let kind = match entity.kind {
                EntityKind::Site => "网站",
                EntityKind::Org => "主办单位",
                EntityKind::Account => "政务新媒体账号",
                EntityKind::Exception => "例外",
            };
            format!("{kind}（编号 {}）", entity.id)
        }
        (None, Some(row)) => format!("审计记录第 {row} 条"),
        (None, None) => "登记库".into(),
    }
}

fn detail(b: &Break) -> String {
    match b.kind {
        BreakKind::Unsealed => "没有校验值：未经本系统写入".into(),
        BreakKind::RowChanged => "内容与其校验值不符：写入后被改动".into(),
        BreakKind::LinkBroken => "未指向前一条记录的校验值：其前的记录被删除、插入或改动".into(),
        BreakKind::StateDiffers => {
            let fields: Vec<String> = b
                .differences
                .iter()
                .map(|d| format!("{} 现为 {}（审计记录为 {}）", d.field, d.after, d.before))
                .collect();
            format!("与最后一次审计的记录不符：{}", fields.join("；"))
        }
        BreakKind::NotAudited => "没有审计记录：未经本系统登记".into(),
        BreakKind::Missing => "有审计记录，但已从数据库中删除".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::integrity::{Difference, Entity};

    #[test]
    fn a_clean_verification_measures_the_audit_scope_and_raises_nothing() {
        let policy = Policy::built_in();
        let clean = Verification {
            rows: 3,
            head: None,
            entities: 2,
            breaks: Vec::new(),
        };
        let evaluation = judge(&clean, &policy, Utc::now());
        assert!(evaluation.findings.is_empty());
        assert!(evaluation.judged(FindingKind::RegistryTampered, "audit"));
    }

    #[test]
    fn breaks_raise_one_critical_finding_naming_each() {
        let policy = Policy::built_in();
        let verification = Verification {
            rows: 3,
            head: None,
            entities: 2,
            breaks: vec![
                Break {
                    row: Some(2),
                    entity: None,
                    kind: BreakKind::LinkBroken,
                    differences: Vec::new(),
                },
                Break {
                    row: Some(3),
                    entity: Some(Entity {
                        kind: EntityKind::Site,
                        id: 7,
                    }),
                    kind: BreakKind::StateDiffers,
                    differences: vec![Difference {
                        field: "site.status".into(),
                        before: "closed".into(),
                        after: "live".into(),
                    }],
                },
            ],
        };
        let evaluation = judge(&verification, &policy, Utc::now());
        let [finding] = evaluation.findings.as_slice() else {
            panic!("one finding: {:?}", evaluation.findings);
        };
        assert_eq!(finding.kind, FindingKind::RegistryTampered);
        assert_eq!(finding.severity, super::super::Severity::Critical);
        assert!(finding.summary.contains("1 处"), "{}", finding.summary);
        assert!(
            finding.summary.contains("1 条登记信息"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.evidence[0].subject, "审计记录第 2 条");
        assert_eq!(finding.evidence[1].subject, "网站（编号 7）");
        assert!(
            finding.evidence[1]
                .detail
                .contains("site.status 现为 live（审计记录为 closed）"),
            "{}",
            finding.evidence[1].detail
        );
    }
}
