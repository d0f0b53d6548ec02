//! The DNS probe against real DNS servers on loopback: every outcome kept
//! apart, CNAME chains with TTLs, and failures to measure that are never
//! NXDOMAIN.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use siteward::probe::dns::{DnsOutcome, DnsProbe, ResolverSettings};
use siteward::registry::Hostname;
use siteward::sim::dns::{Fault, RecordData, Zone, serve, serve_fault};

use crate::support::Siteward;

const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

fn world() -> Vec<Zone> {
    use RecordData::*;
    vec![
        Zone::new("gansu.gov.cn")
            .with(
                "www.gansu.gov.cn",
                300,
                A("127.0.0.10".parse().expect("ip")),
            )
            .with("www.gansu.gov.cn", 300, Aaaa("::1".parse().expect("ip")))
            .with("v4.gansu.gov.cn", 600, A("127.0.0.11".parse().expect("ip")))
            .with("txt.gansu.gov.cn", 600, Txt("v=spf1 -all".into()))
            .with("alias.gansu.gov.cn", 120, Cname("www.gansu.gov.cn".into()))
            .with(
                "cdn.gansu.gov.cn",
                600,
                Cname("site.cdn-example.net".into()),
            )
            .with(
                "gone.gansu.gov.cn",
                900,
                Cname("gone-bucket.unclaimed-cloud.com".into()),
            )
            .with(
                "*.wild.gansu.gov.cn",
                60,
                A("127.0.0.12".parse().expect("ip")),
            )
            .with("*.wild.gansu.gov.cn", 60, Aaaa("::1".parse().expect("ip")))
            .with(
                "mapped.gansu.gov.cn",
                60,
                Aaaa("::ffff:127.0.0.13".parse().expect("ip")),
            ),
        Zone::new("cdn-example.net").with(
            "site.cdn-example.net",
            45,
            A("127.0.0.14".parse().expect("ip")),
        ),
        Zone::new("unclaimed-cloud.com"),
    ]
}

fn probe(server: SocketAddr, timeout_ms: u64) -> DnsProbe {
    DnsProbe::new(&ResolverSettings {
        nameservers: vec![server],
        timeout: Duration::from_millis(timeout_ms),
        attempts: 0,
        authoritative_port: server.port(),
    })
    .expect("resolver")
}

fn host(name: &str) -> Hostname {
    name.parse().expect("host name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome() {
    let server = serve(LOOPBACK, &world()).await.expect("dns server");
    let dns = probe(server.addr, 2000);
    // (host, A outcome, AAAA outcome, chain targets, addresses)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "www.gansu.gov.cn",
            "answer",
            "answer",
            &[],
            &["127.0.0.10", "::1"],
        ),
        ("v4.gansu.gov.cn", "answer", "nodata", &[], &["127.0.0.11"]),
        ("txt.gansu.gov.cn", "nodata", "nodata", &[], &[]),
        (
            "alias.gansu.gov.cn",
            "answer",
            "answer",
            &["www.gansu.gov.cn"],
            &["127.0.0.10", "::1"],
        ),
        (
            "cdn.gansu.gov.cn",
            "answer",
            "nodata",
            &["site.cdn-example.net"],
            &["127.0.0.14"],
        ),
        (
            "gone.gansu.gov.cn",
            "nxdomain",
            "nxdomain",
            &["gone-bucket.unclaimed-cloud.com"],
            &[],
        ),
        ("missing.gansu.gov.cn", "nxdomain", "nxdomain", &[], &[]),
        (
            "anything.wild.gansu.gov.cn",
            "answer",
            "answer",
            &[],
            &["127.0.0.12", "::1"],
        ),
        // An IPv4-mapped address is no IPv6 support.
        ("mapped.gansu.gov.cn", "nodata", "answer", &[], &[]),
        // A zone this server does not serve.
        ("www.example.org", "refused", "refused", &[], &[]),
    ];
    for (name, a, aaaa, chain, addresses) in cases {
        let observed = dns.host(&host(name)).await;
        assert_eq!(observed.a.name(), *a, "{name} A: {:?}", observed.a);
        assert_eq!(
            observed.aaaa.name(),
            *aaaa,
            "{name} AAAA: {:?}",
            observed.aaaa
        );
        let targets: Vec<&str> = observed
            .cname_chain
            .iter()
            .map(|h| h.target.as_str())
            .collect();
        assert_eq!(targets, *chain, "{name}");
        let found: Vec<String> = observed
            .addresses()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found, *addresses, "{name}");
    }
    // TTLs of every hop and record are kept.
    let cdn = dns.host(&host("cdn.gansu.gov.cn")).await;
    assert_eq!(cdn.cname_chain[0].ttl, 600);
    assert_eq!(cdn.cname_chain[0].name, "cdn.gansu.gov.cn");
    let DnsOutcome::Answer { records } = &cdn.a else {
        panic!("{:?}", cdn.a)
    };
    assert_eq!(
        (records[0].ttl, records[0].name.as_str()),
        (45, "site.cdn-example.net")
    );
    // The dangling CNAME names the target that does not exist.
    let gone = dns.host(&host("gone.gansu.gov.cn")).await;
    assert_eq!(
        gone.a,
        DnsOutcome::NxDomain {
            name: "gone-bucket.unclaimed-cloud.com".into()
        }
    );
    assert_eq!(gone.cname_chain[0].ttl, 900);
    assert!(gone.is_conclusive());
}

