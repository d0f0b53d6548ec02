//! Learning host names beyond the registry: the owner names of a BIND zone
//! file, of a zone transfer (AXFR, over TCP, from the zone's primary), or
//! of a plain list (a certificate-transparency export, one name or URL a
//! line). Wildcard owners and names that are not host names (`_service`
//! labels) are left out: they are not sites.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::dns::{DnsOutcome, DnsProbe, fqdn};
use crate::registry::Hostname;

/// The most records a transfer may bring: a region's zone has thousands,
/// not millions.
pub const MAX_TRANSFER_RECORDS: usize = 200_000;

/// How long a whole transfer may take.
pub const TRANSFER_DEADLINE: Duration = Duration::from_secs(60);

/// The host names among DNS owner names: no wildcards, no `_labels`.
fn host_names<'a>(names: impl IntoIterator<Item = &'a Name>) -> Vec<Hostname> {
    let mut hosts = BTreeSet::new();
    for name in names {
        if name.is_wildcard() {
            continue;
        }
        let text = name.to_ascii();
        if text.split('.').any(|label| label.starts_with('_')) {
            continue;
        }
        if let Ok(host) = text.trim_end_matches('.').parse::<Hostname>() {
            hosts.insert(host);
        }
    }
    hosts.into_iter().collect()
}

/// The host names a BIND zone file defines. `origin` names the zone when
/// the file has no `$ORIGIN`.
pub fn zone_file_hosts(text: &str, origin: Option<&str>) -> Result<Vec<Hostname>, String> {
    reject_include(text)?;
    let origin = parse_origin(origin)?;
    let (_, rrsets) = Parser::new(text, None, origin).parse().map_err(|e| {
        format!(
            "not a zone file this parser reads: {}",
            super::words::zone_parse_error(&e)
        )
    })?;
    Ok(host_names(rrsets.values().map(|set| set.name())))
}

/// What a zone holds, as reconciliation reads it: the host names that
/// can serve a site (owners of A, AAAA or CNAME records), the names its
/// NS, MX and SRV records point at (infrastructure, not sites), the
/// parents of its wildcards, and the names delegated to other zones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneContents {
    pub origin: Option<Hostname>,
    pub web: BTreeSet<Hostname>,
    pub infrastructure: BTreeSet<Hostname>,
    /// `x` for each `*.x`: every name under `x` answers.
    pub wildcards: Vec<Hostname>,
    /// Names below the origin with NS records: their hosts live in
    /// another zone.
    pub delegations: Vec<Hostname>,
    pub records: usize,
}

impl ZoneContents {
    fn from_records<'a>(origin: &Name, records: impl IntoIterator<Item = &'a Record>) -> Self {
        let host = |name: &Name| -> Option<Hostname> {
            let text = name.to_ascii();
            if text.split('.').any(|label| label.starts_with('_')) {
                return None;
            }
            text.trim_end_matches('.').parse().ok()
        };
        // The zone is its SOA's owner: a parser's origin is the last
        // `$ORIGIN` it read, which a file may move below the apex.
        let records: Vec<&Record> = records.into_iter().collect();
        let origin = records
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .map_or(origin, |r| &r.name);
        let mut zone = ZoneContents {
            origin: host(origin),
            ..ZoneContents::default()
        };
        for record in records {
            zone.records += 1;
            if record.name.is_wildcard() {
                if let Some(parent) = host(&record.name.base_name()) {
                    zone.wildcards.push(parent);
                }
                continue;
            }
            let target = match &record.data {
                RData::NS(ns) => {
                    if record.name != *origin
                        && let Some(name) = host(&record.name)
                    {
                        zone.delegations.push(name);
                    }
                    Some(&ns.0)
                }
                RData::MX(mx) => Some(&mx.exchange),
                RData::SRV(srv) => Some(&srv.target),
                _ => None,
            };
            if let Some(target) = target.and_then(host) {
                zone.infrastructure.insert(target);
            }
            let Some(name) = host(&record.name) else {
                continue;
            };
            if matches!(
                record.record_type(),
                RecordType::A | RecordType::AAAA | RecordType::CNAME
            ) {
                zone.web.insert(name);
            }
        }
        zone.wildcards.sort_unstable();
        zone.wildcards.dedup();
        zone.delegations.sort_unstable();
        zone.delegations.dedup();
        zone
    }

    /// Whether `host` is under this zone's origin and not delegated away.
    pub fn covers(&self, host: &Hostname) -> bool {
        self.origin.as_ref().is_some_and(|o| host.is_within(o))
            && !self
                .delegations
                .iter()
                .any(|d| host.is_within(d) && host != d)
    }

    /// Whether `host` resolves here: its own A, AAAA or CNAME records, or
    /// a wildcard's.
    pub fn answers(&self, host: &Hostname) -> bool {
        self.web.contains(host)
            || self
                .wildcards
                .iter()
                .any(|w| host.is_within(w) && host != w)
    }
}

