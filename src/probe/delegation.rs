//! Delegations: for a host name, the zone it lives in (the zone cut), the
//! name servers the zone is delegated to, and whether each of them serves
//! the zone when asked directly with recursion off: it serves it, it is
//! lame (REFUSED, SERVFAIL, no SOA), its host name does not exist, or it
//! does not answer. Also whether the zone answers every name (a wildcard),
//! which later rules use to avoid false alarms.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, FirstAnswer};
use hickory_net::{DnsError, NetError};
use hickory_proto::op::{DnsRequestOptions, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde::{Deserialize, Serialize};

use super::dns::{DnsOutcome, DnsProbe, fqdn};
use crate::registry::Hostname;

/// How one name server of a zone behaves when asked for the zone's SOA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ServerStatus {
    /// Answers authoritatively with the zone's SOA.
    Serves { serial: u32 },
    /// Answers, but not for the zone: REFUSED, SERVFAIL, no SOA, not
    /// authoritative, or a referral elsewhere.
    Lame { reason: String },
    /// The name server's host name does not exist (NXDOMAIN): whoever
    /// registers its domain controls the zone.
    NoAddress,
    /// No answer from this address within the time limit.
    Unreachable { reason: String },
    /// The name server's address could not be looked up (a failure to
    /// measure, not a fact about the server).
    Unknown { reason: String },
}

impl ServerStatus {
    /// Whether this is a fact about the server rather than a failure to
    /// measure. A server that does not answer may only be filtered from
    /// here: a lame server, or a name server that does not exist, is a fact.
    pub fn is_conclusive(&self) -> bool {
        !matches!(
            self,
            ServerStatus::Unknown { .. } | ServerStatus::Unreachable { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCheck {
    /// The name server's host name.
    pub name: String,
    pub address: Option<IpAddr>,
    #[serde(flatten)]
    pub status: ServerStatus,
}

/// A zone and what its name servers said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub zone: String,
    pub nameservers: Vec<String>,
    pub servers: Vec<ServerCheck>,
    /// Whether a random name under the zone resolves; `None` when the
    /// question could not be answered.
    pub wildcard: Option<bool>,
    /// The addresses a random name resolves to when the zone has a
    /// wildcard: a host name that resolves to just these may exist only
    /// through the wildcard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wildcard_addresses: Vec<IpAddr>,
    /// The same question at each level between the host name and the
    /// zone's apex, the host's parent first (`*.bm.example.gov.cn` is a
    /// wildcard one label down); empty when the host's parent is the apex.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<WildcardLevel>,
}

/// Whether a random name under `parent` resolves, and to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WildcardLevel {
    pub parent: String,
    /// `None` when the question could not be answered.
    pub wildcard: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<IpAddr>,
}

impl Delegation {
    /// What a name that does not exist next to the host name resolves
    /// to: the nearest level's wildcard (the host's parent's, else the
    /// apex's). `(None, _)` when that could not be told.
    pub fn nearest_wildcard(&self) -> (Option<bool>, &[IpAddr]) {
        match self.levels.first() {
            Some(level) => (level.wildcard, &level.addresses),
            None => (self.wildcard, &self.wildcard_addresses),
        }
    }
}

/// What is learnt about a zone once per cycle: its servers and wildcard.
#[derive(Debug, Clone)]
struct ZoneFacts {
    servers: Vec<ServerCheck>,
    wildcard: Option<bool>,
    wildcard_addresses: Vec<IpAddr>,
}

/// Zones already checked in this cycle, so that a zone with a thousand
/// host names has its name servers asked once, not a thousand times.
#[derive(Debug, Default)]
pub struct ZoneCache {
    zones: Cells<ZoneFacts>,
    /// Wildcards below zone apexes, by the parent name asked about.
    levels: Cells<(Option<bool>, Vec<IpAddr>)>,
}

/// What is learnt once per name per cycle, by whichever host asks first.
type Cells<T> =
    std::sync::Mutex<std::collections::HashMap<Name, std::sync::Arc<tokio::sync::OnceCell<T>>>>;

/// The zone a host name is in, and its name servers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZoneCut {
    zone: Name,
    nameservers: Vec<Name>,
}

fn show(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Sends one question through a client whose background task runs only
/// for this exchange.
async fn exchange<B>(
    client: Client<TokioRuntimeProvider>,
    background: B,
    query: Query,
    options: DnsRequestOptions,
) -> Result<Message, NetError>
where
    B: std::future::Future + Send + 'static,
    B::Output: Send + 'static,
{
    let background = tokio::spawn(background);
    let response = client.lookup(query, options).first_answer().await;
    drop(client);
    background.abort();
    Ok(response?.into_message())
}

/// Asks `server` one question with recursion off (UDP, then TCP when the
/// answer is truncated). Err: the server did not answer.
async fn ask_directly(
    server: SocketAddr,
    name: &Name,
    kind: RecordType,
    timeout: Duration,
) -> Result<Message, NetError> {
    let mut options = DnsRequestOptions::default();
    options.recursion_desired = false;
    let query = Query::query(name.clone(), kind);
    let provider = TokioRuntimeProvider::default();
    let udp = UdpClientStream::builder(server, provider.clone())
        .with_timeout(Some(timeout))
        .build();
    let (client, background) = Client::<TokioRuntimeProvider>::from_sender(udp);
    let message = exchange(client, background, query.clone(), options).await?;
    if !message.metadata.truncation {
        return Ok(message);
    }
    let (connect, sender) = TcpClientStream::new(server, None, Some(timeout), provider);
    let stream = tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| NetError::Timeout)??;
    let (client, background) =
        Client::<TokioRuntimeProvider>::with_timeout(stream, sender, timeout);
    exchange(client, background, query, options).await
}

fn server_status(zone: &Name, result: Result<Message, NetError>) -> ServerStatus {
    let message = match result {
        Ok(message) => message,
        Err(NetError::Timeout) => {
            return ServerStatus::Unreachable {
                reason: "no answer (timeout)".into(),
            };
        }
        Err(e) => {
            return ServerStatus::Unreachable {
                reason: super::words::dns_error(&e),
            };
        }
    };
    let lame = |reason: &str| ServerStatus::Lame {
        reason: reason.to_string(),
    };
    let message = &message;
    match message.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::Refused => return lame("refused"),
        ResponseCode::ServFail => return lame("servfail"),
        other => return lame(&format!("response code {other}")),
    }
    let serial = message.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if &r.name == zone => Some(soa.serial),
        _ => None,
    });
    match serial {
        Some(serial) if message.metadata.authoritative => ServerStatus::Serves { serial },
        Some(_) => lame("answers without authority"),
        None if message
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NS) =>
        {
            lame("refers elsewhere")
        }
        None => lame("no SOA for the zone"),
    }
}

