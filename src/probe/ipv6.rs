//! IPv6 reachability. An AAAA record is not IPv6 support: this probe
//! connects to each service port over IPv6, fetches the homepage over IPv6,
//! and samples same-site links to second-level pages and, from those, to
//! third-level pages, fetching each over IPv4 and over IPv6. The
//! connectivity rate is the pages that load over IPv6 divided by those
//! that load over IPv4 (real case 5: inner pages often fail over IPv6 where
//! the homepage works).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use url::Url;

use super::http::{PageOutcome, PageProbe};
use crate::registry::Hostname;

/// Whether a port accepted a TCP connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortReach {
    pub address: IpAddr,
    pub port: u16,
    pub open: bool,
}

/// Pages of one level: how many were sampled, and how many loaded over
/// each protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub sampled: usize,
    pub loaded_v4: usize,
    pub loaded_v6: usize,
}

/// What IPv6 reachability looked like for one host name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Reach {
    pub address: IpAddr,
    pub ports: Vec<PortReach>,
    pub homepage_v6: bool,
    pub second_level: Level,
    pub third_level: Level,
}

impl Ipv6Reach {
    /// Pages that load over IPv6 per page that loads over IPv4, both
    /// levels together, in percent; `None` when no inner page loaded over
    /// IPv4 (nothing to compare).
    pub fn connectivity_percent(&self) -> Option<u32> {
        let v4 = self.second_level.loaded_v4 + self.third_level.loaded_v4;
        let v6 = self.second_level.loaded_v6 + self.third_level.loaded_v6;
        (v4 > 0).then(|| ((v6.min(v4) * 100) / v4) as u32)
    }
}

fn loaded(outcome: &PageOutcome) -> bool {
    matches!(outcome, PageOutcome::Loaded { status, .. } if *status < 400)
}

fn links(outcome: &PageOutcome, host: &Hostname) -> Vec<Url> {
    match outcome {
        PageOutcome::Loaded { page, .. } => page
            .links
            .iter()
            .filter_map(|link| Url::parse(link).ok())
            .filter(|url| url.host_str() == Some(host.as_str()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Samples up to `count` links not seen before.
fn sample(candidates: Vec<Url>, seen: &mut Vec<String>, count: usize) -> Vec<Url> {
    let mut picked = Vec::new();
    for url in candidates {
        if picked.len() >= count {
            break;
        }
        let key = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        if !seen.contains(&key) {
            seen.push(key);
            picked.push(url);
        }
    }
    picked
}

/// Measures IPv6 reachability of `host` at `v6`, comparing with `v4`:
/// the service ports, both homepages, then the inner pages.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    pages: &PageProbe,
    host: &Hostname,
    v4: IpAddr,
    v6: IpAddr,
    ports: &[u16],
    connect_timeout: Duration,
    per_level: usize,
) -> Ipv6Reach {
    let (reach, (home_v4, home_v6)) = tokio::join!(ports_open(v6, ports, connect_timeout), async {
        tokio::join!(pages.homepage(host, v4), pages.homepage(host, v6))
    });
    inner_pages(pages, host, v4, v6, reach, &home_v4, &home_v6, per_level).await
}

/// Whether each of `ports` accepts a TCP connection at `v6`, tried
/// together.
pub async fn ports_open(v6: IpAddr, ports: &[u16], connect_timeout: Duration) -> Vec<PortReach> {
    let tries = ports.iter().map(|port| async move {
        let open = matches!(
            tokio::time::timeout(
                connect_timeout,
                TcpStream::connect(SocketAddr::new(v6, *port))
            )
            .await,
            Ok(Ok(_))
        );
        PortReach {
            address: v6,
            port: *port,
            open,
        }
    });
    futures_util::future::join_all(tries).await
}

/// Completes the measure from homepages already fetched at `v4` and `v6`
/// (the cycle has read them over the TLS probe's own handshakes, so they
/// are not fetched twice): samples the inner pages from the IPv4
/// homepage's links and fetches each over both protocols.
#[allow(clippy::too_many_arguments)]
pub async fn inner_pages(
    pages: &PageProbe,
    host: &Hostname,
    v4: IpAddr,
    v6: IpAddr,
    ports: Vec<PortReach>,
    home_v4: &PageOutcome,
    home_v6: &PageOutcome,
    per_level: usize,
) -> Ipv6Reach {
    let mut seen = vec!["/?".to_string()];
    let second = sample(links(home_v4, host), &mut seen, per_level);
    let (second_level, second_pages) = level(pages, host, v4, v6, &second).await;
    let third_candidates: Vec<Url> = second_pages.iter().flat_map(|p| links(p, host)).collect();
    let third = sample(third_candidates, &mut seen, per_level);
    let (third_level, _) = level(pages, host, v4, v6, &third).await;
    Ipv6Reach {
        address: v6,
        ports,
        homepage_v6: loaded(home_v6),
        second_level,
        third_level,
    }
}

/// Fetches each URL over IPv4 and IPv6; returns the counts and the IPv4
/// outcomes (for the next level's links).
async fn level(
    pages: &PageProbe,
    host: &Hostname,
    v4: IpAddr,
    v6: IpAddr,
    urls: &[Url],
) -> (Level, Vec<PageOutcome>) {
    let fetches = urls.iter().map(|url| async move {
        tokio::join!(pages.page(host, v4, url), pages.page(host, v6, url))
    });
    let results = futures_util::future::join_all(fetches).await;
    let mut counts = Level {
        sampled: urls.len(),
        ..Level::default()
    };
    let mut outcomes = Vec::new();
    for (over_v4, over_v6) in results {
        counts.loaded_v4 += usize::from(loaded(&over_v4));
        counts.loaded_v6 += usize::from(loaded(&over_v6));
        outcomes.push(over_v4);
    }
    (counts, outcomes)
}
