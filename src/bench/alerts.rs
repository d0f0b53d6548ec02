//! `siteward bench --alerts`: N critical findings opened at once across M
//! organizations, each with its own webhook (a receiver on loopback):
//! how long planning takes (the events and the outbox, in the findings'
//! transaction), how long until every message is delivered by the
//! daemon's sender path (`app::alerts::deliver_due`), and the process's
//! peak memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde::Serialize;

use crate::app::App;
use crate::store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct AlertsReport {
    pub findings: usize,
    pub organizations: usize,
    /// Writing the findings, their events and the planned messages, in
    /// one transaction.
    pub plan_seconds: f64,
    pub messages: usize,
    /// From the first claim to the last message accepted.
    pub deliver_seconds: f64,
    pub messages_per_sec: f64,
    /// Messages the receiver accepted (each key once).
    pub received: usize,
    pub peak_rss_mb: f64,
}

pub fn run(findings: usize, organizations: usize) -> Result<AlertsReport> {
    if organizations == 0 || findings == 0 {
        bail!("--findings and --organizations must be at least 1");
    }
    let runtime = crate::commands::runtime()?;
    let dir = std::env::temp_dir().join(format!("siteward-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = runtime.block_on(measure(&dir, findings, organizations));
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(dir: &std::path::Path, count: usize, orgs: usize) -> Result<AlertsReport> {
    let receiver = crate::sim::webhook::Receiver::start(None)
        .await
        .context("cannot start the webhook receiver")?;
    let url = format!("sqlite://{}", dir.join("siteward.db").display());
    let store = Store::open(&url)?;
    let mut config = crate::config::Config::default();
    config.database.url = url;
    config.alerts.poll_ms = 10;
    let mut policy = crate::policy::Policy::built_in();
    policy.alerts.timing.group_wait = Duration::ZERO;
    let ids = crate::sim::webhook::organizations(&store, &policy, &receiver, orgs)?;
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
        if started.elapsed() > Duration::from_secs(600) {
            bail!("messages still pending after 600 s");
        }
    }
    let deliver_seconds = started.elapsed().as_secs_f64();
    let received = receiver.received();
    if received.iter().any(|r| r.repeat) {
        bail!("a message was delivered twice");
    }
    Ok(AlertsReport {
        findings: count,
        organizations: orgs,
        plan_seconds,
        messages,
        deliver_seconds,
        messages_per_sec: messages as f64 / deliver_seconds.max(1e-9),
        received: received.len(),
        peak_rss_mb: super::peak_rss_mb(),
    })
}
