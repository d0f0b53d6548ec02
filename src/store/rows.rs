//! Row types: what diesel reads and writes, one struct per table shape.
//! Conversions to and from the registry's types live in `convert`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    accounts, api_tokens, audit, discovered_hosts, domains, exceptions, finding_events, findings,
    instances, maintenance_windows, notifications, observations, org_contacts, organizations,
    reconcile_runs, report_runs, runs, schedules, sink_sends, sink_states, sites, users,
    web_sessions, work,
};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset, serde::Serialize)]
#[diesel(table_name = organizations, treat_none_as_null = true)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub division: String,
    pub level: String,
    pub parent_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrgRow {
    pub name: String,
    pub division: String,
    pub level: String,
    pub parent_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = org_contacts)]
pub struct ContactRow {
    /// Also names an organization's own webhook as a sink.
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub value: String,
    /// When the contact stopped being used; `None` while it is in use.
    /// Left out of the audited state while `None`, so that the states
    /// audited before the column existed still match their rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<NaiveDateTime>,
}

impl ContactRow {
    /// Whether the contact is in use (not removed).
    pub fn in_use(&self) -> bool {
        self.removed_at.is_none()
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = org_contacts)]
pub struct NewContactRow {
    pub org_id: i64,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset, serde::Serialize)]
#[diesel(table_name = sites, treat_none_as_null = true)]
pub struct SiteRow {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub kind: String,
    pub org_id: i64,
    pub status: String,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub approval_ref: Option<String>,
    pub retirement_ref: Option<String>,
    pub successor_url: Option<String>,
    pub status_reason: Option<String>,
    pub requested_at: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub live_at: Option<NaiveDateTime>,
    pub suspended_at: Option<NaiveDateTime>,
    pub retiring_at: Option<NaiveDateTime>,
    pub notice_until: Option<NaiveDateTime>,
    pub offline_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub status_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A site row without its id, for inserts (the database assigns the id).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sites)]
pub struct NewSiteRow {
    pub code: Option<String>,
    pub name: String,
    pub kind: String,
    pub org_id: i64,
    pub status: String,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub approval_ref: Option<String>,
    pub retirement_ref: Option<String>,
    pub successor_url: Option<String>,
    pub status_reason: Option<String>,
    pub requested_at: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub live_at: Option<NaiveDateTime>,
    pub suspended_at: Option<NaiveDateTime>,
    pub retiring_at: Option<NaiveDateTime>,
    pub notice_until: Option<NaiveDateTime>,
    pub offline_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub status_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset, serde::Serialize)]
#[diesel(table_name = domains, treat_none_as_null = true)]
pub struct DomainRow {
    pub id: i64,
    pub site_id: i64,
    pub hostname: String,
    pub role: String,
    pub state: String,
    pub release_deadline: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub added_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = domains)]
pub struct NewDomainRow {
    pub site_id: i64,
    pub hostname: String,
    pub role: String,
    pub state: String,
    pub release_deadline: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub added_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset, serde::Serialize)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
pub struct AccountRow {
    pub id: i64,
    pub platform: String,
    pub account_id: String,
    pub name: String,
    pub org_id: i64,
    pub status: String,
    pub feed_url: Option<String>,
    pub last_post_at: Option<NaiveDateTime>,
    pub status_reason: Option<String>,
    pub status_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccountRow {
    pub platform: String,
    pub account_id: String,
    pub name: String,
    pub org_id: i64,
    pub status: String,
    pub feed_url: Option<String>,
    pub last_post_at: Option<NaiveDateTime>,
    pub status_reason: Option<String>,
    pub status_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = exceptions)]
pub struct ExceptionRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub reason: String,
    pub actor: String,
    pub valid_until: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = exceptions)]
