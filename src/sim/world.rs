//! A whole simulated region for the benchmark and the demo: N host names
//! under one zone with the mix of cases a real region has (healthy with
//! IPv4 and IPv6, no AAAA, expired certificates, CNAMEs to names that do
//! not exist, names that do not exist, addresses where nothing answers),
//! served by one DNS server and HTTPS/HTTP servers on 127.0.0.1 and ::1.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::dns::{DnsServer, RecordData, Zone, serve};
use super::tls::{SniResolver, TcpServer, TestCa, days_from_now};
use super::web::{PageSpec, Pages, serve_web};
use crate::probe::AddressLimit;
use crate::probe::dns::{DnsProbe, ResolverSettings};
use crate::probe::http::{PageProbe, PageSettings};
use crate::probe::run::{PAGE_DEADLINE, ProbeSetupError, Prober};
use crate::probe::tls::TlsProbe;
use crate::registry::Hostname;

/// What a host name of the world is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// A and AAAA, a valid certificate, a homepage.
    Healthy,
    /// A only.
    NoAaaa,
    /// An expired certificate.
    Expired,
    /// A CNAME to a name that does not exist.
    DanglingCname,
    /// NXDOMAIN.
    Missing,
    /// An address where nothing listens.
    Unreachable,
}

/// The case of host number `i`: 70% healthy, 10% without AAAA, 5% each of
/// the rest.
pub fn case(i: usize) -> Case {
    match i % 20 {
        0..=13 => Case::Healthy,
        14 | 15 => Case::NoAaaa,
        16 => Case::Expired,
        17 => Case::DanglingCname,
        18 => Case::Missing,
        _ => Case::Unreachable,
    }
}

/// A running world; everything stops when it is dropped.
#[derive(Debug)]
pub struct World {
    pub hosts: Vec<Hostname>,
    pub dns: DnsServer,
    pub https_port: u16,
    pub http_port: u16,
    /// The CA to trust.
    pub ca_pem: String,
    _servers: Vec<TcpServer>,
}

impl World {
    /// Probes that look at this world: its DNS server as the resolver,
    /// its CA trusted, its ports. Call within the runtime that will run
    /// them.
    pub fn prober(&self, concurrency: usize) -> Result<Prober, ProbeSetupError> {
        let dns = DnsProbe::new(&ResolverSettings {
            nameservers: vec![self.dns.addr],
            timeout: Duration::from_secs(3),
            attempts: 1,
            authoritative_port: self.dns.addr.port(),
        })?;
        // The world serves every host name from one address where a
        // province spreads them over many: the limit per address is the
        // whole concurrency, not a platform's share of it.
        let limit = AddressLimit::new(concurrency);
        let tls = TlsProbe::with_roots(
            &[("simulated root".into(), self.ca_pem.clone())],
            false,
            Duration::from_secs(10),
        )?
        .with_limit(limit.clone());
        let pages = PageProbe::new(PageSettings {
            deadline: PAGE_DEADLINE,
            https_port: self.https_port,
            http_port: self.http_port,
            limit,
            ..PageSettings::default()
        });
        Ok(Prober::new(
            dns,
            tls,
            pages,
            (self.https_port, self.http_port),
            Duration::from_secs(20),
            concurrency,
        ))
    }
}

const ZONE: &str = "bench.gov.cn";

/// Host names per zone. hickory's in-memory zone scans its records for
/// negative answers, so one zone of 10,000 names would make the simulated
/// server, not the probes, the bottleneck; a region has many zones anyway
/// (one per department or county is common).
const HOSTS_PER_ZONE: usize = 50;

/// Builds and starts a world of `count` host names.
pub async fn start(count: usize) -> io::Result<World> {
    let ca = TestCa::new("siteward bench root")?;
    let mut zones: Vec<Zone> = Vec::new();
    let mut resolver = SniResolver::default();
    let mut pages = Pages::default();
    let mut hosts = Vec::with_capacity(count);
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for i in 0..count {
        let origin = format!("z{}.{ZONE}", i / HOSTS_PER_ZONE);
        if i % HOSTS_PER_ZONE == 0 {
            zones.push(Zone::new(&origin));
        }
        let mut zone = zones.pop().expect("a zone was pushed");
        let name = format!("s{i}.{origin}");
        let case = case(i);
        match case {
            Case::Healthy | Case::NoAaaa | Case::Expired => {
                zone = zone.with(&name, 300, RecordData::A(Ipv4Addr::LOCALHOST));
                if case == Case::Healthy {
                    zone = zone.with(&name, 300, RecordData::Aaaa(Ipv6Addr::LOCALHOST));
                }
                let chain = match case {
                    Case::Expired => ca.issue(&[&name], days_from_now(-400), days_from_now(-10))?,
                    _ => ca.valid(&[&name])?,
                };
                resolver.add(&name, &chain)?;
                let body = format!(
                    "<html><head><meta name=\"SiteIDCode\" content=\"62{:08}\"><title>测试网站 {i}</title></head>\
                     <body><a href=\"/col/{i}.html\">栏目</a><div>网站标识码：62{:08} 主办单位：测试单位</div></body></html>",
                    i + 1,
                    i + 1
                );
                pages.add(&name, "/", PageSpec::html(body, "utf-8"));
            }
            Case::DanglingCname => {
                zone = zone.with(
                    &name,
                    300,
                    RecordData::Cname(format!("gone{i}.unclaimed.example")),
                );
            }
            Case::Missing => {}
            Case::Unreachable => {
                // 127.0.0.2: nothing listens there.
                zone = zone.with(&name, 300, RecordData::A(Ipv4Addr::new(127, 0, 0, 2)));
            }
        }
        zones.push(zone);
        hosts.push(name.parse().map_err(|e| io::Error::other(format!("{e}")))?);
    }
    zones.push(Zone::new("unclaimed.example"));
    let dns = serve(SocketAddr::new(local, 0), &zones).await?;
    // One copy of the pages and certificates, shared by every server.
    let pages = Arc::new(pages);
    let resolver = Arc::new(resolver);
    let https_v4 = serve_web(
        SocketAddr::new(local, 0),
        pages.clone(),
        Some(resolver.clone()),
    )
    .await?;
    let https_port = https_v4.addr.port();
    let loopback_v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let mut servers = vec![https_v4];
    // IPv6 on the same port, where the machine has ::1.
    if let Ok(server) = serve_web(
        SocketAddr::new(loopback_v6, https_port),
        pages.clone(),
        Some(resolver),
    )
    .await
    {
        servers.push(server);
    }
    let http = serve_web(SocketAddr::new(local, 0), pages, None::<SniResolver>).await?;
    let http_port = http.addr.port();
    servers.push(http);
    Ok(World {
        hosts,
        dns,
        https_port,
        http_port,
        ca_pem: ca.pem(),
        _servers: servers,
    })
}