/// Name servers named in a referral's authority section.
fn referral(message: &Message) -> Option<ZoneCut> {
    deepest_cut(
        message
            .authorities
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some((r.name.clone(), ns.0.clone())),
                _ => None,
            })
            .collect(),
    )
}

/// The zone cut a set of (owner, name server) NS records describes: the
/// deepest owner. An authority section may also carry the parent apex's
/// NS records, which are not the delegation.
fn deepest_cut(records: Vec<(Name, Name)>) -> Option<ZoneCut> {
    let zone = records
        .iter()
        .map(|(owner, _)| owner)
        .max_by_key(|owner| owner.num_labels())?
        .clone();
    Some(ZoneCut {
        nameservers: records
            .into_iter()
            .filter(|(owner, _)| owner == &zone)
            .map(|(_, server)| server)
            .collect(),
        zone,
    })
}

impl DnsProbe {
    /// The zone a host name is in and that zone's delegation, each name
    /// server asked directly for the zone's SOA.
    pub async fn delegation(&self, host: &Hostname) -> Result<Delegation, String> {
        self.delegation_in(host, &ZoneCache::default()).await
    }

    /// As [`DnsProbe::delegation`], asking each zone's servers once per
    /// `cache`.
    pub async fn delegation_in(
        &self,
        host: &Hostname,
        cache: &ZoneCache,
    ) -> Result<Delegation, String> {
        let cut = self.zone_cut(&fqdn(host.as_str())).await?;
        let cell = {
            let mut zones = cache.zones.lock().unwrap_or_else(|e| e.into_inner());
            zones.entry(cut.zone.clone()).or_default().clone()
        };
        // The name servers are asked together, and with the wildcard: a
        // zone with several silent servers costs one timeout, not one per
        // server.
        let facts = async {
            cell.get_or_init(|| async {
                let checks = cut
                    .nameservers
                    .iter()
                    .map(|server| self.check_server(&cut.zone, server));
                let (servers, (wildcard, wildcard_addresses)) = tokio::join!(
                    futures_util::future::join_all(checks),
                    self.wildcard(&cut.zone)
                );
                ZoneFacts {
                    servers: servers.into_iter().flatten().collect(),
                    wildcard,
                    wildcard_addresses,
                }
            })
            .await
            .clone()
        };
        let (facts, levels) = tokio::join!(facts, self.levels(host, &cut.zone, cache));
        Ok(Delegation {
            zone: show(&cut.zone),
            nameservers: cut.nameservers.iter().map(show).collect(),
            servers: facts.servers,
            wildcard: facts.wildcard,
            wildcard_addresses: facts.wildcard_addresses,
            levels,
        })
    }

