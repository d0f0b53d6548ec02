//! The watch as people and scripts see it: findings, what a probe saw,
//! discovered host names, the policy in force and its schedules, the
//! benchmark's figures.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Table, escape, time};
use crate::app::discovery::Found;
use crate::clock;
use crate::policy::Policy;
use crate::probe::delegation::ServerStatus;
use crate::probe::dns::DnsOutcome;
use crate::probe::feed::FeedResult;
use crate::probe::http::PageOutcome;
use crate::probe::tls::TlsVerdict;
use crate::probe::{DelegationResult, Observation, ObservationData};
use crate::registry::Hostname;
use crate::store::StoredFinding;

pub use crate::app::findings::Names;

/// A finding as scripts see it: one object per line (the API's
/// [`FindingDto`](crate::dto::watch::FindingDto)).
pub fn finding_json(finding: &StoredFinding, names: &Names) -> Value {
    serde_json::to_value(crate::dto::watch::FindingDto::new(finding, names)).unwrap_or_default()
}

/// One finding with its events, for scripts (the API's
/// [`FindingDetailDto`](crate::dto::watch::FindingDetailDto)).
pub fn finding_detail_json(
    finding: &StoredFinding,
    events: &[crate::store::FindingEvent],
    names: &Names,
) -> Value {
    serde_json::to_value(crate::dto::watch::FindingDetailDto::new(
        finding, events, names,
    ))
    .unwrap_or_default()
}

/// One finding with its evidence and events, for people.
pub fn write_finding_detail(
    out: &mut impl Write,
    finding: &StoredFinding,
    events: &[crate::store::FindingEvent],
    names: &Names,
) -> io::Result<()> {
    writeln!(out, "finding {}: {}", finding.id, escape(&finding.summary))?;
    writeln!(out, "  kind        {}", finding.kind)?;
    writeln!(out, "  severity    {}", finding.severity)?;
    writeln!(out, "  status      {}", finding.status)?;
    writeln!(out, "  subject     {}", escape(&finding.subject))?;
    if let Some((name, code)) = finding.site_id.and_then(|id| names.sites.get(&id)) {
        writeln!(
            out,
            "  site        {} ({})",
            escape(name),
            code.as_deref().unwrap_or("no code")
        )?;
    }
    if let Some(org) = finding.org_id.and_then(|id| names.orgs.get(&id)) {
        writeln!(out, "  org         {}", escape(org))?;
    }
    writeln!(out, "  action      {}", finding.action)?;
    writeln!(out, "  first seen  {}", clock::show(finding.first_seen))?;
    writeln!(out, "  last seen   {}", clock::show(finding.last_seen))?;
    if let Some(at) = finding.opened_at {
        writeln!(out, "  opened      {}", clock::show(at))?;
    }
    if let Some(at) = finding.resolved_at {
        writeln!(out, "  resolved    {}", clock::show(at))?;
    }
    writeln!(out, "evidence:")?;
    for evidence in &finding.evidence {
        // In words, one line each: what was observed, where, what came of
        // it (`--json` keeps the fields).
        let at = evidence
            .address
            .as_deref()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} {}{at}: {}{}",
            evidence.probe,
            escape(&evidence.subject),
            evidence.outcome,
            if evidence.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", escape(&evidence.detail))
            }
        )?;
    }
    writeln!(out, "events:")?;
    let mut table = Table::new(&["AT", "CHANGE", "STATUS", "SEVERITY", "BY", "NOTE"]);
    for e in events {
        table.row(vec![
            clock::show(e.at),
            e.change.to_string(),
            e.status.to_string(),
            e.severity.to_string(),
            e.actor.clone().unwrap_or_else(|| "siteward".into()),
            e.note.clone().unwrap_or_default(),
        ]);
    }
    table.print(out)
}

