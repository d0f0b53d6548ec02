//! Probes: network in, observations out. Each probe looks at one host name
//! (or one of its addresses) and returns what it saw; a timeout, NXDOMAIN
//! or a failed handshake is data, not an error. Probes never touch the
//! database: the store keeps what changed.

pub mod cert;
pub mod delegation;
pub mod dns;
pub mod feed;
pub mod http;
pub mod ipv6;
pub mod page;
pub mod run;
pub mod tls;
pub mod words;
pub mod zone;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::registry::Hostname;

/// Links to one other host name a stored page keeps (a finding quotes at
/// most this many).
pub const LINKS_KEPT_PER_HOST: usize = 5;

/// How many connections the probes hold open to one address at a time.
/// Hundreds of sites share a few addresses of a consolidated platform
/// (集约化平台), and a burst of connections from one source looks like an
/// attack to its firewall, which would then read as mass unreachability:
/// so the probes queue per address, whatever the overall concurrency.
#[derive(Debug, Clone)]
pub struct AddressLimit {
    per_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
}

/// Addresses remembered before the idle ones are forgotten.
const REMEMBERED_ADDRESSES: usize = 4096;

impl AddressLimit {
    /// At most `per_address` connections to one address (at least one).
    pub fn new(per_address: usize) -> AddressLimit {
        AddressLimit {
            per_address: per_address.max(1),
            open: Arc::default(),
        }
    }

    /// The limit per address.
    pub fn per_address(&self) -> usize {
        self.per_address
    }

    async fn acquire(&self, address: IpAddr) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open.len() >= REMEMBERED_ADDRESSES {
                // Nobody holds or waits for these: forget them.
                open.retain(|_, s| Arc::strong_count(s) > 1);
            }
            open.entry(address)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_address)))
                .clone()
        };
        semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

impl Default for AddressLimit {
    fn default() -> AddressLimit {
        AddressLimit::new(
            crate::config::ProbeConfig::default()
                .per_address_connections
                .get(),
        )
    }
}

/// A probe's TCP connection, holding its place under the [`AddressLimit`]
/// until it is dropped.
#[derive(Debug)]
pub struct ProbeStream {
    tcp: tokio::net::TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for ProbeStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProbeStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Opens a TCP connection for a probe, once `limit` allows another to
/// that address. Nagle's algorithm is off: a probe writes small messages
/// (a TLS flight, then a request) and waits for the answer, and with
/// Nagle on, the request can sit behind the peer's delayed
/// acknowledgement for 40 ms.
///
/// A failure on this machine's side (see [`is_local`]) comes back with
/// the kind `NetworkUnreachable`, whatever the system said, so that every
/// probe tells it from the server's failures the same way.
pub(crate) async fn connect(address: SocketAddr, limit: &AddressLimit) -> io::Result<ProbeStream> {
    let place = limit.acquire(address.ip()).await;
    let tcp = match tokio::net::TcpStream::connect(address).await {
        Ok(tcp) => tcp,
        Err(e) if is_local(&e, address) => {
            return Err(io::Error::new(
                io::ErrorKind::NetworkUnreachable,
                format!("no way from this machine to {address}: {e}"),
            ));
        }
        Err(e) => return Err(e),
    };
    tcp.set_nodelay(true)?;
    Ok(ProbeStream { tcp, _place: place })
}

/// Whether a connect error is about this machine rather than the server:
/// no route to the address's network (a machine without IPv6), no local
/// address to use, no file descriptor left. "No route to host" is ours
/// only when this machine has no route to the address; with one, it is
/// a router's ICMP answer from the far side, about the server.
pub(crate) fn is_local(error: &io::Error, address: SocketAddr) -> bool {
    match error.kind() {
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => true,
        io::ErrorKind::HostUnreachable => !route_exists(address),
        _ => matches!(error.raw_os_error(), Some(23 | 24 | 97)),
    }
}

/// Whether this machine has a route to `address`: connecting a UDP socket
/// looks the route up and sends nothing.
pub(crate) fn route_exists(address: SocketAddr) -> bool {
    let local: SocketAddr = if address.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    std::net::UdpSocket::bind(local).is_ok_and(|socket| socket.connect(address).is_ok())
}

/// One thing a probe saw about a host name (or one of its addresses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub host: Hostname,
    /// The address it was about, when it was about one.
    pub address: Option<IpAddr>,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub data: ObservationData,
}

/// What was seen, by probe kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum ObservationData {
    /// A, AAAA and the CNAME chain.
    Dns(dns::HostDns),
    /// The zone's delegation and wildcard; `Err` when it could not be
    /// measured.
    Delegation(DelegationResult),
    /// The TLS handshake at one address.
    Tls(tls::TlsObservation),
    /// The homepage fetched from one address.
    Page(http::PageOutcome),
    /// IPv6 reachability of the host's pages, at one IPv6 address.
    Ipv6(ipv6::Ipv6Reach),
    /// A poll of a new-media account's feed (the host is the feed's).
    Feed(feed::FeedPoll),
    /// The host's probes did not finish within the per-host deadline: a
    /// failure to measure.
    Deadline { after_ms: u64 },
    /// The host's probes failed on our side (a probe task panicked): a
    /// failure to measure, never a fact about the host.
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DelegationResult {
    Found(delegation::Delegation),
    Failed { reason: String },
}

