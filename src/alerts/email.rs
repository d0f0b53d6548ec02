//! The email sink: one email per message, sent through an SMTP relay
//! over TLS only (`smtp://` with STARTTLS required, or `smtps://`,
//! implicit TLS), with `lettre`.
//!
//! - [`parse_url`]: the sink's URL (relay, port, credentials, TLS mode).
//! - [`render`]: the frozen JSON body (`message.rs`) as an email in
//!   Chinese, plain text and HTML, both Base64 so that any relay carries
//!   them intact; its `Message-ID` comes from the notification key, so a
//!   resend of one notification is recognisably the same email.
//! - [`send`]: one connection per email (no pool: the sender sends a few
//!   messages a minute), the public roots plus the configured extra ones,
//!   and what a failure means: [`SendError::Permanent`] when the sink is
//!   misconfigured (a 5xx reply, a refused login, an untrusted
//!   certificate), [`SendError::Transient`] when a retry may succeed.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

/// How the connection to the relay is encrypted. Plain SMTP is not
/// offered: the password and the findings would cross the network in
/// clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain connect, then STARTTLS, required (a relay that
    /// does not offer it is refused before any credential is sent).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// Where an email sink sends: its relay, parsed from the sink's `url`.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailTarget {
    /// A domain name (ASCII) or an IP address, without brackets.
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, percent-decoded; none: no AUTH.
    pub credentials: Option<(String, String)>,
}

// By hand: the password never reaches a log.
impl std::fmt::Debug for EmailTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

/// Reads `smtp://user:pass@host[:587]` (STARTTLS required) or
/// `smtps://user:pass@host[:465]` (implicit TLS). The error names the
/// problem and shows the URL masked (no password).
pub fn parse_url(url: &str) -> Result<EmailTarget, String> {
    let shown = super::mask_url(url);
    // On a parse error the URL is not shown at all: it may hold the
    // password where the parser gave up.
    let parsed = url::Url::parse(url).map_err(|e| match e {
        url::ParseError::EmptyHost => "the email sink URL has no host".to_string(),
        e => format!("the email sink URL is not a valid URL ({e})"),
    })?;
    let (security, default_port) = match parsed.scheme() {
        "smtp" => (Security::StartTls, 587),
        "smtps" => (Security::Implicit, 465),
        other => {
            return Err(format!(
                "the email sink URL {shown} has scheme `{other}`: use smtp:// (STARTTLS, port 587) \
                 or smtps:// (implicit TLS, port 465)"
            ));
        }
    };
    // `smtp` is not a scheme the URL standard knows, so its host is kept
    // as written ("opaque"): decoded and made ASCII here.
    let host = match parsed.host() {
        Some(url::Host::Domain(name)) if !name.is_empty() => {
            let name = percent_decode(name)
                .ok_or_else(|| format!("the email sink URL {shown} has a malformed host"))?;
            if name.parse::<std::net::IpAddr>().is_ok() {
                name
            } else {
                idna::domain_to_ascii(&name)
                    .map_err(|_| format!("the email sink URL {shown} has an invalid host name"))?
            }
        }
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(format!("the email sink URL {shown} has no host")),
    };
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(format!(
            "the email sink URL {shown} takes no path or query: only smtp[s]://user:password@host:port"
        ));
    }
    let credentials = match (parsed.username(), parsed.password()) {
        ("", None) => None,
        ("", Some(_)) => {
            return Err(format!(
                "the email sink URL {shown} has a password but no user name"
            ));
        }
        (_, None) => {
            return Err(format!(
                "the email sink URL {shown} has a user name but no password"
            ));
        }
        (user, Some(password)) => Some((
            percent_decode(user)
                .ok_or_else(|| format!("the email sink URL {shown} has a malformed user name"))?,
            percent_decode(password)
                .ok_or_else(|| format!("the email sink URL {shown} has a malformed password"))?,
        )),
    };
    Ok(EmailTarget {
        host,
        port: parsed.port().unwrap_or(default_port),
        security,
        credentials,
    })
}