    /// The wildcards between `host` and its zone's apex, the host's parent
    /// first; each level asked once per `cache`.
    async fn levels(&self, host: &Hostname, zone: &Name, cache: &ZoneCache) -> Vec<WildcardLevel> {
        let mut parents = Vec::new();
        let mut parent = fqdn(host.as_str()).base_name();
        while parent.num_labels() > zone.num_labels() && zone.zone_of(&parent) {
            parents.push(parent.clone());
            parent = parent.base_name();
        }
        let asks = parents.into_iter().map(|parent| async move {
            let cell = {
                let mut levels = cache.levels.lock().unwrap_or_else(|e| e.into_inner());
                levels.entry(parent.clone()).or_default().clone()
            };
            let (wildcard, addresses) = cell.get_or_init(|| self.wildcard(&parent)).await.clone();
            WildcardLevel {
                parent: show(&parent),
                wildcard,
                addresses,
            }
        });
        futures_util::future::join_all(asks).await
    }

    /// Finds the zone cut through the resolver: the SOA's owner, or the
    /// zone a referral names. When the resolver cannot answer (a lame
    /// delegation makes a recursive resolver answer SERVFAIL), walks up to
    /// the nearest ancestor zone that answers and asks its servers
    /// directly where the name is delegated.
    async fn zone_cut(&self, name: &Name) -> Result<ZoneCut, String> {
        match self.soa_owner(name).await {
            Ok(Some(cut)) => return Ok(cut),
            Ok(None) => {}
            Err(reason) => {
                let mut ancestor = name.base_name();
                while ancestor.num_labels() >= 2 {
                    if let Ok(Some(parent)) = self.soa_owner(&ancestor).await {
                        return self.ask_parent(&parent, name).await.ok_or(reason);
                    }
                    ancestor = ancestor.base_name();
                }
                return Err(reason);
            }
        }
        Err(format!("no zone found for {}", show(name)))
    }

