//! A simulated province on loopback, for the findings scenario and the
//! demo: healthy portals, the six real cases of `domain.md`, and the
//! traps that make other tools raise false alarms (a wildcard zone, a CNAME
//! to a service that cannot be taken over, a Chinese-cloud bucket). DNS is
//! one authoritative server on 127.0.0.2 that also answers the probes'
//! recursive questions; web servers listen on 127.0.0.1 and ::1.
//!
//! What each host name is meant to raise is listed in [`EXPECTED`], so
//! that tests and the demo agree with the world they run against.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::dns::{DnsServer, RecordData, Zone, serve};
use super::tls::{SniResolver, TcpServer, TestCa};
use super::web::{PageSpec, Pages, serve_web};
use crate::policy::Policy;
use crate::registry::lifecycle::{AccountAction, SiteAction};
use crate::registry::{OrgLevel, Platform, SiteKind};
use crate::store::{Change, NewAccount, NewOrganization, SiteRequest, Store};

/// The DNS server's address: name servers of every zone point here.
const DNS_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const WEB_V4: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Nothing listens here: a site whose server is gone.
const DEAD_V4: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);

/// (subject, finding kind) pairs the region is built to raise; every
/// other host name is healthy and raises nothing.
pub const EXPECTED: &[(&str, &str)] = &[
    // Real case 1: a retired county department's domain still resolves,
    // serves a gambling site, and the county portal links to it.
    ("ly.yuzhong.gov.cn", "offline_still_resolving"),
    (
        "www.yuzhong.gov.cn -> ly.yuzhong.gov.cn",
        "link_to_retired_domain",
    ),
    // Real case 2: an open-data site live without approval.
    ("data.lanzhou.gov.cn", "unapproved_site"),
    // Real case 3: a retired site still registered as live.
    ("lyj.lanzhou.gov.cn", "unreachable_but_resolving"),
    // Real case 4: a city portal captured by a gambling site.
    ("www.tianshui.gov.cn", "suspected_tampering"),
    // Tampering that leaves the portal's identity intact: 暗链 hidden by
    // an inline style and by a style rule, a script redirect.
    ("www.baiyin.gov.cn", "suspected_tampering"),
    ("www.yuzhong.gov.cn", "suspected_tampering"),
    ("www.jinchang.gov.cn", "suspected_tampering"),
    // A portal's anti-fraud and reporting notices: quoted, for a person.
    ("www.lanzhou.gov.cn", "prohibited_term_mentioned"),
    // Wildcards, where they answer from: a zone's apex, one label down,
    // and one label down reached two labels down.
    ("*.qingyang.gov.cn", "wildcard_record"),
    ("*.bm.gansu.gov.cn", "wildcard_record"),
    ("*.zt.lanzhou.gov.cn", "wildcard_record"),
    // Real case 5: IPv6 on the homepage only; a portal with no AAAA.
    ("www.baiyin.gov.cn", "ipv6_partial"),
    ("www.jinchang.gov.cn", "ipv6_missing"),
    // Real case 6: a bureau's accounts silent for more than two weeks.
    ("weibo:lanzhouwenlv", "account_stale"),
    ("wechat_subscription:lzwlfb", "account_stale"),
    // Dangling DNS.
    ("promo.gansu.gov.cn", "dangling_cname"),
    ("img.lanzhou.gov.cn", "dangling_cname"),
    // A deleted CloudFront distribution: broken, but nobody else can
    // claim it (a warning, a record to clean up).
    ("cdn.gansu.gov.cn", "dangling_cname"),
    (
        "www.lanzhou.gov.cn -> img.lanzhou.gov.cn",
        "link_to_retired_domain",
    ),
    ("oldcounty.gansu.gov.cn", "dangling_ns"),
];

/// Subjects built to raise nothing: healthy sites and false-alarm traps.
pub const QUIET: &[&str] = &[
    "www.gansu.gov.cn",
    "www.qingyang.gov.cn",
    // Exists only through the wildcard of qingyang.gov.cn.
    "oa.qingyang.gov.cn",
    // A CNAME to Fastly, which cannot be taken over.
    "static.gansu.gov.cn",
    // Exist only through wildcards below the apex (one and two labels
    // down from the wildcard's level).
    "xxgk.bm.gansu.gov.cn",
    "a.b.zt.lanzhou.gov.cn",
    // The consolidated platform's default virtual host.
    "yjt.gansu.gov.cn",
    "weibo:lanzhoufabu",
    // Closed; its feed's only recent entry is dated 2099.
    "weibo:lanzhoulvyou",
];

