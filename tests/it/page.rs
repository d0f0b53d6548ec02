//! Reading pages: charsets, identifier codes in meta and footer, filing
//! numbers, organizer, links and prohibited terms.

use siteward::probe::page::{decode, parse};
use url::Url;

const PORTAL: &str = r#"<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<meta name="SiteName" content="甘肃省人民政府">
<meta name="SiteIDCode" content="6200000001">
<title> 甘肃省人民政府门户网站 </title>
<script>var fake = "网站标识码：9999999999 澳门赌场";</script>
</head><body>
<base href="https://www.gansu.gov.cn/">
<a href="/col/col1/index.html">要闻</a>
<a href="col/col2/index.html#top">通知公告</a>
<a href="https://www.gov.cn/">中国政府网</a>
<a href="http://old.gansu.gov.cn/zwgk/">政务公开（旧）</a>
<a href="javascript:void(0)">打印</a>
<a href="mailto:ban@gansu.gov.cn">联系我们</a>
<iframe src="https://tj.gansu.gov.cn/count"></iframe>
<div class="footer">主办单位：甘肃省人民政府办公厅　承办单位：甘肃省大数据中心<br>
网站标识码：<span>6200000001</span>
陇ICP备 05001234号-1 <img src="ga.png">甘公网安备 62010202000001号</div>
</body></html>"#;

fn url() -> Url {
    Url::parse("https://www.gansu.gov.cn/").expect("url")
}

#[test]
fn a_gbk_portal() {
    let (bytes, _, _) = encoding_rs::GBK.encode(PORTAL);
    for content_type in [Some("text/html; charset=GBK"), Some("text/html"), None] {
        let (html, encoding) = decode(&bytes, content_type);
        assert_eq!(encoding.name(), "GBK", "{content_type:?}");
        let (page, text) = parse(&html, &url(), &["澳门赌场".to_string()]);
        assert_eq!(page.title.as_deref(), Some("甘肃省人民政府门户网站"));
        assert_eq!(page.meta_site_code.as_deref(), Some("6200000001"));
        assert_eq!(page.meta_site_name.as_deref(), Some("甘肃省人民政府"));
        assert_eq!(
            page.footer_codes,
            ["6200000001"],
            "a code in a script is not shown"
        );
        assert_eq!(page.icp_filings, ["陇ICP备05001234号-1"]);
        assert_eq!(page.psb_filings, ["甘公网安备62010202000001号"]);
        assert_eq!(page.organizer.as_deref(), Some("甘肃省人民政府办公厅"));
        assert!(
            page.prohibited_terms.is_empty(),
            "script text is not page text"
        );
        assert_eq!(
            page.links,
            [
                "https://www.gansu.gov.cn/col/col1/index.html",
                "https://www.gansu.gov.cn/col/col2/index.html",
                "https://www.gov.cn/",
                "http://old.gansu.gov.cn/zwgk/",
                "https://tj.gansu.gov.cn/count",
            ]
        );
        let hosts: Vec<&str> = page.link_hosts.iter().map(String::as_str).collect();
        assert_eq!(
            hosts,
            [
                "old.gansu.gov.cn",
                "tj.gansu.gov.cn",
                "www.gansu.gov.cn",
                "www.gov.cn"
            ]
        );
        assert!(text.contains("甘肃省大数据中心"));
    }
}

/// A big page's head is cut where the cap falls, often inside a
/// character: still UTF-8, not GB18030.
#[test]
fn a_utf8_body_cut_inside_a_character() {
    let body = format!(
        "<html><title>兰州市人民政府</title><body>{}",
        "政务公开".repeat(10)
    );
    let cut = &body.as_bytes()[..body.len() - 1];
    assert!(std::str::from_utf8(cut).is_err(), "cut inside a character");
    let (html, encoding) = decode(cut, None);
    assert_eq!(encoding.name(), "UTF-8");
    assert!(html.contains("兰州市人民政府"));
}

