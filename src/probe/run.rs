//! Running the probes: for each host name, DNS and the delegation, then for
//! each address the TLS handshake and the homepage, all under one bounded
//! concurrency limit and a per-host deadline, so that no host can hang a
//! cycle. Returns observations; storing them is the caller's business.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::dns::{DnsProbe, DnsSetupError, ResolverSettings};
use super::http::{PageProbe, PageSettings};
use super::tls::{TlsProbe, TlsSetupError};
use super::{DelegationResult, Observation, ObservationData};
use crate::config::Config;
use crate::registry::Hostname;

/// Pages sampled per level for IPv6 connectivity (policy default).
pub const IPV6_SAMPLE: usize = 10;

/// The inspection threshold for "loads": 15 seconds.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(15);

#[derive(Debug, Error)]
pub enum ProbeSetupError {
    #[error(transparent)]
    Dns(#[from] DnsSetupError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// Which probes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub delegation: bool,
    pub tls: bool,
    pub page: bool,
    /// IPv6 reachability of inner pages (about 40 fetches a host).
    pub ipv6: bool,
}

impl Scope {
    pub const ALL: Scope = Scope {
        delegation: true,
        tls: true,
        page: true,
        ipv6: true,
    };
    pub const DNS_ONLY: Scope = Scope {
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
}

impl Prober {
    pub fn from_config(
        config: &Config,
        prohibited: Vec<String>,
    ) -> Result<Prober, ProbeSetupError> {
        let dns = DnsProbe::new(&ResolverSettings::from_config(&config.resolver)?)?;
        let handshake = Duration::from_millis(config.probe.deadline_ms.min(15_000));
        let tls = TlsProbe::new(&config.probe.extra_roots, handshake)?;
        let pages = PageProbe::new(PageSettings {
            deadline: PAGE_DEADLINE,
            max_redirects: 5,
            https_port: config.probe.https_port,
            http_port: config.probe.http_port,
            prohibited,
        });
        Ok(Prober::new(
            dns,
            tls,
            pages,
            (config.probe.https_port, config.probe.http_port),
            Duration::from_millis(config.probe.deadline_ms),
            config.probe.concurrency,
        ))
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
        }
    }

    /// Everything about one host name, within the per-host deadline.
    pub async fn host(&self, host: &Hostname, scope: Scope) -> Vec<Observation> {
        match tokio::time::timeout(self.host_deadline, self.observe(host, scope)).await {
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

    async fn observe(&self, host: &Hostname, scope: Scope) -> Vec<Observation> {
        let at = Utc::now();
        let observation = |address, data| Observation {
            host: host.clone(),
            address,
            at,
            data,
        };
        let delegation = async {
            if scope.delegation {
                Some(match self.dns.delegation(host).await {
                    Ok(found) => DelegationResult::Found(found),
                    Err(reason) => DelegationResult::Failed { reason },
                })
            } else {
                None
            }
        };
        let (dns, delegation) = tokio::join!(self.dns.host(host), delegation);
        let addresses = dns.addresses();
        let first_v4 = addresses.iter().find(|a| a.is_ipv4()).copied();
        let first_v6 = addresses.iter().find(|a| a.is_ipv6()).copied();
        let ipv6 = async {
            match (scope.ipv6, first_v4, first_v6) {
                (true, Some(v4), Some(v6)) => Some(
                    super::ipv6::measure(
                        &self.pages,
                        host,
                        v4,
                        v6,
                        &[self.https_port, self.http_port],
                        Duration::from_secs(5),
                        IPV6_SAMPLE,
                    )
                    .await,
                ),
                _ => None,
            }
        };
        let mut observations = vec![observation(None, ObservationData::Dns(dns))];
        if let Some(delegation) = delegation {
            observations.push(observation(None, ObservationData::Delegation(delegation)));
        }
        let per_address = addresses.into_iter().map(|address| async move {
            // One handshake per address serves both the TLS verdict and the
            // page, when both are asked for.
            match (scope.tls, scope.page) {
                (true, true) => {
                    let (tls, stream) = self
                        .tls
                        .probe_and_keep(SocketAddr::new(address, self.https_port), host)
                        .await;
                    let page = self.pages.homepage_over(host, address, stream).await;
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
                    Some(self.pages.homepage(host, address).await),
                ),
                (false, false) => (address, None, None),
            }
        });
        let (per_address, ipv6) = tokio::join!(futures_util::future::join_all(per_address), ipv6);
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

    /// Probes every host name, at most `concurrency` at a time.
    pub async fn hosts(&self, hosts: Vec<Hostname>, scope: Scope) -> Vec<Observation> {
        let mut tasks = JoinSet::new();
        for host in hosts {
            let prober = self.clone();
            let Ok(permit) = self.limit.clone().acquire_owned().await else {
                break;
            };
            tasks.spawn(async move {
                let observations = prober.host(&host, scope).await;
                drop(permit);
                observations
            });
        }
        let mut all = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(observations) = done {
                all.extend(observations);
            }
        }
        all
    }
}
