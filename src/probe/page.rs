//! What a page says about its site: decoding the body by its charset
//! (UTF-8, GBK/GB18030 on many Chinese government sites), and extracting
//! the title, the main heading, the identifier code (meta `SiteIDCode`
//! and the footer's 网站标识码), filing numbers, the organizer, the links
//! (a bounded number per linked host), and where prohibited terms stand:
//! in the page's identity (title, heading, `SiteName`), in hidden
//! elements, in the text of links, or in ordinary visible text (quoted,
//! for a person to judge: a portal's anti-fraud notice names fraud too).
//! Also a redirect made in the page itself (`<meta http-equiv=refresh>`,
//! a script assigning `location` when the page loads). Pure: bytes in,
//! [`Page`] out.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use encoding_rs::Encoding;
use regex::Regex;
use scraper::{Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

/// The most links kept per linked host name: enough to sample second-
/// and third-level pages of the site itself, and every host a long footer
/// of link lists points at.
pub const MAX_LINKS_PER_HOST: usize = 50;

/// The most distinct host names links are kept for, so that a hostile
/// page cannot fill memory.
pub const MAX_LINK_HOSTS: usize = 1000;

/// The deepest nesting read: HTML parsing costs time in proportion to
/// the depth for every element, so a hostile page of nothing but opening
/// tags would take minutes. Real pages stay within a few dozen levels.
pub const MAX_DEPTH: usize = 1000;

static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<(/?)([A-Za-z][A-Za-z0-9-]*)").expect("static regex"));

/// Elements that never nest: void, or whose end tag the parser supplies
/// (a page full of unclosed `<p>`, `<li>` and `<td>` is not deep).
const FLAT: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "basefont", "bgsound", "frame", "keygen", "p", "li", "dt", "dd", "tr", "td",
    "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp",
    "rtc", "html", "head", "body",
];

/// Elements whose content is not markup, skipped to their end tag.
const RAW: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// `html` up to where its nesting passes [`MAX_DEPTH`], and whether it
/// was cut there. One pass over the markup.
fn within_depth(html: &str) -> (&str, bool) {
    let lower = html.to_ascii_lowercase();
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(tag) = TAG.captures_at(&lower, at) {
        let whole = tag.get(0).expect("a match");
        let name = &tag[2];
        at = whole.end();
        if &tag[1] == "/" {
            if !FLAT.contains(&name) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        if RAW.contains(&name) {
            match lower[at..].find(&format!("</{name}")) {
                Some(end) => at += end,
                None => break,
            }
            continue;
        }
        if !FLAT.contains(&name) {
            depth += 1;
            if depth > MAX_DEPTH {
                return (&html[..whole.start()], true);
            }
        }
    }
    (html, false)
}

/// Put between a big page's head and tail (the middle was not kept):
/// closes whatever the cut may have left open, so that the footer reads
/// as text.
pub const SPLICE: &str = "\n--></script></style></textarea></title></noscript>\n";

/// The most quotes kept of each sort (hidden text, link text, mentions).
pub const MAX_QUOTES: usize = 10;

/// The most characters of a quote.
const QUOTE_CHARS: usize = 80;

/// A prohibited term where it was found, with the words around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub term: String,
    pub text: String,
    /// For a link's text: the host name it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

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
    /// [`MAX_LINKS_PER_HOST`] per linked host.
    pub links: Vec<String>,
    /// The host names links point at, at most [`MAX_LINK_HOSTS`].
    pub link_hosts: BTreeSet<String>,
    /// Prohibited terms (from policy) found anywhere on the page.
    pub prohibited_terms: Vec<String>,
    /// The page's first `<h1>`, white space squeezed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// Prohibited terms in the page's identity: the title, the main
    /// heading, the `SiteName` meta.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_terms: Vec<String>,
    /// Prohibited terms in elements hidden from visitors (暗链).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_terms: Vec<Quote>,
    /// Prohibited terms in the visible text of links, with the host each
    /// link points at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_terms: Vec<Quote>,
    /// Prohibited terms in ordinary visible text, each with its sentence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentioned: Vec<Quote>,
    /// Where the page itself sends visitors when it loads: a meta refresh
    /// or a script assigning `location` outside any function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_redirect: Option<String>,
    /// The page was not read to its end (longer than the probe reads, or
    /// nested deeper than [`MAX_DEPTH`]): what only its end would show
    /// (the footer's code and organizer) is not known.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
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
    let encoding = encoding_of(body, content_type);
    // GBK and GB2312 labels map to GBK, whose decoder is GB18030's.
    let (text, used, _) = encoding.decode(body);
    (text.into_owned(), used)
}

