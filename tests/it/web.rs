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
    let _http = serve_web(
        SocketAddr::new(ip("127.0.0.7"), http_port),
        pages,
        None::<SniResolver>,
    )
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
        ..PageSettings::default()
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

/// Real case 5: the homepage works over IPv6, third-level pages do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_connectivity_of_inner_pages() {
    use siteward::probe::ipv6::measure;
    let home =
        "<a href=\"/a.html\">a</a><a href=\"/b.html\">b</a><a href=\"https://www.gov.cn/\">x</a>";
    let mut v4 = Pages::default();
    v4.add("www.gansu.gov.cn", "/", PageSpec::html(home, "utf-8"))
        .add(
            "www.gansu.gov.cn",
            "/a.html",
            PageSpec::html("<a href=\"/a/1.html\">1</a>", "utf-8"),
        )
        .add(
            "www.gansu.gov.cn",
            "/b.html",
            PageSpec::html("<a href=\"/b/1.html\">1</a>", "utf-8"),
        )
        .add(
            "www.gansu.gov.cn",
            "/a/1.html",
            PageSpec::html("third", "utf-8"),
        )
        .add(
            "www.gansu.gov.cn",
            "/b/1.html",
            PageSpec::html("third", "utf-8"),
        );
    let mut v6 = Pages::default();
    v6.add("www.gansu.gov.cn", "/", PageSpec::html(home, "utf-8"))
        .add(
            "www.gansu.gov.cn",
            "/a.html",
            PageSpec::html("<a href=\"/a/1.html\">1</a>", "utf-8"),
        )
        .add(
            "www.gansu.gov.cn",
            "/b.html",
            PageSpec::html("<a href=\"/b/1.html\">1</a>", "utf-8"),
        );
    let mut servers = None;
    for _ in 0..10 {
        let Ok(first) = serve_web(
            SocketAddr::new(ip("127.0.0.1"), 0),
            v4.clone(),
            None::<SniResolver>,
        )
        .await
        else {
            continue;
        };
        if let Ok(second) = serve_web(
            SocketAddr::new(ip("::1"), first.addr.port()),
            v6.clone(),
            None::<SniResolver>,
        )
        .await
        {
            servers = Some((first, second));
            break;
        }
    }
    let (v4_server, _v6_server) = servers.expect("a port free on 127.0.0.1 and ::1");
    let closed_https = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let http_port = v4_server.addr.port();
    let probe = PageProbe::new(PageSettings {
        deadline: Duration::from_secs(3),
        max_redirects: 5,
        https_port: closed_https,
        http_port,
        prohibited: vec![],
        ..PageSettings::default()
    });
    let reach = measure(
        &probe,
        &host("www.gansu.gov.cn"),
        ip("127.0.0.1"),
        ip("::1"),
        &[closed_https, http_port],
        Duration::from_secs(1),
        10,
    )
    .await;
    assert!(reach.homepage_v6);
    assert_eq!(
        reach.ports.iter().map(|p| p.open).collect::<Vec<_>>(),
        [false, true]
    );
    assert_eq!(
        (
            reach.second_level.sampled,
            reach.second_level.loaded_v4,
            reach.second_level.loaded_v6
        ),
        (2, 2, 2)
    );
    assert_eq!(
        (
            reach.third_level.sampled,
            reach.third_level.loaded_v4,
            reach.third_level.loaded_v6
        ),
        (2, 2, 0)
    );
    assert_eq!(reach.connectivity_percent(), Some(50));
}