/// `%XX` escapes decoded; none if they do not make UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The email of one message: `message` is the frozen JSON body, `key`
/// its notification key, `domain_for_id` the domain of `from` (the
/// right-hand side of the `Message-ID`).
pub fn render(
    message: &Value,
    key: &str,
    from: &str,
    to: &[String],
    domain_for_id: &str,
) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("the sender address `{from}` is not valid: {e}"))?;
    if to.is_empty() {
        return Err("the email has no recipient".into());
    }
    let title = message["title"].as_str().unwrap_or("【网站监测】通知");
    let mut builder = Message::builder()
        .from(from)
        .subject(title)
        .message_id(Some(message_id(key, domain_for_id)?))
        .date_now();
    for address in to {
        let mailbox: Mailbox = address
            .parse()
            .map_err(|e| format!("the recipient address `{address}` is not valid: {e}"))?;
        builder = builder.to(mailbox);
    }
    // Base64 whatever the text: some relays still mangle 8-bit bodies or
    // long lines, and quoted-printable Chinese is three times its size.
    let part = |kind: ContentType, body: String| {
        SinglePart::builder()
            .header(kind)
            .header(ContentTransferEncoding::Base64)
            .body(body)
    };
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, text_body(message, key)))
                .singlepart(part(ContentType::TEXT_HTML, html_body(message, key))),
        )
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// `<key@domain>`: the same notification always makes the same id, so a
/// mail client (and a person) can tell a resend from a new alert.
fn message_id(key: &str, domain: &str) -> Result<String, String> {
    let atom = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    if !atom(key) {
        return Err(format!(
            "the notification key `{key}` cannot make a Message-ID"
        ));
    }
    if !atom(domain) {
        return Err(format!("`{domain}` cannot be the domain of a Message-ID"));
    }
    Ok(format!("<{key}@{domain}>"))
}

fn severity(finding: &Value) -> &'static str {
    match finding["severity"].as_str() {
        Some("critical") => "严重",
        Some("warning") => "警告",
        _ => "提示",
    }
}

/// `since` as people read it, `2026-12-01 10:00（北京时间）`; as given
/// when it is not RFC 3339.
fn since(finding: &Value) -> String {
    let raw = finding["since"].as_str().unwrap_or_default();
    match chrono::DateTime::parse_from_rfc3339(raw) {
        Ok(at) => at
            .with_timezone(&crate::clock::china())
            .format("%Y-%m-%d %H:%M（北京时间）")
            .to_string(),
        Err(_) => raw.to_string(),
    }
}

/// `兰州市人民政府网（6201000001）`, or none when the finding has no site.
fn site(finding: &Value) -> Option<String> {
    match (finding["site"].as_str(), finding["site_code"].as_str()) {
        (Some(site), Some(code)) => Some(format!("{site}（{code}）")),
        (Some(site), None) => Some(site.to_string()),
        (None, Some(code)) => Some(code.to_string()),
        (None, None) => None,
    }
}

fn findings(message: &Value) -> &[Value] {
    message["findings"].as_array().map_or(&[], Vec::as_slice)
}

fn footer(key: &str) -> String {
    format!("本邮件由网站监测系统自动发送，请勿直接回复。通知编号：{key}")
}

fn text_body(message: &Value, key: &str) -> String {
    let field = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
    let mut text = format!("{}\n\n", field(message, "title"));
    if let Some(organization) = message["organization"].as_str() {
        text.push_str(&format!("主办单位：{organization}\n\n"));
    }
    for (i, f) in findings(message).iter().enumerate() {
        text.push_str(&format!(
            "{}. 【{}】{}\n",
            i + 1,
            severity(f),
            field(f, "subject")
        ));
        if let Some(site) = site(f) {
            text.push_str(&format!("   网站：{site}\n"));
        }
        text.push_str(&format!("   发现时间：{}\n", since(f)));
        text.push_str(&format!("   问题：{}\n", field(f, "summary")));
        text.push_str(&format!("   处理建议：{}\n\n", field(f, "action")));
    }
    text.push_str(&footer(key));
    text.push('\n');
    text
}

/// `&`, `<`, `>` and both quotes escaped: safe in text and in attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_body(message: &Value, key: &str) -> String {
    let field = |f: &Value, k: &str| escape(f[k].as_str().unwrap_or_default());
    let title = field(message, "title");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:sans-serif;line-height:1.6\">\n<h2>{title}</h2>\n"
    );
    if let Some(organization) = message["organization"].as_str() {
        html.push_str(&format!("<p>主办单位：{}</p>\n", escape(organization)));
    }
    let items = findings(message);
    if !items.is_empty() {
        html.push_str("<ol>\n");
    }
    for f in items {
        let colour = match f["severity"].as_str() {
            Some("critical") => "#c00",
            Some("warning") => "#b60",
            _ => "#555",
        };
        html.push_str(&format!(
            "<li><p><strong style=\"color:{colour}\">【{}】</strong><strong>{}</strong></p>\n",
            severity(f),
            field(f, "subject")
        ));
        if let Some(site) = site(f) {
            html.push_str(&format!("<p>网站：{}</p>\n", escape(&site)));
        }
        html.push_str(&format!("<p>发现时间：{}</p>\n", escape(&since(f))));
        html.push_str(&format!("<p>问题：{}</p>\n", field(f, "summary")));
        html.push_str(&format!("<p>处理建议：{}</p></li>\n", field(f, "action")));
    }
    if !items.is_empty() {
        html.push_str("</ol>\n");
    }
    html.push_str(&format!(
        "<p style=\"color:#888;font-size:small\">{}</p>\n</body>\n</html>\n",
        escape(&footer(key))
    ));
    html
}

