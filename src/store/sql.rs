//! Every SQL statement siteward runs, written once and compiled for each
//! backend. The [`Sql`] trait is implemented by a macro for
//! `SqliteConnection` and `PgConnection`, so each query is checked by
//! diesel against a concrete backend (RETURNING, partial indexes and all),
//! and the operations in the sibling modules are plain generic Rust.

use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::StoreError;
use super::rows::*;
use super::schema::{
    accounts, api_tokens, audit, discovered_hosts, domains, exceptions, finding_events, findings,
    instances, maintenance_windows, notifications, observations, org_contacts, organizations,
    reconcile_runs, report_runs, runs, schedules, sink_sends, sink_states, sites, users,
    web_sessions, work,
};

/// The largest id list bound into one `IN (…)`; SQLite and PostgreSQL
/// both accept far more, this keeps statements small. A single id is
/// looked up with `= ?` instead: diesel caches that prepared statement,
/// while an `IN` list is prepared anew for every length.
pub const CHUNK: usize = 500;

/// Filters for reading the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Rows about any of these sites (none: every row).
    pub site_ids: Vec<i64>,
    pub entity: Option<(String, i64)>,
    pub limit: Option<i64>,
}

/// One page of the site list, every filter applied in SQL (so that a
/// page of 100 reads about 100 sites, however many the registry holds).
#[derive(Debug, Clone, Default)]
pub struct SitePage {
    /// Only sites of these organizations (a scoped caller's, or the one
    /// asked for); `None`: every organization.
    pub org_ids: Option<Vec<i64>>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Only sites whose organizer's division code starts with these
    /// digits.
    pub division_prefix: Option<String>,
    /// Only sites with (true) or without (false) an open or acknowledged
    /// finding.
    pub open_findings: Option<bool>,
    /// A LIKE pattern (lower case, `!` escapes) on the name and code, and
    /// one on the host names (their ASCII form).
    pub text: Option<(String, String)>,
    /// Only ids after this one.
    pub after: Option<i64>,
    pub limit: i64,
}

/// The single row of a query on a unique key. Such queries are loaded
/// whole rather than with `.first()`: diesel binds `LIMIT 1` as a
/// parameter, and SQLite (3.46 and later) re-prepares a statement whose
/// LIMIT parameter is rebound, on every call.
fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

pub trait Sql: Sized {
    /// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, so a
    /// writer takes the lock up front instead of failing on upgrade.
    fn write_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    /// Within a write transaction: waits until no other transaction, in
    /// this process or another instance, is writing findings, and holds
    /// that until this one ends. SQLite's `BEGIN IMMEDIATE` already
    /// serialises every writer; PostgreSQL takes a transaction-level
    /// advisory lock, so two instances never plan from the same state and
    /// overwrite each other's findings.
    fn serialise_findings(&mut self) -> QueryResult<()>;
    /// Serialises the senders that count a sink's sends across instances
    /// (PostgreSQL: an advisory lock to the transaction's end; SQLite's
    /// write transaction already excludes every other writer).
    fn serialise_sinks(&mut self) -> QueryResult<()>;
    /// Leases up to `limit` of run `run_id`'s host names that are not done
    /// and not held (or whose lease has expired) to `owner` for `lease_secs`,
    /// and returns them. PostgreSQL: `FOR UPDATE SKIP LOCKED` and the
    /// database's clock, so instances never take the same batch.
    fn claim_work(
        &mut self,
        run_id: i64,
        owner: &str,
        limit: i64,
        lease_secs: f64,
    ) -> QueryResult<Vec<WorkRow>>;
    /// The running runs with host names free to claim, other than
    /// `owner`'s own.
    fn claimable_runs(&mut self, owner: &str) -> QueryResult<Vec<i64>>;
    /// The time leases are reckoned in: the database's clock on
    /// PostgreSQL (instances' clocks may differ), this one on SQLite.
    fn clock(&mut self) -> QueryResult<NaiveDateTime>;
    /// Runs `f` in a read-only transaction that sees one snapshot of the
    /// whole database (PostgreSQL: REPEATABLE READ; SQLite: any read
    /// transaction under WAL), for reads that must agree with each other
    /// across many statements while writers go on.
    fn snapshot_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    /// Runs `f` in a read transaction, for a consistent view.
    fn read_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;

    fn org_rows(&mut self) -> QueryResult<Vec<OrgRow>>;
    fn org_row_by_name(&mut self, name: &str) -> QueryResult<Option<OrgRow>>;
    fn insert_org(&mut self, row: &NewOrgRow) -> QueryResult<i64>;
    /// Inserts organizations, returning their rows as stored, in the order
    /// given (as [`Sql::insert_sites`]).
    fn insert_orgs(&mut self, rows: &[NewOrgRow]) -> QueryResult<Vec<OrgRow>>;
    fn update_org(&mut self, row: &OrgRow) -> QueryResult<()>;
    fn org_row(&mut self, id: i64) -> QueryResult<OrgRow>;
    fn org_rows_with_ids(&mut self, ids: &[i64]) -> QueryResult<Vec<OrgRow>>;
    fn site_row(&mut self, id: i64) -> QueryResult<Option<SiteRow>>;
    /// How many sites there are, whatever their status.
    fn count_sites(&mut self) -> QueryResult<i64>;
    fn contact_rows(&mut self, org_id: Option<i64>) -> QueryResult<Vec<ContactRow>>;
    fn contact_row(&mut self, id: i64) -> QueryResult<Option<ContactRow>>;
    fn insert_contact(&mut self, row: &NewContactRow) -> QueryResult<()>;
    /// Marks a contact removed at `at`, or in use again (`None`).
    fn set_contact_removed(&mut self, id: i64, at: Option<NaiveDateTime>) -> QueryResult<()>;

    fn site_rows(&mut self, ids: Option<&[i64]>) -> QueryResult<Vec<SiteRow>>;
    fn site_ids_with_code(&mut self, code: &str) -> QueryResult<Vec<i64>>;
    fn site_ids_with_hostname(&mut self, hostname: &str) -> QueryResult<Vec<i64>>;
    fn site_ids_of_org(&mut self, org_id: i64) -> QueryResult<Vec<i64>>;
    /// One page of sites, by id (see [`SitePage`]).
    fn site_rows_page(&mut self, page: &SitePage) -> QueryResult<Vec<SiteRow>>;
    fn insert_site(&mut self, row: &NewSiteRow) -> QueryResult<i64>;
    /// Every site, closed or not, holding one of `codes`: (id, code).
    fn site_codes(&mut self, codes: &[String]) -> QueryResult<Vec<(i64, Option<String>)>>;
    /// Every domain row, held or released, of one of `hostnames`.
    fn domain_rows_with_hostnames(&mut self, hostnames: &[String]) -> QueryResult<Vec<DomainRow>>;
    /// Inserts sites, returning their rows as stored, in the order given.
    /// PostgreSQL: multi-row statements (one round trip per
    /// [`INSERT_BATCH`] rows); SQLite: one statement per row, which costs
    /// no round trip.
    fn insert_sites(&mut self, rows: &[NewSiteRow]) -> QueryResult<Vec<SiteRow>>;
    /// Inserts domains, returning their rows as stored (as
    /// [`Sql::insert_sites`]).
    fn insert_domains(&mut self, rows: &[NewDomainRow]) -> QueryResult<Vec<DomainRow>>;
    fn update_site(&mut self, row: &SiteRow) -> QueryResult<()>;

    fn domain_rows(&mut self, site_ids: Option<&[i64]>) -> QueryResult<Vec<DomainRow>>;
    /// The domains of the sites whose ids are after `after` (if any) and
    /// at most `last`, by id.
    fn domain_rows_of_site_range(
        &mut self,
        after: Option<i64>,
        last: i64,
    ) -> QueryResult<Vec<DomainRow>>;
    /// The row holding a host name (active or releasing), if any.
    fn held_domain(&mut self, hostname: &str) -> QueryResult<Option<DomainRow>>;
    fn insert_domain(&mut self, row: &NewDomainRow) -> QueryResult<()>;
    fn update_domain(&mut self, row: &DomainRow) -> QueryResult<()>;

    fn account_rows(&mut self, ids: Option<&[i64]>) -> QueryResult<Vec<AccountRow>>;
    /// A page of accounts as `query` filters them, by id.
    fn account_page(
        &mut self,
        query: &super::accounts::AccountPageQuery,
    ) -> QueryResult<Vec<AccountRow>>;
    /// How many accounts `query` lets through (`after` and `limit` aside).
    fn account_count(&mut self, query: &super::accounts::AccountPageQuery) -> QueryResult<i64>;
    /// Every account counted by organization: (org id, count).
    fn account_org_counts(&mut self) -> QueryResult<Vec<(i64, i64)>>;
    /// Active accounts with no post (or, never having posted, no change
    /// of status) since `before`: (id, organization id), by id.
    fn quiet_accounts(&mut self, before: NaiveDateTime) -> QueryResult<Vec<(i64, i64)>>;
    fn account_ids_with_handle(
        &mut self,
        platform: Option<&str>,
        account_id: &str,
    ) -> QueryResult<Vec<i64>>;
    fn insert_account(&mut self, row: &NewAccountRow) -> QueryResult<i64>;
    fn update_account(&mut self, row: &AccountRow) -> QueryResult<()>;

    fn insert_exception(&mut self, row: &NewExceptionRow) -> QueryResult<i64>;
    fn exception_row(&mut self, id: i64) -> QueryResult<Option<ExceptionRow>>;
    fn exception_rows(
        &mut self,
        kind: Option<&str>,
        subject: Option<&str>,
    ) -> QueryResult<Vec<ExceptionRow>>;

    fn insert_audit(&mut self, row: &NewAuditRow) -> QueryResult<()>;
    /// Inserts audit rows in the order given (as [`Sql::insert_sites`]).
    fn insert_audits(&mut self, rows: &[NewAuditRow]) -> QueryResult<()>;
    /// Ends an exception: its `valid_until` brought forward to `until`.
    fn end_exception(&mut self, id: i64, until: NaiveDateTime) -> QueryResult<usize>;

