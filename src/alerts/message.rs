//! The JSON a webhook receives:
//!
//! ```json
//! {"key": "…", "kind": "opened", "organization": "…", "title": "中文…",
//!  "findings": [{"id": 1, "kind": "dangling_cname", "severity": "critical",
//!                "status": "open", "subject": "…", "site": "…", "site_code": "…",
//!                "since": "RFC 3339", "summary": "中文…", "action": "中文…"}]}
//! ```
//!
//! Times are China Standard Time (`+08:00`). The body is rendered once,
//! when the message is first claimed, and stored: every attempt sends the
//! same bytes under the same key.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::NotificationKind;
use crate::findings::{FindingKind, FindingStatus, Severity};

/// One finding as a message lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: i64,
    pub kind: FindingKind,
    pub severity: Severity,
    pub status: FindingStatus,
    pub subject: String,
    pub site: Option<String>,
    pub site_code: Option<String>,
    /// RFC 3339 in China Standard Time.
    pub since: String,
    pub summary: String,
    pub action: String,
}

impl Item {
    pub fn since(at: DateTime<Utc>) -> String {
        at.with_timezone(&crate::clock::china())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub key: String,
    pub kind: NotificationKind,
    /// The organization's name; absent for a test message.
    pub organization: Option<String>,
    /// One line a person reads first, in Chinese.
    pub title: String,
    pub findings: Vec<Item>,
}

impl Message {
    pub fn new(
        key: &str,
        kind: NotificationKind,
        organization: Option<String>,
        findings: Vec<Item>,
    ) -> Message {
        let title = title(kind, organization.as_deref(), findings.len());
        Message {
            key: key.to_string(),
            kind,
            organization,
            title,
            findings,
        }
    }

    /// A maintenance window's notice: when it started, what it covers
    /// until when and why; when it ended, with the findings still open.
    pub fn maintenance(
        key: &str,
        kind: NotificationKind,
        organization: Option<String>,
        notice: &Notice,
        findings: Vec<Item>,
    ) -> Message {
        let who = organization.as_deref().unwrap_or("未登记主办单位的域名");
        let scope = &notice.scope;
        let shown = |at: DateTime<Utc>| {
            at.with_timezone(&crate::clock::china())
                .format("%m月%d日 %H:%M")
                .to_string()
        };
        let title = if kind == NotificationKind::MaintenanceStarted {
            format!(
                "【网站监测】{who}：{scope}进入维护期（{} 至 {}，原因：{}），期间暂停告警",
                shown(notice.from),
                shown(notice.until),
                notice.reason
            )
        } else if findings.is_empty() {
            format!("【网站监测】{who}：{scope}维护期结束，恢复告警，目前无未整改问题")
        } else {
            format!(
                "【网站监测】{who}：{scope}维护期结束，恢复告警，{} 项问题仍未整改",
                findings.len()
            )
        };
        Message {
            key: key.to_string(),
            kind,
            organization,
            title,
            findings,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a message always serialises")
    }
}

/// A maintenance window as its notices tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The site (its name) or the organization it covers, in words.
    pub scope: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// Whether a frozen body tells of a critical finding.
pub fn has_critical(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["findings"]
                .as_array()
                .map(|items| items.iter().any(|f| f["severity"] == "critical"))
        })
        .unwrap_or(false)
}

/// `【siteward】兰州市人民政府：新确认 2 项问题`.
fn title(kind: NotificationKind, organization: Option<&str>, count: usize) -> String {
    let who = organization.unwrap_or("未登记主办单位的域名");
    match kind {
        NotificationKind::Opened => format!("【网站监测】{who}：新确认 {count} 项问题，请及时整改"),
        NotificationKind::Repeat => format!("【网站监测】{who}：{count} 项问题仍未整改"),
        NotificationKind::Resolved => format!("【网站监测】{who}：{count} 项问题已消除"),
        NotificationKind::Overdue => {
            format!("【网站监测】{who}：{count} 项问题已超过整改期限")
        }
        NotificationKind::Test => "【网站监测】测试消息：告警通道可用".to_string(),
        // Titled by `Message::maintenance`, which knows the window.
        NotificationKind::MaintenanceStarted => format!("【网站监测】{who}：维护期开始"),
        NotificationKind::MaintenanceEnded => format!("【网站监测】{who}：维护期结束"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_documented_json_in_china_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let message = Message::new(
            "k1",
            NotificationKind::Opened,
            Some("兰州市人民政府".into()),
            vec![Item {
                id: 1,
                kind: FindingKind::DanglingCname,
                severity: Severity::Critical,
                status: FindingStatus::Open,
                subject: "old.lanzhou.gov.cn".into(),
                site: Some("兰州市人民政府网".into()),
                site_code: Some("6201000001".into()),
                since: Item::since(at),
                summary: "悬空".into(),
                action: "删除".into(),
            }],
        );
        let json: serde_json::Value = serde_json::from_str(&message.to_json()).expect("json");
        assert_eq!(json["kind"], "opened");
        assert_eq!(json["findings"][0]["kind"], "dangling_cname");
        assert_eq!(json["findings"][0]["since"], "2026-12-01T10:00:00+08:00");
        assert_eq!(
            json["title"],
            "【网站监测】兰州市人民政府：新确认 1 项问题，请及时整改"
        );
    }
}
