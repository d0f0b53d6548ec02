//! `/metrics` in the Prometheus text format (0.0.4), made with
//! `prometheus-client`. Two sources: what this process counts as it
//! goes ([`Metrics`], held by `App`: API requests, probes as they finish,
//! and `app::Counters`), and what the database holds, read when scraped
//! by a few aggregate queries (`store::metrics`): sites, findings, the
//! last complete cycle, certificates, the outbox, sinks, overdue
//! rectifications. Each scrape builds a registry of its own, so a gauge
//! never shows a value the database no longer holds (a sink removed, a
//! status emptied).
//!
//! No token: `/metrics` names host names and organizations, so keep the
//! API's port on loopback or firewall it to the monitoring.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::{App, Counters};
use crate::probe::Observation;

/// Labels as (name, value) pairs.
type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// What the process counts as it runs; cloning shares the counts.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<Labels, Counter>,
    request_seconds: Histograms,
    probed: Family<Labels, Counter>,
    probe_seconds: Histograms,
}

fn request_buckets() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn probe_buckets() -> Histogram {
    // 10 ms to about 82 s: a host's probes end within the deadline.
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_buckets),
            probed: Family::default(),
            probe_seconds: Family::new_with_constructor(probe_buckets),
        }
    }
}

impl Metrics {
    /// One API request answered: its route as matched (never the raw
    /// path, which would make a series per site), method and status.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&vec![
                ("route", route.to_string()),
                ("method", method.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.request_seconds
            .get_or_create(&vec![("route", route.to_string())])
            .observe(elapsed.as_secs_f64());
    }
}

/// An observation's outcome as a label: an IPv6 sample's percentage is
/// told as full, partial or none, so that the series stay few.
fn outcome_label(observation: &Observation) -> String {
    let outcome = observation.data.outcome();
    match outcome.strip_suffix('%') {
        Some("100") => "full".to_string(),
        Some("0") => "none".to_string(),
        Some(_) => "partial".to_string(),
        None => outcome,
    }
}

impl crate::probe::run::Tally for Metrics {
    fn probed(&self, target: &'static str, observations: &[Observation], elapsed: Duration) {
        for observation in observations {
            self.probed
                .get_or_create(&vec![
                    ("probe", observation.data.kind().to_string()),
                    ("outcome", outcome_label(observation)),
                ])
                .inc();
        }
        self.probe_seconds
            .get_or_create(&vec![("target", target.to_string())])
            .observe(elapsed.as_secs_f64());
    }
}

/// A counter showing a count kept elsewhere.
fn counter_of(value: u64) -> Counter {
    let counter = Counter::default();
    counter.inc_by(value);
    counter
}

fn gauge_of(value: f64) -> Gauge<f64, AtomicU64> {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(value);
    gauge
}