    /// The newest observation for a host name, kind and address.
    fn latest_observation(
        &mut self,
        hostname: &str,
        kind: &str,
        address: &str,
    ) -> QueryResult<Option<ObservationRow>>;
    fn insert_observation(&mut self, row: &NewObservationRow) -> QueryResult<()>;
    /// Moves an unchanged observation's last-seen time.
    fn bump_observation(&mut self, id: i64, last_seen: NaiveDateTime) -> QueryResult<()>;
    /// Every stored observation of a host name first seen by `until`.
    fn observation_rows(
        &mut self,
        hostname: &str,
        until: NaiveDateTime,
    ) -> QueryResult<Vec<ObservationRow>>;
    fn audit_rows(&mut self, query: &AuditQuery) -> QueryResult<Vec<AuditRow>>;
    /// The newest audit row's hash, the chain's tail: `None` for an empty
    /// trail, `Some(None)` for a row written without one.
    fn audit_tail(&mut self) -> QueryResult<Option<Option<String>>>;
    /// Up to `limit` audit rows after `after_id`, oldest first.
    fn audit_page(&mut self, after_id: i64, limit: i64) -> QueryResult<Vec<AuditRow>>;
    fn audit_row(&mut self, id: i64) -> QueryResult<Option<AuditRow>>;
    /// Fills in the hashes of a row written before the chain existed (the
    /// database refuses it for any other row).
    fn seal_audit_row(&mut self, id: i64, prev_hash: &str, row_hash: &str) -> QueryResult<()>;
    /// Serialises the writers of the audit trail, so that each row links
    /// to the one committed before it (PostgreSQL: an advisory lock to the
    /// transaction's end; SQLite's write transaction already excludes
    /// every other writer).
    fn serialise_audit(&mut self) -> QueryResult<()>;
    /// Within a write transaction, before its first read: waits until no
    /// other import is running and holds that to the transaction's end, so
    /// that two imports of one file never both find a row missing
    /// (PostgreSQL: an advisory lock; SQLite's `BEGIN IMMEDIATE` already
    /// serialises every writer).
    fn serialise_imports(&mut self) -> QueryResult<()>;
    /// The entities of a kind (`site`, `account`) with an audit row of a
    /// change effective after `after`.
    fn changed_after(&mut self, entity: &str, after: NaiveDateTime) -> QueryResult<Vec<i64>>;
    /// The snapshots audit rows kept of entities `ids` of a kind after
    /// changes effective by `until`, oldest first.
    fn snapshots(
        &mut self,
        entity: &str,
        ids: &[i64],
        until: NaiveDateTime,
    ) -> QueryResult<Vec<(i64, Option<String>)>>;
    /// The observations last seen before `before`, without their data.
    fn observation_spans_before(
        &mut self,
        before: NaiveDateTime,
    ) -> QueryResult<Vec<ObservationSpanRow>>;
    /// The newest row's id of every host name, kind and address.
    fn newest_observation_ids(&mut self) -> QueryResult<Vec<i64>>;
    fn delete_observations(&mut self, ids: &[i64]) -> QueryResult<usize>;
    fn count_observations(&mut self) -> QueryResult<i64>;
    /// The newest observation row's id (0 for none): a new row (a first
    /// sighting or a change) moves it.
    fn newest_observation_id(&mut self) -> QueryResult<i64>;
    /// The host names with an observation (not a feed poll) seen since
    /// `since`.
    fn observed_hostnames(&mut self, since: NaiveDateTime) -> QueryResult<Vec<String>>;
    /// The observations (not feed polls) of `hostnames` seen since
    /// `since`, oldest first.
    fn observations_since(
        &mut self,
        since: NaiveDateTime,
        hostnames: &[String],
    ) -> QueryResult<Vec<ObservationRow>>;
    /// The feed polls seen since `since`, oldest first.
    fn feed_polls_since(&mut self, since: NaiveDateTime) -> QueryResult<Vec<ObservationRow>>;
    /// The page observations of `hostnames` seen since `since`.
    fn page_outcomes_since(
        &mut self,
        since: NaiveDateTime,
        hostnames: &[String],
    ) -> QueryResult<Vec<PageOutcomeRow>>;