pub struct NewExceptionRow {
    pub kind: String,
    pub subject: String,
    pub reason: String,
    pub actor: String,
    pub valid_until: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct AuditRow {
    pub id: i64,
    pub recorded_at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub site_id: Option<i64>,
    pub action: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub warnings: Option<String>,
    pub state_json: Option<String>,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
    pub actor_source: Option<String>,
}

/// Every column is given (NULL, not DEFAULT: the audit table's nullable
/// columns have no default), so that PostgreSQL can `COPY` a batch.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit, treat_none_as_default_value = false)]
pub struct NewAuditRow {
    pub recorded_at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub site_id: Option<i64>,
    pub action: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub warnings: Option<String>,
    pub state_json: Option<String>,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
    pub actor_source: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = observations)]
pub struct ObservationRow {
    pub id: i64,
    pub hostname: String,
    pub kind: String,
    pub address: String,
    // `outcome` is written for queries in SQL; Rust reads it from `data`.
    pub data: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub seen_count: i64,
    /// The version of the stored form of `data`.
    pub schema: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = observations)]
pub struct NewObservationRow {
    pub hostname: String,
    pub kind: String,
    pub address: String,
    pub outcome: String,
    pub data: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub seen_count: i64,
    pub schema: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = findings, treat_none_as_null = true)]
pub struct FindingRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub scope: String,
    pub severity: String,
    pub status: String,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub summary: String,
    pub action: String,
    pub evidence: String,
    pub confirmations: i64,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub ack_actor: Option<String>,
    pub ack_note: Option<String>,
    pub ack_at: Option<NaiveDateTime>,
    pub opened_at: Option<NaiveDateTime>,
    pub notified_at: Option<NaiveDateTime>,
    pub overdue_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = findings)]
pub struct NewFindingRow {
    pub kind: String,
    pub subject: String,
    pub scope: String,
    pub severity: String,
    pub status: String,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub summary: String,
    pub action: String,
    pub evidence: String,
    pub confirmations: i64,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub opened_at: Option<NaiveDateTime>,
}

/// What planning reads of a finding that is not resolved.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = findings)]
pub struct CurrentFindingRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub scope: String,
    pub severity: String,
    pub status: String,
    pub org_id: Option<i64>,
    pub confirmations: i64,
    pub last_seen: NaiveDateTime,
    pub ack_at: Option<NaiveDateTime>,
}

/// What a round writes over a finding it saw again.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = findings, treat_none_as_null = true)]
pub struct SeenAgainRow<'a> {
    pub severity: &'a str,
    pub status: &'a str,
    pub scope: &'a str,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub summary: &'a str,
    pub action: &'a str,
    pub evidence: String,
    pub confirmations: i64,
    pub last_seen: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = finding_events)]
pub struct EventRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub finding_id: i64,
    pub at: NaiveDateTime,
    pub change: String,
    pub status: String,
    pub severity: String,
    pub actor: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = notifications, treat_none_as_null = true)]
pub struct NotificationRow {
    pub id: i64,
    pub key: String,
    pub sink: String,
    pub org_id: Option<i64>,
    pub kind: String,
    pub findings: String,
    pub body: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub send_after: NaiveDateTime,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub answer: Option<String>,
    pub window_id: Option<i64>,
    pub findings_sent: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotificationRow {
    pub key: String,
    pub sink: String,
    pub org_id: Option<i64>,
    pub kind: String,
    pub findings: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub send_after: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub window_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sink_states, treat_none_as_null = true)]
pub struct SinkStateRow {
    pub sink: String,
    pub state: String,
    pub limited_until: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub changed_at: NaiveDateTime,
    pub last_delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sink_sends)]
pub struct NewSinkSendRow {
    pub sink: String,
    pub sent_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = maintenance_windows, treat_none_as_null = true)]
pub struct WindowRow {
    pub id: i64,
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub cron: String,
    pub duration_secs: i64,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub started_notice: Option<NaiveDateTime>,
    pub ended_notice: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = maintenance_windows)]
pub struct NewWindowRow {
    pub site_id: Option<i64>,
    pub org_id: Option<i64>,
    pub cron: String,
    pub duration_secs: i64,
    pub reason: String,
    pub created_at: NaiveDateTime,
}

