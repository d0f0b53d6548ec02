//! Observations are stored only when they change, on both backends, and
//! the history answers what was seen at a given time.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use siteward::probe::dns::{DnsProbe, ResolverSettings};
use siteward::probe::{Observation, ObservationData};
use siteward::registry::Hostname;
use siteward::sim::dns::{RecordData, Zone, serve};

use crate::support::backends;

async fn observe(ip: &str, at_minute: u32) -> Observation {
    let zone = Zone::new("gansu.gov.cn").with(
        "www.gansu.gov.cn",
        300,
        RecordData::A(ip.parse().expect("ip")),
    );
    let server = serve(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0), &[zone])
        .await
        .expect("dns");
    let dns = DnsProbe::new(&ResolverSettings {
        nameservers: vec![server.addr],
        timeout: Duration::from_secs(2),
        attempts: 0,
        authoritative_port: server.addr.port(),
    })
    .expect("resolver");
    let host: Hostname = "www.gansu.gov.cn".parse().expect("host");
    Observation {
        data: ObservationData::Dns(dns.host(&host).await),
        host,
        address: None,
        at: Utc
            .with_ymd_and_hms(2026, 11, 1, 8, at_minute, 0)
            .single()
            .expect("time"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_changes_are_stored() {
    let first = observe("127.0.0.10", 0).await;
    let mut same = observe("127.0.0.10", 5).await;
    // A cache between us and the server counts TTLs down: not a change.
    if let ObservationData::Dns(dns) = &mut same.data
        && let siteward::probe::dns::DnsOutcome::Answer { records } = &mut dns.a
    {
        records[0].ttl -= 17;
    }
    let moved = observe("127.0.0.11", 10).await;
    for db in backends() {
        let (first, same, moved) = (first.clone(), same.clone(), moved.clone());
        let host = first.host.clone();
        tokio::task::spawn_blocking(move || {
            let store = db.open();
            let stats = store
                .record_observations(std::slice::from_ref(&first))
                .expect("record");
            assert_eq!((stats.changed, stats.unchanged), (1, 0));
            let stats = store
                .record_observations(std::slice::from_ref(&same))
                .expect("record");
            assert_eq!((stats.changed, stats.unchanged), (0, 1), "{}", db.backend);
            let now = store.observations(&host, None).expect("observations");
            assert_eq!(now.len(), 1);
            assert_eq!(now[0].seen_count, 2);
            assert_eq!((now[0].first_seen, now[0].last_seen), (first.at, same.at));
            let stats = store
                .record_observations(std::slice::from_ref(&moved))
                .expect("record");
            assert_eq!(stats.changed, 1);
            let now = store.observations(&host, None).expect("observations");
            assert_eq!(now.len(), 1, "one current observation per kind and address");
            assert_eq!(now[0].observation.data, moved.data);
            // What was seen at 08:07: the first answer.
            let then = store
                .observations(
                    &host,
                    Some(
                        Utc.with_ymd_and_hms(2026, 11, 1, 8, 7, 0)
                            .single()
                            .expect("time"),
                    ),
                )
                .expect("history");
            assert_eq!(then[0].observation.data, first.data);
            assert_eq!(then[0].observation.data.outcome(), "answer/nodata");
        })
        .await
        .expect("join");
    }
}

/// A cycle's observations are stored while it runs, a batch a
/// transaction: every host's observations are in the store afterwards,
/// the full batches and the last partial one, and a second cycle finds
/// nothing changed.
#[test]
fn a_cycle_is_stored_as_hosts_finish() {
    use siteward::probe::run::{Probes, Target};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // 300 host names give about 1,100 observations: more than one batch.
    let world = runtime
        .block_on(siteward::sim::world::start(300))
        .expect("world");
    let prober = runtime
        .block_on(async { world.prober(16) })
        .expect("prober");
    let scope = Probes {
        delegation: false,
        tls: true,
        page: true,
        ipv6: false,
    };
    let cycle = |store: &mut siteward::store::Store| {
        let targets = world.hosts.iter().cloned().map(Target::from).collect();
        runtime
            .block_on(siteward::app::checks::probe_and_record(
                store,
                &prober,
                targets,
                Vec::new(),
                scope,
                &siteward::app::checks::CycleOptions::new(false, std::time::Duration::ZERO),
                &tokio_util::sync::CancellationToken::new(),
            ))
            .expect("probe and record")
    };
    for db in backends() {
        let mut store = db.open();
        let observations = cycle(&mut store);
        assert!(observations.len() > 1000, "{}", observations.len());
        let mut stored = 0;
        for host in &world.hosts {
            let seen = observations.iter().filter(|o| &o.host == host).count();
            let kept = store.observations(host, None).expect("observations");
            assert_eq!(kept.len(), seen, "{host} on {}", db.backend);
            stored += kept.len();
        }
        assert_eq!(stored, observations.len(), "{}", db.backend);
        // The same world again: every row's last-seen time moves, no row
        // is added.
        let again = cycle(&mut store);
        assert_eq!(again.len(), observations.len());
        for host in &world.hosts {
            for kept in store.observations(host, None).expect("observations") {
                assert_eq!(
                    kept.seen_count,
                    2,
                    "{host} {:?}",
                    kept.observation.data.kind()
                );
            }
        }
    }
}
