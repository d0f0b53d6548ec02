//! The DNS probe: for a host name, its A and AAAA records and the full
//! CNAME chain, each hop with its TTL, through the configured resolvers
//! (or the system's), with the cache off.
//!
//! Outcomes are kept apart because the findings depend on it: an answer,
//! NODATA (the name exists, no record of the type), NXDOMAIN, SERVFAIL,
//! REFUSED, a timeout, or another failure to measure. A timeout or a
//! SERVFAIL is never recorded as NXDOMAIN.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::{DnsError, NetError, NoRecords};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ServerOrderingStrategy,
};
use hickory_resolver::lookup::Lookup;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::registry::Hostname;

/// The longest CNAME chain followed; longer ones are loops or abuse.
pub const MAX_CNAME_HOPS: usize = 12;

#[derive(Debug, Error)]
pub enum DnsSetupError {
    #[error("resolver nameserver `{0}` is not ip:port")]
    BadNameserver(String),
    #[error("cannot read the system resolver configuration: {0}")]
    System(String),
    #[error("cannot build the resolver: {0}")]
    Build(String),
}

/// How to reach the resolvers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Empty: the system's resolvers (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
    /// Tries after the first.
    pub attempts: usize,
    /// The port delegated name servers are asked on (53).
    pub authoritative_port: u16,
}

impl ResolverSettings {
    pub fn from_config(config: &crate::config::ResolverConfig) -> Result<Self, DnsSetupError> {
        let nameservers = config
            .nameservers
            .iter()
            .map(|s| {
                SocketAddr::from_str(s.trim())
                    .or_else(|_| IpAddr::from_str(s.trim()).map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| DnsSetupError::BadNameserver(s.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ResolverSettings {
            nameservers,
            timeout: Duration::from_millis(config.timeout_ms),
            attempts: config.attempts as usize,
            authoritative_port: config.authoritative_port,
        })
    }
}

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub name: String,
    pub ttl: u32,
    pub value: String,
}

/// The outcome of one DNS question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DnsOutcome {
    /// Records of the type asked, owned by the end of the CNAME chain.
    Answer {
        records: Vec<DnsRecord>,
    },
    /// The name exists and has no record of this type.
    #[serde(rename = "nodata")]
    NoData,
    /// `name` does not exist: the name asked, or, when they differ, the
    /// target at the end of a CNAME chain (a dangling CNAME).
    #[serde(rename = "nxdomain")]
    NxDomain {
        name: String,
    },
    #[serde(rename = "servfail")]
    ServFail,
    Refused,
    /// No answer within the resolver's time limit, every try.
    Timeout,
    /// Anything else that kept the question from being answered: no
    /// usable connection, a truncated answer with no TCP, a malformed
    /// response.
    Failed {
        reason: String,
    },
}

impl DnsOutcome {
    /// An answer, NODATA and NXDOMAIN are facts about the name; the rest
    /// say only that the measurement failed.
    pub fn is_conclusive(&self) -> bool {
        matches!(
            self,
            DnsOutcome::Answer { .. } | DnsOutcome::NoData | DnsOutcome::NxDomain { .. }
        )
    }

    /// The outcome's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            DnsOutcome::Answer { .. } => "answer",
            DnsOutcome::NoData => "nodata",
            DnsOutcome::NxDomain { .. } => "nxdomain",
            DnsOutcome::ServFail => "servfail",
            DnsOutcome::Refused => "refused",
            DnsOutcome::Timeout => "timeout",
            DnsOutcome::Failed { .. } => "failed",
        }
    }

    pub fn addresses(&self) -> Vec<IpAddr> {
        match self {
            DnsOutcome::Answer { records } => records
                .iter()
                .filter_map(|r| r.value.parse::<IpAddr>().ok())
                .filter(|ip| match ip {
                    // An IPv4-mapped IPv6 address is no IPv6 support.
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().is_none(),
                    IpAddr::V4(_) => true,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// One hop of a CNAME chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnameHop {
    pub name: String,
    pub target: String,
    pub ttl: u32,
}

/// What DNS says about one host name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDns {
    pub host: Hostname,
    /// Every CNAME hop from the host name, in order.
    pub cname_chain: Vec<CnameHop>,
    pub a: DnsOutcome,
    pub aaaa: DnsOutcome,
    /// When the chain ends in NXDOMAIN: the target's registrable domain
    /// (Public Suffix List) and whether it is NXDOMAIN too, so that anyone
    /// could register it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrable: Option<RegistrableCheck>,
}

/// Whether a dangling CNAME target's registrable domain exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrableCheck {
    pub domain: String,
    /// The registrable domain itself is NXDOMAIN: nobody holds it.
    pub unregistered: bool,
}

impl HostDns {
    /// The addresses the host name resolves to, IPv4 first.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut addresses = self.a.addresses();
        addresses.extend(self.aaaa.addresses());
        addresses
    }

    /// Where the chain ends: the host name itself without CNAMEs.
    pub fn canonical_name(&self) -> &str {
        self.cname_chain
            .last()
            .map(|hop| hop.target.as_str())
            .unwrap_or(self.host.as_str())
    }

    /// The CNAME target the chain ends at, when it is NXDOMAIN.
    pub fn dangling_target(&self) -> Option<&str> {
        let target = self.canonical_name();
        let nx = |outcome: &DnsOutcome| matches!(outcome, DnsOutcome::NxDomain { name } if name == target);
        (!self.cname_chain.is_empty() && (nx(&self.a) || nx(&self.aaaa))).then_some(target)
    }

    /// Whether both questions were answered with a fact about the name.
    pub fn is_conclusive(&self) -> bool {
        self.a.is_conclusive() && self.aaaa.is_conclusive()
    }
}

