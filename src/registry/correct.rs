//! Correcting a wrongly recorded lifecycle event of a site: re-dated to
//! when it really happened, or voided when it never should have been
//! recorded. Pure: the store finds the event in the audit trail and
//! records the correction as a new audited event naming it; nothing is
//! deleted.

use chrono::{DateTime, Duration, Utc};

use super::lifecycle::LifecycleWindows;
use super::{DomainState, Invalid, Site, SiteStatus};

/// What to do with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// It happened at this time instead.
    Redate(DateTime<Utc>),
    /// It did not happen: the site returns to the state before it. Only
    /// the site's latest transition, and only one that changed no host
    /// name (approve, go-live, suspend, resume, retire).
    Void,
}

/// A recorded lifecycle event: its action, its effective time, and the
/// site's status before it (from its audit row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub action: String,
    pub at: DateTime<Utc>,
    pub status_before: SiteStatus,
    /// The time of the site's latest transition before it.
    pub changed_before: DateTime<Utc>,
    /// Whether a later lifecycle event of the site follows it.
    pub latest: bool,
}

/// The site as corrected. Re-dating moves the event's time field (and
/// what hangs on it: the notice period, release deadlines, the time of
/// the latest transition) and checks that the lifecycle stays in order;
/// voiding returns the site to its status before the event.
pub fn correct(
    site: &Site,
    event: &Event,
    correction: Correction,
    windows: LifecycleWindows,
) -> Result<Site, Invalid> {
    let mut next = site.clone();
    let times = &mut next.times;
    let field = match event.action.as_str() {
        "request" => &mut times.requested_at,
        "approve" => &mut times.approved_at,
        "reject" => &mut times.rejected_at,
        "go-live" => &mut times.live_at,
        "suspend" => &mut times.suspended_at,
        "retire" => &mut times.retiring_at,
        "offline" => &mut times.offline_at,
        "close" => &mut times.closed_at,
        "resume" => {
            return match correction {
                Correction::Void if event.latest => void(site, event),
                Correction::Void => Err(not_latest(event)),
                Correction::Redate(_) => Err(Invalid::new(
                    "event",
                    "resume",
                    "records no time of its own: void it and resume again",
                )),
            };
        }
        other => {
            return Err(Invalid::new(
                "event",
                other,
                "is not a lifecycle event: correct a site's details with `site edit`",
            ));
        }
    };
    // A later event of the same kind (a second suspension) has replaced
    // this one's time: only the time the site holds can be moved. (A void
    // needs only that the event is the latest, re-dated or not.)
    if *field != Some(event.at) && correction != Correction::Void {
        return Err(Invalid::new(
            "event",
            &event.action,
            "was re-dated already, or a later one of its kind replaced it: only the time the site's record holds can be corrected",
        ));
    }
    let at = match correction {
        Correction::Void if !event.latest => return Err(not_latest(event)),
        Correction::Void => return void(site, event),
        Correction::Redate(at) => at,
    };
    *field = Some(at);
    let shift = at - event.at;
    match event.action.as_str() {
        "retire" => {
            next.times.notice_until = Some(at + Duration::days(windows.notice_days.into()));
        }
        "offline" => {
            for domain in &mut next.domains {
                if domain.state == DomainState::Releasing {
                    domain.release_deadline = domain.release_deadline.map(|d| d + shift);
                }
            }
        }
        "close" | "reject" => {
            for domain in &mut next.domains {
                if domain.released_at == Some(event.at) {
                    domain.released_at = Some(at);
                }
            }
        }
        _ => {}
    }
    if next.status_changed_at == event.at && event.latest {
        next.status_changed_at = at;
    }
    in_order(&next)?;
    Ok(next)
}

fn not_latest(event: &Event) -> Invalid {
    Invalid::new(
        "event",
        &event.action,
        "is not the site's latest transition: only the latest can be voided (re-date the others)",
    )
}

/// The site as before its latest transition.
fn void(site: &Site, event: &Event) -> Result<Site, Invalid> {
    let mut next = site.clone();
    match event.action.as_str() {
        "approve" => {
            next.times.approved_at = None;
            next.approval_ref = None;
        }
        "go-live" => next.times.live_at = None,
        "suspend" => {
            next.times.suspended_at = None;
            next.status_reason = None;
        }
        "resume" => {}
        "retire" => {
            next.times.retiring_at = None;
            next.times.notice_until = None;
            next.retirement_ref = None;
        }
        other => {
            return Err(Invalid::new(
                "event",
                other,
                "changed the site's host names and cannot be voided: re-date it, or record the next step",
            ));
        }
    }
    next.status = event.status_before;
    next.status_changed_at = event.changed_before;
    Ok(next)
}

/// The lifecycle's times in their order: requested, then approved or
/// rejected, live, retiring, offline (after the notice), closed.
fn in_order(site: &Site) -> Result<(), Invalid> {
    let t = &site.times;
    let sequence = [
        ("requested", t.requested_at),
        ("approved", t.approved_at),
        ("rejected", t.rejected_at),
        ("live", t.live_at),
        ("retiring", t.retiring_at),
        ("offline", t.offline_at),
        ("closed", t.closed_at),
    ];
    let mut previous: Option<(&str, DateTime<Utc>)> = None;
    for (name, at) in sequence {
        let Some(at) = at else { continue };
        if let Some((before, then)) = previous
            && at < then
        {
            return Err(Invalid::new(
                "at",
                &crate::clock::show(at),
                &format!(
                    "would put `{name}` before `{before}` ({} China Standard Time)",
                    crate::clock::show(then)
                ),
            ));
        }
        previous = Some((name, at));
    }
    if let (Some(offline), Some(until)) = (t.offline_at, t.notice_until)
        && offline < until
    {
        return Err(Invalid::new(
            "at",
            &crate::clock::show(offline),
            &format!(
                "would take the site offline before its closure notice ends ({} China Standard Time)",
                crate::clock::show(until)
            ),
        ));
    }
    if let (Some(suspended), Some(live)) = (t.suspended_at, t.live_at)
        && site.status == SiteStatus::Suspended
        && suspended < live
    {
        return Err(Invalid::new(
            "at",
            &crate::clock::show(suspended),
            "would suspend the site before it went live",
        ));
    }
    Ok(())
}
