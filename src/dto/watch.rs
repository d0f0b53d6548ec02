//! Findings, exceptions, observations, runs and discovered host names as
//! JSON: `findings --json`, `findings show --json`, `discover --list
//! --json` and `status --json` (its runs and schedules) serialise these,
//! and so does the API.

use serde::Serialize;
use utoipa::ToSchema;

use super::{maybe_time, time};
use crate::app::findings::Names;
use crate::findings::Evidence;
use crate::store::{ExceptionRecord, FindingEvent, Run, StoredFinding, StoredSchedule};

/// The site a finding points at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingSiteDto {
    pub id: i64,
    pub name: String,
    /// Its identifier code (网站标识码), once filed.
    pub code: Option<String>,
}

/// One observation a finding rests on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceDto {
    /// The host name (or zone, or account) observed.
    pub subject: String,
    /// The probe kind: `dns`, `delegation`, `tls`, `page`, `ipv6`, `feed`,
    /// `registry`.
    pub probe: String,
    /// The address observed, where the probe looks at one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub outcome: String,
    pub detail: String,
}

impl From<&Evidence> for EvidenceDto {
    fn from(e: &Evidence) -> EvidenceDto {
        EvidenceDto {
            subject: e.subject.clone(),
            probe: e.probe.clone(),
            address: e.address.clone(),
            outcome: e.outcome.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// Who acknowledged a finding, when, and what they said.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AckDto {
    pub actor: Option<String>,
    pub note: String,
    pub at: Option<String>,
}

/// A finding, as `findings --json` and `GET /api/v1/findings` give it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingDto {
    pub id: i64,
    /// A finding kind (`dangling_cname`, `cert_expired`, …).
    pub kind: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// `pending`, `open`, `acknowledged`, `resolved` or `suppressed`.
    pub status: String,
    /// What it is about: a host name, `host address`, a zone, …
    pub subject: String,
    pub site: Option<FindingSiteDto>,
    /// The organization's name.
    pub org: Option<String>,
    /// One line, in Chinese, as stored.
    pub summary: String,
    /// What to do about it, in Chinese.
    pub action: String,
    pub evidence: Vec<EvidenceDto>,
    pub confirmations: u32,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    pub ack: Option<AckDto>,
}

impl FindingDto {
    /// `finding` with the names of its site and organization from `names`.
    pub fn new(finding: &StoredFinding, names: &Names) -> FindingDto {
        let site = finding.site_id.map(|id| {
            let (name, code) = names.sites.get(&id).cloned().unwrap_or_default();
            FindingSiteDto { id, name, code }
        });
        FindingDto {
            id: finding.id,
            kind: finding.kind.as_str().to_string(),
            severity: finding.severity.as_str().to_string(),
            status: finding.status.as_str().to_string(),
            subject: finding.subject.clone(),
            site,
            org: finding.org_id.and_then(|id| names.orgs.get(&id)).cloned(),
            summary: finding.summary.clone(),
            action: finding.action.clone(),
            evidence: finding.evidence.iter().map(EvidenceDto::from).collect(),
            confirmations: finding.confirmations,
            first_seen: time(finding.first_seen),
            last_seen: time(finding.last_seen),
            resolved_at: maybe_time(finding.resolved_at),
            ack: finding.ack_note.as_ref().map(|note| AckDto {
                actor: finding.ack_actor.clone(),
                note: note.clone(),
                at: maybe_time(finding.ack_at),
            }),
        }
    }
}

/// One change in a finding's life.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingEventDto {
    pub at: String,
    /// `detected`, `opened`, `severity_changed`, `acknowledged`,
    /// `suppressed`, `resolved`, `reopened`.
    pub change: String,
    pub status: String,
    pub severity: String,
    /// Who made it (an acknowledgement); null for siteward's own.
    pub actor: Option<String>,
    pub note: Option<String>,
}

impl From<&FindingEvent> for FindingEventDto {
    fn from(e: &FindingEvent) -> FindingEventDto {
        FindingEventDto {
            at: time(e.at),
            change: e.change.as_str().to_string(),
            status: e.status.as_str().to_string(),
            severity: e.severity.as_str().to_string(),
            actor: e.actor.clone(),
            note: e.note.clone(),
        }
    }
}