/// A fully qualified name for a host name, so no search list applies.
pub fn fqdn(name: &str) -> Name {
    let mut name = Name::from_ascii(name).unwrap_or_else(|_| Name::root());
    name.set_fqdn(true);
    name
}

fn show(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// The DNS probe: one resolver, shared by every lookup of a cycle.
#[derive(Clone)]
pub struct DnsProbe {
    /// Questions asked, for the benchmark's counters.
    questions: Arc<AtomicU64>,
    resolver: TokioResolver,
    timeout: Duration,
    authoritative_port: u16,
}

impl std::fmt::Debug for DnsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsProbe").finish_non_exhaustive()
    }
}

impl DnsProbe {
    pub fn new(settings: &ResolverSettings) -> Result<DnsProbe, DnsSetupError> {
        let config = if settings.nameservers.is_empty() {
            let (config, _) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| DnsSetupError::System(e.to_string()))?;
            ResolverConfig::from_name_servers(config.name_servers().to_vec())
        } else {
            ResolverConfig::from_name_servers(
                settings
                    .nameservers
                    .iter()
                    .map(|server| {
                        let mut udp = ConnectionConfig::udp();
                        udp.port = server.port();
                        let mut tcp = ConnectionConfig::tcp();
                        tcp.port = server.port();
                        // A negative answer from a configured resolver is
                        // final: asking the next one would not change it.
                        NameServerConfig::new(server.ip(), true, vec![udp, tcp])
                    })
                    .collect(),
            )
        };
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        let options = builder.options_mut();
        // Every probe must see the zone as it is now.
        options.cache_size = 0;
        options.timeout = settings.timeout;
        options.attempts = settings.attempts;
        options.use_hosts_file = ResolveHosts::Never;
        options.ndots = 0;
        options.preserve_intermediates = true;
        options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
        let resolver = builder
            .build()
            .map_err(|e| DnsSetupError::Build(e.to_string()))?;
        Ok(DnsProbe {
            questions: Arc::new(AtomicU64::new(0)),
            resolver,
            timeout: settings.timeout,
            authoritative_port: settings.authoritative_port,
        })
    }

    pub(crate) fn resolver(&self) -> &TokioResolver {
        self.questions.fetch_add(1, Ordering::Relaxed);
        &self.resolver
    }

    /// How many questions this probe (and its clones) asked the resolver.
    pub fn questions(&self) -> u64 {
        self.questions.load(Ordering::Relaxed)
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn authoritative_port(&self) -> u16 {
        self.authoritative_port
    }

    /// Asks one question and classifies the answer; returns the CNAME hops
    /// the answer carried.
    pub async fn ask(&self, name: &Name, kind: RecordType) -> (DnsOutcome, Vec<CnameHop>) {
        classify(name, kind, self.resolver().lookup(name.clone(), kind).await)
    }

    /// A, AAAA and the CNAME chain of a host name.
    pub async fn host(&self, host: &Hostname) -> HostDns {
        let name = fqdn(host.as_str());
        let ((a, chain_a), (aaaa, chain_aaaa)) = tokio::join!(
            self.ask(&name, RecordType::A),
            self.ask(&name, RecordType::AAAA)
        );
        let mut chain = if chain_a.len() >= chain_aaaa.len() {
            chain_a
        } else {
            chain_aaaa
        };
        // A negative answer reached through CNAMEs carries no CNAME
        // records: walk the chain hop by hop to show where it dangles.
        let ends_elsewhere = |outcome: &DnsOutcome| match outcome {
            DnsOutcome::NxDomain { name } => name != host.as_str(),
            _ => false,
        };
        if chain.is_empty() && (ends_elsewhere(&a) || ends_elsewhere(&aaaa)) {
            chain = self.walk_cnames(&name).await;
        }
        HostDns {
            host: host.clone(),
            cname_chain: chain,
            a,
            aaaa,
            registrable: None,
        }
    }

    /// Follows CNAMEs one question at a time.
    async fn walk_cnames(&self, start: &Name) -> Vec<CnameHop> {
        let mut chain: Vec<CnameHop> = Vec::new();
        let mut current = start.clone();
        while chain.len() < MAX_CNAME_HOPS {
            let (outcome, _) = self.ask(&current, RecordType::CNAME).await;
            let DnsOutcome::Answer { records } = outcome else {
                break;
            };
            let Some(record) = records.first() else { break };
            let target = fqdn(&record.value);
            if chain.iter().any(|hop| hop.name == record.value) {
                break; // a loop
            }
            chain.push(CnameHop {
                name: show(&current),
                target: record.value.clone(),
                ttl: record.ttl,
            });
            current = target;
        }
        chain
    }
}