/// The whole exposition: the process's counts and the database's
/// figures as of now. Blocks on the database.
pub fn render(app: &App) -> Result<String> {
    let policy = app.policy();
    let config = app.config();
    let now = Utc::now();
    let fresh = chrono::Duration::minutes(i64::from(policy.thresholds.max_observation_age_mins));
    let stored = app.store.metrics(now - fresh)?;
    let mut r = Registry::default();

    let info = Family::<Labels, Gauge>::default();
    info.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_string())])
        .set(1);
    r.register(
        "siteward_build_info",
        "The running siteward's version",
        info,
    );

    // The process's own counts.
    let m = &app.metrics;
    r.register(
        "siteward_api_requests",
        "API requests answered, by matched route, method and status",
        m.requests.clone(),
    );
    r.register(
        "siteward_api_request_duration_seconds",
        "How long API requests took, by matched route",
        m.request_seconds.clone(),
    );
    r.register(
        "siteward_probe_observations",
        "Observations made by this process's probes, by probe and outcome",
        m.probed.clone(),
    );
    r.register(
        "siteward_probe_duration_seconds",
        "How long probing one target took (host: every probe of a host name; feed: one account's feed)",
        m.probe_seconds.clone(),
    );
    let c = &app.counters;
    for (name, help, counter) in [
        (
            "siteward_policy_reloads",
            "Reloads of the configuration and policies that took effect",
            &c.reloads,
        ),
        (
            "siteward_policy_reload_failures",
            "Reloads refused (the configuration and policies in force stayed)",
            &c.failed_reloads,
        ),
        (
            "siteward_runs_started",
            "Job runs this process started",
            &c.runs_started,
        ),
        (
            "siteward_runs_interrupted",
            "Runs found cut short (a crash, a silent instance) and marked interrupted",
            &c.runs_interrupted,
        ),
        (
            "siteward_alert_findings_unrouted",
            "Confirmed findings that no alert route sends anywhere",
            &c.alerts_unrouted,
        ),
    ] {
        r.register(name, help, counter_of(Counters::get(counter)));
    }

    // The database's figures.
    let sites = Family::<Labels, Gauge>::default();
    for ((status, kind, level), n) in &stored.sites {
        sites
            .get_or_create(&vec![
                ("status", status.clone()),
                ("kind", kind.clone()),
                ("level", level.clone()),
            ])
            .set(*n as i64);
    }
    r.register(
        "siteward_sites",
        "Sites in the registry, by status, kind and their organization's level",
        sites,
    );
    let findings = Family::<Labels, Gauge>::default();
    for ((kind, severity, status), n) in &stored.findings {
        findings
            .get_or_create(&vec![
                ("kind", kind.clone()),
                ("severity", severity.clone()),
                ("status", status.clone()),
            ])
            .set(*n as i64);
    }
    r.register(
        "siteward_findings",
        "Findings not resolved, by kind, severity and status (open, acknowledged, pending, suppressed)",
        findings,
    );
    let overdue = Family::<Labels, Gauge>::default();
    for (org, n) in &stored.overdue {
        overdue
            .get_or_create(&vec![("organization", org.clone())])
            .set(*n as i64);
    }
    r.register(
        "siteward_rectifications_overdue",
        "Findings open past their rectification deadline, by organization",
        overdue,
    );

    let outcomes = Family::<Labels, Gauge>::default();
    for ((probe, outcome), n) in &stored.outcomes {
        let outcome = match outcome.strip_suffix('%') {
            Some("100") => "full",
            Some("0") => "none",
            Some(_) => "partial",
            None => outcome.as_str(),
        };
        outcomes
            .get_or_create(&vec![
                ("probe", probe.clone()),
                ("outcome", outcome.to_string()),
            ])
            .inc_by(*n as i64);
    }
    r.register(
        "siteward_cycle_observations",
        "Stored observations seen since the last complete probe cycle started, by probe and outcome (every instance's)",
        outcomes,
    );
    if let Some(cycle) = &stored.last_cycle {
        let seconds = (cycle.finished_at - cycle.started_at).num_milliseconds() as f64 / 1000.0;
        r.register(
            "siteward_cycle_duration_seconds",
            "How long the last complete probe cycle took",
            gauge_of(seconds),
        );
        r.register(
            "siteward_cycle_last_complete_timestamp_seconds",
            "When the last complete probe cycle ended (Unix time)",
            gauge_of(cycle.finished_at.timestamp_millis() as f64 / 1000.0),
        );
        r.register(
            "siteward_cycle_hosts",
            "Host names the last complete probe cycle looked at",
            gauge_of(cycle.hosts as f64),
        );
        r.register(
            "siteward_cycle_measurement_failures",
            "Failures to measure in the last complete probe cycle",
            gauge_of(cycle.measurement_failures as f64),
        );
    }
    // A time, not "days left": Prometheus wants base units, and a
    // timestamp does not age between scrapes. Days left:
    // `(siteward_tls_certificate_expiry_timestamp_seconds - time()) / 86400`.
    let expiry: Gauges = Family::default();
    for (host, not_after) in &stored.certificate_expiry {
        expiry
            .get_or_create(&vec![("host", host.clone())])
            .set(not_after.timestamp() as f64);
    }
    r.register(
        "siteward_tls_certificate_expiry_timestamp_seconds",
        "When the earliest-expiring leaf certificate a host name presented expires (Unix time), from TLS observations younger than max_observation_age_mins",
        expiry,
    );

    let messages = Family::<Labels, Gauge>::default();
    let mut depth = 0;
    for ((sink, status), n) in &stored.notifications {
        messages
            .get_or_create(&vec![("sink", sink.clone()), ("status", status.clone())])
            .set(*n as i64);
        if status == crate::alerts::NotificationStatus::Pending.as_str() {
            depth += n;
        }
    }
    r.register(
        "siteward_alert_messages",
        "Messages in the outbox, by sink and status (delivered, failed after every attempt, pending, cancelled)",
        messages,
    );
    r.register(
        "siteward_alert_outbox_depth",
        "Messages not yet accepted by their receivers",
        gauge_of(depth as f64),
    );
    // Every configured sink appears, broken or not, so that an alert
    // rule sees it go from 0 to 1.
    let broken = Family::<Labels, Gauge>::default();
    for sink in &config.alerts.sink {
        broken
            .get_or_create(&vec![("sink", sink.name.clone())])
            .set(0);
    }
    for (sink, state) in &stored.sink_states {
        let is_broken = state == crate::alerts::SinkHealth::Broken.as_str();
        broken
            .get_or_create(&vec![("sink", sink.clone())])
            .set(i64::from(is_broken));
    }
    r.register(
        "siteward_alert_sink_broken",
        "Whether a sink is marked broken (removed, disabled, misconfigured): 1, or 0",
        broken,
    );

    let mut out = String::new();
    encode(&mut out, &r)?;
    Ok(prometheus_text(&out))
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics text as the Prometheus text format (0.0.4) reads it, which
/// every scraper and `promtool check metrics` take: a counter's HELP and
/// TYPE name its `_total` series, and the `# EOF` line goes.
fn prometheus_text(open_metrics: &str) -> String {
    let counters: std::collections::BTreeSet<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len() + counters.len() * 12);
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