/// Findings past their deadline, for people.
pub fn overdue_table(rows: &[(StoredFinding, chrono::DateTime<chrono::Utc>)]) -> Table {
    let mut table = Table::new(&["ID", "SEVERITY", "STATUS", "KIND", "SUBJECT", "DEADLINE"]);
    for (finding, due) in rows {
        table.row(vec![
            finding.id.to_string(),
            finding.severity.to_string(),
            finding.status.to_string(),
            finding.kind.to_string(),
            finding.subject.clone(),
            clock::show(*due),
        ]);
    }
    table
}

/// The outbox, for people: secrets never shown (a sink is its name).
pub fn notifications_table(rows: &[crate::store::alerts::Notification]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "STATUS",
        "KIND",
        "SINK",
        "ORG",
        "FINDINGS",
        "ATTEMPTS",
        "DUE",
        "DELIVERED",
        "LAST ERROR",
    ]);
    for n in rows {
        table.row(vec![
            n.id.to_string(),
            n.status.to_string(),
            n.kind.to_string(),
            n.sink.clone(),
            n.org_id.map(|id| id.to_string()).unwrap_or_default(),
            n.findings.len().to_string(),
            n.attempts.to_string(),
            clock::show(n.next_attempt_at.max(n.send_after)),
            clock::show_opt(n.delivered_at),
            n.last_error.clone().unwrap_or_default(),
        ]);
    }
    table
}

pub fn notification_json(n: &crate::store::alerts::Notification) -> Value {
    serde_json::to_value(crate::dto::files::NotificationDto::from(n)).unwrap_or(Value::Null)
}

pub fn findings_table(findings: &[StoredFinding]) -> Table {
    let mut table = Table::new(&["ID", "SEVERITY", "STATUS", "KIND", "SUBJECT", "SUMMARY"]);
    for finding in findings {
        table.row(vec![
            finding.id.to_string(),
            finding.severity.to_string(),
            finding.status.to_string(),
            finding.kind.to_string(),
            finding.subject.clone(),
            finding.summary.clone(),
        ]);
    }
    table
}