/// A finding with its events, as `findings show ID --json` and
/// `GET /api/v1/findings/{id}` give it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingDetailDto {
    #[serde(flatten)]
    pub finding: FindingDto,
    /// When it was confirmed open: its rectification deadline counts from
    /// then.
    pub opened_at: Option<String>,
    /// Oldest first.
    pub events: Vec<FindingEventDto>,
}

impl FindingDetailDto {
    pub fn new(finding: &StoredFinding, events: &[FindingEvent], names: &Names) -> Self {
        FindingDetailDto {
            finding: FindingDto::new(finding, names),
            opened_at: maybe_time(finding.opened_at),
            events: events.iter().map(FindingEventDto::from).collect(),
        }
    }
}

/// A comply-or-explain exception, with the field names of `exception
/// list --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExceptionDto {
    pub id: i64,
    /// The finding kind waived.
    pub kind: String,
    /// What it is waived for (a host name, a zone, `host address`, …).
    pub subject: String,
    pub reason: String,
    /// Who recorded it.
    pub actor: String,
    /// When it ends (or ended, when ended early).
    pub until: String,
    pub created_at: String,
}

impl From<&ExceptionRecord> for ExceptionDto {
    fn from(e: &ExceptionRecord) -> ExceptionDto {
        ExceptionDto {
            id: e.id,
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            reason: e.reason.clone(),
            actor: e.actor.clone(),
            until: time(e.until),
            created_at: time(e.created_at),
        }
    }
}

/// One stored observation: the newest of its kind and address at the
/// time asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservationDto {
    /// `dns`, `delegation`, `tls`, `page`, `ipv6`, `feed`, `deadline`,
    /// `failed`.
    pub kind: String,
    /// The address it was made at (TLS, page, IPv6); null for the host
    /// name's own (DNS, its zone).
    pub address: Option<String>,
    /// A one-word summary (`answer`, `valid`, `loaded`, `timeout`, …).
    pub outcome: String,
    /// What the probe saw, as `probe --json` shows it.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The span over which it was seen unchanged, and how many times.
    pub first_seen: String,
    pub last_seen: String,
    pub seen_count: i64,
}

/// What was seen of a host name as of a time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservationsDto {
    /// In ASCII (punycode) form.
    pub host: String,
    /// The time asked about.
    pub at: String,
    pub observations: Vec<ObservationDto>,
}

impl ObservationsDto {
    pub fn new(
        host: &crate::registry::Hostname,
        at: chrono::DateTime<chrono::Utc>,
        stored: &[crate::store::StoredObservation],
    ) -> ObservationsDto {
        ObservationsDto {
            host: host.to_string(),
            at: time(at),
            observations: stored
                .iter()
                .map(|s| {
                    let data = &s.observation.data;
                    ObservationDto {
                        kind: data.kind().to_string(),
                        address: s.observation.address.map(|a| a.to_string()),
                        outcome: data.outcome(),
                        // The observation serialises as {kind, data}; its
                        // data is what `probe --json` shows under the kind.
                        data: serde_json::to_value(data)
                            .map(|mut v| v["data"].take())
                            .unwrap_or_default(),
                        first_seen: time(s.first_seen),
                        last_seen: time(s.last_seen),
                        seen_count: s.seen_count,
                    }
                })
                .collect(),
        }
    }
}

/// Why a part of a run could not be measured.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailureDto {
    pub scope: String,
    pub reason: String,
}

/// A run of a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunDto {
    pub id: i64,
    /// `probe`, `feeds`, `discover`, `retain`, `confirm`, `reconcile`,
    /// `report`, `audit`.
    pub job: String,
    /// `running`, `ok`, `measurement_failed`, `interrupted`, `failed`.
    pub status: String,
    /// The scheduled time it ran for; null for a run started by hand.
    pub fire_at: Option<String>,
    /// The process that ran it (`host:pid`).
    pub instance: Option<String>,
    pub started_at: String,
    /// Null while it runs.
    pub finished_at: Option<String>,
    pub hosts: usize,
    pub opened: usize,
    pub resolved: usize,
    pub failures: Vec<FailureDto>,
}

