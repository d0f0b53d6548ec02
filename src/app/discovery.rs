//! Learning host names beyond the registry: from a BIND zone file, a list
//! (a certificate-transparency export), or a zone transfer that policy
//! allows; and the daemon's `discover` job, which transfers every zone
//! policy lists. `check` looks at what is learnt under managed zones.
//! Also the host names learnt so far, with whether `check` looks at them.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;

use super::{App, InvalidInput, db};
use crate::jobs::RunStatus;
use crate::policy::Policy;
use crate::probe::dns::{DnsProbe, ResolverSettings};
use crate::probe::zone::DiscoverySource;
use crate::registry::Hostname;
use crate::store::{Discovered, Run, Store, StoreError};

/// What one discovery learnt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Learnt {
    pub source: DiscoverySource,
    /// Host names read from the source.
    pub hosts: usize,
    /// Of them, names not known before.
    pub new: usize,
    /// Of them, names under managed zones (`check` looks at these).
    pub managed: usize,
    /// Wildcards the source names (`*.zone`, from a list): reported, not
    /// learnt, since a wildcard is not a host name.
    pub wildcards: Vec<String>,
}

/// Where to learn from.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    ZoneFile {
        path: &'a Path,
        origin: Option<&'a str>,
    },
    List(&'a Path),
    Axfr(&'a Hostname),
}

/// Reads the source and records what it names.
pub async fn learn(app: &App, source: Source<'_>) -> Result<Learnt> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let mut wildcards = Vec::new();
    let (hosts, source) = match source {
        Source::ZoneFile { path, origin } => {
            let hosts = crate::probe::zone::zone_file_hosts(&read(path)?, origin)
                .map_err(|e| InvalidInput(format!("{}: {e}", path.display())))?;
            (hosts, DiscoverySource::ZoneFile(path.display().to_string()))
        }
        Source::List(path) => {
            let list = crate::probe::zone::host_list(&read(path)?)
                .map_err(|e| InvalidInput(format!("{}: {e}", path.display())))?;
            wildcards = list.wildcards;
            (
                list.hosts,
                DiscoverySource::List(path.display().to_string()),
            )
        }
        Source::Axfr(zone) => (
            transfer(app, zone).await?,
            DiscoverySource::Axfr(zone.to_string()),
        ),
    };
    let mut learnt = record(app, hosts, source).await?;
    learnt.wildcards = wildcards;
    Ok(learnt)
}

/// A zone transfer of `zone` from the primary policy names for it;
/// refused when policy does not list the zone.
async fn transfer(app: &App, zone: &Hostname) -> Result<Vec<Hostname>> {
    let (dns, primary, port) = transfer_from(app, zone)?;
    crate::probe::zone::transfer(&dns, zone, primary, port)
        .await
        .map_err(|e| InvalidInput(format!("zone transfer of {zone}: {e}")).into())
}

/// Where a transfer of `zone` comes from: a DNS client, the primary
/// policy names (or none: the zone's SOA MNAME) and the port. An error
/// when policy does not allow the transfer.
pub(super) fn transfer_from(
    app: &App,
    zone: &Hostname,
) -> Result<(DnsProbe, Option<std::net::SocketAddr>, u16)> {
    let policy = app.policy();
    let Some(allowed) = policy.axfr.iter().find(|a| &a.zone == zone) else {
        return Err(InvalidInput(format!(
            "policy does not allow a zone transfer of {zone}: add it to [discovery] axfr"
        ))
        .into());
    };
    let config = app.config();
    let settings =
        ResolverSettings::from_config(&config.resolver).map_err(|e| InvalidInput(e.to_string()))?;
    let dns = DnsProbe::new(&settings).map_err(|e| InvalidInput(e.to_string()))?;
    Ok((dns, allowed.primary, settings.authoritative_port))
}

async fn record(app: &App, hosts: Vec<Hostname>, source: DiscoverySource) -> Result<Learnt> {
    let policy = app.policy();
    let managed = hosts
        .iter()
        .filter(|h| policy.is_managed(h.as_str()))
        .count();
    let count = hosts.len();
    let stored = source.clone();
    let new = db(&app.store, move |s| s.discover(&hosts, &stored, Utc::now())).await?;
    Ok(Learnt {
        source,
        hosts: count,
        new,
        managed,
        wildcards: Vec::new(),
    })
}

/// A host name learnt so far.
#[derive(Debug, Clone)]
pub struct Found {
    pub host: Discovered,
    /// Whether it is under a managed zone: `check` looks only at those.
    pub managed: bool,
}

/// Every host name learnt so far, with whether the policy in force
/// manages its zone.
pub fn discovered(store: &Store, policy: &Policy) -> Result<Vec<Found>, StoreError> {
    Ok(store
        .discovered()?
        .into_iter()
        .map(|host| Found {
            managed: policy.is_managed(host.hostname.as_str()),
            host,
        })
        .collect())
}

/// Up to `limit` host names learnt so far after id `after`, each with its
/// id (the API pages through them).
pub fn discovered_page(
    store: &Store,
    policy: &Policy,
    after: Option<i64>,
    limit: usize,
) -> Result<Vec<(i64, Found)>, StoreError> {
    Ok(store
        .discovered_page(after, limit)?
        .into_iter()
        .map(|(id, host)| {
            (
                id,
                Found {
                    managed: policy.is_managed(host.hostname.as_str()),
                    host,
                },
            )
        })
        .collect())
}

/// The daemon's `discover` job: a transfer of every zone policy allows.
/// A zone whose transfer fails is a failure to measure of the run; the
/// others are still recorded.
pub async fn discover_job(app: &App, mut run: Run) -> Result<Run> {
    let zones: Vec<Hostname> = app.policy().axfr.iter().map(|a| a.zone.clone()).collect();
    for zone in &zones {
        match learn(app, Source::Axfr(zone)).await {
            Ok(learnt) => {
                tracing::info!(zone = %zone, hosts = learnt.hosts, new = learnt.new, "zone transferred");
                run.hosts += learnt.hosts;
            }
            Err(e) => {
                tracing::warn!(zone = %zone, error = %format!("{e:#}"), "zone transfer failed");
                run.failures.push(crate::findings::MeasurementFailure {
                    scope: format!("axfr {zone}"),
                    reason: format!("{e:#}"),
                });
            }
        }
    }
    run.status = if !zones.is_empty() && run.failures.len() == zones.len() {
        RunStatus::MeasurementFailed
    } else {
        RunStatus::Ok
    };
    super::finish(&app.store, run, Ok(()))
        .await
        .map(|(run, ())| run)
}