/// The jobs' schedules as scripts see them: for each job, its expression
/// and its next `n` fire times after `after`, in RFC 3339 at +08:00.
pub fn schedules_json(
    schedules: &std::collections::BTreeMap<String, crate::policy::JobSchedule>,
    after: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> Value {
    let jobs: serde_json::Map<String, Value> = schedules
        .iter()
        .map(|(job, s)| {
            let next_runs: Vec<String> = s
                .schedule
                .upcoming(after, n)
                .into_iter()
                .map(crate::policy::cron::fire_time_rfc3339)
                .collect();
            (
                job.clone(),
                json!({ "expression": s.expression, "next_runs": next_runs }),
            )
        })
        .collect();
    Value::Object(jobs)
}

/// The jobs' schedules for people: each expression beside its next `n`
/// fire times after `after`, in China Standard Time.
pub fn schedules_table(
    schedules: &std::collections::BTreeMap<String, crate::policy::JobSchedule>,
    after: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> Table {
    let mut table = Table::new(&["JOB", "SCHEDULE", "NEXT RUNS"]);
    for (job, s) in schedules {
        let next_runs: Vec<String> = s
            .schedule
            .upcoming(after, n)
            .into_iter()
            .map(crate::policy::cron::show_fire_time)
            .collect();
        table.row(vec![
            job.clone(),
            s.expression.clone(),
            next_runs.join(", "),
        ]);
    }
    table
}

/// What a probe of `host` saw, as scripts see it: the host-wide
/// observations (DNS, the zone) by kind, and `addresses`, one object an
/// address with what was seen there (TLS, the page, IPv6).
pub fn probe_json(host: &Hostname, observations: &[Observation]) -> serde_json::Result<Value> {
    let mut value = json!({ "host": host });
    let mut addresses: Vec<Value> = Vec::new();
    for observation in observations {
        let kind = observation.data.kind();
        let data = serde_json::to_value(&observation.data)?["data"].take();
        match observation.address {
            None => value[kind] = data,
            Some(address) => {
                let address = address.to_string();
                let index = match addresses.iter().position(|a| a["address"] == address) {
                    Some(index) => index,
                    None => {
                        addresses.push(json!({ "address": address }));
                        addresses.len() - 1
                    }
                };
                addresses[index][kind] = data;
            }
        }
    }
    value["addresses"] = Value::Array(addresses);
    Ok(value)
}

/// What a probe of `host` saw, a line an observation, for people.
pub fn probe_detail(
    host: &Hostname,
    observations: &[Observation],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "{} ({})", host.to_unicode(), host)?;
    for observation in observations {
        let address = observation
            .address
            .map(|a| a.to_string())
            .unwrap_or_default();
        match &observation.data {
            ObservationData::Dns(dns) => {
                for hop in &dns.cname_chain {
                    writeln!(
                        out,
                        "  CNAME  {} -> {}  (TTL {})",
                        hop.name, hop.target, hop.ttl
                    )?;
                }
                for (kind, outcome) in [("A", &dns.a), ("AAAA", &dns.aaaa)] {
                    match outcome {
                        DnsOutcome::Answer { records } => {
                            for record in records {
                                writeln!(
                                    out,
                                    "  {kind:<5}  {}  (TTL {})",
                                    record.value, record.ttl
                                )?;
                            }
                        }
                        DnsOutcome::NxDomain { name } => {
                            writeln!(out, "  {kind:<5}  NXDOMAIN: {name} does not exist")?
                        }
                        DnsOutcome::Failed { reason } => {
                            writeln!(out, "  {kind:<5}  measurement failed: {reason}")?
                        }
                        other if !other.is_conclusive() => {
                            writeln!(out, "  {kind:<5}  measurement failed: {}", other.name())?
                        }
                        other => writeln!(out, "  {kind:<5}  {}", other.name())?,
                    }
                }
            }
            ObservationData::Delegation(DelegationResult::Found(delegation)) => {
                let wildcard = match delegation.wildcard {
                    Some(true) => "answers every name (wildcard)",
                    Some(false) => "no wildcard",
                    None => "wildcard unknown",
                };
                writeln!(out, "  ZONE   {} ({wildcard})", delegation.zone)?;
                for server in &delegation.servers {
                    let at = server.address.map(|a| a.to_string()).unwrap_or_default();
                    let status = match &server.status {
                        ServerStatus::Serves { serial } => {
                            format!("serves the zone (serial {serial})")
                        }
                        ServerStatus::Lame { reason } => format!("LAME: {reason}"),
                        ServerStatus::NoAddress => "its host name does not exist (NXDOMAIN)".into(),
                        ServerStatus::Unreachable { reason } => format!("unreachable: {reason}"),
                        ServerStatus::Unknown { reason } => format!("measurement failed: {reason}"),
                    };
                    writeln!(out, "  NS     {} {at}  {status}", server.name)?;
                }
            }
            ObservationData::Delegation(DelegationResult::Failed { reason }) => {
                writeln!(out, "  ZONE   measurement failed: {reason}")?
            }
            ObservationData::Tls(tls) => {
                let leaf = tls
                    .chain
                    .first()
                    .map(|c| {
                        format!(
                            "; leaf {} until {}",
                            c.subject,
                            clock::show_date(c.not_after)
                        )
                    })
                    .unwrap_or_default();
                let detail = match &tls.verdict {
                    TlsVerdict::HandshakeFailed { detail, .. } => {
                        format!(": {detail}")
                    }
                    TlsVerdict::Untrusted { reason } | TlsVerdict::Weak { reason } => {
                        format!(": {reason}")
                    }
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "  TLS    {address}  {}{detail} ({}){leaf}",
                    tls.verdict.name(),
                    tls.protocol.as_deref().unwrap_or("-")
                )?;
            }
            ObservationData::Page(page) => match page {
                PageOutcome::Loaded {
                    status,
                    final_url,
                    page,
                    redirected_to,
                    ..
                } => writeln!(
                    out,
                    "  PAGE   {address}  {status} {final_url}{}  title: {}  code: {}",
                    redirected_to
                        .as_deref()
                        .map(|r| format!(" -> {r}"))
                        .unwrap_or_default(),
                    escape(page.title.as_deref().unwrap_or("-")),
                    page.footer_codes
                        .first()
                        .or(page.meta_site_code.as_ref())
                        .map(String::as_str)
                        .unwrap_or("-"),
                )?,
                PageOutcome::Unreachable { https, http } => writeln!(
                    out,
                    "  PAGE   {address}  unreachable: HTTPS {https}; HTTP {http}"
                )?,
                PageOutcome::Timeout { after_ms } => writeln!(
                    out,
                    "  PAGE   {address}  timeout: no answer within {after_ms} ms"
                )?,
                PageOutcome::Failed { reason } => {
                    writeln!(out, "  PAGE   {address}  failed: {reason}")?
                }
                PageOutcome::Local { reason } => writeln!(
                    out,
                    "  PAGE   {address}  not measured (this machine's side): {reason}"
                )?,
            },
            ObservationData::Ipv6(reach) => {
                let ports: Vec<String> = reach
                    .ports
                    .iter()
                    .map(|p| format!("{} {}", p.port, if p.open { "open" } else { "closed" }))
                    .collect();
                writeln!(
                    out,
                    "  IPv6   {address}  ports {}; homepage {}; second level {}/{} (IPv4 {}), third level {}/{} (IPv4 {}); connectivity {}",
                    ports.join(", "),
                    if reach.homepage_v6 {
                        "loads"
                    } else {
                        "does not load"
                    },
                    reach.second_level.loaded_v6,
                    reach.second_level.sampled,
                    reach.second_level.loaded_v4,
                    reach.third_level.loaded_v6,
                    reach.third_level.sampled,
                    reach.third_level.loaded_v4,
                    reach
                        .connectivity_percent()
                        .map(|p| format!("{p}%"))
                        .unwrap_or_else(|| "unknown (no inner page loads over IPv4)".into()),
                )?;
            }
            ObservationData::Deadline { after_ms } => writeln!(
                out,
                "  measurement failed: the probes took longer than {after_ms} ms"
            )?,
            ObservationData::Failed { reason } => writeln!(out, "  measurement failed: {reason}")?,
            ObservationData::Feed(poll) => match &poll.result {
                FeedResult::Read(read) => writeln!(
                    out,
                    "  FEED   {}  {}, {} entries ({} undated, {} dated in the future), latest post {}",
                    poll.url,
                    read.format,
                    read.entries,
                    read.undated,
                    read.future_dated,
                    read.latest_post_at
                        .map(clock::show)
                        .unwrap_or_else(|| "none".into()),
                )?,
                FeedResult::Failed { reason } => {
                    writeln!(out, "  FEED   {}  measurement failed: {reason}", poll.url)?
                }
            },
        }
    }
    Ok(())
}

/// How many upcoming fire times `policy check` shows for each job.
const NEXT_RUNS: usize = 3;

/// The values of a policy in force, as `policy check` shows them.
fn policy_values(policy: &Policy) -> Value {
    let schedules: std::collections::BTreeMap<&str, &str> = policy
        .schedules
        .iter()
        .map(|(job, s)| (job.as_str(), s.expression.as_str()))
        .collect();
    json!({
        "source": policy.source.to_string(),
        "lifecycle": {
            "notice_days": policy.lifecycle.notice_days,
            "release_grace_days": policy.lifecycle.release_grace_days,
        },
        "allowed_suffixes": policy.allowed_suffixes.describe(),
        "managed_zones": policy.managed_zones,
        "own_networks": policy.own_networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        "thresholds": policy.thresholds,
        "confirmation": policy.confirmation,
        "retention": policy.retention,
        "prohibited_terms": policy.prohibited_terms,
        "notice_words": policy.notice_words,
        "canaries": policy.canaries,
        "severity": policy.severity,
        "schedules": schedules,
        "axfr": policy.axfr,
        "takeover_services": policy.takeover.services.len(),
        "divisions": policy.divisions.len(),
        "alerts": alerts_values(&policy.alerts),
    })
}

/// The alert policy's values: routes, timing, deadlines.
fn alerts_values(alerts: &crate::policy::alerts::Alerts) -> Value {
    let names = |list: &[crate::findings::Severity]| -> Vec<&str> {
        list.iter().map(|s| s.as_str()).collect()
    };
    json!({
        "routes": alerts.routes.iter().map(|r| json!({
            "line": r.line,
            "kinds": r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "severities": names(&r.severities),
            "organizations": r.organizations,
            "divisions": r.divisions,
            "sinks": r.sinks,
            "escalation": r.escalation,
        })).collect::<Vec<_>>(),
        "group_wait_secs": alerts.timing.group_wait.as_secs(),
        "group_interval_secs": alerts.timing.group_interval.as_secs(),
        "repeat_interval_secs": alerts.timing.repeat_interval.as_secs(),
        "resolved": alerts.timing.resolved,
        "deadlines": {
            "unit": match alerts.deadlines.unit {
                crate::policy::alerts::DeadlineUnit::WorkingDays => "working_days",
                crate::policy::alerts::DeadlineUnit::Seconds => "seconds",
            },
            "by_severity": alerts.deadlines.by_severity.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "by_kind": alerts.deadlines.by_kind.iter().map(|(k, n)| (k.as_str().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "holiday_calendar": alerts.deadlines.calendar.years.iter().map(|(year, y)| (year.to_string(), y.source.clone())).collect::<std::collections::BTreeMap<_, _>>(),
        },
        "own_webhook_severities": names(&alerts.own_webhook_severities),
    })
}

/// A policy in force as scripts see it, with `jobs`: each job's next
/// fire times after `now`.
pub fn policy_json(policy: &Policy, now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut value = policy_values(policy);
    value["jobs"] = schedules_json(&policy.schedules, now, NEXT_RUNS);
    value
}

/// A policy in force for people: its values, then each job's schedule
/// beside its next fire times after `now`.
pub fn policy_detail(
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "policy OK: {}", policy.source)?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&policy_values(policy))?
    )?;
    writeln!(out, "schedules (China Standard Time):")?;
    schedules_table(&policy.schedules, now, NEXT_RUNS).print(out)
}