/// A running region; everything stops when it is dropped.
#[derive(Debug)]
pub struct Region {
    pub dns: SocketAddr,
    pub https_port: u16,
    pub http_port: u16,
    pub ca_pem: String,
    /// Whether the web servers also listen on ::1.
    pub ipv6: bool,
    _servers: Vec<TcpServer>,
    _dns: DnsServer,
}

fn html(title: &str, body: &str) -> PageSpec {
    PageSpec::html(
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
        ),
        "utf-8",
    )
}

/// A government homepage: the name, the organizer, the code in the meta
/// tag and the footer, and links.
fn portal(name: &str, org: &str, code: &str, links: &[&str]) -> PageSpec {
    portal_with(name, org, code, links, "")
}

/// [`portal`] with `extra` markup before the footer.
fn portal_with(name: &str, org: &str, code: &str, links: &[&str], extra: &str) -> PageSpec {
    let links: String = links
        .iter()
        .map(|href| format!("<li><a href=\"{href}\">{href}</a></li>"))
        .collect();
    PageSpec::html(
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"SiteIDCode\" content=\"{code}\">\
             <meta name=\"SiteName\" content=\"{name}\"><title>{name}</title></head><body>\
             <h1>{name}</h1><ul>{links}</ul>{extra}\
             <div class=\"footer\">主办单位：{org} 网站标识码：{code} 陇ICP备05001234号</div></body></html>"
        ),
        "utf-8",
    )
}

fn ns_glue(zone: Zone) -> Zone {
    let ns = format!("ns1.{}", zone.origin);
    zone.with(&ns, 3600, RecordData::A(DNS_IP))
}

fn rfc2822(time: DateTime<Utc>) -> String {
    time.with_timezone(&crate::clock::china()).to_rfc2822()
}

