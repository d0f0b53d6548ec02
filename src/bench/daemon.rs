//! `siteward bench --daemon`: the daemon as a process against a simulated
//! region of N host names, all registered as live sites. It measures:
//! the idle daemon's resident memory with that registry; one full probe
//! cycle run by the daemon's scheduler (every probe, the rules, the
//! findings written), as names/s from the run's own record and the
//! daemon's peak memory; and the time from SIGTERM to exit in the middle
//! of a second cycle. The world runs in this process; the daemon is a
//! child process (this same binary), configured as an office would.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::jobs::{Job, RunStatus};
use crate::sim::world;
use crate::store::{Run, Store};

#[derive(Debug, Clone, Serialize)]
pub struct DaemonReport {
    pub hosts: usize,
    pub concurrency: usize,
    /// Registering the N sites (an import), before the daemon starts.
    pub import_seconds: f64,
    /// VmRSS of the daemon a few seconds after start, before any run.
    pub idle_rss_mb: f64,
    /// The scheduled probe cycle, from the run's record.
    pub cycle_seconds: f64,
    pub cycle_names_per_sec: f64,
    pub cycle_status: String,
    pub findings_opened: usize,
    /// VmHWM of the daemon after the cycle.
    pub cycle_peak_rss_mb: f64,
    /// VmRSS of the daemon a second after the cycle.
    pub idle_after_cycle_rss_mb: f64,
    /// VmRSS of the daemon 20 s after the cycle (its worker threads gone,
    /// the allocator's delayed purges done), when no cycle runs then.
    pub settled_after_cycle_rss_mb: Option<f64>,
    pub grace_secs: u64,
    /// How far into the second cycle SIGTERM was sent.
    pub sigterm_after_secs: f64,
    /// From SIGTERM to the process's exit.
    pub sigterm_to_exit_secs: f64,
    pub exit_status: Option<i32>,
    pub interrupted_run_status: String,
    /// With alerts: the findings the webhook received in messages, 20 s
    /// after the cycle.
    pub alerts_received: Option<usize>,
}

/// A memory figure of a process from /proc, in MiB.
fn proc_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The daemons' shutdown grace period.
const GRACE: u64 = 10;

