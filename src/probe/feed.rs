//! Whether a new-media account still posts: reading its feed (RSS 2.0 and
//! 0.9x, RSS 1.0/RDF, Atom, JSON Feed 1.0/1.1) for when its entries were
//! published. Parsing is feed-rs's; this module owns what the feeds of
//! Chinese government sites need beyond it: decoding GBK bodies that
//! declare no encoding (or falsely declare UTF-8), reading the sloppy dates
//! they carry (with `CST` and zone-less times taken as China Standard
//! Time), and the summary the caller keeps. Pure: bytes in, [`FeedRead`]
//! out.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use encoding_rs::Encoding;
use feed_rs::model::FeedType;
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use super::page::header_charset;
use crate::clock;

/// What one poll of a feed found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRead {
    /// `rss` (RSS 2.0 and 0.9x), `rdf` (RSS 1.0), `atom` or `json_feed`.
    pub format: String,
    pub entries: usize,
    /// The newest entry's publication (or, failing that, update) time,
    /// among entries not dated in the future.
    pub latest_post_at: Option<DateTime<Utc>>,
    /// Entries with no parsable date.
    pub undated: usize,
    /// Entries dated more than [`FUTURE_SKEW`] after the poll: suspicious
    /// dates, left out of `latest_post_at` (one entry dated 2099 would
    /// otherwise keep an account fresh forever, or make a closed account
    /// look active).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub future_dated: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How far after the poll an entry may be dated and still count: clocks
/// on the publisher's side drift a little.
pub const FUTURE_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// Why a body gave no [`FeedRead`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Not a feed at all: an HTML page, an empty body, some other JSON.
    #[error("not a feed: {reason}")]
    NotAFeed { reason: String },
    /// A feed, but a broken one: bad XML or JSON, or a body cut short (by
    /// the probe's body cap, for one).
    #[error("malformed feed: {reason}")]
    Malformed { reason: String },
}

/// Reads a feed body polled at `now`. `content_type` is the response's `Content-Type`, used
/// only for its charset and only as a fallback (see `utf8_body`): servers
/// label feeds `text/html`, `text/xml` or `application/octet-stream` at
/// random, so whether a body is a feed is the body's to say.
///
/// A hostile body costs time linear in its length and no stack: quick-xml
/// (under feed-rs) reads iteratively and refuses nesting deeper than 65,535
/// elements, and serde_json refuses nesting deeper than 128.
pub fn read(
    body: &[u8],
    content_type: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FeedRead, FeedError> {
    let body = utf8_body(body, content_type);
    let parser = Builder::new()
        .timestamp_parser(parse_time)
        // Entry ids and sanitised HTML are not needed here; skipping them
        // spares a hash, or a random UUID, for every entry without an id.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build();
    let mut parsed = parser.parse(body.as_ref());
    if matches!(
        parsed,
        Err(ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot))
    ) && let Some(versioned) = with_rss_version(&body)
    {
        parsed = parser.parse(versioned.as_slice());
    }
    let feed = parsed.map_err(classify)?;
    let format = match feed.feed_type {
        FeedType::Atom => "atom",
        FeedType::JSON => "json_feed",
        FeedType::RSS0 | FeedType::RSS2 => "rss",
        FeedType::RSS1 => "rdf",
    };
    // When it was posted, not when it was last edited.
    let dates: Vec<Option<DateTime<Utc>>> = feed
        .entries
        .iter()
        .map(|entry| entry.published.or(entry.updated))
        .collect();
    let (future, past): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) = dates
        .iter()
        .flatten()
        .partition(|date| **date > now + FUTURE_SKEW);
    Ok(FeedRead {
        format: format.to_string(),
        entries: dates.len(),
        latest_post_at: past.into_iter().max(),
        undated: dates.iter().filter(|date| date.is_none()).count(),
        future_dated: future.len(),
    })
}