/// SERVFAIL, REFUSED and a resolver that is down are failures to measure:
/// never NXDOMAIN, never conclusive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_to_measure() {
    for (fault, expected) in [
        (Fault::ServFail, "servfail"),
        (Fault::Refused, "refused"),
        (Fault::Silent, "timeout"),
    ] {
        let server = serve_fault(LOOPBACK, fault).await.expect("fault server");
        let dns = probe(server.addr, 300);
        let started = std::time::Instant::now();
        let observed = dns.host(&host("www.gansu.gov.cn")).await;
        assert_eq!(observed.a.name(), expected, "{fault:?}: {:?}", observed.a);
        assert_eq!(observed.aaaa.name(), expected, "{fault:?}");
        assert!(
            !observed.a.is_conclusive() && !observed.is_conclusive(),
            "{fault:?}"
        );
        assert!(observed.addresses().is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{fault:?} took {:?}",
            started.elapsed()
        );
    }
    // Nobody listening at all.
    let closed = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.local_addr().expect("addr")
    };
    let observed = probe(closed, 300).host(&host("www.gansu.gov.cn")).await;
    assert!(!observed.a.is_conclusive(), "{:?}", observed.a);
    assert!(!matches!(observed.a, DnsOutcome::NxDomain { .. }));
}

/// `siteward probe HOST --json` against the simulated world's DNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_command() {
    let server = serve(LOOPBACK, &world()).await.expect("dns server");
    let address = server.addr.to_string();
    let run = move |args: &[&str]| {
        Siteward::without_registry()
            .env("SITEWARD_RESOLVER_NAMESERVERS", &address)
            .env("SITEWARD_RESOLVER_TIMEOUT_MS", "1000")
            .run(args)
    };
    let output = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["probe", "gone.gansu.gov.cn", "--json"])
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(value["host"], "gone.gansu.gov.cn");
    assert_eq!(value["dns"]["a"]["outcome"], "nxdomain");
    assert_eq!(value["dns"]["a"]["name"], "gone-bucket.unclaimed-cloud.com");
    assert_eq!(
        value["dns"]["cname_chain"][0]["target"],
        "gone-bucket.unclaimed-cloud.com"
    );
    let output =
        tokio::task::spawn_blocking(move || run(&["probe", "https://www.gansu.gov.cn/index.html"]))
            .await
            .expect("join");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("127.0.0.10") && text.contains("TTL 300"),
        "{text}"
    );
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