fn wait_for<T>(limit: Duration, mut what: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = what()? {
            return Ok(value);
        }
        if started.elapsed() > limit {
            bail!("gave up after {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the child if the benchmark stops early.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path, every: &str, log: &Path) -> Result<Daemon> {
    let exe = std::env::current_exe().context("cannot find this binary")?;
    let log = std::fs::File::create(log)?;
    let child = Command::new(exe)
        .arg("--config")
        .arg(config)
        .args(["serve", "--log-format", "json", "--tick-ms", "100"])
        .args(["--every", every])
        .args(["--every", "feeds=86400", "--every", "discover=86400"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .env_remove("JOURNAL_STREAM")
        .spawn()
        .context("cannot start the daemon")?;
    Ok(Daemon(child))
}

fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed");
    }
    Ok(())
}

fn probe_runs(store: &Store) -> Result<Vec<Run>> {
    Ok(store.runs(Some(Job::Probe), 100)?)
}

pub fn run(
    count: usize,
    concurrency: usize,
    sigterm_after: Duration,
    with_alerts: bool,
) -> Result<DaemonReport> {
    let runtime = crate::commands::runtime()?;
    let world = runtime
        .block_on(world::start(count))
        .context("cannot start the simulated world")?;
    let receiver = if with_alerts {
        Some(
            runtime
                .block_on(crate::sim::webhook::Receiver::start(None))
                .context("cannot start the webhook receiver")?,
        )
    } else {
        None
    };
    let dir = std::env::temp_dir().join(format!("siteward-bench-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(
        &world,
        &dir,
        count,
        concurrency,
        sigterm_after,
        receiver.as_ref(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    drop(world);
    outcome
}

/// The daemon's configuration and policy in `dir`, and the world's host
/// names registered as live sites in the database at `url` (empty).
fn prepare(
    world: &world::World,
    dir: &Path,
    concurrency: usize,
    url: &str,
    sink: Option<&str>,
) -> Result<(std::path::PathBuf, Store, f64)> {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &world.ca_pem)?;
    let policies = dir.join("policies");
    crate::policy::write_built_in(&policies)?;
    // The shipped policy, watching the world's zone; one observation
    // suffices, so that the cycle is the probes and the rules alone.
    std::fs::write(
        policies.join("siteward.toml"),
        include_str!("../../policies/siteward.toml")
            .replace(
                "managed_zones = [\"gansu.gov.cn\"]",
                "managed_zones = [\"bench.gov.cn\"]",
            )
            .replace("confirmations = 2", "confirmations = 1"),
    )?;
    let config = dir.join("siteward.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{url}\"\n\n[policies]\ndir = \"{}\"\n\n\
             [resolver]\nnameservers = [\"{}\"]\ntimeout_ms = 3000\nattempts = 1\nauthoritative_port = {}\n\n\
             [probe]\nconcurrency = {concurrency}\nper_address_connections = {concurrency}\ndeadline_ms = 20000\nhttps_port = {}\nhttp_port = {}\nextra_roots = [\"{}\"]\n\n\
             [daemon]\nshutdown_grace_secs = {GRACE}\n\n\
             [api]\nlisten = \"127.0.0.1:0\"\n",
            policies.display(),
            world.dns.addr,
            world.dns.addr.port(),
            world.https_port,
            world.http_port,
            ca.display()
        ),
    )?;
    if let Some(sink) = sink {
        // Every critical finding to one webhook, one message per group.
        let mut text = std::fs::read_to_string(&config)?;
        text.push_str(&format!(
            "\n[alerts]\npoll_ms = 1000\n\n[[alerts.sink]]\nname = \"bench\"\nkind = \"webhook\"\nurl = \"{sink}\"\n"
        ));
        std::fs::write(&config, text)?;
        std::fs::write(
            policies.join("alerts.toml"),
            "[timing]\ngroup_wait_secs = 1\ngroup_interval_secs = 5\n",
        )?;
    }

    // The registry: every host name a live site, with the name, organizer
    // and code its homepage shows.
    let mut csv =
        String::from("网站名称,网站标识码,首页网址,主办单位,行政区划代码,网站类型,运行状态\n");
    for (i, host) in world.hosts.iter().enumerate() {
        csv.push_str(&format!(
            "测试网站 {i},62{:08},{host},测试单位,620100,部门网站,运行中\n",
            i + 1
        ));
    }
    let store = Store::open(url)?;
    if !store
        .sites(&crate::store::SiteFilter::default())?
        .is_empty()
    {
        bail!(
            "the benchmark needs an empty database, and {} has sites",
            store.url()
        );
    }
    let policy = crate::policy::Policy::load(Some(&policies))?;
    let started = Instant::now();
    let (records, _) = crate::transfer::parse(crate::transfer::Entity::Sites, csv.as_bytes())
        .map_err(|e| anyhow::anyhow!("the benchmark's registry: {e}"))?;
    store.import(&records, &policy, &crate::store::Change::now("bench"))?;
    let import_seconds = started.elapsed().as_secs_f64();

    Ok((config, store, import_seconds))
}

fn measure(
    world: &world::World,
    dir: &Path,
    count: usize,
    concurrency: usize,
    sigterm_after: Duration,
    receiver: Option<&crate::sim::webhook::Receiver>,
) -> Result<DaemonReport> {
    let url = format!("sqlite://{}", dir.join("siteward.db").display());
    let sink = receiver.map(|r| r.url("/hook"));
    let (config, store, import_seconds) = prepare(world, dir, concurrency, &url, sink.as_deref())?;

    // Idle: a schedule that does not fire during the measurement.
    let mut daemon = start(&config, "probe=86400", &dir.join("idle.log"))?;
    let pid = daemon.0.id();
    std::thread::sleep(Duration::from_secs(3));
    let idle_rss_mb = proc_mb(pid, "VmRSS:");
    signal(pid, "TERM")?;
    daemon.0.wait()?;

    // One cycle, fired by the scheduler.
    let before = probe_runs(&store)?.len();
    // Every minute: a cycle, then idle until the next minute.
    let mut daemon = start(&config, "probe=60", &dir.join("cycle.log"))?;
    let pid = daemon.0.id();
    let run = wait_for(Duration::from_secs(600), || {
        let runs = probe_runs(&store)?;
        Ok((runs.len() > before && runs[0].status != RunStatus::Running).then(|| runs[0].clone()))
    })?;
    let cycle_seconds = (run.finished_at - run.started_at).as_seconds_f64();
    let cycle_peak_rss_mb = proc_mb(pid, "VmHWM:");
    std::thread::sleep(Duration::from_secs(1));
    let idle_after_cycle_rss_mb = proc_mb(pid, "VmRSS:");
    std::thread::sleep(Duration::from_secs(19));
    let settled = proc_mb(pid, "VmRSS:");
    let alerts_received = receiver.map(|r| {
        r.received()
            .iter()
            .map(|m| m.body["findings"].as_array().map_or(0, Vec::len))
            .sum()
    });
    let settled_after_cycle_rss_mb = probe_runs(&store)?
        .first()
        .is_some_and(|r| r.id == run.id)
        .then_some(settled);

    // SIGTERM in the middle of the next cycle.
    let first = run.id;
    let second = wait_for(Duration::from_secs(60), || {
        let runs = probe_runs(&store)?;
        Ok(runs
            .first()
            .filter(|r| r.id > first && r.status == RunStatus::Running)
            .cloned())
    })?;
    let since_start = (chrono::Utc::now() - second.started_at)
        .to_std()
        .unwrap_or_default();
    std::thread::sleep(sigterm_after.saturating_sub(since_start));
    let sigterm_after_secs = (chrono::Utc::now() - second.started_at).as_seconds_f64();
    let sent = Instant::now();
    signal(pid, "TERM")?;
    let status = daemon.0.wait()?;
    let sigterm_to_exit_secs = sent.elapsed().as_secs_f64();
    let interrupted = probe_runs(&store)?
        .into_iter()
        .find(|r| r.id == second.id)
        .map(|r| r.status.to_string())
        .unwrap_or_default();
    Ok(DaemonReport {
        hosts: count,
        concurrency,
        import_seconds,
        idle_rss_mb,
        cycle_seconds,
        cycle_names_per_sec: count as f64 / cycle_seconds,
        cycle_status: run.status.to_string(),
        findings_opened: run.opened,
        cycle_peak_rss_mb,
        idle_after_cycle_rss_mb,
        settled_after_cycle_rss_mb,
        grace_secs: GRACE,
        sigterm_after_secs,
        sigterm_to_exit_secs,
        exit_status: status.code(),
        interrupted_run_status: interrupted,
        alerts_received,
    })
}

/// Several daemons sharing one database (PostgreSQL): one scheduled
/// cycle, its rate, and how the CPU time split between the daemons and
/// the database server.
#[derive(Debug, Clone, Serialize)]
pub struct SharedReport {
    pub hosts: usize,
    pub instances: usize,
    pub concurrency: usize,
    pub cycle_seconds: f64,
    pub cycle_names_per_sec: f64,
    pub cycle_status: String,
    /// Host names each instance probed.
    pub probed_by_instance: Vec<usize>,
    /// CPU seconds over the cycle, of the daemons together and of the
    /// database server's processes (`postgres`).
    pub daemons_cpu_secs: f64,
    pub database_cpu_secs: f64,
    /// The database's share of the CPU time the cycle took.
    pub database_share: f64,
}

/// CPU seconds (user and system) of process `pid` so far.
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The fields after the command's closing parenthesis.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds so far of every process named `postgres`, by pid.
fn postgres_cpu() -> BTreeMap<u32, f64> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                out.insert(pid, cpu_secs(pid));
            }
        }
    }
    out
}