/// Sorts feed-rs's errors into "not a feed" and "a broken feed".
fn classify(error: ParseFeedError) -> FeedError {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => FeedError::NotAFeed {
            reason: "no <rss version>, <rdf:RDF> or Atom <feed> root, and not a JSON object"
                .to_string(),
        },
        ParseFeedError::JsonUnsupportedVersion(version) => FeedError::NotAFeed {
            reason: format!("JSON whose version `{version}` is not JSON Feed 1.x"),
        },
        // JSON that parses but does not have JSON Feed's shape (no
        // `version`, or `items` that are not a list) is some other JSON.
        ParseFeedError::JsonSerde(error)
            if error.classify() == serde_json::error::Category::Data =>
        {
            FeedError::NotAFeed {
                reason: format!("JSON, but not JSON Feed: {error}"),
            }
        }
        other => FeedError::Malformed {
            reason: other.to_string(),
        },
    }
}

/// The `encoding` of an XML declaration at the very start of a body.
static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\A\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']"#)
        .expect("static regex")
});

/// The longest XML declaration looked for; real ones are under 100 bytes.
const DECLARATION_SPAN: usize = 512;

/// The bytes to hand to feed-rs. Its XML reader (quick-xml, with its
/// `encoding` feature) decodes a body by the encoding its XML declaration
/// names, and otherwise takes it as UTF-8; JSON Feed is UTF-8 by definition.
/// So a body that is UTF-8, or declares another encoding, goes as it is.
/// One that is not UTF-8 yet declares nothing, or declares UTF-8 falsely
/// (both seen on Chinese government sites), is decoded here by the
/// `Content-Type` charset, else as GB18030 (a superset of GBK and GB2312),
/// and goes as UTF-8.
fn utf8_body<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    // A UTF-8 byte order mark says no more than the check below, and
    // serde_json refuses one in front of JSON.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let declared = XML_ENCODING
        .captures(&body[..body.len().min(DECLARATION_SPAN)])
        .and_then(|captures| Encoding::for_label(&captures[1]));
    if declared.is_some_and(|encoding| encoding != encoding_rs::UTF_8)
        || std::str::from_utf8(body).is_ok()
    {
        return Cow::Borrowed(body);
    }
    let encoding = content_type
        .and_then(header_charset)
        .filter(|encoding| *encoding != encoding_rs::UTF_8)
        .unwrap_or(encoding_rs::GB18030);
    let (text, _) = encoding.decode_without_bom_handling(body);
    Cow::Owned(text.into_owned().into_bytes())
}

/// The root `<rss …>` start tag after any XML declaration, comments and
/// doctype, with its attributes captured. Bytes, not text: a body that
/// declares GBK reaches this undecoded.
static RSS_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s-u)\A\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<rss\b([^>]*)>")
        .expect("static regex")
});

static VERSION_ATTRIBUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)\sversion\s*=").expect("static regex"));

/// How far into a body the root element is looked for.
const ROOT_SPAN: usize = 8 * 1024;

/// The body with `version="2.0"` added to a root `<rss>` that has no
/// version. feed-rs 3.0 takes `<rss>` for a feed only with a version of
/// 2.0, 0.91 or 0.92, though feeds without one exist; upstream reads them
/// as RSS 2.0 after feed-rs#280, not yet released, and this does the same
/// meanwhile. Called only for a body feed-rs found no feed root in.
fn with_rss_version(body: &[u8]) -> Option<Vec<u8>> {
    let captures = RSS_ROOT.captures(&body[..body.len().min(ROOT_SPAN)])?;
    let attributes = captures.get(1)?;
    if VERSION_ATTRIBUTE.is_match(attributes.as_bytes()) {
        return None;
    }
    let at = attributes.start();
    Some([&body[..at], b" version=\"2.0\"", &body[at..]].concat())
}

