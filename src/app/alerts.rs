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
use crate::alerts::email::EmailSink;
use crate::alerts::quiet::Quiet;
use crate::alerts::robots::RobotSink;
use crate::alerts::sink::{Sink, Verdict};
use crate::alerts::webhook::{Client, WebhookSink};
use crate::alerts::{NotificationStatus, SinkHealth, own_webhook_contact};
use crate::config::SinkKind;
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

    /// The sink a name stands for: a configured sink, or an
    /// organization's own webhook (a WeCom, DingTalk or Feishu robot
    /// recognised by its host, or a generic webhook).
    fn destination(&self, sink: &str) -> Result<Destination> {
        let config = self.config();
        let window = Duration::from_secs(config.alerts.rate_window_secs);
        let scale = window.as_secs_f64() / 60.0;
        let client = self.webhook_client()?;
        if let Some(found) = config.alerts.sink(sink) {
            let secret = found.secret().map_err(InvalidInput)?;
            let limits = found.rate_limits(window);
            let to = match (found.kind, found.kind.robot()) {
                (_, Some(robot)) => To::Robot(RobotSink {
                    client,
                    robot,
                    url: found.url.clone(),
                    secret,
                    limits,
                    scale,
                }),
                (SinkKind::Email, None) => To::Email(
                    EmailSink::new(
                        &found.url,
                        found.from.as_deref(),
                        &found.to,
                        client.extra_roots(),
                        Duration::from_secs(config.alerts.timeout_secs),
                        limits,
                    )
                    .map_err(InvalidInput)?,
                ),
                _ => To::Webhook(WebhookSink {
                    client,
                    url: found.url.clone(),
                    secret,
                    limits,
                }),
            };
            return Ok(Destination {
                to,
                quiet: found.quiet().map_err(InvalidInput)?,
                masked: crate::alerts::mask_url(&found.url),
            });
        }
        if let Some(contact) = own_webhook_contact(sink) {
            let (url, org) = self.store.contact(contact)?.ok_or_else(|| {
                anyhow!("the organization's webhook (contact {contact}) was removed")
            })?;
            let masked = crate::alerts::mask_url(&url);
            let to = match crate::alerts::robot_of_url(&url) {
                Some(robot) => {
                    let secret = match config.alerts.org_secrets.get(&org) {
                        Some(secret) => Some(secret.resolve(&org).map_err(InvalidInput)?),
                        None => None,
                    };
                    To::Robot(RobotSink {
                        client,
                        robot,
                        url,
                        secret,
                        limits: crate::alerts::rate::limits(Some(robot), None, window),
                        scale,
                    })
                }
                None => To::Webhook(WebhookSink {
                    client,
                    url,
                    secret: Some(config.alerts.org_webhook_secret.clone())
                        .filter(|s| !s.expose().is_empty()),
                    limits: Vec::new(),
                }),
            };
            return Ok(Destination {
                to,
                quiet: None,
                masked,
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

/// A sink of one of the kinds, ready to send.
enum To {
    Webhook(WebhookSink),
    Robot(RobotSink),
    Email(EmailSink),
}

impl To {
    async fn deliver(&self, app: &App, m: &Sending<'_>) -> Outcome {
        match self {
            To::Webhook(sink) => deliver(app, sink, m).await,
            To::Robot(sink) => deliver(app, sink, m).await,
            To::Email(sink) => deliver(app, sink, m).await,
        }
    }
}

/// Where a message goes: the sink, its quiet hours, and its URL as
/// people may see it.
struct Destination {
    to: To,
    quiet: Option<Quiet>,
    masked: String,
}

/// One message to send: its outbox id (none for a test message), its
/// key, its frozen body, how many of its findings were delivered, and
/// how long a lease lasts (renewed after each part).
struct Sending<'a> {
    id: Option<i64>,
    owner: &'a str,
    sink: &'a str,
    key: &'a str,
    body: &'a str,
    findings_sent: usize,
    lease: Duration,
}

/// Splits smaller at most this many times when a robot says a part was
/// too long (a sixteenth of its limit), then gives up on the message.
const MAX_SHRINK: u32 = 4;

/// Sends one message through `sink`: its parts counted against the
/// sink's limits (in the store, with every instance's sends), sent in
/// order, each delivered part recorded so that a retry sends only the
/// rest; split smaller and resent when the robot says a part was too
/// long.
async fn deliver<S: Sink>(app: &App, sink: &S, m: &Sending<'_>) -> Outcome {
    let mut from = m.findings_sent;
    let mut shrink = 0;
    let mut answers = Vec::new();
    'message: loop {
        let parts = match sink.parts(m.body, from, shrink) {
            Ok(parts) => parts,
            Err(error) => {
                return Outcome::Broken {
                    error,
                    answer: None,
                };
            }
        };
        let n = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            // Each part is counted just before it goes: a long message
            // takes its turn part by part (the rest waits, no attempt
            // spent), so it never floods a robot nor starves behind
            // shorter ones. A sink without limits (a webhook, email) is
            // never limited either: nothing to count, no transaction.
            let limits = sink.limits();
            if !limits.is_empty() {
                let name = m.sink.to_string();
                let admitted = db(&app.store, move |s| {
                    s.admit_sends(&name, 1, &limits, Utc::now())
                })
                .await;
                match admitted {
                    Ok(None) => {}
                    Ok(Some(after)) => return Outcome::Deferred { after },
                    Err(e) => {
                        return Outcome::Refused {
                            error: format!("cannot count the sink's sends: {e:#}"),
                            answer: None,
                            retry_after: None,
                        };
                    }
                }
            }
            let carried = part.findings;
            match sink.send(part.payload, m.key).await {
                Verdict::Accepted { answer } => {
                    answers.push(answer);
                    from += carried;
                    if i + 1 < n && !note_progress(app, m, from).await {
                        // Another sender holds the message now (our lease
                        // ran out): it sends the rest, from what we
                        // recorded.
                        return Outcome::Refused {
                            error: "the lease ran out mid-message; another sender sends the rest"
                                .into(),
                            answer: None,
                            retry_after: None,
                        };
                    }
                }
                Verdict::TooLong { reason, answer } => {
                    if shrink >= MAX_SHRINK {
                        return Outcome::Broken {
                            error: reason,
                            answer: Some(answer),
                        };
                    }
                    tracing::info!(sink = %m.sink, reason = %reason, "alerts: a part was too long; splitting smaller");
                    shrink += 1;
                    continue 'message;
                }
                Verdict::Retry {
                    reason,
                    answer,
                    after,
                } => {
                    return Outcome::Refused {
                        error: reason,
                        answer,
                        retry_after: after,
                    };
                }
                Verdict::Wait {
                    reason,
                    answer,
                    after,
                } => {
                    return Outcome::Limited {
                        error: reason,
                        answer,
                        after,
                    };
                }
                Verdict::Broken { reason, answer } => {
                    return Outcome::Broken {
                        error: reason,
                        answer,
                    };
                }
            }
        }
        return Outcome::Accepted(answers.join(" | "));
    }
}

/// Records that a message's first `sent` findings were delivered, and
/// renews the lease for the rest; false when the lease was lost.
async fn note_progress(app: &App, m: &Sending<'_>, sent: usize) -> bool {
    let Some(id) = m.id else { return true };
    let owner = m.owner.to_string();
    let until = Utc::now() + chrono::Duration::from_std(m.lease).unwrap_or_default();
    match db(&app.store, move |s| {
        s.note_notification_progress(id, &owner, sent, until)
    })
    .await
    {
        Ok(held) => held,
        Err(e) => {
            // Not recorded: a retry would send the delivered parts again
            // (at least once), so stop here rather than go on.
            tracing::warn!(notification = id, error = %format!("{e:#}"), "alerts: cannot record a split message's progress");
            false
        }
    }
}

/// Sends one message to `to`, or holds it while the sink is quiet: a
/// message without a critical finding (or any, when the sink holds
/// criticals too) waits for the quiet to end, no attempt counted.
async fn send_to(app: &App, to: &Destination, m: &Sending<'_>) -> Outcome {
    if let Some(quiet) = &to.quiet
        && let Some(ends) = quiet.ends(Utc::now())
        && (quiet.hold_critical || !crate::alerts::message::has_critical(m.body))
    {
        return Outcome::Quiet {
            after: (ends - Utc::now()).to_std().unwrap_or_default(),
        };
    }
    to.to.deliver(app, m).await
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

/// The receiver's answer to a test message, and whether it was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAnswer {
    pub accepted: bool,
    /// The answer (status and body), or why there was none.
    pub answer: String,
}

/// How long `alerts test` waits for a sink's rate limit to free.
const TEST_WAIT_SECS: u64 = 15;

/// Sends a test message to `sink` now (quiet hours or not), records what
/// it told of the sink, and returns the receiver's answer.
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
    let sending = Sending {
        id: None,
        owner: "",
        sink,
        key: &key,
        body: &body,
        findings_sent: 0,
        lease: Duration::ZERO,
    };
    // A test goes now, quiet hours or not: someone is waiting for it. A
    // rate limit that frees within seconds (Feishu's 5 a second) is
    // waited out.
    let started = std::time::Instant::now();
    let outcome = loop {
        match to.to.deliver(app, &sending).await {
            Outcome::Deferred { after }
                if started.elapsed() + after <= Duration::from_secs(TEST_WAIT_SECS) =>
            {
                tokio::time::sleep(after).await;
            }
            outcome => break outcome,
        }
    };
    let told = crate::store::sinks::Told::of(&outcome, Utc::now());
    if let Some(told) = told {
        let name = sink.to_string();
        db(&app.store, move |s| s.record_sink(&name, &told, Utc::now())).await?;
    }
    Ok(match outcome {
        Outcome::Accepted(answer) => TestAnswer {
            accepted: true,
            answer,
        },
        Outcome::Deferred { after } | Outcome::Quiet { after } => {
            anyhow::bail!(
                "sink `{sink}` has reached its rate limit; try again in {} s",
                after.as_secs().max(1)
            )
        }
        Outcome::Refused { error, answer, .. }
        | Outcome::Broken { error, answer }
        | Outcome::Limited { error, answer, .. } => {
            if answer.is_none() {
                anyhow::bail!("sink `{sink}` ({}): {error}", to.masked);
            }
            TestAnswer {
                accepted: false,
                answer: format!("{} ({error})", answer.unwrap_or_default()),
            }
        }
    })
}

