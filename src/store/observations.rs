//! Observations: only what changed is stored. An observation equal to the
//! latest one for its host name, kind and address moves that row's
//! last-seen time; a different one starts a new row. So the history
//! answers "what did we see on date X" without a row per probe.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::StoreError;
use super::convert::{from_db, to_db};
use super::rows::{NewObservationRow, ObservationRow};
use super::sql::Sql;
use crate::probe::{Observation, ObservationData};
use crate::registry::Hostname;

/// What recording a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// New rows: first sightings and changes.
    pub changed: usize,
    /// Rows whose last-seen time moved.
    pub unchanged: usize,
}

/// A stored observation with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    pub observation: Observation,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub seen_count: i64,
}

/// What an observation is about within its host: an address, a feed's
/// URL, or nothing (the host name itself).
fn address_key(observation: &Observation) -> String {
    match (&observation.data, observation.address) {
        (ObservationData::Feed(poll), _) => poll.url.clone(),
        (_, Some(address)) => address.to_string(),
        (_, None) => String::new(),
    }
}

/// The version of the stored form written now. 1: pages with every
/// link; 2: pages with the links to other host names only (a few per
/// host), and the body's hash.
pub const SCHEMA: i32 = 2;

/// Reads a stored form of version `schema` as today's.
fn upgrade(data: &str, schema: i32, host: &Hostname) -> Result<ObservationData, String> {
    match schema {
        1 => {
            // Version 1 kept a page whole: keep what version 2 keeps.
            let data: ObservationData = serde_json::from_str(data).map_err(|e| e.to_string())?;
            Ok(data.stored(host))
        }
        SCHEMA => serde_json::from_str(data).map_err(|e| e.to_string()),
        newer => Err(format!(
            "written by a newer siteward (stored form version {newer}, this one reads up to {SCHEMA})"
        )),
    }
}

pub fn record<C: Sql>(c: &mut C, batch: &[Observation]) -> Result<RecordStats, StoreError> {
    let mut stats = RecordStats::default();
    for observation in batch {
        let kind = observation.data.kind();
        let address = address_key(observation);
        let stored = observation.data.stored(&observation.host);
        let data = serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt {
            what: format!("cannot serialise an observation: {e}"),
        })?;
        let at = to_db(observation.at);
        let latest = c.latest_observation(observation.host.as_str(), kind, &address)?;
        let same = latest.as_ref().is_some_and(|latest| {
            (latest.schema == SCHEMA && latest.data == data)
                || upgrade(&latest.data, latest.schema, &observation.host)
                    .is_ok_and(|was| was.comparable() == stored.comparable())
        });
        match latest {
            Some(latest) if same => {
                if at > latest.last_seen {
                    c.bump_observation(latest.id, at)?;
                }
                stats.unchanged += 1;
            }
            _ => {
                c.insert_observation(&NewObservationRow {
                    hostname: observation.host.as_str().to_string(),
                    kind: kind.to_string(),
                    address,
                    outcome: observation.data.outcome(),
                    data,
                    first_seen: at,
                    last_seen: at,
                    seen_count: 1,
                    schema: SCHEMA,
                })?;
                stats.changed += 1;
            }
        }
    }
    Ok(stats)
}

fn from_row(row: ObservationRow) -> Result<StoredObservation, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt {
        what: format!("observations row {}: {what}", row.id),
    };
    let host: Hostname = row
        .hostname
        .parse()
        .map_err(|e: crate::registry::Invalid| corrupt(e.to_string()))?;
    let data = upgrade(&row.data, row.schema, &host).map_err(corrupt)?;
    let address = if row.address.is_empty() || row.kind == "feed" {
        None
    } else {
        Some(
            row.address
                .parse()
                .map_err(|_| corrupt(format!("address `{}`", row.address)))?,
        )
    };
    Ok(StoredObservation {
        observation: Observation {
            host,
            address,
            at: from_db(row.last_seen),
            data,
        },
        first_seen: from_db(row.first_seen),
        last_seen: from_db(row.last_seen),
        seen_count: row.seen_count,
    })
}