/// Reads a date as feeds write it. RFC 3339 (Atom, JSON Feed) and RFC 2822
/// (RSS) are the standards, but feeds also give wrong or long weekday and
/// month names, `UTC` or `CST` for the zone, Java's
/// `Tue Nov 03 08:00:00 CST 2026`, W3C dates without seconds in `dc:date`,
/// or a local `2026-11-03 08:00:00` with no zone at all.
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| loose_rfc2822(text))
        // Last for RFC 2822 proper: it would read `CST` as US Central.
        .or_else(|| DateTime::parse_from_rfc2822(text).ok())
        .or_else(|| loose_iso(text))
        .map(|time| time.with_timezone(&Utc))
        .or_else(|| local_time(text))
}

/// Day, month name, year, time and zone in any order, as RSS feeds write
/// them when they stray from RFC 2822. Weekdays are ignored (they are often
/// wrong); a missing time is midnight and a missing zone China Standard
/// Time. Any token not understood makes the whole text unread, so that a
/// guess never stands in for a date.
fn loose_rfc2822(text: &str) -> Option<DateTime<FixedOffset>> {
    // A trailing comment such as `(China Standard Time)` adds nothing.
    let text = text.split('(').next().unwrap_or_default();
    let mut day = None;
    let mut month = None;
    let mut year = None;
    let mut time = None;
    let mut offset = None;
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|token| token.trim_end_matches('.'))
        .filter(|token| !token.is_empty())
    {
        if token.starts_with(|c: char| c.is_ascii_digit()) && token.contains(':') {
            let parsed = NaiveTime::parse_from_str(token, "%H:%M:%S%.f")
                .or_else(|_| NaiveTime::parse_from_str(token, "%H:%M"))
                .ok()?;
            fill(&mut time, parsed)?;
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            match token.len() {
                1 | 2 => fill(&mut day, token.parse::<u32>().ok()?)?,
                4 => fill(&mut year, token.parse::<i32>().ok()?)?,
                _ => return None,
            }
        } else if let Some(zone) = zone_offset(token) {
            fill(&mut offset, zone)?;
        } else if let Some(number) = month_number(token) {
            fill(&mut month, number)?;
        } else if !is_weekday(token) {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    let naive = date.and_time(time.unwrap_or(NaiveTime::MIN));
    offset
        .unwrap_or_else(clock::china)
        .from_local_datetime(&naive)
        .single()
}

/// Sets a date part seen for the first time; a second sighting makes the
/// date ambiguous, and so unread.
fn fill<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// The offset a zone token stands for: `Z`, `UT`, `UTC`, `GMT`, `CST`,
/// `+0800`, `+08:00`, `+8`, or JavaScript's `GMT+0800`.
fn zone_offset(token: &str) -> Option<FixedOffset> {
    let upper = token.to_ascii_uppercase();
    match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" => return FixedOffset::east_opt(0),
        // The feeds read here are Chinese, and to Chinese servers (Java's
        // `Date.toString` above all) CST is China Standard Time, UTC+8,
        // not the US Central time RFC 2822 means by it.
        "CST" => return Some(clock::china()),
        _ => {}
    }
    let numeric = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .unwrap_or(&upper);
    let (sign, digits) = match numeric.split_at_checked(1)? {
        ("+", digits) => (1, digits),
        ("-", digits) => (-1, digits),
        _ => return None,
    };
    let digits = digits.replacen(':', "", 1);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.as_str(), "0"),
        4 => digits.split_at(2),
        _ => return None,
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The month an English month name or abbreviation (`Nov`, `November`,
/// `Sept`) stands for.
fn month_number(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if token.len() < 3 || !token.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let lower = token.to_ascii_lowercase();
    let index = MONTHS.iter().position(|month| lower.starts_with(month))?;
    u32::try_from(index + 1).ok()
}

/// Whether a token is an English weekday name or abbreviation (`Tue`,
/// `Thurs`, `Tuesday`).
fn is_weekday(token: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = token.to_ascii_lowercase();
    lower.len() >= 3
        && lower.bytes().all(|b| b.is_ascii_alphabetic())
        && DAYS.iter().any(|day| lower.starts_with(day))
}

/// ISO 8601 forms with a zone that RFC 3339 refuses: a space before the
/// zone, no colon in it, or no seconds (W3C dates in `dc:date`).
fn loose_iso(text: &str) -> Option<DateTime<FixedOffset>> {
    [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%dT%H:%M%z",
    ]
    .iter()
    .find_map(|format| DateTime::parse_from_str(text, format).ok())
}

/// A time with no zone, as Chinese content systems write it, in China
/// Standard Time: `2026-11-03 08:00:00`, Java's `2026-11-03 08:00:00.0`,
/// `2026/11/03 08:00`, `2026年11月03日 08:00`, or a bare date (midnight).
fn local_time(text: &str) -> Option<DateTime<Utc>> {
    const TIMES: [&str; 8] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
    ];
    const DATES: [&str; 3] = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"];
    let naive = TIMES
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            DATES
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
                .map(|date| date.and_time(NaiveTime::MIN))
        })?;
    clock::china()
        .from_local_datetime(&naive)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// One poll of an account's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPoll {
    pub url: String,
    #[serde(flatten)]
    pub result: FeedResult,
}