/// Starts the delegation world: every authoritative server on one port,
/// each on its own loopback address, as name servers are in reality.
async fn delegation_world() -> (Vec<siteward::sim::dns::DnsServer>, SocketAddr) {
    use RecordData::*;
    let parent = vec![
        Zone::new("gansu.gov.cn")
            .with("ns1.gansu.gov.cn", 300, A("127.0.0.2".parse().expect("ip")))
            .with(
                "www.gansu.gov.cn",
                300,
                A("127.0.0.10".parse().expect("ip")),
            )
            .with("good.gansu.gov.cn", 300, Ns("ns-good.dns-host.net".into()))
            .with("lame.gansu.gov.cn", 300, Ns("ns-lame.dns-host.net".into()))
            .with("dead.gansu.gov.cn", 300, Ns("ns.dead-provider.com".into()))
            .with(
                "silent.gansu.gov.cn",
                300,
                Ns("ns-silent.dns-host.net".into()),
            ),
        Zone::new("dns-host.net")
            .with(
                "ns-good.dns-host.net",
                300,
                A("127.0.0.3".parse().expect("ip")),
            )
            .with(
                "ns-lame.dns-host.net",
                300,
                A("127.0.0.4".parse().expect("ip")),
            )
            .with(
                "ns-silent.dns-host.net",
                300,
                A("127.0.0.5".parse().expect("ip")),
            ),
        Zone::new("dead-provider.com"),
        // Five of a zone's six name servers silent.
        (1..=5).fold(Zone::new("slow-dns.net"), |zone, n| {
            zone.with(
                &format!("ns{n}.slow-dns.net"),
                300,
                A("127.0.0.5".parse().expect("ip")),
            )
        }),
        (1..=5).fold(
            Zone::new("slowcity.gov.cn")
                .with(
                    "ns1.slowcity.gov.cn",
                    300,
                    A("127.0.0.2".parse().expect("ip")),
                )
                .with(
                    "www.slowcity.gov.cn",
                    300,
                    A("127.0.0.10".parse().expect("ip")),
                ),
            |zone, n| zone.with("slowcity.gov.cn", 300, Ns(format!("ns{n}.slow-dns.net"))),
        ),
        Zone::new("wild-city.gov.cn")
            .with(
                "ns1.wild-city.gov.cn",
                300,
                A("127.0.0.2".parse().expect("ip")),
            )
            .with(
                "*.wild-city.gov.cn",
                300,
                A("127.0.0.20".parse().expect("ip")),
            ),
    ];
    let child = vec![Zone::new("good.gansu.gov.cn").with(
        "www.good.gansu.gov.cn",
        300,
        A("127.0.0.30".parse().expect("ip")),
    )];
    for _ in 0..10 {
        let Ok(first) = serve(SocketAddr::new(ip("127.0.0.2"), 0), &parent).await else {
            continue;
        };
        let port = first.addr.port();
        let rest = async {
            Ok::<_, std::io::Error>(vec![
                serve(SocketAddr::new(ip("127.0.0.3"), port), &child).await?,
                serve_fault(SocketAddr::new(ip("127.0.0.4"), port), Fault::Refused).await?,
                serve_fault(SocketAddr::new(ip("127.0.0.5"), port), Fault::Silent).await?,
            ])
        };
        if let Ok(mut servers) = rest.await {
            let addr = first.addr;
            servers.push(first);
            return (servers, addr);
        }
    }
    panic!("no port free on 127.0.0.2-5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegations() {
    use siteward::probe::delegation::ServerStatus;
    let (_servers, resolver) = delegation_world().await;
    let dns = probe(resolver, 400);
    let cases: &[(&str, &str, &str)] = &[
        ("www.gansu.gov.cn", "gansu.gov.cn", "serves"),
        ("www.good.gansu.gov.cn", "good.gansu.gov.cn", "serves"),
        ("www.lame.gansu.gov.cn", "lame.gansu.gov.cn", "lame"),
        ("www.dead.gansu.gov.cn", "dead.gansu.gov.cn", "no_address"),
        (
            "www.silent.gansu.gov.cn",
            "silent.gansu.gov.cn",
            "unreachable",
        ),
    ];
    for (name, zone, status) in cases {
        let delegation = dns
            .delegation(&host(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(delegation.zone, *zone, "{name}");
        assert_eq!(
            delegation.servers.len(),
            1,
            "{name}: {:?}",
            delegation.servers
        );
        let value = serde_json::to_value(&delegation.servers[0]).expect("json");
        assert_eq!(value["status"], *status, "{name}: {value}");
    }
    let lame = dns
        .delegation(&host("www.lame.gansu.gov.cn"))
        .await
        .expect("lame");
    assert_eq!(
        lame.servers[0].status,
        ServerStatus::Lame {
            reason: "refused".into()
        }
    );
    assert_eq!(lame.servers[0].address, Some(ip("127.0.0.4")));
    // Wildcards: a zone that answers every name, and one that does not.
    assert_eq!(
        dns.delegation(&host("www.gansu.gov.cn"))
            .await
            .expect("zone")
            .wildcard,
        Some(false)
    );
    let wild = dns
        .delegation(&host("anything.wild-city.gov.cn"))
        .await
        .expect("wild");
    assert_eq!(
        (wild.zone.as_str(), wild.wildcard),
        ("wild-city.gov.cn", Some(true))
    );
}

/// A zone with several silent name servers: they are asked together,
/// under the zone's own budget, and nothing else about its hosts waits
/// for them. Asked one after another (five timeouts), the zone would run
/// past its budget and be unmeasured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_zone_does_not_starve_its_hosts() {
    use siteward::probe::delegation::ServerStatus;
    use siteward::probe::http::{PageProbe, PageSettings};
    use siteward::probe::run::{Prober, Probes};
    use siteward::probe::tls::TlsProbe;
    use siteward::probe::{DelegationResult, ObservationData};
    let (_servers, resolver) = delegation_world().await;
    let closed = std::net::TcpListener::bind("127.0.0.10:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let prober = Prober::new(
        probe(resolver, 400),
        TlsProbe::new(&[], Duration::from_secs(1)).expect("tls"),
        PageProbe::new(PageSettings {
            https_port: closed,
            http_port: closed,
            ..PageSettings::default()
        }),
        (closed, closed),
        // The zone's budget is half of this: 1.5 s, short of five
        // timeouts of 400 ms one after another.
        Duration::from_secs(3),
        4,
    );
    let observations = prober.host(&host("www.slowcity.gov.cn"), Probes::ALL).await;
    assert!(
        !observations
            .iter()
            .any(|o| matches!(o.data, ObservationData::Deadline { .. })),
        "{observations:?}"
    );
    assert!(
        observations
            .iter()
            .any(|o| matches!(o.data, ObservationData::Page(_))),
        "the homepage was tried"
    );
    let delegation = observations
        .iter()
        .find_map(|o| match &o.data {
            ObservationData::Delegation(DelegationResult::Found(found)) => Some(found),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the zone was measured: {observations:?}"));
    assert_eq!(delegation.zone, "slowcity.gov.cn");
    let silent = delegation
        .servers
        .iter()
        .filter(|s| matches!(s.status, ServerStatus::Unreachable { .. }))
        .count();
    let serving = delegation
        .servers
        .iter()
        .filter(|s| matches!(s.status, ServerStatus::Serves { .. }))
        .count();
    assert_eq!((serving, silent), (1, 5), "{:?}", delegation.servers);
}

/// A host list (a certificate-transparency export): `*.zone` lines are
/// wildcards, reported as such and never turned into the zone's name; a
/// `*` anywhere else, or a wildcard over a bad name, is a bad line named
/// by its number.
#[test]
fn a_host_lists_wildcards_are_wildcards() {
    use siteward::probe::zone::host_list;
    let list = host_list(
        "# from crt.sh\n*.gsjs.gansu.gov.cn\n*.GSJS.gansu.gov.cn.\nhttps://zwfw.gansu.gov.cn/login\nwww.gansu.gov.cn\n",
    )
    .expect("a good list");
    let hosts: Vec<&str> = list.hosts.iter().map(Hostname::as_str).collect();
    assert_eq!(hosts, ["www.gansu.gov.cn", "zwfw.gansu.gov.cn"]);
    assert_eq!(list.wildcards, ["*.gsjs.gansu.gov.cn"]);
    for (text, expected) in [
        (
            "www.gansu.gov.cn\nwww.*.gansu.gov.cn\n",
            "line 2: `www.*.gansu.gov.cn` is not a host name (a wildcard is written `*.zone`)",
        ),
        ("*\n", "line 1: `*` is not a host name"),
        (
            "*.bad..gov.cn\n",
            "line 1: `*.bad..gov.cn` is a wildcard whose zone is not a valid name",
        ),
    ] {
        let error = host_list(text).expect_err(text);
        assert!(error.contains(expected), "{text}: {error}");
    }
}

/// A zone file the parser cannot read is refused in words: hickory's
/// tokens (`CharData("x")`) and type names (`RecordType`) never show.
#[test]
fn a_bad_zone_file_is_refused_in_words() {
    use siteward::probe::zone::{zone_file, zone_file_hosts};
    let head = "$ORIGIN gansu.gov.cn.\n$TTL 3600\n@ IN SOA ns1 admin 1 3600 600 86400 300\n";
    let mut refused = 0;
    for body in [
        "www IN A\n",
        "www IN TYPE65280 \\# 0\n",
        "www IN MX ten mail\n",
        "www IN A 10.0.0.300\n",
        "$TTL x\n",
        "www IN (A 10.0.0.1\n",
        "www 3600 IN NOPE 1\n",
        ")\n",
        "$ORIGIN\n",
        "www IN A 10.0.0.1 )\n",
    ] {
        let text = format!("{head}{body}");
        for result in [
            zone_file_hosts(&text, None).map(|_| ()),
            zone_file(&text, None).map(|_| ()),
        ] {
            let Err(error) = result else { continue };
            refused += 1;
            assert!(error.starts_with("not a zone file"), "{error}");
            for rust in ["CharData", "RecordType", "Token", "{", "Some(", "Err("] {
                assert!(!error.contains(rust), "{body:?}: {error}");
            }
        }
    }
    assert!(refused >= 10, "only {refused} refusals");
    // hickory's own words: "unrecognized token in stream: EOL".
    let error = zone_file_hosts(&format!("{head}$ORIGIN\n"), None).expect_err("bare $ORIGIN");
    assert!(error.ends_with(": unexpected end of line"), "{error}");
}