impl Region {
    /// Builds and starts the region.
    pub async fn start() -> io::Result<Region> {
        use RecordData::*;
        let v6 = Ipv6Addr::LOCALHOST;
        let web = |zone: Zone, host: &str, aaaa: bool| {
            let zone = zone.with(host, 300, A(WEB_V4));
            if aaaa {
                zone.with(host, 300, Aaaa(v6))
            } else {
                zone
            }
        };
        // The province lets this office transfer its zone.
        let gansu = Zone::new("gansu.gov.cn").transferable();
        let gansu = web(gansu, "www.gansu.gov.cn", true)
            .with(
                "promo.gansu.gov.cn",
                300,
                Cname("promo.expired-campaign.com".into()),
            )
            .with(
                "static.gansu.gov.cn",
                300,
                Cname("gansu.global.fastly.net".into()),
            )
            .with(
                "cdn.gansu.gov.cn",
                300,
                Cname("d1x2y3z4w5.cloudfront.net".into()),
            )
            // A wildcard one label down: every name under bm answers.
            .with("*.bm.gansu.gov.cn", 300, A(WEB_V4))
            // A department's name on the consolidated platform, whose
            // default virtual host answers with the province's portal.
            .with("yjt.gansu.gov.cn", 300, A(WEB_V4))
            .with(
                "oldcounty.gansu.gov.cn",
                300,
                Ns("ns1.dead-dns-provider.com".into()),
            );
        let lanzhou = web(Zone::new("lanzhou.gov.cn"), "www.lanzhou.gov.cn", true)
            // A wildcard one label down, reached two labels down.
            .with("*.zt.lanzhou.gov.cn", 300, A(WEB_V4))
            .with("data.lanzhou.gov.cn", 300, A(WEB_V4))
            .with("lyj.lanzhou.gov.cn", 300, A(DEAD_V4))
            .with("feeds.lanzhou.gov.cn", 300, A(WEB_V4))
            .with(
                "img.lanzhou.gov.cn",
                300,
                Cname("lz-img.oss-cn-lanzhou.aliyuncs.com".into()),
            );
        let yuzhong = web(Zone::new("yuzhong.gov.cn"), "www.yuzhong.gov.cn", true).with(
            "ly.yuzhong.gov.cn",
            300,
            A(WEB_V4),
        );
        let tianshui = web(Zone::new("tianshui.gov.cn"), "www.tianshui.gov.cn", true);
        let baiyin = web(Zone::new("baiyin.gov.cn"), "www.baiyin.gov.cn", true);
        let jinchang = web(Zone::new("jinchang.gov.cn"), "www.jinchang.gov.cn", false);
        let qingyang = web(Zone::new("qingyang.gov.cn"), "www.qingyang.gov.cn", true).with(
            "*.qingyang.gov.cn",
            300,
            A(WEB_V4),
        );
        let zones: Vec<Zone> = vec![
            gansu,
            lanzhou,
            yuzhong,
            tianshui,
            baiyin,
            jinchang,
            qingyang,
            Zone::new("aliyuncs.com").with("lz-img.oss-cn-lanzhou.aliyuncs.com", 300, A(WEB_V4)),
            Zone::new("fastly.net").with("gansu.global.fastly.net", 300, A(WEB_V4)),
            // The distribution was deleted: its name no longer exists.
            Zone::new("cloudfront.net"),
            // The top-level zone answers NXDOMAIN for names nobody holds.
            Zone::new("com"),
            // A canary outside the region (see the policy's `[monitor]`).
            Zone::new("12377.cn").with("www.12377.cn", 300, A(WEB_V4)),
        ]
        .into_iter()
        .map(ns_glue)
        .collect();

        let ca = TestCa::new("siteward region root")?;
        let mut certs = SniResolver::default();
        for host in [
            "www.gansu.gov.cn",
            "www.lanzhou.gov.cn",
            "data.lanzhou.gov.cn",
            "www.yuzhong.gov.cn",
            "www.tianshui.gov.cn",
            "www.baiyin.gov.cn",
            "www.jinchang.gov.cn",
            "www.qingyang.gov.cn",
        ] {
            certs.add(host, &ca.valid(&[host])?)?;
        }
        let now = Utc::now();
        let mut pages = Pages::default();
        let province = portal(
            "甘肃省人民政府门户网站",
            "甘肃省人民政府办公厅",
            "6200000001",
            &[
                "/col/zwgk/index.html",
                "http://static.gansu.gov.cn/logo.png",
                "http://www.oldcounty.gansu.gov.cn/",
                "http://xxgk.bm.gansu.gov.cn/",
                "http://yjt.gansu.gov.cn/",
            ],
        );
        pages.add("www.gansu.gov.cn", "/", province.clone());
        // The platform's default virtual host: the portal, for any name.
        pages.add("yjt.gansu.gov.cn", "/", province);
        pages.add(
            "www.lanzhou.gov.cn",
            "/",
            // The notices every portal carries: terms quoted, no tampering.
            portal_with(
                "兰州市人民政府",
                "兰州市人民政府办公室",
                "6201000001",
                &[
                    "/col/zwgk/index.html",
                    "http://data.lanzhou.gov.cn/",
                    "http://img.lanzhou.gov.cn/logo.png",
                    "http://a.b.zt.lanzhou.gov.cn/",
                ],
                "<div class=\"notice\">警惕刷单返利诈骗，谨防裸聊敲诈</div>\
                 <a href=\"https://www.12377.cn/\">举报色情、赌博等违法有害信息</a>",
            ),
        );
        pages.add(
            "www.yuzhong.gov.cn",
            "/",
            // 暗链 moved off-screen by a style rule's class.
            portal_with(
                "榆中县人民政府",
                "榆中县人民政府办公室",
                "6201230001",
                &["/col/zwgk/index.html", "http://ly.yuzhong.gov.cn/"],
                "<style>.ft-links{position:absolute;left:-9999px}</style>\
                 <div class=\"ft-links\"><a href=\"http://www.ylg-bet.com/\">体育投注 官方网站</a></div>",
            ),
        );
        pages.add(
            "www.baiyin.gov.cn",
            "/",
            // 暗链 in an element hidden by its inline style.
            portal_with(
                "白银市人民政府",
                "白银市人民政府办公室",
                "6204000001",
                &["/col/zwgk/index.html"],
                "<div style=\"display: none\"><a href=\"http://www.amjs-888.com/\">澳门金沙娱乐城 百家乐</a></div>",
            ),
        );
        pages.add(
            "www.jinchang.gov.cn",
            "/",
            // Visitors from a search engine are sent to a gambling site.
            portal_with(
                "金昌市人民政府",
                "金昌市人民政府办公室",
                "6203000001",
                &["/col/zwgk/index.html"],
                "<script>var r=document.referrer;if(r.indexOf(\"baidu\")>0||r.indexOf(\"sogou\")>0){window.location.href=\"http://www.bc-8888.com/\";}</script>",
            ),
        );
        pages.add(
            "www.qingyang.gov.cn",
            "/",
            // A reporting link and a click handler: no term, no redirect.
            // And a big page: 2.3 MB of news before the footer's code.
            portal_with(
                "庆阳市人民政府",
                "庆阳市人民政府办公室",
                "6210000001",
                &["/col/zwgk/index.html", "http://oa.qingyang.gov.cn/"],
                &format!(
                    "<a href=\"https://www.12377.cn/\">违法和不良信息举报中心</a>\
                     <script>function report(){{window.location.href=\"https://www.12377.cn/\";}}</script>\
                     <ul>{}</ul>",
                    "<li><a href=\"/col/zwgk/index.html\">关于印发《政务公开工作要点》的通知</a><span>2026-11-01</span></li>\n"
                        .repeat(2_300_000 / 110)
                ),
            ),
        );
        // Second- and third-level pages of every portal.
        for host in [
            "www.gansu.gov.cn",
            "www.lanzhou.gov.cn",
            "www.yuzhong.gov.cn",
            "www.baiyin.gov.cn",
            "www.jinchang.gov.cn",
            "www.qingyang.gov.cn",
        ] {
            pages.add(
                host,
                "/col/zwgk/index.html",
                html(
                    "政务公开",
                    "<a href=\"/art/2026/11/1.html\">通知</a><a href=\"/art/2026/11/2.html\">公告</a>",
                ),
            );
            for article in ["/art/2026/11/1.html", "/art/2026/11/2.html"] {
                pages.add(host, article, html("通知公告", "<p>正文</p>"));
            }
        }
        // Real case 2: nobody approved this one.
        pages.add(
            "data.lanzhou.gov.cn",
            "/",
            html("兰州市公共数据开放平台", "<p>数据集下载</p>"),
        );
        // Real case 1: what the retired forestry bureau's domain serves now.
        pages.add(
            "ly.yuzhong.gov.cn",
            "/",
            html(
                "金沙娱乐城 - 百家乐 真人荷官",
                "<p>金沙娱乐城 网上赌场 百家乐 体育投注 立即注册</p>",
            ),
        );
        // Real case 4: the template and the code kept, the name replaced.
        pages.add(
            "www.tianshui.gov.cn",
            "/",
            PageSpec::html(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"SiteIDCode\" content=\"6205000001\">\
                 <title>澳门金沙娱乐城</title></head><body><h1>澳门金沙娱乐城</h1><p>百家乐 六合彩 在线投注</p>\
                 <div class=\"footer\">主办单位：澳门金沙娱乐城 网站标识码：6205000001</div></body></html>",
                "utf-8",
            ),
        );
        // An Alibaba OSS bucket nobody owns any more.
        pages.add(
            "img.lanzhou.gov.cn",
            "/",
            PageSpec::new(
                404,
                "application/xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message></Error>",
            )
            .header("Server", "AliyunOSS"),
        );
        // Fastly's answer for a name it does not know: not claimable.
        pages.add(
            "static.gansu.gov.cn",
            "/",
            PageSpec::new(
                500,
                "text/html",
                "Fastly error: unknown domain: static.gansu.gov.cn. Please check that this domain has been added to a service.",
            ),
        );
        // Real case 6: feeds of the city's accounts.
        let item = |days: i64| {
            format!(
                "<item><title>动态</title><link>http://www.lanzhou.gov.cn/</link><pubDate>{}</pubDate></item>",
                rfc2822(now - Duration::days(days))
            )
        };
        let rss = |items: String| {
            PageSpec::new(
                200,
                "application/rss+xml; charset=utf-8",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>feed</title>{items}</channel></rss>"
                ),
            )
        };
        pages.add(
            "feeds.lanzhou.gov.cn",
            "/wenlv.xml",
            // An entry dated a month ahead (a publisher's clock, a
            // template's placeholder) does not make the account fresh.
            rss(format!("{}{}{}", item(-30), item(20), item(35))),
        );
        pages.add(
            "feeds.lanzhou.gov.cn",
            "/fabu.xml",
            rss(format!("{}{}", item(1), item(3))),
        );
        // A closed account whose old feed still carries an entry dated in
        // 2099: it did not post after it closed.
        pages.add(
            "feeds.lanzhou.gov.cn",
            "/old.xml",
            rss(format!(
                "{}<item><title>置顶</title><pubDate>Thu, 01 Jan 2099 08:00:00 +0800</pubDate></item>",
                item(90)
            )),
        );
        // Whatever else a wildcard sends here.
        pages.fallback(html("网站建设中", "<p>网站建设中</p>"));

