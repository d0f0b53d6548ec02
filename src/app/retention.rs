//! The `retain` job: history bounded as policy's `[retention]` says.
//! Observations last seen longer ago are pruned, but each fact's latest
//! row and the history of every host name a finding is about, while the
//! finding lasted, are kept: the past quarters' reports and every
//! finding's evidence stay reproducible. Web sessions past their idle or
//! total limit are deleted.

use anyhow::Result;
use chrono::Utc;

use super::{App, db};
use crate::jobs::RunStatus;
use crate::store::Run;

/// Prunes, and records how the run ended.
pub async fn retain_job(app: &App, mut run: Run) -> Result<Run> {
    let days = i64::from(app.policy().retention.observation_days);
    let before = Utc::now() - chrono::Duration::days(days);
    // Web sessions ended by their limits go too: one never asked for
    // again (a closed browser) would otherwise stay.
    let limits = super::users::SessionLimits::of(&app.config().web);
    let now = Utc::now();
    let pruned = db(&app.store, move |s| {
        let rows = s.prune_observations(before)?;
        let sessions = super::users::prune(s, now, limits)?;
        Ok((rows, sessions))
    })
    .await;
    if let Ok((rows, sessions)) = &pruned {
        tracing::info!(
            rows,
            days,
            sessions,
            "observations and ended web sessions pruned"
        );
    }
    run.status = RunStatus::Ok;
    super::finish(&app.store, run, pruned)
        .await
        .map(|(run, _)| run)
}
