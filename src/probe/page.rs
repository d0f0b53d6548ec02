//! What a page says about its site: decoding the body by its charset
//! (UTF-8, GBK/GB18030 on many Chinese government sites), and extracting
//! the title, the identifier code (meta `SiteIDCode` and the footer's
//! 网站标识码), filing numbers, the organizer, every link, and prohibited
//! terms. Pure: bytes in, [`Page`] out.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use encoding_rs::Encoding;
use regex::Regex;
use scraper::{Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

/// The most links kept from one page: enough to sample second- and
/// third-level pages and to see where a page points, bounded so that a
/// hostile page cannot fill memory.
pub const MAX_LINKS: usize = 500;

/// What was read from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The encoding the body was decoded with.
    pub encoding: String,
    pub title: Option<String>,
    /// `<meta name="SiteIDCode" content="…">`, as given.
    pub meta_site_code: Option<String>,
    /// `<meta name="SiteName" content="…">`.
    pub meta_site_name: Option<String>,
    /// Codes shown after 网站标识码 / 政府网站标识码 in the text.
    pub footer_codes: Vec<String>,
    pub icp_filings: Vec<String>,
    pub psb_filings: Vec<String>,
    /// The organizer named after 主办单位.
    pub organizer: Option<String>,
    /// Absolute http(s) links, in page order, deduplicated, at most
    /// [`MAX_LINKS`].
    pub links: Vec<String>,
    /// The host names links point at.
    pub link_hosts: BTreeSet<String>,
    /// Prohibited terms (from policy) found in the title or text.
    pub prohibited_terms: Vec<String>,
    /// Which of the registered names (site, organizer) the title or text
    /// mention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// SHA-256 of the body as received, in hex: says the page changed
    /// without keeping it. Not compared: a visitor counter is not a
    /// change of what the rules read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// The charset a `Content-Type` header names, if any.
pub(crate) fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(value.trim().trim_matches('"').as_bytes()))
            .flatten()
    })
}

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_\-]+)"#).expect("static regex")
});

/// Decodes a body: the `Content-Type` charset, else a BOM, else a
/// `<meta charset>` in the first 2 KiB, else UTF-8 if it is valid, else
/// GB18030 (a superset of GBK and GB2312, common on government sites).
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let declared = content_type.and_then(header_charset).or_else(|| {
        Encoding::for_bom(body)
            .map(|(encoding, _)| encoding)
            .or_else(|| {
                let head = String::from_utf8_lossy(&body[..body.len().min(2048)]);
                META_CHARSET
                    .captures(&head)
                    .and_then(|c| Encoding::for_label(c[1].as_bytes()))
            })
    });
    let encoding = match declared {
        Some(encoding) => encoding,
        None if std::str::from_utf8(body).is_ok() => encoding_rs::UTF_8,
        None => encoding_rs::GB18030,
    };
    // GBK and GB2312 labels map to GBK, whose decoder is GB18030's.
    let (text, used, _) = encoding.decode(body);
    (text.into_owned(), used)
}

static FOOTER_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:政府)?网站标识码\s*[:：]?\s*(bm\d{8}|\d{10})").expect("static regex")
});

static ICP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"[{}]\s*ICP\s*备\s*\d{{6,10}}\s*号(?:\s*-\s*\d{{1,4}})?",
        crate::registry::PROVINCE_ABBREVIATIONS
    ))
    .expect("static regex")
});

static PSB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"[{}]\s*公网安备\s*\d{{14}}\s*号",
        crate::registry::PROVINCE_ABBREVIATIONS
    ))
    .expect("static regex")
});

static ORGANIZER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"主办单位\s*[:：]\s*([^\s|｜,，。;；:：<>]{2,40})").expect("static regex")
});

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("static selector")
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| selector("title"));
static META: LazyLock<Selector> = LazyLock::new(|| selector("meta[name]"));
static LINKS: LazyLock<Selector> =
    LazyLock::new(|| selector("a[href], area[href], iframe[src], frame[src]"));
static BASE: LazyLock<Selector> = LazyLock::new(|| selector("base[href]"));

/// Collapses runs of white space (including the ideographic space) to one.
fn squeeze(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{3000}')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn unique_push(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// Reads a decoded page fetched from `url`; returns what it says and its
/// visible text (white space squeezed). `prohibited` are the policy's
/// terms; matching ignores case and white space.
pub fn parse(html: &str, url: &Url, prohibited: &[String]) -> (Page, String) {
    let document = Html::parse_document(html);
    let mut page = Page {
        title: document
            .select(&TITLE)
            .next()
            .map(|t| squeeze(&t.text().collect::<String>()))
            .filter(|t| !t.is_empty()),
        ..Page::default()
    };
    for meta in document.select(&META) {
        let name = meta.value().attr("name").unwrap_or_default();
        let content = meta.value().attr("content").map(|c| c.trim().to_string());
        if name.eq_ignore_ascii_case("SiteIDCode") && page.meta_site_code.is_none() {
            page.meta_site_code = content;
        } else if name.eq_ignore_ascii_case("SiteName") && page.meta_site_name.is_none() {
            page.meta_site_name = content;
        }
    }
    let base = document
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| url.join(href).ok())
        .unwrap_or_else(|| url.clone());
    for element in document.select(&LINKS) {
        if page.links.len() >= MAX_LINKS {
            break;
        }
        let target = element
            .value()
            .attr("href")
            .or_else(|| element.value().attr("src"))
            .unwrap_or_default()
            .trim();
        let Ok(mut link) = base.join(target) else {
            continue;
        };
        if !matches!(link.scheme(), "http" | "https") {
            continue;
        }
        link.set_fragment(None);
        if let Some(host) = link.host_str() {
            page.link_hosts
                .insert(host.trim_end_matches('.').to_ascii_lowercase());
        }
        unique_push(&mut page.links, link.to_string());
    }
    // The text a person sees: script and style contents are not text.
    let text = squeeze(
        &document
            .root_element()
            .descendants()
            .filter_map(|node| {
                let parent_is_code = node
                    .parent()
                    .and_then(|p| p.value().as_element())
                    .is_some_and(|e| matches!(e.name(), "script" | "style" | "noscript"));
                node.value()
                    .as_text()
                    .filter(|_| !parent_is_code)
                    .map(|t| t.to_string())
            })
            .collect::<Vec<_>>()
            .join(" "),
    );
    for captures in FOOTER_CODE.captures_iter(&text) {
        unique_push(&mut page.footer_codes, captures[1].to_string());
    }
    for found in ICP.find_iter(&text) {
        unique_push(
            &mut page.icp_filings,
            found.as_str().split_whitespace().collect(),
        );
    }
    for found in PSB.find_iter(&text) {
        unique_push(
            &mut page.psb_filings,
            found.as_str().split_whitespace().collect(),
        );
    }
    page.organizer = ORGANIZER.captures(&text).map(|c| c[1].to_string());
    page.prohibited_terms =
        matching_terms(page.title.as_deref().unwrap_or_default(), &text, prohibited);
    (page, text)
}

/// Which `terms` occur in a page's title or visible text, ignoring case
/// and white space (pages break words across lines and tags).
pub fn matching_terms(title: &str, text: &str, terms: &[String]) -> Vec<String> {
    if terms.is_empty() {
        return Vec::new();
    }
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let haystack = format!("{}{}", squash(title), squash(text));
    let mut found = Vec::new();
    for term in terms {
        let needle = squash(term);
        if !needle.is_empty() && haystack.contains(&needle) {
            unique_push(&mut found, term.clone());
        }
    }
    found
}