/// A host name learnt so far, as scripts see it (the API's
/// [`DiscoveredDto`](crate::dto::watch::DiscoveredDto)).
pub fn discovered_json(found: &Found) -> Value {
    serde_json::to_value(crate::dto::watch::DiscoveredDto::from(found)).unwrap_or_default()
}

pub fn discovered_table(found: &[Found]) -> Table {
    let mut table = Table::new(&["HOST", "SOURCE", "FIRST SEEN", "LAST SEEN", "MANAGED"]);
    for Found { host, managed } in found {
        table.row(vec![
            host.hostname.to_unicode(),
            host.source.to_string(),
            clock::show(host.first_seen),
            clock::show(host.last_seen),
            if *managed { "yes" } else { "no" }.into(),
        ]);
    }
    table
}

/// The benchmark's figures for people.
#[cfg(feature = "sim")]
pub fn bench_detail(report: &crate::bench::BenchReport, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "hosts: {} (concurrency {})",
        report.hosts, report.concurrency
    )?;
    writeln!(
        out,
        "full cycle: {:.2} s, {:.0} host names/s (probing, and storing as hosts finish)",
        report.seconds, report.hosts_per_sec
    )?;
    writeln!(
        out,
        "DNS queries/s: {:.0}; TLS handshakes/s: {:.0}",
        report.dns_queries_per_sec, report.tls_handshakes_per_sec
    )?;
    writeln!(
        out,
        "DNS only: {:.2} s, {:.0} names/s",
        report.dns_only_seconds, report.dns_only_names_per_sec
    )?;
    writeln!(
        out,
        "peak RSS: {:.0} MB (setup of the simulated world: {:.2} s)",
        report.peak_rss_mb, report.setup_seconds
    )?;
    for (outcome, count) in &report.outcomes {
        writeln!(out, "  {outcome}: {count}")?;
    }
    Ok(())
}