/// A reconciliation run, listed without its report.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reconcile_runs)]
pub struct ReconcileRunRow {
    pub id: i64,
    pub quarter: String,
    pub as_of: NaiveDateTime,
    pub complete: bool,
    pub ran_at: NaiveDateTime,
    pub trigger: String,
    pub actor: String,
    pub discrepancies: i64,
    pub fixes: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reconcile_runs)]
pub struct NewReconcileRunRow {
    pub quarter: String,
    pub as_of: NaiveDateTime,
    pub complete: bool,
    pub ran_at: NaiveDateTime,
    pub trigger: String,
    pub actor: String,
    pub discrepancies: i64,
    pub fixes: i64,
    pub report: String,
}

/// A stored circular, listed without its body.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_runs)]
pub struct ReportRunRow {
    pub id: i64,
    pub quarter: String,
    pub as_of: NaiveDateTime,
    pub complete: bool,
    pub generated_at: NaiveDateTime,
    pub trigger: String,
    pub actor: String,
    pub reconcile_run: Option<i64>,
    pub sites: i64,
    pub sites_failed: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = report_runs)]
pub struct NewReportRunRow {
    pub quarter: String,
    pub as_of: NaiveDateTime,
    pub complete: bool,
    pub generated_at: NaiveDateTime,
    pub trigger: String,
    pub actor: String,
    pub reconcile_run: Option<i64>,
    pub sites: i64,
    pub sites_failed: i64,
    pub circular: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = discovered_hosts)]
pub struct DiscoveredRow {
    pub id: i64,
    pub hostname: String,
    pub source: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = discovered_hosts)]
pub struct NewDiscoveredRow {
    pub hostname: String,
    pub source: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = runs)]
pub struct RunRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub job: String,
    pub fire_at: Option<NaiveDateTime>,
    pub instance: Option<String>,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub hosts: i64,
    pub measurement_failures: i64,
    pub failures: String,
    pub opened: i64,
    pub resolved: i64,
    pub status: String,
}

/// What availability needs of a page observation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = observations)]
pub struct PageOutcomeRow {
    pub hostname: String,
    pub address: String,
    pub outcome: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub seen_count: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = schedules)]
pub struct ScheduleRow {
    pub job: String,
    pub expression: String,
    pub next_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = work)]
pub struct WorkRow {
    pub id: i64,
    pub run_id: i64,
    pub hostname: String,
    pub names: String,
    pub owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub claims: i64,
    pub done_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = work)]
pub struct NewWorkRow {
    pub run_id: i64,
    pub hostname: String,
    pub names: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = instances)]
pub struct InstanceRow {
    pub name: String,
    pub started_at: NaiveDateTime,
    pub heartbeat_at: NaiveDateTime,
}

/// An observation's key and span, without its data (for pruning).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = observations)]
pub struct ObservationSpanRow {
    pub id: i64,
    pub hostname: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
}

/// An API token as stored: its hash, never the token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub orgs: String,
    pub with_subordinates: bool,
    pub hash: Vec<u8>,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewTokenRow {
    pub name: String,
    pub role: String,
    pub orgs: String,
    pub with_subordinates: bool,
    pub hash: Vec<u8>,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

/// A web user as stored. `password_hash` is an Argon2id PHC string: it
/// never leaves `store::users` except to `app::users`, which checks a
/// password against it.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub orgs: String,
    pub with_subordinates: bool,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub disabled_at: Option<NaiveDateTime>,
    pub password_changed_at: NaiveDateTime,
}

/// Written by hand so that no log or panic message shows the hash.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow {
    pub name: String,
    pub role: String,
    pub orgs: String,
    pub with_subordinates: bool,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub password_changed_at: NaiveDateTime,
}

/// Written by hand so that no log or panic message shows the hash.
impl std::fmt::Debug for NewUserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRow")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A web session as stored: the SHA-256 of its cookie's secret, never the
/// secret.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = web_sessions)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub secret_hash: Vec<u8>,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = web_sessions)]
pub struct NewSessionRow {
    pub user_id: i64,
    pub secret_hash: Vec<u8>,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}