/// What was seen of a host name as of `at` (now when `None`): for each
/// kind and address, the newest observation first seen by then.
pub fn as_of<C: Sql>(
    c: &mut C,
    host: &Hostname,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<StoredObservation>, StoreError> {
    let until = to_db(at.unwrap_or_else(Utc::now));
    let mut latest: BTreeMap<(String, String), ObservationRow> = BTreeMap::new();
    for row in c.observation_rows(host.as_str(), until)? {
        latest.insert((row.kind.clone(), row.address.clone()), row);
    }
    latest.into_values().map(from_row).collect()
}

/// A host name's history, newest first, at most `limit` rows: each row
/// is one stretch in which a kind at an address was seen unchanged, and
/// whether it is still the newest of its kind and address.
pub fn history<C: Sql>(
    c: &mut C,
    host: &Hostname,
    limit: usize,
) -> Result<Vec<(StoredObservation, bool)>, StoreError> {
    let mut rows = c.observation_rows(host.as_str(), to_db(Utc::now()))?;
    let mut newest: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in &rows {
        newest.insert((row.kind.clone(), row.address.clone()), row.id);
    }
    rows.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(b.id.cmp(&a.id)));
    rows.truncate(limit);
    rows.into_iter()
        .map(|row| {
            let current = newest.get(&(row.kind.clone(), row.address.clone())) == Some(&row.id);
            Ok((from_row(row)?, current))
        })
        .collect()
}

/// The host names with an observation seen since `since`, in order.
pub fn observed_hosts<C: Sql>(
    c: &mut C,
    since: DateTime<Utc>,
) -> Result<Vec<Hostname>, StoreError> {
    let mut hosts = c
        .observed_hostnames(to_db(since))?
        .into_iter()
        .map(|name| {
            name.parse()
                .map_err(|e: crate::registry::Invalid| StoreError::Corrupt {
                    what: format!("observations: host name `{name}`: {e}"),
                })
        })
        .collect::<Result<Vec<Hostname>, _>>()?;
    hosts.sort_unstable();
    Ok(hosts)
}

/// What the rules judge of `hosts`, seen since `since`: for each host
/// name, the observations of its latest probe (every kind and address
/// that probe saw: a probe stamps all it saw of a host with one time, and
/// an unchanged observation's last-seen time moves to it). A host last
/// seen before `since` is absent: an observation that old is not a fact
/// any more.
pub fn latest_rounds<C: Sql>(
    c: &mut C,
    since: DateTime<Utc>,
    hosts: &[Hostname],
) -> Result<Vec<Observation>, StoreError> {
    let names: Vec<String> = hosts.iter().map(ToString::to_string).collect();
    let rows = c.observations_since(to_db(since), &names)?;
    // Each host's latest probe time.
    let mut probed: BTreeMap<String, chrono::NaiveDateTime> = BTreeMap::new();
    for row in &rows {
        let at = probed.entry(row.hostname.clone()).or_insert(row.last_seen);
        *at = (*at).max(row.last_seen);
    }
    newest(
        rows.into_iter()
            .filter(|row| probed.get(&row.hostname) == Some(&row.last_seen)),
    )
}

/// The latest poll of each feed seen since `since`.
pub fn latest_polls<C: Sql>(
    c: &mut C,
    since: DateTime<Utc>,
) -> Result<Vec<Observation>, StoreError> {
    newest(c.feed_polls_since(to_db(since))?)
}

/// The newest of `rows` (oldest first) for each host name, kind and
/// address.
fn newest(rows: impl IntoIterator<Item = ObservationRow>) -> Result<Vec<Observation>, StoreError> {
    let mut newest: BTreeMap<(String, String, String), ObservationRow> = BTreeMap::new();
    for row in rows {
        newest.insert(
            (row.hostname.clone(), row.kind.clone(), row.address.clone()),
            row,
        );
    }
    newest
        .into_values()
        .map(|row| from_row(row).map(|stored| stored.observation))
        .collect()
}

/// Whether a page observation counts in a site's availability: IPv6
/// aside (a machine without IPv6 would otherwise see every dual-stack
/// site fail half its visits), and what this machine failed to try is no
/// visit.
fn is_visit(row: &super::rows::PageOutcomeRow) -> bool {
    !row.address.contains(':') && row.outcome != "measurement_failed"
}