#[test]
fn undeclared_gb18030_and_utf8() {
    let body = "<html><title>兰州市人民政府</title><body>政府网站标识码 6201000001</body></html>";
    let (gb, _, _) = encoding_rs::GB18030.encode(body);
    let (html, encoding) = decode(&gb, None);
    assert_eq!(encoding.name(), "gb18030");
    assert_eq!(parse(&html, &url(), &[]).0.footer_codes, ["6201000001"]);
    let (html, encoding) = decode(body.as_bytes(), Some("text/html; charset=\"utf-8\""));
    assert_eq!(encoding.name(), "UTF-8");
    assert_eq!(
        parse(&html, &url(), &[]).0.title.as_deref(),
        Some("兰州市人民政府")
    );
}

/// Real case 4: a captured notice page keeps the template and the footer's
/// code, but the site name is replaced by a gambling site's.
#[test]
fn a_captured_page() {
    let captured = PORTAL
        .replace("甘肃省人民政府门户网站", "澳门新葡京娱乐城")
        .replace(
            "<div class=\"footer\">",
            "<div>澳门 新葡京 在线娱乐，注册送彩金</div><div class=\"footer\">",
        );
    let terms = [
        "新葡京".to_string(),
        "送彩金".to_string(),
        "六合彩".to_string(),
    ];
    let (page, _) = parse(&captured, &url(), &terms);
    assert_eq!(page.title.as_deref(), Some("澳门新葡京娱乐城"));
    assert_eq!(page.footer_codes, ["6200000001"], "the code stays");
    assert_eq!(page.prohibited_terms, ["新葡京", "送彩金"]);
}

#[test]
fn hostile_pages_are_bounded() {
    let mut body = String::from("<html><body>");
    for i in 0..5000 {
        body.push_str(&format!("<a href=\"/p{i}.html\">p</a>"));
    }
    let (page, _) = parse(&body, &url(), &[]);
    assert_eq!(
        page.links.len(),
        siteward::probe::page::MAX_LINKS_PER_HOST,
        "links are bounded per host"
    );
    // A long page of the site's own links, then a footer of link lists:
    // every host the footer points at is read.
    for i in 0..300 {
        body.push_str(&format!(
            "<a href=\"http://www{i}.county{i}.gov.cn/\">县</a>"
        ));
    }
    let (page, _) = parse(&body, &url(), &[]);
    assert_eq!(
        page.link_hosts.len(),
        301,
        "the footer's hosts are all read"
    );
    assert!(page.links.iter().any(|l| l.contains("county299")));
    let mut hostile = String::from("<html><body>");
    for i in 0..5000 {
        hostile.push_str(&format!("<a href=\"http://h{i}.example/\">x</a>"));
    }
    let (page, _) = parse(&hostile, &url(), &[]);
    assert_eq!(
        page.link_hosts.len(),
        siteward::probe::page::MAX_LINK_HOSTS,
        "distinct hosts are bounded"
    );
    // Deep nesting with text at every level, hidden at the top; a script
    // full of handlers: each read in one pass, not once per node.
    let deep = format!(
        "<html><body><div style=\"display:none\">{}</div></body></html>",
        "<div>百家乐".repeat(20_000)
    );
    let (page, _) = parse(&deep, &url(), &["百家乐".to_string()]);
    assert_eq!(page.hidden_terms.len(), 1, "each term quoted once");
    let handlers = format!(
        "<html><script>{}</script></html>",
        "function f(){ location.href = \"http://x.example/\"; }\n".repeat(20_000)
    );
    assert_eq!(parse(&handlers, &url(), &[]).0.client_redirect, None);
    let (page, _) = parse(
        "<html><meta name=SiteIDCode content=' 1234 '><title></title>",
        &url(),
        &[],
    );
    assert_eq!(
        page.meta_site_code.as_deref(),
        Some("1234"),
        "kept as given, judged later"
    );
    assert_eq!(page.title, None);
}