/// A platform serving many sites from one address sees at most the
/// configured connections at a time from siteward, and each request says
/// who sends it and how to reach them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_limited_and_requests_name_their_sender() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use siteward::probe::AddressLimit;
    use siteward::probe::http::user_agent;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http_port = listener.local_addr().expect("addr").port();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let agents = Arc::new(Mutex::new(Vec::<String>::new()));
    let (counting, highest, seen) = (in_flight.clone(), most.clone(), agents.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let (counting, highest, seen) = (counting.clone(), highest.clone(), seen.clone());
            tokio::spawn(async move {
                let now = counting.fetch_add(1, Ordering::SeqCst) + 1;
                highest.fetch_max(now, Ordering::SeqCst);
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(agent) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("user-agent: "))
                    .or_else(|| text.lines().find_map(|l| l.strip_prefix("User-Agent: ")))
                {
                    seen.lock().expect("agents").push(agent.to_string());
                }
                // A slow platform: the connections overlap unless limited.
                tokio::time::sleep(Duration::from_millis(60)).await;
                // Counted out before answering: the client frees its slot
                // once answered, and this task may be scheduled after the
                // next connection arrives.
                counting.fetch_sub(1, Ordering::SeqCst);
                let body = "<html><title>站点</title></html>";
                let _ = tcp
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    let closed_https = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let probe = PageProbe::new(PageSettings {
        deadline: Duration::from_secs(10),
        https_port: closed_https,
        http_port,
        user_agent: user_agent("mailto:ops@gansu.gov.cn"),
        limit: AddressLimit::new(3),
        ..PageSettings::default()
    });
    let hosts: Vec<Hostname> = (0..12)
        .map(|i| host(&format!("site{i}.gansu.gov.cn")))
        .collect();
    let outcomes =
        futures_util::future::join_all(hosts.iter().map(|h| probe.homepage(h, ip("127.0.0.1"))))
            .await;
    for outcome in &outcomes {
        assert_eq!(outcome.name(), "loaded", "{outcome:?}");
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        3,
        "twelve homepages on one address, three connections at a time"
    );
    let agents = agents.lock().expect("agents").clone();
    assert_eq!(agents.len(), 12);
    for agent in agents {
        assert!(agent.starts_with("siteward/"), "{agent}");
        assert!(agent.ends_with("; +mailto:ops@gansu.gov.cn)"), "{agent}");
    }
}

/// A big portal's code sits in its footer, at the very end: read up to
/// the page cap (8 MiB), the head and the end kept, the middle streamed
/// through. Longer still, the page is cut and said to be incomplete; a
/// page nested deeper than anyone writes is cut there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_pages_are_read_to_their_footer() {
    use siteward::probe::http::{MAX_PAGE, PAGE_HEAD, PAGE_TAIL};
    let page = |filler: usize| {
        let row = "<li><a href=\"/art/1.html\">关于印发《政务公开工作要点》的通知</a><span>2026-11-01</span></li>\n";
        let half = row.repeat(filler / row.len() / 2);
        format!(
            "<html><head><meta charset=\"utf-8\"><title>甘肃省人民政府</title></head><body><ul>{half}</ul>\
             <a href=\"http://mid.gansu.gov.cn/\">中间</a>\
             <div style=\"display:none\"><a href=\"http://bet.example/\">百家乐</a></div>\
             <ul>{half}</ul>\
             <div class=\"footer\">主办单位：甘肃省人民政府办公厅 网站标识码：6200000001 \
             <a href=\"http://www.last.gansu.gov.cn/\">末尾</a></div></body></html>"
        )
    };
    let big = page(5 * 1024 * 1024);
    let huge = page(MAX_PAGE + 1024 * 1024);
    let deep = format!(
        "<html><head><title>甘肃省人民政府</title></head><body>{}<div>网站标识码：6200000001</div></body></html>",
        "<div>".repeat(siteward::probe::page::MAX_DEPTH + 10)
    );
    assert!(big.len() > PAGE_HEAD + PAGE_TAIL, "the middle is skipped");
    let mut pages = Pages::default();
    pages
        .add(
            "big.gansu.gov.cn",
            "/",
            PageSpec::html(big.clone(), "utf-8"),
        )
        .add("huge.gansu.gov.cn", "/", PageSpec::html(huge, "utf-8"))
        .add("deep.gansu.gov.cn", "/", PageSpec::html(deep, "utf-8"));
    let http = serve_web(
        SocketAddr::new(ip("127.0.0.1"), 0),
        pages,
        None::<SniResolver>,
    )
    .await
    .expect("http");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let probe = PageProbe::new(PageSettings {
        deadline: Duration::from_secs(20),
        https_port: closed,
        http_port: http.addr.port(),
        prohibited: vec!["百家乐".into()],
        ..PageSettings::default()
    });
    let read = |outcome: PageOutcome| match outcome {
        PageOutcome::Loaded {
            page,
            body_bytes,
            truncated,
            ..
        } => (page, body_bytes, truncated),
        other => panic!("{other:?}"),
    };
    let (page, bytes, truncated) = read(
        probe
            .homepage(&host("big.gansu.gov.cn"), ip("127.0.0.1"))
            .await,
    );
    assert_eq!(bytes, big.len(), "read whole");
    assert!(!truncated && !page.incomplete);
    assert_eq!(page.footer_codes, ["6200000001"], "the footer is read");
    assert_eq!(page.organizer.as_deref(), Some("甘肃省人民政府办公厅"));
    assert!(page.link_hosts.contains("www.last.gansu.gov.cn"));
    assert_eq!(page.title.as_deref(), Some("甘肃省人民政府"));
    // The middle streamed through, and was read on its way.
    assert!(
        page.link_hosts.contains("mid.gansu.gov.cn"),
        "a link in the middle"
    );
    assert_eq!(
        page.hidden_terms
            .iter()
            .map(|q| q.term.as_str())
            .collect::<Vec<_>>(),
        ["百家乐"],
        "a hidden element in the middle"
    );

    let (page, bytes, truncated) = read(
        probe
            .homepage(&host("huge.gansu.gov.cn"), ip("127.0.0.1"))
            .await,
    );
    assert_eq!(bytes, MAX_PAGE, "read up to the cap");
    assert!(truncated && page.incomplete);
    assert!(page.footer_codes.is_empty());
    assert!(
        page.link_hosts.contains("mid.gansu.gov.cn"),
        "read up to the cap"
    );

    let (page, _, truncated) = read(
        probe
            .homepage(&host("deep.gansu.gov.cn"), ip("127.0.0.1"))
            .await,
    );
    assert!(!truncated && page.incomplete, "cut at the depth limit");
    assert_eq!(page.title.as_deref(), Some("甘肃省人民政府"));
}