/// A stretch of a host name's page visits with one outcome, as stored:
/// `visits` visits between `first_seen` and `last_seen`, over IPv4 or
/// IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpan {
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub visits: u64,
    pub loaded: bool,
    /// Over an IPv6 address: proof of IPv6 support when loaded, and no
    /// visit of the availability count (see [`is_visit`]).
    pub ipv6: bool,
}

/// The page visits of each of `hosts` that overlap `[from, to]`, by host
/// name, oldest first: over IPv4 and IPv6, what this machine failed to
/// try left out.
pub fn page_history<C: Sql>(
    c: &mut C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hosts: &[String],
) -> Result<BTreeMap<String, Vec<PageSpan>>, StoreError> {
    let to = to_db(to);
    let mut out: BTreeMap<String, Vec<PageSpan>> = BTreeMap::new();
    for row in c.page_outcomes_since(to_db(from), hosts)? {
        if row.outcome == "measurement_failed" || row.first_seen > to {
            continue;
        }
        out.entry(row.hostname).or_default().push(PageSpan {
            first_seen: from_db(row.first_seen),
            last_seen: from_db(row.last_seen),
            visits: u64::try_from(row.seen_count).unwrap_or(0),
            loaded: row.outcome == "loaded",
            ipv6: row.address.contains(':'),
        });
    }
    for spans in out.values_mut() {
        spans.sort_by_key(|s| s.first_seen);
    }
    Ok(out)
}

/// How often each of `hosts`' pages loaded since `since`: (visits, failed),
/// over its IPv4 addresses (a machine without IPv6 would otherwise see
/// every dual-stack site fail half its visits). A row that began before
/// `since` counts in proportion to the part of its span inside the window.
pub fn availability<C: Sql>(
    c: &mut C,
    since: DateTime<Utc>,
    hosts: &[Hostname],
) -> Result<BTreeMap<String, (u64, u64)>, StoreError> {
    let since = to_db(since);
    let names: Vec<String> = hosts.iter().map(ToString::to_string).collect();
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in c.page_outcomes_since(since, &names)? {
        if !is_visit(&row) {
            continue;
        }
        let seen = u64::try_from(row.seen_count).unwrap_or(0);
        let span = (row.last_seen - row.first_seen).num_seconds();
        let inside = (row.last_seen - row.first_seen.max(since)).num_seconds();
        let seen = if span > 0 && inside < span {
            // The first sighting is at first_seen: at least one visit of a
            // row still seen inside the window counts.
            ((seen as f64) * (inside as f64) / (span as f64))
                .ceil()
                .max(1.0) as u64
        } else {
            seen
        };
        let entry = counts.entry(row.hostname).or_default();
        entry.0 += seen;
        if row.outcome != "loaded" {
            entry.1 += seen;
        }
    }
    Ok(counts)
}

/// Prunes the observations last seen before `before`, except each fact's
/// latest row (what is true now, however old) and the rows of a host
/// name a finding is about that overlap the finding's life (its
/// evidence's history). Returns how many rows went.
pub fn prune<C: Sql>(c: &mut C, before: DateTime<Utc>) -> Result<usize, StoreError> {
    let candidates = c.observation_spans_before(to_db(before))?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let newest: std::collections::HashSet<i64> = c.newest_observation_ids()?.into_iter().collect();
    // Each host name's findings, as spans of their life.
    let mut lives: BTreeMap<String, Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)>> =
        BTreeMap::new();
    let far = to_db(Utc::now() + chrono::Duration::days(1));
    for finding in c.finding_rows(&[])? {
        let Ok(crate::findings::Scope::Host(host)) =
            finding.scope.parse::<crate::findings::Scope>()
        else {
            continue;
        };
        lives
            .entry(host.as_str().to_string())
            .or_default()
            .push((finding.first_seen, finding.resolved_at.unwrap_or(far)));
    }
    let doomed: Vec<i64> = candidates
        .into_iter()
        .filter(|row| !newest.contains(&row.id))
        .filter(|row| {
            !lives.get(&row.hostname).is_some_and(|spans| {
                spans
                    .iter()
                    .any(|(from, to)| row.first_seen <= *to && row.last_seen >= *from)
            })
        })
        .map(|row| row.id)
        .collect();
    Ok(c.delete_observations(&doomed)?)
}
