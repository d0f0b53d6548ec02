//! The quarterly circular's use cases: `siteward report` (computed from
//! the store as it stood at the quarter's end, with a reconciliation
//! run, and stored), the daemon's `report` job, and the stored circulars
//! (`report list`, `report show`). Computing is `crate::report`'s.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{App, InvalidInput, db};
use crate::jobs::{Job, RunStatus};
use crate::reconcile::Quarter;
use crate::reconcile::output::Trigger;
use crate::report::Circular;
use crate::report::compute::{self, Facts};
use crate::store::Run;
use crate::store::reports::ReportSummary;

/// What to write.
#[derive(Debug, Clone)]
pub struct Request {
    pub quarter: Quarter,
    /// The reconciliation run to attach; the quarter's newest when `None`.
    pub reconcile: Option<i64>,
    pub trigger: Trigger,
    pub actor: String,
    pub now: DateTime<Utc>,
}

/// Computes the circular of a quarter from the store and stores it.
/// Returns it, numbered.
pub async fn report(app: &App, request: Request) -> Result<Circular> {
    let quarter = request.quarter;
    if quarter.start() > request.now {
        return Err(InvalidInput(format!(
            "{quarter} has not begun: a circular is written during its quarter (as of now) or after it"
        ))
        .into());
    }
    let as_of = quarter.end().min(request.now);
    let store = app.store.clone();
    let policy = app.policy();
    let chosen = request.reconcile;
    let now = request.now;
    let circular = tokio::task::spawn_blocking(move || -> Result<Circular> {
        let reconcile = match chosen {
            Some(id) => Some(store.reconcile_run(id).map_err(|e| match e {
                crate::store::StoreError::NotFound { .. } => anyhow::Error::new(InvalidInput(
                    format!("there is no reconciliation run {id} (`siteward reconcile list`)"),
                )),
                e => e.into(),
            })?),
            None => newest_reconcile(&store, quarter)?,
        };
        let previous = quarter.previous();
        let sites = store.sites(&crate::store::SiteFilter::default())?;
        let orgs = store.orgs()?;
        let accounts = store.accounts()?;
        let findings = store.findings(crate::findings::FindingStatus::ALL)?;
        let earlier = store.sites_as_of(as_of)?;
        let earlier_previous = store.sites_as_of(previous.end())?;
        let accounts_earlier = store.accounts_as_of(as_of)?;
        let accounts_earlier_previous = store.accounts_as_of(previous.end())?;
        let orgs_earlier = store.orgs_as_of(as_of)?;
        let orgs_earlier_previous = store.orgs_as_of(previous.end())?;
        let events = store.finding_events_until(as_of)?;
        let runs = store.runs_between(Job::Probe, previous.start(), as_of)?;
        let pages = store.page_history(previous.start(), as_of, &compute::page_hosts(&sites))?;
        // Corrected since the quarter's newest circular: said, so that two
        // circulars of one quarter that differ are not taken for an error.
        let previous_report = store
            .report_runs(100)?
            .into_iter()
            .find(|r| r.quarter == quarter.to_string());
        // Only rows effective by the end of what both circulars cover: a
        // change made after that is news, not a correction.
        let corrections = match previous_report {
            Some(r) => match store.audit_corrected_after(as_of.min(r.as_of), r.generated_at)? {
                (count, Some(latest)) if count > 0 => Some(compute::Corrections {
                    previous_report: r.id,
                    previous_at: r.generated_at,
                    count,
                    latest,
                }),
                _ => None,
            },
            None => None,
        };
        let facts = Facts {
            policy: &policy,
            sites: &sites,
            earlier: &earlier,
            earlier_previous: &earlier_previous,
            accounts_earlier: &accounts_earlier,
            accounts_earlier_previous: &accounts_earlier_previous,
            orgs_earlier: &orgs_earlier,
            orgs_earlier_previous: &orgs_earlier_previous,
            orgs: &orgs,
            accounts: &accounts,
            findings: &findings,
            events: &events,
            runs: &runs,
            pages: &pages,
            reconcile: reconcile.as_ref(),
            corrections,
        };
        Ok(compute::compute(
            &facts,
            compute::Request {
                quarter,
                as_of,
                generated_at: now,
            },
        ))
    })
    .await
    .context("computing the circular stopped unexpectedly")??;
    let trigger = request.trigger;
    let actor = request.actor;
    let (id, mut circular) = db(&app.store, move |s| {
        s.add_report_run(&circular, trigger.as_str(), &actor)
            .map(|id| (id, circular))
    })
    .await?;
    circular.id = id;
    Ok(circular)
}

/// The newest stored reconciliation run of `quarter`, if any.
fn newest_reconcile(
    store: &crate::store::Store,
    quarter: Quarter,
) -> Result<Option<crate::reconcile::output::Report>> {
    let quarter = quarter.to_string();
    // Runs are few (a handful a quarter); the newest hundred hold any
    // quarter still worth a circular.
    let newest = store
        .reconcile_runs(100)?
        .into_iter()
        .find(|r| r.quarter == quarter);
    Ok(match newest {
        Some(run) => Some(store.reconcile_run(run.id)?),
        None => None,
    })
}

/// The daemon's `report` job: the circular of the quarter the day before
/// belongs to, written under `[report] out` when set.
pub async fn report_job(app: &App, mut run: Run) -> Result<Run> {
    let config = app.config();
    let outcome = async {
        let now = Utc::now();
        let quarter = super::reconcile::scheduled_quarter(now);
        let circular = report(
            app,
            Request {
                quarter,
                reconcile: None,
                trigger: Trigger::Scheduled,
                actor: "siteward".into(),
                now,
            },
        )
        .await?;
        if let Some(out) = &config.report.out {
            let dir = out.join(format!("{}-report-{}", circular.quarter, circular.id));
            crate::report::render::write(&circular, &dir).with_context(|| {
                format!("cannot write the circular's files into {}", dir.display())
            })?;
        }
        tracing::info!(quarter = %circular.quarter, report = circular.id, sites = circular.figures.sites, failed = circular.figures.sites_failed, "circular written");
        Ok(circular)
    }
    .await;
    if let Ok(circular) = &outcome {
        run.hosts = circular.figures.sites_checked;
        run.status = RunStatus::Ok;
    }
    super::finish(&app.store, run, outcome)
        .await
        .map(|(run, _)| run)
}

/// The newest stored circulars.
pub fn list(app: &App, limit: usize) -> Result<Vec<ReportSummary>> {
    Ok(app.store.report_runs(limit)?)
}

/// A stored circular.
pub fn show(app: &App, id: i64) -> Result<Circular> {
    Ok(app.store.report_run(id)?)
}