/// Maps hickory's result to an outcome, and the CNAME hops it carried.
pub fn classify(
    name: &Name,
    kind: RecordType,
    result: Result<Lookup, NetError>,
) -> (DnsOutcome, Vec<CnameHop>) {
    match result {
        Ok(lookup) => answer(name, kind, &lookup),
        Err(NetError::Dns(DnsError::NoRecordsFound(records))) => (no_records(&records), Vec::new()),
        Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))) => {
            (DnsOutcome::ServFail, Vec::new())
        }
        Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))) => {
            (DnsOutcome::Refused, Vec::new())
        }
        Err(NetError::Timeout) => (DnsOutcome::Timeout, Vec::new()),
        Err(other) => (
            DnsOutcome::Failed {
                reason: super::words::dns_error(&other),
            },
            Vec::new(),
        ),
    }
}

fn no_records(records: &NoRecords) -> DnsOutcome {
    match records.response_code {
        ResponseCode::NXDomain => DnsOutcome::NxDomain {
            name: show(records.query.name()),
        },
        // NOERROR with an SOA: the name exists without this type. With
        // only NS records it is a referral a resolver should have followed:
        // a failure to measure, not a fact.
        ResponseCode::NoError if records.soa.is_none() && records.ns.is_some() => {
            DnsOutcome::Failed {
                reason: "the resolver answered with a referral instead of resolving".into(),
            }
        }
        ResponseCode::NoError => DnsOutcome::NoData,
        other => DnsOutcome::Failed {
            reason: format!("response code {other}"),
        },
    }
}

fn answer(name: &Name, kind: RecordType, lookup: &Lookup) -> (DnsOutcome, Vec<CnameHop>) {
    let answers = lookup.answers();
    let mut chain = Vec::new();
    let mut current = name.clone();
    if kind != RecordType::CNAME {
        while let Some(record) = answers
            .iter()
            .find(|r| r.name == current && r.record_type() == RecordType::CNAME)
        {
            let RData::CNAME(target) = &record.data else {
                break;
            };
            chain.push(CnameHop {
                name: show(&current),
                target: show(&target.0),
                ttl: record.ttl,
            });
            current = target.0.clone();
            if chain.len() >= MAX_CNAME_HOPS {
                break;
            }
        }
    }
    let records: Vec<DnsRecord> = answers
        .iter()
        .filter(|r| r.record_type() == kind && r.name == current)
        .map(|r| DnsRecord {
            name: show(&r.name),
            ttl: r.ttl,
            value: match &r.data {
                RData::A(a) => a.0.to_string(),
                RData::AAAA(aaaa) => aaaa.0.to_string(),
                RData::CNAME(target) => show(&target.0),
                RData::NS(ns) => show(&ns.0),
                other => other.to_string(),
            },
        })
        .collect();
    if records.is_empty() {
        // The chain ends in a name with no record of this type.
        (DnsOutcome::NoData, chain)
    } else {
        (DnsOutcome::Answer { records }, chain)
    }
}
