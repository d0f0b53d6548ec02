//! The one trait every kind of sink implements (a webhook, each group
//! robot, email): its rate limits, how a message is cut into parts it
//! accepts, and how one part is sent and the answer read. The sender
//! (`app::alerts`) drives any of them the same way: it counts the parts
//! against the limits, sends them in order, records how far a split
//! message got, and splits again when a robot says a part was too long.

use std::future::Future;
use std::time::Duration;

use super::rate::RateLimit;

/// One part of a message, and how many of its findings it carries.
#[derive(Debug, Clone)]
pub struct Part<P> {
    pub payload: P,
    pub findings: usize,
}

/// What a sink's answer to one part means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Taken; the receiver's answer.
    Accepted { answer: String },
    /// Not taken; try again, no sooner than `after` when the receiver
    /// says how long.
    Retry {
        reason: String,
        answer: Option<String>,
        after: Option<Duration>,
    },
    /// The sink asks us to stop sending for `after` (a robot's rate
    /// limit): every message to it waits, none counts an attempt.
    Wait {
        reason: String,
        answer: Option<String>,
        after: Duration,
    },
    /// The part was too long for the receiver: split smaller and resend.
    TooLong { reason: String, answer: String },
    /// The sink is removed or misconfigured: retrying cannot help.
    Broken {
        reason: String,
        answer: Option<String>,
    },
}

/// A kind of sink.
pub trait Sink: Send + Sync {
    /// What one part is (a body to POST, an email).
    type Payload: Send;

    /// The limits on how often it may be sent to; none for a webhook.
    fn limits(&self) -> Vec<RateLimit>;

    /// The parts of `body` (the outbox's frozen JSON) from its finding
    /// `from` on, each under the sink's size limit halved `shrink` times;
    /// an error when the body cannot be sent at all.
    fn parts(
        &self,
        body: &str,
        from: usize,
        shrink: u32,
    ) -> Result<Vec<Part<Self::Payload>>, String>;

    /// Sends one part under the message's `key`.
    fn send(&self, part: Self::Payload, key: &str) -> impl Future<Output = Verdict> + Send;
}

/// How many findings a frozen body carries.
pub fn findings_in(body: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["findings"].as_array().map(Vec::len))
        .unwrap_or(0)
}