    /// Findings with one of `statuses` (all when empty), oldest first.
    fn finding_rows(&mut self, statuses: &[&str]) -> QueryResult<Vec<FindingRow>>;
    fn finding_row(&mut self, id: i64) -> QueryResult<Option<FindingRow>>;
    /// One page of findings, filtered in SQL, in id order (see
    /// [`super::findings::FindingPageQuery`]).
    fn finding_page(
        &mut self,
        query: &super::findings::FindingPageQuery,
    ) -> QueryResult<Vec<FindingRow>>;
    /// The (id, name, identifier code) of each site of `ids` that exists.
    fn site_names(&mut self, ids: &[i64]) -> QueryResult<Vec<(i64, String, Option<String>)>>;
    /// The organization of site `id`, if the site exists.
    fn site_org_id(&mut self, id: i64) -> QueryResult<Option<i64>>;
    /// The organizations whose division code starts with `prefix`.
    fn org_ids_in_division(&mut self, prefix: &str) -> QueryResult<Vec<i64>>;
    /// The findings that are not resolved, as planning reads them.
    fn current_finding_rows(&mut self) -> QueryResult<Vec<CurrentFindingRow>>;
    fn insert_finding(&mut self, row: &NewFindingRow) -> QueryResult<i64>;
    fn update_finding(&mut self, row: &FindingRow) -> QueryResult<()>;
    fn update_seen_finding(&mut self, id: i64, row: &SeenAgainRow) -> QueryResult<()>;
    fn resolve_finding(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<()>;
    /// Records when a finding was confirmed open (its deadline counts
    /// from then), and that nobody has been told of it yet.
    fn set_finding_opened(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<()>;
    /// Whether a resolved finding of `kind` about `subject` exists.
    fn was_resolved(&mut self, kind: &str, subject: &str) -> QueryResult<bool>;
    /// The findings of `statuses` a sweep looks at: not yet told overdue
    /// and open since before `opened_before`, or open, unacknowledged and
    /// last told (or opened) before `notified_before`.
    fn alert_finding_rows(
        &mut self,
        statuses: &[&str],
        opened_before: NaiveDateTime,
        notified_before: NaiveDateTime,
    ) -> QueryResult<Vec<FindingRow>>;
    fn finding_rows_with_ids(&mut self, ids: &[i64]) -> QueryResult<Vec<FindingRow>>;
    fn set_findings_notified(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<()>;
    fn set_findings_overdue(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<()>;

    fn insert_event(&mut self, row: &EventRow) -> QueryResult<()>;
    fn event_rows(&mut self, finding_id: i64) -> QueryResult<Vec<EventRow>>;

    /// The message of `(sink, org, kind)` still gathering findings: not
    /// yet claimed by a sender.
    fn gathering_notification(
        &mut self,
        sink: &str,
        org_id: Option<i64>,
        kind: &str,
    ) -> QueryResult<Option<NotificationRow>>;
    /// When the last message of `(sink, org, kind)` was due.
    fn last_notification_due(
        &mut self,
        sink: &str,
        org_id: Option<i64>,
        kind: &str,
    ) -> QueryResult<Option<NaiveDateTime>>;
    fn insert_notification(&mut self, row: &NewNotificationRow) -> QueryResult<i64>;
    fn update_notification(&mut self, row: &NotificationRow) -> QueryResult<()>;
    fn notification_row(&mut self, id: i64) -> QueryResult<Option<NotificationRow>>;
    /// Messages due at `now` and not held by a live lease, oldest first.
    fn due_notifications(
        &mut self,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<NotificationRow>>;
    /// The newest `limit` messages, of one status when given.
    fn notification_rows(
        &mut self,
        status: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<NotificationRow>>;
    /// The newest `limit` messages with ids below `before` (from the
    /// newest when `None`), of one status when given: a page of the
    /// outbox.
    fn notification_rows_before(
        &mut self,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<NotificationRow>>;
    fn count_notifications(&mut self, status: &str) -> QueryResult<i64>;
    /// Frees every lease (SQLite: the only daemon starts, and no send is
    /// in flight).
    fn release_notification_leases(&mut self) -> QueryResult<usize>;
    /// Pending messages of `org_id` whose body is not frozen yet.
    fn unsent_notifications_of(&mut self, org_id: i64) -> QueryResult<Vec<NotificationRow>>;

    fn sink_state_rows(&mut self) -> QueryResult<Vec<SinkStateRow>>;
    fn sink_state_row(&mut self, sink: &str) -> QueryResult<Option<SinkStateRow>>;
    fn upsert_sink_state(&mut self, row: &SinkStateRow) -> QueryResult<()>;
    /// When `sink` was sent to since `since`, oldest first.
    fn sink_sends_since(
        &mut self,
        sink: &str,
        since: NaiveDateTime,
    ) -> QueryResult<Vec<NaiveDateTime>>;
    fn insert_sink_sends(&mut self, rows: &[NewSinkSendRow]) -> QueryResult<()>;
    /// Forgets `sink`'s sends older than any window counts.
    fn delete_sink_sends_before(&mut self, sink: &str, before: NaiveDateTime)
    -> QueryResult<usize>;

    fn insert_window(&mut self, row: &NewWindowRow) -> QueryResult<i64>;
    fn update_window(&mut self, row: &WindowRow) -> QueryResult<()>;
    fn window_row(&mut self, id: i64) -> QueryResult<Option<WindowRow>>;
    /// Every window not ended by hand, and those ended whose end is
    /// still to be told; oldest first.
    fn window_rows(&mut self) -> QueryResult<Vec<WindowRow>>;
    fn insert_reconcile_run(&mut self, row: &NewReconcileRunRow) -> QueryResult<i64>;
    /// The newest runs first.
    fn reconcile_run_rows(&mut self, limit: i64) -> QueryResult<Vec<ReconcileRunRow>>;
    fn reconcile_report(&mut self, id: i64) -> QueryResult<Option<String>>;
    fn insert_report_run(&mut self, row: &NewReportRunRow) -> QueryResult<i64>;
    /// The newest first.
    fn report_run_rows(&mut self, limit: i64) -> QueryResult<Vec<ReportRunRow>>;
    fn report_circular(&mut self, id: i64) -> QueryResult<Option<String>>;
    fn insert_token(&mut self, row: &NewTokenRow) -> QueryResult<i64>;
    /// Every token, revoked ones too, by name.
    fn token_rows(&mut self) -> QueryResult<Vec<TokenRow>>;
    /// The token in use with this hash.
    fn token_by_hash(&mut self, hash: &[u8]) -> QueryResult<Option<TokenRow>>;
    /// Marks the token in use named `name` revoked; how many rows changed.
    fn revoke_token(&mut self, name: &str, at: NaiveDateTime) -> QueryResult<usize>;
    fn insert_user(&mut self, row: &NewUserRow) -> QueryResult<i64>;
    /// Every web user, disabled ones too, by name.
    fn user_rows(&mut self) -> QueryResult<Vec<UserRow>>;
    fn user_row(&mut self, id: i64) -> QueryResult<Option<UserRow>>;
    fn user_by_name(&mut self, name: &str) -> QueryResult<Option<UserRow>>;
    /// Marks user `id` disabled (if it is not yet); how many rows changed.
    fn disable_user(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<usize>;
    fn set_user_password(&mut self, id: i64, hash: &str, at: NaiveDateTime) -> QueryResult<usize>;
    fn insert_session(&mut self, row: &NewSessionRow) -> QueryResult<i64>;
    /// The session with this secret hash.
    fn session_by_hash(&mut self, hash: &[u8]) -> QueryResult<Option<SessionRow>>;
    fn touch_session(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<usize>;
    fn delete_session(&mut self, id: i64) -> QueryResult<usize>;
    /// Deletes every session of user `user_id`; how many.
    fn delete_user_sessions(&mut self, user_id: i64) -> QueryResult<usize>;
    /// Deletes the sessions last seen before `idle_since` or made before
    /// `made_since`; how many.
    fn delete_stale_sessions(
        &mut self,
        idle_since: NaiveDateTime,
        made_since: NaiveDateTime,
    ) -> QueryResult<usize>;
    /// Every finding's events effective by `until`, in order.
    fn event_rows_until(&mut self, until: NaiveDateTime) -> QueryResult<Vec<EventRow>>;
    /// The runs of `job` started in `[from, to)`.
    fn runs_between(
        &mut self,
        job: &str,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> QueryResult<Vec<RunRow>>;
    /// Audit rows effective by `at` but recorded after `since`:
    /// corrections of the record as it stood at `at`. Their count and the
    /// latest's time.
    fn audit_corrected_after(
        &mut self,
        at: NaiveDateTime,
        since: NaiveDateTime,
    ) -> QueryResult<(i64, Option<NaiveDateTime>)>;

    fn discovered_rows(&mut self) -> QueryResult<Vec<DiscoveredRow>>;
    /// Up to `limit` discovered host names with ids above `after`, in id
    /// order.
    fn discovered_page(
        &mut self,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<DiscoveredRow>>;
    /// Adds a discovered host name, or moves its last-seen time.
    fn upsert_discovered(&mut self, row: &NewDiscoveredRow) -> QueryResult<bool>;

    fn insert_run(&mut self, row: &RunRow) -> QueryResult<i64>;
    /// Adds host names to a run's work; those it has already are skipped.
    fn insert_work(&mut self, rows: &[NewWorkRow]) -> QueryResult<usize>;
    /// Marks `ids` done, where `owner` still holds them.
    fn finish_work(&mut self, ids: &[i64], owner: &str, at: NaiveDateTime) -> QueryResult<usize>;
    /// Gives `ids` back, undone, for another to take at once.
    fn release_work(&mut self, ids: &[i64], owner: &str) -> QueryResult<usize>;
    /// Forgets the work of runs that ended before `before`.
    fn delete_ended_work(&mut self, before: NaiveDateTime) -> QueryResult<usize>;
    fn work_rows(&mut self, run_id: i64) -> QueryResult<Vec<WorkRow>>;
    /// How many of a run's host names are not done.
    fn work_left(&mut self, run_id: i64) -> QueryResult<i64>;
    /// Work held under a lease not expired by `now`, by owner.
    fn leases(&mut self, now: NaiveDateTime) -> QueryResult<Vec<(String, i64)>>;
    fn upsert_instance(&mut self, row: &InstanceRow) -> QueryResult<()>;
    fn instance_rows(&mut self) -> QueryResult<Vec<InstanceRow>>;
    fn last_run(&mut self) -> QueryResult<Option<RunRow>>;
    /// Rewrites a run's row (when it ends).
    fn update_run(&mut self, row: &RunRow) -> QueryResult<()>;
    /// The newest runs, newest first; of one job when given.
    fn run_rows(&mut self, job: Option<&str>, limit: i64) -> QueryResult<Vec<RunRow>>;
    /// Up to `limit` runs with ids below `before`, newest first; of one
    /// job when given.
    fn run_page(
        &mut self,
        job: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<RunRow>>;
    /// Marks every run still `running` as `interrupted`, ended at `at`.
    fn interrupt_runs(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<usize>;

    fn schedule_rows(&mut self) -> QueryResult<Vec<ScheduleRow>>;
    /// Inserts a job's schedule, or replaces its expression and next time.
    fn upsert_schedule(&mut self, row: &ScheduleRow) -> QueryResult<()>;

    // What `/metrics` reads when scraped (`store::metrics`): aggregates,
    // a few rows each.
    /// Sites counted by (status, kind, organization id).
    fn metric_sites(&mut self) -> QueryResult<Vec<(String, String, i64, i64)>>;
    /// Findings not resolved, counted by (kind, severity, status).
    fn metric_findings(&mut self) -> QueryResult<Vec<(String, String, String, i64)>>;
    /// Findings open or acknowledged past their rectification deadline,
    /// counted by organization id.
    fn metric_overdue(&mut self) -> QueryResult<Vec<(Option<i64>, i64)>>;
    /// The outbox's messages counted by (sink, status).
    fn metric_notifications(&mut self) -> QueryResult<Vec<(String, String, i64)>>;
    /// Every sink's last known health: (sink, state).
    fn metric_sink_states(&mut self) -> QueryResult<Vec<(String, String)>>;
    /// The newest run of `job` that ended with one of `statuses`.
    fn metric_last_run(&mut self, job: &str, statuses: &[&str]) -> QueryResult<Option<RunRow>>;
    /// Observations seen since `since`, counted by (kind, outcome).
    fn metric_outcomes(&mut self, since: NaiveDateTime) -> QueryResult<Vec<(String, String, i64)>>;
    /// TLS observations seen since `since`: (host name, stored form).
    fn metric_tls(&mut self, since: NaiveDateTime) -> QueryResult<Vec<(String, String)>>;

    // What the web page's home and audit pages read (`store::overview`).
    /// Findings open or acknowledged, counted by (kind, severity); of the
    /// organizations `orgs` when given (their own, or their site's).
    fn home_findings(&mut self, orgs: Option<&[i64]>) -> QueryResult<Vec<(String, String, i64)>>;
    /// The findings of `kind` open or acknowledged: (id, scope); of the
    /// organizations `orgs` when given.
    fn home_findings_of_kind(
        &mut self,
        kind: &str,
        orgs: Option<&[i64]>,
    ) -> QueryResult<Vec<(i64, String)>>;
    /// The events (finding id, time, status after) of the findings that
    /// may have been open since `since`: not resolved, or resolved or
    /// seen since then; of the organizations `orgs` when given.
    fn home_finding_events(
        &mut self,
        since: NaiveDateTime,
        orgs: Option<&[i64]>,
    ) -> QueryResult<Vec<(i64, NaiveDateTime, String)>>;
    /// Host names with their site: (host name, site id, site name,
    /// organization id), of the host names `hosts` and of the
    /// organizations `orgs` when given.
    fn home_hosts(
        &mut self,
        hosts: Option<&[String]>,
        orgs: Option<&[i64]>,
    ) -> QueryResult<Vec<(String, i64, String, i64)>>;
    /// Up to `query.limit` audit rows, newest first, as `query` filters.
    fn audit_newest(
        &mut self,
        query: &super::overview::AuditPageQuery,
    ) -> QueryResult<Vec<AuditRow>>;
}

/// Narrows a boxed query over `findings` to the organizations `orgs`
/// (`Option<&[i64]>`): a finding belongs to its organization, or, without
/// one, to its site's. One rule for every page that reads findings.
macro_rules! findings_of_orgs {
    ($select:expr, $orgs:expr) => {{
        let mut select = $select;
        if let Some(orgs) = $orgs {
            let of_sites = sites::table
                .filter(sites::org_id.eq_any(orgs.to_vec()))
                .select(sites::id.nullable());
            select = select.filter(
                findings::org_id.eq_any(orgs.to_vec()).or(findings::org_id
                    .is_null()
                    .and(findings::site_id.eq_any(of_sites))),
            );
        }
        select
    }};
}

/// Narrows a boxed query over `accounts` as an
/// [`AccountPageQuery`](super::accounts::AccountPageQuery) asks (its
/// `after` and `limit` aside): the page and its count filter alike.
macro_rules! accounts_filtered {
    ($select:expr, $query:expr) => {{
        let mut select = $select;
        let query = $query;
        if let Some(orgs) = &query.org_ids {
            select = select.filter(accounts::org_id.eq_any(orgs.clone()));
        }
        if let Some(status) = query.status {
            select = select.filter(accounts::status.eq(status.as_str()));
        }
        if let Some(platform) = query.platform {
            select = select.filter(accounts::platform.eq(platform.as_str()));
        }
        if let Some(ids) = &query.ids {
            select = select.filter(accounts::id.eq_any(ids.clone()));
        }
        select
    }};
}

macro_rules! impl_sql {
    (
        $conn:ty,
        $write_tx:ident,
        $serialise:path,
        $claim:path,
        $clock:path,
        $snapshot:path,
        $insert_sites:path,
        $insert_domains:path,
        $insert_audits:path,
        $insert_orgs:path
    ) => {
        impl Sql for $conn {
            fn finding_rows(&mut self, statuses: &[&str]) -> QueryResult<Vec<FindingRow>> {
                let mut query = findings::table
                    .select(FindingRow::as_select())
                    .order(findings::id)
                    .into_boxed();
                if !statuses.is_empty() {
                    query = query.filter(findings::status.eq_any(statuses.to_vec()));
                }
                query.load(self)
            }

            fn finding_row(&mut self, id: i64) -> QueryResult<Option<FindingRow>> {
                findings::table
                    .filter(findings::id.eq(id))
                    .select(FindingRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn finding_page(
                &mut self,
                query: &super::findings::FindingPageQuery,
            ) -> QueryResult<Vec<FindingRow>> {
                // Ordered by id with `id > after`: the primary key (and
                // `findings_status`, which holds it) walks straight to the
                // page, whatever the table's size.
                let mut select = findings::table
                    .select(FindingRow::as_select())
                    .order(findings::id)
                    .limit(i64::try_from(query.limit).unwrap_or(i64::MAX))
                    .into_boxed();
                if let Some(after) = query.after {
                    select = select.filter(findings::id.gt(after));
                }
                if !query.statuses.is_empty() {
                    let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
                    select = select.filter(findings::status.eq_any(statuses));
                }
                if let Some(kind) = query.kind {
                    select = select.filter(findings::kind.eq(kind.as_str()));
                }
                if let Some(severity) = query.severity {
                    select = select.filter(findings::severity.eq(severity.as_str()));
                }
                if let Some(site_id) = query.site_id {
                    select = select.filter(findings::site_id.eq(site_id));
                }
                findings_of_orgs!(select, query.orgs.as_deref()).load(self)
            }

            fn site_names(
                &mut self,
                ids: &[i64],
            ) -> QueryResult<Vec<(i64, String, Option<String>)>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(CHUNK) {
                    out.extend(
                        sites::table
                            .filter(sites::id.eq_any(chunk))
                            .select((sites::id, sites::name, sites::code))
                            .load::<(i64, String, Option<String>)>(self)?,
                    );
                }
                Ok(out)
            }

            fn site_org_id(&mut self, id: i64) -> QueryResult<Option<i64>> {
                sites::table
                    .filter(sites::id.eq(id))
                    .select(sites::org_id)
                    .load(self)
                    .map(first)
            }

            fn org_ids_in_division(&mut self, prefix: &str) -> QueryResult<Vec<i64>> {
                organizations::table
                    .filter(organizations::division.like(format!("{prefix}%")))
                    .select(organizations::id)
                    .order(organizations::id)
                    .load(self)
            }

            fn current_finding_rows(&mut self) -> QueryResult<Vec<CurrentFindingRow>> {
                findings::table
                    .filter(findings::status.ne("resolved"))
                    .select(CurrentFindingRow::as_select())
                    .order(findings::id)
                    .load(self)
            }

            fn update_seen_finding(&mut self, id: i64, row: &SeenAgainRow) -> QueryResult<()> {
                diesel::update(findings::table.find(id))
                    .set(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn resolve_finding(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<()> {
                diesel::update(findings::table.find(id))
                    .set((
                        findings::status.eq("resolved"),
                        findings::resolved_at.eq(Some(at)),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn set_finding_opened(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<()> {
                diesel::update(findings::table.find(id))
                    .set((
                        findings::opened_at.eq(Some(at)),
                        findings::notified_at.eq(None::<NaiveDateTime>),
                        findings::overdue_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn was_resolved(&mut self, kind: &str, subject: &str) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    findings::table
                        .filter(findings::kind.eq(kind))
                        .filter(findings::subject.eq(subject))
                        .filter(findings::status.eq("resolved")),
                ))
                .get_result(self)
            }

            fn alert_finding_rows(
                &mut self,
                statuses: &[&str],
                opened_before: NaiveDateTime,
                notified_before: NaiveDateTime,
            ) -> QueryResult<Vec<FindingRow>> {
                // Not yet told overdue and open long enough to be; or open,
                // unacknowledged and last told (or opened) long enough ago.
                let overdue_candidate = findings::overdue_at
                    .is_null()
                    .and(findings::opened_at.lt(opened_before));
                let repeat_candidate = findings::status
                    .eq("open")
                    .and(findings::ack_at.is_null())
                    .and(
                        findings::notified_at
                            .lt(notified_before)
                            .or(findings::notified_at
                                .is_null()
                                .and(findings::opened_at.lt(notified_before))),
                    );
                findings::table
                    .filter(findings::status.eq_any(statuses.to_vec()))
                    .filter(overdue_candidate.or(repeat_candidate))
                    .select(FindingRow::as_select())
                    .order(findings::id)
                    .load(self)
            }

            fn finding_rows_with_ids(&mut self, ids: &[i64]) -> QueryResult<Vec<FindingRow>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(CHUNK) {
                    out.extend(
                        findings::table
                            .filter(findings::id.eq_any(chunk))
                            .select(FindingRow::as_select())
                            .order(findings::id)
                            .load(self)?,
                    );
                }
                Ok(out)
            }

            fn set_findings_notified(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<()> {
                for chunk in ids.chunks(CHUNK) {
                    diesel::update(findings::table.filter(findings::id.eq_any(chunk)))
                        .set(findings::notified_at.eq(Some(at)))
                        .execute(self)?;
                }
                Ok(())
            }

            fn set_findings_overdue(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<()> {
                for chunk in ids.chunks(CHUNK) {
                    diesel::update(findings::table.filter(findings::id.eq_any(chunk)))
                        .set(findings::overdue_at.eq(Some(at)))
                        .execute(self)?;
                }
                Ok(())
            }

            fn insert_event(&mut self, row: &EventRow) -> QueryResult<()> {
                diesel::insert_into(finding_events::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn event_rows(&mut self, finding_id: i64) -> QueryResult<Vec<EventRow>> {
                finding_events::table
                    .filter(finding_events::finding_id.eq(finding_id))
                    .select(EventRow::as_select())
                    .order(finding_events::id)
                    .load(self)
            }

            fn gathering_notification(
                &mut self,
                sink: &str,
                org_id: Option<i64>,
                kind: &str,
            ) -> QueryResult<Option<NotificationRow>> {
                let mut query = notifications::table
                    .filter(notifications::sink.eq(sink))
                    .filter(notifications::kind.eq(kind))
                    .filter(notifications::status.eq("pending"))
                    .filter(notifications::body.is_null())
                    .filter(notifications::lease_owner.is_null())
                    .select(NotificationRow::as_select())
                    .order(notifications::id.desc())
                    .limit(1)
                    .into_boxed();
                query = match org_id {
                    Some(org) => query.filter(notifications::org_id.eq(org)),
                    None => query.filter(notifications::org_id.is_null()),
                };
                query.load(self).map(first)
            }

            fn last_notification_due(
                &mut self,
                sink: &str,
                org_id: Option<i64>,
                kind: &str,
            ) -> QueryResult<Option<NaiveDateTime>> {
                let mut query = notifications::table
                    .filter(notifications::sink.eq(sink))
                    .filter(notifications::kind.eq(kind))
                    .select(diesel::dsl::max(notifications::send_after))
                    .into_boxed();
                query = match org_id {
                    Some(org) => query.filter(notifications::org_id.eq(org)),
                    None => query.filter(notifications::org_id.is_null()),
                };
                query.get_result(self)
            }

            fn insert_notification(&mut self, row: &NewNotificationRow) -> QueryResult<i64> {
                diesel::insert_into(notifications::table)
                    .values(row)
                    .returning(notifications::id)
                    .get_result(self)
            }

            fn update_notification(&mut self, row: &NotificationRow) -> QueryResult<()> {
                diesel::update(notifications::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn notification_row(&mut self, id: i64) -> QueryResult<Option<NotificationRow>> {
                notifications::table
                    .filter(notifications::id.eq(id))
                    .select(NotificationRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn due_notifications(
                &mut self,
                now: NaiveDateTime,
                limit: i64,
            ) -> QueryResult<Vec<NotificationRow>> {
                notifications::table
                    .filter(notifications::status.eq("pending"))
                    .filter(notifications::send_after.le(now))
                    .filter(notifications::next_attempt_at.le(now))
                    .filter(
                        notifications::lease_until
                            .is_null()
                            .or(notifications::lease_until.lt(now)),
                    )
                    .select(NotificationRow::as_select())
                    .order(notifications::id)
                    .limit(limit)
                    .load(self)
            }

            fn notification_rows(
                &mut self,
                status: Option<&str>,
                limit: i64,
            ) -> QueryResult<Vec<NotificationRow>> {
                let mut query = notifications::table
                    .select(NotificationRow::as_select())
                    .order(notifications::id.desc())
                    .limit(limit)
                    .into_boxed();
                if let Some(status) = status {
                    query = query.filter(notifications::status.eq(status.to_string()));
                }
                query.load(self)
            }

            fn notification_rows_before(
                &mut self,
                status: Option<&str>,
                before: Option<i64>,
                limit: i64,
            ) -> QueryResult<Vec<NotificationRow>> {
                let mut query = notifications::table
                    .select(NotificationRow::as_select())
                    .order(notifications::id.desc())
                    .limit(limit)
                    .into_boxed();
                if let Some(status) = status {
                    query = query.filter(notifications::status.eq(status.to_string()));
                }
                if let Some(before) = before {
                    query = query.filter(notifications::id.lt(before));
                }
                query.load(self)
            }

            fn count_notifications(&mut self, status: &str) -> QueryResult<i64> {
                notifications::table
                    .filter(notifications::status.eq(status))
                    .count()
                    .get_result(self)
            }

            fn unsent_notifications_of(
                &mut self,
                org_id: i64,
            ) -> QueryResult<Vec<NotificationRow>> {
                notifications::table
                    .filter(notifications::org_id.eq(org_id))
                    .filter(notifications::status.eq("pending"))
                    .filter(notifications::body.is_null())
                    .select(NotificationRow::as_select())
                    .load(self)
            }

            fn sink_state_rows(&mut self) -> QueryResult<Vec<SinkStateRow>> {
                sink_states::table
                    .select(SinkStateRow::as_select())
                    .order(sink_states::sink)
                    .load(self)
            }

            fn sink_state_row(&mut self, sink: &str) -> QueryResult<Option<SinkStateRow>> {
                sink_states::table
                    .filter(sink_states::sink.eq(sink))
                    .select(SinkStateRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn upsert_sink_state(&mut self, row: &SinkStateRow) -> QueryResult<()> {
                diesel::insert_into(sink_states::table)
                    .values(row)
                    .on_conflict(sink_states::sink)
                    .do_update()
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn sink_sends_since(
                &mut self,
                sink: &str,
                since: NaiveDateTime,
            ) -> QueryResult<Vec<NaiveDateTime>> {
                sink_sends::table
                    .filter(sink_sends::sink.eq(sink))
                    .filter(sink_sends::sent_at.gt(since))
                    .select(sink_sends::sent_at)
                    .order((sink_sends::sent_at, sink_sends::id))
                    .load(self)
            }

            fn insert_sink_sends(&mut self, rows: &[NewSinkSendRow]) -> QueryResult<()> {
                diesel::insert_into(sink_sends::table)
                    .values(rows)
                    .execute(self)
                    .map(drop)
            }

            fn delete_sink_sends_before(
                &mut self,
                sink: &str,
                before: NaiveDateTime,
            ) -> QueryResult<usize> {
                diesel::delete(
                    sink_sends::table
                        .filter(sink_sends::sink.eq(sink))
                        .filter(sink_sends::sent_at.le(before)),
                )
                .execute(self)
            }

            fn insert_window(&mut self, row: &NewWindowRow) -> QueryResult<i64> {
                diesel::insert_into(maintenance_windows::table)
                    .values(row)
                    .returning(maintenance_windows::id)
                    .get_result(self)
            }

            fn update_window(&mut self, row: &WindowRow) -> QueryResult<()> {
                diesel::update(maintenance_windows::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn window_row(&mut self, id: i64) -> QueryResult<Option<WindowRow>> {
                maintenance_windows::table
                    .filter(maintenance_windows::id.eq(id))
                    .select(WindowRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn insert_reconcile_run(&mut self, row: &NewReconcileRunRow) -> QueryResult<i64> {
                diesel::insert_into(reconcile_runs::table)
                    .values(row)
                    .returning(reconcile_runs::id)
                    .get_result(self)
            }

            fn reconcile_run_rows(&mut self, limit: i64) -> QueryResult<Vec<ReconcileRunRow>> {
                reconcile_runs::table
                    .select(ReconcileRunRow::as_select())
                    .order(reconcile_runs::id.desc())
                    .limit(limit)
                    .load(self)
            }

            fn reconcile_report(&mut self, id: i64) -> QueryResult<Option<String>> {
                reconcile_runs::table
                    .filter(reconcile_runs::id.eq(id))
                    .select(reconcile_runs::report)
                    .load(self)
                    .map(first)
            }

            fn insert_report_run(&mut self, row: &NewReportRunRow) -> QueryResult<i64> {
                diesel::insert_into(report_runs::table)
                    .values(row)
                    .returning(report_runs::id)
                    .get_result(self)
            }

            fn report_run_rows(&mut self, limit: i64) -> QueryResult<Vec<ReportRunRow>> {
                report_runs::table
                    .select(ReportRunRow::as_select())
                    .order(report_runs::id.desc())
                    .limit(limit)
                    .load(self)
            }

            fn insert_token(&mut self, row: &NewTokenRow) -> QueryResult<i64> {
                diesel::insert_into(api_tokens::table)
                    .values(row)
                    .returning(api_tokens::id)
                    .get_result(self)
            }

            fn token_rows(&mut self) -> QueryResult<Vec<TokenRow>> {
                api_tokens::table
                    .select(TokenRow::as_select())
                    .order((api_tokens::name, api_tokens::id))
                    .load(self)
            }

            fn token_by_hash(&mut self, hash: &[u8]) -> QueryResult<Option<TokenRow>> {
                api_tokens::table
                    .filter(api_tokens::hash.eq(hash))
                    .filter(api_tokens::revoked_at.is_null())
                    .select(TokenRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn revoke_token(&mut self, name: &str, at: NaiveDateTime) -> QueryResult<usize> {
                diesel::update(
                    api_tokens::table
                        .filter(api_tokens::name.eq(name))
                        .filter(api_tokens::revoked_at.is_null()),
                )
                .set(api_tokens::revoked_at.eq(Some(at)))
                .execute(self)
            }

            fn insert_user(&mut self, row: &NewUserRow) -> QueryResult<i64> {
                diesel::insert_into(users::table)
                    .values(row)
                    .returning(users::id)
                    .get_result(self)
            }

            fn user_rows(&mut self) -> QueryResult<Vec<UserRow>> {
                users::table
                    .select(UserRow::as_select())
                    .order((users::name, users::id))
                    .load(self)
            }

            fn user_row(&mut self, id: i64) -> QueryResult<Option<UserRow>> {
                users::table
                    .filter(users::id.eq(id))
                    .select(UserRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn user_by_name(&mut self, name: &str) -> QueryResult<Option<UserRow>> {
                users::table
                    .filter(users::name.eq(name))
                    .select(UserRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn disable_user(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
                diesel::update(
                    users::table
                        .filter(users::id.eq(id))
                        .filter(users::disabled_at.is_null()),
                )
                .set(users::disabled_at.eq(Some(at)))
                .execute(self)
            }

            fn set_user_password(
                &mut self,
                id: i64,
                hash: &str,
                at: NaiveDateTime,
            ) -> QueryResult<usize> {
                diesel::update(users::table.filter(users::id.eq(id)))
                    .set((
                        users::password_hash.eq(hash),
                        users::password_changed_at.eq(at),
                    ))
                    .execute(self)
            }

            fn insert_session(&mut self, row: &NewSessionRow) -> QueryResult<i64> {
                diesel::insert_into(web_sessions::table)
                    .values(row)
                    .returning(web_sessions::id)
                    .get_result(self)
            }

            fn session_by_hash(&mut self, hash: &[u8]) -> QueryResult<Option<SessionRow>> {
                web_sessions::table
                    .filter(web_sessions::secret_hash.eq(hash))
                    .select(SessionRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn touch_session(&mut self, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
                diesel::update(web_sessions::table.filter(web_sessions::id.eq(id)))
                    .set(web_sessions::last_seen_at.eq(at))
                    .execute(self)
            }

            fn delete_session(&mut self, id: i64) -> QueryResult<usize> {
                diesel::delete(web_sessions::table.filter(web_sessions::id.eq(id))).execute(self)
            }

            fn delete_user_sessions(&mut self, user_id: i64) -> QueryResult<usize> {
                diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id)))
                    .execute(self)
            }

            fn delete_stale_sessions(
                &mut self,
                idle_since: NaiveDateTime,
                made_since: NaiveDateTime,
            ) -> QueryResult<usize> {
                diesel::delete(
                    web_sessions::table.filter(
                        web_sessions::last_seen_at
                            .lt(idle_since)
                            .or(web_sessions::created_at.lt(made_since)),
                    ),
                )
                .execute(self)
            }

            fn report_circular(&mut self, id: i64) -> QueryResult<Option<String>> {
                report_runs::table
                    .filter(report_runs::id.eq(id))
                    .select(report_runs::circular)
                    .load(self)
                    .map(first)
            }

            fn event_rows_until(&mut self, until: NaiveDateTime) -> QueryResult<Vec<EventRow>> {
                finding_events::table
                    .filter(finding_events::at.le(until))
                    .select(EventRow::as_select())
                    .order((finding_events::finding_id, finding_events::id))
                    .load(self)
            }

            fn runs_between(
                &mut self,
                job: &str,
                from: NaiveDateTime,
                to: NaiveDateTime,
            ) -> QueryResult<Vec<RunRow>> {
                runs::table
                    .filter(runs::job.eq(job.to_string()))
                    .filter(runs::started_at.ge(from))
                    .filter(runs::started_at.lt(to))
                    .select(RunRow::as_select())
                    .order(runs::id)
                    .load(self)
            }

            fn audit_corrected_after(
                &mut self,
                at: NaiveDateTime,
                since: NaiveDateTime,
            ) -> QueryResult<(i64, Option<NaiveDateTime>)> {
                audit::table
                    .filter(audit::effective_at.le(at))
                    .filter(audit::recorded_at.gt(since))
                    .select((
                        diesel::dsl::count_star(),
                        diesel::dsl::max(audit::recorded_at),
                    ))
                    .first(self)
            }

            fn window_rows(&mut self) -> QueryResult<Vec<WindowRow>> {
                use maintenance_windows::dsl as w;
                maintenance_windows::table
                    .filter(
                        w::ended_at
                            .is_null()
                            .or(w::started_notice.is_not_null().and(
                                w::ended_notice
                                    .is_null()
                                    .or(w::ended_notice.ne(w::started_notice)),
                            )),
                    )
                    .select(WindowRow::as_select())
                    .order(maintenance_windows::id)
                    .load(self)
            }

            fn release_notification_leases(&mut self) -> QueryResult<usize> {
                diesel::update(
                    notifications::table.filter(notifications::lease_owner.is_not_null()),
                )
                .set((
                    notifications::lease_owner.eq(None::<String>),
                    notifications::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(self)
            }

            fn insert_finding(&mut self, row: &NewFindingRow) -> QueryResult<i64> {
                diesel::insert_into(findings::table)
                    .values(row)
                    .returning(findings::id)
                    .get_result(self)
            }

            fn update_finding(&mut self, row: &FindingRow) -> QueryResult<()> {
                diesel::update(findings::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn discovered_rows(&mut self) -> QueryResult<Vec<DiscoveredRow>> {
                discovered_hosts::table
                    .select(DiscoveredRow::as_select())
                    .order(discovered_hosts::id)
                    .load(self)
            }

            fn discovered_page(
                &mut self,
                after: Option<i64>,
                limit: i64,
            ) -> QueryResult<Vec<DiscoveredRow>> {
                let mut select = discovered_hosts::table
                    .select(DiscoveredRow::as_select())
                    .order(discovered_hosts::id)
                    .limit(limit)
                    .into_boxed();
                if let Some(after) = after {
                    select = select.filter(discovered_hosts::id.gt(after));
                }
                select.load(self)
            }

            fn upsert_discovered(&mut self, row: &NewDiscoveredRow) -> QueryResult<bool> {
                let moved = diesel::update(
                    discovered_hosts::table
                        .filter(discovered_hosts::hostname.eq(&row.hostname))
                        .filter(discovered_hosts::source.eq(&row.source)),
                )
                .set(discovered_hosts::last_seen.eq(row.last_seen))
                .execute(self)?;
                if moved > 0 {
                    return Ok(false);
                }
                diesel::insert_into(discovered_hosts::table)
                    .values(row)
                    .execute(self)
                    .map(|_| true)
            }

            fn insert_run(&mut self, row: &RunRow) -> QueryResult<i64> {
                diesel::insert_into(runs::table)
                    .values(row)
                    .returning(runs::id)
                    .get_result(self)
            }

            fn last_run(&mut self) -> QueryResult<Option<RunRow>> {
                runs::table
                    .order(runs::id.desc())
                    .select(RunRow::as_select())
                    .load_iter::<RunRow, diesel::connection::DefaultLoadingMode>(self)?
                    .next()
                    .transpose()
            }

            fn update_run(&mut self, row: &RunRow) -> QueryResult<()> {
                diesel::update(runs::table.filter(runs::id.eq(row.id)))
                    .set((
                        runs::finished_at.eq(row.finished_at),
                        runs::hosts.eq(row.hosts),
                        runs::measurement_failures.eq(row.measurement_failures),
                        runs::failures.eq(&row.failures),
                        runs::opened.eq(row.opened),
                        runs::resolved.eq(row.resolved),
                        runs::status.eq(&row.status),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn run_rows(&mut self, job: Option<&str>, limit: i64) -> QueryResult<Vec<RunRow>> {
                let mut query = runs::table
                    .order(runs::id.desc())
                    .select(RunRow::as_select())
                    .into_boxed();
                if let Some(job) = job {
                    query = query.filter(runs::job.eq(job.to_string()));
                }
                query.limit(limit).load(self)
            }

            fn run_page(
                &mut self,
                job: Option<&str>,
                before: Option<i64>,
                limit: i64,
            ) -> QueryResult<Vec<RunRow>> {
                let mut query = runs::table
                    .order(runs::id.desc())
                    .select(RunRow::as_select())
                    .limit(limit)
                    .into_boxed();
                if let Some(job) = job {
                    query = query.filter(runs::job.eq(job.to_string()));
                }
                if let Some(before) = before {
                    query = query.filter(runs::id.lt(before));
                }
                query.load(self)
            }

            fn interrupt_runs(&mut self, ids: &[i64], at: NaiveDateTime) -> QueryResult<usize> {
                let mut cut = 0;
                for chunk in ids.chunks(CHUNK) {
                    cut += diesel::update(
                        runs::table
                            .filter(runs::id.eq_any(chunk))
                            .filter(runs::status.eq("running")),
                    )
                    .set((runs::status.eq("interrupted"), runs::finished_at.eq(at)))
                    .execute(self)?;
                }
                Ok(cut)
            }

            fn schedule_rows(&mut self) -> QueryResult<Vec<ScheduleRow>> {
                schedules::table
                    .select(ScheduleRow::as_select())
                    .order(schedules::job)
                    .load(self)
            }

            fn upsert_schedule(&mut self, row: &ScheduleRow) -> QueryResult<()> {
                diesel::insert_into(schedules::table)
                    .values(row)
                    .on_conflict(schedules::job)
                    .do_update()
                    .set((
                        schedules::expression.eq(&row.expression),
                        schedules::next_at.eq(row.next_at),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn write_tx<T>(
                &mut self,
                f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
            ) -> Result<T, StoreError> {
                self.$write_tx(f)
            }

            fn serialise_findings(&mut self) -> QueryResult<()> {
                $serialise(self, FINDINGS_LOCK)
            }

            fn serialise_sinks(&mut self) -> QueryResult<()> {
                $serialise(self, SINKS_LOCK)
            }

            fn claim_work(
                &mut self,
                run_id: i64,
                owner: &str,
                limit: i64,
                lease_secs: f64,
            ) -> QueryResult<Vec<WorkRow>> {
                $claim(self, run_id, owner, limit, lease_secs)
            }

            fn clock(&mut self) -> QueryResult<NaiveDateTime> {
                $clock(self)
            }

            fn claimable_runs(&mut self, owner: &str) -> QueryResult<Vec<i64>> {
                let now = $clock(self)?;
                let mut ids: Vec<i64> = work::table
                    .inner_join(runs::table)
                    .filter(runs::status.eq("running"))
                    .filter(runs::instance.ne(owner).or(runs::instance.is_null()))
                    .filter(work::done_at.is_null())
                    .filter(work::lease_until.is_null().or(work::lease_until.lt(now)))
                    .select(work::run_id)
                    .load(self)?;
                ids.sort_unstable();
                ids.dedup();
                Ok(ids)
            }

            fn insert_work(&mut self, rows: &[NewWorkRow]) -> QueryResult<usize> {
                // One row a statement: diesel's SQLite batch insert has no
                // ON CONFLICT; the caller's transaction keeps it quick.
                let mut added = 0;
                for row in rows {
                    added += diesel::insert_into(work::table)
                        .values(row)
                        .on_conflict((work::run_id, work::hostname))
                        .do_nothing()
                        .execute(self)?;
                }
                Ok(added)
            }

            fn finish_work(
                &mut self,
                ids: &[i64],
                owner: &str,
                at: NaiveDateTime,
            ) -> QueryResult<usize> {
                let mut done = 0;
                for chunk in ids.chunks(CHUNK) {
                    done += diesel::update(
                        work::table
                            .filter(work::id.eq_any(chunk))
                            .filter(work::owner.eq(owner)),
                    )
                    .set(work::done_at.eq(Some(at)))
                    .execute(self)?;
                }
                Ok(done)
            }

            fn release_work(&mut self, ids: &[i64], owner: &str) -> QueryResult<usize> {
                let mut released = 0;
                for chunk in ids.chunks(CHUNK) {
                    released += diesel::update(
                        work::table
                            .filter(work::id.eq_any(chunk))
                            .filter(work::owner.eq(owner))
                            .filter(work::done_at.is_null()),
                    )
                    .set(work::lease_until.eq(None::<NaiveDateTime>))
                    .execute(self)?;
                }
                Ok(released)
            }

            fn delete_ended_work(&mut self, before: NaiveDateTime) -> QueryResult<usize> {
                diesel::delete(
                    work::table.filter(
                        work::run_id.eq_any(
                            runs::table
                                .filter(runs::status.ne("running"))
                                .filter(runs::finished_at.lt(before))
                                .select(runs::id),
                        ),
                    ),
                )
                .execute(self)
            }

            fn work_rows(&mut self, run_id: i64) -> QueryResult<Vec<WorkRow>> {
                work::table
                    .filter(work::run_id.eq(run_id))
                    .order(work::id)
                    .select(WorkRow::as_select())
                    .load(self)
            }

            fn work_left(&mut self, run_id: i64) -> QueryResult<i64> {
                work::table
                    .filter(work::run_id.eq(run_id))
                    .filter(work::done_at.is_null())
                    .count()
                    .get_result(self)
            }

            fn leases(&mut self, now: NaiveDateTime) -> QueryResult<Vec<(String, i64)>> {
                let held: Vec<Option<String>> = work::table
                    .filter(work::done_at.is_null())
                    .filter(work::lease_until.gt(now))
                    .select(work::owner)
                    .load(self)?;
                let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
                for owner in held.into_iter().flatten() {
                    *counts.entry(owner).or_default() += 1;
                }
                Ok(counts.into_iter().collect())
            }

            fn upsert_instance(&mut self, row: &InstanceRow) -> QueryResult<()> {
                diesel::insert_into(instances::table)
                    .values(row)
                    .on_conflict(instances::name)
                    .do_update()
                    .set(instances::heartbeat_at.eq(row.heartbeat_at))
                    .execute(self)
                    .map(|_| ())
            }

            fn instance_rows(&mut self) -> QueryResult<Vec<InstanceRow>> {
                instances::table
                    .order(instances::heartbeat_at.desc())
                    .select(InstanceRow::as_select())
                    .load(self)
            }

            fn read_tx<T>(
                &mut self,
                f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
            ) -> Result<T, StoreError> {
                self.transaction(f)
            }

            fn snapshot_tx<T>(
                &mut self,
                f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
            ) -> Result<T, StoreError> {
                $snapshot(self, f)
            }

            fn org_rows(&mut self) -> QueryResult<Vec<OrgRow>> {
                organizations::table
                    .select(OrgRow::as_select())
                    .order(organizations::id)
                    .load(self)
            }

            fn org_row_by_name(&mut self, name: &str) -> QueryResult<Option<OrgRow>> {
                organizations::table
                    .filter(organizations::name.eq(name))
                    .select(OrgRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn insert_org(&mut self, row: &NewOrgRow) -> QueryResult<i64> {
                diesel::insert_into(organizations::table)
                    .values(row)
                    .returning(organizations::id)
                    .get_result(self)
            }

            fn insert_orgs(&mut self, rows: &[NewOrgRow]) -> QueryResult<Vec<OrgRow>> {
                $insert_orgs(self, rows)
            }

            fn update_org(&mut self, row: &OrgRow) -> QueryResult<()> {
                diesel::update(organizations::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn org_row(&mut self, id: i64) -> QueryResult<OrgRow> {
                organizations::table
                    .find(id)
                    .select(OrgRow::as_select())
                    .load(self)
                    .map(first)?
                    .ok_or(diesel::result::Error::NotFound)
            }

            fn org_rows_with_ids(&mut self, ids: &[i64]) -> QueryResult<Vec<OrgRow>> {
                if let &[id] = ids {
                    return organizations::table
                        .filter(organizations::id.eq(id))
                        .select(OrgRow::as_select())
                        .load(self);
                }
                let mut rows = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    rows.extend(
                        organizations::table
                            .filter(organizations::id.eq_any(chunk))
                            .select(OrgRow::as_select())
                            .load(self)?,
                    );
                }
                Ok(rows)
            }

            fn count_sites(&mut self) -> QueryResult<i64> {
                sites::table.count().get_result(self)
            }

            fn site_row(&mut self, id: i64) -> QueryResult<Option<SiteRow>> {
                sites::table
                    .find(id)
                    .select(SiteRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn contact_rows(&mut self, org_id: Option<i64>) -> QueryResult<Vec<ContactRow>> {
                let mut query = org_contacts::table
                    .select(ContactRow::as_select())
                    .order(org_contacts::id)
                    .into_boxed();
                if let Some(org_id) = org_id {
                    query = query.filter(org_contacts::org_id.eq(org_id));
                }
                query.load(self)
            }

            fn contact_row(&mut self, id: i64) -> QueryResult<Option<ContactRow>> {
                org_contacts::table
                    .filter(org_contacts::id.eq(id))
                    .select(ContactRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn insert_contact(&mut self, row: &NewContactRow) -> QueryResult<()> {
                diesel::insert_into(org_contacts::table)
                    .values(row)
                    .execute(self)
                    .map(drop)
            }

            fn set_contact_removed(
                &mut self,
                id: i64,
                at: Option<NaiveDateTime>,
            ) -> QueryResult<()> {
                diesel::update(org_contacts::table.filter(org_contacts::id.eq(id)))
                    .set(org_contacts::removed_at.eq(at))
                    .execute(self)
                    .map(drop)
            }

            fn site_rows(&mut self, ids: Option<&[i64]>) -> QueryResult<Vec<SiteRow>> {
                match ids {
                    None => sites::table
                        .select(SiteRow::as_select())
                        .order(sites::id)
                        .load(self),
                    Some(&[id]) => sites::table
                        .filter(sites::id.eq(id))
                        .select(SiteRow::as_select())
                        .load(self),
                    Some(ids) => {
                        let mut rows = Vec::with_capacity(ids.len());
                        for chunk in ids.chunks(CHUNK) {
                            rows.extend(
                                sites::table
                                    .filter(sites::id.eq_any(chunk))
                                    .select(SiteRow::as_select())
                                    .order(sites::id)
                                    .load(self)?,
                            );
                        }
                        Ok(rows)
                    }
                }
            }

            fn site_ids_with_code(&mut self, code: &str) -> QueryResult<Vec<i64>> {
                sites::table
                    .filter(sites::code.eq(code))
                    .select(sites::id)
                    .order(sites::id)
                    .load(self)
            }

            fn site_ids_with_hostname(&mut self, hostname: &str) -> QueryResult<Vec<i64>> {
                domains::table
                    .filter(domains::hostname.eq(hostname))
                    .select(domains::site_id)
                    .distinct()
                    .order(domains::site_id)
                    .load(self)
            }

            fn site_ids_of_org(&mut self, org_id: i64) -> QueryResult<Vec<i64>> {
                sites::table
                    .filter(sites::org_id.eq(org_id))
                    .select(sites::id)
                    .order(sites::id)
                    .load(self)
            }

            fn site_rows_page(&mut self, page: &SitePage) -> QueryResult<Vec<SiteRow>> {
                use diesel::sql_types::{Bool, Text};
                let mut select = sites::table
                    .select(SiteRow::as_select())
                    .order(sites::id)
                    .into_boxed();
                if let Some(after) = page.after {
                    select = select.filter(sites::id.gt(after));
                }
                if let Some(ids) = &page.org_ids {
                    select = select.filter(sites::org_id.eq_any(ids.clone()));
                }
                if let Some(status) = &page.status {
                    select = select.filter(sites::status.eq(status.clone()));
                }
                if let Some(kind) = &page.kind {
                    select = select.filter(sites::kind.eq(kind.clone()));
                }
                if let Some(prefix) = &page.division_prefix {
                    select = select.filter(
                        sites::org_id.eq_any(
                            organizations::table
                                .filter(organizations::division.like(format!("{prefix}%")))
                                .select(organizations::id),
                        ),
                    );
                }
                if let Some(open) = page.open_findings {
                    // NULL site ids kept out: `NOT IN` a list holding NULL
                    // is never true.
                    let with_open = findings::table
                        .filter(findings::status.eq_any(vec!["open", "acknowledged"]))
                        .filter(findings::site_id.is_not_null())
                        .select(findings::site_id.assume_not_null());
                    select = if open {
                        select.filter(sites::id.eq_any(with_open))
                    } else {
                        select.filter(diesel::dsl::not(sites::id.eq_any(with_open)))
                    };
                }
                if let Some((pattern, host)) = &page.text {
                    select = select.filter(
                        diesel::dsl::sql::<Bool>("(lower(sites.name) LIKE ")
                            .bind::<Text, _>(pattern.clone())
                            .sql(" ESCAPE '!' OR lower(sites.code) LIKE ")
                            .bind::<Text, _>(pattern.clone())
                            .sql(
                                " ESCAPE '!' OR sites.id IN (SELECT domains.site_id FROM domains \
                                 WHERE domains.hostname LIKE ",
                            )
                            .bind::<Text, _>(host.clone())
                            .sql(" ESCAPE '!'))"),
                    );
                }
                select.limit(page.limit).load(self)
            }

            fn insert_site(&mut self, row: &NewSiteRow) -> QueryResult<i64> {
                diesel::insert_into(sites::table)
                    .values(row)
                    .returning(sites::id)
                    .get_result(self)
            }

            fn site_codes(&mut self, codes: &[String]) -> QueryResult<Vec<(i64, Option<String>)>> {
                let mut rows = Vec::new();
                for chunk in codes.chunks(CHUNK) {
                    rows.extend(
                        sites::table
                            .filter(sites::code.eq_any(chunk))
                            .select((sites::id, sites::code))
                            .load::<(i64, Option<String>)>(self)?,
                    );
                }
                rows.sort_unstable_by_key(|(id, _)| *id);
                Ok(rows)
            }

            fn domain_rows_with_hostnames(
                &mut self,
                hostnames: &[String],
            ) -> QueryResult<Vec<DomainRow>> {
                let mut rows = Vec::new();
                for chunk in hostnames.chunks(CHUNK) {
                    rows.extend(
                        domains::table
                            .filter(domains::hostname.eq_any(chunk))
                            .select(DomainRow::as_select())
                            .load(self)?,
                    );
                }
                rows.sort_unstable_by_key(|row| row.id);
                Ok(rows)
            }

            fn insert_sites(&mut self, rows: &[NewSiteRow]) -> QueryResult<Vec<SiteRow>> {
                $insert_sites(self, rows)
            }

            fn insert_domains(&mut self, rows: &[NewDomainRow]) -> QueryResult<Vec<DomainRow>> {
                $insert_domains(self, rows)
            }

            fn update_site(&mut self, row: &SiteRow) -> QueryResult<()> {
                diesel::update(sites::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn domain_rows_of_site_range(
                &mut self,
                after: Option<i64>,
                last: i64,
            ) -> QueryResult<Vec<DomainRow>> {
                domains::table
                    .filter(domains::site_id.gt(after.unwrap_or(i64::MIN)))
                    .filter(domains::site_id.le(last))
                    .select(DomainRow::as_select())
                    .order(domains::id)
                    .load(self)
            }

            fn domain_rows(&mut self, site_ids: Option<&[i64]>) -> QueryResult<Vec<DomainRow>> {
                match site_ids {
                    None => domains::table
                        .select(DomainRow::as_select())
                        .order(domains::id)
                        .load(self),
                    Some(&[site_id]) => domains::table
                        .filter(domains::site_id.eq(site_id))
                        .select(DomainRow::as_select())
                        .order(domains::id)
                        .load(self),
                    Some(ids) => {
                        let mut rows = Vec::new();
                        for chunk in ids.chunks(CHUNK) {
                            rows.extend(
                                domains::table
                                    .filter(domains::site_id.eq_any(chunk))
                                    .select(DomainRow::as_select())
                                    .order(domains::id)
                                    .load(self)?,
                            );
                        }
                        Ok(rows)
                    }
                }
            }

            fn held_domain(&mut self, hostname: &str) -> QueryResult<Option<DomainRow>> {
                // The state is spelled out, not bound: SQLite re-prepares a
                // statement whose bound value decides whether the partial
                // index `domains_hostname_held` applies, on every call.
                domains::table
                    .filter(domains::hostname.eq(hostname))
                    .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "domains.state <> 'released'",
                    ))
                    .select(DomainRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn insert_domain(&mut self, row: &NewDomainRow) -> QueryResult<()> {
                diesel::insert_into(domains::table)
                    .values(row)
                    .execute(self)
                    .map(drop)
            }

            fn update_domain(&mut self, row: &DomainRow) -> QueryResult<()> {
                diesel::update(domains::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn account_rows(&mut self, ids: Option<&[i64]>) -> QueryResult<Vec<AccountRow>> {
                match ids {
                    None => accounts::table
                        .select(AccountRow::as_select())
                        .order(accounts::id)
                        .load(self),
                    Some(&[id]) => accounts::table
                        .filter(accounts::id.eq(id))
                        .select(AccountRow::as_select())
                        .load(self),
                    Some(ids) => {
                        let mut rows = Vec::new();
                        for chunk in ids.chunks(CHUNK) {
                            rows.extend(
                                accounts::table
                                    .filter(accounts::id.eq_any(chunk))
                                    .select(AccountRow::as_select())
                                    .order(accounts::id)
                                    .load(self)?,
                            );
                        }
                        Ok(rows)
                    }
                }
            }

            fn account_page(
                &mut self,
                query: &super::accounts::AccountPageQuery,
            ) -> QueryResult<Vec<AccountRow>> {
                let mut select = accounts_filtered!(
                    accounts::table
                        .select(AccountRow::as_select())
                        .order(accounts::id)
                        .into_boxed(),
                    query
                );
                if let Some(after) = query.after {
                    select = select.filter(accounts::id.gt(after));
                }
                select.limit(query.limit).load(self)
            }

            fn account_count(
                &mut self,
                query: &super::accounts::AccountPageQuery,
            ) -> QueryResult<i64> {
                accounts_filtered!(
                    accounts::table
                        .select(diesel::dsl::count_star())
                        .into_boxed(),
                    query
                )
                .get_result(self)
            }

            fn account_org_counts(&mut self) -> QueryResult<Vec<(i64, i64)>> {
                accounts::table
                    .group_by(accounts::org_id)
                    .select((accounts::org_id, diesel::dsl::count_star()))
                    .load(self)
            }

            fn quiet_accounts(&mut self, before: NaiveDateTime) -> QueryResult<Vec<(i64, i64)>> {
                accounts::table
                    .filter(accounts::status.eq("active"))
                    .filter(
                        accounts::last_post_at.lt(before).or(accounts::last_post_at
                            .is_null()
                            .and(accounts::status_changed_at.lt(before))),
                    )
                    .select((accounts::id, accounts::org_id))
                    .order(accounts::id)
                    .load(self)
            }

            fn account_ids_with_handle(
                &mut self,
                platform: Option<&str>,
                account_id: &str,
            ) -> QueryResult<Vec<i64>> {
                let mut query = accounts::table
                    .filter(accounts::account_id.eq(account_id))
                    .select(accounts::id)
                    .order(accounts::id)
                    .into_boxed();
                if let Some(platform) = platform {
                    query = query.filter(accounts::platform.eq(platform));
                }
                query.load(self)
            }

            fn insert_account(&mut self, row: &NewAccountRow) -> QueryResult<i64> {
                diesel::insert_into(accounts::table)
                    .values(row)
                    .returning(accounts::id)
                    .get_result(self)
            }

            fn update_account(&mut self, row: &AccountRow) -> QueryResult<()> {
                diesel::update(accounts::table.find(row.id))
                    .set(row)
                    .execute(self)
                    .map(drop)
            }

            fn insert_exception(&mut self, row: &NewExceptionRow) -> QueryResult<i64> {
                diesel::insert_into(exceptions::table)
                    .values(row)
                    .returning(exceptions::id)
                    .get_result(self)
            }

            fn exception_row(&mut self, id: i64) -> QueryResult<Option<ExceptionRow>> {
                exceptions::table
                    .filter(exceptions::id.eq(id))
                    .select(ExceptionRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn exception_rows(
                &mut self,
                kind: Option<&str>,
                subject: Option<&str>,
            ) -> QueryResult<Vec<ExceptionRow>> {
                let mut query = exceptions::table
                    .select(ExceptionRow::as_select())
                    .order(exceptions::id)
                    .into_boxed();
                if let Some(kind) = kind {
                    query = query.filter(exceptions::kind.eq(kind));
                }
                if let Some(subject) = subject {
                    query = query.filter(exceptions::subject.eq(subject));
                }
                query.load(self)
            }

            fn end_exception(&mut self, id: i64, until: NaiveDateTime) -> QueryResult<usize> {
                diesel::update(exceptions::table.filter(exceptions::id.eq(id)))
                    .set(exceptions::valid_until.eq(until))
                    .execute(self)
            }

            fn insert_audit(&mut self, row: &NewAuditRow) -> QueryResult<()> {
                diesel::insert_into(audit::table)
                    .values(row)
                    .execute(self)
                    .map(drop)
            }

            fn insert_audits(&mut self, rows: &[NewAuditRow]) -> QueryResult<()> {
                $insert_audits(self, rows)
            }

            fn latest_observation(
                &mut self,
                hostname: &str,
                kind: &str,
                address: &str,
            ) -> QueryResult<Option<ObservationRow>> {
                // Ordered and loaded whole, not `.first()`: see `first`.
                observations::table
                    .filter(observations::hostname.eq(hostname))
                    .filter(observations::kind.eq(kind))
                    .filter(observations::address.eq(address))
                    .order(observations::id.desc())
                    .select(ObservationRow::as_select())
                    .load_iter::<ObservationRow, diesel::connection::DefaultLoadingMode>(self)?
                    .next()
                    .transpose()
            }

            fn insert_observation(&mut self, row: &NewObservationRow) -> QueryResult<()> {
                diesel::insert_into(observations::table)
                    .values(row)
                    .execute(self)
                    .map(drop)
            }

            fn bump_observation(&mut self, id: i64, last_seen: NaiveDateTime) -> QueryResult<()> {
                diesel::update(observations::table.find(id))
                    .set((
                        observations::last_seen.eq(last_seen),
                        observations::seen_count.eq(observations::seen_count + 1),
                    ))
                    .execute(self)
                    .map(drop)
            }

            fn observation_rows(
                &mut self,
                hostname: &str,
                until: NaiveDateTime,
            ) -> QueryResult<Vec<ObservationRow>> {
                observations::table
                    .filter(observations::hostname.eq(hostname))
                    .filter(observations::first_seen.le(until))
                    .order(observations::id)
                    .select(ObservationRow::as_select())
                    .load(self)
            }

            fn observation_spans_before(
                &mut self,
                before: NaiveDateTime,
            ) -> QueryResult<Vec<ObservationSpanRow>> {
                observations::table
                    .filter(observations::last_seen.lt(before))
                    .select(ObservationSpanRow::as_select())
                    .load(self)
            }

            fn newest_observation_ids(&mut self) -> QueryResult<Vec<i64>> {
                let ids: Vec<Option<i64>> = observations::table
                    .group_by((
                        observations::hostname,
                        observations::kind,
                        observations::address,
                    ))
                    .select(diesel::dsl::max(observations::id))
                    .load(self)?;
                Ok(ids.into_iter().flatten().collect())
            }

            fn newest_observation_id(&mut self) -> QueryResult<i64> {
                Ok(observations::table
                    .select(diesel::dsl::max(observations::id))
                    .first::<Option<i64>>(self)?
                    .unwrap_or(0))
            }

            fn count_observations(&mut self) -> QueryResult<i64> {
                observations::table.count().get_result(self)
            }

            fn delete_observations(&mut self, ids: &[i64]) -> QueryResult<usize> {
                let mut deleted = 0;
                for chunk in ids.chunks(CHUNK) {
                    deleted +=
                        diesel::delete(observations::table.filter(observations::id.eq_any(chunk)))
                            .execute(self)?;
                }
                Ok(deleted)
            }

            fn observed_hostnames(&mut self, since: NaiveDateTime) -> QueryResult<Vec<String>> {
                observations::table
                    .filter(observations::last_seen.ge(since))
                    .filter(observations::kind.ne("feed"))
                    .select(observations::hostname)
                    .distinct()
                    .load(self)
            }

            fn observations_since(
                &mut self,
                since: NaiveDateTime,
                hostnames: &[String],
            ) -> QueryResult<Vec<ObservationRow>> {
                let mut rows = Vec::new();
                for chunk in hostnames.chunks(CHUNK) {
                    rows.extend(
                        observations::table
                            .filter(observations::hostname.eq_any(chunk))
                            .filter(observations::last_seen.ge(since))
                            .filter(observations::kind.ne("feed"))
                            .select(ObservationRow::as_select())
                            .load(self)?,
                    );
                }
                rows.sort_unstable_by_key(|row| row.id);
                Ok(rows)
            }

            fn feed_polls_since(
                &mut self,
                since: NaiveDateTime,
            ) -> QueryResult<Vec<ObservationRow>> {
                observations::table
                    .filter(observations::kind.eq("feed"))
                    .filter(observations::last_seen.ge(since))
                    .order(observations::id)
                    .select(ObservationRow::as_select())
                    .load(self)
            }

            fn page_outcomes_since(
                &mut self,
                since: NaiveDateTime,
                hostnames: &[String],
            ) -> QueryResult<Vec<PageOutcomeRow>> {
                let mut rows = Vec::new();
                for chunk in hostnames.chunks(CHUNK) {
                    rows.extend(
                        observations::table
                            .filter(observations::hostname.eq_any(chunk))
                            .filter(observations::kind.eq("page"))
                            .filter(observations::last_seen.ge(since))
                            .select(PageOutcomeRow::as_select())
                            .load(self)?,
                    );
                }
                Ok(rows)
            }

            fn changed_after(
                &mut self,
                entity: &str,
                after: NaiveDateTime,
            ) -> QueryResult<Vec<i64>> {
                audit::table
                    .filter(audit::entity.eq(entity.to_string()))
                    .filter(audit::effective_at.gt(after))
                    .select(audit::entity_id)
                    .distinct()
                    .load(self)
            }

            fn snapshots(
                &mut self,
                entity: &str,
                ids: &[i64],
                until: NaiveDateTime,
            ) -> QueryResult<Vec<(i64, Option<String>)>> {
                audit::table
                    .filter(audit::entity.eq(entity.to_string()))
                    .filter(audit::entity_id.eq_any(ids))
                    .filter(audit::effective_at.le(until))
                    .order((audit::effective_at, audit::id))
                    .select((audit::entity_id, audit::after_json))
                    .load(self)
            }

            fn audit_tail(&mut self) -> QueryResult<Option<Option<String>>> {
                // MAX then `= ?`, not ORDER BY … LIMIT 1: both statements
                // stay prepared across the rows of an import (see `first`).
                let last: Option<i64> = audit::table
                    .select(diesel::dsl::max(audit::id))
                    .get_result(self)?;
                match last {
                    None => Ok(None),
                    Some(id) => audit::table
                        .filter(audit::id.eq(id))
                        .select(audit::row_hash)
                        .load(self)
                        .map(first),
                }
            }

            fn audit_page(&mut self, after_id: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
                audit::table
                    .filter(audit::id.gt(after_id))
                    .order(audit::id)
                    .limit(limit)
                    .select(AuditRow::as_select())
                    .load(self)
            }

            fn audit_row(&mut self, id: i64) -> QueryResult<Option<AuditRow>> {
                audit::table
                    .filter(audit::id.eq(id))
                    .select(AuditRow::as_select())
                    .load(self)
                    .map(first)
            }

            fn seal_audit_row(
                &mut self,
                id: i64,
                prev_hash: &str,
                row_hash: &str,
            ) -> QueryResult<()> {
                diesel::update(audit::table.filter(audit::id.eq(id)))
                    .set((audit::prev_hash.eq(prev_hash), audit::row_hash.eq(row_hash)))
                    .execute(self)
                    .map(drop)
            }

            fn serialise_audit(&mut self) -> QueryResult<()> {
                $serialise(self, AUDIT_LOCK)
            }

            fn serialise_imports(&mut self) -> QueryResult<()> {
                $serialise(self, IMPORTS_LOCK)
            }

            fn audit_rows(&mut self, query: &AuditQuery) -> QueryResult<Vec<AuditRow>> {
                let mut select = audit::table
                    .select(AuditRow::as_select())
                    .order(audit::id)
                    .into_boxed();
                if !query.site_ids.is_empty() {
                    select = select.filter(audit::site_id.eq_any(query.site_ids.clone()));
                }
                if let Some((entity, id)) = &query.entity {
                    select = select
                        .filter(audit::entity.eq(entity.clone()))
                        .filter(audit::entity_id.eq(*id));
                }
                if let Some(limit) = query.limit {
                    select = select.limit(limit);
                }
                select.load(self)
            }

            fn metric_sites(&mut self) -> QueryResult<Vec<(String, String, i64, i64)>> {
                sites::table
                    .group_by((sites::status, sites::kind, sites::org_id))
                    .select((
                        sites::status,
                        sites::kind,
                        sites::org_id,
                        diesel::dsl::count_star(),
                    ))
                    .load(self)
            }

            fn metric_findings(&mut self) -> QueryResult<Vec<(String, String, String, i64)>> {
                findings::table
                    .filter(findings::status.ne("resolved"))
                    .group_by((findings::kind, findings::severity, findings::status))
                    .select((
                        findings::kind,
                        findings::severity,
                        findings::status,
                        diesel::dsl::count_star(),
                    ))
                    .load(self)
            }

            fn metric_overdue(&mut self) -> QueryResult<Vec<(Option<i64>, i64)>> {
                findings::table
                    .filter(findings::overdue_at.is_not_null())
                    .filter(findings::status.eq_any(["open", "acknowledged"]))
                    .group_by(findings::org_id)
                    .select((findings::org_id, diesel::dsl::count_star()))
                    .load(self)
            }

            fn metric_notifications(&mut self) -> QueryResult<Vec<(String, String, i64)>> {
                notifications::table
                    .group_by((notifications::sink, notifications::status))
                    .select((
                        notifications::sink,
                        notifications::status,
                        diesel::dsl::count_star(),
                    ))
                    .load(self)
            }

            fn metric_sink_states(&mut self) -> QueryResult<Vec<(String, String)>> {
                sink_states::table
                    .select((sink_states::sink, sink_states::state))
                    .load(self)
            }

            fn metric_last_run(
                &mut self,
                job: &str,
                statuses: &[&str],
            ) -> QueryResult<Option<RunRow>> {
                runs::table
                    .filter(runs::job.eq(job.to_string()))
                    .filter(runs::status.eq_any(statuses.to_vec()))
                    .order(runs::id.desc())
                    .select(RunRow::as_select())
                    .load_iter::<RunRow, diesel::connection::DefaultLoadingMode>(self)?
                    .next()
                    .transpose()
            }

            fn metric_outcomes(
                &mut self,
                since: NaiveDateTime,
            ) -> QueryResult<Vec<(String, String, i64)>> {
                observations::table
                    .filter(observations::last_seen.ge(since))
                    .group_by((observations::kind, observations::outcome))
                    .select((
                        observations::kind,
                        observations::outcome,
                        diesel::dsl::count_star(),
                    ))
                    .load(self)
            }

            fn metric_tls(&mut self, since: NaiveDateTime) -> QueryResult<Vec<(String, String)>> {
                observations::table
                    .filter(observations::kind.eq("tls"))
                    .filter(observations::last_seen.ge(since))
                    .select((observations::hostname, observations::data))
                    .load(self)
            }

            fn home_findings(
                &mut self,
                orgs: Option<&[i64]>,
            ) -> QueryResult<Vec<(String, String, i64)>> {
                let select = findings::table
                    .filter(findings::status.eq_any(["open", "acknowledged"]))
                    .group_by((findings::kind, findings::severity))
                    .select((
                        findings::kind,
                        findings::severity,
                        diesel::dsl::count_star(),
                    ))
                    .into_boxed();
                findings_of_orgs!(select, orgs).load(self)
            }

            fn home_findings_of_kind(
                &mut self,
                kind: &str,
                orgs: Option<&[i64]>,
            ) -> QueryResult<Vec<(i64, String)>> {
                let select = findings::table
                    .filter(findings::status.eq_any(["open", "acknowledged"]))
                    .filter(findings::kind.eq(kind.to_string()))
                    .select((findings::id, findings::scope))
                    .order(findings::id)
                    .into_boxed();
                findings_of_orgs!(select, orgs).load(self)
            }

            fn home_finding_events(
                &mut self,
                since: NaiveDateTime,
                orgs: Option<&[i64]>,
            ) -> QueryResult<Vec<(i64, NaiveDateTime, String)>> {
                let select = finding_events::table
                    .inner_join(findings::table.on(findings::id.eq(finding_events::finding_id)))
                    .filter(
                        findings::status
                            .ne("resolved")
                            .or(findings::resolved_at.ge(since))
                            .or(findings::last_seen.ge(since)),
                    )
                    .select((
                        finding_events::finding_id,
                        finding_events::at,
                        finding_events::status,
                    ))
                    .order((
                        finding_events::finding_id,
                        finding_events::at,
                        finding_events::id,
                    ))
                    .into_boxed();
                findings_of_orgs!(select, orgs).load(self)
            }

            fn home_hosts(
                &mut self,
                hosts: Option<&[String]>,
                orgs: Option<&[i64]>,
            ) -> QueryResult<Vec<(String, i64, String, i64)>> {
                let mut select = domains::table
                    .inner_join(sites::table)
                    .select((domains::hostname, sites::id, sites::name, sites::org_id))
                    .order((domains::hostname, domains::id))
                    .into_boxed();
                if let Some(hosts) = hosts {
                    select = select.filter(domains::hostname.eq_any(hosts.to_vec()));
                }
                if let Some(orgs) = orgs {
                    select = select.filter(sites::org_id.eq_any(orgs.to_vec()));
                }
                select.load(self)
            }

            fn audit_newest(
                &mut self,
                query: &super::overview::AuditPageQuery,
            ) -> QueryResult<Vec<AuditRow>> {
                let mut select = audit::table
                    .select(AuditRow::as_select())
                    .order(audit::id.desc())
                    .limit(query.limit)
                    .into_boxed();
                if let Some(before) = query.before {
                    select = select.filter(audit::id.lt(before));
                }
                if let Some(site_ids) = &query.site_ids {
                    select = select.filter(audit::site_id.eq_any(site_ids.clone()));
                }
                if let Some(entity) = &query.entity {
                    select = select.filter(audit::entity.eq(entity.clone()));
                }
                if let Some(actor) = &query.actor {
                    select = select.filter(audit::actor.eq(actor.clone()));
                }
                if let Some(from) = query.from {
                    select = select.filter(audit::recorded_at.ge(super::convert::to_db(from)));
                }
                if let Some(to) = query.to {
                    select = select.filter(audit::recorded_at.lt(super::convert::to_db(to)));
                }
                select.load(self)
            }
        }
    };
}

impl_sql!(
    SqliteConnection,
    immediate_transaction,
    writers_are_serialised,
    claim_work_sqlite,
    clock_here,
    snapshot_sqlite,
    insert_sites_sqlite,
    insert_domains_sqlite,
    insert_audits_sqlite,
    insert_orgs_sqlite
);
impl_sql!(
    PgConnection,
    transaction,
    advisory_lock,
    claim_work_pg,
    clock_of_database,
    snapshot_pg,
    insert_sites_pg,
    insert_domains_pg,
    insert_audits_pg,
    insert_orgs_pg
);

/// SQLite under WAL: a read transaction sees the database as of its first
/// read.
fn snapshot_sqlite<T>(
    c: &mut SqliteConnection,
    f: impl FnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    c.transaction(f)
}

/// PostgreSQL: READ COMMITTED would see each statement's own snapshot.
fn snapshot_pg<T>(
    c: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    c.build_transaction().repeatable_read().read_only().run(f)
}

/// SQLite: one process writes the file (the daemon's lock), and its write
/// transaction excludes every other writer; the lease is on this clock.
fn claim_work_sqlite(
    c: &mut SqliteConnection,
    run_id: i64,
    owner: &str,
    limit: i64,
    lease_secs: f64,
) -> QueryResult<Vec<WorkRow>> {
    let now = clock_here(c)?;
    let until = now + chrono::Duration::milliseconds((lease_secs * 1000.0) as i64);
    let ids: Vec<i64> = work::table
        .filter(work::run_id.eq(run_id))
        .filter(work::done_at.is_null())
        .filter(work::lease_until.is_null().or(work::lease_until.lt(now)))
        .order(work::id)
        .limit(limit)
        .select(work::id)
        .load(c)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(work::table.filter(work::id.eq_any(&ids)))
        .set((
            work::owner.eq(owner),
            work::lease_until.eq(Some(until)),
            work::claims.eq(work::claims + 1),
        ))
        .execute(c)?;
    work::table
        .filter(work::id.eq_any(&ids))
        .order(work::id)
        .select(WorkRow::as_select())
        .load(c)
}

fn clock_here(_: &mut SqliteConnection) -> QueryResult<NaiveDateTime> {
    Ok(chrono::Utc::now().naive_utc())
}

/// PostgreSQL: the batch is chosen and leased in one statement, rows
/// locked by another instance's claim skipped, the lease on the
/// database's clock (UTC, as every stored time).
fn claim_work_pg(
    c: &mut PgConnection,
    run_id: i64,
    owner: &str,
    limit: i64,
    lease_secs: f64,
) -> QueryResult<Vec<WorkRow>> {
    diesel::sql_query(
        "UPDATE work SET owner = $1, \
             lease_until = (now() AT TIME ZONE 'UTC') + $2 * interval '1 second', \
             claims = claims + 1 \
         WHERE id IN ( \
             SELECT id FROM work \
             WHERE run_id = $3 AND done_at IS NULL \
               AND (lease_until IS NULL OR lease_until < (now() AT TIME ZONE 'UTC')) \
             ORDER BY id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
         RETURNING id, run_id, hostname, names, owner, lease_until, claims, done_at",
    )
    .bind::<diesel::sql_types::Text, _>(owner)
    .bind::<diesel::sql_types::Double, _>(lease_secs)
    .bind::<diesel::sql_types::BigInt, _>(run_id)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(c)
}

/// The database's clock, in UTC as every stored time.
fn clock_of_database(c: &mut PgConnection) -> QueryResult<NaiveDateTime> {
    #[derive(QueryableByName)]
    struct Now {
        #[diesel(sql_type = diesel::sql_types::Timestamp)]
        now: NaiveDateTime,
    }
    let now: Now = diesel::sql_query("SELECT (now() AT TIME ZONE 'UTC') AS now").get_result(c)?;
    Ok(now.now)
}

/// SQLite: the write transaction's lock already excludes every other
/// writer.
fn writers_are_serialised(_: &mut SqliteConnection, _: i64) -> QueryResult<()> {
    Ok(())
}

/// The advisory lock key of findings' writers ("sitewar" in ASCII).
const FINDINGS_LOCK: i64 = 0x0073_6974_6577_6172;
/// The advisory lock key of the audit trail's writers ("audit").
const AUDIT_LOCK: i64 = 0x0061_7564_6974;
/// The advisory lock key of the senders counting sinks' sends ("sinks").
const SINKS_LOCK: i64 = 0x0073_696e_6b73;
/// The advisory lock key of imports ("import").
const IMPORTS_LOCK: i64 = 0x0000_696d_706f_7274;

/// Rows written by one multi-row INSERT on PostgreSQL: each row is one
/// round trip fewer, and the widest row (an audit row, 16 columns) keeps a
/// statement far below PostgreSQL's 65,535 parameters.
pub const INSERT_BATCH: usize = 1_000;

/// SQLite: one prepared statement per row, run in-process.
fn insert_sites_sqlite(c: &mut SqliteConnection, rows: &[NewSiteRow]) -> QueryResult<Vec<SiteRow>> {
    rows.iter()
        .map(|row| {
            diesel::insert_into(sites::table)
                .values(row)
                .returning(SiteRow::as_returning())
                .get_result(c)
        })
        .collect()
}

/// PostgreSQL: rows come back in the order of the VALUES list.
fn insert_sites_pg(c: &mut PgConnection, rows: &[NewSiteRow]) -> QueryResult<Vec<SiteRow>> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_BATCH) {
        stored.extend(
            diesel::insert_into(sites::table)
                .values(chunk)
                .returning(SiteRow::as_returning())
                .get_results(c)?,
        );
    }
    Ok(stored)
}

fn insert_domains_sqlite(
    c: &mut SqliteConnection,
    rows: &[NewDomainRow],
) -> QueryResult<Vec<DomainRow>> {
    rows.iter()
        .map(|row| {
            diesel::insert_into(domains::table)
                .values(row)
                .returning(DomainRow::as_returning())
                .get_result(c)
        })
        .collect()
}

fn insert_domains_pg(c: &mut PgConnection, rows: &[NewDomainRow]) -> QueryResult<Vec<DomainRow>> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_BATCH) {
        stored.extend(
            diesel::insert_into(domains::table)
                .values(chunk)
                .returning(DomainRow::as_returning())
                .get_results(c)?,
        );
    }
    Ok(stored)
}

fn insert_orgs_sqlite(c: &mut SqliteConnection, rows: &[NewOrgRow]) -> QueryResult<Vec<OrgRow>> {
    rows.iter()
        .map(|row| {
            diesel::insert_into(organizations::table)
                .values(row)
                .returning(OrgRow::as_returning())
                .get_result(c)
        })
        .collect()
}

fn insert_orgs_pg(c: &mut PgConnection, rows: &[NewOrgRow]) -> QueryResult<Vec<OrgRow>> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_BATCH) {
        stored.extend(
            diesel::insert_into(organizations::table)
                .values(chunk)
                .returning(OrgRow::as_returning())
                .get_results(c)?,
        );
    }
    Ok(stored)
}

fn insert_audits_sqlite(c: &mut SqliteConnection, rows: &[NewAuditRow]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(audit::table).values(row).execute(c)?;
    }
    Ok(())
}

/// PostgreSQL: `COPY … FROM STDIN` in binary, in the order given (audit
/// rows need nothing back); cheaper than a multi-row INSERT's parsing and
/// planning of thousands of parameters.
fn insert_audits_pg(c: &mut PgConnection, rows: &[NewAuditRow]) -> QueryResult<()> {
    use diesel::prelude::ExecuteCopyFromDsl;
    diesel::copy_from(audit::table)
        .from_insertable(rows)
        .execute(c)
        .map(drop)
}

/// PostgreSQL: holds advisory lock `key` to the transaction's end.
fn advisory_lock(c: &mut PgConnection, key: i64) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(c)
        .map(|_| ())
}

/// SQLite: folds the write-ahead log into the database file and empties
/// it.
pub fn wal_checkpoint(c: &mut SqliteConnection) -> QueryResult<()> {
    diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(c)
        .map(drop)
}