/// `status` for people: the daemons, the runs in progress, the schedules.
pub fn status_detail(status: &crate::app::status::Status, out: &mut impl Write) -> io::Result<()> {
    if status.instances.is_empty() {
        writeln!(out, "No daemon has used this database.")?;
    } else {
        let mut table = Table::new(&["instance", "state", "started", "last heartbeat", "leases"]);
        for instance in &status.instances {
            table.row(vec![
                instance.status.name.clone(),
                if instance.alive { "alive" } else { "silent" }.into(),
                crate::clock::show(instance.status.started_at),
                crate::clock::show(instance.status.heartbeat_at),
                instance.status.leases.to_string(),
            ]);
        }
        table.print(out)?;
    }
    writeln!(out)?;
    if status.running.is_empty() {
        writeln!(out, "No run in progress.")?;
    } else {
        let mut table = Table::new(&["run", "job", "instance", "started", "host names left"]);
        for running in &status.running {
            table.row(vec![
                running.run.id.to_string(),
                running.run.job.to_string(),
                running.run.instance.clone().unwrap_or_default(),
                crate::clock::show(running.run.started_at),
                running.left.to_string(),
            ]);
        }
        table.print(out)?;
    }
    writeln!(out)?;
    if status.schedules.is_empty() {
        writeln!(
            out,
            "No job scheduled yet (the daemon records them when it starts)."
        )?;
    } else {
        let mut table = Table::new(&["job", "schedule", "next run"]);
        for schedule in &status.schedules {
            table.row(vec![
                schedule.job.to_string(),
                schedule.expression.clone(),
                crate::clock::show(schedule.next_at),
            ]);
        }
        table.print(out)?;
    }
    writeln!(
        out,
        "\nAlerts: {} waiting to be delivered, {} failed (`siteward alerts list`); {} open finding(s) reach no sink (no route in policies/alerts.toml matches them).",
        status.alerts.pending, status.alerts.failed, status.alerts.unrouted
    )?;
    if status.sinks.is_empty() {
        writeln!(out, "Every sink is ok.")
    } else {
        writeln!(out, "Sinks not ok (`siteward alerts sinks`):")?;
        sinks_table(&status.sinks).print(out)
    }
}

