//! `siteward bench`: one full probe cycle over a simulated region of N host
//! names on loopback (DNS, then TLS and the homepage at every address,
//! storing what changed as hosts finish), and a DNS-only pass, with the
//! rates and the peak memory. The simulated world runs in the same
//! process, so its cost is in the figures too.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::probe::ObservationData;
use crate::probe::run::{Probes, Target};
use crate::sim::world;
use crate::store::Store;

pub mod alerts;
pub mod daemon;
pub mod reconcile;
pub mod report;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub hosts: usize,
    /// The full cycle: probing and storing, which overlap.
    pub seconds: f64,
    pub hosts_per_sec: f64,
    pub dns_queries_per_sec: f64,
    pub tls_handshakes_per_sec: f64,
    pub peak_rss_mb: f64,
    pub dns_only_seconds: f64,
    pub dns_only_names_per_sec: f64,
    pub setup_seconds: f64,
    pub concurrency: usize,
    /// Observations by kind and outcome, to show the cycle saw the mix.
    pub outcomes: BTreeMap<String, usize>,
    /// With `--growth`: the observation table over rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<Growth>,
}

/// How the observation table grows when every homepage changes every
/// round (a visitor counter), at a 15-minute schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Growth {
    pub rounds: usize,
    /// Rows and database bytes after the first round.
    pub first_round_rows: u64,
    pub first_round_bytes: u64,
    /// Rows and bytes each later round added, on average.
    pub rows_per_round: f64,
    pub bytes_per_round: f64,
    /// At 96 rounds a day.
    pub rows_per_day: f64,
    pub mb_per_day: f64,
    /// A homepage observation's JSON as the probe sees it (every link)
    /// and as stored, on average: what a new full row per changed page
    /// would have cost.
    pub page_json_bytes_full: f64,
    pub page_json_bytes_stored: f64,
    pub mb_per_day_if_every_changed_page_were_a_full_row: f64,
}

/// Rounds a day at the default `probe` schedule.
const ROUNDS_PER_DAY: f64 = 96.0;

/// Stores `observations` again `rounds` times, 15 minutes apart, each
/// homepage with a new size and hash, and measures the table.
fn growth(
    store: &Store,
    database: &std::path::Path,
    observations: &[crate::probe::Observation],
    rounds: usize,
) -> Result<Growth> {
    // The file's size once the write-ahead log is folded in: the log
    // itself is reused, not grown, by the daily updates.
    let size = || -> Result<u64> {
        store.checkpoint()?;
        Ok(std::fs::metadata(database).map(|m| m.len()).unwrap_or(0))
    };
    let mut full: f64 = 0.0;
    let mut stored: f64 = 0.0;
    let mut pages: f64 = 0.0;
    for observation in observations {
        if let ObservationData::Page(crate::probe::http::PageOutcome::Loaded { .. }) =
            &observation.data
        {
            full += serde_json::to_string(&observation.data)?.len() as f64;
            stored +=
                serde_json::to_string(&observation.data.stored(&observation.host))?.len() as f64;
            pages += 1.0;
        }
    }
    let first_round_bytes = size()?;
    let first_round_rows = store.observation_rows()?;
    let mut round = observations.to_vec();
    for n in 1..=rounds {
        for observation in &mut round {
            observation.at += chrono::Duration::minutes(15);
            if let ObservationData::Page(crate::probe::http::PageOutcome::Loaded {
                body_bytes,
                page,
                ..
            }) = &mut observation.data
            {
                *body_bytes += 1;
                page.content_hash = Some(crate::probe::http::content_hash(
                    format!("{}{n}", observation.host).as_bytes(),
                ));
            }
        }
        store.record_observations(&round)?;
    }
    let rows_after = store.observation_rows()?;
    let bytes_after = size()?;
    let rows_per_round = (rows_after - first_round_rows) as f64 / rounds.max(1) as f64;
    let bytes_per_round =
        bytes_after.saturating_sub(first_round_bytes) as f64 / rounds.max(1) as f64;
    let mb = 1024.0 * 1024.0;
    Ok(Growth {
        rounds,
        first_round_rows,
        first_round_bytes,
        rows_per_round,
        bytes_per_round,
        rows_per_day: rows_per_round * ROUNDS_PER_DAY,
        mb_per_day: bytes_per_round * ROUNDS_PER_DAY / mb,
        page_json_bytes_full: full / pages.max(1.0),
        page_json_bytes_stored: stored / pages.max(1.0),
        mb_per_day_if_every_changed_page_were_a_full_row: full * ROUNDS_PER_DAY / mb,
    })
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn run(count: usize, concurrency: usize, rounds: Option<usize>) -> Result<BenchReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let setup = Instant::now();
    let world = runtime
        .block_on(world::start(count))
        .context("cannot start the simulated world")?;
    let prober = runtime.block_on(async { world.prober(concurrency) })?;
    let dns = prober.dns.clone();
    let directory = tempfile_dir()?;
    let url = format!("sqlite://{}", directory.join("bench.db").display());
    let store = Store::open(&url)?;
    let setup_seconds = setup.elapsed().as_secs_f64();

    let started = Instant::now();
    runtime.block_on(prober.hosts(world.hosts.clone(), Probes::DNS_ONLY));
    let dns_only_seconds = started.elapsed().as_secs_f64();

    let questions_before = dns.questions();
    let started = Instant::now();
    // The full cycle: DNS, then TLS and the homepage at every
    // address, stored as `check` stores it (while the probes go on).
    // Delegations are per zone and IPv6 sampling is its own pass, so
    // neither is in the per-host rate.
    let scope = Probes {
        delegation: false,
        tls: true,
        page: true,
        ipv6: false,
    };
    let targets = world.hosts.iter().cloned().map(Target::from).collect();
    let options = crate::app::checks::CycleOptions::new(false, std::time::Duration::ZERO);
    let observations = runtime.block_on(crate::app::checks::probe_and_record(
        &store,
        &prober,
        targets,
        Vec::new(),
        scope,
        &options,
        &tokio_util::sync::CancellationToken::new(),
    ))?;
    let seconds = started.elapsed().as_secs_f64();
    let questions = dns.questions() - questions_before;
    let handshakes = observations
        .iter()
        .filter(|o| matches!(o.data, ObservationData::Tls(_)))
        .count();
    let mut outcomes = BTreeMap::new();
    for observation in &observations {
        *outcomes
            .entry(format!(
                "{}:{}",
                observation.data.kind(),
                observation.data.outcome()
            ))
            .or_insert(0) += 1;
    }
    let growth = match rounds {
        Some(rounds) => Some(growth(
            &store,
            &directory.join("bench.db"),
            &observations,
            rounds,
        )?),
        None => None,
    };
    drop(store);
    drop(world);
    let _ = std::fs::remove_dir_all(&directory);
    Ok(BenchReport {
        hosts: count,
        seconds,
        hosts_per_sec: count as f64 / seconds,
        dns_queries_per_sec: questions as f64 / seconds,
        tls_handshakes_per_sec: handshakes as f64 / seconds,
        peak_rss_mb: peak_rss_mb(),
        dns_only_seconds,
        dns_only_names_per_sec: count as f64 / dns_only_seconds,
        setup_seconds,
        concurrency,
        outcomes,
        growth,
    })
}

/// A fresh directory for the benchmark's database.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let directory = std::env::temp_dir().join(format!("siteward-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    Ok(directory)
}
