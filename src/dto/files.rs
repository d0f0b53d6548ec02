//! Imports, exports, reconciliation runs, circulars and alerts as JSON:
//! what `import --json`, `reconcile list --json`, `reconcile --json`,
//! `report --json`, `alerts list --json`, `alerts sinks --json` and
//! `maintenance list --json` print, and what the API answers for them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{maybe_time, time};
use crate::app::alerts::SinkView;
use crate::app::registry::ImportReport;
use crate::reconcile::output::Report;
use crate::report::Circular;
use crate::store::alerts::Notification;
use crate::store::maintenance::{Scope, Window};
use crate::store::reconcile::RunSummary;
use crate::store::reports::ReportSummary;

/// What an import did, or what a dry run would have done.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportDto {
    /// The file's name, as given.
    pub file: String,
    /// `UTF-8`, `GB18030`, `UTF-16LE`, `XLSX`, `XLS`, …
    pub encoding: String,
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Organizations created for organizers the registry lacked.
    pub orgs_created: usize,
    /// How many advisory warnings (never a reason to refuse).
    pub warnings: usize,
    /// Each warning with its line.
    pub warning_lines: Vec<ImportWarningDto>,
    /// Header names that map to no field (ignored).
    pub ignored_columns: Vec<String>,
}

/// An advisory warning of an import, with its line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportWarningDto {
    pub line: u64,
    pub field: String,
    pub value: String,
    pub message: String,
}

impl ImportDto {
    pub fn new(file: &str, report: &ImportReport) -> ImportDto {
        let summary = &report.summary;
        ImportDto {
            file: file.to_string(),
            encoding: report.info.encoding.to_string(),
            dry_run: report.dry_run,
            rows: summary.rows,
            created: summary.created,
            updated: summary.updated,
            unchanged: summary.unchanged,
            orgs_created: summary.orgs_created,
            warnings: summary.warnings.len(),
            warning_lines: summary
                .warnings
                .iter()
                .map(|(line, w)| ImportWarningDto {
                    line: *line,
                    field: w.field.clone(),
                    value: w.value.clone(),
                    message: w.message.clone(),
                })
                .collect(),
            ignored_columns: report.info.ignored_columns.clone(),
        }
    }
}

/// A refused import, as the API answers it (400): every bad row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportRefusedDto {
    pub error: String,
    pub rows: Vec<RowErrorDto>,
}

/// A bad row of an imported file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorDto {
    /// Its line (a CSV's line, a workbook's row number).
    pub line: u64,
    pub message: String,
    /// The field refused, its value and the rule it breaks; null when the
    /// fault is the row's as a whole.
    pub field: Option<String>,
    pub value: Option<String>,
    pub rule: Option<String>,
}

/// A stored reconciliation run, without its discrepancies: `reconcile
/// list --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconcileRunSummaryDto {
    pub id: i64,
    /// `2026Q4`.
    pub quarter: String,
    /// What the registry was compared as of.
    pub as_of: String,
    /// Whether the quarter was over when it ran.
    pub complete: bool,
    pub ran_at: String,
    /// `manual` or `scheduled`.
    pub trigger: String,
    pub actor: String,
    pub discrepancies: i64,
    pub fixes: i64,
}

impl From<&RunSummary> for ReconcileRunSummaryDto {
    fn from(r: &RunSummary) -> Self {
        ReconcileRunSummaryDto {
            id: r.id,
            quarter: r.quarter.clone(),
            as_of: time(r.as_of),
            complete: r.complete,
            ran_at: time(r.ran_at),
            trigger: r.trigger.clone(),
            actor: r.actor.clone(),
            discrepancies: r.discrepancies,
            fixes: r.fixes,
        }
    }
}

/// One input a run read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconcileInputDto {
    /// `national_sites`, `national_accounts`, `zhaocuo` or `zone`.
    pub role: String,
    /// The file's name, or `AXFR zone`.
    pub source: String,
    /// XLSX, the CSV's encoding, or `zone`.
    pub format: String,
    pub rows: usize,
}

/// A reconciliation run: its counts and files (`reconcile --json`; the
/// discrepancies themselves are in its `discrepancies.json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconcileRunDto {
    pub id: i64,
    pub quarter: String,
    pub as_of: String,
    pub complete: bool,
    pub ran_at: String,
    pub trigger: String,
    pub actor: String,
    pub inputs: Vec<ReconcileInputDto>,
    /// How many discrepancies.
    pub discrepancies: usize,
    /// How many of each kind (`not_in_registry`, …).
    pub by_kind: BTreeMap<String, usize>,
    /// How many rows to change in the national system.
    pub fixes: usize,
    /// The registry's and the inputs' sizes.
    #[schema(value_type = Object)]
    pub stats: serde_json::Value,
    /// Its files: the paths written (command line), or the names to
    /// download under `/api/v1/reconcile/runs/{id}/files/` (API).
    pub files: Vec<String>,
}

