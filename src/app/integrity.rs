//! The registry's integrity: `audit verify` for people, and the daily
//! `audit` job that turns the verification into the `registry_tampered`
//! finding (opened, alerted and resolved like any other).

use anyhow::Result;
use chrono::Utc;

use super::{App, db};
use crate::jobs::RunStatus;
use crate::registry::integrity::Verification;
use crate::store::{Run, Store, StoreError};

/// Walks the audit chain and compares the registry with it.
pub fn verify(store: &Store) -> Result<Verification, StoreError> {
    store.verify_audit()
}

/// Verifies, then records the judgement as findings in one transaction.
/// The head is logged so that an office can keep it apart from the
/// database: a chain rewritten from the start would have another.
pub async fn audit_job(app: &App, mut run: Run) -> Result<Run> {
    let outcome = async {
        let verification = db(&app.store, verify).await?;
        let now = Utc::now();
        let evaluation = crate::findings::integrity::judge(&verification, &app.policy(), now);
        let alerting = app.alerting();
        let (stats, _) = db(&app.store, move |s| {
            s.record_evaluation(&evaluation, 1, &alerting, now)
        })
        .await?;
        match &verification.head {
            Some(head) => tracing::info!(
                rows = verification.rows,
                entities = verification.entities,
                breaks = verification.breaks.len(),
                head_row = head.row,
                head_hash = %head.hash,
                "audit trail verified"
            ),
            None => tracing::info!(entities = verification.entities, "audit trail empty"),
        }
        for b in verification.breaks.iter().take(20) {
            tracing::warn!(%b, "audit trail break");
        }
        Ok((verification, stats))
    }
    .await;
    if let Ok((verification, stats)) = &outcome {
        run.hosts = usize::try_from(verification.entities).unwrap_or(usize::MAX);
        run.opened = stats.opened;
        run.resolved = stats.resolved;
        run.status = RunStatus::Ok;
    }
    super::finish(&app.store, run, outcome)
        .await
        .map(|(run, _)| run)
}
