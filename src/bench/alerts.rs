//! `siteward bench --alerts`: N critical findings opened at once across M
//! organizations: how long planning takes (the events and the outbox, in
//! the findings' transaction), how long until every message is delivered
//! by the daemon's sender path (`app::alerts::deliver_due`), and the
//! process's peak memory. Delivered `--to` each organization's own
//! webhook (a receiver on loopback), one WeCom robot for all of them (its
//! 20 a minute kept, the minute scaled by `--rate-window-secs`), or one
//! robot per organization (simulated robots that enforce the limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde::Serialize;

use crate::app::App;
use crate::store::Store;

/// Where the benchmark's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Each organization's own webhook.
    Webhooks,
    /// One WeCom robot for every organization.
    Robot,
    /// One WeCom robot per organization.
    Robots,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertsReport {
    pub findings: usize,
    pub organizations: usize,
    pub to: Target,
    /// The robots' minute, in seconds (60 unless scaled down).
    pub rate_window_secs: u64,
    /// Writing the findings, their events and the planned messages, in
    /// one transaction.
    pub plan_seconds: f64,
    pub messages: usize,
    /// From the first claim to the last message accepted.
    pub deliver_seconds: f64,
    pub messages_per_sec: f64,
    /// Messages the receiver accepted (each key once).
    pub received: usize,
    /// Requests a robot refused for exceeding its rate limit.
    pub refused_by_robots: usize,
    pub peak_rss_mb: f64,
}

pub fn run(
    findings: usize,
    organizations: usize,
    to: Target,
    rate_window_secs: u64,
) -> Result<AlertsReport> {
    if organizations == 0 || findings == 0 || rate_window_secs == 0 {
        bail!("--findings, --organizations and --rate-window-secs must be at least 1");
    }
    let runtime = crate::commands::runtime()?;
    let dir = std::env::temp_dir().join(format!("siteward-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = runtime.block_on(measure(&dir, findings, organizations, to, rate_window_secs));
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(
    dir: &std::path::Path,
    count: usize,
    orgs: usize,
    to: Target,
    rate_window_secs: u64,
) -> Result<AlertsReport> {
    use crate::config::{SinkConfig, SinkKind};
    let receiver = crate::sim::webhook::Receiver::start(None)
        .await
        .context("cannot start the webhook receiver")?;
    let robots = crate::sim::robots::Robots::start("unused")
        .await
        .context("cannot start the simulated robots")?;
    // The robots keep WeCom's 20 a minute, over a window a little shorter
    // than the sender's (it counts a send when it admits it, the robot
    // when it arrives).
    robots.rate_limit(20, Duration::from_secs(rate_window_secs).mul_f64(0.95));
    let url = format!("sqlite://{}", dir.join("siteward.db").display());
    let store = Store::open(&url)?;
    let mut config = crate::config::Config::default();
    config.database.url = url;
    config.alerts.poll_ms = 10;
    config.alerts.rate_window_secs = rate_window_secs;
    let mut policy = crate::policy::Policy::built_in();
    policy.alerts.timing.group_wait = Duration::ZERO;
    let ids = if to == Target::Webhooks {
        crate::sim::webhook::organizations(&store, &policy, &receiver, orgs)?
    } else {
        crate::sim::webhook::organizations_without_webhooks(&store, &policy, orgs)?
    };
    match to {
        Target::Webhooks => {}
        Target::Robot => config.alerts.sink.push(SinkConfig::new(
            "robot",
            SinkKind::Wecom,
            &robots.url("/wecom/province?key=bench"),
        )),
        Target::Robots => {
            for i in 0..orgs {
                let name = format!("robot{i}");
                config.alerts.sink.push(SinkConfig::new(
                    &name,
                    SinkKind::Wecom,
                    &robots.url(&format!("/wecom/org{i}?key=bench")),
                ));
                policy.alerts.routes.push(crate::policy::alerts::Route {
                    line: 0,
                    kinds: Vec::new(),
                    severities: Vec::new(),
                    organizations: vec![crate::sim::webhook::organization_name(i)],
                    divisions: Vec::new(),
                    sinks: vec![name],
                    escalation: false,
                });
            }
        }
    }
    let evaluation = crate::sim::webhook::dangling_round(&ids, count, Utc::now());
    let app = Arc::new(App::new(config, None, policy, store.clone()));
    let alerting = app.alerting();
    let started = Instant::now();
    let planning = store.clone();
    let (_, planned) = tokio::task::spawn_blocking(move || {
        planning.record_evaluation(&evaluation, 1, &alerting, Utc::now())
    })
    .await??;
    let plan_seconds = started.elapsed().as_secs_f64();
    if !planned.unrouted.is_empty() {
        bail!("{} findings reached no webhook", planned.unrouted.len());
    }
    let messages = store.notifications(None, i64::MAX)?.len();
    let owner = crate::store::instance();
    let started = Instant::now();
    loop {
        let claimed = crate::app::alerts::deliver_due(&app, &owner).await?;
        let pending = store
            .notifications(Some(crate::alerts::NotificationStatus::Pending), 1)?
            .len();
        if claimed == 0 && pending == 0 {
            break;
        }
        if claimed == 0 {
            // Waiting for a rate window: look again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("messages still pending after an hour");
        }
    }
    let deliver_seconds = started.elapsed().as_secs_f64();
    let received = receiver.received();
    if received.iter().any(|r| r.repeat) {
        bail!("a message was delivered twice");
    }
    let received = received.len() + robots.posted().len();
    Ok(AlertsReport {
        findings: count,
        organizations: orgs,
        to,
        rate_window_secs,
        plan_seconds,
        messages,
        deliver_seconds,
        messages_per_sec: messages as f64 / deliver_seconds.max(1e-9),
        received,
        refused_by_robots: robots.refused().len(),
        peak_rss_mb: super::peak_rss_mb(),
    })
}
