//! Running the probes: for each host name, DNS and the delegation, then for
//! each address the TLS handshake and the homepage, all under one bounded
//! concurrency limit and a per-host deadline, so that no host can hang a
//! cycle. Returns observations; storing them is the caller's business.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::delegation::ZoneCache;
use super::dns::{DnsProbe, DnsSetupError, ResolverSettings};
use super::http::{PageChecks, PageProbe, PageSettings};
use super::tls::{TlsProbe, TlsSetupError};
use super::{AddressLimit, DelegationResult, Observation, ObservationData};
use crate::config::Config;
use crate::policy::Policy;
use crate::policy::takeover::Takeover;
use crate::registry::Hostname;

/// Pages sampled per level for IPv6 connectivity, when no policy says.
pub const IPV6_SAMPLE: usize = 10;

/// The inspection threshold for "loads" when no policy says: 15 seconds.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(15);

/// A host name to probe, and the names its pages should mention (the
/// registered site name and organizer), to tell a tampered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Hostname,
    pub names: Vec<String>,
}

impl From<Hostname> for Target {
    fn from(host: Hostname) -> Target {
        Target {
            host,
            names: Vec::new(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ProbeSetupError {
    #[error(transparent)]
    Dns(#[from] DnsSetupError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// Which probes to run on a host name (not to be confused with a
/// finding's scope, the subject whose findings a round judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probes {
    pub delegation: bool,
    pub tls: bool,
    pub page: bool,
    /// IPv6 reachability of inner pages (about 40 fetches a host).
    pub ipv6: bool,
}

impl Probes {
    pub const ALL: Probes = Probes {
        delegation: true,
        tls: true,
        page: true,
        ipv6: true,
    };
    pub const DNS_ONLY: Probes = Probes {
        delegation: false,
        tls: false,
        page: false,
        ipv6: false,
    };
}

/// Every probe, configured once and shared by a cycle.
#[derive(Debug, Clone)]
pub struct Prober {
    pub dns: DnsProbe,
    pub tls: TlsProbe,
    pub pages: PageProbe,
    https_port: u16,
    http_port: u16,
    host_deadline: Duration,
    limit: Arc<Semaphore>,
    takeover: Arc<Takeover>,
    ipv6_sample: usize,
    suffixes: Option<Arc<publicsuffix::List>>,
    /// Once cancelled, no new host is started; those in flight finish.
    stop: CancellationToken,
    /// Told of each host name and feed as it finishes (the metrics).
    tally: Option<Arc<dyn Tally>>,
}

/// What hears of every host name and feed probed, with how long it took
/// (the daemon's metrics): called once per target, so it must be cheap.
pub trait Tally: std::fmt::Debug + Send + Sync {
    /// `target`: `host` (every probe of one host name) or `feed`.
    fn probed(&self, target: &'static str, observations: &[Observation], elapsed: Duration);
}

impl Prober {
    /// The probes as the configuration and the policy set them: the page
    /// deadline, the IPv6 sample, prohibited terms and takeover
    /// fingerprints come from policy.
    pub fn from_config(config: &Config, policy: &Policy) -> Result<Prober, ProbeSetupError> {
        let dns = DnsProbe::new(&ResolverSettings::from_config(&config.resolver)?)?;
        let page_deadline = Duration::from_secs(policy.thresholds.page_deadline_secs);
        // A handshake gets at most a third of the host's budget, so that a
        // blackholed address still leaves time for the HTTP fallback and
        // its outcome is kept rather than lost to the host deadline.
        let handshake = (Duration::from_millis(config.probe.deadline_ms) / 3)
            .min(page_deadline)
            .max(Duration::from_secs(1));
        // One limit on connections per address for every probe.
        let limit = AddressLimit::new(config.probe.per_address_connections.get());
        let tls = TlsProbe::new(&config.probe.extra_roots, handshake)?.with_limit(limit.clone());
        let pages = PageProbe::new(PageSettings {
            deadline: page_deadline,
            max_redirects: 5,
            https_port: config.probe.https_port,
            http_port: config.probe.http_port,
            prohibited: policy.prohibited_terms.clone(),
            user_agent: super::http::user_agent(&config.probe.contact),
            limit,
        });
        Ok(Prober::new(
            dns,
            tls,
            pages,
            (config.probe.https_port, config.probe.http_port),
            Duration::from_millis(config.probe.deadline_ms),
            config.probe.concurrency,
        )
        .with_policy(policy))
    }

    /// The same probes, starting no new host once `stop` is cancelled
    /// (the hosts in flight finish).
    pub fn stopping_on(&self, stop: CancellationToken) -> Prober {
        Prober {
            stop,
            ..self.clone()
        }
    }

    /// The same probes, telling `tally` of each target as it finishes.
    pub fn with_tally(mut self, tally: Arc<dyn Tally>) -> Prober {
        self.tally = Some(tally);
        self
    }

    /// Takes the takeover fingerprints and the IPv6 sample from `policy`.
    pub fn with_policy(mut self, policy: &Policy) -> Prober {
        self.takeover = Arc::new(policy.takeover.clone());
        self.ipv6_sample = policy.thresholds.ipv6_sample;
        self.suffixes = Some(policy.suffixes.clone());
        self
    }

    /// For a CNAME target that is NXDOMAIN: whether its registrable domain
    /// is NXDOMAIN too (anyone might register it). Only a domain under a
    /// suffix the ICANN section of the Public Suffix List knows can be
    /// registered by anyone: under a private suffix (`cloudfront.net`,
    /// `github.io`) the name belongs to the service, and under an unknown
    /// TLD nobody sells names. `None` when that could not be told.
    async fn registrable(&self, target: &str) -> Option<super::dns::RegistrableCheck> {
        use publicsuffix::Psl;
        let suffixes = self.suffixes.as_ref()?;
        let found = suffixes.domain(target.as_bytes())?;
        let domain = std::str::from_utf8(found.as_bytes()).ok()?.to_string();
        let suffix = found.suffix();
        if !suffix.is_known() || suffix.typ() != Some(publicsuffix::Type::Icann) {
            return Some(super::dns::RegistrableCheck {
                domain,
                unregistered: false,
            });
        }
        if domain == target {
            return Some(super::dns::RegistrableCheck {
                domain,
                unregistered: true,
            });
        }
        let host: Hostname = domain.parse().ok()?;
        let dns = self.dns.host(&host).await;
        let unregistered = match (&dns.a, &dns.aaaa) {
            (super::dns::DnsOutcome::NxDomain { name }, _) if *name == domain => true,
            (a, aaaa) if a.is_conclusive() && aaaa.is_conclusive() => false,
            _ => return None,
        };
        Some(super::dns::RegistrableCheck {
            domain,
            unregistered,
        })
    }

    pub fn new(
        dns: DnsProbe,
        tls: TlsProbe,
        pages: PageProbe,
        (https_port, http_port): (u16, u16),
        host_deadline: Duration,
        concurrency: usize,
    ) -> Prober {
        Prober {
            dns,
            tls,
            pages,
            https_port,
            http_port,
            host_deadline,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            takeover: Arc::new(Takeover::default()),
            ipv6_sample: IPV6_SAMPLE,
            suffixes: None,
            stop: CancellationToken::new(),
            tally: None,
        }
    }

    /// Everything about one host name, within the per-host deadline.
    pub async fn host(&self, host: &Hostname, probes: Probes) -> Vec<Observation> {
        self.target(&Target::from(host.clone()), probes, &ZoneCache::default())
            .await
    }

    async fn target(&self, target: &Target, probes: Probes, zones: &ZoneCache) -> Vec<Observation> {
        let host = &target.host;
        match tokio::time::timeout(self.host_deadline, self.observe(target, probes, zones)).await {
            Ok(observations) => observations,
            Err(_) => vec![Observation {
                host: host.clone(),
                address: None,
                at: Utc::now(),
                data: ObservationData::Deadline {
                    after_ms: self.host_deadline.as_millis() as u64,
                },
            }],
        }
    }

    async fn observe(
        &self,
        target: &Target,
        probes: Probes,
        zones: &ZoneCache,
    ) -> Vec<Observation> {
        let host = &target.host;
        let at = Utc::now();
        let observation = |address, data| Observation {
            host: host.clone(),
            address,
            at,
            data,
        };
        // The zone's facts have a budget of their own, and nothing else
        // waits for them: a zone whose name servers are silent leaves its
        // delegation unmeasured, never its hosts' pages.
        let zone_budget = self.host_deadline / 2;
        let delegation = async {
            if !probes.delegation {
                return None;
            }
            Some(
                match tokio::time::timeout(zone_budget, self.dns.delegation_in(host, zones)).await {
                    Ok(Ok(found)) => DelegationResult::Found(found),
                    Ok(Err(reason)) => DelegationResult::Failed { reason },
                    Err(_) => DelegationResult::Failed {
                        reason: format!(
                            "the zone's name servers were not all checked within {} ms",
                            zone_budget.as_millis()
                        ),
                    },
                },
            )
        };
        let mut dns = self.dns.host(host).await;
        if let Some(target) = dns.dangling_target().map(str::to_string) {
            dns.registrable = self.registrable(&target).await;
        }
        let addresses = dns.addresses();
        let first_v4 = addresses.iter().find(|a| a.is_ipv4()).copied();
        let first_v6 = addresses.iter().find(|a| a.is_ipv6()).copied();
        // Takeover fingerprints are looked for only where the CNAME chain
        // points at a known service: most hosts pay nothing for them.
        let checks = PageChecks {
            names: target.names.clone(),
            services: if dns.cname_chain.is_empty() {
                Vec::new()
            } else {
                self.takeover
                    .for_target(dns.canonical_name())
                    .cloned()
                    .collect()
            },
        };
        let checks = &checks;
        // IPv6 is measured where the host has both protocols: its ports
        // while the addresses are probed, then its inner pages from the
        // homepages read over the TLS probe's handshakes.
        let dual_stack = match (probes.ipv6, first_v4, first_v6) {
            (true, Some(v4), Some(v6)) => Some((v4, v6)),
            _ => None,
        };
        let service_ports = [self.https_port, self.http_port];
        let ports = async {
            match dual_stack {
                Some((_, v6)) => {
                    super::ipv6::ports_open(v6, &service_ports, Duration::from_secs(5)).await
                }
                None => Vec::new(),
            }
        };
        let mut observations = vec![observation(None, ObservationData::Dns(dns))];
        let per_address = addresses.into_iter().map(|address| async move {
            // One handshake per address serves both the TLS verdict and the
            // page, when both are asked for.
            match (probes.tls, probes.page) {
                (true, true) => {
                    let (tls, stream) = self
                        .tls
                        .probe_and_keep(SocketAddr::new(address, self.https_port), host)
                        .await;
                    let page = self
                        .pages
                        .homepage_over(host, address, stream, checks)
                        .await;
                    (address, Some(tls), Some(page))
                }
                (true, false) => {
                    let tls = self
                        .tls
                        .probe(SocketAddr::new(address, self.https_port), host)
                        .await;
                    (address, Some(tls), None)
                }
                (false, true) => (
                    address,
                    None,
                    Some(self.pages.homepage_checked(host, address, checks).await),
                ),
                (false, false) => (address, None, None),
            }
        });
        let (per_address, ports, delegation) = tokio::join!(
            futures_util::future::join_all(per_address),
            ports,
            delegation
        );
        if let Some(delegation) = delegation {
            observations.push(observation(None, ObservationData::Delegation(delegation)));
        }
        let ipv6 = match dual_stack {
            Some((v4, v6)) => {
                let read = |address: IpAddr| {
                    per_address
                        .iter()
                        .find(|(at, _, _)| *at == address)
                        .and_then(|(_, _, page)| page.as_ref())
                };
                // Sampling inner pages may take long; it gets half of the
                // host's budget and is left out when it runs over, so the
                // rest of the host's observations are kept.
                let measure = async {
                    match (read(v4), read(v6)) {
                        (Some(home_v4), Some(home_v6)) => {
                            super::ipv6::inner_pages(
                                &self.pages,
                                host,
                                v4,
                                v6,
                                ports,
                                home_v4,
                                home_v6,
                                self.ipv6_sample,
                            )
                            .await
                        }
                        // Pages were not asked for: the homepages are read
                        // here, for IPv6 alone.
                        _ => {
                            let (home_v4, home_v6) = tokio::join!(
                                self.pages.homepage(host, v4),
                                self.pages.homepage(host, v6)
                            );
                            super::ipv6::inner_pages(
                                &self.pages,
                                host,
                                v4,
                                v6,
                                ports,
                                &home_v4,
                                &home_v6,
                                self.ipv6_sample,
                            )
                            .await
                        }
                    }
                };
                tokio::time::timeout(self.host_deadline / 2, measure)
                    .await
                    .ok()
            }
            None => None,
        };
        if let Some(reach) = ipv6 {
            observations.push(observation(
                Some(reach.address),
                ObservationData::Ipv6(reach),
            ));
        }
        for (address, tls, page) in per_address {
            if let Some(tls) = tls {
                observations.push(observation(Some(address), ObservationData::Tls(tls)));
            }
            if let Some(page) = page {
                observations.push(observation(Some(address), ObservationData::Page(page)));
            }
        }
        observations
    }

    /// Whether any of `canaries` (host names outside the region that
    /// should always load) loads: its name resolves and its homepage
    /// answers short of a server error, within the page deadline. `Err`
    /// says, for each, why not. Asked of all at once.
    pub async fn canaries(&self, canaries: &[Hostname]) -> Result<Hostname, String> {
        let tries = canaries.iter().map(|host| async move {
            let dns = self.dns.host(host).await;
            let addresses = dns.addresses();
            if addresses.is_empty() {
                return Err(format!(
                    "{host}: does not resolve (A {}, AAAA {})",
                    dns.a.name(),
                    dns.aaaa.name()
                ));
            }
            let mut reasons = Vec::new();
            // IPv4 first: IPv6 may be missing here for reasons of its own.
            let mut ordered = addresses;
            ordered.sort_by_key(|a| a.is_ipv6());
            for address in ordered {
                match self.pages.homepage(host, address).await {
                    super::http::PageOutcome::Loaded { status, .. } if status < 500 => {
                        return Ok(host.clone());
                    }
                    super::http::PageOutcome::Loaded { status, .. } => {
                        reasons.push(format!("{address}: HTTP {status}"));
                    }
                    other => reasons.push(format!("{address}: {}", other.name())),
                }
            }
            Err(format!("{host}: {}", reasons.join(", ")))
        });
        let mut reasons = Vec::new();
        for result in futures_util::future::join_all(tries).await {
            match result {
                Ok(host) => return Ok(host),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(reasons.join("; "))
    }

    /// Polls a new-media account's feed: resolves its host, fetches it
    /// with the page probe's client and limits, and reads the entries'
    /// times. A failure is a failure to measure.
    pub async fn feed(&self, url: &str) -> Option<Observation> {
        use super::feed::{FeedPoll, FeedResult};
        let parsed = url::Url::parse(url).ok()?;
        let host: Hostname = parsed.host_str()?.parse().ok()?;
        let at = Utc::now();
        let dns = self.dns.host(&host).await;
        let mut reasons = Vec::new();
        let mut result = None;
        for address in dns.addresses() {
            match self.pages.document(&parsed, address).await {
                Ok((response, _)) if response.status >= 400 => {
                    reasons.push(format!("{address}: HTTP {}", response.status));
                }
                Ok((response, body)) => {
                    result = Some(
                        match super::feed::read(&body, response.content_type.as_deref(), at) {
                            Ok(read) => FeedResult::Read(read),
                            Err(e) => FeedResult::Failed {
                                reason: e.to_string(),
                            },
                        },
                    );
                    break;
                }
                Err(reason) => reasons.push(format!("{address}: {reason}")),
            }
        }
        let result = result.unwrap_or_else(|| FeedResult::Failed {
            reason: if reasons.is_empty() {
                format!(
                    "{host} does not resolve (A {}, AAAA {})",
                    dns.a.name(),
                    dns.aaaa.name()
                )
            } else {
                reasons.join("; ")
            },
        });
        Some(Observation {
            host,
            address: None,
            at,
            data: ObservationData::Feed(FeedPoll {
                url: url.to_string(),
                result,
            }),
        })
    }

    /// Polls every feed, at most `concurrency` at a time, handing each
    /// poll to `emit` as soon as it is done.
    pub async fn feeds_each(&self, urls: Vec<String>, emit: impl FnMut(Vec<Observation>)) {
        self.bounded(
            urls,
            String::clone,
            |prober, url| async move {
                let started = std::time::Instant::now();
                let observations: Vec<Observation> =
                    tokio::time::timeout(prober.host_deadline, prober.feed(&url))
                        .await
                        .ok()
                        .flatten()
                        .into_iter()
                        .collect();
                if let Some(tally) = &prober.tally {
                    tally.probed("feed", &observations, started.elapsed());
                }
                observations
            },
            |url, message| {
                use super::feed::{FeedPoll, FeedResult};
                let host = url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().and_then(|h| h.parse::<Hostname>().ok()));
                host.map(|host| Observation {
                    host,
                    address: None,
                    at: Utc::now(),
                    data: ObservationData::Feed(FeedPoll {
                        url,
                        result: FeedResult::Failed {
                            reason: format!("the poll failed on our side: {message}"),
                        },
                    }),
                })
                .into_iter()
                .collect()
            },
            emit,
        )
        .await;
    }

    /// Probes every host name, at most `concurrency` at a time.
    pub async fn hosts(&self, hosts: Vec<Hostname>, probes: Probes) -> Vec<Observation> {
        self.targets(hosts.into_iter().map(Target::from).collect(), probes)
            .await
    }

    /// Probes every target, at most `concurrency` at a time; each zone's
    /// delegation is checked once.
    pub async fn targets(&self, targets: Vec<Target>, probes: Probes) -> Vec<Observation> {
        let mut all = Vec::new();
        self.targets_each(targets, probes, |observations| all.extend(observations))
            .await;
        all
    }

    /// Probes every target as [`Prober::targets`] does, handing each host
    /// name's observations to `emit` as soon as that host is done, so that
    /// they can be stored while the others are still being probed.
    pub async fn targets_each(
        &self,
        targets: Vec<Target>,
        probes: Probes,
        emit: impl FnMut(Vec<Observation>),
    ) {
        let zones = Arc::new(ZoneCache::default());
        self.bounded(
            targets,
            |target| target.host.clone(),
            move |prober, target| {
                let zones = zones.clone();
                async move {
                    let started = std::time::Instant::now();
                    let observations = prober.target(&target, probes, &zones).await;
                    if let Some(tally) = &prober.tally {
                        tally.probed("host", &observations, started.elapsed());
                    }
                    observations
                }
            },
            |host, message| {
                vec![Observation {
                    host,
                    address: None,
                    at: Utc::now(),
                    data: ObservationData::Failed {
                        reason: format!("a probe failed on our side: {message}"),
                    },
                }]
            },
            emit,
        )
        .await;
    }

    /// Runs `work` on every item as a task of its own, at most
    /// `concurrency` at a time (the one limit every probe shares), and
    /// hands what each task returns to `emit` as it finishes. A task that
    /// panicked hands `failed(key, message)` instead: a bug of ours is a
    /// failure to measure that item, never a fact about it.
    async fn bounded<I, K, T, F, Fut>(
        &self,
        items: Vec<I>,
        key: impl Fn(&I) -> K,
        work: F,
        failed: impl Fn(K, String) -> T,
        mut emit: impl FnMut(T),
    ) where
        F: Fn(Prober, I) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let mut tasks = JoinSet::new();
        let mut keys: HashMap<tokio::task::Id, K> = HashMap::new();
        let settle = |done: Result<(tokio::task::Id, T), tokio::task::JoinError>,
                      keys: &mut HashMap<tokio::task::Id, K>|
         -> Option<T> {
            match done {
                Ok((id, done)) => {
                    keys.remove(&id);
                    Some(done)
                }
                Err(error) => {
                    let key = keys.remove(&error.id())?;
                    if !error.is_panic() {
                        return None;
                    }
                    let message = panic_message(error.into_panic());
                    tracing::error!(panic = %message, "a probe task panicked");
                    Some(failed(key, message))
                }
            }
        };
        for item in items {
            let permit = tokio::select! {
                permit = self.limit.clone().acquire_owned() => permit,
                () = self.stop.cancelled() => break,
            };
            let Ok(permit) = permit else {
                break;
            };
            // A finished task keeps its whole allocation (sized for the
            // probe's future) until joined: join as they finish, so only
            // the tasks in flight are held.
            while let Some(done) = tasks.try_join_next_with_id() {
                if let Some(done) = settle(done, &mut keys) {
                    emit(done);
                }
            }
            let item_key = key(&item);
            let task = work(self.clone(), item);
            let handle = tasks.spawn(async move {
                let done = task.await;
                drop(permit);
                done
            });
            keys.insert(handle.id(), item_key);
        }
        while let Some(done) = tasks.join_next_with_id().await {
            if let Some(done) = settle(done, &mut keys) {
                emit(done);
            }
        }
    }
}

/// What a panic said, for the log and the failure it becomes.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a probe panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prober() -> Prober {
        let dns = DnsProbe::new(&ResolverSettings {
            nameservers: vec!["127.0.0.1:9".parse().expect("address")],
            timeout: Duration::from_millis(100),
            attempts: 1,
            authoritative_port: 9,
        })
        .expect("resolver");
        let tls = TlsProbe::new(&[], Duration::from_secs(1)).expect("tls");
        Prober::new(
            dns,
            tls,
            PageProbe::new(PageSettings::default()),
            (443, 80),
            Duration::from_secs(5),
            2,
        )
    }

    /// A probe task that panics is a failure to measure its own item,
    /// named by its key and carrying the panic's message; the other items
    /// are measured as usual.
    #[tokio::test]
    async fn a_panicked_task_is_a_failure_to_measure_its_item() {
        let items: Vec<u32> = (0..6).collect();
        let mut got = Vec::new();
        prober()
            .bounded(
                items,
                |n| *n,
                |_, n| async move {
                    if n == 3 {
                        panic!("index out of range at item {n}");
                    }
                    Ok::<u32, (u32, String)>(n * 10)
                },
                |key, message| Err((key, message)),
                |done| got.push(done),
            )
            .await;
        got.sort_by_key(|r| match r {
            Ok(n) => *n / 10,
            Err((k, _)) => *k,
        });
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(
            got[3],
            Err((3, "index out of range at item 3".to_string())),
            "the panicked item is reported with the panic's message"
        );
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 5);
    }
}