/// `status --json`: its daemons, runs and schedules as the API's
/// `GET /api/v1/runs/current` gives them.
pub fn status_json(status: &crate::app::status::Status) -> Value {
    json!({
        "now": time(Some(status.now)),
        "instances": status.instances.iter().map(crate::dto::watch::InstanceDto::from).collect::<Vec<_>>(),
        "running": status.running.iter().map(crate::dto::watch::RunningDto::from).collect::<Vec<_>>(),
        "schedules": status.schedules.iter().map(crate::dto::watch::ScheduleDto::from).collect::<Vec<_>>(),
        "alerts": {
            "pending": status.alerts.pending,
            "failed": status.alerts.failed,
            "unrouted": status.alerts.unrouted,
        },
        "sinks_not_ok": status.sinks.iter().map(sink_json).collect::<Vec<_>>(),
    })
}

/// Sinks and their states, for people.
pub fn sinks_table(rows: &[crate::app::alerts::SinkView]) -> Table {
    let mut table = Table::new(&[
        "SINK",
        "KIND",
        "TARGET",
        "STATE",
        "SINCE",
        "LAST DELIVERED",
        "QUIET",
    ]);
    for s in rows {
        let state = match (s.health, s.limited_until, &s.reason) {
            (crate::alerts::SinkHealth::Limited, Some(until), reason) => format!(
                "rate-limited until {}{}",
                clock::show(until),
                reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            (crate::alerts::SinkHealth::Broken, _, Some(reason)) => format!("broken: {reason}"),
            (health, _, _) => health.to_string(),
        };
        table.row(vec![
            s.name.clone(),
            s.kind.to_string(),
            s.target.clone(),
            state,
            clock::show_opt(s.since),
            clock::show_opt(s.last_delivered_at),
            s.quiet.clone().unwrap_or_default(),
        ]);
    }
    table
}

pub fn sink_json(s: &crate::app::alerts::SinkView) -> Value {
    serde_json::to_value(crate::dto::files::SinkDto::from(s)).unwrap_or(Value::Null)
}

/// When a window is on, in words: `on until …` or `next …`, with its
/// schedule.
pub fn window_when(w: &crate::store::maintenance::Window) -> String {
    let hours = w.duration_secs as f64 / 3600.0;
    let each = format!("`{}` for {hours:.1} h", w.cron);
    match (w.active, w.next) {
        (Some((_, end)), _) => format!("{each}; on now, until {}", clock::show(end)),
        (None, Some(next)) => format!("{each}; next starts {}", clock::show(next)),
        (None, None) => each,
    }
}

pub fn windows_table(rows: &[crate::store::maintenance::Window]) -> Table {
    let mut table = Table::new(&["ID", "SCOPE", "CRON", "DURATION", "STATE", "REASON"]);
    for w in rows {
        let scope = match &w.scope {
            crate::store::maintenance::Scope::Site { name, .. } => format!("site {name}"),
            crate::store::maintenance::Scope::Org { name, .. } => format!("org {name}"),
        };
        let state = match (w.active, w.next) {
            (Some((_, end)), _) => format!("on until {}", clock::show(end)),
            (None, Some(next)) => format!("next {}", clock::show(next)),
            (None, None) => "no further start".to_string(),
        };
        table.row(vec![
            w.id.to_string(),
            scope,
            w.cron.clone(),
            format!("{} min", w.duration_secs / 60),
            state,
            w.reason.clone(),
        ]);
    }
    table
}

pub fn window_json(w: &crate::store::maintenance::Window) -> Value {
    serde_json::to_value(crate::dto::files::WindowDto::from(w)).unwrap_or(Value::Null)
}

/// `reconcile list`.
pub fn reconcile_runs_table(runs: &[crate::store::reconcile::RunSummary]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "QUARTER",
        "AS OF",
        "RAN",
        "TRIGGER",
        "BY",
        "DISCREPANCIES",
        "FIXES",
    ]);
    for r in runs {
        table.row(vec![
            r.id.to_string(),
            if r.complete {
                r.quarter.clone()
            } else {
                format!("{} (not over)", r.quarter)
            },
            clock::show(r.as_of),
            clock::show(r.ran_at),
            r.trigger.clone(),
            r.actor.clone(),
            r.discrepancies.to_string(),
            r.fixes.to_string(),
        ]);
    }
    table
}