impl ReconcileRunDto {
    pub fn new(report: &Report, files: Vec<String>) -> ReconcileRunDto {
        ReconcileRunDto {
            id: report.id,
            quarter: report.quarter.to_string(),
            as_of: time(report.as_of),
            complete: report.complete,
            ran_at: time(report.ran_at),
            trigger: report.trigger.as_str().to_string(),
            actor: report.actor.clone(),
            inputs: report
                .inputs
                .iter()
                .map(|i| ReconcileInputDto {
                    role: i.role.clone(),
                    source: i.source.clone(),
                    format: i.format.clone(),
                    rows: i.rows,
                })
                .collect(),
            discrepancies: report.comparison.discrepancies.len(),
            by_kind: report
                .counts()
                .iter()
                .map(|(k, n)| (k.id().to_string(), *n))
                .collect(),
            fixes: report.comparison.fixes.len(),
            stats: serde_json::to_value(&report.comparison.stats)
                .unwrap_or(serde_json::Value::Null),
            files,
        }
    }
}

/// A stored circular, without its body: `report list --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportSummaryDto {
    pub id: i64,
    pub quarter: String,
    pub as_of: String,
    pub complete: bool,
    pub generated_at: String,
    pub trigger: String,
    pub actor: String,
    /// The reconciliation run its discrepancies come from.
    pub reconcile_run: Option<i64>,
    /// Sites operated at the quarter's end, and how many failed.
    pub sites: i64,
    pub sites_failed: i64,
}

impl From<&ReportSummary> for ReportSummaryDto {
    fn from(r: &ReportSummary) -> Self {
        ReportSummaryDto {
            id: r.id,
            quarter: r.quarter.clone(),
            as_of: time(r.as_of),
            complete: r.complete,
            generated_at: time(r.generated_at),
            trigger: r.trigger.clone(),
            actor: r.actor.clone(),
            reconcile_run: r.reconcile_run,
            sites: r.sites,
            sites_failed: r.sites_failed,
        }
    }
}

/// A circular: its headline figures and files (`report --json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportDto {
    pub id: i64,
    pub quarter: String,
    pub as_of: String,
    pub complete: bool,
    pub generated_at: String,
    pub reconcile_run: Option<i64>,
    /// "关于2026年第四季度全省政府网站和政务新媒体检查情况的通报".
    pub title: String,
    /// Sites and accounts checked and failed, pass rates, checks,
    /// messages, overdue findings.
    #[schema(value_type = Object)]
    pub figures: serde_json::Value,
    /// Its files: the paths written (command line), or the names to
    /// download under `/api/v1/reports/{id}/files/` (API).
    pub files: Vec<String>,
}

impl ReportDto {
    pub fn new(c: &Circular, files: Vec<String>) -> ReportDto {
        ReportDto {
            id: c.id,
            quarter: c.quarter.to_string(),
            as_of: time(c.as_of),
            complete: c.complete,
            generated_at: time(c.generated_at),
            reconcile_run: c.reconcile_run,
            title: c.title.clone(),
            figures: serde_json::to_value(&c.figures).unwrap_or(serde_json::Value::Null),
            files,
        }
    }
}

/// A file put into the reconcile inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxFileDto {
    /// `sites`, `accounts`, `zhaocuo` or `zone`.
    pub kind: String,
    /// Its name in the inbox.
    pub name: String,
    /// XLSX, XLS, the CSV's encoding, or `zone`.
    pub format: String,
    pub rows: usize,
}

impl From<&crate::app::reconcile::InboxFile> for InboxFileDto {
    fn from(f: &crate::app::reconcile::InboxFile) -> Self {
        InboxFileDto {
            kind: f.kind.as_str().to_string(),
            name: f.name.clone(),
            format: f.format.clone(),
            rows: f.rows,
        }
    }
}