/// What the poll found: the feed, or why it could not be read (a failure
/// to measure, never a fact about the account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum FeedResult {
    Read(FeedRead),
    Failed { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UTC instant, for expectations.
    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn read_of(format: &str, entries: usize, latest: Option<&str>, undated: usize) -> FeedRead {
        FeedRead {
            format: format.to_string(),
            entries,
            latest_post_at: latest.map(utc),
            undated,
            future_dated: 0,
        }
    }

    fn found(format: &str, entries: usize, latest: Option<&str>, undated: usize) -> Expect {
        Expect::Read(read_of(format, entries, latest, undated))
    }

    #[derive(Debug)]
    enum Expect {
        Read(FeedRead),
        NotAFeed,
        Malformed,
    }

    const DC: &str = "http://purl.org/dc/elements/1.1/";

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>某市人民政府</title>
<item><title>a</title><pubDate>Mon, 3 Nov 2026 08:00:00 +0800</pubDate></item>
<item><title>b</title><pubDate>Wed, 05 Nov 2026 01:30:00 GMT</pubDate></item>
<item><title>c</title><dc:date>2026-11-04T12:00:00+08:00</dc:date></item>
</channel></rss>"#;

    const RDF: &str = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://example.cn/"><title>t</title><link>http://example.cn/</link>
<description>d</description></channel>
<item rdf:about="http://example.cn/1"><title>1</title><link>http://example.cn/1</link>
<dc:date>2026-11-02T09:00+08:00</dc:date></item>
<item rdf:about="http://example.cn/2"><title>2</title><link>http://example.cn/2</link>
<dc:date>2026-11-01</dc:date></item>
</rdf:RDF>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>
<updated>2026-11-06T00:00:00Z</updated>
<entry><title>1</title><id>urn:1</id><published>2026-11-01T10:00:00+08:00</published>
<updated>2026-11-06T00:00:00Z</updated></entry>
<entry><title>2</title><id>urn:2</id><updated>2026-11-03T10:00:00Z</updated></entry>
</feed>"#;

    const JSON_FEED: &str = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t",
"items": [
 {"id": "1", "content_text": "x", "date_published": "2026-11-02T08:00:00+08:00"},
 {"id": "2", "content_text": "y", "date_modified": "2026-11-03T08:00:00Z"},
 {"id": "3", "content_text": "z"}
]}"#;

    const GBK_RSS: &str = r#"<?xml version="1.0" encoding="gbk"?>
<rss version="2.0"><channel><title>政务公开</title>
<item><title>通知公告</title><pubDate>Tue Nov 03 08:00:00 CST 2026</pubDate></item>
<item><title>工作动态</title><pubDate>2026-11-04 09:15:00.0</pubDate></item>
</channel></rss>"#;

    const UNDECLARED_GBK_RSS: &str = r#"<rss version="2.0"><channel><title>政务公开</title>