        let mut pages_v6 = pages.clone();
        // Real case 5: the homepage answers over IPv6, the inner pages not.
        for path in [
            "/col/zwgk/index.html",
            "/art/2026/11/1.html",
            "/art/2026/11/2.html",
        ] {
            pages_v6.remove("www.baiyin.gov.cn", path);
        }

        let dns = serve_dns(&zones).await?;
        let pages = Arc::new(pages);
        let pages_v6 = Arc::new(pages_v6);
        let certs = Arc::new(certs);
        let local = IpAddr::V4(WEB_V4);
        let https = serve_web(
            SocketAddr::new(local, 0),
            pages.clone(),
            Some(certs.clone()),
        )
        .await?;
        let https_port = https.addr.port();
        let http = serve_web(SocketAddr::new(local, 0), pages, None::<SniResolver>).await?;
        let http_port = http.addr.port();
        let mut servers = vec![https, http];
        let loopback_v6 = IpAddr::V6(v6);
        let mut ipv6 = false;
        if let Ok(server) = serve_web(
            SocketAddr::new(loopback_v6, https_port),
            pages_v6.clone(),
            Some(certs),
        )
        .await
        {
            servers.push(server);
            if let Ok(server) = serve_web(
                SocketAddr::new(loopback_v6, http_port),
                pages_v6,
                None::<SniResolver>,
            )
            .await
            {
                servers.push(server);
                ipv6 = true;
            }
        }
        Ok(Region {
            dns: dns.addr,
            https_port,
            http_port,
            ca_pem: ca.pem(),
            ipv6,
            _servers: servers,
            _dns: dns,
        })
    }

    /// Writes what siteward needs to watch the region into `dir`: the CA
    /// to trust, a policy directory (the region's zones and networks, a
    /// short confirmation delay) and a config file using `database_url`.
    /// Returns the config file's path.
    pub fn write_config(&self, dir: &Path, database_url: &str) -> io::Result<PathBuf> {
        let ca = dir.join("region-ca.pem");
        std::fs::write(&ca, &self.ca_pem)?;
        let policies = dir.join("policies");
        crate::policy::write_built_in(&policies)?;
        std::fs::write(policies.join("siteward.toml"), region_policy(self.dns))?;
        let config = dir.join("siteward.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{database_url}\"\n\n[policies]\ndir = \"{}\"\n\n\
                 [resolver]\nnameservers = [\"{}\"]\ntimeout_ms = 1000\nattempts = 2\nauthoritative_port = {}\n\n\
                 [probe]\nconcurrency = 16\ndeadline_ms = 20000\nhttps_port = {}\nhttp_port = {}\nextra_roots = [\"{}\"]\n\n\
                 [api]\nlisten = \"127.0.0.1:0\"\n",
                policies.display(),
                self.dns,
                self.dns.port(),
                self.https_port,
                self.http_port,
                ca.display()
            ),
        )?;
        Ok(config)
    }
}

