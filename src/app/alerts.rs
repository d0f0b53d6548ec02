//! Alert use cases: the daemon's sender task (sweeps for repeats and
//! overdue findings, claims due messages under a lease, delivers them,
//! records the outcome), a test message to one sink, the outbox listed,
//! and a failed message sent again.
//!
//! Delivery is at least once: a message is marked delivered only after
//! its receiver accepted it, so a send cut off by a crash is sent again
//! (same key, same body) once its lease expires, or at once when the
//! only daemon of a SQLite file starts. A daemon stopped by SIGTERM
//! finishes its sends in flight and records them first, so it sends
//! nothing twice.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{App, InvalidInput, db};
use crate::alerts::robots::{Robot, Verdict};
use crate::alerts::webhook::Client;
use crate::alerts::{NotificationStatus, own_webhook_contact};
use crate::config::{Secret, SinkKind};
use crate::store::alerts::{Alerting, Claimed, Notification, Outcome};

/// Messages claimed at a time by one sender.
const BATCH: i64 = 64;
/// Messages sent at once by one sender.
const PARALLEL: usize = 16;

impl App {
    /// What alert planning needs: the policy's routes and timing, and the
    /// sinks configured.
    pub fn alerting(&self) -> Alerting {
        Alerting {
            alerts: self.policy().alerts.clone(),
            sinks: self.config().alerts.sink_names(),
        }
    }

    /// Where a sink is and its secret: a configured sink, or an
    /// organization's own webhook.
    fn destination(&self, sink: &str) -> Result<Destination> {
        let config = self.config();
        if let Some(found) = config.alerts.sink(sink) {
            return Ok(Destination {
                url: found.url.clone(),
                secret: found.secret().map_err(InvalidInput)?,
                kind: found.kind,
                rate: found.rate_limit(),
            });
        }
        if let Some(contact) = own_webhook_contact(sink) {
            let url = self.store.contact(contact)?.ok_or_else(|| {
                anyhow!("the organization's webhook (contact {contact}) was removed")
            })?;
            let secret =
                Some(config.alerts.org_webhook_secret.clone()).filter(|s| !s.expose().is_empty());
            return Ok(Destination {
                url,
                secret,
                kind: SinkKind::Webhook,
                rate: None,
            });
        }
        Err(InvalidInput(format!(
            "no sink `{sink}`: the configuration defines {}",
            names(&config.alerts.sink_names())
        ))
        .into())
    }

    /// The sender's client (its trust store read once, not per batch).
    fn webhook_client(&self) -> Result<Client> {
        if let Some(client) = self.webhook.load_full() {
            return Ok((*client).clone());
        }
        let config = self.config();
        let client = Client::new(
            &config.probe.extra_roots,
            crate::probe::http::user_agent(&config.probe.contact),
            Duration::from_secs(config.alerts.timeout_secs),
        )
        .map_err(InvalidInput)?;
        self.webhook.store(Some(Arc::new(client.clone())));
        Ok(client)
    }
}

/// Where a sink is, its secret, its kind and its rate limit.
struct Destination {
    url: String,
    secret: Option<Secret>,
    kind: SinkKind,
    rate: Option<u32>,
}

/// When each rate-limited sink was sent to within its window (this
/// instance's sends; several instances each keep their own).
#[derive(Debug, Default)]
pub struct SentTimes(
    std::sync::Mutex<
        std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>,
    >,
);

impl SentTimes {
    /// Takes `n` sends of `sink`'s `limit` per `window`, or says how long
    /// until they are free. A message of more parts than the limit goes
    /// when the window is empty.
    fn take(&self, sink: &str, n: usize, limit: u32, window: Duration) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let times = all.entry(sink.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        let limit = limit as usize;
        let free = limit.saturating_sub(times.len());
        if n <= free || times.is_empty() {
            times.extend(std::iter::repeat_n(now, n));
            return Ok(());
        }
        // The oldest sends that must leave the window first.
        let leave = (n.min(limit)).saturating_sub(free);
        let until = times
            .get(leave.saturating_sub(1))
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        Err(until + Duration::from_millis(10))
    }
}