<item><title>通知公告</title><pubDate>2026年11月03日 08:00</pubDate></item>
</channel></rss>"#;

    const HTML: &str = r#"<!DOCTYPE html>
<html><head><title>首页</title></head><body><p>欢迎<br></body></html>"#;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn reads_the_table_of_feeds() {
        let cases: Vec<(&str, Vec<u8>, Option<&str>, Expect)> = vec![
            (
                "rss 2.0",
                RSS.into(),
                Some("application/rss+xml"),
                found("rss", 3, Some("2026-11-05T01:30:00Z"), 0),
            ),
            (
                "rss 1.0",
                RDF.into(),
                None,
                found("rdf", 2, Some("2026-11-02T01:00:00Z"), 0),
            ),
            (
                "atom, published before updated",
                ATOM.into(),
                Some("application/atom+xml"),
                found("atom", 2, Some("2026-11-03T10:00:00Z"), 0),
            ),
            (
                "json feed",
                JSON_FEED.into(),
                Some("application/feed+json"),
                found("json_feed", 3, Some("2026-11-03T08:00:00Z"), 1),
            ),
            (
                "json feed after a BOM",
                [b"\xEF\xBB\xBF".as_slice(), JSON_FEED.as_bytes()].concat(),
                None,
                found("json_feed", 3, Some("2026-11-03T08:00:00Z"), 1),
            ),
            (
                "gbk declared in the prolog",
                gbk(GBK_RSS),
                Some("text/xml"),
                found("rss", 2, Some("2026-11-04T01:15:00Z"), 0),
            ),
            (
                "gbk declared nowhere",
                gbk(UNDECLARED_GBK_RSS),
                None,
                found("rss", 1, Some("2026-11-03T00:00:00Z"), 0),
            ),
            (
                "gbk falsely labelled utf-8",
                gbk(&format!(
                    r#"<?xml version="1.0" encoding="utf-8"?>{UNDECLARED_GBK_RSS}"#
                )),
                Some("text/xml; charset=utf-8"),
                found("rss", 1, Some("2026-11-03T00:00:00Z"), 0),
            ),
            (
                "gb2312 named by the header only",
                gbk(UNDECLARED_GBK_RSS),
                Some("text/xml; charset=GB2312"),
                found("rss", 1, Some("2026-11-03T00:00:00Z"), 0),
            ),
            (
                "rss without a version",
                format!(
                    "<?xml version=\"1.0\"?>\n<!-- generated -->\n<rss xmlns:dc=\"{DC}\">{}",
                    &RSS[RSS.find("<channel>").expect("channel")..]
                )
                .into(),
                None,
                found("rss", 3, Some("2026-11-05T01:30:00Z"), 0),
            ),
            (
                "gbk rss without a version",
                gbk(&GBK_RSS.replace(" version=\"2.0\"", "")),
                None,
                found("rss", 2, Some("2026-11-04T01:15:00Z"), 0),
            ),
            (
                "rss of an unknown version",
                RSS.replace(r#"version="2.0""#, r#"version="9""#).into(),
                None,
                Expect::NotAFeed,
            ),
            (
                "empty channel",
                br#"<rss version="2.0"><channel><title>t</title></channel></rss>"#.to_vec(),
                None,
                found("rss", 0, None, 0),
            ),
            (
                "empty json feed",
                br#"{"version": "https://jsonfeed.org/version/1", "title": "t", "items": []}"#
                    .to_vec(),
                None,
                found("json_feed", 0, None, 0),
            ),
            (
                "entries without dates",
                br#"<rss version="2.0"><channel><title>t</title>
                    <item><title>a</title></item>
                    <item><title>b</title><pubDate>soon</pubDate></item>
                    <item><title>c</title><pubDate></pubDate></item>
                    </channel></rss>"#
                    .to_vec(),
                None,
                found("rss", 3, None, 3),
            ),
            (
                "a date in the future is counted apart, not believed",
                br#"<rss version="2.0"><channel><title>t</title>
                    <item><pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item>
                    </channel></rss>"#
                    .to_vec(),
                None,
                Expect::Read(FeedRead {
                    future_dated: 1,
                    ..read_of("rss", 1, None, 0)
                }),
            ),
            (
                "html page",
                HTML.into(),
                Some("text/html; charset=utf-8"),
                Expect::NotAFeed,
            ),
            ("empty body", Vec::new(), None, Expect::NotAFeed),
            (
                "plain text",
                b"502 Bad Gateway".to_vec(),
                None,
                Expect::NotAFeed,
            ),
            (
                "other json",
                br#"{"code": 0, "data": [1, 2]}"#.to_vec(),
                Some("application/json"),
                Expect::NotAFeed,
            ),
            (
                "json of another version",
                br#"{"version": "https://example.cn/v9", "items": []}"#.to_vec(),
                None,
                Expect::NotAFeed,
            ),
            (
                "mismatched tags",
                br#"<rss version="2.0"><channel><item><title>a</item></channel></rss>"#.to_vec(),
                None,
                Expect::Malformed,
            ),
            (
                "cut short",
                RSS.as_bytes()[..RSS.len() - 40].to_vec(),
                None,
                Expect::Malformed,
            ),
            (
                "broken json feed",
                br#"{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "#.to_vec(),
                None,
                Expect::Malformed,
            ),
        ];
        for (name, body, content_type, expect) in cases {
            let got = read(&body, content_type, utc("2026-12-01T00:00:00Z"));
            match (&expect, &got) {
                (Expect::Read(want), Ok(read)) => assert_eq!(want, read, "{name}"),
                (Expect::NotAFeed, Err(FeedError::NotAFeed { .. }))
                | (Expect::Malformed, Err(FeedError::Malformed { .. })) => {}
                _ => panic!("{name}: expected {expect:?}, got {got:?}"),
            }
        }
    }

    /// An entry dated after the poll is counted apart and does not make
    /// the feed fresh; the others still do.
    #[test]
    fn entries_dated_in_the_future_are_counted_not_believed() {
        let body = r#"<rss version="2.0"><channel><title>t</title>
<item><title>a</title><pubDate>Mon, 3 Nov 2026 08:00:00 +0800</pubDate></item>
<item><title>b</title><pubDate>Fri, 1 Jan 2099 08:00:00 +0800</pubDate></item>
<item><title>c</title><pubDate>Tue, 1 Dec 2026 09:30:00 +0800</pubDate></item>
</channel></rss>"#;
        let polled = utc("2026-12-01T00:00:00Z");
        let got = read(body.as_bytes(), None, polled).expect("a feed");
        assert_eq!(got.entries, 3);
        assert_eq!(
            got.future_dated, 2,
            "2099, and 09:30 CST is 01:30Z, past the skew"
        );
        assert_eq!(got.latest_post_at, Some(utc("2026-11-03T00:00:00Z")));
        // Within the skew, a publisher's clock a little fast still counts.
        let got = read(body.as_bytes(), None, utc("2026-12-01T01:00:00Z")).expect("a feed");
        assert_eq!(got.future_dated, 1);
        assert_eq!(got.latest_post_at, Some(utc("2026-12-01T01:30:00Z")));
        // Every entry in the future: no freshness at all.
        let all_future = body.replace("2026", "2098");
        let got = read(all_future.as_bytes(), None, polled).expect("a feed");
        assert_eq!((got.future_dated, got.latest_post_at), (3, None));
    }

    #[test]
    fn reads_sloppy_dates() {
        let cases = [
            ("Tue, 03 Nov 2026 08:00:00 +0800", "2026-11-03T00:00:00Z"),
            ("Mon, 3 Nov 2026 08:00:00 +0800", "2026-11-03T00:00:00Z"),
            ("Tue, 03 Nov 2026 08:00:00 GMT", "2026-11-03T08:00:00Z"),
            ("Tue, 03 Nov 2026 08:00:00 UTC", "2026-11-03T08:00:00Z"),
            ("Tue, 03 Nov 2026 08:00 EST", "2026-11-03T13:00:00Z"),
            (
                "Tuesday, 03 November 2026 8:00:00 +08:00",
                "2026-11-03T00:00:00Z",
            ),
            ("Nov 3, 2026 08:00:00 +0800", "2026-11-03T00:00:00Z"),
            ("Tue Nov 03 08:00:00 CST 2026", "2026-11-03T00:00:00Z"),
            (
                "Tue Nov 03 2026 08:00:00 GMT+0800 (China Standard Time)",
                "2026-11-03T00:00:00Z",
            ),
            ("03 Nov 2026", "2026-11-02T16:00:00Z"),
            ("2026-11-03T08:00:00+08:00", "2026-11-03T00:00:00Z"),
            ("2026-11-03T08:00:00Z", "2026-11-03T08:00:00Z"),
            ("2026-11-03T08:00:00.123+0800", "2026-11-03T00:00:00.123Z"),
            ("2026-11-03 08:00:00 +0800", "2026-11-03T00:00:00Z"),
            ("2026-11-03T08:00+08:00", "2026-11-03T00:00:00Z"),
            ("2026-11-03 08:00:00", "2026-11-03T00:00:00Z"),
            ("2026-11-03 08:00:00.0", "2026-11-03T00:00:00Z"),
            ("2026/11/03 08:00", "2026-11-03T00:00:00Z"),
            ("2026年11月03日 08:00:00", "2026-11-03T00:00:00Z"),
            ("2026-11-03", "2026-11-02T16:00:00Z"),
            ("  2026-11-03T08:00:00Z \n", "2026-11-03T08:00:00Z"),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_time(raw), Some(utc(want)), "{raw}");
        }
        for raw in [
            "",
            "soon",
            "Nov 2026",
            "32 Nov 2026 08:00:00 +0800",
            "03 Nov 2026 25:00:00 +0800",
            "03 Nov 2026 08:00:00 +0800 2027",
            "03 Nov 2026 08:00:00 Mars",
        ] {
            assert_eq!(parse_time(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn hostile_bodies_fail_fast_without_blowing_the_stack() {
        // Bodies at the probe's 2 MiB cap, each built to hurt a recursive
        // or quadratic reader.
        let cap = 2 * 1024 * 1024;
        let levels = cap / 8;
        let nested = |head: &str, tail: &str| {
            let mut body = String::from(head);
            body.push_str(&"<a>".repeat(levels));
            body.push_str(&"</a>".repeat(levels));
            body.push_str(tail);
            body.into_bytes()
        };
        let mut many_items = String::from(r#"<rss version="2.0"><channel><title>t</title>"#);
        while many_items.len() < cap - 100 {
            many_items.push_str("<item><pubDate>Tue, 03 Nov 2026 08:00:00 +0800</pubDate></item>");
        }
        many_items.push_str("</channel></rss>");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "deep rss",
                nested(
                    r#"<rss version="2.0"><channel><item>"#,
                    "</item></channel></rss>",
                ),
            ),
            (
                "deep atom xhtml",
                nested(
                    r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">"#,
                    "</content></entry></feed>",
                ),
            ),
            (
                "unclosed",
                format!(r#"<rss version="2.0"><channel>{}"#, "<item>".repeat(levels)).into_bytes(),
            ),
            (
                "deep json",
                format!(
                    r#"{{"version": "https://jsonfeed.org/version/1.1", "items": [{{"x": {}"#,
                    "[".repeat(cap - 100)
                )
                .into_bytes(),
            ),
        ];
        let started = std::time::Instant::now();
        for (name, body) in &cases {
            assert!(read(body, None, Utc::now()).is_err(), "{name}");
        }
        let read = read(many_items.as_bytes(), None, Utc::now()).expect("many items");
        assert_eq!(read.undated, 0);
        assert!(read.entries > 30_000);
        // Linear work on 10 MiB takes well under a second with dependencies
        // optimised (as the project builds them); the bound only catches
        // a blow-up.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }
}