/// Binds the DNS server on 127.0.0.2, on a port free there.
async fn serve_dns(zones: &[Zone]) -> io::Result<DnsServer> {
    serve(SocketAddr::new(IpAddr::V4(DNS_IP), 0), zones).await
}

/// The repository's policy with the region's zones, networks, a canary,
/// a short confirmation delay, and a zone transfer of gansu.gov.cn from `dns`.
pub fn region_policy(dns: SocketAddr) -> String {
    include_str!("../../policies/siteward.toml")
        .replace(
            "managed_zones = [\"gansu.gov.cn\"]",
            "managed_zones = [\"gansu.gov.cn\", \"lanzhou.gov.cn\", \"yuzhong.gov.cn\", \"tianshui.gov.cn\", \"baiyin.gov.cn\", \"jinchang.gov.cn\", \"qingyang.gov.cn\"]",
        )
        .replace("own_networks = []", "own_networks = [\"127.0.0.0/24\", \"::1/128\"]")
        .replace("delay_secs = 20", "delay_secs = 1")
        .replace("canaries = []", "canaries = [\"www.12377.cn\"]")
        .replace(
            "axfr = []",
            &format!("axfr = [{{ zone = \"gansu.gov.cn\", primary = \"{dns}\" }}]"),
        )
}

/// Registers the region's organizations, sites and accounts, with their
/// history (approvals, go-live, retirements) in the past.
pub fn register(store: &Store, policy: &Policy) -> Result<(), crate::store::StoreError> {
    register_at(store, policy, Utc::now())
}