/// The encoding [`decode`] reads `body` with. A body cut short may end in
/// the middle of a UTF-8 character: still UTF-8.
pub fn encoding_of(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
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
    let utf8 = match std::str::from_utf8(body) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    match declared {
        Some(encoding) => encoding,
        None if utf8 => encoding_rs::UTF_8,
        None => encoding_rs::GB18030,
    }
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
static H1: LazyLock<Selector> = LazyLock::new(|| selector("h1"));
static STYLE: LazyLock<Selector> = LazyLock::new(|| selector("style"));
static REFRESH: LazyLock<Selector> = LazyLock::new(|| selector("meta[http-equiv]"));
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
/// text (script and style aside, white space squeezed). `prohibited` are
/// the policy's terms; matching ignores case and white space.
pub fn parse(html: &str, url: &Url, prohibited: &[String]) -> (Page, String) {
    let (html, cut) = within_depth(html);
    let needles = Needles::new(prohibited);
    let document = Html::parse_document(html);
    let mut page = Page {
        incomplete: cut,
        title: document
            .select(&TITLE)
            .next()
            .map(|t| squeeze(&t.text().collect::<String>()))
            .filter(|t| !t.is_empty()),
        heading: document
            .select(&H1)
            .map(|h| squeeze(&h.text().collect::<String>()))
            .find(|h| !h.is_empty())
            .map(|h| clip(&h, 200)),
        ..Page::default()
    };
    let mut refresh = None;
    for meta in document.select(&META) {
        let name = meta.value().attr("name").unwrap_or_default();
        let content = meta.value().attr("content").map(|c| c.trim().to_string());
        if name.eq_ignore_ascii_case("SiteIDCode") && page.meta_site_code.is_none() {
            page.meta_site_code = content;
        } else if name.eq_ignore_ascii_case("SiteName") && page.meta_site_name.is_none() {
            page.meta_site_name = content;
        }
    }
    for meta in document.select(&REFRESH) {
        let refreshes = meta
            .value()
            .attr("http-equiv")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
        if refreshes && refresh.is_none() {
            refresh = meta.value().attr("content").and_then(refresh_target);
        }
    }
    let base = document
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| url.join(href).ok())
        .unwrap_or_else(|| url.clone());
    let hidden = HiddenRules::of(&document).hidden_elements(&document);
    let mut per_host: std::collections::HashMap<String, usize> = Default::default();
    let mut seen_links: std::collections::HashSet<String> = Default::default();
    for element in document.select(&LINKS) {
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
        let Some(host) = link
            .host_str()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        else {
            continue;
        };
        if !page.link_hosts.contains(&host) {
            if page.link_hosts.len() >= MAX_LINK_HOSTS {
                continue;
            }
            page.link_hosts.insert(host.clone());
        }
        // What the link says, when a visitor can see it (a hidden link's
        // words are the hidden text's).
        if page.link_terms.len() < MAX_QUOTES && !hidden.contains(&element.id()) {
            let words = squeeze(&format!(
                "{} {}",
                element.text().collect::<String>(),
                element.value().attr("title").unwrap_or_default()
            ));
            for term in needles.find(&words) {
                let known = page
                    .link_terms
                    .iter()
                    .any(|q| q.term == term && q.host.as_deref() == Some(host.as_str()));
                if page.link_terms.len() < MAX_QUOTES && !known {
                    page.link_terms.push(Quote {
                        text: clip(&words, QUOTE_CHARS),
                        term,
                        host: Some(host.clone()),
                    });
                }
            }
        }
        let kept = per_host.entry(host).or_default();
        if *kept < MAX_LINKS_PER_HOST && seen_links.insert(link.to_string()) {
            *kept += 1;
            page.links.push(link.to_string());
        }
    }
    // Text nodes, sorted: script and style are not text; a hidden
    // element's text is apart.
    let mut all = Vec::new();
    let mut visible = Vec::new();
    let mut concealed = Vec::new();
    let mut scripts = Vec::new();
    for node in document.root_element().descendants() {
        let Some(text) = node.value().as_text() else {
            continue;
        };
        let parent = node.parent().and_then(scraper::ElementRef::wrap);
        match parent.map(|p| p.value().name()) {
            Some("script") => {
                scripts.push(text.to_string());
                continue;
            }
            Some("style" | "noscript") => continue,
            _ => {}
        }
        all.push(text.to_string());
        if parent.is_some_and(|p| hidden.contains(&p.id())) {
            concealed.push(text.to_string());
        } else if parent.is_none_or(|p| p.value().name() != "title") {
            let line = squeeze(text);
            if !line.is_empty() {
                visible.push(line);
            }
        }
    }
    let text = squeeze(&all.join(" "));
    // One line per text node: a quote stops where its element does.
    let visible = visible.join("\n");
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
    let identity = format!(
        "{} {} {}",
        page.title.as_deref().unwrap_or_default(),
        page.heading.as_deref().unwrap_or_default(),
        page.meta_site_name.as_deref().unwrap_or_default()
    );
    page.identity_terms = needles.find(&identity);
    for piece in &concealed {
        let piece = squeeze(piece);
        for term in needles.find(&piece) {
            // One quote a term: a hidden block repeats itself.
            if page.hidden_terms.len() < MAX_QUOTES
                && !page.hidden_terms.iter().any(|q| q.term == term)
            {
                page.hidden_terms.push(Quote {
                    text: sentence(&piece, &term),
                    term,
                    host: None,
                });
            }
        }
    }
    for term in needles.find(&visible) {
        if page.mentioned.len() < MAX_QUOTES {
            page.mentioned.push(Quote {
                text: sentence(&visible, &term),
                term,
                host: None,
            });
        }
    }
    page.prohibited_terms = needles.find(&format!("{identity} {text}"));
    page.client_redirect = refresh
        .or_else(|| scripts.iter().find_map(|script| script_redirect(script)))
        .and_then(|target| base.join(&target).ok())
        .filter(|target| matches!(target.scheme(), "http" | "https"))
        .map(|target| target.to_string());
    (page, text)
}