/// Sends one message (its frozen body) to `to`: as it is to a webhook,
/// signed and keyed; rendered, split and signed as each group robot wants
/// it, its parts in order, to a robot.
async fn deliver(
    app: &App,
    client: &Client,
    sink: &str,
    to: &Destination,
    key: &str,
    body: &str,
) -> Outcome {
    let secret = to.secret.as_ref().map(Secret::expose);
    let window = Duration::from_secs(app.config().alerts.rate_window_secs);
    let take = |n: usize| match to.rate {
        Some(limit) => app.sent.take(sink, n, limit, window),
        None => Ok(()),
    };
    let refused = |error: String, answer: Option<String>| Outcome::Refused {
        error,
        answer,
        retry_after: None,
    };
    let Some(robot) = to.kind.robot() else {
        if let Err(after) = take(1) {
            return Outcome::Deferred { after };
        }
        return match client.post(&to.url, body, key, secret).await {
            Ok(answer) if answer.accepted() => {
                Outcome::Accepted(format!("{} {}", answer.status, answer.body))
            }
            Ok(answer) => refused(
                format!("the receiver answered {}", answer.status),
                Some(format!("{} {}", answer.status, answer.body)),
            ),
            Err(e) => refused(e, None),
        };
    };
    let message: serde_json::Value = match serde_json::from_str(body) {
        Ok(message) => message,
        Err(e) => {
            return Outcome::Broken {
                error: format!("the stored message is not JSON: {e}"),
                answer: None,
            };
        }
    };
    let parts = crate::alerts::robots::render(robot, &message);
    // All of a message's parts go in one window, or none yet.
    if let Err(after) = take(parts.len()) {
        return Outcome::Deferred { after };
    }
    let mut answers = Vec::new();
    for mut part in parts {
        let now = Utc::now();
        let mut url = to.url.clone();
        match (robot, secret) {
            (Robot::Dingtalk, Some(secret)) => {
                let ms = now.timestamp_millis();
                let sign = crate::alerts::robots::dingtalk_sign(secret, ms);
                let sign: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                let joiner = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{joiner}timestamp={ms}&sign={sign}");
            }
            (Robot::Feishu, Some(secret)) => {
                crate::alerts::robots::sign_feishu(&mut part, secret, now.timestamp())
            }
            _ => {}
        }
        let answer = match client.post(&url, &part.to_string(), key, None).await {
            Ok(answer) => answer,
            Err(e) => return refused(e, None),
        };
        let text = format!("{} {}", answer.status, answer.body);
        match crate::alerts::robots::verdict(robot, answer.status, &answer.body) {
            Verdict::Accepted => answers.push(text),
            Verdict::Retry { after, reason } => {
                return Outcome::Refused {
                    error: reason,
                    answer: Some(text),
                    retry_after: after,
                };
            }
            Verdict::Broken { reason } => {
                return Outcome::Broken {
                    error: reason,
                    answer: Some(text),
                };
            }
        }
    }
    Outcome::Accepted(answers.join(" | "))
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "no sink ([[alerts.sink]])".to_string()
    } else {
        list.join(", ")
    }
}

/// Checks that every sink a route names is configured.
pub fn check_routes(config: &crate::config::Config, policy: &crate::policy::Policy) -> Result<()> {
    let configured = config.alerts.sink_names();
    for (sink, line) in policy.alerts.sinks_named() {
        if !configured.iter().any(|s| s == sink) {
            return Err(InvalidInput(format!(
                "alerts.toml line {line}: the route names sink `{sink}`, which the configuration does not define (it defines {})",
                names(&configured)
            ))
            .into());
        }
    }
    Ok(())
}

/// Sends a test message to `sink` now, and returns the receiver's answer.
/// The receiver's answer to a test message, and whether it was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAnswer {
    pub accepted: bool,
    /// The answer (status and body), or why there was none.
    pub answer: String,
}

pub async fn send_test(app: &App, sink: &str) -> Result<TestAnswer> {
    let to = app.destination(sink)?;
    let key = format!("test-{}", Utc::now().timestamp_millis());
    let body = crate::alerts::message::Message::new(
        &key,
        crate::alerts::NotificationKind::Test,
        None,
        Vec::new(),
    )
    .to_json();
    Ok(
        match deliver(app, &app.webhook_client()?, sink, &to, &key, &body).await {
            Outcome::Accepted(answer) => TestAnswer {
                accepted: true,
                answer,
            },
            Outcome::Deferred { after } => {
                anyhow::bail!(
                    "sink `{sink}` has reached its rate limit; try again in {} s",
                    after.as_secs().max(1)
                )
            }
            Outcome::Refused { error, answer, .. } | Outcome::Broken { error, answer } => {
                if answer.is_none() {
                    anyhow::bail!(
                        "sink `{sink}` ({}): {error}",
                        crate::alerts::mask_url(&to.url)
                    );
                }
                TestAnswer {
                    accepted: false,
                    answer: format!("{} ({error})", answer.unwrap_or_default()),
                }
            }
        },
    )
}

pub async fn list(
    app: &App,
    status: Option<NotificationStatus>,
    limit: i64,
) -> Result<Vec<Notification>> {
    db(&app.store, move |s| s.notifications(status, limit)).await
}