/// `report list`: the stored circulars.
pub fn report_runs_table(reports: &[crate::store::reports::ReportSummary]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "QUARTER",
        "AS OF",
        "GENERATED",
        "TRIGGER",
        "BY",
        "RECONCILE RUN",
        "SITES",
        "FAILED",
    ]);
    for r in reports {
        table.row(vec![
            r.id.to_string(),
            if r.complete {
                r.quarter.clone()
            } else {
                format!("{} (not over)", r.quarter)
            },
            clock::show(r.as_of),
            clock::show(r.generated_at),
            r.trigger.clone(),
            r.actor.clone(),
            r.reconcile_run.map(|id| id.to_string()).unwrap_or_default(),
            r.sites.to_string(),
            r.sites_failed.to_string(),
        ]);
    }
    table
}

/// `reconcile show ID`: its discrepancies.
pub fn discrepancies_table(report: &crate::reconcile::output::Report) -> Table {
    let mut table = Table::new(&["KIND", "SUBJECT", "HERE", "THERE", "SOURCE"]);
    for d in &report.comparison.discrepancies {
        table.row(vec![
            d.kind.zh().to_string(),
            d.subject.clone(),
            d.here.clone(),
            d.there.clone(),
            d.source.clone(),
        ]);
    }
    table
}

/// What `reconcile --json` prints: the run's number, counts and files.
pub fn reconcile_run_json(
    report: &crate::reconcile::output::Report,
    written: &[std::path::PathBuf],
) -> Value {
    let files = written.iter().map(|p| p.display().to_string()).collect();
    serde_json::to_value(crate::dto::files::ReconcileRunDto::new(report, files))
        .unwrap_or(Value::Null)
}