/// Runs `instances` daemons on the database at `url` (an empty
/// PostgreSQL database) over a registry of `count` live sites, for one
/// scheduled cycle.
pub fn run_shared(
    count: usize,
    concurrency: usize,
    instances: usize,
    url: &str,
) -> Result<SharedReport> {
    let runtime = crate::commands::runtime()?;
    let world = runtime
        .block_on(world::start(count))
        .context("cannot start the simulated world")?;
    let dir = std::env::temp_dir().join(format!("siteward-bench-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = (|| {
        let (config, store, _) = prepare(&world, &dir, concurrency, url, None)?;
        let mut daemons = Vec::new();
        for n in 0..instances.max(1) {
            daemons.push(start(
                &config,
                "probe=60",
                &dir.join(format!("shared-{n}.log")),
            )?);
        }
        let database_before = postgres_cpu();
        let daemons_before: Vec<f64> = daemons.iter().map(|d| cpu_secs(d.0.id())).collect();
        let run = wait_for(Duration::from_secs(3600), || {
            let runs = probe_runs(&store)?;
            Ok(runs
                .first()
                .filter(|r| r.status != RunStatus::Running)
                .cloned())
        })?;
        let daemons_cpu_secs: f64 = daemons
            .iter()
            .zip(&daemons_before)
            .map(|(d, before)| cpu_secs(d.0.id()) - before)
            .sum();
        let database_cpu_secs: f64 = postgres_cpu()
            .into_iter()
            .map(|(pid, now)| now - database_before.get(&pid).copied().unwrap_or(0.0))
            .sum();
        let work = store.work(run.id)?;
        let probed_by_instance = daemons
            .iter()
            .map(|d| {
                let name = format!(
                    "{}:{}",
                    crate::store::instance()
                        .rsplit_once(':')
                        .map_or("", |(h, _)| h),
                    d.0.id()
                );
                work.iter()
                    .filter(|w| w.owner.as_deref() == Some(name.as_str()))
                    .count()
            })
            .collect();
        for daemon in &daemons {
            signal(daemon.0.id(), "TERM")?;
        }
        for mut daemon in daemons {
            daemon.0.wait()?;
        }
        let cycle_seconds = (run.finished_at - run.started_at).as_seconds_f64();
        Ok(SharedReport {
            hosts: count,
            instances,
            concurrency,
            cycle_seconds,
            cycle_names_per_sec: count as f64 / cycle_seconds,
            cycle_status: run.status.to_string(),
            probed_by_instance,
            daemons_cpu_secs,
            database_cpu_secs,
            database_share: database_cpu_secs
                / (database_cpu_secs + daemons_cpu_secs).max(f64::MIN_POSITIVE),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    drop(world);
    outcome
}