/// Adds what a later piece of the same page showed (the middle of a big
/// page, read in segments that are not kept) to `page`, within the same
/// bounds: links per host and hosts, quotes, codes and filings.
pub fn merge(page: &mut Page, more: Page) {
    let mut per_host: std::collections::HashMap<String, usize> = Default::default();
    for link in &page.links {
        if let Some(host) = Url::parse(link)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        {
            *per_host.entry(host).or_default() += 1;
        }
    }
    for link in more.links {
        let Some(host) = Url::parse(&link).ok().and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        }) else {
            continue;
        };
        if !page.link_hosts.contains(&host) && page.link_hosts.len() >= MAX_LINK_HOSTS {
            continue;
        }
        let kept = per_host.entry(host).or_default();
        if *kept < MAX_LINKS_PER_HOST && !page.links.contains(&link) {
            *kept += 1;
            page.links.push(link);
        }
    }
    for host in more.link_hosts {
        if page.link_hosts.len() >= MAX_LINK_HOSTS {
            break;
        }
        page.link_hosts.insert(host);
    }
    let quotes = |into: &mut Vec<Quote>, from: Vec<Quote>| {
        for quote in from {
            let known = into
                .iter()
                .any(|q| q.term == quote.term && q.host == quote.host);
            if into.len() < MAX_QUOTES && !known {
                into.push(quote);
            }
        }
    };
    quotes(&mut page.hidden_terms, more.hidden_terms);
    quotes(&mut page.link_terms, more.link_terms);
    quotes(&mut page.mentioned, more.mentioned);
    for (into, from) in [
        (&mut page.prohibited_terms, more.prohibited_terms),
        (&mut page.footer_codes, more.footer_codes),
        (&mut page.icp_filings, more.icp_filings),
        (&mut page.psb_filings, more.psb_filings),
    ] {
        for value in from {
            unique_push(into, value);
        }
    }
    if page.organizer.is_none() {
        page.organizer = more.organizer;
    }
    page.incomplete |= more.incomplete;
}

