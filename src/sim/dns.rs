//! The simulated world's DNS: an authoritative server (hickory-server, in
//! process) answering for any number of zones built from a declarative
//! description, on a loopback port; and misbehaving servers that answer
//! SERVFAIL or REFUSED to everything, or never answer at all.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ns(String),
    Txt(String),
}

/// One record; `name` is absolute (`www.gansu.gov.cn`, `*.wild.gansu.gov.cn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecord {
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

impl SimRecord {
    pub fn new(name: &str, ttl: u32, data: RecordData) -> SimRecord {
        SimRecord {
            name: name.to_string(),
            ttl,
            data,
        }
    }
}

/// A zone: its origin and records. The SOA and the apex NS are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub origin: String,
    pub records: Vec<SimRecord>,
    /// Whether the server allows anyone a zone transfer (AXFR).
    pub axfr: bool,
}

impl Zone {
    pub fn new(origin: &str) -> Zone {
        Zone {
            origin: origin.to_string(),
            records: Vec::new(),
            axfr: false,
        }
    }

    /// Allows zone transfers.
    pub fn transferable(mut self) -> Zone {
        self.axfr = true;
        self
    }

    pub fn with(mut self, name: &str, ttl: u32, data: RecordData) -> Zone {
        self.records.push(SimRecord::new(name, ttl, data));
        self
    }
}

fn name(text: &str) -> io::Result<Name> {
    let mut name = Name::from_ascii(text.trim_end_matches('.'))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{text}: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

fn handler(zone: &Zone) -> io::Result<InMemoryZoneHandler<TokioRuntimeProvider>> {
    let origin = name(&zone.origin)?;
    let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        if zone.axfr {
            AxfrPolicy::AllowAll
        } else {
            AxfrPolicy::Deny
        },
    );
    const SERIAL: u32 = 2_026_112_201;
    let ns = name(&format!("ns1.{}", zone.origin))?;
    let soa = SOA::new(
        ns.clone(),
        name(&format!("hostmaster.{}", zone.origin))?,
        SERIAL,
        3600,
        600,
        86400,
        300,
    );
    handler.upsert_mut(
        Record::from_rdata(origin.clone(), 3600, RData::SOA(soa)),
        SERIAL,
    );
    handler.upsert_mut(Record::from_rdata(origin, 3600, RData::NS(NS(ns))), SERIAL);
    for record in &zone.records {
        let data = match &record.data {
            RecordData::A(ip) => RData::A(A(*ip)),
            RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
            RecordData::Cname(target) => RData::CNAME(CNAME(name(target)?)),
            RecordData::Ns(server) => RData::NS(NS(name(server)?)),
            RecordData::Txt(text) => RData::TXT(TXT::new(vec![text.clone()])),
        };
        handler.upsert_mut(
            Record::from_rdata(name(&record.name)?, record.ttl, data),
            SERIAL,
        );
    }
    Ok(handler)
}

/// Binds UDP and TCP on one address; port 0 picks a port free for both.
async fn bind(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    if addr.port() != 0 {
        return Ok((UdpSocket::bind(addr).await?, TcpListener::bind(addr).await?));
    }
    let mut last = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

/// A running authoritative server; stops when dropped.
#[derive(Debug)]
pub struct DnsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts an authoritative server for `zones` on `addr` (a loopback
/// address; port 0 for any free port), UDP and TCP on one port.
pub async fn serve(addr: SocketAddr, zones: &[Zone]) -> io::Result<DnsServer> {
    let mut catalog = Catalog::new();
    for zone in zones {
        let handler = handler(zone)?;
        let origin = handler.origin().clone();
        catalog.upsert(origin, vec![Arc::new(handler) as Arc<dyn ZoneHandler>]);
    }
    let (udp, tcp) = bind(addr).await?;
    let addr = udp.local_addr()?;
    let task = tokio::spawn(async move {
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(10), 64);
        // Runs until the task is aborted; the server's own tasks end with it.
        std::future::pending::<()>().await;
        drop(server);
    });
    Ok(DnsServer { addr, task })
}

/// How a misbehaving server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServFail,
    Refused,
    /// Reads every query and answers none: a resolver that is down.
    Silent,
}

/// Starts a server on `addr` that answers every query (UDP) with `fault`.
pub async fn serve_fault(addr: SocketAddr, fault: Fault) -> io::Result<DnsServer> {
    let (udp, tcp) = bind(addr).await?;
    let addr = udp.local_addr()?;
    let task = tokio::spawn(async move {
        // TCP connections are accepted and left silent.
        let _tcp = tcp;
        let mut buffer = vec![0u8; 4096];
        loop {
            let Ok((length, peer)) = udp.recv_from(&mut buffer).await else {
                continue;
            };
            let code = match fault {
                Fault::ServFail => ResponseCode::ServFail,
                Fault::Refused => ResponseCode::Refused,
                Fault::Silent => continue,
            };
            let Ok(query) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            let mut response = Message::error_msg(query.metadata.id, query.metadata.op_code, code);
            response.add_queries(query.queries.clone());
            if let Ok(bytes) = response.to_vec() {
                let _ = udp.send_to(&bytes, peer).await;
            }
        }
    });
    Ok(DnsServer { addr, task })
}
