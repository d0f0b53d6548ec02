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
            // The history, newest first: the new answer is current, the
            // first is what was seen before the change.
            let history = store.observation_history(&host, 10).expect("history");
            let rows: Vec<(bool, i64, &ObservationData)> = history
                .iter()
                .map(|(o, current)| (*current, o.seen_count, &o.observation.data))
                .collect();
            assert_eq!(
                rows,
                vec![(true, 1, &moved.data), (false, 2, &first.data)],
                "{}",
                db.backend
            );
            assert_eq!(
                store.observation_history(&host, 1).expect("history").len(),
                1
            );
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

/// A homepage with `own` links within the site, `other` links to
/// old.gansu.gov.cn, and a body hash of `hash`.
fn homepage_outcome(own: usize, other: usize, hash: &str, bytes: usize) -> ObservationData {
    use siteward::probe::http::PageOutcome;
    use siteward::probe::page::Page;
    let mut links: Vec<String> = (0..own)
        .map(|i| format!("https://www.gansu.gov.cn/col/{i}.html"))
        .collect();
    links.extend((0..other).map(|i| format!("https://old.gansu.gov.cn/{i}.html")));
    ObservationData::Page(PageOutcome::Loaded {
        status: 200,
        final_url: "https://www.gansu.gov.cn/".into(),
        hops: vec![],
        redirected_to: None,
        body_bytes: bytes,
        truncated: false,
        page: Box::new(Page {
            encoding: "utf-8".into(),
            title: Some("甘肃省人民政府".into()),
            links,
            link_hosts: ["www.gansu.gov.cn", "old.gansu.gov.cn"]
                .into_iter()
                .map(str::to_string)
                .collect(),
            content_hash: Some(hash.into()),
            ..Page::default()
        }),
        server: None,
        takeover: vec![],
        elapsed_ms: 80,
    })
}

fn stored_links(data: &ObservationData) -> Vec<String> {
    match data {
        ObservationData::Page(siteward::probe::http::PageOutcome::Loaded { page, .. }) => {
            page.links.clone()
        }
        other => panic!("not a page: {other:?}"),
    }
}

/// The store keeps what the rules read: of a page's links, those to
/// other host names (a few per host); a homepage whose counter or news
/// changed every round is not a new row; a row of the older stored form
/// is read as today's; one from a newer siteward is refused by name.
#[test]
fn pages_are_stored_slim_versioned_and_unchanged_by_their_counters() {
    use diesel::prelude::*;
    let db = crate::support::sqlite();
    let store = db.open();
    let host: Hostname = "www.gansu.gov.cn".parse().expect("host");
    let address: IpAddr = "127.0.0.1".parse().expect("ip");
    let at = |minute: u32| {
        Utc.with_ymd_and_hms(2026, 11, 1, 8, minute, 0)
            .single()
            .expect("time")
    };
    let first = Observation {
        host: host.clone(),
        address: Some(address),
        at: at(0),
        data: homepage_outcome(400, 8, "aaaa", 52_000),
    };
    let stats = store.record_observations(&[first]).expect("record");
    assert_eq!(stats.changed, 1);
    let read = store.observations(&host, None).expect("read");
    let links = stored_links(&read[0].observation.data);
    assert_eq!(links.len(), 5, "{links:?}");
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://old.gansu.gov.cn/"))
    );
    // Every round the homepage's counter changes its size and hash.
    for minute in 1..=4 {
        let again = Observation {
            host: host.clone(),
            address: Some(address),
            at: at(minute * 10),
            data: homepage_outcome(400, 8, &format!("hash{minute}"), 52_000 + minute as usize),
        };
        let stats = store.record_observations(&[again]).expect("record");
        assert_eq!((stats.changed, stats.unchanged), (0, 1), "round {minute}");
    }
    let read = store.observations(&host, None).expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].seen_count, 5);

    // Rows written before the stored form had a version: read as today's.
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let mut raw = diesel::sqlite::SqliteConnection::establish(&path).expect("sqlite");
    let old: Hostname = "old.gansu.gov.cn".parse().expect("host");
    let v1 = serde_json::to_string(&homepage_outcome(300, 7, "bbbb", 40_000)).expect("json");
    for (hostname, schema) in [("old.gansu.gov.cn", 1), ("new.gansu.gov.cn", 3)] {
        diesel::sql_query(
            "INSERT INTO observations (hostname, kind, address, outcome, data, first_seen, last_seen, seen_count, schema) \
             VALUES (?, 'page', '127.0.0.1', 'loaded', ?, '2026-11-01 08:00:00', '2026-11-01 08:00:00', 1, ?)",
        )
        .bind::<diesel::sql_types::Text, _>(hostname)
        .bind::<diesel::sql_types::Text, _>(&v1)
        .bind::<diesel::sql_types::Integer, _>(schema)
        .execute(&mut raw)
        .expect("insert an old row");
    }
    let read = store.observations(&old, None).expect("an old row reads");
    let links = stored_links(&read[0].observation.data);
    assert_eq!(links.len(), 5, "{links:?}");
    let newer: Hostname = "new.gansu.gov.cn".parse().expect("host");
    let err = store
        .observations(&newer, None)
        .expect_err("a newer form is not guessed at")
        .to_string();
    assert!(err.contains("newer siteward"), "{err}");
}