/// A BIND zone file's contents. `origin` names the zone when the file
/// has no `$ORIGIN`.
pub fn zone_file(text: &str, origin: Option<&str>) -> Result<ZoneContents, String> {
    reject_include(text)?;
    let origin = parse_origin(origin)?;
    let (origin, rrsets) = Parser::new(text, None, origin).parse().map_err(|e| {
        format!(
            "not a zone file this parser reads: {}",
            super::words::zone_parse_error(&e)
        )
    })?;
    Ok(ZoneContents::from_records(
        &origin,
        rrsets.values().flat_map(|set| set.records_without_rrsigs()),
    ))
}

/// The contents of `zone`, by a transfer from `primary` (or the zone's
/// SOA MNAME on `port`).
pub async fn transfer_zone(
    dns: &DnsProbe,
    zone: &Hostname,
    primary: Option<SocketAddr>,
    port: u16,
) -> Result<ZoneContents, String> {
    let name = fqdn(zone.as_str());
    let records = transfer_records(dns, &name, primary, port).await?;
    Ok(ZoneContents::from_records(
        &name,
        records.iter().filter(|r| name.zone_of(&r.name)),
    ))
}

fn reject_include(text: &str) -> Result<(), String> {
    // `$INCLUDE` with an absolute path would make the parser read any
    // local file.
    if text.lines().any(|line| {
        line.trim_start()
            .get(..8)
            .is_some_and(|word| word.eq_ignore_ascii_case("$INCLUDE"))
    }) {
        return Err("$INCLUDE is not supported: give the included file itself".into());
    }
    Ok(())
}

fn parse_origin(origin: Option<&str>) -> Result<Option<Name>, String> {
    origin
        .map(|o| {
            Name::from_ascii(o.trim_end_matches('.'))
                .map(|mut n| {
                    n.set_fqdn(true);
                    n
                })
                .map_err(|e| format!("origin `{o}`: {e}"))
        })
        .transpose()
}

/// What a plain list names: host names, and wildcards kept as such.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostList {
    pub hosts: Vec<Hostname>,
    /// The `*.zone` lines, as written (lower-cased, without a trailing
    /// dot): certificate-transparency exports list wildcard certificates
    /// so. A wildcard is not a host name, and says nothing of whether
    /// `zone` itself exists, so it is reported, never learnt as the
    /// zone's name.
    pub wildcards: Vec<String>,
}

/// The host names in a plain list: one host name or URL a line; blank
/// lines and `#` comments are skipped; `*.zone` lines are wildcards
/// (their zone must be a valid name); a bad line is an error naming it.
pub fn host_list(text: &str) -> Result<HostList, String> {
    let mut hosts = BTreeSet::new();
    let mut wildcards = BTreeSet::new();
    let mut bad = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(zone) = line.strip_prefix("*.") {
            match zone.parse::<Hostname>() {
                Ok(zone) => {
                    wildcards.insert(format!("*.{zone}"));
                }
                Err(e) => bad.push(format!(
                    "line {}: `{line}` is a wildcard whose zone is not a valid name ({e})",
                    number + 1
                )),
            }
            continue;
        }
        if line.contains('*') {
            bad.push(format!(
                "line {}: `{line}` is not a host name (a wildcard is written `*.zone`)",
                number + 1
            ));
            continue;
        }
        match Hostname::from_url_or_host(line) {
            Ok(host) => {
                hosts.insert(host);
            }
            Err(e) => bad.push(format!("line {}: {e}", number + 1)),
        }
    }
    if !bad.is_empty() {
        return Err(format!("{} bad lines: {}", bad.len(), bad.join("; ")));
    }
    Ok(HostList {
        hosts: hosts.into_iter().collect(),
        wildcards: wildcards.into_iter().collect(),
    })
}

/// Transfers `zone` from `primary` (or the zone's SOA MNAME on
/// `port`) and returns the host names in it.
pub async fn transfer(
    dns: &DnsProbe,
    zone: &Hostname,
    primary: Option<SocketAddr>,
    port: u16,
) -> Result<Vec<Hostname>, String> {
    let name = fqdn(zone.as_str());
    let records = transfer_records(dns, &name, primary, port).await?;
    // A server may send names outside the zone asked for: only the zone's
    // own names are learnt.
    Ok(host_names(
        records.iter().map(|r| &r.name).filter(|n| name.zone_of(n)),
    ))
}

async fn transfer_records(
    dns: &DnsProbe,
    zone: &Name,
    primary: Option<SocketAddr>,
    port: u16,
) -> Result<Vec<Record>, String> {
    let server = match primary {
        Some(server) => server,
        None => primary_of(dns, zone, port).await?,
    };
    tokio::time::timeout(TRANSFER_DEADLINE, axfr(server, zone))
        .await
        .map_err(|_| {
            format!(
                "no complete transfer from {server} within {} s",
                TRANSFER_DEADLINE.as_secs()
            )
        })?
}