impl From<&Run> for RunDto {
    fn from(run: &Run) -> RunDto {
        let running = run.status == crate::jobs::RunStatus::Running;
        RunDto {
            id: run.id,
            job: run.job.as_str().to_string(),
            status: run.status.as_str().to_string(),
            fire_at: maybe_time(run.fire_at),
            instance: run.instance.clone(),
            started_at: time(run.started_at),
            finished_at: (!running).then(|| time(run.finished_at)),
            hosts: run.hosts,
            opened: run.opened,
            resolved: run.resolved,
            failures: run
                .failures
                .iter()
                .map(|f| FailureDto {
                    scope: f.scope.clone(),
                    reason: f.reason.clone(),
                })
                .collect(),
        }
    }
}

/// A daemon sharing the database, as `status --json` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceDto {
    pub name: String,
    /// Heard from within a lease period.
    pub alive: bool,
    pub started_at: String,
    pub heartbeat_at: String,
    /// Host names it holds under a lease.
    pub leases: i64,
}

impl From<&crate::app::status::Instance> for InstanceDto {
    fn from(i: &crate::app::status::Instance) -> InstanceDto {
        InstanceDto {
            name: i.status.name.clone(),
            alive: i.alive,
            started_at: time(i.status.started_at),
            heartbeat_at: time(i.status.heartbeat_at),
            leases: i.status.leases,
        }
    }
}

/// A run in progress, as `status --json` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunningDto {
    /// The run's id.
    pub run: i64,
    pub job: String,
    pub instance: Option<String>,
    pub started_at: String,
    /// Its host names not done yet.
    pub hosts_left: i64,
}

impl From<&crate::app::status::Running> for RunningDto {
    fn from(r: &crate::app::status::Running) -> RunningDto {
        RunningDto {
            run: r.run.id,
            job: r.run.job.as_str().to_string(),
            instance: r.run.instance.clone(),
            started_at: time(r.run.started_at),
            hosts_left: r.left,
        }
    }
}

/// A job's schedule and next fire time, as `status --json` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleDto {
    pub job: String,
    /// The crontab expression (China Standard Time), or `every Nms`.
    pub expression: String,
    pub next_at: String,
}

impl From<&StoredSchedule> for ScheduleDto {
    fn from(s: &StoredSchedule) -> ScheduleDto {
        ScheduleDto {
            job: s.job.as_str().to_string(),
            expression: s.expression.clone(),
            next_at: time(s.next_at),
        }
    }
}

/// The runs in progress and each job's next run (`GET
/// /api/v1/runs/current`), with the keys of `status --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentRunsDto {
    pub now: String,
    pub instances: Vec<InstanceDto>,
    pub running: Vec<RunningDto>,
    pub schedules: Vec<ScheduleDto>,
}

impl CurrentRunsDto {
    pub fn new(
        now: chrono::DateTime<chrono::Utc>,
        instances: &[crate::app::status::Instance],
        running: &[crate::app::status::Running],
        schedules: &[StoredSchedule],
    ) -> CurrentRunsDto {
        CurrentRunsDto {
            now: time(now),
            instances: instances.iter().map(InstanceDto::from).collect(),
            running: running.iter().map(RunningDto::from).collect(),
            schedules: schedules.iter().map(ScheduleDto::from).collect(),
        }
    }
}

/// A check asked for: the job's next fire time moved to now, for the
/// daemon's scheduler to claim.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunRequestedDto {
    pub job: String,
    /// The schedule as stored, its next fire time now.
    pub schedule: ScheduleDto,
    /// Daemons heard from within a lease period: when none, the run waits
    /// until one starts.
    pub daemons_alive: usize,
}

/// A host name learnt beyond the registry, as `discover --list --json`
/// gives it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscoveredDto {
    /// In ASCII (punycode) form.
    pub hostname: String,
    /// `zone-file:PATH`, `list:PATH`, `axfr:ZONE` or `link`.
    pub source: String,
    pub first_seen: String,
    pub last_seen: String,
    /// Under a managed zone: `check` looks at it.
    pub managed: bool,
}

impl From<&crate::app::discovery::Found> for DiscoveredDto {
    fn from(found: &crate::app::discovery::Found) -> DiscoveredDto {
        DiscoveredDto {
            hostname: found.host.hostname.to_string(),
            source: found.host.source.to_string(),
            first_seen: time(found.host.first_seen),
            last_seen: time(found.host.last_seen),
            managed: found.managed,
        }
    }
}