/// At most `chars` characters of `text`.
fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The sentence of `text` around the first occurrence of `term` (which
/// may be broken by white space there), clipped: what a person reads to
/// tell a notice ("警惕刷单返利诈骗") from an advertisement.
fn sentence(text: &str, term: &str) -> String {
    let squashed: Vec<char> = term.chars().filter(|c| !c.is_whitespace()).collect();
    let chars: Vec<char> = text.chars().collect();
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    // Where the term starts, skipping white space inside it.
    let found = (0..chars.len()).find_map(|start| {
        let mut at = start;
        for want in &squashed {
            while at < chars.len() && chars[at].is_whitespace() && at > start {
                at += 1;
            }
            if at >= chars.len() || lower(chars[at]) != lower(*want) {
                return None;
            }
            at += 1;
        }
        Some((start, at))
    });
    let Some((start, end)) = found else {
        return clip(term, QUOTE_CHARS);
    };
    let stop = |c: &char| "。！？!?；;|｜\n".contains(*c);
    let reach = QUOTE_CHARS / 2;
    let from = (start.saturating_sub(reach)..start)
        .rev()
        .find(|i| stop(&chars[*i]))
        .map_or(start.saturating_sub(reach), |i| i + 1);
    let to = (end..chars.len().min(end + reach))
        .find(|i| stop(&chars[*i]))
        .unwrap_or(chars.len().min(end + reach));
    chars[from..to]
        .iter()
        .collect::<String>()
        .trim()
        .to_string()
}

static REFRESH_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*\d*(?:\.\d+)?\s*[;,]?\s*url\s*=\s*['"]?\s*([^'"\s]+)"#)
        .expect("static regex")
});

/// The target of a `<meta http-equiv="refresh" content="0; url=…">`.
fn refresh_target(content: &str) -> Option<String> {
    REFRESH_URL.captures(content).map(|c| c[1].to_string())
}

static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:\b(?:window|document|top|self|parent)\s*\.\s*)?\blocation(?:\s*\.\s*href)?\s*(?:=\s*|\.\s*(?:replace|assign)\s*\(\s*)(['"])([^'"]+)['"]\s*(?:[;)\n}]|$)"#,
    )
    .expect("static regex")
});

/// Where a script sends the page when it runs: a string assigned to
/// `location` (or `location.href`, or passed to `location.replace` or
/// `assign`) outside any function body, whose string is not part of a
/// longer expression. A search box's handler builds its URL inside a
/// function, and runs when a visitor asks; a hijacker's redirect runs at
/// once, at the top of the script or in a plain `if`.
fn script_redirect(script: &str) -> Option<String> {
    // Open braces, whether each opens a function body; read once, up to
    // each assignment in turn.
    let mut open: Vec<bool> = Vec::new();
    let mut functions = 0usize;
    let mut read = 0;
    for captures in LOCATION.captures_iter(script) {
        let at = captures.get(0).map_or(0, |m| m.start());
        for (offset, c) in script[read..at].char_indices() {
            let here = read + offset;
            match c {
                // The brace's head: the text since the previous
                // statement or brace says `function` or `=>`.
                '{' => {
                    let head_start = script[..here].rfind([';', '{', '}']).map_or(0, |i| i + 1);
                    let head = &script[head_start..here];
                    let function = head.contains("function") || head.contains("=>");
                    functions += usize::from(function);
                    open.push(function);
                }
                // The innermost brace closes (popped in the guard).
                '}' if open.pop() == Some(true) => functions -= 1,
                _ => {}
            }
        }
        read = read.max(at);
        if functions == 0 {
            return Some(captures[2].trim().to_string());
        }
    }
    None
}