/// Retention prunes old history, but keeps each fact's latest row, and
/// the history of a host name while a finding about it lasted.
#[test]
fn retention_keeps_current_facts_and_what_findings_refer_to() {
    use diesel::prelude::*;
    let db = crate::support::sqlite();
    let store = db.open();
    let now = Utc::now();
    let days_ago = |d: i64| now - chrono::Duration::days(d);
    let fact = |host: &str, days: i64, after_ms: u64| Observation {
        host: host.parse().expect("host"),
        address: None,
        at: days_ago(days),
        data: ObservationData::Deadline { after_ms },
    };
    store
        .record_observations(&[
            // Changed twice, long ago, and now: the old rows go.
            fact("a.gansu.gov.cn", 500, 1),
            fact("a.gansu.gov.cn", 450, 2),
            fact("a.gansu.gov.cn", 0, 3),
            // Old, but a finding about it lasted then: kept.
            fact("b.gansu.gov.cn", 500, 1),
            fact("b.gansu.gov.cn", 0, 2),
            // Old, and still the latest fact: kept.
            fact("c.gansu.gov.cn", 500, 1),
        ])
        .expect("record");
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let mut raw = diesel::sqlite::SqliteConnection::establish(&path).expect("sqlite");
    diesel::sql_query(
        "INSERT INTO findings (kind, subject, scope, severity, status, summary, action, evidence, confirmations, first_seen, last_seen, resolved_at) \
         VALUES ('not_resolving', 'b.gansu.gov.cn', 'b.gansu.gov.cn', 'warning', 'resolved', 's', 'a', '[]', 2, ?, ?, ?)",
    )
    .bind::<diesel::sql_types::Timestamp, _>(days_ago(510).naive_utc())
    .bind::<diesel::sql_types::Timestamp, _>(days_ago(490).naive_utc())
    .bind::<diesel::sql_types::Timestamp, _>(days_ago(480).naive_utc())
    .execute(&mut raw)
    .expect("a finding of long ago");
    let pruned = store.prune_observations(days_ago(400)).expect("prune");
    assert_eq!(pruned, 2);
    let rows = |host: &str| {
        store
            .observations(
                &host.parse().expect("host"),
                Some(now + chrono::Duration::days(1)),
            )
            .expect("read")
            .len()
    };
    // `observations` shows the newest row per kind: count what remains
    // as of each time instead.
    let at = |host: &str, days: i64| {
        store
            .observations(&host.parse().expect("host"), Some(days_ago(days)))
            .expect("read")
            .len()
    };
    assert_eq!(rows("a.gansu.gov.cn"), 1);
    assert_eq!(at("a.gansu.gov.cn", 460), 0, "a's old rows are gone");
    assert_eq!(
        at("b.gansu.gov.cn", 499),
        1,
        "b's history under its finding is kept"
    );
    assert_eq!(at("c.gansu.gov.cn", 499), 1, "c's latest fact is kept");
    // Pruning again removes nothing more.
    assert_eq!(store.prune_observations(days_ago(400)).expect("prune"), 0);
}