/// Why an email was not accepted, in English for the outbox's
/// `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The sink is misconfigured (a 5xx reply, a refused login, an
    /// untrusted certificate, no STARTTLS): retrying cannot help.
    #[error("{0}")]
    Permanent(String),
    /// Try again later (no connection, no answer in time, a 4xx reply).
    #[error("{0}")]
    Transient(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// Sends `message` through `target`, trusting the public roots plus
/// `extra_roots_pem` (each a PEM file's bytes, as `[probe] extra_roots`),
/// within `timeout` for the whole exchange. Returns the relay's answer
/// to the message (`250 2.0.0 Ok: queued as …`).
pub async fn send(
    target: &EmailTarget,
    message: Message,
    extra_roots_pem: &[Vec<u8>],
    timeout: Duration,
) -> Result<String, SendError> {
    let mut tls = TlsParameters::builder(target.host.clone());
    for pem in extra_roots_pem {
        let root = Certificate::from_pem(pem).map_err(|e| {
            SendError::Permanent(format!("an extra root is not a PEM certificate: {e}"))
        })?;
        tls = tls.add_root_certificate(root);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| SendError::Permanent(format!("cannot set up TLS: {e}")))?;
    let tls = match target.security {
        Security::StartTls => Tls::Required(tls),
        Security::Implicit => Tls::Wrapper(tls),
    };
    // "Dangerous" only in that it sets nothing itself: the TLS mode and
    // port are set here, explicitly.
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        .port(target.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some((user, password)) = &target.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = builder.build();
    let relay = format!("{}:{}", target.host, target.port);
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Err(_) => Err(SendError::Transient(format!(
            "the relay {relay} did not finish within {} s",
            timeout.as_secs_f64()
        ))),
        Ok(Ok(response)) => {
            let text: Vec<&str> = response.message().collect();
            Ok(format!("{} {}", u16::from(response.code()), text.join(" ")))
        }
        Ok(Err(e)) => Err(classify(&e, &relay)),
    }
}

/// What lettre's error means for the sink. Its `Display` (never
/// `Debug`) gives the words.
fn classify(e: &lettre::transport::smtp::Error, relay: &str) -> SendError {
    use std::error::Error;
    // The relay's own words, without lettre's "permanent error (535): ".
    let words = e.source().map_or_else(|| e.to_string(), |s| s.to_string());
    if let Some(code) = e.status() {
        let code = u16::from(code);
        return if e.is_permanent() {
            if matches!(code, 530 | 534 | 535 | 538) {
                SendError::Permanent(format!(
                    "the relay {relay} refused the login: {code} {words}"
                ))
            } else {
                SendError::Permanent(format!(
                    "the relay {relay} refused the email: {code} {words}"
                ))
            }
        } else {
            SendError::Transient(format!("the relay {relay} answered {code} {words}"))
        };
    }
    if let Some(reason) = certificate_error(e) {
        return SendError::Permanent(format!(
            "the certificate of the relay {relay} is not trusted ({reason}): check the host \
             name in the sink's URL, or trust its CA in [probe] extra_roots"
        ));
    }
    if e.is_client() {
        // STARTTLS not offered, no AUTH mechanism in common…: the relay
        // is not what the URL says it is.
        return SendError::Permanent(format!("cannot send through the relay {relay}: {words}"));
    }
    if e.is_timeout() {
        return SendError::Transient(format!("the relay {relay} did not answer in time"));
    }
    SendError::Transient(format!("cannot talk to the relay {relay}: {e}"))
}

/// rustls' reason, when the handshake failed on the relay's certificate.
/// It sits inside an `io::Error`, whose `source()` skips it: looked for
/// through `get_ref` as well.
fn certificate_error(e: &lettre::transport::smtp::Error) -> Option<String> {
    use std::error::Error;
    let mut next: Option<&(dyn Error + 'static)> = e.source();
    while let Some(err) = next {
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(reason)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(reason.to_string());
            }
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "key": "3f2a9c",
            "kind": "opened",
            "organization": "兰州市人民政府",
            "title": "【网站监测】兰州市人民政府：新确认 1 项问题，请及时整改",
            "findings": [{
                "id": 1, "kind": "dangling_cname", "severity": "critical", "status": "open",
                "subject": "old.lanzhou.gov.cn", "site": "兰州市人民政府网 <主站> & \"门户\"",
                "site_code": "6201000001", "since": "2026-12-01T10:00:00+08:00",
                "summary": "CNAME 指向不存在的域名", "action": "删除该 CNAME 记录"
            }]
        })
    }

    #[test]
    fn reads_both_schemes_with_their_default_ports() {
        let t = parse_url("smtp://alerts%40gov.cn:p%40ss%3Aw@mail.gov.cn").expect("smtp");
        assert_eq!(t.security, Security::StartTls);
        assert_eq!((t.host.as_str(), t.port), ("mail.gov.cn", 587));
        assert_eq!(
            t.credentials,
            Some(("alerts@gov.cn".to_string(), "p@ss:w".to_string()))
        );
        let t = parse_url("smtps://u:p@[::1]:2465").expect("smtps");
        assert_eq!(t.security, Security::Implicit);
        assert_eq!((t.host.as_str(), t.port), ("::1", 2465));
        let t = parse_url("smtps://u:p@127.0.0.1").expect("smtps");
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 465));
        assert_eq!(
            parse_url("smtp://relay.gov.cn:25")
                .expect("no auth")
                .credentials,
            None
        );
        // The password never shows in Debug.
        assert!(!format!("{t:?}").contains("p@"));
    }

    #[test]
    fn refuses_other_schemes_and_incomplete_urls() {
        let e = parse_url("http://u:secret@mail.gov.cn").expect_err("http");
        assert!(e.contains("scheme `http`"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = parse_url("smtp://u:p@:587").expect_err("no host");
        assert!(e.contains("no host"), "{e}");
        let e = parse_url("smtps://").expect_err("no host");
        assert!(e.contains("no host"), "{e}");
        let e = parse_url("smtp://u@mail.gov.cn").expect_err("no password");
        assert!(e.contains("no password"), "{e}");
        let e = parse_url("smtp://u:p@mail.gov.cn/x?tls=none").expect_err("path");
        assert!(e.contains("no path"), "{e}");
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn message_id_comes_from_the_key() {
        let to = vec!["ops@lanzhou.gov.cn".to_string()];
        let id = |m: &Message| {
            m.headers()
                .get_raw("Message-ID")
                .map(str::to_string)
                .expect("id")
        };
        let a = render(&body(), "3f2a9c", "alerts@gsb.gov.cn", &to, "gsb.gov.cn").expect("a");
        let b = render(&body(), "3f2a9c", "alerts@gsb.gov.cn", &to, "gsb.gov.cn").expect("b");
        assert_eq!(id(&a), "<3f2a9c@gsb.gov.cn>");
        assert_eq!(id(&a), id(&b));
        assert!(a.headers().get_raw("Date").is_some());
        assert!(render(&body(), "a b", "alerts@gsb.gov.cn", &to, "gsb.gov.cn").is_err());
    }

    #[test]
    fn bad_addresses_are_named() {
        let to = vec!["not an address".to_string()];
        let e = render(&body(), "k", "alerts@gsb.gov.cn", &to, "gsb.gov.cn").expect_err("to");
        assert!(e.contains("`not an address`"), "{e}");
        let to = vec!["ops@lanzhou.gov.cn".to_string()];
        let e = render(&body(), "k", "nobody", &to, "gsb.gov.cn").expect_err("from");
        assert!(e.contains("`nobody`"), "{e}");
        assert!(render(&body(), "k", "alerts@gsb.gov.cn", &[], "gsb.gov.cn").is_err());
    }

    #[test]
    fn html_is_escaped_and_both_bodies_are_chinese() {
        let html = html_body(&body(), "k");
        assert!(
            html.contains("兰州市人民政府网 &lt;主站&gt; &amp; &quot;门户&quot;（6201000001）")
        );
        assert!(!html.contains("<主站>"));
        assert!(html.contains("【严重】"));
        assert!(html.contains("处理建议：删除该 CNAME 记录"));
        let text = text_body(&body(), "k");
        assert!(text.contains("1. 【严重】old.lanzhou.gov.cn"));
        assert!(text.contains("发现时间：2026-12-01 10:00（北京时间）"));
        assert!(text.contains("处理建议：删除该 CNAME 记录"));
        assert_eq!(escape("a'b"), "a&#39;b");
    }

    #[test]
    fn the_subject_is_the_chinese_title_encoded_and_parts_are_base64() {
        let to = vec!["ops@lanzhou.gov.cn".to_string()];
        let m = render(&body(), "k", "alerts@gsb.gov.cn", &to, "gsb.gov.cn").expect("email");
        let subject = m.headers().get::<lettre::message::header::Subject>();
        assert_eq!(
            subject.as_ref().map(|s| s.as_ref()),
            Some("【网站监测】兰州市人民政府：新确认 1 项问题，请及时整改")
        );
        let raw = String::from_utf8(m.formatted()).expect("ascii");
        assert!(raw.is_ascii(), "every byte on the wire is 7-bit");
        assert!(raw.contains("Subject: =?utf-8?b?"));
        assert_eq!(raw.matches("Content-Transfer-Encoding: base64").count(), 2);
    }
}
/// An email sink: its relay, sender and recipients, the extra roots it
/// trusts, and its limits (none unless configured).
#[derive(Debug, Clone)]
pub struct EmailSink {
    target: EmailTarget,
    from: String,
    to: Vec<String>,
    roots: std::sync::Arc<Vec<Vec<u8>>>,
    timeout: Duration,
    limits: Vec<super::rate::RateLimit>,
}

impl EmailSink {
    /// Checks a sink's settings as the configuration is read.
    pub fn check(url: &str, from: Option<&str>, to: &[String]) -> Result<(), String> {
        parse_url(url)?;
        let from = from.ok_or("an email sink needs `from`, the sender's address")?;
        from.parse::<Mailbox>()
            .map_err(|e| format!("from `{from}` is not an address: {e}"))?;
        if to.is_empty() {
            return Err("an email sink needs `to`, its recipients".into());
        }
        for address in to {
            address
                .parse::<Mailbox>()
                .map_err(|e| format!("to `{address}` is not an address: {e}"))?;
        }
        Ok(())
    }

    /// `roots`: the extra roots' PEM bytes, read once by the sender's
    /// client.
    pub fn new(
        url: &str,
        from: Option<&str>,
        to: &[String],
        roots: std::sync::Arc<Vec<Vec<u8>>>,
        timeout: Duration,
        limits: Vec<super::rate::RateLimit>,
    ) -> Result<EmailSink, String> {
        EmailSink::check(url, from, to)?;
        Ok(EmailSink {
            target: parse_url(url)?,
            from: from.unwrap_or_default().to_string(),
            to: to.to_vec(),
            roots,
            timeout,
            limits,
        })
    }
}

impl super::sink::Sink for EmailSink {
    type Payload = Value;

    fn limits(&self) -> Vec<super::rate::RateLimit> {
        self.limits.clone()
    }

    fn parts(
        &self,
        body: &str,
        _from: usize,
        _shrink: u32,
    ) -> Result<Vec<super::sink::Part<Value>>, String> {
        // One email per message, whole: mail has no size limit worth
        // splitting for, and one Message-ID per notification.
        let message: Value = serde_json::from_str(body)
            .map_err(|e| format!("the stored message is not JSON: {e}"))?;
        let findings = message["findings"].as_array().map_or(0, Vec::len);
        Ok(vec![super::sink::Part {
            payload: message,
            findings,
        }])
    }

    async fn send(&self, message: Value, key: &str) -> super::sink::Verdict {
        use super::sink::Verdict;
        let domain = self.from.rsplit('@').next().unwrap_or("siteward.invalid");
        let domain = domain.trim_end_matches('>');
        let email = match render(&message, key, &self.from, &self.to, domain) {
            Ok(email) => email,
            Err(reason) => {
                return Verdict::Broken {
                    reason,
                    answer: None,
                };
            }
        };
        match send(&self.target, email, &self.roots, self.timeout).await {
            Ok(answer) => Verdict::Accepted { answer },
            Err(SendError::Permanent(reason)) => Verdict::Broken {
                reason,
                answer: None,
            },
            Err(SendError::Transient(reason)) => Verdict::Retry {
                reason,
                answer: None,
                after: None,
            },
        }
    }
}