/// What a page's own markup hides from visitors: elements with the
/// `hidden` attribute, an inline style that hides them, a zero-height
/// `<marquee>`, or a class or id that one of the page's `<style>` rules
/// hides.
struct HiddenRules {
    classes: BTreeSet<String>,
    ids: BTreeSet<String>,
}

static CSS_RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([^{}]+)\{([^{}]*)\}").expect("static regex"));

static HIDING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        display:none | visibility:hidden
        | font-size:0(?:px|pt|em|rem|%)?(?:;|!|$)
        | (?:^|;)(?:height|max-height):0(?:px)?(?:;|!|$)
        | (?:^|;)(?:width|max-width):0(?:px)?(?:;|!|$)
        | (?:^|;)(?:left|top|text-indent|margin-left|margin-top):-\d{3,}
        ",
    )
    .expect("static regex")
});

/// Whether a style declaration block hides what it applies to.
fn style_hides(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    HIDING.is_match(&compact)
}

impl HiddenRules {
    fn of(document: &Html) -> HiddenRules {
        let mut rules = HiddenRules {
            classes: BTreeSet::new(),
            ids: BTreeSet::new(),
        };
        for style in document.select(&STYLE) {
            let css = style.text().collect::<String>();
            for rule in CSS_RULE.captures_iter(&css) {
                if !style_hides(&rule[2]) {
                    continue;
                }
                for selector in rule[1].split(',') {
                    // The last compound of a selector names the element.
                    let last = selector.split_whitespace().last().unwrap_or_default();
                    if let Some((_, class)) = last.rsplit_once('.') {
                        rules.classes.insert(class.to_string());
                    } else if let Some((_, id)) = last.rsplit_once('#') {
                        rules.ids.insert(id.to_string());
                    }
                }
            }
        }
        rules
    }

    fn hides(&self, element: &scraper::node::Element) -> bool {
        if element.attr("hidden").is_some() || element.attr("style").is_some_and(style_hides) {
            return true;
        }
        if element.name() == "marquee"
            && element.attr("height").is_some_and(|h| {
                h.trim()
                    .trim_end_matches("px")
                    .parse::<f32>()
                    .is_ok_and(|h| h < 2.0)
            })
        {
            return true;
        }
        element.classes().any(|class| self.classes.contains(class))
            || element.id().is_some_and(|id| self.ids.contains(id))
    }

    /// The elements of `document` that are hidden, by themselves or by an
    /// ancestor: one pass in document order (parents first), so that a
    /// hostile page's deep nesting costs linear time.
    fn hidden_elements(&self, document: &Html) -> HashSet<ego_tree::NodeId> {
        let mut hidden = HashSet::new();
        for node in document.root_element().descendants() {
            let Some(element) = node.value().as_element() else {
                continue;
            };
            let inherited = node.parent().is_some_and(|p| hidden.contains(&p.id()));
            if inherited || self.hides(element) {
                hidden.insert(node.id());
            }
        }
        hidden
    }
}

/// Which `terms` occur in a page's title or visible text, ignoring case
/// and white space (pages break words across lines and tags).
pub fn matching_terms(title: &str, text: &str, terms: &[String]) -> Vec<String> {
    Needles::new(terms).find(&format!("{title}{text}"))
}

/// Text as terms are matched in it: white space out, lower case.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Terms made ready once for matching many pieces of a page.
struct Needles<'t> {
    terms: Vec<(&'t String, String)>,
}

impl<'t> Needles<'t> {
    fn new(terms: &'t [String]) -> Needles<'t> {
        Needles {
            terms: terms
                .iter()
                .map(|term| (term, squash(term)))
                .filter(|(_, needle)| !needle.is_empty())
                .collect(),
        }
    }

    /// The terms in `text`, each once, in the terms' order.
    fn find(&self, text: &str) -> Vec<String> {
        if self.terms.is_empty() || text.is_empty() {
            return Vec::new();
        }
        let haystack = squash(text);
        let mut found = Vec::new();
        for (term, needle) in &self.terms {
            if haystack.contains(needle.as_str()) {
                unique_push(&mut found, (*term).clone());
            }
        }
        found
    }
}
