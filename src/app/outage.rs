//! Telling our own outage from the sites': when the monitor's network,
//! firewall or resolver is down, every site would look down at once, and
//! a few hours of it a week would break the availability rule on every
//! site of the province. Two guards, both ending the round as
//! `measurement_failed` with nothing of it kept:
//!
//! - the policy's canaries (host names outside the region that should
//!   always load), probed before anything else; when none loads, nothing
//!   else is probed;
//! - with no canaries, the round's [`Gate`]: observations are held back
//!   until some web probe of some host answered, and dropped when none
//!   did, so that no visit of such a round enters the history.

use std::sync::Mutex;

use crate::findings::MeasurementFailure;
use crate::probe::http::PageOutcome;
use crate::probe::run::Prober;
use crate::probe::{Observation, ObservationData};
use crate::registry::Hostname;

/// The scope of a failure about the whole round rather than one host.
pub const ROUND: &str = "round";

/// Probes the canaries; `Some` failure (the round must stop) when there
/// are some and none loads.
pub async fn canaries_down(prober: &Prober, canaries: &[Hostname]) -> Option<MeasurementFailure> {
    if canaries.is_empty() {
        return None;
    }
    match prober.canaries(canaries).await {
        Ok(host) => {
            tracing::debug!(canary = %host, "a canary loads");
            None
        }
        Err(reasons) => {
            tracing::warn!(%reasons, "no canary loads: this round probes nothing");
            Some(MeasurementFailure {
                scope: ROUND.into(),
                reason: format!(
                    "no canary loads ({reasons}): the trouble is on our side, nothing was probed"
                ),
            })
        }
    }
}

/// The host names a round may try, with no web answer at all, before it
/// is called unmeasurable: far more than a healthy province ever fails
/// in a row, far fewer than it has.
const UNANSWERED_LIMIT: usize = 2_000;

#[derive(Debug)]
enum State {
    /// Nothing answered yet: what was observed waits here.
    Holding {
        held: Vec<Observation>,
        /// Whether any web probe was tried (a round of names that do not
        /// resolve tries none, and proves nothing either way).
        tried: bool,
        hosts: usize,
    },
    /// Some web probe answered: everything is kept.
    Open,
    /// Too many host names tried and none answered: nothing is kept.
    Shut,
}

/// Holds a round's observations back until one web probe answered (see
/// the module's comment). Shared by every batch of the round.
#[derive(Debug)]
pub struct Gate {
    state: Mutex<State>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            state: Mutex::new(State::Holding {
                held: Vec::new(),
                tried: false,
                hosts: 0,
            }),
        }
    }
}

/// Whether an observation shows our side reaching a web server: any HTTP
/// answer, a TLS handshake that got a certificate, a feed read.
fn answered(observation: &Observation) -> bool {
    match &observation.data {
        ObservationData::Page(PageOutcome::Loaded { .. }) => true,
        ObservationData::Tls(tls) => !tls.chain.is_empty(),
        ObservationData::Feed(poll) => {
            matches!(poll.result, crate::probe::feed::FeedResult::Read(_))
        }
        _ => false,
    }
}

fn tried(observation: &Observation) -> bool {
    matches!(
        observation.data,
        ObservationData::Page(_) | ObservationData::Tls(_) | ObservationData::Feed(_)
    )
}

impl Gate {
    /// Takes a batch: returns what is to be stored now (the batch, and
    /// everything held before it, once something answered), nothing while
    /// nothing has.
    pub fn admit(&self, batch: Vec<Observation>) -> Vec<Observation> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *state {
            State::Open => batch,
            State::Shut => Vec::new(),
            State::Holding { held, tried, hosts } => {
                if batch.iter().any(answered) {
                    let mut all = std::mem::take(held);
                    all.extend(batch);
                    *state = State::Open;
                    return all;
                }
                *tried |= batch.iter().any(self::tried);
                *hosts += batch
                    .iter()
                    .map(|o| &o.host)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                if *tried && *hosts > UNANSWERED_LIMIT {
                    tracing::warn!(
                        hosts = *hosts,
                        "no web probe answered: this round keeps nothing"
                    );
                    *state = State::Shut;
                } else {
                    held.extend(batch);
                }
                Vec::new()
            }
        }
    }

    /// At the round's end: what is still held and may be stored (a round
    /// that tried no web probe), or the failure that says the round
    /// measured nothing.
    pub fn close(&self) -> Result<Vec<Observation>, MeasurementFailure> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let failure = || {
            MeasurementFailure {
            scope: ROUND.into(),
            reason: "no web probe of any host answered this round: the trouble is most likely on our side, nothing of the round was kept".into(),
        }
        };
        match std::mem::replace(&mut *state, State::Open) {
            State::Open => Ok(Vec::new()),
            State::Shut => Err(failure()),
            State::Holding { held, tried, .. } => {
                if tried {
                    Err(failure())
                } else {
                    Ok(held)
                }
            }
        }
    }
}