    /// The zone containing `name`, with its name servers, or `Ok(None)`
    /// when the answer names none; `Err` when the resolver failed.
    async fn soa_owner(&self, name: &Name) -> Result<Option<ZoneCut>, String> {
        let zone = match self.resolver().lookup(name.clone(), RecordType::SOA).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .find(|r| r.record_type() == RecordType::SOA)
                .map(|r| r.name.clone()),
            Err(NetError::Dns(DnsError::NoRecordsFound(records))) => {
                if let Some(soa) = &records.soa {
                    Some(soa.name.clone())
                } else if let Some(ns) = &records.ns {
                    let records: Vec<(Name, Name)> = ns
                        .iter()
                        .filter_map(|f| match &f.ns.data {
                            RData::NS(server) => Some((f.ns.name.clone(), server.0.clone())),
                            _ => None,
                        })
                        .collect();
                    return Ok(deepest_cut(records));
                } else {
                    None
                }
            }
            Err(e) => {
                return Err(format!(
                    "the resolver could not answer: {}",
                    super::words::dns_error(&e)
                ));
            }
        };
        let Some(zone) = zone else { return Ok(None) };
        let nameservers = self.nameservers(&zone).await?;
        Ok(Some(ZoneCut { zone, nameservers }))
    }

    async fn nameservers(&self, zone: &Name) -> Result<Vec<Name>, String> {
        match self.resolver().lookup(zone.clone(), RecordType::NS).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(ns) if &r.name == zone => Some(ns.0.clone()),
                    _ => None,
                })
                .collect()),
            Err(NetError::Dns(DnsError::NoRecordsFound(records))) => Ok(records
                .ns
                .iter()
                .flat_map(|ns| ns.iter())
                .filter_map(|f| match &f.ns.data {
                    RData::NS(server) if &f.ns.name == zone => Some(server.0.clone()),
                    _ => None,
                })
                .collect()),
            Err(e) => Err(format!(
                "cannot list the name servers of {}: {}",
                show(zone),
                super::words::dns_error(&e)
            )),
        }
    }

    /// Asks the parent zone's own servers where `name` is delegated.
    async fn ask_parent(&self, parent: &ZoneCut, name: &Name) -> Option<ZoneCut> {
        for server in &parent.nameservers {
            for address in self.addresses_of(server).await.ok()? {
                let target = SocketAddr::new(address, self.authoritative_port());
                if let Ok(message) =
                    ask_directly(target, name, RecordType::SOA, self.timeout()).await
                    && let Some(cut) = referral(&message)
                {
                    return Some(cut);
                }
            }
        }
        None
    }

    async fn addresses_of(&self, server: &Name) -> Result<Vec<IpAddr>, ServerStatus> {
        let Ok(host) = show(server).parse::<Hostname>() else {
            return Err(ServerStatus::Unknown {
                reason: format!("{} is not a host name", show(server)),
            });
        };
        let dns = self.host(&host).await;
        let addresses = dns.addresses();
        if !addresses.is_empty() {
            return Ok(addresses);
        }
        match (&dns.a, &dns.aaaa) {
            (DnsOutcome::NxDomain { .. }, DnsOutcome::NxDomain { .. }) => {
                Err(ServerStatus::NoAddress)
            }
            (a, aaaa) if a.is_conclusive() && aaaa.is_conclusive() => Err(ServerStatus::Lame {
                reason: "the name server's host name has no address".into(),
            }),
            (a, _) => Err(ServerStatus::Unknown {
                reason: format!("looking up the name server failed: {}", a.name()),
            }),
        }
    }

    async fn check_server(&self, zone: &Name, server: &Name) -> Vec<ServerCheck> {
        match self.addresses_of(server).await {
            Err(status) => vec![ServerCheck {
                name: show(server),
                address: None,
                status,
            }],
            Ok(addresses) => {
                let asks = addresses.into_iter().map(|address| async move {
                    let target = SocketAddr::new(address, self.authoritative_port());
                    let result = ask_directly(target, zone, RecordType::SOA, self.timeout()).await;
                    ServerCheck {
                        name: show(server),
                        address: Some(address),
                        status: server_status(zone, result),
                    }
                });
                futures_util::future::join_all(asks).await
            }
        }
    }

    /// Whether a random label under `zone` (a zone's apex, or a name
    /// within one) resolves.
    async fn wildcard(&self, zone: &Name) -> (Option<bool>, Vec<IpAddr>) {
        let label = format!("sw-{:016x}", rand_label());
        let Some(probe) = Name::from_ascii(&label)
            .ok()
            .and_then(|label| label.append_domain(zone).ok())
        else {
            return (None, Vec::new());
        };
        match self.ask(&probe, RecordType::A).await.0 {
            answer @ DnsOutcome::Answer { .. } => {
                let mut addresses = answer.addresses();
                addresses.extend(self.ask(&probe, RecordType::AAAA).await.0.addresses());
                (Some(true), addresses)
            }
            DnsOutcome::NoData => (Some(true), Vec::new()),
            DnsOutcome::NxDomain { .. } => (Some(false), Vec::new()),
            _ => (None, Vec::new()),
        }
    }
}

/// A label nobody would register: time-based, distinct per call.
fn rand_label() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
}
