//! The application: one [`App`] built once per process and shared by
//! every face (the command line, the daemon's scheduler, and later the
//! API, the web page and the alert sender), and the use cases they call.
//! A use case returns typed results and never prints.
//!
//! - [`registry`]: the registry beyond one store call: an organization
//!   with its sites and accounts, filtered lists, the audit trail of an
//!   account or organization, code checks, imports and exports.
//! - [`findings`]: findings listed by a typed query, acknowledged, and the
//!   names of what they point at.
//! - [`checks`]: the check cycle (probe, store, evaluate, confirm) and the
//!   feeds job, async and cancellable.
//! - [`discovery`]: host names learnt from zone files, lists and zone
//!   transfers, and those learnt so far.
//! - [`daemon`]: `siteward serve`: the scheduler, signals, systemd.
//! - [`alerts`]: the sender of the outbox, test messages, retries.
//! - [`lock`]: one daemon per SQLite file.

pub mod alerts;
pub mod checks;
pub mod daemon;
pub mod discovery;
pub mod findings;
pub mod integrity;
pub mod lock;
pub mod outage;
pub mod reconcile;
pub mod registry;
pub mod report;
pub mod retention;
pub mod status;
pub mod tokens;
pub mod users;
pub mod work;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use arc_swap::{ArcSwap, ArcSwapOption};

use crate::config::Config;
use crate::policy::Policy;
use crate::probe::run::Prober;
use crate::store::{Store, StoreError};

/// Input refused as a whole: a file that cannot be imported (encoding,
/// headers), a resolver setting that is not an address, a zone transfer
/// policy does not allow. The user's error (exit status 2), whichever
/// face reports it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// What the daemon counts about itself (`/metrics` shows them).
#[derive(Debug, Default)]
pub struct Counters {
    pub reloads: AtomicU64,
    pub failed_reloads: AtomicU64,
    pub runs_started: AtomicU64,
    pub runs_interrupted: AtomicU64,
    /// Confirmed findings no alert route sends anywhere.
    pub alerts_unrouted: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The configuration, the policy in force, the store and the probes,
/// resolved once. The policy and the probes sit behind handles that a
/// reload swaps whole: a job holds the ones it started with until it ends.
#[derive(Debug)]
pub struct App {
    config: ArcSwap<Config>,
    config_file: Option<PathBuf>,
    policy: ArcSwap<Policy>,
    prober: ArcSwapOption<Prober>,
    /// The alert sender's HTTP client, built on first use like the probes.
    webhook: ArcSwapOption<crate::alerts::webhook::Client>,
    pub store: Store,
    pub counters: Counters,
    /// What `/metrics` shows of this process: API requests, probes as
    /// they finish.
    pub metrics: Arc<crate::api::metrics::Metrics>,
    /// Bumped by every reload that took effect: the API's listener reads
    /// its certificate again.
    reloads: tokio::sync::watch::Sender<u64>,
    /// Whether the last judgement found this machine reaching IPv6: the
    /// next one assumes it, and judges again only when it changed.
    ipv6_works: std::sync::Mutex<Option<bool>>,
}

impl App {
    /// Builds the application from a resolved configuration and policy;
    /// `config_file` is what a reload reads again.
    pub fn new(config: Config, config_file: Option<PathBuf>, policy: Policy, store: Store) -> App {
        App {
            config: ArcSwap::from_pointee(config),
            config_file,
            policy: ArcSwap::from_pointee(policy),
            prober: ArcSwapOption::empty(),
            webhook: ArcSwapOption::empty(),
            store,
            counters: Counters::default(),
            metrics: Arc::default(),
            reloads: tokio::sync::watch::Sender::new(0),
            ipv6_works: std::sync::Mutex::new(None),
        }
    }

