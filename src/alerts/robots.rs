//! The group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书),
//! pure: a message rendered in each one's format and split under its size
//! limit between findings (never inside one), DingTalk's and Feishu's
//! signatures, and what each one's answer means (they answer HTTP 200
//! with an error code in the body).

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::rate::RateLimit;
use super::sink::{Part, Sink, Verdict};

/// A robot's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Robot {
    Wecom,
    Dingtalk,
    Feishu,
}

impl Robot {
    /// The most bytes one message's text may have.
    pub fn limit(self) -> usize {
        match self {
            // `markdown.content`.
            Robot::Wecom => 4096,
            // The whole body.
            Robot::Dingtalk => 20_000,
            Robot::Feishu => 20_000,
        }
    }
}

/// Reads a robot's answer (`status` and body). The waits a robot asks
/// for are its own (a minute for WeCom's 45009, ten for DingTalk's
/// 130101); the sink scales them with the configured rate window.
pub fn verdict(robot: Robot, status: u16, body: &str) -> Verdict {
    let answer = format!("{status} {}", short(body));
    if !(200..300).contains(&status) {
        return Verdict::Retry {
            reason: format!("the robot answered HTTP {status}"),
            answer: Some(answer),
            after: None,
        };
    }
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let field = if robot == Robot::Feishu {
        "code"
    } else {
        "errcode"
    };
    let Some(code) = parsed[field]
        .as_i64()
        .or_else(|| parsed["StatusCode"].as_i64())
    else {
        return Verdict::Retry {
            reason: format!("the robot's answer has no {field}: {}", short(body)),
            answer: Some(answer),
            after: None,
        };
    };
    let message = parsed["errmsg"]
        .as_str()
        .or_else(|| parsed["msg"].as_str())
        .unwrap_or_default();
    let said = format!("{field} {code}: {message}");
    let broken = |why: &str| Verdict::Broken {
        reason: format!("{why} ({said})"),
        answer: Some(answer.clone()),
    };
    let wait = |secs: u64, why: &str| Verdict::Wait {
        reason: format!("{why} ({said})"),
        answer: Some(answer.clone()),
        after: Duration::from_secs(secs),
    };
    match (robot, code) {
        (_, 0) => Verdict::Accepted {
            answer: answer.clone(),
        },
        (Robot::Wecom, 45009) => wait(60, "rate limited, waiting a minute"),
        (Robot::Wecom, 93000 | 93004 | 93008) => broken("the robot was removed or disabled"),
        (Robot::Wecom, 40058 | 45002) => Verdict::TooLong {
            reason: format!("the message was too long for the robot ({said})"),
            answer: answer.clone(),
        },
        (Robot::Dingtalk, 130101) => wait(600, "sending too fast, backing off 10 minutes"),
        (Robot::Dingtalk, 310000) => {
            broken("configuration error: keyword, signature or IP allow-list")
        }
        (Robot::Feishu, 19021) => broken("configuration error: the signature"),
        (Robot::Feishu, 19024) => broken("configuration error: a keyword is missing"),
        // WeCom's -1 (busy) and 45033 (too many at once), and anything
        // not known: tried again later.
        _ => Verdict::Retry {
            reason: said,
            answer: Some(answer.clone()),
            after: None,
        },
    }
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// DingTalk's `sign`: Base64 of HMAC-SHA256 keyed with the secret over
/// `timestamp + "\n" + secret` (milliseconds); URL-encode it in the query.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Feishu's `sign`: Base64 of HMAC-SHA256 keyed with `timestamp + "\n" +
/// secret` (seconds) over an empty message.
pub fn feishu_sign(secret: &str, timestamp: i64) -> String {
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        format!("{timestamp}\n{secret}").as_bytes(),
    );
    let tag = ring::hmac::sign(&key, b"");
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// One finding of a message, as a robot's reader sees it.
fn finding_text(f: &Value) -> String {
    let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
    let severity = match f["severity"].as_str() {
        Some("critical") => "严重",
        Some("warning") => "警告",
        _ => "提示",
    };
    let site = match (f["site"].as_str(), f["site_code"].as_str()) {
        (Some(site), Some(code)) => format!("（{site}，{code}）"),
        (Some(site), None) => format!("（{site}）"),
        _ => String::new(),
    };
    format!(
        "[{severity}] {}{site}\n{}\n处理建议：{}",
        text("subject"),
        text("summary"),
        text("action")
    )
}

/// Cuts `text` to at most `max` bytes on a character boundary, marked.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// One part's body in `robot`'s format.
fn body(robot: Robot, title: &str, items: &[String]) -> Value {
    match robot {
        Robot::Wecom => {
            let mut content = format!("**{title}**");
            for item in items {
                content.push_str("\n\n");
                content.push_str(item);
            }
            json!({"msgtype": "markdown", "markdown": {"content": content}})
        }
        Robot::Dingtalk => {
            let mut text = format!("### {title}");
            for item in items {
                text.push_str("\n\n");
                text.push_str(&item.replace('\n', "\n\n"));
            }
            json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
        }
        Robot::Feishu => {
            let content: Vec<Value> = items
                .iter()
                .map(|item| json!([{"tag": "text", "text": item}]))
                .collect();
            json!({"msg_type": "post", "content": {"post": {"zh_cn": {"title": title, "content": content}}}})
        }
    }
}

/// What a robot's limit counts of a body: WeCom's content, the others'
/// whole body (Feishu's with room for its timestamp and signature).
fn size(robot: Robot, body: &Value) -> usize {
    match robot {
        Robot::Wecom => body["markdown"]["content"].as_str().map_or(0, str::len),
        Robot::Dingtalk => body.to_string().len(),
        Robot::Feishu => body.to_string().len() + 96,
    }
}

/// The bodies to POST for `message` (the outbox's frozen JSON) from its
/// finding `from` on, in order, with how many findings each carries: the
/// title, then whole findings, as many as fit under `limit` bytes (a
/// finding too long for a part by itself is shortened, never split);
/// `（1/3）` marks a part of several, `（续）` the rest of a message whose
/// first parts were delivered. Feishu's signature is added at send time
/// ([`sign_feishu`]).
pub fn render(robot: Robot, message: &Value, from: usize, limit: usize) -> Vec<Part<Value>> {
    let mut title = message["title"].as_str().unwrap_or("网站监测").to_string();
    if from > 0 {
        title.push_str("（续）");
    }
    let findings: Vec<String> = message["findings"]
        .as_array()
        .map(|items| items.iter().skip(from).map(finding_text).collect())
        .unwrap_or_default();
    // Sized with the widest part marker.
    let sizing = format!("{title}（999/999）");
    let fits = |items: &[String]| size(robot, &body(robot, &sizing, items)) <= limit;
    let mut groups: Vec<Vec<String>> = vec![Vec::new()];
    for text in findings {
        let last = groups.last_mut().expect("one part at least");
        last.push(text);
        if fits(last) {
            continue;
        }
        let text = last.pop().expect("just pushed");
        let mut alone = vec![text];
        // Too long by itself: shortened until it fits.
        while !fits(&alone) && alone[0].len() > 16 {
            let keep = alone[0].len() * 3 / 4;
            alone[0] = cut(&alone[0], keep);
        }
        if groups.last().is_some_and(Vec::is_empty) {
            *groups.last_mut().expect("one part") = alone;
        } else {
            groups.push(alone);
        }
    }
    let n = groups.len();
    groups
        .iter()
        .enumerate()
        .map(|(i, items)| {
            let title = if n > 1 {
                format!("{title}（{}/{n}）", i + 1)
            } else {
                title.clone()
            };
            Part {
                payload: body(robot, &title, items),
                findings: items.len(),
            }
        })
        .collect()
}

/// A group robot as a sink.
#[derive(Debug, Clone)]
pub struct RobotSink {
    pub client: super::webhook::Client,
    pub robot: Robot,
    pub url: String,
    pub secret: Option<crate::config::Secret>,
    pub limits: Vec<RateLimit>,
    /// The configured rate window over a minute: the waits a robot asks
    /// for are scaled by it, as its limits are (tests shorten both).
    pub scale: f64,
}

impl Sink for RobotSink {
    type Payload = Value;

    fn limits(&self) -> Vec<RateLimit> {
        self.limits.clone()
    }

    fn parts(&self, body: &str, from: usize, shrink: u32) -> Result<Vec<Part<Value>>, String> {
        let message: Value = serde_json::from_str(body)
            .map_err(|e| format!("the stored message is not JSON: {e}"))?;
        let limit = self.robot.limit() >> shrink.min(4);
        Ok(render(self.robot, &message, from, limit))
    }

    async fn send(&self, mut part: Value, key: &str) -> Verdict {
        let now = chrono::Utc::now();
        let mut url = self.url.clone();
        match (
            self.robot,
            self.secret.as_ref().map(crate::config::Secret::expose),
        ) {
            (Robot::Dingtalk, Some(secret)) => {
                // Signed at send time: DingTalk allows an hour of skew.
                let ms = now.timestamp_millis();
                let sign = dingtalk_sign(secret, ms);
                let sign: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                let joiner = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{joiner}timestamp={ms}&sign={sign}");
            }
            (Robot::Feishu, Some(secret)) => sign_feishu(&mut part, secret, now.timestamp()),
            _ => {}
        }
        match self.client.post(&url, &part.to_string(), key, None).await {
            Ok(answer) => match verdict(self.robot, answer.status, &answer.body) {
                Verdict::Wait {
                    reason,
                    answer,
                    after,
                } => Verdict::Wait {
                    reason,
                    answer,
                    after: after.mul_f64(self.scale),
                },
                other => other,
            },
            Err(reason) => Verdict::Retry {
                reason,
                answer: None,
                after: None,
            },
        }
    }
}

/// Adds Feishu's `timestamp` and `sign` to a body.
pub fn sign_feishu(body: &mut Value, secret: &str, timestamp: i64) {
    body["timestamp"] = json!(timestamp.to_string());
    body["sign"] = json!(feishu_sign(secret, timestamp));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_signatures() {
        assert_eq!(
            dingtalk_sign("SEC1234567890abcdef", 1_700_000_000_000),
            "RqBq3E1RTBDv3n2QBCh4adZ2WHk9mVklyUoDBLxarjI="
        );
        assert_eq!(
            feishu_sign("SEC1234567890abcdef", 1_700_000_000),
            "q8Irq6jvUWZylp2Ox+urXynCLWrdgv6AW58ufc48Reo="
        );
    }

    fn message(n: usize) -> Value {
        let findings: Vec<Value> = (0..n)
            .map(|i| {
                json!({"id": i, "kind": "dangling_cname", "severity": "critical", "status": "open",
                       "subject": format!("h{i}.lanzhou.gov.cn"), "site": "兰州市人民政府", "site_code": "6201000001",
                       "since": "2026-12-01T10:00:00+08:00",
                       "summary": format!("h{i}.lanzhou.gov.cn 的 CNAME 指向不存在的域名，任何人注册该域名即可接管"),
                       "action": "删除该 CNAME 记录，或恢复其指向的资源"})
            })
            .collect();
        json!({"key": "k", "kind": "opened", "organization": "兰州市人民政府办公室",
               "title": "【网站监测】兰州市人民政府办公室：新确认问题", "findings": findings})
    }

    #[test]
    fn long_lists_are_split_between_findings_under_each_limit() {
        for robot in [Robot::Wecom, Robot::Dingtalk, Robot::Feishu] {
            let bodies: Vec<Value> = render(robot, &message(300), 0, robot.limit())
                .into_iter()
                .map(|p| p.payload)
                .collect();
            assert!(bodies.len() > 1, "{robot:?}: split");
            let mut seen = 0;
            for body in &bodies {
                let text = match robot {
                    Robot::Wecom => body["markdown"]["content"]
                        .as_str()
                        .expect("content")
                        .to_string(),
                    _ => body.to_string(),
                };
                assert!(
                    text.len() <= robot.limit(),
                    "{robot:?}: {} bytes",
                    text.len()
                );
                // Every finding whole: its subject and its action.
                let here = (0..300)
                    .filter(|i| text.contains(&format!("h{i}.lanzhou.gov.cn（")))
                    .count();
                assert_eq!(
                    text.matches("处理建议").count(),
                    here,
                    "{robot:?}: a finding cut"
                );
                seen += here;
            }
            assert_eq!(seen, 300, "{robot:?}: every finding in one part");
        }
        assert_eq!(render(Robot::Wecom, &message(2), 0, 4096).len(), 1);
        // The rest of a message: from its third finding, marked.
        let rest = render(Robot::Wecom, &message(5), 2, 4096);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].findings, 3);
        let text = rest[0].payload["markdown"]["content"]
            .as_str()
            .expect("content");
        assert!(
            text.contains("（续）") && !text.contains("h1.lanzhou") && text.contains("h4.lanzhou")
        );
        // Halved limits make more, smaller parts, every finding kept.
        let halved = render(Robot::Wecom, &message(40), 0, 2048);
        assert!(halved.len() > render(Robot::Wecom, &message(40), 0, 4096).len());
        assert_eq!(halved.iter().map(|p| p.findings).sum::<usize>(), 40);
    }

    #[test]
    fn each_error_code_means_what_the_robot_says() {
        let v = |robot, body: &str| verdict(robot, 200, body);
        assert!(matches!(
            v(Robot::Wecom, r#"{"errcode":0,"errmsg":"ok"}"#),
            Verdict::Accepted { .. }
        ));
        assert!(
            matches!(v(Robot::Wecom, r#"{"errcode":45009}"#), Verdict::Wait { after, .. } if after == Duration::from_secs(60))
        );
        assert!(matches!(
            v(Robot::Wecom, r#"{"errcode":-1}"#),
            Verdict::Retry { after: None, .. }
        ));
        assert!(matches!(
            v(Robot::Wecom, r#"{"errcode":45033}"#),
            Verdict::Retry { .. }
        ));
        for code in [93000, 93004, 93008] {
            assert!(matches!(
                v(Robot::Wecom, &format!(r#"{{"errcode":{code}}}"#)),
                Verdict::Broken { .. }
            ));
        }
        for code in [40058, 45002] {
            assert!(matches!(
                v(Robot::Wecom, &format!(r#"{{"errcode":{code}}}"#)),
                Verdict::TooLong { .. }
            ));
        }
        assert!(
            matches!(v(Robot::Dingtalk, r#"{"errcode":130101}"#), Verdict::Wait { after, .. } if after == Duration::from_secs(600))
        );
        assert!(
            matches!(v(Robot::Dingtalk, r#"{"errcode":310000,"errmsg":"sign not match"}"#), Verdict::Broken { reason, .. } if reason.contains("sign not match") && reason.contains("configuration error"))
        );
        assert!(matches!(
            v(Robot::Feishu, r#"{"code":0,"msg":"success"}"#),
            Verdict::Accepted { .. }
        ));
        assert!(matches!(
            v(Robot::Feishu, r#"{"code":19021}"#),
            Verdict::Broken { .. }
        ));
        assert!(matches!(
            v(Robot::Feishu, r#"{"code":19024}"#),
            Verdict::Broken { .. }
        ));
        assert!(matches!(
            verdict(Robot::Feishu, 502, ""),
            Verdict::Retry { .. }
        ));
    }
}
