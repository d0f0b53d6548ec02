//! Alerts: who hears of a finding's changes, and the message they get.
//! Everything here is decided without I/O except the sinks that deliver
//! one message: [`webhook`], the robots' [`robots::RobotSink`] and
//! [`email`]:
//!
//! - [`route`]: from a finding's change and its organization, the sinks
//!   that hear of it (the policy's routes, or every sink for critical
//!   findings when there is none, plus the organization's own webhook).
//! - [`message`]: the JSON a sink receives, in Chinese where a person
//!   reads it.
//! - [`robots`]: the same message for WeCom, DingTalk and Feishu group
//!   robots: their formats, size limits (split between findings), their
//!   signatures and error codes.
//! - [`webhook`]: an HTTP POST, signed (`X-Siteward-Signature`) and keyed
//!   (`Idempotency-Key`), and the receiver's answer.
//! - [`email`]: the same message as an email in Chinese (plain text and
//!   HTML, `Message-ID` from its key), sent through an SMTP relay over
//!   STARTTLS or implicit TLS; what the relay's refusal means.
//! - [`quiet`]: a sink's quiet hours and days.
//! - [`sink`]: the trait every kind of sink implements (limits, parts,
//!   one send and its verdict).
//! - [`rate`]: how long a sink's next sends wait under its rate limits.
//!
//! The outbox (planned in the transaction of the events it tells of) is
//! in `store::alerts`; the sender task and the commands in `app::alerts`.

pub mod email;
pub mod message;
pub mod quiet;
pub mod rate;
pub mod robots;
pub mod route;
pub mod sink;
pub mod webhook;

use serde::Serialize;

use crate::registry::named_enum;

named_enum!(
    /// What a message tells.
    NotificationKind {
        /// Findings confirmed (or confirmed again after resolving).
        Opened = "opened",
        /// Findings still open and unacknowledged after the repeat interval.
        Repeat = "repeat",
        Resolved = "resolved",
        /// Findings open past their rectification deadline.
        Overdue = "overdue",
        /// `siteward alerts test`.
        Test = "test",
        /// A maintenance window began: its organization's messages wait.
        MaintenanceStarted = "maintenance_started",
        /// A maintenance window ended, with what is still open.
        MaintenanceEnded = "maintenance_ended",
    }
);

named_enum!(
    /// A sink as the sender last found it.
    SinkHealth {
        /// Its last answer was an acceptance, or it was never sent to.
        Ok = "ok",
        /// It asked us to wait (a robot's rate limit) until a time.
        Limited = "limited",
        /// Removed, disabled or misconfigured: its messages fail until
        /// it is mended (and a send succeeds again).
        Broken = "broken",
    }
);

named_enum!(
    /// Where a message stands in the outbox.
    NotificationStatus {
        /// Not yet accepted by its receiver (waiting, or being retried).
        Pending = "pending",
        Delivered = "delivered",
        /// Given up after the configured attempts; `alerts retry` sends it
        /// again.
        Failed = "failed",
        /// Nothing left to tell when its turn came: every finding it
        /// would repeat was acknowledged or resolved since.
        Cancelled = "cancelled",
    }
);

/// The sink name of an organization's own webhook (an `org add
/// --webhook` contact): `org-webhook:<contact id>`.
pub fn own_webhook_sink(contact_id: i64) -> String {
    format!("{OWN_WEBHOOK}{contact_id}")
}

/// The contact id an own-webhook sink name stands for.
pub fn own_webhook_contact(sink: &str) -> Option<i64> {
    sink.strip_prefix(OWN_WEBHOOK)?.parse().ok()
}

const OWN_WEBHOOK: &str = "org-webhook:";

/// The group robot an organization's webhook URL is, recognised by its
/// host (WeCom, DingTalk, Feishu or Lark); `None` for a generic webhook.
pub fn robot_of_url(url: &str) -> Option<robots::Robot> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.host_str()? {
        "qyapi.weixin.qq.com" => Some(robots::Robot::Wecom),
        "oapi.dingtalk.com" => Some(robots::Robot::Dingtalk),
        "open.feishu.cn" | "open.larksuite.com" => Some(robots::Robot::Feishu),
        _ => None,
    }
}

/// A URL as people may see it: the path, query and credentials that
/// carry a webhook's secret (a token in the query, a key in the path)
/// are hidden.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = parsed.path();
            let shown = if path.len() > 1 { "/…" } else { "" };
            let query = if parsed.query().is_some() { "?…" } else { "" };
            format!("{}://{host}{port}{shown}{query}", parsed.scheme())
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_the_secret_parts_of_a_url() {
        assert_eq!(
            super::mask_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),
            "https://qyapi.weixin.qq.com/…?…"
        );
        assert_eq!(
            super::mask_url("http://user:pw@10.0.0.1:9000/hook/s3cret"),
            "http://10.0.0.1:9000/…"
        );
        assert_eq!(super::mask_url("http://example.org"), "http://example.org");
    }

    #[test]
    fn organizations_robots_are_recognised_by_host() {
        use super::robots::Robot;
        let of = super::robot_of_url;
        assert_eq!(
            of("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
            Some(Robot::Wecom)
        );
        assert_eq!(
            of("https://oapi.dingtalk.com/robot/send?access_token=t"),
            Some(Robot::Dingtalk)
        );
        assert_eq!(
            of("https://open.feishu.cn/open-apis/bot/v2/hook/x"),
            Some(Robot::Feishu)
        );
        assert_eq!(
            of("https://open.larksuite.com/open-apis/bot/v2/hook/x"),
            Some(Robot::Feishu)
        );
        assert_eq!(of("https://hooks.lanzhou.gov.cn/alerts"), None);
        assert_eq!(of("https://qyapi.weixin.qq.com.evil.example/x"), None);
    }
}