pub async fn retry(app: &App, id: i64) -> Result<Notification> {
    db(&app.store, move |s| s.retry_notification(id, Utc::now())).await
}

/// The delay before attempt `attempts + 1`: the base doubled per attempt,
/// at most the maximum.
fn retry_in(base: Duration, max: Duration, attempts: u32) -> chrono::Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
    let delay = base.saturating_mul(factor).min(max);
    chrono::Duration::from_std(delay).unwrap_or_default()
}

/// How often the sender sweeps for repeats and overdue findings: often
/// enough for the shortest interval, at most once a minute.
fn sweep_every(alerting: &Alerting, poll: Duration) -> Duration {
    let shortest = alerting
        .alerts
        .deadlines
        .shortest()
        .to_std()
        .unwrap_or(Duration::from_secs(60))
        .min(alerting.alerts.timing.repeat_interval);
    (shortest / 4).clamp(poll, Duration::from_secs(60))
}

/// The daemon's sender: runs until `shutdown`, then finishes the sends in
/// flight and records them.
pub async fn sender(app: Arc<App>, shutdown: CancellationToken) {
    let owner = crate::store::instance();
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        let config = app.config();
        let poll = Duration::from_millis(config.alerts.poll_ms);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(poll) => {}
        }
        let alerting = app.alerting();
        if last_sweep.is_none_or(|at| at.elapsed() >= sweep_every(&alerting, poll)) {
            last_sweep = Some(tokio::time::Instant::now());
            let swept = db(&app.store, move |s| s.sweep_alerts(&alerting, Utc::now())).await;
            match swept {
                Ok(s) if s.repeated + s.overdue > 0 => {
                    tracing::info!(
                        repeated = s.repeated,
                        overdue = s.overdue,
                        "alerts: findings to tell again"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %format!("{e:#}"), "alerts: cannot sweep"),
            }
        }
        if let Err(e) = deliver_due(&app, &owner).await {
            tracing::error!(error = %format!("{e:#}"), "alerts: cannot deliver");
        }
    }
}

/// Claims what is due and delivers it; returns how many were claimed.
pub async fn deliver_due(app: &Arc<App>, owner: &str) -> Result<usize> {
    let config = app.config();
    // Long enough for a send and its recording; a crashed sender's
    // messages wait this long before another takes them.
    let lease = Duration::from_secs(config.alerts.timeout_secs * 2 + 5);
    let who = owner.to_string();
    let claimed: Vec<Claimed> = db(&app.store, move |s| {
        let now = Utc::now();
        s.claim_notifications(
            &who,
            now,
            now + chrono::Duration::from_std(lease).unwrap_or_default(),
            BATCH,
        )
    })
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    let client = app.webhook_client()?;
    let base = Duration::from_millis(config.alerts.retry_base_ms);
    let max = Duration::from_secs(config.alerts.retry_max_secs);
    let max_attempts = config.alerts.max_attempts;
    let semaphore = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut sends = Vec::new();
    for message in claimed {
        let app = app.clone();
        let client = client.clone();
        let semaphore = semaphore.clone();
        let owner = owner.to_string();
        sends.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let outcome = match app.destination(&message.sink) {
                Ok(to) => {
                    deliver(&app, &client, &message.sink, &to, &message.key, &message.body).await
                }
                Err(e) => Outcome::Refused {
                    error: format!("{e:#}"),
                    answer: None,
                    retry_after: None,
                },
            };
            match &outcome {
                Outcome::Accepted(_) => tracing::info!(notification = message.id, sink = %message.sink, "alerts: delivered"),
                Outcome::Refused { error, .. } => tracing::warn!(notification = message.id, sink = %message.sink, error = %error, "alerts: not delivered; will retry"),
                Outcome::Broken { error, .. } => tracing::error!(notification = message.id, sink = %message.sink, error = %error, "alerts: the sink is broken; the message failed"),
                Outcome::Deferred { after } => tracing::debug!(notification = message.id, sink = %message.sink, wait_ms = after.as_millis() as u64, "alerts: the sink's rate limit is reached; waiting"),
            }
            let id = message.id;
            db(&app.store, move |s| {
                s.finish_notification(id, &owner, &outcome, Utc::now(), |n| retry_in(base, max, n), max_attempts)
            })
            .await
        }));
    }
    for send in sends {
        match send.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "alerts: cannot record a delivery")
            }
            Err(e) => tracing::error!(error = %e, "alerts: a send stopped unexpectedly"),
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_maximum() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(60);
        let delays: Vec<i64> = (1..=6)
            .map(|n| retry_in(base, max, n).num_seconds())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
    }
}