impl ObservationData {
    /// The observation with what changes on every look zeroed: TTLs count
    /// down in every cache between the server and us, and are not a change
    /// of what the name points at.
    pub fn comparable(&self) -> ObservationData {
        let mut copy = self.clone();
        // A page's size and hash change with every visitor counter and
        // news item; the rules read neither.
        if let ObservationData::Page(http::PageOutcome::Loaded {
            body_bytes,
            page,
            elapsed_ms,
            ..
        }) = &mut copy
        {
            *body_bytes = 0;
            *elapsed_ms = 0;
            page.content_hash = None;
        }
        if let ObservationData::Dns(dns) = &mut copy {
            for hop in &mut dns.cname_chain {
                hop.ttl = 0;
            }
            for outcome in [&mut dns.a, &mut dns.aaaa] {
                if let dns::DnsOutcome::Answer { records } = outcome {
                    for record in records {
                        record.ttl = 0;
                    }
                }
            }
        }
        copy
    }

    /// What the store keeps of an observation of `host`: what the rules
    /// read. A page keeps, of its links, only those to other host names,
    /// a few per host (a finding quotes them); the links within the site,
    /// most of a page's size, serve the IPv6 sampling during the probe.
    pub fn stored(&self, host: &Hostname) -> ObservationData {
        let mut copy = self.clone();
        if let ObservationData::Page(http::PageOutcome::Loaded { page, .. }) = &mut copy {
            let mut per_host: std::collections::BTreeMap<String, usize> = Default::default();
            page.links.retain(|link| {
                let Some(linked) = url::Url::parse(link)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                else {
                    return false;
                };
                if linked == host.as_str() {
                    return false;
                }
                let kept = per_host.entry(linked).or_default();
                *kept += 1;
                *kept <= LINKS_KEPT_PER_HOST
            });
        }
        copy
    }

    /// The probe kind's stable name.
    pub fn kind(&self) -> &'static str {
        match self {
            ObservationData::Dns(_) => "dns",
            ObservationData::Delegation(_) => "delegation",
            ObservationData::Tls(_) => "tls",
            ObservationData::Page(_) => "page",
            ObservationData::Ipv6(_) => "ipv6",
            ObservationData::Feed(_) => "feed",
            ObservationData::Deadline { .. } => "deadline",
            ObservationData::Failed { .. } => "failed",
        }
    }

    /// A one-word summary, for listing and indexing.
    pub fn outcome(&self) -> String {
        match self {
            ObservationData::Tls(tls) => tls.verdict.name().into(),
            // A server error is an answer, but not a page that loads: the
            // availability count reads this column.
            ObservationData::Page(http::PageOutcome::Loaded { status, .. }) if *status >= 500 => {
                "server_error".into()
            }
            // Not a visit: it never counts in the availability history.
            ObservationData::Page(http::PageOutcome::Local { .. }) => "measurement_failed".into(),
            ObservationData::Page(page) => page.name().into(),
            ObservationData::Ipv6(reach) => match reach.connectivity_percent() {
                Some(percent) => format!("{percent}%"),
                None if reach.homepage_v6 => "homepage_only".into(),
                None => "unreachable".into(),
            },
            ObservationData::Deadline { .. } | ObservationData::Failed { .. } => {
                "measurement_failed".into()
            }
            ObservationData::Feed(poll) => match &poll.result {
                feed::FeedResult::Read(_) => "read".into(),
                feed::FeedResult::Failed { .. } => "measurement_failed".into(),
            },
            ObservationData::Dns(dns) if !dns.is_conclusive() => "measurement_failed".into(),
            ObservationData::Dns(dns) => format!("{}/{}", dns.a.name(), dns.aaaa.name()),
            ObservationData::Delegation(DelegationResult::Failed { .. }) => {
                "measurement_failed".into()
            }
            ObservationData::Delegation(DelegationResult::Found(found)) => {
                use delegation::ServerStatus::*;
                let worst = found.servers.iter().map(|s| match s.status {
                    Serves { .. } => 0,
                    Unknown { .. } => 1,
                    Unreachable { .. } => 2,
                    Lame { .. } => 3,
                    NoAddress => 4,
                });
                match worst.max() {
                    None => "no_nameservers",
                    Some(0) => "ok",
                    Some(1) => "measurement_failed",
                    Some(2) => "unreachable",
                    Some(3) => "lame",
                    _ => "no_address",
                }
                .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No route from here is ours; "no route to host" is a router's
    /// answer about the far side when this machine does have a route.
    #[test]
    fn tells_our_side_from_the_far_side() {
        let loopback: SocketAddr = "127.0.0.1:443".parse().expect("address");
        assert!(route_exists(loopback));
        let error = |code: i32| io::Error::from_raw_os_error(code);
        // ENETUNREACH, EADDRNOTAVAIL, EMFILE: ours, wherever it goes.
        for code in [101, 99, 24] {
            assert!(is_local(&error(code), loopback), "os error {code}");
        }
        // EHOSTUNREACH with a route: an ICMP answer from a router.
        assert!(!is_local(&error(113), loopback));
        // Refused, reset, timed out: the server's side.
        for code in [111, 104, 110] {
            assert!(!is_local(&error(code), loopback), "os error {code}");
        }
    }
}
