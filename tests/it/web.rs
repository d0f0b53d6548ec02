//! The page probe against real HTTP and HTTPS servers on loopback:
//! redirects within a host, a redirect elsewhere, HTTP when there is no
//! TLS, GBK pages, and servers that never finish or never answer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use siteward::probe::http::{PageOutcome, PageProbe, PageSettings};
use siteward::registry::Hostname;
use siteward::sim::tls::{Hostile, SniResolver, TestCa, serve_hostile};
use siteward::sim::web::{PageSpec, Pages, serve_endless, serve_web};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

fn host(name: &str) -> Hostname {
    name.parse().expect("host")
}

const HOMEPAGE: &str = "<html><head><meta name=\"SiteIDCode\" content=\"6200000001\"><title>甘肃省人民政府</title></head>\
<body><a href=\"/col/index.html\">要闻</a><a href=\"http://old.gansu.gov.cn/\">旧版</a>\
<div>网站标识码：6200000001 主办单位：甘肃省人民政府办公厅 陇ICP备05001234号</div></body></html>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn homepages() {
    let ca = TestCa::new("test root").expect("ca");
    let mut resolver = SniResolver::default();
    for name in ["www.gansu.gov.cn", "old.gansu.gov.cn", "loop.gansu.gov.cn"] {
        resolver
            .add(name, &ca.valid(&[name]).expect("chain"))
            .expect("add");
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(HOMEPAGE);
    let mut pages = Pages::default();
    pages
        .add(
            "www.gansu.gov.cn",
            "/",
            PageSpec::redirect(302, "/index.html"),
        )
        .add(
            "www.gansu.gov.cn",
            "/index.html",
            PageSpec::html(gbk.into_owned(), "gbk"),
        )
        .add(
            "old.gansu.gov.cn",
            "/",
            PageSpec::redirect(301, "https://www.gansu.gov.cn/"),
        )
        .add("loop.gansu.gov.cn", "/", PageSpec::redirect(302, "/"))
        .add(
            "plain.gansu.gov.cn",
            "/",
            PageSpec::html("<title>只有 HTTP</title>", "utf-8"),
        );
    let https = serve_web(
        SocketAddr::new(ip("127.0.0.1"), 0),
        pages.clone(),
        Some(resolver),
    )
    .await
    .expect("https");
    let http_port = {
        let probe_listener = std::net::TcpListener::bind("127.0.0.7:0").expect("port");
        probe_listener.local_addr().expect("addr").port()
    };
    let _http = serve_web(SocketAddr::new(ip("127.0.0.7"), http_port), pages, None)
        .await
        .expect("http");
    let _endless = serve_endless(SocketAddr::new(ip("127.0.0.8"), http_port))
        .await
        .expect("endless");
    let _silent = serve_hostile(
        SocketAddr::new(ip("127.0.0.9"), https.addr.port()),
        Hostile::Silent,
    )
    .await
    .expect("silent");
    let probe = PageProbe::new(PageSettings {
        deadline: Duration::from_millis(800),
        max_redirects: 5,
        https_port: https.addr.port(),
        http_port,
        prohibited: vec!["澳门赌场".into()],
    });

    match probe
        .homepage(&host("www.gansu.gov.cn"), ip("127.0.0.1"))
        .await
    {
        PageOutcome::Loaded {
            status,
            final_url,
            hops,
            page,
            redirected_to,
            ..
        } => {
            assert_eq!(status, 200);
            assert_eq!(final_url, "https://www.gansu.gov.cn/index.html");
            assert_eq!(
                hops.iter().map(|h| h.status).collect::<Vec<_>>(),
                [302, 200]
            );
            assert_eq!(redirected_to, None);
            assert_eq!(page.encoding, "GBK");
            assert_eq!(page.title.as_deref(), Some("甘肃省人民政府"));
            assert_eq!(page.meta_site_code.as_deref(), Some("6200000001"));
            assert_eq!(page.footer_codes, ["6200000001"]);
            assert!(page.link_hosts.contains("old.gansu.gov.cn"));
        }
        other => panic!("{other:?}"),
    }
    match probe
        .homepage(&host("old.gansu.gov.cn"), ip("127.0.0.1"))
        .await
    {
        PageOutcome::Loaded {
            status,
            redirected_to,
            ..
        } => {
            assert_eq!(status, 301);
            assert_eq!(redirected_to.as_deref(), Some("https://www.gansu.gov.cn/"));
        }
        other => panic!("{other:?}"),
    }
    match probe
        .homepage(&host("loop.gansu.gov.cn"), ip("127.0.0.1"))
        .await
    {
        PageOutcome::Failed { reason } => assert!(reason.contains("redirects"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // No TLS at this address: the page is read over HTTP.
    match probe
        .homepage(&host("plain.gansu.gov.cn"), ip("127.0.0.7"))
        .await
    {
        PageOutcome::Loaded {
            final_url, page, ..
        } => {
            assert_eq!(final_url, "http://plain.gansu.gov.cn/");
            assert_eq!(page.title.as_deref(), Some("只有 HTTP"));
        }
        other => panic!("{other:?}"),
    }
    // A body that never ends, a TLS server that never speaks: both end at
    // the deadline.
    for (name, address) in [
        ("endless.gansu.gov.cn", "127.0.0.8"),
        ("silent.gansu.gov.cn", "127.0.0.9"),
    ] {
        let started = Instant::now();
        let outcome = probe.homepage(&host(name), ip(address)).await;
        assert_eq!(outcome.name(), "timeout", "{name}: {outcome:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name}: {:?}",
            started.elapsed()
        );
    }
    // Nothing listens at all.
    let outcome = probe
        .homepage(&host("gone.gansu.gov.cn"), ip("127.0.0.10"))
        .await;
    assert_eq!(outcome.name(), "unreachable", "{outcome:?}");
}