/// A message in the outbox: `alerts list --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: i64,
    /// Its idempotency key: the same on every attempt.
    pub key: String,
    /// `pending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// `opened`, `repeat`, `resolved`, `overdue`, `test`,
    /// `maintenance_started`, `maintenance_ended`.
    pub kind: String,
    /// The sink's name (never its URL).
    pub sink: String,
    pub org_id: Option<i64>,
    /// The findings it tells of, by id.
    pub findings: Vec<i64>,
    pub attempts: u32,
    pub created_at: String,
    /// When it is (or was) due next.
    pub due: String,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
    /// The receiver's last answer (status and the start of its body).
    pub answer: Option<String>,
}

impl From<&Notification> for NotificationDto {
    fn from(n: &Notification) -> Self {
        NotificationDto {
            id: n.id,
            key: n.key.clone(),
            status: n.status.as_str().to_string(),
            kind: n.kind.as_str().to_string(),
            sink: n.sink.clone(),
            org_id: n.org_id,
            findings: n.findings.clone(),
            attempts: n.attempts,
            created_at: time(n.created_at),
            due: time(n.next_attempt_at.max(n.send_after)),
            delivered_at: maybe_time(n.delivered_at),
            last_error: n.last_error.clone(),
            answer: n.answer.clone(),
        }
    }
}

/// A sink and its state: `alerts sinks --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SinkDto {
    pub name: String,
    /// `webhook`, `wecom`, `dingtalk`, `feishu`, `email`, `org-webhook`.
    pub kind: String,
    /// Its URL, secrets hidden.
    pub target: String,
    /// `ok`, `limited` or `broken`.
    pub state: String,
    pub limited_until: Option<String>,
    /// Why it is limited or broken.
    pub reason: Option<String>,
    /// Since when it is in this state (null: never sent to).
    pub since: Option<String>,
    pub last_delivered_at: Option<String>,
    /// Its quiet hours and days, as configured.
    pub quiet: Option<String>,
}

impl From<&SinkView> for SinkDto {
    fn from(s: &SinkView) -> Self {
        SinkDto {
            name: s.name.clone(),
            kind: s.kind.to_string(),
            target: s.target.clone(),
            state: s.health.as_str().to_string(),
            limited_until: maybe_time(s.limited_until),
            reason: s.reason.clone(),
            since: maybe_time(s.since),
            last_delivered_at: maybe_time(s.last_delivered_at),
            quiet: s.quiet.clone(),
        }
    }
}

/// What a maintenance window covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowScopeDto {
    /// `site` or `org`.
    pub kind: String,
    /// The site's or the organization's id.
    pub id: i64,
    pub name: String,
    /// A site's organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<i64>,
}

/// A maintenance window: `maintenance list --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowDto {
    pub id: i64,
    pub scope: WindowScopeDto,
    /// When each occurrence starts: a crontab expression in China
    /// Standard Time.
    pub cron: String,
    pub duration_secs: i64,
    pub reason: String,
    pub created_at: String,
    /// Ended for good (`maintenance end`).
    pub ended_at: Option<String>,
    /// On now, until then.
    pub on_until: Option<String>,
    /// The next occurrence's start.
    pub next: Option<String>,
}

impl From<&Window> for WindowDto {
    fn from(w: &Window) -> Self {
        let scope = match &w.scope {
            Scope::Site { id, name, org_id } => WindowScopeDto {
                kind: "site".into(),
                id: *id,
                name: name.clone(),
                org_id: Some(*org_id),
            },
            Scope::Org { id, name } => WindowScopeDto {
                kind: "org".into(),
                id: *id,
                name: name.clone(),
                org_id: None,
            },
        };
        WindowDto {
            id: w.id,
            scope,
            cron: w.cron.clone(),
            duration_secs: w.duration_secs,
            reason: w.reason.clone(),
            created_at: time(w.created_at),
            ended_at: maybe_time(w.ended_at),
            on_until: maybe_time(w.active.map(|(_, end)| end)),
            next: maybe_time(w.next),
        }
    }
}

/// A maintenance window to add (`maintenance add`): a site or an
/// organization, a crontab schedule, a duration and a reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWindowBody {
    /// A site (id, identifier code or host name); or give `org`.
    pub site: Option<String>,
    /// An organization, by name; or give `site`.
    pub org: Option<String>,
    /// When each window starts: a 5-field crontab expression in China
    /// Standard Time (`0 22 * * 6`).
    pub cron: String,
    /// How long each lasts: `2h`, `90m`, `1h30m`.
    pub duration: String,
    /// Why, as the notices tell it.
    pub reason: String,
}

/// A reconciliation to run now from the inbox.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRunBody {
    /// The quarter, as `2026Q4`; by default the one the day before
    /// belongs to, as the scheduled job reconciles.
    pub quarter: Option<String>,
}