/// [`register`] as if it were `now`: every effective time is fixed, for
/// reports that must come out the same whenever they are made.
pub fn register_at(
    store: &Store,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    let at = |days: i64| Change::at("region", now - Duration::days(days));
    let orgs: &[(&str, &str, OrgLevel, Option<&str>)] = &[
        ("甘肃省人民政府办公厅", "620000", OrgLevel::Province, None),
        (
            "兰州市人民政府办公室",
            "620100",
            OrgLevel::Prefecture,
            Some("甘肃省人民政府办公厅"),
        ),
        (
            "兰州市文化和旅游局",
            "620100",
            OrgLevel::Prefecture,
            Some("兰州市人民政府办公室"),
        ),
        ("榆中县人民政府办公室", "620123", OrgLevel::County, None),
        (
            "榆中县林业和草原局",
            "620123",
            OrgLevel::County,
            Some("榆中县人民政府办公室"),
        ),
        (
            "天水市人民政府办公室",
            "620500",
            OrgLevel::Prefecture,
            Some("甘肃省人民政府办公厅"),
        ),
        (
            "白银市人民政府办公室",
            "620400",
            OrgLevel::Prefecture,
            Some("甘肃省人民政府办公厅"),
        ),
        (
            "金昌市人民政府办公室",
            "620300",
            OrgLevel::Prefecture,
            Some("甘肃省人民政府办公厅"),
        ),
        (
            "庆阳市人民政府办公室",
            "621000",
            OrgLevel::Prefecture,
            Some("甘肃省人民政府办公厅"),
        ),
    ];
    for (name, division, level, parent) in orgs {
        store.add_org(
            &NewOrganization {
                name: name.to_string(),
                division: division.parse()?,
                level: *level,
                parent: parent.map(str::to_string),
                emails: Vec::new(),
                webhooks: Vec::new(),
            },
            policy,
            &at(2000),
        )?;
    }
    let live: &[(&str, &str, SiteKind, &str, &str)] = &[
        (
            "甘肃省人民政府门户网站",
            "甘肃省人民政府办公厅",
            SiteKind::Portal,
            "www.gansu.gov.cn",
            "6200000001",
        ),
        (
            "甘肃省政务公开专题",
            "甘肃省人民政府办公厅",
            SiteKind::Special,
            "promo.gansu.gov.cn",
            "6200000005",
        ),
        (
            "甘肃省政务服务资源站",
            "甘肃省人民政府办公厅",
            SiteKind::Special,
            "cdn.gansu.gov.cn",
            "6200000006",
        ),
        (
            "兰州市人民政府",
            "兰州市人民政府办公室",
            SiteKind::Portal,
            "www.lanzhou.gov.cn",
            "6201000001",
        ),
        (
            "兰州市文化和旅游局",
            "兰州市文化和旅游局",
            SiteKind::Department,
            "lyj.lanzhou.gov.cn",
            "6201000009",
        ),
        (
            "榆中县人民政府",
            "榆中县人民政府办公室",
            SiteKind::Portal,
            "www.yuzhong.gov.cn",
            "6201230001",
        ),
        (
            "榆中县林业和草原局",
            "榆中县林业和草原局",
            SiteKind::Department,
            "ly.yuzhong.gov.cn",
            "6201230002",
        ),
        (
            "天水市人民政府",
            "天水市人民政府办公室",
            SiteKind::Portal,
            "www.tianshui.gov.cn",
            "6205000001",
        ),
        (
            "白银市人民政府",
            "白银市人民政府办公室",
            SiteKind::Portal,
            "www.baiyin.gov.cn",
            "6204000001",
        ),
        (
            "金昌市人民政府",
            "金昌市人民政府办公室",
            SiteKind::Portal,
            "www.jinchang.gov.cn",
            "6203000001",
        ),
        (
            "庆阳市人民政府",
            "庆阳市人民政府办公室",
            SiteKind::Portal,
            "www.qingyang.gov.cn",
            "6210000001",
        ),
    ];
    for (name, org, kind, host, code) in live {
        store.request_site(
            &SiteRequest {
                name: name.to_string(),
                org: org.to_string(),
                kind: *kind,
                domains: vec![host.parse()?],
                code: None,
                icp_filing: None,
                psb_filing: None,
                exception: None,
            },
            policy,
            &at(1500),
        )?;
        store.transition_site(
            host,
            &SiteAction::Approve {
                reference: "甘政办函〔2022〕1号".into(),
            },
            policy,
            &at(1490),
        )?;
        store.transition_site(
            host,
            &SiteAction::GoLive {
                code: Some(code.parse()?),
            },
            policy,
            &at(1480),
        )?;
    }
    // Real case 1: the forestry bureau's site was retired and closed, and
    // its domain marked released; nobody deregistered it.
    let forestry = "ly.yuzhong.gov.cn";
    store.transition_site(
        forestry,
        &SiteAction::Retire {
            reference: "榆政办函〔2026〕3号".into(),
            successor_url: Some("http://www.yuzhong.gov.cn/".into()),
        },
        policy,
        &at(140),
    )?;
    store.transition_site(forestry, &SiteAction::Offline, policy, &at(100))?;
    store.transition_site(forestry, &SiteAction::Close, policy, &at(60))?;

    let accounts: &[(Platform, &str, &str, &str, Option<&str>)] = &[
        (
            Platform::Weibo,
            "lanzhouwenlv",
            "兰州文旅",
            "兰州市文化和旅游局",
            None,
        ),
        (
            Platform::WechatSubscription,
            "lzwlfb",
            "兰州文旅发布",
            "兰州市文化和旅游局",
            Some("http://feeds.lanzhou.gov.cn/wenlv.xml"),
        ),
        (
            Platform::Weibo,
            "lanzhoufabu",
            "兰州发布",
            "兰州市人民政府办公室",
            Some("http://feeds.lanzhou.gov.cn/fabu.xml"),
        ),
        (
            Platform::Weibo,
            "lanzhoulvyou",
            "兰州旅游",
            "兰州市文化和旅游局",
            Some("http://feeds.lanzhou.gov.cn/old.xml"),
        ),
    ];
    for (platform, id, name, org, feed) in accounts {
        store.add_account(
            &NewAccount {
                platform: *platform,
                account_id: id.to_string(),
                name: name.to_string(),
                org: org.to_string(),
                feed_url: feed.map(str::to_string),
            },
            &at(700),
        )?;
    }
    // The weibo account's last post, as an inspector recorded it.
    store.account_seen("weibo:lanzhouwenlv", &at(30))?;
    store.transition_account(
        "weibo:lanzhoulvyou",
        &AccountAction::Close {
            reason: "并入兰州文旅".into(),
        },
        &at(60),
    )?;
    Ok(())
}