/// A sink and its state, for `alerts sinks` and `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SinkView {
    pub name: String,
    pub kind: &'static str,
    /// Its URL, secrets hidden.
    pub target: String,
    pub health: SinkHealth,
    pub limited_until: Option<chrono::DateTime<Utc>>,
    pub reason: Option<String>,
    /// Since when it is in this state (none: never sent to).
    pub since: Option<chrono::DateTime<Utc>>,
    pub last_delivered_at: Option<chrono::DateTime<Utc>>,
    /// Its quiet hours and days, as configured.
    pub quiet: Option<String>,
}

/// Every configured sink with its state, then organizations' own
/// webhooks that are not ok.
pub fn sinks(app: &App) -> Result<Vec<SinkView>> {
    let config = app.config();
    let states = app.store.sink_states()?;
    let now = Utc::now();
    let view = |name: &str, kind: &'static str, target: String, quiet: Option<String>| {
        let state = states.iter().find(|s| s.sink == name);
        let health = state.map_or(SinkHealth::Ok, |s| s.health_at(now));
        SinkView {
            name: name.to_string(),
            kind,
            target,
            health,
            limited_until: state
                .and_then(|s| s.limited_until)
                .filter(|_| health == SinkHealth::Limited),
            reason: state
                .and_then(|s| s.reason.clone())
                .filter(|_| health != SinkHealth::Ok),
            since: state.map(|s| s.changed_at),
            last_delivered_at: state.and_then(|s| s.last_delivered_at),
            quiet,
        }
    };
    let mut out: Vec<SinkView> = config
        .alerts
        .sink
        .iter()
        .map(|sink| {
            let quiet = (sink.quiet_hours.is_some() || !sink.quiet_days.is_empty()).then(|| {
                let mut text = sink.quiet_hours.clone().unwrap_or_default();
                if !sink.quiet_days.is_empty() {
                    if !text.is_empty() {
                        text.push_str(", ");
                    }
                    text.push_str(&sink.quiet_days.join(" "));
                }
                text
            });
            let target = if sink.kind == SinkKind::Email {
                format!(
                    "{} → {}",
                    crate::alerts::mask_url(&sink.url),
                    sink.to.join(", ")
                )
            } else {
                crate::alerts::mask_url(&sink.url)
            };
            view(&sink.name, sink.kind.as_str(), target, quiet)
        })
        .collect();
    for state in &states {
        if own_webhook_contact(&state.sink).is_some() && state.health_at(now) != SinkHealth::Ok {
            out.push(view(&state.sink, "org-webhook", String::new(), None));
        }
    }
    Ok(out)
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
                Ok(s) if s.repeated + s.overdue + s.notices > 0 => {
                    tracing::info!(
                        repeated = s.repeated,
                        overdue = s.overdue,
                        maintenance_notices = s.notices,
                        "alerts: findings to tell again, or maintenance windows that started or ended"
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
    let base = Duration::from_millis(config.alerts.retry_base_ms);
    let max = Duration::from_secs(config.alerts.retry_max_secs);
    let max_attempts = config.alerts.max_attempts;
    let semaphore = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut sends = Vec::new();
    for message in claimed {
        let app = app.clone();
        let semaphore = semaphore.clone();
        let owner = owner.to_string();
        sends.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let outcome = match app.destination(&message.sink) {
                Ok(to) => {
                    let sending = Sending {
                        id: Some(message.id),
                        owner: &owner,
                        sink: &message.sink,
                        key: &message.key,
                        body: &message.body,
                        findings_sent: message.findings_sent,
                        lease,
                    };
                    send_to(&app, &to, &sending).await
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
                Outcome::Quiet { after } => tracing::debug!(notification = message.id, sink = %message.sink, wait_ms = after.as_millis() as u64, "alerts: the sink is quiet; waiting for it to end"),
                Outcome::Limited { error, after, .. } => tracing::warn!(notification = message.id, sink = %message.sink, error = %error, wait_ms = after.as_millis() as u64, "alerts: the sink asked us to wait"),
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

/// A maintenance window as a person asks for it (the API's body, the web
/// page's form): each field as typed.
#[derive(Debug, Clone, Default)]
pub struct WindowAsked {
    /// A site (id, identifier code or host name).
    pub site: Option<String>,
    /// An organization, by name.
    pub org: Option<String>,
    /// When each occurrence starts: a crontab expression in China Standard
    /// Time.
    pub cron: String,
    /// How long each lasts: `2h`, `90m`, `1h30m`.
    pub duration: String,
    pub reason: String,
}

/// `asked` checked as `maintenance add` checks its flags, refused in the
/// same words, naming the field.
pub fn window_asked(
    asked: &WindowAsked,
) -> Result<crate::store::maintenance::NewWindow, crate::registry::Invalid> {
    use crate::registry::Invalid;
    let cron = asked
        .cron
        .parse::<crate::policy::cron::CronSchedule>()
        .map_err(|e| Invalid::new("cron", &asked.cron, &e))?;
    let duration = crate::cli::span(&asked.duration)
        .map_err(|e| Invalid::new("duration", &asked.duration, &e))?;
    let reason = crate::registry::text::note("reason", &asked.reason)?;
    let org = asked
        .org
        .as_deref()
        .map(|raw| crate::registry::text::name("org", raw))
        .transpose()?;
    if asked.site.is_some() == org.is_some() {
        return Err(Invalid::new(
            "site",
            asked.site.as_deref().unwrap_or_default(),
            "give site or org, one of them",
        ));
    }
    Ok(crate::store::maintenance::NewWindow {
        site: asked.site.clone(),
        org,
        cron,
        duration,
        reason,
    })
}

/// Adds window `new` for a caller seeing `visible`: a site or organization
/// it may not see is refused as if it did not exist. Audited under
/// `change`.
pub fn add_window(
    store: &crate::store::Store,
    visible: &crate::access::Visible,
    new: crate::store::maintenance::NewWindow,
    change: &crate::store::Change,
) -> Result<crate::store::maintenance::Window, crate::store::StoreError> {
    use crate::store::StoreError;
    let (site, org) = match (&new.site, &new.org) {
        (Some(key), _) => {
            let site = store.site(key)?;
            if !visible.org_name(&site.org) {
                return Err(StoreError::NotFound {
                    what: "site",
                    key: key.clone(),
                });
            }
            (Some(site.id.to_string()), None)
        }
        (None, Some(name)) => {
            let org = store.org(name)?;
            if !visible.org_id(org.id) {
                return Err(StoreError::NotFound {
                    what: "organization",
                    key: name.clone(),
                });
            }
            (None, Some(org.name))
        }
        (None, None) => (None, None),
    };
    store.add_window(
        &crate::store::maintenance::NewWindow { site, org, ..new },
        change,
    )
}

/// Ends window `id` for a caller seeing `visible` (another organization's
/// window is refused as if it did not exist). Audited under `change`.
pub fn end_window(
    store: &crate::store::Store,
    visible: &crate::access::Visible,
    id: i64,
    change: &crate::store::Change,
) -> Result<crate::store::maintenance::Window, crate::store::StoreError> {
    let window = store.window(id, Utc::now())?;
    if !visible.org_id(window.scope.org_id()) {
        return Err(crate::store::StoreError::NotFound {
            what: "maintenance window",
            key: id.to_string(),
        });
    }
    store.end_window(id, change)
}

/// The maintenance windows not ended that `visible` sees (its
/// organizations' and their sites'), by id, as of `now`.
pub fn visible_windows(
    store: &crate::store::Store,
    visible: &crate::access::Visible,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<crate::store::maintenance::Window>, crate::store::StoreError> {
    let mut windows = store.windows(now)?;
    windows.retain(|w| visible.org_id(w.scope.org_id()));
    windows.sort_by_key(|w| w.id);
    Ok(windows)
}
