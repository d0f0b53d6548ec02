//! What the rules read about one host name: this round's observations,
//! grouped by probe and address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::probe::delegation::Delegation;
use crate::probe::dns::HostDns;
use crate::probe::feed::FeedPoll;
use crate::probe::http::PageOutcome;
use crate::probe::ipv6::Ipv6Reach;
use crate::probe::tls::TlsObservation;
use crate::probe::{DelegationResult, Observation, ObservationData};
use crate::registry::Hostname;

/// One host name as this round saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostView {
    /// When the newest of these observations was made.
    pub at: Option<DateTime<Utc>>,
    pub dns: Option<HostDns>,
    pub delegation: Option<DelegationResult>,
    pub tls: BTreeMap<IpAddr, TlsObservation>,
    pub pages: BTreeMap<IpAddr, PageOutcome>,
    /// Addresses whose page this machine could not try (no route from
    /// here): left out of `pages`, they say nothing about the site.
    pub local: BTreeMap<IpAddr, String>,
    pub ipv6: Option<Ipv6Reach>,
    /// Why the host's probes could not measure it (the per-host deadline
    /// ran out, a probe failed on our side).
    pub failed: Option<String>,
    /// Page visits over the policy's window and how many failed, from the
    /// store's history (this round included), when the caller has it.
    pub availability: Option<(u64, u64)>,
}

impl HostView {
    /// The zone's delegation, when it was measured.
    pub fn delegation(&self) -> Option<&Delegation> {
        match &self.delegation {
            Some(DelegationResult::Found(found)) => Some(found),
            _ => None,
        }
    }
}

/// Groups observations by host name; feed polls go apart, by URL.
pub fn group(
    observations: impl IntoIterator<Item = Observation>,
) -> (BTreeMap<Hostname, HostView>, BTreeMap<String, FeedPoll>) {
    let mut hosts: BTreeMap<Hostname, HostView> = BTreeMap::new();
    let mut feeds = BTreeMap::new();
    for observation in observations {
        if let ObservationData::Feed(poll) = observation.data {
            feeds.insert(poll.url.clone(), poll);
            continue;
        }
        let view = hosts.entry(observation.host).or_default();
        view.at = view.at.max(Some(observation.at));
        match (observation.data, observation.address) {
            (ObservationData::Dns(dns), _) => view.dns = Some(dns),
            (ObservationData::Delegation(delegation), _) => view.delegation = Some(delegation),
            (ObservationData::Tls(tls), Some(address)) => {
                view.tls.insert(address, tls);
            }
            (ObservationData::Page(PageOutcome::Local { reason }), Some(address)) => {
                view.local.insert(address, reason);
            }
            (ObservationData::Page(page), Some(address)) => {
                view.pages.insert(address, page);
            }
            (ObservationData::Ipv6(reach), _) => view.ipv6 = Some(reach),
            (ObservationData::Deadline { .. }, _) => {
                view.failed = Some("the probes did not finish within the per-host deadline".into());
            }
            (ObservationData::Failed { reason }, _) => view.failed = Some(reason),
            _ => {}
        }
    }
    // Observations of addresses the host no longer resolves to are not
    // about the host any more.
    for view in hosts.values_mut() {
        if let Some(dns) = &view.dns {
            let current = dns.addresses();
            view.tls.retain(|address, _| current.contains(address));
            view.pages.retain(|address, _| current.contains(address));
            view.local.retain(|address, _| current.contains(address));
        }
    }
    (hosts, feeds)
}