    /// Whether the last judgement found this machine reaching IPv6.
    pub fn ipv6_works(&self) -> Option<bool> {
        *self.ipv6_works.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_ipv6_works(&self, works: bool) {
        *self.ipv6_works.lock().unwrap_or_else(|e| e.into_inner()) = Some(works);
    }

    /// Loads the configuration (file and environment, then `db` from the
    /// command line), the policy, and opens the store.
    pub fn open(config_file: Option<&Path>, db: Option<&str>) -> Result<App> {
        let config = load_config(config_file, db)?;
        let policy = Policy::load(config.policies.dir.as_deref())?;
        alerts::check_routes(&config, &policy)?;
        let store = Store::open(&config.database.url)?;
        Ok(App::new(
            config,
            config_file.map(Path::to_path_buf),
            policy,
            store,
        ))
    }

    /// Changes after each reload that took effect.
    pub fn reloaded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub fn policy(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// The probes as the configuration and policy in force set them,
    /// built on first use.
    pub fn prober(&self) -> Result<Arc<Prober>> {
        if let Some(prober) = self.prober.load_full() {
            return Ok(prober);
        }
        let prober = Arc::new(
            Prober::from_config(&self.config(), &self.policy())
                .map_err(|e| InvalidInput(e.to_string()))?
                .with_tally(self.metrics.clone()),
        );
        self.prober.store(Some(prober.clone()));
        Ok(prober)
    }

    /// Reads the configuration file and the policies again and swaps them
    /// in, with new probes. Nothing changes unless everything is valid:
    /// an invalid policy leaves the one in force. The database cannot
    /// change under a running process; a new URL is refused.
    pub fn reload(&self) -> Result<()> {
        let outcome = (|| -> Result<()> {
            let db = Some(self.config().database.url.clone());
            let config = load_config(self.config_file.as_deref(), None)?;
            if self.config_file.is_some() && db.as_deref() != Some(config.database.url.as_str()) {
                anyhow::bail!(
                    "the database URL changed ({} → {}): restart the daemon to use another database",
                    crate::store::redact(db.as_deref().unwrap_or_default()),
                    crate::store::redact(&config.database.url)
                );
            }
            let policy = Policy::load(config.policies.dir.as_deref())?;
            alerts::check_routes(&config, &policy)?;
            let prober = Prober::from_config(&config, &policy)
                .map_err(|e| InvalidInput(e.to_string()))?
                .with_tally(self.metrics.clone());
            self.config.store(Arc::new(Config {
                database: self.config().database.clone(),
                ..config
            }));
            self.policy.store(Arc::new(policy));
            self.prober.store(Some(Arc::new(prober)));
            // Built again from the new configuration when next needed.
            self.webhook.store(None);
            Ok(())
        })();
        match &outcome {
            Ok(()) => {
                Counters::bump(&self.counters.reloads);
                self.reloads.send_modify(|n| *n += 1);
            }
            Err(_) => Counters::bump(&self.counters.failed_reloads),
        }
        outcome
    }
}

/// The configuration from the file and the environment, with `--db`
/// applied last.
pub fn load_config(file: Option<&Path>, db: Option<&str>) -> Result<Config> {
    let mut config = Config::load(file, std::env::vars())?;
    if let Some(db) = db {
        config.database.url = db.to_string();
    }
    Ok(config)
}

/// Runs a blocking store call off the async runtime's threads.
pub async fn db<T: Send + 'static>(
    store: &Store,
    call: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || call(&store))
        .await
        .context("a database task stopped unexpectedly")??)
}

/// Records how `run` ended: now, and `failed` when `outcome` is an error
/// of ours (its status otherwise is what the job set). Returns the run,
/// or the job's error once the run is recorded.
pub async fn finish<T>(
    store: &Store,
    mut run: crate::store::Run,
    outcome: Result<T>,
) -> Result<(crate::store::Run, T)> {
    run.finished_at = chrono::Utc::now();
    if outcome.is_err() {
        run.status = crate::jobs::RunStatus::Failed;
    }
    let finished = run.clone();
    db(store, move |s| s.finish_run(&finished)).await?;
    outcome.map(|value| (run, value))
}