/// The zone's primary: its SOA MNAME's first address.
async fn primary_of(dns: &DnsProbe, zone: &Name, port: u16) -> Result<SocketAddr, String> {
    let (soa, _) = dns.ask(zone, RecordType::SOA).await;
    let DnsOutcome::Answer { records } = soa else {
        return Err(format!("no SOA for {zone}: {}", soa.name()));
    };
    let mname = records
        .first()
        .and_then(|r| r.value.split_whitespace().next())
        .ok_or_else(|| format!("the SOA of {zone} names no primary"))?;
    let host: Hostname = mname
        .trim_end_matches('.')
        .parse()
        .map_err(|e| format!("primary `{mname}`: {e}"))?;
    let address = dns
        .host(&host)
        .await
        .addresses()
        .into_iter()
        .next()
        .ok_or_else(|| format!("the primary {host} has no address"))?;
    Ok(SocketAddr::new(address, port))
}

/// A full zone transfer (RFC 5936) over TCP: every owner name, until the
/// closing SOA. Written out rather than hickory's client, which drops
/// messages of long transfers and reports success.
async fn axfr(server: SocketAddr, zone: &Name) -> Result<Vec<Record>, String> {
    let mut query = Message::query();
    query.metadata.recursion_desired = false;
    query.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let id = query.metadata.id;
    let body = query.to_vec().map_err(|e| e.to_string())?;
    let mut frame = Vec::with_capacity(2 + body.len());
    frame.extend_from_slice(&(body.len() as u16).to_be_bytes());
    frame.extend_from_slice(&body);
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("connect {server}: {e}"))?;
    stream
        .write_all(&frame)
        .await
        .map_err(|e| format!("send to {server}: {e}"))?;
    let mut names = Vec::new();
    let mut started = false;
    let mut buffer = Vec::new();
    loop {
        let length = stream
            .read_u16()
            .await
            .map_err(|e| format!("{server} closed the transfer early: {e}"))?
            as usize;
        buffer.resize(length, 0);
        stream
            .read_exact(&mut buffer)
            .await
            .map_err(|e| format!("{server} closed the transfer early: {e}"))?;
        let message = Message::from_vec(&buffer).map_err(|e| format!("malformed answer: {e}"))?;
        if message.metadata.id != id || message.metadata.message_type != MessageType::Response {
            return Err("an answer to another question".into());
        }
        match message.metadata.response_code {
            ResponseCode::NoError => {}
            ResponseCode::Refused | ResponseCode::NotAuth => {
                return Err(format!(
                    "{server} refuses the transfer ({})",
                    message.metadata.response_code
                ));
            }
            other => return Err(format!("{server} answered {other}")),
        }
        if !started && message.answers.is_empty() {
            return Err(format!("{server} sent an empty transfer"));
        }
        for record in message.answers {
            let is_soa = record.record_type() == RecordType::SOA;
            if !started {
                if !is_soa || record.name != *zone {
                    return Err(format!(
                        "the transfer does not start with the SOA of {zone}"
                    ));
                }
                started = true;
            } else if is_soa {
                return Ok(names);
            }
            if names.len() >= MAX_TRANSFER_RECORDS {
                return Err(format!("more than {MAX_TRANSFER_RECORDS} records"));
            }
            names.push(record);
        }
    }
}

/// Where a discovered host name was learnt, as stored and shown:
/// `zone-file:PATH`, `list:PATH`, `axfr:ZONE` or `link`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiscoverySource {
    /// A BIND zone file, by its path.
    ZoneFile(String),
    /// A list of host names (e.g. a certificate-transparency export).
    List(String),
    /// A zone transfer of the zone.
    Axfr(String),
    /// A link on a live site's page.
    Link,
}

impl std::fmt::Display for DiscoverySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoverySource::ZoneFile(path) => write!(f, "zone-file:{path}"),
            DiscoverySource::List(path) => write!(f, "list:{path}"),
            DiscoverySource::Axfr(zone) => write!(f, "axfr:{zone}"),
            DiscoverySource::Link => f.write_str("link"),
        }
    }
}

impl std::str::FromStr for DiscoverySource {
    type Err = String;

    fn from_str(s: &str) -> Result<DiscoverySource, String> {
        if s == "link" {
            return Ok(DiscoverySource::Link);
        }
        match s.split_once(':') {
            Some(("zone-file", path)) => Ok(DiscoverySource::ZoneFile(path.to_string())),
            Some(("list", path)) => Ok(DiscoverySource::List(path.to_string())),
            Some(("axfr", zone)) => Ok(DiscoverySource::Axfr(zone.to_string())),
            _ => Err(format!("`{s}` is not a discovery source")),
        }
    }
}

impl serde::Serialize for DiscoverySource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
