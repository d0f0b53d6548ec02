//! Sinks' shared state: each sink's health (ok, rate-limited until a
//! time, broken with the reason) and its recent sends, which every
//! instance counts before sending, so that the daemons sharing one robot
//! keep its rate limit together.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;
use super::convert::{from_db, from_db_opt, to_db};
use super::rows::{NewSinkSendRow, SinkStateRow};
use super::sql::Sql;
use crate::alerts::SinkHealth;
use crate::alerts::rate::RateLimit;

/// A sink as the sender last found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkState {
    pub sink: String,
    pub health: SinkHealth,
    /// Rate-limited until then (when `health` is `limited`).
    pub limited_until: Option<DateTime<Utc>>,
    /// Why it is limited or broken.
    pub reason: Option<String>,
    pub changed_at: DateTime<Utc>,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

impl SinkState {
    /// The health in force at `now`: a limit that has passed is ok.
    pub fn health_at(&self, now: DateTime<Utc>) -> SinkHealth {
        match (self.health, self.limited_until) {
            (SinkHealth::Limited, Some(until)) if until <= now => SinkHealth::Ok,
            (health, _) => health,
        }
    }
}

fn state(row: SinkStateRow) -> Result<SinkState, StoreError> {
    Ok(SinkState {
        health: row.state.parse().map_err(|_| StoreError::Corrupt {
            what: format!("sink_states row `{}`: state `{}`", row.sink, row.state),
        })?,
        sink: row.sink,
        limited_until: from_db_opt(row.limited_until),
        reason: row.reason,
        changed_at: from_db(row.changed_at),
        last_delivered_at: from_db_opt(row.last_delivered_at),
    })
}

/// Every sink with a recorded state.
pub fn states<C: Sql>(c: &mut C) -> Result<Vec<SinkState>, StoreError> {
    c.sink_state_rows()?.into_iter().map(state).collect()
}

/// Whether `n` sends to `sink` may go at `now` under `limits`, counted
/// over every instance's sends; if they may, they are recorded as sent.
/// `Some(wait)` when they must wait: the sink is rate-limited (a robot
/// asked us to), or its limits are reached.
pub fn admit<C: Sql>(
    c: &mut C,
    sink: &str,
    n: usize,
    limits: &[RateLimit],
    now: DateTime<Utc>,
) -> Result<Option<std::time::Duration>, StoreError> {
    c.serialise_sinks()?;
    if let Some(row) = c.sink_state_row(sink)? {
        let found = state(row)?;
        if found.health_at(now) == SinkHealth::Limited
            && let Some(until) = found.limited_until
        {
            return Ok(Some((until - now).to_std().unwrap_or_default()));
        }
    }
    if limits.is_empty() {
        return Ok(None);
    }
    let longest = limits
        .iter()
        .map(|l| crate::alerts::rate::counted_window(l.window))
        .max()
        .unwrap_or_default();
    let since = now - chrono::Duration::from_std(longest).unwrap_or_default();
    c.delete_sink_sends_before(sink, to_db(since))?;
    let sent: Vec<DateTime<Utc>> = c
        .sink_sends_since(sink, to_db(since))?
        .into_iter()
        .map(from_db)
        .collect();
    if let Some(wait) = crate::alerts::rate::wait(&sent, n, limits, now) {
        return Ok(Some(wait));
    }
    let rows: Vec<NewSinkSendRow> = (0..n)
        .map(|_| NewSinkSendRow {
            sink: sink.to_string(),
            sent_at: to_db(now),
        })
        .collect();
    c.insert_sink_sends(&rows)?;
    Ok(None)
}

/// What a send told of its sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    /// It accepted a message.
    Delivered,
    /// It asked us to wait until then.
    Limited {
        until: DateTime<Utc>,
        reason: String,
    },
    /// It cannot take messages: removed, disabled or misconfigured.
    Broken { reason: String },
}

impl Told {
    /// What an outcome tells of its sink; a transient failure or a held
    /// message tells nothing.
    pub fn of(outcome: &super::alerts::Outcome, now: DateTime<Utc>) -> Option<Told> {
        use super::alerts::Outcome;
        match outcome {
            Outcome::Accepted(_) => Some(Told::Delivered),
            Outcome::Limited { error, after, .. } => Some(Told::Limited {
                until: now + chrono::Duration::from_std(*after).unwrap_or_default(),
                reason: error.clone(),
            }),
            Outcome::Broken { error, .. } => Some(Told::Broken {
                reason: error.clone(),
            }),
            Outcome::Refused { .. } | Outcome::Deferred { .. } | Outcome::Quiet { .. } => None,
        }
    }
}

/// Records what a send told of `sink`, in the caller's transaction.
pub fn record<C: Sql>(
    c: &mut C,
    sink: &str,
    told: &Told,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Read and written under the senders' lock: another instance's
    // "delivered" must not overwrite a robot's "wait" it never saw.
    c.serialise_sinks()?;
    let before = c.sink_state_row(sink)?;
    let last_delivered_at = before.as_ref().and_then(|r| r.last_delivered_at);
    // A message accepted while the sink is limited was sent before the
    // robot asked us to wait: the wait still holds.
    let waiting = before.as_ref().filter(|r| {
        r.state == SinkHealth::Limited.as_str() && r.limited_until.is_some_and(|u| u > to_db(now))
    });
    let (health, until, reason, delivered) = match (told, waiting) {
        (Told::Delivered, Some(limited)) => (
            SinkHealth::Limited,
            limited.limited_until,
            limited.reason.clone(),
            Some(to_db(now)),
        ),
        (Told::Delivered, None) => (SinkHealth::Ok, None, None, Some(to_db(now))),
        (Told::Limited { until, reason }, _) => (
            SinkHealth::Limited,
            Some(to_db(*until)),
            Some(reason.clone()),
            last_delivered_at,
        ),
        (Told::Broken { reason }, _) => (
            SinkHealth::Broken,
            None,
            Some(reason.clone()),
            last_delivered_at,
        ),
    };
    let changed = before
        .as_ref()
        .filter(|r| r.state == health.as_str() && r.reason == reason)
        .map_or(to_db(now), |r| r.changed_at);
    c.upsert_sink_state(&SinkStateRow {
        sink: sink.to_string(),
        state: health.as_str().to_string(),
        limited_until: until,
        reason,
        changed_at: changed,
        last_delivered_at: delivered,
    })?;
    Ok(())
}