fn terms(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

/// Where a prohibited term stands decides what it means: a healthy
/// portal's notices are visible text (quoted with their sentence), while
/// hidden elements and the page's identity are tampering's places.
#[test]
fn where_terms_stand() {
    let html = r#"<html><head><title>甘肃省人民政府门户网站</title>
<style>
  .ft-links { position: absolute; left: -9999px; }
  #bc, .x .y { display : none }
  .visible { color: red }
</style></head><body>
<h1>甘肃省人民政府</h1>
<div class="notice">警惕刷单返利诈骗。谨防 裸聊 敲诈！</div>
<a href="https://www.12377.cn/" title="中国互联网违法和不良信息举报中心">举报色情、赌博等违法有害信息</a>
<div style="display:none"><a href="http://www.amjs.example/">澳门金沙 百家乐</a></div>
<div class="ft-links"><a href="http://www.ylg.example/">体育投注</a></div>
<p id="bc">六合彩 开奖</p>
<marquee height="0" width="1">时时彩 平台</marquee>
<p hidden>老虎机</p>
<p class="visible">政务公开</p>
</body></html>"#;
    let prohibited = terms(&[
        "刷单返利",
        "裸聊",
        "色情",
        "百家乐",
        "体育投注",
        "六合彩",
        "时时彩",
        "老虎机",
    ]);
    let (page, _) = parse(html, &url(), &prohibited);
    assert_eq!(page.heading.as_deref(), Some("甘肃省人民政府"));
    assert!(page.identity_terms.is_empty(), "{:?}", page.identity_terms);
    let hidden: Vec<&str> = page.hidden_terms.iter().map(|q| q.term.as_str()).collect();
    assert_eq!(
        hidden,
        ["百家乐", "体育投注", "六合彩", "时时彩", "老虎机"],
        "inline style, a style rule's class and id, a zero-height marquee, the hidden attribute"
    );
    let mentioned: Vec<(&str, &str)> = page
        .mentioned
        .iter()
        .map(|q| (q.term.as_str(), q.text.as_str()))
        .collect();
    assert_eq!(
        mentioned,
        [
            ("刷单返利", "警惕刷单返利诈骗"),
            ("裸聊", "谨防 裸聊 敲诈"),
            ("色情", "举报色情、赌博等违法有害信息"),
        ],
        "visible text, each with its sentence"
    );
    let linked: Vec<(&str, Option<&str>)> = page
        .link_terms
        .iter()
        .map(|q| (q.term.as_str(), q.host.as_deref()))
        .collect();
    assert_eq!(
        linked,
        [("色情", Some("www.12377.cn"))],
        "a visible link's words, with where it points; hidden links are hidden text"
    );
    assert_eq!(page.client_redirect, None);

    // The identity: title, main heading, SiteName.
    let (page, _) = parse(
        r#"<html><head><meta name="SiteName" content="澳门金沙娱乐城"><title>首页</title></head>
<body><h1>体育投注 官方网站</h1></body></html>"#,
        &url(),
        &prohibited,
    );
    assert_eq!(page.identity_terms, ["体育投注"]);
    assert_eq!(page.heading.as_deref(), Some("体育投注 官方网站"));
}

/// A page that sends visitors away by itself: a meta refresh, or a script
/// assigning `location` when the page loads; a handler that navigates
/// when a visitor clicks is not a redirect.
#[test]
fn redirects_the_page_makes() {
    let cases = [
        (
            r#"<meta http-equiv="Refresh" content="0; URL='http://www.bc8888.example/'">"#,
            Some("http://www.bc8888.example/"),
        ),
        (
            r#"<meta http-equiv="refresh" content="3;url=/index.html">"#,
            Some("https://www.gansu.gov.cn/index.html"),
        ),
        (
            r#"<script>window.location.href="http://www.bc8888.example/";</script>"#,
            Some("http://www.bc8888.example/"),
        ),
        (
            r#"<script>var r=document.referrer;if(r.indexOf("baidu")>0){ top.location = 'http://www.amjs.example/' }</script>"#,
            Some("http://www.amjs.example/"),
        ),
        (
            r#"<script>location.replace("http://m.gansu.gov.cn/")</script>"#,
            Some("http://m.gansu.gov.cn/"),
        ),
        (
            r#"<script>function go(){ window.location.href = "https://www.12377.cn/"; }</script>"#,
            None,
        ),
        (
            r#"<script>document.getElementById("s").onclick = () => { location.href = "http://x.example/"; };</script>"#,
            None,
        ),
        (
            r#"<script>if (q) { location.href = "http://www.baidu.com/s?wd=" + q; }</script>"#,
            None,
        ),
        (
            r#"<script>if (location.href == "http://x.example/") {}</script>"#,
            None,
        ),
    ];
    for (markup, expected) in cases {
        let html = format!("<html><head>{markup}<title>t</title></head><body></body></html>");
        let (page, _) = parse(&html, &url(), &[]);
        assert_eq!(page.client_redirect.as_deref(), expected, "{markup}");
    }
}
