//! The `retain` job: history bounded as policy's `[retention]` says.
//! Observations last seen longer ago are pruned, but each fact's latest
//! row and the history of every host name a finding is about, while the
//! finding lasted, are kept: the past quarters' reports and every
//! finding's evidence stay reproducible.

use anyhow::Result;
use chrono::Utc;

use super::{App, db};
use crate::jobs::RunStatus;
use crate::store::Run;

/// Prunes, and records how the run ended.
pub async fn retain_job(app: &App, mut run: Run) -> Result<Run> {
    let days = i64::from(app.policy().retention.observation_days);
    let before = Utc::now() - chrono::Duration::days(days);
    let pruned = db(&app.store, move |s| s.prune_observations(before)).await;
    if let Ok(rows) = &pruned {
        tracing::info!(rows, days, "observations pruned");
    }
    run.status = RunStatus::Ok;
    super::finish(&app.store, run, pruned)
        .await
        .map(|(run, _)| run)
}
